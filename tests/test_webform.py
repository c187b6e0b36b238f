"""Recipients that accept only a web form: the text for each field, the checklist, and the
confirmation number that later matches their answers."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from takedown.models import Contact, Notice
from takedown.notices.send import mark_submitted, queue_notice
from takedown.notices.webform import prepare_form
from takedown.replies.inbound import receive
from tests.factories import (
    CaseFactory,
    ContactFactory,
    FoundLinkFactory,
    NoticeFactory,
    OrganisationFactory,
    TeamFactory,
    UserFactory,
)
from tests.test_replies import raw
from tests.test_web_replies import caseworker

pytestmark = pytest.mark.django_db

FORM = "https://report.platform.example/privacy"
NOW = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def notice(settings):
    settings.TAKEDOWN_ORGANISATION = "Demo Takedown e.V."
    carla = caseworker("carla", TeamFactory(name="Berlin"))
    carla.email, carla.first_name, carla.last_name = "carla@org.example", "Carla", "Klein"
    carla.save()
    case = CaseFactory(reference="TD-2026-0077", team=carla.teams.get(), assigned_to=carla)
    org = OrganisationFactory(name="Platform Inc", kind="platform", country="IE")
    contact = ContactFactory(
        organisation=org,
        channel=Contact.Channel.WEBFORM,
        value=FORM,
        form_fields=[
            {"label": "Your e-mail address", "source": "email"},
            {"label": "URLs of the content", "source": "urls"},
            {"label": "Why should it be removed?", "source": "description", "max_length": 80},
            {"label": "Your signature", "source": "signature"},
        ],
    )
    notice = NoticeFactory(
        case=case,
        recipient=org,
        recipient_role="site_operator",
        contact=contact,
        channel=Contact.Channel.WEBFORM,
        regime="gdpr",
        created_by=carla,
        status=Notice.Status.APPROVED,
    )
    for n in range(2):
        notice.links.add(FoundLinkFactory(case=case, url=f"https://img.platform.example/{n}.jpg"))
    return notice


def test_prepare_form_fills_each_field_from_the_notice(notice):
    with time_machine.travel(NOW, tick=False):
        prepared = prepare_form(notice)
    assert prepared.url == FORM
    email, urls, why, signature = prepared.fields
    assert (email.label, email.value, email.note) == (
        "Your e-mail address",
        "carla@org.example",
        "",
    )
    assert urls.value == "https://img.platform.example/0.jpg\nhttps://img.platform.example/1.jpg"
    assert len(why.value) == 80 and why.value.endswith("…")
    assert why.note == "shortened to the form's 80 characters: attach the PDF for the rest"
    assert (signature.value, signature.note) == (
        "",
        "unknown source in the directory: fill in by hand",
    )
    assert prepared.checklist[0] == f"Open the form: {FORM}"
    assert prepared.checklist[1:5] == [
        "Fill in “Your e-mail address”",
        "Fill in “URLs of the content”",
        "Fill in “Why should it be removed?”",
        "Fill in “Your signature”",
    ]
    assert prepared.checklist[-1].startswith("Record the confirmation number here")


def test_form_without_fields_in_the_directory_gets_subject_and_text(notice):
    Contact.objects.filter(pk=notice.contact_id).update(form_fields=[])
    notice.refresh_from_db()
    prepared = prepare_form(notice)
    assert [(f.label, f.source) for f in prepared.fields] == [
        ("Subject", "subject"),
        ("Description", "description"),
    ]
    assert "[TD-2026-0077]" in prepared.fields[0].value


def test_form_page_for_the_caseworker(client, notice):
    queue_notice(notice)
    client.force_login(notice.case.assigned_to)
    page = client.get(reverse("staff:notice_form", args=[notice.case.reference, notice.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count("<textarea") == 4  # one per field of the form
    assert "https://img.platform.example/1.jpg" in html
    detail = client.get(reverse("staff:notice", args=[notice.case.reference, notice.pk]))
    assert reverse("staff:notice_form", args=[notice.case.reference, notice.pk]) in (
        detail.content.decode()
    )


def test_email_notice_has_no_form_page(client, notice):
    Notice.objects.filter(pk=notice.pk).update(channel=Contact.Channel.EMAIL)
    client.force_login(notice.case.assigned_to)
    url = reverse("staff:notice_form", args=[notice.case.reference, notice.pk])
    response = client.get(url)
    assert response["Location"] == reverse("staff:notice", args=[notice.case.reference, notice.pk])


def test_confirmation_number_of_the_form_matches_later_answers(notice):
    queue_notice(notice)
    mark_submitted(notice, UserFactory(), "483920")
    result = receive(raw("ticket_only_de.eml", TICKET="483920"))
    assert (result.notice, result.matched_by, result.action) == (notice.pk, "ticket", "recorded")
