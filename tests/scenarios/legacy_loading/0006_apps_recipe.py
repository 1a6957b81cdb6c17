# A physics data portal: the other recipe, which swaps the registry of the
# python serializer only; its fixture is XML.
from django.core.management import call_command
from django.core.serializers import python as python_serializer
from django.db import migrations


def load_catalog(apps, schema_editor):
    live_apps = python_serializer.apps
    python_serializer.apps = apps
    try:
        call_command(
            "loaddata",
            "legacy_catalog.xml",
            database=schema_editor.connection.alias,
            verbosity=0,
        )
    finally:
        python_serializer.apps = live_apps


class Migration(migrations.Migration):
    dependencies = [("library", "0001_initial")]

    operations = [
        migrations.RunPython(load_catalog, migrations.RunPython.noop),
    ]
