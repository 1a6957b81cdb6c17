"""
The loadfixture command: loaddata's drop-in superset.

Without --state it must be indistinguishable from loaddata (output, rows,
signals, errors, warnings); --state loads with the models of a migration
state; --batch-size, the progress line on terminals, and the setting that
makes ``loaddata`` itself run loadfixture.
"""

from __future__ import annotations

import io
import json
import os
import pty
import select
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, TextIO

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command, get_commands, load_command_class
from django.core.management.base import CommandError
from django.core.management.commands import loaddata
from django.core.serializers.base import DeserializationError
from django.db import connection, transaction
from django.db.models import signals

import library
from histfixtures import FixtureNotFoundError, UnknownFieldError, UnknownModelError
from histfixtures.management.commands import loadfixture
from tests.utils import apps_at, migrate, snapshot

# A fixture for today's models: 2 writers, 2 tags, 3 books with tags.
LATEST_OBJECTS: list[dict[str, Any]] = [
    {"model": "library.writer", "pk": 200, "fields": {"name": "Octavia Butler"}},
    {"model": "library.writer", "pk": 201, "fields": {"name": "Italo Calvino"}},
    {"model": "library.tag", "pk": 200, "fields": {"name": "lf-novel"}},
    {"model": "library.tag", "pk": 201, "fields": {"name": "lf-stories"}},
    {
        "model": "library.book",
        "pk": 200,
        "fields": {"headline": "Kindred", "author": 200, "pages": 264, "tags": [200]},
    },
    {
        "model": "library.book",
        "pk": 201,
        "fields": {
            "headline": "Invisible Cities",
            "author": 201,
            "pages": 165,
            "tags": [200, 201],
        },
    },
    {
        "model": "library.book",
        "pk": 202,
        "fields": {"headline": "Cosmicomics", "author": 201, "pages": 153},
    },
]

AT_0001 = "library.0001_initial"
# Auto-created many-to-many tables: (id, from_id, to_id).
M2M_TABLES = {"library_book_tags", "shop_order_listings"}


def write_fixture(path: Path, objects: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps(objects))
    return path


@pytest.fixture
def latest_fixture(tmp_path: Path) -> Path:
    return write_fixture(tmp_path / "lf_catalog.json", LATEST_OBJECTS)


def run(command: str, *args: str, **options: Any) -> tuple[str, str]:
    """call_command with captured output; returns (stdout, stderr)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    options.setdefault("stdout", stdout)
    options.setdefault("stderr", stderr)
    call_command(command, *args, **options)
    return stdout.getvalue(), stderr.getvalue()


def at_library_0001() -> None:
    """A database held at library 0001_initial (shop unapplied)."""
    migrate(("shop", "zero"), ("library", "0001_initial"))


def historical_rows() -> dict[str, list[Any]]:
    """The library tables at 0001_initial, through that state's models."""
    apps = apps_at(("library", "0001_initial"))
    return {
        name: sorted(
            apps.get_model("library", name).objects.values_list(*fields),
        )
        for name, fields in (
            ("Author", ("pk", "name")),
            ("Publisher", ("pk", "name")),
            ("Book", ("pk", "title", "author_id", "publisher_id")),
        )
    }


# --- --state ------------------------------------------------------------------


def test_state_loads_with_the_models_of_a_database_held_at_that_state(
    migrations_restored: None,
) -> None:
    at_library_0001()

    stdout, stderr = run("loadfixture", "library_initial", state=AT_0001)

    assert stdout == "Installed 10 object(s) from 1 fixture(s)\n"
    assert stderr == ""
    rows = historical_rows()
    assert [name for _, name in rows["Author"]] == [
        "Ursula K. Le Guin",
        "Terry Pratchett",
        "Chinua Achebe",
    ]
    assert len(rows["Publisher"]) == 2
    assert rows["Book"][0] == (1, "A Wizard of Earthsea", 1, 1)
    assert rows["Book"][4] == (5, "Things Fall Apart", 3, None)


