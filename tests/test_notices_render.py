from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone, translation

from takedown import models as m
from takedown.notices import complaint, render
from takedown.notices.clock import deadline_for
from takedown.notices.letters import ACCESS_LABEL
from takedown.notices.regimes import REGIMES, get_regime
from takedown.notices.render import (
    check_elements,
    finding_label,
    render_notice,
    stated_due,
    statements_for,
    template_body,
)
from takedown.notices.review import edit
from tests import factories as f

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 6, 10, 0, tzinfo=BERLIN)  # a Friday
ORG = "Bildschutz e.V."

# A case and role under which each regime's notice can be complete.
COMPLETE = {
    "gdpr": ("hosting", "medical"),
    "dsa": ("hosting", "intimate"),
    "uk_gdpr": ("dataset_maintainer", "personal"),
    "uk_osa": ("site_operator", "intimate"),
    "take_it_down": ("site_operator", "intimate"),
    "dmca": ("hosting", "personal"),
    "kug": ("site_operator", "medical"),
    "generic_privacy": ("registrar", "other"),
    "search_delisting": ("search_engine", "intimate"),
    "search_outdated": ("search_engine", "medical"),
}


@pytest.fixture(autouse=True)
def frozen(settings: Any) -> Iterator[None]:
    settings.TAKEDOWN_ORGANISATION = ORG
    settings.DEFAULT_FROM_EMAIL = "cases@bildschutz.example"
    with time_machine.travel(NOW, tick=False):
        yield


def make_notice(
    regime: str = "gdpr",
    *,
    role: str = "hosting",
    category: str = "medical",
    links: int = 2,
    mandate: bool = True,
    owns_copyright: bool = False,
    language: str = "en",
    recipient: m.Organisation | None = None,
    case: m.Case | None = None,
    **fields: Any,
) -> m.Notice:
    case = case or f.CaseFactory(category=category, owns_copyright=owns_copyright)
    if role == "dpa":
        # A complaint names the person, which needs their consent (takedown.notices.complaint).
        m.Case.objects.filter(pk=case.pk).update(complaint_consent_at=timezone.now())
        case.complaint_consent_at = timezone.now()
    if mandate:
        f.MandateFactory(case=case)
    fields.setdefault("created_by", f.UserFactory(first_name="Kim", last_name="Berger"))
    recipient = recipient or f.OrganisationFactory(name="Hoster GmbH")
    if regime == "dmca" and "contact" not in fields:
        # A DMCA notice goes to the host's designated agent only.
        fields["contact"] = f.ContactFactory(organisation=recipient, purpose="copyright")
    notice = f.NoticeFactory(
        case=case,
        regime=regime,
        recipient_role=role,
        language=language,
        recipient=recipient,
        **fields,
    )
    for n in range(links):
        # A dataset notice names each entry by its id.
        entry_id = f"E-{n}" if role == "dataset_maintainer" else ""
        url = f"https://img.example.net/p/{n}.jpg"
        notice.links.add(f.FoundLinkFactory(case=case, url=url, entry_id=entry_id))
    return notice


def confirm_disclosure(notice: m.Notice) -> None:
    notice.discloses_person = True
    notice.disclosure_confirmed_by = f.UserFactory(username="reviewer")
    notice.save()


def complete_notice(code: str) -> m.Notice:
    role, category = COMPLETE[code]
    notice = make_notice(code, role=role, category=category, owns_copyright=code == "dmca")
    if get_regime(code).discloses_person:
        confirm_disclosure(notice)
    return notice


# --- element check ---------------------------------------------------------------------------


@pytest.mark.parametrize("code", list(REGIMES))
def test_check_elements_complete_notice_per_regime(code: str) -> None:
    assert check_elements(complete_notice(code)) == []


@pytest.mark.parametrize("code", list(REGIMES))
def test_check_elements_without_links_misses_urls(code: str) -> None:
    notice = complete_notice(code)
    notice.links.clear()
    urls = next(e.label for e in get_regime(code).elements if e.key == "urls")
    assert check_elements(notice) == [urls]


@pytest.mark.parametrize(
    ("code", "label"),
    [
        ("dsa", "name and e-mail address of the notifier"),
        ("take_it_down", "contact information"),
        ("dmca", "contact information of the complaining party"),
        ("generic_privacy", "name and e-mail address of the notifier"),
    ],
)
def test_check_elements_without_organisation_misses_notifier(
    code: str, label: str, settings: Any
) -> None:
    notice = complete_notice(code)
    settings.TAKEDOWN_ORGANISATION = ""
    assert check_elements(notice) == [label]


