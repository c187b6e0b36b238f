"""pytest plugin: the sandbox servers as fixtures (enable with pytest_plugins in conftest).

Each server starts once per session on a free loopback port (`*_session` fixtures); the
function-scoped fixtures hand out the same server reset to an empty state, so tests are
fast and still independent. Nothing here patches product code: point settings at
`server.address` / `server.url` / the bootstrap directory instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from takedown.sandbox.cloudflare import CloudflareApi
from takedown.sandbox.dns import DnsServer
from takedown.sandbox.http import HttpHost
from takedown.sandbox.imap import ImapServer, dovecot_binary
from takedown.sandbox.rdap import RdapServer
from takedown.sandbox.smtp import SmtpServer
from takedown.sandbox.whois import WhoisServer


@pytest.fixture(scope="session")
def http_host_session() -> Iterator[HttpHost]:
    with HttpHost() as server:
        yield server


@pytest.fixture(scope="session")
def smtp_server_session() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture(scope="session")
def whois_server_session() -> Iterator[WhoisServer]:
    with WhoisServer() as server:
        yield server


@pytest.fixture(scope="session")
def rdap_server_session() -> Iterator[RdapServer]:
    with RdapServer() as server:
        yield server


@pytest.fixture(scope="session")
def dns_server_session() -> Iterator[DnsServer]:
    with DnsServer() as server:
        yield server


@pytest.fixture
def http_host(http_host_session: HttpHost) -> HttpHost:
    http_host_session.reset()
    return http_host_session


@pytest.fixture
def smtp_server(smtp_server_session: SmtpServer) -> SmtpServer:
    smtp_server_session.reset()
    return smtp_server_session


@pytest.fixture
def whois_server(whois_server_session: WhoisServer) -> WhoisServer:
    whois_server_session.reset()
    return whois_server_session


@pytest.fixture
def rdap_server(rdap_server_session: RdapServer) -> RdapServer:
    rdap_server_session.reset()
    return rdap_server_session


@pytest.fixture
def dns_server(dns_server_session: DnsServer) -> DnsServer:
    dns_server_session.reset()
    return dns_server_session


@pytest.fixture
def rdap_bootstrap(rdap_server: RdapServer, tmp_path: Path) -> Path:
    """A directory of IANA-format bootstrap files (dns.json, ipv4.json, ipv6.json) that send
    .com, .net, .org, .de and every IP lookup to `rdap_server`."""
    return rdap_server.write_bootstrap(tmp_path / "rdap-bootstrap", ["com", "net", "org", "de"])


@pytest.fixture(scope="session")
def imap_server_session() -> Iterator[ImapServer]:
    if dovecot_binary() is None:
        # CI installs it (scripts/system-deps.sh); without it these tests cannot run.
        if os.environ.get("CI"):
            pytest.fail("dovecot is not installed: scripts/system-deps.sh install")
        pytest.skip("dovecot is not installed (apt-get install dovecot-imapd)")
    with ImapServer() as server:
        yield server


@pytest.fixture
def imap_server(imap_server_session: ImapServer) -> ImapServer:
    imap_server_session.reset()
    return imap_server_session


@pytest.fixture(scope="session")
def cloudflare_api_session() -> Iterator[CloudflareApi]:
    with CloudflareApi() as server:
        yield server


@pytest.fixture
def cloudflare_api(cloudflare_api_session: CloudflareApi) -> CloudflareApi:
    cloudflare_api_session.reset()
    return cloudflare_api_session
