"""
``HISTFIXTURES = {"LOADDATA": "historical"}``: legacy migrations, unedited.

Each sample migration of tests/scenarios/legacy_loading is applied alone, in
a real ``Migration.apply()``, to a database at library 0001 whose live
models have drifted since (Author renamed Writer, Book.title renamed
headline, Publisher deleted, ...). With the setting, it loads exactly the
rows of its fixture; without it (the control) the same migration fails.
"""

from __future__ import annotations

import json
import threading
from importlib import import_module
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps as live_apps
from django.apps.registry import Apps
from django.core.management import call_command, load_command_class
from django.core.management.commands import loaddata as django_loaddata
from django.core.serializers import python as python_serializer
from django.core.serializers.base import DeserializationError
from django.db import connection, migrations
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.state import ProjectState
from django.test import override_settings

from histfixtures.historical_loaddata import migration_database
from tests.utils import Node, apply_as_migration, migrate, run_operation, state_at

LIBRARY_0001: Node = ("library", "0001_initial")
FIXTURE = (
    Path(__file__).resolve().parent.parent
    / "testproject"
    / "library"
    / "fixtures"
    / "library_initial.json"
)
SAMPLES = [
    "0002_loaddata",
    "0003_loaddata_path",
    "0004_deserialize",
    "0005_get_model_recipe",
    "0006_apps_recipe",
]
# What each sample raises without the setting (the live registry has no
# library.author: it was renamed Writer), on every supported Django.
INVALID_AUTHOR = r"(?i)invalid model identifier: '?library\.author"
FAILURES = {
    "0002_loaddata": (DeserializationError, INVALID_AUTHOR),
    "0003_loaddata_path": (DeserializationError, INVALID_AUTHOR),
    "0004_deserialize": (DeserializationError, INVALID_AUTHOR),
    "0005_get_model_recipe": (AttributeError, "has no attribute '_get_model'"),
    "0006_apps_recipe": (DeserializationError, INVALID_AUTHOR),
}
HISTORICAL = {"LOADDATA": "historical"}


# The tables of library 0001 and their columns.
COLUMNS = {
    "library_author": ["id", "name"],
    "library_publisher": ["id", "name"],
    "library_book": ["id", "title", "author_id", "publisher_id"],
}


def fixture_rows() -> dict[str, list[tuple[Any, ...]]]:
    """The rows of library_initial.json, table by table."""
    rows: dict[str, list[tuple[Any, ...]]] = {table: [] for table in COLUMNS}
    for obj in json.loads(FIXTURE.read_text()):
        table = "library_" + obj["model"].split(".")[1]
        values = {"id": obj["pk"], **obj["fields"]}
        rows[table].append(
            tuple(values.get(column.removesuffix("_id")) for column in COLUMNS[table])
        )
    return {table: sorted(values) for table, values in rows.items()}


def library_rows() -> dict[str, list[tuple[Any, ...]]]:
    rows = {}
    with connection.cursor() as cursor:
        for table, columns in COLUMNS.items():
            cursor.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY id")
            rows[table] = [tuple(row) for row in cursor.fetchall()]
    return rows


@pytest.fixture
def at_library_0001(settings: Any, migrations_restored: None) -> ProjectState:
    """An empty database at library 0001 (the live models are at 0011)."""
    settings.FIXTURE_DIRS = [Path(__file__).parent / "fixtures"]
    migrate(("shop", "zero"), LIBRARY_0001)
    assert all(rows == [] for rows in library_rows().values())
    return state_at(LIBRARY_0001)


def sample(name: str) -> list[Any]:
    module = import_module(f"tests.scenarios.legacy_loading.{name}")
    return list(module.Migration.operations)


@pytest.mark.parametrize("name", SAMPLES)
def test_the_migration_loads_its_rows_with_the_setting(
    name: str, settings: Any, at_library_0001: ProjectState
) -> None:
    settings.HISTFIXTURES = HISTORICAL

    apply_as_migration(sample(name), "library", at_library_0001, name=name)

    assert library_rows() == fixture_rows()


@pytest.mark.parametrize("name", SAMPLES)
def test_control_the_same_migration_fails_without_the_setting(
    name: str, at_library_0001: ProjectState
) -> None:
    error, message = FAILURES[name]

    with pytest.raises(error, match=message):
        apply_as_migration(sample(name), "library", at_library_0001, name=name)

    assert all(rows == [] for rows in library_rows().values())


def test_the_reverse_function_runs_too(
    settings: Any, at_library_0001: ProjectState
) -> None:
    settings.HISTFIXTURES = HISTORICAL
    (operation,) = sample("0002_loaddata")
    run_operation(operation, "library", at_library_0001)
    assert library_rows() == fixture_rows()

    run_operation(operation, "library", at_library_0001, backwards=True)

    assert all(rows == [] for rows in library_rows().values())


def test_the_get_model_recipe_leaves_no_get_model_behind(
    settings: Any, at_library_0001: ProjectState
) -> None:
    settings.HISTFIXTURES = HISTORICAL

    apply_as_migration(sample("0005_get_model_recipe"), "library", at_library_0001)

    assert "_get_model" not in vars(python_serializer)


