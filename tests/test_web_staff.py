"""The caseworker's workspace: queue, intake, case page, actions, object-level access."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.db.models.signals import post_save
from django.test.utils import CaptureQueriesContext
from django.urls import resolve, reverse
from django.utils import timezone
from django.utils.html import escape

import takedown.tasks  # noqa: F401  (registers the tasks the actions send, as in a worker)
from takedown.checks.escalate import EscalationError
from takedown.checks.references import ReferenceHashError
from takedown.checks.releases import ReleaseError
from takedown.directory.contacts import ContactError
from takedown.directory.importers import DirectoryImportError
from takedown.dispatch import DISPATCH_LEASE
from takedown.errors import NotPossible
from takedown.intake.readers import IntakeError
from takedown.jobs import output_path, run_job, write_encrypted
from takedown.models import (
    Case,
    CaseEvent,
    Contact,
    DeletionRequest,
    FoundLink,
    HostResolution,
    Import,
    Job,
    LinkCheck,
    Notice,
    NoticeLink,
    PortalAccess,
    PortalMessage,
)
from takedown.notices.clock import DeadlineError
from takedown.notices.review import ReviewError, edit
from takedown.notices.send import SendError
from takedown.resolve.lookup import BadTarget
from takedown.web.portal.access import PortalError
from takedown.web.portal.actions import request_deletion, send_message
from takedown.web.staff.actions import StaffActionError
from takedown.web.staff.jobs import job_url
from takedown.workflow import ConcurrentChange, TransitionNotAllowed, record_event, transition
from tests.factories import (
    CaseFactory,
    FoundLinkFactory,
    HostFactory,
    MandateFactory,
    NoticeFactory,
    OrganisationFactory,
    TeamFactory,
    UserFactory,
    caseworker,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return TeamFactory(name="Berlin")


@pytest.fixture
def carla(team):
    return caseworker("carla", team)


@pytest.fixture
def otto():
    """A caseworker of another team."""
    return caseworker("otto", TeamFactory(name="Hamburg"))


@pytest.fixture
def case(team, carla):
    return CaseFactory(reference="TD-2026-0100", team=team, assigned_to=carla)


def resolved_host(hostname: str, organisation, **flags):
    host = HostFactory(hostname=hostname, registered_domain=hostname.split(".", 1)[1], **flags)
    host.current = HostResolution.objects.create(
        host=host,
        hosting=organisation,
        ips=["192.0.2.10"],
        data={
            "hosting": {"organization": organisation.name, "country": "DE", "source": "rdap"},
            "registrar": {"name": "Example Registrar", "country": "US", "source": "whois"},
            "jurisdiction": {
                "countries": ["DE"],
                "regimes": ["gdpr", "dsa"],
                "confidence": "high",
                "reasons": ["hosting in DE (rdap)"],
                "decision_reasons": [],
            },
        },
    )
    host.save()
    return host


@pytest.fixture
def hoster():
    organisation = OrganisationFactory(name="Hoster Eins GmbH", country="DE")
    organisation.contacts.create(
        purpose="abuse",
        channel="email",
        value="abuse@hoster.example",
        source="t",
        quality="verified",
    )
    return organisation


# --- object-level access: every URL ----------------------------------------------------------


def case_urls(case, notice, imported):
    ref = case.reference
    return [
        ("get", reverse("staff:case", args=[ref])),
        ("get", reverse("staff:links", args=[ref])),
        ("post", reverse("staff:exclude_links", args=[ref])),
        ("get", reverse("staff:notices_csv", args=[ref])),
        ("get", reverse("staff:hosts", args=[ref])),
        ("get", reverse("staff:party", args=[ref, "img.hoster-eins.de"])),
        ("get", reverse("staff:timeline", args=[ref])),
        ("get", reverse("staff:replies", args=[ref])),
        ("get", reverse("staff:import_links", args=[ref])),
        ("get", reverse("staff:import", args=[ref, imported.pk])),
        ("get", reverse("staff:notice", args=[ref, notice.pk])),
        ("get", reverse("staff:notice_pdf", args=[ref, notice.pk])),
        ("get", reverse("staff:notice_links", args=[ref, notice.pk])),
        ("get", reverse("staff:notice_form", args=[ref, notice.pk])),
        ("get", reverse("staff:edit_notice", args=[ref, notice.pk])),
        ("post", reverse("staff:import_links", args=[ref])),
        ("post", reverse("staff:reveal", args=[ref])),
        ("post", reverse("staff:mandate", args=[ref])),
        ("post", reverse("staff:mandate_upload", args=[ref])),
        ("post", reverse("staff:mandate_revoke", args=[ref])),
        ("get", reverse("staff:mandate_form", args=[ref])),
        ("post", reverse("staff:resolve", args=[ref])),
        ("post", reverse("staff:generate", args=[ref])),
        ("post", reverse("staff:send", args=[ref])),
        ("post", reverse("staff:delisting", args=[ref])),
        ("post", reverse("staff:ladder", args=[ref])),
        ("post", reverse("staff:ladder_step", args=[ref])),
        ("post", reverse("staff:close", args=[ref])),
        ("post", reverse("staff:knowledge", args=[ref])),
        ("post", reverse("staff:consent", args=[ref])),
        ("post", reverse("staff:reopen", args=[ref])),
        ("post", reverse("staff:submit", args=[ref, notice.pk])),
        ("post", reverse("staff:submitted", args=[ref, notice.pk])),
        ("post", reverse("staff:reply", args=[ref, notice.pk])),
        ("post", reverse("staff:authority", args=[ref, notice.pk])),
        ("post", reverse("staff:regime", args=[ref, notice.pk])),
        ("post", reverse("staff:access", args=[ref, notice.pk])),
        ("post", reverse("staff:facts", args=[ref])),
        ("post", reverse("staff:answer", args=[ref, notice.pk])),
        ("get", reverse("staff:messages", args=[ref])),
        ("post", reverse("staff:messages_read", args=[ref])),
        ("post", reverse("staff:portal_answer", args=[ref])),
        ("post", reverse("staff:portal_link", args=[ref])),
        ("post", reverse("staff:portal_revoke", args=[ref])),
        ("post", reverse("staff:recheck", args=[ref])),
        ("post", reverse("staff:reference_hashes", args=[ref])),
        ("post", reverse("staff:reference_picture", args=[ref])),
        ("post", reverse("staff:deletion_handled", args=[ref, case.deletion_requests.get().pk])),
        ("post", reverse("staff:link_reviewed", args=[ref, case.links.get(needs_review=True).pk])),
        ("post", reverse("staff:task_done", args=[ref, manual_task(case).pk])),
        ("post", reverse("staff:entry_note", args=[ref, case.links.order_by("pk")[1].pk])),
        ("get", reverse("staff:job", args=[ref, case.jobs.get().pk])),
        ("get", reverse("staff:job_status", args=[ref, case.jobs.get().pk])),
        ("get", reverse("staff:job_output", args=[ref, case.jobs.get().pk])),
    ]


def test_case_urls_cover_every_case_url_of_the_workspace(full_case):
    """A new URL under /cases/<reference>/ must join the list above, or it escapes the
    other-team and wrong-role checks below."""
    from takedown.web.staff.urls import urlpatterns

    per_case = {p.name for p in urlpatterns if "<str:reference>" in str(p.pattern)}
    listed = {resolve(url.split("?")[0]).url_name for _method, url in case_urls(*full_case)}

    assert per_case == listed


def finish_job(client, response):
    """The action recorded a job and sent the browser to its page: run it as a worker would,
    then open the page (with the job's report, or the import report it leads to)."""
    job = Job.objects.order_by("-pk").first()
    assert (response.status_code, response["Location"]) == (302, job_url(job))
    run_job(job.pk)
    return client.get(job_url(job), follow=True)


def manual_task(case):
    return CaseEvent.objects.get(case=case, kind="task.manual_legal_step")


@pytest.fixture
def full_case(case, carla, hoster):
    host = resolved_host("img.hoster-eins.de", hoster)
    links = [FoundLinkFactory(case=case, host=host) for _ in range(3)]
    notice = NoticeFactory(case=case, recipient=hoster, created_by=carla)
    notice.links.set(links)
    MandateFactory(case=case)
    imported = Import.objects.create(case=case, format="text", report={"rows": 3})
    # What the portal, the rechecks and the ladder leave for a person.
    send_message(case, "Is there any news?")
    request_deletion(case)
    FoundLink.objects.filter(pk=links[0].pk).update(needs_review=True)
    record_event(case, "task.manual_legal_step", message="Manual legal step needed.", notice=notice)
    rendered = Job.objects.create(
        kind=Job.Kind.RENDER, case=case, notice=notice, status=Job.Status.DONE
    )
    write_encrypted(output_path(rendered), [b"%PDF-1.7 rendered by a worker"])
    return case, notice, imported


def reviewing_caseworker(team):
    """Both roles, in another team: reviewer rights must not open other teams' cases."""
    user = caseworker("rolf", team)
    user.groups.add(Group.objects.get(name="reviewer"))
    return user


@pytest.mark.parametrize("who", ["caseworker", "reviewer"])
def test_every_case_url_is_404_for_staff_of_another_team(client, otto, full_case, who):
    _case, notice, _imported = full_case
    client.force_login(otto if who == "caseworker" else reviewing_caseworker(otto.teams.get()))
    before = CaseEvent.objects.count()
    statuses = {
        url: getattr(client, method)(url).status_code for method, url in case_urls(*full_case)
    }

    assert set(statuses.values()) == {404}, statuses
    # Nothing happened to the case: no event, no status change, nothing revealed.
    assert CaseEvent.objects.count() == before
    assert Notice.objects.get(pk=notice.pk).status == Notice.Status.DRAFT


def test_notice_and_import_of_another_case_are_404_under_own_case(client, carla, full_case):
    case, notice, imported = full_case
    mine = CaseFactory(reference="TD-2026-0101", team=case.team)
    client.force_login(carla)

    assert client.get(reverse("staff:notice", args=[mine.reference, notice.pk])).status_code == 404
    assert (
        client.get(reverse("staff:import", args=[mine.reference, imported.pk])).status_code == 404
    )
    assert client.post(reverse("staff:submit", args=[mine.reference, notice.pk])).status_code == 404


def test_every_case_url_is_403_for_a_reviewer_of_the_team_without_caseworker_role(
    client, team, full_case
):
    # cases_for covers reviewers (the review dashboard), the caseworker screens stay closed.
    rita = UserFactory(username="rita")
    rita.groups.add(Group.objects.get(name="reviewer"))
    team.members.add(rita)
    client.force_login(rita)
    before = CaseEvent.objects.count()

    statuses = {
        url: getattr(client, method)(url).status_code for method, url in case_urls(*full_case)
    }

    assert set(statuses.values()) == {403}, statuses
    assert CaseEvent.objects.count() == before


def test_every_case_url_answers_the_own_team(client, carla, full_case):
    client.force_login(carla)
    statuses = {
        url: getattr(client, method)(url).status_code for method, url in case_urls(*full_case)
    }

    # Pages 200, actions redirect back (or render a page: reveal, mandate download, the import
    # form with its errors).
    assert {code for code in statuses.values()} <= {200, 302}, statuses


def test_case_pages_need_login(client, full_case):
    response = client.get(reverse("staff:case", args=[full_case[0].reference]))

    assert (response.status_code, response["Location"]) == (
        302,
        f"/login/?next=/cases/{full_case[0].reference}/",
    )


def test_queue_is_403_for_a_user_without_staff_role(client):
    client.force_login(UserFactory(username="nobody"))

    assert client.get(reverse("staff:queue")).status_code == 403


def test_admin_group_sees_every_case(client, full_case):
    admin = UserFactory(username="ada")
    admin.groups.add(Group.objects.get(name="admin"))
    client.force_login(admin)

    assert client.get(reverse("staff:case", args=[full_case[0].reference])).status_code == 200


def test_actions_are_post_only(client, carla, full_case):
    case, notice, _ = full_case
    client.force_login(carla)

    for name in (
        "reveal",
        "mandate",
        "resolve",
        "generate",
        "send",
        "ladder",
        "close",
        "portal_link",
        "portal_revoke",
        "messages_read",
        "recheck",
        "reference_hashes",
    ):
        assert client.get(reverse(f"staff:{name}", args=[case.reference])).status_code == 405
    for name, pk in (
        ("deletion_handled", case.deletion_requests.get().pk),
        ("link_reviewed", case.links.get(needs_review=True).pk),
        ("task_done", manual_task(case).pk),
    ):
        assert client.get(reverse(f"staff:{name}", args=[case.reference, pk])).status_code == 405
    for name in ("submit", "submitted", "reply"):
        url = reverse(f"staff:{name}", args=[case.reference, notice.pk])
        assert client.get(url).status_code == 405


# --- the queue ------------------------------------------------------------------------------


def test_queue_lists_only_the_teams_cases(client, carla, case, otto):
    CaseFactory(reference="TD-2026-0900", team=otto.teams.get())
    client.force_login(carla)

    response = client.get(reverse("staff:queue"))

    assert [c.reference for c in response.context["page"].object_list] == ["TD-2026-0100"]


def test_queue_counts_per_view(client, carla, case, team, hoster):
    other = caseworker("olga", team)
    overdue = CaseFactory(reference="TD-2026-0201", team=team, assigned_to=other)
    NoticeFactory(
        case=overdue,
        recipient=hoster,
        status=Notice.Status.SENT,
        due_at=timezone.now() - timedelta(days=1),
    )
    extended = CaseFactory(reference="TD-2026-0202", team=team)
    NoticeFactory(
        case=extended,
        recipient=hoster,
        status=Notice.Status.SENT,
        due_at=timezone.now() - timedelta(days=1),
        extended_until=timezone.now() + timedelta(days=5),
    )
    review = CaseFactory(reference="TD-2026-0203", team=team)
    NoticeFactory(case=review, recipient=hoster, status=Notice.Status.IN_REVIEW)
    manual = CaseFactory(reference="TD-2026-0204", team=team)
    NoticeFactory(case=manual, recipient=hoster, status=Notice.Status.AWAITING_MANUAL)
    undecided = CaseFactory(reference="TD-2026-0205", team=team)
    FoundLinkFactory(
        case=undecided, host=HostFactory(hostname="x.unclear.example", needs_decision=True)
    )
    changed = CaseFactory(reference="TD-2026-0206", team=team)
    FoundLinkFactory(case=changed, host=HostFactory(hostname="y.moved.example", status="changed"))
    CaseFactory(reference="TD-2026-0207", team=team, status=Case.Status.CLOSED)
    client.force_login(carla)

    response = client.get(reverse("staff:queue"))

    assert response.context["counts"] == {
        "mine": 1,
        "team": 7,
        "overdue": 1,
        "review": 1,
        "decision": 3,
    }
    decision = client.get(reverse("staff:queue") + "?view=decision")
    assert sorted(c.reference for c in decision.context["page"].object_list) == [
        "TD-2026-0204",
        "TD-2026-0205",
        "TD-2026-0206",
    ]
    overdue_page = client.get(reverse("staff:queue") + "?view=overdue")
    assert [c.reference for c in overdue_page.context["page"].object_list] == ["TD-2026-0201"]
    closed = client.get(reverse("staff:queue") + "?status=closed")
    assert [c.reference for c in closed.context["page"].object_list] == ["TD-2026-0207"]


def test_queue_search_by_reference_url_and_host(client, carla, team):
    first = CaseFactory(reference="TD-2026-0301", team=team)
    second = CaseFactory(reference="TD-2026-0302", team=team)
    host = HostFactory(hostname="cdn.pics.example", registered_domain="pics.example")
    FoundLinkFactory(case=first, host=host, url="https://cdn.pics.example/a.jpg")
    FoundLinkFactory(case=second, host=HostFactory(hostname="other.example"))
    client.force_login(carla)

    def found(q: str) -> list[str]:
        response = client.get(reverse("staff:queue"), {"q": q})
        return sorted(c.reference for c in response.context["page"].object_list)

    assert found("0302") == ["TD-2026-0302"]
    # The URL as pasted from a browser: normalised before matching (host case, default port).
    assert found("HTTPS://CDN.pics.example:443/a.jpg") == ["TD-2026-0301"]
    assert found("pics.example") == ["TD-2026-0301"]
    assert found("cdn.pics.example") == ["TD-2026-0301"]
    assert found("https://cdn.pics.example/b.jpg") == []


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def test_queue_query_count_does_not_grow_with_cases(client, carla, team, hoster):
    client.force_login(carla)

    def add(n: int) -> None:
        for _n in range(n):
            case = CaseFactory(team=team, assigned_to=carla)
            FoundLinkFactory(case=case, needs_review=True)
            notice = NoticeFactory(case=case, recipient=hoster, status=Notice.Status.IN_REVIEW)
            send_message(case, "Any news?")
            request_deletion(case)
            record_event(case, "task.manual_legal_step", notice=notice)

    add(3)
    small = queries_for(client, reverse("staff:queue"))
    small_decision = queries_for(client, reverse("staff:queue") + "?view=decision")
    add(40)
    large = queries_for(client, reverse("staff:queue"))
    large_decision = queries_for(client, reverse("staff:queue") + "?view=decision")

    assert (small, small_decision) == (large, large_decision)


# --- the case page: fixed number of queries however many links -----------------------------------


def grow_case(case, hosts: int, links_per_host: int, events: int) -> None:
    for h in range(hosts):
        organisation = OrganisationFactory(name=f"Party {case.pk}-{h}-{hosts}")
        host = resolved_host(f"h{h}-{hosts}.site{h}-{hosts}.example", organisation)
        FoundLink.objects.bulk_create(
            # bulk_create skips FoundLink.save: the stored party is the writer's to set.
            FoundLink(
                case=case,
                host=host,
                party=organisation,
                party_role="hosting",
                url=f"https://{host.hostname}/{i}.jpg",
                url_sha256=f"{h:08d}{i:08d}{hosts:08d}".ljust(64, "0"),
            )
            for i in range(links_per_host)
        )
        notice = NoticeFactory(case=case, recipient=organisation)
        NoticeLink.objects.bulk_create(
            NoticeLink(notice=notice, link=link) for link in FoundLink.objects.filter(host=host)
        )
    CaseEvent.objects.bulk_create(
        CaseEvent(case=case, kind="link.status", message=f"event {i}") for i in range(events)
    )
    # What needs a person grows with the case too: flagged links with their checks, legal
    # steps, the person's messages and requests.
    flagged = list(FoundLink.objects.filter(case=case)[: hosts * 2])
    FoundLink.objects.filter(pk__in=[link.pk for link in flagged]).update(needs_review=True)
    LinkCheck.objects.bulk_create(
        LinkCheck(link=link, verdict="online_changed", reason="a different image")
        for link in flagged
        for _ in range(2)
    )
    for i in range(hosts):
        record_event(case, "task.manual_legal_step", message=f"step {i}")
        send_message(case, f"message {i}")
        DeletionRequest.objects.create(case=case)


@pytest.mark.parametrize("page", ["case", "links", "hosts", "timeline", "messages"])
def test_case_page_query_count_does_not_grow_with_links(client, carla, team, page):
    client.force_login(carla)
    small = CaseFactory(reference="TD-2026-0401", team=team)
    grow_case(small, hosts=2, links_per_host=3, events=5)
    large = CaseFactory(reference="TD-2026-0402", team=team)
    grow_case(large, hosts=40, links_per_host=30, events=300)
    # The first open of a case writes its "case.viewed" event; compare later opens.
    for case in (small, large):
        client.get(reverse(f"staff:{page}", args=[case.reference]))

    counts = [
        queries_for(client, reverse(f"staff:{page}", args=[c.reference])) for c in (small, large)
    ]

    assert counts[0] == counts[1]
    # 22: one for the case's background jobs still running, one for the notices' link counts.
    assert counts[1] <= 22


def test_case_page_10000_links_renders_one_page_of_links(client, carla, team, hoster):
    case = CaseFactory(reference="TD-2026-0403", team=team)
    host = resolved_host("big.hoster-eins.de", hoster)
    FoundLink.objects.bulk_create(
        FoundLink(
            case=case,
            host=host,
            party=hoster,
            party_role="hosting",
            url=f"https://big.hoster-eins.de/{i}.jpg",
            url_sha256=f"{i:064d}",
        )
        for i in range(10_000)
    )
    client.force_login(carla)

    overview = client.get(reverse("staff:case", args=[case.reference]))
    links = client.get(reverse("staff:links", args=[case.reference]) + "?page=100")

    assert overview.context["link_total"] == 10_000
    assert [(g.organisation, g.total) for g in overview.context["groups"]] == [(hoster, 10_000)]
    assert links.context["page"].paginator.count == 10_000
    assert len(links.context["rows"]) == 100
    assert links.context["rows"][-1][0].url == "https://big.hoster-eins.de/9999.jpg"


def test_links_grouped_by_responsible_party_with_status(client, carla, case, hoster):
    platform = OrganisationFactory(name="Pinboard", kind="platform", country="US")
    a = resolved_host("img.hoster-eins.de", hoster)
    b = HostFactory(hostname="i.pinboard.example", registered_domain="pinboard.example")
    b.current = HostResolution.objects.create(host=b, platform=platform, hosting=hoster)
    b.save()
    unresolved = HostFactory(hostname="new.unknown.example")
    FoundLinkFactory(case=case, host=a)
    FoundLinkFactory(case=case, host=a, status=FoundLink.Status.REMOVED)
    FoundLinkFactory(case=case, host=b)
    FoundLinkFactory(case=case, host=unresolved)
    client.force_login(carla)

    response = client.get(reverse("staff:case", args=[case.reference]))

    groups = [
        (g.organisation.name if g.organisation else None, g.role, g.total, g.by_status["removed"])
        for g in response.context["groups"]
    ]
    assert sorted(groups, key=str) == sorted(
        [
            ("Hoster Eins GmbH", "hosting", 2, 1),
            ("Pinboard", "site_operator", 1, 0),
            (None, "", 1, 0),
        ],
        key=str,
    )
    only_platform = client.get(
        reverse("staff:links", args=[case.reference]), {"party": platform.pk}
    )
    assert [link.host.hostname for link, _ in only_platform.context["rows"]] == [
        "i.pinboard.example"
    ]
    unrouted = client.get(reverse("staff:links", args=[case.reference]), {"party": "none"})
    assert [link.host.hostname for link, _ in unrouted.context["rows"]] == ["new.unknown.example"]


def test_hosts_page_shows_which_source_said_what(client, carla, case, hoster):
    FoundLinkFactory(case=case, host=resolved_host("img.hoster-eins.de", hoster))
    client.force_login(carla)

    content = client.get(reverse("staff:hosts", args=[case.reference])).content.decode()

    assert (
        "<td>Hosting provider</td><td>Hoster Eins GmbH</td><td>DE</td><td><code>rdap</code></td>"
        in content
    )
    assert (
        "<td>Registrar</td><td>Example Registrar</td><td>US</td><td><code>whois</code></td>"
        in content
    )
    assert "hosting in DE (rdap)" in content


# --- personal details: masked, reveal logged ----------------------------------------------------


def test_case_page_masks_personal_details(client, carla, case):
    client.force_login(carla)

    content = client.get(reverse("staff:case", args=[case.reference])).content.decode()

    assert "Alex Example" not in content
    assert "alex@example.org" not in content
    assert not CaseEvent.objects.filter(case=case, kind="person.revealed").exists()


def test_reveal_shows_details_and_logs_who_saw_what(client, carla, case):
    client.force_login(carla)

    response = client.post(reverse("staff:reveal", args=[case.reference]))
    client.post(reverse("staff:reveal", args=[case.reference]))

    assert "Alex Example" in response.content.decode()
    assert response["Cache-Control"] == "no-store, private"
    events = CaseEvent.objects.filter(case=case, kind="person.revealed")
    assert [(e.actor, e.data) for e in events] == [
        (carla, {"fields": ["email", "name"]}),
        (carla, {"fields": ["email", "name"]}),
    ]


def test_mandate_download_is_logged(client, carla, case):
    MandateFactory(case=case)
    client.force_login(carla)

    response = client.post(reverse("staff:mandate", args=[case.reference]))

    assert response.content == b"%PDF-1.7 signed mandate (test stand-in)"
    assert response["Content-Disposition"] == 'attachment; filename="TD-2026-0100-mandate.pdf"'
    event = CaseEvent.objects.get(case=case, kind="person.revealed")
    assert (event.actor, event.data) == (carla, {"fields": ["mandate"]})


def test_opening_a_case_is_audited_once_per_visit(client, carla, case, time_machine):
    time_machine.move_to(timezone.now())
    client.force_login(carla)

    client.get(reverse("staff:case", args=[case.reference]))
    client.get(reverse("staff:case", args=[case.reference]))
    time_machine.shift(timedelta(minutes=11))
    client.get(reverse("staff:case", args=[case.reference]))

    viewed = CaseEvent.objects.filter(case=case, kind="case.viewed")
    assert [(e.actor, e.visible_to_person) for e in viewed] == [(carla, False), (carla, False)]


# --- new case and intake ------------------------------------------------------------------------


def test_new_case_with_pasted_urls_reports_exact_counts(client, carla, team):
    client.force_login(carla)
    pasted = "\n".join(
        [
            "https://img.one.example/a.jpg",
            "https://IMG.one.example:443/a.jpg",  # the same URL once normalised
            "not a url",
            "https://img.two.example/b.png",
        ]
    )

    response = client.post(
        reverse("staff:new"),
        {
            "category": "intimate",
            "team": team.pk,
            "assign_to_me": "on",
            "name": "Sam Person",
            "email": "sam@example.org",
            "country": "de",
            "language": "de",
            "import-urls": pasted,
        },
    )

    case = Case.objects.get()
    page = finish_job(client, response)
    imported = Import.objects.get(case=case)
    assert page.redirect_chain[-1][0] == reverse("staff:import", args=[case.reference, imported.pk])
    assert (case.team, case.assigned_to, case.category) == (team, carla, "intimate")
    assert (case.person.name, case.person.country, case.person.language) == (
        "Sam Person",
        "DE",
        "de",
    )
    report = imported.report
    assert {k: report[k] for k in ("rows", "created", "duplicates", "invalid", "hosts")} == {
        "rows": 4,
        "created": 2,
        "duplicates": 1,
        "invalid": 1,
        "hosts": 2,
    }
    assert [e["row"] for e in report["errors"]] == [3]
    page = page.content.decode()
    assert '<dd data-field="created">2</dd>' in page
    assert '<dd data-field="duplicates">1</dd>' in page
    assert '<dd data-field="invalid">1</dd>' in page


def test_new_case_team_must_be_one_of_mine(client, carla, otto):
    client.force_login(carla)

    response = client.post(
        reverse("staff:new"), {"category": "medical", "team": otto.teams.get().pk, "language": "en"}
    )

    assert response.status_code == 200
    assert "team" in response.context["form"].errors
    assert Case.objects.count() == 0


CSV = "url,caption\nhttps://a.example/1.jpg,one\nhttps://a.example/1.jpg,dup\n,empty\nhttps://b.example/2.jpg,two\n"
JSONL = (
    '{"url": "https://a.example/1.jpg"}\n{"url": "ftp://bad.example/x"}\n'
    '{"url": "https://c.example/3.jpg"}\n'
)


@pytest.mark.parametrize(
    ("filename", "content"),
    [
        ("found.csv", CSV),
        ("found.jsonl", JSONL),
        (
            "found.txt",
            "https://a.example/1.jpg\nhttps://a.example/1.jpg\nhttps://d.example/4.jpg\n",
        ),
        ("found.tsv", "url\tcaption\nhttps://a.example/1.jpg\tx\nhttps://e.example/5.jpg\ty\n"),
    ],
)
def test_upload_gives_the_same_report_as_import_links(
    client, carla, team, tmp_path, filename, content
):
    """The web upload and the command read the same file through the same code: same report."""
    path = tmp_path / filename
    path.write_text(content)
    out = StringIO()
    call_command(
        "import_links", str(path), "--case", "TD-2026-0700", "--create", "--json", stdout=out
    )
    expected = json.loads(out.getvalue())
    # A fresh database state for the web import: the command's links would count as
    # "in other cases" otherwise.
    FoundLink.objects.all().delete()
    case = CaseFactory(reference="TD-2026-0701", team=team)
    client.force_login(carla)

    response = client.post(
        reverse("staff:import_links", args=[case.reference]),
        {"file": SimpleUploadedFile(filename, content.encode())},
    )

    finish_job(client, response)
    imported = Import.objects.get(case=case)
    assert {k: v for k, v in imported.report.items() if k != "errors"} == {
        k: v for k, v in expected.items() if k != "errors"
    }
    assert [(e["row"], e["reason"]) for e in imported.report["errors"]] == [
        (e["row"], e["reason"]) for e in expected["errors"]
    ]
    assert imported.source_name == filename


def test_upload_parquet_sample(client, carla, team):
    from tests.conftest import LAION_SAMPLE, shared_file

    data = shared_file(LAION_SAMPLE).read_bytes()
    case = CaseFactory(reference="TD-2026-0702", team=team)
    client.force_login(carla)

    finish_job(
        client,
        client.post(
            reverse("staff:import_links", args=[case.reference]),
            {"file": SimpleUploadedFile("laion.parquet", data), "dataset": "laion-5b"},
        ),
    )

    imported = Import.objects.get(case=case)
    assert (imported.format, imported.dataset, imported.report["rows"]) == (
        "parquet",
        "laion-5b",
        1000,
    )
    assert FoundLink.objects.filter(case=case).count() == imported.report["created"]


def test_upload_of_a_broken_file_imports_nothing(client, carla, team, settings):
    case = CaseFactory(reference="TD-2026-0703", team=team)
    client.force_login(carla)

    response = client.post(
        reverse("staff:import_links", args=[case.reference]),
        {
            "file": SimpleUploadedFile("found.parquet", b"PAR1 this is not parquet"),
            "format": "parquet",
        },
    )

    page = finish_job(client, response)
    assert page.context["job"].status == Job.Status.FAILED
    assert page.context["report"].endswith("(nothing was imported)")
    assert (FoundLink.objects.count(), Import.objects.count()) == (0, 0)
    # The stored upload is gone with the failed import.
    assert list(settings.TAKEDOWN_JOB_FILES_DIR.iterdir()) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"url": ' + b"[" * 50_000 + b"]" * 50_000 + b"}\n", "line 1: JSON nested too deeply"),
        (
            b'{"url": "https://a.example/x.jpg", "width": ' + b"9" * 100_000 + b"}\n",
            "line 1: a number with 100,000 digits (at most 100)",
        ),
    ],
)
def test_upload_of_a_hostile_file_shows_the_error_not_a_500(client, carla, team, content, message):
    case = CaseFactory(reference="TD-2026-0704", team=team)
    client.force_login(carla)

    response = client.post(
        reverse("staff:import_links", args=[case.reference]),
        {"file": SimpleUploadedFile("found.jsonl", content), "format": ""},
    )

    page = finish_job(client, response)
    assert page.status_code == 200
    assert page.context["report"] == f"{message} (nothing was imported)"
    assert (FoundLink.objects.count(), Import.objects.count()) == (0, 0)