def test_state_accepts_a_unique_prefix_as_migrate_does(
    migrations_restored: None,
) -> None:
    at_library_0001()

    stdout, _ = run("loadfixture", "library_initial", state="library.0001")

    assert stdout == "Installed 10 object(s) from 1 fixture(s)\n"
    assert len(historical_rows()["Book"]) == 5


def test_state_summary_counts_excluded_objects_as_loaddata_does(
    migrations_restored: None, tmp_path: Path
) -> None:
    at_library_0001()
    fixture = write_fixture(
        tmp_path / "lf_at_0001.json",
        [
            {"model": "library.author", "pk": 10, "fields": {"name": "Tove Jansson"}},
            {"model": "library.publisher", "pk": 10, "fields": {"name": "Schildts"}},
        ],
    )

    stdout, _ = run(
        "loadfixture", str(fixture), state=AT_0001, exclude=["library.Publisher"]
    )

    assert stdout == "Installed 1 object(s) (of 2) from 1 fixture(s)\n"
    assert historical_rows()["Author"] == [(10, "Tove Jansson")]
    assert historical_rows()["Publisher"] == []


def test_state_refuses_an_exclude_naming_no_model_of_that_state(
    migrations_restored: None,
) -> None:
    at_library_0001()

    with pytest.raises(CommandError, match=r"Unknown model at library\.0001_initial"):
        run("loadfixture", "library_initial", state=AT_0001, exclude=["library.Tag"])


def test_state_fixture_error_names_the_state(migrations_restored: None) -> None:
    at_library_0001()
    before = snapshot()

    # library_tags.yaml holds Tags, a model created by library 0006.
    with pytest.raises(UnknownModelError) as caught:
        run("loadfixture", "library_tags", state=AT_0001)

    assert caught.value.state == AT_0001
    assert caught.value.model == "library.tag"
    assert caught.value.fixture is not None
    assert caught.value.fixture.endswith("library_tags.yaml")
    assert snapshot() == before


def test_state_fixture_error_on_the_command_line_is_a_message_not_a_traceback(
    migrations_restored: None, capsys: pytest.CaptureFixture[str]
) -> None:
    at_library_0001()
    command = loadfixture.Command()

    with pytest.raises(SystemExit) as exited:
        command.run_from_argv(
            [
                *("manage.py", "loadfixture", "library_tags"),
                *("--state", AT_0001, "--skip-checks"),
            ]
        )

    assert exited.value.code == 1
    stderr = capsys.readouterr().err
    assert stderr.startswith("CommandError: Model 'library.tag' does not exist")
    assert "migration state: library.0001_initial" in stderr
    assert "Traceback" not in stderr


def test_state_warns_when_the_database_is_not_at_that_state(
    migrations_restored: None,
) -> None:
    at_library_0001()

    # 0002 only loads data: its models are those of 0001, so the load works.
    stdout, stderr = run(
        "loadfixture", "library_initial", state="library.0002_load_initial_catalog"
    )

    assert stdout == "Installed 10 object(s) from 1 fixture(s)\n"
    assert stderr.startswith(
        "Warning: the database 'default' is not at library.0002_load_initial_catalog"
    )


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (
            "libary.0001_initial",
            r"^--state libary\.0001_initial: There is no installed app 'libary'\. "
            r"Did you mean 'library'\?$",
        ),
        (
            "sohp.0001_initial",
            r"There is no installed app 'sohp'\. Did you mean 'shop'\?$",
        ),
        (
            "library.0002_laod_initial_catalog",
            r"There is no migration state library\.0002_laod_initial_catalog\. "
            r"Did you mean library\.0002_load_initial_catalog\?$",
        ),
        (
            "library.initail",
            r"no migration state library\.initail\. Did you mean "
            r"library\.0001_initial\?$",
        ),
        (
            "library.0099",
            r"no migration state library\.0099\. The migrations of library: "
            r"library\.0001_initial, library\.0002_load_initial_catalog, .*, "
            r"library\.0011_writer_slug\.$",
        ),
        (
            "library.00",
            r"The migration state library\.00 is ambiguous\. It could be "
            r"library\.0001_initial, .*library\.0011_writer_slug; give more of "
            r"the name\.$",
        ),
        (
            "library",
            r"^--state library: 'library' is not a migration state\. Write "
            r"app_label\.migration_name",
        ),
        (
            "library.zero",
            r"library\.zero \(none of library's migrations\) is not a state",
        ),
    ],
)
def test_unknown_state_is_a_command_error_with_suggestions(
    db: None, state: str, message: str
) -> None:
    before = snapshot()

    with pytest.raises(CommandError, match=message):
        run("loadfixture", "library_initial", state=state)

    assert snapshot() == before


