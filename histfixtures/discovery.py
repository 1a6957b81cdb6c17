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

Opening and reading a fixture never lets an OS or decompression error out:
a dangling symbolic link, a directory or a symlink loop named like a
fixture, an unreadable file, a damaged zip, gzip, bzip2 or xz file, or an
encrypted zip member each become a FixtureError naming the file, whether it
happens when the file is opened or while a parser streams it.
"""

from __future__ import annotations

import difflib
import errno
import functools
import io
import lzma
import os
import sys
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any, cast

from django.apps import apps as live_apps
from django.core import serializers
from django.core.management.base import CommandError
from django.core.management.commands import loaddata

from histfixtures.exceptions import (
    AmbiguousFixtureError,
    FixtureError,
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
        """
        Open the file for reading, decompressing on the fly.

        Errors of the file system or of the decompressor, when opening or
        later while reading, are raised as FixtureErrors naming the file.
        """
        if self.path == STDIN:
            return sys.stdin
        closers: list[Callable[[], None]] = []
        try:
            if self.compression == "zip":
                stream = _open_single_zip_member(self.path, closers)
            else:
                open_method, mode = _compression_formats()[self.compression]
                stream = open_method(self.path, mode)
        except FixtureError:
            raise
        except _OPEN_ERRORS as exc:
            raise _open_error(self, exc) from exc
        return cast(IO[Any], _GuardedStream(stream, self, closers))

    @property
    def compression_name(self) -> str:
        """The compression as users know it: "gzip", "zip", ... or ""."""
        return _COMPRESSION_NAMES.get(self.compression or "", self.compression or "")


_COMPRESSION_NAMES = {"gz": "gzip", "bz2": "bzip2", "lzma": "lzma", "xz": "xz"}

# What opening a file may raise: the OS (missing file, directory, loop,
# permissions; ValueError for a NUL in the path), a damaged or encrypted zip
# archive (RuntimeError: a password is needed; NotImplementedError: AES and
# other methods Python cannot read), a decompressor reading the header.
_OPEN_ERRORS = (
    OSError,
    EOFError,
    ValueError,
    RuntimeError,
    NotImplementedError,
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
)
# What reading may raise: damaged or truncated compressed data (gzip's
# BadGzipFile and bz2's "Invalid data stream" are OSErrors), a bad CRC in a
# zip member, an I/O error of the disk.
_READ_ERRORS = (OSError, EOFError, zipfile.BadZipFile, zlib.error, lzma.LZMAError)


def _open_error(fixture: FixtureFile, exc: BaseException) -> FixtureError:
    """The FixtureError for an exception raised while opening ``fixture``."""
    path = fixture.path
    if isinstance(exc, FileNotFoundError):
        if os.path.islink(path):
            return FixtureNotFoundError(
                f"The fixture file {path} is a symbolic link to "
                f"{_link_target(path)!r}, which does not exist.",
                fixture=path,
                hint="Restore the file the link points to, or remove the link "
                "and correct the label.",
            )
        return FixtureNotFoundError(
            f"The fixture file {path} no longer exists: it was removed or "
            "renamed after it was found.",
            fixture=path,
            hint="Restore the file, or correct the label.",
        )
    if isinstance(exc, IsADirectoryError):
        return FixtureNotFoundError(
            f"{path} is a directory, not a fixture file.",
            fixture=path,
            hint="Rename the directory (its name matches the fixture label), or "
            "give the label of a file.",
        )
    if isinstance(exc, OSError) and exc.errno == errno.ELOOP:
        return FixtureNotFoundError(
            f"The fixture file {path} is a symbolic link that loops (it leads "
            "back to itself, or through too many links).",
            fixture=path,
            hint="Point the link to the fixture file, or remove it and correct "
            "the label.",
        )
    if isinstance(exc, PermissionError):
        return MalformedFixtureError(
            f"The fixture file {path} cannot be read: permission denied.",
            fixture=path,
            hint="Make the file readable by the user who runs manage.py.",
        )
    if isinstance(exc, RuntimeError | NotImplementedError) and fixture.compression:
        return MalformedFixtureError(
            f"The fixture file {path} cannot be extracted: {exc}.",
            fixture=path,
            hint="Re-create the zip archive without a password, with the "
            "deflate, bzip2 or lzma method (e.g. zip FILE.zip FIXTURE.json).",
        )
    return _damaged(fixture, exc)


def _damaged(fixture: FixtureFile, exc: BaseException) -> MalformedFixtureError:
    """The error for a file whose content cannot be read or decompressed."""
    path = fixture.path
    strerror = exc.strerror if isinstance(exc, OSError) else None
    detail = strerror or str(exc) or type(exc).__name__
    if not fixture.compression:
        return MalformedFixtureError(
            f"The fixture file {path} cannot be read: {detail}.",
            fixture=path,
            hint="Check the file and the disk it is on.",
        )
    kind = fixture.compression_name
    return MalformedFixtureError(
        f"The fixture file {path} is not a valid {kind} file, or it is "
        f"truncated or damaged: {detail}.",
        fixture=path,
        hint=f"Re-create the {kind} file from the original fixture (or remove "
        f"the .{fixture.compression} suffix if the file is not compressed).",
    )


def _link_target(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "?"


class _GuardedStream(io.IOBase):
    """
    A fixture's binary stream whose read errors are FixtureErrors.

    Decompressors report damaged data when it is read, so while a parser
    streams the file, not when it is opened: each read is wrapped here, once
    for every parser.
    """

    def __init__(
        self,
        stream: IO[bytes],
        fixture: FixtureFile,
        closers: list[Callable[[], None]],
    ) -> None:
        super().__init__()
        self._stream = stream
        self._fixture = fixture
        self._closers = closers

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except FixtureError:
            raise
        except _READ_ERRORS as exc:
            raise _damaged(self._fixture, exc) from exc

    @property
    def name(self) -> str:
        return self._fixture.path

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        with self._guard():
            return self._stream.read(-1 if size is None else size)

    def read1(self, size: int = -1) -> bytes:
        with self._guard():
            read1 = getattr(self._stream, "read1", self._stream.read)
            data: bytes = read1(size)
            return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readline(self, size: int | None = -1) -> bytes:
        with self._guard():
            return self._stream.readline(-1 if size is None else size)

    def close(self) -> None:
        if self.closed:
            return
        try:
            self._stream.close()
            for close in self._closers:
                close()
        finally:
            super().close()


@functools.cache
def _compression_formats() -> dict[str | None, Any]:
    """loaddata's compression formats, read once."""
    formats: dict[str | None, Any] = _Finder().compression_formats
    return formats


