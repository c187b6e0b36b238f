"""Caseworker notifications: what waits in their cases, in the workspace and as a daily digest
of counts (never content)."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from config.settings import mailer_from_url
from takedown.models import (
    DeletionRequest,
    Notice,
    NotificationPreference,
    PortalMessage,
    StaffPreferences,
)
from takedown.notifications import notifications_for, send_digests
from takedown.replies.inbound import receive
from takedown.workflow import record_event
from tests.factories import NoticeFactory, TeamFactory
from tests.test_replies import raw
from tests.test_web_replies import caseworker, sent_notice

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 14, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def carla(settings):
    settings.TAKEDOWN_REPLY_DOMAIN = "replies.org.example"
    settings.TIME_ZONE = "UTC"
    user = caseworker("carla", TeamFactory(name="Berlin"))
    user.email = "carla@org.example"
    user.save()
    return user


@pytest.fixture
def waiting(carla):
    """One of each thing that waits, in carla's case."""
    notice = sent_notice(carla)
    case = notice.case
    with time_machine.travel(NOW - dt.timedelta(hours=2), tick=False):
        receive(raw("complied_en.eml"))
        receive(raw("unmatched_en.eml"))
        PortalMessage.objects.create(case=case, body="Please hurry.")
        DeletionRequest.objects.create(case=case)
        record_event(case, "case.withdrawn", message="Withdrawn by the person.")
        NoticeFactory(case=case, status=Notice.Status.DRAFT, review_comment="Name the URLs.")
        NoticeFactory(
            case=case,
            status=Notice.Status.SENT,
            sent_at=NOW - dt.timedelta(days=13),
            due_at=dt.datetime(2026, 12, 15, 23, 59, 59, tzinfo=dt.UTC),
        )
        NoticeFactory(  # due the day after tomorrow: not yet
            case=case,
            status=Notice.Status.SENT,
            sent_at=NOW - dt.timedelta(days=13),
            due_at=dt.datetime(2026, 12, 16, 0, 0, 1, tzinfo=dt.UTC),
        )
    return case


def test_notifications_list_each_kind_once(carla, waiting):
    items = notifications_for(carla, now=NOW)
    assert sorted(item.kind for item in items) == [
        "answer",
        "deadline_tomorrow",
        "deletion_request",
        "portal_message",
        "returned_notice",
        "unmatched",
        "withdrawal",
    ]
    [answer] = [item for item in items if item.kind == "answer"]
    assert (answer.reference, answer.text) == (
        waiting.reference,
        "Hoster GmbH: Complied (recorded on the notice)",
    )


def test_other_team_is_not_notified_of_the_case(carla, waiting):
    otto = caseworker("otto", TeamFactory(name="Hamburg"))
    # Only the answer nobody could match is everyone's to assign.
    assert [item.kind for item in notifications_for(otto, now=NOW)] == ["unmatched"]


def test_notifications_page_and_digest_choice(client, carla, waiting):
    with time_machine.travel(NOW, tick=False):
        client.force_login(carla)
        page = client.get(reverse("staff:notifications"))
    assert page.status_code == 200
    assert page.content.decode().count('<tr class="notification-') == 7

    client.post(reverse("staff:notifications_digest"), {"email_digest": "1"})
    assert NotificationPreference.objects.get(user=carla).email_digest is True
    client.post(reverse("staff:notifications_digest"), {})
    assert NotificationPreference.objects.get(user=carla).email_digest is False


def test_digest_sends_counts_once_and_no_content(carla, waiting, settings, smtp_server):
    settings.MAILERS = {"default": mailer_from_url(f"{smtp_server.url}?timeout=5")}
    settings.TAKEDOWN_PUBLIC_URL = "https://takedown.org.example"
    settings.TAKEDOWN_ORGANISATION = "Demo Takedown e.V."
    NotificationPreference.objects.create(user=carla, email_digest=True)
    caseworker("quiet", TeamFactory(name="Köln"))  # no preference: no mail

    assert send_digests(now=NOW) == {"sent": 1, "skipped": 0}
    assert send_digests(now=NOW + dt.timedelta(hours=1)) == {"sent": 0, "skipped": 0}

    [message] = smtp_server.wait_for(1)
    assert message.rcpt_tos == ("carla@org.example",)
    assert str(message.message["Subject"]) == "Demo Takedown e.V.: 7 things wait for you"
    body = message.message.get_content().replace("\r\n", "\n")
    assert "- New answer from a recipient: 1\n" in body
    assert "- Deadline due tomorrow: 1\n" in body
    assert "https://takedown.org.example/cases/notifications/" in body
    for secret in ("Please hurry", "Hoster GmbH", waiting.reference, "removed"):
        assert secret not in body
    assert NotificationPreference.objects.get(user=carla).last_digest_at == NOW


def test_send_digests_command_reports_counts(carla):
    out = StringIO()
    call_command("send_digests", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"sent": 0, "skipped": 0}


def test_notifications_and_digest_speak_the_caseworkers_language(
    carla, waiting, settings, smtp_server
):
    settings.MAILERS = {"default": mailer_from_url(f"{smtp_server.url}?timeout=5")}
    StaffPreferences.objects.create(user=carla, language="de")
    NotificationPreference.objects.create(user=carla, email_digest=True)

    with translation.override("de"):
        [answer] = [item for item in notifications_for(carla, now=NOW) if item.kind == "answer"]
        assert answer.label == "Neue Antwort eines Empfängers"
    assert answer.text == "Hoster GmbH: Entsprochen (bei der meldung vermerkt)"

    assert send_digests(now=NOW)["sent"] == 1
    [message] = smtp_server.wait_for(1)
    assert str(message.message["Subject"]).endswith(": 7 Sachen warten auf Sie")
    body = message.message.get_content()
    assert "- Frist läuft morgen ab: 1" in body
    assert "In Ihren Fällen wartet:" in body
