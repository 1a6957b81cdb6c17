"""
The histfixtures benchmark: loads one generated fixture with each method, in
a fresh process on a fresh, migrated database per measurement, and prints
the median time, the peak memory and how the rows compare.

    bench/run                                  100,000 objects, SQLite, 3 repeats
    bench/run --db postgres                    ... on PostgreSQL (COPY included)
    bench/run --db mariadb                     ... on MariaDB (scripts/mariadb)
    bench/run --size 10000 --methods histfixtures loaddata --format jsonl
    bench/run --memory-scaling                 peak RSS growth at N and 10 x N
    bench/run --profile histfixtures           cProfile of one load
    bench/run --smoke                          every method at 2,000 objects, once

For each method and repeat: a new database (SQLite: a new file; PostgreSQL:
DROP/CREATE DATABASE), ``worker.py migrate`` in one process (not timed), then
``worker.py METHOD FIXTURE`` in another, which times only the load, reports
its peak RSS and checks the rows: count and checksum per table against what
generate.py wrote beside the fixture, which is the same for every method. A
mismatch is printed loudly and the exit status is 1. No time limit anywhere.

PostgreSQL: with PGHOST unset, the private server of ``scripts/postgres`` is
started if it is not running (and stopped afterwards if this run started it);
with PGHOST set, that server is used. The database is
``histfixtures_bench_<pid>`` unless ``--pg-database`` names one; it is
dropped at the end.

MariaDB: the private server of ``scripts/mariadb`` (started if it is not
running, stopped afterwards if this run started it); the database is
``histfixtures_bench_<pid>``, dropped at the end.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import pstats
import shlex
import statistics
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import generate

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORKER = HERE / "worker.py"
METHODS = ("loaddata", "bulk_create", "copy", "histfixtures", "loadfixture")
RESULT_PREFIX = "BENCH-RESULT "
SMOKE_SIZE = 2_000
SCALING_GOAL_MB = 50.0


# --- databases -----------------------------------------------------------------


class Database:
    """Where the workers load: a fresh database for every measurement."""

    vendor = ""

    def fresh(self) -> dict[str, str]:
        """Create an empty database; the environment a worker needs for it."""
        raise NotImplementedError

    def drop(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.drop()

    def describe(self) -> str:
        raise NotImplementedError


class SQLite(Database):
    vendor = "sqlite"

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"bench-{os.getpid()}.sqlite3"

    def fresh(self) -> dict[str, str]:
        self.drop()
        return {"BENCH_DB": "sqlite", "BENCH_SQLITE_NAME": str(self.path)}

    def drop(self) -> None:
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def describe(self) -> str:
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version} (file in {self.path.parent})"


class PostgreSQL(Database):
    vendor = "postgres"

    def __init__(self, name: str) -> None:
        self.name = name
        self.started = False
        if "PGHOST" not in os.environ:
            self.started = self._start_private_server()
        self.env = {
            key: os.environ[key]
            for key in ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD")
            if key in os.environ
        }

    def _start_private_server(self) -> bool:
        script = ["bash", str(ROOT / "scripts" / "postgres")]
        running = (
            subprocess.run(
                [*script, "status"], capture_output=True, check=False
            ).returncode
            == 0
        )
        if not running:
            subprocess.run([*script, "start"], check=True)
        out = subprocess.run(
            [*script, "env"], capture_output=True, text=True, check=True
        ).stdout
        # "export PGHOST=127.0.0.1 PGPORT=54329 PGUSER=postgres"
        for word in shlex.split(out):
            key, eq, value = word.partition("=")
            if eq:
                os.environ[key] = value
        return not running

    def _admin(self, sql: str) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(
            dbname="postgres",
            host=self.env.get("PGHOST"),
            port=self.env.get("PGPORT"),
            user=self.env.get("PGUSER"),
            password=self.env.get("PGPASSWORD"),
            autocommit=True,
        ) as conn:
            cursor = conn.execute(sql)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []

    def fresh(self) -> dict[str, str]:
        self.drop()
        self._admin(f'CREATE DATABASE "{self.name}"')
        return {**self.env, "BENCH_DB": "postgres", "PGDATABASE": self.name}

    def drop(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def close(self) -> None:
        self.drop()
        if self.started:
            subprocess.run(["bash", str(ROOT / "scripts" / "postgres"), "stop"])

    def describe(self) -> str:
        (version,) = self._admin("SHOW server_version")[0]
        where = f"{self.env.get('PGHOST')}:{self.env.get('PGPORT')}"
        return f"PostgreSQL {version} at {where}, database {self.name}"


class MariaDB(Database):
    vendor = "mariadb"

    def __init__(self, name: str) -> None:
        self.name = name
        script = ["bash", str(ROOT / "scripts" / "mariadb")]
        running = (
            subprocess.run(
                [*script, "status"], capture_output=True, check=False
            ).returncode
            == 0
        )
        if not running:
            subprocess.run([*script, "start"], check=True)
        self.started = not running
        out = subprocess.run(
            [*script, "env"], capture_output=True, text=True, check=True
        ).stdout
        # "export HISTFIXTURES_MYSQL_HOST=127.0.0.1 HISTFIXTURES_MYSQL_PORT=..."
        self.env = {}
        for word in shlex.split(out):
            key, eq, value = word.partition("=")
            if eq:
                self.env[key] = value

    def _admin(self, sql: str) -> list[tuple[Any, ...]]:
        import MySQLdb

        conn = MySQLdb.connect(
            host=self.env["HISTFIXTURES_MYSQL_HOST"],
            port=int(self.env["HISTFIXTURES_MYSQL_PORT"]),
            user=self.env["HISTFIXTURES_MYSQL_USER"],
            password=self.env["HISTFIXTURES_MYSQL_PASSWORD"],
        )
        try:
            cursor = conn.cursor()
            cursor.execute(sql)
            return list(cursor.fetchall()) if cursor.description else []
        finally:
            conn.close()

    def fresh(self) -> dict[str, str]:
        self.drop()
        self._admin(
            f"CREATE DATABASE `{self.name}` CHARACTER SET utf8mb4 "
            "COLLATE utf8mb4_unicode_ci"
        )
        return {
            **self.env,
            "BENCH_DB": "mariadb",
            "HISTFIXTURES_MYSQL_DATABASE": self.name,
        }

    def drop(self) -> None:
        self._admin(f"DROP DATABASE IF EXISTS `{self.name}`")

    def close(self) -> None:
        self.drop()
        if self.started:
            subprocess.run(["bash", str(ROOT / "scripts" / "mariadb"), "stop"])

    def describe(self) -> str:
        (version,) = self._admin("SELECT VERSION()")[0]
        where = (
            f"{self.env['HISTFIXTURES_MYSQL_HOST']}:"
            f"{self.env['HISTFIXTURES_MYSQL_PORT']}"
        )
        return f"MariaDB {version} at {where}, database {self.name}"


# --- fixtures ------------------------------------------------------------------


@dataclass(frozen=True)
class Fixture:
    path: Path
    format: str
    size: int
    expected: dict[str, Any]


def fixture_for(size: int, fmt: str, seed: int, data_dir: Path) -> Fixture:
    """The generated fixture, reused if generate.py has not changed since."""
    path = data_dir / f"fixture-{size}-seed{seed}.{fmt}"
    expected_path = generate.expected_path(path)
    expected: dict[str, Any] | None = None
    if path.exists() and expected_path.exists():
        expected = json.loads(expected_path.read_text())
        if expected.get("generator") != generate.generator_version():
            expected = None
    if expected is None:
        say(f"generating {path} ({size:,} objects)")
        expected = generate.generate(size, fmt, path, seed)
    return Fixture(path, fmt, size, expected)


# --- measurements --------------------------------------------------------------


@dataclass
class Run:
    """One measurement: a method at a size and format, one repeat."""

    method: str
    fixture: Fixture
    repeat: int
    result: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def run_worker(args: Sequence[str], env: dict[str, str]) -> str:
    """Run worker.py; its stdout. stderr goes straight to ours."""
    completed = subprocess.run(
        [sys.executable, str(WORKER), *args],
        env={**os.environ, **env},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise WorkerFailed(
            f"worker.py {' '.join(args)} exited with {completed.returncode}"
            + (f"; stdout:\n{completed.stdout}" if completed.stdout.strip() else "")
        )
    return completed.stdout


class WorkerFailed(Exception):
    pass


def measure(
    db: Database,
    method: str,
    fixture: Fixture,
    repeat: int,
    profile: Path | None = None,
) -> Run:
    run = Run(method, fixture, repeat)
    env = db.fresh()
    try:
        run_worker(["migrate"], env)
        args = [method, str(fixture.path)]
        if profile is not None:
            args += ["--profile", str(profile)]
        out = run_worker(args, env)
    except WorkerFailed as exc:
        run.errors.append(str(exc))
        return run
    finally:
        db.drop()
    lines = [x for x in out.splitlines() if x.startswith(RESULT_PREFIX)]
    if not lines:
        run.errors.append(f"worker.py printed no result; stdout:\n{out}")
        return run
    run.result = json.loads(lines[-1].removeprefix(RESULT_PREFIX))
    if "skipped" not in run.result:
        run.errors.extend(check_rows(run))
    return run


def check_rows(run: Run) -> list[str]:
    """What differs between the loaded rows and the fixture's."""
    problems = []
    expected = run.fixture.expected["tables"]
    actual = run.result.get("tables", {})
    for table, want in expected.items():
        got = actual.get(table)
        if got != want:
            problems.append(
                f"{table}: expected {want['count']} rows, sha256 {want['sha256'][:16]}"
                f"; got {got['count'] if got else '?'} rows, "
                f"sha256 {got['sha256'][:16] if got else '?'}"
            )
    if run.result.get("next_insert_ok") is False:
        problems.append(
            "an insert after the load collides with a loaded primary key "
            "(sequences not reset)"
        )
    return problems


