"""check_links end to end: the sandbox HTTP host plays one image host per verdict, and each test
asserts the rows the check leaves behind (LinkCheck, FoundLink, status changes, events).

As in test_checks_fetch, TAKEDOWN_ALLOW_PRIVATE_NETWORK stays off: only the sandbox's own
address and port are let through, so redirects to private addresses must still be refused.
"""

from __future__ import annotations

import hashlib
import signal
from datetime import timedelta

import pytest
from pytest_django.fixtures import Settings

from takedown.checks import check as check_module
from takedown.checks.check import check_links
from takedown.models import CaseEvent, FoundLink, Host, LinkCheck, MetricTotal
from takedown.sandbox.dns import DnsServer
from takedown.sandbox.http import HttpHost, Huge, Response, Slow, Trickle, html, image, redirect
from takedown.sandbox.http import status as status_route
from takedown.sandbox.images import make_image
from tests.factories import CaseFactory, FoundLinkFactory, HostFactory

pytestmark = pytest.mark.django_db

L = FoundLink.Status


@pytest.fixture
def sandbox(http_host: HttpHost, dns_server: DnsServer, settings: Settings) -> HttpHost:
    settings.TAKEDOWN_ALLOW_PRIVATE_NETWORK = False
    settings.TAKEDOWN_FETCH_ALLOWED_ENDPOINTS = [f"127.0.0.1:{http_host.port}"]
    settings.TAKEDOWN_FETCH_PORTS = [80, 443, http_host.port]
    settings.TAKEDOWN_DNS_NAMESERVERS = [dns_server.address]
    settings.TAKEDOWN_DNS_TIMEOUT = 2
    settings.TAKEDOWN_FETCH_CONNECT_TIMEOUT = 1.0
    settings.TAKEDOWN_FETCH_READ_TIMEOUT = 1.0
    settings.TAKEDOWN_FETCH_DEADLINE = 3.0
    settings.TAKEDOWN_RECHECK_POLITENESS_DELAY = 0.0
    settings.TAKEDOWN_RECHECK_PENDING_HOURS = 24
    settings.TAKEDOWN_RECHECK_CONFIRM_HOURS = 24
    settings.TAKEDOWN_RECHECK_RETRY_MINUTES = 30
    settings.TAKEDOWN_RECHECK_AFTER_REMOVAL = "7:30,30:180"
    for name in ("a.test", "b.test"):
        dns_server.add(name, A=["127.0.0.1"])
    return http_host


def make_link(sandbox: HttpHost, path: str, route=None, *, status=L.NOTIFIED, host="a.test", **kw):
    if route is not None:
        sandbox.add_route(path, route, host=host)
    return FoundLinkFactory(
        host=HostFactory(hostname=host, registered_domain=host),
        url=f"http://{host}:{sandbox.port}{path}",
        status=status,
        **kw,
    )


def check_once(link: FoundLink) -> tuple[FoundLink, LinkCheck]:
    [outcome] = check_links([link.pk])
    link.refresh_from_db()
    check = LinkCheck.objects.get(pk=outcome.check_id)
    assert (outcome.verdict, outcome.status) == (check.verdict, link.status)
    return link, check


def events(link: FoundLink, kind: str) -> list[CaseEvent]:
    return list(CaseEvent.objects.filter(link=link, kind=kind))


# --- same image, evidence ------------------------------------------------------------------------


