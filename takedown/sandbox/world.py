"""The demo world: the sandbox servers started together and filled with a small story.

Three made-up sites host copies of a private photo. Their names resolve (sandbox DNS) to
127.0.0.1, where one HTTP server plays all of them; registration data comes from the
sandbox WHOIS (the .de site, plus every real response in ../shared/data/whois/raw) and
RDAP (the .com and .net sites, and the hosting network 127.0.0.0/8). `Sandbox.env()` is the
configuration that points Takedown at it all. With a removal delay the sites act on the notices
they receive: some images answer 404 a while after their notice arrives (Removals), so the
demo case shows links being removed. The demo hosting provider's helpdesk acknowledges every
notice it receives by e-mail, with a ticket number, into the reply mailbox (dovecot on
loopback, when installed), where the dispatcher's poll finds it. Cloudflare's abuse-report API
is played too (sandbox/cloudflare.py): the demo team's account, the demo sites as its zones,
hosted by the demo hosting provider, whose name its confirmation e-mails give.
"""

from __future__ import annotations

import datetime
import itertools
import logging
import os
import secrets
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

from takedown.sandbox.cloudflare import CloudflareApi
from takedown.sandbox.dns import DnsServer
from takedown.sandbox.http import HttpHost, Route, html, image, redirect, status
from takedown.sandbox.imap import ImapServer, dovecot_binary
from takedown.sandbox.rdap import RdapServer, rdap_domain, rdap_ip_network
from takedown.sandbox.smtp import CapturedMessage, SmtpServer
from takedown.sandbox.whois import WhoisServer

log = logging.getLogger(__name__)

DEFAULT_PORTS = {
    "smtp": 8025,
    "whois": 8043,
    "dns": 8053,
    "http": 8080,
    "rdap": 8081,
    "imap": 8143,
    "cloudflare": 8044,
}

# The demo team's Cloudflare account in the sandbox API (setup_demo stores them on the team when
# Takedown points at the sandbox); hosts behind the sandbox's Cloudflare name their real host.
DEMO_CLOUDFLARE_ACCOUNT = "0d3e0f00d3e0f00d3e0f00d3e0f00d3e"
DEMO_CLOUDFLARE_TOKEN = "sandbox-demo-token"  # noqa: S105 (the sandbox's, not a secret)

PICSHARE = "img.picshare-demo.com"
BILDERBUDE = "www.bilderbude-demo.de"
LEAKY = "cdn.leakyimages-demo.net"


def shared_data_dir() -> Path:
    """../shared/data beside the checkout, or $TAKEDOWN_SHARED_DIR/data."""
    override = os.environ.get("TAKEDOWN_SHARED_DIR")
    base = Path(override) if override else Path(__file__).resolve().parents[2].parent / "shared"
    return base / "data"


