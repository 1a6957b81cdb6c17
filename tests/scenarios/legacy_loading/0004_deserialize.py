# A help-desk app: deserialize and save in a loop, two functions, both
# spellings of the import.
from pathlib import Path

from django.core import serializers
from django.core.serializers import deserialize
from django.db import migrations

FIXTURE = (
    Path(__file__).resolve().parents[3]
    / "testproject"
    / "library"
    / "fixtures"
    / "library_initial.json"
)


def load_people(apps, schema_editor):
    with open(FIXTURE) as fixture:
        for obj in serializers.deserialize("json", fixture, ignorenonexistent=True):
            if obj.object._meta.model_name in ("author", "publisher"):
                obj.save()


def load_books(apps, schema_editor):
    with open(FIXTURE) as fixture:
        objects = deserialize("json", fixture.read())
        for obj in objects:
            if obj.object._meta.model_name == "book":
                obj.save()


class Migration(migrations.Migration):
    dependencies = [("library", "0001_initial")]

    operations = [
        migrations.RunPython(load_people, migrations.RunPython.noop),
        migrations.RunPython(load_books, migrations.RunPython.noop),
    ]
