# Written as makemigrations writes migrations, whose class attributes are
# not annotated as ClassVar.
# ruff: noqa: RUF012
from __future__ import annotations

from django.db import migrations

from histfixtures import LoadFixture


class Migration(migrations.Migration):
    dependencies = [("library", "0002_rename_book_title")]

    operations = [
        LoadFixture("checks_renamed_field.json"),
    ]
