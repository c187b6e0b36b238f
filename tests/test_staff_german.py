"""Every string of the staff pages has a German translation (as the portal's do)."""

from __future__ import annotations

from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import models
from django.test import Client
from django.urls import reverse
from django.utils import translation

from takedown.events import staff_sentence
from takedown.workflow import record_event
from tests.test_web_portal import assert_all_translated, extracted_catalogue

ROOT = Path(__file__).resolve().parents[1]
STAFF_SOURCES = (
    "templates/staff",
    "templates/base.html",
    "takedown/web/staff",
    "takedown/events.py",
    "takedown/jobs.py",
    "takedown/models",
    "takedown/notifications.py",
    # The reviewer's pages.
    "templates/review",
    "takedown/web/review",
    # What the staff pages show from the domain: the element check's findings and the regimes'
    # reasons, the web-form checklist, the directory's form hints, an answer's next step.
    "takedown/notices/regimes.py",
    "takedown/notices/render.py",
    "takedown/notices/complaint.py",
    "takedown/notices/webform.py",
    "takedown/directory/seed.py",
    "takedown/replies/inbound.py",
)


def test_german_catalogue_translates_every_staff_string(tmp_path) -> None:
    entries = extracted_catalogue(tmp_path, STAFF_SOURCES)
    msgids = {str(e["strings"]["msgid"]) for e in entries}  # type: ignore[index]
    # The extraction found the staff pages: templates, views, the job and timeline sentences.
    assert {
        "Resolve hosts",
        "Case %(ref)s opened.",
        "The notice was being handed to the mail server.",
        "This page updates by itself; you can leave it and come back: the work goes on in the "
        "background.",
    } <= msgids
    assert len(entries) >= 300
    assert_all_translated(entries)


# Labels that read the same in German, and the languages, named in their own.
SAME_IN_GERMAN = {"API", "CDN", "Registrar", "Import", "In-Reply-To / References"}
SAME_IN_GERMAN |= {name for _code, name in settings.LANGUAGES}


def test_every_choice_label_of_the_models_reads_german() -> None:
    """Badges and filters show the models' choice labels (statuses, kinds, roles): each is a
    translatable string with its own German text."""
    untranslated = []
    for model in apps.get_app_config("takedown").get_models():
        for field in model._meta.get_fields():
            for _value, label in getattr(field, "flatchoices", None) or ():
                if not isinstance(field, models.Field) or str(label) in SAME_IN_GERMAN:
                    continue
                with translation.override("de"):
                    german = str(label)
                with translation.override("en"):
                    english = str(label)
                if german == english:
                    untranslated.append(f"{model.__name__}.{field.name}: {english}")
    assert untranslated == []


def test_timeline_sentence_in_german(db) -> None:
    from tests.factories import CaseFactory

    event = record_event(CaseFactory(), "mail.handover", data={"recipient": "abuse@x.example"})

    with translation.override("de"):
        assert staff_sentence(event) == "Die Meldung wurde gerade an den Mailserver übergeben."


def test_queue_in_german(client: Client, db) -> None:
    from django.contrib.auth.models import Group

    from tests.factories import UserFactory

    user = UserFactory(username="carla")
    user.groups.add(Group.objects.get(name="caseworker"))
    client.force_login(user)

    page = client.get(reverse("staff:queue"), HTTP_ACCEPT_LANGUAGE="de").content.decode()

    assert "Fälle meiner Teams" in page
    assert "Neuer Fall" in page


def test_language_switch_is_kept_by_the_user(db) -> None:
    from django.contrib.auth.models import Group

    from tests.factories import UserFactory

    user = UserFactory(username="carla")
    user.groups.add(Group.objects.get(name="caseworker"))
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    browser.force_login(user)

    switched = browser.post(
        reverse("staff:language"), {"language": "de", "next": "/cases/?view=mine"}
    )
    german = browser.get(reverse("staff:queue")).content.decode()
    # Another browser, another session, an English Accept-Language: still German for her.
    other = Client(HTTP_ACCEPT_LANGUAGE="en")
    other.force_login(user)
    again = other.get(reverse("staff:queue")).content.decode()
    other.post(reverse("staff:language"), {"language": "en", "next": "https://evil.example/"})
    english = other.get(reverse("staff:queue")).content.decode()

    assert switched["Location"] == "/cases/?view=mine"
    assert ("Neuer Fall" in german, "Neuer Fall" in again) == (True, True)
    assert ("New case" in english, '<html lang="en">' in english) == (True, True)
