"""
Writing deserialized objects to the database, a batch per table.

Rows are written with plain SQL rather than ``Model.save()``: a fixture's
values are stored exactly as written (no ``auto_now``, no custom ``save()``),
and no model signal is sent. Each batch runs in a savepoint; when one fails
it is replayed object by object, so the error names the exact object that
caused it.

Batching must never change which rows result, so the writer keeps the order
loaddata's object-by-object saves have wherever the order shows:

- each table is written in fixture order: queued objects of a table are
  written before any object of it that is saved on its own, and a batch
  that mixes new and existing rows writes them in runs, in order (a unique
  value may move from an existing row to a new one);
- whoever reads the database during the load (natural-key lookups) first
  calls ``flush_tables()``, so it sees what loaddata would have written by
  then, and ``on_write`` tells it which tables changed.

Objects whose rows only Django's own ``Model._save_table()`` makes right are
saved one by one through it, as loaddata's ``save_base(raw=True)`` does
without the signals: objects without a primary key, composite primary keys,
``order_with_respect_to`` (the order is computed on insert) and values that
are database expressions (``db_default``).

A table that was empty when the load first wrote to it skips the query for
existing rows (the common case: a fresh database); if a batch then collides
with rows written earlier in the same load, its primary key constraint
says so and the batch is retried the careful way. Unmanaged tables may have
no such constraint, so they always take the careful way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import groupby
from typing import Any

from django.core.serializers.base import DeserializedObject
from django.db import DatabaseError, connections, models, transaction
from django.db.models.expressions import DatabaseDefault

from histfixtures.conversions import integer_bounds, integer_range
from histfixtures.exceptions import (
    FixtureError,
    InvalidValueError,
    ObjectExistsError,
)
from histfixtures.expected import OutOfRange, describe
from histfixtures.links import LinkTable, through_model
from histfixtures.locations import Location
from histfixtures.rows import FixtureObject
from histfixtures.tables import Table
from histfixtures.types import OnConflict

DEFAULT_BATCH_SIZE = 1000

# What writing a row may raise for a value the database cannot take: its
# errors, and the driver's or Django's adaptation of the value (sqlite3's
# OverflowError beyond 64 bits, a datetime that overflows when converted to
# UTC, decimal.InvalidOperation, the TypeError of json.dumps() for a YAML
# date or set inside a JSONField value).
_WRITE_ERRORS = (DatabaseError, ValueError, ArithmeticError, TypeError)
_INT64 = (-(2**63), 2**63 - 1)

ModelClass = type[models.Model]


class Pending:
    """A deserialized object waiting for its batch, and where it came from."""

    __slots__ = (
        "Model",
        "_pk_attname",
        "fixture_pk",
        "location",
        "obj",
        "skipped",
        "values",
    )

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
        # Set when on_conflict="ignore" kept the existing row instead.
        self.skipped = False

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

    def set_value(self, field: models.Field[Any, Any], value: Any) -> None:
        """Set a field's value, on the instance too if one was made."""
        if isinstance(self.obj, FixtureObject):
            self.obj.values[field.attname] = value
            if self.obj._object is None:
                return
        setattr(self.obj.object, field.attname, value)


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


class _TablePlan:
    """How the objects of one concrete model (and its proxies) are written."""

    def __init__(self, Model: ModelClass, connection: Any) -> None:
        meta = Model._meta
        self.Model = Model
        self.table = Table(Model, connection)
        # Rows only Django's _save_table() makes right, whatever the values.
        self.saved_by_django = len(meta.pk_fields) > 1 or bool(
            meta.order_with_respect_to
        )
        # Fields whose value may be a DatabaseDefault expression.
        self.db_default_attnames = [
            f.attname for f in meta.local_concrete_fields if f.has_db_default()
        ]
        # Only a managed table surely has the primary key constraint that
        # the blind insert into a fresh table relies on.
        self.may_insert_blindly = meta.managed

    def needs_django_save(self, pending: Pending) -> bool:
        if self.saved_by_django or pending.pk is None:
            return True
        if not self.db_default_attnames:
            return False
        values = pending.values
        return any(
            isinstance(values[attname], DatabaseDefault)
            for attname in self.db_default_attnames
        )


