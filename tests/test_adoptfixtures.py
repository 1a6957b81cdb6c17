"""
``manage.py adoptfixtures``: legacy fixture loading in migrations, rewritten.

In the test process, on migration sources and on a migrations package in a
temporary directory (the command reads files, no database): what becomes
``LoadFixture``, what gets ``historical_models(apps)``, what is left as is
and why; comments and every untouched byte kept; a second run changes
nothing; ``--check`` and ``--diff`` write nothing; without libcst a clear
error.

Then the whole story on a project written the way real projects write
their data migrations (tests/scenarios/adopt, see its README), in
subprocesses, on a fresh database each time: the legacy migrations load
before the models drift; after the drift each original fails (the
``_get_model`` recipe with AttributeError on Django 5.2+); the rewritten
ones migrate a fresh database to exactly the rows the originals loaded
before the drift.
"""

from __future__ import annotations

import io
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from histfixtures.adopting import adopt_source

REPO = Path(__file__).resolve().parent.parent
TESTPROJECT = REPO / "testproject"
SCENARIO = Path(__file__).resolve().parent / "scenarios" / "adopt"
POSTGRES = os.environ.get("HISTFIXTURES_DB") == "postgres"
# Generous: only a hang may take this long.
TIMEOUT = 300

GENRES = SCENARIO / "before/genres/migrations/0002_load_genres.py"
BOOKS = SCENARIO / "before/books/migrations/0002_load_books.py"
REVIEWS = SCENARIO / "before/reviews/migrations/0002_import_reviews.py"


def migration(functions: str, operations: str) -> str:
    """A migration module as makemigrations --empty and a user would write it."""
    return (
        "from django.core.management import call_command\n"
        "from django.db import migrations\n"
        "\n\n" + textwrap.dedent(functions).strip("\n") + "\n\n\n"
        "class Migration(migrations.Migration):\n"
        "    operations = [\n"
        + textwrap.indent(textwrap.dedent(operations).strip("\n"), " " * 8)
        + "\n    ]\n"
    )


def load_fixture_migration(operations: str) -> str:
    return (
        "from django.db import migrations\n"
        "from histfixtures import LoadFixture\n"
        "\n\n"
        "class Migration(migrations.Migration):\n"
        "    operations = [\n"
        + textwrap.indent(textwrap.dedent(operations).strip("\n"), " " * 8)
        + "\n    ]\n"
    )


# --- What becomes LoadFixture ----------------------------------------------


def test_function_that_only_loads_becomes_load_fixture_with_loaddata_options() -> None:
    source = migration(
        """
        def load(apps, schema_editor):
            call_command(
                "loaddata",
                "books", "tags.json",
                app="library",
                exclude=["library.tag"],
                ignorenonexistent=True,
                format="json",
                database=schema_editor.connection.alias,
                verbosity=0,
            )
        """,
        "migrations.RunPython(load, migrations.RunPython.noop),",
    )

    adoption = adopt_source(source)

    assert adoption.source == load_fixture_migration(
        'LoadFixture("books", "tags.json", app_label="library", '
        'exclude=["library.tag"], ignorenonexistent=True, format="json", '
        "reverse=False),"
    )
    assert adoption.changes == (
        'load() -> LoadFixture("books", "tags.json", app_label="library", '
        'exclude=["library.tag"], ignorenonexistent=True, format="json"); '
        "reverse: still a no-op (reverse=False)",
    )


NOOP = "still a no-op (reverse=False)"


@pytest.mark.parametrize(
    ("reverse", "written", "said"),
    [
        ("", "", "now deletes the loaded rows (was: irreversible)"),
        (", None", "", "now deletes the loaded rows (was: irreversible)"),
        (", reverse_code=RunPython.noop", ", reverse=False", NOOP),
        (", nothing", ", reverse=False", NOOP),
    ],
    ids=["none", "None", "noop", "noop-function"],
)
def test_reverse_is_kept_or_the_change_is_said(
    reverse: str, written: str, said: str
) -> None:
    source = migration(
        """
        def load(apps, schema_editor):
            call_command("loaddata", "catalog")


        def nothing(apps, schema_editor):
            pass
        """,
        f"migrations.RunPython(load{reverse}, elidable=True),",
    )

    adoption = adopt_source(source)

    operation = f'LoadFixture("catalog", elidable=True{written}),'
    expected = load_fixture_migration(operation)
    if "nothing" not in reverse:
        # A function nothing else used stays: adoptfixtures removes only
        # what it replaced.
        expected = expected.replace(
            "\n\nclass", "\n\ndef nothing(apps, schema_editor):\n    pass\n\n\nclass"
        )
    assert adoption.source == expected
    assert adoption.changes[0].endswith(f"; reverse: {said}")


