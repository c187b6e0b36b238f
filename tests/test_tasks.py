"""The dispatcher and the resolve task with a real Celery worker on a real broker.

The broker is CELERY_BROKER_URL when it is Redis (CI), else Kombu's in-memory transport; the
database is a real transactional one, because the worker runs in its own thread and sees only
committed rows. Eager mode would hide retries and acknowledgements.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from takedown.dispatch import DISPATCH_LEASE, lease_due_hosts
from takedown.models import Host, HostResolution
from takedown.tasks import dispatch_due_work
from tests.conftest import celery_worker, wait_until
from tests.factories import FoundLinkFactory, HostFactory
from tests.test_resolve_hosts import internet  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def worker(django_db_blocker) -> Iterator[None]:
    """One worker for the module: starting and stopping one takes seconds."""
    with celery_worker(django_db_blocker):
        yield


def make_due_host():
    host = HostFactory(hostname="img.leaky-demo.com", registered_domain="leaky-demo.com")
    FoundLinkFactory(host=host)
    return host


def test_dispatch_due_work_resolves_host_through_worker(internet, worker):  # noqa: F811
    host = make_due_host()

    counts = dispatch_due_work()

    assert (counts["released"], counts["domains"], counts["hosts"]) == (0, 1, 1)
    wait_until(lambda: Host.objects.get(pk=host.pk).status == "resolved")
    assert HostResolution.objects.filter(host=host).count() == 1


def test_dispatch_twice_hands_out_host_once(internet, worker):  # noqa: F811
    host = make_due_host()

    first = dispatch_due_work()
    second = dispatch_due_work()

    assert (first["hosts"], second["hosts"]) == (1, 0)
    wait_until(lambda: Host.objects.get(pk=host.pk).status == "resolved")
    assert HostResolution.objects.filter(host=host).count() == 1


def test_lost_message_is_recovered_after_the_lease(internet, worker):  # noqa: F811
    host = make_due_host()
    # A dispatch whose message never reached a worker: the host is leased, nothing runs.
    assert lease_due_hosts() == {"leaky-demo.com": [host.pk]}
    assert dispatch_due_work()["hosts"] == 0

    # The lease runs out (time moves on); the next dispatch hands the host out again.
    Host.objects.filter(pk=host.pk).update(next_resolve_at=timezone.now() - timedelta(seconds=1))
    assert Host.objects.get(pk=host.pk).next_resolve_at < timezone.now() + DISPATCH_LEASE
    assert dispatch_due_work()["hosts"] == 1
    wait_until(lambda: Host.objects.get(pk=host.pk).status == "resolved")


def test_dead_worker_claim_is_released(internet, worker):  # noqa: F811
    host = make_due_host()
    # A worker claimed the host and died: RESOLVING with an old claim.
    Host.objects.filter(pk=host.pk).update(
        status="resolving", claimed_at=timezone.now() - timedelta(hours=1)
    )

    counts = dispatch_due_work()

    assert counts["released"] == 1
    assert counts["hosts"] == 1
    wait_until(lambda: Host.objects.get(pk=host.pk).status == "resolved")


def test_dispatch_polls_the_reply_mailbox_and_the_answer_lands_in_its_case(
    worker, imap_server, settings
):
    from takedown.models import Notice, Reply
    from tests.factories import NoticeFactory
    from tests.test_replies import DOMAIN, MESSAGE_ID, TOKEN, raw

    settings.TAKEDOWN_REPLY_DOMAIN = DOMAIN
    notice = NoticeFactory(
        status=Notice.Status.SENT,
        message_id=MESSAGE_ID,
        reply_token=TOKEN,
        to_address="abuse@hoster.example",
        sent_at=timezone.now(),
    )
    imap_server.deliver(raw("ack_freshdesk_de.eml"))
    settings.TAKEDOWN_IMAP_URL = ""
    assert dispatch_due_work()["reply_polls"] == 0

    settings.TAKEDOWN_IMAP_URL = imap_server.url()
    assert dispatch_due_work()["reply_polls"] == 1

    wait_until(lambda: Reply.objects.filter(notice=notice).exists())
    notice.refresh_from_db()
    assert (notice.recipient_ticket, notice.reply_outcome) == ("98765", "pending")
    wait_until(lambda: imap_server.messages("INBOX") == [])
    assert len(imap_server.messages("Processed")) == 1
