"""
The upgradefixture command: a fixture travels forwards as production data would.

A fixture dumped at library 0001 crosses a required field with a migration
default (0003), a field rename (0004), a model rename (0005), a later fixture
load (0007), a data migration (0009), a deleted model (0010) and a data
migration with a new field (0011). The upgraded fixture must hold what a
real database holds after migrating the same data, and plain loaddata must
load it at the latest state.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.management.commands import loaddata
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from histfixtures import load_fixture, scratch
from histfixtures.discovery import FixtureFile
from histfixtures.stamps import read_fixture_stamp, read_stamp
from histfixtures.validation import read_raw_objects
from library.models import Book, Tag, Writer
from shop.models import Customer, Listing, Order
from tests.utils import apps_at, migrate, migrate_to_latest, snapshot

LIBRARY_INITIAL = (
    Path(__file__).parent.parent / "testproject/library/fixtures/library_initial.json"
)
LATEST_LIBRARY = {"library": "0011_writer_slug"}


Upgrade = Callable[..., str]


@pytest.fixture
def upgrade(django_db_blocker: Any) -> Upgrade:
    """
    Run upgradefixture; return what it reported.

    Django's test cases refuse connections to database aliases the test did
    not declare, and the scratch database's alias is made up during the
    command; unblock() lets the command open it (and only lasts the call).
    """

    def run(fixture: Path, *args: str, **options: Any) -> str:
        stdout = io.StringIO()
        with django_db_blocker.unblock():
            call_command(
                "upgradefixture", str(fixture), *args, stdout=stdout, **options
            )
        return stdout.getvalue()

    return run


def write_fixture(path: Path, objects: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps(objects, indent=2))
    return path


def library_rows() -> dict[str, list[tuple[Any, ...]]]:
    """The library's rows; many-to-many link rows without their own ids."""
    links = {Book.tags.through._meta.db_table}
    return {
        table: sorted(row[1:] for row in rows) if table in links else rows
        for table, rows in snapshot().items()
        if table.startswith("library_")
    }


def delete_project_rows() -> None:
    for Model in (Order, Listing, Customer, Book, Tag, Writer):
        Model.objects.all().delete()


def dump_library_at_0001(path: Path) -> Path:
    """Load library_initial at library 0001 and dump it with dumpfixture."""
    migrate(("shop", "zero"), ("library", "0001_initial"))
    apps = apps_at(("library", "0001_initial"))
    for name in ("Book", "Author", "Publisher"):
        apps.get_model("library", name).objects.all().delete()
    with connection.schema_editor() as editor:
        load_fixture(apps, editor, "library_initial")
    call_command("dumpfixture", "library", output=str(path), indent=2)
    return path


@pytest.mark.usefixtures("migrations_restored")
def test_upgraded_fixture_holds_what_a_migrated_database_holds(
    tmp_path: Path, upgrade: Upgrade
) -> None:
    fixture = dump_library_at_0001(tmp_path / "library_at_0001.json")
    assert read_stamp(fixture) == {"library": "0001_initial"}
    upgraded = tmp_path / "library_latest.json"

    # Every row, those of the migrations' own loads (0007) included.
    report = upgrade(fixture, "--include-other-rows", output=str(upgraded))

    migrate_to_latest()  # The same data, migrated for real.
    migrated = library_rows()
    delete_project_rows()
    call_command(loaddata.Command(), str(upgraded), verbosity=0)
    assert library_rows() == migrated
    assert read_stamp(upgraded) == LATEST_LIBRARY
    assert Book.objects.get(pk=1).publisher_name == "Penguin Books"  # 0009
    assert Writer.objects.get(pk=2).slug == "terry-pratchett"  # 0011
    assert "Upgraded from library.0001_initial to library.0011_writer_slug" in report


@pytest.mark.usefixtures("migrations_restored")
def test_report_counts_what_changed_per_model(tmp_path: Path, upgrade: Upgrade) -> None:
    fixture = dump_library_at_0001(tmp_path / "library_at_0001.json")

    report = upgrade(fixture, output=str(tmp_path / "upgraded.json"))

    lines = report.splitlines()
    assert lines[1:-1] == [
        "  library.book: 5 changed",
        "  library.publisher (model deleted): 2 removed",
        "  library.author -> library.writer: 3 changed",
    ]
    assert lines[-1] == f"Wrote 8 object(s) to {tmp_path / 'upgraded.json'}."


@pytest.mark.usefixtures("migrations_restored")
def test_output_holds_only_the_inputs_objects_not_the_migrations_loads(
    tmp_path: Path, upgrade: Upgrade
) -> None:
    fixture = dump_library_at_0001(tmp_path / "library_at_0001.json")
    upgraded = tmp_path / "upgraded.json"

    upgrade(fixture, output=str(upgraded))

    before = {(o["model"], o["pk"]) for o in json.loads(fixture.read_text())}
    after = {(o["model"], o["pk"]) for o in json.loads(upgraded.read_text())}
    renamed = {
        ("library.writer" if m == "library.author" else m, pk) for m, pk in before
    }
    # library 0007 loads tags 1-4 and books 6-7; publishers are deleted by 0010.
    assert after == {(m, pk) for m, pk in renamed if m != "library.publisher"}


