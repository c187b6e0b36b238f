"""Protection of the web screens: CSP, login throttling, CSRF, roles, production settings,
no personal data in logs."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from takedown.models import Case
from takedown.web.access import cases_for, get_case_for, is_reviewer
from tests.factories import CaseFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[1]
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)


@pytest.fixture(autouse=True)
def empty_cache(settings):
    # Fast hashing: these tests sign in dozens of times; the hasher is not under test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    yield
    cache.clear()


def member(username: str, group: str, team=None):
    user = UserFactory(username=username)
    user.set_password("correct horse battery staple")
    user.save()
    user.groups.add(Group.objects.get(name=group))
    if team is not None:
        team.members.add(user)
    return user


# --- Content-Security-Policy and other headers ---------------------------------------------------


def test_csp_header_on_login_page(client):
    response = client.get("/login/")

    assert response.status_code == 200
    assert response["Content-Security-Policy"] == POLICY
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_csp_header_on_staff_pages(client):
    team = TeamFactory()
    user = member("carla", "caseworker", team)
    case = CaseFactory(team=team)
    client.force_login(user)

    for url in (reverse("staff:queue"), reverse("staff:case", args=[case.reference])):
        assert client.get(url)["Content-Security-Policy"] == POLICY


def test_pages_use_no_inline_script_or_style(client):
    """The policy allows neither: a page that used them would break in the browser."""
    team = TeamFactory()
    user = member("carla", "caseworker", team)
    case = CaseFactory(team=team)
    client.force_login(user)

    for url in (
        "/login/",
        reverse("staff:queue"),
        reverse("staff:new"),
        reverse("staff:case", args=[case.reference]),
        reverse("staff:links", args=[case.reference]),
        reverse("staff:hosts", args=[case.reference]),
        reverse("staff:timeline", args=[case.reference]),
    ):
        html = client.get(url).content.decode()
        assert "<script>" not in html
        assert " style=" not in html
        assert "<style" not in html
        assert "http://" not in html and "https://" not in html, url


# --- login and its throttling -------------------------------------------------------------------


def login(client, username: str, password: str):
    return client.post("/login/", {"username": username, "password": password})


def test_login_with_correct_password_goes_to_the_queue(client):
    member("carla", "caseworker")

    response = login(client, "carla", "correct horse battery staple")

    assert (response.status_code, response["Location"]) == (302, "/")
    assert client.get("/")["Location"] == "/cases/"


def test_login_throttled_after_five_failures(client, settings):
    settings.TAKEDOWN_LOGIN_FAILURE_LIMIT = 5
    member("carla", "caseworker")

    failures = [login(client, "carla", f"wrong {i}") for i in range(5)]
    blocked = login(client, "carla", "correct horse battery staple")

    assert [r.status_code for r in failures] == [200] * 5
    assert "Please enter a correct username and password" in failures[0].content.decode()
    assert blocked.status_code == 200
    assert blocked.context["form"].non_field_errors() == [
        "Too many failed sign-in attempts. Wait 15 minutes and try again, "
        "or ask an administrator to reset your password."
    ]
    assert "_auth_user_id" not in client.session


def test_login_throttle_is_per_username_and_address(client, settings):
    settings.TAKEDOWN_LOGIN_FAILURE_LIMIT = 3
    member("carla", "caseworker")
    member("otto", "caseworker")
    for i in range(3):
        login(client, "carla", f"wrong {i}")

    other_user = login(client, "otto", "correct horse battery staple")
    other_address = Client(REMOTE_ADDR="198.51.100.7").post(
        "/login/", {"username": "carla", "password": "correct horse battery staple"}
    )

    assert other_user.status_code == 302
    assert other_address.status_code == 302


def test_login_throttle_counts_usernames_case_insensitively(client, settings):
    settings.TAKEDOWN_LOGIN_FAILURE_LIMIT = 2
    member("carla", "caseworker")
    login(client, "carla", "wrong")
    login(client, "CARLA", "wrong")

    assert login(client, "carla", "correct horse battery staple").status_code == 200


def test_login_success_clears_the_failures(client, settings):
    settings.TAKEDOWN_LOGIN_FAILURE_LIMIT = 3
    member("carla", "caseworker")
    login(client, "carla", "wrong")
    login(client, "carla", "wrong")
    assert login(client, "carla", "correct horse battery staple").status_code == 302
    client.post("/logout/")

    login(client, "carla", "wrong")
    login(client, "carla", "wrong")

    assert login(client, "carla", "correct horse battery staple").status_code == 302


def test_login_throttle_per_address_across_usernames(client, settings):
    settings.TAKEDOWN_LOGIN_FAILURE_LIMIT = 1  # ten per address
    member("carla", "caseworker")
    for i in range(10):
        login(client, f"guess{i}", "wrong")

    assert login(client, "carla", "correct horse battery staple").status_code == 200


def test_logout_is_post_only(client):
    client.force_login(member("carla", "caseworker"))

    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 302
    assert "_auth_user_id" not in client.session


# --- CSRF -----------------------------------------------------------------------------------


def test_actions_refuse_posts_without_csrf_token():
    team = TeamFactory()
    user = member("carla", "caseworker", team)
    case = CaseFactory(team=team)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    for name in ("reveal", "generate", "close"):
        response = client.post(reverse(f"staff:{name}", args=[case.reference]))
        assert response.status_code == 403
    assert client.post("/login/", {"username": "carla", "password": "x"}).status_code == 403
    assert Case.objects.get(pk=case.pk).status == Case.Status.OPEN


# --- roles --------------------------------------------------------------------------------------


def test_role_groups_and_permissions():
    reviewer = Group.objects.get(name="reviewer")
    caseworker = Group.objects.get(name="caseworker")

    assert reviewer.permissions.filter(codename="review_notice").exists()
    assert not caseworker.permissions.filter(codename="review_notice").exists()
    assert caseworker.permissions.filter(codename="change_case").exists()
    assert not caseworker.permissions.filter(codename="delete_case").exists()
    assert Group.objects.get(name="admin").permissions.filter(codename="delete_case").exists()


def test_cases_for_by_role():
    berlin, hamburg = TeamFactory(name="Berlin"), TeamFactory(name="Hamburg")
    a = CaseFactory(team=berlin)
    b = CaseFactory(team=hamburg)
    c = CaseFactory(team=None)
    carla = member("carla", "caseworker", berlin)
    hamburg.members.add(member("helper", "caseworker"))
    rita = member("rita", "reviewer")
    ada = member("ada", "admin")
    inactive = member("gone", "caseworker", berlin)
    inactive.is_active = False
    inactive.save()

    assert list(cases_for(carla)) == [a]
    assert sorted(x.pk for x in cases_for(ada)) == sorted([a.pk, b.pk, c.pk])
    assert list(cases_for(rita)) == []
    assert list(cases_for(inactive)) == []
    assert is_reviewer(rita) and not is_reviewer(carla)
    with pytest.raises(Exception) as raised:
        get_case_for(carla, b.reference)
    assert raised.type.__name__ == "Http404"


def test_admin_site_is_refused_to_caseworkers(client):
    client.force_login(member("carla", "caseworker"))

    response = client.get("/admin/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


# --- no personal data in logs ---------------------------------------------------------------------


def test_reveal_and_case_page_log_no_personal_data(client, caplog):
    team = TeamFactory()
    user = member("carla", "caseworker", team)
    case = CaseFactory(team=team)
    client.force_login(user)

    with caplog.at_level(logging.DEBUG):
        client.get(reverse("staff:case", args=[case.reference]))
        client.post(reverse("staff:reveal", args=[case.reference]))
        client.get(reverse("staff:case", args=["TD-0000-0000"]))

    assert "Alex Example" not in caplog.text
    assert "alex@example.org" not in caplog.text


# --- production settings ----------------------------------------------------------------------


def test_production_settings_secure_cookies_and_hsts(tmp_path):
    env = {
        **os.environ,
        "TAKEDOWN_PRODUCTION": "1",
        "TAKEDOWN_SECRET_KEY": "x" * 50,
        "TAKEDOWN_VAR_DIR": str(tmp_path),
    }
    code = (
        "import json, config.settings as s; print(json.dumps([s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, s.SECURE_SSL_REDIRECT, "
        "s.SESSION_COOKIE_HTTPONLY, s.CSRF_COOKIE_HTTPONLY, s.SESSION_EXPIRE_AT_BROWSER_CLOSE]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )

    assert json.loads(out.stdout) == [True, True, 31536000, True, True, True, True]
