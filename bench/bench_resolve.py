"""Benchmark: resolve every host of the shared LAION sample against slow local servers.

    .venv/bin/python bench/bench_resolve.py                  # SQLite and PostgreSQL
    .venv/bin/python bench/bench_resolve.py --db sqlite --processes 1 --skip-naive --profile
    .venv/bin/python bench/bench_resolve.py --rdap-interval 0.02 --whois-interval 0.02

Issue 3. The sandbox WHOIS, RDAP and DNS servers run in this process on free loopback ports,
each answering after `--latency` seconds (default 50 ms; `--dns-latency` for DNS alone), and
hold a synthetic world for the 663 hosts of ../shared/data/laion-sample-1000.parquet (530
registered domains): generic TLDs answer over RDAP, country-code TLDs over WHOIS with one thick
record (no referral; TLDs the client does not know ask the sandbox's IANA first), and every
host resolves, some through CloudFront, Akamai or Fastly CNAMEs, into one of 100 synthetic
/24 networks registered in RDAP. The product runs in a fresh child process per phase (setup,
cold, warm), so the servers' CPU does not share its interpreter; a phase times
`manage.py resolve_hosts --sync --workers N --processes P` only (not migrations, seeding or the
import); `--profile` writes a cProfile of each phase to var/bench/.

Printed: queries per distinct registered domain (target: exactly one RDAP-or-WHOIS domain
query each on a cold cache, none on a warm one, where DomainRecord and NetworkRecord answer),
wall time, CPU seconds of the resolving process and of the servers, host statuses, and the
ratio against what a caseworker's script does: one `whois -h 127.0.0.1 -p PORT <domain>` per
URL, one after another, against the same server (Debian's whois: `apt-get install whois`;
without it a Python socket loop does the same). Target: at least 20x faster on a cold cache.
Exits 1 when a domain is queried other than once (cold) or at all (warm), or a host fails.

The ceiling (issue 16), a fourth child after warm: the same lookups by the product's own
clients (resolve.lookup.lookup_hosts over every host at once, asking the servers again) with
no claim and no recording of host resolutions. Printed: its seconds and the cold run's share
of it (ceiling seconds / cold seconds; issue 16 target: >= 80% and >= 30x naive).

Politeness: the product spaces queries to one WHOIS/RDAP server by TAKEDOWN_WHOIS_INTERVAL
and TAKEDOWN_RDAP_INTERVAL (1.0 s and 0.2 s by default), keyed by server name for WHOIS and by
base-URL host for RDAP. Every sandbox RDAP answer comes from 127.0.0.1, one throttle key, so
the benchmark sets both intervals (--rdap-interval, --whois-interval; default 0: off) and
prints the floor they put under a cold run, and the floor the defaults put under it against
the real registries. The database is made by bench/common.py: var/bench/resolve.sqlite3, or
BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/takedown_bench, recreated).
"""

from __future__ import annotations

import argparse
import hashlib
import ipaddress
import json
import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import BENCH_DIR, POSTGRES_URL, fresh_django
from takedown.sandbox.world import shared_data_dir

SAMPLE = shared_data_dir() / "laion-sample-1000.parquet"
SQLITE_NAME = "resolve.sqlite3"
CASE_REFERENCE = "TD-BENCH-RESOLVE"

# --- the synthetic world ---------------------------------------------------------------------

