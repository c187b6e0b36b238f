"""The Django admin's site: for admins only, with the staff login's throttling.

The admin shows every team's cases and the affected people's details in clear, without the
reveal audit of the caseworker screens, so team membership is not enough to enter it: only
takedown.web.access.is_admin (superusers and the "admin" group), and only with is_staff as
Django expects. Installed in place of django.contrib.admin's default site by
takedown.apps.TakedownAdminConfig (INSTALLED_APPS), Django's way of replacing it; the admin
imports this module only once the models are loaded.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin import AdminSite
from django.http import HttpRequest

from takedown.web import twofactor
from takedown.web.access import ThrottledAdminAuthenticationForm, is_admin


class TakedownAdminSite(AdminSite):
    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)
        self.login_form: Any = ThrottledAdminAuthenticationForm

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        # Unverified sessions never get in, whatever TwoFactorMiddleware lets through.
        verified = not twofactor.enabled() or twofactor.is_verified(request)
        return bool(user.is_active and user.is_staff and is_admin(user) and verified)
