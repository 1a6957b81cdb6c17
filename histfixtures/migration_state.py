"""
Holding a test database at a migration state, for tests of data migrations.

The pytest plugin's ``migration_state`` fixture and
``histfixtures.testing.MigrationTestCase`` share this module:
``DatabaseMigrationState`` migrates a test database to any state of the
migration graph and back, and loads fixtures with that state's models.

The first ``migrate_to()`` of a test rebuilds the database from empty (the
tables that migrations created are dropped, then the migrations run up to
the state), so the test starts from exactly what a fresh deployment stopped
at that state would hold, ``LoadFixture`` data included, whatever earlier
tests left behind and whether or not the migrations after it can be
reversed. Later calls step forwards or
backwards from where the database is, as ``manage.py migrate app name`` does.
``reset()`` brings the database to the latest state again.

``migration_data`` and ``MigrationDataTestCase`` use ``restore_migration_data``,
and the pytest plugin keeps ``--reuse-db`` databases whole with
``KeptTestDatabase``.

Everything here drops tables: it refuses to run outside a test run.
"""

from __future__ import annotations

import io
import unittest
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, TypeAlias

from django.apps import apps as live_apps
from django.apps.registry import Apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.base.creation import TEST_DATABASE_PREFIX
from django.db.migrations import RunPython
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.graph import MigrationGraph
from django.db.migrations.loader import MIGRATIONS_MODULE_NAME, MigrationLoader
from django.db.migrations.migration import Migration
from django.db.migrations.recorder import MigrationRecorder
from django.db.migrations.state import ProjectState

from histfixtures import state_copies
from histfixtures.loading import load
from histfixtures.migration_names import (
    Node,
    UnknownStateError,
    find_node,
    split_label,
)
from histfixtures.operations import LoadFixture
from histfixtures.options import LoadOptions
from histfixtures.results import LoadResult
from histfixtures.runpython import FixtureLoader, FixtureUnloader

#: One target: ``("shop", "0003_book_price")``, a unique prefix of the name
#: (``("shop", "0003")``), ``("shop", None)`` or ``("shop", "zero")`` for
#: "no migration of shop", or the string ``"shop.0003_book_price"``.
Target: TypeAlias = "tuple[str, str | None] | str"
#: One target or a list of them.
Targets: TypeAlias = "Target | Sequence[Target]"

#: The table in which a kept (``--reuse-db``) test database records whether
#: it still holds the data that its migrations created.
REUSE_MARKER_TABLE = "histfixtures_kept_test_db"
CLEAN, IN_USE = "clean", "in use"


class MigrationState(Protocol):
    """
    A test database held at a migration state.

    The type of the pytest fixture ``migration_state`` and of
    ``MigrationTestCase.migration_state``.
    """

    @property
    def using(self) -> str:
        """The database alias."""
        ...

    @property
    def state(self) -> str:
        """The state as a label, e.g. ``"library.0008_book_publisher_name"``."""
        ...

    @property
    def apps(self) -> Apps:
        """The historical models of the state the database is at."""
        ...

    def migrate_to(self, targets: Targets) -> Apps:
        """Migrate to one node or a list of nodes; return that state's models."""
        ...

    def migrate_to_latest(self) -> Apps:
        """Apply every remaining migration; return the latest state's models."""
        ...

    def load(self, *labels: str, **options: Any) -> LoadResult:
        """Load fixtures with the models of the current state."""
        ...