def test_get_model_answers_only_while_the_setting_is_on(settings: Any) -> None:
    assert not hasattr(python_serializer, "_get_model")
    settings.HISTFIXTURES = HISTORICAL

    get_model = python_serializer._get_model  # type: ignore[attr-defined]

    assert get_model("library.writer") is live_apps.get_model("library", "Writer")
    with pytest.raises(DeserializationError, match=r"'library\.author'"):
        get_model("library.author")
    settings.HISTFIXTURES = {}
    assert not hasattr(python_serializer, "_get_model")


def seen_inside(code: Any, state: ProjectState, **hints: Any) -> dict[str, Any]:
    """Run a RunPython of ``code`` at ``state``; what ``code`` returned."""
    seen: dict[str, Any] = {}

    def run(apps: Apps, schema_editor: Any) -> None:
        seen.update(code(apps, schema_editor))

    run_operation(migrations.RunPython(run, run), "library", state)
    run_operation(migrations.RunPython(run, run), "library", state, backwards=True)
    return seen


def what_loaddata_sees(apps: Apps, schema_editor: Any) -> dict[str, Any]:
    command = load_command_class("histfixtures", "loaddata")
    parser = command.create_parser("manage.py", "loaddata")
    return {
        "apps": python_serializer.apps.get_model("library", "Author")
        is apps.get_model("library", "Author"),
        "database": parser.get_default("database"),
        "alias": migration_database(),
    }


@pytest.mark.django_db(transaction=True)
def test_inside_runpython_loaddata_loads_into_the_database_migrated(
    settings: Any,
) -> None:
    settings.HISTFIXTURES = HISTORICAL
    state = state_at(LIBRARY_0001)

    assert seen_inside(what_loaddata_sees, state) == {
        "apps": True,
        "database": "default",
        "alias": "default",
    }


def test_the_database_is_the_one_of_the_schema_editor(settings: Any) -> None:
    settings.HISTFIXTURES = HISTORICAL
    state = MigrationLoader(None).project_state(LIBRARY_0001)
    seen: dict[str, Any] = {}
    operation = migrations.RunPython(
        lambda apps, editor: seen.update(what_loaddata_sees(apps, editor))
    )
    # No database is opened: only the alias of the schema editor is read.
    editor = SimpleNamespace(connection=SimpleNamespace(alias="other"))

    operation.database_forwards("library", editor, state, state)

    assert seen == {"apps": True, "database": "other", "alias": "other"}


@pytest.mark.django_db
def test_outside_runpython_nothing_changes(settings: Any) -> None:
    settings.HISTFIXTURES = HISTORICAL
    settings.FIXTURE_DIRS = [Path(__file__).parent / "fixtures"]

    assert python_serializer.apps is live_apps
    assert migration_database() is None
    command = load_command_class("histfixtures", "loaddata")
    assert type(command) is django_loaddata.Command
    # A fixture of the live models loads as with Django.
    call_command("loaddata", "writers_at_library_0010", verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_without_the_setting_runpython_is_left_alone(settings: Any) -> None:
    settings.HISTFIXTURES = HISTORICAL  # Installs the patches ...
    settings.HISTFIXTURES = {}  # ... which then do nothing.
    state = state_at(LIBRARY_0001)

    def live(apps: Apps, schema_editor: Any) -> dict[str, Any]:
        return {"live": python_serializer.apps is live_apps}

    assert seen_inside(live, state) == {"live": True}


@pytest.mark.django_db(transaction=True)
def test_other_threads_keep_the_live_models(settings: Any) -> None:
    settings.HISTFIXTURES = HISTORICAL
    state = state_at(LIBRARY_0001)

    def in_a_thread(apps: Apps, schema_editor: Any) -> dict[str, Any]:
        seen: dict[str, Any] = {}

        def look() -> None:
            seen["thread"] = python_serializer.apps.get_model("library", "Writer")

        thread = threading.Thread(target=look)
        thread.start()
        thread.join()
        return {
            "thread": seen["thread"] is live_apps.get_model("library", "Writer"),
            "here": python_serializer.apps.get_model("library", "Author")
            is apps.get_model("library", "Author"),
        }

    assert seen_inside(in_a_thread, state) == {"thread": True, "here": True}


def migrate_legacy_history() -> None:
    """``migrate`` of a library history whose 0002 is the _get_model recipe."""
    with override_settings(
        MIGRATION_MODULES={"library": "tests.scenarios.legacy_migrate", "shop": None}
    ):
        try:
            call_command("migrate", "library", verbosity=0)
        finally:
            rows = library_rows()
            call_command("migrate", "library", "zero", verbosity=0)
    assert rows == fixture_rows()


@pytest.mark.usefixtures("migrations_restored")
def test_migrate_runs_the_unedited_migration_with_the_setting(settings: Any) -> None:
    migrate(("shop", "zero"), ("library", "zero"))
    settings.HISTFIXTURES = HISTORICAL

    migrate_legacy_history()


@pytest.mark.usefixtures("migrations_restored")
def test_control_migrate_crashes_on_the_recipe_without_the_setting() -> None:
    migrate(("shop", "zero"), ("library", "zero"))

    with pytest.raises(AttributeError, match="has no attribute '_get_model'"):
        migrate_legacy_history()
