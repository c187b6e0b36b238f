from django.apps import AppConfig


class TakedownConfig(AppConfig):
    name = "takedown"
    verbose_name = "Takedown"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Status side effects register themselves with takedown.workflow.on_enter.
        from takedown.notices import clock  # noqa: F401
