"""
Migration names as users write them: ``library.0002`` to a graph node.

Every place that takes a migration name goes through here, so that they all
accept the same names and fail with the same messages: ``loadfixture
--state``, ``upgradefixture --from`` and ``--to``, ``migrate_to()`` and
``MigrationTestCase``. The rules are those of ``manage.py migrate``: a
unique prefix of the name is enough (``library.0002``), the name is looked
up among the migrations on disk, and a squashed migration whose replaced
migrations are only partly applied stands for the last one it replaces. An
exact name wins over the longer names it is a prefix of (``migrate`` calls
that ambiguous). A name that matches nothing fails with the nearest names.
"""

from __future__ import annotations

import difflib
import re
from typing import TypeAlias

from django.apps import apps as live_apps
from django.core.management.base import CommandError
from django.db.migrations.loader import MigrationLoader

from histfixtures.exceptions import FixtureError

Node: TypeAlias = tuple[str, str]

_LABEL = re.compile(r"(\w+)\.(\w+)")

#: The name that stands for "none of the app's migrations", as for migrate.
ZERO = "zero"


class UnknownStateError(FixtureError, LookupError):
    """A migration state that the migration graph does not have."""


def parse_node(loader: MigrationLoader, text: str, *, zero: bool = False) -> Node:
    """The node ``"app_label.migration_name"`` (or a unique prefix) names."""
    app_label, name = split_label(text)
    return find_node(loader, app_label, name, zero=zero)


def parse_option(loader: MigrationLoader, value: str, option: str) -> Node:
    """:func:`parse_node` for a command's option: a one-line ``CommandError``."""
    try:
        return parse_node(loader, value)
    except UnknownStateError as exc:
        hint = f" {exc.hint}" if exc.hint else ""
        raise CommandError(f"{option} {value}: {exc.message}{hint}") from exc


def split_label(text: str) -> tuple[str, str]:
    """``"library.0002"`` as ``("library", "0002")``; refuse anything else."""
    match = _LABEL.fullmatch(text)
    if match is None:
        raise UnknownStateError(
            f"{text!r} is not a migration state.",
            state=text,
            hint="Write app_label.migration_name, such as 'shop.0003_book_price' "
            "(a unique prefix of the name is enough: 'shop.0003').",
        )
    return match[1], match[2]


def find_node(
    loader: MigrationLoader, app_label: str, name: str | None, *, zero: bool = False
) -> Node:
    """
    The graph node of ``app_label``'s migration ``name``, or a unique prefix.

    With ``zero``, ``None`` and ``"zero"`` give ``(app_label, "zero")``: no
    migration of the app, as ``migrate app_label zero``.
    """
    check_app(loader, app_label)
    if name is None or name == ZERO:
        if zero:
            return (app_label, ZERO)
        raise UnknownStateError(
            f"{app_label}.{ZERO} (none of {app_label}'s migrations) is not a "
            "state to use here.",
            state=f"{app_label}.{name or ZERO}",
            hint=f"Name one of {app_label}'s migrations: "
            + _listing(app_label, _names(loader, app_label))
            + ".",
        )
    names = _names(loader, app_label)
    state = f"{app_label}.{name}"
    if name in names:
        return _in_graph(loader, (app_label, name))
    candidates = [n for n in names if n.startswith(name)]
    if len(candidates) == 1:
        return _in_graph(loader, (app_label, candidates[0]))
    if candidates:
        raise UnknownStateError(
            f"The migration state {state} is ambiguous.",
            state=state,
            hint=f"It could be {_listing(app_label, candidates)}; give more of "
            "the name.",
        )
    close = close_migration_names(name, names)
    raise UnknownStateError(
        f"There is no migration state {state}.",
        state=state,
        hint=(
            f"Did you mean {' or '.join(f'{app_label}.{n}' for n in close)}?"
            if close
            else f"The migrations of {app_label}: {_listing(app_label, names)}."
        ),
    )


def check_app(loader: MigrationLoader, app_label: str) -> None:
    """Refuse a label that is no installed app's, or an app without migrations."""
    labels = [config.label for config in live_apps.get_app_configs()]
    migrated = sorted(loader.migrated_apps)
    if app_label not in labels:
        close = close_names(app_label, migrated) or close_names(app_label, labels)
        raise UnknownStateError(
            f"There is no installed app {app_label!r}.",
            state=app_label,
            hint=(
                did_you_mean(close)
                if close
                else f"Installed apps with migrations: {', '.join(migrated)}."
            ),
        )
    if app_label not in migrated:
        raise UnknownStateError(
            f"The app {app_label!r} has no migrations.",
            state=app_label,
            hint=f"Apps with migrations: {', '.join(migrated) or '(none)'}.",
        )


def close_names(word: str, names: list[str]) -> list[str]:
    """Up to three of ``names`` that look like ``word`` (a typo of it)."""
    return difflib.get_close_matches(word, names, n=3, cutoff=0.6)


def close_migration_names(name: str, names: list[str]) -> list[str]:
    """The names with the same number first (a typo in the words), else alike."""
    number = name.split("_", 1)[0]
    same = [n for n in names if number.isdigit() and n.split("_", 1)[0] == number]
    return same or close_names(name, names)


def did_you_mean(names: list[str]) -> str:
    """``"Did you mean 'a' or 'b'?"``."""
    return f"Did you mean {' or '.join(repr(name) for name in names)}?"


def _names(loader: MigrationLoader, app_label: str) -> list[str]:
    # Looked up on disk, as migrate does: a migration that a squashed one
    # replaces is still a name the user may give (and be told about).
    return sorted(name for app, name in loader.disk_migrations if app == app_label)


def _listing(app_label: str, names: list[str]) -> str:
    return ", ".join(f"{app_label}.{name}" for name in names) or "(none)"


def _in_graph(loader: MigrationLoader, node: Node) -> Node:
    if node in loader.graph.nodes:
        return node
    if node in loader.replacements:
        # A squashed migration whose replaced migrations are partly applied
        # is not in the graph; the last one it replaces ends at the same
        # state (migrate does the same).
        replaced: Node = loader.replacements[node].replaces[-1]
        return replaced
    squashes = [
        f"{key[0]}.{key[1]}"
        for key, migration in loader.replacements.items()
        if node in migration.replaces
    ]
    state = f"{node[0]}.{node[1]}"
    raise UnknownStateError(
        f"{state} is not in the migration graph"
        + (f": the squashed {', '.join(squashes)} replaced it." if squashes else "."),
        state=state,
        hint=f"Name {squashes[0]} instead." if squashes else None,
    )
