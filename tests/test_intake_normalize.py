from __future__ import annotations

import hashlib
import socket

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from takedown.intake import normalize
from takedown.intake.normalize import (
    MAX_URL_LENGTH,
    InvalidURL,
    NormalizedURL,
    host_for_display,
    host_to_unicode,
    normalize_url,
    url_sha256,
)
from tests.conftest import LAION_SAMPLE, shared_file


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_normalize_url_idn_host_becomes_punycode_and_keeps_path_and_query() -> None:
    result = normalize_url("http://bücher.example/Ä?x=Ä")

    assert result == NormalizedURL(
        url="http://xn--bcher-kva.example/Ä?x=Ä",
        hostname="xn--bcher-kva.example",
        registered_domain="xn--bcher-kva.example",
        platform_suffix="",
        is_ip=False,
        url_sha256=_sha("http://xn--bcher-kva.example/Ä?x=Ä"),
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Upper-case IDN: IDNA 2008 with UTS 46 mapping lowercases it first.
        ("http://BÜCHER.Example/", "http://xn--bcher-kva.example/"),
        # IDNA 2008, as browsers do now; IDNA 2003 would give fass.de.
        ("http://faß.de/", "http://xn--fa-hia.de/"),
        # Refused by IDNA 2008, encoded by the IDNA 2003 fallback like browsers do.
        ("http://i❤.ws/", "http://xn--i-7iq.ws/"),
        ("http://my_site.bücher.de/", "http://my_site.xn--bcher-kva.de/"),
        # Full-width letters and ideographic full stop map to ASCII.
        (
            "http://\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45\uff0e\uff43\uff4f\uff4d/",
            "http://example.com/",
        ),
        ("http://xn--bcher-kva.example/", "http://xn--bcher-kva.example/"),
    ],
)
def test_normalize_url_international_hosts(raw: str, expected: str) -> None:
    assert normalize_url(raw).url == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTPS://WWW.Example.COM/Path/IMG.JPG?Q=A", "https://www.example.com/Path/IMG.JPG?Q=A"),
        ("Http://Example.com", "http://example.com/"),
        ("  http://example.com/x.jpg \n", "http://example.com/x.jpg"),
        ("http://example.com", "http://example.com/"),
        ("http://example.com?w=200", "http://example.com/?w=200"),
        ("http://example.com/a?b=1#frag", "http://example.com/a?b=1"),
        ("http://example.com#top", "http://example.com/"),
        ("http://example.com/a#", "http://example.com/a"),
        # Path and query byte for byte: no decoding, re-encoding, sorting or dot removal.
        (
            "http://example.com/a%2fb/../c//d.jpg?z=1&a=%41&a=2&",
            "http://example.com/a%2fb/../c//d.jpg?z=1&a=%41&a=2&",
        ),
    ],
)
def test_normalize_url_canonical_form(raw: str, expected: str) -> None:
    assert normalize_url(raw).url == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:080/a", "http://example.com/a"),
        ("http://example.com:/a", "http://example.com/a"),
        ("https://example.com:80/a", "https://example.com:80/a"),
        ("http://example.com:443/a", "http://example.com:443/a"),
        ("http://example.com:8080", "http://example.com:8080/"),
        ("http://example.com:8080?x", "http://example.com:8080/?x"),
    ],
)
def test_normalize_url_ports(raw: str, expected: str) -> None:
    result = normalize_url(raw)

    assert (result.url, result.hostname) == (expected, "example.com")


def test_normalize_url_accepts_host_of_253_characters() -> None:
    host = ("a" * 62 + ".") * 3 + "a" * 60 + ".com"

    assert len(host) == 253
    assert normalize_url(f"http://{host}./").hostname == host


