"""DNS messages in wire format (RFC 1035 section 4.1), only as much as resolve.dns's fast path
needs: an A or AAAA question with recursion desired, and the reply read as a CNAME chain that
ends in addresses.

Reading a reply here costs a twentieth of dnspython's message parser, which was the largest
share of the CPU a batch of host lookups used. Whatever this reader does not take for a plain
answer (truncation, an error code, a malformed or unusual message) raises Unusable, and
resolve.dns asks dnspython instead, so every failure still gets dnspython's handling and
wording. The reply is only trusted when its id, flags and question are the query's, as
dnspython checks them.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from dataclasses import dataclass, field

QTYPES = {"A": 1, "AAAA": 28}
CNAME = 5
CLASS_IN = 1
RD = 0x0100  # recursion desired
QR = 0x8000  # a response
TC = 0x0200  # truncated: the whole answer needs TCP
OPCODE = 0x7800
NOERROR, NXDOMAIN = 0, 3
MAX_CHAIN = 16  # CNAME hops, as dnspython's resolve_chaining
ADDRESS_SIZE = {1: 4, 28: 16}
# dnspython's Name.to_text escapes these with a backslash, and other bytes outside 0x21-0x7e
# as \DDD; host names never hold them, but the chain we keep reads the same either way.
_ESCAPED = frozenset(b'"().;\\@$')


class Unusable(Exception):
    """A reply to our query that the fast path does not read: ask dnspython."""


@dataclass(frozen=True)
class Reply:
    """What one A or AAAA query found: NXDOMAIN or not, the CNAME targets followed from the
    name asked (lower case, without the final dot) and the addresses of the chain's end."""

    nxdomain: bool = False
    chain: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)


def encode_query(ident: int, labels: tuple[bytes, ...], rdtype: str) -> bytes:
    """The query for `labels` (a dns.name.Name's labels, ending in the empty root label)."""
    header = struct.pack("!HHHHHH", ident, RD, 1, 0, 0, 0)
    name = b"".join(bytes((len(label),)) + label for label in labels)
    return header + name + struct.pack("!HH", QTYPES[rdtype], CLASS_IN)


def decode_reply(wire: bytes, ident: int, labels: tuple[bytes, ...], rdtype: str) -> Reply | None:
    """The reply to our query, None when `wire` is not one (another id or question: keep
    waiting, as dnspython ignores unexpected packets), Unusable when it is one but not a plain
    NOERROR or NXDOMAIN answer."""
    try:
        return _decode(wire, ident, labels, QTYPES[rdtype])
    except (IndexError, struct.error, ValueError) as exc:
        raise Unusable(f"malformed reply ({type(exc).__name__})") from None


def _decode(wire: bytes, ident: int, labels: tuple[bytes, ...], qtype: int) -> Reply | None:
    got, flags, questions, answers, authority, additional = struct.unpack_from("!HHHHHH", wire)
    if got != ident or not flags & QR or flags & OPCODE or questions != 1:
        return None
    name, offset = _name(wire, 12)
    rtype, rclass = struct.unpack_from("!HH", wire, offset)
    offset += 4
    if name != tuple(label.lower() for label in labels) or (rtype, rclass) != (qtype, CLASS_IN):
        return None
    rcode = flags & 0x000F
    if flags & TC or rcode not in (NOERROR, NXDOMAIN):
        raise Unusable(f"flags {flags:#06x}")
    cnames: dict[tuple[bytes, ...], tuple[bytes, ...]] = {}  # owner -> its first target
    addresses: dict[tuple[bytes, ...], list[bytes]] = {}
    for index in range(answers + authority + additional):
        owner, offset = _name(wire, offset)
        rtype, rclass, _ttl, size = struct.unpack_from("!HHIH", wire, offset)
        offset += 10
        end = offset + size
        if end > len(wire):
            raise Unusable("record past the end")
        if index < answers and rclass == CLASS_IN:
            if rtype == CNAME:
                target, used = _name(wire, offset)
                if used != end:
                    raise Unusable("CNAME size")
                cnames.setdefault(owner, target)
            elif rtype == qtype:
                if size != ADDRESS_SIZE[qtype]:
                    raise Unusable("address size")
                addresses.setdefault(owner, []).append(wire[offset:end])
        offset = end
    if offset != len(wire):
        raise Unusable("trailing bytes")
    family = socket.AF_INET if qtype == QTYPES["A"] else socket.AF_INET6
    return _chain(cnames, addresses, name, family, nxdomain=rcode == NXDOMAIN)


def _chain(
    cnames: dict[tuple[bytes, ...], tuple[bytes, ...]],
    addresses: dict[tuple[bytes, ...], list[bytes]],
    name: tuple[bytes, ...],
    family: int,
    *,
    nxdomain: bool,
) -> Reply:
    """Follow CNAMEs from the name asked to its addresses, as dnspython's resolve_chaining."""
    chain: list[str] = []
    for _ in range(MAX_CHAIN + 1):
        found = addresses.get(name)
        if found is not None:
            if nxdomain:
                raise Unusable("an answer with NXDOMAIN")
            # An RRset is a set: each address once, in address order (as resolve.dns sorts).
            ordered = sorted({ipaddress.ip_address(socket.inet_ntop(family, raw)) for raw in found})
            return Reply(False, chain, [str(address) for address in ordered])
        target = cnames.get(name)
        if target is None:
            return Reply(nxdomain, chain, [])
        name = target
        chain.append(_text(name))
    raise Unusable("CNAME chain too long")


def _name(wire: bytes, offset: int) -> tuple[tuple[bytes, ...], int]:
    """The name at `offset` (labels in lower case, ending in the root label) and the offset
    after it. Compression pointers must point backwards, so a loop cannot be built."""
    labels: list[bytes] = []
    after = None
    while True:
        length = wire[offset]
        if length >= 0xC0:
            pointer = ((length & 0x3F) << 8) | wire[offset + 1]
            if after is None:
                after = offset + 2
            if pointer >= offset:
                raise Unusable("forward pointer")
            offset = pointer
            continue
        if length > 63:
            raise Unusable("label type")
        offset += 1
        label = wire[offset : offset + length]
        if len(label) != length:
            raise Unusable("label past the end")
        labels.append(label.lower())
        offset += length
        if length == 0:
            return tuple(labels), offset if after is None else after


def _text(labels: tuple[bytes, ...]) -> str:
    """A name as dnspython's to_text(omit_final_dot=True) writes it, in lower case."""
    return ".".join(_label_text(label) for label in labels[:-1])


def _label_text(label: bytes) -> str:
    if all(0x20 < byte < 0x7F and byte not in _ESCAPED for byte in label):
        return label.decode("ascii")
    return "".join(
        f"\\{chr(byte)}"
        if byte in _ESCAPED
        else chr(byte)
        if 0x20 < byte < 0x7F
        else f"\\{byte:03d}"
        for byte in label
    )
