"""manage.py resolve_hosts [--case REF] [--sync] [--refresh] [--workers N] [--processes N]

Without --sync the due hosts are queued for the Celery workers (grouped by registered domain);
with --sync they are resolved here in batches of whole registered domains, `--workers` batches
at a time, through the same resolve_batch the workers use, printing progress. Resolving is
mostly Python (parsing answers, recording them), so one process uses one core whatever the
thread count: `--processes N` shares the batches out among N forked processes.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from takedown.dispatch import queue_resolution
from takedown.management.lookups import case_named
from takedown.resolve.hosts import (
    due_hosts,
    prepare_resolution,
    resolve_batch,
)
from takedown.schedule import pack

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Resolve the hosts that are due (of one case, or of all open cases)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--case", metavar="REF")
        parser.add_argument("--sync", action="store_true", help="Resolve here, not in the workers")
        parser.add_argument(
            "--refresh", action="store_true", help="Resolve again now, ignoring the cache"
        )
        parser.add_argument("--workers", type=int, default=4, help="Parallel batches with --sync")
        parser.add_argument(
            "--processes",
            type=int,
            default=1,
            help="With --sync: processes to share the batches (each with --workers threads)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        case = case_named(options["case"]) if options["case"] else None
        if not options["sync"]:
            hosts, domains = queue_resolution(case=case, refresh=options["refresh"])
            self.stdout.write(f"queued {hosts} hosts on {domains} registered domains")
            return
        prepare_resolution(case=case, refresh=options["refresh"])
        grouped = _group(due_hosts(case=case))
        total = sum(len(ids) for ids in grouped.values())
        self.stdout.write(f"resolving {total} hosts on {len(grouped)} registered domains")
        counts: dict[str, int] = {}
        processes = max(1, options["processes"])
        workers = max(1, options["workers"])
        batches = _batches(list(grouped.values()), workers * processes)
        if processes > 1 and len(batches) > 1:
            statuses = _resolve_in_processes(batches, processes, workers, options["refresh"])
        else:
            statuses = _resolve_all(batches, workers, options["refresh"])
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


# Hosts per batch at most: a batch is one transaction, and its lookups wait together.
BATCH_HOSTS = 64


def _batches(groups: list[list[int]], workers: int) -> list[list[int]]:
    """Whole registered domains packed into batches, small enough that every worker gets one
    (or several), at most BATCH_HOSTS hosts unless one domain alone has more."""
    total = sum(len(group) for group in groups)
    size = max(1, min(BATCH_HOSTS, -(-total // max(1, workers))))
    return pack(groups, size)


def _resolve_all(batches: list[list[int]], workers: int, refresh: bool) -> Iterator[str]:
    """Resolve the batches on `workers` threads, yielding each host's status as its batch
    finishes. A thread keeps its database connection for all the batches it takes and closes
    it when done."""
    todo: queue.SimpleQueue[list[int]] = queue.SimpleQueue()
    for batch in batches:
        todo.put(batch)
    results: queue.SimpleQueue[str | None] = queue.SimpleQueue()

    def work() -> None:
        try:
            while True:
                try:
                    batch = todo.get_nowait()
                except queue.Empty:
                    return
                for status in _resolve_batch(batch, refresh):
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


def _resolve_in_processes(
    batches: list[list[int]], processes: int, workers: int, refresh: bool
) -> Iterator[str]:
    """_resolve_all in `processes` forked children, each with its share of the batches."""
    import multiprocessing
    from queue import Empty

    from django.db import connections

    # A child must not share this process's database connections: each opens its own.
    connections.close_all()
    context = multiprocessing.get_context("fork")
    results: Any = context.Queue()
    shares = [batches[index::processes] for index in range(processes)]
    children = [
        context.Process(target=_child, args=(share, workers, refresh, results), daemon=True)
        for share in shares
        if share
    ]
    for child in children:
        child.start()
    running = len(children)
    while running:
        try:
            statuses = results.get(timeout=1.0)
        except Empty:
            if not any(child.is_alive() for child in children):
                break  # a child died without saying so: its hosts stay leased, then due again
            continue
        if statuses is None:
            running -= 1
        else:
            yield from statuses
    for child in children:
        child.join()


def _child(batches: list[list[int]], workers: int, refresh: bool, results: Any) -> None:
    try:
        for status in _resolve_all(batches, workers, refresh):
            results.put([status])
    finally:
        results.put(None)


def _resolve_batch(host_ids: list[int], refresh: bool) -> list[str]:
    try:
        resolutions = resolve_batch(host_ids, refresh=refresh)
    except Exception:
        log.exception("resolving hosts %s failed", host_ids)
        return ["error"] * len(host_ids)
    return [resolution.host.status if resolution else "skipped" for resolution in resolutions]
