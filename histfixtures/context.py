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
_lock = threading.Lock()
_open_blocks = 0


def _enter() -> None:
    global _open_blocks
    with _lock:
        if _open_blocks == 0:
            for module in _SERIALIZER_MODULES:
                module.apps = _router  # type: ignore[attr-defined]
        _open_blocks += 1


def _exit() -> None:
    global _open_blocks
    with _lock:
        _open_blocks -= 1
        if _open_blocks == 0:
            for module in _SERIALIZER_MODULES:
                module.apps = live_apps  # type: ignore[attr-defined]


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
