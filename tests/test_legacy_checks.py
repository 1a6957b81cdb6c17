"""
The checks histfixtures.W001-W004: legacy fixture loading in migration files.

The migrations of tests/scenarios/legacy_loading are written the way real
projects wrote them; the spellings they do not cover are checked on source
snippets with analyse_source().
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.core.checks import CheckMessage, Warning
from django.core.management import call_command
from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper

from histfixtures import legacy
from histfixtures.legacy import LegacyLoading, analyse_source, find_legacy_loading
from histfixtures.legacy_checks import (
    check_legacy_loading,
    check_where_migrations_load,
    is_third_party,
)
from tests.test_checks import use_scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "tests" / "scenarios" / "legacy_loading"


@pytest.fixture
def legacy_scenario(settings: Any) -> None:
    """The sample migrations as the library's, in the project (BASE_DIR)."""
    use_scenario(settings, "legacy_loading")
    settings.BASE_DIR = ROOT


def findings() -> list[CheckMessage]:
    return check_legacy_loading([apps.get_app_config("library")])


def summary(messages: list[CheckMessage]) -> list[tuple[str | None, str, str]]:
    return [(message.id, str(message.obj), message.msg) for message in messages]


def only(messages: list[CheckMessage], migration: str) -> list[CheckMessage]:
    return [message for message in messages if str(message.obj) == migration]


@pytest.mark.usefixtures("legacy_scenario")
def test_each_sample_migration_is_found_with_its_id_function_and_line() -> None:
    messages = findings()

    assert all(isinstance(message, Warning) for message in messages)
    assert [
        (message.id, str(message.obj), message.msg.split(" (line ")[1][:3])
        for message in messages
    ] == [
        ("histfixtures.W001", "library.0002_loaddata", "11)"),
        ("histfixtures.W001", "library.0003_loaddata_path", "14)"),
        ("histfixtures.W002", "library.0004_deserialize", "20)"),
        ("histfixtures.W002", "library.0004_deserialize", "27)"),
        ("histfixtures.W003", "library.0005_get_model_recipe", "10)"),
        ("histfixtures.W004", "library.0006_apps_recipe", "10)"),
    ]


@pytest.mark.usefixtures("legacy_scenario")
def test_histfixtures_W001() -> None:
    (message,) = only(findings(), "library.0002_loaddata")

    assert message.msg == (
        "The RunPython function load_fixtures() of library.0002_loaddata runs "
        "loaddata with the live models (line 11): on a fresh database it fails "
        "once the models change after this migration (a model or field renamed "
        "or removed, a required field added)."
    )
    assert message.hint == (
        "Run `manage.py adoptfixtures library` to rewrite it (into LoadFixture, "
        "or with the loading wrapped in `with historical_models(apps):`)."
    )


@pytest.mark.usefixtures("legacy_scenario")
def test_histfixtures_W001_in_a_helper_of_the_runpython_function() -> None:
    (message,) = only(findings(), "library.0003_loaddata_path")

    assert message.msg.startswith(
        "_load(), called by the RunPython function load_initial_data() of "
        "library.0003_loaddata_path, runs loaddata with the live models (line 14)"
    )


@pytest.mark.usefixtures("legacy_scenario")
def test_histfixtures_W002() -> None:
    first, second = only(findings(), "library.0004_deserialize")

    assert first.msg.startswith(
        "The RunPython function load_people() of library.0004_deserialize "
        "deserializes with serializers.deserialize() and the live models (line 20)"
    )
    assert "load_books() of library.0004_deserialize" in second.msg
    assert "fails once the models change after this migration" in second.msg


@pytest.mark.usefixtures("legacy_scenario")
def test_histfixtures_W003() -> None:
    (message,) = only(findings(), "library.0005_get_model_recipe")

    assert message.msg == (
        "The function load_fixture() of library.0005_get_model_recipe patches "
        "django.core.serializers.python._get_model (line 10), which Django 5.2 "
        "removed: the migration crashes with AttributeError on Django 5.2 and "
        "later."
    )
    assert "manage.py adoptfixtures library" in str(message.hint)


@pytest.mark.usefixtures("legacy_scenario")
def test_histfixtures_W004_and_no_W001_for_the_loading_it_patches() -> None:
    (message,) = only(findings(), "library.0006_apps_recipe")

    assert message.id == "histfixtures.W004"
    assert message.msg.startswith(
        "The function load_catalog() of library.0006_apps_recipe replaces the "
        "apps registry of Django's serializers (line 10): the patch is "
        "process-global"
    )


