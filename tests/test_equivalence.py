"""
The fast path writes exactly the rows a per-object load writes.

histfixtures writes rows in bulk (prepared statements, COPY, links without
``.set()``); speed must never change which rows result. The reference is
Django's own per-object ``loaddata`` run inside ``historical_models()``,
which saves each object with ``save_base(raw=True)`` and sets many-to-many
links with ``.set()``. Link tables are compared without their surrogate ids,
whose order ``.set()`` does not define. The loadfixture command's bulk load
with the live models is compared with plain loaddata the same way.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps.registry import Apps
from django.core.management import call_command
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from histfixtures import LoadFixture, historical_models, load_fixture
from histfixtures.management.commands import loadfixture
from tests.utils import (
    Node,
    apps_at,
    migrate,
    run_operation,
    run_python,
    snapshot,
    state_at,
)

LATEST: tuple[Node, ...] = (
    ("library", "0011_writer_slug"),
    ("shop", "0008_order_total_cents"),
)

# Each LoadFixture of testproject: (app, label, the state it loads at).
PROJECT_LOADS = [
    ("library", "library_initial", (("library", "0001_initial"),)),
    ("library", "library_tags", (("library", "0006_tag"),)),
    (
        "shop",
        "shop_listings",
        (("shop", "0001_initial"), ("library", "0002_load_initial_catalog")),
    ),
    ("shop", "shop_orders", (("shop", "0004_order"),)),
]


def comparable(rows: dict[str, list[tuple[Any, ...]]]) -> dict[str, Any]:
    """A snapshot with link tables compared as sets of (owner, target) pairs."""
    link_tables = {
        model._meta.db_table
        for model in apps_at(*LATEST).get_models(include_auto_created=True)
        if model._meta.auto_created
    } | {"library_book_tags", "shop_order_listings"}
    return {
        table: sorted(row[1:] for row in table_rows)
        if table in link_tables
        else table_rows
        for table, table_rows in rows.items()
    }


def per_object_loaddata(label: str) -> Callable[[Apps, Any], None]:
    def code(apps: Apps, schema_editor: Any) -> None:
        with historical_models(apps):
            call_command("loaddata", label, verbosity=0)

    return code


@pytest.mark.usefixtures("migrations_restored")
@pytest.mark.parametrize(("app_label", "label", "nodes"), PROJECT_LOADS)
def test_every_project_fixture_gives_the_rows_of_a_per_object_load(
    app_label: str, label: str, nodes: tuple[Node, ...]
) -> None:
    def rows_after(operation: Any) -> dict[str, Any]:
        call_command("flush", interactive=False, verbosity=0)
        migrate(("members", "zero"), ("shop", "zero"), ("library", "zero"))
        migrate(*nodes)
        run_operation(operation, app_label, state_at(*nodes))
        return comparable(snapshot())

    fast = rows_after(LoadFixture(label))
    reference = rows_after(run_python(per_object_loaddata(label)))

    assert fast == reference
    assert any(fast.values())


# -- Generated fixtures at the latest state ------------------------------------

names = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]),
    min_size=1,
    max_size=30,
)


@st.composite
def library_fixtures(draw: st.DrawFn) -> list[dict[str, Any]]:
    """
    Tags, then writers and books in any order (with links), then listings of
    the books (decimals, datetimes), pks repeated.
    """
    writer_pks = draw(st.lists(st.integers(1, 30), min_size=1, max_size=8))
    tag_pks = draw(st.lists(st.integers(1, 30), max_size=6, unique=True))
    # Tags come first: when a book's links are set while a linked tag does
    # not exist yet, Django's .set() cannot see (so cannot remove) that link,
    # and the reference would keep a link the fixture's last word removed.
    tags = [
        {"model": "library.tag", "pk": pk, "fields": {"name": f"tag-{pk}"}}
        for pk in tag_pks
    ]
    objects: list[dict[str, Any]] = [
        {"model": "library.writer", "pk": pk, "fields": {"name": draw(names)}}
        for pk in writer_pks
    ]
    for pk in draw(st.lists(st.integers(1, 40), max_size=12)):
        fields: dict[str, Any] = {
            "headline": draw(names),
            "author": draw(st.sampled_from(writer_pks)),
            "pages": draw(st.integers(0, 5000)),
        }
        if draw(st.booleans()):
            fields["publisher_name"] = draw(names)
        if tag_pks and draw(st.booleans()):
            fields["tags"] = draw(st.lists(st.sampled_from(tag_pks), max_size=4))
        objects.append({"model": "library.book", "pk": pk, "fields": fields})
    book_pks = [1] + [o["pk"] for o in objects if o["model"] == "library.book"]
    listings = [
        {
            "model": "shop.listing",
            "pk": pk,
            "fields": {
                "book": draw(st.sampled_from(book_pks)),
                "amount": draw(amounts),
                "currency": draw(st.sampled_from(["EUR", "usd", ""])),
                "listed_at": draw(moments),
            },
        }
        for pk in draw(st.lists(st.integers(1, 20), max_size=6))
    ]
    return tags + draw(st.permutations(objects)) + listings


# Decimals as fixtures hold them: strings, integers, floats.
amounts = st.one_of(
    st.decimals(0, 999999, places=2).map(str),
    st.integers(0, 999999),
    st.floats(0, 9999, allow_nan=False).map(lambda f: round(f, 2)),
)
# Datetimes aware (UTC or not) and naive, which Django makes aware and warns.
moments = st.datetimes(
    min_value=datetime.datetime(2000, 1, 1),
    max_value=datetime.datetime(2030, 1, 1),
    timezones=st.sampled_from(
        [None, datetime.timezone.utc, datetime.timezone(datetime.timedelta(hours=2))]
    ),
).map(datetime.datetime.isoformat)


#: Both loads warn alike of each naive datetime a fixture holds.
NAIVE_DATETIMES_WARN = pytest.mark.filterwarnings(
    "ignore:DateTimeField .* received a naive datetime:RuntimeWarning"
)

#: 30 generated fixtures per run; the tests' fixtures serve every example.
GENERATED = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def write_fixture(directory: Path, fixture: list[dict[str, Any]]) -> Path:
    path = directory / "generated.json"
    path.write_text(json.dumps(fixture), encoding="utf-8")
    return path


def rows_of_load(load: Callable[[], None]) -> dict[str, Any]:
    """Load into a database holding some rows already; roll back after."""
    with transaction.atomic():
        clear_project_tables()
        seed_existing_rows()
        load()
        rows = comparable(snapshot())
        transaction.set_rollback(True)
    return rows


def clear_project_tables() -> None:
    with connection.cursor() as cursor:
        for table in (
            "shop_order_listings",
            "shop_order",
            "shop_listing",
            "library_book_tags",
            "library_book",
            "library_tag",
            "library_writer",
        ):
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")


def seed_existing_rows() -> None:
    """Rows a fixture may update: a writer, a tag, a book with a link."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO library_writer (id, name, slug) VALUES (1, 'Old', 'old')"
        )
        cursor.execute("INSERT INTO library_tag (id, name) VALUES (1, 'tag-1')")
        cursor.execute(
            "INSERT INTO library_book (id, headline, author_id, pages, "
            "publisher_name) VALUES (1, 'Old book', 1, 10, 'Old')"
        )
        cursor.execute("INSERT INTO library_book_tags (book_id, tag_id) VALUES (1, 1)")


