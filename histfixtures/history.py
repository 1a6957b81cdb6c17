"""
What the migration graph did to a model, for error hints.

When a fixture names a model that does not exist at its state, the most
useful answer is the migration that created, renamed or deleted it. This is
read from the migration files on disk (no database), on the error path only.
"""

from __future__ import annotations

from django.db.migrations import CreateModel, DeleteModel, RenameModel
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
