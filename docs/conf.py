"""Sphinx configuration for the histfixtures documentation."""

from __future__ import annotations

import ast
from pathlib import Path


def _version() -> str:
    """``__version__`` of histfixtures/__init__.py, read without importing it."""
    source = Path(__file__).resolve().parent.parent / "histfixtures" / "__init__.py"
    for node in ast.parse(source.read_text(encoding="utf-8")).body:
        if (
            isinstance(node, ast.Assign)
            and [getattr(target, "id", None) for target in node.targets]
            == ["__version__"]
            and isinstance(node.value, ast.Constant)
        ):
            return str(node.value.value)
    raise RuntimeError(f"no __version__ = '...' in {source}")


project = "histfixtures"
author = "The histfixtures developers"
copyright = "2026, the histfixtures developers"
# The version is written once, in histfixtures/__init__.py (pyproject.toml
# reads it too).
release = _version()
version = ".".join(release.split(".")[:2])

# The reference is written by hand, one directive per object, as Django's own
# docs are, so no autodoc.
#
# sphinx.ext.intersphinx (links to Django's and Python's objects) is left out
# on purpose: it downloads objects.inv from docs.djangoproject.com and
# docs.python.org at build time, and the machines that build these docs (CI
# included) reach package registries only. With nitpicky on, references to
# Django objects would then all be broken; write them as literals instead.
extensions: list[str] = []

# Every cross-reference must resolve: a broken one is a warning, and the build
# runs with -W (scripts/test).
nitpicky = True

root_doc = "index"
exclude_patterns = ["_build"]
templates_path: list[str] = []
html_static_path: list[str] = []
html_theme = "alabaster"
pygments_style = "sphinx"
