"""The sandbox servers, checked with plain clients: what a test sees must be what it set up."""

from __future__ import annotations

import http.client
import io
import json
import smtplib
import socket
import time
from collections import Counter
from email.message import EmailMessage
from pathlib import Path

import dns.rdatatype
import dns.resolver
import pytest
from PIL import Image

from takedown.sandbox.dns import DnsServer
from takedown.sandbox.http import HttpHost, Huge, Slow, Trickle, image, redirect, status
from takedown.sandbox.images import make_image
from takedown.sandbox.rdap import (
    BAD_JSON,
    RdapServer,
    rate_limited,
    rdap_domain,
    rdap_ip_network,
)
from takedown.sandbox.smtp import SmtpServer
from takedown.sandbox.whois import (
    INVALID_UTF8,
    QUOTA_EXCEEDED,
    Delay,
    Hang,
    WhoisServer,
)
from takedown.sandbox.whois import Huge as WhoisHuge
from takedown.sandbox.whois import (
    Trickle as WhoisTrickle,
)
from takedown.sandbox.world import shared_data_dir, start_sandbox

WHOIS_RAW = shared_data_dir() / "whois" / "raw"


def get(
    server: HttpHost, path: str, host: str | None = None, method: str = "GET", timeout: float = 5
) -> tuple[int, http.client.HTTPMessage, bytes]:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=timeout)
    try:
        conn.request(method, path, headers={"Host": host} if host else {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def decode(body: bytes) -> Image.Image:
    picture = Image.open(io.BytesIO(body))
    picture.load()
    return picture


# --- HTTP image hosts ---------------------------------------------------------------------


def test_http_image_route_serves_decodable_jpeg(http_host: HttpHost) -> None:
    http_host.add_route("/photo.jpg", image(1))

    code, headers, body = get(http_host, "/photo.jpg")

    assert code == 200
    assert headers["Content-Type"] == "image/jpeg"
    assert int(headers["Content-Length"]) == len(body)
    picture = decode(body)
    assert (picture.format, picture.size) == ("JPEG", (640, 480))


def test_http_image_variants_differ_in_bytes_not_in_picture(http_host: HttpHost) -> None:
    http_host.add_route("/a.jpg", image(1))
    http_host.add_route("/b.jpg", image(1, quality=40))
    http_host.add_route("/small.png", image(1, fmt="PNG", size=(320, 240)))

    original, reencoded, small = (get(http_host, p)[2] for p in ("/a.jpg", "/b.jpg", "/small.png"))

    assert original == make_image(1)
    assert reencoded != original
    assert decode(reencoded).size == (640, 480)
    assert (decode(small).format, decode(small).size) == ("PNG", (320, 240))
    # Same picture: the mean colour barely moves; the placeholder is plainly another picture.
    assert _mean_grey(reencoded) == pytest.approx(_mean_grey(original), abs=2)
    assert abs(_mean_grey(make_image(placeholder=True)) - _mean_grey(original)) > 5


def _mean_grey(body: bytes) -> float:
    grey = decode(body).convert("L").resize((1, 1), Image.Resampling.BOX)
    return float(grey.getpixel((0, 0)))  # type: ignore[arg-type]


def test_make_image_is_deterministic_per_seed() -> None:
    make_image.cache_clear()
    first = make_image(7)
    make_image.cache_clear()

    assert make_image(7) == first
    assert make_image(8) != first


@pytest.mark.parametrize("code", [403, 404, 410, 451, 500, 503])
def test_http_status_route_answers_its_code(http_host: HttpHost, code: int) -> None:
    http_host.add_route("/x.jpg", status(code))

    assert get(http_host, "/x.jpg")[0] == code


def test_http_unknown_path_is_404(http_host: HttpHost) -> None:
    assert get(http_host, "/nothing-here.jpg")[0] == 404


@pytest.mark.parametrize(
    ("code", "location"),
    [
        (301, "http://other-host.example:8080/moved.jpg"),
        (302, "http://169.254.169.254/latest/meta-data/"),
        (302, "http://10.0.0.1/internal.jpg"),
        (301, "http://[::1]/loopback.jpg"),
    ],
)
def test_http_redirect_sends_location(http_host: HttpHost, code: int, location: str) -> None:
    http_host.add_route("/r.jpg", redirect(location, code))

    status_code, headers, _ = get(http_host, "/r.jpg")

    assert (status_code, headers["Location"]) == (code, location)


def test_http_virtual_host_route_wins_over_path_route_and_counts(http_host: HttpHost) -> None:
    url = http_host.add_route("/p.jpg", status(410), host="Gone.Example")
    http_host.add_route("/p.jpg", image(2))

    assert url == f"http://gone.example:{http_host.port}/p.jpg"
    assert get(http_host, "/p.jpg", host=f"gone.example:{http_host.port}")[0] == 410
    assert get(http_host, "/p.jpg", host="live.example")[0] == 200
    assert get(http_host, "/p.jpg?size=large", host="live.example")[0] == 200
    assert http_host.hits("/p.jpg", host="gone.example") == 1
    assert http_host.hits("/p.jpg") == 2
    assert http_host.hits("/p.jpg?size=large") == 1


def test_http_head_sends_headers_without_body(http_host: HttpHost) -> None:
    http_host.add_route("/h.jpg", image(3))

    code, headers, body = get(http_host, "/h.jpg", method="HEAD")

    assert (code, body) == (200, b"")
    assert int(headers["Content-Length"]) == len(make_image(3))


def test_http_huge_body_streams_exact_size(http_host: HttpHost) -> None:
    http_host.add_route("/huge.jpg", Huge(3_000_001))

    code, headers, body = get(http_host, "/huge.jpg")

    assert (code, headers["Content-Length"], len(body)) == (200, "3000001", 3_000_001)


def test_http_client_hanging_up_mid_body_leaves_server_serving(http_host: HttpHost) -> None:
    http_host.add_route("/huge.jpg", Huge(30 * 1024 * 1024))
    http_host.add_route("/ok.jpg", image(1))
    conn = http.client.HTTPConnection(http_host.host, http_host.port, timeout=5)
    conn.request("GET", "/huge.jpg")
    assert len(conn.getresponse().read(65536)) == 65536
    conn.close()

    assert get(http_host, "/ok.jpg")[0] == 200


def test_http_slow_route_times_out_a_hasty_client(http_host: HttpHost) -> None:
    http_host.add_route("/slow.jpg", Slow(0.5, image(1)))

    with pytest.raises(TimeoutError):
        get(http_host, "/slow.jpg", timeout=0.1)
    assert get(http_host, "/slow.jpg", timeout=2)[0] == 200


def test_http_trickle_body_never_ends(http_host: HttpHost) -> None:
    http_host.add_route("/drip.jpg", Trickle(interval=0.02, chunk=b"ab"))
    received = b""
    with socket.create_connection((http_host.host, http_host.port), timeout=1) as sock:
        sock.sendall(b"GET /drip.jpg HTTP/1.1\r\nHost: drip.example\r\n\r\n")
        deadline = time.monotonic() + 0.3
        while time.monotonic() < deadline:
            chunk = sock.recv(100)
            assert chunk != b"", "the server ended the body"
            received += chunk

    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"content-length" not in head.lower()
    assert body.startswith(b"ababab")
    assert set(body) == {ord("a"), ord("b")}


def test_http_latency_delays_every_answer(http_host: HttpHost) -> None:
    http_host.add_route("/a.jpg", image(1))
    http_host.latency = 0.05

    started = time.monotonic()
    get(http_host, "/a.jpg")

    assert time.monotonic() - started >= 0.05


# --- SMTP ---------------------------------------------------------------------------------


def _mail(to: list[str]) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "notices@takedown.test"
    message["To"] = ", ".join(to)
    message["Subject"] = "Removal request TD-1"
    message["Message-ID"] = "<td-1@takedown.test>"
    message.set_content("Please remove the image.")
    return message


def _send(server: SmtpServer, to: list[str], sender: str = "bounces+1@takedown.test") -> dict:
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        return client.send_message(_mail(to), from_addr=sender, to_addrs=to)


def test_smtp_captures_envelope_and_message(smtp_server: SmtpServer) -> None:
    refused = _send(smtp_server, ["abuse@host.example", "legal@host.example"])

    assert refused == {}
    [captured] = smtp_server.messages
    assert captured.mail_from == "bounces+1@takedown.test"
    assert captured.rcpt_tos == ("abuse@host.example", "legal@host.example")
    assert captured.message["Message-ID"] == "<td-1@takedown.test>"
    assert captured.message.get_content() == "Please remove the image.\r\n"
    assert b"Subject: Removal request TD-1" in captured.data


def test_smtp_partial_refusal_returns_refused_dict(smtp_server: SmtpServer) -> None:
    smtp_server.reject_recipient("gone@host.example")

    refused = _send(smtp_server, ["abuse@host.example", "gone@host.example"])

    assert refused == {"gone@host.example": (550, b"5.1.1 Mailbox unavailable")}
    assert smtp_server.messages[0].rcpt_tos == ("abuse@host.example",)


def test_smtp_all_recipients_refused_raises(smtp_server: SmtpServer) -> None:
    smtp_server.reject_recipient("gone@host.example")

    with pytest.raises(smtplib.SMTPRecipientsRefused) as error:
        _send(smtp_server, ["gone@host.example"])

    assert error.value.recipients == {"gone@host.example": (550, b"5.1.1 Mailbox unavailable")}
    assert smtp_server.messages == []


def test_smtp_temporary_failures_then_accepts(smtp_server: SmtpServer) -> None:
    smtp_server.fail_next(2)

    codes = []
    for _ in range(2):
        with pytest.raises(smtplib.SMTPDataError) as error:
            _send(smtp_server, ["abuse@host.example"])
        codes.append(error.value.smtp_code)

    assert codes == [451, 451]
    assert _send(smtp_server, ["abuse@host.example"]) == {}
    assert len(smtp_server.messages) == 1


def test_smtp_temporary_failure_at_rcpt_refuses_with_4xx(smtp_server: SmtpServer) -> None:
    smtp_server.fail_next(1, stage="rcpt")

    with pytest.raises(smtplib.SMTPRecipientsRefused) as error:
        _send(smtp_server, ["abuse@host.example"])

    assert error.value.recipients == {"abuse@host.example": (451, b"4.3.0 Try again later")}
    assert _send(smtp_server, ["abuse@host.example"]) == {}


def test_smtp_fail_all_answers_554_until_reset(smtp_server: SmtpServer) -> None:
    smtp_server.fail_all()

    for _ in range(3):
        with pytest.raises(smtplib.SMTPDataError) as error:
            _send(smtp_server, ["abuse@host.example"])
        assert error.value.smtp_code == 554
    smtp_server.reset()
    assert _send(smtp_server, ["abuse@host.example"]) == {}


def test_smtp_writes_eml_files(tmp_path: Path) -> None:
    with SmtpServer(eml_dir=tmp_path / "mail") as server:
        _send(server, ["abuse@host.example"])
        [captured] = server.wait_for(1)

    [eml] = (tmp_path / "mail").glob("*.eml")
    assert eml.read_bytes() == captured.data


# --- WHOIS --------------------------------------------------------------------------------


def whois_query(server: WhoisServer, query: str, timeout: float = 5) -> bytes:
    with socket.create_connection((server.host, server.port), timeout=timeout) as sock:
        sock.sendall(query.encode() + b"\r\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.shared_data
def test_whois_answers_shared_raw_response(whois_server: WhoisServer) -> None:
    if not WHOIS_RAW.is_dir():
        pytest.skip(f"shared WHOIS responses not found at {WHOIS_RAW}")
    loaded = whois_server.load_dir(WHOIS_RAW)

    assert loaded == len([p for p in WHOIS_RAW.iterdir() if p.is_file()])
    assert whois_query(whois_server, "google.de") == (WHOIS_RAW / "google.de").read_bytes()


@pytest.mark.parametrize(
    ("query", "domain"),
    [
        ("-T dn,ace example.de", "example.de"),
        ("example.jp/e", "example.jp"),
        ("=example.com", "example.com"),
        ("domain example.com", "example.com"),
        ("EXAMPLE.ORG.", "example.org"),
    ],
)
def test_whois_maps_query_forms_and_records_raw_query(
    whois_server: WhoisServer, query: str, domain: str
) -> None:
    whois_server.add(domain, f"Domain: {domain}\r\n")

    assert whois_query(whois_server, query) == f"Domain: {domain}\r\n".encode()
    assert whois_server.queries == [query]
    assert whois_server.count(domain) == 1


def test_whois_unknown_domain_answers_no_match(whois_server: WhoisServer) -> None:
    assert whois_query(whois_server, "nowhere.com") == b'No match for "NOWHERE.COM".\r\n'


def test_whois_hang_makes_client_time_out(whois_server: WhoisServer) -> None:
    whois_server.add("silent.de", Hang())

    with pytest.raises(TimeoutError):
        whois_query(whois_server, "silent.de", timeout=0.2)


def test_whois_trickle_never_finishes(whois_server: WhoisServer) -> None:
    whois_server.add("slow.de", WhoisTrickle(interval=0.02, chunk=b"%"))
    received = b""
    with socket.create_connection((whois_server.host, whois_server.port), timeout=1) as sock:
        sock.sendall(b"slow.de\r\n")
        deadline = time.monotonic() + 0.3
        while time.monotonic() < deadline:
            chunk = sock.recv(100)
            assert chunk != b"", "the server ended the answer"
            received += chunk

    assert len(received) >= 3
    assert set(received) == {ord("%")}


def test_whois_huge_answer_has_exact_size(whois_server: WhoisServer) -> None:
    whois_server.add("big.com", WhoisHuge())

    assert len(whois_query(whois_server, "big.com")) == 10 * 1024 * 1024


def test_whois_sends_bytes_unchanged(whois_server: WhoisServer) -> None:
    whois_server.add("cafe.example", INVALID_UTF8)
    whois_server.add("busy.de", QUOTA_EXCEEDED)

    answer = whois_query(whois_server, "cafe.example")
    assert answer == INVALID_UTF8
    with pytest.raises(UnicodeDecodeError):
        answer.decode()
    assert whois_query(whois_server, "busy.de") == QUOTA_EXCEEDED


def test_whois_delay_answers_late(whois_server: WhoisServer) -> None:
    whois_server.add("late.de", Delay(0.3, "Domain: late.de\r\n"))

    with pytest.raises(TimeoutError):
        whois_query(whois_server, "late.de", timeout=0.1)
    assert whois_query(whois_server, "late.de", timeout=2) == b"Domain: late.de\r\n"


# --- RDAP ---------------------------------------------------------------------------------


def rdap_get(server: RdapServer, path: str) -> tuple[int, http.client.HTTPMessage, bytes]:
    return get(server, path)


def test_rdap_domain_answer_carries_registrar_and_abuse(rdap_server: RdapServer) -> None:
    rdap_server.add_domain(
        "Example.COM",
        rdap_domain("example.com", iana_id="292", abuse_email="abuse@markmonitor.example"),
    )

    code, headers, body = rdap_get(rdap_server, "/domain/example.com")

    assert (code, headers["Content-Type"]) == (200, "application/rdap+json")
    data = json.loads(body)
    assert data["ldhName"] == "example.com"
    registrar = next(e for e in data["entities"] if "registrar" in e["roles"])
    assert registrar["publicIds"] == [{"type": "IANA Registrar ID", "identifier": "292"}]
    [abuse] = registrar["entities"]
    assert ["email", {}, "text", "abuse@markmonitor.example"] in abuse["vcardArray"][1]
    registrant = next(e for e in data["entities"] if "registrant" in e["roles"])
    assert registrant["remarks"][0]["title"] == "REDACTED FOR PRIVACY"


def test_rdap_domain_registrant_country_sits_in_adr_cc(rdap_server: RdapServer) -> None:
    rdap_server.add_domain("example.net", rdap_domain("example.net", registrant_country="PA"))

    data = json.loads(rdap_get(rdap_server, "/domain/example.net")[2])

    registrant = next(e for e in data["entities"] if "registrant" in e["roles"])
    [adr] = [p for p in registrant["vcardArray"][1] if p[0] == "adr"]
    assert adr[1] == {"cc": "PA"}


def test_rdap_ip_lookup_answers_most_specific_network(rdap_server: RdapServer) -> None:
    rdap_server.add_ip("192.0.2.0/24", rdap_ip_network("192.0.2.0", "192.0.2.255", name="BIG"))
    rdap_server.add_ip(
        "192.0.2.128/25", rdap_ip_network("192.0.2.128", "192.0.2.255", name="SMALL")
    )

    small = json.loads(rdap_get(rdap_server, "/ip/192.0.2.200")[2])
    big = json.loads(rdap_get(rdap_server, "/ip/192.0.2.5")[2])

    assert (small["name"], big["name"], big["country"]) == ("SMALL", "BIG", "DE")
    [abuse] = [e for e in big["entities"] if e["roles"] == ["abuse"]]
    assert ["email", {}, "text", "abuse@hoster.example"] in abuse["vcardArray"][1]
    assert rdap_get(rdap_server, "/ip/198.51.100.1")[0] == 404


def test_rdap_unknown_domain_is_404_with_error_object(rdap_server: RdapServer) -> None:
    code, _, body = rdap_get(rdap_server, "/domain/unknown.com")

    assert code == 404
    assert json.loads(body)["errorCode"] == 404


def test_rdap_rate_limit_answers_429_with_retry_after(rdap_server: RdapServer) -> None:
    rdap_server.add_domain("busy.com", rate_limited(retry_after=7))

    code, headers, _ = rdap_get(rdap_server, "/domain/busy.com")

    assert (code, headers["Retry-After"]) == (429, "7")
    assert rdap_server.hits("/domain/busy.com") == 1


def test_rdap_bad_json_does_not_parse(rdap_server: RdapServer) -> None:
    rdap_server.add_domain("broken.com", BAD_JSON)

    code, _, body = rdap_get(rdap_server, "/domain/broken.com")

    assert code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)


def test_rdap_latency_delays_answer(rdap_server: RdapServer) -> None:
    rdap_server.add_domain("late.com", Slow(0.3, BAD_JSON))

    with pytest.raises(TimeoutError):
        get(rdap_server, "/domain/late.com", timeout=0.1)


def test_rdap_bootstrap_files_point_at_server(rdap_server: RdapServer, tmp_path: Path) -> None:
    rdap_server.add_domain("example.com", rdap_domain("example.com"))
    rdap_server.add_domain("example.net", rdap_domain("example.net"))

    directory = rdap_server.write_bootstrap(tmp_path)

    base = [f"http://127.0.0.1:{rdap_server.port}/"]
    dns_file = json.loads((directory / "dns.json").read_text())
    assert (dns_file["version"], dns_file["services"]) == ("1.0", [[["com", "net"], base]])
    assert json.loads((directory / "ipv4.json").read_text())["services"] == [[["0.0.0.0/0"], base]]
    assert json.loads((directory / "ipv6.json").read_text())["services"] == [[["::/0"], base]]


# --- DNS ----------------------------------------------------------------------------------


def resolver_for(server: DnsServer, lifetime: float = 2) -> dns.resolver.Resolver:
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [server.host]
    resolver.port = server.port
    resolver.lifetime = lifetime
    return resolver


def test_dns_follows_cname_chain_to_addresses(dns_server: DnsServer) -> None:
    dns_server.add("www.example.com", CNAME="cdn.example.net.")
    dns_server.add("cdn.example.net", CNAME="edge.example.org")
    dns_server.add("edge.example.org", A=["127.0.0.1", "127.0.0.2"], AAAA=["::1"])

    answer = resolver_for(dns_server).resolve("www.example.com", "A")

    assert [(r.name.to_text(), r.rdtype) for r in answer.response.answer] == [
        ("www.example.com.", dns.rdatatype.CNAME),
        ("cdn.example.net.", dns.rdatatype.CNAME),
        ("edge.example.org.", dns.rdatatype.A),
    ]
    assert answer.canonical_name.to_text() == "edge.example.org."
    assert sorted(r.address for r in answer) == ["127.0.0.1", "127.0.0.2"]
    aaaa = resolver_for(dns_server).resolve("www.example.com", "AAAA", tcp=True)
    assert [r.address for r in aaaa] == ["::1"]
    assert dns_server.count("www.example.com", "A") == 1


def test_dns_unknown_name_is_nxdomain(dns_server: DnsServer) -> None:
    dns_server.add("dangling.example.com", CNAME="nowhere.example.net")

    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver_for(dns_server).resolve("unknown.example.com", "A")
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver_for(dns_server).resolve("dangling.example.com", "A")


def test_dns_known_name_without_that_type_has_no_answer(dns_server: DnsServer) -> None:
    dns_server.add("v4only.example.com", A=["127.0.0.1"])

    with pytest.raises(dns.resolver.NoAnswer):
        resolver_for(dns_server).resolve("v4only.example.com", "AAAA")


def test_dns_servfail_and_silence(dns_server: DnsServer) -> None:
    dns_server.add("broken.example.com", rcode="SERVFAIL")
    dns_server.add("silent.example.com", silent=True)

    with pytest.raises(dns.resolver.NoNameservers):
        resolver_for(dns_server).resolve("broken.example.com", "A")
    with pytest.raises(dns.resolver.LifetimeTimeout):
        resolver_for(dns_server, lifetime=0.3).resolve("silent.example.com", "A")


def test_dns_counts_every_query_by_name_and_type(dns_server: DnsServer) -> None:
    dns_server.add("www.example.com", A=["127.0.0.1"])

    resolver_for(dns_server).resolve("www.example.com", "A")
    resolver_for(dns_server).resolve("WWW.example.com", "A", tcp=True)
    with pytest.raises(dns.resolver.NoAnswer):
        resolver_for(dns_server).resolve("www.example.com", "AAAA")

    assert dns_server.counts == Counter(
        {("www.example.com.", "A"): 2, ("www.example.com.", "AAAA"): 1}
    )


def test_dns_latency_delays_every_answer_over_udp_and_tcp(dns_server: DnsServer) -> None:
    dns_server.add("slow.example.com", A=["127.0.0.1"])
    dns_server.latency = 0.2

    with pytest.raises(dns.resolver.LifetimeTimeout):
        resolver_for(dns_server, lifetime=0.1).resolve("slow.example.com", "A")
    started = time.monotonic()
    udp = resolver_for(dns_server).resolve("slow.example.com", "A")
    tcp = resolver_for(dns_server).resolve("slow.example.com", "A", tcp=True)

    assert time.monotonic() - started >= 0.4
    assert [r.address for r in udp] == [r.address for r in tcp] == ["127.0.0.1"]


# --- the demo world -----------------------------------------------------------------------


def test_start_sandbox_serves_demo_world(tmp_path: Path) -> None:
    free = {name: 0 for name in ("smtp", "whois", "dns", "http", "rdap", "imap", "cloudflare")}
    with start_sandbox(
        tmp_path, ports=free, shared_dir=tmp_path / "no-shared", imap=False
    ) as sandbox:
        env = sandbox.env()
        url = sandbox.demo_urls["live photo"]
        host = url.split("/")[2].split(":")[0]
        [address] = resolver_for(sandbox.dns).resolve(host, "A")
        code, _, body = get(sandbox.http, "/photos/1001.jpg", host=host)
        rdap_code = get(sandbox.rdap, "/domain/picshare-demo.com")[0]
        whois_answer = whois_query(sandbox.whois, "-T dn,ace bilderbude-demo.de")

    assert env == {
        "TAKEDOWN_WHOIS_SERVER": f"127.0.0.1:{sandbox.whois.port}",
        "TAKEDOWN_RDAP_BOOTSTRAP": str(tmp_path / "rdap-bootstrap"),
        "TAKEDOWN_DNS_NAMESERVERS": f"127.0.0.1:{sandbox.dns.port}",
        "EMAIL_URL": f"smtp://127.0.0.1:{sandbox.smtp.port}",
        "TAKEDOWN_ALLOW_PRIVATE_NETWORK": "1",
        "TAKEDOWN_FETCH_PORTS": f"80,443,{sandbox.http.port}",
        "TAKEDOWN_SANDBOX_HTTP_PORT": str(sandbox.http.port),
        "TAKEDOWN_CLOUDFLARE_API_URL": sandbox.cloudflare.base_url,
    }
    assert sandbox.cloudflare.base_url.startswith("http://127.0.0.1:")
    assert (address.address, code, body, rdap_code) == ("127.0.0.1", 200, make_image(1), 200)
    assert whois_answer.startswith(b"Domain: bilderbude-demo.de\r\n")
    assert json.loads((tmp_path / "rdap-bootstrap" / "dns.json").read_text())["services"][0][0] == [
        "com",
        "net",
    ]


def test_demo_helpdesk_acknowledges_a_notice_into_the_reply_mailbox(tmp_path: Path) -> None:
    from takedown.replies.mail import parse_message
    from takedown.sandbox.imap import dovecot_binary

    if dovecot_binary() is None:
        pytest.skip("dovecot is not installed")
    free = {name: 0 for name in ("smtp", "whois", "dns", "http", "rdap", "imap", "cloudflare")}
    with start_sandbox(tmp_path, ports=free, shared_dir=tmp_path / "no-shared") as sandbox:
        assert sandbox.imap is not None
        assert sandbox.env()["TAKEDOWN_IMAP_URL"] == sandbox.imap.url()
        notice = (
            "From: takedown@org.example\r\nTo: abuse@hoster-demo.de\r\n"
            "Reply-To: Kim <replies+00ff@org.example>\r\nMessage-ID: <n-1@org.example>\r\n"
            "Subject: DSA-Meldung [TD-DEMO-0001]\r\n\r\nBitte entfernen.\r\n"
        )
        with smtplib.SMTP(sandbox.smtp.host, sandbox.smtp.port) as client:
            client.sendmail("bounces+1@org.example", ["abuse@hoster-demo.de"], notice)
            client.sendmail("bounces+1@org.example", ["contact@laion.ai"], notice)
        deadline = time.monotonic() + 10
        while not (answers := sandbox.imap.messages()) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        answers = sandbox.imap.messages()

    [answer] = answers
    mail = parse_message(answer)
    assert (mail.recipients, mail.thread_ids) == (
        ["replies+00ff@org.example"],
        ["<n-1@org.example>"],
    )
    assert mail.subject == "[Ticket #2026-4711] Eingangsbestätigung: DSA-Meldung [TD-DEMO-0001]"
    assert "Ticketnummer: 2026-4711" in mail.text