def test_normalize_url_strips_one_trailing_dot() -> None:
    result = normalize_url("http://Example.COM./a")

    assert (result.url, result.hostname, result.registered_domain) == (
        "http://example.com/a",
        "example.com",
        "example.com",
    )


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty URL"),
        ("   \t ", "empty URL"),
        ("ftp://example.com/a.jpg", "scheme 'ftp' not allowed (only http and https)"),
        ("javascript:alert(1)", "scheme 'javascript' not allowed (only http and https)"),
        (
            "data:image/png;base64,iVBORw0KGgo=",
            "data: URL: the image itself, not an address it can be removed from",
        ),
        ("DATA:,x", "data: URL: the image itself, not an address it can be removed from"),
        ("file:///etc/passwd", "scheme 'file' not allowed (only http and https)"),
        ("mailto:someone@example.com", "scheme 'mailto' not allowed (only http and https)"),
        ("FTP://example.com/", "scheme 'ftp' not allowed (only http and https)"),
        ("example.com/a.jpg", "no scheme (expected http:// or https://)"),
        ("//example.com/a.jpg", "no scheme (expected http:// or https://)"),
        ("www.example.com:8080/a.jpg", "no scheme (expected http:// or https://)"),
        ("http://", "empty host"),
        ("http://:8080/a.jpg", "empty host"),
        ("http://./a.jpg", "empty host"),
        ("http://a..example.com/", "empty label in host"),
        ("http://.example.com/", "empty label in host"),
        ("http://example.com../", "empty label in host"),
        ("http://" + "a" * 64 + ".com/", "host label longer than 63 characters"),
        ("http://" + ("a" * 62 + ".") * 4 + "com/", "host longer than 253 characters"),
        ("http://exa$mple.com/", "invalid character in host"),
        ("http://" + "ü" * 64 + ".de/", "host label longer than 63 characters"),
        ("http://exa\u202emple.com/", "invalid international domain name"),
        ("http://ex%zz.com/", "invalid character in host"),
        ("http://ex%00.com/", "invalid character in host"),
        ("http://exa\x85mple.com/a", "whitespace or control character in host"),
        ("http://exa\tmple%20.com/", "invalid character in host"),
        ("http://localhost/a.jpg", "host is a single label, not a public domain name"),
        ("http://example.com:0/", "port out of range"),
        ("http://example.com:65536/", "port out of range"),
        ("http://example.com:http/", "invalid port"),
        ("http://example.com:8080:90/", "invalid port"),
        ("http://example.com:-1/", "invalid port"),
        ("http://example.com:²/", "invalid port"),
        ("http://exa mple.com/", "invalid character in host"),
        ("http://example.com/\ud800.jpg", "URL is not valid Unicode"),
        ("http://[::1/", "invalid IPv6 address"),
        ("http://[fe80::1%25eth0]/", "invalid IPv6 address"),
        ("http://[1.2.3.4]/", "invalid IPv6 address"),
        ("http://[v1.future]/", "invalid IPv6 address"),
        ("http://[::1]junk/", "invalid character in host"),
        ("http://256.1.1.1/", "invalid IPv4 address"),
        ("http://1.2.3.4.5/", "invalid IPv4 address"),
        ("http://4294967296/", "invalid IPv4 address"),
        ("http://08.1.1.1/", "invalid IPv4 address"),
        # WHATWG: a name ending in a number must be an IPv4 address.
        ("http://example.123/", "invalid IPv4 address"),
    ],
)
def test_normalize_url_rejects(raw: str, reason: str) -> None:
    with pytest.raises(InvalidURL) as caught:
        normalize_url(raw)

    assert caught.value.reason == reason
    assert str(caught.value) == reason


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # What browsers accept (WHATWG URL standard) is accepted, normalised as they do.
        # Tabs and newlines anywhere are removed, C0 controls and spaces at the ends too.
        ("http://example.com/a\tb\n.jp\r\ng", "http://example.com/ab.jpg"),
        ("\x00\x1f http://example.com/a.jpg\x01 ", "http://example.com/a.jpg"),
        ("http://exa\nmple.com/a.jpg", "http://example.com/a.jpg"),
        # Controls and invisible characters inside the path or query: sent percent-encoded.
        ("http://example.com/a\x00.jpg", "http://example.com/a%00.jpg"),
        ("http://example.com/a\u200bb.jpg", "http://example.com/a%E2%80%8Bb.jpg"),
        ("http://example.com/a\u00a0b.jpg?q=\x7f", "http://example.com/a%C2%A0b.jpg?q=%7F"),
        (
            "http://example.com/a.jpg?dir=\u202etxt.exe",
            "http://example.com/a.jpg?dir=%E2%80%AEtxt.exe",
        ),
        # Backslashes are slashes before the query, and the slashes after the scheme optional.
        ("http://example.com\\evil/", "http://example.com/evil/"),
        ("HTTPS:\\\\Example.com\\a\\b.jpg?x=\\y#f", "https://example.com/a/b.jpg?x=\\y"),
        ("http:example.com/a.jpg", "http://example.com/a.jpg"),
        ("https:/example.com/a.jpg", "https://example.com/a.jpg"),
        ("http:///example.com/a.jpg", "http://example.com/a.jpg"),
        # Credentials are dropped: no other image, never sent, never repeated in a notice.
        ("http://user:secret@example.com/a.jpg", "http://example.com/a.jpg"),
        ("http://user@example.com:8080/a.jpg", "http://example.com:8080/a.jpg"),
        ("http://:secret@example.com/", "http://example.com/"),
        ("http://a@b@example.com/", "http://example.com/"),
        # A percent-encoded host is decoded first; UTS 46 drops invisible characters in it.
        ("http://ex%41mple.com/", "http://example.com/"),
        ("http://m%C3%BCnchen.de/", "http://xn--mnchen-3ya.de/"),
        ("http://exa\u200bmple.com/", "http://example.com/"),
        ("http://exa\u00admple.com/", "http://example.com/"),
        # "%" not followed by two hex digits, unicode paths and queries: kept as they are.
        ("http://example.com/100%.jpg?p=%zz&q=%4", "http://example.com/100%.jpg?p=%zz&q=%4"),
        ("https://example.com/фото/日本.jpg?ü=1", "https://example.com/фото/日本.jpg?ü=1"),
        ("https://example.com/a%2Fb%2f.jpg", "https://example.com/a%2Fb%2f.jpg"),
        # IPv6 with an IPv4 tail, a trailing dot with a port, punycode in upper case.
        ("http://[::FFFF:192.0.2.1]:8080/", "http://[::ffff:c000:201]:8080/"),
        ("http://example.com.:8080/", "http://example.com:8080/"),
        ("http://XN--MNCHEN-3YA.DE/", "http://xn--mnchen-3ya.de/"),
    ],
)
def test_normalize_url_accepts_what_browsers_fetch(raw: str, expected: str) -> None:
    assert normalize_url(raw).url == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Emoji and other names IDNA 2008 refuses: UTS 46, non-transitional, as browsers do.
        ("http://😀.example/", "http://xn--e28h.example/"),
        # "ß" stays "ß" next to an emoji (the IDNA 2003 codec would have made it "ss").
        ("http://ß❤.de/", "http://xn--zca638q.de/"),
    ],
)
def test_normalize_url_idna_fallback_is_uts46_non_transitional(raw: str, expected: str) -> None:
    assert normalize_url(raw).url == expected


