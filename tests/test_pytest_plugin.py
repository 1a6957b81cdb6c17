"""
The pytest plugin, run as users run it: in pytest subprocesses (pytester)
against testproject, loaded through its pytest11 entry point, next to
pytest-django and django-test-migrations.

Each run gets a database of its own: on SQLite an in-memory test database
(or a file, for --reuse-db), on PostgreSQL a database name of its own, whose
test databases are dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from tests.conftest import FIXTURES

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.subprocesses

REPO = Path(__file__).resolve().parent.parent
TESTPROJECT = REPO / "testproject"
POSTGRES = os.environ.get("HISTFIXTURES_DB") == "postgres"

# Shared by the generated test modules.
HELPERS = """
from django.db import connections
from django.db.migrations.executor import MigrationExecutor


def at_latest(using="default"):
    executor = MigrationExecutor(connections[using])
    return not executor.migration_plan(executor.loader.graph.leaf_nodes())
"""

# A second database with a router: library and shop on both, the rest on
# default only.
MULTIDB_SETTINGS = """
from project.settings import *  # noqa: F403
from project.settings import DATABASES

_other = dict(DATABASES["default"])
if _other["ENGINE"].endswith("sqlite3"):
    _other["NAME"] = str(_other["NAME"]) + "-other"
    _other["TEST"] = {"NAME": None}
else:
    _other["NAME"] = _other["NAME"] + "_other"
    _other["TEST"] = {}
DATABASES = {"default": DATABASES["default"], "other": _other}
DATABASE_ROUTERS = ["catalog_router.CatalogRouter"]
"""

CATALOG_ROUTER = """
class CatalogRouter:
    def allow_migrate(self, db, app_label, **hints):
        if db == "other":
            return app_label in {"library", "shop"}
        return None
"""


class Project:
    """Runs pytest in a subprocess against testproject."""

    def __init__(self, pytester: pytest.Pytester) -> None:
        self.pytester = pytester
        self.settings = "project.settings"
        pytester.makepyfile(helpers=HELPERS)

    def run(self, *args: str) -> pytest.RunResult:
        return self.pytester.runpytest_subprocess(
            "-p",
            "no:cacheprovider",
            "-W",
            "error::DeprecationWarning",
            f"--ds={self.settings}",
            *args,
        )

    def use_multidb(self) -> None:
        self.pytester.makepyfile(
            multidb_settings=MULTIDB_SETTINGS, catalog_router=CATALOG_ROUTER
        )
        self.settings = "multidb_settings"


def _drop_postgres_databases(*names: str) -> None:
    """
    Drop the databases, and the state copies of them: kept (``_hfkeep_``),
    or left by a run that was killed (``_hfcopy_``).
    """
    import psycopg

    with psycopg.connect(
        host=os.environ.get("PGHOST", "127.0.0.1"),
        port=os.environ.get("PGPORT", "5432"),
        user=os.environ.get("PGUSER", "postgres"),
        password=os.environ.get("PGPASSWORD", ""),
        dbname="postgres",
        autocommit=True,
    ) as conn:
        existing = [row[0] for row in conn.execute("SELECT datname FROM pg_database")]
        copies = [
            other
            for name in names
            for other in existing
            if other.startswith((f"{name[:30]}_hfkeep_", f"{name[:30]}_hfcopy_"))
        ]
        for name in [*names, *copies]:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def project(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Project]:
    path = os.pathsep.join([str(TESTPROJECT), str(REPO)])
    monkeypatch.setenv("PYTHONPATH", path)
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    monkeypatch.setenv("HISTFIXTURES_SQLITE_NAME", str(tmp_path / "db.sqlite3"))
    monkeypatch.delenv("HISTFIXTURES_SQLITE_TEST_NAME", raising=False)
    name = f"histfixtures_plugin_{secrets.token_hex(4)}"
    if POSTGRES:
        monkeypatch.setenv("PGDATABASE", name)
    yield Project(pytester)
    if POSTGRES:
        _drop_postgres_databases(f"test_{name}", f"test_{name}_other")


@pytest.fixture
def kept_database(
    project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Project:
    """A test database that --reuse-db can keep (SQLite: a file)."""
    monkeypatch.setenv("HISTFIXTURES_SQLITE_TEST_NAME", str(tmp_path / "test.sqlite3"))
    return project


# --- registration ---------------------------------------------------------------------


def test_plugin_is_registered_through_the_pytest11_entry_point() -> None:
    plugins = {ep.name: ep.value for ep in entry_points(group="pytest11")}

    assert plugins.get("histfixtures") == "histfixtures.pytest_plugin"


def test_importing_the_plugin_imports_nothing_of_django() -> None:
    code = (
        "import sys\n"
        "import histfixtures.pytest_plugin\n"
        "django = sorted(m for m in sys.modules if m.partition('.')[0] == 'django')\n"
        "assert not django, django\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("DJANGO_SETTINGS_MODULE", None)

    completed = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True
    )

    assert completed.returncode == 0, completed.stderr


def test_plugin_stays_out_of_sessions_without_django(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    pytester.makepyfile("def test_plain():\n    assert True\n")

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")

    result.assert_outcomes(passed=1)


def test_plugin_does_nothing_without_pytest_django(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "project.settings")
    monkeypatch.setenv("PYTHONPATH", str(TESTPROJECT))
    pytester.makepyfile("def test_plain():\n    assert True\n")

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:django")

    result.assert_outcomes(passed=1)


USES_MIGRATION_STATE = """
def test_uses_migration_state(migration_state):
    pass


