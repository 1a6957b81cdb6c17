"""
What the fuzz suite feeds histfixtures: the testproject's fixtures, mutated.

Seeds are the objects of the testproject's fixture files
(``testproject/*/fixtures``) as they read at the latest migration state (the
fields renamed and added since, values kept), plus ``library_initial.json``
exactly as shipped, at its own state, for the system checks. A Hypothesis
strategy mutates a seed's objects structurally, writes them in one of the
four formats, optionally damages the bytes, and optionally compresses the
result (sometimes damaging the compressed file as well).

Everything is plain data (lists and dicts) until ``render`` writes it, so a
failing example prints as the fixture that a user would have to write to
reproduce it.
"""

from __future__ import annotations

import bz2
import copy
import gzip
import io
import json
import lzma
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import yaml
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
LIBRARY_INITIAL = ROOT / "testproject" / "library" / "fixtures" / "library_initial.json"

FORMATS = ("json", "jsonl", "yaml", "xml")
COMPRESSIONS = ("", "gz", "bz2", "xz", "zip")

#: Club's key is declared, as the members migrations do (the historical
#: ClubManager does not set use_in_migrations).
NATURAL_KEYS = {"members.Club": ["title"]}


def _writer(pk: int, name: str, slug: str = "") -> dict[str, Any]:
    return {"model": "library.writer", "pk": pk, "fields": {"name": name, "slug": slug}}


def _book(
    pk: int, headline: str, author: int, pages: int, tags: list[int], publisher: str
) -> dict[str, Any]:
    fields = {
        "headline": headline,
        "author": author,
        "pages": pages,
        "tags": tags,
        "publisher_name": publisher,
    }
    return {"model": "library.book", "pk": pk, "fields": fields}


#: library_initial.json and library_tags.yaml at library.0011_writer_slug.
LIBRARY = [
    _writer(1, "Ursula K. Le Guin", "ursula-k-le-guin"),
    _writer(2, "Terry Pratchett"),
    _writer(3, "Chinua Achebe"),
    *(
        {"model": "library.tag", "pk": pk, "fields": {"name": name}}
        for pk, name in enumerate(
            ["fantasy", "science-fiction", "classic", "satire"], start=1
        )
    ),
    _book(1, "A Wizard of Earthsea", 1, 205, [1], "Penguin Books"),
    _book(2, "The Left Hand of Darkness", 1, 286, [2], "Penguin Books"),
    _book(3, "Guards! Guards!", 2, 315, [1, 4], "Gollancz"),
    _book(4, "Small Gods", 2, 284, [4], "Gollancz"),
    _book(5, "Things Fall Apart", 3, 209, [3], ""),
    _book(6, "The Dispossessed", 1, 387, [2, 3], "Penguin Books"),
    _book(7, "Arrow of God", 3, 230, [3], ""),
]

#: shop_listings.xml and shop_orders.jsonl at shop.0008_order_total_cents.
SHOP = [
    {
        "model": "shop.customer",
        "pk": 1,
        "fields": {"full_name": "Grace Hopper", "email": ""},
    },
    {
        "model": "shop.customer",
        "pk": 2,
        "fields": {"full_name": "Alan Mathison Turing", "email": "alan@example.com"},
    },
    *(
        {
            "model": "shop.listing",
            "pk": pk,
            "fields": {
                "book": book,
                "amount": amount,
                "currency": "EUR",
                "listed_at": listed_at,
            },
        }
        for pk, book, amount, listed_at in [
            (1, 1, "12.50", "2024-01-15T10:00:00Z"),
            (2, 2, "9.99", "2024-01-16T14:30:00Z"),
            (3, 3, "7.25", "2024-01-20T08:15:00Z"),
            (4, 1, "15.00", "2024-02-02T17:45:00Z"),
        ]
    ),
    *(
        {
            "model": "shop.order",
            "pk": pk,
            "fields": {
                "customer": customer,
                "listings": listings,
                "created": created,
                "total_cents": total,
            },
        }
        for pk, customer, listings, created, total in [
            (1, 1, [1], "2024-02-01T09:30:00Z", 1250),
            (2, 2, [2, 3], "2024-02-03T11:00:00Z", 1724),
            (3, 1, [4], "2024-02-10T16:20:00Z", 1500),
        ]
    ),
]