# Generic TLDs publish RDAP (the ICANN contracts require it); country codes keep WHOIS.
RDAP_TLDS = frozenset({"com", "net", "org", "info", "biz", "pro", "today", "media", "shop"})
# The registrars behind most of the web: name, IANA id, abuse e-mail, abuse phone (fictitious
# 555-01xx numbers), weight.
REGISTRARS = [
    ("GoDaddy.com, LLC", "146", "abuse@godaddy.com", "+1.5555550101", 30),
    ("MarkMonitor Inc.", "292", "abusecomplaints@markmonitor.com", "+1.5555550102", 15),
    ("Tucows Domains Inc.", "69", "domainabuse@tucows.com", "+1.5555550103", 10),
    ("NameCheap, Inc.", "1068", "abuse@namecheap.com", "+1.5555550104", 12),
    ("Network Solutions, LLC", "2", "abuse@web.com", "+1.5555550105", 8),
    ("eNom, LLC", "48", "abuse@enom.com", "+1.5555550106", 6),
    ("Gandi SAS", "81", "abuse@support.gandi.net", "+1.5555550107", 5),
    ("CSC Corporate Domains, Inc.", "299", "domainabuse@cscglobal.com", "+1.5555550108", 6),
    ("Amazon Registrar, Inc.", "468", "abuse@amazonaws.com", "+1.5555550109", 4),
    ("Squarespace Domains II LLC", "895", "abuse-domains@squarespace.com", "+1.5555550110", 4),
]
# Provider, network name, country, abuse e-mail, weight for sites not pinned below.
HOSTERS = [
    ("Hetzner Online GmbH", "HETZNER-CLOUD", "DE", "abuse@hetzner.com", 10),
    ("OVH SAS", "OVH", "FR", "abuse@ovh.net", 10),
    ("DigitalOcean, LLC", "DIGITALOCEAN", "US", "abuse@digitalocean.com", 10),
    ("Amazon Technologies Inc.", "AMAZON-EC2", "US", "abuse@amazonaws.com", 14),
    ("Akamai Technologies, Inc.", "AKAMAI", "US", "abuse@akamai.com", 3),
    ("Fastly, Inc.", "FASTLY", "US", "abuse@fastly.com", 2),
    ("Google LLC", "GOOGLE", "US", "network-abuse@google.com", 5),
    ("Microsoft Corporation", "MSFT", "US", "abuse@microsoft.com", 3),
    ("Linode LLC", "LINODE-US", "US", "abuse@linode.com", 5),
    ("Leaseweb Netherlands B.V.", "LEASEWEB-NL", "NL", "abuse@nl.leaseweb.com", 5),
    ("IONOS SE", "IONOS", "DE", "abuse@ionos.com", 6),
    ("GoDaddy.com, LLC", "GO-DADDY-COM-LLC", "US", "abuse@godaddy.com", 8),
    ("Automattic, Inc.", "AUTOMATTIC", "US", "abuse@automattic.com", 2),
    ("Cloudflare, Inc.", "CLOUDFLARENET", "US", "abuse@cloudflare.com", 10),
    ("Liquid Web, L.L.C", "LIQUIDWEB", "US", "abuse@liquidweb.com", 4),
    ("Rackspace Hosting", "RACKSPACE", "US", "abuse@rackspace.com", 3),
]
# Registered domains of platforms and CDNs that sit in their owner's networks.
PINNED = {
    "cloudfront.net": "Amazon Technologies Inc.",
    "amazonaws.com": "Amazon Technologies Inc.",
    "wordpress.com": "Automattic, Inc.",
    "wp.com": "Automattic, Inc.",
    "googleapis.com": "Google LLC",
    "blogspot.com": "Google LLC",
    "googleusercontent.com": "Google LLC",
    "windows.net": "Microsoft Corporation",
    "akamaized.net": "Akamai Technologies, Inc.",
    "edgesuite.net": "Akamai Technologies, Inc.",
    "akamaihd.net": "Akamai Technologies, Inc.",
    "fastly.net": "Fastly, Inc.",
    "rackcdn.com": "Rackspace Hosting",
}
NETWORKS = 100
# First octets of public IPv4 space to draw the synthetic /24 networks from.
FIRST_OCTETS = [5, 23, 31, 37, 45, 46, 51, 52, 54, 62, 77, 78, 81, 85, 88, 91, 93, 94, 95]
FIRST_OCTETS += [104, 107, 109, 138, 141, 144, 146, 151, 157, 162, 176, 178, 185, 188, 193]
FIRST_OCTETS += [194, 195, 199, 204, 205, 206, 207, 208, 209, 212, 213, 216, 217]


@dataclass
class World:
    url_domains: list[str]  # the registered domain of every URL, in file order
    hosts: dict[str, str]  # hostname -> registered domain
    rdap_domains: dict[str, dict[str, Any]] = field(default_factory=dict)
    whois_texts: dict[str, str] = field(default_factory=dict)  # ccTLD domains (and IANA)
    gtld_whois_texts: dict[str, str] = field(default_factory=dict)  # for the naive run only
    networks: dict[str, dict[str, Any]] = field(default_factory=dict)  # prefix -> RDAP object
    zone: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def domains(self) -> list[str]:
        return sorted(set(self.hosts.values()))


