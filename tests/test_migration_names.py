"""
Migration names: one reading for every place that takes one.

``loadfixture --state``, ``upgradefixture --from`` and ``--to`` and
``migrate_to()`` (which ``MigrationTestCase`` uses) accept the same names,
with migrate's prefix rules, and refuse the same bad names with the same
message and suggestion.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from histfixtures import MigrationState
from histfixtures.stamps import read_stamp
from histfixtures.testing import UnknownStateError
from tests.utils import snapshot

LIBRARY_INITIAL = (
    Path(__file__).parent.parent / "testproject/library/fixtures/library_initial.json"
)

#: A bad name and what every place answers (message, then the suggestion).
BAD_NAMES = [
    (
        "libary.0001",
        "There is no installed app 'libary'. Did you mean 'library'?",
    ),
    (
        "library.0002_laod",
        "There is no migration state library.0002_laod. "
        "Did you mean library.0002_load_initial_catalog?",
    ),
    (
        "library.0005_renam_author_writer",
        "There is no migration state library.0005_renam_author_writer. "
        "Did you mean library.0005_rename_author_writer?",
    ),
    (
        "library.0099",
        "There is no migration state library.0099. The migrations of library: "
        "library.0001_initial, library.0002_load_initial_catalog, "
        "library.0003_book_pages, library.0004_rename_book_title, "
        "library.0005_rename_author_writer, library.0006_tag, "
        "library.0007_load_tags, library.0008_book_publisher_name, "
        "library.0009_copy_publisher_names, library.0010_delete_publisher, "
        "library.0011_writer_slug.",
    ),
    (
        "library.001",
        "The migration state library.001 is ambiguous. It could be "
        "library.0010_delete_publisher, library.0011_writer_slug; give more of "
        "the name.",
    ),
    (
        "histfixtures.0001",
        "The app 'histfixtures' has no migrations. Apps with migrations: ",
    ),
    (
        "library",
        "'library' is not a migration state. Write app_label.migration_name, "
        "such as 'shop.0003_book_price' (a unique prefix of the name is "
        "enough: 'shop.0003').",
    ),
]


def upgradefixture(django_db_blocker: Any, tmp_path: Path, *args: str) -> Path:
    output = tmp_path / "upgraded.json"
    with django_db_blocker.unblock():
        call_command(
            "upgradefixture",
            str(LIBRARY_INITIAL),
            *args,
            output=str(output),
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    return output


Refuse = Callable[[str], str]


@pytest.fixture(params=["loadfixture --state", "upgradefixture --from", "--to"])
def command_option(
    request: pytest.FixtureRequest, tmp_path: Path, django_db_blocker: Any
) -> tuple[str, Refuse]:
    """An option taking a migration name, and how to give it one."""

    def run(name: str) -> str:
        with pytest.raises(CommandError) as caught:
            if request.param == "loadfixture --state":
                call_command("loadfixture", "library_initial", state=name)
            elif request.param == "upgradefixture --from":
                upgradefixture(django_db_blocker, tmp_path, "--from", name)
            else:
                upgradefixture(
                    django_db_blocker, tmp_path, "--from", "library.0001", "--to", name
                )
        assert list(tmp_path.iterdir()) == []
        return str(caught.value)

    return request.param.split()[-1], run


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "answer"), BAD_NAMES)
def test_commands_refuse_a_bad_name_with_the_nearest_names(
    command_option: tuple[str, Refuse], name: str, answer: str
) -> None:
    option, refuse = command_option
    before = snapshot()

    message = refuse(name)

    assert message.startswith(f"{option} {name}: {answer}")
    assert "\n" not in message
    assert snapshot() == before


@pytest.mark.parametrize(("name", "answer"), BAD_NAMES)
def test_migrate_to_refuses_a_bad_name_in_the_same_words(
    migration_state: MigrationState, name: str, answer: str
) -> None:
    with pytest.raises(UnknownStateError) as caught:
        migration_state.migrate_to(name)

    assert f"{caught.value.message} {caught.value.hint}".startswith(answer)


@pytest.mark.parametrize(
    "option", [("--from", "library.zero"), ("--to", "library.zero")]
)
@pytest.mark.django_db
def test_zero_is_refused_where_the_database_cannot_go_there(
    tmp_path: Path, django_db_blocker: Any, option: tuple[str, str]
) -> None:
    args = option if option[0] == "--from" else ("--from", "library.0001", *option)

    with pytest.raises(CommandError, match=r"library\.zero \(none of library's"):
        upgradefixture(django_db_blocker, tmp_path, *args)


@pytest.mark.django_db
def test_upgradefixture_takes_prefixes_as_migrate_does(
    tmp_path: Path, django_db_blocker: Any
) -> None:
    output = upgradefixture(
        django_db_blocker, tmp_path, "--from", "library.0001", "--to", "library.0005"
    )

    assert read_stamp(output) == {"library": "0005_rename_author_writer"}
    writer = next(
        obj
        for obj in json.loads(output.read_text())
        if obj["model"] == "library.writer"
    )
    assert writer["fields"] == {"name": "Ursula K. Le Guin"}


def test_migrate_to_takes_prefixes_as_migrate_does(
    migration_state: MigrationState,
) -> None:
    migration_state.migrate_to("library.0004")

    assert migration_state.state == "library.0004_rename_book_title"
