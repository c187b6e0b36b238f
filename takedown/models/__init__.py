"""The domain model, split by concern. Import models from here."""

from takedown.models.case import AffectedPerson, Case, Counter, Mandate, Team
from takedown.models.directory import Contact, OperatorRule, Organisation
from takedown.models.events import CaseEvent
from takedown.models.host import (
    DomainRecord,
    Host,
    HostResolution,
    NetworkRecord,
    ServerThrottle,
)
from takedown.models.link import FoundLink, Import, LinkCheck, Verdict
from takedown.models.notice import Notice, NoticeLink, RecipientRole

__all__ = [
    "AffectedPerson",
    "Case",
    "CaseEvent",
    "Contact",
    "Counter",
    "DomainRecord",
    "FoundLink",
    "Host",
    "HostResolution",
    "Import",
    "LinkCheck",
    "Mandate",
    "NetworkRecord",
    "Notice",
    "NoticeLink",
    "OperatorRule",
    "Organisation",
    "RecipientRole",
    "ServerThrottle",
    "Team",
    "Verdict",
]
