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
from takedown.notices import offences
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


# --- criminal offences, named only under their conditions ----------------------------------------


def test_offences_are_data_per_country_with_the_current_heading_of_201a() -> None:
    by_country = {
        country: [o.code for o in offences.offences_for(country)]
        for country in ("DE", "FR", "NL", "GB", "US", "IT")
    }
    assert by_country == {
        "DE": ["de_kug_33", "de_stgb_201a", "de_stgb_184k"],
        "FR": ["fr_cp_226_1", "fr_cp_226_2_1"],
        "NL": ["nl_sr_139h"],
        "GB": ["gb_soa_66b"],
        "US": ["us_take_it_down"],
        "IT": [],
    }
    assert offences.offences_for("GB", "GB-SCT") == []
    assert offences.BY_CODE["de_stgb_201a"].heading["de"] == (
        "Verletzung des höchstpersönlichen Lebensbereichs und von Persönlichkeitsrechten durch"
        " Bildaufnahmen"
    )
    assert offences.open_questions("DE", {"no_consent": True}) == [
        "identifiable",
        "private_place",
        "helplessness",
        "intimate_parts_covered",
    ]


def _dsa(country: str, facts: dict[str, bool], language: str = "en") -> str:
    recipient = f.OrganisationFactory(name="Hoster GmbH", country=country)
    notice = make_notice("dsa", category="intimate", recipient=recipient, language=language)
    notice.case.legal_facts = facts
    notice.case.save()
    assert check_elements(notice) == []
    return " ".join(render_notice(notice, with_pdf=False).text.split())


def test_dsa_notice_names_no_offence_without_the_facts() -> None:
    for country in ("DE", "FR", "NL"):
        text = _dsa(country, {"no_consent": True})
        assert "offence" not in text
        assert "201a" not in text
        assert "most member states" not in text


def test_dsa_notice_names_201a_only_when_its_conditions_are_met() -> None:
    facts = {"no_consent": True, "private_place": True}
    assert (
        "It also violates the right to one's own image (KUG §§22, 23). On the facts known to"
        " us, the distribution is moreover an offence under StGB §201a (violation of the most"
        " personal sphere of life and of personality rights by taking pictures)."
    ) in _dsa("DE", facts)
    german = _dsa("DE", {**facts, "identifiable": True, "intimate_parts_covered": True}, "de")
    assert (
        "Nach den uns vorliegenden Angaben ist die Verbreitung zudem strafbar nach § 33 KUG,"
        " § 201a StGB (Verletzung des höchstpersönlichen Lebensbereichs und von"
        " Persönlichkeitsrechten durch Bildaufnahmen) und § 184k StGB (Verletzung des"
        " Intimbereichs durch Bildaufnahmen)."
    ) in german.replace("\u00a0", " ")


def test_dsa_notice_names_the_offence_of_the_recipients_country() -> None:
    facts = {"no_consent": True, "sexual": True}
    assert "an offence under Code pénal Art. 226-2-1 (distribution of sexual images" in _dsa(
        "FR", facts
    )
    assert "226-1" not in _dsa("FR", facts)
    assert "Wetboek van Strafrecht Art. 139h" in _dsa("NL", facts)


def test_uk_osa_report_names_s66b_only_on_the_facts_and_in_england_and_wales() -> None:
    def text(facts: dict[str, bool], region: str = "") -> str:
        recipient = f.OrganisationFactory(name="Host Ltd", country="GB", region=region)
        notice = make_notice(
            "uk_osa", role="site_operator", category="intimate", recipient=recipient
        )
        notice.case.legal_facts = facts
        notice.case.save()
        assert check_elements(notice) == []
        return " ".join(render_notice(notice, with_pdf=False).text.split())

    assert "66B" not in text({})
    assert (
        "on the facts known to us, sharing these images is an offence under Sexual Offences Act"
        " 2003 s.66B (sharing or threatening to share an intimate photograph or film)"
    ) in text({"sexual": True, "no_consent": True})
    assert "66B" not in text({"sexual": True, "no_consent": True}, region="GB-SCT")


