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
it is, and the reason is given. Rewritten code is not rewritten again, so a
second run changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor

from histfixtures.adopting.plan import Plan
from histfixtures.adopting.rewrite import Rewriter, without_unused_imports
from histfixtures.adopting.survey import NotUnderstood, Survey


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
    survey = Survey()
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
    return Adoption(rewritten.code, tuple(plan.changes))
