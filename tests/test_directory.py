from __future__ import annotations

import datetime
import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from takedown.directory import rules as rules_module
from takedown.directory.contacts import (
    ContactError,
    best_contact,
    best_contacts,
    next_contact,
    override_contact,
)
from takedown.directory.importers import DirectoryImportError, import_datenanfragen
from takedown.directory.rules import best_by_role, load_rules, match_rules
from takedown.directory.seed import SEED, SEED_DATE, seed_directory
from takedown.models import CaseEvent, Contact, OperatorRule, Organisation
from tests.conftest import LAION_SAMPLE, SHARED_DATA, shared_file
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db

DATENANFRAGEN = SHARED_DATA / "datenanfragen"
P, Ch, Q, M = Contact.Purpose, Contact.Channel, Contact.Quality, OperatorRule.Match


def _seeded(key: str) -> Organisation:
    return Organisation.objects.get(external_key=f"seed:{key}")


def _contact(org: Organisation, **fields: Any) -> Contact:
    defaults: dict[str, Any] = {
        "purpose": P.ABUSE,
        "channel": Ch.EMAIL,
        "value": "abuse@example.net",
        "source": "https://example.net/abuse",
        "quality": Q.IMPORTED,
    }
    return Contact.objects.create(organisation=org, **{**defaults, **fields})


def _rule(org: Organisation, match: str, pattern: str, role: str = "platform") -> OperatorRule:
    return OperatorRule.objects.create(organisation=org, match=match, pattern=pattern, role=role)


def _import(*args: str) -> dict[str, Any]:
    out = StringIO()
    call_command("import_directory", "--format", "datenanfragen", "--json", *args, stdout=out)
    return json.loads(out.getvalue())


def _write_json(path: Path, record: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record), encoding="utf-8")
    return path


COMPANY = {
    "slug": "acme-pictures",
    "relevant-countries": ["all"],
    "categories": ["social media"],
    "name": "Acme Pictures Ltd.",
    "address": "1 Example Street\nDublin 2\nIreland",
    "email": "privacy@acme-pictures.example",
    "phone": "+353 1 234 5678",
    "fax": "+353 1 234 5679",
    "web": "https://acme-pictures.example/",
    "sources": ["https://acme-pictures.example/privacy"],
    "quality": "verified",
}
AUTHORITY = {
    "slug": "xxdpa",
    "relevant-countries": ["ie"],
    "name": "Example Data Protection Commission",
    "address": "2 Example Road\nDublin 4\nIreland",
    "phone": "+353 1 765 4321",
    "email": "complaints@dpa.example",
    "webform": "https://dpa.example/complaint",
    "sources": ["https://dpa.example/contact"],
    "complaint-language": "en",
}


# --- seed ---------------------------------------------------------------------------------------


def test_seed_directory_first_run_creates_everything():
    report = seed_directory()

    assert report.organisations == {"created": len(SEED), "updated": 0, "unchanged": 0}
    assert report.contacts == {
        "created": sum(len(s.contacts) for s in SEED),
        "updated": 0,
        "deleted": 0,
    }
    assert report.rules == {"created": sum(len(s.rules) for s in SEED), "updated": 0, "deleted": 0}
    assert (len(SEED), sum(len(s.contacts) for s in SEED)) == (45, 61)
    assert OperatorRule.objects.count() == 151
    aws = _seeded("amazon-aws")
    assert (aws.name, aws.kind, aws.country, aws.source) == (
        "Amazon Web Services, Inc.",
        "hosting",
        "US",
        "seed",
    )
    laion = _seeded("laion")
    assert (laion.kind, laion.country) == ("dataset_maintainer", "DE")
    assert laion.datasets[:2] == ["laion-5b", "laion-400m"]
    assert "re-laion-5b" in laion.datasets


def test_seed_directory_second_run_changes_nothing():
    seed_directory()
    before = sorted(Contact.objects.values_list("pk", "value", "source_date"))

    report = seed_directory()

    assert report.organisations == {"created": 0, "updated": 0, "unchanged": 45}
    assert report.contacts == {"created": 0, "updated": 0, "deleted": 0}
    assert report.rules == {"created": 0, "updated": 0, "deleted": 0}
    assert sorted(Contact.objects.values_list("pk", "value", "source_date")) == before
    assert Organisation.objects.count() == 45


