"""Carry out a :class:`~histfixtures.adopting.plan.Plan` on a module's tree."""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst
import libcst.matchers as m

from histfixtures.adopting.plan import Plan
from histfixtures.adopting.survey import (
    loading_in,
    names_in,
    patched_attribute,
    patches,
)

# Names the monkeypatch recipes import from django.core.serializers.
_RECIPE_IMPORTS = frozenset({"python", "base"})
# Module-level imports that the rewritten code may have stopped using.
_MAYBE_UNUSED = {
    "django.core.management": frozenset({"call_command"}),
    "django.core.serializers": _RECIPE_IMPORTS,
}


class Rewriter(cst.CSTTransformer):
    def __init__(self, plan: Plan) -> None:
        super().__init__()
        self.plan = plan
        self.depth = 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.depth += 1

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef | cst.RemovalSentinel:
        self.depth -= 1
        name = original_node.name.value
        if self.depth or isinstance(self.parent_class, cst.ClassDef):
            return updated_node
        if name in self.plan.removals:
            return cst.RemovalSentinel.REMOVE
        if name in self.plan.wraps:
            block = updated_node.body
            assert isinstance(block, cst.IndentedBlock)  # Plan.of made sure
            body = _trimmed(wrapped(unpatched(block.body), self.plan.wraps[name]))
            return updated_node.with_changes(body=block.with_changes(body=body))
        return updated_node

    parent_class: cst.ClassDef | None = None

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.parent_class = node

    def leave_ClassDef(
        self, original_node: cst.ClassDef, updated_node: cst.ClassDef
    ) -> cst.ClassDef:
        self.parent_class = None
        return updated_node

    def leave_List(self, original_node: cst.List, updated_node: cst.List) -> cst.List:
        elements: list[cst.BaseElement] = []
        for index, (original, element) in enumerate(
            zip(original_node.elements, updated_node.elements, strict=True)
        ):
            value = original.value
            calls = (
                self.plan.replacements.get(value)
                if isinstance(value, cst.Call)
                else None
            )
            if calls is None:
                elements.append(element)
                continue
            comma = element.comma
            if isinstance(comma, cst.MaybeSentinel):
                # The last element: its new siblings are spaced as those before.
                before = updated_node.elements[index - 1].comma if index else comma
                comma = before if isinstance(before, cst.Comma) else cst.Comma()
            if isinstance(comma, cst.Comma) and isinstance(
                comma.whitespace_after, cst.ParenthesizedWhitespace
            ):
                # A comment after the operation stays after the last one.
                comma = comma.with_changes(
                    whitespace_after=comma.whitespace_after.with_changes(
                        first_line=cst.TrailingWhitespace()
                    )
                )
            elements.extend(cst.Element(call, comma=comma) for call in calls[:-1])
            elements.append(element.with_changes(value=calls[-1]))
        return updated_node.with_changes(elements=elements)


def wrapped(
    statements: Sequence[cst.BaseStatement], apps: str
) -> list[cst.BaseStatement]:
    """
    The statements from the first that loads to the last, in one ``with``.

    After ``deserialize()``, to the end: its objects may be iterated later.
    """
    finders = [loading_in(statement) for statement in statements]
    loading = [index for index, finder in enumerate(finders) if finder.found]
    if not loading:
        return list(statements)
    first, last = loading[0], loading[-1]
    if any(finder.deserializes for finder in finders):
        last = len(statements) - 1
    head, *tail = statements[first : last + 1]
    block = cst.With(
        items=[
            cst.WithItem(
                cst.Call(cst.Name("historical_models"), [cst.Arg(cst.Name(apps))])
            )
        ],
        body=cst.IndentedBlock([head.with_changes(leading_lines=()), *tail]),
        leading_lines=_leading_lines(head),
    )
    return [*statements[:first], block, *statements[last + 1 :]]


