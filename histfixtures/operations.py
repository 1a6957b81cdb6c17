"""
The LoadFixture migration operation.

The migration writer writes ``import histfixtures.operations`` into users'
migration files: this module's path is permanent API and can never move.
"""

from __future__ import annotations

import inspect
import os
import re
from typing import Any

from django.db import router
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.operations.base import Operation, OperationCategory
from django.db.migrations.state import ProjectState

from histfixtures.exceptions import FixtureError, UnknownFieldError, UnknownModelError
from histfixtures.loading import load
from histfixtures.migrate_output import LoadReport
from histfixtures.options import LoadOptions
from histfixtures.state import describe_state
from histfixtures.unloading import unload


class LoadFixture(Operation):
    """
    Load fixtures with the models of the migration state at this operation.

    Forwards, every object of the fixtures is written (inserted or updated)
    with the historical models; backwards, the objects the fixtures define
    are deleted again, unless ``reverse=False``.
    """

    reduces_to_sql = False
    reversible = True
    atomic = True
    category = OperationCategory.PYTHON

    def __init__(
        self,
        *labels: str,
        reverse: bool = True,
        elidable: bool = False,
        hints: dict[str, Any] | None = None,
        sha256: str | dict[str, str] | None = None,
        **options: Any,
    ) -> None:
        if "labels" in options:
            # The form the migration writer produces: LoadFixture(labels=[...]).
            if labels:
                raise TypeError("Pass fixture labels positionally or as labels=.")
            labels = tuple(options.pop("labels"))
        if not labels or not all(isinstance(label, str) and label for label in labels):
            raise ValueError(
                f"LoadFixture needs one or more fixture labels; got {labels!r}."
            )
        self.labels = tuple(labels)
        self.options = LoadOptions.from_kwargs(options)
        self.reverse = bool(reverse)
        self.elidable = elidable  # type: ignore[misc]
        self.hints = hints or {}
        self.sha256 = _check_sha256(sha256, self.labels)

    # The migration writer writes only the arguments it finds as
    # positional-or-keyword parameters of __init__ (through inspect), so
    # *labels and the keyword options would be lost; this signature, which
    # __init__ also accepts, makes them survive makemigrations and squashing.
    __init__.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD)
            for name in (
                "self",
                "labels",
                *LoadOptions.__dataclass_fields__,
                "reverse",
                "elidable",
                "hints",
                "sha256",
            )
            if not name.startswith("_")
        ]
    )

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        kwargs: dict[str, Any] = {"labels": list(self.labels)}
        kwargs.update(self.options.explicit())
        if not self.reverse:
            kwargs["reverse"] = False
        if self.elidable:
            kwargs["elidable"] = True
        if self.hints:
            kwargs["hints"] = self.hints
        if self.sha256 is not None:
            kwargs["sha256"] = self.sha256
        return (self.__class__.__qualname__, [], kwargs)

    def state_forwards(self, app_label: str, state: ProjectState) -> None:
        # Loading data changes no model, so the project state stays as it is.
        pass

    def database_forwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        alias = schema_editor.connection.alias
        if self._applies_to(alias, app_label):
            from_state.clear_delayed_apps_cache()
            report = LoadReport()
            result = None
            try:
                result = load(
                    self.labels,
                    apps=from_state.apps,
                    options=self.options,
                    using=alias,
                    state=describe_state(from_state.apps),
                    own_app=app_label,
                    on_object=report.on_object,
                )
            except FixtureError as exc:
                if isinstance(exc, (UnknownModelError, UnknownFieldError)):
                    from histfixtures.checks import placement_hint

                    # A misplaced operation: say where it belongs, as E003/E004 do.
                    exc.hint = placement_hint(self, exc) or exc.hint
                if not schema_editor.connection.features.can_rollback_ddl:
                    exc.hint = _ddl_left_behind(exc.hint)
                raise
            finally:
                report.finish(result)

    def database_backwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        alias = schema_editor.connection.alias
        if self.reverse and self._applies_to(alias, app_label):
            to_state.clear_delayed_apps_cache()
            unload(
                self.labels,
                apps=to_state.apps,
                options=self.options,
                using=alias,
                state=describe_state(to_state.apps),
                own_app=app_label,
            )

    def _applies_to(self, alias: str, app_label: str) -> bool:
        """Whether this database, per the database option and routers, loads."""
        return self.options.database in (None, alias) and bool(
            router.allow_migrate(alias, app_label, **self.hints)
        )

    def describe(self) -> str:
        noun = "fixture" if len(self.labels) == 1 else "fixtures"
        return f"Load {noun} {', '.join(self.labels)}"

    def pinned_digests(self) -> dict[str, str]:
        """The SHA-256 pinned for each label (the sha256 argument), by label."""
        if isinstance(self.sha256, str):
            return {self.labels[0]: self.sha256}
        return dict(self.sha256 or {})

    @property
    def migration_name_fragment(self) -> str:
        names = [_name_of(label) for label in self.labels]
        return "load_" + "_".join(names)[:40].strip("_")


def _ddl_left_behind(hint: str | None) -> str:
    """
    The hint of a failed load on a database that cannot roll back DDL
    (MySQL, MariaDB, Oracle): the load's rows are rolled back, the schema
    changes of the migration's earlier operations are not.
    """
    note = (
        "this database cannot roll back schema changes, so what the "
        "operations before this one in the migration did remains (tables "
        "and columns they created, without the foreign key constraints "
        "Django adds at the migration's end; rows they wrote); this load's "
        "rows are rolled back and the migration is not recorded as applied. "
        "Undo those changes by hand (drop the tables it created), fix the "
        "fixture, then run migrate again."
    )
    return note if hint is None else f"{hint}; {note}"


def _name_of(label: str) -> str:
    """'fixtures/books.json.gz' -> 'books'."""
    base = os.path.basename(label).split(".")[0]
    return re.sub(r"\W+", "_", base).strip("_").lower() or "fixture"


_SHA256 = re.compile(r"[0-9a-f]{64}")


def _check_sha256(
    sha256: str | dict[str, str] | None, labels: tuple[str, ...]
) -> str | dict[str, str] | None:
    """Validate the content pin: one digest, or a digest per label."""
    if sha256 is None:
        return None
    if isinstance(sha256, str):
        if len(labels) != 1:
            raise ValueError(
                "With several fixtures, sha256 maps each label to its digest."
            )
        digests = {labels[0]: sha256}
    elif isinstance(sha256, dict):
        digests = dict(sha256)
    else:
        raise ValueError(f"sha256 must be a hex digest or a dict; got {sha256!r}.")
    for label, digest in digests.items():
        if label not in labels:
            raise ValueError(f"sha256 pins {label!r}, which is not a label here.")
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            raise ValueError(
                f"sha256[{label!r}] must be 64 lowercase hex digits; got {digest!r}."
            )
    return sha256
