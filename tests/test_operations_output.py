"""
What LoadFixture says in migrate's output.

At verbosity 2 and above each load reports loaddata's "Installed ..." line
and what each fixture held; at verbosity 1 migrate's output is Django's
own. A long load draws a progress line when stdout is a terminal only.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command

import library
from tests.test_loadfixture import FakeClock, terminal
from tests.utils import migrate

PROJECT = Path(library.__file__).parent.parent
FIXTURE = "library/fixtures/library_initial.json"


@pytest.fixture
def at_library_0001(migrations_restored: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """library at 0001 (shop unapplied); paths shown from the project."""
    migrate(("shop", "zero"), ("library", "0001_initial"))
    monkeypatch.chdir(PROJECT)


def run_migrate(verbosity: int, stdout: object | None = None) -> str:
    out = io.StringIO() if stdout is None else stdout
    call_command(
        "migrate", "library", "0002", verbosity=verbosity, stdout=out, no_color=True
    )
    return out.getvalue() if isinstance(out, io.StringIO) else ""


def test_verbosity_2_reports_what_each_load_installed(at_library_0001: None) -> None:
    output = run_migrate(verbosity=2)

    applying = output[output.index("  Applying library.0002") :].splitlines()
    assert applying[:3] == [
        "  Applying library.0002_load_initial_catalog...",
        "    Installed 10 object(s) from 1 fixture(s)",
        f"      {FIXTURE}: 10 object(s) "
        "(library.author 3, library.book 5, library.publisher 2)",
    ]
    assert applying[3].startswith(" OK")


def test_verbosity_1_output_is_djangos_own(at_library_0001: None) -> None:
    output = run_migrate(verbosity=1)

    assert "Installed" not in output
    assert "  Applying library.0002_load_initial_catalog... OK\n" in output


def test_no_progress_line_in_captured_output(
    at_library_0001: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("histfixtures.progress.monotonic", FakeClock(step=1.0))

    output = run_migrate(verbosity=2)

    assert "Loading fixture" not in output
    assert "\r" not in output


def test_progress_line_on_a_terminal_keeps_the_applying_line(
    at_library_0001: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("histfixtures.progress.monotonic", FakeClock(step=1.0))

    with terminal() as (stream, read):
        run_migrate(verbosity=1, stdout=stream)
        shown = read()

    assert "  Applying library.0002_load_initial_catalog...\n\rLoading fixture" in (
        shown
    )
    assert f"\rLoading fixture '{FIXTURE}': 10 object(s)\n OK\n" in shown
