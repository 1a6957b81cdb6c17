"""
The dumpfixture command: dumpdata plus a record of the migration state.

The record must name the latest migration applied of each app dumped, be
readable back with ``read_stamp()``, and leave the fixture loadable by
Django's own loaddata exactly as dumpdata's output is.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.management.commands import dumpdata, loaddata
from django.db import connection

from histfixtures import load_fixture
from histfixtures.management.commands import dumpfixture
from histfixtures.stamps import read_stamp
from library.models import Book, Tag, Writer
from shop.models import Customer, Listing, Order
from tests.utils import apps_at, migrate, snapshot

LATEST = {"library": "0011_writer_slug", "shop": "0008_order_total_cents"}
FORMATS = ["json", "jsonl", "yaml", "xml"]


def add_rows() -> None:
    """Rows of our own, so that no test depends on what earlier tests left."""
    writer, _ = Writer.objects.update_or_create(pk=900, defaults={"name": "N. K. J."})
    tag, _ = Tag.objects.update_or_create(pk=900, defaults={"name": "df-tag"})
    book, _ = Book.objects.update_or_create(
        pk=900, defaults={"headline": "The Fifth Season", "author": writer, "pages": 1}
    )
    book.tags.set([tag])


def rows() -> dict[str, list[tuple[Any, ...]]]:
    """snapshot(), without the ids of many-to-many link rows (never dumped)."""
    links = {Book.tags.through._meta.db_table, Order.listings.through._meta.db_table}
    return {
        table: sorted(row[1:] for row in table_rows) if table in links else table_rows
        for table, table_rows in snapshot().items()
    }


def delete_project_rows() -> None:
    for Model in (Order, Listing, Customer, Book, Tag, Writer):
        Model.objects.all().delete()


def dump(*labels: str, **options: Any) -> str:
    """dumpfixture's output to stdout, as text."""
    stdout = io.StringIO()
    call_command("dumpfixture", *labels, stdout=stdout, **options)
    return stdout.getvalue()


def dumpdata_output(*labels: str, **options: Any) -> str:
    stdout = io.StringIO()
    call_command(dumpdata.Command(), *labels, stdout=stdout, **options)
    return stdout.getvalue()


def without_stamp(text: str, format: str) -> str:
    """The fixture with the stamp taken out again."""
    if format in ("json", "jsonl"):
        return re.sub(r'\n? *"histfixtures_state": \{[^}]*\}, ?', "", text, count=1)
    if format == "yaml":
        return text.split("\n", 1)[1]
    return re.sub(r"\n<!-- histfixtures-state: \{[^}]*\} -->", "", text, count=1)


@pytest.mark.django_db
def test_stamp_names_the_latest_migration_applied_of_each_app_dumped(
    tmp_path: Path,
) -> None:
    output = tmp_path / "dump.json"
    call_command("dumpfixture", "library", "shop.Order", output=str(output))
    assert read_stamp(output) == LATEST
    first = json.loads(output.read_text())[0]
    assert first["histfixtures_state"] == LATEST


@pytest.mark.django_db
def test_stamp_covers_every_migrated_app_when_no_label_is_given(
    tmp_path: Path,
) -> None:
    output = tmp_path / "all.yaml"
    call_command("dumpfixture", format="yaml", output=str(output))
    stamp = read_stamp(output)
    assert stamp is not None
    assert {"contenttypes", "auth", "library", "shop"} <= set(stamp)
    assert stamp["library"] == LATEST["library"]
    assert "histfixtures" not in stamp  # An app without models.


@pytest.mark.django_db
def test_excluded_apps_are_not_stamped(tmp_path: Path) -> None:
    output = tmp_path / "dump.json"
    call_command("dumpfixture", "library", "shop", exclude=["shop"], output=str(output))
    assert read_stamp(output) == {"library": LATEST["library"]}


