"""
Many-to-many links, written to the link table directly.

Related managers' ``.set()`` sends ``m2m_changed`` and costs several queries
per object; fixtures set the links of thousands of objects at once. Links of
objects that were just inserted are simply added; for objects that existed,
the links are made equal to the fixture's, leaving unchanged links alone
(as ``.set()`` does), so a re-run leaves the link table exactly as it was.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

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
        manager = self.through._base_manager.db_manager(self.connection.alias)
        existing = manager.filter(**{f"{self.owner.attname}__in": owner_pks})
        stale = []
        for pk, owner_pk, target_pk in existing.values_list(
            "pk", self.owner.attname, self.target.attname
        ):
            if (owner_pk, target_pk) in wanted:
                del wanted[(owner_pk, target_pk)]
            else:
                stale.append(pk)
        if stale:
            manager.filter(pk__in=stale)._raw_delete(self.connection.alias)
        self.add(wanted)
