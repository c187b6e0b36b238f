"""A DNS server on UDP and TCP that answers like a recursive resolver over a small zone dict.

zone = {"www.example.com": {"CNAME": "cdn.example.net."},
        "cdn.example.net": {"A": ["127.0.0.1"], "AAAA": ["::1"]}}

Any record type dnspython can parse from text works ("MX": ["10 mx.example."], ...).
CNAME chains inside the zone are followed and returned whole (CNAME records first, then the
final records), as a recursive resolver returns them; names outside the zone are NXDOMAIN.
A name's entry may also hold "rcode": "SERVFAIL" (or "REFUSED") to fail, "silent": True
to drop queries so the client times out, or "truncate": True to answer over UDP with the TC
flag and no records, so the client must ask again over TCP. `latency` (seconds) delays every
answer, as a resolver without a warm cache would, for benchmarks.
"""

from __future__ import annotations

import contextlib
import heapq
import socket
import socketserver
import struct
import threading
import time
from collections import Counter
from typing import Any

from takedown.sandbox.base import BackgroundServer, QuietErrors, QuietThreadingTCPServer

TTL = 300
MAX_CHAIN = 8
QR, RD, RA = 0x8000, 0x0100, 0x0080
NOERROR, NXDOMAIN = 0, 3
CLASS_IN, CNAME = 1, 5
PLAIN_TYPES = {1: ("A", socket.AF_INET), 28: ("AAAA", socket.AF_INET6)}

Zone = dict[str, dict[str, Any]]


def _key(name: str) -> str:
    return name.lower().rstrip(".") + "."


class DnsServer(BackgroundServer):
    scheme = "dns"

    def __init__(
        self,
        zone: Zone | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
    ) -> None:
        super().__init__(host, port)
        self.latency = latency
        self._zone: Zone = {}
        self._counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        # Replies by query bytes after the id: a benchmark's burst of queries for one zone
        # costs dnspython's parsing and rendering once per question, not once per packet.
        self._replies: dict[tuple[bool, bytes], tuple[tuple[str, str], bytes | None]] = {}
        self._later = _LaterSender(self.stopping)
        for name, records in (zone or {}).items():
            self.add(name, **records)

    def add(self, name: str, **records: Any) -> None:
        """add("www.example.com", A=["127.0.0.1"], CNAME="other.example.")"""
        with self._lock:
            self._zone[_key(name)] = records
            self._replies.clear()

    def start(self) -> DnsServer:
        super().start()
        self._later.start()
        return self

    def stop(self) -> None:
        super().stop()
        self._later.join()

    def _make_servers(self) -> list[socketserver.TCPServer]:
        # UDP and TCP on one port number; with port 0 the TCP side may find it taken: retry.
        for _ in range(20):
            udp = _UdpServer((self.host, self.port), _UdpHandler)
            try:
                tcp = QuietThreadingTCPServer((self.host, udp.server_address[1]), _TcpHandler)
            except OSError:
                udp.server_close()
                if self.port:
                    raise
                continue
            return [udp, tcp]
        raise OSError("no port free for both UDP and TCP")

    def answer(self, wire: bytes, *, udp: bool = False) -> bytes | None:
        """The response to one query in wire format, or None to stay silent."""
        with self._lock:
            cached = self._replies.get((udp, wire[2:]))
            if cached is not None:
                question, reply = cached
                self._counts[question] += 1
                return None if reply is None else wire[:2] + reply[2:]
        question, reply = self._render_plain(wire) or self._render(wire, udp=udp)
        with self._lock:
            self._replies[(udp, wire[2:])] = (question, reply)
            self._counts[question] += 1
        return reply

    def _render_plain(self, wire: bytes) -> tuple[tuple[str, str], bytes | None] | None:
        """An A or AAAA question over A, AAAA and CNAME records, answered by hand as _render
        answers it: dnspython's parsing and rendering cost the sandbox more CPU than the
        benchmark's whole DNS client. None for anything else (EDNS, other types, an rcode or
        a CNAME loop), which _render answers."""
        try:
            ident, flags, questions, *others = struct.unpack_from("!HHHHHH", wire)
            labels, offset = [], 12
            while length := wire[offset]:
                if length > 63:
                    return None
                labels.append(wire[offset + 1 : offset + 1 + length].decode("ascii"))
                offset += 1 + length
            qtype, qclass = struct.unpack_from("!HH", wire, offset + 1)
        except (IndexError, struct.error, UnicodeDecodeError):
            return None
        end = offset + 5
        if questions != 1 or any(others) or flags & 0xF800 or end != len(wire):
            return None  # a response, another opcode, EDNS or trailing bytes
        if qclass != CLASS_IN or qtype not in PLAIN_TYPES:
            return None
        rdtype, family = PLAIN_TYPES[qtype]
        name = _key(".".join(labels))
        asked = (name, rdtype)
        answers, rcode = [], NOERROR
        with self._lock, contextlib.suppress(OSError, UnicodeError):
            zone = self._zone
            for _ in range(MAX_CHAIN):
                records = zone.get(name)
                if records is None:
                    rcode = NXDOMAIN
                    break
                if records.get("silent"):
                    return asked, None
                if set(records) - {"A", "AAAA", "CNAME"}:
                    return None
                if "CNAME" in records:
                    target = _key(records["CNAME"])
                    answers.append(_record(name, CNAME, _wire_name(target)))
                    name = target
                    continue
                values = records.get(rdtype, [])
                for value in [values] if isinstance(values, str) else values:
                    answers.append(_record(name, qtype, socket.inet_pton(family, value)))
                break
            else:
                return None
            # As dns.message.make_response: QR, the query's RD; and RA as _render sets it.
            flags = QR | (flags & RD) | RA | rcode
            header = struct.pack("!HHHHHH", ident, flags, 1, len(answers), 0, 0)
            return asked, header + wire[12:end] + b"".join(answers)
        return None  # an address or name the zone holds that is not plain: _render says so

    def _render(self, wire: bytes, *, udp: bool) -> tuple[tuple[str, str], bytes | None]:
        import dns.flags
        import dns.message
        import dns.rcode
        import dns.rdatatype
        import dns.rrset

        query = dns.message.from_wire(wire)
        response = dns.message.make_response(query)
        response.flags |= dns.flags.RA
        question = query.question[0]
        name = question.name.to_text().lower()
        rdtype = dns.rdatatype.to_text(question.rdtype)
        asked = (name, rdtype)
        with self._lock:
            zone = dict(self._zone)

        for _ in range(MAX_CHAIN):
            records = zone.get(name)
            if records is None:
                response.set_rcode(dns.rcode.NXDOMAIN)
                break
            if records.get("silent"):
                return asked, None
            if "rcode" in records:
                response.set_rcode(dns.rcode.from_text(records["rcode"]))
                break
            if records.get("truncate") and udp:
                response.flags |= dns.flags.TC
                break
            if "CNAME" in records and rdtype != "CNAME":
                target = _key(records["CNAME"])
                response.answer.append(dns.rrset.from_text(name, TTL, "IN", "CNAME", target))
                name = target
                continue
            values = records.get(rdtype, [])
            values = [values] if isinstance(values, str) else values
            if values:
                response.answer.append(dns.rrset.from_text_list(name, TTL, "IN", rdtype, values))
            break
        else:
            response.set_rcode(dns.rcode.SERVFAIL)  # a CNAME loop
        return asked, response.to_wire()

    def count(self, name: str, rdtype: str = "A") -> int:
        with self._lock:
            return self._counts[(_key(name), rdtype)]

    @property
    def counts(self) -> Counter[tuple[str, str]]:
        """Queries per (name with its final dot, record type), as a copy."""
        with self._lock:
            return Counter(self._counts)

    def reset(self) -> None:
        """Forget the zone, the counts and the latency (fixtures call this between tests)."""
        with self._lock:
            self._zone.clear()
            self._counts.clear()
            self._replies.clear()
        self.latency = 0.0


