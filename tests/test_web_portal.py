"""The affected person's portal: getting in (link, code, device), what it shows, what it never
shows, the person's actions, German, and the portal_link command."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from gettext import GNUTranslations
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from pypdf import PdfReader

from config.env import mailer_from_url
from takedown.events import EVENT_TEXTS, event_sentence
from takedown.models import (
    Case,
    CaseEvent,
    DeletionRequest,
    FoundLink,
    Host,
    Mandate,
    Notice,
    NoticeLink,
    PortalAccess,
    PortalCode,
    PortalDevice,
    PortalMessage,
)
from takedown.sandbox.smtp import SmtpServer
from takedown.web.portal import access as portal_access
from takedown.web.portal.access import PortalError, issue_portal_link, revoke_portal_links
from takedown.web.portal.actions import (
    answer_person,
    export_data,
    mark_messages_read,
    portal_messages,
    send_message,
    unread_message_count,
)
from takedown.workflow import record_event, transition
from tests.factories import (
    CaseFactory,
    FoundLinkFactory,
    HostFactory,
    NoticeFactory,
    OrganisationFactory,
    TeamFactory,
    UserFactory,
)
from tests.test_recheck import check_once, make_link, sandbox  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[1]
# Strings that exist in the database but must never reach the person.
SECRETS = [
    "REVIEWER-COMMENT-7731",
    "INTERNAL-EVENT-5512",
    "CASEWORKER-NOTES-9034",
    "OTHER-CASE-EVENT-2219",
    "other-person-4410",
    "othercase-host-3321.example",
    "TD-2026-9999",
    "NOTICE-BODY-6620",
]
PORTAL_PAGES = ["home", "timeline", "message", "mandate", "case", "rights", "data"]


@pytest.fixture(autouse=True)
def clean_cache() -> None:
    # Rate-limit counters live in the cache; no test may inherit another's.
    cache.clear()


@pytest.fixture
def mail(settings, smtp_server: SmtpServer) -> SmtpServer:
    settings.MAILERS = {"default": mailer_from_url(f"{smtp_server.url}?timeout=5")}
    settings.DEFAULT_FROM_EMAIL = "takedown@org.example"
    settings.TAKEDOWN_ORGANISATION = "Demo Takedown e.V."
    settings.TAKEDOWN_PUBLIC_URL = "https://portal.org.example"
    return smtp_server


@pytest.fixture
def case(db) -> Case:
    """A case with links in every state, a sent and a reviewed notice, internal data, and
    another case next to it whose data must never show."""
    team = TeamFactory()
    case = CaseFactory(reference="TD-2026-0042", team=team)
    person = case.person
    person.email = "alex@example.org"
    person.notes = "CASEWORKER-NOTES-9034"
    person.language = "en"
    person.save()
    record_event(case, "case.opened", visible_to_person=True, sentence="case.opened")
    record_event(case, "staff.note", message="INTERNAL-EVENT-5512")

    hoster = OrganisationFactory(name="Bilderhost GmbH")
    waiting = FoundLinkFactory(
        case=case,
        host=HostFactory(hostname="img.bilderhost.example"),
        url="https://img.bilderhost.example/private/photo-1.jpg",
        status=FoundLink.Status.NOTIFIED,
    )
    overdue = FoundLinkFactory(
        case=case,
        host=HostFactory(hostname="cdn.slow.example"),
        url="https://cdn.slow.example/a/b/photo-2.jpg?size=large",
        status=FoundLink.Status.NOTIFIED,
        last_verdict="online_same",  # "still online" is what the last check saw
    )
    FoundLinkFactory(
        case=case,
        host=HostFactory(hostname="gone.example"),
        url="https://gone.example/photo-3.jpg",
        status=FoundLink.Status.REMOVED,
        removed_at=NOW - timedelta(days=3),
    )
    FoundLinkFactory(
        case=case,
        host=HostFactory(hostname="new.example"),
        url="https://new.example/photo-4.jpg",
    )
    FoundLinkFactory(
        case=case,
        host=HostFactory(hostname="excluded.example"),
        url="https://excluded.example/photo-5.jpg",
        status=FoundLink.Status.EXCLUDED,
    )
    sent = NoticeFactory(
        case=case,
        recipient=hoster,
        status=Notice.Status.SENT,
        sent_at=NOW - timedelta(days=2),
        due_at=NOW + timedelta(days=5),
        body_text="NOTICE-BODY-6620",
        review_comment="REVIEWER-COMMENT-7731",
    )
    NoticeLink.objects.create(notice=sent, link=waiting)
    late = NoticeFactory(
        case=case,
        status=Notice.Status.SENT,
        sent_at=NOW - timedelta(days=20),
        due_at=NOW - timedelta(days=6),
    )
    NoticeLink.objects.create(notice=late, link=overdue)
    NoticeFactory(case=case, status=Notice.Status.DRAFT, review_comment="REVIEWER-COMMENT-7731")
    record_event(
        case,
        "notice.sent_to_recipient",
        visible_to_person=True,
        sentence="notice.sent_to_recipient:notice",
        params={"date": sent.due_at.isoformat()},
        data={"notice": sent.pk, "due_at": sent.due_at.isoformat()},
        notice=sent,
    )

    other = CaseFactory(reference="TD-2026-9999", team=team)
    other.person.email = "other-person-4410@example.org"
    other.person.save()
    FoundLinkFactory(
        case=other,
        host=HostFactory(hostname="othercase-host-3321.example"),
        url="https://othercase-host-3321.example/x.jpg",
    )
    record_event(other, "case.note", visible_to_person=True, message="OTHER-CASE-EVENT-2219")
    return case


def token_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def path_of(url: str) -> str:
    return url.removeprefix("https://portal.org.example")


def code_from(message_index: int, smtp: SmtpServer) -> str:
    body = smtp.wait_for(message_index + 1)[message_index].message.get_content()
    found = re.findall(r"\b\d{6}\b", body)
    assert len(found) == 1
    return found[0]


def open_link(client: Client, url: str) -> HttpResponse:
    """What the person does with the link: open it (a page that only asks for a click), then
    press Continue. Returns the response to the click."""
    page = client.get(path_of(url))
    assert page.status_code == 200
    assert re.search(
        r'<form method="post" class="stack">\s*<input type="hidden" '
        r'name="csrfmiddlewaretoken"',
        page.content.decode(),
    )
    return client.post(path_of(url))


def sign_in(client: Client, case: Case, smtp: SmtpServer) -> str:
    """Open a fresh link and enter the e-mailed code; returns the link."""
    url = issue_portal_link(case, actor=None)
    sent_before = len(smtp.messages)
    assert open_link(client, url).url == "/p/code/"
    response = client.post("/p/code/", {"code": code_from(sent_before, smtp)})
    assert response.status_code == 302
    assert response.url == "/p/status/"
    return url


def page_texts(client: Client) -> dict[str, str]:
    texts = {}
    for name in PORTAL_PAGES:
        response = client.get(f"/p/{name if name != 'home' else 'status'}/")
        assert response.status_code == 200, name
        texts[name] = response.content.decode()
    return texts


# --- links and tokens -----------------------------------------------------------------------


def test_issue_portal_link_stores_only_the_sha256_of_a_long_token(mail, case) -> None:
    with time_machine.travel(NOW, tick=False):
        url = issue_portal_link(case, actor=None, days=10)
    token = token_of(url)
    assert url == f"https://portal.org.example/p/{token}/"
    assert len(token) == 43
    access = PortalAccess.objects.get()
    assert access.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert access.expires_at == NOW + timedelta(days=10)
    row = PortalAccess.objects.filter(pk=access.pk).values().get()
    assert all(token not in str(value) for value in row.values())
    event = CaseEvent.objects.get(kind="portal.link_issued")
    assert (event.case_id, event.visible_to_person) == (case.pk, False)
    assert token not in json.dumps(event.data)


def test_issue_portal_link_replaces_the_earlier_link(mail, case) -> None:
    first = issue_portal_link(case, actor=None)
    second = issue_portal_link(case, actor=None)
    client = Client()
    assert client.get(path_of(first)).status_code == 404
    assert open_link(client, second).url == "/p/code/"
    assert PortalAccess.objects.filter(revoked_at__isnull=True).count() == 1


def test_issue_portal_link_without_email_is_refused(mail, case) -> None:
    case.person.email = ""
    case.person.save()
    with pytest.raises(PortalError, match="no e-mail address"):
        issue_portal_link(case, actor=None)
    assert PortalAccess.objects.count() == 0


def test_issue_portal_link_days_out_of_range_is_refused(mail, case) -> None:
    with pytest.raises(PortalError, match="1 to 365 days"):
        issue_portal_link(case, actor=None, days=0)


def test_portal_unknown_token_is_404_and_sends_nothing(mail, case) -> None:
    client = Client()
    for response in (client.get("/p/" + "x" * 43 + "/"), client.post("/p/" + "x" * 43 + "/")):
        assert response.status_code == 404
        assert "This link does not work" in response.content.decode()
    assert mail.messages == []
    assert CaseEvent.objects.filter(kind="portal.link_opened").count() == 0


def test_portal_link_get_alone_sends_no_mail_and_records_nothing(mail, case) -> None:
    """Mail scanners fetch every link of a message: however often they do, the person's
    code e-mails stay unused, nothing is recorded and no session is opened."""
    url = issue_portal_link(case, actor=None)
    client = Client()
    events = CaseEvent.objects.count()
    for _ in range(portal_access.SEND_LIMIT + 2):
        page = client.get(path_of(url))
        assert page.status_code == 200
        assert "<h1>Open your case</h1>" in page.content.decode()
        assert "no-store" in page.headers["Cache-Control"]
        assert page.headers["Referrer-Policy"] == "same-origin"
    assert mail.messages == []
    assert PortalCode.objects.count() == 0
    assert CaseEvent.objects.count() == events
    assert PortalAccess.objects.get().last_used_at is None
    assert client.session.get("portal_access") is None
    assert django_settings.LANGUAGE_COOKIE_NAME not in page.cookies
    assert client.get("/p/status/").url == "/p/"
    # The person's click afterwards still gets the first code.
    assert client.post(path_of(url)).url == "/p/code/"
    assert len(mail.wait_for(1)) == 1
    assert CaseEvent.objects.filter(kind="portal.link_opened").count() == 1


def test_portal_link_continue_needs_the_csrf_token(mail, case) -> None:
    url = issue_portal_link(case, actor=None)
    client = Client(enforce_csrf_checks=True)
    page = client.get(path_of(url))
    assert client.post(path_of(url)).status_code == 403
    assert mail.messages == []
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    assert client.post(path_of(url), {"csrfmiddlewaretoken": token}).url == "/p/code/"


def test_portal_expired_link_is_refused_and_ends_the_session(mail, case) -> None:
    client = Client()
    with time_machine.travel(NOW, tick=False):
        url = sign_in(client, case, mail)
        assert client.get("/p/status/").status_code == 200
    with time_machine.travel(NOW + timedelta(days=30, seconds=1), tick=False):
        assert client.get("/p/status/").url == "/p/"
        assert client.get(path_of(url)).status_code == 404


def test_portal_revoked_link_ends_a_verified_session(mail, case) -> None:
    client = Client()
    sign_in(client, case, mail)
    assert revoke_portal_links(case, actor=None) == 1
    assert client.get("/p/status/").url == "/p/"
    assert client.get("/p/data/my-data.json").url == "/p/"
    assert CaseEvent.objects.filter(kind="portal.link_revoked", case=case).count() == 1


# --- one-time code and device -------------------------------------------------------------------


def test_portal_new_device_must_enter_the_emailed_code(mail, case) -> None:
    client = Client()
    url = issue_portal_link(case, actor=None)
    assert open_link(client, url).url == "/p/code/"
    # Without the code the case stays closed.
    assert client.get("/p/status/").url == "/p/code/"
    assert client.get("/p/data/my-data.json").url == "/p/code/"
    page = client.get("/p/code/").content.decode()
    assert "We sent a code to a•••@example.org. It works for 15 minutes." in page
    [message] = mail.wait_for(1)
    assert message.rcpt_tos == ("alex@example.org",)
    text = message.message.get_content()
    # The e-mail carries the code only: no link, no case.
    assert token_of(url) not in text
    assert "TD-2026-0042" not in text
    assert PortalCode.objects.get().code_hash != code_from(0, mail)
    assert CaseEvent.objects.filter(kind="portal.code_sent").count() == 1


def test_portal_correct_code_remembers_the_device(mail, case) -> None:
    client = Client()
    url = sign_in(client, case, mail)
    cookie = client.cookies[portal_access.DEVICE_COOKIE]
    assert cookie["httponly"] is True
    assert cookie["path"] == "/p/"
    assert (
        PortalDevice.objects.get().cookie_hash == hashlib.sha256(cookie.value.encode()).hexdigest()
    )
    assert CaseEvent.objects.filter(kind="portal.device_verified").count() == 1
    # The same browser later: straight in, no new code.
    again = Client()
    again.cookies[portal_access.DEVICE_COOKIE] = cookie.value
    assert open_link(again, url).url == "/p/status/"
    assert len(mail.messages) == 1
    # Another browser with the link alone must enter a code.
    assert open_link(Client(), url).url == "/p/code/"


def test_portal_code_is_single_use(mail, case) -> None:
    client = Client()
    url = issue_portal_link(case, actor=None)
    open_link(client, url)
    code = code_from(0, mail)
    assert client.post("/p/code/", {"code": code}).url == "/p/status/"
    other = Client()
    open_link(other, url)  # sends a second code
    response = other.post("/p/code/", {"code": code})
    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()


def test_portal_code_stops_after_five_wrong_attempts(mail, case) -> None:
    client = Client()
    open_link(client, issue_portal_link(case, actor=None))
    code = code_from(0, mail)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        assert "That code is not right" in client.post("/p/code/", {"code": wrong}).content.decode()
    response = client.post("/p/code/", {"code": code})
    assert "This code is no longer valid" in response.content.decode()
    assert PortalCode.objects.get().attempts == 5
    assert CaseEvent.objects.filter(kind="portal.code_failed").count() == 5


def test_portal_code_expires_after_fifteen_minutes(mail, case) -> None:
    client = Client()
    with time_machine.travel(NOW, tick=False):
        open_link(client, issue_portal_link(case, actor=None))
        code = code_from(0, mail)
    with time_machine.travel(NOW + timedelta(minutes=15, seconds=1), tick=False):
        response = client.post("/p/code/", {"code": code})
        assert client.get("/p/status/").url == "/p/code/"
    assert "This code is no longer valid" in response.content.decode()


def test_portal_new_code_replaces_the_old_one(mail, case) -> None:
    client = Client()
    open_link(client, issue_portal_link(case, actor=None))
    old = code_from(0, mail)
    page = client.post("/p/code/", {"resend": "1"}).content.decode()
    assert "We sent a code to a•••@example.org" in page
    new = code_from(1, mail)
    if old != new:
        assert "That code is not right" in client.post("/p/code/", {"code": old}).content.decode()
    assert client.post("/p/code/", {"code": new}).url == "/p/status/"


def test_portal_code_entries_are_rate_limited_per_link(mail, case) -> None:
    client = Client()
    open_link(client, issue_portal_link(case, actor=None))
    access = PortalAccess.objects.get()
    for index in range(portal_access.TOKEN_LIMIT):
        # Different addresses: the per-link limit holds however many machines try.
        result = portal_access.check_code(access, "000000x", f"192.0.2.{index}")
        assert result.reason in ("wrong", "no_code")
    client.post("/p/code/", {"resend": "1"})
    response = client.post("/p/code/", {"code": code_from(1, mail)})
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    assert client.get("/p/status/").url == "/p/code/"


def test_portal_link_openings_are_rate_limited_per_address(mail, case) -> None:
    url = issue_portal_link(case, actor=None)
    client = Client()
    for _ in range(portal_access.IP_LIMIT):
        assert client.get("/p/" + "y" * 43 + "/").status_code == 404
    response = client.get(path_of(url))
    assert response.status_code == 429
    assert "too many attempts" in response.content.decode()
    assert client.post(path_of(url)).status_code == 429
    assert mail.messages == []
    # Another address is not affected.
    assert open_link(Client(REMOTE_ADDR="198.51.100.7"), url).url == "/p/code/"


def test_portal_code_emails_are_limited_per_link(mail, case) -> None:
    url = issue_portal_link(case, actor=None)
    client = Client()
    for _ in range(portal_access.SEND_LIMIT + 1):
        open_link(client, url)
    page = client.get("/p/code/").content.decode()
    assert "We already sent several codes" in page
    assert len(mail.messages) == portal_access.SEND_LIMIT
    assert PortalCode.objects.count() == portal_access.SEND_LIMIT


def test_portal_code_mail_failure_is_reported_not_raised(settings, case) -> None:
    from takedown.sandbox.base import free_port

    settings.MAILERS = {"default": mailer_from_url(f"smtp://127.0.0.1:{free_port()}?timeout=2")}
    settings.TAKEDOWN_PUBLIC_URL = "https://portal.org.example"
    client = Client()
    assert open_link(client, issue_portal_link(case, actor=None)).url == "/p/code/"
    page = client.get("/p/code/").content.decode()
    assert "We could not send the e-mail just now" in page


# --- what the person sees -----------------------------------------------------------------------


def test_portal_status_shows_each_link_in_plain_language(mail, case) -> None:
    client = Client()
    with time_machine.travel(NOW, tick=False):
        sign_in(client, case, mail)
        page = client.get("/p/status/").content.decode()
    summary = re.findall(r'<div class="s-(\w+)"><dt>[^<]+</dt><dd>(\d+)</dd></div>', page)
    assert summary == [
        ("found", "1"),
        ("notice_sent", "0"),
        ("waiting", "1"),
        ("still_online", "1"),
        ("removed", "1"),
    ]
    assert "They should respond by 6 June 2026." in page
    assert "The image is still online." in page
    assert "The image was removed from this address on 29 May 2026." in page
    assert "We found this link. Your caseworker is preparing a removal request." in page
    assert "Next step: the next answer we expect is due by 6 June 2026." in page
    for host in ("img.bilderhost.example", "cdn.slow.example", "gone.example", "new.example"):
        assert f"<strong>{host}</strong>" in page
    # Hosts only: no full address, and nothing of the excluded link.
    assert "/private/photo-1.jpg" not in page
    assert "photo-2.jpg" not in page
    assert "excluded.example" not in page


def test_portal_status_reveals_one_full_address_on_request(mail, case) -> None:
    client = Client()
    sign_in(client, case, mail)
    link = FoundLink.objects.get(host__hostname="cdn.slow.example")
    page = client.get(f"/p/status/?show={link.pk}").content.decode()
    assert "<code>https://cdn.slow.example/a/b/photo-2.jpg?size=large</code>" in page
    assert "photo-1.jpg" not in page
    assert "Hide the full address" in page


def test_portal_pages_load_no_image_script_or_inline_style(mail, case) -> None:
    client = Client()
    url = sign_in(client, case, mail)
    link = FoundLink.objects.get(host__hostname="cdn.slow.example")
    texts = page_texts(client)
    texts["enter"] = Client().get(path_of(url)).content.decode()
    texts["revealed"] = client.get(f"/p/status/?show={link.pk}").content.decode()
    texts["code"] = Client().get("/p/code/").content.decode()
    texts["start"] = Client().get("/p/").content.decode()
    # The one script is the project's own "leave quickly" file; nothing inline, nothing else.
    own_script = '<script src="/static/takedown/leave.js" defer></script>'
    for name, text in texts.items():
        # (A redirect has no body, and so no script.)
        assert text.count(own_script) == (1 if text else 0), name
        text = text.replace(own_script, "")
        assert "<img" not in text, name
        assert "<script" not in text, name
        assert "style=" not in text, name
        assert "<style" not in text, name
        # No address of any found image is ever a link or a resource.
        assert re.search(r'(href|src)="https?://[^"]*\.(jpg|png|gif|webp)', text) is None, name
    css = (ROOT / "takedown/static/takedown/portal.css").read_text()
    assert "url(" not in css
    response = client.get("/p/status/")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "no-store" in response.headers["Cache-Control"]


def test_portal_never_shows_internal_notes_reviewer_comments_or_other_cases(mail, case) -> None:
    client = Client()
    sign_in(client, case, mail)
    texts = page_texts(client)
    texts["data_json"] = client.get("/p/data/my-data.json").content.decode()
    for name, text in texts.items():
        for secret in SECRETS:
            assert secret not in text, (name, secret)
    assert "Your case was opened." in texts["timeline"]
    assert (
        "A removal request was sent to Bilderhost GmbH. They are expected to respond by "
        "6 June 2026." in texts["timeline"]
    )


def test_portal_timeline_shows_only_visible_events_of_the_case(mail, case) -> None:
    client = Client()
    sign_in(client, case, mail)
    page = client.get("/p/timeline/").content.decode()
    entries = re.findall(r'<span class="when">[^<]+</span> <span>([^<]+)</span>', page)
    assert entries == [
        "A removal request was sent to Bilderhost GmbH. They are expected to respond by "
        "6 June 2026.",
        "Your case was opened.",
    ]


def test_portal_status_page_queries_do_not_grow_with_links(mail, case) -> None:
    client = Client()
    sign_in(client, case, mail)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/p/status/").status_code == 200
        return len(queries)

    few = count()
    host = HostFactory(hostname="many.example")
    FoundLink.objects.bulk_create(
        FoundLink(
            case=case,
            host=host,
            url=f"https://many.example/{n}.jpg",
            url_sha256=hashlib.sha256(f"https://many.example/{n}.jpg".encode()).hexdigest(),
        )
        for n in range(120)
    )
    assert count() == few
    page = client.get("/p/status/?page=3").content.decode()
    assert "Page 3 of 3" in page


def test_portal_timeline_queries_do_not_grow_with_events(mail, case) -> None:
    client = Client()
    sign_in(client, case, mail)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/p/timeline/").status_code == 200
        return len(queries)

    few = count()
    notice = Notice.objects.get(review_comment="REVIEWER-COMMENT-7731", status=Notice.Status.SENT)
    CaseEvent.objects.bulk_create(
        CaseEvent(
            case=case,
            kind="notice.sent_to_recipient",
            visible_to_person=True,
            notice=notice,
            sentence="notice.sent_to_recipient:notice",
            params={"date": NOW.isoformat()},
        )
        for _ in range(70)
    )
    assert count() == few
    assert "Page 1 of 3" in client.get("/p/timeline/").content.decode()


def test_portal_support_links_come_from_the_team_else_the_setting(mail, case, settings) -> None:
    settings.TAKEDOWN_SUPPORT_LINKS = [{"name": "Default helpline", "url": "https://help.example"}]
    client = Client()
    sign_in(client, case, mail)
    page = client.get("/p/status/").content.decode()
    assert '<a href="https://help.example" rel="noopener noreferrer">Default helpline</a>' in page
    case.team.support_links = [
        {"name": "Team helpline", "phone": "+49 30 1234", "url": "javascript:alert(1)"},
        {"name": "Nur Deutsch", "language": "de"},
    ]
    case.team.save()
    page = client.get("/p/status/").content.decode()
    assert "Default helpline" not in page
    assert "<strong>Team helpline</strong>" in page
    assert '<a href="tel:+49301234">+49 30 1234</a>' in page
    assert "javascript:" not in page
    assert "Nur Deutsch" not in page


# --- German -------------------------------------------------------------------------------------


def test_portal_switches_to_german_and_remembers_it(mail, case) -> None:
    client = Client()
    with time_machine.travel(NOW, tick=False):
        sign_in(client, case, mail)
        response = client.post("/p/language/", {"language": "de", "next": "/p/timeline/"})
        assert response.url == "/p/timeline/"
        page = client.get("/p/timeline/").content.decode()
        status_page = client.get("/p/status/").content.decode()
    assert '<html lang="de">' in page
    assert "<h1>Was wir getan haben</h1>" in page
    assert "Ihr Fall wurde eröffnet." in page
    assert (
        "Eine Aufforderung zur Entfernung wurde an Bilderhost GmbH geschickt. Die Antwort wird "
        "bis zum 6. Juni 2026 erwartet." in page
    )
    assert "Warten auf den Anbieter" in status_page
    assert "Sie sollten bis zum 6. Juni 2026 antworten." in status_page


def test_portal_first_visit_uses_the_language_on_file(mail, case) -> None:
    case.person.language = "de"
    case.person.save()
    client = Client()
    url = issue_portal_link(case, actor=None)
    first = client.get(path_of(url)).content.decode()
    assert '<html lang="de">' in first
    assert "<h1>Ihren Fall öffnen</h1>" in first
    assert '<button type="submit">Weiter</button>' in first
    response = client.post(path_of(url))
    assert response.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == "de"
    page = client.get("/p/code/").content.decode()
    assert "<h1>Code eingeben</h1>" in page
    [message] = mail.wait_for(1)
    assert message.message["Subject"] == "Ihr Code für das Portal von Demo Takedown e.V."
    assert message.message.get_content().startswith("Ihr Einmal-Code lautet: ")


def test_event_sentence_renders_the_stored_sentence_in_any_language(case) -> None:
    imported = record_event(
        case,
        "links.imported",
        visible_to_person=True,
        sentence="links.imported",
        params={"count": 3},
    )
    custom = record_event(case, "case.note", visible_to_person=True, message="Handwritten.")
    # The stored text is the English rendering of the same sentence: the audit trail's.
    assert (imported.message, imported.sentence, imported.params) == (
        "3 links were added to your case.",
        "links.imported",
        {"count": 3},
    )
    with translation.override("de"):
        assert event_sentence(imported) == "3 Links wurden zu Ihrem Fall hinzugefügt."
        assert event_sentence(custom) == "Handwritten."
        assert event_sentence(imported, "en") == "3 links were added to your case."
    assert event_sentence(imported, "de") == "3 Links wurden zu Ihrem Fall hinzugefügt."
    notice = Notice.objects.get(status=Notice.Status.SENT, review_comment="REVIEWER-COMMENT-7731")
    with time_machine.travel(NOW, tick=False):
        reminder = record_event(
            case,
            "notice.sent_to_recipient",
            visible_to_person=True,
            sentence="notice.sent_to_recipient:reminder",
            params={"date": NOW.isoformat()},
            notice=notice,
        )
        assert reminder.message == (
            "A reminder was sent to Bilderhost GmbH, who had not answered our request. "
            "They are expected to respond by 1 June 2026."
        )
        assert event_sentence(reminder, "de") == (
            "Eine Erinnerung wurde an Bilderhost GmbH geschickt, weil auf unsere Aufforderung "
            "keine Antwort kam. Die Antwort wird bis zum 1. Juni 2026 erwartet."
        )


def test_event_sentence_falls_back_to_the_stored_message(case) -> None:
    notice = NoticeFactory(case=case, recipient=OrganisationFactory(name="Hoster GmbH"))
    extended = record_event(
        case,
        "notice.deadline_extended",
        visible_to_person=True,
        sentence="notice.deadline_extended",
        params={"date": NOW.isoformat()},
        notice=notice,
    )
    notice.delete()
    extended.refresh_from_db()
    unknown = CaseEvent.objects.create(
        case=case, kind="x.y", message="As written.", sentence="gone.from.the.table"
    )
    # Without its notice the sentence has no recipient; an unknown key has no template.
    assert event_sentence(extended, "de") == extended.message
    assert extended.message.startswith("Hoster GmbH has extended its deadline")
    assert event_sentence(unknown, "de") == "As written."


def test_event_without_sentence_or_message_reads_the_sentence_of_its_kind(case) -> None:
    from takedown.workflow import transition_many

    link = FoundLinkFactory(case=case)
    transition_many(FoundLink, [link.pk], [FoundLink.Status.FOUND], FoundLink.Status.NOTIFIED)
    event = CaseEvent.objects.get(link=link, kind="foundlink.notified")

    assert (event.sentence, event.message) == ("", "")
    assert event_sentence(event, "en") == "A notice about this link was sent."
    assert event_sentence(event, "de") == "Eine Meldung zu diesem Link wurde verschickt."


def test_event_sentence_looks_the_recipient_up_only_for_sentences_naming_it(case) -> None:
    notice = NoticeFactory(case=case, recipient=OrganisationFactory(name="Hoster GmbH"))
    manual = record_event(
        case, "escalation.manual_for_person", sentence="escalation.manual_for_person", notice=notice
    )
    extended = record_event(
        case,
        "notice.deadline_extended",
        sentence="notice.deadline_extended",
        params={"date": NOW.isoformat()},
        notice=notice,
    )
    manual, extended = (CaseEvent.objects.get(pk=e.pk) for e in (manual, extended))

    with CaptureQueriesContext(connection) as queries:
        event_sentence(manual, "de")
    assert len(queries) == 0
    with CaptureQueriesContext(connection) as queries:
        assert event_sentence(extended, "de").startswith("Hoster GmbH hat die Frist")
    assert len(queries) == 2  # the notice, then its recipient


def test_event_with_a_sentence_that_does_not_render_is_refused(case) -> None:
    with pytest.raises(ValueError, match="cannot be rendered"):
        record_event(case, "links.imported", sentence="links.imported", params={})
    with pytest.raises(ValueError, match="cannot be rendered"):
        record_event(case, "case.opened", sentence="case.opend")
    with pytest.raises(ValueError, match="not both"):
        record_event(case, "case.opened", sentence="case.opened", message="Opened.")
    assert case.events.filter(kind="links.imported").count() == 0


def test_every_event_sentence_is_translated_to_german() -> None:
    with translation.override("de"):
        untranslated = [
            key
            for key, template in EVENT_TEXTS.items()
            if str(template % _SAMPLE) == str(_english(template))
        ]
    assert untranslated == []


_SAMPLE = {"count": 2, "host": "a.test", "recipient": "R", "date": "D", "dataset": "d", "gone": 1}
_SAMPLE["entries"] = 2


def _english(template: Any) -> str:
    with translation.override("en"):
        return str(template % _SAMPLE)


# Visible events as stored before migration 0007 (sentence in English only, what the portal
# needed in data), and what the migration makes of them: (kind, data, sentence, params).
OLD_EVENTS = [
    ("case.opened", {"category": "intimate"}, "case.opened", {}),
    ("links.imported", {"created": 3, "rows": 3}, "links.imported", {"count": 3}),
    ("case.paused", {"by": "person"}, "case.paused:person", {}),
    ("case.paused", {}, "", {}),  # paused by staff: never shown in another wording
    ("case.closed", {"automatic": False}, "case.closed:caseworker", {}),
    ("foundlink.removed", {"check": 4, "host": "a.test"}, "foundlink.removed", {"host": "a.test"}),
    (
        "notice.sent_to_recipient",
        {"due_at": "2026-06-01T10:00:00+00:00", "kind": "escalation"},
        "notice.sent_to_recipient:escalation",
        {"date": "2026-06-01T10:00:00+00:00"},
    ),
    (
        "notice.overdue_for_person",
        {"deadline": "2026-06-01T10:00:00+00:00", "kind": "escalation"},
        "notice.overdue_for_person:notice",
        {"date": "2026-06-01T10:00:00+00:00"},
    ),
    ("notice.reply_for_person", {"outcome": "partly"}, "notice.reply_for_person:complied", {}),
    (
        "notice.outcome_for_person",
        {"outcome": "partly", "role": "dataset_maintainer"},
        "notice.outcome_for_person:partly_dataset",
        {},
    ),
    (
        "dataset.release_for_person",
        {"dataset": "laion-5b", "gone": 1, "entries": 3},
        "dataset.release_for_person",
        {"dataset": "laion-5b", "gone": 1, "entries": 3},
    ),
    ("links.reference_hashes", {"updated": 2}, "links.reference_hashes", {"count": 2}),
]


def test_migration_names_the_sentence_of_events_stored_before_it(case) -> None:
    from importlib import import_module

    from django.apps import apps

    migration = import_module("takedown.migrations.0007_event_params")
    notice = NoticeFactory(case=case, recipient=OrganisationFactory(name="Hoster GmbH"))
    old = [
        CaseEvent.objects.create(
            case=case, kind=kind, visible_to_person=True, message="Old.", data=data, notice=notice
        )
        for kind, data, _, _ in OLD_EVENTS
    ]
    orphan = CaseEvent.objects.create(
        case=case,
        kind="notice.reply_for_person",
        visible_to_person=True,
        message="Orphan told us.",
        data={"outcome": "refused"},
    )
    internal = CaseEvent.objects.create(case=case, kind="case.opened", message="Internal.")

    migration.name_sentences(apps, None)

    stored = {e.pk: (e.sentence, e.params) for e in CaseEvent.objects.filter(case=case)}
    assert [stored[e.pk] for e in old] == [(key, params) for _, _, key, params in OLD_EVENTS]
    # Without a notice there is no recipient to name; internal events are not the person's.
    assert (stored[orphan.pk], stored[internal.pk]) == (("", {}), ("", {}))
    converted = CaseEvent.objects.select_related("notice__recipient").get(pk=old[7].pk)
    assert event_sentence(converted, "de") == (
        "Hoster GmbH hat bis zum Ablauf der Frist am 1. Juni 2026 nicht geantwortet. Wir "
        "bereiten eine Erinnerung vor."
    )
    assert event_sentence(CaseEvent.objects.get(pk=orphan.pk), "de") == "Orphan told us."


def german_timeline(case: Case) -> list[tuple[str, str]]:
    """(kind, sentence in German) of every visible event of the case, oldest first; each must
    differ from the stored English message, which stays for the staff timeline."""
    events = list(case.events.filter(visible_to_person=True).order_by("at", "pk"))
    with translation.override("de"):
        rendered = [(event.kind, event_sentence(event)) for event in events]
    assert [text for _, text in rendered if text in {e.message for e in events}] == []
    return rendered


def test_event_sentence_escalation_events_render_in_german(settings) -> None:
    from datetime import date

    from takedown.checks.escalate import (
        close_case,
        escalate_due,
        mark_overdue,
        record_reply,
        set_ladder,
    )
    from tests.test_escalation import World, remove

    settings.TAKEDOWN_ORGANISATION = "Demo Takedown e.V."
    settings.DEFAULT_FROM_EMAIL = "takedown@org.example"
    world = World()
    set_ladder(world.case, ["site_operator", "hosting", "dpa", "manual"], actor=world.author)

    def day(month: int, number: int, year: int = 2027) -> time_machine.travel:
        return time_machine.travel(datetime(year, month, number, 8, 0, tzinfo=UTC), tick=False)

    with day(1, 11):
        first = world.send(world.first_notice())
    with day(1, 20):
        record_reply(
            first,
            outcome="pending",
            text="More time.",
            actor=world.author,
            extension_until=date(2027, 3, 11),
        )
    with day(3, 12):
        assert (mark_overdue(), escalate_due()) == (1, 1)
        world.send(world.drafts()[0])  # the reminder
    with day(4, 20):
        assert (mark_overdue(), escalate_due()) == (1, 1)
        to_host = world.send(world.drafts()[0])
    with day(4, 21):
        record_reply(to_host, outcome="not_responsible", text="No.", actor=world.author)
        complaint = world.send(world.drafts()[0])
    assert complaint.kind == Notice.Kind.COMPLAINT
    with day(8, 2):
        assert (mark_overdue(), escalate_due()) == (1, 1)
        world.send(world.drafts()[0])  # the reminder to the authority
    with day(11, 15):
        assert (mark_overdue(), escalate_due()) == (1, 0)  # the manual legal step
    with day(11, 16):
        remove(world.links[0])
        remove(world.links[1])
        transition(FoundLink.objects.get(pk=world.links[0].pk), FoundLink.Status.REAPPEARED)
        close_case(world.case, reason="Court order obtained.", actor=world.author)

    op, host = "Example Site Ltd", "Hoster GmbH"
    dpa = "Berliner Beauftragte für Datenschutz und Informationsfreiheit"

    def outcomes(some: bool) -> list[str]:
        if some:
            return [
                f"Einige der Bilder, die wir {name} gemeldet haben, sind nicht mehr online; um "
                "die übrigen kümmern wir uns weiter."
                for name in (dpa, host, op)
            ]
        return [
            f"Alle Bilder, die wir {name} gemeldet haben, sind nicht mehr online."
            for name in (dpa, host, op)
        ]

    assert [text for kind, text in german_timeline(world.case) if kind != "case.opened"] == [
        "Sie haben eingewilligt, in einer Beschwerde bei einer Datenschutzaufsichtsbehörde als "
        "beschwerdeführende Person genannt zu werden.",
        f"Eine Aufforderung zur Entfernung wurde an {op} geschickt. Die Antwort wird bis zum "
        "11. Februar 2027 erwartet.",
        f"{op} hat die Frist für die Antwort bis zum 11. März 2027 verlängert, wie es das "
        "Gesetz erlaubt.",
        f"{op} hat bis zum Ablauf der Frist am 11. März 2027 nicht geantwortet. Wir bereiten "
        "eine Erinnerung vor.",
        f"Eine Erinnerung wurde an {op} geschickt, weil auf unsere Aufforderung keine Antwort "
        "kam. Die Antwort wird bis zum 19. März 2027 erwartet.",
        f"{op} hat auf unsere Erinnerung bis zum 19. März 2027 nicht geantwortet. Wir "
        "bereiten den nächsten Schritt vor.",
        "Weil die Bilder nicht entfernt wurden, wurde eine Aufforderung zur Entfernung an "
        f"{host} geschickt. Die Antwort wird bis zum 27. April 2027 erwartet.",
        f"{host} hat uns mitgeteilt, für diese Bilder nicht zuständig zu sein. Wir wenden uns "
        "an die nächste Stelle.",
        f"Bei {dpa}, der Datenschutzbehörde, wurde eine Beschwerde eingereicht. Behörden "
        "melden sich meist innerhalb von drei Monaten; wir erwarten Nachricht bis zum "
        "21. Juli 2027.",
        f"{dpa} hat sich bis zum 21. Juli 2027 nicht zurückgemeldet. Wir bereiten eine "
        "Erinnerung vor.",
        f"Eine Erinnerung wurde an {dpa} geschickt, weil auf unsere Aufforderung keine "
        "Antwort kam. Die Antwort wird bis zum 9. August 2027 erwartet.",
        f"{dpa} hat auf unsere Erinnerung bis zum 9. August 2027 nicht geantwortet. Wir "
        "bereiten den nächsten Schritt vor.",
        "Die Stellen, an die wir geschrieben haben, haben nicht alle Bilder entfernt. Ihre "
        "Fallbearbeitung meldet sich bei Ihnen wegen der rechtlichen Schritte, die noch "
        "bleiben.",
        *outcomes(some=True),
        *outcomes(some=False),
        "Alle Bilder, die wir gemeldet haben, wurden entfernt. Ihr Fall ist abgeschlossen.",
        *outcomes(some=True),  # the image came back
        "Ein Bild, das entfernt worden war, ist wieder online. Ihr Fall wurde wieder "
        "eröffnet, und wir kümmern uns darum.",
        "Ihre Fallbearbeitung hat den Fall abgeschlossen.",
    ]


@pytest.mark.parametrize(
    ("outcome", "german"),
    [
        (
            "refused",
            "Hoster GmbH hat es abgelehnt, die Bilder zu entfernen. Wir bereiten den "
            "nächsten Schritt vor.",
        ),
        (
            "complied",
            "Hoster GmbH hat uns mitgeteilt, Bilder entfernt zu haben. Wir prüfen, "
            "ob sie wirklich entfernt sind.",
        ),
        (
            "partly",
            "Hoster GmbH hat uns mitgeteilt, Bilder entfernt zu haben. Wir prüfen, "
            "ob sie wirklich entfernt sind.",
        ),
    ],
)
def test_event_sentence_replies_render_in_german(outcome, german) -> None:
    from takedown.checks.escalate import record_reply

    notice = NoticeFactory(
        recipient=OrganisationFactory(name="Hoster GmbH"),
        status=Notice.Status.SENT,
        sent_at=NOW,
        due_at=NOW + timedelta(days=7),
    )
    record_reply(notice, outcome=outcome, text="Answer.", actor=None)

    assert german_timeline(notice.case) == [("notice.reply_for_person", german)]


def test_event_sentence_dataset_and_fingerprint_events_render_in_german(tmp_path) -> None:
    from takedown.checks.references import import_reference_hashes
    from takedown.checks.releases import compare_release
    from takedown.intake.store import import_links

    case = CaseFactory()
    urls = [f"https://img.example/{n}.jpg" for n in range(3)]
    intake = tmp_path / "found.txt"
    intake.write_text("".join(f"{url}\n" for url in urls))
    import_links(case, [intake], dataset="laion-5b")
    notice = NoticeFactory(
        case=case,
        recipient=OrganisationFactory(name="LAION e.V."),
        recipient_role="dataset_maintainer",
        status=Notice.Status.SENDING,
    )
    notice.links.set(FoundLink.objects.filter(case=case))
    transition(notice, Notice.Status.SENT)
    releases = [("first.txt", urls[1:]), ("second.txt", [*urls[2:], "https://x.example/a"])]
    for name, kept in releases:
        release = tmp_path / name
        release.write_text("".join(f"{url}\n" for url in kept))
        compare_release(case, "laion-5b", [release])
    sha = "ab" * 32
    hashes = tmp_path / "hashes.csv"
    hashes.write_text(f"url,sha256,phash,pdq\n{urls[0]},{sha},,\n")
    import_reference_hashes(case, hashes)

    rendered = [
        text
        for kind, text in german_timeline(case)
        if kind.startswith(("dataset", "notice.o", "links.ref"))
    ]
    assert rendered == [
        "Die neueste Fassung des Datensatzes laion-5b enthält 1 der 3 Einträge nicht mehr, "
        "deren Entfernung wir bei LAION e.V. beantragt haben.",
        "Einige der Einträge, die wir LAION e.V. gemeldet haben, sind aus dem Datensatz "
        "entfernt; um die übrigen kümmern wir uns weiter.",
        "Die neueste Fassung des Datensatzes laion-5b enthält 2 der 3 Einträge nicht mehr, "
        "deren Entfernung wir bei LAION e.V. beantragt haben.",
        "Für 1 Link wurden Fingerabdrücke Ihrer Bilder hinterlegt, damit wir sie "
        "wiedererkennen. Die Bilder selbst wurden uns nicht übergeben.",
    ]


@pytest.fixture
def image_host(request):
    """The recheck tests' sandbox image host (a.test), with the fetch settings it needs."""
    return request.getfixturevalue("sandbox")


