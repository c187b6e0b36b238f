"""The SSRF-safe fetcher against the sandbox HTTP host and DNS server.

TAKEDOWN_ALLOW_PRIVATE_NETWORK stays off in these tests: the sandbox's one address and port
is let through by TAKEDOWN_FETCH_ALLOWED_ENDPOINTS, so every other private address (and the
same address in another spelling) must still be refused. Tests marked "control" flip the
allowance on to show that the refused request would otherwise have reached the sandbox.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import pytest
from pytest_django.fixtures import Settings

from takedown.checks.fetch import fetch, fetch_many
from takedown.sandbox.base import free_port
from takedown.sandbox.dns import DnsServer
from takedown.sandbox.http import Handler, HttpHost, Huge, Response, Slow, Trickle, image, redirect
from takedown.sandbox.http import status as status_route

USER_AGENT = "TakedownTest/1.0 (+https://takedown.invalid/bot)"


@pytest.fixture
def sandbox(http_host: HttpHost, dns_server: DnsServer, settings: Settings) -> HttpHost:
    settings.TAKEDOWN_ALLOW_PRIVATE_NETWORK = False
    settings.TAKEDOWN_FETCH_ALLOWED_ENDPOINTS = [f"127.0.0.1:{http_host.port}"]
    settings.TAKEDOWN_FETCH_PORTS = [80, 443, http_host.port]
    settings.TAKEDOWN_DNS_NAMESERVERS = [dns_server.address]
    settings.TAKEDOWN_DNS_TIMEOUT = 2
    settings.TAKEDOWN_FETCH_CONNECT_TIMEOUT = 1.0
    settings.TAKEDOWN_FETCH_READ_TIMEOUT = 2.0
    settings.TAKEDOWN_FETCH_DEADLINE = 5.0
    settings.TAKEDOWN_USER_AGENT = USER_AGENT
    for name in ("a.test", "b.test"):
        dns_server.add(name, A=["127.0.0.1"])
    return http_host


@dataclass
class Echo:
    """Records the request headers of every request, then answers like `then`."""

    then: Response = field(default_factory=lambda: Response(b"ok", "text/plain"))
    seen: list[dict[str, str]] = field(default_factory=list)

    def serve(self, handler: Handler) -> None:
        self.seen.append(dict(handler.headers.items()))
        self.then.serve(handler)


@dataclass
class Crowd:
    """Counts requests in flight at once, per virtual host and overall, and when each began."""

    seconds: float
    lock: threading.Lock = field(default_factory=threading.Lock)
    now: dict[str, int] = field(default_factory=dict)
    peak: dict[str, int] = field(default_factory=dict)
    starts: list[float] = field(default_factory=list)

    def serve(self, handler: Handler) -> None:
        host = handler.headers["Host"].split(":")[0]
        with self.lock:
            self.starts.append(time.monotonic())
            for key in (host, "*"):
                self.now[key] = self.now.get(key, 0) + 1
                self.peak[key] = max(self.peak.get(key, 0), self.now[key])
        time.sleep(self.seconds)
        with self.lock:
            for key in (host, "*"):
                self.now[key] -= 1
        Response(b"ok", "text/plain").serve(handler)


# --- answers --------------------------------------------------------------------------------


def test_fetch_image_returns_bytes_ip_and_key_headers(sandbox: HttpHost) -> None:
    picture = image(3)
    url = sandbox.add_route("/img.jpg", picture)

    result = fetch(url)

    assert (result.error, result.status, result.final_url) == (None, 200, url)
    assert result.body == picture.body
    assert (result.truncated, result.redirects, result.resolved_ip) == (False, [], "127.0.0.1")
    assert result.headers["content-type"] == "image/jpeg"
    assert result.headers["content-length"] == str(len(picture.body))
    assert sorted(result.headers) == ["content-length", "content-type", "server"]
    assert 0 < result.elapsed < 2


def test_fetch_404_has_status_and_no_body(sandbox: HttpHost) -> None:
    url = sandbox.add_route("/gone.jpg", status_route(404))

    result = fetch(url)

    assert (result.error, result.status, result.body) == (None, 404, None)
    assert sandbox.hits("/gone.jpg") == 1


def test_fetch_follows_redirect_chain_and_records_it(sandbox: HttpHost) -> None:
    sandbox.add_route("/r1", redirect("/r2", 301), host="a.test")
    sandbox.add_route("/r2", redirect(f"http://a.test:{sandbox.port}/img.jpg", 307), host="a.test")
    final = sandbox.add_route("/img.jpg", image(1), host="a.test")

    result = fetch(f"http://a.test:{sandbox.port}/r1")

    assert (result.error, result.status, result.final_url) == (None, 200, final)
    assert result.redirects == [f"http://a.test:{sandbox.port}/r2", final]
    assert result.body == image(1).body
    assert [sandbox.hits(path, "a.test") for path in ("/r1", "/r2", "/img.jpg")] == [1, 1, 1]


def test_fetch_redirect_to_other_host_resolves_and_checks_it(
    sandbox: HttpHost, dns_server: DnsServer
) -> None:
    target = sandbox.add_route("/moved.jpg", image(2), host="b.test")
    sandbox.add_route("/old.jpg", redirect(target), host="a.test")

    result = fetch(f"http://a.test:{sandbox.port}/old.jpg")

    assert (result.error, result.status, result.final_url, result.redirects) == (
        None,
        200,
        target,
        [target],
    )
    assert dns_server.count("b.test", "A") == 1
    assert sandbox.hits("/moved.jpg", "b.test") == 1


def _refused_targets(port: int) -> list[str]:
    return [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/target",
        f"http://[::1]:{port}/target",
        f"http://[::ffff:127.0.0.1]:{port}/target",  # the sandbox's address, IPv4-mapped
        f"http://2130706433:{port}/target",  # 127.0.0.1 in decimal
        f"http://0x7f.0.0.1:{port}/target",
        f"http://127.1:{port}/target",
        f"http://rebind.test:{port}/target",  # a name for the sandbox, IPv4-mapped in AAAA
    ]


@pytest.mark.parametrize("index", range(8))
def test_fetch_redirect_to_private_address_is_refused_without_request(
    sandbox: HttpHost, dns_server: DnsServer, index: int
) -> None:
    dns_server.add("rebind.test", AAAA=["::ffff:127.0.0.1"])
    target = _refused_targets(sandbox.port)[index]
    sandbox.add_route("/target", Response(b"secret", "text/plain"))
    url = sandbox.add_route("/start", redirect(target))

    result = fetch(url)

    assert (result.error, result.status, result.body) == ("refused_address", None, None)
    assert (result.redirects, result.final_url) == ([target], target)
    assert sandbox.hits("/start") == 1
    assert sandbox.hits("/target") == 0
    assert result.elapsed < 1  # refused before connecting: no connect timeout spent


@pytest.mark.parametrize(
    "target", ["http://[::ffff:127.0.0.1]:{port}/target", "http://rebind.test:{port}/target"]
)
def test_fetch_redirect_to_private_address_reaches_it_when_allowed_control(
    sandbox: HttpHost, dns_server: DnsServer, settings: Settings, target: str
) -> None:
    # Control for the test above: these targets do reach the sandbox once private addresses
    # are allowed, so a zero hit count there means the fetcher refused them.
    settings.TAKEDOWN_ALLOW_PRIVATE_NETWORK = True
    dns_server.add("rebind.test", AAAA=["::ffff:127.0.0.1"])
    sandbox.add_route("/target", Response(b"secret", "text/plain"))
    url = sandbox.add_route("/start", redirect(target.format(port=sandbox.port)))

    result = fetch(url)

    assert (result.error, result.status, result.body) == (None, 200, b"secret")
    assert sandbox.hits("/target") == 1


@pytest.mark.parametrize("host", ["2130706433", "0x7f000001", "127.1", "0177.0.0.1"])
def test_fetch_numeric_ipv4_host_is_refused_before_dns(
    sandbox: HttpHost, dns_server: DnsServer, host: str
) -> None:
    sandbox.add_route("/target", Response(b"secret", "text/plain"))

    result = fetch(f"http://{host}:{sandbox.port}/target")

    assert result.error == "refused_address"
    assert sandbox.hits("/target") == 0
    assert dns_server.counts == {}


@pytest.mark.parametrize("allowed", [False, True])
def test_fetch_name_resolving_to_loopback_is_refused_unless_allowed(
    sandbox: HttpHost, dns_server: DnsServer, settings: Settings, allowed: bool
) -> None:
    settings.TAKEDOWN_FETCH_ALLOWED_ENDPOINTS = []
    settings.TAKEDOWN_ALLOW_PRIVATE_NETWORK = allowed
    dns_server.add("evil.test", A=["127.0.0.1"])
    sandbox.add_route("/target", Response(b"secret", "text/plain"))

    result = fetch(f"http://evil.test:{sandbox.port}/target")

    assert result.error == (None if allowed else "refused_address")
    assert sandbox.hits("/target") == (1 if allowed else 0)
    assert dns_server.count("evil.test", "A") == 1


def test_fetch_loopback_literal_is_refused_without_allowances(
    sandbox: HttpHost, settings: Settings
) -> None:
    settings.TAKEDOWN_FETCH_ALLOWED_ENDPOINTS = []
    url = sandbox.add_route("/target", Response(b"secret", "text/plain"))

    result = fetch(url)

    assert (result.error, result.message) == (
        "refused_address",
        "127.0.0.1 is not a public address",
    )
    assert sandbox.hits("/target") == 0


def test_fetch_name_with_one_private_address_among_public_is_refused(
    sandbox: HttpHost, dns_server: DnsServer
) -> None:
    dns_server.add("mixed.test", A=["127.0.0.1", "10.1.2.3"])
    sandbox.add_route("/target", Response(b"secret", "text/plain"))

    result = fetch(f"http://mixed.test:{sandbox.port}/target")

    assert (result.error, result.message) == ("refused_address", "10.1.2.3 is not a public address")
    assert sandbox.hits("/target") == 0


@pytest.mark.parametrize("hops", [5, 6])
def test_fetch_redirects_stop_after_five(sandbox: HttpHost, hops: int) -> None:
    for n in range(hops):
        sandbox.add_route(f"/r{n}", redirect(f"/r{n + 1}"))
    sandbox.add_route(f"/r{hops}", Response(b"end", "text/plain"))

    result = fetch(sandbox.url_for("/r0"))

    assert result.redirects == [sandbox.url_for(f"/r{n}") for n in range(1, hops + 1)]
    if hops == 5:
        assert (result.error, result.status, result.body) == (None, 200, b"end")
        assert sandbox.hits("/r5") == 1
    else:
        assert (result.error, result.status) == ("too_many_redirects", None)
        assert [sandbox.hits(f"/r{n}") for n in range(7)] == [1, 1, 1, 1, 1, 1, 0]


# --- limits ---------------------------------------------------------------------------------


def test_fetch_slow_answer_hits_read_timeout(sandbox: HttpHost, settings: Settings) -> None:
    settings.TAKEDOWN_FETCH_READ_TIMEOUT = 0.3
    url = sandbox.add_route("/slow", Slow(3.0))

    result = fetch(url)

    assert (result.error, result.message, result.status) == ("timeout", "read timed out", None)
    assert 0.3 <= result.elapsed < 1.0


def test_fetch_slow_answer_hits_deadline(sandbox: HttpHost, settings: Settings) -> None:
    settings.TAKEDOWN_FETCH_DEADLINE = 0.5
    url = sandbox.add_route("/slow", Slow(3.0))

    result = fetch(url)

    assert (result.error, result.message) == (
        "timeout",
        "no complete answer within the 0.5 s deadline",
    )
    assert 0.5 <= result.elapsed < 1.0


def test_fetch_endless_body_stops_at_deadline(sandbox: HttpHost, settings: Settings) -> None:
    settings.TAKEDOWN_FETCH_DEADLINE = 0.5
    url = sandbox.add_route("/endless.jpg", Trickle(interval=0.02))

    result = fetch(url)

    assert (result.error, result.status, result.body) == ("timeout", 200, None)
    assert 0.5 <= result.elapsed < 1.0


@pytest.mark.parametrize("declare_length", [False, True])
def test_fetch_body_over_cap_is_truncated(
    sandbox: HttpHost, settings: Settings, declare_length: bool
) -> None:
    cap = 1024 * 1024
    settings.TAKEDOWN_FETCH_MAX_BYTES = cap
    url = sandbox.add_route("/huge.jpg", Huge(30 * 1024 * 1024, declare_length=declare_length))

    result = fetch(url)

    assert (result.error, result.status, result.truncated) == ("too_large", 200, True)
    # A declared length over the cap is refused unread; an undeclared one is read to the cap.
    assert result.body == (None if declare_length else b"\0" * cap)
    assert result.elapsed < 2


def test_fetch_body_exactly_at_cap_is_complete(sandbox: HttpHost, settings: Settings) -> None:
    settings.TAKEDOWN_FETCH_MAX_BYTES = 1000
    url = sandbox.add_route("/edge.jpg", Response(b"x" * 1000, "image/jpeg"))

    result = fetch(url)

    assert (result.error, result.truncated, result.body) == (None, False, b"x" * 1000)


@pytest.mark.parametrize(
    "url",
    ["ftp://a.test/x.jpg", "file:///etc/passwd", "gopher://a.test/", "data:image/png;base64,AA=="],
)
def test_fetch_non_http_scheme_is_refused(sandbox: HttpHost, url: str) -> None:
    result = fetch(url)

    assert (result.error, result.status, result.final_url) == ("bad_scheme", None, url)


def test_fetch_port_outside_setting_is_refused(sandbox: HttpHost, settings: Settings) -> None:
    settings.TAKEDOWN_FETCH_PORTS = [80, 443]
    url = sandbox.add_route("/img.jpg", image(1))

    result = fetch(url)

    assert (result.error, result.message) == ("bad_port", f"port {sandbox.port} is not allowed")
    assert sandbox.hits("/img.jpg") == 0


def test_fetch_redirect_to_other_port_is_refused(sandbox: HttpHost) -> None:
    url = sandbox.add_route("/start", redirect("http://a.test:8080/img.jpg"))

    result = fetch(url)

    assert (result.error, result.redirects) == ("bad_port", ["http://a.test:8080/img.jpg"])


@pytest.mark.parametrize("location", ["http://[::1", "http://a.test:99999/x.jpg"])
def test_fetch_unparseable_location_is_bad_url(sandbox: HttpHost, location: str) -> None:
    url = sandbox.add_route("/start", redirect(location))

    result = fetch(url)

    # The chain ends at the redirect whose Location cannot be followed.
    assert (result.error, result.status, result.redirects) == ("bad_url", 302, [])
    assert result.final_url == url


def test_fetch_unknown_name_is_nxdomain(sandbox: HttpHost) -> None:
    result = fetch(f"http://gone.test:{sandbox.port}/img.jpg")

    assert (result.error, result.message) == ("dns_nxdomain", "the name does not exist")


def test_fetch_servfail_is_dns_error(sandbox: HttpHost, dns_server: DnsServer) -> None:
    dns_server.add("broken.test", rcode="SERVFAIL")

    result = fetch(f"http://broken.test:{sandbox.port}/img.jpg")

    assert (result.error, result.message) == ("dns_error", "no server could answer")


def test_fetch_closed_port_is_connection_error(sandbox: HttpHost, settings: Settings) -> None:
    port = free_port()
    settings.TAKEDOWN_FETCH_PORTS = [port]
    settings.TAKEDOWN_FETCH_ALLOWED_ENDPOINTS = [f"127.0.0.1:{port}"]

    result = fetch(f"http://127.0.0.1:{port}/img.jpg")

    assert result.error == "connection"
    assert result.message.startswith("could not connect (")


# --- what the fetcher sends -----------------------------------------------------------------


def test_fetch_ignores_proxy_environment(
    sandbox: HttpHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, dead)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    url = sandbox.add_route("/img.jpg", image(1), host="a.test")

    result = fetch(url)

    assert (result.error, result.status) == (None, 200)
    assert sandbox.hits("/img.jpg", "a.test") == 1


def test_fetch_sends_user_agent_and_asks_for_identity_encoding(sandbox: HttpHost) -> None:
    echo = Echo()
    url = sandbox.add_route("/echo", echo, host="a.test")

    fetch(url)

    assert len(echo.seen) == 1
    assert echo.seen[0]["User-Agent"] == USER_AGENT
    assert echo.seen[0]["Accept-Encoding"] == "identity"
    assert echo.seen[0]["Host"] == f"a.test:{sandbox.port}"


def test_fetch_sends_no_cookie_after_set_cookie(sandbox: HttpHost) -> None:
    echo = Echo()
    sandbox.add_route("/echo", echo, host="a.test")
    set_cookie = (("Set-Cookie", "session=abc; Path=/"),)
    login = Response(b"", "text/plain", 302, (("Location", "/echo"), *set_cookie))
    first = sandbox.add_route("/login", login, host="a.test")
    cookie_page = sandbox.add_route("/cookie", Response(b"hi", "text/plain", 200, set_cookie))

    # One session: the redirect after Set-Cookie, and a later request to the same host.
    results = fetch_many([first, cookie_page, sandbox.url_for("/echo", "a.test")], per_host=1)

    assert [result.status for result in results] == [200, 200, 200]
    assert len(echo.seen) == 2
    assert [headers.get("Cookie") for headers in echo.seen] == [None, None]


# --- many at once ---------------------------------------------------------------------------


def test_fetch_many_limits_concurrency_per_host(sandbox: HttpHost, dns_server: DnsServer) -> None:
    crowd = Crowd(seconds=0.15)
    sandbox.add_route("/crowd", crowd)
    urls = [f"http://{host}:{sandbox.port}/crowd?{n}" for n in range(6) for host in ("a", "b")]
    urls = [url.replace("://a:", "://a.test:").replace("://b:", "://b.test:") for url in urls]

    results = fetch_many(urls, per_host=2)

    assert [result.final_url for result in results] == urls
    assert {result.status for result in results} == {200}
    assert crowd.peak == {"a.test": 2, "b.test": 2, "*": 4}
    assert (dns_server.count("a.test", "A"), dns_server.count("b.test", "A")) == (1, 1)


def test_fetch_many_spaces_requests_to_one_host(sandbox: HttpHost) -> None:
    crowd = Crowd(seconds=0.0)
    sandbox.add_route("/crowd", crowd)
    urls = [sandbox.url_for(f"/crowd?{n}", "a.test") for n in range(3)]

    results = fetch_many(urls, per_host=2, politeness_delay=0.2)

    assert {result.status for result in results} == {200}
    gaps = [later - earlier for earlier, later in zip(crowd.starts, crowd.starts[1:], strict=False)]
    assert len(gaps) == 2
    assert all(0.19 <= gap < 0.4 for gap in gaps), gaps


def test_fetch_many_rejects_zero_per_host(sandbox: HttpHost) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        fetch_many([sandbox.url_for("/x")], per_host=0)