def test_check_elements_notifier_email_falls_back_to_default_from(settings: Any) -> None:
    notice = make_notice("dsa", created_by=f.UserFactory(email=""))
    assert check_elements(notice) == []
    assert "cases@bildschutz.example" in render_notice(notice, with_pdf=False).text
    settings.DEFAULT_FROM_EMAIL = ""
    assert check_elements(notice) == ["name and e-mail address of the notifier"]


@pytest.mark.parametrize(
    ("code", "label"),
    [
        ("gdpr", "signature of the authorised representative"),
        ("take_it_down", "signature of the depicted person or an authorised person"),
        ("dmca", "signature of a person authorised to act for the copyright owner"),
        ("kug", "signature of the authorised representative"),
    ],
)
def test_check_elements_without_caseworker_misses_signature(code: str, label: str) -> None:
    notice = complete_notice(code)
    notice.created_by = None
    notice.save()
    assert check_elements(notice) == [label]


@pytest.mark.parametrize("code", ["gdpr", "uk_gdpr", "uk_osa", "take_it_down", "dmca", "kug"])
def test_check_elements_mandate_needed_and_missing(code: str) -> None:
    notice = complete_notice(code)
    m.Mandate.objects.filter(case=notice.case).delete()
    assert check_elements(notice) == ["a signed mandate from the affected person on file"]


def test_check_elements_revoked_mandate_does_not_count() -> None:
    notice = make_notice("gdpr")
    m.Mandate.objects.filter(case=notice.case).update(revoked_at=timezone.now())
    assert check_elements(notice) == ["a signed mandate from the affected person on file"]


def test_check_elements_mandate_of_another_case_does_not_count() -> None:
    notice = make_notice("gdpr", mandate=False)
    f.MandateFactory()  # another case's
    assert check_elements(notice) == ["a signed mandate from the affected person on file"]


@pytest.mark.parametrize("code", ["dsa", "generic_privacy"])
def test_check_elements_no_mandate_needed(code: str) -> None:
    assert check_elements(make_notice(code, mandate=False)) == []


def test_check_elements_dmca_without_copyright_misses_the_work() -> None:
    notice = complete_notice("dmca")
    notice.case.owns_copyright = False
    notice.case.save()
    assert check_elements(notice) == [
        "identification of the copyrighted work, owned by the affected person"
    ]


def test_check_elements_dmca_without_confirmed_disclosure_misses_identity() -> None:
    agent = f.ContactFactory(purpose="copyright")
    notice = make_notice(
        "dmca",
        owns_copyright=True,
        discloses_person=True,
        recipient=agent.organisation,
        contact=agent,
    )
    assert check_elements(notice) == [
        "the affected person's name, with the disclosure confirmed by a reviewer"
    ]


def test_check_elements_wrong_role_and_category_are_reported() -> None:
    notice = make_notice("take_it_down", role="dataset_maintainer", category="medical")
    assert check_elements(notice) == [
        "a recipient this regime addresses (site operator, hosting provider)",
        "content this regime covers (intimate images)",
    ]


def test_check_elements_unknown_regime() -> None:
    assert check_elements(make_notice("nope")) == ["a known legal regime ('nope' is not one)"]


def test_findings_are_stored_in_english_and_shown_in_the_readers_language() -> None:
    # A German letter, checked while a German caseworker is signed in: the check reads the
    # letter in its own language and records its findings in English; the page translates.
    notice = make_notice("take_it_down", role="dataset_maintainer", language="de")
    with translation.override("de"):
        found = check_elements(notice)
        shown = [finding_label(finding) for finding in found]
        others = [
            finding_label(finding)
            for finding in (
                "a known legal regime ('nope' is not one)",
                "links of this case only (3 belong to another case)",
                "the message text",
                "exact URL(s) of the content",
                "a finding no catalogue knows",
            )
        ]

    assert found == [
        "a recipient this regime addresses (site operator, hosting provider)",
        "content this regime covers (intimate images)",
    ]
    assert shown == [
        "ein Empfänger, an den sich diese Rechtsgrundlage richtet (Betreiber der Website,"
        " Hosting-Anbieter)",
        "Inhalte, die diese Rechtsgrundlage erfasst (Kategorie: Intimes Bild)",
    ]
    assert others == [
        "eine bekannte Rechtsgrundlage ('nope' ist keine)",
        "nur Links dieses Falls (3 gehören zu einem anderen Fall)",
        "der Text der Nachricht",
        "genaue URL(s) der Inhalte",
        "a finding no catalogue knows",
    ]
    assert [finding_label(finding) for finding in found] == found


EVERY_FINDING = sorted(
    {element.label for code in REGIMES for element in get_regime(code).elements}
    | set(render.FINDINGS)
    | set(complaint.FINDINGS)
    | {ACCESS_LABEL}
)


