"""JSON Lines: one object per line, parsed line by line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

from histfixtures.exceptions import MalformedFixtureError
from histfixtures.serializers.text import text_lines

BOM = "\ufeff"


def parse(stream_or_string: IO[Any] | str | bytes) -> Iterator[Any]:
    """Yield the object on each non-blank line, as Django's jsonl does."""
    count = 0
    for line_number, line in enumerate(text_lines(stream_or_string), start=1):
        if not line.strip():
            continue
        if line.startswith(BOM):
            # As loaddata, which hands each line to json.loads() as bytes:
            # it skips a byte order mark at the start of any line (a file
            # saved by an editor that writes one, or several such files
            # concatenated). A line that holds only a BOM is not blank.
            line = line[1:]
        try:
            yield json.loads(line)
        except json.JSONDecodeError as exc:
            raise MalformedFixtureError(
                f"Malformed JSON on line {line_number}: {exc.msg}.", index=count
            ) from exc
        except RecursionError as exc:
            raise MalformedFixtureError(
                f"Malformed JSON on line {line_number}: the object is nested too "
                "deeply (arrays or mappings inside one another).",
                index=count,
            ) from exc
        except ValueError as exc:  # An integer with too many digits.
            raise MalformedFixtureError(
                f"Malformed JSON on line {line_number}: {exc}.", index=count
            ) from exc
        count += 1
