"""Benchmark: recheck 10,000 links spread over 1,000 image hosts that answer after 50 ms.

    .venv/bin/python bench/bench_recheck.py                 # SQLite
    .venv/bin/python bench/bench_recheck.py --db postgres --links 2000 --hosts 200

Issue 5. A child process runs the sandbox: a DNS server that resolves host0.bench ...
host999.bench to 127.0.0.1 and one HTTP server that plays all of them (virtual hosts by the
Host header), answering every request after --latency seconds (50 ms) with one of 20 JPEG
photos (640x480). The product runs in this process with its default politeness: at most
TAKEDOWN_RECHECK_PER_HOST (2) requests at once and TAKEDOWN_RECHECK_POLITENESS_DELAY (1 s)
between two starts to one hostname, TAKEDOWN_RECHECK_CONCURRENCY (64) in flight overall.

Timed: `manage.py recheck_links --sync` end to end (lease, claim, fetch, hash, decide, one
LinkCheck row per link and the FoundLink updates, in rounds of TAKEDOWN_RECHECK_DISPATCH_LINKS),
twice: the first pass records the evidence, the second is a recheck against it (the links are
made due again in between, untimed). Not timed: migrations and creating the links.

The naive loop is what a caseworker's script does: one GET at a time (urllib, a new
connection each time) plus the same SHA-256/pHash/PDQ hashing, no database. It runs on a
sample of --naive-sample links and is extrapolated to all links (printed as such).
Targets: >= 300 checks/s and >= 15x the naive loop. Exits 1 when a link's verdict is wrong.

The ceiling (issue 16), measured in the same run: the bare fetch-and-hash loop without the
database, the product's own fetcher (`fetch_each_async`) over the same URLs with the same
politeness and concurrency, hashing each body in the loop's thread pool as the product does:
SHA-256, pHash and PDQ for the evidence pass; SHA-256 compared with the known one (and the
perceptual hashes only on a mismatch) for the recheck pass. The share printed is ceiling
seconds / product seconds (issue 16 target: >= 80%).

Where the time goes: every pass and ceiling also prints the CPU it cost per check in this
process (the product or the bare loop), in the sandbox server and in the PostgreSQL backend
(from /proc): on a shared 2-core machine CPU seconds are steadier than wall seconds, and they
show which process sets the floor. `--profile` runs each of them under cProfile (slower) and
writes var/bench/recheck-PASS.prof and ceiling-PASS.prof.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import BENCH_DIR, fresh_django

SEEDS = 20


def serve(hosts: int, latency: float) -> None:
    """Child process: the sandbox DNS and HTTP servers until stdin closes."""
    from takedown.sandbox.dns import DnsServer
    from takedown.sandbox.http import HttpHost, image

    dns = DnsServer()
    for n in range(hosts):
        dns.add(f"host{n}.bench", A=["127.0.0.1"])
    http = HttpHost(latency=latency)
    for seed in range(SEEDS):
        http.add_route(f"/img{seed}.jpg", image(seed + 1))
    with dns, http:
        print(json.dumps({"dns": dns.address, "http_port": http.port}), flush=True)
        sys.stdin.read()


def make_links(count: int, hosts: int, port: int) -> list[str]:
    from django.db import transaction

    from takedown.intake.normalize import normalize_url
    from takedown.models import Case, FoundLink, Host

    with transaction.atomic():
        case = Case.objects.create(reference="TD-BENCH-RECHECK", category="medical")
        host_ids = {
            host.hostname: host.pk
            for host in Host.objects.bulk_create(
                Host(hostname=f"host{n}.bench", registered_domain=f"host{n}.bench")
                for n in range(hosts)
            )
        }
        urls = []
        links = []
        for i in range(count):
            name = f"host{i % hosts}.bench"
            normal = normalize_url(f"http://{name}:{port}/img{i % SEEDS}.jpg?n={i}")
            urls.append(normal.url)
            links.append(
                FoundLink(
                    case=case,
                    host_id=host_ids[name],
                    url=normal.url,
                    url_sha256=normal.url_sha256,
                    status=FoundLink.Status.NOTIFIED,
                )
            )
        FoundLink.objects.bulk_create(links, batch_size=2000)
    return urls


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) process `pid` has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def database_pid() -> int | None:
    """The PostgreSQL backend serving this process's connection (None on SQLite)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


class Meter:
    """Wall seconds and CPU seconds of this process, the sandbox server and the database
    backend over a stretch of the benchmark: where a pass's time goes."""

    def __init__(self, server_pid: int) -> None:
        self.pids = {"server": server_pid, "database": database_pid()}

    def __enter__(self) -> Meter:
        self.start = self._read()
        return self

    def __exit__(self, *exc_info: object) -> None:
        end = self._read()
        self.used = {name: end[name] - self.start[name] for name in end}

    def _read(self) -> dict[str, float]:
        values = {"wall": time.perf_counter(), "product": time.process_time()}
        for name, pid in self.pids.items():
            if pid is not None:
                values[name] = cpu_seconds(pid)
        return values

    def describe(self, links: int) -> str:
        per_check = ", ".join(
            f"{name} {self.used[name] * 1e6 / links:.0f}"
            for name in ("product", "server", "database")
            if name in self.used
        )
        return f"CPU us per check: {per_check}"


def timed_pass(name: str, server_pid: int, profile: bool) -> Meter:
    from io import StringIO

    from django.core.management import call_command
    from django.utils import timezone

    from takedown.models import FoundLink

    FoundLink.objects.update(next_check_at=timezone.now())
    with Meter(server_pid) as meter, profiled(f"recheck-{name}", profile):
        call_command("recheck_links", "--sync", stdout=StringIO())
    return meter


