from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "cradle.access"
    label = "access"
    verbose_name = "Access and audit"
    default_auto_field = "django.db.models.BigAutoField"
