"""Importing recipient databases into the directory.

datenanfragen (https://github.com/datenanfragen/data, CC0) lists privacy contacts of companies
and the complaint contacts of data-protection authorities. We do not ship it; the importer reads
any of these layouts:

- a .jsonl file, one record a line (supervisory-authorities*.jsonl holds authorities, any other
  name companies);
- a directory holding companies.jsonl and/or supervisory-authorities.jsonl;
- the upstream layout: a directory holding companies/<slug>.json and/or
  supervisory-authorities/<slug>.json, or one of those two directories itself.

Decisions (see also the report of `import_directory`):
- Companies become Organisation(kind="operator", or "platform" when the categories include
  "social media"), external_key "datenanfragen:<slug>". Authorities become kind "dpa",
  external_key "datenanfragen-sa:<slug>" (the two slug spaces are separate upstream).
- Every contact is purpose "privacy" (that is what the database collects; for an authority:
  lodging a complaint), quality "imported" whatever the upstream grade: "verified" in our
  directory means one of us checked it. The upstream grade goes into the notes.
- Records graded "scraped" upstream (machine-made, never checked by a human) are skipped unless
  --include-scraped: a notice about a person's images must not go to an unchecked address.
- The schema has no fax channel and no field for a GDPR Art. 27 representative. Fax numbers
  and PGP keys go into the notes; an address or comment naming a representative adds a note
  "EU representative (GDPR Art. 27)", and the postal contact is that address.
- The preferred contact follows `suggested-transport-medium`, defaulting as the schema says
  (companies: e-mail if there is one, else letter; authorities: fax, then letter, then e-mail,
  where fax falls through to letter).
- supervises: ISO 3166-1 codes; German state authorities get ISO 3166-2 codes (DE-BE ...).
  Authorities only for public bodies, churches or broadcasters supervise no territory for
  private companies: their supervises is empty and their notes say what they cover.
- Import is atomic: every record is parsed and checked first; one bad record aborts the run
  with "file:line: reason" and nothing is written.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from takedown.directory.contacts import ContactChanges, ContactSpec, plan_contacts
from takedown.errors import NotPossible
from takedown.models import Contact, Organisation
from takedown.resolve.regions import region_in_address

Kind = Organisation.Kind
Purpose = Contact.Purpose
Channel = Contact.Channel

COMPANY_KEY = "datenanfragen:"
AUTHORITY_KEY = "datenanfragen-sa:"
COMPANIES = "companies"
AUTHORITIES = "supervisory-authorities"

_SLUG = re.compile(r"[a-z0-9-]+")
_COMPANY_MEDIA = {"email", "webform", "letter", "fax"}
_AUTHORITY_MEDIA = {"email", "letter", "fax"}
_QUALITIES = {"tested", "verified", "imported", "scraped"}
_REPRESENTATIVE = re.compile(r"representative|vertreter|art(icle|ikel|\.)? ?27", re.IGNORECASE)

# The last line of an address names the country, in English or the local language.
COUNTRY_NAMES: dict[str, str] = {
    name.casefold(): code
    for code, names in {
        "AE": ["United Arab Emirates"],
        "AT": ["Austria", "Österreich"],
        "AU": ["Australia"],
        "BE": ["Belgium", "Belgique", "België", "Belgien"],
        "BG": ["Bulgaria", "България"],
        "CA": ["Canada"],
        "CH": ["Switzerland", "Schweiz", "Suisse", "Svizzera"],
        "CN": ["China", "People's Republic of China"],
        "CY": ["Cyprus", "Κύπρος"],
        "CZ": ["Czech Republic", "Czechia", "Česká republika"],
        "DE": ["Germany", "Deutschland"],
        "DK": ["Denmark", "Danmark"],
        "EE": ["Estonia", "Eesti"],
        "ES": ["Spain", "España"],
        "FI": ["Finland", "Suomi"],
        "FR": ["France"],
        "GB": ["United Kingdom", "UK", "Great Britain"],
        "GI": ["Gibraltar"],
        "GR": ["Greece", "Ελλάδα"],
        "HK": ["Hong Kong"],
        "HR": ["Croatia", "Hrvatska"],
        "HU": ["Hungary", "Magyarország"],
        "IE": ["Ireland", "Éire"],
        "IL": ["Israel"],
        "IM": ["Isle of Man"],
        "IN": ["India"],
        "IS": ["Iceland", "Ísland"],
        "IT": ["Italy", "Italia"],
        "JP": ["Japan"],
        "LI": ["Liechtenstein"],
        "LT": ["Lithuania", "Lietuva"],
        "LU": ["Luxembourg", "Luxemburg"],
        "LV": ["Latvia", "Latvija"],
        "MA": ["Morocco"],
        "MH": ["Marshall Islands"],
        "MT": ["Malta"],
        "MY": ["Malaysia"],
        "NL": ["The Netherlands", "Netherlands", "Nederland"],
        "NO": ["Norway", "Norge"],
        "NZ": ["New Zealand"],
        "PA": ["Panama"],
        "PK": ["Pakistan"],
        "PL": ["Poland", "Polska"],
        "PT": ["Portugal"],
        "QA": ["Qatar"],
        "RO": ["Romania", "România"],
        "RU": ["Russia", "Russian Federation"],
        "SC": ["Seychelles"],
        "SE": ["Sweden", "Sverige"],
        "SG": ["Singapore", "Republic of Singapore"],
        "SI": ["Slovenia", "Slovenija"],
        "SK": ["Slovakia", "Slovensko"],
        "TW": ["Taiwan"],
        "US": ["United States of America", "United States", "USA", "U.S.A."],
    }.items()
    for name in names
}

# Authorities by slug whose competence is not "the whole country for private companies".
GERMAN_STATE_AUTHORITIES: dict[str, str] = {
    "debawueldb": "DE-BW",
    "debaylda": "DE-BY",  # Bavaria's authority for the private sector
    "deberlbdi": "DE-BE",
    "debralda": "DE-BB",
    "debrelfdi": "DE-HB",
    "dehessbdi": "DE-HE",
    "dehmbbfdi": "DE-HH",
    "demvldi": "DE-MV",
    "dendslfd": "DE-NI",
    "denrwldi": "DE-NW",
    "derlpbdi": "DE-RP",
    "desaarudz": "DE-SL",
    "desaechsdsb": "DE-SN",
    "desalbd": "DE-ST",
    "deshuld": "DE-SH",
    "detlfdi": "DE-TH",
}
SECTOR_AUTHORITIES: dict[str, str] = {
    "debayldb": "Bavarian public bodies only (private sector: BayLDA).",
    "deekdbfd": "Protestant church (EKD) bodies only.",
    "dekathbayddsb": "Catholic dioceses in Bavaria only.",
    "dekathdsz": "Catholic dioceses in North Rhine-Westphalia only.",
    "dekathffdsz": "Catholic dioceses in central and south-west Germany only.",
    "dekathnordddsb": "Catholic dioceses in northern Germany only.",
    "dekathostddsb": "Catholic dioceses in eastern Germany only.",
    "derf": "Public broadcasters' journalistic data only.",
    "derfdw": "Deutsche Welle only.",
}
# The federal commissioner: federal public bodies, telecommunication and postal services.
FEDERAL_AUTHORITY_NOTE = {
    "debfdi": "Federal level: federal public bodies, telecommunication and postal services."
}


class DirectoryImportError(NotPossible):
    """A record cannot be imported; the message is one line naming the file and line."""


@dataclass
class ParsedOrganisation:
    external_key: str
    slug: str
    fields: dict[str, Any]
    contacts: list[ContactSpec]
    skipped: bool = False


@dataclass
class ImportReport:
    counts: dict[str, dict[str, int]] = field(
        default_factory=lambda: {
            kind: {"created": 0, "updated": 0, "unchanged": 0, "skipped": 0}
            for kind in (COMPANIES, AUTHORITIES)
        }
    )
    contacts: dict[str, int] = field(
        default_factory=lambda: {"created": 0, "updated": 0, "deleted": 0}
    )

    def total(self, what: str) -> int:
        return sum(counts[what] for counts in self.counts.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.total("created"),
            "updated": self.total("updated"),
            "unchanged": self.total("unchanged"),
            "skipped": self.total("skipped"),
            "by_kind": {kind: dict(counts) for kind, counts in self.counts.items()},
            "contacts": dict(self.contacts),
        }


# --- reading ------------------------------------------------------------------------------------


def iter_datenanfragen(path: Path) -> Iterator[tuple[str, str, Any]]:
    """(kind, location, decoded JSON) for every record under `path`, in a stable order."""
    if path.is_file():
        if path.suffix == ".jsonl":
            yield from _read_jsonl(path, _kind_of(path.stem))
        elif path.suffix == ".json":
            yield _kind_of(path.parent.name), str(path), _load_json(path)
        else:
            raise DirectoryImportError(
                gettext("%(where)s: expected a .jsonl or .json file or a directory")
                % {"where": path}
            )
        return
    if not path.is_dir():
        raise DirectoryImportError(
            gettext("%(where)s: no such file or directory") % {"where": path}
        )
    found = False
    for kind in (COMPANIES, AUTHORITIES):
        jsonl = path / f"{kind}.jsonl"
        folder = path / kind
        if jsonl.is_file():
            found = True
            yield from _read_jsonl(jsonl, kind)
        elif folder.is_dir():
            found = True
            yield from _read_folder(folder, kind)
    if not found and path.name in (COMPANIES, AUTHORITIES):
        found = True
        yield from _read_folder(path, path.name)
    if not found:
        raise DirectoryImportError(
            gettext(
                "%(where)s: holds neither companies(.jsonl) nor supervisory-authorities(.jsonl)"
            )
            % {"where": path}
        )


def _kind_of(name: str) -> str:
    return AUTHORITIES if name.startswith(AUTHORITIES) else COMPANIES


def _read_jsonl(path: Path, kind: str) -> Iterator[tuple[str, str, Any]]:
    # Bytes, decoded per line: a line that is not UTF-8 is an error of that line, not a
    # UnicodeDecodeError from the file object (found by tests/test_attack_fuzz.py).
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, 1):
            if not raw.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = json.loads(raw.decode("utf-8"))
            except json.JSONDecodeError as exc:
                raise _invalid_json(where, exc.msg) from None
            except (UnicodeDecodeError, ValueError, RecursionError) as exc:
                # Not UTF-8, a number of thousands of digits, nesting too deep for the parser.
                raise _invalid_json(where, type(exc).__name__) from None
            yield kind, where, record


def _read_folder(folder: Path, kind: str) -> Iterator[tuple[str, str, Any]]:
    for file in sorted(folder.glob("*.json")):
        record = _load_json(file)
        if isinstance(record, dict) and record.get("slug") != file.stem:
            raise DirectoryImportError(
                gettext("%(where)s: slug %(slug)s does not match the file name")
                % {"where": file, "slug": repr(record.get("slug"))}
            )
        yield kind, str(file), record


def _load_json(file: Path) -> Any:
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError too
        raise _invalid_json(str(file), str(exc)) from None


def _invalid_json(where: str, error: str) -> DirectoryImportError:
    return DirectoryImportError(
        gettext("%(where)s: invalid JSON (%(error)s)") % {"where": where, "error": error}
    )


# --- checking and mapping -----------------------------------------------------------------------


def parse_record(
    kind: str, where: str, record: Any, *, include_scraped: bool = False
) -> ParsedOrganisation:
    if not isinstance(record, dict):
        raise DirectoryImportError(gettext("%(where)s: expected a JSON object") % {"where": where})
    check = _Checker(where, record)
    slug = check.text("slug", required=True)
    if not _SLUG.fullmatch(slug):
        raise DirectoryImportError(
            gettext("%(where)s: slug %(slug)s is not [a-z0-9-]+")
            % {"where": where, "slug": repr(slug)}
        )
    name = check.text("name", required=True, max_length=300)
    address = check.text("address", required=True)
    countries = check.strings("relevant-countries", required=True)
    sources = check.strings("sources", required=kind == COMPANIES)
    email = check.text("email")
    webform = check.text("webform")
    phone = check.text("phone")
    fax = check.text("fax")
    web = check.text("web")
    comments = check.strings("comments")
    medium = check.text("suggested-transport-medium")
    if medium and medium not in (_COMPANY_MEDIA if kind == COMPANIES else _AUTHORITY_MEDIA):
        raise DirectoryImportError(
            gettext("%(where)s: unknown suggested-transport-medium %(medium)s")
            % {"where": where, "medium": repr(medium)}
        )
    notes: list[str] = []
    if kind == COMPANIES:
        quality = check.text("quality", required=True)
        if quality not in _QUALITIES:
            raise DirectoryImportError(
                gettext("%(where)s: unknown quality %(quality)s")
                % {"where": where, "quality": repr(quality)}
            )
        categories = check.strings("categories")
        runs = check.strings("runs")
        if runs:
            notes.append("Runs: " + "; ".join(runs))
        if language := check.text("request-language"):
            notes.append(f"Request language: {language}")
        notes.append(f"datenanfragen quality: {quality}")
        medium = medium or ("email" if email else "letter")
        key, source = COMPANY_KEY + slug, f"datenanfragen/{slug}"
        kind_value = Kind.PLATFORM if "social media" in categories else Kind.OPERATOR
        supervises: list[str] = []
    else:
        quality = ""
        if language := check.text("complaint-language"):
            notes.append(f"Complaint language: {language}")
        # Schema default: fax, then letter, then e-mail; we cannot fax, so letter.
        medium = medium if medium and medium != "fax" else "letter"
        key, source = AUTHORITY_KEY + slug, f"datenanfragen/{AUTHORITIES}/{slug}"
        kind_value = Kind.DPA
        supervises = _supervises(slug, countries)
        for note in (SECTOR_AUTHORITIES.get(slug), FEDERAL_AUTHORITY_NOTE.get(slug)):
            if note:
                notes.append(f"Competence: {note}")
    if fax:
        notes.append(f"Fax: {fax}")
    if fingerprint := check.text("pgp-fingerprint"):
        notes.append(f"PGP key: {fingerprint} {check.text('pgp-url')}".rstrip())
    if any(_REPRESENTATIVE.search(text) for text in [address, email, *comments]):
        notes.append(
            "EU representative (GDPR Art. 27): the postal address (or a comment) names a "
            "representative; the record's contacts may reach the representative."
        )
    elif address.lower().startswith("c/o"):
        notes.append(f"Postal address is care of: {address.splitlines()[0][4:].strip()}")
    notes += [f"Comment: {comment}" for comment in comments]
    if sources:
        notes.append("Sources: " + " ".join(sources))

    def spec(channel: str, value: str, preferred: bool) -> ContactSpec:
        return ContactSpec(Purpose.PRIVACY, channel, value, source, preferred=preferred)

    contacts = [spec(Channel.POSTAL, f"{name}\n{address.strip()}", medium == "letter")]
    if email:
        contacts.append(spec(Channel.EMAIL, email, medium == "email"))
    if webform:
        contacts.append(spec(Channel.WEBFORM, webform, medium == "webform"))
    if phone:
        contacts.append(spec(Channel.PHONE, phone, False))
    country = _country(address, countries)
    fields = {
        "name": name,
        "kind": kind_value,
        "country": country,
        "region": _region(address, country),
        "website": web if len(web) <= 500 else "",
        "supervises": supervises,
        "notes": "\n".join(notes),
        "source": "datenanfragen",
    }
    if kind != COMPANIES:
        # A state authority's own seat is its state (complaints, holidays). Companies keep
        # the region a caseworker recorded: the database does not know it.
        fields["region"] = GERMAN_STATE_AUTHORITIES.get(slug, "")
    skipped = quality == "scraped" and not include_scraped
    return ParsedOrganisation(key, slug, fields, contacts, skipped)


class _Checker:
    """Typed access to one record's fields with one-line errors."""

    def __init__(self, where: str, record: dict[str, Any]) -> None:
        self.where, self.record = where, record

    def missing(self, name: str) -> DirectoryImportError:
        return DirectoryImportError(
            gettext("%(where)s: missing required field %(field)s")
            % {"where": self.where, "field": repr(name)}
        )

    def text(self, name: str, *, required: bool = False, max_length: int = 0) -> str:
        value = self.record.get(name)
        if value is None:
            if required:
                raise self.missing(name)
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            raise DirectoryImportError(
                gettext("%(where)s: field %(field)s must be a non-empty string")
                % {"where": self.where, "field": repr(name)}
            )
        if max_length and len(value) > max_length:
            raise DirectoryImportError(
                gettext("%(where)s: field %(field)s is longer than %(max)d characters")
                % {"where": self.where, "field": repr(name), "max": max_length}
            )
        return value.strip()

    def strings(self, name: str, *, required: bool = False) -> list[str]:
        value = self.record.get(name)
        if value is None:
            if required:
                raise self.missing(name)
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise DirectoryImportError(
                gettext("%(where)s: field %(field)s must be a list of strings")
                % {"where": self.where, "field": repr(name)}
            )
        return value


