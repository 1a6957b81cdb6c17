"""
What the migration graph did to a model, for error hints.

When a fixture names a model that does not exist at its state, the most
useful answer is the migration that created, renamed or deleted it. This is
read from the migration files on disk (no database), on the error path only.
"""

from __future__ import annotations

from django.db.migrations import CreateModel, DeleteModel, RenameModel
from django.db.migrations.loader import MigrationLoader


def model_history(app_label: str, model_name: str) -> list[str]:
    """Events of ``app_label.model_name`` in migration order, as phrases."""
    if not app_label:
        return []
    loader = MigrationLoader(None, ignore_no_migrations=True)
    nodes = [
        node
        for leaf in loader.graph.leaf_nodes(app_label)
        for node in loader.graph.forwards_plan(leaf)
        if node[0] == app_label
    ]
    events = []
    for node in dict.fromkeys(nodes):
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
