"""
The differential tests run with ``project.settings_shapes`` only:

    pytest --ds=project.settings_shapes tests/differential

(``scripts/test`` runs them so in every env). With the project's plain
settings, which lack the ``shapes`` app, they are not collected.
"""

from __future__ import annotations

from django.conf import settings

collect_ignore_glob = [] if "shapes" in settings.INSTALLED_APPS else ["*.py"]
