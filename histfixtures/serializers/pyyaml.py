"""
YAML, loaded safely.

PyYAML's safe loader refuses ``!!python/...`` tags, so a fixture can never
construct arbitrary Python objects. YAML documents are not streamed: PyYAML
builds the whole document before returning it, as Django's own loader does.

PyYAML is imported when a YAML fixture is read, not when this module is: as
with Django's own YAML serializer, a project without PyYAML loads every
other format, and only YAML fails, with a message that says what to install.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from histfixtures.exceptions import FixtureError, MalformedFixtureError, shorten


def parse(stream_or_string: IO[Any] | str | bytes) -> Iterator[Any]:
    """Yield each object of the YAML document's top-level list."""
    try:
        import yaml
    except ImportError as exc:
        raise FixtureError(
            "Reading a YAML fixture needs PyYAML, which is not installed.",
            hint="pip install PyYAML",
        ) from exc
    # libyaml's C loader when PyYAML was built with it.
    SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        document = yaml.load(stream_or_string, Loader=SafeLoader)
    except yaml.YAMLError as exc:
        raise MalformedFixtureError(f"Malformed YAML: {exc}") from exc
    except ValueError as exc:
        # A scalar PyYAML cannot construct: a date such as 2024-13-45, an
        # integer with more digits than int() reads.
        raise MalformedFixtureError(
            f"Malformed YAML: a value cannot be read: {exc}."
        ) from exc
    if document is None:
        return
    if not isinstance(document, list):
        raise MalformedFixtureError(
            "Expected a list of objects at the top of the YAML fixture, "
            f"got {shorten(document)}."
        )
    yield from document
