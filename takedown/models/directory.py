"""Organisations that receive notices, their contacts, and the rules that recognise platforms."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Organisation(models.Model):
    class Kind(models.TextChoices):
        OPERATOR = "operator", _("Site operator")
        PLATFORM = "platform", _("Platform")
        HOSTING = "hosting", _("Hosting provider")
        CDN = "cdn", _("CDN")
        REGISTRAR = "registrar", _("Registrar")
        DATASET_MAINTAINER = "dataset_maintainer", _("Dataset maintainer")
        DPA = "dpa", _("Data-protection authority")
        # Lists the links in its results; asked to delist them (takedown.notices.delisting).
        SEARCH_ENGINE = "search_engine", _("Search engine")

    name = models.CharField(max_length=300)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    # Deadlines (regional public holidays, time zones) and competent authorities (German state
    # data-protection authorities) depend on it.
    region = models.CharField(
        max_length=6, blank=True, help_text="ISO 3166-2 subdivision, e.g. DE-BY"
    )
    website = models.URLField(max_length=500, blank=True)
    # Stable key for importers (e.g. "datenanfragen:google", "iana-registrar:292") so a re-import
    # updates the row instead of adding a second one.
    external_key = models.CharField(max_length=200, unique=True, null=True, blank=True)
    # For a DPA: the countries (and German states) it supervises.
    supervises = models.JSONField(default=list, blank=True)
    # For a dataset maintainer: the dataset names it maintains, as recorded on FoundLink.dataset.
    datasets = models.JSONField(default=list, blank=True)
    trusted_flagger = models.BooleanField(
        default=False, help_text="Our organisation is a DSA Art. 22 trusted flagger for this host."
    )
    notes = models.TextField(blank=True)
    source = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["kind", "country"])]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    """One way to reach an organisation for one purpose, with where we learnt it."""

    class Purpose(models.TextChoices):
        ABUSE = "abuse", _("Abuse")
        LEGAL = "legal", _("Legal")
        PRIVACY = "privacy", _("Privacy / data protection")
        COPYRIGHT = "copyright", _("Copyright (DMCA agent)")
        GENERAL = "general", _("General")
        # A search engine's forms (docs/law/search-engines.md): removing results that show the
        # person (privacy delisting), intimate images shared without consent, and refreshing
        # results whose page is gone at its source.
        DELISTING = "delisting", _("Search-result removal (privacy)")
        NCII = "ncii", _("Intimate images shared without consent")
        OUTDATED = "outdated", _("Outdated search results")

    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        WEBFORM = "webform", _("Web form")
        POSTAL = "postal", _("Postal address")
        API = "api", _("API")
        PHONE = "phone", _("Phone")

    class Quality(models.TextChoices):
        VERIFIED = "verified", _("Verified")
        IMPORTED = "imported", _("Imported")
        WHOIS = "whois", _("From WHOIS")
        RDAP = "rdap", _("From RDAP")
        OVERRIDE = "override", _("Caseworker override")

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="contacts"
    )
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    value = models.TextField(help_text="The address, form URL, postal address or API endpoint.")
    # Web forms: the fields the form asks for, in its order, each with what goes in it
    # ([{"label": "Your e-mail", "source": "email"}, ...]; sources in notices/webform.py).
    form_fields = models.JSONField(default=list, blank=True)
    preferred = models.BooleanField(default=False)
    source = models.CharField(
        max_length=300, help_text="Where this came from: URL, registry, file."
    )
    source_date = models.DateField(default=timezone.localdate)
    quality = models.CharField(max_length=16, choices=Quality.choices)
    # Overrides win over every other contact of the same purpose and are recorded with their author.
    is_override = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-is_override", "-preferred", "purpose"]

    def __str__(self) -> str:
        return f"{self.organisation}: {self.purpose} via {self.channel}"


class OperatorRule(models.Model):
    """A curated rule: when it matches, the organisation is the operator, and it beats WHOIS."""

    class Match(models.TextChoices):
        HOST_SUFFIX = "host_suffix", _("Hostname suffix")
        CNAME_SUFFIX = "cname_suffix", _("CNAME target suffix")
        NETWORK_NAME = "network_name", _("IP network name")

    match = models.CharField(max_length=16, choices=Match.choices)
    pattern = models.CharField(max_length=253, help_text="e.g. s3.amazonaws.com, cloudfront.net")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="rules")
    role = models.CharField(
        max_length=24,
        choices=Organisation.Kind.choices,
        default=Organisation.Kind.PLATFORM,
        help_text="The role the organisation plays for matching hosts (platform, CDN, hosting).",
    )
    source = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["match", "pattern"], name="unique_operator_rule"),
        ]

    def __str__(self) -> str:
        return f"{self.match} {self.pattern} -> {self.organisation}"
