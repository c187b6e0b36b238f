"""Protection of the web screens: CSP, login throttling, CSRF, roles, production settings,
no personal data in logs."""

from __future__ import annotations

import json
import logging
import os
import re
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
        "TAKEDOWN_CACHE_URL": "redis://127.0.0.1:6379/15",
        "TAKEDOWN_FIELD_KEYS": FIELD_KEY,
        "EMAIL_URL": "smtp://mail.example.org:587?tls=1",
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


THROTTLED = (
    "Too many failed sign-in attempts. Wait 15 minutes and try again, "
    "or ask an administrator to reset your password."
)


def settings_in_subprocess(tmp_path: Path, code: str, **env: str) -> subprocess.CompletedProcess:
    """config.settings imported in a fresh interpreter with this environment (production
    settings are read once, at import)."""
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("TAKEDOWN_") and key != "DJANGO_SETTINGS_MODULE"
    }
    environ.update({"TAKEDOWN_VAR_DIR": str(tmp_path), **env})
    return subprocess.run(
        [sys.executable, "-c", f"import config.settings as s; {code}"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )


# A Fernet key (32 bytes, URL-safe base64) for production settings; never used to encrypt.
FIELD_KEY = "dGFrZWRvd24tdGVzdHMtb25seS0zMi1ieXRlcy1rZXk="

PRODUCTION_ENV = {
    "TAKEDOWN_PRODUCTION": "1",
    "TAKEDOWN_SECRET_KEY": "x" * 50,
    "TAKEDOWN_FIELD_KEYS": FIELD_KEY,
    "EMAIL_URL": "smtp://mail.example.org:587?tls=1",
}


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("TAKEDOWN_SECRET_KEY", "TAKEDOWN_SECRET_KEY must be set in production"),
        ("TAKEDOWN_FIELD_KEYS", "TAKEDOWN_FIELD_KEYS must be set in production"),
        (
            "EMAIL_URL",
            "EMAIL_URL must be set in production (smtp://user:pass@host:587?tls=1): without it "
            "notices are written to files under var/outbox/ and never reach their recipients",
        ),
    ],
)
def test_production_settings_refuse_to_start_without_each_secret(tmp_path, missing, message):
    env = {**PRODUCTION_ENV, "TAKEDOWN_CACHE_URL": "redis://127.0.0.1:6379/15"}
    del env[missing]
    result = settings_in_subprocess(tmp_path, "print('started')", **env)

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.rstrip().splitlines()[-1] == (
        f"django.core.exceptions.ImproperlyConfigured: {message}"
    )
    assert not (tmp_path / "secret-key").exists()


def test_development_secret_key_generated_once_per_installation(tmp_path):
    other = tmp_path / "other"
    code = "print(s.SECRET_KEY)"

    first = settings_in_subprocess(tmp_path, code)
    again = settings_in_subprocess(tmp_path, code)
    elsewhere = settings_in_subprocess(other, code)

    assert [first.returncode, again.returncode, elsewhere.returncode] == [0, 0, 0]
    key = first.stdout.strip()
    assert len(key) == 50
    assert again.stdout.strip() == key
    assert elsewhere.stdout.strip() != key
    assert (tmp_path / "secret-key").read_text() == key
    assert (tmp_path / "secret-key").stat().st_mode & 0o777 == 0o600
    assert "insecure" not in (ROOT / "config" / "settings.py").read_text()


def test_check_deploy_reports_each_missing_secret_as_an_error(tmp_path):
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("TAKEDOWN_") and key not in ("EMAIL_URL", "DJANGO_SETTINGS_MODULE")
    }
    environ.update(TAKEDOWN_VAR_DIR=str(tmp_path), TAKEDOWN_TWO_FACTOR="0")

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--tag", "security"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 1
    assert re.findall(r"^\?: \((takedown\.E\d+)\)", result.stderr, re.MULTILINE) == [
        "takedown.E001",
        "takedown.E002",
        "takedown.E003",
        "takedown.E004",
        "takedown.E005",
    ]
    assert "EMAIL_URL is not set: notices are written to files under var/outbox/" in result.stderr


