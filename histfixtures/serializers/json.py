"""
Incremental JSON parsing of a fixture's top-level array.

Django's JSON deserializer reads the whole file into one string and one list;
for a large fixture that is hundreds of megabytes. Here the stream is read in
chunks and each array element is decoded as soon as it is complete, so memory
stays flat however many objects the file holds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import IO, Any

from histfixtures.exceptions import MalformedFixtureError
from histfixtures.serializers.text import text_chunks

_WHITESPACE = re.compile(r"[ \t\n\r]*")


class _ArrayReader:
    """Yield the elements of a JSON array from a stream of text chunks."""

    def __init__(self, chunks: Iterator[str]) -> None:
        self.chunks = chunks
        self.buffer = ""
        self.pos = 0
        self.eof = False
        self.decoder = json.JSONDecoder()
        self.count = 0

    def _fill(self) -> bool:
        """Append the next chunk to the buffer, dropping what was consumed."""
        for chunk in self.chunks:
            if chunk:
                self.buffer = self.buffer[self.pos :] + chunk
                self.pos = 0
                return True
        self.eof = True
        return False

    def _peek(self) -> str:
        """Skip whitespace and return the next character ("" at the end)."""
        if self.pos < len(self.buffer) and self.buffer[self.pos] not in " \t\n\r":
            return self.buffer[self.pos]  # Compact JSON: nothing to skip.
        while True:
            match = _WHITESPACE.match(self.buffer, self.pos)
            assert match is not None  # The pattern matches the empty string.
            self.pos = match.end()
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self._fill():
                return ""

    def _expect(self, char: str, what: str) -> None:
        found = self._peek()
        if found != char:
            raise self._unexpected(found, what)
        self.pos += 1

    def _unexpected(self, found: str, what: str) -> MalformedFixtureError:
        return self._error(f"expected {what}, found {found or 'end of file'!r}")

    def _decode_value(self) -> Any:
        self._peek()  # raw_decode() does not skip leading whitespace.
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError as exc:
                if self._fill():
                    continue
                raise self._error(exc.msg) from exc
            # A scalar that ends with the buffer may continue in the next chunk.
            if (
                end == len(self.buffer)
                and not isinstance(value, dict | list)
                and self._fill()
            ):
                continue
            self.pos = end
            return value

    def __iter__(self) -> Iterator[Any]:
        self._expect("[", "'[' opening the list of objects")
        if self._peek() == "]":
            self.pos += 1
        else:
            while True:
                yield self._decode_value()
                self.count += 1
                found = self._peek()
                if found == "]":
                    self.pos += 1
                    break
                if found != ",":
                    raise self._unexpected(found, "',' or ']' after an object")
                self.pos += 1
        if self._peek():
            raise self._error("unexpected data after the closing ']'")

    def _error(self, problem: str) -> MalformedFixtureError:
        return MalformedFixtureError(
            f"Malformed JSON after {self.count} object(s): {problem}.",
            index=self.count,
        )


def parse(stream_or_string: IO[Any] | str | bytes) -> Iterator[Any]:
    """Yield each element of the JSON array in ``stream_or_string``."""
    return iter(_ArrayReader(text_chunks(stream_or_string)))
