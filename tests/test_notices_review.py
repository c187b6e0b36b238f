"""Generating drafts per recipient, and the four-eyes review."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command

from takedown.models import HostResolution, Mandate, Notice, Organisation
from takedown.notices.generate import generate_notices
from takedown.notices.review import ReviewError, approve, edit, reject, submit_for_review
from tests.factories import (
    CaseFactory,
    FoundLinkFactory,
    HostFactory,
    OrganisationFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def reviewer(username: str = "rita"):
    user = UserFactory(username=username)
    user.user_permissions.add(Permission.objects.get(codename="review_notice"))
    return user


def resolved_host(hostname: str, *, hosting=None, platform=None):
    host = HostFactory(hostname=hostname, registered_domain=hostname.split(".", 1)[1])
    host.current = HostResolution.objects.create(host=host, hosting=hosting, platform=platform)
    host.save()
    return host


@pytest.fixture
def case_with_links():
    hoster = OrganisationFactory(name="Hetzner Online GmbH", country="DE")
    hoster.contacts.create(
        purpose="abuse",
        channel="email",
        value="abuse@hetzner.example",
        source="test",
        quality="verified",
    )
    platform = OrganisationFactory(name="Pinterest", kind=Organisation.Kind.PLATFORM, country="US")
    case = CaseFactory(category="medical")
    a = resolved_host("img.site-a.de", hosting=hoster)
    b = resolved_host("i.pinimg.com", platform=platform, hosting=hoster)
    links = [
        FoundLinkFactory(case=case, host=a),
        FoundLinkFactory(case=case, host=a),
        FoundLinkFactory(case=case, host=b),
    ]
    return case, hoster, platform, links


def test_generate_notices_one_per_recipient_with_its_links(case_with_links):
    case, hoster, platform, links = case_with_links
    author = UserFactory(username="carla")

    report = generate_notices(case, actor=author)

    assert (report.created, report.refreshed, report.unrouted_links) == (2, 0, 0)
    to_hoster = Notice.objects.get(recipient=hoster)
    to_platform = Notice.objects.get(recipient=platform)
    assert set(to_hoster.links.all()) == {links[0], links[1]}
    assert list(to_platform.links.all()) == [links[2]]
    assert (to_hoster.recipient_role, to_hoster.regime, to_hoster.language) == (
        "hosting",
        "dsa",
        "de",
    )
    assert to_hoster.to_address == "abuse@hetzner.example"
    assert to_platform.recipient_role == "site_operator"
    assert to_platform.language == "en"


def test_generate_notices_again_refreshes_drafts_and_leaves_reviewed_ones(case_with_links):
    case, hoster, _, links = case_with_links
    generate_notices(case)
    in_review = Notice.objects.get(recipient=hoster)
    submit_for_review(in_review, None)
    FoundLinkFactory(case=case, host=links[2].host)

    report = generate_notices(case)

    assert (report.created, report.refreshed, report.unchanged) == (0, 1, 1)
    assert Notice.objects.count() == 2
    assert in_review.links.count() == 2


def test_generate_notices_never_mixes_cases(case_with_links):
    case, _, _, links = case_with_links
    other = CaseFactory()
    FoundLinkFactory(
        case=other, host=links[0].host, url=links[0].url, url_sha256=links[0].url_sha256
    )

    generate_notices(case)
    generate_notices(other)

    for notice in Notice.objects.all():
        assert {link.case_id for link in notice.links.all()} == {notice.case_id}


def test_generate_notices_links_without_resolution_are_counted(case_with_links):
    case, *_ = case_with_links
    FoundLinkFactory(case=case)  # its host was never resolved

    report = generate_notices(case)

    assert report.unrouted_links == 1


def test_generate_notices_dataset_links_go_to_the_maintainer(case_with_links):
    case, _, _, links = case_with_links
    laion = OrganisationFactory(
        name="LAION e.V.", kind=Organisation.Kind.DATASET_MAINTAINER, datasets=["laion-5b"]
    )
    for link in links[:2]:
        link.dataset = "laion-5b"
        link.save()

    generate_notices(case)

    notice = Notice.objects.get(recipient=laion)
    assert (notice.recipient_role, notice.regime) == ("dataset_maintainer", "gdpr")
    assert set(notice.links.all()) == set(links[:2])


def test_generate_notices_command_json(case_with_links):
    case, *_ = case_with_links
    out = StringIO()

    call_command("generate_notices", "--case", case.reference, "--json", stdout=out)

    data = json.loads(out.getvalue())
    assert data["created"] == 2
    assert sorted(n["recipient"] for n in data["notices"]) == ["Hetzner Online GmbH", "Pinterest"]


def complete_notice(case_with_links, author):
    case, hoster, _, _ = case_with_links
    generate_notices(case, actor=author)
    notice = Notice.objects.get(recipient=hoster)
    assert notice.element_check["missing"] == []
    return notice


def test_approve_by_a_second_reviewer(case_with_links):
    author, rita = UserFactory(username="carla"), reviewer()
    notice = complete_notice(case_with_links, author)
    submit_for_review(notice, author)

    approve(notice, rita)

    notice.refresh_from_db()
    assert (notice.status, notice.approved_by) == ("approved", rita)
    kinds = list(notice.case.events.filter(notice=notice).values_list("kind", flat=True))
    assert kinds == ["notice.drafted", "notice.in_review", "notice.approved"]


def test_approve_own_notice_is_refused(case_with_links):
    author = reviewer("carla")
    notice = complete_notice(case_with_links, author)
    submit_for_review(notice, author)

    with pytest.raises(ReviewError, match="someone other than its author"):
        approve(notice, author)


def test_approve_without_reviewer_permission_is_refused(case_with_links):
    notice = complete_notice(case_with_links, UserFactory(username="carla"))
    submit_for_review(notice, notice.created_by)

    with pytest.raises(ReviewError, match="no reviewer permission"):
        approve(notice, UserFactory(username="bob"))


def test_approve_with_missing_element_is_refused_and_says_what(case_with_links):
    notice = complete_notice(case_with_links, UserFactory(username="carla"))
    submit_for_review(notice, notice.created_by)
    notice.links.clear()

    with pytest.raises(ReviewError, match=r"cannot approve: missing .*URL"):
        approve(notice, reviewer())
    notice.refresh_from_db()
    assert notice.status == "in_review"


def test_reject_returns_draft_with_comment(case_with_links):
    notice = complete_notice(case_with_links, UserFactory(username="carla"))
    submit_for_review(notice, notice.created_by)

    reject(notice, reviewer(), "Name the offence, please.")

    notice.refresh_from_db()
    assert (notice.status, notice.review_comment) == ("draft", "Name the offence, please.")


def test_edit_approved_notice_withdraws_approval(case_with_links):
    notice = complete_notice(case_with_links, UserFactory(username="carla"))
    submit_for_review(notice, notice.created_by)
    approve(notice, reviewer())

    edit(notice, notice.created_by, subject="Removal request (updated)")

    notice.refresh_from_db()
    assert (notice.status, notice.approved_by, notice.subject) == (
        "draft",
        None,
        "Removal request (updated)",
    )


def test_mandate_requirement_blocks_approval_until_on_file(case_with_links):
    case, _, platform, _ = case_with_links
    platform.country = "DE"
    platform.save()
    author, rita = UserFactory(username="carla"), reviewer()
    generate_notices(case, actor=author)
    notice = Notice.objects.get(recipient=platform)
    assert notice.regime == "gdpr"
    with pytest.raises(ReviewError, match="cannot submit for review: missing a signed mandate"):
        submit_for_review(notice, author)
    mandate = Mandate.objects.create(case=case, signed_document=b"%PDF signed")
    submit_for_review(notice, author)
    Mandate.objects.filter(pk=mandate.pk).update(revoked_at=mandate.uploaded_at)

    with pytest.raises(ReviewError, match="mandate"):
        approve(notice, rita)
    Mandate.objects.create(case=case, signed_document=b"%PDF signed")
    approve(notice, rita)

    notice.refresh_from_db()
    assert notice.status == "approved"


def test_disclosure_needs_explicit_confirmation(case_with_links):
    case, _, platform, _ = case_with_links
    case.category, case.owns_copyright = "personal", True
    case.save()
    case.person.country = "US"
    case.person.save()
    Mandate.objects.create(case=case, signed_document=b"%PDF signed")
    platform.contacts.create(
        purpose="copyright",
        channel="email",
        value="copyright@pinterest.example",
        source="test",
        quality="verified",
    )
    author, rita = UserFactory(username="carla"), reviewer()
    generate_notices(case, actor=author)
    notice = Notice.objects.get(recipient=platform)
    assert (notice.regime, notice.to_address) == ("dmca", "copyright@pinterest.example")
    submit_for_review(notice, author)

    with pytest.raises(ReviewError, match="confirm the disclosure"):
        approve(notice, rita)
    approve(notice, rita, confirm_disclosure=True)

    notice.refresh_from_db()
    assert (notice.status, notice.disclosure_confirmed_by) == ("approved", rita)
    assert case.events.filter(kind="notice.disclosure_confirmed", actor=rita).count() == 1


def test_approve_notice_command_submits_and_approves(case_with_links):
    notice = complete_notice(case_with_links, UserFactory(username="carla"))
    reviewer("rita")

    call_command("approve_notice", str(notice.pk), "--as", "rita", stdout=StringIO())

    notice.refresh_from_db()
    assert notice.status == "approved"


def test_approve_notice_command_refusal_exits_1(case_with_links):
    notice = complete_notice(case_with_links, reviewer("carla"))

    with pytest.raises(CommandError, match="other than its author") as caught:
        call_command("approve_notice", str(notice.pk), "--as", "carla")

    assert caught.value.returncode == 1


def test_generate_notices_follow_up_for_links_added_after_sending(case_with_links):
    case, hoster, _, links = case_with_links
    generate_notices(case)
    first = Notice.objects.get(recipient=hoster)
    Notice.objects.filter(pk=first.pk).update(status=Notice.Status.SENT)
    later = FoundLinkFactory(case=case, host=links[0].host)

    report = generate_notices(case)

    follow_up = Notice.objects.get(recipient=hoster, status=Notice.Status.DRAFT)
    assert list(follow_up.links.all()) == [later]
    assert report.created == 1


def test_generate_notices_stale_draft_loses_closed_links(case_with_links):
    case, _, platform, links = case_with_links
    generate_notices(case)
    draft = Notice.objects.get(recipient=platform)
    links[2].status = "excluded"
    links[2].save()

    generate_notices(case)

    draft.refresh_from_db()
    assert draft.status == "cancelled"
    assert draft.links.count() == 0


def test_approve_refuses_notice_without_recorded_author(case_with_links):
    case, hoster, _, _ = case_with_links
    generate_notices(case)  # no actor: nobody is recorded as the author
    notice = Notice.objects.get(recipient=hoster)
    submit_for_review(notice, None)

    with pytest.raises(ReviewError, match="no recorded author"):
        approve(notice, reviewer())


def test_mark_submitted_command_records_confirmation(case_with_links):
    notice = complete_notice(case_with_links, UserFactory(username="carla"))
    Notice.objects.filter(pk=notice.pk).update(status=Notice.Status.AWAITING_MANUAL)

    call_command(
        "mark_submitted", str(notice.pk), "--confirmation", "TICKET-4711", stdout=StringIO()
    )

    notice.refresh_from_db()
    assert (notice.status, notice.manual_confirmation) == ("sent", "TICKET-4711")
    assert notice.due_at is not None


def test_mark_submitted_command_refuses_notice_not_waiting(case_with_links):
    notice = complete_notice(case_with_links, UserFactory(username="carla"))

    with pytest.raises(CommandError) as caught:
        call_command("mark_submitted", str(notice.pk), "--confirmation", "X")

    assert caught.value.returncode == 1