@pytest.mark.parametrize(("flag", "expected"), [(None, "False"), ("1", "True"), ("0", "False")])
def test_production_hsts_includes_subdomains_only_when_asked(tmp_path, flag, expected):
    env = {**PRODUCTION_ENV, "TAKEDOWN_CACHE_URL": "redis://127.0.0.1:6379/15"}
    if flag is not None:
        env["TAKEDOWN_HSTS_INCLUDE_SUBDOMAINS"] = flag

    result = settings_in_subprocess(tmp_path, "print(s.SECURE_HSTS_INCLUDE_SUBDOMAINS)", **env)

    assert (result.returncode, result.stdout.strip()) == (0, expected), result.stderr


def test_production_settings_refuse_to_start_without_a_shared_cache(tmp_path):
    result = settings_in_subprocess(tmp_path, "print('started')", **PRODUCTION_ENV)

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.rstrip().splitlines()[-1] == (
        "django.core.exceptions.ImproperlyConfigured: TAKEDOWN_CACHE_URL must be set in "
        "production (redis://host:6379/N): login and portal rate limits are counted in the "
        "cache, and a per-process cache gives every web process its own counters"
    )


def test_production_settings_use_redis_cache_from_cache_url(tmp_path):
    result = settings_in_subprocess(
        tmp_path,
        "import json; print(json.dumps(s.CACHES['default']))",
        **PRODUCTION_ENV,
        TAKEDOWN_CACHE_URL="redis://10.0.0.5:6379/3",
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://10.0.0.5:6379/3",
    }


def test_cache_url_other_than_redis_is_refused(tmp_path):
    result = settings_in_subprocess(
        tmp_path, "print('started')", TAKEDOWN_CACHE_URL="memcached://10.0.0.5:11211"
    )

    assert result.returncode == 1
    assert result.stderr.rstrip().splitlines()[-1] == (
        "django.core.exceptions.ImproperlyConfigured: TAKEDOWN_CACHE_URL must be a "
        "redis://, rediss:// or unix:// URL, not 'memcached://10.0.0.5:11211'"
    )


def test_development_settings_keep_the_per_process_cache(tmp_path):
    result = settings_in_subprocess(tmp_path, "print(s.CACHES['default']['BACKEND'])")

    assert (result.returncode, result.stdout) == (
        0,
        "django.core.cache.backends.locmem.LocMemCache\n",
    )


# --- login throttling per username across addresses ----------------------------------------------


def test_login_throttle_per_username_across_addresses(settings):
    settings.TAKEDOWN_LOGIN_FAILURE_LIMIT = 2  # eight per username, from any addresses
    member("carla", "caseworker")
    member("otto", "caseworker")
    failures = [
        Client(REMOTE_ADDR=f"198.51.100.{i}").post(
            "/login/", {"username": "carla", "password": f"wrong {i}"}
        )
        for i in range(1, 9)
    ]
    fresh = Client(REMOTE_ADDR="203.0.113.9")

    blocked = fresh.post(
        "/login/", {"username": "carla", "password": "correct horse battery staple"}
    )
    other = fresh.post("/login/", {"username": "otto", "password": "correct horse battery staple"})

    assert [r.status_code for r in failures] == [200] * 8
    assert blocked.status_code == 200
    assert blocked.context["form"].non_field_errors() == [THROTTLED]
    assert other.status_code == 302


def test_login_throttle_per_username_allows_four_times_the_limit(settings):
    settings.TAKEDOWN_LOGIN_FAILURE_LIMIT = 2
    member("carla", "caseworker")
    for i in range(1, 8):
        Client(REMOTE_ADDR=f"198.51.100.{i}").post(
            "/login/", {"username": "carla", "password": f"wrong {i}"}
        )

    response = Client(REMOTE_ADDR="203.0.113.9").post(
        "/login/", {"username": "carla", "password": "correct horse battery staple"}
    )

    assert response.status_code == 302


# --- upload size limits -------------------------------------------------------------------------


def url_file(size: int) -> bytes:
    """A plain-text URL list of exactly `size` bytes (one URL)."""
    head, tail = b"https://img.example/", b".jpg\n"
    return head + b"a" * (size - len(head) - len(tail)) + tail