@dataclass
class Sandbox:
    http: HttpHost
    rdap: RdapServer
    smtp: SmtpServer
    whois: WhoisServer
    dns: DnsServer
    var_dir: Path
    demo_urls: dict[str, str] = field(default_factory=dict)
    removals: Removals | None = None
    # The reply mailbox; None where dovecot is not installed (then answers are not played).
    imap: ImapServer | None = None
    cloudflare: CloudflareApi | None = None

    @property
    def rdap_bootstrap_dir(self) -> Path:
        return self.var_dir / "rdap-bootstrap"

    def env(self) -> dict[str, str]:
        """Environment settings that point Takedown at these servers. The image host's port
        joins the fetchable ports only here: without the sandbox, 80 and 443 stay the only
        ones."""
        env = {
            "TAKEDOWN_WHOIS_SERVER": self.whois.address,
            "TAKEDOWN_RDAP_BOOTSTRAP": str(self.rdap_bootstrap_dir),
            "TAKEDOWN_DNS_NAMESERVERS": self.dns.address,
            "EMAIL_URL": self.smtp.url,
            "TAKEDOWN_ALLOW_PRIVATE_NETWORK": "1",
            "TAKEDOWN_FETCH_PORTS": f"80,443,{self.http.port}",
            "TAKEDOWN_SANDBOX_HTTP_PORT": str(self.http.port),
        }
        if self.imap is not None:
            env["TAKEDOWN_IMAP_URL"] = self.imap.url()
        if self.cloudflare is not None:
            env["TAKEDOWN_CLOUDFLARE_API_URL"] = self.cloudflare.base_url
        return env

    @staticmethod
    def demo_env() -> dict[str, str]:
        """The recheck schedule at demo speed, so a newcomer watches links become removed
        within minutes of `make run`: evidence fetched at once, a link with a pending notice
        checked every 3 minutes, a first "removed" confirmed a minute later."""
        return {
            "TAKEDOWN_RECHECK_INTAKE_SETTLE_MINUTES": "0",
            "TAKEDOWN_RECHECK_PENDING_HOURS": "0.05",
            "TAKEDOWN_RECHECK_CONFIRM_HOURS": "0.02",
            "TAKEDOWN_RECHECK_RETRY_MINUTES": "1",
        }

    def stop(self) -> None:
        if self.removals is not None:
            self.removals.stop()
        for server in (self.http, self.rdap, self.smtp, self.whois, self.dns):
            server.stop()
        if self.imap is not None:
            self.imap.stop()
        if self.cloudflare is not None:
            self.cloudflare.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_sandbox(
    var_dir: Path | str,
    *,
    ports: dict[str, int] | None = None,
    shared_dir: Path | None = None,
    removal_delay: float | None = None,
    imap: bool = True,
) -> Sandbox:
    """Start the servers on `ports` (DEFAULT_PORTS, overridden per key; 0 = any free port),
    load the demo world and write the RDAP bootstrap and mail folder under `var_dir`. With
    `removal_delay` (seconds) the demo sites act on the notices they get (Removals). The reply
    mailbox (IMAP) starts with `imap` where dovecot is installed."""
    var_dir = Path(var_dir)
    ports = {**DEFAULT_PORTS, **(ports or {})}
    started: list[HttpHost | SmtpServer | WhoisServer | DnsServer] = []
    try:
        http = HttpHost(port=ports["http"])
        rdap = RdapServer(port=ports["rdap"])
        smtp = SmtpServer(port=ports["smtp"], eml_dir=var_dir / "mail")
        whois = WhoisServer(port=ports["whois"])
        dns = DnsServer(port=ports["dns"])
        for server in (http, rdap, smtp, whois, dns):
            server.start()
            started.append(server)
    except BaseException:
        for server in started:
            server.stop()
        raise
    sandbox = Sandbox(http, rdap, smtp, whois, dns, var_dir)
    if imap and dovecot_binary() is not None:
        try:
            sandbox.imap = ImapServer(port=ports["imap"]).start()
        except BaseException:
            sandbox.stop()
            raise
    try:
        sandbox.cloudflare = CloudflareApi(port=ports.get("cloudflare", 0)).start()
    except BaseException:
        sandbox.stop()
        raise
    load_demo_world(sandbox, shared_dir if shared_dir is not None else shared_data_dir())
    rdap.write_bootstrap(sandbox.rdap_bootstrap_dir)
    if removal_delay is not None:
        sandbox.removals = Removals(http, sandbox.demo_urls, removal_delay)
        smtp.listeners.append(sandbox.removals.notice_arrived)
    return sandbox


# The demo images their sites take down a while after a notice naming them arrives. The smaller
# re-upload stays online: one removed copy says nothing about the others.
REMOVED_AFTER_NOTICE = ("live photo", "photo (PNG copy)", "other photo (re-encoded)")


class Removals:
    """The demo world's sites act on notices: `delay` seconds after the sandbox SMTP server
    receives a notice naming one of the REMOVED_AFTER_NOTICE images, that image answers 404."""

    def __init__(self, http: HttpHost, urls: dict[str, str], delay: float) -> None:
        self.http = http
        self.delay = delay
        self._waiting = {urls[label]: label for label in REMOVED_AFTER_NOTICE if label in urls}
        self._timers: list[threading.Timer] = []
        self._lock = threading.Lock()
        self.removed: list[str] = []  # the URLs taken down, in order

    def notice_arrived(self, message: CapturedMessage) -> None:
        text = "\n".join(
            part.get_content()
            for part in message.message.walk()
            if part.get_content_maintype() == "text"
        )
        with self._lock:
            named = [url for url in self._waiting if url in text]
            for url in named:
                del self._waiting[url]
                timer = threading.Timer(self.delay, self._take_down, args=(url,))
                timer.daemon = True
                self._timers.append(timer)
                timer.start()

    def _take_down(self, url: str) -> None:
        parts = urlsplit(url)
        self.http.add_route(parts.path, status(404), host=parts.hostname)
        with self._lock:
            self.removed.append(url)

    def stop(self) -> None:
        with self._lock:
            for timer in self._timers:
                timer.cancel()


