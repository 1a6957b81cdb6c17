"""
XML with historical models.

Django's XML deserializer looks models up in the global registry from two
places, ``<object model=...>`` and ``<field rel=... to=...>``; both go through
``_get_model_from_node``, which is the seam overridden here.
"""

from __future__ import annotations

from typing import IO, Any
from xml.dom.minidom import Element
from xml.sax import SAXParseException

from django.apps.registry import Apps
from django.core.exceptions import FieldDoesNotExist
from django.core.serializers import base, xml_serializer
from django.db import DEFAULT_DB_ALIAS, connections, models

from histfixtures.conversions import column_converter, integer_bounds
from histfixtures.exceptions import (
    FixtureError,
    InvalidValueError,
    MalformedFixtureError,
    UnknownFieldError,
)
from histfixtures.expected import OutOfRange, describe
from histfixtures.history import describe_field_history
from histfixtures.natural_keys import NaturalKeyResolver
from histfixtures.serializers.python import get_model


class Deserializer(xml_serializer.Deserializer):
    """Deserialize Django's XML format with the models of ``apps``."""

    def __init__(
        self,
        stream_or_string: IO[Any] | str | bytes,
        *,
        apps: Apps,
        natural_keys: NaturalKeyResolver,
        using: str = DEFAULT_DB_ALIAS,
        ignorenonexistent: bool = False,
        handle_forward_references: bool = True,
    ) -> None:
        super().__init__(
            stream_or_string,
            using=using,
            ignorenonexistent=ignorenonexistent,
            handle_forward_references=handle_forward_references,
        )
        self.apps = apps
        self.natural_keys = natural_keys
        self.position = -1
        # The fields of each model whose column holds integers.
        self._integer_fields: dict[type[models.Model], list[tuple[Any, Any]]] = {}

    def __next__(self) -> base.DeserializedObject:
        try:
            obj: base.DeserializedObject = super().__next__()
            return obj
        except SAXParseException as exc:
            # The parser reads ahead in blocks, so a syntax error cannot be
            # pinned on an object; its line and column can.
            raise MalformedFixtureError(
                f"Malformed XML at line {exc.getLineNumber()}, column "
                f"{exc.getColumnNumber()}: {exc.getMessage()}."
            ) from exc

    def _handle_object(self, node: Element) -> base.DeserializedObject:
        self.position += 1
        pk = node.getAttribute("pk") or None
        label = node.getAttribute("model")
        try:
            Model = self._get_model_from_node(node, "model")
            label = Model._meta.label
            if not self.ignore:
                self._check_field_names(Model, node)
            obj: base.DeserializedObject = super()._handle_object(node)  # type: ignore[misc]
            self._check_ranges(obj.object)
            if obj.object.pk is None or not _gives_pk(node, Model):
                # Matched by natural key, even if the pk field has a default.
                self.natural_keys.assign_pk(obj.object)
            return obj
        except FixtureError as exc:
            exc.with_context(index=self.position, pk=pk, model=label)
            raise
        except Exception as exc:
            error = self._blame(Model, node, exc)
            error.with_context(index=self.position, pk=pk, model=label)
            raise error from exc

    def _blame(
        self, Model: type[models.Model], node: Element, exc: Exception
    ) -> FixtureError:
        """
        The error for an object Django's XML code refused: the first value
        (pk attribute, then fields in order) that does not convert.
        """
        connection = connections[self.db]
        label = Model._meta.label
        # (field, the field whose to_python() converts the value, value)
        values: list[tuple[Any, Any, str]] = []
        pk_field = Model._meta.pk
        if node.hasAttribute("pk"):
            values.append((pk_field, pk_field, node.getAttribute("pk")))
        for field_node in node.getElementsByTagName("field"):
            try:
                field = Model._meta.get_field(field_node.getAttribute("name"))
            except FieldDoesNotExist:
                continue
            if field.many_to_many:
                items = field_node.getElementsByTagName("object")
                target_pk = field.related_model._meta.pk  # type: ignore[union-attr]
                values += [
                    (field, target_pk, item.getAttribute("pk")) for item in items
                ]
            elif not (
                field_node.getElementsByTagName("None")
                or field_node.getElementsByTagName("natural")
            ):
                text = xml_serializer.getInnerText(field_node).strip()
                values.append((field, field, text))
        for field, converting_field, value in values:
            try:
                column_converter(converting_field, connection)(value)
            except Exception as cause:
                return InvalidValueError(
                    describe(label, field, value, cause), field=field.name, value=value
                )
        return InvalidValueError(f"{label}: {exc}")

    def _check_ranges(self, instance: models.Model) -> None:
        """Refuse an integer its column cannot hold, as the other formats do."""
        Model = type(instance)
        if Model not in self._integer_fields:
            connection = connections[self.db]
            self._integer_fields[Model] = [
                (field, column_converter(field, connection))
                for field in Model._meta.concrete_fields
                if integer_bounds(field, connection) is not None
                # A generated field has no value before the row is saved.
                and not getattr(field, "generated", False)
            ]
        for field, convert in self._integer_fields[Model]:
            value = getattr(instance, field.attname)
            if type(value) is not int:
                continue  # None, or a DatabaseDefault of a field left out.
            try:
                convert(value)
            except OutOfRange as exc:
                raise InvalidValueError(
                    describe(Model._meta.label, field, value, exc),
                    field=field.name,
                    value=value,
                ) from exc

    def _check_field_names(self, Model: type[models.Model], node: Element) -> None:
        meta = Model._meta
        names = {f.name for f in [*meta.concrete_fields, *meta.many_to_many]}
        for field_node in node.getElementsByTagName("field"):
            name = field_node.getAttribute("name")
            if not name:
                raise MalformedFixtureError(
                    'Expected a "name" attribute on each <field> of an <object>, '
                    "got a <field> without one."
                )
            if name not in names:
                raise UnknownFieldError(
                    f"{meta.label} has no field named {name!r} at this migration "
                    "state.",
                    field=name,
                    hint=describe_field_history(
                        meta.app_label, meta.model_name or "", name
                    )
                    + f"Its fields here are: {', '.join(sorted(names))}.",
                )

    def _handle_fk_field_node(
        self, node: Element, field: models.Field[Any, Any]
    ) -> Any:
        keys = node.getElementsByTagName("natural")
        if not keys or node.getElementsByTagName("None"):
            return super()._handle_fk_field_node(node, field)  # type: ignore[misc]
        values = [xml_serializer.getInnerText(k).strip() for k in keys]
        return self._resolve(field, values)

    def _handle_m2m_field_node(
        self, node: Element, field: models.Field[Any, Any]
    ) -> Any:
        Target = field.related_model
        convert = column_converter(Target._meta.pk, connections[self.db])  # type: ignore[union-attr]
        values = []
        for object_node in node.getElementsByTagName("object"):
            keys = object_node.getElementsByTagName("natural")
            if not keys:
                values.append(convert(object_node.getAttribute("pk")))
                continue
            natural = [xml_serializer.getInnerText(k).strip() for k in keys]
            resolved = self._resolve(field, natural)
            if resolved is base.DEFER_FIELD:
                return base.DEFER_FIELD
            values.append(resolved)
        return values

    def _resolve(self, field: models.Field[Any, Any], values: list[str]) -> Any:
        try:
            return self.natural_keys.resolve_reference(
                field, values, defer=self.handle_forward_references
            )
        except FixtureError as exc:
            exc.with_context(field=field.name)
            raise

    def _get_model_from_node(self, node: Element, attr: str) -> type[models.Model]:
        identifier = node.getAttribute(attr)
        if not identifier:
            raise MalformedFixtureError(
                f'Expected a "{attr}" attribute naming a model as '
                f'"app_label.ModelName" on <{node.nodeName}>, got none.'
            )
        return get_model(self.apps, identifier)


def _gives_pk(node: Element, Model: type[models.Model]) -> bool:
    """Whether an <object> gives its pk, as an attribute or a field."""
    pk_name = Model._meta.pk.attname
    return node.hasAttribute("pk") or any(
        field.getAttribute("name") == pk_name
        for field in node.getElementsByTagName("field")
    )
