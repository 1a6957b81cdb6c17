"""Type aliases shared across histfixtures' modules."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypeAlias

from django.apps.registry import Apps
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

# What to do with a fixture object whose row already exists.
OnConflict: TypeAlias = Literal["update", "ignore", "error"]

# Natural key fields per model label, e.g. {"shop.Author": ["name", "born"]}.
NaturalKeys: TypeAlias = Mapping[str, Sequence[str]]

# The signature of a RunPython function: (apps, schema_editor) -> None.
RunPythonCode: TypeAlias = Callable[[Apps, BaseDatabaseSchemaEditor], Any]

# One object of a fixture in Django's "python" serialization format:
# {"model": "app.model", "pk": 1, "fields": {...}}.
RawObject: TypeAlias = dict[str, Any]
