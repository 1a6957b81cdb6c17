"""
histfixtures: load Django fixtures with the historical models of migrations.

Every public name is importable from here. The names are imported on first
use (PEP 562), not when the package is: pytest imports this package to load
the ``histfixtures.pytest_plugin`` entry point before pytest-django has set
Django up, and nothing of Django may be imported that early.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from histfixtures.context import historical_models
    from histfixtures.exceptions import (
        AmbiguousFixtureError,
        EmptyFixtureError,
        FixtureError,
        FixtureNotFoundError,
        InvalidValueError,
        MalformedFixtureError,
        MissingRelatedObjectError,
        NaturalKeyError,
        ObjectExistsError,
        ProtectedObjectError,
        UnknownFieldError,
        UnknownModelError,
    )
    from histfixtures.migration_state import MigrationState
    from histfixtures.operations import LoadFixture
    from histfixtures.results import LoadResult
    from histfixtures.runpython import load_fixture, loader, unload_fixture, unloader
    from histfixtures.serializers import deserialize

#: The module that defines each public name.
_MODULE_OF = {
    "AmbiguousFixtureError": "histfixtures.exceptions",
    "EmptyFixtureError": "histfixtures.exceptions",
    "FixtureError": "histfixtures.exceptions",
    "FixtureNotFoundError": "histfixtures.exceptions",
    "InvalidValueError": "histfixtures.exceptions",
    "LoadFixture": "histfixtures.operations",
    "LoadResult": "histfixtures.results",
    "MalformedFixtureError": "histfixtures.exceptions",
    "MigrationState": "histfixtures.migration_state",
    "MissingRelatedObjectError": "histfixtures.exceptions",
    "NaturalKeyError": "histfixtures.exceptions",
    "ObjectExistsError": "histfixtures.exceptions",
    "ProtectedObjectError": "histfixtures.exceptions",
    "UnknownFieldError": "histfixtures.exceptions",
    "UnknownModelError": "histfixtures.exceptions",
    "deserialize": "histfixtures.serializers",
    "historical_models": "histfixtures.context",
    "load_fixture": "histfixtures.runpython",
    "loader": "histfixtures.runpython",
    "unload_fixture": "histfixtures.runpython",
    "unloader": "histfixtures.runpython",
}

__all__ = [
    "AmbiguousFixtureError",
    "EmptyFixtureError",
    "FixtureError",
    "FixtureNotFoundError",
    "InvalidValueError",
    "LoadFixture",
    "LoadResult",
    "MalformedFixtureError",
    "MigrationState",
    "MissingRelatedObjectError",
    "NaturalKeyError",
    "ObjectExistsError",
    "ProtectedObjectError",
    "UnknownFieldError",
    "UnknownModelError",
    "deserialize",
    "historical_models",
    "load_fixture",
    "loader",
    "unload_fixture",
    "unloader",
]
# The one place the version is written: pyproject.toml (setuptools) and
# docs/conf.py read this line without importing the package.
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use, then keep it here."""
    try:
        module = _MODULE_OF[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
