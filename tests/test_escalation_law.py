"""Complaints to data-protection authorities: when, to whom, saying what, naming whom."""

from __future__ import annotations

from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from takedown.cases import record_complaint_consent, withdraw_complaint_consent
from takedown.checks.escalate import (
    AuthorityChoice,
    EscalationError,
    authority_for,
    choose_authority,
    competent_authority,
    escalate_due,
    mark_overdue,
    record_reply,
    set_ladder,
)
from takedown.models import AffectedPerson, CaseEvent, HostResolution, Notice, Organisation
from takedown.notices.render import check_elements, render_notice
from tests.conftest import SHARED_DATA, shared_file
from tests.factories import CaseFactory, ContactFactory, HostFactory, OrganisationFactory
from tests.test_escalation import World, at
from tests.test_escalation import organisation as organisation  # autouse: our name and address

pytestmark = pytest.mark.django_db

K, S = Notice.Kind, Notice.Status
Kind = Organisation.Kind
Basis = Notice.AuthorityBasis


@pytest.fixture
def world() -> World:
    world = World()
    # Straight from the controller to the authority: the steps between are tested elsewhere.
    set_ladder(world.case, ["site_operator", "dpa", "manual"], actor=world.author)
    return world


def words(notice: Notice) -> str:
    return " ".join(render_notice(notice, with_pdf=False).text.split())


def ran_out(world: World, first: Notice | None = None) -> Notice:
    """The GDPR request to the controller (sent on 11 January 2027) is not met, and its
    reminder goes unanswered."""
    if first is None:
        with time_machine.travel(at(2027, 1, 11, 9, 0), tick=False):
            first = world.send(world.first_notice())
    with time_machine.travel(at(2027, 2, 12, 6, 0), tick=False):
        mark_overdue()
        escalate_due()
        world.send(world.drafts()[0])
    with time_machine.travel(at(2027, 2, 20, 6, 0), tick=False):
        mark_overdue()
        escalate_due()
    return first


def test_complaint_goes_to_the_state_authority_of_the_controller_seat(world):
    first = ran_out(world)
    (complaint,) = world.drafts()
    assert (complaint.kind, complaint.parent, complaint.recipient, complaint.authority_basis) == (
        K.COMPLAINT,
        first,
        world.dpa,
        Basis.SEAT,
    )
    assert complaint.recipient != world.federal
    event = CaseEvent.objects.get(case=world.case, kind="escalation.complaint")
    assert (event.data["basis"], event.data["ground"]) == ("seat", "ran_out")


def test_complaint_states_the_recorded_facts_and_never_says_no_answer_after_one(world):
    with time_machine.travel(at(2027, 1, 11, 9, 0), tick=False):
        first = world.send(world.first_notice())
    with time_machine.travel(at(2027, 2, 1, 10, 0), tick=False):
        record_reply(
            first,
            outcome="pending",
            text="We need more time  to check the images.",
            actor=world.author,
            extension_until=at(2027, 3, 11, 12, 0).date(),
        )
    with time_machine.travel(at(2027, 3, 12, 6, 0), tick=False):
        assert (mark_overdue(), escalate_due()) == (1, 1)
        world.send(world.drafts()[0])
    with time_machine.travel(at(2027, 3, 20, 6, 0), tick=False):
        mark_overdue()
        escalate_due()
    (complaint,) = world.drafts()
    Notice.objects.filter(pk=complaint.pk).update(language="en")  # German: the next test
    complaint.refresh_from_db()
    text = words(complaint)
    assert (
        "On 11 January 2027 we asked Example Site Ltd, the controller, to erase these data. On "
        "1 February 2027 it answered, extending the deadline to 11 March 2027: "
        '"We need more time to check the images". On 12 March 2027 we reminded it of the request.'
    ) in text
    assert (
        "The controller had to answer within one month of receipt, extended as it announced, "
        "(GDPR Art. 12(3)), that is by 11 March 2027; that deadline has passed and the images "
        "listed below are still online."
    ) in text
    assert "has not acted" not in text
    assert "no answer" not in text
    assert complaint.element_check == {"missing": [], "complete": True}


def test_complaint_after_a_refusal_says_so_in_german(world):
    with time_machine.travel(at(2027, 1, 11, 9, 0), tick=False):
        first = world.send(world.first_notice())
    with time_machine.travel(at(2027, 1, 20, 10, 0), tick=False):
        record_reply(first, outcome="refused", text="Berechtigtes Interesse.", actor=world.author)
    (complaint,) = world.drafts()
    assert complaint.language == "de"
    text = words(complaint)
    assert (
        "Am 11. Januar 2027 haben wir Example Site Ltd als Verantwortlichen aufgefordert, diese "
        "Daten zu löschen. Am 20. Januar 2027 hat der Verantwortliche geantwortet und die "
        "Löschung abgelehnt: „Berechtigtes Interesse“. Wir bitten Sie"
    ) in text
    assert "Der Verantwortliche hat unser Verlangen abgelehnt" in text
    assert "nicht tätig geworden" not in text


