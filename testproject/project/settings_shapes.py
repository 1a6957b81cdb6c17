"""
Settings of the differential tests (tests/differential/): the project's
settings plus the ``shapes`` app, a second database ``other`` and the router
that keeps some shapes models off it.

They live apart because every model of an installed app is rendered each
time a migration state is, and the other tests migrate back and forth a
great deal: with ``shapes`` installed the whole suite ran four times slower.
"""

from __future__ import annotations

from typing import Any

from project.settings import *  # noqa: F403
from project.settings import DATABASES, INSTALLED_APPS


def _other_name(name: str | None) -> str | None:
    """``name`` with ``_other``: ``db.sqlite3`` -> ``db_other.sqlite3``."""
    if not name or name == ":memory:" or name.startswith("file:"):
        # In memory: Django names the alias's test database after it.
        return name
    if name.endswith(".sqlite3"):
        return name[: -len(".sqlite3")] + "_other.sqlite3"
    return name + "_other"


def _other_database(default: dict[str, Any]) -> dict[str, Any]:
    """The default's backend, in a database of its own."""
    other = dict(default)
    other["NAME"] = _other_name(default["NAME"])
    if "TEST" in default:
        test = default["TEST"]
        other["TEST"] = {**test, "NAME": _other_name(test.get("NAME"))}
    return other


INSTALLED_APPS = [*INSTALLED_APPS, "shapes"]
DATABASES = {**DATABASES, "other": _other_database(DATABASES["default"])}
DATABASE_ROUTERS = ["shapes.routers.ShapesRouter"]
