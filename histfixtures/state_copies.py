"""
Copies of test databases at migration states, kept for the rest of the process.

Migrating a test database from empty to a state costs time that grows with
the history before the state; copying a database costs time that grows with
its data. So the first time a process builds a state from empty, it keeps a
copy of the database, and a later test that asks for the same state gets
the copy back instead of running the migrations again.

A copy is found by a key (``state_key``) made of everything that decides
what the migrations write: the database, the migrations to run (names and
the contents of their files), the fixture files that their ``LoadFixture``
operations resolve to, every file of the fixture directories (for data
migrations that load fixtures in their own way), and the settings that
change what is written. A data migration that reads anything else (an
environment variable, a file of its own, the clock) is not seen: turn
copies off with ``HISTFIXTURES = {"STATE_COPIES": False}``.

A copy is taken right after the migrations ran, before a test can touch
the data, and only when they all succeeded. Restoring replaces the whole
database. Whatever cannot be copied or restored (a connection inside a
transaction, another session on a PostgreSQL test database, a backend other
than SQLite and PostgreSQL) is answered by migrating as before: a copy
saves time, it never decides what a test sees.

SQLite copies live in memory; PostgreSQL copies are databases created from
the test database as a template, dropped when the process exits, each with
a spare made from it that a restore renames into the test database's place.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import re
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connections
from django.db.backends.base.base import NO_DB_ALIAS, BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper
from django.db.migrations import RunPython
from django.db.migrations.migration import Migration

from histfixtures.conf import state_copies_setting
from histfixtures.discovery import STDIN, find_fixture_files, fixture_directories
from histfixtures.exceptions import FixtureError
from histfixtures.operations import LoadFixture
from histfixtures.runpython import FixtureLoader

# Settings that change what migrations write, or which migrations and
# fixtures they are.
_SETTINGS = (
    "INSTALLED_APPS",
    "MIGRATION_MODULES",
    "FIXTURE_DIRS",
    "SERIALIZATION_MODULES",
    "HISTFIXTURES",
    "DATABASE_ROUTERS",
    "AUTH_USER_MODEL",
    "USE_TZ",
    "TIME_ZONE",
)

#: What the names of PostgreSQL copies have after the test database's name.
COPY_INFIX = "hfcopy"


class _Copy(Protocol):
    def restore(self, connection: BaseDatabaseWrapper) -> bool: ...

    def discard(self) -> None: ...


# (alias, key) -> the copy of that alias's database at that state, and the
# tables that migrations did not create, with their row counts, at the time.
_copies: dict[tuple[str, str], tuple[_Copy, Mapping[str, int]]] = {}


def state_key(using: str, migrations: Sequence[Migration], purpose: str) -> str:
    """
    The key of the state that running ``migrations`` from empty builds.

    ``purpose`` tells apart ways of building that leave different data for
    the same migrations (``migrate`` also creates content types and
    permissions, for instance).
    """
    connection = connections[using]
    digest = hashlib.sha256()

    def feed(*parts: object) -> None:
        for part in parts:
            digest.update(repr(part).encode())
            digest.update(b"\0")

    feed(purpose, using, connection.vendor, connection.settings_dict["NAME"])
    settings_values = tuple(repr(getattr(settings, name, None)) for name in _SETTINGS)
    feed(*zip(_SETTINGS, settings_values, strict=True))
    files, directories = _fixture_directory_files()
    search = (using, settings_values, directories)
    for migration in migrations:
        feed(migration.app_label, migration.name, _module_digest(migration))
        for path in _fixture_paths(search, migration):
            feed(path, _file_digest(path))
    for path in files:
        feed(path, _file_digest(path))
    return digest.hexdigest()


def can_copy(using: str) -> bool:
    """Whether copies are on, and the database's backend can make them."""
    return state_copies_setting() and connections[using].vendor in _COPIERS


