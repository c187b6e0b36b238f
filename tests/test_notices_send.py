"""Sending notices against the sandbox's real SMTP server: headers, attachments, one message per
address, retries, permanent failures, partial refusals, workers that die in each window, and
two workers racing for the same notice.

Workers are "killed" at the checkpoints of an attempt (takedown.notices.send.send_checkpoint):
in-process by raising WorkerKilled, a BaseException the product does not catch, and for the
crash windows for real, by a subprocess that calls os._exit there.
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from celery.signals import task_postrun
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection

from config.env import mailer_from_url
from config.settings import BASE_DIR
from takedown.models import Case, CaseEvent, Contact, Notice, NoticeLink
from takedown.notices.render import render_notice
from takedown.notices.send import (
    SendError,
    due_notices,
    mark_submitted,
    queue_notice,
    recover_stuck_sending,
    resolve_uncertain,
    send_checkpoint,
    send_notice,
)
from takedown.sandbox.base import free_port
from takedown.sandbox.smtp import SmtpServer
from takedown.tasks import dispatch_due_work
from takedown.workflow import transition
from tests.conftest import celery_worker, wait_until
from tests.factories import (
    CaseFactory,
    ContactFactory,
    FoundLinkFactory,
    MandateFactory,
    NoticeFactory,
    UserFactory,
)

BOUNCE_DOMAIN = "mail.org.example"
NOW = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing in the product catches it."""


@pytest.fixture
def mail(settings, smtp_server: SmtpServer) -> SmtpServer:
    settings.MAILERS = {"default": mailer_from_url(f"{smtp_server.url}?timeout=5")}
    settings.DEFAULT_FROM_EMAIL = "takedown@org.example"
    settings.TAKEDOWN_ORGANISATION = "Demo Takedown e.V."
    settings.TAKEDOWN_BOUNCE_DOMAIN = BOUNCE_DOMAIN
    settings.TAKEDOWN_SEND_RETRY_SECONDS = 60
    settings.TAKEDOWN_SEND_MAX_ATTEMPTS = 3
    settings.TAKEDOWN_SEND_CLAIM_TIMEOUT = 900
    return smtp_server


@pytest.fixture
def stop_at() -> Iterator[list[str]]:
    """Append a checkpoint step name; the worker is killed when it gets there."""
    steps: list[str] = []

    def receiver(sender, step, **kwargs):
        if step in steps:
            raise WorkerKilled(step)

    send_checkpoint.connect(receiver, dispatch_uid="test-stop-at")
    yield steps
    send_checkpoint.disconnect(dispatch_uid="test-stop-at")


def approved_notice(to: str = "abuse@hoster.example", **fields) -> Notice:
    caseworker = UserFactory(first_name="Kim", last_name="Berger", email="kim@org.example")
    case = CaseFactory(assigned_to=caseworker)
    # Approved under a regime that needs the mandate: it was on file at the approval.
    MandateFactory(case=case)
    notice = NoticeFactory(case=case, status=Notice.Status.APPROVED, to_address=to, **fields)
    for _ in range(2):
        NoticeLink.objects.create(notice=notice, link=FoundLinkFactory(case=case))
    return notice


def queued_notice(to: str = "abuse@hoster.example", **fields) -> Notice:
    notice = approved_notice(to, **fields)
    assert queue_notice(notice) == "queued"
    return Notice.objects.get(pk=notice.pk)


def later(seconds: float) -> datetime:
    from django.utils import timezone

    return timezone.now() + timedelta(seconds=seconds)


def body(message, subtype: str) -> str:
    # The wire format has CRLF line ends; the rendered text has LF.
    return message.get_body((subtype,)).get_content().replace("\r\n", "\n").rstrip()


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def events(notice: Notice, kind: str) -> list[CaseEvent]:
    return list(CaseEvent.objects.filter(notice=notice, kind=kind).order_by("pk"))


# --- queueing ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_queue_notice_stores_message_id_before_first_attempt(mail):
    notice = approved_notice()

    with time_machine.travel(NOW, tick=False):
        status = queue_notice(notice)

    notice.refresh_from_db()
    assert status == "queued"
    assert re.fullmatch(rf"<notice-{notice.pk}\.[0-9a-f]{{16}}@{BOUNCE_DOMAIN}>", notice.message_id)
    assert (notice.status, notice.attempts, notice.next_attempt_at) == ("queued", 0, NOW)
    assert mail.messages == []