def test_seed_directory_restores_its_contacts_and_keeps_overrides_and_rdap():
    seed_directory()
    aws = _seeded("amazon-aws")
    user = UserFactory()
    override = override_contact(
        aws, P.ABUSE, Ch.EMAIL, "trust@aws.example", actor=user, reason="Desk asked us to"
    )
    rdap = _contact(aws, value="abuse-rdap@aws.example", quality=Q.RDAP, source="rdap")
    aws.contacts.filter(value="abuse@amazonaws.com").update(value="wrong@example.net")
    aws.contacts.filter(channel=Ch.POSTAL).delete()
    Organisation.objects.filter(pk=aws.pk).update(name="Renamed by hand")

    report = seed_directory()

    assert report.organisations == {"created": 0, "updated": 1, "unchanged": 44}
    # The edited contact counts as a stray seed contact: deleted, and the seed's one created.
    assert report.contacts == {"created": 2, "updated": 0, "deleted": 1}
    assert Contact.objects.filter(pk__in=[override.pk, rdap.pk]).count() == 2
    assert sorted(aws.contacts.values_list("value", flat=True)) == sorted(
        [
            "abuse@amazonaws.com",
            "https://support.aws.amazon.com/#/contacts/report-abuse",
            "Amazon Web Services, Inc.\n410 Terry Avenue North\nSeattle, WA 98109-5210\n"
            "United States",
            "aws-EU-privacy@amazon.com",
            "trust@aws.example",
            "abuse-rdap@aws.example",
        ]
    )
    assert _seeded("amazon-aws").name == "Amazon Web Services, Inc."


def test_seed_directory_keeps_a_rule_someone_else_created():
    other = OrganisationFactory(name="Local CDN reseller")
    rule = _rule(other, M.HOST_SUFFIX, "*.wp.com", role="cdn")

    report = seed_directory()

    assert report.conflicts == [f"host_suffix wp.com: kept the existing rule {rule.pk}"]
    assert report.rules["created"] == 150
    rule.refresh_from_db()
    assert rule.organisation == other


def test_seed_directory_removes_rules_dropped_from_the_seed():
    seed_directory()
    automattic = next(s for s in SEED if s.key == "automattic")
    shrunk = tuple(
        s if s is not automattic else type(s)(**{**s.__dict__, "rules": s.rules[:1]}) for s in SEED
    )

    report = seed_directory(shrunk)

    assert report.rules == {"created": 0, "updated": 0, "deleted": len(automattic.rules) - 1}
    assert list(
        OperatorRule.objects.filter(organisation=_seeded("automattic")).values_list("pattern")
    ) == [("wordpress.com",)]


def test_seed_data_rules_are_unique_and_contacts_cited():
    keys = [(r.match, r.pattern) for s in SEED for r in s.rules]
    assert len(keys) == len(set(keys))
    assert len({s.key for s in SEED}) == len(SEED)
    for entry in SEED:
        assert entry.kind in Organisation.Kind.values
        for rule in entry.rules:
            assert rule.match in M.values
            assert rule.role in Organisation.Kind.values
        for spec in entry.contacts:
            assert spec.source.startswith("https://"), (entry.key, spec)
            assert spec.quality in {Q.VERIFIED, Q.IMPORTED}
    verified = sorted(c.value for s in SEED for c in s.contacts if c.quality == Q.VERIFIED)
    assert verified == [
        "abuse@amazonaws.com",
        "https://abuse.cloudflare.com/",
        "https://github.com/contact/dmca",
    ]


def test_seed_contacts_via_datenanfragen_match_the_shared_records():
    path = shared_file(DATENANFRAGEN / "companies.jsonl")
    records = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        records[record["slug"]] = record
    checked = 0
    for entry in SEED:
        for spec in entry.contacts:
            page, _, via = spec.source.partition(" (via datenanfragen/")
            if not via:
                continue
            record = records[via.rstrip(")")]
            assert page in record["sources"], (entry.key, spec.source)
            if spec.channel == Ch.POSTAL:
                assert spec.value == f"{record['name']}\n{record['address']}"
            else:
                assert spec.value == record[spec.channel], (entry.key, spec.value)
            checked += 1
    assert checked == 25


