"""
The loading options shared by every entry point.

LoadFixture, load_fixture(), loader() and the management command all accept
the same keyword options; validating them here, once, makes a typo in a
migration file fail when the migration is imported rather than halfway
through ``migrate``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, get_args

from django.db import DEFAULT_DB_ALIAS
from django.db.models import Model

from histfixtures.types import NaturalKeys, OnConflict

ON_CONFLICT_CHOICES: tuple[str, ...] = get_args(OnConflict)


@dataclass(frozen=True)
class LoadOptions:
    """Validated loading options; the field names are the public option names."""

    database: str | None = None
    app_label: str | None = None
    format: str | None = None
    ignorenonexistent: bool = False
    exclude: tuple[str, ...] = ()
    natural_keys: NaturalKeys | None = None
    batch_size: int | None = None
    on_conflict: OnConflict = "update"
    # exclude as Model._meta spells it: "app_label" or "app_label.modelname".
    _excluded: frozenset[str] = field(
        init=False, repr=False, compare=False, default=frozenset()
    )

    def __post_init__(self) -> None:
        if self.on_conflict not in ON_CONFLICT_CHOICES:
            raise ValueError(
                f"on_conflict must be one of {', '.join(ON_CONFLICT_CHOICES)}; "
                f"got {self.on_conflict!r}."
            )
        if self.batch_size is not None and (
            isinstance(self.batch_size, bool)
            or not isinstance(self.batch_size, int)
            or self.batch_size < 1
        ):
            raise ValueError(
                f"batch_size must be a positive integer; got {self.batch_size!r}."
            )
        if isinstance(self.exclude, str):
            raise ValueError("exclude must be a list of labels, not a string.")
        object.__setattr__(self, "exclude", tuple(self.exclude))
        for label in self.exclude:
            if not isinstance(label, str) or label.count(".") > 1 or not label:
                raise ValueError(
                    f"exclude takes app labels or 'app_label.ModelName'; got {label!r}."
                )
        if self.natural_keys is not None:
            _check_natural_keys(self.natural_keys)
        excluded = {label.lower() if "." in label else label for label in self.exclude}
        object.__setattr__(self, "_excluded", frozenset(excluded))

    @classmethod
    def from_kwargs(cls, options: Mapping[str, Any]) -> LoadOptions:
        """Build options from keyword arguments, refusing unknown names."""
        known = {f.name for f in fields(cls) if f.init}
        unknown = sorted(set(options) - known)
        if unknown:
            raise TypeError(
                f"Unknown option(s) {', '.join(unknown)}; "
                f"valid options are {', '.join(sorted(known))}."
            )
        return cls(**options)

    def explicit(self) -> dict[str, Any]:
        """The options that differ from their defaults, for deconstruct()."""
        default = LoadOptions()
        explicit = {}
        for f in fields(self):
            if not f.init:
                continue
            value = getattr(self, f.name)
            if value != getattr(default, f.name):
                explicit[f.name] = list(value) if f.name == "exclude" else value
        return explicit

    def excludes(self, Model: type[Model]) -> bool:
        """Whether the exclude option leaves ``Model`` out."""
        return self.excludes_label(Model._meta.label)

    def excludes_label(self, label: str) -> bool:
        """Whether the exclude option leaves the model ``app_label.Model`` out."""
        app_label = label.partition(".")[0]
        return app_label in self._excluded or label.lower() in self._excluded

    def using(self, fallback: str = DEFAULT_DB_ALIAS) -> str:
        """The database alias to load into."""
        return self.database or fallback


def _check_natural_keys(natural_keys: NaturalKeys) -> None:
    if not isinstance(natural_keys, Mapping):
        raise ValueError(
            "natural_keys maps model labels to lists of field names, e.g. "
            '{"shop.Author": ["name", "birth_date"]}.'
        )
    for label, key_fields in natural_keys.items():
        if not isinstance(label, str) or label.count(".") != 1:
            raise ValueError(
                f"natural_keys labels are 'app_label.ModelName'; got {label!r}."
            )
        if isinstance(key_fields, str) or not isinstance(key_fields, Iterable):
            raise ValueError(
                f"natural_keys[{label!r}] must be a list of field names; "
                f"got {key_fields!r}."
            )
