"""
Errors the database finds only at the end-of-load check.

Rows are written with constraint checks deferred; the load checks them when
it ends. PostgreSQL then checks every deferrable constraint (each foreign
key, and unique constraints declared ``deferrable=Deferrable.DEFERRED``),
SQLite its foreign keys only (Django creates no deferrable unique
constraint there). Each kind of violation is reported as what it is, naming
the rows at fault, and the database is left as it was.

The unique constraints live on a model made for these tests,
``library.Coupon``, created at the latest state and dropped afterwards, so
the project's migrations stay as they are.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, migrations, models
from django.db.migrations.state import ProjectState

from histfixtures import (
    InvalidValueError,
    LoadFixture,
    MissingRelatedObjectError,
)
from tests.utils import apply_as_migration, snapshot, state_at

pytestmark = pytest.mark.django_db(transaction=True)

LATEST = (("library", "0011_writer_slug"), ("shop", "0008_order_total_cents"))
POSTGRES_ONLY = pytest.mark.skipif(
    "connection.vendor != 'postgresql'",
    reason="Django creates deferrable unique constraints on PostgreSQL only",
)


def coupon_model(deferrable: models.Deferrable | None) -> migrations.CreateModel:
    return migrations.CreateModel(
        "Coupon",
        [
            ("id", models.BigAutoField(primary_key=True)),
            ("code", models.CharField(max_length=20)),
            ("shelf", models.IntegerField(default=0)),
            (
                "writer",
                models.ForeignKey(
                    "library.writer", models.CASCADE, null=True, blank=True
                ),
            ),
        ],
        options={
            "constraints": [
                models.UniqueConstraint(
                    fields=["code", "shelf"],
                    name="library_coupon_code_shelf",
                    deferrable=deferrable,
                )
            ]
        },
    )


def with_coupons(deferrable: models.Deferrable | None) -> Iterator[ProjectState]:
    """The latest state plus library.Coupon, its table created, then dropped."""
    operation = coupon_model(deferrable)
    before = state_at(*LATEST)
    state = before.clone()
    operation.state_forwards("library", state)
    with connection.schema_editor() as editor:
        operation.database_forwards("library", editor, before, state)
    yield state
    with connection.schema_editor() as editor:
        editor.delete_model(state.apps.get_model("library", "Coupon"))


@pytest.fixture
def deferred_coupons(transactional_db: None) -> Iterator[ProjectState]:
    yield from with_coupons(models.Deferrable.DEFERRED)


@pytest.fixture
def coupons(transactional_db: None) -> Iterator[ProjectState]:
    yield from with_coupons(None)


def coupon(pk: int, code: str, shelf: int = 1, **fields: Any) -> dict[str, Any]:
    return {
        "model": "library.coupon",
        "pk": pk,
        "fields": {"code": code, "shelf": shelf, **fields},
    }


def write_json(path: Path, objects: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps(objects), encoding="utf-8")
    return path


def load_as_migration(state: ProjectState, *paths: Path) -> None:
    operation = LoadFixture(*(str(path) for path in paths))
    apply_as_migration([operation], "library", state, name="0099_coupons")


@POSTGRES_ONLY
def test_deferred_unique_violation_is_an_invalid_value_naming_both_objects(
    deferred_coupons: ProjectState, tmp_path: Path
) -> None:
    first = write_json(tmp_path / "coupons.json", [coupon(1, "A"), coupon(2, "B")])
    second = write_json(
        tmp_path / "more_coupons.json", [coupon(3, "C"), coupon(4, "A")]
    )
    before = snapshot()

    with pytest.raises(InvalidValueError) as caught:
        load_as_migration(deferred_coupons, first, second)

    error = caught.value
    assert not isinstance(error, MissingRelatedObjectError)
    message = str(error)
    assert message.startswith(
        "library.Coupon rows break the deferred unique constraint "
        "'library_coupon_code_shelf', which the database checks when the load "
        "ends: Key (code, shelf)=(A, 1) already exists. Rows with these values: "
        f"pk=1 (index 0 of {first}); pk=4 (index 1 of {second})."
    )
    # The object read last is the one that made the values twice.
    assert (error.fixture, error.index, error.pk) == (str(second), 1, 4)
    assert (error.model, error.field, error.value) == (
        "library.Coupon",
        "code, shelf",
        ("A", 1),
    )
    assert error.state == "library.0099_coupons"
    assert "points nowhere" not in message
    assert snapshot() == before


@POSTGRES_ONLY
def test_deferred_unique_violation_with_a_row_already_there_names_both(
    deferred_coupons: ProjectState, tmp_path: Path
) -> None:
    Coupon = deferred_coupons.apps.get_model("library", "Coupon")
    Coupon.objects.create(pk=7, code="A", shelf=1)
    path = write_json(tmp_path / "coupons.json", [coupon(1, "B"), coupon(2, "A")])
    before = snapshot()

    with pytest.raises(InvalidValueError) as caught:
        load_as_migration(deferred_coupons, path)

    assert (
        f"Rows with these values: pk=2 (index 1 of {path}); "
        "pk=7 (a row already in the database)."
    ) in str(caught.value)
    assert (caught.value.index, caught.value.pk) == (1, 2)
    assert snapshot() == before


@POSTGRES_ONLY
def test_deferred_unique_constraint_allows_values_that_end_up_distinct(
    deferred_coupons: ProjectState, tmp_path: Path
) -> None:
    # The same pk twice: the second object moves the row off the values a
    # later object takes. Only the end state is checked, as with loaddata.
    path = write_json(
        tmp_path / "coupons.json",
        [coupon(1, "A"), coupon(2, "A", shelf=2), coupon(2, "B")],
    )

    load_as_migration(deferred_coupons, path)

    Coupon = deferred_coupons.apps.get_model("library", "Coupon")
    assert sorted(Coupon.objects.values_list("pk", "code", "shelf")) == [
        (1, "A", 1),
        (2, "B", 1),
    ]


def test_immediate_unique_violation_names_the_object_the_database_rejected(
    coupons: ProjectState, tmp_path: Path
) -> None:
    path = write_json(
        tmp_path / "coupons.json", [coupon(1, "A"), coupon(2, "B"), coupon(3, "A")]
    )
    before = snapshot()

    with pytest.raises(InvalidValueError) as caught:
        load_as_migration(coupons, path)

    error = caught.value
    assert (error.fixture, error.index, error.pk, error.model) == (
        str(path),
        2,
        3,
        "library.Coupon",
    )
    assert snapshot() == before


def test_foreign_key_violation_at_the_end_is_still_a_missing_related_object(
    deferred_coupons: ProjectState, tmp_path: Path
) -> None:
    path = write_json(
        tmp_path / "coupons.json", [coupon(1, "A"), coupon(2, "B", writer=999)]
    )
    before = snapshot()

    with pytest.raises(MissingRelatedObjectError) as caught:
        load_as_migration(deferred_coupons, path)

    error = caught.value
    assert (error.index, error.pk, error.model, error.field, error.value) == (
        1,
        2,
        "library.Coupon",
        "writer",
        999,
    )
    assert snapshot() == before
