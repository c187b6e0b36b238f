"""What one check of a link decides: a pure function from what the fetch saw to a verdict.

No database, no network: ``decide(observation, reference, previous)`` is the whole rule set, so
every branch is tested with plain values. The caller (the recheck service) stores the result:

- ``LinkCheck.verdict = decision.verdict``; the reason goes to ``LinkCheck.error`` when the
  fetch failed.
- ``FoundLink.removed_streak = decision.removed_streak`` and ``last_verdict = decision.verdict``
  after every check.
- Removal needs two consecutive "removed" checks (REMOVED_CONFIRMATIONS), because sites answer
  404 during deploys, migrations and CDN hiccups. The first one is stored as a check with
  verdict REMOVED and ``confirmed_removed=False``: the link's status does not change, and the
  caller schedules the next check soon (the next day) instead of the usual interval. Only
  when ``confirmed_removed`` is True does the link move to REMOVED (idempotent: later
  confirmed checks of an already removed link change nothing). Unreachable checks observed
  nothing, so they neither count towards the streak nor break it; any other verdict resets
  it to 0.
- Removal also needs a link that was seen online before (``Previous.seen_online``: it has
  evidence) or reference hashes to compare with. Otherwise nothing shows that the image was
  ever at that address (LAION lists many URLs that were dead before anyone wrote to the
  host), and counting it as removed would credit a notice with a removal it did not cause:
  the confirmed check sets ``never_reachable`` instead, and the caller moves the link to
  NEVER_REACHABLE, a state of its own that counts neither as removed nor as online.
- ``is_evidence``: this check is the link's evidence (first successful fetch of an image).
- ``reappeared``: the link was removed and the same image is back: reopen it.
- ``moved_to_host``: resolve this host and record it; the notice may have to go there.
- ``needs_human``: put the link in front of a caseworker; the reason says why.
"""

from __future__ import annotations

from dataclasses import dataclass

from takedown.checks.hashing import ImageHashes, hamming
from takedown.models.link import Verdict

# Thresholds from the issue (NOTES-tech.md, "Same image or not"): pHash of re-encoded or
# resized copies lands at 0-2 of 64 bits, unrelated pictures around 30; PDQ at <= 31 of 256
# is the industry's confident match, and a PDQ hash of quality < 50 is unreliable.
PHASH_MAX_DISTANCE = 8
PDQ_MAX_DISTANCE = 31
PDQ_MIN_QUALITY = 50
REMOVED_CONFIRMATIONS = 2

# Kinds of fetch failure (takedown.checks.fetch), each mapped to what it tells us.
REFUSED_ERRORS = {
    "refused_address": "refused: not a public address",
    "bad_scheme": "refused: the address does not use http or https",
    "bad_port": "refused: the address uses a port that is not allowed",
    "bad_url": "refused: the address or a redirect to it is not a usable URL",
}
TRANSIENT_ERRORS = {
    "timeout": "the server did not answer in time",
    "connection": "the connection failed or was reset",
    "dns_error": "the name could not be looked up (not a 'no such name' answer)",
    "too_many_redirects": "too many redirects",
}
ERROR_KINDS = frozenset(
    {*REFUSED_ERRORS, *TRANSIENT_ERRORS, "too_large", "dns_nxdomain"},
)


@dataclass(frozen=True, slots=True)
class Observation:
    """What one fetch yielded. ``error`` is "" when an HTTP response arrived."""

    status_code: int | None = None
    error: str = ""  # one of ERROR_KINDS
    host: str = ""  # the link's host
    final_host: str = ""  # host of the last URL fetched, after redirects; "" if none
    content_type: str = ""
    hashes: ImageHashes | None = None  # None: the body was not a decodable image
    is_html: bool = False

    def __post_init__(self) -> None:
        if self.error and self.error not in ERROR_KINDS:
            raise ValueError(f"unknown fetch error kind {self.error!r}")


@dataclass(frozen=True, slots=True)
class Reference:
    """The hashes a check compares against: the evidence check's, or supplied by the person.

    Any subset may be given. A person-supplied PDQ hash may come without its quality:
    ``pdq_quality=None`` means unknown, and then only the fetched image's quality is checked.
    """

    sha256: str = ""
    phash: str = ""
    pdq: str = ""
    pdq_quality: int | None = None

    @property
    def is_empty(self) -> bool:
        return not (self.sha256 or self.phash or self.pdq)

    @classmethod
    def from_hashes(cls, hashes: ImageHashes) -> Reference:
        return cls(hashes.sha256, hashes.phash, hashes.pdq, hashes.pdq_quality)


@dataclass(frozen=True, slots=True)
class Previous:
    """The link's state before this check."""

    removed_streak: int = 0
    last_verdict: str = ""
    link_removed: bool = False  # the link's status is REMOVED (confirmed earlier)
    seen_online: bool = False  # an earlier check saw the image (the link has evidence)


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    reason: str
    removed_streak: int = 0
    confirmed_removed: bool = False
    never_reachable: bool = False
    is_evidence: bool = False
    needs_human: bool = False
    reappeared: bool = False
    moved_to_host: str = ""


