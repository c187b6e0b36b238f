"""Background jobs: work a caseworker starts on a page that may take more than a second.

An import, resolution, notice generation, rendering a long notice and a check of all links do
not run inside the web request. The request records a Job (and, for an import, the uploaded
file, encrypted under TAKEDOWN_JOB_FILES_DIR: it lists URLs of the person's images) and hands
its id to a worker; the page polls the job's progress and shows the same report as before when
it is done.

Why a job runs once and is not lost:
- The job row is written, and its message sent only after the request's transaction commits
  (dispatch._enqueue). Its `lease_until` says how long the message may be in flight.
- A worker claims the job with a conditional update from QUEUED to RUNNING: of two copies of
  the message, one claims it and the other finds it running and does nothing.
- A lost message leaves the job QUEUED past its lease; a dead worker leaves it RUNNING past its
  claim. The dispatcher (dispatch.hand_out_jobs) puts either back to QUEUED with a conditional
  update on the lease it read, and sends it again. The task's hard time limit is below the
  claim, so a slow worker is gone before its job is handed out again. After MAX_ATTEMPTS the
  job fails instead of running forever.
- Every kind is safe to run again: an import is one transaction (a dead worker left nothing),
  generation refreshes drafts, rendering writes the same file, and resolution and checks
  hand out leased work whose own leases prevent doubles.

Resolution and the check of all links are done by the existing per-domain and per-batch tasks
in parallel. Their job only hands the work out and is then watched: its progress is counted
from the hosts resolved, or the links checked, since the job started.
"""

from __future__ import annotations

import logging
import re
import struct
import tempfile
from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from takedown import crypto
from takedown.dispatch import enqueue_job, hand_out_hosts, queue_recheck
from takedown.errors import NotPossible
from takedown.intake.store import IntakeError, import_links
from takedown.models import Case, FoundLink, Host, Import, Job, Notice
from takedown.notices.generate import generate_notices
from takedown.notices.render import notice_pdf
from takedown.resolve.hosts import due_hosts, prepare_resolution
from takedown.workflow import CHECKED_CASE_STATUSES, record_event

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
# Encrypted upload files are written in chunks of this many plaintext bytes, each its own
# Fernet token, so neither side holds a 200 MB file twice in memory.
CHUNK = 1024 * 1024
_SAFE_SUFFIX = re.compile(r"\.[a-z0-9]{1,10}")
# Kinds whose work is done by other tasks: progress is read from the domain.
WATCHED = frozenset({Job.Kind.RESOLVE, Job.Kind.RECHECK})


class JobRefused(NotPossible):
    """The job cannot run (the case is no longer open, the file cannot be read): the message
    says why, and is shown on the job's page."""


def lease_duration() -> timedelta:
    return timedelta(seconds=settings.TAKEDOWN_JOB_LEASE_SECONDS)


# --- starting -----------------------------------------------------------------------------------


def start_job(
    kind: str,
    case: Case,
    *,
    actor: Any = None,
    notice: Notice | None = None,
    params: dict[str, Any] | None = None,
    upload: Iterable[bytes] | None = None,
) -> Job:
    """Record a job and hand it to a worker once the caller's transaction commits. `upload`:
    the chunks of a file the job reads (stored encrypted; the web process never parses it)."""
    with transaction.atomic():
        job = Job.objects.create(
            kind=kind,
            case=case,
            notice=notice,
            # The worker writes a refusal in the language of the page that started the job:
            # the page shows that text later, as stored.
            params={**(params or {}), "language": translation.get_language() or ""},
            created_by=actor if getattr(actor, "pk", None) else None,
            lease_until=timezone.now() + lease_duration(),
        )
        if upload is not None:
            write_encrypted(upload_path(job), upload)
        enqueue_job(job.pk)
    return job


def upload_path(job: Job) -> Path:
    return Path(settings.TAKEDOWN_JOB_FILES_DIR) / f"job-{job.pk}.upload"


def output_path(job: Job) -> Path:
    return Path(settings.TAKEDOWN_JOB_FILES_DIR) / f"job-{job.pk}.output"


def write_encrypted(path: Path, chunks: Iterable[bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    buffer = b""
    with path.open("wb") as out:
        for chunk in chunks:
            buffer += chunk
            while len(buffer) >= CHUNK:
                _write_token(out, buffer[:CHUNK])
                buffer = buffer[CHUNK:]
        if buffer:
            _write_token(out, buffer)


def _write_token(out: Any, plain: bytes) -> None:
    token = crypto.encrypt(plain)
    out.write(struct.pack(">I", len(token)))
    out.write(token)


def read_encrypted(path: Path) -> Iterable[bytes]:
    with path.open("rb") as source:
        while header := source.read(4):
            (size,) = struct.unpack(">I", header)
            yield crypto.decrypt(source.read(size))


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)


# --- running ------------------------------------------------------------------------------------


def claim(job_id: int) -> Job | None:
    """QUEUED -> RUNNING for this worker, or None when another copy of the message has it."""
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING,
        started_at=now,
        lease_until=now + lease_duration(),
        attempts=F("attempts") + 1,
    )
    if claimed != 1:
        return None
    return Job.objects.select_related("case", "notice", "created_by").get(pk=job_id)


