"""
Decide, from a :class:`~histfixtures.adopting.survey.Survey`, what to rewrite.

A RunPython whose function only calls loaddata, with options LoadFixture
has, becomes ``LoadFixture``; every other function that loads (or patches
``serializers.python``) keeps its code, with the patch removed and its
loading wrapped in ``historical_models(apps)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst
import libcst.matchers as m

from histfixtures.adopting.survey import (
    NotUnderstood,
    Survey,
    argument,
    has_comments,
    is_loaddata,
    names_in,
)

# call_command("loaddata") keywords -> LoadFixture's (--app is app_label).
_OPTIONS = {
    "app_label": "app_label",
    "app": "app_label",
    "format": "format",
    "ignorenonexistent": "ignorenonexistent",
    "exclude": "exclude",
}
# RunPython arguments that LoadFixture takes as they are.
_CARRIED_OVER = frozenset({"code", "reverse_code", "elidable", "hints"})


@dataclass
class Plan:
    """What to do to which RunPython and which function, and how to say it."""

    replacements: dict[cst.Call, list[cst.Call]] = field(default_factory=dict)
    wraps: dict[str, str] = field(default_factory=dict)  # function -> apps name
    removals: set[str] = field(default_factory=set)
    imports: set[str] = field(default_factory=set)
    changes: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, survey: Survey) -> Plan:
        plan = cls()
        for name in survey.functions:
            if name not in survey.loading and name not in survey.patched:
                continue
            if not survey.run_python_uses(name):
                raise NotUnderstood(
                    f"{name}() loads fixtures but is not the code of a RunPython, "
                    "so it has no migration apps to load with"
                )
            if not isinstance(survey.functions[name].body, cst.IndentedBlock):
                raise NotUnderstood(f"{name}() is written on one line")
            if not plan.replace(survey, name):
                plan.wrap(survey, name)
        return plan

    def replace(self, survey: Survey, name: str) -> bool:
        """Make the RunPython of a function that only runs loaddata a LoadFixture."""
        uses = survey.run_python_uses(name)
        if name in survey.patched or survey.references[name] != 1 or len(uses) != 1:
            return False
        run_python, role = uses[0]
        reverse = survey.reverse_of(run_python)
        calls = load_fixture_calls(survey, name)
        if (
            calls is None
            or role != "code"
            or reverse == "other"
            or run_python not in survey.list_elements
            or not _plain(run_python)
        ):
            return False
        carried = [
            arg.with_changes(comma=cst.MaybeSentinel.DEFAULT)
            for arg in run_python.args
            if _keyword(arg) in {"elidable", "hints"}
        ]
        if reverse == "noop":
            carried.append(_keyword_arg("reverse", cst.Name("False")))
            noop = argument(run_python, 1, "reverse_code")
            if (
                isinstance(noop, cst.Name)
                and survey.references[noop.value] == 1
                and not _documented(survey.functions[noop.value])
            ):
                self.removals.add(noop.value)
        self.replacements[run_python] = [
            call.with_changes(args=[*call.args, *carried]) for call in calls
        ]
        self.removals.add(name)
        self.imports.add("LoadFixture")
        described = ", ".join(cst.Module([]).code_for_node(call) for call in calls)
        self.changes.append(
            f"{name}() -> {described}; reverse: "
            + (
                "still a no-op (reverse=False)"
                if reverse == "noop"
                else "now deletes the loaded rows (was: irreversible)"
            )
        )
        return True

    def wrap(self, survey: Survey, name: str) -> None:
        """Unpatch a function and wrap its loading in historical_models(apps)."""
        apps = survey.apps_parameter(name)
        self.wraps[name] = apps
        self.imports.add("historical_models")
        for attribute in sorted(survey.patched.get(name, ())):
            self.changes.append(
                f"{name}(): removed the patch of serializers.python.{attribute}"
            )
        if name in survey.loading:
            self.changes.append(
                f"{name}(): loading wrapped in historical_models({apps})"
            )


def load_fixture_calls(survey: Survey, name: str) -> list[cst.Call] | None:
    """
    One LoadFixture per loaddata call, when that is all the function does.

    A comment or docstring in or above the function would be lost with it,
    so such a function is wrapped instead; so is one whose loaddata reads
    its arguments (labels computed from ``apps``, another database).
    """
    function = survey.functions[name]
    if _documented(function):
        return None
    parameters = survey.parameters(name)
    editor = parameters[1] if len(parameters) > 1 else None
    calls = []
    for statement in function.body.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            return None
        for small in statement.body:
            if not (
                isinstance(small, cst.Expr)
                and isinstance(small.value, cst.Call)
                and is_loaddata(small.value)
            ):
                return None
            call = _load_fixture_call(small.value, editor, set(parameters))
            if call is None:
                return None
            calls.append(call)
    return calls or None


def _load_fixture_call(
    call: cst.Call, editor: str | None, parameters: set[str]
) -> cst.Call | None:
    """The LoadFixture(...) of one call_command("loaddata", ...), if it has one."""
    alias = m.Attribute(
        value=m.Attribute(value=m.Name(editor or ""), attr=m.Name("connection")),
        attr=m.Name("alias"),
    )
    args: list[cst.Arg] = []
    for arg in call.args[1:]:
        keyword = _keyword(arg)
        if keyword == "verbosity" or (
            keyword == "database" and m.matches(arg.value, alias)
        ):
            continue
        if names_in(arg.value) & parameters or arg.star == "**":
            return None
        if keyword is None:
            args.append(cst.Arg(arg.value, star=arg.star))
        elif keyword in _OPTIONS:
            args.append(_keyword_arg(_OPTIONS[keyword], arg.value))
        else:
            return None
    if not any(arg.keyword is None for arg in args):
        return None
    return cst.Call(cst.Name("LoadFixture"), args)


def _documented(function: cst.FunctionDef) -> bool:
    """Whether removing the function would lose a comment or docstring."""
    return (
        has_comments(function.body)
        or any(line.comment for line in function.leading_lines)
        or function.get_docstring() is not None
    )


def _plain(run_python: cst.Call) -> bool:
    """Whether a RunPython has only arguments that LoadFixture also takes."""
    return not any(
        arg.star
        or (index >= 2 if arg.keyword is None else _keyword(arg) not in _CARRIED_OVER)
        for index, arg in enumerate(run_python.args)
    )


def _keyword_arg(keyword: str, value: cst.BaseExpression) -> cst.Arg:
    """``keyword=value``, spaced as PEP 8 and makemigrations space it."""
    tight = cst.AssignEqual(
        whitespace_before=cst.SimpleWhitespace(""),
        whitespace_after=cst.SimpleWhitespace(""),
    )
    return cst.Arg(value, keyword=cst.Name(keyword), equal=tight)


def _keyword(arg: cst.Arg) -> str | None:
    return arg.keyword.value if arg.keyword is not None else None
