"""The histfixtures app: add it to INSTALLED_APPS for its commands and checks."""

from __future__ import annotations

from django.apps import AppConfig
from django.core.checks import register


class HistfixturesConfig(AppConfig):
    name = "histfixtures"
    verbose_name = "histfixtures"

    def ready(self) -> None:
        from histfixtures.checks import TAG, check_where_fixtures_load

        register(check_where_fixtures_load, TAG)