@pytest.mark.django_db
@NAIVE_DATETIMES_WARN
@GENERATED
@given(fixture=library_fixtures())
def test_generated_fixtures_give_the_rows_of_a_per_object_load(
    tmp_path: Path, fixture: list[dict[str, Any]]
) -> None:
    path = write_fixture(tmp_path, fixture)
    apps = apps_at(*LATEST)

    # load_fixture() only needs the schema editor's connection; SQLite's
    # schema editor cannot be opened inside this test's transaction.
    schema_editor = SimpleNamespace(connection=connection)

    def fast() -> None:
        load_fixture(apps, schema_editor, str(path), batch_size=3)  # type: ignore[arg-type]

    def reference() -> None:
        with historical_models(apps):
            call_command("loaddata", str(path), verbosity=0)

    assert rows_of_load(fast) == rows_of_load(reference)


@pytest.mark.django_db
@NAIVE_DATETIMES_WARN
@GENERATED
@given(fixture=library_fixtures())
def test_loadfixture_in_bulk_gives_the_rows_of_loaddata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fixture: list[dict[str, Any]]
) -> None:
    path = write_fixture(tmp_path, fixture)

    def refuse(self: Any, obj: Any) -> bool:
        raise AssertionError("loadfixture stepped aside to loaddata's code")

    # No receivers are connected: loadfixture must load in bulk.
    monkeypatch.setattr(loadfixture.Command, "save_obj", refuse)

    def bulk() -> None:
        call_command("loadfixture", str(path), verbosity=0, batch_size=3)

    def reference() -> None:
        call_command("loaddata", str(path), verbosity=0)

    assert rows_of_load(bulk) == rows_of_load(reference)