def test_staff_import_file_over_the_cap_is_refused(client, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from takedown.models import FoundLink, Import

    settings.TAKEDOWN_IMPORT_MAX_BYTES = 64
    team = TeamFactory()
    case = CaseFactory(team=team)
    client.force_login(member("carla", "caseworker", team))
    url = reverse("staff:import_links", args=[case.reference])

    refused = client.post(url, {"file": SimpleUploadedFile("urls.txt", url_file(65))})

    assert refused.status_code == 200
    assert refused.context["form"].errors == {
        "file": ["The file is too large: at most 64\xa0bytes."]
    }
    assert (FoundLink.objects.count(), Import.objects.count()) == (0, 0)

    accepted = client.post(url, {"file": SimpleUploadedFile("urls.txt", url_file(64))})

    assert accepted.status_code == 302
    # The import itself runs in a worker (takedown/jobs.py): here, as a worker would.
    from takedown.jobs import run_job
    from takedown.models import Job

    run_job(Job.objects.get(case=case).pk)
    assert FoundLink.objects.filter(case=case).count() == 1


def portal_client(case: Case, **client_options) -> Client:
    """A browser with a verified portal visit of `case` (the link and code steps are
    test_web_portal's subject)."""
    from takedown.models import PortalAccess
    from takedown.web.portal.access import issue_portal_link

    issue_portal_link(case, actor=None)
    client = Client(**client_options)
    session = client.session
    session["portal_access"] = PortalAccess.objects.get(case=case).pk
    session["portal_verified"] = True
    session.save()
    return client


def pdf_upload(size: int):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("signed.pdf", b"%PDF" + b"x" * (size - 4), "application/pdf")


def test_portal_mandate_over_the_cap_is_refused_by_the_form(settings):
    from takedown.models import Mandate

    settings.TAKEDOWN_PORTAL_UPLOAD_MAX_BYTES = 1000
    case = CaseFactory(team=TeamFactory())
    client = portal_client(case)

    refused = client.post("/p/mandate/", {"document": pdf_upload(1001)})

    assert refused.status_code == 400
    assert refused.context["form"].errors == {
        "document": ["The file is too large: at most 1000\xa0bytes."]
    }
    assert Mandate.objects.count() == 0

    assert client.post("/p/mandate/", {"document": pdf_upload(1000)}).status_code == 302
    assert len(bytes(Mandate.objects.get(case=case).signed_document)) == 1000


def test_portal_mandate_upload_is_never_spooled_to_disk(settings, tmp_path):
    from takedown.models import Mandate

    # Anything larger than this would go to a temporary file in the missing folder, and fail.
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 10
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "missing")
    case = CaseFactory(team=TeamFactory())
    client = portal_client(case)

    assert client.post("/p/mandate/", {"document": pdf_upload(1000)}).status_code == 302
    assert len(bytes(Mandate.objects.get(case=case).signed_document)) == 1000


class UnreadableBody:
    """A request body that fails the test when anything reads it."""

    def read(self, *args):
        raise AssertionError("the request body was read")

    readline = read


def test_portal_mandate_request_over_the_cap_is_refused_before_the_body_is_read(settings):
    from takedown.models import Mandate

    settings.TAKEDOWN_PORTAL_UPLOAD_MAX_BYTES = 1000
    case = CaseFactory(team=TeamFactory())
    client = portal_client(case)

    response = client.post(
        "/p/mandate/",
        {"document": pdf_upload(100)},
        CONTENT_LENGTH=str(1000 + 64 * 1024 + 1),
        **{"wsgi.input": UnreadableBody()},
    )

    assert response.status_code == 413
    assert response.context["form"].errors == {
        "document": ["The file is too large: at most 1000\xa0bytes."]
    }
    assert Mandate.objects.count() == 0


def test_portal_mandate_upload_still_needs_the_csrf_token():
    from takedown.models import Mandate

    case = CaseFactory(team=TeamFactory())
    client = portal_client(case, enforce_csrf_checks=True)
    client.get("/p/mandate/")

    without = client.post("/p/mandate/", {"document": pdf_upload(100)})
    token = client.cookies["csrftoken"].value
    with_token = client.post(
        "/p/mandate/", {"document": pdf_upload(100), "csrfmiddlewaretoken": token}
    )

    assert (without.status_code, with_token.status_code) == (403, 302)
    assert Mandate.objects.filter(case=case).count() == 1


# --- downloads are not kept by browsers or proxies -------------------------------------------


def directives(response) -> set[str]:
    return {part.strip() for part in response["Cache-Control"].split(",")}


