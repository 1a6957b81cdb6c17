# Written as makemigrations writes migrations, whose class attributes are
# not annotated as ClassVar.
# ruff: noqa: RUF012
from __future__ import annotations

from django.db import migrations

from histfixtures import LoadFixture


class Migration(migrations.Migration):
    dependencies = [("library", "0001_initial")]

    operations = [
        LoadFixture("checks_tag.json"),
    ]