def test_several_loaddata_calls_become_several_operations_in_place() -> None:
    source = migration(
        """
        def load(apps, schema_editor):
            call_command("loaddata", "writers")
            call_command("loaddata", "books", app_label="library")
        """,
        """
        migrations.RunPython(load),  # the initial data
        migrations.RunSQL("SELECT 1"),
        """,
    )

    adoption = adopt_source(source)

    assert adoption.source == load_fixture_migration(
        """
        LoadFixture("writers"),
        LoadFixture("books", app_label="library"),  # the initial data
        migrations.RunSQL("SELECT 1"),
        """
    )


@pytest.mark.parametrize(
    "call",
    [
        'call_command("loaddata", "books", database="other")',
        'call_command("loaddata", apps.get_model("library", "Book")._meta.app_label)',
        'call_command("loaddata", "books", stdout=None)',
        'call_command("loaddata", "books", **OPTIONS)',
        'call_command("loaddata", "books")  # the initial data',
        '"""The initial data."""; call_command("loaddata", "books")',
    ],
    ids=[
        "other-database",
        "reads-apps",
        "other-option",
        "kwargs",
        "comment",
        "docstring",
    ],
)
def test_loaddata_that_load_fixture_cannot_say_the_same_is_wrapped_instead(
    call: str,
) -> None:
    source = migration(
        f"""
        def load(apps, schema_editor):
            {call}
        """,
        "migrations.RunPython(load),",
    )

    adoption = adopt_source(source)

    assert "LoadFixture" not in adoption.source
    assert f"    with historical_models(apps):\n        {call}\n" in adoption.source
    assert adoption.changes == ("load(): loading wrapped in historical_models(apps)",)


@pytest.mark.parametrize(
    "operations",
    [
        "migrations.RunPython(load, unload),",
        "migrations.RunPython(load, atomic=False),",
        "migrations.RunPython(load), migrations.RunPython(load),",
        "*(migrations.RunPython(load),),",
    ],
    ids=["own-reverse", "atomic", "used-twice", "not-in-the-list"],
)
def test_run_python_that_load_fixture_cannot_replace_keeps_its_function_wrapped(
    operations: str,
) -> None:
    source = migration(
        """
        def load(apps, schema_editor):
            call_command("loaddata", "books")


        def unload(apps, schema_editor):
            apps.get_model("library", "Book").objects.all().delete()
        """,
        operations,
    )

    adoption = adopt_source(source)

    assert "LoadFixture" not in adoption.source
    assert (
        "def load(apps, schema_editor):\n"
        "    with historical_models(apps):\n"
        '        call_command("loaddata", "books")\n'
    ) in adoption.source


# --- What gets historical_models(apps) ----------------------------------------


def test_recipes_are_removed_with_their_comments_and_the_loading_wrapped() -> None:
    # The comments on the recipe go with it; those on the loading stay.
    source = BOOKS.read_text()

    adoption = adopt_source(source)

    assert adoption.changes == (
        "load_fixture(): removed the patch of serializers.python._get_model",
        "load_fixture(): loading wrapped in historical_models(apps)",
        "load_more_books(): removed the patch of serializers.python.apps",
        "load_more_books(): loading wrapped in historical_models(apps)",
    )
    head, tail = (
        source.split("\n\n\ndef load_fixture")[0],
        source.split("\n\n\nclass")[1],
    )
    assert adoption.source == (
        head.replace("from django.core.serializers import base, python\n", "")
        + "\nfrom histfixtures import historical_models"
        + """


def load_fixture(apps, schema_editor):
    # Call loaddata command
    with historical_models(apps):
        call_command('loaddata', 'authors.json', app_label='books')
        call_command('loaddata', 'books.json', app_label='books')


def load_more_books(apps, schema_editor):
    with historical_models(apps):
        call_command("loaddata", "more_books", database=schema_editor.connection.alias)


class"""
        + tail
    )


