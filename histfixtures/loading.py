"""
The load engine behind every entry point.

``load()`` resolves every label to a file first (so a typo fails before
anything is written), then, in one transaction with constraint checks
deferred, streams each file's objects to the row writer, resolves forward
references, checks every foreign key, and resets sequences, as loaddata's
``handle → loaddata → load_label → save_obj`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Sequence
from contextlib import closing
from typing import Any

from django.apps.registry import Apps
from django.core.management.color import no_style
from django.db import DatabaseError, connections, models, router, transaction

from histfixtures.constraints import (
    UNIQUE_VIOLATION,
    DuplicateRows,
    Violation,
    find_dangling_reference,
    find_duplicate_rows,
    violation_of,
)
from histfixtures.discovery import FixtureFile, find_fixture_files
from histfixtures.exceptions import (
    EmptyFixtureError,
    FixtureError,
    InvalidValueError,
    MissingRelatedObjectError,
)
from histfixtures.interruption import mark_rolled_back
from histfixtures.links import through_model
from histfixtures.locations import Location
from histfixtures.natural_keys import NaturalKeyResolver, is_natural_key
from histfixtures.options import LoadOptions
from histfixtures.results import LoadResult
from histfixtures.sequences import SequenceSnapshot
from histfixtures.serializers import read_objects
from histfixtures.writing import Pending, RowWriter

ModelClass = type[models.Model]


def load(
    labels: Sequence[str],
    *,
    apps: Apps,
    options: LoadOptions,
    using: str,
    state: str,
    own_app: str | None = None,
    on_object: Callable[[str, ModelClass], None] | None = None,
) -> LoadResult:
    """
    Load the fixtures named by ``labels`` with the models of ``apps``.

    ``on_object``, if given, is called with the fixture file's name and the
    object's model after each object read, before it is written: the
    loadfixture command draws its progress line and, with the live models,
    stops the load (by raising) at the first model whose saves signal
    receivers.
    """
    if not labels:
        raise ValueError("Name at least one fixture to load.")
    try:
        fixtures = find_fixture_files(
            labels,
            using=using,
            app_label=options.app_label,
            format=options.format,
            own_app=own_app,
        )
        connection = connections[using]
        sequences = SequenceSnapshot.take(connection)
        try:
            with (
                transaction.atomic(using=using),
                connection.constraint_checks_disabled(),
            ):
                run = _LoadRun(apps, options, using, state, on_object)
                for fixture in fixtures:
                    run.load_file(fixture)
                run.finish(fixtures)
        except BaseException as exc:
            # A Ctrl-C too: the transaction has rolled back; put back the
            # sequences, which a rollback leaves as they are.
            if sequences is not None:
                sequences.restore()
            if isinstance(exc, KeyboardInterrupt):
                mark_rolled_back(exc)
            raise
        return run.result
    except FixtureError as exc:
        exc.with_context(state=state)
        raise


class _LoadRun:
    """The state of one load: the writer, the result, deferred references."""

    def __init__(
        self,
        apps: Apps,
        options: LoadOptions,
        using: str,
        state: str,
        on_object: Callable[[str, ModelClass], None] | None = None,
    ):
        self.apps = apps
        self.options = options
        self.using = using
        self.result = LoadResult(state=state)
        self.deferred: list[Pending] = []
        self.on_object = on_object
        self._wanted: dict[ModelClass, bool] = {}
        # The writer's queues and the resolver's answers are kept in step:
        # a lookup first writes what is queued for the tables it reads, and
        # each write drops the answers read from its table.
        self.writer = RowWriter(using, options.on_conflict, options.batch_size)
        self.natural_keys = NaturalKeyResolver(
            apps, using, options.natural_keys, before_read=self.writer.flush_tables
        )
        self.writer.on_write = self.natural_keys.forget

    def load_file(self, fixture: FixtureFile) -> None:
        try:
            with closing(fixture.open()) as stream:
                read = 0
                for index, obj in read_objects(
                    fixture.format,
                    stream,
                    apps=self.apps,
                    using=self.using,
                    ignorenonexistent=self.options.ignorenonexistent,
                    natural_keys=self.natural_keys,
                ):
                    read += 1
                    pending = Pending(obj, Location(str(fixture), index))
                    if self.on_object is not None:
                        self.on_object(str(fixture), pending.Model)
                    self.add(pending)
            if not read and not self.options.ignorenonexistent:
                raise EmptyFixtureError(
                    "The fixture holds no objects.",
                    hint="An empty fixture in a migration is almost always a "
                    "mistake; remove the load or fill the file.",
                )
        except FixtureError as exc:
            exc.with_context(fixture=str(fixture))
            raise
        self.result.fixtures.append(str(fixture))

    def add(self, pending: Pending) -> None:
        if not self.is_wanted(pending.Model):
            self.result.skipped += 1
            return
        self.writer.add(pending)
        if pending.obj.deferred_fields:
            self.deferred.append(pending)

    def is_wanted(self, Model: ModelClass) -> bool:
        """Whether ``exclude`` and the routers let objects of ``Model`` in."""
        try:
            return self._wanted[Model]
        except KeyError:
            wanted = not self.options.excludes(Model) and bool(
                router.allow_migrate_model(self.using, Model)
            )
            self._wanted[Model] = wanted
            return wanted

    def finish(self, fixtures: Iterable[FixtureFile]) -> None:
        self.writer.flush_tables(None)
        for pending in self.deferred:
            if not pending.skipped:
                self.save_deferred_fields(pending)
        touched = list(self.writer.written)
        self.check_references(touched, fixtures)
        if touched:
            self.reset_sequences(touched)
        self.result.skipped += self.writer.skipped
        for Model, count in self.writer.written.items():
            self.result.counts[Model._meta.label] += count
            self.result.objects += count

    def save_deferred_fields(self, pending: Pending) -> None:
        """
        Resolve references to objects that appeared later in the fixtures,
        and save the object again, as loaddata's save_deferred_fields() does:
        the whole row, then the deferred many-to-many links.
        """
        Model = pending.Model
        m2m_fields = []
        for field, value in pending.obj.deferred_fields.items():
            try:
                if field.many_to_many:
                    pending.m2m_data[field.name] = [
                        self.resolve_now(field, item) for item in value
                    ]
                    m2m_fields.append(field)
                else:
                    pending.set_value(field, self.resolve_now(field, value))
            except FixtureError as exc:
                exc.with_context(
                    fixture=pending.location.fixture,
                    index=pending.location.index,
                    pk=pending.fixture_pk,
                    model=Model._meta.label,
                )
                raise
        self.writer.resave(pending)
        for field in m2m_fields:
            self.writer.write_links(field, [pending], fresh=set())

    def resolve_now(self, field: models.Field[Any, Any], value: Any) -> Any:
        """A reference value, resolved now that every object is written."""
        if not is_natural_key(value):
            Target = field.related_model
            return Target._meta.pk.to_python(value)  # type: ignore[union-attr]
        return self.natural_keys.resolve_reference(field, value, defer=False)

    def check_references(
        self, touched: list[ModelClass], fixtures: Iterable[FixtureFile]
    ) -> None:
        """
        Check every foreign key of the tables written to.

        The database checks first (its own deferred checks are the cheapest
        way); only when it finds a problem do the slower queries run that
        name the object at fault.
        """
        tables = [*touched, *_auto_through_models(touched)]
        connection = connections[self.using]
        if connection.vendor == "mysql":
            # MySQL/MariaDB check by introspection only the foreign keys that
            # exist: in a migration, those of tables it created are added at
            # its end (the schema editor's deferred SQL), after the load, and
            # not rolled back with it. The models' own foreign keys are what
            # the database will enforce: check those.
            dangling = find_dangling_reference(tables, self.using)
            if dangling is not None:
                raise self.missing_related_error(dangling, fixtures)
            return
        try:
            with transaction.atomic(using=self.using):
                connection.check_constraints(
                    table_names=[Model._meta.db_table for Model in tables]
                )
        except DatabaseError as exc:
            raise self.constraint_error(exc, tables, fixtures) from exc

    def constraint_error(
        self,
        exc: DatabaseError,
        tables: list[ModelClass],
        fixtures: Iterable[FixtureFile],
    ) -> FixtureError:
        """The error for what the end-of-load check found, named as it is."""
        violation = violation_of(exc)
        if violation.is_foreign_key:
            dangling = find_dangling_reference(tables, self.using)
            if dangling is not None:
                return self.missing_related_error(dangling, fixtures)
            return MissingRelatedObjectError(
                f"A foreign key of the loaded data points nowhere: {exc}"
            )
        Model = next((M for M in tables if M._meta.db_table == violation.table), None)
        if Model is not None and violation.code == UNIQUE_VIOLATION:
            duplicates = find_duplicate_rows(
                Model, violation.constraint or "", self.using
            )
            if duplicates is not None:
                return self.duplicate_error(Model, violation, duplicates, fixtures)
        return InvalidValueError(
            f"The database rejected the loaded data when it checked its "
            f"deferred constraints: {exc}",
            model=Model._meta.label if Model is not None else None,
        )

    def duplicate_error(
        self,
        Model: ModelClass,
        violation: Violation,
        duplicates: DuplicateRows,
        fixtures: Iterable[FixtureFile],
    ) -> InvalidValueError:
        """Name the rows that break a deferred unique constraint."""
        label = Model._meta.label
        found = locate_all(fixtures, label, duplicates.pks, self.apps, self.using)
        rows = "; ".join(
            f"pk={pk!r} (index {found[pk].index} of {found[pk].fixture})"
            if pk in found
            else f"pk={pk!r} (a row already in the database)"
            for pk in duplicates.pks
        )
        # The object read last wrote the second of the equal values.
        culprit = next(reversed(found.items()), None)
        fields = ", ".join(duplicates.fields)
        detail = violation.detail or "two rows hold the same values."
        return InvalidValueError(
            f"{label} rows break the deferred unique constraint "
            f"{violation.constraint!r}, which the database checks when the load "
            f"ends: {detail} Rows with these values: {rows}.",
            fixture=culprit[1].fixture if culprit else None,
            index=culprit[1].index if culprit else None,
            pk=culprit[0] if culprit else None,
            model=label,
            field=fields,
            value=(
                duplicates.values[0]
                if len(duplicates.values) == 1
                else duplicates.values
            ),
            hint=f"Give each {label} object its own values for {fields}.",
        )

    def missing_related_error(
        self, dangling: Any, fixtures: Iterable[FixtureFile]
    ) -> MissingRelatedObjectError:
        Model, pk, field_name = dangling.model, dangling.pk, dangling.field.name
        if Model._meta.auto_created:
            # A many-to-many link: blame the object that lists it.
            Owner, field_name, pk = _link_owner(Model, dangling, self.using)
            Model = Owner
        target = dangling.field.remote_field.model._meta.label
        location = locate(fixtures, Model._meta.label, pk, self.apps, self.using)
        return MissingRelatedObjectError(
            f"{Model._meta.label}.{field_name} refers to a {target} that does not "
            "exist in the database or the fixtures.",
            fixture=location.fixture if location else None,
            index=location.index if location else None,
            pk=pk,
            model=Model._meta.label,
            field=field_name,
            value=dangling.value,
        )

    def reset_sequences(self, Models: list[ModelClass]) -> None:
        connection = connections[self.using]
        statements = connection.ops.sequence_reset_sql(no_style(), Models)
        if statements:
            with connection.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)


def _auto_through_models(Models: Iterable[ModelClass]) -> list[ModelClass]:
    throughs = [
        through_model(field)
        for Model in Models
        for field in Model._meta.local_many_to_many
    ]
    return [through for through in throughs if through._meta.auto_created]


def _link_owner(Through: ModelClass, dangling: Any, using: str) -> tuple[Any, str, Any]:
    """The model, m2m field and pk of the object owning a broken link row."""
    for field in Through._meta.local_concrete_fields:
        if field.is_relation and field is not dangling.field:
            owner_pk = (
                Through._base_manager.db_manager(using)
                .filter(pk=dangling.pk)
                .values_list(field.attname, flat=True)
                .first()
            )
            Owner = field.remote_field.model  # type: ignore[union-attr]
            m2m = next(
                f
                for f in Owner._meta.local_many_to_many
                if f.remote_field.through is Through
            )
            return Owner, m2m.name, owner_pk
    raise LookupError(f"{Through._meta.label} has no owner field.")


def locate(
    fixtures: Iterable[FixtureFile], label: str, pk: Any, apps: Apps, using: str
) -> Location | None:
    """Find a (model, pk) object in the fixtures by reading them again."""
    with closing(_occurrences(fixtures, label, {pk}, apps, using)) as found:
        return next((location for _, location in found), None)


def locate_all(
    fixtures: Iterable[FixtureFile],
    label: str,
    pks: Iterable[Any],
    apps: Apps,
    using: str,
) -> dict[Any, Location]:
    """
    The last object of each (model, pk) in the fixtures, the one whose
    values the row holds, in the order they were read.
    """
    found: dict[Any, Location] = {}
    for pk, location in _occurrences(fixtures, label, set(pks), apps, using):
        found.pop(pk, None)
        found[pk] = location
    return found


def _occurrences(
    fixtures: Iterable[FixtureFile],
    label: str,
    pks: set[Any],
    apps: Apps,
    using: str,
) -> Generator[tuple[Any, Location], None, None]:
    for fixture in fixtures:
        with closing(fixture.open()) as stream:
            for index, obj in read_objects(
                fixture.format, stream, apps=apps, using=using, ignorenonexistent=True
            ):
                instance = obj.object
                if instance._meta.label == label and instance.pk in pks:
                    yield instance.pk, Location(str(fixture), index)
