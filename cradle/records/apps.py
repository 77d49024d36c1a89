from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "cradle.records"
    label = "records"
    verbose_name = "Family records"
    default_auto_field = "django.db.models.BigAutoField"
