from __future__ import annotations

import dataclasses

import pytest

from takedown.checks.hashing import ImageHashes, image_hashes
from takedown.checks.verdict import (
    Decision,
    Observation,
    Previous,
    Reference,
    decide,
)
from takedown.models.link import Verdict
from takedown.sandbox.images import make_image

HOST = "img.example.org"
NONE = Reference()
FRESH = Previous()


def _hashes(data: bytes) -> ImageHashes:
    hashes = image_hashes(data)
    assert hashes is not None
    return hashes


def _image(data: bytes, **fields: object) -> Observation:
    values: dict = {
        "status_code": 200,
        "host": HOST,
        "final_host": HOST,
        "content_type": "image/jpeg",
        "hashes": _hashes(data),
    }
    return Observation(**(values | fields))


def _status(code: int, **fields: object) -> Observation:
    values: dict = {"status_code": code, "host": HOST, "final_host": HOST}
    return Observation(**(values | fields))


def _error(kind: str) -> Observation:
    return Observation(error=kind, host=HOST)


EVIDENCE = Reference.from_hashes(_hashes(make_image(1)))

# Synthetic hashes for the threshold boundaries: every bit of the fetched image is 0.
ZERO = ImageHashes(
    sha256="a" * 64,
    phash="0" * 16,
    pdq="0" * 64,
    pdq_quality=100,
    width=640,
    height=480,
    format="JPEG",
)


def _bits(count: int, digits: int) -> str:
    """Hex of `digits` digits with the lowest `count` bits set."""
    return format((1 << count) - 1, f"0{digits}x")


def _zero_image(quality: int = 100) -> Observation:
    return Observation(
        status_code=200,
        host=HOST,
        final_host=HOST,
        hashes=dataclasses.replace(ZERO, pdq_quality=quality),
    )


# --- same image, changed image, evidence -------------------------------------------------


def test_decide_first_fetch_is_evidence() -> None:
    assert decide(_image(make_image(1)), NONE, FRESH) == Decision(
        Verdict.ONLINE_SAME,
        "first successful fetch: recorded as evidence",
        is_evidence=True,
    )


def test_decide_identical_file_same() -> None:
    assert decide(_image(make_image(1)), EVIDENCE, FRESH) == Decision(
        Verdict.ONLINE_SAME, "the same image (identical file)"
    )


@pytest.mark.parametrize(
    "variant",
    [{"quality": 40}, {"size": (320, 240)}, {"size": (1280, 960)}, {"fmt": "PNG"}],
    ids=repr,
)
def test_decide_re_encoded_or_resized_copy_same(variant: dict) -> None:
    decision = decide(_image(make_image(1, **variant)), EVIDENCE, FRESH)
    assert decision.verdict == Verdict.ONLINE_SAME
    assert decision.reason.startswith("the same image (pHash distance ")
    assert (decision.needs_human, decision.is_evidence, decision.removed_streak) == (
        False,
        False,
        0,
    )


@pytest.mark.parametrize("other", [{"placeholder": True}, {"seed": 2}], ids=repr)
def test_decide_other_picture_changed(other: dict) -> None:
    assert decide(_image(make_image(**other)), EVIDENCE, FRESH) == Decision(
        Verdict.ONLINE_CHANGED,
        "an image, but a different one (often a placeholder): please take a look",
        needs_human=True,
    )


def test_decide_changed_since_last_check_says_so() -> None:
    previous = Previous(last_verdict=Verdict.ONLINE_SAME)
    decision = decide(_image(make_image(placeholder=True)), EVIDENCE, previous)
    assert decision.reason == (
        "an image, but a different one since the last check (often a placeholder): "
        "please take a look"
    )


def test_decide_same_image_resets_removed_streak() -> None:
    previous = Previous(removed_streak=1, last_verdict=Verdict.REMOVED)
    decision = decide(_image(make_image(1)), EVIDENCE, previous)
    assert (decision.verdict, decision.removed_streak, decision.reappeared) == (
        Verdict.ONLINE_SAME,
        0,
        False,
    )


def test_decide_reappearance_after_removal() -> None:
    previous = Previous(removed_streak=3, last_verdict=Verdict.REMOVED, link_removed=True)
    assert decide(_image(make_image(1)), EVIDENCE, previous) == Decision(
        Verdict.ONLINE_SAME,
        "back online after removal: the same image (identical file)",
        needs_human=True,
        reappeared=True,
    )


