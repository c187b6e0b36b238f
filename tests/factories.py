from __future__ import annotations

import hashlib
from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from takedown import models as m


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")


def caseworker(username: str, team: m.Team | None = None) -> Any:
    """A user in the caseworker group, a member of `team` where one is given."""
    user = UserFactory(username=username)
    user.groups.add(Group.objects.get(name="caseworker"))
    if team is not None:
        team.members.add(user)
    return user


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Team

    name = factory.Sequence(lambda n: f"Team {n}")


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Case
        skip_postgeneration_save = True

    # Above the references tests pick by hand (TD-2026-0042, -0100 ...), so that no number
    # of earlier tests makes a generated one collide with them.
    reference = factory.Sequence(lambda n: f"TD-2026-{n + 5001:04d}")
    category = m.Case.Category.MEDICAL
    person = factory.RelatedFactory("tests.factories.PersonFactory", factory_related_name="case")


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.AffectedPerson

    case = factory.SubFactory(CaseFactory, person=None)
    name = "Alex Example"
    email = "alex@example.org"
    country = "DE"


class HostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Host
        django_get_or_create = ["hostname"]

    hostname = factory.Sequence(lambda n: f"img{n}.example.com")
    registered_domain = "example.com"


class FoundLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.FoundLink

    case = factory.SubFactory(CaseFactory)
    host = factory.SubFactory(HostFactory)
    url = factory.LazyAttributeSequence(lambda o, n: f"https://{o.host.hostname}/photo{n}.jpg")
    url_sha256 = factory.LazyAttribute(lambda o: hashlib.sha256(o.url.encode()).hexdigest())


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Organisation

    name = factory.Sequence(lambda n: f"Hoster {n} GmbH")
    kind = m.Organisation.Kind.HOSTING
    country = "DE"


class NoticeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Notice

    case = factory.SubFactory(CaseFactory)
    recipient = factory.SubFactory(OrganisationFactory)
    recipient_role = m.RecipientRole.HOSTING
    regime = "gdpr"


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Contact

    organisation = factory.SubFactory(OrganisationFactory)
    purpose = m.Contact.Purpose.ABUSE
    channel = m.Contact.Channel.EMAIL
    value = factory.Sequence(lambda n: f"abuse{n}@hoster.example")
    source = "test"
    quality = m.Contact.Quality.VERIFIED


class MandateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Mandate

    case = factory.SubFactory(CaseFactory)
    signed_document = b"%PDF-1.7 signed mandate (test stand-in)"
