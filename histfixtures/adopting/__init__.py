"""
Rewrite legacy fixture loading in one migration file (``adoptfixtures``).

Migrations written before histfixtures load fixtures with the live models:
``call_command("loaddata")`` or ``serializers.deserialize(...)`` inside a
RunPython, sometimes behind a monkeypatch of ``django.core.serializers.python``
(its ``_get_model``, gone since Django 5.2, or its ``apps``). They break once
the models drift from that migration's state. :func:`adopt_source` rewrites
such a file with libcst, a concrete syntax tree that gives back every byte it
is not asked to change, comments and formatting included:

- a RunPython whose function only calls loaddata becomes ``LoadFixture``;
- any other loading is wrapped in ``with historical_models(apps):``, with the
  function's own ``apps``;
- the monkeypatches are removed, since that ``with`` does their job.

A file holding anything it cannot rewrite with certainty is left exactly as
it is, and the reason is given; so is one whose rewritten code the W001-W004
checks (:mod:`histfixtures.legacy`) would still warn about, so that the
command never writes a half-adopted migration. Rewritten code is not
rewritten again, so a second run changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor

from histfixtures.adopting.plan import Plan
from histfixtures.adopting.rewrite import Rewriter, without_unused_imports
from histfixtures.adopting.survey import ImportedNames, NotUnderstood, Survey
from histfixtures.legacy import LegacyLoading, analyse_source

# What a finding of the checks would still do, had the file been rewritten.
_STILL = {
    "loaddata": "call loaddata with the live models",
    "deserialize": "deserialize with the live models",
    "get_model_patch": "patch python._get_model",
    "apps_patch": "patch the apps of a serializer module",
}


@dataclass(frozen=True)
class Adoption:
    """The outcome for one file: its new source and what changed, or why not."""

    source: str
    changes: tuple[str, ...] = ()
    left_as_is: str | None = None


def adopt_source(source: str) -> Adoption:
    """Rewrite one migration module's source; see the module docstring."""
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        return Adoption(source, left_as_is=f"it does not parse ({exc.message})")
    survey = Survey(ImportedNames.of(module))
    try:
        module.visit(survey)
        plan = Plan.of(survey)
    except NotUnderstood as exc:
        return Adoption(source, left_as_is=str(exc))
    if not plan.changes:
        return Adoption(source)
    rewritten = module.visit(Rewriter(plan))
    context = CodemodContext()
    for name in sorted(plan.imports):
        AddImportsVisitor.add_needed_import(context, "histfixtures", name)
    rewritten = AddImportsVisitor(context).transform_module(rewritten)
    rewritten = without_unused_imports(rewritten)
    remaining = analyse_source(rewritten.code)
    if remaining:
        return Adoption(source, left_as_is=_unadopted(remaining, source))
    return Adoption(rewritten.code, tuple(plan.changes))


def _unadopted(remaining: tuple[LegacyLoading, ...], source: str) -> str:
    """What the rewritten code would still do, at its lines in ``source``."""
    lines: dict[tuple[str, str | None, str | None], int] = {}
    for found in analyse_source(source):
        lines.setdefault((found.kind, found.function, found.helper), found.line)
    said = []
    for found in remaining:
        where = f"{found.function}()" if found.function else "the module"
        line = lines.get((found.kind, found.function, found.helper), found.line)
        said.append(f"{where} would still {_STILL[found.kind]} at line {line}")
    return "; ".join(said) + ": rewrite it by hand"
