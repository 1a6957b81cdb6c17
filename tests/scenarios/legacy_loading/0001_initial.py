from __future__ import annotations

from importlib import import_module

# The library's own first migration: the samples load its fixture there.
Migration = import_module("library.migrations.0001_initial").Migration

__all__ = ["Migration"]
