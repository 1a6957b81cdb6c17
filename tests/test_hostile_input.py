"""
Hostile and broken input (issue 13): a FixtureError naming the file, or a
check finding with a hint, never another exception; and reading that stays
linear in the size of every value.

- Files the OS cannot open as a fixture (dangling symbolic link, directory,
  symlink loop, NUL in the label) and compressed files that cannot be
  decompressed (truncated, not of their format, bad CRC, encrypted zip
  member), loaded by a migration: the error is a FixtureError subclass that
  names the file, and nothing is written.
- The same files, and a JSON array nested 200,000 deep, in the system
  checks: a finding (E001 or E002) with a hint, never a traceback.
- One very large string: the JSON and JSON Lines readers examine a number of
  characters linear in its size (counted, not timed).
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.checks import Error
from django.core.management import call_command
from django.core.management.base import SystemCheckError

import histfixtures.serializers.json as json_reader
from histfixtures import (
    FixtureError,
    FixtureNotFoundError,
    MalformedFixtureError,
)
from histfixtures.serializers import jsonl
from histfixtures.serializers.text import text_lines
from tests.test_bad_input import (
    VALID_WRITERS,
    assert_names,
    load_error,
    options_for,
)
from tests.test_checks import library_findings, use_scenario

# -- Broken files, made in a directory ----------------------------------------

# Enough writers that a damaged compressed file fails after some were read.
MANY_WRITERS: list[dict[str, Any]] = [
    *VALID_WRITERS,
    *(
        {
            "model": "library.writer",
            "pk": pk,
            "fields": {"name": f"Writer {pk}", "slug": f"writer-{pk}"},
        }
        for pk in range(102, 2102)
    ),
]
MANY_WRITERS_JSON = json.dumps(MANY_WRITERS, indent=2).encode()


def _dangling_symlink(directory: Path, name: str) -> Path:
    path = directory / name
    path.symlink_to(directory / "no-such-file.json")
    return path


def _directory(directory: Path, name: str) -> Path:
    path = directory / name
    path.mkdir()
    return path


def _symlink_loop(directory: Path, name: str) -> Path:
    path = directory / name
    path.symlink_to(path)
    return path


def _truncated_gzip(directory: Path, name: str) -> Path:
    path = directory / name
    data = gzip.compress(MANY_WRITERS_JSON)
    path.write_bytes(data[: len(data) * 2 // 3])
    return path


def _not_gzip(directory: Path, name: str) -> Path:
    path = directory / name
    path.write_bytes(MANY_WRITERS_JSON)
    return path


def _not_zip(directory: Path, name: str) -> Path:
    path = directory / name
    path.write_bytes(MANY_WRITERS_JSON)
    return path


def _zip_with_bad_crc(directory: Path, name: str) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("writers.json", MANY_WRITERS_JSON)
    data = bytearray(buffer.getvalue())
    # Damage an object near the end: the CRC is checked once all is read.
    at = data.rfind(b'"Writer 2100"')
    data[at + 1 : at + 7] = b"Damage"
    path = directory / name
    path.write_bytes(bytes(data))
    return path


def _encrypted_zip(directory: Path, name: str) -> Path:
    # zipfile cannot encrypt: set the "encrypted" flag of the member in its
    # local header and in the central directory, as an encrypting zip would.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("writers.json", json.dumps(VALID_WRITERS))
    data = bytearray(buffer.getvalue())
    data[data.find(b"PK\x03\x04") + 6] |= 0x1
    data[data.find(b"PK\x01\x02") + 8] |= 0x1
    path = directory / name
    path.write_bytes(bytes(data))
    return path


def _truncated_bzip2(directory: Path, name: str) -> Path:
    path = directory / name
    data = bz2.compress(MANY_WRITERS_JSON)
    path.write_bytes(data[: len(data) // 2])
    return path


def _not_xz(directory: Path, name: str) -> Path:
    path = directory / name
    path.write_bytes(b"\xfd7zXZ\x00" + MANY_WRITERS_JSON)
    return path


def _deep_json(directory: Path, name: str) -> Path:
    path = directory / name
    path.write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    return path


def _deep_json_line(directory: Path, name: str) -> Path:
    path = directory / name
    text = "\n".join(json.dumps(writer) for writer in VALID_WRITERS)
    path.write_text(text + "\n" + "[" * 200_000 + "]" * 200_000, encoding="utf-8")
    return path


Maker = Callable[[Path, str], Path]

# (maker, file name, error class): one per class of input.
UNOPENABLE: list[Any] = [
    pytest.param(_dangling_symlink, "hostile.json", "symbolic link", id="dangling"),
    pytest.param(_directory, "hostile.json", "directory", id="directory"),
    pytest.param(_symlink_loop, "hostile.json", "loops", id="symlink-loop"),
]
UNREADABLE: list[Any] = [
    pytest.param(_truncated_gzip, "hostile.json.gz", "gzip", id="truncated-gzip"),
    pytest.param(_not_gzip, "hostile.json.gz", "gzip", id="not-gzip"),
    pytest.param(_not_zip, "hostile.json.zip", "zip", id="not-zip"),
    pytest.param(_zip_with_bad_crc, "hostile.json.zip", "CRC", id="zip-bad-crc"),
    pytest.param(_encrypted_zip, "hostile.json.zip", "encrypted", id="encrypted"),
    pytest.param(_truncated_bzip2, "hostile.json.bz2", "bzip2", id="truncated-bz2"),
    pytest.param(_not_xz, "hostile.json.xz", "xz", id="not-xz"),
    pytest.param(_deep_json, "hostile.json", "nested too deeply", id="deep-json"),
    pytest.param(
        _deep_json_line, "hostile.jsonl", "nested too deeply", id="deep-jsonl"
    ),
]


# -- Loading them -------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("make", "name", "what"), UNOPENABLE)
def test_a_file_that_cannot_be_opened_is_not_found_and_named(
    tmp_path: Path, make: Maker, name: str, what: str
) -> None:
    path = make(tmp_path, name)

    error = load_error(FixtureNotFoundError, str(tmp_path / "hostile"))

    assert_names(error, fixture=path)
    assert what in error.message
    assert error.hint


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("batch_size", [None, 1], ids=["default-batch", "batch-of-1"])
@pytest.mark.parametrize(("make", "name", "what"), UNREADABLE)
def test_a_file_that_cannot_be_read_is_malformed_and_named(
    tmp_path: Path, batch_size: int | None, make: Maker, name: str, what: str
) -> None:
    path = make(tmp_path, name)

    error = load_error(
        MalformedFixtureError, str(tmp_path / "hostile"), **options_for(batch_size)
    )

    assert_names(error, fixture=path)
    assert what in error.message
    assert error.hint or error.index is not None
    if name.endswith(".gz") and make is _truncated_gzip:
        # The JSON reader knows which object it was reading.
        assert error.index is not None
        assert error.index > 2


@pytest.mark.django_db(transaction=True)
def test_a_nul_in_the_label_is_not_found() -> None:
    label = "writers\x00.json"

    error = load_error(FixtureNotFoundError, label)

    assert error.fixture == label
    assert repr(label) in str(error)
    assert "NUL" in str(error)


def test_a_stream_error_is_malformed_whichever_parser_reads(tmp_path: Path) -> None:
    # The guard is on the stream: every parser (here YAML and XML, through
    # the checks' reader) gets the same FixtureError.
    from histfixtures.discovery import find_fixture_files
    from histfixtures.validation import read_raw_objects

    for name in ("guarded.yaml.gz", "guarded.xml.gz"):
        path = _not_gzip(tmp_path, name)
        (fixture,) = find_fixture_files([str(path)], using="default")
        with pytest.raises(MalformedFixtureError) as info:
            list(read_raw_objects(fixture))
        assert info.value.fixture == str(path)
        assert "not a valid gzip file" in str(info.value)


# -- The system checks never crash on them ------------------------------------


@pytest.fixture
def hostile_scenario(settings: Any, tmp_path: Path) -> Path:
    """library.0002_load loads LoadFixture("hostile"), found in tmp_path."""
    use_scenario(settings, "checks_hostile_fixture")
    settings.FIXTURE_DIRS = [str(tmp_path)]
    return tmp_path


def _only_finding(id: str) -> Error:
    findings = library_findings()
    assert [finding.id for finding in findings] == [id]
    (finding,) = findings
    assert isinstance(finding, Error)
    assert str(finding.obj) == "library.0002_load"
    assert finding.hint
    return finding


@pytest.mark.parametrize(("make", "name", "what"), UNOPENABLE)
def test_checks_report_a_file_that_cannot_be_opened_as_E001(
    hostile_scenario: Path, make: Maker, name: str, what: str
) -> None:
    path = make(hostile_scenario, name)

    finding = _only_finding("histfixtures.E001")

    assert str(path) in finding.msg
    assert what in finding.msg


@pytest.mark.parametrize(("make", "name", "what"), UNREADABLE)
def test_checks_report_a_file_that_cannot_be_read_as_E002(
    hostile_scenario: Path, make: Maker, name: str, what: str
) -> None:
    path = make(hostile_scenario, name)

    finding = _only_finding("histfixtures.E002")

    assert str(path) in finding.msg
    assert what in finding.msg
    assert "manage.py loaddata hostile" in finding.hint


def test_checks_report_a_deeply_nested_yaml_file_as_E002(
    hostile_scenario: Path,
) -> None:
    (hostile_scenario / "hostile.yaml").write_text(
        "[" * 100_000 + "]" * 100_000, encoding="utf-8"
    )

    finding = _only_finding("histfixtures.E002")

    assert str(hostile_scenario / "hostile.yaml") in finding.msg


def test_a_damaged_fixture_is_a_finding_of_manage_py_check(
    hostile_scenario: Path,
) -> None:
    _truncated_gzip(hostile_scenario, "hostile.json.gz")

    with pytest.raises(SystemCheckError, match=r"histfixtures\.E002.*gzip"):
        call_command(
            "check", tags=["histfixtures"], stdout=io.StringIO(), stderr=io.StringIO()
        )


# -- Reading one large value is linear in its size ----------------------------

BIG = 4 * 1024 * 1024  # Characters in the large string.
CHUNK = 1024  # Characters per read: 4,096 reads.


class _CountedText(str):
    """
    A chunk of text that counts the characters copied to prepend to it.

    ``buffer + chunk`` calls ``chunk.__radd__`` first (a str subclass wins),
    so a reader that rebuilds a growing buffer by concatenation is caught;
    joining a list of chunks once copies nothing here.
    """

    copied = 0

    def __radd__(self, other: str) -> str:
        _CountedText.copied += len(other)
        return str.__add__(other, str(self))


class _TextStream:
    """Serves ``text`` in _CountedText chunks of ``CHUNK`` characters."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0

    def read(self, size: int = -1) -> str:
        chunk = self.text[self.position : self.position + CHUNK]
        self.position += len(chunk)
        return _CountedText(chunk)


