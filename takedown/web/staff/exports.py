"""CSV exports of the staff lists, through takedown.csvsafe (cells a spreadsheet would run
are quoted): a case's links with their status, and its notices with their outcome."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from takedown.csvsafe import csv_bytes
from takedown.models import Case, FoundLink, Notice
from takedown.notices.render import links_csv as notice_links_csv
from takedown.stats import with_link_counts
from takedown.web.access import get_case_for, staff_required

LINK_COLUMNS = ("url", "host", "status", "last_verdict", "last_checked_at", "dataset", "entry_id")
NOTICE_COLUMNS = (
    "notice",
    "recipient",
    "role",
    "regime",
    "status",
    "sent_at",
    "due_at",
    "outcome",
    "reply",
    "links",
)


def _when(value: object) -> str:
    return value.isoformat() if value is not None else ""  # type: ignore[attr-defined]


def _download(case: Case, what: str, body: bytes) -> HttpResponse:
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{case.reference}-{what}.csv"'
    response["Cache-Control"] = "no-store, private"
    return response


def notice_links(notice: Notice) -> StreamingHttpResponse:
    """Every link of a notice as its attached links CSV lists them, streamed from the database
    (a million rows are never in memory at once): for the staff and the reviewer's notice
    pages, whose letter may state only their number."""
    response = StreamingHttpResponse(
        (chunk.encode() for chunk in notice_links_csv(notice)),
        content_type="text/csv; charset=utf-8",
    )
    filename = f"{notice.case.reference}-notice-{notice.pk}-links.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store, private"
    return response


def links_csv(case: Case, links: QuerySet[FoundLink]) -> HttpResponse:
    """The links the page's filters select, all of them (not one page)."""

    def rows() -> Iterator[list[str]]:
        for link in links.select_related("host").iterator(chunk_size=2000):
            yield [
                link.url,
                link.host.hostname,
                link.status,
                link.last_verdict,
                _when(link.last_checked_at),
                link.dataset,
                link.entry_id,
            ]

    return _download(case, "links", csv_bytes(LINK_COLUMNS, rows()))


@staff_required
def notices_csv(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for(request.user, reference)
    notices = with_link_counts(case.notices.select_related("recipient").order_by("pk"))
    rows = (
        [
            str(notice.pk),
            notice.recipient.name,
            notice.recipient_role,
            notice.regime,
            notice.status,
            _when(notice.sent_at),
            _when(notice.extended_until or notice.due_at),
            notice.outcome,
            notice.reply_outcome,
            str(notice.link_count),  # type: ignore[attr-defined]
        ]
        for notice in notices
    )
    return _download(case, "notices", csv_bytes(NOTICE_COLUMNS, rows))
