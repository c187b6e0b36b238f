"""Benchmark: check and send workers on several "machines", one of them killed mid-run.

    sudo .venv/bin/python bench/bench_scale_out.py                  # 1, 2 and 3 machines
    sudo .venv/bin/python bench/bench_scale_out.py --machines 1,2 --links 1000 --hosts 500

Issue 16. Needs root (network namespaces) and the PostgreSQL and Redis of this host on
127.0.0.1. Each "machine" is a network namespace (tdb-w0, tdb-w1, ...) with one veth pair into
a bridge (tdb-br0) in the root namespace: the bridge has 10.200.0.1/24, machine i has
10.200.0.(10 + i), and no namespace has a route anywhere else, so nothing leaves these
namespaces and loopback. In the root namespace, bound to 10.200.0.1 only: a TCP relay to
PostgreSQL (5432) and Redis (6379) on 127.0.0.1, and the sandbox (DNS that points the image
hosts at 10.200.0.1, HTTP that serves their JPEGs after --latency, SMTP that stores every
message). Everything is removed on exit, also on Ctrl-C or a failure.

Each machine runs one Celery worker (`celery -A config worker --queues check` or `--queues
send`, --concurrency 1) reaching the database, the broker and the sandbox over its veth. This
process plays the dispatcher: it hands out due work every second as `dispatch_due_work` does
every minute. Per machine count it times:

- the first fetch of --links fresh links on --hosts hosts (evidence: decode and hash), then a
  recheck of the same links against that evidence: checks per second;
- sending --notices queued notices (a message each to the SMTP sandbox): notices per second.

With the largest machine count, worker 0 is killed (SIGKILL, its whole process group) once a
third of each workload is done. What it held comes back as the product promises: this process
then hands out again with its clock moved past the leases (DISPATCH_LEASE + CLAIM_LEASE for
links, TAKEDOWN_SEND_CLAIM_TIMEOUT for notices), as a dispatcher would half an hour later.
Printed: duplicates (a link checked twice in a round, a notice's Message-ID received twice)
and losses (a link not checked in the round, a notice not sent); all must be 0, or exit 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import BENCH_DIR, ROOT, recreate_postgres_database

BRIDGE = "tdb-br0"
GATEWAY = "10.200.0.1"
PREFIX = 24
NAMESPACE = "tdb-w{}"
SEEDS = 20
DATABASE = os.environ.get(
    "BENCH_SCALE_OUT_DB", "postgres://postgres@127.0.0.1:5432/takedown_benchc_scale_out"
)
# Redis databases of this benchmark: the broker and the cache (not 15, CI's).
BROKER_DB, CACHE_DB = 5, 6
RELAYED_PORTS = (5432, 6379)


# --- the network ---------------------------------------------------------------------------


def ip(*args: str, check: bool = True) -> None:
    subprocess.run(["ip", *args], check=check, capture_output=True)


def network_up(machines: int) -> None:
    network_down(machines)
    ip("link", "add", BRIDGE, "type", "bridge")
    ip("addr", "add", f"{GATEWAY}/{PREFIX}", "dev", BRIDGE)
    ip("link", "set", BRIDGE, "up")
    for n in range(machines):
        namespace, outside, inside = NAMESPACE.format(n), f"tdb-v{n}", f"tdb-p{n}"
        ip("netns", "add", namespace)
        ip("link", "add", outside, "type", "veth", "peer", "name", inside)
        ip("link", "set", outside, "master", BRIDGE)
        ip("link", "set", outside, "up")
        ip("link", "set", inside, "netns", namespace)
        run_in = ["-n", namespace]
        ip(*run_in, "addr", "add", f"10.200.0.{10 + n}/{PREFIX}", "dev", inside)
        ip(*run_in, "link", "set", inside, "up")
        ip(*run_in, "link", "set", "lo", "up")
        # No default route: the namespace reaches 10.200.0.0/24 and nothing else.


def network_down(machines: int) -> None:
    """Remove what network_up made (deleting a namespace deletes its end of the veth pair,
    which deletes the pair)."""
    for n in range(max(machines, 8)):
        ip("netns", "del", NAMESPACE.format(n), check=False)
        ip("link", "del", f"tdb-v{n}", check=False)
    ip("link", "del", BRIDGE, check=False)


# --- children in the root namespace: relay and sandbox -------------------------------------


def relay() -> None:
    """Child: forward GATEWAY:5432 and :6379 to 127.0.0.1 until stdin closes."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    def handler(port: int) -> Any:
        async def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                writer.close()
                return
            await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

        return connected

    async def main() -> None:
        servers = [await asyncio.start_server(handler(p), GATEWAY, p) for p in RELAYED_PORTS]
        print(json.dumps({"relay": [GATEWAY, *RELAYED_PORTS]}), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        for server in servers:
            server.close()

    asyncio.run(main())


def sandbox(hosts: int, latency: float, eml_dir: str) -> None:
    """Child: sandbox DNS, HTTP and SMTP on GATEWAY until stdin closes."""
    from takedown.sandbox.dns import DnsServer
    from takedown.sandbox.http import HttpHost, image
    from takedown.sandbox.smtp import SmtpServer

    dns = DnsServer(host=GATEWAY)
    for n in range(hosts):
        dns.add(f"host{n}.bench", A=[GATEWAY])
    http = HttpHost(host=GATEWAY, latency=latency)
    for seed in range(SEEDS):
        http.add_route(f"/img{seed}.jpg", image(seed + 1))
    smtp = SmtpServer(host=GATEWAY, eml_dir=eml_dir)
    with dns, http, smtp:
        print(
            json.dumps({"dns": dns.address, "http_port": http.port, "smtp": smtp.url}), flush=True
        )
        sys.stdin.read()


def start_child(*args: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    process = subprocess.Popen(
        [sys.executable, __file__, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    line = process.stdout.readline()  # type: ignore[union-attr]
    if not line:
        raise SystemExit(f"child {args[0]} did not start")
    return process, json.loads(line)


# --- workers ---------------------------------------------------------------------------------


def worker_env(endpoints: dict[str, Any], via: str) -> dict[str, str]:
    """The settings every process of the deployment shares, reaching the services at `via`
    (127.0.0.1 for this process, GATEWAY for the machines)."""
    database = DATABASE.replace("127.0.0.1", via)
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database,
        "CELERY_BROKER_URL": f"redis://{via}:6379/{BROKER_DB}",
        "TAKEDOWN_CACHE_URL": f"redis://{via}:6379/{CACHE_DB}",
        "TAKEDOWN_ALLOW_PRIVATE_NETWORK": "1",
        "TAKEDOWN_DNS_NAMESERVERS": endpoints["dns"],
        "TAKEDOWN_FETCH_PORTS": f"80,443,{endpoints['http_port']}",
        "EMAIL_URL": f"{endpoints['smtp']}?timeout=10",
        # Tasks of 250 links (the default is 500), so that several machines share a round.
        "TAKEDOWN_RECHECK_TASK_LINKS": "250",
    }


def start_workers(count: int, queue: str, env: dict[str, str]) -> list[subprocess.Popen[bytes]]:
    workers = []
    log = BENCH_DIR / "scale-out-workers.log"
    for n in range(count):
        command = ["ip", "netns", "exec", NAMESPACE.format(n), sys.executable, "-m", "celery"]
        command += ["-A", "config", "worker", "--queues", queue, "--concurrency", "1"]
        command += ["--hostname", f"{queue}{n}@machine{n}", "--loglevel", "WARNING"]
        command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
        with log.open("ab") as out:
            workers.append(
                subprocess.Popen(
                    command, cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True
                )
            )
    return workers


def kill(worker: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker and its pool: a machine that is gone."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        if worker.poll() is None:
            try:
                os.killpg(worker.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
    for worker in workers:
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            kill(worker)


def purge_broker() -> None:
    import redis

    redis.Redis(host="127.0.0.1", port=6379, db=BROKER_DB).flushdb()
    redis.Redis(host="127.0.0.1", port=6379, db=CACHE_DB).flushdb()


# --- workloads -------------------------------------------------------------------------------


def make_links(count: int, hosts: int, port: int, reference: str) -> Any:
    from django.db import transaction

    from takedown.intake.normalize import normalize_url
    from takedown.models import Case, FoundLink, Host

    with transaction.atomic():
        case = Case.objects.create(reference=reference, category="medical")
        host_ids = dict(Host.objects.values_list("hostname", "pk"))
        missing = [f"host{n}.bench" for n in range(hosts) if f"host{n}.bench" not in host_ids]
        for host in Host.objects.bulk_create(
            Host(hostname=name, registered_domain=name) for name in missing
        ):
            host_ids[host.hostname] = host.pk
        links = []
        for i in range(count):
            name = f"host{i % hosts}.bench"
            normal = normalize_url(
                f"http://{name}:{port}/img{i % SEEDS}.jpg?case={reference}&n={i}"
            )
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
    return case


def make_notices(count: int, reference: str) -> Any:
    from django.contrib.auth import get_user_model

    from takedown.dispatch import queue_approved
    from takedown.models import Case, FoundLink, Host, Notice, NoticeLink, Organisation

    author, _ = get_user_model().objects.get_or_create(
        username="bench-scale-out", defaults={"email": "cw@example.org"}
    )
    case = Case.objects.create(reference=reference, category="medical", assigned_to=author)
    host = Host.objects.create(hostname=f"img.{reference.lower()}.example")
    for n in range(count):
        organisation = Organisation.objects.create(
            name=f"Hoster {reference} {n}", kind=Organisation.Kind.HOSTING, country="DE"
        )
        notice = Notice.objects.create(
            case=case,
            recipient=organisation,
            recipient_role="hosting",
            regime="gdpr",
            status=Notice.Status.APPROVED,
            to_address=f"abuse{n}@hoster{n}.example",
            created_by=author,
        )
        url = f"https://img.hoster{n}.example/{reference}/{n}.jpg"
        digest = hashlib.sha256(url.encode()).hexdigest()
        link = FoundLink.objects.create(case=case, host=host, url=url, url_sha256=digest)
        NoticeLink.objects.create(notice=notice, link=link)
    done = queue_approved(case=case, hand_out=False)
    if len(done.queued) != count:
        raise SystemExit(f"queued {len(done.queued)} of {count} notices: {done.refused[:3]}")
    return case


def hand_out(kind: str, case: Any, later: timedelta | None = None) -> int:
    """One dispatcher pass for this case's links or notices; with `later`, as a dispatcher
    that runs that much later would (leases and claims of a dead worker run out)."""
    import time_machine
    from django.utils import timezone

    from takedown import dispatch
    from takedown.notices import send as sending

    def once() -> int:
        if kind == "check":
            return dispatch.hand_out_rechecks(case)[0]
        sending.recover_stuck_sending()
        return dispatch.hand_out_notices(case=case)

    if later is None:
        return once()
    with time_machine.travel(timezone.now() + later, tick=True):
        return once()


def progress(kind: str, case: Any, since: Any) -> int:
    from takedown.models import LinkCheck, Notice

    if kind == "check":
        return LinkCheck.objects.filter(link__case=case, checked_at__gte=since).count()
    return Notice.objects.filter(case=case, status=Notice.Status.SENT).count()


def run_workload(
    kind: str, case: Any, total: int, workers: list[subprocess.Popen[bytes]], kill_one: bool
) -> dict[str, Any]:
    """Hand out every second until all `total` items are done; returns the seconds and what
    happened. With `kill_one`, worker 0 dies once a third is done."""
    from django.conf import settings
    from django.utils import timezone

    from takedown.checks.schedule import CLAIM_LEASE, DISPATCH_LEASE

    recovery = (
        DISPATCH_LEASE + CLAIM_LEASE + timedelta(minutes=1)
        if kind == "check"
        else timedelta(seconds=settings.TAKEDOWN_SEND_CLAIM_TIMEOUT + 60)
    )
    since = timezone.now()
    started = time.perf_counter()
    killed_at = None
    recovered = 0
    last_done, last_change = 0, time.perf_counter()
    while True:
        hand_out(kind, case)
        done = progress(kind, case, since)
        now = time.perf_counter()
        if done != last_done:
            last_done, last_change = done, now
        if done >= total:
            break
        if kill_one and killed_at is None and done >= total / 3:
            kill(workers[0])
            killed_at = done
        # Nothing moved for a while after the kill: what is left is held by the dead worker.
        if killed_at is not None and now - last_change > 8:
            recovered += hand_out(kind, case, later=recovery)
            last_change = now
        if now - started > 900:
            raise SystemExit(f"{kind}: {done} of {total} after 900 s")
        time.sleep(1)
    return {
        "seconds": time.perf_counter() - started,
        "killed_after": killed_at,
        "handed_out_again": recovered,
        "since": since,
    }


def check_links_once(case: Any, since: Any, total: int) -> tuple[int, int]:
    """(links checked more than once in the round, links not checked in it)."""
    from django.db.models import Count

    from takedown.models import LinkCheck

    per_link = Counter(
        dict(
            LinkCheck.objects.filter(link__case=case, checked_at__gte=since)
            .values_list("link")
            .annotate(n=Count("id"))
            .order_by()
        )
    )
    return sum(1 for n in per_link.values() if n > 1), total - len(per_link)


def check_notices_once(case: Any, eml_dir: Path) -> tuple[int, int]:
    """(notices received more than once, notices not received or not SENT)."""
    from takedown.models import Notice

    wanted = dict(Notice.objects.filter(case=case).values_list("message_id", "status"))
    received: Counter[str] = Counter()
    for path in eml_dir.glob("*.eml"):
        with path.open("rb") as file:
            message_id = email.message_from_binary_file(file)["Message-ID"] or ""
        key = message_id.strip().strip("<>")
        for candidate in (key, f"<{key}>"):
            if candidate in wanted:
                received[candidate] += 1
    duplicates = sum(1 for n in received.values() if n > 1)
    lost = sum(
        1 for message_id, status in wanted.items() if not received[message_id] or status != "sent"
    )
    return duplicates, lost


# --- main ------------------------------------------------------------------------------------


def measure(args: argparse.Namespace, endpoints: dict[str, Any], eml_dir: Path) -> bool:
    from django.utils import timezone

    from takedown.models import FoundLink

    remote = worker_env(endpoints, GATEWAY)
    machine_counts = [int(n) for n in args.machines.split(",")]
    ok = True
    print(
        f"{args.links} links on {args.hosts} hosts ({args.latency * 1000:.0f} ms latency), "
        f"{args.notices} notices; one Celery worker (--concurrency 1) per machine; "
        f"{os.cpu_count()} CPUs on this host"
    )
    print(
        f"{'machines':>8} {'first fetch/s':>13} {'recheck/s':>9} {'notices/s':>9}  "
        f"{'killed':>6} {'dup links':>9} {'lost links':>10} {'dup notices':>11} "
        f"{'lost notices':>12}"
    )
    for machines in machine_counts:
        kill_one = machines == max(machine_counts) and machines > 1
        rates, duplicates, losses = [], [0, 0], [0, 0]
        case = make_links(args.links, args.hosts, endpoints["http_port"], f"TD-SO-{machines}")
        purge_broker()
        workers = start_workers(machines, "check", remote)
        try:
            for round_number in (1, 2):
                # Round 1 fetches the evidence, round 2 rechecks against it (with the
                # survivors only, when one machine was killed in round 1).
                FoundLink.objects.filter(case=case).update(next_check_at=timezone.now())
                result = run_workload(
                    "check", case, args.links, workers, kill_one and round_number == 1
                )
                rates.append(args.links / result["seconds"])
                twice, missing = check_links_once(case, result["since"], args.links)
                duplicates[0] += twice
                losses[0] += missing
        finally:
            stop_workers(workers)
        purge_broker()
        for path in eml_dir.glob("*.eml"):
            path.unlink()
        notices = make_notices(args.notices, f"TD-SO-N{machines}")
        workers = start_workers(machines, "send", remote)
        try:
            result = run_workload("send", notices, args.notices, workers, kill_one)
            rates.append(args.notices / result["seconds"])
            duplicates[1], losses[1] = check_notices_once(notices, eml_dir)
        finally:
            stop_workers(workers)
        print(
            f"{machines:>8} {rates[0]:>13.0f} {rates[1]:>9.0f} {rates[2]:>9.1f}  "
            f"{'yes' if kill_one else 'no':>6} {duplicates[0]:>9} {losses[0]:>10} "
            f"{duplicates[1]:>11} {losses[1]:>12}",
            flush=True,
        )
        ok = ok and not any(duplicates) and not any(losses)
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--machines", default="1,2,3", help="machine counts to run, e.g. 1,2,3")
    parser.add_argument("--links", type=int, default=3000)
    # Two links per host: a task is then bound by the CPU, not by the per-host politeness
    # (1 s between two starts to one host).
    parser.add_argument("--hosts", type=int, default=1500)
    parser.add_argument("--notices", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--relay", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sandbox", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.relay:
        relay()
        return 0
    if args.sandbox:
        sandbox(args.hosts, args.latency, args.sandbox)
        return 0
    if os.geteuid() != 0:
        raise SystemExit("needs root: it creates network namespaces")

    machines = max(int(n) for n in args.machines.split(","))
    eml_dir = BENCH_DIR / "scale-out-mail"
    eml_dir.mkdir(parents=True, exist_ok=True)
    children: list[subprocess.Popen[str]] = []
    # SIGTERM cleans up like Ctrl-C.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        network_up(machines)
        relay_process, _ = start_child("--relay")
        children.append(relay_process)
        sandbox_process, endpoints = start_child(
            "--sandbox", str(eml_dir), "--hosts", str(args.hosts), "--latency", str(args.latency)
        )
        children.append(sandbox_process)
        recreate_postgres_database(DATABASE)
        os.environ.update(
            {
                k: v
                for k, v in worker_env(endpoints, "127.0.0.1").items()
                if k.startswith(("DJANGO", "DATABASE", "CELERY", "TAKEDOWN", "EMAIL"))
            }
        )
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        ok = measure(args, endpoints, eml_dir)
    finally:
        for child in children:
            child.stdin.close()  # type: ignore[union-attr]
        for child in children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
        network_down(machines)
    print("duplicates and losses: none" if ok else "FAILED: duplicates or losses above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