def test_check_links_first_fetch_records_evidence_without_bytes(sandbox: HttpHost) -> None:
    picture = image(1)
    link = make_link(sandbox, "/p.jpg", picture)

    link, check = check_once(link)

    assert check.verdict == "online_same"
    assert (check.status_code, check.resolved_ip, check.final_url) == (200, "127.0.0.1", "")
    assert check.sha256 == hashlib.sha256(picture.body).hexdigest()
    assert (len(check.phash), len(check.pdq), check.byte_count) == (16, 64, len(picture.body))
    assert check.headers["content-type"] == "image/jpeg"
    assert check.reason == "first successful fetch: recorded as evidence"
    # No field of the check holds the image itself.
    assert not any(
        isinstance(value, bytes) or (isinstance(value, str) and len(value) > 1000)
        for value in check.__dict__.values()
    )
    assert link.evidence_id == check.pk
    assert (link.last_verdict, link.removed_streak, link.check_failures) == ("online_same", 0, 0)
    assert link.last_checked_at == check.checked_at
    assert link.next_check_at == check.checked_at + timedelta(hours=24)
    assert link.needs_review is False
    # Each recorded check adds to the operators' total (Prometheus: checks per second).
    assert MetricTotal.objects.get(name="link_checks").value == 1


@pytest.mark.parametrize(
    ("variant", "rule"),
    [
        (image(1), "identical file"),
        (image(1, quality=40), "pHash distance"),  # re-encoded JPEG
        (image(1, size=(320, 240)), "pHash distance"),  # resized copy
        (image(1, fmt="PNG"), "pHash distance"),
    ],
)
def test_check_links_same_picture_after_evidence_is_online_same(
    sandbox: HttpHost, variant: Response, rule: str
) -> None:
    link = make_link(sandbox, "/p.jpg", image(1))
    link, evidence = check_once(link)
    sandbox.add_route("/p.jpg", variant, host="a.test")

    link, check = check_once(link)

    assert check.verdict == "online_same"
    assert check.reason.startswith(f"the same image ({rule}")
    assert link.evidence_id == evidence.pk  # the evidence stays the first fetch
    assert link.status == L.NOTIFIED


def test_check_links_placeholder_is_online_changed_and_flagged_once(sandbox: HttpHost) -> None:
    link = make_link(sandbox, "/p.jpg", image(1))
    check_once(link)
    sandbox.add_route("/p.jpg", image(placeholder=True), host="a.test")

    link, check = check_once(link)
    link, again = check_once(link)

    assert (check.verdict, again.verdict) == ("online_changed", "online_changed")
    assert check.reason.startswith("an image, but a different one since the last check")
    assert link.needs_review is True
    assert link.status == L.NOTIFIED
    [event] = events(link, "link.needs_review")
    assert (event.visible_to_person, event.data["check"]) == (False, check.pk)


def test_check_links_supplied_reference_wins_over_first_fetch(sandbox: HttpHost) -> None:
    from takedown.checks.hashing import compute_hashes

    other = compute_hashes(make_image(7))
    link = make_link(sandbox, "/p.jpg", image(1), ref_phash=other.phash, ref_pdq=other.pdq)

    link, check = check_once(link)

    assert check.verdict == "online_changed"
    assert link.evidence_id is None  # not the person's image: no evidence of it


def test_check_links_supplied_reference_matching_sets_evidence(sandbox: HttpHost) -> None:
    from takedown.checks.hashing import compute_hashes

    mine = compute_hashes(make_image(1, fmt="PNG"))
    link = make_link(sandbox, "/p.jpg", image(1), ref_phash=mine.phash)

    link, check = check_once(link)

    assert check.verdict == "online_same"
    assert link.evidence_id == check.pk


# --- removed, blocked ----------------------------------------------------------------------------


@pytest.mark.parametrize("code", [404, 410])
def test_check_links_removed_needs_two_checks_then_transitions(
    sandbox: HttpHost, code: int
) -> None:
    link = make_link(sandbox, "/p.jpg", image(1))
    check_once(link)  # seen online: the evidence
    sandbox.add_route("/p.jpg", status_route(code), host="a.test")

    link, first = check_once(link)
    assert (first.verdict, link.status, link.removed_streak) == ("removed", L.NOTIFIED, 1)
    assert link.next_check_at == first.checked_at + timedelta(hours=24)
    assert link.removed_at is None

    link, second = check_once(link)

    assert (second.verdict, link.status, link.removed_streak) == ("removed", L.REMOVED, 2)
    assert link.removed_at == second.checked_at
    assert link.next_check_at == second.checked_at + timedelta(days=7)
    [event] = events(link, "foundlink.removed")
    assert event.visible_to_person is True
    assert event.message == (
        "An image in your case is no longer online at a.test. Two checks in a row found it gone."
    )
    assert (event.data["from"], event.data["check"]) == (L.NOTIFIED, second.pk)