def test_new_case_with_a_broken_file_leaves_the_case_without_links(client, carla, team):
    client.force_login(carla)

    response = client.post(
        reverse("staff:new"),
        {
            "category": "medical",
            "team": team.pk,
            "language": "en",
            "import-file": SimpleUploadedFile("x.parquet", b"not parquet at all"),
            "import-format": "parquet",
        },
    )

    # The case is opened in the request; the import runs in a worker and fails there whole.
    page = finish_job(client, response)
    assert page.context["report"].endswith("(nothing was imported)")
    assert (Case.objects.count(), FoundLink.objects.count(), Import.objects.count()) == (1, 0, 0)


def test_import_form_needs_exactly_one_input(client, carla, case):
    client.force_login(carla)

    empty = client.post(reverse("staff:import_links", args=[case.reference]), {})
    both = client.post(
        reverse("staff:import_links", args=[case.reference]),
        {"urls": "https://a.example/1.jpg", "file": SimpleUploadedFile("a.txt", b"x")},
    )

    assert empty.context["form"].non_field_errors() == ["Paste at least one URL or choose a file."]
    assert both.context["form"].non_field_errors() == ["Paste URLs or upload a file, not both."]


# --- actions ---------------------------------------------------------------------------------


def test_resolve_queues_the_case_hosts(client, carla, case):
    due = HostFactory(hostname="due.example", next_resolve_at=timezone.now() - timedelta(minutes=1))
    FoundLinkFactory(case=case, host=due)
    elsewhere = HostFactory(hostname="elsewhere.example")
    FoundLinkFactory(host=elsewhere)
    client.force_login(carla)

    page = finish_job(client, client.post(reverse("staff:resolve", args=[case.reference])))

    due.refresh_from_db()
    elsewhere_before = elsewhere.next_resolve_at
    elsewhere.refresh_from_db()
    # Leased: moved forward so the dispatcher does not hand it out a second time.
    assert due.next_resolve_at > timezone.now()
    assert elsewhere.next_resolve_at == elsewhere_before
    event = CaseEvent.objects.get(case=case, kind="case.resolve_requested")
    job = Job.objects.get()
    assert (event.actor, event.data) == (
        carla,
        {"hosts": 1, "domains": 1, "refresh": False, "job": job.pk},
    )
    # Handed out: the page watches until the host is resolved.
    assert (job.status, job.total, page.context["report"]) == (
        Job.Status.RUNNING,
        1,
        "0 of 1 host resolved.",
    )


