"""Getting into the portal: link tokens, one-time codes by e-mail, device cookies, rate limits.

The chain of proof is: the link (256 random bits, sent by the caseworker) names the case; a
browser that has not been seen with this link before must also show it can read the person's
e-mail (a six-digit code). After that the browser keeps a device cookie, so the person is not
asked again on their own phone. Tokens, codes and device cookies are stored only as hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import smtplib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from takedown.errors import NotPossible
from takedown.models import AffectedPerson, Case, PortalAccess, PortalCode, PortalDevice
from takedown.web.access import add_attempt, attempts
from takedown.workflow import record_event

log = logging.getLogger(__name__)

DEVICE_COOKIE = "takedown_portal_device"
CODE_DIGITS = 6
CODE_MINUTES = 15
# Wrong guesses allowed for one code; a new code must be requested after that.
CODE_ATTEMPTS = 5
# Rate limits, counted in the cache over RATE_WINDOW seconds. Per address: link openings and
# code entries together (someone trying tokens or codes from one machine). Per link: code
# entries (someone trying codes from many machines) and code e-mails sent (a mailbox flood).
RATE_WINDOW = 15 * 60
IP_LIMIT = 30
TOKEN_LIMIT = 10
SEND_LIMIT = 3


class PortalError(NotPossible):
    """A portal action that cannot be done, with a message for the caseworker or command."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _hash_code(code: str, salt: str) -> str:
    return hmac.new(
        settings.SECRET_KEY.encode(), f"{salt}:{code}".encode(), hashlib.sha256
    ).hexdigest()


def _person(case: Case) -> AffectedPerson | None:
    try:
        return case.person
    except AffectedPerson.DoesNotExist:
        return None


# --- links ------------------------------------------------------------------------------------


def portal_url(token: str) -> str:
    return settings.TAKEDOWN_PUBLIC_URL.rstrip("/") + reverse("portal:enter", args=[token])


def issue_portal_link(case: Case, *, actor: Any, days: int | None = None) -> str:
    """A new portal link for the affected person of `case`, valid for `days` (default
    TAKEDOWN_PORTAL_LINK_DAYS). It replaces the case's earlier links: a caseworker sends a new
    link when the old one was lost, and a lost link must stop working. Returns the URL, which
    is shown once and never stored."""
    days = settings.TAKEDOWN_PORTAL_LINK_DAYS if days is None else days
    if not 1 <= days <= 365:
        raise PortalError(_("A portal link is valid for 1 to 365 days."))
    person = _person(case)
    if person is None or not person.email.strip():
        raise PortalError(
            _(
                "The affected person has no e-mail address on file: the portal sends a one-time "
                "code there before it shows the case on a new device."
            )
        )
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        revoked = _revoke(case, now)
        access = PortalAccess.objects.create(
            case=case,
            token_hash=hash_token(token),
            created_at=now,
            created_by=actor if getattr(actor, "pk", None) else None,
            expires_at=now + timedelta(days=days),
        )
        record_event(
            case,
            "portal.link_issued",
            actor=actor,
            message="A portal link was issued.",
            data={
                "access": access.pk,
                "expires_at": access.expires_at.isoformat(),
                "replaced": revoked,
            },
        )
    return portal_url(token)


def revoke_portal_links(case: Case, *, actor: Any) -> int:
    """Revoke every live portal link of the case (and with them their devices' sessions)."""
    with transaction.atomic():
        revoked = _revoke(case, timezone.now())
        if revoked:
            record_event(
                case,
                "portal.link_revoked",
                actor=actor,
                message="Portal links were revoked.",
                data={"revoked": revoked},
            )
    return revoked


def _revoke(case: Case, now: Any) -> int:
    return PortalAccess.objects.filter(case=case, revoked_at__isnull=True).update(revoked_at=now)


def access_for_token(token: str) -> PortalAccess | None:
    """The live access this token opens, or None (unknown, expired and revoked alike)."""
    if not token or len(token) > 200:
        return None
    access = (
        PortalAccess.objects.select_related("case")
        .filter(token_hash=hash_token(token), revoked_at__isnull=True)
        .first()
    )
    if access is None or not access.is_live():
        return None
    return access


def live_access(pk: Any) -> PortalAccess | None:
    if pk is None:
        return None
    access = (
        PortalAccess.objects.select_related("case", "case__team")
        .filter(pk=pk, revoked_at__isnull=True)
        .first()
    )
    if access is None or not access.is_live():
        return None
    return access


# --- devices ----------------------------------------------------------------------------------


def known_device(access: PortalAccess, cookie: str | None) -> PortalDevice | None:
    if not cookie or len(cookie) > 200:
        return None
    device = PortalDevice.objects.filter(access=access, cookie_hash=hash_token(cookie)).first()
    if device is not None:
        PortalDevice.objects.filter(pk=device.pk).update(last_seen_at=timezone.now())
    return device


def remember_device(access: PortalAccess) -> str:
    """A new device for this access; returns the cookie value (stored only as its hash)."""
    cookie = secrets.token_urlsafe(32)
    PortalDevice.objects.create(access=access, cookie_hash=hash_token(cookie))
    return cookie