def test_event_sentence_link_checks_render_in_german(image_host) -> None:
    from takedown.sandbox.http import image
    from takedown.sandbox.http import status as status_route

    link = make_link(image_host, "/p.jpg", image(1))
    check_once(link)
    image_host.add_route("/p.jpg", status_route(404), host="a.test")
    check_once(link)
    check_once(link)
    image_host.add_route("/p.jpg", image(1), host="a.test")
    link, _ = check_once(link)
    assert link.status == FoundLink.Status.REAPPEARED

    assert german_timeline(link.case) == [
        (
            "foundlink.removed",
            "Ein Bild aus Ihrem Fall ist unter a.test nicht mehr online. Zwei Prüfungen "
            "nacheinander haben ergeben, dass es entfernt ist.",
        ),
        (
            "case.closed",
            "Alle Bilder, die wir gemeldet haben, wurden entfernt. Ihr Fall ist abgeschlossen.",
        ),
        (
            "foundlink.reappeared",
            "Ein Bild, das von a.test entfernt worden war, ist wieder online. Wir fordern "
            "erneut seine Entfernung.",
        ),
        (
            "case.open",
            "Ein Bild, das entfernt worden war, ist wieder online. Ihr Fall wurde wieder "
            "eröffnet, und wir kümmern uns darum.",
        ),
    ]


