"""
Values that convert but that the database cannot store (issue 13, item 2).

loaddata fails on each of these, most with an exception that is not a
database error (sqlite3's OverflowError, json.dumps()'s TypeError); the
historical path must fail too, with an InvalidValueError naming the field,
and leave the tables as they were (the harness checks the class and that
both loads fail; the tables are compared by ``outcome_of``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from histfixtures import InvalidValueError
from tests.differential.harness import Outcome, compare, load, read_tables
from tests.differential.test_differential import obj

pytestmark = [pytest.mark.django_db]

UNSTORABLE = [
    pytest.param("integer", 2**63, "json", id="integer-beyond-64-bits"),
    pytest.param("big", -(2**63) - 1, "json", id="big-below-64-bits"),
    pytest.param("positive_big", 2**64, "xml", id="positive-big-xml"),
    pytest.param("duration", "999999999 00:00:00", "json", id="duration"),
]


def assert_refused_alike(expected: Outcome, got: Outcome, field: str) -> None:
    assert expected.failed
    assert got.failed
    error = got.error
    assert isinstance(error, InvalidValueError)
    assert (error.model, error.field) == ("shapes.Scalar", field)
    assert error.message.startswith(f"shapes.Scalar.{field}: expected ")
    assert ", got " in error.message


@pytest.mark.parametrize(("field", "value", "fmt"), UNSTORABLE)
def test_unstorable_value_fails_like_loaddata_and_names_the_field(
    tmp_path: Path, field: str, value: Any, fmt: str
) -> None:
    if field == "duration" and connection.vendor == "postgresql":
        pytest.skip("An interval holds it on PostgreSQL, as with loaddata.")
    before = read_tables()

    expected, got = compare(
        tmp_path, [obj("scalar", 1, **{field: value})], path="historical", fmt=fmt
    )

    assert_refused_alike(expected, got, field)
    assert read_tables() == before


def test_yaml_date_inside_a_json_value_fails_like_loaddata(tmp_path: Path) -> None:
    # PyYAML reads an unquoted date as a datetime.date, which JSON cannot
    # encode: json.dumps() raises TypeError when the row is written.
    path = tmp_path / "fixture.yaml"
    path.write_text(
        "- model: shapes.scalar\n  pk: 1\n  fields:\n    json: {when: 2024-01-01}\n"
    )
    before = read_tables()

    expected = load("loaddata", path)
    got = load("historical", path)

    assert_refused_alike(expected, got, "json")
    assert read_tables() == before
