"""
Writing deserialized objects to the database, a batch per model.

Rows are written with raw inserts and plain updates rather than
``Model.save()``: a fixture's values are stored exactly as written (no
``auto_now``, no custom ``save()``), and no model signal is sent. Each batch
runs in a savepoint; when one fails it is replayed object by object, so the
error names the exact object that caused it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

from django.core.serializers.base import DeserializedObject
from django.db import DatabaseError, connections, models, transaction

from histfixtures.exceptions import (
    FixtureError,
    InvalidValueError,
    ObjectExistsError,
)
from histfixtures.locations import Location
from histfixtures.types import OnConflict

DEFAULT_BATCH_SIZE = 500

ModelClass = type[models.Model]


@dataclass
class Pending:
    """A deserialized object waiting for its batch, and where it came from."""

    obj: DeserializedObject
    location: Location

    @property
    def instance(self) -> models.Model:
        return self.obj.object

    @property
    def m2m_data(self) -> dict[str, Any]:
        return self.obj.m2m_data or {}


class RowWriter:
    """Buffers objects per model and writes them in batches."""

    def __init__(
        self, using: str, on_conflict: OnConflict, batch_size: int | None
    ) -> None:
        self.using = using
        self.connection = connections[using]
        self.on_conflict = on_conflict
        self.batch_size = batch_size or DEFAULT_BATCH_SIZE
        self._pending: dict[ModelClass, dict[Any, Pending]] = {}
        self.written: dict[ModelClass, int] = {}
        self.skipped = 0

    def add(self, pending: Pending) -> None:
        """Queue an object; write its model's batch when it is full."""
        Model = type(pending.instance)
        pk = pending.instance.pk
        if pk is None:
            self._insert_one_without_pk(pending)
            return
        batch = self._pending.setdefault(Model, {})
        if pk in batch:
            # The same row twice in one load: write the first one, then upsert.
            self.flush(Model)
            batch = self._pending.setdefault(Model, {})
        batch[pk] = pending
        if len(batch) >= self.batch_size:
            self.flush(Model)

    def flush_all(self) -> None:
        for Model in list(self._pending):
            self.flush(Model)

    def flush(self, Model: ModelClass) -> None:
        """Write every queued object of ``Model``."""
        batch = list(self._pending.pop(Model, {}).values())
        if not batch:
            return
        existing = self._existing_pks(Model, [p.instance.pk for p in batch])
        inserts = [p for p in batch if p.instance.pk not in existing]
        updates = [p for p in batch if p.instance.pk in existing]
        if updates and self.on_conflict == "error":
            raise ObjectExistsError(
                f"A {Model._meta.label} row with this primary key already exists "
                'and on_conflict="error" was given.',
                fixture=updates[0].location.fixture,
                index=updates[0].location.index,
                pk=updates[0].instance.pk,
                model=Model._meta.label,
            )
        if self.on_conflict == "ignore":
            self.skipped += len(updates)
            updates = []
        self._insert(Model, inserts)
        for pending in updates:
            self._guarded(pending, lambda p=pending: self._update_one(p))
        written = [*inserts, *updates]
        write_many_to_many(Model, written, self.using, self.batch_size)
        self.written[Model] = self.written.get(Model, 0) + len(written)

    def _existing_pks(self, Model: ModelClass, pks: list[Any]) -> set[Any]:
        manager = Model._base_manager.db_manager(self.using)
        size = self.connection.ops.bulk_batch_size(["pk"], pks) or len(pks)
        existing: set[Any] = set()
        for start in range(0, len(pks), size):
            chunk = pks[start : start + size]
            existing.update(manager.filter(pk__in=chunk).values_list("pk", flat=True))
        return existing

    def _insert(self, Model: ModelClass, batch: list[Pending]) -> None:
        if not batch:
            return
        fields = insert_fields(Model)
        size = self.connection.ops.bulk_batch_size(fields, batch) or len(batch)
        for start in range(0, len(batch), size):
            chunk = batch[start : start + size]
            try:
                with transaction.atomic(using=self.using):
                    self._raw_insert(Model, [p.instance for p in chunk], fields)
            except (DatabaseError, ValueError) as exc:
                self._blame(chunk, exc)

    def _blame(self, chunk: list[Pending], exc: Exception) -> None:
        """Replay a failed batch one object at a time to name the culprit."""
        Model = type(chunk[0].instance)
        fields = insert_fields(Model)
        for pending in chunk:
            self._guarded(
                pending,
                lambda p=pending: self._raw_insert(Model, [p.instance], fields),
            )
        raise exc

    def _raw_insert(
        self,
        Model: ModelClass,
        instances: list[models.Model],
        fields: list[models.Field[Any, Any]],
    ) -> None:
        # raw=True stores the attribute values as they are, as Model.save_base
        # does for fixtures; QuerySet.bulk_create() would run pre_save().
        Model._base_manager.db_manager(self.using)._insert(  # type: ignore[attr-defined]
            instances, fields=fields, raw=True, using=self.using
        )

    def _update_one(self, pending: Pending) -> None:
        instance = pending.instance
        Model = type(instance)
        values = {
            f.attname: getattr(instance, f.attname)
            for f in insert_fields(Model)
            if not f.primary_key
        }
        if values:
            Model._base_manager.db_manager(self.using).filter(pk=instance.pk).update(
                **values
            )

    def _insert_one_without_pk(self, pending: Pending) -> None:
        instance = pending.instance
        Model = type(instance)

        def insert() -> None:
            # _save_table assigns the new primary key to the instance.
            instance._save_table(  # type: ignore[attr-defined]
                raw=True, cls=Model, force_insert=True, using=self.using
            )

        self._guarded(pending, insert)
        write_many_to_many(Model, [pending], self.using, self.batch_size)
        self.written[Model] = self.written.get(Model, 0) + 1

    def _guarded(self, pending: Pending, write: Any) -> None:
        """Run one object's write in a savepoint, turning errors into ours."""
        try:
            with transaction.atomic(using=self.using):
                write()
        except FixtureError:
            raise
        except (DatabaseError, ValueError) as exc:
            instance = pending.instance
            raise InvalidValueError(
                f"The database rejected this object: {exc}".strip(),
                fixture=pending.location.fixture,
                index=pending.location.index,
                pk=instance.pk,
                model=instance._meta.label,
            ) from exc