def test_generate_creates_drafts_per_recipient(client, carla, case, hoster):
    host = resolved_host("img.hoster-eins.de", hoster)
    FoundLinkFactory(case=case, host=host)
    FoundLinkFactory(case=case, host=host)
    client.force_login(carla)

    page = finish_job(client, client.post(reverse("staff:generate", args=[case.reference])))

    notice = Notice.objects.get(case=case)
    assert (notice.recipient, notice.status, notice.created_by, notice.links.count()) == (
        hoster,
        Notice.Status.DRAFT,
        carla,
        2,
    )
    assert page.context["report"] == "Notices: 1 new, 0 refreshed, 0 unchanged."


def test_generate_on_a_closed_case_is_refused(client, carla, case, hoster):
    FoundLinkFactory(case=case, host=resolved_host("img.hoster-eins.de", hoster))
    transition(case, Case.Status.CLOSED)
    client.force_login(carla)

    response = client.post(reverse("staff:generate", args=[case.reference]), follow=True)

    assert Notice.objects.count() == 0
    assert [str(m) for m in response.context["messages"]] == [
        "The case is closed: reopen it first."
    ]


def test_submit_for_review(client, carla, full_case):
    case, notice, _ = full_case
    client.force_login(carla)

    client.post(reverse("staff:submit", args=[case.reference, notice.pk]))
    again = client.post(reverse("staff:submit", args=[case.reference, notice.pk]), follow=True)

    notice.refresh_from_db()
    assert notice.status == Notice.Status.IN_REVIEW
    event = CaseEvent.objects.get(notice=notice, kind="notice.in_review")
    assert event.actor == carla
    # The second submit is refused with a message, not a traceback.
    assert again.status_code == 200
    assert len([m for m in again.context["messages"] if m.level_tag == "error"]) == 1
    assert [str(m) for m in again.context["messages"]][-1] == (
        f"Notice {notice.pk} is not a draft (it is in review): it was submitted already."
    )