def test_review_notice_pdf_is_not_stored(client):
    from tests.test_web_review import submitted_notice

    team = TeamFactory()
    notice = submitted_notice(team, member("carla", "caseworker", team))
    client.force_login(member("rita", "reviewer", team))

    response = client.get(reverse("review:notice_pdf", args=[notice.pk]))

    assert response.content.startswith(b"%PDF-")
    assert {"no-store", "private"} <= directives(response)


def test_staff_and_portal_downloads_are_not_stored(client):
    from tests.factories import MandateFactory
    from tests.test_web_review import submitted_notice

    team = TeamFactory()
    carla = member("carla", "caseworker", team)
    notice = submitted_notice(team, carla)
    case = notice.case
    MandateFactory(case=case)
    client.force_login(carla)
    portal = portal_client(case)

    responses = {
        "staff notice pdf": client.get(
            reverse("staff:notice_pdf", args=[case.reference, notice.pk])
        ),
        "staff mandate": client.post(reverse("staff:mandate", args=[case.reference])),
        "portal mandate pdf": portal.get("/p/mandate/authorisation.pdf"),
        "portal data": portal.get("/p/data/my-data.json"),
    }

    assert {name: r.status_code for name, r in responses.items()} == dict.fromkeys(responses, 200)
    assert {name for name, r in responses.items() if "no-store" not in directives(r)} == set()


# --- pausing: the person resumes only their own pause --------------------------------------------


def test_portal_resume_only_after_the_persons_own_pause():
    from takedown.models import CaseEvent
    from takedown.workflow import transition

    team = TeamFactory()
    carla = member("carla", "caseworker", team)
    case = CaseFactory(team=team)
    portal = portal_client(case)
    transition(case, Case.Status.PAUSED, actor=carla, data={"by": "staff"})

    page = portal.get("/p/case/")
    refused = portal.post("/p/case/", {"move": "resume"})

    assert page.context["moves"] == ["withdraw"]
    assert refused.status_code == 400
    assert Case.objects.get(pk=case.pk).status == Case.Status.PAUSED

    case.refresh_from_db()
    transition(case, Case.Status.OPEN, actor=carla, data={"by": "staff"})
    assert portal.post("/p/case/", {"move": "pause"}).status_code == 302
    assert portal.get("/p/case/").context["moves"] == ["resume", "withdraw"]
    assert portal.post("/p/case/", {"move": "resume"}).status_code == 302
    assert Case.objects.get(pk=case.pk).status == Case.Status.OPEN
    paused = CaseEvent.objects.filter(case=case, kind="case.paused").order_by("pk")
    assert [event.data["by"] for event in paused] == ["staff", "person"]


def test_portal_cannot_resume_a_pause_of_unknown_origin():
    from takedown.workflow import transition

    case = CaseFactory(team=TeamFactory())
    portal = portal_client(case)
    # Paused by code that did not say who (older events, commands): not the person's to undo.
    transition(case, Case.Status.PAUSED)

    assert portal.get("/p/case/").context["moves"] == ["withdraw"]
    assert portal.post("/p/case/", {"move": "resume"}).status_code == 400
    assert Case.objects.get(pk=case.pk).status == Case.Status.PAUSED


# --- behind a TLS reverse proxy ---------------------------------------------------------------

PROXY_ENV = {
    **PRODUCTION_ENV,
    "TAKEDOWN_CACHE_URL": "redis://127.0.0.1:6379/15",
    "TAKEDOWN_ALLOWED_HOSTS": "testserver",
}
LOGIN_OVER_PLAIN_AND_PROXIED_HTTPS = (
    "import os, django; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; "
    "django.setup(); from django.test import Client; c = Client(); "
    "proxied = c.get('/login/', HTTP_X_FORWARDED_PROTO='https'); plain = c.get('/login/'); "
    "print(proxied.status_code, plain.status_code, plain['Location'])"
)


def test_production_behind_proxy_serves_https_requests_without_redirecting(tmp_path):
    result = settings_in_subprocess(
        tmp_path,
        LOGIN_OVER_PLAIN_AND_PROXIED_HTTPS,
        **PROXY_ENV,
        TAKEDOWN_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO=https",
    )

    assert (result.returncode, result.stdout) == (0, "200 301 https://testserver/login/\n")


def test_production_without_proxy_header_redirects_even_forwarded_https(tmp_path):
    # The header is the client's to forge unless the operator says a proxy sets it.
    result = settings_in_subprocess(tmp_path, LOGIN_OVER_PLAIN_AND_PROXIED_HTTPS, **PROXY_ENV)

    assert (result.returncode, result.stdout) == (0, "301 301 https://testserver/login/\n")


