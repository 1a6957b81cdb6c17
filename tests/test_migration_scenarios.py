"""
The testproject's migration history, end to end.

A fresh ``migrate`` loads every fixture at its own state and the data is right
at the latest state. For each kind of model change made after a load, one test
shows the loaded data surviving it, and one control test shows that the same
migration written with plain ``loaddata`` fails at that very state while
``LoadFixture`` succeeds there.
"""

from __future__ import annotations

import io
import re
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import FieldDoesNotExist
from django.core.management import call_command
from django.core.serializers.base import DeserializationError
from django.db import DatabaseError, connection
from django.db.migrations.recorder import MigrationRecorder
from django.db.migrations.state import ProjectState

from histfixtures import LoadFixture
from library.models import Book, Tag, Writer
from shop.models import Customer, Listing, Order
from tests.utils import (
    Node,
    apps_at,
    migrate,
    migrate_to_latest,
    plain_loaddata,
    run_operation,
    run_python,
    snapshot,
    state_at,
)

# What plain loaddata raises when a fixture no longer fits the live models: a
# deserialization error, or a database error for a column that does not exist.
PLAIN_LOADDATA_ERRORS = (DeserializationError, FieldDoesNotExist, DatabaseError)
# The live Order writes total_cents, a column added by shop 0008 (SQLite's or
# PostgreSQL's or MySQL's words for it).
TOTAL_CENTS_MISSING = (
    r"(no such column: |no column named )total_cents"
    r"|column \"total_cents\".*does not exist"
    r"|Unknown column 'total_cents'"
)

WRITERS = [
    (1, "Ursula K. Le Guin", "ursula-k-le-guin"),
    (2, "Terry Pratchett", "terry-pratchett"),
    (3, "Chinua Achebe", "chinua-achebe"),
]
# (pk, headline, author_id, pages, publisher_name)
BOOKS = [
    (1, "A Wizard of Earthsea", 1, 100, "Penguin Books"),
    (2, "The Left Hand of Darkness", 1, 100, "Penguin Books"),
    (3, "Guards! Guards!", 2, 100, "Gollancz"),
    (4, "Small Gods", 2, 100, "Gollancz"),
    (5, "Things Fall Apart", 3, 100, ""),
    (6, "The Dispossessed", 1, 387, "Penguin Books"),
    (7, "Arrow of God", 3, 230, ""),
]
TAGS = [(1, "fantasy"), (2, "science-fiction"), (3, "classic"), (4, "satire")]
BOOK_TAGS = {1: [], 2: [], 3: [], 4: [], 5: [], 6: [2, 3], 7: [3]}
# (pk, book_id, amount, currency, listed_at)
LISTINGS = [
    (1, 1, Decimal("12.50"), "EUR", datetime(2024, 1, 15, 10, 0, tzinfo=timezone.utc)),
    (2, 2, Decimal("9.99"), "EUR", datetime(2024, 1, 16, 14, 30, tzinfo=timezone.utc)),
    (3, 3, Decimal("7.25"), "EUR", datetime(2024, 1, 20, 8, 15, tzinfo=timezone.utc)),
    (4, 1, Decimal("15.00"), "EUR", datetime(2024, 2, 2, 17, 45, tzinfo=timezone.utc)),
]
CUSTOMERS = [
    (1, "Grace Hopper", "grace-hopper@example.com"),
    (2, "Alan Mathison Turing", "alan-mathison-turing@example.com"),
]
# (pk, customer_id, listing pks, created, total_cents)
ORDERS = [
    (1, 1, [1], datetime(2024, 2, 1, 9, 30, tzinfo=timezone.utc), 0),
    (2, 2, [2, 3], datetime(2024, 2, 3, 11, 0, tzinfo=timezone.utc), 0),
    (3, 1, [4], datetime(2024, 2, 10, 16, 20, tzinfo=timezone.utc), 0),
]

