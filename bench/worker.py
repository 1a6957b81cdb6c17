"""
One benchmark measurement, in a process of its own (run.py starts it).

    python bench/worker.py migrate
    python bench/worker.py METHOD FIXTURE [--profile FILE] [--no-verify]

``migrate`` migrates the (fresh, empty) database that the environment names
(BENCH_DB, BENCH_SQLITE_NAME or PG*; see benchproject/settings.py). A METHOD
loads FIXTURE into that migrated database; only the load is timed. The
worker then checks the rows (count and checksum per table, and that the next
ordinary insert gets a fresh primary key) and prints one line,
``BENCH-RESULT {json}``, on stdout.

Memory: ``rss_before_mb`` is the resident set just before the load (after
setup: Django imported, models and, for histfixtures, the migration state
loaded), ``peak_rss_mb`` is ``getrusage(RUSAGE_SELF).ru_maxrss`` right after
the load, before the checks. Growth is their difference.

Methods:
  loaddata      call_command("loaddata", FIXTURE): Django's own command
  bulk_create   what a user writes by hand: json.load, instances of the live
                models, bulk_create(batch_size=1000) per model in dependency
                order, m2m rows through the through model, sequences reset
  copy          PostgreSQL only: COPY ... FROM STDIN of the same rows through
                psycopg, then the sequences set
  histfixtures  histfixtures.load_fixture(apps, schema_editor, FIXTURE) with
                the migration state at the leaf, as inside a migration
  loadfixture   call_command("loadfixture", FIXTURE): the command with the
                live models and no signal receivers, so in bulk (with
                --state it is the histfixtures row's engine again)
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import gc
import json
import os
import platform
import resource
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "benchproject"))
os.environ["DJANGO_SETTINGS_MODULE"] = "benchproject.settings"

import django  # noqa: E402

django.setup()

import fixturedata  # noqa: E402
from django.apps import apps as live_apps  # noqa: E402
from django.core import serializers  # noqa: E402
from django.core.management import call_command, get_commands  # noqa: E402
from django.core.management.color import no_style  # noqa: E402
from django.core.management.commands import loaddata as django_loaddata  # noqa: E402
from django.db import IntegrityError, connection, transaction  # noqa: E402
from django.db.migrations.loader import MigrationLoader  # noqa: E402

METHODS = ("loaddata", "bulk_create", "copy", "histfixtures", "loadfixture")
BATCH_SIZE = 1000
RESULT_PREFIX = "BENCH-RESULT "

# A load: prepared before timing, returns the number of fixture objects loaded.
Load = Callable[[], int]


class Skip(Exception):
    """This method does not apply here (wrong backend, missing command)."""


# --- memory --------------------------------------------------------------------


def current_rss_mb() -> float:
    """The resident set size now, in MB (Linux; else the peak so far)."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return peak_rss_mb()


