"""The package's public names: all importable from ``histfixtures``, lazily."""

from __future__ import annotations

import pytest

import histfixtures


@pytest.mark.parametrize("name", histfixtures.__all__)
def test_every_public_name_is_importable_from_the_package(name: str) -> None:
    value = getattr(histfixtures, name)

    assert value.__name__ == name
    assert value.__module__.startswith("histfixtures.")
    assert name in dir(histfixtures)


def test_an_unknown_name_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'LoadFixtures'"):
        histfixtures.LoadFixtures  # noqa: B018


def test_star_import_gives_exactly_the_public_names() -> None:
    namespace: dict[str, object] = {}

    exec("from histfixtures import *", namespace)

    assert sorted(set(namespace) - {"__builtins__"}) == sorted(histfixtures.__all__)
