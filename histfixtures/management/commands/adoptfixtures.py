"""
``manage.py adoptfixtures [app_label ...] [--check] [--diff]``.

Rewrites, in place, the migrations that load fixtures with the live models
(``call_command("loaddata")``, ``serializers.deserialize``, the monkeypatch
recipes of ``serializers.python``) into ``LoadFixture`` or
``historical_models(apps)`` code; see :mod:`histfixtures.adopting`. With
``--diff`` it prints what it would change, with ``--check`` it fails when it
would change anything (for CI and pre-commit hooks); neither writes.

Needs libcst: ``pip install "histfixtures[adopt]"``.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator, Sequence
from importlib import import_module
from pathlib import Path
from typing import Any

from django.apps import AppConfig, apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.migrations.loader import MigrationLoader

from histfixtures.legacy_checks import is_installed

# Directories of installed distributions: migrations there are not the
# project's to edit.


class Command(BaseCommand):
    help = (
        "Rewrite migrations that load fixtures with the live models into "
        "LoadFixture or historical_models(apps) code, in place."
    )
    # The histfixtures.W0xx checks report the very migrations this command
    # fixes; they must not stop it.
    requires_system_checks: list[str] = []  # noqa: RUF012 (as BaseCommand's)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "app_label",
            nargs="*",
            help="Only these apps (default: every app whose migrations are "
            "part of the project).",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="Write nothing; exit with a non-zero status if any migration "
            "would be rewritten.",
        )
        parser.add_argument(
            "--diff",
            action="store_true",
            help="Write nothing; print the changes as a unified diff.",
        )

    def handle(
        self,
        *args: Any,
        app_label: list[str],
        check: bool,
        diff: bool,
        verbosity: int,
        **options: Any,
    ) -> None:
        try:
            from histfixtures.adopting import adopt_source
        except ImportError as exc:
            if (exc.name or "").partition(".")[0] != "libcst":
                raise
            raise CommandError(
                'adoptfixtures needs libcst: pip install "histfixtures[adopt]"'
            ) from exc
        dry = check or diff
        rewritten = 0
        for path in self.migration_files(self.app_configs(app_label), verbosity):
            with open(path, encoding="utf-8", newline="") as stream:
                source = stream.read()
            adoption = adopt_source(source)
            shown = os.path.relpath(path)
            if adoption.left_as_is:
                self.stderr.write(f"{shown}: left as is: {adoption.left_as_is}")
            if not adoption.changes:
                continue
            rewritten += 1
            verb = "Would rewrite" if dry else "Rewrote"
            self.stdout.write(f"{verb} {shown}: {'; '.join(adoption.changes)}")
            if diff:
                self.stdout.write(
                    unified_diff(shown, source, adoption.source), ending=""
                )
            if not dry:
                with open(path, "w", encoding="utf-8", newline="") as stream:
                    stream.write(adoption.source)
        if check and rewritten:
            raise CommandError(
                f"{rewritten} migration(s) would be rewritten; "
                "run manage.py adoptfixtures to rewrite them."
            )
        if not rewritten and verbosity >= 1:
            self.stdout.write("No migrations to rewrite.")

    def app_configs(self, app_labels: Sequence[str]) -> list[AppConfig]:
        if not app_labels:
            return list(apps.get_app_configs())
        try:
            return [apps.get_app_config(label) for label in app_labels]
        except LookupError as exc:
            raise CommandError(str(exc)) from exc

    def migration_files(
        self, app_configs: Sequence[AppConfig], verbosity: int
    ) -> Iterator[Path]:
        """
        The migration files of the apps, skipping installed ones: the next
        upgrade of their distribution would overwrite an edit. (Unlike the
        W0xx checks' hints, a file outside ``settings.BASE_DIR`` is still
        rewritten: a source layout may keep apps there, and a skip would
        be silent.)
        """
        for app_config in app_configs:
            module_name, _ = MigrationLoader.migrations_module(app_config.label)
            if module_name is None:
                continue
            try:
                module = import_module(module_name)
            except ImportError:
                continue
            directories = [Path(entry) for entry in getattr(module, "__path__", ())]
            for directory in directories:
                if is_installed(directory):
                    if verbosity >= 2:
                        self.stdout.write(
                            f"Skipping {app_config.label}: its migrations are "
                            f"installed in {directory}, not part of the project."
                        )
                    continue
                yield from sorted(
                    path
                    for path in directory.glob("*.py")
                    if path.name != "__init__.py"
                )


def unified_diff(name: str, before: str, after: str) -> str:
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=f"a/{name}",
            tofile=f"b/{name}",
        )
    )
