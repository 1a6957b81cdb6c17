"""
``manage.py upgradefixture FIXTURE``: bring a fixture to a later migration state.

The fixture travels the way production data would: on a scratch database
(in-memory SQLite unless ``--database`` names a server to create it on) the
project is migrated to the state the fixture records (or ``--from``), the
fixture is loaded with the historical models of that state, the remaining
migrations run (data migrations included) up to the latest state (or
``--to``), and every model of the fixture's apps is dumped again, stamped
with the new state. The project's databases are never touched.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Sequence
from contextlib import closing, suppress
from typing import Any

from django.apps import apps as live_apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections, models
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.state import ProjectState

from histfixtures.changes import Changes, compare, model_renames
from histfixtures.discovery import STDIN, FixtureFile, find_fixture_files
from histfixtures.dumping import select_models, serialize
from histfixtures.exceptions import FixtureError
from histfixtures.loading import load
from histfixtures.migration_names import parse_option
from histfixtures.options import LoadOptions
from histfixtures.progress import FileProgress
from histfixtures.scratch import MigrationFailed, Node, migrate, scratch_database
from histfixtures.stamps import (
    AppliedState,
    Stamp,
    StampingStream,
    describe,
    open_output,
    read_fixture_stamp,
)
from histfixtures.types import RawObject
from histfixtures.upgraded_rows import (
    keeper,
    loaded_by_migrations,
    raw_rows,
    renamed,
    rows_of,
)
from histfixtures.validation import RAW_FORMATS, read_raw_objects

# Output extensions dumpdata compresses, and loaddata's names for them.
_COMPRESSIONS = {".gz": "gz", ".bz2": "bz2", ".xz": "xz", ".lzma": "lzma"}


class Command(BaseCommand):
    help = (
        "Upgrade a fixture recorded at an old migration state: migrate a scratch "
        "database to that state, load the fixture, apply the later migrations "
        "and dump the result, reporting what changed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("fixture", help="Path (or label) of the fixture.")
        parser.add_argument(
            "--from",
            dest="from_nodes",
            action="append",
            default=[],
            metavar="APP_LABEL.MIGRATION",
            help="The state the fixture was dumped at, for a fixture that does "
            "not record it (repeat for several apps). Overrides the record.",
        )
        parser.add_argument(
            "--to",
            dest="to_nodes",
            action="append",
            default=[],
            metavar="APP_LABEL.MIGRATION",
            help="Upgrade to this migration instead of the latest (repeatable).",
        )
        parser.add_argument(
            "-o",
            "--output",
            help="Where to write the upgraded fixture (default: replace FIXTURE). "
            "Its extension chooses the format (unless --format) and the "
            "compression (.json.gz).",
        )
        parser.add_argument(
            "--format",
            help="Format of the output: json, jsonl, xml or yaml (default: from "
            "the extension of --output, else FIXTURE's format). It wins over "
            "the extension, as for dumpdata.",
        )
        parser.add_argument(
            "--include-other-rows",
            action="store_true",
            help="Also write the rows that the migrations' own LoadFixture "
            "operations loaded (by default the output holds exactly FIXTURE's "
            "objects, and the rows data migrations made from them).",
        )
        parser.add_argument(
            "--database",
            help="Create the scratch database on this database's server "
            "(a new database, dropped afterwards) instead of in-memory SQLite.",
        )
        parser.add_argument(
            "--indent",
            type=int,
            help="Indentation of the output (default: as in FIXTURE).",
        )
        parser.add_argument(
            "--natural-foreign",
            action="store_true",
            dest="use_natural_foreign_keys",
            help="Write foreign keys as natural keys (latest state only).",
        )
        parser.add_argument(
            "--natural-primary",
            action="store_true",
            dest="use_natural_primary_keys",
            help="Leave out primary keys that natural keys replace (latest "
            "state only).",
        )

    def handle(self, fixture: str, **options: Any) -> None:
        self.verbosity = options["verbosity"]
        self.options = options
        if options["database"] and options["database"] not in connections.settings:
            raise CommandError(f"Unknown database alias {options['database']!r}.")
        source_file = self.find(fixture)
        loader = MigrationLoader(None, ignore_no_migrations=True)
        source = self.source_state(source_file, options["from_nodes"], loader)
        targets = self.targets(loader, source, options["to_nodes"])
        output = options["output"] or source_file.path
        if os.path.splitext(output)[1] == ".zip":
            raise CommandError("Zip files cannot be written; choose -o FILE.json.")
        format = output_format(source_file, options["output"], options["format"])
        before = _read(source_file)
        temporary = _temporary_path(output)
        try:
            applied = self.upgrade(
                loader, source_file, before, source, targets, temporary, format
            )
            after = _read(_fixture_at(temporary, format))
            new_stamp = read_fixture_stamp(_fixture_at(temporary, format))
            os.replace(temporary, output)
        finally:
            with suppress(FileNotFoundError):
                os.remove(temporary)
        renames = model_renames(loader, applied)
        self.report(source, new_stamp, compare(before, after, renames), output)

    def find(self, label: str) -> FixtureFile:
        if label == STDIN:
            raise CommandError("upgradefixture reads a file, not standard input.")
        try:
            (fixture,) = find_fixture_files([label], using="default")
        except FixtureError as exc:
            raise CommandError(str(exc)) from exc
        if fixture.format not in RAW_FORMATS:
            raise CommandError(
                f"upgradefixture reads {', '.join(RAW_FORMATS)} fixtures, "
                f"not {fixture.format}."
            )
        return fixture

    def source_state(
        self, fixture: FixtureFile, from_nodes: Sequence[str], loader: MigrationLoader
    ) -> Stamp:
        """The state the fixture was dumped at: --from, or its record."""
        if from_nodes:
            source = dict(parse_option(loader, value, "--from") for value in from_nodes)
        else:
            try:
                stamp = read_fixture_stamp(fixture)
            except FixtureError as exc:
                raise CommandError(str(exc)) from exc
            if not stamp:
                raise CommandError(
                    f"{fixture} does not record the migration state it was dumped "
                    "at. Name it with --from app_label.migration_name (repeat for "
                    "each app)."
                )
            # A record names migrations in full: no prefixes, no suggestions.
            missing = [
                f"{app}.{name}"
                for app, name in stamp.items()
                if (app, name) not in loader.graph.nodes
            ]
            if missing:
                raise CommandError(
                    f"{fixture} was dumped at {', '.join(missing)}, which this "
                    f"project no longer has{_replaced_by(loader, stamp)}. Name a "
                    "state the project has, whose models the fixture fits, with "
                    "--from app_label.migration_name."
                )
            source = stamp
        _check_consistent(loader, [(app, name) for app, name in source.items()])
        return source

    def targets(
        self, loader: MigrationLoader, source: Stamp, to_nodes: Sequence[str]
    ) -> list[Node]:
        """The nodes to migrate to: --to, the latest of everything else."""
        named = dict(parse_option(loader, value, "--to") for value in to_nodes)
        if not named:
            return sorted(loader.graph.leaf_nodes())
        nodes = list(named.items())
        nodes += [
            leaf
            for leaf in loader.graph.leaf_nodes()
            if leaf[0] in source and leaf[0] not in named
        ]
        _check_consistent(loader, nodes)
        for app, name in source.items():
            if app in named and (app, name) not in loader.graph.forwards_plan(
                (app, named[app])
            ):
                raise CommandError(
                    f"--to {app}.{named[app]} is not after the fixture's state "
                    f"{app}.{name}; upgradefixture only migrates forwards."
                )
        return sorted(nodes)

    def upgrade(
        self,
        loader: MigrationLoader,
        fixture: FixtureFile,
        objects: list[RawObject],
        stamp: Stamp,
        targets: list[Node],
        output: str,
        format: str,
    ) -> list[Node]:
        """
        Do the upgrade on a scratch database; return the migrations applied.

        The rows the input's load wrote are told from those the migrations'
        own loads wrote (see histfixtures.upgraded_rows), and only the former
        are dumped unless --include-other-rows.
        """
        app_labels = list(stamp)
        with scratch_database(self.options["database"]) as alias:
            state, _ = self.migrate(
                alias, list(stamp.items()), "to the fixture's state"
            )
            present = rows_of(state.apps, app_labels, alias)
            self.load(fixture, state, alias, stamp)
            loaded = rows_of(state.apps, app_labels, alias)
            own = (loaded - present) | (present & raw_rows(objects))
            state, applied = self.migrate(alias, targets, "the loaded data forwards")
            keep = None
            if not self.options["include_other_rows"]:
                renames = model_renames(loader, applied)
                others = renamed(present - own, renames)
                others |= loaded_by_migrations(loader, applied)
                keep = keeper(others - renamed(own, renames))
            self.dump(alias, state, app_labels, output, fixture, format, keep)
        return applied

    def migrate(
        self, alias: str, targets: list[Node], purpose: str
    ) -> tuple[ProjectState, list[Node]]:
        try:
            return migrate(alias, targets)
        except MigrationFailed as exc:
            raise CommandError(
                f"Migration {exc.label} failed on the scratch database while "
                f"migrating {purpose}: {exc.__cause__}"
            ) from exc.__cause__

    def load(
        self, fixture: FixtureFile, state: ProjectState, alias: str, source: Stamp
    ) -> None:
        progress = (
            FileProgress(self.stderr)
            if self.verbosity >= 1 and self.stderr.isatty()
            else None
        )
        try:
            load(
                [fixture.path],
                apps=state.apps,
                options=LoadOptions(),
                using=alias,
                state=describe(source),
                on_object=progress.tick if progress is not None else None,
            )
        except FixtureError as exc:
            raise CommandError(
                f"The fixture does not load at the state it records:\n{exc}"
            ) from exc
        finally:
            if progress is not None:
                progress.finish()

    def dump(
        self,
        alias: str,
        state: ProjectState,
        app_labels: list[str],
        output: str,
        fixture: FixtureFile,
        format: str,
        keep: Callable[[models.Model], bool] | None,
    ) -> None:
        """
        Dump the fixture's apps (the rows ``keep`` chooses), as dumpfixture does.

        With the live models once every migration of the apps is applied
        (natural keys need them), else with the models of the state reached.
        """
        options = self.options
        natural = (
            options["use_natural_foreign_keys"] or options["use_natural_primary_keys"]
        )
        applied = AppliedState(alias)
        complete = applied.is_complete(app_labels)
        if natural and not complete:
            raise CommandError(
                "--natural-foreign and --natural-primary need the latest state "
                "(the historical models have no natural_key()); leave out --to."
            )
        unmanaged = [
            Model._meta.label
            for Model in state.apps.get_models()
            if not Model._meta.managed and Model._meta.app_label in app_labels
        ]
        apps = live_apps if complete else state.apps
        Models = select_models(apps, app_labels, exclude=unmanaged)
        indent = options["indent"]
        if indent is None:
            indent = _detect_indent(fixture)
        stream, _ = open_output(output)
        with stream:
            stamping = StampingStream(stream, format, applied.stamp(app_labels), indent)
            serialize(
                format,
                Models,
                stamping,  # type: ignore[arg-type]
                using=alias,
                indent=indent,
                use_base_manager=True,
                keep=keep,
                use_natural_foreign_keys=options["use_natural_foreign_keys"],
                use_natural_primary_keys=options["use_natural_primary_keys"],
            )
            stamped = stamping.finish()
        if not stamped:
            self.stderr.write(
                "No migration state recorded in the fixture: it holds no "
                "objects. upgradefixture will need --from.",
                self.style.WARNING,
            )

    def report(
        self, source: Stamp, target: Stamp | None, changes: Changes, output: str
    ) -> None:
        if self.verbosity < 1:
            return
        self.stdout.write(
            f"Upgraded from {describe(source)} to "
            f"{describe(target) if target else 'the latest state'}:"
        )
        for line in changes.lines():
            self.stdout.write(f"  {line}")
        self.stdout.write(f"Wrote {changes.written} object(s) to {output}.")


def output_format(fixture: FixtureFile, output: str | None, format: str | None) -> str:
    """
    The format to write: --format, else --output's extension, else FIXTURE's.

    As for dumpdata, --format wins over the extension; an extension that
    names no format loaddata reads is refused rather than written as JSON.
    """
    if format:
        if format not in RAW_FORMATS:
            raise CommandError(
                f"upgradefixture writes {', '.join(RAW_FORMATS)} fixtures, "
                f"not {format}."
            )
        return format
    if not output:
        return fixture.format
    root, extension = os.path.splitext(output)
    if extension in _COMPRESSIONS:
        extension = os.path.splitext(root)[1]
    if extension[1:] in RAW_FORMATS:
        return extension[1:]
    raise CommandError(
        f"The extension of {output} names no fixture format: name the file "
        f"{_name_hint()} (a compression extension such as .gz may follow), or "
        "choose the format with --format."
    )


def _name_hint() -> str:
    names = [f".{format}" for format in RAW_FORMATS]
    return f"{', '.join(names[:-1])} or {names[-1]}"


def _replaced_by(loader: MigrationLoader, source: Stamp) -> str:
    """' (replaced by squashed ...)' when a squashed migration replaced them."""
    squashes = [
        f"{key[0]}.{key[1]}"
        for key, migration in loader.replacements.items()
        if any(node in migration.replaces for node in source.items())
    ]
    return f" (replaced by the squashed {', '.join(squashes)})" if squashes else ""


def _check_consistent(loader: MigrationLoader, nodes: list[Node]) -> None:
    """Refuse nodes one of which needs a later migration of another's app."""
    graph = loader.graph
    needed = {node for target in nodes for node in graph.forwards_plan(target)}
    for app, name in nodes:
        later = [
            node
            for node in needed
            if node[0] == app
            and node != (app, name)
            and (app, name) in graph.forwards_plan(node)
        ]
        if later:
            raise CommandError(
                f"{app}.{name} cannot be the state of {app}: the other "
                f"migrations named need {app}.{later[0][1]}, which comes after it."
            )


def _read(fixture: FixtureFile) -> list[RawObject]:
    try:
        return list(read_raw_objects(fixture))
    except FixtureError as exc:
        raise CommandError(str(exc)) from exc


def _fixture_at(path: str, format: str) -> FixtureFile:
    extension = os.path.splitext(path)[1]
    return FixtureFile(path, format, _COMPRESSIONS.get(extension))


def _temporary_path(output: str) -> str:
    directory, name = os.path.split(os.path.abspath(output))
    extension = os.path.splitext(name)[1]
    suffix = extension if extension in _COMPRESSIONS else ""
    return os.path.join(directory, f".{name}.{uuid.uuid4().hex[:8]}.tmp{suffix}")


def _detect_indent(fixture: FixtureFile) -> int | None:
    """The indentation of a JSON or XML fixture: its first indented line."""
    if fixture.format not in ("json", "xml"):
        return None
    with closing(fixture.open()) as stream:
        head = stream.read(4096)
    if isinstance(head, bytes):
        head = head.decode("utf-8", errors="replace")
    for line in head.splitlines()[1:]:
        stripped = line.lstrip(" ")
        if stripped and stripped != line:
            return len(line) - len(stripped)
    return None