def restore(using: str, key: str, others: Mapping[str, int]) -> bool:
    """
    Put back the copy of ``using`` at ``key``; False if there is none to use.

    ``others``, the tables that migrations do not create and their row
    counts, must be what they were when the copy was taken: the copy would
    put back those tables as they were then.
    """
    kept = _copies.get((using, key))
    if kept is None or kept[1] != others or not state_copies_setting():
        return False
    copy = kept[0]
    if copy.restore(connections[using]):
        return True
    # A copy that cannot be restored now may not be restorable later either.
    del _copies[using, key]
    copy.discard()
    return False


def keep(using: str, key: str, others: Mapping[str, int]) -> None:
    """
    Keep a copy of ``using`` as it is now, the state of ``key``.

    ``others``: the tables that migrations did not create, as ``restore``.
    """
    if not state_copies_setting() or (using, key) in _copies:
        return
    connection = connections[using]
    copier = _COPIERS.get(connection.vendor)
    copy = None if copier is None else copier(connection, key)
    if copy is not None:
        _copies[using, key] = (copy, dict(others))


@atexit.register
def discard_all() -> None:
    """Drop every copy (PostgreSQL's are databases of their own)."""
    while _copies:
        _, (copy, _) = _copies.popitem()
        copy.discard()


# --- what the key is made of --------------------------------------------------------

# path -> ((mtime_ns, size), sha256 of the contents)
_digests: dict[str, tuple[tuple[int, int], str]] = {}


def _file_digest(path: str) -> str:
    """The file's content digest, read again only when its size or time change."""
    try:
        stat = os.stat(path)
    except OSError as exc:
        return f"unreadable: {exc.__class__.__name__}"
    signature = (stat.st_mtime_ns, stat.st_size)
    cached = _digests.get(path)
    if cached is not None and cached[0] == signature:
        return cached[1]
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        return f"unreadable: {exc.__class__.__name__}"
    _digests[path] = (signature, digest.hexdigest())
    return digest.hexdigest()


def _module_digest(migration: Migration) -> str:
    module = sys.modules.get(type(migration).__module__)
    path = getattr(module, "__file__", None)
    return _file_digest(path) if path else f"no file: {type(migration).__module__}"


# What a fixture search depends on: the database alias, the settings of the
# key, and every fixture directory with the time it last changed (adding,
# removing or renaming a file in a directory changes its time).
_Search = tuple[str, tuple[str, ...], tuple[tuple[str, int | None], ...]]

# (search, labels, app_label, format, own app) -> the files they resolve to
_resolved: dict[tuple[object, ...], list[str]] = {}


def _fixture_paths(search: _Search, migration: Migration) -> Iterator[str]:
    """
    The files that the migration's fixture loading operations resolve to.

    A search is done once per process while nothing it depends on changed:
    searching every fixture directory for every such operation of a long
    history costs more than restoring a copy.
    """
    using = search[0]
    for operation in migration.operations:
        if isinstance(operation, LoadFixture):
            labels, options = operation.labels, operation.options
            app_label, format = options.app_label, options.format
        elif isinstance(operation, RunPython) and isinstance(
            operation.code, FixtureLoader
        ):
            labels = operation.code.labels
            app_label = operation.code.options.get("app_label")
            format = operation.code.options.get("format")
        else:
            continue
        cache_key = (search, tuple(labels), app_label, format, migration.app_label)
        # A label with a directory in it searches directories of its own.
        cacheable = not any(os.sep in label or "/" in label for label in labels)
        paths = _resolved.get(cache_key) if cacheable else None
        if paths is None:
            try:
                files = find_fixture_files(
                    labels,
                    using=using,
                    app_label=app_label,
                    format=format,
                    own_app=migration.app_label,
                )
            except FixtureError:
                # The migration will fail to load it: nothing is kept then.
                continue
            paths = [str(file) for file in files if file.path != STDIN]
            if cacheable:
                _resolved[cache_key] = paths
        yield from paths