class DatabaseMigrationState:
    """The implementation of :class:`MigrationState` for one database alias."""

    def __init__(self, using: str = DEFAULT_DB_ALIAS) -> None:
        self._using = using
        self._state: ProjectState | None = None
        # What self._state is the state of (see _applied_key).
        self._state_of: _AppliedKey | None = None
        self._label: str | None = None
        self._moved = False

    def __repr__(self) -> str:
        return f"<MigrationState {self._using!r} at {self._label or 'latest'}>"

    @property
    def using(self) -> str:
        return self._using

    @property
    def connection(self) -> BaseDatabaseWrapper:
        return connections[self._using]

    @property
    def state(self) -> str:
        if self._label is None:
            self._refresh()
        assert self._label is not None
        return self._label

    @property
    def apps(self) -> Apps:
        if self._state is None:
            self._refresh()
        assert self._state is not None
        return self._state.apps

    def check_access(self) -> None:
        """Fail clearly when the test may not use this database."""
        from django.test.testcases import (  # type: ignore[attr-defined]
            DatabaseOperationForbidden,
        )

        try:
            with self.connection.cursor():
                pass
        except DatabaseOperationForbidden as exc:
            raise DatabaseOperationForbidden(
                f"This test may not use the database {self._using!r}. With "
                "pytest, mark it @pytest.mark.django_db(transaction=True, "
                f"databases=['default', {self._using!r}]); in a test case, "
                f"add {self._using!r} to its databases."
            ) from exc

    def migrate_to(self, targets: Targets) -> Apps:
        executor = MigrationExecutor(self.connection)
        loader = executor.loader
        nodes = resolve_targets(loader, targets)
        excluded, required = _excluded_and_required(loader.graph, nodes)
        _check_consistent(nodes, excluded, required)
        _check_test_database(self._using)
        if not self._moved:
            # The first move of a test: start from an empty database, so the
            # state holds what migrations create and nothing else.
            self._moved = True
            plan = [m for m in _full_plan(executor) if _key(m) not in excluded]
            slot = "migrate_to " + ", ".join(sorted(_label(node) for node in nodes))
            _build_from_empty(self._using, plan, loader, slot)
            now_applied: set[Node] | None = {_key(m) for m in plan}
        else:
            applied = _applied(executor.loader)
            full = _full_plan(executor)
            backwards = [(m, True) for m in reversed(full) if _key(m) in excluded]
            backwards = [(m, b) for m, b in backwards if _key(m) in applied]
            if backwards:
                executor.migrate([], plan=backwards)
                executor = MigrationExecutor(self.connection)
                full = _full_plan(executor)
            forwards = [(m, False) for m in full if _key(m) in required - applied]
            if forwards:
                # The models of where the database is, if it is still there:
                # else the executor renders them, which takes long in a long
                # history. A copy: the test may still use the models.
                state = None
                if not backwards and self._state_of == _applied_key(loader):
                    assert self._state is not None
                    state = self._state.clone()
                executor.migrate([], plan=forwards, state=state)
            now_applied = None if backwards else applied | required
        _clear_caches()
        label = ", ".join(_label(node) for node in nodes)
        if now_applied is None or loader.replacements:
            # Which migrations a squashed one stands for may have changed.
            self._refresh(label=label)
        else:
            self._refresh(label=label, loader=loader, applied=now_applied)
        return self.apps

    def migrate_to_latest(self) -> Apps:
        _check_test_database(self._using)
        self._moved = True
        migrate_to_latest(self._using)
        self._refresh()
        return self.apps

    def load(self, *labels: str, **options: Any) -> LoadResult:
        load_options = LoadOptions.from_kwargs(options)
        if load_options.database not in (None, self._using):
            raise ValueError(
                f"This migration state is of the database {self._using!r}; "
                f"use migration_state_factory({load_options.database!r}) to "
                f"load into {load_options.database!r}."
            )
        return load(
            labels,
            apps=self.apps,
            options=load_options,
            using=self._using,
            state=self.state,
        )

    def reset(self) -> None:
        """Bring the database back to the latest state, if it was moved."""
        if not self._moved:
            return
        self._moved = False
        self._state = self._label = self._state_of = None
        if state_copies.can_copy(self._using):
            # From the copy after the first time: faster than migrating on.
            rebuild_test_database(self._using, refresh_snapshot=False)
            return
        try:
            migrate_to_latest(self._using)
        except Exception:
            # The test left data that a later migration rejects (perhaps on
            # purpose): start again from empty.
            rebuild_test_database(self._using, refresh_snapshot=False)

    def _refresh(
        self,
        label: str | None = None,
        loader: MigrationLoader | None = None,
        applied: set[Node] | None = None,
    ) -> None:
        """
        Take the state the database is at; ``loader`` and ``applied``: the
        migrations graph and the migrations applied now, if the caller knows.
        """
        if loader is None or applied is None:
            loader = MigrationLoader(self.connection, ignore_no_migrations=True)
            applied = _applied(loader)
        self._state = _rendered_state(loader, applied).clone()
        self._state_of = _applied_key(loader, applied)
        if label is None:
            leaves = _applied_leaves(loader, applied)
            label = ", ".join(_label(node) for node in leaves) or "no migrations"
        self._label = label


# --- resolving targets ---------------------------------------------------------