@pytest.mark.parametrize("finding", EVERY_FINDING)
def test_every_finding_of_the_element_check_reads_german(finding: str) -> None:
    """Whatever the check can find (a regime's element, a letter to an authority's gap, a
    finding with details) is in the catalogue: a German page never names it in English."""
    with translation.override("de"):
        shown = finding_label(finding)

    assert shown != finding
    assert re.findall(r"%\((\w+)\)s", shown) == re.findall(r"%\((\w+)\)s", finding)


STATEMENT_CASES = [
    (code, element.key, element.label)
    for code in REGIMES
    for element in get_regime(code).required_elements(COMPLETE[code][1])
    if element.key not in {"urls", "notifier", "signature", "mandate", "identity", "agent"}
]


@pytest.mark.parametrize(("code", "key", "label"), STATEMENT_CASES)
def test_check_elements_edited_body_without_statement(code: str, key: str, label: str) -> None:
    notice = complete_notice(code)
    sentence = statements_for(notice)[key]
    body = template_body(notice)
    assert sentence in body
    notice.body_text = body.replace(sentence, "")
    assert check_elements(notice) == [label]


def test_check_elements_edited_body_that_dropped_good_faith_sentence() -> None:
    notice = complete_notice("dsa")
    good_faith = (
        "We confirm our bona fide belief that the information and allegations contained in this"
        " notice are accurate and complete (DSA Art. 16(2)(d))."
    )
    body = template_body(notice)
    # Rewrapped by a text area, with Windows line ends: still the same sentence.
    notice.body_text = body.replace(good_faith, good_faith.replace(" the ", "\r\nthe "))
    assert check_elements(notice) == []
    notice.body_text = body.replace(good_faith, "We believe this notice is right.")
    assert check_elements(notice) == [
        "statement of good-faith belief that the notice is accurate and complete"
    ]


def test_check_elements_edited_body_states_the_date_the_clock_tracks_a_day_later() -> None:
    notice = complete_notice("gdpr")
    body = template_body(notice)
    # 6 April 2026 is Easter Monday: the month runs to Tuesday.
    assert "by 7 April 2026 (GDPR Art. 12(3))" in body
    edit(notice, notice.created_by, body_text=body.replace("Dear Sir or Madam", "Dear team"))
    notice.refresh_from_db()
    assert "by [due date] (GDPR Art. 12(3))" in notice.body_text

    with time_machine.travel(datetime(2026, 3, 9, 10, 0, tzinfo=BERLIN), tick=False):
        assert check_elements(notice) == []
        text = render_notice(notice, with_pdf=False).text
    assert "Dear team" in text
    assert "by 9 April 2026 (GDPR Art. 12(3))" in text


def test_check_elements_edit_that_changes_the_due_date_blocks_approval() -> None:
    notice = complete_notice("gdpr")
    body = template_body(notice).replace("by 7 April 2026", "by 30 April 2026")

    edit(notice, notice.created_by, body_text=body)
    notice.refresh_from_db()

    assert check_elements(notice) == ["the one-month response deadline (GDPR Art. 12(3))"]


# --- what the notice says ----------------------------------------------------------------------


def test_render_plain_text_exact() -> None:
    notice = make_notice("dsa", category="intimate", links=1, mandate=False)
    notice.recipient.country = "DE"
    notice.recipient.save()
    rendered = render_notice(notice, with_pdf=False)
    reference = notice.case.reference
    assert rendered.subject == f"DSA notice of illegal content [{reference}]"
    assert rendered.text == (
        f"Our reference: {reference}\n"
        "Date: 6 March 2026\n"
        "To: Hoster GmbH (hosting provider)\n"
        f"From: {ORG} <{notice.created_by.email}>\n"
        "On behalf of: the affected person (name withheld to protect their privacy)\n"
        "Legal basis: DSA notice of illegal content, Digital Services Act (EU) 2022/2065 Art. 16\n"
        "\n"
        "Dear Sir or Madam,\n"
        "\n"
        f"We, {ORG}, submit this notice of illegal content under Article 16 of the Digital"
        " Services Act (Regulation (EU) 2022/2065) to you in your role as hosting provider for"
        " the content listed below, on behalf of the person depicted in it. To protect their"
        " privacy we do not name the person here; the images themselves identify them.\n"
        "\n"
        "Please remove the images at the addresses listed below, together with any copies on"
        " services you control, and prevent them from being uploaded again.\n"
        "\n"
        "The content is illegal. The images show the person we represent and were published"
        " without their consent. This violates the General Data Protection Regulation: there is"
        " no legal basis for processing these personal data (GDPR Art. 6(1)), which as data"
        " concerning sex life are moreover a special category whose processing is prohibited"
        " (Art. 9(1)). It also violates the right to one's own image (KUG §§22, 23).\n"
        "\n"
        "We confirm our bona fide belief that the information and allegations contained in this"
        " notice are accurate and complete (DSA Art. 16(2)(d)).\n"
        "\n"
        "Please act within 7 days, that is by 13 March 2026.\n"
        "\n"
        "Please confirm receipt of this notice (Art. 16(4)) and inform us of your decision and the"
        " reasons for it (Art. 16(5), Art. 17), quoting our reference"
        f" {reference}. Please send your answer to {notice.created_by.email}.\n"
        "\n"
        "Content concerned:\n"
        "1. https://img.example.net/p/0.jpg\n"
        "   First seen: 6 March 2026\n"
        "\n"
        f"Attached: {reference}-links.csv\n"
        "\n"
        "Yours faithfully,\n"
        "\n"
        "/s/ Kim Berger\n"
        f"Kim Berger, authorised representative of {ORG}\n"
        f"{notice.created_by.email}\n"
    )


