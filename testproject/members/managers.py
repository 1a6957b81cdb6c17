"""Managers of the members app.

``MemberManager`` sets ``use_in_migrations``, so the migrations carry it and
historical Member models can look members up by natural key.
``ClubManager`` does not: historical Club models have a plain manager, and a
fixture loaded in a migration must declare the Club's natural key itself.
"""

from __future__ import annotations

from typing import Any

from django.db import models


class ClubManager(models.Manager):  # type: ignore[type-arg]
    def get_by_natural_key(self, title: str) -> Any:
        return self.get(title=title)


class MemberManager(models.Manager):  # type: ignore[type-arg]
    use_in_migrations = True

    def get_by_natural_key(self, handle: str) -> Any:
        return self.get(handle=handle)
