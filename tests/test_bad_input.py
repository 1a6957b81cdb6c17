"""
Bad fixture input: the right FixtureError, naming the culprit, nothing written.

Every load here runs as a real migration (``library.0099_bad``), so each error
must name that state. Every bad fixture starts with at least two valid objects
(pks 100+, which no migration creates); the database must be exactly as it
was afterwards, so none of the valid objects may survive the failure. Most
cases run twice: with the default batch size (the valid objects are still
buffered when the bad one is read) and with ``batch_size=1`` (they are
already written, and must be rolled back).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from django.db import migrations
from django.db.migrations.operations.base import Operation
from django.db.migrations.state import ProjectState

from histfixtures import (
    AmbiguousFixtureError,
    EmptyFixtureError,
    FixtureError,
    FixtureNotFoundError,
    InvalidValueError,
    LoadFixture,
    MalformedFixtureError,
    MissingRelatedObjectError,
    UnknownFieldError,
    UnknownModelError,
    load_fixture,
)
from tests.utils import apply_as_migration, apps_at, migrate, snapshot, state_at

LATEST = (("library", "0011_writer_slug"), ("shop", "0008_order_total_cents"))
BEFORE_TAG = ("library", "0005_rename_author_writer")
MIGRATION_NAME = "0099_bad"
STATE = f"library.{MIGRATION_NAME}"

ErrorT = TypeVar("ErrorT", bound=FixtureError)

pytestmark = pytest.mark.django_db(transaction=True)

_UNSET: Any = object()

# Two valid objects at the latest state; every bad fixture starts with them.
VALID_WRITERS: list[dict[str, Any]] = [
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
]


def book(pk: int, **fields: Any) -> dict[str, Any]:
    """A latest-state library.book object; ``fields`` override the defaults."""
    values = {"headline": f"Book {pk}", "author": 100, "pages": 200, **fields}
    return {"model": "library.book", "pk": pk, "fields": values}


def write_json(directory: Path, name: str, objects: list[Any]) -> Path:
    path = directory / name
    path.write_text(json.dumps(objects, indent=2), encoding="utf-8")
    return path


def write_text(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def valid_writers_yaml() -> str:
    return yaml.safe_dump(VALID_WRITERS, sort_keys=False)


def load_in_migration(
    operation: Operation,
    state: ProjectState | None = None,
) -> None:
    """Apply ``operation`` as migration library.0099_bad at ``state``."""
    apply_as_migration(
        [operation],
        "library",
        state if state is not None else state_at(*LATEST),
        name=MIGRATION_NAME,
    )


def expect_error(
    error_class: type[ErrorT],
    operation: Operation,
    state: ProjectState | None = None,
) -> ErrorT:
    """Run the migration, expect ``error_class``, and check nothing changed."""
    before = snapshot()
    with pytest.raises(error_class) as info:
        load_in_migration(operation, state)
    assert snapshot() == before
    error = info.value
    assert type(error) is error_class
    assert error.state == STATE
    assert STATE in str(error)
    return error


def load_error(
    error_class: type[ErrorT],
    *labels: str,
    state: ProjectState | None = None,
    **options: Any,
) -> ErrorT:
    return expect_error(error_class, LoadFixture(*labels, **options), state)


def run_python_load(path: Path) -> migrations.RunPython:
    def code(apps: Any, schema_editor: Any) -> None:
        load_fixture(apps, schema_editor, str(path))

    return migrations.RunPython(code)


def assert_names(
    error: FixtureError,
    *,
    fixture: Path | str,
    index: int | None = _UNSET,
    pk: Any = _UNSET,
    model: str | None = _UNSET,
    field: str | None = _UNSET,
    value: Any = _UNSET,
) -> None:
    """Check the error's attributes, and that its message lists each of them."""
    message = str(error)
    assert error.fixture == str(fixture)
    assert str(fixture) in message
    if index is not _UNSET:
        assert error.index == index
        assert f"index {index}" in message
    if pk is not _UNSET:
        assert error.pk == pk
        assert f"pk={pk!r}" in message
    if model is not _UNSET:
        # The label as the fixture spells it or as Django does: case aside.
        assert error.model is not None
        assert error.model.lower() == model.lower()
        assert model.lower() in message.lower()
    if field is not _UNSET:
        assert error.field == field
        assert f"field: {field}" in message
    if value is not _UNSET:
        assert error.value == value
        assert f"value: {value!r}" in message


