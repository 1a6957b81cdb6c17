"""Build the sdist and the wheel, check them, and use the wheel as a user would.

Run it with ``scripts/package``, which sets up the tools venv first (it needs
the ``package`` dependency group: build, twine, check-wheel-contents).

1. ``python -m build``: the sdist, then the wheel built from that sdist.
2. ``twine check --strict`` (metadata, README rendering) and
   ``check-wheel-contents``.
3. The wheel's file list: ``histfixtures/`` and its ``.dist-info`` only, with
   ``py.typed`` and the licence; its metadata: version, licence expression,
   project URLs, the ``pytest`` and ``adopt`` extras.
4. The sdist's file list: a complete source release (tests, testproject,
   docs with the changelog, scripts, bench, LICENSE), every file that git
   tracks included, no bytecode or databases.
5. A fresh venv in a temporary directory outside the checkout, with the
   wheel and Django 5.2: ``import histfixtures`` resolves to its
   site-packages; the demo (scripts/demo.py on a copy of testproject) runs
   against it; so does a new project (``startproject``, an app, a fixture, a
   migration with ``LoadFixture`` whose model later changes, ``migrate``,
   the rows checked, the migration unapplied), and again without PyYAML.

``--test-sdist`` also installs the test dependencies into that venv and runs
the test suite of the unpacked sdist on SQLite (slow: not part of
scripts/test). ``--outdir DIR`` keeps the checked sdist and wheel in DIR.
"""

from __future__ import annotations

import argparse
import ast
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import time
import zipfile
from email.parser import Parser
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
TOOLS_BIN = Path(sys.executable).parent
DJANGO_PIN = "Django==5.2.*"

# What a complete source release must hold (besides every git-tracked file).
SDIST_REQUIRED = [
    "LICENSE",
    "README.md",
    "pyproject.toml",
    "MANIFEST.in",
    "PKG-INFO",
    "histfixtures/__init__.py",
    "histfixtures/py.typed",
    "tests/conftest.py",
    "testproject/manage.py",
    "testproject/project/settings.py",
    "docs/conf.py",
    "docs/index.rst",
    "docs/changelog.rst",
    "scripts/test",
    "scripts/demo",
    "scripts/demo.py",
    "bench/run.py",
]
# Tracked files that an sdist leaves out on purpose.
SDIST_UNTRACKED_OK = {".gitignore"}


class CheckFailed(Exception):
    pass


def check(condition: object, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def run(
    *args: object,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    capture: bool = False,
) -> str:
    """Run a command; fail with its output if it fails."""
    command = [str(arg) for arg in args]
    completed = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.STDOUT if capture else None,
        text=True,
    )
    if completed.returncode != 0:
        output = completed.stdout or "" if capture else ""
        raise CheckFailed(
            f"failed (exit code {completed.returncode}): {' '.join(command)}"
            + (f"\n{output}" if output else "")
        )
    return completed.stdout or ""


_last_step = [time.monotonic()]


def step(title: str) -> None:
    """Print a step's title, and how long the previous step took."""
    now = time.monotonic()
    print(f"    ({now - _last_step[0]:.1f}s)\n--- {title}", flush=True)
    _last_step[0] = now


def source_version() -> str:
    """``__version__`` as written in histfixtures/__init__.py."""
    tree = ast.parse((ROOT / "histfixtures" / "__init__.py").read_text("utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and [
            getattr(target, "id", None) for target in node.targets
        ] == ["__version__"]:
            return str(ast.literal_eval(node.value))
    raise CheckFailed("histfixtures/__init__.py has no __version__")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without anything that points Python at the checkout."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "DJANGO_SETTINGS_MODULE", "VIRTUAL_ENV"}
        and not key.startswith("HISTFIXTURES_")
    }
    env.update(extra)
    return env


# --- build and check ----------------------------------------------------------


