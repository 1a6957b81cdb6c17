"""
``manage.py loadfixture``: Django's ``loaddata``, plus ``--state``,
``--batch-size``, a progress line, and bulk loading.

Without ``--state`` the command loads with the live models and gives what
loaddata gives: the same rows, messages, warnings and errors. It loads in
bulk through histfixtures' engine when that cannot differ from loaddata, and
otherwise runs loaddata's own code (it subclasses Django's command): when a
model being loaded has ``pre_save``, ``post_save`` or ``m2m_changed``
receivers (loaddata sends those signals per object, with ``raw=True``), at
verbosity 2 and above (loaddata reports each fixture file and object), for
standard input (which can be read only once), for a file holding no objects
(loaddata warns), and after any error, so that the error reported is
loaddata's own. Stepping aside rolls back whatever the bulk load wrote.

With ``--state app_label.migration_name`` the fixtures go through the engine
with the historical models of that state, for a database held at that state.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import Any

from django.apps import apps as live_apps
from django.apps.registry import Apps
from django.core.management.base import CommandError, CommandParser
from django.core.management.commands import loaddata
from django.core.management.utils import parse_apps_and_model_labels
from django.core.serializers.base import DeserializationError, DeserializedObject
from django.db import DatabaseError, connections, models, transaction
from django.db.migrations.exceptions import BadMigrationError, NodeNotFoundError
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.models.signals import m2m_changed, post_save, pre_save

from histfixtures.exceptions import FixtureError
from histfixtures.interruption import (
    ROLLED_BACK,
    mark_rolled_back,
    rolled_back,
    silence,
)
from histfixtures.loading import load
from histfixtures.migrate_output import loaded_line
from histfixtures.migration_names import parse_option
from histfixtures.operations import LoadFixture
from histfixtures.options import LoadOptions
from histfixtures.progress import FileProgress, Progress
from histfixtures.results import LoadResult
from histfixtures.sequences import SequenceSnapshot

#: The state that a load with the live models reports.
CURRENT_MODELS = "the current models"


class _StepAside(Exception):
    """The bulk load cannot give what loaddata gives; loaddata's code runs."""