class RowWriter:
    """Buffers objects per table and writes them in batches."""

    def __init__(
        self,
        using: str,
        on_conflict: OnConflict,
        batch_size: int | None,
        on_write: Callable[[ModelClass], None] | None = None,
    ) -> None:
        self.using = using
        self.connection = connections[using]
        self.on_conflict = on_conflict
        self.batch_size = batch_size or DEFAULT_BATCH_SIZE
        # Called with a concrete model after rows of its table were written.
        self.on_write = on_write
        self._pending: dict[ModelClass, dict[Any, Pending]] = {}
        self._plans: dict[ModelClass, _TablePlan] = {}
        self._link_tables: dict[models.Field[Any, Any], LinkTable] = {}
        # Models whose table was empty when this load first wrote to it.
        self._fresh: dict[ModelClass, bool] = {}
        # Objects written, by concrete model.
        self.written: dict[ModelClass, int] = {}
        self.skipped = 0

    def add(self, pending: Pending) -> None:
        """Queue an object (or save it now); write a batch when it is full."""
        plan = self.plan(pending.Model)
        Model = plan.Model
        if plan.needs_django_save(pending):
            self.flush(Model)
            self._save_with_django(plan, pending)
            return
        batch = self._pending.setdefault(Model, {})
        pk = pending.pk
        if pk in batch:
            # The same row twice in one load: write the first one, then upsert.
            self.flush(Model)
            batch = self._pending.setdefault(Model, {})
        batch[pk] = pending
        if len(batch) >= self.batch_size:
            self.flush(Model)

    def flush_tables(self, Models: Iterable[ModelClass] | None) -> None:
        """Write the queued objects of ``Models``' tables (None: every table)."""
        if Models is None:
            Models = list(self._pending)
        for Model in Models:
            self.flush(Model._meta.concrete_model or Model)

    def flush(self, Model: ModelClass) -> None:
        """Write every queued object of the concrete model ``Model``."""
        queued = self._pending.pop(Model, None)
        if not queued:
            return
        batch = list(queued.values())
        plan = self._plans[Model]
        inserted: list[Pending] | None = None
        if (
            self.on_conflict == "update"
            and plan.may_insert_blindly
            and self._is_fresh(Model)
        ):
            try:
                with transaction.atomic(using=self.using):
                    self._insert(plan, batch)
                inserted = batch
            except _WRITE_ERRORS:
                pass  # A collision or a bad object: the careful way tells.
        if inserted is batch:
            self._write_links(plan, batch, fresh=None)
            self._count(Model, len(batch))
            return
        inserted = self._write_carefully(plan, batch)
        written = [p for p in batch if not p.skipped]
        self._write_links(plan, written, fresh={id(p) for p in inserted})
        self._count(Model, len(written))

    def resave(self, pending: Pending) -> None:
        """
        Save an object again, now that its deferred references are resolved.

        loaddata saves such an object a second time at the end of the load,
        every field from the object's own values, so this does too.
        """
        plan = self.plan(pending.Model)
        if plan.needs_django_save(pending):
            self._guarded(
                pending,
                lambda: pending.instance._save_table(  # type: ignore[attr-defined]
                    raw=True, cls=plan.Model, using=self.using
                ),
            )
        else:
            self._guarded(pending, lambda: self._update(plan, [pending]))
        self._changed(plan.Model)

    def plan(self, Model: ModelClass) -> _TablePlan:
        try:
            return self._plans[Model]
        except KeyError:
            pass
        concrete = Model._meta.concrete_model or Model
        if concrete not in self._plans:
            self._plans[concrete] = _TablePlan(concrete, self.connection)
        plan = self._plans[Model] = self._plans[concrete]
        return plan

    def link_table(self, field: models.Field[Any, Any]) -> LinkTable:
        try:
            return self._link_tables[field]
        except KeyError:
            links = self._link_tables[field] = LinkTable(field, self.connection)
            return links

    def _count(self, Model: ModelClass, written: int) -> None:
        if written:
            self.written[Model] = self.written.get(Model, 0) + written
            self._changed(Model)

    def _changed(self, Model: ModelClass) -> None:
        if self.on_write is not None:
            self.on_write(Model)

    def _is_fresh(self, Model: ModelClass) -> bool:
        if Model not in self._fresh:
            manager = Model._base_manager.db_manager(self.using)
            self._fresh[Model] = not manager.exists()
        return self._fresh[Model]

    def _write_carefully(self, plan: _TablePlan, batch: list[Pending]) -> list[Pending]:
        """
        Look existing rows up, then insert the new and update the rest, in
        runs that keep the fixture's order. Return the inserted objects.
        """
        existing = self._existing_pks(plan.Model, [p.pk for p in batch])
        if existing and self.on_conflict == "error":
            first = next(p for p in batch if p.pk in existing)
            raise _exists_error(first)
        inserted: list[Pending] = []
        for exists, group in groupby(batch, key=lambda p: p.pk in existing):
            run = list(group)
            if not exists:
                self._write_run(run, lambda objs: self._insert(plan, objs))
                inserted += run
            elif self.on_conflict == "ignore":
                self._skip(run)
            else:
                self._write_run(run, lambda objs: self._update(plan, objs))
        return inserted

    def _write_run(
        self, run: list[Pending], write: Callable[[list[Pending]], None]
    ) -> None:
        try:
            with transaction.atomic(using=self.using):
                write(run)
        except _WRITE_ERRORS as exc:
            self._blame(run, lambda p: write([p]))
            raise exc

    def _skip(self, objects: list[Pending]) -> None:
        for pending in objects:
            pending.skipped = True
        self.skipped += len(objects)

    def _existing_pks(self, Model: ModelClass, pks: list[Any]) -> set[Any]:
        manager = Model._base_manager.db_manager(self.using)
        size = self.connection.ops.bulk_batch_size(["pk"], pks) or len(pks)
        existing: set[Any] = set()
        for start in range(0, len(pks), size):
            chunk = pks[start : start + size]
            existing.update(manager.filter(pk__in=chunk).values_list("pk", flat=True))
        return existing

    def _insert(self, plan: _TablePlan, batch: list[Pending]) -> None:
        if not batch:
            return
        table = plan.table
        if table.plain:
            table.insert([table.row(p.values) for p in batch])
            return
        # raw=True stores the attribute values as they are, as Model.save_base
        # does for fixtures; QuerySet.bulk_create() would run pre_save().
        plan.Model._base_manager.db_manager(self.using)._insert(  # type: ignore[attr-defined]
            [p.instance for p in batch], fields=table.fields, raw=True, using=self.using
        )

    def _update(self, plan: _TablePlan, batch: list[Pending]) -> None:
        table = plan.table
        table.update([table.update_row(p.values) for p in batch])

    def _save_with_django(self, plan: _TablePlan, pending: Pending) -> None:
        """
        Save one object as loaddata's ``save_base(raw=True)`` does, less the
        signals: update the row if it exists, else insert it.
        """
        Model = plan.Model
        instance = pending.instance
        if self.on_conflict != "update" and instance._is_pk_set():  # type: ignore[attr-defined]
            manager = Model._base_manager.db_manager(self.using)
            if manager.filter(pk=instance.pk).exists():
                if self.on_conflict == "error":
                    raise _exists_error(pending)
                self._skip([pending])
                return
        updated = False

        def save() -> None:
            nonlocal updated
            updated = instance._save_table(  # type: ignore[attr-defined]
                raw=True, cls=Model, using=self.using
            )

        self._guarded(pending, save)
        self._write_links(plan, [pending], fresh=set() if updated else {id(pending)})
        self._count(Model, 1)

    def _blame(self, batch: list[Pending], write: Callable[[Pending], None]) -> None:
        """Replay a failed batch one object at a time to name the culprit."""
        for pending in batch:
            self._guarded(pending, lambda p=pending: write(p))  # type: ignore[misc]

    def _guarded(self, pending: Pending, write: Callable[[], None]) -> None:
        """Run one object's write in a savepoint, turning errors into ours."""
        try:
            with transaction.atomic(using=self.using):
                write()
        except FixtureError:
            raise
        except _WRITE_ERRORS as exc:
            raise _rejected(pending, exc, self.connection) from exc

    def _write_links(
        self, plan: _TablePlan, objects: list[Pending], *, fresh: set[int] | None
    ) -> None:
        """
        Write the many-to-many links of each object that lists a field;
        ``fresh`` holds the ids of the objects whose rows were just inserted
        (None: every object's).
        """
        for field in plan.Model._meta.many_to_many:
            owners = [p for p in objects if field.name in p.m2m_data]
            if owners:
                self.write_links(field, owners, fresh=fresh)

    def write_links(
        self,
        field: models.Field[Any, Any],
        owners: list[Pending],
        *,
        fresh: set[int] | None,
    ) -> None:
        """Make the links of ``field`` for ``owners`` their m2m data."""
        first = owners[0]
        Model = first.Model
        through = through_model(field)
        if field.model is not Model._meta.concrete_model:
            # Django's related manager, on a child whose parent's pk attribute
            # the fixture leaves unset, reads the links of no owner and
            # writes links that depend on unrelated rows.
            raise _links_error(
                first,
                field,
                f"{Model._meta.label}.{field.name} is a many-to-many field of "
                f"the parent model {field.model._meta.label}; list its values "
                f"on the {field.model._meta.label} object with the same pk.",
            )
        if not through._meta.auto_created:
            raise _links_error(
                first,
                field,
                f"{Model._meta.label}.{field.name} goes through the model "
                f"{through._meta.label}; load that model's rows instead.",
            )
        link_table = self.link_table(field)
        try:
            with transaction.atomic(using=self.using):
                link_table.write(
                    [
                        (p.pk, p.m2m_data[field.name], fresh is None or id(p) in fresh)
                        for p in owners
                    ]
                )
        except _WRITE_ERRORS as exc:
            raise _links_error(
                first, field, f"The database rejected the many-to-many links: {exc}"
            ) from exc


