"""
Which rows of upgradefixture's scratch database are the fixture's own.

The scratch database also holds rows that the migrations loaded themselves
(``LoadFixture`` operations before the fixture's state and after it). The
upgraded fixture holds exactly the objects of the input by default: the
rows its load wrote (created, or rows of the same primary key it updated),
followed through the ``RenameModel`` operations applied after, and every
row that a data migration made (the input's data may have moved there). The
rows the migrations' own fixture loads wrote are left out, unless the input
held them too.

Rows are named by (lowercase model label, primary key as text), as
histfixtures.changes matches objects. A fixture object without a primary key
(natural keys) that updates a row already there is not told apart from the
migrations' rows and is left out; one that creates a row is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

from django.apps.registry import Apps
from django.db import models
from django.db.migrations.loader import MigrationLoader

from histfixtures.changes import model_renames
from histfixtures.discovery import STDIN, find_fixture_files
from histfixtures.exceptions import FixtureError
from histfixtures.operations import LoadFixture
from histfixtures.types import RawObject
from histfixtures.validation import RAW_FORMATS, read_raw_objects

Row = tuple[str, str]
Node = tuple[str, str]


def rows_of(apps: Apps, app_labels: Iterable[str], using: str) -> set[Row]:
    """Every row of the models of ``app_labels`` on ``using``."""
    wanted = set(app_labels)
    return {
        (Model._meta.label_lower, str(pk))
        for Model in apps.get_models()
        if Model._meta.app_label in wanted and not Model._meta.proxy
        for pk in Model._base_manager.using(using).values_list("pk", flat=True)
    }


def raw_rows(objects: Iterable[RawObject]) -> set[Row]:
    """The rows that fixture objects with a primary key name."""
    return {
        (str(obj["model"]).lower(), str(obj["pk"]))
        for obj in objects
        if obj.get("pk") is not None
    }


def renamed(rows: Iterable[Row], renames: dict[str, str | None]) -> set[Row]:
    """``rows`` under their models' new labels (deleted models dropped)."""
    result = set()
    for label, pk in rows:
        new = renames.get(label, label)
        if new is not None:
            result.add((new, pk))
    return result


def loaded_by_migrations(loader: MigrationLoader, applied: Sequence[Node]) -> set[Row]:
    """The rows that the LoadFixture operations of ``applied`` name, renamed after."""
    rows: set[Row] = set()
    for position, node in enumerate(applied):
        migration = loader.graph.nodes[node]
        later = model_renames(loader, applied[position + 1 :])
        for operation in migration.operations:
            if isinstance(operation, LoadFixture):
                rows |= renamed(raw_rows(_objects(operation, node[0])), later)
    return rows


def _objects(operation: LoadFixture, own_app: str) -> Iterator[RawObject]:
    options = operation.options
    labels = [label for label in operation.labels if label != STDIN]
    try:
        fixtures = find_fixture_files(
            labels,
            using=options.database or "default",
            app_label=options.app_label,
            format=options.format,
            own_app=own_app,
        )
        for fixture in fixtures:
            if fixture.format in RAW_FORMATS:
                yield from read_raw_objects(fixture)
    except FixtureError:
        return  # It loaded when the migration ran; a file gone since names none.


def keeper(excluded: set[Row]) -> Callable[[models.Model], bool]:
    """The dump's filter: whether a model instance is to be written."""

    def keep(obj: models.Model) -> bool:
        return (obj._meta.label_lower, str(obj.pk)) not in excluded

    return keep
