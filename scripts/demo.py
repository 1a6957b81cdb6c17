"""Migrate a fresh database one migration at a time and show what LoadFixture loaded.

Run it with ``scripts/demo``, which sets up the venv first. After every
migration that runs a ``LoadFixture`` operation, the rows of that app's models
are printed with the models *as they were at that migration* (the historical
models of the migration state), then the final rows with today's models.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MAX_ROWS = 10
MAX_WIDTH = 32


def configure(db_path: str) -> None:
    """Point the test project at a fresh SQLite file and set Django up."""
    sys.path.insert(0, str(ROOT / "testproject"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "project.settings"
    os.environ["HISTFIXTURES_DB"] = "sqlite"
    os.environ["HISTFIXTURES_SQLITE_NAME"] = db_path

    import django

    django.setup()


def describe_operation(operation: Any) -> str:
    """``LoadFixture('library_initial')``, as it is written in the migration."""
    try:
        _path, args, kwargs = operation.deconstruct()
        kwargs = dict(kwargs)
    except Exception:
        return f"{type(operation).__name__}: {operation.describe()}"
    # deconstruct() may hand the labels back as a keyword (so that the
    # migration writer keeps them); show them as the migration spells them.
    labels = kwargs.pop("labels", None) if not args else None
    if isinstance(labels, (list, tuple)):
        args = list(labels)
    elif labels is not None:
        kwargs = {"labels": labels, **kwargs}
    parts = [repr(arg) for arg in args]
    parts += [f"{key}={value!r}" for key, value in kwargs.items()]
    return f"{type(operation).__name__}({', '.join(parts)})"


def shorten(value: object) -> str:
    text = str(value)
    return text if len(text) <= MAX_WIDTH else text[: MAX_WIDTH - 1] + "…"


def model_rows(Model: Any) -> tuple[list[str], list[list[str]], int]:
    """Column names and up to MAX_ROWS rows of a model (many-to-many as pks)."""
    opts = Model._meta
    columns = [field.attname for field in opts.concrete_fields]
    m2m = [field.name for field in opts.many_to_many]
    queryset = Model._default_manager.order_by("pk")
    rows = []
    for obj in queryset[:MAX_ROWS]:
        row = [shorten(getattr(obj, column)) for column in columns]
        for name in m2m:
            pks = getattr(obj, name).order_by("pk").values_list("pk", flat=True)
            row.append(shorten(list(pks)))
        rows.append(row)
    return columns + m2m, rows, queryset.count()


def format_line(cells: Sequence[str], widths: Sequence[int]) -> str:
    padded = (cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
    return ("    " + "  ".join(padded)).rstrip()


def print_table(title: str, columns: Sequence[str], rows: list[list[str]]) -> None:
    widths = [
        max([len(column), *(len(row[i]) for row in rows)])
        for i, column in enumerate(columns)
    ]
    print(f"  {title}")
    print(format_line(columns, widths))
    print(format_line(["-" * width for width in widths], widths))
    for row in rows:
        print(format_line(row, widths))


def print_models(models: Iterable[Any]) -> None:
    for Model in models:
        columns, rows, count = model_rows(Model)
        shown = f", first {MAX_ROWS} shown" if count > MAX_ROWS else ""
        title = f"{Model._meta.label} ({count} row{'' if count == 1 else 's'}{shown})"
        print_table(title, columns, rows)
    print()


def migrate_step_by_step() -> tuple[int, int, list[str]]:
    """Apply the whole graph one migration at a time; show every LoadFixture."""
    from django.db import connections
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connections["default"])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    applied = loads = 0
    loading_apps: list[str] = []
    quiet: list[tuple[str, str]] = []  # applied since the last heading
    for planned, _backwards in plan:
        key = (planned.app_label, planned.name)
        migration = executor.loader.graph.nodes[key]
        fixture_ops = [
            op for op in migration.operations if type(op).__name__ == "LoadFixture"
        ]
        executor.migrate([key], plan=[(migration, False)])
        # The executor reads the applied migrations once; re-read them so the
        # next step starts from the state that this one left.
        executor.loader.build_graph()
        applied += 1
        if not fixture_ops:
            quiet.append(key)
            continue
        print_applied(quiet)
        quiet = []
        loads += len(fixture_ops)
        if migration.app_label not in loading_apps:
            loading_apps.append(migration.app_label)
        described = ", ".join(describe_operation(op) for op in fixture_ops)
        print()
        print(f"after {migration.app_label}.{migration.name} ({described})")
        state_apps = executor.loader.project_state(key).apps
        print_models(state_apps.get_app_config(migration.app_label).get_models())
    print_applied(quiet)
    return applied, loads, loading_apps


def print_applied(keys: list[tuple[str, str]]) -> None:
    """One line per app for a run of migrations without LoadFixture."""
    runs: list[list[tuple[str, str]]] = []
    for key in keys:
        if runs and runs[-1][0][0] == key[0]:
            runs[-1].append(key)
        else:
            runs.append([key])
    for run in runs:
        app_label, first = run[0]
        if len(run) == 1:
            print(f"  applied {app_label}.{first}")
        else:
            last = run[-1][1]
            print(f"  applied {app_label}.{first} … {last} ({len(run)} migrations)")


def main() -> int:
    fd, db_path = tempfile.mkstemp(prefix="histfixtures-demo-", suffix=".sqlite3")
    os.close(fd)
    try:
        configure(db_path)
        print(f"Migrating a fresh SQLite database ({db_path}) one step at a time.")
        print("Rows are shown with the models of each migration's own state.")
        print()
        applied, loads, loading_apps = migrate_step_by_step()

        from django.apps import apps

        print()
        print("Final state, with today's models")
        for app_label in loading_apps:
            print_models(apps.get_app_config(app_label).get_models())
        print(
            f"{applied} migrations applied, {loads} LoadFixture operation"
            f"{'' if loads == 1 else 's'} ran."
        )
    finally:
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        Path(db_path).unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
