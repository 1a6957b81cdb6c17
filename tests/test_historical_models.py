"""
historical_models(apps): Django's own deserializers with historical models.

The historical registry used here is the state after library 0001, which has
library.Author and library.Publisher; the live registry has library.Writer
(Author was renamed in 0005) and no Publisher.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from pathlib import Path
from typing import Any

import django.apps
import pytest
from django.apps.registry import Apps
from django.core import serializers
from django.core.management import call_command
from django.core.management import utils as management_utils
from django.core.management.base import CommandError
from django.core.management.commands import loaddata as loaddata_command
from django.core.serializers import python as python_serializer
from django.core.serializers import xml_serializer
from django.core.serializers.base import DeserializationError

from histfixtures import historical_models
from tests.utils import (
    apps_at,
    migrate,
    plain_loaddata,
    run_operation,
    run_python,
    snapshot,
    state_at,
)

INITIAL = ("library", "0001_initial")

AUTHOR_JSON = '[{"model": "library.author", "pk": 1, "fields": {"name": "X"}}]'
WRITER_JSON = '[{"model": "library.writer", "pk": 1, "fields": {"name": "X"}}]'
AUTHOR_XML = """<?xml version="1.0" encoding="utf-8"?>
<django-objects version="1.0">
  <object model="library.author" pk="1">
    <field name="name" type="CharField">X</field>
  </object>
</django-objects>
"""


@pytest.fixture
def hist_apps(db: None) -> Apps:
    return apps_at(INITIAL)


def _model_of(fixture: str, format: str = "json") -> type[Any]:
    """The class of the single object Django's deserializer builds."""
    (obj,) = list(serializers.deserialize(format, fixture))
    return type(obj.object)


def _live_registry_is_restored() -> None:
    assert python_serializer.apps is django.apps.apps
    assert xml_serializer.apps is django.apps.apps
    assert loaddata_command.parse_apps_and_model_labels is (
        management_utils.parse_apps_and_model_labels
    )


def test_django_deserialize_uses_historical_model_inside_block(
    hist_apps: Apps,
) -> None:
    with historical_models(hist_apps):
        assert _model_of(AUTHOR_JSON) is hist_apps.get_model("library", "Author")


def test_django_deserialize_fails_on_historical_label_outside_block(
    hist_apps: Apps,
) -> None:
    with pytest.raises(DeserializationError, match=r"library\.author"):
        _model_of(AUTHOR_JSON)


def test_block_yields_the_registry(hist_apps: Apps) -> None:
    with historical_models(hist_apps) as registry:
        assert registry is hist_apps


def test_django_xml_deserializer_uses_historical_model_inside_block(
    hist_apps: Apps,
) -> None:
    with historical_models(hist_apps):
        author = _model_of(AUTHOR_XML, "xml")
    assert author is hist_apps.get_model("library", "Author")
    with pytest.raises(DeserializationError, match=r"library\.author"):
        _model_of(AUTHOR_XML, "xml")


def test_live_registry_model_is_unknown_inside_block(hist_apps: Apps) -> None:
    with (
        historical_models(hist_apps),
        pytest.raises(DeserializationError, match=r"library\.writer"),
    ):
        _model_of(WRITER_JSON)


def test_nested_blocks_inner_registry_wins_and_outer_comes_back(
    hist_apps: Apps,
) -> None:
    later_apps = apps_at(("library", "0005_rename_author_writer"))
    with historical_models(hist_apps):
        with historical_models(later_apps):
            assert _model_of(WRITER_JSON) is later_apps.get_model("library", "Writer")
            with pytest.raises(DeserializationError, match=r"library\.author"):
                _model_of(AUTHOR_JSON)
        assert _model_of(AUTHOR_JSON) is hist_apps.get_model("library", "Author")
    _live_registry_is_restored()


def test_registry_is_restored_after_an_exception_inside(hist_apps: Apps) -> None:
    with pytest.raises(RuntimeError, match="boom"), historical_models(hist_apps):
        raise RuntimeError("boom")

    _live_registry_is_restored()
    with pytest.raises(DeserializationError, match=r"library\.author"):
        _model_of(AUTHOR_JSON)
    assert _model_of(WRITER_JSON) is django.apps.apps.get_model("library", "Writer")


def test_registry_is_restored_after_a_deserialization_error_inside(
    hist_apps: Apps,
) -> None:
    with (
        pytest.raises(DeserializationError),
        historical_models(hist_apps),
    ):
        _model_of(WRITER_JSON)

    _live_registry_is_restored()


def test_django_behaves_as_without_histfixtures_after_blocks_exit(
    hist_apps: Apps,
) -> None:
    with historical_models(hist_apps), historical_models(hist_apps):
        pass

    _live_registry_is_restored()