# --- one-time codes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeSent:
    sent: bool
    # Why not: "throttled" (too many codes lately), "no_email", "mail_failed".
    reason: str = ""


def send_code(access: PortalAccess) -> CodeSent:
    """E-mail a new one-time code to the person; older codes of this access stop working."""
    person = _person(access.case)
    if person is None or not person.email.strip():
        return CodeSent(False, "no_email")
    if attempts("portal-send", str(access.pk)) >= SEND_LIMIT:
        return CodeSent(False, "throttled")
    add_attempt("portal-send", str(access.pk), window=RATE_WINDOW)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    salt = secrets.token_hex(16)
    now = timezone.now()
    with transaction.atomic():
        PortalCode.objects.filter(access=access, used_at__isnull=True).update(used_at=now)
        PortalCode.objects.create(
            access=access,
            code_hash=_hash_code(code, salt),
            salt=salt,
            created_at=now,
            expires_at=now + timedelta(minutes=CODE_MINUTES),
        )
        record_event(
            access.case,
            "portal.code_sent",
            message="A one-time code for the portal was e-mailed to the affected person.",
            data={"access": access.pk},
        )
    try:
        _mail_code(person.email.strip(), code)
    except (OSError, smtplib.SMTPException) as exc:
        # The reason only: the address is personal data.
        log.warning("portal code for access %s not sent: %s", access.pk, type(exc).__name__)
        return CodeSent(False, "mail_failed")
    return CodeSent(True)


def _mail_code(address: str, code: str) -> None:
    from django.core.mail import EmailMessage

    # The code only: no case details and no link, in case the mailbox is read by someone else.
    subject = _("Your code for the %(organisation)s portal") % {
        "organisation": settings.TAKEDOWN_ORGANISATION
    }
    body = _(
        "Your one-time code is: %(code)s\n\n"
        "Enter it on the page where you opened your link. It works for %(minutes)s minutes.\n\n"
        "If you did not open a link from us just now, you can ignore this e-mail. "
        "Nobody can see your case without this code.\n\n"
        "%(organisation)s"
    ) % {"code": code, "minutes": CODE_MINUTES, "organisation": settings.TAKEDOWN_ORGANISATION}
    EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [address]).send()


@dataclass(frozen=True)
class CodeCheck:
    ok: bool
    # Why not: "throttled", "no_code" (none live: expired, used up or never sent), "wrong".
    reason: str = ""


def check_code(access: PortalAccess, code: str, ip: str) -> CodeCheck:
    """Compare a code entered for this access; counts towards the rate limits and the code's
    own attempts whether right or wrong."""
    if attempts("portal-ip", ip) >= IP_LIMIT or attempts("portal-token", str(access.pk)) >= (
        TOKEN_LIMIT
    ):
        return CodeCheck(False, "throttled")
    add_attempt("portal-ip", ip, window=RATE_WINDOW)
    add_attempt("portal-token", str(access.pk), window=RATE_WINDOW)
    code = "".join(ch for ch in code if not ch.isspace())
    now = timezone.now()
    current = (
        PortalCode.objects.filter(
            access=access, used_at__isnull=True, expires_at__gt=now, attempts__lt=CODE_ATTEMPTS
        )
        .order_by("-created_at")
        .first()
    )
    if current is None:
        return CodeCheck(False, "no_code")
    # Counted with a conditional update: two tabs guessing at once cannot both get a free try.
    counted = PortalCode.objects.filter(
        pk=current.pk, used_at__isnull=True, attempts__lt=CODE_ATTEMPTS
    ).update(attempts=F("attempts") + 1)
    if counted != 1:
        return CodeCheck(False, "no_code")
    if not hmac.compare_digest(_hash_code(code, current.salt), current.code_hash):
        record_event(
            access.case,
            "portal.code_failed",
            message="A wrong one-time code was entered in the portal.",
            data={"access": access.pk},
        )
        return CodeCheck(False, "wrong")
    used = PortalCode.objects.filter(pk=current.pk, used_at__isnull=True).update(used_at=now)
    if used != 1:
        return CodeCheck(False, "no_code")
    record_event(
        access.case,
        "portal.device_verified",
        message="The affected person confirmed a new device with a one-time code.",
        data={"access": access.pk},
    )
    return CodeCheck(True)


def ip_throttled(ip: str) -> bool:
    return attempts("portal-ip", ip) >= IP_LIMIT


def count_ip(ip: str) -> None:
    add_attempt("portal-ip", ip, window=RATE_WINDOW)


def masked_email(case: Case) -> str:
    """a•••@example.org: enough for the person to recognise their address."""
    person = _person(case)
    address = person.email.strip() if person else ""
    local, _sep, domain = address.partition("@")
    if not local or not domain:
        return ""
    return f"{local[0]}•••@{domain}"


def person_language(case: Case) -> str:
    person = _person(case)
    codes = {code for code, _name in settings.LANGUAGES}
    lang = person.language if person else ""
    return lang if lang in codes else translation.get_language() or settings.LANGUAGE_CODE
