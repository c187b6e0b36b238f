"""Which addresses the product may connect to, and parsing of host:port settings.

Every outgoing connection (WHOIS, RDAP, DNS answers used for fetching, image fetches) asks
`check_address` first. Without TAKEDOWN_ALLOW_PRIVATE_NETWORK only globally routable unicast
addresses pass: no loopback, RFC 1918, link-local (169.254/16, the cloud metadata address),
CGNAT (100.64/10), multicast, reserved, documentation, ULA, or IPv4-mapped/-translated forms of
any of these. The setting exists for tests and the sandbox, whose servers live on 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
from typing import Final

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Ranges Python's is_global does not reject on every supported version, listed explicitly.
_NOT_PUBLIC: Final = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8",
        "100.64.0.0/10",
        "192.0.0.0/24",
        "198.18.0.0/15",
        "64:ff9b:1::/48",
        "2002::/16",
    )
)


class AddressNotAllowed(Exception):
    """A connection to a non-public address was refused."""


def parse_ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def is_public(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return is_public(embedded)
        if ip in ipaddress.ip_network("64:ff9b::/96"):  # NAT64 with a well-known prefix
            return is_public(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_link_local:
        return False
    return not any(ip.version == net.version and ip in net for net in _NOT_PUBLIC)


def private_network_allowed() -> bool:
    return bool(settings.TAKEDOWN_ALLOW_PRIVATE_NETWORK)


def check_address(ip: IPAddress | str) -> IPAddress:
    """Return the address if the product may connect to it, else raise AddressNotAllowed."""
    address = parse_ip(ip) if isinstance(ip, str) else ip
    if address is None:
        raise AddressNotAllowed(f"{ip!r} is not an IP address")
    if is_public(address) or private_network_allowed():
        return address
    raise AddressNotAllowed(f"{address} is not a public address")


def parse_hostport(text: str, default_port: int) -> tuple[str, int]:
    """'host', 'host:43', '1.2.3.4:43', '[::1]:53' -> (host, port). ValueError when malformed."""
    text = text.strip()
    if not text:
        raise ValueError("empty address")
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, ""
    if not host:
        raise ValueError(f"{text!r} has no host")
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        raise ValueError(f"{text!r} has an invalid port")
    return host, int(port) if port else default_port


def ip_endpoint(entry: str, default_port: int, setting: str) -> tuple[IPAddress, int]:
    """An "ip[:port]" entry of a setting, or ImproperlyConfigured naming the setting."""
    from django.core.exceptions import ImproperlyConfigured

    try:
        host, port = parse_hostport(entry, default_port)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{setting}: {exc}") from None
    address = parse_ip(host)
    if address is None:
        raise ImproperlyConfigured(f"{setting}: {entry!r} is not an IP address (with a port)")
    return address, port