def build(dist: Path) -> tuple[Path, Path]:
    step("python -m build (the sdist, then the wheel from the sdist)")
    run(TOOLS_BIN / "python", "-m", "build", "--outdir", dist, ROOT, capture=True)
    sdists = sorted(dist.glob("*.tar.gz"))
    wheels = sorted(dist.glob("*.whl"))
    check(
        len(sdists) == 1 and len(wheels) == 1,
        f"expected one of each: {sdists}, {wheels}",
    )
    print(f"    {sdists[0].name}, {wheels[0].name}")
    return sdists[0], wheels[0]


def check_dists(sdist: Path, wheel: Path) -> None:
    step("twine check --strict")
    run(TOOLS_BIN / "twine", "check", "--strict", sdist, wheel)
    step("check-wheel-contents")
    run(TOOLS_BIN / "check-wheel-contents", wheel)


def check_wheel(wheel: Path, version: str) -> None:
    step("the wheel holds the package alone")
    dist_info = f"histfixtures-{version}.dist-info"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = Parser().parsestr(archive.read(f"{dist_info}/METADATA").decode())
    stray = [
        name
        for name in names
        if not (name.startswith("histfixtures/") or name.startswith(f"{dist_info}/"))
    ]
    check(not stray, f"files outside histfixtures/ and {dist_info}/: {stray}")
    for required in [
        "histfixtures/__init__.py",
        "histfixtures/py.typed",
        "histfixtures/apps.py",
        "histfixtures/management/commands/loadfixture.py",
        "histfixtures/serializers/pyyaml.py",
        f"{dist_info}/licenses/LICENSE",
        f"{dist_info}/entry_points.txt",
    ]:
        check(required in names, f"the wheel lacks {required}")
    bytecode = [name for name in names if name.endswith((".pyc", ".pyo"))]
    check(not bytecode, f"bytecode in the wheel: {bytecode}")
    check(metadata["Version"] == version, f"wheel version {metadata['Version']}")
    check(
        metadata["License-Expression"] == "BSD-3-Clause",
        f"License-Expression: {metadata['License-Expression']}",
    )
    check(metadata.get_all("License-File") == ["LICENSE"], "License-File: LICENSE")
    classifiers = metadata.get_all("Classifier") or []
    check(
        not any(c.startswith("License ::") for c in classifiers),
        "a License classifier next to License-Expression (PEP 639 forbids both)",
    )
    urls = {url.split(",")[0] for url in metadata.get_all("Project-URL") or []}
    check(
        {"Documentation", "Changelog", "Source", "Issues"} <= urls,
        f"Project-URL: {sorted(urls)}",
    )
    extras = metadata.get_all("Provides-Extra") or []
    check({"pytest", "adopt"} <= set(extras), f"Provides-Extra: {extras}")
    print(f"    {len(names)} files, version {version}, BSD-3-Clause")


def check_sdist(sdist: Path, version: str) -> None:
    step("the sdist is a complete source release")
    top = f"histfixtures-{version}"
    with tarfile.open(sdist) as archive:
        members = archive.getnames()
    outside = [
        name for name in members if name != top and not name.startswith(f"{top}/")
    ]
    check(not outside, f"files outside {top}/: {outside}")
    files = {name[len(top) + 1 :] for name in members if name != top}
    missing = [name for name in SDIST_REQUIRED if name not in files]
    check(not missing, f"the sdist lacks {missing}")
    junk = [
        name
        for name in files
        if "__pycache__" in name
        or name.endswith((".pyc", ".sqlite3"))
        or name.startswith((".venvs/", "docs/_build/", "dist/", "build/"))
    ]
    check(not junk, f"the sdist holds {junk}")
    tracked = git_tracked_files()
    if tracked is not None:
        left_out = sorted(tracked - files - SDIST_UNTRACKED_OK)
        check(not left_out, f"git-tracked files not in the sdist: {left_out}")
    print(f"    {len(files)} files; tests/, testproject/, docs/, LICENSE, changelog")


def git_tracked_files() -> set[str] | None:
    """Tracked files present in the working tree, or None outside a git checkout."""
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        return None
    output = run("git", "-C", ROOT, "ls-files", "-z", capture=True)
    return {name for name in output.split("\0") if name and (ROOT / name).is_file()}


