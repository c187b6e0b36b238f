"""Cloudflare's abuse-report API played on loopback, as its public documentation describes it
(docs/cloudflare.md): POST /client/v4/accounts/{account_id}/abuse-reports/{report_type} with a
Bearer token and a JSON body.

It checks the token and the account, the report type, the documented required fields of each
type used here and their limits, that email2 repeats email, that all URLs are unique, http(s),
of one hostname, at most 250, on a zone "active on Cloudflare" (`add_zone`), and that the
account has not reported the same URL in the last 7 days. It answers in the documented shapes:
success with `abuse_rand` (the report id) and result "success", errors with `error_code`,
`msg` and result "error" (plus the API's usual envelope: success, errors, messages).

For a substantially complete report on a zone with a known hosting provider it writes the
reporter the e-mail Cloudflare's policy promises, naming the hosting provider and its abuse
contact (`confirmations`, and each listener, e.g. the demo's reply mailbox). The wording of that
e-mail is ours: Cloudflare does not publish it.

Tests make it misbehave: `fail_next(status)` answers an error without recording the report,
`lose_next()` records the report and hangs up without answering, `delay` holds every answer.
"""

from __future__ import annotations

import datetime
import json
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from takedown.sandbox.base import BackgroundServer, QuietErrors, is_disconnect

