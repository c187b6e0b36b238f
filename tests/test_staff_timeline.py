"""The staff timeline speaks: a sentence for every event kind the code writes, and the rows of
one bulk change folded into one line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse

from takedown.events import EVENT_TEXTS, STAFF_TEXTS, staff_sentence
from takedown.models import CaseEvent, FoundLink
from takedown.web.staff.timeline import timeline_rows
from takedown.workflow import TRANSITIONS, record_event, transition_many
from tests.factories import (
    CaseFactory,
    FoundLinkFactory,
    NoticeFactory,
    OrganisationFactory,
    TeamFactory,
    UserFactory,
)

SOURCE = Path(__file__).resolve().parents[1] / "takedown"


def kinds_in_the_code() -> set[str]:
    """Every event kind written by record_event / _record with a literal, and every status
    change of the transition table (written as '<model>.<status>')."""
    kinds: set[str] = set()
    pattern = re.compile(r'(?:record_event|_record)\(\s*[\w.]+,\s*"([a-z_]+\.[a-z_]+)"')
    for path in SOURCE.rglob("*.py"):
        kinds.update(pattern.findall(path.read_text()))
    for model, table in TRANSITIONS.items():
        kinds.update(f"{model.__name__.lower()}.{status}" for status in table)
    kinds.update({"task.manual_legal_step_done", "dataset.release_compared", "mail.refused"})
    return kinds


def test_every_event_kind_has_a_sentence():
    kinds = kinds_in_the_code()

    # A kind that always carries a sentence has "kind:variant" keys in EVENT_TEXTS.
    variants = {key.split(":")[0] for key in EVENT_TEXTS}
    missing = sorted(k for k in kinds if k not in STAFF_TEXTS | EVENT_TEXTS.keys() | variants)

    assert len(kinds) > 60
    assert missing == []


@pytest.mark.django_db
def test_a_status_change_without_a_message_reads_a_sentence_not_a_code():
    case = CaseFactory()
    event = record_event(case, "mail.handover", data={"recipient": "abuse@hoster.example"})

    assert staff_sentence(event) == "The notice was being handed to the mail server."


@pytest.mark.django_db
def test_links_notified_in_bulk_are_one_line_per_notice(client):
    case = CaseFactory()
    notice = NoticeFactory(case=case, recipient=OrganisationFactory(name="Demo Hosting GmbH"))
    other = NoticeFactory(case=case, recipient=OrganisationFactory(name="LAION e.V."))
    links = [FoundLinkFactory(case=case) for _ in range(12)]
    ids = [link.pk for link in links]
    transition_many(
        FoundLink,
        ids[:11],
        [FoundLink.Status.FOUND],
        FoundLink.Status.NOTIFIED,
        data={"notice": notice.pk},
    )
    transition_many(
        FoundLink,
        ids[11:],
        [FoundLink.Status.FOUND],
        FoundLink.Status.NOTIFIED,
        data={"notice": other.pk},
    )
    events = CaseEvent.objects.filter(case=case).order_by("-at", "-pk")

    rows = timeline_rows(events)

    assert [(row.text, row.count) for row in rows] == [
        ("A notice about this link was sent.", 1),
        ("11 links notified to Demo Hosting GmbH.", 11),
    ]


@pytest.mark.django_db
def test_timeline_page_shows_sentences_and_notes(client, django_user_model):
    from django.contrib.auth.models import Group

    case = CaseFactory(team=TeamFactory())
    user = UserFactory(username="carla")
    user.groups.add(Group.objects.get(name="caseworker"))
    case.team.members.add(user)
    record_event(
        case,
        "portal.deletion_handled",
        actor=user,
        message="Deletion request handled: all copies deleted",
    )
    client.force_login(user)

    page = client.get(reverse("staff:timeline", args=[case.reference])).content.decode()

    assert "A deletion request was handled." in page
    assert "(Deletion request handled: all copies deleted)" in page
    assert "portal.deletion_handled" not in page
