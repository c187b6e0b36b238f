"""Who a party is, in one vocabulary.

A notice goes to a recipient in one RecipientRole. The directory and the resolver name parties
more finely, by Organisation.Kind (HostResolution's party fields carry the same names): a
platform and a site operator both receive their notice as the site operator. The registrant
comes from registry data only and is no directory organisation, so it has no recipient role.
ROLE_OF_KIND is the one mapping between the two; every other place derives from it. Stored
values are unchanged: Notice.recipient_role holds RecipientRole values, Organisation.kind the
kinds.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from takedown.models.directory import Organisation

PartyKind = Organisation.Kind


class RecipientRole(models.TextChoices):
    SITE_OPERATOR = "site_operator", _("Site operator")
    HOSTING = "hosting", _("Hosting provider")
    CDN = "cdn", _("CDN")
    REGISTRAR = "registrar", _("Registrar")
    DATASET_MAINTAINER = "dataset_maintainer", _("Dataset maintainer")
    DPA = "dpa", _("Data-protection authority")
    SEARCH_ENGINE = "search_engine", _("Search engine")


# The domain holder, as registry data (RDAP, WHOIS) name it.
REGISTRANT = "registrant"

ROLE_OF_KIND: dict[str, RecipientRole] = {
    PartyKind.OPERATOR: RecipientRole.SITE_OPERATOR,
    PartyKind.PLATFORM: RecipientRole.SITE_OPERATOR,
    PartyKind.HOSTING: RecipientRole.HOSTING,
    PartyKind.CDN: RecipientRole.CDN,
    PartyKind.REGISTRAR: RecipientRole.REGISTRAR,
    PartyKind.DATASET_MAINTAINER: RecipientRole.DATASET_MAINTAINER,
    PartyKind.DPA: RecipientRole.DPA,
    PartyKind.SEARCH_ENGINE: RecipientRole.SEARCH_ENGINE,
}
# The kind that stands for a role when nothing finer is known: a site operator the directory
# does not list as a platform.
KIND_OF_ROLE: dict[str, str] = {
    role: kind for kind, role in ROLE_OF_KIND.items() if kind != PartyKind.PLATFORM
}

# HostResolution's party fields in the order a link's first recipient is chosen: platform or
# site operator, else hosting provider, else CDN. The registrar comes last and is never a
# first recipient: a registrar notice is a late escalation step.
RESOLUTION_KINDS: tuple[str, ...] = (
    PartyKind.PLATFORM,
    PartyKind.OPERATOR,
    PartyKind.HOSTING,
    PartyKind.CDN,
    PartyKind.REGISTRAR,
)
FIRST_RECIPIENT_KINDS = RESOLUTION_KINDS[:-1]

# GDPR Art. 4(7): the controller decides the purposes and means of the processing: the site
# operator (a platform included) and the dataset maintainer. Hosting providers and CDNs store or
# pass data for others, a registrar only registers the name; none of them is the controller of
# the images, and neither is the registrant merely for holding the domain.
CONTROLLER_ROLES: frozenset[str] = frozenset(
    {RecipientRole.SITE_OPERATOR, RecipientRole.DATASET_MAINTAINER}
)


def kinds_of(role: str) -> tuple[str, ...]:
    """HostResolution's fields that can name the party of `role`, in order of preference."""
    return tuple(kind for kind in RESOLUTION_KINDS if ROLE_OF_KIND[kind] == role)


def kind_in_role(organisation_kind: str, role: str) -> str:
    """The party kind the jurisdiction rules reason about for an organisation in `role`: its
    own kind when that kind has this role (a platform), else the kind that stands for it."""
    return organisation_kind if ROLE_OF_KIND.get(organisation_kind) == role else KIND_OF_ROLE[role]


def is_controller(kind: str) -> bool:
    """Whether a party of this kind (or the registrant) is a controller under the GDPR."""
    return ROLE_OF_KIND.get(kind) in CONTROLLER_ROLES


def party_of(resolution: Any) -> tuple[int | None, str]:
    """The first recipient's organisation id and role in a host resolution (or None, "")."""
    for kind in FIRST_RECIPIENT_KINDS:
        party_id = getattr(resolution, f"{kind}_id", None)
        if party_id is not None:
            return party_id, str(ROLE_OF_KIND[kind])
    return None, ""
