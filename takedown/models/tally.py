"""Counts of a large case's links, counted in the background (takedown.tallies says why)."""

from __future__ import annotations

from django.db import models

from takedown.models.case import Case


class CaseTally(models.Model):
    """One large case's link counts as of `counted_at`: what the case page, the portal's
    overview and the reviewer's results would otherwise count over every link on each view."""

    case = models.OneToOneField(
        Case, on_delete=models.CASCADE, primary_key=True, related_name="tally"
    )
    # None until the first count is stored: the pages count live meanwhile.
    counted_at = models.DateTimeField(null=True, blank=True)
    # A recount is in flight until then (a lease: a lost message delays it, the next view that
    # finds the counts stale after this asks again).
    recount_until = models.DateTimeField(null=True, blank=True)
    links = models.PositiveIntegerField(default=0)
    # Hosts of the case that need a caseworker's decision (selectors' needing_decision).
    flagged_hosts = models.PositiveIntegerField(default=0)
    # [status, last_verdict, waiting, has_deadline, refused, links]: every link of the case
    # grouped by what the portal's states and the results' totals read (tallies.link_states).
    states = models.JSONField(default=list)
    # {notice id: links} of the case's notices (the case page's notice list).
    notice_links = models.JSONField(default=dict)
    # {"found": {"YYYY-MM-DD": links}, "removed": {...}}: links not excluded per local week
    # (tallies.weekly).
    weeks = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"tally of {self.case_id}"


class PartyTally(models.Model):
    """A large case's links per responsible party and status (one row per party), so that
    the case page reads a page of parties, not every link."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+", db_index=False)
    # The stored FoundLink.party; no foreign key: an organisation deleted after the count
    # shows as no party until the next count.
    party = models.BigIntegerField(null=True, blank=True)
    party_role = models.CharField(max_length=24, blank=True)
    total = models.PositiveIntegerField()
    by_status = models.JSONField(default=dict)

    class Meta:
        indexes = [models.Index(fields=["case", "-total", "party"], name="party_tally_order")]

    def __str__(self) -> str:
        return f"{self.total} links of {self.case_id} for {self.party}"