@pytest.mark.django_db
def test_queue_notice_without_address_is_refused():
    notice = approved_notice(to="")

    with pytest.raises(SendError, match=f"notice {notice.pk} has no e-mail address"):
        queue_notice(notice)

    notice.refresh_from_db()
    assert (notice.status, notice.message_id) == ("approved", "")


# --- a normal send -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_send_notice_headers_envelope_and_body(mail):
    notice = queued_notice()
    message_id = notice.message_id

    result = send_notice(notice.pk)

    notice.refresh_from_db()
    assert (result.outcome, result.accepted, result.failures) == (
        "sent",
        ["abuse@hoster.example"],
        [],
    )
    assert (notice.status, notice.attempts, notice.message_id) == ("sent", 1, message_id)
    [captured] = mail.messages
    assert captured.mail_from == f"bounces+{notice.pk}@{BOUNCE_DOMAIN}"
    assert captured.rcpt_tos == ("abuse@hoster.example",)
    message = captured.message
    assert message["Message-ID"] == message_id
    assert str(message["From"]) == '"Demo Takedown e.V." <takedown@org.example>'
    # Answers come back to the notice's own address, under the caseworker's name.
    assert len(notice.reply_token) == 48
    assert str(message["Reply-To"]) == (
        f'"Kim Berger (Demo Takedown e.V.)" <replies+{notice.reply_token}@{BOUNCE_DOMAIN}>'
    )
    assert str(message["To"]) == "abuse@hoster.example"
    rendered = render_notice(notice)
    assert str(message["Subject"]) == rendered.subject
    assert body(message, "plain") == rendered.text.rstrip()
    assert body(message, "html") == rendered.html.rstrip()
    [accepted] = events(notice, "mail.accepted")
    assert accepted.data == {
        "message_id": message_id,
        "attempt": 1,
        "recipient": "abuse@hoster.example",
        "reply": "250 Message accepted for delivery",
    }


@pytest.mark.django_db
def test_send_notice_attaches_every_rendered_attachment(mail):
    notice = queued_notice()

    send_notice(notice.pk)

    [captured] = mail.messages
    parts = list(captured.message.iter_attachments())
    rendered = render_notice(notice)
    assert [(p.get_filename(), p.get_content_type()) for p in parts] == [
        (a.filename, a.mimetype) for a in rendered.attachments
    ]
    assert "application/pdf" in [p.get_content_type() for p in parts]
    pdf = next(p for p in parts if p.get_content_type() == "application/pdf")
    assert pdf.get_content().startswith(b"%PDF-")
    csv_part = next(p for p in parts if p.get_content_type() == "text/csv")
    links_csv = next(a for a in rendered.attachments if a.filename == csv_part.get_filename())
    # Text parts travel with canonical CRLF line ends; compare the rows.
    assert rows(csv_part.get_content()) == rows(links_csv.content.decode())
    assert len(rows(links_csv.content.decode())) == 3


@pytest.mark.django_db
def test_send_notice_sends_one_message_per_address(mail):
    notice = queued_notice("abuse@hoster.example, legal@hoster.example")

    result = send_notice(notice.pk)

    assert result.outcome == "sent"
    assert [(m.rcpt_tos, str(m.message["To"])) for m in mail.messages] == [
        (("abuse@hoster.example",), "abuse@hoster.example"),
        (("legal@hoster.example",), "legal@hoster.example"),
    ]
    assert {m.message["Message-ID"] for m in mail.messages} == {notice.message_id}


@pytest.mark.django_db
def test_send_notice_twice_in_a_row_sends_once(mail):
    notice = queued_notice()

    first = send_notice(notice.pk)
    second = send_notice(notice.pk)

    assert (first.outcome, second.outcome) == ("sent", "skipped")
    assert len(mail.messages) == 1


