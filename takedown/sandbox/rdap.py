"""An RDAP server (RFC 9082/9083) with answers from dicts, and builders for realistic objects.

It answers /domain/<name>, /ip/<address or prefix> (the most specific registered network
containing it, as registries do) and /entity/<handle>. An answer is a JSON-ready dict or any
HTTP route from `sandbox.http`, e.g. `rate_limited()`, `BAD_JSON`, `Slow(2, rdap_json(obj))`.
`write_bootstrap` writes IANA-format bootstrap files (RFC 9224) pointing at this server.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

from takedown.sandbox.http import HttpHost, Response, Route

CONTENT_TYPE = "application/rdap+json"
JSON = dict[str, Any]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def rdap_json(obj: JSON, code: int = 200, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    return Response(json.dumps(obj, indent=1).encode(), CONTENT_TYPE, code, headers)


def rdap_error(code: int, title: str) -> Response:
    return rdap_json({"errorCode": code, "title": title, "description": [title]}, code)


def rate_limited(retry_after: int = 1) -> Response:
    return rdap_json(
        {"errorCode": 429, "title": "Too Many Requests", "description": ["Slow down."]},
        429,
        (("Retry-After", str(retry_after)),),
    )


NOT_FOUND = rdap_error(404, "Not Found")
BAD_JSON = Response(b'{"objectClassName": "domain", "ldhName": ', CONTENT_TYPE)


# --- builders ------------------------------------------------------------------------------


def vcard(
    fn: str,
    *,
    kind: str = "org",
    email: str | None = None,
    tel: str | None = None,
    cc: str | None = None,
) -> list[Any]:
    """A jCard (RFC 7095). The country sits only in the adr `cc` parameter, with an empty
    country-name component, as the ICANN gTLD RDAP profile prescribes."""
    props: list[Any] = [["version", {}, "text", "4.0"], ["fn", {}, "text", fn]]
    props.append(["kind", {}, "text", kind])
    if cc is not None:
        props.append(["adr", {"cc": cc}, "text", ["", "", "", "", "", "", ""]])
    if email is not None:
        props.append(["email", {}, "text", email])
    if tel is not None:
        props.append(["tel", {"type": "voice"}, "uri", f"tel:{tel}"])
    return ["vcard", props]


def rdap_entity(
    handle: str | None,
    roles: list[str],
    *,
    fn: str,
    email: str | None = None,
    tel: str | None = None,
    cc: str | None = None,
    entities: list[JSON] | None = None,
    public_ids: list[JSON] | None = None,
) -> JSON:
    entity: JSON = {"objectClassName": "entity"}
    if handle is not None:
        entity["handle"] = handle
    entity["roles"] = roles
    entity["vcardArray"] = vcard(fn, email=email, tel=tel, cc=cc)
    if public_ids:
        entity["publicIds"] = public_ids
    if entities:
        entity["entities"] = entities
    return entity


def rdap_domain(
    name: str,
    *,
    registrar: str = "Sandbox Registrar, Inc.",
    iana_id: str = "9999",
    abuse_email: str = "abuse@registrar.example",
    abuse_phone: str = "+1.5555550100",
    registrant_country: str | None = None,
    registrant_name: str = "Sandbox Holder",
    nameservers: tuple[str, ...] = ("ns1.sandbox.example", "ns2.sandbox.example"),
) -> JSON:
    """A gTLD domain as registries publish it: registrar with IANA id and nested abuse
    contact; the registrant shows only a country (`registrant_country`) or, when that is
    None, is redacted for privacy."""
    # Registries give the registrar's nested abuse contact no handle of its own.
    abuse = rdap_entity(None, ["abuse"], fn="Abuse Contact", email=abuse_email, tel=abuse_phone)
    registrar_entity = rdap_entity(
        f"{iana_id}",
        ["registrar"],
        fn=registrar,
        entities=[abuse],
        public_ids=[{"type": "IANA Registrar ID", "identifier": iana_id}],
    )
    if registrant_country is None:
        registrant = rdap_entity("REDACTED", ["registrant"], fn="REDACTED FOR PRIVACY")
        registrant["remarks"] = [
            {
                "title": "REDACTED FOR PRIVACY",
                "type": "object redacted due to authorization",
                "description": ["Some of the data in this object has been removed."],
            }
        ]
    else:
        registrant = rdap_entity("REG-1", ["registrant"], fn=registrant_name, cc=registrant_country)
    return {
        "rdapConformance": ["rdap_level_0", "icann_rdap_response_profile_1"],
        "objectClassName": "domain",
        "handle": f"{name.upper().replace('.', '_')}-SANDBOX",
        "ldhName": name.lower(),
        "status": ["client transfer prohibited"],
        "entities": [registrar_entity, registrant],
        "events": [
            {"eventAction": "registration", "eventDate": "2015-03-01T10:00:00Z"},
            {"eventAction": "expiration", "eventDate": "2031-03-01T10:00:00Z"},
        ],
        "nameservers": [{"objectClassName": "nameserver", "ldhName": ns} for ns in nameservers],
        "secureDNS": {"delegationSigned": False},
    }


def rdap_ip_network(
    start: str,
    end: str,
    *,
    name: str = "SANDBOX-NET",
    country: str = "DE",
    abuse_email: str = "abuse@hoster.example",
    org: str = "Sandbox Hosting GmbH",
) -> JSON:
    """An IP network as a regional registry publishes it, with an abuse-role entity."""
    version = "v6" if ":" in start else "v4"
    return {
        "rdapConformance": ["rdap_level_0"],
        "objectClassName": "ip network",
        "handle": f"{start} - {end}",
        "startAddress": start,
        "endAddress": end,
        "ipVersion": version,
        "name": name,
        "type": "ASSIGNED PA",
        "country": country,
        "entities": [
            rdap_entity("ORG-SANDBOX", ["registrant"], fn=org, cc=country),
            rdap_entity("ABUSE-SANDBOX", ["abuse"], fn="Abuse Team", email=abuse_email),
        ],
    }


# --- the server ----------------------------------------------------------------------------


class RdapServer(HttpHost):
    def __init__(self, host: str = "127.0.0.1", port: int = 0, latency: float = 0.0) -> None:
        super().__init__(host, port, latency)
        self._domains: dict[str, Route] = {}
        self._networks: dict[Network, Route] = {}
        self._entities: dict[str, Route] = {}

    def add_domain(self, name: str, answer: JSON | Route) -> None:
        with self._lock:
            self._domains[name.lower().rstrip(".")] = _route(answer)

    def add_ip(self, network: str, answer: JSON | Route) -> None:
        """`network` is a prefix ("192.0.2.0/24") or one address."""
        with self._lock:
            self._networks[ipaddress.ip_network(network, strict=False)] = _route(answer)

    def add_entity(self, handle: str, answer: JSON | Route) -> None:
        with self._lock:
            self._entities[handle] = _route(answer)

    def route_for(self, virtual_host: str, target: str) -> Route:
        super().route_for(virtual_host, target)  # counts the request
        kind, _, key = target.split("?", 1)[0].lstrip("/").partition("/")
        with self._lock:
            if kind == "domain":
                return self._domains.get(key.lower().rstrip("."), NOT_FOUND)
            if kind == "entity":
                return self._entities.get(key, NOT_FOUND)
            if kind == "ip":
                return self._network_route(key)
        return rdap_error(400, "Bad Request")

    def _network_route(self, key: str) -> Route:
        try:
            wanted = ipaddress.ip_network(key, strict=False)
        except ValueError:
            return rdap_error(400, "Bad Request")
        containing = [
            net
            for net in self._networks
            if net.version == wanted.version and wanted.subnet_of(net)  # type: ignore[arg-type]
        ]
        if not containing:
            return NOT_FOUND
        return self._networks[max(containing, key=lambda net: net.prefixlen)]

    def write_bootstrap(self, directory: Path | str, tlds: list[str] | None = None) -> Path:
        """Write dns.json, ipv4.json and ipv6.json into `directory` and return it.

        The DNS file covers `tlds` (default: the TLDs of every domain added so far); the IP
        files cover all addresses, since any network lookup should land here.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        if tlds is None:
            tlds = sorted({name.rsplit(".", 1)[-1] for name in self._domains})
        base = [f"{self.url}/"]
        for filename, entries in (
            ("dns.json", tlds),
            ("ipv4.json", ["0.0.0.0/0"]),
            ("ipv6.json", ["::/0"]),
        ):
            bootstrap = {
                "description": f"RDAP bootstrap file for the Takedown sandbox ({filename})",
                "publication": "2026-01-01T00:00:00Z",
                "services": [[entries, base]],
                "version": "1.0",
            }
            (directory / filename).write_text(json.dumps(bootstrap, indent=2) + "\n")
        return directory

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self._domains.clear()
            self._networks.clear()
            self._entities.clear()


def _route(answer: JSON | Route) -> Route:
    return rdap_json(answer) if isinstance(answer, dict) else answer
