# A data migration of a catalogue app: several fixtures, named with their
# app label, loaded into the database being migrated; a reverse function.
from django.core.management import call_command
from django.db import migrations

FIXTURES = ["library_initial"]


def load_fixtures(apps, schema_editor):
    for fixture in FIXTURES:
        call_command(
            "loaddata",
            fixture,
            app_label="library",
            database=schema_editor.connection.alias,
            verbosity=0,
        )


def unload_fixtures(apps, schema_editor):
    for name in ("Book", "Author", "Publisher"):
        apps.get_model("library", name).objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("library", "0001_initial")]

    operations = [
        migrations.RunPython(load_fixtures, unload_fixtures),
    ]
