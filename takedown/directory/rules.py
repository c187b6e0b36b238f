"""Operator rules: curated facts such as "*.cloudfront.net is Amazon's CDN" that beat WHOIS.

Three kinds of rule (OperatorRule.match):
- host_suffix: the hostname equals the pattern or ends with "." + pattern, so "wp.com" matches
  "i0.wp.com" but never "evilwp.com";
- cname_suffix: the same test on every target in the host's CNAME chain;
- network_name: the name of the IP network (RDAP `name`, WHOIS `netname`), compared
  case-insensitively; a pattern ending in "*" matches names starting with the rest
  ("CLOUDFLARENET*" matches "CLOUDFLARENET-EU").

A leading "*." in a stored pattern is ignored: suffix rules always include subdomains.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db.models import Count, Max
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from takedown.models import OperatorRule

Match = OperatorRule.Match

# Workers cache the rules; an edit of an existing row in another process (the admin) changes
# neither the row count nor the highest id, so it is seen at the latest after this long.
CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class RuleMatch:
    organisation_id: int
    role: str
    kind: str  # an OperatorRule.Match value
    pattern: str
    matched: str  # the hostname, CNAME target or network name the rule matched
    rule_id: int


def normalize_name(name: str) -> str:
    name = name.strip().lower().rstrip(".")
    return name.removeprefix("*.").lstrip(".")


def normalize_network(name: str) -> str:
    return name.strip().upper()


@dataclass(frozen=True)
class _Rule:
    id: int
    kind: str
    pattern: str
    organisation_id: int
    role: str


class RuleSet:
    """An index of the rules for matching many hosts without touching the database."""

    def __init__(self, rules: Iterable[_Rule]) -> None:
        self._suffix: dict[str, dict[str, list[_Rule]]] = {
            Match.HOST_SUFFIX: {},
            Match.CNAME_SUFFIX: {},
        }
        self._network_exact: dict[str, list[_Rule]] = {}
        self._network_prefix: list[tuple[str, _Rule]] = []
        for rule in rules:
            if rule.kind in self._suffix:
                self._suffix[rule.kind].setdefault(rule.pattern, []).append(rule)
            elif rule.pattern.endswith("*"):
                self._network_prefix.append((rule.pattern[:-1], rule))
            else:
                self._network_exact.setdefault(rule.pattern, []).append(rule)
        # Longest prefix first: the most specific network rule wins.
        self._network_prefix.sort(key=lambda item: (-len(item[0]), item[0]))

    @classmethod
    def from_db(cls) -> RuleSet:
        rows = OperatorRule.objects.values_list("id", "match", "pattern", "organisation_id", "role")
        return cls(_rule(*row) for row in rows)

    def match(
        self,
        hostname: str,
        cname_chain: Sequence[str] = (),
        network_names: Sequence[str] = (),
    ) -> list[RuleMatch]:
        """Every matching rule, most specific first: hostname rules, then CNAME rules in chain
        order (the first target is the one the site owner chose, later ones are the platform's
        own infrastructure), then network rules. For one name the longest matching suffix
        comes first; for a network name an exact rule before prefixes, longest prefix first.
        A rule appears once even if several CNAME targets match it."""
        found: list[RuleMatch] = []
        seen: set[int] = set()

        def add(rules: Iterable[_Rule], matched: str) -> None:
            for rule in rules:
                if rule.id not in seen:
                    seen.add(rule.id)
                    found.append(
                        RuleMatch(
                            rule.organisation_id,
                            rule.role,
                            rule.kind,
                            rule.pattern,
                            matched,
                            rule.id,
                        )
                    )

        for kind, names in ((Match.HOST_SUFFIX, [hostname]), (Match.CNAME_SUFFIX, cname_chain)):
            for raw in names:
                name = normalize_name(raw)
                for suffix in _suffixes(name) if name else ():
                    add(self._suffix[kind].get(suffix, ()), name)
        for raw in network_names:
            network = normalize_network(raw)
            if network:
                add(self._network_exact.get(network, ()), network)
                add(
                    (r for prefix, r in self._network_prefix if network.startswith(prefix)), network
                )
        return found


def normalize_pattern(kind: str, pattern: str) -> str:
    """A stored pattern as matching compares it ("*.WP.com." -> "wp.com")."""
    return normalize_network(pattern) if kind == Match.NETWORK_NAME else normalize_name(pattern)


def _rule(id: int, kind: str, pattern: str, organisation_id: int, role: str) -> _Rule:
    return _Rule(id, kind, normalize_pattern(kind, pattern), organisation_id, role)


def _suffixes(name: str) -> Iterable[str]:
    """ "a.b.c" -> "a.b.c", "b.c", "c": label boundaries only, longest first."""
    labels = name.split(".")
    for i in range(len(labels)):
        yield ".".join(labels[i:])


# --- the in-process cache ----------------------------------------------------------------------

_lock = threading.Lock()
_cached: tuple[tuple[int, int], float, RuleSet] | None = None


def load_rules() -> RuleSet:
    """The current rules, from the cache when neither the row count nor the highest id changed
    (one small aggregate query) and the cache is younger than CACHE_SECONDS."""
    global _cached
    stamp = OperatorRule.objects.aggregate(count=Count("id"), top=Max("id"))
    key = (stamp["count"], stamp["top"] or 0)
    with _lock:
        cached = _cached
    if cached is not None and cached[0] == key and time.monotonic() - cached[1] < CACHE_SECONDS:
        return cached[2]
    rules = RuleSet.from_db()
    with _lock:
        _cached = (key, time.monotonic(), rules)
    return rules


def clear_rule_cache() -> None:
    global _cached
    with _lock:
        _cached = None


@receiver(post_save, sender=OperatorRule, dispatch_uid="directory-rules-saved")
@receiver(post_delete, sender=OperatorRule, dispatch_uid="directory-rules-deleted")
def _rules_changed(**kwargs: object) -> None:
    clear_rule_cache()


def match_rules(
    hostname: str,
    cname_chain: Sequence[str] = (),
    network_names: Sequence[str] = (),
    *,
    rules: RuleSet | None = None,
) -> list[RuleMatch]:
    """The operator rules matching a host, most specific first (see RuleSet.match). Pass
    `rules` from load_rules() when matching many hosts in one go."""
    ruleset = rules if rules is not None else load_rules()
    return ruleset.match(hostname, cname_chain, network_names)


def best_by_role(matches: Iterable[RuleMatch]) -> dict[str, RuleMatch]:
    """The most specific match for each role (platform, cdn, hosting ...)."""
    best: dict[str, RuleMatch] = {}
    for match in matches:
        best.setdefault(match.role, match)
    return best
