"""Answers coming back: the corpus of real-looking answers (tests/data/replies), classified,
matched to their notice, recorded once, from files and from a real IMAP server (dovecot)."""

from __future__ import annotations

import datetime as dt
import json
import mailbox
import ssl
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from takedown import crypto
from takedown.models import CaseEvent, Notice, NoticeLink, Reply
from takedown.replies import classify as c
from takedown.replies.imap import ImapConfigError, parse_imap_url, poll_mailbox
from takedown.replies.inbound import (
    ReplyError,
    assign_reply,
    confirm_reply,
    dismiss_reply,
    receive,
)
from takedown.replies.mail import new_text, parse_message
from tests.factories import (
    CaseFactory,
    ContactFactory,
    FoundLinkFactory,
    NoticeFactory,
    OrganisationFactory,
    UserFactory,
)

CORPUS = Path(__file__).parent / "data" / "replies"
DOMAIN = "replies.org.example"
TOKEN = "ab" * 24
MESSAGE_ID = "<notice-1.0123456789abcdef@org.example>"
REFERENCE = "TD-2026-0042"
N = Notice.Status


def raw(name: str, **values: str) -> bytes:
    text = (CORPUS / name).read_text(encoding="utf-8")
    defaults = {
        "TOKEN": TOKEN,
        "DOMAIN": DOMAIN,
        "MESSAGE_ID": MESSAGE_ID,
        "REFERENCE": REFERENCE,
        "TICKET": "483920",
        "NOTICE_ID": "0",
    }
    for key, value in {**defaults, **values}.items():
        text = text.replace("{{" + key + "}}", value)
    return text.replace("\n", "\r\n").encode()


def classified(name: str) -> c.Classification:
    mail = parse_message(raw(name))
    return c.classify(
        mail.headers,
        mail.subject,
        mail.new_text,
        is_dsn=mail.is_dsn,
        from_address=mail.from_address,
        ignore_tickets=[REFERENCE],
    )


# --- classification: pure ------------------------------------------------------------------

# file -> (kind, ticket, reason, party); confidence at or above CONFIDENT unless listed below.
EXPECTED = {
    "auto_exchange_en.eml": ("auto_reply", "", "", ""),
    "auto_outlook_de.eml": ("auto_reply", "", "", ""),
    "auto_gmail_vacation_en.eml": ("auto_reply", "", "", ""),
    "auto_abwesenheitsnotiz_de.eml": ("auto_reply", "", "", ""),
    "ack_zendesk_en.eml": ("acknowledgement", "483920", "", ""),
    "ack_freshdesk_de.eml": ("acknowledgement", "98765", "", ""),
    "ack_case_id_en.eml": ("acknowledgement", "12345678", "", ""),
    "ack_reference_en.eml": ("acknowledgement", "ABC-123", "", ""),
    "complied_en.eml": ("complied", "", "", ""),
    "complied_de.eml": ("complied", "", "", ""),
    "html_only_complied_en.eml": ("complied", "", "", ""),
    "forwarded_complied_en.eml": ("complied", "", "", ""),
    "attachment_de.eml": ("complied", "", "", ""),
    "partly_en.eml": ("partly_complied", "", "", ""),
    "partly_de.eml": ("partly_complied", "", "", ""),
    "refused_research_en.eml": ("refused", "", "research_exception", ""),
    "refused_expression_de.eml": ("refused", "", "freedom_of_expression", ""),
    "not_responsible_cdn_en.eml": ("not_responsible", "", "", "Example Hosting Ltd"),
    "not_responsible_de.eml": ("not_responsible", "", "", "Beispiel Hosting GmbH"),
    "needs_info_en.eml": ("needs_information", "", "", ""),
    "needs_info_de.eml": ("needs_information", "", "", ""),
    "other_en.eml": ("other", "", "", ""),
    "quoted_history_en.eml": ("acknowledgement", "771234", "", ""),
    "quoted_history_de.eml": ("acknowledgement", "2026-4711", "", ""),
    "subject_only_en.eml": ("complied", "", "", ""),
    "ticket_only_de.eml": ("complied", "483920", "", ""),
    "unmatched_en.eml": ("complied", "555444", "", ""),
    "bounce_dsn.eml": ("bounce", "", "", ""),
}
UNSURE = {"other_en.eml"}