def test_normalize_url_keeps_credentials_out_of_the_hash() -> None:
    with_credentials = normalize_url("https://user:pass@cdn.example.com/a.jpg")

    assert with_credentials == normalize_url("https://cdn.example.com/a.jpg")


def test_invalid_url_is_a_value_error() -> None:
    assert issubclass(InvalidURL, ValueError)


def test_normalize_url_length_limit_counts_the_normalised_url() -> None:
    prefix = "http://example.com/"
    fits = prefix + "a" * (MAX_URL_LENGTH - len(prefix))
    # The default port and fragment are dropped before the length is measured.
    padded = "http://example.com:80/" + "a" * (MAX_URL_LENGTH - len(prefix)) + "#" + "f" * 50

    assert MAX_URL_LENGTH == 16_384
    assert normalize_url(fits).url == fits
    assert normalize_url(padded).url == fits
    with pytest.raises(InvalidURL) as caught:
        normalize_url(fits + "a")
    assert caught.value.reason == "URL longer than 16384 characters"


@pytest.mark.parametrize(
    ("raw", "url", "hostname"),
    [
        ("http://127.0.0.1/a.jpg", "http://127.0.0.1/a.jpg", "127.0.0.1"),
        ("http://93.184.216.34:8080/", "http://93.184.216.34:8080/", "93.184.216.34"),
        ("http://1.2.3.4./", "http://1.2.3.4/", "1.2.3.4"),
        # Shorthand, hex, octal and decimal forms that browsers also read as IPv4.
        ("http://0x7f.1/", "http://127.0.0.1/", "127.0.0.1"),
        ("http://2130706433/", "http://127.0.0.1/", "127.0.0.1"),
        ("http://017700000001/", "http://127.0.0.1/", "127.0.0.1"),
        ("http://0X7F.0.0.1/", "http://127.0.0.1/", "127.0.0.1"),
        ("http://[::1]:8080/a", "http://[::1]:8080/a", "::1"),
        ("https://[2001:DB8:0:0:0:0:0:1]/", "https://[2001:db8::1]/", "2001:db8::1"),
        ("https://[2001:db8::1]:443/", "https://[2001:db8::1]/", "2001:db8::1"),
    ],
)
def test_normalize_url_ip_literals(raw: str, url: str, hostname: str) -> None:
    result = normalize_url(raw)

    assert result == NormalizedURL(url, hostname, hostname, "", True, _sha(url))