@pytest.mark.django_db
def test_send_notice_writes_eml_to_outbox_when_no_email_url(settings, tmp_path: Path):
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": str(tmp_path)},
        }
    }
    settings.TAKEDOWN_BOUNCE_DOMAIN = BOUNCE_DOMAIN
    notice = queued_notice()

    result = send_notice(notice.pk)

    [eml] = tmp_path.glob("*.eml")
    assert result.outcome == "sent"
    assert eml.name.startswith(f"notice-{notice.pk}-")
    import email
    import email.policy

    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["Return-Path"] == f"<bounces+{notice.pk}@{BOUNCE_DOMAIN}>"
    assert message["Delivered-To"] == "abuse@hoster.example"
    assert message["Message-ID"] == notice.message_id
    assert [p.get_filename() for p in message.iter_attachments()] == [
        a.filename for a in render_notice(notice).attachments
    ]


# --- failures ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_send_notice_4xx_then_success_retries_with_backoff_and_same_message_id(mail):
    notice = queued_notice()
    mail.fail_next(2, code=451, text="4.3.0 Try again later")

    with time_machine.travel(NOW, tick=False):
        first = send_notice(notice.pk)
    notice.refresh_from_db()
    assert (first.outcome, notice.status, notice.attempts) == ("queued", "queued", 1)
    assert notice.next_attempt_at == NOW + timedelta(seconds=60)
    assert notice.last_error == "abuse@hoster.example: 451 4.3.0 Try again later (at end)"

    with time_machine.travel(NOW + timedelta(seconds=59), tick=False):
        assert list(due_notices()) == []
    with time_machine.travel(NOW + timedelta(seconds=60), tick=False):
        assert list(due_notices()) == [notice]
        second = send_notice(notice.pk)
    notice.refresh_from_db()
    assert (second.outcome, notice.attempts) == ("queued", 2)
    assert notice.next_attempt_at == NOW + timedelta(seconds=60 + 120)

    with time_machine.travel(NOW + timedelta(seconds=180), tick=False):
        third = send_notice(notice.pk)
    notice.refresh_from_db()
    assert (third.outcome, notice.status, notice.attempts) == ("sent", "sent", 3)
    assert notice.last_error == ""
    [captured] = mail.messages
    assert captured.message["Message-ID"] == notice.message_id


@pytest.mark.django_db
def test_send_notice_transient_failures_end_in_failed_after_max_attempts(mail, settings):
    settings.TAKEDOWN_SEND_MAX_ATTEMPTS = 2
    notice = queued_notice()
    mail.fail_next(2, code=421, text="4.7.0 Too many connections", stage="mail")

    outcomes = [send_notice(notice.pk).outcome]
    Notice.objects.filter(pk=notice.pk).update(next_attempt_at=NOW)
    outcomes.append(send_notice(notice.pk).outcome)

    notice.refresh_from_db()
    assert outcomes == ["queued", "failed"]
    assert notice.last_error.startswith(
        "Not delivered to abuse@hoster.example: 421 4.7.0 Too many connections (at mail)"
    )


@pytest.mark.django_db
def test_send_notice_connection_refused_is_retried(mail, settings):
    settings.MAILERS = {"default": mailer_from_url(f"smtp://127.0.0.1:{free_port()}?timeout=2")}
    notice = queued_notice()

    result = send_notice(notice.pk)

    notice.refresh_from_db()
    assert (result.outcome, notice.status, notice.attempts) == ("queued", "queued", 1)
    assert notice.last_error.startswith("abuse@hoster.example: ConnectionRefusedError")
    assert notice.last_error.endswith("(at connect)")


@pytest.mark.django_db
def test_send_notice_5xx_fails_with_reason_and_suggests_next_contact(mail):
    notice = queued_notice()
    org = notice.recipient
    ContactFactory(organisation=org, purpose=Contact.Purpose.ABUSE, value="abuse@hoster.example")
    ContactFactory(
        organisation=org,
        purpose=Contact.Purpose.GENERAL,
        channel=Contact.Channel.WEBFORM,
        value="https://hoster.example/contact",
    )
    legal = ContactFactory(
        organisation=org, purpose=Contact.Purpose.LEGAL, value="legal@hoster.example"
    )
    mail.fail_all(code=554, text="5.7.1 Message rejected as spam")

    result = send_notice(notice.pk)

    notice.refresh_from_db()
    assert (result.outcome, notice.status, notice.attempts) == ("failed", "failed", 1)
    assert notice.last_error == (
        "Not delivered to abuse@hoster.example: 554 5.7.1 Message rejected as spam (at end)\n"
        f"Next contact to try: Legal via E-mail: legal@hoster.example (contact {legal.pk})"
    )
    [failed] = events(notice, "notice.failed")
    assert failed.data["next_contact"] == legal.pk
    assert mail.messages == []