def build_world(sample: Path, seed: int = 3) -> World:
    from takedown.intake.normalize import normalize_url
    from takedown.intake.readers import read_rows
    from takedown.resolve import whois

    url_domains, hosts = [], {}
    for row in read_rows(sample):
        if row.url is None:
            raise SystemExit(f"row {row.number} of the sample has no URL: {row.error}")
        norm = normalize_url(row.url)
        url_domains.append(norm.registered_domain)
        hosts[norm.hostname] = norm.registered_domain
    world = World(url_domains, hosts)
    rng = random.Random(seed)

    networks_of = _networks(world, rng)
    for domain in world.domains:
        tld = domain.rsplit(".", 1)[1]
        registrar = _weighted(rng, REGISTRARS)
        if tld in RDAP_TLDS:
            world.rdap_domains[domain] = _rdap_domain(domain, registrar, rng)
            world.gtld_whois_texts[domain] = _whois_text(domain, registrar, "US", rng)
        else:
            world.whois_texts[domain] = _whois_text(domain, registrar, _country(tld), rng)
            if tld not in whois.SERVERS:  # the client asks IANA which server to use
                world.whois_texts[tld] = _iana_text(tld)

    for host, domain in sorted(world.hosts.items()):
        owner = PINNED.get(domain) or PINNED.get(domain.split(".", 1)[-1])
        cdn = None if owner else rng.random()
        if cdn is not None and cdn < 0.10:  # a custom name in front of CloudFront
            target = f"d{_digest(host, 13)}.cloudfront.net"
            world.zone[host] = {"CNAME": target}
            world.zone[target] = {"A": _addresses(rng, networks_of["Amazon Technologies Inc."])}
        elif cdn is not None and cdn < 0.15:  # Akamai: two CNAME hops
            edge = f"{host}.edgekey.net"
            final = f"e{rng.randrange(1000, 9999)}.a.akamaiedge.net"
            world.zone[host] = {"CNAME": edge}
            world.zone[edge] = {"CNAME": final}
            world.zone[final] = {"A": _addresses(rng, networks_of["Akamai Technologies, Inc."])}
        elif cdn is not None and cdn < 0.18:
            target = f"{domain.split('.')[0]}.map.fastly.net"
            world.zone[host] = {"CNAME": target}
            world.zone[target] = {"A": _addresses(rng, networks_of["Fastly, Inc."])}
        else:
            site_networks = networks_of[owner] if owner else [_site_network(domain, world)]
            world.zone[host] = {"A": _addresses(rng, site_networks)}
    return world


def _networks(world: World, rng: random.Random) -> dict[str, list[str]]:
    """100 /24 networks shared out among the hosters; provider -> its prefixes."""
    prefixes: set[str] = set()
    while len(prefixes) < NETWORKS:
        first = rng.choice(FIRST_OCTETS)
        prefixes.add(f"{first}.{rng.randrange(256)}.{rng.randrange(256)}.0/24")
    networks_of: dict[str, list[str]] = {hoster[0]: [] for hoster in HOSTERS}
    ordered = sorted(prefixes)
    rng.shuffle(ordered)
    for index, prefix in enumerate(ordered):
        # Every provider gets at least one network, the rest go by weight.
        hoster = HOSTERS[index] if index < len(HOSTERS) else _weighted(rng, HOSTERS)
        networks_of[hoster[0]].append(prefix)
        network = ipaddress.ip_network(prefix)
        world.networks[prefix] = _rdap_network(network, hoster, len(networks_of[hoster[0]]))
    return networks_of


def _site_network(domain: str, world: World) -> str:
    # Stable per site, skewed so a few networks carry many sites, as shared hosting does.
    ordered = sorted(world.networks)
    index = int(_digest(domain, 8), 16) % 1000
    return ordered[int(len(ordered) * (index / 1000) ** 2)]