def run_job(job_id: int) -> str | None:
    """Claim the job and do its work; returns its final status (None if not claimed)."""
    job = claim(job_id)
    if job is None:
        return None
    with translation.override(job.params.get("language") or settings.LANGUAGE_CODE):
        return _run_claimed(job)


def _run_claimed(job: Job) -> str:
    if job.attempts > MAX_ATTEMPTS:
        _finish(job, Job.Status.FAILED, error=_("The job stopped several times; start it again."))
        _remove(upload_path(job))
        return Job.Status.FAILED
    try:
        result = RUNNERS[job.kind](job)
    except (NotPossible, IntakeError) as refused:
        _remove(upload_path(job))
        _finish(job, Job.Status.FAILED, error=str(getattr(refused, "message", refused)))
        return Job.Status.FAILED
    except Exception:
        log.exception("job %s (%s) failed", job.pk, job.kind)
        _remove(upload_path(job))
        _finish(job, Job.Status.FAILED, error=_("An internal error stopped the job."))
        return Job.Status.FAILED
    if job.kind in WATCHED and job.total:
        # Handed out: the page watches the hosts or links; nothing for the dispatcher to redo.
        _update(job, result=result, lease_until=None)
        return Job.Status.RUNNING
    _finish(job, Job.Status.DONE, result=result)
    return Job.Status.DONE


def _update(job: Job, **fields: Any) -> bool:
    """Write to the job only while this worker's claim holds."""
    changed = Job.objects.filter(
        pk=job.pk, status=Job.Status.RUNNING, attempts=job.attempts
    ).update(**fields)
    for name, value in fields.items():
        setattr(job, name, value)
    return changed == 1


def _finish(
    job: Job, status: str, *, result: dict[str, Any] | None = None, error: str = ""
) -> None:
    fields: dict[str, Any] = {
        "status": status,
        "finished_at": timezone.now(),
        "lease_until": None,
        "error": error,
    }
    if result is not None:
        fields["result"] = result
    if status == Job.Status.DONE and job.total:
        fields["done"] = job.total
    _update(job, **fields)


def progress_reporter(job: Job) -> Callable[[int, int], None]:
    """A callback for long loops: (done, total) written at most a few times a second."""
    last = [0.0]

    def report(done: int, total: int) -> None:
        now = timezone.now().timestamp()
        if now - last[0] >= 0.25 or done >= total:
            last[0] = now
            _update(job, done=done, total=total)

    return report


def _require_open(case: Case) -> None:
    case.refresh_from_db(fields=["status"])
    if case.status != Case.Status.OPEN:
        raise JobRefused(
            _("The case is %(status)s: reopen it first.")
            % {"status": case.get_status_display().lower()}
        )


def _run_import(job: Job) -> dict[str, Any]:
    _require_open(job.case)
    params = job.params
    name = params.get("source_name", "upload")
    suffix = Path(name).suffix.lower()
    source = upload_path(job)
    try:
        with tempfile.TemporaryDirectory(prefix="takedown-import-") as folder:
            # The suffix helps format detection; the file name itself never becomes a path.
            path = Path(folder) / ("upload" + (suffix if _SAFE_SUFFIX.fullmatch(suffix) else ""))
            with path.open("wb") as out:
                for chunk in read_encrypted(source):
                    out.write(chunk)
            try:
                import_links(
                    job.case,
                    [path],
                    format=params.get("format") or None,
                    dataset=params.get("dataset", ""),
                    actor=job.created_by,
                    source_names=[name],
                )
            except IntakeError as exc:
                raise JobRefused(_("%(error)s (nothing was imported)") % {"error": exc}) from exc
    finally:
        # The URLs are the person's data: gone as soon as they are imported (or refused).
        _remove(source)
    imported = Import.objects.filter(case=job.case).order_by("-pk").first()
    assert imported is not None
    return {"import": imported.pk, "rows": imported.report.get("rows", 0)}


def _run_generate(job: Job) -> dict[str, Any]:
    _require_open(job.case)
    return generate_notices(job.case, actor=job.created_by).as_dict()


def _run_render(job: Job) -> dict[str, Any]:
    assert job.notice is not None
    pdf = notice_pdf(job.notice)
    write_encrypted(output_path(job), [pdf])
    return {"bytes": len(pdf)}


def _start_resolve(job: Job) -> dict[str, Any]:
    case, refresh = job.case, bool(job.params.get("refresh"))
    prepare_resolution(case=case, refresh=refresh)
    # The page's bar shows the total at once: handing out a case's hosts (a task per registered
    # domain) takes seconds, and the first hosts are resolved meanwhile.
    _update(job, total=due_hosts(case=case).count())
    hosts, domains = hand_out_hosts(case=case, refresh=refresh)
    record_event(
        case,
        "case.resolve_requested",
        actor=job.created_by,
        message=f"Resolution queued for {hosts} hosts.",
        data={"hosts": hosts, "domains": domains, "refresh": refresh, "job": job.pk},
    )
    _update(job, total=hosts)
    return {"hosts": hosts, "domains": domains}


