"""The DNS wire reader of resolve.dns's fast path, on replies built by dnspython (the reference
it must agree with) and on malformed ones it must refuse."""

from __future__ import annotations

import struct

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rrset
import pytest

from takedown.resolve.dns_wire import Reply, Unusable, decode_reply, encode_query

NAME = dns.name.from_text("img.shop.example")


def _reply(
    rdtype: str = "A", rcode: dns.rcode.Rcode = dns.rcode.NOERROR, *rrsets: dns.rrset.RRset
) -> bytes:
    query = dns.message.from_wire(encode_query(4660, NAME.labels, rdtype))
    response = dns.message.make_response(query)
    response.set_rcode(rcode)
    response.answer.extend(rrsets)
    return response.to_wire()  # dnspython compresses names: the reader must follow pointers


def test_encode_query_is_what_dnspython_reads() -> None:
    query = dns.message.from_wire(encode_query(4660, NAME.labels, "AAAA"))

    assert (query.id, query.flags, query.question[0].name) == (4660, dns.flags.RD, NAME)
    assert query.question[0].rdtype == 28


def test_decode_reply_follows_the_cname_chain_to_sorted_addresses() -> None:
    wire = _reply(
        "A",
        dns.rcode.NOERROR,
        dns.rrset.from_text("img.shop.example.", 60, "IN", "CNAME", "Shop.Edgekey.net."),
        dns.rrset.from_text("shop.edgekey.net.", 60, "IN", "CNAME", "e1.akamaiedge.net."),
        dns.rrset.from_text_list("e1.akamaiedge.net.", 60, "IN", "A", ["192.0.2.9", "192.0.2.10"]),
    )

    assert decode_reply(wire, 4660, NAME.labels, "A") == Reply(
        nxdomain=False,
        chain=["shop.edgekey.net", "e1.akamaiedge.net"],
        addresses=["192.0.2.9", "192.0.2.10"],
    )


def test_decode_reply_nxdomain_keeps_the_dangling_chain() -> None:
    wire = _reply(
        "AAAA",
        dns.rcode.NXDOMAIN,
        dns.rrset.from_text("img.shop.example.", 60, "IN", "CNAME", "gone.s3.example."),
    )

    assert decode_reply(wire, 4660, NAME.labels, "AAAA") == Reply(True, ["gone.s3.example"], [])


def test_decode_reply_of_another_query_is_ignored() -> None:
    wire = _reply("A")

    assert decode_reply(wire, 4661, NAME.labels, "A") is None
    assert decode_reply(wire, 4660, NAME.labels, "AAAA") is None
    assert decode_reply(wire, 4660, dns.name.from_text("other.example").labels, "A") is None


@pytest.mark.parametrize("rcode", [dns.rcode.SERVFAIL, dns.rcode.REFUSED, dns.rcode.FORMERR])
def test_decode_reply_error_codes_are_left_to_dnspython(rcode: dns.rcode.Rcode) -> None:
    with pytest.raises(Unusable):
        decode_reply(_reply("A", rcode), 4660, NAME.labels, "A")


def test_decode_reply_truncated_is_left_to_dnspython() -> None:
    wire = bytearray(_reply("A"))
    wire[2] |= 0x02  # TC

    with pytest.raises(Unusable):
        decode_reply(bytes(wire), 4660, NAME.labels, "A")


def test_decode_reply_refuses_a_pointer_loop_and_trailing_bytes() -> None:
    wire = _reply("A")
    header = struct.pack("!HHHHHH", 4660, 0x8180, 1, 1, 0, 0)
    question = wire[12:]
    looping = header + question + b"\xc0" + bytes((len(header + question),)) + b"\0" * 10

    with pytest.raises(Unusable):
        decode_reply(looping, 4660, NAME.labels, "A")
    with pytest.raises(Unusable):
        decode_reply(wire + b"\0", 4660, NAME.labels, "A")
    with pytest.raises(Unusable):
        decode_reply(wire[:-3], 4660, NAME.labels, "A")