def insert_fields(Model: ModelClass) -> list[models.Field[Any, Any]]:
    """The columns of ``Model``'s own table that an insert writes."""
    return [
        f
        for f in Model._meta.local_concrete_fields
        if not getattr(f, "generated", False)
    ]


def write_many_to_many(
    Model: ModelClass, batch: list[Pending], using: str, batch_size: int
) -> None:
    """Replace the many-to-many links of each object that lists a field."""
    for field in Model._meta.many_to_many:
        owners = [p for p in batch if field.name in p.m2m_data]
        if not owners:
            continue
        through = through_model(field)
        if not through._meta.auto_created:
            raise InvalidValueError(
                f"{Model._meta.label}.{field.name} goes through the model "
                f"{through._meta.label}; load that model's rows instead.",
                fixture=owners[0].location.fixture,
                index=owners[0].location.index,
                pk=owners[0].instance.pk,
                model=Model._meta.label,
                field=field.name,
            )
        with _link_errors(owners[0], field, using):
            set_links(field, owners, using, batch_size)


def set_links(
    field: models.Field[Any, Any], owners: list[Pending], using: str, batch_size: int
) -> None:
    """
    Make the links of ``field`` for ``owners`` exactly their m2m data.

    Like ``.set()``, links that stay are left alone (so re-running a load
    leaves the link table exactly as it was), missing ones are added and the
    rest removed.
    """
    through = through_model(field)
    source, target = link_columns(field)
    manager = through._base_manager.db_manager(using)
    owner_pks = [p.instance.pk for p in owners]
    wanted = {
        (p.instance.pk, value): None for p in owners for value in p.m2m_data[field.name]
    }
    existing = manager.filter(**{f"{source}__in": owner_pks}).values_list(
        "pk", source, target
    )
    stale = []
    for pk, owner, value in existing:
        if (owner, value) in wanted:
            del wanted[(owner, value)]
        else:
            stale.append(pk)
    if stale:
        manager.filter(pk__in=stale)._raw_delete(using)
    rows = [through(**{source: owner, target: value}) for owner, value in wanted]
    manager.bulk_create(rows, batch_size=batch_size)


def through_model(field: models.Field[Any, Any]) -> ModelClass:
    """The model of a many-to-many field's link table."""
    through: ModelClass = field.remote_field.through  # type: ignore[union-attr]
    return through


def link_columns(field: models.Field[Any, Any]) -> tuple[str, str]:
    """The link table's columns for the owner and the target of a m2m field."""
    meta = through_model(field)._meta
    owner = meta.get_field(field.m2m_field_name())  # type: ignore[attr-defined]
    target = meta.get_field(field.m2m_reverse_field_name())  # type: ignore[attr-defined]
    return (
        cast("models.Field[Any, Any]", owner).attname,
        cast("models.Field[Any, Any]", target).attname,
    )


@contextmanager
def _link_errors(
    pending: Pending, field: models.Field[Any, Any], using: str
) -> Iterator[None]:
    try:
        with transaction.atomic(using=using):
            yield
    except (DatabaseError, ValueError) as exc:
        raise InvalidValueError(
            f"The database rejected the many-to-many links: {exc}",
            fixture=pending.location.fixture,
            index=pending.location.index,
            pk=pending.instance.pk,
            model=pending.instance._meta.label,
            field=field.name,
        ) from exc
