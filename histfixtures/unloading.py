"""
Removing what a fixture loaded: the reverse of a load.

The objects a fixture defines are deleted, matched by primary key, together
with their many-to-many links, dependents first. Deletion never cascades
into rows the fixture did not define: if another row still points to one of
them, nothing is deleted and the error names that row, because silently
deleting user data while unapplying a migration is worse than stopping.
Like loading, it writes with raw queries and sends no model signals.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import closing
from typing import Any

from django.apps.registry import Apps
from django.db import connections, models, router, transaction

from histfixtures.discovery import find_fixture_files
from histfixtures.exceptions import FixtureError, ProtectedObjectError
from histfixtures.links import link_columns, through_model
from histfixtures.natural_keys import NaturalKeyResolver
from histfixtures.options import LoadOptions
from histfixtures.serializers import read_objects

ModelClass = type[models.Model]


def unload(
    labels: Sequence[str],
    *,
    apps: Apps,
    options: LoadOptions,
    using: str,
    state: str,
    own_app: str | None = None,
) -> int:
    """Delete the objects the fixtures define; return how many rows went."""
    if not labels:
        raise ValueError("Name at least one fixture to unload.")
    try:
        fixtures = find_fixture_files(
            labels,
            using=using,
            app_label=options.app_label,
            format=options.format,
            own_app=own_app,
        )
        targets: dict[ModelClass, list[Any]] = {}
        for fixture in fixtures:
            try:
                _collect(fixture, targets, apps, options, using)
            except FixtureError as exc:
                exc.with_context(fixture=str(fixture))
                raise
        # Every row that refers to a row deleted here is deleted too
        # (_refuse_outside_references() refuses otherwise), but MySQL and
        # MariaDB check a foreign key
        # row by row, not at the end of the statement or transaction: a
        # self reference (a mentor among the members) would stop the
        # DELETE. Elsewhere the checks are deferred anyway.
        with (
            transaction.atomic(using=using),
            connections[using].constraint_checks_disabled(),
        ):
            existing = {
                Model: _existing(Model, pks, using) for Model, pks in targets.items()
            }
            for Model in existing:
                _refuse_outside_references(Model, existing, using)
            return sum(
                _delete(Model, existing[Model], using)
                for Model in _dependents_first(list(existing))
            )
    except FixtureError as exc:
        exc.with_context(state=state)
        raise


def _collect(
    fixture: Any,
    targets: dict[ModelClass, list[Any]],
    apps: Apps,
    options: LoadOptions,
    using: str,
) -> None:
    with closing(fixture.open()) as stream:
        for _, obj in read_objects(
            fixture.format,
            stream,
            apps=apps,
            using=using,
            ignorenonexistent=options.ignorenonexistent,
            natural_keys=NaturalKeyResolver(
                apps, using, options.natural_keys, loading=False
            ),
        ):
            instance = obj.object
            Model = type(instance)
            if (
                instance.pk is None
                or options.excludes(Model)
                or not router.allow_migrate_model(using, Model)
            ):
                continue
            targets.setdefault(Model, []).append(instance.pk)


def _existing(Model: ModelClass, pks: list[Any], using: str) -> list[Any]:
    manager = Model._base_manager.db_manager(using)
    return list(manager.filter(pk__in=pks).values_list("pk", flat=True))


def _refuse_outside_references(
    Model: ModelClass, deleting: dict[ModelClass, list[Any]], using: str
) -> None:
    """
    Raise if a row that stays would point to a row that goes.

    Models are compared by label: when Django unapplies several migrations
    in one run, a related model can be a class of a neighbouring state.
    """
    deleting_pks = {Other._meta.label_lower: pks for Other, pks in deleting.items()}
    pks = deleting[Model]
    if not pks:
        return
    for relation in Model._meta.related_objects:
        if relation.many_to_many:
            continue  # Links are deleted with their objects.
        Related = relation.related_model
        field = relation.field
        target_values = (
            Model._base_manager.db_manager(using)
            .filter(pk__in=pks)
            .values(field.target_field.attname)
        )
        staying = (
            Related._base_manager.db_manager(using)
            .filter(**{f"{field.attname}__in": target_values})
            .exclude(pk__in=deleting_pks.get(Related._meta.label_lower, []))
            .values_list("pk", flat=True)[:5]
        )
        blocking = list(staying)
        if blocking:
            raise ProtectedObjectError(
                f"Cannot remove the {Model._meta.label} objects of this fixture: "
                f"{Related._meta.label} rows {blocking} still refer to them "
                f"through {field.name!r}.",
                model=Model._meta.label,
                hint="Delete or repoint those rows first, or pass reverse=False "
                "to keep the fixture's data when unapplying.",
            )


def _delete(Model: ModelClass, pks: list[Any], using: str) -> int:
    if not pks:
        return 0
    meta = Model._meta
    for field in meta.many_to_many:
        _delete_links(field, link_columns(field)[0], pks, using)
    for relation in meta.related_objects:
        if relation.many_to_many:
            _delete_links(relation.field, link_columns(relation.field)[1], pks, using)
    manager = Model._base_manager.db_manager(using)
    deleted: int = manager.filter(pk__in=pks)._raw_delete(using)
    return deleted


def _delete_links(
    field: models.Field[Any, Any], column: str, pks: list[Any], using: str
) -> None:
    """Delete the rows of a m2m link table whose ``column`` is in ``pks``."""
    through = through_model(field)
    if through._meta.auto_created:
        manager = through._base_manager.db_manager(using)
        manager.filter(**{f"{column}__in": pks})._raw_delete(using)


def _dependents_first(Models: list[ModelClass]) -> list[ModelClass]:
    """Order models so that each comes before the models it points to."""
    remaining = list(reversed(Models))
    ordered: list[ModelClass] = []
    while remaining:
        for Model in remaining:
            pointed_to_by_remaining = any(
                Other is not Model and _points_to(Other, Model) for Other in remaining
            )
            if not pointed_to_by_remaining:
                break
        else:
            Model = remaining[0]  # A cycle: the order cannot matter more.
        remaining.remove(Model)
        ordered.append(Model)
    return ordered


def _points_to(Model: ModelClass, Target: ModelClass) -> bool:
    target = Target._meta.label_lower
    return any(
        field.is_relation and field.related_model._meta.label_lower == target  # type: ignore[union-attr]
        for field in Model._meta.local_concrete_fields
    )