def test_seed_rules_cover_the_top_30_domains_of_the_laion_sample():
    import pyarrow.parquet as pq
    from tldextract import TLDExtract

    urls = pq.read_table(shared_file(LAION_SAMPLE), columns=["URL"]).column("URL").to_pylist()
    seed_directory()
    rules = load_rules()
    extract = TLDExtract(suffix_list_urls=(), cache_dir=None)
    counts: dict[str, int] = {}
    matched = 0
    for url in urls:
        hostname = url.split("/")[2].split(":")[0]
        domain = extract(hostname).top_domain_under_public_suffix
        counts[domain] = counts.get(domain, 0) + 1
        matched += bool(rules.match(hostname))
    top = sorted(counts, key=lambda d: -counts[d])[:30]

    assert [d for d in top if not rules.match(d)] == []
    assert matched == 462


# --- rules --------------------------------------------------------------------------------------


def test_match_rules_suffix_respects_label_boundaries():
    org = OrganisationFactory()
    rule = _rule(org, M.HOST_SUFFIX, "wp.com")

    assert match_rules("evilwp.com") == []
    assert match_rules("wp.com.evil.net") == []
    assert [m.matched for m in match_rules("I0.WP.com.")] == ["i0.wp.com"]
    assert match_rules("wp.com")[0].rule_id == rule.pk


def test_match_rules_most_specific_first():
    automattic = OrganisationFactory(name="Automattic")
    _rule(automattic, M.HOST_SUFFIX, "wp.com", role="platform")
    _rule(automattic, M.HOST_SUFFIX, "*.i0.wp.com", role="cdn")
    cloudflare = OrganisationFactory(name="Cloudflare")
    _rule(cloudflare, M.NETWORK_NAME, "CLOUDFLARENET*", role="cdn")

    matches = match_rules("i0.wp.com", network_names=["cloudflarenet-eu"])

    assert [(m.pattern, m.role, m.kind) for m in matches] == [
        ("i0.wp.com", "cdn", "host_suffix"),
        ("wp.com", "platform", "host_suffix"),
        ("CLOUDFLARENET*", "cdn", "network_name"),
    ]
    assert best_by_role(matches)["cdn"].pattern == "i0.wp.com"


def test_match_rules_cname_chain_and_network_names():
    aws = OrganisationFactory(name="AWS")
    cloudfront = _rule(aws, M.CNAME_SUFFIX, "cloudfront.net", role="cdn")
    google = OrganisationFactory(name="Google")
    _rule(google, M.NETWORK_NAME, "GOOGLE", role="hosting")
    _rule(google, M.NETWORK_NAME, "GOOGLE*", role="cdn")

    matches = match_rules(
        "images.shop.example",
        ["shop-images.example.net.", "d1234abcd.CloudFront.net."],
        ["google"],
    )

    assert [(m.organisation_id, m.kind, m.pattern, m.matched) for m in matches] == [
        (aws.pk, "cname_suffix", "cloudfront.net", "d1234abcd.cloudfront.net"),
        (google.pk, "network_name", "GOOGLE", "GOOGLE"),
        (google.pk, "network_name", "GOOGLE*", "GOOGLE"),
    ]
    assert [m.role for m in matches] == ["cdn", "hosting", "cdn"]
    assert matches[0].rule_id == cloudfront.pk
    # A host rule does not look at CNAMEs, nor a CNAME rule at the hostname.
    assert match_rules("d1234abcd.cloudfront.net") == []
    assert [m.pattern for m in match_rules("x.example", network_names=["GOOGLE-CLOUD"])] == [
        "GOOGLE*"
    ]


def test_match_rules_cname_targets_in_chain_order():
    shopify = OrganisationFactory(name="Shopify")
    _rule(shopify, M.CNAME_SUFFIX, "myshopify.com")
    cloudflare = OrganisationFactory(name="Cloudflare")
    _rule(cloudflare, M.CNAME_SUFFIX, "cdn.cloudflare.net", role="cdn")
    _rule(cloudflare, M.CNAME_SUFFIX, "cloudflare.net", role="cdn")

    matches = match_rules(
        "www.shop.example", ["shops.myshopify.com", "shops.myshopify.com.cdn.cloudflare.net"]
    )

    assert [m.pattern for m in matches] == ["myshopify.com", "cdn.cloudflare.net", "cloudflare.net"]


