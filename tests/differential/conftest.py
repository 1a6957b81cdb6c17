"""
The differential tests run with ``project.settings_shapes`` only:

    pytest --ds=project.settings_shapes tests/differential

(``scripts/test`` runs them so in every env). With the project's plain
settings, which lack the ``shapes`` app, they are not collected.
"""

from __future__ import annotations

import pytest
from django.conf import settings

collect_ignore_glob = [] if "shapes" in settings.INSTALLED_APPS else ["*.py"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """
    On MySQL/MariaDB every database test is transactional: the harness
    restarts the auto-increment counters with TRUNCATE, which commits, so
    the test cannot run inside a transaction (harness.flush_shapes()).
    """
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.mysql":
        return
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker is not None and not marker.kwargs.get("transaction"):
            item.add_marker(
                pytest.mark.django_db(
                    *marker.args, **{**marker.kwargs, "transaction": True}
                )
            )
