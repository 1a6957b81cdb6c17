# Written as makemigrations writes migrations, whose class attributes are
# not annotated as ClassVar.
# ruff: noqa: RUF012
from __future__ import annotations

from django.db import migrations, models

from histfixtures import LoadFixture


class Migration(migrations.Migration):
    dependencies = [("library", "0001_initial")]

    operations = [
        LoadFixture("checks_pages.json"),
        migrations.AddField(
            model_name="book",
            name="pages",
            field=models.PositiveIntegerField(default=100),
        ),
    ]
