"""Issue 12, the letters: the mandate as the basis of representation, offences named only
under their conditions, KUG within reach, minors, Art. 15, dataset entry ids, the DMCA agent."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import Permission
from pypdf import PdfReader

from takedown import models as m
from takedown.notices.generate import generate_notices
from takedown.notices.render import check_elements, render_notice, template_body
from takedown.notices.review import ReviewError, approve, edit, submit_for_review
from tests import factories as f
from tests.test_notices_render import NOW, ORG, make_notice

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen(settings: Any) -> Iterator[None]:
    settings.TAKEDOWN_ORGANISATION = ORG
    settings.DEFAULT_FROM_EMAIL = "cases@bildschutz.example"
    with time_machine.travel(NOW, tick=False):
        yield


# --- representation rests on the power of attorney ---------------------------------------------


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("role", ["hosting", "site_operator", "dataset_maintainer"])
def test_gdpr_request_rests_on_power_of_attorney_not_art_80(language: str, role: str) -> None:
    notice = make_notice("gdpr", role=role, language=language)
    text = render_notice(notice, with_pdf=False).text
    assert "Art. 80" not in text
    expected = {
        "en": "We act for the person depicted in it under a written power of attorney to"
        " exercise their rights as a data subject on their behalf, dated 6 March 2026, which"
        " we will present to you on request.",
        "de": "Wir vertreten die darauf abgebildete Person aufgrund schriftlicher Vollmacht,"
        " ihre Rechte als betroffene Person in ihrem Namen geltend zu machen; die Vollmacht vom"
        " 6. März 2026 legen wir Ihnen auf Verlangen vor.",
    }[language]
    assert expected in " ".join(text.split())
    assert check_elements(notice) == []


# --- the four-eyes review --------------------------------------------------------------------


def _reviewer(username: str = "rita") -> Any:
    user = f.UserFactory(username=username)
    user.user_permissions.add(Permission.objects.get(codename="review_notice"))
    return user


def test_submit_for_review_refuses_a_draft_missing_an_element() -> None:
    notice = make_notice("gdpr", mandate=False)
    with pytest.raises(
        ReviewError,
        match="cannot submit for review: missing a signed mandate from the affected person on file",
    ):
        submit_for_review(notice, notice.created_by)
    notice.refresh_from_db()
    assert notice.status == "draft"
    assert notice.element_check == {
        "missing": ["a signed mandate from the affected person on file"],
        "complete": False,
    }


def test_dmca_edited_after_disclosure_confirmed_stays_approvable() -> None:
    notice = make_notice("dmca", role="hosting", category="personal", owns_copyright=True)
    agent = f.ContactFactory(organisation=notice.recipient, purpose="copyright")
    m.Notice.objects.filter(pk=notice.pk).update(contact=agent, to_address=agent.value)
    notice.refresh_from_db()
    author, rita = notice.created_by, _reviewer()
    submit_for_review(notice, author)
    approve(notice, rita, confirm_disclosure=True)
    notice.refresh_from_db()
    body = template_body(notice)
    assert "Alex Example" in body

    edit(notice, author, body_text=body.replace("Please remove", "Please remove at once"))
    notice.refresh_from_db()
    assert "Please remove at once" in notice.body_text
    assert notice.element_check["missing"] == [
        "the affected person's name, with the disclosure confirmed by a reviewer"
    ]
    submit_for_review(notice, author)
    approve(notice, rita, confirm_disclosure=True)

    notice.refresh_from_db()
    assert (notice.status, notice.disclosure_confirmed_by) == ("approved", rita)


# --- PDFs wrap long entry ids and URLs --------------------------------------------------------


def _cell_text(content: bytes, starts: str) -> str:
    """The whole text of the table cell that begins with `starts`, however it wraps over lines
    and pages: its first line, then every later line drawn at the left edge of its second line
    (other cells and page footers drawn between its lines stay out; text cut off or drawn over
    the next column would be missing)."""
    fragments: list[tuple[float, str]] = []
    for page in PdfReader(io.BytesIO(content)).pages:
        page.extract_text(
            visitor_text=lambda text, cm, tm, font, size: fragments.append((tm[4], text.strip()))
        )
    first = next(n for n, (_, text) in enumerate(fragments) if starts in text)
    head = fragments[first][1]
    edge = fragments[first + 1][0]
    rest = [text for x, text in fragments[first + 1 :] if abs(x - edge) < 0.5]
    return head[head.index(starts) :] + "".join(rest)


def test_pdf_wraps_a_long_entry_id_and_url_intact() -> None:
    entry_id = "e" + "0123456789abcdef" * 3 + "0123456789abcde"
    url = "https://img.example.net/" + "a1b2c3d4e5" * 297 + "xy.jpg"
    assert (len(entry_id), len(url)) == (64, 3000)
    notice = make_notice("gdpr", role="dataset_maintainer", category="personal", links=0)
    link = f.FoundLinkFactory(case=notice.case, url=url, dataset="laion-5b", entry_id=entry_id)
    notice.links.add(link)

    pdf = render_notice(notice).attachments[-1]

    assert pdf.mimetype == "application/pdf"
    assert _cell_text(pdf.content, entry_id[:4]) == entry_id
    assert _cell_text(pdf.content, url[:20]) == url


# --- DMCA notices go to the designated agent only ------------------------------------------------


def test_dmca_draft_without_designated_agent_is_blocked() -> None:
    case = f.CaseFactory(category="personal", owns_copyright=True, person__country="US")
    f.MandateFactory(case=case)
    host = f.OrganisationFactory(name="Imgur", kind="platform", country="US")
    abuse = f.ContactFactory(organisation=host, purpose="abuse", value="abuse@imgur.example")
    resolution = m.HostResolution.objects.create(host=f.HostFactory(), platform=host)
    m.Host.objects.filter(pk=resolution.host_id).update(current=resolution)
    f.FoundLinkFactory(case=case, host=resolution.host)

    notice = generate_notices(case, actor=f.UserFactory()).notices[0]

    assert (notice.regime, notice.contact, notice.to_address) == ("dmca", None, "")
    assert abuse.value not in render_notice(notice, with_pdf=False).text
    assert (
        "the host's designated DMCA agent (a copyright contact in the directory)"
        in (notice.element_check["missing"])
    )
    with pytest.raises(ReviewError, match="designated DMCA agent"):
        submit_for_review(notice, notice.created_by)

    agent = f.ContactFactory(organisation=host, purpose="copyright", value="dmca@imgur.example")
    notice = generate_notices(case).notices[0]
    assert (notice.contact, notice.to_address) == (agent, "dmca@imgur.example")
    assert (
        "the host's designated DMCA agent (a copyright contact in the directory)"
        not in (notice.element_check["missing"])
    )


# --- dataset maintainers -----------------------------------------------------------------------


def _dataset_notice(language: str = "en") -> tuple[m.Notice, m.FoundLink, m.FoundLink]:
    notice = make_notice(
        "gdpr", role="dataset_maintainer", category="personal", links=0, language=language
    )
    named = f.FoundLinkFactory(
        case=notice.case, url="https://cdn.example.org/1.jpg", dataset="laion-5b", entry_id="77"
    )
    unnamed = f.FoundLinkFactory(
        case=notice.case, url="https://cdn.example.org/2.jpg", dataset="laion-5b"
    )
    notice.links.add(named, unnamed)
    return notice, named, unnamed


def test_dataset_notice_without_entry_id_or_reason_is_blocked() -> None:
    notice, _, unnamed = _dataset_notice()
    missing = (
        "the dataset entry id, or the caseworker's reason for its absence, of every link"
        " (1 without)"
    )
    assert check_elements(notice) == [missing]
    with pytest.raises(ReviewError, match="dataset entry id"):
        submit_for_review(notice, notice.created_by)

    unnamed.entry_id_note = "The maintainer's search tool lists the URL without an id."
    unnamed.save()

    assert check_elements(notice) == []
    text = " ".join(render_notice(notice, with_pdf=False).text.split())
    assert (
        "We know no entry id for No. 2: The maintainer's search tool lists the URL without an id."
        in text
    )


def test_dataset_manifest_carries_reference_image_hashes_and_reasons() -> None:
    notice, named, unnamed = _dataset_notice()
    named.ref_sha256, named.ref_phash = "ab" * 32, "c3" * 8
    named.save()
    unnamed.entry_id_note = "Found by a reverse image search; no id shown."
    unnamed.save()

    rendered = render_notice(notice, with_pdf=False)
    manifest = json.loads(rendered.attachments[2].content)
    rows = list(csv.reader(io.StringIO(rendered.attachments[1].content.decode())))

    assert [entry.get("reference_image") for entry in manifest["entries"]] == [
        {"sha256": "ab" * 32, "phash": "c3" * 8},
        None,
    ]
    assert [entry.get("entry_id_missing_reason") for entry in manifest["entries"]] == [
        None,
        "Found by a reverse image search; no id shown.",
    ]
    assert [row[-3:] for row in rows] == [
        ["reference_sha256", "reference_phash", "reference_pdq"],
        ["ab" * 32, "c3" * 8, ""],
        ["", "", ""],
    ]
    assert "with hashes of the person's own copies of the images" in " ".join(rendered.text.split())


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        (
            "en",
            "The research exception (GDPR Art. 17(3)(d)) does not stand in the way of erasure."
            " It applies only insofar as erasure is likely to render impossible or seriously"
            " impair the achievement of the objectives of the research. Removing 2 entries from"
            " an index of millions of images does neither",
        ),
        (
            "de",
            "Die Ausnahme für Forschungszwecke (Art. 17 Abs. 3 lit. d DSGVO) steht der Löschung"
            " nicht entgegen. Sie greift nur, soweit die Löschung die Verwirklichung der"
            " Forschungsziele voraussichtlich unmöglich macht oder ernsthaft beeinträchtigt. Die"
            " Entfernung von 2 Einträgen aus einem Index mit Millionen von Bildern",
        ),
    ],
)
def test_dataset_request_answers_the_research_exception(language: str, sentence: str) -> None:
    notice, _, unnamed = _dataset_notice(language)
    unnamed.entry_id = "78"
    unnamed.save()
    text = " ".join(render_notice(notice, with_pdf=False).text.split())
    assert sentence in text
    assert check_elements(notice) == []
    notice.body_text = template_body(notice).replace(sentence, "")
    assert check_elements(notice) == [
        "why the research exception does not apply (GDPR Art. 17(3)(d))"
    ]
    hosting = make_notice("gdpr", role="hosting", category="personal", language=language)
    assert "17(3)(d)" not in render_notice(hosting, with_pdf=False).text
    assert "17 Abs. 3 lit. d" not in render_notice(hosting, with_pdf=False).text
