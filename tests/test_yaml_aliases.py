"""
YAML aliases are bounded (issue 13, item 10).

A YAML alias bomb ("billion laughs": lists of aliases to the list before)
is refused with a MalformedFixtureError naming the file and the limit, from
the composed document, before any Python object is built: counted here, not
timed (the nodes visited, and that nothing is constructed). Fixtures that
use anchors as YAML intends (merge keys, a repeated value) still load, and
the system checks report a bomb as a finding (E002).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command

import histfixtures.serializers.pyyaml as pyyaml
from histfixtures import LoadFixture, MalformedFixtureError, deserialize
from tests.test_bad_input import (
    LATEST,
    VALID_WRITERS,
    assert_names,
    load_error,
    load_in_migration,
    valid_writers_yaml,
)
from tests.test_checks import library_findings, use_scenario
from tests.utils import apps_at

LAUGH_LIMIT = "more than 1,000,000 nodes"


def bomb(levels: int, width: int = 10) -> str:
    """A writer whose name is ``width ** levels`` laughs, through aliases."""
    lines = ["- model: library.writer", "  pk: 102", "  fields:", "    slug: bomb"]
    lines.append("    laughs: &l0 [" + ", ".join(["lol"] * width) + "]")
    for level in range(1, levels):
        aliases = ", ".join([f"*l{level - 1}"] * width)
        lines.append(f"    laughs{level}: &l{level} [{aliases}]")
    lines.append(f"    name: *l{levels - 1}")
    return valid_writers_yaml() + "\n".join(lines) + "\n"


@pytest.fixture
def nothing_constructed(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record every YAML document that is built into Python objects."""
    built: list[Any] = []
    original = yaml.constructor.BaseConstructor.construct_document

    def construct_document(self: Any, node: Any) -> Any:
        built.append(node)
        return original(self, node)

    monkeypatch.setattr(
        yaml.constructor.BaseConstructor, "construct_document", construct_document
    )
    return built


@pytest.mark.django_db(transaction=True)
def test_an_alias_bomb_is_refused_before_it_is_built_and_names_the_file(
    tmp_path: Path, nothing_constructed: list[Any]
) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(bomb(levels=9), encoding="utf-8")  # 10**9 laughs, 0.5 kB.
    assert path.stat().st_size < 1000

    error = load_error(MalformedFixtureError, str(path))

    assert nothing_constructed == []
    assert_names(error, fixture=path)
    assert LAUGH_LIMIT in str(error)
    assert "alias bomb" in str(error)


def test_the_count_visits_each_node_written_once_however_large_the_expansion(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 10**100 laughs: anything but a count over the nodes written never ends.
    node = yaml.compose(bomb(levels=100), Loader=yaml.SafeLoader)
    visits = 0
    children = pyyaml._children

    def counted(node: Any) -> Any:
        nonlocal visits
        visits += 1
        return children(node)

    monkeypatch.setattr(pyyaml, "_children", counted)

    written, expanded = pyyaml.expanded_size(node)

    assert expanded == pyyaml._CAP
    # The two valid writers, the bomb object and its 100 lists of laughs.
    assert written < 400
    assert visits == 2 * written  # On entering a node and on leaving it.
    with pytest.raises(MalformedFixtureError, match=LAUGH_LIMIT):
        pyyaml.check_expansion(node)


def test_a_document_that_contains_itself_is_refused(
    nothing_constructed: list[Any],
) -> None:
    text = "- &me {model: library.writer, pk: 102, fields: {name: [*me]}}\n"

    with pytest.raises(MalformedFixtureError, match="contains itself"):
        list(pyyaml.parse(text))

    assert nothing_constructed == []


@pytest.mark.parametrize(
    ("copies", "refused"),
    [(50, False), (99, False), (100, True), (400, True)],
)
def test_the_limit_is_a_hundred_times_the_nodes_written(
    monkeypatch: pytest.MonkeyPatch, copies: int, refused: bool
) -> None:
    monkeypatch.setattr(pyyaml, "EXPANSION_ALLOWANCE", 0)
    # A list of 1,000 scalars and a list of `copies` aliases to it: 1,003
    # nodes written (the two lists, the scalars, the document's list).
    scalars = ", ".join(["x"] * 1000)
    text = f"- &big [{scalars}]\n- [" + ", ".join(["*big"] * copies) + "]\n"
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    written, expanded = pyyaml.expanded_size(node)
    assert (written, expanded) == (1003, 1003 + 1001 * copies)
    assert (expanded > 100 * written) == refused

    if refused:
        with pytest.raises(MalformedFixtureError, match="at most 100 times"):
            pyyaml.check_expansion(node)
    else:
        pyyaml.check_expansion(node)


# A fixture that uses anchors as people write them: defaults merged into
# each object, a repeated value.
ANCHORED = """\
- model: library.writer
  pk: 100
  fields: &writer
    name: Octavia E. Butler
    slug: &slug the-same-slug
- model: library.writer
  pk: 101
  fields:
    <<: *writer
    name: Italo Calvino
"""


@pytest.mark.django_db(transaction=True)
def test_a_fixture_with_anchors_and_merge_keys_still_loads(tmp_path: Path) -> None:
    many = "".join(
        f"- model: library.writer\n  pk: {pk}\n  fields:\n    <<: *writer\n"
        f"    name: Writer {pk}\n    slug: *slug\n"
        for pk in range(102, 2102)
    )
    path = tmp_path / "anchored.yaml"
    path.write_text(ANCHORED + many, encoding="utf-8")

    load_in_migration(LoadFixture(str(path)))

    Writer = apps_at(*LATEST).get_model("library", "Writer")
    rows = dict(
        Writer.objects.filter(pk__gte=100).values_list("name", "slug").order_by("pk")
    )
    assert rows["Octavia E. Butler"] == "the-same-slug"
    assert rows["Italo Calvino"] == "the-same-slug"
    assert rows["Writer 2101"] == "the-same-slug"
    assert len(rows) == 2002


@pytest.mark.django_db
def test_deserialize_refuses_a_bomb_too() -> None:
    with pytest.raises(MalformedFixtureError, match=LAUGH_LIMIT):
        list(deserialize("yaml", bomb(levels=9), apps=apps_at(*LATEST)))


@pytest.mark.django_db
def test_loadfixture_at_a_state_refuses_a_bomb(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(bomb(levels=9), encoding="utf-8")

    with pytest.raises(MalformedFixtureError, match=LAUGH_LIMIT) as info:
        call_command(
            "loadfixture", str(path), state="library.0011", stdout=io.StringIO()
        )

    assert info.value.fixture == str(path)


def test_checks_report_a_bomb_as_E002_without_building_it(
    settings: Any, tmp_path: Path, nothing_constructed: list[Any]
) -> None:
    use_scenario(settings, "checks_hostile_fixture")
    settings.FIXTURE_DIRS = [str(tmp_path)]
    path = tmp_path / "hostile.yaml"
    path.write_text(bomb(levels=9), encoding="utf-8")

    findings = library_findings()

    assert [finding.id for finding in findings] == ["histfixtures.E002"]
    (finding,) = findings
    assert str(path) in finding.msg
    assert LAUGH_LIMIT in finding.msg
    assert "alias bomb" in (finding.hint or "")
    assert nothing_constructed == []


def test_valid_writers_still_parse() -> None:
    assert list(pyyaml.parse(valid_writers_yaml())) == VALID_WRITERS
