"""
The properties every fuzzed load must have, and the tally of what was seen.

``check_load`` runs one entry point on one fuzzed fixture and checks:

- a failure raises only the exception types the entry point may raise (a
  ``FixtureError`` subclass, for every entry point but the live-model
  ``loadfixture``, whose contract is loaddata's errors);
- a failure leaves the database as it was (every table, every sequence);
- after a failure the connection is usable, outside any transaction;
- a success followed by the identical load changes nothing the second time
  (SPEC 3: ``on_conflict="update"`` is the default, and loading the same
  fixture twice leaves the same rows as loading it once), unless the fixture
  has an object with neither a pk nor a natural key, which every load
  inserts anew, as loaddata does. Many-to-many links are compared as pairs
  there (tests/fuzz/database.py says why).

By default the first violation fails the example, and Hypothesis shrinks it.
With ``HISTFIXTURES_FUZZ_KEEP_GOING=1`` (``scripts/test --fuzz``) violations
are collected, the run goes on, and the test fails at its end listing each
distinct violation once with the smallest fixture that showed it: a long run
then counts everything instead of stopping at the first defect.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

from tests.fuzz.corpus import Fixture
from tests.fuzz.database import changed, is_sequence, snapshot

KEEP_GOING = os.environ.get("HISTFIXTURES_FUZZ_KEEP_GOING", "") not in ("", "0")


#: Examples per test, unless HISTFIXTURES_FUZZ_EXAMPLES says otherwise.
DEFAULT_EXAMPLES = 15


def examples(share: float = 1.0) -> int:
    """
    How many examples a test runs: HISTFIXTURES_FUZZ_EXAMPLES (default 15),
    times ``share`` for entry points much slower than a load (upgradefixture
    migrates a scratch database for every example).
    """
    value = int(os.environ.get("HISTFIXTURES_FUZZ_EXAMPLES") or DEFAULT_EXAMPLES)
    return max(1, round(value * share))


@dataclass
class Tally:
    """What one entry point did on one database, over a whole run."""

    examples: int = 0
    loaded: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    reruns: int = 0
    reruns_skipped: int = 0
    changed_tables: Counter[str] = field(default_factory=Counter)
    # violation -> (fixture size, fixture, message): the smallest one seen.
    violations: dict[str, tuple[int, str, str]] = field(default_factory=dict)
    violation_counts: Counter[str] = field(default_factory=Counter)


#: (database vendor, entry point) -> tally; tests/fuzz/conftest.py prints it.
TALLIES: dict[tuple[str, str], Tally] = {}


def tally(entry: str, using: str = DEFAULT_DB_ALIAS) -> Tally:
    key = (connections[using].vendor, entry)
    return TALLIES.setdefault(key, Tally())


class Violation(AssertionError):
    pass


def _violate(record: Tally, kind: str, fixture: Fixture, message: str) -> None:
    record.violation_counts[kind] += 1
    seen = record.violations.get(kind)
    if seen is None or len(fixture.data) < seen[0]:
        record.violations[kind] = (len(fixture.data), repr(fixture), message)
    if not KEEP_GOING:
        raise Violation(f"{kind}: {message}\n{fixture!r}")


def _describe(exc: BaseException) -> str:
    name = type(exc).__name__
    cause = exc.__cause__
    if cause is not None and name == "CommandError":
        name += f"(from {type(cause).__name__})"
    return name


def _connection_usable(using: str) -> str | None:
    connection = connections[using]
    if connection.in_atomic_block:
        return "the load left a transaction open"
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        return f"the connection is broken after the failure: {exc!r}"
    return None


def check_load(
    entry: str,
    fixture: Fixture,
    directory: Path,
    run: Callable[[Path], Any],
    *,
    allowed: tuple[type[BaseException], ...],
    pk_less: Callable[[Fixture], bool] | None = None,
    sequences_kept: bool = True,
    using: str = DEFAULT_DB_ALIAS,
) -> None:
    """
    Run ``run`` on ``fixture`` (written in ``directory``); check the properties.

    ``sequences_kept=False``: a failure may move a sequence (loaddata's
    contract on PostgreSQL: an insert that drew an id and was rolled back
    leaves the sequence moved); the tables must still be unchanged.
    """
    record = tally(entry, using)
    record.examples += 1
    path = fixture.write(directory)
    try:
        before = snapshot(using)
        try:
            run(path)
        except Exception as exc:
            outcome = _describe(exc)
            record.outcomes[outcome] += 1
            after = snapshot(using)
            tables = changed(before, after)
            record.changed_tables.update(tables)
            if not isinstance(exc, allowed):
                _violate(record, f"escaped {outcome}", fixture, f"{exc!r}"[:2000])
            if not sequences_kept:
                tables = [name for name in tables if not is_sequence(name)]
            if tables:
                _violate(
                    record,
                    f"{outcome} changed the database",
                    fixture,
                    f"{exc!r}"[:500] + f"; changed: {', '.join(tables)}",
                )
            problem = _connection_usable(using)
            if problem:
                _violate(record, f"{outcome}: {problem}", fixture, problem)
            return
        record.loaded += 1
        record.outcomes["loaded"] += 1
        first = snapshot(using, link_ids=False)
        if pk_less is not None and pk_less(fixture):
            record.reruns_skipped += 1
            return
        record.reruns += 1
        try:
            run(path)
        except Exception as exc:
            _violate(
                record,
                f"second load raised {_describe(exc)}",
                fixture,
                f"{exc!r}"[:2000],
            )
            return
        tables = changed(first, snapshot(using, link_ids=False))
        if tables:
            _violate(
                record,
                "second load changed the database",
                fixture,
                f"changed: {', '.join(tables)}",
            )
    finally:
        path.unlink()


def assert_no_violations(entry: str, using: str = DEFAULT_DB_ALIAS) -> None:
    """In keep-going mode, fail once at the end, listing every violation."""
    record = tally(entry, using)
    if not record.violations:
        return
    lines = [f"{entry}: {sum(record.violation_counts.values())} violations"]
    for kind, (_, fixture, message) in sorted(record.violations.items()):
        lines.append(f"- {kind} (x{record.violation_counts[kind]}): {message}")
        lines.append(f"  smallest: {fixture}")
    raise Violation("\n".join(lines))
