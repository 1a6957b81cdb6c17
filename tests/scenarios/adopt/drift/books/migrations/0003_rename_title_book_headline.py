from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('books', '0002_load_books'),
    ]

    operations = [
        migrations.RenameField(
            model_name='book',
            old_name='title',
            new_name='headline',
        ),
    ]
