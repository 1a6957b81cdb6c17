"""
Finding fixture files, with loaddata's own rules.

Labels, formats, compression suffixes, the per-app ``fixtures/`` directories,
FIXTURE_DIRS, relative and absolute paths all behave as in ``loaddata``,
because the rules are taken from Django's command rather than copied. Files
are always found with the live app registry: historical app configs have no
filesystem path.

One rule differs on purpose. loaddata loads every file that matches a label
across directories; a migration must load one well-defined file, so a label
that matches several is an error, unless one of them is in the operation's
own app, which then wins.
"""

from __future__ import annotations

import functools
import os
import sys
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any

from django.apps import apps as live_apps
from django.core import serializers
from django.core.management.base import CommandError
from django.core.management.commands import loaddata

from histfixtures.exceptions import (
    AmbiguousFixtureError,
    FixtureNotFoundError,
    MalformedFixtureError,
)

STDIN = loaddata.READ_STDIN


@dataclass(frozen=True)
class FixtureFile:
    """One fixture file to read, with how to decode and decompress it."""

    path: str
    format: str
    compression: str | None

    def __str__(self) -> str:
        return "<stdin>" if self.path == STDIN else self.path

    def open(self) -> IO[Any]:
        """Open the file for reading, decompressing on the fly."""
        if self.path == STDIN:
            return sys.stdin
        if self.compression == "zip":
            return _open_single_zip_member(self.path)
        open_method, mode = _compression_formats()[self.compression]
        stream: IO[Any] = open_method(self.path, mode)
        return stream


@functools.cache
def _compression_formats() -> dict[str | None, Any]:
    """loaddata's compression formats, read once."""
    formats: dict[str | None, Any] = _Finder().compression_formats
    return formats


def _open_single_zip_member(path: str) -> IO[bytes]:
    archive = zipfile.ZipFile(path)
    names = archive.namelist()
    if len(names) != 1:
        archive.close()
        raise MalformedFixtureError(
            "Zip-compressed fixtures must contain one file.", fixture=path
        )
    return archive.open(names[0])


class _Finder(loaddata.Command):
    """loaddata's discovery methods, configured without running the command."""

    def __init__(
        self,
        *,
        using: str | None = None,
        app_label: str | None = None,
        format: str | None = None,
        own_app: str | None = None,
    ) -> None:
        super().__init__()
        # loaddata's handle() sets these; None is what it sets when not given.
        self.using = using  # type: ignore[assignment]
        self.app_label = app_label  # type: ignore[assignment]
        self.format = format  # type: ignore[assignment]
        self.own_app = own_app
        self.verbosity = 0
        self.serialization_formats = serializers.get_public_serializer_formats()

    @property
    def own_fixture_dir(self) -> str | None:
        if self.own_app is None:
            return None
        try:
            app_config = live_apps.get_app_config(self.own_app)
        except LookupError:
            return None
        return os.path.realpath(os.path.join(app_config.path, "fixtures"))

    def search_dirs(self, fixture_dirs: list[str]) -> list[str]:
        """The directories to search, the operation's own app first."""
        own = self.own_fixture_dir
        if own in fixture_dirs:
            return [own, *(d for d in fixture_dirs if d != own)]
        return fixture_dirs


def find_fixture_files(
    labels: Iterable[str],
    *,
    using: str,
    app_label: str | None = None,
    format: str | None = None,
    own_app: str | None = None,
) -> list[FixtureFile]:
    """Resolve every label to exactly one file, before anything is loaded."""
    finder = _Finder(using=using, app_label=app_label, format=format, own_app=own_app)
    return [_find_one(finder, label) for label in labels]


def _find_one(finder: _Finder, label: str) -> FixtureFile:
    if not isinstance(label, str) or not label:
        raise FixtureNotFoundError(f"Invalid fixture label {label!r}.")
    try:
        name, ser_fmt, cmp_fmt = finder.parse_name(label)
    except CommandError as exc:
        raise FixtureNotFoundError(str(exc), fixture=label) from exc
    if label == STDIN:
        assert ser_fmt is not None  # parse_name() requires a format for stdin.
        return FixtureFile(STDIN, ser_fmt, None)
    ser_fmt = ser_fmt or finder.format
    basename, fixture_dirs = finder.get_fixture_name_and_dirs(name)
    targets = finder.get_targets(basename, ser_fmt, cmp_fmt)
    matches = [
        path
        for fixture_dir in finder.search_dirs(fixture_dirs)
        for path, _, _ in finder.find_fixture_files_in_dir(
            fixture_dir, basename, targets
        )
    ]
    if not matches:
        raise FixtureNotFoundError(
            f"No fixture named {label!r} found.",
            fixture=label,
            hint=f"Searched {', '.join(_humanize(d) for d in fixture_dirs)}.",
        )
    own = finder.own_fixture_dir
    if len(matches) > 1 and not (
        own is not None
        and os.path.dirname(matches[0]) == own
        and sum(os.path.dirname(m) == own for m in matches) == 1
    ):
        raise AmbiguousFixtureError(
            f"Fixture label {label!r} matches {len(matches)} files: "
            f"{', '.join(matches)}.",
            fixture=label,
            hint="Add the format extension, a directory, or the app_label option.",
        )
    path = matches[0]
    _, file_ser_fmt, file_cmp_fmt = finder.parse_name(os.path.basename(path))
    assert file_ser_fmt is not None  # Every target name ends with a format.
    return FixtureFile(path, file_ser_fmt, file_cmp_fmt)


def _humanize(directory: str) -> str:
    return directory or "absolute path"
