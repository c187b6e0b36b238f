"""Reminders, the escalation ladder, replies, outcomes and closing a case."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.utils import timezone, translation

from takedown.cases import record_complaint_consent
from takedown.checks.escalate import (
    DEFAULT_LADDER,
    authority_for,
    close_case,
    escalate_due,
    mark_overdue,
    record_reply,
    set_ladder,
)
from takedown.errors import NotPossible
from takedown.models import Case, CaseEvent, FoundLink, HostResolution, Notice, Organisation
from takedown.notices.generate import draft_follow_up, generate_notices
from takedown.notices.render import render_notice
from takedown.notices.review import ReviewError, approve, submit_for_review
from takedown.notices.send import mark_submitted, queue_notice
from takedown.tasks import escalate_overdue
from takedown.workflow import transition
from tests.factories import (
    CaseFactory,
    ContactFactory,
    FoundLinkFactory,
    HostFactory,
    MandateFactory,
    OrganisationFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

K, S, Outcome = Notice.Kind, Notice.Status, Notice.Outcome
Kind = Organisation.Kind


def at(*args: int) -> datetime:
    return timezone.make_aware(datetime(*args))


@pytest.fixture(autouse=True)
def organisation(settings):
    settings.TAKEDOWN_ORGANISATION = "Demo Takedown e.V."
    settings.DEFAULT_FROM_EMAIL = "takedown@org.example"


class World:
    """A case with two links on one host whose operator (in Berlin), hosting provider, CDN and
    registrar are all known, the Berlin data-protection authority and the federal one (not
    competent for private companies), a person who consented to be named in a complaint, a
    caseworker and a reviewer."""

    def __init__(self) -> None:
        self.author = UserFactory(username="kim", first_name="Kim", last_name="Berger")
        self.reviewer = UserFactory(username="rev")
        # Both may review: what stops the author approving is the four-eyes rule itself.
        for user in (self.author, self.reviewer):
            user.user_permissions.add(Permission.objects.get(codename="review_notice"))
        self.case = CaseFactory(assigned_to=self.author)
        MandateFactory(case=self.case)
        record_complaint_consent(self.case, how="signed form", actor=self.author)
        self.orgs = {}
        for kind, name, country in [
            (Kind.OPERATOR, "Example Site Ltd", "DE"),
            (Kind.HOSTING, "Hoster GmbH", "DE"),
            (Kind.CDN, "Edge CDN Inc", "US"),
            (Kind.REGISTRAR, "Names Registrar GmbH", "DE"),
        ]:
            org = OrganisationFactory(
                name=name,
                kind=kind,
                country=country,
                region="DE-BE" if kind == Kind.OPERATOR else "",
            )
            ContactFactory(
                organisation=org,
                purpose="abuse" if kind != Kind.OPERATOR else "privacy",
                channel="webform",
                value=f"https://{kind}.example/report",
            )
            self.orgs[kind] = org
        self.federal = OrganisationFactory(
            name="Bundesbeauftragte für den Datenschutz",
            kind=Kind.DPA,
            country="DE",
            supervises=["DE"],
            notes="Competence: Federal level: federal public bodies, telecommunication and "
            "postal services.",
        )
        self.dpa = OrganisationFactory(
            name="Berliner Beauftragte für Datenschutz und Informationsfreiheit",
            kind=Kind.DPA,
            country="DE",
            supervises=["DE-BE"],
        )
        for authority, town in ((self.federal, "Bonn"), (self.dpa, "Berlin")):
            ContactFactory(
                organisation=authority,
                purpose="privacy",
                channel="postal",
                value=f"{town}, Germany",
            )
        host = HostFactory(hostname="img.site.example")
        host.current = HostResolution.objects.create(
            host=host,
            operator=self.orgs[Kind.OPERATOR],
            hosting=self.orgs[Kind.HOSTING],
            cdn=self.orgs[Kind.CDN],
            registrar=self.orgs[Kind.REGISTRAR],
        )
        host.save()
        self.links = [FoundLinkFactory(case=self.case, host=host) for _ in range(2)]

    def first_notice(self) -> Notice:
        (notice,) = generate_notices(self.case, actor=self.author).notices
        return notice

    def send(self, notice: Notice) -> Notice:
        """Four eyes, then a manual submission: the product's own path to SENT."""
        assert notice.status == S.DRAFT
        assert notice.element_check == {"missing": [], "complete": True}
        submit_for_review(notice, self.author)
        with pytest.raises(ReviewError, match="someone other than its author"):
            approve(notice, self.author)
        approve(notice, self.reviewer)
        assert queue_notice(notice, actor=self.author) == S.AWAITING_MANUAL
        mark_submitted(notice, self.author, f"ticket-{notice.pk}")
        notice.refresh_from_db()
        return notice

    def drafts(self) -> list[Notice]:
        return list(Notice.objects.filter(case=self.case, status=S.DRAFT).order_by("pk"))