def test_mark_manual_submission_done(client, carla, full_case):
    case, notice, _ = full_case
    Notice.objects.filter(pk=notice.pk).update(
        status=Notice.Status.AWAITING_MANUAL, channel=Contact.Channel.WEBFORM
    )
    client.force_login(carla)

    missing = client.post(
        reverse("staff:submitted", args=[case.reference, notice.pk]),
        {"confirmation": " "},
        follow=True,
    )
    client.post(
        reverse("staff:submitted", args=[case.reference, notice.pk]), {"confirmation": "TICKET-42"}
    )

    notice.refresh_from_db()
    assert (notice.status, notice.manual_confirmation) == (Notice.Status.SENT, "TICKET-42")
    assert [str(m) for m in missing.context["messages"]] == ["This field is required."]


def test_send_approved_queues_email_notices(client, carla, full_case):
    case, notice, _ = full_case
    contact = notice.recipient.contacts.get()
    Notice.objects.filter(pk=notice.pk).update(status=Notice.Status.APPROVED, contact=contact)
    client.force_login(carla)

    response = client.post(reverse("staff:send", args=[case.reference]), follow=True)

    notice.refresh_from_db()
    assert notice.status == Notice.Status.QUEUED
    assert notice.message_id != ""
    assert [str(m) for m in response.context["messages"]] == [
        "1 notices queued for sending, 0 to submit by hand."
    ]


def test_send_approved_skips_a_notice_changed_meanwhile_and_hands_out_the_rest(
    client, carla, full_case
):
    case, notice, _ = full_case
    contact = notice.recipient.contacts.get()
    other = NoticeFactory(case=case, recipient=notice.recipient, created_by=carla)
    both = [notice.pk, other.pk]
    Notice.objects.filter(pk__in=both).update(status=Notice.Status.APPROVED, contact=contact)
    edited: list[int] = []

    def edit_the_other(sender, instance, created, **kwargs):
        # A colleague edits the other approved notice (back to draft) while this request is
        # between reading the approved notices and queueing them.
        if instance.kind == "notice.queued" and instance.notice_id in both and not edited:
            edited.append(next(pk for pk in both if pk != instance.notice_id))
            edit(Notice.objects.get(pk=edited[0]), carla, subject="Changed meanwhile")

    client.force_login(carla)
    post_save.connect(edit_the_other, sender=CaseEvent)
    try:
        before = timezone.now()
        response = client.post(reverse("staff:send", args=[case.reference]), follow=True)
    finally:
        post_save.disconnect(edit_the_other, sender=CaseEvent)

    (queued_pk,) = set(both) - set(edited)
    queued, changed = Notice.objects.get(pk=queued_pk), Notice.objects.get(pk=edited[0])
    assert (queued.status, changed.status) == (Notice.Status.QUEUED, Notice.Status.DRAFT)
    # Handed to the workers: leased past the next dispatch.
    assert queued.next_attempt_at >= before + DISPATCH_LEASE
    assert [str(m) for m in response.context["messages"]] == [
        "1 notices queued for sending, 0 to submit by hand."
    ]