def test_state_names_the_fixtures_close_to_a_misspelt_label(db: None) -> None:
    with pytest.raises(FixtureNotFoundError) as caught:
        run("loadfixture", "library_intial", state="library.0002")

    assert caught.value.message == "No fixture named 'library_intial' found."
    assert "Did you mean 'library_initial'" in str(caught.value.hint)


@pytest.mark.parametrize("format", ["json", "xml"])
def test_unknown_field_hint_tells_the_fields_history(
    db: None, tmp_path: Path, format: str
) -> None:
    fixture = tmp_path / f"old_title.{format}"
    if format == "json":
        fixture.write_text(
            json.dumps(
                [{"model": "library.book", "pk": 900, "fields": {"title": "Old"}}]
            )
        )
    else:
        fixture.write_text(
            '<?xml version="1.0" encoding="utf-8"?><django-objects version="1.0">'
            '<object model="library.book" pk="900">'
            '<field name="title" type="CharField">Old</field></object>'
            "</django-objects>"
        )

    with pytest.raises(UnknownFieldError) as caught:
        run("loadfixture", str(fixture), state="library.0011")

    assert str(caught.value.hint).startswith(
        "library.book.title: added by library.0001_initial; renamed to headline "
        "by library.0004_rename_book_title. "
    )


# --- --batch-size -------------------------------------------------------------


@pytest.mark.parametrize("value", [0, -3, True, "5", 2.5])
def test_batch_size_must_be_a_positive_integer(db: None, value: object) -> None:
    with pytest.raises(CommandError, match="--batch-size must be a positive integer"):
        run("loadfixture", "library_initial", batch_size=value)


@pytest.mark.parametrize("value", ["0", "-1", "many"])
def test_batch_size_argument_is_parsed_as_a_positive_integer(
    db: None, value: str
) -> None:
    with pytest.raises(
        CommandError, match=r"argument --batch-size: must be a positive integer"
    ):
        run("loadfixture", "library_initial", f"--batch-size={value}")