@pytest.fixture
def world() -> World:
    return World()


def remove(link: FoundLink) -> None:
    """What the rechecks do on a confirmed removal (read fresh: sending notified it)."""
    transition(FoundLink.objects.get(pk=link.pk), FoundLink.Status.REMOVED)


def run_escalation() -> tuple[int, int]:
    return mark_overdue(), escalate_due()


def test_ladder_end_to_end_with_review_at_each_step(world):
    with time_machine.travel(at(2027, 1, 11, 9, 0), tick=False):
        first = world.send(world.first_notice())
    assert (first.recipient, first.regime) == (world.orgs[Kind.OPERATOR], "gdpr")
    assert first.due_at == at(2027, 2, 11, 23, 59, 59)

    # The month passes: a reminder draft to the same party.
    with time_machine.travel(at(2027, 2, 11, 23, 59, 58), tick=False):
        assert run_escalation() == (0, 0)
    with time_machine.travel(at(2027, 2, 12, 6, 0), tick=False):
        assert run_escalation() == (1, 1)
        assert run_escalation() == (0, 0)
        (reminder,) = world.drafts()
        assert (reminder.kind, reminder.parent, reminder.recipient) == (
            K.REMINDER,
            first,
            first.recipient,
        )
        # German recipients get German letters.
        assert "Dies ist eine Erinnerung" in render_notice(reminder, with_pdf=False).text
        reminder = world.send(reminder)
    # A reminder gives a grace period of the team's setting (7 days), not a new month.
    assert reminder.due_at == at(2027, 2, 19, 23, 59, 59)

    # The reminder goes unanswered: the hosting provider.
    with time_machine.travel(at(2027, 2, 20, 6, 0), tick=False):
        assert run_escalation() == (1, 1)
        (to_host,) = world.drafts()
        assert (to_host.kind, to_host.parent, to_host.recipient_role, to_host.regime) == (
            K.ESCALATION,
            first,
            "hosting",
            "dsa",
        )
        assert set(to_host.links.all()) == set(world.links)
        text = render_notice(to_host, with_pdf=False).text
        assert "haben wir Example Site Ltd aufgefordert" in " ".join(text.split())
        to_host = world.send(to_host)

    # "Not our customer": recorded, and the ladder moves on to the CDN at once.
    with time_machine.travel(at(2027, 3, 14, 10, 0), tick=False):
        record_reply(
            to_host, outcome="not_responsible", text="Not our customer.", actor=world.author
        )
        to_host.refresh_from_db()
        assert (to_host.outcome, to_host.reply_text) == (
            Outcome.NOT_RESPONSIBLE,
            "Not our customer.",
        )
        (to_cdn,) = world.drafts()
        assert (to_cdn.recipient, to_cdn.regime) == (world.orgs[Kind.CDN], "generic_privacy")
        to_cdn = world.send(to_cdn)

    # 14 days, a reminder, 14 days (each to the end of its last day): the registrar.
    with time_machine.travel(at(2027, 3, 29, 10, 0), tick=False):
        assert run_escalation() == (1, 1)
        cdn_reminder = world.send(world.drafts()[0])
    with time_machine.travel(at(2027, 4, 5, 23, 0), tick=False):
        assert run_escalation() == (0, 0)  # the reminder's last day is still running
    with time_machine.travel(at(2027, 4, 6, 10, 0), tick=False):
        assert run_escalation() == (1, 1)
        (to_registrar,) = world.drafts()
        assert (to_registrar.recipient_role, to_registrar.parent) == ("registrar", to_cdn)
        to_registrar = world.send(to_registrar)
    assert cdn_reminder.kind == K.REMINDER

    # Registrar ignores request and reminder: a complaint to the authority of the
    # controller's country, in German.
    with time_machine.travel(at(2027, 4, 21, 10, 0), tick=False):
        assert run_escalation() == (1, 1)
        world.send(world.drafts()[0])
    with time_machine.travel(at(2027, 4, 29, 10, 0), tick=False):
        assert run_escalation() == (1, 1)
        (complaint,) = world.drafts()
        assert (complaint.kind, complaint.recipient, complaint.language) == (
            K.COMPLAINT,
            world.dpa,
            "de",
        )
        assert complaint.parent == first  # the controller the complaint is about
        assert "Example Site Ltd" in render_notice(complaint, with_pdf=False).text
        complaint = world.send(complaint)
    # Three months for the authority (Art. 78(2)); 29 July 2027 is a Thursday.
    assert complaint.due_at == at(2027, 7, 29, 23, 59, 59)

    # The authority does not report back, even after a reminder: the manual legal step.
    with time_machine.travel(at(2027, 7, 30, 10, 0), tick=False):
        assert run_escalation() == (1, 1)
        world.send(world.drafts()[0])
    # The reminder's grace period: 7 days, to the end of 6 August.
    with time_machine.travel(at(2027, 8, 6, 23, 0), tick=False):
        assert run_escalation() == (0, 0)
    with time_machine.travel(at(2027, 8, 7, 10, 0), tick=False):
        assert run_escalation() == (1, 0)
        assert run_escalation() == (0, 0)
    task = CaseEvent.objects.get(case=world.case, kind="task.manual_legal_step")
    assert task.data["links"] == [link.pk for link in world.links]
    assert task.notice == complaint

    # The images go: outcomes follow, and the case closes by itself.
    remove(world.links[0])
    first.refresh_from_db()
    assert first.outcome == Outcome.PARTLY
    remove(world.links[1])
    first.refresh_from_db()
    world.case.refresh_from_db()
    assert first.outcome == Outcome.COMPLIED
    assert world.case.status == Case.Status.CLOSED

    timeline = list(world.case.events.filter(visible_to_person=True).order_by("pk"))
    messages = [event.message for event in timeline]
    assert messages[:2] == [
        "You agreed to be named as the complainant in a complaint to a data-protection authority.",
        "A removal request was sent to Example Site Ltd. They are expected to respond by "
        "11 February 2027.",
    ]
    assert "Hoster GmbH told us it is not responsible for these images." in " ".join(messages)
    assert messages[-1] == "All the images we reported have been removed. Your case is closed."
    assert all("http" not in message and "ticket-" not in message for message in messages)
    assert all(event.actor is None or event.actor == world.author for event in timeline)


