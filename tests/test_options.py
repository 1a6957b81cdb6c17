"""
Loading options and semantics: validation, exclude, on_conflict, batch_size,
upserts, LoadResult, database and routers, signals, compression and stdin.

The loads run against the test database at the latest state, with the models
of that state; all objects use pks 100+, which no migration creates.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.apps.registry import Apps
from django.db import connection, migrations
from django.db.models import signals

from histfixtures import (
    AmbiguousFixtureError,
    LoadFixture,
    LoadResult,
    MalformedFixtureError,
    ObjectExistsError,
    load_fixture,
    loader,
    unload_fixture,
)
from library.models import Book, Tag, Writer
from shop.models import Customer
from tests.utils import apply_as_migration, apps_at, snapshot, state_at

LATEST = (("library", "0011_writer_slug"), ("shop", "0008_order_total_cents"))

# A latest-state fixture: 2 writers, 2 tags, 3 books (with m2m), 1 customer.
CATALOG: list[dict[str, Any]] = [
    {
        "model": "library.writer",
        "pk": 100,
        "fields": {"name": "Octavia E. Butler", "slug": "octavia-e-butler"},
    },
    {
        "model": "library.writer",
        "pk": 101,
        "fields": {"name": "Italo Calvino", "slug": "italo-calvino"},
    },
    {"model": "library.tag", "pk": 100, "fields": {"name": "novel"}},
    {"model": "library.tag", "pk": 101, "fields": {"name": "short-stories"}},
    {
        "model": "library.book",
        "pk": 100,
        "fields": {
            "headline": "Kindred",
            "author": 100,
            "pages": 264,
            "tags": [100],
            "publisher_name": "Doubleday",
        },
    },
    {
        "model": "library.book",
        "pk": 101,
        "fields": {
            "headline": "Bloodchild",
            "author": 100,
            "pages": 214,
            "tags": [100, 101],
        },
    },
    {
        "model": "library.book",
        "pk": 102,
        "fields": {"headline": "Invisible Cities", "author": 101, "pages": 165},
    },
    {
        "model": "shop.customer",
        "pk": 100,
        "fields": {"full_name": "Barbara Liskov", "email": "barbara@example.com"},
    },
]

# What CATALOG leaves in the database.
CATALOG_ROWS: dict[str, list[tuple[Any, ...]]] = {
    "writers": [
        (100, "Octavia E. Butler", "octavia-e-butler"),
        (101, "Italo Calvino", "italo-calvino"),
    ],
    "tags": [(100, "novel"), (101, "short-stories")],
    "books": [
        (100, "Kindred", 100, 264, "Doubleday", (100,)),
        (101, "Bloodchild", 100, 214, "", (100, 101)),
        (102, "Invisible Cities", 101, 165, "", ()),
    ],
    "links": [(3,)],
    "customers": [(100, "Barbara Liskov", "barbara@example.com")],
}

pytestmark = pytest.mark.django_db(transaction=True)


def latest_apps() -> Apps:
    return apps_at(*LATEST)


def load(*labels: str, **options: Any) -> LoadResult:
    """load_fixture() with the latest-state historical models."""
    with connection.schema_editor() as schema_editor:
        return load_fixture(latest_apps(), schema_editor, *labels, **options)


def unload(*labels: str, **options: Any) -> int:
    with connection.schema_editor() as schema_editor:
        return unload_fixture(latest_apps(), schema_editor, *labels, **options)


def write_json(directory: Path, name: str, objects: list[Any]) -> Path:
    path = directory / name
    path.write_text(json.dumps(objects, indent=2), encoding="utf-8")
    return path


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    return write_json(tmp_path, "catalog.json", CATALOG)


def catalog_rows() -> dict[str, list[tuple[Any, ...]]]:
    """The rows with pks 100+ (those the tests write), m2m as sorted pk tuples."""
    books = Book.objects.filter(pk__gte=100).order_by("pk")
    return {
        "writers": list(
            Writer.objects.filter(pk__gte=100)
            .order_by("pk")
            .values_list("pk", "name", "slug")
        ),
        "tags": list(
            Tag.objects.filter(pk__gte=100).order_by("pk").values_list("pk", "name")
        ),
        "books": [
            (
                b.pk,
                b.headline,
                b.author_id,
                b.pages,
                b.publisher_name,
                tuple(sorted(b.tags.values_list("pk", flat=True))),
            )
            for b in books
        ],
        "links": [(Book.tags.through.objects.filter(book_id__gte=100).count(),)],
        "customers": list(
            Customer.objects.filter(pk__gte=100)
            .order_by("pk")
            .values_list("pk", "full_name", "email")
        ),
    }


def nothing_loaded() -> dict[str, list[tuple[Any, ...]]]:
    return {
        "writers": [],
        "tags": [],
        "books": [],
        "links": [(0,)],
        "customers": [],
    }


# -- Options are validated when the operation is built ------------------------


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(LoadFixture, id="LoadFixture"),
        pytest.param(loader, id="loader"),
    ],
)
@pytest.mark.parametrize(
    ("options", "error_class"),
    [
        pytest.param({"on_conflict": "bogus"}, ValueError, id="on_conflict-bogus"),
        pytest.param({"batch_size": 0}, ValueError, id="batch_size-0"),
        pytest.param({"batch_size": -5}, ValueError, id="batch_size-negative"),
        pytest.param({"batch_size": True}, ValueError, id="batch_size-bool"),
        pytest.param({"exclude": "library"}, ValueError, id="exclude-string"),
        pytest.param({"on_conflicts": "ignore"}, TypeError, id="unknown-option"),
    ],
)
@pytest.mark.django_db(transaction=False)
def test_invalid_option_fails_when_the_migration_is_built(
    build: Callable[..., Any], options: dict[str, Any], error_class: type[Exception]
) -> None:
    with pytest.raises(error_class):
        build("catalog", **options)


# -- exclude and routers ------------------------------------------------------


def create_original_tags() -> None:
    Tag.objects.create(pk=100, name="original-100")
    Tag.objects.create(pk=101, name="original-101")


@pytest.mark.parametrize(
    ("exclude", "skipped"),
    [
        pytest.param(["library.tag"], 2, id="model"),
        pytest.param(["library.Tag"], 2, id="model-as-django-spells-it"),
        pytest.param(["shop"], 1, id="app"),
    ],
)
def test_exclude_skips_those_objects_and_counts_them(
    catalog: Path, exclude: list[str], skipped: int
) -> None:
    create_original_tags()

    result = load(str(catalog), exclude=exclude)

    expected = {**CATALOG_ROWS}
    if "shop" in exclude:
        expected["customers"] = []
    else:
        expected["tags"] = [(100, "original-100"), (101, "original-101")]
    assert catalog_rows() == expected
    assert result.skipped == skipped
    assert result.objects == len(CATALOG) - skipped


class NoTagsRouter:
    """Keeps library.Tag out of every database."""

    def allow_migrate(
        self, db: str, app_label: str, model_name: str | None = None, **hints: Any
    ) -> bool | None:
        if model_name == "tag":
            return False
        return None


def test_router_refusing_a_model_skips_its_objects(
    catalog: Path, settings: Any
) -> None:
    create_original_tags()
    settings.DATABASE_ROUTERS = [NoTagsRouter()]

    result = load(str(catalog))

    expected = {**CATALOG_ROWS}
    expected["tags"] = [(100, "original-100"), (101, "original-101")]
    assert catalog_rows() == expected
    assert result.skipped == 2
    assert "library.Tag" not in result.models


def test_router_refusing_a_model_skips_it_in_a_load_fixture_operation(
    catalog: Path, settings: Any
) -> None:
    create_original_tags()
    settings.DATABASE_ROUTERS = [NoTagsRouter()]

    apply_as_migration([LoadFixture(str(catalog))], "library", state_at(*LATEST))

    expected = {**CATALOG_ROWS}
    expected["tags"] = [(100, "original-100"), (101, "original-101")]
    assert catalog_rows() == expected


# -- on_conflict --------------------------------------------------------------


def create_original_writer_and_book() -> None:
    writer = Writer.objects.create(pk=100, name="Original", slug="original")
    Book.objects.create(pk=100, headline="Original", author=writer, pages=1)


def test_on_conflict_update_overwrites_existing_rows(catalog: Path) -> None:
    create_original_writer_and_book()

    result = load(str(catalog), on_conflict="update")

    assert catalog_rows() == CATALOG_ROWS
    assert result.objects == len(CATALOG)
    assert result.skipped == 0


def test_on_conflict_update_is_the_default(catalog: Path) -> None:
    create_original_writer_and_book()

    load(str(catalog))

    assert catalog_rows() == CATALOG_ROWS


def test_on_conflict_ignore_keeps_existing_rows_and_their_links(catalog: Path) -> None:
    create_original_writer_and_book()

    result = load(str(catalog), on_conflict="ignore")

    expected = {**CATALOG_ROWS}
    expected["writers"] = [(100, "Original", "original"), CATALOG_ROWS["writers"][1]]
    expected["books"] = [(100, "Original", 100, 1, "", ()), *CATALOG_ROWS["books"][1:]]
    expected["links"] = [(2,)]
    assert catalog_rows() == expected
    assert result.skipped == 2
    assert result.objects == len(CATALOG) - 2


def test_on_conflict_error_raises_and_leaves_the_database_unchanged(
    catalog: Path,
) -> None:
    create_original_writer_and_book()
    before = snapshot()

    with pytest.raises(ObjectExistsError) as info:
        apply_as_migration(
            [LoadFixture(str(catalog), on_conflict="error")],
            "library",
            state_at(*LATEST),
            name="0099_conflict",
        )

    assert snapshot() == before
    error = info.value
    assert error.fixture == str(catalog)
    assert (error.index, error.pk, error.model) == (0, 100, "library.Writer")
    assert error.state == "library.0099_conflict"


def test_on_conflict_error_loads_new_rows(catalog: Path) -> None:
    result = load(str(catalog), on_conflict="error")

    assert catalog_rows() == CATALOG_ROWS
    assert result.objects == len(CATALOG)


# -- Batches and upserts ------------------------------------------------------


@pytest.mark.parametrize("batch_size", [None, 1, 2, 3], ids=lambda b: f"batch-{b}")
def test_every_batch_size_gives_the_same_rows(
    catalog: Path, batch_size: int | None
) -> None:
    options = {} if batch_size is None else {"batch_size": batch_size}

    result = load(str(catalog), **options)

    assert catalog_rows() == CATALOG_ROWS
    assert result.objects == len(CATALOG)


def test_loading_twice_gives_the_same_rows_and_replaces_links(catalog: Path) -> None:
    load(str(catalog))
    load(str(catalog))

    assert catalog_rows() == CATALOG_ROWS


def test_reload_replaces_links_edited_since(catalog: Path) -> None:
    load(str(catalog))
    Book.objects.get(pk=102).tags.set([100, 101])
    Book.objects.get(pk=101).tags.set([])

    load(str(catalog))

    books = {row[0]: row[5] for row in catalog_rows()["books"]}
    assert books[101] == (100, 101)
    # Book 102 lists no tags in the fixture, so its links are left alone.
    assert books[102] == (100, 101)


def test_same_pk_twice_in_one_fixture_ends_with_the_second_version(
    tmp_path: Path,
) -> None:
    objects = [
        *CATALOG[:4],
        {
            "model": "library.book",
            "pk": 100,
            "fields": {"headline": "First", "author": 100, "pages": 1, "tags": [100]},
        },
        {"model": "library.writer", "pk": 100, "fields": {"name": "Second"}},
        {
            "model": "library.book",
            "pk": 100,
            "fields": {"headline": "Second", "author": 101, "pages": 2, "tags": [101]},
        },
    ]
    path = write_json(tmp_path, "twice.json", objects)

    load(str(path))

    rows = catalog_rows()
    assert rows["writers"][0] == (100, "Second", "")
    assert rows["books"] == [(100, "Second", 101, 2, "", (101,))]


# -- LoadResult ---------------------------------------------------------------


def test_load_result_reports_what_was_loaded(catalog: Path, tmp_path: Path) -> None:
    extra = write_json(
        tmp_path,
        "extra.json",
        [{"model": "library.tag", "pk": 102, "fields": {"name": "extra"}}],
    )
    results: list[LoadResult] = []

    def code(apps: Apps, schema_editor: Any) -> None:
        results.append(load_fixture(apps, schema_editor, str(catalog), str(extra)))

    apply_as_migration(
        [migrations.RunPython(code)],
        "library",
        state_at(*LATEST),
        name="0099_result",
    )

    [result] = results
    assert result.state == "library.0099_result"
    assert result.objects == len(CATALOG) + 1
    assert result.skipped == 0
    assert result.fixtures == [str(catalog), str(extra)]
    assert dict(result.counts) == {
        "library.Writer": 2,
        "library.Tag": 3,
        "library.Book": 3,
        "shop.Customer": 1,
    }
    assert result.models == [
        "library.Book",
        "library.Tag",
        "library.Writer",
        "shop.Customer",
    ]


# -- database -----------------------------------------------------------------


def test_load_fixture_operation_for_another_database_loads_nothing(
    catalog: Path,
) -> None:
    before = snapshot()

    apply_as_migration(
        [LoadFixture(str(catalog), database="other")], "library", state_at(*LATEST)
    )

    assert snapshot() == before


def test_load_fixture_operation_for_this_database_loads(catalog: Path) -> None:
    apply_as_migration(
        [LoadFixture(str(catalog), database="default")], "library", state_at(*LATEST)
    )

    assert catalog_rows() == CATALOG_ROWS


def test_load_fixture_for_another_database_loads_nothing(catalog: Path) -> None:
    before = snapshot()

    result = load(str(catalog), database="other")

    assert snapshot() == before
    assert (result.objects, result.fixtures, result.models) == (0, [], [])
    assert unload(str(catalog), database="other") == 0


# -- Signals ------------------------------------------------------------------


@pytest.fixture
def sent_signals() -> Iterator[list[str]]:
    """Names of the model signals sent while the test runs (any sender)."""
    sent: list[str] = []
    receivers = {}
    for name in ("pre_save", "post_save", "m2m_changed", "pre_delete", "post_delete"):

        def receiver(sender: Any, _name: str = name, **kwargs: Any) -> None:
            sent.append(f"{_name} {sender}")

        receivers[name] = receiver
        getattr(signals, name).connect(receiver, weak=False)
    try:
        yield sent
    finally:
        for name, receiver in receivers.items():
            getattr(signals, name).disconnect(receiver)


def test_historical_load_and_unload_send_no_model_signals(
    catalog: Path, sent_signals: list[str]
) -> None:
    # The receivers do hear live models.
    Tag.objects.create(pk=200, name="live").delete()
    assert sent_signals
    sent_signals.clear()

    load(str(catalog))
    deleted = unload(str(catalog))

    assert sent_signals == []
    assert deleted > 0
    assert catalog_rows() == nothing_loaded()


# -- Compression, format, stdin -----------------------------------------------


# 2 writers, a tag and a book linked to it.
SMALL: list[dict[str, Any]] = [*CATALOG[:3], CATALOG[4]]
SMALL_ROWS = {
    "writers": CATALOG_ROWS["writers"],
    "tags": [(100, "novel")],
    "books": [CATALOG_ROWS["books"][0]],
    "links": [(1,)],
    "customers": [],
}


def _zip(path: Path, data: bytes) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("small.json", data)


COMPRESSORS: dict[str, Callable[[Path, bytes], None]] = {
    "gz": lambda path, data: path.write_bytes(gzip.compress(data)),
    "bz2": lambda path, data: path.write_bytes(bz2.compress(data)),
    "xz": lambda path, data: path.write_bytes(lzma.compress(data)),
    "zip": _zip,
}


@pytest.mark.parametrize("suffix", sorted(COMPRESSORS))
def test_compressed_fixture_loads(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"small.json.{suffix}"
    COMPRESSORS[suffix](path, json.dumps(SMALL).encode())

    result = load(str(path))

    assert catalog_rows() == SMALL_ROWS
    assert result.fixtures == [str(path)]


def test_zip_with_two_members_is_malformed(tmp_path: Path) -> None:
    path = tmp_path / "two.json.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("one.json", json.dumps(SMALL))
        archive.writestr("two.json", json.dumps(SMALL))
    before = snapshot()

    with pytest.raises(MalformedFixtureError) as info:
        load(str(path))

    assert snapshot() == before
    assert info.value.fixture == str(path)
    assert str(path) in str(info.value)


def test_format_option_picks_the_file_with_that_extension(tmp_path: Path) -> None:
    write_json(tmp_path, "small.json", SMALL)
    (tmp_path / "small.yaml").write_text(
        "- model: library.tag\n  pk: 105\n  fields:\n    name: from-yaml\n",
        encoding="utf-8",
    )
    label = str(tmp_path / "small")
    with pytest.raises(AmbiguousFixtureError):
        load(label)

    result = load(label, format="json")

    assert catalog_rows() == SMALL_ROWS
    assert result.fixtures == [str(tmp_path / "small.json")]


def test_stdin_label_with_format_reads_standard_input(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(SMALL)))

    result = load("-", format="json")

    assert catalog_rows() == SMALL_ROWS
    assert result.objects == len(SMALL)
