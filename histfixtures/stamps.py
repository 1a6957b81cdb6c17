"""
The migration state a fixture was dumped at, recorded inside the fixture.

``dumpfixture`` writes a *stamp*, ``{app_label: migration_name}`` (the latest
migration applied of each app dumped), where every ``loaddata`` skips it:

- JSON and JSON Lines: a ``"histfixtures_state"`` key in the first object.
  Django's deserializers read only ``model``, ``pk`` and ``fields`` of an
  object, so the key is ignored. An empty dump has no object to hold it and
  is written without a stamp.
- YAML: a comment line at the top, ``# histfixtures-state: {...}``.
- XML: a comment right after the XML declaration,
  ``<!-- histfixtures-state: {...} -->``.

Other formats get no stamp. ``read_stamp()`` reads a stamp back.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import warnings
from collections.abc import Iterable, Mapping
from contextlib import closing, suppress
from functools import partial
from typing import IO, Any

from django.core.management.base import OutputWrapper
from django.db import connections
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.state import ProjectState

from histfixtures.discovery import FixtureFile, find_fixture_files
from histfixtures.exceptions import MalformedFixtureError
from histfixtures.serializers import json as json_format
from histfixtures.serializers import jsonl as jsonl_format

try:
    import bz2
except ImportError:  # Python built without bz2, as dumpdata allows.
    bz2 = None  # type: ignore[assignment]
try:
    import lzma
except ImportError:  # Python built without lzma.
    lzma = None  # type: ignore[assignment]

# {app_label: migration_name}: the latest migration applied of each app.
Stamp = dict[str, str]

JSON_KEY = "histfixtures_state"
COMMENT_TAG = "histfixtures-state:"
STAMPED_FORMATS = ("json", "jsonl", "yaml", "xml")

# How far into a YAML or XML file the stamp may be.
_HEAD_SIZE = 4096
_XML_COMMENT = re.compile(r"<!--\s*histfixtures-state:\s*(\{.*?\})\s*-->", re.S)
# The first bytes of a stream searched for where the stamp goes, at most.
_MARKER_WINDOW = 4096


def encode(stamp: Mapping[str, str]) -> str:
    """The stamp as written into fixtures: one line of JSON, sorted by app."""
    return json.dumps(dict(sorted(stamp.items())))


def describe(stamp: Mapping[str, str]) -> str:
    """``{"shop": "0003_x"}`` as ``shop.0003_x``, for messages."""
    return ", ".join(f"{app}.{name}" for app, name in sorted(stamp.items())) or "zero"


def read_stamp(path: str | os.PathLike[str], format: str | None = None) -> Stamp | None:
    """
    Return the state recorded in the fixture at ``path``, or None.

    ``path`` is anything ``loaddata`` accepts (a path or a fixture label);
    compressed files are read through.
    """
    (fixture,) = find_fixture_files([os.fspath(path)], using="default", format=format)
    return read_fixture_stamp(fixture)


def read_fixture_stamp(fixture: FixtureFile) -> Stamp | None:
    """Return the state recorded in a fixture file found by discovery, or None."""
    if fixture.format not in STAMPED_FORMATS:
        return None
    with closing(fixture.open()) as stream:
        raw = _raw_stamp(fixture.format, stream)
    if raw is None:
        return None
    return _validated(raw, str(fixture))


def _raw_stamp(format: str, stream: IO[Any]) -> Any:
    if format in ("json", "jsonl"):
        parse = json_format.parse if format == "json" else jsonl_format.parse
        first = next(iter(parse(stream)), None)
        return first.get(JSON_KEY) if isinstance(first, dict) else None
    head = stream.read(_HEAD_SIZE)
    if isinstance(head, bytes):
        head = head.decode("utf-8", errors="replace")
    if format == "xml":
        match = _XML_COMMENT.search(head)
        return None if match is None else _loads(match.group(1))
    for line in head.splitlines():
        if not line.startswith("#"):
            return None
        text = line.lstrip("#").strip()
        if text.startswith(COMMENT_TAG):
            return _loads(text[len(COMMENT_TAG) :])
    return None


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text  # Reported as malformed by _validated().


def _validated(raw: Any, fixture: str) -> Stamp:
    if not isinstance(raw, dict) or not all(
        isinstance(app, str) and isinstance(name, str) and app and name
        for app, name in raw.items()
    ):
        raise MalformedFixtureError(
            "The histfixtures-state record must map app labels to migration "
            f"names; got {raw!r}.",
            fixture=fixture,
        )
    return dict(raw)


class StampingStream(io.TextIOBase):
    """
    A text stream that writes the stamp into a fixture as it passes through.

    The serializer writes to this object; the stamp is inserted where its
    format keeps it (see the module docstring), so nothing is held back
    beyond the first few bytes.
    """

    def __init__(
        self,
        stream: IO[str] | OutputWrapper,
        format: str,
        stamp: Mapping[str, str],
        indent: int | None = None,
    ) -> None:
        super().__init__()
        self.stream = stream
        self.pending = ""
        self.stamped = False
        self.marker, self.insert = _placement(format, encode(stamp), indent)
        self.passing = self.marker is None or not stamp

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if self.passing:
            self.stream.write(text)
            return len(text)
        self.pending += text
        assert self.marker is not None
        position = self.pending.find(self.marker)
        if position >= 0:
            end = position + len(self.marker)
            self.pending = self.pending[:end] + self.insert + self.pending[end:]
            self.stamped = True
            self._release()
        elif len(self.pending) > _MARKER_WINDOW:
            self._release()
        return len(text)

    def _release(self) -> None:
        self.stream.write(self.pending)
        self.pending = ""
        self.passing = True

    def finish(self) -> bool:
        """Write what is held back; return whether the stamp was written."""
        self._release()
        return self.stamped

    def flush(self) -> None:
        with suppress(ValueError):  # The underlying stream is already closed.
            self.stream.flush()

    def isatty(self) -> bool:
        return False


def _placement(format: str, encoded: str, indent: int | None) -> tuple[str | None, str]:
    """Where the stamp goes (after which text) and what is inserted there."""
    if format in ("json", "jsonl"):
        if indent is None or format == "jsonl":
            return "{", f'"{JSON_KEY}": {encoded}, '
        return "{", "\n" + " " * indent + f'"{JSON_KEY}": {encoded},'
    if format == "yaml":
        return "", f"# {COMMENT_TAG} {encoded}\n"
    if format == "xml":
        return "?>", f"\n<!-- {COMMENT_TAG} {encoded} -->"
    return None, ""


class AppliedState:
    """The migrations applied to a database, as its django_migrations records."""

    def __init__(self, using: str) -> None:
        self.using = using
        self.loader = MigrationLoader(connections[using], ignore_no_migrations=True)
        graph = self.loader.graph
        # Records of migrations that are no longer on disk are left out.
        self.applied = [n for n in self.loader.applied_migrations if n in graph.nodes]

    def stamp(self, app_labels: Iterable[str]) -> Stamp:
        """The latest migration applied of each app (that has one applied)."""
        stamp = {}
        for app_label in app_labels:
            heads = self._heads(app_label)
            if heads:
                # Unmerged branches: the head with the longest history.
                graph = self.loader.graph
                stamp[app_label] = max(
                    heads, key=lambda node: len(graph.forwards_plan(node))
                )[1]
        return stamp

    def _heads(self, app_label: str) -> list[tuple[str, str]]:
        applied = {node for node in self.applied if node[0] == app_label}
        return [
            node
            for node in applied
            if not any(
                child.key in applied
                for child in self.loader.graph.node_map[node].children
            )
        ]

    def is_complete(self, app_labels: Iterable[str]) -> bool:
        """Whether every migration of these apps is applied (the live models fit)."""
        wanted = set(app_labels)
        applied = set(self.applied)
        return all(
            node in applied for node in self.loader.graph.nodes if node[0] in wanted
        )

    def project_state(self) -> ProjectState:
        """The project state of the database: every applied migration."""
        return self.loader.project_state(self.applied, at_end=True)


def open_output(path: str) -> tuple[IO[str], str]:
    """
    Open an output file as dumpdata does, compressed by its extension.

    Returns the stream and the path actually written: as dumpdata, an
    extension whose compression is not available (``.zip``) is dropped
    with a RuntimeWarning.
    """
    root, extension = os.path.splitext(path)
    openers: dict[str, Any] = {".gz": gzip.open}
    if bz2 is not None:
        openers[".bz2"] = bz2.open
    if lzma is not None:
        openers[".xz"] = lzma.open
        openers[".lzma"] = partial(lzma.open, format=lzma.FORMAT_ALONE)
    if extension in openers:
        return openers[extension](path, "wt", encoding="utf-8"), path
    if extension in (".bz2", ".lzma", ".xz", ".zip"):
        warnings.warn(
            f"Unsupported file extension ({extension}). "
            f"Fixtures saved in '{os.path.basename(root)}'.",
            RuntimeWarning,
            stacklevel=2,
        )
        path = root
    return open(path, "w", encoding="utf-8"), path
