"""
Testing data migrations: the migration_state fixture and MigrationTestCase.

These run in this suite's own pytest session, with the plugin loaded through
its entry point; tests/test_pytest_plugin.py runs it as users do, in pytest
subprocesses (--reuse-db, --nomigrations, a second database, flushes).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from django.apps.registry import Apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder

from histfixtures import FixtureError, MigrationState, UnknownFieldError
from histfixtures.migration_state import DatabaseMigrationState, Targets
from histfixtures.testing import (
    MigrationDataTestCase,
    MigrationTestCase,
    UnknownStateError,
    rebuild_test_database,
    restore_migration_data,
)
from tests.conftest import FIXTURES

LIBRARY_0008 = ("library", "0008_book_publisher_name")
PUBLISHER_BOOK = str(FIXTURES / "publisher_book_at_library_0008.json")
WRITERS_0010 = str(FIXTURES / "writers_at_library_0010.json")


def applied(app_label: str) -> list[str]:
    """Names of the applied migrations of an app, in order."""
    recorder = MigrationRecorder(connection)
    return sorted(
        name for app, name in recorder.applied_migrations() if app == app_label
    )


def tables() -> set[str]:
    return set(connection.introspection.table_names())


def field_names(apps: Apps, label: str) -> set[str]:
    return {field.name for field in apps.get_model(label)._meta.get_fields()}


def at_latest_state() -> bool:
    executor = MigrationExecutor(connection)
    return not executor.migration_plan(executor.loader.graph.leaf_nodes())


# --- migrate_to -----------------------------------------------------------------------


def test_migrate_to_returns_the_models_of_that_state(
    migration_state: MigrationState,
) -> None:
    apps = migration_state.migrate_to(("library", "0004_rename_book_title"))

    assert field_names(apps, "library.Book") >= {"headline", "pages", "publisher"}
    assert "publisher_name" not in field_names(apps, "library.Book")
    Author = apps.get_model("library", "Author")
    assert sorted(Author.objects.values_list("name", flat=True)) == [
        "Chinua Achebe",
        "Terry Pratchett",
        "Ursula K. Le Guin",
    ]
    assert applied("library")[-1] == "0004_rename_book_title"
    assert "library_tag" not in tables()
    assert migration_state.state == "library.0004_rename_book_title"
    assert migration_state.apps.get_model("library", "Author") is Author


def test_first_migrate_to_starts_from_what_migrations_create(
    migration_state: MigrationState,
) -> None:
    from library.models import Book, Writer

    Writer.objects.create(name="Added by the test")
    Book.objects.filter(pk=1).update(headline="Edited by the test")

    apps = migration_state.migrate_to(LIBRARY_0008)

    Writer08 = apps.get_model("library", "Writer")
    assert not Writer08.objects.filter(name="Added by the test").exists()
    Book08 = apps.get_model("library", "Book")
    assert Book08.objects.get(pk=1).headline == "A Wizard of Earthsea"
    # Everything LoadFixture loaded up to 0008 is there: 0002's and 0007's.
    assert Book08.objects.count() == 7
    assert apps.get_model("library", "Tag").objects.count() == 4


def test_tables_unknown_to_django_survive_the_rebuild(
    migration_state: MigrationState,
) -> None:
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE not_from_migrations (id INTEGER PRIMARY KEY)")
        cursor.execute("INSERT INTO not_from_migrations (id) VALUES (1)")
    try:
        migration_state.migrate_to(("library", "0003_book_pages"))

        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM not_from_migrations")
            assert list(cursor.fetchall()) == [(1,)]
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE not_from_migrations")


def test_tables_of_deleted_models_are_rebuilt_too(
    migration_state: MigrationState,
) -> None:
    # library.Publisher exists at 0008 only: its table is not one of today's.
    migration_state.migrate_to(LIBRARY_0008)
    migration_state.migrate_to(("library", "0003_book_pages"))
    migration_state.migrate_to(LIBRARY_0008)

    apps = migration_state.migrate_to(("library", "0009"))
    Publisher = apps.get_model("library", "Publisher")
    assert Publisher.objects.count() == 2


def test_other_apps_go_as_far_as_the_target_allows(
    migration_state: MigrationState,
) -> None:
    apps = migration_state.migrate_to(("library", "0002_load_initial_catalog"))

    # Nothing in shop needs library beyond 0002, so shop is at its latest.
    assert applied("library") == ["0001_initial", "0002_load_initial_catalog"]
    assert applied("shop")[-1] == "0008_order_total_cents"
    assert "total_cents" in field_names(apps, "shop.Order")
    assert apps.get_model("shop", "Order").objects.count() == 3


def test_migrate_to_again_steps_forwards_and_backwards(
    migration_state: MigrationState,
) -> None:
    migration_state.migrate_to(("library", "0003_book_pages"))
    apps = migration_state.migrate_to(("library", "0006_tag"))
    assert applied("library")[-1] == "0006_tag"
    assert "Writer" in {model.__name__ for model in apps.get_models()}

    apps = migration_state.migrate_to(("library", "0005_rename_author_writer"))
    assert applied("library")[-1] == "0005_rename_author_writer"
    assert "library_tag" not in tables()
    assert apps.get_model("library", "Writer").objects.count() == 3


def test_migrate_to_takes_lists_prefixes_labels_and_zero(
    migration_state: MigrationState,
) -> None:
    apps = migration_state.migrate_to([("library", "0008"), "shop.0004_order"])

    assert migration_state.state == (
        "library.0008_book_publisher_name, shop.0004_order"
    )
    assert applied("shop")[-1] == "0004_order"
    assert "total_cents" not in field_names(apps, "shop.Order")

    apps = migration_state.migrate_to(("shop", None))
    assert applied("shop") == []
    assert not {table for table in tables() if table.startswith("shop_")}
    assert applied("library")[-1] == "0008_book_publisher_name"
    assert migration_state.state == "shop.zero"

    migration_state.migrate_to(("shop", "zero"))
    assert applied("shop") == []


def test_migrate_to_latest_applies_the_remaining_migrations(
    migration_state: MigrationState,
) -> None:
    migration_state.migrate_to(("library", "0010_delete_publisher"))

    apps = migration_state.migrate_to_latest()

    assert at_latest_state()
    assert "slug" in field_names(apps, "library.Writer")


# --- load -----------------------------------------------------------------------------


def test_load_uses_the_models_of_the_current_state(
    migration_state: MigrationState,
) -> None:
    apps = migration_state.migrate_to(LIBRARY_0008)

    result = migration_state.load(PUBLISHER_BOOK)

    assert result.objects == 3
    assert result.state == "library.0008_book_publisher_name"
    book = apps.get_model("library", "Book").objects.get(pk=10)
    assert (book.headline, book.author.name, book.publisher.name) == (
        "Ancillary Justice",
        "Ann Leckie",
        "Orbit",
    )


def test_load_takes_the_options_of_load_fixture(
    migration_state: MigrationState,
) -> None:
    apps = migration_state.migrate_to(LIBRARY_0008)
    Writer = apps.get_model("library", "Writer")
    Writer.objects.create(pk=10, name="Edited since")

    result = migration_state.load(
        PUBLISHER_BOOK, exclude=["library.Book"], on_conflict="ignore"
    )

    assert Writer.objects.get(pk=10).name == "Edited since"
    assert result.skipped == 2
    assert not apps.get_model("library", "Book").objects.filter(pk=10).exists()


def test_load_into_another_database_is_refused(
    migration_state: MigrationState,
) -> None:
    migration_state.migrate_to(LIBRARY_0008)

    with pytest.raises(ValueError, match=r"migration_state_factory\('other'\)"):
        migration_state.load(PUBLISHER_BOOK, database="other")


def test_load_before_migrate_to_uses_the_latest_state(
    migration_state: MigrationState,
) -> None:
    result = migration_state.load(WRITERS_0010)

    assert result.objects == 2
    assert "library.0011_writer_slug" in migration_state.state
    Writer = migration_state.apps.get_model("library", "Writer")
    assert Writer.objects.get(pk=11).slug == ""


# --- real data migrations -------------------------------------------------------------


def test_copy_publisher_names_fills_publisher_name_of_every_book(
    migration_state: MigrationState,
) -> None:
    migration_state.migrate_to(LIBRARY_0008)
    migration_state.load(PUBLISHER_BOOK)

    apps = migration_state.migrate_to(("library", "0009_copy_publisher_names"))

    Book = apps.get_model("library", "Book")
    names = dict(Book.objects.values_list("pk", "publisher_name"))
    assert names[10] == "Orbit"
    assert names[1] == names[2] == "Penguin Books"
    assert names[3] == names[4] == "Gollancz"
    assert names[5] == ""


def test_writer_slug_migration_fills_slugs_of_loaded_writers(
    migration_state: MigrationState,
) -> None:
    migration_state.migrate_to(("library", "0010_delete_publisher"))
    migration_state.load(WRITERS_0010)

    apps = migration_state.migrate_to(("library", "0011_writer_slug"))

    Writer = apps.get_model("library", "Writer")
    assert dict(Writer.objects.values_list("name", "slug")) == {
        "Ursula K. Le Guin": "ursula-k-le-guin",
        "Terry Pratchett": "terry-pratchett",
        "Chinua Achebe": "chinua-achebe",
        "Ann Leckie": "ann-leckie",
        "N. K. Jemisin": "n-k-jemisin",
    }


# --- bad input ------------------------------------------------------------------------


def test_unknown_migration_names_close_ones(migration_state: MigrationState) -> None:
    with pytest.raises(UnknownStateError) as info:
        migration_state.migrate_to(("library", "0009_copy_publishers_names"))

    error = info.value
    assert isinstance(error, FixtureError)
    assert isinstance(error, LookupError)
    assert error.state == "library.0009_copy_publishers_names"
    assert "library.0009_copy_publisher_names" in str(error.hint)
    assert "library.0009_copy_publisher_names" in str(error)


def test_unknown_migration_number_lists_the_apps_migrations(
    migration_state: MigrationState,
) -> None:
    with pytest.raises(UnknownStateError) as info:
        migration_state.migrate_to(("shop", "0042"))

    assert info.value.state == "shop.0042"
    assert "shop.0001_initial" in str(info.value.hint)
    assert "shop.0008_order_total_cents" in str(info.value.hint)


def test_ambiguous_prefix_lists_the_candidates(migration_state: MigrationState) -> None:
    with pytest.raises(UnknownStateError, match="ambiguous") as info:
        migration_state.migrate_to(("library", "001"))

    assert "library.0010_delete_publisher" in str(info.value.hint)
    assert "library.0011_writer_slug" in str(info.value.hint)


def test_unknown_app_names_close_apps(migration_state: MigrationState) -> None:
    with pytest.raises(UnknownStateError, match="no installed app 'shpo'") as info:
        migration_state.migrate_to(("shpo", "0001_initial"))

    assert "shop" in str(info.value.hint)


def test_app_without_migrations_is_an_unknown_state(
    migration_state: MigrationState,
) -> None:
    with pytest.raises(UnknownStateError, match="'histfixtures' has no migrations"):
        migration_state.migrate_to(("histfixtures", "0001_initial"))


@pytest.mark.parametrize(
    "target",
    ["library", "library.", 42, [("library",)]],
    ids=["no-dot", "empty-name", "number", "one-tuple"],
)
def test_malformed_targets_are_refused(
    migration_state: MigrationState, target: Any
) -> None:
    with pytest.raises((UnknownStateError, TypeError)):
        migration_state.migrate_to(target)


def test_targets_that_contradict_each_other_are_refused(
    migration_state: MigrationState,
) -> None:
    # shop.0002 loads listings of library books, so it needs library.0002.
    with pytest.raises(UnknownStateError, match=r"library\.0002_load_initial_catalog"):
        migration_state.migrate_to(
            [("library", "0001_initial"), ("shop", "0002_load_listings")]
        )


def test_a_bad_state_leaves_the_database_as_it_was(
    migration_state: MigrationState,
) -> None:
    from library.models import Writer

    Writer.objects.create(name="Kept")

    with pytest.raises(UnknownStateError):
        migration_state.migrate_to(("library", "0099"))

    assert Writer.objects.filter(name="Kept").exists()
    assert at_latest_state()


def test_fixture_that_does_not_fit_the_state_names_it_and_loads_nothing(
    migration_state: MigrationState,
) -> None:
    apps = migration_state.migrate_to(LIBRARY_0008)
    Writer = apps.get_model("library", "Writer")

    with pytest.raises(UnknownFieldError) as info:
        migration_state.load(str(FIXTURES / "writer_slug_at_library_0008.json"))

    error = info.value
    assert (error.index, error.pk, str(error.model).lower(), error.field) == (
        1,
        11,
        "library.writer",
        "slug",
    )
    assert error.state == "library.0008_book_publisher_name"
    assert not Writer.objects.filter(pk__in=[10, 11]).exists()
    # The database is still usable at that state, and can move on.
    migration_state.load(PUBLISHER_BOOK)
    apps = migration_state.migrate_to(("library", "0009_copy_publisher_names"))
    assert apps.get_model("library", "Book").objects.get(pk=10).publisher_name == (
        "Orbit"
    )


# --- reset and rebuild ----------------------------------------------------------------


def test_reset_brings_the_database_back_to_the_latest_state(
    transactional_db: None,
) -> None:
    state = DatabaseMigrationState()
    state.migrate_to(("library", "0003_book_pages"))
    state.migrate_to(("shop", "zero"))

    state.reset()

    assert at_latest_state()
    from library.models import Writer

    assert Writer.objects.get(pk=1).slug == "ursula-k-le-guin"


def test_reset_rebuilds_a_database_that_cannot_migrate_forwards(
    transactional_db: None,
) -> None:
    state = DatabaseMigrationState()
    state.migrate_to(("library", "0005_rename_author_writer"))
    # A table in the way of 0006, which creates library_tag.
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE library_tag (id INTEGER PRIMARY KEY)")

    state.reset()

    assert at_latest_state()
    from library.models import Tag

    assert Tag.objects.count() == 4


def test_reset_without_a_move_changes_nothing(transactional_db: None) -> None:
    from library.models import Writer

    Writer.objects.create(name="Kept")
    state = DatabaseMigrationState()

    state.reset()

    assert Writer.objects.filter(name="Kept").exists()


@pytest.fixture
def serialized_contents() -> Iterator[None]:
    """Restore the connection's serialized_rollback snapshot after the test."""
    missing = object()
    saved = getattr(connection, "_test_serialized_contents", missing)
    yield
    if saved is missing:
        if hasattr(connection, "_test_serialized_contents"):
            del connection._test_serialized_contents
    else:
        connection._test_serialized_contents = saved