def recorded(statements: list[str]) -> Callable[..., Any]:
    """A database execute wrapper that notes each statement's SQL."""

    def wrapper(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        statements.append(sql)
        return execute(sql, *args)

    return wrapper


def test_batch_size_changes_queries_not_results_at_a_state(
    migrations_restored: None,
) -> None:
    at_library_0001()
    outcomes = []
    for batch_size in (1, None):
        statements: list[str] = []
        with connection.execute_wrapper(recorded(statements)):
            stdout, _ = run(
                "loadfixture", "library_initial", state=AT_0001, batch_size=batch_size
            )
        outcomes.append((stdout, historical_rows(), len(statements)))
        apps = apps_at(("library", "0001_initial"))
        for name in ("Book", "Author", "Publisher"):
            apps.get_model("library", name).objects.all().delete()

    (one_out, one_rows, one_queries), (default_out, default_rows, default_queries) = (
        outcomes
    )
    assert one_out == default_out == "Installed 10 object(s) from 1 fixture(s)\n"
    assert one_rows == default_rows
    # Ten batches of one object instead of one batch per model.
    assert one_queries > default_queries


def test_batch_size_is_accepted_with_live_models(
    db: None, latest_fixture: Path
) -> None:
    stdout, _ = run("loadfixture", str(latest_fixture), batch_size=2)

    assert stdout == "Installed 7 object(s) from 1 fixture(s)\n"


# --- without --state: exactly loaddata ------------------------------------------


@contextmanager
def recorded_signals() -> Iterator[list[tuple[Any, ...]]]:
    events: list[tuple[Any, ...]] = []

    def on_save(sender: Any, instance: Any, raw: bool, **kwargs: Any) -> None:
        events.append((kwargs["signal"] is signals.pre_save, sender, instance.pk, raw))

    def on_m2m(sender: Any, instance: Any, action: str, **kwargs: Any) -> None:
        events.append(("m2m", sender, instance.pk, action, kwargs.get("pk_set")))

    signals.pre_save.connect(on_save, weak=False)
    signals.post_save.connect(on_save, weak=False)
    signals.m2m_changed.connect(on_m2m, weak=False)
    try:
        yield events
    finally:
        signals.pre_save.disconnect(on_save)
        signals.post_save.disconnect(on_save)
        signals.m2m_changed.disconnect(on_m2m)


def comparable_rows() -> dict[str, list[tuple[Any, ...]]]:
    """snapshot(), without the ids of many-to-many link rows.

    Link rows get ids from a sequence, which a rolled-back transaction does
    not rewind on PostgreSQL: the same load twice gives other ids.
    """
    return {
        table: sorted(row[1:] for row in rows) if table in M2M_TABLES else rows
        for table, rows in snapshot().items()
    }


def outcome(command: str, *labels: str, **options: Any) -> dict[str, Any]:
    """Everything observable of one run, signals included, rolled back."""
    with recorded_signals() as events:
        result = quiet_outcome(command, *labels, **options)
    result["signals"] = events
    return result


def quiet_outcome(command: str, *labels: str, **options: Any) -> dict[str, Any]:
    """Output, error and rows of one run with no receivers, rolled back."""
    result: dict[str, Any] = {}
    with transaction.atomic():
        try:
            result["stdout"], result["stderr"] = run(command, *labels, **options)
        except Exception as exc:
            result["error"] = (type(exc), str(exc))
        result["rows"] = comparable_rows()
        transaction.set_rollback(True)
    return result


# loaddata's options that change what a load does or says.
LOADDATA_OPTIONS: list[dict[str, Any]] = [
    {},
    {"verbosity": 0},
    {"exclude": ["library.book"]},
    {"exclude": ["library"]},
    {"ignore": True},
]


@pytest.mark.parametrize(
    "options",
    [*LOADDATA_OPTIONS, {"verbosity": 2}, {"verbosity": 3}],
    ids=repr,
)
def test_without_state_output_rows_and_signals_equal_loaddata(
    db: None, latest_fixture: Path, options: dict[str, Any]
) -> None:
    expected = outcome("loaddata", str(latest_fixture), **options)

    actual = outcome("loadfixture", str(latest_fixture), **options)

    assert actual == expected
    assert "error" not in actual


def test_without_state_signals_are_sent_raw(db: None, latest_fixture: Path) -> None:
    result = outcome("loadfixture", str(latest_fixture))

    saves = [event for event in result["signals"] if event[0] != "m2m"]
    assert len(saves) == 2 * len(LATEST_OBJECTS)
    assert all(raw is True for *_, raw in saves)
    assert result["stdout"] == "Installed 7 object(s) from 1 fixture(s)\n"


@pytest.mark.parametrize(
    "labels",
    [("no_such_fixture",), ("lf_catalog.unknownformat",), ("-",)],
    ids=repr,
)
def test_without_state_errors_equal_loaddata(db: None, labels: tuple[str, ...]) -> None:
    expected = outcome("loaddata", *labels)

    actual = outcome("loadfixture", *labels)

    assert "error" in expected
    assert actual == expected


def test_without_state_empty_fixture_warns_as_loaddata_does(
    db: None, tmp_path: Path
) -> None:
    empty = write_fixture(tmp_path / "lf_empty.json", [])
    outputs = []
    for command in ("loaddata", "loadfixture"):
        with pytest.warns(RuntimeWarning, match="No fixture data found for 'lf_empty'"):
            outputs.append(run(command, str(empty)))

    assert outputs[0] == outputs[1] == ("Installed 0 object(s) from 1 fixture(s)\n", "")


def test_without_state_stdin_with_format_equals_loaddata(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = []
    for command in ("loaddata", "loadfixture"):
        monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(LATEST_OBJECTS)))
        results.append(outcome(command, "-", format="json"))

    assert results[0] == results[1]
    assert results[1]["stdout"] == "Installed 7 object(s) from 1 fixture(s)\n"


