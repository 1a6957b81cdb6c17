"""
Dumping a database with the models of the migration state it is at.

``dumpdata`` uses the live models, which fit a database only once every
migration is applied. A database held at an older state (a test database
migrated back, upgradefixture's scratch database) is dumped here with the
historical models of its state instead, the models chosen as dumpdata
chooses them and written in the order dumpdata writes them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any

from django.apps import apps as live_apps
from django.apps.registry import Apps
from django.core import serializers
from django.core.management.base import CommandError
from django.db import models, router

ModelClass = type[models.Model]


def select_models(
    apps: Apps,
    labels: Sequence[str],
    *,
    exclude: Sequence[str] = (),
    primary_keys: Sequence[str] = (),
) -> list[ModelClass]:
    """The models to dump for ``app_label[.ModelName]`` labels, as dumpdata."""
    excluded_models, excluded_apps = _parse_labels(apps, exclude)
    if primary_keys and (len(labels) != 1 or "." not in labels[0]):
        raise CommandError("You can only use --pks option with one model")
    if not labels:
        labels = [config.label for config in apps.get_app_configs()]
    selected: dict[ModelClass, None] = {}
    for label in labels:
        app_label, _, model_name = label.partition(".")
        if app_label in excluded_apps:
            continue
        if model_name:
            selected[_get_model(apps, label)] = None
        else:
            _check_app(apps, app_label)
            selected.update(dict.fromkeys(_models_of(apps, app_label)))
    return [
        Model
        for Model in selected
        if Model not in excluded_models and not Model._meta.proxy
    ]


def serialize(
    format: str,
    Models: Sequence[ModelClass],
    stream: IO[str],
    *,
    using: str,
    indent: int | None = None,
    use_base_manager: bool = False,
    primary_keys: Sequence[str] = (),
    keep: Callable[[models.Model], bool] | None = None,
    use_natural_foreign_keys: bool = False,
    use_natural_primary_keys: bool = False,
) -> None:
    """
    Write every row of ``Models`` on ``using`` to ``stream``, by primary key.

    ``keep``, if given, chooses the rows written. Natural keys need models
    that have natural_key() (the live models); the models are then ordered
    by their dependencies, as dumpdata orders them.
    """
    if format not in serializers.get_public_serializer_formats():
        raise CommandError(f"Unknown serialization format: {format}")
    if use_natural_foreign_keys:
        by_app: dict[Any, list[ModelClass]] = {}
        for Model in Models:
            by_app.setdefault(Model._meta.app_config, []).append(Model)
        Models = serializers.sort_dependencies(by_app.items(), allow_cycles=True)
    objects = _objects(Models, using, use_base_manager, primary_keys)
    serializers.serialize(
        format,
        objects if keep is None else filter(keep, objects),
        indent=indent,
        stream=stream,
        use_natural_foreign_keys=use_natural_foreign_keys,
        use_natural_primary_keys=use_natural_primary_keys,
    )


def _objects(
    Models: Sequence[ModelClass],
    using: str,
    use_base_manager: bool,
    primary_keys: Sequence[str],
) -> Iterator[models.Model]:
    for Model in Models:
        if not router.allow_migrate_model(using, Model):
            continue
        manager = Model._base_manager if use_base_manager else Model._default_manager
        queryset = manager.using(using).order_by(Model._meta.pk.name)
        if primary_keys:
            queryset = queryset.filter(pk__in=primary_keys)
        yield from queryset.iterator()


def _models_of(apps: Apps, app_label: str) -> list[ModelClass]:
    """
    An app's models at this state, in the order dumpdata writes them.

    That is the order of the app's models module when every model of the
    state still exists there, and the order of the migrations otherwise.
    """
    try:
        Models = list(apps.get_app_config(app_label).get_models())
    except LookupError:
        return []  # An installed app without models at this state.
    live = {
        Model._meta.label_lower: position
        for position, Model in enumerate(
            live_apps.get_app_config(app_label).get_models()
        )
    }
    if all(Model._meta.label_lower in live for Model in Models):
        Models.sort(key=lambda Model: live[Model._meta.label_lower])
    return Models


def _parse_labels(
    apps: Apps, labels: Sequence[str]
) -> tuple[set[ModelClass], set[str]]:
    """``--exclude`` values as (models, app labels), as dumpdata reads them."""
    Models: set[ModelClass] = set()
    app_labels: set[str] = set()
    for label in labels:
        if "." in label:
            Models.add(_get_model(apps, label))
        else:
            _check_app(apps, label)
            app_labels.add(label)
    return Models, app_labels


def _check_app(apps: Apps, app_label: str) -> None:
    try:
        live_apps.get_app_config(app_label)
    except LookupError as exc:
        raise CommandError(str(exc)) from exc


def _get_model(apps: Apps, label: str) -> ModelClass:
    _check_app(apps, label.partition(".")[0])
    try:
        Model: ModelClass = apps.get_model(label)
    except (LookupError, ValueError) as exc:
        raise CommandError(f"Unknown model: {label}") from exc
    return Model
