"""
The system checks of LoadFixture operations, one test per id.

Each scenario is a migration package of ``tests/scenarios/`` swapped in for
the library app's migrations; its fixtures are in ``tests/fixtures/``.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps
from django.core.checks import CheckMessage, Error
from django.core.management import call_command, get_commands, load_command_class
from django.core.management.base import SystemCheckError
from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.loader import MigrationLoader
from django.test.runner import DiscoverRunner

from histfixtures import (
    FixtureError,
    FixtureNotFoundError,
    LoadFixture,
    UnknownFieldError,
    UnknownModelError,
    loader,
)
from histfixtures.checks import check_load_fixtures
from histfixtures.discovery import find_fixture_files
from histfixtures.operations import _ddl_left_behind

FIXTURES = Path(__file__).parent / "fixtures"


def use_scenario(settings: Any, name: str) -> None:
    """Swap in tests/scenarios/<name> as the library's migrations."""
    settings.MIGRATION_MODULES = {
        "library": f"tests.scenarios.{name}",
        # The shop's migrations depend on the real library history.
        "shop": None,
    }
    settings.FIXTURE_DIRS = [FIXTURES]


def library_findings() -> list[CheckMessage]:
    return check_load_fixtures([apps.get_app_config("library")])


def only_finding(
    findings: list[CheckMessage], id: str, migration: str = "library.0002_load"
) -> CheckMessage:
    assert [finding.id for finding in findings] == [id]
    finding = findings[0]
    assert isinstance(finding, Error)
    assert str(finding.obj) == migration
    assert migration in finding.msg
    assert finding.hint
    return finding


def test_histfixtures_E001(settings: Any) -> None:
    use_scenario(settings, "checks_missing_fixture")

    finding = only_finding(library_findings(), "histfixtures.E001")

    assert "'checks_no_such_fixture'" in finding.msg
    assert str(FIXTURES) in finding.hint  # Where it was looked for.
    assert "correct the label" in finding.hint


def test_histfixtures_E001_suggests_the_fixtures_with_close_names(
    settings: Any,
) -> None:
    use_scenario(settings, "checks_misspelt_fixture")

    finding = only_finding(library_findings(), "histfixtures.E001")

    assert "'checks_vaild'" in finding.msg
    assert "Did you mean 'checks_valid'?" in finding.hint


