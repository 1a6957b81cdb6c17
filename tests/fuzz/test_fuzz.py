"""
Fuzzing every entry point with broken fixtures (issue 13).

Inputs (tests/fuzz/corpus.py): the testproject's fixtures at the latest
state, mutated structurally, written as JSON, JSON Lines, YAML or XML,
damaged byte by byte, compressed (.gz, .bz2, .xz, .zip) and the compressed
file damaged in turn. Properties (tests/fuzz/properties.py): a failure
raises a FixtureError subclass and changes no table or sequence; a success
loaded a second time changes nothing.

Entry points: ``LoadFixture`` in a migration, ``load_fixture`` in RunPython,
``loadfixture --state``, ``loadfixture`` with live models (loaddata's
errors are its contract: only the database properties are checked),
``migration_state.load``, ``histfixtures.deserialize``, ``upgradefixture``,
and the system checks over a fixture directory (findings, never an
exception).

Deterministic (``derandomize``: the same examples on every run) and bounded:
HISTFIXTURES_FUZZ_EXAMPLES examples per test (15 by default; upgradefixture
a fifth of them). ``scripts/test --fuzz`` runs many more.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.checks import CheckMessage
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import migrations
from django.db.migrations.state import ProjectState
from hypothesis import HealthCheck, given, settings

from histfixtures import FixtureError, LoadFixture, deserialize, load_fixture
from histfixtures.migration_state import MigrationState
from tests.fuzz.corpus import (
    NATURAL_KEYS,
    SEEDS,
    Fixture,
    fixtures,
    library_initial,
    render,
)
from tests.fuzz.properties import (
    KEEP_GOING,
    assert_no_violations,
    check_load,
    examples,
    tally,
)
from tests.test_checks import library_findings, use_scenario
from tests.utils import apply_as_migration, state_at

pytestmark = pytest.mark.django_db(transaction=True)

LATEST = (
    ("library", "0011_writer_slug"),
    ("shop", "0008_order_total_cents"),
    ("members", "0004_club_title_and_joined"),
)
LATEST_SEEDS = {name: objects for name, (objects, _) in SEEDS.items()}


def fuzz_settings(share: float = 1.0) -> Callable[[Any], Any]:
    return settings(
        max_examples=examples(share),
        derandomize=True,
        database=None,
        deadline=None,
        print_blob=True,
        suppress_health_check=list(HealthCheck),
    )


@pytest.fixture
def directory() -> Iterator[Path]:
    """A directory for the fixture files (tmp_path is one per test, not example)."""
    with tempfile.TemporaryDirectory(prefix="histfixtures-fuzz-") as name:
        yield Path(name)


@pytest.fixture(autouse=True)
def natural_keys(settings: Any) -> None:
    """Club's natural key, for the entry points that take no option."""
    settings.HISTFIXTURES = {"NATURAL_KEYS": NATURAL_KEYS}


@pytest.fixture(autouse=True)
def baseline(transactional_db: None, natural_keys: None) -> None:
    """
    Every test starts from the same rows, whatever ran before it: the
    tables emptied (content types and permissions made again), then the
    seeds loaded, so that the same examples meet the same database.
    """
    call_command("flush", interactive=False, verbosity=0)
    for objects, node in SEEDS.values():
        with tempfile.TemporaryDirectory(prefix="histfixtures-fuzz-") as name:
            path = Path(name) / "seed.json"
            path.write_bytes(render(objects, "json"))
            call_command("loadfixture", str(path), state=node, verbosity=0)


@pytest.fixture(scope="module")
def latest_state(django_db_blocker: Any) -> ProjectState:
    with django_db_blocker.unblock():
        return state_at(*LATEST)


def pk_less_at(state: ProjectState) -> Callable[[Fixture], bool]:
    """
    Whether the fixture has an object that a second load would insert again.

    Read with deserialize() after the first load, which gives an object
    without a pk the pk of the row its natural key finds: one that is still
    None has neither (loaddata inserts it again too). A fixture that the
    load read but deserialize() alone cannot is skipped as well.
    """

    def pk_less(fixture: Fixture) -> bool:
        try:
            objects = list(
                deserialize(
                    fixture.format,
                    fixture.text(),
                    apps=state.apps,
                    natural_keys=NATURAL_KEYS,
                )
            )
        except Exception:
            return True
        return any(obj.object.pk is None for obj in objects)

    return pk_less


def finish(entry: str) -> None:
    if KEEP_GOING:
        assert_no_violations(entry)


# -- Loads that write --------------------------------------------------------


def fuzz_load(
    entry: str,
    directory: Path,
    latest_state: ProjectState,
    run: Callable[[Fixture, Path], None],
    *,
    allowed: tuple[type[BaseException], ...] = (FixtureError,),
    sequences_kept: bool = True,
) -> None:
    """Load each generated fixture through ``run`` and check the properties."""

    @fuzz_settings()
    @given(fixtures(LATEST_SEEDS))
    def fuzz(fixture: Fixture) -> None:
        check_load(
            entry,
            fixture,
            directory,
            lambda path: run(fixture, path),
            allowed=allowed,
            pk_less=pk_less_at(latest_state),
            sequences_kept=sequences_kept,
        )

    fuzz()
    finish(entry)


def test_fuzz_load_fixture_operation(
    directory: Path, latest_state: ProjectState
) -> None:
    def run(fixture: Fixture, path: Path) -> None:
        operation = LoadFixture(str(path), natural_keys=NATURAL_KEYS)
        apply_as_migration([operation], "library", latest_state, name="0099_fuzz")

    fuzz_load("LoadFixture", directory, latest_state, run)