@pytest.mark.django_db
def test_send_notice_that_cannot_be_rendered_fails_without_retry(mail):
    notice = queued_notice(regime="no-such-regime")

    result = send_notice(notice.pk)

    notice.refresh_from_db()
    assert (result.outcome, notice.attempts) == ("failed", 1)
    assert notice.last_error == (
        "Not delivered to abuse@hoster.example: rendering failed: UnknownRegime"
    )
    assert mail.messages == []


@pytest.mark.django_db
def test_send_notice_partial_refusal_reports_the_refused_address(mail):
    notice = queued_notice("abuse@hoster.example, gone@hoster.example")
    mail.reject_recipient("gone@hoster.example", 550, "5.1.1 Mailbox unavailable")

    result = send_notice(notice.pk)

    notice.refresh_from_db()
    assert (result.outcome, result.accepted) == ("sent", ["abuse@hoster.example"])
    assert [str(f) for f in result.failures] == [
        "gone@hoster.example: 550 5.1.1 Mailbox unavailable (at rcpt)"
    ]
    assert notice.status == "sent"
    assert notice.last_error == (
        "Not delivered to gone@hoster.example: 550 5.1.1 Mailbox unavailable (at rcpt)"
    )
    [refused] = events(notice, "mail.refused")
    assert (refused.data["recipient"], refused.data["code"], refused.data["permanent"]) == (
        "gone@hoster.example",
        550,
        True,
    )
    assert [m.rcpt_tos for m in mail.messages] == [("abuse@hoster.example",)]


@pytest.mark.django_db
def test_send_notice_retry_skips_addresses_already_accepted(mail):
    notice = queued_notice("abuse@hoster.example, legal@hoster.example")
    mail.fail_next(1, code=450, text="4.2.0 Mailbox busy", stage="rcpt")

    first = send_notice(notice.pk)
    Notice.objects.filter(pk=notice.pk).update(next_attempt_at=NOW)
    second = send_notice(notice.pk)

    assert (first.outcome, first.accepted) == ("queued", ["legal@hoster.example"])
    assert (second.outcome, second.accepted) == (
        "sent",
        ["abuse@hoster.example", "legal@hoster.example"],
    )
    assert [m.rcpt_tos for m in mail.messages] == [
        ("legal@hoster.example",),
        ("abuse@hoster.example",),
    ]


# --- workers that die ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_fresh_claim_is_not_recovered(mail, stop_at):
    notice = queued_notice()
    stop_at.append("claimed")
    with pytest.raises(WorkerKilled):
        send_notice(notice.pk)

    assert recover_stuck_sending() == {}
    notice.refresh_from_db()
    assert notice.status == "sending"


@pytest.mark.django_db
def test_worker_killed_between_handover_and_the_final_dot_needs_check(mail, stop_at):
    notice = queued_notice()
    stop_at.append("handing_over")
    with pytest.raises(WorkerKilled):
        send_notice(notice.pk)

    # The server never saw the final ".", but the sent log cannot tell: a human checks.
    assert recover_stuck_sending(now=later(901)) == {"needs_check": 1}
    notice.refresh_from_db()
    assert notice.status == "needs_check"
    assert notice.message_id in notice.last_error
    assert send_notice(notice.pk).outcome == "skipped"
    assert mail.messages == []

    resolve_uncertain(notice, UserFactory(), delivered=False, note="Not in the server's log.")
    stop_at.clear()
    assert send_notice(notice.pk).outcome == "sent"
    [captured] = mail.messages
    assert captured.message["Message-ID"] == notice.message_id


