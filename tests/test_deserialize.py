"""
histfixtures.deserialize(): Django's formats, built with historical models.

The registry is the state after library 0001 (library.Author, .Publisher,
Book.title), which the live models no longer match.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import django.apps
import pytest
from django.apps.registry import Apps
from django.core import serializers
from django.core.serializers import python as python_serializer
from django.core.serializers.base import DeserializationError, DeserializedObject
from django.db import migrations, models

import histfixtures
from histfixtures import (
    FixtureError,
    InvalidValueError,
    MalformedFixtureError,
    UnknownFieldError,
    UnknownModelError,
)
from tests.utils import apps_at, executor, state_at

INITIAL = ("library", "0001_initial")

AUTHOR = {"model": "library.author", "pk": 1, "fields": {"name": "Ursula"}}
PUBLISHER = {"model": "library.publisher", "pk": 2, "fields": {"name": "Gollancz"}}
BOOK = {
    "model": "library.book",
    "pk": 3,
    "fields": {"title": "Earthsea", "author": 1, "publisher": 2},
}
OBJECTS = [AUTHOR, PUBLISHER, BOOK]

XML = """<?xml version="1.0" encoding="utf-8"?>
<django-objects version="1.0">
  <object model="library.author" pk="1">
    <field name="name" type="CharField">Ursula</field>
  </object>
  <object model="library.publisher" pk="2">
    <field name="name" type="CharField">Gollancz</field>
  </object>
  <object model="library.book" pk="3">
    <field name="title" type="CharField">Earthsea</field>
    <field name="author" rel="ManyToOneRel" to="library.author">1</field>
    <field name="publisher" rel="ManyToOneRel" to="library.publisher">2</field>
  </object>
</django-objects>
"""

YAML = """\
- model: library.author
  pk: 1
  fields:
    name: Ursula
- model: library.publisher
  pk: 2
  fields:
    name: Gollancz
- model: library.book
  pk: 3
  fields:
    title: Earthsea
    author: 1
    publisher: 2
