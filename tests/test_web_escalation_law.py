"""The caseworker's and the person's screens for StGB §77b and complaint consent."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from takedown.complaint_period import record_knowledge
from takedown.models import AffectedPerson, Case, CaseEvent, Notice, Organisation
from tests.factories import CaseFactory, NoticeFactory, OrganisationFactory, TeamFactory
from tests.test_web_staff import caseworker

pytestmark = pytest.mark.django_db


def at(*args: int) -> datetime:
    return timezone.make_aware(datetime(*args))


@pytest.fixture
def team():
    return TeamFactory(name="Berlin")


@pytest.fixture
def carla(team):
    return caseworker("carla", team)


def test_queue_flags_german_cases_within_14_days_of_the_complaint_deadline(client, team, carla):
    near = CaseFactory(team=team)  # the person lives in Germany
    far = CaseFactory(team=team)
    foreign = CaseFactory(team=team)
    AffectedPerson.objects.filter(case=foreign).update(country="FR")
    with time_machine.travel(at(2027, 6, 5, 10), tick=False):
        record_knowledge(near, act_on=date(2027, 3, 15))  # by 15 June
        record_knowledge(far, act_on=date(2027, 5, 1))  # by 2 August
        record_knowledge(foreign, act_on=date(2027, 3, 15))
        client.force_login(carla)
        html = client.get(reverse("staff:queue")).content.decode()
    assert html.count("criminal complaint by") == 1
    row = html[html.index(near.reference) :]
    assert row.index("criminal complaint by 2027-06-15") < row.index("</tr>")


def test_case_page_records_the_day_of_knowledge_and_shows_the_deadline(client, team, carla):
    case = CaseFactory(team=team, category=Case.Category.INTIMATE)
    url = reverse("staff:knowledge", args=[case.reference])
    with time_machine.travel(at(2027, 4, 1, 10), tick=False):
        client.force_login(carla)
        page = client.get(reverse("staff:case", args=[case.reference])).content.decode()
        assert "ask when the person learned of the images" in page
        page = client.post(
            url, {"act_on": "2027-03-15", "offender_on": "2027-03-20"}, follow=True
        ).content.decode()
        refused = client.post(
            url, {"act_on": "2027-03-15", "offender_on": "2027-03-01"}, follow=True
        ).content.decode()
    assert "Recorded. A criminal complaint must be filed by 2027-06-15." in page
    assert "by 2027-06-15</span> § 33 KUG, § 201a StGB, § 184k StGB" in page
    assert "cannot be before the day they learned of the images" in refused
    case.refresh_from_db()
    assert case.learned_of_offender_on == date(2027, 3, 20)


def test_case_page_records_and_withdraws_consent(client, team, carla):
    case = CaseFactory(team=team)
    client.force_login(carla)
    client.post(reverse("staff:consent", args=[case.reference]), {"how": "phone call"})
    case.refresh_from_db()
    assert (case.complaint_consent_how, case.complaint_consent_recorded_by) == (
        "phone call",
        carla,
    )
    page = client.get(reverse("staff:case", args=[case.reference])).content.decode()
    assert "phone call (recorded by carla)" in page
    client.post(reverse("staff:consent", args=[case.reference]), {"withdraw": "1"})
    case.refresh_from_db()
    assert case.complaint_consent_at is None
    assert list(
        CaseEvent.objects.filter(case=case, kind="case.complaint_consent").values_list(
            "message", flat=True
        )
    ) == [
        "You agreed to be named as the complainant in a complaint to a data-protection authority.",
        "You withdrew your agreement to be named in a complaint to a data-protection authority.",
    ]


def test_notice_page_addresses_a_complaint_draft_to_the_chosen_authority(client, team, carla):
    case = CaseFactory(team=team)
    berlin = OrganisationFactory(
        name="Berliner Beauftragte", kind=Organisation.Kind.DPA, country="DE", supervises=["DE-BE"]
    )
    bavaria = OrganisationFactory(
        name="BayLDA", kind=Organisation.Kind.DPA, country="DE", supervises=["DE-BY"]
    )
    complaint = NoticeFactory(
        case=case,
        kind=Notice.Kind.COMPLAINT,
        recipient=berlin,
        recipient_role="dpa",
        regime="gdpr",
        authority_basis=Notice.AuthorityBasis.PENDING,
    )
    client.force_login(carla)
    url = reverse("staff:notice", args=[case.reference, complaint.pk])
    page = client.get(url).content.decode()
    assert 'id="choose-authority"' in page and "To be chosen by the caseworker." in page
    response = client.post(
        reverse("staff:authority", args=[case.reference, complaint.pk]),
        {"authority": bavaria.pk},
        follow=True,
    )
    assert "Authority chosen." in response.content.decode()
    complaint.refresh_from_db()
    assert (complaint.recipient, complaint.authority_basis, complaint.language) == (
        bavaria,
        Notice.AuthorityBasis.CHOSEN,
        "de",
    )
    assert "the competent authority, chosen by the caseworker" not in " ".join(
        complaint.element_check["missing"]
    )


def test_new_case_form_records_the_state_and_the_day_of_knowledge(client, team, carla):
    with time_machine.travel(at(2027, 4, 1, 10), tick=False):
        client.force_login(carla)
        response = client.post(
            reverse("staff:new"),
            {
                "category": "intimate",
                "team": team.pk,
                "country": "de",
                "region": "by",
                "language": "de",
                "learned_of_act_on": "2027-03-15",
            },
        )
        assert response.status_code == 302
        refused = client.post(
            reverse("staff:new"),
            {"category": "intimate", "team": team.pk, "region": "DE-XX", "language": "de"},
        )
    case = Case.objects.get()
    assert (case.person.country, case.person.region, case.learned_of_act_on) == (
        "DE",
        "DE-BY",
        date(2027, 3, 15),
    )
    assert "DE has no region XX" in refused.content.decode()
