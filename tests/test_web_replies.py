"""The caseworker's side of recipients' answers: the conversation tab, the inbox of answers that
wait, the one-click actions, attachments only as downloads."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from takedown.models import CaseEvent, Notice, Reply
from takedown.replies.inbound import receive
from tests.factories import (
    CaseFactory,
    ContactFactory,
    MandateFactory,
    NoticeFactory,
    OrganisationFactory,
    TeamFactory,
    caseworker,
)
from tests.test_replies import DOMAIN, MESSAGE_ID, TOKEN, raw

pytestmark = pytest.mark.django_db


@pytest.fixture
def carla(settings):
    settings.TAKEDOWN_REPLY_DOMAIN = DOMAIN
    return caseworker("carla", TeamFactory(name="Berlin"))


@pytest.fixture
def notice(carla):
    return sent_notice(carla)


def sent_notice(carla):
    """A sent notice in a case of carla's team, with the corpus' reply token and Message-ID."""
    case = CaseFactory(reference="TD-2026-0042", team=carla.teams.get(), assigned_to=carla)
    # The person's signed mandate: answers in their name go out only with it (takedown.mandates).
    MandateFactory(case=case)
    org = OrganisationFactory(name="Hoster GmbH")
    return NoticeFactory(
        case=case,
        recipient=org,
        contact=ContactFactory(organisation=org, value="abuse@hoster.example"),
        to_address="abuse@hoster.example",
        status=Notice.Status.SENT,
        message_id=MESSAGE_ID,
        reply_token=TOKEN,
        sent_at=timezone.now() - dt.timedelta(days=2),
    )


def test_conversation_tab_shows_each_answer_with_its_next_step(client, carla, notice):
    receive(raw("ack_zendesk_en.eml"))
    receive(raw("needs_info_de.eml"))
    client.force_login(carla)

    page = client.get(reverse("staff:replies", args=[notice.case.reference]))

    assert page.status_code == 200
    html = page.content.decode()
    assert "Acknowledgement of receipt" in html
    assert "483920" in html
    assert "Answer their question (identity, mandate, URLs) from the case." in html
    assert html.count("Confirm: Asks for identity or more information") == 1


def test_one_click_confirm_records_the_answer(client, carla, notice):
    receive(raw("other_en.eml"))
    reply = Reply.objects.get()
    client.force_login(carla)

    response = client.post(reverse("staff:reply_confirm", args=[reply.pk]), {"kind": "refused"})

    assert response.status_code == 302
    assert response["Location"] == reverse("staff:replies", args=[notice.case.reference])
    notice.refresh_from_db()
    reply.refresh_from_db()
    assert (notice.reply_outcome, reply.state, reply.decided_by) == ("refused", "applied", carla)
    again = client.post(reverse("staff:reply_confirm", args=[reply.pk]), follow=True)
    assert "already been decided" in again.content.decode()


def test_unmatched_answer_is_assigned_from_the_inbox(client, carla, notice):
    receive(raw("unmatched_en.eml"))
    reply = Reply.objects.get()
    client.force_login(carla)

    inbox = client.get(reverse("staff:inbox"))
    assert inbox.status_code == 200
    assert f'id="reply-{reply.pk}"' in inbox.content.decode()

    response = client.post(reverse("staff:reply_assign", args=[reply.pk]), {"notice": notice.pk})

    assert response["Location"] == reverse("staff:replies", args=[notice.case.reference])
    notice.refresh_from_db()
    assert (notice.recipient_ticket, notice.reply_outcome) == ("555444", "complied")
    assert CaseEvent.objects.filter(kind="reply.assigned", actor=carla).count() == 1


def test_assigning_to_another_teams_notice_is_refused(client, carla, notice):
    receive(raw("unmatched_en.eml"))
    reply = Reply.objects.get()
    foreign = NoticeFactory(status=Notice.Status.SENT, sent_at=timezone.now())
    client.force_login(carla)

    response = client.post(
        reverse("staff:reply_assign", args=[reply.pk]), {"notice": foreign.pk}, follow=True
    )

    assert f"No notice {foreign.pk} in your cases." in response.content.decode()
    reply.refresh_from_db()
    assert (reply.state, reply.notice_id) == ("unmatched", None)


def test_other_team_cannot_see_a_cases_answer(client, notice):
    receive(raw("complied_en.eml"))
    reply = Reply.objects.get()
    client.force_login(caseworker("otto", TeamFactory(name="Hamburg")))
    assert client.get(reverse("staff:reply_detail", args=[reply.pk])).status_code == 404
    assert f'id="reply-{reply.pk}"' not in client.get(reverse("staff:inbox")).content.decode()


def test_attachment_is_only_downloaded_after_a_warning(client, carla, notice):
    receive(raw("attachment_de.eml"))
    reply = Reply.objects.get()
    [attachment] = reply.attachments.all()
    client.force_login(carla)

    page = client.get(reverse("staff:reply_detail", args=[reply.pk])).content.decode()
    assert "an answer may contain the image itself" in page
    assert "<img" not in page
    url = reverse("staff:reply_attachment", args=[reply.pk, attachment.pk])
    assert client.get(url).status_code == 405

    download = client.post(url)

    assert download["Content-Type"] == "application/octet-stream"
    assert download["Content-Disposition"] == (
        f'attachment; filename="reply-{reply.pk}-attachment-{attachment.pk}.bin"'
    )
    assert download.content.startswith(b"\x89PNG")
    assert CaseEvent.objects.filter(kind="person.revealed", actor=carla).count() == 1


def test_inbox_query_count_does_not_grow_with_answers(client, carla, notice):
    client.force_login(carla)
    receive(raw("other_en.eml"))
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("staff:inbox"))
    for number in range(5):
        message = raw("unmatched_en.eml").replace(b"unmatched-1@", f"u-{number}@".encode())
        receive(message)
    with CaptureQueriesContext(connection) as six:
        page = client.get(reverse("staff:inbox"))
    assert page.content.decode().count('class="panel" id="reply-') == 6
    assert len(six) == len(one)


def test_caseworker_answers_the_person_from_the_messages_page(client, carla, notice):
    from takedown.models import PortalMessage

    client.force_login(carla)
    url = reverse("staff:portal_answer", args=[notice.case.reference])

    empty = client.post(url, {"body": "  "}, follow=True)
    assert "Write the answer first." in empty.content.decode()
    response = client.post(url, {"body": "We wrote to the host today."})

    assert response["Location"] == reverse("staff:messages", args=[notice.case.reference])
    [message] = PortalMessage.objects.all()
    assert (message.author, message.body) == (carla, "We wrote to the host today.")
    page = client.get(reverse("staff:messages", args=[notice.case.reference])).content.decode()
    assert "answer by carla" in page
    assert CaseEvent.objects.filter(kind="portal.answered", actor=carla).count() == 1
