"""The affected person's portal, mounted at /p/ (owned by the "portal" line of work)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path
from django.views.i18n import set_language

from takedown.web.portal import views

app_name = "portal"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.start, name="start"),
    path("code/", views.verify, name="verify"),
    path("signout/", views.sign_out, name="signout"),
    path("leave/", views.leave, name="leave"),
    path("status/", views.home, name="home"),
    path("timeline/", views.timeline, name="timeline"),
    path("message/", views.message, name="message"),
    path("mandate/", views.mandate, name="mandate"),
    path("mandate/authorisation.pdf", views.mandate_pdf, name="mandate_pdf"),
    path("mandate/revoke/", views.mandate_revoke, name="mandate_revoke"),
    path("case/", views.case_status, name="case"),
    path("rights/", views.rights, name="rights"),
    path("data/", views.data, name="data"),
    path("data/my-data.json", views.data_json, name="data_json"),
    path("data/my-data.html", views.data_html, name="data_html"),
    # Django's own view: POST language + next, remembered in the language cookie.
    path("language/", set_language, name="language"),
    # Last: the link itself. Tokens are 43 URL-safe characters; anything else is refused there.
    path("<str:token>/", views.enter, name="enter"),
]