@pytest.mark.django_db
@pytest.mark.parametrize("format", FORMATS)
@pytest.mark.parametrize("indent", [None, 2])
def test_output_is_dumpdatas_plus_the_stamp(format: str, indent: int | None) -> None:
    add_rows()
    stamped = dump("library", "shop", format=format, indent=indent)
    assert stamped != dumpdata_output("library", "shop", format=format, indent=indent)
    assert without_stamp(stamped, format) == dumpdata_output(
        "library", "shop", format=format, indent=indent
    )


@pytest.mark.django_db
@pytest.mark.parametrize("format", FORMATS)
def test_plain_loaddata_loads_the_stamped_fixture_unchanged(
    format: str, tmp_path: Path
) -> None:
    add_rows()
    before = rows()
    output = tmp_path / f"dump.{format}"
    call_command("dumpfixture", "library", "shop", format=format, output=str(output))
    assert read_stamp(output) == LATEST

    delete_project_rows()
    call_command(loaddata.Command(), str(output), verbosity=0)

    assert rows() == before


@pytest.mark.django_db
@pytest.mark.parametrize("extension", [".gz", ".bz2", ".xz"])
def test_compressed_output_is_stamped(extension: str, tmp_path: Path) -> None:
    add_rows()
    output = tmp_path / f"dump.json{extension}"
    call_command("dumpfixture", "library", output=str(output))
    assert read_stamp(output) == {"library": LATEST["library"]}


@pytest.mark.django_db
def test_empty_json_dump_warns_that_no_state_is_recorded() -> None:
    stderr = io.StringIO()
    stdout = io.StringIO()
    call_command(
        "dumpfixture", "library.Tag", primary_keys="-1", stdout=stdout, stderr=stderr
    )
    assert stdout.getvalue().strip() == "[]"
    assert "No migration state recorded" in stderr.getvalue()
    assert "--from" in stderr.getvalue()


@pytest.mark.django_db
def test_empty_yaml_dump_is_still_stamped(tmp_path: Path) -> None:
    output = tmp_path / "empty.yaml"
    call_command(
        "dumpfixture",
        "library.Tag",
        primary_keys="-1",
        format="yaml",
        output=str(output),
    )
    assert read_stamp(output) == {"library": LATEST["library"]}


def test_every_dumpdata_option_is_accepted() -> None:
    def destinations(command: Any) -> set[str]:
        parser = command.create_parser("manage.py", "dump")
        return {action.dest for action in parser._actions}

    assert destinations(dumpdata.Command()) <= destinations(dumpfixture.Command())


@pytest.mark.usefixtures("migrations_restored")
def test_database_behind_the_latest_state_is_dumped_with_historical_models(
    tmp_path: Path,
) -> None:
    migrate(("shop", "zero"), ("library", "0001_initial"))
    apps = apps_at(("library", "0001_initial"))
    for name in ("Book", "Author", "Publisher"):
        apps.get_model("library", name).objects.all().delete()
    with connection.schema_editor() as editor:
        load_fixture(apps, editor, "library_initial")

    output = tmp_path / "library_at_0001.json"
    call_command("dumpfixture", "library", output=str(output), indent=2)

    assert read_stamp(output) == {"library": "0001_initial"}
    objects = json.loads(output.read_text())
    labels = {obj["model"] for obj in objects}
    assert labels == {"library.author", "library.publisher", "library.book"}
    book = next(obj for obj in objects if obj["model"] == "library.book")
    assert book["pk"] == 1
    assert book["fields"] == {
        "title": "A Wizard of Earthsea",
        "author": 1,
        "publisher": 1,
    }


@pytest.mark.usefixtures("migrations_restored")
def test_natural_keys_are_refused_at_a_historical_state() -> None:
    migrate(("shop", "zero"), ("library", "0005_rename_author_writer"))
    with pytest.raises(CommandError, match=r"library\.0005_rename_author_writer"):
        dump("library", use_natural_foreign_keys=True)
