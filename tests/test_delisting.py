"""The search-engine step: which links go into which request, idempotency, the situations, the
element check and the web-form fields of the requests, and the way through review to the
confirmation number."""

from __future__ import annotations

import json
import threading
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from takedown.checks.escalate import record_reply
from takedown.checks.outcomes import compute_outcome
from takedown.directory.seed import seed_directory
from takedown.models import Case, CaseEvent, Contact, FoundLink, Notice, Organisation
from takedown.notices.delisting import (
    DelistingError,
    DelistingReport,
    offer,
    prepare_delisting,
)
from takedown.notices.generate import generate_notices
from takedown.notices.regimes import IDENTITY, MANDATE
from takedown.notices.review import approve, submit_for_review
from takedown.notices.send import mark_submitted, queue_notice
from takedown.notices.webform import NAME_WITHHELD, prepare_form
from takedown.stats import removal_times
from tests.factories import (
    CaseFactory,
    FoundLinkFactory,
    MandateFactory,
    NoticeFactory,
    OrganisationFactory,
    TeamFactory,
)
from tests.test_escalation_race import in_thread, waits_for_a_lock
from tests.test_notices_review import reviewer
from tests.test_web_replies import caseworker

pytestmark = pytest.mark.django_db

L, N, Outcome = FoundLink.Status, Notice.Status, Notice.Outcome
GOOGLE, BING = "Google Search (Google LLC)", "Microsoft Bing (Microsoft Corporation)"
GOOGLE_OUTDATED = "https://search.google.com/search-console/remove-outdated-content"
GOOGLE_PRIVACY = "https://www.google.com/webmasters/tools/legal-removal-request?complaint_type=rtbf"
GOOGLE_NCII = "https://support.google.com/websearch/answer/6302812"


@pytest.fixture
def world(settings):
    """A case with four links: one removed at its source, one its host refused, one whose
    deadline passed without an answer, one whose notice still runs."""
    settings.TAKEDOWN_ORGANISATION = "Demo Takedown e.V."
    seed_directory()
    team = TeamFactory(name="Delisting")
    carla = caseworker("carla", team)
    carla.email = "carla@org.example"
    carla.save()
    case = CaseFactory(reference="TD-2026-0300", team=team, assigned_to=carla)
    host = OrganisationFactory(name="Pics Host GmbH")
    gone = FoundLinkFactory(case=case, url="https://pics.example/gone.jpg", status=L.REMOVED)
    refused = FoundLinkFactory(case=case, url="https://pics.example/refused.jpg", status=L.NOTIFIED)
    silent = FoundLinkFactory(case=case, url="https://other.example/silent.jpg", status=L.NOTIFIED)
    running = FoundLinkFactory(case=case, url="https://new.example/running.jpg", status=L.NOTIFIED)
    sent = {"case": case, "recipient": host, "status": N.SENT, "regime": "dsa"}
    NoticeFactory(**sent, reply_outcome=Outcome.REFUSED).links.add(gone, refused)
    NoticeFactory(**sent, overdue_at="2026-11-30T10:00Z").links.add(silent)
    NoticeFactory(**sent).links.add(running)
    return {"case": case, "carla": carla, "gone": gone, "refused": refused, "silent": silent}


def requests(case: Case) -> dict[tuple[str, str], list[str]]:
    """(engine, regime) -> the URLs of its live request."""
    return {
        (notice.recipient.name, notice.regime): sorted(link.url for link in notice.links.all())
        for notice in Notice.objects.filter(case=case, recipient_role="search_engine").exclude(
            status=N.CANCELLED
        )
    }


def test_prepare_delisting_one_request_per_engine_and_situation(world):
    report = prepare_delisting(world["case"], actor=world["carla"])
    assert (report.created, report.extended, report.unchanged) == (4, 0, 0)
    online = ["https://other.example/silent.jpg", "https://pics.example/refused.jpg"]
    assert requests(world["case"]) == {
        (GOOGLE, "search_outdated"): ["https://pics.example/gone.jpg"],
        (GOOGLE, "search_delisting"): online,
        (BING, "search_outdated"): ["https://pics.example/gone.jpg"],
        (BING, "search_delisting"): online,
    }
    google = {n.regime: n for n in report.notices if n.recipient.name == GOOGLE}
    assert google["search_outdated"].to_address == GOOGLE_OUTDATED
    # A medical case goes through the privacy form, not the one for intimate images.
    assert google["search_delisting"].to_address == GOOGLE_PRIVACY
    assert {(n.status, n.channel, n.created_by_id) for n in report.notices} == {
        (N.DRAFT, Contact.Channel.WEBFORM, world["carla"].pk)
    }