def test_deserialize_amid_other_code_is_wrapped_to_the_end_of_the_function() -> None:
    # deserialize() is lazy: the objects may be read statements later.
    source = REVIEWS.read_text()

    adoption = adopt_source(source)

    rest = (
        "    with open(path) as fixture:\n"
        "        objects = serializers.deserialize("
        "'json', fixture, ignorenonexistent=True)\n"
        "        for obj in objects:\n"
        "            obj.save()  # keeps the pks of the old site\n"
        "    # The old site allowed six stars.\n"
        "    Review.objects.filter(stars__gt=5).update(stars=5)\n"
    )
    assert adoption.source == source.replace(
        rest, "    with historical_models(apps):\n" + textwrap.indent(rest, "    ")
    ).replace(
        "from django.db import migrations\n",
        "from django.db import migrations\n"
        "from histfixtures import historical_models\n",
    )


def test_objects_deserialized_early_and_read_later_are_read_inside_the_block() -> None:
    source = migration(
        """
        def load(apps, schema_editor):
            objects = serializers.deserialize("json", DATA)
            print("loading")
            for obj in objects:
                obj.save()
        """,
        "migrations.RunPython(load),",
    )

    adoption = adopt_source(source)

    assert (
        "def load(apps, schema_editor):\n"
        "    with historical_models(apps):\n"
        '        objects = serializers.deserialize("json", DATA)\n'
        '        print("loading")\n'
        "        for obj in objects:\n"
        "            obj.save()\n"
    ) in adoption.source


def test_rewritten_code_follows_the_files_indentation_and_newlines() -> None:
    source = (
        "from django.db import migrations\r\n"
        "from django.core.management import call_command\r\n"
        "\r\n\r\n"
        "def forwards(apps, schema_editor):\r\n"
        '\tcall_command("loaddata", "x")  # tabs\r\n'
        "\tprint('done') ;  call_command('loaddata', \"y\")\r\n"
        "\r\n\r\n"
        "class Migration(migrations.Migration):\r\n"
        "\toperations = [migrations.RunPython(forwards, forwards)]\r\n"
    )

    adoption = adopt_source(source)

    assert adoption.source == (
        "from django.db import migrations\r\n"
        "from django.core.management import call_command\r\n"
        "from histfixtures import historical_models\r\n"
        "\r\n\r\n"
        "def forwards(apps, schema_editor):\r\n"
        "\twith historical_models(apps):\r\n"
        '\t\tcall_command("loaddata", "x")  # tabs\r\n'
        "\t\tprint('done') ;  call_command('loaddata', \"y\")\r\n"
        "\r\n\r\n"
        "class Migration(migrations.Migration):\r\n"
        "\toperations = [migrations.RunPython(forwards, forwards)]\r\n"
    )


def test_function_under_another_apps_name_is_wrapped_with_that_name() -> None:
    source = migration(
        """
        def load(registry, editor):
            from django.core import serializers
            for obj in serializers.deserialize("json", DATA):
                obj.save()
        """,
        "migrations.RunPython(load, load),",
    )

    adoption = adopt_source(source)

    assert (
        "    with historical_models(registry):\n        for obj in" in adoption.source
    )


# --- Left as is ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("functions", "operations", "reason"),
    [
        (
            """
            def load(apps, schema_editor):
                command = "loaddata"
                call_command(command, "books")
            """,
            "migrations.RunPython(load),",
            "call_command() is given a command name computed at runtime, "
            "which may be loaddata",
        ),
        (
            """
            def load_books(name):
                call_command("loaddata", name)


            def load(apps, schema_editor):
                load_books("books")
            """,
            "migrations.RunPython(load),",
            "load_books() loads fixtures but is not the code of a RunPython, "
            "so it has no migration apps to load with",
        ),
        (
            "",
            'migrations.RunPython(lambda apps, editor: call_command("loaddata", "x")),',
            "fixtures are loaded outside a module-level function "
            "(in a lambda, a class or at module level)",
        ),
        (
            """
            def load(apps, schema_editor):
                def load_one(name):
                    call_command("loaddata", name)
                load_one("books")
            """,
            "migrations.RunPython(load),",
            "load() loads fixtures in a nested function or lambda",
        ),
        (
            """
            def load(apps, schema_editor):
                list(map(lambda name: call_command("loaddata", name), NAMES))
            """,
            "migrations.RunPython(load),",
            "load() loads fixtures in a nested function or lambda",
        ),
        (
            """
            from django.core.serializers import python
            python.apps = GLOBAL_APPS
            """,
            "",
            "django.core.serializers.python is patched outside a module-level function",
        ),
        (
            """
            def load(*args):
                call_command("loaddata", "books", database=args[1].connection.alias)
            """,
            "migrations.RunPython(load),",
            "load() takes no apps parameter to load with",
        ),
        (
            """
            def load(apps, schema_editor): call_command("loaddata", "books")
            """,
            "migrations.RunPython(load),",
            "load() is written on one line",
        ),
        (
            """
            def load(apps, schema_editor):
                call_command("loaddata", "books"
            """,
            "",
            "it does not parse (",
        ),
    ],
    ids=[
        "command-name-variable",
        "helper-without-apps",
        "lambda",
        "nested-function",
        "lambda-in-function",
        "module-level-patch",
        "no-apps-parameter",
        "one-line",
        "syntax-error",
    ],
)
def test_what_is_not_understood_is_left_byte_identical_with_the_reason(
    functions: str, operations: str, reason: str
) -> None:
    source = migration(functions, operations)

    adoption = adopt_source(source)

    assert adoption.source == source
    assert adoption.changes == ()
    assert adoption.left_as_is is not None
    assert adoption.left_as_is.startswith(reason)


