"""
What MySQL and MariaDB do differently for a load (docs/topics/databases.rst).

DDL there is not transactional: a migration that creates a table and then
loads into it is not rolled back when the load fails, and the foreign keys
of that table do not exist yet while it loads (Django adds them at the
migration's end). The load must still name the object whose reference
points nowhere, write none of its rows, and say what is left behind.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from histfixtures import LoadFixture, MissingRelatedObjectError
from histfixtures.tables import mysql_statement_limit
from tests.test_deferred_constraints import LATEST, coupon, coupon_model, write_json
from tests.utils import apply_as_migration, state_at

pytestmark = pytest.mark.django_db(transaction=True)

MYSQL_ONLY = pytest.mark.skipif(
    "connection.vendor != 'mysql'",
    reason="mysqlclient's multi-row INSERTs and max_allowed_packet: MySQL/MariaDB",
)


NOT_POSTGRES = pytest.mark.skipif(
    "connection.vendor == 'postgresql'",
    reason="PostgreSQL: the end-of-load check (SET CONSTRAINTS ALL IMMEDIATE) "
    "cannot see foreign keys Django has not added yet; the migration fails "
    "when it adds them, with an IntegrityError naming no object (known gap)",
)


def coupon_table_exists() -> bool:
    return "library_coupon" in connection.introspection.table_names()


def drop_coupon_table() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE library_coupon")


@NOT_POSTGRES
def test_a_load_into_a_table_its_own_migration_created_names_the_dangling_reference(
    tmp_path: Path,
) -> None:
    path = write_json(
        tmp_path / "coupons.json", [coupon(1, "A"), coupon(2, "B", writer=999)]
    )
    operations = [coupon_model(None), LoadFixture(str(path))]
    try:
        with pytest.raises(MissingRelatedObjectError) as caught:
            apply_as_migration(
                operations, "library", state_at(*LATEST), name="0099_coupons"
            )
        error = caught.value
        assert (error.index, error.pk, error.model, error.field, error.value) == (
            1,
            2,
            "library.Coupon",
            "writer",
            999,
        )
        left_behind = coupon_table_exists()
        # Only where DDL cannot be rolled back does the new table remain,
        # empty, and only there does the hint say so.
        assert left_behind == (not connection.features.can_rollback_ddl)
        hint = error.hint or ""
        assert ("cannot roll back schema changes" in hint) == left_behind
        if left_behind:
            with connection.cursor() as cursor:
                cursor.execute("SELECT COUNT(*) FROM library_coupon")
                assert cursor.fetchone() == (0,)
    finally:
        if coupon_table_exists():
            drop_coupon_table()


@MYSQL_ONLY
def test_inserts_are_multi_row_statements_as_long_as_the_server_takes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import MySQLdb.cursors

    statements: list[bytes] = []
    original = MySQLdb.cursors.BaseCursor._query

    def recording(self: Any, query: bytes) -> Any:
        statements.append(bytes(query))
        return original(self, query)

    monkeypatch.setattr(MySQLdb.cursors.BaseCursor, "_query", recording)
    # 3,000 writers of about 120 bytes each, three batches of 1,000
    # (the engine's batch size), each over the driver's own 64 KiB.
    writers = [
        {
            "model": "library.writer",
            "pk": pk,
            "fields": {"name": f"{pk:05d} " + "x" * 90, "slug": f"w-{pk}"},
        }
        for pk in range(1, 3001)
    ]
    path = write_json(tmp_path / "writers.json", writers)
    apply_as_migration(
        [LoadFixture(str(path))], "library", state_at(*LATEST), name="0099_w"
    )

    inserts = [s for s in statements if s.startswith(b"INSERT INTO `library_writer`")]
    assert len(inserts) == 3
    assert all(len(s) <= mysql_statement_limit(connection) for s in inserts)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*), MIN(id), MAX(id) FROM library_writer")
        assert cursor.fetchone() == (3000, 1, 3000)
