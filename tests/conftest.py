"""
Fixtures shared by the test suite.

Tests that migrate the database back and forth need real transactions
(``django_db(transaction=True)``); ``migrations_restored`` brings the schema
back to the latest state afterwards so that the next test starts from it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from histfixtures.migration_state import rebuild_test_database

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def migrations_restored(transactional_db: None) -> Iterator[None]:
    """
    A transactional test whose database is rebuilt at the latest state after.

    Going back below a load and forward again cannot restore rows that the
    test or a flush removed (a deleted model's table comes back empty), so
    the database is rebuilt from empty, exactly as when the test database
    was created: from the copy that histfixtures keeps after the first time.
    """
    yield
    rebuild_test_database(refresh_snapshot=False)


@pytest.fixture
def fixtures_dir() -> Path:
    """tests/fixtures: small fixture files named after what they test."""
    return FIXTURES


@pytest.fixture(autouse=True, scope="session")
def checks_cache_of_the_tests(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[None]:
    """The fixture checks cache their results in a directory of the run's own."""
    patch = pytest.MonkeyPatch()
    patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
    yield
    patch.undo()