def peak_rss_mb() -> float:
    """``ru_maxrss`` in MB (kilobytes on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- the methods ---------------------------------------------------------------


def prepare_loaddata(path: Path) -> Load:
    # Django's own class, whatever "loaddata" resolves to in this project.
    command = django_loaddata.Command()

    def load() -> int:
        call_command(command, str(path), verbosity=0)
        return command.loaded_object_count

    return load


def prepare_loadfixture(path: Path) -> Load:
    if "loadfixture" not in get_commands():
        raise Skip("no loadfixture command")
    from histfixtures.management.commands.loadfixture import Command

    command = Command()

    def load() -> int:
        call_command(command, str(path), verbosity=0)
        # Only loaddata's own code (the per-object path) sets this.
        if hasattr(command, "loaded_object_count"):
            raise RuntimeError("loadfixture stepped aside to loaddata's code")
        return -1  # the bulk path keeps no count on the command

    return load


def prepare_histfixtures(path: Path) -> Load:
    from histfixtures import load_fixture

    # Built before timing: inside a migration, apps come for free.
    apps = MigrationLoader(connection).project_state().apps

    def load() -> int:
        with connection.schema_editor() as schema_editor:
            result = load_fixture(apps, schema_editor, str(path))
        return result.objects

    return load


def read_fixture(path: Path) -> list[dict[str, Any]]:
    """The parsed fixture, as hand-written code reads it: all of it at once."""
    with path.open(encoding="utf-8") as stream:
        if path.suffix == ".jsonl":
            return [json.loads(line) for line in stream if line.strip()]
        data: list[dict[str, Any]] = json.load(stream)
        return data


def by_model(data: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for obj in data:
        grouped.setdefault(obj["model"], []).append(obj)
    return grouped


def reset_sequences(models: list[Any]) -> None:
    statements = connection.ops.sequence_reset_sql(no_style(), models)
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def prepare_bulk_create(path: Path) -> Load:
    Author = live_apps.get_model("catalog", "Author")
    Tag = live_apps.get_model("catalog", "Tag")
    Book = live_apps.get_model("catalog", "Book")
    Through = Book.tags.through

    def load() -> int:
        grouped = by_model(read_fixture(path))
        authors = grouped.get("catalog.author", [])
        tags = grouped.get("catalog.tag", [])
        books = grouped.get("catalog.book", [])
        with transaction.atomic():
            Author.objects.bulk_create(
                [
                    Author(
                        pk=o["pk"],
                        name=o["fields"]["name"],
                        born=datetime.date.fromisoformat(o["fields"]["born"]),
                    )
                    for o in authors
                ],
                batch_size=BATCH_SIZE,
            )
            Tag.objects.bulk_create(
                [Tag(pk=o["pk"], name=o["fields"]["name"]) for o in tags],
                batch_size=BATCH_SIZE,
            )
            Book.objects.bulk_create(
                [
                    Book(
                        pk=o["pk"],
                        title=o["fields"]["title"],
                        author_id=o["fields"]["author"],
                        price=Decimal(o["fields"]["price"]),
                        published_at=datetime.datetime.fromisoformat(
                            o["fields"]["published_at"]
                        ),
                        metadata=o["fields"]["metadata"],
                    )
                    for o in books
                ],
                batch_size=BATCH_SIZE,
            )
            Through.objects.bulk_create(
                [
                    Through(book_id=o["pk"], tag_id=tag)
                    for o in books
                    for tag in o["fields"]["tags"]
                ],
                batch_size=BATCH_SIZE,
            )
            reset_sequences([Author, Tag, Book])
        return len(authors) + len(tags) + len(books)

    return load


def prepare_copy(path: Path) -> Load:
    if connection.vendor != "postgresql":
        raise Skip("COPY is PostgreSQL only")
    Author = live_apps.get_model("catalog", "Author")
    Tag = live_apps.get_model("catalog", "Tag")
    Book = live_apps.get_model("catalog", "Book")

    def load() -> int:
        grouped = by_model(read_fixture(path))
        authors = grouped.get("catalog.author", [])
        tags = grouped.get("catalog.tag", [])
        books = grouped.get("catalog.book", [])
        with transaction.atomic(), connection.cursor() as cursor:
            with cursor.copy("COPY catalog_author (id, name, born) FROM STDIN") as cp:
                for o in authors:
                    cp.write_row((o["pk"], o["fields"]["name"], o["fields"]["born"]))
            with cursor.copy("COPY catalog_tag (id, name) FROM STDIN") as cp:
                for o in tags:
                    cp.write_row((o["pk"], o["fields"]["name"]))
            with cursor.copy(
                "COPY catalog_book (id, title, author_id, price, published_at, "
                "metadata) FROM STDIN"
            ) as cp:
                for o in books:
                    f = o["fields"]
                    cp.write_row(
                        (
                            o["pk"],
                            f["title"],
                            f["author"],
                            f["price"],
                            f["published_at"],
                            json.dumps(f["metadata"]),
                        )
                    )
            with cursor.copy(
                "COPY catalog_book_tags (book_id, tag_id) FROM STDIN"
            ) as cp:
                for o in books:
                    for tag in o["fields"]["tags"]:
                        cp.write_row((o["pk"], tag))
            reset_sequences([Author, Tag, Book])
        return len(authors) + len(tags) + len(books)

    return load


PREPARE: dict[str, Callable[[Path], Load]] = {
    "loaddata": prepare_loaddata,
    "bulk_create": prepare_bulk_create,
    "copy": prepare_copy,
    "histfixtures": prepare_histfixtures,
    "loadfixture": prepare_loadfixture,
}


# --- checks --------------------------------------------------------------------


def table_digests() -> dict[str, dict[str, Any]]:
    """Count and checksum of every table's rows (see fixturedata.TABLES)."""
    Book = live_apps.get_model("catalog", "Book")
    querysets = {
        "catalog_author": live_apps.get_model("catalog", "Author").objects.order_by(
            "pk"
        ),
        "catalog_tag": live_apps.get_model("catalog", "Tag").objects.order_by("pk"),
        "catalog_book": Book.objects.order_by("pk"),
        "catalog_book_tags": Book.tags.through.objects.order_by("book_id", "tag_id"),
    }
    digests = fixturedata.new_digests()
    for table, queryset in querysets.items():
        rows = queryset.values_list(*fixturedata.TABLES[table])
        for row in rows.iterator(chunk_size=10_000):
            digests[table].add(row)
    return {table: d.as_dict() for table, d in digests.items()}


