"""The domain model, split by concern. Import models from here."""

from takedown.models.case import (
    AffectedPerson,
    Case,
    Counter,
    IssuedMandateForm,
    Mandate,
    Team,
)
from takedown.models.decision import PartyDecision
from takedown.models.directory import Contact, OperatorRule, Organisation
from takedown.models.events import CaseEvent
from takedown.models.host import (
    DomainRecord,
    Host,
    HostResolution,
    NetworkClaim,
    NetworkRecord,
    ServerThrottle,
)
from takedown.models.jobs import Job
from takedown.models.letter import LetterTemplate
from takedown.models.link import FoundLink, Import, LinkCheck, Verdict
from takedown.models.notice import Notice, NoticeLink
from takedown.models.ops import Heartbeat, MetricTotal
from takedown.models.portal import (
    DeletionRequest,
    PortalAccess,
    PortalCode,
    PortalDevice,
    PortalMessage,
)
from takedown.models.reply import NotificationPreference, Reply, ReplyAttachment
from takedown.models.roles import RecipientRole
from takedown.models.staff import StaffPreferences
from takedown.models.tally import CaseTally, PartyTally

__all__ = [
    "AffectedPerson",
    "Case",
    "CaseEvent",
    "CaseTally",
    "Contact",
    "Counter",
    "DeletionRequest",
    "DomainRecord",
    "FoundLink",
    "Heartbeat",
    "Host",
    "HostResolution",
    "Import",
    "IssuedMandateForm",
    "Job",
    "LetterTemplate",
    "LinkCheck",
    "Mandate",
    "MetricTotal",
    "NetworkClaim",
    "NetworkRecord",
    "Notice",
    "NoticeLink",
    "NotificationPreference",
    "OperatorRule",
    "Organisation",
    "PartyDecision",
    "PartyTally",
    "PortalAccess",
    "PortalCode",
    "PortalDevice",
    "PortalMessage",
    "RecipientRole",
    "Reply",
    "ReplyAttachment",
    "ServerThrottle",
    "StaffPreferences",
    "Team",
    "Verdict",
]
