"""Markup in data that strangers control (captions, entry ids, URL query strings, organisation
names from WHOIS, RDAP and directory imports) is shown as text on every page that previews a
notice, and in the PDF: it never runs in the reviewer's browser or hides part of a letter."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils.safestring import SafeData
from pypdf import PdfReader

from takedown.models import Notice, RecipientRole
from takedown.notices.render import notice_pdf, render_notice, template_body
from tests.factories import (
    CaseFactory,
    FoundLinkFactory,
    HostFactory,
    NoticeFactory,
    OrganisationFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

META = '<meta http-equiv="refresh" content="0;url=http://127.0.0.1:1/">'
META_ESCAPED = (
    "&lt;meta http-equiv=&quot;refresh&quot; content=&quot;0;url=http://127.0.0.1:1/&quot;&gt;"
)
BOLD = "<b>hidden</b>"
BOLD_ESCAPED = "&lt;b&gt;hidden&lt;/b&gt;"


def member(username: str, role: str, team):
    user = UserFactory(username=username)
    user.groups.add(Group.objects.get(name=role))
    team.members.add(user)
    return user


@pytest.fixture
def hostile_notice() -> Notice:
    """A notice to a dataset maintainer (so entry ids and captions are in the letter) where
    every stranger-supplied field carries a refresh tag and markup."""
    team = TeamFactory(name="Berlin")
    author = member("carla", "caseworker", team)
    case = CaseFactory(team=team, assigned_to=author)
    maintainer = OrganisationFactory(name=f"LAION e.V. {META}{BOLD}", country="DE")
    host = HostFactory(hostname="img.example.com")
    link = FoundLinkFactory(
        case=case,
        host=host,
        url=f"https://img.example.com/a.jpg?q={BOLD}{META}",
        entry_id=f"{BOLD}{META}",
        caption=f"holiday {META} {BOLD}",
        dataset="laion-5b",
    )
    notice = NoticeFactory(
        case=case,
        recipient=maintainer,
        recipient_role=RecipientRole.DATASET_MAINTAINER,
        created_by=author,
    )
    notice.links.set([link])
    return notice


def assert_escaped(page: str, *, occurrences: int) -> None:
    assert META not in page
    assert BOLD not in page
    assert page.count(META_ESCAPED) >= occurrences
    assert page.count(BOLD_ESCAPED) >= occurrences


def test_rendered_texts_are_plain_strings_not_marked_safe(hostile_notice):
    rendered = render_notice(hostile_notice, with_pdf=False)

    for text in (rendered.subject, rendered.text, rendered.html, template_body(hostile_notice)):
        assert type(text) is str
        assert not isinstance(text, SafeData)
    # The plain text is exact (a recipient reads the caption as the dataset lists it) ...
    assert f"holiday {META} {BOLD}" in rendered.text
    # ... and the HTML e-mail escapes it.
    assert META not in rendered.html
    assert f"holiday {META_ESCAPED} {BOLD_ESCAPED}" in rendered.html


def test_staff_notice_page_shows_hostile_fields_escaped(client, hostile_notice):
    client.force_login(hostile_notice.created_by)

    response = client.get(
        reverse("staff:notice", args=[hostile_notice.case.reference, hostile_notice.pk])
    )

    assert response.status_code == 200
    page = response.content.decode()
    # Organisation (header, facts, letter), URL, entry id and caption in the letter text.
    assert_escaped(page, occurrences=5)
    assert f"holiday {META_ESCAPED} {BOLD_ESCAPED}" in page


def test_reviewer_notice_page_shows_hostile_fields_escaped(client, hostile_notice):
    reviewer = member("rita", "reviewer", hostile_notice.case.team)
    client.force_login(reviewer)

    response = client.get(reverse("review:notice", args=[hostile_notice.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert_escaped(page, occurrences=5)
    assert f"holiday {META_ESCAPED} {BOLD_ESCAPED}" in page


def test_pdf_prints_markup_as_text(hostile_notice):
    """WeasyPrint renders HTML: escaped markup comes out as the characters themselves, where
    unescaped markup would be bold, or would vanish."""
    content = notice_pdf(hostile_notice)

    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    assert "<b>hidden</b>" in text
    assert "LAION e.V. <meta" in text


def test_results_charts_escape_organisation_names(client):
    """The charts are the one place that marks markup safe (charts.py builds SVG by hand):
    every name in them is escaped."""
    from datetime import timedelta

    from django.utils import timezone

    from takedown.models import FoundLink, NoticeLink

    team = TeamFactory(name="Berlin")
    reviewer = member("rita", "reviewer", team)
    hoster = OrganisationFactory(name=f"Hoster {META}{BOLD}", country="NL")
    case = CaseFactory(team=team)
    sent_at = timezone.now() - timedelta(days=3)
    link = FoundLinkFactory(
        case=case, status=FoundLink.Status.REMOVED, removed_at=sent_at + timedelta(hours=30)
    )
    sent = NoticeFactory(
        case=case,
        recipient=hoster,
        status=Notice.Status.SENT,
        sent_at=sent_at,
        outcome=Notice.Outcome.COMPLIED,
    )
    NoticeLink.objects.create(notice=sent, link=link)
    client.force_login(reviewer)

    page = client.get(reverse("review:results")).content.decode()

    # The scoreboard table, the bar's label, its tooltip and the chart's description.
    assert_escaped(page, occurrences=3)
