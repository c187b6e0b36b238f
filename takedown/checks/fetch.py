"""Fetching URLs that users entered, which makes every one of them untrusted.

A link in a case can point anywhere: at the cloud metadata service (169.254.169.254), at the
database on 10.0.0.5, at localhost, or at a name whose DNS answer changes between our check and
our connect (DNS rebinding). So a fetch:

- allows http and https on TAKEDOWN_FETCH_PORTS only (default 80 and 443);
- refuses alternative spellings of IPv4 addresses ("2130706433", "127.1", "0x7f.0.0.1"): a
  resolver that accepts them (getaddrinfo does) would turn them into loopback;
- resolves the host itself through takedown.resolve.dns.resolve_host and refuses the fetch when
  any address fails takedown.net.check_address (a name that also points inward is hostile);
- connects to exactly the address it validated (the first of the answer, IPv4 before IPv6; it
  is the resolved_ip of the result): aiohttp gets a resolver that only hands out that pinned
  address and never asks DNS, while the URL keeps the name, so the Host header, TLS SNI and
  certificate check stay those of the name;
- follows at most MAX_REDIRECTS redirects itself, validating every hop like the first;
- has connect and read timeouts plus a deadline for the whole fetch including redirects;
- keeps at most TAKEDOWN_FETCH_MAX_BYTES of body; no cookies, no proxies from the environment,
  no content decoding (the evidence hash is of the bytes the host served), and a User-Agent
  that says who we are (TAKEDOWN_USER_AGENT).

Tests and the sandbox live on 127.0.0.1. TAKEDOWN_ALLOW_PRIVATE_NETWORK lets every private
address through; TAKEDOWN_FETCH_ALLOWED_ENDPOINTS ("ip:port" entries) lets exactly those
address and port pairs through while everything else stays refused, which is how the tests show
that a redirect from the sandbox to a private address is refused.

Entry points: `fetch(url)` (blocking, for commands), `fetch_many(urls)` (blocking, many hosts at
once with per-host limits), their `*_async` coroutines, and `Fetcher` for a long-lived session.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Final, Self

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from django.conf import settings
from yarl import URL

from takedown.net import (
    AddressNotAllowed,
    IPAddress,
    check_address,
    ip_endpoint,
    parse_ip,
)
from takedown.resolve.dns import resolve_host
from takedown.resolve.facts import DnsFacts, LookupFailed

MAX_REDIRECTS: Final = 5
REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
KEY_HEADERS: Final = ("content-type", "content-length", "etag", "last-modified", "server")

# Error kinds in FetchResult.error.
REFUSED_ADDRESS: Final = "refused_address"
BAD_SCHEME: Final = "bad_scheme"
BAD_PORT: Final = "bad_port"
BAD_URL: Final = "bad_url"
TIMEOUT: Final = "timeout"
CONNECTION: Final = "connection"
TOO_MANY_REDIRECTS: Final = "too_many_redirects"
TOO_LARGE: Final = "too_large"
DNS_NXDOMAIN: Final = "dns_nxdomain"
DNS_ERROR: Final = "dns_error"

_CHUNK: Final = 64 * 1024


@dataclass
class FetchResult:
    """What one fetch found. `final_url` is where the redirect chain ended; `status`, `headers`
    and `resolved_ip` describe the answer from `final_url` (None/empty when it was refused or
    never answered). `redirects` lists every Location followed or refused, in order, so the
    whole chain is [url, *redirects]. `body` is read only for 2xx answers and is None otherwise
    and on errors, except that a body over the cap keeps its first `max_bytes` bytes with
    `truncated=True` (error "too_large"; a Content-Length over the cap is not read at all)."""

    url: str
    final_url: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    resolved_ip: str = ""
    redirects: list[str] = field(default_factory=list)
    body: bytes | None = None
    truncated: bool = False
    error: str | None = None
    message: str = ""
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class FetchLimits:
    ports: frozenset[int]
    max_bytes: int
    connect_timeout: float
    read_timeout: float
    deadline: float
    user_agent: str
    allowed_endpoints: frozenset[tuple[IPAddress, int]] = frozenset()
    max_redirects: int = MAX_REDIRECTS

    @classmethod
    def from_settings(cls) -> Self:
        return cls(
            ports=frozenset(int(port) for port in settings.TAKEDOWN_FETCH_PORTS),
            max_bytes=int(settings.TAKEDOWN_FETCH_MAX_BYTES),
            connect_timeout=float(settings.TAKEDOWN_FETCH_CONNECT_TIMEOUT),
            read_timeout=float(settings.TAKEDOWN_FETCH_READ_TIMEOUT),
            deadline=float(settings.TAKEDOWN_FETCH_DEADLINE),
            user_agent=settings.TAKEDOWN_USER_AGENT,
            allowed_endpoints=_allowed_endpoints(settings.TAKEDOWN_FETCH_ALLOWED_ENDPOINTS),
        )


def _allowed_endpoints(entries: Iterable[str] | str) -> frozenset[tuple[IPAddress, int]]:
    if isinstance(entries, str):
        entries = entries.split(",")
    endpoints = set()
    for entry in (entry.strip() for entry in entries):
        if not entry:
            continue
        endpoints.add(ip_endpoint(entry, 80, "TAKEDOWN_FETCH_ALLOWED_ENDPOINTS"))
    return frozenset(endpoints)


class _Stop(Exception):
    """Ends a fetch with an error kind; the message is for people, without the URL."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


