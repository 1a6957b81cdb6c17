"""
One run of migration tests, in a process of its own (migration_tests.py
starts it, with DJANGO_SETTINGS_MODULE=migbench.settings and the generated
project on sys.path).

    python bench/migration_worker.py METHOD TESTS_JSON [--profile FILE]

Sets up the test environment and creates the test database as Django's test
runner does (``setup_test_environment``, ``create_test_db``: every migration
runs), then runs the tests that TESTS_JSON lists one after the other, each
as a real migration test would: move to ``from``, create a row with that
state's model, move to ``to`` (the next migration of the app), read the row
back with that state's model, bring the database back to the latest state,
and flush it as ``TransactionTestCase`` does after a test. Each phase is
timed; the dumps of the database that the check compares are taken between
phases and not timed. Prints ``BENCH-RESULT {json}``.

Methods: ``histfixtures`` (``DatabaseMigrationState``, as the pytest
``migration_state`` fixture and ``MigrationTestCase`` use it; copies on or
off by the settings) and ``migrator`` (django-test-migrations' ``Migrator``).
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import (  # noqa: E402
    setup_test_environment,
    teardown_test_environment,
)

RESULT_PREFIX = "BENCH-RESULT "
ROW_NAME = "written by the test"


def dump() -> str:
    """A digest of every row of every table and of the next primary keys."""
    rows: dict[str, Any] = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names()):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            columns = [c[0] for c in cursor.description]
            rows[table] = [columns, sorted(cursor.fetchall(), key=repr)]
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name, seq FROM sqlite_sequence ORDER BY name")
            rows["sqlite_sequence"] = cursor.fetchall()
        else:
            cursor.execute(
                "SELECT sequencename, last_value FROM pg_sequences ORDER BY 1"
            )
            rows["pg_sequences"] = cursor.fetchall()
    # When each migration ran differs by design.
    columns, records = rows["django_migrations"]
    rows["django_migrations"] = sorted(tuple(r[:3]) for r in records)
    return hashlib.sha256(repr(rows).encode()).hexdigest()


class Phases:
    """The time of each phase of a test, dumps left out."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self.started = time.perf_counter()

    def mark(self, phase: str) -> None:
        now = time.perf_counter()
        self.times[phase] = self.times.get(phase, 0.0) + now - self.started
        self.started = now

    def pause(self) -> None:
        """Leave the time from here to the next ``resume`` out."""
        self.mark("_paused")

    def resume(self) -> None:
        self.started = time.perf_counter()
        self.times.pop("_paused", None)


def teardown_flush() -> None:
    """What TransactionTestCase does after every test."""
    call_command(
        "flush",
        verbosity=0,
        interactive=False,
        database="default",
        reset_sequences=False,
        allow_cascade=False,
        inhibit_post_migrate=False,
    )


def histfixtures_test(test: dict[str, Any], check: bool) -> dict[str, Any]:
    from histfixtures.migration_state import DatabaseMigrationState

    app, model = test["app"], test["model"]
    phases = Phases()
    state = DatabaseMigrationState("default")
    old = state.migrate_to((app, test["from"]))
    phases.mark("migrate_from")
    phases.pause()
    dumps = {"from": dump()} if check else {}
    phases.resume()
    pk = old.get_model(app, model).objects.create(name=ROW_NAME).pk
    new = state.migrate_to((app, test["to"]))
    phases.mark("migrate_to")
    read = new.get_model(app, model).objects.get(pk=pk).name
    assert read == ROW_NAME, read
    phases.pause()
    if check:
        dumps["to"] = dump()
    phases.resume()
    state.reset()
    phases.mark("reset")
    teardown_flush()
    phases.mark("flush")
    return {"phases": phases.times, "dumps": dumps}


def migrator_test(test: dict[str, Any], check: bool) -> dict[str, Any]:
    from django_test_migrations.migrator import Migrator

    app, model = test["app"], test["model"]
    phases = Phases()
    migrator = Migrator("default")
    old = migrator.apply_initial_migration((app, test["from"])).apps
    phases.mark("migrate_from")
    phases.pause()
    dumps = {"from": dump()} if check else {}
    phases.resume()
    pk = old.get_model(app, model).objects.create(name=ROW_NAME).pk
    new = migrator.apply_tested_migration((app, test["to"])).apps
    phases.mark("migrate_to")
    read = new.get_model(app, model).objects.get(pk=pk).name
    assert read == ROW_NAME, read
    phases.pause()
    if check:
        dumps["to"] = dump()
    phases.resume()
    migrator.reset()
    phases.mark("reset")
    teardown_flush()
    phases.mark("flush")
    return {"phases": phases.times, "dumps": dumps}


METHODS: dict[str, Callable[[dict[str, Any], bool], dict[str, Any]]] = {
    "histfixtures": histfixtures_test,
    "migrator": migrator_test,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("method", choices=sorted(METHODS))
    parser.add_argument("tests", help="JSON: a list of {app, model, from, to}")
    parser.add_argument("--no-check", action="store_true", help="take no dumps")
    parser.add_argument(
        "--profile", metavar="FILE", help="cProfile the tests after the first"
    )
    args = parser.parse_args(argv)
    tests = json.loads(args.tests)
    run = METHODS[args.method]

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    started = time.perf_counter()
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    setup = time.perf_counter() - started
    results = []
    profiler = cProfile.Profile() if args.profile else None
    try:
        for index, test in enumerate(tests):
            if profiler is not None and index == 1:
                profiler.enable()
            started = time.perf_counter()
            result = run(test, not args.no_check)
            result["seconds"] = sum(result["phases"].values())
            result["wall"] = time.perf_counter() - started
            results.append(result)
            print(
                f"    test {index + 1}: {result['seconds']:.3f} s "
                + " ".join(f"{k} {v:.3f}" for k, v in result["phases"].items()),
                file=sys.stderr,
                flush=True,
            )
    finally:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
    print(RESULT_PREFIX + json.dumps({"setup": setup, "tests": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