def _po_entries(path: Path) -> list[dict[str, object]]:
    """msgid, msgstr(s), flags and references of each entry of a .po file."""
    entries: list[dict[str, object]] = []
    current: dict[str, object] = {"refs": "", "flags": "", "strings": {}}
    key = None
    for line in [*path.read_text().splitlines(), ""]:
        if not line.strip():
            if current["strings"]:
                entries.append(current)
            current, key = {"refs": "", "flags": "", "strings": {}}, None
        elif line.startswith("#:"):
            current["refs"] = f"{current['refs']} {line[2:]}"
        elif line.startswith("#,"):
            current["flags"] = f"{current['flags']} {line[2:]}"
        elif line.startswith('"') and key is not None:
            current["strings"][key] += json.loads(line)  # type: ignore[index]
        elif not line.startswith("#"):
            key, _, rest = line.partition(" ")
            current["strings"][key] = json.loads(rest)  # type: ignore[index]
    return entries


# Extracts the portal's strings with Django's own makemessages, in a process of its own with
# no LOCALE_PATHS (the project's would point makemessages at the repository's catalogue),
# merged into a copy of the German catalogue. --no-obsolete drops every entry the copied
# files do not use, so what is left is exactly the portal's strings.
MAKEMESSAGES = """
import django
from django.conf import settings
from django.core.management import call_command
settings.configure(USE_I18N=True, LOCALE_PATHS=[], INSTALLED_APPS=[])
django.setup()
call_command("makemessages", locale=["de"], no_obsolete=True, no_wrap=True, verbosity=0)
"""


