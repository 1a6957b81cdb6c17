"""
Deserializing fixtures with the models of a given app registry.

One small module per format, as in ``django.core.serializers``. JSON, JSON
Lines and YAML are parsed into Python-format dicts and built into objects by
``histfixtures.serializers.python``; XML has its own deserializer. A format
registered through SERIALIZATION_MODULES is run by Django's machinery inside
``historical_models(apps)``, so it also sees the historical models.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

from django.apps.registry import Apps
from django.core import serializers
from django.core.serializers.base import DeserializedObject
from django.db import DEFAULT_DB_ALIAS

from histfixtures.context import historical_models
from histfixtures.exceptions import FixtureError, MalformedFixtureError
from histfixtures.natural_keys import NaturalKeyResolver
from histfixtures.serializers import json, jsonl, pyyaml, xml
from histfixtures.serializers.python import Deserializer as PythonDeserializer
from histfixtures.types import NaturalKeys

Input = IO[Any] | str | bytes

# Formats parsed here into Python-format dicts, and the Django serializer
# module whose format they replace.
_PARSERS: dict[str, tuple[str, Callable[[Input], Iterator[Any]]]] = {
    "json": ("django.core.serializers.json", json.parse),
    "jsonl": ("django.core.serializers.jsonl", jsonl.parse),
    "yaml": ("django.core.serializers.pyyaml", pyyaml.parse),
}
_DJANGO_XML_MODULE = "django.core.serializers.xml_serializer"


def read_objects(
    format: str,
    stream_or_string: Input | Iterable[Any],
    *,
    apps: Apps,
    using: str = DEFAULT_DB_ALIAS,
    ignorenonexistent: bool = False,
    handle_forward_references: bool = True,
    natural_keys: NaturalKeyResolver | None = None,
) -> Iterator[tuple[int, DeserializedObject]]:
    """
    Yield ``(index, DeserializedObject)`` for each object of a fixture.

    Every error about the content becomes a FixtureError carrying the index
    of the object being read.
    """
    options = {
        "apps": apps,
        "natural_keys": natural_keys or NaturalKeyResolver(apps, using),
        "using": using,
        "ignorenonexistent": ignorenonexistent,
        "handle_forward_references": handle_forward_references,
    }
    deserializer = _deserializer(format, stream_or_string, options)
    iterator = iter(deserializer)
    index = 0
    while True:
        try:
            obj = next(iterator)
        except StopIteration:
            return
        except FixtureError:
            # The deserializers and parsers set the index where it is known.
            raise
        except Exception as exc:
            # A parse error: it is in the object after the last one read.
            raise MalformedFixtureError(
                f"Cannot read the {format} fixture: {exc}", index=index
            ) from exc
        # Our deserializers know the position in the file, skipped objects
        # included; a custom format's is the count of objects so far.
        yield getattr(deserializer, "position", index), obj
        index += 1


def deserialize(
    format: str,
    stream_or_string: Input | Iterable[Any],
    *,
    apps: Apps,
    using: str = DEFAULT_DB_ALIAS,
    ignorenonexistent: bool = False,
    handle_forward_references: bool = True,
    natural_keys: NaturalKeys | None = None,
) -> Iterator[DeserializedObject]:
    """
    Deserialize a fixture with the models in ``apps``.

    Like ``django.core.serializers.deserialize``, but every model is looked
    up in ``apps`` (usually the ``apps`` a migration hands to RunPython), and
    JSON and JSON Lines are parsed incrementally.
    """
    for _, obj in read_objects(
        format,
        stream_or_string,
        apps=apps,
        using=using,
        ignorenonexistent=ignorenonexistent,
        handle_forward_references=handle_forward_references,
        # deserialize() saves nothing, so it creates no missing ContentType.
        natural_keys=NaturalKeyResolver(apps, using, natural_keys, loading=False),
    ):
        yield obj


def _deserializer(
    format: str, stream_or_string: Any, options: dict[str, Any]
) -> Iterable[DeserializedObject]:
    if format == "python":
        return PythonDeserializer(stream_or_string, **options)
    try:
        registered = serializers.get_deserializer(format)
    except serializers.SerializerDoesNotExist as exc:
        raise MalformedFixtureError(
            f"{format!r} is not a known serialization format."
        ) from exc
    builtin = _PARSERS.get(format)
    if builtin is not None and registered.__module__ == builtin[0]:
        return PythonDeserializer(builtin[1](stream_or_string), **options)
    if format == "xml" and registered.__module__ == _DJANGO_XML_MODULE:
        if isinstance(stream_or_string, bytes):
            stream_or_string = io.BytesIO(stream_or_string)
        return xml.Deserializer(stream_or_string, **options)
    return _registered_format(registered, stream_or_string, options)


def _registered_format(
    deserializer_class: Any, stream_or_string: Any, options: dict[str, Any]
) -> Iterator[DeserializedObject]:
    """
    Run a custom format's own deserializer against the historical models.

    The block is entered around each step only, never across a ``yield``:
    the caller must not see the historical models between two objects.
    """
    apps = options.pop("apps")
    options.pop("natural_keys")
    with historical_models(apps):
        iterator = iter(deserializer_class(stream_or_string, **options))
    while True:
        with historical_models(apps):
            obj = next(iterator, None)
        if obj is None:
            return
        yield obj
