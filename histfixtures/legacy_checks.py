"""
System checks for fixtures loaded the legacy way in migration files.

Registered with the tag ``histfixtures`` and run where the LoadFixture
checks run (see histfixtures.checks). Each migration file on disk is read
with histfixtures.legacy, from its source: no database, nothing run beyond
the imports Django's MigrationLoader does anyway.

- ``histfixtures.W001``: a RunPython function runs loaddata with the live
  models.
- ``histfixtures.W002``: a RunPython function deserializes with the live
  models.
- ``histfixtures.W003``: the migration patches
  ``django.core.serializers.python._get_model`` (crashes on Django 5.2+).
- ``histfixtures.W004``: the migration replaces the ``apps`` global of
  Django's serializers (process-global).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.apps.config import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Warning
from django.core.exceptions import ImproperlyConfigured
from django.db.migrations.exceptions import BadMigrationError
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.migration import Migration

from histfixtures.checks import _wanted
from histfixtures.conf import loaddata_setting
from histfixtures.legacy import LegacyLoading, find_legacy_loading

_CHANGES = (
    "on a fresh database it fails once the models change after this migration "
    "(a model or field renamed or removed, a required field added)"
)

# The id and what is wrong, by kind; {where} and {line} filled in.
_PROBLEMS = {
    "loaddata": (
        "histfixtures.W001",
        "{where} runs loaddata with the live models (line {line}): " + _CHANGES,
    ),
    "deserialize": (
        "histfixtures.W002",
        "{where} deserializes with serializers.deserialize() and the live models "
        "(line {line}): " + _CHANGES,
    ),
    "get_model_patch": (
        "histfixtures.W003",
        "{where} patches django.core.serializers.python._get_model (line {line}), "
        "which Django 5.2 removed: the migration crashes with AttributeError on "
        "Django 5.2 and later",
    ),
    "apps_patch": (
        "histfixtures.W004",
        "{where} replaces the apps registry of Django's serializers (line "
        "{line}): the patch is process-global, so other threads load with these "
        "models too, and it misses what it does not replace (the XML "
        "deserializer reads xml_serializer.apps)",
    ),
}

_ADOPT = (
    "Run `manage.py adoptfixtures {app_label}` to rewrite it (into LoadFixture, "
    "or with the loading wrapped in `with historical_models(apps):`)."
)
_THIRD_PARTY = (
    "{path} is installed outside this project, so it cannot be edited here: set "
    'HISTFIXTURES = {{"LOADDATA": "historical"}} to run its loading with the '
    "migration's historical models."
)


def check_where_migrations_load(
    app_configs: Iterable[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """The registered check: check_legacy_loading, for the commands that want it."""
    if not _wanted():
        return []
    return check_legacy_loading(app_configs)


def check_legacy_loading(
    app_configs: Iterable[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Warn of legacy fixture loading in every migration file on disk."""
    loader = MigrationLoader(None, ignore_no_migrations=True, load=False)
    try:
        loader.load_disk()
    except BadMigrationError:
        return []  # Django's own commands report it.
    wanted = None if app_configs is None else {c.label for c in app_configs}
    historical = _historical_setting()
    messages: list[CheckMessage] = []
    for node in sorted(loader.disk_migrations):
        if wanted is not None and node[0] not in wanted:
            continue
        migration = loader.disk_migrations[node]
        path = _source_file(migration)
        if path is None:
            continue
        third_party = is_third_party(path)
        if third_party and historical:
            continue  # The setting handles it when migrating.
        for found in find_legacy_loading(str(path)):
            messages.append(_warning(migration, found, path, third_party))
    return messages


def is_installed(path: Path) -> bool:
    """Whether a file belongs to an installed distribution (``site-packages``)."""
    return bool({"site-packages", "dist-packages"} & set(path.parts))


def is_third_party(path: Path) -> bool:
    """
    Whether a migration file is not the project's to edit.

    It is when it is installed (under a ``site-packages`` or
    ``dist-packages`` directory), or outside ``settings.BASE_DIR`` when the
    project defines one.
    """
    if is_installed(path):
        return True
    base_dir = getattr(settings, "BASE_DIR", None)
    if base_dir is None:
        return False
    return not path.resolve().is_relative_to(Path(base_dir).resolve())


def _warning(
    migration: Migration, found: LegacyLoading, path: Path, third_party: bool
) -> Warning:
    check_id, problem = _PROBLEMS[found.kind]
    name = f"{migration.app_label}.{migration.name}"
    message = problem.format(where=_where(found, name), line=found.line)
    if third_party:
        hint = _THIRD_PARTY.format(path=path)
    else:
        hint = _ADOPT.format(app_label=migration.app_label)
    return Warning(f"{message}.", hint=hint, obj=migration, id=check_id)


def _where(found: LegacyLoading, name: str) -> str:
    """Who does it: "The RunPython function load() of library.0002_load"."""
    if found.function is None:
        return f"Module-level code of {name}"
    if found.kind in ("get_model_patch", "apps_patch"):
        return f"The function {found.function}() of {name}"
    if found.function == "<lambda>":
        function = f"a lambda passed to RunPython in {name}"
    else:
        function = f"the RunPython function {found.function}() of {name}"
    if found.helper is not None:
        return f"{found.helper}(), called by {function},"
    return function[0].upper() + function[1:]


def _source_file(migration: Migration) -> Path | None:
    """The .py file of a migration; None for one without source."""
    module = sys.modules.get(type(migration).__module__)
    path = getattr(module, "__file__", None)
    if not path or not path.endswith(".py"):
        return None
    return Path(path)


def _historical_setting() -> bool:
    try:
        return loaddata_setting() == "historical"
    except ImproperlyConfigured:
        return False  # The loaddata command reports it.