def test_match_rules_seeded_hosts():
    seed_directory()

    def first(hostname: str, cnames: tuple[str, ...] = (), networks: tuple[str, ...] = ()):
        match = match_rules(hostname, cnames, networks)[0]
        org = Organisation.objects.get(pk=match.organisation_id)
        return org.external_key, match.role

    assert first("d176nk147hpzpn.cloudfront.net") == ("seed:amazon-aws", "cdn")
    assert first("covers.phonica.s3.amazonaws.com") == ("seed:amazon-aws", "hosting")
    assert first("i2.wp.com") == ("seed:automattic", "cdn")
    assert first("artistallisenicole.files.wordpress.com") == ("seed:automattic", "platform")
    assert first("3.bp.blogspot.com") == ("seed:google", "platform")
    assert first("storage.googleapis.com") == ("seed:google", "hosting")
    assert first("cdn.shopify.com") == ("seed:shopify", "platform")
    assert first("www.pinterest.co.uk") == ("seed:pinterest", "platform")
    assert first("kickz.akamaized.net") == ("seed:akamai", "cdn")
    assert first("shop.example", ("shop.example.cdn.cloudflare.net",)) == ("seed:cloudflare", "cdn")
    assert first("shop.example", networks=("CLOUDFLARENET",)) == ("seed:cloudflare", "cdn")
    assert first("celticandco.global.ssl.fastly.net") == ("seed:fastly", "cdn")
    assert match_rules("pinterest.xyz") == []


def test_load_rules_is_cached_until_the_rules_change(django_assert_num_queries):
    org = OrganisationFactory()
    _rule(org, M.HOST_SUFFIX, "example.com")
    first = load_rules()

    # One aggregate query per call checks the cache; the rules are not read again.
    with django_assert_num_queries(1):
        assert load_rules() is first
    with django_assert_num_queries(1):
        assert len(match_rules("a.example.com")) == 1

    _rule(org, M.HOST_SUFFIX, "example.org")
    assert load_rules() is not first
    assert len(match_rules("a.example.org")) == 1


def test_load_rules_sees_an_edit_without_signals_after_the_cache_time(monkeypatch):
    org = OrganisationFactory()
    rule = _rule(org, M.HOST_SUFFIX, "example.com")
    assert len(match_rules("a.example.com")) == 1
    # A queryset update (like another process's edit) sends no signal.
    OperatorRule.objects.filter(pk=rule.pk).update(pattern="example.net")
    assert len(match_rules("a.example.com")) == 1

    monkeypatch.setattr(rules_module, "CACHE_SECONDS", 0.0)

    assert match_rules("a.example.com") == []
    assert len(match_rules("a.example.net")) == 1


# --- importer: shared datenanfragen copy --------------------------------------------------------


def test_import_directory_shared_data_counts():
    shared_file(DATENANFRAGEN / "companies.jsonl")

    result = _import(str(DATENANFRAGEN), "--source-date", "2026-11-01")

    assert result == {
        "created": 2816,
        "updated": 0,
        "unchanged": 0,
        "skipped": 310,
        "by_kind": {
            "companies": {"created": 2759, "updated": 0, "unchanged": 0, "skipped": 310},
            "supervisory-authorities": {
                "created": 57,
                "updated": 0,
                "unchanged": 0,
                "skipped": 0,
            },
        },
        "contacts": {"created": 7725, "updated": 0, "deleted": 0},
    }
    orgs = Organisation.objects.filter(source="datenanfragen")
    assert orgs.filter(kind="dpa").count() == 57
    assert orgs.filter(kind="platform").count() == 136
    assert orgs.filter(kind="operator").count() == 2623
    assert orgs.filter(country="").count() == 0
    assert Contact.objects.filter(source_date=datetime.date(2026, 11, 1)).count() == 7725
    assert set(Contact.objects.values_list("quality", flat=True)) == {"imported"}


