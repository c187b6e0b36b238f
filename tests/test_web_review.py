"""The reviewer's dashboard: the approval queue, the notice preview and PDF, approve and reject
through the browser's forms, the results page; who may see what; query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from takedown.models import Case, FoundLink, HostResolution, LinkCheck, Notice, NoticeLink, Verdict
from takedown.notices.generate import generate_notices
from takedown.notices.review import submit_for_review
from takedown.web.access import cases_for
from tests.factories import (
    CaseFactory,
    FoundLinkFactory,
    HostFactory,
    NoticeFactory,
    OrganisationFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

QUEUE = reverse("review:index")
RESULTS = reverse("review:results")


def member(username: str, role: str, *teams):
    user = UserFactory(username=username)
    user.groups.add(Group.objects.get(name=role))
    for team in teams:
        team.members.add(user)
    return user


def submitted_notice(team, author, *, hoster_name="Hetzner Online GmbH", links=2) -> Notice:
    """A complete DSA notice to a German hosting provider, drafted and submitted by `author`."""
    hoster = OrganisationFactory(name=hoster_name, country="DE")
    hoster.contacts.create(
        purpose="abuse",
        channel="email",
        value="abuse@hoster.example",
        source="t",
        quality="verified",
    )
    case = CaseFactory(team=team)
    host = HostFactory(hostname=f"img.{case.reference.lower()}.de", registered_domain="x.de")
    host.current = HostResolution.objects.create(host=host, hosting=hoster)
    host.save()
    for _ in range(links):
        FoundLinkFactory(case=case, host=host)
    generate_notices(case, actor=author)
    notice = Notice.objects.get(case=case)
    submit_for_review(notice, author)
    return notice


@pytest.fixture
def teams():
    return TeamFactory(name="Berlin"), TeamFactory(name="Hamburg")


@pytest.fixture
def people(teams):
    berlin, hamburg = teams
    return {
        "carla": member("carla", "caseworker", berlin),
        "rita": member("rita", "reviewer", berlin),
        "hanna": member("hanna", "reviewer", hamburg),
        "ada": member("ada", "admin"),
    }


@pytest.fixture
def notice(teams, people) -> Notice:
    return submitted_notice(teams[0], people["carla"])


def shown(client, notice: Notice) -> dict[str, str]:
    """The approve form's hidden field as the notice page hands it out: approving needs it."""
    response = client.get(reverse("review:notice", args=[notice.pk]))
    assert response.status_code == 200
    return {"seen": response.context["seen"]}


def test_queue_anonymous_redirected_to_login(client):
    response = client.get(QUEUE)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_queue_caseworker_without_reviewer_permission_forbidden(client, people):
    client.force_login(people["carla"])

    assert client.get(QUEUE).status_code == 403
    assert client.get(RESULTS).status_code == 403


def test_queue_lists_notices_of_own_teams_with_their_facts(client, teams, people, notice):
    other = submitted_notice(teams[1], people["carla"], hoster_name="Elsewhere AG")
    client.force_login(people["rita"])

    response = client.get(QUEUE)

    assert response.status_code == 200
    assert [row.notice.pk for row in response.context["rows"]] == [notice.pk]
    page = response.content.decode()
    assert "Hetzner Online GmbH" in page
    assert "DSA notice of illegal content" in page
    assert "All required elements" in page
    assert "Person not named" in page
    # No approving from the list: the decision is on the notice's page, below its text.
    assert reverse("review:approve", args=[notice.pk]) not in page
    assert f'href="{reverse("review:notice", args=[notice.pk])}#decision-h"' in page
    assert f"Read notice {notice.pk} and decide" in page
    assert "Elsewhere AG" not in page
    assert reverse("review:notice", args=[other.pk]) not in page


def test_queue_admin_sees_every_team(client, teams, people, notice):
    other = submitted_notice(teams[1], people["carla"], hoster_name="Elsewhere AG")
    client.force_login(people["ada"])

    response = client.get(QUEUE)

    assert [row.notice.pk for row in response.context["rows"]] == [notice.pk, other.pk]


def test_queue_own_submission_offers_no_approval(client, teams, people):
    rita = people["rita"]
    rita.groups.add(Group.objects.get(name="caseworker"))
    own = submitted_notice(teams[0], rita)
    client.force_login(rita)

    page = client.get(QUEUE).content.decode()

    assert "Your own draft: another reviewer must approve it." in page
    assert reverse("review:approve", args=[own.pk]) not in page
    # Returning it with a comment stays possible, on the notice's page like every decision.
    notice_page = client.get(reverse("review:notice", args=[own.pk])).content.decode()
    assert reverse("review:reject", args=[own.pk]) in notice_page
    assert reverse("review:approve", args=[own.pk]) not in notice_page