def test_rebuild_test_database_brings_back_what_migrations_loaded(
    transactional_db: None, serialized_contents: None
) -> None:
    from django.core.management import call_command

    from library.models import Book, Tag

    call_command("flush", interactive=False, verbosity=0)
    connection._test_serialized_contents = "[]"
    assert Book.objects.count() == 0

    rebuild_test_database()

    assert Book.objects.count() == 7
    assert sorted(Tag.objects.values_list("name", flat=True)) == [
        "classic",
        "fantasy",
        "satire",
        "science-fiction",
    ]
    assert at_latest_state()
    assert '"library.book"' in connection._test_serialized_contents


def migration_data_is_there() -> bool:
    from library.models import Book, Tag, Writer
    from shop.models import Order

    return (
        Book.objects.count() == 7
        and Tag.objects.count() == 4
        and Writer.objects.get(pk=1).slug == "ursula-k-le-guin"
        and Order.objects.count() == 3
    )


def test_restore_migration_data_from_a_snapshot(
    transactional_db: None, serialized_contents: None
) -> None:
    from django.core.management import call_command

    from library.models import Book

    rebuild_test_database()  # A known starting point, and a fresh snapshot.
    call_command("flush", interactive=False, verbosity=0)
    assert Book.objects.count() == 0

    restore_migration_data()

    assert migration_data_is_there()
    # Sequences are past the restored rows: the next insert gets a new pk.
    new = Book.objects.create(headline="New", author_id=1, pages=1)
    assert new.pk > 7


