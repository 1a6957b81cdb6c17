"""
Writing deserialized objects to the database, a batch per model.

Rows are written with plain SQL rather than ``Model.save()``: a fixture's
values are stored exactly as written (no ``auto_now``, no custom ``save()``),
and no model signal is sent. Each batch runs in a savepoint; when one fails
it is replayed object by object, so the error names the exact object that
caused it.

A table that was empty when the load first wrote to it skips the query for
existing rows (the common case: a fresh database); if a batch then collides
with rows written earlier in the same load, it is retried the careful way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from django.core.serializers.base import DeserializedObject
from django.db import DatabaseError, connections, models, transaction

from histfixtures.exceptions import (
    FixtureError,
    InvalidValueError,
    ObjectExistsError,
)
from histfixtures.links import LinkTable, through_model
from histfixtures.locations import Location
from histfixtures.rows import FixtureObject
from histfixtures.tables import Table
from histfixtures.types import OnConflict

DEFAULT_BATCH_SIZE = 1000

ModelClass = type[models.Model]


class Pending:
    """A deserialized object waiting for its batch, and where it came from."""

    __slots__ = ("Model", "_pk_attname", "fixture_pk", "location", "obj", "values")

    def __init__(self, obj: DeserializedObject, location: Location) -> None:
        self.obj = obj
        self.location = location
        # The object's values by attname: what its row is written from.
        self.values: Mapping[str, Any]
        if isinstance(obj, FixtureObject):
            self.Model, self.values = obj.Model, obj.values
        else:
            self.Model = type(obj.object)
            self.values = _Attributes(obj.object)
        self._pk_attname = self.Model._meta.pk.attname
        # The pk as read (None for an object inserted without one), for
        # error messages.
        self.fixture_pk = self.pk

    @property
    def pk(self) -> Any:
        return self.values[self._pk_attname]

    @property
    def instance(self) -> models.Model:
        """The model instance (made now if the object was read as values)."""
        return self.obj.object

    @property
    def m2m_data(self) -> dict[str, Any]:
        """The object's many-to-many values, by field name (writable)."""
        if self.obj.m2m_data is None:
            self.obj.m2m_data = {}
        return self.obj.m2m_data