def _addresses(rng: random.Random, prefixes: list[str]) -> list[str]:
    network = ipaddress.ip_network(rng.choice(prefixes))
    count = 1 if rng.random() < 0.7 else 2
    return [str(network[rng.randrange(1, 255)]) for _ in range(count)]


def _rdap_domain(domain: str, registrar: tuple[Any, ...], rng: random.Random) -> dict[str, Any]:
    from takedown.sandbox.rdap import rdap_domain

    name, iana_id, abuse_email, abuse_phone, _ = registrar
    country = None if rng.random() < 0.6 else rng.choice(["US", "DE", "GB", "FR", "CA", "JP"])
    label = domain.split(".")[0]
    return rdap_domain(
        domain,
        registrar=name,
        iana_id=iana_id,
        abuse_email=abuse_email,
        abuse_phone=abuse_phone,
        registrant_country=country,
        registrant_name=f"{label.capitalize()} Media",
        nameservers=(f"ns1.{label}-dns.net", f"ns2.{label}-dns.net"),
    )


def _rdap_network(
    network: ipaddress.IPv4Network | ipaddress.IPv6Network, hoster: tuple[Any, ...], n: int
) -> dict[str, Any]:
    from takedown.sandbox.rdap import rdap_ip_network

    org, netname, country, abuse, _ = hoster
    return rdap_ip_network(
        str(network.network_address),
        str(network.broadcast_address),
        name=f"{netname}-{n}",
        country=country,
        abuse_email=abuse,
        org=org,
    )


def _whois_text(domain: str, registrar: tuple[Any, ...], country: str, rng: random.Random) -> str:
    label = domain.split(".")[0]
    created = f"{rng.randrange(1998, 2022)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
    if domain.endswith(".de"):  # DENIC discloses no holder, registrar or abuse contact
        return (
            "% Restricted rights.\r\n%\r\n"
            "% The DENIC whois service on port 43 doesn't disclose any information concerning\r\n"
            "% the domain holder, general request and abuse contact.\r\n\r\n"
            f"Domain: {domain}\r\nNserver: ns1.{label}-dns.de\r\nNserver: ns2.{label}-dns.de\r\n"
            f"Status: connect\r\nChanged: {created}T10:00:00+01:00\r\n"
        )
    name, iana_id, abuse_email, abuse_phone, _ = registrar
    redacted = rng.random() < 0.5
    registrant = "REDACTED FOR PRIVACY" if redacted else f"{label.capitalize()} Ltd"
    return (
        f"Domain Name: {domain.upper()}\r\n"
        f"Registry Domain ID: {_digest(domain, 10).upper()}-SANDBOX\r\n"
        f"Updated Date: 2025-06-01T00:00:00Z\r\nCreation Date: {created}T00:00:00Z\r\n"
        f"Registrar: {name}\r\nRegistrar IANA ID: {iana_id}\r\n"
        f"Registrar Abuse Contact Email: {abuse_email}\r\n"
        f"Registrar Abuse Contact Phone: {abuse_phone}\r\n"
        "Domain Status: ok\r\n"
        f"Registrant Organization: {registrant}\r\nRegistrant Country: {country}\r\n"
        f"Name Server: ns1.{label}-dns.net\r\nName Server: ns2.{label}-dns.net\r\n"
        ">>> Last update of WHOIS database: 2026-01-01T00:00:00Z <<<\r\n"
    )


def _iana_text(tld: str) -> str:
    return (
        "% IANA WHOIS server\r\n% for more information on IANA, visit http://www.iana.org\r\n\r\n"
        f"refer:        whois.nic.{tld}\r\n\r\ndomain:       {tld.upper()}\r\n"
        f"whois:        whois.nic.{tld}\r\nstatus:       ACTIVE\r\n"
    )


def _country(tld: str) -> str:
    code = tld.upper()
    return {"UK": "GB", "EU": "BE", "EDU": "US", "GOV": "US", "SU": "RU"}.get(code, code)