def _user(
    username: str, first: str, last: str, joined: str, **m2m: Any
) -> dict[str, Any]:
    fields = {
        "password": "!",
        "last_login": None,
        "is_superuser": False,
        "username": username,
        "first_name": first,
        "last_name": last,
        "email": f"{username}@example.com",
        "is_staff": False,
        "is_active": True,
        "date_joined": joined,
        "groups": m2m.get("groups", []),
        "user_permissions": m2m.get("user_permissions", []),
    }
    return {"model": "auth.user", "fields": fields}


def _member(
    handle: str, club: str, user: str, mentor: str | None, groups: list[list[str]]
) -> dict[str, Any]:
    fields = {
        "handle": handle,
        "club": [club],
        "user": [user],
        "mentor": None if mentor is None else [mentor],
        "groups": groups,
        "joined": "2024-01-02",
    }
    return {"model": "members.member", "fields": fields}


#: members_groups.json, members_initial.json and members_extra.xml at
#: members.0004_club_title_and_joined, by natural key as dumpdata writes them.
MEMBERS = [
    {
        "model": "auth.group",
        "fields": {
            "name": "editors",
            "permissions": [
                ["add_club", "members", "club"],
                ["change_member", "members", "member"],
                ["view_user", "auth", "user"],
            ],
        },
    },
    {
        "model": "auth.group",
        "fields": {
            "name": "organisers",
            "permissions": [
                ["add_member", "members", "member"],
                ["delete_member", "members", "member"],
            ],
        },
    },
    _user("ada", "Ada", "Lovelace", "2024-01-02T09:00:00Z", groups=[["editors"]]),
    _user(
        "bob",
        "Bob",
        "Kahn",
        "2024-01-03T09:00:00Z",
        user_permissions=[["change_club", "members", "club"]],
    ),
    _user(
        "grace",
        "Grace",
        "Hopper",
        "2024-01-04T09:00:00Z",
        groups=[["organisers"]],
        user_permissions=[["view_club", "members", "club"]],
    ),
    {"model": "members.club", "fields": {"title": "Chess Club"}},
    {"model": "members.club", "fields": {"title": "Book Club"}},
    {"model": "members.club", "fields": {"title": "Go Club"}},
    _member("bob", "Book Club", "bob", "ada", []),
    _member("ada", "Chess Club", "ada", None, [["editors"]]),
    _member("grace", "Go Club", "grace", "ada", [["editors"], ["organisers"]]),
]

#: Seeds at the latest state, by name, with the migration node whose state
#: holds their models (``loadfixture --state`` takes one node).
SEEDS: dict[str, tuple[list[dict[str, Any]], str]] = {
    "library": (LIBRARY, "library.0011_writer_slug"),
    "shop": (SHOP, "shop.0008_order_total_cents"),
    "members": (MEMBERS, "members.0004_club_title_and_joined"),
}


def library_initial() -> list[dict[str, Any]]:
    """library_initial.json as shipped: the state of library.0001_initial."""
    objects: list[dict[str, Any]] = json.loads(LIBRARY_INITIAL.read_text("utf-8"))
    return objects


# -- Structural mutations ------------------------------------------------------