@pytest.mark.parametrize("status", [L.FOUND, L.NOTIFIED])
def test_check_links_gone_before_ever_seen_is_never_reachable_not_removed(
    sandbox: HttpHost, status: str
) -> None:
    link = make_link(sandbox, "/p.jpg", status_route(404), status=status)
    check_once(link)

    link, second = check_once(link)

    assert (second.verdict, link.status, link.removed_streak) == ("removed", L.NEVER_REACHABLE, 2)
    assert second.reason == (
        "the server answered 404: never seen online and no reference hashes, "
        "so never reachable, not removed"
    )
    assert (link.removed_at, link.next_check_at) == (None, None)
    assert events(link, "foundlink.removed") == []
    [event] = events(link, "foundlink.never_reachable")
    assert event.visible_to_person is True
    assert event.message == (
        "An image address in your case at a.test could not be reached: "
        "we never found the image there, so we do not count it as removed."
    )


def test_check_links_gone_with_supplied_reference_hashes_is_removed(sandbox: HttpHost) -> None:
    digest = hashlib.sha256(b"the person's own copy").hexdigest()
    link = make_link(sandbox, "/p.jpg", status_route(410), ref_sha256=digest)
    check_once(link)

    link, _ = check_once(link)

    assert link.status == L.REMOVED


def test_check_links_never_reachable_becomes_removed_once_reference_hashes_come(
    sandbox: HttpHost,
) -> None:
    link = make_link(sandbox, "/p.jpg", status_route(404))
    check_once(link)
    link, _ = check_once(link)
    assert link.status == L.NEVER_REACHABLE
    FoundLink.objects.filter(pk=link.pk).update(ref_sha256="ab" * 32)

    link, check = check_once(link)

    assert (link.status, link.removed_at) == (L.REMOVED, check.checked_at)


def test_check_links_never_reachable_link_found_online_goes_back(sandbox: HttpHost) -> None:
    link = make_link(sandbox, "/p.jpg", status_route(404), status=L.FOUND)
    check_once(link)
    link, _ = check_once(link)
    assert link.status == L.NEVER_REACHABLE
    sandbox.add_route("/p.jpg", image(1), host="a.test")

    link, check = check_once(link)

    assert (check.verdict, link.status, link.evidence_id) == ("online_same", L.FOUND, check.pk)
    [event] = events(link, "foundlink.found")
    assert event.data["from"] == L.NEVER_REACHABLE


def test_check_links_unknown_name_counts_as_removed(sandbox: HttpHost) -> None:
    link = make_link(sandbox, "/p.jpg", host="gone.test")

    link, check = check_once(link)

    assert (check.verdict, check.error) == ("removed", "dns_nxdomain: the name does not exist")
    assert link.removed_streak == 1


@pytest.mark.parametrize("code", [403, 451])
def test_check_links_blocked_is_restricted_not_removed(sandbox: HttpHost, code: int) -> None:
    link = make_link(sandbox, "/p.jpg", status_route(code), removed_streak=1)

    link, check = check_once(link)

    assert (check.verdict, check.status_code) == ("blocked", code)
    assert check.reason.endswith("restricted, not removed")
    assert (link.status, link.removed_streak, link.last_verdict) == (L.NOTIFIED, 0, "blocked")


# --- unreachable ---------------------------------------------------------------------------------


