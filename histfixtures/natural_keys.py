"""
Natural keys for historical models.

Historical models carry no ``natural_key()`` and, unless a manager sets
``use_in_migrations = True``, no ``get_by_natural_key()``. A model's natural
key fields are therefore declared, and looked up, in this order:

1. the ``natural_keys`` option of the load;
2. ``settings.HISTFIXTURES["NATURAL_KEYS"]``;
3. built-in keys for Django's own models (ContentType, Permission, Group,
   the user model, Site), whose managers cannot work on historical models
   (Permission's reaches for the live ContentType, the user manager reads
   ``USERNAME_FIELD``, which historical models lack);
4. the ``get_by_natural_key()`` of a manager with ``use_in_migrations``.

The live models (``loadfixture`` without ``--state``) resolve as Django's
deserializers do: by their default manager's ``get_by_natural_key()`` first,
with nothing created on demand, so a key resolves to the row loaddata would
find; the declared keys remain for models whose manager has none.

A key field that is a foreign key stands for the related model's natural
key, flattened, as Django writes nested keys: a Permission's key is
``[codename, app_label, model]``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.apps import apps as live_apps
from django.apps.registry import Apps
from django.conf import settings
from django.core.exceptions import (
    FieldDoesNotExist,
    MultipleObjectsReturned,
    ObjectDoesNotExist,
)
from django.core.serializers import base
from django.db import models
from django.db.models.options import Options

from histfixtures.conf import natural_keys_setting
from histfixtures.exceptions import NaturalKeyError
from histfixtures.types import NaturalKeys

ModelClass = type[models.Model]

BUILTIN_KEYS: dict[str, tuple[str, ...]] = {
    "contenttypes.contenttype": ("app_label", "model"),
    "auth.permission": ("codename", "content_type"),
    "auth.group": ("name",),
    "sites.site": ("domain",),
}

# The models whose missing rows are created on demand, as post_migrate would,
# and the length of their built-in natural keys.
_ON_DEMAND = {"contenttypes.contenttype": 2, "auth.permission": 3}

_DECLARE_HINT = (
    'Declare its key with the natural_keys option ({"%(label)s": ["field", ...]}) '
    'or in settings.HISTFIXTURES["NATURAL_KEYS"].'
)


def is_natural_key(value: Any) -> bool:
    """Whether a fixture value is a natural key rather than a primary key."""
    return isinstance(value, list | tuple)


@dataclass(frozen=True)
class _Key:
    """How a model's natural key is resolved: by fields, or by its manager."""

    fields: tuple[str, ...] | None