def _rejected(
    pending: Pending, exc: BaseException, connection: Any
) -> InvalidValueError:
    """
    The error for an object the database refused: naming the field whose
    value it cannot store, if one is found, else quoting the database.
    """
    label = pending.Model._meta.label
    context = {
        "fixture": pending.location.fixture,
        "index": pending.location.index,
        "pk": pending.fixture_pk,
        "model": label,
    }
    culprit = _unstorable_value(pending, connection)
    if culprit is None:
        return InvalidValueError(
            f"The database rejected this object: {exc}".strip(), **context
        )
    field, value, cause = culprit
    return InvalidValueError(
        describe(label, field, value, cause), field=field.name, value=value, **context
    )


def _unstorable_value(
    pending: Pending, connection: Any
) -> tuple[models.Field[Any, Any], Any, BaseException] | None:
    """The first field whose value cannot be prepared for, or held by, its column."""
    for field in pending.Model._meta.concrete_fields:
        if getattr(field, "generated", False):
            continue  # Never written; no value before the row is saved.
        value = pending.values.get(field.attname)
        if isinstance(value, DatabaseDefault):
            continue
        bounds = integer_bounds(field, connection)
        if type(value) is int and bounds and not bounds[0] <= value <= bounds[1]:
            low_high = integer_range(field, connection) or bounds
            return field, value, OutOfRange(*low_high, connection.vendor)
        try:
            prepared = field.get_db_prep_save(value, connection=connection)
            if isinstance(field, models.JSONField) and value is not None:
                # psycopg encodes JSON only when the query runs.
                json.dumps(value, cls=field.encoder)
        except Exception as cause:
            return field, value, cause
        # A value stored as an integer (a duration's microseconds on most
        # backends) that no driver binds.
        if type(prepared) is int and not _INT64[0] <= prepared <= _INT64[1]:
            return field, value, OverflowError()
    return None


def _links_error(
    owner: Pending, field: models.Field[Any, Any], message: str
) -> InvalidValueError:
    return InvalidValueError(
        message,
        fixture=owner.location.fixture,
        index=owner.location.index,
        pk=owner.fixture_pk,
        model=owner.Model._meta.label,
        field=field.name,
    )


def _exists_error(pending: Pending) -> ObjectExistsError:
    label = pending.Model._meta.label
    return ObjectExistsError(
        f"A {label} row with this primary key already exists "
        'and on_conflict="error" was given.',
        fixture=pending.location.fixture,
        index=pending.location.index,
        pk=pending.fixture_pk,
        model=label,
    )