@contextlib.contextmanager
def profiled(name: str, enabled: bool) -> Iterator[None]:
    """cProfile of the block into var/bench/NAME.prof, and its top functions printed."""
    if not enabled:
        yield
        return
    import cProfile
    import pstats

    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        path = BENCH_DIR / f"{name}.prof"
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        profile.dump_stats(path)
        print(f"--- {name}: cProfile in {path}, top by own time")
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)


def naive(urls: list[str], port: int) -> float:
    """One GET at a time, then the same hashing: seconds for len(urls) links."""
    import urllib.request

    from takedown.checks.hashing import image_hashes

    started = time.perf_counter()
    for url in urls:
        # The system resolver does not know the sandbox names: connect to the address the
        # sandbox DNS would give and name the host in the Host header, as a browser would.
        host = url.split("/")[2].split(":")[0]
        path = "/" + url.split("/", 3)[3]
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host})
        with urllib.request.urlopen(request, timeout=10) as response:
            image_hashes(response.read())
    return time.perf_counter() - started


def ceiling(urls: list[str], known: dict[str, str] | None) -> float:
    """Seconds for the bare fetch-and-hash loop over `urls` (see the module docstring); with
    `known` (URL -> SHA-256 of the evidence) as a recheck."""
    import asyncio
    import hashlib

    from django.conf import settings

    from takedown.checks.fetch import FetchResult, fetch_each_async
    from takedown.checks.hashing import image_hashes

    def hash_body(index: int, result: FetchResult) -> str:
        body = result.body or b""
        digest = hashlib.sha256(body).hexdigest()
        if known is None or known.get(urls[index]) != digest:
            image_hashes(body)
        return digest

    started = time.perf_counter()
    asyncio.run(
        fetch_each_async(
            urls,
            hash_body,
            per_host=settings.TAKEDOWN_RECHECK_PER_HOST,
            concurrency=settings.TAKEDOWN_RECHECK_CONCURRENCY,
            politeness_delay=settings.TAKEDOWN_RECHECK_POLITENESS_DELAY,
            handle_in_thread=True,
        )
    )
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--links", type=int, default=10_000)
    parser.add_argument("--hosts", type=int, default=1_000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--naive-sample", type=int, default=300)
    parser.add_argument("--no-ceiling", action="store_true", help="skip the ceiling loops")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run each pass and ceiling under cProfile (slower), write var/bench/*.prof",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.hosts, args.latency)
        return 0

    server = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve",
            "--hosts",
            str(args.hosts),
            "--latency",
            str(args.latency),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        endpoints = json.loads(server.stdout.readline())  # type: ignore[union-attr]
        port = endpoints["http_port"]
        os.environ.update(
            TAKEDOWN_ALLOW_PRIVATE_NETWORK="1",
            TAKEDOWN_DNS_NAMESERVERS=endpoints["dns"],
            TAKEDOWN_FETCH_PORTS=f"80,443,{port}",
        )
        fresh_django(args.db, "recheck.sqlite3")
        from django.conf import settings
        from django.db.models import Count

        from takedown.models import FoundLink, LinkCheck

        urls = make_links(args.links, args.hosts, port)
        print(
            f"{args.links} links on {args.hosts} hosts, {args.latency * 1000:.0f} ms latency, "
            f"database {args.db}; politeness: {settings.TAKEDOWN_RECHECK_PER_HOST} per host, "
            f"{settings.TAKEDOWN_RECHECK_POLITENESS_DELAY:g} s between starts, "
            f"{settings.TAKEDOWN_RECHECK_CONCURRENCY} in flight, "
            f"{settings.TAKEDOWN_RECHECK_DISPATCH_LINKS} links per round"
        )
        results = {}
        for name in ("evidence", "recheck"):
            meter = timed_pass(name, server.pid, args.profile)
            results[name] = wall = meter.used["wall"]
            print(
                f"{name:8} pass: {wall:6.1f} s  {args.links / wall:7.0f} checks/s  "
                f"({meter.describe(args.links)})"
            )

        sample = urls[:: max(1, len(urls) // args.naive_sample)][: args.naive_sample]
        naive_seconds = naive(sample, port) * len(urls) / len(sample)
        print(
            f"naive loop: {len(sample)} links measured, extrapolated to {args.links}: "
            f"{naive_seconds:.1f} s ({args.links / naive_seconds:.1f} checks/s)"
        )
        for name, wall in results.items():
            print(f"speed-up ({name} pass): {naive_seconds / wall:.1f}x")

        if not args.no_ceiling:
            known = dict(
                FoundLink.objects.filter(evidence__isnull=False).values_list(
                    "url", "evidence__sha256"
                )
            )
            for name, given in (("evidence", None), ("recheck", known)):
                with Meter(server.pid) as meter, profiled(f"ceiling-{name}", args.profile):
                    ceiling(urls, given)
                bare = meter.used["wall"]
                print(
                    f"ceiling ({name}): bare fetch-and-hash loop {bare:.1f} s "
                    f"({args.links / bare:.0f} checks/s, {meter.describe(args.links)}); "
                    f"product {args.links / results[name]:.0f} checks/s = "
                    f"{bare / results[name]:.0%} of the ceiling"
                )

        verdicts = dict(LinkCheck.objects.values_list("verdict").annotate(n=Count("id")).order_by())
        per_link = set(
            LinkCheck.objects.values("link").annotate(n=Count("id")).values_list("n", flat=True)
        )
        evidence = FoundLink.objects.filter(evidence__isnull=False).count()
        print(f"verdicts: {verdicts}; checks per link: {sorted(per_link)}; evidence: {evidence}")
        ok = verdicts == {"online_same": 2 * args.links} and per_link == {2}
        return 0 if ok else 1
    finally:
        server.stdin.close()  # type: ignore[union-attr]
        server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
