"""The app configurations INSTALLED_APPS names. Django imports this module before any model is
loaded: it may import no module that imports models (those go inside ready())."""

from __future__ import annotations

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class TakedownConfig(AppConfig):
    name = "takedown"
    verbose_name = "Takedown"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in
        from django.db.models.signals import post_migrate

        # The tasks register with Celery on import; takedown.dispatch sends them by name from
        # any process (the web app's "send" and "check now" too), so they are registered here.
        from takedown import (
            deploy_checks,  # noqa: F401
            metrics,  # noqa: F401
            tasks,  # noqa: F401
        )

        # Status side effects register themselves with takedown.workflow.on_enter.
        from takedown.checks import (
            outcomes,  # noqa: F401
            schedule,  # noqa: F401
        )
        from takedown.notices import clock  # noqa: F401
        from takedown.web.language import remember_language
        from takedown.web.roles import on_post_migrate

        # A staff member's own language choice follows them to each new session.
        user_logged_in.connect(remember_language, dispatch_uid="takedown.staff_language")

        # The admin group gets the permissions of models added after migration 0005_web.
        post_migrate.connect(on_post_migrate, sender=self, dispatch_uid="takedown.admin_perms")


class TakedownAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with Takedown's site (takedown.admin_site): admins only, throttled
    login."""

    # Not the "takedown" entry's config: Django would take any default AppConfig found here.
    default = False
    default_site = "takedown.admin_site.TakedownAdminSite"
