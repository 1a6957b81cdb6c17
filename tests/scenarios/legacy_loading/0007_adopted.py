# Loading written with histfixtures: nothing to warn about.
from django.core.management import call_command
from django.core.serializers import deserialize
from django.db import migrations

from histfixtures import LoadFixture, historical_models


def load_catalog(apps, schema_editor):
    with historical_models(apps):
        call_command(
            "loaddata",
            "library_initial",
            database=schema_editor.connection.alias,
            verbosity=0,
        )


def reload_catalog(apps, schema_editor):
    with historical_models(apps), open("library_initial.json") as fixture:
        for obj in deserialize("json", fixture):
            obj.save(using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [("library", "0001_initial")]

    operations = [
        LoadFixture("library_initial"),
        migrations.RunPython(load_catalog, reload_catalog),
    ]
