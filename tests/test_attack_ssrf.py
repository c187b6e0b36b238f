"""The SSRF corpus: every way a link in a case, a redirect or a DNS answer has been known to
reach inside, fired at the fetcher (takedown/checks/fetch.py).

Two sandbox servers on loopback: the "public" image host, whose exact address and port the
tests let through (TAKEDOWN_FETCH_ALLOWED_ENDPOINTS), and an "internal" service on another
port that nothing may reach. Every probe must end in a refusal, with the internal service
counting zero requests. The whole module also runs again inside a network namespace that has
only loopback (test_corpus_in_a_network_namespace_with_loopback_only): a regression that lets
a probe through cannot leave the machine even then.
"""

from __future__ import annotations

import gzip
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_django.fixtures import Settings

from takedown.checks.fetch import fetch
from takedown.sandbox.dns import DnsServer
from takedown.sandbox.http import HttpHost, Huge, Response, Slow, Trickle, redirect

ROOT = Path(__file__).resolve().parents[1]
IN_NAMESPACE = os.environ.get("TAKEDOWN_TEST_NETNS") == "1"


@pytest.fixture(scope="module")
def internal() -> Iterator[HttpHost]:
    """The service an attacker wants to reach (a database console, a metadata service)."""
    server = HttpHost()
    server.start()
    server.add_route("/secret", Response(b"internal secret", "text/plain"))
    yield server
    server.stop()


@pytest.fixture
def public(
    http_host: HttpHost, dns_server: DnsServer, internal: HttpHost, settings: Settings
) -> HttpHost:
    settings.TAKEDOWN_ALLOW_PRIVATE_NETWORK = False
    settings.TAKEDOWN_FETCH_ALLOWED_ENDPOINTS = [f"127.0.0.1:{http_host.port}"]
    settings.TAKEDOWN_FETCH_PORTS = [80, 443, http_host.port, internal.port]
    settings.TAKEDOWN_DNS_NAMESERVERS = [dns_server.address]
    settings.TAKEDOWN_DNS_TIMEOUT = 2
    settings.TAKEDOWN_FETCH_CONNECT_TIMEOUT = 1.0
    settings.TAKEDOWN_FETCH_READ_TIMEOUT = 1.0
    settings.TAKEDOWN_FETCH_DEADLINE = 3.0
    settings.TAKEDOWN_FETCH_MAX_BYTES = 64 * 1024
    # Resolvers answer "localhost" with loopback (some public ones do too).
    dns_server.add("localhost", A=["127.0.0.1"], AAAA=["::1"])
    return http_host


# Loopback, private, link-local, metadata, CGNAT and reserved addresses, in every spelling a
# URL parser or resolver has been known to accept. {p} is the internal service's port.
ADDRESS_SPELLINGS = [
    "127.0.0.1",
    "127.0.0.2",
    "127.1",
    "127.0.1",
    "2130706433",
    "0x7f000001",
    "0x7f.0.0.1",
    "0x7f.0x0.0x0.0x1",
    "0177.0.0.1",
    "0177.0000.0000.0001",
    "017700000001",
    "127.000.000.001",
    "0",
    "0.0.0.0",
    "[::1]",
    "[0:0:0:0:0:0:0:1]",
    "[::]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[0:0:0:0:0:ffff:127.0.0.1]",
    "[::127.0.0.1]",
    "[64:ff9b::7f00:1]",  # NAT64 (well-known prefix) of 127.0.0.1
    "[64:ff9b::a9fe:a9fe]",  # NAT64 of 169.254.169.254
    "[64:ff9b:1::a00:1]",  # local-use NAT64 prefix
    "[2002:7f00:1::]",  # 6to4 of 127.0.0.1
    "[2001:0:4136:e378:8000:63bf:80ff:fffe]",  # Teredo of 127.0.0.1
    "[fe80::1]",
    "[fc00::1]",
    "[fd00:ec2::254]",  # AWS metadata over IPv6
    "169.254.169.254",
    "0xa9fea9fe",
    "2852039166",  # 169.254.169.254 in decimal
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",
    "192.0.0.1",
    "198.18.0.1",
    "224.0.0.1",
    "255.255.255.255",
    "localhost",
    "localhost.",
    "LOCALHOST",
]