@pytest.mark.parametrize(
    "source",
    [
        migration("", "migrations.RunSQL('SELECT 1'),"),
        migration(
            """
            def load(apps, schema_editor):
                with historical_models(apps):
                    call_command("loaddata", "books")
            """,
            "migrations.RunPython(load),",
        ),
        load_fixture_migration('LoadFixture("books"),'),
    ],
    ids=["no-loading", "already-wrapped", "already-load-fixture"],
)
def test_nothing_to_do_leaves_the_source_alone(source: str) -> None:
    assert adopt_source(source) == type(adopt_source(source))(source)


@pytest.mark.parametrize("path", [GENRES, BOOKS, REVIEWS], ids=lambda p: p.stem)
def test_second_run_changes_nothing(path: Path) -> None:
    once = adopt_source(path.read_text())

    twice = adopt_source(once.source)

    assert once.changes
    assert twice.source == once.source
    assert twice.changes == ()
    assert twice.left_as_is is None


# --- The command, on a migrations package in a temporary directory ------------


@pytest.fixture
def migrations_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """library's migrations, replaced by a package holding the legacy ones."""
    name = f"adopt_migrations_{secrets.token_hex(4)}"
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    shutil.copy(GENRES, package / "0002_load_genres.py")
    shutil.copy(BOOKS, package / "0003_load_books.py")
    monkeypatch.syspath_prepend(str(tmp_path))
    with override_settings(MIGRATION_MODULES={"library": name}):
        yield package