@pytest.mark.usefixtures("legacy_scenario")
def test_loading_written_with_histfixtures_gives_no_warning() -> None:
    assert only(findings(), "library.0007_adopted") == []


def test_the_testproject_has_no_legacy_loading() -> None:
    assert check_legacy_loading() == []


@pytest.mark.usefixtures("legacy_scenario")
def test_migrations_outside_the_project_point_to_the_setting(settings: Any) -> None:
    settings.BASE_DIR = ROOT / "testproject"

    messages = findings()

    assert len(messages) == 6
    for message in messages:
        assert message.hint == (
            f"{SCENARIO / (str(message.obj).split('.')[1] + '.py')} is installed "
            "outside this project, so it cannot be edited here: set HISTFIXTURES = "
            '{"LOADDATA": "historical"} to run its loading with the migration\'s '
            "historical models."
        )


@pytest.mark.usefixtures("legacy_scenario")
def test_the_setting_silences_third_party_findings_only(settings: Any) -> None:
    settings.HISTFIXTURES = {"LOADDATA": "historical"}
    assert len(findings()) == 6  # The project's own: still to be fixed.

    settings.BASE_DIR = ROOT / "testproject"
    assert findings() == []


@pytest.mark.parametrize(
    ("path", "base_dir", "third_party"),
    [
        ("/srv/app/venv/lib/python3.12/site-packages/x/migrations/0001.py", "/", True),
        ("/usr/lib/python3/dist-packages/x/migrations/0001_initial.py", "/", True),
        ("/srv/other/x/migrations/0001_initial.py", "/srv/app", True),
        ("/srv/app/x/migrations/0001_initial.py", "/srv/app", False),
        ("/srv/app/x/migrations/0001_initial.py", None, False),
    ],
)
def test_third_party_rule(
    settings: Any, path: str, base_dir: str | None, third_party: bool
) -> None:
    if base_dir is None:
        del settings.BASE_DIR
    else:
        settings.BASE_DIR = base_dir
    assert is_third_party(Path(path)) is third_party


@pytest.mark.usefixtures("legacy_scenario")
def test_warnings_show_in_check_and_are_silenced_the_django_way(
    settings: Any,
) -> None:
    stderr = io.StringIO()
    call_command("check", tags=["histfixtures"], stdout=io.StringIO(), stderr=stderr)
    assert "library.0002_loaddata: (histfixtures.W001)" in stderr.getvalue()
    assert "HINT: Run `manage.py adoptfixtures library`" in stderr.getvalue()

    settings.SILENCED_SYSTEM_CHECKS = [f"histfixtures.W00{n}" for n in (1, 2, 3, 4)]
    stdout = io.StringIO()
    call_command("check", tags=["histfixtures"], stdout=stdout, stderr=stderr)
    assert "no issues (6 silenced)" in stdout.getvalue()


@pytest.mark.usefixtures("legacy_scenario")
def test_commands_that_do_not_migrate_or_check_skip_them() -> None:
    assert check_where_migrations_load() == []


@pytest.mark.usefixtures("legacy_scenario")
def test_they_open_no_database_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: BaseDatabaseWrapper, *args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"The checks connected to {self.alias!r}.")

    monkeypatch.setattr(BaseDatabaseWrapper, "ensure_connection", refuse)
    before = connection.connection

    assert len(findings()) == 6

    assert connection.connection is before


def test_each_file_is_parsed_once_until_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed = []
    real = legacy.analyse_source

    def counting(source: str | bytes) -> tuple[LegacyLoading, ...]:
        parsed.append(source)
        return real(source)

    monkeypatch.setattr(legacy, "analyse_source", counting)
    migration = tmp_path / "0002_load.py"
    migration.write_text(SAMPLE)

    first = find_legacy_loading(str(migration))
    assert find_legacy_loading(str(migration)) == first
    assert len(parsed) == 1
    assert [found.kind for found in first] == ["loaddata"]

    migration.write_text(SAMPLE.replace('"loaddata", "x"', '"migrate"'))
    assert find_legacy_loading(str(migration)) == ()
    assert len(parsed) == 2


def test_unreadable_or_broken_files_are_skipped(tmp_path: Path) -> None:
    assert find_legacy_loading(str(tmp_path / "missing.py")) == ()
    broken = tmp_path / "0002_broken.py"
    broken.write_text(SAMPLE + "\ndef (:\n")
    assert find_legacy_loading(str(broken)) == ()
    assert analyse_source(b"\x00") == ()


