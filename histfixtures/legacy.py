"""
Finds legacy fixture loading in migration source.

Before histfixtures, projects loaded fixtures in data migrations in a few
ways that all break sooner or later, and that are read here from the
migration file with the stdlib ``ast`` module (the file is never imported or
run by this module):

- a function passed to ``migrations.RunPython`` (forwards or backwards)
  that calls ``call_command("loaddata", ...)`` or
  ``serializers.deserialize(...)``, outside a ``with historical_models(apps):``
  block, directly or in a function of the same module it calls (one level:
  a helper of a helper is not followed);
- the monkeypatch recipes, anywhere in the module: a reference to
  ``django.core.serializers.python._get_model`` (the private function that
  Django 5.2 removed) or an assignment to the ``apps`` global of
  ``django.core.serializers.python`` or ``.xml_serializer``.

Names are resolved through the module's imports, wherever they are (module
level or inside a function), so ``call_command``, ``management.call_command``
and ``django.core.management.call_command`` are all found, but a name bound
any other way (an assignment, a wildcard import) is not followed.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

Kind = Literal["loaddata", "deserialize", "get_model_patch", "apps_patch"]

_RUN_PYTHON = frozenset(
    {
        "django.db.migrations.RunPython",
        "django.db.migrations.operations.RunPython",
        "django.db.migrations.operations.special.RunPython",
    }
)
_CALL_COMMAND = frozenset(
    {
        "django.core.management.call_command",
        "django.core.management.base.call_command",
    }
)
_DESERIALIZE = frozenset({"django.core.serializers.deserialize"})
_HISTORICAL_MODELS = frozenset(
    {"histfixtures.historical_models", "histfixtures.context.historical_models"}
)
_PARTIAL = frozenset({"functools.partial"})
_SERIALIZER_MODULES = frozenset(
    {"django.core.serializers.python", "django.core.serializers.xml_serializer"}
)
_PYTHON_SERIALIZER = "django.core.serializers.python"


@dataclass(frozen=True)
class LegacyLoading:
    """One place of a migration module that loads fixtures the legacy way."""

    kind: Kind
    line: int
    # The function passed to RunPython (for a patch: the module-level or
    # class-level function it is in); None at module level.
    function: str | None
    # The helper of ``function`` holding the call, when it is not in
    # ``function`` itself.
    helper: str | None = None


def find_legacy_loading(path: str) -> tuple[LegacyLoading, ...]:
    """
    The legacy loading in the Python file at ``path``, cached by mtime and size.

    A file that cannot be read or parsed has none: Django reports it when it
    imports the migration.
    """
    try:
        stat = os.stat(path)
        key = (stat.st_mtime_ns, stat.st_size)
        cached = _cache.get(path)
        if cached is not None and cached[0] == key:
            return cached[1]
        with open(path, "rb") as file:
            source = file.read()
    except OSError:
        return ()
    found = analyse_source(source)
    _cache[path] = (key, found)
    return found


_cache: dict[str, tuple[tuple[int, int], tuple[LegacyLoading, ...]]] = {}


def analyse_source(source: str | bytes) -> tuple[LegacyLoading, ...]:
    """The legacy loading in a module's source, in the order of the lines."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ()
    return tuple(sorted(_Module(tree).findings(), key=_order))


def _order(found: LegacyLoading) -> tuple[int, str, str]:
    return (found.line, found.kind, found.function or "")


