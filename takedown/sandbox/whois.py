"""A port-43 WHOIS server: one query line in, one answer out, connection closed (RFC 3912).

Answers are text, bytes (any bytes, e.g. invalid UTF-8) or a behaviour object for the ways
real registries misbehave: `Hang`, `Trickle`, `Huge`, `Delay`, and `QUOTA_EXCEEDED` text.
Registries want their own query syntax ("-T dn,ace example.de" at DENIC, "example.jp/e" at
JPRS, "=example.com" or "domain example.com" at Verisign); the server maps every form back
to the domain for the lookup and keeps the raw line, so tests can assert what was sent.
"""

from __future__ import annotations

import select
import socketserver
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from takedown.sandbox.base import BackgroundServer, QuietThreadingTCPServer

# DENIC's wording; other registries differ, pass their text as a plain answer when needed.
QUOTA_EXCEEDED = b"% Error: 55000000002 Connection refused; access control limit reached.\r\n"
INVALID_UTF8 = b"Domain Name: caf\xe9.example\r\nRegistrant Name: M\xfcller \xff\xfe\r\n"


class Behaviour(Protocol):
    def serve(self, handler: _Handler) -> None: ...


Answer = str | bytes | Behaviour


@dataclass(frozen=True)
class Hang:
    """Reads the query and never answers; lets go when the client hangs up or the server stops."""

    def serve(self, handler: _Handler) -> None:
        stopping = handler.server.sandbox.stopping
        while not stopping.is_set():
            readable, _, _ = select.select([handler.connection], [], [], 0.1)
            if readable and not handler.connection.recv(1024):
                return


@dataclass(frozen=True)
class Trickle:
    """Sends `chunk` every `interval` seconds and never finishes."""

    interval: float = 0.1
    chunk: bytes = b"%"

    def serve(self, handler: _Handler) -> None:
        stopping = handler.server.sandbox.stopping
        while not stopping.is_set():
            handler.wfile.write(self.chunk)
            stopping.wait(self.interval)


@dataclass(frozen=True)
class Huge:
    """An answer of `size` bytes of plausible-looking comment lines."""

    size: int = 10 * 1024 * 1024

    def serve(self, handler: _Handler) -> None:
        line = b"% This line is padding in an oversized WHOIS answer.\r\n"
        block = line * (65536 // len(line))
        left = self.size
        while left > 0 and not handler.server.sandbox.stopping.is_set():
            handler.wfile.write(block[:left])
            left -= len(block)


@dataclass(frozen=True)
class Delay:
    """Waits `seconds`, then answers `then`."""

    seconds: float
    then: Answer

    def serve(self, handler: _Handler) -> None:
        if not handler.server.sandbox.stopping.wait(self.seconds):
            handler.send(self.then)


def domain_of(query: str) -> str:
    """The domain (or address) inside a registry-specific query line."""
    words = query.split()
    name = words[-1] if words else ""
    name = name.removeprefix("=")
    for suffix in ("/e", "/j"):  # JPRS: English / Japanese output
        name = name.removesuffix(suffix)
    return name.rstrip(".").lower()


class _Handler(socketserver.StreamRequestHandler):
    timeout = 10
    server: QuietThreadingTCPServer

    def handle(self) -> None:
        whois: WhoisServer = self.server.sandbox  # type: ignore[assignment]
        line = self.rfile.readline(4096)
        query = line.rstrip(b"\r\n").decode("utf-8", "replace")
        answer = whois.answer_for(query)
        if whois.latency:
            whois.stopping.wait(whois.latency)
        self.send(answer)

    def send(self, answer: Answer) -> None:
        if isinstance(answer, str):
            self.wfile.write(answer.encode())
        elif isinstance(answer, bytes):
            self.wfile.write(answer)
        else:
            answer.serve(self)


class WhoisServer(BackgroundServer):
    """`responses` maps a domain (or IP, or handle) to its answer; unknown names get
    Verisign's "No match" text. `latency` (seconds) delays every answer."""

    def __init__(
        self,
        responses: dict[str, Answer] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
    ) -> None:
        super().__init__(host, port)
        self.latency = latency
        self._responses: dict[str, Answer] = {}
        self._queries: list[str] = []
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        for name, answer in (responses or {}).items():
            self.add(name, answer)

    def _make_servers(self) -> list[QuietThreadingTCPServer]:
        return [QuietThreadingTCPServer((self.host, self.port), _Handler)]

    def add(self, name: str, answer: Answer) -> None:
        with self._lock:
            self._responses[domain_of(name)] = answer

    def load_dir(self, directory: Path | str) -> int:
        """Load every file in `directory` as the raw answer for the domain it is named after."""
        files = [path for path in sorted(Path(directory).iterdir()) if path.is_file()]
        for path in files:
            self.add(path.name, path.read_bytes())
        return len(files)

    def answer_for(self, query: str) -> Answer:
        domain = domain_of(query)
        with self._lock:
            self._queries.append(query)
            self._counts[domain] += 1
            answer = self._responses.get(domain)
        if answer is None:
            return f'No match for "{domain.upper()}".\r\n'
        return answer

    @property
    def names(self) -> list[str]:
        """The names that have an answer."""
        with self._lock:
            return sorted(self._responses)

    @property
    def queries(self) -> list[str]:
        """Every raw query line received, in order, without the CRLF."""
        with self._lock:
            return list(self._queries)

    def count(self, domain: str) -> int:
        """Queries that named `domain`, in whatever form."""
        with self._lock:
            return self._counts[domain_of(domain)]

    def reset(self) -> None:
        """Forget responses, queries and latency (fixtures call this between tests)."""
        with self._lock:
            self._responses.clear()
            self._queries.clear()
            self._counts.clear()
        self.latency = 0.0