LIBRARY_0001: Node = ("library", "0001_initial")
LIBRARY_0002: Node = ("library", "0002_load_initial_catalog")
LIBRARY_0006: Node = ("library", "0006_tag")
SHOP_0001: Node = ("shop", "0001_initial")
SHOP_0004: Node = ("shop", "0004_order")


def migrate_from_zero(*targets: Node) -> None:
    """Unapply both apps completely, then migrate forwards to ``targets``."""
    migrate(("shop", "zero"), ("library", "zero"))
    migrate(*targets)


def error_text(error: BaseException) -> str:
    """The messages of an exception and of every exception it was raised from.

    loaddata can replace the database error by a TransactionManagementError
    raised while cleaning up; the traceback a user reads still shows the cause.
    """
    texts = []
    current: BaseException | None = error
    while current is not None and len(texts) < 10:
        texts.append(f"{type(current).__name__}: {current}")
        current = current.__cause__ or current.__context__
    return "\n".join(texts)


def assert_plain_loaddata_fails(
    label: str, app_label: str, state: ProjectState, cause: str, **options: Any
) -> None:
    """plain loaddata of ``label`` at ``state`` raises naming ``cause``, no rows."""
    before = snapshot()
    with pytest.raises(PLAIN_LOADDATA_ERRORS) as caught:
        run_operation(run_python(plain_loaddata(label, **options)), app_label, state)
    assert re.search(cause, error_text(caught.value)), error_text(caught.value)
    assert snapshot() == before


@pytest.fixture
def fresh_database(migrations_restored: None) -> None:
    """Both apps unapplied to zero, then migrated to the latest state."""
    migrate_from_zero()
    migrate_to_latest()


def writers() -> list[tuple[Any, ...]]:
    return list(Writer.objects.order_by("pk").values_list("pk", "name", "slug"))


def books() -> list[tuple[Any, ...]]:
    return list(
        Book.objects.order_by("pk").values_list(
            "pk", "headline", "author_id", "pages", "publisher_name"
        )
    )


def book_tags() -> dict[int, list[int]]:
    return {
        book.pk: sorted(tag.pk for tag in book.tags.all())
        for book in Book.objects.prefetch_related("tags")
    }


def listings() -> list[tuple[Any, ...]]:
    return list(
        Listing.objects.order_by("pk").values_list(
            "pk", "book_id", "amount", "currency", "listed_at"
        )
    )


def customers() -> list[tuple[Any, ...]]:
    return list(Customer.objects.order_by("pk").values_list("pk", "full_name", "email"))


def orders() -> list[tuple[Any, ...]]:
    return [
        (
            order.pk,
            order.customer_id,
            sorted(listing.pk for listing in order.listings.all()),
            order.created,
            order.total_cents,
        )
        for order in Order.objects.order_by("pk").prefetch_related("listings")
    ]


# 1. A fresh migrate.


@pytest.mark.usefixtures("fresh_database")
def test_fresh_migrate_loads_every_fixture_and_data_is_right_at_latest_state() -> None:
    assert writers() == WRITERS
    assert books() == BOOKS
    assert list(Tag.objects.order_by("pk").values_list("pk", "name")) == TAGS
    assert book_tags() == BOOK_TAGS
    assert listings() == LISTINGS
    assert customers() == CUSTOMERS
    assert orders() == ORDERS
    assert "library_publisher" not in connection.introspection.table_names()


# 2. Each kind of later model change: the loaded data survives it ...


@pytest.mark.usefixtures("fresh_database")
def test_model_renamed_after_load_rows_arrive_in_renamed_model() -> None:
    # library_initial.json names library.author; 0005 renames it to Writer.
    assert list(Writer.objects.order_by("pk").values_list("pk", "name")) == [
        (pk, name) for pk, name, _ in WRITERS
    ]
    assert dict(Book.objects.values_list("pk", "author__name")) == {
        1: "Ursula K. Le Guin",
        2: "Ursula K. Le Guin",
        3: "Terry Pratchett",
        4: "Terry Pratchett",
        5: "Chinua Achebe",
        6: "Ursula K. Le Guin",
        7: "Chinua Achebe",
    }


