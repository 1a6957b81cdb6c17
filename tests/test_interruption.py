"""
Ctrl-C and ``kill -9`` during a load.

First in the test process, cheaply: a ``KeyboardInterrupt`` raised inside
a load, through the engine, ``loadfixture``'s bulk load and loaddata's own
code, leaves the database as it was and says so.

Then with real signals sent to a real ``django-admin``.

A small project is written to a temporary directory: one app, ``paced``,
whose second migration loads a generated fixture of ROWS objects. Its one
field is a CharField that, when the environment names a marker file,
creates the file once the load has written its first batch and then slows
each conversion down, so that a signal sent when the marker appears always
lands in the middle of the load, however fast the machine. Without the
marker the field is an ordinary CharField and the load runs at full speed.

One test per database runs the whole story, to start as few processes as
possible: ``migrate`` interrupted with SIGINT, ``loadfixture`` interrupted
with SIGINT, ``migrate`` killed with SIGKILL, each leaving no row, no
applied migration and (PostgreSQL) no session or lock behind; then
``migrate`` and ``loadfixture`` run to the end and give exactly the rows.
Timeouts only guard against hangs; no test measures time.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.commands import loaddata
from django.db import connection

from histfixtures.interruption import ROLLED_BACK
from histfixtures.loading import _LoadRun, load
from histfixtures.options import LoadOptions
from tests.utils import apps_at, snapshot

REPO = Path(__file__).resolve().parent.parent
TESTPROJECT = REPO / "testproject"
POSTGRES = os.environ.get("HISTFIXTURES_DB") == "postgres"

ROWS = 2500
BATCH = 1000
# Generous: only a hang may take this long.
TIMEOUT = 120

LATEST = (("library", "0011_writer_slug"), ("shop", "0008_order_total_cents"))


def writers(tmp_path: Path) -> Path:
    """Five library.writer objects, the third without a pk (a sequence draw)."""
    objects: list[dict[str, Any]] = [
        {"model": "library.writer", "pk": pk, "fields": {"name": f"Writer {pk}"}}
        for pk in (100, 101, 102, 103)
    ]
    objects.insert(2, {"model": "library.writer", "fields": {"name": "No pk"}})
    path = tmp_path / "interrupted_writers.json"
    path.write_text(json.dumps(objects))
    return path


def sequences() -> list[tuple[Any, ...]]:
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT sequencename, last_value FROM pg_sequences ORDER BY 1")
        return cursor.fetchall()


def interrupt_at(count: int) -> Callable[..., None]:
    """A callable that raises KeyboardInterrupt on its ``count``-th call."""
    calls = 0

    def call(*args: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == count:
            raise KeyboardInterrupt

    return call


@pytest.mark.django_db(transaction=True)
def test_interrupted_load_rolls_back_puts_sequences_back_and_says_so(
    tmp_path: Path,
) -> None:
    path = writers(tmp_path)
    before, sequences_before = snapshot(), sequences()

    # One object per batch: four rows, one by a sequence, are written when
    # the fifth object is read.
    with pytest.raises(KeyboardInterrupt) as caught:
        load(
            [str(path)],
            apps=apps_at(*LATEST),
            options=LoadOptions(batch_size=1),
            using="default",
            state="library.0011_writer_slug",
            on_object=interrupt_at(5),
        )

    assert caught.value.args == (ROLLED_BACK,)
    assert snapshot() == before
    assert sequences() == sequences_before


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("verbosity", [1, 2], ids=["bulk", "loaddata-code"])
def test_interrupted_loadfixture_raises_to_its_caller_having_loaded_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, verbosity: int
) -> None:
    # Verbosity 2 runs loaddata's own per-object code.
    path = writers(tmp_path)
    if verbosity == 1:
        add = _LoadRun.add
        interrupt = interrupt_at(5)

        def add_or_interrupt(run: _LoadRun, pending: Any) -> None:
            interrupt()
            add(run, pending)

        monkeypatch.setattr(_LoadRun, "add", add_or_interrupt)
        options: dict[str, Any] = {"batch_size": 1}
    else:
        save_obj = loaddata.Command.save_obj
        interrupt = interrupt_at(5)

        def save_or_interrupt(command: Any, obj: Any) -> bool:
            interrupt()
            return save_obj(command, obj)

        monkeypatch.setattr(loaddata.Command, "save_obj", save_or_interrupt)
        options = {}
    before, sequences_before = snapshot(), sequences()
    stdout, stderr = io.StringIO(), io.StringIO()

    with pytest.raises(KeyboardInterrupt) as caught:
        call_command(
            "loadfixture",
            str(path),
            verbosity=verbosity,
            stdout=stdout,
            stderr=stderr,
            **options,
        )

    assert caught.value.args == (ROLLED_BACK,)
    assert "Interrupted" not in stderr.getvalue()
    assert snapshot() == before
    assert sequences() == sequences_before


SETTINGS = """
from project.settings import *  # noqa: F403