def test_histfixtures_E001_names_a_misspelt_app_label(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A migration imported before the app registry is ready cannot be told
    # off at import; the load (and the check) then names the label.
    monkeypatch.setattr(apps, "apps_ready", False)
    operation = LoadFixture("library_initial", app_label="libary")
    monkeypatch.undo()

    with pytest.raises(FixtureNotFoundError) as caught:
        find_fixture_files(
            operation.labels, using="default", app_label=operation.options.app_label
        )

    assert caught.value.hint is not None
    assert (
        "app_label='libary' is not the label of an installed app; did you mean "
        "'library'?" in caught.value.hint
    )


def test_histfixtures_E002(settings: Any) -> None:
    use_scenario(settings, "checks_malformed_fixture")

    finding = only_finding(library_findings(), "histfixtures.E002")

    assert str(FIXTURES / "checks_malformed_fixture.json") in finding.msg
    assert "cannot be parsed (object at index 1)" in finding.msg
    assert "loaddata checks_malformed_fixture.json" in finding.hint


def test_histfixtures_E003(settings: Any) -> None:
    use_scenario(settings, "checks_unknown_model")

    finding = only_finding(
        library_findings(), "histfixtures.E003", migration="library.0003_load"
    )

    assert str(FIXTURES / "checks_unknown_model.xml") in finding.msg
    assert "'library.author'" in finding.msg
    assert "2 objects (first at index 0, pk='1')" in finding.msg
    assert (
        "renamed to library.Writer by library.0002_rename_author_writer."
        in finding.hint
    )
    assert "manage.py makefixturemigration library checks_unknown_model.xml" in (
        finding.hint
    )


def test_histfixtures_E003_before_the_createmodel_in_its_migration(
    settings: Any,
) -> None:
    use_scenario(settings, "checks_load_before_create")

    finding = only_finding(library_findings(), "histfixtures.E003")

    assert "'library.tag'" in finding.msg
    assert finding.hint == (
        "library.Tag is created by the CreateModel after this LoadFixture in "
        "library.0002_load: move the LoadFixture after it."
    )


def test_histfixtures_E003_before_the_migration_that_creates_the_model(
    settings: Any,
) -> None:
    use_scenario(settings, "checks_load_before_model_migration")

    finding = only_finding(library_findings(), "histfixtures.E003")

    assert finding.hint == (
        "library.tag is created by library.0003_tag, which comes after "
        "library.0002_load: load the fixture in a migration after it "
        "(manage.py makefixturemigration library checks_tag.json writes one "
        "after the app's latest migration)."
    )


def test_histfixtures_E003_without_a_dependency_on_the_models_app(
    settings: Any,
) -> None:
    use_scenario(settings, "checks_load_without_dependency")

    finding = only_finding(library_findings(), "histfixtures.E003")

    assert "'members.club'" in finding.msg
    assert finding.hint == (
        "members.club is created by members.0001_initial, which "
        "library.0002_load does not depend on: add ('members', '0001_initial') "
        "to its dependencies."
    )


def test_histfixtures_E004(settings: Any) -> None:
    use_scenario(settings, "checks_unknown_field")

    finding = only_finding(library_findings(), "histfixtures.E004")

    assert str(FIXTURES / "checks_unknown_field.yaml") in finding.msg
    assert "'headline' of library.book" in finding.msg
    assert "Its fields here are: author, id, title." in finding.hint


def test_histfixtures_E004_tells_the_fields_history(settings: Any) -> None:
    use_scenario(settings, "checks_renamed_field")

    finding = only_finding(
        library_findings(), "histfixtures.E004", migration="library.0003_load"
    )

    assert "'title' of library.book" in finding.msg
    assert finding.hint.startswith(
        "library.book.title: added by library.0001_initial; renamed to headline "
        "by library.0002_rename_book_title. Its fields here are: author, "
        "headline, id. "
    )


def test_histfixtures_E004_before_the_addfield_in_its_migration(
    settings: Any,
) -> None:
    use_scenario(settings, "checks_load_before_addfield")

    finding = only_finding(library_findings(), "histfixtures.E004")

    assert "'pages' of library.book" in finding.msg
    assert finding.hint == (
        "library.book.pages is added by the AddField after this LoadFixture in "
        "library.0002_load: move the LoadFixture after it."
    )


def test_histfixtures_E005(settings: Any) -> None:
    use_scenario(settings, "checks_natural_key")

    finding = only_finding(library_findings(), "histfixtures.E005")

    assert str(FIXTURES / "checks_natural_key.json") in finding.msg
    assert "library.book.author" in finding.msg
    assert "library.Author has no natural key" in finding.msg
    assert 'natural_keys={"library.Author": ["field", ...]}' in finding.hint


def test_histfixtures_E006(settings: Any) -> None:
    use_scenario(settings, "checks_pinned_fixture_edited")

    finding = only_finding(library_findings(), "histfixtures.E006")

    assert str(FIXTURES / "checks_pinned_fixture_edited.json") in finding.msg
    assert "has changed since the migration was written" in finding.msg
    assert "manage.py makefixturemigration library" in finding.hint


def test_valid_load_sees_earlier_operations_of_its_migration(settings: Any) -> None:
    # The fixture names Book.pages, added by the operation before the load,
    # and a natural key declared with the natural_keys option.
    use_scenario(settings, "checks_valid")
    assert library_findings() == []


def test_the_testproject_has_no_findings() -> None:
    assert check_load_fixtures() == []


def test_findings_appear_in_a_plain_check(settings: Any) -> None:
    use_scenario(settings, "checks_unknown_field")
    with pytest.raises(SystemCheckError, match=r"histfixtures\.E004"):
        call_command("check", stdout=io.StringIO(), stderr=io.StringIO())


def test_tag_selects_the_checks(settings: Any) -> None:
    use_scenario(settings, "checks_missing_fixture")
    with pytest.raises(SystemCheckError, match=r"histfixtures\.E001"):
        call_command("check", tags=["histfixtures"], stderr=io.StringIO())
    stdout = io.StringIO()
    call_command("check", tags=["models"], stdout=stdout)
    assert "no issues" in stdout.getvalue()


def test_checks_open_no_database_connection(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: BaseDatabaseWrapper, *args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"The checks connected to {self.alias!r}.")

    monkeypatch.setattr(BaseDatabaseWrapper, "ensure_connection", refuse)
    # Open from an earlier test, or None: either way, left as it is.
    before = connection.connection

    assert check_load_fixtures() == []  # Every app, every LoadFixture.
    use_scenario(settings, "checks_natural_key")  # Natural keys render models.
    assert [finding.id for finding in library_findings()] == ["histfixtures.E005"]

    assert connection.connection is before


PIN = "0" * 64


@pytest.mark.parametrize(
    ("labels", "sha256", "problem"),
    [
        (("catalog",), "not-a-digest", "64 lowercase hex digits"),
        (("catalog",), PIN.upper().replace("0", "A"), "64 lowercase hex digits"),
        (("authors", "books"), PIN, "maps each label to its digest"),
        (("catalog",), {"books": PIN}, "'books', which is not a label here"),
        (("catalog",), [PIN], "a hex digest or a dict"),
    ],
)
def test_a_bad_pin_fails_when_the_migration_is_imported(
    labels: tuple[str, ...], sha256: Any, problem: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        LoadFixture(*labels, sha256=sha256)


@pytest.mark.parametrize("make", [LoadFixture, loader], ids=["LoadFixture", "loader"])
def test_a_misspelt_app_label_fails_when_the_migration_is_imported(
    make: Any,
) -> None:
    with pytest.raises(ValueError) as caught:
        make("library_initial", app_label="libary")

    message = str(caught.value)
    assert message.startswith(
        "app_label='libary' is not the label of an installed app; did you mean "
        "'library'?"
    )
    assert "removed from INSTALLED_APPS" in message


def test_a_pin_survives_deconstruction_and_is_left_out_when_absent() -> None:
    pinned = LoadFixture("authors", "books", sha256={"books": PIN})
    _, args, kwargs = pinned.deconstruct()
    assert kwargs["sha256"] == {"books": PIN}
    assert LoadFixture(*args, **kwargs).pinned_digests() == {"books": PIN}
    assert "sha256" not in LoadFixture("books").deconstruct()[2]


# --- where the checks run ------------------------------------------------------


def command_checks(name: str) -> None:
    """The system checks as the command ``name`` runs them before its work."""
    command = load_command_class(get_commands()[name], name)
    if name == "runserver":
        command.check(display_num_errors=True)  # As its inner_run() does.
    else:
        command.check()  # As BaseCommand.execute() does.


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["dumpdata", "loaddata", "runserver", "shell"])
def test_commands_that_write_or_serve_do_not_run_the_fixture_checks(
    settings: Any, name: str
) -> None:
    # `manage.py dumpdata library > library/fixtures/x.json`: the shell has
    # emptied x.json, and a finding (E002) would stop dumpdata with it empty.
    use_scenario(settings, "checks_unknown_field")

    command_checks(name)

    out = io.StringIO()
    call_command("dumpdata", "library.writer", stdout=out)
    assert '"model": "library.writer"' in out.getvalue()


@pytest.mark.django_db
def test_migrate_runs_the_fixture_checks_first(settings: Any) -> None:
    use_scenario(settings, "checks_unknown_field")
    with pytest.raises(SystemCheckError, match=r"histfixtures\.E004"):
        call_command(
            "migrate",
            "library",
            skip_checks=False,  # As manage.py migrate (call_command skips them).
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )


def test_the_test_runner_runs_the_fixture_checks(settings: Any) -> None:
    use_scenario(settings, "checks_unknown_field")
    with pytest.raises(SystemCheckError, match=r"histfixtures\.E004"):
        DiscoverRunner(verbosity=0).run_checks(databases={"default"})


def test_check_with_a_database_runs_the_fixture_checks(settings: Any) -> None:
    use_scenario(settings, "checks_unknown_field")
    with pytest.raises(SystemCheckError, match=r"histfixtures\.E004"):
        call_command("check", databases=["default"], stderr=io.StringIO())


# --- the same hints when a misplaced LoadFixture runs ---------------------------


def in_migrate(hint: str) -> str:
    """
    The hint as migrate raises it: where DDL cannot be rolled back (MySQL,
    MariaDB), followed by what the failed migration left behind.
    """
    if connection.features.can_rollback_ddl:
        return hint
    return _ddl_left_behind(hint)


def apply_scenario_migration(settings: Any, name: str) -> FixtureError:
    """Apply library.0002_load of a scenario as migrate does; return its error."""
    use_scenario(settings, name)
    graph_loader = MigrationLoader(None, ignore_no_migrations=True)
    node = ("library", "0002_load")
    state = graph_loader.project_state(node, at_end=False)
    # Migration.apply() uses only these of the schema editor before the
    # LoadFixture fails, having written nothing.
    editor = SimpleNamespace(
        connection=connection, atomic_migration=True, collect_sql=False
    )
    with pytest.raises(FixtureError) as caught:
        graph_loader.graph.nodes[node].apply(state, editor)
    return caught.value


@pytest.mark.django_db
def test_load_before_the_createmodel_fails_in_migrate_with_e003s_hint(
    settings: Any,
) -> None:
    error = apply_scenario_migration(settings, "checks_load_before_create")

    assert isinstance(error, UnknownModelError)
    assert error.hint == in_migrate(
        "library.Tag is created by the CreateModel after this LoadFixture in "
        "library.0002_load: move the LoadFixture after it."
    )


@pytest.mark.django_db
def test_load_without_a_dependency_fails_in_migrate_with_e003s_hint(
    settings: Any,
) -> None:
    error = apply_scenario_migration(settings, "checks_load_without_dependency")

    assert isinstance(error, UnknownModelError)
    assert error.hint == in_migrate(
        "members.club is created by members.0001_initial, which "
        "library.0002_load does not depend on: add ('members', '0001_initial') "
        "to its dependencies."
    )


@pytest.mark.django_db
def test_load_before_the_addfield_fails_in_migrate_with_e004s_hint(
    settings: Any,
) -> None:
    error = apply_scenario_migration(settings, "checks_load_before_addfield")

    assert isinstance(error, UnknownFieldError)
    assert error.hint is not None
    assert error.hint.endswith(
        in_migrate("library.0002_load: move the LoadFixture after it.")
    )
