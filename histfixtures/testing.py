"""
Testing data migrations, and tests that need the data migrations created.

``MigrationTestCase`` holds the test database at ``migrate_from``, loads the
``fixtures`` there with that state's models, lets ``setUpBeforeMigration()``
add data, migrates to ``migrate_to`` and hands the test ``self.apps``. After
each test the database is back at the latest state. pytest users have the
same through the ``migration_state`` fixture (``histfixtures.pytest_plugin``).

``MigrationDataTestCase`` starts every test with exactly the data that the
migrations created (``LoadFixture`` data included), also after other
``TransactionTestCase`` tests emptied the tables; pytest users have the
``migration_data`` fixture.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from django.apps.registry import Apps
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.test import TransactionTestCase

from histfixtures.migration_names import UnknownStateError
from histfixtures.migration_state import (
    DatabaseMigrationState,
    MigrationState,
    Targets,
    flush,
    rebuild_test_database,
    restore_migration_data,
)

__all__ = [
    "MigrationDataTestCase",
    "MigrationState",
    "MigrationTestCase",
    "UnknownStateError",
    "rebuild_test_database",
    "restore_migration_data",
]


class MigrationTestCase(TransactionTestCase):
    """
    A test of what migrations do to data, from one migration state to another.

    Set ``migrate_from`` and ``migrate_to`` (a node such as
    ``("library", "0008_book_publisher_name")`` or a list of nodes). Before
    each test the database is rebuilt up to ``migrate_from``, ``fixtures``
    are loaded with the historical models of that state (by histfixtures,
    not by Django: Django's own fixture loading, which uses today's models,
    never sees them), ``setUpBeforeMigration(apps)`` runs, and the database
    is migrated to ``migrate_to``, whose models are ``self.apps``.
    """

    #: The state to prepare data at.
    migrate_from: ClassVar[Targets]
    #: The state to test.
    migrate_to: ClassVar[Targets]
    #: Options for loading ``fixtures`` (those of ``LoadFixture``).
    fixture_options: ClassVar[Mapping[str, Any]] = {}
    #: The database alias to migrate; it must be one of ``databases``.
    database: ClassVar[str] = DEFAULT_DB_ALIAS

    #: Fixtures loaded at ``migrate_from``, as class attribute ``fixtures``.
    migrate_from_fixtures: ClassVar[Sequence[str]] = ()

    #: The models of ``migrate_from`` and of ``migrate_to``.
    old_apps: Apps
    apps: Apps
    #: The database's migration state, to go further within a test.
    migration_state: MigrationState

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Take `fixtures` over before Django's TransactionTestCase, which
        # would load them with the current models, can see them.
        fixtures = cls.__dict__.get("fixtures")
        if fixtures is not None:
            if isinstance(fixtures, str):
                raise ImproperlyConfigured(
                    f"{cls.__qualname__}.fixtures must be a list of labels."
                )
            cls.migrate_from_fixtures = tuple(fixtures)
            cls.fixtures = None

    def setUp(self) -> None:
        super().setUp()
        cls = type(self)
        missing = [
            name for name in ("migrate_from", "migrate_to") if not hasattr(cls, name)
        ]
        if missing:
            raise ImproperlyConfigured(
                f"{cls.__qualname__} must set {' and '.join(missing)}."
            )
        if self.databases != "__all__" and self.database not in self.databases:
            raise ImproperlyConfigured(
                f"{cls.__qualname__}.database is {self.database!r}, which is not "
                f"in its databases ({sorted(self.databases)!r})."
            )
        state = DatabaseMigrationState(self.database)
        self.migration_state = state
        self.addCleanup(state.reset)
        self.old_apps = state.migrate_to(self.migrate_from)
        if self.migrate_from_fixtures:
            state.load(*self.migrate_from_fixtures, **self.fixture_options)
        self.setUpBeforeMigration(self.old_apps)
        self.apps = state.migrate_to(self.migrate_to)

    def setUpBeforeMigration(self, apps: Apps) -> None:
        """Prepare data with the models of ``migrate_from``; does nothing here."""


class MigrationDataTestCase(TransactionTestCase):
    """
    A TransactionTestCase whose every test starts with its migrations' data.

    It is Django's ``serialized_rollback = True`` made robust: before the
    snapshot taken when the test database was created is loaded again, the
    tables are emptied, so the rows that an earlier ``TransactionTestCase``'s
    flush recreated (content types and permissions, with new primary keys)
    cannot collide with it. Combine it with other test case classes by
    inheritance: ``class Tests(MigrationDataTestCase, LiveServerTestCase)``.
    """

    serialized_rollback = True

    @classmethod
    def _fixture_setup(cls) -> None:
        for alias in _aliases(cls.databases):
            if hasattr(connections[alias], "_test_serialized_contents"):
                flush(alias)
            else:
                # The runner took no snapshot of this database.
                restore_migration_data(alias)
        super()._fixture_setup()  # type: ignore[misc]

    def _fixture_teardown(self) -> None:
        # Flush as a plain TransactionTestCase does, post_migrate included,
        # so the next test finds the content types and permissions it would
        # find after any other flush; the next restore flushes first anyway.
        self.serialized_rollback = False
        super()._fixture_teardown()  # type: ignore[misc]


def _aliases(databases: Any) -> list[str]:
    names = list(connections) if databases == "__all__" else list(databases)
    return [
        alias
        for alias in names
        if not connections[alias].settings_dict["TEST"].get("MIRROR")
    ]
