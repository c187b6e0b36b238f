from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from pypdf import PdfReader

from takedown.notices import pdf
from takedown.notices.pdf import (
    RefusedURL,
    asset_path,
    asset_url,
    decode_data_url,
    html_to_pdf,
    url_fetcher,
)
from takedown.notices.render import render_mandate, render_notice
from takedown.sandbox.http import HttpHost, image
from tests import factories as f

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 6, 10, 0, tzinfo=BERLIN)
ORG = "Bildschutz e.V."
# A 1x1 PNG, for the data: URL that must render.
PNG_1PX = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


@pytest.fixture(autouse=True)
def frozen(settings: Any) -> Iterator[None]:
    settings.TAKEDOWN_ORGANISATION = ORG
    with time_machine.travel(NOW, tick=False):
        yield


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def pdf_images(content: bytes) -> int:
    return sum(len(page.images) for page in PdfReader(io.BytesIO(content)).pages)


def pdf_fonts(content: bytes) -> set[str]:
    fonts = set()
    for page in PdfReader(io.BytesIO(content)).pages:
        for font in page["/Resources"]["/Font"].values():
            # Subset fonts are named ABCDEF+Noto-Sans-CJK-SC; keep the family.
            fonts.add(str(font.get_object()["/BaseFont"]).split("+", 1)[-1])
    return fonts


def page(body: str) -> str:
    return (
        f'<html><head><link rel="stylesheet" href="{asset_url("notice.css")}"></head>'
        f"<body>{body}</body></html>"
    )


# --- the fetcher ---------------------------------------------------------------------------------


def test_fetcher_refuses_http_and_file_urls(http_host: HttpHost, tmp_path: Path) -> None:
    http_host.add_route("/x.png", image(1, fmt="PNG"))
    http_host.add_route("/x.css", image(2, fmt="PNG"))
    local = tmp_path / "local.png"
    local.write_bytes(PNG_1PX)
    fetcher = url_fetcher()
    content = html_to_pdf(
        page(
            f'<img src="{http_host.url_for("/x.png")}">'
            f'<img src="{local.as_uri()}">'
            '<img src="file:///etc/passwd">'
            f'<link rel="stylesheet" href="{http_host.url_for("/x.css")}">'
            f'<div style="background: url({http_host.url_for("/x.png")})">bg</div>'
            '<img src="relative.png">'
        ),
        fetcher=fetcher,
    )
    assert http_host.hits("/x.png") == 0
    assert http_host.hits("/x.css") == 0
    assert pdf_images(content) == 0
    # Only notice.css was served. A relative URL never reaches the fetcher: without a base URL
    # WeasyPrint drops it.
    assert (fetcher.served, fetcher.refused) == (1, 4)


