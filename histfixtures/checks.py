"""
System checks for the ``LoadFixture`` operations of the migration graph.

Registered with the tag ``histfixtures``. They run where fixtures are
loaded or a check is asked for: ``manage.py check``, ``migrate`` and the
test runner (which runs the check command); never before
commands that write or serve (``dumpdata`` into a fixture file the shell has
just emptied, ``loaddata``, ``runserver``): a finding would stop them, and
an emptied fixture would be lost (see ``_wanted``). They never open a
database connection: the graph comes from the migration files, each
operation's state from replaying them, the fixtures from disk.

- ``histfixtures.E001``: the fixture cannot be found (or is ambiguous).
- ``histfixtures.E002``: the fixture cannot be parsed.
- ``histfixtures.E003``: it names a model that does not exist at that state.
- ``histfixtures.E004``: it names a field that does not exist at that state.
- ``histfixtures.E005``: it refers to objects by a natural key that cannot
  be resolved at that state.
- ``histfixtures.E006``: its content no longer matches the operation's pin.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

from django.apps.config import AppConfig
from django.core.checks import CheckMessage, Error
from django.db import DEFAULT_DB_ALIAS
from django.db.migrations.exceptions import BadMigrationError, NodeNotFoundError
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.migration import Migration
from django.db.migrations.state import ProjectState

from histfixtures.check_cache import ChecksCache
from histfixtures.commands import running_command
from histfixtures.discovery import STDIN, FixtureFile, find_fixture_files
from histfixtures.exceptions import (
    AmbiguousFixtureError,
    FixtureError,
    FixtureNotFoundError,
    MalformedFixtureError,
    UnknownFieldError,
    UnknownModelError,
)
from histfixtures.history import (
    adds_field,
    creates,
    describe_field_history,
    field_creations,
    model_creations,
    model_history,
    model_names,
)
from histfixtures.operations import LoadFixture
from histfixtures.types import RawObject
from histfixtures.validation import (
    RAW_FORMATS,
    Problem,
    find_problems,
    fixture_digest,
    read_raw_objects,
)

TAG = "histfixtures"

_NEW_MIGRATION = (
    "If the fixture was re-dumped for newer models, restore the version written "
    "for this migration (e.g. from version control) and load the new one in a "
    "new migration: manage.py makefixturemigration {app_label} {label}"
)


# For a migration not written yet (makefixturemigration): the fixture is
# older than the models at the end of the graph.
_UPGRADE = (
    "If the fixture was dumped for older models, bring it up to date with "
    "manage.py upgradefixture {label} (with --from app_label.migration_name "
    "if it does not record its state), or dump it again"
)


def check_where_fixtures_load(
    app_configs: Iterable[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """The registered check: check_load_fixtures, for the commands that want it."""
    if not _wanted():
        return []
    return check_load_fixtures(app_configs)


def check_load_fixtures(
    app_configs: Iterable[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Check every LoadFixture of the migration graph (of ``app_configs``)."""
    try:
        loader = MigrationLoader(None, ignore_no_migrations=True)
    except (BadMigrationError, NodeNotFoundError):
        return []  # Django's own commands report a broken graph.
    wanted = None if app_configs is None else {c.label for c in app_configs}
    cache = ChecksCache.from_settings(loader)
    messages: list[CheckMessage] = []
    for node in sorted(loader.graph.nodes):
        if wanted is not None and node[0] not in wanted:
            continue
        migration = loader.graph.nodes[node]
        for position, operation in enumerate(migration.operations):
            if isinstance(operation, LoadFixture):
                check = _OperationCheck(
                    loader, migration, position, operation, cache=cache
                )
                messages += check.run()
    return messages


def check_new_operation(
    loader: MigrationLoader, migration: Migration, operation: LoadFixture
) -> list[CheckMessage]:
    """
    The findings for the only operation of a migration not written yet.

    makefixturemigration refuses to write a migration these checks would
    then report, in their words.
    """
    state = loader.project_state(list(migration.dependencies), at_end=True)
    return _OperationCheck(loader, migration, 0, operation, state=state).run()


