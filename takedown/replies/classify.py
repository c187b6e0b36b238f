# The phrase tables are regular expressions, one phrase a line: long lines stay unbroken.
# ruff: noqa: E501
"""What a recipient's answer means: pure decision, no database, no network.

    classify(headers, subject, text) -> Classification(kind, confidence, evidence, ...)

The input is what mail.py read: the decision headers, the subject and the *new* text of the
message (never the quoted notice or history, which is full of our own words: "removal",
"personal data", "Art. 17"). Each kind is recognised by phrases in English and German; the
phrases that matched are the evidence shown to the caseworker, so a decision can always be
checked against the words that made it.

Order of the decision, and why:
1. Delivery failures (a delivery-status report, the mailer daemon) go to the bounce handling.
2. Auto-replies (RFC 3834 Auto-Submitted, the headers mail systems use instead, out-of-office
   phrasings) are never taken for an answer. An automatic message that acknowledges receipt
   and carries a ticket number (a helpdesk's confirmation, DSA Art. 16(4)) is an
   acknowledgement: it decides nothing about the content either, but its ticket number is
   worth keeping.
3. A person's answer: the kinds whose phrases matched are compared; an outcome (complied,
   refused, not responsible, a question) beats a mere acknowledgement ("Thank you for your
   report. We have removed ..."). Two outcomes that contradict each other, or a single weak
   phrase, leave the confidence below CONFIDENT: a caseworker confirms.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

AUTO_REPLY = "auto_reply"
BOUNCE = "bounce"
ACKNOWLEDGEMENT = "acknowledgement"
COMPLIED = "complied"
PARTLY_COMPLIED = "partly_complied"
REFUSED = "refused"
NOT_RESPONSIBLE = "not_responsible"
NEEDS_INFORMATION = "needs_information"
OTHER = "other"
KINDS = (
    AUTO_REPLY,
    BOUNCE,
    ACKNOWLEDGEMENT,
    COMPLIED,
    PARTLY_COMPLIED,
    REFUSED,
    NOT_RESPONSIBLE,
    NEEDS_INFORMATION,
    OTHER,
)
# At or above this a classification is acted on without a caseworker.
CONFIDENT = 0.8


@dataclass
class Classification:
    kind: str
    confidence: float
    evidence: list[str] = field(default_factory=list)  # the words that decided it
    ticket: str = ""  # the recipient's ticket number, if the message gives one
    reason: str = ""  # refused: why (research_exception, freedom_of_expression ...)
    party: str = ""  # not_responsible: whom they name instead, if anyone

    @property
    def confident(self) -> bool:
        return self.confidence >= CONFIDENT


def _rx(*patterns: str) -> list[re.Pattern[str]]:
    return [re.compile(p, re.IGNORECASE) for p in patterns]


# --- delivery failures and auto-replies ----------------------------------------------------

_BOUNCE_SENDER = re.compile(r"^(mailer-daemon|postmaster)@", re.IGNORECASE)
_BOUNCE_SUBJECT = _rx(
    r"undeliver(ed|able)",
    r"delivery status notification \(failure\)",
    r"mail delivery (failed|system)",
    r"returned mail",
    r"unzustellbar",
    r"nicht zustellbar",
)
_AUTO_SUBJECT = _rx(
    r"^\s*(automatic reply|auto(matische)? ?antwort|autoreply|auto-reply|auto:)",
    r"out of (the )?office",
    r"abwesenheits(notiz|nachricht|meldung)",
    r"\babwesend\b",
    r"\bon vacation\b",
    r"\bvacation (reply|response|responder)\b",
    r"\bim urlaub\b",
)
_AUTO_TEXT = _rx(
    r"\bi am (currently )?(out of (the )?office|away|on (annual )?leave|on vacation)",
    r"\bi('m| am) out of (the )?office\b",
    r"\b(will|shall) (be )?(back|return)\b.{0,40}\b(on|by|after)\b",
    r"\bwith limited access to (my )?e-?mail\b",
    r"\bich bin (bis|vom|ab|derzeit|zurzeit|momentan)\b.{0,60}\b(nicht (im büro|erreichbar)|abwesend|im urlaub)",
    r"\b(bin|sind) ab .{0,40} wieder (im büro|erreichbar|für sie da)",
    r"\bihre (e-?mail|nachricht) wird nicht weitergeleitet\b",
)

# --- a person's (or helpdesk's) answer -----------------------------------------------------

_ACK = _rx(
    r"\b(we|i) (have )?received your (report|notice|request|complaint|message|e-?mail)",
    r"\bthank you for (your|contacting|reaching)\b",
    r"\bthis is (an|a) (automated|automatic) (confirmation|acknowledg)",
    r"\backnowledge (the )?receipt\b",
    r"\byour (request|report|ticket|case) (\(#?\w+\) )?has been (received|created|logged|opened)",
    r"\bwe will (review|investigate|look into|get back)\b",
    r"\bwir haben ihre (meldung|nachricht|anfrage|e-?mail|beschwerde|mitteilung) erhalten",
    r"\beingangsbestätigung\b",
    r"\bvielen dank für ihre (meldung|nachricht|anfrage|e-?mail|mitteilung)",
    r"\bwir (werden|prüfen) (ihr(e|en)? )?(anliegen|meldung|anfrage)?\s?(prüfen|umgehend|schnellstmöglich)",
    r"\bwird (derzeit |zeitnah )?(bearbeitet|geprüft)\b",
)
_COMPLIED = _rx(
    r"\b(has|have) been (removed|deleted|taken down|disabled|blocked)",
    r"\b(was|were) (removed|deleted|taken down|disabled)",
    r"\bwe (have )?(removed|deleted|taken down|disabled access to)\b",
    r"\bno longer (available|accessible|online)\b",
    r"\baccess (to (the|this|these) \w+ )?has been disabled\b",
    r"\b(wurden?|ist|sind) (nun |jetzt |inzwischen |umgehend )?(entfernt|gelöscht|gesperrt|deaktiviert)",
    r"\bhaben (wir )?(die|den|das|alle)? ?\w* ?(entfernt|gelöscht|gesperrt)",
    r"\bwir haben\b.{0,60}?\b(entfernt|gelöscht|gesperrt)\b",
    r"\bnicht mehr (abrufbar|erreichbar|verfügbar|online)\b",
)
_PARTLY = _rx(
    r"\bsome of the\b.{0,60}\b(removed|deleted)",
    r"\b(partially|partly)\b",
    r"\b(the )?(remaining|other) (urls?|links?|images?|items?)\b",
    r"\bteilweise\b",
    r"\beinige (der|ihrer)\b.{0,60}\b(entfernt|gelöscht)",
    r"\b(die )?(übrigen|restlichen|anderen) (urls?|links?|bilder|inhalte)\b",
)
_REFUSED = _rx(
    r"\b(we|i) (will|shall|can|do) not (remove|delete|take down|comply)",
    r"\b(we )?(cannot|can't|won't|are unable to|are not able to) (remove|delete|comply|take down|act on)",
    r"\b(decline|reject|refuse)[sd]? (your|the|this) (request|notice|complaint)",
    r"\bdoes not (violate|breach|infringe)\b",
    r"\bdo not (violate|breach|infringe)\b",
    r"\bno (violation|breach|infringement) (of|was found)\b",
    r"\b(lehnen|weisen) (wir )?(ihre[nm]?|die|den|das|diese[nm]?) .{0,40}\b(ab|zurück)\b",
    r"\b(werden|können) (wir )?(die|den|das|diese)?\s?\w* ?nicht (entfernen|löschen|sperren)",
    r"\bkein(en)? (verstoß|rechtsverstoß|rechtsverletzung)\b",
)
_REFUSAL_REASONS = {
    "research_exception": _rx(
        r"\bresearch (exception|purposes?|exemption)\b",
        r"\bscientific research\b",
        r"\bart(icle|\.)? ?89\b",
        r"\btext and data mining\b",
        r"\bforschungs(zwecke|ausnahme|privileg)\b",
        r"\bwissenschaftliche(n)? forschung\b",
        r"§ ?60d",
    ),
    "freedom_of_expression": _rx(
        r"\bfreedom of (expression|speech|information)\b",
        r"\bjournalistic\b",
        r"\bart(icle|\.)? ?85\b",
        r"\bmeinungs(freiheit|äußerungsfreiheit)\b",
        r"\bpresse(freiheit)?\b",
        r"\bkunstfreiheit\b",
    ),
    "public_interest": _rx(
        r"\bpublic interest\b", r"\böffentliche(n|s)? interesse\b", r"\bnewsworthy\b"
    ),
    "no_violation": _rx(
        r"\b(does|do) not (violate|breach|infringe)\b",
        r"\bnot (illegal|unlawful)\b",
        r"\bkein(en)? (verstoß|rechtsverstoß)\b",
        r"\bnicht rechtswidrig\b",
    ),
    "legitimate_interest": _rx(r"\blegitimate interest", r"\bberechtigte(n|s)? interesse"),
    "not_identifiable": _rx(
        r"\bnot (identifiable|personal data)\b",
        r"\bkeine personenbezogenen daten\b",
        r"\bnicht identifizierbar\b",
    ),
}
_NOT_RESPONSIBLE = _rx(
    r"\bnot (a|our) (customer|client)\b",
    r"\b(is|are) not (hosted|stored) (by|with|on) (us|our)\b",
    r"\bwe (do not|don't|cannot|can't) host\b",
    r"\bwe (are|act) (only|merely|just) (the|a|an) (cdn|content delivery network|proxy|registrar|dns|reverse proxy|transit)",
    r"\bwe are not the (host(ing provider)?|operator|controller|owner)",
    r"\b(only|merely) (provide|offer)s? (dns|cdn|proxy|domain registration|caching)",
    r"\bplease (contact|direct your (request|complaint|notice) to) the (hosting provider|host|site operator|website owner|operator)",
    r"\bwe have no (control|access) over\b",
    r"\bnicht unser(e)? kund(e|in)\b",
    r"\bwir (sind|agieren|fungieren) (nur|lediglich|nicht) (als )?(der |ein )?(hoster|hosting-anbieter|hostinganbieter|betreiber|verantwortliche)",
    r"\bnicht (der|die) (hoster|betreiber|verantwortliche)",
    r"\bwir hosten (diese|die|den|das)? ?\w* ?nicht\b",
    r"\b(sind|ist) (hierfür |dafür )?nicht zuständig\b",
    r"\bwenden sie sich (bitte )?an (den|die) (hoster|hosting-anbieter|betreiber|seitenbetreiber)",
)
_NEEDS_INFORMATION = _rx(
    r"\b(proof|verification) of (your )?(identity|authori[sz]ation|mandate)",
    r"\bverify (your|the) (identity|authori[sz]ation)",
    r"\b(power of attorney|signed (mandate|authori[sz]ation))\b",
    r"\bplease (provide|send|submit) (us )?(the |a |more |further |additional )?(information|details|copy|urls?|links?|documentation|proof|id)",
    r"\b(need|require) (more|further|additional) (information|details)\b",
    r"\bcould you (please )?(provide|send|specify|clarify)\b",
    r"\b(identitätsnachweis|ausweiskopie|vollmacht|nachweis ihrer identität)\b",
    r"\bbitte (senden|schicken|übermitteln|teilen) sie uns\b",
    r"\b(weitere|zusätzliche|nähere) (informationen|angaben|details)\b",
    r"\b(benötigen|brauchen) wir (noch )?",
)

# Whom a "not responsible" answer names instead.
_PARTY = _rx(
    r"\b(?:hosted|stored) (?:by|with|at) ([A-Z][\w.&-]*(?: [A-Z][\w.&-]*){0,4})",
    r"\bhosting provider (?:is|appears to be|seems to be) ([A-Z][\w.&-]*(?: [A-Z][\w.&-]*){0,4})",
    r"\b(?:please )?contact ([A-Z][\w.&-]*(?: [A-Z][\w.&-]*){0,4})(?: directly| at| via|[,.])",
    r"\b(?:Hoster|Hosting-Anbieter|Hostinganbieter|Betreiber) ist (?:die |der )?([A-Z][\w.&-]*(?: [A-Z][\w.&-]*){0,4})",
    r"\bwenden Sie sich (?:bitte )?an (?:die |den )?([A-Z][\w.&-]*(?: [A-Z][\w.&-]*){0,4})",
    r"\b([\w.+-]+@[\w-]+(?:\.[\w-]+)+)",
)
_NOT_A_PARTY = re.compile(
    r"^(the|den|die|der|us|we|our|uns|your|ihre?n?|hosting|hoster|provider|site|website)\b",
    re.IGNORECASE,
)

# A phrase matched right after a negation does not count ("has not been removed").
_NEGATION = re.compile(
    r"\b(not|never|nicht|nie|kein\w*|noch nicht|yet to)\b[\w\s,]{0,12}$", re.IGNORECASE
)

_NEGATED = re.compile(r"\b(not|never|nicht|nie|kein\w*)\b", re.IGNORECASE)

# Ticket numbers in the forms helpdesks use: "[Ticket #123456]", "Case ID: 12345678",
# "Vorgangsnummer: 2026-4711", "Ticketnummer 98765", "Reference: ABC-123", "(#123456)".
_TICKETS = _rx(
    r"\[(?:ticket|case|request|incident|vorgang|anfrage)?\s*#\s*([A-Z0-9][A-Z0-9-]{2,40})\]",
    r"\b(?:ticket|case|request|incident|reference|ref|report)(?:[ -]?(?:id|no\.?|number|nr\.?))?\s*[:#]\s*#?([A-Z0-9][A-Z0-9/-]{2,40})",
    r"\b(?:vorgangsnummer|ticketnummer|ticket-nr\.?|vorgangs-nr\.?|aktenzeichen|fallnummer|referenznummer|bearbeitungsnummer)\s*:?\s*#?([A-Z0-9][A-Z0-9/-]{2,40})",
    r"\(#\s*(\d{3,20})\)",
    r"(?<![\w/#])#(\d{4,20})\b",
)


def _hits(patterns: Iterable[re.Pattern[str]], text: str, *, negatable: bool) -> list[str]:
    found = []
    for pattern in patterns:
        for match in pattern.finditer(text):
            if negatable and (
                _NEGATION.search(text[max(0, match.start() - 30) : match.start()])
                or _NEGATED.search(match.group(0))
            ):
                continue
            found.append(" ".join(match.group(0).split()))
            break
    return found


def find_tickets(text: str, *, ignore: Iterable[str] = ()) -> list[str]:
    """Ticket numbers in the text, first found first; `ignore` are our own references."""
    ignored = {value.upper() for value in ignore}
    found: list[str] = []
    for pattern in _TICKETS:
        for match in pattern.finditer(text):
            value = match.group(1).strip("-/").upper()
            if not any(c.isdigit() for c in value) or value in ignored or value in found:
                continue
            found.append(value)
    return found


def named_party(text: str) -> str:
    for pattern in _PARTY:
        for match in pattern.finditer(text):
            # "... Example Hosting Ltd. Please contact ...": the name ends with its sentence.
            value = re.split(r"\.\s", match.group(1))[0].strip(" .,")
            if not _NOT_A_PARTY.match(value):
                return value
    return ""


def refusal_reason(text: str) -> str:
    for reason, patterns in _REFUSAL_REASONS.items():
        if _hits(patterns, text, negatable=False):
            return reason
    return ""


def is_auto_submitted(headers: Mapping[str, str]) -> list[str]:
    """The headers that mark a message as sent by a machine (RFC 3834 and common others)."""
    found = []
    auto = headers.get("auto-submitted", "").strip().lower()
    if auto and not auto.startswith("no"):
        found.append(f"Auto-Submitted: {auto}")
    for name in ("x-autoreply", "x-autorespond", "x-autoresponder"):
        if headers.get(name, "").strip():
            found.append(f"{name}: {headers[name].strip()}")
    precedence = (headers.get("precedence") or headers.get("x-precedence") or "").strip().lower()
    if precedence in ("auto_reply", "bulk", "junk", "list"):
        found.append(f"Precedence: {precedence}")
    if headers.get("x-ms-exchange-generated-message-source", "").strip():
        found.append("X-MS-Exchange-Generated-Message-Source")
    return found


def classify(
    headers: Mapping[str, str],
    subject: str,
    text: str,
    *,
    is_dsn: bool = False,
    from_address: str = "",
    ignore_tickets: Iterable[str] = (),
) -> Classification:
    """What the message means. `text` is the new text (mail.new_text), `headers` lower-cased
    names; `ignore_tickets` are our own references, never taken for the recipient's ticket."""
    subject = " ".join(subject.split())
    both = f"{subject}\n{text}"
    tickets = find_tickets(both, ignore=ignore_tickets)
    ticket = tickets[0] if tickets else ""

    if is_dsn or headers.get("x-failed-recipients"):
        return Classification(BOUNCE, 0.99, ["delivery-status report"])
    if _BOUNCE_SENDER.match(from_address) and (
        words := _hits(_BOUNCE_SUBJECT, subject, negatable=False)
    ):
        return Classification(BOUNCE, 0.95, [from_address, *words])

    auto_headers = is_auto_submitted(headers)
    away = _hits(_AUTO_SUBJECT, subject, negatable=False) + _hits(_AUTO_TEXT, text, negatable=False)
    if away:
        # Out of office: whatever else it says, nobody has read the notice.
        return Classification(AUTO_REPLY, 0.99 if auto_headers else 0.9, auto_headers + away)
    ack = _hits(_ACK, both, negatable=False)
    if auto_headers:
        if ack and ticket:
            return Classification(ACKNOWLEDGEMENT, 0.9, auto_headers + ack, ticket=ticket)
        return Classification(AUTO_REPLY, 0.95, auto_headers, ticket=ticket)

    scores: dict[str, list[str]] = {}
    complied = _hits(_COMPLIED, text, negatable=True)
    partly = _hits(_PARTLY, text, negatable=False)
    if complied:
        scores[PARTLY_COMPLIED if partly else COMPLIED] = complied + partly
    if words := _hits(_REFUSED, text, negatable=False):
        scores[REFUSED] = words
    if words := _hits(_NOT_RESPONSIBLE, text, negatable=False):
        scores[NOT_RESPONSIBLE] = words
    if words := _hits(_NEEDS_INFORMATION, text, negatable=False):
        scores[NEEDS_INFORMATION] = words

    if not scores:
        if ack:
            return Classification(ACKNOWLEDGEMENT, 0.9 if ticket else 0.85, ack, ticket=ticket)
        return Classification(OTHER, 0.5, [], ticket=ticket)

    # "We cannot remove it: we are only the CDN" is a not-responsible answer, not a refusal;
    # "we cannot act without a power of attorney" is a question.
    if REFUSED in scores and (NOT_RESPONSIBLE in scores or NEEDS_INFORMATION in scores):
        scores.pop(REFUSED)
    kind = max(scores, key=lambda k: len(scores[k]))
    evidence = scores[kind]
    confidence = 0.9 if len(evidence) >= 2 else 0.85
    if len(scores) > 1:
        # Contradicting outcomes: a caseworker reads it.
        confidence = 0.6
        evidence = [word for words in scores.values() for word in words]
    result = Classification(kind, confidence, evidence, ticket=ticket)
    if kind == REFUSED:
        result.reason = refusal_reason(text)
    elif kind == NOT_RESPONSIBLE:
        result.party = named_party(text)
    return result
