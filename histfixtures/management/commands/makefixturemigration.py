"""
``manage.py makefixturemigration APP FIXTURE...``: a migration that loads fixtures.

Writes a new migration in APP, as ``makemigrations --empty`` would (after
the app's leaf migrations, numbered after them), holding one ``LoadFixture``
for the fixtures, each pinned to its content's SHA-256 so that ``manage.py
check`` reports a later edit (histfixtures.E006). A fixture that does not
fit the models at the new migration is refused with the system checks'
findings, unless ``--force`` is given.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from django.apps import apps as live_apps
from django.core.management.base import CommandError, CommandParser
from django.core.management.commands import makemigrations
from django.db import DEFAULT_DB_ALIAS, migrations
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.loader import MigrationLoader

from histfixtures.checks import check_new_operation
from histfixtures.discovery import STDIN, FixtureFile, find_fixture_files
from histfixtures.exceptions import FixtureError
from histfixtures.operations import LoadFixture
from histfixtures.validation import fixture_digest


class Command(makemigrations.Command):
    help = (
        "Write a new migration in an app that loads fixtures with LoadFixture, "
        "pinned to their current content."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("app_label", help="The app to write the migration in.")
        parser.add_argument(
            "fixtures",
            nargs="+",
            metavar="fixture",
            help="Fixture labels or paths, as for loaddata.",
        )
        parser.add_argument(
            "-n", "--name", help="Use this name for the migration file."
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Show the migration that would be written, without writing it "
            "(with --verbosity 3, its content).",
        )
        parser.add_argument(
            "--no-header",
            action="store_false",
            dest="include_header",
            help="Do not add a header comment to the new migration file.",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Write the migration even when a fixture does not fit the "
            "models at the new migration (the system checks will report it).",
        )
        parser.add_argument(
            "--no-pin",
            action="store_false",
            dest="pin",
            help="Do not pin the fixtures' content (sha256=).",
        )

    def handle(
        self,
        *args: Any,
        app_label: str,
        fixtures: list[str],
        name: str | None,
        dry_run: bool,
        include_header: bool,
        pin: bool,
        force: bool,
        verbosity: int,
        **options: Any,
    ) -> None:
        # What makemigrations' handle() sets up for write_migration_files().
        self.verbosity = verbosity
        self.dry_run = dry_run
        self.include_header = include_header
        self.scriptable = False
        self.written_files: list[str] = []
        if name is not None and not name.isidentifier():
            raise CommandError("The migration name must be a valid Python identifier.")
        loader = MigrationLoader(None, ignore_no_migrations=True)
        self.check_app(app_label, loader)
        files = self.find(app_label, fixtures)
        labels = [self.label_for(label, files[label]) for label in fixtures]
        digests = {
            label: fixture_digest(files[old])
            for label, old in zip(labels, fixtures, strict=True)
        }
        operation = LoadFixture(
            *labels,
            sha256=(
                None if not pin else digests[labels[0]] if len(labels) == 1 else digests
            ),
        )
        migration = self.migration(app_label, loader, operation, name)
        self.check_fit(loader, migration, operation, force)
        self.write_migration_files({app_label: [migration]})

    def check_app(self, app_label: str, loader: MigrationLoader) -> None:
        try:
            live_apps.get_app_config(app_label)
        except LookupError as exc:
            raise CommandError(str(exc)) from exc
        if app_label not in loader.migrated_apps:
            raise CommandError(
                f"App {app_label!r} has no migrations; run makemigrations "
                f"{app_label} first."
            )

    def find(self, app_label: str, labels: Sequence[str]) -> dict[str, FixtureFile]:
        if STDIN in labels:
            raise CommandError("A migration cannot load standard input.")
        try:
            found = find_fixture_files(
                labels, using=DEFAULT_DB_ALIAS, own_app=app_label
            )
        except FixtureError as exc:
            raise CommandError(str(exc)) from exc
        return dict(zip(labels, found, strict=True))

    def label_for(self, label: str, fixture: FixtureFile) -> str:
        """
        The label to write: a path becomes relative to its fixture directory.

        A migration runs from any working directory, so a fixture given as a
        path must lie in a directory loaddata searches (an app's
        ``fixtures/`` or FIXTURE_DIRS).
        """
        if os.sep not in label and "/" not in label:
            return label
        path = os.path.realpath(fixture.path)
        for directory in _fixture_dirs():
            if path.startswith(directory + os.sep):
                return os.path.relpath(path, directory).replace(os.sep, "/")
        raise CommandError(
            f"{fixture.path} is not in a fixture directory. Move it to an app's "
            "fixtures/ directory or a FIXTURE_DIRS directory, so that the "
            "migration finds it from any working directory."
        )

    def migration(
        self,
        app_label: str,
        loader: MigrationLoader,
        operation: LoadFixture,
        name: str | None,
    ) -> migrations.Migration:
        leaves = sorted(loader.graph.leaf_nodes(app_label))
        numbers = [MigrationAutodetector.parse_number(leaf[1]) or 0 for leaf in leaves]
        number = max(numbers, default=0) + 1
        subclass = type(
            "Migration",
            (migrations.Migration,),
            {"dependencies": leaves, "operations": [operation]},
        )
        fragment = name or operation.migration_name_fragment
        return subclass(f"{number:04d}_{fragment}", app_label)  # type: ignore[no-any-return]

    def check_fit(
        self,
        loader: MigrationLoader,
        migration: migrations.Migration,
        operation: LoadFixture,
        force: bool,
    ) -> None:
        """
        Refuse a fixture that does not fit the models at the new migration.

        The system checks would report the migration at once, and migrate
        would fail on it; the findings are given in the checks' words.
        With ``force`` they are warnings, except a fixture that cannot be
        read at all.
        """
        findings = check_new_operation(loader, migration, operation)
        if not findings:
            return
        unreadable = any(f.id in _UNREADABLE for f in findings)
        if force and not unreadable:
            for finding in findings:
                self.stderr.write(f"Warning: {finding}", self.style.WARNING)
            return
        raise CommandError(
            "\n".join(
                [
                    f"Not writing {migration.app_label}.{migration.name}: the "
                    "system checks would report it.",
                    *(str(finding) for finding in findings),
                    "Fix the fixture or dump it again from a database at this "
                    "state"
                    + (
                        "."
                        if unreadable
                        else ", or pass --force to write the "
                        "migration anyway (and edit it, e.g. ignorenonexistent=True)."
                    ),
                ]
            )
        )


#: The findings --force does not override: the fixture cannot be read.
_UNREADABLE = ("histfixtures.E001", "histfixtures.E002")


def _fixture_dirs() -> list[str]:
    from django.conf import settings

    directories = [
        os.path.join(config.path, "fixtures") for config in live_apps.get_app_configs()
    ]
    directories += [os.fspath(directory) for directory in settings.FIXTURE_DIRS]
    return [os.path.realpath(directory) for directory in directories]
