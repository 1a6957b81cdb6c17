"""
What the migration graph did to a model or a field, for error hints.

When a fixture names a model or a field that does not exist at its state,
the most useful answer is the migration that created, renamed or deleted
it. This is read from the migration files on disk (no database), on the
error path only.
"""

from __future__ import annotations

from django.db.migrations import (
    AddField,
    CreateModel,
    DeleteModel,
    RemoveField,
    RenameField,
    RenameModel,
)
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations.base import Operation

Node = tuple[str, str]


def model_history(app_label: str, model_name: str) -> list[str]:
    """Events of ``app_label.model_name`` in migration order, as phrases."""
    if not app_label:
        return []
    loader = MigrationLoader(None, ignore_no_migrations=True)
    events = []
    for node in app_plan(loader, app_label):
        migration = loader.graph.nodes[node]
        label = f"{node[0]}.{node[1]}"
        for operation in migration.operations:
            if isinstance(operation, CreateModel) and (
                operation.name_lower == model_name
            ):
                events.append(f"created by {label}")
            elif isinstance(operation, RenameModel):
                if operation.old_name_lower == model_name:
                    events.append(
                        f"renamed to {app_label}.{operation.new_name} by {label}"
                    )
                elif operation.new_name_lower == model_name:
                    events.append(
                        f"renamed from {app_label}.{operation.old_name} by {label}"
                    )
            elif isinstance(operation, DeleteModel) and (
                operation.name_lower == model_name
            ):
                events.append(f"deleted by {label}")
    return events


def field_history(app_label: str, model_name: str, field_name: str) -> list[str]:
    """
    Events of the field ``field_name`` of a model, in migration order.

    The model is followed through its renames, so a field renamed while the
    model had another name is found too.
    """
    if not app_label:
        return []
    loader = MigrationLoader(None, ignore_no_migrations=True)
    plan = app_plan(loader, app_label)
    models = _model_names(loader, plan, model_name)
    field_name = field_name.lower()
    events = []
    for node in plan:
        label = f"{node[0]}.{node[1]}"
        for operation in loader.graph.nodes[node].operations:
            if isinstance(operation, CreateModel):
                if operation.name_lower in models and any(
                    name.lower() == field_name for name, _ in operation.fields
                ):
                    events.append(f"added by {label}")
            elif getattr(operation, "model_name_lower", None) not in models:
                continue
            elif isinstance(operation, AddField) and operation.name_lower == field_name:
                events.append(f"added by {label}")
            elif isinstance(operation, RenameField):
                if operation.old_name_lower == field_name:
                    events.append(f"renamed to {operation.new_name} by {label}")
                elif operation.new_name_lower == field_name:
                    events.append(f"renamed from {operation.old_name} by {label}")
            elif (
                isinstance(operation, RemoveField)
                and operation.name_lower == field_name
            ):
                events.append(f"removed by {label}")
    return events


def describe_field_history(app_label: str, model_name: str, field_name: str) -> str:
    """``"library.book.title: added by …; renamed to headline by …. "``, or ``""``."""
    events = field_history(app_label, model_name, field_name)
    if not events:
        return ""
    return f"{app_label}.{model_name.lower()}.{field_name}: {'; '.join(events)}. "


def field_creations(
    loader: MigrationLoader, app_label: str, model_name: str, field_name: str
) -> list[Node]:
    """The migrations that make the field: AddField, RenameField to it, CreateModel."""
    plan = app_plan(loader, app_label)
    models = _model_names(loader, plan, model_name)
    return [
        node
        for node in plan
        if any(
            adds_field(operation, models, field_name)
            for operation in loader.graph.nodes[node].operations
        )
    ]


def model_names(loader: MigrationLoader, app_label: str, model_name: str) -> set[str]:
    """Every name the model had in its app's migrations, lower-cased."""
    return _model_names(loader, app_plan(loader, app_label), model_name)


def adds_field(operation: Operation, models: set[str], field_name: str) -> bool:
    """Whether ``operation`` makes the field of a model with one of the names."""
    field_name = field_name.lower()
    if isinstance(operation, CreateModel):
        return operation.name_lower in models and any(
            name.lower() == field_name for name, _ in operation.fields
        )
    if isinstance(operation, AddField):
        return operation.model_name_lower in models and (
            operation.name_lower == field_name
        )
    if isinstance(operation, RenameField):
        return operation.model_name_lower in models and (
            operation.new_name_lower == field_name
        )
    return False


def _model_names(
    loader: MigrationLoader, plan: list[Node], model_name: str
) -> set[str]:
    """Every name the model had, through RenameModel, lower-cased."""
    renames = [
        (operation.old_name_lower, operation.new_name_lower)
        for node in plan
        for operation in loader.graph.nodes[node].operations
        if isinstance(operation, RenameModel)
    ]
    names = {model_name.lower()}
    grown = True
    while grown:
        grown = False
        for old, new in renames:
            if (old in names) != (new in names):
                names |= {old, new}
                grown = True
    return names


def model_creations(
    loader: MigrationLoader, app_label: str, model_name: str
) -> list[Node]:
    """The migrations that make the model: its CreateModel, a RenameModel to it."""
    return [
        node
        for node in app_plan(loader, app_label)
        if any(
            creates(operation, model_name)
            for operation in loader.graph.nodes[node].operations
        )
    ]


def creates(operation: Operation, model_name: str) -> str | None:
    """The model's name as ``operation`` writes it, if it makes the model."""
    if isinstance(operation, CreateModel) and operation.name_lower == model_name:
        return str(operation.name)
    if isinstance(operation, RenameModel) and operation.new_name_lower == model_name:
        return str(operation.new_name)
    return None


def app_plan(loader: MigrationLoader, app_label: str) -> list[Node]:
    """The app's migrations in the order ``migrate`` applies them."""
    nodes = [
        node
        for leaf in loader.graph.leaf_nodes(app_label)
        for node in loader.graph.forwards_plan(leaf)
        if node[0] == app_label
    ]
    return list(dict.fromkeys(nodes))
