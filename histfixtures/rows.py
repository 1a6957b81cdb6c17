"""
Fixture objects held as their column values, the instance made on demand.

The load engine writes rows, not instances; for a large fixture, building
one model instance per object (``Model.__init__`` walks every field and
sends two signals) was the largest single cost left. For a model whose
``__init__`` stores each value unchanged, the row is the same with or
without the instance, so the instance is built only if something asks for
it (an error message, the ORM's insert for a field with its own SQL).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.serializers.base import DeserializedObject
from django.db import models
from django.db.models import signals
from django.db.models.fields.related_descriptors import (
    ForeignKeyDeferredAttribute,
)
from django.db.models.query_utils import DeferredAttribute

ModelClass = type[models.Model]

# The attribute descriptors that store an assigned value as it is.
_PLAIN_DESCRIPTORS = (DeferredAttribute, ForeignKeyDeferredAttribute)


class FixtureObject(DeserializedObject):
    """
    A DeserializedObject whose instance is ``Model(**values)``, made when
    ``object`` is first read.

    ``values`` holds every concrete field's value by attname (the defaults
    of fields the fixture leaves out included, computed once), so the
    instance, when made, is the one ``Model(**data)`` would have been.
    """

    def __init__(
        self,
        Model: ModelClass,
        values: dict[str, Any],
        m2m_data: dict[str, Sequence[Any]] | None = None,
        deferred_fields: dict[models.Field[Any, Any], Any] | None = None,
    ) -> None:
        self.Model = Model
        self.values = values
        self._object: models.Model | None = None
        # None: no instance yet (the setter below takes it).
        super().__init__(None, m2m_data, deferred_fields)  # type: ignore[arg-type]

    @property
    def object(self) -> models.Model:
        if self._object is None:
            self._object = self.Model(**self.values)
        return self._object

    @object.setter
    def object(self, instance: models.Model | None) -> None:
        self._object = instance


def row_fields(Model: ModelClass) -> list[models.Field[Any, Any]] | None:
    """
    The fields whose values make ``Model``'s rows, in ``__init__``'s order,
    if a row can be made without an instance; None if it cannot.

    It can when ``Model(**values)`` would store each value unchanged: no
    ``__init__`` or ``pk`` of the model's own, no ``pre_init``/``post_init``
    receivers, a plain attribute per field (not a file's, say), a single
    concrete primary key and no generated field.
    """
    meta = Model._meta
    if (
        not meta.pk.concrete  # A composite key's descriptor has no class value.
        or Model.__init__ is not models.Model.__init__
        or Model.pk is not models.Model.pk
        or signals.pre_init.has_listeners(Model)
        or signals.post_init.has_listeners(Model)
    ):
        return None
    fields = list(meta.concrete_fields)
    for field in fields:
        if (
            getattr(field, "generated", False)
            or (not field.is_relation and field.attname != field.name)
            or type(getattr(Model, field.attname, None)) not in _PLAIN_DESCRIPTORS
        ):
            return None
    return fields