def test_notice_page_shows_element_check_and_text(client, carla, full_case):
    case, notice, _ = full_case
    Notice.objects.filter(pk=notice.pk).update(element_check={"missing": ["signature"]})
    client.force_login(carla)

    response = client.get(reverse("staff:notice", args=[case.reference, notice.pk]))

    assert response.context["missing"] == ["signature"]
    assert response.context["rendered"].subject != ""
    assert "https://img.hoster-eins.de/" in response.context["rendered"].text


def test_notice_pdf_preview(client, carla, full_case):
    case, notice, _ = full_case
    client.force_login(carla)

    response = client.get(reverse("staff:notice_pdf", args=[case.reference, notice.pk]))

    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert response["Content-Disposition"] == (
        f'inline; filename="{case.reference}-notice-{notice.pk}.pdf"'
    )


def sent(notice):
    Notice.objects.filter(pk=notice.pk).update(
        status=Notice.Status.SENT,
        sent_at=timezone.now(),
        due_at=timezone.now() + timedelta(days=30),
    )
    notice.refresh_from_db()
    return notice


def test_record_reply(client, carla, full_case):
    case, notice, _ = full_case
    sent(notice)
    client.force_login(carla)

    client.post(
        reverse("staff:reply", args=[case.reference, notice.pk]),
        {"outcome": "complied", "text": "We removed the files."},
    )

    notice.refresh_from_db()
    assert (notice.reply_outcome, notice.reply_text) == ("complied", "We removed the files.")
    event = CaseEvent.objects.get(case=case, kind="notice.reply")
    assert (event.actor, event.data["outcome"]) == (carla, "complied")


def test_record_reply_with_extension(client, carla, full_case):
    case, notice, _ = full_case
    sent(notice)
    client.force_login(carla)
    until = (timezone.localdate() + timedelta(days=40)).isoformat()

    client.post(
        reverse("staff:reply", args=[case.reference, notice.pk]),
        {"outcome": "pending", "text": "We need more time.", "extension_until": until},
    )

    notice.refresh_from_db()
    assert notice.extended_until is not None
    assert timezone.localtime(notice.extended_until).date().isoformat() == until


def test_record_reply_refusal_by_the_domain_is_a_message(client, carla, full_case):
    case, notice, _ = full_case  # still a draft: it has no replies
    client.force_login(carla)

    response = client.post(
        reverse("staff:reply", args=[case.reference, notice.pk]),
        {"outcome": "complied", "text": "ok"},
        follow=True,
    )

    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == [
        f"notice {notice.pk} is “Draft”: only a sent notice has replies"
    ]
    assert not CaseEvent.objects.filter(kind="notice.reply").exists()


def test_change_ladder(client, carla, case):
    client.force_login(carla)

    client.post(
        reverse("staff:ladder", args=[case.reference]), {"roles": "hosting, registrar, dpa"}
    )
    bad = client.post(
        reverse("staff:ladder", args=[case.reference]), {"roles": "hosting, bogus"}, follow=True
    )

    case.refresh_from_db()
    assert case.escalation_ladder == ["hosting", "registrar", "dpa"]
    errors = [str(m) for m in bad.context["messages"] if m.level_tag == "error"]
    assert len(errors) == 1 and errors[0].startswith("unknown ladder step 'bogus'")


def test_close_case_with_reason(client, carla, full_case):
    case, notice, _ = full_case
    client.force_login(carla)

    no_reason = client.post(
        reverse("staff:close", args=[case.reference]), {"reason": ""}, follow=True
    )
    asked = client.post(
        reverse("staff:close", args=[case.reference]), {"reason": "Person withdrew."}
    )
    # Nothing happens before the caseworker has seen what closing cancels.
    case.refresh_from_db()
    assert case.status == Case.Status.OPEN
    assert asked.context["consequences"][0] == "1 notice not sent yet will be cancelled."
    closed = client.post(
        reverse("staff:close", args=[case.reference]),
        {"reason": "Person withdrew.", "confirm": "1"},
        follow=True,
    )

    case.refresh_from_db()
    notice.refresh_from_db()
    assert (case.status, case.close_reason) == (Case.Status.CLOSED, "Person withdrew.")
    assert notice.status == Notice.Status.CANCELLED
    assert [str(m) for m in no_reason.context["messages"]] == ["This field is required."]
    assert [str(m) for m in closed.context["messages"]] == [
        "Case closed; 1 unsent notice was cancelled."
    ]
    # A closed case offers only reopening.
    page = closed.content.decode()
    assert "Reopen case" in page
    assert "Generate notices" not in page and "Close case" not in page


def test_reopen_a_closed_case_with_a_reason(client, carla, case):
    transition(case, Case.Status.CLOSED, fields={"close_reason": "done"})
    client.force_login(carla)

    no_reason = client.post(
        reverse("staff:reopen", args=[case.reference]), {"reason": ""}, follow=True
    )
    reopened = client.post(
        reverse("staff:reopen", args=[case.reference]), {"reason": "Found again"}, follow=True
    )
    again = client.post(
        reverse("staff:reopen", args=[case.reference]), {"reason": "twice"}, follow=True
    )

    case.refresh_from_db()
    assert [str(m) for m in no_reason.context["messages"]] == ["This field is required."]
    assert (case.status, case.close_reason, case.closed_at) == (Case.Status.OPEN, "", None)
    assert [str(m) for m in reopened.context["messages"]] == [
        "Case reopened: its links are checked and notices can be generated again."
    ]
    assert [str(m) for m in again.context["messages"]] == [
        "The case is not closed or withdrawn: there is nothing to reopen."
    ]
    event = CaseEvent.objects.get(case=case, kind="case.open")
    assert (event.actor, event.message) == (carla, "Reopened: Found again")


def test_queue_keeps_a_closed_case_the_person_waits_on(client, carla, team):
    quiet = CaseFactory(reference="TD-2026-0201", team=team)
    asked = CaseFactory(reference="TD-2026-0202", team=team)
    wrote = CaseFactory(reference="TD-2026-0203", team=team)
    request_deletion(asked)
    send_message(wrote, "Please call me")
    for case in (quiet, asked, wrote):
        transition(case, Case.Status.WITHDRAWN)
    client.force_login(carla)

    shown = client.get(reverse("staff:queue"))
    rows = [case.reference for case in shown.context["page"].object_list]

    assert rows == ["TD-2026-0203", "TD-2026-0202"]
    # Handled: it leaves the queue.
    DeletionRequest.objects.filter(case=asked).update(handled_at=timezone.now())
    PortalMessage.objects.filter(case=wrote).update(read_at=timezone.now())
    again = client.get(reverse("staff:queue"))
    assert list(again.context["page"].object_list) == []


def test_home_sends_reviewers_to_their_dashboard(client):
    rita = UserFactory(username="rita")
    rita.groups.add(Group.objects.get(name="reviewer"))
    client.force_login(rita)

    assert client.get("/")["Location"] == reverse("review:index")


# --- the affected person's portal link --------------------------------------------------------


def token_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def test_portal_link_is_shown_once_and_stored_only_as_its_hash(client, carla, case, caplog):
    caplog.set_level(logging.DEBUG)
    client.force_login(carla)

    response = client.post(reverse("staff:portal_link", args=[case.reference]), {"days": "10"})

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store, private"
    url = response.context["url"]
    token = token_of(url)
    assert len(token) >= 43
    assert f'value="{url}"' in response.content.decode()
    access = PortalAccess.objects.get(case=case)
    assert access.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert access.expires_at - access.created_at == timedelta(days=10)
    assert access.created_by == carla
    # Nowhere else: not in the audit trail, the session, the message cookie or a log line.
    event = CaseEvent.objects.get(case=case, kind="portal.link_issued")
    assert token not in event.message + json.dumps(event.data)
    assert token not in str(dict(client.session.items()))
    assert all(token not in morsel.value for morsel in client.cookies.values())
    assert all(token not in record.getMessage() for record in caplog.records)
    # The case page says a link is active and until when, and does not show it again.
    page = client.get(reverse("staff:case", args=[case.reference]))
    status = page.content.decode()
    assert token not in status
    assert page.context["portal_access"] == access
    assert f"Works until {timezone.localtime(access.expires_at):%Y-%m-%d %H:%M}." in status


def test_portal_link_default_days_from_the_setting(client, carla, case, settings):
    settings.TAKEDOWN_PORTAL_LINK_DAYS = 7
    client.force_login(carla)

    client.post(reverse("staff:portal_link", args=[case.reference]), {"days": ""})

    access = PortalAccess.objects.get(case=case)
    assert access.expires_at - access.created_at == timedelta(days=7)


def test_portal_link_without_email_is_refused_with_a_message(client, carla, case):
    case.person.email = ""
    case.person.save()
    client.force_login(carla)

    response = client.post(reverse("staff:portal_link", args=[case.reference]), follow=True)

    assert response.redirect_chain == [(reverse("staff:case", args=[case.reference]), 302)]
    [message] = [str(m) for m in response.context["messages"]]
    assert message.startswith("The affected person has no e-mail address on file")
    assert not PortalAccess.objects.filter(case=case).exists()