def test_default_fetcher_would_fetch_both(http_host: HttpHost, tmp_path: Path) -> None:
    """The control for the test above: WeasyPrint's own fetcher does reach the sandbox and the
    file, so hits == 0 there means refused, not unreachable."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    http_host.add_route("/x.png", image(1, fmt="PNG"))
    local = tmp_path / "local.png"
    local.write_bytes(PNG_1PX)
    html = f'<img src="{http_host.url_for("/x.png")}"><img src="{local.as_uri()}">'
    content = HTML(string=html, url_fetcher=URLFetcher()).write_pdf()
    assert http_host.hits("/x.png") == 1
    assert pdf_images(content) == 2


def test_fetcher_serves_data_url_image() -> None:
    fetcher = url_fetcher()
    data_url = "data:image/png;base64," + base64.b64encode(PNG_1PX).decode()
    content = html_to_pdf(page(f'<img src="{data_url}">'), fetcher=fetcher)
    assert pdf_images(content) == 1
    assert (fetcher.served, fetcher.refused) == (2, 0)


def test_decode_data_url() -> None:
    assert decode_data_url("data:,A%20b") == (b"A b", "text/plain;charset=US-ASCII")
    assert decode_data_url("data:text/css;base64,Ym9keXt9") == (b"body{}", "text/css")
    with pytest.raises(ValueError):
        decode_data_url("data:text/plain")


@pytest.mark.parametrize(
    "url",
    [
        "takedown-asset:../../notices/pdf.py",
        "takedown-asset:/etc/passwd",
        "takedown-asset:%2e%2e/settings.css",
        "takedown-asset:takedown/../../x.css",
        "takedown-asset:missing.css",
        "takedown-asset:notice.css?x=1",
        "takedown-asset:notice.py",
        "file:///work/takedown/static/takedown/notice.css",
        "notice.css",
    ],
)
def test_asset_path_refuses(url: str) -> None:
    with pytest.raises(RefusedURL):
        asset_path(url)


def test_asset_path_serves_bundled_stylesheet() -> None:
    assert asset_path("takedown-asset:notice.css") == pdf.ASSET_DIR.resolve() / "notice.css"


def test_asset_path_refuses_symlink_out_of_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "secret.css"
    outside.write_text("body {}")
    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / "evil.css").symlink_to(outside)
    monkeypatch.setattr(pdf, "ASSET_DIR", assets)
    with pytest.raises(RefusedURL):
        asset_path("takedown-asset:evil.css")


def test_asset_url_refuses_odd_names() -> None:
    assert asset_url("notice.css") == "takedown-asset:notice.css"
    with pytest.raises(ValueError):
        asset_url("../x.css")


# --- notices as PDF ------------------------------------------------------------------------------


def make_notice(recipient_name: str = "Hoster GmbH", **fields: Any) -> Any:
    case = f.CaseFactory(category="medical")
    f.MandateFactory(case=case)
    notice = f.NoticeFactory(
        case=case,
        regime="gdpr",
        recipient=f.OrganisationFactory(name=recipient_name),
        created_by=f.UserFactory(first_name="Kim", last_name="Berger"),
        **fields,
    )
    for n in range(3):
        notice.links.add(f.FoundLinkFactory(case=case, url=f"https://img.example.net/p/{n}.jpg"))
    return notice


def notice_pdf(notice: Any) -> bytes:
    attachment = render_notice(notice).attachments[-1]
    assert attachment.mimetype == "application/pdf"
    return attachment.content


@pytest.mark.django_db
def test_notice_pdf_carries_reference_date_recipient_basis_urls_signature() -> None:
    notice = make_notice()
    content = notice_pdf(notice)
    text = pdf_text(content)
    reference = notice.case.reference
    for expected in (
        f"Our reference {reference}",
        "Date 6 March 2026",
        "To Hoster GmbH (hosting provider)",
        "Legal basis GDPR erasure request, GDPR Art. 17, 21 (Art. 9 for special categories)",
        "https://img.example.net/p/0.jpg",
        "https://img.example.net/p/1.jpg",
        "https://img.example.net/p/2.jpg",
        "/s/ Kim Berger",
        f"Kim Berger, authorised representative of {ORG}",
    ):
        assert expected in text
    pages = len(PdfReader(io.BytesIO(content)).pages)
    for number in range(1, pages + 1):  # the page footer
        assert f"{reference} {number} / {pages}" in text
    assert "Alex Example" not in text


@pytest.mark.django_db
def test_notice_pdf_in_german() -> None:
    notice = make_notice(language="de")
    text = pdf_text(notice_pdf(notice))
    assert f"Unser Zeichen {notice.case.reference}" in text
    assert "Datum 6. März 2026" in text
    assert "gez. Kim Berger" in text


@pytest.mark.django_db
def test_notice_pdf_whois_organisation_name_is_text_and_fetches_nothing(
    http_host: HttpHost,
) -> None:
    http_host.add_route("/x.png", image(1, fmt="PNG"))
    hostile = (
        f'Registrant <img src="file:///etc/passwd"> and <img src="{http_host.url_for("/x.png")}">'
    )
    content = notice_pdf(make_notice(hostile))
    assert http_host.hits("/x.png") == 0
    assert pdf_images(content) == 0
    # The PDF wraps the long line (inside the URL, too): compare without whitespace.
    expected = f"To {hostile} (hosting provider)"
    assert "".join(expected.split()) in "".join(pdf_text(content).split())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "font"),
    [
        ("ООО Хостинг Иванов", "Noto-Sans"),  # noqa: RUF001 (Cyrillic on purpose)
        ("Ελληνική Φιλοξενία Α.Ε.", "Noto-Sans"),  # noqa: RUF001 (Greek on purpose)
        ("北京云主机有限公司", "Noto-Sans-CJK-SC"),
        ("株式会社さくらホスト", "Noto-Sans-CJK-SC"),
        ("شركة الاستضافة العربية", "Noto-Naskh-Arabic"),
    ],
)
def test_notice_pdf_renders_registrant_names_in_noto(name: str, font: str) -> None:
    content = notice_pdf(make_notice(name))
    text = pdf_text(content)
    # Separately: pypdf moves the space between a right-to-left name and "(hosting".
    assert f"To {name}" in text
    assert "hosting provider)" in text
    assert font in pdf_fonts(content)
    assert all(family.startswith("Noto-") for family in pdf_fonts(content))


# --- the mandate -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_render_mandate_english() -> None:
    case = f.CaseFactory(person__name="Alex Example", person__language="en")
    text = pdf_text(render_mandate(case))
    for expected in (
        "Mandate and authorisation",
        f"Case: {case.reference} · 6 March 2026",
        f"I, Alex Example, authorise {ORG} to act on my behalf",
        "(GDPR Art. 15 to 22) in my name as my authorised",
        "supervisory authorities (GDPR Art. 77)",
        "I can revoke this mandate at any time",
        "Place, date",
        "Signature",
    ):
        assert expected in text


@pytest.mark.django_db
def test_render_mandate_german() -> None:
    case = f.CaseFactory(person__name="Jürgen Müller", person__language="de")
    text = pdf_text(render_mandate(case))
    for expected in (
        "Vollmacht und Beauftragung",
        f"Fall: {case.reference} · 6. März 2026",
        f"Ich, Jürgen Müller, bevollmächtige und beauftrage {ORG}",
        "(Art. 15 bis 22 DSGVO)",
        "Ich kann diese Vollmacht jederzeit",
        "widerrufen",
        "Ort, Datum",
        "Unterschrift",
    ):
        assert expected in text
    assert "Mandate and authorisation" not in text


@pytest.mark.django_db
def test_render_mandate_without_name_leaves_a_blank_and_escapes() -> None:
    blank = f.CaseFactory(person__name="", person__language="fr")
    assert "I, , authorise" in pdf_text(render_mandate(blank))  # English, a line to sign on
    hostile = f.CaseFactory(person__name='<img src="file:///etc/passwd">')
    content = render_mandate(hostile)
    assert 'I, <img src="file:///etc/passwd">, authorise' in pdf_text(content)
    assert pdf_images(content) == 0


def _long_url(length: int) -> str:
    head = "https://d1x2y3z4.cloudfront.net/i/beach%E2%80%93summer.jpg?Policy=eyJTdGF0ZW1lbnQi"
    tail = "&Signature=Zx9~Kp3-aB%2Bc%2F%3D%3D&Key-Pair-Id=APKAEIBAERJR2EXAMPLE"
    filler = "".join("abcdefghijklmnopqrstuvwxyz0123456789%2F"[i % 39] for i in range(length))
    return head + filler[: length - len(head) - len(tail)] + tail


def cell_text(content: bytes, starts: str) -> str:
    """The whole text of the table cell that begins with `starts`, however it wraps over lines
    and pages: its first line (which pypdf may merge with the cells left of it), then every
    later line drawn at the left edge of its second line. Other cells and page footers drawn
    between its lines stay out; text cut off or drawn over the next column would be missing."""
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


@pytest.mark.django_db
@pytest.mark.parametrize("length", [3_000, 16_384])
def test_notice_pdf_wraps_a_long_url_and_shows_it_whole(length: int) -> None:
    notice = make_notice()
    url = _long_url(length)
    notice.links.add(f.FoundLinkFactory(case=notice.case, url=url))

    content = notice_pdf(notice)

    assert len(url) == length
    # Wrapped over lines (and pages), never cut: joining the lines gives the URL back.
    assert cell_text(content, url[:20]) == url
    assert max(len(line) for line in pdf_text(content).splitlines()) < 120


@pytest.mark.django_db
def test_dataset_notice_pdf_shows_a_64_character_entry_id_and_a_long_url() -> None:
    notice = make_notice(recipient_role="dataset_maintainer")
    entry_id = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    url = _long_url(3_000)
    notice.links.add(
        f.FoundLinkFactory(case=notice.case, url=url, dataset="laion-5b", entry_id=entry_id)
    )

    content = notice_pdf(notice)

    assert cell_text(content, entry_id[:4]) == entry_id
    assert cell_text(content, url[:20]) == url


@pytest.mark.django_db
def test_notice_shows_an_international_host_in_both_forms() -> None:
    notice = make_notice()
    host = f.HostFactory(hostname="xn--mnchen-3ya.de", registered_domain="xn--mnchen-3ya.de")
    url = "https://xn--mnchen-3ya.de/bild.jpg"
    notice.links.add(f.FoundLinkFactory(case=notice.case, host=host, url=url))

    rendered = render_notice(notice)
    pdf = " ".join(pdf_text(rendered.attachments[-1].content).split())

    assert f"{url}\n   (münchen.de (xn--mnchen-3ya.de))\n" in rendered.text
    assert f"{url} münchen.de (xn--mnchen-3ya.de)" in pdf
    # ASCII hosts get no second line.
    assert "https://img.example.net/p/0.jpg\n   First seen" in rendered.text
