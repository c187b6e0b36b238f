"""The signed mandate: what counts as signed, photos made into one PDF, who uploaded it, and
revocation stopping every unsent notice that needs it (takedown.mandates)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from PIL import Image
from pypdf import PdfReader

from takedown import mandates
from takedown.models import CaseEvent, Mandate, Notice
from takedown.notices.send import send_notice
from tests import factories as f
from tests.test_web_staff import caseworker

pytestmark = pytest.mark.django_db


def photo(fmt: str, size: tuple[int, int] = (300, 400), colour: str = "white") -> bytes:
    out = io.BytesIO()
    if fmt == "HEIF":
        from pillow_heif import register_heif_opener

        register_heif_opener()
    Image.new("RGB", size, colour).save(out, format=fmt)
    return out.getvalue()


def pages(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def test_photos_of_the_signed_pages_become_one_pdf() -> None:
    case = f.CaseFactory()
    files = [photo("JPEG"), photo("PNG", (400, 300)), photo("HEIF")]

    mandate = mandates.store_signed(case, files)

    document = bytes(mandate.signed_document)
    assert document.startswith(b"%PDF")
    assert pages(document) == 3
    assert (mandate.content_type, mandate.source, mandate.uploaded_by) == (
        "application/pdf",
        "portal",
        None,
    )
    assert mandate.sha256 == mandates.sha256(document)


def test_a_pdf_is_kept_as_uploaded_with_who_and_when() -> None:
    case = f.CaseFactory()
    carla = f.UserFactory(username="carla")

    mandate = mandates.store_signed(case, [b"%PDF-1.7 signed"], actor=carla)

    assert (bytes(mandate.signed_document), mandate.source, mandate.uploaded_by) == (
        b"%PDF-1.7 signed",
        "staff",
        carla,
    )
    assert CaseEvent.objects.get(kind="mandate.uploaded").actor == carla


def test_the_unsigned_form_is_refused() -> None:
    case = f.CaseFactory(person__name="Alex Example")
    form = mandates.issue_form(case)

    with pytest.raises(mandates.MandateRefused, match="unsigned form") as refused:
        mandates.store_signed(case, [form])

    assert refused.value.code == "unsigned"
    assert Mandate.objects.count() == 0
    # The same form downloaded again is the same file: remembered once.
    assert mandates.issue_form(case) == form
    assert case.issued_mandate_forms.count() == 1


@pytest.mark.parametrize(
    ("files", "code"),
    [
        ([b"GIF89a not a photo"], "not_pdf"),
        ([b"%PDF-1.7", photo("JPEG")], "not_pdf"),
        ([photo("JPEG")] * 11, "too_many"),
        ([photo("GIF")], "not_pdf"),
    ],
)
def test_uploads_that_are_no_signed_mandate_are_refused(files: list[bytes], code: str) -> None:
    with pytest.raises(mandates.MandateRefused) as refused:
        mandates.store_signed(f.CaseFactory(), files)
    assert refused.value.code == code
    assert Mandate.objects.count() == 0


def test_the_photo_at_fault_is_named_by_its_place() -> None:
    whole = photo("JPEG")
    with pytest.raises(mandates.MandateRefused, match="photo 2 cannot be read") as refused:
        mandates.store_signed(f.CaseFactory(), [photo("PNG"), whole[: len(whole) // 2]])
    assert (refused.value.code, refused.value.page) == ("damaged", 2)


def test_a_photo_too_large_for_a_page_is_refused_before_decoding(monkeypatch: Any) -> None:
    monkeypatch.setattr(mandates, "MAX_PIXELS", 100 * 100)
    with pytest.raises(mandates.MandateRefused, match="too large to be a page"):
        mandates.store_signed(f.CaseFactory(), [photo("PNG", (101, 100))])


# --- revocation ----------------------------------------------------------------------------------


def _notices(case: Any) -> dict[str, Notice]:
    made = {}
    for status in ("draft", "in_review", "approved", "queued", "awaiting_manual", "sent"):
        made[status] = f.NoticeFactory(case=case, regime="gdpr", status=status)
    made["dsa"] = f.NoticeFactory(case=case, regime="dsa", status="approved")
    return made


def test_revocation_by_the_person_stops_every_unsent_notice_that_needs_it() -> None:
    case = f.CaseFactory()
    f.MandateFactory(case=case)
    made = _notices(case)

    stopped = mandates.revoke(case)

    assert sorted(stopped) == sorted(
        made[s].pk for s in ("in_review", "approved", "queued", "awaiting_manual")
    )
    status = {name: Notice.objects.get(pk=n.pk).status for name, n in made.items()}
    assert status == {
        "draft": "draft",
        "in_review": "draft",
        "approved": "draft",
        "queued": "draft",
        "awaiting_manual": "draft",
        "sent": "sent",
        # The DSA lets anyone notify: no mandate needed, nothing stopped.
        "dsa": "approved",
    }
    mandate = Mandate.objects.get(case=case)
    assert (mandate.revoked_at is not None, mandate.revoked_by) == (True, None)
    event = CaseEvent.objects.get(kind="mandate.revoked")
    assert (event.visible_to_person, event.data["by"]) == (True, "person")
    assert (
        "a signed mandate from the affected person on file"
        in Notice.objects.get(pk=made["approved"].pk).element_check["missing"]
    )
    with pytest.raises(mandates.MandateRefused, match="no mandate on file"):
        mandates.revoke(case)


def test_sending_checks_the_mandate_again_when_it_claims_the_notice() -> None:
    case = f.CaseFactory()
    mandate = f.MandateFactory(case=case)
    notice = f.NoticeFactory(case=case, regime="gdpr", status="queued", to_address="a@x.example")
    # Revoked by a path that did not stop the queued notice (e.g. an import of old data).
    Mandate.objects.filter(pk=mandate.pk).update(revoked_at=mandate.uploaded_at)

    result = send_notice(notice.pk)

    notice.refresh_from_db()
    assert (result.outcome, notice.status, notice.attempts) == ("draft", "draft", 0)
    assert notice.sent_at is None
    assert CaseEvent.objects.filter(notice=notice, kind="notice.sending").count() == 0


# --- the screens ---------------------------------------------------------------------------------


def test_staff_upload_download_and_revoke(client: Client) -> None:
    team = f.TeamFactory()
    carla = caseworker("carla", team)
    case = f.CaseFactory(team=team, assigned_to=carla)
    approved = f.NoticeFactory(case=case, regime="kug", status="approved")
    client.force_login(carla)

    form = client.get(reverse("staff:mandate_form", args=[case.reference]))
    unsigned = io.BytesIO(form.content)
    unsigned.name = "form.pdf"
    refused = client.post(
        reverse("staff:mandate_upload", args=[case.reference]),
        {"document": unsigned},
        follow=True,
    )
    assert [str(m) for m in refused.context["messages"]] == [
        "this is the unsigned form as we generated it: upload the signed copy"
    ]
    scans = [io.BytesIO(photo("JPEG")), io.BytesIO(photo("JPEG", colour="grey"))]
    for number, scan in enumerate(scans):
        scan.name = f"page{number}.jpg"
    client.post(reverse("staff:mandate_upload", args=[case.reference]), {"document": scans})

    mandate = Mandate.objects.get(case=case)
    assert (mandate.uploaded_by, mandate.source, pages(bytes(mandate.signed_document))) == (
        carla,
        "staff",
        2,
    )
    page = client.get(reverse("staff:case", args=[case.reference])).content.decode()
    assert "uploaded by carla" in page
    download = client.post(reverse("staff:mandate", args=[case.reference]))
    assert download.content == bytes(mandate.signed_document)

    revoked = client.post(reverse("staff:mandate_revoke", args=[case.reference]), follow=True)

    assert [str(m) for m in revoked.context["messages"]] == [
        "The mandate is revoked; 1 unsent notice went back to draft."
    ]
    mandate.refresh_from_db()
    assert mandate.revoked_by == carla
    assert Notice.objects.get(pk=approved.pk).status == "draft"
