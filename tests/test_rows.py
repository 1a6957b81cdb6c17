"""
Objects of plain models are written from their values, with no instance.

Whether a model is plain decides if its rows can skip ``Model(**values)``;
the instance, when something does ask for it, must be the one the fixture
describes, defaults included, computed once.
"""

from __future__ import annotations

import datetime
import itertools
import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps.registry import Apps
from django.db import connection, models
from django.db.models import F, signals

from histfixtures import deserialize, load_fixture
from histfixtures.rows import FixtureObject, row_fields
from tests.utils import apps_at

LATEST = (("library", "0011_writer_slug"), ("shop", "0008_order_total_cents"))
LISTED_AT = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc)
CATALOG = [
    {"model": "library.tag", "pk": 9, "fields": {"name": "poetry"}},
    {"model": "library.writer", "pk": 7, "fields": {"name": "Ann"}},
    {
        "model": "library.book",
        "pk": 8,
        "fields": {"headline": "Book", "author": 7, "pages": 120, "tags": [9]},
    },
    {
        "model": "shop.listing",
        "pk": 3,
        "fields": {
            "book": 8,
            "amount": "12.50",
            "currency": "EUR",
            "listed_at": "2024-05-06T07:08:09Z",
        },
    },
]


def _model(
    class_name: str, bases: tuple[type, ...] = (models.Model,), **body: Any
) -> type[models.Model]:
    meta = type("Meta", (), {"app_label": "rows", "apps": Apps()})
    Model: type[models.Model] = type(
        class_name, bases, {"__module__": __name__, "Meta": meta, **body}
    )
    return Model


def test_a_plain_model_is_written_from_its_values() -> None:
    Plain = _model("Plain", name=models.CharField(max_length=10))
    fields = row_fields(Plain)
    assert fields is not None
    assert [f.attname for f in fields] == ["id", "name"]


class _OwnInit(models.Model):
    class Meta:
        abstract = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)


class _OwnPk(models.Model):
    class Meta:
        abstract = True

    @property
    def pk(self) -> Any:
        return 0


@pytest.mark.parametrize(
    "make",
    [
        lambda: _model("WithFile", upload=models.FileField()),
        lambda: _model(
            "WithGenerated",
            number=models.IntegerField(),
            double=models.GeneratedField(
                expression=F("number") * 2,
                output_field=models.IntegerField(),
                db_persist=True,
            ),
        ),
        lambda: _model("OwnInit", (_OwnInit,)),
        lambda: _model("OwnPk", (_OwnPk,)),
    ],
    ids=["file field", "generated field", "own __init__", "own pk"],
)
def test_models_whose_init_changes_values_get_instances(
    make: Callable[[], type[models.Model]],
) -> None:
    assert row_fields(make()) is None


@pytest.mark.parametrize("signal", [signals.pre_init, signals.post_init])
def test_init_receivers_get_instances(signal: signals.ModelSignal) -> None:
    Model = _model("Signalled", name=models.CharField(max_length=10))

    def receiver(**kwargs: Any) -> None:
        pass

    signal.connect(receiver, sender=Model)
    try:
        assert row_fields(Model) is None
    finally:
        signal.disconnect(receiver, sender=Model)


def test_defaults_are_computed_once_and_the_instance_holds_them() -> None:
    counter = itertools.count(100)
    Model = _model(
        "Defaulted",
        name=models.CharField(max_length=10),
        number=models.IntegerField(default=lambda: next(counter)),
    )
    [obj] = deserialize(
        "python",
        [{"model": "rows.defaulted", "pk": 1, "fields": {"name": "a"}}],
        apps=SimpleNamespace(get_model=lambda label: Model),  # type: ignore[arg-type]
    )
    assert isinstance(obj, FixtureObject)
    assert obj.values == {"id": 1, "name": "a", "number": 100}
    instance = obj.object
    assert (instance.pk, instance.name, instance.number) == (1, "a", 100)  # type: ignore[attr-defined]
    assert obj.object is instance
    assert next(counter) == 101


@pytest.fixture
def no_instances(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make building an instance from a FixtureObject's values fail."""

    def refuse(self: FixtureObject) -> models.Model:
        raise AssertionError(f"an instance of {self.Model.__name__} was built")

    monkeypatch.setattr(
        FixtureObject, "object", property(refuse, FixtureObject.object.fset)
    )
    yield


@pytest.mark.django_db
@pytest.mark.usefixtures("no_instances")
def test_a_load_of_plain_models_builds_no_instance(tmp_path: Path) -> None:
    fixture = tmp_path / "catalog.json"
    fixture.write_text(json.dumps(CATALOG), encoding="utf-8")
    apps = apps_at(*LATEST)
    schema_editor = SimpleNamespace(connection=connection)
    load_fixture(apps, schema_editor, str(fixture))  # type: ignore[arg-type]

    def rows(label: str, *names: str) -> list[tuple[Any, ...]]:
        manager = apps.get_model(label)._base_manager
        return list(manager.order_by("pk").values_list("pk", *names))

    assert (7, "Ann", "") in rows("library.Writer", "name", "slug")
    assert (8, "Book", 7, 120, "", 9) in rows(
        "library.Book", "headline", "author", "pages", "publisher_name", "tags"
    )
    assert (3, 8, Decimal("12.50"), "EUR", LISTED_AT) in rows(
        "shop.Listing", "book", "amount", "currency", "listed_at"
    )
