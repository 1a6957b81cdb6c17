"""
The histfixtures pytest plugin (registered through the ``pytest11`` entry point).

Being installed is not enough for it to act. Its fixtures need pytest-django
(``pip install "histfixtures[pytest]"``), and a test that asks for one without
it fails with a message that says so. Its session-wide work on the test
databases (the kept database under ``--reuse-db``, the ``--nomigrations``
warning) happens only when ``"histfixtures"`` is in ``INSTALLED_APPS``;
without it, the plugin touches a database only for a test that uses its
fixtures. It adds:

* ``migration_state``: the default database held at any migration state for
  the test, then brought back to the latest state;
* ``migration_state_factory``: the same for another database alias;
* ``migration_data``: the test starts with exactly the data that the
  migrations created (``LoadFixture`` data included), after any flush;
* under ``--reuse-db``, a kept test database that keeps that data from one
  run to the next;
* under ``--nomigrations``, a warning that this data is not in the test
  database, and a skip for the tests that need migrations.

pytest imports this module before pytest-django sets Django up, so it
imports nothing of Django itself: every Django import is inside a fixture or
a function that a fixture calls, and the ``histfixtures`` package imports
its public names lazily.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from histfixtures.migration_state import MigrationState

NOMIGRATIONS_REASON = (
    "histfixtures: migration_state needs migrations, and --nomigrations builds "
    "the test database from the current models without them"
)


#: Snapshots of the test databases' data, by alias, for ``migration_data``.
SNAPSHOTS = pytest.StashKey[dict[str, str]]()


NOMIGRATIONS_DATA_REASON = (
    "histfixtures: migration_data is the data that migrations create, and "
    "--nomigrations builds the test database without running them"
)


#: The fixtures of this plugin; each needs pytest-django.
FIXTURES = ("migration_state", "migration_state_factory", "migration_data")


class MigrationDataWarning(UserWarning):
    """The test database lacks the data that its migrations would have loaded."""


def _pytest_django_is_active(config: pytest.Config) -> bool:
    manager = config.pluginmanager
    if manager.has_plugin("django"):
        return True
    return any(
        getattr(plugin, "__name__", None) == "pytest_django.plugin"
        for plugin in manager.get_plugins()
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """
    Fail a test that uses our fixtures without pytest-django, saying why.

    Without this, pytest reports "fixture 'transactional_db' not found", a
    fixture the test never asked for.
    """
    used = [name for name in FIXTURES if name in getattr(item, "fixturenames", ())]
    if not used or _pytest_django_is_active(item.config):
        return
    if find_spec("pytest_django") is None:
        why = (
            "pytest-django, which is not installed. Install it with: "
            'pip install "histfixtures[pytest]"'
        )
    else:
        why = "pytest-django, which is installed but not active (-p no:django?)"
    pytest.fail(f"histfixtures: the {used[0]} fixture needs {why}", pytrace=False)


@pytest.fixture
def migration_state_factory(
    request: pytest.FixtureRequest,
    transactional_db: None,
    django_db_use_migrations: bool,
) -> Callable[..., MigrationState]:
    """
    Return a function of a database alias that returns its migration state.

    The test needs that alias among its databases:
    ``@pytest.mark.django_db(transaction=True, databases=["default", "other"])``.
    Every database that was moved is brought back to the latest state after
    the test.
    """
    if not django_db_use_migrations:
        pytest.skip(NOMIGRATIONS_REASON)
    from django.db import DEFAULT_DB_ALIAS

    from histfixtures.migration_state import DatabaseMigrationState

    states: dict[str, DatabaseMigrationState] = {}

    def factory(using: str = DEFAULT_DB_ALIAS) -> MigrationState:
        if using not in states:
            state = DatabaseMigrationState(using)
            state.check_access()
            request.addfinalizer(state.reset)
            states[using] = state
        return states[using]

    return factory


@pytest.fixture
def migration_state(
    migration_state_factory: Callable[..., MigrationState],
) -> MigrationState:
    """
    The default database, to be held at a migration state in this test.

    ``migration_state.migrate_to(("shop", "0003_book_price"))`` migrates the
    test database and returns that state's ``apps``;
    ``migration_state.load("books")`` loads fixtures with those models. After
    the test the database is back at the latest state.
    """
    return migration_state_factory()


@pytest.fixture
def migration_data(
    request: pytest.FixtureRequest,
    transactional_db: None,
    django_db_use_migrations: bool,
) -> None:
    """
    Start the test with exactly the data that the migrations created.

    ``LoadFixture`` data included, whatever earlier tests did: a
    ``TransactionTestCase`` (or ``transactional_db``) empties every table
    after its test. The test is transactional, and its databases (``default``
    unless its ``django_db`` mark lists others) are emptied and refilled
    from a snapshot taken when the test databases were set up.
    """
    if not django_db_use_migrations:
        pytest.skip(NOMIGRATIONS_DATA_REASON)
    from django.db import DEFAULT_DB_ALIAS, connections

    from histfixtures.migration_state import restore_migration_data

    snapshots = request.config.stash.get(SNAPSHOTS, {})
    databases: Any = None
    marker = request.node.get_closest_marker("django_db")
    if marker is not None:
        databases = marker.kwargs.get("databases")
        if databases is None and len(marker.args) > 2:
            databases = marker.args[2]
    if databases is None:
        aliases = [DEFAULT_DB_ALIAS]
    elif databases == "__all__":
        aliases = list(connections)
    else:
        aliases = list(databases)
    for alias in aliases:
        if not connections[alias].settings_dict["TEST"].get("MIRROR"):
            restore_migration_data(alias, snapshots.get(alias))


@pytest.fixture(scope="session", autouse=True)
def _histfixtures_test_databases(request: pytest.FixtureRequest) -> Iterator[None]:
    """
    Prepare the test databases once, before any test runs.

    With histfixtures in INSTALLED_APPS: under --nomigrations, warn that the
    migrations' data is missing; under --reuse-db, make sure a kept database
    holds its migrations' data, and put it back at the end. When a test uses
    ``migration_data`` (whether or not histfixtures is in INSTALLED_APPS),
    take the snapshot it restores while the data is still intact.
    """
    aliases = _database_aliases(request)
    if not aliases:
        yield
        return
    installed = _histfixtures_is_installed()
    snapshot = any(
        "migration_data" in getattr(item, "fixturenames", ())
        for item in request.session.items
    )
    if not (installed or snapshot):
        # Installed in the environment only: leave the databases alone.
        yield
        return
    if not request.getfixturevalue("django_db_use_migrations"):
        if installed:
            _warn_nomigrations()
        yield
        return
    keepdb = installed and bool(request.getfixturevalue("django_db_keepdb"))
    if not (keepdb or snapshot):
        yield
        return
    created = bool(request.getfixturevalue("django_db_createdb"))
    request.getfixturevalue("django_db_setup")
    blocker = request.getfixturevalue("django_db_blocker")
    from histfixtures.migration_state import KeptTestDatabase, take_snapshot
    from histfixtures.state_copies import note_kept_test_database

    kept = []
    with blocker.unblock():
        if keepdb:
            for alias in sorted(aliases):
                if KeptTestDatabase.can_keep(alias):
                    # Kept even when --create-db created it again.
                    note_kept_test_database(alias)
                    database = KeptTestDatabase(alias)
                    database.start(created=created)
                    kept.append(database)
        if snapshot:
            request.config.stash[SNAPSHOTS] = {
                alias: take_snapshot(alias) for alias in sorted(aliases)
            }
    yield
    with blocker.unblock():
        for database in kept:
            database.finish()


def _database_aliases(request: pytest.FixtureRequest) -> set[str]:
    """The aliases pytest-django sets up for the tests of this session."""
    if not _pytest_django_is_active(request.config):
        return set()
    from pytest_django.lazy_django import django_settings_is_configured

    if not django_settings_is_configured():
        return set()
    try:
        from pytest_django.fixtures import _get_databases_for_setup
    except ImportError:  # pragma: no cover - a future pytest-django
        return {"default"}
    aliases, _serialized = _get_databases_for_setup(request.session.items)
    return set(aliases)


def _histfixtures_is_installed() -> bool:
    """Whether "histfixtures" (or its AppConfig) is in INSTALLED_APPS."""
    from django.apps import apps
    from django.core.exceptions import AppRegistryNotReady

    try:
        return apps.is_installed("histfixtures")
    except AppRegistryNotReady:  # pragma: no cover - pytest-django sets it up
        from django.conf import settings

        return any(
            entry == "histfixtures" or entry.startswith("histfixtures.")
            for entry in settings.INSTALLED_APPS
        )


def _warn_nomigrations() -> None:
    from histfixtures.migration_state import migrations_loading_fixtures

    loading = migrations_loading_fixtures()
    if not loading:
        return
    warnings.warn(
        MigrationDataWarning(
            "histfixtures: --nomigrations builds the test database from the "
            "current models without running migrations, so it holds none of "
            f"the data that {_count(loading)} load "
            f"({', '.join(loading)}). Tests that read that data will fail, "
            "and tests that use migration_state or MigrationTestCase are "
            "skipped; run them without --nomigrations."
        ),
        stacklevel=1,
    )


def _count(labels: list[Any]) -> str:
    return "1 migration" if len(labels) == 1 else f"{len(labels)} migrations"
