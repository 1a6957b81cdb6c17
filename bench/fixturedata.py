"""
The benchmark's data: what generate.py writes and what worker.py checks.

One module for both sides, so that the fixture's expected rows and the rows
read back from the database are normalised by the same code:

- ``split(n)``: how many authors, tags and books make ``n`` objects;
- ``objects(n, seed)``: the objects, in primary-key order per model, authors
  first, then tags, then books (no forward references), as Python values;
- ``to_fixture(obj)``: one object as Django's JSON serializer writes it;
- ``TableDigest``: a row count and a SHA-256 over normalised rows, per table.

Rows are hashed in primary-key order; the many-to-many table, whose ``id`` is
not in the fixture, is hashed without it, ordered by ``(book_id, tag_id)``.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

# table -> the columns hashed, in order (attnames of the live models).
TABLES: dict[str, tuple[str, ...]] = {
    "catalog_author": ("id", "name", "born"),
    "catalog_tag": ("id", "name"),
    "catalog_book": ("id", "title", "author_id", "price", "published_at", "metadata"),
    "catalog_book_tags": ("book_id", "tag_id"),
}

_FIRST = ["Ada", "Bruno", "Chloé", "Dmitri", "Eva", "Farid", "Grete", "Hiro", "Inès"]
_LAST = ["Nakamura", "Øster", "Müller", "Okafor", "Silva", "Novák", "Lindqvist"]
_WORDS = ["river", "night", "glass", "orchard", "winter", "paper", "signal"]
_WORDS += ["garden", "iron", "harbour", "lantern", "quiet", "salt", "thread"]
_WORDS += ["copper", "atlas", "echo", "meadow", "ember", "northern"]
_LANGUAGES = ["en", "fr", "de", "ja", "pt", "cs", "sv"]
_EPOCH = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)
_SPAN_MS = 25 * 365 * 24 * 3600 * 1000


@dataclass(frozen=True)
class Split:
    """How ``n`` objects divide into models: ~5% authors, ~1% tags, books."""

    authors: int
    tags: int
    books: int


def split(n: int) -> Split:
    if n < 20:
        raise ValueError(f"the benchmark needs at least 20 objects, got {n}")
    authors = max(1, n * 5 // 100)
    tags = max(10, n // 100)
    return Split(authors, tags, n - authors - tags)


@dataclass(frozen=True)
class Obj:
    """One fixture object: its model label, pk and field values (Python)."""

    model: str
    pk: int
    fields: dict[str, Any]


def objects(n: int, seed: int = 0) -> Iterator[Obj]:
    """The ``n`` objects of the benchmark fixture, deterministic for ``seed``."""
    sizes = split(n)
    rng = random.Random(seed)
    for pk in range(1, sizes.authors + 1):
        name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)} {pk}"
        born = datetime.date(1900, 1, 1) + datetime.timedelta(days=rng.randrange(36500))
        yield Obj("catalog.author", pk, {"name": name, "born": born})
    for pk in range(1, sizes.tags + 1):
        yield Obj("catalog.tag", pk, {"name": f"{rng.choice(_WORDS)}-{pk}"})
    tag_ids = range(1, sizes.tags + 1)
    for pk in range(1, sizes.books + 1):
        words = rng.sample(_WORDS, rng.randint(2, 5))
        published = _EPOCH + datetime.timedelta(milliseconds=rng.randrange(_SPAN_MS))
        yield Obj(
            "catalog.book",
            pk,
            {
                "title": " ".join(words).capitalize() + f" {pk}",
                "author": rng.randint(1, sizes.authors),
                "price": Decimal(rng.randint(100, 99_999)).scaleb(-2),
                "published_at": published,
                "metadata": _metadata(rng, words),
                "tags": sorted(rng.sample(tag_ids, rng.randint(0, 3))),
            },
        )


def _metadata(rng: random.Random, words: list[str]) -> dict[str, Any]:
    return {
        "pages": rng.randint(40, 1200),
        "isbn": f"978-{rng.randrange(10**9):09d}-{rng.randrange(10)}",
        "language": rng.choice(_LANGUAGES),
        "in_print": rng.random() < 0.7,
        "rating": rng.randint(2, 10) / 2,
        "keywords": words[:2],
        "dimensions": {"height_mm": rng.randint(150, 300), "width_mm": 130},
    }


# --- the fixture format ------------------------------------------------------


def _fixture_value(value: Any) -> Any:
    """A value as DjangoJSONEncoder writes it (dumpdata)."""
    if isinstance(value, datetime.datetime):
        text = value.isoformat()
        if value.microsecond:
            text = text[:23] + text[26:]
        if text.endswith("+00:00"):
            text = text.removesuffix("+00:00") + "Z"
        return text
    if isinstance(value, (datetime.date, Decimal)):
        return str(value)
    return value


def to_fixture(obj: Obj) -> dict[str, Any]:
    """``obj`` as one element of a Django JSON fixture."""
    return {
        "model": obj.model,
        "pk": obj.pk,
        "fields": {name: _fixture_value(v) for name, v in obj.fields.items()},
    }


def rows(obj: Obj) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """The database rows ``obj`` becomes: ``(table, values)`` in TABLES order."""
    f = obj.fields
    if obj.model == "catalog.author":
        yield "catalog_author", (obj.pk, f["name"], f["born"])
    elif obj.model == "catalog.tag":
        yield "catalog_tag", (obj.pk, f["name"])
    else:
        yield (
            "catalog_book",
            (
                obj.pk,
                f["title"],
                f["author"],
                f["price"],
                f["published_at"],
                f["metadata"],
            ),
        )
        for tag in f["tags"]:
            yield "catalog_book_tags", (obj.pk, tag)


# --- row digests -------------------------------------------------------------


def normalise(value: Any) -> Any:
    """A value in a form that is the same whichever backend returned it."""
    if value is None or isinstance(value, (bool, int, str, float)):
        return value
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: USE_TZ must be on")
        return value.astimezone(datetime.timezone.utc).isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    raise TypeError(f"cannot normalise {type(value).__name__}: {value!r}")


@dataclass
class TableDigest:
    """A running count and SHA-256 of one table's rows, fed in order."""

    count: int = 0
    _hash: Any = field(default_factory=hashlib.sha256)

    def add(self, row: tuple[Any, ...]) -> None:
        self.count += 1
        line = repr(tuple(normalise(value) for value in row)) + "\n"
        self._hash.update(line.encode())

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "sha256": self._hash.hexdigest()}


def new_digests() -> dict[str, TableDigest]:
    return {table: TableDigest() for table in TABLES}
