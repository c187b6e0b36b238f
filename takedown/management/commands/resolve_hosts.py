"""manage.py resolve_hosts [--case REF] [--sync] [--refresh] [--workers N]

Without --sync the due hosts are queued for the Celery workers (grouped by registered domain);
with --sync they are resolved here, several registered domains at a time, printing progress.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from takedown.management.lookups import case_named
from takedown.models import Host
from takedown.resolve.hosts import due_hosts, release_stale_claims, request_resolution, resolve_host
from takedown.tasks import lease_due_hosts, resolve_hosts

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Resolve the hosts that are due (of one case, or of all open cases)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--case", metavar="REF")
        parser.add_argument("--sync", action="store_true", help="Resolve here, not in the workers")
        parser.add_argument(
            "--refresh", action="store_true", help="Resolve again now, ignoring the cache"
        )
        parser.add_argument("--workers", type=int, default=8, help="Parallel domains with --sync")

    def handle(self, *args: Any, **options: Any) -> None:
        case = case_named(options["case"]) if options["case"] else None
        release_stale_claims()
        if options["refresh"]:
            scope = Host.objects.filter(links__case=case) if case else Host.objects.all()
            request_resolution(scope.distinct())
        if not options["sync"]:
            grouped = lease_due_hosts(case=case)
            for host_ids in grouped.values():
                resolve_hosts.delay(host_ids, refresh=options["refresh"])
            total = sum(len(ids) for ids in grouped.values())
            self.stdout.write(f"queued {total} hosts on {len(grouped)} registered domains")
            return
        grouped = _group(due_hosts(case=case))
        total = sum(len(ids) for ids in grouped.values())
        self.stdout.write(f"resolving {total} hosts on {len(grouped)} registered domains")
        counts: dict[str, int] = {}
        statuses = _resolve_all(list(grouped.values()), options["workers"], options["refresh"])
        for done, status in enumerate(statuses, start=1):
            counts[status] = counts.get(status, 0) + 1
            if done % 50 == 0 or done == total:
                self.stdout.write(f"  {done}/{total} hosts")
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        self.stdout.write(f"done: {summary or 'nothing was due'}")


def _group(hosts: Any) -> dict[str, list[int]]:
    grouped: dict[str, list[int]] = {}
    for host_id, domain in hosts.values_list("id", "registered_domain"):
        grouped.setdefault(domain, []).append(host_id)
    return grouped


def _resolve_all(groups: list[list[int]], workers: int, refresh: bool) -> Iterator[str]:
    """Resolve the groups (one registered domain each) on `workers` threads, yielding each
    host's status as it finishes. A thread keeps its database connection for all the groups it
    takes (one per group cost a quarter of the run on PostgreSQL) and closes it when done."""
    todo: queue.SimpleQueue[list[int]] = queue.SimpleQueue()
    for group in groups:
        todo.put(group)
    results: queue.SimpleQueue[str | None] = queue.SimpleQueue()

    def work() -> None:
        try:
            while True:
                try:
                    group = todo.get_nowait()
                except queue.Empty:
                    return
                for status in _resolve_group(group, refresh):
                    results.put(status)
        finally:
            connection.close()
            results.put(None)

    threads = [threading.Thread(target=work, daemon=True) for _ in range(max(1, workers))]
    for thread in threads:
        thread.start()
    running = len(threads)
    while running:
        status = results.get()
        if status is None:
            running -= 1
        else:
            yield status
    for thread in threads:
        thread.join()


def _resolve_group(host_ids: list[int], refresh: bool) -> list[str]:
    statuses = []
    for index, host_id in enumerate(host_ids):
        try:
            # The hosts share a registered domain: fetching it again once is the refresh.
            resolution = resolve_host(host_id, refresh=refresh and index == 0)
        except Exception:
            log.exception("resolving host %s failed", host_id)
            statuses.append("error")
            continue
        statuses.append(resolution.host.status if resolution else "skipped")
    return statuses
