"""
YAML, loaded safely.

PyYAML's safe loader refuses ``!!python/...`` tags, so a fixture can never
construct arbitrary Python objects. YAML documents are not streamed: PyYAML
builds the whole document before returning it, as Django's own loader does.

Aliases are bounded. An alias (``*name``) stands for the whole node its
anchor (``&name``) marks, so ten lists of ten aliases to the list before
make a few hundred bytes stand for a billion values (the "billion laughs"):
PyYAML shares the nodes, but converting a field's value, merging keys or
reading the objects visits each of them. The document is therefore composed
first, without building any Python object, and the number of nodes it holds
with every alias expanded is counted, each node of the file once; the
document is built only if that number stays within EXPANSION_FACTOR times
the nodes written in the file, or EXPANSION_ALLOWANCE nodes, whichever is
larger. Anchors used as YAML intends (a mapping of defaults merged into
each object with ``<<: *defaults``, a value repeated) stay far below it.

PyYAML is imported when a YAML fixture is read, not when this module is: as
with Django's own YAML serializer, a project without PyYAML loads every
other format, and only YAML fails, with a message that says what to install.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from histfixtures.exceptions import FixtureError, MalformedFixtureError, shorten

#: The expanded document may hold this many times the nodes written...
EXPANSION_FACTOR = 100
#: ...or this many nodes, whichever is larger.
EXPANSION_ALLOWANCE = 1_000_000


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
        # What yaml.load() does, with the count between composing and building.
        loader = SafeLoader(stream_or_string)
        try:
            node = loader.get_single_node()
            check_expansion(node)
            document = None if node is None else loader.construct_document(node)
        finally:
            loader.dispose()
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


def check_expansion(root: Any) -> None:
    """
    Refuse a composed document whose aliases expand it past the limit (see
    the module docstring), or that contains itself through an alias.
    """
    if root is None:
        return
    written, expanded = expanded_size(root)
    limit = max(EXPANSION_ALLOWANCE, EXPANSION_FACTOR * written)
    if expanded > limit:
        raise MalformedFixtureError(
            f"The YAML document's aliases expand it to more than {limit:,} "
            f"nodes; it is written with {written:,}, and expanding may make a "
            f"document at most {EXPANSION_FACTOR} times as large (or "
            f"{EXPANSION_ALLOWANCE:,} nodes).",
            hint="Aliases (*name) nested in the anchored values they repeat "
            "(&name) multiply: this is the shape of an alias bomb. Write the "
            "repeated values out, or anchor only values that are not "
            "themselves made of aliases.",
        )


#: Expanded sizes are not counted past this (the count stays a machine int).
_CAP = 2**62


def expanded_size(root: Any) -> tuple[int, int]:
    """
    ``(nodes written, nodes with every alias expanded)`` of a composed YAML
    node graph, visiting each node once (iteratively: a deeply nested
    document must not exhaust the stack). The expanded count stops at
    _CAP; a node that contains itself through an alias is refused.
    """
    sizes: dict[int, int] = {}  # id(node) -> expanded size, once finished
    on_path: set[int] = set()  # Entered and not finished: the current path.
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            on_path.discard(key)
            total = 1 + sum(sizes[id(child)] for child in _children(node))
            sizes[key] = min(total, _CAP)
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise MalformedFixtureError(
                "The YAML document contains itself through an alias (an anchored "
                "value refers to its own anchor): it has no end.",
                hint="Remove the alias that refers to the value it is inside.",
            )
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node))
    return len(sizes), sizes[id(root)]


def _children(node: Any) -> Iterator[Any]:
    """The nodes a sequence or mapping node holds (a mapping's keys too)."""
    value = node.value
    if isinstance(value, list):  # A sequence's nodes, a mapping's pairs.
        for item in value:
            if isinstance(item, tuple):
                yield from item
            else:
                yield item
