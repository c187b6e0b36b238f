"""The caseworker answers the recipient from the conversation: reviewed, sent with the notice's
reply address and threading headers, and the answer to it comes back into the same case."""

from __future__ import annotations

import pytest
from django.urls import reverse

from config.settings import mailer_from_url
from takedown.models import Notice
from takedown.notices.review import approve
from takedown.notices.send import queue_notice, send_notice
from takedown.replies.inbound import receive
from takedown.replies.outbound import AnswerError, draft_answer
from tests.factories import UserFactory
from tests.test_replies import DOMAIN, MESSAGE_ID, raw
from tests.test_web_replies import carla, sent_notice  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def mail(settings, smtp_server):
    settings.MAILERS = {"default": mailer_from_url(f"{smtp_server.url}?timeout=5")}
    settings.DEFAULT_FROM_EMAIL = "takedown@org.example"
    settings.TAKEDOWN_ORGANISATION = "Demo Takedown e.V."
    return smtp_server


@pytest.fixture
def reviewer():
    from django.contrib.auth.models import Permission

    user = UserFactory(username="rev")
    user.user_permissions.add(Permission.objects.get(codename="review_notice"))
    return user


def test_answer_is_reviewed_then_sent_in_the_thread(carla, reviewer, mail):  # noqa: F811
    notice = sent_notice(carla)
    receive(raw("needs_info_en.eml"))
    message = draft_answer(notice, actor=carla, text="The signed mandate is attached.\nKim")
    assert (message.kind, message.status, message.parent, message.reply_token) == (
        "message",
        "in_review",
        notice,
        notice.reply_token,
    )
    assert message.to_address == "legal@site.example"
    approve(message, reviewer)
    assert queue_notice(Notice.objects.get(pk=message.pk)) == "queued"

    assert send_notice(message.pk).outcome == "sent"

    [captured] = mail.wait_for(1)
    sent = captured.message
    assert captured.rcpt_tos == ("legal@site.example",)
    assert str(sent["Subject"]).startswith("Re: ")
    assert str(sent["In-Reply-To"]) == "<needs-info-en-1@site.example>"
    assert str(sent["References"]).split() == [MESSAGE_ID, "<needs-info-en-1@site.example>"]
    assert f"replies+{notice.reply_token}@{DOMAIN}" in str(sent["Reply-To"])
    assert sent.get_body(("plain",)).get_content().replace("\r\n", "\n").strip() == (
        "The signed mandate is attached.\nKim"
    )
    assert list(sent.iter_attachments()) == []
    message.refresh_from_db()
    # A message in a conversation asks for nothing by a date.
    assert (message.status, message.due_at) == ("sent", None)

    # Their answer to our message threads to it, and lands on the notice.
    message_id = str(sent["Message-ID"])
    answer = raw("complied_en.eml", TOKEN="0" * 48, MESSAGE_ID=message_id)
    result = receive(answer)
    assert (result.notice, result.matched_by, result.action) == (notice.pk, "thread", "recorded")
    by_token = raw("complied_de.eml", MESSAGE_ID="<elsewhere@x>")
    assert receive(by_token).notice == notice.pk


def test_empty_answer_and_unsent_notice_are_refused(carla):  # noqa: F811
    notice = sent_notice(carla)
    with pytest.raises(AnswerError, match="write the answer first"):
        draft_answer(notice, actor=carla, text="  ")
    Notice.objects.filter(pk=notice.pk).update(sent_at=None)
    notice.refresh_from_db()
    with pytest.raises(AnswerError, match="nothing to answer"):
        draft_answer(notice, actor=carla, text="Hello")


def test_answer_from_the_conversation_tab(client, carla):  # noqa: F811
    notice = sent_notice(carla)
    client.force_login(carla)
    url = reverse("staff:answer", args=[notice.case.reference, notice.pk])

    response = client.post(url, {"text": "Thank you, we are waiting for your decision."})

    assert response["Location"] == reverse("staff:replies", args=[notice.case.reference])
    [message] = Notice.objects.filter(kind="message")
    assert (message.parent, message.status, message.created_by) == (notice, "in_review", carla)
    page = client.get(reverse("staff:replies", args=[notice.case.reference])).content.decode()
    assert "Thank you, we are waiting for your decision." in page