def resolve_targets(loader: MigrationLoader, targets: Targets) -> list[Node]:
    """Nodes for the targets; ``(app, "zero")`` for "none of app's migrations"."""
    if isinstance(targets, str) or _is_single(targets):
        items: list[Any] = [targets]
    elif isinstance(targets, Iterable):
        items = list(targets)
    else:
        raise TypeError(
            f"Expected a migration node or a list of them; got {targets!r}."
        )
    if not items:
        raise ValueError("Name at least one migration to migrate to.")
    return [_resolve(loader, item) for item in items]


def _is_single(target: Any) -> bool:
    """Whether ``target`` is one node: an app label has no dot in it."""
    return (
        isinstance(target, tuple)
        and len(target) == 2
        and isinstance(target[0], str)
        and "." not in target[0]
        and (target[1] is None or isinstance(target[1], str))
    )


def _resolve(loader: MigrationLoader, target: Any) -> Node:
    if isinstance(target, str):
        app_label, name = split_label(target)
    elif _is_single(target):
        app_label, name = target
    else:
        raise TypeError(
            f"A migration target is ('app_label', 'migration_name'); got {target!r}."
        )
    _skip_if_disabled(loader, app_label)
    return find_node(loader, app_label, name, zero=True)


def _skip_if_disabled(loader: MigrationLoader, app_label: str) -> None:
    """Skip the test when the app's migrations are turned off."""
    installed = any(c.label == app_label for c in live_apps.get_app_configs())
    if app_label in loader.migrated_apps or not installed:
        return
    module, explicit = loader.migrations_module(app_label)
    if module is None and explicit:
        # MIGRATION_MODULES = {app: None}, which pytest-django's
        # --nomigrations does for every app.
        raise unittest.SkipTest(
            f"Migrations of {app_label!r} are disabled (pytest --nomigrations, "
            "or MIGRATION_MODULES), so the test database has no migration "
            "states to go to."
        )


def _excluded_and_required(
    graph: MigrationGraph, nodes: list[Node]
) -> tuple[set[Node], set[Node]]:
    """Migrations that must not be applied, and those that must be."""
    excluded: set[Node] = set()
    required: set[Node] = set()
    for app_label, name in nodes:
        if name == "zero":
            starts = list(graph.root_nodes(app_label))
        else:
            required.update(graph.forwards_plan((app_label, name)))
            starts = [
                child
                for child in graph.node_map[(app_label, name)].children
                if child[0] == app_label
            ]
        for start in starts:
            excluded.update(graph.backwards_plan(start))
    return excluded, required


def _check_consistent(
    nodes: list[Node], excluded: set[Node], required: set[Node]
) -> None:
    clash = sorted(required & excluded)
    if clash:
        states = ", ".join(_label(node) for node in nodes)
        raise UnknownStateError(
            f"No database can be at {states} at once: that needs "
            f"{_label(clash[0])} both applied and unapplied.",
            state=states,
            hint="Migrate to the targets one at a time, or drop one of them.",
        )


def _label(node: Node) -> str:
    return f"{node[0]}.{node[1]}"


def _key(migration: Migration) -> Node:
    return (migration.app_label, migration.name)


def _full_plan(executor: MigrationExecutor) -> list[Migration]:
    graph = executor.loader.graph
    return [
        migration
        for migration, _ in executor.migration_plan(
            graph.leaf_nodes(), clean_start=True
        )
    ]


def _applied(loader: MigrationLoader) -> set[Node]:
    return {node for node in loader.applied_migrations if node in loader.graph.nodes}


def _applied_leaves(
    loader: MigrationLoader, applied: set[Node] | None = None
) -> list[Node]:
    """The applied migrations that no applied migration depends on."""
    if applied is None:
        applied = _applied(loader)
    graph = loader.graph
    return sorted(
        node
        for node in applied
        if not any(child in applied for child in graph.node_map[node].children)
    )


# The migrations applied, each with its class (a changed migration file
# that is imported again makes a new one), and the apps without migrations.
_AppliedKey: TypeAlias = "tuple[frozenset[tuple[Node, type]], frozenset[str]]"

# _AppliedKey -> the project state, its models rendered; the most recently
# used last, at most _RENDERED_STATES of them (each holds every model).
_rendered_states: dict[_AppliedKey, ProjectState] = {}
_RENDERED_STATES = 8


def _applied_key(
    loader: MigrationLoader, applied: set[Node] | None = None
) -> _AppliedKey:
    """What decides the project state of the loader's database."""
    if applied is None:
        applied = _applied(loader)
    return (
        frozenset((node, type(loader.graph.nodes[node])) for node in applied),
        frozenset(loader.unmigrated_apps),
    )