def _open_single_zip_member(path: str, closers: list[Callable[[], None]]) -> IO[bytes]:
    archive = zipfile.ZipFile(path)
    try:
        names = archive.namelist()
        if len(names) != 1:
            raise MalformedFixtureError(
                "Zip-compressed fixtures must contain one file.", fixture=path
            )
        member = archive.open(names[0])
    except BaseException:
        archive.close()
        raise
    closers.append(archive.close)
    return member


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


def fixture_directories() -> list[str]:
    """The directories loaddata searches for fixture labels, in its order."""
    return list(_Finder().fixture_dirs)


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
    if "\0" in label:
        raise FixtureNotFoundError(
            f"Invalid fixture label {label!r}: a file name cannot contain a NUL "
            "character.",
            fixture=label,
            hint="Correct the label (a NUL often comes from a copied or "
            "generated string).",
        )
    try:
        return _find_file(finder, label)
    except OSError as exc:
        raise FixtureNotFoundError(
            f"Cannot search for the fixture {label!r}: {exc}.",
            fixture=label,
            hint="Check the label and the directories it names.",
        ) from exc


def _find_file(finder: _Finder, label: str) -> FixtureFile:
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
        raise _not_found(finder, label, basename, fixture_dirs)
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


def _not_found(
    finder: _Finder, label: str, basename: str, fixture_dirs: list[str]
) -> FixtureNotFoundError:
    """
    The error for a label that matches no file: what was searched, and why.

    It names an ``app_label`` option that restricted the search (and a typo
    in it, which would otherwise go unseen), and the fixtures with names
    close to the label's.
    """
    hints = []
    if finder.app_label is not None:
        labels = sorted(config.label for config in live_apps.get_app_configs())
        if finder.app_label in labels:
            hints.append(
                f"app_label={finder.app_label!r} restricts the search to that "
                "app's fixtures/ directory and FIXTURE_DIRS."
            )
        else:
            close = difflib.get_close_matches(finder.app_label, labels, n=3)
            hints.append(
                f"app_label={finder.app_label!r} is not the label of an installed "
                "app" + (f"; did you mean {_either(close)}?" if close else ".")
            )
    hints.append(f"Searched {', '.join(_humanize(d) for d in fixture_dirs)}.")
    # Stricter than difflib's default: fixture names often share a long
    # prefix (the app's name), which alone would make them look alike.
    close = difflib.get_close_matches(
        basename, _fixture_names(finder, fixture_dirs), n=3, cutoff=0.75
    )
    if close:
        folder = os.path.dirname(label)
        close = [os.path.join(folder, name) if folder else name for name in close]
        hints.append(f"Did you mean {_either(close)}?")
    return FixtureNotFoundError(
        f"No fixture named {label!r} found.", fixture=label, hint=" ".join(hints)
    )


def _fixture_names(finder: _Finder, fixture_dirs: list[str]) -> list[str]:
    """The labels, without extensions, of the fixture files in the directories."""
    names = set()
    for directory in fixture_dirs:
        try:
            entries = os.listdir(directory or ".")
        except OSError:
            continue
        for entry in entries:
            try:
                name, ser_fmt, _ = finder.parse_name(entry)
            except CommandError:
                continue
            if ser_fmt is None:
                continue
            # A database-specific fixture (name.default.json) has the label name.
            names.add(name.removesuffix(f".{finder.using}") if finder.using else name)
    return sorted(names)


def _either(names: list[str]) -> str:
    return " or ".join(repr(name) for name in names)


def _humanize(directory: str) -> str:
    return directory or "absolute path"
