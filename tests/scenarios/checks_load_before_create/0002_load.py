# Written as makemigrations writes migrations, whose class attributes are
# not annotated as ClassVar.
# ruff: noqa: RUF012
from __future__ import annotations

from django.db import migrations, models

from histfixtures import LoadFixture


class Migration(migrations.Migration):
    dependencies = [("library", "0001_initial")]

    operations = [
        LoadFixture("checks_tag.json"),
        migrations.CreateModel(
            name="Tag",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("name", models.CharField(max_length=50)),
            ],
        ),
    ]
