"""
Copies of built migration states kept across runs (histfixtures.state_copies).

A run that keeps its test database (pytest-django's ``--reuse-db``,
``manage.py test --keepdb``) keeps its copies too, and the next run gets a
state back without running a migration, until a migration or fixture file
changes; a run that does not keep its test database leaves nothing behind.

Runs are what users run, in subprocesses, against a copy of testproject (so
that a test can change its files). Each run counts the migrations it
applies, from the test database's creation to its end.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.test_state_copies import COPIES_OFF, whole_database

pytest_plugins = ["pytester"]
subprocesses = pytest.mark.subprocesses

REPO = Path(__file__).resolve().parent.parent
TESTPROJECT = REPO / "testproject"
POSTGRES = os.environ.get("HISTFIXTURES_DB") == "postgres"

# Counts the migrations that the run applies, whoever applies them.
COUNTING = """
import atexit
import json
import os

from django.db.migrations.executor import MigrationExecutor

applied = []
apply_migration = MigrationExecutor.apply_migration


def counting(self, state, migration, *args, **kwargs):
    applied.append(f"{migration.app_label}.{migration.name}")
    return apply_migration(self, state, migration, *args, **kwargs)


MigrationExecutor.apply_migration = counting


@atexit.register
def write():
    with open(os.environ["APPLIED"], "w") as file:
        json.dump(applied, file)
"""

CONFTEST = """
def pytest_configure(config):
    import counting  # noqa: F401
"""

AT_0003 = """
def test_at_0003(migration_state):
    apps = migration_state.migrate_to(("library", "0003_book_pages"))
    assert apps.get_model("library", "Book").objects.count() == BOOKS
"""

# The Django runner's test case, the same state.
MIGRATION_TEST_CASE = """
import counting  # noqa: F401

from histfixtures.testing import MigrationTestCase


class At0003Tests(MigrationTestCase):
    migrate_from = ("library", "0002_load_initial_catalog")
    migrate_to = ("library", "0003_book_pages")

    def test_books(self):
        Book = self.apps.get_model("library", "Book")
        self.assertEqual(Book.objects.count(), BOOKS)