@pytest.fixture(params=[None, 1], ids=["default-batch", "batch-of-1"])
def batch_size(request: pytest.FixtureRequest) -> int | None:
    """None: valid objects still buffered at the error; 1: already written."""
    param: int | None = request.param
    return param


def options_for(batch_size: int | None) -> dict[str, Any]:
    return {} if batch_size is None else {"batch_size": batch_size}


# -- Files that cannot be parsed ----------------------------------------------


def test_truncated_json_is_malformed_and_names_the_object_being_read(
    tmp_path: Path, batch_size: int | None
) -> None:
    text = json.dumps(VALID_WRITERS, indent=2)[:-1].rstrip()
    text += ',\n  {"model": "library.writer", "pk": 102, "fields": {"name": "Trun'
    path = write_text(tmp_path, "truncated.json", text)

    error = load_error(MalformedFixtureError, str(path), **options_for(batch_size))

    assert_names(error, fixture=path, index=2)


def test_malformed_yaml_is_malformed_and_names_the_line(
    tmp_path: Path, batch_size: int | None
) -> None:
    text = valid_writers_yaml() + (
        "- model: library.writer\n  pk: 102\n  fields:\n    name: [unclosed\n"
    )
    path = write_text(tmp_path, "malformed.yaml", text)

    error = load_error(MalformedFixtureError, str(path), **options_for(batch_size))

    assert_names(error, fixture=path)
    # PyYAML reads the whole document before any object: the index of the
    # broken object may be unknown, but it must never name another object.
    assert error.index in (None, 2)
    assert "line" in str(error)


def test_malformed_xml_is_malformed_and_names_the_line(
    tmp_path: Path, batch_size: int | None
) -> None:
    text = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<django-objects version="1.0">\n'
        '  <object model="library.writer" pk="100">\n'
        '    <field name="name" type="CharField">Octavia E. Butler</field>\n'
        '    <field name="slug" type="SlugField">octavia-e-butler</field>\n'
        "  </object>\n"
        '  <object model="library.writer" pk="101">\n'
        '    <field name="name" type="CharField">Italo Calvino</field>\n'
        '    <field name="slug" type="SlugField">italo-calvino</field>\n'
        "  </object>\n"
        '  <object model="library.writer" pk="102">\n'
        '    <field name="name" type="CharField">Broken</fieldd>\n'
        "  </object>\n"
        "</django-objects>\n"
    )
    path = write_text(tmp_path, "malformed.xml", text)

    error = load_error(MalformedFixtureError, str(path), **options_for(batch_size))

    assert_names(error, fixture=path)
    assert error.index in (None, 2)
    assert re.search(r"line 12\b|:12:", str(error))


def test_yaml_python_tag_is_refused_and_never_executed(
    tmp_path: Path, batch_size: int | None
) -> None:
    marker = tmp_path / "executed"
    text = valid_writers_yaml() + (
        "- model: library.writer\n"
        "  pk: 102\n"
        "  fields:\n"
        f"    name: !!python/object/apply:os.system ['touch {marker}']\n"
    )
    path = write_text(tmp_path, "python_tag.yaml", text)

    error = load_error(MalformedFixtureError, str(path), **options_for(batch_size))

    assert not marker.exists()
    assert_names(error, fixture=path)
    assert "python/object/apply" in str(error)


