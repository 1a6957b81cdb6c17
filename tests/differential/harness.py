"""
The differential harness: one fixture, loaded by loaddata and by histfixtures.

Django's ``loaddata`` with the live models is the oracle (SPEC §8). For a
fixture (a list of dicts) and a seed (rows that exist before the load), each
load runs inside a savepoint of the test's transaction that is rolled back
afterwards: the shapes tables are flushed with their sequences restarted,
the seed is inserted, the fixture is loaded by one path, and the outcome is
read back with raw SQL. The outcome is every shapes table's rows (values and
their Python types, as the database driver returns them), the link tables
as sets of (owner, target) pairs, and the primary key that one plain insert
per model gets afterwards (the sequences a load must leave right); or, when
the load raised, only that it failed (the messages differ by design).

Every load is into one database alias, the ``database`` option of the load
(``default`` without it): the flush, the seed, the load and the reading back
all use that alias's connection. A load into another alias also records
whether the shapes tables of ``default`` changed (they must not). On an alias
where the router refuses a shapes model (testproject/shapes/routers.py), the
model has no table there: the seed leaves its objects out and no plain
insert is made for it.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import yaml
from django.apps import apps as live_apps
from django.apps.registry import Apps
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, connections, models, router, transaction
from django.db.models.signals import post_save

from histfixtures import FixtureError, load_fixture
from histfixtures.management.commands import loadfixture
from tests.utils import state_at

#: The state the historical path loads at: the shapes app's only migration.
SHAPES_STATE = ("shapes", "0001_initial")

#: The natural keys histfixtures is told for the historical path (historical
#: models have no natural_key(); the managers' get_by_natural_key() alone
#: cannot match objects written without a pk).
NATURAL_KEYS: dict[str, list[str]] = {
    "shapes.Tag": ["name"],
    "shapes.Label": ["name"],
    "shapes.Country": ["code"],
    "shapes.City": ["name", "country"],
    "shapes.Street": ["name", "city"],
}

FORMATS = ("json", "jsonl", "yaml", "xml")
PATHS = ("historical", "loadfixture")

Fixture = Sequence[Mapping[str, Any]]


@functools.cache
def historical_apps() -> Apps:
    """The apps of the shapes state (rendering them is slow: once per run)."""
    return state_at(SHAPES_STATE).apps


def shapes_models(alias: str = DEFAULT_DB_ALIAS) -> list[type[models.Model]]:
    """The concrete, managed-or-not live models of the shapes app on ``alias``."""
    return [
        model
        for model in live_apps.get_app_config("shapes").get_models()
        if not model._meta.proxy and router.allow_migrate_model(alias, model)
    ]


def link_tables() -> set[str]:
    """The auto-created many-to-many tables, compared as sets of pairs."""
    return {
        f.remote_field.through._meta.db_table
        for model in shapes_models()
        for f in model._meta.local_many_to_many
        if f.remote_field.through._meta.auto_created
    }


def shapes_tables(alias: str = DEFAULT_DB_ALIAS) -> list[str]:
    introspection = connections[alias].introspection
    return sorted(t for t in introspection.table_names() if t.startswith("shapes_"))


# --- writing fixtures --------------------------------------------------------


def write_fixture(directory: Path, objects: Fixture, fmt: str, name: str) -> Path:
    """``objects`` as a fixture file in ``fmt``, the way dumpdata writes it."""
    path = directory / f"{name}.{fmt}"
    if fmt == "json":
        text = json.dumps(list(objects), ensure_ascii=False, indent=2)
    elif fmt == "jsonl":
        text = "".join(json.dumps(obj) + "\n" for obj in objects)
    elif fmt == "yaml":
        text = yaml.safe_dump(list(objects), allow_unicode=True)
    elif fmt == "xml":
        text = to_xml(objects)
    else:
        raise ValueError(fmt)
    path.write_text(text, encoding="utf-8")
    return path


def to_xml(objects: Fixture) -> str:
    """The document Django's xml serializer writes for these objects."""
    lines = ['<?xml version="1.0" encoding="utf-8"?>', '<django-objects version="1.0">']
    for obj in objects:
        Model = live_apps.get_model(obj["model"])
        attrs = f"model={quoteattr(obj['model'])}"
        if "pk" in obj:
            attrs += f" pk={quoteattr(_xml_pk(obj['pk']))}"
        lines.append(f"  <object {attrs}>")
        for name, value in obj.get("fields", {}).items():
            lines.append("    " + _xml_field(Model._meta.get_field(name), value))
        lines.append("  </object>")
    lines.append("</django-objects>")
    return "\n".join(lines) + "\n"