@pytest.mark.parametrize("language", ["en", "de"])
def test_kug_reserves_a_criminal_complaint_only_on_the_facts(language: str) -> None:
    notice = make_notice("kug", role="site_operator", language=language)
    without = " ".join(render_notice(notice, with_pdf=False).text.split())
    notice.case.legal_facts = {"no_consent": True, "identifiable": True}
    notice.case.save()
    with_facts = " ".join(render_notice(notice, with_pdf=False).text.split())

    complaint = {
        "en": "a criminal complaint under KUG §33",
        "de": "einen Strafantrag nach § 33 KUG",
    }
    assert complaint[language] not in without.replace("\u00a0", " ")
    assert complaint[language] in with_facts.replace("\u00a0", " ")
    assert check_elements(notice) == []


# --- minors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize(
    ("regime", "role", "category"),
    [
        ("gdpr", "hosting", "medical"),
        ("dsa", "hosting", "intimate"),
        ("kug", "site_operator", "medical"),
        ("generic_privacy", "registrar", "intimate"),
    ],
)
def test_minor_case_letters_describe_no_content(
    regime: str, role: str, category: str, language: str
) -> None:
    notice = make_notice(regime, role=role, category=category, language=language)
    words = {
        "en": ("health", "sex life", "intimate", "medical"),
        "de": ("Gesundheit", "Sexualleben", "intim", "medizinisch"),
    }[language]
    adult = render_notice(notice, with_pdf=False).text
    assert any(word in adult for word in words)
    notice.case.is_minor = True
    notice.case.save()

    text = render_notice(notice, with_pdf=False).text

    assert [word for word in words if word in text] == []
    assert check_elements(notice) == []


@pytest.mark.parametrize(
    ("language", "ground"),
    [
        (
            "en",
            "under Art. 17(1)(b), (d) and (f), the data having been collected in relation to"
            " information society services offered to a child (Art. 8(1))",
        ),
        (
            "de",
            "nach Art. 17 Abs. 1 lit. b, d und f DSGVO, da die Daten in Bezug auf Dienste der"
            " Informationsgesellschaft erhoben wurden, die einem Kind angeboten wurden",
        ),
    ],
)
def test_gdpr_request_for_a_minor_uses_art_17_1_f_where_it_applies(
    language: str, ground: str
) -> None:
    notice = make_notice("gdpr", category="personal", language=language)
    notice.case.is_minor = True
    notice.case.save()
    assert ground not in " ".join(render_notice(notice, with_pdf=False).text.split())
    notice.case.legal_facts = {"child_online_service": True}
    notice.case.save()
    assert ground in " ".join(render_notice(notice, with_pdf=False).text.split())
    assert check_elements(notice) == []


# --- Art. 15 beside the erasure request -----------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        (
            "en",
            "The person also requests access under GDPR Art. 15: please confirm whether you"
            " process personal data concerning them and, if so, tell us in particular where the"
            " images came from (Art. 15(1)(g)) and to which recipients you have disclosed them"
            " (Art. 15(1)(c))",
        ),
        (
            "de",
            "Die Person verlangt zudem Auskunft nach Art. 15 DSGVO: Bitte bestätigen Sie, ob Sie"
            " sie betreffende personenbezogene Daten verarbeiten, und teilen Sie uns"
            " gegebenenfalls insbesondere mit, woher die Bilder stammen",
        ),
    ],
)
def test_optional_access_request_beside_the_erasure_request(language: str, sentence: str) -> None:
    notice = make_notice("gdpr", category="personal", language=language)
    assert sentence not in " ".join(render_notice(notice, with_pdf=False).text.split())
    notice.access_request = True
    notice.save()
    text = " ".join(render_notice(notice, with_pdf=False).text.split())
    assert sentence in text
    # Before the deadline, which then covers it too.
    assert text.index(sentence) < text.index({"en": "one month", "de": "eines Monats"}[language])
    assert check_elements(notice) == []
    dsa = make_notice("dsa", category="personal", language=language, access_request=True)
    assert "Art. 15" not in render_notice(dsa, with_pdf=False).text