# --- the installed wheel --------------------------------------------------------


def make_venv(work: Path, wheel: Path) -> Path:
    step(f"a fresh venv outside the checkout: the wheel and {DJANGO_PIN}")
    venv = work / "venv"
    run(TOOLS_BIN / "python", "-m", "venv", venv)
    python = venv / "bin" / "python"
    run(
        python,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        wheel,
        DJANGO_PIN,
        env=clean_env(),
        capture=True,
    )
    return python


def check_import_location(python: Path, work: Path, version: str) -> None:
    step("import histfixtures resolves to the venv's site-packages")
    code = textwrap.dedent(
        """
        import sysconfig
        from importlib.metadata import version
        from pathlib import Path

        import histfixtures

        where = Path(histfixtures.__file__).resolve()
        site = Path(sysconfig.get_paths()["purelib"]).resolve()
        assert where.is_relative_to(site), where
        assert histfixtures.__version__ == version("histfixtures")
        print(f"    {where} ({histfixtures.__version__})")
        """
    )
    output = run(python, "-c", code, cwd=work, env=clean_env(), capture=True)
    print(output.rstrip())
    check(f"({version})" in output, f"installed version is not {version}")


# Runs scripts/demo.py from a copy next to a copy of testproject, after making
# sure histfixtures is the installed one (demo.py puts testproject first on
# sys.path and imports histfixtures through its settings).
DEMO_RUNNER = """
import runpy
import sys
import sysconfig
from pathlib import Path

import histfixtures

site = Path(sysconfig.get_paths()["purelib"]).resolve()
assert Path(histfixtures.__file__).resolve().is_relative_to(site), histfixtures.__file__
sys.argv = [sys.argv[1]]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def run_demo(python: Path, work: Path) -> None:
    step("the demo against the installed wheel (a copy of testproject)")
    demo = work / "demo"
    shutil.copytree(
        ROOT / "testproject",
        demo / "testproject",
        ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"),
    )
    (demo / "scripts").mkdir()
    shutil.copy2(ROOT / "scripts" / "demo.py", demo / "scripts" / "demo.py")
    output = run(
        python,
        "-c",
        DEMO_RUNNER,
        demo / "scripts" / "demo.py",
        cwd=demo,
        env=clean_env(),
        capture=True,
    )
    last = output.strip().splitlines()[-1]
    check("LoadFixture operation" in last and " 0 LoadFixture" not in last, output)
    print(f"    {last}")


MINI_MODELS_0001 = """
from django.db import models


class Shelf(models.Model):
    name = models.CharField(max_length=50)
"""

# Today's model: `name` has since been renamed to `title` (migration 0003),
# so plain loaddata of the 0002 fixture would fail; LoadFixture must not.
MINI_MODELS_LATEST = """
from django.db import models


class Shelf(models.Model):
    title = models.CharField(max_length=50)
"""

MINI_FIXTURE = """[
  {"model": "catalog.shelf", "pk": 1, "fields": {"name": "Poetry"}},
  {"model": "catalog.shelf", "pk": 2, "fields": {"name": "Sea stories"}}
]
"""

MINI_0002 = """
from django.db import migrations

from histfixtures import LoadFixture


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [LoadFixture("shelves")]
"""

MINI_0003 = """
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("catalog", "0002_load_shelves")]

    operations = [
        migrations.RenameField("shelf", "name", "title"),
    ]
"""

MINI_ROWS = """
from catalog.models import Shelf

rows = list(Shelf.objects.order_by("pk").values_list("pk", "title"))
assert rows == [(1, "Poetry"), (2, "Sea stories")], rows
print("    rows:", rows)
"""

MINI_NO_ROWS = """
from django.db import connection

with connection.cursor() as cursor:
    cursor.execute("SELECT COUNT(*) FROM catalog_shelf")
    assert cursor.fetchone()[0] == 0
