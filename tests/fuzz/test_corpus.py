"""The fuzz suite's corpus itself: what its strategy draws."""

from __future__ import annotations

from hypothesis import given, settings

from tests.fuzz.corpus import SEEDS, Fixture, fixtures

LATEST_SEEDS = {name: objects for name, (objects, _) in SEEDS.items()}


def test_the_corpus_reaches_every_format_and_compression() -> None:
    """A guard on the strategy: every format and compression is drawn."""
    seen: set[tuple[str, str]] = set()

    @settings(max_examples=150, derandomize=True, database=None, deadline=None)
    @given(fixtures(LATEST_SEEDS))
    def draw(fixture: Fixture) -> None:
        seen.add((fixture.format, fixture.compression))

    draw()
    assert {format for format, _ in seen} == {"json", "jsonl", "yaml", "xml"}
    assert {c for _, c in seen} == {"", "gz", "bz2", "xz", "zip"}