def test_complaint_names_the_person_only_with_consent_and_attaches_the_file(world):
    withdraw_complaint_consent(world.case, actor=world.author)
    first = ran_out(world)
    (complaint,) = world.drafts()
    assert complaint.element_check["missing"] == [
        "the person's consent to be named as the complainant, recorded on the case"
    ]
    assert "Alex Example" not in words(complaint)
    assert "Im Auftrag von: der betroffenen Person (Name zum Schutz" in words(complaint)
    assert "[Der Name der beschwerdeführenden Person wird eingefügt" in words(complaint)

    record_complaint_consent(world.case, how="phone call", actor=world.author)
    complaint.refresh_from_db()
    assert complaint.element_check == {"missing": [], "complete": True}
    world.case.refresh_from_db()
    assert (world.case.complaint_consent_how, world.case.complaint_consent_recorded_by) == (
        "phone call",
        world.author,
    )
    rendered = render_notice(complaint, with_pdf=False)
    named = "Alex Example, die in die Nennung ihres Namens in dieser Beschwerde eingewilligt hat"
    assert named in " ".join(rendered.text.split())
    assert "Im Auftrag von: Alex Example\n" in rendered.text
    reference = world.case.reference
    files = {item.filename: item for item in rendered.attachments}
    assert list(files) == [
        f"{reference}-links.csv",
        f"{reference}-request-{first.pk}.txt",
        f"{reference}-power-of-attorney.pdf",
        # Every notice also as data (takedown.notices.render.notice_json).
        f"{reference}-notice-{complaint.pk}.json",
    ]
    request = files[f"{reference}-request-{first.pk}.txt"].content.decode()
    assert all(link.url in request for link in world.links)
    assert "11. Januar 2027" in request  # the day it was sent, not today
    assert files[f"{reference}-power-of-attorney.pdf"].content == (
        b"%PDF-1.7 signed mandate (test stand-in)"
    )
    # The letter names its enclosures; the JSON copy is for machines and not one of them.
    enclosures = [name for name in files if not name.endswith(".json")]
    assert f"Anlagen: {', '.join(enclosures)}" in rendered.text


def test_complaint_attaches_the_recorded_answers(world):
    with time_machine.travel(at(2027, 1, 11, 9, 0), tick=False):
        first = world.send(world.first_notice())
    with time_machine.travel(at(2027, 1, 20, 10, 0), tick=False):
        record_reply(first, outcome="partly", text="We removed one.", actor=world.author)
    ran_out(world, first)
    (complaint,) = world.drafts()
    answers = {a.filename: a for a in render_notice(complaint, with_pdf=False).attachments}[
        f"{world.case.reference}-answers.txt"
    ]
    assert answers.content.decode() == "2027-01-20T09:00:00+00:00  partly\nWe removed one.\n"
    assert "nur teilweise entsprochen" in words(complaint)


def test_german_controller_without_a_state_is_blocked_until_the_caseworker_chooses(world):
    Organisation.objects.filter(pk=world.orgs[Kind.OPERATOR].pk).update(region="")
    AffectedPerson.objects.filter(case=world.case).update(region="DE-BY")
    bavaria = OrganisationFactory(
        name="Bayerisches Landesamt für Datenschutzaufsicht",
        kind=Kind.DPA,
        country="DE",
        supervises=["DE-BY"],
    )
    ContactFactory(organisation=bavaria, purpose="privacy", channel="postal", value="Ansbach")
    ran_out(world)
    (complaint,) = world.drafts()
    # Provisionally to the person's own authority (Art. 77(1)), but not approvable.
    assert (complaint.recipient, complaint.authority_basis) == (bavaria, Basis.PENDING)
    assert complaint.element_check["missing"] == [
        "the competent authority, chosen by the caseworker (the controller's seat is not known "
        "well enough to tell)"
    ]
    assert "[Die zuständige Aufsichtsbehörde ist noch auszuwählen" in words(complaint)

    complaint = choose_authority(complaint, world.dpa, actor=world.author)
    assert (complaint.recipient, complaint.authority_basis, complaint.to_address) == (
        world.dpa,
        Basis.CHOSEN,
        "Berlin, Germany",
    )
    assert complaint.element_check == {"missing": [], "complete": True}
    # The person's residence authority is the caseworker's alternative.
    complaint = choose_authority(complaint, bavaria, actor=world.author)
    assert complaint.authority_basis == Basis.RESIDENCE
    with pytest.raises(EscalationError, match="not a data-protection authority"):
        choose_authority(complaint, world.orgs[Kind.HOSTING], actor=world.author)


