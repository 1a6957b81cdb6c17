# Written as makemigrations writes migrations, whose class attributes are
# not annotated as ClassVar.
# ruff: noqa: RUF012
from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("library", "0001_initial")]

    operations = [
        migrations.RenameField(
            model_name="book", old_name="title", new_name="headline"
        ),
    ]