def test_restore_migration_data_without_a_snapshot_migrates_again(
    transactional_db: None, serialized_contents: None
) -> None:
    from library.models import Writer

    if hasattr(connection, "_test_serialized_contents"):
        del connection._test_serialized_contents
    Writer.objects.all().delete()

    restore_migration_data()

    assert migration_data_is_there()


def test_migration_data_fixture_restores_what_migrations_created(
    migration_data: None,
) -> None:
    assert migration_data_is_there()


# --- MigrationTestCase ----------------------------------------------------------------


class CopyPublisherNamesTests(MigrationTestCase):
    migrate_from = LIBRARY_0008
    migrate_to = ("library", "0009_copy_publisher_names")
    fixtures = [PUBLISHER_BOOK]  # noqa: RUF012

    def setUpBeforeMigration(self, apps: Apps) -> None:
        Publisher = apps.get_model("library", "Publisher")
        Book = apps.get_model("library", "Book")
        publisher = Publisher.objects.create(pk=11, name="Tor")
        Book.objects.create(
            pk=11, headline="Redshirts", author_id=1, publisher=publisher, pages=320
        )

    def test_copies_the_names_of_loaded_and_created_publishers(self) -> None:
        Book = self.apps.get_model("library", "Book")
        names = dict(Book.objects.values_list("pk", "publisher_name"))
        self.assertEqual(names[10], "Orbit")
        self.assertEqual(names[11], "Tor")
        self.assertEqual(names[3], "Gollancz")
        self.assertEqual(names[5], "")

    def test_apps_are_those_of_each_state(self) -> None:
        self.assertIn("publisher_name", field_names(self.apps, "library.Book"))
        self.assertEqual(
            self.migration_state.state, "library.0009_copy_publisher_names"
        )
        self.assertIn("Publisher", [m.__name__ for m in self.old_apps.get_models()])

    def test_fixtures_are_loaded_by_histfixtures_not_by_django(self) -> None:
        # Django would load them with today's models, which have no Publisher.
        self.assertIsNone(self.fixtures)
        self.assertEqual(self.migrate_from_fixtures, (PUBLISHER_BOOK,))

    def test_can_go_further_in_the_test(self) -> None:
        apps = self.migration_state.migrate_to(("library", "0010_delete_publisher"))
        Book = apps.get_model("library", "Book")
        self.assertEqual(Book.objects.get(pk=11).publisher_name, "Tor")
        self.assertNotIn("publisher", field_names(apps, "library.Book"))


