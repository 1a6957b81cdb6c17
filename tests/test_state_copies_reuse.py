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

import pytest

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.subprocesses

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
            for name in _postgres_databases(project.test_database):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_reuse_db_builds_a_state_once_across_runs(project: Project) -> None:
    first = project.pytest("--reuse-db", "--create-db")
    kept = project.kept()

    second = project.pytest("--reuse-db")

    assert "library.0003_book_pages" in first
    assert kept and all("hfkeep" in name for name in kept)
    assert second == []
    assert project.kept() == kept


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


def test_a_changed_migration_file_builds_again(project: Project) -> None:
    project.pytest("--reuse-db", "--create-db")
    kept = project.kept()
    migration = project.root / "library" / "migrations" / "0003_book_pages.py"
    migration.write_text(migration.read_text() + "\n# Changed.\n")

    again = project.pytest("--reuse-db")

    assert "library.0003_book_pages" in again
    assert len(project.kept()) == len(kept)
    assert not project.kept() & kept


def test_without_reuse_db_nothing_is_kept_after_the_run(project: Project) -> None:
    first = project.pytest()
    second = project.pytest()

    assert "library.0003_book_pages" in first
    assert "library.0003_book_pages" in second
    assert project.kept() == set()


def test_keepdb_builds_a_state_once_across_runs(project: Project) -> None:
    first = project.manage_test("--keepdb")
    kept = project.kept()

    second = project.manage_test("--keepdb")

    assert "library.0002_load_initial_catalog" in first
    assert kept
    # From the kept copy at 0002, the test's own step to 0003 only.
    assert second == ["library.0003_book_pages"]
    assert project.kept() == kept


def test_without_keepdb_nothing_is_kept_after_the_run(project: Project) -> None:
    project.manage_test()

    assert project.kept() == set()