@pytest.mark.parametrize("undelivered", [S.FAILED, S.BOUNCED])
def test_escalate_due_reminder_failed_or_bounced_moves_the_ladder_on(world, undelivered):
    with time_machine.travel(at(2027, 1, 11, 9, 0), tick=False):
        first = world.send(world.first_notice())
    with time_machine.travel(at(2027, 2, 12, 6, 0), tick=False):
        assert run_escalation() == (1, 1)
        (reminder,) = world.drafts()
        if undelivered == S.BOUNCED:
            # What process_bounces does with a delivery-status report.
            transition(world.send(reminder), S.BOUNCED)
        else:
            # What the sender does when the last attempt fails for good.
            submit_for_review(reminder, world.author)
            approve(reminder, world.reviewer)
            reminder.refresh_from_db()
            for status in (S.QUEUED, S.SENDING, S.FAILED):
                transition(reminder, status)
    with time_machine.travel(at(2027, 2, 12, 7, 0), tick=False):
        assert run_escalation() == (0, 1)
        (to_host,) = world.drafts()
        assert (to_host.kind, to_host.recipient_role, to_host.parent) == (
            K.ESCALATION,
            "hosting",
            first,
        )
        assert set(to_host.links.all()) == set(world.links)
        assert run_escalation() == (0, 0)


