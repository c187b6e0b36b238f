"""PDF rendering with WeasyPrint, which may fetch nothing but our own bundled assets.

WeasyPrint follows every URL in the HTML it renders (images, stylesheets, fonts, attachments,
SVG references) with its `URLFetcher`. Notices carry strings from WHOIS, RDAP, datasets and
users; they are escaped in the templates, and this fetcher is the second wall: it serves
`takedown-asset:` URLs from ASSET_DIR and `data:` URLs, and refuses everything else (file://,
http(s)://, relative paths) before anything touches the filesystem or the network
(WeasyPrint's SSRF advisories fixed in 68 and 70 are this class of bug). Fonts are system fonts
found through fontconfig, never @font-face downloads.

WeasyPrint is imported inside the functions: it costs most of a second at import.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes

if TYPE_CHECKING:
    from weasyprint.text.fonts import FontConfiguration
    from weasyprint.urls import URLFetcher


logger = logging.getLogger(__name__)

ASSET_SCHEME = "takedown-asset"
ASSET_DIR = Path(__file__).resolve().parent.parent / "static" / "takedown"
# Plain names in plain folders: no "..", no "%", no backslash, no leading slash.
ASSET_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*(?:/[a-z0-9][a-z0-9_-]*)*\.(css|svg|png)", re.I)
ASSET_TYPES = {"css": "text/css", "svg": "image/svg+xml", "png": "image/png"}


class RefusedURL(ValueError):
    """The PDF renderer asked for a URL that is not a bundled asset or a data: URL."""


def asset_url(name: str) -> str:
    if not ASSET_NAME.fullmatch(name):
        raise ValueError(f"not an asset name: {name!r}")
    return f"{ASSET_SCHEME}:{name}"


def asset_path(url: str) -> Path:
    """The file behind a `takedown-asset:` URL, or RefusedURL."""
    name = url.removeprefix(f"{ASSET_SCHEME}:")
    if name == url or not ASSET_NAME.fullmatch(name):
        raise RefusedURL("not a bundled asset")
    root = ASSET_DIR.resolve()
    path = (root / name).resolve()
    # A symlink inside the asset folder must not lead out of it.
    if not path.is_relative_to(root) or not path.is_file():
        raise RefusedURL("not a bundled asset")
    return path


def decode_data_url(url: str) -> tuple[bytes, str]:
    """The bytes and media type of a data: URL (RFC 2397)."""
    header, comma, payload = url.removeprefix("data:").partition(",")
    if not comma:
        raise ValueError("data: URL without a comma")
    params = header.split(";")
    is_base64 = params[-1].strip().lower() == "base64"
    if is_base64:
        params = params[:-1]
    mediatype = ";".join(params).strip() or "text/plain;charset=US-ASCII"
    data = unquote_to_bytes(payload)
    return (base64.b64decode(data, validate=True) if is_base64 else data), mediatype


@cache
def _fetcher_class() -> type[URLFetcher]:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class AssetOnlyURLFetcher(URLFetcher):
        """Serves bundled assets and data: URLs; refuses everything else.

        `served` and `refused` count per instance, so a test (or a caller) can see what a
        rendering asked for."""

        def __init__(self) -> None:
            super().__init__(
                timeout=1,
                allowed_protocols=(ASSET_SCHEME, "data"),
                allow_redirects=False,
                fail_on_errors=False,
            )
            # The urllib handlers URLFetcher installs could open file:// and http:// if
            # anything reached OpenerDirector's machinery; leave it nothing to open with.
            self.handlers: list[Any] = []
            self.handle_open: dict[str, Any] = {}
            self.handle_error: dict[str, Any] = {}
            self.process_request: dict[str, Any] = {}
            self.process_response: dict[str, Any] = {}
            self.served = 0
            self.refused = 0

        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            scheme = url.split(":", 1)[0].lower() if ":" in url else ""
            try:
                if scheme == ASSET_SCHEME:
                    path = asset_path(url)
                    response = URLFetcherResponse(
                        url,
                        path.read_bytes(),
                        {"Content-Type": ASSET_TYPES[path.suffix[1:].lower()]},
                    )
                elif scheme == "data":
                    body, mediatype = decode_data_url(url)
                    response = URLFetcherResponse(url, body, {"Content-Type": mediatype})
                else:
                    raise RefusedURL("only bundled assets and data: URLs are allowed")
            except RefusedURL:
                self.refused += 1
                # The scheme only: the URL itself may carry personal data.
                logger.warning("PDF renderer refused a %s URL", scheme or "relative")
                raise
            self.served += 1
            return response

    return AssetOnlyURLFetcher


def url_fetcher() -> URLFetcher:
    """A fresh fetcher for one rendering (it counts what it served and refused)."""
    return _fetcher_class()()


_per_thread = threading.local()


def _font_config() -> FontConfiguration:
    """One fontconfig setup per thread, reused: building it is about a quarter of the time of a
    one-page PDF. Per thread because WeasyPrint promises no thread safety; sharing is safe
    because our templates declare no @font-face, the only thing that would accumulate in it."""
    from weasyprint.text.fonts import FontConfiguration

    config = getattr(_per_thread, "font_config", None)
    if config is None:
        config = _per_thread.font_config = FontConfiguration()
    return config


def html_to_pdf(html: str, *, fetcher: URLFetcher | None = None) -> bytes:
    """Render trusted template output to PDF. No base URL: relative references resolve to
    nothing and are refused."""
    from weasyprint import HTML

    document = HTML(string=html, url_fetcher=fetcher or url_fetcher())
    return document.write_pdf(font_config=_font_config())
