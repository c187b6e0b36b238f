"""StGB §77b: the person's three months for a criminal complaint, tracked on the case."""

from __future__ import annotations

import json
from datetime import date
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone

from takedown.complaint_period import (
    KnowledgeError,
    deadline_from,
    deadline_of,
    is_german,
    needs_date,
    record_knowledge,
)
from takedown.models import AffectedPerson, Case, CaseEvent, HostResolution, Organisation
from tests.factories import (
    CaseFactory,
    FoundLinkFactory,
    HostFactory,
    OrganisationFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("learned", "last_day", "moved"),
    [
        # The day of knowledge is not counted; the period ends with the same day three months on.
        (date(2027, 3, 15), date(2027, 6, 15), []),
        # 15 August 2027 is a Sunday: the next working day (§77b(1) sentence 2).
        (date(2027, 5, 15), date(2027, 8, 16), ["2027-08-15"]),
        # No 30 February: the month's last day, a Sunday in 2027, moves to Monday 1 March.
        (date(2026, 11, 30), date(2027, 3, 1), ["2027-02-28"]),
        # Good Friday, Saturday, Sunday and Easter Monday 2027.
        (
            date(2026, 12, 26),
            date(2027, 3, 30),
            ["2027-03-26", "2027-03-27", "2027-03-28", "2027-03-29"],
        ),
        # Epiphany is a holiday in three states only: a "general" holiday where the complaint is
        # filed cannot be known, so only nationwide holidays move the end (never too late).
        (date(2026, 10, 6), date(2027, 1, 6), []),
    ],
)
def test_deadline_from_counts_three_months_and_moves_off_weekends_and_holidays(
    learned, last_day, moved
):
    deadline = deadline_from(learned, Case.Category.INTIMATE)
    assert deadline.last_day == last_day
    assert [skip.day.isoformat() for skip in deadline.moved_for] == moved
    assert deadline.ends.isoformat().startswith(f"{last_day.isoformat()}T23:59:59")
    assert str(deadline.ends.tzinfo) == "Europe/Berlin"
    assert deadline.offences == ("§ 33 KUG", "§ 201a StGB", "§ 184k StGB")


def test_offences_follow_the_category():
    assert deadline_from(date(2027, 3, 15), Case.Category.MEDICAL).offences == (
        "§ 33 KUG",
        "§ 201a StGB",
    )
    assert deadline_from(date(2027, 3, 15), Case.Category.PERSONAL).offences == ("§ 33 KUG",)


def test_deadline_of_a_german_case_from_the_recorded_day():
    case = CaseFactory(category=Case.Category.INTIMATE)  # the person lives in Germany
    assert needs_date(case) is True
    assert deadline_of(case) is None
    with time_machine.travel(timezone.make_aware(timezone.datetime(2027, 4, 1, 10)), tick=False):
        deadline = record_knowledge(
            case, act_on=date(2027, 3, 15), offender_on=date(2027, 3, 20), actor=UserFactory()
        )
    assert deadline is not None and deadline.last_day == date(2027, 6, 15)
    case.refresh_from_db()
    assert (case.learned_of_act_on, case.learned_of_offender_on) == (
        date(2027, 3, 15),
        date(2027, 3, 20),
    )
    assert needs_date(case) is False
    assert deadline_of(case) == deadline
    assert deadline.due_soon(date(2027, 6, 1)) is True
    assert deadline.due_soon(date(2027, 5, 31)) is False
    assert deadline.passed(date(2027, 6, 16)) is True
    event = CaseEvent.objects.get(case=case, kind="case.knowledge_recorded")
    assert event.message == (
        "Learned of the act on 2027-03-15, of the offender on 2027-03-20; criminal complaint "
        "(StGB §77b) by 2027-06-15."
    )
    assert event.visible_to_person is False


def test_a_case_is_german_by_the_person_or_a_publishing_party():
    case = CaseFactory()
    AffectedPerson.objects.filter(case=case).update(country="FR")
    case.learned_of_act_on = date(2027, 3, 15)
    assert is_german(case) is False
    assert deadline_of(case) is None
    host = HostFactory(hostname="img.berlin.example")
    operator = OrganisationFactory(kind=Organisation.Kind.OPERATOR, country="DE")
    host.current = HostResolution.objects.create(host=host, operator=operator)
    host.save()
    FoundLinkFactory(case=case, host=host)
    assert is_german(case) is True
    assert deadline_of(case) is not None


