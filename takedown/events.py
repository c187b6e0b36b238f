"""What an event says: one table of sentences, rendered in any language.

An event that tells the person something stores the key of its sentence in EVENT_TEXTS and the
sentence's parameters (hosts, counts, dates, a dataset's name; never personal data, since the
events are the audit trail). The recipient's name is not a parameter: it comes from the
event's notice whenever the sentence is rendered. The English rendering is stored as the
event's message, for the audit trail and the staff timeline; the portal renders the same
template in the person's language. So each sentence is written once, here.

An event whose key is not in the table (internal events, a caseworker's own sentence, an
event stored before the keys existed and not converted by migration 0007) shows its stored
message. An event with neither a sentence nor a message (status changes the pipeline makes in
bulk) reads the sentence keyed by its bare kind, so the staff timeline need not show a raw
code: give each such kind an entry.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.utils import formats, timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext_lazy

if TYPE_CHECKING:
    from takedown.models import CaseEvent, Notice

# The language of the stored message: the audit trail and the staff timeline read English.
STORED_LANGUAGE = "en"


def stored(label: Any) -> str:
    """A translatable label (a choice's, say) as a stored message reads it: in STORED_LANGUAGE,
    whatever language the request that writes the message is in."""
    with translation.override(STORED_LANGUAGE):
        return str(label)


# Parameters stored as ISO 8601 datetimes and shown as a date in the reader's language.
DATE_PARAMS = frozenset({"date"})

# Sentence key -> template. A key is the event's kind, or "kind:variant" where one kind says
# different things (a reminder is not a first request). Plural templates take their number from
# the parameter named in ngettext_lazy's last argument.
EVENT_TEXTS: dict[str, Promise] = {
    "case.opened": gettext_lazy("Your case was opened."),
    "case.paused:person": gettext_lazy("You paused your case."),
    "case.open:person": gettext_lazy("You resumed your case."),
    "case.withdrawn:person": gettext_lazy("You withdrew your case."),
    "case.open:automatic": gettext_lazy(
        "An image that had been removed is online again. "
        "Your case has been reopened and we are following up."
    ),
    "case.closed:automatic": gettext_lazy(
        "All the images we reported have been removed. Your case is closed."
    ),
    "case.closed:caseworker": gettext_lazy("Your caseworker has closed the case."),
    "links.imported": ngettext_lazy(
        "%(count)s link was added to your case.",
        "%(count)s links were added to your case.",
        "count",
    ),
    "links.reference_hashes": ngettext_lazy(
        "Fingerprints of your images were added for %(count)s link, so we can recognise "
        "them. The images themselves were not shared with us.",
        "Fingerprints of your images were added for %(count)s links, so we can recognise "
        "them. The images themselves were not shared with us.",
        "count",
    ),
    "mandate.uploaded": gettext_lazy("Your signed authorisation was received."),
    "case.knowledge_recorded": gettext_lazy("You told us when you learned of the images."),
    "case.complaint_consent:given": gettext_lazy(
        "You agreed to be named as the complainant in a complaint to a data-protection authority."
    ),
    "case.complaint_consent:withdrawn": gettext_lazy(
        "You withdrew your agreement to be named in a complaint to a data-protection authority."
    ),
    "mandate.revoked": gettext_lazy(
        "Your authorisation was revoked. Requests that need it are no longer sent."
    ),
    "portal.message_sent": gettext_lazy("You sent a message to your caseworker."),
    "portal.deletion_requested": gettext_lazy(
        "You asked for your data to be deleted. Your caseworker will contact you."
    ),
    "foundlink.removed": gettext_lazy(
        "An image in your case is no longer online at %(host)s. Two checks in a row found it gone."
    ),
    "foundlink.never_reachable": gettext_lazy(
        "An image address in your case at %(host)s could not be reached: "
        "we never found the image there, so we do not count it as removed."
    ),
    "foundlink.reappeared": gettext_lazy(
        "An image that had been removed from %(host)s is online again. "
        "We are asking for its removal again."
    ),
    # Keyed by the notice's kind.
    "notice.sent_to_recipient:notice": gettext_lazy(
        "A removal request was sent to %(recipient)s. They are expected to respond by %(date)s."
    ),
    "notice.sent_to_recipient:reminder": gettext_lazy(
        "A reminder was sent to %(recipient)s, who had not answered our request. "
        "They are expected to respond by %(date)s."
    ),
    "notice.sent_to_recipient:escalation": gettext_lazy(
        "Because the images were not removed, a removal request was sent to "
        "%(recipient)s. They are expected to respond by %(date)s."
    ),
    "notice.sent_to_recipient:complaint": gettext_lazy(
        "A complaint was filed with %(recipient)s, the data-protection authority. "
        "Authorities usually report back within three months; we expect news by "
        "%(date)s."
    ),
    # Keyed by the overdue notice's kind; a first request and an escalation read alike.
    "notice.overdue_for_person:notice": gettext_lazy(
        "%(recipient)s did not respond by the deadline of %(date)s. We are preparing a reminder."
    ),
    "notice.overdue_for_person:reminder": gettext_lazy(
        "%(recipient)s did not answer our reminder by %(date)s. We are preparing the next step."
    ),
    "notice.overdue_for_person:complaint": gettext_lazy(
        "%(recipient)s has not reported back by %(date)s. We are preparing a reminder."
    ),
    "notice.deadline_extended": gettext_lazy(
        "%(recipient)s has extended its deadline to respond until %(date)s, as the law allows."
    ),
    # Keyed by the reply's outcome ("partly" reads as "complied": the recheck tells what is gone).
    "notice.reply_for_person:not_responsible": gettext_lazy(
        "%(recipient)s told us it is not responsible for these images. "
        "We are turning to the next party."
    ),
    "notice.reply_for_person:refused": gettext_lazy(
        "%(recipient)s refused to remove the images. We are preparing the next step."
    ),
    "notice.reply_for_person:complied": gettext_lazy(
        "%(recipient)s told us it has removed images. We are checking that they are gone."
    ),
    # Keyed by the notice's outcome, and whether it went to a dataset's maintainer.
    "notice.outcome_for_person:complied": gettext_lazy(
        "All the images we reported to %(recipient)s are no longer online."
    ),
    "notice.outcome_for_person:partly": gettext_lazy(
        "Some of the images we reported to %(recipient)s are no longer online; "
        "we keep following up on the rest."
    ),
    "notice.outcome_for_person:complied_dataset": gettext_lazy(
        "All the entries we reported to %(recipient)s are gone from its dataset."
    ),
    "notice.outcome_for_person:partly_dataset": gettext_lazy(
        "Some of the entries we reported to %(recipient)s are gone from its dataset; "
        "we keep following up on the rest."
    ),
    "escalation.manual_for_person": gettext_lazy(
        "The parties we wrote to have not removed all the images. Your caseworker will "
        "contact you about the legal steps that remain."
    ),
    # Status changes written without a message, for the staff timeline.
    "foundlink.notified": gettext_lazy("A notice about this link was sent."),
    "host.pending": gettext_lazy("The host waits to be looked up again."),
    "host.resolving": gettext_lazy("Looking up who is responsible for the host."),
    "host.resolved": gettext_lazy("Found who is responsible for the host."),
    "host.partial": gettext_lazy(
        "Found who is responsible for the host, but some sources could not be asked."
    ),
    "host.failed": gettext_lazy("Could not find out who is responsible for the host."),
    "host.changed": gettext_lazy("The party responsible for the host changed."),
    "dataset.release_for_person": ngettext_lazy(
        "The newest release of the dataset %(dataset)s no longer lists the entry we asked "
        "%(recipient)s to remove.",
        "The newest release of the dataset %(dataset)s no longer lists %(gone)s of the "
        "%(entries)s entries we asked %(recipient)s to remove.",
        "entries",
    ),
}


# What the staff timeline says for each event kind that has no sentence of its own (internal
# events and status changes). Parameters come from the event's data; a template whose
# parameters the data lacks falls back to the event's stored message.
STAFF_TEXTS: dict[str, Promise] = {
    # A team's letter texts (takedown.notices.letters); events of no case, for the audit trail.
    "letter_template.saved": gettext_lazy(
        "Version %(version)s of a team's letter text (%(regime)s, %(language)s) was saved."
    ),
    "letter_template.activated": gettext_lazy(
        "Version %(version)s of a team's letter text (%(regime)s, %(language)s) is now in use."
    ),
    "letter_template.reset": gettext_lazy(
        "A team's letter text (%(regime)s, %(language)s) was reset to the built-in template."
    ),
    "case.erased": gettext_lazy(
        "The person's data was erased; the case remains as anonymous statistics."
    ),
    "case.legal_facts": gettext_lazy(
        "The answers about the legal facts of the case were recorded."
    ),
    "case.legal_hold": gettext_lazy("A legal hold was placed or lifted."),
    "escalation.authority_chosen": gettext_lazy(
        "The supervisory authority for the complaint was chosen."
    ),
    "link.entry_id_note": gettext_lazy("A reason for a missing dataset entry id was recorded."),
    "notice.access_request": gettext_lazy(
        "The request for access (GDPR Art. 15) was added or removed."
    ),
    "notice.links_rerouted": gettext_lazy(
        "Links were moved to another party's notice before sending."
    ),
    "notice.message_drafted": gettext_lazy("A message to the recipient was drafted."),
    "notice.regime_chosen": gettext_lazy("The legal basis of a notice was chosen by hand."),
    "party.cleared": gettext_lazy("A decision on a responsible party was cleared."),
    "party.decided": gettext_lazy("The responsible party was named by hand."),
    "party.excluded": gettext_lazy("Links were taken out of the case by hand."),
    "portal.answered": gettext_lazy("The person's message was answered."),
    "reply.assigned": gettext_lazy("An answer was assigned to a notice."),
    "reply.received": gettext_lazy("An answer from a recipient arrived."),
    "case.open": gettext_lazy("The case was opened again."),
    "case.paused": gettext_lazy("The case was paused."),
    "case.withdrawn": gettext_lazy("The case was withdrawn."),
    "case.closed": gettext_lazy("The case was closed."),
    "case.viewed": gettext_lazy("The case page was opened."),
    "person.revealed": gettext_lazy("The person's details were shown."),
    "case.resolve_requested": ngettext_lazy(
        "Resolution of %(hosts)s host was requested.",
        "Resolution of %(hosts)s hosts was requested.",
        "hosts",
    ),
    "case.recheck_requested": ngettext_lazy(
        "A check of %(due)s link was requested.",
        "A check of %(due)s links was requested.",
        "due",
    ),
    "case.ladder_changed": gettext_lazy("The escalation ladder was changed."),
    "directory.override": gettext_lazy("A directory entry was chosen by hand for this case."),
    "escalation.complaint": gettext_lazy(
        "A complaint to the data-protection authority was drafted."
    ),
    "escalation.step": gettext_lazy("The next step of the escalation ladder was drafted."),
    "link.moved": gettext_lazy("An image moved to another address."),
    "link.reappeared": gettext_lazy("An image is online again."),
    "link.reviewed": gettext_lazy("A flagged link was looked at."),
    "mail.handover": gettext_lazy("The notice was being handed to the mail server."),
    "mail.accepted": gettext_lazy("The mail server accepted the notice."),
    "mail.refused": gettext_lazy("The mail server refused the notice."),
    "mail.uncertain": gettext_lazy(
        "It is not certain whether the mail server received the notice."
    ),
    # The same sent log for a report through an API (data "channel": "api", e.g. Cloudflare's
    # abuse reports, notices/cloudflare.py).
    "mail.handover:api": gettext_lazy("The abuse report was being sent through the API."),
    "mail.accepted:api": gettext_lazy("The abuse report was accepted through the API."),
    "mail.refused:api": gettext_lazy("The abuse report was refused through the API."),
    "mail.uncertain:api": gettext_lazy(
        "It is not certain whether the abuse report arrived: its answer was lost."
    ),
    "mail.bounced": gettext_lazy("The notice bounced: it could not be delivered."),
    "notice.channel": gettext_lazy("The notice's channel was changed."),
    "notice.channel:webform": gettext_lazy(
        "The team has no Cloudflare API token: the notice goes through the web form instead."
    ),
    "notice.channel:api": gettext_lazy(
        "The notice goes through Cloudflare's abuse-report API with the team's token."
    ),
    "mail.log": gettext_lazy("The notice was written to the sent log."),
    "notice.drafted": gettext_lazy("A notice was drafted."),
    "delisting.prepared": gettext_lazy(
        "Requests to the search engines were prepared (removed or refused links)."
    ),
    "notice.edited": gettext_lazy("A notice's text was edited."),
    "notice.disclosure_confirmed": gettext_lazy(
        "Disclosing the person's details to the recipient was confirmed."
    ),
    "notice.outcome": gettext_lazy("A notice's outcome was recorded."),
    "notice.overdue": gettext_lazy("A notice's deadline passed without an answer."),
    "notice.reply": gettext_lazy("A recipient's answer was recorded."),
    "notice.reroute": gettext_lazy("A notice must go to another party: its host changed."),
    "notice.draft": gettext_lazy("A notice went back to draft."),
    "notice.in_review": gettext_lazy("A notice was submitted for review."),
    "notice.approved": gettext_lazy("A notice was approved."),
    "notice.queued": gettext_lazy("A notice was queued for sending."),
    "notice.sending": gettext_lazy("A notice is being sent."),
    "notice.sent": gettext_lazy("A notice was sent."),
    "notice.failed": gettext_lazy("Sending a notice failed."),
    "notice.needs_check": gettext_lazy("Whether a notice was sent needs checking."),
    "notice.awaiting_manual": gettext_lazy("A notice waits to be submitted by hand."),
    "notice.bounced": gettext_lazy("A notice bounced."),
    "notice.cancelled": gettext_lazy("A notice was cancelled."),
    "foundlink.found": gettext_lazy("A link is back in the list of links to report."),
    "foundlink.removed": gettext_lazy("An image is no longer online."),
    "foundlink.reappeared": gettext_lazy("An image that had been removed is online again."),
    "foundlink.excluded": gettext_lazy("A link was excluded."),
    "portal.code_failed": gettext_lazy("A wrong portal code was entered."),
    "portal.code_sent": gettext_lazy("A portal code was sent to the person."),
    "portal.data_downloaded": gettext_lazy("The person downloaded their data."),
    "portal.deletion_handled": gettext_lazy("A deletion request was handled."),
    "portal.device_verified": gettext_lazy("The person opened the portal on a new device."),
    "portal.link_issued": gettext_lazy("A portal link was issued."),
    "portal.link_opened": gettext_lazy("The person opened the portal link."),
    "portal.link_revoked": gettext_lazy("The portal links were revoked."),
    "portal.mandate_downloaded": gettext_lazy("The signed authorisation was downloaded."),
    "portal.messages_read": gettext_lazy("The person's messages were marked as read."),
    "task.manual_legal_step": gettext_lazy("A legal step must be taken by hand."),
    "task.manual_legal_step_done": gettext_lazy("A legal step was marked as done."),
    "dataset.release_compared": gettext_lazy(
        "A new release of the dataset was compared with the case."
    ),
}
# Events whose stored message holds a person's note (what was done, why): the timeline shows
# it beside the sentence, as written.
NOTE_KINDS = frozenset(
    {
        "link.reviewed",
        "task.manual_legal_step_done",
        "portal.deletion_handled",
        "notice.reply",
        "case.closed",
        "case.open",
        "directory.override",
    }
)
# Many rows moved at once (transition_many): one line per notice in the timeline.
GROUPED_TEXTS: dict[str, Promise] = {
    "foundlink.notified": ngettext_lazy(
        "%(count)s link notified to %(recipient)s.",
        "%(count)s links notified to %(recipient)s.",
        "count",
    ),
    "foundlink.removed": ngettext_lazy(
        "%(count)s image is no longer online.", "%(count)s images are no longer online.", "count"
    ),
    "foundlink.excluded": ngettext_lazy(
        "%(count)s link was excluded.", "%(count)s links were excluded.", "count"
    ),
    "foundlink.found": ngettext_lazy(
        "%(count)s link is back in the list of links to report.",
        "%(count)s links are back in the list of links to report.",
        "count",
    ),
    "foundlink.reappeared": ngettext_lazy(
        "%(count)s removed image is online again.",
        "%(count)s removed images are online again.",
        "count",
    ),
}


def staff_sentence(event: CaseEvent) -> str:
    """The staff timeline's sentence for an event, in the active language: its own sentence,
    else the one for its kind, else its stored message. Never a raw code."""
    if event.sentence:
        return event_sentence(event)
    channel = (event.data or {}).get("channel")
    template = (
        (STAFF_TEXTS.get(f"{event.kind}:{channel}") if channel else None)
        or STAFF_TEXTS.get(event.kind)
        or EVENT_TEXTS.get(event.kind)
    )
    if template is not None:
        values = {**(event.data or {}), **(event.params or {})}
        try:
            return str(template % values)
        except (KeyError, TypeError, ValueError):
            pass
    return event.message or _("Something was recorded on the case.")


def person_date(value: datetime | None) -> str:
    """A date as people write it in the active language (27 November 2026 / 27. November 2026)."""
    if value is None:
        return ""
    # Translators: a date format for Django's date filter (German: "j. F Y").
    return formats.date_format(timezone.localtime(value), _("j F Y"))


class _Values(dict[str, Any]):
    """A sentence's parameters; the recipient's name is looked up only by a sentence that
    names it, so a list of events costs no query per event for the others."""

    def __init__(self, params: Mapping[str, Any], recipient: Callable[[], str | None]) -> None:
        super().__init__(params)
        self._recipient = recipient

    def __missing__(self, key: str) -> str:
        if key == "recipient" and (name := self._recipient()) is not None:
            return name
        raise KeyError(key)


def render(
    sentence: str, params: Mapping[str, Any], recipient: Callable[[], str | None]
) -> str | None:
    """The sentence in the active language, or None when the key is unknown or the
    parameters do not fit it (a missing recipient, a date that does not parse)."""
    template = EVENT_TEXTS.get(sentence)
    if template is None:
        return None
    values = _Values(params, recipient)
    for name in DATE_PARAMS & values.keys():
        parsed = parse_datetime(str(values[name]))
        if parsed is None:
            return None
        values[name] = person_date(parsed)
    try:
        return str(template % values)
    except (KeyError, TypeError, ValueError):
        return None


def stored_message(sentence: str, params: Mapping[str, Any], notice: Notice | None) -> str:
    """The English text stored with a new event; raises when the sentence cannot be rendered,
    so a wrong key or a missing parameter fails where the event is written."""
    with translation.override(STORED_LANGUAGE):
        text = render(sentence, params, lambda: notice.recipient.name if notice else None)
    if text is None:
        raise ValueError(f"sentence {sentence!r} cannot be rendered with {dict(params)!r}")
    return text


def event_sentence(event: CaseEvent, language: str | None = None) -> str:
    """The event's sentence in `language` (default: the active one), or its stored message
    when it has no sentence in the table."""

    def recipient() -> str | None:
        return event.notice.recipient.name if event.notice_id and event.notice else None

    key = event.sentence or ("" if event.message else event.kind)
    switch = translation.override(language) if language else contextlib.nullcontext()
    with switch:
        text = render(key, event.params or {}, recipient)
    return event.message if text is None else text