@pytest.mark.parametrize(
    ("raw", "hostname", "registered_domain", "platform_suffix"),
    [
        ("http://foo.blogspot.com/a.jpg", "foo.blogspot.com", "blogspot.com", "blogspot.com"),
        (
            "https://bucket.s3.amazonaws.com/k.jpg",
            "bucket.s3.amazonaws.com",
            "amazonaws.com",
            "s3.amazonaws.com",
        ),
        # Path-style S3: the host is the platform suffix itself.
        (
            "https://s3.amazonaws.com/bucket/k.jpg",
            "s3.amazonaws.com",
            "amazonaws.com",
            "s3.amazonaws.com",
        ),
        ("https://x.github.io/i.png", "x.github.io", "github.io", "github.io"),
        (
            "https://shop.myshopify.com/i.png",
            "shop.myshopify.com",
            "myshopify.com",
            "myshopify.com",
        ),
        ("https://cdn.shopify.com/s/files/1.jpg", "cdn.shopify.com", "shopify.com", ""),
        ("http://images.bbc.co.uk/a.jpg", "images.bbc.co.uk", "bbc.co.uk", ""),
        ("http://a.b.example.co.uk/a.jpg", "a.b.example.co.uk", "example.co.uk", ""),
        ("http://www.example.com/a.jpg", "www.example.com", "example.com", ""),
        # Fallbacks: a public suffix as host, and a TLD the snapshot does not know.
        ("http://co.uk/", "co.uk", "co.uk", ""),
        ("http://img.cdn.notarealtld/", "img.cdn.notarealtld", "cdn.notarealtld", ""),
    ],
)
def test_normalize_url_registered_domain_and_platform(
    raw: str, hostname: str, registered_domain: str, platform_suffix: str
) -> None:
    result = normalize_url(raw)

    assert (result.hostname, result.registered_domain, result.platform_suffix, result.is_ip) == (
        hostname,
        registered_domain,
        platform_suffix,
        False,
    )


def test_normalize_url_host_cache_gives_same_answer_for_any_spelling() -> None:
    first = normalize_url("http://Foo.BlogSpot.com/a")
    second = normalize_url("http://foo.blogspot.com/a")
    third = normalize_url("http://FOO.BLOGSPOT.COM/a")

    assert first == second == third
    assert first.url == "http://foo.blogspot.com/a"


def test_normalize_url_repeated_bad_host_keeps_its_reason() -> None:
    reasons = []
    for _ in range(2):
        with pytest.raises(InvalidURL) as caught:
            normalize_url("http://bad_host$.com/")
        reasons.append(caught.value.reason)

    assert reasons == ["invalid character in host", "invalid character in host"]


