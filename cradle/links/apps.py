from django.apps import AppConfig


class LinksConfig(AppConfig):
    name = "cradle.links"
    label = "links"
    verbose_name = "Identity links and the review queue"
    default_auto_field = "django.db.models.BigAutoField"
