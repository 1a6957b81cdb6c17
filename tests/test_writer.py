"""
LoadFixture and loader()/unloader() through Django's migration writer.

What makemigrations and squashmigrations write must import back into the same
operations: every label and every option survives the round trip.
"""

from __future__ import annotations

import importlib
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from django.core.management import call_command
from django.db import migrations
from django.db.migrations.writer import MigrationWriter

import shop.migrations
from histfixtures import LoadFixture, loader, unloader
from histfixtures.runpython import FixtureLoader, FixtureUnloader

ALL_OPTIONS: dict[str, Any] = {
    "on_conflict": "ignore",
    "exclude": ["shop"],
    "batch_size": 50,
    "natural_keys": {"library.Writer": ["name"]},
    "reverse": False,
    "elidable": True,
    "hints": {"x": 1},
    "app_label": "library",
    "format": "json",
    "ignorenonexistent": True,
    "database": "other",
}

WRITER_PACKAGE = "histfixtures_writer_roundtrip"
SQUASH_PACKAGE = "squash_shop_migrations"


def _forget_package(name: str) -> None:
    for module_name in list(sys.modules):
        if module_name == name or module_name.startswith(f"{name}."):
            del sys.modules[module_name]


@pytest.fixture
def writer_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An importable, empty migrations package in tmp_path."""
    package = tmp_path / WRITER_PACKAGE
    package.mkdir()
    (package / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    _forget_package(WRITER_PACKAGE)
    yield package
    _forget_package(WRITER_PACKAGE)


def _migration(*operations: Any) -> migrations.Migration:
    class Migration(migrations.Migration):
        pass

    migration = Migration("0001_x", WRITER_PACKAGE)
    migration.operations = list(operations)
    return migration


def _write_and_import(migration: migrations.Migration, package: Path) -> ModuleType:
    text = MigrationWriter(migration).as_string()
    (package / f"{migration.name}.py").write_text(text)
    importlib.invalidate_caches()
    return importlib.import_module(f"{WRITER_PACKAGE}.{migration.name}")


def _operations() -> list[Any]:
    return [
        LoadFixture("books"),
        LoadFixture("a", "b.json", **ALL_OPTIONS),
        migrations.RunPython(loader("books", on_conflict="ignore"), unloader("books")),
    ]


def test_written_migration_imports_back_into_equal_operations(
    writer_package: Path,
) -> None:
    originals = _operations()
    module = _write_and_import(_migration(*originals), writer_package)

    written = module.Migration("0001_x", WRITER_PACKAGE).operations
    assert len(written) == len(originals)
    for original, imported in zip(originals, written, strict=True):
        assert type(imported) is type(original)
        assert imported.deconstruct() == original.deconstruct()


def test_written_load_fixture_keeps_every_label_and_option(
    writer_package: Path,
) -> None:
    module = _write_and_import(_migration(*_operations()), writer_package)

    _, with_options, _ = module.Migration("0001_x", WRITER_PACKAGE).operations
    assert with_options.labels == ("a", "b.json")
    assert with_options.reverse is False
    assert with_options.elidable is True
    assert with_options.hints == {"x": 1}
    _, _, kwargs = with_options.deconstruct()
    for name in ALL_OPTIONS.keys() - {"reverse", "elidable", "hints"}:
        assert kwargs[name] == ALL_OPTIONS[name], name


def test_written_runpython_loader_and_unloader_compare_equal(
    writer_package: Path,
) -> None:
    module = _write_and_import(_migration(*_operations()), writer_package)

    run_python = module.Migration("0001_x", WRITER_PACKAGE).operations[2]
    assert isinstance(run_python.code, FixtureLoader)
    assert isinstance(run_python.reverse_code, FixtureUnloader)
    assert run_python.code == loader("books", on_conflict="ignore")
    assert run_python.reverse_code == unloader("books")
    assert run_python.code != loader("books")
    assert run_python.reverse_code != loader("books")


def test_written_migration_imports_the_pinned_module_paths() -> None:
    text = MigrationWriter(_migration(*_operations())).as_string()

    assert "import histfixtures.operations\n" in text
    assert "import histfixtures.runpython\n" in text
    assert "histfixtures.operations.LoadFixture(" in text
    assert "histfixtures.runpython.FixtureLoader(" in text
    assert "histfixtures.runpython.FixtureUnloader(" in text


def test_writer_form_with_labels_keyword_equals_positional_form() -> None:
    assert LoadFixture(labels=["a"]).deconstruct() == LoadFixture("a").deconstruct()
    assert (
        LoadFixture(labels=["a", "b.json"], batch_size=5).deconstruct()
        == LoadFixture("a", "b.json", batch_size=5).deconstruct()
    )


def test_labels_given_both_ways_are_refused() -> None:
    with pytest.raises(TypeError):
        LoadFixture("a", labels=["b"])


def test_describe_names_the_fixtures() -> None:
    assert LoadFixture("books").describe() == "Load fixture books"
    assert LoadFixture("a", "b.json").describe() == "Load fixtures a, b.json"


def test_migration_name_fragment_is_made_from_the_labels() -> None:
    assert LoadFixture("books").migration_name_fragment == "load_books"
    assert LoadFixture("a", "b.json").migration_name_fragment == "load_a_b"


def test_load_fixture_does_not_reduce_to_sql() -> None:
    assert LoadFixture("books").reduces_to_sql is False


def test_elidable_is_accepted_like_runpython() -> None:
    assert LoadFixture("books").elidable is False
    assert LoadFixture("books", elidable=True).elidable is True
    assert "elidable" not in LoadFixture("books").deconstruct()[2]
    assert LoadFixture("books", elidable=True).deconstruct()[2]["elidable"] is True


def _describe(operation: Any) -> str:
    if isinstance(operation, LoadFixture):
        return "load " + ",".join(operation.labels)
    if isinstance(operation, migrations.RenameField):
        return f"rename {operation.model_name_lower}.{operation.old_name}"
    if isinstance(operation, migrations.CreateModel):
        return f"create {operation.name_lower}"
    return repr(operation)


@pytest.fixture
def squash_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> Iterator[Path]:
    """A copy of shop's migrations, used as shop's migration module."""
    source = Path(shop.migrations.__file__).parent
    package = tmp_path / SQUASH_PACKAGE
    shutil.copytree(
        source, package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    _forget_package(SQUASH_PACKAGE)
    settings.MIGRATION_MODULES = {"shop": SQUASH_PACKAGE}
    yield package
    _forget_package(SQUASH_PACKAGE)


@pytest.mark.django_db
def test_squashmigrations_keeps_the_fixture_loads(squash_package: Path) -> None:
    before = {path.name for path in squash_package.glob("*.py")}

    call_command(
        "squashmigrations", "shop", "0001", "0005", interactive=False, verbosity=0
    )

    created = [path for path in squash_package.glob("*.py") if path.name not in before]
    assert len(created) == 1
    squashed = created[0]
    text = squashed.read_text()
    assert "histfixtures.operations.LoadFixture(" in text
    assert "labels=['shop_listings']" in text
    assert "labels=['shop_orders']" in text

    importlib.invalidate_caches()
    module = importlib.import_module(f"{SQUASH_PACKAGE}.{squashed.stem}")
    migration = module.Migration(squashed.stem, "shop")
    loads = [op for op in migration.operations if isinstance(op, LoadFixture)]
    assert [op.labels for op in loads] == [("shop_listings",), ("shop_orders",)]
    # The optimizer must not move schema changes across a load: the listings
    # are loaded before Listing.price is renamed, the orders after Order exists.
    positions = {_describe(op): i for i, op in enumerate(migration.operations)}
    assert positions["load shop_listings"] < positions["rename listing.price"]
    assert positions["create order"] < positions["load shop_orders"]
    assert ("shop", "0002_load_listings") in migration.replaces
    assert ("shop", "0005_load_orders") in migration.replaces