INSTALLED_APPS = ["histfixtures", "paced"]
"""

FIELDS = f"""
import os
import time
from pathlib import Path

from django.db import models

# Conversions so far: each object's value is converted when it is read and
# again when it is written.
calls = 0


class PacedCharField(models.CharField):
    def to_python(self, value):
        marker = os.environ.get("PACED_MARKER")
        if marker:
            global calls
            calls += 1
            # The first batch of {BATCH} is read and written by now.
            if calls == {BATCH * 2 + 10}:
                Path(marker).touch()
            if calls > {BATCH * 2 + 10}:
                time.sleep(0.005)
        return super().to_python(value)
"""

MODELS = """
from django.db import models

from paced.fields import PacedCharField


class Row(models.Model):
    name = PacedCharField(max_length=40)
"""

INITIAL = """
from django.db import migrations, models

import paced.fields


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            "Row",
            [
                ("id", models.BigAutoField(primary_key=True)),
                ("name", paced.fields.PacedCharField(max_length=40)),
            ],
        ),
    ]
"""

LOAD = """
from django.db import migrations

from histfixtures import LoadFixture


class Migration(migrations.Migration):
    dependencies = [("paced", "0001_initial")]
    operations = [LoadFixture("rows")]
"""

EXPECTED = [(pk, f"row {pk}") for pk in range(1, ROWS + 1)]


def write_project(root: Path) -> None:
    app = root / "paced"
    (app / "migrations").mkdir(parents=True)
    (app / "fixtures").mkdir()
    (app / "__init__.py").write_text("")
    (app / "fields.py").write_text(FIELDS)
    (app / "models.py").write_text(MODELS)
    (app / "migrations" / "__init__.py").write_text("")
    (app / "migrations" / "0001_initial.py").write_text(INITIAL)
    (app / "migrations" / "0002_load_rows.py").write_text(LOAD)
    objects = [
        {"model": "paced.row", "pk": pk, "fields": {"name": name}}
        for pk, name in EXPECTED
    ]
    (app / "fixtures" / "rows.json").write_text(json.dumps(objects))
    (root / "paced_settings.py").write_text(SETTINGS)


class Database:
    """The subprocess's database, read from outside Django."""

    def __init__(self, tmp_path: Path) -> None:
        self.sqlite_path = tmp_path / "paced.sqlite3"
        self.name = f"hf_paced_{secrets.token_hex(4)}"

    def env(self) -> dict[str, str]:
        if POSTGRES:
            return {"PGDATABASE": self.name}
        return {"HISTFIXTURES_SQLITE_NAME": str(self.sqlite_path)}

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if POSTGRES:
            with _postgres(self.name) as conn:
                return conn.execute(sql, params).fetchall()
        conn = sqlite3.connect(self.sqlite_path)
        try:
            return conn.execute(sql.replace("%s", "?"), params).fetchall()
        finally:
            conn.close()

    def rows(self) -> list[tuple[Any, ...]]:
        return self.query("SELECT id, name FROM paced_row ORDER BY id")

    def applied(self) -> list[str]:
        return [
            name
            for (name,) in self.query(
                "SELECT name FROM django_migrations WHERE app = %s ORDER BY name",
                ("paced",),
            )
        ]

    def others(self, table: str) -> list[tuple[Any, ...]]:
        """The sessions other than ours on the database, with their locks."""
        return self.query(
            "SELECT a.pid, a.state, l.mode, c.relname FROM pg_stat_activity a "
            "LEFT JOIN pg_locks l ON l.pid = a.pid "
            "LEFT JOIN pg_class c ON c.oid = l.relation AND c.relname = %s "
            "WHERE a.datname = %s AND a.pid <> pg_backend_pid()",
            (table, self.name),
        )

    def assert_nothing_left(self) -> None:
        """No row, 0002 unapplied, and no session of the dead process."""
        assert self.rows() == []
        assert self.applied() == ["0001_initial"]
        if POSTGRES:
            # The server notices a killed client when its socket closes.
            wait_for(lambda: not self.others("paced_row"), "sessions to end")
            locks = self.query(
                "SELECT l.pid, l.mode FROM pg_locks l "
                "JOIN pg_database d ON d.oid = l.database "
                "WHERE d.datname = %s AND l.pid <> pg_backend_pid()",
                (self.name,),
            )
            assert locks == []


