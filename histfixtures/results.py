"""What a load did, for callers and for the command's summary line."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    """
    The outcome of loading fixtures.

    ``objects`` counts the objects written, ``fixtures`` lists the files read,
    ``counts`` maps each model label to the objects written for it, and
    ``skipped`` counts objects left out (routers, ``exclude``, or rows kept
    by ``on_conflict="ignore"``).
    """

    state: str
    objects: int = 0
    skipped: int = 0
    fixtures: list[str] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def models(self) -> list[str]:
        """Labels of the models that received objects, sorted."""
        return sorted(label for label, count in self.counts.items() if count)

    def __str__(self) -> str:
        return (
            f"Installed {self.objects} object(s) from {len(self.fixtures)} "
            f"fixture(s) at {self.state}"
        )
