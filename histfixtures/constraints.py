"""
Checking constraints after a load, and naming the rows that break one.

Like loaddata, histfixtures writes with constraint checks deferred (so
forward references work) and checks at the end. The database's own check
only says that *some* row is wrong, and which kind of constraint: on SQLite
always a foreign key (PRAGMA foreign_key_check), on PostgreSQL whatever was
declared deferrable (every foreign key Django creates, and unique
constraints with ``deferrable=Deferrable.DEFERRED``). This module reads the
kind from the database's error and finds the rows at fault, with one
anti-join per foreign key or one grouping query per unique constraint, so
the error can name the fixture objects.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models import Count, Exists, OuterRef

ModelClass = type[models.Model]


@dataclass(frozen=True)
class DanglingReference:
    """A row whose foreign key points to a row that does not exist."""

    model: ModelClass
    pk: Any
    field: models.Field[Any, Any]
    value: Any


def find_dangling_reference(
    Models: Iterable[ModelClass], using: str
) -> DanglingReference | None:
    """Return the first broken foreign key in the tables of ``Models``."""
    for Model in Models:
        for field in Model._meta.local_concrete_fields:
            if not field.is_relation or not getattr(field, "db_constraint", True):
                continue
            dangling = _first_dangling_row(Model, field, using)
            if dangling is not None:
                return dangling
    return None


def _first_dangling_row(
    Model: ModelClass, field: models.Field[Any, Any], using: str
) -> DanglingReference | None:
    Target = field.remote_field.model  # type: ignore[union-attr]
    target_field = field.target_field  # type: ignore[attr-defined]
    target_rows = Target._base_manager.db_manager(using).filter(
        **{target_field.attname: OuterRef(field.attname)}
    )
    row = (
        Model._base_manager.db_manager(using)
        .filter(**{f"{field.attname}__isnull": False})
        .filter(~Exists(target_rows))
        .values_list("pk", field.attname)
        .first()
    )
    if row is None:
        return None
    return DanglingReference(Model, row[0], field, row[1])


# SQLSTATE codes (PostgreSQL Appendix A, class 23) of the violations the
# errors name: a deferred exclusion constraint (23P01) or constraint trigger
# gets the database's own message.
FOREIGN_KEY_VIOLATION = "23503"
UNIQUE_VIOLATION = "23505"


@dataclass(frozen=True)
class Violation:
    """What the database's end-of-load check said, read from its error."""

    code: str | None
    table: str | None
    constraint: str | None
    detail: str | None

    @property
    def is_foreign_key(self) -> bool:
        # Without a SQLSTATE the error is Django's own check_constraints()
        # (SQLite's PRAGMA foreign_key_check), which checks foreign keys only.
        return self.code is None or self.code == FOREIGN_KEY_VIOLATION


def violation_of(exc: Exception) -> Violation:
    """The SQLSTATE, table, constraint and detail of a database error."""
    driver_error = exc.__cause__
    code = getattr(driver_error, "sqlstate", None) or getattr(
        driver_error, "pgcode", None
    )
    diag = getattr(driver_error, "diag", None)
    return Violation(
        code=code,
        table=getattr(diag, "table_name", None),
        constraint=getattr(diag, "constraint_name", None),
        detail=getattr(diag, "message_detail", None),
    )


@dataclass(frozen=True)
class DuplicateRows:
    """Rows that share the values a unique constraint allows only once."""

    fields: tuple[str, ...]
    values: tuple[Any, ...]
    pks: list[Any]


def find_duplicate_rows(
    Model: ModelClass, constraint_name: str, using: str
) -> DuplicateRows | None:
    """
    The first set of rows of ``Model`` that break its unique constraint
    ``constraint_name``, or None if it is not a unique constraint on fields.
    """
    constraint = next(
        (
            c
            for c in Model._meta.constraints
            if c.name == constraint_name and isinstance(c, models.UniqueConstraint)
        ),
        None,
    )
    if constraint is None or not constraint.fields:
        return None  # An expression (functional) constraint: no fields to read.
    names = list(constraint.fields)
    rows = Model._base_manager.db_manager(using).all()
    if constraint.condition is not None:
        rows = rows.filter(constraint.condition)
    if constraint.nulls_distinct is not False:
        rows = rows.filter(**{f"{name}__isnull": False for name in names})
    keys = (
        rows.order_by(*names)
        .values(*names)
        .annotate(_rows=Count("pk"))
        .filter(_rows__gt=1)
    )
    key = next(iter(keys[:1]), None)
    if key is None:
        return None
    values = tuple(key[name] for name in names)
    pks = list(
        rows.filter(**dict(zip(names, values, strict=True)))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return DuplicateRows(tuple(constraint.fields), values, pks)
