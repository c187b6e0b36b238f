"""Notices as the recipient sees them: subject, plain-text and HTML bodies, attachments, PDF,
and the element check that runs on every draft.

The letter text ("body") is one plain-text template assembly per regime, role and language:
pieces (intro, request, closing) and the legal statements of the regime's elements, each picked
from templates/notices/<lang>/<regime>/ before templates/notices/<lang>/common/, role-specific
names (`request_cdn.txt`) before general ones (`request.txt`). The layouts in
templates/notices/layout/ wrap that body with the header, the URL table and the signature block,
as plain text, HTML e-mail and PDF. A caseworker's edited text (`Notice.body_text`) replaces
the body only: header, URL table and signature stay generated, so editing cannot lose a URL.
A notice of more links than TAKEDOWN_NOTICE_LISTED_LINKS (a dataset maintainer's, up to a million)
lists none: in place of the table the layout states their number and names the attached zip,
which carries the data files written row by row from the database (notices/attachments.py);
its facts are counted in SQL (link_rows), so no step holds a row per link.

The context holds plain values built from the notice's own case only (its links filtered to
`notice.case`); templates never see a model, so they cannot reach the person's details. Those
appear only when the regime requires them and a reviewer confirmed the disclosure.
Plain text is rendered without escaping, HTML with Django's autoescape. Every rendering comes
back as a plain `str`, never as Django's SafeString: the plain text carries captions, entry ids,
URLs and organisation names (from WHOIS, RDAP and directory imports) unescaped, and a page that
showed it as "safe" would run their markup (a `<meta http-equiv="refresh">` in a caption once
navigated a reviewer's browser away). Pages escape what they show; nothing here is marked safe.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from itertools import chain
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.template import Context, Engine, engines
from django.utils import formats, timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext_noop

from takedown.intake.normalize import host_for_display
from takedown.models import (
    Case,
    Contact,
    LetterTemplate,
    Mandate,
    Notice,
    NoticeLink,
    RecipientRole,
)
from takedown.models.case import AffectedPerson
from takedown.notices import complaint, offences, placeholders
from takedown.notices.attachments import (
    DataFile,
    MailTooLarge,
    json_file,
    links_csv_file,
    manifest_csv_file,
    manifest_entry,
    notice_url,
    too_large,
    write_all,
    zip_bundle,
)
from takedown.notices.clock import deadline_for, grace_days, recipient_tz
from takedown.notices.pdf import asset_url, html_to_pdf
from takedown.notices.regimes import (
    IDENTITY,
    Regime,
    UnknownRegime,
    deadline_basis,
    get_regime,
    regime_heading,
)
from takedown.stored_text import Detail, StoredText

# Layout words per language. The letter text itself lives in templates/notices/<lang>/.
LABELS: dict[str, dict[str, Any]] = {
    "en": {
        "case_reference": "Our reference",
        "date": "Date",
        "recipient": "To",
        "legal_basis": "Legal basis",
        "sender": "From",
        "on_behalf_of": "On behalf of",
        "withheld": "the affected person (name withheld to protect their privacy)",
        "links_heading": "Content concerned",
        "col_no": "No.",
        "col_url": "URL",
        "col_first_seen": "First seen",
        "col_entry": "Entry id",
        "col_dataset": "Dataset",
        "col_caption": "Caption",
        "col_sha256": "SHA-256 of the URL",
        "attachments": "Attached",
        # In place of the list, in a notice of more links than TAKEDOWN_NOTICE_LISTED_LINKS.
        # DSA Art. 16(2)(b) asks for the exact electronic location of each item: the list
        # gives it, and the sentence says so and makes the list part of the notice.
        "links_attached": (
            "This notice concerns {count} URLs. Because of their number they are not listed in "
            "this letter: the attached file {archive} lists every one of them with its exact "
            "URL, the exact electronic location of the content ({files}). That list is part of "
            "this notice."
        ),
        "closing_formula": "Yours faithfully,",
        "signed": "/s/",
        "authorised_representative": "authorised representative of",
        "reminder": "Reminder",
        "date_format": "j F Y",
        "datetime_format": "j F Y, H:i T",
        "roles": {
            "site_operator": "site operator",
            "hosting": "hosting provider",
            "cdn": "content delivery network",
            "registrar": "domain registrar",
            "dataset_maintainer": "dataset maintainer",
            "dpa": "data-protection authority",
            "search_engine": "search engine",
        },
        "laws": {"gdpr": "GDPR", "uk_gdpr": "UK GDPR"},
        "complaint": ("Complaint to the supervisory authority", "{law} Art. 77"),
        "units": {
            "hours": ("{n} hour", "{n} hours"),
            "calendar_days": ("{n} day", "{n} days"),
            "working_days": ("{n} working day", "{n} working days"),
            "weeks": ("one week", "{n} weeks"),
            "months": ("one month", "{n} months"),
        },
    },
    "de": {
        "case_reference": "Unser Zeichen",
        "date": "Datum",
        "recipient": "An",
        "legal_basis": "Rechtsgrundlage",
        "sender": "Von",
        "on_behalf_of": "Im Auftrag von",
        "withheld": "der betroffenen Person (Name zum Schutz ihrer Privatsphäre nicht genannt)",
        "links_heading": "Betroffene Inhalte",
        "col_no": "Nr.",
        "col_url": "URL",
        "col_first_seen": "Zuerst gesehen",
        "col_entry": "Eintrags-ID",
        "col_dataset": "Datensatz",
        "col_caption": "Bildunterschrift",
        "col_sha256": "SHA-256 der URL",
        "attachments": "Anlagen",
        "links_attached": (
            "Diese Meldung betrifft {count} URLs. Wegen ihrer Zahl sind sie nicht in diesem "
            "Schreiben aufgeführt: Die beigefügte Datei {archive} nennt jede einzelne mit ihrer "
            "genauen URL, der genauen elektronischen Fundstelle des Inhalts ({files}). Diese "
            "Liste ist Bestandteil dieser Meldung."
        ),
        "closing_formula": "Mit freundlichen Grüßen",
        "signed": "gez.",
        "authorised_representative": "bevollmächtigte Vertretung für",
        "reminder": "Erinnerung",
        "date_format": "j. F Y",
        "datetime_format": "j. F Y, H:i T",
        "roles": {
            "site_operator": "Betreiber der Website",
            "hosting": "Hosting-Anbieter",
            "cdn": "Content-Delivery-Netzwerk",
            "registrar": "Domain-Registrar",
            "dataset_maintainer": "Herausgeber des Datensatzes",
            "dpa": "Datenschutzaufsichtsbehörde",
            "search_engine": "Suchmaschine",
        },
        "laws": {"gdpr": "DSGVO", "uk_gdpr": "UK GDPR"},
        "complaint": ("Beschwerde bei der Aufsichtsbehörde", "Art. 77 {law}"),
        # Dative, after "innerhalb von".
        "units": {
            "hours": ("{n} Stunde", "{n} Stunden"),
            "calendar_days": ("{n} Tag", "{n} Tagen"),
            # Werktage would include Saturdays (§193 BGB counts them apart): Arbeitstage.
            "working_days": ("{n} Arbeitstag", "{n} Arbeitstagen"),
            "weeks": ("einer Woche", "{n} Wochen"),
            "months": ("einem Monat", "{n} Monaten"),
        },
    },
}
# The languages the mandate (templates/notices/<lang>/common/mandate.html) is written in.
MANDATE_LANGUAGES = ("en", "de")

# Regimes under which a request may also ask for access (Art. 15: source and recipients).
ACCESS_REGIMES = frozenset({"gdpr", "uk_gdpr"})
# Element keys checked against data; every other key is a statement whose sentence must
# appear in the body.
DATA_ELEMENTS = frozenset({"urls", "notifier", "signature", "mandate", "identity", "agent"})
# Every notice states its deadline, whether or not the regime makes it a required element.
ALWAYS_STATED = ("deadline",)
ASCII_SPACE = re.compile(r"[ \t\r\n\f\v]+")


@dataclass
class Attachment:
    filename: str
    content: bytes
    mimetype: str


@dataclass
class RenderedNotice:
    subject: str
    text: str  # plain-text body
    html: str  # HTML e-mail body
    # links CSV always; manifest CSV+JSON for dataset maintainers; the notice as JSON (for a
    # notice of more links than TAKEDOWN_NOTICE_LISTED_LINKS these four in one zip); the
    # complaint's files; PDF unless with_pdf=False. None of them with with_data=False.
    attachments: list[Attachment] = field(default_factory=list)
    # The name of every file the notice carries when sent (for pages that do not build them).
    filenames: list[str] = field(default_factory=list)
    # False above TAKEDOWN_NOTICE_LISTED_LINKS: the letter states the number, the zip lists them.
    links_in_letter: bool = True


@dataclass
class _Draft:
    """Everything up to the plain text: what both rendering and the element check need."""

    notice: Notice
    regime: Regime
    context: dict[str, Any]
    statements: dict[str, str]
    body: str
    text: str
    foreign_links: int


def language_for(notice: Notice, regime: Regime) -> str:
    return notice.language if notice.language in regime.languages else "en"


def _engine() -> Engine:
    return engines["django"].engine  # type: ignore[attr-defined]


def _render(names: list[str], context: dict[str, Any], *, autoescape: bool) -> str:
    template = _engine().select_template(names)
    # Template.render returns a SafeString; str.__str__ copies it into a plain str (see the
    # module docstring), so any template showing it escapes it.
    return str.__str__(template.render(Context(context, autoescape=autoescape)))


# Follow-ups whose pieces may differ from the first notice's (`deadline_reminder.txt`).
KINDS_WITH_OWN_PIECES = ("reminder",)


def template_names(
    lang: str, regime: Regime, piece: str, role: str = "", kind: str = ""
) -> list[str]:
    """Where a piece of a notice may live, most specific first: a follow-up's own piece
    (`deadline_reminder.txt`) before the role's (`request_cdn.txt`) before the general one."""
    dirs = [regime.code]
    if regime.code == "uk_gdpr":
        dirs.append("gdpr")  # UK GDPR mirrors the GDPR; its templates branch on regime.code
    dirs.append("common")
    stems = [f"{piece}_{kind}", piece] if kind in KINDS_WITH_OWN_PIECES else [piece]
    files = []
    for stem in stems:
        files += [f"{stem}_{role}.txt", f"{stem}.txt"] if role else [f"{stem}.txt"]
    return [f"notices/{lang}/{folder}/{name}" for name in files for folder in dirs]


