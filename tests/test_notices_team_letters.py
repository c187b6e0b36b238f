"""A team's own letter texts (takedown.notices.letters, .placeholders): the placeholder rules,
the element check of a text per category and role, versions, activation, reset, and notices
that use the active text and still pass their own element check."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.db import IntegrityError, transaction

from takedown import models as m
from takedown.errors import NotPossible
from takedown.events import staff_sentence
from takedown.notices import letters, placeholders
from takedown.notices.regimes import get_regime
from takedown.notices.render import (
    check_elements,
    notice_context,
    render_notice,
    statements_for,
    template_body,
)
from tests import factories as f
from tests.test_notices_render import NOW, ORG, make_notice

pytestmark = pytest.mark.django_db

GOOD_DSA = (
    "To whom it may concern,\n\n{intro}\n\nOur reference: {case_reference}.\n\n"
    "{statement:legal_basis}\n\n{statements}\n\n{request}\n\n{closing}"
)
# The DSA text without its good-faith statement (DSA Art. 16(2)(d)).
NO_GOOD_FAITH = (
    "To whom it may concern,\n\n{intro}\n\n{statement:legal_basis}\n\n"
    "{statement:deadline}\n\n{request}"
)
GOOD_FAITH = "statement of good-faith belief that the notice is accurate and complete"


@pytest.fixture(autouse=True)
def frozen(settings: Any) -> Iterator[None]:
    settings.TAKEDOWN_ORGANISATION = ORG
    settings.DEFAULT_FROM_EMAIL = "cases@bildschutz.example"
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def admin() -> Any:
    return f.UserFactory(username="ada", is_superuser=True)


def _problems(text: str, regime: str = "dsa") -> list[str]:
    keys = letters.statement_keys(get_regime(regime))
    return [p.message for p in placeholders.problems(text, keys)]


# --- the placeholder language ---------------------------------------------------------------


def test_placeholders_known_ones_pass():
    assert _problems(GOOD_DSA) == []
    assert _problems(letters.STARTER["de"]) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Hello {recipent}", "{recipent} is not a known placeholder."),
        ("{ user.password }", "{ user.password } is not a known placeholder."),
        (
            "{statement:perjury}",
            "{statement:perjury} names no statement of this regime (known: deadline, "
            "good_faith, legal_basis).",
        ),
        (
            "{% load static %}",
            "{% is template syntax, which letter texts do not allow: write placeholders in "
            "single braces, like {organisation}.",
        ),
        (
            "{{ organisation }}",
            "{{ is template syntax, which letter texts do not allow: write placeholders in "
            "single braces, like {organisation}.",
        ),
        ("Price: 5 } euros", "A brace without its partner: placeholders are written {name}."),
    ],
)
def test_placeholders_refused_with_the_token_named(text, message):
    assert message in _problems(text)


def test_fill_is_one_pass_and_never_runs_template_code():
    # A recipient's name from WHOIS that looks like a placeholder or a template tag stays text.
    filled = placeholders.fill(
        "{recipient}: {intro} {statement:good_faith}",
        {"recipient": "{intro} {% debug %}", "intro": "Hi."},
        {"good_faith": "We believe.", "legal_basis": "Illegal."},
    )

    assert filled == "{intro} {% debug %}: Hi. We believe."


def test_statements_placeholder_holds_only_those_not_placed_one_by_one():
    filled = placeholders.fill(
        "{statement:b}|{statements}", {}, {"a": "A.", "b": "B.", "c": "", "d": "D."}
    )

    assert filled == "B.|A.\n\nD."


# --- the element check of a text ----------------------------------------------------------------


def test_starter_text_is_complete_for_every_regime_and_language():
    for code in ("gdpr", "dsa", "uk_gdpr", "uk_osa", "take_it_down", "dmca", "kug"):
        regime = get_regime(code)
        for lang in regime.languages:
            found = letters.check_template(regime, lang, letters.STARTER[lang])
            assert [c for c in found if c.missing] == [], (code, lang)


def test_missing_statement_reported_for_every_combination():
    found = letters.check_template(get_regime("dsa"), "en", NO_GOOD_FAITH)

    assert [(c.category, c.role) for c in found] == [
        (category, role)
        for role in ("site_operator", "hosting")
        for category in ("medical", "intimate", "personal", "other")
    ]
    assert all(c.missing == [GOOD_FAITH] for c in found)


def test_missing_element_reported_only_where_it_is_required():
    # GDPR: the research exception only to dataset maintainers, Art. 9 only for special
    # categories. A text that places everything but those two one by one lacks them just there.
    text = (
        "Dear Sir or Madam,\n\n{intro}\n\n{request}\n\n{statement:legal_basis}\n\n"
        "{statement:inform_controllers}\n\n{statement:access_request}\n\n{statement:deadline}"
        "\n\n{closing}"
    )
    found = {
        (c.category, c.role): c.missing
        for c in letters.check_template(get_regime("gdpr"), "en", text)
    }

    art9 = "special-category argument for health or sex-life data (GDPR Art. 9)"
    research = "why the research exception does not apply (GDPR Art. 17(3)(d))"
    assert found[("personal", "hosting")] == []
    assert found[("medical", "hosting")] == [art9]
    assert found[("personal", "dataset_maintainer")] == [research]
    assert found[("intimate", "dataset_maintainer")] == [art9, research]


def test_deadline_required_even_where_the_regime_does_not_list_it():
    text = "{intro}\n\n{statement:legal_basis}\n\n{statement:good_faith}\n\n{request}"
    found = letters.check_template(get_regime("dsa"), "en", text)

    assert {tuple(c.missing) for c in found} == {("a deadline for the response",)}


# --- versions, activation, reset ----------------------------------------------------------------


def test_incomplete_version_saved_as_draft_and_cannot_be_activated(admin):
    team = f.TeamFactory()
    version = letters.save_template(team, "dsa", "en", NO_GOOD_FAITH, admin)

    assert (version.number, version.complete, version.active) == (1, False, False)
    assert version.element_check["combinations"][0]["missing"] == [GOOD_FAITH]
    with pytest.raises(NotPossible, match="lacks required elements"):
        letters.activate(version, admin)
    assert not m.LetterTemplate.objects.filter(active=True).exists()


def test_refused_text_is_not_stored(admin):
    team = f.TeamFactory()
    with pytest.raises(letters.TemplateRefused) as refused:
        letters.save_template(team, "dsa", "en", "{% include 'x' %}", admin)

    assert [p.token for p in refused.value.problems] == ["{%", "%}"]
    assert m.LetterTemplate.objects.count() == 0


def test_versions_numbered_one_active_history_kept_and_events(admin):
    team = f.TeamFactory()
    first = letters.activate(letters.save_template(team, "dsa", "en", GOOD_DSA, admin), admin)
    second = letters.save_template(team, "dsa", "en", GOOD_DSA + "\n\nThank you.", admin)
    letters.activate(second, admin)
    first.refresh_from_db()

    assert (first.number, second.number) == (1, 2)
    assert (first.active, m.LetterTemplate.objects.get(pk=second.pk).active) == (False, True)
    events = list(m.CaseEvent.objects.filter(kind__startswith="letter_template."))
    assert [(e.kind, e.actor, e.data["version"]) for e in events] == [
        ("letter_template.saved", admin, 1),
        ("letter_template.activated", admin, 1),
        ("letter_template.saved", admin, 2),
        ("letter_template.activated", admin, 2),
    ]
    assert staff_sentence(events[-1]) == (
        "Version 2 of a team's letter text (dsa, en) is now in use."
    )


def test_reset_returns_to_the_built_in_template(admin):
    team = f.TeamFactory()
    notice = make_notice("dsa", case=f.CaseFactory(team=team))
    built_in = template_body(notice)
    letters.activate(letters.save_template(team, "dsa", "en", GOOD_DSA, admin), admin)
    assert template_body(notice) != built_in

    assert letters.reset(team, "dsa", "en", admin) == 1
    assert template_body(notice) == built_in
    assert letters.reset(team, "dsa", "en", admin) == 0
    assert m.LetterTemplate.objects.count() == 1  # the history is kept
    assert m.CaseEvent.objects.filter(kind="letter_template.reset").count() == 1


# --- notices use the team's active text ---------------------------------------------------------


def test_notices_of_the_team_use_its_active_text_and_pass_the_check(admin):
    team = f.TeamFactory()
    ours = make_notice("dsa", case=f.CaseFactory(team=team))
    theirs = make_notice("dsa", case=f.CaseFactory(team=f.TeamFactory()))
    german = make_notice("dsa", case=f.CaseFactory(team=team), language="de")
    letters.activate(letters.save_template(team, "dsa", "en", GOOD_DSA, admin), admin)

    body = template_body(ours)
    assert body.startswith("To whom it may concern,\n\nWe, Bildschutz e.V., submit this notice")
    assert f"Our reference: {ours.case.reference}." in body
    assert body.index(statements_for(ours)["legal_basis"]) < body.index(
        statements_for(ours)["good_faith"]
    )
    assert check_elements(ours) == []
    assert "To whom it may concern" in render_notice(ours, with_pdf=False).text
    # Another team's notice and another language keep the built-in text.
    assert template_body(theirs).startswith("Dear Sir or Madam,")
    assert template_body(german).startswith("Sehr geehrte Damen und Herren,")


def test_reminder_from_the_active_text_passes_the_check(admin):
    team = f.TeamFactory()
    letters.activate(letters.save_template(team, "gdpr", "en", letters.STARTER["en"], admin), admin)
    first = make_notice("gdpr", case=f.CaseFactory(team=team), role="site_operator")
    reminder = make_notice(
        "gdpr",
        case=first.case,
        role="site_operator",
        kind="reminder",
        parent=first,
        links=0,
        mandate=False,
    )
    reminder.links.set(first.links.all())

    assert check_elements(reminder) == []
    assert "reminder" in template_body(reminder)


def test_own_opening_keeps_the_reminder_sentence_with_its_placeholder(admin):
    team = f.TeamFactory()
    text = "{reminder}\n\nWe write about images of a person we represent.\n\n{statements}"
    letters.activate(letters.save_template(team, "dsa", "en", text, admin), admin)
    first = make_notice("dsa", case=f.CaseFactory(team=team))
    reminder = make_notice(
        "dsa", case=first.case, kind="reminder", parent=first, links=0, mandate=False
    )
    reminder.links.set(first.links.all())

    assert template_body(first).startswith("We write about images")
    assert template_body(reminder).startswith("This is a reminder: we wrote to you about")


def test_activation_checks_again(admin):
    """A version is checked again when it is activated (the built-in statements may have
    changed since it was saved): a stored "complete" is not trusted."""
    team = f.TeamFactory()
    version = letters.save_template(team, "dsa", "en", GOOD_DSA, admin)
    assert version.complete
    m.LetterTemplate.objects.filter(pk=version.pk).update(text=NO_GOOD_FAITH)
    version.refresh_from_db()

    with pytest.raises(NotPossible):
        letters.activate(version, admin)
    version.refresh_from_db()
    assert (version.complete, version.active) == (False, False)


def test_changing_the_text_withdraws_approvals_of_unedited_unsent_notices(admin):
    team = f.TeamFactory()
    approved = make_notice("dsa", case=f.CaseFactory(team=team), status="approved")
    queued = make_notice("dsa", case=f.CaseFactory(team=team), status="queued")
    in_review = make_notice("dsa", case=f.CaseFactory(team=team), status="in_review")
    edited = make_notice(
        "dsa", case=f.CaseFactory(team=team), status="approved", body_text="Our own words."
    )
    german = make_notice("dsa", case=f.CaseFactory(team=team), status="approved", language="de")
    other_team = make_notice("dsa", case=f.CaseFactory(team=f.TeamFactory()), status="approved")
    other_regime = make_notice("gdpr", case=f.CaseFactory(team=team), status="approved")

    version = letters.activate(letters.save_template(team, "dsa", "en", GOOD_DSA, admin), admin)

    def status(notice: m.Notice) -> str:
        return m.Notice.objects.get(pk=notice.pk).status

    assert [status(n) for n in (approved, queued)] == ["draft", "draft"]
    assert [status(n) for n in (in_review, edited, german, other_team, other_regime)] == [
        "in_review",
        "approved",
        "approved",
        "approved",
        "approved",
    ]
    event = m.CaseEvent.objects.get(kind="letter_template.activated")
    assert sorted(event.data["withdrawn"]) == sorted([approved.pk, queued.pk])
    assert m.Notice.objects.get(pk=approved.pk).element_check == {
        "missing": [],
        "complete": True,
    }
    # Reset withdraws again (the text changes back).
    m.Notice.objects.filter(pk=approved.pk).update(status="approved")
    letters.reset(team, "dsa", "en", admin)
    assert status(approved) == "draft"
    assert version.pk  # the version stays


def test_database_refuses_a_second_active_version(admin):
    """The backstop behind activate's transaction: one active version per team, regime and
    language, whatever interleaves."""
    team = f.TeamFactory()
    first = letters.activate(letters.save_template(team, "dsa", "en", GOOD_DSA, admin), admin)
    second = letters.save_template(team, "dsa", "en", GOOD_DSA, admin)

    with pytest.raises(IntegrityError), transaction.atomic():
        m.LetterTemplate.objects.filter(pk=second.pk).update(active=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        m.LetterTemplate.objects.create(team=team, regime="dsa", language="en", number=1, text="x")
    assert list(m.LetterTemplate.objects.filter(active=True)) == [first]


def test_sample_context_has_every_key_of_a_notices_context():
    """The check renders the built-in pieces with sample data: a key notice_context gains must
    be given a sample value too, or the preview and the check would read a blank."""
    notice = make_notice("gdpr", role="dataset_maintainer")
    sample = letters.sample_context(get_regime("gdpr"), "en", "medical", "dataset_maintainer")

    assert set(notice_context(notice)) - set(sample) == set()
