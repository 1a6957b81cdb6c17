"""
The leniencies of loaddata, kept in a migration and in the checks (issue 13,
item 4). tests/differential/test_leniency.py compares every input variant
with loaddata's rows; this file checks what a migration and the system
checks make of the ones histfixtures had wrong: a JSON Lines file with a
byte order mark loads, an object without ``fields`` is refused by name.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from histfixtures import LoadFixture, MalformedFixtureError, UnknownFieldError
from tests.test_bad_input import (
    LATEST,
    VALID_WRITERS,
    assert_names,
    load_error,
    load_in_migration,
)
from tests.test_checks import library_findings, use_scenario
from tests.utils import apps_at

BOM = "\ufeff"


def jsonl(objects: list[dict[str, Any]], newline: str = "\n") -> str:
    return "".join(json.dumps(obj) + newline for obj in objects)


def writer_names() -> dict[int, str]:
    Writer = apps_at(*LATEST).get_model("library", "Writer")
    return dict(Writer.objects.filter(pk__gte=100).values_list("pk", "name"))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "text",
    [
        pytest.param(BOM + jsonl(VALID_WRITERS), id="bom"),
        pytest.param(BOM + jsonl(VALID_WRITERS, "\r\n"), id="bom-crlf"),
        # Two files that each began with one, put end to end.
        pytest.param(
            BOM + jsonl(VALID_WRITERS[:1]) + BOM + jsonl(VALID_WRITERS[1:]),
            id="bom-on-every-line",
        ),
    ],
)
def test_json_lines_with_a_byte_order_mark_loads(tmp_path: Path, text: str) -> None:
    path = tmp_path / "writers.jsonl"
    path.write_text(text, encoding="utf-8")

    load_in_migration(LoadFixture(str(path)))

    assert writer_names() == {100: "Octavia E. Butler", 101: "Italo Calvino"}


@pytest.mark.django_db(transaction=True)
def test_a_json_lines_line_holding_only_a_byte_order_mark_is_malformed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "writers.jsonl"
    path.write_text(jsonl(VALID_WRITERS) + BOM + "\n", encoding="utf-8")

    error = load_error(MalformedFixtureError, str(path))

    assert_names(error, fixture=path, index=2)
    assert "line 3" in str(error)


@pytest.mark.django_db(transaction=True)
def test_an_object_without_fields_is_malformed_and_says_where_they_go(
    tmp_path: Path,
) -> None:
    bad = {"model": "library.writer", "pk": 102, "name": "Fields At Top"}
    path = tmp_path / "writers.jsonl"
    path.write_text(jsonl([*VALID_WRITERS, bad]), encoding="utf-8")

    error = load_error(MalformedFixtureError, str(path))

    assert_names(error, fixture=path, index=2, pk=102, model="library.writer")
    assert "to have a 'fields' mapping" in str(error)
    assert "'model', 'pk', 'name'" in str(error)


@pytest.mark.django_db(transaction=True)
def test_an_object_without_fields_of_an_unknown_model_is_skipped_as_loaddata_does(
    tmp_path: Path,
) -> None:
    gone = {"model": "library.nosuchmodel", "pk": 1}
    path = tmp_path / "writers.json"
    path.write_text(json.dumps([gone, *VALID_WRITERS]), encoding="utf-8")

    load_in_migration(LoadFixture(str(path), ignorenonexistent=True))

    assert writer_names() == {100: "Octavia E. Butler", 101: "Italo Calvino"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("label", ["writer", "library.writer.x", 5])
def test_ignorenonexistent_does_not_skip_a_model_that_is_no_label(
    tmp_path: Path, label: Any
) -> None:
    bad = {"model": label, "pk": 102, "fields": {"name": "X"}}
    path = tmp_path / "writers.json"
    path.write_text(json.dumps([*VALID_WRITERS, bad]), encoding="utf-8")

    error = load_error(MalformedFixtureError, str(path), ignorenonexistent=True)

    assert_names(error, fixture=path, index=2, pk=102)
    assert '"app_label.ModelName"' in str(error)


@pytest.mark.django_db(transaction=True)
def test_ignorenonexistent_does_not_skip_a_reverse_relation(tmp_path: Path) -> None:
    bad = {"model": "library.writer", "pk": 102, "fields": {"books": [1]}}
    path = tmp_path / "writers.json"
    path.write_text(json.dumps([*VALID_WRITERS, bad]), encoding="utf-8")

    error = load_error(UnknownFieldError, str(path), ignorenonexistent=True)

    assert_names(error, fixture=path, index=2, pk=102, field="books")


def test_checks_report_an_object_without_fields_as_E002(
    settings: Any, tmp_path: Path
) -> None:
    use_scenario(settings, "checks_hostile_fixture")
    settings.FIXTURE_DIRS = [str(tmp_path)]
    path = tmp_path / "hostile.json"
    path.write_text(
        json.dumps([*VALID_WRITERS, {"model": "library.writer", "pk": 102}]),
        encoding="utf-8",
    )

    findings = library_findings()

    assert [finding.id for finding in findings] == ["histfixtures.E002"]
    assert str(path) in findings[0].msg
    assert "index 2" in findings[0].msg
    assert "'fields' mapping" in findings[0].msg


def test_checks_read_json_lines_with_a_byte_order_mark(
    settings: Any, tmp_path: Path
) -> None:
    use_scenario(settings, "checks_hostile_fixture")
    settings.FIXTURE_DIRS = [str(tmp_path)]
    # The scenario's state has library.Author (name), not Writer.
    authors = [{"model": "library.author", "pk": 1, "fields": {"name": "Ada"}}]
    (tmp_path / "hostile.jsonl").write_text(BOM + jsonl(authors), "utf-8")

    assert library_findings() == []
