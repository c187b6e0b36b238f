from django.apps import AppConfig


class TakedownConfig(AppConfig):
    name = "takedown"
    verbose_name = "Takedown"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        # Status side effects register themselves with takedown.workflow.on_enter.
        from takedown.checks import (
            outcomes,  # noqa: F401
            schedule,  # noqa: F401
        )
        from takedown.notices import clock  # noqa: F401
        from takedown.web.roles import on_post_migrate

        # The admin group gets the permissions of models added after migration 0005_web.
        post_migrate.connect(on_post_migrate, sender=self, dispatch_uid="takedown.admin_perms")
