"""
SQL that writes one model's own table, built once per load.

The ORM's insert compiler builds a statement per batch and walks every
field of every object through several layers; for fixtures, whose rows are
plain values, that is most of the cost. Here the statement is built once
and the rows go to the driver as parameter tuples: ``executemany`` on every
backend, ``COPY`` on PostgreSQL (psycopg 3), the fastest path the server has.
On MySQL and MariaDB, mysqlclient's ``executemany`` of an INSERT sends
multi-row INSERTs; they are made as large as the server's
``max_allowed_packet`` allows rather than the driver's 64 KiB.
Values are prepared as each field's ``get_db_prep_save()`` prepares them
(through the shortcuts of ``histfixtures.conversions``), exactly what the
ORM would send.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from weakref import WeakKeyDictionary

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper

from histfixtures.conversions import (
    AUTO_FIELDS,
    INTEGER_FIELDS,
    STRING_FIELDS,
    db_preparer,
)

ModelClass = type[models.Model]
Row = tuple[Any, ...]

# Django's own fields whose values COPY's text format stores exactly as the
# INSERT of Django's cursor does (FloatField once -0.0 is made 0.0). Any
# other field, a subclass included, is inserted with INSERT: a custom
# adapter may write a value that COPY and a literal read differently.
_COPY_FIELDS = frozenset(
    [
        *STRING_FIELDS,
        *INTEGER_FIELDS,
        *AUTO_FIELDS,
        models.BooleanField,
        models.GenericIPAddressField,
        models.FloatField,
        models.DecimalField,
        models.DateField,
        models.DateTimeField,
        models.TimeField,
        models.DurationField,
        models.UUIDField,
        models.JSONField,
        models.ForeignKey,
        models.OneToOneField,
    ]
)


# Bytes a MySQL packet holds besides the statement (its command byte), and
# then some.
_PACKET_MARGIN = 1024
# max_allowed_packet less the margin, by DB-API connection: asked once each.
_statement_limits: WeakKeyDictionary[Any, int] = WeakKeyDictionary()


def mysql_statement_limit(connection: BaseDatabaseWrapper) -> int:
    """The longest statement, in bytes, the MySQL/MariaDB server accepts."""
    connection.ensure_connection()
    dbapi = connection.connection
    limit = _statement_limits.get(dbapi)
    if limit is None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT @@max_allowed_packet")
            (packet,) = cursor.fetchone()
        limit = _statement_limits[dbapi] = int(packet) - _PACKET_MARGIN
    return limit


class Table:
    """Insert and update statements for a model's own table."""

    def __init__(
        self,
        Model: ModelClass,
        connection: BaseDatabaseWrapper,
        fields: Sequence[models.Field[Any, Any]] | None = None,
    ) -> None:
        self.Model = Model
        self.connection = connection
        self.fields = list(fields if fields is not None else insert_fields(Model))
        self.pk = Model._meta.pk
        quote = connection.ops.quote_name
        self.name = quote(Model._meta.db_table)
        self.columns = ", ".join(quote(column_of(f)) for f in self.fields)
        self.value_fields = [f for f in self.fields if not f.primary_key]
        # (attname, get_db_prep_save) per column: made once, not per value,
        # since row() runs for every object of a load.
        self.preparers = {f: db_preparer(f, connection) for f in self.fields}
        self._columns = [(f.attname, self.preparers[f]) for f in self.fields]
        self._value_columns = [
            (f.attname, self.preparers[f]) for f in self.value_fields
        ]
        # A field with its own SQL placeholder (e.g. a geometry) needs the ORM.
        self.plain = not any(hasattr(f, "get_placeholder") for f in self.fields)
        self.use_copy = (
            self.plain
            and connection.vendor == "postgresql"
            and hasattr(connection.connection, "pgconn")  # psycopg 3
            and all(type(f) in _COPY_FIELDS for f in self.fields)
        )
        # Columns whose -0.0 an INSERT stores as 0.0 (see _positive_zero()).
        self._float_columns = [
            i for i, f in enumerate(self.fields) if type(f) is models.FloatField
        ]
        if connection.settings_dict.get("OPTIONS", {}).get("server_side_binding"):
            self._float_columns = []

    def row(self, values: Mapping[str, Any]) -> Row:
        """The prepared column values of an object's ``values`` (by attname)."""
        return tuple([prepare(values[attname]) for attname, prepare in self._columns])

    def update_row(self, values: Mapping[str, Any]) -> Row:
        """Prepared values for UPDATE: the non-pk columns, then the pk."""
        row = [prepare(values[attname]) for attname, prepare in self._value_columns]
        row.append(self.pk.get_db_prep_value(values[self.pk.attname], self.connection))
        return tuple(row)

    def insert(self, rows: Sequence[Row]) -> None:
        """Insert ``rows``, which must not exist yet."""
        if not rows:
            return
        with self.connection.cursor() as cursor:
            if self.use_copy:
                copy_sql = f"COPY {self.name} ({self.columns}) FROM STDIN"
                with (
                    self.connection.wrap_database_errors,
                    cursor.cursor.copy(copy_sql) as copy,
                ):
                    for row in rows:
                        if self._float_columns:
                            row = _positive_zero(row, self._float_columns)
                        copy.write_row(row)
            else:
                if self.connection.vendor == "mysql":
                    # Django's wrapper, the backend's wrapper, mysqlclient's
                    # cursor: each INSERT it sends holds as many rows as fit.
                    driver_cursor = cursor.cursor.cursor
                    driver_cursor.max_stmt_length = mysql_statement_limit(
                        self.connection
                    )
                placeholders = ", ".join(["%s"] * len(self.fields))
                cursor.executemany(
                    f"INSERT INTO {self.name} ({self.columns}) VALUES ({placeholders})",
                    rows,
                )

    def update(self, rows: Sequence[Row]) -> None:
        """Overwrite existing rows; each row is ``update_row()``'s tuple."""
        if not rows or not self.value_fields:
            return
        quote = self.connection.ops.quote_name
        assignments = ", ".join(
            f"{quote(column_of(f))} = %s" for f in self.value_fields
        )
        with self.connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {self.name} SET {assignments} "
                f"WHERE {quote(column_of(self.pk))} = %s",
                rows,
            )


def _positive_zero(row: Row, columns: list[int]) -> Row:
    """
    ``row`` with -0.0 as 0.0 in ``columns``, as an INSERT would store it.

    Django's psycopg cursor binds parameters on the client, which writes
    -0.0 as the SQL expression ``-0.0`` (minus applied to zero), stored as
    0.0; COPY's text format keeps the sign. loaddata inserts.
    """
    if any(row[i] == 0.0 for i in columns):
        values = list(row)
        for i in columns:
            if values[i] == 0.0 and type(values[i]) is float:
                values[i] = 0.0
        return tuple(values)
    return row


def column_of(field: models.Field[Any, Any]) -> str:
    """A concrete field's column name (typed as optional by the stubs)."""
    assert field.column is not None
    return field.column


def insert_fields(Model: ModelClass) -> list[models.Field[Any, Any]]:
    """The columns of ``Model``'s own table that an insert writes."""
    return [
        f
        for f in Model._meta.local_concrete_fields
        if not getattr(f, "generated", False)
    ]