"""


def _jsonl(objects: list[Any]) -> str:
    return "".join(json.dumps(obj) + "\n" for obj in objects)


FORMATS: dict[str, Any] = {
    "json": json.dumps(OBJECTS),
    "jsonl": _jsonl(OBJECTS),
    "yaml": YAML,
    "xml": XML,
    "python": OBJECTS,
}


@pytest.fixture
def hist_apps(db: None) -> Apps:
    return apps_at(INITIAL)


def _load(
    format: str, data: Any, apps: Apps, **options: Any
) -> list[DeserializedObject]:
    return list(histfixtures.deserialize(format, data, apps=apps, **options))


def _authors(count: int) -> list[dict[str, Any]]:
    return [
        {"model": "library.author", "pk": pk, "fields": {"name": f"Author {pk}"}}
        for pk in range(1, count + 1)
    ]


class RecordingStream:
    """A binary stream that serves ``data`` and records how much was read."""

    def __init__(self, data: bytes, max_chunk: int | None = None) -> None:
        self._stream = io.BytesIO(data)
        self.total = len(data)
        self.max_chunk = max_chunk
        self.sizes: list[int] = []
        self.served = 0

    def read(self, size: int = -1) -> bytes:
        self.sizes.append(size)
        if self.max_chunk is not None and (size < 0 or size > self.max_chunk):
            size = self.max_chunk
        chunk = self._stream.read(size)
        self.served += len(chunk)
        return chunk


# Building objects with the historical models of a state.


@pytest.mark.parametrize("format", list(FORMATS))
def test_every_format_builds_objects_of_the_historical_models(
    hist_apps: Apps, format: str
) -> None:
    objects = _load(format, FORMATS[format], hist_apps)

    Author = hist_apps.get_model("library", "Author")
    Publisher = hist_apps.get_model("library", "Publisher")
    Book = hist_apps.get_model("library", "Book")
    assert [type(obj.object) for obj in objects] == [Author, Publisher, Book]
    author, publisher, book = (obj.object for obj in objects)
    assert (author.pk, author.name) == (1, "Ursula")
    assert (publisher.pk, publisher.name) == (2, "Gollancz")
    assert (book.pk, book.title, book.author_id, book.publisher_id) == (
        3,
        "Earthsea",
        1,
        2,
    )


@pytest.mark.parametrize("format", ["json", "jsonl", "yaml", "xml"])
@pytest.mark.parametrize("kind", ["str", "bytes", "text stream", "binary stream"])
def test_str_bytes_and_streams_are_all_accepted(
    hist_apps: Apps, format: str, kind: str
) -> None:
    text = FORMATS[format]
    data: Any = {
        "str": text,
        "bytes": text.encode(),
        "text stream": io.StringIO(text),
        "binary stream": io.BytesIO(text.encode()),
    }[kind]

    objects = _load(format, data, hist_apps)

    assert [obj.object.pk for obj in objects] == [1, 2, 3]
    assert objects[2].object.title == "Earthsea"


@pytest.mark.django_db
def test_live_registry_builds_live_models() -> None:
    writer = {"model": "library.writer", "pk": 1, "fields": {"name": "Ursula"}}

    (obj,) = _load("json", json.dumps([writer]), django.apps.apps)

    assert type(obj.object) is django.apps.apps.get_model("library", "Writer")


# Incremental JSON and JSON Lines.


@pytest.mark.parametrize("format", ["json", "jsonl"])
def test_large_fixture_is_read_incrementally(hist_apps: Apps, format: str) -> None:
    authors = _authors(20_000)
    text = json.dumps(authors, indent=1) if format == "json" else _jsonl(authors)
    stream = RecordingStream(text.encode())

    iterator = histfixtures.deserialize(format, stream, apps=hist_apps)
    first = next(iterator)

    assert first.object.name == "Author 1"
    assert 0 < stream.served < stream.total
    assert all(size > 0 for size in stream.sizes), "read() asked for everything"

    rest = list(iterator)
    assert len(rest) == 19_999
    assert rest[-1].object.name == "Author 20000"
    assert stream.served == stream.total


@pytest.mark.parametrize("format", ["json", "jsonl"])
def test_stream_serving_one_byte_at_a_time_parses_the_same(
    hist_apps: Apps, format: str
) -> None:
    unicode_author = {
        "model": "library.author",
        "pk": 12345,
        "fields": {"name": "Chinụa Achébé — 日本語 😀"},
    }
    objects = [*OBJECTS, unicode_author]
    text = json.dumps(objects, ensure_ascii=False)
    if format == "jsonl":
        text = "\n".join(json.dumps(obj, ensure_ascii=False) for obj in objects)
    stream = RecordingStream(text.encode(), max_chunk=1)

    loaded = _load(format, stream, hist_apps)

    assert [obj.object.pk for obj in loaded] == [1, 2, 3, 12345]
    assert loaded[-1].object.name == "Chinụa Achébé — 日本語 😀"


TRICKY_JSON = (
    ' \r\n\t[ \n\t{ "model"\n:\t"library.author" ,\r\n "pk" : 1 ,'
    ' "fields" :\n{\n"name"\n:\n"He said \\"a], [b,\\" ]" } } ,\n\n'
    '{"fields":{"name":"Chin\\u1ee5a Ach\\u00e9b\\u00e9 — 日本語 😀 \\ud83d\\ude00"},'
    '"pk":2,"model":"library.author"}\n,{"model":"library.author","pk":3,'
    '"fields":{"name":"back\\\\slash,]}{[\\n\\t"}}\n\t]\r\n  \n'
)


def test_json_with_whitespace_unicode_and_brackets_in_strings_parses(
    hist_apps: Apps,
) -> None:
    objects = _load("json", TRICKY_JSON, hist_apps)

    assert [obj.object.name for obj in objects] == [
        'He said "a], [b," ]',
        "Chinụa Achébé — 日本語 😀 😀",
        "back\\slash,]}{[\n\t",
    ]
    assert [obj.object.pk for obj in objects] == [1, 2, 3]


def test_json_parses_like_the_standard_library(hist_apps: Apps) -> None:
    expected = [obj["fields"]["name"] for obj in json.loads(TRICKY_JSON)]

    names = [
        obj.object.name
        for obj in _load("json", io.BytesIO(TRICKY_JSON.encode()), hist_apps)
    ]

    assert names == expected


@pytest.fixture
def apps_with_json_field(db: None) -> Apps:
    """The 0001 state plus Author.meta, a JSONField (no table needed)."""
    state = state_at(INITIAL)
    migrations.AddField(
        "author", "meta", models.JSONField(default=dict)
    ).state_forwards("library", state)
    return state.apps


def test_nested_json_values_are_kept(apps_with_json_field: Apps) -> None:
    meta = {
        "list": [1, 2.5, None, True, {"deep": ["]", ",", '"', "}"]}],
        "empty": {},
        "text": "a, ] b",
    }
    text = json.dumps(
        [{"model": "library.author", "pk": 1, "fields": {"name": "X", "meta": meta}}],
        indent="\t",
    )

    for data in (text, RecordingStream(text.encode(), max_chunk=7)):
        (obj,) = _load("json", data, apps_with_json_field)
        assert obj.object.meta == meta


@pytest.mark.parametrize("text", ["[]", " [ ] ", "\n[\n]\n"])
def test_empty_json_list_yields_nothing(hist_apps: Apps, text: str) -> None:
    assert _load("json", text, hist_apps) == []


def test_empty_inputs_of_other_formats_yield_nothing(hist_apps: Apps) -> None:
    assert _load("jsonl", "", hist_apps) == []
    assert _load("jsonl", "\n\n  \n", hist_apps) == []
    assert _load("python", [], hist_apps) == []
    assert _load("yaml", "[]", hist_apps) == []


def _json_prefix(count: int) -> str:
    """A JSON list's opening and ``count`` complete objects."""
    return "[" + ", ".join(json.dumps(obj) for obj in _authors(count))


