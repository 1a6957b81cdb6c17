from __future__ import annotations

from importlib import import_module

Migration = import_module("library.migrations.0001_initial").Migration

__all__ = ["Migration"]
