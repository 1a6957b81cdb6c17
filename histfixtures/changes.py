"""
What upgrading a fixture changed, model by model.

The objects of the fixture before and after the upgrade are matched by
model and primary key, the model followed through the ``RenameModel``
operations of the migrations applied in between. An object is *added* when
the old fixture has no counterpart (data migrations and later fixture loads
create such rows), *removed* when the new one has none (a deleted model),
*changed* when its fields are written differently (a renamed or added field
changes every object of its model).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import DeleteModel, RenameModel

from histfixtures.types import RawObject

Node = tuple[str, str]
_KINDS = ("added", "removed", "changed", "unchanged")


def model_renames(
    loader: MigrationLoader, applied: Sequence[Node]
) -> dict[str, str | None]:
    """Old model label -> new label (None: deleted), over the migrations applied."""
    renames: dict[str, str | None] = {}
    for node in applied:
        migration = loader.graph.nodes[node]
        for operation in migration.operations:
            if isinstance(operation, RenameModel | DeleteModel):
                _follow(renames, migration.app_label, operation)
    return renames


def _follow(
    renames: dict[str, str | None], app_label: str, operation: RenameModel | DeleteModel
) -> None:
    if isinstance(operation, RenameModel):
        old = f"{app_label}.{operation.old_name_lower}"
        new: str | None = f"{app_label}.{operation.new_name_lower}"
    else:
        old, new = f"{app_label}.{operation.name_lower}", None
    for label, current in renames.items():
        if current == old:
            renames[label] = new
    renames.setdefault(old, new)


@dataclass
class Changes:
    """Per-model counts of added, removed, changed and unchanged objects."""

    counts: dict[str, Counter[str]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    written: int = 0

    def count(self, label: str, kind: str) -> None:
        self.counts.setdefault(label, Counter())[kind] += 1

    def lines(self) -> list[str]:
        lines = []
        for label in sorted(self.counts):
            counts = self.counts[label]
            parts = [f"{counts[kind]} {kind}" for kind in _KINDS if counts[kind]]
            lines.append(f"{self.names.get(label, label)}: {', '.join(parts)}")
        return lines


def compare(
    before: Iterable[RawObject],
    after: Iterable[RawObject],
    renames: dict[str, str | None],
) -> Changes:
    """Count, per model, what the upgrade did to the fixture's objects."""
    changes = Changes()
    old: dict[tuple[str, Any], tuple[str, Any]] = {}
    for obj in before:
        label = str(obj["model"]).lower()
        new_label = renames.get(label, label)
        if new_label is None:
            changes.count(label, "removed")
            changes.names[label] = f"{label} (model deleted)"
            continue
        if new_label != label:
            changes.names[new_label] = f"{label} -> {new_label}"
        old[_key(new_label, obj)] = (label, obj.get("fields", {}))
    for obj in after:
        changes.written += 1
        label = str(obj["model"]).lower()
        previous = old.pop(_key(label, obj), None)
        if previous is None:
            changes.count(label, "added")
        elif previous[1] == obj.get("fields", {}):
            changes.count(label, "unchanged")
        else:
            changes.count(label, "changed")
    for label, _ in old.values():
        new_label = renames.get(label, label) or label
        changes.count(new_label, "removed")
    return changes


def _key(label: str, obj: RawObject) -> tuple[str, Any]:
    """Objects match by primary key; without one, by their whole content."""
    if "pk" in obj:
        return label, str(obj["pk"])
    return label, json.dumps(obj.get("fields", {}), sort_keys=True, default=str)
