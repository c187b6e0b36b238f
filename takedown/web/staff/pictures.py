"""Reference hashes from the person's original picture, chosen on the caseworker's device.

The picture is personal data of the most sensitive kind, so it never touches a disk and is
never logged: this view replaces Django's upload handlers (which spool uploads above 2.5 MB to
a temporary file) with one that keeps the file in memory whatever its size and refuses it
beyond TAKEDOWN_REFERENCE_IMAGE_MAX_BYTES. SHA-256, pHash and PDQ are computed from the bytes
in memory (takedown.checks.hashing) and only the hashes are stored; the bytes are dropped as
the request ends.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.files.uploadhandler import MemoryFileUploadHandler, StopUpload
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from takedown.checks.hashing import NotAnImage, compute_hashes
from takedown.checks.references import ReferenceHashError, store_hashes
from takedown.web.access import get_case_for, staff_required


class PictureInMemory(MemoryFileUploadHandler):
    """Keeps the upload in memory at any size (never a temporary file), up to the cap."""

    def handle_raw_input(
        self,
        input_data: Any,
        META: Any,
        content_length: int,
        boundary: Any,
        encoding: str | None = None,
    ) -> None:
        self.activated = True
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > settings.TAKEDOWN_REFERENCE_IMAGE_MAX_BYTES:
            self.file.close()  # what was read so far is dropped too
            raise StopUpload(connection_reset=False)
        return super().receive_data_chunk(raw_data, start)


@staff_required
@require_POST
@csrf_exempt  # the CSRF check runs below, once the memory-only handler is in place
def reference_picture(request: HttpRequest, reference: str) -> HttpResponse:
    request.upload_handlers = [PictureInMemory(request)]
    return _hash_picture(request, reference)


@csrf_protect
def _hash_picture(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for(request.user, reference)
    back = redirect("staff:case", reference=case.reference)
    upload = request.FILES.get("picture")
    if upload is None:
        messages.error(
            request,
            _("Choose a picture (at most %(size)s).")
            % {"size": filesizeformat(settings.TAKEDOWN_REFERENCE_IMAGE_MAX_BYTES)},
        )
        return back
    data = upload.read()
    upload.close()
    try:
        hashes = compute_hashes(data)
    except NotAnImage:
        messages.error(request, _("This file is not a picture that can be read."))
        return back
    finally:
        del data
    url = request.POST.get("url", "").strip()
    try:
        report = store_hashes(
            case,
            {"sha256": hashes.sha256, "phash": hashes.phash, "pdq": hashes.pdq},
            urls=[url] if url else None,
            actor=request.user,
        )
    except ReferenceHashError as refused:
        messages.error(request, _("Nothing was stored: %(error)s.") % {"error": refused})
        return back
    messages.success(
        request,
        ngettext(
            "The picture's fingerprints were stored for %(n)d link; the picture was not kept.",
            "The picture's fingerprints were stored for %(n)d links; the picture was not kept.",
            report.updated,
        )
        % {"n": report.updated},
    )
    return back