class _Rollback(Exception):
    pass


def next_insert_works() -> bool:
    """Whether ordinary inserts after the load get fresh primary keys."""
    Author = live_apps.get_model("catalog", "Author")
    Tag = live_apps.get_model("catalog", "Tag")
    Book = live_apps.get_model("catalog", "Book")
    try:
        with transaction.atomic():
            author = Author.objects.create(name="next", born=datetime.date(2000, 1, 1))
            Tag.objects.create(name="next insert check")
            Book.objects.create(
                title="next",
                author=author,
                price=Decimal("1.00"),
                published_at=datetime.datetime.now(datetime.timezone.utc),
                metadata={},
            )
            raise _Rollback
    except _Rollback:
        return True
    except IntegrityError:
        return False


# --- main ----------------------------------------------------------------------


def measure(
    method: str, path: Path, profile: Path | None, verify: bool
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "method": method,
        "vendor": connection.vendor,
        "python": platform.python_version(),
        "django": django.get_version(),
    }
    try:
        load = PREPARE[method](path)
    except Skip as exc:
        return {**result, "skipped": str(exc)}
    # Setup, untimed and before the memory baseline: Django's serializers
    # (loaded lazily on first use) and the database connection.
    serializers.get_public_serializer_formats()
    connection.ensure_connection()
    gc.collect()
    result["rss_before_mb"] = current_rss_mb()
    result["maxrss_before_mb"] = peak_rss_mb()
    profiler = cProfile.Profile() if profile else None
    cpu_start = cpu_seconds()
    start = time.perf_counter()
    if profiler:
        profiler.enable()
    objects = load()
    if profiler:
        profiler.disable()
    result["seconds"] = time.perf_counter() - start
    result["cpu_seconds"] = cpu_seconds() - cpu_start
    result["peak_rss_mb"] = peak_rss_mb()
    result["growth_mb"] = result["peak_rss_mb"] - result["rss_before_mb"]
    result["objects"] = objects
    if profiler and profile:
        profiler.dump_stats(profile)
    if verify:
        result["tables"] = table_digests()
        result["next_insert_ok"] = next_insert_works()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="One benchmark measurement; see the module docstring."
    )
    parser.add_argument("method", choices=["migrate", *METHODS])
    parser.add_argument("fixture", type=Path, nargs="?")
    parser.add_argument("--profile", type=Path, metavar="FILE")
    parser.add_argument("--no-verify", dest="verify", action="store_false")
    args = parser.parse_args(argv)
    if args.method == "migrate":
        call_command("migrate", verbosity=0, interactive=False)
        return 0
    if args.fixture is None:
        parser.error(f"{args.method} needs a FIXTURE")
    result = measure(args.method, args.fixture.resolve(), args.profile, args.verify)
    sys.stdout.write(RESULT_PREFIX + json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
