"""Notices of more links than TAKEDOWN_NOTICE_LISTED_LINKS (issue 16, a million links per case):
the letter and PDF state the number and name the attached zip instead of listing the links, the
zip carries every link exactly once, the element check accepts the statement and still checks
every row, the notice is sent once through the sent log (real sandbox SMTP), a notice too large
for TAKEDOWN_NOTICE_MAX_MAIL_BYTES is refused at queueing or stopped before the handover, and
the staff and reviewer pages show it bounded with a download of every link. The threshold is
set low so a handful of links takes the path a million would."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import Any

import pytest
from django.urls import reverse
from django.utils import translation
from pypdf import PdfReader

from takedown import models as m
from takedown.models import CaseEvent, Notice
from takedown.notices import render
from takedown.notices.attachments import wire_floor
from takedown.notices.regimes import REGIMES
from takedown.notices.render import check_elements, render_notice
from takedown.notices.send import SendError, queue_notice, send_notice
from takedown.sandbox.smtp import SmtpServer
from tests import factories as f
from tests.test_notices_render import complete_notice, frozen, make_notice  # noqa: F401
from tests.test_notices_send import mail  # noqa: F401
from tests.test_web_review import member

pytestmark = pytest.mark.django_db

LINKS = 7


@pytest.fixture(autouse=True)
def few_listed(settings: Any) -> None:
    settings.TAKEDOWN_NOTICE_LISTED_LINKS = 5


def urls(notice: Notice) -> list[str]:
    return sorted(notice.links.values_list("url", flat=True))


def maintainer_notice(links: int = LINKS, **fields: Any) -> Notice:
    notice = make_notice("gdpr", role="dataset_maintainer", links=links, **fields)
    notice.links.all().update(dataset="laion-5b")
    return notice


def unzip(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as bundle:
        return {name: bundle.read(name) for name in bundle.namelist()}


def csv_rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode())))


# --- the letter and its attachment ---------------------------------------------------------------


def test_notice_above_the_threshold_states_the_number_and_attaches_every_link_once():
    notice = maintainer_notice()
    reference = notice.case.reference

    rendered = render_notice(notice)

    for url in urls(notice):
        assert url not in rendered.text
        assert url not in rendered.html
    statement = (
        f"This notice concerns {LINKS} URLs. Because of their number they are not listed in this "
        f"letter: the attached file {reference}-links.zip lists every one of them with its exact "
        f"URL, the exact electronic location of the content ({reference}-links.csv, "
        f"{reference}-removal-manifest.csv, {reference}-removal-manifest.json, "
        f"{reference}-notice-{notice.pk}.json). That list is part of this notice."
    )
    assert statement in rendered.text
    assert statement in rendered.html
    assert f"The entries listed in the attached file {reference}-links.zip" in rendered.text
    assert [(a.filename, a.mimetype) for a in rendered.attachments] == [
        (f"{reference}-links.zip", "application/zip"),
        (f"{reference}-notice-{notice.pk}.pdf", "application/pdf"),
    ]
    assert rendered.filenames == [a.filename for a in rendered.attachments]
    files = unzip(rendered.attachments[0].content)
    assert list(files) == [
        f"{reference}-links.csv",
        f"{reference}-removal-manifest.csv",
        f"{reference}-removal-manifest.json",
        f"{reference}-notice-{notice.pk}.json",
    ]
    links = csv_rows(files[f"{reference}-links.csv"])
    assert sorted(row["url"] for row in links) == urls(notice)
    manifest = csv_rows(files[f"{reference}-removal-manifest.csv"])
    assert sorted(row["url"] for row in manifest) == urls(notice)
    entries = json.loads(files[f"{reference}-removal-manifest.json"])["entries"]
    assert sorted(entry["url"] for entry in entries) == urls(notice)
    assert sorted(e["entry_id"] for e in entries) == [f"E-{n}" for n in range(LINKS)]
    document = json.loads(files[f"{reference}-notice-{notice.pk}.json"])
    assert sorted(item["url"] for item in document["urls"]) == urls(notice)
    # The PDF states the number too and lists none.
    pdf = "".join(
        page.extract_text() for page in PdfReader(io.BytesIO(rendered.attachments[1].content)).pages
    )
    assert "This notice concerns 7 URLs." in " ".join(pdf.split())
    assert not any(url in pdf for url in urls(notice))


def test_zip_json_is_what_json_dumps_makes_of_the_document(settings):
    """The streamed JSON is byte for byte the document the files of a listed notice are."""
    notice = maintainer_notice()
    reference = notice.case.reference
    files = unzip(render_notice(notice, with_pdf=False).attachments[0].content)
    settings.TAKEDOWN_NOTICE_LISTED_LINKS = LINKS
    listed = {a.filename: a.content for a in render_notice(notice, with_pdf=False).attachments}
    for name, content in files.items():
        assert content == listed[name]
    assert json.dumps(json.loads(files[f"{reference}-removal-manifest.json"]), indent=2) + "\n" == (
        files[f"{reference}-removal-manifest.json"].decode()
    )


def test_notice_at_the_threshold_lists_its_links_as_before(settings):
    settings.TAKEDOWN_NOTICE_LISTED_LINKS = LINKS
    notice = maintainer_notice()
    reference = notice.case.reference

    rendered = render_notice(notice)

    for url in urls(notice):
        assert url in rendered.text
    assert "This notice concerns" not in rendered.text
    assert "The entries listed below" in rendered.text
    assert [a.filename for a in rendered.attachments] == [
        f"{reference}-links.csv",
        f"{reference}-removal-manifest.csv",
        f"{reference}-removal-manifest.json",
        f"{reference}-notice-{notice.pk}.json",
        f"{reference}-notice-{notice.pk}.pdf",
    ]
    assert rendered.links_in_letter


def test_german_notice_above_the_threshold_states_it_in_german():
    notice = make_notice("dsa", role="hosting", category="intimate", links=1234, language="de")

    text = " ".join(render_notice(notice, with_pdf=False, with_data=False).text.split())

    reference = notice.case.reference
    assert (
        "Diese Meldung betrifft 1.234 URLs. Wegen ihrer Zahl sind sie nicht in diesem Schreiben "
        f"aufgeführt: Die beigefügte Datei {reference}-links.zip nennt jede einzelne mit ihrer "
        "genauen URL, der genauen elektronischen Fundstelle des Inhalts "
        f"({reference}-links.csv, {reference}-notice-{notice.pk}.json). Diese Liste ist "
        "Bestandteil dieser Meldung."
    ) in text
    assert check_elements(notice) == []


@pytest.mark.parametrize("code", list(REGIMES))
def test_element_check_accepts_the_attached_list_under_every_regime(settings, code):
    settings.TAKEDOWN_NOTICE_LISTED_LINKS = 1
    notice = complete_notice(code)
    assert notice.links.count() == 2

    assert check_elements(notice) == []


def test_element_check_still_checks_every_row_of_an_unlisted_notice(monkeypatch):
    monkeypatch.setattr(render, "CHECKED_ROWS", 2)
    notice = maintainer_notice()
    last = notice.links.order_by("-created_at", "-pk").first()
    assert last is not None
    m.FoundLink.objects.filter(pk=last.pk).update(url="")
    m.FoundLink.objects.filter(pk=notice.links.order_by("pk").first().pk).update(entry_id="")

    missing = check_elements(notice)

    assert "exact URL(s) of the content" in missing
    assert (
        "the dataset entry id, or the caseworker's reason for its absence, of every link"
        " (1 without)"
    ) in missing


def test_edited_body_of_an_unlisted_notice_keeps_the_attached_list_statement():
    notice = make_notice("dsa", role="hosting", category="intimate", links=LINKS)
    assert check_elements(notice) == []
    # The statement belongs to the layout, not the body: an edit cannot remove it.
    notice.body_text = "Please remove."
    notice.save()
    assert "This notice concerns 7 URLs." in render_notice(notice, with_pdf=False).text


# --- sending -------------------------------------------------------------------------------------


def approved(links: int = LINKS) -> Notice:
    notice = maintainer_notice(links, status=Notice.Status.APPROVED, to_address="dsa@laion.example")
    return Notice.objects.get(pk=notice.pk)


@pytest.mark.usefixtures("mail")
def test_unlisted_notice_is_sent_once_with_every_link_in_its_zip(smtp_server: SmtpServer):
    notice = approved()
    assert queue_notice(notice) == "queued"

    first = send_notice(notice.pk)
    again = send_notice(notice.pk)

    assert (first.outcome, again.outcome) == ("sent", "skipped")
    [captured] = smtp_server.messages
    parts = {p.get_filename(): p for p in captured.message.iter_attachments()}
    reference = notice.case.reference
    assert list(parts) == [f"{reference}-links.zip", f"{reference}-notice-{notice.pk}.pdf"]
    files = unzip(parts[f"{reference}-links.zip"].get_content())
    sent = [row["url"] for row in csv_rows(files[f"{reference}-links.csv"])]
    assert sorted(sent) == urls(notice)
    assert len(set(sent)) == LINKS
    kinds = list(
        CaseEvent.objects.filter(notice=notice, kind__startswith="mail.").values_list(
            "kind", flat=True
        )
    )
    assert kinds == ["mail.handover", "mail.accepted"]


@pytest.mark.usefixtures("mail")
def test_notice_certainly_above_the_mail_limit_is_refused_at_queueing(settings):
    notice = approved()
    # Seven links in four files carrying the URL hash: at least 7 * 4 * 32 bytes, base64.
    assert wire_floor(LINKS, 4) == 1228  # 896 bytes: 1,196 in base64, 16 line ends
    settings.TAKEDOWN_NOTICE_MAX_MAIL_BYTES = 1227

    with pytest.raises(SendError) as refused:
        queue_notice(notice)

    assert str(refused.value) == (
        f"Notice {notice.pk} is too large to send by e-mail: at least 0.0 MB with its "
        "attachments, and the limit (TAKEDOWN_NOTICE_MAX_MAIL_BYTES) is 0.0 MB. Nothing was "
        "sent. Send it through the recipient's bulk channel instead (choose their web form, "
        "postal or API contact: the notice then becomes a task with its PDF, and the notice "
        "page offers the list of links to download), or raise the limit if your mail server "
        "and the recipient accept larger mail."
    )
    notice.refresh_from_db()
    assert (notice.status, notice.message_id) == ("approved", "")


@pytest.mark.usefixtures("mail")
def test_notice_above_the_mail_limit_is_never_handed_over(settings, smtp_server: SmtpServer):
    notice = approved()
    assert queue_notice(notice) == "queued"
    # Past the floor at queueing, but the message itself (PDF, letter) is larger.
    settings.TAKEDOWN_NOTICE_MAX_MAIL_BYTES = 20_000

    result = send_notice(notice.pk)

    notice.refresh_from_db()
    assert (result.outcome, notice.status, notice.attempts) == ("failed", "failed", 1)
    assert notice.last_error.startswith(
        f"Not delivered to dsa@laion.example: Notice {notice.pk} is too large to send by e-mail"
    )
    assert smtp_server.messages == []
    assert not CaseEvent.objects.filter(notice=notice, kind="mail.handover").exists()


@pytest.mark.usefixtures("mail")
def test_zip_above_the_mail_limit_is_not_read_into_a_message(settings, smtp_server: SmtpServer):
    notice = approved()
    assert queue_notice(notice) == "queued"
    settings.TAKEDOWN_NOTICE_MAX_MAIL_BYTES = 1500  # above the floor, below the zip itself

    result = send_notice(notice.pk)

    assert result.outcome == "failed"
    assert smtp_server.messages == []
    assert not CaseEvent.objects.filter(notice=notice, kind="mail.handover").exists()


# --- the pages -----------------------------------------------------------------------------------


@pytest.fixture
def team_notice() -> Notice:
    team = f.TeamFactory(name="Berlin")
    author = member("carla", "caseworker", team)
    case = f.CaseFactory(team=team, assigned_to=author)
    notice = maintainer_notice(case=case, created_by=author, status=Notice.Status.IN_REVIEW)
    return notice


def test_staff_notice_page_shows_the_count_first_links_and_download(client, team_notice):
    notice = team_notice
    client.force_login(notice.created_by)

    page = client.get(reverse("staff:notice", args=[notice.case.reference, notice.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    download = reverse("staff:notice_links", args=[notice.case.reference, notice.pk])
    assert f'href="{download}"' in html
    assert "7 links, listed in the attached file" in html
    assert "This notice concerns 7 URLs." in html
    for url in urls(notice):
        assert html.count(url) == 1  # in the first links, not in the letter
    response = client.get(download)
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="{notice.case.reference}-notice-{notice.pk}-links.csv"'
    )
    rows = csv_rows(b"".join(response.streaming_content))
    assert sorted(row["url"] for row in rows) == urls(notice)


def test_reviewer_notice_page_shows_the_letter_count_and_download(client, team_notice):
    notice = team_notice
    client.force_login(member("rita", "reviewer", notice.case.team))

    page = client.get(reverse("review:notice", args=[notice.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    assert "This notice concerns 7 URLs." in html
    assert "The letter does not list its 7 links" in html
    assert f'href="{reverse("review:notice_links", args=[notice.pk])}"' in html
    assert f'href="{reverse("review:notice_pdf", args=[notice.pk])}"' in html
    assert 'name="seen"' in html  # the approval form, carrying what was shown
    rows = csv_rows(
        b"".join(client.get(reverse("review:notice_links", args=[notice.pk])).streaming_content)
    )
    assert sorted(row["url"] for row in rows) == urls(notice)


def test_reviewer_approval_is_withdrawn_when_the_unlisted_links_change(client, team_notice):
    """The letter of an unlisted notice states only the number of its links: one link swapped
    for another after the reviewer read the page keeps the text, but not the approval."""
    notice = team_notice
    client.force_login(member("rita", "reviewer", notice.case.team))
    html = client.get(reverse("review:notice", args=[notice.pk])).content.decode()
    seen = html.split('name="seen" value="', 1)[1].split('"', 1)[0]
    dropped = notice.links.order_by("pk").first()
    added = f.FoundLinkFactory(
        case=notice.case, host=dropped.host, dataset="laion-5b", entry_id="E-99"
    )
    assert check_elements(notice) == []
    notice.links.remove(dropped)
    notice.links.add(added)
    assert check_elements(notice) == []  # still complete: only the approval is in the way
    assert render_notice(notice, with_pdf=False, with_data=False).text.count(f"{LINKS} URLs") == 1

    client.post(reverse("review:approve", args=[notice.pk]), {"seen": seen})

    notice.refresh_from_db()
    assert notice.status == Notice.Status.IN_REVIEW


def test_reviewer_approves_an_unlisted_notice_as_shown(client, team_notice):
    notice = team_notice
    client.force_login(member("rita", "reviewer", notice.case.team))
    html = client.get(reverse("review:notice", args=[notice.pk])).content.decode()
    seen = html.split('name="seen" value="', 1)[1].split('"', 1)[0]

    client.post(reverse("review:approve", args=[notice.pk]), {"seen": seen})

    notice.refresh_from_db()
    assert notice.status == Notice.Status.APPROVED


def test_listed_notice_page_has_no_download(client, team_notice, settings):
    settings.TAKEDOWN_NOTICE_LISTED_LINKS = LINKS
    notice = team_notice
    client.force_login(notice.created_by)

    html = client.get(reverse("staff:notice", args=[notice.case.reference, notice.pk])).content

    assert b"links-download" not in html
    for url in urls(notice):
        assert url.encode() in html


@pytest.mark.usefixtures("mail")
def test_refusal_at_queueing_is_german_in_a_german_session(settings):
    notice = approved()
    settings.TAKEDOWN_NOTICE_MAX_MAIL_BYTES = 1000

    with translation.override("de"), pytest.raises(SendError) as refused:
        queue_notice(notice)

    assert str(refused.value).startswith(
        f"Meldung {notice.pk} ist zu groß für den Versand per E-Mail: mindestens 0,0 MB"
    )


def test_facts_of_an_unlisted_notice_counted_in_sql_are_what_the_rows_say(monkeypatch):
    """Above the threshold and past one chunk, link_rows counts in SQL what _gather finds in
    the rows; every fact the element check and the letter use must agree."""
    monkeypatch.setattr(render, "ROW_CHUNK", 2)
    notice = maintainer_notice()
    links = list(notice.links.order_by("pk"))
    m.FoundLink.objects.filter(pk=links[0].pk).update(url="")
    m.FoundLink.objects.filter(pk=links[1].pk).update(entry_id="", entry_id_note=" \n ")
    m.FoundLink.objects.filter(pk=links[2].pk).update(entry_id="", entry_id_note="no id known")
    m.FoundLink.objects.filter(pk=links[3].pk).update(ref_phash="ab" * 8, dataset="coyo")
    notice.links.add(f.FoundLinkFactory(url="https://other.example/x.jpg"))  # another case's

    sql = render.link_rows(notice, 3)
    rows = render._gather(render._each_link_row(notice), 3)

    facts = ("count", "foreign", "without_url", "unnamed", "datasets", "reference_hashes")
    assert [getattr(sql, name) for name in facts] == [getattr(rows, name) for name in facts]
    assert [getattr(sql, name) for name in facts] == [7, 1, 1, 1, {"coyo", "laion-5b"}, True]
    assert (sql.rows, len(rows.rows)) == ([], 3)  # the letter lists none
