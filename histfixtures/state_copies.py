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

When the run keeps its test database (pytest-django's ``--reuse-db``,
``manage.py test --keepdb``), copies are kept across runs too, found again
by a name made of the test database's name, the state asked for (the
"slot") and the key: PostgreSQL databases named ``<db>_hfkeep_...``, and
SQLite files next to a file-based test database. They are made under a
name of their own and renamed into place once complete, so another run
never uses half a copy, and a run that keeps a new copy for a slot drops
the copies of that slot kept under another key.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import glob
import hashlib
import inspect
import json
import os
import re
import sqlite3
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import django
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connections
from django.db.backends.base.base import NO_DB_ALIAS, BaseDatabaseWrapper
from django.db.backends.base.creation import BaseDatabaseCreation
from django.db.backends.utils import CursorWrapper
from django.db.migrations import RunPython
from django.db.migrations.migration import Migration

from histfixtures import __version__ as histfixtures_version
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
#: The same, for the copies kept across runs (of PostgreSQL and SQLite).
KEPT_INFIX = "hfkeep"


class _Copy(Protocol):
    def restore(self, connection: BaseDatabaseWrapper) -> bool: ...

    def discard(self) -> None: ...


class _Copier(Protocol):
    def take(
        self, connection: BaseDatabaseWrapper, key: str, kept: _Kept | None
    ) -> _Copy | None: ...

    def find(self, connection: BaseDatabaseWrapper, kept: _Kept) -> _Copy | None: ...

    def kept_name(self, connection: BaseDatabaseWrapper, slot: str, id: str) -> str: ...

    def can_keep(self, connection: BaseDatabaseWrapper) -> bool: ...


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
    # A copy kept across runs outlives the code that made it.
    feed(django.get_version(), histfixtures_version, sys.version_info[:2])
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


def restore(using: str, key: str, others: Mapping[str, int], slot: str = "") -> bool:
    """
    Put back the copy of ``using`` at ``key``; False if there is none to use.

    ``others``, the tables that migrations do not create and their row
    counts, must be what they were when the copy was taken: the copy would
    put back those tables as they were then. ``slot`` names the state asked
    for (``"migrate_to library.0003"``): a copy kept by an earlier run that
    kept its test database is found by it and ``key``.
    """
    if not state_copies_setting():
        return False
    kept = _copies.get((using, key))
    if kept is None:
        found = _find_kept(using, key, others, slot)
        if found is None:
            return False
        kept = _copies[using, key] = (found, dict(others))
    if kept[1] != others:
        return False
    copy = kept[0]
    if copy.restore(connections[using]):
        return True
    # A copy that cannot be restored now may not be restorable later either.
    del _copies[using, key]
    copy.discard()
    return False


def keep(using: str, key: str, others: Mapping[str, int], slot: str = "") -> None:
    """
    Keep a copy of ``using`` as it is now, the state of ``key``.

    ``others``: the tables that migrations did not create, and ``slot``, as
    ``restore``. When the run keeps its test database, so is the copy.
    """
    if not state_copies_setting() or (using, key) in _copies:
        return
    connection = connections[using]
    copier = _COPIERS.get(connection.vendor)
    if copier is None:
        return
    copy = copier.take(connection, key, _kept(using, key, others, slot))
    if copy is not None:
        _copies[using, key] = (copy, dict(others))


@atexit.register
def discard_all() -> None:
    """
    Drop every copy (PostgreSQL's are databases of their own), but those
    kept across runs: of these, only what serves this process goes.
    """
    while _copies:
        _, (copy, _) = _copies.popitem()
        copy.discard()


# --- runs that keep their test databases --------------------------------------------

# alias -> the name of its test database, created by this process for a run
# that keeps it (keepdb=True).
_kept_test_databases: dict[str, str] = {}


def watch_test_databases() -> None:
    """
    Note which test databases are created for a run that keeps them.

    Every runner creates its test databases with
    ``BaseDatabaseCreation.create_test_db(keepdb=...)``: Django's
    ``--keepdb``, pytest-django's ``--reuse-db`` (and its xdist workers).
    Wrapping it is the one place that sees them all; the backends override
    ``_create_test_db``, never this method. Called once, by the app's
    ``ready()``.
    """
    create_test_db = BaseDatabaseCreation.create_test_db
    if getattr(create_test_db, "histfixtures_watched", False):
        return
    signature = inspect.signature(create_test_db)

    @functools.wraps(create_test_db)
    def watched(self: BaseDatabaseCreation, *args: Any, **kwargs: Any) -> str:
        name = create_test_db(self, *args, **kwargs)
        arguments = signature.bind(self, *args, **kwargs).arguments
        if arguments.get("keepdb", False):
            _kept_test_databases[self.connection.alias] = name
        else:
            _kept_test_databases.pop(self.connection.alias, None)
        return name

    watched.histfixtures_watched = True  # type: ignore[attr-defined]
    BaseDatabaseCreation.create_test_db = watched  # type: ignore[method-assign]


