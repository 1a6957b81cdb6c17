"""
The cost of the fixture checks on ``manage.py check``: cold and warm cache.

    .venvs/py311-django52/bin/python bench/checks.py [--size 100000] [--repeat 3]

It copies bench/benchproject into a temporary directory, adds a migration
whose LoadFixture loads a generated fixture of --size objects (generate.py),
and times ``manage.py check`` in fresh processes: without the migration
(what Django and the rest cost), with an empty cache (cold: the fixture is
parsed), and with the cache the cold run wrote (warm). It prints the median
of --repeat runs of each: the wall time of the whole process, startup
included, and the time of the fixture checks alone (check_load_fixtures(),
timed inside the process).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

LOAD_MIGRATION = """\
from django.db import migrations

from histfixtures import LoadFixture


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]
    operations = [LoadFixture({fixture!r})]
"""


TIME_CHECKS = """\
import time, django
django.setup()
from histfixtures.checks import check_load_fixtures
started = time.perf_counter()
check_load_fixtures()
print(time.perf_counter() - started)
"""


def manage_check(project: Path, env: dict[str, str]) -> float:
    """The wall time of ``manage.py check``, in seconds."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=project,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def checks_alone(project: Path, env: dict[str, str]) -> float:
    """The time of check_load_fixtures() in a fresh process, in seconds."""
    result = subprocess.run(
        [sys.executable, "-c", TIME_CHECKS],
        cwd=project,
        env={**env, "DJANGO_SETTINGS_MODULE": "benchproject.settings"},
        check=True,
        capture_output=True,
        text=True,
    )
    return float(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="histfixtures-bench-checks-") as tmp:
        root = Path(tmp)
        project = root / "benchproject"
        shutil.copytree(
            HERE / "benchproject",
            project,
            ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"),
        )
        fixture = root / "books.json"
        generate = [sys.executable, str(HERE / "generate.py"), str(args.size)]
        subprocess.run(
            [*generate, "-o", str(fixture)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        cache = root / "cache"
        env = {
            **os.environ,
            "XDG_CACHE_HOME": str(cache),
            "BENCH_DB": "sqlite",
            "BENCH_SQLITE_NAME": str(root / "db.sqlite3"),
        }
        size = fixture.stat().st_size / 1e6
        print(f"fixture: {args.size} objects, {size:.1f} MB; median of {args.repeat}")
        results: dict[str, list[float]] = {}
        for _ in range(args.repeat):
            results.setdefault("manage.py check, no LoadFixture", []).append(
                manage_check(project, env)
            )
        migration = project / "catalog" / "migrations" / "0002_load.py"
        migration.write_text(LOAD_MIGRATION.format(fixture=str(fixture)))
        for _ in range(args.repeat):
            for measure, name in (
                (manage_check, "manage.py check"),
                (checks_alone, "fixture checks alone"),
            ):
                shutil.rmtree(cache, ignore_errors=True)
                results.setdefault(f"{name}, cold cache", []).append(
                    measure(project, env)
                )
                results.setdefault(f"{name}, warm cache", []).append(
                    measure(project, env)
                )
        for name, times in results.items():
            print(f"{name:34} {statistics.median(times):.3f} s")


if __name__ == "__main__":
    main()
