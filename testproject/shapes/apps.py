from __future__ import annotations

from django.apps import AppConfig


class ShapesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "shapes"
    verbose_name = "Shapes (differential tests)"