def test_render_german_notice() -> None:
    notice = make_notice("gdpr", language="de")
    rendered = render_notice(notice, with_pdf=False)
    reference = notice.case.reference
    assert rendered.subject == f"Antrag auf Löschung nach der DSGVO [{reference}]"
    assert rendered.text.startswith(
        f"Unser Zeichen: {reference}\nDatum: 6. März 2026\nAn: Hoster GmbH (Hosting-Anbieter)\n"
    )
    for sentence in (
        "Sehr geehrte Damen und Herren,",
        "Wir, Bildschutz e.V., wenden uns an Sie in Ihrer Eigenschaft als Hosting-Anbieter für"
        " die unten aufgeführten Inhalte. Wir vertreten die darauf abgebildete Person aufgrund"
        " schriftlicher Vollmacht, ihre Rechte als betroffene Person in ihrem Namen geltend zu"
        " machen; die Vollmacht vom 6. März 2026 legen wir Ihnen auf Verlangen vor.",
        "Die Bilder enthalten Gesundheitsdaten und damit besondere Kategorien"
        " personenbezogener Daten (Art. 9 Abs. 1 DSGVO).",
        # 6 April 2026 is Easter Monday: the month runs to Tuesday.
        "Bitte antworten Sie innerhalb eines Monats nach Eingang, also bis zum 7. April 2026"
        " (Art. 12 Abs. 3 DSGVO).",
        "Rechtsgrundlage: Antrag auf Löschung nach der DSGVO, DSGVO Art. 17, 21 (Art. 9)",
        "gez. Kim Berger\nKim Berger, bevollmächtigte Vertretung für Bildschutz e.V.",
        "Mit freundlichen Grüßen",
    ):
        assert sentence in rendered.text
    assert "Dear Sir" not in rendered.text
    assert check_elements(notice) == []


def test_render_german_kug_binds_paragraph_signs() -> None:
    notice = make_notice("kug", role="site_operator", language="de")
    notice.case.legal_facts = {"no_consent": True, "identifiable": True}
    notice.case.save()
    text = render_notice(notice, with_pdf=False).text
    assert "Strafantrag nach §\u00a033 KUG" in text
    assert "bis zum 20. März 2026 zu entfernen." in text
    assert check_elements(notice) == []


def test_render_unsupported_language_falls_back_to_english() -> None:
    notice = make_notice("gdpr", language="fr")
    assert render_notice(notice, with_pdf=False).text.startswith("Our reference: ")


def test_render_take_it_down_states_48_hours_with_time() -> None:
    notice = make_notice("take_it_down", role="site_operator", category="intimate")
    text = render_notice(notice, with_pdf=False).text
    assert (
        "Please act within 48 hours (47 U.S.C. §223a(a)(3)), that is by 8 March 2026, 10:00 CET."
        in text
    )


def test_render_subject_of_reminder_and_dpa_complaint() -> None:
    first = make_notice("gdpr", role="site_operator", sent_at=timezone.now())
    reminder = make_notice(
        "gdpr", case=first.case, mandate=False, links=0, kind=m.Notice.Kind.REMINDER, parent=first
    )
    complaint = make_notice(
        "gdpr", case=first.case, mandate=False, links=0, role="dpa", parent=first
    )
    for follow_up in (reminder, complaint):
        follow_up.links.set(first.links.all())
    reference = first.case.reference
    assert render_notice(reminder, with_pdf=False).subject == (
        f"Reminder: GDPR erasure request [{reference}]"
    )
    assert "This is a reminder: we wrote to you about the content listed below on 6 March 2026" in (
        render_notice(reminder, with_pdf=False).text
    )
    rendered = render_notice(complaint, with_pdf=False)
    assert rendered.subject == f"Complaint under GDPR Art. 77 [{reference}]"
    assert "Legal basis: Complaint to the supervisory authority, GDPR Art. 77\n" in (rendered.text)
    assert (
        "On 6 March 2026 we asked Hoster GmbH, the controller, to erase these data."
        in rendered.text
    )
    assert check_elements(complaint) == []