def test_escalate_due_reminder_still_unsent_waits(world):
    with time_machine.travel(at(2027, 1, 11, 9, 0), tick=False):
        world.send(world.first_notice())
    with time_machine.travel(at(2027, 2, 12, 6, 0), tick=False):
        assert run_escalation() == (1, 1)
        (reminder,) = world.drafts()
        submit_for_review(reminder, world.author)
    with time_machine.travel(at(2027, 3, 30, 6, 0), tick=False):
        assert run_escalation() == (0, 0)
    assert [n.kind for n in Notice.objects.filter(case=world.case).order_by("pk")] == [
        K.NOTICE,
        K.REMINDER,
    ]


def test_reply_refused_records_text_and_moves_on_without_reminder(world):
    with time_machine.travel(at(2027, 1, 11, 9, 0), tick=False):
        first = world.send(world.first_notice())
    with time_machine.travel(at(2027, 1, 20, 9, 0), tick=False):
        record_reply(first, outcome="refused", text="We keep it (Art. 17(3)).", actor=world.author)
    first.refresh_from_db()
    assert (first.outcome, first.reply_outcome) == (Outcome.REFUSED, "refused")
    assert first.replied_at == at(2027, 1, 20, 9, 0)
    (draft,) = world.drafts()
    assert (draft.kind, draft.recipient_role) == (K.ESCALATION, "hosting")
    # The passing deadline neither marks it overdue nor drafts a reminder afterwards.
    with time_machine.travel(at(2027, 3, 1, 9, 0), tick=False):
        assert run_escalation() == (0, 0)


def test_reply_to_a_reminder_answers_the_request(world):
    with time_machine.travel(at(2027, 1, 11, 9, 0), tick=False):
        first = world.send(world.first_notice())
    with time_machine.travel(at(2027, 2, 12, 9, 0), tick=False):
        run_escalation()
        reminder = world.send(world.drafts()[0])
        record_reply(reminder, outcome="not_responsible", text="Wrong address.", actor=world.author)
    first.refresh_from_db()
    assert (first.outcome, first.reply_text) == (Outcome.NOT_RESPONSIBLE, "Wrong address.")
    assert [d.recipient_role for d in world.drafts()] == ["hosting"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"outcome": "maybe", "text": "x"}, "unknown reply outcome 'maybe'"),
        ({"outcome": "refused", "text": "  "}, "the reply text is required"),
        (
            {"outcome": "refused", "text": "No.", "extension_until": at(2027, 3, 1, 0, 0)},
            "the answer is still due: choose the outcome “No decision yet",
        ),
    ],
)
def test_record_reply_bad_input_is_refused_and_nothing_written(world, kwargs, message):
    with time_machine.travel(at(2027, 1, 11, 9, 0), tick=False):
        first = world.send(world.first_notice())
    with pytest.raises(NotPossible, match=message):
        record_reply(first, actor=world.author, **kwargs)
    first.refresh_from_db()
    assert (first.reply_text, first.reply_outcome, first.replied_at) == ("", "", None)


def test_an_extension_with_another_outcome_names_the_forms_choice_in_german(world):
    with time_machine.travel(at(2027, 1, 11, 9, 0), tick=False):
        first = world.send(world.first_notice())
    with translation.override("de"), pytest.raises(NotPossible) as refused:
        record_reply(
            first,
            actor=world.author,
            outcome="refused",
            text="No.",
            extension_until=at(2027, 3, 1, 0, 0),
        )
    # The choice as the reply form shows it, not the code "pending".
    assert refused.value.message == (
        "eine gewährte Fristverlängerung heißt, dass die Antwort noch aussteht: Wählen Sie das"
        " Ergebnis „Noch keine Entscheidung (z. B. um mehr Zeit gebeten)“"
    )


def test_record_reply_to_an_unsent_notice_is_refused(world):
    notice = world.first_notice()
    with pytest.raises(NotPossible, match="only a sent notice has replies"):
        record_reply(notice, outcome="refused", text="No.", actor=world.author)