def _country(address: str, relevant: list[str]) -> str:
    lines = [line.strip() for line in address.strip().splitlines() if line.strip()]
    if lines and (code := COUNTRY_NAMES.get(lines[-1].casefold())):
        return code
    codes = [c for c in relevant if c != "all"]
    return codes[0].upper() if len(codes) == 1 and len(codes[0]) == 2 else ""


def _region(address: str, country: str) -> str:
    """The state in the line above the country (US, Canadian and Australian addresses write
    it there; a German, Austrian or Swiss city line names it only for the city states)."""
    lines = [line.strip() for line in address.strip().splitlines() if line.strip()]
    return region_in_address(country, lines[-2]) if len(lines) >= 2 else ""


def _supervises(slug: str, relevant: list[str]) -> list[str]:
    if slug in SECTOR_AUTHORITIES:
        return []
    if slug in GERMAN_STATE_AUTHORITIES:
        return [GERMAN_STATE_AUTHORITIES[slug]]
    return [c.upper() for c in relevant if c != "all"]


# --- writing ------------------------------------------------------------------------------------


def import_datenanfragen(
    path: Path,
    *,
    include_scraped: bool = False,
    source_date: datetime.date | None = None,
) -> ImportReport:
    """Import every record under `path`, or nothing (DirectoryImportError)."""
    parsed: dict[str, tuple[str, ParsedOrganisation]] = {}
    for kind, where, record in iter_datenanfragen(path):
        item = parse_record(kind, where, record, include_scraped=include_scraped)
        if item.external_key in parsed:
            raise DirectoryImportError(
                gettext("%(where)s: slug %(slug)s appears twice")
                % {"where": where, "slug": repr(item.slug)}
            )
        parsed[item.external_key] = (kind, item)
    source_date = source_date or timezone.localdate()
    report = ImportReport()
    with transaction.atomic():
        # Prefix filters rather than IN lists: a few thousand keys would hit SQLite's limit on
        # query parameters.
        ours = Q(external_key__startswith=COMPANY_KEY) | Q(external_key__startswith=AUTHORITY_KEY)
        existing = {
            org.external_key: org
            for org in Organisation.objects.filter(ours)
            if org.external_key in parsed
        }
        current: dict[int, list[Contact]] = {}
        for contact in Contact.objects.filter(
            organisation__in=Organisation.objects.filter(ours), is_override=False
        ):
            current.setdefault(contact.organisation_id, []).append(contact)

        new: list[Organisation] = []
        changed: list[Organisation] = []
        changed_fields: set[str] = set()
        changes = ContactChanges()
        for key, (kind, item) in parsed.items():
            counts = report.counts[kind]
            if item.skipped:
                counts["skipped"] += 1
                continue
            org = existing.get(key)
            if org is None:
                org = Organisation(external_key=key, **item.fields)
                new.append(org)
                counts["created"] += 1
                changes.extend(_plan(org, item, [], source_date))
                continue
            fields = [name for name, value in item.fields.items() if getattr(org, name) != value]
            for name in fields:
                setattr(org, name, item.fields[name])
            if fields:
                changed.append(org)
                changed_fields.update(fields)
            plan = _plan(org, item, current.get(org.pk, []), source_date)
            counts["updated" if fields or plan else "unchanged"] += 1
            changes.extend(plan)

        Organisation.objects.bulk_create(new, batch_size=500)
        if changed:
            Organisation.objects.bulk_update(changed, sorted(changed_fields), batch_size=500)
        report.contacts = {
            "created": len(changes.create),
            "updated": len(changes.update),
            "deleted": len(changes.delete),
        }
        changes.apply()
    return report


def _plan(
    org: Organisation, item: ParsedOrganisation, contacts: list[Contact], source_date: datetime.date
) -> ContactChanges:
    source = item.contacts[0].source
    return plan_contacts(
        org, item.contacts, contacts, owned=lambda c: c.source == source, source_date=source_date
    )
