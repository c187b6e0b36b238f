"""The signed mandate: the person's power of attorney, on which every request made in their name
rests (docs/law/gdpr.md: the general law of agency, not GDPR Art. 80(1)).

What counts as signed. The product generates the form (`issue_form`) and remembers the SHA-256
of every copy it handed out. A signed copy is a scan or a digitally signed PDF, or photos of
the signed paper, which are put together into one PDF here: in each case a file whose hash
differs from every generated form. The unsigned form itself, uploaded back by mistake, is
refused. (A hash cannot prove a signature; it stops the one mistake that is easy to make.)

Who and when. Each mandate records who uploaded it (a staff user, or the person through the
portal: `source`) and when; a revocation records who revoked it and when.

Revocation stops what has not gone out. `revoke` marks the case's mandates revoked and, in the
same transaction, returns every notice still on its way (in review, approved, queued, waiting
for manual submission) whose regime needs a mandate to draft. Sending checks again when it
claims a notice (`allows_sending`, called inside the claiming transaction with the mandate
rows locked): a revocation that commits first is seen by the claim; one that commits after the
claim finds the notice already being sent, which is the moment the person's earlier
authorisation covered.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from takedown.checks.hashing import complete_image
from takedown.errors import NotPossible
from takedown.models import Case, IssuedMandateForm, Mandate, Notice
from takedown.notices.regimes import REGIMES
from takedown.notices.render import render_mandate, store_element_check
from takedown.workflow import record_event, transition

# Photos of the signed paper: a few pages at most, each a phone photo, not a poster.
MAX_PAGES = 10
MAX_PIXELS = 40_000_000
# Pages are scaled down to about 200 dpi on A4: legible, and a mandate of ten photos stays small.
MAX_SIDE = 2400
IMAGE_FORMATS = frozenset({"JPEG", "PNG", "HEIF"})
# Notices that have not gone out: a revocation returns them to draft.
UNSENT = (
    Notice.Status.IN_REVIEW,
    Notice.Status.APPROVED,
    Notice.Status.QUEUED,
    Notice.Status.AWAITING_MANUAL,
)
MANDATE_REGIMES = frozenset(code for code, regime in REGIMES.items() if regime.needs_mandate)


class MandateRefused(NotPossible):
    """The upload is not a signed mandate. `code` says why, for the portal's wording:
    "too_large", "not_pdf" (neither a PDF nor photos), "too_many" (pages), "unsigned",
    "damaged" (a photo that cannot be decoded: cut off in the upload or corrupt), "too_big_photo".
    `page` is the 1-based position of the photo at fault, where one is."""

    def __init__(self, code: str, message: str, *, page: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.page = page


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def issue_form(case: Case, *, language: str | None = None) -> bytes:
    """The form for the person to sign, in `language` (else the one on file), remembered by
    its hash (see the module docstring)."""
    pdf = render_mandate(case, language)
    IssuedMandateForm.objects.get_or_create(case=case, sha256=sha256(pdf))
    return pdf


def signed_pdf(files: Sequence[bytes]) -> bytes:
    """One PDF from an upload: a single PDF as it is, or photos (JPEG, PNG, HEIC) as one page
    each, in the order given."""
    if not files:
        raise MandateRefused("not_pdf", gettext("no file was uploaded"))
    if sum(len(data) for data in files) > settings.TAKEDOWN_PORTAL_UPLOAD_MAX_BYTES:
        limit = settings.TAKEDOWN_PORTAL_UPLOAD_MAX_BYTES // (1024 * 1024)
        raise MandateRefused(
            "too_large", gettext("the upload is larger than %(limit)d MB") % {"limit": limit}
        )
    if len(files) == 1 and files[0].startswith(b"%PDF"):
        return files[0]
    if any(data.startswith(b"%PDF") for data in files):
        raise MandateRefused("not_pdf", gettext("upload one PDF, or photos of the pages, not both"))
    if len(files) > MAX_PAGES:
        raise MandateRefused(
            "too_many",
            gettext("at most %(max)d photos (one per page)") % {"max": MAX_PAGES},
        )
    return _photos_to_pdf(files)


def _photos_to_pdf(files: Sequence[bytes]) -> bytes:
    from PIL import Image, ImageOps, UnidentifiedImageError
    from pillow_heif import register_heif_opener

    register_heif_opener()
    pages = []
    for number, data in enumerate(files, 1):
        # Which photo to take again, where there are several to choose from.
        at = number if len(files) > 1 else None
        try:
            image = Image.open(io.BytesIO(data))
        except (UnidentifiedImageError, OSError):
            raise MandateRefused(
                "not_pdf",
                gettext("file %(number)d is neither a PDF nor a photo") % {"number": number},
                page=at,
            ) from None
        if image.format not in IMAGE_FORMATS:
            raise MandateRefused(
                "not_pdf",
                gettext("photos must be JPEG, PNG or HEIC, not %(format)s (file %(number)d)")
                % {"format": image.format, "number": number},
                page=at,
            )
        # Checked before decoding: the header's size is what decoding would allocate.
        if image.width * image.height > MAX_PIXELS:
            raise MandateRefused(
                "too_big_photo",
                gettext("photo %(number)d is too large to be a page") % {"number": number},
                page=at,
            )
        if not complete_image(data, image.format):
            raise _damaged(number, at)
        try:
            # Phone photos store their rotation apart from the pixels. A header that opens can
            # still front a cut-off or corrupt body: decoding is where that shows.
            page = ImageOps.exif_transpose(image).convert("RGB")
            page.thumbnail((MAX_SIDE, MAX_SIDE))
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            raise _damaged(number, at) from None
        pages.append(page)
    out = io.BytesIO()
    pages[0].save(out, format="PDF", save_all=True, append_images=pages[1:], resolution=200.0)
    return out.getvalue()


def _damaged(number: int, at: int | None) -> MandateRefused:
    return MandateRefused(
        "damaged",
        gettext("photo %(number)d cannot be read: it is damaged or cut off") % {"number": number},
        page=at,
    )


def store_signed(case: Case, files: Sequence[bytes], *, actor: Any = None) -> Mandate:
    """Keep the signed mandate (encrypted at rest): a PDF, or photos made into one. `actor`
    None means the person uploaded it in the portal."""
    pdf = signed_pdf(files)
    digest = sha256(pdf)
    if IssuedMandateForm.objects.filter(sha256=digest).exists():
        raise MandateRefused(
            "unsigned",
            gettext("this is the unsigned form as we generated it: upload the signed copy"),
        )
    by_staff = getattr(actor, "pk", None) is not None
    with transaction.atomic():
        mandate = Mandate.objects.create(
            case=case,
            signed_document=pdf,
            sha256=digest,
            source=Mandate.Source.STAFF if by_staff else Mandate.Source.PORTAL,
            uploaded_by=actor if by_staff else None,
        )
        record_event(
            case,
            "mandate.uploaded",
            actor=actor,
            visible_to_person=True,
            sentence="mandate.uploaded",
            data={"mandate": mandate.pk, **({} if by_staff else {"by": "person"})},
        )
    for notice in Notice.objects.filter(case=case, status=Notice.Status.DRAFT):
        store_element_check(notice)
    return mandate


def current(case_id: int) -> Mandate | None:
    return (
        Mandate.objects.filter(case_id=case_id, revoked_at__isnull=True)
        .order_by("-uploaded_at", "-pk")
        .first()
    )


def revoke(case: Case, *, actor: Any = None) -> list[int]:
    """The person (actor None, through the portal) or staff revoke the mandate. Returns the
    notices returned to draft."""
    by_staff = getattr(actor, "pk", None) is not None
    now = timezone.now()
    stopped: list[int] = []
    with transaction.atomic():
        live = list(Mandate.objects.select_for_update().filter(case=case, revoked_at__isnull=True))
        if not live:
            raise MandateRefused("none", gettext("there is no mandate on file to revoke"))
        Mandate.objects.filter(pk__in=[m.pk for m in live]).update(
            revoked_at=now, revoked_by=actor if by_staff else None
        )
        record_event(
            case,
            "mandate.revoked",
            actor=actor,
            visible_to_person=True,
            sentence="mandate.revoked",
            data={"mandates": [m.pk for m in live], **({} if by_staff else {"by": "person"})},
        )
        unsent = Notice.objects.select_for_update().filter(
            case=case, status__in=UNSENT, regime__in=MANDATE_REGIMES
        )
        for notice in unsent:
            transition(
                notice,
                Notice.Status.DRAFT,
                actor=actor,
                message="Stopped: the mandate it needs was revoked.",
                fields={"approved_by": None, "approved_at": None, "next_attempt_at": None},
            )
            stopped.append(notice.pk)
    for notice in Notice.objects.filter(case=case, status=Notice.Status.DRAFT):
        store_element_check(notice)
    return stopped


def allows_sending(notice: Notice) -> bool:
    """Whether the notice may go out as far as the mandate goes: its regime needs none, or one
    is on file. Call inside the claiming transaction: it locks the live mandate rows, so a
    revocation waits for the claim or the claim sees the revocation."""
    if notice.regime not in MANDATE_REGIMES:
        return True
    return (
        Mandate.objects.select_for_update()
        .filter(case_id=notice.case_id, revoked_at__isnull=True)
        .exists()
    )
