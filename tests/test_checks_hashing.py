from __future__ import annotations

import hashlib
import io
import struct
import zlib

import pytest

from takedown.checks.hashing import (
    MAX_PIXELS,
    NotAnImage,
    compute_hashes,
    hamming,
    image_hashes,
    normalise_hash,
)
from takedown.sandbox.images import make_image

# What the rest of the pipeline may rely on (NOTES-tech.md, "Same image or not").
SAME_PHASH = 2  # re-encoded or resized copies of one picture
SAME_PDQ = 16
UNRELATED_PHASH = 16  # different pictures are much further apart (around 30)
UNRELATED_PDQ = 90


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares width x height pixels but carries almost no data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _phash_distance(a: bytes, b: bytes) -> int:
    first, second = image_hashes(a), image_hashes(b)
    assert first is not None
    assert second is not None
    return hamming(first.phash, second.phash)


def test_image_hashes_jpeg_fields() -> None:
    data = make_image(1)
    hashes = image_hashes(data)
    assert hashes is not None
    assert hashes.sha256 == hashlib.sha256(data).hexdigest()
    assert (hashes.width, hashes.height, hashes.format) == (640, 480, "JPEG")
    assert len(hashes.phash) == 16
    assert len(hashes.pdq) == 64
    assert int(hashes.pdq, 16) != 0
    assert hashes.pdq_quality >= 50


def test_image_hashes_same_bytes_same_hashes() -> None:
    assert image_hashes(make_image(3)) == image_hashes(make_image(3))


@pytest.mark.parametrize(
    "variant",
    [
        {"quality": 50},
        {"quality": 20},
        {"size": (320, 240)},
        {"size": (200, 150)},
        {"size": (1600, 1200)},
        {"fmt": "PNG"},
        {"fmt": "WEBP"},
        {"fmt": "GIF"},
    ],
    ids=repr,
)
@pytest.mark.parametrize("seed", [1, 2, 7])
def test_image_hashes_variant_of_same_picture_is_close(seed: int, variant: dict) -> None:
    original = image_hashes(make_image(seed))
    copy = image_hashes(make_image(seed, **variant))
    assert original is not None
    assert copy is not None
    assert copy.sha256 != original.sha256
    assert hamming(original.phash, copy.phash) <= SAME_PHASH
    assert hamming(original.pdq, copy.pdq) <= SAME_PDQ


@pytest.mark.parametrize("other", [{"seed": 2}, {"seed": 5}, {"placeholder": True}], ids=repr)
def test_image_hashes_other_picture_is_far(other: dict) -> None:
    original = image_hashes(make_image(1))
    different = image_hashes(make_image(**other))
    assert original is not None
    assert different is not None
    assert hamming(original.phash, different.phash) >= UNRELATED_PHASH
    assert hamming(original.pdq, different.pdq) >= UNRELATED_PDQ


def test_image_hashes_reduced_decode_matches_full_decode() -> None:
    # Reference hashes a person supplies were computed on the full picture elsewhere.
    import imagehash
    from PIL import Image

    for seed in (1, 4, 9):
        data = make_image(seed)
        ours = image_hashes(data)
        assert ours is not None
        full = str(imagehash.phash(Image.open(io.BytesIO(data))))
        assert hamming(ours.phash, full) <= SAME_PHASH


@pytest.mark.parametrize("fmt", ["GIF", "PNG"])
def test_image_hashes_palette_with_transparency(fmt: str) -> None:
    from PIL import Image

    palette = Image.open(io.BytesIO(make_image(1))).convert("P")
    out = io.BytesIO()
    # PNG stores per-entry alpha as bytes; Pillow warns when that is converted straight to L,
    # and filterwarnings=error turns the warning into a failure.
    transparency = 0 if fmt == "GIF" else bytes([0] * 10 + [255] * 246)
    palette.save(out, fmt, transparency=transparency)
    assert _phash_distance(make_image(1), out.getvalue()) <= SAME_PHASH


def test_compute_hashes_decompression_bomb_refused() -> None:
    with pytest.raises(NotAnImage) as caught:
        compute_hashes(_png_header(100_000, 100_000))
    assert caught.value.reason == "declares too many pixels (decompression bomb)"