@pytest.mark.parametrize(
    ("bad_object", "pk"),
    [
        pytest.param("library.writer", None, id="string"),
        pytest.param([{"model": "library.writer"}], None, id="list"),
        pytest.param({"pk": 102, "fields": {"name": "No Model"}}, 102, id="no-model"),
        pytest.param(
            {"model": "library.writer", "pk": 102, "fields": ["name"]},
            102,
            id="fields-not-a-mapping",
        ),
        # loaddata refuses it too (issue 13, item 4).
        pytest.param(
            {"model": "library.writer", "pk": 102, "name": "Fields At Top"},
            102,
            id="fields-missing",
        ),
    ],
)
def test_object_of_the_wrong_shape_is_malformed(
    tmp_path: Path, batch_size: int | None, bad_object: Any, pk: int | None
) -> None:
    path = write_json(tmp_path, "wrong_shape.json", [*VALID_WRITERS, bad_object])

    error = load_error(MalformedFixtureError, str(path), **options_for(batch_size))

    assert_names(error, fixture=path, index=2, pk=pk)


# -- Models and fields that do not exist at the state -------------------------


def test_renamed_model_is_unknown_and_hint_suggests_its_new_name(
    tmp_path: Path, batch_size: int | None
) -> None:
    bad = {"model": "library.author", "pk": 102, "fields": {"name": "Old Name"}}
    path = write_json(tmp_path, "renamed_model.json", [*VALID_WRITERS, bad])

    error = load_error(UnknownModelError, str(path), **options_for(batch_size))

    assert_names(error, fixture=path, index=2, pk=102, model="library.author")
    assert error.hint is not None
    assert "library.Writer" in error.hint
    assert "library.Writer" in str(error)


def test_deleted_model_is_unknown_with_a_hint(
    tmp_path: Path, batch_size: int | None
) -> None:
    bad = {"model": "library.publisher", "pk": 100, "fields": {"name": "Penguin"}}
    path = write_json(tmp_path, "deleted_model.json", [*VALID_WRITERS, bad])

    error = load_error(UnknownModelError, str(path), **options_for(batch_size))

    assert_names(error, fixture=path, index=2, pk=100, model="library.publisher")
    assert error.hint
    assert f"hint: {error.hint}" in str(error)


def _seed_rows_library_0007_needs() -> None:
    """
    Let migrations_restored re-apply library.0007_load_tags after this test.

    Unapplying 0010 recreates an empty Publisher table, and an earlier
    transactional test may have flushed the writers, so the books of
    library_tags.yaml would point nowhere when 0007 is applied again.
    """
    apps = apps_at(BEFORE_TAG)
    Writer = apps.get_model("library", "Writer")
    Publisher = apps.get_model("library", "Publisher")
    Writer.objects.get_or_create(pk=1, defaults={"name": "Ursula K. Le Guin"})
    Writer.objects.get_or_create(pk=3, defaults={"name": "Chinua Achebe"})
    Publisher.objects.get_or_create(pk=1, defaults={"name": "Penguin Books"})


@pytest.mark.usefixtures("migrations_restored")
def test_model_created_by_a_later_migration_is_unknown_at_an_earlier_state(
    tmp_path: Path, batch_size: int | None
) -> None:
    migrate(BEFORE_TAG)
    try:
        # At 0005 the writer has no slug yet.
        writers = [
            {"model": "library.writer", "pk": pk, "fields": {"name": f"Writer {pk}"}}
            for pk in (100, 101)
        ]
        bad = {"model": "library.tag", "pk": 100, "fields": {"name": "fantasy"}}
        path = write_json(tmp_path, "later_model.json", [*writers, bad])

        error = load_error(
            UnknownModelError,
            str(path),
            state=state_at(BEFORE_TAG),
            **options_for(batch_size),
        )

        assert_names(error, fixture=path, index=2, pk=100, model="library.tag")
        assert error.hint is not None
        # The hint names the (later) migration that creates the model.
        assert "created by library.0006_tag" in error.hint
    finally:
        _seed_rows_library_0007_needs()