def _wire_name(name: str) -> bytes:
    labels = name.rstrip(".").encode("ascii").split(b".")
    return b"".join(bytes((len(label),)) + label for label in labels) + b"\0"


def _record(owner: str, rtype: int, rdata: bytes) -> bytes:
    return _wire_name(owner) + struct.pack("!HHIH", rtype, CLASS_IN, TTL, len(rdata)) + rdata


class _UdpServer(QuietErrors, socketserver.UDPServer):
    # Bursts of hundreds of queries must not overflow the socket's queue and be dropped.
    max_packet_size = 65535

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        super().server_bind()


class _UdpHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        wire, sock = self.request
        dns_server: DnsServer = self.server.sandbox  # type: ignore[attr-defined]
        reply = dns_server.answer(wire, udp=True)
        if reply is None:
            return
        if dns_server.latency:
            # Answered from one thread after the latency: concurrent queries wait side by side
            # without a thread each (starting threads cost more CPU than answering).
            dns_server._later.send(dns_server.latency, sock, reply, self.client_address)
        else:
            sock.sendto(reply, self.client_address)


class _LaterSender:
    """Sends datagrams once their delay has passed, in due order, from one thread."""

    def __init__(self, stopping: threading.Event) -> None:
        self._stopping = stopping
        self._due: list[tuple[float, int, socket.socket, bytes, Any]] = []
        self._ready = threading.Condition()
        self._sequence = 0
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sandbox-dns-later", daemon=True)
        self._thread.start()

    def join(self) -> None:
        with self._ready:
            self._ready.notify()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def send(self, delay: float, sock: socket.socket, reply: bytes, address: Any) -> None:
        with self._ready:
            self._sequence += 1
            heapq.heappush(
                self._due, (time.monotonic() + delay, self._sequence, sock, reply, address)
            )
            self._ready.notify()

    def _run(self) -> None:
        while not self._stopping.is_set():
            with self._ready:
                now = time.monotonic()
                ready = []
                while self._due and self._due[0][0] <= now:
                    ready.append(heapq.heappop(self._due))
                if not ready:
                    self._ready.wait(self._due[0][0] - now if self._due else 0.05)
                    continue
            for _due, _sequence, sock, reply, address in ready:
                with contextlib.suppress(OSError):  # the server closed, or the client is gone
                    sock.sendto(reply, address)


class _TcpHandler(socketserver.StreamRequestHandler):
    timeout = 10

    def handle(self) -> None:
        dns_server: DnsServer = self.server.sandbox  # type: ignore[attr-defined]
        while header := self.rfile.read(2):
            if len(header) < 2:
                return
            (length,) = struct.unpack("!H", header)
            reply = dns_server.answer(self.rfile.read(length))
            if reply is None:
                return
            if dns_server.latency:
                dns_server.stopping.wait(dns_server.latency)
            self.wfile.write(struct.pack("!H", len(reply)) + reply)