PATH = re.compile(r"^/client/v4/accounts/([^/?]+)/abuse-reports/([^/?]+)$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
NOTIFY = ("send", "send-anon", "none")

# The documented required fields of the report types the sandbox plays, and the notification
# choices each allows (developers.cloudflare.com/api/resources/abuse_reports/methods/create/).
REQUIRED: dict[str, tuple[str, ...]] = {
    "abuse_ncsei": (
        "email",
        "email2",
        "host_notification",
        "name",
        "ncsei_subject_representation",
        "owner_notification",
        "urls",
    ),
    "abuse_general": (
        "email",
        "email2",
        "host_notification",
        "justification",
        "name",
        "owner_notification",
        "urls",
    ),
    "abuse_children": ("email", "email2", "host_notification", "name", "urls"),
    "abuse_phishing": ("email", "email2", "host_notification", "justification", "name", "urls"),
    "abuse_threat": ("email", "email2", "host_notification", "justification", "name", "urls"),
    "abuse_dmca": (
        "address1",
        "agent_name",
        "agree",
        "city",
        "country",
        "email",
        "email2",
        "host_notification",
        "name",
        "original_work",
        "owner_notification",
        "signature",
        "state",
        "urls",
    ),
}
HOST_NOTIFY = {
    "abuse_ncsei": ("send", "send-anon"),
    "abuse_general": ("send", "send-anon"),
    "abuse_dmca": ("send",),
}
LIMITS = {
    "name": 255,
    "comments": 2000,
    "justification": 5000,
    "company": 100,
    "title": 255,
    "tele": 20,
}
DEDUPE_DAYS = 7


@dataclass
class Report:
    id: str
    account: str
    act: str
    body: dict[str, Any]
    at: datetime.datetime

    @property
    def urls(self) -> list[str]:
        return str(self.body.get("urls", "")).split("\n")


@dataclass(frozen=True)
class Zone:
    hosting_name: str = ""
    hosting_email: str = ""


class Refused(Exception):
    def __init__(self, status: int, code: str, msg: str) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


@dataclass
class _Script:
    failures: list[tuple[int, str, str]] = field(default_factory=list)
    lose: int = 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SandboxCloudflare/1.0"
    timeout = 30
    server: _Server

    def do_POST(self) -> None:
        api: CloudflareApi = self.server.sandbox  # type: ignore[assignment]
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        act = ""
        try:
            match = PATH.match(self.path)
            if match is None:
                raise Refused(404, "", "No route for that URI")
            account, act = match.group(1), match.group(2)
            api.authorise(self.headers.get("Authorization", ""), account)
            failure = api.next_failure()
            if failure is not None:
                raise Refused(*failure)
            report = api.submit(account, act, raw)
        except Refused as refused:
            self._answer(refused.status, _error(refused, act))
            return
        # Written before the answer leaves (it arrives later in reality): a test that has the
        # answer finds the e-mail.
        api.confirm(report)
        # Decided before waiting: a late answer must not take the next request's script.
        lose = api.take_lose()
        if api.delay:
            api.stopping.wait(api.delay)
        if lose:
            # The report exists; its answer never leaves.
            self.close_connection = True
            return
        self._answer(
            200,
            {
                "success": True,
                "errors": [],
                "messages": [],
                "result": "success",
                "abuse_rand": report.id,
                "request": {"act": act},
            },
        )

    def do_GET(self) -> None:
        self._answer(405, _error(Refused(405, "", "Method not allowed"), ""))

    def _answer(self, status: int, data: dict[str, Any]) -> None:
        body = json.dumps(data).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError as exc:
            if not is_disconnect(exc):
                raise

    def log_message(self, format: str, *args: object) -> None:
        pass  # request lines would carry account ids; tests assert on `reports`


def _error(refused: Refused, act: str) -> dict[str, Any]:
    return {
        "success": False,
        "errors": [{"code": refused.status, "message": refused.msg}],
        "messages": [],
        "result": "error",
        "error_code": refused.code,
        "msg": refused.msg,
        "request": {"act": act},
    }


class _Server(QuietErrors, ThreadingHTTPServer):
    pass


class CloudflareApi(BackgroundServer):
    """The API on one port; `base_url` is the value for TAKEDOWN_CLOUDFLARE_API_URL."""

    scheme = "http"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.tokens: dict[str, str] = {}  # token -> account id
        self.entitled: set[str] = set()
        self.zones: dict[str, Zone] = {}
        self.reports: list[Report] = []
        self.requests = 0
        self.confirmations: list[bytes] = []
        self.listeners: list[Callable[[bytes], None]] = []
        self.delay = 0.0
        self._script = _Script()
        self._lock = threading.Lock()

    def _make_servers(self) -> list[_Server]:
        return [_Server((self.host, self.port), Handler)]

    @property
    def base_url(self) -> str:
        return f"{self.url}/client/v4"

    # --- set-up --------------------------------------------------------------------------------

    def add_account(self, account: str, token: str, *, entitled: bool = True) -> None:
        with self._lock:
            self.tokens[token] = account
            if entitled:
                self.entitled.add(account)

    def add_zone(self, hostname: str, *, hosting_name: str = "", hosting_email: str = "") -> None:
        """A hostname proxied by Cloudflare, and the hosting provider behind it."""
        with self._lock:
            self.zones[hostname.lower()] = Zone(hosting_name, hosting_email)

    def fail_next(self, status: int, code: str = "UnknownError", msg: str = "") -> None:
        """The next request is answered `status` and not recorded."""
        with self._lock:
            self._script.failures.append((status, code, msg or f"Sandbox failure {status}"))

    def lose_next(self, count: int = 1) -> None:
        """The next `count` reports are recorded but their answers never sent."""
        with self._lock:
            self._script.lose += count

    def reset(self) -> None:
        with self._lock:
            self.tokens.clear()
            self.entitled.clear()
            self.zones.clear()
            self.reports.clear()
            self.confirmations.clear()
            self.requests = 0
            self._script = _Script()
        self.delay = 0.0

    # --- serving -------------------------------------------------------------------------------

    def authorise(self, header: str, account: str) -> None:
        scheme, _, token = header.partition(" ")
        with self._lock:
            self.requests += 1
            owner = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
            entitled = account in self.entitled
        if owner is None:
            raise Refused(401, "", "Authentication error")
        if owner != account:
            raise Refused(403, "", "Authentication error: token not valid for this account")
        if not entitled:
            raise Refused(401, "", "The account is not entitled to submit abuse reports")

    def next_failure(self) -> tuple[int, str, str] | None:
        with self._lock:
            return self._script.failures.pop(0) if self._script.failures else None

    def take_lose(self) -> bool:
        with self._lock:
            if self._script.lose:
                self._script.lose -= 1
                return True
            return False

    def submit(self, account: str, act: str, raw: bytes) -> Report:
        try:
            body = json.loads(raw)
        except ValueError:
            raise Refused(400, "UnknownError", "Could not parse the request body") from None
        if not isinstance(body, dict):
            raise Refused(400, "UnknownError", "Could not parse the request body")
        if act not in REQUIRED:
            raise Refused(400, "BadActError", "Report has invalid type")
        if body.get("act") != act:
            raise Refused(400, "UnexpectedActError", "Report has the wrong type")
        urls = self._check_fields(act, body)
        now = datetime.datetime.now(datetime.UTC)
        with self._lock:
            recent = now - datetime.timedelta(days=DEDUPE_DAYS)
            earlier = {
                url
                for report in self.reports
                if report.account == account and report.at > recent
                for url in report.urls
            }
            if earlier & set(urls):
                raise Refused(
                    400, "DedupeError", "You have already submitted this URL in the last 7 days"
                )
            report = Report(secrets.token_hex(8), account, act, body, now)
            self.reports.append(report)
        return report

    def _check_fields(self, act: str, body: dict[str, Any]) -> list[str]:
        for name in REQUIRED[act]:
            value = body.get(name)
            if value is None or value == "":
                code = "BadJustError" if name == "justification" else "BadNameError"
                raise Refused(400, code, f"Missing a required field: {name}")
        for name, limit in LIMITS.items():
            value = body.get(name)
            if value is not None and not 1 <= len(str(value)) <= limit:
                code = {"comments": "BadCommentsError", "justification": "BadJustError"}.get(
                    name, "BadNameError"
                )
                raise Refused(400, code, f"{name} must be 1 to {limit} characters")
        if not EMAIL.match(str(body["email"])):
            raise Refused(400, "BadEmailError", "Provided email was invalid")
        if body["email"] != body["email2"]:
            raise Refused(400, "DiffEmailError", "Provided emails did not match")
        for name in ("host_notification", "owner_notification"):
            allowed = HOST_NOTIFY.get(act, NOTIFY) if name == "host_notification" else NOTIFY
            if name in body and body[name] not in allowed:
                raise Refused(
                    400, "InvalidNotifyError", "Invalid value for notification preference"
                )
        if "ncsei_subject_representation" in body and not isinstance(
            body["ncsei_subject_representation"], bool
        ):
            raise Refused(400, "BadNameError", "ncsei_subject_representation must be a boolean")
        urls = str(body["urls"]).split("\n")
        hosts = set()
        for url in urls:
            parts = urlsplit(url.strip())
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise Refused(400, "BadUrlsError", f"Invalid URL ({url[:100]})")
            hosts.add(parts.hostname.lower())
        if len(urls) > 250 or len(set(urls)) != len(urls):
            raise Refused(400, "MaxIPsError", "Provided value has invalid size")
        if len(hosts) != 1:
            raise Refused(
                400,
                "UrlNotvalidError",
                "You have entered URLs that contain more than 1 unique hostname.",
            )
        if hosts.pop() not in self.zones:
            raise Refused(
                400, "UrlNotOrangeError", "A URL contains a domain that is not active on Cloudflare"
            )
        return urls

    def confirm(self, report: Report) -> None:
        """The reporter's e-mail naming the hosting provider, as the abuse policy promises."""
        hostname = (urlsplit(report.urls[0]).hostname or "").lower()
        zone = self.zones.get(hostname)
        if zone is None or not zone.hosting_name:
            return
        raw = confirmation_email(report, hostname, zone)
        with self._lock:
            self.confirmations.append(raw)
            listeners = list(self.listeners)
        for listener in listeners:
            threading.Thread(target=listener, args=(raw,), daemon=True).start()


def confirmation_email(report: Report, hostname: str, zone: Zone) -> bytes:
    message = EmailMessage()
    message["From"] = "Cloudflare Trust & Safety <abuse@cloudflare.com>"
    message["To"] = str(report.body["email"])
    message["Subject"] = f"Cloudflare abuse report received: {hostname} [Report ID: {report.id}]"
    message["Date"] = format_datetime(datetime.datetime.now(datetime.UTC))
    message["Message-ID"] = make_msgid(report.id, domain="cloudflare.com")
    contact = f"Abuse contact: {zone.hosting_email}\n" if zone.hosting_email else ""
    message.set_content(
        f"Cloudflare received your abuse report regarding {hostname}.\n"
        f"Report ID: {report.id}\n\n"
        "Cloudflare is a network provider offering a reverse proxy, pass-through security "
        "service. We are not a hosting provider. We have forwarded your report to the website's "
        "hosting provider and to the website owner.\n\n"
        f"Hosting provider: {zone.hosting_name}\n"
        f"{contact}\n"
        "You may contact the hosting provider directly.\n\n"
        "Cloudflare Trust & Safety\n"
    )
    return bytes(message)