def test_queue_shows_missing_elements_and_disclosure(client, teams, people):
    case = CaseFactory(team=teams[0])
    dmca = NoticeFactory(
        case=case,
        regime="dmca",
        status=Notice.Status.IN_REVIEW,
        created_by=people["carla"],
        element_check={"missing": ["the signature"], "complete": False},
    )
    client.force_login(people["rita"])

    page = client.get(QUEUE).content.decode()

    assert "DMCA takedown notice" in page
    assert "1 element missing" in page
    assert "the signature" in page
    assert "Would name the person: confirm to approve" in page
    # The confirmation goes with the approval, on the notice's page.
    assert f'name="confirm" value="1" id="confirm-{dmca.pk}"' not in page
    notice_page = client.get(reverse("review:notice", args=[dmca.pk])).content.decode()
    assert f'name="confirm" value="1" id="confirm-{dmca.pk}"' in notice_page


def test_notice_preview_renders_text_and_links(client, people, notice):
    client.force_login(people["rita"])

    response = client.get(reverse("review:notice", args=[notice.pk]))

    assert response.status_code == 200
    text = response.context["rendered"].text
    for link in notice.links.all():
        assert link.url in text
    assert "Hetzner Online GmbH" in response.content.decode()
    assert response.context["link_count"] == 2


