"""The histfixtures app: add it to INSTALLED_APPS for its commands and checks."""

from __future__ import annotations

from django.apps import AppConfig
from django.core.checks import register
from django.core.signals import setting_changed


class HistfixturesConfig(AppConfig):
    name = "histfixtures"
    verbose_name = "histfixtures"

    def ready(self) -> None:
        from histfixtures import historical_loaddata
        from histfixtures.checks import TAG, check_where_fixtures_load
        from histfixtures.legacy_checks import check_where_migrations_load
        from histfixtures.state_copies import watch_test_databases

        register(check_where_fixtures_load, TAG)
        register(check_where_migrations_load, TAG)
        # HISTFIXTURES = {"LOADDATA": "historical"} patches RunPython once it
        # is seen on, at startup or by override_settings.
        historical_loaddata.install_if_on()
        setting_changed.connect(historical_loaddata.setting_changed)
        # Copies of migration states outlive a run that keeps its test
        # databases (--keepdb, --reuse-db): note which runs do.
        watch_test_databases()