def test_url_sha256_is_hex_sha256_of_utf8() -> None:
    url = "http://xn--bcher-kva.example/Ä?x=Ä"

    assert url_sha256(url) == _sha(url)
    assert url_sha256(url) == normalize_url("http://bücher.example/Ä?x=Ä#f").url_sha256
    assert len(url_sha256(url)) == 64


def test_normalize_url_never_touches_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access during normalisation")

    # Build the extractor afresh so loading the suffix list happens under the guard.
    monkeypatch.setattr(normalize, "_EXTRACTOR", None)
    normalize._HOST_CACHE.cache_clear()
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)

    result = normalize_url("https://pics.example.co.uk/a.jpg")

    assert result.registered_domain == "example.co.uk"


@pytest.mark.shared_data
def test_normalize_url_laion_sample() -> None:
    path = shared_file(LAION_SAMPLE)
    import pyarrow.parquet as pq

    urls = pq.read_table(path, columns=["URL"]).column("URL").to_pylist()
    results, rejected = [], []
    for position, raw in enumerate(urls, 1):
        try:
            results.append(normalize_url(raw))
        except InvalidURL as exc:
            rejected.append((position, raw.split("/")[2], exc.reason))

    # Every row is usable; row 589 carries literal spaces, sent as %20 like a browser does.
    assert rejected == []
    assert len({r.url for r in results}) == 1000
    assert results[588].url.startswith("https://www.satcomresources.com/SSP%20Applications/")
    domains = {r.registered_domain for r in results}
    assert len(domains) == 530  # as the data README says
    assert sum(r.is_ip for r in results) == 0
    assert sum(1 for r in results if r.platform_suffix) == 61
    # Four URLs change: two drop ":443", one has an upper-case host, one has spaces.
    changed = [r.url for raw, r in zip(urls, results, strict=True) if raw != r.url]
    assert changed.pop(2).startswith("https://www.satcomresources.com/SSP%20Applications/")
    assert changed == [
        "https://media.rightmove.co.uk/dir/crop/10:9-16:9/34k/33173/84192700/"
        "33173_29953049_IMG_01_0000_max_476x317.jpg",
        "http://www.historiquedesjeuxvideo.com/phpbuns/jeu/upload/11313.jpg",
        "https://dtrpg-public-files.s3.us-east-2.amazonaws.com/images/97/107892-thumb100.jpg",
    ]


@pytest.mark.parametrize(
    ("hostname", "shown"),
    [
        ("xn--mnchen-3ya.de", "münchen.de (xn--mnchen-3ya.de)"),
        ("img.xn--fa-hia.de", "img.faß.de (img.xn--fa-hia.de)"),
        ("xn--i-7iq.ws", "i❤.ws (xn--i-7iq.ws)"),
        ("example.com", "example.com"),
        ("2001:db8::1", "2001:db8::1"),
        # Not valid Punycode: shown as stored, never guessed.
        ("xn--zz.de", "xn--zz.de"),
    ],
)
def test_host_for_display_gives_both_forms(hostname: str, shown: str) -> None:
    assert host_for_display(hostname) == shown


def test_stored_host_is_ascii_and_shown_in_unicode() -> None:
    stored = normalize_url("https://MÜNCHEN.de/a.jpg").hostname

    assert stored == "xn--mnchen-3ya.de"
    assert host_to_unicode(stored) == "münchen.de"


# --- the fast path gives what the full parse gives -----------------------------------------