@pytest.mark.parametrize(
    ("text", "complete"),
    [
        ("", 0),
        ("[", 0),
        ('[{"model": "library.au', 0),
        (_json_prefix(2), 2),
        (_json_prefix(2) + ",", 2),
        (_json_prefix(2) + ', {"model": "library.author", "pk": 3, "fie', 2),
        (_json_prefix(3) + ", ", 3),
    ],
)
def test_truncated_json_names_the_number_of_complete_objects(
    hist_apps: Apps, text: str, complete: int
) -> None:
    loaded: list[DeserializedObject] = []

    with pytest.raises(MalformedFixtureError) as info:
        loaded.extend(histfixtures.deserialize("json", text, apps=hist_apps))

    assert info.value.index == complete
    assert len(loaded) == complete


@pytest.mark.parametrize(
    ("cut_before", "complete"),
    [('<object model="library.author"', 0), ('<object model="library.book"', 2)],
)
def test_truncated_xml_names_the_number_of_complete_objects(
    hist_apps: Apps, cut_before: str, complete: int
) -> None:
    text = XML[: XML.index(cut_before) + len(cut_before) + 2]
    loaded: list[DeserializedObject] = []

    with pytest.raises(MalformedFixtureError) as info:
        loaded.extend(histfixtures.deserialize("xml", text, apps=hist_apps))

    assert len(loaded) == complete
    # The XML parser reads ahead, so a syntax error is placed by line, not
    # by object.
    assert info.value.index is None
    assert f"line {text.count(chr(10)) + 1}" in str(info.value)


@pytest.mark.parametrize("garbage", ["x", "]", ", {}", "[]", '{"model": 1}'])
def test_trailing_data_after_the_list_raises(hist_apps: Apps, garbage: str) -> None:
    text = json.dumps(_authors(2)) + "\n" + garbage

    with pytest.raises(MalformedFixtureError) as info:
        _load("json", text, hist_apps)

    assert info.value.index == 2


def test_objects_without_a_comma_between_them_raise(hist_apps: Apps) -> None:
    text = f"[{json.dumps(AUTHOR)} {json.dumps(PUBLISHER)}]"

    with pytest.raises(MalformedFixtureError) as info:
        _load("json", text, hist_apps)

    assert "expected ',' or ']' after an object, found '{'" in str(info.value)
    assert info.value.index == 1


