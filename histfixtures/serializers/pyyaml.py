"""
YAML, loaded safely.

PyYAML's safe loader refuses ``!!python/...`` tags, so a fixture can never
construct arbitrary Python objects. YAML documents are not streamed: PyYAML
builds the whole document before returning it, as Django's own loader does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

import yaml

from histfixtures.exceptions import MalformedFixtureError

try:
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # PyYAML built without libyaml.
    from yaml import SafeLoader  # type: ignore[assignment]


def parse(stream_or_string: IO[Any] | str | bytes) -> Iterator[Any]:
    """Yield each object of the YAML document's top-level list."""
    try:
        document = yaml.load(stream_or_string, Loader=SafeLoader)
    except yaml.YAMLError as exc:
        raise MalformedFixtureError(f"Malformed YAML: {exc}") from exc
    if document is None:
        return
    if not isinstance(document, list):
        raise MalformedFixtureError(
            "A YAML fixture must be a list of objects; "
            f"got a {type(document).__name__}."
        )
    yield from document
