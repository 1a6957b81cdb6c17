"""The histfixtures app: add it to INSTALLED_APPS for its commands and checks."""

from __future__ import annotations

from django.apps import AppConfig


class HistfixturesConfig(AppConfig):
    name = "histfixtures"
    verbose_name = "histfixtures"
