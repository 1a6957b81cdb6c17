from project.settings import *  # noqa: F403

INSTALLED_APPS = ["histfixtures", "genres", "books", "reviews"]
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
