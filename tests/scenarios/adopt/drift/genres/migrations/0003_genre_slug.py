from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('genres', '0002_load_genres'),
    ]

    operations = [
        migrations.AddField(
            model_name='genre',
            name='slug',
            field=models.SlugField(default='genre'),
            preserve_default=False,
        ),
    ]
