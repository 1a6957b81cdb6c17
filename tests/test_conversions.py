"""
The conversion shortcuts return exactly what Django's own methods return.

Every field class with a shortcut is checked against ``to_python()`` and
``get_db_prep_save()`` on the test database's backend, for values of every
type a fixture or a default can bring: the types the shortcuts take, the ones
they must hand to Django (bools for integers, naive datetimes, NaN, "" for a
key, lazy strings, ...), and ones Django rejects, which must fail the same way
and warn the same way.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.apps.registry import Apps
from django.db import connection, models
from django.utils.translation import gettext_lazy

from histfixtures.conversions import db_preparer, python_converter

UTC = datetime.timezone.utc
PLUS_TWO = datetime.timezone(datetime.timedelta(hours=2))

VALUES: list[Any] = [
    None,
    0,
    1,
    -5,
    2**40,
    True,
    False,
    "",
    "7",
    "abc",
    "2024-05-06",
    "2024-05-06 07:08:09",
    1.5,
    decimal.Decimal("12.34"),
    decimal.Decimal("1.234567"),
    decimal.Decimal("NaN"),
    decimal.Decimal("-Infinity"),
    datetime.date(2024, 5, 6),
    datetime.datetime(2024, 5, 6, 7, 8, 9),
    datetime.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC),
    datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=PLUS_TWO),
    {"a": [1, 2]},
    [1, "b"],
    gettext_lazy("lazy"),
    uuid.UUID(int=7),
]


def _models() -> list[type[models.Model]]:
    """Models holding one field of every class with a shortcut."""
    apps = Apps()

    def model(name: str, **fields: Any) -> type[models.Model]:
        meta = type("Meta", (), {"app_label": "conversions", "apps": apps})
        return type(
            name, (models.Model,), {"__module__": __name__, "Meta": meta, **fields}
        )

    code = model("Code", code=models.CharField(primary_key=True, max_length=10))
    small = model("Small", id=models.SmallAutoField(primary_key=True))
    big = model("Big", id=models.BigAutoField(primary_key=True))
    sample = model(
        "Sample",
        id=models.AutoField(primary_key=True),
        char=models.CharField(max_length=10),
        text=models.TextField(),
        slug=models.SlugField(),
        email=models.EmailField(),
        url=models.URLField(),
        integer=models.IntegerField(),
        big_integer=models.BigIntegerField(),
        small_integer=models.SmallIntegerField(),
        positive=models.PositiveIntegerField(),
        positive_big=models.PositiveBigIntegerField(),
        positive_small=models.PositiveSmallIntegerField(),
        flag=models.BooleanField(),
        nullable_flag=models.BooleanField(null=True),
        day=models.DateField(),
        moment=models.DateTimeField(),
        price=models.DecimalField(max_digits=8, decimal_places=2),
        data=models.JSONField(),
        parent=models.ForeignKey("self", models.CASCADE, null=True),
        twin=models.OneToOneField("self", models.CASCADE, null=True, related_name="+"),
        code=models.ForeignKey(code, models.CASCADE, related_name="+"),
        by_code=models.ForeignKey(
            code, models.CASCADE, to_field="code", related_name="+"
        ),
        small=models.ForeignKey(small, models.CASCADE, related_name="+"),
        big=models.ForeignKey(big, models.CASCADE, related_name="+"),
    )
    return [code, small, big, sample]


FIELDS = [field for Model in _models() for field in Model._meta.concrete_fields]


def _outcome(convert: Callable[[Any], Any], value: Any) -> Iterator[Any]:
    """What ``convert(value)`` returns or raises, and what it warns."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = convert(value)
        except Exception as exc:
            yield ("raises", type(exc), str(exc))
        else:
            yield ("returns", type(result), _comparable(result))
    yield [(w.category, str(w.message)) for w in caught]


def _comparable(result: Any) -> Any:
    """A value to compare: a driver's wrapper (psycopg's Jsonb) by content."""
    if hasattr(result, "obj"):
        return result.obj
    if isinstance(result, decimal.Decimal | float) and result != result:
        return "NaN"
    return result


@pytest.mark.parametrize("field", FIELDS, ids=lambda f: f"{f.model.__name__}.{f.name}")
def test_python_converter_is_to_python(field: models.Field[Any, Any]) -> None:
    convert = python_converter(field)
    for value in VALUES:
        expected = list(_outcome(field.to_python, value))
        assert list(_outcome(convert, value)) == expected, value


@pytest.mark.parametrize("field", FIELDS, ids=lambda f: f"{f.model.__name__}.{f.name}")
def test_db_preparer_is_get_db_prep_save(field: models.Field[Any, Any]) -> None:
    prepare = db_preparer(field, connection)

    def save(value: Any) -> Any:
        return field.get_db_prep_save(value, connection=connection)

    for value in VALUES:
        expected = list(_outcome(save, value))
        assert list(_outcome(prepare, value)) == expected, value


def _sample_field(name: str) -> models.Field[Any, Any]:
    return next(f for f in FIELDS if f.model.__name__ == "Sample" and f.name == name)


def _unexpected(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("the field's own method was called")


@pytest.mark.parametrize(
    ("name", "value"),
    [("id", 5), ("char", "x"), ("integer", 3), ("flag", True), ("parent", 3)],
)
def test_common_fixture_values_skip_to_python(
    name: str, value: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The values fixtures are made of do skip the layers (the point of it)."""
    field = _sample_field(name)
    monkeypatch.setattr(field, "to_python", _unexpected)
    assert python_converter(field)(value) == value


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("id", 5),
        ("char", "x"),
        ("integer", 3),
        ("flag", True),
        ("day", datetime.date(2024, 5, 6)),
        ("moment", datetime.datetime(2024, 5, 6, tzinfo=UTC)),
        ("price", decimal.Decimal("1.50")),
        ("data", {"a": 1}),
        ("parent", 3),
    ],
)
def test_common_python_values_skip_get_db_prep_save(
    name: str, value: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    field = _sample_field(name)
    monkeypatch.setattr(field, "get_db_prep_save", _unexpected)
    db_preparer(field, connection)(value)
