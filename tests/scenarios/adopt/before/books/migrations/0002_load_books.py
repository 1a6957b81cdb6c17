# -*- coding: utf-8 -*-
from __future__ import unicode_literals

from django.core.management import call_command
from django.core.serializers import base, python
from django.db import migrations


def load_fixture(apps, schema_editor):
    # Save the old _get_model() function
    old_get_model = python._get_model

    # Define new _get_model() function here, which utilizes the apps argument to
    # get the historical version of a model. This piece of code is directly stolen
    # from django.core.serializers.python._get_model, unchanged. However, here it
    # has a different context, specifically, the apps variable.
    def _get_model(model_identifier):
        try:
            return apps.get_model(model_identifier)
        except (LookupError, TypeError):
            raise base.DeserializationError("Invalid model identifier: '%s'" % model_identifier)

    # Replace the _get_model() function on the module, so loaddata can utilize it.
    python._get_model = _get_model

    try:
        # Call loaddata command
        call_command('loaddata', 'authors.json', app_label='books')
        call_command('loaddata', 'books.json', app_label='books')
    finally:
        # Restore old _get_model() function
        python._get_model = old_get_model


def load_more_books(apps, schema_editor):
    # The serializers look models up in python.apps: point it at the
    # migration's apps while loading.
    from django.core.serializers import python
    original_apps = python.apps
    python.apps = apps
    try:
        call_command("loaddata", "more_books", database=schema_editor.connection.alias)
    finally:
        python.apps = original_apps


class Migration(migrations.Migration):

    dependencies = [
        ('books', '0001_initial'),
    ]

    operations = [
        migrations.RunPython(load_fixture, reverse_code=migrations.RunPython.noop),
        migrations.RunPython(load_more_books, migrations.RunPython.noop),
    ]