class _Attributes(Mapping[str, Any]):
    """A model instance's attribute values, read as a mapping."""

    def __init__(self, instance: models.Model) -> None:
        self.instance = instance

    def __getitem__(self, attname: str) -> Any:
        return getattr(self.instance, attname)

    def __iter__(self) -> Iterator[str]:
        return (f.attname for f in self.instance._meta.concrete_fields)

    def __len__(self) -> int:
        return len(self.instance._meta.concrete_fields)


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
        self._tables: dict[ModelClass, Table] = {}
        self._link_tables: dict[models.Field[Any, Any], LinkTable] = {}
        # Models whose table was empty when this load first wrote to it.
        self._fresh: dict[ModelClass, bool] = {}
        self.written: dict[ModelClass, int] = {}
        self.skipped = 0

    def add(self, pending: Pending) -> None:
        """Queue an object; write its model's batch when it is full."""
        Model = pending.Model
        pk = pending.pk
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
        inserted: list[Pending] = []
        updated: list[Pending] = []
        if self.on_conflict == "update" and self._is_fresh(Model):
            try:
                with transaction.atomic(using=self.using):
                    self._insert(Model, batch)
                inserted, updated = batch, []
            except (DatabaseError, ValueError):
                pass  # A collision or a bad object: the careful way tells.
        if not inserted:
            inserted, updated = self._write_carefully(Model, batch)
        self._write_links(Model, inserted, fresh=True)
        self._write_links(Model, updated, fresh=False)
        self.written[Model] = self.written.get(Model, 0) + len(inserted) + len(updated)

    def table(self, Model: ModelClass) -> Table:
        try:
            return self._tables[Model]
        except KeyError:
            table = self._tables[Model] = Table(Model, self.connection)
            return table

    def link_table(self, field: models.Field[Any, Any]) -> LinkTable:
        try:
            return self._link_tables[field]
        except KeyError:
            links = self._link_tables[field] = LinkTable(field, self.connection)
            return links

    def _is_fresh(self, Model: ModelClass) -> bool:
        if Model not in self._fresh:
            manager = Model._base_manager.db_manager(self.using)
            self._fresh[Model] = not manager.exists()
        return self._fresh[Model]

    def _write_carefully(
        self, Model: ModelClass, batch: list[Pending]
    ) -> tuple[list[Pending], list[Pending]]:
        """Look existing rows up, then insert the new and update the rest."""
        existing = self._existing_pks(Model, [p.pk for p in batch])
        inserts = [p for p in batch if p.pk not in existing]
        updates = [p for p in batch if p.pk in existing]
        if updates and self.on_conflict == "error":
            raise ObjectExistsError(
                f"A {Model._meta.label} row with this primary key already exists "
                'and on_conflict="error" was given.',
                fixture=updates[0].location.fixture,
                index=updates[0].location.index,
                pk=updates[0].fixture_pk,
                model=Model._meta.label,
            )
        if self.on_conflict == "ignore":
            self.skipped += len(updates)
            updates = []
        try:
            with transaction.atomic(using=self.using):
                self._insert(Model, inserts)
        except (DatabaseError, ValueError) as exc:
            self._blame(inserts, lambda p: self._insert(Model, [p]))
            raise exc
        try:
            with transaction.atomic(using=self.using):
                self._update(Model, updates)
        except (DatabaseError, ValueError) as exc:
            self._blame(updates, lambda p: self._update(Model, [p]))
            raise exc
        return inserts, updates

    def _existing_pks(self, Model: ModelClass, pks: list[Any]) -> set[Any]:
        manager = Model._base_manager.db_manager(self.using)
        size = self.connection.ops.bulk_batch_size(["pk"], pks) or len(pks)
        existing: set[Any] = set()
        for start in range(0, len(pks), size):
            chunk = pks[start : start + size]
            existing.update(manager.filter(pk__in=chunk).values_list("pk", flat=True))
        return existing

    def _insert(self, Model: ModelClass, batch: list[Pending]) -> None:
        table = self.table(Model)
        if table.plain:
            table.insert([table.row(p.values) for p in batch])
            return
        # raw=True stores the attribute values as they are, as Model.save_base
        # does for fixtures; QuerySet.bulk_create() would run pre_save().
        Model._base_manager.db_manager(self.using)._insert(  # type: ignore[attr-defined]
            [p.instance for p in batch], fields=table.fields, raw=True, using=self.using
        )

    def _update(self, Model: ModelClass, batch: list[Pending]) -> None:
        table = self.table(Model)
        table.update([table.update_row(p.values) for p in batch])

    def _blame(self, batch: list[Pending], write: Callable[[Pending], None]) -> None:
        """Replay a failed batch one object at a time to name the culprit."""
        for pending in batch:
            self._guarded(pending, lambda p=pending: write(p))  # type: ignore[misc]

    def _insert_one_without_pk(self, pending: Pending) -> None:
        instance = pending.instance
        Model = type(instance)

        def insert() -> None:
            # _save_table assigns the new primary key to the instance.
            instance._save_table(  # type: ignore[attr-defined]
                raw=True, cls=Model, force_insert=True, using=self.using
            )

        self._guarded(pending, insert)
        self._write_links(Model, [pending], fresh=True)
        self.written[Model] = self.written.get(Model, 0) + 1

    def _guarded(self, pending: Pending, write: Callable[[], None]) -> None:
        """Run one object's write in a savepoint, turning errors into ours."""
        try:
            with transaction.atomic(using=self.using):
                write()
        except FixtureError:
            raise
        except (DatabaseError, ValueError) as exc:
            raise InvalidValueError(
                f"The database rejected this object: {exc}".strip(),
                fixture=pending.location.fixture,
                index=pending.location.index,
                pk=pending.fixture_pk,
                model=pending.Model._meta.label,
            ) from exc

    def _write_links(
        self, Model: ModelClass, batch: list[Pending], *, fresh: bool
    ) -> None:
        """Write the many-to-many links of each object that lists a field."""
        for field in Model._meta.many_to_many:
            owners = [p for p in batch if field.name in p.m2m_data]
            if owners:
                self.write_links(field, owners, fresh=fresh)

    def write_links(
        self, field: models.Field[Any, Any], owners: list[Pending], *, fresh: bool
    ) -> None:
        """Make the links of ``field`` for ``owners`` their m2m data."""
        first = owners[0]
        Model = first.Model
        through = through_model(field)
        if not through._meta.auto_created:
            raise InvalidValueError(
                f"{Model._meta.label}.{field.name} goes through the model "
                f"{through._meta.label}; load that model's rows instead.",
                fixture=first.location.fixture,
                index=first.location.index,
                pk=first.fixture_pk,
                model=Model._meta.label,
                field=field.name,
            )
        links = [(p.pk, target) for p in owners for target in p.m2m_data[field.name]]
        link_table = self.link_table(field)
        try:
            with transaction.atomic(using=self.using):
                if fresh:
                    link_table.add(links)
                else:
                    link_table.set([p.pk for p in owners], links)
        except (DatabaseError, ValueError) as exc:
            raise InvalidValueError(
                f"The database rejected the many-to-many links: {exc}",
                fixture=first.location.fixture,
                index=first.location.index,
                pk=first.fixture_pk,
                model=Model._meta.label,
                field=field.name,
            ) from exc
