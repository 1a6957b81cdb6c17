"""
Read a migration module: which functions load fixtures, which patch serializers.

Loading is ``call_command("loaddata", ...)`` or ``serializers.deserialize(...)``
outside a ``with historical_models(...)`` block; patching is an assignment of
or to ``django.core.serializers.python._get_model`` or the ``apps`` of
``.python`` or ``.xml_serializer`` (both monkeypatch recipes save, set and
restore one of these).

Names are resolved through the module's imports, as the W001-W004 checks
resolve them (:mod:`histfixtures.legacy`, whose sets of dotted paths are
used here), so that both tools find the same code under any alias.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

import libcst as cst
import libcst.matchers as m

from histfixtures.legacy import (
    CALL_COMMAND,
    DESERIALIZE,
    HISTORICAL_MODELS,
    PYTHON_SERIALIZER,
    SERIALIZER_MODULES,
)

# How a RunPython is unapplied: nothing to do, irreversible, or anything else.
Reverse = Literal["noop", "irreversible", "other"]


class NotUnderstood(Exception):
    """Code that adoptfixtures cannot rewrite with certainty; the file stays as is."""


@dataclass(frozen=True)
class ImportedNames:
    """What each name imported by a module stands for, as a dotted path."""

    paths: Mapping[str, str]

    @classmethod
    def of(cls, module: cst.Module) -> ImportedNames:
        """The imports anywhere in the module (at module level or in a function)."""
        paths: dict[str, str] = {}
        for node in m.findall(module, m.Import() | m.ImportFrom()):
            assert isinstance(node, cst.Import | cst.ImportFrom)
            for alias, name, path in bindings(node):
                plain = isinstance(node, cst.Import) and alias.asname is None
                paths[name] = name if plain else path  # import x.y: x is x
        return cls(paths)

    def qualname(self, node: cst.BaseExpression) -> str | None:
        """The dotted path of a name or attribute chain, through the imports."""
        if isinstance(node, cst.Name):
            return self.paths.get(node.value)
        if isinstance(node, cst.Attribute):
            base = self.qualname(node.value)
            return None if base is None else f"{base}.{node.attr.value}"
        return None


def bindings(
    node: cst.Import | cst.ImportFrom,
) -> Iterator[tuple[cst.ImportAlias, str, str]]:
    """
    Each name an import binds, with the dotted path it imports: ``import
    x.y`` binds ``x`` and imports ``x.y``. Relative and wildcard imports bind
    nothing that can be resolved.
    """
    if isinstance(node, cst.Import):
        for alias in node.names:
            path = dotted(alias.name)
            yield alias, alias.evaluated_alias or path.partition(".")[0], path
    elif (
        node.module is not None
        and not node.relative
        and not isinstance(node.names, cst.ImportStar)
    ):
        module = dotted(node.module)
        for alias in node.names:
            name = alias.evaluated_name
            yield alias, alias.evaluated_alias or name, f"{module}.{name}"


def dotted(node: cst.Attribute | cst.Name) -> str:
    return cst.Module([]).code_for_node(node)


def call_name(call: cst.Call) -> str | None:
    """The name called: ``f`` for ``f(...)`` and for ``a.b.f(...)``."""
    if isinstance(call.func, cst.Name):
        return call.func.value
    if isinstance(call.func, cst.Attribute):
        return call.func.attr.value
    return None


def name_of(node: cst.CSTNode | None) -> str | None:
    return node.value if isinstance(node, cst.Name) else None


def argument(call: cst.Call, position: int, keyword: str) -> cst.BaseExpression | None:
    """The value passed for a parameter, by keyword or at its position."""
    positional = [arg for arg in call.args if arg.keyword is None and not arg.star]
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return arg.value
    return positional[position].value if len(positional) > position else None


def is_loaddata(call: cst.Call, names: ImportedNames) -> bool:
    """``call_command("loaddata", ...)``; refuses a command name computed at runtime."""
    if names.qualname(call.func) not in CALL_COMMAND or not call.args:
        return False
    first = call.args[0]
    if (
        first.keyword is None
        and not first.star
        and isinstance(first.value, cst.SimpleString)
    ):
        return first.value.evaluated_value == "loaddata"
    raise NotUnderstood(
        "call_command() is given a command name computed at runtime, "
        "which may be loaddata"
    )


def is_deserialize(call: cst.Call, names: ImportedNames) -> bool:
    return names.qualname(call.func) in DESERIALIZE


def is_loading(call: cst.Call, names: ImportedNames) -> bool:
    """loaddata, or Django's deserialize."""
    return is_deserialize(call, names) or is_loaddata(call, names)


def is_historical(node: cst.With, names: ImportedNames) -> bool:
    """
    A ``with historical_models(...)``: imported from histfixtures, or spelt
    so (what adoptfixtures writes is not wrapped again).
    """
    return any(
        isinstance(item.item, cst.Call)
        and (
            call_name(item.item) == "historical_models"
            or names.qualname(item.item.func) in HISTORICAL_MODELS
        )
        for item in node.items
    )


def patched_attribute(node: cst.BaseExpression, names: ImportedNames) -> str | None:
    """
    ``"python._get_model"`` for ``python._get_model`` when ``python`` is
    ``django.core.serializers.python`` under any import; ``"python.apps"``
    and ``"xml_serializer.apps"`` likewise.
    """
    if not isinstance(node, cst.Attribute):
        return None
    module = names.qualname(node.value) or ""
    attribute = node.attr.value
    if (module == PYTHON_SERIALIZER and attribute == "_get_model") or (
        module in SERIALIZER_MODULES and attribute == "apps"
    ):
        return f"{module.rpartition('.')[2]}.{attribute}"
    return None


