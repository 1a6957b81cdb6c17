"""
A throwaway database to migrate and load fixtures on.

``upgradefixture`` never touches the project's own databases: it adds a
database alias at runtime, an in-memory SQLite database by default, or a new
database on the server of an existing alias (created and dropped as the test
runner creates its test databases), and removes the alias afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.core.management.sql import (
    emit_post_migrate_signal,
    emit_pre_migrate_signal,
)
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.migration import Migration
from django.db.migrations.state import ProjectState

Node = tuple[str, str]

SQLITE = "django.db.backends.sqlite3"
ALIAS_PREFIX = "histfixtures_scratch"


@contextmanager
def scratch_database(template: str | None = None) -> Iterator[str]:
    """
    Yield the alias of a new, empty database; remove it on exit.

    Without ``template`` the database is in-memory SQLite. With the alias of
    a configured database, a new database is created next to it (same
    engine, server and credentials) and dropped on exit.
    """
    alias = f"{ALIAS_PREFIX}_{uuid.uuid4().hex[:8]}"
    settings_dict = _settings_for(alias, template)
    connections.settings[alias] = settings_dict
    created: str | None = None
    try:
        if settings_dict["ENGINE"] != SQLITE:
            created = _create_database(connections[alias])
        yield alias
    finally:
        _remove(alias, created)


def _settings_for(alias: str, template: str | None) -> dict[str, Any]:
    base: dict[str, Any] = {"ENGINE": SQLITE, "NAME": ":memory:"}
    if template is not None:
        source = connections.settings[template]
        if source["ENGINE"] != SQLITE:
            base = {**source, "TEST": {**source.get("TEST", {}), "NAME": alias}}
    # configure_settings() fills in every default setting; it requires a
    # "default" entry, which is passed along and discarded.
    configured: dict[str, Any] = connections.configure_settings(
        {"default": {}, alias: dict(base)}
    )[alias]
    return configured


def _create_database(connection: BaseDatabaseWrapper) -> str:
    """Create the database as the test runner does, without migrating it."""
    name: str = connection.creation._create_test_db(  # type: ignore[attr-defined]
        verbosity=0, autoclobber=True, keepdb=False
    )
    connection.close()
    connection.settings_dict["NAME"] = name
    return name


def _remove(alias: str, created: str | None) -> None:
    connection = connections[alias]
    # SQLite's close() keeps an in-memory database open on purpose; the
    # base implementation really closes it, which discards it.
    BaseDatabaseWrapper.close(connection)
    try:
        if created is not None:
            connection.creation._destroy_test_db(  # type: ignore[attr-defined]
                created, verbosity=0
            )
            connection.close()
    finally:
        del connections[alias]
        del connections.settings[alias]


class MigrationFailed(Exception):
    """A migration raised on the scratch database; the cause is chained."""

    def __init__(self, migration: Migration | None) -> None:
        self.migration = migration
        label = "?" if migration is None else f"{migration.app_label}.{migration.name}"
        super().__init__(label)
        self.label = label


def migrate(alias: str, targets: Sequence[Node]) -> tuple[ProjectState, list[Node]]:
    """
    Migrate ``alias`` forwards to ``targets``, as ``manage.py migrate`` does.

    Sends pre_migrate and post_migrate (so content types and permissions are
    created as on any database). Returns the state reached and the
    migrations applied, in order. A failing migration raises
    MigrationFailed, naming it, with the error chained.
    """
    current: list[Migration | None] = [None]
    executor = MigrationExecutor(connections[alias], _tracker(current))
    plan = executor.migration_plan(list(targets))
    backwards = [migration for migration, backward in plan if backward]
    if backwards:
        raise ValueError(f"Unexpected backwards migrations: {backwards}.")
    # As the migrate command builds it (a private method, stable since 1.10).
    pre_state = executor._create_project_state(  # type: ignore[attr-defined]
        with_applied_migrations=True
    )
    emit_pre_migrate_signal(0, False, alias, apps=pre_state.apps, plan=plan)
    try:
        state = executor.migrate(list(targets), plan=plan, state=pre_state.clone())
    except Exception as exc:
        raise MigrationFailed(current[0]) from exc
    state.clear_delayed_apps_cache()
    emit_post_migrate_signal(0, False, alias, apps=state.apps, plan=plan)
    return state, [(m.app_label, m.name) for m, _ in plan]


def _tracker(current: list[Migration | None]) -> Callable[..., None]:
    def progress(
        action: str, migration: Migration | None = None, fake: bool = False
    ) -> None:
        if action == "apply_start":
            current[0] = migration

    return progress