SAMPLE = """
from django.core.management import call_command
from django.db import migrations

def load(apps, schema_editor):
    call_command("loaddata", "x")

class Migration(migrations.Migration):
    operations = [migrations.RunPython(load)]
"""


def found(source: str) -> list[tuple[str, int, str | None, str | None]]:
    return [
        (item.kind, item.line, item.function, item.helper)
        for item in analyse_source(source)
    ]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param(
            "import django.core.management\n"
            "from django.db.migrations import RunPython\n"
            "def load(apps, schema_editor):\n"
            "    django.core.management.call_command('loaddata', 'x')\n"
            "operations = [RunPython(load)]\n",
            [("loaddata", 4, "load", None)],
            id="dotted-call_command",
        ),
        pytest.param(
            "from django.db import migrations\n"
            "def load(apps, schema_editor):\n"
            "    from django.core.management import call_command as cc\n"
            "    cc('loaddata', 'x')\n"
            "operations = [migrations.RunPython(migrations.RunPython.noop, load)]\n",
            [("loaddata", 4, "load", None)],
            id="import-in-function-reverse",
        ),
        pytest.param(
            "from django.core.management import call_command\n"
            "from django.db import migrations\n"
            "operations = [migrations.RunPython(\n"
            "    lambda apps, schema_editor: call_command('loaddata', 'x'))]\n",
            [("loaddata", 4, "<lambda>", None)],
            id="lambda",
        ),
        pytest.param(
            "from functools import partial\n"
            "from django.core import serializers\n"
            "from django.db import migrations\n"
            "def load(name, apps, schema_editor):\n"
            "    for obj in serializers.deserialize('json', open(name)):\n"
            "        obj.save()\n"
            "operations = [migrations.RunPython(partial(load, 'x.json'))]\n",
            [("deserialize", 5, "load", None)],
            id="partial",
        ),
        pytest.param(
            "from django.core.management import call_command\n"
            "from django.db import migrations\n"
            "def loader(label):\n"
            "    def load(apps, schema_editor):\n"
            "        call_command('loaddata', label)\n"
            "    return load\n"
            "operations = [migrations.RunPython(loader('x'))]\n",
            [("loaddata", 5, "loader", None)],
            id="factory",
        ),
        pytest.param(
            "from django.core.management import call_command\n"
            "from django.db import migrations\n"
            "class Migration(migrations.Migration):\n"
            "    def load(apps, schema_editor):\n"
            "        call_command('loaddata', 'x')\n"
            "    operations = [migrations.RunPython(load)]\n",
            [("loaddata", 5, "load", None)],
            id="class-body-function",
        ),
        pytest.param(
            "from django.core import serializers\n"
            "def _get_model(identifier): ...\n"
            "serializers.python._get_model = _get_model\n",
            [("get_model_patch", 3, None, None)],
            id="module-level-get_model",
        ),
        pytest.param(
            "import django.core.serializers.python\n"
            "def load(apps, schema_editor):\n"
            "    django.core.serializers.python.apps = apps\n"
            "    setattr(django.core.serializers.python, '_get_model', None)\n",
            [("apps_patch", 3, "load", None), ("get_model_patch", 4, "load", None)],
            id="dotted-patches-setattr",
        ),
        pytest.param(
            "from django.core.management import call_command\n"
            "from django.db import migrations\n"
            "from histfixtures import historical_models\n"
            "def helper():\n"
            "    call_command('loaddata', 'x')\n"
            "def load(apps, schema_editor):\n"
            "    with historical_models(apps):\n"
            "        call_command('loaddata', 'x')\n"
            "        helper()\n"
            "operations = [migrations.RunPython(load)]\n",
            [],
            id="historical_models-covers-helpers-too",
        ),
        pytest.param(
            "from django.core.management import call_command\n"
            "from django.db import migrations\n"
            "def not_run(apps, schema_editor):\n"
            "    call_command('loaddata', 'x')\n"
            "def run(apps, schema_editor):\n"
            "    call_command('migrate', 'x')\n"
            "operations = [migrations.RunPython(run)]\n",
            [],
            id="not-runpython-or-not-loaddata",
        ),
        pytest.param(
            "from django.core.management import call_command\n"
            "from django.db import migrations\n"
            "def deep():\n"
            "    call_command('loaddata', 'x')\n"
            "def helper():\n"
            "    deep()\n"
            "def load(apps, schema_editor):\n"
            "    helper()\n"
            "operations = [migrations.RunPython(load)]\n",
            [],
            id="one-level-of-helpers-only",
        ),
    ],
)
def test_spellings(source: str, expected: list[Any]) -> None:
    assert found(source) == expected