class NaturalKeyResolver:
    """Resolves natural keys to rows, for one load at one migration state."""

    def __init__(
        self,
        apps: Apps,
        using: str,
        declared: NaturalKeys | None = None,
        before_read: Callable[[Iterable[ModelClass] | None], None] | None = None,
        loading: bool = True,
    ) -> None:
        self.apps = apps
        self.using = using
        self.declared = {
            label.lower(): tuple(fields) for label, fields in (declared or {}).items()
        }
        self.configured = {
            label.lower(): tuple(fields)
            for label, fields in natural_keys_setting().items()
        }
        # Writes the queued objects of the given tables (None: of every
        # table) before a lookup reads them, so that it sees every object
        # loaded before the one being read, as loaddata's lookups do.
        self.before_read = before_read
        # Loading creates missing ContentTypes and Permissions and needs a
        # required foreign key resolved at once; reading (deserialize(),
        # unloading) creates nothing and lets every reference wait.
        self.loading = loading
        self.live = apps is live_apps
        # Answers found, grouped by the tables their lookup reads (None: any
        # table, for a manager's get_by_natural_key()); forget() drops a
        # group when one of its tables is written.
        self._found: dict[frozenset[ModelClass] | None, dict[Any, Any]] = {}
        self._read_by: dict[ModelClass, frozenset[ModelClass] | None] = {}

    def resolve(self, Model: ModelClass, values: Any, *, attname: str = "pk") -> Any:
        """Return ``attname`` of the row whose natural key is ``values``."""
        values = self._check_shape(Model, values)
        tables = self.tables_read(Model)
        if self.before_read is not None:
            self.before_read(tables)
        cache_key = (Model._meta.label_lower, attname, values)
        found = self._found.get(tables, {}).get(cache_key)
        if found is not None:
            return found
        found = self._query(Model, values, attname)
        if found is None and self.loading and not self.live:
            created = self._create_on_demand(Model, values)
            found = None if created is None else getattr(created, attname)
        if found is not None:
            self._found.setdefault(tables, {})[cache_key] = found
        return found

    def forget(self, Model: ModelClass) -> None:
        """Drop the answers read from ``Model``'s table, which has changed."""
        for tables in [t for t in self._found if t is None or Model in t]:
            del self._found[tables]

    def tables_read(self, Model: ModelClass) -> frozenset[ModelClass] | None:
        """
        The concrete models whose tables a lookup of ``Model``'s natural key
        reads: its own and its parents', and those of the models its key
        goes through. None when a manager's get_by_natural_key() looks the
        key up, which may read any table.
        """
        try:
            return self._read_by[Model]
        except KeyError:
            pass
        key = self._key(Model)
        tables: frozenset[ModelClass] | None = None
        if key is not None and key.fields is not None:
            tables = frozenset(
                [Model._meta.concrete_model or Model, *Model._meta.get_parent_list()]
            )
            for name in key.fields:
                field = self._field(Model, name)
                if field.many_to_one or field.one_to_one:
                    through = self.tables_read(field.related_model)  # type: ignore[arg-type]
                    tables = None if through is None else tables | through
                    if tables is None:
                        break
        self._read_by[Model] = tables
        return tables

    def resolve_reference(
        self, field: models.Field[Any, Any], values: Any, *, defer: bool
    ) -> Any:
        """Resolve a foreign key or m2m item given as a natural key."""
        Target = field.related_model
        assert isinstance(Target, type)  # A relation always has a model here.
        attname = "pk"
        if field.many_to_one or field.one_to_one:
            attname = field.target_field.attname  # type: ignore[attr-defined]
        found = self.resolve(Target, values, attname=attname)
        if found is not None:
            return found
        # A required foreign key cannot wait: its row is written before the
        # end of the load, so the reference must resolve now.
        if defer and (field.many_to_many or field.null or not self.loading):
            return base.DEFER_FIELD
        hint = (
            "Load the object it refers to first: earlier in this fixture "
            "(a required foreign key cannot refer forwards) or in an earlier "
            "migration."
        )
        refusal = self.not_created_on_demand(Target, tuple(values))
        if refusal is not None:
            hint = f"{refusal} Correct the key, or {hint[0].lower()}{hint[1:]}"
        raise NaturalKeyError(
            f"No {Target._meta.label} matches the natural key {list(values)!r}.",
            field=field.name,
            value=values,
            hint=hint,
        )

    def assign_pk(self, instance: models.Model) -> None:
        """Give an object without a primary key the pk of its existing row."""
        Model = type(instance)
        key = self._key(Model)
        if key is None:
            return
        if self.before_read is not None:
            self.before_read(self.tables_read(Model))
        manager = Model._base_manager.db_manager(self.using)
        if key.fields is None:
            values = _live_natural_key(instance, self.using)
            if values is None:
                return
            pk = self._query(Model, tuple(values), "pk")
        else:
            lookup = {}
            for name in key.fields:
                field = self._field(Model, name)
                lookup[field.attname] = value = getattr(instance, field.attname)
                if field.is_relation and value is not None:
                    self._check_related_row(field, value)
            pk = self._single(Model, manager.filter(**lookup), tuple(lookup.values()))
        if pk is not None:
            instance.pk = pk

    def _check_related_row(self, field: models.Field[Any, Any], value: Any) -> None:
        """
        Refuse a key that goes through a foreign key to a missing row, as
        loaddata does: its natural_key() reads the related object.
        """
        Target = field.related_model
        assert isinstance(Target, type)
        target_field = field.target_field  # type: ignore[attr-defined]
        rows = Target._base_manager.db_manager(self.using)
        if not rows.filter(**{target_field.attname: value}).exists():
            raise NaturalKeyError(
                f"The natural key of this {field.model._meta.label} object goes "
                f"through {field.name}, which refers to a {Target._meta.label} "
                f"that does not exist yet ({value!r}).",
                field=field.name,
                value=value,
                hint="An object without a pk is matched by its natural key; load "
                "the object its key refers to before it, or give it a pk.",
            )

    def key_length(self, Model: ModelClass) -> int | None:
        key = self._key(Model)
        if key is None or key.fields is None:
            return None
        return len(self._lookup_paths(Model, key.fields))

    def _key(self, Model: ModelClass) -> _Key | None:
        if self.live and _manager_resolves(Model):
            return _Key(None)
        label = Model._meta.label_lower
        for source in (self.declared, self.configured, BUILTIN_KEYS):
            if label in source:
                return _Key(source[label])
        if label == settings.AUTH_USER_MODEL.lower():
            return _Key((_username_field(Model),))
        return _Key(None) if _manager_resolves(Model) else None

    def _required_key(self, Model: ModelClass) -> _Key:
        key = self._key(Model)
        if key is None:
            label = Model._meta.label
            raise NaturalKeyError(
                f"{label} has no natural key at this migration state.",
                hint=_DECLARE_HINT % {"label": label},
            )
        return key

    def _check_shape(self, Model: ModelClass, values: Any) -> tuple[Any, ...]:
        if not is_natural_key(values) or any(
            isinstance(v, list | tuple | dict) for v in values
        ):
            raise NaturalKeyError(
                f"A natural key of {Model._meta.label} must be a flat list of "
                f"values; got {values!r}.",
                value=values,
            )
        self._required_key(Model)
        length = self.key_length(Model)
        if length is not None and length != len(values):
            raise NaturalKeyError(
                f"A natural key of {Model._meta.label} has {length} value(s) "
                f"({', '.join(self._describe_key(Model))}); got {len(values)}: "
                f"{list(values)!r}.",
                value=values,
            )
        return tuple(values)

    def _describe_key(self, Model: ModelClass) -> list[str]:
        key = self._required_key(Model)
        return self._lookup_paths(Model, key.fields or ())

    def _query(self, Model: ModelClass, values: tuple[Any, ...], attname: str) -> Any:
        key = self._required_key(Model)
        if key.fields is None:
            return self._query_manager(Model, values, attname)
        paths = self._lookup_paths(Model, key.fields)
        manager = Model._base_manager.db_manager(self.using)
        queryset = manager.filter(**dict(zip(paths, values, strict=True)))
        pk = self._single(Model, queryset, values)
        if pk is None or attname == "pk":
            return pk
        return manager.filter(pk=pk).values_list(attname, flat=True).get()

    def _query_manager(
        self, Model: ModelClass, values: tuple[Any, ...], attname: str
    ) -> Any:
        manager = Model._default_manager.db_manager(self.using)
        try:
            obj = manager.get_by_natural_key(*values)  # type: ignore[attr-defined]
        except ObjectDoesNotExist:
            return None
        except MultipleObjectsReturned as exc:
            raise NaturalKeyError(
                f"The natural key {list(values)!r} matches several "
                f"{Model._meta.label} rows.",
                value=values,
            ) from exc
        except TypeError as exc:
            raise NaturalKeyError(
                f"{Model._meta.label}'s manager rejects the natural key "
                f"{list(values)!r}: {exc}",
                value=values,
            ) from exc
        return getattr(obj, attname)

    def _single(self, Model: ModelClass, queryset: Any, values: tuple[Any, ...]) -> Any:
        pks = list(queryset.values_list("pk", flat=True)[:5])
        if len(pks) > 1:
            raise NaturalKeyError(
                f"The natural key {list(values)!r} matches several "
                f"{Model._meta.label} rows (pks {pks}): its fields are not "
                "unique at this migration state.",
                value=values,
            )
        return pks[0] if pks else None

    def _lookup_paths(
        self, Model: ModelClass, fields: Sequence[str], prefix: str = ""
    ) -> list[str]:
        """ORM lookup paths of a key, foreign keys expanded to their keys."""
        paths = []
        for name in fields:
            field = self._field(Model, name)
            if field.many_to_one or field.one_to_one:
                Target = field.related_model
                assert isinstance(Target, type)
                target_key = self._required_key(Target)
                if target_key.fields is None:
                    raise NaturalKeyError(
                        f"{Model._meta.label}'s natural key goes through "
                        f"{Target._meta.label}, whose key only its manager "
                        "knows.",
                        hint=_DECLARE_HINT % {"label": Target._meta.label},
                    )
                paths += self._lookup_paths(
                    Target, target_key.fields, f"{prefix}{name}__"
                )
            else:
                paths.append(f"{prefix}{name}")
        return paths

    def _field(self, Model: ModelClass, name: str) -> models.Field[Any, Any]:
        try:
            field = Model._meta.get_field(name)
        except FieldDoesNotExist as exc:
            raise NaturalKeyError(
                f"The natural key of {Model._meta.label} names the field "
                f"{name!r}, which does not exist at this migration state.",
                hint=_DECLARE_HINT % {"label": Model._meta.label},
            ) from exc
        assert isinstance(field, models.Field)
        return field

    def _create_on_demand(
        self, Model: ModelClass, values: tuple[Any, ...]
    ) -> models.Model | None:
        """
        Create a missing ContentType or Permission.

        Django creates them only after ``migrate`` finishes, so a fixture
        loaded during ``migrate`` cannot find them. The rows made here are
        the ones Django's post-migrate handlers would make, which then find
        them and create no duplicate; no other row is made (see
        not_created_on_demand()).
        """
        key = self._on_demand_key(Model, values)
        if key is None or self.not_created_on_demand(Model, values):
            return None
        codename, app_label, model = key
        if codename is None:
            obj = Model(app_label=app_label, model=model)
        else:
            ContentType = Model._meta.get_field("content_type").related_model
            assert isinstance(ContentType, type)
            options = self._state_options(app_label, model)
            assert not isinstance(options, str)  # not_created_on_demand() checked.
            obj = Model(
                codename=codename,
                name=_permission_name(codename, options),
                content_type_id=self.resolve(ContentType, [app_label, model]),
            )
        obj._save_table(  # type: ignore[attr-defined]
            raw=True, cls=Model, force_insert=True, using=self.using
        )
        self.forget(Model)
        return obj

    def not_created_on_demand(
        self, Model: ModelClass, values: tuple[Any, ...]
    ) -> str | None:
        """
        Why a missing ContentType or Permission with the natural key
        ``values`` is not created on demand, or None if it would be.

        Only the rows Django's create_contenttypes() and create_permissions()
        would make at this state are created: the content type of a model
        of the state, and that model's default and Meta.permissions
        permissions. Anything else is a typo or a row of another database,
        and creating it would hide the mistake where loaddata refuses it.
        """
        key = self._on_demand_key(Model, values)
        if key is None or self.live or not self.loading:
            return None
        codename, app_label, model = key
        options = self._state_options(app_label, model)
        if isinstance(options, str):
            return f"{options}, so no content type or permission is created for it."
        if codename is not None and codename not in _permission_codenames(options):
            return (
                f"{options.label} has no permission {codename!r} at this "
                "migration state, so none is created; its permissions are: "
                f"{', '.join(_permission_codenames(options))}."
            )
        return None

    def _on_demand_key(
        self, Model: ModelClass, values: tuple[Any, ...]
    ) -> tuple[Any, Any, Any] | None:
        """
        ``(codename or None, app_label, model)`` of a ContentType or
        Permission key, if the model is one of those and its key the
        built-in one (a key declared otherwise creates nothing).
        """
        label = Model._meta.label_lower
        length = _ON_DEMAND.get(label)
        if length is None or len(values) != length:
            return None
        if self._key(Model) != _Key(BUILTIN_KEYS[label]):
            return None
        return (None, *values) if length == 2 else values

    def _state_options(self, app_label: Any, model: Any) -> Options[Any] | str:
        """
        The options of the model a content type's key names, if Django
        gives it a content type at this state; otherwise why not.
        """
        name = f"{app_label}.{model}"
        if not isinstance(app_label, str) or not isinstance(model, str):
            return f"{[app_label, model]!r} names no model"
        try:
            options: Options[Any] = self.apps.get_model(app_label, model)._meta
        except LookupError:
            return f"{name} is no model at this migration state"
        if options.model_name != model:
            return (
                f"{name} is not how a content type names {options.label} "
                f"(the model name in lower case: {options.model_name!r})"
            )
        if options.auto_created or options.swapped:
            return f"{options.label} has no content type at this migration state"
        return options


