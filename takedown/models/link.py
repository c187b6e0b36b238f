"""Found links (image URLs in a case) and the history of checking them."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Case as When_
from django.db.models import CharField, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from takedown.models.case import Case
from takedown.models.directory import Organisation
from takedown.models.host import Host
from takedown.models.roles import FIRST_RECIPIENT_KINDS, ROLE_OF_KIND, party_of


class Verdict(models.TextChoices):
    """What one check of a link decided (see takedown.checks)."""

    ONLINE_SAME = "online_same", _("Still online, same image")
    ONLINE_CHANGED = "online_changed", _("Online, but a different image")
    REMOVED = "removed", _("Removed")
    BLOCKED = "blocked", _("Blocked (403/451)")
    NOT_IMAGE = "not_image", _("Not an image")
    MOVED = "moved", _("Moved to another host")
    UNREACHABLE = "unreachable", _("Unreachable")


# Verdicts of a check that saw the image at the address (or where it redirected): a link is
# "still online" only while its last check was one of these.
ONLINE_VERDICTS = (Verdict.ONLINE_SAME, Verdict.ONLINE_CHANGED, Verdict.MOVED)


class FoundLink(models.Model):
    class Status(models.TextChoices):
        FOUND = "found", _("Found")
        NOTIFIED = "notified", _("Notice sent")
        REMOVED = "removed", _("Removed")
        # Gone (404, 410, no such domain: twice in a row) before any check saw it online, and
        # no reference hashes: nothing shows it was ever there, so it is not counted removed.
        NEVER_REACHABLE = "never_reachable", _("Never reachable (never seen online)")
        REAPPEARED = "reappeared", _("Reappeared after removal")
        EXCLUDED = "excluded", _("Excluded by a caseworker")

    # No single-column index on case: the (case, host) index below serves case lookups, and
    # every index costs several microseconds per row in a million-row import.
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="links", db_index=False)
    host = models.ForeignKey(Host, on_delete=models.PROTECT, related_name="links", db_index=False)
    # Normalised: lowercase scheme and host, punycode, no default port or fragment; path and
    # query exactly as found (image CDNs are query-sensitive).
    url = models.TextField()
    # As entered, when it differs from the normalised form.
    original_url = models.TextField(blank=True)
    url_sha256 = models.CharField(max_length=64, help_text="SHA-256 of the normalised URL")
    # Where it was found.
    dataset = models.CharField(max_length=100, blank=True, help_text="e.g. laion-5b")
    # Text, not a bounded CharField: some datasets key rows by a path or a URL, and one
    # over-long id must not abort a million-row COPY. Nothing indexes it.
    entry_id = models.TextField(blank=True, help_text="e.g. LAION SAMPLE_ID")
    caption = models.TextField(blank=True, help_text="Alt text / caption as the dataset lists it")
    # A dataset notice names every entry's id; where none is known, the caseworker's reason.
    entry_id_note = models.TextField(blank=True, help_text="Why the entry id is unknown")
    extra = models.JSONField(null=True, blank=True, help_text="Width, height, similarity, ...")
    # Another case holds the same URL. Only the fact is shown, never anything of the other case.
    in_other_case = models.BooleanField(default=False)
    # Reference hashes supplied by the person or caseworker, computed elsewhere (never the image).
    ref_sha256 = models.CharField(max_length=64, blank=True)
    ref_phash = models.CharField(max_length=16, blank=True, help_text="64-bit pHash, hex")
    ref_pdq = models.CharField(max_length=64, blank=True, help_text="256-bit PDQ hash, hex")

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.FOUND)
    last_verdict = models.CharField(max_length=16, choices=Verdict.choices, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    # Removal is confirmed only after consecutive "removed" verdicts.
    removed_streak = models.PositiveSmallIntegerField(default=0)
    removed_at = models.DateTimeField(null=True, blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True)
    # Consecutive unreachable checks: the retry backoff grows with it (takedown.checks.schedule).
    check_failures = models.PositiveSmallIntegerField(default=0)
    # A check found something a person should look at (a different image, an HTML page, a
    # redirect elsewhere, a reappearance); the reason is the last check's. Cleared by a person.
    needs_review = models.BooleanField(default=False)
    # The first recipient resolution names for the link's host (platform or site operator, else
    # hosting provider, else CDN of host.current) and its role: a copy, so that the links page
    # sorts and pages a million links through the link_case_party index instead of joining
    # every link to its host's resolution for each page. `store_link_parties` keeps it: when a
    # host's current resolution changes (resolve.hosts, Host.save), on import, and on
    # FoundLink.save. A caseworker's decision (resolve.decisions) is not in it; routing reads
    # those.
    # No index of its own: deleting an organisation (rare, by an admin) may scan.
    party = models.ForeignKey(
        Organisation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    party_role = models.CharField(max_length=24, blank=True)
    # Indexed only where set (Meta.indexes): no link has evidence when it is imported.
    evidence = models.ForeignKey(
        "LinkCheck",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # Leading url_sha256 lets the same index answer "is this URL in another case?".
            models.UniqueConstraint(fields=["url_sha256", "case"], name="unique_link_per_case"),
        ]
        indexes = [
            models.Index(fields=["case", "host"], name="link_case_host"),
            # The links page's order (party last when none), which keyset paging walks.
            models.Index(fields=["case", "party", "host", "id"], name="link_case_party"),
            # The few links a check flagged for a person (the case page counts them).
            models.Index(
                fields=["case"], name="link_needs_review", condition=models.Q(needs_review=True)
            ),
            models.Index(
                fields=["next_check_at"],
                name="link_check_due",
                condition=models.Q(next_check_at__isnull=False),
            ),
            # Deleting a check finds the links holding it as evidence (SET_NULL, and the
            # database's own foreign key check); "= id" implies NOT NULL, so this partial
            # index serves both. A full one took a NULL entry for every imported link: 17%
            # of a plain COPY's server time on a million links (README, Import).
            models.Index(
                fields=["evidence"],
                name="link_evidence",
                condition=models.Q(evidence__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"link {self.pk} of {self.case_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self._state.adding and self.party_id is None and self.host_id is not None:
            self.party_id, self.party_role = party_of(self.host.current)
        super().save(*args, **kwargs)


# The same choice in SQL, for a host's current resolution (an expression over Host).
HOST_PARTY = Coalesce(*(f"current__{kind}" for kind in FIRST_RECIPIENT_KINDS))
HOST_PARTY_ROLE = When_(
    *(
        When(**{f"current__{kind}__isnull": False}, then=Value(ROLE_OF_KIND[kind]))
        for kind in FIRST_RECIPIENT_KINDS
    ),
    default=Value(""),
    output_field=CharField(),
)


# Hosts whose marks one statement clears (SQLite: 999 parameters at most).
STALE_CHUNK = 900


def store_stale_link_parties() -> int:
    """Copy the party of every host marked `link_party_stale` to its links, in one pass over
    the links table, and clear the marks; returns how many hosts were done. A host being
    recorded right now (its row locked) is left for the next call: it may be marked again
    when its transaction commits. Resolution calls this every minute or so while it runs and
    when it ends (resolve_hosts --sync), and so does the dispatcher."""
    with transaction.atomic():
        # Locked until the commit: a resolution of one of them waits, so its new party is
        # marked after this copy, never cleared by it.
        hosts = list(
            Host.objects.select_for_update(skip_locked=True, no_key=True)
            .filter(link_party_stale=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not hosts:
            return 0
        # One pass over the links joined to the marked hosts' parties (store_link_parties'
        # subqueries per link took 20 s for 200,000 links). Hosts marked since the read above
        # are copied too (harmless: their current party) and stay marked for the next call.
        parties, params = (
            Host.objects.filter(link_party_stale=True)
            .values("pk", party=HOST_PARTY, role=HOST_PARTY_ROLE)
            .query.sql_with_params()
        )
        quote = connection.ops.quote_name
        link = quote(FoundLink._meta.db_table)
        with connection.cursor() as cursor:
            # Only quoted model names and the ORM's own SQL go into the text.
            cursor.execute(
                f"UPDATE {link} SET {quote('party_id')} = p.party, "  # noqa: S608
                f"{quote('party_role')} = p.role FROM ({parties}) AS p "
                f"WHERE {link}.{quote('host_id')} = p.pk AND ({link}.{quote('party_id')} "
                f"IS DISTINCT FROM p.party OR {link}.{quote('party_role')} <> p.role)",
                params,
            )
        for start in range(0, len(hosts), STALE_CHUNK):
            Host.objects.filter(pk__in=hosts[start : start + STALE_CHUNK]).update(
                link_party_stale=False
            )
    return len(hosts)


def store_link_parties(links: models.QuerySet[FoundLink]) -> int:
    """Copy each link's party and role from its host's current resolution (one UPDATE). The
    callers narrow `links` to those that may be stale: a host whose resolution changed, links
    just imported onto hosts already resolved."""
    host = Host.objects.filter(pk=OuterRef("host"))
    return links.update(
        party=Subquery(host.values(party=HOST_PARTY)[:1]),
        party_role=Coalesce(Subquery(host.values(role=HOST_PARTY_ROLE)[:1]), Value("")),
    )


class LinkCheck(models.Model):
    """One fetch of a link. The image bytes are never stored: only hashes and headers."""

    link = models.ForeignKey(FoundLink, on_delete=models.CASCADE, related_name="checks")
    checked_at = models.DateTimeField(default=timezone.now)
    verdict = models.CharField(max_length=16, choices=Verdict.choices)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    final_url = models.TextField(blank=True)
    resolved_ip = models.GenericIPAddressField(null=True, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    content_type = models.CharField(max_length=200, blank=True)
    byte_count = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    phash = models.CharField(max_length=16, blank=True)
    pdq = models.CharField(max_length=64, blank=True)
    pdq_quality = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    # Why the verdict was reached, in plain words (takedown.checks.verdict.Decision.reason).
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-checked_at"]
        indexes = [models.Index(fields=["link", "-checked_at"], name="check_link_time")]

    def __str__(self) -> str:
        return f"{self.verdict} at {self.checked_at:%Y-%m-%d %H:%M}"


class Import(models.Model):
    """One run of intake into a case, with its exact report."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="imports")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source_name = models.CharField(max_length=300, blank=True)
    format = models.CharField(max_length=64)
    dataset = models.CharField(max_length=100, blank=True)
    report = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"import {self.pk} into {self.case}"