def test_portal_link_days_out_of_range_is_refused(client, carla, case):
    client.force_login(carla)

    response = client.post(
        reverse("staff:portal_link", args=[case.reference]), {"days": "400"}, follow=True
    )

    assert [str(m) for m in response.context["messages"]] == [
        "Ensure this value is less than or equal to 365."
    ]
    assert not PortalAccess.objects.exists()


def test_portal_link_revoke_stops_the_link(client, carla, case):
    from takedown.web.portal.access import access_for_token

    client.force_login(carla)
    url = client.post(reverse("staff:portal_link", args=[case.reference])).context["url"]

    asked = client.post(reverse("staff:portal_revoke", args=[case.reference]))
    assert access_for_token(token_of(url)) is not None  # not before the question is answered
    assert asked.context["consequences"][0] == (
        "The person can no longer open the portal with the link they have."
    )
    response = client.post(
        reverse("staff:portal_revoke", args=[case.reference]), {"confirm": "1"}, follow=True
    )
    again = client.post(
        reverse("staff:portal_revoke", args=[case.reference]), {"confirm": "1"}, follow=True
    )

    assert access_for_token(token_of(url)) is None
    assert PortalAccess.objects.get(case=case).revoked_at is not None
    assert [str(m) for m in response.context["messages"]] == [
        "1 portal link revoked: it no longer opens the portal."
    ]
    assert [str(m) for m in again.context["messages"]] == ["The case had no portal link to revoke."]
    assert response.context["portal_access"] is None
    assert "No active link." in response.content.decode()
    assert CaseEvent.objects.get(case=case, kind="portal.link_revoked").actor == carla


def test_portal_link_new_one_replaces_the_old(client, carla, case):
    from takedown.web.portal.access import access_for_token

    client.force_login(carla)
    first = client.post(reverse("staff:portal_link", args=[case.reference])).context["url"]
    second = client.post(reverse("staff:portal_link", args=[case.reference])).context["url"]

    assert access_for_token(token_of(first)) is None
    assert access_for_token(token_of(second)).case == case


# --- the person's messages and deletion requests ------------------------------------------------


def test_messages_page_shows_the_persons_messages_and_marks_them_read(client, carla, case):
    send_message(case, "Is the photo on img.example gone?")
    send_message(case, "Thank you.")
    client.force_login(carla)

    page = client.get(reverse("staff:messages", args=[case.reference]))
    overview = client.get(reverse("staff:case", args=[case.reference]))
    read = client.post(reverse("staff:messages_read", args=[case.reference]), follow=True)

    text = page.content.decode()
    assert [m.body for m in page.context["page"].object_list] == [
        "Thank you.",
        "Is the photo on img.example gone?",
    ]
    assert page.context["unread"] == 2
    assert "Is the photo on img.example gone?" in text
    assert overview.context["unread_messages"] == 2
    assert "2 unread" in overview.content.decode()
    assert read.redirect_chain == [(reverse("staff:messages", args=[case.reference]), 302)]
    assert [str(m) for m in read.context["messages"]] == ["2 messages marked as read."]
    assert set(PortalMessage.objects.values_list("read_by", flat=True)) == {carla.pk}
    assert read.context["unread"] == 0
    assert CaseEvent.objects.get(case=case, kind="portal.messages_read").data == {"count": 2}


def test_deletion_request_is_marked_handled_with_a_note(client, carla, case):
    request = request_deletion(case)
    client.force_login(carla)
    url = reverse("staff:deletion_handled", args=[case.reference, request.pk])

    overview = client.get(reverse("staff:case", args=[case.reference]))
    no_note = client.post(url, {"note": "  "}, follow=True)
    handled = client.post(url, {"note": "Details deleted; sent notices kept."}, follow=True)
    twice = client.post(url, {"note": "again"}, follow=True)

    assert overview.context["open_deletions"] == 1
    assert [str(m) for m in no_note.context["messages"]] == ["This field is required."]
    request.refresh_from_db()
    assert request.handled_by == carla
    assert request.handled_at is not None
    assert [str(m) for m in handled.context["messages"]] == ["Deletion request marked as handled."]
    assert [str(m) for m in twice.context["messages"]] == [
        "This deletion request was already handled."
    ]
    [event] = CaseEvent.objects.filter(case=case, kind="portal.deletion_handled")
    assert (event.actor, event.message, event.visible_to_person) == (
        carla,
        "Deletion request handled: Details deleted; sent notices kept.",
        False,
    )


def test_deletion_request_of_another_case_cannot_be_handled(client, carla, case, team):
    other = CaseFactory(reference="TD-2026-0199", team=team)
    request = request_deletion(other)
    client.force_login(carla)

    response = client.post(
        reverse("staff:deletion_handled", args=[case.reference, request.pk]),
        {"note": "done"},
        follow=True,
    )

    assert [str(m) for m in response.context["messages"]] == [
        "This deletion request was already handled."
    ]
    request.refresh_from_db()
    assert request.handled_at is None


def test_queue_shows_unread_messages_and_deletion_requests(client, carla, case):
    send_message(case, "one")
    send_message(case, "two")
    request_deletion(case)
    client.force_login(carla)

    response = client.get(reverse("staff:queue"))

    [row] = response.context["page"].object_list
    assert (row.unread_messages, row.deletion_requested) == (2, True)
    text = response.content.decode()
    assert "2 unread messages" in text
    assert "deletion requested" in text


# --- links that need a look, legal steps, checks on demand ---------------------------------------


def flagged_link(case, **fields):
    link = FoundLinkFactory(
        case=case,
        needs_review=True,
        last_verdict="online_changed",
        last_checked_at=timezone.now(),
        **fields,
    )
    old = LinkCheck.objects.create(link=link, verdict="online_same", reason="same image")
    old.checked_at = timezone.now() - timedelta(days=1)
    old.save()
    LinkCheck.objects.create(
        link=link,
        verdict="online_changed",
        reason="an image, but a different one (pHash distance 31)",
        final_url="https://img.example/placeholder.jpg",
    )
    return link


def test_case_page_lists_links_that_need_a_look_with_their_last_check(client, carla, case):
    link = flagged_link(case)
    FoundLinkFactory(case=case)
    client.force_login(carla)

    response = client.get(reverse("staff:case", args=[case.reference]))

    assert response.context["review_total"] == 1
    [row] = response.context["review_links"]
    assert (row.pk, row.check_verdict, row.check_reason) == (
        link.pk,
        "online_changed",
        "an image, but a different one (pHash distance 31)",
    )
    text = response.content.decode()
    assert "an image, but a different one (pHash distance 31)" in text
    assert "https://img.example/placeholder.jpg" in text
    assert reverse("staff:link_reviewed", args=[case.reference, link.pk]) in text


def test_link_reviewed_clears_the_flag_and_records_an_event(client, carla, case):
    link = flagged_link(case)
    client.force_login(carla)
    url = reverse("staff:link_reviewed", args=[case.reference, link.pk])

    first = client.post(url, {"note": "placeholder image: removed in effect"}, follow=True)
    second = client.post(url, follow=True)

    link.refresh_from_db()
    assert link.needs_review is False
    assert [str(m) for m in first.context["messages"]] == [f"Link {link.pk} marked as looked at."]
    assert [str(m) for m in second.context["messages"]] == [
        "This link does not need a look (any more)."
    ]
    [event] = CaseEvent.objects.filter(case=case, kind="link.reviewed")
    assert (event.actor, event.link, event.data) == (
        carla,
        link,
        {"link": link.pk, "verdict": "online_changed"},
    )
    assert event.message.endswith(": placeholder image: removed in effect")
    assert first.context["review_links"] == []


def test_link_reviewed_of_another_case_is_refused(client, carla, case, team):
    other = CaseFactory(reference="TD-2026-0198", team=team)
    link = flagged_link(other)
    client.force_login(carla)

    response = client.post(
        reverse("staff:link_reviewed", args=[case.reference, link.pk]), follow=True
    )

    link.refresh_from_db()
    assert link.needs_review is True
    assert [str(m) for m in response.context["messages"]] == [
        "This link does not need a look (any more)."
    ]


def test_decision_queue_has_flagged_links_and_open_legal_steps(client, carla, team, hoster):
    flagged = CaseFactory(reference="TD-2026-0501", team=team)
    flagged_link(flagged)
    legal = CaseFactory(reference="TD-2026-0502", team=team)
    notice = NoticeFactory(case=legal, recipient=hoster, status=Notice.Status.SENT)
    task = record_event(legal, "task.manual_legal_step", message="Court?", notice=notice)
    done = CaseFactory(reference="TD-2026-0503", team=team)
    finished = record_event(done, "task.manual_legal_step", message="Police?")
    record_event(done, "task.manual_legal_step_done", data={"task": finished.pk})
    CaseFactory(reference="TD-2026-0504", team=team)
    client.force_login(carla)

    response = client.get(reverse("staff:queue") + "?view=decision")

    assert sorted(c.reference for c in response.context["page"].object_list) == [
        "TD-2026-0501",
        "TD-2026-0502",
    ]
    assert response.context["counts"]["decision"] == 2
    text = response.content.decode()
    assert "links to look at" in text and "legal step" in text
    page = client.get(reverse("staff:case", args=[legal.reference]))
    assert [t.pk for t in page.context["manual_tasks"]] == [task.pk]