def _manager_resolves(Model: ModelClass) -> bool:
    """Whether the model's default manager has a get_by_natural_key()."""
    return callable(getattr(Model._default_manager, "get_by_natural_key", None))


def _username_field(Model: ModelClass) -> str:
    """The live user model's USERNAME_FIELD, which historical models lack."""
    live_user_model = live_apps.get_model(settings.AUTH_USER_MODEL)
    name: str = getattr(live_user_model, "USERNAME_FIELD", "username")
    return name


def _live_natural_key(instance: models.Model, using: str) -> tuple[Any, ...] | None:
    """
    The live model's natural_key() of an object being loaded.

    A historical model has no natural_key(), so the object's values are put
    in an instance of the live model first (the fields both have). A
    natural_key() that follows a foreign key reads the related row from the
    load's database, as Django's deserializers make it do.
    """
    try:
        live_model = live_apps.get_model(instance._meta.label)
    except LookupError:
        return None
    if type(instance) is not live_model:
        names = {f.attname for f in live_model._meta.concrete_fields}
        try:
            instance = live_model(
                **{
                    f.attname: getattr(instance, f.attname)
                    for f in instance._meta.concrete_fields
                    if f.attname in names
                }
            )
        except (TypeError, ValueError):
            return None
    instance._state.db = using
    try:
        return tuple(live_model.natural_key(instance))
    except AttributeError:
        return None
    except ObjectDoesNotExist as exc:
        # loaddata fails here too: its build_instance() computes the key
        # outside the lookup that tolerates a missing row.
        raise NaturalKeyError(
            f"The natural key of this {live_model._meta.label} object follows "
            f"a relation to a row that does not exist yet: {exc}",
            hint="An object without a pk is matched by its natural key; load "
            "the object its key refers to before it, or give it a pk.",
        ) from exc


def _permission_codenames(opts: Options[Any]) -> list[str]:
    """The codenames create_permissions() gives a model: defaults, then Meta's."""
    return [
        *(f"{action}_{opts.model_name}" for action in opts.default_permissions),
        *(codename for codename, _ in opts.permissions),
    ]


def _permission_name(codename: str, state_opts: Options[Any]) -> str:
    """
    The name Django's create_permissions() gives this permission after
    ``migrate``: from the live model, or the state's if it has gone since.
    """
    try:
        opts = live_apps.get_model(state_opts.app_label, state_opts.model_name)._meta
    except LookupError:
        opts = state_opts
    for action in opts.default_permissions:
        if codename == f"{action}_{opts.model_name}":
            return f"Can {action} {opts.verbose_name_raw}"[:255]
    return str(dict(opts.permissions).get(codename, codename))[:255]
