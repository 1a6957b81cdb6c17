"""
The cache of clean fixture checks, so that a warm ``check`` costs little.

Checking a fixture reads and parses all of it (0.6 s for 100,000 objects),
on every ``manage.py check`` and ``migrate``. A fixture found clean is
remembered under a key that changes with everything its findings depend on:

- the fixture's path and the SHA-256 of its content;
- the operation (its deconstruction: labels and options) and where it is
  (migration and position);
- the migration files that shape the state it loads at (every migration
  the operation's migration depends on, itself included, by content);
- the histfixtures and Django versions and ``HISTFIXTURES["NATURAL_KEYS"]``.

Only clean results are kept: a fixture with findings is checked again every
time, so a cached result can never hide a finding, and any change to a key's
input makes a new key. The key does not cover the code that migrations
import (a manager class used in migrations whose natural keys changed
without a new migration); turn the cache off to check such changes.

An entry is an empty-named file under the cache directory:
``HISTFIXTURES["CHECKS_CACHE"]`` (a directory; ``False`` turns the cache
off), by default ``$XDG_CACHE_HOME/histfixtures/checks`` (``~/.cache/...``).
A directory that cannot be written means no caching, and an unreadable or
corrupt entry counts as absent and is written again: the cache never makes
a check fail.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path

import django
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.migration import Migration

from histfixtures.conf import checks_cache_setting, natural_keys_setting
from histfixtures.discovery import FixtureFile

_CLEAN = b"clean\n"


def cache_directory() -> Path | None:
    """Where entries live, per the setting; None when caching is off."""
    setting = checks_cache_setting()
    if setting is False:
        return None
    if setting is not True:
        return Path(setting)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(
        os.path.expanduser("~"), ".cache"
    )
    return Path(base) / "histfixtures" / "checks"


class ChecksCache:
    """The clean results of one check run's operations, read and written."""

    def __init__(self, loader: MigrationLoader, directory: Path | None) -> None:
        from histfixtures import __version__

        self.loader = loader
        self.directory = directory
        self._files: dict[str, str] = {}
        self._common = repr(
            (
                __version__,
                django.__version__,
                sorted(
                    (label, list(fields))
                    for label, fields in natural_keys_setting().items()
                ),
            )
        )

    @classmethod
    def from_settings(cls, loader: MigrationLoader) -> ChecksCache:
        return cls(loader, cache_directory())

    def key(
        self,
        migration: Migration,
        position: int,
        fixture: FixtureFile,
        digest: str,
    ) -> str | None:
        """The entry's key; None when a migration's source cannot be read."""
        operation = migration.operations[position]
        node = (migration.app_label, migration.name)
        parts = [
            self._common,
            repr(node),
            str(position),
            repr(operation.deconstruct()),
            os.path.abspath(fixture.path),
            fixture.format,
            digest,
        ]
        for ancestor in self.loader.graph.forwards_plan(node):
            source = self._source_digest(self.loader.graph.nodes[ancestor])
            if source is None:
                return None
            parts.append(f"{ancestor}={source}")
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()

    def _source_digest(self, migration: Migration) -> str | None:
        """
        The digest of the migration's file (and of the module its Migration
        class comes from, when it imports the class from elsewhere).
        """
        package, _ = MigrationLoader.migrations_module(migration.app_label)
        names = {f"{package}.{migration.name}", type(migration).__module__}
        digests = []
        for name in sorted(names):
            path = getattr(sys.modules.get(name), "__file__", None)
            if path is None:
                return None
            if path not in self._files:
                try:
                    content = Path(path).read_bytes()
                except OSError:
                    return None
                self._files[path] = hashlib.sha256(content).hexdigest()
            digests.append(self._files[path])
        return "+".join(digests)

    def is_clean(self, key: str | None) -> bool:
        if self.directory is None or key is None:
            return False
        try:
            return (self.directory / key).read_bytes() == _CLEAN
        except OSError:
            return False

    def mark_clean(self, key: str | None) -> None:
        """Remember a clean result; any failure to write only loses it."""
        if self.directory is None or key is None:
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(dir=self.directory)
            with os.fdopen(descriptor, "wb") as stream:
                stream.write(_CLEAN)
            os.replace(temporary, self.directory / key)
        except OSError:
            pass