def demo_routes(port: int) -> dict[str, tuple[str, str, Route]]:
    """label -> (virtual host, path, route) of the demo world's image host on `port`."""
    return {
        "live photo": (PICSHARE, "/photos/1001.jpg", image(1)),
        "smaller re-upload": (PICSHARE, "/photos/1001_small.jpg", image(1, size=(320, 240))),
        "deleted": (PICSHARE, "/photos/1002.jpg", status(404)),
        "photo (PNG copy)": (BILDERBUDE, "/galerie/urlaub.png", image(1, fmt="PNG")),
        "replaced by placeholder": (BILDERBUDE, "/galerie/strand.jpg", image(placeholder=True)),
        "gone": (BILDERBUDE, "/galerie/alt.jpg", status(410)),
        "redirect to another site": (
            LEAKY,
            "/i/abc.jpg",
            redirect(f"http://{BILDERBUDE}:{port}/galerie/urlaub.png", 301),
        ),
        "redirect to cloud metadata": (
            LEAKY,
            "/i/meta.jpg",
            redirect("http://169.254.169.254/latest/meta-data/"),
        ),
        "blocked for legal reasons": (LEAKY, "/i/legal.jpg", status(451)),
        "other photo (re-encoded)": (LEAKY, "/i/xyz.jpg", image(2, quality=60)),
        "gallery page": (
            LEAKY,
            "/",
            html('<html><body><img src="/i/abc.jpg"><img src="/i/xyz.jpg"></body></html>'),
        ),
    }


def demo_urls(port: int = DEFAULT_PORTS["http"]) -> dict[str, str]:
    """The demo world's image URLs, without starting anything (for the demo case)."""
    return {
        label: f"http://{host}:{port}{path}" for label, (host, path, _) in demo_routes(port).items()
    }


def load_demo_world(sandbox: Sandbox, shared_dir: Path) -> None:
    http, port = sandbox.http, sandbox.http.port
    for label, (host, path, route) in demo_routes(port).items():
        sandbox.demo_urls[label] = http.add_route(path, route, host=host)

    for host in (PICSHARE, BILDERBUDE, LEAKY):
        sandbox.dns.add(host, A=["127.0.0.1"])
    sandbox.dns.add("www.picshare-demo.com", CNAME=PICSHARE)

    rdap = sandbox.rdap
    rdap.add_domain(
        "picshare-demo.com",
        rdap_domain(
            "picshare-demo.com",
            registrar="Demo Registrar LLC",
            iana_id="9998",
            abuse_email="abuse@registrar-demo.com",
            registrant_country=None,
        ),
    )
    rdap.add_domain(
        "leakyimages-demo.net",
        rdap_domain(
            "leakyimages-demo.net",
            registrar="Offshore Names Ltd.",
            iana_id="9997",
            abuse_email="abuse@offshore-names-demo.net",
            registrant_country="PA",
        ),
    )
    rdap.add_ip(
        "127.0.0.0/8",
        rdap_ip_network(
            "127.0.0.0",
            "127.255.255.255",
            name="SANDBOX-HOSTING",
            country="DE",
            abuse_email="abuse@hoster-demo.de",
            org="Demo Hosting GmbH",
        ),
    )

    if sandbox.imap is not None:
        sandbox.smtp.listeners.append(DemoHelpdesk(sandbox.imap))

    if sandbox.cloudflare is not None:
        # The demo sites as Cloudflare zones, hosted by the demo hosting provider: a report
        # about them is answered with its name, into the reply mailbox where there is one.
        sandbox.cloudflare.add_account(DEMO_CLOUDFLARE_ACCOUNT, DEMO_CLOUDFLARE_TOKEN)
        for hostname in (PICSHARE, BILDERBUDE, LEAKY):
            sandbox.cloudflare.add_zone(
                hostname, hosting_name="Demo Hosting GmbH", hosting_email="abuse@hoster-demo.de"
            )
        if sandbox.imap is not None:
            sandbox.cloudflare.listeners.append(sandbox.imap.deliver)

    raw = shared_dir / "whois" / "raw"
    if raw.is_dir():
        sandbox.whois.load_dir(raw)
    for domain, text in SYNTHETIC_WHOIS.items():
        sandbox.whois.add(domain, text)


