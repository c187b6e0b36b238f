"""Two-factor sign-in in a real browser: a reviewer enrols (QR code and secret, the first code,
the recovery codes), signs out, signs in with the app's code, then with a recovery code; an
admin reaches the Django admin only after the second factor. Codes are computed here from the
secret the page shows, as an authenticator app would."""

from __future__ import annotations

import re
import time
from base64 import b32decode

import pytest
from django.contrib.auth.models import Group
from django_otp.oath import TOTP

from takedown.models import CaseEvent
from tests.browser import BROWSER_DB, log_in, shoot
from tests.factories import TeamFactory, UserFactory

pytestmark = [pytest.mark.browser, BROWSER_DB]
expect = pytest.importorskip("playwright.sync_api", reason="needs the playwright package").expect

PASSWORD = "a long test passphrase 7"


@pytest.fixture(autouse=True)
def two_factor_on(settings):
    settings.TAKEDOWN_TWO_FACTOR = True


def app_code(secret: str, *, steps_ahead: int = 0) -> str:
    """What an authenticator app shows for this secret (a later step for a second sign-in: a
    device refuses a code it already accepted)."""
    totp = TOTP(b32decode(secret.replace(" ", "")), 30, 0, 6, 0)
    totp.time = time.time() + steps_ahead * 30
    return f"{totp.token():06d}"


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()


def test_reviewer_enrols_then_signs_in_with_app_code_and_recovery_code(page):
    team = TeamFactory(name="Berlin")
    rita = UserFactory(username="rita")
    rita.set_password(PASSWORD)
    rita.save()
    rita.groups.add(Group.objects.get(name="reviewer"))
    team.members.add(rita)

    log_in(page, "rita", PASSWORD)
    expect(page).to_have_url(re.compile(r"/2fa/setup/\?next="))
    expect(page.get_by_role("heading", name="Set up two-factor sign-in")).to_be_visible()
    expect(page.locator("#totp-qr")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text()
    shoot(page, "twofactor-setup")
    page.get_by_label("Code").fill(app_code(secret))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Two-factor sign-in is set up")).to_be_visible()
    codes = page.locator("#recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("link", name="Continue").click()
    expect(page.get_by_role("link", name="Review")).to_be_visible()

    sign_out(page)
    log_in(page, "rita", PASSWORD)
    expect(page).to_have_url(re.compile(r"/2fa/verify/\?next="))
    page.goto("/review/")
    expect(page).to_have_url(re.compile(r"/2fa/verify/\?next=%2Freview%2F$"))
    page.get_by_label("Code").fill(app_code(secret, steps_ahead=1))
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(re.compile(r"/review/$"))

    sign_out(page)
    log_in(page, "rita", PASSWORD)
    page.get_by_label("Code").fill("999999")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("That code is not right.")).to_be_visible()
    time.sleep(1.1)  # django-otp refuses every code for a second after a failure
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("link", name="Review")).to_be_visible()
    assert list(CaseEvent.objects.order_by("pk").values_list("kind", flat=True)) == [
        "staff.2fa_enrolled",
        "staff.2fa_recovery_used",
    ]


def test_admin_reaches_django_admin_only_after_second_factor(page):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    root.set_password(PASSWORD)
    root.save()

    page.goto("/admin/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("log in", re.IGNORECASE)).click()
    expect(page).to_have_url(re.compile(r"/2fa/setup/\?next=%2Fadmin%2F$"))
    secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Code").fill(app_code(secret))
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("link", name="Continue").click()

    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