def _needs_gettext() -> None:
    missing = [tool for tool in ("xgettext", "msgmerge", "msguniq") if shutil.which(tool) is None]
    if not missing:
        return
    reason = f"needs GNU gettext ({', '.join(missing)}): scripts/system-deps.sh"
    # CI installs gettext, so there its absence is a broken setup, not a reason to pass.
    if os.environ.get("CI"):
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def extracted_catalogue(tmp_path: Path, sources: tuple[str, ...]) -> list[dict[str, object]]:
    """The German catalogue's entries for the strings makemessages finds in `sources` (files
    or folders of the project, copied into `tmp_path` with the catalogue)."""
    _needs_gettext()
    for part in sources:
        source, target = ROOT / part, tmp_path / part
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copyfile(source, target)
    catalogue = tmp_path / "locale/de/LC_MESSAGES/django.po"
    catalogue.parent.mkdir(parents=True)
    shutil.copyfile(ROOT / "locale/de/LC_MESSAGES/django.po", catalogue)
    subprocess.run(
        [sys.executable, "-c", MAKEMESSAGES],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
        capture_output=True,
    )
    return [e for e in _po_entries(catalogue) if e["strings"].get("msgid")]  # type: ignore[union-attr]


def assert_all_translated(entries: list[dict[str, object]]) -> None:
    for entry in entries:
        strings = entry["strings"]
        translated = [v for k, v in strings.items() if k.startswith("msgstr")]  # type: ignore[union-attr]
        assert translated, strings
        assert all(translated), strings
        assert "fuzzy" not in str(entry["flags"]), strings