def _weighted(rng: random.Random, items: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    return rng.choices(items, weights=[item[-1] for item in items])[0]


def _digest(text: str, size: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:size]


# --- the servers -----------------------------------------------------------------------------


@dataclass
class Servers:
    whois: Any
    rdap: Any
    dns: Any
    bootstrap: Path

    def env(self) -> dict[str, str]:
        return {
            "TAKEDOWN_WHOIS_SERVER": self.whois.address,
            "TAKEDOWN_WHOIS_SERVERS": "",
            "TAKEDOWN_RDAP_BOOTSTRAP": str(self.bootstrap),
            "TAKEDOWN_DNS_NAMESERVERS": self.dns.address,
            "TAKEDOWN_ALLOW_PRIVATE_NETWORK": "1",
        }

    def counts(self) -> dict[str, Counter[str]]:
        """Queries so far: domain queries per registered domain, and the rest."""
        from takedown.sandbox.whois import domain_of

        counts: dict[str, Counter[str]] = {
            "domain": Counter(),
            "ip": Counter(),
            "iana": Counter(),
            "dns": Counter(),
        }
        for query in self.whois.queries:
            name = domain_of(query)
            counts["domain" if "." in name else "iana"][name] += 1
        for (_vhost, target), n in self.rdap.counts.items():
            kind, _, key = target.lstrip("/").partition("/")
            counts["domain" if kind == "domain" else "ip"][key] += n
        for (name, rdtype), n in self.dns.counts.items():
            counts["dns"][f"{name} {rdtype}"] += n
        return counts

    def stop(self) -> None:
        for server in (self.whois, self.rdap, self.dns):
            server.stop()


def start_servers(world: World, latency: float, dns_latency: float) -> Servers:
    from takedown.sandbox.dns import DnsServer
    from takedown.sandbox.rdap import RdapServer
    from takedown.sandbox.whois import WhoisServer

    whois = WhoisServer(world.whois_texts, latency=latency).start()
    rdap = RdapServer(latency=latency).start()
    dns = DnsServer(world.zone, latency=dns_latency).start()
    for domain, answer in world.rdap_domains.items():
        rdap.add_domain(domain, answer)
    for prefix, answer in world.networks.items():
        rdap.add_ip(prefix, answer)
    bootstrap = rdap.write_bootstrap(BENCH_DIR / "rdap-bootstrap", sorted(RDAP_TLDS))
    return Servers(whois, rdap, dns, bootstrap)


def delta(after: dict[str, Counter[str]], before: dict[str, Counter[str]]) -> dict[str, Any]:
    return {kind: after[kind] - before[kind] for kind in after}


# --- the product, in a child process ---------------------------------------------------------


def child(phase: str, db: str, workers: int) -> None:
    """Runs in a fresh process: `setup` builds the database, `cold` and `warm` resolve."""
    if phase == "setup":
        fresh_django(db, SQLITE_NAME)
    else:
        os.environ["DATABASE_URL"] = (
            f"sqlite:///{BENCH_DIR / SQLITE_NAME}" if db == "sqlite" else POSTGRES_URL
        )
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from takedown.models import Host

    if phase == "setup":
        from takedown.cases import open_case
        from takedown.intake.store import import_links

        call_command("seed_directory", stdout=StringIO())
        case = open_case(reference=CASE_REFERENCE)
        report = import_links(case, [SAMPLE], dataset="laion-5b")
        print(json.dumps({"rows": report.rows, "hosts": Host.objects.count()}))
        return

    from takedown.resolve.hosts import request_resolution

    if phase == "ceiling":
        print(json.dumps(ceiling()))
        return
    if phase == "warm":
        request_resolution(Host.objects.all())
    out = StringIO()
    profile = None
    if os.environ.get("BENCH_PROFILE"):
        import cProfile

        # Since Python 3.12 cProfile sees every thread (sys.monitoring), not only this one.
        profile = cProfile.Profile()
        profile.enable()
    cpu = _cpu_seconds(children=True)
    started = time.perf_counter()
    call_command(
        "resolve_hosts",
        "--sync",
        "--workers",
        str(workers),
        "--processes",
        os.environ.get("BENCH_PROCESSES", "1"),
        stdout=out,
    )
    seconds = time.perf_counter() - started
    cpu = _cpu_seconds(children=True) - cpu
    if profile is not None:
        profile.disable()
        profile.dump_stats(BENCH_DIR / f"resolve-{db}-{phase}.prof")
    errors: Counter[str] = Counter()
    for host in Host.objects.select_related("current"):
        for error in host.current.errors if host.current else [{"message": "no resolution"}]:
            errors[f"{error.get('source', '?')}: {error.get('message', '?')}"] += 1
    statuses = Counter(Host.objects.values_list("status", flat=True))
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu": cpu,
                "statuses": statuses,
                "errors": errors,
                "throttle": "redis" if settings.CELERY_BROKER_URL.startswith("redis") else "db",
                "output": out.getvalue().strip().splitlines()[-1:],
            }
        )
    )