def placement_hint(
    operation: LoadFixture, exc: UnknownModelError | UnknownFieldError
) -> str | None:
    """
    E003's or E004's hint for an operation that failed when it ran.

    A LoadFixture placed before its model is made fails in migrate with the
    error of the model or field it cannot find; the hint says where the
    operation belongs, as the checks would have. None when the operation is
    not in the migrations on disk or its place is not the problem.
    """
    try:
        loader = MigrationLoader(None, ignore_no_migrations=True)
    except (BadMigrationError, NodeNotFoundError):
        return None
    for migration in loader.graph.nodes.values():
        for position, candidate in enumerate(migration.operations):
            if candidate is operation and exc.model is not None:
                check = _OperationCheck(loader, migration, position, operation)
                label = operation.labels[0]
                if len(operation.labels) > 1 and exc.fixture:
                    label = os.path.basename(exc.fixture)
                if isinstance(exc, UnknownFieldError) and exc.field:
                    return check.field_ordering_hint(exc.model, exc.field, label)
                return check.ordering_hint(exc.model, label)
    return None


def _wanted() -> bool:
    """
    Whether the command running the checks is one that loads or checks.

    Django tells a check function neither which command runs it nor, since
    6.1, whether the command named its databases (every check then gets
    them all): the command is found on the stack (see histfixtures.commands):
    ``migrate`` (or a subclass), or ``check``, which ``manage.py check``,
    ``call_command("check")`` and the test runner run.
    """
    from django.core.management.commands.check import Command as CheckCommand
    from django.core.management.commands.migrate import Command as MigrateCommand

    return isinstance(running_command(), CheckCommand | MigrateCommand)