def test_intimate_case_goes_through_the_form_for_intimate_images(world):
    Case.objects.filter(pk=world["case"].pk).update(category="intimate")
    world["case"].refresh_from_db()
    prepare_delisting(world["case"])
    delisting = Notice.objects.get(
        case=world["case"], recipient__name=GOOGLE, regime="search_delisting"
    )
    assert delisting.to_address == GOOGLE_NCII
    assert delisting.contact.purpose == "ncii"


def test_prepare_delisting_twice_adds_nothing(world):
    prepare_delisting(world["case"])
    before = requests(world["case"])
    report = prepare_delisting(world["case"])
    assert (report.created, report.extended, report.unchanged) == (0, 0, 4)
    assert requests(world["case"]) == before
    assert Notice.objects.filter(case=world["case"], recipient_role="search_engine").count() == 4


def test_link_removed_later_joins_the_outdated_draft_and_leaves_the_delisting_one(world):
    prepare_delisting(world["case"])
    FoundLink.objects.filter(pk=world["refused"].pk).update(status=L.REMOVED)
    report = prepare_delisting(world["case"])
    assert (report.created, report.extended) == (0, 2)
    assert requests(world["case"])[(BING, "search_outdated")] == [
        "https://pics.example/gone.jpg",
        "https://pics.example/refused.jpg",
    ]
    assert requests(world["case"])[(BING, "search_delisting")] == [
        "https://other.example/silent.jpg"
    ]


def test_link_in_a_request_under_way_is_not_asked_for_again(world):
    prepare_delisting(world["case"])
    outdated = Notice.objects.get(
        case=world["case"], recipient__name=GOOGLE, regime="search_outdated"
    )
    Notice.objects.filter(pk=outdated.pk).update(status=N.IN_REVIEW)
    FoundLinkFactory(case=world["case"], url="https://pics.example/later.jpg", status=L.REMOVED)
    report = prepare_delisting(world["case"])
    assert (report.created, report.extended, report.unchanged) == (1, 1, 2)
    google = Notice.objects.filter(
        case=world["case"], recipient__name=GOOGLE, regime="search_outdated"
    ).order_by("pk")
    assert [[link.url for link in n.links.all()] for n in google] == [
        ["https://pics.example/gone.jpg"],
        ["https://pics.example/later.jpg"],
    ]


def test_nothing_offered_while_every_notice_still_runs(settings):
    seed_directory()
    case = CaseFactory()
    link = FoundLinkFactory(case=case, status=L.NOTIFIED)
    NoticeFactory(case=case, status=N.SENT, regime="dsa").links.add(link)
    assert offer(case).offered is False
    report = prepare_delisting(case)
    assert (report.created, report.extended, report.notices) == (0, 0, [])


def test_offer_counts_what_no_request_names_yet(world):
    first = offer(world["case"])
    assert (first.offered, first.removed, first.not_removed, first.engines) == (True, 1, 2, 2)
    prepare_delisting(world["case"])
    again = offer(world["case"])
    assert (again.offered, again.removed_new, again.not_removed_new) == (False, 0, 0)


def test_minor_and_closed_cases_are_refused(world):
    case = world["case"]
    Case.objects.filter(pk=case.pk).update(is_minor=True)
    case.refresh_from_db()
    with pytest.raises(DelistingError, match="hotline"):
        prepare_delisting(case)
    Case.objects.filter(pk=case.pk).update(is_minor=False, status=Case.Status.CLOSED)
    case.refresh_from_db()
    with pytest.raises(DelistingError, match="reopen it first"):
        prepare_delisting(case)
    assert not Notice.objects.filter(case=case, recipient_role="search_engine").exists()


def test_no_search_engine_in_the_directory_is_refused():
    case = CaseFactory()
    FoundLinkFactory(case=case, status=L.REMOVED)
    with pytest.raises(DelistingError, match="seed_directory"):
        prepare_delisting(case)


def test_element_check_of_the_requests(world):
    report = prepare_delisting(world["case"], actor=world["carla"])
    by_regime = {n.regime: n for n in report.notices if n.recipient.name == BING}
    # Anyone may ask to refresh outdated results: nothing about the person is needed.
    assert by_regime["search_outdated"].element_check == {"missing": [], "complete": True}
    # A delisting acts on the person's rights: the mandate, and the name a reviewer releases.
    assert by_regime["search_delisting"].element_check["missing"] == [
        MANDATE.label,
        IDENTITY.label,
    ]