def test_compact_json_in_small_chunks_parses(hist_apps: Apps) -> None:
    text = json.dumps([AUTHOR, PUBLISHER, BOOK], separators=(",", ":"))

    for data in (text, RecordingStream(text.encode(), max_chunk=3)):
        objects = _load("json", data, hist_apps)
        assert [obj.object.pk for obj in objects] == [1, 2, 3]


@pytest.mark.parametrize("text", ["{}", '{"model": "library.author"}', "1", "nul"])
def test_json_that_is_not_a_list_raises(hist_apps: Apps, text: str) -> None:
    with pytest.raises(MalformedFixtureError):
        _load("json", text, hist_apps)


def test_jsonl_blank_lines_are_skipped(hist_apps: Apps) -> None:
    lines = [json.dumps(AUTHOR), "", "   ", json.dumps(PUBLISHER), "\t", ""]
    text = "\n".join(lines) + "\n" + json.dumps(BOOK) + "\n\n"

    objects = _load("jsonl", text, hist_apps)

    assert [obj.object.pk for obj in objects] == [1, 2, 3]


def test_jsonl_bad_line_names_its_line_number(hist_apps: Apps) -> None:
    text = "\n".join([json.dumps(AUTHOR), "", json.dumps(PUBLISHER), '{"model": '])

    with pytest.raises(MalformedFixtureError) as info:
        _load("jsonl", text, hist_apps)

    assert "line 4" in str(info.value)
    assert info.value.index == 2


def test_jsonl_with_crlf_line_endings_parses(hist_apps: Apps) -> None:
    text = "\r\n".join(json.dumps(obj) for obj in OBJECTS) + "\r\n"

    objects = _load("jsonl", text.encode(), hist_apps)

    assert [obj.object.pk for obj in objects] == [1, 2, 3]


# ignorenonexistent, forward references, errors.


UNKNOWN_CONTENT = [
    AUTHOR,
    {"model": "library.writer", "pk": 7, "fields": {"name": "From the future"}},
    {
        "model": "library.book",
        "pk": 3,
        "fields": {"title": "Earthsea", "headline": "x", "pages": 1, "author": 1},
    },
]


@pytest.mark.parametrize("format", ["python", "json", "jsonl", "yaml"])
def test_ignorenonexistent_skips_unknown_fields_and_models(
    hist_apps: Apps, format: str
) -> None:
    data: Any = {
        "python": UNKNOWN_CONTENT,
        "json": json.dumps(UNKNOWN_CONTENT),
        "jsonl": _jsonl(UNKNOWN_CONTENT),
        "yaml": json.dumps(UNKNOWN_CONTENT),  # JSON is YAML.
    }[format]

    objects = _load(format, data, hist_apps, ignorenonexistent=True)

    Author = hist_apps.get_model("library", "Author")
    Book = hist_apps.get_model("library", "Book")
    assert [type(obj.object) for obj in objects] == [Author, Book]
    assert objects[1].object.title == "Earthsea"


def test_ignorenonexistent_skips_unknown_xml_fields(hist_apps: Apps) -> None:
    xml = XML.replace(
        '<field name="title"',
        '<field name="headline" type="CharField">x</field>\n    <field name="title"',
    )

    objects = _load("xml", xml, hist_apps, ignorenonexistent=True)

    assert objects[2].object.title == "Earthsea"
    with pytest.raises(UnknownFieldError) as info:
        _load("xml", xml, hist_apps)
    assert info.value.field == "headline"
    assert info.value.model == "library.Book"
    assert info.value.index == 2


@pytest.mark.parametrize("format", ["python", "json", "jsonl", "yaml"])
def test_unknown_field_error_names_field_model_pk_and_index(
    hist_apps: Apps, format: str
) -> None:
    headline = {"model": "library.book", "pk": 1, "fields": {"headline": "x"}}
    data: Any = {
        "python": [headline],
        "json": json.dumps([headline]),
        "jsonl": _jsonl([headline]),
        "yaml": json.dumps([headline]),
    }[format]

    with pytest.raises(UnknownFieldError) as info:
        _load(format, data, hist_apps)

    error = info.value
    assert error.field == "headline"
    assert error.model == "library.Book"
    assert error.pk == 1
    assert error.index == 0
    message = str(error)
    assert "headline" in message
    assert "library.book" in message.lower()


