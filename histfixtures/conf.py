"""
The HISTFIXTURES setting.

    HISTFIXTURES = {
        "NATURAL_KEYS": {"shop.Author": ["name", "birth_date"]},
        "LOADDATA": "histfixtures",  # or "historical", or "django", the default
        "STATE_COPIES": False,  # True, the default: tests reuse built states
        "CHECKS_CACHE": False,  # or a directory; True, the default: see below
    }

Read on every use rather than cached, so ``override_settings`` works in tests.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from histfixtures.types import NaturalKeys

_KNOWN_KEYS = frozenset({"CHECKS_CACHE", "LOADDATA", "NATURAL_KEYS", "STATE_COPIES"})
LOADDATA_CHOICES = ("django", "histfixtures", "historical")


def _histfixtures_setting() -> Mapping[str, Any]:
    value = getattr(settings, "HISTFIXTURES", {})
    if not isinstance(value, Mapping):
        raise ImproperlyConfigured("settings.HISTFIXTURES must be a dict.")
    unknown = sorted(set(value) - _KNOWN_KEYS)
    if unknown:
        raise ImproperlyConfigured(
            f"Unknown key(s) in settings.HISTFIXTURES: {', '.join(unknown)}. "
            f"Known keys: {', '.join(sorted(_KNOWN_KEYS))}."
        )
    return value


def natural_keys_setting() -> NaturalKeys:
    """``HISTFIXTURES["NATURAL_KEYS"]``, validated."""
    natural_keys = _histfixtures_setting().get("NATURAL_KEYS", {})
    if not isinstance(natural_keys, Mapping) or not all(
        isinstance(label, str)
        and label.count(".") == 1
        and not isinstance(fields, str)
        and all(isinstance(name, str) for name in fields)
        for label, fields in natural_keys.items()
    ):
        raise ImproperlyConfigured(
            'settings.HISTFIXTURES["NATURAL_KEYS"] must map model labels to '
            'lists of field names, e.g. {"shop.Author": ["name", "birth_date"]}.'
        )
    return natural_keys


def loaddata_setting() -> str:
    """
    ``HISTFIXTURES["LOADDATA"]``: what ``loaddata`` does.

    "django": Django's loaddata; "histfixtures": loadfixture;
    "historical": Django's loaddata, with the historical models inside a
    migration's RunPython (histfixtures.historical_loaddata).
    """
    value = _histfixtures_setting().get("LOADDATA", "django")
    if value not in LOADDATA_CHOICES:
        raise ImproperlyConfigured(
            'settings.HISTFIXTURES["LOADDATA"] must be "django" (the default, '
            'Django\'s own loaddata), "histfixtures" (loaddata runs '
            'loadfixture) or "historical" (loaddata and deserialize use the '
            f"historical models inside RunPython); got {value!r}."
        )
    return str(value)


def state_copies_setting() -> bool:
    """
    ``HISTFIXTURES["STATE_COPIES"]``: may tests reuse copies of built states?

    See histfixtures.state_copies; on by default.
    """
    value = _histfixtures_setting().get("STATE_COPIES", True)
    if not isinstance(value, bool):
        raise ImproperlyConfigured(
            'settings.HISTFIXTURES["STATE_COPIES"] must be True (the default) '
            f"or False; got {value!r}."
        )
    return value


def checks_cache_setting() -> bool | str:
    """
    ``HISTFIXTURES["CHECKS_CACHE"]``: where the fixture checks keep results.

    True (the default) for the user's cache directory, False for no cache,
    or a directory (see histfixtures.check_cache).
    """
    value = _histfixtures_setting().get("CHECKS_CACHE", True)
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, bool | str) or value == "":
        raise ImproperlyConfigured(
            'settings.HISTFIXTURES["CHECKS_CACHE"] must be True (the default: '
            "the user's cache directory), False (no cache) or a directory; "
            f"got {value!r}."
        )
    return value
