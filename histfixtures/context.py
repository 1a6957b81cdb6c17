"""
``historical_models(apps)``: Django's own deserializers, with historical models.

Django's serializers look every model label up in the module-level ``apps``
of ``django.core.serializers.python`` and ``.xml_serializer``. While at least
one ``historical_models()`` block is open anywhere in the process, those two
names point to a small router that answers from the registry of the *current
context* (a ContextVar) and falls back to the live registry. So one thread or
asyncio task inside the block never changes what another one sees, and once
the last block closes the modules hold Django's own registry again, exactly
as if histfixtures were not installed.

``loaddata --exclude`` is routed the same way: loaddata compares each
object's ``_meta.app_config`` and class with the live app configs and models
its labels name, which a historical model never is. While a block is open,
the labels resolve to both the live and the current context's objects.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import ModuleType
from typing import Any

from django.apps import apps as live_apps
from django.apps.registry import Apps
from django.core.management.base import CommandError
from django.core.management.commands import loaddata as loaddata_command
from django.core.management.utils import (
    parse_apps_and_model_labels as _parse_labels,
)
from django.core.serializers import python as python_serializer
from django.core.serializers import xml_serializer

_current_apps: ContextVar[Apps | None] = ContextVar(
    "histfixtures_current_apps", default=None
)

# The modules whose ``apps`` global Django's deserializers resolve labels with.
_SERIALIZER_MODULES: tuple[ModuleType, ...] = (python_serializer, xml_serializer)


class _ContextRegistry:
    """Answers as the registry of the current context, or the live one."""

    def __getattr__(self, name: str) -> Any:
        return getattr(_current_apps.get() or live_apps, name)

    def __repr__(self) -> str:
        return f"<histfixtures registry router for {_current_apps.get() or live_apps}>"


_router = _ContextRegistry()


def _parse_exclude_labels(labels: list[str]) -> tuple[set[Any], set[Any]]:
    """
    loaddata's parse of ``--exclude``, with the current context's models too.

    Django compares ``obj.object._meta.app_config`` and ``type(obj.object)``
    with what the labels name in the live registry; inside a block the objects
    are historical, so each label names its historical app config or model
    (when the state has it) as well as the live one (when that exists). A
    label that neither registry knows is refused as loaddata refuses it.
    """
    apps = _current_apps.get()
    if apps is None:
        return _parse_labels(labels)
    models: set[Any] = set()
    app_configs: set[Any] = set()
    for label in labels:
        historical = _historical_object(apps, label)
        try:
            live_models, live_app_configs = _parse_labels([label])
        except CommandError:
            if historical is None:
                raise
        else:
            models |= live_models
            app_configs |= live_app_configs
        if historical is not None:
            (models if "." in label else app_configs).add(historical)
    return models, app_configs


def _historical_object(apps: Apps, label: str) -> Any:
    """The model or app config ``label`` names in ``apps``, or None."""
    try:
        if "." in label:
            return apps.get_model(label)
        return apps.get_app_config(label)
    except (LookupError, ValueError):
        return None


_lock = threading.Lock()
_open_blocks = 0


def _enter() -> None:
    global _open_blocks
    with _lock:
        if _open_blocks == 0:
            for module in _SERIALIZER_MODULES:
                module.apps = _router  # type: ignore[attr-defined]
            loaddata_command.parse_apps_and_model_labels = _parse_exclude_labels  # type: ignore[attr-defined]
        _open_blocks += 1


def _exit() -> None:
    global _open_blocks
    with _lock:
        _open_blocks -= 1
        if _open_blocks == 0:
            for module in _SERIALIZER_MODULES:
                module.apps = live_apps  # type: ignore[attr-defined]
            loaddata_command.parse_apps_and_model_labels = _parse_labels  # type: ignore[attr-defined]


@contextmanager
def historical_models(apps: Apps) -> Iterator[Apps]:
    """
    Make Django's deserializers resolve model labels through ``apps``.

    Covers ``django.core.serializers.deserialize()``,
    ``call_command("loaddata", ...)`` and ``TestCase.fixtures`` run inside the
    block. Nestable; the innermost registry wins.
    """
    if not isinstance(apps, Apps):
        raise TypeError(
            "historical_models() takes an app registry, such as the `apps` "
            f"argument of a RunPython function; got {apps!r}."
        )
    token = _current_apps.set(apps)
    _enter()
    try:
        yield apps
    finally:
        _exit()
        _current_apps.reset(token)


def current_apps() -> Apps | None:
    """The registry of the innermost open block in this context, if any."""
    return _current_apps.get()