def test_reply_with_extension_postpones_the_reminder(world):
    with time_machine.travel(at(2027, 1, 11, 9, 0), tick=False):
        first = world.send(world.first_notice())
    with time_machine.travel(at(2027, 2, 1, 9, 0), tick=False):
        record_reply(
            first,
            outcome="pending",
            text="We need two more months (Art. 12(3)).",
            actor=world.author,
            extension_until=at(2027, 4, 9, 12, 0),
        )
    with time_machine.travel(at(2027, 2, 12, 9, 0), tick=False):
        assert run_escalation() == (0, 0)
    # An extension names a day: the recipient has all of 9 April.
    with time_machine.travel(at(2027, 4, 9, 23, 59), tick=False):
        assert run_escalation() == (0, 0)
    with time_machine.travel(at(2027, 4, 10, 0, 0), tick=False):
        assert run_escalation() == (1, 1)


def test_set_ladder_validates_and_records(world):
    for roles, message in [
        (["hosting", "ftc"], "unknown ladder step 'ftc'"),
        ([], "at least one step"),
        (["hosting", "hosting"], "only once"),
        (["manual", "hosting"], "must be the last step"),
        ("hosting", "must be a list"),
    ]:
        with pytest.raises(NotPossible, match=re.escape(message)):
            set_ladder(world.case, roles, actor=world.author)
    world.case.refresh_from_db()
    assert world.case.escalation_ladder == []

    set_ladder(world.case, ["site_operator", "registrar", "manual"], actor=world.author)
    world.case.refresh_from_db()
    assert world.case.escalation_ladder == ["site_operator", "registrar", "manual"]
    assert world.case.events.get(kind="case.ladder_changed").data == {
        "ladder": ["site_operator", "registrar", "manual"]
    }


def test_custom_ladder_skips_steps_left_out(world):
    set_ladder(world.case, ["site_operator", "registrar", "manual"], actor=world.author)
    with time_machine.travel(at(2027, 1, 11, 9, 0), tick=False):
        first = world.send(world.first_notice())
        record_reply(first, outcome="refused", text="No.", actor=world.author)
    (draft,) = world.drafts()
    assert (draft.recipient, draft.recipient_role) == (world.orgs[Kind.REGISTRAR], "registrar")


def test_ladder_without_a_party_or_authority_ends_in_the_manual_step(world):
    set_ladder(world.case, ["site_operator", "dpa", "manual"], actor=world.author)
    world.dpa.delete()
    with time_machine.travel(at(2027, 1, 11, 9, 0), tick=False):
        first = world.send(world.first_notice())
        record_reply(first, outcome="refused", text="No.", actor=world.author)
    assert world.drafts() == []
    task = CaseEvent.objects.get(case=world.case, kind="task.manual_legal_step")
    assert task.data == {
        "notice": first.pk,
        "links": [ln.pk for ln in world.links],
        "reason": "ladder",
    }
    step = CaseEvent.objects.get(case=world.case, kind="escalation.step")
    assert step.data["skipped"] == ["dpa"]


def test_authority_for_a_german_company_is_its_state_authority_never_the_federal_one():
    berlin = OrganisationFactory(kind=Kind.DPA, supervises=["DE-BE"], name="Berlin")
    OrganisationFactory(
        kind=Kind.DPA, supervises=["DE"], name="Church", notes="Competence: church only."
    )
    OrganisationFactory(
        kind=Kind.DPA,
        supervises=["DE"],
        name="Federal",
        notes="Competence: Federal level: federal public bodies, telecommunication and postal.",
    )
    austria = OrganisationFactory(kind=Kind.DPA, supervises=["AT"], name="Austria")

    # No authority supervises private companies in all of Germany: the state must be known.
    assert authority_for("de") is None
    assert authority_for("DE", "DE-BE") == berlin
    assert authority_for("de", "be") == berlin
    assert authority_for("DE", "DE-BY") is None
    assert authority_for("AT") == austria
    assert authority_for("FR") is None
    assert authority_for("") is None