def _start_recheck(job: Job) -> dict[str, Any]:
    case = job.case
    case.refresh_from_db(fields=["status"])
    if case.status not in CHECKED_CASE_STATUSES:
        # Paused and withdrawn cases are not checked: the person asked us to stop.
        raise JobRefused(
            _("The case is %(status)s: its links are not checked.")
            % {"status": case.get_status_display().lower()}
        )
    due, queued, tasks = queue_recheck(case)
    record_event(
        case,
        "case.recheck_requested",
        actor=job.created_by,
        message=f"Check of {due} links requested.",
        data={"due": due, "queued": queued, "tasks": tasks, "job": job.pk},
    )
    _update(job, total=due)
    return {"due": due, "queued": queued}


RUNNERS: dict[str, Callable[[Job], dict[str, Any]]] = {
    Job.Kind.IMPORT: _run_import,
    Job.Kind.GENERATE: _run_generate,
    Job.Kind.RENDER: _run_render,
    Job.Kind.RESOLVE: _start_resolve,
    Job.Kind.RECHECK: _start_recheck,
}


# --- watching -----------------------------------------------------------------------------------


def refresh_progress(job: Job) -> Job:
    """A watched job's progress from the domain: hosts resolved (or failed: each attempt sets
    resolved_at) or links checked since the job started; done when all are."""
    if job.status != Job.Status.RUNNING or job.kind not in WATCHED or not job.total:
        return job
    if job.lease_until is not None or job.started_at is None:
        return job  # still handing out
    since = job.started_at
    if job.kind == Job.Kind.RESOLVE:
        done = Host.objects.filter(links__case=job.case, resolved_at__gte=since).distinct().count()
    else:
        done = FoundLink.objects.filter(case=job.case, last_checked_at__gte=since).count()
    done = min(done, job.total)
    fields: dict[str, Any] = {"done": done}
    if done >= job.total:
        fields.update(status=Job.Status.DONE, finished_at=timezone.now())
    Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(**fields)
    for name, value in fields.items():
        setattr(job, name, value)
    return job


def job_report(job: Job) -> str:
    """What the job did, in the words the page used to show after the action."""
    if job.status == Job.Status.FAILED:
        return job.error
    result = job.result
    if job.kind == Job.Kind.IMPORT:
        rows = int(result.get("rows", 0))
        return ngettext("%(n)d row imported.", "%(n)d rows imported.", rows) % {"n": rows}
    if job.kind == Job.Kind.GENERATE:
        unrouted = int(result.get("unrouted_links", 0))
        return _("Notices: %(created)d new, %(refreshed)d refreshed, %(unchanged)d unchanged.") % {
            "created": result.get("created", 0),
            "refreshed": result.get("refreshed", 0),
            "unchanged": result.get("unchanged", 0),
        } + (
            " "
            + ngettext(
                "%(n)d link has no responsible party yet.",
                "%(n)d links have no responsible party yet.",
                unrouted,
            )
            % {"n": unrouted}
            if unrouted
            else ""
        )
    if job.kind == Job.Kind.RESOLVE:
        hosts, domains = int(result.get("hosts", 0)), int(result.get("domains", 0))
        if not hosts:
            return _("No host of this case is due for resolution.")
        if job.status != Job.Status.DONE:
            return ngettext(
                "%(done)d of %(hosts)d host resolved.",
                "%(done)d of %(hosts)d hosts resolved.",
                hosts,
            ) % {"done": job.done, "hosts": hosts}
        return ngettext(
            "%(hosts)d host on %(domains)d registered domains resolved.",
            "%(hosts)d hosts on %(domains)d registered domains resolved.",
            hosts,
        ) % {"hosts": hosts, "domains": domains}
    if job.kind == Job.Kind.RECHECK:
        due = int(result.get("due", 0))
        if not due:
            return _("No link of this case can be checked (none, or all excluded).")
        if job.status != Job.Status.DONE:
            return ngettext(
                "%(done)d of %(due)d link checked.", "%(done)d of %(due)d links checked.", due
            ) % {"done": job.done, "due": due}
        return ngettext("%(due)d link checked.", "%(due)d links checked.", due) % {"due": due}
    if job.kind == Job.Kind.RENDER:
        return _("The notice's PDF is ready.")
    return ""


def running_jobs(case: Case) -> list[Job]:
    """The case's jobs still queued or running (shown on the case page)."""
    return [
        refresh_progress(job)
        for job in Job.objects.filter(case=case)
        .filter(Q(status=Job.Status.QUEUED) | Q(status=Job.Status.RUNNING))
        .select_related("created_by")
        .order_by("created_at", "pk")
    ]