def _rendered_state(
    loader: MigrationLoader, applied: set[Node] | None = None
) -> ProjectState:
    """
    The project state of the migrations applied to the loader's database.

    Rendering the models of a long history costs more than restoring a copy
    of a database, so each state is rendered once per process and kept;
    callers that hand it out or change it take a clone. ``applied``: the
    migrations applied, if not those the loader read from the database.
    """
    if applied is None:
        applied = _applied(loader)
    key = _applied_key(loader, applied)
    state = _rendered_states.pop(key, None)
    if state is None:
        state = loader.project_state(_applied_leaves(loader, applied), at_end=True)
        state.clear_delayed_apps_cache()
        state.apps  # noqa: B018  Render the models now, once.
        while len(_rendered_states) >= _RENDERED_STATES:
            del _rendered_states[next(iter(_rendered_states))]
    _rendered_states[key] = state
    return state


# --- rebuilding ------------------------------------------------------------------


def _check_test_database(using: str) -> None:
    """Refuse to drop tables of a database that is not a test database."""
    from django.test import utils

    connection = connections[using]
    in_test_run = hasattr(getattr(utils, "_TestState", None), "saved_data")
    if not (in_test_run or _has_test_name(connection)):
        raise RuntimeError(
            f"Refusing to rebuild the database {using!r}: it is not a test "
            "database (run this from a test)."
        )


def _has_test_name(connection: BaseDatabaseWrapper) -> bool:
    """Whether the connection points to a test database (set up by a runner)."""
    name = str(connection.settings_dict["NAME"])
    if connection.vendor == "sqlite" and connection.is_in_memory_db():  # type: ignore[attr-defined]
        return True
    test_name = connection.settings_dict["TEST"].get("NAME")
    if test_name:
        return name == str(test_name)
    return name.startswith(TEST_DATABASE_PREFIX)


def drop_all_tables(using: str) -> None:
    """
    Drop the tables that migrations created, and the migrations record.

    That is every table of a model, of today's models or of those of the
    migration state the database is at (a model deleted by a later
    migration still has its table there). Tables Django knows nothing about
    (PostGIS' ``spatial_ref_sys``, a cache table) stay.
    """
    connection = connections[using]
    tables, _ = _tables_by_origin(connection)
    if not tables:
        return
    # The schema editor turns SQLite's foreign key enforcement off while it
    # is open; PostgreSQL's DROP TABLE cascades; MySQL needs the checks off.
    with connection.schema_editor() as editor, connection.constraint_checks_disabled():
        for table in tables:
            editor.execute(
                editor.sql_delete_table % {"table": editor.quote_name(table)}
            )


def _tables_by_origin(
    connection: BaseDatabaseWrapper, loader: MigrationLoader | None = None
) -> tuple[list[str], list[str]]:
    """
    The database's tables that migrations created, and the others.

    ``loader``: a loader of the database as it is now, if the caller has one.
    """
    with connection.cursor() as cursor:
        existing = set(
            connection.introspection.table_names(cursor, include_views=False)
        )
    if loader is None:
        loader = MigrationLoader(connection, ignore_no_migrations=True)
    converter = connection.introspection.identifier_converter
    known = {
        converter(table)
        for table in [
            *connection.introspection.django_table_names(include_views=False),
            *_state_tables(loader),
            MigrationRecorder.Migration._meta.db_table,
        ]
    }
    return (
        sorted(table for table in existing if converter(table) in known),
        sorted(table for table in existing if converter(table) not in known),
    )


def _state_tables(loader: MigrationLoader) -> list[str]:
    """The tables of the managed models of the loader's database's state."""
    models = _rendered_state(loader).apps.get_models(include_auto_created=True)
    return [Model._meta.db_table for Model in models if Model._meta.managed]


def _other_tables(using: str, loader: MigrationLoader | None = None) -> dict[str, int]:
    """
    The tables that migrations did not create, with their row counts.

    drop_all_tables leaves them as they are; a copy of the database holds
    them as they were when it was taken, so it is used only while they have
    the same names and sizes (histfixtures.state_copies).
    """
    connection = connections[using]
    counts = {}
    with connection.cursor() as cursor:
        for table in _tables_by_origin(connection, loader)[1]:
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
            counts[table] = cursor.fetchone()[0]
    return counts


