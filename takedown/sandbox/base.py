"""What every sandbox server shares: a socketserver running in a daemon thread on loopback."""

from __future__ import annotations

import socket
import socketserver
import sys
import threading
from collections.abc import Sequence
from types import TracebackType
from typing import Self


def free_port(host: str = "127.0.0.1", kind: int = socket.SOCK_STREAM) -> int:
    """A port that was free a moment ago, for servers that cannot bind port 0 themselves."""
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def is_disconnect(exc: BaseException | None) -> bool:
    """A client that hangs up mid-answer is normal for these servers, not an error to print."""
    return isinstance(exc, (ConnectionError, TimeoutError))


class QuietErrors:
    """Mixin for socketservers: stay silent when a client hangs up, print anything else."""

    daemon_threads = True
    allow_reuse_address = True
    # Set by BackgroundServer so request handlers can reach their sandbox object.
    sandbox: BackgroundServer

    def handle_error(self, request: object, client_address: object) -> None:
        if not is_disconnect(sys.exc_info()[1]):
            super().handle_error(request, client_address)  # type: ignore[misc]


class QuietThreadingTCPServer(QuietErrors, socketserver.ThreadingTCPServer):
    # The default backlog of 5 drops the SYNs of a client opening dozens of connections at
    # once (resolution's WHOIS queries), which then wait a second for the retry; a registry's
    # WHOIS server accepts far more.
    request_queue_size = 1024


class BackgroundServer:
    """start()/stop() or a with-block around socketservers served from daemon threads.

    Subclasses build their socketservers in `_make_servers`; all of them share self.port.
    `stopping` is set on stop() so handlers that hold a connection open (hang, trickle)
    let go promptly instead of outliving the server.
    """

    scheme = "tcp"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.stopping = threading.Event()
        # TCP and UDP (a TCPServer too) servers on an IP address: server_address is (host, port).
        self._servers: Sequence[socketserver.TCPServer] = []
        self._threads: list[threading.Thread] = []

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def _make_servers(self) -> Sequence[socketserver.TCPServer]:
        raise NotImplementedError

    def start(self) -> Self:
        if self._servers:
            raise RuntimeError(f"{type(self).__name__} is already running")
        self.stopping.clear()
        self._servers = self._make_servers()
        self.port = int(self._servers[0].server_address[1])
        for server in self._servers:
            server.sandbox = self  # type: ignore[attr-defined]
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"sandbox-{type(self).__name__}-{self.port}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self.stopping.set()
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers, self._threads = [], []

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