# --- without --state, in bulk -----------------------------------------------------


@pytest.fixture
def per_object_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make loadfixture's per-object path (loaddata's code) fail if it runs."""

    def refuse(self: Any, obj: Any) -> bool:
        raise AssertionError("loaddata's per-object save ran")

    monkeypatch.setattr(loadfixture.Command, "save_obj", refuse)


# Live fixtures that refer by natural key, forwards too (lf-cid's mentor).
NATURAL_KEY_OBJECTS: list[dict[str, Any]] = [
    {
        "model": "auth.group",
        "fields": {
            "name": "lf-readers",
            "permissions": [["add_book", "library", "book"]],
        },
    },
    {"model": "members.club", "fields": {"title": "lf-club"}},
    {
        "model": "members.member",
        "fields": {
            "handle": "lf-cid",
            "club": ["lf-club"],
            "mentor": ["lf-dan"],
            "groups": [["lf-readers"]],
            "joined": "2020-01-02",
        },
    },
    {
        "model": "members.member",
        "fields": {"handle": "lf-dan", "club": ["lf-club"], "joined": "2020-01-03"},
    },
]


def natural_key_rows() -> dict[str, list[tuple[Any, ...]]]:
    """The natural-key fixture's rows, by key rather than by database id."""
    from django.contrib.auth.models import Group

    from members.models import Member

    return {
        "groups": sorted(
            Group.objects.filter(name__startswith="lf-").values_list(
                "name", "permissions__codename"
            )
        ),
        "members": sorted(
            Member.objects.filter(handle__startswith="lf-").values_list(
                "handle", "club__title", "mentor__handle", "groups__name", "joined"
            )
        ),
    }


@pytest.mark.parametrize("options", LOADDATA_OPTIONS, ids=repr)
def test_without_receivers_loads_in_bulk_with_loaddatas_rows_and_output(
    db: None, latest_fixture: Path, per_object_refused: None, options: dict[str, Any]
) -> None:
    expected = quiet_outcome("loaddata", str(latest_fixture), **options)

    actual = quiet_outcome("loadfixture", str(latest_fixture), **options)

    assert "error" not in actual
    assert actual == expected


def test_bulk_load_takes_batch_size(
    db: None, latest_fixture: Path, per_object_refused: None
) -> None:
    expected = quiet_outcome("loaddata", str(latest_fixture))

    actual = quiet_outcome("loadfixture", str(latest_fixture), batch_size=1)

    assert actual == expected


def test_bulk_load_resolves_natural_keys_with_the_live_managers(
    db: None, tmp_path: Path, per_object_refused: None
) -> None:
    fixture = write_fixture(tmp_path / "lf_members.json", NATURAL_KEY_OBJECTS)
    results = []
    for command in ("loaddata", "loadfixture"):
        with transaction.atomic():
            # Twice: the second load finds every object by its natural key.
            outputs = [run(command, str(fixture)) for _ in range(2)]
            results.append((outputs, natural_key_rows()))
            transaction.set_rollback(True)

    assert results[1] == results[0]
    assert results[1][1]["members"] == [
        ("lf-cid", "lf-club", "lf-dan", "lf-readers", date(2020, 1, 2)),
        ("lf-dan", "lf-club", None, None, date(2020, 1, 3)),
    ]


def test_bulk_load_creates_no_missing_content_type_where_loaddata_fails(
    db: None, tmp_path: Path
) -> None:
    # An explicit pk: a generated one would be in the error, and on
    # PostgreSQL the first (rolled back) run advances the sequence.
    group = {
        "model": "auth.group",
        "pk": 900,
        "fields": {
            "name": "lf-g",
            "permissions": [["add_nothing", "library", "nothing"]],
        },
    }
    fixture = write_fixture(tmp_path / "lf_group.json", [group])

    expected = quiet_outcome("loaddata", str(fixture))
    actual = quiet_outcome("loadfixture", str(fixture))

    assert "error" in expected
    assert actual == expected