@pytest.fixture
def decoded() -> Iterator[list[int]]:
    """Counts the characters handed to the JSON decoders (one entry per call)."""
    _CountedText.copied = 0
    sizes: list[int] = []
    budget = 10 * BIG  # Fail fast if reading is quadratic again.

    class CountingDecoder(json.JSONDecoder):
        def raw_decode(self, s: str, idx: int = 0) -> tuple[Any, int]:
            sizes.append(len(s) - idx)
            assert sum(sizes) <= budget, f"{len(sizes)} decodes: quadratic"
            return super().raw_decode(s, idx)

    loads = json.loads

    def counting_loads(s: str | bytes, **kwargs: Any) -> Any:
        sizes.append(len(s))
        return loads(s, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(json_reader.json, "JSONDecoder", CountingDecoder)
        patch.setattr(jsonl.json, "loads", counting_loads)
        yield sizes


def _big_object(pk: int = 1) -> dict[str, Any]:
    return {"model": "library.writer", "pk": pk, "fields": {"name": "é" * BIG}}


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("é" * BIG, id="plain"),
        pytest.param('\\"' * (BIG // 2), id="escapes"),
        pytest.param("\\u00e9" * (BIG // 6), id="unicode-escapes"),
    ],
)
def test_json_reader_examines_a_large_string_a_bounded_number_of_times(
    decoded: list[int], value: str
) -> None:
    text = (
        '[{"model": "library.writer", "pk": 1, "fields": {"slug": "s"}},\n'
        f'{{"model": "library.writer", "pk": 2, "fields": {{"name": "{value}"}}}},\n'
        '{"model": "library.writer", "pk": 3, "fields": {}}]'
    )

    objects = list(json_reader.parse(_TextStream(text)))  # type: ignore[arg-type]

    assert [obj["pk"] for obj in objects] == [1, 2, 3]
    assert objects[1]["fields"]["name"] == json.loads(f'"{value}"')
    # Each character is handed to the decoder a bounded number of times
    # (the large object at most twice: once incomplete, once whole), and
    # the buffer is never rebuilt by concatenation with what it holds.
    assert sum(decoded) <= 3 * len(text)
    assert len(decoded) <= 8
    assert _CountedText.copied <= len(text)


def test_json_reader_reads_many_objects_across_chunks_in_linear_work(
    decoded: list[int],
) -> None:
    objects = [
        {"model": "library.writer", "pk": pk, "fields": {"name": "x" * (pk % 3000)}}
        for pk in range(3000)
    ]
    text = json.dumps(objects)

    assert list(json_reader.parse(_TextStream(text))) == objects  # type: ignore[arg-type]

    assert sum(decoded) <= 3 * len(text)
    assert _CountedText.copied <= len(text)


def test_json_lines_reader_joins_a_long_line_once(decoded: list[int]) -> None:
    lines = [json.dumps(_big_object(pk), ensure_ascii=False) for pk in (1, 2)]
    text = "\n".join(lines) + "\n"

    objects = list(jsonl.parse(_TextStream(text)))  # type: ignore[arg-type]

    assert [obj["pk"] for obj in objects] == [1, 2]
    assert decoded == [len(line) for line in lines]
    assert _CountedText.copied <= len(text)


def test_text_lines_splits_as_str_splitlines_on_newlines() -> None:
    text = "a\nbb\n\nccc" + "d" * 5000 + "\n\ne"
    assert list(text_lines(_TextStream(text))) == text.split("\n")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "number", ["1", "12.5", "-0.25e+12", "1E5", "true", "null", '"s"']
)
def test_a_scalar_split_by_every_chunk_boundary_is_read_whole(number: str) -> None:
    # "1." then "5" must not be read as 1 followed by garbage.
    text = f'[{{"model": "a.b", "pk": 1}}, {number}, {number}]'
    expected = json.loads(text)
    for size in range(1, len(text)):
        chunks = (text[i : i + size] for i in range(0, len(text), size))
        assert list(json_reader._ArrayReader(chunks)) == expected


def test_json_reader_refuses_an_integer_too_long_to_convert() -> None:
    text = '[{"model": "library.writer", "pk": ' + "9" * 5000 + "}]"
    with pytest.raises(MalformedFixtureError) as info:
        list(json_reader.parse(text))
    assert info.value.index == 0
    assert isinstance(info.value, FixtureError)