def note_kept_test_database(using: str) -> None:
    """
    Note that the run keeps the test database that ``using`` points to now.

    For pytest-django's ``--reuse-db --create-db``: the database is created
    again (``keepdb=False``), then kept at the end all the same.
    """
    _kept_test_databases[using] = connections[using].settings_dict["NAME"]


def keeps_test_database(using: str) -> bool:
    """
    Whether ``using`` is a test database that this run keeps for the next.

    Only the database the runner created with ``keepdb`` counts: not the
    clone that a ``--parallel`` worker uses, nor an in-memory SQLite
    database, which ends with the process.
    """
    connection = connections[using]
    name = _kept_test_databases.get(using)
    if name is None or connection.settings_dict["NAME"] != name:
        return False
    copier = _COPIERS.get(connection.vendor)
    return copier is not None and copier.can_keep(connection)


class _Kept:
    """
    Where a copy kept across runs lives: ``prefix`` (of the test database
    and the slot) and ``id`` (of the key and the tables outside migrations).
    """

    def __init__(self, prefix: str, id: str) -> None:
        self.prefix, self.id = prefix, id
        self.name = f"{prefix}{id}"
        self._pattern = re.compile(re.escape(prefix) + r"[0-9a-f]{12}")

    def stale(self, other: str) -> bool:
        """Whether ``other`` is a copy of the same slot that this one replaces."""
        return other != self.name and self._pattern.fullmatch(other) is not None


def _kept(using: str, key: str, others: Mapping[str, int], slot: str) -> _Kept | None:
    """The kept copy of ``key`` in ``slot``, if the run keeps ``using``."""
    if not slot or not keeps_test_database(using):
        return None
    connection = connections[using]
    copier = _COPIERS[connection.vendor]
    # The slot: the state asked for, of this test database (whose name only
    # begins the copies' names).
    slot_id = _digest(using, connection.settings_dict["NAME"], slot)[:8]
    return _Kept(
        copier.kept_name(connection, slot_id, ""),
        _digest(key, sorted(others.items()))[:12],
    )


def _find_kept(
    using: str, key: str, others: Mapping[str, int], slot: str
) -> _Copy | None:
    kept = _kept(using, key, others, slot)
    if kept is None:
        return None
    connection = connections[using]
    return _COPIERS[connection.vendor].find(connection, kept)


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, default=repr).encode()).hexdigest()


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
    """
    An in-memory database that SQLite's backup API copies to and from.

    A copy kept across runs is also a file next to the test database's
    file: written under a name of this process, renamed into place when
    complete (a rename replaces a file whole, even for a run reading the old
    one), and read into memory once by a later run.
    """

    def __init__(self, database: sqlite3.Connection) -> None:
        self.database = database

    @classmethod
    def take(
        cls, connection: BaseDatabaseWrapper, key: str, kept: _Kept | None
    ) -> _SQLiteCopy | None:
        if connection.in_atomic_block:
            return None
        connection.ensure_connection()
        database = sqlite3.connect(":memory:", check_same_thread=False)
        try:
            connection.connection.backup(database)
        except sqlite3.Error:
            database.close()
            return None
        if kept is not None:
            _write_kept_file(database, kept)
        return cls(database)

    @classmethod
    def find(cls, connection: BaseDatabaseWrapper, kept: _Kept) -> _SQLiteCopy | None:
        if not os.path.isfile(kept.name):
            return None
        database = sqlite3.connect(":memory:", check_same_thread=False)
        try:
            uri = f"{Path(kept.name).as_uri()}?mode=ro"
            with contextlib.closing(sqlite3.connect(uri, uri=True)) as source:
                source.backup(database)
        except sqlite3.Error:
            database.close()
            return None
        return cls(database)

    @staticmethod
    def kept_name(connection: BaseDatabaseWrapper, slot: str, id: str) -> str:
        path = os.path.abspath(str(connection.settings_dict["NAME"]))
        return f"{path}.{KEPT_INFIX}-{slot}-{id}"

    @staticmethod
    def can_keep(connection: BaseDatabaseWrapper) -> bool:
        return not connection.is_in_memory_db()  # type: ignore[attr-defined]

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