"""


class Project:
    """A copy of testproject, with a test database of its own, and its runs."""

    def __init__(self, pytester: pytest.Pytester, root: Path) -> None:
        self.pytester = pytester
        self.root = root
        self.applied = root / "applied.json"
        self.books = len(self.catalog())
        for directory in (pytester.path, root):
            (directory / "counting.py").write_text(COUNTING)
        pytester.makeconftest(CONFTEST)
        pytester.makepyfile(test_at_0003=AT_0003.replace("BOOKS", str(self.books)))
        (root / "reuse_tests.py").write_text(
            MIGRATION_TEST_CASE.replace("BOOKS", str(self.books))
        )

    @property
    def fixture(self) -> Path:
        return self.root / "library" / "fixtures" / "library_initial.json"

    def catalog(self) -> list[dict[str, object]]:
        objects = json.loads(self.fixture.read_text())
        return [o for o in objects if o["model"] == "library.book"]

    def pytest(self, *args: str) -> list[str]:
        """Run pytest; the migrations the run applied."""
        result = self.pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "--ds=project.settings", *args
        )
        result.assert_outcomes(passed=1)
        return self.read_applied()

    def manage_test(self, *args: str) -> list[str]:
        """Run ``manage.py test``; the migrations the run applied."""
        completed = subprocess.run(
            [sys.executable, "manage.py", "test", "reuse_tests", *args],
            cwd=self.root,
            capture_output=True,
            text=True,
        )
        assert completed.returncode == 0, completed.stderr
        assert "OK" in completed.stderr
        return self.read_applied()

    def read_applied(self) -> list[str]:
        applied = json.loads(self.applied.read_text())
        self.applied.unlink()
        return list(applied)

    def kept(self) -> set[str]:
        """The copies kept for the test database, and any left by a process."""
        if POSTGRES:
            return set(_postgres_databases(f"{self.test_database[:30]}_hf"))
        return {
            path.name
            for path in self.root.iterdir()
            if ".hfkeep-" in path.name or ".hfcopy" in path.name
        }

    @property
    def test_database(self) -> str:
        return f"test_{os.environ['PGDATABASE']}"


def _postgres_connection() -> object:
    import psycopg

    return psycopg.connect(
        host=os.environ.get("PGHOST", "127.0.0.1"),
        port=os.environ.get("PGPORT", "5432"),
        user=os.environ.get("PGUSER", "postgres"),
        password=os.environ.get("PGPASSWORD", ""),
        dbname="postgres",
        autocommit=True,
    )


def _postgres_databases(prefix: str) -> list[str]:
    with _postgres_connection() as conn:  # type: ignore[attr-defined]
        rows = conn.execute("SELECT datname FROM pg_database").fetchall()
    return [name for (name,) in rows if name.startswith(prefix)]


@pytest.fixture
def project(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Project]:
    root = tmp_path / "testproject"
    shutil.copytree(
        TESTPROJECT, root, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3")
    )
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(root), str(REPO)]))
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    monkeypatch.setenv("APPLIED", str(root / "applied.json"))
    monkeypatch.setenv("HISTFIXTURES_SQLITE_NAME", str(root / "db.sqlite3"))
    # A file: an in-memory test database is not kept, nor are its copies.
    monkeypatch.setenv("HISTFIXTURES_SQLITE_TEST_NAME", str(root / "test.sqlite3"))
    if POSTGRES:
        # Named after the run's own database, whose name begins the copies'.
        base = os.environ.get("PGDATABASE", "histfixtures")[:12]
        monkeypatch.setenv("PGDATABASE", f"{base}_reuse_{secrets.token_hex(4)}")
    project = Project(pytester, root)
    yield project
    if POSTGRES:
        with _postgres_connection() as conn:  # type: ignore[attr-defined]
            for name in _postgres_databases(project.test_database[:30]):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@subprocesses
def test_reuse_db_builds_a_state_once_across_runs(project: Project) -> None:
    first = project.pytest("--reuse-db", "--create-db")
    kept = project.kept()

    second = project.pytest("--reuse-db")

    assert "library.0003_book_pages" in first
    assert kept and all("hfkeep" in name for name in kept)
    assert second == []
    assert project.kept() == kept


@subprocesses
def test_a_changed_fixture_file_builds_again_and_drops_the_stale_copies(
    project: Project,
) -> None:
    project.pytest("--reuse-db", "--create-db")
    kept = project.kept()
    objects = json.loads(project.fixture.read_text())
    book = {**project.catalog()[0], "pk": 1000}
    project.fixture.write_text(json.dumps([*objects, book]))
    project.books += 1
    project.pytester.makepyfile(
        test_at_0003=AT_0003.replace("BOOKS", str(project.books))
    )

    again = project.pytest("--reuse-db")
    kept_again = project.kept()
    third = project.pytest("--reuse-db")

    assert "library.0002_load_initial_catalog" in again
    assert len(kept_again) == len(kept)
    assert not kept_again & kept
    assert third == []


@subprocesses
def test_a_changed_migration_file_builds_again(project: Project) -> None:
    project.pytest("--reuse-db", "--create-db")
    kept = project.kept()
    migration = project.root / "library" / "migrations" / "0003_book_pages.py"
    migration.write_text(migration.read_text() + "\n# Changed.\n")

    again = project.pytest("--reuse-db")

    assert "library.0003_book_pages" in again
    assert len(project.kept()) == len(kept)
    assert not project.kept() & kept


@subprocesses
def test_without_reuse_db_nothing_is_kept_after_the_run(project: Project) -> None:
    first = project.pytest()
    second = project.pytest()

    assert "library.0003_book_pages" in first
    assert "library.0003_book_pages" in second
    assert project.kept() == set()


@subprocesses
def test_keepdb_builds_a_state_once_across_runs(project: Project) -> None:
    first = project.manage_test("--keepdb")
    kept = project.kept()

    second = project.manage_test("--keepdb")

    assert "library.0002_load_initial_catalog" in first
    assert kept
    # From the kept copy at 0002, the test's own step to 0003 only.
    assert second == ["library.0003_book_pages"]
    assert project.kept() == kept


@subprocesses
def test_without_keepdb_nothing_is_kept_after_the_run(project: Project) -> None:
    project.manage_test()

    assert project.kept() == set()


# --- in one process: the runs' ends simulated --------------------------------------

postgres_only = pytest.mark.skipif(not POSTGRES, reason="PostgreSQL databases")


def in_process(test: Any) -> Any:
    """A test of this process's test database, at the latest state after."""
    test = pytest.mark.usefixtures("migrations_restored")(test)
    return pytest.mark.django_db(transaction=True)(test)