@pytest.mark.django_db
def test_slow_worker_whose_claim_was_recovered_stops_before_handing_over(mail):
    notice = queued_notice()
    recovered: list[dict[str, int]] = []

    def recovery_runs_meanwhile(sender, step, **kwargs):
        if step == "claimed":
            recovered.append(recover_stuck_sending(now=later(901)))

    send_checkpoint.connect(recovery_runs_meanwhile, dispatch_uid="test-slow-worker")
    try:
        slow = send_notice(notice.pk)
    finally:
        send_checkpoint.disconnect(dispatch_uid="test-slow-worker")

    assert (recovered, slow.outcome) == ([{"queued": 1}], "lost")
    assert mail.messages == []
    assert send_notice(notice.pk).outcome == "sent"
    assert len(mail.messages) == 1


@pytest.mark.django_db
def test_resolve_uncertain_as_delivered_marks_sent(mail, stop_at):
    notice = queued_notice()
    stop_at.append("accepted")
    with pytest.raises(WorkerKilled):
        send_notice(notice.pk)
    recover_stuck_sending(now=later(901))
    notice.refresh_from_db()

    status = resolve_uncertain(
        notice, UserFactory(), delivered=True, note="Server log: queued as 4XyZ."
    )

    notice.refresh_from_db()
    assert (status, notice.status, notice.last_error) == ("sent", "sent", "")
    assert len(mail.messages) == 1


@pytest.mark.django_db
def test_resolve_uncertain_as_delivered_still_sends_to_the_other_address(mail, stop_at):
    notice = queued_notice("abuse@hoster.example, legal@hoster.example")
    stop_at.append("accepted")
    with pytest.raises(WorkerKilled):
        send_notice(notice.pk)
    stop_at.clear()
    assert recover_stuck_sending(now=later(901)) == {"needs_check": 1}
    notice.refresh_from_db()

    status = resolve_uncertain(notice, UserFactory(), delivered=True, note="In the log.")
    result = send_notice(notice.pk)

    assert (status, result.outcome) == ("queued", "sent")
    assert result.accepted == ["abuse@hoster.example", "legal@hoster.example"]
    assert [m.rcpt_tos for m in mail.messages] == [
        ("abuse@hoster.example",),
        ("legal@hoster.example",),
    ]


@pytest.mark.django_db
def test_resolve_uncertain_refuses_a_notice_that_is_not_waiting_for_a_check(mail):
    notice = queued_notice()

    with pytest.raises(SendError, match="is “Queued for sending”, not waiting for a check"):
        resolve_uncertain(notice, UserFactory(), delivered=True, note="?")


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


KILL_AT = """
import os, sys
import django
django.setup()
from takedown.notices.send import send_checkpoint, send_notice

def die(sender, step, **kwargs):
    if step == sys.argv[2]:
        os._exit(9)

send_checkpoint.connect(die)
send_notice(int(sys.argv[1]))
"""


def send_in_killed_process(notice: Notice, step: str, smtp_url: str, keys: list[str]) -> int:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url(),
        "EMAIL_URL": f"{smtp_url}?timeout=5",
        "TAKEDOWN_FROM_EMAIL": "takedown@org.example",
        "TAKEDOWN_ORGANISATION": "Demo Takedown e.V.",
        "TAKEDOWN_BOUNCE_DOMAIN": BOUNCE_DOMAIN,
        "TAKEDOWN_FIELD_KEYS": ",".join(keys),
    }
    process = subprocess.run(
        [sys.executable, "-c", KILL_AT, str(notice.pk), step],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert process.returncode == 9, process.stderr.decode()[-2000:]
    return process.returncode


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("step", "recovered_to", "delivered_before_recovery"),
    [
        # Killed after the claim, before anything was handed over: safe to send again.
        ("claimed", "queued", 0),
        # Killed after the server's 250, before it was logged: uncertain, never resent.
        ("accepted", "needs_check", 1),
        # Killed after logging the 250, before the status: the log says sent.
        ("logged", "sent", 1),
    ],
)
def test_worker_process_killed_is_recovered_without_duplicate_or_loss(
    mail, field_keys, step, recovered_to, delivered_before_recovery
):
    notice = queued_notice()

    send_in_killed_process(notice, step, mail.url, field_keys)

    notice.refresh_from_db()
    assert (notice.status, notice.attempts) == ("sending", 1)
    assert len(mail.messages) == delivered_before_recovery
    assert recover_stuck_sending(now=later(901)) == {recovered_to: 1}
    # Whatever was recovered, the next round of sending hands out only what is safe.
    for notice_id in due_notices().values_list("pk", flat=True):
        send_notice(notice_id)
    notice.refresh_from_db()
    assert notice.status == {"queued": "sent"}.get(recovered_to, recovered_to)
    assert len(mail.messages) == 1
    assert {m.message["Message-ID"] for m in mail.messages} == {notice.message_id}


