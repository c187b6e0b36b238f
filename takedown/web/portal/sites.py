"""The portal's links grouped by website, for a person reading on a phone (presentation only).

One sentence per site says what matters ("3 pictures on picshare-demo.com: removal requested
on 7 December 2026, they must answer by 14 December 2026"); the detail of each link (its state
and what happens next, from takedown.web.portal.status) is one tap away in the group. The
per-link states are status.py's; this module only groups a page of them and adds, per site, the
totals of the whole case (a site may continue on the next page) and the dates of the requests.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from takedown.events import person_date
from takedown.models import Case, FoundLink, Notice, NoticeLink
from takedown.web.portal import actions, status


@dataclass
class Site:
    host: str
    total: int  # the site's links in the whole case, not only on this page
    sentence: str = ""
    rows: list[status.LinkRow] = field(default_factory=list)
    states: list[tuple[str, int]] = field(default_factory=list)  # (label, count) on this page
    open: bool = False  # holds the link whose full address the person asked to see


def _dates(
    case: Case, hosts: list[str]
) -> dict[str, tuple[datetime | None, datetime | None, bool, bool]]:
    """Per host: the first request sent, the next deadline ahead, whether a deadline has
    passed, and whether a recipient refused (or said it is not responsible). One query."""
    now = timezone.now()
    first: dict[str, datetime] = {}
    ahead: dict[str, datetime] = {}
    passed: set[str] = set()
    refused: set[str] = set()
    for host, sent_at, due_at, extended, outcome in (
        NoticeLink.objects.filter(
            notice__case=case,
            notice__status=Notice.Status.SENT,
            link__host__hostname__in=hosts,
        )
        .values_list(
            "link__host__hostname",
            "notice__sent_at",
            "notice__due_at",
            "notice__extended_until",
            "notice__outcome",
        )
        .order_by()
        .distinct()
    ):
        # distinct: one row per site and notice, not per link (a CDN host has thousands).
        if outcome in status.REFUSALS:
            refused.add(host)
        if sent_at is not None and (host not in first or sent_at < first[host]):
            first[host] = sent_at
        deadline = extended or due_at
        if deadline is None:
            continue
        if deadline > now:
            if host not in ahead or deadline < ahead[host]:
                ahead[host] = deadline
        else:
            passed.add(host)
    return {
        host: (first.get(host), ahead.get(host), host in passed, host in refused) for host in hosts
    }


def _sentence(
    site: Site, first: datetime | None, ahead: datetime | None, late: bool, refused: bool
) -> str:
    pictures = ngettext("%(n)s picture on %(site)s", "%(n)s pictures on %(site)s", site.total) % {
        "n": site.total,
        "site": site.host,
    }
    removed = sum(1 for row in site.rows if row.state == status.REMOVED)
    if site.rows and removed == len(site.rows) == site.total:
        what = pgettext("state of a site's pictures", "removed")
    elif first is None:
        what = _("we are preparing the removal request")
    elif refused and ahead is None:
        # The case's state above names who refused; here, what it means for this site.
        what = _("removal requested on %(sent)s and refused; we are taking it further") % {
            "sent": person_date(first)
        }
    elif ahead is not None:
        what = _("removal requested on %(sent)s, they must answer by %(due)s") % {
            "sent": person_date(first),
            "due": person_date(ahead),
        }
    elif late:
        what = _("removal requested on %(sent)s; the time to answer is over and we follow up") % {
            "sent": person_date(first)
        }
    else:
        what = _("removal requested on %(sent)s") % {"sent": person_date(first)}
    return _("%(pictures)s: %(what)s") % {"pictures": pictures, "what": what}


def group_by_site(case: Case, rows: list[status.LinkRow]) -> list[Site]:
    """The page's link rows (ordered by host, as status.link_page gives them) as sites. Two
    queries, whatever the number of links."""
    hosts = list(dict.fromkeys(row.host for row in rows))
    totals = dict(
        FoundLink.objects.filter(case=case, host__hostname__in=hosts)
        .exclude(status=FoundLink.Status.EXCLUDED)
        .values("host__hostname")
        .annotate(n=Count("pk"))
        .values_list("host__hostname", "n")
        .order_by()
    )
    sites = {host: Site(host=host, total=totals.get(host, 0)) for host in hosts}
    for row in rows:
        sites[row.host].rows.append(row)
        if row.full_url:
            sites[row.host].open = True
    dates = _dates(case, hosts)
    for site in sites.values():
        counts = Counter(row.state for row in site.rows)
        site.states = [
            (str(label), counts[key]) for key, label in status.LABELS.items() if counts[key]
        ]
        site.sentence = _sentence(site, *dates[site.host])
    return list(sites.values())


# --- the case as a whole ------------------------------------------------------------------------


def _event_date(case: Case, kind: str) -> datetime | None:
    return case.events.filter(kind=kind).order_by("-at", "-pk").values_list("at", flat=True).first()


def case_state(case: Case) -> list[str]:
    """What the case's state means for the person and what happens next: a few sentences, the
    first of which always names the state. After a refusal by a recipient, the page says who
    refused and that the caseworker takes it further."""
    if case.status == Case.Status.PAUSED:
        since = person_date(_event_date(case, "case.paused"))
        if actions.paused_by_person(case):
            return [
                _("You paused your case on %(date)s.") % {"date": since}
                if since
                else _("You paused your case."),
                _(
                    "While it is paused we send no new requests and no reminders. Requests "
                    "already sent stay with their recipients. You can resume it under "
                    "“Pause or withdraw”."
                ),
            ]
        return [
            _("Your caseworker paused your case on %(date)s.") % {"date": since}
            if since
            else _("Your caseworker paused your case."),
            _(
                "While it is paused we send no new requests and no reminders. Your caseworker "
                "will tell you when work goes on; you can write to them at any time."
            ),
        ]
    if case.status == Case.Status.WITHDRAWN:
        since = person_date(_event_date(case, "case.withdrawn"))
        return [
            _("You withdrew your case on %(date)s.") % {"date": since}
            if since
            else _("You withdrew your case."),
            _(
                "We do not act on it any more: no new requests, reminders or checks. Requests "
                "already sent cannot be taken back. To start again, write to your caseworker."
            ),
        ]
    if case.status == Case.Status.CLOSED:
        return [
            _("Your case is closed."),
            _("We do not act on it any more. If a picture comes back, write to your caseworker."),
        ]
    sentences = [_("Your case is open. We are working on it.")]
    refusals = (
        case.notices.filter(
            status=Notice.Status.SENT,
            outcome__in=status.REFUSALS,
        )
        .select_related("recipient")
        .order_by("-replied_at", "-pk")[:3]
    )
    for notice in refusals:
        values = {"recipient": notice.recipient.name, "date": person_date(notice.replied_at)}
        if notice.outcome == Notice.Outcome.REFUSED:
            sentences.append(
                _("%(recipient)s refused to remove the pictures (%(date)s).") % values
                if notice.replied_at
                else _("%(recipient)s refused to remove the pictures.") % values
            )
        else:
            sentences.append(
                _("%(recipient)s answered that they are not responsible (%(date)s).") % values
                if notice.replied_at
                else _("%(recipient)s answered that they are not responsible.") % values
            )
    if len(sentences) > 1:
        sentences.append(
            _(
                "This is not the end: your caseworker takes the request further, to whoever "
                "else is responsible or to the authority that oversees them. Each step will "
                "show here."
            )
        )
    return sentences