def test_minor_intimate_case_goes_to_the_hotline_of_the_host_country(settings: Any) -> None:
    settings.TAKEDOWN_HOTLINES = {
        "DE": [{"name": "jugendschutz.net", "url": "https://www.jugendschutz.net/verstoss-melden"}],
        "*": [{"name": "INHOPE", "url": "https://www.inhope.org"}],
    }
    case = f.CaseFactory(category="intimate", is_minor=True)
    hoster = f.OrganisationFactory(name="Hoster GmbH", country="DE")
    platform = f.OrganisationFactory(name="Board", kind="platform", country="JP")
    links = []
    for organisation, field in ((hoster, "hosting"), (platform, "platform")):
        host = f.HostFactory()
        resolution = m.HostResolution.objects.create(host=host, **{field: organisation})
        m.Host.objects.filter(pk=host.pk).update(current=resolution)
        links.append(f.FoundLinkFactory(case=case, host=host))
    old_draft = f.NoticeFactory(case=case, recipient=hoster, status="draft")

    report = generate_notices(case)
    again = generate_notices(case)

    assert report.notices == []
    assert [(s["country"], s["hotlines"][0]["name"], s["links"]) for s in report.hotline_steps] == [
        ("DE", "jugendschutz.net", [links[0].pk]),
        ("JP", "INHOPE", [links[1].pk]),
    ]
    assert again.hotline_steps == report.hotline_steps
    assert m.Notice.objects.filter(case=case).exclude(status="cancelled").count() == 0
    assert m.Notice.objects.get(pk=old_draft.pk).status == "cancelled"
    tasks = m.CaseEvent.objects.filter(case=case, kind="task.manual_legal_step").order_by("pk")
    assert [t.data["hotline_country"] for t in tasks] == ["DE", "JP"]
    assert tasks[0].message == (
        "The person was a minor: report the 1 link(s) hosted in DE to the hotline, not in a"
        " notice: jugendschutz.net (https://www.jugendschutz.net/verstoss-melden). Give the URLs"
        " only; describe nothing."
    )


# --- German as a German lawyer writes it ---------------------------------------------------------


@pytest.mark.parametrize(
    ("regime", "role", "sentence"),
    [
        (
            "generic_privacy",
            "registrar",
            "Wir, Bildschutz e.V., vertreten die auf den unten aufgeführten Inhalten abgebildete"
            " Person und wenden uns an Sie als Domain-Registrar.",
        ),
        (
            "dsa",
            "hosting",
            # The Regulation's own German wording of Art. 16(2)(d).
            "Wir sind in gutem Glauben davon überzeugt, dass die in dieser Meldung enthaltenen"
            " Angaben und Anführungen richtig und vollständig sind (Art. 16 Abs. 2 lit. d DSA).",
        ),
        (
            "dsa",
            "hosting",
            "diese Meldung rechtswidriger Inhalte nach Art. 16 der Verordnung (EU) 2022/2065"
            " (Gesetz über digitale Dienste, DSA).",
        ),
        (
            "kug",
            "site_operator",
            "Eine Ausnahme nach § 23 Abs. 1 KUG liegt nicht vor; jedenfalls stehen der Verbreitung"
            " berechtigte Interessen der Person entgegen (§ 23 Abs. 2 KUG)",
        ),
        (
            "gdpr",
            "hosting",
            "Die Person hat daher einen Anspruch auf unverzügliche Löschung nach Art. 17 Abs. 1"
            " lit. b und d DSGVO, den wir hiermit in ihrem Namen geltend machen.",
        ),
    ],
)
def test_german_letters_read_as_legal_german(regime: str, role: str, sentence: str) -> None:
    notice = make_notice(regime, role=role, category="personal", language="de")
    text = " ".join(render_notice(notice, with_pdf=False).text.split()).replace("\u00a0", " ")
    assert sentence in text
    assert "in Ihrer Rolle als" not in text
    assert check_elements(notice) == []