def _format_date(
    value: datetime, lang: str, *, with_time: bool = False, zone: tzinfo | None = None
) -> str:
    """`value` as a letter writes it, on the calendar of `zone` (default ours); a due date is
    written on the recipient's calendar, where its last day is counted."""
    key = "datetime_format" if with_time else "date_format"
    with translation.override(lang):
        return formats.date_format(timezone.localtime(value, zone), LABELS[lang][key])


def stated_due(notice: Notice, now: datetime) -> datetime | None:
    """The due date the letter states: the tracked one once the clock runs; before that, the
    one the clock will track if the notice goes out now (rendering for sending happens at the
    moment of sending). A notice submitted by hand (web form, post) starts its clock when the
    caseworker records the submission, so until then the letter names the period only."""
    if notice.due_at is not None:
        return notice.due_at
    if notice.channel and notice.channel != Contact.Channel.EMAIL:
        return None
    return deadline_for(notice, now)


def period_words(regime: Regime, lang: str) -> str:
    return _amount(regime.deadline_amount, regime.deadline_unit, lang)


def _amount(amount: int, unit: str, lang: str) -> str:
    one, many = LABELS[lang]["units"][unit]
    return (one if amount == 1 else many).format(n=amount)


def _person(
    notice: Notice, regime: Regime, *, assume_disclosure: bool = False
) -> dict[str, str] | None:
    """The person's name, only where the regime needs it and a reviewer confirmed it (or, for
    checking a draft before review, will have to). The e-mail and phone are never disclosed:
    replies go to the organisation."""
    if not regime.discloses_person:
        return None
    confirmed = notice.discloses_person and notice.disclosure_confirmed_by_id is not None
    if not (confirmed or assume_disclosure):
        return None
    try:
        person = notice.case.person
    except AffectedPerson.DoesNotExist:
        return None
    return {"name": person.name} if person.name.strip() else None