@pytest.mark.usefixtures("fresh_database")
def test_model_deleted_after_load_foreign_key_data_survives_as_publisher_name() -> None:
    # Both fixtures set Book.publisher, a foreign key to Publisher, which 0010
    # deletes; 0009 copied the names first.
    assert dict(Book.objects.values_list("pk", "publisher_name")) == {
        pk: publisher_name for pk, *_, publisher_name in BOOKS
    }
    with pytest.raises(FieldDoesNotExist):
        Book._meta.get_field("publisher")


@pytest.mark.usefixtures("fresh_database")
def test_field_renamed_after_load_values_arrive_under_new_name() -> None:
    # Book.title -> headline (library 0004), Listing.price -> amount (shop
    # 0003), Customer.name -> full_name (shop 0006).
    assert list(Book.objects.order_by("pk").values_list("pk", "headline")) == [
        (pk, headline) for pk, headline, *_ in BOOKS
    ]
    assert list(Listing.objects.order_by("pk").values_list("pk", "amount")) == [
        (pk, amount) for pk, _, amount, *_ in LISTINGS
    ]
    assert list(Customer.objects.order_by("pk").values_list("pk", "full_name")) == [
        (pk, full_name) for pk, full_name, _ in CUSTOMERS
    ]


@pytest.mark.usefixtures("fresh_database")
def test_required_field_added_after_load_gets_migration_default() -> None:
    # Book.pages (library 0003, default 100 for rows existing then),
    # Listing.currency (shop 0003, "EUR"), Order.total_cents (shop 0008, 0).
    assert dict(Book.objects.values_list("pk", "pages")) == {
        1: 100,
        2: 100,
        3: 100,
        4: 100,
        5: 100,
        6: 387,
        7: 230,
    }
    assert set(Listing.objects.values_list("currency", flat=True)) == {"EUR"}
    assert dict(Order.objects.values_list("pk", "total_cents")) == {1: 0, 2: 0, 3: 0}


@pytest.mark.usefixtures("fresh_database")
def test_cross_app_foreign_key_listings_point_to_loaded_books() -> None:
    assert list(
        Listing.objects.order_by("pk").values_list("pk", "book_id", "book__headline")
    ) == [
        (1, 1, "A Wizard of Earthsea"),
        (2, 2, "The Left Hand of Darkness"),
        (3, 3, "Guards! Guards!"),
        (4, 1, "A Wizard of Earthsea"),
    ]


@pytest.mark.usefixtures("fresh_database")
def test_many_to_many_links_loaded_with_their_objects() -> None:
    assert book_tags() == BOOK_TAGS
    assert {order: listing_pks for order, _, listing_pks, *_ in orders()} == {
        1: [1],
        2: [2, 3],
        3: [4],
    }


@pytest.mark.usefixtures("fresh_database")
def test_data_migrations_transform_loaded_rows() -> None:
    # Success side only: library 0009/0011 and shop 0007 load no fixture, so
    # there is no plain-loaddata control; what matters is that the rows the
    # loads wrote earlier are there for them to transform.
    assert list(Writer.objects.order_by("pk").values_list("pk", "slug")) == [
        (pk, slug) for pk, _, slug in WRITERS
    ]
    assert Writer.objects.get(pk=1).slug == "ursula-k-le-guin"
    assert dict(Book.objects.values_list("pk", "publisher_name"))[5] == ""
    assert Book.objects.filter(publisher_name="Penguin Books").count() == 3
    assert list(Customer.objects.order_by("pk").values_list("pk", "email")) == [
        (pk, email) for pk, _, email in CUSTOMERS
    ]


# ... and the same migration written with plain loaddata fails at its state.