def _xml_pk(pk: Any) -> str:
    # A composite pk is written as its JSON list (CompositePrimaryKey's
    # value_to_string()); None would not be written at all.
    return json.dumps(pk) if isinstance(pk, list) else str(pk)


def _natural(values: Sequence[Any]) -> str:
    return "".join(f"<natural>{escape(str(v))}</natural>" for v in values)


def _xml_field(f: Any, value: Any) -> str:
    name = quoteattr(f.name)
    if f.many_to_many:
        to = quoteattr(f.remote_field.model._meta.label_lower)
        items = "".join(
            f"<object>{_natural(v)}</object>"
            if isinstance(v, list)
            else f"<object pk={quoteattr(str(v))}></object>"
            for v in value
        )
        return f'<field name={name} rel="ManyToManyRel" to={to}>{items}</field>'
    if f.is_relation:
        to = quoteattr(f.remote_field.model._meta.label_lower)
        if value is None:
            inner = "<None></None>"
        elif isinstance(value, list):
            inner = _natural(value)
        else:
            inner = escape(str(value))
        return f'<field name={name} rel="ManyToOneRel" to={to}>{inner}</field>'
    kind = quoteattr(f.get_internal_type())
    if value is None:
        inner = "<None></None>"
    elif isinstance(f, models.JSONField):
        inner = escape(json.dumps(value))
    elif isinstance(value, bool):
        inner = str(value)
    else:
        inner = escape(str(value))
    return f"<field name={name} type={kind}>{inner}</field>"


def b64(data: bytes) -> str:
    """A BinaryField's value as fixtures hold it."""
    return base64.b64encode(data).decode("ascii")


# --- outcomes -----------------------------------------------------------------


@dataclass
class Outcome:
    """What a load left: rows and next pks, or the fact that it failed."""

    failed: bool = False
    error: BaseException | None = field(default=None, compare=False)
    tables: dict[str, Any] = field(default_factory=dict)
    next_pks: dict[str, Any] = field(default_factory=dict)
    # Whether loadfixture loaded in bulk (None: not loadfixture).
    bulk: bool | None = field(default=None, compare=False)
    # The aliases besides the loaded one whose shapes tables the load changed.
    changed_elsewhere: list[str] = field(default_factory=list)

    def __repr__(self) -> str:  # the tables that hold rows, for messages
        if self.failed:
            return f"Outcome(failed: {self.error!r})"
        filled = {table: rows for table, rows in self.tables.items() if rows}
        return f"Outcome(tables={filled!r}, next_pks={self.next_pks!r})"


def typed(value: Any) -> Any:
    """A column value with its type: 1 and 1.0 and True must not compare equal."""
    if isinstance(value, memoryview):
        value = bytes(value)
    return (type(value).__name__, repr(value))


def read_tables(alias: str = DEFAULT_DB_ALIAS) -> dict[str, Any]:
    """Every shapes table by raw SQL: link tables as sorted pairs."""
    connection = connections[alias]
    links = link_tables()
    result: dict[str, Any] = {}
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table in shapes_tables(alias):
            columns = [
                c.name
                for c in connection.introspection.get_table_description(cursor, table)
            ]
            if table in links:
                pair = [c for c in columns if c != "id"]
                cursor.execute(
                    f"SELECT {', '.join(map(quote, pair))} FROM {quote(table)}"
                )
                result[table] = sorted(tuple(row) for row in cursor.fetchall())
                continue
            order = ", ".join(str(i + 1) for i in range(len(columns)))
            cursor.execute(f"SELECT * FROM {quote(table)} ORDER BY {order}")
            result[table] = [tuple(typed(v) for v in row) for row in cursor.fetchall()]
    return result