def test_corpus_is_all_tested():
    assert {p.name for p in CORPUS.glob("*.eml")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_classify_corpus(name):
    result = classified(name)
    assert (result.kind, result.ticket, result.reason, result.party) == EXPECTED[name]
    assert result.confident == (name not in UNSURE)
    if result.kind != "other":
        assert result.evidence, "the words that decided it are kept"


def test_classify_auto_reply_header_beats_answer_words():
    # RFC 3834: a machine's message is never an answer, whatever words it contains.
    result = c.classify(
        {"auto-submitted": "auto-replied"}, "Re: notice", "The content has been removed."
    )
    assert (result.kind, result.evidence) == ("auto_reply", ["Auto-Submitted: auto-replied"])
    human = c.classify({"auto-submitted": "no"}, "Re: notice", "The content has been removed.")
    assert human.kind == "complied"


def test_classify_negated_removal_is_not_compliance():
    result = c.classify({}, "Re: notice", "The content has not been removed yet.")
    assert result.kind == "other"


def test_classify_contradiction_waits_for_a_caseworker():
    result = c.classify(
        {}, "Re", "We have removed the first image. The second does not violate our terms."
    )
    assert (result.kind, result.confidence, result.confident) == ("complied", 0.6, False)


def test_classify_does_not_take_our_reference_for_a_ticket():
    text = "Reference: TD-2026-0042. Thank you for your report, we will review it."
    assert c.classify({}, "Re", text, ignore_tickets=["TD-2026-0042"]).ticket == ""
    assert c.find_tickets("Vorgangsnummer: 2026-4711 und Ticket-Nr. A-99") == ["2026-4711", "A-99"]


def test_new_text_drops_quoted_history():
    mail = parse_message(raw("complied_en.eml"))
    assert "we have removed the reported content" in mail.new_text
    assert "will not remove" in mail.text
    assert "will not remove" not in mail.new_text
    assert new_text("Thanks.\n\nAm 7.12.2026 um 09:00 schrieb X <x@y>:\n> alt") == "Thanks."


# --- receiving: matching, recording, idempotency --------------------------------------------


@pytest.fixture
def notice(db, settings):
    settings.TAKEDOWN_REPLY_DOMAIN = DOMAIN
    case = CaseFactory(reference=REFERENCE)
    org = OrganisationFactory(name="Hoster GmbH")
    contact = ContactFactory(organisation=org, value="abuse@hoster.example")
    sent_at = timezone.now() - dt.timedelta(days=3)
    notice = NoticeFactory(
        case=case,
        recipient=org,
        contact=contact,
        to_address="abuse@hoster.example",
        status=N.SENT,
        message_id=MESSAGE_ID,
        reply_token=TOKEN,
        sent_at=sent_at,
        due_at=sent_at + dt.timedelta(days=30),
    )
    NoticeLink.objects.create(notice=notice, link=FoundLinkFactory(case=case))
    return notice


def test_receive_complied_answer_is_recorded_on_its_notice(notice):
    with time_machine.travel(dt.datetime(2026, 12, 20, 12, 0, tzinfo=dt.UTC), tick=False):
        result = receive(raw("complied_en.eml"))

    assert result.as_json() == {
        "message_id": "<complied-en-1@hoster.example>",
        "notice": notice.pk,
        "case": notice.case_id,
        "kind": "complied",
        "confidence": 0.9,
        "reference": REFERENCE,
        "matched_by": "token",
        "action": "recorded",
    }
    notice.refresh_from_db()
    # What they said; the notice's outcome follows the links, which the rechecks confirm.
    assert (notice.reply_outcome, notice.outcome) == ("complied", "pending")
    # The time it reached us is the message's Date.
    assert notice.replied_at == dt.datetime(2026, 12, 9, 15, 2, tzinfo=dt.UTC)
    reply = Reply.objects.get()
    assert (reply.state, reply.matched_by, reply.from_address) == (
        "applied",
        "token",
        "abuse@hoster.example",
    )
    event = CaseEvent.objects.get(kind="notice.reply")
    assert event.data == {
        "notice": notice.pk,
        "via": notice.pk,
        "outcome": "complied",
        "reply": reply.pk,
        "kind": "complied",
        # What a complaint to an authority states of each answer (takedown.notices.complaint),
        # encrypted like the notice's copy.
        "text_sealed": event.data["text_sealed"],
        "received_at": notice.replied_at.isoformat(),
        "extension_until": None,
    }
    assert crypto.open_text(event.data["text_sealed"]) == notice.reply_text
    assert notice.reply_text == (
        f'E-mail answer {reply.pk} from Hoster GmbH: Complied: "we have removed; no longer '
        'accessible"'
    )
    assert "abuse@hoster.example" not in CaseEvent.objects.get(kind="reply.received").message


def test_receive_stores_text_encrypted_at_rest(notice):
    receive(raw("complied_en.eml"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT text, subject, raw, from_address FROM takedown_reply")
        text, subject, stored, sender = cursor.fetchone()
    assert "removed" not in text and "DSA" not in subject and "hoster" not in sender
    assert b"removed" not in bytes(stored)
    assert "we have removed the reported content" in Reply.objects.get().text


def test_receive_same_message_twice_is_stored_once(notice):
    first = receive(raw("complied_en.eml"))
    second = receive(raw("complied_en.eml"))
    assert (first.action, second.action) == ("recorded", "duplicate")
    assert (second.notice, second.kind) == (notice.pk, "complied")
    assert Reply.objects.count() == 1
    assert CaseEvent.objects.filter(kind="notice.reply").count() == 1


def test_receive_without_message_id_is_keyed_by_its_bytes(notice):
    message = raw("other_en.eml").replace(b"Message-ID: <other-en-1@site.example>\r\n", b"")
    assert receive(message).action == "to_confirm"
    assert receive(message).action == "duplicate"
    [reply] = Reply.objects.all()
    assert reply.message_key.startswith("sha256:") and len(reply.message_key) == 71


@pytest.mark.parametrize(
    "name", ["auto_exchange_en.eml", "auto_gmail_vacation_en.eml", "auto_outlook_de.eml"]
)
def test_auto_reply_decides_nothing(notice, name):
    result = receive(raw(name))
    assert (result.kind, result.action) == ("auto_reply", "noted")
    notice.refresh_from_db()
    assert (notice.reply_outcome, notice.replied_at, notice.outcome) == ("", None, "pending")
    assert not CaseEvent.objects.filter(kind="notice.reply").exists()


def test_acknowledgement_keeps_ticket_and_a_later_answer_matches_by_it(notice):
    ack = receive(raw("ack_zendesk_en.eml"))
    assert (ack.kind, ack.action) == ("acknowledgement", "recorded")
    notice.refresh_from_db()
    assert (notice.recipient_ticket, notice.reply_outcome) == ("483920", "pending")

    answer = receive(raw("ticket_only_de.eml", TICKET="483920"))
    assert (answer.notice, answer.matched_by, answer.kind, answer.action) == (
        notice.pk,
        "ticket",
        "complied",
        "recorded",
    )
    notice.refresh_from_db()
    assert notice.reply_outcome == "complied"


def test_ticket_number_is_learnt_only_once(notice):
    receive(raw("ack_zendesk_en.eml"))
    receive(raw("ack_case_id_en.eml"))
    notice.refresh_from_db()
    assert notice.recipient_ticket == "483920"


def test_answer_matches_by_thread_without_token(notice):
    result = receive(raw("complied_de.eml", TOKEN="0" * 48))
    assert (result.notice, result.matched_by) == (notice.pk, "thread")


def test_answer_matches_by_reference_in_subject_only(notice):
    result = receive(raw("subject_only_en.eml"))
    assert (result.notice, result.matched_by, result.action) == (notice.pk, "subject", "recorded")


def test_subject_reference_with_two_recipients_takes_the_senders(notice):
    other = NoticeFactory(
        case=notice.case,
        to_address="legal@site.example",
        status=N.SENT,
        sent_at=timezone.now(),
    )
    result = receive(raw("subject_only_en.eml"))
    assert result.notice == notice.pk != other.pk
    from_site = raw("subject_only_en.eml").replace(b"abuse@hoster.example", b"legal@site.example")
    from_site = from_site.replace(b"subject-only-1@", b"subject-only-2@")
    assert receive(from_site).notice == other.pk


def test_unmatched_answer_waits_and_assigning_learns_its_ticket(notice):
    worker = UserFactory()
    result = receive(raw("unmatched_en.eml"))
    assert result.as_json() == {
        "message_id": "<unmatched-1@elsewhere.example>",
        "notice": None,
        "case": None,
        "kind": "unmatched",
        "confidence": 0.85,
        "reference": "",
        "matched_by": "",
        "action": "unmatched",
    }
    reply = Reply.objects.get()
    assert assign_reply(reply, notice, actor=worker) == "recorded"
    notice.refresh_from_db()
    assert (notice.recipient_ticket, notice.reply_outcome) == ("555444", "complied")
    with pytest.raises(ReplyError, match="no longer waiting"):
        assign_reply(reply, notice, actor=worker)
    # The product learnt the ticket: the next message quoting it finds the notice.
    later = raw("unmatched_en.eml").replace(b"unmatched-1@", b"unmatched-2@")
    assert receive(later).matched_by == "ticket"


def test_question_waits_for_one_click(notice):
    worker = UserFactory()
    result = receive(raw("needs_info_en.eml"))
    assert (result.kind, result.action) == ("needs_information", "to_confirm")
    notice.refresh_from_db()
    assert notice.reply_outcome == ""
    reply = Reply.objects.get()
    assert confirm_reply(reply, actor=worker) == "noted"
    with pytest.raises(ReplyError, match="already been decided"):
        confirm_reply(reply, actor=worker)


def test_unsure_answer_is_recorded_as_the_caseworker_says(notice):
    worker = UserFactory()
    assert receive(raw("other_en.eml")).action == "to_confirm"
    reply = Reply.objects.get()
    assert confirm_reply(reply, actor=worker, kind="refused") == "recorded"
    reply.refresh_from_db()
    notice.refresh_from_db()
    assert (reply.state, reply.kind, reply.decided_by) == ("applied", "refused", worker)
    assert notice.reply_outcome == "refused"


def test_dismissed_answer_is_not_decided_again(notice):
    worker = UserFactory()
    receive(raw("other_en.eml"))
    reply = Reply.objects.get()
    dismiss_reply(reply, actor=worker)
    with pytest.raises(ReplyError):
        confirm_reply(reply, actor=worker)


def test_not_responsible_keeps_the_party_they_name(notice):
    result = receive(raw("not_responsible_de.eml"))
    assert (result.kind, result.action) == ("not_responsible", "recorded")
    reply = Reply.objects.get()
    assert reply.evidence["party"] == "Beispiel Hosting GmbH"
    notice.refresh_from_db()
    assert notice.reply_outcome == "not_responsible"
    assert "names: Beispiel Hosting GmbH" in notice.reply_text


def test_answer_to_a_notice_not_sent_waits(notice):
    Notice.objects.filter(pk=notice.pk).update(status=N.BOUNCED)
    result = receive(raw("complied_en.eml"))
    assert result.action == "to_confirm"
    assert "only a sent notice has replies" in Reply.objects.get().evidence["not_recorded"]


def test_bounce_goes_to_the_bounce_handling(notice, settings):
    settings.TAKEDOWN_BOUNCE_DOMAIN = DOMAIN
    result = receive(raw("bounce_dsn.eml", NOTICE_ID=str(notice.pk)))
    assert (result.kind, result.notice, result.action) == ("bounce", notice.pk, "bounce")
    notice.refresh_from_db()
    assert notice.status == N.BOUNCED
    assert Reply.objects.get().evidence["bounce"] == "bounced"


def test_attachments_are_kept_encrypted(notice):
    receive(raw("attachment_de.eml"))
    [attachment] = Reply.objects.get().attachments.all()
    assert (attachment.filename, attachment.content_type, attachment.size) == (
        "screenshot.png",
        "image/png",
        len(attachment.content),
    )
    assert attachment.content.startswith(b"\x89PNG")
    with connection.cursor() as cursor:
        cursor.execute("SELECT content FROM takedown_replyattachment")
        assert b"PNG" not in bytes(cursor.fetchone()[0])


# --- process_replies -----------------------------------------------------------------------


def test_process_replies_json_from_mbox_and_eml(notice, tmp_path):
    box = mailbox.mbox(tmp_path / "answers.mbox")
    for name in ("complied_en.eml", "auto_exchange_en.eml"):
        box.add(raw(name))
    box.close()
    eml = tmp_path / "ack.eml"
    eml.write_bytes(raw("ack_freshdesk_de.eml"))
    out = StringIO()
    call_command("process_replies", str(tmp_path / "answers.mbox"), str(eml), "--json", stdout=out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(o["kind"], o["action"], o["notice"]) for o in lines] == [
        ("complied", "recorded", notice.pk),
        ("auto_reply", "noted", notice.pk),
        ("acknowledgement", "recorded", notice.pk),
    ]
    assert set(lines[0]) == {
        "message_id",
        "notice",
        "case",
        "kind",
        "confidence",
        "reference",
        "matched_by",
        "action",
    }
    again = StringIO()
    call_command("process_replies", str(eml), "--json", stdout=again)
    assert json.loads(again.getvalue())["action"] == "duplicate"


def test_process_replies_maildir(notice, tmp_path):
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    box.add(raw("partly_de.eml"))
    box.close()
    out = StringIO()
    call_command("process_replies", str(tmp_path / "Maildir"), stdout=out)
    assert out.getvalue().splitlines()[-1] == "read 1 messages: 1 recorded"


def test_process_replies_unreadable_input_stores_nothing(notice, tmp_path):
    good = tmp_path / "good.eml"
    good.write_bytes(raw("complied_en.eml"))
    bad = tmp_path / "bad.eml"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00 not mail")
    with pytest.raises(CommandError, match=r"bad\.eml: not an e-mail message") as caught:
        call_command("process_replies", str(good), str(bad))
    assert caught.value.returncode == 2
    assert Reply.objects.count() == 0
    with pytest.raises(CommandError, match="does not exist") as missing:
        call_command("process_replies", str(tmp_path / "nope.mbox"))
    assert missing.value.returncode == 2


# --- IMAP, against dovecot on loopback -----------------------------------------------------


def test_parse_imap_url():
    target = parse_imap_url("imaps://reply%40org:p%2Fw@mail.org.example:993/Answers")
    assert (target.secure, target.host, target.port, target.user, target.password) == (
        True,
        "mail.org.example",
        993,
        "reply@org",
        "p/w",
    )
    assert target.folder == "Answers"
    with pytest.raises(ImapConfigError, match="only allowed on loopback"):
        parse_imap_url("imap://u:p@mail.org.example/INBOX")


def test_poll_stores_then_moves_to_processed(notice, imap_server, settings):
    settings.TAKEDOWN_IMAP_PROCESSED_FOLDER = "Processed"
    imap_server.deliver(raw("complied_en.eml"))
    imap_server.deliver(raw("auto_exchange_en.eml"))

    assert poll_mailbox(imap_server.url()) == {"recorded": 1, "noted": 1}

    assert imap_server.messages("INBOX") == []
    assert len(imap_server.messages("Processed")) == 2
    assert Reply.objects.filter(source="imap:INBOX").count() == 2
    notice.refresh_from_db()
    assert notice.reply_outcome == "complied"


def test_poll_again_after_a_crash_before_the_move_stores_once(notice, imap_server):
    # A poller that stored the message but died before moving it: the message is still in the
    # inbox. The next poll finds it stored and only moves it.
    receive(raw("complied_en.eml"))
    imap_server.deliver(raw("complied_en.eml"))
    assert poll_mailbox(imap_server.url()) == {"duplicate": 1}
    assert imap_server.messages("INBOX") == []
    assert Reply.objects.count() == 1
    assert CaseEvent.objects.filter(kind="notice.reply").count() == 1


def test_answer_dated_in_the_future_counts_from_now(notice):
    with time_machine.travel(dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC), tick=False):
        receive(raw("complied_en.eml"))
    notice.refresh_from_db()
    assert notice.replied_at == dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def imaps_server():
    from takedown.sandbox.imap import ImapServer, dovecot_binary

    if dovecot_binary() is None:
        pytest.skip("dovecot is not installed")
    with ImapServer(tls=True) as server:
        yield server


def test_poll_over_tls_verifies_the_certificate(notice, imaps_server, settings):
    imaps_server.reset()
    imaps_server.deliver(raw("complied_en.eml"))
    url = imaps_server.url()
    assert url.startswith("imaps://takedown:sandbox-imap@127.0.0.1:")

    settings.TAKEDOWN_IMAP_CA_FILE = ""
    with pytest.raises(ssl.SSLCertVerificationError):
        poll_mailbox(url)
    assert len(imaps_server.messages()) == 1
    assert Reply.objects.count() == 0

    settings.TAKEDOWN_IMAP_CA_FILE = str(imaps_server.ca_file)
    assert poll_mailbox(url) == {"recorded": 1}
    assert imaps_server.messages() == []