ODD_STRINGS = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "\ufeff",
        "\ud7ff\ue000",
        "é" * 300,
        "😀" * 60,
        "a" * 5000,
        "<tag>&amp;</tag>",
        "]]>",
        "'; DROP TABLE library_book; --",
        "${x}",
        "*alias",
        "&anchor",
        "!!python/object:os.system",
        "\r\n",
        "2024-02-30T25:61:00Z",
        "9999-12-31T23:59:59+14:00",
        "0001-01-01",
        "NaN",
        "1e309",
        "-0",
        "0x10",
        "true",
        "null",
        "None",
    ]
)
HUGE_INTS = st.sampled_from(
    [
        -1,
        0,
        2**31 - 1,
        2**31,
        2**63 - 1,
        2**63,
        -(2**63) - 1,
        2**64,
        10**30,
        10**400,
        -(10**400),
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    HUGE_INTS,
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    ODD_STRINGS,
    st.text(max_size=20),
)
# Values of any shape, up to a few levels of nesting.
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.text(max_size=8), inner, max_size=3),
    ),
    max_leaves=8,
)
BAD_NATURAL_KEYS = st.sampled_from(
    [
        [],
        ["no such key"],
        ["a", "b", "c", "d"],
        [["nested"]],
        ["add_club", "nosuchapp", "nosuchmodel"],
        ["view_club", "members"],
        [None],
        [{"a": 1}],
    ]
)
TOP_KEYS = ("model", "pk", "fields")
DEPTHS = (50, 500, 100_000)


class Deep(int):
    """A list nested this deep around 1, written as text (no recursion)."""

    def text(self) -> str:
        return "[" * self + "1" + "]" * self

    def token(self) -> str:
        return f"DEEP_{int(self)}_TOKEN"


def _keys_of(obj: Any) -> list[str]:
    if not isinstance(obj, dict):
        return []
    keys = [key for key in obj if key in TOP_KEYS]
    fields = obj.get("fields")
    if isinstance(fields, dict):
        keys += list(fields)
    return keys


@st.composite
def mutate(draw: st.DrawFn, seed: list[dict[str, Any]]) -> list[Any]:
    """
    A copy of ``seed`` with up to four structural mutations.

    Each mutation targets one object: drop, duplicate or rename a key; give a
    field a value of another type, a huge integer, an odd string, null, a
    deeply nested value, another field's value or a bad natural key; give it
    the pk of another object, a pk in a fresh range (an insert instead of an
    update), or no pk; point a relation at a row that does not exist; rename
    its model; or duplicate, drop or replace a whole object.
    """
    objects: list[Any] = copy.deepcopy(seed)
    for _ in range(draw(st.sampled_from([0, 1, 1, 1, 2, 2, 3, 4]))):
        if not objects:
            break
        index = draw(st.integers(min_value=0, max_value=len(objects) - 1))
        obj = objects[index]
        keys = _keys_of(obj)
        kind = draw(
            st.sampled_from(
                [
                    "drop-key",
                    "duplicate-key",
                    "rename-key",
                    "retype",
                    "huge-int",
                    "odd-string",
                    "null",
                    "deep",
                    "swap",
                    "bad-natural-key",
                    "pk-collision",
                    "fresh-pk",
                    "no-pk",
                    "dangling",
                    "model",
                    "duplicate-object",
                    "drop-object",
                    "replace-object",
                ]
            )
        )
        if kind == "duplicate-object":
            objects.insert(index, copy.deepcopy(obj))
        elif kind == "drop-object":
            del objects[index]
        elif kind == "replace-object":
            objects[index] = draw(VALUES)
        elif not isinstance(obj, dict) or not keys:
            continue
        elif kind == "model":
            obj["model"] = draw(
                st.sampled_from(
                    ["library.nosuch", "library", "Library.Book", "shop.order", "", 7]
                )
            )
        elif kind == "pk-collision":
            other = objects[draw(st.integers(0, len(objects) - 1))]
            if isinstance(other, dict) and "pk" in other:
                obj["pk"] = other["pk"]
        elif kind == "fresh-pk":
            obj["pk"] = draw(st.integers(min_value=1000, max_value=1010))
        elif kind == "no-pk":
            obj.pop("pk", None)
        else:
            key = draw(st.sampled_from(keys))
            fields = obj.get("fields") if key not in TOP_KEYS else obj
            if not isinstance(fields, dict):
                continue
            if kind == "drop-key":
                fields.pop(key, None)
            elif kind == "duplicate-key":
                # JSON with a repeated key: render() writes it twice.
                fields[DuplicateKey(key)] = draw(VALUES)
            elif kind == "rename-key":
                fields[draw(st.sampled_from([key.upper(), key + "_", "", "pk"]))] = (
                    fields.pop(key)
                )
            elif kind == "retype":
                fields[key] = draw(VALUES)
            elif kind == "huge-int":
                fields[key] = draw(HUGE_INTS)
            elif kind == "odd-string":
                fields[key] = draw(ODD_STRINGS)
            elif kind == "null":
                fields[key] = None
            elif kind == "deep":
                fields[key] = Deep(draw(st.sampled_from(DEPTHS)))
            elif kind == "swap":
                other_key = draw(st.sampled_from(keys))
                other = obj.get("fields") if other_key not in TOP_KEYS else obj
                if isinstance(other, dict) and other_key in other and key in fields:
                    fields[key], other[other_key] = other[other_key], fields[key]
            elif kind == "bad-natural-key":
                fields[key] = draw(BAD_NATURAL_KEYS)
            elif kind == "dangling":
                value = fields.get(key)
                if isinstance(value, list) and value and isinstance(value[0], list):
                    fields[key] = [*value, ["no such " + key]]  # m2m, natural keys
                elif isinstance(value, list) and value and isinstance(value[0], str):
                    fields[key] = ["no such " + key]  # foreign key, natural key
                elif isinstance(value, list):
                    fields[key] = [*value, 9999]  # m2m
                else:
                    fields[key] = 9999
    return objects