def test_render_edited_body_replaces_template_body_only() -> None:
    notice = make_notice("generic_privacy", links=1)
    notice.body_text = "Hello,\r\n\r\nplease take these down."
    rendered = render_notice(notice, with_pdf=False)
    assert (
        "Hello,\n\nplease take these down.\n\nContent concerned:\n1. https://img.example.net/p/0.jpg"
        in (rendered.text)
    )
    assert "<p>Hello,</p>\n\n<p>please take these down.</p>" in rendered.html
    assert check_elements(notice) == [
        "explanation of why the images must be removed",
    ]


# --- protecting the person ---------------------------------------------------------------------


def person_strings(notice: m.Notice) -> list[str]:
    rendered = render_notice(notice, with_pdf=False)
    return [rendered.subject, rendered.text, rendered.html] + [
        a.content.decode() for a in rendered.attachments
    ]


def test_person_withheld_when_regime_does_not_need_them() -> None:
    notice = make_notice("gdpr")
    confirm_disclosure(notice)  # confirmed, but GDPR does not need the name
    assert not any("Alex Example" in s or "alex@example.org" in s for s in person_strings(notice))
    assert (
        "On behalf of: the affected person (name withheld"
        in render_notice(notice, with_pdf=False).text
    )


def test_person_withheld_until_reviewer_confirms_dmca_disclosure() -> None:
    agent = f.ContactFactory(purpose="copyright")
    notice = make_notice(
        "dmca",
        owns_copyright=True,
        discloses_person=True,
        recipient=agent.organisation,
        contact=agent,
    )
    assert not any("Alex Example" in s for s in person_strings(notice))
    confirm_disclosure(notice)
    rendered = render_notice(notice, with_pdf=False)
    assert "On behalf of: Alex Example\n" in rendered.text
    assert (
        "The copyrighted work is a photograph of which Alex Example is the author and copyright"
        " owner." in rendered.text
    )
    assert "<td><bdi>Alex Example</bdi></td>" in rendered.html
    # The e-mail address is never disclosed: replies go to the organisation.
    assert "alex@example.org" not in rendered.text
    assert check_elements(notice) == []


def test_person_withheld_when_flag_unset_even_if_reviewer_recorded() -> None:
    notice = make_notice("dmca", owns_copyright=True)
    notice.disclosure_confirmed_by = f.UserFactory()
    notice.save()
    assert not any("Alex Example" in s for s in person_strings(notice))


# --- escaping ---------------------------------------------------------------------------------


def test_html_escapes_whois_and_dataset_strings() -> None:
    hostile = '<img src="http://127.0.0.1:9/x.png" onerror="alert(1)">'
    recipient = f.OrganisationFactory(name=f"Evil {hostile} Ltd")
    notice = make_notice("gdpr", role="dataset_maintainer", recipient=recipient, links=0)
    notice.links.add(
        f.FoundLinkFactory(
            case=notice.case,
            url="https://img.example.net/a.jpg?x=<b>&y=1",
            caption="<script>alert(2)</script>",
            dataset="laion-5b",
            entry_id="42",
        )
    )
    rendered = render_notice(notice, with_pdf=False)
    assert (
        "Evil &lt;img src=&quot;http://127.0.0.1:9/x.png&quot; onerror=&quot;alert(1)&quot;&gt; Ltd"
        in rendered.html
    )
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in rendered.html
    assert "https://img.example.net/a.jpg?x=&lt;b&gt;&amp;y=1" in rendered.html
    assert "<img" not in rendered.html
    assert "<script" not in rendered.html
    # Plain text is plain: the same strings, unescaped.
    assert f"To: Evil {hostile} Ltd (dataset maintainer)" in rendered.text
    assert "Caption: <script>alert(2)</script>" in rendered.text


def test_subject_has_no_line_breaks() -> None:
    notice = make_notice("gdpr")
    assert "\n" not in render_notice(notice, with_pdf=False).subject


# --- attachments --------------------------------------------------------------------------------


def read_csv(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode())))


