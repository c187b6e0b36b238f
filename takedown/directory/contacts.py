"""Choosing the contact to write to (and the next one after a failure), caseworker overrides,
and syncing contacts from a source.

Every contact carries where it came from (`source`, `source_date`) and how far we trust it
(`quality`). A caseworker who learns a better address records an override: it wins over every
other contact of its purpose, is never touched by the seed or an importer, and leaves an event
with its author.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.translation import gettext

from takedown.errors import NotPossible
from takedown.models import Contact, Organisation
from takedown.workflow import record_event

Quality = Contact.Quality

# Lower is better. Overrides win before quality is looked at; the rank is here for completeness.
QUALITY_RANK: dict[str, int] = {
    Quality.OVERRIDE: 0,
    Quality.VERIFIED: 1,
    Quality.RDAP: 2,
    Quality.WHOIS: 3,
    Quality.IMPORTED: 4,
}

DEFAULT_PURPOSES: tuple[str, ...] = (
    Contact.Purpose.ABUSE,
    Contact.Purpose.LEGAL,
    Contact.Purpose.GENERAL,
)


# After the addresses of a notice failed: its default purposes first, then any other; e-mail,
# then the channels a caseworker can use without a call.
NEXT_PURPOSES: tuple[str, ...] = (
    *DEFAULT_PURPOSES,
    *(p for p in Contact.Purpose.values if p not in DEFAULT_PURPOSES),
)
NEXT_CHANNELS: tuple[str, ...] = tuple(
    c for c in Contact.Channel.values if c != Contact.Channel.PHONE
)


class ContactError(NotPossible):
    """An override that cannot be recorded (unknown purpose or channel, empty value or reason)."""


def best_contact(
    organisation: Organisation | int,
    purposes: Sequence[str] = DEFAULT_PURPOSES,
    channels: Sequence[str] | None = None,
    *,
    excluding: Collection[str] = (),
) -> Contact | None:
    """The contact to use, or None.

    `purposes` are in the caller's order of preference: a contact for an earlier purpose beats
    any contact for a later one. Within a purpose: the newest override, then contacts marked
    preferred, then quality (verified > rdap > whois > imported), then the caller's channel
    order, then the most recently sourced. `channels` limits the channels the caller can use;
    `excluding` names e-mail addresses not to use (they failed).
    """
    org_id = organisation.pk if isinstance(organisation, Organisation) else organisation
    return best_contacts([org_id], purposes, channels, excluding=excluding)[org_id]


def next_contact(organisation: Organisation | int, failed: Collection[str]) -> Contact | None:
    """The organisation's best other contact after these e-mail addresses failed: by the same
    ranking as best_contact, over every purpose (abuse, legal and general first) and every
    channel but the phone (e-mail first)."""
    return best_contact(organisation, NEXT_PURPOSES, NEXT_CHANNELS, excluding=failed)


def best_contacts(
    org_ids: Iterable[int],
    purposes: Sequence[str] = DEFAULT_PURPOSES,
    channels: Sequence[str] | None = None,
    *,
    excluding: Collection[str] = (),
) -> dict[int, Contact | None]:
    """best_contact for many organisations in one query: organisation id -> contact or None."""
    org_ids = list(org_ids)
    purposes = list(purposes)
    contacts = Contact.objects.filter(organisation_id__in=org_ids, purpose__in=purposes)
    if channels is not None:
        channels = list(channels)
        contacts = contacts.filter(channel__in=channels)
    excluded = {address.strip().lower() for address in excluding}

    def rank(contact: Contact) -> tuple[Any, ...]:
        return (
            purposes.index(contact.purpose),
            # Among overrides the newest is the caseworker's current word.
            (0, -contact.created_at.timestamp()) if contact.is_override else (1, 0.0),
            not contact.preferred,
            QUALITY_RANK.get(contact.quality, len(QUALITY_RANK)),
            channels.index(contact.channel) if channels is not None else 0,
            -contact.source_date.toordinal(),
            -contact.pk,
        )

    best: dict[int, Contact | None] = dict.fromkeys(org_ids)
    for contact in contacts:
        if contact.channel == Contact.Channel.EMAIL and contact.value.strip().lower() in excluded:
            continue
        current = best[contact.organisation_id]
        if current is None or rank(contact) < rank(current):
            best[contact.organisation_id] = contact
    return best


def override_contact(
    organisation: Organisation,
    purpose: str,
    channel: str,
    value: str,
    *,
    actor: Any,
    reason: str,
) -> Contact:
    """Record a caseworker's contact for `organisation`; it wins in best_contact from now on."""
    if purpose not in Contact.Purpose.values:
        raise ContactError(
            gettext("“%(purpose)s” is not a purpose a contact can have.") % {"purpose": purpose}
        )
    if channel not in Contact.Channel.values:
        raise ContactError(
            gettext("“%(channel)s” is not a way to reach a contact.") % {"channel": channel}
        )
    value, reason = value.strip(), reason.strip()
    if not value:
        raise ContactError(gettext("an override needs a value"))
    if not reason:
        raise ContactError(gettext("an override needs a reason"))
    user = actor if getattr(actor, "pk", None) else None
    with transaction.atomic():
        contact = Contact.objects.create(
            organisation=organisation,
            purpose=purpose,
            channel=channel,
            value=value,
            source=f"caseworker override: {reason}"[:300],
            quality=Quality.OVERRIDE,
            is_override=True,
            created_by=user,
        )
        # The value is an organisation's address, not personal data; the reason is the
        # caseworker's own words and belongs in the audit trail.
        record_event(
            None,
            "directory.override",
            actor=user,
            message=f"Contact override for {organisation.name}: {purpose} via {channel}.",
            data={
                "organisation": organisation.pk,
                "contact": contact.pk,
                "purpose": purpose,
                "channel": channel,
                "value": value,
                "reason": reason,
            },
        )
    return contact


