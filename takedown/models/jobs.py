"""Background jobs started from the staff pages: what runs, for which case, and how far it got.

A job is bookkeeping around work that may take more than a second (an import, resolution,
notice generation, rendering a long notice, a check of all links): the web request records it
and hands it to a worker; the page polls its progress. takedown/jobs.py runs them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from takedown.models.case import Case
from takedown.models.notice import Notice


class Job(models.Model):
    class Kind(models.TextChoices):
        IMPORT = "import", _("Import")
        RESOLVE = "resolve", _("Resolution")
        GENERATE = "generate", _("Notice generation")
        RENDER = "render", _("Rendering a notice")
        RECHECK = "recheck", _("Check of all links")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting for a worker")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="jobs")
    notice = models.ForeignKey(
        Notice, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)  # 0 while unknown
    # What the work needs (format, dataset, refresh ...): never personal data.
    params = models.JSONField(default=dict, blank=True)
    # The report the page shows when the job is done (counts, the import's id).
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Queued: the message is in flight until then; running: the worker's claim lasts until
    # then. Past it, the dispatcher hands the job out again (a lost message, a dead worker).
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(
                fields=["lease_until"],
                name="job_lease",
                condition=models.Q(status__in=["queued", "running"]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} job {self.pk} for {self.case_id}"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def percent(self) -> int | None:
        if not self.total:
            return None
        return min(100, self.done * 100 // self.total)