def test_paused_case_is_not_escalated(world):
    with time_machine.travel(at(2027, 1, 11, 9, 0), tick=False):
        world.send(world.first_notice())
    transition(world.case, Case.Status.PAUSED)
    with time_machine.travel(at(2027, 2, 12, 9, 0), tick=False):
        assert run_escalation() == (0, 0)


def test_link_removed_cancels_unsent_follow_ups(world):
    with time_machine.travel(at(2027, 1, 11, 9, 0), tick=False):
        first = world.send(world.first_notice())
    other = FoundLinkFactory(case=world.case)  # keeps the case open
    with time_machine.travel(at(2027, 2, 12, 9, 0), tick=False):
        run_escalation()
    (reminder,) = world.drafts()
    for link in world.links:
        remove(link)
    reminder.refresh_from_db()
    first.refresh_from_db()
    world.case.refresh_from_db()
    assert (reminder.status, first.outcome) == (S.CANCELLED, Outcome.COMPLIED)
    assert world.case.status == Case.Status.OPEN
    assert other.status == FoundLink.Status.FOUND
    messages = [e.message for e in world.case.events.filter(kind="notice.outcome_for_person")]
    assert messages == [
        "Some of the images we reported to Example Site Ltd are no longer online; "
        "we keep following up on the rest.",
        "All the images we reported to Example Site Ltd are no longer online.",
    ]


def test_reappearing_link_reopens_an_automatically_closed_case(world):
    with time_machine.travel(at(2027, 1, 11, 9, 0), tick=False):
        first = world.send(world.first_notice())
    for link in world.links:
        remove(link)
    world.case.refresh_from_db()
    assert world.case.status == Case.Status.CLOSED

    link = FoundLink.objects.get(pk=world.links[0].pk)
    transition(link, FoundLink.Status.REAPPEARED)
    world.case.refresh_from_db()
    first.refresh_from_db()
    assert (world.case.status, world.case.close_reason, first.outcome) == (
        Case.Status.OPEN,
        "",
        Outcome.PARTLY,
    )


def test_close_case_by_caseworker_cancels_drafts_and_keeps_the_reason_internal(world):
    draft = world.first_notice()
    with pytest.raises(NotPossible, match="needs a reason"):
        close_case(world.case, reason=" ", actor=world.author)

    close_case(world.case, reason="Person withdrew the request by phone.", actor=world.author)

    world.case.refresh_from_db()
    draft.refresh_from_db()
    assert (world.case.status, world.case.close_reason) == (
        Case.Status.CLOSED,
        "Person withdrew the request by phone.",
    )
    assert draft.status == S.CANCELLED
    visible = world.case.events.filter(visible_to_person=True).last()
    assert visible.message == "Your caseworker has closed the case."
    with pytest.raises(NotPossible, match="cannot be closed"):
        close_case(world.case, reason="again", actor=world.author)


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("kind", [K.REMINDER, K.ESCALATION, K.COMPLAINT])
def test_follow_up_templates_pass_the_element_check(world, language, kind):
    with time_machine.travel(at(2027, 1, 11, 9, 0), tick=False):
        first = world.send(world.first_notice())
    target = {
        K.REMINDER: (first.recipient, "site_operator", None),
        K.ESCALATION: (world.orgs[Kind.HOSTING], "hosting", None),
        K.COMPLAINT: (world.dpa, "dpa", "gdpr"),
    }[kind]
    draft = draft_follow_up(
        first,
        kind=kind,
        organisation=target[0],
        role=target[1],
        links=world.links,
        regime_code=target[2],
    )
    Notice.objects.filter(pk=draft.pk).update(language=language)
    draft.refresh_from_db()

    from takedown.notices.render import check_elements

    assert check_elements(draft) == []
    text = render_notice(draft, with_pdf=False).text
    expected = {
        (K.REMINDER, "en"): "This is a reminder: we wrote to you",
        (K.REMINDER, "de"): "Dies ist eine Erinnerung",
        (K.ESCALATION, "en"): "we asked Example Site Ltd to remove the content listed below",
        (K.ESCALATION, "de"): "haben wir Example Site Ltd aufgefordert",
        (K.COMPLAINT, "en"): "we asked Example Site Ltd, the controller, to erase",
        (K.COMPLAINT, "de"): "haben wir Example Site Ltd als Verantwortlichen aufgefordert",
    }[(kind, language)]
    assert expected in " ".join(text.split())


