"""
Checking a fixture against a migration state without a database.

The system checks (``histfixtures.checks``) read each fixture of each
``LoadFixture`` as raw ``{"model", "pk", "fields"}`` objects, with the
format parsers of ``histfixtures.serializers`` (and a small XML reader
here), and compare the model labels and field names with the model states
of the operation's migration state. No model is rendered unless a natural
key has to be looked up, and no database is opened.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any
from xml.dom import pulldom
from xml.dom.minidom import Element

from django.apps import apps as live_apps
from django.apps.registry import Apps
from django.core.serializers import xml_serializer
from django.db import DEFAULT_DB_ALIAS
from django.db.migrations.state import ModelState, ProjectState

from histfixtures.discovery import FixtureFile
from histfixtures.exceptions import FixtureError, MalformedFixtureError
from histfixtures.natural_keys import NaturalKeyResolver, is_natural_key
from histfixtures.options import LoadOptions
from histfixtures.serializers import json, jsonl, pyyaml
from histfixtures.types import RawObject

# The formats read here; a custom format's fixtures are not inspected.
RAW_FORMATS = ("json", "jsonl", "yaml", "xml")
_CHUNK_SIZE = 64 * 1024


def fixture_digest(fixture: FixtureFile) -> str:
    """The SHA-256 of a fixture's content (decompressed), as hex."""
    digest = hashlib.sha256()
    with closing(fixture.open()) as stream:
        while chunk := stream.read(_CHUNK_SIZE):
            digest.update(chunk.encode() if isinstance(chunk, str) else chunk)
    return digest.hexdigest()


def read_raw_objects(fixture: FixtureFile) -> Iterator[RawObject]:
    """Yield the objects of a fixture file as Python-format dicts."""
    parsers = {"json": json.parse, "jsonl": jsonl.parse, "yaml": pyyaml.parse}
    try:
        with closing(fixture.open()) as stream:
            objects = (
                parse_xml(stream)
                if fixture.format == "xml"
                else parsers[fixture.format](stream)
            )
            for index, obj in enumerate(objects):
                if not isinstance(obj, dict) or "model" not in obj:
                    raise MalformedFixtureError(
                        "A fixture object must be a mapping with a 'model' key.",
                        index=index,
                    )
                if not isinstance(obj.get("fields"), dict):
                    # Required, as the loaders and loaddata require it.
                    raise MalformedFixtureError(
                        "A fixture object must have a 'fields' mapping (which "
                        "may be empty).",
                        index=index,
                    )
                yield obj
    except FixtureError as exc:
        exc.with_context(fixture=str(fixture))
        raise


def parse_xml(stream: Any) -> Iterator[RawObject]:
    """Read Django's XML format into raw objects, natural keys as lists."""
    events = pulldom.parse(stream, xml_serializer.DefusedExpatParser())
    count = 0
    try:
        for event, node in events:
            if event == "START_ELEMENT" and node.nodeName == "object":
                assert isinstance(node, Element)
                events.expandNode(node)  # type: ignore[arg-type]
                yield _xml_object(node)
                count += 1
    except Exception as exc:
        raise MalformedFixtureError(f"Malformed XML: {exc}", index=count) from exc


def _xml_object(node: Element) -> RawObject:
    obj: RawObject = {"model": node.getAttribute("model"), "fields": {}}
    if node.hasAttribute("pk"):
        obj["pk"] = node.getAttribute("pk")
    for field_node in node.getElementsByTagName("field"):
        name = field_node.getAttribute("name")
        if field_node.getAttribute("rel") == "ManyToManyRel":
            obj["fields"][name] = [
                _xml_key(item)
                if not item.hasAttribute("pk")
                else item.getAttribute("pk")
                for item in field_node.getElementsByTagName("object")
            ]
        elif field_node.getElementsByTagName("None"):
            obj["fields"][name] = None
        elif field_node.getElementsByTagName("natural"):
            obj["fields"][name] = _xml_key(field_node)
        else:
            obj["fields"][name] = xml_serializer.getInnerText(field_node).strip()
    return obj


def _xml_key(node: Element) -> list[str]:
    return [
        xml_serializer.getInnerText(key).strip()
        for key in node.getElementsByTagName("natural")
    ]


@dataclass
class Problem:
    """Objects of a fixture that do not fit the state, grouped by cause."""

    kind: str  # "model", "field" or "natural_key"
    model: str
    message: str
    index: int
    pk: Any
    field: str | None = None
    # The fields of the model ("field"), the referenced model ("natural_key").
    hint: str | None = None
    count: int = 1