def decide(observation: Observation, reference: Reference, previous: Previous) -> Decision:
    """The verdict of one check; see the module docstring for how the caller applies it."""
    obs = observation
    if obs.error:
        return _decide_error(obs, reference, previous)

    code = obs.status_code
    if code is None:
        raise ValueError("an observation without an error needs a status code")
    host = _host_key(obs.host)
    final_host = _host_key(obs.final_host) or host
    moved_to = obs.final_host if final_host != host else ""
    via = f" after a redirect to {moved_to}" if moved_to else ""

    if code in (404, 410):
        return _removed(f"the server answered {code}{via}", previous, reference, moved_to)
    if code in (401, 403, 451):
        meaning = {401: "login required", 403: "forbidden", 451: "unavailable for legal reasons"}
        return Decision(
            Verdict.BLOCKED,
            f"the server answered {code} ({meaning[code]}){via}: restricted, not removed",
            moved_to_host=moved_to,
        )
    if code == 429 or code >= 500:
        return _unreachable(f"the server answered {code}{via}", previous)
    if not 200 <= code < 300:
        # 3xx here means a redirect without a usable Location; other 4xx are unusual enough
        # that a person should read them rather than a rule guess.
        return _unreachable(f"unexpected answer {code}{via}", previous, needs_human=True)

    if obs.hashes is None:
        what = "an HTML page" if obs.is_html else f"not an image ({obs.content_type or 'no type'})"
        # Many sites answer a removed image with a 200 HTML page (a "soft 404"): a person
        # decides whether that is a removal.
        return Decision(Verdict.NOT_IMAGE, what + via, needs_human=True, moved_to_host=moved_to)

    if reference.is_empty:
        verdict = Verdict.MOVED if moved_to else Verdict.ONLINE_SAME
        return Decision(
            verdict,
            f"first successful fetch{via}: recorded as evidence",
            is_evidence=True,
            needs_human=bool(moved_to),
            moved_to_host=moved_to,
        )

    match = same_image(obs.hashes, reference)
    if moved_to:
        seen = f"the same image ({match})" if match else "a different image"
        return Decision(
            Verdict.MOVED,
            f"redirected to {moved_to}, which serves {seen}",
            needs_human=True,
            reappeared=previous.link_removed and bool(match),
            moved_to_host=moved_to,
        )
    if match:
        if previous.link_removed:
            return Decision(
                Verdict.ONLINE_SAME,
                f"back online after removal: the same image ({match})",
                needs_human=True,
                reappeared=True,
            )
        return Decision(Verdict.ONLINE_SAME, f"the same image ({match})")
    since = " since the last check" if previous.last_verdict == Verdict.ONLINE_SAME else ""
    return Decision(
        Verdict.ONLINE_CHANGED,
        f"an image, but a different one{since} (often a placeholder): please take a look",
        needs_human=True,
    )


def same_image(hashes: ImageHashes, reference: Reference) -> str:
    """Which rule shows the fetched image is the reference image ("" when none does)."""
    if reference.sha256 and reference.sha256.lower() == hashes.sha256:
        return "identical file"
    if reference.phash:
        distance = hamming(reference.phash, hashes.phash)
        if distance <= PHASH_MAX_DISTANCE:
            return f"pHash distance {distance} of 64"
    if reference.pdq and _pdq_reliable(reference.pdq_quality, hashes.pdq_quality):
        distance = hamming(reference.pdq, hashes.pdq)
        if distance <= PDQ_MAX_DISTANCE:
            return f"PDQ distance {distance} of 256"
    return ""


def _pdq_reliable(reference_quality: int | None, fetched_quality: int) -> bool:
    if fetched_quality < PDQ_MIN_QUALITY:
        return False
    return reference_quality is None or reference_quality >= PDQ_MIN_QUALITY


def _decide_error(obs: Observation, reference: Reference, previous: Previous) -> Decision:
    if obs.error == "dns_nxdomain":
        return _removed("the name no longer resolves (no such domain)", previous, reference, "")
    if obs.error in REFUSED_ERRORS:
        # The guard refused to connect (possibly after a redirect): never a sign of removal,
        # and retrying will not change it, so a person looks.
        return _unreachable(REFUSED_ERRORS[obs.error], previous, needs_human=True)
    if obs.error == "too_large":
        return _unreachable(
            "the answer was larger than the download cap: it could not be compared",
            previous,
            needs_human=True,
        )
    return _unreachable(TRANSIENT_ERRORS[obs.error], previous)


def _removed(reason: str, previous: Previous, reference: Reference, moved_to: str) -> Decision:
    streak = previous.removed_streak + 1
    confirmed = streak >= REMOVED_CONFIRMATIONS
    if not confirmed:
        reason += f" (not yet confirmed: {streak} of {REMOVED_CONFIRMATIONS} consecutive checks)"
    elif not (previous.seen_online or previous.link_removed) and reference.is_empty:
        return Decision(
            Verdict.REMOVED,
            reason + ": never seen online and no reference hashes, so never reachable, not removed",
            removed_streak=streak,
            never_reachable=True,
            moved_to_host=moved_to,
        )
    return Decision(
        Verdict.REMOVED,
        reason,
        removed_streak=streak,
        confirmed_removed=confirmed,
        moved_to_host=moved_to,
    )


def _unreachable(reason: str, previous: Previous, *, needs_human: bool = False) -> Decision:
    # Nothing was observed: keep the removed streak as it was (neither count nor break it).
    return Decision(
        Verdict.UNREACHABLE,
        reason,
        removed_streak=previous.removed_streak,
        needs_human=needs_human,
    )


def _host_key(host: str) -> str:
    return host.strip().rstrip(".").lower()