# Link rows read per query: the rows of a dataset maintainer's notice may number a million.
ROW_CHUNK = 5_000
# The link rows the element check renders into the letter to see that the layout lists them;
# every further row it checks as data (check_elements), so checking a notice of a million links
# needs neither a dict per link nor a letter a million lines long.
CHECKED_ROWS = 100
_ROW_FIELDS = (
    "link__case_id",
    "link__url",
    "link__host__hostname",
    "link__created_at",
    "link__entry_id",
    "link__dataset",
    "link__caption",
    "link__entry_id_note",
    "link__ref_sha256",
    "link__ref_phash",
    "link__ref_pdq",
)


def _each_link_row(notice: Notice) -> Iterator[dict[str, Any] | None]:
    """The notice's link rows in letter order, read as tuples in chunks; None for a link of
    another case (a bug elsewhere: it is left out, and the element check reports it)."""
    for values in _rest(notice, list(_through(notice)[: ROW_CHUNK + 1])):
        yield _row(notice, values)


def _through(notice: Notice) -> QuerySet[NoticeLink, tuple[Any, ...]]:
    return (
        NoticeLink.objects.filter(notice=notice)
        .order_by("link__created_at", "link__pk")
        .values_list(*_ROW_FIELDS)
    )


def _rest(notice: Notice, head: list[tuple[Any, ...]]) -> Iterable[tuple[Any, ...]]:
    """`head` (the first ROW_CHUNK + 1 rows), then the rest. Most notices hold a few links:
    one query read them. Only a longer one goes on through a cursor, in chunks (one sort on the
    server, not one per chunk)."""
    if len(head) <= ROW_CHUNK:
        return head
    return chain(head, _through(notice)[len(head) :].iterator(ROW_CHUNK))


def _row(notice: Notice, values: tuple[Any, ...]) -> dict[str, Any] | None:
    (
        case_id,
        url,
        hostname,
        created_at,
        entry_id,
        dataset,
        caption,
        entry_note,
        ref_sha256,
        ref_phash,
        ref_pdq,
    ) = values
    if case_id != notice.case_id:
        return None
    return {
        "url": url,
        # "münchen.de (xn--mnchen-3ya.de)" under an internationalised host's URL.
        "host": host_for_display(hostname) if "xn--" in hostname else "",
        "first_seen": created_at,
        "entry_id": entry_id,
        "dataset": dataset,
        "caption": caption,
        "entry_note": entry_note.strip(),
        # Recomputed, not read: the manifest promises the hash of exactly this string.
        "url_sha256": hashlib.sha256(url.encode()).hexdigest(),
        # Hashes of the person's own copy of the image (never the image itself): they
        # let a maintainer find re-crawled copies under other URLs.
        "reference": {
            name: value
            for name, value in (("sha256", ref_sha256), ("phash", ref_phash), ("pdq", ref_pdq))
            if value
        },
    }


