"""Settings of the histfixtures test project.

The database is chosen by the environment variable ``HISTFIXTURES_DB``:
``sqlite`` (the default), ``postgres`` or ``mariadb`` (Django's MySQL
backend: MariaDB and MySQL; ``scripts/mariadb`` starts a private server).
``project.settings_shapes`` adds the apps and databases of the differential
tests.

A second alias, ``other``, is the same backend in a database of its own (the
default's name with ``_other``); only tests that ask for it use it (the
differential tests of loading into another database with a router). The
router, ``shapes.routers.ShapesRouter``, decides nothing for the apps other
than shapes, so every app migrates on ``default`` as without it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = "histfixtures-testproject-not-a-secret"
DEBUG = False
ALLOWED_HOSTS: list[str] = []

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "histfixtures",
    "library",
    "shop",
    "members",
]

MIDDLEWARE: list[str] = []

ROOT_URLCONF = "project.urls"

USE_TZ = True
TIME_ZONE = "UTC"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def _database() -> dict[str, Any]:
    backend = os.environ.get("HISTFIXTURES_DB", "sqlite")
    if backend == "sqlite":
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get(
                "HISTFIXTURES_SQLITE_NAME", str(BASE_DIR / "db.sqlite3")
            ),
            "TEST": {"NAME": os.environ.get("HISTFIXTURES_SQLITE_TEST_NAME")},
        }
    if backend == "postgres":
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("PGDATABASE", "histfixtures"),
            "USER": os.environ.get("PGUSER", "postgres"),
            "PASSWORD": os.environ.get("PGPASSWORD", ""),
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
        }
    if backend == "mariadb":
        # utf8mb4 on the connection and in the test databases Django creates:
        # fixtures hold 4-byte characters (emoji) as often as anything.
        return {
            "ENGINE": "django.db.backends.mysql",
            "NAME": os.environ.get("HISTFIXTURES_MYSQL_DATABASE", "histfixtures"),
            "USER": os.environ.get("HISTFIXTURES_MYSQL_USER", "histfixtures"),
            "PASSWORD": os.environ.get("HISTFIXTURES_MYSQL_PASSWORD", "histfixtures"),
            "HOST": os.environ.get("HISTFIXTURES_MYSQL_HOST", "127.0.0.1"),
            "PORT": os.environ.get("HISTFIXTURES_MYSQL_PORT", "33069"),
            "OPTIONS": {"charset": "utf8mb4"},
            "TEST": {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"},
        }
    raise ImproperlyConfigured(
        f"HISTFIXTURES_DB must be 'sqlite', 'postgres' or 'mariadb', not {backend!r}."
    )


DATABASES = {"default": _database()}