@pytest.mark.usefixtures("migrations_restored")
def test_model_renamed_later_breaks_plain_loaddata_but_not_load_fixture() -> None:
    # library 0002 loads library.author, renamed to Writer in 0005.
    migrate(("shop", "zero"), LIBRARY_0001)
    state = state_at(LIBRARY_0001)

    assert_plain_loaddata_fails(
        "library_initial",
        "library",
        state,
        r"Invalid model identifier: '?library\.author",
    )

    run_operation(LoadFixture("library_initial"), "library", state)
    Author = apps_at(LIBRARY_0001).get_model("library", "Author")
    assert list(Author.objects.order_by("pk").values_list("pk", "name")) == [
        (pk, name) for pk, name, _ in WRITERS
    ]


@pytest.mark.usefixtures("migrations_restored")
def test_model_deleted_later_breaks_plain_loaddata_but_not_load_fixture() -> None:
    # library 0007 sets Book.publisher; 0010 deletes it and Publisher.
    migrate_from_zero(LIBRARY_0006)
    state = state_at(LIBRARY_0006)

    assert_plain_loaddata_fails(
        "library_tags", "library", state, r"Book has no field named 'publisher'"
    )

    run_operation(LoadFixture("library_tags"), "library", state)
    HistoricalBook = apps_at(LIBRARY_0006).get_model("library", "Book")
    assert dict(
        HistoricalBook.objects.filter(pk__in=[6, 7]).values_list(
            "pk", "publisher__name"
        )
    ) == {6: "Penguin Books", 7: None}


@pytest.mark.usefixtures("migrations_restored")
def test_field_renamed_later_breaks_plain_loaddata_but_not_load_fixture() -> None:
    # shop 0002 loads Customer.name, renamed to full_name in shop 0006.
    migrate_from_zero(LIBRARY_0002, SHOP_0001)
    state = state_at(LIBRARY_0002, SHOP_0001)

    assert_plain_loaddata_fails(
        "shop_listings", "shop", state, r"Customer has no field named 'name'"
    )

    run_operation(LoadFixture("shop_listings"), "shop", state)
    HistoricalCustomer = apps_at(LIBRARY_0002, SHOP_0001).get_model("shop", "Customer")
    assert list(
        HistoricalCustomer.objects.order_by("pk").values_list("pk", "name")
    ) == [(pk, name) for pk, name, _ in CUSTOMERS]


@pytest.mark.usefixtures("migrations_restored")
def test_later_required_field_breaks_plain_loaddata_but_not_load_fixture() -> None:
    # shop 0005 loads orders; the live Order has total_cents (shop 0008), a
    # column the table does not have yet.
    migrate_from_zero(SHOP_0004)
    state = state_at(SHOP_0004)

    assert_plain_loaddata_fails(
        "shop_orders",
        "shop",
        state,
        TOTAL_CENTS_MISSING,
    )

    run_operation(LoadFixture("shop_orders"), "shop", state)
    HistoricalOrder = apps_at(SHOP_0004).get_model("shop", "Order")
    assert list(
        HistoricalOrder.objects.order_by("pk").values_list(
            "pk", "customer_id", "created"
        )
    ) == [(pk, customer, created) for pk, customer, _, created, _ in ORDERS]


@pytest.mark.usefixtures("migrations_restored")
def test_cross_app_foreign_key_breaks_plain_loaddata_but_not_load_fixture(
    fixtures_dir: Path,
) -> None:
    # shop 0002 loads listings pointing to library.Book at library 0002. The
    # fixture holds listings only (shop_listings.xml starts with customers),
    # so the failure is the listings' own: the live Listing has no price
    # (renamed to amount in shop 0003).
    fixture = str(fixtures_dir / "cross_app_listings_at_shop_0001.json")
    migrate_from_zero(LIBRARY_0002, SHOP_0001)
    state = state_at(LIBRARY_0002, SHOP_0001)

    assert_plain_loaddata_fails(
        fixture, "shop", state, r"Listing has no field named 'price'"
    )

    run_operation(LoadFixture(fixture), "shop", state)
    HistoricalListing = apps_at(LIBRARY_0002, SHOP_0001).get_model("shop", "Listing")
    assert list(
        HistoricalListing.objects.order_by("pk").values_list(
            "pk", "price", "book__title", "book__author__name"
        )
    ) == [
        (1, Decimal("12.50"), "A Wizard of Earthsea", "Ursula K. Le Guin"),
        (2, Decimal("7.25"), "Guards! Guards!", "Terry Pratchett"),
    ]


