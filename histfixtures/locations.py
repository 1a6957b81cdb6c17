"""Where an object came from, so errors can point at it."""

from __future__ import annotations

from typing import NamedTuple


class Location(NamedTuple):
    """A fixture file and the index of an object in it."""

    fixture: str
    index: int