def test_german_catalogue_translates_every_portal_string(tmp_path) -> None:
    # The sentences of the person's timeline live with the events.
    entries = extracted_catalogue(
        tmp_path, ("templates/portal", "takedown/web/portal", "takedown/events.py")
    )
    msgids = {str(e["strings"]["msgid"]) for e in entries}  # type: ignore[index]
    # The extraction found the portal: strings of a template and of the Python code.
    assert {
        "Open your case",
        "Your message was sent to your caseworker.",
        "Your signed authorisation was received.",
    } <= msgids
    assert len(entries) >= 100
    assert_all_translated(entries)


def test_german_compiled_catalogue_matches_the_po_file(tmp_path) -> None:
    if shutil.which("msgfmt") is None:
        pytest.skip("needs GNU gettext's msgfmt (scripts/system-deps.sh)")
    po = ROOT / "locale/de/LC_MESSAGES/django.po"
    fresh = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check", "-o", str(fresh), str(po)], check=True)
    with fresh.open("rb") as a, (ROOT / "locale/de/LC_MESSAGES/django.mo").open("rb") as b:
        assert GNUTranslations(b)._catalog == GNUTranslations(a)._catalog  # type: ignore[attr-defined]


# --- actions --------------------------------------------------------------------------------------


def test_portal_message_is_encrypted_and_readable_by_staff(mail, case) -> None:
    client = Client()
    sign_in(client, case, mail)
    response = client.post("/p/message/", {"body": "  Please hurry, it is on my employer's site. "})
    assert response.url == "/p/message/"
    message = PortalMessage.objects.get()
    assert message.body == "Please hurry, it is on my employer's site."
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM takedown_portalmessage")
        [(raw,)] = cursor.fetchall()
    assert "employer" not in raw
    assert [m.body for m in portal_messages(case)] == [message.body]
    assert unread_message_count(case) == 1
    staff = UserFactory()
    assert mark_messages_read(case, actor=staff) == 1
    assert unread_message_count(case) == 0
    assert PortalMessage.objects.get().read_by == staff
    assert "Your message was sent to your caseworker." in client.get("/p/message/").content.decode()
    assert "You sent a message to your caseworker." in client.get("/p/timeline/").content.decode()


