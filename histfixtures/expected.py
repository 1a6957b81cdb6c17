"""
What a field expects of a fixture value, in the words of a fixture's author.

Django's own messages describe its internals as often as the value ("fromisoformat:
argument must be str", "expected string or bytes-like object"); every error
about a value instead says, for the field's class, what the fixture should
hold there, what it holds, and, when Django knows more than "wrong format",
why it was refused.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from histfixtures.exceptions import shorten

# Ordered: a subclass before its parent (DateTimeField is a DateField).
_EXPECTATIONS: list[tuple[type[models.Field[Any, Any]], str]] = [
    (models.BooleanField, "true or false"),
    (models.DateTimeField, "a date and time (YYYY-MM-DD HH:MM[:ss[.uuuuuu]][TZ])"),
    (models.DateField, "a date (YYYY-MM-DD)"),
    (models.TimeField, "a time (HH:MM[:ss[.uuuuuu]])"),
    (
        models.DurationField,
        "a duration ([DD] [[HH:]MM:]ss[.uuuuuu], or ISO 8601 such as P3DT4H)",
    ),
    (models.DecimalField, "a decimal number"),
    (models.FloatField, "a number"),
    (models.AutoField, "an integer"),
    (models.BigAutoField, "an integer"),
    (models.SmallAutoField, "an integer"),
    (models.IntegerField, "an integer"),
    (models.UUIDField, "a UUID (32 hexadecimal digits, dashes allowed)"),
    (models.BinaryField, "base64-encoded bytes"),
    (models.GenericIPAddressField, "an IPv4 or IPv6 address"),
    (models.JSONField, "a JSON value"),
    (models.CharField, "a string"),
    (models.TextField, "a string"),
]


class OutOfRange(OverflowError):
    """An integer outside the range of its column on the database."""

    def __init__(self, low: int, high: int, vendor: str) -> None:
        super().__init__(f"the column holds integers from {low} to {high} on {vendor}")


def expected(field: models.Field[Any, Any]) -> str:
    """What a fixture should give as the value of ``field``."""
    if field.many_to_many:
        target = field.related_model._meta  # type: ignore[union-attr]
        return (
            f"a list of {target.label} primary keys ({expected(target.pk)}) "
            "or natural keys (lists)"
        )
    if field.many_to_one or field.one_to_one:
        target = field.related_model._meta  # type: ignore[union-attr]
        return (
            f"the primary key of a {target.label} "
            f"({expected(field.target_field)}) or its natural key (a list)"  # type: ignore[attr-defined]
        )
    for field_class, expectation in _EXPECTATIONS:
        if isinstance(field, field_class):
            return expectation
    return f"a value {type(field).__name__} accepts"


def reason(exc: BaseException) -> str | None:
    """
    Why a value was refused, when the error says more than "wrong format":
    Django's message for a valid-looking but impossible value (a 30 February,
    a duration beyond its limits), or "out of range". Internal messages of
    Python's conversions are left out.
    """
    if isinstance(exc, OutOfRange):
        return str(exc)
    if isinstance(exc, OverflowError):
        return "it is out of range"
    if isinstance(exc, ValidationError) and getattr(exc, "code", None) not in (
        None,
        "invalid",
        "invalid_nullable",
    ):
        return "; ".join(str(message) for message in exc.messages)
    return None


def describe(
    label: str, field: models.Field[Any, Any], value: Any, exc: BaseException | None
) -> str:
    """The message of an invalid value: field, what was expected, what was found."""
    because = None if exc is None else reason(exc)
    message = f"{label}.{field.name}: expected {expected(field)}, got {shorten(value)}"
    return f"{message}: {because}." if because else f"{message}."
