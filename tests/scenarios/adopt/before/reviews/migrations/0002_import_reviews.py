import os

from django.core import serializers
from django.db import migrations


def load_reviews(apps, schema_editor):
    """Import the reviews of the old site, capped at five stars."""
    Review = apps.get_model('reviews', 'Review')
    path = os.path.join(os.path.dirname(__file__), os.pardir, 'fixtures', 'reviews.json')
    with open(path) as fixture:
        objects = serializers.deserialize('json', fixture, ignorenonexistent=True)
        for obj in objects:
            obj.save()  # keeps the pks of the old site
    # The old site allowed six stars.
    Review.objects.filter(stars__gt=5).update(stars=5)


def unload_reviews(apps, schema_editor):
    Review = apps.get_model('reviews', 'Review')
    Review.objects.all().delete()


class Migration(migrations.Migration):

    dependencies = [('reviews', '0001_initial')]

    operations = [migrations.RunPython(load_reviews, unload_reviews)]
