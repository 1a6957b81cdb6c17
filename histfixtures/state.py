"""
Naming the migration state a load runs at.

Django hands operations and RunPython functions a registry of historical
models but not the migration they belong to. Error messages are far more
useful when they say "at state shop.0003_book_price", so the label is
recovered from the migration that is being applied on the call stack.
"""

from __future__ import annotations

import inspect

from django.apps import apps as live_apps
from django.apps.registry import Apps
from django.db.migrations import Migration

LIVE_STATE = "current models"
UNKNOWN_STATE = "unknown migration state"


def migration_being_applied() -> str | None:
    """Return "app_label.migration_name" of the migration running this code."""
    frame = inspect.currentframe()
    while frame is not None:
        if frame.f_code.co_name in ("apply", "unapply"):
            candidate = frame.f_locals.get("self")
            if isinstance(candidate, Migration):
                return f"{candidate.app_label}.{candidate.name}"
        frame = frame.f_back
    return None


def describe_state(apps: Apps, explicit: str | None = None) -> str:
    """A label for the state whose models ``apps`` holds, for messages."""
    if explicit is not None:
        return explicit
    if apps is live_apps:
        return LIVE_STATE
    return migration_being_applied() or UNKNOWN_STATE
