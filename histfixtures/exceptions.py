"""
The errors histfixtures raises on bad input.

Every error carries the facts a user needs to find the culprit: the fixture
file, the object's position and pk in it, the model label, the field and
value, and the migration state the models came from. The message is built in
one place, FixtureError.__str__, so every subclass reads the same way.
"""

from __future__ import annotations

import datetime
from typing import Any

_UNSET: Any = object()


class FixtureError(Exception):
    """Base class of every error raised for bad fixture input."""

    def __init__(
        self,
        message: str,
        *,
        fixture: str | None = None,
        index: int | None = None,
        pk: Any = None,
        model: str | None = None,
        field: str | None = None,
        value: Any = _UNSET,
        state: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fixture = fixture
        self.index = index
        self.pk = pk
        self.model = model
        self.field = field
        self.value = None if value is _UNSET else value
        self._has_value = value is not _UNSET
        self.state = state
        self.hint = hint

    def with_context(self, **context: Any) -> FixtureError:
        """Fill in context the raiser did not know, keeping what it did."""
        for name, value in context.items():
            if name == "value":
                if not self._has_value and value is not _UNSET:
                    self.value, self._has_value = value, True
            elif getattr(self, name) is None:
                setattr(self, name, value)
        return self

    def __str__(self) -> str:
        details = []
        if self.fixture is not None:
            details.append(f"fixture: {self.fixture}")
        if self.index is not None:
            details.append(f"object: index {self.index} (pk={self.pk!r})")
        elif self.pk is not None:
            details.append(f"object: pk={self.pk!r}")
        if self.model is not None:
            details.append(f"model: {self.model}")
        if self.field is not None:
            details.append(f"field: {self.field}")
        if self._has_value:
            details.append(f"value: {shorten(self.value, 200)}")
        if self.state is not None:
            details.append(f"migration state: {self.state}")
        if self.hint is not None:
            details.append(f"hint: {self.hint}")
        return "\n  ".join([self.message, *details])

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep the context across pickling (multiprocessing, parallel tests).
        return (_rebuild, (type(self), self.message, self.__dict__.copy()))


def shorten(value: Any, limit: int = 80) -> str:
    """``repr(value)``, cut to ``limit`` characters (an int of any size too)."""
    if isinstance(value, datetime.date | datetime.time):
        value = value.isoformat()  # As a fixture writes it.
    try:
        text = repr(value)
    except ValueError:  # An int beyond Python's limit of digits for str().
        return f"an integer of about {value.bit_length() * 30103 // 100000} digits"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _rebuild(cls: type[FixtureError], message: str, state: dict[str, Any]) -> Any:
    error = cls(message)
    error.__dict__.update(state)
    return error


class FixtureNotFoundError(FixtureError):
    """A fixture label matches no file."""


class AmbiguousFixtureError(FixtureError):
    """A fixture label matches several files."""


class MalformedFixtureError(FixtureError):
    """A fixture file cannot be parsed, or an object in it has the wrong shape."""


class EmptyFixtureError(MalformedFixtureError):
    """A fixture file holds no objects: almost always a mistake in a migration."""


class UnknownModelError(FixtureError):
    """An object names a model that does not exist at this migration state."""


class UnknownFieldError(FixtureError):
    """An object names a field its model does not have at this migration state."""


class InvalidValueError(FixtureError):
    """A field, or the database, rejects an object's value."""


class MissingRelatedObjectError(FixtureError):
    """A foreign key or many-to-many value points to a row that does not exist."""


class NaturalKeyError(FixtureError):
    """A natural key cannot be resolved to exactly one row."""


class ObjectExistsError(FixtureError):
    """An object's row already exists and on_conflict="error" was asked for."""


class ProtectedObjectError(FixtureError):
    """Unloading would leave rows pointing to the removed objects."""