@dataclass
class LinkRows:
    """What a notice's letter says about its links: the rows it lists (all of them, or the
    first `listed` for the element check) and the facts drawn from every row."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    count: int = 0  # links of the notice's own case
    foreign: int = 0  # links of another case, left out
    without_url: int = 0
    unnamed: int = 0  # dataset rows with neither an entry id nor the reason for its absence
    datasets: set[str] = field(default_factory=set)
    reference_hashes: bool = False
    # Rows without an entry id but with the caseworker's reason, by their number in the list.
    entry_notes: list[dict[str, Any]] = field(default_factory=list)


def link_rows(notice: Notice, listed: int | None = None) -> LinkRows:
    """The notice's links of its own case, in one pass over its rows; keeps the first `listed`
    rows (all when None). A notice of more links than its letter lists
    (TAKEDOWN_NOTICE_LISTED_LINKS) and than one chunk holds is counted and checked in SQL
    instead (_facts_in_sql), every row still: its pages and its element check then read no
    row of it beyond the first chunk."""
    if listed is not None and _longer_than_a_chunk(notice):
        facts = _facts_in_sql(notice)
        if facts.count > settings.TAKEDOWN_NOTICE_LISTED_LINKS:
            return facts
    return _gather(_each_link_row(notice), listed)


def _longer_than_a_chunk(notice: Notice) -> bool:
    # Unordered, so it reads the notice's index and stops: ordering a million rows by date to
    # find that out took 7 s at a million under load.
    return NoticeLink.objects.filter(notice=notice)[ROW_CHUNK : ROW_CHUNK + 1].exists()


def _facts_in_sql(notice: Notice) -> LinkRows:
    """What _gather finds in the rows, counted by the database (the same facts: a test
    compares the two). No rows and no entry notes: the letter lists none."""
    case_id = notice.case_id
    mine = Q(link__case_id=case_id)
    through = NoticeLink.objects.filter(notice=notice)
    counts = through.aggregate(
        total=Count("pk"),
        own=Count("pk", filter=mine),
        without_url=Count("pk", filter=mine & Q(link__url="")),
        # An entry note of whitespace only is none (_row strips it).
        unnamed=Count(
            "pk", filter=mine & Q(link__entry_id="", link__entry_id_note__regex=r"^\s*$")
        ),
        hashed=Count(
            "pk",
            filter=mine
            & (Q(link__ref_sha256__gt="") | Q(link__ref_phash__gt="") | Q(link__ref_pdq__gt="")),
        ),
    )
    datasets = (
        through.filter(mine)
        .exclude(link__dataset="")
        .values_list("link__dataset", flat=True)
        .distinct()
    )
    return LinkRows(
        count=counts["own"],
        foreign=counts["total"] - counts["own"],
        without_url=counts["without_url"],
        unnamed=counts["unnamed"],
        datasets=set(datasets),
        reference_hashes=counts["hashed"] > 0,
    )


def link_rows_of(notices: list[Notice], listed: int | None = None) -> dict[int, LinkRows]:
    """link_rows of several notices in one query (for notices with few links each: checking
    a case's thousands of small notices should not cost a query each)."""
    by_pk = {notice.pk: notice for notice in notices}
    values: dict[int, list[dict[str, Any] | None]] = {pk: [] for pk in by_pk}
    through = (
        NoticeLink.objects.filter(notice_id__in=by_pk)
        .order_by("notice_id", "link__created_at", "link__pk")
        .values_list("notice_id", *_ROW_FIELDS)
    )
    for notice_id, *row in through:
        values[notice_id].append(_row(by_pk[notice_id], tuple(row)))
    return {pk: _gather(rows, listed) for pk, rows in values.items()}


def _gather(rows: Iterable[dict[str, Any] | None], listed: int | None) -> LinkRows:
    found = LinkRows()
    for row in rows:
        if row is None:
            found.foreign += 1
            continue
        found.count += 1
        if listed is None or found.count <= listed:
            found.rows.append(row)
        if not row["url"]:
            found.without_url += 1
        if row["dataset"]:
            found.datasets.add(row["dataset"])
        if row["reference"]:
            found.reference_hashes = True
        if not row["entry_id"]:
            if row["entry_note"]:
                # Named by their number in the letter, which lists no rows above the threshold
                # (the manifest carries each reason then).
                if found.count <= settings.TAKEDOWN_NOTICE_LISTED_LINKS:
                    found.entry_notes.append({"no": found.count, "reason": row["entry_note"]})
            else:
                found.unnamed += 1
    return found


@dataclass
class Prefetched:
    """What the element check of a notice reads, read beforehand for many notices at once."""

    rows: LinkRows  # with CHECKED_ROWS listed
    mandate: Mandate | None  # the case's current_mandate


def current_mandate(case_id: int) -> Mandate | None:
    return (
        Mandate.objects.filter(case_id=case_id, revoked_at__isnull=True)
        .order_by("-uploaded_at")
        .first()
    )


def notice_context(
    notice: Notice,
    regime: Regime | None = None,
    *,
    assume_disclosure: bool = False,
    listed: int | None = None,
    prefetched: Prefetched | None = None,
) -> dict[str, Any]:
    """The template context: plain values from this notice and its own case only.
    `assume_disclosure` renders a disclosing regime's letter as it reads once a reviewer
    confirmed the disclosure (for the element check of a draft, never for sending). `listed`
    limits the link rows listed to the first so many (for the element check: link_rows);
    every other value counts all of them; `prefetched` holds them (and the mandate), read
    beforehand for many notices. A notice of more links than TAKEDOWN_NOTICE_LISTED_LINKS lists
    none (`links_in_letter` False): its letter states their number and names the attached zip
    (notices/attachments.py), and no more rows than that are held at once."""
    regime = regime or get_regime(notice.regime)
    lang = language_for(notice, regime)
    labels = LABELS[lang]
    case = notice.case
    now = timezone.now()
    most = settings.TAKEDOWN_NOTICE_LISTED_LINKS
    found = prefetched.rows if prefetched else link_rows(notice, most if listed is None else listed)
    in_letter = found.count <= most
    data_names = data_file_names(notice)
    signer = notice.created_by
    signer_name = (signer.get_full_name().strip() or signer.get_username()) if signer else ""
    notifier_email = (signer.email if signer else "") or settings.DEFAULT_FROM_EMAIL
    law = labels["laws"].get(regime.code, "")
    title, citation = regime_heading(regime, lang)
    if notice.recipient_role == RecipientRole.DPA:
        title, citation = labels["complaint"][0], labels["complaint"][1].format(law=law)
    due = stated_due(notice, now)
    mandate = prefetched.mandate if prefetched else current_mandate(notice.case_id)
    parent = notice.parent
    for_dpa = notice.recipient_role == RecipientRole.DPA
    for_dataset = _for_dataset(notice)
    facts = offences.clean_facts(case.legal_facts or {})
    recipient = notice.recipient
    named = offences.applicable(recipient.country, facts, recipient.region)
    return {
        "lang": lang,
        "labels": labels,
        "kind": notice.kind,
        "case_reference": case.reference,
        "category": case.category,
        "special_category": case.category in ("medical", "intimate"),
        # A minor's case describes no content in any letter (docs/law/minors.md).
        "minor": case.is_minor,
        # GDPR Art. 17(1)(f): data collected from a child by an information society service.
        "child_data": case.is_minor and facts.get("child_online_service") is True,
        # Named only where the recorded facts meet their conditions (notices.offences).
        "offences": [
            {"citation": offence.citation[lang], "heading": offence.heading[lang]}
            for offence in named
        ],
        # Offences prosecuted only on the person's complaint (StGB §77b).
        "complaint_offences": [
            offence.citation[lang] for offence in named if offence.needs_complaint
        ],
        "access_request": notice.access_request and regime.code in ACCESS_REGIMES,
        "owns_copyright": case.owns_copyright,
        # A sent letter rendered again (attached to a complaint) keeps the day it was sent.
        "date": _format_date(notice.sent_at or now, lang),
        "regime": {
            "code": regime.code,
            "title": title,
            "citation": citation,
            "law": law,
            "deadline_basis": deadline_basis(regime, lang),
        },
        "role": notice.recipient_role,
        "role_label": labels["roles"].get(notice.recipient_role, notice.recipient_role),
        "recipient": {
            "name": notice.recipient.name,
            "country": notice.recipient.country,
            "trusted_flagger": notice.recipient.trusted_flagger and not for_dpa,
        },
        "organisation": settings.TAKEDOWN_ORGANISATION.strip(),
        "notifier": {"email": notifier_email.strip()},
        "signer": {"name": signer_name},
        "person": _person(notice, regime, assume_disclosure=assume_disclosure)
        or complaint.named_person(notice),
        "links": found.rows if in_letter else [],
        "links_in_letter": in_letter,
        "links_statement": ""
        if in_letter
        else labels["links_attached"].format(
            count=_number(found.count, lang),
            archive=archive_name(case.reference),
            files=", ".join(data_names),
        ),
        "link_count": found.count,
        "foreign_links": found.foreign,
        "links_without_url": found.without_url,
        "unnamed_entries": found.unnamed,
        "attachment_names": (data_names[:-1] if in_letter else [archive_name(case.reference)])
        + complaint.names(notice),
        "complaint": complaint.context(notice, lambda value: _format_date(value, lang)),
        "datasets": sorted(found.datasets),
        "entry_notes": found.entry_notes if in_letter else [],
        "reference_hashes": found.reference_hashes,
        "is_dataset": for_dataset,
        "deadline": {
            "period": _amount(grace_days(notice), "calendar_days", lang)
            if notice.kind == Notice.Kind.REMINDER
            else period_words(regime, lang),
            "due": _format_date(
                due, lang, with_time=regime.deadline_unit == "hours", zone=recipient_tz(notice)
            )
            if due
            else "",
        },
        "mandate": {
            "on_file": mandate is not None,
            "date": _format_date(mandate.uploaded_at, lang) if mandate else "",
        },
        "parent": {
            "recipient": parent.recipient.name,
            "date": _format_date(parent.sent_at or parent.created_at, lang),
            # The deadline the parent ran against (extension included), where it ran out.
            "due": _format_date(
                parent.extended_until or parent.due_at,
                lang,
                with_time=regime.deadline_unit == "hours",
                zone=recipient_tz(parent),
            )
            if parent.due_at
            else "",
        }
        if parent
        else None,
    }


def _statement_keys(regime: Regime, category: str, role: str, *, access: bool) -> list[str]:
    keys = [e.key for e in regime.required_elements(category, role) if e.key not in DATA_ELEMENTS]
    keys += [key for key in ALWAYS_STATED if key not in keys]
    if access:
        # The optional Art. 15 request goes before the deadline, which covers it too.
        keys.insert(keys.index("deadline"), "access_request")
    return keys


def letter_pieces(
    lang: str, regime: Regime, role: str, kind: str, category: str, context: dict[str, Any]
) -> tuple[dict[str, str], dict[str, str]]:
    """The required statements by element key (in the order the letter states them) and the
    pieces intro, request and closing, from the built-in template files. Call inside
    translation.override(lang)."""
    statements = {
        key: _clean(
            _render(template_names(lang, regime, key, role, kind), context, autoescape=False)
        )
        for key in _statement_keys(regime, category, role, access=context["access_request"])
    }
    pieces = {
        piece: _clean(
            _render(template_names(lang, regime, piece, role, kind), context, autoescape=False)
        )
        for piece in ("intro", "request", "closing")
    }
    return statements, pieces


def compose_body(
    lang: str,
    regime: Regime,
    role: str,
    context: dict[str, Any],
    statements: dict[str, str],
    pieces: dict[str, str],
    team_text: str | None,
) -> str:
    """The letter text before any caseworker's edit: the team's own text where it has an
    active one (takedown.models.LetterTemplate, in the placeholder language), else the
    built-in body template."""
    if team_text is None:
        statement_list = [s for s in statements.values() if s]
        return _clean(
            _render(
                template_names(lang, regime, "body", role),
                {**context, **pieces, "statements": statement_list},
                autoescape=False,
            )
        )
    values = {
        **pieces,
        # The opening sentence of a reminder or an escalation ("" in a first notice), which
        # {intro} carries too: for a text that words its own opening.
        "reminder": _clean(
            _render([f"notices/{lang}/common/_reminder.txt"], context, autoescape=False)
        ),
        "organisation": context["organisation"],
        "recipient": context["recipient"]["name"],
        "role": context["role_label"],
        "case_reference": context["case_reference"],
        "regime_title": context["regime"]["title"],
        "citation": context["regime"]["citation"],
        "deadline_period": context["deadline"]["period"],
        "due_date": context["deadline"]["due"],
        "notifier_email": context["notifier"]["email"],
    }
    return _clean(placeholders.fill(team_text, values, statements))


def team_text(team_id: int | None, regime: str, lang: str) -> str | None:
    """The active letter text of a team for this regime and language; None: built-in."""
    if team_id is None:
        return None
    return (
        LetterTemplate.objects.filter(team_id=team_id, regime=regime, language=lang, active=True)
        .values_list("text", flat=True)
        .first()
    )


def message_text(context: dict[str, Any]) -> str:
    """The plain-text letter around `context["body"]`: header, links, signature."""
    return _render(["notices/layout/message.txt"], context, autoescape=False)


def _prepare(
    notice: Notice,
    *,
    use_edit: bool = True,
    assume_disclosure: bool = False,
    listed: int | None = None,
    prefetched: Prefetched | None = None,
) -> _Draft:
    regime = get_regime(notice.regime)
    context = notice_context(
        notice, regime, assume_disclosure=assume_disclosure, listed=listed, prefetched=prefetched
    )
    lang, role = context["lang"], notice.recipient_role
    own_text = team_text(notice.case.team_id, regime.code, lang)
    with translation.override(lang):
        statements, pieces = letter_pieces(
            lang, regime, role, notice.kind, notice.case.category, context
        )
        edited = notice.body_text.replace("\r\n", "\n").strip() if use_edit else ""
        edited = edited.replace(DUE_PLACEHOLDER, context["deadline"]["due"])
        body = edited or compose_body(lang, regime, role, context, statements, pieces, own_text)
        context = {**context, "body": body}
        text = message_text(context)
    return _Draft(notice, regime, context, statements, body, text, context["foreign_links"])


# Where an edited body names the due date (see with_due_placeholder).
DUE_PLACEHOLDER = "[due date]"


def shorten(text: str, limit: int, tail: str = "") -> str:
    """`text` in at most `limit` characters: cut at a character, an ellipsis, then `tail`."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(tail) - 1)].rstrip() + "…" + tail


def _clean(text: str) -> str:
    """Collapse the blank lines template tags leave behind; keep paragraph breaks."""
    # ASCII whitespace only: the German templates bind "§ 22" with no-break spaces.
    paragraphs = [ASCII_SPACE.sub(" ", part).strip() for part in text.strip().split("\n\n")]
    return "\n\n".join(p for p in paragraphs if p)


def template_body(notice: Notice) -> str:
    """The template's letter text for this notice: what an editor starts from."""
    return _prepare(notice, use_edit=False, listed=CHECKED_ROWS).body


def _words(text: str) -> str:
    """For comparison only: every run of whitespace (no-break spaces too) as one space."""
    return " ".join(text.split())


def _states(body: str, statement: str) -> bool:
    """Whether `body` contains `statement`, rewrapped or not. The due date in it must be the
    one the clock tracks: an edited body holds DUE_PLACEHOLDER where the date stood (see
    with_due_placeholder), so it always states today's date, and an edit that changed the
    date no longer contains the statement."""
    if not statement:
        return False
    return _words(statement) in body


def with_due_placeholder(notice: Notice, body_text: str) -> str:
    """An edited body as stored: the due date the letter states now becomes DUE_PLACEHOLDER,
    so the letter sent later states the date its clock then tracks, not the day of the edit.
    A date the editor changed stays as written, and the element check then blocks approval."""
    due = notice_context(notice)["deadline"]["due"]
    return body_text.replace(due, DUE_PLACEHOLDER) if due else body_text


def element_gaps(
    regime: Regime,
    category: str,
    role: str,
    ctx: dict[str, Any],
    statements: dict[str, str],
    body: str,
    text: str,
    *,
    agent: bool,
) -> list[str]:
    """Labels of the regime's required elements for this category and role that the letter
    (`text`, its body `body`, rendered from `ctx`) lacks. The one element check: of a notice
    (check_elements) and of a team's letter text on sample data (takedown.notices.letters)."""
    text = _words(text)
    body = _words(body)
    checks = {
        # The rows the check listed must be in the letter (the layout lists what it is given);
        # every row must have a URL to list.
        # Above TAKEDOWN_NOTICE_LISTED_LINKS the letter lists none: it must say that the
        # attached list gives each exact URL; every row was still checked for one.
        "urls": ctx["link_count"] > 0
        and not ctx["links_without_url"]
        and (
            all(row["url"] in text for row in ctx["links"])
            if ctx["links_in_letter"]
            else _words(ctx["links_statement"]) in text
        ),
        "notifier": bool(ctx["organisation"] and ctx["notifier"]["email"])
        and ctx["organisation"] in text
        and ctx["notifier"]["email"] in text,
        "signature": bool(ctx["signer"]["name"]) and ctx["signer"]["name"] in text,
        "mandate": ctx["mandate"]["on_file"],
        "identity": ctx["person"] is not None and ctx["person"]["name"] in text,
        # The work is the person's own only when they own the copyright (a selfie).
        "work": ctx["owns_copyright"],
        "agent": agent,
    }
    missing = []
    for element in regime.required_elements(category, role):
        present = checks.get(element.key, True)
        if element.key not in DATA_ELEMENTS:
            present = present and _states(body, statements.get(element.key, ""))
        if not present:
            missing.append(element.label)
    return missing


# The element check's findings beyond a regime's own elements (Element.label) and a letter to
# an authority's (complaint.missing). A finding is stored in English, in Notice.element_check
# and in a letter text's check: the record, the commands and the logs read it so, and every
# reader of one stored result sees the same finding. Staff pages show it in the reader's
# language through finding_label.
WRONG_ROLE = gettext_noop("a recipient this regime addresses (%(roles)s)")
WRONG_CATEGORY = gettext_noop("content this regime covers (%(categories)s images)")
FOREIGN_LINKS = gettext_noop("links of this case only (%(count)s belong to another case)")
UNNAMED_ENTRIES = gettext_noop(
    "the dataset entry id, or the caseworker's reason for its absence, of every link"
    " (%(count)s without)"
)
UNKNOWN_REGIME = gettext_noop("a known legal regime (%(code)s is not one)")
MESSAGE_TEXT = gettext_noop("the message text")
FINDINGS = (
    WRONG_ROLE,
    WRONG_CATEGORY,
    FOREIGN_LINKS,
    UNNAMED_ENTRIES,
    UNKNOWN_REGIME,
    MESSAGE_TEXT,
)


def _role_names(english: str) -> str:
    """ "site operator, hosting provider" (as a finding names roles) in the active language."""
    names = {name: role for role, name in LABELS["en"]["roles"].items()}
    words = LABELS.get((translation.get_language() or "en")[:2], LABELS["en"])["roles"]
    return ", ".join(words.get(names.get(name, ""), name) for name in english.split(", "))


def _category_names(english: str) -> str:
    return ", ".join(
        str(Case.Category(code).label) if code in Case.Category.values else code
        for code in english.split(", ")
    )


# Each finding with details: how to read the details back, and how to show them.
_DETAILED = StoredText(
    {
        WRONG_ROLE: {"roles": Detail(_role_names)},
        WRONG_CATEGORY: {"categories": Detail(_category_names)},
        FOREIGN_LINKS: {},
        UNNAMED_ENTRIES: {},
        UNKNOWN_REGIME: {},
    }
)


def finding_label(finding: str) -> str:
    """A stored finding of the element check (a regime element's label, a letter to an
    authority's gap, or one of the findings above with its details), in the active language.
    A finding no catalogue knows stays as it is."""
    return _DETAILED(finding)


def _missing(draft: _Draft) -> list[str]:
    notice, regime, ctx = draft.notice, draft.regime, draft.context
    missing = []
    if notice.recipient_role not in regime.roles:
        roles = ", ".join(LABELS["en"]["roles"][role] for role in regime.roles)
        missing.append(WRONG_ROLE % {"roles": roles})
    if regime.categories is not None and notice.case.category not in regime.categories:
        missing.append(WRONG_CATEGORY % {"categories": ", ".join(sorted(regime.categories))})
    if draft.foreign_links:
        missing.append(FOREIGN_LINKS % {"count": draft.foreign_links})
    if ctx["is_dataset"]:
        # A maintainer finds an entry by its id; a URL alone may match many rows or none.
        unnamed = ctx["unnamed_entries"]
        if unnamed:
            missing.append(UNNAMED_ENTRIES % {"count": unnamed})
    agent = (
        notice.contact is not None
        and notice.contact.purpose == Contact.Purpose.COPYRIGHT
        and notice.contact.organisation_id == notice.recipient_id
    )
    missing += element_gaps(
        regime,
        notice.case.category,
        notice.recipient_role,
        ctx,
        draft.statements,
        draft.body,
        draft.text,
        agent=agent,
    )
    return missing + complaint.missing(notice)


def statements_for(notice: Notice) -> dict[str, str]:
    """The required sentences of this notice by element key, as the template words them (an
    editor can highlight them; removing one fails the element check)."""
    return _prepare(notice, use_edit=False, listed=CHECKED_ROWS).statements


def check_elements(notice: Notice, prefetched: Prefetched | None = None) -> list[str]:
    """Human labels of the required elements this notice lacks; [] means complete.

    A disclosing regime's draft whose disclosure no reviewer confirmed yet is checked as it
    will read once confirmed (its statements name the person), plus the confirmation itself:
    an edit, which withdraws a confirmation, must not make the letter look incomplete.
    `prefetched`: its link rows (CHECKED_ROWS listed) and mandate, if read beforehand."""
    if notice.kind == Notice.Kind.MESSAGE:
        return [] if notice.body_text.strip() and notice.subject.strip() else [MESSAGE_TEXT]
    try:
        regime = get_regime(notice.regime)
    except UnknownRegime:
        return [UNKNOWN_REGIME % {"code": repr(notice.regime)}]
    pending = regime.discloses_person and not (
        notice.discloses_person and notice.disclosure_confirmed_by_id is not None
    )
    missing = _missing(
        _prepare(notice, assume_disclosure=pending, listed=CHECKED_ROWS, prefetched=prefetched)
    )
    if pending and IDENTITY.label not in missing:
        missing.append(IDENTITY.label)
    return missing


def store_element_check(notice: Notice) -> list[str]:
    """Run the element check and keep its result on the notice (for lists and the review)."""
    missing = check_elements(notice)
    notice.element_check = element_check_result(missing)
    Notice.objects.filter(pk=notice.pk).update(element_check=notice.element_check)
    return missing


def element_check_result(missing: list[str]) -> dict[str, Any]:
    """What Notice.element_check holds."""
    return {"missing": missing, "complete": not missing}


def attachment_names(reference: str, *, is_dataset: bool) -> list[str]:
    """The data files every notice carries (the notice as JSON and the PDF come on top, named
    per notice)."""
    names = [f"{reference}-links.csv"]
    if is_dataset:
        names += [f"{reference}-removal-manifest.csv", f"{reference}-removal-manifest.json"]
    return names


def notice_json_name(notice: Notice) -> str:
    return f"{notice.case.reference}-notice-{notice.pk}.json"


def data_file_names(notice: Notice) -> list[str]:
    """Every data file of the notice, the notice as JSON last."""
    reference = notice.case.reference
    return [*attachment_names(reference, is_dataset=_for_dataset(notice)), notice_json_name(notice)]


def archive_name(reference: str) -> str:
    """The zip that carries the data files of a notice whose letter does not list its links."""
    return f"{reference}-links.zip"


def _for_dataset(notice: Notice) -> bool:
    return notice.recipient_role == RecipientRole.DATASET_MAINTAINER


def _number(count: int, lang: str) -> str:
    """1,000,000 in English, 1.000.000 in German."""
    with translation.override(lang):
        return formats.number_format(count, force_grouping=True)


def data_files(notice: Notice, context: dict[str, Any]) -> list[DataFile]:
    """The writers of the notice's data files (data_file_names), fed one link row at a time."""
    names = data_file_names(notice)
    files = [links_csv_file(names[0])]
    if context["is_dataset"]:
        files += [
            manifest_csv_file(names[1]),
            json_file(names[2], _manifest_head(context), "entries", manifest_entry),
        ]
    files.append(json_file(names[-1], _notice_head(notice, context), "urls", notice_url))
    return files


def _manifest_head(context: dict[str, Any]) -> dict[str, Any]:
    return {
        "manifest_version": 1,
        "case_reference": context["case_reference"],
        "requested_by": context["organisation"],
        "contact": context["notifier"]["email"],
        "date": timezone.localdate().isoformat(),
        "action": "remove",
        "scope": ["index", "future_releases", "mirrors"],
        "datasets": context["datasets"],
        "entries": [],
    }


def _notice_head(notice: Notice, context: dict[str, Any]) -> dict[str, Any]:
    """The notice as data, for recipients that process notices by machine: the references, the
    URLs and their hashes (`urls`, written row by row), the legal basis, the deadline (ISO
    8601, UTC)."""
    due = stated_due(notice, timezone.now())
    regime = context["regime"]
    return {
        "format": "takedown-notice",
        "version": 1,
        "case_reference": context["case_reference"],
        "notice": notice.pk,
        "kind": notice.kind,
        "sender": {
            "organisation": context["organisation"],
            "contact": context["notifier"]["email"],
        },
        "recipient": {"name": context["recipient"]["name"], "role": notice.recipient_role},
        "legal_basis": {
            "regime": regime["code"],
            "title": regime["title"],
            "citation": regime["citation"],
            "law": regime["law"],
        },
        "deadline": due.astimezone(UTC).isoformat() if due else None,
        "deadline_period": context["deadline"]["period"],
        "urls": [],
    }


def _own_rows(notice: Notice) -> Iterator[dict[str, Any]]:
    """Every link row of the notice's own case, from the server in chunks (_each_link_row)."""
    return (row for row in _each_link_row(notice) if row is not None)


def data_attachments(
    notice: Notice, context: dict[str, Any], *, mail_limit: int | None = None
) -> list[Attachment]:
    """The data files as attachments: each on its own when the letter lists the links (they
    are in memory already), else all in one zip written from a second pass over the rows
    (notices/attachments.py). With `mail_limit`, a zip that alone would make the mail larger
    raises MailTooLarge before it is read into memory."""
    files = data_files(notice, context)
    if context["links_in_letter"]:
        outs = [io.StringIO() for _ in files]
        write_all(files, context["links"], outs)
        return [
            Attachment(data.filename, out.getvalue().encode(), data.mimetype)
            for data, out in zip(files, outs, strict=True)
        ]
    bundle = zip_bundle(files, _own_rows(notice), limit=mail_limit)
    if bundle.content is None:
        raise MailTooLarge(too_large(notice.pk, bundle.wire_size))
    if bundle.rows != context["link_count"]:
        # The letter states one number and the list would hold another: links were added or
        # taken out between the two passes. Never send that; rendering again will agree.
        raise RuntimeError(f"notice {notice.pk}: its links changed while it was rendered")
    return [Attachment(archive_name(context["case_reference"]), bundle.content, "application/zip")]


def links_csv(notice: Notice) -> Iterator[str]:
    """The notice's links CSV as the attachment carries it, a chunk of text at a time, streamed
    from the database (the pages' download of a notice whose letter does not list them)."""
    buffer = io.StringIO()
    add, finish = links_csv_file("").open(buffer)
    for row in _own_rows(notice):
        add(row)
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    finish()
    yield buffer.getvalue()


def _subject(draft: _Draft) -> str:
    ctx = draft.context
    with translation.override(ctx["lang"]):
        raw = _render(
            template_names(ctx["lang"], draft.regime, "subject", draft.notice.recipient_role),
            ctx,
            autoescape=False,
        )
    # One line: a header with a line break in it is an injection (and Django refuses it).
    return " ".join(raw.split())[:300]


def render_message(notice: Notice) -> RenderedNotice:
    """A caseworker's message in a conversation (Notice.Kind.MESSAGE): their text as written,
    no letter around it, no attachments."""
    text = notice.body_text.strip() + "\n"
    html = f'<pre style="white-space: pre-wrap; font-family: sans-serif">{escape(text)}</pre>'
    return RenderedNotice(notice.subject, text, html, [])


def render_notice(
    notice: Notice,
    *,
    with_pdf: bool = True,
    with_data: bool = True,
    mail_limit: int | None = None,
) -> RenderedNotice:
    """The notice as it goes out. Raises UnknownRegime for a bad regime code. Pages that show
    the letter leave the data files out (`with_data=False`: for a notice of a million links
    they are a second pass over its rows); `mail_limit`: see data_attachments."""
    if notice.kind == Notice.Kind.MESSAGE:
        return render_message(notice)
    draft = _prepare(notice)
    ctx = draft.context
    reference = ctx["case_reference"]
    pdf_name = f"{reference}-notice-{notice.pk}.pdf"
    with translation.override(ctx["lang"]):
        html = _render(["notices/layout/message.html"], ctx, autoescape=True)
        attachments: list[Attachment] = []
        if with_data:
            data = data_attachments(notice, ctx, mail_limit=mail_limit)
            # Every notice also as data (the last data file), for recipients that process
            # notices by machine; it comes after the complaint's files.
            last = data[-1:] if ctx["links_in_letter"] else []
            attachments = data[: len(data) - len(last)]
            attachments += [
                Attachment(item.filename, item.content, item.mimetype)
                for item in complaint.files(notice, lambda request: _prepare(request).text)
            ]
            attachments += last
        if with_pdf:
            attachments.append(Attachment(pdf_name, render_pdf(ctx), "application/pdf"))
    names = [*ctx["attachment_names"]]
    if ctx["links_in_letter"]:
        names.append(notice_json_name(notice))
    names.append(pdf_name)
    return RenderedNotice(
        _subject(draft), draft.text, html, attachments, names, ctx["links_in_letter"]
    )


def render_pdf(context: dict[str, Any]) -> bytes:
    context = {**context, "stylesheet": asset_url("notice.css")}
    return html_to_pdf(_render(["notices/layout/document.html"], context, autoescape=True))


def notice_pdf(notice: Notice) -> bytes:
    """Only the PDF (for `render_notice ID --pdf FILE` and manual submission)."""
    if notice.kind == Notice.Kind.MESSAGE:
        return html_to_pdf(f"<html><body>{render_message(notice).html}</body></html>")
    draft = _prepare(notice)
    with translation.override(draft.context["lang"]):
        return render_pdf(draft.context)


def render_mandate(case: Case, language: str | None = None) -> bytes:
    """The power of attorney for the person to sign (the basis of every request made in their
    name; not GDPR Art. 80(1), see docs/law/gdpr.md), in `language` (the one the person chose
    in the portal) if given, else the one on file.

    The person's own name is printed (they sign it); without a name on file the line is left
    blank for them to fill in."""
    try:
        person: AffectedPerson | None = case.person
    except AffectedPerson.DoesNotExist:
        person = None
    chosen = language or (person.language if person else "")
    lang = chosen if chosen in MANDATE_LANGUAGES else "en"
    context = {
        "lang": lang,
        "case_reference": case.reference,
        "organisation": settings.TAKEDOWN_ORGANISATION,
        "contact": settings.DEFAULT_FROM_EMAIL,
        "person_name": person.name.strip() if person else "",
        "stylesheet": asset_url("notice.css"),
    }
    with translation.override(lang):
        context["date"] = formats.date_format(timezone.localdate(), LABELS[lang]["date_format"])
        html = _render([f"notices/{lang}/common/mandate.html"], context, autoescape=True)
    return html_to_pdf(html)
