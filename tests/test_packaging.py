"""
What the release promises about itself: one version, a licence, and PyYAML
imported only when YAML is read.

The built sdist and wheel are checked by scripts/package (a step of
scripts/test), which needs a network-free pip cache and a minute; these are
the checks that need neither.
"""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pytest

import histfixtures

REPO = Path(__file__).resolve().parent.parent
TESTPROJECT = REPO / "testproject"


def _pyproject() -> dict[str, Any]:
    tomllib = pytest.importorskip("tomllib", reason="tomllib is Python >= 3.11")
    with open(REPO / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def _run(code: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(TESTPROJECT), str(REPO)]),
        "DJANGO_SETTINGS_MODULE": "project.settings",
    }
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True
    )


# --- one version ----------------------------------------------------------------------


def test_the_version_is_written_once_in_the_package() -> None:
    project = _pyproject()["project"]
    dynamic = _pyproject()["tool"]["setuptools"]["dynamic"]

    assert "version" not in project
    assert "version" in project["dynamic"]
    assert dynamic["version"] == {"attr": "histfixtures.__version__"}


def test_the_docs_read_the_version_without_importing_django() -> None:
    code = (
        "import runpy, sys\n"
        f"conf = runpy.run_path({str(REPO / 'docs' / 'conf.py')!r})\n"
        "django = sorted(m for m in sys.modules if m.partition('.')[0] == 'django')\n"
        "assert not django, django\n"
        "assert 'histfixtures' not in sys.modules\n"
        "print(conf['release'], conf['version'])\n"
    )

    completed = _run(code)

    assert completed.returncode == 0, completed.stderr
    major, minor, *_ = histfixtures.__version__.split(".")
    assert completed.stdout.split() == [histfixtures.__version__, f"{major}.{minor}"]


def test_the_installed_metadata_has_the_package_version() -> None:
    try:
        installed = version("histfixtures")
    except PackageNotFoundError:  # pragma: no cover - run from a bare checkout
        pytest.skip("histfixtures is not installed")

    assert installed == histfixtures.__version__


def test_docs_conf_matches_the_package() -> None:
    conf = runpy.run_path(str(REPO / "docs" / "conf.py"))

    assert conf["release"] == histfixtures.__version__


# --- licence --------------------------------------------------------------------------


def test_licence_is_bsd_3_clause_with_pep_639_metadata() -> None:
    project = _pyproject()["project"]

    assert project["license"] == "BSD-3-Clause"
    assert project["license-files"] == ["LICENSE"]
    assert not [c for c in project["classifiers"] if c.startswith("License ::")]
    text = (REPO / "LICENSE").read_text()
    assert text.startswith("BSD 3-Clause License")
    assert "the histfixtures developers" in text


# --- PyYAML only where YAML is read ---------------------------------------------------

# Every module of the package imported after django.setup(), with PyYAML
# made unimportable: only reading a YAML fixture may need it.
WITHOUT_PYYAML = """
import pkgutil
import sys
from importlib import import_module

sys.modules["yaml"] = None

import django

django.setup()

import histfixtures

for module in pkgutil.walk_packages(histfixtures.__path__, "histfixtures."):
    import_module(module.name)

from django.core.management import call_command

call_command("check", "histfixtures")

from histfixtures.exceptions import FixtureError
from histfixtures.serializers import json, pyyaml

assert list(json.parse('[{"model": "library.tag"}]')) == [{"model": "library.tag"}]
try:
    list(pyyaml.parse("- model: library.tag"))
except FixtureError as exc:
    print(exc)
else:
    raise AssertionError("YAML was read without PyYAML")
"""


def test_without_pyyaml_the_package_imports_and_only_yaml_fails() -> None:
    completed = _run(WITHOUT_PYYAML)

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines()[-2:] == [
        "Reading a YAML fixture needs PyYAML, which is not installed.",
        "  hint: pip install PyYAML",
    ]
