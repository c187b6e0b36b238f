"""The curated seed: the hosts, CDNs and platforms that serve most of LAION's image URLs, and the
dataset maintainers.

Coverage: the 30 most frequent registered domains of the shared 1,000-row LAION sample
(shopify.com, wp.com, cloudfront.net, wordpress.com, amazonaws.com, zcache.com, dreamstime.com,
depositphotos.com, ebaystatic.com, ytimg.com, pinimg.com, scene7.com, fineartamerica.com,
ftcdn.net, images-amazon.com, gstatic.com, ssl-images-amazon.com, yimg.com, redbubble.net,
vectorstock.com, zcache.co.uk, blogspot.com, 123rf.com, bigcommerce.com, photoshelter.com,
etsystatic.com, aliimg.com, cpcache.com, ebayimg.com, wfrcdn.com) and the big CDNs, image hosts
and stock-photo sites beyond them.

Provenance rules:
- A contact is here only with the public page that states it (`source`). Privacy contacts are
  copied from the CC0 datenanfragen database and cite the company page that record cites,
  followed by "(via datenanfragen/<slug>)"; tests check them against the shared copy.
- Quality is "verified" only for a handful of long-published, stable channels; everything else
  is "imported". `source_date` is SEED_DATE, the day this seed was compiled; the pages were not
  fetched then (no network where it was written), so a caseworker confirming a contact should
  record an override or raise its quality here.
- Where no address could be cited, the organisation has no contact of that purpose: abuse
  contacts of networks come from RDAP at resolution time (quality "rdap"), and a caseworker can
  add an override. Inventing an address would send a person's notice to a stranger.
- Rules name domains these organisations are publicly known to run. "Rules beat WHOIS": the
  resolver trusts them over registration data, so a doubtful domain is left out.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_noop

from takedown.directory.contacts import ContactChanges, ContactSpec, plan_contacts
from takedown.directory.rules import clear_rule_cache, normalize_pattern
from takedown.models import Contact, OperatorRule, Organisation

SEED_DATE = datetime.date(2026, 11, 27)
KEY_PREFIX = "seed:"

Kind = Organisation.Kind
Purpose = Contact.Purpose
Channel = Contact.Channel
Quality = Contact.Quality
Match = OperatorRule.Match

# Contacts the seed owns on its organisations. Contacts learnt from RDAP/WHOIS and overrides are
# never touched; to add a curated contact to a seed organisation, add it here.
SEED_QUALITIES = frozenset({Quality.VERIFIED, Quality.IMPORTED})


@dataclass(frozen=True)
class SeedRule:
    match: str
    pattern: str
    role: str


@dataclass(frozen=True)
class SeedOrganisation:
    key: str
    name: str
    kind: str
    country: str
    website: str
    contacts: tuple[ContactSpec, ...] = ()
    rules: tuple[SeedRule, ...] = ()
    datasets: tuple[str, ...] = ()
    notes: str = ""

    @property
    def external_key(self) -> str:
        return KEY_PREFIX + self.key


def host(role: str, *patterns: str) -> tuple[SeedRule, ...]:
    return tuple(SeedRule(Match.HOST_SUFFIX, p, role) for p in patterns)


def cname(role: str, *patterns: str) -> tuple[SeedRule, ...]:
    return tuple(SeedRule(Match.CNAME_SUFFIX, p, role) for p in patterns)


def network(role: str, *patterns: str) -> tuple[SeedRule, ...]:
    return tuple(SeedRule(Match.NETWORK_NAME, p, role) for p in patterns)


def contact(
    purpose: str,
    channel: str,
    value: str,
    source: str,
    *,
    preferred: bool = False,
    verified: bool = False,
    form_fields: tuple[dict[str, Any], ...] = (),
) -> ContactSpec:
    quality = Quality.VERIFIED if verified else Quality.IMPORTED
    return ContactSpec(purpose, channel, value, source, quality, preferred, form_fields)


def form_field(label: str, source: str, **extra: Any) -> dict[str, Any]:
    """One field of a web form (Contact.form_fields; sources in notices/webform.py)."""
    return {"label": label, "source": source, **extra}


# Shown beside a form field that asks for an identity document. Hints are the caseworker's
# guidance: the form page shows them in the caseworker's language (notices/webform.py).
ID_HINT = gettext_noop(
    "a copy of the person's identity document, sent only with their consent; details not"
    " needed to verify the name may be blacked out. Check on the form whether it still asks"
    " for one"
)


def via_datenanfragen(
    slug: str, page: str, channel: str, value: str, *, purpose: str = Purpose.PRIVACY, **kw: Any
) -> ContactSpec:
    """A contact copied from the datenanfragen record `slug`, citing the page that record cites."""
    return contact(purpose, channel, value, f"{page} (via datenanfragen/{slug})", **kw)


NO_CONTACT = (
    "No contact address could be cited for the seed: use the RDAP abuse contact of the "
    "hosting network or record a caseworker override."
)

SEED: tuple[SeedOrganisation, ...] = (
    # --- dataset maintainers and where their metadata lives ------------------------------------
    SeedOrganisation(
        key="laion",
        name="LAION e.V.",
        kind=Kind.DATASET_MAINTAINER,
        country="DE",
        website="https://laion.ai/",
        datasets=(
            "laion-5b",
            "laion-400m",
            "laion-2b-en",
            "laion-2b-multi",
            "laion-1b-nolang",
            "re-laion-5b",
            "re-laion-2b-en-research",
            "re-laion-2b-en-research-safe",
            "laion-aesthetics",
            "laion-coco",
        ),
        contacts=(
            contact(
                Purpose.GENERAL, Channel.EMAIL, "contact@laion.ai", "https://laion.ai/impressum/"
            ),
            contact(
                Purpose.PRIVACY,
                Channel.EMAIL,
                "contact@laion.ai",
                "https://laion.ai/impressum/",
                preferred=True,
            ),
            contact(
                Purpose.LEGAL,
                Channel.POSTAL,
                "LAION e.V.\nMarie-Henning-Weg 143\n21035 Hamburg\nGermany",
                "https://laion.ai/impressum/",
            ),
        ),
        notes=(
            "Registered association under German law (Hamburg). LAION publishes URL/alt-text "
            "lists, not the images: removal from a dataset means removing the row from the "
            "metadata (Re-LAION releases), removal of the image itself goes to its host."
        ),
    ),
    SeedOrganisation(
        key="huggingface",
        name="Hugging Face, Inc.",
        kind=Kind.PLATFORM,
        country="US",
        website="https://huggingface.co/",
        rules=host(Kind.PLATFORM, "huggingface.co", "hf.co"),
        notes=(
            "Hosts dataset metadata (LAION and derived URL lists) and model weights. "
            "Datasets have a report function and a community tab. " + NO_CONTACT
        ),
    ),
    # --- CDNs and cloud hosting -----------------------------------------------------------------
    SeedOrganisation(
        key="amazon-aws",
        name="Amazon Web Services, Inc.",
        kind=Kind.HOSTING,
        country="US",
        website="https://aws.amazon.com/",
        contacts=(
            contact(
                Purpose.ABUSE,
                Channel.EMAIL,
                "abuse@amazonaws.com",
                "https://repost.aws/knowledge-center/report-aws-abuse",
                preferred=True,
                verified=True,
            ),
            contact(
                Purpose.ABUSE,
                Channel.WEBFORM,
                "https://support.aws.amazon.com/#/contacts/report-abuse",
                "https://repost.aws/knowledge-center/report-aws-abuse",
            ),
            contact(
                Purpose.LEGAL,
                Channel.POSTAL,
                "Amazon Web Services, Inc.\n410 Terry Avenue North\nSeattle, WA 98109-5210\n"
                "United States",
                "https://aws.amazon.com/agreement/",
            ),
            via_datenanfragen(
                "amazon-aws",
                "https://aws.amazon.com/privacy/",
                Channel.EMAIL,
                "aws-EU-privacy@amazon.com",
            ),
        ),
        rules=(
            *host(Kind.HOSTING, "amazonaws.com", "s3.amazonaws.com"),
            *host(Kind.CDN, "cloudfront.net"),
            *cname(Kind.CDN, "cloudfront.net"),
            *cname(Kind.HOSTING, "amazonaws.com"),
        ),
        notes=(
            "S3 and CloudFront serve content of AWS customers: AWS forwards abuse reports to the "
            "customer. The bucket name (first label of *.s3.amazonaws.com) or the CloudFront "
            "distribution id identifies the customer to AWS. EU privacy: Amazon Web Services "
            "EMEA SARL, Luxembourg."
        ),
    ),
    SeedOrganisation(
        key="cloudflare",
        name="Cloudflare, Inc.",
        kind=Kind.CDN,
        country="US",
        website="https://www.cloudflare.com/",
        contacts=(
            contact(
                Purpose.ABUSE,
                Channel.WEBFORM,
                "https://abuse.cloudflare.com/",
                "https://www.cloudflare.com/trust-hub/reporting-abuse/",
                preferred=True,
                verified=True,
            ),
            # Its abuse-report API, used instead of the form where the team has an API token
            # (takedown/notices/cloudflare.py, docs/cloudflare.md).
            contact(
                Purpose.ABUSE,
                Channel.API,
                "cloudflare",
                "https://developers.cloudflare.com/api/resources/abuse_reports/methods/create/",
            ),
            contact(
                Purpose.LEGAL,
                Channel.POSTAL,
                "Cloudflare, Inc.\n101 Townsend St\nSan Francisco, CA 94107\nUnited States",
                "https://www.cloudflare.com/privacypolicy/",
            ),
            via_datenanfragen(
                "cloudflare",
                "https://www.cloudflare.com/privacypolicy/",
                Channel.EMAIL,
                "sar@cloudflare.com",
            ),
        ),
        rules=(
            *cname(Kind.CDN, "cloudflare.net", "cdn.cloudflare.net"),
            *host(Kind.HOSTING, "r2.dev", "pages.dev", "workers.dev"),
            *network(Kind.CDN, "CLOUDFLARENET*"),
        ),
        notes=(
            "As a proxy CDN Cloudflare usually does not host the file: its abuse form forwards "
            "reports to the site's hosting provider and can reveal the origin host. R2, Pages "
            "and Workers are Cloudflare hosting."
        ),
    ),
    SeedOrganisation(
        key="akamai",
        name="Akamai Technologies, Inc.",
        kind=Kind.CDN,
        country="US",
        website="https://www.akamai.com/",
        contacts=(
            via_datenanfragen(
                "linode",
                "https://www.akamai.com/legal/privacy-statement",
                Channel.EMAIL,
                "privacy@akamai.com",
            ),
        ),
        rules=(
            *host(
                Kind.CDN,
                "akamaihd.net",
                "akamaized.net",
                "edgesuite.net",
                "edgekey.net",
                "akamaiedge.net",
                "akamai.net",
            ),
            *cname(
                Kind.CDN,
                "akamaihd.net",
                "akamaized.net",
                "edgesuite.net",
                "edgekey.net",
                "akamaiedge.net",
                "akamai.net",
            ),
        ),
        notes="Abuse contact: from RDAP of the serving network. Linode is Akamai's cloud hosting.",
    ),
    SeedOrganisation(
        key="fastly",
        name="Fastly, Inc.",
        kind=Kind.CDN,
        country="US",
        website="https://www.fastly.com/",
        rules=(
            *host(Kind.CDN, "fastly.net", "fastlylb.net"),
            *cname(Kind.CDN, "fastly.net", "fastlylb.net"),
        ),
        notes=(
            "Hostnames such as <customer>.global.ssl.fastly.net and <customer>-prod.freetls."
            "fastly.net name the customer in their first label. " + NO_CONTACT
        ),
    ),
    SeedOrganisation(
        key="microsoft",
        name="Microsoft Corporation",
        kind=Kind.HOSTING,
        country="US",
        website="https://www.microsoft.com/",
        contacts=(
            contact(
                Purpose.ABUSE,
                Channel.WEBFORM,
                "https://msrc.microsoft.com/report/abuse",
                "https://msrc.microsoft.com/report/abuse",
                preferred=True,
            ),
            contact(
                Purpose.LEGAL,
                Channel.POSTAL,
                "Microsoft Corporation\nOne Microsoft Way\nRedmond, WA 98052\nUnited States",
                "https://privacy.microsoft.com/privacystatement",
            ),
            via_datenanfragen(
                "microsoft",
                "https://privacy.microsoft.com/privacystatement",
                Channel.WEBFORM,
                "https://www.microsoft.com/en-us/concern/privacyrequest-msa",
            ),
        ),
        rules=(
            *host(Kind.CDN, "azureedge.net"),
            *host(Kind.HOSTING, "blob.core.windows.net", "azurewebsites.net"),
            *host(Kind.PLATFORM, "bing.net"),
            *cname(Kind.CDN, "azureedge.net", "azurefd.net"),
            *cname(Kind.HOSTING, "blob.core.windows.net", "azurewebsites.net"),
        ),
        notes="Azure CDN and storage serve customers' files; tse*.mm.bing.net are Bing thumbnails.",
    ),
    SeedOrganisation(
        key="rackspace",
        name="Rackspace US, Inc.",
        kind=Kind.HOSTING,
        country="US",
        website="https://www.rackspace.com/",
        rules=host(Kind.CDN, "rackcdn.com"),
        notes="rackcdn.com serves Rackspace Cloud Files containers. " + NO_CONTACT,
    ),
    # --- platforms: blogs, shops, social networks, image hosts -----------------------------------
    SeedOrganisation(
        key="automattic",
        name="Automattic Inc.",
        kind=Kind.PLATFORM,
        country="US",
        website="https://automattic.com/",
        contacts=(
            contact(
                Purpose.ABUSE,
                Channel.WEBFORM,
                "https://wordpress.com/abuse/",
                "https://wordpress.com/abuse/",
                preferred=True,
            ),
            contact(
                Purpose.COPYRIGHT,
                Channel.WEBFORM,
                "https://automattic.com/dmca-notice/",
                "https://automattic.com/dmca-notice/",
                preferred=True,
            ),
            contact(
                Purpose.COPYRIGHT,
                Channel.EMAIL,
                "dmca@automattic.com",
                "https://automattic.com/dmca-notice/",
            ),
            contact(
                Purpose.LEGAL,
                Channel.POSTAL,
                "Automattic Inc.\n60 29th Street #343\nSan Francisco, CA 94110\nUnited States",
                "https://automattic.com/privacy/",
            ),
            via_datenanfragen(
                "automattic",
                "https://automattic.com/privacy/",
                Channel.EMAIL,
                "privacypolicyupdates@automattic.com",
            ),
        ),
        rules=(
            *host(Kind.PLATFORM, "wordpress.com", "files.wordpress.com", "wp.com"),
            # i0-i3.wp.com is the Jetpack image CDN: it proxies images of any WordPress site,
            # and the origin host is the first path segment of the URL.
            *host(Kind.CDN, "i0.wp.com", "i1.wp.com", "i2.wp.com", "i3.wp.com"),
            *cname(Kind.HOSTING, "wordpress.com"),
        ),
        notes=(
            "Runs WordPress.com, Jetpack and Tumblr. For i0/i1/i2/i3.wp.com URLs the image "
            "belongs to the site in the URL path (e.g. i0.wp.com/example.com/...): notify that "
            "site's host too. EU entity: Aut O'Mattic A8C Ireland Ltd."
        ),
    ),
    SeedOrganisation(
        key="tumblr",
        name="Tumblr, Inc.",
        kind=Kind.PLATFORM,
        country="US",
        website="https://www.tumblr.com/",
        contacts=(
            contact(
                Purpose.ABUSE,
                Channel.WEBFORM,
                "https://www.tumblr.com/abuse",
                "https://www.tumblr.com/abuse",
                preferred=True,
            ),
            contact(
                Purpose.COPYRIGHT,
                Channel.WEBFORM,
                "https://www.tumblr.com/dmca",
                "https://www.tumblr.com/dmca",
            ),
            via_datenanfragen(
                "automattic",
                "https://www.tumblr.com/privacy/en_eu",
                Channel.EMAIL,
                "privacypolicyupdates@automattic.com",
            ),
        ),
        rules=host(Kind.PLATFORM, "tumblr.com"),
        notes="Owned by Automattic.",
    ),
    SeedOrganisation(
        key="google",
        name="Google LLC",
        kind=Kind.PLATFORM,
        country="US",
        website="https://www.google.com/",
        contacts=(
            contact(
                Purpose.LEGAL,
                Channel.WEBFORM,
                "https://support.google.com/legal/answer/3110420",
                "https://support.google.com/legal/answer/3110420",
                preferred=True,
            ),
            contact(
                Purpose.COPYRIGHT,
                Channel.WEBFORM,
                "https://support.google.com/legal/answer/3110420",
                "https://support.google.com/legal/answer/3110420",
                preferred=True,
            ),
            contact(
                Purpose.PRIVACY,
                Channel.WEBFORM,
                "https://support.google.com/legal/answer/3110420",
                "https://support.google.com/legal/answer/3110420",
                preferred=True,
            ),
            contact(
                Purpose.ABUSE,
                Channel.WEBFORM,
                "https://support.google.com/code/contact/cloud_platform_report",
                "https://support.google.com/code/contact/cloud_platform_report",
            ),
            via_datenanfragen(
                "google",
                "https://www.google.de/contact/impressum.html",
                Channel.POSTAL,
                "Google LLC\n1600 Amphitheatre Pkwy\nMountain View\nCA 94043\n"
                "United States of America",
                purpose=Purpose.LEGAL,
            ),
        ),
        rules=(
            *host(
                Kind.PLATFORM,
                "blogspot.com",
                "bp.blogspot.com",
                "googleusercontent.com",
                "ggpht.com",
                "ytimg.com",
                "youtube.com",
                "gstatic.com",
                "googleapis.com",
            ),
            *host(Kind.HOSTING, "storage.googleapis.com"),
            *cname(Kind.PLATFORM, "ghs.google.com", "ghs.googlehosted.com"),
            *cname(Kind.HOSTING, "c.storage.googleapis.com"),
            *network(Kind.HOSTING, "GOOGLE"),
        ),
        notes=(
            "Blogger (blogspot), Google Photos/Drive (googleusercontent, ggpht), YouTube "
            "thumbnails (ytimg), Google Images thumbnails (encrypted-tbn*.gstatic.com), Google "
            "Cloud Storage (storage.googleapis.com: a customer's bucket). Removal from Google "
            "Search results of intimate images: https://support.google.com/websearch/answer/"
            "6302812. The datenanfragen address data-access-requests@google.com is for access "
            "requests, not removals. EU entity: Google Ireland Limited."
        ),
    ),
    SeedOrganisation(
        key="shopify",
        name="Shopify Inc.",
        kind=Kind.PLATFORM,
        country="CA",
        website="https://www.shopify.com/",
        contacts=(
            contact(
                Purpose.ABUSE,
                Channel.WEBFORM,
                "https://www.shopify.com/legal/report-aup-violation",
                "https://www.shopify.com/legal/aup",
                preferred=True,
            ),
            via_datenanfragen(
                "shopify",
                "https://www.shopify.com/legal/privacy",
                Channel.EMAIL,
                "privacy@shopify.com",
            ),
        ),
        rules=(
            *host(Kind.PLATFORM, "shopify.com", "cdn.shopify.com", "myshopify.com"),
            *cname(Kind.PLATFORM, "myshopify.com"),
        ),
        notes=(
            "cdn.shopify.com serves images of Shopify merchants: the merchant (the shop's own "
            "domain) is the operator; Shopify is the host. Shopify's privacy address covers "
            "its own data, not merchants' (datenanfragen comment). EU entity: Shopify "
            "International Ltd., Dublin."
        ),
    ),
    SeedOrganisation(
        key="pinterest",
        name="Pinterest, Inc.",
        kind=Kind.PLATFORM,
        country="US",
        website="https://www.pinterest.com/",
        contacts=(
            via_datenanfragen(
                "pinterest",
                "https://policy.pinterest.com/en/privacy-policy",
                Channel.EMAIL,
                "privacy-support@pinterest.com",
                preferred=True,
            ),
            via_datenanfragen(
                "pinterest",
                "https://policy.pinterest.com/en/privacy-policy",
                Channel.WEBFORM,
                "https://help.pinterest.com/en/contact",
            ),
        ),
        rules=host(
            Kind.PLATFORM,
            "pinimg.com",
            "pin.it",
            "pinterest.com",
            "pinterest.de",
            "pinterest.co.uk",
            "pinterest.fr",
            "pinterest.ca",
            "pinterest.com.au",
            "pinterest.es",
            "pinterest.it",
            "pinterest.jp",
            "pinterest.at",
            "pinterest.ch",
            "pinterest.se",
            "pinterest.dk",
            "pinterest.pt",
            "pinterest.ie",
            "pinterest.nz",
            "pinterest.com.mx",
        ),
        notes=(
            "Country sites are listed one by one rather than as pinterest.*: a wildcard would "
            "hand look-alike domains on other TLDs to Pinterest. EU entity: Pinterest Europe "
            "Ltd., Dublin."
        ),
    ),
    SeedOrganisation(
        key="amazon",
        name="Amazon.com, Inc.",
        kind=Kind.PLATFORM,
        country="US",
        website="https://www.amazon.com/",
        contacts=(
            contact(
                Purpose.COPYRIGHT,
                Channel.WEBFORM,
                "https://www.amazon.com/report/infringement",
                "https://www.amazon.com/report/infringement",
                preferred=True,
            ),
            contact(
                Purpose.COPYRIGHT,
                Channel.EMAIL,
                "copyright@amazon.com",
                "https://www.amazon.com/gp/help/customer/display.html?nodeId=508088",
            ),
        ),
        rules=host(Kind.PLATFORM, "media-amazon.com", "ssl-images-amazon.com", "images-amazon.com"),
        notes=(
            "Product and review images of the Amazon stores. EU privacy requests: Amazon "
            "Europe Core SARL (datenanfragen amazon-de, amazon-fr, ...)."
        ),
    ),
    SeedOrganisation(
        key="meta",
        name="Meta Platforms, Inc.",
        kind=Kind.PLATFORM,
        country="US",
        website="https://about.meta.com/",
        contacts=(
            via_datenanfragen(
                "facebook",
                "https://www.facebook.com/privacy/policy/",
                Channel.WEBFORM,
                "https://www.facebook.com/help/contact/540977946302970",
                preferred=True,
            ),
        ),
        rules=host(Kind.PLATFORM, "fbcdn.net", "facebook.com", "instagram.com", "cdninstagram.com"),
        notes=(
            "Intimate images shared without consent: StopNCII.org hashes them so that Meta and "
            "other participating platforms block copies. EU entity: Meta Platforms Ireland Ltd."
        ),
    ),
    SeedOrganisation(
        key="x",
        name="X Corp.",
        kind=Kind.PLATFORM,
        country="US",
        website="https://x.com/",
        contacts=(
            via_datenanfragen(
                "twitter",
                "https://twitter.com/en/privacy",
                Channel.WEBFORM,
                "https://help.x.com/forms/privacy",
                preferred=True,
            ),
        ),
        rules=host(Kind.PLATFORM, "twimg.com", "twitter.com", "x.com"),
        notes="EU entity: Twitter International Unlimited Company, Dublin.",
    ),
    SeedOrganisation(
        key="reddit",
        name="Reddit, Inc.",
        kind=Kind.PLATFORM,
        country="US",
        website="https://www.reddit.com/",
        contacts=(
            contact(
                Purpose.ABUSE,
                Channel.WEBFORM,
                "https://www.reddit.com/report",
                "https://www.reddit.com/report",
                preferred=True,
            ),
            via_datenanfragen(
                "reddit",
                "https://www.reddit.com/policies/privacy-policy",
                Channel.EMAIL,
                "redditdatarequests@reddit.com",
            ),
        ),
        rules=host(Kind.PLATFORM, "redd.it", "redditmedia.com", "redditstatic.com", "reddit.com"),
        notes="EU entity: Reddit Netherlands B.V.",
    ),
    SeedOrganisation(
        key="imgur",
        name="Imgur, Inc.",
        kind=Kind.PLATFORM,
        country="US",
        website="https://imgur.com/",
        contacts=(
            via_datenanfragen(
                "imgur", "https://imgur.com/privacy", Channel.EMAIL, "privacy@imgur.com"
            ),
        ),
        rules=host(Kind.PLATFORM, "imgur.com"),
        notes="EU representative (GDPR Art. 27): DP-Dock GmbH, Hamburg (datenanfragen imgur).",
    ),
    SeedOrganisation(
        key="smugmug",
        name="SmugMug, Inc.",
        kind=Kind.PLATFORM,
        country="US",
        website="https://www.smugmug.com/",
        contacts=(
            contact(
                Purpose.ABUSE,
                Channel.WEBFORM,
                "https://www.flickr.com/report_abuse.gne",
                "https://www.flickr.com/report_abuse.gne",
                preferred=True,
            ),
            via_datenanfragen(
                "smugmug", "https://www.flickr.com/help/privacy", Channel.EMAIL, "help@SmugMug.com"
            ),
        ),
        rules=host(Kind.PLATFORM, "staticflickr.com", "flickr.com", "smugmug.com"),
        notes="Runs Flickr (staticflickr.com) and SmugMug.",
    ),
    SeedOrganisation(
        key="squarespace",
        name="Squarespace, Inc.",
        kind=Kind.PLATFORM,
        country="US",
        website="https://www.squarespace.com/",
        rules=(
            *host(Kind.PLATFORM, "squarespace-cdn.com", "squarespace.com", "sqspcdn.com"),
            *cname(Kind.PLATFORM, "squarespace.com"),
        ),
        notes=NO_CONTACT,
    ),
    SeedOrganisation(
        key="wix",
        name="Wix.com Ltd.",
        kind=Kind.PLATFORM,
        country="IL",
        website="https://www.wix.com/",
        contacts=(
            via_datenanfragen(
                "wix", "https://de.wix.com/about/privacy", Channel.EMAIL, "privacy@wix.com"
            ),
        ),
        rules=(
            *host(Kind.PLATFORM, "wixstatic.com", "wix.com", "parastorage.com"),
            *cname(Kind.PLATFORM, "wixdns.net"),
        ),
        notes="EU entity: Wix.com Luxembourg S.a.r.l.",
    ),
    SeedOrganisation(
        key="github",
        name="GitHub, Inc.",
        kind=Kind.PLATFORM,
        country="US",
        website="https://github.com/",
        contacts=(
            contact(
                Purpose.COPYRIGHT,
                Channel.WEBFORM,
                "https://github.com/contact/dmca",
                "https://docs.github.com/en/site-policy/content-removal-policies/dmca-takedown-policy",
                preferred=True,
                verified=True,
            ),
            contact(
                Purpose.ABUSE,
                Channel.WEBFORM,
                "https://support.github.com/contact/report-abuse",
                "https://docs.github.com/en/communities/maintaining-your-safety-on-github/reporting-abuse-or-spam",
                preferred=True,
            ),
            via_datenanfragen(
                "github",
                "https://help.github.com/articles/github-privacy-statement/",
                Channel.EMAIL,
                "privacy@github.com",
            ),
            via_datenanfragen(
                "github",
                "https://help.github.com/articles/github-privacy-statement/",
                Channel.POSTAL,
                "GitHub, Inc.\n88 Colin P Kelly Jr St\nSan Francisco\nCA 94107\n"
                "United States of America",
                purpose=Purpose.LEGAL,
            ),
        ),
        rules=host(Kind.PLATFORM, "githubusercontent.com", "github.io", "github.com"),
        notes=(
            "Private information removal policy: https://docs.github.com/en/site-policy/"
            "content-removal-policies/github-private-information-removal-policy. Owned by "
            "Microsoft."
        ),
    ),
    # --- shops and marketplaces -----------------------------------------------------------------
    SeedOrganisation(
        key="ebay",
        name="eBay Inc.",
        kind=Kind.PLATFORM,
        country="US",
        website="https://www.ebay.com/",
        contacts=(
            via_datenanfragen(
                "ebay-de",
                "https://pages.ebay.de/help/policies/privacy-policy.html",
                Channel.WEBFORM,
                "https://ocswf.ebay.com/guest/privacy",
                preferred=True,
            ),
        ),
        rules=host(Kind.PLATFORM, "ebayimg.com", "ebaystatic.com", "ebay.com"),
        notes="Listing images. EU entity (DE/AT/CH): eBay GmbH, Kleinmachnow.",
    ),
    SeedOrganisation(
        key="etsy",
        name="Etsy, Inc.",
        kind=Kind.PLATFORM,
        country="US",
        website="https://www.etsy.com/",
        contacts=(
            via_datenanfragen(
                "etsy", "https://www.etsy.com/legal/privacy/", Channel.EMAIL, "dpo@etsy.com"
            ),
        ),
        rules=host(Kind.PLATFORM, "etsystatic.com", "etsy.com"),
        notes="EU entity: Etsy Ireland UC.",
    ),
    SeedOrganisation(
        key="alibaba",
        name="Alibaba Group Holding Limited",
        kind=Kind.PLATFORM,
        country="CN",
        website="https://www.alibabagroup.com/",
        contacts=(
            contact(
                Purpose.COPYRIGHT,
                Channel.WEBFORM,
                "https://ipp.alibabagroup.com/",
                "https://ipp.alibabagroup.com/",
                preferred=True,
            ),
            via_datenanfragen(
                "alibaba",
                "https://rule.alibaba.com/rule/detail/2034.htm",
                Channel.EMAIL,
                "dataprotection@service.alibaba.com",
            ),
        ),
        rules=host(Kind.PLATFORM, "alicdn.com", "aliimg.com", "alibaba.com", "aliexpress.com"),
        notes="Alibaba.com and AliExpress product images. Privacy: Alibaba.com Singapore "
        "E-Commerce Private Limited.",
    ),
    SeedOrganisation(
        key="yahoo",
        name="Yahoo Inc.",
        kind=Kind.PLATFORM,
        country="US",
        website="https://www.yahoo.com/",
        contacts=(
            via_datenanfragen(
                "verizon-media",
                "https://legal.yahoo.com/ie/en/yahoo/privacy/index.html",
                Channel.EMAIL,
                "dpo-contact@yahooinc.com",
            ),
        ),
        rules=host(Kind.PLATFORM, "yimg.com"),
        notes="ep.yimg.com served Yahoo Stores. EU entity: Yahoo EMEA Limited.",
    ),
    SeedOrganisation(
        key="adobe",
        name="Adobe Inc.",
        kind=Kind.PLATFORM,
        country="US",
        website="https://www.adobe.com/",
        contacts=(
            contact(
                Purpose.COPYRIGHT,
                Channel.EMAIL,
                "copyright@adobe.com",
                "https://www.adobe.com/legal/dmca.html",
            ),
            via_datenanfragen(
                "adobe", "https://www.adobe.com/privacy/policy.html", Channel.EMAIL, "dpo@adobe.com"
            ),
        ),
        rules=(
            # Dynamic Media (Scene7) serves retailers' images: <retailer>.scene7.com.
            *host(Kind.HOSTING, "scene7.com"),
            # Adobe Stock (formerly Fotolia) thumbnails.
            *host(Kind.PLATFORM, "ftcdn.net"),
        ),
        notes="For *.scene7.com the retailer named in the first label is the operator.",
    ),
    SeedOrganisation(
        key="zazzle",
        name="Zazzle Inc.",
        kind=Kind.PLATFORM,
        country="US",
        website="https://www.zazzle.com/",
        rules=host(
            Kind.PLATFORM,
            "zcache.com",
            "zcache.co.uk",
            "zcache.ca",
            "zcache.com.au",
            "zcache.fr",
            "zazzle.com",
        ),
        notes="zcache.* serves Zazzle product images. " + NO_CONTACT,
    ),
    SeedOrganisation(
        key="redbubble",
        name="Redbubble Ltd",
        kind=Kind.PLATFORM,
        country="AU",
        website="https://www.redbubble.com/",
        rules=host(Kind.PLATFORM, "redbubble.net", "redbubble.com"),
        notes=NO_CONTACT,
    ),
    SeedOrganisation(
        key="cafepress",
        name="CafePress Inc.",
        kind=Kind.PLATFORM,
        country="US",
        website="https://www.cafepress.com/",
        rules=host(Kind.PLATFORM, "cpcache.com", "cafepress.com"),
        notes=NO_CONTACT,
    ),
    SeedOrganisation(
        key="wayfair",
        name="Wayfair LLC",
        kind=Kind.PLATFORM,
        country="US",
        website="https://www.wayfair.com/",
        rules=host(Kind.PLATFORM, "wfrcdn.com", "wfcdn.com", "wayfair.com"),
        notes=NO_CONTACT,
    ),
    SeedOrganisation(
        key="bigcommerce",
        name="BigCommerce, Inc.",
        kind=Kind.PLATFORM,
        country="US",
        website="https://www.bigcommerce.com/",
        rules=host(Kind.PLATFORM, "bigcommerce.com"),
        notes="cdn*.bigcommerce.com serves images of BigCommerce merchants. " + NO_CONTACT,
    ),
    SeedOrganisation(
        key="fineartamerica",
        name="Fine Art America",
        kind=Kind.PLATFORM,
        country="US",
        website="https://fineartamerica.com/",
        rules=host(Kind.PLATFORM, "fineartamerica.com"),
        notes=NO_CONTACT,
    ),
    SeedOrganisation(
        key="photoshelter",
        name="PhotoShelter, Inc.",
        kind=Kind.PLATFORM,
        country="US",
        website="https://www.photoshelter.com/",
        rules=host(Kind.PLATFORM, "photoshelter.com"),
        notes="Hosts photographers' portfolios. " + NO_CONTACT,
    ),
    # --- stock photography ----------------------------------------------------------------------
    SeedOrganisation(
        key="shutterstock",
        name="Shutterstock, Inc.",
        kind=Kind.PLATFORM,
        country="US",
        website="https://www.shutterstock.com/",
        contacts=(
            via_datenanfragen(
                "shutterstock",
                "https://www.shutterstock.com/privacy",
                Channel.EMAIL,
                "privacy@shutterstock.com",
                preferred=True,
            ),
            via_datenanfragen(
                "shutterstock",
                "https://www.shutterstock.com/privacy",
                Channel.WEBFORM,
                "https://shutterstock.my.site.com/support/s/privacyrequest",
            ),
        ),
        rules=host(Kind.PLATFORM, "shutterstock.com", "bigstockphoto.com"),
        notes="Runs Bigstock. EU entity: Shutterstock Ireland Limited.",
    ),
    SeedOrganisation(
        key="getty",
        name="Getty Images (US), Inc.",
        kind=Kind.PLATFORM,
        country="US",
        website="https://www.gettyimages.com/",
        rules=host(Kind.PLATFORM, "gettyimages.com", "istockphoto.com"),
        notes="Runs iStock. " + NO_CONTACT,
    ),
    SeedOrganisation(
        key="unsplash",
        name="Unsplash Inc.",
        kind=Kind.PLATFORM,
        country="CA",
        website="https://unsplash.com/",
        rules=host(Kind.PLATFORM, "unsplash.com"),
        notes="Owned by Getty Images. " + NO_CONTACT,
    ),
    SeedOrganisation(
        key="dreamstime",
        name="Dreamstime.com, LLC",
        kind=Kind.PLATFORM,
        country="US",
        website="https://www.dreamstime.com/",
        rules=host(Kind.PLATFORM, "dreamstime.com"),
        notes=NO_CONTACT,
    ),
    SeedOrganisation(
        key="depositphotos",
        name="Depositphotos",
        kind=Kind.PLATFORM,
        country="",
        website="https://depositphotos.com/",
        rules=host(Kind.PLATFORM, "depositphotos.com"),
        notes=NO_CONTACT,
    ),
    SeedOrganisation(
        key="123rf",
        name="123RF",
        kind=Kind.PLATFORM,
        country="",
        website="https://www.123rf.com/",
        rules=host(Kind.PLATFORM, "123rf.com"),
        notes=NO_CONTACT,
    ),
    SeedOrganisation(
        key="vectorstock",
        name="VectorStock",
        kind=Kind.PLATFORM,
        country="",
        website="https://www.vectorstock.com/",
        rules=host(Kind.PLATFORM, "vectorstock.com"),
        notes=NO_CONTACT,
    ),
    SeedOrganisation(
        key="alamy",
        name="Alamy Ltd",
        kind=Kind.PLATFORM,
        country="GB",
        website="https://www.alamy.com/",
        rules=host(Kind.PLATFORM, "alamy.com"),
        notes=NO_CONTACT,
    ),
    SeedOrganisation(
        key="pixabay",
        name="Pixabay GmbH",
        kind=Kind.PLATFORM,
        country="DE",
        website="https://pixabay.com/",
        rules=host(Kind.PLATFORM, "pixabay.com"),
        notes="Owned by Canva. " + NO_CONTACT,
    ),
)


SEARCH_ENGINES: tuple[SeedOrganisation, ...] = (
    # --- search engines: their web forms (docs/law/search-engines.md) ---------------------------
    # Each form's fields are those the cited pages describe; a field no page names is not here.
    SeedOrganisation(
        key="google-search",
        name="Google Search (Google LLC)",
        kind=Kind.SEARCH_ENGINE,
        country="US",
        website="https://www.google.com/",
        contacts=(
            contact(
                Purpose.NCII,
                Channel.WEBFORM,
                "https://support.google.com/websearch/answer/6302812",
                "https://support.google.com/websearch/answer/6302812",
                preferred=True,
                form_fields=(
                    form_field(
                        "Type of content you want to remove",
                        "fixed",
                        value="Content contains nudity or sexual material",
                    ),
                    form_field("Your country of residence", "person_country"),
                    form_field("Your e-mail address (for the confirmation)", "email"),
                    form_field("How you are authorised to act for the person", "relation"),
                    form_field("Image and web URLs", "urls"),
                    form_field("Describe the content", "description"),
                ),
            ),
            contact(
                Purpose.DELISTING,
                Channel.WEBFORM,
                "https://www.google.com/webmasters/tools/legal-removal-request?complaint_type=rtbf",
                "https://blog.servage.net/2018/02/28/google-receives-2-4m-requests-to-delete-"
                "search-results/",
                preferred=True,
                form_fields=(
                    form_field("Country whose law applies to your request", "person_country"),
                    form_field("Full name", "person_name"),
                    form_field("Name used to search", "queries"),
                    form_field("Relationship to the person you represent", "relation"),
                    form_field("Contact e-mail address", "email"),
                    form_field("Photo ID", "by_hand", hint=ID_HINT),
                    form_field("URLs of the results to remove", "urls"),
                    form_field("Why each URL should be removed", "description"),
                    form_field("Signature", "name"),
                ),
            ),
            contact(
                Purpose.OUTDATED,
                Channel.WEBFORM,
                "https://search.google.com/search-console/remove-outdated-content",
                "https://developers.google.com/search/blog/2013/12/improving-url-removals-on-"
                "third-party",
                preferred=True,
                form_fields=(form_field("URL (one request per URL)", "urls"),),
            ),
        ),
        notes=(
            "Google's forms: intimate images shared without consent (worldwide, its own"
            " policy), the EU privacy form (GDPR, results for searches on the person's name in"
            " the EU/EEA) and the outdated-content tool (anyone signed in with a Google account;"
            " the page must return 404 or 410). Results pages of Startpage come from Google."
        ),
    ),
    SeedOrganisation(
        key="bing",
        name="Microsoft Bing (Microsoft Corporation)",
        kind=Kind.SEARCH_ENGINE,
        country="US",
        website="https://www.bing.com/",
        contacts=(
            contact(
                Purpose.NCII,
                Channel.WEBFORM,
                "https://www.microsoft.com/en-us/concern/revengeporn",
                "https://searchengineland.com/microsofts-revenge-porn-reporting-page-aims-to-"
                "remove-explicit-content-from-search-results-225804",
                preferred=True,
                form_fields=(
                    form_field("Name", "person_name"),
                    form_field("E-mail address", "email"),
                    form_field("URL of the content", "urls"),
                    form_field(
                        "Did you agree to the content being distributed?", "fixed", value="No"
                    ),
                    form_field(
                        "Does personal information appear with the content?",
                        "by_hand",
                        hint=gettext_noop(
                            "say whether the pages show the person's name or contact details"
                        ),
                    ),
                    form_field(
                        "Documentation (police report, court order)",
                        "by_hand",
                        hint=gettext_noop("optional: Microsoft considers a report without it"),
                    ),
                ),
            ),
            contact(
                Purpose.DELISTING,
                Channel.WEBFORM,
                "https://www.bing.com/webmaster/tools/eu-privacy-request",
                "https://blog.servage.net/2018/02/28/google-receives-2-4m-requests-to-delete-"
                "search-results/",
                preferred=True,
                form_fields=(
                    form_field("Full legal name", "person_name"),
                    form_field("European country of residence", "person_country"),
                    form_field("Documents verifying the name and country", "by_hand", hint=ID_HINT),
                    form_field("E-mail address", "email"),
                    form_field("Name searched", "queries"),
                    form_field(
                        "Role in society",
                        "by_hand",
                        hint=gettext_noop("the person's public role, if any (usually none)"),
                    ),
                    form_field("URLs to block", "urls"),
                    form_field("Why each URL should be blocked", "description"),
                    form_field("Electronic signature", "name"),
                ),
            ),
            contact(
                Purpose.OUTDATED,
                Channel.WEBFORM,
                "https://www.bing.com/webmaster/tools/content-removal",
                "https://360doc.cn/article/56485404_803424772.html (a copy of Bing Webmaster Help)",
                preferred=True,
                form_fields=(
                    form_field("Content URL", "urls"),
                    form_field("Removal type", "fixed", value="Page removal"),
                ),
            ),
        ),
        notes=(
            "Bing's forms: intimate images shared without consent (removed worldwide), the EU"
            " privacy form (searches on the person's name) and the content removal tool (a"
            " Microsoft account; Bing checks that the page is gone). DuckDuckGo, Ecosia and"
            " Yahoo show results largely from Bing's index and have no removal form of their"
            " own: a removal at Bing reaches them."
        ),
    ),
)
SEED = SEED + SEARCH_ENGINES


# --- applying the seed -------------------------------------------------------------------------


@dataclass
class SeedReport:
    organisations: dict[str, int] = field(
        default_factory=lambda: {"created": 0, "updated": 0, "unchanged": 0}
    )
    contacts: dict[str, int] = field(
        default_factory=lambda: {"created": 0, "updated": 0, "deleted": 0}
    )
    rules: dict[str, int] = field(
        default_factory=lambda: {"created": 0, "updated": 0, "deleted": 0}
    )
    # Rules the seed wanted but someone else already owns (same match and pattern).
    conflicts: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "organisations": dict(self.organisations),
            "contacts": dict(self.contacts),
            "rules": dict(self.rules),
            "conflicts": list(self.conflicts),
        }


def seed_directory(seed: tuple[SeedOrganisation, ...] = SEED) -> SeedReport:
    """Create or update the seed organisations, their curated contacts and their rules.

    Idempotent: organisations are matched on external_key "seed:<key>", contacts on (purpose,
    channel, value), rules on (match, pattern). Overrides, RDAP/WHOIS contacts, trusted-flagger
    status and rules someone else created are never touched.
    """
    report = SeedReport()
    with transaction.atomic():
        existing = {
            org.external_key: org
            for org in Organisation.objects.filter(
                external_key__in=[s.external_key for s in seed]
            ).prefetch_related("contacts")
        }
        contact_changes = ContactChanges()
        organisations: dict[str, Organisation] = {}
        for entry in seed:
            org = existing.get(entry.external_key)
            wanted = _organisation_fields(entry)
            if org is None:
                org = Organisation.objects.create(external_key=entry.external_key, **wanted)
                report.organisations["created"] += 1
                current: list[Contact] = []
            else:
                changed = [name for name, value in wanted.items() if getattr(org, name) != value]
                if changed:
                    for name in changed:
                        setattr(org, name, wanted[name])
                    org.save(update_fields=changed)
                    report.organisations["updated"] += 1
                else:
                    report.organisations["unchanged"] += 1
                current = list(org.contacts.all())
            organisations[entry.key] = org
            contact_changes.extend(
                plan_contacts(
                    org,
                    entry.contacts,
                    current,
                    owned=lambda c: c.quality in SEED_QUALITIES,
                    source_date=SEED_DATE,
                )
            )
        report.contacts["created"] = len(contact_changes.create)
        report.contacts["updated"] = len(contact_changes.update)
        report.contacts["deleted"] = len(contact_changes.delete)
        contact_changes.apply()
        _sync_rules(seed, organisations, report)
    clear_rule_cache()
    return report


def _organisation_fields(entry: SeedOrganisation) -> dict[str, Any]:
    return {
        "name": entry.name,
        "kind": entry.kind,
        "country": entry.country,
        "website": entry.website,
        "datasets": list(entry.datasets),
        "notes": entry.notes,
        "source": "seed",
    }


def _rule_key(match: str, pattern: str) -> tuple[str, str]:
    return match, normalize_pattern(match, pattern)


def _sync_rules(
    seed: tuple[SeedOrganisation, ...],
    organisations: dict[str, Organisation],
    report: SeedReport,
) -> None:
    existing = {_rule_key(r.match, r.pattern): r for r in OperatorRule.objects.all()}
    wanted: set[tuple[str, str]] = set()
    for entry in seed:
        org = organisations[entry.key]
        for rule in entry.rules:
            key = _rule_key(rule.match, rule.pattern)
            wanted.add(key)
            row = existing.get(key)
            if row is None:
                OperatorRule.objects.create(
                    match=key[0],
                    pattern=key[1],
                    organisation=org,
                    role=rule.role,
                    source=entry.external_key,
                )
                report.rules["created"] += 1
            elif not row.source.startswith(KEY_PREFIX):
                report.conflicts.append(f"{key[0]} {key[1]}: kept the existing rule {row.pk}")
            elif (row.organisation_id, row.role, row.source) != (
                org.pk,
                rule.role,
                entry.external_key,
            ):
                row.organisation, row.role, row.source = org, rule.role, entry.external_key
                row.save(update_fields=["organisation", "role", "source"])
                report.rules["updated"] += 1
    stale = [
        row.pk
        for key, row in existing.items()
        if row.source.startswith(KEY_PREFIX) and key not in wanted
    ]
    if stale:
        OperatorRule.objects.filter(pk__in=stale).delete()
        report.rules["deleted"] = len(stale)
