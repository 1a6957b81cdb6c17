# Written as makemigrations writes migrations, whose class attributes are
# not annotated as ClassVar.
# ruff: noqa: RUF012
from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("library", "0002_load")]

    operations = [
        migrations.CreateModel(
            name="Tag",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("name", models.CharField(max_length=50)),
            ],
        ),
    ]