@pytest.mark.parametrize(
    ("act", "offender", "message"),
    [
        (date(2099, 1, 1), None, "cannot be in the future"),
        (
            date(2027, 3, 15),
            date(2027, 3, 1),
            "cannot be before the day they learned of the images",
        ),
    ],
)
def test_record_knowledge_refuses_impossible_dates(act, offender, message):
    case = CaseFactory()
    with (
        time_machine.travel(timezone.make_aware(timezone.datetime(2027, 4, 1, 10)), tick=False),
        pytest.raises(KnowledgeError, match=message),
    ):
        record_knowledge(case, act_on=act, offender_on=offender)
    case.refresh_from_db()
    assert case.learned_of_act_on is None


def test_legal_facts_command_records_and_prints_the_deadline():
    case = CaseFactory(category=Case.Category.MEDICAL)
    out = StringIO()
    with time_machine.travel(timezone.make_aware(timezone.datetime(2027, 4, 1, 10)), tick=False):
        call_command(
            "legal_facts", case.reference, "--learned-of-act", "2027-03-15", "--json", stdout=out
        )
    assert json.loads(out.getvalue()) == {
        "case": case.reference,
        "learned_of_act_on": "2027-03-15",
        "learned_of_offender_on": None,
        "german": True,
        "criminal_complaint_by": "2027-06-15",
        "offences": ["§ 33 KUG", "§ 201a StGB"],
        "complaint_consent": None,
    }
    with pytest.raises(CommandError, match="cannot be in the future") as raised:
        call_command("legal_facts", case.reference, "--learned-of-act", "2999-01-01")
    assert raised.value.returncode == 2
    with pytest.raises(CommandError, match="not a date") as raised:
        call_command("legal_facts", case.reference, "--learned-of-act", "15.3.2027")
    assert raised.value.returncode == 2


def test_legal_facts_command_records_consent():
    case = CaseFactory()
    UserFactory(username="kim")
    out = StringIO()
    call_command(
        "legal_facts", case.reference, "--consent", "signed form", "--as", "kim", stdout=out
    )
    case.refresh_from_db()
    assert case.complaint_consent_how == "signed form"
    assert case.complaint_consent_recorded_by.username == "kim"
    assert "consent to be named in a complaint: signed form" in out.getvalue()
    call_command("legal_facts", case.reference, "--withdraw-consent", stdout=out)
    case.refresh_from_db()
    assert case.complaint_consent_at is None


def test_import_links_create_records_the_case_options(tmp_path):
    urls = tmp_path / "urls.txt"
    urls.write_text("https://img.example.net/a.jpg\n", encoding="utf-8")
    with time_machine.travel(timezone.make_aware(timezone.datetime(2027, 4, 1, 10)), tick=False):
        call_command(
            "import_links",
            "--case",
            "TD-2027-0900",
            "--create",
            "--category",
            "intimate",
            "--country",
            "de",
            "--region",
            "BY",
            "--learned-of-act",
            "2027-03-15",
            str(urls),
            "--json",
            stdout=StringIO(),
        )
    case = Case.objects.get(reference="TD-2027-0900")
    assert (case.category, case.person.country, case.person.region) == ("intimate", "DE", "DE-BY")
    assert deadline_of(case).last_day == date(2027, 6, 15)
    assert case.links.count() == 1
    # Case options open a case; they never change an existing one behind the caseworker's back.
    with pytest.raises(CommandError, match="--learned-of-act only opens a new case") as raised:
        call_command(
            "import_links", "--case", "TD-2027-0900", "--learned-of-act", "2027-03-01", str(urls)
        )
    assert raised.value.returncode == 2
    with pytest.raises(CommandError, match="DE has no region XX") as raised:
        call_command(
            "import_links", "--case", "TD-2027-0901", "--create", "--region", "DE-XX", str(urls)
        )
    assert not Case.objects.filter(reference="TD-2027-0901").exists()
