"""Two-factor sign-in for staff: a TOTP authenticator app, with recovery codes (django-otp).

Who must use it: reviewers and admins always (they approve letters sent in the person's name
and see every case); caseworkers when one of their teams says so (Team.require_two_factor).
Anyone who enrolled is asked for a code at every sign-in, required or not.

After the password, a session is signed in but not verified. TwoFactorMiddleware (after
django-otp's OTPMiddleware) sends such a session to /2fa/verify/ (or /2fa/setup/ when the user
has no device yet but needs one) for every page but these and sign-out: the staff screens,
the review screens and the Django admin alike. The admin site also refuses unverified sessions
itself (takedown.admin_site), so a mistake in the middleware's exemptions cannot open it.

Guessing is throttled twice: django-otp's own delay per device, doubling after each failure,
and the login's counters (per user and address, takedown.web.access), so a stolen password
does not buy unlimited tries. Enrolment and each reset are audit events (user ids, no codes).

TAKEDOWN_TWO_FACTOR=0 turns enforcement off outside production only (the test suite, which
signs users in directly; its own tests of this module turn it on); production refuses it, and
`check --deploy` reports it.
"""

from __future__ import annotations

from base64 import b32encode
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import segno
from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from takedown.models import Team
from takedown.web.access import (
    THROTTLED_MESSAGE,
    add_attempt,
    attempts,
    clear_attempts,
    client_ip,
    is_admin,
    is_reviewer,
)
from takedown.workflow import record_event

RECOVERY_CODES = 10
DEVICE_NAME = "authenticator"
RECOVERY_NAME = "recovery codes"
SCOPE = "2fa-user"

# Paths a signed-in but unverified session may still reach.
EXEMPT_PREFIXES = ("/2fa/", "/logout/", "/login/", "/static/", "/p/", "/i18n/")


def enabled() -> bool:
    return bool(settings.TAKEDOWN_TWO_FACTOR)


def required_for(user: Any) -> bool:
    """Whether this user must have a second factor: reviewers and admins always, caseworkers
    if any of their teams requires it."""
    if not (user is not None and user.is_authenticated and user.is_active):
        return False
    if is_admin(user) or is_reviewer(user):
        return True
    return Team.objects.filter(members=user, require_two_factor=True).exists()


def confirmed_device(user: Any) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def is_verified(request: HttpRequest) -> bool:
    verified = getattr(request.user, "is_verified", None)
    return bool(verified is not None and verified())


def pending_step(request: HttpRequest) -> str | None:
    """ "verify" or "setup" while this signed-in session still owes a second factor, else None."""
    user = request.user
    if not enabled() or not user.is_authenticated or is_verified(request):
        return None
    if confirmed_device(user) is not None:
        return "verify"
    if required_for(user):
        return "setup"
    return None


class TwoFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(EXEMPT_PREFIXES):
            step = pending_step(request)
            if step is not None:
                query = urlencode({"next": request.get_full_path()})
                return HttpResponseRedirect(f"{reverse(f'two_factor:{step}')}?{query}")
        return self.get_response(request)


# --- forms and views ----------------------------------------------------------------------------


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("Code"),
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def clean_token(self) -> str:
        return "".join(self.cleaned_data["token"].split()).lower()


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("home")


def _throttle_ident(request: HttpRequest) -> list[tuple[str, str]]:
    user = str(request.user.pk)
    return [(SCOPE, f"{user}\0{client_ip(request)}"), (f"{SCOPE}-any", user)]


def _throttled(request: HttpRequest) -> bool:
    limit = settings.TAKEDOWN_LOGIN_FAILURE_LIMIT
    first, anywhere = _throttle_ident(request)
    return attempts(*first) >= limit or attempts(*anywhere) >= limit * 4


def _failed(request: HttpRequest) -> None:
    for scope, ident in _throttle_ident(request):
        add_attempt(scope, ident, window=settings.TAKEDOWN_LOGIN_LOCKOUT_SECONDS)