def test_reminder_to_an_authority_does_not_call_it_the_controller(world):
    with time_machine.travel(at(2027, 1, 11, 9, 0), tick=False):
        first = world.send(world.first_notice())
        complaint = world.send(
            draft_follow_up(
                first,
                kind=K.COMPLAINT,
                organisation=world.dpa,
                role="dpa",
                links=world.links,
                regime_code="gdpr",
            )
        )
    reminder = draft_follow_up(
        complaint, kind=K.REMINDER, organisation=world.dpa, role="dpa", links=world.links
    )
    text = " ".join(render_notice(reminder, with_pdf=False).text.split())
    assert "Dies ist eine Erinnerung" in text
    assert "als Verantwortlichen" not in text
    assert reminder.element_check == {"missing": [], "complete": True}


def test_escalate_command_json_and_daily_task(world):
    with time_machine.travel(at(2027, 1, 11, 9, 0), tick=False):
        world.send(world.first_notice())
    with time_machine.travel(at(2027, 2, 12, 9, 0), tick=False):
        from io import StringIO

        out = StringIO()
        call_command("escalate", "--json", stdout=out)
        assert json.loads(out.getvalue()) == {"overdue": 1, "drafts": 1}
        assert escalate_overdue() == {"overdue": 0, "drafts": 0}


def test_record_reply_and_close_case_commands(world):
    from io import StringIO

    with time_machine.travel(at(2027, 1, 11, 9, 0), tick=False):
        first = world.send(world.first_notice())
    with pytest.raises(CommandError, match="not a date") as bad_date:
        call_command(
            "record_reply",
            str(first.pk),
            "--outcome",
            "pending",
            "--text",
            "x",
            "--as",
            "kim",
            "--extend-until",
            "April",
        )
    assert bad_date.value.returncode == 2
    with time_machine.travel(at(2027, 2, 1, 9, 0), tick=False):
        with pytest.raises(CommandError, match="at the latest") as too_late:
            call_command(
                "record_reply",
                str(first.pk),
                "--outcome",
                "pending",
                "--text",
                "Later.",
                "--as",
                "kim",
                "--extend-until",
                "2027-06-01",
            )
        assert too_late.value.returncode == 2
        out = StringIO()
        call_command(
            "record_reply",
            str(first.pk),
            "--outcome",
            "pending",
            "--text",
            "Later.",
            "--as",
            "kim",
            "--extend-until",
            "2027-04-01",
            stdout=out,
        )
    first.refresh_from_db()
    assert first.extended_until == at(2027, 4, 1, 23, 59, 59)
    assert out.getvalue() == f"notice {first.pk}: reply recorded, outcome pending\n"

    with pytest.raises(CommandError, match="no case 'TD-NOPE'"):
        call_command("close_case", "--case", "TD-NOPE", "--reason", "x", "--as", "kim")
    call_command(
        "close_case",
        "--case",
        world.case.reference,
        "--reason",
        "Done.",
        "--as",
        "kim",
        stdout=StringIO(),
    )
    world.case.refresh_from_db()
    assert world.case.status == Case.Status.CLOSED


def test_default_ladder_is_the_issue_order():
    assert DEFAULT_LADDER == ["site_operator", "hosting", "cdn", "registrar", "dpa", "manual"]


def test_overdue_event_is_visible_in_plain_language(world):
    with time_machine.travel(at(2027, 1, 11, 9, 0), tick=False):
        world.send(world.first_notice())
    with time_machine.travel(at(2027, 2, 12, 9, 0) + timedelta(hours=1), tick=False):
        mark_overdue()
    event = world.case.events.get(kind="notice.overdue_for_person")
    assert event.visible_to_person is True
    assert event.message == (
        "Example Site Ltd did not respond by the deadline of 11 February 2027. "
        "We are preparing a reminder."
    )
