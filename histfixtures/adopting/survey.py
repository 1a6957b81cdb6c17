"""
Read a migration module: which functions load fixtures, which patch serializers.

Loading is ``call_command("loaddata", ...)`` or ``serializers.deserialize(...)``
outside a ``with historical_models(...)`` block; patching is an assignment of
or to ``django.core.serializers.python._get_model`` or ``.apps`` (both
monkeypatch recipes save, set and restore one of these).
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

import libcst as cst
import libcst.matchers as m

# The attributes of django.core.serializers.python that the recipes patch.
PATCHED_ATTRIBUTES = frozenset({"_get_model", "apps"})

# How a RunPython is unapplied: nothing to do, irreversible, or anything else.
Reverse = Literal["noop", "irreversible", "other"]


class NotUnderstood(Exception):
    """Code that adoptfixtures cannot rewrite with certainty; the file stays as is."""


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


def is_loaddata(call: cst.Call) -> bool:
    """``call_command("loaddata", ...)``; refuses a command name computed at runtime."""
    if call_name(call) != "call_command" or not call.args:
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


def is_loading(call: cst.Call) -> bool:
    """loaddata, or Django's deserialize (histfixtures' own takes ``apps=``)."""
    if call_name(call) == "deserialize":
        return not any(name_of(arg.keyword) == "apps" for arg in call.args)
    return is_loaddata(call)


def is_historical(node: cst.With) -> bool:
    return any(
        isinstance(item.item, cst.Call) and call_name(item.item) == "historical_models"
        for item in node.items
    )


def patched_attribute(node: cst.BaseExpression) -> str | None:
    """``"_get_model"`` for ``python._get_model``, ``serializers.python._get_model``."""
    if not isinstance(node, cst.Attribute) or node.attr.value not in PATCHED_ATTRIBUTES:
        return None
    if m.matches(node.value, m.Name("python") | m.Attribute(attr=m.Name("python"))):
        return node.attr.value
    return None


def patches(small: cst.BaseSmallStatement) -> set[str]:
    """The attributes an assignment saves, sets or restores."""
    if not isinstance(small, cst.Assign):
        return set()
    nodes = [target.target for target in small.targets] + [small.value]
    return {name for node in nodes if (name := patched_attribute(node))}


def names_in(node: cst.CSTNode) -> set[str]:
    return {
        name.value for name in m.findall(node, m.Name()) if isinstance(name, cst.Name)
    }


def has_comments(node: cst.CSTNode) -> bool:
    return bool(m.findall(node, m.Comment()))


class LoadingFinder(cst.CSTVisitor):
    """Whether a node loads fixtures outside ``historical_models``."""

    def __init__(self) -> None:
        super().__init__()
        self.found = False
        # Django's deserialize() is lazy: models are looked up as its objects
        # are iterated, maybe statements later.
        self.deserializes = False
        self.historical = 0
        self.lambdas = 0

    def visit_With(self, node: cst.With) -> None:
        self.historical += is_historical(node)

    def leave_With(self, original_node: cst.With) -> None:
        self.historical -= is_historical(original_node)

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self.lambdas += 1

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self.lambdas -= 1

    def visit_Call(self, node: cst.Call) -> None:
        if not self.historical and is_loading(node):
            self.found = True
            self.deserializes |= call_name(node) == "deserialize"


def loading_in(node: cst.CSTNode) -> LoadingFinder:
    finder = LoadingFinder()
    node.visit(finder)
    return finder


class Survey(LoadingFinder):
    """Everything adoptfixtures needs to know about one module."""

    def __init__(self) -> None:
        super().__init__()
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
        if self.historical or not is_loading(node):
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
        attributes = patches(node)
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
