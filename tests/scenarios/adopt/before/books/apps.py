import os

from django.apps import AppConfig


class BooksConfig(AppConfig):
    name = "books"

    def ready(self):
        # The baseline run stands in for Django < 5.2, where the _get_model
        # recipe ran: the function it saves and restores must exist. (Its
        # patch is then never called on this Django: loaddata uses the live
        # models, which before the drift is what the recipe gave too.)
        if os.environ.get("ADOPT_EMULATE_GET_MODEL"):
            from django.core.serializers import python

            if not hasattr(python, "_get_model"):
                python._get_model = None
