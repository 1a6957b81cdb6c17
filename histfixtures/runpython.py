"""
Loading fixtures from RunPython code.

``load_fixture()``/``unload_fixture()`` are called inside your own RunPython
function. ``loader()``/``unloader()`` build the function itself; they return
small deconstructible objects rather than closures so that the migration
writer (makemigrations, squashmigrations) can write them into a migration.
Their import paths are pinned: they appear in users' migration files.
"""

from __future__ import annotations

from typing import Any

from django.apps.registry import Apps
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.utils.deconstruct import deconstructible

from histfixtures.loading import load
from histfixtures.options import LoadOptions
from histfixtures.results import LoadResult
from histfixtures.state import describe_state
from histfixtures.unloading import unload


def load_fixture(
    apps: Apps, schema_editor: BaseDatabaseSchemaEditor, *labels: str, **options: Any
) -> LoadResult:
    """Load fixtures with the historical models in ``apps``."""
    load_options = LoadOptions.from_kwargs(options)
    alias = schema_editor.connection.alias
    state = describe_state(apps)
    if load_options.database not in (None, alias):
        return LoadResult(state=state)
    return load(labels, apps=apps, options=load_options, using=alias, state=state)


def unload_fixture(
    apps: Apps, schema_editor: BaseDatabaseSchemaEditor, *labels: str, **options: Any
) -> int:
    """Delete the objects the fixtures define; return how many rows went."""
    load_options = LoadOptions.from_kwargs(options)
    alias = schema_editor.connection.alias
    if load_options.database not in (None, alias):
        return 0
    return unload(
        labels,
        apps=apps,
        options=load_options,
        using=alias,
        state=describe_state(apps),
    )


@deconstructible(path="histfixtures.runpython.FixtureLoader")
class FixtureLoader:
    """A RunPython function that loads fixtures; see ``loader()``."""

    def __init__(self, *labels: str, **options: Any) -> None:
        if not labels:
            raise ValueError("Name at least one fixture.")
        LoadOptions.from_kwargs(options)  # Fail when the migration is imported.
        self.labels = labels
        self.options = options

    def __call__(self, apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> Any:
        return load_fixture(apps, schema_editor, *self.labels, **self.options)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FixtureLoader) or type(other) is not type(self):
            return NotImplemented
        return self.labels == other.labels and self.options == other.options

    def __hash__(self) -> int:
        return hash((type(self), self.labels))

    def __repr__(self) -> str:
        arguments = [repr(label) for label in self.labels]
        arguments += [f"{name}={value!r}" for name, value in self.options.items()]
        return f"{type(self).__name__}({', '.join(arguments)})"


@deconstructible(path="histfixtures.runpython.FixtureUnloader")
class FixtureUnloader(FixtureLoader):
    """A RunPython function that removes fixtures' objects; see ``unloader()``."""

    def __call__(self, apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> Any:
        return unload_fixture(apps, schema_editor, *self.labels, **self.options)


def loader(*labels: str, **options: Any) -> FixtureLoader:
    """Return a RunPython function that loads the fixtures."""
    return FixtureLoader(*labels, **options)


def unloader(*labels: str, **options: Any) -> FixtureUnloader:
    """Return a RunPython function that unloads the fixtures."""
    return FixtureUnloader(*labels, **options)
