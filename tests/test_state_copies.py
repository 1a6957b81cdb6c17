"""
Copies of built migration states (histfixtures.state_copies).

A state that the process built once comes back from a copy, and the copy
holds exactly what migrating from empty to that state holds: every row of
every table, the migrations record and the next primary keys. A copy is
never used when what it was built from changed (a fixture file, a setting)
or when it would undo tables that migrations do not create; a failed build
keeps none; data a test writes never reaches one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, connections
from django.db.migrations.migration import Migration
from django.test import override_settings

from histfixtures import LoadFixture, state_copies
from histfixtures.migration_state import (
    DatabaseMigrationState,
    Targets,
    flush,
    rebuild_test_database,
    restore_migration_data,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("migrations_restored"),
]

COPIES_OFF = override_settings(HISTFIXTURES={"STATE_COPIES": False})
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL keeps copies as databases"
)


def whole_database() -> dict[str, Any]:
    """Every row of every table, and where each table's primary keys go next."""
    rows: dict[str, Any] = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names()):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            rows[table] = sorted(cursor.fetchall(), key=repr)
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name, seq FROM sqlite_sequence ORDER BY name")
            rows["sqlite_sequence"] = cursor.fetchall()
        elif connection.vendor == "postgresql":
            cursor.execute(
                "SELECT sequencename, last_value FROM pg_sequences ORDER BY 1"
            )
            rows["pg_sequences"] = cursor.fetchall()
    # The migrations record holds when each ran: that differs by design.
    rows["django_migrations"] = [row[1:3] for row in rows["django_migrations"]]
    return rows


def built(target: Targets) -> dict[str, Any]:
    """Move a fresh migration state to ``target``; the whole database after."""
    DatabaseMigrationState().migrate_to(target)
    return whole_database()


