"""
A full picture of a database, to tell whether a load changed anything.

Every table the connection can see (Django's own tables included), each as
its row count and a hash of its rows in a stable order, and the state of
every sequence: ``sqlite_sequence`` on SQLite, ``pg_sequences`` on
PostgreSQL (sequences are not transactional there, so a rolled-back insert
may still have moved one).

``link_ids=False`` reads the tables of auto-created many-to-many links as
their pairs, without their own ids, and leaves out those tables' sequences:
a fixture that defines one object twice with different links replaces a
link on every load (the first definition removes it, the second adds it
back, as ``loaddata``'s ``set()`` does), which gives the link row a new id
while the pairs stay the same.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.apps import apps
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


def link_tables() -> dict[str, list[str]]:
    """The auto-created many-to-many tables, with their columns but the id."""
    tables = {}
    for model in apps.get_models():
        for field in model._meta.local_many_to_many:
            through = field.remote_field.through
            if through._meta.auto_created:
                tables[through._meta.db_table] = [
                    f.column for f in through._meta.local_fields if not f.primary_key
                ]
    return tables


def snapshot(using: str = DEFAULT_DB_ALIAS, *, link_ids: bool = True) -> Snapshot:
    """Row counts and content hashes of every table, and every sequence."""
    connection = connections[using]
    quote = connection.ops.quote_name
    links = {} if link_ids else link_tables()
    picture: Snapshot = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            columns = ", ".join(map(quote, links[table])) if table in links else "*"
            picture[table] = _table(cursor, f"SELECT {columns} FROM {quote(table)}")
        if connection.vendor == "sqlite":
            cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'")
            if cursor.fetchone():
                cursor.execute("SELECT name, seq FROM sqlite_sequence")
                for name, seq in cursor.fetchall():
                    if name not in links:
                        picture[f"sequence {name} (sqlite_sequence)"] = (seq,)
        elif connection.vendor == "postgresql":
            cursor.execute(
                "SELECT sequencename, last_value FROM pg_sequences "
                "WHERE schemaname = current_schema()"
            )
            for name, last_value in cursor.fetchall():
                if not any(name.startswith(f"{table}_") for table in links):
                    picture[f"sequence {name}"] = (last_value,)
    return picture


def is_sequence(name: str) -> bool:
    return name.startswith("sequence ")


def changed(before: Snapshot, after: Snapshot) -> list[str]:
    """The tables and sequences that differ between two snapshots."""
    return sorted(
        name
        for name in before.keys() | after.keys()
        if before.get(name) != after.get(name)
    )