class DuplicateKey(str):
    """A key written a second time in the same JSON object by ``render``."""

    __slots__ = ()

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other


# -- Writing -------------------------------------------------------------------


def _json_text(value: Any, indent: bool = False) -> str:
    # json.dumps would collapse a DuplicateKey into its twin: objects are
    # written by hand.
    if isinstance(value, dict):
        items = (f"{json.dumps(str(k))}: {_json_text(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list):
        if indent:
            return "[\n" + ",\n".join(_json_text(v) for v in value) + "\n]\n"
        return "[" + ", ".join(_json_text(v) for v in value) + "]"
    if isinstance(value, Deep):
        return value.text()
    return json.dumps(value)


def _plain(value: Any) -> Any:
    """The value without DuplicateKey objects (YAML and XML cannot repeat keys)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Deep):
        return value.token()
    return value


def _undeep(text: str) -> str:
    """Put the deep lists back in place of their tokens."""
    for depth in DEPTHS:
        text = text.replace(Deep(depth).token(), Deep(depth).text())
    return text


def _xml_value(value: Any) -> str:
    if value is None:
        return "<None></None>"
    if not isinstance(value, list):
        return escape(str(value))
    if value and all(isinstance(v, str) for v in value):
        # A foreign key by natural key.
        return "".join(f"<natural>{escape(v)}</natural>" for v in value)
    parts = []
    for item in value:
        if isinstance(item, list):
            naturals = "".join(f"<natural>{escape(str(v))}</natural>" for v in item)
            parts.append(f"<object>{naturals}</object>")
        else:
            parts.append(f"<object pk={quoteattr(str(item))}></object>")
    return "".join(parts)


def _xml_text(objects: list[Any]) -> str:
    lines = ['<?xml version="1.0" encoding="utf-8"?>', '<django-objects version="1.0">']
    for obj in objects:
        if not isinstance(obj, dict):
            lines.append(f"  <object>{escape(str(obj))}</object>")
            continue
        attrs = f" model={quoteattr(str(obj.get('model', '')))}"
        if "pk" in obj and obj["pk"] is not None:
            attrs += f" pk={quoteattr(str(obj['pk']))}"
        lines.append(f"  <object{attrs}>")
        fields = obj.get("fields")
        if isinstance(fields, dict):
            for name, value in fields.items():
                attr = quoteattr(str(name))
                lines.append(f"    <field name={attr}>{_xml_value(value)}</field>")
        lines.append("  </object>")
    lines.append("</django-objects>")
    return "\n".join(lines) + "\n"


def render(objects: list[Any], format: str) -> bytes:
    """``objects`` written in ``format``, as UTF-8 bytes."""
    if format == "json":
        text = _json_text(objects, indent=True)
    elif format == "jsonl":
        text = "".join(_json_text(obj) + "\n" for obj in objects)
    elif format == "yaml":
        text = _undeep(
            yaml.safe_dump(_plain(objects), sort_keys=False, allow_unicode=True)
        )
    elif format == "xml":
        text = _undeep(_xml_text(_plain(objects)))
    else:  # pragma: no cover - FORMATS lists every format
        raise ValueError(format)
    return text.encode("utf-8", "surrogatepass")


# -- Bytes and compression -----------------------------------------------------


@st.composite
def damage(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` truncated, with bytes flipped, inserted or removed."""
    data = bytearray(data)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        kind = draw(st.sampled_from(["truncate", "flip", "insert", "remove"]))
        at = draw(st.integers(min_value=0, max_value=max(len(data) - 1, 0)))
        if kind == "truncate":
            del data[at:]
        elif kind == "flip" and data:
            data[at] ^= draw(st.sampled_from([0x01, 0x20, 0x80, 0xFF]))
        elif kind == "insert":
            data[at:at] = draw(
                st.sampled_from(
                    [
                        b"\x00",
                        b"\xff",
                        b"\xef\xbb\xbf",
                        b"{",
                        b"]",
                        b"<",
                        b"&",
                        b"*a",
                        b"\n",
                    ]
                )
            )
        elif kind == "remove" and data:
            del data[at : at + draw(st.integers(min_value=1, max_value=8))]
    return bytes(data)


def compress(data: bytes, compression: str, member: str) -> bytes:
    if compression == "gz":
        return gzip.compress(data, mtime=0)
    if compression == "bz2":
        return bz2.compress(data)
    if compression == "xz":
        return lzma.compress(data)
    if compression == "zip":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(member, data)
        return buffer.getvalue()
    return data


def decompress(data: bytes, compression: str) -> bytes:
    """The inverse of compress (raises on a damaged file)."""
    if compression == "gz":
        return gzip.decompress(data)
    if compression == "bz2":
        return bz2.decompress(data)
    if compression == "xz":
        return lzma.decompress(data)
    if compression == "zip":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.read(archive.namelist()[0])
    return data


@dataclass(frozen=True)
class Fixture:
    """One fuzzed fixture file: its name and bytes, and how they were made."""

    seed: str
    format: str
    compression: str
    objects: list[Any]
    text_damaged: bool
    file_damaged: bool
    data: bytes

    @property
    def name(self) -> str:
        name = f"fuzzed.{self.format}"
        return f"{name}.{self.compression}" if self.compression else name

    def text(self) -> bytes:
        """The uncompressed bytes (raises if the compressed file is damaged)."""
        return decompress(self.data, self.compression)

    def write(self, directory: Path) -> Path:
        path = directory / self.name
        path.write_bytes(self.data)
        return path

    def __repr__(self) -> str:
        def shown(data: bytes) -> bytes:
            return data if len(data) <= 3000 else data[:3000] + b"..."

        text = ""
        if self.compression:
            try:
                text = f", text={shown(self.text())!r}"
            except Exception:
                text = ", text=(cannot be decompressed)"
        return (
            f"Fixture(seed={self.seed!r}, name={self.name!r}, "
            f"text_damaged={self.text_damaged}, file_damaged={self.file_damaged}, "
            f"data={shown(self.data)!r}{text})"
        )


@st.composite
def fixtures(
    draw: st.DrawFn,
    seeds: dict[str, list[dict[str, Any]]],
    *,
    compressed: bool = True,
) -> Fixture:
    """A fixture file made from one of ``seeds``: mutated, written, damaged."""
    seed = draw(st.sampled_from(sorted(seeds)))
    objects = draw(mutate(seeds[seed]))
    format = draw(st.sampled_from(FORMATS))
    data = render(objects, format)
    text_damaged = draw(st.integers(0, 3)) == 3
    if text_damaged:
        data = draw(damage(data))
    compression = draw(st.sampled_from(COMPRESSIONS)) if compressed else ""
    file_damaged = False
    if compression:
        data = compress(data, compression, f"fuzzed.{format}")
        file_damaged = draw(st.integers(0, 3)) == 3
        if file_damaged:
            data = draw(damage(data))
    return Fixture(seed, format, compression, objects, text_damaged, file_damaged, data)