def test_unknown_model_error_names_model_pk_and_index(hist_apps: Apps) -> None:
    data = [AUTHOR, PUBLISHER, UNKNOWN_CONTENT[1]]

    with pytest.raises(UnknownModelError) as info:
        _load("json", json.dumps(data), hist_apps)

    error = info.value
    assert error.model == "library.writer"
    assert error.pk == 7
    assert error.index == 2
    assert "library.writer" in str(error)


def test_invalid_foreign_key_value_names_field_value_and_index(
    hist_apps: Apps,
) -> None:
    bad_book = {
        "model": "library.book",
        "pk": 4,
        "fields": {"title": "T", "author": "not a number"},
    }

    with pytest.raises(InvalidValueError) as info:
        _load("json", json.dumps([AUTHOR, bad_book]), hist_apps)

    error = info.value
    assert (error.index, error.pk, error.model) == (1, 4, "library.Book")
    assert error.field == "author"
    assert error.value == "not a number"


def test_invalid_primary_key_is_an_invalid_value_error(hist_apps: Apps) -> None:
    bad = {"model": "library.author", "pk": "one", "fields": {"name": "X"}}

    with pytest.raises(InvalidValueError) as info:
        _load("python", [bad], hist_apps)

    assert (info.value.index, info.value.pk, info.value.model) == (
        0,
        "one",
        "library.Author",
    )


@pytest.mark.parametrize(
    "obj",
    [["library.author"], "library.author", {"pk": 1, "fields": {}}, 7],
    ids=["list", "string", "no model", "number"],
)
def test_object_of_the_wrong_shape_is_malformed(hist_apps: Apps, obj: Any) -> None:
    with pytest.raises(MalformedFixtureError) as info:
        _load("json", json.dumps([AUTHOR, obj]), hist_apps)

    assert info.value.index == 1


def test_fields_that_are_not_a_mapping_are_malformed(hist_apps: Apps) -> None:
    bad = {"model": "library.author", "pk": 5, "fields": ["name", "X"]}

    with pytest.raises(MalformedFixtureError) as info:
        _load("python", [AUTHOR, bad], hist_apps)

    assert (info.value.index, info.value.pk, info.value.model) == (
        1,
        5,
        "library.author",
    )


def test_errors_are_fixture_errors_not_django_deserialization_errors(
    hist_apps: Apps,
) -> None:
    for format, data in [
        ("json", "[{"),
        ("jsonl", "{"),
        ("yaml", "- [unclosed"),
        ("xml", "<django-objects><object"),
        ("python", [{"model": "library.nope"}]),
    ]:
        with pytest.raises(FixtureError):
            _load(format, data, hist_apps)


def test_unknown_format_raises_a_fixture_error(hist_apps: Apps) -> None:
    with pytest.raises(FixtureError, match="toml"):
        _load("toml", "", hist_apps)


@pytest.fixture
def auth_apps(db: None) -> Apps:
    """The latest auth state: historical models whose managers have natural keys."""
    (leaf,) = executor().loader.graph.leaf_nodes("auth")
    return apps_at(leaf)


USER_IN_MISSING_GROUP = {
    "model": "auth.user",
    "pk": 1,
    "fields": {"username": "grace", "password": "!", "groups": [["ghosts"]]},
}


def test_forward_references_are_deferred_by_default(auth_apps: Apps) -> None:
    (obj,) = _load("python", [USER_IN_MISSING_GROUP], auth_apps)

    assert type(obj.object) is auth_apps.get_model("auth", "User")
    [(field, value)] = obj.deferred_fields.items()
    assert field.name == "groups"
    assert value == [["ghosts"]]


def test_forward_references_raise_when_not_handled(auth_apps: Apps) -> None:
    with pytest.raises(FixtureError) as info:
        _load(
            "python",
            [USER_IN_MISSING_GROUP],
            auth_apps,
            handle_forward_references=False,
        )

    assert info.value.field == "groups"
    assert info.value.index == 0
    assert info.value.pk == 1
    assert info.value.model == "auth.User"


