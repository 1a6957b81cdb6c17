"""
Write the benchmark fixture: N objects, ~5% authors, ~1% tags (at least 10),
the rest books with a foreign key, 0-3 tags, a Decimal, an aware datetime and
a JSON dict each. Deterministic for a seed, and streamed: memory does not grow
with N.

    python bench/generate.py 100000 --format jsonl -o /tmp/books.jsonl

Beside FILE it writes FILE.expected.json: the row count and a SHA-256 of the
rows each table must hold after a load (see fixturedata.py), which worker.py
compares with the database.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

import fixturedata

HERE = Path(__file__).resolve().parent


def generator_version() -> str:
    """A hash of the code that decides the fixture's content."""
    digest = hashlib.sha256()
    for name in ("fixturedata.py", "generate.py"):
        digest.update((HERE / name).read_bytes())
    return digest.hexdigest()[:16]


def expected_path(path: Path) -> Path:
    return path.with_name(path.name + ".expected.json")


def generate(n: int, fmt: str, path: Path, seed: int = 0) -> dict[str, Any]:
    """Write the fixture to ``path`` and its expected rows beside it."""
    if fmt not in ("json", "jsonl"):
        raise ValueError(f"format must be json or jsonl, not {fmt!r}")
    digests = fixturedata.new_digests()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8") as out:
        _write(out, fmt, n, seed, digests)
    expected = {
        "objects": n,
        "seed": seed,
        "generator": generator_version(),
        "tables": {table: d.as_dict() for table, d in digests.items()},
    }
    expected_path(path).write_text(json.dumps(expected, indent=2) + "\n")
    os.replace(partial, path)
    return expected


def _write(
    out: TextIO,
    fmt: str,
    n: int,
    seed: int,
    digests: dict[str, fixturedata.TableDigest],
) -> None:
    # One object per line in both formats; JSON wraps them in a list.
    if fmt == "json":
        out.write("[\n")
    first = True
    for obj in fixturedata.objects(n, seed):
        for table, row in fixturedata.rows(obj):
            digests[table].add(row)
        line = json.dumps(fixturedata.to_fixture(obj), ensure_ascii=False)
        if fmt == "json":
            out.write(line if first else ",\n" + line)
        else:
            out.write(line + "\n")
        first = False
    if fmt == "json":
        out.write("\n]\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, help="number of objects (at least 20)")
    parser.add_argument("--format", choices=["json", "jsonl"], default="json")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="FILE")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        expected = generate(args.n, args.format, args.output, args.seed)
    except ValueError as exc:
        parser.error(str(exc))
    counts = ", ".join(
        f"{table} {d['count']}" for table, d in expected["tables"].items()
    )
    print(f"wrote {args.output} ({args.n} objects: {counts})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