# --- syncing contacts from the seed or an importer ---------------------------------------------


@dataclass(frozen=True)
class ContactSpec:
    """A contact as a source states it; synced onto an organisation by sync_contacts."""

    purpose: str
    channel: str
    value: str
    source: str
    quality: str = Quality.IMPORTED
    preferred: bool = False
    # A web form's fields, in its order (Contact.form_fields).
    form_fields: tuple[dict[str, Any], ...] = ()

    @property
    def key(self) -> tuple[str, str, str]:
        return contact_key(self.purpose, self.channel, self.value)


def contact_key(purpose: str, channel: str, value: str) -> tuple[str, str, str]:
    # E-mail addresses compare case-insensitively in practice (upstream data mixes cases).
    value = value.strip()
    if channel == Contact.Channel.EMAIL:
        value = value.lower()
    return (purpose, channel, value)


@dataclass
class ContactChanges:
    create: list[Contact] = field(default_factory=list)
    update: list[Contact] = field(default_factory=list)
    delete: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.create or self.update or self.delete)

    def extend(self, other: ContactChanges) -> None:
        self.create += other.create
        self.update += other.update
        self.delete += other.delete

    def apply(self) -> None:
        """Write the changes; call inside the caller's transaction."""
        if self.delete:
            Contact.objects.filter(pk__in=self.delete, is_override=False).delete()
        if self.update:
            Contact.objects.bulk_update(
                self.update,
                ["value", "source", "source_date", "quality", "preferred", "form_fields"],
            )
        if self.create:
            # Organisations created in the same run got their pk after planning; Django copies
            # it from the related object when saving.
            Contact.objects.bulk_create(self.create)


def plan_contacts(
    organisation: Organisation,
    specs: Iterable[ContactSpec],
    existing: Iterable[Contact],
    *,
    owned: Callable[[Contact], bool],
    source_date: datetime.date,
) -> ContactChanges:
    """What to create, update and delete so that the organisation's contacts owned by this
    source are exactly `specs`. Overrides and contacts of other sources are left alone; a
    contact whose facts did not change keeps its source_date (the date we last learnt it)."""
    changes = ContactChanges()
    mine = {
        contact_key(c.purpose, c.channel, c.value): c
        for c in existing
        if not c.is_override and owned(c)
    }
    seen: set[tuple[str, str, str]] = set()
    for spec in specs:
        if spec.key in seen:
            continue
        seen.add(spec.key)
        contact = mine.get(spec.key)
        if contact is None:
            changes.create.append(
                Contact(
                    organisation=organisation,
                    purpose=spec.purpose,
                    channel=spec.channel,
                    value=spec.value,
                    source=spec.source[:300],
                    source_date=source_date,
                    quality=spec.quality,
                    preferred=spec.preferred,
                    form_fields=list(spec.form_fields),
                )
            )
            continue
        wanted = (spec.value, spec.source[:300], spec.quality, spec.preferred)
        if (contact.value, contact.source, contact.quality, contact.preferred) != wanted:
            contact.value, contact.source, contact.quality, contact.preferred = wanted
            contact.source_date = source_date
            if spec.form_fields:
                contact.form_fields = list(spec.form_fields)
            changes.update.append(contact)
        elif spec.form_fields and contact.form_fields != list(spec.form_fields):
            # The same form with other fields: the facts about the address did not change.
            contact.form_fields = list(spec.form_fields)
            changes.update.append(contact)
    changes.delete = [c.pk for key, c in mine.items() if key not in seen]
    return changes