@dataclass
class _Validator:
    state: ProjectState
    options: LoadOptions
    render: Callable[[], Apps]
    problems: dict[tuple[str, str, str | None, str], Problem] = field(
        default_factory=dict
    )
    _apps: Apps | None = None
    _resolver: NaturalKeyResolver | None = None

    def add(self, problem: Problem) -> None:
        key = (problem.kind, problem.model, problem.field, problem.message)
        if key in self.problems:
            self.problems[key].count += 1
        else:
            self.problems[key] = problem

    def check(self, index: int, obj: RawObject) -> None:
        label = str(obj["model"])
        if self.options.excludes_label(label):
            return
        fields = self._fields(label)
        if fields is None:
            if not self.options.ignorenonexistent:
                self.add(Problem("model", label, "", index, obj.get("pk")))
            return
        for name, value in obj.get("fields", {}).items():
            model_field = fields.get(name)
            if model_field is None:
                if not self.options.ignorenonexistent:
                    self.add(
                        Problem(
                            "field",
                            label,
                            "",
                            index,
                            obj.get("pk"),
                            field=name,
                            hint=", ".join(sorted(fields)),
                        )
                    )
            elif getattr(model_field, "remote_field", None) is not None:
                self._check_reference(index, obj, label, name, model_field, value)

    def _fields(self, label: str) -> dict[str, Any] | None:
        """The fields a fixture may name for a model label, or None."""
        app_label, _, model_name = label.partition(".")
        if app_label in self.state.real_apps:
            try:
                Model = live_apps.get_model(app_label, model_name)
            except LookupError:
                return None
            meta = Model._meta
            return {f.name: f for f in [*meta.concrete_fields, *meta.many_to_many]}
        model_state = self.state.models.get((app_label, model_name.lower()))
        if model_state is None:
            return None
        return self._state_fields(model_state)

    def _state_fields(self, model_state: ModelState) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for base in model_state.bases:
            if isinstance(base, str):
                app_label, _, name = base.lower().partition(".")
                parent = self.state.models.get((app_label, name))
                if parent is not None:
                    fields.update(self._state_fields(parent))
        fields.update(model_state.fields)
        return fields

    def _check_reference(
        self,
        index: int,
        obj: RawObject,
        label: str,
        name: str,
        model_field: Any,
        value: Any,
    ) -> None:
        if model_field.many_to_many:
            # A value that is not a list is the load's to report, with its index.
            items = value if is_natural_key(value) else ()
            keys = [item for item in items if is_natural_key(item)]
        else:
            keys = [value] if is_natural_key(value) else []
        if not keys:
            return
        target = _target_label(model_field.remote_field.model, label)
        problem = self._key_problem(target, keys[0])
        if problem is not None:
            message, target_label = problem
            self.add(
                Problem(
                    "natural_key",
                    label,
                    message,
                    index,
                    obj.get("pk"),
                    field=name,
                    hint=target_label,
                )
            )

    def _key_problem(self, target: str, key: Any) -> tuple[str, str] | None:
        """Why a natural key of ``target`` cannot be resolved (and its label)."""
        if self._apps is None:
            self._apps = self.render()
            self._resolver = NaturalKeyResolver(
                self._apps, DEFAULT_DB_ALIAS, self.options.natural_keys
            )
        assert self._resolver is not None
        try:
            Target = self._apps.get_model(target)
        except LookupError:
            return None  # Reported as an unknown model when it is loaded.
        label = Target._meta.label
        # The resolver's own rule (option, setting, built-in, manager).
        if self._resolver._key(Target) is None:
            return f"{label} has no natural key at that state", label
        try:
            length = self._resolver.key_length(Target)
        except FixtureError as exc:
            return exc.message, label
        if length is not None and length != len(key):
            return f"its natural key has {length} value(s), not {len(key)}", label
        return None


def _target_label(model: Any, label: str) -> str:
    if not isinstance(model, str):
        return str(model._meta.label_lower)
    if model == "self":
        return label.lower()
    if "." not in model:
        return f"{label.partition('.')[0]}.{model.lower()}"
    return model.lower()


def find_problems(
    objects: Iterable[RawObject],
    state: ProjectState,
    options: LoadOptions,
    render: Callable[[], Apps] | None = None,
) -> list[Problem]:
    """
    Check raw objects against ``state``: unknown models, unknown fields and
    natural keys that cannot be resolved, one Problem per cause.

    ``render`` returns the state's rendered apps; it is called only when a
    natural key needs a model's key definition.
    """
    validator = _Validator(state, options, render or (lambda: state.apps))
    for index, obj in enumerate(objects):
        validator.check(index, obj)
    return list(validator.problems.values())