_SCHEMES = ["https", "http", "HTTP", "Https", "ftp", "data", ""]
_SEPARATORS = ["://", ":/", ":", ":\\\\", ":///", "//"]
_USERINFO = ["", "user@", "u:p@", "@", "a@b@"]
_HOSTS = [
    "example.com",
    "img.example.co.uk",
    "cdn_1.example.net",
    "-edge-.example.org",
    "Example.COM",
    "bücher.example",
    "faß.de",
    "i❤.ws",
    "xn--mnchen-3ya.de",
    "xn--zz.de",
    "127.0.0.1",
    "0x7f.1",
    "2130706433",
    "1.2.3.999",
    "[::1]",
    "[::ffff:192.0.2.1]",
    "[fe80::1%25eth0]",
    "example.com.",
    "ex%41mple.com",
    "ex%zzmple.com",
    "a..b.com",
    "localhost",
    "s3.amazonaws.com",
    "foo.blogspot.com",
    "co.uk",
    "example.unknowntld",
    "a" * 64 + ".com",
    "exa mple.com",
    "",
]
_PORTS = ["", ":443", ":80", ":8080", ":", ":99999", ":0", ":x", ":٣"]
_TAIL = st.lists(
    st.sampled_from(
        [
            *"/abcXYZ09.-_~:@[]?#",
            *["..", "%", "%2e", "%2E", "%zz", "&=", "\\", " ", "\t", "\n"],
            *["\x00", "\x7f", "\u200b", "\ufeff", "ä", "€", "😀", "\ud800"],
        ]
    ),
    max_size=12,
).map("".join)


def _outcome(function, raw: str):
    try:
        return function(raw)
    except InvalidURL as exc:
        return ("invalid", exc.reason)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scheme=st.sampled_from(_SCHEMES),
    separator=st.sampled_from(_SEPARATORS),
    userinfo=st.sampled_from(_USERINFO),
    host=st.sampled_from(_HOSTS),
    port=st.sampled_from(_PORTS),
    tail=_TAIL,
    edges=st.sampled_from(["", " ", "\t", "\x00"]),
)
def test_normalize_url_fast_path_equals_full_parse(
    scheme: str, separator: str, userinfo: str, host: str, port: str, tail: str, edges: str
) -> None:
    raw = f"{edges}{scheme}{separator}{userinfo}{host}{port}{tail}{edges}"
    assert _outcome(normalize_url, raw) == _outcome(normalize._normalize_slowly, raw)


@settings(max_examples=1500, deadline=None)
@given(
    scheme=st.sampled_from(["https://", "http://"]),
    host=st.sampled_from([*_HOSTS[:4], "127.0.0.1", "0x7f.1", "example.com.", "a..b.com", "co.uk"]),
    tail=_TAIL,
)
def test_normalize_url_fast_path_equals_full_parse_near_the_common_shape(
    scheme: str, host: str, tail: str
) -> None:
    # Mostly URLs of the fast path's shape, a character or two away from leaving it.
    raw = f"{scheme}{host}/{tail}"
    assert _outcome(normalize_url, raw) == _outcome(normalize._normalize_slowly, raw)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=40))
def test_normalize_url_fast_path_equals_full_parse_on_any_text_after_the_host(tail: str) -> None:
    for raw in (f"https://example.com/{tail}", f"http://img.example.de{tail}"):
        assert _outcome(normalize_url, raw) == _outcome(normalize._normalize_slowly, raw)


@pytest.mark.shared_data
def test_normalize_url_fast_path_equals_full_parse_on_laion_sample() -> None:
    import pyarrow.parquet as pq

    urls = pq.read_table(shared_file(LAION_SAMPLE), columns=["URL"]).column("URL").to_pylist()

    assert [_outcome(normalize_url, raw) for raw in urls] == [
        _outcome(normalize._normalize_slowly, raw) for raw in urls
    ]
    # And the fast path is the one nearly every row takes (it would be vacuous otherwise).
    assert sum(normalize._PLAIN.fullmatch(raw) is not None for raw in urls) >= 990


def test_normalize_url_fast_path_refuses_what_it_cannot_take_as_is() -> None:
    for raw in [
        "https://Example.com/a",
        "https://example.com:443/a",
        "https://u@example.com/a",
        "https://example.com/a#f",
        "https://example.com/a\\b",
        "https://example.com/a b",
        "https://example.com?q",
        " https://example.com/a",
    ]:
        assert normalize._PLAIN.fullmatch(raw) is None, raw
    # A host the cache writes otherwise ("0x7f.1" is 127.0.0.1) goes the slow way too.
    assert normalize_url("http://0x7f.1/a").url == "http://127.0.0.1/a"
    assert normalize_url("http://example.com./a").url == "http://example.com/a"