def positive_int(value: str) -> int:
    """argparse type of ``--batch-size``."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value!r}")
    return number


class Command(loaddata.Command):
    help = (
        "Installs the named fixture(s) in the database, with the current models "
        "or, with --state, with the historical models of a migration state."
    )

    # The progress line of the label being loaded (live mode), if any.
    _progress: Progress | None = None
    _show_progress = False

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--state",
            metavar="APP_LABEL.MIGRATION_NAME",
            help=(
                "Load with the historical models of this migration state, for a "
                "database held at that state. A unique prefix of the migration "
                "name is enough, as for migrate (library.0002)."
            ),
        )
        parser.add_argument(
            "--batch-size",
            type=positive_int,
            help="Objects written per query when loading in bulk (default 1000).",
        )

    def handle(self, *fixture_labels: str, **options: Any) -> None:
        try:
            self.load_fixtures(fixture_labels, options)
        except KeyboardInterrupt as interrupt:
            if getattr(self, "_called_from_command_line", False) and rolled_back(
                interrupt
            ):
                # One line instead of a traceback; the process still ends as
                # an interrupted Python program does (see interruption.py).
                self.stderr.write(f"Interrupted: {ROLLED_BACK}.")
                self.stderr.flush()
                silence(interrupt)
            raise

    def load_fixtures(
        self, fixture_labels: tuple[str, ...], options: dict[str, Any]
    ) -> None:
        batch_size = options.get("batch_size")
        if batch_size is not None and (
            isinstance(batch_size, bool)
            or not isinstance(batch_size, int)
            or batch_size < 1
        ):
            raise CommandError(
                f"--batch-size must be a positive integer, got {batch_size!r}."
            )
        self._show_progress = options["verbosity"] >= 1 and self.stderr.isatty()
        state = options.get("state")
        if state is None:
            try:
                if not self.load_in_bulk(fixture_labels, options):
                    self.load_with_loaddata(fixture_labels, options)
            except (DeserializationError, DatabaseError) as exc:
                if getattr(self, "_called_from_command_line", False):
                    # loaddata's message, and the way out, not its traceback.
                    raise CommandError(f"{exc}\n{state_hint(fixture_labels)}") from exc
                raise  # loaddata's own exception, for code that catches it.
            return
        try:
            self.load_at_state(fixture_labels, state, options)
        except FixtureError as exc:
            if getattr(self, "_called_from_command_line", False):
                # A message, not a traceback (--traceback still shows it).
                raise CommandError(str(exc)) from exc
            raise

    # --- live models, in bulk ---------------------------------------------------

    def load_in_bulk(
        self, fixture_labels: tuple[str, ...], options: dict[str, Any]
    ) -> bool:
        """
        Load with the live models through the engine; return whether it did.

        It returns False, having written nothing, wherever loaddata's own
        code must run instead (see the module docstring).
        """
        if options["verbosity"] >= 2 or loaddata.READ_STDIN in fixture_labels:
            return False
        # loaddata's errors for --exclude labels that name nothing.
        parse_apps_and_model_labels(options["exclude"])
        using = options["database"]
        load_options = load_options_of(options)
        progress = FileProgress(self.stderr) if self._show_progress else None
        objects_read: dict[str, int] = {}
        signalled: dict[type[models.Model], bool] = {}

        def on_object(fixture: str, Model: type[models.Model]) -> None:
            if Model not in signalled:
                signalled[Model] = saves_send_signals(Model)
            if signalled[Model]:
                raise _StepAside
            objects_read[fixture] = objects_read.get(fixture, 0) + 1
            if progress is not None:
                progress.tick(fixture)

        try:
            with transaction.atomic(using=using):
                result = load(
                    fixture_labels,
                    apps=live_apps,
                    options=load_options,
                    using=using,
                    state=CURRENT_MODELS,
                    on_object=on_object,
                )
                if any(fixture not in objects_read for fixture in result.fixtures):
                    raise _StepAside
        except Exception:
            # Whatever the engine refused, loaddata reports in its own words
            # (or, where the two disagree, loads: its behaviour is the contract).
            return False
        finally:
            if progress is not None:
                progress.finish()
        self.finish(result, options)
        return True

    def finish(self, result: LoadResult, options: dict[str, Any]) -> None:
        """Close the connection and report, as loaddata does."""
        using = options["database"]
        # For MySQL (Django #7572).
        if transaction.get_autocommit(using):
            connections[using].close()
        if options["verbosity"] < 1:
            return
        self.stdout.write(loaded_line(result))

    # --- live models: loaddata's own code, with a progress line -------------

    def load_with_loaddata(
        self, fixture_labels: tuple[str, ...], options: dict[str, Any]
    ) -> None:
        """Run loaddata's code; after a Ctrl-C, set PostgreSQL's sequences back."""
        sequences = SequenceSnapshot.take(connections[options["database"]])
        try:
            super().handle(*fixture_labels, **options)
        except KeyboardInterrupt:
            # Its transaction rolled back; the sequences it drew from did not.
            if sequences is not None:
                sequences.restore()
            raise

    def loaddata(self, fixture_labels: Sequence[str]) -> None:
        # Django's handle() runs this in its transaction: a Ctrl-C leaving
        # it is rolled back.
        try:
            super().loaddata(fixture_labels)
        except KeyboardInterrupt as interrupt:
            mark_rolled_back(interrupt)
            raise

    def load_label(self, fixture_label: str) -> None:
        if not self._show_progress:
            super().load_label(fixture_label)
            return
        self._progress = Progress(self.stderr, fixture_label)
        try:
            super().load_label(fixture_label)
        finally:
            self._progress.finish()
            self._progress = None

    def save_obj(self, obj: DeserializedObject) -> bool:
        saved = super().save_obj(obj)
        if self._progress is not None:
            self._progress.tick()
        return saved

    # --- historical models ------------------------------------------------------

    def load_at_state(
        self, fixture_labels: tuple[str, ...], state: str, options: dict[str, Any]
    ) -> None:
        using = options["database"]
        verbosity = options["verbosity"]
        executor = MigrationExecutor(connections[using])
        node = parse_option(executor.loader, state, "--state")
        label = f"{node[0]}.{node[1]}"
        if verbosity >= 1 and executor.migration_plan([node]):
            self.stderr.write(
                f"Warning: the database {using!r} is not at {label}: "
                f"'migrate {node[0]} {node[1]}' would change its schema first. "
                "Loading anyway.",
                style_func=self.style.WARNING if self.stderr.isatty() else None,
            )
        apps = executor.loader.project_state(node, at_end=True).apps
        check_excludes(options["exclude"], apps, label)
        load_options = load_options_of(options)
        if verbosity >= 2:
            self.stdout.write(f"Loading with the historical models of {label}.")
        progress = FileProgress(self.stderr) if self._show_progress else None
        try:
            result = load(
                fixture_labels,
                apps=apps,
                options=load_options,
                using=using,
                state=label,
                on_object=progress.tick if progress is not None else None,
            )
        except DatabaseError as exc:
            if not executor.migration_plan([node]):
                raise
            # PostgreSQL adds the query's text on more lines.
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise CommandError(
                f"The database {using!r} is not at {label}, and its tables do not "
                f"fit that state's models: {reason}. Nothing was loaded. Migrate it "
                f"there first (manage.py migrate {node[0]} {node[1]}), or name "
                f"the state it is at{_applied_state(executor, node[0])}."
            ) from exc
        finally:
            if progress is not None:
                progress.finish()
        if verbosity >= 2:
            for fixture in result.fixtures:
                self.stdout.write(f"Installed fixture {fixture}.")
        self.finish(result, options)


def _applied_state(executor: MigrationExecutor, app_label: str) -> str:
    """' (--state app.name)': the latest migration of the app applied, if any."""
    graph = executor.loader.graph
    applied = executor.loader.applied_migrations
    latest = [
        node
        for node in applied
        if node[0] == app_label
        and node in graph.nodes
        and not any(
            child[0] == app_label and child in applied
            for child in graph.node_map[node].children
        )
    ]
    if len(latest) != 1:
        return ""
    return f" (--state {latest[0][0]}.{latest[0][1]})"


def state_hint(fixture_labels: Sequence[str]) -> str:
    """
    The way out for fixtures the current models do not fit: --state.

    The migrations whose LoadFixture loads a fixture of the same name are
    the states it was written for.
    """
    names = {_fixture_name(label) for label in fixture_labels}
    try:
        loader = MigrationLoader(None, ignore_no_migrations=True)
    except (BadMigrationError, NodeNotFoundError):
        nodes = []
    else:
        nodes = [
            f"{app_label}.{name}"
            for (app_label, name), migration in sorted(loader.graph.nodes.items())
            if any(
                isinstance(operation, LoadFixture)
                and names & {_fixture_name(label) for label in operation.labels}
                for operation in migration.operations
            )
        ]
    if nodes:
        return (
            f"Hint: the fixture is loaded by the migration {', '.join(nodes)}; if "
            "it was written for the models of that state, load it with "
            f"--state {nodes[0]}."
        )
    return (
        "Hint: if the fixture was written for older models, load it with the "
        "models of the migration state it fits: --state app_label.migration_name "
        "(or bring it up to date: manage.py upgradefixture)."
    )


def _fixture_name(label: str) -> str:
    """'fixtures/books.json.gz' -> 'books', as loaddata names fixtures."""
    return os.path.basename(label).split(".")[0]


def load_options_of(options: dict[str, Any]) -> LoadOptions:
    """The engine's options from the command's."""
    return LoadOptions(
        app_label=options["app_label"],
        format=options["format"],
        ignorenonexistent=options["ignore"],
        exclude=tuple(options["exclude"]),
        batch_size=options.get("batch_size"),
    )


def check_excludes(labels: list[str], apps: Apps, state: str) -> None:
    """Refuse --exclude labels naming nothing, as loaddata does."""
    for label in labels:
        if "." in label:
            try:
                apps.get_model(label)
            except (LookupError, ValueError):
                raise CommandError(f"Unknown model at {state}: {label}") from None
        else:
            # App labels do not change with the state; models come and go.
            try:
                live_apps.get_app_config(label)
            except LookupError as exc:
                raise CommandError(str(exc)) from None


def saves_send_signals(Model: type[models.Model]) -> bool:
    """Whether loaddata's save of a ``Model`` object reaches signal receivers."""
    if pre_save.has_listeners(Model) or post_save.has_listeners(Model):
        return True
    return any(
        m2m_changed.has_listeners(field.remote_field.through)
        for field in Model._meta.many_to_many
    )
