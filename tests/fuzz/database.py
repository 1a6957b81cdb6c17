"""
A full picture of a database, to tell whether a failed load changed anything.

Every table the connection can see (Django's own tables included), each as
its row count and a hash of its rows in a stable order, and the state of
every sequence: ``sqlite_sequence`` on SQLite, ``pg_sequences`` on
PostgreSQL (sequences are not transactional there, so a rolled-back insert
may still have moved one).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections


@dataclass(frozen=True)
class Table:
    rows: int
    digest: str


Snapshot = dict[str, Table | tuple[Any, ...]]


def _table(cursor: Any, sql: str) -> Table:
    cursor.execute(sql)
    rows = sorted(repr(row) for row in cursor.fetchall())
    digest = hashlib.sha256("\n".join(rows).encode("utf-8", "surrogatepass"))
    return Table(len(rows), digest.hexdigest())


def snapshot(using: str = DEFAULT_DB_ALIAS) -> Snapshot:
    """Row counts and content hashes of every table, and every sequence."""
    connection = connections[using]
    quote = connection.ops.quote_name
    picture: Snapshot = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            picture[table] = _table(cursor, f"SELECT * FROM {quote(table)}")
        if connection.vendor == "sqlite":
            cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'")
            if cursor.fetchone():
                picture["sqlite_sequence"] = _table(
                    cursor, "SELECT name, seq FROM sqlite_sequence"
                )
        elif connection.vendor == "postgresql":
            cursor.execute(
                "SELECT sequencename, last_value FROM pg_sequences "
                "WHERE schemaname = current_schema() ORDER BY sequencename"
            )
            for name, last_value in cursor.fetchall():
                picture[f"sequence {name}"] = (last_value,)
    return picture


def changed(before: Snapshot, after: Snapshot) -> list[str]:
    """The tables and sequences that differ between two snapshots."""
    return sorted(
        name
        for name in before.keys() | after.keys()
        if before.get(name) != after.get(name)
    )
