# An example project: a fixture named by its path, loaded by a helper, with
# no database option.
import os

from django.core import management
from django.db import migrations

FIXTURE_DIR = os.path.join(
    os.path.dirname(__file__), "..", "..", "..", "testproject", "library", "fixtures"
)


def _load(fixture):
    management.call_command("loaddata", os.path.join(FIXTURE_DIR, fixture), verbosity=0)


def load_initial_data(apps, schema_editor):
    _load("library_initial.json")


class Migration(migrations.Migration):
    dependencies = [("library", "0001_initial")]

    operations = [
        migrations.RunPython(
            code=load_initial_data, reverse_code=migrations.RunPython.noop
        ),
    ]
