"""
The cache of clean fixture checks: a warm check parses nothing, and any
change that could bring a finding makes the fixture be parsed again.

Parses are counted (read_raw_objects as the checks call it), never timed.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured

from histfixtures import LoadFixture, checks
from histfixtures.check_cache import cache_directory
from histfixtures.checks import check_load_fixtures

SCENARIOS = Path(__file__).parent / "scenarios"
FIXTURES = Path(__file__).parent / "fixtures"
PACKAGE = "checkscache_migrations"


@pytest.fixture
def project(tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    """
    tests/scenarios/checks_valid as a package of its own under tmp_path
    (so its files can be edited), its fixture in tmp_path/fixtures, and the
    cache in tmp_path/cache.
    """
    shutil.copytree(SCENARIOS / "checks_valid", tmp_path / PACKAGE)
    (tmp_path / "fixtures").mkdir()
    shutil.copy(FIXTURES / "checks_valid.jsonl", tmp_path / "fixtures")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [name for name in sys.modules if name.startswith(PACKAGE)]:
        monkeypatch.delitem(sys.modules, name)
    settings.MIGRATION_MODULES = {"library": PACKAGE, "shop": None}
    settings.FIXTURE_DIRS = [tmp_path / "fixtures"]
    settings.HISTFIXTURES = {"CHECKS_CACHE": str(tmp_path / "cache")}
    return tmp_path


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The fixtures the checks parse, one entry per parse."""
    parsed: list[str] = []
    read = checks.read_raw_objects

    def counting(fixture: Any) -> Iterator[Any]:
        parsed.append(str(fixture))
        return read(fixture)

    monkeypatch.setattr(checks, "read_raw_objects", counting)
    return parsed


def findings() -> list[Any]:
    return check_load_fixtures([apps.get_app_config("library")])


def test_warm_check_parses_nothing(project: Path, parses: list[str]) -> None:
    assert findings() == []
    assert len(parses) == 1

    assert findings() == []
    assert len(parses) == 1
    assert len(list((project / "cache").iterdir())) == 1


def test_edited_fixture_is_parsed_again_and_its_finding_reported(
    project: Path, parses: list[str]
) -> None:
    assert findings() == []
    fixture = project / "fixtures" / "checks_valid.jsonl"
    fixture.write_text(
        fixture.read_text().replace('"model": "library.book"', '"model": "library.bok"')
    )

    found = findings()

    assert len(parses) == 2
    # E006: the pin no longer matches; E003: the misspelt model.
    assert [finding.id for finding in found] == [
        "histfixtures.E006",
        "histfixtures.E003",
    ]
    findings()
    assert len(parses) == 3  # A fixture with findings is never cached.


def test_edited_migration_of_the_state_makes_the_fixture_parsed_again(
    project: Path, parses: list[str]
) -> None:
    findings()
    initial = project / PACKAGE / "0001_initial.py"
    initial.write_text(initial.read_text() + "\n# Edited.\n")

    findings()

    assert len(parses) == 2


def test_changed_operation_options_make_the_fixture_parsed_again(
    project: Path, parses: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    findings()
    module = sys.modules[f"{PACKAGE}.0002_load"]
    add_field, load = module.Migration.operations
    changed = LoadFixture(
        *load.labels,
        natural_keys={"library.Author": ["name", "id"]},
        sha256=load.sha256,
    )
    monkeypatch.setattr(module.Migration, "operations", [add_field, changed])

    findings()

    assert len(parses) == 2


def test_corrupt_entry_is_ignored_and_written_again(
    project: Path, parses: list[str]
) -> None:
    findings()
    (entry,) = (project / "cache").iterdir()
    entry.write_bytes(b"\x00garbage")

    assert findings() == []
    assert len(parses) == 2
    assert entry.read_bytes() == b"clean\n"
    findings()
    assert len(parses) == 2


def test_unwritable_cache_only_means_no_caching(
    project: Path, parses: list[str], settings: Any
) -> None:
    not_a_directory = project / "file"
    not_a_directory.write_text("")
    settings.HISTFIXTURES = {"CHECKS_CACHE": str(not_a_directory / "cache")}

    assert findings() == []
    assert findings() == []
    assert len(parses) == 2


def test_cache_turned_off_writes_nothing(
    project: Path, parses: list[str], settings: Any
) -> None:
    settings.HISTFIXTURES = {"CHECKS_CACHE": False}

    findings()
    findings()

    assert len(parses) == 2
    assert not (project / "cache").exists()


def test_default_directory_is_under_the_users_cache_dir(
    settings: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings.HISTFIXTURES = {}
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))

    assert cache_directory() == tmp_path / "histfixtures" / "checks"


@pytest.mark.parametrize("value", [None, 1, "", ["dir"]])
def test_setting_refuses_other_values(settings: Any, value: object) -> None:
    settings.HISTFIXTURES = {"CHECKS_CACHE": value}

    with pytest.raises(ImproperlyConfigured, match="CHECKS_CACHE"):
        cache_directory()
