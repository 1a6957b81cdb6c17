"""
Many-to-many links, written to the link table directly.

Related managers' ``.set()`` sends ``m2m_changed`` and costs several queries
per object; fixtures set the links of thousands of objects at once. Links of
objects that were just inserted are simply added; for objects that existed,
the links are made equal to the fixture's, leaving unchanged links alone
(as ``.set()`` does), so a re-run leaves the link table exactly as it was.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any, cast

from django.apps import apps as live_apps
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper

from histfixtures.tables import Table

ModelClass = type[models.Model]
# (owner pk, target pk) pairs, in fixture order.
Links = Iterable[tuple[Any, Any]]


def through_model(field: models.Field[Any, Any]) -> ModelClass:
    """The model of a many-to-many field's link table."""
    through: ModelClass = field.remote_field.through  # type: ignore[union-attr]
    return through


def link_fields(
    field: models.Field[Any, Any],
) -> tuple[models.Field[Any, Any], models.Field[Any, Any]]:
    """The link table's foreign keys to the owner and to the target."""
    meta = through_model(field)._meta
    owner = meta.get_field(field.m2m_field_name())  # type: ignore[attr-defined]
    target = meta.get_field(field.m2m_reverse_field_name())  # type: ignore[attr-defined]
    return (
        cast("models.Field[Any, Any]", owner),
        cast("models.Field[Any, Any]", target),
    )


def link_columns(field: models.Field[Any, Any]) -> tuple[str, str]:
    """The attnames of the link table's owner and target columns."""
    owner, target = link_fields(field)
    return owner.attname, target.attname


def is_symmetrical(field: models.Field[Any, Any]) -> bool:
    """
    Whether a many-to-many field is symmetrical.

    Migrations do not record ``symmetrical`` (it changes no table; Django's
    ``deconstruct()`` leaves it out), so a historical self-relation always
    reads as not symmetrical. Its links are written as the live model's
    field writes them, which is what loaddata does: the same relation on
    the same link table.
    """
    if getattr(field.remote_field, "symmetrical", False):
        return True
    Model = field.model
    if field.related_model is not Model:
        return False
    try:
        live_field = live_apps.get_model(Model._meta.label)._meta.get_field(field.name)
    except LookupError:
        return False
    return (
        live_field.many_to_many
        and bool(getattr(live_field.remote_field, "symmetrical", False))
        and live_field.m2m_db_table() == field.m2m_db_table()  # type: ignore[attr-defined]
    )


class LinkTable:
    """Writes the links of one many-to-many field."""

    def __init__(
        self, field: models.Field[Any, Any], connection: BaseDatabaseWrapper
    ) -> None:
        self.field = field
        self.connection = connection
        self.through = through_model(field)
        self.owner, self.target = link_fields(field)
        self.table = Table(self.through, connection, [self.owner, self.target])
        # A symmetrical relation (to its own model) keeps a mirror row of
        # each link, which Django's related manager writes and removes.
        self.symmetrical = is_symmetrical(field)

    def write(self, owners: list[tuple[Any, Iterable[Any], bool]]) -> None:
        """
        Make each owner's links its targets, in order: ``(owner pk, target
        pks, fresh)``, where a fresh owner was just inserted and can have no
        links yet.
        """
        if self.symmetrical:
            # Each .set() also writes and removes the mirror rows, which other
            # owners' links then see: only the fixture's order gives
            # loaddata's rows.
            for owner_pk, targets, _ in owners:
                self._set_symmetrical(owner_pk, list(dict.fromkeys(targets)))
            return
        self.add([(pk, t) for pk, targets, fresh in owners if fresh for t in targets])
        stale = [(pk, targets) for pk, targets, fresh in owners if not fresh]
        if stale:
            self.set([pk for pk, _ in stale], [(pk, t) for pk, ts in stale for t in ts])

    def add(self, links: Links) -> None:
        """Add links that cannot exist yet (their owners are new rows)."""
        prepare_owner = self.table.preparers[self.owner]
        prepare_target = self.table.preparers[self.target]
        self.table.insert(
            [
                (prepare_owner(owner_pk), prepare_target(target_pk))
                for owner_pk, target_pk in dict.fromkeys(links)
            ]
        )

    def set(self, owner_pks: list[Any], links: Links) -> None:
        """Make the links of ``owner_pks`` exactly ``links``."""
        wanted = dict.fromkeys(links)
        rows = list(self._rows(**{f"{self.owner.attname}__in": owner_pks}))
        existing = self._existing_targets({target_pk for _, _, target_pk in rows})
        stale = []
        for pk, owner_pk, target_pk in rows:
            if (owner_pk, target_pk) in wanted:
                del wanted[(owner_pk, target_pk)]
            elif target_pk in existing:
                stale.append(pk)
        self._delete(stale)
        self.add(wanted)

    def _set_symmetrical(self, owner_pk: Any, targets: list[Any]) -> None:
        """``.set(targets)`` of a symmetrical relation, as Django does it."""
        owner, target = self.owner.attname, self.target.attname
        current = {t for _, _, t in self._rows(**{owner: owner_pk})}
        linked = self._existing_targets(current)
        removed = linked.difference(targets)
        if removed:
            self._delete(
                [
                    pk
                    for pk, _, _ in self._rows(
                        **{owner: owner_pk, f"{target}__in": removed}
                    )
                ]
                + [
                    pk
                    for pk, _, _ in self._rows(
                        **{target: owner_pk, f"{owner}__in": removed}
                    )
                ]
            )
        added = [t for t in targets if t not in linked]
        if added:
            mirrored = {
                o for _, o, _ in self._rows(**{target: owner_pk, f"{owner}__in": added})
            }
            self.add(
                [(owner_pk, t) for t in added if t not in current]
                + [(t, owner_pk) for t in added if t not in mirrored]
            )

    def _existing_targets(self, target_pks: Collection[Any]) -> frozenset[Any]:
        """
        The pks among ``target_pks`` whose target row exists.

        Django's ``.set()`` reads the current links through a join with the
        target table, so it neither removes nor counts a link whose target
        is missing: that link stays, and the end-of-load check then fails
        the load, as it fails loaddata's.
        """
        if not target_pks:
            return frozenset()
        target_field = self.target.target_field  # type: ignore[attr-defined]
        return frozenset(
            self.target.related_model._base_manager.db_manager(  # type: ignore[union-attr]
                self.connection.alias
            )
            .filter(**{f"{target_field.attname}__in": target_pks})
            .values_list(target_field.attname, flat=True)
        )

    def _rows(self, **lookups: Any) -> Iterable[tuple[Any, Any, Any]]:
        """(id, owner pk, target pk) of the link rows matching ``lookups``."""
        rows: Iterable[tuple[Any, Any, Any]] = (
            self._manager()
            .filter(**lookups)
            .values_list("pk", self.owner.attname, self.target.attname)
        )
        return rows

    def _delete(self, pks: list[Any]) -> None:
        if pks:
            self._manager().filter(pk__in=pks)._raw_delete(self.connection.alias)

    def _manager(self) -> Any:
        return self.through._base_manager.db_manager(self.connection.alias)
