"""generate_notices and the element check at scale (issue 16): planning from link tuples with one
party lookup per host, a notice's links written and read in batches, and the element check that
lists only the first rows of a long notice and checks every further row as data."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import time_machine

from takedown import models as m
from takedown.models import RecipientRole as Role
from takedown.notices import generate, render
from takedown.notices.generate import (
    _maintainers_by_dataset,
    generate_notices,
    plan_recipients,
    unrouted_reason,
)
from takedown.notices.regimes import get_regime
from takedown.notices.render import check_elements, link_rows, render_notice, statements_for
from takedown.resolve.decisions import exclude_host, load_decisions, set_party
from takedown.workflow import OPEN_LINK_STATUSES
from tests import factories as f
from tests.test_notices_render import NOW, ORG, make_notice

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen(settings: Any) -> Iterator[None]:
    settings.TAKEDOWN_ORGANISATION = ORG
    settings.DEFAULT_FROM_EMAIL = "cases@bildschutz.example"
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of two, so a handful of links takes every path a million would."""
    monkeypatch.setattr(generate, "HOST_CHUNK", 2)
    monkeypatch.setattr(generate, "LINK_BATCH", 2)
    for module in (render, generate):
        monkeypatch.setattr(module, "ROW_CHUNK", 2)
        monkeypatch.setattr(module, "CHECKED_ROWS", 3)


def walk_plan(case: m.Case) -> tuple[list[tuple[int, str, bool, list[int]]], list[dict]]:
    """The plan as generate_notices made it before issue 16: one model instance per link,
    walked in id order, each asking the decisions for its host."""
    grouped: dict[tuple[int, str], tuple[int, str, bool, list[int]]] = {}
    unrouted: dict[m.Host, int] = {}
    maintainers = _maintainers_by_dataset()
    decisions = load_decisions(case)
    links = m.FoundLink.objects.filter(case=case, status__in=OPEN_LINK_STATUSES)
    for link in links.select_related("host__current").order_by("id"):
        party = decisions.first_recipient(link.host)
        if party is None:
            unrouted[link.host] = unrouted.get(link.host, 0) + 1
        else:
            organisation, role, decided = party
            key = (organisation.pk, role)
            grouped.setdefault(key, (organisation.pk, role, decided, []))[3].append(link.pk)
        maintainer = decisions.party(link.host, Role.DATASET_MAINTAINER) or (
            maintainers.get(link.dataset) if link.dataset else None
        )
        if maintainer is not None and link.dataset:
            key = (maintainer.pk, Role.DATASET_MAINTAINER)
            grouped.setdefault(key, (maintainer.pk, Role.DATASET_MAINTAINER, False, []))[3].append(
                link.pk
            )
    reasons = [
        {"host": host.hostname, "links": count, "reason": unrouted_reason(host)}
        for host, count in sorted(unrouted.items(), key=lambda item: item[0].hostname)
    ]
    return list(grouped.values()), reasons


def resolved(hostname: str, domain: str, **parties: m.Organisation) -> m.Host:
    host = f.HostFactory(hostname=hostname, registered_domain=domain, status="resolved")
    host.current = m.HostResolution.objects.create(host=host, **parties)
    host.save(update_fields=["current"])
    return host


@pytest.fixture
def mixed_case() -> m.Case:
    """Links on hosts with every kind of first recipient, on unresolved and failed hosts,
    caseworker decisions per host and per registered domain, two datasets (one with a
    maintainer), a reappeared and an excluded link, in an interleaved id order."""
    case = f.CaseFactory(category="medical")
    hoster = f.OrganisationFactory(name="Hoster AG", kind="hosting")
    platform = f.OrganisationFactory(name="Bilder Plattform", kind="platform")
    cdn = f.OrganisationFactory(name="Fast CDN", kind="cdn", country="US")
    chosen = f.OrganisationFactory(name="Chosen Operator", kind="operator")
    f.OrganisationFactory(
        name="LAION", kind="dataset_maintainer", datasets=["laion-5b"], country="DE"
    )
    other_maintainer = f.OrganisationFactory(name="Mirror e.V.", kind="dataset_maintainer")
    hosts = [
        resolved("a.hoster-site.com", "hoster-site.com", hosting=hoster),
        resolved("b.platform.com", "platform.com", platform=platform, hosting=hoster),
        resolved("c.cdn-only.net", "cdn-only.net", cdn=cdn),
        f.HostFactory(hostname="d.pending.org", registered_domain="pending.org"),
        f.HostFactory(hostname="e.failed.org", registered_domain="failed.org", status="failed"),
        resolved("f.decided.com", "decided.com", hosting=hoster),
        resolved("g.shop.com", "shop.com", hosting=hoster),
        resolved("h.shop.com", "shop.com", cdn=cdn),
        resolved("i.gone.com", "gone.com", hosting=hoster),
    ]
    datasets = ["laion-5b", "", "other-set", "laion-5b"]
    for n in range(36):
        host = hosts[(n * 7) % len(hosts)]
        f.FoundLinkFactory(case=case, host=host, dataset=datasets[n % len(datasets)])
    first = m.FoundLink.objects.filter(case=case, host=hosts[0]).order_by("id").first()
    m.FoundLink.objects.filter(pk=first.pk).update(status=m.FoundLink.Status.REAPPEARED)
    set_party(case, "f.decided.com", role=Role.SITE_OPERATOR, organisation=chosen)
    set_party(case, "shop.com", role=Role.HOSTING, organisation=chosen, whole_domain=True)
    set_party(case, "h.shop.com", role=Role.CDN, organisation=cdn)
    set_party(case, "b.platform.com", role=Role.DATASET_MAINTAINER, organisation=other_maintainer)
    exclude_host(case, "i.gone.com", reason="Not the person.")
    return case