# A name's DNS answer that points inside.
HOSTILE_ANSWERS = [
    {"A": ["127.0.0.1"]},
    {"A": ["10.1.2.3"]},
    {"A": ["169.254.169.254"]},
    {"A": ["0.0.0.0"]},
    {"A": ["93.184.216.34", "127.0.0.1"]},  # one public, one inside: refused as a whole
    {"AAAA": ["::1"]},
    {"AAAA": ["::ffff:127.0.0.1"]},
    {"AAAA": ["64:ff9b::7f00:1"]},
    {"AAAA": ["fe80::1"]},
    {"AAAA": ["fd00::1"]},
]

SCHEMES = [
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_INFO",
    "dict://127.0.0.1:11211/stat",
    "ftp://127.0.0.1/",
    "ldap://127.0.0.1/",
    "jar:http://127.0.0.1/x.jar!/",
    "data:text/plain,hello",
    "javascript:alert(1)",
    "netdoc:///etc/passwd",
    "//127.0.0.1/secret",
]


def assert_refused(result, internal: HttpHost, *errors: str) -> None:
    assert result.error in errors, (result.error, result.message)
    assert result.body is None
    assert internal.hits("/secret") == 0


@pytest.mark.parametrize("host", ADDRESS_SPELLINGS)
def test_address_spelling_is_refused(public: HttpHost, internal: HttpHost, host: str) -> None:
    result = fetch(f"http://{host}:{internal.port}/secret")

    assert_refused(result, internal, "refused_address", "bad_url")
    assert result.elapsed < 1  # refused before connecting


@pytest.mark.parametrize("host", ADDRESS_SPELLINGS)
def test_redirect_to_address_spelling_is_refused(
    public: HttpHost, internal: HttpHost, host: str
) -> None:
    target = f"http://{host}:{internal.port}/secret"
    # Two hops on the public host first: a chain, not a single redirect.
    public.add_route("/hop2", redirect(target, 307))
    public.add_route("/hop1", redirect("/hop2", 301))
    url = public.add_route("/start", redirect(public.url_for("/hop1")))

    result = fetch(url)

    assert_refused(result, internal, "refused_address", "bad_url")
    assert len(result.redirects) == 3
    assert public.hits("/hop2") == 1


@pytest.mark.parametrize(
    "answer", HOSTILE_ANSWERS, ids=lambda a: ",".join(ip for ips in a.values() for ip in ips)
)
def test_dns_answer_pointing_inside_is_refused(
    public: HttpHost, internal: HttpHost, dns_server: DnsServer, answer: dict
) -> None:
    dns_server.add("images.attacker.test", **answer)

    direct = fetch(f"http://images.attacker.test:{internal.port}/secret")
    url = public.add_route(
        "/start", redirect(f"http://images.attacker.test:{internal.port}/secret")
    )
    redirected = fetch(url)

    assert_refused(direct, internal, "refused_address")
    assert_refused(redirected, internal, "refused_address")


@pytest.mark.parametrize("url", SCHEMES)
def test_non_http_scheme_is_refused(public: HttpHost, internal: HttpHost, url: str) -> None:
    direct = fetch(url)
    redirected = fetch(public.add_route("/start", redirect(url)))

    assert_refused(direct, internal, "bad_scheme", "bad_url")
    assert_refused(redirected, internal, "bad_scheme", "bad_url", "refused_address")


@pytest.mark.parametrize(
    "template",
    [
        "http://public.test@127.0.0.1:{p}/secret",
        "http://public.test:{pp}@127.0.0.1:{p}/secret",
        "http://127.0.0.1:{p}#@public.test:{pp}/",
        "http://127.0.0.1:{p}?@public.test:{pp}/",
        "http://user:pass@[::1]:{p}/secret",
        "http://public.test%40127.0.0.1:{p}/secret",
        "http://127.0.0.1%2523@public.test:{pp}/",
        "http://127.0.0.1:{p}\\@public.test:{pp}/",
        "http://public.test\\@127.0.0.1:{p}/secret",
        "http:/127.0.0.1:{p}/secret",
        "http:127.0.0.1:{p}/secret",
    ],
)
def test_userinfo_tricks_never_reach_inside(
    public: HttpHost, internal: HttpHost, dns_server: DnsServer, template: str
) -> None:
    dns_server.add("public.test", A=["127.0.0.1"])  # the public host's address, but...
    url = template.format(p=internal.port, pp=public.port)

    result = fetch(url)

    # ...its port is the only one let through: whatever the parser decides, the internal
    # service is never asked.
    assert internal.hits("/secret") == 0
    assert result.body in (None, b"")


