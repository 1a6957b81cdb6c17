"""Reading fixture input as text, whatever form it arrives in."""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from typing import IO, Any

from histfixtures.exceptions import MalformedFixtureError

CHUNK_SIZE = 64 * 1024


def text_chunks(stream_or_string: IO[Any] | str | bytes) -> Iterator[str]:
    """Yield decoded text chunks from a string, bytes or a (binary) stream."""
    if isinstance(stream_or_string, str):
        yield stream_or_string
        return
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        if isinstance(stream_or_string, bytes):
            yield decoder.decode(stream_or_string, final=True)
            return
        while chunk := stream_or_string.read(CHUNK_SIZE):
            yield chunk if isinstance(chunk, str) else decoder.decode(chunk)
        yield decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise MalformedFixtureError(f"The fixture is not valid UTF-8: {exc}.") from exc


def text_lines(stream_or_string: IO[Any] | str | bytes) -> Iterator[str]:
    """
    Yield lines of text, reading the input chunk by chunk.

    The pieces of a line are collected in a list and joined once, so a line
    of any length costs time linear in its length.
    """
    pending: list[str] = []
    for chunk in text_chunks(stream_or_string):
        if "\n" not in chunk:
            pending.append(chunk)
            continue
        lines = chunk.split("\n")
        pending.append(lines[0])
        yield "".join(pending)
        yield from lines[1:-1]
        pending = [lines[-1]]
    if last := "".join(pending):
        yield last