def ceiling() -> dict[str, float]:
    """The same lookups by the product's clients (lookup_hosts: DNS, RDAP, WHOIS, one query
    per registered domain and network), all hosts in one call, asking the servers again
    (refresh), with no claim and no recording of host resolutions: the ceiling of a cold run."""
    from takedown.models import Host
    from takedown.resolve.lookup import lookup_hosts

    targets = list(
        Host.objects.order_by("registered_domain", "pk").values_list(
            "hostname", "registered_domain", "platform_suffix", "is_ip"
        )
    )
    cpu = _cpu_seconds()
    started = time.perf_counter()
    lookup_hosts(targets, refresh=True)
    return {"seconds": time.perf_counter() - started, "cpu": _cpu_seconds() - cpu}


def _cpu_seconds(*, children: bool = False) -> float:
    """CPU of this process, with `children` also of its finished children (the processes of
    resolve_hosts --processes; not the bench's own product children)."""
    kinds = (
        (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN) if children else (resource.RUSAGE_SELF,)
    )
    return sum(usage.ru_utime + usage.ru_stime for usage in map(resource.getrusage, kinds))


def run_child(phase: str, db: str, args: argparse.Namespace, env: dict[str, str]) -> Any:
    command = [sys.executable, __file__, "--child", phase, "--db", db]
    command += ["--workers", str(args.workers)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"{phase} on {db} failed with exit code {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the naive approach ----------------------------------------------------------------------


def naive(world: World, servers: Servers) -> tuple[float, int, str]:
    """One WHOIS query per URL, one after another: (seconds, answered, client used)."""
    for domain, text in world.gtld_whois_texts.items():
        servers.whois.add(domain, text)  # so every URL gets an answer, as in real life
    client = shutil.which("whois")
    host, port = servers.whois.host, servers.whois.port
    answered = 0
    started = time.perf_counter()
    for domain in world.url_domains:
        if client:
            answer = subprocess.run(
                [client, "-h", host, "-p", str(port), domain], capture_output=True, check=False
            ).stdout
        else:
            answer = _whois_socket(host, port, domain)
        answered += b"Domain" in answer
    seconds = time.perf_counter() - started
    return seconds, answered, client or "python socket loop"


def _whois_socket(host: str, port: int, domain: str) -> bytes:
    # What `whois -h HOST -p PORT DOMAIN` does: connect, send the query line, read to EOF.
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(domain.encode() + b"\r\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


# --- report ----------------------------------------------------------------------------------


def throttle_floor(world: World, rdap_interval: float, whois_interval: float) -> str:
    """The shortest cold run the intervals allow here: the busiest throttle key's queue."""
    from takedown.resolve import whois

    keys: Counter[str] = Counter()
    for domain in world.domains:
        tld = domain.rsplit(".", 1)[1]
        if tld in RDAP_TLDS:
            keys["rdap:127.0.0.1"] += 1  # every sandbox RDAP base URL is on this host
        else:
            keys[f"whois:{whois.SERVERS.get(tld, f'whois.nic.{tld}')}"] += 1
    # At least one /ip query for every network a host's address lies in.
    addresses = Counter(ip for records in world.zone.values() for ip in records.get("A", []))
    keys["rdap:127.0.0.1"] += networks_hit(world, addresses)
    floors = {
        key: n * (rdap_interval if key.startswith("rdap:") else whois_interval)
        for key, n in keys.items()
    }
    key = max(floors, key=lambda k: floors[k])
    return f"{floors[key]:.2f} s ({key}: {keys[key]} queries)"


def real_floor(world: World) -> str:
    """The same with the product's default intervals against the real registries, where
    .com and .net share one RDAP server (Verisign's)."""
    verisign = sum(1 for domain in world.domains if domain.rsplit(".", 1)[1] in ("com", "net"))
    return f"{verisign * 0.2:.0f} s ({verisign} .com/.net domains at 0.2 s to rdap.verisign.com)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--workers", type=int, default=4, help="resolve_hosts --workers")
    parser.add_argument("--processes", type=int, default=2, help="resolve_hosts --processes")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per WHOIS/RDAP query")
    parser.add_argument("--dns-latency", type=float, help="seconds per DNS query (as --latency)")
    parser.add_argument("--rdap-interval", type=float, default=0.0, help="TAKEDOWN_RDAP_INTERVAL")
    parser.add_argument("--whois-interval", type=float, default=0.0, help="TAKEDOWN_WHOIS_INTERVAL")
    parser.add_argument("--skip-naive", action="store_true", help="leave out the naive run")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run the resolving phases under cProfile (slower) and write "
        "var/bench/resolve-DB-PHASE.prof",
    )
    parser.add_argument(
        "--no-ceiling", action="store_true", help="leave out the lookups without recording"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.db, args.workers)
        return
    if not SAMPLE.is_file():
        raise SystemExit(f"the shared sample is missing: {SAMPLE}")
    dns_latency = args.latency if args.dns_latency is None else args.dns_latency
    # Reading the sample goes through the importer's reader, which reads its limits from the
    # settings (the children set up Django themselves).
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    world = build_world(SAMPLE)
    servers = start_servers(world, args.latency, dns_latency)
    env = {
        **os.environ,
        **servers.env(),
        "TAKEDOWN_RDAP_INTERVAL": str(args.rdap_interval),
        "TAKEDOWN_WHOIS_INTERVAL": str(args.whois_interval),
        "BENCH_PROCESSES": str(args.processes),
        **({"BENCH_PROFILE": "1"} if args.profile else {}),
    }
    domains = len(world.domains)
    print(
        f"{len(world.url_domains):,} URLs, {len(world.hosts)} hosts, {domains} registered "
        f"domains ({len(world.rdap_domains)} over RDAP, {domains - len(world.rdap_domains)} "
        f"over WHOIS), {len(world.networks)} networks; latency {args.latency * 1000:g} ms per "
        f"WHOIS/RDAP query, {dns_latency * 1000:g} ms per DNS query; {args.workers} workers "
        f"in {args.processes} processes; "
        f"{os.cpu_count()} CPUs"
    )
    print(
        f"throttle: TAKEDOWN_RDAP_INTERVAL={args.rdap_interval:g} s, "
        f"TAKEDOWN_WHOIS_INTERVAL={args.whois_interval:g} s per server; floor for a cold run "
        f"{throttle_floor(world, args.rdap_interval, args.whois_interval)}; with the product "
        f"defaults against real registries {real_floor(world)}"
    )
    failures = []
    rows = []
    try:
        for db in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
            setup = run_child("setup", db, args, env)
            if setup["hosts"] != len(world.hosts):
                failures.append(f"{db}: imported {setup['hosts']} hosts, not {len(world.hosts)}")
            row: dict[str, Any] = {"db": db}
            for phase in ("cold", "warm"):
                before, cpu = servers.counts(), _cpu_seconds()
                result = run_child(phase, db, args, env)
                result["server_cpu"] = _cpu_seconds() - cpu
                queries = delta(servers.counts(), before)
                row[phase] = (result, queries)
                row.setdefault("networks", {})[phase] = networks_hit(world, queries["ip"])
                failures += check(db, phase, world, result, queries)
            if not args.no_ceiling:
                before = servers.counts()
                row["ceiling"] = run_child("ceiling", db, args, env)
                row["ceiling"]["domain_queries"] = sum(
                    delta(servers.counts(), before)["domain"].values()
                )
            rows.append(row)
            report_details(row)
        naive_result = None if args.skip_naive else naive(world, servers)
    finally:
        servers.stop()
    report_table(world, rows, naive_result)
    if failures:
        print("\nFAILED:\n  " + "\n  ".join(failures))
        raise SystemExit(1)