def test_manual_legal_step_done_needs_a_note_and_leaves_the_queue(client, carla, team):
    case = CaseFactory(reference="TD-2026-0505", team=team)
    task = record_event(case, "task.manual_legal_step", message="Consider an injunction.")
    client.force_login(carla)
    url = reverse("staff:task_done", args=[case.reference, task.pk])

    no_note = client.post(url, {"note": ""}, follow=True)
    done = client.post(url, {"note": "Lawyer engaged, injunction filed."}, follow=True)
    twice = client.post(url, {"note": "again"}, follow=True)

    assert [str(m) for m in no_note.context["messages"]] == ["This field is required."]
    assert [str(m) for m in done.context["messages"]] == ["Legal step marked as done."]
    assert [str(m) for m in twice.context["messages"]] == [
        "This legal step is already marked done."
    ]
    [event] = CaseEvent.objects.filter(case=case, kind="task.manual_legal_step_done")
    assert (event.actor, event.data, event.message) == (
        carla,
        {"task": task.pk},
        "Manual legal step done: Lawyer engaged, injunction filed.",
    )
    assert done.context["manual_tasks"] == []
    queue = client.get(reverse("staff:queue") + "?view=decision")
    assert list(queue.context["page"].object_list) == []


def test_check_links_now_leases_the_case_links_for_the_workers(
    client, carla, case, django_capture_on_commit_callbacks
):
    host = HostFactory(hostname="img.check.example")
    links = [FoundLinkFactory(case=case, host=host) for _ in range(3)]
    excluded = FoundLinkFactory(case=case, host=host, status=FoundLink.Status.EXCLUDED)
    elsewhere = FoundLinkFactory(host=host)
    client.force_login(carla)
    before = timezone.now()

    response = client.post(reverse("staff:recheck", args=[case.reference]))
    with django_capture_on_commit_callbacks() as callbacks:
        page = finish_job(client, response)

    # Leased: moved to the lease's end, so the dispatcher does not hand them out again.
    leased = FoundLink.objects.filter(pk__in=[link.pk for link in links])
    assert all(link.next_check_at > before for link in leased)
    excluded.refresh_from_db()
    elsewhere.refresh_from_db()
    assert (excluded.next_check_at, elsewhere.next_check_at) == (None, None)
    assert len(callbacks) == 1  # one recheck task: the three links of one host
    event = CaseEvent.objects.get(case=case, kind="case.recheck_requested")
    job = Job.objects.get()
    assert (event.actor, event.data) == (carla, {"due": 3, "queued": 3, "tasks": 1, "job": job.pk})
    assert page.context["report"] == "0 of 3 links checked."
    # The recheck tasks check the links; the job's page counts them and ends with the report.
    leased.update(last_checked_at=timezone.now())
    done = client.get(job_url(job))
    assert (done.context["job"].status, done.context["report"]) == (
        Job.Status.DONE,
        "3 links checked.",
    )


def test_check_links_now_on_a_paused_case_is_refused(client, carla, case):
    FoundLinkFactory(case=case)
    transition(case, Case.Status.PAUSED)
    client.force_login(carla)

    response = client.post(reverse("staff:recheck", args=[case.reference]), follow=True)

    assert [str(m) for m in response.context["messages"]] == [
        "The case is paused: its links are not checked."
    ]
    assert FoundLink.objects.get(case=case).next_check_at is None
    assert not CaseEvent.objects.filter(kind="case.recheck_requested").exists()


SHA = "ab" * 32


def test_reference_hashes_upload_stores_them_on_the_links(client, carla, case):
    link = FoundLinkFactory(case=case, url="https://img.hashes.example/a.jpg")
    client.force_login(carla)
    upload = SimpleUploadedFile(
        "hashes.csv", f"url,sha256,phash\nHTTPS://IMG.hashes.example/a.jpg,{SHA},\n".encode()
    )

    response = client.post(
        reverse("staff:reference_hashes", args=[case.reference]), {"file": upload}, follow=True
    )

    link.refresh_from_db()
    assert (link.ref_sha256, link.ref_phash) == (SHA, "")
    assert [str(m) for m in response.context["messages"]] == ["Reference hashes stored for 1 link."]
    assert CaseEvent.objects.get(case=case, kind="links.reference_hashes").actor == carla


def test_reference_hashes_with_a_bad_row_store_nothing(client, carla, case):
    good = FoundLinkFactory(case=case, url="https://img.hashes.example/a.jpg")
    client.force_login(carla)
    upload = SimpleUploadedFile(
        "hashes.csv",
        (
            f"url,sha256\nhttps://img.hashes.example/a.jpg,{SHA}\n"
            f"https://img.hashes.example/unknown.jpg,{SHA}\n"
        ).encode(),
    )

    response = client.post(
        reverse("staff:reference_hashes", args=[case.reference]), {"file": upload}, follow=True
    )

    good.refresh_from_db()
    assert good.ref_sha256 == ""
    assert [str(m) for m in response.context["messages"]] == [
        "Nothing was stored: 1 row cannot be used. row 3: no such link in this case"
    ]


# --- roles: the admin group keeps every permission ---------------------------------------------


def admin_codenames() -> set[tuple[str, str]]:
    return set(
        Group.objects.get(name="admin").permissions.values_list(
            "content_type__app_label", "codename"
        )
    )


def every_codename() -> set[tuple[str, str]]:
    return set(
        Permission.objects.filter(content_type__app_label__in=["takedown", "auth"]).values_list(
            "content_type__app_label", "codename"
        )
    )


def test_admin_group_has_every_takedown_and_auth_permission():
    codenames = admin_codenames()

    assert codenames == every_codename()
    # Models added after migration 0005_web (the portal's, 0006) are included.
    assert {("takedown", "view_portalmessage"), ("takedown", "change_deletionrequest")} <= codenames


def test_admin_permissions_are_granted_again_after_migrate():
    admin = Group.objects.get(name="admin")
    # As after 0005_web alone: the portal models' permissions neither granted nor created.
    portal = Permission.objects.filter(codename__endswith="portalmessage")
    admin.permissions.remove(*portal)
    portal.delete()
    admin.permissions.remove(*Permission.objects.filter(codename="add_user"))
    assert ("takedown", "view_portalmessage") not in admin_codenames()

    call_command("migrate", verbosity=0)

    assert admin_codenames() == every_codename()
    assert ("takedown", "view_portalmessage") in admin_codenames()
    assert ("auth", "add_user") in admin_codenames()


def test_pasted_16k_url_is_imported_and_shown_whole(client, carla, case):
    from tests.test_import_links import _signed_cdn_url

    url = _signed_cdn_url(16_000, host="bücher.example")
    client.force_login(carla)

    response = client.post(reverse("staff:import_links", args=[case.reference]), {"urls": url})
    finish_job(client, response)
    page = client.get(reverse("staff:links", args=[case.reference])).content.decode()

    link = case.links.get()
    assert link.url == url.replace("bücher.example", "xn--bcher-kva.example")
    assert escape(link.url) in page
    # The host in both forms: what a person reads and what is stored.
    assert "bücher.example (xn--bcher-kva.example)" in page


def test_never_reachable_link_is_shown_as_such_with_its_sentence(client, carla, case):
    FoundLinkFactory(case=case, status=FoundLink.Status.NEVER_REACHABLE, last_verdict="removed")
    FoundLinkFactory(case=case, status=FoundLink.Status.REMOVED, last_verdict="removed")
    client.force_login(carla)

    links = client.get(reverse("staff:links", args=[case.reference])).content.decode()
    page = client.get(reverse("staff:case", args=[case.reference])).content.decode()

    assert links.count('<span class="badge">Never reachable (never seen online)</span>') == 1
    assert links.count('<span class="badge">Removed</span>') == 1
    for html in (links, page):
        assert "Never reachable: every check found the address gone" in html
    assert "never_reachable 1" in page


def _raising(exc: Exception):
    def step(*args, **kwargs):
        raise exc

    return step


def test_staff_action_programming_error_propagates_instead_of_a_message(
    client, carla, case, monkeypatch
):
    # A ValueError inside a domain function is a bug: it must reach the error page and the log,
    # not become a flash message that tells the caseworker "try again".
    link = flagged_link(case)
    monkeypatch.setattr(
        "takedown.web.staff.actions.clear_link_review", _raising(ValueError("a bug"))
    )
    client.force_login(carla)

    with pytest.raises(ValueError, match="a bug"):
        client.post(reverse("staff:link_reviewed", args=[case.reference, link.pk]))

    link.refresh_from_db()
    assert link.needs_review is True


def test_portal_link_programming_error_propagates_instead_of_a_message(
    client, carla, case, monkeypatch
):
    monkeypatch.setattr(
        "takedown.web.portal.access.issue_portal_link", _raising(ValueError("a bug"))
    )
    client.force_login(carla)

    with pytest.raises(ValueError, match="a bug"):
        client.post(reverse("staff:portal_link", args=[case.reference]), {"days": "10"})


def test_staff_action_refusal_from_any_domain_module_is_a_message(client, carla, case, monkeypatch):
    # The deadline clock is not one of the modules the view knows by name: the common parent is
    # what turns its refusal into a message.
    link = flagged_link(case)
    monkeypatch.setattr(
        "takedown.web.staff.actions.clear_link_review",
        _raising(DeadlineError("the law allows no extension")),
    )
    client.force_login(carla)

    response = client.post(
        reverse("staff:link_reviewed", args=[case.reference, link.pk]), follow=True
    )

    assert response.redirect_chain == [(reverse("staff:case", args=[case.reference]), 302)]
    assert [str(m) for m in response.context["messages"]] == ["the law allows no extension"]


def test_staff_action_refusal_without_words_says_not_possible(client, carla, case, monkeypatch):
    link = flagged_link(case)
    monkeypatch.setattr(
        "takedown.web.staff.actions.clear_link_review", _raising(StaffActionError())
    )
    client.force_login(carla)

    response = client.post(
        reverse("staff:link_reviewed", args=[case.reference, link.pk]), follow=True
    )

    assert [str(m) for m in response.context["messages"]] == ["That is not possible right now."]


