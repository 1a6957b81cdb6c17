"""
Errors in the user's words (issue 13, items 2 and 3).

- Every structural shape a fixture can get wrong (the top level not a list,
  an object not a mapping, "model" missing, not a string or not
  "app_label.ModelName", a pk of the wrong type, "fields" not a mapping, a
  value of the wrong type, a many-to-many value not a list, a natural key of
  the wrong shape), in each format: the right FixtureError subclass, a message
  that says what was expected and what was found, and the object's index,
  model and field filled in.
- A value of the wrong type for each of Django's field classes: the message
  names the field, what it expects in a fixture author's words, and the value.
- Values that convert but that the database cannot store (an integer beyond
  its column, beyond SQLite's 64 bits, a date and time that leaves the years
  1 to 9999 in UTC) and a damaged zip file, through every entry point: a
  FixtureError naming file, object, model, field, value and state, never
  OverflowError or zipfile.BadZipFile, and the database unchanged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.apps import apps
from django.apps.registry import Apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, models
from django.db.migrations.state import ModelState, ProjectState

from histfixtures import (
    FixtureError,
    InvalidValueError,
    MalformedFixtureError,
    NaturalKeyError,
    UnknownFieldError,
    deserialize,
)
from histfixtures.checks import check_load_fixtures
from histfixtures.migration_state import DatabaseMigrationState
from histfixtures.options import LoadOptions
from histfixtures.validation import find_problems
from tests.test_bad_input import (
    LATEST,
    STATE,
    VALID_WRITERS,
    book,
    expect_error,
    load_error,
    run_python_load,
)
from tests.test_checks import use_scenario
from tests.utils import apps_at, snapshot, state_at

pytestmark = pytest.mark.django_db(transaction=True)

EXPECTED_GOT = re.compile(r"[Ee]xpected .+, got .+")

# -- Structural shapes, in every format ----------------------------------------

WRITER = VALID_WRITERS[0]


def _obj(**changes: Any) -> dict[str, Any]:
    """A latest-state library.book object with keys replaced (None: removed)."""
    obj: dict[str, Any] = {
        "model": "library.book",
        "pk": 300,
        "fields": {"headline": "Kindred", "author": 100, "pages": 264},
    }
    for key, value in changes.items():
        if value is None:
            obj.pop(key)
        else:
            obj[key] = value
    return obj


def _fields(**fields: Any) -> dict[str, Any]:
    return _obj(fields={"headline": "Kindred", "author": 100, "pages": 264, **fields})


# (id, the objects after the valid writer, error class, index, model, field)
SHAPES: list[
    tuple[str, Any, type[FixtureError], int | None, str | None, str | None]
] = [
    ("object-not-a-mapping", [5], MalformedFixtureError, 1, None, None),
    ("object-a-list", [["library.book"]], MalformedFixtureError, 1, None, None),
    ("model-missing", [_obj(model=None)], MalformedFixtureError, 1, None, None),
    ("model-not-a-string", [_obj(model=5)], MalformedFixtureError, 1, "5", None),
    (
        "model-a-list",
        [_obj(model=["library.book"])],
        MalformedFixtureError,
        1,
        None,
        None,
    ),
    ("model-without-app", [_obj(model="book")], MalformedFixtureError, 1, "book", None),
    ("model-two-dots", [_obj(model="a.b.c")], MalformedFixtureError, 1, "a.b.c", None),
    ("pk-a-list", [_obj(pk=[1])], InvalidValueError, 1, "library.Book", "id"),
    ("pk-a-mapping", [_obj(pk={"id": 1})], InvalidValueError, 1, "library.Book", "id"),
    ("pk-text", [_obj(pk="three")], InvalidValueError, 1, "library.Book", "id"),
    (
        "fields-a-list",
        [_obj(fields=[1, 2])],
        MalformedFixtureError,
        1,
        "library.book",
        None,
    ),
    (
        "fields-a-string",
        [_obj(fields="x")],
        MalformedFixtureError,
        1,
        "library.book",
        None,
    ),
    (
        "integer-text",
        [_fields(pages="many")],
        InvalidValueError,
        1,
        "library.Book",
        "pages",
    ),
    (
        "integer-a-list",
        [_fields(pages=[264])],
        InvalidValueError,
        1,
        "library.Book",
        "pages",
    ),
    (
        "fk-a-mapping",
        [_fields(author={"pk": 100})],
        InvalidValueError,
        1,
        "library.Book",
        "author",
    ),
    (
        "fk-text",
        [_fields(author="Octavia")],
        InvalidValueError,
        1,
        "library.Book",
        "author",
    ),
    ("m2m-an-integer", [_fields(tags=5)], InvalidValueError, 1, "library.Book", "tags"),
    (
        "m2m-a-string",
        [_fields(tags="fiction")],
        InvalidValueError,
        1,
        "library.Book",
        "tags",
    ),
    (
        "m2m-item-a-mapping",
        [_fields(tags=[{"pk": 1}])],
        InvalidValueError,
        1,
        "library.Book",
        "tags",
    ),
    (
        "natural-key-nested",
        [_fields(author=[["Octavia"]])],
        NaturalKeyError,
        1,
        "library.Book",
        "author",
    ),
]

# Shapes JSON Lines cannot hold differently from JSON are the same; XML has
# its own (below). YAML and the python entry take every shape.
FORMATS = ["json", "jsonl", "yaml", "python"]


def _serialize(format: str, objects: list[Any]) -> Any:
    if format == "json":
        return json.dumps(objects)
    if format == "jsonl":
        return "".join(json.dumps(obj) + "\n" for obj in objects)
    if format == "yaml":
        return yaml.safe_dump(objects)
    return objects


def _read(format: str, data: Any, apps: Apps) -> None:
    list(deserialize(format, data, apps=apps))


def _assert_user_words(error: FixtureError) -> str:
    message = error.message
    assert EXPECTED_GOT.search(message), message
    # Never the text of an internal exception.
    for internal in ("object has no attribute", "is not iterable", "argument must"):
        assert internal not in message
    assert not message.startswith(("Invalid object", "Cannot read the"))
    return message


@pytest.mark.parametrize("format", FORMATS)
@pytest.mark.parametrize(
    ("objects", "error_class", "index", "model", "field"),
    [pytest.param(*shape[1:], id=shape[0]) for shape in SHAPES],
)
def test_structural_shape_is_named_in_the_users_words(
    format: str,
    objects: list[Any],
    error_class: type[FixtureError],
    index: int,
    model: str | None,
    field: str | None,
) -> None:
    apps = apps_at(*LATEST)
    data = _serialize(format, [WRITER, *objects])

    with pytest.raises(FixtureError) as info:
        _read(format, data, apps)

    error = info.value
    assert type(error) is error_class
    if error_class is not NaturalKeyError:  # Its own words, tested elsewhere.
        _assert_user_words(error)
    assert error.index == index
    assert f"index {index}" in str(error)
    if model is not None:
        assert error.model == model
    if field is not None:
        assert error.field == field
        assert f"field: {field}" in str(error)


@pytest.mark.parametrize(
    ("text", "error_class"),
    [
        pytest.param('{"model": "library.writer"}', MalformedFixtureError, id="json"),
        pytest.param("model: library.writer\n", MalformedFixtureError, id="yaml"),
    ],
)
def test_top_level_not_a_list_says_a_list_was_expected(
    text: str, error_class: type[FixtureError]
) -> None:
    format = "json" if text.startswith("{") else "yaml"

    with pytest.raises(error_class) as info:
        _read(format, text, apps_at(*LATEST))

    assert "list of objects" in info.value.message


def test_python_entry_with_something_else_than_a_list() -> None:
    with pytest.raises(MalformedFixtureError) as info:
        _read("python", 5, apps_at(*LATEST))

    assert info.value.message == "Expected a list of objects, got 5."


def test_field_named_by_an_integer_is_unknown_and_named() -> None:
    text = "- model: library.writer\n  pk: 100\n  fields:\n    1: Octavia\n"

    with pytest.raises(UnknownFieldError) as info:
        _read("yaml", text, apps_at(*LATEST))

    assert info.value.field == "1"
    assert info.value.index == 0


def _xml(obj: str) -> str:
    writer = (
        '<object model="library.writer" pk="100">'
        '<field name="name" type="CharField">Octavia E. Butler</field></object>'
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<django-objects version="1.0">{writer}{obj}</django-objects>'
    )


XML_SHAPES = [
    pytest.param(
        '<object pk="300"><field name="headline" type="CharField">K</field></object>',
        MalformedFixtureError,
        None,
        id="model-missing",
    ),
    pytest.param(
        '<object model="book" pk="300"></object>',
        MalformedFixtureError,
        None,
        id="model-without-app",
    ),
    pytest.param(
        '<object model="library.book" pk="three"></object>',
        InvalidValueError,
        "id",
        id="pk-text",
    ),
    pytest.param(
        '<object model="library.book" pk="300">'
        '<field name="headline" type="CharField">K</field>'
        '<field name="author" rel="ManyToOneRel" to="library.writer">100</field>'
        '<field name="pages" type="PositiveIntegerField">many</field></object>',
        InvalidValueError,
        "pages",
        id="integer-text",
    ),
    pytest.param(
        '<object model="library.book" pk="300">'
        '<field name="headline" type="CharField">K</field>'
        '<field name="author" rel="ManyToOneRel" to="library.writer">Octavia</field>'
        '<field name="pages" type="PositiveIntegerField">1</field></object>',
        InvalidValueError,
        "author",
        id="fk-text",
    ),
    pytest.param(
        '<object model="library.book" pk="300">'
        '<field name="headline" type="CharField">K</field>'
        '<field name="author" rel="ManyToOneRel" to="library.writer">100</field>'
        '<field name="pages" type="PositiveIntegerField">1</field>'
        '<field name="tags" rel="ManyToManyRel" to="library.tag">'
        '<object pk="fiction"></object></field></object>',
        InvalidValueError,
        "tags",
        id="m2m-item-text",
    ),
    pytest.param(
        '<object model="library.book" pk="300">'
        '<field type="CharField">K</field></object>',
        MalformedFixtureError,
        None,
        id="field-without-name",
    ),
    pytest.param(
        '<object model="library.book" pk="300">'
        '<field name="headline" type="CharField">K</field>'
        '<field name="author" rel="ManyToOneRel" to="library.writer">100</field>'
        f'<field name="pages" type="PositiveIntegerField">{2**63}</field></object>',
        InvalidValueError,
        "pages",
        id="integer-beyond-64-bits",
    ),
]


@pytest.mark.parametrize(("obj", "error_class", "field"), XML_SHAPES)
def test_xml_shape_is_named_in_the_users_words(
    obj: str, error_class: type[FixtureError], field: str | None
) -> None:
    with pytest.raises(FixtureError) as info:
        _read("xml", _xml(obj), apps_at(*LATEST))

    error = info.value
    assert type(error) is error_class
    _assert_user_words(error)
    assert error.index == 1
    if field is not None:
        assert error.model == "library.Book"
        assert error.field == field
        assert error.pk == re.search(r'pk="([^"]*)"', obj).group(1)


# -- Every field class: what it expects -----------------------------------------

THING_FIELDS: list[tuple[str, models.Field[Any, Any]]] = [
    ("id", models.AutoField(primary_key=True)),
    ("boolean", models.BooleanField(null=True)),
    ("integer", models.IntegerField(null=True)),
    ("big", models.BigIntegerField(null=True)),
    ("real", models.FloatField(null=True)),
    ("amount", models.DecimalField(max_digits=9, decimal_places=3, null=True)),
    ("day", models.DateField(null=True)),
    ("moment", models.DateTimeField(null=True)),
    ("clock", models.TimeField(null=True)),
    ("span", models.DurationField(null=True)),
    ("uid", models.UUIDField(null=True)),
    ("blob", models.BinaryField(null=True)),
    ("ip", models.GenericIPAddressField(null=True)),
    ("parent", models.ForeignKey("probe.thing", models.CASCADE, null=True)),
    ("others", models.ManyToManyField("probe.thing")),
]


@pytest.fixture(scope="module")
def thing_apps() -> Apps:
    """A model with a field of each class, rendered from a state of its own."""
    state = ProjectState()
    state.add_model(ModelState("probe", "Thing", THING_FIELDS))
    return state.apps


# (field, value, what the message says is expected, reason if any)
FIELD_VALUES = [
    ("boolean", "maybe", "true or false", None),
    ("integer", "many", "an integer", None),
    ("integer", [1], "an integer", None),
    ("integer", float("inf"), "an integer", "out of range"),
    ("integer", 2**63, "an integer", "holds integers from"),
    ("big", "9" * 30, "an integer", "holds integers from"),
    ("real", "x", "a number", None),
    ("real", 10**400, "a number", "out of range"),
    ("amount", "abc", "a decimal number", None),
    ("amount", {}, "a decimal number", None),
    ("day", 12, "a date (YYYY-MM-DD)", None),
    ("day", "2024-02-30", "a date (YYYY-MM-DD)", "invalid date"),
    ("moment", 12, "a date and time", None),
    ("moment", [2024, 1, 1], "a date and time", None),
    ("moment", "2024-13-01T00:00", "a date and time", "invalid date"),
    ("clock", 12, "a time (HH:MM", None),
    ("clock", "25:00", "a time (HH:MM", "invalid time"),
    ("span", 12, "a duration", None),
    ("span", "10000000000 days", "a duration", "out of range"),
    ("span", "P99999999999D", "a duration", "out of range"),
    ("span", b"1", "a duration", None),
    ("uid", "not-a-uuid", "a UUID", None),
    ("uid", b"x", "a UUID", None),
    ("blob", "x", "base64-encoded bytes", None),
    ("ip", {"a": 1}, "an IPv4 or IPv6 address", None),
    ("parent", "one", "the primary key of a probe.Thing (an integer)", None),
    ("parent", 2**64, "the primary key of a probe.Thing", "holds integers from"),
    ("others", 5, "a list of probe.Thing primary keys", None),
    ("others", ["one"], "a list of probe.Thing primary keys", None),
    ("others", [2**64], "a list of probe.Thing primary keys", "holds integers from"),
]


@pytest.mark.parametrize(("field", "value", "expected", "reason"), FIELD_VALUES)
def test_wrong_value_names_the_field_what_it_expects_and_the_value(
    thing_apps: Apps, field: str, value: Any, expected: str, reason: str | None
) -> None:
    obj = {"model": "probe.thing", "pk": 7, "fields": {field: value}}

    with pytest.raises(InvalidValueError) as info:
        _read("python", [obj], thing_apps)

    error = info.value
    message = _assert_user_words(error)
    assert message.startswith(f"probe.Thing.{field}: expected {expected}")
    assert ", got " in message
    if reason is not None:
        assert reason in message
    assert (error.index, error.pk, error.model, error.field) == (
        0,
        7,
        "probe.Thing",
        field,
    )
    assert error.value == value or error.value != error.value  # nan aside


def test_a_huge_value_is_shortened_in_the_message(thing_apps: Apps) -> None:
    obj = {"model": "probe.thing", "pk": 7, "fields": {"integer": "9" * 5000}}

    with pytest.raises(InvalidValueError) as info:
        _read("python", [obj], thing_apps)

    assert len(str(info.value)) < 1000


# -- Values the database cannot store, and damaged files, at every entry point --

ListingObjects = list[dict[str, Any]]


def _listing(listed_at: str) -> ListingObjects:
    return [
        book(300),
        {
            "model": "shop.listing",
            "pk": 300,
            "fields": {
                "book": 300,
                "amount": "9.99",
                "currency": "EUR",
                "listed_at": listed_at,
            },
        },
    ]


# (id, objects after the valid writers, model, field, index, pk)
UNSTORABLE_INTEGERS = [
    pytest.param(
        [book(300, pages=2**63)], "library.Book", "pages", 2, 300, id="int-64-bits"
    ),
    pytest.param(
        [book(300, pages=-(2**70))], "library.Book", "pages", 2, 300, id="negative-int"
    ),
    pytest.param([book(2**64)], "library.Book", "id", 2, 2**64, id="pk"),
    pytest.param([book(300, author=2**63)], "library.Book", "author", 2, 300, id="fk"),
    pytest.param([book(300, tags=[2**63])], "library.Book", "tags", 2, 300, id="m2m"),
]
UNSTORABLE_DATETIMES = [
    pytest.param(
        _listing("9999-12-31T23:59:59-05:00"),
        "shop.Listing",
        "listed_at",
        3,
        300,
        id="datetime-after-9999-in-utc",
    ),
    pytest.param(
        _listing("0001-01-01T00:00:00+05:00"),
        "shop.Listing",
        "listed_at",
        3,
        300,
        id="datetime-before-year-1-in-utc",
    ),
]
UNSTORABLE = UNSTORABLE_INTEGERS + UNSTORABLE_DATETIMES


def _skip_where_stored(field: str) -> None:
    """
    PostgreSQL's timestamptz holds an aware datetime beyond the years 1 to
    9999 in UTC, and psycopg passes it on unconverted: it loads there, as
    with loaddata. Other backends convert it to UTC in Python first.
    """
    if field == "listed_at" and connection.vendor == "postgresql":
        pytest.skip("PostgreSQL stores this datetime, as loaddata does.")


def _write(tmp_path: Path, objects: list[Any]) -> Path:
    path = tmp_path / "unstorable.json"
    path.write_text(json.dumps([*VALID_WRITERS, *objects]))
    return path


def _assert_unstorable(
    error: FixtureError, path: Path, model: str, field: str, index: int, pk: Any
) -> None:
    assert type(error) is InvalidValueError
    _assert_user_words(error)
    assert (error.fixture, error.index, error.pk) == (str(path), index, pk)
    assert (error.model, error.field) == (model, field)
    assert error.message.startswith(f"{model}.{field}: expected ")
    message = str(error)
    assert f"fixture: {path}" in message
    assert f"index {index}" in message
    assert f"field: {field}" in message
    assert "value: " in message


@pytest.mark.parametrize("batch_size", [None, 1])
@pytest.mark.parametrize(("objects", "model", "field", "index", "pk"), UNSTORABLE)
def test_unstorable_value_in_a_migration(
    tmp_path: Path,
    objects: list[Any],
    model: str,
    field: str,
    index: int,
    pk: Any,
    batch_size: int | None,
) -> None:
    _skip_where_stored(field)
    path = _write(tmp_path, objects)
    options = {} if batch_size is None else {"batch_size": batch_size}

    error = load_error(InvalidValueError, str(path), **options)

    _assert_unstorable(error, path, model, field, index, pk)


@pytest.mark.parametrize(("objects", "model", "field", "index", "pk"), UNSTORABLE)
def test_unstorable_value_in_run_python(
    tmp_path: Path, objects: list[Any], model: str, field: str, index: int, pk: Any
) -> None:
    _skip_where_stored(field)
    path = _write(tmp_path, objects)

    error = expect_error(InvalidValueError, run_python_load(path))

    _assert_unstorable(error, path, model, field, index, pk)


@pytest.mark.parametrize(
    ("objects", "model", "field", "index", "pk"), UNSTORABLE_INTEGERS
)
def test_unstorable_value_in_loadfixture_state(
    tmp_path: Path, objects: list[Any], model: str, field: str, index: int, pk: Any
) -> None:
    path = _write(tmp_path, objects)
    state = "library.0011_writer_slug"
    before = snapshot()

    with pytest.raises(InvalidValueError) as info:
        call_command("loadfixture", str(path), state=state, verbosity=0)

    assert snapshot() == before
    _assert_unstorable(info.value, path, model, field, index, pk)
    assert info.value.state == state


@pytest.mark.parametrize(
    "listed_at", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00+05:00"]
)
def test_unstorable_datetime_in_loadfixture_state(
    tmp_path: Path, listed_at: str
) -> None:
    _skip_where_stored("listed_at")
    # At shop 0008 the library is at 0002: the listing alone, written (and
    # refused) before its foreign key is checked.
    (listing,) = _listing(listed_at)[1:]
    path = _write(tmp_path, [])
    path.write_text(json.dumps([listing]))
    state = "shop.0008_order_total_cents"
    before = snapshot()

    with pytest.raises(InvalidValueError) as info:
        call_command("loadfixture", str(path), state=state, verbosity=0)

    assert snapshot() == before
    _assert_unstorable(info.value, path, "shop.Listing", "listed_at", 0, 300)
    assert info.value.state == state


@pytest.mark.parametrize(("objects", "model", "field", "index", "pk"), UNSTORABLE)
def test_unstorable_value_in_migration_state_load(
    tmp_path: Path, objects: list[Any], model: str, field: str, index: int, pk: Any
) -> None:
    _skip_where_stored(field)
    path = _write(tmp_path, objects)
    before = snapshot()

    with pytest.raises(InvalidValueError) as info:
        DatabaseMigrationState().load(str(path))

    assert snapshot() == before
    _assert_unstorable(info.value, path, model, field, index, pk)
    assert info.value.state is not None


@pytest.mark.parametrize(("objects", "model", "field", "index", "pk"), UNSTORABLE)
def test_unstorable_value_in_upgradefixture(
    tmp_path: Path,
    objects: list[Any],
    model: str,
    field: str,
    index: int,
    pk: Any,
    django_db_blocker: Any,
) -> None:
    _skip_where_stored(field)
    path = _write(tmp_path, objects)
    content = path.read_bytes()
    output = tmp_path / "upgraded.json"
    before = snapshot()

    with pytest.raises(CommandError) as info, django_db_blocker.unblock():
        call_command(
            "upgradefixture",
            str(path),
            "--from",
            "library.0011_writer_slug",
            "--from",
            "shop.0008_order_total_cents",
            output=str(output),
        )

    cause = info.value.__cause__
    assert isinstance(cause, FixtureError)
    _assert_unstorable(cause, path, model, field, index, pk)
    assert str(cause) in str(info.value)
    assert path.read_bytes() == content
    assert not output.exists()
    assert snapshot() == before


def test_checks_pass_over_values_they_do_not_convert(
    settings: Any, tmp_path: Path
) -> None:
    """The checks compare names only; an odd value is the load's to report."""

    use_scenario(settings, "checks_hostile_fixture")
    settings.FIXTURE_DIRS = [str(tmp_path)]
    objects = [
        {"model": "library.author", "pk": 2**70, "fields": {"name": 2**70}},
        {"model": "library.book", "pk": 1, "fields": {"author": [[2**70]]}},
    ]
    (tmp_path / "hostile.json").write_text(json.dumps(objects))

    findings = check_load_fixtures([apps.get_app_config("library")])

    # Book.author by natural key: Author has none at 0001 (E005), no crash.
    assert [finding.id for finding in findings] == ["histfixtures.E005"]


