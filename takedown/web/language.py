"""The staff pages' language: each staff member's own choice, kept in StaffPreferences and
copied into the session at sign-in, so a page costs no query for it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from takedown.models import StaffPreferences

SESSION_KEY = "staff_language"


def remember_language(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """user_logged_in: the language this user chose last time, for this session."""
    language = StaffPreferences.objects.filter(user=user).values_list("language", flat=True).first()
    if language and request is not None and hasattr(request, "session"):
        request.session[SESSION_KEY] = language


def choose_language(request: HttpRequest, language: str) -> None:
    """Called by a login_required view: the user is signed in."""
    user_id = int(request.user.pk or 0)
    StaffPreferences.objects.update_or_create(user_id=user_id, defaults={"language": language})
    request.session[SESSION_KEY] = language


class StaffLanguageMiddleware:
    """After the authentication middleware: a signed-in user's own choice wins over the
    browser's Accept-Language (LocaleMiddleware, which runs first)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = getattr(request, "session", {}).get(SESSION_KEY)
        if language in dict(settings.LANGUAGES) and request.user.is_authenticated:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)