def test_decide_placeholder_after_removal_is_no_reappearance() -> None:
    previous = Previous(removed_streak=2, last_verdict=Verdict.REMOVED, link_removed=True)
    decision = decide(_image(make_image(placeholder=True)), EVIDENCE, previous)
    assert (decision.verdict, decision.reappeared) == (Verdict.ONLINE_CHANGED, False)


# --- reference hashes supplied by the person: thresholds at their exact boundaries -------


@pytest.mark.parametrize(
    ("bits", "verdict"), [(8, Verdict.ONLINE_SAME), (9, Verdict.ONLINE_CHANGED)]
)
def test_decide_phash_boundary(bits: int, verdict: Verdict) -> None:
    decision = decide(_zero_image(), Reference(phash=_bits(bits, 16)), FRESH)
    assert decision.verdict == verdict


def test_decide_phash_boundary_reason() -> None:
    decision = decide(_zero_image(), Reference(phash=_bits(8, 16)), FRESH)
    assert decision.reason == "the same image (pHash distance 8 of 64)"


@pytest.mark.parametrize(
    ("bits", "verdict"), [(31, Verdict.ONLINE_SAME), (32, Verdict.ONLINE_CHANGED)]
)
def test_decide_pdq_distance_boundary(bits: int, verdict: Verdict) -> None:
    reference = Reference(pdq=_bits(bits, 64), pdq_quality=100)
    assert decide(_zero_image(), reference, FRESH).verdict == verdict


def test_decide_pdq_boundary_reason() -> None:
    reference = Reference(pdq=_bits(31, 64), pdq_quality=50)
    decision = decide(_zero_image(50), reference, FRESH)
    assert decision.reason == "the same image (PDQ distance 31 of 256)"


@pytest.mark.parametrize(
    ("reference_quality", "fetched_quality", "verdict"),
    [
        (50, 50, Verdict.ONLINE_SAME),
        (49, 100, Verdict.ONLINE_CHANGED),
        (100, 49, Verdict.ONLINE_CHANGED),
        (None, 50, Verdict.ONLINE_SAME),  # quality not supplied with the reference
        (None, 49, Verdict.ONLINE_CHANGED),
    ],
)
def test_decide_pdq_quality_boundary(
    reference_quality: int | None, fetched_quality: int, verdict: Verdict
) -> None:
    reference = Reference(pdq=_bits(10, 64), pdq_quality=reference_quality)
    assert decide(_zero_image(fetched_quality), reference, FRESH).verdict == verdict


def test_decide_phash_far_but_pdq_close_same() -> None:
    reference = Reference(phash=_bits(20, 16), pdq=_bits(5, 64), pdq_quality=80)
    decision = decide(_zero_image(), reference, FRESH)
    assert decision.reason == "the same image (PDQ distance 5 of 256)"


def test_decide_sha_only_reference_other_file_changed() -> None:
    # A bare SHA-256 proves only the exact file: a re-encoded copy cannot be matched by it.
    reference = Reference(sha256=_hashes(make_image(1)).sha256)
    decision = decide(_image(make_image(1, quality=50)), reference, FRESH)
    assert decision.verdict == Verdict.ONLINE_CHANGED


def test_decide_sha_reference_uppercase_matches() -> None:
    reference = Reference(sha256=_hashes(make_image(1)).sha256.upper())
    assert decide(_image(make_image(1)), reference, FRESH).reason == (
        "the same image (identical file)"
    )


def test_decide_real_reference_phash_only_same() -> None:
    reference = Reference(phash=_hashes(make_image(4)).phash)
    decision = decide(_image(make_image(4, size=(800, 600), fmt="WEBP")), reference, FRESH)
    assert decision.verdict == Verdict.ONLINE_SAME


# --- removed, confirmed on two consecutive checks ----------------------------------------


@pytest.mark.parametrize("code", [404, 410])
def test_decide_first_removed_not_confirmed(code: int) -> None:
    assert decide(_status(code), EVIDENCE, FRESH) == Decision(
        Verdict.REMOVED,
        f"the server answered {code} (not yet confirmed: 1 of 2 consecutive checks)",
        removed_streak=1,
        confirmed_removed=False,
    )


def test_decide_second_removed_confirmed() -> None:
    previous = Previous(removed_streak=1, last_verdict=Verdict.REMOVED)
    assert decide(_status(410), EVIDENCE, previous) == Decision(
        Verdict.REMOVED, "the server answered 410", removed_streak=2, confirmed_removed=True
    )


def test_decide_removed_twice_in_a_row_through_decide() -> None:
    first = decide(_status(404), EVIDENCE, FRESH)
    second = decide(
        _status(404), EVIDENCE, Previous(first.removed_streak, first.verdict, link_removed=False)
    )
    assert (first.confirmed_removed, second.confirmed_removed) == (False, True)
    assert second.removed_streak == 2