def test_non_registry_argument_is_refused() -> None:
    with pytest.raises(TypeError, match="registry"), historical_models("x"):  # type: ignore[arg-type]
        pass
    _live_registry_is_restored()


def _resolve(fixture: str) -> type[Any] | str:
    """The model class Django builds for ``fixture``, or the error text."""
    try:
        return _model_of(fixture)
    except DeserializationError as exc:
        return f"error: {exc}"


def test_threads_inside_and_outside_block_do_not_see_each_others_models(
    hist_apps: Apps,
) -> None:
    barrier = threading.Barrier(2, timeout=30)
    seen: dict[str, list[type[Any] | str]] = {"inside": [], "outside": []}
    failures: list[BaseException] = []

    def inside() -> None:
        try:
            with historical_models(hist_apps):
                barrier.wait()  # Both threads are in their phase.
                for _ in range(3):
                    seen["inside"].append(_resolve(AUTHOR_JSON))
                    seen["inside"].append(_resolve(WRITER_JSON))
                    barrier.wait()
                barrier.wait()  # The other thread has finished its checks.
        except BaseException as exc:
            failures.append(exc)
            barrier.abort()

    def outside() -> None:
        try:
            barrier.wait()
            for _ in range(3):
                seen["outside"].append(_resolve(WRITER_JSON))
                seen["outside"].append(_resolve(AUTHOR_JSON))
                barrier.wait()
            barrier.wait()
        except BaseException as exc:
            failures.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=inside), threading.Thread(target=outside)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures

    author = hist_apps.get_model("library", "Author")
    writer = django.apps.apps.get_model("library", "Writer")
    assert seen["inside"][0::2] == [author] * 3
    assert all(
        isinstance(result, str) and "library.writer" in result
        for result in seen["inside"][1::2]
    ), seen["inside"]
    assert seen["outside"][0::2] == [writer] * 3
    assert all(
        isinstance(result, str) and "library.author" in result
        for result in seen["outside"][1::2]
    ), seen["outside"]
    _live_registry_is_restored()


def test_asyncio_task_outside_block_keeps_the_live_registry(
    hist_apps: Apps,
) -> None:
    seen: dict[str, list[type[Any] | str]] = {"inside": [], "outside": []}

    async def main() -> None:
        entered = asyncio.Event()
        checked = asyncio.Event()

        async def inside() -> None:
            with historical_models(hist_apps):
                entered.set()
                await asyncio.sleep(0)
                seen["inside"].append(_resolve(AUTHOR_JSON))
                await checked.wait()
                await asyncio.sleep(0)
                seen["inside"].append(_resolve(AUTHOR_JSON))

        async def outside() -> None:
            await entered.wait()
            await asyncio.sleep(0)
            seen["outside"].append(_resolve(WRITER_JSON))
            await asyncio.sleep(0)
            seen["outside"].append(_resolve(AUTHOR_JSON))
            checked.set()

        await asyncio.wait_for(asyncio.gather(inside(), outside()), timeout=30)

    asyncio.run(main())

    author = hist_apps.get_model("library", "Author")
    assert seen["inside"] == [author, author]
    assert seen["outside"][0] is django.apps.apps.get_model("library", "Writer")
    assert isinstance(seen["outside"][1], str)
    assert "library.author" in seen["outside"][1]
    _live_registry_is_restored()


def _loaddata_with_historical_models(apps: Apps, schema_editor: Any) -> None:
    with historical_models(apps):
        call_command(
            "loaddata",
            "library_initial",
            database=schema_editor.connection.alias,
            verbosity=0,
        )


def test_loaddata_in_runpython_loads_with_historical_models(
    migrations_restored: None,
) -> None:
    migrate(("shop", "zero"), ("library", "0001_initial"))

    run_operation(
        run_python(_loaddata_with_historical_models), "library", state_at(INITIAL)
    )

    apps = apps_at(INITIAL)
    Author = apps.get_model("library", "Author")
    Publisher = apps.get_model("library", "Publisher")
    Book = apps.get_model("library", "Book")
    assert sorted(Author.objects.values_list("name", flat=True)) == [
        "Chinua Achebe",
        "Terry Pratchett",
        "Ursula K. Le Guin",
    ]
    assert Publisher.objects.count() == 2
    assert Book.objects.count() == 5
    assert Book.objects.get(pk=3).title == "Guards! Guards!"
    assert Book.objects.get(pk=5).publisher_id is None
    _live_registry_is_restored()


