"""process_bounces: real RFC 3464 delivery-status reports, built with the email package, read
from mbox files and Maildir folders."""

from __future__ import annotations

import json
import mailbox
from email.message import EmailMessage, Message
from email.mime.base import MIMEBase
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from takedown.models import CaseEvent, Notice
from takedown.notices.send import queue_notice, send_notice
from takedown.workflow import record_event
from tests.factories import NoticeFactory
from tests.test_notices_send import BOUNCE_DOMAIN, approved_notice, mail  # noqa: F401

pytestmark = pytest.mark.django_db

DIAGNOSTIC = "smtp; 550 5.1.1 <abuse@hoster.example>: Recipient address rejected: User unknown"


@pytest.fixture(autouse=True)
def bounce_domain(settings) -> None:
    settings.TAKEDOWN_BOUNCE_DOMAIN = BOUNCE_DOMAIN


def sent_notice(
    to: str = "abuse@hoster.example", status: str = Notice.Status.SENT, **fields
) -> Notice:
    notice = NoticeFactory(status=status, to_address=to, **fields)
    notice.message_id = f"<notice-{notice.pk}.0123456789abcdef@{BOUNCE_DOMAIN}>"
    notice.save(update_fields=["message_id"])
    return notice


def dsn(
    *,
    to: str,
    original: Message | None = None,
    headers_only: bool = False,
    recipient: str = "abuse@hoster.example",
    action: str = "failed",
    status: str = "5.1.1",
    diagnostic: str = DIAGNOSTIC,
) -> MIMEMultipart:
    """A delivery-status report as Postfix writes one."""
    report = MIMEMultipart("report", report_type="delivery-status")
    report["From"] = "MAILER-DAEMON@mx.hoster.example (Mail Delivery System)"
    report["To"] = to
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report.attach(
        MIMEText("I'm sorry to have to inform you that your message could not be delivered.")
    )
    status_part = MIMEBase("message", "delivery-status")
    per_message = Message()
    per_message["Reporting-MTA"] = "dns; mx.hoster.example"
    per_recipient = Message()
    per_recipient["Final-Recipient"] = f"rfc822; {recipient}"
    per_recipient["Action"] = action
    per_recipient["Status"] = status
    per_recipient["Diagnostic-Code"] = diagnostic
    status_part.set_payload([per_message, per_recipient])
    report.attach(status_part)
    if original is not None:
        if headers_only:
            headers = "".join(f"{name}: {value}\n" for name, value in original.items())
            report.attach(MIMEText(headers, "rfc822-headers"))
        else:
            report.attach(MIMEMessage(original))
    return report


def original_of(notice: Notice) -> EmailMessage:
    original = EmailMessage()
    original["From"] = "Demo Takedown e.V. <takedown@org.example>"
    original["To"] = "abuse@hoster.example"
    original["Subject"] = "Removal request"
    original["Message-ID"] = notice.message_id
    original.set_content("Please remove.")
    return original


def write_mbox(path: Path, *messages: Message) -> Path:
    box = mailbox.mbox(path)
    for message in messages:
        box.add(message)
    box.close()
    return path


def write_maildir(path: Path, *messages: Message) -> Path:
    box = mailbox.Maildir(path, create=True)
    for message in messages:
        box.add(message)
    return path


def run(path: Path, *args: str) -> str:
    out = StringIO()
    call_command("process_bounces", str(path), *args, stdout=out)
    return out.getvalue()


def test_process_bounces_mbox_marks_notice_bounced_with_reason(tmp_path: Path):
    notice = sent_notice()
    report = dsn(to=f"bounces+{notice.pk}@{BOUNCE_DOMAIN}", original=original_of(notice))
    box = write_mbox(tmp_path / "bounces.mbox", report)

    output = run(box)

    notice.refresh_from_db()
    reason = (
        "abuse@hoster.example: 5.1.1 550 5.1.1 <abuse@hoster.example>: "
        "Recipient address rejected: User unknown"
    )
    assert notice.status == "bounced"
    assert notice.last_error == f"Bounced: {reason}"
    [bounced] = CaseEvent.objects.filter(notice=notice, kind="mail.bounced")
    assert (bounced.data["recipient"], bounced.data["status"]) == ("abuse@hoster.example", "5.1.1")
    assert output.splitlines()[-1] == (
        "read 1 messages: 1 bounced, 0 partial, 0 duplicate, 0 delayed, 0 ignored, "
        "0 unmatched, 0 not_dsn"
    )


def test_process_bounces_maildir_maps_by_original_message_id(tmp_path: Path):
    notice = sent_notice()
    # Forwarded by a mailbox that lost the envelope: only the attached headers name the notice.
    report = dsn(to="postmaster@org.example", original=original_of(notice), headers_only=True)
    folder = write_maildir(tmp_path / "Maildir", report)

    run(folder)

    notice.refresh_from_db()
    assert notice.status == "bounced"


