"""
The loading options shared by every entry point.

LoadFixture, load_fixture(), loader() and the management command all accept
the same keyword options; validating them here, once, makes a typo in a
migration file fail when the migration is imported rather than halfway
through ``migrate``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, get_args

from django.apps import apps as live_apps
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
        """
        Build options given in Python (a migration, a test), refusing typos.

        Unknown names are refused, and so is an ``app_label`` that no
        installed app has. ``loadfixture`` builds its options directly
        instead: ``loaddata --app`` accepts any label, and it must too.
        """
        known = {f.name for f in fields(cls) if f.init}
        unknown = sorted(set(options) - known)
        if unknown:
            raise TypeError(
                f"Unknown option(s) {', '.join(unknown)}; "
                f"valid options are {', '.join(sorted(known))}."
            )
        loaded = cls(**options)
        if loaded.app_label is not None:
            _check_app_label(loaded.app_label)
        return loaded

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


def _check_app_label(app_label: str) -> None:
    """
    Refuse an ``app_label`` that is no installed app's label.

    With it, only that app's ``fixtures/`` directory is searched (and
    FIXTURE_DIRS), so a typo would only show later as "No fixture named
    ...". Before the app registry is populated (a migration module imported
    by hand) nothing can be told; the load then fails naming the label.
    """
    if not isinstance(app_label, str) or not app_label:
        raise ValueError(f"app_label must be an app label; got {app_label!r}.")
    if not live_apps.apps_ready:
        return
    labels = sorted(config.label for config in live_apps.get_app_configs())
    if app_label in labels:
        return
    close = difflib.get_close_matches(app_label, labels, n=3, cutoff=0.6)
    raise ValueError(
        f"app_label={app_label!r} is not the label of an installed app"
        + (f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ".")
        + " If the app was removed from INSTALLED_APPS, remove app_label from "
        "this migration: only installed apps' fixtures/ directories are "
        "searched, so it no longer restricts anything."
    )