def test_no_complaint_against_a_party_that_is_not_a_controller(world):
    # No operator is known: the first request goes to the host, which is no controller.
    host = HostFactory(hostname="img.other.example")
    host.current = HostResolution.objects.create(host=host, hosting=world.orgs[Kind.HOSTING])
    host.save()
    for link in world.links:
        link.host = host
        link.save()
    set_ladder(world.case, ["hosting", "dpa", "manual"], actor=world.author)
    with time_machine.travel(at(2027, 1, 11, 9, 0), tick=False):
        first = world.send(world.first_notice())
    assert first.recipient_role == "hosting"
    with time_machine.travel(at(2027, 1, 12, 9, 0), tick=False):
        record_reply(first, outcome="refused", text="Not illegal.", actor=world.author)
    assert world.drafts() == []
    step = CaseEvent.objects.get(case=world.case, kind="escalation.step")
    assert step.data["skipped"] == ["dpa"]
    assert step.data["skip_reasons"] == {
        "dpa": "Hoster GmbH received the request as hosting provider, not as the controller "
        "(GDPR Art. 4(7)): a complaint to an authority is about a controller"
    }
    assert "skipped dpa: Hoster GmbH received the request as hosting provider" in step.message
    assert CaseEvent.objects.filter(case=world.case, kind="task.manual_legal_step").count() == 1


def test_no_complaint_while_the_controller_neither_refused_nor_ran_out(world):
    with time_machine.travel(at(2027, 1, 11, 9, 0), tick=False):
        first = world.send(world.first_notice())
    with time_machine.travel(at(2027, 1, 12, 9, 0), tick=False):
        record_reply(first, outcome="not_responsible", text="Not ours.", actor=world.author)
    assert world.drafts() == []
    step = CaseEvent.objects.get(case=world.case, kind="escalation.step")
    assert step.data["skip_reasons"] == {
        "dpa": "Example Site Ltd has not refused and its deadline (extension included) has not "
        "run out"
    }


def test_complaint_to_an_authority_without_our_language_is_english_with_a_note(world):
    operator = world.orgs[Kind.OPERATOR]
    Organisation.objects.filter(pk=operator.pk).update(country="FR", region="")
    cnil = OrganisationFactory(
        name="CNIL",
        kind=Kind.DPA,
        country="FR",
        supervises=["FR"],
        notes="Complaint language: fr",
    )
    ContactFactory(organisation=cnil, purpose="privacy", channel="postal", value="Paris")
    ran_out(world)
    (complaint,) = world.drafts()
    assert (complaint.recipient, complaint.language) == (cnil, "en")
    assert (
        "We write in English because we have no text of this complaint in French; we will "
        "provide a translation on request."
    ) in words(complaint)
    assert check_elements(complaint) == []


def test_choose_authority_command(world):
    ran_out(world)
    (complaint,) = world.drafts()
    bavaria = OrganisationFactory(name="BayLDA", kind=Kind.DPA, country="DE", supervises=["DE-BY"])
    call_command("choose_authority", str(complaint.pk), "--authority", str(bavaria.pk))
    complaint.refresh_from_db()
    assert (complaint.recipient, complaint.authority_basis) == (bavaria, Basis.CHOSEN)


def test_real_directory_picks_the_state_authority_of_the_seat_and_never_the_bfdi():
    authorities = shared_file(SHARED_DATA / "datenanfragen" / "supervisory-authorities.jsonl")
    call_command(
        "import_directory", "--format", "datenanfragen", str(authorities), stdout=StringIO()
    )
    by_slug = {
        org.external_key.removeprefix("datenanfragen-sa:"): org
        for org in Organisation.objects.filter(kind=Kind.DPA)
    }
    assert (by_slug["debaylda"].region, by_slug["debayldb"].region) == ("DE-BY", "")
    case = CaseFactory()  # the person lives in Germany, their state not recorded
    shop = OrganisationFactory(kind=Kind.OPERATOR, country="DE", region="DE-HH")

    assert competent_authority(shop, case) == AuthorityChoice(
        by_slug["dehmbbfdi"], Basis.SEAT, "gdpr", f"supervises {shop.name} (DE-HH)"
    )
    # The private sector in Bavaria is the BayLDA, not the authority for public bodies.
    shop.region = "DE-BY"
    assert competent_authority(shop, case).authority == by_slug["debaylda"]
    # Without the state: nobody to send it to until the caseworker chooses...
    shop.region = ""
    choice = competent_authority(shop, case)
    assert (choice.authority, choice.basis) == (None, "")
    assert choice.reason.startswith(f"the state of {shop.name}'s seat is not recorded")
    # ... or, knowing where the person lives, provisionally to their authority.
    AffectedPerson.objects.filter(case=case).update(region="DE-BE")
    choice = competent_authority(shop, case)
    assert (choice.authority, choice.basis) == (by_slug["deberlbdi"], Basis.PENDING)
    assert authority_for("DE") is None
    assert "Competence: Federal level" in by_slug["debfdi"].notes

    french = OrganisationFactory(kind=Kind.OPERATOR, country="FR")
    british = OrganisationFactory(kind=Kind.OPERATOR, country="GB")
    american = OrganisationFactory(kind=Kind.OPERATOR, country="US")
    assert competent_authority(french, case).authority == by_slug["frcnil"]
    choice = competent_authority(british, case)
    assert (choice.authority, choice.basis, choice.regime) == (by_slug["gbico"], "seat", "uk_gdpr")
    choice = competent_authority(american, case)
    assert (choice.authority, choice.basis, choice.regime) == (
        by_slug["deberlbdi"],
        "residence",
        "gdpr",
    )
