"""
The test project's database router: one rule, for the shapes app on ``other``.

On the ``other`` alias, ``shapes.Tag`` is not migrated, nor are the models
that hold a database constraint to it (``shapes.Article`` and its link table
``shapes.Article_tags``: their foreign keys could not be created without
Tag's table). loaddata skips objects of those models when it loads into
``other``, and so must histfixtures (SPEC §1.1); the differential tests
(tests/test_differential.py) compare the two.

Every other question gets ``None``: every other app, and every other shapes
model, migrates as without the router, on ``default`` and on ``other``.
"""

from __future__ import annotations

from typing import Any

#: The alias the rule applies to.
OTHER = "other"

#: The shapes models (``_meta.model_name``) that are not on ``OTHER``.
NOT_ON_OTHER = frozenset({"tag", "article", "article_tags"})


class ShapesRouter:
    """Keep ``shapes.Tag`` and what refers to it by a constraint off ``other``."""

    def allow_migrate(
        self, db: str, app_label: str, model_name: str | None = None, **hints: Any
    ) -> bool | None:
        if db == OTHER and app_label == "shapes" and model_name in NOT_ON_OTHER:
            return False
        return None
