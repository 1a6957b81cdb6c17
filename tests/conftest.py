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

from tests.utils import migrate_to_latest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def migrations_restored(transactional_db: None) -> Iterator[None]:
    """A transactional test whose database is migrated to the latest state after."""
    yield
    migrate_to_latest()


@pytest.fixture
def fixtures_dir() -> Path:
    """tests/fixtures: small fixture files named after what they test."""
    return FIXTURES