def report_run(run: Run) -> None:
    label = f"{run.method} {run.fixture.format} {run.fixture.size:,} #{run.repeat}"
    if "skipped" in run.result:
        say(f"  {label}: skipped ({run.result['skipped']})")
        return
    if run.result.get("seconds") is not None:
        r = run.result
        say(
            f"  {label}: {r['seconds']:.2f} s (cpu {r['cpu_seconds']:.2f} s), "
            f"peak {r['peak_rss_mb']:.0f} MB, growth {r['growth_mb']:.0f} MB, "
            + ("rows match" if run.ok else "ROWS DIFFER")
        )
    for error in run.errors:
        say(f"!!! {label}: {error}")


# --- summaries -----------------------------------------------------------------


@dataclass
class Summary:
    """The medians (and minimums) of a method's repeats."""

    method: str
    runs: list[Run]

    def median(self, key: str) -> float | None:
        values = [r.result[key] for r in self.runs if key in r.result]
        return statistics.median(values) if values else None

    def best(self, key: str) -> float | None:
        """The smallest value: other work on the machine only ever adds time."""
        values = [r.result[key] for r in self.runs if key in r.result]
        return min(values) if values else None

    @property
    def skipped(self) -> str | None:
        for run in self.runs:
            if "skipped" in run.result:
                return str(run.result["skipped"])
        return None