@pytest.fixture
def applied(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The migrations applied during the test."""
    from django.db.migrations.executor import MigrationExecutor

    names: list[str] = []
    apply_migration = MigrationExecutor.apply_migration

    def counting(self: Any, state: Any, migration: Any, *args: Any, **kw: Any) -> Any:
        names.append(f"{migration.app_label}.{migration.name}")
        return apply_migration(self, state, migration, *args, **kw)

    monkeypatch.setattr(MigrationExecutor, "apply_migration", counting)
    return names


@pytest.fixture
def kept_run() -> Iterator[list[tuple[Any, ...]]]:
    """
    The test database is one that the run keeps; what keep() was asked.

    Afterwards the kept copies are dropped, and the run keeps nothing more.
    """
    from django.db import connection, connections

    from histfixtures import state_copies

    kept: list[tuple[Any, ...]] = []
    real = state_copies.keep

    def spy(*args: Any, **kwargs: Any) -> None:
        kept.append(args)
        real(*args, **kwargs)

    state_copies.discard_all()
    state_copies.note_kept_test_database("default")
    state_copies.keep = spy  # type: ignore[assignment]
    try:
        yield kept
    finally:
        state_copies.keep = real
        state_copies._kept_test_databases.pop("default", None)
        state_copies.discard_all()
        if connection.vendor == "postgresql":
            state_copies._run_on_server(
                connections["default"],
                [f'DROP DATABASE "{name}"' for name in kept_databases()],
            )


def kept_databases() -> list[str]:
    from django.db import connection

    from histfixtures import state_copies

    name = connection.settings_dict["NAME"]
    return sorted(_postgres_databases(f"{name[:30]}_{state_copies.KEPT_INFIX}_"))


@postgres_only
@in_process
def test_postgres_the_next_run_restores_a_kept_copy_without_migrating(
    kept_run: list[tuple[Any, ...]], applied: list[str]
) -> None:
    from histfixtures import state_copies
    from histfixtures.migration_state import DatabaseMigrationState

    DatabaseMigrationState().migrate_to(("library", "0003"))
    kept = kept_databases()
    applied.clear()
    state_copies.discard_all()  # The run ends: its kept copies stay.

    DatabaseMigrationState().migrate_to(("library", "0003"))

    assert len(kept) == 1
    assert kept_databases() == kept
    assert applied == []


@postgres_only
@in_process
def test_postgres_a_copy_kept_first_by_another_run_is_the_one_used(
    kept_run: list[tuple[Any, ...]], applied: list[str]
) -> None:
    from django.db import connection

    from histfixtures import state_copies
    from histfixtures.migration_state import DatabaseMigrationState

    with COPIES_OFF:
        migrated = built_whole(("library", "0008"))
    built_whole(("library", "0008"))
    (kept,) = kept_databases()
    oid = _oid(kept)
    # Another run that built the same state meanwhile keeps it second: its
    # complete copy, made under a name of its own, is not renamed over.
    state_copies._copies.clear()
    state_copies.keep(*kept_run[-1])

    made = _postgres_databases(f"{connection.settings_dict['NAME'][:30]}_hfcopy_")
    assert [name for name in made if name.endswith("_t")] == []
    assert kept_databases() == [kept]
    assert _oid(kept) == oid
    applied.clear()
    DatabaseMigrationState().migrate_to(("library", "0008"))
    assert applied == []
    assert whole_database() == migrated


def built_whole(target: Any) -> dict[str, Any]:
    from histfixtures.migration_state import DatabaseMigrationState

    DatabaseMigrationState().migrate_to(target)
    return whole_database()


def _oid(name: str) -> int:
    with _postgres_connection() as conn:  # type: ignore[attr-defined]
        row = conn.execute("SELECT oid FROM pg_database WHERE datname = %s", [name])
        return int(row.fetchone()[0])


sqlite_only = pytest.mark.skipif(POSTGRES, reason="SQLite files")


@sqlite_only
@in_process
def test_sqlite_a_kept_copy_is_a_whole_file_and_replaces_its_slots_stale_ones(
    tmp_path: Path,
) -> None:
    from django.db import connection

    from histfixtures import state_copies
    from histfixtures.migration_state import DatabaseMigrationState

    DatabaseMigrationState().migrate_to(("library", "0008"))
    migrated = whole_database()
    slot = f"{tmp_path / 'test.sqlite3'}.{state_copies.KEPT_INFIX}-aaaaaaaa-"
    dead = next(pid for pid in range(4_000_000, 3_000_000, -1) if not _alive(pid))
    stale = f"{slot}{'2' * 12}"
    of_a_dead_run = f"{slot}{'3' * 12}.{dead}.tmp"
    of_a_live_run = f"{slot}{'3' * 12}.1.tmp"
    other_slot = (
        f"{tmp_path / 'test.sqlite3'}.{state_copies.KEPT_INFIX}-bbbbbbbb-{'2' * 12}"
    )
    for path in (stale, of_a_dead_run, of_a_live_run, other_slot):
        Path(path).write_text("")
    kept = state_copies._Kept(slot, "1" * 12)

    copy = state_copies._SQLiteCopy.take(connection, "key", kept)
    assert copy is not None
    copy.discard()

    assert sorted(os.listdir(tmp_path)) == sorted(
        os.path.basename(path) for path in (kept.name, of_a_live_run, other_slot)
    )
    found = state_copies._SQLiteCopy.find(connection, kept)
    assert found is not None
    DatabaseMigrationState().migrate_to(("library", "0003"))
    try:
        assert found.restore(connection)
        assert whole_database() == migrated
    finally:
        found.discard()


@sqlite_only
@in_process
def test_sqlite_an_in_memory_test_database_keeps_no_copy_across_runs(
    kept_run: list[tuple[Any, ...]],
) -> None:
    from django.db import connection

    from histfixtures import state_copies
    from histfixtures.migration_state import DatabaseMigrationState

    DatabaseMigrationState().migrate_to(("library", "0003"))

    assert connection.is_in_memory_db()  # type: ignore[attr-defined]
    assert not state_copies.keeps_test_database("default")
    assert kept_run  # A copy for this run only.


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def test_the_key_changes_with_the_versions_of_django_and_histfixtures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import django
    from django.db.migrations.migration import Migration

    from histfixtures import state_copies

    migration = Migration("0099_nothing", "library")
    key = state_copies.state_key("default", [migration], purpose="test")
    monkeypatch.setattr(state_copies, "histfixtures_version", "99.0")
    other_histfixtures = state_copies.state_key("default", [migration], purpose="test")
    monkeypatch.setattr(django, "get_version", lambda: "9.9")
    other_django = state_copies.state_key("default", [migration], purpose="test")

    assert len({key, other_histfixtures, other_django}) == 3