@pytest.mark.usefixtures("migrations_restored")
def test_include_other_rows_adds_the_rows_the_migrations_loaded(
    tmp_path: Path, upgrade: Upgrade
) -> None:
    fixture = dump_library_at_0001(tmp_path / "library_at_0001.json")

    report = upgrade(
        fixture, "--include-other-rows", output=str(tmp_path / "upgraded.json")
    )

    lines = report.splitlines()
    assert "  library.book: 2 added, 5 changed" in lines  # Books 6-7: 0007.
    assert "  library.tag: 4 added" in lines
    assert lines[-1] == f"Wrote 14 object(s) to {tmp_path / 'upgraded.json'}."


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("output", "options", "format"),
    [
        ("out.yaml", {}, "yaml"),
        ("out.xml.gz", {}, "xml"),
        ("out.jsonl", {}, "jsonl"),
        ("out.yaml", {"format": "json"}, "json"),  # --format wins, as dumpdata.
        ("out.data", {"format": "xml"}, "xml"),
    ],
)
def test_output_format_follows_the_extension_or_format(
    tmp_path: Path, upgrade: Upgrade, output: str, options: Any, format: str
) -> None:
    path = tmp_path / output

    upgrade(LIBRARY_INITIAL, "--from", "library.0001", output=str(path), **options)

    fixture = FixtureFile(str(path), format, "gz" if output.endswith(".gz") else None)
    assert read_fixture_stamp(fixture) == LATEST_LIBRARY
    models = {obj["model"] for obj in read_raw_objects(fixture)}
    assert models == {"library.writer", "library.book"}


@pytest.mark.django_db
@pytest.mark.parametrize("output", ["out.yml", "out.txt", "out"])
def test_output_extension_naming_no_format_is_refused(
    tmp_path: Path, upgrade: Upgrade, output: str
) -> None:
    with pytest.raises(CommandError, match="names no fixture format"):
        upgrade(
            LIBRARY_INITIAL, "--from", "library.0001", output=str(tmp_path / output)
        )

    assert list(tmp_path.iterdir()) == []


@pytest.mark.usefixtures("migrations_restored")
@pytest.mark.parametrize("format", ["json", "jsonl", "yaml", "xml"])
def test_fixture_at_the_latest_state_comes_out_identical(
    format: str, tmp_path: Path, upgrade: Upgrade
) -> None:
    # Exactly the data the migrations load, plus a row of our own.
    migrate(("shop", "zero"), ("library", "zero"))
    migrate_to_latest()
    Tag.objects.create(pk=900, name="round-trip")
    fixture = tmp_path / f"latest.{format}"
    call_command(
        "dumpfixture", "library", "shop", format=format, indent=2, output=str(fixture)
    )
    upgraded = tmp_path / f"upgraded.{format}"

    report = upgrade(fixture, output=str(upgraded))

    assert upgraded.read_bytes() == fixture.read_bytes()
    changes = report.splitlines()[1:-1]
    assert changes and all(line.endswith(" unchanged") for line in changes)


@pytest.mark.django_db
def test_project_databases_are_never_touched(tmp_path: Path, upgrade: Upgrade) -> None:
    before = snapshot()
    aliases = list(connections.settings)  # default and other (project/settings.py)
    with CaptureQueriesContext(connection) as queries:
        upgrade(
            LIBRARY_INITIAL,
            "--from",
            "library.0001_initial",
            output=str(tmp_path / "upgraded.json"),
        )
    assert len(queries) == 0
    assert snapshot() == before
    assert read_stamp(tmp_path / "upgraded.json") == LATEST_LIBRARY
    # The scratch database's alias is gone again, its connection closed.
    assert [alias for alias in connections] == aliases
    assert list(connections.settings) == aliases