def test_refusals_share_one_parent_and_none_is_a_value_error():
    refusals = [
        BadTarget,
        ConcurrentChange,
        ContactError,
        DeadlineError,
        DirectoryImportError,
        EscalationError,
        IntakeError,
        PortalError,
        ReferenceHashError,
        ReleaseError,
        ReviewError,
        SendError,
        StaffActionError,
        TransitionNotAllowed,
    ]
    assert [r.__name__ for r in refusals if not issubclass(r, NotPossible)] == []
    assert [r.__name__ for r in refusals if issubclass(r, ValueError)] == []


# --- search and CSV ---------------------------------------------------------------------------


def test_queue_search_finds_partial_reference_host_and_url_fragment(client, carla, team):
    one = CaseFactory(reference="TD-2026-0311", team=team)
    two = CaseFactory(reference="TD-2026-0422", team=team)
    FoundLinkFactory(
        case=one,
        host=HostFactory(hostname="img.picshare-demo.com"),
        url="https://img.picshare-demo.com/u/holiday-77.jpg",
    )
    FoundLinkFactory(
        case=two,
        host=HostFactory(hostname="cdn.other.example"),
        url="https://cdn.other.example/x/beach.png",
    )
    client.force_login(carla)

    def found(query):
        page = client.get(reverse("staff:queue"), {"q": query, "status": "all"})
        return [case.reference for case in page.context["page"].object_list]

    assert found("0311") == ["TD-2026-0311"]
    assert found("picshare") == ["TD-2026-0311"]
    assert found("beach.png") == ["TD-2026-0422"]
    assert found("/u/holiday") == ["TD-2026-0311"]
    assert found("nowhere-xyz") == []


def test_links_filter_by_url_and_export_as_csv(client, carla, case):
    host = HostFactory(hostname="img.csv.example")
    FoundLinkFactory(case=case, host=host, url="https://img.csv.example/a/one.jpg")
    FoundLinkFactory(
        case=case,
        host=host,
        url="https://img.csv.example/=HYPERLINK(1).jpg",
        status=FoundLink.Status.REMOVED,
    )
    FoundLinkFactory(case=case, host=host, url="https://img.csv.example/b/two.jpg")
    client.force_login(carla)

    page = client.get(reverse("staff:links", args=[case.reference]), {"url": "/a/"})
    export = client.get(
        reverse("staff:links", args=[case.reference]), {"status": "removed", "export": "csv"}
    )

    assert [link.url for link, _party in page.context["rows"]] == [
        "https://img.csv.example/a/one.jpg"
    ]
    assert export["Content-Type"] == "text/csv; charset=utf-8"
    lines = export.content.decode().splitlines()
    assert lines[0] == "url,host,status,last_verdict,last_checked_at,dataset,entry_id"
    assert lines[1:] == ["https://img.csv.example/=HYPERLINK(1).jpg,img.csv.example,removed,,,,"]


def test_notices_export_as_csv_with_outcome(client, carla, full_case):
    case, notice, _ = full_case
    Notice.objects.filter(pk=notice.pk).update(outcome="complied")
    client.force_login(carla)

    export = client.get(reverse("staff:notices_csv", args=[case.reference]))

    lines = export.content.decode().splitlines()
    assert lines[0] == "notice,recipient,role,regime,status,sent_at,due_at,outcome,reply,links"
    assert lines[1] == f"{notice.pk},{notice.recipient.name},hosting,gdpr,draft,,,complied,,3"


# --- editing a draft ------------------------------------------------------------------------------


def test_edit_draft_runs_the_element_check_and_keeps_the_due_date_a_placeholder(
    client, carla, full_case
):
    case, notice, _ = full_case
    client.force_login(carla)
    url = reverse("staff:edit_notice", args=[case.reference, notice.pk])

    form = client.get(url)
    original = form.context["form"].initial["body_text"]
    saved = client.post(
        url, {"subject": "Removal request", "body_text": "Please remove the images."}, follow=True
    )

    notice.refresh_from_db()
    missing = notice.element_check["missing"]
    assert (notice.subject, notice.body_text) == ("Removal request", "Please remove the images.")
    assert len(missing) >= 1
    assert [str(m) for m in saved.context["messages"]] == [
        f"Saved. The element check finds {len(missing)} elements missing: {', '.join(missing)}."
        if len(missing) > 1
        else f"Saved. The element check finds 1 element missing: {missing[0]}."
    ]
    assert saved.context["missing"] == missing
    assert original.strip() != ""
    assert CaseEvent.objects.filter(case=case, kind="notice.edited").count() == 1


def test_a_sent_notice_cannot_be_edited(client, carla, full_case):
    case, notice, _ = full_case
    Notice.objects.filter(pk=notice.pk).update(status=Notice.Status.SENT)
    client.force_login(carla)

    response = client.post(
        reverse("staff:edit_notice", args=[case.reference, notice.pk]),
        {"subject": "x", "body_text": "y"},
        follow=True,
    )

    notice.refresh_from_db()
    assert notice.body_text == ""
    assert [str(m) for m in response.context["messages"]] == [
        "This notice can no longer be edited: it is on its way."
    ]


# --- the escalation ladder as a list of named steps -------------------------------------------


@pytest.mark.parametrize(
    ("op", "step", "expected"),
    [
        ("up", "cdn", ["site_operator", "cdn", "hosting", "registrar", "dpa", "manual"]),
        (
            "down",
            "site_operator",
            ["hosting", "site_operator", "cdn", "registrar", "dpa", "manual"],
        ),
        ("remove", "dpa", ["site_operator", "hosting", "cdn", "registrar", "manual"]),
        ("up", "site_operator", ["site_operator", "hosting", "cdn", "registrar", "dpa", "manual"]),
        ("down", "manual", ["site_operator", "hosting", "cdn", "registrar", "dpa", "manual"]),
    ],
)
def test_changed_ladder_moves_and_removes(op, step, expected):
    from takedown.web.staff.ladder import changed_ladder

    default = ["site_operator", "hosting", "cdn", "registrar", "dpa", "manual"]

    assert changed_ladder(default, op, step) == expected


def test_added_step_goes_before_the_manual_step():
    from takedown.web.staff.ladder import changed_ladder

    assert changed_ladder(["hosting", "manual"], "add", "dpa") == ["hosting", "dpa", "manual"]
    assert changed_ladder(["hosting"], "add", "manual") == ["hosting", "manual"]
    assert changed_ladder(["hosting"], "add", "bogus") == ["hosting"]


def test_ladder_buttons_save_the_ladder_with_names(client, carla, case):
    client.force_login(carla)
    url = reverse("staff:ladder_step", args=[case.reference])

    client.post(url, {"op": "remove", "step": "cdn"})
    response = client.post(url, {"op": "up", "step": "registrar"}, follow=True)

    case.refresh_from_db()
    assert case.escalation_ladder == ["site_operator", "registrar", "hosting", "dpa", "manual"]
    assert [str(m) for m in response.context["messages"]][-1] == (
        "Escalation ladder saved: Site operator → Registrar → Hosting provider → "
        "Complaint to the data-protection authority → Manual legal step (court, police, lawyer)."
    )
    page = response.content.decode()
    assert 'data-step="registrar"' in page and "Add a step" in page


def test_a_refused_transition_reads_as_words_not_codes(client, carla, full_case, monkeypatch):
    case, notice, _ = full_case

    def refuse(*args, **kwargs):
        raise TransitionNotAllowed("Notice: draft -> in_review is not allowed")

    monkeypatch.setattr("takedown.web.staff.views.submit_for_review", refuse)
    client.force_login(carla)

    response = client.post(reverse("staff:submit", args=[case.reference, notice.pk]), follow=True)

    assert [str(m) for m in response.context["messages"]] == [
        "Nothing was done: this step is not possible any more (perhaps it was done already). "
        "The page shows the current state."
    ]


def test_a_notice_with_many_links_is_rendered_by_a_job(client, carla, full_case, monkeypatch):
    case, notice, _ = full_case
    monkeypatch.setattr("takedown.web.staff.views.RENDER_INLINE_LINKS", 2)
    client.force_login(carla)

    response = client.get(reverse("staff:notice_pdf", args=[case.reference, notice.pk]))
    page = finish_job(client, response)
    job = page.context["job"]
    pdf = client.get(reverse("staff:job_output", args=[case.reference, job.pk]))

    assert (job.kind, job.status, job.notice_id) == (Job.Kind.RENDER, Job.Status.DONE, notice.pk)
    assert page.context["report"] == "The notice's PDF is ready."
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert job.result == {"bytes": len(pdf.content)}
    # Stored encrypted: the PDF lists the person's images.
    assert b"%PDF-" not in output_path(job).read_bytes()


def test_exclude_links_asks_first_then_excludes(client, carla, case):
    links = [FoundLinkFactory(case=case) for _ in range(3)]
    removed = FoundLinkFactory(case=case, status=FoundLink.Status.REMOVED)
    client.force_login(carla)
    url = reverse("staff:exclude_links", args=[case.reference])
    chosen = [links[0].pk, links[1].pk, removed.pk]

    asked = client.post(url, {"link": chosen})
    assert FoundLink.objects.filter(status=FoundLink.Status.EXCLUDED).count() == 0
    assert asked.context["title"] == "Exclude 2 links?"
    assert asked.context["fields"] == [("link", str(links[0].pk)), ("link", str(links[1].pk))]
    done = client.post(url, {"link": chosen, "confirm": "1"}, follow=True)

    excluded = set(
        FoundLink.objects.filter(status=FoundLink.Status.EXCLUDED).values_list("pk", flat=True)
    )
    assert excluded == {links[0].pk, links[1].pk}
    assert [str(m) for m in done.context["messages"]] == [
        "2 links excluded: they are no longer reported or checked."
    ]
