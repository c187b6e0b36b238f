"""Measure: the share of WHOIS facts our parser finds in the 44 shared real answers, beside
python-whois alone on the same answers.

    .venv/bin/python bench/whois_facts.py            # --verbose lists every miss

Issue 11. The facts (holder name or organisation, holder country and e-mail, registrar name,
registrar abuse e-mail, registrar IANA id) and their values were written by reading each raw
answer in ../shared/data/whois/raw/, not taken from python-whois's expected/ files; a fact an
answer does not carry is not counted, "a|b" accepts either value. "redacted" means the answer
withholds it (a placeholder), "proxy" that a privacy service stands in for the holder: our
parser must say so, never return the placeholder or the service as the holder.

python-whois is scored on its labelled fields (registrant_name, name, org, registrant_country,
registrant_email, registrar, ...) and, kindly, on its unlabelled `emails` list for the two
e-mail facts; it has no notion of redaction, so a redacted fact counts for it when its field
holds the placeholder text.

Printed: found / present per fact and in total for both, wrong values (a value that is not the
one in the answer), and our parser's time per answer.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TAKEDOWN_SHARED_DIR", ROOT.parent / "shared"))
RAW = SHARED / "data" / "whois" / "raw"

REDACTED = "redacted"
PROXY = "proxy"
FACTS = ("holder", "holder_country", "holder_email", "registrar", "abuse_email", "iana_id")

# Written by reading each answer. Absent keys: the answer does not carry that fact.
EXPECTED: dict[str, dict[str, str]] = {
    "abc.rs": {
        "holder": "Roda grupa doo",
        "holder_country": "RS",
        "registrar": "Mainstream Public Cloud Services d.o.o.",
    },
    "about.us": {
        "holder": ".US Registration Policy",
        "holder_country": "US",
        "holder_email": "support.us@neustar.us",
        "registrar": "Neustar, Inc.",
        "abuse_email": "reg-support@support.neustar",
        "iana_id": "1111112",
    },
    "abv.bg": {"holder": "Darik Net EAD", "holder_country": "BG"},
    "afip.gob.ar": {"holder": "ADMINISTRACION FEDERAL DE INGRESOS PUBLICOS", "registrar": "nicar"},
    "brainly.lat": {
        "holder": "Brainly Sp. z o.o.",
        "holder_country": "PL",
        "holder_email": REDACTED,
        "registrar": "Instra Corporation Pty Ltd.",
        "iana_id": "1376",
    },
    "cyberciti.biz": {
        "holder": PROXY,
        "holder_country": REDACTED,
        "holder_email": REDACTED,
        "registrar": "GoDaddy.com, LLC",
        "abuse_email": "abuse@godaddy.com",
        "iana_id": "146",
    },
    "davidwalsh.name": {"registrar": "Name.com, Inc.", "iana_id": "625"},
    "digg.com": {"holder": PROXY, "registrar": "GODADDY.COM, INC."},
    "drupalcamp.by": {
        "holder": REDACTED,
        "holder_email": REDACTED,
        "registrar": "Active Technologies LLC",
    },
    "google.ai": {
        "holder": "Google LLC",
        "holder_country": "US",
        "holder_email": "dns-admin@google.com",
        "registrar": "MarkMonitor Inc.",
        "abuse_email": "abusecomplaints@markmonitor.com",
        "iana_id": "292",
    },
    "google.at": {
        "holder": "Google Inc.",
        "holder_country": "US",
        "holder_email": "dns-admin@google.com",
        "registrar": "MarkMonitor Inc.",
    },
    "google.cl": {"holder": "Google Inc.", "registrar": "MarkMonitor Inc."},
    # registrant CON-66 is a MarkMonitor contact object; the registrar is only a handle.
    "google.co.cr": {
        "holder": "MarkMonitor Inc.",
        "holder_country": "US",
        "holder_email": "ccops@markmonitor.com",
    },
    "google.co.id": {
        "registrar": "PT Digital Registra Indonesia",
        "abuse_email": "info@digitalregistra.co.id",
        "iana_id": "1",
    },
    "google.co.il": {
        "holder": "Google LLC.",
        "holder_country": "US",
        "holder_email": "dns-admin@google.com",
        "registrar": "Domain The Net Technologies Ltd",
    },
    "google.co.ve": {
        "holder": "Google Inc.",
        "holder_country": "US",
        "holder_email": "dns-admin@google.com",
    },
    # The registrar's block: "Dns Admin", "Google Inc.", "Please contact contact-admin@...",
    # ..., "dns-admin@google.com +1.6502530000".
    "google.com": {
        "holder": "Google Inc.|Dns Admin",
        "holder_country": "US",
        "holder_email": "dns-admin@google.com|contact-admin@google.com",
        "registrar": "MARKMONITOR INC.",
    },
    "google.com.pe": {"holder": "Google LLC", "registrar": "MarkMonitor Inc."},
    "google.com.sa": {"holder": "Google Inc. قوقل انك", "holder_country": "US"},
    "google.com.sg": {"holder": "GOOGLE LLC", "registrar": "MarkMonitor Inc."},
    "google.com.tr": {
        "holder": "Google LLC",
        "holder_country": "US",
        "holder_email": "dns-admin@google.com",
    },
    "google.com.tw": {
        "holder": "Google Inc.",
        "holder_country": "US",
        "holder_email": "dns-admin@google.com",
        "registrar": "Markmonitor, Inc.",
    },
    "google.com.ua": {
        "holder": "Google Inc.",
        "holder_country": "US",
        "holder_email": "dns-admin@google.com",
        "registrar": "MarkMonitor Inc.",
        "abuse_email": "abusecomplaints@markmonitor.com",
    },
    "google.de": {},
    "google.do": {
        "holder": "GOOGLE LLC",
        "holder_country": REDACTED,
        "holder_email": REDACTED,
        "registrar": "Registrar NIC .DO (midominio.do)",
    },
    "google.fr": {
        "holder": "Google Ireland Holdings Unlimited Company",
        "holder_country": "IE",
        "holder_email": "dns-admin@google.com",
        "registrar": "MARKMONITOR Inc.",
    },
    "google.hn": {
        "holder": "Google Inc.",
        "holder_country": "US",
        "holder_email": "dns-admin@google.com",
        "registrar": "MarkMonitor",
    },
    "google.hu": {},
    "google.ie": {
        "holder": "Google LLC",
        "registrar": "Markmonitor Inc",
        "abuse_email": "abusecomplaints@markmonitor.com",
    },
    "google.it": {
        "holder": "Google Ireland Holdings Unlimited Company",
        "holder_country": "IE",
        "registrar": "MarkMonitor International Limited",
    },
    "google.kg": {},  # contacts only, no holder block
    "google.lu": {"holder_country": "US", "registrar": "Markmonitor"},
    "google.lv": {"holder": "Google LLC", "holder_country": "US", "registrar": "MarkMonitor Inc."},
    "google.mx": {"holder": "Google Inc.", "holder_country": "US", "registrar": "MarkMonitor"},
    "google.ro": {"registrar": "MarkMonitor Inc."},
    "google.sk": {
        "holder": "Google Ireland Holdings Unlimited Company",
        "holder_country": "IE",
        "holder_email": "dns-admin@google.com",
        "registrar": "FAJNOR IP s. r. o.",
    },
    # "Registrars.Registrant:" glued to the notice above it.
    "microsoft.com": {
        "holder": "Microsoft Corporation",
        "holder_country": "US",
        "registrar": "TUCOWS INC.",
    },
    "nyan.cat": {"registrar": "GANDI SAS", "abuse_email": "direction@gandi.net", "iana_id": "81"},
    "seal.jobs": {
        "holder": "Seal Jobs NV",
        "holder_country": "BE",
        "holder_email": REDACTED,
        "registrar": "GoDaddy.com, LLC",
        "abuse_email": "email@godaddy.com",
        "iana_id": "146",
    },
    "squatter.net": {"holder": "CustomPC", "holder_country": "US", "registrar": "DOMAINDISCOVER"},
    "urlowl.com": {
        "registrar": "DYNADOT, LLC",
        "abuse_email": "abuse@dynadot.com",
        "iana_id": "472",
    },
    "www.gov.uk": {"holder": "UK Cabinet Office", "holder_country": "GB"},
    "yahoo.co.jp": {"holder": "LY Corporation"},
    "yandex.kz": {
        "holder": "Yandex.Kazakhstan LLP",
        "holder_country": "KZ",
        "registrar": "HOSTER.KZ",
    },
}


def _norm(value: Any) -> str:
    return " ".join(str(value or "").split()).casefold()


def ours(domain: str, text: str) -> dict[str, Any]:
    from takedown.resolve.whois_parse import parse_text

    facts = parse_text(domain, text)
    holder, registrar = facts.registrant, facts.registrar
    return {
        "holder": [holder.name, holder.organization] if holder else [],
        "proxy": bool(holder and holder.privacy_proxy),
        "holder_country": [holder.country] if holder else [],
        "holder_email": [holder.email] if holder else [],
        "registrar": [registrar.name] if registrar else [],
        "abuse_email": [registrar.email] if registrar else [],
        "iana_id": [registrar.iana_id] if registrar else [],
        "from_library": sum(p.startswith("python-whois") for p in facts.parsers.values()),
    }


def python_whois(domain: str, text: str) -> dict[str, Any]:
    from whois.parser import WhoisEntry

    from takedown.resolve.countries import to_alpha2

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            entry = WhoisEntry.load(domain, text)
    except Exception:  # it raises on dates it cannot read: then it found nothing
        return {}

    def values(*keys: str) -> list[str]:
        found: list[str] = []
        for key in keys:
            value = entry.get(key)
            found += [str(v) for v in value] if isinstance(value, list) else [str(value or "")]
        return [value for value in found if value]

    holder = values("registrant_name", "name", "registrant", "registrant_org")
    holder += values("registrant_organization", "org")
    countries = values("registrant_country", "registrant_country_code", "country")
    emails = values("emails")
    return {
        "holder": holder,
        "proxy": False,
        "holder_country": [to_alpha2(value) or value for value in countries],
        "holder_email": values("registrant_email") + emails,
        "registrar": values("registrar", "registrar_name"),
        "abuse_email": values("registrar_abuse_contact_email", "registrar_email") + emails,
        "iana_id": values("registrar_iana_id", "registrar_id"),
    }


def _redacted_text(values: list[str]) -> bool:
    from takedown.resolve.whois_parse import _REDACTED

    return any(value == REDACTED or _REDACTED.search(value) for value in values)


def score(expected: str, fact: str, got: dict[str, Any]) -> str:
    """'found', 'wrong' (a value, not the answer's) or 'missed'."""
    values = [value for value in got.get(fact, []) if value]
    if expected == PROXY:
        return "found" if got.get("proxy") else ("wrong" if values else "missed")
    if expected == REDACTED:
        return "found" if _redacted_text(values) else ("wrong" if values else "missed")
    if {_norm(want) for want in expected.split("|")} & {_norm(value) for value in values}:
        return "found"
    return "wrong" if values else "missed"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--verbose", action="store_true", help="list every fact not found")
    args = parser.parse_args()
    if not RAW.is_dir():
        print(f"needs {RAW} (../shared beside the checkout, or TAKEDOWN_SHARED_DIR)")
        return 1
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from takedown.resolve.whois import decode

    answers = {path.name: decode(path.read_bytes()) for path in sorted(RAW.iterdir())}
    missing = set(answers) ^ set(EXPECTED)
    if missing:
        print(f"expectations and samples differ: {sorted(missing)}")
        return 1
    tally: dict[str, dict[str, dict[str, int]]] = {"ours": {}, "python-whois": {}}
    got_ours = {name: ours(name, text) for name, text in answers.items()}
    started = time.perf_counter()  # a second pass: imports and label caches are warm
    for name, text in answers.items():
        ours(name, text)
    per_answer_ms = (time.perf_counter() - started) * 1000 / len(answers)
    got_library = {name: python_whois(name, text) for name, text in answers.items()}
    for who, got in (("ours", got_ours), ("python-whois", got_library)):
        for name, expected in EXPECTED.items():
            for fact, value in expected.items():
                outcome = score(value, fact, got[name])
                counts = tally[who].setdefault(fact, {"found": 0, "wrong": 0, "missed": 0})
                counts[outcome] += 1
                if args.verbose and outcome != "found":
                    print(f"{who:13} {outcome:6} {name:16} {fact:15} want {value!r}")
    print(f"{'fact':16} {'present':>7} {'ours':>12} {'python-whois':>14}")
    totals = {"ours": [0, 0], "python-whois": [0, 0]}
    for fact in FACTS:
        present = sum(1 for expected in EXPECTED.values() if fact in expected)
        row = f"{fact:16} {present:7}"
        for who in ("ours", "python-whois"):
            counts = tally[who].get(fact, {"found": 0, "wrong": 0})
            totals[who][0] += counts["found"]
            totals[who][1] += counts["wrong"]
            row += f" {counts['found']:5} ({counts['wrong']} wrong)"
        print(row)
    present = sum(len(expected) for expected in EXPECTED.values())
    for who, (found, wrong) in totals.items():
        print(f"{who}: {found}/{present} facts found ({found / present:.0%}), {wrong} wrong")
    taken = sum(got["from_library"] for got in got_ours.values())
    print(f"ours: {per_answer_ms:.2f} ms per answer; {taken} fields taken from python-whois")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
