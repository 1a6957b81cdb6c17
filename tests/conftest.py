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
from django.core.management import call_command

from tests.utils import PROJECT_APPS, migrate, migrate_to_latest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def migrations_restored(transactional_db: None) -> Iterator[None]:
    """
    A transactional test whose database is rebuilt at the latest state after.

    Going back below a load and forward again cannot restore rows that the
    test or a flush removed (a deleted model's table comes back empty), so
    the project's data is flushed and its migrations run again from zero,
    exactly as when the test database was created.
    """
    yield
    call_command("flush", interactive=False, verbosity=0)
    migrate(*((app, "zero") for app in reversed(PROJECT_APPS)))
    migrate_to_latest()


@pytest.fixture
def fixtures_dir() -> Path:
    """tests/fixtures: small fixture files named after what they test."""
    return FIXTURES