def test_import_directory_shared_data_mapping():
    shared_file(DATENANFRAGEN / "companies.jsonl")
    _import(str(DATENANFRAGEN))

    ionos = Organisation.objects.get(external_key="datenanfragen:1and1-gb")
    assert (ionos.name, ionos.kind, ionos.country) == ("IONOS Cloud Ltd.", "operator", "GB")
    assert best_contact(ionos, [P.PRIVACY]).value == "privacypolicy@ionos.co.uk"
    assert best_contact(ionos, [P.PRIVACY]).source == "datenanfragen/1and1-gb"
    # The state stands on the line above the country: a region where the address names one.
    greetings = Organisation.objects.get(external_key="datenanfragen:123greetings")
    assert (greetings.country, greetings.region) == ("US", "US-NY")
    assert ionos.region == ""

    berlin = Organisation.objects.get(external_key="datenanfragen-sa:deberlbdi")
    assert (berlin.kind, berlin.country, berlin.supervises) == ("dpa", "DE", ["DE-BE"])
    assert best_contact(berlin, [P.PRIVACY]).value == "mailbox@datenschutz-berlin.de"
    church = Organisation.objects.get(external_key="datenanfragen-sa:dekathdsz")
    assert church.supervises == []
    assert "Catholic dioceses in North Rhine-Westphalia only." in church.notes

    austria = Organisation.objects.get(external_key="datenanfragen-sa:atdsb")
    assert austria.supervises == ["AT"]
    assert "Complaint language: de" in austria.notes
    # No suggested medium: the schema's default for authorities ends at letter.
    assert best_contact(austria, [P.PRIVACY]).channel == "postal"
    assert best_contact(austria, [P.PRIVACY], channels=["email"]).value == "dsb@dsb.gv.at"

    lottoland = Organisation.objects.get(external_key="datenanfragen:lottoland")
    assert "EU representative (GDPR Art. 27)" in lottoland.notes
    facebook = Organisation.objects.get(external_key="datenanfragen:facebook")
    assert (facebook.kind, facebook.country) == ("platform", "IE")
    # Address, e-mail (unidays_eu_representative@..., article27@verasafe.com) or comment.
    representatives = Organisation.objects.filter(notes__contains="(GDPR Art. 27)")
    assert sorted(representatives.values_list("external_key", flat=True)) == [
        "datenanfragen:lottoland",
        "datenanfragen:myunidays",
        "datenanfragen:rocketreach",
        "datenanfragen:steam",
        "datenanfragen:wikimedia-foundation",
    ]


def test_import_directory_shared_data_again_changes_nothing():
    shared_file(DATENANFRAGEN / "companies.jsonl")
    _import(str(DATENANFRAGEN))
    before = sorted(Contact.objects.values_list("pk", "source_date"))

    result = _import(str(DATENANFRAGEN / "companies.jsonl"), "--source-date", "2030-01-01")

    assert (result["created"], result["updated"], result["unchanged"]) == (0, 0, 2759)
    assert result["contacts"] == {"created": 0, "updated": 0, "deleted": 0}
    assert sorted(Contact.objects.values_list("pk", "source_date")) == before


def test_import_directory_include_scraped():
    shared_file(DATENANFRAGEN / "companies.jsonl")

    result = _import(str(DATENANFRAGEN / "companies.jsonl"), "--include-scraped")

    assert (result["created"], result["skipped"]) == (3069, 0)
    assert (
        Organisation.objects.filter(notes__contains="datenanfragen quality: scraped").count() == 310
    )


# --- importer: layouts, updates, errors ---------------------------------------------------------


def test_import_directory_upstream_layout(tmp_path):
    _write_json(tmp_path / "companies" / "acme-pictures.json", COMPANY)
    _write_json(tmp_path / "supervisory-authorities" / "xxdpa.json", AUTHORITY)

    result = _import(str(tmp_path))

    assert (result["created"], result["by_kind"]["supervisory-authorities"]["created"]) == (2, 1)
    acme = Organisation.objects.get(external_key="datenanfragen:acme-pictures")
    assert (acme.name, acme.kind, acme.country, acme.website) == (
        "Acme Pictures Ltd.",
        "platform",
        "IE",
        "https://acme-pictures.example/",
    )
    assert acme.notes == (
        "datenanfragen quality: verified\nFax: +353 1 234 5679\n"
        "Sources: https://acme-pictures.example/privacy"
    )
    assert sorted(acme.contacts.values_list("channel", "value", "preferred")) == [
        ("email", "privacy@acme-pictures.example", True),
        ("phone", "+353 1 234 5678", False),
        ("postal", "Acme Pictures Ltd.\n1 Example Street\nDublin 2\nIreland", False),
    ]
    dpa = Organisation.objects.get(external_key="datenanfragen-sa:xxdpa")
    assert (dpa.kind, dpa.supervises, dpa.country) == ("dpa", ["IE"], "IE")
    assert dpa.contacts.get(preferred=True).channel == "postal"