def test_fuzz_load_fixture_helper(directory: Path, latest_state: ProjectState) -> None:
    def run(fixture: Fixture, path: Path) -> None:
        def code(apps: Any, schema_editor: Any) -> None:
            load_fixture(apps, schema_editor, str(path), natural_keys=NATURAL_KEYS)

        apply_as_migration(
            [migrations.RunPython(code)], "library", latest_state, name="0099_fuzz"
        )

    fuzz_load("load_fixture", directory, latest_state, run)


def test_fuzz_loadfixture_at_a_state(
    directory: Path, latest_state: ProjectState
) -> None:
    def run(fixture: Fixture, path: Path) -> None:
        _, node = SEEDS[fixture.seed]
        call_command("loadfixture", str(path), state=node, verbosity=0)

    fuzz_load("loadfixture --state", directory, latest_state, run)


def test_fuzz_loadfixture_with_live_models(
    directory: Path, latest_state: ProjectState
) -> None:
    """
    loaddata's behaviour is the contract here: its errors, and on PostgreSQL
    the sequences a failed load drew ids from stay moved (loaddata's do too).
    The tables must still be unchanged, and a second load change nothing.
    """

    def run(fixture: Fixture, path: Path) -> None:
        call_command("loadfixture", str(path), verbosity=0)

    fuzz_load(
        "loadfixture (live models)",
        directory,
        latest_state,
        run,
        allowed=(Exception,),
        sequences_kept=False,
    )


def test_fuzz_migration_state_load(
    directory: Path, migration_state: MigrationState, latest_state: ProjectState
) -> None:
    migration_state.migrate_to(list(LATEST))

    def run(fixture: Fixture, path: Path) -> None:
        migration_state.load(str(path), natural_keys=NATURAL_KEYS)

    fuzz_load("migration_state.load", directory, latest_state, run)


# -- Entry points that read only ---------------------------------------------


def test_fuzz_deserialize(directory: Path, latest_state: ProjectState) -> None:
    """deserialize() takes text, not files: no compression."""

    @fuzz_settings()
    @given(fixtures(LATEST_SEEDS, compressed=False))
    def fuzz(fixture: Fixture) -> None:
        def run(path: Path) -> None:
            with path.open("rb") as stream:
                for _ in deserialize(
                    fixture.format,
                    stream,
                    apps=latest_state.apps,
                    natural_keys=NATURAL_KEYS,
                ):
                    pass

        # Reading twice changes nothing either.
        check_load("deserialize", fixture, directory, run, allowed=(FixtureError,))

    fuzz()
    finish("deserialize")


def test_fuzz_upgradefixture(directory: Path, django_db_blocker: Any) -> None:
    """
    library_initial.json as recorded at library.0001_initial, fuzzed.

    A command reports errors as CommandErrors: one that wraps a
    FixtureError, or says that a later migration failed on the loaded data
    on the scratch database, is the contract. The tally names each
    CommandError's cause; any other exception is a violation.
    """
    output = directory / "upgraded.json"

    def run(path: Path) -> None:
        with django_db_blocker.unblock():
            call_command(
                "upgradefixture",
                str(path),
                "--from",
                "library.0001_initial",
                "-o",
                str(output),
                stdout=io.StringIO(),
                verbosity=0,
            )

    @fuzz_settings(share=0.2)
    @given(fixtures({"library_initial": library_initial()}))
    def fuzz(fixture: Fixture) -> None:
        # A second run writes the same file again: nothing to compare in
        # the project's database, which the command never touches.
        check_load(
            "upgradefixture",
            fixture,
            directory,
            run,
            allowed=(FixtureError, CommandError),
            pk_less=lambda fixture: True,
        )

    fuzz()
    finish("upgradefixture")


def test_fuzz_checks(directory: Path, settings: Any) -> None:
    """
    library.0002_load loads LoadFixture("hostile") at library.0001_initial,
    found in a directory of fuzzed files: the checks report findings, never
    raise, and touch no database.
    """
    use_scenario(settings, "checks_hostile_fixture")
    settings.FIXTURE_DIRS = [str(directory)]
    seeds = {"library_initial": library_initial()}

    def run(path: Path) -> None:
        hostile = path.with_name(path.name.replace("fuzzed", "hostile", 1))
        path.rename(hostile)
        try:
            findings = library_findings()
        finally:
            hostile.rename(path)
        assert all(isinstance(finding, CheckMessage) for finding in findings)
        record = tally("checks")
        record.outcomes.update(finding.id or "?" for finding in findings)

    @fuzz_settings()
    @given(fixtures(seeds))
    def fuzz(fixture: Fixture) -> None:
        check_load("checks", fixture, directory, run, allowed=())

    fuzz()
    finish("checks")


def test_every_seed_loads_in_every_format(
    directory: Path, latest_state: ProjectState
) -> None:
    """A guard on the corpus: unmutated, every seed loads, and loads again."""

    def run(path: Path) -> None:
        operation = LoadFixture(str(path), natural_keys=NATURAL_KEYS)
        apply_as_migration([operation], "library", latest_state, name="0099_fuzz")

    for seed, (objects, _) in sorted(SEEDS.items()):
        for format in ("json", "jsonl", "yaml", "xml"):
            data = render(objects, format)
            fixture = Fixture(seed, format, "", objects, False, False, data)
            check_load("seeds", fixture, directory, run, allowed=())

    record = tally("seeds")
    assert record.violations == {}
    assert record.outcomes["loaded"] == record.examples
