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
        from django.db.models.signals import post_migrate

        from takedown import deploy_checks  # noqa: F401

        # Status side effects register themselves with takedown.workflow.on_enter.
        from takedown.checks import (
            outcomes,  # noqa: F401
            schedule,  # noqa: F401
        )
        from takedown.notices import clock  # noqa: F401
        from takedown.web.roles import on_post_migrate

        # The admin group gets the permissions of models added after migration 0005_web.
        post_migrate.connect(on_post_migrate, sender=self, dispatch_uid="takedown.admin_perms")


class TakedownAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with Takedown's site (takedown.admin_site): admins only, throttled
    login."""

    # Not the "takedown" entry's config: Django would take any default AppConfig found here.
    default = False
    default_site = "takedown.admin_site.TakedownAdminSite"