def _fixture_directory_files() -> tuple[list[str], tuple[tuple[str, int | None], ...]]:
    """
    Every file of the fixture directories loaddata searches, but the cwd's;
    and every directory searched (the cwd too) with the time it changed.
    """
    files: list[str] = []
    directories: list[tuple[str, int | None]] = []
    try:
        searched = fixture_directories()
    except ImproperlyConfigured:
        return files, ()  # FIXTURE_DIRS is wrong: loading will say so.
    cwd = os.getcwd()
    directories.append((cwd, _mtime(cwd)))
    for directory in searched:
        if not directory or os.path.realpath(directory) == cwd:
            continue
        directories.append((directory, _mtime(directory)))
        for root, dirs, names in os.walk(directory):
            dirs.sort()
            directories.extend(
                (os.path.join(root, d), _mtime(os.path.join(root, d))) for d in dirs
            )
            files.extend(os.path.join(root, name) for name in sorted(names))
    return files, tuple(directories)


def _mtime(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


# --- the copies -------------------------------------------------------------------


class _SQLiteCopy:
    """An in-memory database that SQLite's backup API copies to and from."""

    def __init__(self, database: sqlite3.Connection) -> None:
        self.database = database

    @classmethod
    def take(cls, connection: BaseDatabaseWrapper, key: str) -> _SQLiteCopy | None:
        if connection.in_atomic_block:
            return None
        connection.ensure_connection()
        database = sqlite3.connect(":memory:", check_same_thread=False)
        try:
            connection.connection.backup(database)
        except sqlite3.Error:
            database.close()
            return None
        return cls(database)

    def restore(self, connection: BaseDatabaseWrapper) -> bool:
        if connection.in_atomic_block:
            return False
        connection.ensure_connection()
        try:
            self.database.backup(connection.connection)
        except sqlite3.Error:
            return False
        return True

    def discard(self) -> None:
        self.database.close()


class _PostgresCopy:
    """
    A database created with the test database as its template, and a spare.

    PostgreSQL copies a database only while nobody else is connected to it,
    so the test's own connection is closed first (Django reconnects on the
    next query); if another session is connected, there is no copy.

    Creating a database from a template and dropping one each take a
    noticeable time, twice per test (the state, then the latest state
    after it). So a restore renames instead: the test database out of the
    way, and a spare made from the copy in its place; a thread of this
    process then drops the old test database and makes the next spare from
    the copy while the test runs. The copy itself is only ever a template:
    no session connects to it, so every spare is the copy as it was taken.
    """

    def __init__(self, connection: BaseDatabaseWrapper, name: str) -> None:
        self.connection = connection
        self.name = name
        # 63 bytes at most: the name is 58 at most.
        self.spare, self.old = f"{name}_s", f"{name}_o"
        # Whether the spare database exists, and the thread making it.
        self.spare_ready = False
        self.worker: threading.Thread | None = None

    @classmethod
    def take(cls, connection: BaseDatabaseWrapper, key: str) -> _PostgresCopy | None:
        if connection.in_atomic_block:
            return None
        source = connection.settings_dict["NAME"]
        # The pid keeps parallel test runs apart.
        name = f"{source[:30]}_{COPY_INFIX}_{os.getpid()}_{key[:12]}"
        connection.close()
        try:
            with connection._nodb_cursor() as cursor:
                if source not in _swept:
                    _swept.add(source)
                    _drop_copies_of_dead_processes(cursor, connection, source)
                cursor.execute(f"DROP DATABASE IF EXISTS {_quote(connection, name)}")
                cursor.execute(
                    f"CREATE DATABASE {_quote(connection, name)} "
                    f"TEMPLATE {_quote(connection, source)}"
                )
        except DatabaseError:
            return None
        copy = cls(connection, name)
        copy._make_spare(old=None)
        return copy

    def restore(self, connection: BaseDatabaseWrapper) -> bool:
        if connection.in_atomic_block:
            return False
        self._wait()
        target = connection.settings_dict["NAME"]
        connection.close()
        if self.spare_ready:
            old = self.old
            try:
                with connection._nodb_cursor() as cursor:
                    cursor.execute(_rename(connection, target, old))
            except DatabaseError:
                return False  # Another session is connected: nothing changed.
            self.spare_ready = False
            try:
                with connection._nodb_cursor() as cursor:
                    cursor.execute(_rename(connection, self.spare, target))
            except DatabaseError:
                with connection._nodb_cursor() as cursor:
                    cursor.execute(_rename(connection, old, target))
                return False
            self._make_spare(old=old)
            return True
        try:
            with connection._nodb_cursor() as cursor:
                cursor.execute(f"DROP DATABASE {_quote(connection, target)}")
        except DatabaseError:
            return False  # Another session is connected: nothing changed.
        with connection._nodb_cursor() as cursor:
            try:
                cursor.execute(
                    f"CREATE DATABASE {_quote(connection, target)} "
                    f"TEMPLATE {_quote(connection, self.name)}"
                )
            except DatabaseError:
                # Leave an empty test database: the caller migrates it.
                cursor.execute(f"CREATE DATABASE {_quote(connection, target)}")
                return False
        self._make_spare(old=None)
        return True

    def discard(self) -> None:
        self._wait()
        names = [self.spare, self.old, self.name]
        with contextlib.suppress(Exception):  # At exit, the server may be gone.
            _run_on_server(
                self.connection,
                [
                    f"DROP DATABASE IF EXISTS {_quote(self.connection, n)}"
                    for n in names
                ],
            )
        self.spare_ready = False

    def _make_spare(self, old: str | None) -> None:
        """Drop ``old``, then make the spare from the copy, in a thread."""
        quote = self.connection.ops.quote_name
        statements = [] if old is None else [f"DROP DATABASE {quote(old)}"]
        statements.append(f"DROP DATABASE IF EXISTS {quote(self.spare)}")
        statements.append(
            f"CREATE DATABASE {quote(self.spare)} TEMPLATE {quote(self.name)}"
        )

        def work() -> None:
            try:
                _run_on_server(self.connection, statements)
            except Exception:
                return  # No spare: the next restore creates the database.
            self.spare_ready = True

        self.worker = threading.Thread(target=work, name=f"histfixtures {self.spare}")
        self.worker.start()

    def _wait(self) -> None:
        if self.worker is not None:
            self.worker.join()
            self.worker = None


# The test databases whose copies left by dead processes this one dropped.
_swept: set[str] = set()


def _drop_copies_of_dead_processes(
    cursor: CursorWrapper, connection: BaseDatabaseWrapper, source: str
) -> None:
    """
    Drop the copies of ``source`` that a killed test run left behind.

    They are told by the process id in their names: a process of this
    host that no longer runs made them. Only copies of ``source`` are
    considered, never another test database's.
    """
    pattern = re.compile(
        re.escape(f"{source[:30]}_{COPY_INFIX}_") + r"(\d+)_[0-9a-f]{12}(_s|_o)?"
    )
    cursor.execute("SELECT datname FROM pg_database")
    for (name,) in cursor.fetchall():
        match = pattern.fullmatch(name)
        if match and not _is_running(int(match[1])):
            with contextlib.suppress(DatabaseError):  # In use after all: kept.
                cursor.execute(f"DROP DATABASE IF EXISTS {_quote(connection, name)}")


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # Running, as another user.
    return True


def _run_on_server(connection: BaseDatabaseWrapper, statements: list[str]) -> None:
    """
    Run ``statements`` in a connection of their own to the ``postgres`` database.

    Not through ``connection``: a thread may run them while the test runs
    (and while pytest-django blocks database access in the main thread).
    """
    server = type(connection)(
        {**connection.settings_dict, "NAME": None}, alias=NO_DB_ALIAS
    )
    raw = server.get_new_connection(server.get_connection_params())
    try:
        raw.autocommit = True
        with raw.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        raw.close()


def _rename(connection: BaseDatabaseWrapper, old: str, new: str) -> str:
    return (
        f"ALTER DATABASE {_quote(connection, old)} RENAME TO {_quote(connection, new)}"
    )


_COPIERS: dict[str, Callable[[BaseDatabaseWrapper, str], _Copy | None]] = {
    "sqlite": _SQLiteCopy.take,
    "postgresql": _PostgresCopy.take,
}


def _quote(connection: BaseDatabaseWrapper, name: str) -> str:
    return connection.ops.quote_name(name)
