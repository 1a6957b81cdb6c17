"""
The fuzz suite's tally, printed at the end of a run that fuzzed anything.

Per database and entry point: examples, loads that succeeded, second loads
checked, the outcome classes (exception class names, ``loaded``, and for the
checks the finding ids), tables changed by failures, and violations.
``HISTFIXTURES_FUZZ_REPORT=path`` also writes it as JSON, after every test,
so that a long run stopped part way keeps what it counted.
"""

from __future__ import annotations

import json
import os
from typing import Any

from tests.fuzz.properties import TALLIES


def _report() -> list[dict[str, Any]]:
    return [
        {
            "database": vendor,
            "entry_point": entry,
            "examples": record.examples,
            "loaded": record.loaded,
            "reruns": record.reruns,
            "reruns_skipped": record.reruns_skipped,
            "outcomes": dict(record.outcomes),
            "changed_tables": dict(record.changed_tables),
            "violations": {
                kind: {
                    "count": record.violation_counts[kind],
                    "message": message,
                    "smallest": fixture,
                }
                for kind, (_, fixture, message) in record.violations.items()
            },
        }
        for (vendor, entry), record in sorted(TALLIES.items())
    ]


def _write_report() -> str | None:
    path = os.environ.get("HISTFIXTURES_FUZZ_REPORT")
    if path and TALLIES:
        with open(path, "w", encoding="utf-8") as stream:
            json.dump(_report(), stream, indent=2)
    return path


def pytest_runtest_logfinish(nodeid: str, location: Any) -> None:
    _write_report()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not TALLIES:
        return
    write = terminalreporter.write_line
    terminalreporter.section("histfixtures fuzz tally")
    for (vendor, entry), record in sorted(TALLIES.items()):
        write(
            f"{vendor} / {entry}: {record.examples} examples, {record.loaded} "
            f"loaded, {record.reruns} second loads checked "
            f"({record.reruns_skipped} skipped: objects without pk)"
        )
        for outcome, count in record.outcomes.most_common():
            write(f"    {count:6d}  {outcome}")
        if record.changed_tables:
            write(f"    tables changed by failures: {dict(record.changed_tables)}")
        for kind, count in sorted(record.violation_counts.items()):
            write(f"    VIOLATION x{count}: {kind}")
    path = _write_report()
    if path:
        write(f"written to {path}")