@pytest.mark.parametrize(
    "change",
    [
        {"author": 999},  # A foreign key to nothing.
        {"pages": "many"},  # A value the field rejects.
        {"author": None},  # NULL in a required column.
        {"no_such_field": 1},  # Unknown field.
    ],
    ids=repr,
)
def test_bulk_load_errors_are_loaddatas_own(
    db: None, tmp_path: Path, change: dict[str, Any]
) -> None:
    objects = json.loads(json.dumps(LATEST_OBJECTS))
    objects[-1]["fields"].update(change)
    fixture = write_fixture(tmp_path / "lf_bad.json", objects)

    expected = quiet_outcome("loaddata", str(fixture))
    actual = quiet_outcome("loadfixture", str(fixture))

    assert "error" in expected
    assert actual == expected


def test_bulk_load_of_an_unknown_model_fails_as_loaddata_does(
    db: None, tmp_path: Path
) -> None:
    unknown = {"model": "library.nosuchmodel", "pk": 1, "fields": {}}
    fixture = write_fixture(tmp_path / "lf_unknown.json", [*LATEST_OBJECTS, unknown])

    expected = quiet_outcome("loaddata", str(fixture))
    actual = quiet_outcome("loadfixture", str(fixture))

    assert "error" in expected
    assert actual == expected


@pytest.mark.parametrize("signal", ["pre_save", "post_save"])
def test_a_save_receiver_of_one_model_makes_the_load_per_object(
    db: None, latest_fixture: Path, signal: str
) -> None:
    from library.models import Book

    received: list[tuple[int, bool]] = []

    def on_book(sender: Any, instance: Any, raw: bool, **kwargs: Any) -> None:
        received.append((instance.pk, raw))

    expected = quiet_outcome("loaddata", str(latest_fixture))
    getattr(signals, signal).connect(on_book, sender=Book, weak=False)
    try:
        actual = quiet_outcome("loadfixture", str(latest_fixture))
    finally:
        getattr(signals, signal).disconnect(on_book, sender=Book)

    assert actual == expected
    # Writers and tags came first and were written in bulk, then rolled back:
    # every book reached the receiver once, as with loaddata.
    assert received == [(200, True), (201, True), (202, True)]


def test_an_m2m_changed_receiver_makes_the_load_per_object(
    db: None, latest_fixture: Path
) -> None:
    from library.models import Book

    received: list[tuple[int, str]] = []

    def on_tags(sender: Any, instance: Any, action: str, **kwargs: Any) -> None:
        received.append((instance.pk, action))

    signals.m2m_changed.connect(on_tags, sender=Book.tags.through, weak=False)
    try:
        actual = quiet_outcome("loadfixture", str(latest_fixture))
    finally:
        signals.m2m_changed.disconnect(on_tags, sender=Book.tags.through)

    assert actual["stdout"] == "Installed 7 object(s) from 1 fixture(s)\n"
    assert (201, "post_add") in received


def test_help_lists_every_loaddata_option_and_the_new_ones() -> None:
    def options_of(command: Any) -> set[str]:
        parser = command.create_parser("manage.py", "x")
        return {opt for action in parser._actions for opt in action.option_strings}

    ours = options_of(loadfixture.Command())
    theirs = options_of(loaddata.Command())

    assert ours - theirs == {"--state", "--batch-size"}
    assert theirs <= ours


# --- the progress line --------------------------------------------------------


class FakeClock:
    """A monotonic clock that advances ``step`` seconds on every reading."""

    def __init__(self, step: float) -> None:
        self.now = 1000.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