def test_delisting_goes_through_review_and_records_the_confirmation(world):
    MandateFactory(case=world["case"])
    report = prepare_delisting(world["case"], actor=world["carla"])
    notice = next(
        n for n in report.notices if (n.recipient.name, n.regime) == (BING, "search_delisting")
    )
    prepared = {field.label: field for field in prepare_form(notice).fields}
    assert prepared["Full legal name"].value == ""
    assert prepared["Full legal name"].note == NAME_WITHHELD
    submit_for_review(notice, world["carla"])
    approve(notice, reviewer(), confirm_disclosure=True)
    notice.refresh_from_db()
    assert notice.element_check["missing"] == []
    assert queue_notice(notice) == N.AWAITING_MANUAL
    prepared = {field.label: field for field in prepare_form(notice).fields}
    assert prepared["Full legal name"].value == "Alex Example"
    assert prepared["Name searched"].value == "Alex Example"
    assert prepared["European country of residence"].value == "DE"
    assert prepared["URLs to block"].value == (
        "https://pics.example/refused.jpg\nhttps://other.example/silent.jpg"
    )
    assert prepared["Electronic signature"].value == world["carla"].username
    assert "Alex Example" in prepared["Why each URL should be blocked"].value
    mark_submitted(notice, world["carla"], "BING-4711")
    notice.refresh_from_db()
    assert (notice.status, notice.manual_confirmation) == (N.SENT, "BING-4711")


def test_outdated_request_form_names_no_one(world):
    report = prepare_delisting(world["case"])
    notice = next(
        n for n in report.notices if (n.recipient.name, n.regime) == (BING, "search_outdated")
    )
    fields = [(f.label, f.value) for f in prepare_form(notice).fields]
    assert fields == [
        ("Content URL", "https://pics.example/gone.jpg"),
        ("Removal type", "Page removal"),
    ]
    assert "Alex Example" not in prepare_form(notice).fields[0].value


def test_search_engine_outcome_is_what_it_answered(world):
    prepare_delisting(world["case"])
    notice = Notice.objects.get(
        case=world["case"], recipient__name=GOOGLE, regime="search_outdated"
    )
    # The link is removed at the source; the results may still show it.
    assert compute_outcome(notice) == Outcome.PENDING
    notice.reply_outcome = Outcome.COMPLIED
    assert compute_outcome(notice) == Outcome.COMPLIED


def test_generating_the_notices_leaves_the_search_engine_drafts_alone(world):
    prepare_delisting(world["case"])
    before = requests(world["case"])
    generate_notices(world["case"])
    assert requests(world["case"]) == before


def test_seeded_search_engines_have_a_form_for_each_situation():
    seed_directory()
    forms = {
        (org.name, contact.purpose)
        for org in Organisation.objects.filter(kind="search_engine")
        for contact in org.contacts.filter(channel="webform")
        if contact.form_fields
    }
    assert forms == {
        (engine, purpose)
        for engine in (GOOGLE, BING)
        for purpose in ("ncii", "delisting", "outdated")
    }


