"""
Checking foreign keys after a load, and naming the object that breaks one.

Like loaddata, histfixtures writes with constraint checks deferred (so
forward references work) and checks at the end. The database's own check
only says that *some* row is wrong; this module finds the first one with one
anti-join per foreign key, so the error can name the fixture object.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models import Exists, OuterRef

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
