from django.apps import AppConfig


class TakedownConfig(AppConfig):
    name = "takedown"
    verbose_name = "Takedown"
    default_auto_field = "django.db.models.BigAutoField"