@pytest.mark.django_db
def test_database_option_builds_the_scratch_database_beside_that_alias(
    tmp_path: Path, upgrade: Upgrade, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The names of the scratch databases this test creates (other test runs
    # may create theirs on the same server meanwhile).
    created: list[str] = []
    create = scratch._create_database

    def spy(connection: Any) -> str:
        created.append(create(connection))
        return created[-1]

    monkeypatch.setattr(scratch, "_create_database", spy)
    before = snapshot()
    upgrade(
        LIBRARY_INITIAL,
        "--from",
        "library.0001_initial",
        database="default",
        output=str(tmp_path / "upgraded.json"),
    )
    assert snapshot() == before
    assert read_stamp(tmp_path / "upgraded.json") == LATEST_LIBRARY
    if connection.vendor == "postgresql":
        assert len(created) == 1
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT datname FROM pg_database WHERE datname = %s", created
            )
            assert cursor.fetchall() == []  # Dropped afterwards.


@pytest.mark.django_db
def test_fixture_is_upgraded_in_place_keeping_its_compression(
    tmp_path: Path, upgrade: Upgrade
) -> None:
    fixture = tmp_path / "catalog.json.gz"
    with gzip.open(fixture, "wb") as stream:
        stream.write(LIBRARY_INITIAL.read_bytes())

    upgrade(fixture, "--from", "library.0001_initial")

    assert read_stamp(fixture) == LATEST_LIBRARY
    objects = json.loads(gzip.decompress(fixture.read_bytes()))
    # The input's models; not library.tag, whose rows only 0007 loads.
    assert {obj["model"] for obj in objects} == {"library.writer", "library.book"}


@pytest.mark.django_db
def test_to_option_stops_at_the_named_migration(
    tmp_path: Path, upgrade: Upgrade
) -> None:
    upgraded = tmp_path / "upgraded.json"

    upgrade(
        LIBRARY_INITIAL,
        "--from",
        "library.0001_initial",
        "--to",
        "library.0005_rename_author_writer",
        output=str(upgraded),
    )

    assert read_stamp(upgraded) == {"library": "0005_rename_author_writer"}
    objects = json.loads(upgraded.read_text())
    writer = next(obj for obj in objects if obj["model"] == "library.writer")
    assert writer["fields"] == {"name": "Ursula K. Le Guin"}  # No slug yet.
    book = next(obj for obj in objects if obj["model"] == "library.book")
    assert book["fields"] == {
        "headline": "A Wizard of Earthsea",
        "author": 1,
        "publisher": 1,
        "pages": 100,
    }


@pytest.mark.django_db
def test_to_option_before_the_fixtures_state_is_refused(
    tmp_path: Path, upgrade: Upgrade
) -> None:
    with pytest.raises(CommandError, match="only migrates forwards"):
        upgrade(
            LIBRARY_INITIAL,
            "--from",
            "library.0005_rename_author_writer",
            "--to",
            "library.0003_book_pages",
            output=str(tmp_path / "upgraded.json"),
        )


@pytest.mark.django_db
def test_stamp_naming_a_migration_the_project_lacks_suggests_from(
    tmp_path: Path, upgrade: Upgrade
) -> None:
    fixture = write_fixture(
        tmp_path / "old.json",
        [
            {
                "histfixtures_state": {"library": "0003_since_squashed"},
                "model": "library.author",
                "pk": 1,
                "fields": {"name": "Ursula K. Le Guin"},
            }
        ],
    )
    output = tmp_path / "upgraded.json"

    with pytest.raises(CommandError) as caught:
        upgrade(fixture, output=str(output))

    message = str(caught.value)
    assert "library.0003_since_squashed" in message
    assert "--from" in message
    assert not output.exists()


@pytest.mark.django_db
def test_fixture_without_a_stamp_needs_from(tmp_path: Path, upgrade: Upgrade) -> None:
    with pytest.raises(CommandError, match=r"--from app_label\.migration_name"):
        upgrade(LIBRARY_INITIAL, output=str(tmp_path / "upgraded.json"))


@pytest.mark.django_db
def test_fixture_that_does_not_load_at_its_state_reports_the_state(
    tmp_path: Path, upgrade: Upgrade
) -> None:
    objects = json.loads(LIBRARY_INITIAL.read_text())
    objects[0]["histfixtures_state"] = LATEST_LIBRARY  # A false record.
    fixture = write_fixture(tmp_path / "mislabelled.json", objects)
    before = fixture.read_bytes()

    with pytest.raises(CommandError) as caught:
        upgrade(fixture)

    message = str(caught.value)
    assert "library.author" in message
    assert "migration state: library.0011_writer_slug" in message
    assert fixture.read_bytes() == before
    assert [path.name for path in tmp_path.iterdir()] == ["mislabelled.json"]


@pytest.mark.django_db
def test_failing_migration_is_named_and_nothing_is_written(
    tmp_path: Path, settings: Any, upgrade: Upgrade
) -> None:
    settings.MIGRATION_MODULES = {
        "library": "tests.scenarios.upgrade_failing_migration",
        "shop": None,
    }
    fixture = write_fixture(
        tmp_path / "authors.json",
        [
            {
                "histfixtures_state": {"library": "0001_initial"},
                "model": "library.author",
                "pk": 1,
                "fields": {"name": "Ursula K. Le Guin"},
            }
        ],
    )
    before = fixture.read_bytes()
    output = tmp_path / "upgraded.json"

    with pytest.raises(CommandError) as caught:
        upgrade(fixture, output=str(output))

    message = str(caught.value)
    assert "library.0002_check_names" in message
    assert "Name too long for the new format: Ursula K. Le Guin" in message
    assert not output.exists()
    assert fixture.read_bytes() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["authors.json"]


@pytest.mark.django_db
def test_load_draws_the_progress_line_on_a_terminal(
    tmp_path: Path, upgrade: Upgrade, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_loadfixture import FakeClock, terminal

    monkeypatch.setattr("histfixtures.progress.monotonic", FakeClock(step=1.0))
    monkeypatch.chdir(LIBRARY_INITIAL.parent)

    with terminal() as (stream, read):
        upgrade(
            LIBRARY_INITIAL,
            "--from",
            "library.0001",
            output=str(tmp_path / "out.json"),
            stderr=stream,
        )
        shown = read()

    assert shown.endswith("\rLoading fixture 'library_initial.json': 10 object(s)\n")
