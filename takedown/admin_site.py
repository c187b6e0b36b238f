"""The Django admin's site: for admins only, with the staff login's throttling.

The admin shows every team's cases and the affected people's details in clear, without the
reveal audit of the caseworker screens, so team membership is not enough to enter it: only
takedown.web.access.is_admin (superusers and the "admin" group), and only with is_staff as
Django expects. Installed in place of django.contrib.admin (INSTALLED_APPS) through
TakedownAdminConfig, Django's way of replacing the default site.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest


class TakedownAdminSite(AdminSite):
    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)
        # Imported here: the site is built once the models are loaded; this module is not.
        from takedown.web.access import ThrottledAdminAuthenticationForm

        self.login_form: Any = ThrottledAdminAuthenticationForm

    def has_permission(self, request: HttpRequest) -> bool:
        from takedown.web.access import is_admin

        user = request.user
        return bool(user.is_active and user.is_staff and is_admin(user))


class TakedownAdminConfig(AdminConfig):
    default_site = "takedown.admin_site.TakedownAdminSite"