def adoptfixtures(*args: str, **options: Any) -> tuple[str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("adoptfixtures", *args, stdout=stdout, stderr=stderr, **options)
    return stdout.getvalue(), stderr.getvalue()


def contents(package: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(package.glob("*.py"))}


def test_check_fails_when_something_would_change_and_writes_nothing(
    migrations_package: Path,
) -> None:
    before = contents(migrations_package)

    with pytest.raises(CommandError) as raised:
        adoptfixtures("library", "--check")

    assert str(raised.value) == (
        "2 migration(s) would be rewritten; run manage.py adoptfixtures to "
        "rewrite them."
    )
    assert contents(migrations_package) == before


def test_diff_prints_the_changes_and_writes_nothing(migrations_package: Path) -> None:
    before = contents(migrations_package)

    stdout, stderr = adoptfixtures("library", "--diff")

    assert contents(migrations_package) == before
    assert stderr == ""
    shown = os.path.relpath(migrations_package / "0002_load_genres.py")
    assert stdout.startswith(
        f"Would rewrite {shown}: load_genres() -> LoadFixture('genres', "
        "app_label='genres'); reverse: still a no-op (reverse=False); "
        "load_more_genres() -> LoadFixture(os.path.join(FIXTURES, "
        "'more_genres.json')); reverse: now deletes the loaded rows "
        "(was: irreversible)\n"
        f"--- a/{shown}\n"
        f"+++ b/{shown}\n"
    )
    assert (
        "-        migrations.RunPython(load_genres, migrations.RunPython.noop),\n"
        "+        LoadFixture('genres', app_label='genres', reverse=False),\n"
        "         # Added by hand after the 2021 import.\n"
        "-        migrations.RunPython(load_more_genres),\n"
        "+        LoadFixture(os.path.join(FIXTURES, 'more_genres.json')),\n"
    ) in stdout
    assert "-    python._get_model = _get_model\n" in stdout
    assert "+    with historical_models(apps):\n" in stdout


def test_rewrites_in_place_then_check_passes_and_a_second_run_changes_nothing(
    migrations_package: Path,
) -> None:
    expected = {
        name: adopt_source(source.decode()).source.encode()
        for name, source in contents(migrations_package).items()
    }

    stdout, _ = adoptfixtures("library")

    assert contents(migrations_package) == {"__init__.py": b"", **expected}
    assert stdout.count("Rewrote ") == 2
    assert adoptfixtures("library", "--check") == ("No migrations to rewrite.\n", "")
    assert adoptfixtures("library") == ("No migrations to rewrite.\n", "")
    assert contents(migrations_package) == {"__init__.py": b"", **expected}


def test_file_not_understood_is_left_as_is_and_said_on_stderr(
    migrations_package: Path,
) -> None:
    source = migration(
        """
        def load(apps, schema_editor):
            call_command(COMMAND, "books")
        """,
        "migrations.RunPython(load),",
    )
    path = migrations_package / "0004_dynamic.py"
    path.write_text(source)

    stdout, stderr = adoptfixtures("library")

    assert path.read_text() == source
    assert stdout.count("Rewrote ") == 2
    assert stderr == (
        f"{os.path.relpath(path)}: left as is: call_command() is given a command "
        "name computed at runtime, which may be loaddata\n"
    )


def test_third_party_apps_are_skipped_and_said_at_verbosity_2() -> None:
    stdout, stderr = adoptfixtures(verbosity=2)

    assert "Skipping contenttypes: its migrations are installed in " in stdout
    assert stdout.endswith("No migrations to rewrite.\n")
    assert stderr == ""


def test_unknown_app_label_is_refused() -> None:
    with pytest.raises(CommandError, match="No installed app with label 'nosuchapp'"):
        adoptfixtures("nosuchapp")


def test_without_libcst_the_command_says_to_install_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in list(sys.modules):
        if name == "libcst" or name.startswith(("libcst.", "histfixtures.adopting")):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "libcst", None)  # blocks the import

    with pytest.raises(CommandError) as raised:
        adoptfixtures("--check")

    assert str(raised.value) == (
        'adoptfixtures needs libcst: pip install "histfixtures[adopt]"'
    )


# --- The story on a project, in subprocesses ----------------------------------

# The rows each table holds once the legacy migrations ran before the drift
# (reviews capped at five stars by the code around the loading), read with the
# columns' names before the drift and after it.
ROWS = {
    "genres_genre": [(1, "Poetry"), (2, "Drama"), (7, "Essays")],
    "books_author": [(1, "Ursula K. Le Guin"), (2, "Italo Calvino")],
    "books_book": [
        (10, "The Dispossessed", 1),
        (11, "Invisible Cities", 2),
        (12, "The Baron in the Trees", 2),
    ],
    "reviews_review": [
        (1, "The Dispossessed", 5),
        (2, "Invisible Cities", 5),
        (3, "The Baron in the Trees", 4),
    ],
}
COLUMNS_BEFORE = {
    "genres_genre": "id, name",
    "books_author": "id, name",
    "books_book": "id, title, author_id",
    "reviews_review": "id, book_title, stars",
}
COLUMNS_AFTER = {**COLUMNS_BEFORE, "books_book": "id, headline, author_id"}

# How each original fails on a fresh database after the drift: the live
# models' later fields, which the tables lack at 0002; the _get_model recipe
# on Django 5.2+, which has no serializers.python._get_model to save.
FAILURES = {
    "genres": ("Could not load genres.Genre(pk=1)", "slug"),
    "books": (
        "AttributeError: module 'django.core.serializers.python' has no "
        "attribute '_get_model'",
    ),
    "reviews": ("verified",),
}