def test_checks_do_not_crash_on_a_many_to_many_value_that_is_not_a_list() -> None:

    objects = [{"model": "library.book", "pk": 1, "fields": {"tags": 5}}]

    assert find_problems(objects, state_at(*LATEST), LoadOptions()) == []


def _not_a_zip(tmp_path: Path) -> Path:
    path = tmp_path / "damaged.json.zip"
    path.write_bytes(b"PK\x03\x04 this is not a zip archive")
    return path


DAMAGED_ZIP_ENTRY_POINTS: list[tuple[str, Callable[[Path], Any]]] = [
    ("LoadFixture", lambda path: load_error(MalformedFixtureError, str(path))),
    (
        "RunPython",
        lambda path: expect_error(MalformedFixtureError, run_python_load(path)),
    ),
]


@pytest.mark.parametrize(
    "entry", [pytest.param(e[1], id=e[0]) for e in DAMAGED_ZIP_ENTRY_POINTS]
)
def test_damaged_zip_in_a_migration(
    tmp_path: Path, entry: Callable[[Path], FixtureError]
) -> None:
    path = _not_a_zip(tmp_path)

    error = entry(path)

    assert error.fixture == str(path)
    assert error.state == STATE


def test_damaged_zip_in_loadfixture_state_and_migration_state(tmp_path: Path) -> None:
    path = _not_a_zip(tmp_path)
    before = snapshot()

    with pytest.raises(MalformedFixtureError) as by_command:
        call_command(
            "loadfixture", str(path), state="library.0011_writer_slug", verbosity=0
        )
    with pytest.raises(MalformedFixtureError) as by_state:
        DatabaseMigrationState().load(str(path))

    assert snapshot() == before
    assert by_command.value.fixture == by_state.value.fixture == str(path)


def test_damaged_zip_in_upgradefixture(tmp_path: Path, django_db_blocker: Any) -> None:
    path = _not_a_zip(tmp_path)

    with pytest.raises(CommandError) as info, django_db_blocker.unblock():
        call_command(
            "upgradefixture",
            str(path),
            "--from",
            "library.0011_writer_slug",
            output=str(tmp_path / "out.json"),
        )

    assert isinstance(info.value.__cause__, MalformedFixtureError)
    assert str(path) in str(info.value)


def test_connection_is_usable_after_the_refusals() -> None:
    """No refusal above left a transaction broken."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
