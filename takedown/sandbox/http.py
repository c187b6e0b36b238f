"""An HTTP server that plays any number of image hosts at once.

Routes are looked up by (Host header, path) first, then by path alone, so one server on one
port stands in for many virtual hosts (the sandbox DNS points their names at 127.0.0.1).
A route is any object with `serve(handler)`: fixed answers (`Response` and the helpers
`image`, `status`, `redirect`, `html`), and the misbehaving hosts a link checker must
survive (`Slow`, `Trickle`, `Huge`).
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol

from takedown.sandbox.base import BackgroundServer, QuietErrors, is_disconnect
from takedown.sandbox.images import CANVAS, CONTENT_TYPES, make_image


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so benchmarks measure requests, not handshakes
    server_version = "SandboxHTTP/1.0"
    timeout = 30  # an idle keep-alive client must not pin a thread forever
    server: _Server

    def do_GET(self) -> None:
        host: HttpHost = self.server.sandbox  # type: ignore[assignment]
        route = host.route_for(self._virtual_host(), self.path)
        if host.latency:
            host.stopping.wait(host.latency)
        try:
            route.serve(self)
        except OSError as exc:
            if not is_disconnect(exc):
                raise
            self.close_connection = True

    do_HEAD = do_GET

    def send_body(self, body: bytes) -> None:
        if self.command != "HEAD":
            self.wfile.write(body)

    def _virtual_host(self) -> str:
        raw = (self.headers.get("Host") or "").strip().lower()
        if raw.startswith("["):  # [::1]:8080
            return raw.split("]", 1)[0] + "]"
        return raw.rsplit(":", 1)[0] if ":" in raw else raw

    def log_message(self, format: str, *args: object) -> None:
        pass  # request lines carry URLs; the tests assert on counts instead


class _Server(QuietErrors, ThreadingHTTPServer):
    # The default backlog of 5 makes benchmark clients with dozens of parallel connections
    # wait for SYN retries; a real image host accepts far more.
    request_queue_size = 1024


class Route(Protocol):
    def serve(self, handler: Handler) -> None: ...


@dataclass(frozen=True)
class Response:
    """A complete answer known in advance."""

    body: bytes = b""
    content_type: str = "application/octet-stream"
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()

    def serve(self, handler: Handler) -> None:
        handler.send_response(self.status)
        handler.send_header("Content-Type", self.content_type)
        handler.send_header("Content-Length", str(len(self.body)))
        for name, value in self.headers:
            handler.send_header(name, value)
        handler.end_headers()
        handler.send_body(self.body)


def image(
    seed: int = 1,
    *,
    fmt: str = "JPEG",
    quality: int = 90,
    size: tuple[int, int] = CANVAS,
    placeholder: bool = False,
) -> Response:
    """A picture from `images.make_image`: same seed, same picture; see there."""
    body = make_image(seed, fmt=fmt, quality=quality, size=size, placeholder=placeholder)
    return Response(body, CONTENT_TYPES[fmt.upper()])


def status(code: int, body: bytes | None = None) -> Response:
    """An error page, e.g. status(404), status(410), status(451), status(503)."""
    if body is None:
        body = f"{code} {HTTPStatus(code).phrase}\n".encode()
    return Response(body, "text/plain; charset=utf-8", code)


def redirect(location: str, code: int = 302) -> Response:
    """Any Location at all, including http://169.254.169.254/ or http://[::1]/."""
    return Response(b"", "text/plain", code, (("Location", location),))


def html(text: str, code: int = 200) -> Response:
    return Response(text.encode(), "text/html; charset=utf-8", code)


@dataclass(frozen=True)
class Slow:
    """Waits `seconds` before sending anything, then answers like `then`."""

    seconds: float
    then: Route = Response(b"late\n", "text/plain")

    def serve(self, handler: Handler) -> None:
        if not handler.server.sandbox.stopping.wait(self.seconds):
            self.then.serve(handler)


@dataclass(frozen=True)
class Trickle:
    """Headers at once, then `chunk` every `interval` seconds forever: a body that never ends."""

    interval: float = 0.1
    chunk: bytes = b"\xff"
    content_type: str = "image/jpeg"

    def serve(self, handler: Handler) -> None:
        handler.close_connection = True  # no length: the body ends only when the socket does
        handler.send_response(200)
        handler.send_header("Content-Type", self.content_type)
        handler.send_header("Connection", "close")
        handler.end_headers()
        stopping = handler.server.sandbox.stopping
        while not stopping.is_set():
            handler.wfile.write(self.chunk)
            handler.wfile.flush()
            stopping.wait(self.interval)


@dataclass(frozen=True)
class Huge:
    """A body of `size` bytes streamed in chunks; `declare_length=False` hides the size."""

    size: int = 30 * 1024 * 1024
    content_type: str = "image/jpeg"
    declare_length: bool = True

    def serve(self, handler: Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", self.content_type)
        if self.declare_length:
            handler.send_header("Content-Length", str(self.size))
        else:
            handler.close_connection = True
            handler.send_header("Connection", "close")
        handler.end_headers()
        if handler.command == "HEAD":
            return
        chunk = b"\0" * 65536
        left = self.size
        while left > 0 and not handler.server.sandbox.stopping.is_set():
            handler.wfile.write(chunk[: min(left, len(chunk))])
            left -= len(chunk)


NOT_FOUND = status(404)


class HttpHost(BackgroundServer):
    """Image hosts on one port. `latency` (seconds) delays every answer, for benchmarks."""

    scheme = "http"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, latency: float = 0.0) -> None:
        super().__init__(host, port)
        self.latency = latency
        self._routes: dict[tuple[str | None, str], Route] = {}
        self._counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def _make_servers(self) -> list[_Server]:
        return [_Server((self.host, self.port), Handler)]

    def add_route(self, path: str, route: Route, *, host: str | None = None) -> str:
        """Serve `route` at `path` (with or without query) on virtual `host`, or on every host.

        Returns the URL to reach it; with `host` given that URL carries the virtual host's
        name, which a client reaches through the sandbox DNS or an explicit Host header.
        """
        host = host.lower() if host else None
        with self._lock:
            self._routes[(host, path)] = route
        return self.url_for(path, host)

    def url_for(self, path: str, host: str | None = None) -> str:
        return f"{self.scheme}://{host or self.host}:{self.port}{path}"

    def route_for(self, virtual_host: str, target: str) -> Route:
        path = target.split("?", 1)[0]
        with self._lock:
            self._counts[(virtual_host, target)] += 1
            for key in ((virtual_host, target), (virtual_host, path), (None, target), (None, path)):
                if key in self._routes:
                    return self._routes[key]
        return NOT_FOUND

    def hits(self, path: str, host: str | None = None) -> int:
        """Requests for exactly `path` (query included) on `host`, or on any host."""
        with self._lock:
            return sum(
                count
                for (vhost, target), count in self._counts.items()
                if target == path and (host is None or vhost == host.lower())
            )

    @property
    def counts(self) -> Counter[tuple[str, str]]:
        """Requests per (virtual host, path with query), as a copy."""
        with self._lock:
            return Counter(self._counts)

    def reset(self) -> None:
        """Forget all routes and counts and the latency (fixtures call this between tests)."""
        with self._lock:
            self._routes.clear()
            self._counts.clear()
        self.latency = 0.0