class WriterSlugTests(MigrationTestCase):
    migrate_from: ClassVar[Targets] = [
        ("library", "0010_delete_publisher"),
        ("shop", "0004_order"),
    ]
    migrate_to = ("library.0011", "shop.0004_order")
    fixtures = ["writers_at_library_0010"]  # noqa: RUF012
    fixture_options = {"format": "json"}  # noqa: RUF012

    def test_slugs_of_loaded_writers_are_filled(self) -> None:
        Writer = self.apps.get_model("library", "Writer")
        self.assertEqual(Writer.objects.get(pk=11).slug, "n-k-jemisin")
        self.assertEqual(Writer.objects.get(pk=1).slug, "ursula-k-le-guin")
        self.assertEqual(applied("shop")[-1], "0004_order")


class MigrationDataTests(MigrationDataTestCase):
    def test_first_sees_the_migration_data_and_deletes_it(self) -> None:
        from library.models import Book

        self.assertTrue(migration_data_is_there())
        Book.objects.all().delete()

    def test_second_sees_it_again(self) -> None:
        self.assertTrue(migration_data_is_there())


@pytest.fixture(autouse=True)
def fixture_dirs(settings: Any) -> None:
    """tests/fixtures as a FIXTURE_DIRS entry, for labels without a path."""
    settings.FIXTURE_DIRS = [Path(FIXTURES)]