def test_renamed_field_is_unknown_and_hint_names_the_new_field(
    tmp_path: Path, batch_size: int | None
) -> None:
    bad = {
        "model": "library.book",
        "pk": 100,
        "fields": {"title": "Kindred", "author": 100, "pages": 264},
    }
    path = write_json(tmp_path, "unknown_field_at_state.json", [*VALID_WRITERS, bad])

    error = load_error(UnknownFieldError, str(path), **options_for(batch_size))

    assert_names(
        error,
        fixture=path,
        index=2,
        pk=100,
        model="library.book",
        field="title",
        value="Kindred",
    )
    assert error.hint is not None
    assert "headline" in error.hint


# -- Values the fields or the database reject ---------------------------------


def test_text_for_an_integer_field_is_an_invalid_value(
    tmp_path: Path, batch_size: int | None
) -> None:
    path = write_json(
        tmp_path, "invalid_pages.json", [*VALID_WRITERS, book(100, pages="many")]
    )

    error = load_error(InvalidValueError, str(path), **options_for(batch_size))

    assert_names(
        error,
        fixture=path,
        index=2,
        pk=100,
        model="library.book",
        field="pages",
        value="many",
    )


def test_impossible_datetime_is_an_invalid_value(
    tmp_path: Path, batch_size: int | None
) -> None:
    listing = {
        "model": "shop.listing",
        "pk": 100,
        "fields": {
            "book": 100,
            "amount": "12.50",
            "currency": "EUR",
            "listed_at": "2024-02-30T10:00:00Z",
        },
    }
    path = write_json(
        tmp_path, "invalid_datetime.json", [*VALID_WRITERS, book(100), listing]
    )

    error = load_error(InvalidValueError, str(path), **options_for(batch_size))

    assert_names(
        error,
        fixture=path,
        index=3,
        pk=100,
        model="shop.listing",
        field="listed_at",
        value="2024-02-30T10:00:00Z",
    )


def test_not_null_violation_names_the_object_the_database_rejected(
    tmp_path: Path, batch_size: int | None
) -> None:
    no_pages = book(101)
    del no_pages["fields"]["pages"]
    objects = [*VALID_WRITERS, book(100), no_pages, book(102)]
    path = write_json(tmp_path, "not_null.json", objects)

    error = load_error(InvalidValueError, str(path), **options_for(batch_size))

    assert_names(error, fixture=path, index=3, pk=101, model="library.Book")


def test_foreign_key_to_a_missing_row_names_object_field_and_value(
    tmp_path: Path, batch_size: int | None
) -> None:
    path = write_json(
        tmp_path, "missing_author.json", [*VALID_WRITERS, book(100, author=999)]
    )

    error = load_error(MissingRelatedObjectError, str(path), **options_for(batch_size))

    assert_names(
        error,
        fixture=path,
        index=2,
        pk=100,
        model="library.Book",
        field="author",
        value=999,
    )


def test_many_to_many_value_to_a_missing_row_names_the_owner_and_field(
    tmp_path: Path, batch_size: int | None
) -> None:
    tag = {"model": "library.tag", "pk": 100, "fields": {"name": "valid-tag"}}
    objects = [*VALID_WRITERS, tag, book(100, tags=[100, 999])]
    path = write_json(tmp_path, "missing_tag.json", objects)

    error = load_error(MissingRelatedObjectError, str(path), **options_for(batch_size))

    assert_names(
        error,
        fixture=path,
        index=3,
        pk=100,
        model="library.Book",
        field="tags",
        value=999,
    )


# -- Labels and files ---------------------------------------------------------


def test_empty_fixture_after_a_good_one_is_an_error_and_loads_neither(
    tmp_path: Path, batch_size: int | None
) -> None:
    good = write_json(tmp_path, "good.json", VALID_WRITERS)
    empty = write_text(tmp_path, "empty.json", "[]")

    error = load_error(
        EmptyFixtureError, str(good), str(empty), **options_for(batch_size)
    )

    assert_names(error, fixture=empty)
    assert error.hint