def test_decide_removed_streak_broken_by_online() -> None:
    first = decide(_status(404), EVIDENCE, FRESH)
    online = decide(_image(make_image(1)), EVIDENCE, Previous(first.removed_streak, first.verdict))
    again = decide(_status(404), EVIDENCE, Previous(online.removed_streak, online.verdict))
    assert (online.removed_streak, again.removed_streak, again.confirmed_removed) == (0, 1, False)


def test_decide_unreachable_keeps_removed_streak() -> None:
    # A timeout observed nothing: it neither counts towards nor breaks the streak.
    previous = Previous(removed_streak=1, last_verdict=Verdict.REMOVED)
    timeout = decide(_error("timeout"), EVIDENCE, previous)
    after = decide(_status(404), EVIDENCE, Previous(timeout.removed_streak, timeout.verdict))
    assert (timeout.removed_streak, timeout.confirmed_removed) == (1, False)
    assert (after.removed_streak, after.confirmed_removed) == (2, True)


def test_decide_nxdomain_removed() -> None:
    assert decide(_error("dns_nxdomain"), EVIDENCE, FRESH) == Decision(
        Verdict.REMOVED,
        "the name no longer resolves (no such domain) (not yet confirmed: 1 of 2 consecutive "
        "checks)",
        removed_streak=1,
    )


def test_decide_nxdomain_second_time_confirmed() -> None:
    decision = decide(_error("dns_nxdomain"), EVIDENCE, Previous(removed_streak=1))
    assert (decision.verdict, decision.confirmed_removed) == (Verdict.REMOVED, True)


# --- never reachable: gone before anyone saw it -------------------------------------------


@pytest.mark.parametrize(
    ("observation", "said"),
    [
        (_status(404), "the server answered 404"),
        (_status(410), "the server answered 410"),
        (_error("dns_nxdomain"), "the name no longer resolves (no such domain)"),
    ],
)
def test_decide_gone_twice_without_sighting_or_reference_is_never_reachable(
    observation: Observation, said: str
) -> None:
    first = decide(observation, NONE, FRESH)
    second = decide(observation, NONE, Previous(first.removed_streak, first.verdict))

    assert (first.confirmed_removed, first.never_reachable) == (False, False)
    assert second == Decision(
        Verdict.REMOVED,
        f"{said}: never seen online and no reference hashes, so never reachable, not removed",
        removed_streak=2,
        confirmed_removed=False,
        never_reachable=True,
    )


def test_decide_gone_twice_after_a_sighting_is_removed() -> None:
    # Seen online before; the evidence's hashes are the reference then.
    previous = Previous(removed_streak=1, last_verdict=Verdict.REMOVED, seen_online=True)

    decision = decide(_status(404), EVIDENCE, previous)

    assert (decision.confirmed_removed, decision.never_reachable) == (True, False)


def test_decide_gone_twice_with_supplied_reference_hashes_is_removed() -> None:
    supplied = Reference(sha256=_hashes(make_image(1)).sha256)

    decision = decide(_status(410), supplied, Previous(removed_streak=1))

    assert (decision.confirmed_removed, decision.never_reachable) == (True, False)


# --- blocked -----------------------------------------------------------------------------


def test_decide_451_blocked_not_removed() -> None:
    previous = Previous(removed_streak=1, last_verdict=Verdict.REMOVED)
    assert decide(_status(451), EVIDENCE, previous) == Decision(
        Verdict.BLOCKED,
        "the server answered 451 (unavailable for legal reasons): restricted, not removed",
        removed_streak=0,
    )


def test_decide_403_blocked() -> None:
    assert decide(_status(403), EVIDENCE, FRESH) == Decision(
        Verdict.BLOCKED, "the server answered 403 (forbidden): restricted, not removed"
    )


def test_decide_404_removed_where_451_blocked() -> None:
    verdicts = [decide(_status(code), EVIDENCE, FRESH).verdict for code in (404, 451)]
    assert verdicts == [Verdict.REMOVED, Verdict.BLOCKED]


# --- unreachable, refused ----------------------------------------------------------------


