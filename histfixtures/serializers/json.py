"""
Incremental JSON parsing of a fixture's top-level array.

Django's JSON deserializer reads the whole file into one string and one list;
for a large fixture that is hundreds of megabytes. Here the stream is read in
chunks and each array element is decoded as soon as it is complete, so memory
stays flat however many objects the file holds.

Reading stays linear in the size of every element, however large: an
element that is not complete in the buffer is not decoded again after each
chunk (which re-scans it from its start every time); the reader finds where
it ends with a small scanner that examines each new character once, collects
the chunks in a list, joins them once and decodes the element once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import IO, Any

from histfixtures.exceptions import FixtureError, MalformedFixtureError
from histfixtures.serializers.text import text_chunks

_WHITESPACE = re.compile(r"[ \t\n\r]*")
# Where the scanner of an incomplete element stops: a character that opens or
# closes a container or a string; the rest of a string (escapes included); the
# character after a number or literal.
_STRUCTURE = re.compile(r'["\[\]{}]')
_STRING_BODY = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*', re.DOTALL)
_SCALAR_END = re.compile(r'[,\]}\[{" \t\n\r]')
# Values that raw_decode() returns only once they are complete.
_COMPLETE_TYPES = (dict, list, str)


class _ValueEnd:
    """
    Find where one JSON value ends, chunk by chunk, examining each character
    once. It only balances brackets and strings: the value's syntax is left
    to the decoder, which reads the complete value once.
    """

    def __init__(self) -> None:
        self.kind = ""  # "container", "string" or "scalar", from its first char
        self.depth = 0
        self.in_string = False
        self.escape = False  # A backslash ended the previous chunk.

    def feed(self, text: str, start: int = 0) -> bool:
        """Scan ``text[start:]``; True once the value's end has been seen."""
        i = start
        if not self.kind:
            if i >= len(text):
                return False
            first = text[i]
            if first in "[{":
                self.kind = "container"
            elif first == '"':
                self.kind, self.in_string = "string", True
                i += 1
            else:
                self.kind = "scalar"
        if self.kind == "scalar":
            return _SCALAR_END.search(text, i) is not None
        while True:
            if self.escape:
                if i >= len(text):
                    return False
                self.escape = False
                i += 1
            if self.in_string:
                match = _STRING_BODY.match(text, i)
                assert match is not None  # The pattern matches the empty string.
                i = match.end()
                if i >= len(text):
                    return False
                if text[i] == "\\":  # The last character: the escape continues.
                    self.escape = True
                    i += 1
                    continue
                self.in_string = False  # text[i] is the closing quote.
                i += 1
                if self.kind == "string":
                    return True
                continue
            found = _STRUCTURE.search(text, i)
            if found is None:
                return False
            i = found.end()
            char = found.group()
            if char == '"':
                self.in_string = True
            elif char in "[{":
                self.depth += 1
            else:
                self.depth -= 1
                if self.depth <= 0:
                    return True


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
        try:
            value, end = self._raw_decode()
        except json.JSONDecodeError:
            pass  # Incomplete (or malformed): read to its end, decode again.
        else:
            # A container or a string is complete; a number or literal only
            # if a delimiter follows it in the buffer ("1." may be "1.5").
            if isinstance(value, _COMPLETE_TYPES) or (
                end < len(self.buffer) and _SCALAR_END.match(self.buffer, end)
            ):
                self.pos = end
                return value
        self._read_to_value_end()
        try:
            value, end = self._raw_decode()
        except json.JSONDecodeError as exc:
            raise self._error(exc.msg) from exc
        self.pos = end
        return value

    def _raw_decode(self) -> tuple[Any, int]:
        """Decode the value at ``pos``; JSONDecodeError if it is incomplete."""
        try:
            return self.decoder.raw_decode(self.buffer, self.pos)
        except json.JSONDecodeError:
            raise
        except RecursionError as exc:
            raise self._error(
                "the object is nested too deeply (arrays or mappings inside "
                "one another)"
            ) from exc
        except ValueError as exc:  # An integer with too many digits.
            raise self._error(str(exc)) from exc

    def _read_to_value_end(self) -> None:
        """
        Read chunks until the value at ``pos`` is complete in the buffer (or
        the input ends), scanning each character once and joining once.
        """
        scanner = _ValueEnd()
        pieces = [self.buffer[self.pos :]]
        done = scanner.feed(pieces[0])
        while not done:
            chunk = next(self.chunks, None)
            if chunk is None:
                self.eof = True
                break
            pieces.append(chunk)
            done = scanner.feed(chunk)
        self.buffer = "".join(pieces)
        self.pos = 0

    def __iter__(self) -> Iterator[Any]:
        try:
            yield from self._elements()
        except FixtureError as exc:
            # A read error of the stream (a damaged compressed file): in the
            # object after the last one read.
            exc.with_context(index=self.count)
            raise

    def _elements(self) -> Iterator[Any]:
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