def test_natural_keys_option_resolves_foreign_keys(db: None) -> None:
    Writer = django.apps.apps.get_model("library", "Writer")
    writer = Writer.objects.create(name="Natural Key Writer")
    apps = apps_at(executor().loader.graph.leaf_nodes("library")[0])
    book = {
        "model": "library.book",
        "pk": 99,
        "fields": {"headline": "H", "pages": 1, "author": ["Natural Key Writer"]},
    }

    (obj,) = _load(
        "json", json.dumps([book]), apps, natural_keys={"library.Writer": ["name"]}
    )

    assert obj.object.author_id == writer.pk
    with pytest.raises(FixtureError) as info:
        _load("json", json.dumps([book]), apps)
    assert info.value.field == "author"


# A custom format registered with SERIALIZATION_MODULES.

UPPERJSON = '''\
"""JSON whose model labels are written in upper case."""

from django.core.serializers import json


class Serializer(json.Serializer):
    def get_dump_object(self, obj):
        data = super().get_dump_object(obj)
        data["model"] = data["model"].upper()
        return data


class Deserializer(json.Deserializer):
    @staticmethod
    def _get_model_from_node(model_identifier):
        return json.Deserializer._get_model_from_node(model_identifier.lower())
'''


@pytest.fixture
def upperjson(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> Iterator[str]:
    module_name = "histfixtures_test_upperjson"
    (tmp_path / f"{module_name}.py").write_text(UPPERJSON)
    monkeypatch.syspath_prepend(str(tmp_path))
    serializers._serializers.clear()
    settings.SERIALIZATION_MODULES = {"upperjson": module_name}
    yield "upperjson"
    serializers._serializers.clear()
    sys.modules.pop(module_name, None)


def test_custom_format_is_deserialized_with_historical_models(
    hist_apps: Apps, upperjson: str
) -> None:
    text = json.dumps(
        [
            {"model": "LIBRARY.AUTHOR", "pk": 1, "fields": {"name": "Ursula"}},
            {"model": "LIBRARY.PUBLISHER", "pk": 2, "fields": {"name": "Gollancz"}},
        ]
    )

    objects = _load(upperjson, text, hist_apps)

    assert [type(obj.object) for obj in objects] == [
        hist_apps.get_model("library", "Author"),
        hist_apps.get_model("library", "Publisher"),
    ]
    assert objects[0].object.name == "Ursula"
    # Django itself, outside, still uses the live models for the format.
    with pytest.raises(DeserializationError):
        list(serializers.deserialize(upperjson, text))


def test_custom_format_errors_are_fixture_errors(
    hist_apps: Apps, upperjson: str
) -> None:
    text = json.dumps(
        [
            {"model": "LIBRARY.AUTHOR", "pk": 1, "fields": {"name": "Ursula"}},
            {"model": "LIBRARY.WRITER", "pk": 2, "fields": {"name": "Terry"}},
        ]
    )

    with pytest.raises(FixtureError) as info:
        _load(upperjson, text, hist_apps)

    assert info.value.index == 1


def test_partly_read_custom_format_does_not_leak_historical_models(
    hist_apps: Apps, upperjson: str
) -> None:
    text = json.dumps(
        [
            {"model": "LIBRARY.AUTHOR", "pk": 1, "fields": {"name": "Ursula"}},
            {"model": "LIBRARY.AUTHOR", "pk": 2, "fields": {"name": "Terry"}},
        ]
    )
    author = '[{"model": "library.author", "pk": 1, "fields": {"name": "X"}}]'

    iterator = histfixtures.deserialize(upperjson, text, apps=hist_apps)
    try:
        first = next(iterator)
        # The caller is not inside historical_models(): Django's own
        # deserializer must still use the live models (no library.author).
        outside = _django_model_of(author)
        rest = list(iterator)
    finally:
        iterator.close()  # Never leave a block open for the next tests.

    assert type(first.object) is hist_apps.get_model("library", "Author")
    assert outside == "DeserializationError"
    assert len(rest) == 1
    assert python_serializer.apps is django.apps.apps


def _django_model_of(fixture: str) -> type[Any] | str:
    """The class Django's own deserializer builds, or the error's name."""
    try:
        (obj,) = serializers.deserialize("json", fixture)
    except DeserializationError as exc:
        return type(exc).__name__
    return type(obj.object)