def check(
    db: str, phase: str, world: World, result: dict[str, Any], queries: dict[str, Any]
) -> list[str]:
    failures = []
    wanted = 1 if phase == "cold" else 0
    wrong = {d: n for d in world.domains if (n := queries["domain"][d]) != wanted}
    if wrong or set(queries["domain"]) - set(world.domains):
        failures.append(f"{db} {phase}: domain queries not {wanted} each: {dict(wrong)}")
    unexpected = set(result["statuses"]) - {"resolved", "partial"}
    if unexpected:
        failures.append(f"{db} {phase}: host statuses {result['statuses']}")
    return failures


def networks_hit(world: World, addresses: Counter[str]) -> int:
    """How many of the world's networks the RDAP /ip queries were about (with single flight
    per network, as many as there were /ip queries)."""
    networks = [ipaddress.ip_network(prefix) for prefix in world.networks]
    hit = {
        network
        for address in addresses
        for network in networks
        if ipaddress.ip_address(address) in network
    }
    return len(hit)


def report_details(row: dict[str, Any]) -> None:
    for phase in ("cold", "warm"):
        result, queries = row[phase]
        statuses = ", ".join(f"{n} {s}" for s, n in sorted(result["statuses"].items()))
        print(
            f"{row['db']:<8} {phase}: {result['seconds']:.2f} s, resolving process "
            f"{result['cpu']:.2f} CPU s, sandbox servers {result['server_cpu']:.2f} CPU s; "
            f"hosts: {statuses}\n"
            f"{'':<14}queries: {sum(queries['domain'].values())} domain (RDAP+WHOIS), "
            f"{sum(queries['ip'].values())} RDAP /ip in {row['networks'][phase]} networks, "
            f"{sum(queries['iana'].values())} IANA, {sum(queries['dns'].values())} DNS; "
            f"throttle store: {result['throttle']}",
            flush=True,
        )
        for message, n in sorted(result["errors"].items(), key=lambda item: -item[1])[:5]:
            print(f"{'':<14}{n:>4} x {message}")
    if "ceiling" in row:
        ceiling, cold = row["ceiling"], row["cold"][0]
        print(
            f"{row['db']:<8} ceiling: the same lookups without recording (lookup_hosts, one "
            f"process): {ceiling['seconds']:.2f} s, {ceiling['cpu']:.2f} CPU s, "
            f"{ceiling['domain_queries']} domain queries; the cold run is at "
            f"{ceiling['seconds'] / cold['seconds']:.0%} of it",
            flush=True,
        )


