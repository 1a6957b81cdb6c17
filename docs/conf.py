"""Sphinx configuration for the histfixtures documentation."""

from __future__ import annotations

project = "histfixtures"
author = "histfixtures contributors"
copyright = "2026, histfixtures contributors"
release = "0.1.0"
version = "0.1"

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
