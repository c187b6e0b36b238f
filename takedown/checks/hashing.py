"""Fingerprints of a fetched image: SHA-256 of the bytes plus perceptual hashes (pHash, PDQ).

The image bytes are never stored; these hashes are the evidence. SHA-256 proves the same
file, pHash and PDQ survive re-encoding and resizing (see NOTES-tech.md, "Same image or not").

Speed: a full decode plus pHash of a 640x480 JPEG costs about 2.3 ms of CPU, most of a
recheck's cost. Both perceptual hashes only look at a tiny luminance picture (pHash 32x32,
PDQ 64x64), so the JPEG is decoded at a reduced DCT scale, in luminance only (Pillow's
``draft``), and everything is brought to a 64-pixel short side before hashing. Measured on
make_image photos: same-picture variants (JPEG quality 90/50/20, PNG, WebP, GIF, 200x150 to
3200x2400) stay within pHash 2 and PDQ 8 of each other and within pHash 2 and PDQ 18 of
hashes of the full-size decode; unrelated photos are at least pHash 18 and PDQ 100 apart.

Memory: each image is capped at MAX_PIXELS, but rechecks decode in a thread pool that grows
with the CPU count, and eight large PNGs at once took one run to 1.15 GB. So every decode
first takes its estimated bytes (DECODE_BYTES_PER_PIXEL per pixel of the picture as it will
be decoded) from one budget per process, TAKEDOWN_DECODE_MEMORY_BYTES, and waits while the
decodes running hold too much of it. A picture larger than the whole budget decodes alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings

# Decoded pixels we accept. A 25 MB body can declare a billion pixels (a PNG of one flat colour
# compresses ~1000:1), and decoding that exhausts the worker's memory: a decompression bomb.
# 40 megapixels covers every photo a site serves (a 48 MP phone original is 8000x6000, but
# is rarely served as is) and keeps a worst-case RGBA decode around 160 MB.
MAX_PIXELS = 40_000_000

# Only the formats sites serve images in. Image.open would otherwise try every plugin,
# including EPS, which hands the bytes to Ghostscript.
WEB_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "AVIF", "BMP")

# Short side of the picture the perceptual hashes are computed from (see module docstring).
HASH_SIDE = 64

# Worst case held per decoded pixel: an RGBA decode (4 bytes) and its luminance copy (1).
DECODE_BYTES_PER_PIXEL = 5


class DecodeBudget:
    """A semaphore weighted by bytes: `hold(cost)` waits until `cost` more bytes fit in the
    budget (a cost above the whole budget waits until nothing else is held)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.in_use = 0
        self.high_water = 0  # the most bytes held at once, for tests and benchmarks

    @contextlib.contextmanager
    def hold(self, cost: int, budget: int) -> Iterator[None]:
        cost = min(cost, budget)
        with self._changed:
            self._changed.wait_for(lambda: self.in_use + cost <= budget)
            self.in_use += cost
            self.high_water = max(self.high_water, self.in_use)
        try:
            yield
        finally:
            with self._changed:
                self.in_use -= cost
                self._changed.notify_all()


DECODES = DecodeBudget()


@dataclass(frozen=True, slots=True)
class ImageHashes:
    sha256: str  # 64 hex digits, of the bytes as served
    phash: str  # 16 hex digits: imagehash.phash, 64 bits
    pdq: str  # 64 hex digits: 256-bit PDQ, in ThreatExchange's hex order
    pdq_quality: int  # 0-100; below 50 the PDQ hash is unreliable (flat or tiny pictures)
    width: int
    height: int
    format: str  # Pillow's name: JPEG, PNG, ...


