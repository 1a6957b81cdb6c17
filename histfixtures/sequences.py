"""
Putting PostgreSQL's sequences back after a failed load.

Sequences are not transactional: an insert without a primary key that a
failed load rolled back has still drawn its value. Left so, the next insert
after the failure gets another id than it would have before the load, and
``loadfixture``, which hands a failed bulk load to loaddata's own code,
would give loaddata's objects other ids (or, where loaddata collides with a
loaded row, none of the collision). So a load reads the sequences before it
writes and, if it fails, sets back each one that moved, provided this
session drew its latest value: a sequence another session has drawn from
since is left alone, since setting it back could hand out a value twice.
"""

from __future__ import annotations

from typing import Any

from django.db import DatabaseError, transaction
from django.db.backends.base.base import BaseDatabaseWrapper


class SequenceSnapshot:
    """The last values of a PostgreSQL database's sequences, to restore."""

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        self.connection = connection
        self.values = self._read()

    @classmethod
    def take(cls, connection: BaseDatabaseWrapper) -> SequenceSnapshot | None:
        """A snapshot where sequences outlive a rollback (PostgreSQL)."""
        if connection.vendor != "postgresql":
            return None
        return cls(connection)

    def restore(self) -> None:
        """Set back the sequences this session moved since the snapshot."""
        try:
            moved = {
                name: value
                for name, value in self._read().items()
                if value != self.values.get(name)
            }
            for name, value in moved.items():
                self._set_back(name, value)
        except DatabaseError:
            pass  # A broken connection: the load's own error says more.

    def _set_back(self, name: str, value: Any) -> None:
        with (
            transaction.atomic(using=self.connection.alias),
            self.connection.cursor() as cursor,
        ):
            try:
                with transaction.atomic(using=self.connection.alias):
                    cursor.execute("SELECT currval(%s)", [name])
                    (drawn,) = cursor.fetchone()
            except DatabaseError:
                return  # Never drawn in this session: not ours.
            if drawn != value:
                return  # Another session drew from it since.
            old = self.values.get(name)
            cursor.execute(
                "SELECT setval(%s, %s, %s)",
                [name, 1 if old is None else old, old is not None],
            )

    def _read(self) -> dict[str, Any]:
        quote = self.connection.ops.quote_name
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT schemaname, sequencename, last_value FROM pg_sequences"
            )
            return {
                f"{quote(schema)}.{quote(name)}": value
                for schema, name, value in cursor.fetchall()
            }