def test_notice_pdf_download(client, people, notice):
    client.force_login(people["rita"])

    response = client.get(reverse("review:notice_pdf", args=[notice.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="{notice.case.reference}-notice-{notice.pk}.pdf"'
    )
    assert response.content.startswith(b"%PDF-")


def test_cases_for_reviewer_is_their_teams_cases(teams, people):
    berlin = CaseFactory(team=teams[0])
    hamburg = CaseFactory(team=teams[1])
    CaseFactory(team=None)

    # One definition of "may see" for the staff screens and the review dashboard.
    assert list(cases_for(people["rita"])) == [berlin]
    assert list(cases_for(people["hanna"])) == [hamburg]
    assert set(cases_for(people["ada"])) == set(Case.objects.all())
    assert list(cases_for(UserFactory(username="nobody"))) == []


def test_notice_of_another_team_not_found_for_reviewer_caseworker(client, teams, people, notice):
    both = member("bert", "caseworker", teams[1])
    both.groups.add(Group.objects.get(name="reviewer"))
    client.force_login(both)

    assert client.get(reverse("review:notice", args=[notice.pk])).status_code == 404
    assert client.post(reverse("review:approve", args=[notice.pk])).status_code == 404
    assert client.get(RESULTS).context["data"].totals["found"] == 0
    notice.refresh_from_db()
    assert notice.status == Notice.Status.IN_REVIEW


@pytest.mark.parametrize(
    ("name", "method"),
    [("notice", "get"), ("notice_pdf", "get"), ("approve", "post"), ("reject", "post")],
)
def test_notice_urls_of_another_team_not_found(client, people, notice, name, method):
    client.force_login(people["hanna"])

    response = getattr(client, method)(
        reverse(f"review:{name}", args=[notice.pk]), {"comment": "x"}
    )

    assert response.status_code == 404
    notice.refresh_from_db()
    assert notice.status == Notice.Status.IN_REVIEW


def test_approve_by_second_reviewer(client, people, notice):
    client.force_login(people["rita"])

    response = client.post(
        reverse("review:approve", args=[notice.pk]), shown(client, notice), follow=True
    )

    assert response.redirect_chain == [(QUEUE, 302)]
    notice.refresh_from_db()
    assert (notice.status, notice.approved_by) == (Notice.Status.APPROVED, people["rita"])
    assert f"Notice {notice.pk} to Hetzner Online GmbH approved." in response.content.decode()


def test_approve_own_draft_refused_with_message(client, teams, people):
    rita = people["rita"]
    own = submitted_notice(teams[0], rita)
    client.force_login(rita)

    response = client.post(
        reverse("review:approve", args=[own.pk]), shown(client, own), follow=True
    )

    assert response.redirect_chain == [(reverse("review:notice", args=[own.pk]), 302)]
    assert (
        "Not approved: a notice must be approved by someone other than its author."
        in response.content.decode()
    )
    own.refresh_from_db()
    assert own.status == Notice.Status.IN_REVIEW


def test_approve_get_not_allowed(client, people, notice):
    client.force_login(people["rita"])

    assert client.get(reverse("review:approve", args=[notice.pk])).status_code == 405


def test_approve_disclosure_unconfirmed_refused(client, people, notice):
    Notice.objects.filter(pk=notice.pk).update(regime="dmca")
    client.force_login(people["rita"])

    response = client.post(
        reverse("review:approve", args=[notice.pk]), shown(client, notice), follow=True
    )

    assert "confirm the disclosure explicitly to approve" in response.content.decode()
    notice.refresh_from_db()
    assert (notice.status, notice.disclosure_confirmed_by) == (Notice.Status.IN_REVIEW, None)


def test_approve_confirmed_disclosure_with_missing_elements_writes_nothing(client, people, notice):
    # A DMCA notice needs the owner's identity and a statement about the work; this DSA text
    # has neither, so the approval fails after the confirmation step and must roll it back.
    Notice.objects.filter(pk=notice.pk).update(regime="dmca")
    client.force_login(people["rita"])

    response = client.post(
        reverse("review:approve", args=[notice.pk]),
        {"confirm": "1", **shown(client, notice)},
        follow=True,
    )

    assert "Not approved: cannot approve: missing" in response.content.decode()
    notice.refresh_from_db()
    assert (notice.status, notice.disclosure_confirmed_by, notice.discloses_person) == (
        Notice.Status.IN_REVIEW,
        None,
        False,
    )
    assert not notice.case.events.filter(kind="notice.disclosure_confirmed").exists()


def test_approve_without_seeing_the_notice_refused(client, people, notice):
    client.force_login(people["rita"])

    response = client.post(reverse("review:approve", args=[notice.pk]), follow=True)

    assert response.redirect_chain == [(reverse("review:notice", args=[notice.pk]), 302)]
    assert (
        "Not approved: the text of this notice was not shown to you as it is now."
        in response.content.decode()
    )
    notice.refresh_from_db()
    assert (notice.status, notice.approved_by) == (Notice.Status.IN_REVIEW, None)


def test_approve_after_the_text_changed_refused(client, people, notice):
    client.force_login(people["rita"])
    seen = shown(client, notice)
    # The caseworker's edit after the reviewer read the notice: a different text.
    Notice.objects.filter(pk=notice.pk).update(body_text="Edited after the review opened.")

    response = client.post(reverse("review:approve", args=[notice.pk]), seen, follow=True)

    assert "was not shown to you as it is now" in response.content.decode()
    notice.refresh_from_db()
    assert notice.status == Notice.Status.IN_REVIEW


def test_notice_page_shows_evidence_without_personal_details(client, people, notice):
    case = notice.case
    case.person.name = "Alex Verysecret"
    case.person.email = "alex.verysecret@example.org"
    case.person.save()
    host = notice.links.first().host
    HostResolution.objects.filter(pk=host.current_id).update(
        ips=["192.0.2.10"], cname_chain=["img.example.de", "edge.cdn.example"]
    )
    link = notice.links.order_by("pk").first()
    LinkCheck.objects.create(
        link=link, verdict=Verdict.ONLINE_SAME, status_code=200, reason="same bytes"
    )
    client.force_login(people["rita"])

    response = client.get(reverse("review:notice", args=[notice.pk]))

    evidence = response.content.decode().split('id="evidence"', 1)[1].split("</section>", 1)[0]
    assert host.hostname in evidence
    assert "192.0.2.10" in evidence
    assert "img.example.de → edge.cdn.example" in evidence
    assert '<td>Hosting provider</td><td class="break">Hetzner Online GmbH' in evidence
    assert "Still online, same image" in evidence
    assert "same bytes" in evidence
    assert "Verysecret" not in evidence
    assert "alex.verysecret" not in evidence
    # The decision comes after the text and the PDF link, at the end of the page.
    page = response.content.decode()
    assert (
        page.index('id="notice-text"') < page.index('id="pdf-link"') < page.index('id="decision-h"')
    )


def test_reject_with_comment_returns_draft(client, people, notice):
    client.force_login(people["rita"])

    response = client.post(
        reverse("review:reject", args=[notice.pk]),
        {"comment": "  Cite Art. 16 DSA.  "},
        follow=True,
    )

    assert response.redirect_chain == [(QUEUE, 302)]
    notice.refresh_from_db()
    assert (notice.status, notice.review_comment) == (Notice.Status.DRAFT, "Cite Art. 16 DSA.")
    assert "returned to its author with your comment" in response.content.decode()


def test_reject_without_comment_refused_with_message(client, people, notice):
    client.force_login(people["rita"])

    response = client.post(
        reverse("review:reject", args=[notice.pk]), {"comment": " "}, follow=True
    )

    assert "Not returned: a rejection needs a comment for the author." in (
        response.content.decode()
    )
    notice.refresh_from_db()
    assert notice.status == Notice.Status.IN_REVIEW


def test_reject_after_approval_refused_with_message(client, people, notice):
    client.force_login(people["rita"])
    client.post(reverse("review:approve", args=[notice.pk]), shown(client, notice))

    response = client.post(
        reverse("review:reject", args=[notice.pk]), {"comment": "late"}, follow=True
    )

    assert "Not returned: the notice is no longer in review." in response.content.decode()
    notice.refresh_from_db()
    assert notice.status == Notice.Status.APPROVED


def _sent_with_removal(team, recipient, *, hours: int) -> None:
    case = CaseFactory(team=team)
    sent_at = timezone.now() - timedelta(days=3)
    link = FoundLinkFactory(
        case=case, status=FoundLink.Status.REMOVED, removed_at=sent_at + timedelta(hours=hours)
    )
    sent = NoticeFactory(
        case=case,
        recipient=recipient,
        status=Notice.Status.SENT,
        sent_at=sent_at,
        outcome=Notice.Outcome.COMPLIED,
    )
    NoticeLink.objects.create(notice=sent, link=link)


def test_results_shows_figures_of_own_teams_as_svg(client, teams, people):
    ours = OrganisationFactory(name="Quick Hosting", country="NL")
    theirs = OrganisationFactory(name="Other Team Host", country="FR")
    _sent_with_removal(teams[0], ours, hours=30)
    _sent_with_removal(teams[1], theirs, hours=90)
    client.force_login(people["rita"])

    response = client.get(RESULTS)

    assert response.status_code == 200
    page = response.content.decode()
    data = response.context["data"]
    assert data.totals == {
        "found": 1,
        "removed": 1,
        "still_online": 0,
        "never_reachable": 0,
        "not_seen_online": 0,
        "excluded": 0,
    }
    assert [row.organisation for row in data.scoreboard] == ["Quick Hosting"]
    assert '<span class="n" id="total-median">30.0 h</span>' in page
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == 5
    assert "Quick Hosting: 30.0 h" in page  # the bar chart's description
    assert "Other Team Host" not in page
    assert "<script" not in page


def test_results_admin_sees_every_team(client, teams, people):
    _sent_with_removal(teams[0], OrganisationFactory(name="Quick Hosting"), hours=30)
    _sent_with_removal(teams[1], OrganisationFactory(name="Other Team Host"), hours=90)
    client.force_login(people["ada"])

    data = client.get(RESULTS).context["data"]

    assert sorted(row.organisation for row in data.scoreboard) == [
        "Other Team Host",
        "Quick Hosting",
    ]
    assert data.removal.overall == timedelta(hours=60)


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_queue_query_count_does_not_grow_with_rows(client, teams, people):
    case = CaseFactory(team=teams[0])

    def add(n: int) -> None:
        for _ in range(n):
            notice = NoticeFactory(
                case=case, status=Notice.Status.IN_REVIEW, created_by=people["carla"]
            )
            NoticeLink.objects.create(notice=notice, link=FoundLinkFactory(case=case))

    add(1)
    client.force_login(people["rita"])
    few = _queries(client, QUEUE)
    add(15)
    many = _queries(client, QUEUE)

    assert few == many
    assert len(client.get(QUEUE).context["rows"]) == 16


def test_results_query_count_does_not_grow_with_rows(client, teams, people):
    _sent_with_removal(teams[0], OrganisationFactory(), hours=5)
    client.force_login(people["rita"])
    few = _queries(client, RESULTS)
    for hours in range(1, 21):
        _sent_with_removal(teams[0], OrganisationFactory(), hours=hours)
    many = _queries(client, RESULTS)

    assert few == many
    assert len(client.get(RESULTS).context["data"].scoreboard) == 21


def test_results_filter_by_team(client, teams, people):
    _sent_with_removal(teams[0], OrganisationFactory(name="Quick Hosting"), hours=30)
    _sent_with_removal(teams[1], OrganisationFactory(name="Other Team Host"), hours=90)
    client.force_login(people["ada"])

    response = client.get(RESULTS, {"team": teams[1].pk})

    data = response.context["data"]
    assert [row.organisation for row in data.scoreboard] == ["Other Team Host"]
    assert data.removal.overall == timedelta(hours=90)
    assert f'<option value="{teams[1].pk}" selected>Hamburg</option>' in response.content.decode()


def test_results_team_of_another_reviewer_ignored(client, teams, people):
    _sent_with_removal(teams[0], OrganisationFactory(name="Quick Hosting"), hours=30)
    _sent_with_removal(teams[1], OrganisationFactory(name="Other Team Host"), hours=90)
    client.force_login(people["rita"])

    data = client.get(RESULTS, {"team": teams[1].pk}).context["data"]

    assert [row.organisation for row in data.scoreboard] == ["Quick Hosting"]


def test_results_filter_by_country_and_regime(client, teams, people):
    _sent_with_removal(teams[0], OrganisationFactory(name="Dutch Host", country="NL"), hours=30)
    _sent_with_removal(teams[0], OrganisationFactory(name="French Host", country="FR"), hours=90)
    Notice.objects.filter(recipient__name="Dutch Host").update(regime="dsa")
    Notice.objects.filter(recipient__name="French Host").update(regime="gdpr")
    client.force_login(people["rita"])

    by_country = client.get(RESULTS, {"country": "NL"}).context["data"]
    by_regime = client.get(RESULTS, {"regime": "gdpr"}).context["data"]
    unknown = client.get(RESULTS, {"country": "XX", "regime": "nonsense"}).context["data"]

    assert [row.organisation for row in by_country.scoreboard] == ["Dutch Host"]
    assert [row.label for row in by_country.removal.by_country] == ["NL"]
    assert [row.label for row in by_country.removal.by_recipient] == ["Dutch Host"]
    assert by_country.totals["found"] == 1
    assert [row.organisation for row in by_regime.scoreboard] == ["French Host"]
    assert [row.key for row in by_regime.removal.by_regime] == ["gdpr"]
    assert by_regime.removal.overall == timedelta(hours=90)
    assert unknown.totals["found"] == 2


def test_results_filter_by_period(client, teams, people):
    _sent_with_removal(teams[0], OrganisationFactory(name="Recent Host"), hours=30)
    _sent_with_removal(teams[0], OrganisationFactory(name="Old Host"), hours=90)
    Case.objects.filter(notices__recipient__name="Old Host").update(
        created_at=timezone.now() - timedelta(weeks=10)
    )
    client.force_login(people["rita"])

    four = client.get(RESULTS, {"weeks": "4"}).context["data"]
    twelve = client.get(RESULTS, {"weeks": "12"}).context["data"]

    assert [row.organisation for row in four.scoreboard] == ["Recent Host"]
    assert len(four.weeks) == 4
    assert sorted(row.organisation for row in twelve.scoreboard) == ["Old Host", "Recent Host"]


def test_results_csv_has_every_figure_with_unit(client, teams, people):
    _sent_with_removal(teams[0], OrganisationFactory(name="=HYPERLINK(1)", country="NL"), hours=36)
    client.force_login(people["rita"])

    response = client.get(reverse("review:results_csv"), {"country": "NL"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="takedown-results-countrynl.csv"'
    )
    lines = response.content.decode().split("\r\n")
    assert lines[0] == "table,row,figure,value,unit"
    assert "totals,,found,1,links" in lines
    assert "median_by_country,NL,median,1.50,days" in lines
    assert "median_by_country,NL,removals,1,links" in lines
    # A recipient's name is a stranger's string: no formula reaches the spreadsheet.
    assert "scoreboard,'=HYPERLINK(1),sent,1,notices" in lines
    assert "scoreboard,'=HYPERLINK(1),complied_share,1.0000,share of settled" in lines


def test_results_csv_needs_reviewer(client, people):
    client.force_login(people["carla"])

    assert client.get(reverse("review:results_csv")).status_code == 403


def test_results_charts_name_their_units_and_shares(client, teams, people):
    _sent_with_removal(teams[0], OrganisationFactory(name="Quick Hosting"), hours=30)
    client.force_login(people["rita"])

    page = client.get(RESULTS).content.decode()

    assert ">links</text>" in page  # the weekly chart's axis
    assert "median time from the notice to the removal, in hours or days" in page
    assert "<title>complied 1 / 1, 100%</title>" in page
    assert 'aria-label="Legend of the shares"' in page
    assert "Links whose last check confirmed the removal." in page
