# A university course site: the classic recipe, copied from a question and
# answer site, that swaps django.core.serializers.python._get_model.
from django.core.management import call_command
from django.core.serializers import base, python
from django.db import migrations


def load_fixture(apps, schema_editor):
    # Save the old _get_model() function
    old_get_model = python._get_model

    # Define new _get_model() function here, which utilizes the apps argument
    # to get the historical version of a model.
    def _get_model(model_identifier):
        try:
            return apps.get_model(model_identifier)
        except (LookupError, TypeError):
            raise base.DeserializationError(
                "Invalid model identifier: '%s'" % model_identifier
            )

    # Replace the _get_model() function on the module, so loaddata can use it.
    python._get_model = _get_model

    try:
        call_command("loaddata", "library_initial", app_label="library", verbosity=0)
    finally:
        # Restore old _get_model() function
        python._get_model = old_get_model


class Migration(migrations.Migration):
    dependencies = [("library", "0001_initial")]

    operations = [
        migrations.RunPython(load_fixture, migrations.RunPython.noop),
    ]
