"""Cloudflare's abuse-report API: notices to Cloudflare submitted by the machine.

Sites behind Cloudflare's proxy show Cloudflare's addresses, not their hosting provider's.
Cloudflare forwards a substantially complete abuse report to the site's hosting provider and
owner and tells the reporter who the hosting provider is (docs/cloudflare.md, with sources).
Where the team has stored a Cloudflare account id and API token (Team.cloudflare_*,
`manage.py cloudflare_credentials`), a notice whose contact is Cloudflare's API contact
(channel "api", value API_CONTACT) is submitted here; without them it falls back to
Cloudflare's web form, prepared for a caseworker (notices/send.queue_notice, notices/webform.py).

One report per hostname: the API accepts only URLs of one hostname in a report. Each report is
one delivery target of the notice ("cloudflare:<hostname>") in the sent log of notices/send.py,
which gives it the same guarantees as an e-mail: claimed before, the handover recorded
(durably, while the claim stands) before the request's bytes leave, the answer recorded after.
An HTTP request can be acted on as soon as its last byte arrives, so a request that failed
while being written was not acted on (refused, retried), and a request written completely
whose answer never came (timeout, connection lost) is uncertain: the notice waits for a human
(resolve_uncertain), never a second report. Cloudflare itself rejects the same URL reported
again by the account within 7 days (DedupeError); that answer is taken as uncertain too: an
earlier report of ours may exist, a human looks.

Answers: 2xx with result "success" is accepted and names the report (abuse_rand), kept as the
notice's confirmation number, so e-mails quoting it match the notice (replies/inbound.py).
4xx answers about the report are permanent; 401/403 (our token or entitlement) and 429 are
our side's or the moment's and are retried like an SMTP login refusal; 5xx and connection
failures are retried.

This module only speaks the protocol and reads Cloudflare's answers; the requests go only to
the configured TAKEDOWN_CLOUDFLARE_API_URL (https, or http to a loopback address for the
sandbox), never to an address taken from data. The token is sent in the Authorization header
and appears in no log, event or error text.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from takedown.models import Case, Contact, Notice, Team
from takedown.notices.render import RenderedNotice, notice_context, shorten
from takedown.notices.transports import DeliveryError

# The value of the directory contact (channel "api") that stands for Cloudflare's abuse API.
API_CONTACT = "cloudflare"
# Cloudflare's organisation in the curated directory (takedown/directory/seed.py).
SEED_KEY = "seed:cloudflare"
TARGET_PREFIX = "cloudflare:"
# Report types used: non-consensual intimate imagery for intimate images, else "general"
# (unlawful or harmful content not otherwise listed).
NCSEI = "abuse_ncsei"
GENERAL = "abuse_general"
# Documented limits (docs/cloudflare.md).
MAX_URLS = 250
MAX_COMMENTS = 2000
MAX_JUSTIFICATION = 5000
MAX_NAME = 255
MAX_COMPANY = 100
MAX_ANSWER_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Credentials:
    account_id: str
    token: str = field(repr=False)


def credentials(team: Team | None) -> Credentials | None:
    """The team's Cloudflare account id and API token, or None when either is missing."""
    if team is None:
        return None
    account, token = team.cloudflare_account_id.strip(), (team.cloudflare_api_token or "").strip()
    return Credentials(account, token) if account and token else None


def is_api_contact(contact: Contact | None) -> bool:
    return (
        contact is not None
        and contact.channel == Contact.Channel.API
        and contact.value.strip().lower() == API_CONTACT
    )


def api_contact(organisation_id: int) -> Contact | None:
    """The organisation's contact for Cloudflare's abuse API, if the directory has one."""
    return (
        Contact.objects.filter(
            organisation_id=organisation_id,
            channel=Contact.Channel.API,
            value__iexact=API_CONTACT,
        )
        .order_by("-is_override", "-preferred", "pk")
        .first()
    )


def uses_api(notice: Notice) -> bool:
    """The notice goes to Cloudflare's abuse-report API (else: e-mail or a manual channel)."""
    return notice.channel == Contact.Channel.API and is_api_contact(notice.contact)


def is_to_cloudflare(notice: Notice) -> bool:
    """A notice to Cloudflare, by its API or by hand through its web form."""
    return uses_api(notice) or notice.recipient.external_key == SEED_KEY


def report_type(case: Case) -> str:
    return NCSEI if case.category == Case.Category.INTIMATE else GENERAL


