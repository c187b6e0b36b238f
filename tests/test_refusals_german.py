"""A refusal reaches the person who asked in their language, through the real pages: a German
reviewer or admin reads German sentences, an English one English (tests/test_refusals_translated.py
checks the source; this checks what a page shows)."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from takedown.models import Case, Notice
from takedown.workflow import transition
from tests.factories import (
    CaseFactory,
    FoundLinkFactory,
    NoticeFactory,
    TeamFactory,
    UserFactory,
)
from tests.test_web_review import member, shown, submitted_notice

pytestmark = pytest.mark.django_db


@pytest.fixture
def berlin():
    return TeamFactory(name="Berlin")


@pytest.fixture
def carla(berlin):
    return member("carla", "caseworker", berlin)


@pytest.fixture
def rita(berlin):
    return member("rita", "reviewer", berlin)


def _browser(user, language: str) -> Client:
    browser = Client(HTTP_ACCEPT_LANGUAGE=language)
    browser.force_login(user)
    return browser


def _errors(response) -> list[str]:
    return [str(m) for m in response.context["messages"] if m.level_tag == "error"]


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "de",
            "Nicht freigegeben: eine Meldung muss von einer anderen Person freigegeben werden "
            "als der, die sie verfasst hat.",
        ),
        ("en", "Not approved: a notice must be approved by someone other than its author."),
    ],
)
def test_approving_ones_own_notice_is_refused_in_the_reviewers_language(
    berlin, rita, language, expected
):
    own = submitted_notice(berlin, rita)
    browser = _browser(rita, language)

    response = browser.post(
        reverse("review:approve", args=[own.pk]), shown(browser, own), follow=True
    )

    assert _errors(response) == [expected]
    own.refresh_from_db()
    assert own.status == Notice.Status.IN_REVIEW


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "de",
            "Nicht freigegeben: die Meldung ist nicht mehr in Prüfung (ihr Status ist „Entwurf“).",
        ),
        ("en", "Not approved: the notice is no longer in review (it is “Draft”)."),
    ],
)
def test_approving_a_notice_no_longer_in_review_says_so_in_the_reviewers_language(
    berlin, carla, rita, language, expected
):
    notice = submitted_notice(berlin, carla)
    browser = _browser(rita, language)
    seen = shown(browser, notice)
    # The author takes it back while the reviewer reads it.
    transition(notice, Notice.Status.DRAFT, actor=carla)

    response = browser.post(reverse("review:approve", args=[notice.pk]), seen, follow=True)

    assert _errors(response) == [expected]
    notice.refresh_from_db()
    assert notice.status == Notice.Status.DRAFT


def test_a_staff_refusal_follows_the_users_chosen_language(berlin, carla):
    case = CaseFactory(team=berlin, assigned_to=carla)
    browser = _browser(carla, "en")
    browser.post(reverse("staff:language"), {"language": "de"})

    response = browser.post(
        reverse("staff:reopen", args=[case.reference]), {"reason": "Neue Fundstellen"}, follow=True
    )

    assert _errors(response) == [
        "Der Fall ist weder abgeschlossen noch zurückgezogen: Es gibt nichts wiederzueröffnen."
    ]


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "de",
            "Fall {ref} hat den Status „Abgeschlossen“: Er kann nicht auf „Pausiert“ gesetzt"
            " werden.",
        ),
        ("en", "Case {ref} is “Closed”: it cannot be set to “Paused”."),
    ],
)
def test_a_transition_the_table_forbids_is_refused_in_words(language, expected):
    """The admin moves cases through the one transition function: a move the table forbids
    names the statuses as the pages do, not "closed -> paused"."""
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    case = CaseFactory(status=Case.Status.CLOSED)
    browser = _browser(root, language)

    response = browser.post(
        reverse("admin:takedown_case_changelist"),
        {"action": "pause_cases", "_selected_action": [case.pk]},
        follow=True,
    )

    assert [str(m) for m in response.context["messages"]] == [expected.format(ref=case.reference)]
    case.refresh_from_db()
    assert case.status == Case.Status.CLOSED


def test_the_admins_notice_actions_report_in_german():
    """The admin's notice actions: each refusal with the notice's number, and the count done,
    in German; not "Notice 12: Meldung ..." nor "1 notices done"."""
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    other = UserFactory(username="rita", is_staff=True)
    link = FoundLinkFactory()
    own, theirs = (
        NoticeFactory(
            case=link.case, status=Notice.Status.IN_REVIEW, created_by=author, regime="dsa"
        )
        for author in (root, other)
    )
    for notice in (own, theirs):
        notice.links.add(link)
    browser = _browser(root, "de")

    response = browser.post(
        reverse("admin:takedown_notice_changelist"),
        {"action": "approve", "_selected_action": [own.pk, theirs.pk]},
        follow=True,
    )

    assert [str(m) for m in response.context["messages"]] == [
        f"Meldung {own.pk}: eine Meldung muss von einer anderen Person freigegeben werden als"
        " der, die sie verfasst hat",
        "1 Meldung erledigt.",
    ]


def test_a_commands_refusal_stays_english(carla):
    """Commands run in LANGUAGE_CODE (en): their refusals are English, as their other output."""
    case = CaseFactory(status=Case.Status.CLOSED)

    with pytest.raises(CommandError) as refused:
        call_command("close_case", "--case", case.reference, "--reason", "done", "--as", "carla")

    assert str(refused.value) == f"case {case.reference} is “Closed”: it cannot be closed"