def test_import_directory_single_upstream_folder_and_jsonl_file(tmp_path):
    _write_json(tmp_path / "companies" / "acme-pictures.json", COMPANY)
    (tmp_path / "supervisory-authorities.jsonl").write_text(json.dumps(AUTHORITY) + "\n")

    assert _import(str(tmp_path / "companies"))["created"] == 1
    assert _import(str(tmp_path / "supervisory-authorities.jsonl"))["by_kind"] == {
        "companies": {"created": 0, "updated": 0, "unchanged": 0, "skipped": 0},
        "supervisory-authorities": {"created": 1, "updated": 0, "unchanged": 0, "skipped": 0},
    }
    assert Organisation.objects.get(external_key="datenanfragen-sa:xxdpa").kind == "dpa"


def test_import_directory_reimport_updates_without_duplicates(tmp_path):
    path = _write_json(tmp_path / "companies" / "acme-pictures.json", COMPANY)
    _import(str(tmp_path), "--source-date", "2026-01-01")
    acme = Organisation.objects.get(external_key="datenanfragen:acme-pictures")
    kept = acme.contacts.get(channel="phone")
    override = override_contact(
        acme, P.PRIVACY, Ch.EMAIL, "dpo@acme.example", actor=None, reason="Reply came from here"
    )
    _write_json(path, {**COMPANY, "email": "dpo@acme-pictures.example", "name": "Acme Pics Ltd."})

    result = _import(str(tmp_path), "--source-date", "2026-06-01")

    assert (result["created"], result["updated"], result["unchanged"]) == (0, 1, 0)
    # The postal value holds the name, so it changed too: a new row for the new value.
    assert result["contacts"] == {"created": 2, "updated": 0, "deleted": 2}
    assert Organisation.objects.filter(external_key="datenanfragen:acme-pictures").count() == 1
    acme.refresh_from_db()
    assert acme.name == "Acme Pics Ltd."
    assert sorted(acme.contacts.values_list("channel", "value", "source_date")) == [
        ("email", "dpo@acme-pictures.example", datetime.date(2026, 6, 1)),
        ("email", "dpo@acme.example", override.source_date),
        ("phone", "+353 1 234 5678", datetime.date(2026, 1, 1)),
        (
            "postal",
            "Acme Pics Ltd.\n1 Example Street\nDublin 2\nIreland",
            datetime.date(2026, 6, 1),
        ),
    ]
    assert acme.contacts.get(channel="phone").pk == kept.pk
    assert best_contact(acme, [P.PRIVACY]) == override


def test_import_directory_preferred_follows_the_suggested_medium(tmp_path):
    record = {
        **COMPANY,
        "webform": "https://acme.example/form",
        "suggested-transport-medium": "webform",
    }
    _write_json(tmp_path / "companies" / "acme-pictures.json", record)

    _import(str(tmp_path))

    acme = Organisation.objects.get(external_key="datenanfragen:acme-pictures")
    assert list(acme.contacts.filter(preferred=True).values_list("channel", flat=True)) == [
        "webform"
    ]


@pytest.mark.parametrize(
    ("second_line", "message"),
    [
        ('{"slug": "broken", ', "companies.jsonl:2: invalid JSON"),
        ("[1, 2]", "companies.jsonl:2: expected a JSON object"),
        (
            json.dumps({k: v for k, v in COMPANY.items() if k != "address"} | {"slug": "b"}),
            "companies.jsonl:2: missing required field 'address'",
        ),
        (json.dumps({**COMPANY, "quality": "great"}), "companies.jsonl:2: unknown quality 'great'"),
        (json.dumps({**COMPANY, "slug": "Bad Slug"}), "slug 'Bad Slug' is not [a-z0-9-]+"),
        (json.dumps(COMPANY), "companies.jsonl:2: slug 'acme-pictures' appears twice"),
    ],
)
def test_import_directory_malformed_line_imports_nothing(tmp_path, second_line, message):
    path = tmp_path / "companies.jsonl"
    path.write_text(json.dumps(COMPANY) + "\n" + second_line + "\n", encoding="utf-8")

    with pytest.raises(CommandError) as caught:
        _import(str(path))

    assert caught.value.returncode == 2
    assert message in str(caught.value)
    assert str(caught.value).endswith("(nothing was imported)")
    assert "\n" not in str(caught.value)
    assert Organisation.objects.count() == 0
    assert Contact.objects.count() == 0