def test_plan_recipients_matches_the_walk_over_links_with_decisions(
    mixed_case: m.Case, small_batches: None
) -> None:
    recipients, reasons = plan_recipients(mixed_case)

    expected, expected_reasons = walk_plan(mixed_case)
    assert [(r.organisation.pk, r.role, r.decided, r.links) for r in recipients] == expected
    assert reasons == expected_reasons
    # Hosts with no party are reported, not dropped.
    assert [entry["host"] for entry in reasons] == ["d.pending.org", "e.failed.org"]


def test_plan_names_the_exact_recipients_of_the_mixed_case(mixed_case: m.Case) -> None:
    recipients, _ = plan_recipients(mixed_case)

    assert sorted((r.organisation.name, r.role, r.decided) for r in recipients) == [
        ("Bilder Plattform", "site_operator", False),
        ("Chosen Operator", "hosting", True),
        ("Chosen Operator", "site_operator", True),
        ("Fast CDN", "cdn", False),
        ("Hoster AG", "hosting", False),
        ("LAION", "dataset_maintainer", False),
        ("Mirror e.V.", "dataset_maintainer", False),
    ]


def notice_links(case: m.Case) -> dict[tuple[str, str], list[int]]:
    return {
        (notice.recipient.name, notice.recipient_role): sorted(
            notice.links.values_list("pk", flat=True)
        )
        for notice in m.Notice.objects.filter(case=case).exclude(status="cancelled")
    }


def test_generate_in_batches_writes_each_planned_link_once_and_refreshes_exactly(
    mixed_case: m.Case, small_batches: None
) -> None:
    planned, _ = walk_plan(mixed_case)
    names = dict(m.Organisation.objects.values_list("pk", "name"))

    report = generate_notices(mixed_case)

    expected = {(names[org], role): ids for org, role, _, ids in planned}
    assert notice_links(mixed_case) == expected
    assert (report.created, report.refreshed) == (len(planned), 0)

    # Again, after a new link on the hoster's site and one link excluded: the drafts keep
    # exactly the new plan, rows deleted and added in batches.
    hoster_site = m.Host.objects.get(hostname="a.hoster-site.com")
    f.FoundLinkFactory(case=mixed_case, host=hoster_site, dataset="laion-5b")
    exclude_host(mixed_case, "c.cdn-only.net", reason="A copy we may leave.")
    planned, _ = walk_plan(mixed_case)

    report = generate_notices(mixed_case)

    assert notice_links(mixed_case) == {(names[org], role): ids for org, role, _, ids in planned}
    assert ("Fast CDN", "cdn") in {
        (n.recipient.name, n.recipient_role)
        for n in m.Notice.objects.filter(case=mixed_case, status="cancelled")
    }
    assert report.created == 0


def long_dataset_notice(count: int) -> m.Notice:
    notice = make_notice("gdpr", role="dataset_maintainer", category="personal", links=0)
    for n in range(count):
        link = f.FoundLinkFactory(
            case=notice.case,
            url=f"https://cdn.example.org/{n}.jpg",
            dataset="laion-5b",
            entry_id=str(1000 + n),
        )
        notice.links.add(link)
    return notice


def test_element_check_lists_the_first_rows_and_checks_every_row_as_data(
    small_batches: None,
) -> None:
    notice = long_dataset_notice(7)
    assert check_elements(notice) == []

    draft = render._prepare(notice, listed=render.CHECKED_ROWS)
    # The check's letter lists three rows; the letter as sent lists all seven.
    assert [row["url"] for row in draft.context["links"]] == [
        f"https://cdn.example.org/{n}.jpg" for n in range(3)
    ]
    assert "https://cdn.example.org/6.jpg" not in draft.text
    assert "7. https://cdn.example.org/6.jpg" in render_notice(notice, with_pdf=False).text
    # What the letter says about all of them counts all of them.
    assert "Removing 7 entries from an index" in statements_for(notice)["research_exception"]

    # The last row, never listed in the check's letter, loses its entry id: the check sees it.
    last = notice.links.order_by("-created_at", "-pk").first()
    m.FoundLink.objects.filter(pk=last.pk).update(entry_id="")
    assert check_elements(notice) == [
        "the dataset entry id, or the caseworker's reason for its absence, of every link"
        " (1 without)"
    ]
    # ... and its URL: the URLs element is missing too.
    m.FoundLink.objects.filter(pk=last.pk).update(url="", entry_id="1006")
    urls = next(e.label for e in get_regime("gdpr").elements if e.key == "urls")
    assert check_elements(notice) == [urls]


def test_link_rows_reads_a_long_notice_in_chunks_in_letter_order(small_batches: None) -> None:
    notice = long_dataset_notice(5)
    other_case = f.FoundLinkFactory(url="https://elsewhere.example/x.jpg")
    notice.links.add(other_case)
    m.FoundLink.objects.filter(pk=notice.links.get(url__endswith="/2.jpg").pk).update(
        entry_id="", entry_id_note="Not in the index any more."
    )

    found = link_rows(notice)

    assert [row["url"] for row in found.rows] == [
        f"https://cdn.example.org/{n}.jpg" for n in range(5)
    ]
    assert (found.count, found.foreign, found.unnamed, found.datasets) == (5, 1, 0, {"laion-5b"})
    assert found.entry_notes == [{"no": 3, "reason": "Not in the index any more."}]
    listed = link_rows(notice, listed=2)
    assert [row["url"] for row in listed.rows] == [
        "https://cdn.example.org/0.jpg",
        "https://cdn.example.org/1.jpg",
    ]
    assert (listed.count, listed.foreign, listed.entry_notes) == (5, 1, found.entry_notes)