class _Module:
    """One parsed migration module."""

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self.names = _imported_names(tree)
        self.functions = _functions(tree.body)

    def findings(self) -> Iterator[LegacyLoading]:
        patches = list(self.patches())
        yield from patches
        patched = {found.function for found in patches}
        if None in patched:
            return  # A module-level recipe covers every function.
        seen: set[LegacyLoading] = set()
        for name, function in self.run_python_functions():
            for found in self.loading(name, function):
                if found in seen or {found.function, found.helper} & patched:
                    continue
                seen.add(found)
                yield found

    def qualname(self, node: ast.expr) -> str | None:
        return _qualname(node, self.names)

    # The monkeypatch recipes.

    def patches(self) -> Iterator[LegacyLoading]:
        """The first patch of each kind in each function (or module level)."""
        seen: set[tuple[Kind, str | None]] = set()
        for function, node in _nodes_by_function(self.tree):
            kind = self.patch_kind(node)
            if kind is not None and (kind, function) not in seen:
                seen.add((kind, function))
                yield LegacyLoading(kind, node.lineno, function)  # type: ignore[attr-defined]

    def patch_kind(self, node: ast.AST) -> Kind | None:
        if isinstance(node, ast.Attribute):
            module = self.qualname(node.value)
            if module == _PYTHON_SERIALIZER and node.attr == "_get_model":
                # Reading it crashes too: the recipe saves the original first.
                return "get_model_patch"
            if (
                module in _SERIALIZER_MODULES
                and node.attr == "apps"
                and isinstance(node.ctx, ast.Store)
            ):
                return "apps_patch"
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "setattr"
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
        ):
            module = self.qualname(node.args[0])
            if module == _PYTHON_SERIALIZER and node.args[1].value == "_get_model":
                return "get_model_patch"
            if module in _SERIALIZER_MODULES and node.args[1].value == "apps":
                return "apps_patch"
        return None

    # Loading in RunPython functions.

    def run_python_functions(self) -> Iterator[tuple[str, ast.AST]]:
        """The functions passed to RunPython, by name, with their node."""
        for statement in self.tree.body:
            scope = self.functions
            if isinstance(statement, ast.ClassDef):
                scope = {**self.functions, **_functions(statement.body)}
            for node in ast.walk(statement):
                if (
                    isinstance(node, ast.Call)
                    and self.qualname(node.func) in _RUN_PYTHON
                ):
                    for argument in _code_arguments(node):
                        found = self.function_of(argument, scope)
                        if found is not None:
                            yield found

    def function_of(
        self, node: ast.expr, scope: dict[str, ast.AST]
    ) -> tuple[str, ast.AST] | None:
        """The function that the RunPython argument ``node`` stands for."""
        if isinstance(node, ast.Name) and node.id in scope:
            return node.id, scope[node.id]
        if isinstance(node, ast.Lambda):
            return "<lambda>", node
        if isinstance(node, ast.Call) and node.args:
            if self.qualname(node.func) in _PARTIAL:
                return self.function_of(node.args[0], scope)
            # A factory: RunPython(load_fixture("catalog")), whose nested
            # function does the loading.
            if isinstance(node.func, ast.Name) and node.func.id in scope:
                return node.func.id, scope[node.func.id]
        return None

    def loading(self, name: str, function: ast.AST) -> Iterator[LegacyLoading]:
        """The loading calls of a RunPython function and of its helpers."""
        helpers: dict[str, ast.AST] = {}
        for call in _unwrapped_calls(function, self.names):
            kind = self.loading_kind(call)
            if kind is not None:
                yield LegacyLoading(kind, call.lineno, name)
            elif (
                isinstance(call.func, ast.Name)
                and call.func.id in self.functions
                and call.func.id != name
            ):
                helpers.setdefault(call.func.id, self.functions[call.func.id])
        for helper, node in helpers.items():
            for call in _unwrapped_calls(node, self.names):
                kind = self.loading_kind(call)
                if kind is not None:
                    yield LegacyLoading(kind, call.lineno, name, helper)

    def loading_kind(self, call: ast.Call) -> Kind | None:
        qualname = self.qualname(call.func)
        if qualname in _DESERIALIZE:
            return "deserialize"
        if qualname in _CALL_COMMAND and call.args:
            command = call.args[0]
            if isinstance(command, ast.Constant) and command.value == "loaddata":
                return "loaddata"
        return None


def _imported_names(tree: ast.Module) -> dict[str, str]:
    """What each imported name of the module stands for, as a dotted path."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:
                    top = alias.name.partition(".")[0]
                    names[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _qualname(node: ast.expr, names: dict[str, str]) -> str | None:
    """The dotted path of a name or attribute chain, through the imports."""
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _qualname(node.value, names)
        return None if base is None else f"{base}.{node.attr}"
    return None


def _functions(body: list[ast.stmt]) -> dict[str, ast.AST]:
    return {
        node.name: node
        for node in body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def _code_arguments(call: ast.Call) -> Iterator[ast.expr]:
    """The ``code`` and ``reverse_code`` arguments of a RunPython call."""
    yield from call.args[:2]
    for keyword in call.keywords:
        if keyword.arg in ("code", "reverse_code"):
            yield keyword.value


def _unwrapped_calls(node: ast.AST, names: dict[str, str]) -> Iterator[ast.Call]:
    """The calls under ``node`` outside ``with historical_models(...)`` blocks."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.With | ast.AsyncWith) and any(
            isinstance(item.context_expr, ast.Call)
            and _qualname(item.context_expr.func, names) in _HISTORICAL_MODELS
            for item in child.items
        ):
            continue
        if isinstance(child, ast.Call):
            yield child
        yield from _unwrapped_calls(child, names)


def _nodes_by_function(tree: ast.Module) -> Iterator[tuple[str | None, ast.AST]]:
    """Every node, with the module-level or class-level function it is in."""
    for statement in tree.body:
        scopes = statement.body if isinstance(statement, ast.ClassDef) else []
        functions = _functions(scopes)
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            functions = {statement.name: statement}
        inside = {id(node) for node in functions.values()}
        for name, function in functions.items():
            for node in ast.walk(function):
                yield name, node
        if id(statement) in inside:
            continue
        for node in _walk_outside(statement, inside):
            yield None, node


def _walk_outside(node: ast.AST, skip: set[int]) -> Iterator[ast.AST]:
    if id(node) in skip:
        return
    yield node
    for child in ast.iter_child_nodes(node):
        yield from _walk_outside(child, skip)
