"""A link changes while its check is fetching it: the record must follow the link as it is then.

The change is made by the sandbox image host itself, in its own thread and database connection,
while the check waits for the answer: the same interleaving as a caseworker or another worker
acting during a real fetch. Hence transactional tests: the host's thread must see the rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from takedown.checks import check as checking
from takedown.checks.check import check_links
from takedown.checks.schedule import CLAIM_LEASE, claim_links
from takedown.models import CaseEvent, FoundLink, LinkCheck, Notice
from takedown.sandbox.http import Handler, HttpHost, Route, image
from takedown.workflow import transition
from tests.factories import NoticeFactory
from tests.test_recheck import make_link, sandbox  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db(transaction=True)

L = FoundLink.Status


class Meanwhile:
    """Runs `action` when the request arrives, then answers like `then`."""

    def __init__(self, action: Callable[[], None], then: Route) -> None:
        self.action, self.then = action, then
        self.done = 0

    def serve(self, handler: Handler) -> None:
        try:
            self.action()
            self.done += 1
        finally:
            connection.close()  # the server thread's own connection
        self.then.serve(handler)


def claim(link: FoundLink) -> object:
    """The worker's claim, as the dispatcher's lease and claim_leased leave it."""
    [pk] = claim_links([(link.pk, link.next_check_at)])
    return FoundLink.objects.values_list("next_check_at", flat=True).get(pk=pk)


def test_check_links_notice_sent_during_fetch_keeps_the_link_scheduled(
    sandbox: HttpHost,  # noqa: F811
) -> None:
    link = make_link(sandbox, "/p.jpg", status=L.FOUND, next_check_at=timezone.now())
    notice = NoticeFactory(case=link.case, status=Notice.Status.SENDING)
    notice.links.add(link)

    def send() -> None:
        sending = Notice.objects.get(pk=notice.pk)
        transition(sending, Notice.Status.SENT, fields={"sent_at": timezone.now()})

    route = Meanwhile(send, image(1))
    sandbox.add_route("/p.jpg", route, host="a.test")
    token = claim(link)

    [outcome] = check_links([link.pk])

    link.refresh_from_db()
    check = LinkCheck.objects.get(link=link)
    assert route.done == 1
    assert (outcome.verdict, outcome.status, outcome.check_id) == (
        "online_same",
        L.NOTIFIED,
        check.pk,
    )
    assert link.status == L.NOTIFIED
    assert link.evidence_id == check.pk
    # Checked daily from the check on, as every notified link (not dropped as a FOUND link
    # whose evidence is recorded), and the claim was not handed out again meanwhile.
    assert link.next_check_at == check.checked_at + timedelta(hours=24)
    assert outcome.next_check_at == link.next_check_at
    assert token != link.next_check_at
    assert sandbox.hits("/p.jpg", "a.test") == 1
    assert CaseEvent.objects.filter(link=link, kind="foundlink.notified").count() == 1


def test_check_links_claim_taken_over_during_fetch_records_nothing(
    sandbox: HttpHost,  # noqa: F811
) -> None:
    link = make_link(sandbox, "/p.jpg", status=L.NOTIFIED, next_check_at=timezone.now())
    token = claim(link)
    taken: list[object] = []

    def take_over() -> None:
        # The first claim ran out (a worker stuck past its lease), so another check claims it.
        [pk] = claim_links([(link.pk, token)], now=token)
        taken.append(FoundLink.objects.values_list("next_check_at", flat=True).get(pk=pk))

    sandbox.add_route("/p.jpg", Meanwhile(take_over, image(1)), host="a.test")

    [outcome] = check_links([link.pk])

    link.refresh_from_db()
    assert taken == [token + CLAIM_LEASE]
    assert outcome.check_id is None
    assert outcome.reason == "not recorded: another check took the link over meanwhile"
    assert (outcome.status, outcome.next_check_at) == (L.NOTIFIED, token + CLAIM_LEASE)
    # The check that holds the claim now records the link; this one left it alone.
    assert link.next_check_at == token + CLAIM_LEASE
    assert (link.last_checked_at, link.last_verdict, link.evidence_id) == (None, "", None)
    assert not LinkCheck.objects.exists()


def test_check_links_records_only_the_links_still_claimed(
    sandbox: HttpHost,  # noqa: F811
) -> None:
    kept = make_link(sandbox, "/kept.jpg", image(2), next_check_at=timezone.now())
    lost = make_link(sandbox, "/lost.jpg", next_check_at=timezone.now())
    tokens = {kept.pk: claim(kept), lost.pk: claim(lost)}

    def take_over() -> None:
        claim_links([(lost.pk, tokens[lost.pk])], now=tokens[lost.pk])

    sandbox.add_route("/lost.jpg", Meanwhile(take_over, image(1)), host="a.test")

    outcomes = check_links([kept.pk, lost.pk])

    assert [(o.link_id, o.verdict, o.check_id is None) for o in outcomes] == [
        (kept.pk, "online_same", False),
        (lost.pk, "", True),
    ]
    assert list(LinkCheck.objects.values_list("link_id", flat=True)) == [kept.pk]
    due = dict(FoundLink.objects.values_list("pk", "next_check_at"))
    assert due == {
        kept.pk: LinkCheck.objects.get().checked_at + timedelta(hours=24),
        lost.pk: tokens[lost.pk] + CLAIM_LEASE,
    }


def test_check_links_records_results_while_other_links_are_still_fetched(
    sandbox: HttpHost,  # noqa: F811
    settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings.TAKEDOWN_FETCH_READ_TIMEOUT = 6.0
    settings.TAKEDOWN_FETCH_DEADLINE = 8.0
    monkeypatch.setattr(checking, "RECORD_CHUNK", 1)
    fast = make_link(sandbox, "/fast.jpg", image(1))
    recorded_meanwhile: list[bool] = []

    def wait_for_the_fast_link() -> None:
        # The slow link's answer waits (in the image host's thread) until the fast link's
        # check is committed: only a check that records before its batch ends gets an answer
        # in time.
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            if LinkCheck.objects.filter(link=fast).exists():
                recorded_meanwhile.append(True)
                return
            time.sleep(0.05)
        recorded_meanwhile.append(False)

    slow = make_link(
        sandbox, "/slow.jpg", Meanwhile(wait_for_the_fast_link, image(2)), host="b.test"
    )

    outcomes = check_links([fast.pk, slow.pk])

    assert recorded_meanwhile == [True]
    assert [(o.link_id, o.verdict) for o in outcomes] == [
        (fast.pk, "online_same"),
        (slow.pk, "online_same"),
    ]