def test_portal_message_empty_or_too_long_is_refused(mail, case) -> None:
    client = Client()
    sign_in(client, case, mail)
    assert "Please write a message." in client.post("/p/message/", {"body": "  "}).content.decode()
    too_long = client.post("/p/message/", {"body": "x" * 5001}).content.decode()
    assert "Please keep your message under 5000 characters." in too_long
    assert PortalMessage.objects.count() == 0


def test_portal_mandate_download_is_the_pdf_to_sign(mail, case) -> None:
    client = Client()
    sign_in(client, case, mail)
    response = client.get("/p/mandate/authorisation.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="TD-2026-0042-mandate.pdf"'
    assert response.content.startswith(b"%PDF")
    assert CaseEvent.objects.filter(kind="portal.mandate_downloaded", case=case).count() == 1


def test_portal_mandate_download_follows_the_chosen_language(mail, case) -> None:
    from pypdf import PdfReader

    client = Client()
    sign_in(client, case, mail)  # the person's language on file is English
    english = PdfReader(io.BytesIO(client.get("/p/mandate/authorisation.pdf").content))
    client.post("/p/language/", {"language": "de", "next": "/p/mandate/"})
    german = PdfReader(io.BytesIO(client.get("/p/mandate/authorisation.pdf").content))

    assert "Vollmacht und Beauftragung" not in english.pages[0].extract_text()
    assert "Vollmacht und Beauftragung" in german.pages[0].extract_text()


def test_portal_mandate_upload_is_stored_encrypted(mail, case) -> None:
    client = Client()
    sign_in(client, case, mail)
    pdf = b"%PDF-1.7 signed by Alex"
    upload = io.BytesIO(pdf)
    upload.name = "signed.pdf"
    assert client.post("/p/mandate/", {"document": upload}).url == "/p/mandate/"
    mandate = Mandate.objects.get(case=case)
    assert bytes(mandate.signed_document) == pdf
    with connection.cursor() as cursor:
        cursor.execute("SELECT signed_document FROM takedown_mandate")
        [(raw,)] = cursor.fetchall()
    assert b"signed by Alex" not in bytes(raw)
    event = CaseEvent.objects.get(kind="mandate.uploaded")
    assert (event.visible_to_person, event.data["by"]) == (True, "person")
    page = client.get("/p/mandate/").content.decode()
    assert "We have your signed authorisation." in page


def test_portal_mandate_upload_refuses_what_is_not_a_pdf(mail, case) -> None:
    client = Client()
    sign_in(client, case, mail)
    upload = io.BytesIO(b"\xff\xd8\xff\xe0 a broken photo")
    upload.name = "signed.jpg"
    response = client.post("/p/mandate/", {"document": upload})
    assert response.status_code == 400
    assert "This is neither a PDF nor a photo." in response.content.decode()
    assert Mandate.objects.count() == 0


def _photo(image_format: str, size: tuple[int, int], colour: str, **save: object) -> io.BytesIO:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, image_format, **save)
    out.seek(0)
    out.name = f"page.{image_format.lower()}"
    return out


def test_portal_mandate_photos_become_one_pdf(mail, case) -> None:
    from pillow_heif import register_heif_opener
    from pypdf import PdfReader

    register_heif_opener()
    client = Client()
    sign_in(client, case, mail)
    pages = [
        _photo("JPEG", (1200, 1600), "white"),
        _photo("PNG", (800, 600), "grey"),
        _photo("HEIF", (600, 800), "white"),
    ]
    # Two from the file picker, one straight from the camera input.
    response = client.post("/p/mandate/", {"document": pages[:2], "camera": pages[2:]})
    assert response.status_code == 302
    stored = bytes(Mandate.objects.get(case=case).signed_document)
    assert stored.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(stored))
    # One page per photo, in order; the landscape PNG stays landscape (200 dpi: 800 px = 288 pt).
    assert [(round(p.mediabox.width), round(p.mediabox.height)) for p in reader.pages] == [
        (432, 576),
        (288, 216),
        (216, 288),
    ]


def test_portal_mandate_damaged_photo_refused(mail, case) -> None:
    client = Client()
    sign_in(client, case, mail)
    damaged = io.BytesIO(b"\xff\xd8\xff\xe0 not really a photo")
    damaged.name = "page2.jpg"
    response = client.post(
        "/p/mandate/", {"document": [_photo("JPEG", (300, 400), "white"), damaged]}
    )
    assert response.status_code == 400
    assert "File 2 is neither a PDF nor a photo." in response.content.decode()
    assert Mandate.objects.count() == 0