def _throttled_message() -> str:
    return str(THROTTLED_MESSAGE) % {
        "minutes": max(1, settings.TAKEDOWN_LOGIN_LOCKOUT_SECONDS // 60)
    }


@login_required
@require_http_methods(["GET", "POST"])
def setup(request: HttpRequest) -> HttpResponse:
    """Enrolment: a new secret shown as a QR code and as text; the first code from the app
    confirms it, then the recovery codes are shown once."""
    if confirmed_device(request.user) is not None:
        return redirect(f"{reverse('two_factor:verify')}?{urlencode({'next': _next_url(request)})}")
    # One unconfirmed device per user, kept across reloads so the scanned secret stays valid.
    device, _created = TOTPDevice.objects.get_or_create(
        user=request.user, confirmed=False, defaults={"name": DEVICE_NAME}
    )
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if _throttled(request):
            form.add_error("token", _throttled_message())
        elif device.verify_token(form.cleaned_data["token"]):
            codes = _enrol(request, device)
            return render(
                request,
                "twofactor/recovery.html",
                {"codes": codes, "next": _next_url(request)},
            )
        else:
            _failed(request)
            form.add_error("token", _("That code is not right. Check the time on your phone."))
    return render(
        request,
        "twofactor/setup.html",
        {
            "form": form,
            "secret": _base32(device),
            "qr": _qr_data_uri(device.config_url),
            "next": _next_url(request),
            "required": required_for(request.user),
        },
    )


def _enrol(request: HttpRequest, device: TOTPDevice) -> list[str]:
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = issue_recovery_codes(request.user)
        record_event(
            None,
            "staff.2fa_enrolled",
            actor=request.user,
            message="Two-factor sign-in set up.",
            data={"user": request.user.pk},
        )
    otp_login(request, device)
    clear_attempts(*_throttle_ident(request)[0])
    return codes


def issue_recovery_codes(user: Any) -> list[str]:
    """New single-use recovery codes (the old ones stop working)."""
    static, _created = StaticDevice.objects.get_or_create(
        user=user, defaults={"name": RECOVERY_NAME, "confirmed": True}
    )
    static.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=static, token=code) for code in codes])
    return codes


@login_required
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """The second step of signing in: a code from the app, or one recovery code."""
    device = confirmed_device(request.user)
    if device is None:
        return redirect(f"{reverse('two_factor:setup')}?{urlencode({'next': _next_url(request)})}")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        token = form.cleaned_data["token"]
        if _throttled(request):
            form.add_error("token", _throttled_message())
        else:
            matched = _matching_device(request.user, device, token)
            if matched is not None:
                otp_login(request, matched)
                clear_attempts(*_throttle_ident(request)[0])
                if isinstance(matched, StaticDevice):
                    record_event(
                        None,
                        "staff.2fa_recovery_used",
                        actor=request.user,
                        message="A recovery code was used to sign in.",
                        data={"user": request.user.pk, "left": matched.token_set.count()},
                    )
                return redirect(_next_url(request))
            _failed(request)
            form.add_error("token", _("That code is not right."))
    return render(request, "twofactor/verify.html", {"form": form, "next": _next_url(request)})


def _matching_device(user: Any, device: TOTPDevice, token: str) -> TOTPDevice | StaticDevice | None:
    if token.isdigit() and len(token) == device.digits:
        return device if device.verify_token(token) else None
    static = StaticDevice.objects.filter(user=user).first()
    if static is not None and static.verify_token(token):
        return static
    return None


def reset_two_factor(user: Any, *, actor: Any) -> int:
    """Remove the user's authenticator and recovery codes (a lost phone): they enrol again at
    their next sign-in. Returns how many devices were removed; an audit event either way."""
    with transaction.atomic():
        removed = TOTPDevice.objects.filter(user=user).delete()[0]
        removed += StaticDevice.objects.filter(user=user).delete()[0]
        record_event(
            None,
            "staff.2fa_reset",
            actor=actor,
            message="Two-factor sign-in reset.",
            data={"user": user.pk},
        )
    return removed


def _base32(device: TOTPDevice) -> str:
    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _qr_data_uri(uri: str) -> str:
    # A data: URI for an <img> (the CSP allows data: images): nothing marked safe in the page.
    return str(segno.make(uri, error="m").svg_data_uri(scale=4, dark="#000", light="#fff"))
