"""Where an object came from, so errors can point at it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """A fixture file and the index of an object in it."""

    fixture: str
    index: int