print("    unapplied: the fixture's rows are gone")
"""


def run_mini_project(python: Path, work: Path, name: str) -> None:
    step(f"a new project ({name}): startproject, LoadFixture, migrate, rows")
    bin_dir = python.parent
    project = work / name
    project.mkdir()
    env = clean_env(DJANGO_SETTINGS_MODULE="mini.settings")
    run(bin_dir / "django-admin", "startproject", "mini", project, env=clean_env())

    def manage(*args: str) -> str:
        return run(python, "manage.py", *args, cwd=project, env=env, capture=True)

    manage("startapp", "catalog")
    settings = project / "mini" / "settings.py"
    settings.write_text(
        settings.read_text() + '\nINSTALLED_APPS += ["histfixtures", "catalog"]\n'
    )
    app = project / "catalog"
    (app / "models.py").write_text(MINI_MODELS_0001)
    manage("makemigrations", "catalog")
    (app / "fixtures").mkdir()
    (app / "fixtures" / "shelves.json").write_text(MINI_FIXTURE)
    (app / "migrations" / "0002_load_shelves.py").write_text(MINI_0002)
    (app / "migrations" / "0003_rename_name_title.py").write_text(MINI_0003)
    (app / "models.py").write_text(MINI_MODELS_LATEST)
    manage("check", "--fail-level", "WARNING")
    output = manage("makemigrations", "--check", "--dry-run")
    check(
        "No changes detected" in output, f"the hand-written migrations drift:\n{output}"
    )
    manage("migrate")
    print(manage("shell", "-v", "0", "-c", MINI_ROWS).rstrip())
    manage("migrate", "catalog", "0001")
    print(manage("shell", "-v", "0", "-c", MINI_NO_ROWS).rstrip())


def without_pyyaml(python: Path, work: Path) -> None:
    step("without PyYAML: manage.py still starts, JSON still loads")
    run(
        python,
        "-m",
        "pip",
        "uninstall",
        "--quiet",
        "--yes",
        "PyYAML",
        env=clean_env(),
        capture=True,
    )
    run_mini_project(python, work, "mini-without-pyyaml")


def test_sdist(python: Path, work: Path, sdist: Path) -> None:
    # pytest puts the unpacked source first on sys.path (tests/ is a package
    # under it), so the tests import its histfixtures, as from a checkout.
    step("the unpacked sdist's test suite (SQLite), in the wheel's venv")
    with tarfile.open(sdist) as archive:
        archive.extractall(work / "unpacked", filter="data")
    source = next((work / "unpacked").iterdir())
    with open(source / "pyproject.toml", "rb") as f:
        groups = tomllib.load(f)["dependency-groups"]
    requirements = [req for req in groups["test"] if isinstance(req, str)]
    run(
        python,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        *requirements,
        env=clean_env(),
        capture=True,
    )
    run(
        python,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        cwd=source,
        env=clean_env(HISTFIXTURES_DB="sqlite"),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--test-sdist",
        action="store_true",
        help="also run the unpacked sdist's tests (slow)",
    )
    parser.add_argument(
        "--outdir", type=Path, help="keep the checked sdist and wheel in this directory"
    )
    options = parser.parse_args()
    start = time.monotonic()
    version = source_version()
    with tempfile.TemporaryDirectory(prefix="histfixtures-package-") as tmp:
        work = Path(tmp)
        try:
            sdist, wheel = build(work / "dist")
            check_dists(sdist, wheel)
            check_wheel(wheel, version)
            check_sdist(sdist, version)
            python = make_venv(work, wheel)
            check_import_location(python, work, version)
            run_demo(python, work)
            run_mini_project(python, work, "mini")
            if options.test_sdist:
                test_sdist(python, work, sdist)
            without_pyyaml(python, work)
        except CheckFailed as exc:
            print(f"scripts/package: FAILED: {exc}", file=sys.stderr)
            return 1
        if options.outdir:
            options.outdir.mkdir(parents=True, exist_ok=True)
            for artefact in (sdist, wheel):
                shutil.copy2(artefact, options.outdir)
            print(f"--- kept in {options.outdir}: {sdist.name}, {wheel.name}")
    print(f"scripts/package: all checks passed in {time.monotonic() - start:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