class Project:
    """tests/scenarios/adopt in a temporary directory, run with django-admin."""

    def __init__(self, root: Path, databases: Databases) -> None:
        self.root = root
        self.databases = databases
        shutil.copytree(SCENARIO / "before", root, dirs_exist_ok=True)
        shutil.copy(SCENARIO / "settings.py", root / "settings.py")

    def drift(self) -> None:
        """The models change; a migration 0003 per app follows."""
        shutil.copytree(SCENARIO / "drift", self.root, dirs_exist_ok=True)

    def run(
        self, *args: str, database: str = "unused", **env: str
    ) -> subprocess.CompletedProcess[str]:
        environ = {
            key: value
            for key, value in os.environ.items()
            if key != "ADOPT_EMULATE_GET_MODEL"
        }
        environ.update(
            self.databases.env(database),
            PYTHONPATH=os.pathsep.join([str(self.root), str(TESTPROJECT), str(REPO)]),
            DJANGO_SETTINGS_MODULE="settings",
            **env,
        )
        return subprocess.run(
            [sys.executable, "-m", "django", *args],
            cwd=self.root,
            env=environ,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )

    def sources(self) -> dict[str, bytes]:
        return {
            str(path.relative_to(self.root)): path.read_bytes()
            for path in sorted(self.root.glob("*/migrations/*.py"))
        }


class Databases:
    """Fresh databases on demand: SQLite files, or PostgreSQL databases."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.created: list[str] = []

    def create(self) -> str:
        name = f"hf_adopt_{secrets.token_hex(4)}"
        if POSTGRES:
            with _postgres("postgres") as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return name

    def env(self, name: str) -> dict[str, str]:
        if POSTGRES:
            return {"PGDATABASE": name}
        return {"HISTFIXTURES_SQLITE_NAME": str(self.root / f"{name}.sqlite3")}

    def rows(self, name: str, columns: dict[str, str]) -> dict[str, list[Any]]:
        return {
            table: self.query(name, f"SELECT {names} FROM {table} ORDER BY id")
            for table, names in columns.items()
        }

    def query(self, name: str, sql: str) -> list[tuple[Any, ...]]:
        if POSTGRES:
            with _postgres(name) as conn:
                return conn.execute(sql).fetchall()
        conn = sqlite3.connect(self.root / f"{name}.sqlite3")
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()

    def drop(self) -> None:
        if POSTGRES:
            with _postgres("postgres") as conn:
                for name in self.created:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _postgres(dbname: str) -> Any:
    import psycopg

    return psycopg.connect(dbname=dbname, autocommit=True)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    databases = Databases(tmp_path / "databases")
    databases.root.mkdir()
    yield Project(tmp_path / "project", databases)
    databases.drop()


def failed(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit status {result.returncode}\n{result.stdout}\n{result.stderr}"


@pytest.mark.subprocesses
@pytest.mark.parametrize(("app", "failure"), FAILURES.items(), ids=list(FAILURES))
def test_control_original_fails_on_a_fresh_database_after_the_drift(
    project: Project, app: str, failure: tuple[str, ...]
) -> None:
    project.drift()

    result = project.run("migrate", app, database=project.databases.create())

    assert result.returncode != 0, failed(result)
    assert f"Applying {app}.0002_" in result.stdout
    assert f"Applying {app}.0003_" not in result.stdout
    for text in failure:
        assert text in result.stderr


@pytest.mark.subprocesses
def test_rewritten_migrations_load_after_the_drift_what_the_originals_loaded_before(
    project: Project,
) -> None:
    # Before the drift, the originals load (the _get_model recipe as on
    # Django < 5.2, see books/apps.py).
    baseline = project.databases.create()
    result = project.run("migrate", database=baseline, ADOPT_EMULATE_GET_MODEL="1")
    assert result.returncode == 0, failed(result)
    assert project.databases.rows(baseline, COLUMNS_BEFORE) == ROWS
    project.drift()
    originals = project.sources()

    check = project.run("adoptfixtures", "--check")
    diff = project.run("adoptfixtures", "--diff")

    assert check.returncode == 1, failed(check)
    assert check.stderr.endswith(
        "CommandError: 3 migration(s) would be rewritten; run manage.py "
        "adoptfixtures to rewrite them.\n"
    )
    assert diff.returncode == 0, failed(diff)
    assert "+        LoadFixture('genres', app_label='genres', reverse=False),\n" in (
        diff.stdout
    )
    assert project.sources() == originals

    rewrite = project.run("adoptfixtures")

    assert rewrite.returncode == 0, failed(rewrite)
    assert rewrite.stdout.splitlines() == [
        line.replace("Would rewrite", "Rewrote")
        for line in diff.stdout.splitlines()
        if line.startswith("Would rewrite ")
    ]
    assert project.run("adoptfixtures", "--check").returncode == 0

    fresh = project.databases.create()
    result = project.run("migrate", database=fresh)

    assert result.returncode == 0, failed(result)
    assert project.databases.rows(fresh, COLUMNS_AFTER) == ROWS
