"""Photos of the signed authorisation, taken with a phone, made into one PDF.

A person without a scanner photographs the signed pages; the notices attach the authorisation
as a PDF, so the pages (JPEG, PNG, or the HEIC of iPhones) become one PDF, a page per photo in
the order chosen. Everything stays in memory: the photos are personal data and must not sit in
a temporary file in clear, and only the PDF is kept (encrypted, by store_signed_mandate).

Until the mandate storage code offers its own conversion, this module is the one place that
does it (the portal's upload form calls pages_to_pdf).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

# A phone camera takes 12 to 50 megapixels; more than this is no photo of a page.
MAX_PAGE_PIXELS = 60_000_000
MAX_PAGES = 12
# Pages are scaled to at most this many pixels on the long side: A4 at 200 dpi, readable, and
# a PDF of a few pages stays well under the upload cap.
PAGE_LONG_SIDE = 2339
PHOTO_FORMATS = ("JPEG", "PNG", "HEIF")


class ScanError(ValueError):
    """A photo that cannot become a page; `reason` is one of the codes the form explains."""

    def __init__(self, reason: str, page: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.page = page


@dataclass(frozen=True)
class Page:
    number: int
    data: bytes


def _register_heif() -> bool:
    try:
        from pillow_heif import register_heif_opener
    except ImportError:  # pragma: no cover - pillow-heif is a dependency; HEIC is refused without
        return False
    register_heif_opener()
    return True


def is_photo(data: bytes) -> bool:
    """JPEG, PNG or HEIC/HEIF by their first bytes (what a browser says about a file is not
    trusted)."""
    return (
        data.startswith(b"\xff\xd8\xff")
        or data.startswith(b"\x89PNG\r\n\x1a\n")
        or (data[4:8] == b"ftyp" and data[8:12] in {b"heic", b"heix", b"mif1", b"msf1", b"heif"})
    )


def _page_image(page: Page) -> Any:
    from PIL import Image, ImageOps, UnidentifiedImageError

    _register_heif()
    Image.init()
    formats = [name for name in PHOTO_FORMATS if name in Image.OPEN]
    try:
        picture = Image.open(io.BytesIO(page.data), formats=formats)
    except UnidentifiedImageError:
        raise ScanError("not_photo", page.number) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ScanError("too_many_pixels", page.number) from None
    except (OSError, SyntaxError, ValueError):
        raise ScanError("damaged", page.number) from None
    width, height = picture.size
    if width * height > MAX_PAGE_PIXELS:
        raise ScanError("too_many_pixels", page.number)
    try:
        # JPEG decodes at a reduced scale directly: a 50 MP photo never needs 150 MB.
        picture.draft("RGB", (PAGE_LONG_SIDE, PAGE_LONG_SIDE))
        # Phones store the camera's orientation in EXIF instead of turning the pixels.
        upright = ImageOps.exif_transpose(picture).convert("RGB")
        upright.thumbnail((PAGE_LONG_SIDE, PAGE_LONG_SIDE))
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError):
        raise ScanError("damaged", page.number) from None
    return upright


def pages_to_pdf(photos: list[bytes]) -> bytes:
    """One PDF with a page per photo, in the given order. Raises ScanError."""
    if not photos:
        raise ScanError("no_pages")
    if len(photos) > MAX_PAGES:
        raise ScanError("too_many_pages")
    images = [_page_image(Page(number, data)) for number, data in enumerate(photos, start=1)]
    out = io.BytesIO()
    # 200 dpi: the scaled page prints at A4 size.
    images[0].save(out, "PDF", save_all=True, append_images=images[1:], resolution=200.0)
    return out.getvalue()
