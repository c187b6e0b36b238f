"""The domain holder as a party, and a caseworker's decision where the machine cannot decide:
resolution against the local servers, generate_notices, the set_party command."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.utils import translation

from takedown.models import CaseEvent, FoundLink, Host, Notice, Organisation, PartyDecision
from takedown.notices.generate import generate_notices
from takedown.resolve.decisions import (
    DecisionRefused,
    holder_organisation,
    jurisdiction_with_decisions,
    load_decisions,
)
from takedown.resolve.hosts import resolve_host
from takedown.sandbox.rdap import rdap_domain, rdap_entity
from tests.factories import (
    CaseFactory,
    FoundLinkFactory,
    HostFactory,
    OrganisationFactory,
    TeamFactory,
    UserFactory,
)
from tests.test_resolve_hosts import internet  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def with_registrant(domain: str, **card: str) -> dict:
    """A gTLD RDAP answer whose registrant is `card` (fn, cc, email)."""
    data = rdap_domain(domain, registrant_country="XX")
    data["entities"][1] = rdap_entity("REG-2", ["registrant"], **card)
    return data


@pytest.fixture
def world(internet):  # noqa: F811
    internet["rdap"].add_domain(
        "bilderfirma-demo.com",
        with_registrant(
            "bilderfirma-demo.com",
            fn="Bilderfirma Demo GmbH",
            cc="AT",
            email="recht@bilderfirma-demo.com",
        ),
    )
    internet["rdap"].add_domain(
        "privat-demo.com", with_registrant("privat-demo.com", fn="Max Mustermann", cc="DE")
    )
    internet["dns"].add("img.bilderfirma-demo.com", A=["198.51.100.20"])
    return internet


@pytest.fixture
def team():
    return TeamFactory(name="Berlin")


@pytest.fixture
def carla(team):
    user = UserFactory(username="carla")
    user.groups.add(Group.objects.get(name="caseworker"))
    team.members.add(user)
    return user


@pytest.fixture
def case(team, carla):
    return CaseFactory(reference="TD-2026-0200", team=team, assigned_to=carla)


def link_on(case, hostname: str, **fields) -> FoundLink:
    host = Host.objects.filter(hostname=hostname).first() or HostFactory(
        hostname=hostname, registered_domain=hostname.split(".", 1)[1]
    )
    return FoundLinkFactory(case=case, host=host, **fields)


def resolved(link: FoundLink) -> Host:
    resolve_host(link.host_id)
    return Host.objects.select_related("current__operator").get(pk=link.host_id)


def set_party(*args: str) -> dict:
    out = StringIO()
    call_command("set_party", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


# --- the domain holder ------------------------------------------------------------------------


def test_holder_organisation_is_the_site_operator_and_gets_the_notice(world, case):
    link = link_on(case, "img.bilderfirma-demo.com")

    host = resolved(link)
    report = generate_notices(case)

    operator = host.current.operator
    assert (operator.name, operator.kind, operator.country) == (
        "Bilderfirma Demo GmbH",
        "operator",
        "AT",
    )
    assert list(operator.contacts.values_list("purpose", "value")) == [
        ("general", "recht@bilderfirma-demo.com")
    ]
    assert host.current.data["holder"]["kind"] == "organisation"
    # Its country counts for the law as the controller's: AT, beside the hosting network's DE.
    jurisdiction = host.current.data["jurisdiction"]
    assert jurisdiction["countries"] == ["AT", "DE"]
    assert [(p["role"], p["country"]) for p in jurisdiction["by_party"]][:1] == [("operator", "AT")]
    assert [(n.recipient.name, n.recipient_role, n.to_address) for n in report.notices] == [
        ("Bilderfirma Demo GmbH", "site_operator", "recht@bilderfirma-demo.com")
    ]
    assert report.notices[0].regime == "gdpr"


def test_no_holder_to_confirm_is_refused_in_the_callers_language(case):
    link_on(case, "img.unresolved-demo.com")  # never resolved: no registrant on record

    with translation.override("de"), pytest.raises(DecisionRefused) as refused:
        holder_organisation(case, "img.unresolved-demo.com")

    assert refused.value.message == (
        "img.unresolved-demo.com: Die Registry nennt keinen Inhaber der Domain"
    )


def test_holder_region_comes_from_the_registry_address(world, case):
    data = with_registrant("region-demo.com", fn="Region Bilder GmbH", cc="DE")
    data["entities"][1]["vcardArray"][1][3][3] = [
        "",
        "",
        "Hauptstr. 1",
        "München",
        "Bayern",
        "",
        "",
    ]
    world["rdap"].add_domain("region-demo.com", data)
    world["dns"].add("img.region-demo.com", A=["198.51.100.22"])

    host = resolved(link_on(case, "img.region-demo.com"))

    assert (host.current.operator.country, host.current.operator.region) == ("DE", "DE-BY")
    assert host.current.data["operator"]["region"] == "DE-BY"


def test_holder_organisation_is_one_organisation_for_all_its_domains(world, case):
    world["dns"].add("www.bilderfirma-demo.com", A=["198.51.100.21"])

    first = resolved(link_on(case, "img.bilderfirma-demo.com"))
    second = resolved(link_on(case, "www.bilderfirma-demo.com"))

    assert first.current.operator_id == second.current.operator_id
    assert Organisation.objects.filter(name="Bilderfirma Demo GmbH").count() == 1


def test_platform_rule_beats_the_holder(world, case):
    from takedown.directory.rules import clear_rule_cache
    from takedown.models import OperatorRule

    platform = OrganisationFactory(name="Bilder Cloud Ltd", kind="platform", country="IE")
    OperatorRule.objects.create(
        match="host_suffix", pattern="bilderfirma-demo.com", organisation=platform
    )
    clear_rule_cache()

    host = resolved(link_on(case, "img.bilderfirma-demo.com"))

    assert host.current.operator == platform
    assert not Organisation.objects.filter(name="Bilderfirma Demo GmbH").exists()


def test_private_person_holder_is_recorded_and_not_written_to(world, case):
    link = link_on(case, "www.privat-demo.com")

    host = resolved(link)
    report = generate_notices(case).as_dict()

    assert host.current.operator is None
    assert host.current.data["registrant"]["name"] == "Max Mustermann"
    assert host.current.data["holder"]["kind"] == "person"
    assert report["notices"] == []
    assert report["unrouted_links"] == 1
    assert report["unrouted_hosts"] == [
        {
            "host": "www.privat-demo.com",
            "links": 1,
            "reason": "the domain holder Max Mustermann looks like a private person and no"
            " hosting provider is known: confirm the holder (set_party --holder) or name the"
            " responsible party",
        }
    ]


def test_generate_notices_json_gives_the_reason_per_unrouted_host(world, case):
    link_on(case, "img.nothing-here.com")
    link_on(case, "img.nothing-here.com")
    link_on(case, "new.pending-demo.com")
    resolve_host(Host.objects.get(hostname="img.nothing-here.com").pk)

    out = StringIO()
    call_command("generate_notices", "--case", case.reference, "--json", stdout=out)
    report = json.loads(out.getvalue())

    assert report["unrouted_links"] == 3
    assert report["unrouted_hosts"] == [
        {
            "host": "img.nothing-here.com",
            "links": 2,
            "reason": "resolution failed; set the responsible party by hand (set_party)",
        },
        {"host": "new.pending-demo.com", "links": 1, "reason": "not resolved yet"},
    ]


# --- set_party ----------------------------------------------------------------------------------


def test_set_party_confirms_a_private_holder_and_the_notice_follows(world, case, carla):
    resolved(link_on(case, "www.privat-demo.com"))

    data = set_party(
        "--case", case.reference, "--host", "www.privat-demo.com", "--role", "site_operator",
        "--holder", "--as", "carla",
    )  # fmt: skip
    report = generate_notices(case)

    assert data["organisation"]["name"] == "Max Mustermann"
    assert (data["action"], data["role"], data["by"]) == ("set", "site_operator", "carla")
    assert [(n.recipient.name, n.recipient_role) for n in report.notices] == [
        ("Max Mustermann", "site_operator")
    ]


def test_set_party_new_organisation_wins_over_resolution_until_cleared(world, case, carla):
    link = link_on(case, "img.bilderfirma-demo.com")
    resolved(link)

    data = set_party(
        "--case", case.reference, "--host", "img.bilderfirma-demo.com", "--role", "hosting",
        "--new-organisation", "Echter Hoster AG", "--country", "de", "--region", "DE-BY",
        "--email", "abuse@echter-hoster.example", "--as", "carla",
    )  # fmt: skip
    decided = generate_notices(case)

    organisation = Organisation.objects.get(pk=data["organisation"]["id"])
    assert (organisation.kind, organisation.country, organisation.region) == (
        "hosting",
        "DE",
        "DE-BY",
    )
    # The decided hosting provider is not the site operator: the holder stays first.
    assert [(n.recipient.name, n.recipient_role) for n in decided.notices] == [
        ("Bilderfirma Demo GmbH", "site_operator")
    ]

    set_party(
        "--case", case.reference, "--host", "img.bilderfirma-demo.com", "--role",
        "site_operator", "--organisation", "echter hoster ag", "--as", "carla",
    )  # fmt: skip
    overridden = generate_notices(case)
    assert [(n.recipient.name, n.recipient_role, n.to_address) for n in overridden.notices] == [
        ("Echter Hoster AG", "site_operator", "abuse@echter-hoster.example")
    ]
    # The draft to the holder the plan no longer produces is cancelled.
    assert Notice.objects.get(recipient__name="Bilderfirma Demo GmbH").status == "cancelled"

    cleared = set_party(
        "--case", case.reference, "--host", "img.bilderfirma-demo.com", "--clear", "--as",
        "carla",
    )  # fmt: skip
    again = generate_notices(case)
    assert cleared == {"action": "clear", "target": "img.bilderfirma-demo.com", "cleared": 2}
    assert [n.recipient.name for n in again.notices] == ["Bilderfirma Demo GmbH"]
    kinds = list(
        CaseEvent.objects.filter(case=case, kind__startswith="party.")
        .order_by("pk")
        .values_list("kind", "actor__username")
    )
    assert kinds == [
        ("party.decided", "carla"),
        ("party.decided", "carla"),
        ("party.cleared", "carla"),
    ]


def test_set_party_registered_domain_covers_every_host_under_it(world, case, carla):
    organisation = OrganisationFactory(name="Domain Betreiber GmbH", kind="operator", country="DE")
    first = link_on(case, "a.unresolved-demo.com")
    second = link_on(case, "b.unresolved-demo.com")

    set_party(
        "--case", case.reference, "--host", "unresolved-demo.com", "--registered-domain",
        "--role", "site_operator", "--organisation", organisation.name, "--as", "carla",
    )  # fmt: skip
    report = generate_notices(case)

    assert report.unrouted_links == 0
    assert [(n.recipient, set(n.links.all())) for n in report.notices] == [
        (organisation, {first, second})
    ]
    # The caseworker's country is an "override" fact: it decides the law for the host.
    decisions = load_decisions(case).for_host(first.host)
    jurisdiction = jurisdiction_with_decisions(None, decisions)
    assert (jurisdiction["countries"], jurisdiction["regimes"]) == (["DE"], ["gdpr", "kug"])
    assert report.notices[0].regime == "gdpr"


def test_set_party_exclude_takes_links_out_and_clear_brings_them_back(world, case, carla):
    link = link_on(case, "img.nothing-here.com")
    removed = link_on(case, "img.nothing-here.com", status="removed")

    data = set_party(
        "--case", case.reference, "--host", "img.nothing-here.com", "--exclude", "--reason",
        "not her photo", "--as", "carla",
    )  # fmt: skip
    link.refresh_from_db()
    report = generate_notices(case)

    assert (data["action"], data["links"], data["reason"]) == ("exclude", 1, "not her photo")
    assert link.status == "excluded"
    assert report.unrouted_links == 0
    set_party(
        "--case", case.reference, "--host", "img.nothing-here.com", "--clear", "--as", "carla"
    )
    link.refresh_from_db()
    removed.refresh_from_db()
    assert (link.status, removed.status) == ("found", "removed")
    assert PartyDecision.objects.get(pk=data["id"]).cleared_by == carla


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--host", "img.nothing-here.com"], 2, "give exactly one of --role, --exclude, --clear"),
        (
            ["--host", "other.example", "--exclude", "--reason", "x"],
            1,
            "No link of case TD-2026-0200 is on the host 'other.example'.",
        ),
        (
            ["--host", "img.nothing-here.com", "--exclude"],
            1,
            "An exclusion needs a reason.",
        ),
        (
            ["--host", "img.nothing-here.com", "--role", "hosting", "--organisation", "Nobody"],
            2,
            "no organisation named 'Nobody' in the directory",
        ),
        (
            ["--host", "img.nothing-here.com", "--role", "hosting", "--new-organisation", "X"],
            1,
            "'' is not a country (ISO 3166-1 alpha-2, e.g. DE).",
        ),
        (
            ["--host", "img.nothing-here.com", "--role", "hosting", "--new-organisation", "X",
             "--country", "DE", "--region", "AT-9"],
            1,
            "'AT-9' is not an ISO 3166-2 region of DE (e.g. DE-BY).",
        ),
        (["--host", "img.nothing-here.com", "--clear"], 1, "There is no decision for"),
    ],
)  # fmt: skip
def test_set_party_refusals(world, case, carla, args, code, message):
    link_on(case, "img.nothing-here.com")

    with pytest.raises(CommandError) as caught:
        call_command("set_party", "--case", case.reference, *args, "--as", "carla")

    assert caught.value.returncode == code
    assert str(caught.value).startswith(message)
    assert not PartyDecision.objects.exists()


def test_set_party_only_by_a_caseworker_of_the_case(world, case):
    link_on(case, "img.nothing-here.com")
    UserFactory(username="mallory")

    with pytest.raises(CommandError) as caught:
        call_command(
            "set_party", "--case", case.reference, "--host", "img.nothing-here.com",
            "--exclude", "--reason", "x", "--as", "mallory",
        )  # fmt: skip

    assert caught.value.returncode == 2
    assert str(caught.value) == "mallory is not a caseworker of TD-2026-0200"


# --- the staff UI -------------------------------------------------------------------------------


def test_needs_a_decision_lists_exactly_the_hosts_that_need_one(world, case, client, carla):
    from django.urls import reverse

    for hostname in ("img.bilderfirma-demo.com", "www.privat-demo.com", "img.nothing-here.com"):
        resolved(link_on(case, hostname))
    link_on(case, "new.pending-demo.com")  # not resolved yet: nothing to decide
    decided = link_on(case, "a.unresolved-demo.com")
    resolve_host(decided.host_id)
    set_party(
        "--case", case.reference, "--host", "a.unresolved-demo.com", "--exclude", "--reason",
        "duplicate", "--as", "carla",
    )  # fmt: skip
    client.force_login(carla)

    page = client.get(reverse("staff:hosts", args=[case.reference]), {"flagged": "1"})

    assert [host.hostname for host in page.context["page"].object_list] == [
        "img.nothing-here.com",
        "www.privat-demo.com",
    ]
    party_url = reverse("staff:party", args=[case.reference, "www.privat-demo.com"])
    assert party_url in page.content.decode()


def test_party_page_search_and_set_from_the_directory(world, case, client, carla):
    from django.urls import reverse

    resolved(link_on(case, "img.nothing-here.com"))
    wanted = OrganisationFactory(name="Findbar Hosting GmbH", kind="hosting", country="DE")
    OrganisationFactory(name="Anderer Betrieb AG", kind="operator", country="CH")
    client.force_login(carla)
    url = reverse("staff:party", args=[case.reference, "img.nothing-here.com"])

    found = client.get(url, {"q": "findbar"})
    assert found.context["unrouted"] == (
        "resolution failed; set the responsible party by hand (set_party)"
    )
    response = client.post(
        url, {"action": "set", "organisation": wanted.pk, "role": "hosting"}, follow=True
    )

    assert [o.name for o in found.context["results"]] == ["Findbar Hosting GmbH"]
    assert "Findbar Hosting GmbH is now the hosting provider for img.nothing-here.com." in [
        str(m) for m in response.context["messages"]
    ]
    decision = PartyDecision.objects.get()
    assert (decision.organisation, decision.role, decision.created_by) == (wanted, "hosting", carla)
    assert [(n.recipient, n.recipient_role) for n in generate_notices(case).notices] == [
        (wanted, "hosting")
    ]


def test_party_page_refusal_is_a_message(world, case, client, carla):
    from django.urls import reverse

    resolved(link_on(case, "img.nothing-here.com"))
    client.force_login(carla)
    url = reverse("staff:party", args=[case.reference, "img.nothing-here.com"])

    response = client.post(
        url,
        {
            "action": "set",
            "new_name": "Neu GmbH",
            "country": "DE",
            "region": "AT-9",
            "role": "hosting",
        },
        follow=True,
    )

    assert [str(m) for m in response.context["messages"]] == [
        "'AT-9' is not an ISO 3166-2 region of DE (e.g. DE-BY)."
    ]
    assert not PartyDecision.objects.exists()


def test_party_page_of_a_host_outside_the_case_is_404(world, case, client, carla):
    from django.urls import reverse

    other = CaseFactory(reference="TD-2026-0201", team=case.team)
    link_on(other, "img.nothing-here.com")
    client.force_login(carla)

    response = client.get(reverse("staff:party", args=[case.reference, "img.nothing-here.com"]))

    assert response.status_code == 404