def _write_kept_file(database: sqlite3.Connection, kept: _Kept) -> None:
    """
    Write ``database`` to the kept copy's file; remove the ones it replaces
    and those that killed runs left half written.
    """
    temporary = f"{kept.name}.{os.getpid()}.tmp"
    try:
        with contextlib.closing(sqlite3.connect(temporary)) as file:
            database.backup(file)
        os.replace(temporary, kept.name)
    except (OSError, sqlite3.Error):
        with contextlib.suppress(OSError):
            os.remove(temporary)
        return
    half_written = re.compile(re.escape(kept.prefix) + r"[0-9a-f]{12}\.(\d+)\.tmp")
    for path in glob.glob(f"{glob.escape(kept.prefix)}*"):
        match = half_written.fullmatch(path)
        if kept.stale(path) or (match and not _is_running(int(match[1]))):
            with contextlib.suppress(OSError):
                os.remove(path)


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

    def __init__(
        self, connection: BaseDatabaseWrapper, name: str, own: str, *, kept: bool
    ) -> None:
        self.connection = connection
        self.name = name
        # The spare and the old test database are this process's, even for
        # a copy kept across runs: 63 bytes at most, ``own`` is 58 at most.
        self.spare, self.old = f"{own}_s", f"{own}_o"
        # Whether the copy outlives the process (the next run may use it).
        self.kept = kept
        # Whether the spare database exists, and the thread making it.
        self.spare_ready = False
        self.worker: threading.Thread | None = None

    @classmethod
    def take(
        cls, connection: BaseDatabaseWrapper, key: str, kept: _Kept | None
    ) -> _PostgresCopy | None:
        if connection.in_atomic_block:
            return None
        source = connection.settings_dict["NAME"]
        own = _own_name(source, key[:12])
        # A kept copy is made under a name of this process, then renamed.
        made = own if kept is None else f"{own}_t"
        name: str | None = made
        connection.close()
        try:
            with connection._nodb_cursor() as cursor:
                if source not in _swept:
                    _swept.add(source)
                    _drop_copies_of_dead_processes(cursor, connection, source)
                cursor.execute(f"DROP DATABASE IF EXISTS {_quote(connection, made)}")
                cursor.execute(
                    f"CREATE DATABASE {_quote(connection, made)} "
                    f"TEMPLATE {_quote(connection, source)}"
                )
                if kept is not None:
                    name = _put_in_place(cursor, connection, made, kept)
        except DatabaseError:
            return None
        if name is None:
            return None
        copy = cls(connection, name, own, kept=kept is not None)
        copy._make_spare(old=None)
        return copy

    @classmethod
    def find(cls, connection: BaseDatabaseWrapper, kept: _Kept) -> _PostgresCopy | None:
        try:
            with connection._nodb_cursor() as cursor:
                if kept.name not in _database_names(cursor):
                    return None
        except DatabaseError:
            return None
        own = _own_name(connection.settings_dict["NAME"], kept.id)
        # No spare yet: the first restore creates the test database from it.
        return cls(connection, kept.name, own, kept=True)

    @staticmethod
    def kept_name(connection: BaseDatabaseWrapper, slot: str, id: str) -> str:
        return f"{connection.settings_dict['NAME'][:30]}_{KEPT_INFIX}_{slot}_{id}"

    @staticmethod
    def can_keep(connection: BaseDatabaseWrapper) -> bool:
        return True

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
        names = [self.spare, self.old, *([] if self.kept else [self.name])]
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


def _own_name(source: str, id: str) -> str:
    """The name of a copy of ``source`` that this process makes (the pid
    keeps parallel test runs apart)."""
    return f"{source[:30]}_{COPY_INFIX}_{os.getpid()}_{id}"


def _put_in_place(
    cursor: CursorWrapper, connection: BaseDatabaseWrapper, made: str, kept: _Kept
) -> str | None:
    """
    Rename the complete copy ``made`` to the kept copy's name, and drop the
    kept copies it replaces; the name of the kept copy, None if there is none.
    """
    try:
        cursor.execute(_rename(connection, made, kept.name))
    except DatabaseError:
        # Another run kept the same state first: use its copy.
        cursor.execute(f"DROP DATABASE IF EXISTS {_quote(connection, made)}")
    names = _database_names(cursor)
    for name in names:
        if kept.stale(name):
            with contextlib.suppress(DatabaseError):  # In use: left for later.
                cursor.execute(f"DROP DATABASE IF EXISTS {_quote(connection, name)}")
    return kept.name if kept.name in names else None


def _database_names(cursor: CursorWrapper) -> set[str]:
    cursor.execute("SELECT datname FROM pg_database")
    return {name for (name,) in cursor.fetchall()}


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
        re.escape(f"{source[:30]}_{COPY_INFIX}_") + r"(\d+)_[0-9a-f]{12}(_s|_o|_t)?"
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


_COPIERS: dict[str, _Copier] = {
    "sqlite": _SQLiteCopy,
    "postgresql": _PostgresCopy,
}


def _quote(connection: BaseDatabaseWrapper, name: str) -> str:
    return connection.ops.quote_name(name)
