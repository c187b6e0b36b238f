"""Two-factor sign-in for staff (takedown/web/twofactor.py): who must enrol, enrolment,
verification with the app's code or a recovery code, throttling, the admin, audit events."""

from __future__ import annotations

import time
from base64 import b32encode

import pytest
from django.contrib.admin import site
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from takedown.models import CaseEvent
from takedown.web import twofactor
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def two_factor_on(settings):
    settings.TAKEDOWN_TWO_FACTOR = True
    cache.clear()


def staff(username: str, group: str | None = None, team=None, **fields):
    user = UserFactory(username=username, **fields)
    user.set_password(PASSWORD)
    user.save()
    if group:
        user.groups.add(Group.objects.get(name=group))
    if team is not None:
        team.members.add(user)
    return user


def code(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """The app's code now (or some 30-second steps later: a device refuses a code it accepted)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def sign_in(client: Client, username: str, next_url: str = "/"):
    return client.post(f"/login/?next={next_url}", {"username": username, "password": PASSWORD})


def enrol(user) -> tuple[TOTPDevice, list[str]]:
    device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    return device, twofactor.issue_recovery_codes(user)


# --- who must use it --------------------------------------------------------------------------


def test_required_for_reviewers_admins_and_caseworkers_of_teams_that_ask():
    strict, relaxed = TeamFactory(require_two_factor=True), TeamFactory()

    assert twofactor.required_for(staff("rita", "reviewer")) is True
    assert twofactor.required_for(staff("ada", "admin")) is True
    assert twofactor.required_for(staff("root", is_superuser=True)) is True
    assert twofactor.required_for(staff("carla", "caseworker", strict)) is True
    assert twofactor.required_for(staff("otto", "caseworker", relaxed)) is False


def test_reviewer_after_password_reaches_only_enrolment(client):
    staff("rita", "reviewer")

    signed_in = sign_in(client, "rita", "/review/")
    review = client.get("/review/")
    cases = client.get("/cases/")

    assert signed_in.status_code == 302
    assert review.status_code == 302
    assert review["Location"] == "/2fa/setup/?next=%2Freview%2F"
    assert cases["Location"] == "/2fa/setup/?next=%2Fcases%2F"


def test_caseworker_of_relaxed_team_signs_in_with_password_alone(client):
    staff("otto", "caseworker", TeamFactory())

    sign_in(client, "otto")

    assert client.get("/cases/").status_code == 200


def test_caseworker_who_enrolled_is_asked_although_not_required(client):
    user = staff("otto", "caseworker", TeamFactory())
    enrol(user)

    sign_in(client, "otto")

    assert client.get("/cases/")["Location"] == "/2fa/verify/?next=%2Fcases%2F"


# --- enrolment --------------------------------------------------------------------------------


def test_enrolment_confirms_with_app_code_and_shows_recovery_codes(client):
    user = staff("rita", "reviewer")
    sign_in(client, "rita")

    page = client.get("/2fa/setup/?next=/review/")
    device = TOTPDevice.objects.get(user=user)
    wrong = client.post("/2fa/setup/", {"token": "000000", "next": "/review/"})
    time.sleep(1.1)  # django-otp refuses every code for a second after a failure
    done = client.post("/2fa/setup/", {"token": code(device), "next": "/review/"})

    assert page.status_code == 200
    assert page.context["secret"].replace(" ", "") == b32encode(device.bin_key).decode()
    assert page.context["qr"].startswith("data:image/svg+xml")
    assert wrong.context["form"].errors["token"] == [
        "That code is not right. Check the time on your phone."
    ]
    assert done.status_code == 200
    codes = done.context["codes"]
    assert len(codes) == 10 == len(set(codes))
    assert sorted(
        StaticToken.objects.filter(device__user=user).values_list("token", flat=True)
    ) == (sorted(codes))
    device.refresh_from_db()
    assert device.confirmed is True
    assert client.get("/review/").status_code == 200
    event = CaseEvent.objects.get(kind="staff.2fa_enrolled")
    assert (event.case, event.actor, event.data) == (None, user, {"user": user.pk})


def test_enrolment_secret_survives_a_reload(client):
    user = staff("rita", "reviewer")
    sign_in(client, "rita")

    first = client.get("/2fa/setup/").context["secret"]
    second = client.get("/2fa/setup/").context["secret"]

    assert first == second
    assert TOTPDevice.objects.filter(user=user).count() == 1


# --- verification -----------------------------------------------------------------------------


def test_verify_with_app_code_opens_the_page_asked_for(client):
    user = staff("rita", "reviewer")
    device, _codes = enrol(user)
    sign_in(client, "rita", "/review/")

    response = client.post("/2fa/verify/", {"token": code(device), "next": "/review/"})

    assert (response.status_code, response["Location"]) == (302, "/review/")
    assert client.get("/review/").status_code == 200


def test_recovery_code_works_once(client):
    user = staff("rita", "reviewer")
    _device, codes = enrol(user)
    sign_in(client, "rita")

    first = client.post("/2fa/verify/", {"token": codes[0], "next": "/"})
    other = Client()
    sign_in(other, "rita")
    again = other.post("/2fa/verify/", {"token": codes[0], "next": "/"})

    assert first.status_code == 302
    assert again.status_code == 200
    assert again.context["form"].errors["token"] == ["That code is not right."]
    assert StaticToken.objects.filter(device__user=user).count() == 9
    assert CaseEvent.objects.get(kind="staff.2fa_recovery_used").data == {
        "user": user.pk,
        "left": 9,
    }


def test_verify_offsite_next_goes_home(client):
    user = staff("rita", "reviewer")
    device, _codes = enrol(user)
    sign_in(client, "rita")

    response = client.post("/2fa/verify/", {"token": code(device), "next": "https://evil.example/"})

    assert response["Location"] == "/"


def test_verify_is_throttled_even_for_the_right_code(client, settings):
    settings.TAKEDOWN_LOGIN_FAILURE_LIMIT = 3
    user = staff("rita", "reviewer")
    _device, codes = enrol(user)
    sign_in(client, "rita")

    failures = [client.post("/2fa/verify/", {"token": f"12345{i}"}) for i in range(3)]
    blocked = client.post("/2fa/verify/", {"token": codes[1]})

    assert [r.status_code for r in failures] == [200, 200, 200]
    assert blocked.context["form"].errors["token"] == [
        "Too many failed sign-in attempts. Wait 15 minutes and try again, "
        "or ask an administrator to reset your password."
    ]
    assert client.get("/review/").status_code == 302
    assert StaticToken.objects.filter(device__user=user).count() == 10


# --- the Django admin -------------------------------------------------------------------------


def test_admin_needs_the_second_factor_too(client):
    user = staff("root", is_superuser=True, is_staff=True)
    device, _codes = enrol(user)

    client.post("/admin/login/?next=/admin/", {"username": "root", "password": PASSWORD})
    before = client.get("/admin/")
    client.post("/2fa/verify/", {"token": code(device)})
    after = client.get("/admin/")

    assert before.status_code == 302
    assert before["Location"] == "/2fa/verify/?next=%2Fadmin%2F"
    assert after.status_code == 200


def test_admin_site_refuses_unverified_session_by_itself(rf):
    user = staff("root", is_superuser=True, is_staff=True)
    request = rf.get("/admin/")
    request.user = user
    request.user.is_verified = lambda: False

    assert site.has_permission(request) is False
    request.user.is_verified = lambda: True
    assert site.has_permission(request) is True


# --- reset ------------------------------------------------------------------------------------


def test_reset_command_removes_devices_and_records_who(client):
    user = staff("rita", "reviewer")
    admin = staff("ada", "admin")
    enrol(user)

    call_command("reset_two_factor", "rita", "--as", "ada")
    sign_in(client, "rita")

    assert TOTPDevice.objects.filter(user=user).count() == 0
    assert client.get("/review/")["Location"] == "/2fa/setup/?next=%2Freview%2F"
    event = CaseEvent.objects.get(kind="staff.2fa_reset")
    assert (event.actor, event.data) == (admin, {"user": user.pk})


def test_admin_offers_no_unaudited_way_to_delete_a_second_factor():
    assert site.is_registered(TOTPDevice) is False
    assert site.is_registered(StaticDevice) is False
