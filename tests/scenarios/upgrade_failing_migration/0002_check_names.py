# Written as makemigrations writes migrations, whose class attributes are
# not annotated as ClassVar.
# ruff: noqa: RUF012
from __future__ import annotations

from typing import Any

from django.db import migrations


def refuse_long_names(apps: Any, schema_editor: Any) -> None:
    Author = apps.get_model("library", "Author")
    authors = Author.objects.using(schema_editor.connection.alias)
    for author in authors.all():
        if len(author.name) > 10:
            raise ValueError(f"Name too long for the new format: {author.name}")


class Migration(migrations.Migration):
    dependencies = [("library", "0001_initial")]

    operations = [
        migrations.RunPython(refuse_long_names, migrations.RunPython.noop),
    ]
