"""Deterministic test pictures, so tests can tell "same image, other file" from "other image".

A "photo" is drawn from a seed at a fixed canvas size and only then scaled and encoded, so
two calls with one seed show the same picture whatever the size, format or JPEG quality:
exactly the variants a re-uploading site produces. The "placeholder" is what hosts put
in place of a removed image: flat grey with a crossed-out frame, unlike any photo.
"""

from __future__ import annotations

import functools
import io
import random
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Pillow loads only when an image is drawn
    import PIL.Image

CANVAS = (640, 480)
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}


@functools.lru_cache(maxsize=512)
def make_image(
    seed: int = 1,
    *,
    fmt: str = "JPEG",
    quality: int = 90,
    size: tuple[int, int] = CANVAS,
    placeholder: bool = False,
) -> bytes:
    """Encoded image bytes; the same arguments always give the same bytes."""
    from PIL import Image

    picture = _draw_placeholder() if placeholder else _draw_photo(seed)
    if size != CANVAS:
        picture = picture.resize(size, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if fmt.upper() == "JPEG":
        picture.save(out, "JPEG", quality=quality)
    else:
        picture.save(out, fmt.upper())
    return out.getvalue()


def _draw_photo(seed: int) -> PIL.Image.Image:
    from PIL import Image, ImageDraw, ImageOps

    rng = random.Random(seed)

    def colour() -> tuple[int, int, int]:
        return (rng.randrange(256), rng.randrange(256), rng.randrange(256))

    # A sky-like gradient plus large shapes: enough low-frequency structure for perceptual
    # hashes to be stable under re-encoding and scaling, and different between seeds.
    gradient = Image.linear_gradient("L").resize(CANVAS)
    picture = ImageOps.colorize(gradient, colour(), colour()).convert("RGB")
    draw = ImageDraw.Draw(picture)
    width, height = CANVAS
    for _ in range(14):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1, y1 = x0 + rng.randrange(60, 320), y0 + rng.randrange(60, 240)
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((x0, y0, x1, y1), fill=colour())
    return picture


def _draw_placeholder() -> PIL.Image.Image:
    from PIL import Image, ImageDraw

    picture = Image.new("RGB", CANVAS, (214, 214, 214))
    draw = ImageDraw.Draw(picture)
    frame = (200, 140, 440, 340)
    draw.rectangle(frame, outline=(150, 150, 150), width=12)
    draw.line(frame, fill=(150, 150, 150), width=12)
    draw.line((frame[0], frame[3], frame[2], frame[1]), fill=(150, 150, 150), width=12)
    return picture