def _hostname(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def report_targets(notice: Notice) -> list[str]:
    """One delivery target per hostname of the notice's links, in a stable order."""
    hosts = {_hostname(url) for url in notice.links.values_list("url", flat=True)}
    return [f"{TARGET_PREFIX}{host}" for host in sorted(hosts) if host]


def target_hostname(target: str) -> str:
    return target.removeprefix(TARGET_PREFIX)


def report_body(
    notice: Notice, rendered: RenderedNotice, context: dict[str, Any], hostname: str, email: str
) -> dict[str, Any]:
    """The JSON body of the report about `hostname`'s links, with the documented fields of the
    notice's report type. `email` is where Cloudflare writes back: the notice's reply address,
    so its confirmation names the notice (and no caseworker's own address goes to Lumen)."""
    act = report_type(notice.case)
    urls = [row["url"] for row in context["links"] if _hostname(row["url"]) == hostname]
    urls = list(dict.fromkeys(urls))[:MAX_URLS]
    name = context["signer"]["name"] or context["organisation"] or "Takedown"
    reference = f"{context['case_reference']}, notice {notice.pk}"
    body: dict[str, Any] = {
        "act": act,
        "email": email,
        "email2": email,
        "name": shorten(name, MAX_NAME),
        "urls": "\n".join(urls),
        # Forward to the hosting provider and the site owner under our name: anonymous
        # forwarding would hide who to answer. (DMCA/trademark could not be anonymous anyway.)
        "host_notification": "send",
        "owner_notification": "send",
        "title": shorten(rendered.subject, MAX_NAME),
    }
    if context["organisation"]:
        body["company"] = shorten(context["organisation"], MAX_COMPANY)
    tail = f"\n\n(Shortened; full notice: {reference}, available on request.)"
    if act == NCSEI:
        # We report for the person: the submitter is not the person depicted.
        body["ncsei_subject_representation"] = False
        body["comments"] = shorten(rendered.text, MAX_COMMENTS, tail)
    else:
        body["justification"] = shorten(rendered.text, MAX_JUSTIFICATION, tail)
        body["comments"] = shorten(f"Our reference: {reference}.", MAX_COMMENTS)
    return body


# --- the request ---------------------------------------------------------------------------------


def _endpoint() -> tuple[str, str, int, str]:
    """(scheme, host, port, path prefix) of the configured API; https, or http to loopback."""
    base = settings.TAKEDOWN_CLOUDFLARE_API_URL
    parts = urlsplit(base)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        raise ImproperlyConfigured(f"TAKEDOWN_CLOUDFLARE_API_URL: {base!r} is not an http(s) URL")
    if parts.scheme == "http":
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            raise ImproperlyConfigured(
                "TAKEDOWN_CLOUDFLARE_API_URL: plain http only to a loopback address (the sandbox);"
                " the token must not travel unencrypted"
            )
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, host, port, parts.path.rstrip("/")


def submit_report(
    creds: Credentials, act: str, body: dict[str, Any], handover: Callable[[], None]
) -> str:
    """POST the report; returns the report id ("" if the answer named none) or raises
    DeliveryError. `handover` runs after the connection is open and before the request is
    written: from then on the report may exist."""
    scheme, host, port, prefix = _endpoint()
    path = f"{prefix}/accounts/{quote(creds.account_id, safe='')}/abuse-reports/{quote(act)}"
    payload = json.dumps(body).encode()
    timeout = float(settings.TAKEDOWN_CLOUDFLARE_TIMEOUT)
    connection: http.client.HTTPConnection
    if scheme == "https":
        connection = http.client.HTTPSConnection(host, port, timeout=timeout)
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        try:
            connection.connect()
        except OSError as exc:
            raise DeliveryError("connect", _describe(exc)) from None
        handover()
        try:
            connection.request(
                "POST",
                path,
                body=payload,
                headers={
                    "Authorization": f"Bearer {creds.token}",
                    "Content-Type": "application/json",
                    "Accept": "application/json",
                    "User-Agent": settings.TAKEDOWN_USER_AGENT,
                },
            )
        except OSError as exc:
            # Not every byte was written: the server cannot have taken the report.
            raise DeliveryError("data", _describe(exc)) from None
        try:
            response = connection.getresponse()
            raw = response.read(MAX_ANSWER_BYTES + 1)
        except (OSError, http.client.HTTPException) as exc:
            raise DeliveryError("end", _describe(exc), uncertain=True) from None
        return read_answer(response.status, raw)
    finally:
        connection.close()


def read_answer(status: int, raw: bytes) -> str:
    """The report id from a 2xx answer, or DeliveryError classifying any other."""
    try:
        data = json.loads(raw[:MAX_ANSWER_BYTES]) if raw else {}
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    message = _message(data) or f"HTTP {status}"
    if 200 <= status < 300:
        result = str(data.get("result") or "")
        if data.get("success") is False or result == "error":
            raise DeliveryError("end", message, status, permanent=True)
        report_id = str(data.get("abuse_rand") or "")
        if not report_id and result and result != "success":
            report_id = result
        return report_id[:100]
    if _is_duplicate(data):
        # Already reported within 7 days: an earlier attempt of ours may have made it.
        raise DeliveryError("end", message, status, uncertain=True)
    # Redirects are not followed (the endpoint is configuration): like 401/403 they are ours
    # to fix, so retried, not a refusal of the report.
    retry = status < 400 or status in (401, 403, 408, 429) or status >= 500
    raise DeliveryError("end", message, status, permanent=not retry)


def _message(data: dict[str, Any]) -> str:
    parts = []
    if data.get("error_code"):
        parts.append(str(data["error_code"]))
    if data.get("msg"):
        parts.append(str(data["msg"]))
    for error in data.get("errors") or []:
        if isinstance(error, dict) and error.get("message"):
            text = str(error["message"])
            code = f"{error['code']} " if error.get("code") else ""
            if text not in parts:
                parts.append(f"{code}{text}")
    return " ".join(" ".join(parts).split())[:500]


def _is_duplicate(data: dict[str, Any]) -> bool:
    code = str(data.get("error_code") or "").lower()
    text = _message(data).lower()
    return "dedupe" in code or "already submitted" in text


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class ReportSender:
    """One attempt's reports for one notice: `deliver(target, handover)` per hostname."""

    def __init__(self, notice: Notice, rendered: RenderedNotice, email: str) -> None:
        self.notice, self.rendered, self.email = notice, rendered, email
        self.context = notice_context(notice)
        self.creds = credentials(notice.case.team)
        self.report_ids: dict[str, str] = {}

    def deliver(self, target: str, handover: Callable[[], None]) -> str:
        if self.creds is None:
            # Removed since queueing: our configuration, so retried, never a refusal.
            raise DeliveryError("connect", "the team has no Cloudflare API token any more")
        hostname = target_hostname(target)
        body = report_body(self.notice, self.rendered, self.context, hostname, self.email)
        report_id = submit_report(self.creds, body["act"], body, handover)
        self.report_ids[target] = report_id
        return f"report {report_id}" if report_id else "report accepted (no id in the answer)"


def where_to_check(notice: Notice) -> str:
    creds = credentials(notice.case.team)
    account = f" of account {creds.account_id}" if creds else ""
    return (
        f"Look in Cloudflare's list of abuse reports{account} (dashboard, or GET "
        "/accounts/{account_id}/abuse-reports) for a report of these URLs"
    )


# --- Cloudflare's answer by e-mail: the hosting provider -----------------------------------------

# Cloudflare's documentation says it gives the reporter the hosting provider's contact
# information but not in which words; these are the conservative readings (docs/cloudflare.md):
# a line naming the hosting provider, and an e-mail address on it or on a line naming the
# abuse contact right after.
_PROVIDER = re.compile(
    r"^\s*(?:the\s+)?(?:website\s+)?hosting\s+provider(?:\s+for\s+\S+)?\s*(?:is|:)\s*:?\s*(.+?)\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_ABUSE_LINE = re.compile(
    r"^\s*(?:abuse\s+contact|abuse\s+e-?mail|contact)\s*:\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


@dataclass(frozen=True)
class HostingProvider:
    name: str
    email: str = ""


def hosting_provider(text: str) -> HostingProvider | None:
    """The hosting provider an answer from Cloudflare names, or None when it names none or
    several different ones (a human reads those)."""
    found: list[HostingProvider] = []
    for match in _PROVIDER.finditer(text):
        line = match.group(1)
        email_match = _EMAIL.search(line)
        email = email_match.group(0) if email_match else ""
        name = _EMAIL.sub("", line).strip(" ,;:-()<>[]\t")
        if not email:
            # Only the lines right after it: an address further down may be anyone's.
            after = _ABUSE_LINE.search(text[match.end() : match.end() + 300])
            if after is not None and (address := _EMAIL.search(after.group(1))):
                email = address.group(0)
        if name:
            found.append(HostingProvider(name[:300], email.lower()))
    names = {p.name.lower() for p in found}
    return found[0] if len(names) == 1 else None
