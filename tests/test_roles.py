from __future__ import annotations

from takedown.models import Organisation, RecipientRole
from takedown.models.roles import (
    CONTROLLER_ROLES,
    FIRST_RECIPIENT_KINDS,
    KIND_OF_ROLE,
    ROLE_OF_KIND,
    is_controller,
    kinds_of,
)
from takedown.notices import regimes
from takedown.resolve import jurisdiction


def test_every_organisation_kind_has_one_recipient_role():
    assert sorted(ROLE_OF_KIND) == sorted(Organisation.Kind.values)
    assert sorted(set(ROLE_OF_KIND.values())) == sorted(RecipientRole.values)


def test_platform_and_operator_are_both_the_site_operator():
    assert kinds_of(RecipientRole.SITE_OPERATOR) == ("platform", "operator")
    assert kinds_of(RecipientRole.HOSTING) == ("hosting",)
    assert kinds_of(RecipientRole.REGISTRAR) == ("registrar",)
    assert KIND_OF_ROLE[RecipientRole.SITE_OPERATOR] == "operator"
    assert FIRST_RECIPIENT_KINDS == ("platform", "operator", "hosting", "cdn")


def test_controllers_are_site_operators_and_dataset_maintainers_only():
    assert sorted(CONTROLLER_ROLES) == ["dataset_maintainer", "site_operator"]
    party_roles = sorted(jurisdiction.ROLE_LABELS)
    assert [role for role in party_roles if is_controller(role)] == [
        "dataset_maintainer",
        "operator",
        "platform",
    ]
    # The regimes decide with the same set the jurisdiction rules use.
    assert regimes.CONTROLLER_ROLES is CONTROLLER_ROLES


def test_party_role_labels_are_the_organisation_kinds_and_the_registrant():
    assert jurisdiction.ROLE_LABELS == {
        "operator": "Site operator",
        "platform": "Platform",
        "hosting": "Hosting provider",
        "cdn": "CDN",
        "registrar": "Registrar",
        "dataset_maintainer": "Dataset maintainer",
        "registrant": "Registrant",
    }