def test_plain():
    pass
"""

# Imported with -p before the entry points are loaded: pytest-django looks
# uninstalled (importlib.util.find_spec returns None for it).
HIDE_PYTEST_DJANGO = """
import sys

sys.modules["pytest_django"] = None
"""


def test_migration_state_without_pytest_django_says_to_install_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "project.settings")
    monkeypatch.setenv("PYTHONPATH", str(TESTPROJECT))
    pytester.makepyfile(
        test_it=USES_MIGRATION_STATE, hide_pytest_django=HIDE_PYTEST_DJANGO
    )

    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "hide_pytest_django", "-p", "no:django"
    )

    result.assert_outcomes(passed=1, errors=1)
    assert (
        "histfixtures: the migration_state fixture needs pytest-django, which is "
        'not installed. Install it with: pip install "histfixtures[pytest]"'
    ) in result.stdout.str()
    result.stdout.no_fnmatch_line("*fixture 'transactional_db' not found*")


def test_migration_state_with_pytest_django_disabled_says_so(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "project.settings")
    monkeypatch.setenv("PYTHONPATH", str(TESTPROJECT))
    pytester.makepyfile(test_it=USES_MIGRATION_STATE)

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:django")

    result.assert_outcomes(passed=1, errors=1)
    assert (
        "histfixtures: the migration_state fixture needs pytest-django, which is "
        "installed but not active (-p no:django?)"
    ) in result.stdout.str()


def test_pytest_extra_pulls_pytest_django() -> None:
    from importlib.metadata import requires

    extra = [req for req in requires("histfixtures") or [] if "extra ==" in req]
    pytest_extra = [req for req in extra if 'extra == "pytest"' in req]

    assert any(req.startswith("pytest-django") for req in pytest_extra), extra
    # The other extra, adoptfixtures' libcst, pulls nothing of pytest.
    assert all(
        'extra == "adopt"' in req and req.startswith("libcst")
        for req in extra
        if req not in pytest_extra
    ), extra


# Testproject's settings without histfixtures in INSTALLED_APPS (LoadFixture
# works without it).
NOT_IN_INSTALLED_APPS_SETTINGS = """
from project.settings import *  # noqa: F403
from project.settings import INSTALLED_APPS

INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "histfixtures"]
"""

LEAVES_THE_DATABASE_ALONE = """
from django.apps import apps
from django.db import connection

from library.models import Book


def test_leaves_the_database_alone(db):
    assert not apps.is_installed("histfixtures")
    assert "histfixtures_kept_test_db" not in connection.introspection.table_names()
    assert Book.objects.count() == 7
