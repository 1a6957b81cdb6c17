"""
Natural-key managers of the shapes app.

Each sets ``use_in_migrations`` so that historical models can resolve
references by natural key too; the live models' ``natural_key()`` methods
(in models.py) are what loaddata uses to match objects without a pk.
"""

from __future__ import annotations

from typing import Any

from django.db import models


class CountryManager(models.Manager):  # type: ignore[type-arg]
    use_in_migrations = True

    def get_by_natural_key(self, code: str) -> Any:
        return self.get(code=code)


class CityManager(models.Manager):  # type: ignore[type-arg]
    use_in_migrations = True

    def get_by_natural_key(self, name: str, country_code: str) -> Any:
        return self.get(name=name, country__code=country_code)


class StreetManager(models.Manager):  # type: ignore[type-arg]
    use_in_migrations = True

    def get_by_natural_key(self, name: str, city: str, country_code: str) -> Any:
        return self.get(name=name, city__name=city, city__country__code=country_code)


class TagManager(models.Manager):  # type: ignore[type-arg]
    use_in_migrations = True

    def get_by_natural_key(self, name: str) -> Any:
        return self.get(name=name)


class LabelManager(models.Manager):  # type: ignore[type-arg]
    """A key on a field that is not unique: a lookup may match several rows."""

    use_in_migrations = True

    def get_by_natural_key(self, name: str) -> Any:
        return self.get(name=name)