class _OperationCheck:
    """The checks of one LoadFixture operation, fixture by fixture."""

    def __init__(
        self,
        loader: MigrationLoader,
        migration: Migration,
        position: int,
        operation: LoadFixture,
        state: ProjectState | None = None,
        cache: ChecksCache | None = None,
    ) -> None:
        self.loader = loader
        self.cache = cache
        self.migration = migration
        self.position = position
        self.operation = operation
        self._state = state
        self.name = f"{migration.app_label}.{migration.name}"

    @property
    def state(self) -> ProjectState:
        """The project state just before this operation."""
        if self._state is None:
            node = (self.migration.app_label, self.migration.name)
            state = self.loader.project_state(node, at_end=False)
            for operation in self.migration.operations[: self.position]:
                operation.state_forwards(self.migration.app_label, state)
            self._state = state
        return self._state

    def run(self) -> list[CheckMessage]:
        pins = self.operation.pinned_digests()
        messages: list[CheckMessage] = []
        for label in self.operation.labels:
            if label == STDIN:
                continue
            try:
                fixture = self.find(label)
                if label in pins:
                    messages += self.check_pin(label, fixture, pins[label])
                messages += self.check_content(label, fixture)
            except FixtureError as exc:
                messages.append(self.error(exc, label))
        return messages

    def find(self, label: str) -> FixtureFile:
        options = self.operation.options
        (fixture,) = find_fixture_files(
            [label],
            using=options.database or DEFAULT_DB_ALIAS,
            app_label=options.app_label,
            format=options.format,
            own_app=self.migration.app_label,
        )
        return fixture

    def error(self, exc: FixtureError, label: str) -> CheckMessage:
        """E001 (not found) or E002 (does not parse) from a FixtureError."""
        if isinstance(exc, FixtureNotFoundError | AmbiguousFixtureError):
            return Error(
                f"LoadFixture in {self.name} cannot find the fixture {label!r}: "
                f"{exc.message}",
                hint=(exc.hint + " " if exc.hint else "")
                + "Restore the file, or correct the label in the migration.",
                obj=self.migration,
                id="histfixtures.E001",
            )
        where = "" if exc.index is None else f" (object at index {exc.index})"
        return Error(
            f"The fixture {exc.fixture or label}, loaded by {self.name}, cannot "
            f"be parsed{where}: {exc.message}",
            hint=(exc.hint + " " if exc.hint else "")
            + f"Fix the file: manage.py loaddata {label} would fail the same way.",
            obj=self.migration,
            id="histfixtures.E002",
        )

    def check_pin(self, label: str, fixture: FixtureFile, pin: str) -> list[Error]:
        digest = fixture_digest(fixture)
        if digest == pin:
            return []
        return [
            Error(
                f"The fixture {fixture}, loaded by {self.name}, has changed since "
                "the migration was written: its SHA-256 no longer matches the "
                "pin of LoadFixture. "
                "Databases that already ran this migration will never see the "
                "change.",
                hint="Restore the file as shipped (e.g. from version control) and "
                "load the changes from a new fixture in a new migration: "
                f"manage.py makefixturemigration {self.migration.app_label} "
                f"NEW_FIXTURE. If no database has run this migration yet, pin the "
                f"new content instead: sha256={digest!r}.",
                obj=self.migration,
                id="histfixtures.E006",
            )
        ]

    def check_content(self, label: str, fixture: FixtureFile) -> list[Error]:
        if fixture.format not in RAW_FORMATS:
            return []  # A custom format: only Django's deserializer knows it.
        key = self.cache_key(fixture)
        if self.cache is not None and self.cache.is_clean(key):
            return []
        problems = find_problems(
            _read_guarded(fixture),
            self.state,
            self.operation.options,
            render=self.render,
        )
        if not problems and self.cache is not None:
            self.cache.mark_clean(key)
        return [self.problem_error(label, fixture, problem) for problem in problems]

    def cache_key(self, fixture: FixtureFile) -> str | None:
        """The fixture's key in the cache of clean checks, if it has one."""
        if self.cache is None or self.cache.directory is None:
            return None
        try:
            digest = fixture_digest(fixture)
        except Exception:
            return None  # Unreadable: the check itself says why.
        return self.cache.key(self.migration, self.position, fixture, digest)

    def render(self) -> Any:
        return self.state.apps

    def problem_error(
        self, label: str, fixture: FixtureFile, problem: Problem
    ) -> Error:
        objects = "an object" if problem.count == 1 else f"{problem.count} objects"
        where = f"{objects} (first at index {problem.index}, pk={problem.pk!r})"
        node = (self.migration.app_label, self.migration.name)
        advice = _NEW_MIGRATION if node in self.loader.graph.nodes else _UPGRADE
        new_migration = advice.format(app_label=self.migration.app_label, label=label)
        if problem.kind == "model":
            return Error(
                f"The fixture {fixture}, loaded by {self.name}, names the model "
                f"{problem.model!r}, which does not exist at that migration's "
                f"state: {where}.",
                hint=self.ordering_hint(problem.model, label)
                or f"{_model_history(problem.model)}{new_migration}.",
                obj=self.migration,
                id="histfixtures.E003",
            )
        if problem.kind == "field":
            field = str(problem.field)
            return Error(
                f"The fixture {fixture}, loaded by {self.name}, names the field "
                f"{field!r} of {problem.model}, which it does not have at "
                f"that migration's state: {where}.",
                hint=self.field_ordering_hint(problem.model, field, label)
                or f"{_field_history(problem.model, field)}"
                f"Its fields here are: {problem.hint}. {new_migration}.",
                obj=self.migration,
                id="histfixtures.E004",
            )
        return Error(
            f"The fixture {fixture}, loaded by {self.name}, refers to "
            f"{problem.hint} objects by natural key in {problem.model}."
            f"{problem.field}, but {problem.message}: {where}.",
            hint="Declare the key fields with LoadFixture(..., natural_keys="
            f'{{"{problem.hint}": ["field", ...]}}) or in '
            'settings.HISTFIXTURES["NATURAL_KEYS"], or dump the fixture with '
            "primary keys (manage.py dumpfixture without --natural-foreign).",
            obj=self.migration,
            id="histfixtures.E005",
        )

    def ordering_hint(self, model: str, label: str) -> str | None:
        """
        What to change when the model is made after this operation runs.

        A model created later in this migration, later in the history, or
        in a migration this one does not depend on is a mistake in where
        the operation is, not in the fixture: say where it belongs.
        """
        app_label, _, model_name = model.lower().partition(".")
        if app_label == self.migration.app_label:
            for operation in self.migration.operations[self.position + 1 :]:
                name = creates(operation, model_name)
                if name is not None:
                    return self.move_after(f"{app_label}.{name}", "created", operation)
        creations = model_creations(self.loader, app_label, model_name)
        return self.placement(model, "created", creations, label)

    def field_ordering_hint(self, model: str, field: str, label: str) -> str | None:
        """:meth:`ordering_hint` for a field the model gets after this operation."""
        app_label, _, model_name = model.lower().partition(".")
        if app_label == self.migration.app_label:
            names = model_names(self.loader, app_label, model_name)
            for operation in self.migration.operations[self.position + 1 :]:
                if adds_field(operation, names, field):
                    return self.move_after(f"{model}.{field}", "added", operation)
        creations = field_creations(self.loader, app_label, model_name, field)
        return self.placement(f"{model}.{field}", "added", creations, label)

    def move_after(self, what: str, made: str, operation: Any) -> str:
        return (
            f"{what} is {made} by the {type(operation).__name__} after this "
            f"LoadFixture in {self.name}: move the LoadFixture after it."
        )

    def placement(
        self, what: str, made: str, creations: list[tuple[str, str]], label: str
    ) -> str | None:
        """Where the operation belongs, when what makes ``what`` runs after it."""
        graph = self.loader.graph
        node = (self.migration.app_label, self.migration.name)
        written = node in graph.nodes
        # A migration not written yet (makefixturemigration) has only its
        # dependencies in the graph.
        ancestors = {
            ancestor
            for parent in ([node] if written else self.migration.dependencies)
            for ancestor in graph.forwards_plan(parent)
        }
        if not creations or any(c in ancestors for c in creations):
            # It existed before and was renamed or removed since.
            return None
        first = creations[0]
        if written and node in graph.forwards_plan(first):
            return (
                f"{what} is {made} by {first[0]}.{first[1]}, which comes after "
                f"{self.name}: load the fixture in a migration after it "
                f"(manage.py makefixturemigration {self.migration.app_label} "
                f"{label} writes one after the app's latest migration)."
            )
        return (
            f"{what} is {made} by {first[0]}.{first[1]}, which {self.name} does "
            f"not depend on: add {first!r} to its dependencies."
        )


def _read_guarded(fixture: FixtureFile) -> Iterator[RawObject]:
    """
    The fixture's objects; any error of reading them is a FixtureError.

    The readers raise FixtureErrors for what they know to be bad input; this
    is the net for the rest, because an exception out of a system check
    stops every manage.py command, not just the ones that load the fixture.
    """
    objects = read_raw_objects(fixture)
    index = 0
    while True:
        try:
            obj = next(objects)
        except StopIteration:
            return
        except FixtureError:
            raise
        except RecursionError as exc:
            raise MalformedFixtureError(
                "It is nested too deeply (lists or mappings inside one another).",
                fixture=str(fixture),
                index=index,
            ) from exc
        except Exception as exc:
            raise MalformedFixtureError(
                f"It cannot be read: {type(exc).__name__}: {exc}",
                fixture=str(fixture),
                index=index,
            ) from exc
        yield obj
        index += 1


def _field_history(label: str, field: str) -> str:
    app_label, _, model_name = label.partition(".")
    return describe_field_history(app_label, model_name, field)


def _model_history(label: str) -> str:
    app_label, _, model_name = label.partition(".")
    events = model_history(app_label, model_name.lower())
    return f"{label}: {'; '.join(events)}. " if events else ""