"""


def test_plugin_leaves_databases_alone_without_the_app_in_installed_apps(
    kept_database: Project,
) -> None:
    kept_database.pytester.makepyfile(
        noapp_settings=NOT_IN_INSTALLED_APPS_SETTINGS,
        test_alone=LEAVES_THE_DATABASE_ALONE,
    )
    kept_database.settings = "noapp_settings"

    kept_database.run("--reuse-db", "--create-db").assert_outcomes(passed=1)
    kept_database.run("--reuse-db").assert_outcomes(passed=1)


def test_names_do_not_clash_with_django_test_migrations(project: Project) -> None:
    result = project.run("--fixtures")

    ours = "*/histfixtures/pytest_plugin.py:*"
    theirs = "*/django_test_migrations/contrib/pytest_plugin.py:*"
    for line in [
        f"migration_state -- {ours}",
        f"migration_state_factory -- {ours}",
        f"migration_data -- {ours}",
        f"migrator -- {theirs}",
        f"migrator_factory -- {theirs}",
    ]:
        result.stdout.fnmatch_lines([line])


# --- the migration_state fixture ------------------------------------------------------


def test_migration_state_needs_no_mark_and_leaves_the_latest_state(
    project: Project,
) -> None:
    project.pytester.makepyfile(
        test_states="""
        from helpers import at_latest


        def test_at_an_old_state(migration_state):
            apps = migration_state.migrate_to(("library", "0004_rename_book_title"))
            assert apps.get_model("library", "Author").objects.count() == 3
            assert not at_latest()


        def test_next_test_starts_at_the_latest_state(transactional_db):
            assert at_latest()
        """
    )

    result = project.run("-v")

    result.assert_outcomes(passed=2)


def test_data_migration_tests_in_both_styles(project: Project) -> None:
    project.pytester.makepyfile(
        test_data_migrations=f"""
        from histfixtures.testing import MigrationTestCase

        FIXTURE = {str(FIXTURES / "publisher_book_at_library_0008.json")!r}


        def test_copy_publisher_names(migration_state):
            migration_state.migrate_to(("library", "0008_book_publisher_name"))
            migration_state.load(FIXTURE)
            apps = migration_state.migrate_to(("library", "0009"))
            Book = apps.get_model("library", "Book")
            assert Book.objects.get(pk=10).publisher_name == "Orbit"
            assert Book.objects.get(pk=1).publisher_name == "Penguin Books"


        class WriterSlugs(MigrationTestCase):
            migrate_from = ("library", "0010_delete_publisher")
            migrate_to = ("library", "0011_writer_slug")

            def setUpBeforeMigration(self, apps):
                Writer = apps.get_model("library", "Writer")
                Writer.objects.create(pk=10, name="Ann Leckie")

            def test_slugs_are_filled(self):
                Writer = self.apps.get_model("library", "Writer")
                self.assertEqual(Writer.objects.get(pk=10).slug, "ann-leckie")
                self.assertEqual(Writer.objects.get(pk=3).slug, "chinua-achebe")


        class CopyPublisherNames(MigrationTestCase):
            migrate_from = ("library", "0008_book_publisher_name")
            migrate_to = ("library", "0009_copy_publisher_names")
            fixtures = [FIXTURE]

            def test_names_are_copied(self):
                Book = self.apps.get_model("library", "Book")
                self.assertEqual(Book.objects.get(pk=10).publisher_name, "Orbit")
        """
    )

    result = project.run()

    result.assert_outcomes(passed=3)


def test_bad_input_fails_the_test_and_leaves_the_database_usable(
    project: Project,
) -> None:
    project.pytester.makepyfile(
        test_bad=f"""
        from helpers import at_latest

        FIXTURE = {str(FIXTURES / "writer_slug_at_library_0008.json")!r}


        def test_unknown_state(migration_state):
            migration_state.migrate_to(("library", "0009_copy_publishers_names"))


        def test_fixture_that_does_not_fit(migration_state):
            migration_state.migrate_to(("library", "0008_book_publisher_name"))
            migration_state.load(FIXTURE)


        def test_app_without_migrations(migration_state):
            migration_state.migrate_to(("histfixtures", "0001_initial"))


        def test_next_test_has_a_usable_database(transactional_db):
            from library.models import Writer

            assert at_latest()
            Writer.objects.create(name="Usable", slug="usable")
        """
    )

    result = project.run()

    result.assert_outcomes(failed=3, passed=1)
    result.stdout.fnmatch_lines(
        [
            "*UnknownStateError: There is no migration state "
            "library.0009_copy_publishers_names.",
            "*hint: Did you mean library.0009_copy_publisher_names?*",
            "*UnknownFieldError*",
            "*migration state: library.0008_book_publisher_name",
            "*UnknownStateError: The app 'histfixtures' has no migrations.",
        ],
        consecutive=False,
    )


def test_second_database_with_a_router(project: Project) -> None:
    project.use_multidb()
    project.pytester.makepyfile(
        test_other="""
        import json

        import pytest

        from helpers import at_latest

        BOTH = pytest.mark.django_db(transaction=True, databases=["default", "other"])


        @BOTH
        def test_other_database_at_an_old_state(migration_state_factory, tmp_path):
            other = migration_state_factory("other")
            apps = other.migrate_to(("library", "0004_rename_book_title"))
            fixture = tmp_path / "authors.json"
            fixture.write_text(json.dumps([
                {"model": "library.author", "pk": 10, "fields": {"name": "Leckie"}},
                {"model": "auth.group", "pk": 10, "fields": {"name": "Editors"}},
            ]))

            result = other.load(str(fixture))

            assert (result.objects, result.skipped) == (1, 1)
            Author = apps.get_model("library", "Author")
            assert Author.objects.using("other").count() == 4
            assert not at_latest("other")
            assert at_latest("default")
            from library.models import Writer

            assert not Writer.objects.filter(pk=10).exists()


        @BOTH
        def test_other_database_is_back_at_the_latest_state():
            assert at_latest("other")


        def test_other_database_needs_the_mark(migration_state_factory):
            migration_state_factory("other")
        """
    )

    result = project.run()

    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*may not use the database 'other'. With pytest, mark it "
            "*databases=[[]'default'*"
        ]
    )


def test_misconfigured_migration_test_case_says_what_is_missing(
    project: Project,
) -> None:
    project.pytester.makepyfile(
        test_misconfigured="""
        from histfixtures.testing import MigrationTestCase


        class NoTarget(MigrationTestCase):
            migrate_from = ("library", "0008_book_publisher_name")

            def test_it(self):
                pass


        class WrongDatabase(MigrationTestCase):
            migrate_from = ("library", "0008_book_publisher_name")
            migrate_to = ("library", "0009_copy_publisher_names")
            database = "other"

            def test_it(self):
                pass
        """
    )

    result = project.run()

    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*ImproperlyConfigured: NoTarget must set migrate_to.",
            "*ImproperlyConfigured: WrongDatabase.database is 'other', *",
        ],
        consecutive=False,
    )


def test_works_next_to_django_test_migrations(project: Project) -> None:
    project.pytester.makepyfile(
        test_both_plugins="""
        from helpers import at_latest

        LIBRARY_0008 = ("library", "0008_book_publisher_name")
        LIBRARY_0009 = ("library", "0009_copy_publisher_names")


        def test_with_migrator(migrator):
            old = migrator.apply_initial_migration(LIBRARY_0008)
            Book = old.apps.get_model("library", "Book")
            assert Book.objects.count() == 7
            new = migrator.apply_tested_migration(LIBRARY_0009)
            Book = new.apps.get_model("library", "Book")
            assert Book.objects.get(pk=1).publisher_name == "Penguin Books"


        def test_with_migration_state(migration_state):
            apps = migration_state.migrate_to(("library", "0009_copy_publisher_names"))
            Book = apps.get_model("library", "Book")
            assert Book.objects.get(pk=3).publisher_name == "Gollancz"


        def test_with_migrator_again(migrator):
            assert at_latest()
            old = migrator.apply_initial_migration(("shop", "0004_order"))
            assert old.apps.get_model("shop", "Order").objects.count() == 0


        def test_with_both(migrator, migration_state):
            migrator.apply_initial_migration(("library", "0005_rename_author_writer"))
            apps = migration_state.migrate_to(("library", "0006_tag"))
            assert apps.get_model("library", "Tag").objects.count() == 0


        def test_both_left_the_latest_state(transactional_db):
            assert at_latest()
        """
    )

    result = project.run()

    result.assert_outcomes(passed=5)


# --- flushes, serialized rollback, --reuse-db -----------------------------------------

FLUSH_THEN_READ = """
import pytest
from django.test import TransactionTestCase