def summarise(runs: Iterable[Run]) -> dict[str, Summary]:
    summaries: dict[str, Summary] = {}
    for run in runs:
        summaries.setdefault(run.method, Summary(run.method, [])).runs.append(run)
    return summaries


def rst_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A reStructuredText simple table (readable as plain text too)."""
    columns = zip(headers, *rows, strict=True)
    widths = [max(len(str(cell)) for cell in column) for column in columns]
    rule = "  ".join("=" * w for w in widths)

    def line(cells: Sequence[str], first_left: bool = True) -> str:
        out = []
        for i, (cell, w) in enumerate(zip(cells, widths, strict=True)):
            out.append(cell.ljust(w) if i == 0 and first_left else cell.rjust(w))
        return "  ".join(out).rstrip()

    body = [line(row) for row in rows]
    return "\n".join([rule, line(headers), rule, *body, rule])


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def times(numerator: float | None, denominator: float | None) -> str:
    if not numerator or not denominator:
        return "-"
    return f"{numerator / denominator:.2f}x"


def print_table(summaries: dict[str, Summary], size: int) -> None:
    hist = summaries.get("histfixtures")
    hist_s = hist.median("seconds") if hist else None
    rows = []
    for method, s in summaries.items():
        if s.skipped:
            rows.append([method, "skipped", "", "", "", "", "", s.skipped])
            continue
        seconds = s.median("seconds")
        rows.append(
            [
                method,
                fmt(seconds, ".2f"),
                fmt(s.best("seconds"), ".2f"),
                fmt(s.median("cpu_seconds"), ".2f"),
                fmt(size / seconds if seconds else None, ",.0f"),
                fmt(s.median("peak_rss_mb"), ".0f"),
                fmt(s.median("growth_mb"), ".0f"),
                times(seconds, hist_s),
            ]
        )
    headers = [
        "method",
        "seconds",
        "best s",
        "cpu s",
        "objects/s",
        "peak RSS MB",
        "growth MB",
        "time / histfixtures",
    ]
    print(rst_table(headers, rows))
    print()

    def ratio(a: str, b: str, statistic: str) -> float | None:
        """Time of method ``a`` over time of method ``b``."""
        sa, sb = summaries.get(a), summaries.get(b)
        if not sa or not sb or sa.skipped or sb.skipped:
            return None
        ta, tb = getattr(sa, statistic)("seconds"), getattr(sb, statistic)("seconds")
        return ta / tb if ta and tb else None

    for a, b, label in [
        ("loaddata", "histfixtures", " (speedup)"),
        ("loaddata", "loadfixture", " (speedup)"),
        ("histfixtures", "bulk_create", ""),
        ("histfixtures", "copy", ""),
    ]:
        median, best = ratio(a, b, "median"), ratio(a, b, "best")
        if median is not None and best is not None:
            print(f"{a} / {b}{label}: {median:.2f} (of the best runs: {best:.2f})")


# --- modes ---------------------------------------------------------------------


def benchmark(db: Database, args: argparse.Namespace) -> list[Run]:
    fixture = fixture_for(args.size, args.format, args.seed, args.data_dir)
    runs = []
    # Repeats outermost, so that a slow drift of the machine spreads over
    # every method instead of landing on one.
    for repeat in range(1, args.repeat + 1):
        for method in args.methods:
            run = measure(db, method, fixture, repeat)
            report_run(run)
            runs.append(run)
    print()
    print(
        f"{args.size:,} objects, {args.format}, {db.vendor}, "
        f"median of {args.repeat} run(s):"
    )
    print()
    print_table(summarise(runs), args.size)
    return runs


def median_of(
    runs: Iterable[Run], key: str, method: str, fmt_: str, size: int
) -> float | None:
    values = [
        r.result[key]
        for r in runs
        if (r.method, r.fixture.format, r.fixture.size) == (method, fmt_, size)
        and key in r.result
    ]
    return statistics.median(values) if values else None


def memory_scaling(db: Database, args: argparse.Namespace) -> list[Run]:
    small, large = args.size, args.size * 10
    runs = []
    for fmt_ in ("json", "jsonl"):
        fixtures = [
            fixture_for(size, fmt_, args.seed, args.data_dir) for size in (small, large)
        ]
        for repeat in range(1, args.repeat + 1):
            for method in args.methods:
                for fixture in fixtures:
                    run = measure(db, method, fixture, repeat)
                    report_run(run)
                    runs.append(run)
    rows = []
    for method in args.methods:
        for fmt_ in ("json", "jsonl"):
            cell = {
                (size, key): median_of(runs, key, method, fmt_, size)
                for size in (small, large)
                for key in ("seconds", "peak_rss_mb", "growth_mb")
            }
            g_small, g_large = cell[small, "growth_mb"], cell[large, "growth_mb"]
            diff = None if g_small is None or g_large is None else g_large - g_small
            verdict = (
                "-" if diff is None else "ok" if diff <= SCALING_GOAL_MB else "OVER"
            )
            rows.append(
                [
                    method,
                    fmt_,
                    fmt(cell[small, "seconds"], ".2f"),
                    fmt(cell[large, "seconds"], ".2f"),
                    fmt(cell[small, "peak_rss_mb"], ".0f"),
                    fmt(cell[large, "peak_rss_mb"], ".0f"),
                    fmt(g_small, ".0f"),
                    fmt(g_large, ".0f"),
                    fmt(diff, "+.0f"),
                    verdict,
                ]
            )
    print()
    print(
        f"Memory scaling on {db.vendor}, median of {args.repeat} run(s); goal: "
        f"growth at {large:,} at most {SCALING_GOAL_MB:.0f} MB over growth at "
        f"{small:,}."
    )
    print()
    a, b = f"{small:,}", f"{large:,}"
    headers = [
        "method",
        "format",
        f"s {a}",
        f"s {b}",
        f"peak MB {a}",
        f"peak MB {b}",
        f"growth MB {a}",
        f"growth MB {b}",
        "difference",
        "goal",
    ]
    print(rst_table(headers, rows))
    return runs


def profile(db: Database, args: argparse.Namespace) -> list[Run]:
    fixture = fixture_for(args.size, args.format, args.seed, args.data_dir)
    out = args.data_dir / f"profile-{args.profile}-{args.size}-{db.vendor}.prof"
    run = measure(db, args.profile, fixture, 1, profile=out)
    report_run(run)
    if run.result.get("seconds") is not None:
        print(f"\nprofile of one {args.profile} load (saved in {out}):\n")
        stats = pstats.Stats(str(out), stream=sys.stdout)
        stats.strip_dirs().sort_stats("cumulative").print_stats(args.profile_top)
        stats.sort_stats("tottime").print_stats(args.profile_top)
    return [run]


def compare_methods(runs: Iterable[Run]) -> bool:
    """Whether every load left the same rows, whatever the fixture says."""
    groups: dict[str, list[str]] = {}
    for run in runs:
        tables = run.result.get("tables")
        if tables:
            key = f"{run.fixture.format} {run.fixture.size} " + json.dumps(
                tables, sort_keys=True
            )
            label = f"{run.method} #{run.repeat}"
            groups.setdefault(key, []).append(label)
    sizes = {key.split(" {")[0] for key in groups}
    if len(groups) == len(sizes):
        return True
    say("!!! bench: the methods left DIFFERENT rows; loads that agree:")
    for key, labels in groups.items():
        say(f"!!!   {key.split(' {')[0]}: {', '.join(labels)}")
    return False


# --- context -------------------------------------------------------------------


def say(message: str) -> None:
    print(message, flush=True)


def git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def code_fingerprint() -> str:
    """A hash of every file under histfixtures/: the engine code being timed."""
    digest = hashlib.sha256()
    package = ROOT / "histfixtures"
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(package)).encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def context(db: Database) -> dict[str, Any]:
    """What the numbers depend on: code, versions, machine."""
    import django

    dirty = git("status", "--porcelain", "--", "histfixtures")
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "?"
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "load_average": load,
        "commit": git("rev-parse", "--short=12", "HEAD") or "?",
        "histfixtures_dirty": bool(dirty),
        "histfixtures_changes": dirty.splitlines(),
        "histfixtures_fingerprint": code_fingerprint(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "database": db.describe(),
        "machine": f"{os.cpu_count()} CPU(s){f', {cpu}' if cpu else ''}, "
        f"{platform.system()} {platform.release()}",
    }


def print_context(info: dict[str, Any]) -> None:
    state = (
        f"uncommitted changes under histfixtures/ ({len(info['histfixtures_changes'])}"
        " file(s))"
        if info["histfixtures_dirty"]
        else "histfixtures/ clean"
    )
    say(f"histfixtures benchmark, {info['date']}")
    say(f"  code:     commit {info['commit']}, {state}")
    say(f"            histfixtures/ fingerprint {info['histfixtures_fingerprint']}")
    say(f"  software: Python {info['python']}, Django {info['django']}")
    say(f"  database: {info['database']}")
    say(f"  machine:  {info['machine']}")
    say(f"  load:     {info['load_average']} (1, 5, 15 min; other work skews times)")
    say("")


# --- main ----------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/run",
        description="\n\n".join(__doc__.split("\n\n")[:2]) if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Methods: " + ", ".join(METHODS) + " (see bench/worker.py).",
    )
    parser.add_argument("--size", type=int, help="objects in the fixture (100000)")
    parser.add_argument(
        "--db", choices=["sqlite", "postgres", "mariadb"], default="sqlite"
    )
    parser.add_argument(
        "--repeat", type=int, help="runs per method (3; 1 with --memory-scaling)"
    )
    parser.add_argument("--methods", nargs="+", choices=METHODS, metavar="METHOD")
    parser.add_argument("--format", choices=["json", "jsonl"], default="json")
    parser.add_argument("--seed", type=int, default=0)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--smoke",
        action="store_true",
        help=f"every method at {SMOKE_SIZE:,} objects, once (CI); checks the rows",
    )
    mode.add_argument(
        "--memory-scaling",
        action="store_true",
        help="peak RSS growth at --size and 10 x --size, JSON and JSON Lines "
        "(methods: histfixtures unless --methods)",
    )
    mode.add_argument(
        "--profile",
        choices=METHODS,
        metavar="METHOD",
        help="run one load of METHOD under cProfile and print the top functions",
    )
    parser.add_argument("--profile-top", type=int, default=25, metavar="N")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=HERE / ".data",
        help="generated fixtures, SQLite files and profiles (bench/.data)",
    )
    parser.add_argument("--pg-database", default=f"histfixtures_bench_{os.getpid()}")
    parser.add_argument(
        "--json", type=Path, metavar="FILE", help="write every run here"
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.size = args.size or SMOKE_SIZE
        args.repeat = args.repeat or 1
    args.size = args.size or 100_000
    args.repeat = args.repeat or (1 if args.memory_scaling or args.profile else 3)
    if args.size < 20 or args.repeat < 1:
        parser.error("--size must be at least 20 and --repeat at least 1")
    if args.methods is None:
        if args.memory_scaling:
            args.methods = ["histfixtures"]
        else:
            args.methods = [m for m in METHODS if m != "copy" or args.db == "postgres"]
    args.data_dir = args.data_dir.resolve()
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    db: Database
    if args.db == "postgres":
        db = PostgreSQL(args.pg_database)
    elif args.db == "mariadb":
        db = MariaDB(f"histfixtures_bench_{os.getpid()}")
    else:
        db = SQLite(args.data_dir / "db")
    try:
        info = context(db)
        print_context(info)
        if args.profile:
            runs = profile(db, args)
        elif args.memory_scaling:
            runs = memory_scaling(db, args)
        else:
            runs = benchmark(db, args)
    finally:
        db.close()
    info["histfixtures_fingerprint_after"] = code_fingerprint()
    if info["histfixtures_fingerprint_after"] != info["histfixtures_fingerprint"]:
        say(
            "\nwarning: histfixtures/ changed during the run (fingerprint "
            f"{info['histfixtures_fingerprint']} -> "
            f"{info['histfixtures_fingerprint_after']}): runs may have timed "
            "different code"
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "context": info,
                    "runs": [
                        {
                            "method": r.method,
                            "format": r.fixture.format,
                            "size": r.fixture.size,
                            "repeat": r.repeat,
                            "errors": r.errors,
                            **r.result,
                        }
                        for r in runs
                    ],
                },
                indent=2,
            )
            + "\n"
        )
    failed = [r for r in runs if not r.ok]
    print()
    agree = compare_methods(runs)
    if failed:
        say("!" * 78)
        say(f"!!! bench: {len(failed)} run(s) FAILED (errors or rows that differ):")
        for r in failed:
            for error in r.errors:
                say(f"!!!   {r.method} {r.fixture.format} {r.fixture.size:,}: {error}")
        say("!" * 78)
        return 1
    if not agree:
        return 1
    checked = [r for r in runs if r.result.get("tables")]
    say(
        f"bench: rows checked: all {len(checked)} load(s) match the fixture "
        "(counts and checksums per table)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
