"""
``loaddata``, switchable to ``loadfixture`` project-wide.

With "histfixtures" in INSTALLED_APPS this module is the ``loaddata`` command
(an app's command shadows Django's core command of the same name). Off by
default, its ``Command`` is Django's own loaddata class itself, so nothing
changes. With::

    HISTFIXTURES = {"LOADDATA": "histfixtures"}

``Command`` is loadfixture's, and ``manage.py loaddata``,
``call_command("loaddata")`` and ``TestCase.fixtures`` run loadfixture.
With ``"historical"`` it is Django's class, except inside a migration's
RunPython function, where its ``database`` option defaults to the database
being migrated (histfixtures.historical_loaddata).

``Command`` is resolved on every access (Django imports the module once and
reads ``module.Command`` for each command it runs), so ``override_settings``
switches it in tests.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands import loaddata as django_loaddata

from histfixtures.conf import loaddata_setting


def __getattr__(name: str) -> Any:
    if name == "Command":
        setting = loaddata_setting()
        if setting == "histfixtures":
            from histfixtures.management.commands.loadfixture import Command

            return Command
        if setting == "historical":
            from histfixtures.historical_loaddata import (
                MigrationLoaddataCommand,
                migration_database,
            )

            if migration_database() is not None:
                return MigrationLoaddataCommand
        # Looked up now, not imported once, so that whatever stands in for
        # Django's class stays in effect.
        return django_loaddata.Command
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
