"""
Unapplying and re-applying LoadFixture migrations.

Migrating backwards removes exactly what a load added; a load interrupted
and run again (or re-run on a database that already holds its rows) leaves
the same rows as a single load, and on_conflict decides what happens to rows
edited since.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.state import ProjectState

from histfixtures import LoadFixture, ObjectExistsError, ProtectedObjectError
from library.models import Book, Tag
from tests.utils import (
    PROJECT_APPS,
    Node,
    executor,
    migrate,
    migrate_to_latest,
    run_operation,
    snapshot,
    state_at,
)

LIBRARY_0006: Node = ("library", "0006_tag")
LIBRARY_0007: Node = ("library", "0007_load_tags")
SHOP_0004: Node = ("shop", "0004_order")
SHOP_0005: Node = ("shop", "0005_load_orders")

# tests/fixtures/rerun_keeps_edited_tag.json, a fixture of the latest state.
RERUN_TAG_PK = 90
RERUN_TAG_NAME = "loaded-by-fixture"


def migrate_from_zero(*targets: Node) -> None:
    """Unapply both apps completely, then migrate forwards to ``targets``."""
    migrate(("shop", "zero"), ("library", "zero"))
    migrate(*targets)


def latest_state() -> ProjectState:
    graph = executor().loader.graph
    return state_at(*(node for node in graph.leaf_nodes() if node[0] in PROJECT_APPS))


def project_tables() -> list[str]:
    """Tables of library and shop (members does not depend on them)."""
    return [
        table
        for table in connection.introspection.table_names()
        if table.startswith(("library_", "shop_"))
    ]


def rows(data: dict[str, list[tuple[Any, ...]]]) -> int:
    return sum(len(table_rows) for table_rows in data.values())


# 3. Backwards.


@pytest.mark.usefixtures("migrations_restored")
def test_unapplying_library_0007_removes_exactly_what_library_tags_loaded() -> None:
    migrate_from_zero(LIBRARY_0006, SHOP_0004)
    at_0006 = snapshot()

    migrate(LIBRARY_0007)
    assert list(Tag.objects.order_by("pk").values_list("pk", flat=True)) == [
        1,
        2,
        3,
        4,
    ]
    assert set(Book.objects.values_list("pk", flat=True)) == {1, 2, 3, 4, 5, 6, 7}
    assert rows(snapshot()) == rows(at_0006) + 4 + 2 + 3  # tags, books, links

    migrate(LIBRARY_0006)

    assert snapshot() == at_0006


@pytest.mark.usefixtures("migrations_restored")
def test_unapplying_shop_0005_removes_exactly_what_shop_orders_loaded() -> None:
    migrate_from_zero(SHOP_0004)
    at_0004 = snapshot()

    migrate(SHOP_0005)
    after_load = snapshot()
    assert [row[0] for row in after_load["shop_order"]] == [1, 2, 3]
    assert len(after_load["shop_order_listings"]) == 4

    migrate(SHOP_0004)

    assert snapshot() == at_0004


@pytest.mark.usefixtures("migrations_restored")
def test_migrate_both_apps_to_zero_after_full_migrate_unloads_everything() -> None:
    migrate_from_zero()
    migrate_to_latest()
    latest = snapshot()
    assert rows(latest) > 0

    migrate(("shop", "zero"))
    after = snapshot()
    assert {t: r for t, r in after.items() if not t.startswith("members_")} == {
        table: table_rows
        for table, table_rows in latest.items()
        if table.startswith("library_")
    }

    migrate(("library", "zero"))
    assert project_tables() == []


@pytest.mark.usefixtures("migrations_restored")
def test_migrate_library_zero_after_full_migrate_unloads_shop_first() -> None:
    migrate_from_zero()
    migrate_to_latest()

    # Unapplying library also unapplies shop, which depends on it: the shop's
    # loads are removed before the books they point to.
    migrate(("library", "zero"))

    assert project_tables() == []


@pytest.mark.usefixtures("migrations_restored")
def test_load_fixture_with_reverse_false_leaves_rows_when_run_backwards() -> None:
    migrate_from_zero(LIBRARY_0007)
    state = state_at(LIBRARY_0007)
    before = snapshot()
    assert Tag.objects.count() == 4

    run_operation(
        LoadFixture("library_tags", reverse=False), "library", state, backwards=True
    )

    assert snapshot() == before


@pytest.mark.usefixtures("migrations_restored")
def test_unloading_refuses_to_delete_rows_other_rows_point_to(tmp_path: Path) -> None:
    migrate_from_zero()
    migrate_to_latest()
    fixture = tmp_path / "writer_of_existing_books.json"
    fixture.write_text(
        json.dumps(
            [
                {
                    "model": "library.writer",
                    "pk": 1,
                    "fields": {"name": "Ursula K. Le Guin", "slug": "ursula-k-le-guin"},
                }
            ]
        )
    )
    before = snapshot()

    with pytest.raises(ProtectedObjectError) as caught:
        run_operation(
            LoadFixture(str(fixture)), "library", latest_state(), backwards=True
        )

    assert caught.value.model == "library.Writer"
    assert "library.Book" in str(caught.value)
    assert snapshot() == before


# 4. Idempotency: an interrupted load run again.


@pytest.mark.usefixtures("migrations_restored")
def test_library_0007_faked_back_and_run_again_leaves_same_rows() -> None:
    migrate_from_zero(LIBRARY_0007)
    migrate(LIBRARY_0006, fake=True)
    loaded_once = snapshot()
    assert len(loaded_once["library_tag"]) == 4
    # Identical includes the link table: rows whose link is unchanged are kept,
    # as loaddata's many-to-many set() keeps them, not deleted and re-created.

    migrate(LIBRARY_0007)

    assert snapshot() == loaded_once


@pytest.mark.usefixtures("migrations_restored")
def test_shop_0005_faked_back_and_run_again_leaves_same_rows() -> None:
    migrate_from_zero(SHOP_0005)
    migrate(SHOP_0004, fake=True)
    loaded_once = snapshot()
    assert len(loaded_once["shop_order"]) == 3

    migrate(SHOP_0005)

    assert snapshot() == loaded_once


def load_rerun_tag(fixtures_dir: Path, **options: Any) -> None:
    fixture = str(fixtures_dir / "rerun_keeps_edited_tag.json")
    run_operation(LoadFixture(fixture, **options), "library", latest_state())


@pytest.mark.usefixtures("transactional_db")
def test_rerun_with_on_conflict_ignore_keeps_row_edited_since(
    fixtures_dir: Path,
) -> None:
    load_rerun_tag(fixtures_dir)
    Tag.objects.filter(pk=RERUN_TAG_PK).update(name="edited-since")

    load_rerun_tag(fixtures_dir, on_conflict="ignore")

    assert Tag.objects.get(pk=RERUN_TAG_PK).name == "edited-since"
    # The default, "update", overwrites the edit as loaddata would.
    load_rerun_tag(fixtures_dir)
    assert Tag.objects.get(pk=RERUN_TAG_PK).name == RERUN_TAG_NAME


@pytest.mark.usefixtures("transactional_db")
def test_rerun_with_on_conflict_error_raises_object_exists_naming_object(
    fixtures_dir: Path,
) -> None:
    load_rerun_tag(fixtures_dir)
    Tag.objects.filter(pk=RERUN_TAG_PK).update(name="edited-since")
    before = snapshot()

    with pytest.raises(ObjectExistsError) as caught:
        load_rerun_tag(fixtures_dir, on_conflict="error")

    error = caught.value
    assert error.model == "library.Tag"
    assert error.pk == RERUN_TAG_PK
    assert error.fixture is not None
    assert error.fixture.endswith("rerun_keeps_edited_tag.json")
    message = str(error)
    assert "library.Tag" in message
    assert f"pk={RERUN_TAG_PK}" in message
    assert "rerun_keeps_edited_tag.json" in message
    assert snapshot() == before