def _sync_unmigrated_apps(
    connection: BaseDatabaseWrapper, loader: MigrationLoader
) -> None:
    """Create the tables of apps without migrations, as migrate --run-syncdb."""
    if not loader.unmigrated_apps:
        return
    from django.core.management.commands.migrate import Command

    command = Command(stdout=io.StringIO(), stderr=io.StringIO())
    command.verbosity = 0
    command.sync_apps(connection, loader.unmigrated_apps)


def migrate_to_latest(using: str) -> None:
    """``manage.py migrate`` as the test database's creation runs it."""
    call_command(
        "migrate", database=using, run_syncdb=True, interactive=False, verbosity=0
    )
    _clear_caches()


def _clear_caches() -> None:
    if live_apps.is_installed("django.contrib.contenttypes"):
        from django.contrib.contenttypes.models import ContentType

        ContentType.objects.clear_cache()


def rebuild_test_database(
    using: str = DEFAULT_DB_ALIAS, *, refresh_snapshot: bool = True
) -> None:
    """
    Drop every table of a test database and run all its migrations again.

    The database then holds exactly what its migrations create, as when the
    test runner created it: the data of ``LoadFixture`` and other data
    migrations included. With ``refresh_snapshot``, the snapshot that
    ``serialized_rollback`` restores is taken again.
    """
    _check_test_database(using)
    executor = MigrationExecutor(connections[using])
    key = state_copies.state_key(using, _full_plan(executor), purpose="rebuild")
    others = _other_tables(using, executor.loader)
    if state_copies.restore(using, key, others, slot="rebuild"):
        _clear_caches()
    else:
        drop_all_tables(using)
        migrate_to_latest(using)
        call_command("createcachetable", database=using, verbosity=0)
        state_copies.keep(using, key, _other_tables(using), slot="rebuild")
    connection = connections[using]
    if refresh_snapshot and hasattr(connection, "_test_serialized_contents"):
        connection._test_serialized_contents = (
            connection.creation.serialize_db_to_string()
        )


def _build_from_empty(
    using: str, migrations: list[Migration], loader: MigrationLoader, slot: str
) -> None:
    """
    Bring the database to what running ``migrations`` from empty leaves.

    From a copy of the database, if this process (or, when the run keeps
    its test database, an earlier run) built that state before
    (histfixtures.state_copies); else by dropping its tables and migrating,
    keeping a copy for the next time. ``loader``: one of the database as it
    is now; ``slot``: the state asked for.
    """
    key = state_copies.state_key(using, migrations, purpose="migrate_to")
    others = _other_tables(using, loader)
    if state_copies.restore(using, key, others, slot):
        return
    drop_all_tables(using)
    connection = connections[using]
    executor = MigrationExecutor(connection)
    _sync_unmigrated_apps(connection, executor.loader)
    if migrations:
        executor.migrate([], plan=[(migration, False) for migration in migrations])
    state_copies.keep(using, key, others, slot)


def take_snapshot(using: str) -> str:
    """The data of a test database, as Django's serialized rollback keeps it."""
    connection = connections[using]
    snapshot = getattr(connection, "_test_serialized_contents", None)
    if snapshot is None:
        snapshot = connection.creation.serialize_db_to_string()
    return str(snapshot)


def flush(using: str) -> None:
    """Empty every table, as TransactionTestCase does before a restore."""
    call_command(
        "flush",
        database=using,
        interactive=False,
        verbosity=0,
        reset_sequences=False,
        inhibit_post_migrate=True,
    )


def restore_migration_data(
    using: str = DEFAULT_DB_ALIAS, snapshot: str | None = None
) -> None:
    """
    Give a test database back exactly the data its migrations created.

    Every table is emptied, then ``snapshot`` is loaded: by default the one
    that Django takes for ``serialized_rollback`` when the test database is
    created. Without one, the database is rebuilt by running its migrations
    again (:func:`rebuild_test_database`), which is slower but needs no
    snapshot.
    """
    _check_test_database(using)
    connection = connections[using]
    if snapshot is None:
        snapshot = getattr(connection, "_test_serialized_contents", None)
    if snapshot is None:
        rebuild_test_database(using, refresh_snapshot=False)
        return
    flush(using)
    connection.creation.deserialize_db_from_string(snapshot)
    _reset_sequences(using)
    _clear_caches()