def test_import_directory_upstream_slug_must_match_file_name(tmp_path):
    _write_json(tmp_path / "companies" / "other-name.json", COMPANY)

    with pytest.raises(DirectoryImportError) as caught:
        import_datenanfragen(tmp_path)

    assert str(caught.value) == (
        f"{tmp_path / 'companies' / 'other-name.json'}: slug 'acme-pictures' does not match "
        "the file name"
    )


def test_import_directory_without_data_is_an_error(tmp_path):
    with pytest.raises(CommandError) as caught:
        _import(str(tmp_path))

    assert caught.value.returncode == 2
    assert "holds neither companies(.jsonl) nor supervisory-authorities(.jsonl)" in str(
        caught.value
    )


def test_import_directory_human_output(tmp_path):
    _write_json(tmp_path / "companies" / "acme-pictures.json", COMPANY)
    out = StringIO()

    call_command("import_directory", "--format", "datenanfragen", str(tmp_path), stdout=out)

    assert out.getvalue().splitlines() == [
        "1 created, 0 updated, 0 unchanged, 0 skipped (graded 'scraped')",
        "  companies: 1 created, 0 updated, 0 unchanged, 0 skipped",
        "  supervisory-authorities: 0 created, 0 updated, 0 unchanged, 0 skipped",
        "  contacts: 3 created, 0 updated, 0 deleted",
    ]


def test_seed_directory_command_output():
    out = StringIO()

    call_command("seed_directory", stdout=out)

    assert out.getvalue().splitlines() == [
        "organisations: 45 created, 0 updated, 0 unchanged",
        "contacts: 61 created, 0 updated, 0 deleted",
        "rules: 151 created, 0 updated, 0 deleted",
    ]


# --- contacts -----------------------------------------------------------------------------------


def test_best_contact_orders_by_preferred_then_quality():
    org = OrganisationFactory()
    _contact(org, value="imported@example.net", quality=Q.IMPORTED)
    whois = _contact(org, value="whois@example.net", quality=Q.WHOIS)
    rdap = _contact(org, value="rdap@example.net", quality=Q.RDAP)
    assert best_contact(org) == rdap
    verified = _contact(org, channel=Ch.WEBFORM, value="https://x.example/f", quality=Q.VERIFIED)
    assert best_contact(org) == verified
    assert best_contact(org, channels=[Ch.EMAIL]) == rdap
    preferred = _contact(org, value="preferred@example.net", preferred=True)
    assert best_contact(org) == preferred
    rdap.delete()
    assert best_contact(org, channels=[Ch.EMAIL, Ch.PHONE]) == preferred
    preferred.delete()
    assert best_contact(org, channels=[Ch.EMAIL]) == whois


def test_best_contact_purpose_order_comes_first():
    org = OrganisationFactory()
    legal = _contact(org, purpose=P.LEGAL, quality=Q.IMPORTED)
    _contact(org, purpose=P.PRIVACY, quality=Q.VERIFIED, preferred=True)

    assert best_contact(org, [P.ABUSE, P.LEGAL, P.PRIVACY]) == legal
    assert best_contact(org, [P.COPYRIGHT]) is None
    assert best_contact(org.pk, [P.LEGAL]) == legal


