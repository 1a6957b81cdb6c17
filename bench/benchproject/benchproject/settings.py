"""Settings of the benchmark project (bench/).

The database is chosen by the environment, as in testproject:
``BENCH_DB=sqlite`` (the default) with the file ``BENCH_SQLITE_NAME``, or
``BENCH_DB=mariadb`` with ``HISTFIXTURES_MYSQL_*`` (scripts/mariadb env), or
``BENCH_DB=postgres`` with ``PGDATABASE``, ``PGHOST``, ``PGPORT``, ``PGUSER``
and ``PGPASSWORD``. ``bench/run.py`` sets them for each worker.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = "histfixtures-bench-not-a-secret"
# DEBUG would keep every query in connection.queries: memory grows with the load.
DEBUG = False
ALLOWED_HOSTS: list[str] = []

INSTALLED_APPS = [
    # For the loadfixture command. Its loaddata stays Django's own (the
    # HISTFIXTURES["LOADDATA"] setting is left at its default).
    "histfixtures",
    "catalog",
]

MIDDLEWARE: list[str] = []

USE_TZ = True
TIME_ZONE = "UTC"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def _database() -> dict[str, Any]:
    backend = os.environ.get("BENCH_DB", "sqlite")
    if backend == "sqlite":
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get(
                "BENCH_SQLITE_NAME", str(BASE_DIR / "bench.sqlite3")
            ),
        }
    if backend == "postgres":
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("PGDATABASE", "histfixtures_bench"),
            "USER": os.environ.get("PGUSER", "postgres"),
            "PASSWORD": os.environ.get("PGPASSWORD", ""),
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
        }
    if backend == "mariadb":
        return {
            "ENGINE": "django.db.backends.mysql",
            "NAME": os.environ.get("HISTFIXTURES_MYSQL_DATABASE", "histfixtures_bench"),
            "USER": os.environ.get("HISTFIXTURES_MYSQL_USER", "histfixtures"),
            "PASSWORD": os.environ.get("HISTFIXTURES_MYSQL_PASSWORD", "histfixtures"),
            "HOST": os.environ.get("HISTFIXTURES_MYSQL_HOST", "127.0.0.1"),
            "PORT": os.environ.get("HISTFIXTURES_MYSQL_PORT", "33069"),
            "OPTIONS": {"charset": "utf8mb4"},
        }
    raise ImproperlyConfigured(
        f"BENCH_DB must be 'sqlite', 'postgres' or 'mariadb', not {backend!r}."
    )


DATABASES = {"default": _database()}