# --- two workers, one notice ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_same_notice_sent_by_two_threads_at_once_is_sent_once(mail):
    notice = queued_notice()
    both_read_it = threading.Barrier(2, timeout=10)
    outcomes: list[str] = []

    def at_claim(sender, step, **kwargs):
        if step == "claiming":
            both_read_it.wait()

    def worker():
        try:
            outcomes.append(send_notice(notice.pk).outcome)
        finally:
            connection.close()

    send_checkpoint.connect(at_claim, dispatch_uid="test-race")
    try:
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        send_checkpoint.disconnect(dispatch_uid="test-race")

    assert sorted(outcomes) == ["lost", "sent"]
    assert len(mail.messages) == 1
    assert len(events(notice, "notice.sending")) == 1


@pytest.fixture
def worker() -> Iterator[list[str]]:
    """A real Celery worker (tests/conftest.py); yields the outcomes of the send_notice tasks
    it ran."""
    outcomes: list[str] = []

    def collect(sender=None, retval=None, **kwargs):
        if sender is not None and sender.name == "takedown.tasks.send_notice":
            outcomes.append(retval)

    task_postrun.connect(collect, weak=False)
    try:
        with celery_worker():
            yield outcomes
    finally:
        task_postrun.disconnect(collect)


@pytest.mark.django_db(transaction=True)
def test_celery_workers_given_the_same_notice_twice_send_it_once(mail, worker):
    from takedown.tasks import send_notice as send_notice_task

    notice = queued_notice()

    send_notice_task.delay(notice.pk)
    send_notice_task.delay(notice.pk)

    wait_until(lambda: len(worker) == 2)
    assert sorted(worker) in (["lost", "sent"], ["sent", "skipped"])
    assert Notice.objects.get(pk=notice.pk).status == "sent"
    assert len(mail.messages) == 1


@pytest.mark.django_db(transaction=True)
def test_send_notices_without_sync_hands_the_notices_to_the_workers(mail, worker):
    notice = approved_notice()
    out = StringIO()

    call_command("send_notices", "--case", notice.case.reference, stdout=out)

    assert out.getvalue().splitlines() == [
        f"notice {notice.pk}: queued",
        "handed 1 notices to the workers",
    ]
    wait_until(lambda: worker == ["sent"])
    assert len(mail.messages) == 1


@pytest.mark.django_db(transaction=True)
def test_dispatch_due_work_sends_queued_notices_through_the_worker(mail, worker):
    notice = queued_notice()

    first = dispatch_due_work()
    second = dispatch_due_work()

    assert (first["notices"], second["notices"]) == (1, 0)
    wait_until(lambda: worker == ["sent"])
    assert Notice.objects.get(pk=notice.pk).status == "sent"
    assert len(mail.messages) == 1


# --- the manual channels -------------------------------------------------------------------------


@pytest.mark.django_db
def test_manual_channel_becomes_a_task_with_the_form_url():
    url = "https://hoster.example/legal/report?type=privacy"
    notice = approved_notice(to=url, channel=Contact.Channel.WEBFORM)

    assert queue_notice(notice) == "awaiting_manual"

    notice.refresh_from_db()
    [task] = events(notice, "notice.awaiting_manual")
    assert notice.status == "awaiting_manual"
    assert task.data["target"] == url
    assert task.message.startswith(f"Submit manually (Web form): {url}. Attach the notice PDF")