class _PinnedResolver(AbstractResolver):
    """aiohttp's only way to learn an address: the ones the fetcher validated for host:port.

    A name that was not validated fails the connection instead of falling back to DNS, so
    nothing between our check and the connect can swap the address.
    """

    def __init__(self) -> None:
        self.pins: dict[tuple[str, int], IPAddress] = {}

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        address = self.pins.get((host, port))
        if address is None:
            raise OSError(f"no validated address for port {port}")
        address_family = socket.AF_INET if address.version == 4 else socket.AF_INET6
        if family not in (socket.AF_UNSPEC, address_family):
            raise OSError("no validated address of the requested family")
        return [
            {
                "hostname": host,
                "host": str(address),
                "port": port,
                "family": address_family,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            }
        ]

    async def close(self) -> None:
        pass


_dns_pool: ThreadPoolExecutor | None = None


def _dns_executor() -> ThreadPoolExecutor:
    # dnspython's lookups block. A pool of our own, not the loop's default executor, because
    # asyncio.run waits for the default executor's threads: a lookup stuck until its own
    # timeout would stretch a fetch past its deadline.
    global _dns_pool
    if _dns_pool is None:
        _dns_pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="fetch-dns")
    return _dns_pool


class Fetcher:
    """One HTTP session for many fetches:

        async with Fetcher() as fetcher:
            result = await fetcher.fetch(url)

    DNS answers are kept for the session's lifetime (one batch), so a batch asks once per host.
    """

    def __init__(self, *, concurrency: int = 64, limits: FetchLimits | None = None) -> None:
        self.limits = limits or FetchLimits.from_settings()
        self._concurrency = concurrency
        self._resolver = _PinnedResolver()
        self._lookups: dict[str, asyncio.Future[DnsFacts]] = {}
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        limits = self.limits
        connector = aiohttp.TCPConnector(
            resolver=self._resolver,
            use_dns_cache=False,  # the pins are the cache; aiohttp's own would outlive them
            limit=self._concurrency,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,  # HTTP_PROXY and friends must not reroute untrusted fetches
            auto_decompress=False,
            timeout=aiohttp.ClientTimeout(
                total=None, sock_connect=limits.connect_timeout, sock_read=limits.read_timeout
            ),
            headers={
                "User-Agent": limits.user_agent,
                "Accept": "image/*,*/*;q=0.8",
                "Accept-Encoding": "identity",
            },
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch(self, url: str, *, read_body: bool = True) -> FetchResult:
        started = time.monotonic()
        result = FetchResult(url=url, final_url=url)
        try:
            async with asyncio.timeout(self.limits.deadline):
                await self._follow(result, read_body)
        except _Stop as stop:
            result.error, result.message = stop.kind, stop.message
        except TimeoutError:
            result.error = TIMEOUT
            result.message = f"no complete answer within the {self.limits.deadline:g} s deadline"
        result.elapsed = time.monotonic() - started
        return result

    async def warm(self, url: str) -> None:
        """Look up the URL's host name now (answers are kept for the session), so that a
        politeness turn taken afterwards is not spent waiting for DNS. Errors are left for
        fetch() to report."""
        try:
            host = URL(url).raw_host or ""
        except (ValueError, TypeError):
            return
        if host and parse_ip(host) is None and not _is_numeric_ipv4(host):
            with contextlib.suppress(LookupFailed):
                await self._lookup_facts(host)

    async def _follow(self, result: FetchResult, read_body: bool) -> None:
        assert self._session is not None, "use Fetcher as an async context manager"
        current = self._checked_url(result.url)
        while True:
            address = await self._pin(current)
            try:
                async with self._session.get(current, allow_redirects=False) as response:
                    result.status = response.status
                    result.headers = {
                        name: response.headers[name]
                        for name in KEY_HEADERS
                        if name in response.headers
                    }
                    result.resolved_ip = str(address)
                    location = response.headers.get("Location")
                    if response.status not in REDIRECT_STATUSES or not location:
                        if read_body and 200 <= response.status < 300:
                            await self._read_body(response, result)
                        return
            except aiohttp.InvalidURL:
                raise _Stop(BAD_URL, "aiohttp cannot request this URL") from None
            except aiohttp.ServerTimeoutError as exc:  # connect or read timeout
                raise _Stop(TIMEOUT, _describe(exc)) from None
            except aiohttp.ClientError as exc:
                raise _Stop(CONNECTION, _describe(exc)) from None
            except ValueError as exc:  # a URL aiohttp will not send (e.g. control characters)
                raise _Stop(BAD_URL, f"cannot request this URL ({type(exc).__name__})") from None

            try:
                target = current.join(URL(location))
            except ValueError:
                raise _Stop(BAD_URL, "unparseable Location header") from None
            result.redirects.append(str(target))
            result.final_url = str(target)
            result.status, result.headers, result.resolved_ip = None, {}, ""
            if len(result.redirects) > self.limits.max_redirects:
                raise _Stop(TOO_MANY_REDIRECTS, f"more than {self.limits.max_redirects}")
            current = self._checked_url(str(target))

    def _checked_url(self, text: str) -> URL:
        """The URL to request, or _Stop for what no fetch may touch, before any DNS."""
        try:
            url = URL(text)
        except (ValueError, TypeError):
            raise _Stop(BAD_URL, "not a URL") from None
        if url.scheme not in ("http", "https"):
            raise _Stop(BAD_SCHEME, f"scheme {url.scheme!r} is not http or https")
        host = url.raw_host
        if not host:
            raise _Stop(BAD_URL, "no host")
        if url.port not in self.limits.ports:
            raise _Stop(BAD_PORT, f"port {url.port} is not allowed")
        if parse_ip(host) is None and _is_numeric_ipv4(host):
            raise _Stop(REFUSED_ADDRESS, "IPv4 address in a non-standard form")
        # Credentials in a link are the link author's, not ours to send.
        return url.with_user(None).with_fragment(None)

    async def _pin(self, url: URL) -> IPAddress:
        """Validate every address of the URL's host; pin the first for the connection."""
        host, port = url.raw_host or "", url.port or 0
        pinned = self._resolver.pins.get((host, port))
        if pinned is not None:
            # Validated from this session's answer for the name, which the session keeps: the
            # checks below would find the same (parsing them again cost ~7% of a fetch's CPU).
            return pinned
        literal = parse_ip(host)
        if literal is not None:  # aiohttp connects to a literal without asking the resolver
            self._check(literal, port)
            return literal
        facts = await self._lookup(host)
        if facts.nxdomain:
            raise _Stop(DNS_NXDOMAIN, "the name does not exist")
        addresses = [parse_ip(ip) for ip in facts.ips]
        valid = [address for address in addresses if address is not None]
        if not valid:
            raise _Stop(DNS_NXDOMAIN, "the name has no address records")
        for address in valid:
            self._check(address, port)
        # One address, not all: then the result can say which address served the answer
        # (aiohttp does not tell once a response is complete), and pooled connections for
        # this host:port all lead there.
        self._resolver.pins[(host, port)] = valid[0]
        return valid[0]

    def _check(self, address: IPAddress, port: int) -> None:
        if (address, port) in self.limits.allowed_endpoints:
            return
        try:
            check_address(address)
        except AddressNotAllowed as exc:
            raise _Stop(REFUSED_ADDRESS, str(exc)) from None

    async def _lookup_facts(self, host: str) -> DnsFacts:
        lookup = self._lookups.get(host)
        if lookup is None:
            loop = asyncio.get_running_loop()
            lookup = asyncio.ensure_future(
                loop.run_in_executor(_dns_executor(), resolve_host, host)
            )
            # Several fetches may wait on one lookup; if all hit their deadline, nobody reads
            # its exception, so read it here to keep asyncio from complaining.
            lookup.add_done_callback(lambda done: done.cancelled() or done.exception())
            self._lookups[host] = lookup
        # shield: one fetch's deadline must not cancel the lookup others wait for.
        return await asyncio.shield(lookup)

    async def _lookup(self, host: str) -> DnsFacts:
        try:
            return await self._lookup_facts(host)
        except LookupFailed as exc:
            raise _Stop(DNS_ERROR, exc.message) from None

    async def _read_body(self, response: aiohttp.ClientResponse, result: FetchResult) -> None:
        cap = self.limits.max_bytes
        declared = response.content_length
        if declared is not None and declared > cap:
            result.truncated = True
            raise _Stop(TOO_LARGE, f"declares {declared} bytes, over the cap of {cap}")
        body = bytearray()
        async for chunk in response.content.iter_chunked(_CHUNK):
            body += chunk
            if len(body) > cap:
                result.body, result.truncated = bytes(body[:cap]), True
                raise _Stop(TOO_LARGE, f"more than the cap of {cap} bytes")
        result.body = bytes(body)


def _is_numeric_ipv4(host: str) -> bool:
    """True for 2130706433, 127.1, 0x7f.0.0.1, 0177.0.0.1: what inet_aton reads as IPv4."""
    try:
        socket.inet_aton(host)
    except (OSError, ValueError):
        return False
    return True


def _describe(exc: BaseException) -> str:
    # Exception texts from aiohttp repeat the host and URL; keep the kind and the OS reason.
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"could not connect ({exc.os_error.strerror or type(exc.os_error).__name__})"
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return "connect timed out"
    if isinstance(exc, aiohttp.SocketTimeoutError):
        return "read timed out"
    return type(exc).__name__


async def fetch_async(url: str, *, read_body: bool = True) -> FetchResult:
    async with Fetcher(concurrency=1) as fetcher:
        return await fetcher.fetch(url, read_body=read_body)


def fetch(url: str, *, read_body: bool = True) -> FetchResult:
    """Fetch one untrusted URL (blocking; not from inside a running event loop)."""
    return asyncio.run(fetch_async(url, read_body=read_body))


@dataclass
class _HostTurns:
    """Per-host politeness: at most `per_host` requests at once, `delay` between starts."""

    slots: asyncio.Semaphore
    next_start: float = 0.0

    async def wait_turn(self, delay: float) -> None:
        if delay <= 0:
            return
        loop = asyncio.get_running_loop()
        start = max(loop.time(), self.next_start)
        self.next_start = start + delay  # reserved before sleeping: concurrent waiters queue up
        await asyncio.sleep(start - loop.time())


def _host_key(url: str) -> str:
    try:
        return (URL(url).raw_host or "").lower()
    except (ValueError, TypeError):
        return ""


async def fetch_each_async[T](
    urls: Iterable[str],
    handle: Callable[[int, FetchResult], T],
    *,
    per_host: int = 2,
    concurrency: int = 64,
    politeness_delay: float = 0.0,
    read_body: bool = True,
    handle_in_thread: bool = False,
) -> list[T]:
    """Fetch all `urls` and return `handle(index, result)` for each, in the order of `urls`.

    `handle` runs in the event loop as soon as a fetch completes, so it can boil a body down
    to its hashes and let it go: a batch of thousands then never holds every image at once.
    At most `concurrency` requests are in flight, at most `per_host` of them to one host (the
    host of the URL as given: a redirect to another host counts against the first), and
    `politeness_delay` seconds pass between the starts of two requests to one host.
    `handle_in_thread` runs `handle` in the loop's thread pool instead: image decoding
    releases the GIL, so hashing then overlaps with the network work of the loop."""
    if per_host < 1 or concurrency < 1:
        raise ValueError("per_host and concurrency must be at least 1")
    hosts: dict[str, _HostTurns] = {}
    slots = asyncio.Semaphore(concurrency)

    async with Fetcher(concurrency=concurrency) as fetcher:

        async def one(index: int, url: str) -> T:
            turns = hosts.setdefault(_host_key(url), _HostTurns(asyncio.Semaphore(per_host)))
            # Host slot first, global slot second: a busy host must not hold global slots
            # that other hosts could use.
            async with turns.slots:
                if politeness_delay > 0:
                    await fetcher.warm(url)
                await turns.wait_turn(politeness_delay)
                async with slots:
                    result = await fetcher.fetch(url, read_body=read_body)
            if handle_in_thread:
                return await asyncio.to_thread(handle, index, result)
            return handle(index, result)

        return list(await asyncio.gather(*(one(i, url) for i, url in enumerate(urls))))


async def fetch_many_async(
    urls: Iterable[str],
    *,
    per_host: int = 2,
    concurrency: int = 64,
    politeness_delay: float = 0.0,
    read_body: bool = True,
) -> list[FetchResult]:
    """Fetch all `urls` (results in the same order) with the limits of fetch_each_async."""
    return await fetch_each_async(
        urls,
        lambda _index, result: result,
        per_host=per_host,
        concurrency=concurrency,
        politeness_delay=politeness_delay,
        read_body=read_body,
    )


def fetch_many(
    urls: Iterable[str],
    *,
    per_host: int = 2,
    concurrency: int = 64,
    politeness_delay: float = 0.0,
    read_body: bool = True,
) -> list[FetchResult]:
    """Blocking fetch_many_async, for tasks and commands."""
    return asyncio.run(
        fetch_many_async(
            urls,
            per_host=per_host,
            concurrency=concurrency,
            politeness_delay=politeness_delay,
            read_body=read_body,
        )
    )