from histfixtures.testing import MigrationDataTestCase
from library.models import Book, Tag, Writer


def migration_data_is_there():
    return (
        Book.objects.count() == 7
        and Tag.objects.count() == 4
        and Writer.objects.get(pk=1).slug == "ursula-k-le-guin"
    )


class FlushesAfterItsTest(TransactionTestCase):
    def test_sees_the_migration_data(self):
        self.assertTrue(migration_data_is_there())


@pytest.mark.django_db(transaction=True)
def test_after_a_flush_the_data_is_gone():
    assert Book.objects.count() == 0


def test_migration_data_brings_it_back(migration_data):
    assert migration_data_is_there()
    Book.objects.all().delete()


def test_migration_state_in_between(migration_state):
    migration_state.migrate_to(("library", "0003_book_pages"))


class WithMigrationData(MigrationDataTestCase):
    def test_sees_the_migration_data(self):
        self.assertTrue(migration_data_is_there())
        Writer.objects.all().delete()

    def test_sees_it_again(self):
        self.assertTrue(migration_data_is_there())


@pytest.mark.django_db(transaction=True)
def test_after_them_the_data_is_gone_again():
    from django.contrib.contenttypes.models import ContentType

    assert Book.objects.count() == 0
    # As after any flush, post_migrate created the content types again.
    assert ContentType.objects.filter(app_label="library").exists()


def test_migration_data_once_more(migration_data):
    assert migration_data_is_there()
"""

SERIALIZED_ROLLBACK = """
import pytest
from django.test import TransactionTestCase

from library.models import Book, Tag