def test_links_csv_attachment_exact() -> None:
    notice = make_notice("dsa", links=2, mandate=False)
    rendered = render_notice(notice, with_pdf=False)
    reference = notice.case.reference
    assert [(a.filename, a.mimetype) for a in rendered.attachments] == [
        (f"{reference}-links.csv", "text/csv"),
        (f"{reference}-notice-{notice.pk}.json", "application/json"),
    ]
    first_seen = NOW.astimezone(ZoneInfo("UTC")).isoformat()
    assert read_csv(rendered.attachments[0].content) == [
        ["url", "first_seen", "entry_id", "url_sha256"],
        [
            "https://img.example.net/p/0.jpg",
            first_seen,
            "",
            hashlib.sha256(b"https://img.example.net/p/0.jpg").hexdigest(),
        ],
        [
            "https://img.example.net/p/1.jpg",
            first_seen,
            "",
            hashlib.sha256(b"https://img.example.net/p/1.jpg").hexdigest(),
        ],
    ]


def test_every_notice_carries_a_machine_readable_copy() -> None:
    notice = make_notice("dsa", links=1, mandate=False)
    [_, copy] = render_notice(notice, with_pdf=False).attachments
    due = stated_due(notice, NOW)
    assert due is not None
    url = "https://img.example.net/p/0.jpg"
    assert json.loads(copy.content) == {
        "format": "takedown-notice",
        "version": 1,
        "case_reference": notice.case.reference,
        "notice": notice.pk,
        "kind": "notice",
        "sender": {"organisation": ORG, "contact": notice.created_by.email},
        "recipient": {"name": "Hoster GmbH", "role": "hosting"},
        "legal_basis": {
            "regime": "dsa",
            "title": "DSA notice of illegal content",
            "citation": "Digital Services Act (EU) 2022/2065 Art. 16",
            "law": "",
        },
        "deadline": due.astimezone(ZoneInfo("UTC")).isoformat(),
        "deadline_period": "7 days",
        "urls": [
            {
                "url": url,
                "url_sha256": hashlib.sha256(url.encode()).hexdigest(),
                "first_seen": NOW.astimezone(ZoneInfo("UTC")).isoformat(),
            }
        ],
    }


def dataset_notice(language: str = "en") -> m.Notice:
    notice = make_notice(
        "gdpr", role="dataset_maintainer", category="intimate", links=0, language=language
    )
    for entry_id, caption in (("1001", "beach photo"), ("1002", '=HYPERLINK("x")')):
        notice.links.add(
            f.FoundLinkFactory(
                case=notice.case,
                url=f"https://cdn.example.org/{entry_id}.jpg",
                dataset="laion-5b",
                entry_id=entry_id,
                caption=caption,
            )
        )
    return notice