def test_plain_loaddata_in_runpython_fails_at_the_same_state(
    migrations_restored: None,
) -> None:
    migrate(("shop", "zero"), ("library", "0001_initial"))
    before = snapshot()

    with pytest.raises(DeserializationError, match=r"library\.author"):
        run_operation(
            run_python(plain_loaddata("library_initial")), "library", state_at(INITIAL)
        )

    assert snapshot() == before


# -- loaddata --exclude inside the block (issue 13, item 6) -------------------

LATEST_NODES = (("library", "0011_writer_slug"), ("shop", "0008_order_total_cents"))

SHOP_AND_LIBRARY = [
    {"model": "library.writer", "pk": 200, "fields": {"name": "W", "slug": "w"}},
    {"model": "shop.customer", "pk": 200, "fields": {"full_name": "C", "email": ""}},
    {
        "model": "shop.order",
        "pk": 200,
        "fields": {
            "customer": 200,
            "created": "2024-01-01T00:00:00Z",
            "total_cents": 100,
            "listings": [],
        },
    },
]


def _loaded_pks(apps: Apps) -> dict[str, list[int]]:
    return {
        label: sorted(
            apps.get_model(label).objects.filter(pk=200).values_list("pk", flat=True)
        )
        for label in ("library.writer", "shop.customer", "shop.order")
    }


@pytest.mark.parametrize(
    ("exclude", "loaded"),
    [
        pytest.param(["shop"], ["library.writer"], id="app"),
        pytest.param(["shop.order"], ["library.writer", "shop.customer"], id="model"),
        pytest.param(["shop.Order", "library"], ["shop.customer"], id="model-and-app"),
    ],
)
def test_loaddata_exclude_applies_to_historical_models(
    db: None, tmp_path: Any, exclude: list[str], loaded: list[str]
) -> None:
    path = tmp_path / "shop_and_library.json"
    path.write_text(json.dumps(SHOP_AND_LIBRARY), encoding="utf-8")
    apps = apps_at(*LATEST_NODES)

    with historical_models(apps):
        call_command("loaddata", str(path), exclude=exclude, verbosity=0)

    assert _loaded_pks(apps) == {
        label: [200] if label in loaded else []
        for label in ("library.writer", "shop.customer", "shop.order")
    }
    _live_registry_is_restored()


def test_loaddata_exclude_names_a_model_only_the_state_has(
    migrations_restored: None, tmp_path: Any
) -> None:
    # library.publisher exists at 0001 (deleted by 0010): loaddata outside
    # the block refuses the label, inside it the label excludes its rows.
    migrate(("shop", "zero"), ("library", "0001_initial"))
    objects = [
        {"model": "library.author", "pk": 200, "fields": {"name": "A"}},
        {"model": "library.publisher", "pk": 200, "fields": {"name": "P"}},
    ]
    path = tmp_path / "authors_and_publishers.json"
    path.write_text(json.dumps(objects), encoding="utf-8")
    apps = apps_at(INITIAL)

    with historical_models(apps):
        call_command("loaddata", str(path), exclude=["library.publisher"], verbosity=0)

    assert apps.get_model("library", "Author").objects.filter(pk=200).exists()
    assert not apps.get_model("library", "Publisher").objects.filter(pk=200).exists()


def test_loaddata_exclude_of_an_unknown_label_is_refused_inside_the_block(
    hist_apps: Apps,
) -> None:
    with (
        historical_models(hist_apps),
        pytest.raises(CommandError, match="nosuchapp"),
    ):
        call_command("loaddata", "library_initial", exclude=["nosuchapp"], verbosity=0)
    _live_registry_is_restored()


# --- the documentation ------------------------------------------------------------


def test_documented_loaddata_calls_inside_the_block_name_the_database() -> None:
    # Without database=, loaddata writes to "default" whichever database is
    # being migrated: a recipe users copy must not leave it out.
    docs = Path(__file__).parent.parent / "docs"
    blocks = [
        (path.name, _code_block(chunk))
        for path in sorted(docs.rglob("*.rst"))
        for chunk in path.read_text().split(".. code-block:: python")[1:]
    ]
    calls = [
        (name, call)
        for name, block in blocks
        if "with historical_models(" in block
        for call in re.findall(r"call_command\(\s*\"loaddata\"[^)]*\)", block)
    ]

    assert {name for name, _ in calls} >= {"tutorial.rst", "context.rst"}
    assert [
        (name, call) for name, call in calls if "database=schema_editor" not in call
    ] == []


def _code_block(text: str) -> str:
    """The body of a code block whose directive ``text`` follows: its indented lines."""
    body: list[str] = []
    indent = None
    for line in text.splitlines()[1:]:
        if line.strip():
            depth = len(line) - len(line.lstrip())
            indent = depth if indent is None else indent
            if depth < indent:
                break
        body.append(line)
    return "\n".join(body)
