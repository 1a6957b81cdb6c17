from __future__ import annotations

from importlib import import_module

Migration = import_module(
    "tests.scenarios.legacy_loading.0005_get_model_recipe"
).Migration

__all__ = ["Migration"]