@pytest.fixture
def restores(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """What each state_copies.restore() answered during the test."""
    answers: list[bool] = []
    real = state_copies.restore

    def spy(*args: Any, **kwargs: Any) -> bool:
        answers.append(real(*args, **kwargs))
        return answers[-1]

    monkeypatch.setattr(state_copies, "restore", spy)
    yield answers


COPIES_UNSUPPORTED = pytest.mark.skipif(
    "connection.vendor == 'mysql'",
    reason="MySQL/MariaDB: no state copies (SQLite and PostgreSQL only), "
    "so a state is always built by migrating",
)


@pytest.mark.parametrize(
    "target",
    [
        ("library", "0003_book_pages"),
        ("library", "0008_book_publisher_name"),
        ["library.0010", "shop.0005", "members.0003"],
    ],
    ids=["library-0003", "library-0008", "three-apps"],
)
@COPIES_UNSUPPORTED
def test_a_state_built_again_holds_what_migrating_from_empty_holds(
    target: Targets, restores: list[bool]
) -> None:
    with COPIES_OFF:
        migrated = built(target)
    built(target)  # Keeps a copy, if there was none.

    restored = built(target)

    assert restores[-1] is True
    assert restored == migrated


@COPIES_UNSUPPORTED
def test_data_a_test_writes_never_reaches_the_copy(restores: list[bool]) -> None:
    apps = DatabaseMigrationState().migrate_to(("library", "0008"))
    Book = apps.get_model("library", "Book")
    before = Book.objects.count()
    Book.objects.all().delete()

    apps = DatabaseMigrationState().migrate_to(("library", "0008"))

    assert restores[-1] is True
    assert apps.get_model("library", "Book").objects.count() == before > 0


def test_a_failed_build_keeps_no_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    state_copies.discard_all()

    def fail(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("a migration failed")

    with monkeypatch.context() as patch, pytest.raises(RuntimeError):
        patch.setattr("django.db.migrations.executor.MigrationExecutor.migrate", fail)
        DatabaseMigrationState().migrate_to(("library", "0003"))

    assert not state_copies._copies


def test_with_copies_off_none_is_kept_or_used(restores: list[bool]) -> None:
    built(("library", "0004"))
    with COPIES_OFF:
        state_copies.discard_all()
        built(("library", "0004"))
        built(("library", "0004"))

    assert restores[-2:] == [False, False]
    assert not state_copies._copies


def test_tables_that_migrations_do_not_create_are_never_undone(
    restores: list[bool],
) -> None:
    built(("library", "0003"))
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE not_from_migrations (id INTEGER PRIMARY KEY)")
        cursor.execute("INSERT INTO not_from_migrations (id) VALUES (1)")
    try:
        built(("library", "0003"))

        assert restores[-1] is False
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM not_from_migrations")
            assert list(cursor.fetchall()) == [(1,)]
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE not_from_migrations")


def test_the_key_changes_with_a_fixture_file_and_the_settings(tmp_path: Path) -> None:
    fixture = tmp_path / "genres.json"
    fixture.write_text(json.dumps([{"model": "library.genre", "pk": 1, "fields": {}}]))
    migration = Migration("0099_genres", "library")
    migration.operations = [LoadFixture(str(fixture))]
    key = state_copies.state_key("default", [migration], purpose="test")
    assert state_copies.state_key("default", [migration], purpose="test") == key

    fixture.write_text(json.dumps([{"model": "library.genre", "pk": 2, "fields": {}}]))
    changed = state_copies.state_key("default", [migration], purpose="test")
    with override_settings(FIXTURE_DIRS=[str(tmp_path)]):
        moved = state_copies.state_key("default", [migration], purpose="test")

    assert len({key, changed, moved}) == 3


def test_a_file_added_to_a_fixture_directory_changes_the_key(tmp_path: Path) -> None:
    migration = Migration("0099_nothing", "library")
    with override_settings(FIXTURE_DIRS=[str(tmp_path)]):
        key = state_copies.state_key("default", [migration], purpose="test")
        (tmp_path / "loaded_by_a_runpython.json").write_text("[]")

        assert state_copies.state_key("default", [migration], purpose="test") != key


@postgres_only
def test_postgres_copies_are_databases_dropped_at_the_end() -> None:
    built(("library", "0003"))

    def copies() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s",
                [f"%\\_hfcopy\\_{os.getpid()}\\_%"],
            )
            return [row[0] for row in cursor.fetchall()]

    assert copies()
    state_copies.discard_all()
    assert copies() == []


def postgres_copy() -> Any:
    """The PostgreSQL copy kept for the only state this process has built."""
    ((copy, _),) = state_copies._copies.values()
    return copy


@postgres_only
def test_postgres_restores_again_and_again_hold_what_migrating_holds() -> None:
    with COPIES_OFF:
        migrated = built(("library", "0008"))
    state_copies.discard_all()
    built(("library", "0008"))
    copy = postgres_copy()

    for _ in range(3):
        apps = DatabaseMigrationState().migrate_to(("library", "0008"))
        apps.get_model("library", "Book").objects.all().delete()
        copy._wait()
        assert copy.spare_ready  # The next restore renames a spare in.
        assert built(("library", "0008")) == migrated


@postgres_only
def test_postgres_restore_without_a_spare_holds_what_migrating_holds() -> None:
    with COPIES_OFF:
        migrated = built(("library", "0008"))
    state_copies.discard_all()
    built(("library", "0008"))
    copy = postgres_copy()
    copy._wait()
    state_copies._run_on_server(
        connections["default"], [f'DROP DATABASE "{copy.spare}"']
    )
    copy.spare_ready = False

    assert built(("library", "0008")) == migrated
    copy._wait()
    assert copy.spare_ready


@postgres_only
def test_postgres_restore_with_another_session_changes_nothing(
    restores: list[bool],
) -> None:
    import psycopg

    with COPIES_OFF:
        migrated = built(("library", "0008"))
    built(("library", "0008"))
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    other = psycopg.connect(**params)
    try:
        assert built(("library", "0008")) == migrated
        assert restores[-1] is False
    finally:
        other.close()


@postgres_only
def test_postgres_copies_of_dead_processes_are_dropped() -> None:
    source = connection.settings_dict["NAME"]
    dead = next(pid for pid in range(4_000_000, 3_000_000, -1) if not _alive(pid))
    names = {
        pid: f"{source[:30]}_{state_copies.COPY_INFIX}_{pid}_{'a' * 12}"
        for pid in (dead, 1)
    }
    other_database = f"x{source[:29]}_{state_copies.COPY_INFIX}_{dead}_{'a' * 12}"
    made = [*names.values(), other_database]
    state_copies._run_on_server(
        connections["default"], [f'CREATE DATABASE "{name}"' for name in made]
    )
    try:
        state_copies.discard_all()
        state_copies._swept.discard(source)
        built(("library", "0003"))

        left = set(postgres_databases()) & set(made)
        assert left == {names[1], other_database}
    finally:
        state_copies._run_on_server(
            connections["default"],
            [f'DROP DATABASE IF EXISTS "{name}"' for name in made],
        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def postgres_databases() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database")
        return [row[0] for row in cursor.fetchall()]


@COPIES_UNSUPPORTED
def test_restore_migration_data_without_a_snapshot_comes_from_a_copy(
    restores: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    # No serialized rollback snapshot: the data comes from a rebuild.
    monkeypatch.delattr(
        connections["default"], "_test_serialized_contents", raising=False
    )
    with COPIES_OFF:
        rebuild_test_database(refresh_snapshot=False)
        migrated = whole_database()
    rebuild_test_database(refresh_snapshot=False)  # Keeps a copy, if none.
    flush("default")

    restore_migration_data()

    assert restores[-1] is True
    assert whole_database() == migrated