class SerializedRollback(TransactionTestCase):
    serialized_rollback = True

    def test_sees_the_migration_data(self):
        self.assertEqual(Book.objects.count(), 7)
        Book.objects.all().delete()

    def test_sees_it_again(self):
        self.assertEqual(Book.objects.count(), 7)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_serialized_rollback_mark():
    assert Book.objects.count() == 7
    assert Tag.objects.count() == 4
"""

READS_MIGRATION_DATA = """
from library.models import Book, Tag


def test_reads_the_migration_data(db):
    assert Book.objects.count() == 7
    assert Tag.objects.count() == 4
"""

FLUSHES = """
from django.test import TransactionTestCase


class Flushes(TransactionTestCase):
    def test_flushes_afterwards(self):
        pass
"""

KILLED = """
import os

from library.models import Book


def test_dies_with_an_emptied_database(transactional_db):
    Book.objects.all().delete()
    os._exit(3)
"""


def test_migration_data_comes_back_after_flushes(project: Project) -> None:
    project.pytester.makepyfile(test_flush=FLUSH_THEN_READ)

    result = project.run("-v")

    result.assert_outcomes(passed=8)


def test_serialized_rollback_keeps_the_migration_data(project: Project) -> None:
    project.pytester.makepyfile(test_serialized=SERIALIZED_ROLLBACK)

    result = project.run("-v")

    result.assert_outcomes(passed=3)


def test_reuse_db_keeps_the_migration_data_from_run_to_run(
    kept_database: Project,
) -> None:
    kept_database.pytester.makepyfile(
        test_flushes=FLUSHES, test_reads=READS_MIGRATION_DATA
    )
    kept_database.pytester.makepyfile(test_flush_then_read=FLUSH_THEN_READ)

    kept_database.run("--reuse-db", "--create-db", "test_flushes.py").assert_outcomes(
        passed=1
    )
    kept_database.run("--reuse-db", "test_reads.py").assert_outcomes(passed=1)
    kept_database.run("--reuse-db", "test_flush_then_read.py").assert_outcomes(passed=8)
    kept_database.run("--reuse-db", "test_reads.py").assert_outcomes(passed=1)


def test_reuse_db_rebuilds_a_database_left_without_its_data(
    kept_database: Project,
) -> None:
    kept_database.pytester.makepyfile(
        test_flushes=FLUSHES, test_reads=READS_MIGRATION_DATA
    )
    without_plugin = ("-p", "no:histfixtures", "--reuse-db")
    kept_database.run(*without_plugin, "test_flushes.py").assert_outcomes(passed=1)
    # What happens without the plugin: the kept database is empty.
    kept_database.run(*without_plugin, "test_reads.py").assert_outcomes(failed=1)

    kept_database.run("--reuse-db", "test_reads.py").assert_outcomes(passed=1)


def test_reuse_db_after_a_killed_run_rebuilds_the_data(
    kept_database: Project,
) -> None:
    kept_database.pytester.makepyfile(
        test_killed=KILLED, test_reads=READS_MIGRATION_DATA
    )

    killed = kept_database.run("--reuse-db", "test_killed.py")
    assert killed.ret == 3

    kept_database.run("--reuse-db", "test_reads.py").assert_outcomes(passed=1)


# --- --nomigrations -------------------------------------------------------------------


def test_nomigrations_skips_migration_tests_and_warns(project: Project) -> None:
    project.pytester.makepyfile(
        test_nomigrations="""
        from histfixtures.testing import MigrationTestCase
        from library.models import Book


        def test_with_migration_state(migration_state):
            raise AssertionError("not reached")


        class WithMigrationTestCase(MigrationTestCase):
            migrate_from = ("library", "0008_book_publisher_name")
            migrate_to = ("library", "0009_copy_publisher_names")

            def test_it(self):
                raise AssertionError("not reached")


        def test_with_migration_data(migration_data):
            raise AssertionError("not reached")


        def test_tables_exist_without_the_migration_data(db):
            assert Book.objects.count() == 0
        """
    )

    result = project.run("--nomigrations", "-rs")

    result.assert_outcomes(passed=1, skipped=3)
    result.stdout.fnmatch_lines(
        [
            "*MigrationDataWarning: histfixtures: --nomigrations builds the test "
            "database*library.0002_load_initial_catalog, library.0007_load_tags*",
            "SKIPPED*histfixtures: migration_state needs migrations, and "
            "--nomigrations builds the test database*",
            "SKIPPED*Migrations of 'library' are disabled (pytest --nomigrations*",
            "SKIPPED*histfixtures: migration_data is the data that migrations "
            "create, and --nomigrations*",
        ],
        consecutive=False,
    )
