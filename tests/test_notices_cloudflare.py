"""Notices to Cloudflare through its abuse-report API, against the sandbox's API over real HTTP
on loopback: the report's fields, one report per hostname, refusals, retries, lost answers,
no second report, the web form without a token, and the hosting provider Cloudflare names
feeding the case's parties."""

from __future__ import annotations

import json
import logging
import threading

import pytest

from takedown.models import CaseEvent, Contact, FoundLink, Notice, NoticeLink, Organisation
from takedown.models import RecipientRole as Role
from takedown.notices import cloudflare
from takedown.notices.render import render_notice
from takedown.notices.send import (
    mark_submitted,
    queue_notice,
    resolve_uncertain,
    send_checkpoint,
    send_notice,
)
from takedown.notices.transports import DeliveryError
from takedown.replies.inbound import receive
from takedown.resolve.decisions import load_decisions, responsible_party
from takedown.sandbox.cloudflare import CloudflareApi
from tests.factories import (
    CaseFactory,
    ContactFactory,
    FoundLinkFactory,
    HostFactory,
    MandateFactory,
    NoticeFactory,
    OrganisationFactory,
    TeamFactory,
    UserFactory,
)

ACCOUNT = "023e105f4ecef8ad9ca31a8372d0c353"
TOKEN = "sandbox-token-Sn3lZJTBX6kkg7OdcBUAxOO963GE"
HOST = "img.leaky-cf.example"
OTHER_HOST = "cdn.leaky-cf.example"


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing in the product catches it."""


@pytest.fixture
def api(settings, cloudflare_api: CloudflareApi) -> CloudflareApi:
    settings.TAKEDOWN_CLOUDFLARE_API_URL = cloudflare_api.base_url
    settings.TAKEDOWN_CLOUDFLARE_TIMEOUT = 2
    settings.TAKEDOWN_SEND_MAX_ATTEMPTS = 3
    settings.TAKEDOWN_REPLY_DOMAIN = "replies.org.example"
    settings.TAKEDOWN_ORGANISATION = "Demo Takedown e.V."
    cloudflare_api.add_account(ACCOUNT, TOKEN)
    cloudflare_api.add_zone(
        HOST, hosting_name="Hidden Hosting B.V.", hosting_email="abuse@hidden-hosting.example"
    )
    cloudflare_api.add_zone(OTHER_HOST, hosting_name="Hidden Hosting B.V.")
    return cloudflare_api


def cloudflare_org() -> Organisation:
    org = OrganisationFactory(
        name="Cloudflare, Inc.", kind=Organisation.Kind.CDN, country="US", external_key=None
    )
    ContactFactory(
        organisation=org,
        channel=Contact.Channel.WEBFORM,
        value="https://abuse.cloudflare.com/",
        preferred=True,
    )
    ContactFactory(organisation=org, channel=Contact.Channel.API, value="cloudflare")
    return org


def notice_to_cloudflare(
    *, token: bool = True, hosts: tuple[str, ...] = (HOST,), category: str = "intimate"
) -> Notice:
    team = TeamFactory()
    if token:
        team.cloudflare_account_id, team.cloudflare_api_token = ACCOUNT, TOKEN
        team.save()
    caseworker = UserFactory(first_name="Kim", last_name="Berger", email="kim@org.example")
    case = CaseFactory(assigned_to=caseworker, team=team, category=category)
    MandateFactory(case=case)
    org = cloudflare_org()
    form = org.contacts.get(channel=Contact.Channel.WEBFORM)
    notice = NoticeFactory(
        case=case,
        recipient=org,
        recipient_role=Role.CDN,
        status=Notice.Status.APPROVED,
        contact=form,
        channel=Contact.Channel.WEBFORM,
        to_address=form.value,
    )
    for hostname in hosts:
        link = FoundLinkFactory(case=case, host=HostFactory(hostname=hostname))
        NoticeLink.objects.create(notice=notice, link=link)
    return notice


def queued(**kwargs) -> Notice:
    notice = notice_to_cloudflare(**kwargs)
    assert queue_notice(notice) == "queued"
    return Notice.objects.get(pk=notice.pk)


def kinds(notice: Notice) -> list[str]:
    return list(
        CaseEvent.objects.filter(notice=notice, kind__startswith="mail.")
        .order_by("pk")
        .values_list("kind", flat=True)
    )


# --- success -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_report_with_token_goes_through_the_api_with_the_documented_fields(api):
    notice = queued()
    assert notice.channel == Contact.Channel.API

    result = send_notice(notice.pk)

    notice.refresh_from_db()
    assert result.outcome == "sent"
    assert len(api.reports) == 1
    report = api.reports[0]
    assert (report.account, report.act) == (ACCOUNT, "abuse_ncsei")
    links = sorted(notice.links.values_list("url", flat=True))
    assert report.body["urls"].split("\n") == links
    assert (
        report.body["email"]
        == report.body["email2"]
        == f"replies+{notice.reply_token}@replies.org.example"
    )
    assert report.body["name"] == "Demo Takedown e.V."  # no signer: the organisation
    assert report.body["host_notification"] == "send"
    assert report.body["owner_notification"] == "send"
    assert report.body["ncsei_subject_representation"] is False
    assert report.body["company"] == "Demo Takedown e.V."
    assert 0 < len(report.body["comments"]) <= 2000
    # The report id is the notice's confirmation number.
    assert notice.manual_confirmation == report.id
    assert kinds(notice) == ["mail.handover", "mail.accepted"]


@pytest.mark.django_db
def test_general_report_carries_the_letter_as_justification(api):
    notice = queued(category="medical")

    send_notice(notice.pk)

    report = api.reports[0]
    assert report.act == "abuse_general"
    letter = render_notice(Notice.objects.get(pk=notice.pk), with_pdf=False).text
    # The letter as sent (rendered again after sending it names its deadline's date).
    assert report.body["justification"][:2000] == letter[:2000]
    assert "ncsei_subject_representation" not in report.body


@pytest.mark.django_db
def test_one_report_per_hostname(api):
    notice = queued(hosts=(HOST, OTHER_HOST))

    result = send_notice(notice.pk)

    assert result.outcome == "sent"
    hosts = sorted({url.split("/")[2] for r in api.reports for url in r.urls})
    assert hosts == sorted([HOST, OTHER_HOST])
    assert len(api.reports) == 2


@pytest.mark.django_db
def test_sending_twice_reports_once(api):
    notice = queued()

    send_notice(notice.pk)
    second = send_notice(notice.pk)

    assert second.outcome == "skipped"
    assert len(api.reports) == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_at_once_report_once(api):
    from django.db import connection

    notice = queued()
    both_read_it = threading.Barrier(2, timeout=10)
    outcomes: list[str] = []

    def at_claim(sender, step, **kwargs):
        if step == "claiming":
            both_read_it.wait()

    def work() -> None:
        try:
            outcomes.append(send_notice(notice.pk).outcome)
        finally:
            connection.close()

    send_checkpoint.connect(at_claim, dispatch_uid="test-cf-race")
    try:
        threads = [threading.Thread(target=work) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        send_checkpoint.disconnect(dispatch_uid="test-cf-race")

    assert sorted(outcomes) == ["lost", "sent"]
    assert len(api.reports) == 1


# --- refusals and retries ------------------------------------------------------------------------


@pytest.mark.django_db
def test_validation_error_is_permanent(api):
    notice = queued()
    api.fail_next(400, "BadEmailError", "Provided email was invalid")

    result = send_notice(notice.pk)

    notice.refresh_from_db()
    assert result.outcome == "failed"
    assert "BadEmailError Provided email was invalid" in notice.last_error
    # The next contact to try is Cloudflare's web form.
    assert "Web form: https://abuse.cloudflare.com/" in notice.last_error
    assert api.reports == []


@pytest.mark.django_db
def test_zone_not_on_cloudflare_is_refused_by_the_sandbox(api):
    notice = queued(hosts=("not-proxied.example",))

    result = send_notice(notice.pk)

    assert result.outcome == "failed"
    assert "UrlNotOrangeError" in Notice.objects.get(pk=notice.pk).last_error


@pytest.mark.django_db
def test_server_error_is_retried_with_the_same_report(api):
    notice = queued()
    api.fail_next(500, "DBError", "Failed while writing to the database")

    first = send_notice(notice.pk)

    assert first.outcome == "queued"
    assert api.reports == []
    Notice.objects.filter(pk=notice.pk).update(next_attempt_at=first.next_attempt_at)
    second = send_notice(notice.pk)
    assert second.outcome == "sent"
    assert len(api.reports) == 1


@pytest.mark.django_db
def test_rejected_token_is_retried_not_failed(api):
    notice = queued()
    api.tokens.clear()

    result = send_notice(notice.pk)

    assert result.outcome == "queued"
    assert "401" in Notice.objects.get(pk=notice.pk).last_error


@pytest.mark.django_db
def test_redirect_is_not_followed_and_retried(api):
    notice = queued()
    api.fail_next(302, "", "Moved")

    result = send_notice(notice.pk)

    assert result.outcome == "queued"
    assert api.requests == 1
    assert api.reports == []


@pytest.mark.django_db
def test_unreachable_api_is_retried(api, settings):
    from takedown.sandbox.base import free_port

    settings.TAKEDOWN_CLOUDFLARE_API_URL = f"http://127.0.0.1:{free_port()}/client/v4"
    notice = queued()

    result = send_notice(notice.pk)

    assert result.outcome == "queued"
    assert kinds(notice) == ["mail.refused"]


# --- lost answers: never a second report ---------------------------------------------------------


@pytest.mark.django_db
def test_lost_answer_needs_a_check_and_is_not_resent(api):
    notice = queued()
    api.lose_next()

    result = send_notice(notice.pk)

    notice.refresh_from_db()
    assert result.outcome == "needs_check"
    assert len(api.reports) == 1
    assert "Cloudflare's list of abuse reports" in notice.last_error
    assert kinds(notice) == ["mail.handover", "mail.uncertain"]
    # Nothing sends it again by itself.
    assert send_notice(notice.pk).outcome == "skipped"
    assert len(api.reports) == 1

    assert resolve_uncertain(notice, None, delivered=True, note="Found in the dashboard") == "sent"
    assert len(api.reports) == 1


@pytest.mark.django_db
def test_answer_slower_than_the_timeout_is_uncertain(api, settings):
    settings.TAKEDOWN_CLOUDFLARE_TIMEOUT = 1
    api.delay = 3
    notice = queued()

    result = send_notice(notice.pk)

    assert result.outcome == "needs_check"
    assert len(api.reports) == 1


@pytest.mark.django_db
def test_resend_after_an_uncertain_one_meets_cloudflares_dedupe_and_waits_again(api):
    notice = queued()
    api.lose_next()
    send_notice(notice.pk)
    notice.refresh_from_db()
    # A human wrongly says it was not delivered: Cloudflare refuses the same URLs again.
    resolve_uncertain(notice, None, delivered=False, note="not found at first glance")

    result = send_notice(notice.pk)

    assert result.outcome == "needs_check"
    assert len(api.reports) == 1
    assert "DedupeError" in Notice.objects.get(pk=notice.pk).last_error


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("step", "outcome", "reports"),
    [("claimed", "queued", 0), ("handing_over", "needs_check", 0), ("accepted", "needs_check", 1)],
)
def test_worker_killed_at_each_step_is_recovered_without_second_report(api, step, outcome, reports):
    from takedown.notices.send import recover_stuck_sending

    notice = queued()

    def receiver(sender, **kwargs):
        if kwargs["step"] == step:
            raise WorkerKilled(step)

    send_checkpoint.connect(receiver, dispatch_uid="test-cf-kill")
    try:
        with pytest.raises(WorkerKilled):
            send_notice(notice.pk)
    finally:
        send_checkpoint.disconnect(dispatch_uid="test-cf-kill")

    from datetime import timedelta

    from django.utils import timezone

    counts = recover_stuck_sending(now=timezone.now() + timedelta(hours=1))
    assert counts == {outcome: 1}
    assert len(api.reports) == reports
    if outcome == "queued":
        # Nothing was handed over: the next attempt reports it, once.
        assert send_notice(notice.pk).outcome == "sent"
        assert len(api.reports) == 1


# --- no token: the web form ----------------------------------------------------------------------


@pytest.mark.django_db
def test_without_token_the_notice_goes_to_the_web_form(api):
    notice = notice_to_cloudflare(token=False)
    api_contact = notice.recipient.contacts.get(channel=Contact.Channel.API)
    Notice.objects.filter(pk=notice.pk).update(
        contact=api_contact, channel=Contact.Channel.API, to_address="cloudflare"
    )
    notice.refresh_from_db()

    status = queue_notice(notice)

    notice.refresh_from_db()
    assert status == "awaiting_manual"
    assert notice.channel == Contact.Channel.WEBFORM
    assert notice.to_address == "https://abuse.cloudflare.com/"
    assert api.requests == 0
    from takedown.events import staff_sentence

    [event] = CaseEvent.objects.filter(notice=notice, kind="notice.channel")
    assert staff_sentence(event) == (
        "The team has no Cloudflare API token: the notice goes through the web form instead."
    )


@pytest.mark.django_db
def test_without_token_a_web_form_notice_stays_on_the_web_form(api):
    notice = notice_to_cloudflare(token=False)

    assert queue_notice(notice) == "awaiting_manual"
    assert Notice.objects.get(pk=notice.pk).channel == Contact.Channel.WEBFORM


# --- the hosting provider Cloudflare names -------------------------------------------------------


@pytest.mark.django_db
def test_confirmation_names_the_hosting_provider_for_the_next_notice(api):
    notice = queued()
    send_notice(notice.pk)
    assert len(api.confirmations) == 1

    result = receive(api.confirmations[0])

    assert result.notice == notice.pk
    hoster = Organisation.objects.get(name="Hidden Hosting B.V.")
    assert list(hoster.contacts.values_list("value", flat=True)) == ["abuse@hidden-hosting.example"]
    link = FoundLink.objects.get(notices=notice)
    assert responsible_party(link, Role.HOSTING, load_decisions(notice.case)) == hoster


@pytest.mark.django_db
def test_next_notices_go_to_the_host_cloudflare_named(api):
    from takedown.notices.generate import plan_recipients

    notice = queued()
    send_notice(notice.pk)
    receive(api.confirmations[0])

    recipients, unrouted = plan_recipients(notice.case)

    assert [(r.organisation.name, r.role) for r in recipients] == [
        ("Hidden Hosting B.V.", Role.HOSTING)
    ]
    assert unrouted == []


@pytest.mark.django_db
def test_caseworkers_own_hosting_decision_is_kept(api):
    from takedown.resolve.decisions import set_party

    notice = queued()
    own = OrganisationFactory(name="Chosen Host GmbH")
    set_party(notice.case, HOST, role=Role.HOSTING, organisation=own, actor=UserFactory())
    send_notice(notice.pk)

    receive(api.confirmations[0])

    link = FoundLink.objects.get(notices=notice)
    assert responsible_party(link, Role.HOSTING) == own


@pytest.mark.django_db
def test_confirmation_quoting_the_report_id_matches_by_ticket(api):
    notice = queued()
    send_notice(notice.pk)
    raw = api.confirmations[0]
    # Without the reply address the report id alone finds the notice.
    raw = raw.replace(f"replies+{notice.reply_token}".encode(), b"kim")

    result = receive(raw)

    assert (result.notice, result.matched_by) == (notice.pk, "ticket")


def test_hosting_provider_reading_is_conservative():
    one = "Hosting provider: Hidden Hosting B.V.\nAbuse contact: abuse@hidden.example\n"
    assert cloudflare.hosting_provider(one) == cloudflare.HostingProvider(
        "Hidden Hosting B.V.", "abuse@hidden.example"
    )
    two = "Hosting provider: A Ltd\nHosting provider: B GmbH\n"
    assert cloudflare.hosting_provider(two) is None
    assert cloudflare.hosting_provider("Thanks for your report.") is None


@pytest.mark.django_db
def test_web_form_confirmation_also_feeds_resolution(api):
    notice = notice_to_cloudflare(token=False)
    Organisation.objects.filter(pk=notice.recipient_id).update(external_key="seed:cloudflare")
    queue_notice(notice)
    mark_submitted(Notice.objects.get(pk=notice.pk), None, "ab12cd34ef")
    text = (
        b"From: Cloudflare <abuse@cloudflare.com>\r\nTo: kim@org.example\r\n"
        b"Subject: Your report [Report ID: ab12cd34ef]\r\nMessage-ID: <x1@cloudflare.com>\r\n\r\n"
        b"Hosting provider: Hidden Hosting B.V.\r\nAbuse contact: abuse@hidden.example\r\n"
    )

    result = receive(text)

    assert result.notice == notice.pk
    link = FoundLink.objects.get(notices=notice)
    assert responsible_party(link, Role.HOSTING).name == "Hidden Hosting B.V."


# --- the protocol module -------------------------------------------------------------------------


def test_answer_shapes_are_read_as_documented():
    ok = json.dumps({"success": True, "result": "success", "abuse_rand": "a1b2"}).encode()
    assert cloudflare.read_answer(200, ok) == "a1b2"
    bad = json.dumps({"error_code": "BadUrlsError", "msg": "Invalid URL", "result": "error"})
    with pytest.raises(DeliveryError) as refused:
        cloudflare.read_answer(400, bad.encode())
    assert (refused.value.permanent, refused.value.uncertain) == (True, False)
    with pytest.raises(DeliveryError) as busy:
        cloudflare.read_answer(429, b"")
    assert busy.value.permanent is False
    dupe = json.dumps({"error_code": "DedupeError", "msg": "already submitted"}).encode()
    with pytest.raises(DeliveryError) as duplicate:
        cloudflare.read_answer(400, dupe)
    assert duplicate.value.uncertain is True


def test_plain_http_is_refused_except_to_loopback(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.TAKEDOWN_CLOUDFLARE_API_URL = "http://api.cloudflare.example/client/v4"
    with pytest.raises(ImproperlyConfigured):
        cloudflare.submit_report(
            cloudflare.Credentials("a", "t"), "abuse_general", {}, lambda: None
        )


@pytest.mark.django_db
def test_token_is_encrypted_at_rest_and_never_logged(api, caplog):
    from django.db import connection

    caplog.set_level(logging.DEBUG)
    notice = queued()
    api.fail_next(400, "BadNameError", "Missing a required field")
    send_notice(notice.pk)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT cloudflare_api_token FROM takedown_team WHERE id = %s", [notice.case.team_id]
        )
        stored = cursor.fetchone()[0]
    assert TOKEN not in stored
    assert TOKEN not in caplog.text
    texts = CaseEvent.objects.filter(case=notice.case).values_list("message", "data")
    assert all(TOKEN not in f"{message} {data}" for message, data in texts)
    assert TOKEN not in repr(cloudflare.credentials(notice.case.team))


@pytest.mark.django_db
def test_staff_timeline_says_the_report_went_through_the_api(api):
    from django.utils import translation

    from takedown.events import staff_sentence

    notice = queued()
    send_notice(notice.pk)
    event = CaseEvent.objects.get(notice=notice, kind="mail.accepted")

    with translation.override("de"):
        assert staff_sentence(event) == "Der Missbrauchsbericht wurde über die API angenommen."
    with translation.override("en"):
        assert staff_sentence(event) == "The abuse report was accepted through the API."


# --- the credentials command ---------------------------------------------------------------------


@pytest.mark.django_db
def test_credentials_command_reads_the_token_from_stdin_and_clears(monkeypatch):
    import io
    import sys

    from django.core.management import call_command

    team = TeamFactory(name="Beratung Nord")
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{TOKEN}\n"))
    out = io.StringIO()

    call_command("cloudflare_credentials", "Beratung Nord", "--account", ACCOUNT, stdout=out)

    team.refresh_from_db()
    assert cloudflare.credentials(team) == cloudflare.Credentials(ACCOUNT, TOKEN)
    assert TOKEN not in out.getvalue()

    call_command("cloudflare_credentials", "Beratung Nord", "--clear", stdout=io.StringIO())
    team.refresh_from_db()
    assert cloudflare.credentials(team) is None


# --- the demo world ------------------------------------------------------------------------------


def test_demo_world_plays_cloudflare_for_the_demo_team(tmp_path):
    from takedown.sandbox import world

    free = {name: 0 for name in world.DEFAULT_PORTS}
    with world.start_sandbox(
        tmp_path, ports=free, shared_dir=tmp_path / "no-shared", imap=False
    ) as sandbox:
        assert sandbox.cloudflare is not None
        env = sandbox.env()
        creds = cloudflare.Credentials(world.DEMO_CLOUDFLARE_ACCOUNT, world.DEMO_CLOUDFLARE_TOKEN)
        body = {
            "act": "abuse_ncsei",
            "email": "replies+abc@org.example",
            "email2": "replies+abc@org.example",
            "name": "Demo Takedown e.V.",
            "urls": f"https://{world.LEAKY}/photo.jpg",
            "host_notification": "send",
            "owner_notification": "send",
            "ncsei_subject_representation": False,
        }
        from django.test import override_settings

        with override_settings(TAKEDOWN_CLOUDFLARE_API_URL=env["TAKEDOWN_CLOUDFLARE_API_URL"]):
            report_id = cloudflare.submit_report(creds, "abuse_ncsei", body, lambda: None)

        assert [r.id for r in sandbox.cloudflare.reports] == [report_id]
        [confirmation] = sandbox.cloudflare.confirmations
    assert b"Hosting provider: Demo Hosting GmbH" in confirmation


# --- a real process killed in the middle of a report ---------------------------------------------

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


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize(
    ("step", "recovered_to", "reports_before_recovery"),
    [
        ("claimed", "queued", 0),
        # Cloudflare took the report, the process died before its answer was written down.
        ("accepted", "needs_check", 1),
        ("logged", "sent", 1),
    ],
)
def test_report_process_killed_is_recovered_without_second_report(
    api, field_keys, step, recovered_to, reports_before_recovery
):
    import os
    import subprocess
    import sys
    from datetime import timedelta

    from django.conf import settings as django_settings
    from django.utils import timezone

    from takedown.notices.send import due_notices, recover_stuck_sending
    from tests.test_notices_send import database_url

    notice = queued()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url(),
        "TAKEDOWN_FIELD_KEYS": ",".join(field_keys),
        "TAKEDOWN_CLOUDFLARE_API_URL": api.base_url,
        "TAKEDOWN_REPLY_DOMAIN": "replies.org.example",
        "TAKEDOWN_ORGANISATION": "Demo Takedown e.V.",
    }
    process = subprocess.run(
        [sys.executable, "-c", KILL_AT, str(notice.pk), step],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert process.returncode == 9, process.stderr.decode()[-2000:]

    notice.refresh_from_db()
    assert notice.status == "sending"
    assert len(api.reports) == reports_before_recovery
    later = timezone.now() + timedelta(seconds=901)
    assert recover_stuck_sending(now=later) == {recovered_to: 1}
    for notice_id in due_notices().values_list("pk", flat=True):
        send_notice(notice_id)
    notice.refresh_from_db()
    assert notice.status == {"queued": "sent"}.get(recovered_to, recovered_to)
    assert len(api.reports) == 1


@pytest.mark.django_db
def test_setup_demo_with_the_sandbox_gives_the_demo_team_its_cloudflare_account():
    import io

    from django.core.management import call_command

    from takedown.models import Team
    from takedown.sandbox import world

    call_command("setup_demo", "--sandbox", stdout=io.StringIO())
    team = Team.objects.get(name="Demo team")
    assert cloudflare.credentials(team) == cloudflare.Credentials(
        world.DEMO_CLOUDFLARE_ACCOUNT, world.DEMO_CLOUDFLARE_TOKEN
    )

    call_command("setup_demo", stdout=io.StringIO())
    team.refresh_from_db()
    assert cloudflare.credentials(team) is None


@pytest.mark.django_db
def test_answer_is_stored_even_when_the_named_host_cannot_be_decided(api):
    from takedown.models import PartyDecision, Reply

    notice = queued()
    send_notice(notice.pk)
    # The host left the case meanwhile: the decision is refused, the answer still stored.
    FoundLink.objects.filter(notices=notice).update(host=HostFactory(hostname="elsewhere.example"))

    result = receive(api.confirmations[0])

    assert result.notice == notice.pk
    assert Reply.objects.filter(notice=notice).count() == 1
    assert not PartyDecision.objects.filter(case=notice.case).exists()