def next_pks(alias: str = DEFAULT_DB_ALIAS) -> dict[str, Any]:
    """
    The pk of one plain insert per model with an automatic pk, made after the
    load with minimal values (an error's type if the insert fails: a
    sequence a load left behind its rows collides). Models the router keeps
    off ``alias`` get none.
    """
    get = live_apps.get_model
    made: dict[str, Any] = {}

    def insert(label: str, **values: Any) -> Any:
        Model = get(label)
        if not router.allow_migrate_model(alias, Model):
            return None
        try:
            with transaction.atomic(using=alias):
                obj = Model.objects.db_manager(alias).create(**values)
        except Exception as exc:
            made[label] = type(exc).__name__
            return None
        made[label] = obj.pk
        return obj

    insert("shapes.Scalar")
    tag = insert("shapes.Tag", name="\u2603 next pk")
    insert("shapes.Article")
    insert("shapes.Label", name="next pk")
    country = insert("shapes.Country", code="!!")
    city = insert("shapes.City", name="next pk", country=country) if country else None
    if city:
        insert("shapes.Street", name="next pk", city=city)
    place = insert("shapes.Place", name="next pk")
    insert("shapes.Restaurant", name="next pk")
    insert("shapes.Node")
    person = insert("shapes.Person")
    team = insert("shapes.Team")
    if person and team:
        insert("shapes.Membership", person=person, team=team)
    if tag or place:
        insert("shapes.Comment", target=tag or place)
    insert("shapes.Defaulted")
    insert("shapes.Generated")
    return made


def resets_outside_transactions(alias: str = DEFAULT_DB_ALIAS) -> bool:
    """
    Whether a sequence can only be restarted outside a transaction: MySQL and
    MariaDB, whose auto-increment counters a rollback does not put back and
    only TRUNCATE (DDL, which commits) restarts. There the tests run as
    transactional tests (conftest.py) and each load is preceded by a
    TRUNCATE of the shapes tables, so that loaddata and histfixtures start
    from the same counters.
    """
    return connections[alias].vendor == "mysql"


def flush_shapes(alias: str = DEFAULT_DB_ALIAS) -> None:
    """
    Empty every shapes table and restart its sequences: transactionally, or
    on MySQL/MariaDB outside any transaction (TRUNCATE commits).
    """
    connection = connections[alias]
    statements = connection.ops.sql_flush(
        no_style(), shapes_tables(alias), reset_sequences=True, allow_cascade=False
    )
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def insert_seed(seed: Fixture, alias: str = DEFAULT_DB_ALIAS) -> None:
    """
    Rows that exist before the load, written with the ORM (by attname; a
    ``"links"`` entry adds m2m pairs), then the sequences set past them as
    they would be in a database that grew by ordinary inserts. Objects of
    models the router keeps off ``alias`` are left out (no table to hold them).
    """
    connection = connections[alias]
    for obj in seed:
        Model = live_apps.get_model(obj["model"])
        if not router.allow_migrate_model(alias, Model):
            continue
        values = dict(obj.get("fields", {}))
        links = values.pop("links", {})
        if "pk" in obj:
            values["pk"] = obj["pk"]
        instance = Model(**values)
        instance.save_base(raw=True, force_insert=True, using=alias)
        for name, targets in links.items():
            getattr(instance, name).add(*targets)
    sql = connection.ops.sequence_reset_sql(no_style(), shapes_models(alias))
    with connection.cursor() as cursor:
        for statement in sql:
            cursor.execute(statement)


def outcome_of(
    load: Callable[[], Any], seed: Fixture = (), alias: str = DEFAULT_DB_ALIAS
) -> Outcome:
    """
    Flush, seed, load and read back on ``alias``, all rolled back afterwards.
    A load into another alias than ``default`` also records whether it
    changed the shapes tables of ``default``.
    """
    watched = [] if alias == DEFAULT_DB_ALIAS else [DEFAULT_DB_ALIAS]
    before = {a: read_tables(a) for a in watched}
    if resets_outside_transactions(alias):
        flush_shapes(alias)
    with transaction.atomic(using=alias):
        if not resets_outside_transactions(alias):
            flush_shapes(alias)
        insert_seed(seed, alias)
        try:
            with transaction.atomic(using=alias):
                load()
        except Exception as exc:
            outcome = Outcome(failed=True, error=exc)
        else:
            outcome = Outcome(tables=read_tables(alias), next_pks=next_pks(alias))
        outcome.changed_elsewhere = [a for a in watched if read_tables(a) != before[a]]
        transaction.set_rollback(True, using=alias)
    return outcome