def unpatched(statements: Sequence[cst.BaseStatement]) -> list[cst.BaseStatement]:
    """The statements without the recipe: save, helper, patch, restore, imports."""
    helpers = {
        small.value.value
        for statement in statements
        if isinstance(statement, cst.SimpleStatementLine)
        for small in statement.body
        if isinstance(small, cst.Assign)
        and isinstance(small.value, cst.Name)
        and any(patched_attribute(target.target) for target in small.targets)
    }
    kept: list[cst.BaseStatement] = []
    for statement in statements:
        if isinstance(statement, cst.FunctionDef) and statement.name.value in helpers:
            continue
        if isinstance(statement, cst.Try):
            kept.extend(_untried(statement))
        elif isinstance(statement, cst.SimpleStatementLine):
            small = [s for s in statement.body if not patches(s)]
            if small:
                small[-1] = small[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
                kept.append(statement.with_changes(body=small))
        else:
            kept.append(statement)
    if len(kept) == len(statements):
        return kept
    # The recipe's own imports (python, base) go when nothing else uses them.
    used = set().union(*(names_in(s) for s in kept if _recipe_import(s) is None))
    return [s for s in kept if not (names := _recipe_import(s)) or names & used]


def _recipe_import(statement: cst.BaseStatement) -> set[str] | None:
    """The names of ``from django.core.serializers import python, base``."""
    if _import_from(statement) != "django.core.serializers":
        return None
    node = cst.ensure_type(statement, cst.SimpleStatementLine).body[0]
    names = cst.ensure_type(node, cst.ImportFrom).names
    if isinstance(names, cst.ImportStar):
        return None
    imported = {name.evaluated_alias or name.evaluated_name for name in names}
    return imported if imported <= _RECIPE_IMPORTS else None


def _untried(statement: cst.Try) -> list[cst.BaseStatement]:
    """A try whose finally only restored the patch loses it, or goes altogether."""
    final = statement.finalbody
    if not isinstance(statement.body, cst.IndentedBlock) or (
        final is not None and not isinstance(final.body, cst.IndentedBlock)
    ):
        return [statement]
    body = unpatched(statement.body.body) or [cst.SimpleStatementLine([cst.Pass()])]
    new = statement.with_changes(body=statement.body.with_changes(body=body))
    if final is None:
        return [new]
    assert isinstance(final.body, cst.IndentedBlock)
    rest = unpatched(final.body.body)
    if rest:
        return [
            new.with_changes(
                finalbody=final.with_changes(body=final.body.with_changes(body=rest))
            )
        ]
    if statement.handlers or statement.orelse:
        return [new.with_changes(finalbody=None)]
    head, *tail = body
    leading = [*statement.leading_lines, *_leading_lines(head)]
    return [head.with_changes(leading_lines=leading), *tail]


def _leading_lines(statement: cst.BaseStatement) -> Sequence[cst.EmptyLine]:
    if isinstance(statement, cst.SimpleStatementLine | cst.BaseCompoundStatement):
        return statement.leading_lines
    return ()


def _trimmed(statements: list[cst.BaseStatement]) -> list[cst.BaseStatement]:
    """Without blank lines before the first statement (left by removed ones)."""
    if not statements:
        return [cst.SimpleStatementLine([cst.Pass()])]
    head, *tail = statements
    leading = list(_leading_lines(head))
    while leading and leading[0].comment is None:
        leading.pop(0)
    return [head.with_changes(leading_lines=leading), *tail]


def without_unused_imports(module: cst.Module) -> cst.Module:
    """
    The module without the imports of ``_MAYBE_UNUSED`` that nothing uses.

    The blank lines and comments above a removed import stay, on the
    statement that follows it, so that import groups stay apart.
    """
    used = set().union(
        *(names_in(s) for s in module.body if _import_from(s) not in _MAYBE_UNUSED)
    )
    body: list[cst.BaseStatement] = []
    carried: Sequence[cst.EmptyLine] = ()
    for statement in module.body:
        if carried:
            leading = [*carried, *_leading_lines(statement)]
            statement = statement.with_changes(leading_lines=leading)
            carried = ()
        kept = _kept_import(statement, used)
        if kept is None:
            carried = _leading_lines(statement)
        else:
            body.append(kept)
    return module.with_changes(body=body)


def _import_from(statement: cst.BaseStatement) -> str | None:
    """The module a ``from X import ...`` line imports from."""
    if not m.matches(statement, m.SimpleStatementLine([m.ImportFrom()])):
        return None
    node = cst.ensure_type(
        cst.ensure_type(statement, cst.SimpleStatementLine).body[0], cst.ImportFrom
    )
    if node.module is None or node.relative:
        return None
    return cst.Module([]).code_for_node(node.module)


def _kept_import(
    statement: cst.BaseStatement, used: set[str]
) -> cst.BaseStatement | None:
    """An import of ``_MAYBE_UNUSED`` without its unused names, None if all are."""
    candidates = _MAYBE_UNUSED.get(_import_from(statement) or "")
    if candidates is None:
        return statement
    line = cst.ensure_type(statement, cst.SimpleStatementLine)
    node = cst.ensure_type(line.body[0], cst.ImportFrom)
    if isinstance(node.names, cst.ImportStar):
        return statement
    names = [
        alias
        for alias in node.names
        if alias.evaluated_name not in candidates
        or (alias.evaluated_alias or alias.evaluated_name) in used
    ]
    if not names:
        return None
    if len(names) == len(node.names):
        return statement
    names[-1] = names[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return line.with_changes(body=[node.with_changes(names=names)])