@pytest.mark.usefixtures("migrations_restored")
@pytest.mark.parametrize(
    ("label", "app_label", "node", "cause", "model", "field", "links"),
    [
        pytest.param(
            "library_tags",
            "library",
            LIBRARY_0006,
            r"Book has no field named 'publisher'",
            "Book",
            "tags",
            {6: [2, 3], 7: [3]},
            id="library-0007-book-tags",
        ),
        pytest.param(
            "shop_orders",
            "shop",
            SHOP_0004,
            TOTAL_CENTS_MISSING,
            "Order",
            "listings",
            {1: [1], 2: [2, 3], 3: [4]},
            id="shop-0005-order-listings",
        ),
    ],
)
def test_many_to_many_breaks_plain_loaddata_but_not_load_fixture(
    label: str,
    app_label: str,
    node: Node,
    cause: str,
    model: str,
    field: str,
    links: dict[int, list[int]],
) -> None:
    migrate_from_zero(node)
    state = state_at(node)

    assert_plain_loaddata_fails(label, app_label, state, cause)

    run_operation(LoadFixture(label), app_label, state)
    Model = apps_at(node).get_model(app_label, model)
    loaded = {
        obj.pk: sorted(related.pk for related in getattr(obj, field).all())
        for obj in Model.objects.filter(pk__in=links)
    }
    assert loaded == links


# 5. Ordinary inserts after loads with explicit primary keys.


@pytest.mark.usefixtures("fresh_database")
def test_ordinary_inserts_after_fresh_migrate_get_pks_above_loaded_ones() -> None:
    tag = Tag.objects.create(name="new")
    writer = Writer.objects.create(name="Octavia E. Butler")
    book = Book.objects.create(headline="Kindred", author=writer, pages=264)
    customer = Customer.objects.create(full_name="Ada Lovelace")
    listing = Listing.objects.create(
        book=book,
        amount=Decimal("8.00"),
        currency="EUR",
        listed_at=datetime(2024, 3, 1, tzinfo=timezone.utc),
    )
    order = Order.objects.create(
        customer=customer,
        created=datetime(2024, 3, 2, tzinfo=timezone.utc),
        total_cents=800,
    )
    order.listings.add(listing)

    assert tag.pk > 4
    assert writer.pk > 3
    assert book.pk > 7
    assert customer.pk > 2
    assert listing.pk > 4
    assert order.pk > 3


# 6. Django's migration commands.


@pytest.mark.usefixtures("transactional_db")
def test_sqlmigrate_says_load_fixture_cannot_be_written_as_sql() -> None:
    out = io.StringIO()
    call_command("sqlmigrate", "library", "0002", stdout=out)
    output = out.getvalue()
    assert "Load fixture library_initial" in output
    assert "THIS OPERATION CANNOT BE WRITTEN AS SQL" in output


@pytest.mark.usefixtures("transactional_db")
def test_showmigrations_lists_the_load_migrations_as_applied() -> None:
    out = io.StringIO()
    call_command("showmigrations", "library", "shop", stdout=out)
    lines = {line.strip() for line in out.getvalue().splitlines()}
    for name in (
        "0002_load_initial_catalog",
        "0007_load_tags",
        "0002_load_listings",
        "0005_load_orders",
    ):
        assert f"[X] {name}" in lines


@pytest.mark.usefixtures("migrations_restored")
def test_fake_migrate_of_load_fixture_migration_loads_nothing() -> None:
    migrate_from_zero(LIBRARY_0006)
    before = snapshot()

    migrate(("library", "0007_load_tags"), fake=True)

    assert snapshot() == before
    assert not Tag.objects.exists()
    applied = MigrationRecorder(connection).applied_migrations()
    assert ("library", "0007_load_tags") in applied