def test_process_bounces_json_counts_every_kind_of_message(tmp_path: Path):
    bounced = sent_notice()
    delayed = sent_notice()
    auto_reply = EmailMessage()
    auto_reply["To"] = f"bounces+{bounced.pk}@{BOUNCE_DOMAIN}"
    auto_reply["Subject"] = "Out of office"
    auto_reply.set_content("I am away until Monday.")
    box = write_mbox(
        tmp_path / "bounces.mbox",
        dsn(to=f"bounces+{bounced.pk}@{BOUNCE_DOMAIN}"),
        dsn(to=f"bounces+{bounced.pk}@{BOUNCE_DOMAIN}"),
        dsn(to=f"bounces+{delayed.pk}@{BOUNCE_DOMAIN}", action="delayed", status="4.4.1"),
        dsn(to=f"bounces+999999@{BOUNCE_DOMAIN}"),
        dsn(to="bounces+1@elsewhere.example"),
        auto_reply,
    )

    payload = json.loads(run(box, "--json"))

    assert payload["counts"] == {
        "messages": 6,
        "bounced": 1,
        "partial": 0,
        "duplicate": 1,
        "delayed": 1,
        "ignored": 0,
        "unmatched": 2,
        "not_dsn": 1,
    }
    assert [m["result"] for m in payload["messages"]] == [
        "bounced",
        "duplicate",
        "delayed",
        "unmatched",
        "unmatched",
        "not_dsn",
    ]
    assert payload["messages"][3]["detail"] == "no notice 999999"
    assert Notice.objects.get(pk=delayed.pk).status == "sent"


def test_bounce_about_another_message_id_is_not_trusted(tmp_path: Path):
    notice = sent_notice()
    other = original_of(notice)
    other.replace_header("Message-ID", f"<notice-{notice.pk}.ffffffffffffffff@{BOUNCE_DOMAIN}>")
    box = write_mbox(
        tmp_path / "bounces.mbox", dsn(to=f"bounces+{notice.pk}@{BOUNCE_DOMAIN}", original=other)
    )

    payload = json.loads(run(box, "--json"))

    assert payload["messages"][0]["detail"] == (
        f"notice {notice.pk}: the report is about another Message-ID"
    )
    assert Notice.objects.get(pk=notice.pk).status == "sent"


def test_bounce_of_one_of_two_addresses_is_partial_until_both_bounce(tmp_path: Path):
    notice = sent_notice("abuse@hoster.example, legal@hoster.example")
    for address in ("abuse@hoster.example", "legal@hoster.example"):
        record_event(
            notice.case,
            "mail.accepted",
            notice=notice,
            data={"message_id": notice.message_id, "attempt": 1, "recipient": address},
        )
    to = f"bounces+{notice.pk}@{BOUNCE_DOMAIN}"

    first = run(write_mbox(tmp_path / "one.mbox", dsn(to=to)), "--json")
    notice.refresh_from_db()
    assert json.loads(first)["counts"]["partial"] == 1
    assert notice.status == "sent"
    assert notice.last_error.startswith("Bounced: abuse@hoster.example: 5.1.1")

    second = run(
        write_mbox(tmp_path / "two.mbox", dsn(to=to, recipient="legal@hoster.example")), "--json"
    )
    notice.refresh_from_db()
    assert json.loads(second)["counts"]["bounced"] == 1
    assert notice.status == "bounced"


def test_bounce_of_uncertain_notice_proves_it_was_sent(tmp_path: Path):
    notice = sent_notice(status=Notice.Status.NEEDS_CHECK)
    box = write_mbox(tmp_path / "b.mbox", dsn(to=f"bounces+{notice.pk}@{BOUNCE_DOMAIN}"))

    run(box)

    notice.refresh_from_db()
    kinds = list(
        CaseEvent.objects.filter(notice=notice, kind__startswith="notice.").values_list(
            "kind", flat=True
        )
    )
    assert notice.status == "bounced"
    assert kinds == ["notice.sent", "notice.sent_to_recipient", "notice.bounced"]


def test_process_bounces_missing_path_is_an_error(tmp_path: Path):
    with pytest.raises(CommandError, match="does not exist"):
        run(tmp_path / "nothing.mbox")


def test_process_bounces_folder_that_is_not_a_maildir_is_an_error(tmp_path: Path):
    with pytest.raises(CommandError, match="not a Maildir"):
        run(tmp_path)


def test_bounce_of_a_really_sent_notice_maps_by_its_envelope(mail, tmp_path: Path):  # noqa: F811
    notice = approved_notice()
    queue_notice(notice)
    send_notice(notice.pk)
    [captured] = mail.messages
    # The receiving server bounces to the envelope sender, attaching what it got.
    report = dsn(to=captured.mail_from, original=captured.message)
    box = write_maildir(tmp_path / "Maildir", report)

    run(box)

    notice.refresh_from_db()
    assert notice.status == "bounced"
