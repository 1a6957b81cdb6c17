"""
Shortcuts through the value conversions of Django's own common fields.

A fixture load converts every value twice: ``to_python()`` when it is read
and ``get_db_prep_save()`` when it is written. For the common fields both
are layers of calls (``get_prep_value()`` runs ``to_python()`` again, then
the backend adapts) that, for the types the first conversion produces,
return the value unchanged or end in one backend ``adapt_*()`` call. On a
large fixture those layers were a third of the load.

A shortcut is taken only for a field of exactly one of Django's classes
(a subclass may override anything) and a value of exactly the type that
class's code leaves as it is; every other value goes through the field's
own method, so the result is always what Django's code returns.
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.base.operations import BaseDatabaseOperations

from histfixtures.expected import OutOfRange

Convert = Callable[[Any], Any]

# Django's own field classes, by the type of value they hold.
STRING_FIELDS = (
    models.CharField,
    models.TextField,
    models.SlugField,
    models.EmailField,
    models.URLField,
)
INTEGER_FIELDS = (
    models.IntegerField,
    models.BigIntegerField,
    models.SmallIntegerField,
    models.PositiveIntegerField,
    models.PositiveBigIntegerField,
    models.PositiveSmallIntegerField,
)
AUTO_FIELDS = (models.AutoField, models.BigAutoField, models.SmallAutoField)


def python_converter(field: models.Field[Any, Any]) -> Convert:
    """A function equal to ``field.to_python``."""
    kind = type(field)
    if kind in STRING_FIELDS:
        return _unchanged_if(str, field.to_python)
    if kind in INTEGER_FIELDS or kind in AUTO_FIELDS:
        return _unchanged_if(int, field.to_python)
    if kind is models.BooleanField:
        return _unchanged_if(bool, field.to_python)
    if kind is models.ForeignKey or kind is models.OneToOneField:
        # A foreign key's to_python() is its target field's.
        return python_converter(field.target_field)  # type: ignore[attr-defined]
    return field.to_python


def column_converter(
    field: models.Field[Any, Any], connection: BaseDatabaseWrapper
) -> Convert:
    """
    ``python_converter(field)``, refusing an integer its column cannot hold.

    Django leaves that to the database, which says so without naming the
    field (PostgreSQL) or not in a database error at all (SQLite's driver
    raises OverflowError beyond 64 bits). The lower bound 0 of a positive
    field is left to the column's CHECK constraint, as for loaddata.
    """
    convert = python_converter(field)
    column_range = integer_range(field, connection)
    if column_range is None:
        return convert
    low, high = _signed(column_range)

    def checked(value: Any) -> Any:
        if type(value) is not int:
            value = convert(value)
            if type(value) is not int:
                return value
        if low <= value <= high:
            return value
        raise OutOfRange(*column_range, connection.vendor)

    return checked


def integer_range(
    field: models.Field[Any, Any], connection: BaseDatabaseWrapper
) -> tuple[int, int] | None:
    """The integers the column of ``field`` holds (a key's: its target's)."""
    while field.is_relation and not field.many_to_many:
        field = field.target_field  # type: ignore[attr-defined]
    internal_type = field.get_internal_type()
    if internal_type not in BaseDatabaseOperations.integer_field_ranges:
        return None  # Not an integer column.
    low, high = connection.ops.integer_field_range(internal_type)
    if low is None or high is None:
        return None
    return low, high


def integer_bounds(
    field: models.Field[Any, Any], connection: BaseDatabaseWrapper
) -> tuple[int, int] | None:
    """``integer_range()``, with a positive field's negative half allowed."""
    column_range = integer_range(field, connection)
    return None if column_range is None else _signed(column_range)


def _signed(column_range: tuple[int, int]) -> tuple[int, int]:
    low, high = column_range
    return (-high - 1 if low == 0 else low), high


def db_preparer(
    field: models.Field[Any, Any], connection: BaseDatabaseWrapper
) -> Convert:
    """A function equal to ``field.get_db_prep_save(value, connection)``."""

    def save(value: Any) -> Any:
        return field.get_db_prep_save(value, connection=connection)

    kind = type(field)
    ops = connection.ops
    if kind in STRING_FIELDS:
        return _unchanged_if(str, save)
    if kind is models.BooleanField:
        return _unchanged_if(bool, save)
    if kind in AUTO_FIELDS:
        return _when(int, ops.validate_autopk_value, save)
    if kind in INTEGER_FIELDS:
        internal_type = field.get_internal_type()
        return _when(
            int, lambda value: ops.adapt_integerfield_value(value, internal_type), save
        )
    if kind is models.DateField:
        return _when(datetime.date, ops.adapt_datefield_value, save)
    if kind is models.DateTimeField:
        return _when(datetime.datetime, _datetime_adapter(connection, save), save)
    if kind is models.DecimalField:
        return _when(decimal.Decimal, _decimal_adapter(field, connection, save), save)
    if kind is models.JSONField:
        encoder = field.encoder  # type: ignore[attr-defined]
        return _when(
            (dict, list), lambda value: ops.adapt_json_value(value, encoder), save
        )
    if kind is models.ForeignKey or kind is models.OneToOneField:
        # An integer key is never None or "", the values the key treats apart.
        target = db_preparer(field.target_field, connection)  # type: ignore[attr-defined]
        return _when(int, target, save)
    return save


def _unchanged_if(kind: type, convert: Convert) -> Convert:
    """``convert``, skipped for values of exactly the type ``kind``."""

    def shortcut(value: Any) -> Any:
        return value if type(value) is kind else convert(value)

    return shortcut


def _when(kinds: type | tuple[type, ...], adapt: Convert, convert: Convert) -> Convert:
    """``adapt`` for values of exactly the type(s) ``kinds``, else ``convert``."""
    exact = kinds if isinstance(kinds, tuple) else (kinds,)

    def shortcut(value: Any) -> Any:
        return adapt(value) if type(value) in exact else convert(value)

    return shortcut


def _datetime_adapter(connection: BaseDatabaseWrapper, save: Convert) -> Convert:
    """
    A datetime's backend value; ``get_prep_value()`` leaves it unchanged
    unless it is naive while ``USE_TZ`` is on (then it warns and converts).
    """
    adapt = connection.ops.adapt_datetimefield_value
    use_tz = settings.USE_TZ

    def adapt_datetime(value: datetime.datetime) -> Any:
        if use_tz and value.utcoffset() is None:
            return save(value)
        return adapt(value)

    return adapt_datetime


def _decimal_adapter(
    field: models.Field[Any, Any], connection: BaseDatabaseWrapper, save: Convert
) -> Convert:
    """A finite Decimal's backend value (``to_python()`` rejects the rest)."""
    adapt = connection.ops.adapt_decimalfield_value
    max_digits = field.max_digits  # type: ignore[attr-defined]
    decimal_places = field.decimal_places  # type: ignore[attr-defined]

    def adapt_decimal(value: decimal.Decimal) -> Any:
        if not value.is_finite():
            return save(value)
        return adapt(value, max_digits, decimal_places)

    return adapt_decimal