def _reset_sequences(using: str) -> None:
    """Move sequences past the restored primary keys (PostgreSQL, Oracle)."""
    connection = connections[using]
    models = [
        model
        for config in live_apps.get_app_configs()
        for model in router.get_migratable_models(config, using)
    ]
    statements = connection.ops.sequence_reset_sql(no_style(), models)
    if statements:
        with transaction.atomic(using=using), connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)


# --- kept test databases (pytest --reuse-db) ---------------------------------------


class KeptTestDatabase:
    """
    A test database kept between test runs, kept holding its migrations' data.

    A TransactionTestCase flushes every table after each test, so a kept
    database would start the next run without the data its migrations
    loaded, and a snapshot for ``serialized_rollback`` taken then would be
    empty too. ``start()`` rebuilds the database unless the previous run
    ended cleanly, and ``finish()`` puts the snapshot back at the end of the
    run. A one-row table records which of the two happened last, so a run
    that was killed is noticed by the next one.
    """

    def __init__(self, using: str) -> None:
        self.using = using
        self.snapshot: str | None = None

    @property
    def connection(self) -> BaseDatabaseWrapper:
        return connections[self.using]

    @classmethod
    def can_keep(cls, using: str) -> bool:
        connection = connections[using]
        if connection.settings_dict["TEST"].get("MIRROR"):
            return False
        if connection.vendor == "sqlite" and connection.is_in_memory_db():  # type: ignore[attr-defined]
            return False  # Gone at the end of the run: nothing to keep.
        return _has_test_name(connection)

    def start(self, *, created: bool) -> None:
        if not created and self.read_marker() != CLEAN:
            rebuild_test_database(self.using)
        self.snapshot = take_snapshot(self.using)
        self.write_marker(IN_USE)

    def finish(self) -> None:
        if self.snapshot is None:
            return
        try:
            if not _is_migrated(self.using):
                migrate_to_latest(self.using)
            restore_migration_data(self.using, self.snapshot)
        except Exception:
            # Whatever the last tests left, the next run needs the data that
            # the migrations create: build it again.
            rebuild_test_database(self.using, refresh_snapshot=False)
        self.write_marker(CLEAN)

    def _tables(self) -> list[str]:
        with self.connection.cursor() as cursor:
            return list(self.connection.introspection.table_names(cursor))

    def read_marker(self) -> str | None:
        if REUSE_MARKER_TABLE not in self._tables():
            return None
        table = self.connection.ops.quote_name(REUSE_MARKER_TABLE)
        with self.connection.cursor() as cursor:
            cursor.execute(f"SELECT state FROM {table}")
            row = cursor.fetchone()
        return None if row is None else str(row[0])

    def write_marker(self, state: str) -> None:
        table = self.connection.ops.quote_name(REUSE_MARKER_TABLE)
        exists = REUSE_MARKER_TABLE in self._tables()
        with transaction.atomic(using=self.using), self.connection.cursor() as cursor:
            if not exists:
                cursor.execute(f"CREATE TABLE {table} (state VARCHAR(16) NOT NULL)")
            cursor.execute(f"DELETE FROM {table}")
            cursor.execute(f"INSERT INTO {table} (state) VALUES (%s)", [state])


def _is_migrated(using: str) -> bool:
    executor = MigrationExecutor(connections[using])
    graph = executor.loader.graph
    return not executor.migration_plan(graph.leaf_nodes())


# --- finding LoadFixture operations -----------------------------------------------


class _OnDiskMigrationLoader(MigrationLoader):
    """A loader that sees the migration files even under --nomigrations."""

    @classmethod
    def migrations_module(cls, app_label: str) -> tuple[str | None, bool]:
        modules = settings.MIGRATION_MODULES
        if type(modules).__name__ == "DisableMigrations":
            config = live_apps.get_app_config(app_label)
            return f"{config.name}.{MIGRATIONS_MODULE_NAME}", False
        return super().migrations_module(app_label)


def migrations_loading_fixtures() -> list[str]:
    """``app.migration`` labels of the migrations that load fixtures."""
    loader = _OnDiskMigrationLoader(None, ignore_no_migrations=True)
    found = []
    for node, migration in loader.graph.nodes.items():
        for operation in migration.operations:
            if isinstance(operation, LoadFixture) or (
                isinstance(operation, RunPython)
                and isinstance(operation.code, FixtureLoader)
                and not isinstance(operation.code, FixtureUnloader)
            ):
                found.append(_label(node))
                break
    return sorted(found)
