from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import reverse

from takedown.models import CaseEvent, Contact, Notice
from tests.factories import (
    FoundLinkFactory,
    NoticeFactory,
    OrganisationFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user():
    return UserFactory(username="root", is_staff=True, is_superuser=True)


def test_admin_changelists_open_for_every_model(client, admin_user):
    FoundLinkFactory()
    NoticeFactory()
    client.force_login(admin_user)

    for model in admin.site._registry:
        if model._meta.app_label != "takedown":
            continue
        url = reverse(f"admin:takedown_{model._meta.model_name}_changelist")
        assert client.get(url).status_code == 200, url


def test_admin_approve_action_keeps_four_eyes(client, admin_user):
    link = FoundLinkFactory()
    notice = NoticeFactory(
        case=link.case, status=Notice.Status.IN_REVIEW, created_by=admin_user, regime="dsa"
    )
    notice.links.add(link)
    reviewer = UserFactory(username="rita", is_staff=True)
    reviewer.user_permissions.add(
        *Permission.objects.filter(codename__in=["review_notice", "view_notice", "change_notice"])
    )
    approve = {"action": "approve", "_selected_action": [notice.pk]}

    client.force_login(admin_user)
    client.post(reverse("admin:takedown_notice_changelist"), approve)
    notice.refresh_from_db()
    assert notice.status == "in_review"  # the author may not approve

    client.force_login(reviewer)
    client.post(reverse("admin:takedown_notice_changelist"), approve)
    notice.refresh_from_db()
    assert (notice.status, notice.approved_by) == ("approved", reviewer)


def test_admin_contact_override_is_recorded_with_author(client, admin_user):
    organisation = OrganisationFactory()
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:takedown_contact_add"),
        {
            "organisation": organisation.pk,
            "purpose": "abuse",
            "channel": "email",
            "value": "legal@override.example",
            "source": "phone call with their legal team",
            "source_date": "2026-11-27",
            "quality": "verified",
            "is_override": "on",
        },
    )

    assert response.status_code == 302
    contact = Contact.objects.get(value="legal@override.example")
    assert (contact.quality, contact.created_by) == ("override", admin_user)
    event = CaseEvent.objects.get(kind="directory.override")
    assert (event.actor, event.data["contact"]) == (admin_user, contact.pk)


def test_root_leads_to_the_staff_login(client):
    # Issue 6: the root is the caseworker's case queue; the admin stays at /admin/.
    response = client.get("/")

    assert (response.status_code, response["Location"]) == (302, "/login/?next=/")
