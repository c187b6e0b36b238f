"""Before a notice leaves: a host that moves between approval and sending, against the local
DNS, RDAP and SMTP servers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from config.settings import mailer_from_url
from takedown.models import CaseEvent, Host, Notice
from takedown.notices.generate import generate_notices
from takedown.notices.review import approve, submit_for_review
from takedown.notices.send import queue_notice, send_notice
from takedown.resolve.hosts import resolve_batch
from takedown.sandbox.rdap import rdap_domain, rdap_ip_network
from tests.factories import CaseFactory, FoundLinkFactory, HostFactory, UserFactory
from tests.test_resolve_hosts import internet  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(internet, settings, smtp_server):  # noqa: F811
    settings.MAILERS = {"default": mailer_from_url(f"{smtp_server.url}?timeout=5")}
    settings.DEFAULT_FROM_EMAIL = "takedown@org.example"
    settings.TAKEDOWN_RESOLVE_MAX_AGE_HOURS = 24
    # A private holder: the hosting provider is the first recipient.
    internet["rdap"].add_domain(
        "moving-demo.com", rdap_domain("moving-demo.com", registrant_country="DE")
    )
    internet["rdap"].add_ip(
        "203.0.113.0/24",
        rdap_ip_network(
            "203.0.113.0",
            "203.0.113.255",
            name="OTHER-HOSTING-NET",
            country="SE",
            abuse_email="abuse@other-hosting.example",
            org="Other Hosting AB",
        ),
    )
    internet["dns"].add("img.moving-demo.com", A=["198.51.100.30"])
    internet["dns"].add("static.moving-demo.com", A=["198.51.100.31"])
    internet["smtp"] = smtp_server
    return internet


def queued_notice(case, hostnames: list[str]) -> Notice:
    """Links on these hosts, resolved, drafted, reviewed by a second person and queued."""
    links = [
        FoundLinkFactory(
            case=case,
            host=HostFactory(hostname=name, registered_domain="moving-demo.com"),
            url=f"http://{name}/photo.jpg",
        )
        for name in hostnames
    ]
    resolve_batch(sorted({link.host_id for link in links}))
    author = case.assigned_to
    [notice] = generate_notices(case, actor=author).notices
    submit_for_review(notice, author)
    reviewer = UserFactory(username="rita")
    reviewer.user_permissions.add(*_review_permission())
    approve(Notice.objects.get(pk=notice.pk), reviewer, confirm_disclosure=True)
    notice = Notice.objects.get(pk=notice.pk)
    assert queue_notice(notice) == "queued"
    return Notice.objects.get(pk=notice.pk)


def _review_permission():
    from django.contrib.auth.models import Permission

    return Permission.objects.filter(codename="review_notice")


def move_img_host(world, *, hours_ago: float = 25) -> None:
    world["dns"].add("img.moving-demo.com", A=["203.0.113.5"])
    Host.objects.update(resolved_at=timezone.now() - timedelta(hours=hours_ago))


@pytest.fixture
def case():
    return CaseFactory(assigned_to=UserFactory(username="kim", email="kim@org.example"))


def test_host_that_moved_after_approval_leaves_the_notice_and_gets_a_new_draft(world, case):
    notice = queued_notice(case, ["img.moving-demo.com", "static.moving-demo.com"])
    assert (notice.recipient.name, notice.links.count()) == ("Demo Hosting GmbH", 2)
    move_img_host(world)

    result = send_notice(notice.pk)

    notice.refresh_from_db()
    assert (result.outcome, notice.status, notice.needs_reroute) == ("sent", "sent", False)
    assert [link.host.hostname for link in notice.links.all()] == ["static.moving-demo.com"]
    [message] = world["smtp"].messages
    body = message.message.get_body(("plain",)).get_content()
    assert "http://static.moving-demo.com/photo.jpg" in body
    assert "img.moving-demo.com" not in body
    [draft] = Notice.objects.filter(status="draft")
    assert (draft.recipient.name, draft.recipient_role, draft.to_address) == (
        "Other Hosting AB",
        "hosting",
        "abuse@other-hosting.example",
    )
    assert [link.host.hostname for link in draft.links.all()] == ["img.moving-demo.com"]
    event = CaseEvent.objects.get(kind="notice.links_rerouted")
    assert (event.notice_id, event.data["hosts"], event.data["left"]) == (
        notice.pk,
        ["img.moving-demo.com"],
        1,
    )


def test_notice_whose_every_link_moved_is_not_sent(world, case):
    notice = queued_notice(case, ["img.moving-demo.com"])
    move_img_host(world)

    result = send_notice(notice.pk)

    notice.refresh_from_db()
    assert (result.outcome, notice.status) == ("skipped", "cancelled")
    assert world["smtp"].messages == []
    assert notice.links.count() == 1  # kept as the record of what it was for
    assert list(Notice.objects.filter(status="draft").values_list("recipient__name")) == [
        ("Other Hosting AB",)
    ]


def test_fresh_resolution_is_not_repeated_before_sending(world, case):
    notice = queued_notice(case, ["img.moving-demo.com", "static.moving-demo.com"])
    move_img_host(world, hours_ago=django_settings.TAKEDOWN_RESOLVE_MAX_AGE_HOURS - 1)
    queries = world["rdap"].hits("/domain/moving-demo.com")

    result = send_notice(notice.pk)

    assert result.outcome == "sent"
    assert world["rdap"].hits("/domain/moving-demo.com") == queries
    assert Notice.objects.get(pk=notice.pk).links.count() == 2
    assert not Notice.objects.filter(status="draft").exists()


def test_retry_never_changes_what_the_first_attempt_sent(world, case):
    world["smtp"].fail_next(1, code=451)
    notice = queued_notice(case, ["img.moving-demo.com", "static.moving-demo.com"])
    assert send_notice(notice.pk).outcome == "queued"
    move_img_host(world)

    result = send_notice(notice.pk)

    assert result.outcome == "sent"
    assert Notice.objects.get(pk=notice.pk).links.count() == 2
    assert not CaseEvent.objects.filter(kind="notice.links_rerouted").exists()
