"""
The makefixturemigration command: a new migration holding a pinned LoadFixture.

The library's migrations are copied into a temporary package (swapped in
with MIGRATION_MODULES), so that the command writes there and not into the
test project.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.migrations.loader import MigrationLoader

from histfixtures import LoadFixture
from histfixtures.checks import check_load_fixtures
from library.models import Tag
from tests.utils import migrate

FIXTURES = Path(__file__).parent / "fixtures"
LIBRARY_MIGRATIONS = Path(__file__).parent.parent / "testproject/library/migrations"
LEAF = ("library", "0011_writer_slug")


@pytest.fixture
def migrations_dir(
    tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A copy of the library's migrations, in use for the test."""
    package = f"library_migrations_{uuid.uuid4().hex[:8]}"
    shutil.copytree(
        LIBRARY_MIGRATIONS,
        tmp_path / package,
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    settings.MIGRATION_MODULES = {"library": package}
    settings.FIXTURE_DIRS = [FIXTURES]
    return tmp_path / package


def make(*args: str, **options: Any) -> str:
    stdout = io.StringIO()
    call_command("makefixturemigration", *args, stdout=stdout, **options)
    return stdout.getvalue()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def written(app_label: str, name: str) -> Any:
    return MigrationLoader(None, ignore_no_migrations=True).graph.nodes[
        (app_label, name)
    ]


def test_writes_a_migration_after_the_leaf_with_a_pinned_load(
    migrations_dir: Path,
) -> None:
    output = make("library", "makefixturemigration_tags")

    path = migrations_dir / "0012_load_makefixturemigration_tags.py"
    assert path.exists()
    assert "0012_load_makefixturemigration_tags.py" in output
    migration = written("library", "0012_load_makefixturemigration_tags")
    assert migration.dependencies == [LEAF]
    (operation,) = migration.operations
    assert isinstance(operation, LoadFixture)
    assert operation.labels == ("makefixturemigration_tags",)
    assert operation.sha256 == sha256(FIXTURES / "makefixturemigration_tags.json")


def test_several_fixtures_are_pinned_one_by_one(migrations_dir: Path) -> None:
    make(
        "library",
        "makefixturemigration_tags.json",
        "makefixturemigration_writers",
        name="more_catalog",
    )

    (operation,) = written("library", "0012_more_catalog").operations
    assert operation.labels == (
        "makefixturemigration_tags.json",
        "makefixturemigration_writers",
    )
    assert operation.sha256 == {
        "makefixturemigration_tags.json": sha256(
            FIXTURES / "makefixturemigration_tags.json"
        ),
        "makefixturemigration_writers": sha256(
            FIXTURES / "makefixturemigration_writers.yaml"
        ),
    }


@pytest.mark.django_db  # makemigrations checks the history of the database.
def test_output_is_stable_under_makemigrations_check(migrations_dir: Path) -> None:
    make("library", "makefixturemigration_tags")
    # makemigrations --check exits with status 1 if it finds anything to write.
    call_command(
        "makemigrations", "library", check=True, dry_run=True, stdout=io.StringIO()
    )


@pytest.mark.usefixtures("migrations_restored")
def test_the_written_migration_runs(migrations_dir: Path) -> None:
    make("library", "makefixturemigration_tags")

    migrate(("library", "0012_load_makefixturemigration_tags"))
    assert set(Tag.objects.filter(pk__gte=300).values_list("name", flat=True)) == {
        "mfm-poetry",
        "mfm-essays",
    }
    migrate(LEAF)
    assert not Tag.objects.filter(pk__gte=300).exists()


def test_dry_run_writes_nothing(migrations_dir: Path) -> None:
    output = make("library", "makefixturemigration_tags", dry_run=True, verbosity=3)

    assert not (migrations_dir / "0012_load_makefixturemigration_tags.py").exists()
    assert "0012_load_makefixturemigration_tags.py" in output
    assert "histfixtures.operations.LoadFixture(" in output


def test_a_path_is_written_relative_to_its_fixture_directory(
    migrations_dir: Path,
) -> None:
    make("library", str(FIXTURES / "makefixturemigration_tags.json"))

    (operation,) = written("library", "0012_load_makefixturemigration_tags").operations
    assert operation.labels == ("makefixturemigration_tags.json",)


def test_a_path_outside_the_fixture_directories_is_refused(
    migrations_dir: Path, tmp_path: Path
) -> None:
    fixture = tmp_path / "elsewhere.json"
    shutil.copy(FIXTURES / "makefixturemigration_tags.json", fixture)
    with pytest.raises(CommandError, match="is not in a fixture directory"):
        make("library", str(fixture))


def test_a_missing_fixture_is_refused(migrations_dir: Path) -> None:
    with pytest.raises(CommandError, match="No fixture named 'no_such_fixture'"):
        make("library", "no_such_fixture")


def test_a_fixture_that_does_not_fit_is_refused_in_the_checks_words(
    migrations_dir: Path,
) -> None:
    # library_initial was dumped at library 0001: Author is Writer since 0005.
    with pytest.raises(CommandError) as caught:
        make("library", "library_initial")

    message = str(caught.value)
    assert message.startswith(
        "Not writing library.0012_load_library_initial: the system checks would "
        "report it.\nlibrary.0012_load_library_initial: (histfixtures.E003) The "
        "fixture "
    )
    assert "names the model 'library.author'" in message
    assert "HINT: library.author: created by library.0001_initial; renamed to " in (
        message
    )
    assert "bring it up to date with manage.py upgradefixture library_initial" in (
        message
    )
    assert message.endswith(
        "or pass --force to write the migration anyway "
        "(and edit it, e.g. ignorenonexistent=True)."
    )
    assert not (migrations_dir / "0012_load_library_initial.py").exists()


def test_force_writes_a_fixture_that_does_not_fit_with_the_findings_as_warnings(
    migrations_dir: Path,
) -> None:
    stderr = io.StringIO()
    call_command(
        "makefixturemigration",
        "library",
        "library_initial",
        force=True,
        stdout=io.StringIO(),
        stderr=stderr,
    )

    warnings = stderr.getvalue()
    assert warnings.startswith(
        "Warning: library.0012_load_library_initial: (histfixtures.E003) "
    )
    assert "'library.author'" in warnings
    assert (migrations_dir / "0012_load_library_initial.py").exists()
    # The warnings are what the checks now report about the new migration
    # (with other advice: before, the migration did not exist).
    assert [line for line in warnings.splitlines() if "HINT" not in line] == [
        f"Warning: {finding.obj}: ({finding.id}) {finding.msg}"
        for finding in check_load_fixtures()
    ]
    assert "manage.py upgradefixture library_initial" in warnings


def test_force_does_not_write_a_fixture_that_cannot_be_read(
    migrations_dir: Path, tmp_path: Path, settings: Any
) -> None:
    fixture_dir = tmp_path / "fixtures"
    fixture_dir.mkdir()
    (fixture_dir / "broken.json").write_text('[{"model": "library.tag", ')
    settings.FIXTURE_DIRS = [fixture_dir]

    with pytest.raises(CommandError, match=r"\(histfixtures\.E002\)") as caught:
        make("library", "broken", force=True)

    assert "--force" not in str(caught.value)
    assert list(migrations_dir.glob("0012_*")) == []


def test_an_edit_after_pinning_is_reported_by_the_checks(
    migrations_dir: Path, tmp_path: Path, settings: Any
) -> None:
    fixture_dir = tmp_path / "fixtures"
    fixture_dir.mkdir()
    fixture = fixture_dir / "pinned_tags.json"
    shutil.copy(FIXTURES / "makefixturemigration_tags.json", fixture)
    settings.FIXTURE_DIRS = [fixture_dir]
    make("library", "pinned_tags")
    assert check_load_fixtures() == []

    fixture.write_text(fixture.read_text().replace("mfm-poetry", "mfm-verse"))

    findings = check_load_fixtures()
    assert [(finding.id, str(finding.obj)) for finding in findings] == [
        ("histfixtures.E006", "library.0012_load_pinned_tags")
    ]