def test_portal_mandate_names_the_photo_cut_off_in_the_upload(mail, case) -> None:
    client = Client()
    sign_in(client, case, mail)
    whole = _photo("JPEG", (600, 800), "white", quality=95).getvalue()
    # The header opens; the body ends half way, as an interrupted phone upload leaves it.
    cut = io.BytesIO(whole[: len(whole) // 2])
    cut.name = "page3.jpg"
    pages = [_photo("JPEG", (300, 400), "white"), _photo("PNG", (300, 400), "grey"), cut]

    response = client.post("/p/mandate/", {"document": pages})

    assert response.status_code == 400
    assert "Photo 3 could not be read" in response.content.decode()
    assert Mandate.objects.count() == 0
    cut.seek(0)
    alone = client.post("/p/mandate/", {"document": cut})
    assert "The photo could not be read" in alone.content.decode()


def test_portal_mandate_pdf_and_photos_together_refused(mail, case) -> None:
    client = Client()
    sign_in(client, case, mail)
    pdf = io.BytesIO(b"%PDF-1.7 signed")
    pdf.name = "signed.pdf"
    response = client.post(
        "/p/mandate/", {"document": [pdf], "camera": [_photo("PNG", (30, 40), "white")]}
    )
    assert response.status_code == 400
    assert "This is neither a PDF nor a photo." in response.content.decode()
    assert Mandate.objects.count() == 0


def test_portal_mandate_form_takes_camera_photos_and_pdf(mail, case) -> None:
    client = Client()
    sign_in(client, case, mail)
    page = client.get("/p/mandate/").content.decode()
    assert (
        'accept="image/*,application/pdf,.pdf,.heic,.heif,.jpg,.jpeg,.png" multiple' in page
        or 'multiple accept="image/*,application/pdf' in page
    )
    assert 'capture="environment"' in page


def test_portal_pause_resume_and_withdraw_go_through_the_workflow(mail, case) -> None:
    client = Client()
    sign_in(client, case, mail)
    assert client.post("/p/case/", {"move": "pause"}).url == "/p/case/"
    case.refresh_from_db()
    assert case.status == Case.Status.PAUSED
    assert client.post("/p/case/", {"move": "resume"}).url == "/p/case/"
    case.refresh_from_db()
    assert case.status == Case.Status.OPEN
    refused = client.post("/p/case/", {"move": "withdraw"})
    assert refused.status_code == 400
    assert "Please tick the box to confirm." in refused.content.decode()
    case.refresh_from_db()
    assert case.status == Case.Status.OPEN
    assert client.post("/p/case/", {"move": "withdraw", "confirm": "on"}).url == "/p/case/"
    case.refresh_from_db()
    assert case.status == Case.Status.WITHDRAWN
    # Reopening is the caseworker's, not the person's.
    again = client.post("/p/case/", {"move": "resume"})
    assert again.status_code == 400
    case.refresh_from_db()
    assert case.status == Case.Status.WITHDRAWN
    kinds = list(
        CaseEvent.objects.filter(case=case, kind__startswith="case.", visible_to_person=True)
        .exclude(kind="case.opened")
        .values_list("kind", flat=True)
    )
    assert kinds == ["case.paused", "case.open", "case.withdrawn"]
    timeline = client.get("/p/timeline/").content.decode()
    assert "You paused your case." in timeline
    assert "You resumed your case." in timeline
    assert "You withdrew your case." in timeline


def _states(client: Client) -> tuple[list[tuple[str, str]], dict[str, str]]:
    page = client.get("/p/status/").content.decode()
    summary = re.findall(r'<div class="s-(\w+)"><dt>[^<]+</dt><dd>(\d+)</dd></div>', page)
    data = json.loads(client.get("/p/data/my-data.json").content)
    return summary, {link["host"]: link["state"] for link in data["links"]}


def test_portal_link_states_agree_with_refusal_and_checks(mail, case) -> None:
    # The overdue notice was refused; the waiting link's host never had the image.
    late = Notice.objects.get(case=case, due_at=NOW - timedelta(days=6))
    Notice.objects.filter(pk=late.pk).update(outcome=Notice.Outcome.REFUSED)
    FoundLink.objects.filter(host__hostname="new.example").update(
        status=FoundLink.Status.NEVER_REACHABLE, last_verdict="removed"
    )
    client = Client()
    with time_machine.travel(NOW, tick=False):
        sign_in(client, case, mail)
        summary, states = _states(client)
        page = client.get("/p/status/").content.decode()

    assert summary == [
        ("found", "0"),
        ("notice_sent", "0"),
        ("waiting", "1"),
        ("still_online", "0"),
        ("refused", "1"),
        ("removed", "1"),
        ("never_reachable", "1"),
    ]
    assert states == {
        "cdn.slow.example": "refused",
        "gone.example": "removed",
        "img.bilderhost.example": "waiting",
        "new.example": "never_reachable",
    }
    assert "refused to remove the image or said it is not responsible" in page
    assert "We could never reach the image at this address" in page


def test_portal_past_deadline_is_still_online_only_if_the_last_check_saw_it(mail, case) -> None:
    FoundLink.objects.filter(host__hostname="cdn.slow.example").update(last_verdict="unreachable")
    client = Client()
    with time_machine.travel(NOW, tick=False):
        sign_in(client, case, mail)
        _, states = _states(client)

    assert states["cdn.slow.example"] == "notice_sent"


@pytest.mark.parametrize(
    ("case_status", "state", "sentence"),
    [
        ("paused", "paused", "Your case is paused: we send no new requests about this image"),
        ("withdrawn", "withdrawn", "You withdrew your case: we do not act on this image any more."),
    ],
)
def test_portal_link_states_say_a_pause_and_a_withdrawal(
    mail, case, case_status: str, state: str, sentence: str
) -> None:
    Case.objects.filter(pk=case.pk).update(status=case_status)
    client = Client()
    with time_machine.travel(NOW, tick=False):
        sign_in(client, case, mail)
        summary, states = _states(client)
        page = client.get("/p/status/").content.decode()

    # A removal stays a removal; everything else is what the case's state makes it.
    assert states == {
        "cdn.slow.example": state,
        "gone.example": "removed",
        "img.bilderhost.example": state,
        "new.example": state,
    }
    assert (state, "3") in summary
    assert sentence in page


def test_portal_data_download_is_the_case_as_the_person_sees_it(mail, case) -> None:
    client = Client()
    with time_machine.travel(NOW, tick=False):
        sign_in(client, case, mail)
        response = client.get("/p/data/my-data.json")
    assert response["Content-Disposition"] == 'attachment; filename="TD-2026-0042-my-data.json"'
    data = json.loads(response.content)
    assert sorted(data) == [
        "case",
        "deletion_requests",
        "links",
        "messages",
        "requests_sent",
        "signed_authorisations",
        "summary",
        "timeline",
        "you",
    ]
    assert data["you"] == {
        "name": "Alex Example",
        "email": "alex@example.org",
        "phone": "",
        "country": "DE",
        "region": "",
        "language": "en",
        "learned_of_images_on": None,
        "learned_who_shared_them_on": None,
        "agreed_to_be_named_in_complaints_at": None,
    }
    assert sorted((link["host"], link["state"]) for link in data["links"]) == [
        ("cdn.slow.example", "still_online"),
        ("gone.example", "removed"),
        ("img.bilderhost.example", "waiting"),
        ("new.example", "found"),
    ]
    assert {link["address"] for link in data["links"]} == {
        "https://cdn.slow.example/a/b/photo-2.jpg?size=large",
        "https://gone.example/photo-3.jpg",
        "https://img.bilderhost.example/private/photo-1.jpg",
        "https://new.example/photo-4.jpg",
    }
    assert data["summary"] == {
        "found": 1,
        "notice_sent": 0,
        "waiting": 1,
        "still_online": 1,
        "refused": 0,
        "removed": 1,
        "never_reachable": 0,
        "paused": 0,
        "withdrawn": 0,
    }
    late = Notice.objects.get(case=case, due_at=NOW - timedelta(days=6))
    assert data["requests_sent"] == [
        {
            "recipient": late.recipient.name,
            "sent_at": (NOW - timedelta(days=20)).isoformat(),
            "respond_by": (NOW - timedelta(days=6)).isoformat(),
        },
        {
            "recipient": "Bilderhost GmbH",
            "sent_at": (NOW - timedelta(days=2)).isoformat(),
            "respond_by": (NOW + timedelta(days=5)).isoformat(),
        },
    ]
    assert CaseEvent.objects.filter(kind="portal.data_downloaded", case=case).count() == 1


def test_portal_deletion_request_is_recorded_once(mail, case) -> None:
    client = Client()
    sign_in(client, case, mail)
    assert client.post("/p/data/", {}).status_code == 400
    assert DeletionRequest.objects.count() == 0
    assert client.post("/p/data/", {"confirm": "on"}).url == "/p/data/"
    assert client.post("/p/data/", {"confirm": "on"}).url == "/p/data/"
    assert DeletionRequest.objects.filter(case=case, handled_at__isnull=True).count() == 1
    events = CaseEvent.objects.filter(kind="portal.deletion_requested", case=case)
    assert [e.visible_to_person for e in events] == [True]
    assert "You asked for deletion on" in client.get("/p/data/").content.decode()
    assert export_data(case)["deletion_requests"][0]["handled_at"] is None


def test_portal_sign_out_ends_the_visit(mail, case) -> None:
    client = Client()
    sign_in(client, case, mail)
    assert client.post("/p/signout/").url == "/p/"
    assert client.get("/p/status/").url == "/p/"


# --- the command ----------------------------------------------------------------------------------


def test_portal_link_command_prints_the_url_and_revokes(mail, case) -> None:
    out = io.StringIO()
    call_command("portal_link", "--case", "TD-2026-0042", "--days", "7", stdout=out)
    url = out.getvalue().strip()
    assert re.fullmatch(r"https://portal\.org\.example/p/[A-Za-z0-9_-]{43}/", url)
    access = PortalAccess.objects.get()
    assert access.expires_at - access.created_at == timedelta(days=7)
    out = io.StringIO()
    call_command("portal_link", "--case", "TD-2026-0042", "--revoke", stdout=out)
    assert out.getvalue() == "revoked 1 portal link(s) of TD-2026-0042\n"
    assert Client().get(path_of(url)).status_code == 404


def test_portal_link_command_bad_input_exits_2(mail, case) -> None:
    with pytest.raises(CommandError, match="no case 'TD-0000'") as missing:
        call_command("portal_link", "--case", "TD-0000")
    assert missing.value.returncode == 2
    with pytest.raises(CommandError, match="1 to 365 days") as days:
        call_command("portal_link", "--case", "TD-2026-0042", "--days", "400")
    assert days.value.returncode == 2
    assert PortalAccess.objects.count() == 0


# --- StGB §77b and consent to be named in a complaint --------------------------------------------


def test_portal_asks_when_the_person_learned_and_tells_the_complaint_deadline(mail, case) -> None:
    client = Client()
    with time_machine.travel(NOW, tick=False):
        sign_in(client, case, mail)
        page = client.get("/p/rights/").content.decode()
        assert "Tell us when that was, so we can remind you in time." in page
        refused = client.post(
            "/p/rights/", {"move": "knowledge", "act_on": "2026-05-20", "offender_on": "2026-05-01"}
        )
        assert refused.status_code == 400
        assert "you cannot have learned who shared the images before" in refused.content.decode()
        response = client.post("/p/rights/", {"move": "knowledge", "act_on": "2026-05-20"})
        assert response.url == "/p/rights/"
        assert 'value="2026-05-20"' in client.get("/p/rights/").content.decode()
        home = client.get("/p/status/").content.decode()
    case.refresh_from_db()
    assert case.learned_of_act_on == datetime(2026, 5, 20).date()
    # Three months from the end of 20 May: 20 August 2026, a Thursday.
    assert (
        "If you want whoever shared your images to be prosecuted in Germany, a criminal "
        "complaint (Strafantrag) must reach the police or the public prosecutor by "
        "20 August 2026. After that day it is too late. This deadline does not depend on our "
        "requests to websites."
    ) in home
    event = CaseEvent.objects.get(case=case, kind="case.knowledge_recorded")
    assert (event.visible_to_person, event.message) == (
        True,
        "You told us when you learned of the images.",
    )
    with translation.override("de"), time_machine.travel(NOW, tick=False):
        client.post("/p/language/", {"language": "de", "next": "/p/status/"})
        home = client.get("/p/status/").content.decode()
    assert "bis zum 20. August 2026" in home


def test_portal_records_and_withdraws_consent_to_be_named(mail, case) -> None:
    client = Client()
    sign_in(client, case, mail)
    assert client.post("/p/rights/", {"move": "consent"}).status_code == 400
    assert client.post("/p/rights/", {"move": "consent", "agree": "on"}).url == "/p/rights/"
    case.refresh_from_db()
    assert (case.complaint_consent_how, case.complaint_consent_recorded_by) == ("portal", None)
    page = client.get("/p/rights/").content.decode()
    assert "You agreed that your name may be given in such a complaint." in page
    exported = json.loads(client.get("/p/data/my-data.json").content)
    assert exported["you"]["agreed_to_be_named_in_complaints_at"] == (
        case.complaint_consent_at.isoformat()
    )
    client.post("/p/rights/", {"move": "withdraw_consent"})
    case.refresh_from_db()
    assert case.complaint_consent_at is None
    timeline = client.get("/p/timeline/").content.decode()
    assert "You withdrew your agreement to be named in a complaint" in timeline


def signed_photo() -> bytes:
    """A photo of a signed page (a blank one does as well here)."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (300, 400), "white").save(out, format="PNG")
    return out.getvalue()


def test_portal_upload_of_photos_and_revocation(mail: Any, case: Any) -> None:
    client = Client()
    sign_in(client, case, mail)
    queued = NoticeFactory(case=case, regime="gdpr", status="queued")
    unsigned = io.BytesIO(client.get("/p/mandate/authorisation.pdf").content)
    unsigned.name = "authorisation.pdf"

    refused = client.post("/p/mandate/", {"document": unsigned})

    assert refused.status_code == 400
    assert "This is the form as we sent it, without your signature." in refused.content.decode()
    scan = io.BytesIO(signed_photo())
    scan.name = "signed.png"
    assert client.post("/p/mandate/", {"document": [scan]}).url == "/p/mandate/"
    assert (
        len(PdfReader(io.BytesIO(bytes(Mandate.objects.get(case=case).signed_document))).pages) == 1
    )
    unconfirmed = client.post("/p/mandate/revoke/", {})
    assert unconfirmed.status_code == 400
    assert Mandate.objects.get(case=case).revoked_at is None

    assert client.post("/p/mandate/revoke/", {"confirm": "on"}).url == "/p/mandate/"

    assert Mandate.objects.get(case=case).revoked_at is not None
    assert Notice.objects.get(pk=queued.pk).status == "draft"
    timeline = client.get("/p/timeline/").content.decode()
    assert "Your authorisation was revoked. Requests that need it are no longer sent." in timeline


def test_caseworker_answer_shows_in_the_portal_and_mails_only_that_there_is_news(
    mail, case, django_capture_on_commit_callbacks
) -> None:
    caseworker = UserFactory(username="carla")
    send_message(case, "Is there any news?")
    # The e-mail leaves once the answer is committed.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        answer_person(case, actor=caseworker, body="Yes: the host removed two photos.")
    assert len(callbacks) == 1

    [news] = mail.wait_for(1)
    assert news.rcpt_tos == ("alex@example.org",)
    text = news.message.get_content()
    assert "There is news in your case." in text
    assert "removed" not in text and "TD-2026-0042" not in text
    client = Client()
    sign_in(client, case, mail)
    page = client.get("/p/message/").content.decode()
    assert page.index("Is there any news?") < page.index("Yes: the host removed two photos.")
    assert "Your caseworker" in page
    assert PortalMessage.objects.filter(case=case, read_at__isnull=True).count() == 1


# --- links by site, the case's state, data as a page, leaving quickly (issue 14) ----------------


def _site_sentences(page: str) -> list[str]:
    return re.findall(r'<span class="site-sentence">([^<]+)</span>', page)


def test_portal_status_groups_links_by_site_with_one_sentence_each(mail, case) -> None:
    host = Host.objects.get(hostname="img.bilderhost.example")
    notice = Notice.objects.get(recipient__name="Bilderhost GmbH")
    for n in (7, 8):
        link = FoundLinkFactory(
            case=case,
            host=host,
            url=f"https://img.bilderhost.example/private/photo-{n}.jpg",
            status=FoundLink.Status.NOTIFIED,
        )
        NoticeLink.objects.create(notice=notice, link=link)
    client = Client()
    with time_machine.travel(NOW, tick=False):
        sign_in(client, case, mail)
        page = client.get("/p/status/").content.decode()
    # Sites come in the order of the link_case_party index (responsible party, then host), so
    # that a page of a million-link case reads the index instead of sorting every link by
    # host name; each site once, with all of its links.
    assert sorted(_site_sentences(page)) == [
        "1 picture on cdn.slow.example: removal requested on 12 May 2026; the time to answer "
        "is over and we follow up",
        "1 picture on gone.example: removed",
        "1 picture on new.example: we are preparing the removal request",
        "3 pictures on img.bilderhost.example: removal requested on 30 May 2026, they must "
        "answer by 6 June 2026",
    ]
    # Each site's links are one tap away: inside its <details>, closed until asked.
    group = page.split("3 pictures on img.bilderhost.example", 1)[1].split("</details>", 1)[0]
    assert group.count('<li class="link s-waiting">') == 3
    assert "<details open" not in page
    assert '<span class="badge">3 · Waiting for the host</span>' in group


def test_portal_status_opens_the_site_of_a_revealed_address(mail, case) -> None:
    client = Client()
    sign_in(client, case, mail)
    link = FoundLink.objects.get(host__hostname="cdn.slow.example")
    page = client.get(f"/p/status/?show={link.pk}").content.decode()
    opened = page.split("<details open>", 1)[1].split("</details>", 1)[0]
    assert "<code>https://cdn.slow.example/a/b/photo-2.jpg?size=large</code>" in opened
    assert page.count("<details open>") == 1


def test_portal_status_says_what_a_refusal_means(mail, case) -> None:
    Notice.objects.filter(recipient__name="Bilderhost GmbH").update(
        outcome=Notice.Outcome.REFUSED,
        replied_at=NOW - timedelta(days=1),
        due_at=NOW - timedelta(days=1),
    )
    client = Client()
    with time_machine.travel(NOW, tick=False):
        sign_in(client, case, mail)
        page = client.get("/p/status/").content.decode()
    assert (
        "1 picture on img.bilderhost.example: removal requested on 30 May 2026 and refused; we "
        "are taking it further" in _site_sentences(page)
    )
    state = page.split('id="case-state">', 1)[1]
    state = state.split("</div>", 1)[0]
    assert re.findall(r"<p>([^<]+)</p>", state) == [
        "Your case is open. We are working on it.",
        "Bilderhost GmbH refused to remove the pictures (31 May 2026).",
        "This is not the end: your caseworker takes the request further, to whoever else is "
        "responsible or to the authority that oversees them. Each step will show here.",
    ]


@pytest.mark.parametrize(
    ("move", "expected"),
    [
        (
            "pause",
            [
                "You paused your case on 1 June 2026.",
                "While it is paused we send no new requests and no reminders. Requests already "
                "sent stay with their recipients. You can resume it under \u201cPause or "
                "withdraw\u201d.",
            ],
        ),
        (
            "withdraw",
            [
                "You withdrew your case on 1 June 2026.",
                "We do not act on it any more: no new requests, reminders or checks. Requests "
                "already sent cannot be taken back. To start again, write to your caseworker.",
            ],
        ),
    ],
)
def test_portal_status_after_pause_or_withdrawal_says_what_happens_next(
    mail, case, move, expected
) -> None:
    client = Client()
    with time_machine.travel(NOW, tick=False):
        sign_in(client, case, mail)
        assert client.post("/p/case/", {"move": move, "confirm": "on"}).status_code == 302
        for url in ("/p/status/", "/p/case/"):
            state = client.get(url).content.decode().split('id="case-state">', 1)[1]
            assert re.findall(r"<p>([^<]+)</p>", state.split("</div>", 1)[0]) == expected, url


def test_portal_status_after_a_pause_by_staff_names_the_caseworker(mail, case) -> None:
    with time_machine.travel(NOW, tick=False):
        transition(case, Case.Status.PAUSED, actor=None)
        client = Client()
        sign_in(client, case, mail)
        page = client.get("/p/status/").content.decode()
    assert "Your caseworker paused your case on 1 June 2026." in page
    assert "Your caseworker will tell you when work goes on" in page


def test_portal_data_downloads_as_a_readable_page(mail, case) -> None:
    send_message(case, "Please hurry <b>now</b>")
    client = Client()
    with time_machine.travel(NOW, tick=False):
        sign_in(client, case, mail)
        response = client.get("/p/data/my-data.html")
        data_page = client.get("/p/data/").content.decode()
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="TD-2026-0042-my-data.html"'
    page = response.content.decode()
    assert "<h1>Your data, case TD-2026-0042</h1>" in page
    assert "<dd>alex@example.org</dd>" in page
    assert "<td>https://cdn.slow.example/a/b/photo-2.jpg?size=large</td>" in page
    assert "To Bilderhost GmbH, sent on 30 May 2026; answer expected by 6 June 2026" in page
    assert "Please hurry &lt;b&gt;now&lt;/b&gt;" in page
    assert "excluded.example" not in page
    for secret in SECRETS:
        assert secret not in page
    assert CaseEvent.objects.filter(kind="portal.data_downloaded", case=case).count() == 1
    assert 'href="/p/data/my-data.html"' in data_page
    assert 'href="/p/data/my-data.json"' in data_page


def test_portal_leave_quickly_ends_the_visit_and_goes_to_the_neutral_site(
    mail, case, settings
) -> None:
    settings.TAKEDOWN_PORTAL_LEAVE_URL = "https://weather.example/"
    client = Client()
    sign_in(client, case, mail)
    client.handler.enforce_csrf_checks = True
    page = client.get("/p/status/").content.decode()
    assert (
        '<form class="leave" id="leave-form" method="post" action="/p/leave/" '
        'data-neutral="https://weather.example/">' in page
    )

    # No CSRF token: leaving must work from a page left open for hours.
    response = client.post("/p/leave/")

    # A page of ours that moves on at once (a redirect after a form would break the CSP's
    # form-action 'self'), without the portal in it.
    assert response.status_code == 200
    assert (
        '<meta http-equiv="refresh" content="0;url=https://weather.example/">'
        in response.content.decode()
    )
    assert "Leave quickly" not in response.content.decode()
    assert response["Clear-Site-Data"] == '"cache", "cookies", "storage"'
    assert response.cookies[portal_access.DEVICE_COOKIE]["max-age"] == 0
    assert client.get("/p/status/").url == "/p/"
    assert client.get("/p/leave/").status_code == 405