def test_prepare_delisting_command_json_and_refusal(world):
    out = StringIO()
    call_command("prepare_delisting", "TD-2026-0300", "--as", "carla", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert (report["created"], report["extended"], report["skipped"]) == (4, 0, [])
    assert sorted((n["engine"], n["regime"], n["links"]) for n in report["notices"]) == [
        (GOOGLE, "search_delisting", 2),
        (GOOGLE, "search_outdated", 1),
        (BING, "search_delisting", 2),
        (BING, "search_outdated", 1),
    ]
    Case.objects.filter(pk=world["case"].pk).update(is_minor=True)
    with pytest.raises(CommandError) as refused:
        call_command("prepare_delisting", "TD-2026-0300")
    assert refused.value.returncode == 1


# --- the case page ------------------------------------------------------------------------------


def test_case_page_says_why_the_step_is_offered_and_the_button_prepares_it(client, world):
    case, carla = world["case"], world["carla"]
    client.force_login(carla)
    page = client.get(reverse("staff:case", args=[case.reference])).content.decode()
    assert "1 link is removed at its source, but search results may still show it" in page
    assert "2 links are still online after the recipients refused" in page
    assert "Prepare search-engine delisting" in page

    response = client.post(reverse("staff:delisting", args=[case.reference]), follow=True)
    page = response.content.decode()
    assert "4 requests to search engines prepared: review them in the notices." in page
    assert Notice.objects.filter(case=case, recipient_role="search_engine").count() == 4
    assert "Prepare search-engine delisting" not in page
    assert "Every one of these links is in a request to each search engine already" in page

    again = client.post(reverse("staff:delisting", args=[case.reference]), follow=True)
    assert "every link concerned is requested" in again.content.decode()
    assert Notice.objects.filter(case=case, recipient_role="search_engine").count() == 4


def test_case_page_without_a_situation_says_when_the_step_comes(client, settings):
    seed_directory()
    team = TeamFactory(name="Quiet")
    carla = caseworker("carla-quiet", team)
    case = CaseFactory(team=team, assigned_to=carla)
    FoundLinkFactory(case=case, status=L.FOUND)
    client.force_login(carla)
    page = client.get(reverse("staff:case", args=[case.reference])).content.decode()
    assert "Offered once links are removed at their source" in page
    assert "Prepare search-engine delisting" not in page
    refused = client.post(reverse("staff:delisting", args=[case.reference]), follow=True)
    assert "every link concerned is requested" in refused.content.decode()


def test_case_page_of_a_closed_case_asks_to_reopen(client, world):
    case, carla = world["case"], world["carla"]
    Case.objects.filter(pk=case.pk).update(status=Case.Status.CLOSED)
    client.force_login(carla)
    page = client.get(reverse("staff:case", args=[case.reference])).content.decode()
    assert "The case is closed: reopen it first." in page
    response = client.post(reverse("staff:delisting", args=[case.reference]), follow=True)
    assert "The case is closed: reopen it first." in response.content.decode()
    assert not Notice.objects.filter(case=case, recipient_role="search_engine").exists()


def test_refused_delisting_becomes_a_manual_step_not_a_host_notice(world):
    report = prepare_delisting(world["case"], actor=world["carla"])
    notice = next(
        n for n in report.notices if (n.recipient.name, n.regime) == (GOOGLE, "search_delisting")
    )
    Notice.objects.filter(pk=notice.pk).update(status=N.SENT)
    notice.refresh_from_db()
    before = Notice.objects.filter(case=world["case"]).count()

    record_reply(notice, outcome=Outcome.REFUSED, text="We decline.", actor=world["carla"])

    notice.refresh_from_db()
    assert notice.outcome == Outcome.REFUSED
    assert Notice.objects.filter(case=world["case"]).count() == before
    task = CaseEvent.objects.get(case=world["case"], kind="task.manual_legal_step")
    assert task.data["notice"] == notice.pk
    assert sorted(task.data["links"]) == sorted([world["refused"].pk, world["silent"].pk])


def test_results_page_does_not_credit_a_search_engine_with_a_removal(world):
    prepare_delisting(world["case"])
    delisting = Notice.objects.get(
        case=world["case"], recipient__name=BING, regime="search_delisting"
    )
    Notice.objects.filter(pk=delisting.pk).update(status=N.SENT, sent_at=timezone.now())
    FoundLink.objects.filter(pk=world["refused"].pk).update(
        status=L.REMOVED, removed_at=timezone.now()
    )
    assert [row.label for row in removal_times().by_recipient] == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_runs_at_once_prepare_each_request_once(world):
    """Two caseworkers press the button at once: the second run waits for the first (the
    case row's lock) and then finds every link requested."""
    first_in, release = threading.Event(), threading.Event()
    reports: dict[str, DelistingReport] = {}
    errors: list[BaseException] = []

    def first() -> None:
        # Its drafts stay uncommitted until the second run has started.
        with transaction.atomic():
            reports["first"] = prepare_delisting(Case.objects.get(pk=world["case"].pk))
            first_in.set()
            assert release.wait(30)

    def second() -> None:
        reports["second"] = prepare_delisting(Case.objects.get(pk=world["case"].pk))

    one = in_thread(first, errors)
    assert first_in.wait(30)
    two = in_thread(second, errors)
    blocked = waits_for_a_lock(two)
    release.set()
    one.join(30)
    two.join(30)

    assert errors == []
    assert [(r.created, r.extended, r.unchanged) for r in reports.values()] == [
        (4, 0, 0),
        (0, 0, 4),
    ]
    assert Notice.objects.filter(case=world["case"], recipient_role="search_engine").count() == 4
    assert blocked is True


def test_notice_page_and_prepared_form_of_a_draft_request(client, world):
    report = prepare_delisting(world["case"], actor=world["carla"])
    notice = next(n for n in report.notices if n.regime == "search_delisting")
    client.force_login(world["carla"])
    page = client.get(reverse("staff:notice", args=[world["case"].reference, notice.pk]))
    # A draft offers no regime to choose: the link's situation decided it.
    assert page.status_code == 200
    assert reverse("staff:regime", args=[world["case"].reference, notice.pk]) not in (
        page.content.decode()
    )
    form = client.get(reverse("staff:notice_form", args=[world["case"].reference, notice.pk]))
    assert form.status_code == 200
    assert "goes out only after a reviewer confirmed its disclosure" in form.content.decode()


def test_reviewer_sees_the_request_and_approves_it_with_the_name(client, world):
    MandateFactory(case=world["case"])
    report = prepare_delisting(world["case"], actor=world["carla"])
    notice = next(
        n for n in report.notices if (n.recipient.name, n.regime) == (GOOGLE, "search_delisting")
    )
    submit_for_review(notice, world["carla"])
    rita = reviewer()
    world["case"].team.members.add(rita)
    client.force_login(rita)
    queue = client.get(reverse("review:index")).content.decode()
    assert "Would name the person: confirm to approve" in queue
    page = client.get(reverse("review:notice", args=[notice.pk]))
    assert page.status_code == 200
    assert "https://pics.example/refused.jpg" in page.content.decode()
