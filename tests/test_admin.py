from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.urls import reverse

from takedown.models import Case, CaseEvent, Contact, Notice
from tests.factories import (
    CaseFactory,
    FoundLinkFactory,
    NoticeFactory,
    OrganisationFactory,
    TeamFactory,
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
    # The admin is for admins only: the second pair of eyes here is another admin.
    reviewer = UserFactory(username="rita", is_staff=True)
    reviewer.groups.add(Group.objects.get(name="admin"))
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


# --- who may use the admin ------------------------------------------------------------------------


def staff_member(username: str, group: str, *, team=None, is_staff: bool = True):
    user = UserFactory(username=username, is_staff=is_staff)
    user.groups.add(Group.objects.get(name=group))
    if team is not None:
        team.members.add(user)
    return user


def test_admin_refuses_a_staff_caseworker(client):
    berlin, hamburg = TeamFactory(name="Berlin"), TeamFactory(name="Hamburg")
    other = CaseFactory(team=hamburg)
    client.force_login(staff_member("carla", "caseworker", team=berlin))

    pages = [
        reverse("admin:index"),
        reverse("admin:takedown_case_changelist"),
        reverse("admin:takedown_case_change", args=[other.pk]),
        reverse("admin:takedown_mandate_changelist"),
    ]
    responses = {url: client.get(url) for url in pages}

    assert {url: r.status_code for url, r in responses.items()} == dict.fromkeys(pages, 302)
    assert {url: r["Location"].split("?")[0] for url, r in responses.items()} == dict.fromkeys(
        pages, "/admin/login/"
    )
    assert all(b"Alex Example" not in r.content for r in responses.values())


def test_admin_refuses_a_staff_reviewer(client):
    client.force_login(staff_member("rita", "reviewer"))

    assert client.get(reverse("admin:index")).status_code == 302


def test_admin_opens_for_the_admin_group(client):
    case = CaseFactory(team=TeamFactory())
    client.force_login(staff_member("ada", "admin"))

    assert client.get(reverse("admin:index")).status_code == 200
    response = client.get(reverse("admin:takedown_case_change", args=[case.pk]))
    assert response.status_code == 200
    assert b"Alex Example" in response.content


def test_admin_needs_is_staff_even_for_the_admin_group(client):
    client.force_login(staff_member("ada", "admin", is_staff=False))

    assert client.get(reverse("admin:index")).status_code == 302


def test_admin_refuses_an_inactive_superuser(client, admin_user):
    client.force_login(admin_user)
    admin_user.is_active = False
    admin_user.save()

    assert client.get(reverse("admin:index")).status_code == 302


# --- the admin's sign-in is throttled like the staff sign-in ------------------------------------

THROTTLED = (
    "Too many failed sign-in attempts. Wait 15 minutes and try again, "
    "or ask an administrator to reset your password."
)


@pytest.fixture
def root(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.TAKEDOWN_LOGIN_FAILURE_LIMIT = 5
    cache.clear()
    user = UserFactory(username="root", is_staff=True, is_superuser=True)
    user.set_password("s3cret-pass")
    user.save()
    yield user
    cache.clear()


def admin_login(client, password: str):
    return client.post("/admin/login/?next=/admin/", {"username": "root", "password": password})


def test_admin_login_refused_after_thirty_failures(client, root):
    failures = [admin_login(client, f"wrong{i}") for i in range(30)]

    blocked = admin_login(client, "s3cret-pass")

    assert [r.status_code for r in failures] == [200] * 30
    assert blocked.status_code == 200
    assert blocked.context["form"].non_field_errors() == [THROTTLED]
    assert "_auth_user_id" not in client.session


def test_admin_login_after_a_few_failures_signs_in(client, root):
    failures = [admin_login(client, f"wrong{i}") for i in range(4)]

    response = admin_login(client, "s3cret-pass")

    assert "Please enter the correct username and password for a staff account" in (
        failures[0].content.decode()
    )
    assert (response.status_code, response["Location"]) == (302, "/admin/")
    assert client.session["_auth_user_id"] == str(root.pk)


def test_admin_and_staff_login_count_failures_together(client, root):
    for i in range(3):
        client.post("/login/", {"username": "root", "password": f"wrong{i}"})
    for i in range(2):
        admin_login(client, f"wrong{i}")

    blocked_admin = admin_login(client, "s3cret-pass")
    blocked_staff = client.post("/login/", {"username": "root", "password": "s3cret-pass"})

    assert blocked_admin.context["form"].non_field_errors() == [THROTTLED]
    assert blocked_staff.context["form"].non_field_errors() == [THROTTLED]
    assert "_auth_user_id" not in client.session


# --- pausing from the admin is recorded as staff's ------------------------------------------------


def test_admin_pause_action_is_recorded_as_staff_and_not_resumable_by_the_person(
    client, admin_user
):
    from takedown.web.portal.actions import allowed_moves

    case = CaseFactory()
    client.force_login(admin_user)

    client.post(
        reverse("admin:takedown_case_changelist"),
        {"action": "pause_cases", "_selected_action": [case.pk]},
    )

    case.refresh_from_db()
    assert case.status == Case.Status.PAUSED
    event = CaseEvent.objects.get(case=case, kind="case.paused")
    assert (event.actor, event.data["by"]) == (admin_user, "staff")
    assert allowed_moves(case) == ["withdraw"]


# --- opening a case in the admin is audited like the staff screens -----------------------------


def audit_trail(case):
    return [
        (e.kind, e.actor, e.data)
        for e in CaseEvent.objects.filter(case=case, kind__in=["case.viewed", "person.revealed"])
    ]


def test_admin_case_change_page_records_view_and_revealed_fields(client, admin_user):
    case = CaseFactory()
    client.force_login(admin_user)

    response = client.get(reverse("admin:takedown_case_change", args=[case.pk]))

    assert response.status_code == 200
    assert "Alex Example" in response.content.decode()
    assert audit_trail(case) == [
        ("case.viewed", admin_user, {}),
        ("person.revealed", admin_user, {"fields": ["email", "name"]}),
    ]


def test_admin_case_reopened_within_a_visit_is_one_view_but_every_reveal(client, admin_user):
    case = CaseFactory()
    client.force_login(admin_user)

    client.get(reverse("admin:takedown_case_change", args=[case.pk]))
    client.get(reverse("admin:takedown_case_change", args=[case.pk]))

    assert [kind for kind, _actor, _data in audit_trail(case)] == [
        "case.viewed",
        "person.revealed",
        "person.revealed",
    ]


def test_admin_case_without_a_person_records_only_the_view(client, admin_user):
    case = CaseFactory(person=None)
    client.force_login(admin_user)

    response = client.get(reverse("admin:takedown_case_change", args=[case.pk]))

    assert response.status_code == 200
    assert audit_trail(case) == [("case.viewed", admin_user, {})]


def test_admin_case_changelist_and_unknown_case_record_nothing(client, admin_user):
    case = CaseFactory()
    client.force_login(admin_user)

    client.get(reverse("admin:takedown_case_changelist"))
    missing = client.get(reverse("admin:takedown_case_change", args=[case.pk + 1000]))

    assert missing.status_code == 302  # the admin's "no such object" redirect
    assert CaseEvent.objects.filter(kind__in=["case.viewed", "person.revealed"]).count() == 0
