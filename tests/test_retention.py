"""Retention and erasure of the person's data (takedown/retention.py): the period per team, what
is erased and what stays as statistics, legal holds, the command, the daily task and the
person's deletion request confirmed by a caseworker."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse

from takedown import retention, tasks
from takedown.crypto import seal_text
from takedown.models import (
    AffectedPerson,
    Case,
    CaseEvent,
    FoundLink,
    LinkCheck,
    Mandate,
    Notice,
    PortalAccess,
    PortalMessage,
    Reply,
    ReplyAttachment,
)
from takedown.retention import (
    ErasureRefused,
    erase_case,
    erase_expired,
    expired_cases,
    months_before,
    set_legal_hold,
)
from takedown.web.portal.actions import request_deletion, send_message
from takedown.workflow import record_event
from tests.factories import (
    CaseFactory,
    FoundLinkFactory,
    MandateFactory,
    NoticeFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2027, 6, 15, 12, 0, tzinfo=dt.UTC)


def closed_case(months_ago: float, team=None, **fields) -> Case:
    case = CaseFactory(team=team, **fields)
    closed_at = NOW - dt.timedelta(days=30.44 * months_ago)
    Case.objects.filter(pk=case.pk).update(status=Case.Status.CLOSED, closed_at=closed_at)
    case.refresh_from_db()
    return case


def full_case(**fields) -> Case:
    """A case with something of every kind the erasure touches."""
    case = closed_case(13, **fields)
    link = FoundLinkFactory(
        case=case, caption="Alex at the beach", entry_id="laion-123", extra={"width": 640}
    )
    check = LinkCheck.objects.create(
        link=link, verdict="removed", final_url=link.url, headers={"server": "x"}, sha256="ab" * 32
    )
    FoundLink.objects.filter(pk=link.pk).update(
        evidence=check, ref_sha256="cd" * 32, status=FoundLink.Status.REMOVED
    )
    MandateFactory(case=case)
    NoticeFactory(
        case=case, body_text="Dear host, Alex Example asks ...", reply_text="We removed it."
    )
    PortalMessage.objects.create(case=case, body="please hurry")
    PortalAccess.objects.create(case=case, token_hash="0" * 64, expires_at=NOW)
    return case


# --- the period -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        (dt.datetime(2027, 6, 15), 12, dt.datetime(2026, 6, 15)),
        (dt.datetime(2027, 3, 31), 1, dt.datetime(2027, 2, 28)),
        (dt.datetime(2028, 3, 31), 1, dt.datetime(2028, 2, 29)),
        (dt.datetime(2027, 1, 10), 3, dt.datetime(2026, 10, 10)),
    ],
)
def test_months_before_calendar_months(moment, months, expected):
    assert months_before(moment, months) == expected


def test_expired_cases_follow_each_teams_period():
    short = TeamFactory(retention_months=3)
    old_default = closed_case(13)
    young_default = closed_case(11)
    old_short = closed_case(4, team=short)
    young_short = closed_case(2, team=short)
    held = closed_case(20, legal_hold=True, legal_hold_reason="court order")
    open_case = CaseFactory()
    withdrawn = CaseFactory()
    Case.objects.filter(pk=withdrawn.pk).update(status=Case.Status.WITHDRAWN)
    CaseEvent.objects.create(case=withdrawn, kind="case.withdrawn", at=NOW - dt.timedelta(days=400))
    del young_default, young_short, held, open_case

    assert list(expired_cases(NOW)) == sorted(
        [old_default, old_short, withdrawn], key=lambda case: case.pk
    )


# --- what is erased ---------------------------------------------------------------------------


def test_erase_case_removes_personal_data_and_keeps_statistics():
    case = full_case()
    user = UserFactory()

    erasure = erase_case(case, actor=user, reason="retention")

    person = AffectedPerson.objects.get(case=case)
    assert (person.name, person.email, person.phone, person.notes) == ("", "", "", "")
    assert person.country == "DE"
    assert PortalMessage.objects.filter(case=case).count() == 0
    assert PortalAccess.objects.filter(case=case).count() == 0
    assert Mandate.objects.filter(case=case).count() == 0
    link = FoundLink.objects.get(case=case)
    assert (link.url, link.caption, link.entry_id, link.extra, link.ref_sha256) == (
        "",
        "",
        "",
        None,
        "",
    )
    assert (link.status, link.next_check_at, link.host_id is not None) == ("removed", None, True)
    check = LinkCheck.objects.get(link=link)
    assert (check.final_url, check.headers, check.sha256, check.verdict) == ("", {}, "", "removed")
    notice = Notice.objects.get(case=case)
    assert (notice.body_text, notice.reply_text, notice.regime) == ("", "", "gdpr")
    case.refresh_from_db()
    assert case.erased_at is not None
    assert erasure.counts == {
        "person": 1,
        "portal_messages": 1,
        "portal_links": 1,
        "mandates": 1,
        "links": 1,
        "link_checks": 1,
        "imports": 0,
        "notices": 1,
        "replies": 0,
    }
    event = CaseEvent.objects.get(case=case, kind="case.erased")
    assert event.actor == user
    assert event.data == {"reason": "retention", "counts": erasure.counts}
    assert "Alex" not in json.dumps(event.data) + event.message


def test_erase_case_twice_erases_once():
    case = full_case()

    erase_case(case, reason="retention")
    again = erase_case(case, reason="retention")

    assert again.counts == {}
    assert CaseEvent.objects.filter(case=case, kind="case.erased").count() == 1


def test_erased_case_page_still_opens(client):
    team = TeamFactory()
    case = full_case(team=team)
    carla = UserFactory(username="carla")
    carla.groups.add(Group.objects.get(name="caseworker"))
    team.members.add(carla)
    erase_case(case, reason="retention")
    client.force_login(carla)

    assert client.get(reverse("staff:case", args=[case.reference])).status_code == 200
    assert client.get(reverse("staff:links", args=[case.reference])).status_code == 200


# --- legal hold -------------------------------------------------------------------------------


def test_legal_hold_stops_erasure_and_needs_a_reason():
    case = full_case()
    admin = UserFactory()

    with pytest.raises(ErasureRefused, match=r"A legal hold needs a reason\."):
        set_legal_hold(case, hold=True, reason=" ", actor=admin)
    set_legal_hold(case, hold=True, reason="Criminal complaint 4 Js 123/27", actor=admin)

    with pytest.raises(ErasureRefused, match="is under a legal hold"):
        erase_case(case, reason="retention")
    assert erase_expired(NOW) == []
    assert AffectedPerson.objects.get(case=case).name == "Alex Example"
    set_legal_hold(case, hold=False, reason="", actor=admin)
    assert [e.reference for e in erase_expired(NOW)] == [case.reference]
    assert list(
        CaseEvent.objects.filter(case=case, kind__startswith="case.legal_hold").values_list(
            "kind", flat=True
        )
    ) == ["case.legal_hold", "case.legal_hold_lifted"]


def test_admin_places_hold_with_reason_through_change_form(client):
    case = full_case()
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(root)
    url = reverse("admin:takedown_case_change", args=[case.pk])
    form = client.get(url).context["adminform"].form
    data = {
        key: value
        for key, value in form.initial.items()
        if value is not None and not isinstance(value, list)
    }
    data.update(
        {
            "person-TOTAL_FORMS": "1",
            "person-INITIAL_FORMS": "1",
            "person-MIN_NUM_FORMS": "0",
            "person-MAX_NUM_FORMS": "1",
            "person-0-id": str(case.person.pk),
            "person-0-case": str(case.pk),
            "person-0-language": "en",
            "person-0-country": "DE",
            "escalation_ladder": "[]",
        }
    )

    refused = client.post(url, {**data, "legal_hold": "on", "legal_hold_reason": ""})
    placed = client.post(url, {**data, "legal_hold": "on", "legal_hold_reason": "Court order"})

    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors["legal_hold_reason"] == [
        "A legal hold needs a reason."
    ]
    assert placed.status_code == 302, placed.context["adminform"].form.errors
    case.refresh_from_db()
    assert (case.legal_hold, case.legal_hold_reason) == (True, "Court order")
    assert CaseEvent.objects.get(case=case, kind="case.legal_hold").actor == root


# --- the command and the daily task -------------------------------------------------------------


def test_erase_expired_command_dry_run_changes_nothing(time_machine):
    time_machine.move_to(NOW, tick=False)
    case = full_case()
    closed_case(2)
    out = StringIO()

    call_command("erase_expired", "--dry-run", "--json", stdout=out)

    assert json.loads(out.getvalue()) == {
        "dry_run": True,
        "cases": [{"case": case.reference, "erased": {}}],
    }
    assert AffectedPerson.objects.get(case=case).name == "Alex Example"
    assert Case.objects.get(pk=case.pk).erased_at is None


def test_erase_expired_command_erases_and_says_so(time_machine):
    time_machine.move_to(NOW, tick=False)
    case = full_case()
    out = StringIO()

    call_command("erase_expired", stdout=out)

    assert out.getvalue() == f"{case.reference} erased\n1 case(s) erased\n"
    assert AffectedPerson.objects.get(case=case).name == ""


def test_daily_task_is_scheduled_and_erases(settings, time_machine):
    time_machine.move_to(NOW, tick=False)
    case = full_case()

    assert settings.CELERY_BEAT_SCHEDULE["erase-expired"] == {
        "task": "takedown.tasks.erase_expired",
        "schedule": 24 * 3600.0,
    }
    assert tasks.erase_expired_cases.name == "takedown.tasks.erase_expired"
    assert tasks.erase_expired_cases() == 1
    assert Case.objects.get(pk=case.pk).erased_at is not None


# --- the person's deletion request ----------------------------------------------------------------


@pytest.fixture
def carla_and_case():
    team = TeamFactory()
    carla = UserFactory(username="carla")
    carla.groups.add(Group.objects.get(name="caseworker"))
    team.members.add(carla)
    case = CaseFactory(team=team)
    return carla, case


def test_deletion_request_confirmed_erases_at_once_and_closes(client, carla_and_case):
    carla, case = carla_and_case
    send_message(case, "please delete everything")
    deletion = request_deletion(case)
    client.force_login(carla)

    response = client.post(
        reverse("staff:deletion_handled", args=[case.reference, deletion.pk]),
        {"note": "Erased on request.", "erase": "1"},
        follow=True,
    )

    assert [str(m) for m in response.context["messages"]] == [
        "The person's data was erased and the deletion request marked as handled."
    ]
    case.refresh_from_db()
    assert (case.status, case.close_reason) == (
        "closed",
        "The person asked for their data to be deleted.",
    )
    assert case.erased_at is not None
    assert AffectedPerson.objects.get(case=case).email == ""
    assert PortalMessage.objects.filter(case=case).count() == 0
    event = CaseEvent.objects.get(case=case, kind="case.erased")
    assert (event.actor, event.data["reason"]) == (carla, "deletion_request")


def test_deletion_request_on_hold_is_refused_and_left_open(client, carla_and_case):
    carla, case = carla_and_case
    set_legal_hold(case, hold=True, reason="Police investigation", actor=None)
    deletion = request_deletion(case)
    client.force_login(carla)

    response = client.post(
        reverse("staff:deletion_handled", args=[case.reference, deletion.pk]),
        {"note": "Erased on request.", "erase": "1"},
        follow=True,
    )

    assert [str(m) for m in response.context["messages"]] == [
        f"Case {case.reference} is under a legal hold: its data cannot be erased until an "
        "admin lifts the hold."
    ]
    deletion.refresh_from_db()
    case.refresh_from_db()
    assert (deletion.handled_at, case.status, case.erased_at) == (None, "open", None)
    assert AffectedPerson.objects.get(case=case).name == "Alex Example"


def test_erase_event_sentence_free_of_personal_data():
    case = full_case()
    record_event(case, "case.viewed", message="Case opened by staff")

    erase_case(case, reason="retention")

    messages = " ".join(CaseEvent.objects.filter(case=case).values_list("message", flat=True))
    assert "Alex" not in messages


def test_registered_erasers_run_in_the_same_erasure(monkeypatch):
    case = full_case()
    seen: list[int] = []
    monkeypatch.setattr(retention, "ERASERS", {})

    @retention.register_eraser("elsewhere")
    def erase_elsewhere(locked: Case) -> int:
        seen.append(locked.pk)
        return 3

    erasure = erase_case(case, reason="retention")

    assert seen == [case.pk]
    assert erasure.counts["elsewhere"] == 3
    assert CaseEvent.objects.get(case=case, kind="case.erased").data["counts"]["elsewhere"] == 3


def test_erase_case_erases_recipients_answers_and_their_copy_in_the_audit_trail():
    case = full_case()
    notice = Notice.objects.get(case=case)
    reply = Reply.objects.create(
        message_key="retention-1",
        notice=notice,
        case=case,
        from_address="legal@site.example",
        subject="Re: Alex Example",
        text="We removed the photo of Alex Example.",
        raw=b"Subject: Re: Alex Example\r\n\r\nWe removed it.",
        kind=Reply.Kind.COMPLIED,
        state=Reply.State.APPLIED,
        ticket="T-1",
    )
    ReplyAttachment.objects.create(
        reply=reply, filename="photo.jpg", content_type="image/jpeg", content=b"jpeg", size=4
    )
    record_event(
        case,
        "notice.reply",
        message="Reply recorded.",
        data={
            "notice": notice.pk,
            "outcome": "complied",
            "text_sealed": seal_text("We removed Alex's photo."),
        },
    )

    erasure = erase_case(case, reason="retention")

    reply.refresh_from_db()
    assert (reply.from_address, reply.subject, reply.text, bytes(reply.raw), reply.ticket) == (
        "",
        "",
        "",
        b"",
        "",
    )
    assert (reply.kind, reply.notice_id) == ("complied", notice.pk)
    assert ReplyAttachment.objects.filter(reply=reply).count() == 0
    event = CaseEvent.objects.get(case=case, kind="notice.reply")
    assert event.data == {"notice": notice.pk, "outcome": "complied", "text_sealed": ""}
    assert erasure.counts["replies"] == 1