def test_check_links_5xx_backs_off_and_never_removes(sandbox: HttpHost) -> None:
    # Reference hashes: removal can be confirmed without the image having been seen here.
    digest = hashlib.sha256(b"the person's own copy").hexdigest()
    link = make_link(sandbox, "/p.jpg", status_route(503), removed_streak=1, ref_sha256=digest)

    delays = []
    for _ in range(3):
        link, check = check_once(link)
        delays.append(link.next_check_at - check.checked_at)

    assert check.verdict == "unreachable"
    assert delays == [timedelta(minutes=30), timedelta(minutes=60), timedelta(minutes=120)]
    assert (link.status, link.removed_streak, link.check_failures) == (L.NOTIFIED, 1, 3)
    # The streak survived: the next 404 confirms the removal.
    sandbox.add_route("/p.jpg", status_route(404), host="a.test")
    link, check = check_once(link)
    assert (link.status, link.check_failures) == (L.REMOVED, 0)


@pytest.mark.parametrize(
    ("route", "error"),
    [
        (Slow(5.0), "timeout"),  # no answer at all
        (Trickle(interval=0.05), "timeout"),  # an endless body
    ],
)
def test_check_links_timeouts_are_unreachable(sandbox: HttpHost, route, error: str) -> None:
    link = make_link(sandbox, "/p.jpg", route)

    link, check = check_once(link)

    assert (check.verdict, check.error.split(":")[0]) == ("unreachable", error)
    assert (link.status, link.check_failures, link.needs_review) == (L.NOTIFIED, 1, False)


def test_check_links_30mb_body_is_unreachable_for_a_person(sandbox: HttpHost) -> None:
    link = make_link(sandbox, "/p.jpg", Huge(30 * 1024 * 1024, declare_length=False))

    link, check = check_once(link)

    assert (check.verdict, check.error.split(":")[0]) == ("unreachable", "too_large")
    # What was read before the cap stopped it; nothing of it was hashed.
    assert (check.sha256, check.byte_count) == ("", 25 * 1024 * 1024)
    assert link.needs_review is True


@pytest.mark.parametrize(
    "target", ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://[::1]/"]
)
def test_check_links_redirect_to_private_address_is_refused(sandbox: HttpHost, target: str) -> None:
    link = make_link(sandbox, "/p.jpg", redirect(target))

    link, check = check_once(link)

    assert (check.verdict, check.error.split(":")[0]) == ("unreachable", "refused_address")
    assert check.final_url == target
    assert check.reason == "refused: not a public address"
    assert (link.status, link.needs_review, link.removed_streak) == (L.NOTIFIED, True, 0)


def test_check_links_decimal_ip_host_is_refused(sandbox: HttpHost) -> None:
    sandbox.add_route("/p.jpg", image(1))
    link = FoundLinkFactory(
        host=HostFactory(hostname="2130706433", is_ip=True),
        url=f"http://2130706433:{sandbox.port}/p.jpg",
        status=L.NOTIFIED,
    )

    link, check = check_once(link)

    assert (check.verdict, check.error) == (
        "unreachable",
        "refused_address: IPv4 address in a non-standard form",
    )
    assert sandbox.hits("/p.jpg") == 0


def test_check_links_name_resolving_to_loopback_is_refused(
    sandbox: HttpHost, dns_server: DnsServer, settings: Settings
) -> None:
    settings.TAKEDOWN_FETCH_ALLOWED_ENDPOINTS = []
    dns_server.add("evil.test", A=["127.0.0.1"])
    link = make_link(sandbox, "/p.jpg", image(1), host="evil.test")

    link, check = check_once(link)

    assert (check.verdict, check.error) == (
        "unreachable",
        "refused_address: 127.0.0.1 is not a public address",
    )
    assert sandbox.hits("/p.jpg") == 0


# --- not an image, moved, reappeared --------------------------------------------------------------


def test_check_links_html_page_is_not_image(sandbox: HttpHost) -> None:
    link = make_link(sandbox, "/p.jpg", html("<html><body>Photo removed</body></html>"))

    link, check = check_once(link)

    assert (check.verdict, check.reason) == ("not_image", "an HTML page")
    assert (link.needs_review, link.evidence_id) == (True, None)