def patches(small: cst.BaseSmallStatement, names: ImportedNames) -> set[str]:
    """The attributes an assignment saves, sets or restores."""
    if not isinstance(small, cst.Assign):
        return set()
    nodes = [target.target for target in small.targets] + [small.value]
    return {found for node in nodes if (found := patched_attribute(node, names))}


def names_in(node: cst.CSTNode) -> set[str]:
    return {
        name.value for name in m.findall(node, m.Name()) if isinstance(name, cst.Name)
    }


def has_comments(node: cst.CSTNode) -> bool:
    return bool(m.findall(node, m.Comment()))


class LoadingFinder(cst.CSTVisitor):
    """Whether a node loads fixtures outside ``historical_models``."""

    def __init__(self, names: ImportedNames) -> None:
        super().__init__()
        self.names = names
        self.found = False
        # Django's deserialize() is lazy: models are looked up as its objects
        # are iterated, maybe statements later.
        self.deserializes = False
        self.historical = 0
        self.lambdas = 0

    def visit_With(self, node: cst.With) -> None:
        self.historical += is_historical(node, self.names)

    def leave_With(self, original_node: cst.With) -> None:
        self.historical -= is_historical(original_node, self.names)

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self.lambdas += 1

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self.lambdas -= 1

    def visit_Call(self, node: cst.Call) -> None:
        if not self.historical and is_loading(node, self.names):
            self.found = True
            self.deserializes |= is_deserialize(node, self.names)


def loading_in(node: cst.CSTNode, names: ImportedNames) -> LoadingFinder:
    finder = LoadingFinder(names)
    node.visit(finder)
    return finder


class Survey(LoadingFinder):
    """Everything adoptfixtures needs to know about one module."""

    def __init__(self, names: ImportedNames) -> None:
        super().__init__(names)
        self.functions: dict[str, cst.FunctionDef] = {}  # module-level, in order
        self.references: Counter[str] = Counter()
        self.loading: set[str] = set()
        self.patched: dict[str, set[str]] = {}
        self.run_pythons: list[cst.Call] = []
        self.list_elements: set[cst.BaseExpression] = set()
        # The enclosing functions, outermost first; True for a module-level one.
        self.stack: list[bool] = []
        self.owners: list[str] = []
        self.classes = 0

    @property
    def owner(self) -> str | None:
        """The module-level function the visitor is in, if any."""
        return self.owners[0] if self.stack and self.stack[0] else None

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes += 1

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.classes -= 1

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        module_level = not self.stack and not self.classes
        if module_level:
            self.functions[node.name.value] = node
        self.stack.append(module_level)
        self.owners.append(node.name.value)
        self.references[node.name.value] -= 1  # its own name is no reference

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.stack.pop()
        self.owners.pop()

    # A parameter, an attribute or a keyword spelt like a function is no
    # reference to it either.
    def visit_Param(self, node: cst.Param) -> None:
        self.references[node.name.value] -= 1

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.references[node.attr.value] -= 1

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self.references[node.keyword.value] -= 1

    def visit_Name(self, node: cst.Name) -> None:
        self.references[node.value] += 1

    def visit_List(self, node: cst.List) -> None:
        self.list_elements.update(element.value for element in node.elements)

    def visit_Call(self, node: cst.Call) -> None:
        if call_name(node) == "RunPython":
            self.run_pythons.append(node)
        if self.historical or not is_loading(node, self.names):
            return
        if self.owner is None:
            raise NotUnderstood(
                "fixtures are loaded outside a module-level function "
                "(in a lambda, a class or at module level)"
            )
        if len(self.stack) > 1 or self.lambdas:
            # Wrapping its definition would not wrap the calls.
            raise NotUnderstood(
                f"{self.owner}() loads fixtures in a nested function or lambda"
            )
        self.loading.add(self.owner)

    def visit_Assign(self, node: cst.Assign) -> None:
        attributes = patches(node, self.names)
        if not attributes:
            return
        if self.owner is None:
            raise NotUnderstood(
                "django.core.serializers.python is patched outside a module-level "
                "function"
            )
        self.patched.setdefault(self.owner, set()).update(attributes)

    def run_python_uses(self, name: str) -> list[tuple[cst.Call, str]]:
        """The RunPython calls that use a function, and as what."""
        return [
            (call, keyword)
            for call in self.run_pythons
            for position, keyword in enumerate(("code", "reverse_code"))
            if name_of(argument(call, position, keyword)) == name
        ]

    def reverse_of(self, run_python: cst.Call) -> Reverse:
        value = argument(run_python, 1, "reverse_code")
        if value is None or m.matches(value, m.Name("None")):
            return "irreversible"
        if m.matches(value, m.Attribute(attr=m.Name("noop"))):
            return "noop"
        if isinstance(value, cst.Name) and is_noop(self.functions.get(value.value)):
            return "noop"
        return "other"

    def apps_parameter(self, name: str) -> str:
        parameters = self.parameters(name)
        if not parameters:
            raise NotUnderstood(f"{name}() takes no apps parameter to load with")
        return parameters[0]

    def parameters(self, name: str) -> list[str]:
        params = self.functions[name].params
        return [param.name.value for param in (*params.posonly_params, *params.params)]


def is_noop(function: cst.FunctionDef | None) -> bool:
    """A function whose body is only ``pass``, ``...`` or a docstring."""
    if function is None or has_comments(function.body):
        return False
    body = function.body
    if isinstance(body, cst.SimpleStatementSuite):
        small: list[cst.BaseSmallStatement] = list(body.body)
    else:
        small = []
        for statement in body.body:
            if not isinstance(statement, cst.SimpleStatementLine):
                return False
            small.extend(statement.body)
    return all(
        m.matches(statement, m.Pass() | m.Expr(m.Ellipsis() | m.SimpleString()))
        for statement in small
    )