@pytest.mark.django_db
def test_mark_submitted_records_confirmation_and_marks_sent():
    notice = approved_notice(to="https://hoster.example/report", channel=Contact.Channel.WEBFORM)
    queue_notice(notice)
    caseworker = UserFactory()

    with pytest.raises(SendError, match="needs the confirmation number"):
        mark_submitted(notice, caseworker, "  ")
    mark_submitted(notice, caseworker, "TCK-2026-1234")

    notice.refresh_from_db()
    [sent] = events(notice, "notice.sent")
    assert (notice.status, notice.manual_confirmation) == ("sent", "TCK-2026-1234")
    assert notice.sent_at is not None
    assert (sent.actor, sent.data["confirmation"]) == (caseworker, "TCK-2026-1234")


# --- the command ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_send_notices_sync_queues_and_sends_the_case(mail):
    notice = approved_notice()
    other_case = approved_notice("abuse@other.example")
    out = StringIO()

    call_command("send_notices", "--case", notice.case.reference, "--sync", stdout=out)

    assert out.getvalue().splitlines() == [
        f"notice {notice.pk}: queued",
        f"notice {notice.pk}: sent (accepted for 1 addresses)",
        "sent 1 notices: 1 sent",
    ]
    assert Notice.objects.get(pk=other_case.pk).status == "approved"
    assert [m.rcpt_tos for m in mail.messages] == [("abuse@hoster.example",)]


@pytest.mark.django_db
def test_send_notices_prints_manual_tasks(mail):
    manual = approved_notice(to="https://hoster.example/form", channel=Contact.Channel.WEBFORM)
    out = StringIO()

    call_command("send_notices", "--case", manual.case.reference, "--sync", stdout=out)

    assert out.getvalue().splitlines() == [
        f"notice {manual.pk}: submit manually at https://hoster.example/form "
        f"(PDF: python manage.py render_notice {manual.pk} --pdf FILE)",
        "sent 0 notices: none due",
    ]


def test_claim_timeout_outlasts_the_send_task():
    from takedown.tasks import send_notice as send_notice_task

    # Recovery must never conclude a notice whose worker may still be running.
    assert send_notice_task.time_limit < django_settings.TAKEDOWN_SEND_CLAIM_TIMEOUT


# --- paused and withdrawn cases ------------------------------------------------------------------


@pytest.mark.django_db
def test_queued_notice_of_a_paused_case_waits_until_it_is_resumed(mail):
    notice = queued_notice()
    case = notice.case
    transition(case, Case.Status.PAUSED)

    assert list(due_notices()) == []
    assert send_notice(notice.pk).outcome == "skipped"
    assert mail.messages == []
    assert Notice.objects.get(pk=notice.pk).status == "queued"

    transition(Case.objects.get(pk=case.pk), Case.Status.OPEN)
    assert [n.pk for n in due_notices()] == [notice.pk]
    assert send_notice(notice.pk).outcome == "sent"
    assert len(mail.messages) == 1


@pytest.mark.django_db
def test_approved_notice_of_a_paused_case_is_not_queued():
    notice = approved_notice()
    transition(notice.case, Case.Status.PAUSED)
    notice = Notice.objects.select_related("case").get(pk=notice.pk)

    with pytest.raises(SendError, match="is “Paused”: nothing is sent"):
        queue_notice(notice)
    assert Notice.objects.get(pk=notice.pk).status == "approved"


@pytest.mark.django_db
def test_withdrawing_a_case_cancels_its_unsent_notices_and_keeps_sent_ones(mail):
    queued = queued_notice()
    case = queued.case
    sent = NoticeFactory(case=case, status=Notice.Status.APPROVED, to_address="abuse@other.example")
    NoticeLink.objects.create(notice=sent, link=FoundLinkFactory(case=case))
    queue_notice(Notice.objects.get(pk=sent.pk))
    assert send_notice(sent.pk).outcome == "sent"

    transition(Case.objects.get(pk=case.pk), Case.Status.WITHDRAWN)

    assert Notice.objects.get(pk=queued.pk).status == "cancelled"
    assert Notice.objects.get(pk=sent.pk).status == "sent"
    assert CaseEvent.objects.filter(notice=queued, kind="notice.cancelled").count() == 1
