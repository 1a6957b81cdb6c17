"""
histfixtures: load Django fixtures with the historical models of migrations.

Every public name is importable from here.
"""

from __future__ import annotations

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
__version__ = "0.1.0"
