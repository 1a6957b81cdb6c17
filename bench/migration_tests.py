"""
The benchmark of migration tests (issue 17): how long a test of a data
migration takes in a project of 300 migrations, the first time and the Nth
time, with histfixtures' copies of built states, without them (every test
migrates from empty, as before), and with django-test-migrations' Migrator.

    bench/migration-tests                      300 migrations, SQLite, N = 5
    bench/migration-tests --db postgres        ... on PostgreSQL
    bench/migration-tests --migrations 40      a smaller history
    bench/migration-tests --profile            cProfile of the Nth tests, copies on
    bench/migration-tests --smoke              30 migrations, N = 3: does it work

It generates a Django project (migration_project.py; into bench/.data,
reused while the generator is unchanged), then for each scenario and method
runs one process (migration_worker.py) that creates the test database as
Django's test runner does and runs the tests one after the other: N tests at
the same state, then 3 + N - 1 tests cycling through three states (the
first three build their state for the first time, the other N - 1 come back
to one). A test moves to a state, writes a row with its models, moves to the
next migration of the app, reads the row back, returns to the latest state
and flushes, as a real test does.

The table gives the 1st test and the Nth (the median of the tests at a state
visited before) and the ratios. Every histfixtures test dumps the database
at both states (untimed); runs at the same state must dump the same rows,
copies on or off, or the exit status is 1. No time limit anywhere.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pstats
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import migration_project
import run

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORKER = HERE / "migration_worker.py"
RESULT_PREFIX = "BENCH-RESULT "
GOAL = 20.0

# label -> (worker method, environment)
METHODS = {
    "copies": ("histfixtures", {"BENCH_STATE_COPIES": "1"}),
    "no-copies": ("histfixtures", {"BENCH_STATE_COPIES": "0"}),
    "migrator": ("migrator", {}),
}
DESCRIPTIONS = {
    "copies": "histfixtures, copies of states (default)",
    "no-copies": "histfixtures, STATE_COPIES off (from empty)",
    "migrator": "django-test-migrations Migrator",
}
SCENARIOS = ("same", "different")


# --- the states to test ----------------------------------------------------------


@dataclass(frozen=True)
class State:
    app: str
    model: str
    from_: str
    to: str

    @property
    def label(self) -> str:
        return f"{self.app}.{self.from_[:4]}->{self.to[:4]}"

    def as_test(self) -> dict[str, str]:
        return {"app": self.app, "model": self.model, "from": self.from_, "to": self.to}


def pick_states(manifest: dict[str, Any]) -> list[State]:
    """
    Three states of three apps, late, middle and early in their histories,
    each with a model that the next migration keeps.
    """
    apps = sorted(manifest["apps"], key=lambda a: -len(manifest["apps"][a]))[:3]
    states = []
    for app, where in zip(apps, (0.85, 0.5, 0.25), strict=True):
        history = manifest["apps"][app]
        start = max(0, min(len(history) - 2, int(len(history) * where)))
        for index in [*range(start, len(history) - 1), *range(start - 1, -1, -1)]:
            kept = sorted(
                set(history[index]["models"]) & set(history[index + 1]["models"])
            )
            if kept:
                states.append(
                    State(
                        app, kept[0], history[index]["name"], history[index + 1]["name"]
                    )
                )
                break
    return states


def tests_for(scenario: str, states: list[State], n: int) -> list[State]:
    if scenario == "same":
        return [states[0]] * n
    return [states[i % len(states)] for i in range(len(states) + n - 1)]


# --- running --------------------------------------------------------------------


@dataclass
class Run:
    scenario: str
    method: str
    tests: list[State]
    setup: float = 0.0
    results: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    def seconds(self, indexes: range | list[int]) -> list[float]:
        return [self.results[i]["seconds"] for i in indexes if i < len(self.results)]

    def repeats(self) -> list[int]:
        """Indexes of the tests at a state that an earlier test built."""
        seen: set[State] = set()
        found = []
        for index, state in enumerate(self.tests):
            if state in seen:
                found.append(index)
            seen.add(state)
        return found

    def firsts(self) -> list[int]:
        repeats = set(self.repeats())
        return [i for i in range(len(self.tests)) if i not in repeats]

    def nth(self) -> float | None:
        values = self.seconds(self.repeats())
        return statistics.median(values) if values else None

    def first(self) -> float | None:
        values = self.seconds([0])
        return values[0] if values else None

    def first_visits(self) -> float | None:
        values = self.seconds(self.firsts())
        return statistics.median(values) if values else None

    def nth_phases(self) -> dict[str, float]:
        repeats = [self.results[i]["phases"] for i in self.repeats()]
        names = repeats[0].keys() if repeats else []
        return {name: statistics.median(p[name] for p in repeats) for name in names}


def run_worker(
    project: Path,
    env: dict[str, str],
    method: str,
    scenario: str,
    tests: list[State],
    profile: Path | None = None,
) -> Run:
    label = f"{scenario} state(s), {DESCRIPTIONS[method]}"
    say(f"  {label}: {len(tests)} tests")
    worker_method, method_env = METHODS[method]
    args = [worker_method, json.dumps([t.as_test() for t in tests])]
    if profile is not None:
        args += ["--profile", str(profile), "--no-check"]
    completed = subprocess.run(
        [sys.executable, str(WORKER), *args],
        env={
            **os.environ,
            **env,
            **method_env,
            "DJANGO_SETTINGS_MODULE": "migbench.settings",
            "PYTHONPATH": os.pathsep.join([str(project), str(ROOT)]),
        },
        cwd=project,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    result = Run(scenario, method, tests)
    lines = [x for x in completed.stdout.splitlines() if x.startswith(RESULT_PREFIX)]
    if completed.returncode != 0 or not lines:
        result.error = f"worker exited with {completed.returncode}"
        say(f"!!! {label}: {result.error}")
        return result
    data = json.loads(lines[-1].removeprefix(RESULT_PREFIX))
    result.setup, result.results = data["setup"], data["tests"]
    return result


# --- reporting ------------------------------------------------------------------


def fmt(value: float | None, spec: str = ".3f") -> str:
    return "-" if value is None else format(value, spec)


def ratio(a: float | None, b: float | None) -> str:
    return "-" if not a or not b else f"{a / b:.1f}x"


def print_table(runs: list[Run], n: int) -> None:
    by = {(r.scenario, r.method): r for r in runs}
    rows = []
    for r in runs:
        if r.error:
            rows.append([r.scenario, r.method, "failed", *[""] * 7])
            continue
        copies = by.get((r.scenario, "copies"))
        off = by.get((r.scenario, "no-copies"))
        migrator = by.get((r.scenario, "migrator"))
        rows.append(
            [
                r.scenario,
                r.method,
                fmt(r.setup, ".2f"),
                fmt(r.first()),
                fmt(r.first_visits()) if r.scenario == "different" else "",
                fmt(r.nth()),
                ratio(r.first(), r.nth()),
                ratio(off.nth() if off else None, r.nth()),
                ratio(migrator.nth() if migrator else None, r.nth()),
                ratio(r.nth(), copies.nth() if copies else None),
            ]
        )
    headers = [
        "states",
        "method",
        "create test db s",
        "1st test s",
        "1st visits s",
        f"Nth test s (median, {n - 1})",
        "1st / Nth",
        "copies off / this (Nth)",
        "Migrator / this (Nth)",
        "this / copies (Nth)",
    ]
    print(run.rst_table(headers, rows))
    print()
    phase_rows = []
    for r in runs:
        phases = r.nth_phases() if not r.error else {}
        if phases:
            phase_rows.append(
                [r.scenario, r.method]
                + [
                    fmt(phases.get(k))
                    for k in ("migrate_from", "migrate_to", "reset", "flush")
                ]
            )
    print("Where the Nth test's time goes (medians, seconds):")
    print()
    print(
        run.rst_table(
            ["states", "method", "to from", "write, to next", "reset", "flush"],
            phase_rows,
        )
    )
    print()


def check_dumps(runs: list[Run]) -> bool:
    """Whether every histfixtures test at a state saw the same database."""
    ok = True
    groups = ((("copies", "no-copies"), True), (("migrator",), False))
    for methods, must_agree in groups:
        seen: dict[tuple[str, str], dict[str, list[str]]] = {}
        for r in runs:
            if r.method not in methods:
                continue
            for index, (state, result) in enumerate(
                zip(r.tests, r.results, strict=False)
            ):
                for point, digest in result.get("dumps", {}).items():
                    where = f"{r.method} {r.scenario} test {index + 1}"
                    seen.setdefault((state.label, point), {}).setdefault(
                        digest, []
                    ).append(where)
        for (state, point), digests in sorted(seen.items()):
            if len(digests) > 1:
                say(
                    f"{'!!! ' if must_agree else ''}{'/'.join(methods)} at {state} "
                    f"({point}): {len(digests)} different databases:"
                )
                for digest, where in digests.items():
                    say(f"      {digest[:12]}: {', '.join(where)}")
                ok = ok and not must_agree
        checked = sum(len(w) for d in seen.values() for w in d.values())
        if seen and all(len(d) == 1 for d in seen.values()):
            say(
                f"check: {'/'.join(methods)}: {checked} dumps at "
                f"{len(seen)} state(s): each state's dumps are identical"
            )
    return ok


# --- context ------------------------------------------------------------------------


def say(message: str) -> None:
    print(message, flush=True)


def print_context(args: argparse.Namespace, manifest: dict[str, Any], db: str) -> None:
    import django

    dirty = run.git("status", "--porcelain", "--", "histfixtures")
    try:
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "?"
    now = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    say(f"histfixtures migration tests benchmark, {now}")
    say(
        f"  code:     commit {run.git('rev-parse', '--short=12', 'HEAD') or '?'}"
        f"{', histfixtures/ has uncommitted changes' if dirty else ''}, "
        f"histfixtures/ fingerprint {run.code_fingerprint()}"
    )
    say(f"  software: Python {sys.version.split()[0]}, Django {django.get_version()}")
    say(f"  database: {db}")
    say(f"  machine:  {os.cpu_count()} CPU(s); load {load} (1, 5, 15 min)")
    per_app = ", ".join(f"{a} {len(m)}" for a, m in manifest["apps"].items())
    counts = ", ".join(f"{k} {v}" for k, v in manifest["counts"].items())
    say(
        f"  project:  {manifest['migrations']} migrations (seed {manifest['seed']}): "
        f"{per_app}; {counts}"
    )
    say("")


# --- main --------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/migration-tests",
        description="\n\n".join(__doc__.split("\n\n")[:2]) if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--migrations", type=int, help="in the project (300)")
    parser.add_argument(
        "--tests", type=int, help="N: tests at the same state (5); N - 1 come back"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--methods", nargs="+", choices=list(METHODS), default=list(METHODS)
    )
    parser.add_argument(
        "--scenarios", nargs="+", choices=SCENARIOS, default=list(SCENARIOS)
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--smoke", action="store_true", help="30 migrations, N = 3, every method"
    )
    mode.add_argument(
        "--profile",
        action="store_true",
        help="cProfile tests 2..N at the same state, copies on; print the top",
    )
    parser.add_argument("--profile-top", type=int, default=30, metavar="N")
    parser.add_argument("--data-dir", type=Path, default=HERE / ".data")
    parser.add_argument("--pg-database", default=f"hf_bench_mig_{os.getpid()}")
    parser.add_argument("--json", type=Path, metavar="FILE", help="every test here")
    args = parser.parse_args(argv)
    if args.smoke:
        args.migrations = args.migrations or 30
        args.tests = args.tests or 3
    args.migrations = args.migrations or 300
    args.tests = args.tests or 5
    if args.tests < 2:
        parser.error("--tests must be at least 2")
    args.data_dir = args.data_dir.resolve()
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    project, manifest = migration_project.project_for(
        args.migrations, args.seed, args.data_dir
    )
    states = pick_states(manifest)
    env: dict[str, str] = {"BENCH_DB": args.db}
    pg = None
    if args.db == "postgres":
        pg = run.PostgreSQL(args.pg_database)
        env.update(pg.env, PGDATABASE=args.pg_database)
        describe = pg.describe().replace(
            f"database {args.pg_database}", f"test database {args.pg_database}_test"
        )
    else:
        import sqlite3

        describe = f"SQLite {sqlite3.sqlite_version}, in memory (the test runner's)"
    try:
        print_context(args, manifest, describe)
        say("states: " + "; ".join(f"{s.label} ({s.model})" for s in states))
        if args.profile:
            return profile(project, env, states, args)
        runs = []
        for scenario in args.scenarios:
            tests = tests_for(scenario, states, args.tests)
            for method in args.methods:
                runs.append(run_worker(project, env, method, scenario, tests))
    finally:
        if pg is not None:
            leftovers = pg._admin(
                "SELECT datname FROM pg_database WHERE datname LIKE "
                f"'{args.pg_database}%'"
            )
            for (name,) in leftovers:
                pg._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            pg.close()
    say("")
    say(
        f"{manifest['migrations']} migrations, {args.db}; N = {args.tests}: "
        f"the Nth test is the median of the {args.tests - 1} tests at a state "
        "built before"
    )
    say("")
    print_table(runs, args.tests)
    by = {(r.scenario, r.method): r for r in runs}
    for scenario in args.scenarios:
        copies, off = by.get((scenario, "copies")), by.get((scenario, "no-copies"))
        if copies and off and copies.nth() and off.nth():
            speedup = off.nth() / copies.nth()
            say(
                f"goal ({scenario} state(s)): Nth test with copies {speedup:.1f}x "
                f"faster than migrating from empty; goal {GOAL:.0f}x: "
                + ("met" if speedup >= GOAL else "NOT met")
            )
    say("")
    if args.json:
        args.json.write_text(
            json.dumps(
                [
                    {
                        "scenario": r.scenario,
                        "method": r.method,
                        "tests": [s.label for s in r.tests],
                        "setup": r.setup,
                        "results": r.results,
                        "error": r.error,
                    }
                    for r in runs
                ],
                indent=1,
            )
            + "\n"
        )
    agree = check_dumps(runs)
    failed = [r for r in runs if r.error]
    if failed or not agree:
        say("!!! bench: " + ("runs failed" if failed else "databases differ"))
        return 1
    return 0


def profile(
    project: Path, env: dict[str, str], states: list[State], args: argparse.Namespace
) -> int:
    out = args.data_dir / f"profile-migration-tests-{args.migrations}-{args.db}.prof"
    result = run_worker(
        project, env, "copies", "same", tests_for("same", states, args.tests), out
    )
    if result.error:
        return 1
    say(f"\nprofile of tests 2..{args.tests} at the same state (saved in {out}):\n")
    stats = pstats.Stats(str(out), stream=sys.stdout)
    stats.strip_dirs().sort_stats("cumulative").print_stats(args.profile_top)
    stats.sort_stats("tottime").print_stats(args.profile_top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