SYNTHETIC_WHOIS = {
    "bilderbude-demo.de": (
        "Domain: bilderbude-demo.de\r\n"
        "Nserver: ns1.hoster-demo.de\r\n"
        "Nserver: ns2.hoster-demo.de\r\n"
        "Status: connect\r\n"
        "Changed: 2024-05-02T09:12:44+02:00\r\n"
    ),
    "picshare-demo.com": (
        "   Domain Name: PICSHARE-DEMO.COM\r\n"
        "   Registrar WHOIS Server: whois.registrar-demo.com\r\n"
        "   Registrar: Demo Registrar LLC\r\n"
        "   Registrar IANA ID: 9998\r\n"
        "   Registrar Abuse Contact Email: abuse@registrar-demo.com\r\n"
        "   Registrar Abuse Contact Phone: +1.5555550100\r\n"
        "   Name Server: NS1.SANDBOX.EXAMPLE\r\n"
        ">>> Last update of whois database: 2026-01-01T00:00:00Z <<<\r\n"
    ),
    "127.0.0.1": (
        "inetnum:        127.0.0.0 - 127.255.255.255\r\n"
        "netname:        SANDBOX-HOSTING\r\n"
        "country:        DE\r\n"
        "org-name:       Demo Hosting GmbH\r\n"
        "abuse-mailbox:  abuse@hoster-demo.de\r\n"
        "source:         RIPE\r\n"
    ),
}


HELPDESK_ADDRESSES = frozenset({"abuse@hoster-demo.de"})


class DemoHelpdesk:
    """The demo hosting provider's helpdesk: it acknowledges each notice it receives, with a
    ticket number, by replying to the notice's Reply-To, in the shape of a ticket system's
    confirmation. The answer is put into the reply mailbox as the mail system would deliver it
    (from a thread: the SMTP server must not wait on IMAP)."""

    def __init__(self, imap: ImapServer) -> None:
        self.imap = imap
        self._tickets = itertools.count(4711)

    def __call__(self, captured: CapturedMessage) -> None:
        if not HELPDESK_ADDRESSES & {address.lower() for address in captured.rcpt_tos}:
            return
        raw = self.acknowledgement(captured.message, f"2026-{next(self._tickets)}")
        if raw is not None:
            threading.Thread(target=self._deliver, args=(raw,), daemon=True).start()

    def _deliver(self, raw: bytes) -> None:
        try:
            self.imap.deliver(raw)
        except Exception:  # the demo goes on without the answer
            log.exception("sandbox: the demo helpdesk's answer could not be delivered")

    @staticmethod
    def acknowledgement(notice: EmailMessage, ticket: str) -> bytes | None:
        reply_to = getaddresses([str(notice.get("Reply-To") or notice.get("From") or "")])
        if not reply_to or not reply_to[0][1]:
            return None
        answer = EmailMessage()
        answer["From"] = "Demo Hosting GmbH Support <support@hoster-demo.de>"
        answer["To"] = reply_to[0][1]
        answer["Subject"] = f"[Ticket #{ticket}] Eingangsbestätigung: {notice.get('Subject', '')}"
        answer["Date"] = format_datetime(datetime.datetime.now(datetime.UTC))
        answer["Message-ID"] = make_msgid(secrets.token_hex(4), domain="hoster-demo.de")
        if notice.get("Message-ID"):
            answer["In-Reply-To"] = str(notice["Message-ID"])
            answer["References"] = str(notice["Message-ID"])
        answer.set_content(
            "Sehr geehrte Damen und Herren,\n\n"
            "vielen Dank für Ihre Meldung. Wir haben Ihre Meldung erhalten, sie wird derzeit "
            "geprüft.\n"
            f"Ticketnummer: {ticket}\n\n"
            "Bitte geben Sie die Ticketnummer bei Rückfragen an.\n\n"
            "Ihr Support-Team der Demo Hosting GmbH\n"
        )
        return bytes(answer)
