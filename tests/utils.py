"""Helpers shared by the tests: migrating, running operations, snapshots."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.apps.registry import Apps
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections, migrations
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.migration import Migration
from django.db.migrations.operations.base import Operation
from django.db.migrations.state import ProjectState

# The apps whose tables the tests compare.
PROJECT_APPS = ("library", "shop", "members")

Node = tuple[str, str]


def executor(using: str = DEFAULT_DB_ALIAS) -> MigrationExecutor:
    return MigrationExecutor(connections[using])


def migrate(*targets: Node, using: str = DEFAULT_DB_ALIAS, fake: bool = False) -> None:
    """Migrate to each (app_label, migration_name | "zero") target, quietly."""
    for app_label, name in targets:
        call_command("migrate", app_label, name, database=using, fake=fake, verbosity=0)


def migrate_to_latest(using: str = DEFAULT_DB_ALIAS) -> None:
    call_command("migrate", database=using, verbosity=0)


def state_at(*nodes: Node, using: str = DEFAULT_DB_ALIAS) -> ProjectState:
    """The project state right after the given migrations (and their parents)."""
    loader = executor(using).loader
    return loader.project_state(list(nodes), at_end=True)


def apps_at(*nodes: Node, using: str = DEFAULT_DB_ALIAS) -> Apps:
    return state_at(*nodes, using=using).apps


def run_operation(
    operation: Operation,
    app_label: str,
    state: ProjectState,
    *,
    backwards: bool = False,
    using: str = DEFAULT_DB_ALIAS,
) -> None:
    """Run one operation at ``state`` the way a migration would."""
    connection = connections[using]
    with connection.schema_editor(atomic=True) as editor:
        if backwards:
            operation.database_backwards(app_label, editor, state, state)
        else:
            operation.database_forwards(app_label, editor, state, state)


def apply_as_migration(
    operations: list[Operation],
    app_label: str,
    state: ProjectState,
    *,
    name: str = "9999_test",
    using: str = DEFAULT_DB_ALIAS,
) -> None:
    """Apply operations inside a real Migration.apply(), at ``state``."""
    migration = Migration(name, app_label)
    migration.operations = operations
    with connections[using].schema_editor(atomic=True) as editor:
        migration.apply(state.clone(), editor)


def plain_loaddata(*labels: str, **options: Any) -> Callable[..., None]:
    """A RunPython function written the naive way: loaddata, live models."""

    def code(apps: Apps, schema_editor: Any) -> None:
        call_command(
            "loaddata",
            *labels,
            database=schema_editor.connection.alias,
            verbosity=0,
            **options,
        )

    return code


def run_python(code: Callable[..., Any]) -> migrations.RunPython:
    return migrations.RunPython(code, migrations.RunPython.noop)


def snapshot(using: str = DEFAULT_DB_ALIAS) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the project's apps, for before/after checks."""
    connection = connections[using]
    tables = sorted(
        table
        for table in connection.introspection.table_names()
        if table.startswith(tuple(f"{app}_" for app in PROJECT_APPS))
    )
    rows = {}
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            rows[table] = sorted(cursor.fetchall(), key=repr)
    return rows