class NotAnImage(ValueError):
    """The bytes are not an image we can decode; ``reason`` says why in plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def image_hashes(data: bytes) -> ImageHashes | None:
    """The hashes of ``data``, or None when it is not a decodable image (see compute_hashes)."""
    try:
        return compute_hashes(data)
    except NotAnImage:
        return None


def complete_image(data: bytes, image_format: str) -> bool:
    """Whether the file ends the way its format says it must. Pillow's own truncation check
    cannot be trusted in this process: WeasyPrint sets ImageFile.LOAD_TRUNCATED_IMAGES = True
    globally on import, after which Pillow pads a truncated image silently."""
    tail = data[-64:].rstrip(b"\x00 \r\n")
    if image_format == "JPEG":
        return b"\xff\xd9" in tail
    if image_format == "PNG":
        return b"IEND" in tail
    if image_format == "GIF":
        return tail.endswith(b";")
    if image_format == "WEBP":
        return int.from_bytes(data[4:8], "little") + 8 <= len(data)
    return True


def compute_hashes(data: bytes, *, max_pixels: int = MAX_PIXELS) -> ImageHashes:
    """The hashes of ``data``; raises NotAnImage with a reason when it cannot be decoded."""
    import imagehash
    import numpy as np
    import pdqhash
    from PIL import Image, UnidentifiedImageError

    Image.init()  # registers every plugin, so the formats filter below is exact
    formats = [name for name in WEB_FORMATS if name in Image.OPEN]
    try:
        # Image.open reads only the header; nothing is decoded before the size check.
        picture: Image.Image = Image.open(io.BytesIO(data), formats=formats)
    except UnidentifiedImageError:
        raise NotAnImage("not an image in a web format") from None
    # Pillow raises the error above 2x its MAX_IMAGE_PIXELS and warns above 1x; the warning
    # arrives as an exception only where warnings are errors (tests), so catch both.
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise NotAnImage("declares too many pixels (decompression bomb)") from None
    except (OSError, SyntaxError, ValueError):
        raise NotAnImage("damaged image header") from None

    width, height = picture.size
    if width * height > max_pixels:
        raise NotAnImage(f"declares too many pixels ({width}x{height}, cap {max_pixels})")
    image_format = picture.format or ""
    if not complete_image(data, image_format):
        raise NotAnImage("damaged or truncated image data")
    try:
        # Decode at 1/2, 1/4 or 1/8 scale while both sides stay >= HASH_SIDE, luminance only.
        # A no-op for formats other than JPEG.
        picture.draft("L", (HASH_SIDE, HASH_SIDE))
        decoded_w, decoded_h = picture.size
        cost = decoded_w * decoded_h * DECODE_BYTES_PER_PIXEL
        with DECODES.hold(cost, settings.TAKEDOWN_DECODE_MEMORY_BYTES):
            grey = _luminance(picture)
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError):
        raise NotAnImage("damaged or truncated image data") from None

    short = min(grey.size)
    if short > HASH_SIDE:
        w, h = grey.size
        grey = grey.resize(
            (max(1, round(w * HASH_SIDE / short)), max(1, round(h * HASH_SIDE / short))),
            Image.Resampling.BILINEAR,
        )
    luma = np.asarray(grey)
    # pdqhash takes RGB and converts it to luminance itself: three equal channels give luma back.
    bits, quality = pdqhash.compute(np.repeat(luma[:, :, None], 3, axis=2))
    return ImageHashes(
        sha256=hashlib.sha256(data).hexdigest(),
        phash=str(imagehash.phash(grey)),
        # pdqhash lists the bits most significant first: packed, that is ThreatExchange's hex.
        pdq=np.packbits(bits.astype(np.uint8)).tobytes().hex(),
        pdq_quality=int(quality),
        width=width,
        height=height,
        format=image_format,
    )


def _luminance(picture: Any) -> Any:
    """The decode itself: the only step that holds the whole picture in memory."""
    if picture.mode in ("P", "PA") or "transparency" in picture.info:
        # Pillow warns when converting palette transparency straight to L.
        picture = picture.convert("RGBA")
    return picture.convert("L")


def hamming(a_hex: str, b_hex: str) -> int:
    """Number of differing bits between two hashes written in hex of the same length."""
    if len(a_hex) != len(b_hex):
        raise ValueError(f"hashes differ in length: {len(a_hex)} and {len(b_hex)} hex digits")
    return (int(a_hex, 16) ^ int(b_hex, 16)).bit_count()


def normalise_hash(value: str, bits: int) -> str:
    """``value`` as lowercase hex of exactly ``bits`` bits; ValueError otherwise.

    For reference hashes a person supplies (form input), so a typo fails at entry rather
    than at every later check.
    """
    text = value.strip().lower()
    if len(text) != bits // 4 or any(c not in "0123456789abcdef" for c in text):
        raise ValueError(f"expected {bits // 4} hexadecimal digits")
    return text