# --- the three loads ----------------------------------------------------------


def loaddata(target: str, **options: Any) -> None:
    """
    loaddata, then the sequence reset it leaves out for proxy models.

    loaddata resets the sequences of the models it saved, and for a proxy
    finds no auto field among its (empty) local fields; histfixtures resets
    the concrete table's sequence, a deliberate difference (docs/decisions:
    "Proxy objects are written to the concrete model's table, whose
    sequence is reset"). Only the next pk of a plain insert differs, on
    PostgreSQL, and only this part of the oracle is histfixtures' own.
    """
    saved: set[type[Any]] = set()

    def remember(sender: type[Any], **kwargs: Any) -> None:
        saved.add(sender)

    post_save.connect(remember, weak=False)
    try:
        call_command("loaddata", target, verbosity=0, **options)
    finally:
        post_save.disconnect(remember)
    concrete = {M._meta.concrete_model for M in saved if M._meta.proxy}
    connection = connections[options.get("database") or DEFAULT_DB_ALIAS]
    sql = connection.ops.sequence_reset_sql(no_style(), sorted(concrete, key=str))
    with connection.cursor() as cursor:
        for statement in sql:
            cursor.execute(statement)


@contextmanager
def recording_bulk() -> Iterator[list[bool]]:
    """Record what each ``loadfixture`` call's bulk attempt returned."""
    original = loadfixture.Command.load_in_bulk
    taken: list[bool] = []

    def load_in_bulk(self: Any, *args: Any, **kwargs: Any) -> bool:
        result = original(self, *args, **kwargs)
        taken.append(result)
        return result

    loadfixture.Command.load_in_bulk = load_in_bulk  # type: ignore[method-assign]
    try:
        yield taken
    finally:
        loadfixture.Command.load_in_bulk = original  # type: ignore[method-assign]


def load(
    path_name: str,
    fixture_path: Path,
    seed: Fixture = (),
    *,
    batch_size: int | None = None,
    **options: Any,
) -> Outcome:
    """
    Load by one path: ``loaddata``, ``historical`` or ``loadfixture``, into
    the alias ``options["database"]`` (``default`` without it).
    """
    target = str(fixture_path)
    alias = options.get("database") or DEFAULT_DB_ALIAS
    if path_name == "loaddata":
        return outcome_of(lambda: loaddata(target, **options), seed, alias)
    if path_name == "historical":
        # load_fixture() only needs the schema editor's connection (a
        # migration's, on the alias it migrates); SQLite's schema editor
        # cannot be opened inside the test's transaction.
        editor = SimpleNamespace(connection=connections[alias])
        extra = {"batch_size": batch_size} if batch_size else {}
        outcome = outcome_of(
            lambda: load_fixture(
                historical_apps(),
                editor,  # type: ignore[arg-type]
                target,
                natural_keys=NATURAL_KEYS,
                **extra,
                **options,
            ),
            seed,
            alias,
        )
        if outcome.failed and not isinstance(outcome.error, FixtureError):
            raise AssertionError(
                f"histfixtures raised {type(outcome.error).__name__}, "
                f"not a FixtureError: {outcome.error}"
            ) from outcome.error
        return outcome
    if path_name == "loadfixture":
        extra = {"batch_size": batch_size} if batch_size else {}
        with recording_bulk() as taken:
            outcome = outcome_of(
                lambda: call_command(
                    "loadfixture", target, verbosity=0, **extra, **options
                ),
                seed,
                alias,
            )
        outcome.bulk = bool(taken and taken[-1])
        return outcome
    raise ValueError(path_name)


def compare(
    tmp_path: Path,
    fixture: Fixture,
    seed: Fixture = (),
    *,
    path: str,
    fmt: str = "json",
    batch_size: int | None = None,
    **options: Any,
) -> tuple[Outcome, Outcome]:
    """(loaddata's outcome, ``path``'s outcome) for ``fixture`` in ``fmt``."""
    fixture_path = write_fixture(tmp_path, fixture, fmt, f"fixture-{path}")
    expected = load("loaddata", fixture_path, seed, **options)
    got = load(path, fixture_path, seed, batch_size=batch_size, **options)
    return expected, got