def test_label_matching_no_file_is_not_found_and_loads_nothing(
    tmp_path: Path,
) -> None:
    good = write_json(tmp_path, "good.json", VALID_WRITERS)

    error = load_error(FixtureNotFoundError, str(good), "no_such_fixture_anywhere")

    assert_names(error, fixture="no_such_fixture_anywhere")
    assert error.hint


def test_label_matching_files_in_two_fixture_dirs_is_ambiguous(
    tmp_path: Path, settings: Any
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    json_path = write_json(first, "dup.json", VALID_WRITERS)
    yaml_path = write_text(second, "dup.yaml", valid_writers_yaml())
    settings.FIXTURE_DIRS = [str(first), str(second)]

    error = load_error(AmbiguousFixtureError, "dup")

    assert_names(error, fixture="dup")
    assert str(json_path) in str(error)
    assert str(yaml_path) in str(error)


def test_label_matching_two_files_in_one_directory_is_ambiguous(
    tmp_path: Path,
) -> None:
    write_json(tmp_path, "dup.json", VALID_WRITERS)
    write_text(tmp_path, "dup.yaml", valid_writers_yaml())
    label = str(tmp_path / "dup")

    error = load_error(AmbiguousFixtureError, label)

    assert error.fixture == label
    assert label in str(error)


# -- The same errors from load_fixture() in RunPython -------------------------


def test_run_python_load_reports_unknown_field_with_its_migration_state(
    tmp_path: Path,
) -> None:
    bad = {"model": "library.book", "pk": 100, "fields": {"title": "Kindred"}}
    path = write_json(tmp_path, "unknown_field_at_state.json", [*VALID_WRITERS, bad])

    error = expect_error(UnknownFieldError, run_python_load(path))

    assert_names(
        error,
        fixture=path,
        index=2,
        pk=100,
        model="library.book",
        field="title",
        value="Kindred",
    )


def test_run_python_load_reports_missing_foreign_key_with_its_migration_state(
    tmp_path: Path,
) -> None:
    path = write_json(
        tmp_path, "missing_author.json", [*VALID_WRITERS, book(100, author=999)]
    )

    error = expect_error(MissingRelatedObjectError, run_python_load(path))

    assert_names(
        error,
        fixture=path,
        index=2,
        pk=100,
        model="library.Book",
        field="author",
        value=999,
    )


def test_run_python_load_reports_invalid_value_with_its_migration_state(
    tmp_path: Path,
) -> None:
    path = write_json(
        tmp_path, "invalid_pages.json", [*VALID_WRITERS, book(100, pages="many")]
    )

    error = expect_error(InvalidValueError, run_python_load(path))

    assert_names(error, fixture=path, index=2, pk=100, field="pages", value="many")


# -- Atomicity across fixtures ------------------------------------------------


@pytest.mark.parametrize(
    ("bad_object", "error_class"),
    [
        pytest.param(book(102, title="Kindred"), UnknownFieldError, id="unknown-field"),
        pytest.param(
            book(102, author=999), MissingRelatedObjectError, id="missing-foreign-key"
        ),
    ],
)
def test_bad_fixture_after_a_good_one_leaves_the_good_rows_out_too(
    tmp_path: Path,
    batch_size: int | None,
    bad_object: dict[str, Any],
    error_class: type[FixtureError],
) -> None:
    good_objects: list[Any] = [
        {"model": "library.writer", "pk": 110, "fields": {"name": "Good", "slug": "g"}},
        {"model": "library.tag", "pk": 110, "fields": {"name": "good-tag"}},
        book(110, author=110, tags=[110]),
    ]
    good = write_json(tmp_path, "good.json", good_objects)
    bad = write_json(tmp_path, "bad.json", [*VALID_WRITERS, bad_object])

    error = load_error(error_class, str(good), str(bad), **options_for(batch_size))

    assert_names(error, fixture=bad, index=2, pk=102)
