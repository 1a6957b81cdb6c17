from __future__ import annotations

from tests.scenarios.library_initial import Migration

__all__ = ["Migration"]