def test_compute_hashes_over_pixel_cap_refused() -> None:
    # Below Pillow's own limit (about 89 megapixels), above ours.
    with pytest.raises(NotAnImage) as caught:
        compute_hashes(_png_header(8000, 6000))
    assert caught.value.reason == f"declares too many pixels (8000x6000, cap {MAX_PIXELS})"


def test_image_hashes_bomb_is_none() -> None:
    assert image_hashes(_png_header(100_000, 100_000)) is None


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"<!doctype html><title>Not found</title>",
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n",
    ],
    ids=["empty", "html", "eps"],
)
def test_compute_hashes_not_an_image(data: bytes) -> None:
    with pytest.raises(NotAnImage) as caught:
        compute_hashes(data)
    assert caught.value.reason == "not an image in a web format"


def test_compute_hashes_truncated_jpeg() -> None:
    data = make_image(1)
    with pytest.raises(NotAnImage) as caught:
        compute_hashes(data[: len(data) // 2])
    assert caught.value.reason == "damaged or truncated image data"


def test_hamming_counts_bits() -> None:
    assert hamming("ff00", "0f00") == 4
    assert hamming("ABCD", "abcd") == 0
    assert hamming("0" * 64, "f" * 64) == 256


def test_hamming_length_mismatch() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        hamming("ff", "fff")


def test_normalise_hash_accepts_and_lowercases() -> None:
    assert normalise_hash(" B93C324E670D6327 \n", 64) == "b93c324e670d6327"


@pytest.mark.parametrize("value", ["b93c324e670d632", "b93c324e670d6327a", "g93c324e670d6327"])
def test_normalise_hash_rejects(value: str) -> None:
    with pytest.raises(ValueError, match="expected 16 hexadecimal digits"):
        normalise_hash(value, 64)


def _decodes_at_once(monkeypatch: pytest.MonkeyPatch, images: list[bytes]) -> tuple[int, list]:
    """Hash `images` on eight threads (as a recheck pool does); each decode lasts at least
    50 ms, so decodes the budget allows at once do overlap. Returns the most decodes seen
    running at the same moment, and the hashes."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from takedown.checks import hashing

    active = most = 0
    lock = threading.Lock()
    original = hashing._luminance

    def slow(picture):  # type: ignore[no-untyped-def]
        nonlocal active, most
        with lock:
            active += 1
            most = max(most, active)
        try:
            time.sleep(0.05)
            return original(picture)
        finally:
            with lock:
                active -= 1

    monkeypatch.setattr(hashing, "_luminance", slow)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(compute_hashes, images))
    return most, results


def test_compute_hashes_concurrent_decodes_stay_within_the_memory_budget(
    settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from takedown.checks.hashing import DECODE_BYTES_PER_PIXEL, DECODES

    png = make_image(3, fmt="PNG", size=(400, 300))
    cost = 400 * 300 * DECODE_BYTES_PER_PIXEL
    settings.TAKEDOWN_DECODE_MEMORY_BYTES = 2 * cost + cost // 2  # two fit, three do not

    most, results = _decodes_at_once(monkeypatch, [png] * 8)

    assert most == 2
    assert len({(r.sha256, r.phash, r.pdq) for r in results}) == 1
    assert DECODES.in_use == 0


def test_compute_hashes_picture_larger_than_the_budget_decodes_alone(
    settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from takedown.checks.hashing import DECODES

    settings.TAKEDOWN_DECODE_MEMORY_BYTES = 1_000  # less than any one picture

    most, results = _decodes_at_once(monkeypatch, [make_image(seed) for seed in range(6)])

    assert most == 1
    assert [r.width for r in results] == [640] * 6
    assert DECODES.in_use == 0


def test_compute_hashes_jpeg_costs_its_reduced_decode(settings, monkeypatch) -> None:
    """A JPEG decodes at 1/8 scale for the hashes: its share of the budget is that size."""
    from takedown.checks.hashing import DECODE_BYTES_PER_PIXEL

    jpeg = make_image(4, fmt="JPEG", size=(1024, 768))
    settings.TAKEDOWN_DECODE_MEMORY_BYTES = 4 * (128 * 96 * DECODE_BYTES_PER_PIXEL)

    most, _results = _decodes_at_once(monkeypatch, [jpeg] * 8)

    assert most == 4