def sha(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


def test_dataset_maintainer_notice_lists_entries_and_asks_for_releases_and_mirrors() -> None:
    notice = dataset_notice()
    rendered = render_notice(notice, with_pdf=False)
    assert (
        "1. https://cdn.example.org/1001.jpg\n"
        "   Dataset: laion-5b; Entry id: 1001\n"
        "   Caption: beach photo\n"
        f"   SHA-256 of the URL: {sha('https://cdn.example.org/1001.jpg')}\n"
    ) in rendered.text
    assert (
        "The entries listed below from laion-5b point to images of the person we represent."
        " Please remove these entries from the index you publish, from all future releases and"
        " from any mirrors you control" in rendered.text
    )
    assert f'<td class="hash">{sha("https://cdn.example.org/1002.jpg")}</td>' in rendered.html
    assert check_elements(notice) == []


def test_dataset_manifest_csv_and_json_exact() -> None:
    notice = dataset_notice()
    reference = notice.case.reference
    attachments = render_notice(notice, with_pdf=False).attachments
    assert [(a.filename, a.mimetype) for a in attachments] == [
        (f"{reference}-links.csv", "text/csv"),
        (f"{reference}-removal-manifest.csv", "text/csv"),
        (f"{reference}-removal-manifest.json", "application/json"),
        (f"{reference}-notice-{notice.pk}.json", "application/json"),
    ]
    url1, url2 = "https://cdn.example.org/1001.jpg", "https://cdn.example.org/1002.jpg"
    assert read_csv(attachments[1].content) == [
        [
            "dataset",
            "entry_id",
            "url",
            "caption",
            "url_sha256",
            "reference_sha256",
            "reference_phash",
            "reference_pdq",
        ],
        ["laion-5b", "1001", url1, "beach photo", sha(url1), "", "", ""],
        # A caption a spreadsheet would run as a formula is quoted in the CSV only.
        ["laion-5b", "1002", url2, '\'=HYPERLINK("x")', sha(url2), "", "", ""],
    ]
    assert json.loads(attachments[2].content) == {
        "manifest_version": 1,
        "case_reference": reference,
        "requested_by": ORG,
        "contact": notice.created_by.email,
        "date": "2026-03-06",
        "action": "remove",
        "scope": ["index", "future_releases", "mirrors"],
        "datasets": ["laion-5b"],
        "entries": [
            {
                "dataset": "laion-5b",
                "entry_id": "1001",
                "url": url1,
                "caption": "beach photo",
                "url_sha256": sha(url1),
            },
            {
                "dataset": "laion-5b",
                "entry_id": "1002",
                "url": url2,
                "caption": '=HYPERLINK("x")',
                "url_sha256": sha(url2),
            },
        ],
    }


def test_pdf_attachment_unless_disabled() -> None:
    notice = make_notice("generic_privacy", links=1)
    attachments = render_notice(notice).attachments
    assert [(a.filename, a.mimetype) for a in attachments] == [
        (f"{notice.case.reference}-links.csv", "text/csv"),
        (f"{notice.case.reference}-notice-{notice.pk}.json", "application/json"),
        (f"{notice.case.reference}-notice-{notice.pk}.pdf", "application/pdf"),
    ]
    assert attachments[2].content.startswith(b"%PDF-")


# --- isolation between cases ---------------------------------------------------------------------


def test_two_cases_sharing_url_and_recipient_stay_apart() -> None:
    recipient = f.OrganisationFactory(name="Shared Host Ltd")
    agent = f.ContactFactory(organisation=recipient, purpose="copyright")
    url = "https://img.example.net/shared.jpg"
    case_a = f.CaseFactory(person__name="Ann Alpha")
    case_b = f.CaseFactory(person__name="Bea Beta")
    link_a = f.FoundLinkFactory(
        case=case_a, url=url, entry_id="A-1", caption="alpha caption", dataset="d"
    )
    link_b = f.FoundLinkFactory(
        case=case_b, url=url, entry_id="B-2", caption="beta caption", dataset="d"
    )
    notice_a, notice_b = (
        make_notice(
            "dmca",
            case=case,
            recipient=recipient,
            contact=agent,
            links=0,
            role="hosting",
            discloses_person=True,
        )
        for case in (case_a, case_b)
    )
    for notice in (notice_a, notice_b):
        case = notice.case
        case.owns_copyright = True
        case.save()
        confirm_disclosure(notice)
    notice_a.links.add(link_a)
    notice_b.links.add(link_b)
    # A bug elsewhere puts case B's link into case A's notice: it must not leak.
    notice_a.links.add(link_b)

    rendered = render_notice(notice_a, with_pdf=False)
    everything = "\n".join(
        [rendered.subject, rendered.text, rendered.html]
        + [a.content.decode() for a in rendered.attachments]
    )
    assert "Ann Alpha" in everything
    for foreign in ("Bea Beta", case_b.reference, "B-2", "beta caption"):
        assert foreign not in everything
    assert rendered.text.count(url) == 1
    assert read_csv(rendered.attachments[0].content)[1:] == [
        [url, NOW.astimezone(ZoneInfo("UTC")).isoformat(), "A-1", sha(url)]
    ]
    assert check_elements(notice_a) == ["links of this case only (1 belong to another case)"]

    rendered_b = render_notice(notice_b, with_pdf=False)
    assert "Ann Alpha" not in rendered_b.text
    assert "A-1" not in rendered_b.attachments[0].content.decode()
    assert check_elements(notice_b) == []


SWEEP = [
    (code, role, language)
    for code, regime in REGIMES.items()
    for role in regime.roles
    for language in regime.languages
]


@pytest.mark.parametrize(("code", "role", "language"), SWEEP)
def test_every_regime_role_and_language_renders_complete(
    code: str, role: str, language: str
) -> None:
    regime = get_regime(code)
    category = sorted(regime.categories)[0] if regime.categories else "medical"
    notice = make_notice(code, role=role, category=category, owns_copyright=True, language=language)
    if regime.discloses_person:
        confirm_disclosure(notice)
    rendered = render_notice(notice, with_pdf=False)
    assert notice.case.reference in rendered.subject
    assert ("Dear Sir or Madam," in rendered.text) is (language == "en")
    assert ("Sehr geehrte Damen und Herren," in rendered.text) is (language == "de")
    assert check_elements(notice) == []


@pytest.mark.parametrize(
    ("code", "role", "language", "sentence"),
    [
        (
            "gdpr",
            "cdn",
            "en",
            "Please stop serving the images at the addresses listed below, purge them from your"
            " caches, and tell us which hosting provider serves them to you",
        ),
        (
            "generic_privacy",
            "registrar",
            "en",
            "Please forward this notice to the registrant of the domain",
        ),
        (
            "generic_privacy",
            "registrar",
            "de",
            "Bitte leiten Sie dieses Schreiben an den Domaininhaber weiter",
        ),
        (
            "kug",
            "dataset_maintainer",
            "de",
            "Bitte entfernen Sie diese Einträge aus dem von Ihnen veröffentlichten Index, aus allen"
            " künftigen Versionen und aus allen Spiegelungen, die Sie kontrollieren",
        ),
        (
            "take_it_down",
            "hosting",
            "en",
            "no later than 48 hours after receiving this request, and make reasonable efforts to"
            " identify and remove any known identical copies",
        ),
    ],
)
def test_role_specific_request(code: str, role: str, language: str, sentence: str) -> None:
    category = "intimate" if code == "take_it_down" else "personal"
    notice = make_notice(code, role=role, category=category, language=language)
    assert sentence in render_notice(notice, with_pdf=False).text


# --- the date the letter states ------------------------------------------------------------------


def test_letter_states_the_due_date_on_the_recipients_calendar() -> None:
    # 23:30 on 6 March in Berlin is already 07:30 on 7 March in Tokyo: for a Japanese
    # recipient the notice arrives on the 7th, and 14 days end with 21 March, Tokyo time.
    recipient = f.OrganisationFactory(name="Pics KK", country="JP")
    notice = make_notice("generic_privacy", role="site_operator", recipient=recipient)

    with time_machine.travel(datetime(2026, 3, 6, 23, 30, tzinfo=BERLIN), tick=False):
        text = render_notice(notice, with_pdf=False).text
        due = deadline_for(notice, timezone.now())

    assert "that is by 21 March 2026." in text
    assert due == datetime(2026, 3, 21, 23, 59, 59, tzinfo=ZoneInfo("Asia/Tokyo"))


def test_letter_submitted_by_hand_names_the_period_until_the_submission_is_recorded() -> None:
    notice = make_notice("gdpr", channel=m.Contact.Channel.WEBFORM)

    text = " ".join(render_notice(notice, with_pdf=False).text.split())

    assert "Please answer within one month of receipt (GDPR Art. 12(3))." in text
    assert check_elements(notice) == []


def test_reminder_states_the_expired_deadline_and_grants_no_new_period() -> None:
    first = complete_notice("gdpr")
    first.status, first.sent_at = m.Notice.Status.SENT, timezone.now()
    first.due_at = deadline_for(first, first.sent_at)  # 7 April 2026 (Easter Monday moved)
    first.save()
    first.case.team = f.TeamFactory(reminder_grace_days=10)
    first.case.save()
    reminder = make_notice(
        "gdpr",
        case=first.case,
        recipient=first.recipient,
        parent=first,
        kind=m.Notice.Kind.REMINDER,
        mandate=False,
        links=0,
    )
    reminder.links.add(*first.links.all())

    with time_machine.travel(datetime(2026, 4, 8, 10, 0, tzinfo=BERLIN), tick=False):
        text = " ".join(render_notice(reminder, with_pdf=False).text.split())
        assert check_elements(reminder) == []

    assert (
        "The period for your answer under GDPR Art. 12(3) expired on 7 April 2026; this reminder"
        " does not start a new one. We ask you to act without further delay, at the latest"
        " within 10 days, that is by 18 April 2026."
    ) in text
    assert "within one month of receipt" not in text


FORMULAS = [
    '=HYPERLINK("http://127.0.0.1:1/","click")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
    "\uff1d1+1",  # full-width equals sign
]


def test_every_csv_cell_that_starts_a_formula_is_quoted() -> None:
    """Entry ids, captions and URLs are strangers' strings: in every CSV we send, a cell a
    spreadsheet would run is shown as text (the JSON manifest keeps them exact)."""
    notice = make_notice("gdpr", role="dataset_maintainer", category="intimate", links=0)
    for number, formula in enumerate(FORMULAS):
        notice.links.add(
            f.FoundLinkFactory(
                case=notice.case,
                url=f"https://cdn.example.org/{number}.jpg",
                dataset="=laion",
                entry_id=formula,
                caption=formula,
            )
        )
    attachments = render_notice(notice, with_pdf=False).attachments
    # The machine-readable copy of the notice (JSON) comes last; it is no spreadsheet.
    links, manifest, document, _notice_json = (a.content for a in attachments)

    assert [row[2] for row in read_csv(links)[1:]] == ["'" + value for value in FORMULAS]
    assert [row[:2] + row[3:4] for row in read_csv(manifest)[1:]] == [
        ["'=laion", "'" + value, "'" + value] for value in FORMULAS
    ]
    assert [entry["entry_id"] for entry in json.loads(document)["entries"]] == FORMULAS


def test_csv_bytes_neutralises_header_and_leaves_plain_cells() -> None:
    from takedown.csvsafe import csv_bytes

    content = csv_bytes(["=a", "b"], [["1001", "https://x.example/=y"], ["-1", "@me"]])

    assert content == b"'=a,b\r\n1001,https://x.example/=y\r\n'-1,'@me\r\n"