def report_table(
    world: World, rows: list[dict[str, Any]], naive_result: tuple[float, int, str] | None
) -> None:
    domains = len(world.domains)
    if naive_result is not None:
        seconds, answered, client = naive_result
        print(
            f"naive: {len(world.url_domains):,} WHOIS queries one after another with {client}: "
            f"{seconds:.2f} s, {answered} answered"
        )
    print(
        f"\n{'db':<9} {'hosts':>5} {'domains':>7} | {'cold s':>7} {'dom q':>6} {'q/dom':>5} | "
        f"{'warm s':>7} {'dom q':>6} | {'naive s':>7} {'ratio':>6}"
    )
    for row in rows:
        cold, cold_q = row["cold"]
        warm, warm_q = row["warm"]
        cold_n, warm_n = sum(cold_q["domain"].values()), sum(warm_q["domain"].values())
        naive_s = f"{naive_result[0]:>7.2f}" if naive_result else f"{'-':>7}"
        ratio = f"{naive_result[0] / cold['seconds']:>5.1f}x" if naive_result else f"{'-':>6}"
        print(
            f"{row['db']:<9} {len(world.hosts):>5} {domains:>7} | {cold['seconds']:>7.2f} "
            f"{cold_n:>6} {cold_n / domains:>5.2f} | {warm['seconds']:>7.2f} {warm_n:>6} | "
            f"{naive_s} {ratio}"
        )
    if naive_result is not None:
        print("target: cold at least 20x faster than naive, 1.00 domain queries per domain")


if __name__ == "__main__":
    main()
