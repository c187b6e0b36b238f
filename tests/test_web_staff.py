"""The caseworker's workspace: queue, intake, case page, actions, object-level access."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from takedown.models import (
    Case,
    CaseEvent,
    Contact,
    FoundLink,
    HostResolution,
    Import,
    Notice,
    NoticeLink,
)
from takedown.workflow import transition
from tests.factories import (
    CaseFactory,
    FoundLinkFactory,
    HostFactory,
    MandateFactory,
    NoticeFactory,
    OrganisationFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def caseworker(username: str, team=None):
    user = UserFactory(username=username)
    user.groups.add(Group.objects.get(name="caseworker"))
    if team is not None:
        team.members.add(user)
    return user


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
        ("get", reverse("staff:hosts", args=[ref])),
        ("get", reverse("staff:timeline", args=[ref])),
        ("get", reverse("staff:import_links", args=[ref])),
        ("get", reverse("staff:import", args=[ref, imported.pk])),
        ("get", reverse("staff:notice", args=[ref, notice.pk])),
        ("get", reverse("staff:notice_pdf", args=[ref, notice.pk])),
        ("post", reverse("staff:import_links", args=[ref])),
        ("post", reverse("staff:reveal", args=[ref])),
        ("post", reverse("staff:mandate", args=[ref])),
        ("post", reverse("staff:resolve", args=[ref])),
        ("post", reverse("staff:generate", args=[ref])),
        ("post", reverse("staff:send", args=[ref])),
        ("post", reverse("staff:ladder", args=[ref])),
        ("post", reverse("staff:close", args=[ref])),
        ("post", reverse("staff:submit", args=[ref, notice.pk])),
        ("post", reverse("staff:submitted", args=[ref, notice.pk])),
        ("post", reverse("staff:reply", args=[ref, notice.pk])),
    ]


@pytest.fixture
def full_case(case, carla, hoster):
    host = resolved_host("img.hoster-eins.de", hoster)
    links = [FoundLinkFactory(case=case, host=host) for _ in range(3)]
    notice = NoticeFactory(case=case, recipient=hoster, created_by=carla)
    notice.links.set(links)
    MandateFactory(case=case)
    imported = Import.objects.create(case=case, format="text", report={"rows": 3})
    return case, notice, imported


def test_every_case_url_is_404_for_a_caseworker_of_another_team(client, otto, full_case):
    _case, notice, _imported = full_case
    client.force_login(otto)
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

    for name in ("reveal", "mandate", "resolve", "generate", "send", "ladder", "close"):
        assert client.get(reverse(f"staff:{name}", args=[case.reference])).status_code == 405
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
    for _n in range(3):
        case = CaseFactory(team=team, assigned_to=carla)
        FoundLinkFactory(case=case)
        NoticeFactory(case=case, recipient=hoster, status=Notice.Status.IN_REVIEW)
    small = queries_for(client, reverse("staff:queue"))
    for _n in range(40):
        case = CaseFactory(team=team, assigned_to=carla)
        FoundLinkFactory(case=case)
        NoticeFactory(case=case, recipient=hoster, status=Notice.Status.IN_REVIEW)
    large = queries_for(client, reverse("staff:queue"))

    assert small == large


# --- the case page: fixed number of queries however many links -----------------------------------


def grow_case(case, hosts: int, links_per_host: int, events: int) -> None:
    for h in range(hosts):
        organisation = OrganisationFactory(name=f"Party {case.pk}-{h}-{hosts}")
        host = resolved_host(f"h{h}-{hosts}.site{h}-{hosts}.example", organisation)
        FoundLink.objects.bulk_create(
            FoundLink(
                case=case,
                host=host,
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


@pytest.mark.parametrize("page", ["case", "links", "hosts", "timeline"])
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
    assert counts[1] <= 16


def test_case_page_10000_links_renders_one_page_of_links(client, carla, team, hoster):
    case = CaseFactory(reference="TD-2026-0403", team=team)
    host = resolved_host("big.hoster-eins.de", hoster)
    FoundLink.objects.bulk_create(
        FoundLink(
            case=case,
            host=host,
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
        "<td>hosting</td><td>Hoster Eins GmbH</td><td>DE</td><td><code>rdap</code></td>" in content
    )
    assert (
        "<td>registrar</td><td>Example Registrar</td><td>US</td><td><code>whois</code></td>"
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
    imported = Import.objects.get(case=case)
    assert response.status_code == 302
    assert response["Location"] == reverse("staff:import", args=[case.reference, imported.pk])
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
    page = client.get(response["Location"]).content.decode()
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

    imported = Import.objects.get(case=case)
    assert response.status_code == 302
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

    client.post(
        reverse("staff:import_links", args=[case.reference]),
        {"file": SimpleUploadedFile("laion.parquet", data), "dataset": "laion-5b"},
    )

    imported = Import.objects.get(case=case)
    assert (imported.format, imported.dataset, imported.report["rows"]) == (
        "parquet",
        "laion-5b",
        1000,
    )
    assert FoundLink.objects.filter(case=case).count() == imported.report["created"]


def test_upload_of_a_broken_file_imports_nothing(client, carla, team):
    case = CaseFactory(reference="TD-2026-0703", team=team)
    client.force_login(carla)

    response = client.post(
        reverse("staff:import_links", args=[case.reference]),
        {
            "file": SimpleUploadedFile("found.parquet", b"PAR1 this is not parquet"),
            "format": "parquet",
        },
    )

    assert response.status_code == 200
    errors = response.context["form"].non_field_errors()
    assert len(errors) == 1 and errors[0].endswith("(nothing was imported)")
    assert (FoundLink.objects.count(), Import.objects.count()) == (0, 0)


def test_new_case_with_a_broken_file_leaves_no_case(client, carla, team):
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

    assert response.status_code == 200
    assert Case.objects.count() == 0


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

    response = client.post(reverse("staff:resolve", args=[case.reference]), follow=True)

    due.refresh_from_db()
    elsewhere_before = elsewhere.next_resolve_at
    elsewhere.refresh_from_db()
    # Leased: moved forward so the dispatcher does not hand it out a second time.
    assert due.next_resolve_at > timezone.now()
    assert elsewhere.next_resolve_at == elsewhere_before
    event = CaseEvent.objects.get(case=case, kind="case.resolve_requested")
    assert (event.actor, event.data) == (carla, {"hosts": 1, "domains": 1, "refresh": False})
    assert [str(m) for m in response.context["messages"]] == [
        "1 host on 1 registered domains queued for resolution."
    ]


def test_generate_creates_drafts_per_recipient(client, carla, case, hoster):
    host = resolved_host("img.hoster-eins.de", hoster)
    FoundLinkFactory(case=case, host=host)
    FoundLinkFactory(case=case, host=host)
    client.force_login(carla)

    response = client.post(reverse("staff:generate", args=[case.reference]), follow=True)

    notice = Notice.objects.get(case=case)
    assert (notice.recipient, notice.status, notice.created_by, notice.links.count()) == (
        hoster,
        Notice.Status.DRAFT,
        carla,
        2,
    )
    assert [str(m) for m in response.context["messages"]] == [
        "Notices: 1 new, 0 refreshed, 0 unchanged; 0 links have no responsible party yet."
    ]


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
        f"notice {notice.pk} is draft: only a sent notice has replies"
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
    assert len(errors) == 1 and errors[0].startswith("unknown ladder step(s) 'bogus'")


def test_close_case_with_reason(client, carla, full_case):
    case, notice, _ = full_case
    client.force_login(carla)

    no_reason = client.post(
        reverse("staff:close", args=[case.reference]), {"reason": ""}, follow=True
    )
    client.post(reverse("staff:close", args=[case.reference]), {"reason": "Person withdrew."})

    case.refresh_from_db()
    notice.refresh_from_db()
    assert (case.status, case.close_reason) == (Case.Status.CLOSED, "Person withdrew.")
    assert notice.status == Notice.Status.CANCELLED
    assert [str(m) for m in no_reason.context["messages"]] == ["This field is required."]


def test_home_sends_reviewers_to_their_dashboard(client):
    rita = UserFactory(username="rita")
    rita.groups.add(Group.objects.get(name="reviewer"))
    client.force_login(rita)

    assert client.get("/")["Location"] == reverse("review:index")
