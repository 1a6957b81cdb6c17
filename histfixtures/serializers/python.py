"""
Build model instances from Python-format objects with historical models.

This is the seam every text format goes through (JSON, JSON Lines and YAML
parse into the same ``{"model", "pk", "fields"}`` dicts). It subclasses
Django's own deserializer so the shape of the data, forward references and
DeserializedObject stay Django's; what changes is where models come from
(the ``apps`` registry passed in) and the errors, which name the field.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeAlias

from django.apps.registry import Apps
from django.core.serializers import base
from django.core.serializers.python import Deserializer as PythonDeserializer
from django.db import DEFAULT_DB_ALIAS, connections, models

from histfixtures.conversions import Convert, column_converter
from histfixtures.exceptions import (
    FixtureError,
    InvalidValueError,
    MalformedFixtureError,
    UnknownFieldError,
    UnknownModelError,
    shorten,
)
from histfixtures.expected import describe
from histfixtures.history import describe_field_history, model_history
from histfixtures.natural_keys import NaturalKeyResolver, is_natural_key
from histfixtures.rows import FixtureObject, row_fields

# The fields as fixtures name them (concrete fields, foreign keys and m2m),
# each with its to_python().
FieldMap: TypeAlias = "dict[str, tuple[models.Field[Any, Any], Convert]]"


class Deserializer(PythonDeserializer):
    """Deserialize Python-format objects with the models of ``apps``."""

    def __init__(
        self,
        object_list: Iterable[Any],
        *,
        apps: Apps,
        natural_keys: NaturalKeyResolver,
        using: str = DEFAULT_DB_ALIAS,
        ignorenonexistent: bool = False,
        handle_forward_references: bool = True,
    ) -> None:
        super().__init__(
            object_list,
            using=using,
            ignorenonexistent=ignorenonexistent,
            handle_forward_references=handle_forward_references,
        )
        self.apps = apps
        self.using = using
        self.handle_forward_references = handle_forward_references
        self.natural_keys = natural_keys
        # Index of the object being handled, for error messages.
        self.position = -1
        self._models: dict[str, type[models.Model]] = {}
        self._plans: dict[type[models.Model], _ModelPlan] = {}

    def __iter__(self) -> Iterator[base.DeserializedObject]:  # type: ignore[override]
        stream = self.stream
        if isinstance(stream, dict | str | bytes) or not isinstance(stream, Iterable):
            raise MalformedFixtureError(
                f"Expected a list of objects, got {shorten(stream)}."
            )
        for position, obj in enumerate(stream):
            self.position = position
            try:
                yield from self._handle_object(obj)
            except FixtureError as exc:
                exc.with_context(index=position)
                if isinstance(obj, dict):
                    exc.with_context(model=obj.get("model"), pk=obj.get("pk"))
                raise

    def _handle_object(self, obj: Any) -> Iterator[base.DeserializedObject]:
        # In loaddata's order: an object of an unknown model is skipped with
        # ignorenonexistent before its "fields" are looked at.
        label = _model_label(obj)
        try:
            Model = self._get_model_from_node(label)
        except UnknownModelError:
            if self.ignorenonexistent:  # type: ignore[attr-defined]
                return
            raise
        fields = _fields(obj)
        try:
            yield self._build(Model, obj, fields)
        except FixtureError as exc:
            exc.with_context(model=Model._meta.label)
            raise

    def _build(
        self, Model: type[models.Model], obj: dict[str, Any], fields: dict[str, Any]
    ) -> base.DeserializedObject:
        plan = self._plan(Model)
        pk_attname = plan.pk.attname
        data: dict[str, Any] = {}
        if "pk" in obj:
            data[pk_attname] = _to_python(plan.pk, obj["pk"], plan.pk_convert)
        m2m_data: dict[str, Sequence[Any]] = {}
        deferred_fields: dict[models.Field[Any, Any], Any] = {}
        field_map = plan.fields
        for name, value in fields.items():
            try:
                field, convert = field_map[name]
            except KeyError:
                # As loaddata, ignorenonexistent skips the names the model
                # does not know, not those of its other fields (a reverse
                # relation), which no fixture can set.
                if self.ignorenonexistent and name not in plan.names:  # type: ignore[attr-defined]
                    continue
                raise _unknown_field(Model, name, value) from None
            if field.many_to_many:
                values = self._handle_m2m_field_node(field, value)
                if values == base.DEFER_FIELD:
                    deferred_fields[field] = value
                else:
                    m2m_data[field.name] = values
            elif field.many_to_one or field.one_to_one:
                fk_value = self._handle_fk_field_node(field, value, convert)
                if fk_value == base.DEFER_FIELD:
                    deferred_fields[field] = value
                else:
                    data[field.attname] = fk_value
            else:
                try:  # _to_python(), inline: this runs for most values.
                    data[field.name] = convert(value)
                except Exception as exc:
                    raise _invalid_value(field, value, exc) from exc
        # A plain model's object is kept as its values (see rows.py).
        columns = plan.row_fields
        if columns is not None and data.get(pk_attname) is not None:
            if len(data) < len(columns):
                for field in columns:
                    if field.attname not in data:
                        data[field.attname] = field.get_default()
            return FixtureObject(Model, data, m2m_data, deferred_fields)
        instance = Model(**data)
        if data.get(pk_attname) is None:
            # As Django's build_instance(): an object the fixture gives no pk
            # is matched by natural key, even if its pk field has a default.
            self.natural_keys.assign_pk(instance)
        return base.DeserializedObject(instance, m2m_data, deferred_fields)

    def _handle_m2m_field_node(
        self, field: models.Field[Any, Any], field_value: Any
    ) -> Any:
        if not is_natural_key(field_value):
            raise InvalidValueError(
                describe(field.model._meta.label, field, field_value, None),
                field=field.name,
                value=field_value,
            )
        target = self._plan(field.related_model)  # type: ignore[arg-type]
        values = []
        for item in field_value:
            if not is_natural_key(item):
                try:
                    values.append(target.pk_convert(item))
                except Exception as exc:
                    raise _invalid_value(field, field_value, exc) from exc
                continue
            with _naming(field):
                resolved = self.natural_keys.resolve_reference(
                    field, item, defer=self.handle_forward_references
                )
            if resolved is base.DEFER_FIELD:
                return base.DEFER_FIELD
            values.append(resolved)
        return values

    def _handle_fk_field_node(
        self, field: models.Field[Any, Any], field_value: Any, convert: Convert
    ) -> Any:
        if is_natural_key(field_value):
            with _naming(field):
                return self.natural_keys.resolve_reference(
                    field, field_value, defer=self.handle_forward_references
                )
        try:
            if type(field_value) is int:
                # What Django's deserialize_fk_value() ends in, directly.
                return convert(field_value)
            value = super()._handle_fk_field_node(field, field_value)  # type: ignore[misc]
            # convert() of an int only checks that its column holds it.
            return convert(value) if type(value) is int else value
        except Exception as exc:
            raise _invalid_value(field, field_value, exc) from exc

    def _get_model_from_node(self, model_identifier: Any) -> type[models.Model]:
        # Looked up once per label: a fixture names a few models many times.
        if type(model_identifier) is not str:
            return get_model(self.apps, model_identifier)  # Explains the error.
        try:
            return self._models[model_identifier]
        except KeyError:
            Model = self._models[model_identifier] = get_model(
                self.apps, model_identifier
            )
            return Model

    def _plan(self, Model: type[models.Model]) -> _ModelPlan:
        try:
            return self._plans[Model]
        except KeyError:
            plan = self._plans[Model] = _ModelPlan(Model, connections[self.using])
            return plan


class _ModelPlan:
    """What reading the objects of one model needs, worked out once."""

    __slots__ = ("fields", "names", "pk", "pk_convert", "row_fields")

    def __init__(self, Model: type[models.Model], connection: Any) -> None:
        meta = Model._meta
        self.fields: FieldMap = {
            f.name: (f, column_converter(f, connection))
            for f in [*meta.concrete_fields, *meta.many_to_many]
        }
        # Every name of the model's fields, reverse relations included.
        self.names = frozenset(f.name for f in meta.get_fields())
        self.pk = meta.pk
        self.pk_convert = column_converter(meta.pk, connection)
        # Not None for a plain model, whose objects are kept as values.
        self.row_fields = row_fields(Model)


@contextmanager
def _naming(field: models.Field[Any, Any]) -> Iterator[None]:
    """Add the field to natural key errors raised while resolving it."""
    try:
        yield
    except FixtureError as exc:
        exc.with_context(field=field.name)
        raise


def get_model(apps: Apps, model_identifier: Any) -> type[models.Model]:
    """Look up "app_label.ModelName" in ``apps``, or explain what exists."""
    if type(model_identifier) is not str or model_identifier.count(".") != 1:
        # Not a label at all: loaddata refuses it even with ignorenonexistent,
        # which skips only the models that do not exist.
        raise MalformedFixtureError(
            'Expected "model" to name a model as "app_label.ModelName", '
            f"got {shorten(model_identifier)}.",
            model=_label(model_identifier),
        )
    try:
        Model: type[models.Model] = apps.get_model(model_identifier)
        return Model
    except LookupError as exc:
        hint = _unknown_model_hint(apps, str(model_identifier))
        raise UnknownModelError(
            f"Model {model_identifier!r} does not exist at this migration state.",
            model=str(model_identifier),
            hint=hint,
        ) from exc


def _unknown_model_hint(apps: Apps, identifier: str) -> str:
    app_label, _, model_name = identifier.rpartition(".")
    history = model_history(app_label, model_name.lower())
    if history:
        return (
            f"{identifier} was {'; '.join(history)}. Load the fixture at a state "
            "where the model exists: after the migration that creates it, "
            "before any that renames or deletes it."
        )
    names = {m.__name__.lower(): m._meta.label for m in apps.get_models()}
    close = difflib.get_close_matches(model_name.lower(), list(names), n=3)
    if close:
        return f"Did you mean {' or '.join(names[name] for name in close)}?"
    return "No model with a similar name exists at this migration state."


def _model_label(obj: Any) -> Any:
    if not isinstance(obj, dict):
        raise MalformedFixtureError(
            'Expected an object (a mapping with "model", "pk" and "fields"), '
            f"got {shorten(obj)}."
        )
    if "model" not in obj:
        raise MalformedFixtureError(
            'Expected a "model" key naming the model as "app_label.ModelName", '
            f"got an object without one: {shorten(obj)}.",
            pk=obj.get("pk"),
        )
    return obj["model"]


def _fields(obj: dict[str, Any]) -> dict[str, Any]:
    """
    The object's "fields" mapping. It is required, as loaddata requires it
    (even when empty): an object without it is more likely a hand-edited
    mistake (a misspelt key, fields put at the top level) than an object
    whose fields all take their defaults.
    """
    if "fields" not in obj:
        raise MalformedFixtureError(
            "Expected an object to have a 'fields' mapping (which may be empty), "
            f"got one with the keys {', '.join(map(repr, obj))}.",
            model=_label(obj["model"]),
            pk=obj.get("pk"),
            hint='Put the field values under "fields": '
            '{"model": ..., "pk": ..., "fields": {...}}.',
        )
    fields = obj["fields"]
    if not isinstance(fields, dict):
        raise MalformedFixtureError(
            'Expected "fields" to be a mapping of field names to values, '
            f"got {shorten(fields)}.",
            model=_label(obj["model"]),
            pk=obj.get("pk"),
        )
    return fields


def _label(model: Any) -> str:
    """An object's "model" value as a label for messages."""
    return model if isinstance(model, str) else shorten(model)


def _to_python(field: models.Field[Any, Any], value: Any, convert: Convert) -> Any:
    """``convert`` (the field's to_python()) of ``value``, or our error."""
    try:
        return convert(value)
    except Exception as exc:
        raise _invalid_value(field, value, exc) from exc


def _invalid_value(
    field: models.Field[Any, Any], value: Any, exc: Exception
) -> InvalidValueError:
    return InvalidValueError(
        describe(field.model._meta.label, field, value, exc),
        field=field.name,
        value=value,
    )


def _unknown_field(
    Model: type[models.Model], name: str, value: Any
) -> UnknownFieldError:
    names = sorted(
        f.name for f in [*Model._meta.concrete_fields, *Model._meta.many_to_many]
    )
    close = difflib.get_close_matches(str(name), names, n=1)
    meta = Model._meta
    return UnknownFieldError(
        f"{meta.label} has no field named {shorten(name)} at this migration state.",
        field=str(name),
        value=value,
        hint=describe_field_history(meta.app_label, meta.model_name or "", str(name))
        + (f"Did you mean {close[0]!r}? " if close else "")
        + f"Its fields here are: {', '.join(names)}. "
        "ignorenonexistent=True skips unknown fields.",
    )