def test_fetch_sends_no_credentials_from_userinfo(public: HttpHost, dns_server: DnsServer) -> None:
    seen: list[str | None] = []

    class Echo:
        def serve(self, handler) -> None:
            seen.append(handler.headers.get("Authorization"))
            Response(b"ok", "text/plain").serve(handler)

    public.add_route("/who", Echo())

    fetch(f"http://admin:hunter2@127.0.0.1:{public.port}/who")

    assert seen in ([], [None])


# --- bombs and hostile servers -----------------------------------------------------------------


def test_gzip_bomb_is_kept_as_served_never_inflated(public: HttpHost) -> None:
    bomb = gzip.compress(b"\0" * (50 * 1024 * 1024), 9)  # 50 MB of zeros in ~50 kB
    url = public.add_route(
        "/bomb.jpg", Response(bomb, "image/jpeg", 200, (("Content-Encoding", "gzip"),))
    )

    result = fetch(url)

    assert len(bomb) < 64 * 1024
    assert result.body == bomb


def test_endless_body_is_cut_at_the_cap(public: HttpHost) -> None:
    url = public.add_route("/huge.jpg", Huge(size=10 * 1024 * 1024, declare_length=False))

    result = fetch(url)

    assert (result.error, result.truncated, len(result.body or b"")) == (
        "too_large",
        True,
        64 * 1024,
    )


def test_declared_huge_body_is_not_read(public: HttpHost) -> None:
    url = public.add_route("/huge.jpg", Huge(size=10 * 1024**3))

    result = fetch(url)

    assert (result.error, result.body) == ("too_large", None)
    assert result.elapsed < 1


def test_trickling_server_is_cut_at_the_deadline(public: HttpHost) -> None:
    url = public.add_route("/trickle.jpg", Trickle(interval=0.2))

    result = fetch(url)

    assert result.error == "timeout"
    assert 2.5 < result.elapsed < 4.5


def test_server_slow_to_answer_hits_read_timeout(public: HttpHost) -> None:
    url = public.add_route("/slow.jpg", Slow(5))

    result = fetch(url)

    assert result.error == "timeout"
    assert result.elapsed < 2.5


@pytest.fixture
def silent(settings: Settings) -> Iterator[int]:
    """A port that accepts connections and never says a word."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    settings.TAKEDOWN_FETCH_ALLOWED_ENDPOINTS = [f"127.0.0.1:{port}"]
    settings.TAKEDOWN_FETCH_PORTS = [port]
    yield port
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


def test_silent_server_hits_read_timeout(public: HttpHost, silent: int) -> None:
    result = fetch(f"http://127.0.0.1:{silent}/x.jpg")

    assert result.error == "timeout"
    assert result.elapsed < 2.5


# --- the same corpus with nowhere to go ----------------------------------------------------------


def _namespace_usable() -> str:
    """ "" if `unshare -n` works here, else why not."""
    if not shutil.which("unshare") or not shutil.which("ip"):
        return "unshare or ip not installed"
    probe = subprocess.run(
        ["unshare", "-n", "sh", "-c", "ip link set lo up"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        return f"unshare -n failed: {probe.stderr.strip()} (needs root or user namespaces)"
    return ""


@pytest.mark.skipif(IN_NAMESPACE, reason="already inside the namespace")
def test_corpus_in_a_network_namespace_with_loopback_only(tmp_path: Path) -> None:
    problem = _namespace_usable()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the SSRF corpus in a network namespace: {problem}")
        pytest.skip(problem)
    # SQLite in a fresh var/ and the in-memory broker: PostgreSQL and Redis are outside.
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "CELERY_BROKER_URL", "TAKEDOWN_CACHE_URL")
        and not key.startswith("PYTEST_")
    }
    env.update(TAKEDOWN_TEST_NETNS="1", TAKEDOWN_VAR_DIR=str(tmp_path))
    script = (
        "ip link set lo up && "
        f"ip -o link | grep -cv ': lo:' | grep -qx 0 && "
        f"exec {sys.executable} -m pytest -q -p no:cacheprovider {Path(__file__)}"
    )

    run = subprocess.run(
        ["unshare", "-n", "sh", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )

    tail = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert " passed" in tail and "failed" not in tail, tail
