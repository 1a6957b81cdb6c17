"""
``HISTFIXTURES = {"LOADDATA": "historical"}``: legacy loading, historical models.

For migrations that load fixtures the legacy way and cannot be edited
(third-party apps, vendored code). While the setting is on, every
``RunPython`` of a migration runs its function inside
``historical_models(apps)`` with the ``apps`` that Django passes it, so
``call_command("loaddata", ...)`` and ``serializers.deserialize(...)``
called there resolve model labels at that migration's state; loaddata
without a ``database`` option loads into the database being migrated.

What is patched, once the setting has been seen on (at startup or by
``override_settings``), and why:

- ``RunPython.database_forwards`` and ``database_backwards``: Django offers
  no hook around the call of a RunPython function, and the function must
  receive exactly the registry the block routes to (models of two
  registries do not mix). The patched methods run Django's own on a copy of
  the operation whose functions are wrapped; with the setting off they run
  Django's own on the operation itself.
- a module ``__getattr__`` on ``django.core.serializers.python``, answering
  ``_get_model`` (removed in Django 5.2) while the setting is on, so that
  the monkeypatch recipe that saves and restores it no longer crashes; its
  loading then goes through ``historical_models`` like any other.

The setting is read on every call, so ``override_settings`` turns it off
again; the patches stay, doing nothing.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.apps.registry import Apps
from django.core.exceptions import ImproperlyConfigured
from django.core.management.commands import loaddata as django_loaddata
from django.core.serializers import base
from django.core.serializers import python as python_serializer
from django.db import DEFAULT_DB_ALIAS
from django.db.migrations.operations.special import RunPython

from histfixtures.conf import loaddata_setting
from histfixtures.context import historical_models

_migration_database: ContextVar[str | None] = ContextVar(
    "histfixtures_migration_database", default=None
)

_install_lock = threading.Lock()
_installed = False

RunPythonMethod = Callable[..., None]


def is_on() -> bool:
    """Whether ``HISTFIXTURES["LOADDATA"]`` is ``"historical"``."""
    return loaddata_setting() == "historical"


def migration_database() -> str | None:
    """The alias being migrated, inside a RunPython function under the setting."""
    return _migration_database.get()


def install_if_on() -> None:
    """Install the patches if the setting is on (a wrong value is left to
    the loaddata command to report, as without this module)."""
    try:
        on = is_on()
    except ImproperlyConfigured:
        return
    if on:
        install()


def install() -> None:
    """Patch RunPython and the python serializer module, once."""
    global _installed
    with _install_lock:
        if _installed:
            return
        RunPython.database_forwards = _historical(RunPython.database_forwards)  # type: ignore[method-assign]
        RunPython.database_backwards = _historical(RunPython.database_backwards)  # type: ignore[method-assign]
        if not hasattr(python_serializer, "_get_model"):
            python_serializer.__getattr__ = _python_serializer_getattr  # type: ignore[method-assign]
        _installed = True


def setting_changed(*, setting: str, **kwargs: Any) -> None:
    """Install the patches when ``override_settings`` turns the setting on."""
    if setting == "HISTFIXTURES":
        install_if_on()


def _historical(method: RunPythonMethod) -> RunPythonMethod:
    @functools.wraps(method)
    def run(
        self: RunPython,
        app_label: str,
        schema_editor: Any,
        from_state: Any,
        to_state: Any,
    ) -> None:
        if not is_on():
            return method(self, app_label, schema_editor, from_state, to_state)
        # A copy: the operation belongs to a Migration that other threads
        # (or a later migrate without the setting) may run too.
        operation = copy.copy(self)
        operation.code = _in_historical_models(self.code)
        if self.reverse_code is not None:
            operation.reverse_code = _in_historical_models(self.reverse_code)
        return method(operation, app_label, schema_editor, from_state, to_state)

    return run


def _in_historical_models(code: Callable[..., Any]) -> Callable[..., Any]:
    """``code``, run inside ``historical_models()`` with the apps it is given."""

    def run(apps: Apps, schema_editor: Any) -> Any:
        token = _migration_database.set(schema_editor.connection.alias)
        try:
            with historical_models(apps):
                return code(apps, schema_editor)
        finally:
            _migration_database.reset(token)
            # The recipe restores the _get_model it saved: ours.
            if vars(python_serializer).get("_get_model") is _get_model:
                del python_serializer._get_model  # type: ignore[attr-defined]

    return run


class MigrationLoaddataCommand(django_loaddata.Command):
    """
    Django's loaddata, inside a RunPython function under the setting.

    Without a ``database`` option it loads into the database being migrated
    (Django's default is ``"default"``, whatever ``migrate --database`` says).
    """

    def add_arguments(self, parser: Any) -> None:
        super().add_arguments(parser)
        parser.set_defaults(database=migration_database() or DEFAULT_DB_ALIAS)


def _python_serializer_getattr(name: str) -> Any:
    """``django.core.serializers.python._get_model`` while the setting is on."""
    if name == "_get_model":
        try:
            if is_on():
                return _get_model
        except ImproperlyConfigured:
            pass
    raise AttributeError(
        f"module {python_serializer.__name__!r} has no attribute {name!r}"
    )


def _get_model(model_identifier: str) -> Any:
    """
    Django 5.1's ``python._get_model``: the model of a label.

    It looks the label up in the module's ``apps``, which inside a
    RunPython under the setting is the migration's registry. Django 5.2 and
    later never call it; the recipe only saves and restores it.
    """
    try:
        return python_serializer.apps.get_model(model_identifier)  # type: ignore[attr-defined]
    except (LookupError, TypeError) as exc:
        raise base.DeserializationError(
            f"Invalid model identifier: '{model_identifier}'"
        ) from exc