def test_check_links_redirect_to_other_host_adds_the_new_link(sandbox: HttpHost) -> None:
    target = f"http://b.test:{sandbox.port}/moved.jpg"
    sandbox.add_route("/moved.jpg", image(1), host="b.test")
    link = make_link(sandbox, "/p.jpg", redirect(target))

    link, check = check_once(link)
    link, again = check_once(link)

    assert (check.verdict, check.final_url) == ("moved", target)
    assert check.reason == "first successful fetch after a redirect to b.test: recorded as evidence"
    moved = FoundLink.objects.get(case=link.case, url=target)
    assert moved.host == Host.objects.get(hostname="b.test")
    assert moved.host.status == Host.Status.PENDING  # the dispatcher resolves it
    assert (moved.status, moved.extra) == (L.FOUND, {"moved_from": link.pk})
    assert (moved.ref_sha256, moved.ref_phash) == (check.sha256, check.phash)
    assert moved.next_check_at is not None
    assert again.verdict == "moved"
    [event] = events(link, "link.moved")  # the second check adds nothing
    assert event.data["new_link"] == moved.pk
    assert FoundLink.objects.filter(case=link.case).count() == 2


def test_check_links_reappearance_reopens_the_link(sandbox: HttpHost) -> None:
    link = make_link(sandbox, "/p.jpg", image(1))
    check_once(link)
    sandbox.add_route("/p.jpg", status_route(404), host="a.test")
    check_once(link)
    link, _ = check_once(link)
    assert link.status == L.REMOVED
    sandbox.add_route("/p.jpg", image(1, quality=60), host="a.test")

    link, check = check_once(link)

    assert (check.verdict, link.status, link.needs_review) == ("online_same", L.REAPPEARED, True)
    assert check.reason.startswith("back online after removal: the same image")
    [visible] = events(link, "foundlink.reappeared")
    assert visible.visible_to_person is True
    assert visible.message == (
        "An image that had been removed from a.test is online again. "
        "We are asking for its removal again."
    )
    [internal] = events(link, "link.reappeared")
    assert internal.visible_to_person is False
    assert link.next_check_at == check.checked_at + timedelta(hours=24)


# --- skipping ------------------------------------------------------------------------------------


def test_check_links_excluded_and_withdrawn_are_not_fetched(sandbox: HttpHost) -> None:
    excluded = make_link(sandbox, "/x.jpg", image(1), status=L.EXCLUDED)
    withdrawn = make_link(sandbox, "/w.jpg", image(1), case=CaseFactory(status="withdrawn"))

    outcomes = check_links([excluded.pk, withdrawn.pk])

    assert [(o.check_id, o.next_check_at) for o in outcomes] == [(None, None), (None, None)]
    assert LinkCheck.objects.count() == 0
    assert sandbox.hits("/x.jpg") + sandbox.hits("/w.jpg") == 0


def test_check_links_many_hosts_one_batch_one_query_set(
    sandbox: HttpHost, django_assert_max_num_queries
) -> None:
    links = [make_link(sandbox, f"/p{i}.jpg", image(i % 3 + 1)) for i in range(12)]

    with django_assert_max_num_queries(12):
        outcomes = check_links([link.pk for link in links])

    assert [o.verdict for o in outcomes] == ["online_same"] * 12
    assert LinkCheck.objects.count() == 12


def test_check_links_fails_instead_of_waiting_for_a_result_that_never_comes(
    sandbox: HttpHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    link = make_link(sandbox, "/a.png")

    async def hands_nothing_over(urls, handle, **options):  # a fetch that lost a result
        return None

    def too_long(signum, frame):
        raise TimeoutError("check_links waited for a result that never came")

    monkeypatch.setattr(check_module, "fetch_each_async", hands_nothing_over)
    previous = signal.signal(signal.SIGALRM, too_long)
    signal.alarm(20)
    try:
        with pytest.raises(RuntimeError, match="without a result"):
            check_links([link.pk])
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert LinkCheck.objects.filter(link=link).count() == 0
