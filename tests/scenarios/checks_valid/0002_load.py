# Written as makemigrations writes migrations, whose class attributes are
# not annotated as ClassVar.
# ruff: noqa: RUF012
from __future__ import annotations

from django.db import migrations, models

from histfixtures import LoadFixture


class Migration(migrations.Migration):
    dependencies = [("library", "0001_initial")]

    operations = [
        # The load sees the field added just before it, in the same migration.
        migrations.AddField(
            model_name="book",
            name="pages",
            field=models.PositiveIntegerField(default=100),
        ),
        LoadFixture(
            "checks_valid.jsonl",
            natural_keys={"library.Author": ["name"]},
            sha256="e7138b48edf11e4acc2f6331c821d5aefa65f22ed47be7b548841c85072bebf8",
        ),
    ]
