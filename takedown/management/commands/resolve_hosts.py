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
import time
from collections.abc import Iterator
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from takedown.dispatch import queue_resolution
from takedown.management.lookups import case_named
from takedown.models.link import store_stale_link_parties
from takedown.resolve.hosts import (
    LookedUp,
    due_hosts,
    look_up_batch,
    prepare_resolution,
    record_batch,
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
        copied = 0
        last_copy = time.monotonic()
        for done, status in enumerate(statuses, start=1):
            counts[status] = counts.get(status, 0) + 1
            if done % 50 == 0 or done == total:
                self.stdout.write(f"  {done}/{total} hosts")
            if time.monotonic() - last_copy > LINK_PARTY_SECONDS:
                copied += store_stale_link_parties()
                last_copy = time.monotonic()
        copied += store_stale_link_parties()
        if copied:
            self.stdout.write(f"the links of {copied} hosts got their new party")
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        self.stdout.write(f"done: {summary or 'nothing was due'}")


def _group(hosts: Any) -> dict[str, list[int]]:
    grouped: dict[str, list[int]] = {}
    for host_id, domain in hosts.values_list("id", "registered_domain"):
        grouped.setdefault(domain, []).append(host_id)
    return grouped


# While resolving, the links of the hosts whose party changed get it this often (each time one
# pass over the links table: see Host.link_party_stale), and once more at the end.
LINK_PARTY_SECONDS = 60.0

# Hosts per batch at most: a batch is one transaction, and its lookups wait together.
BATCH_HOSTS = 64


def _batches(groups: list[list[int]], workers: int) -> list[list[int]]:
    """Whole registered domains packed into batches, small enough that every worker gets one
    (or several), at most BATCH_HOSTS hosts unless one domain alone has more."""
    total = sum(len(group) for group in groups)
    size = max(1, min(BATCH_HOSTS, -(-total // max(1, workers))))
    return pack(groups, size)


def _resolve_all(batches: list[list[int]], workers: int, refresh: bool) -> Iterator[str]:
    """Resolve the batches, yielding each host's status as its batch is recorded: `workers`
    threads claim and look up batches (resolve.hosts.look_up_batch) and hand them to
    `_recorders(workers)` threads that record them (record_batch), so a batch is recorded while
    the next ones' lookups wait. Lookups run at most `workers` batches ahead of the recording.
    Each thread keeps its database connection for all its batches and closes it when done."""
    todo: queue.SimpleQueue[list[int]] = queue.SimpleQueue()
    for batch in batches:
        todo.put(batch)
    looked_up: queue.Queue[LookedUp | None] = queue.Queue(maxsize=max(1, workers))
    results: queue.SimpleQueue[str | _Done | None] = queue.SimpleQueue()

    def look_up() -> None:
        try:
            while True:
                try:
                    batch = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    looked_up.put(look_up_batch(batch, refresh=refresh))
                except Exception:
                    log.exception("looking up hosts %s failed", batch)
                    for _ in batch:
                        results.put("error")
        finally:
            connection.close()
            results.put(_Done())

    def record() -> None:
        try:
            while (item := looked_up.get()) is not None:
                for status in _record(item):
                    results.put(status)
        finally:
            connection.close()
            results.put(None)

    lookers = [threading.Thread(target=look_up, daemon=True) for _ in range(max(1, workers))]
    recorders = [threading.Thread(target=record, daemon=True) for _ in range(_recorders(workers))]
    for thread in [*lookers, *recorders]:
        thread.start()
    looking, recording = len(lookers), len(recorders)
    while recording:
        status = results.get()
        if isinstance(status, _Done):
            looking -= 1
            if not looking:  # every batch looked up: the recorders stop after the last one
                for _ in recorders:
                    looked_up.put(None)
        elif status is None:
            recording -= 1
        else:
            yield status
    for thread in [*lookers, *recorders]:
        thread.join()


class _Done:
    """A lookup thread has no more batches."""


def _recorders(workers: int) -> int:
    """Recording a batch takes a fraction of the time its lookups wait: a quarter as many
    recording threads as lookup threads keep up (and hold fewer database connections)."""
    return max(1, workers // 4)


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


def _record(looked_up: LookedUp) -> list[str]:
    try:
        resolutions = record_batch(looked_up)
    except Exception:
        log.exception("recording hosts %s failed", looked_up.host_ids)
        return ["error"] * len(looked_up.host_ids)
    return [resolution.host.status if resolution else "skipped" for resolution in resolutions]