def _postgres(dbname: str) -> Any:
    import psycopg

    return psycopg.connect(dbname=dbname, autocommit=True)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path)
    if POSTGRES:
        with _postgres("postgres") as conn:
            conn.execute(f'CREATE DATABASE "{database.name}"')
    yield database
    if POSTGRES:
        with _postgres("postgres") as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)')


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"Gave up waiting for {what}.")
        time.sleep(0.05)


class Manage:
    """Runs django-admin commands of the paced project."""

    def __init__(self, root: Path, database: Database) -> None:
        self.root = root
        self.env = {
            **os.environ,
            **database.env(),
            "PYTHONPATH": os.pathsep.join([str(root), str(TESTPROJECT), str(REPO)]),
            "DJANGO_SETTINGS_MODULE": "paced_settings",
        }
        self.env.pop("PACED_MARKER", None)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(args),
            env=self.env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )

    def interrupt(self, sig: signal.Signals, *args: str) -> tuple[int, str]:
        """Start a command, send ``sig`` once its load is under way."""
        marker = self.root / f"marker-{secrets.token_hex(4)}"
        process = subprocess.Popen(
            self.command(args),
            env={**self.env, "PACED_MARKER": str(marker)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # SIGINT as a terminal gives it, even where the test runner was
            # started with SIGINT ignored (which Python would keep).
            preexec_fn=_default_sigint,
        )
        try:
            wait_for(
                lambda: marker.exists() or process.poll() is not None,
                "the load to start",
            )
            assert process.poll() is None, process.communicate()
            self.while_loading()
            process.send_signal(sig)
            _, stderr = process.communicate(timeout=TIMEOUT)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
        return process.returncode, stderr

    def while_loading(self) -> None:
        """Checks made while the load is under way (see the test)."""

    def command(self, args: tuple[str, ...]) -> list[str]:
        return [sys.executable, "-m", "django", *args, "--skip-checks"]


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.subprocesses
def test_interrupted_and_killed_loads_leave_nothing_and_rerun_cleanly(
    tmp_path: Path, database: Database
) -> None:
    write_project(tmp_path)
    manage = Manage(tmp_path, database)
    seen: list[Any] = []

    def while_loading() -> None:
        # The load has written its first batch in a transaction still open.
        if POSTGRES:
            seen.append(
                ("RowExclusiveLock", "paced_row")
                in {(mode, table) for _, _, mode, table in database.others("paced_row")}
            )
        else:
            seen.append(Path(f"{database.sqlite_path}-journal").exists())
        seen.append(database.rows())

    manage.while_loading = while_loading  # type: ignore[method-assign]

    # migrate: 0001 is applied, 0002's load interrupted. Python's own end
    # for a KeyboardInterrupt: a traceback, then death by SIGINT.
    status, stderr = manage.interrupt(signal.SIGINT, "migrate", "paced")
    assert status == -signal.SIGINT, stderr
    assert stderr.rstrip().endswith(
        "KeyboardInterrupt: the fixture load was rolled back; nothing was loaded"
    ), stderr
    assert seen == [True, []]
    database.assert_nothing_left()

    # loadfixture: one line, no traceback, death by SIGINT.
    status, stderr = manage.interrupt(signal.SIGINT, "loadfixture", "rows")
    assert status == -signal.SIGINT, stderr
    assert stderr == (
        "Interrupted: the fixture load was rolled back; nothing was loaded.\n"
    )
    database.assert_nothing_left()

    # kill -9 leaves nothing either.
    status, stderr = manage.interrupt(signal.SIGKILL, "migrate", "paced")
    assert status == -signal.SIGKILL, stderr
    database.assert_nothing_left()

    migrated = manage.run("migrate", "paced")
    assert migrated.returncode == 0, migrated.stderr
    assert database.rows() == EXPECTED
    assert database.applied() == ["0001_initial", "0002_load_rows"]

    loaded = manage.run("loadfixture", "rows")
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout == f"Installed {ROWS} object(s) from 1 fixture(s)\n"
    assert database.rows() == EXPECTED