@pytest.mark.parametrize("code", [500, 502, 503, 429])
def test_decide_server_errors_unreachable(code: int) -> None:
    assert decide(_status(code), EVIDENCE, Previous(removed_streak=1)) == Decision(
        Verdict.UNREACHABLE, f"the server answered {code}", removed_streak=1
    )


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("timeout", "the server did not answer in time"),
        ("connection", "the connection failed or was reset"),
        ("dns_error", "the name could not be looked up (not a 'no such name' answer)"),
        ("too_many_redirects", "too many redirects"),
    ],
)
def test_decide_transient_errors_unreachable(kind: str, reason: str) -> None:
    assert decide(_error(kind), EVIDENCE, FRESH) == Decision(Verdict.UNREACHABLE, reason)


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("refused_address", "refused: not a public address"),
        ("bad_scheme", "refused: the address does not use http or https"),
        ("bad_port", "refused: the address uses a port that is not allowed"),
    ],
)
def test_decide_refused_unreachable_never_removed(kind: str, reason: str) -> None:
    previous = Previous(removed_streak=1, last_verdict=Verdict.REMOVED)
    assert decide(_error(kind), EVIDENCE, previous) == Decision(
        Verdict.UNREACHABLE, reason, removed_streak=1, needs_human=True
    )


def test_decide_too_large_unreachable_for_a_person() -> None:
    assert decide(_error("too_large"), EVIDENCE, FRESH) == Decision(
        Verdict.UNREACHABLE,
        "the answer was larger than the download cap: it could not be compared",
        needs_human=True,
    )


def test_decide_unexpected_status_unreachable_for_a_person() -> None:
    assert decide(_status(400), EVIDENCE, FRESH) == Decision(
        Verdict.UNREACHABLE, "unexpected answer 400", needs_human=True
    )


def test_observation_unknown_error_kind_rejected() -> None:
    with pytest.raises(ValueError, match="unknown fetch error kind 'gone'"):
        Observation(error="gone")


def test_decide_without_status_or_error_rejected() -> None:
    with pytest.raises(ValueError, match="needs a status code"):
        decide(Observation(host=HOST), EVIDENCE, FRESH)


# --- not an image, moved -----------------------------------------------------------------


def test_decide_html_page_not_image() -> None:
    observation = _status(200, content_type="text/html; charset=utf-8", is_html=True)
    assert decide(observation, EVIDENCE, Previous(removed_streak=1)) == Decision(
        Verdict.NOT_IMAGE, "an HTML page", needs_human=True
    )


def test_decide_other_content_not_image() -> None:
    observation = _status(200, content_type="application/pdf")
    assert decide(observation, NONE, FRESH) == Decision(
        Verdict.NOT_IMAGE, "not an image (application/pdf)", needs_human=True
    )


def test_decide_redirect_to_other_host_moved() -> None:
    observation = _image(make_image(1), final_host="cdn.example.net")
    assert decide(observation, EVIDENCE, FRESH) == Decision(
        Verdict.MOVED,
        "redirected to cdn.example.net, which serves the same image (identical file)",
        needs_human=True,
        moved_to_host="cdn.example.net",
    )


def test_decide_redirect_to_other_host_different_image() -> None:
    observation = _image(make_image(placeholder=True), final_host="cdn.example.net")
    decision = decide(observation, EVIDENCE, FRESH)
    assert (decision.verdict, decision.reason, decision.moved_to_host) == (
        Verdict.MOVED,
        "redirected to cdn.example.net, which serves a different image",
        "cdn.example.net",
    )


def test_decide_redirect_to_other_host_first_fetch_is_evidence() -> None:
    observation = _image(make_image(1), final_host="cdn.example.net")
    assert decide(observation, NONE, FRESH) == Decision(
        Verdict.MOVED,
        "first successful fetch after a redirect to cdn.example.net: recorded as evidence",
        is_evidence=True,
        needs_human=True,
        moved_to_host="cdn.example.net",
    )


def test_decide_redirect_within_host_not_moved() -> None:
    # http -> https, or a trailing dot and capitals, is the same host.
    observation = _image(make_image(1), final_host="IMG.example.org.")
    assert decide(observation, EVIDENCE, FRESH).verdict == Verdict.ONLINE_SAME


def test_decide_redirect_to_other_host_then_404_removed() -> None:
    observation = _status(404, final_host="www.example.org")
    assert decide(observation, EVIDENCE, FRESH) == Decision(
        Verdict.REMOVED,
        "the server answered 404 after a redirect to www.example.org "
        "(not yet confirmed: 1 of 2 consecutive checks)",
        removed_streak=1,
        moved_to_host="www.example.org",
    )


def test_decide_unusable_url_from_the_fetcher_is_unreachable_for_a_human():
    decision = decide(Observation(error="bad_url", host=HOST), NONE, FRESH)

    assert decision.verdict == Verdict.UNREACHABLE
    assert decision.needs_human is True
    assert decision.reason == "refused: the address or a redirect to it is not a usable URL"