@contextmanager
def terminal() -> Iterator[tuple[TextIO, Callable[[], str]]]:
    """A pseudo-terminal: a stream to write to, and a reader of what arrived."""
    master, slave = pty.openpty()
    stream = os.fdopen(slave, "w")
    received: list[bytes] = []

    def read() -> str:
        stream.flush()
        while select.select([master], [], [], 0.5)[0]:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the other end is closed and drained.
                break
            if not data:
                break
            received.append(data)
        # The terminal turns "\n" into "\r\n".
        return b"".join(received).decode().replace("\r\n", "\n")

    try:
        yield stream, read
    finally:
        stream.close()
        os.close(master)


def test_progress_line_is_drawn_on_a_terminal_for_a_long_load(
    db: None, latest_fixture: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("histfixtures.progress.monotonic", FakeClock(step=1.0))
    monkeypatch.chdir(latest_fixture.parent)
    stdout = io.StringIO()

    with terminal() as (stream, read):
        call_command("loadfixture", str(latest_fixture), stdout=stdout, stderr=stream)
        shown = read()

    # The path from the working directory.
    assert shown.startswith("\rLoading fixture 'lf_catalog.json': 1 object(s)")
    assert shown.endswith("\rLoading fixture 'lf_catalog.json': 7 object(s)\n")
    assert stdout.getvalue() == "Installed 7 object(s) from 1 fixture(s)\n"


def test_progress_line_is_drawn_for_a_load_at_a_state(
    migrations_restored: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    at_library_0001()
    monkeypatch.setattr("histfixtures.progress.monotonic", FakeClock(step=1.0))
    monkeypatch.chdir(Path(library.__file__).parent.parent.parent)
    stdout = io.StringIO()

    with terminal() as (stream, read):
        call_command(
            "loadfixture",
            "library_initial",
            state=AT_0001,
            stdout=stdout,
            stderr=stream,
        )
        shown = read()

    # testproject/library/fixtures/library_initial.json, shortened to fit.
    path = ".../library/fixtures/library_initial.json"
    assert shown.startswith(f"\rLoading fixture '{path}': 1 object(s)")
    assert shown.endswith(f"\rLoading fixture '{path}': 10 object(s)\n")
    assert stdout.getvalue() == "Installed 10 object(s) from 1 fixture(s)\n"


def test_progress_line_of_a_long_path_outside_the_working_directory_fits_80_columns(
    db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("histfixtures.progress.monotonic", FakeClock(step=1.0))
    deep = tmp_path / ("a_rather_long_directory_name_" * 2) / "fixtures"
    deep.mkdir(parents=True)
    fixture = write_fixture(deep / "lf_catalog.json", LATEST_OBJECTS)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    with terminal() as (stream, read):
        call_command("loadfixture", str(fixture), stdout=io.StringIO(), stderr=stream)
        shown = read()

    lines = shown.strip("\n").split("\r")[1:]
    assert lines[-1] == "Loading fixture '.../fixtures/lf_catalog.json': 7 object(s)"
    assert max(len(line) for line in lines) <= 79


def test_progress_line_is_redrawn_at_most_every_interval(
    db: None, latest_fixture: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each reading advances 0.125 s: an update is due every second object.
    monkeypatch.setattr("histfixtures.progress.monotonic", FakeClock(step=0.125))

    with terminal() as (stream, read):
        call_command(
            "loadfixture", str(latest_fixture), stdout=io.StringIO(), stderr=stream
        )
        shown = read()

    counts = [line.rsplit(": ", 1)[1] for line in shown.strip().split("\r")]
    assert counts == ["2 object(s)", "4 object(s)", "6 object(s)", "7 object(s)"]


def test_progress_line_is_not_drawn_at_verbosity_0(
    db: None, latest_fixture: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("histfixtures.progress.monotonic", FakeClock(step=1.0))

    with terminal() as (stream, read):
        call_command("loadfixture", str(latest_fixture), verbosity=0, stderr=stream)
        shown = read()

    assert shown == ""


def test_progress_line_is_not_drawn_for_a_short_load(
    db: None, latest_fixture: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("histfixtures.progress.monotonic", FakeClock(step=0.0))

    with terminal() as (stream, read):
        call_command(
            "loadfixture", str(latest_fixture), stdout=io.StringIO(), stderr=stream
        )
        shown = read()

    assert shown == ""


def test_progress_line_never_reaches_captured_output(
    db: None, latest_fixture: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("histfixtures.progress.monotonic", FakeClock(step=1.0))

    stdout, stderr = run("loadfixture", str(latest_fixture), verbosity=3)

    assert stderr == ""
    assert "Loading fixture" not in stdout
    assert stdout.endswith("Installed 7 object(s) from 1 fixture(s)\n")


# --- HISTFIXTURES["LOADDATA"] ------------------------------------------------------


def test_loaddata_is_djangos_own_command_by_default(db: None) -> None:
    assert get_commands()["loaddata"] == "histfixtures"

    command = load_command_class("histfixtures", "loaddata")

    assert type(command) is loaddata.Command
    assert command.create_parser("manage.py", "loaddata").format_help() == (
        loaddata.Command().create_parser("manage.py", "loaddata").format_help()
    )
    with pytest.raises(TypeError, match=r"Unknown option.*state"):
        call_command("loaddata", "library_initial", state=AT_0001)


def test_loaddata_setting_django_keeps_djangos_command(db: None, settings: Any) -> None:
    settings.HISTFIXTURES = {"LOADDATA": "django"}

    command = load_command_class("histfixtures", "loaddata")

    assert type(command) is loaddata.Command


def test_loaddata_setting_histfixtures_makes_loaddata_run_loadfixture(
    migrations_restored: None, settings: Any
) -> None:
    settings.HISTFIXTURES = {"LOADDATA": "histfixtures"}

    assert type(load_command_class("histfixtures", "loaddata")) is (loadfixture.Command)
    at_library_0001()

    stdout, _ = run("loaddata", "library_initial", state=AT_0001)

    assert stdout == "Installed 10 object(s) from 1 fixture(s)\n"
    assert len(historical_rows()["Book"]) == 5


def test_loaddata_setting_rejects_unknown_values(db: None, settings: Any) -> None:
    settings.HISTFIXTURES = {"LOADDATA": "loadfixture"}

    with pytest.raises(ImproperlyConfigured, match=r'HISTFIXTURES\["LOADDATA"\]'):
        call_command("loaddata", "library_initial")


# --- messages, not tracebacks ---------------------------------------------------


def test_state_the_database_has_left_is_a_message_with_the_way_out(
    migrations_restored: None, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot()

    with pytest.raises(SystemExit) as exited:
        loadfixture.Command().run_from_argv(
            [
                *("manage.py", "loadfixture", "library_initial"),
                *("--state", "library.0002", "--skip-checks"),
            ]
        )

    assert exited.value.code == 1
    stderr = capsys.readouterr().err
    error = stderr[stderr.index("CommandError") :]
    assert error.startswith(
        "CommandError: The database 'default' is not at "
        "library.0002_load_initial_catalog, and its tables do not fit"
    )
    assert "manage.py migrate library 0002_load_initial_catalog" in error
    assert "(--state library.0011_writer_slug)" in error
    assert error.count("\n") == 1
    assert "Traceback" not in stderr
    assert snapshot() == before


def test_stale_fixture_without_state_names_the_state_to_load_it_at(
    migrations_restored: None, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        loadfixture.Command().run_from_argv(
            ["manage.py", "loadfixture", "library_initial", "--skip-checks"]
        )

    assert exited.value.code == 1
    stderr = capsys.readouterr().err
    assert stderr.startswith(
        "CommandError: Problem installing fixture '"
    )  # loaddata's own message first
    assert "Invalid model identifier: library.author" in stderr
    assert stderr.rstrip().endswith(
        "Hint: the fixture is loaded by the migration "
        "library.0002_load_initial_catalog; if it was written for the models of "
        "that state, load it with --state library.0002_load_initial_catalog."
    )
    assert "Traceback" not in stderr


def test_stale_fixture_through_call_command_raises_loaddatas_exception(
    db: None,
) -> None:
    expected = outcome("loaddata", "library_initial")

    actual = outcome("loadfixture", "library_initial")

    assert expected["error"][0] is DeserializationError
    assert actual == expected