def test_next_contact_skips_failed_addresses_and_the_phone_and_ranks_like_best_contact():
    org = OrganisationFactory()
    failed = _contact(org, value="Abuse@Example.net", quality=Q.VERIFIED, preferred=True)
    _contact(org, channel=Ch.PHONE, value="+49 30 1234567", quality=Q.VERIFIED)
    privacy = _contact(org, purpose=P.PRIVACY, value="privacy@example.net", quality=Q.VERIFIED)
    assert best_contact(org) == failed
    # Only a purpose outside the default ones is left: it is still a contact to try.
    assert next_contact(org, {"abuse@example.net"}) == privacy
    webform = _contact(org, purpose=P.LEGAL, channel=Ch.WEBFORM, value="https://x.example/f")
    _contact(org, purpose=P.LEGAL, channel=Ch.POSTAL, value="Legal, 1 Main St, Berlin")
    # A default purpose first; within it a web form before the post, as the channels are listed.
    assert next_contact(org.pk, {"abuse@example.net"}) == webform
    legal_email = _contact(org, purpose=P.LEGAL, value="legal@example.net")
    assert next_contact(org, {"ABUSE@example.net "}) == legal_email
    assert next_contact(org, {"abuse@example.net", "legal@example.net"}) == webform
    assert next_contact(org, set()) == failed


def test_best_contacts_of_many_organisations_in_one_query(django_assert_num_queries):
    first, second, empty = OrganisationFactory(), OrganisationFactory(), OrganisationFactory()
    _contact(first, value="imported@first.example", quality=Q.IMPORTED)
    first_rdap = _contact(first, value="rdap@first.example", quality=Q.RDAP)
    second_legal = _contact(second, purpose=P.LEGAL, quality=Q.IMPORTED)
    _contact(second, purpose=P.PRIVACY, quality=Q.VERIFIED, preferred=True)

    with django_assert_num_queries(1):
        best = best_contacts([first.pk, second.pk, empty.pk], [P.ABUSE, P.LEGAL, P.PRIVACY])

    assert best == {first.pk: first_rdap, second.pk: second_legal, empty.pk: None}
    assert best[first.pk] == best_contact(first, [P.ABUSE, P.LEGAL, P.PRIVACY])


def test_override_wins_and_is_recorded_with_its_author():
    org = OrganisationFactory(name="Hoster GmbH")
    _contact(org, value="verified@example.net", quality=Q.VERIFIED, preferred=True)
    caseworker = UserFactory(username="caseworker")

    override = override_contact(
        org, P.ABUSE, Ch.EMAIL, " desk@hoster.example ", actor=caseworker, reason="Phone call"
    )

    assert best_contact(org) == override
    assert (override.value, override.quality, override.is_override, override.created_by) == (
        "desk@hoster.example",
        "override",
        True,
        caseworker,
    )
    event = CaseEvent.objects.get(kind="directory.override")
    assert (event.case_id, event.actor) == (None, caseworker)
    assert event.data == {
        "organisation": org.pk,
        "contact": override.pk,
        "purpose": "abuse",
        "channel": "email",
        "value": "desk@hoster.example",
        "reason": "Phone call",
    }
    newer = override_contact(
        org, P.ABUSE, Ch.WEBFORM, "https://h.example/f", actor=None, reason="x"
    )
    assert best_contact(org) == newer
    assert best_contact(org, channels=[Ch.EMAIL]) == override


def test_override_contact_refuses_bad_input():
    org = OrganisationFactory()
    with pytest.raises(ContactError, match="“spam” is not a purpose a contact can have"):
        override_contact(org, "spam", Ch.EMAIL, "a@b.example", actor=None, reason="r")
    with pytest.raises(ContactError, match="“fax” is not a way to reach a contact"):
        override_contact(org, P.ABUSE, "fax", "+49 1", actor=None, reason="r")
    with pytest.raises(ContactError, match="needs a reason"):
        override_contact(org, P.ABUSE, Ch.EMAIL, "a@b.example", actor=None, reason="  ")
    assert Contact.objects.count() == 0
    assert CaseEvent.objects.count() == 0


def test_seed_contact_dates_are_the_seed_date():
    seed_directory()

    assert set(Contact.objects.values_list("source_date", flat=True)) == {SEED_DATE}


def test_seed_directory_updates_a_form_whose_fields_changed():
    seed_directory()
    form = Contact.objects.get(value="https://www.bing.com/webmaster/tools/content-removal")
    Contact.objects.filter(pk=form.pk).update(form_fields=[{"label": "Old", "source": "urls"}])

    report = seed_directory()

    assert report.contacts == {"created": 0, "updated": 1, "deleted": 0}
    form.refresh_from_db()
    assert [item["label"] for item in form.form_fields] == ["Content URL", "Removal type"]