def test_proxy_settings_default_to_none_and_read_the_environment(tmp_path):
    code = "import json; print(json.dumps([s.SECURE_PROXY_SSL_HEADER, s.TAKEDOWN_TRUSTED_PROXIES]))"
    unset = settings_in_subprocess(tmp_path, code)
    configured = settings_in_subprocess(
        tmp_path,
        code,
        TAKEDOWN_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO=https",
        TAKEDOWN_TRUSTED_PROXIES="10.0.0.2,fd00::/64",
    )

    assert json.loads(unset.stdout) == [None, []]
    assert json.loads(configured.stdout) == [
        ["HTTP_X_FORWARDED_PROTO", "https"],
        ["10.0.0.2/32", "fd00::/64"],
    ]


def test_trusted_proxies_that_are_not_addresses_are_refused(tmp_path):
    result = settings_in_subprocess(
        tmp_path, "print('started')", TAKEDOWN_TRUSTED_PROXIES="10.0.0.2,nginx"
    )

    assert result.returncode == 1
    assert result.stderr.rstrip().splitlines()[-1] == (
        "django.core.exceptions.ImproperlyConfigured: TAKEDOWN_TRUSTED_PROXIES must list IP "
        "addresses or networks (10.0.0.5, 10.0.0.0/8), not 'nginx'"
    )


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        # Straight from the client: X-Forwarded-For is the client's own invention.
        ("198.51.100.7", "203.0.113.9", "198.51.100.7"),
        # Through the proxy: the address it saw, not what the client put in front of it.
        ("10.0.0.2", "203.0.113.9", "203.0.113.9"),
        ("10.0.0.2", "1.2.3.4, 203.0.113.9", "203.0.113.9"),
        # Two proxies of ours (the second in a trusted network): the first untrusted hop.
        ("10.0.0.2", "1.2.3.4, 203.0.113.9, 172.16.4.4", "203.0.113.9"),
        ("10.0.0.2", "2001:DB8::1 ,172.16.4.4", "2001:db8::1"),
        # Junk where our proxy's hop should be: the last hop we trust, never the junk.
        ("10.0.0.2", "203.0.113.9, not-an-ip, 172.16.4.4", "172.16.4.4"),
        ("10.0.0.2", "", "10.0.0.2"),
        # Nothing but our proxies: the farthest of them.
        ("10.0.0.2", "172.16.0.1, 172.16.4.4", "172.16.0.1"),
    ],
)
def test_client_ip_behind_trusted_proxies(settings, remote, forwarded, expected):
    from django.test import RequestFactory

    from takedown.web.access import client_ip

    settings.TAKEDOWN_TRUSTED_PROXIES = ["10.0.0.2/32", "172.16.0.0/12"]
    request = RequestFactory().get("/login/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)

    assert client_ip(request) == expected


def test_client_ip_without_trusted_proxies_ignores_forwarded_for(settings):
    from django.test import RequestFactory

    from takedown.web.access import client_ip

    settings.TAKEDOWN_TRUSTED_PROXIES = []
    request = RequestFactory().get(
        "/login/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.9"
    )

    assert client_ip(request) == "10.0.0.2"


def test_login_throttle_behind_proxy_counts_each_client_apart(settings):
    settings.TAKEDOWN_LOGIN_FAILURE_LIMIT = 3
    settings.TAKEDOWN_TRUSTED_PROXIES = ["10.0.0.2/32"]
    member("carla", "caseworker")
    guesser = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.7")
    for i in range(3):
        login(guesser, "carla", f"wrong {i}")

    carla = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.9")

    assert login(guesser, "carla", "correct horse battery staple").status_code == 200
    assert login(carla, "carla", "correct horse battery staple").status_code == 302


def test_login_throttle_ignores_forwarded_for_from_untrusted_addresses(settings):
    settings.TAKEDOWN_LOGIN_FAILURE_LIMIT = 3
    settings.TAKEDOWN_TRUSTED_PROXIES = ["10.0.0.2/32"]
    member("carla", "caseworker")
    for i in range(3):
        forged = Client(REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}")
        login(forged, "carla", f"wrong {i}")

    fresh_forgery = Client(REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="203.0.113.99")

    assert login(fresh_forgery, "carla", "correct horse battery staple").status_code == 200


# --- portal tokens in request logs ------------------------------------------------------------

TOKEN = "Q2hhbmdlLW1lLXRoaXMtaXMtbm90LWEtcmVhbC10b2s"  # 43 URL-safe characters, like a real one


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def logged():
    """What the django.server and django.request loggers pass on to their handlers."""
    records = Records()
    loggers = [logging.getLogger("django.server"), logging.getLogger("django.request")]
    for logger in loggers:
        logger.addHandler(records)
    yield records.messages
    for logger in loggers:
        logger.removeHandler(records)


def runserver_request(requestline: str, code: int = 200, size: int = 512) -> None:
    """Log a request line exactly as `manage.py runserver` does."""
    from django.core.servers.basehttp import WSGIRequestHandler

    handler = WSGIRequestHandler.__new__(WSGIRequestHandler)
    handler.request, handler.requestline = None, requestline
    handler.log_request(code, size)


def test_runserver_log_redacts_the_portal_token(logged):
    runserver_request(f"GET /p/{TOKEN}/ HTTP/1.1", 302)
    runserver_request(f"POST /p/{TOKEN}/?next=/p/status/ HTTP/1.1", 302)
    runserver_request(f"GET http://127.0.0.1:8000/p/{TOKEN} HTTP/1.1", 404)

    assert logged == [
        '"GET /p/<redacted>/ HTTP/1.1" 302 512',
        '"POST /p/<redacted>/?next=/p/status/ HTTP/1.1" 302 512',
        '"GET http://127.0.0.1:8000/p/<redacted> HTTP/1.1" 404 512',
    ]
    assert TOKEN not in "".join(logged)


def test_runserver_log_keeps_other_request_lines(logged):
    runserver_request("GET /p/status/ HTTP/1.1")
    runserver_request("GET /cases/TD-2026-0001/ HTTP/1.1")
    runserver_request(f"GET /static/p/{TOKEN}.css HTTP/1.1", 404)

    assert logged == [
        '"GET /p/status/ HTTP/1.1" 200 512',
        '"GET /cases/TD-2026-0001/ HTTP/1.1" 200 512',
        f'"GET /static/p/{TOKEN}.css HTTP/1.1" 404 512',
    ]


def test_runserver_log_keeps_django_formatter_and_handler():
    from django.utils.log import ServerFormatter

    logger = logging.getLogger("django.server")

    assert (logger.level, logger.propagate) == (logging.INFO, False)
    # (pytest adds its own capturing handlers next to it.)
    assert [type(h.formatter) for h in logger.handlers].count(ServerFormatter) == 1


def test_request_log_redacts_the_portal_token(logged):
    logger = logging.getLogger("django.request")

    logger.error("%s: %s", "Internal Server Error", f"/p/{TOKEN}/")
    logger.error("%s: %s", "Internal Server Error", "/cases/TD-2026-0001/")

    assert logged == [
        "Internal Server Error: /p/<redacted>/",
        "Internal Server Error: /cases/TD-2026-0001/",
    ]


def test_check_deploy_quiet_when_every_secret_is_set(tmp_path):
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("TAKEDOWN_") and key not in ("EMAIL_URL", "DJANGO_SETTINGS_MODULE")
    }
    environ.update(
        TAKEDOWN_VAR_DIR=str(tmp_path),
        TAKEDOWN_SECRET_KEY="s" * 60,
        TAKEDOWN_FIELD_KEYS=FIELD_KEY,
        TAKEDOWN_CACHE_URL="redis://127.0.0.1:6379/15",
        EMAIL_URL="smtp://mail.example.org:587",
    )

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--tag", "security"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )

    assert "takedown." not in result.stdout + result.stderr
    assert result.returncode == 0, result.stderr


def test_production_refuses_two_factor_off(tmp_path):
    env = {**PRODUCTION_ENV, "TAKEDOWN_CACHE_URL": "redis://127.0.0.1:6379/15"}

    result = settings_in_subprocess(tmp_path, "print('started')", TAKEDOWN_TWO_FACTOR="0", **env)

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.rstrip().splitlines()[-1] == (
        "django.core.exceptions.ImproperlyConfigured: TAKEDOWN_TWO_FACTOR cannot be turned off "
        "in production"
    )
