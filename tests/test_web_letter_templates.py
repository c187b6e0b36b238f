"""The admins' letter-template pages (takedown.web.staff.letters)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from takedown.models import LetterTemplate
from takedown.notices import letters
from takedown.notices.regimes import REGIMES
from tests.factories import CaseFactory, TeamFactory, UserFactory
from tests.test_notices_render import make_notice
from tests.test_notices_team_letters import GOOD_DSA, GOOD_FAITH, NO_GOOD_FAITH

pytestmark = pytest.mark.django_db


@pytest.fixture
def team() -> Any:
    return TeamFactory(name="Berlin")


@pytest.fixture
def ada(team: Any) -> Any:
    user = UserFactory(username="ada", is_staff=True)
    user.groups.add(Group.objects.get(name="admin"))
    return user


def _edit(team: Any, regime: str = "dsa", language: str = "en") -> str:
    return reverse("staff:template_edit", args=[team.pk, regime, language])


def _messages(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_caseworker_and_reviewer_get_403(client, team):
    for group in ("caseworker", "reviewer"):
        user = UserFactory(username=group)
        user.groups.add(Group.objects.get(name=group))
        team.members.add(user)
        client.force_login(user)
        assert client.get(reverse("staff:templates")).status_code == 403
        assert client.post(_edit(team), {"text": GOOD_DSA}).status_code == 403
    assert LetterTemplate.objects.count() == 0


def test_list_shows_built_in_and_customised(client, ada, team):
    letters.activate(letters.save_template(team, "dsa", "en", GOOD_DSA, ada), ada)
    letters.save_template(team, "dsa", "en", NO_GOOD_FAITH, ada)
    client.force_login(ada)

    page = client.get(reverse("staff:templates"))

    assert page.status_code == 200
    rows = {
        (r["status"].regime.code, r["status"].language): r["status"] for r in page.context["rows"]
    }
    # Every regime in each of its languages.
    assert set(rows) == {(code, lang) for code, r in REGIMES.items() for lang in r.languages}
    assert rows[("dsa", "en")].active.number == 1
    assert rows[("dsa", "en")].pending.number == 2
    assert rows[("dsa", "de")].active is None
    html = page.content.decode()
    assert "customised, version 1" in html
    assert "version 2, elements missing" in html


def test_list_page_queries_do_not_grow_with_versions(client, ada, team, django_assert_num_queries):
    client.force_login(ada)
    letters.save_template(team, "dsa", "en", GOOD_DSA, ada)
    client.get(reverse("staff:templates"))  # warm the session and the caches
    with django_assert_num_queries(8) as few:
        client.get(reverse("staff:templates"))
    for regime in ("gdpr", "kug", "dmca"):
        letters.save_template(team, regime, "de", letters.STARTER["de"], ada)
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(reverse("staff:templates"))


def test_save_incomplete_shows_missing_per_combination(client, ada, team):
    client.force_login(ada)

    response = client.post(_edit(team), {"text": NO_GOOD_FAITH, "action": "activate"}, follow=True)

    assert _messages(response) == [
        "Saved as version 1, a draft: the element check finds elements missing for 8 "
        "combinations. It cannot be used until they are added."
    ]
    version = LetterTemplate.objects.get()
    assert (version.complete, version.active) == (False, False)
    rows = response.context["rows"]
    assert [(str(r["category"]), str(r["role"])) for r in rows][:2] == [
        ("Medical image", "Site operator"),
        ("Intimate image", "Site operator"),
    ]
    assert all(r["missing"] == [GOOD_FAITH] for r in rows)
    assert response.context["preview"].missing == [GOOD_FAITH]
    assert GOOD_FAITH in response.content.decode()


def test_save_complete_and_activate(client, ada, team):
    client.force_login(ada)

    response = client.post(_edit(team), {"text": GOOD_DSA, "action": "activate"}, follow=True)

    assert _messages(response) == [
        "Saved as version 1 and in use: the element check finds nothing missing, and this "
        "team's notices now use this text."
    ]
    assert LetterTemplate.objects.get().active
    assert "To whom it may concern" in response.context["preview"].text


def test_unknown_placeholder_refused_with_400_and_nothing_stored(client, ada, team):
    client.force_login(ada)

    response = client.post(_edit(team), {"text": "Hello {recipent}\n\n{{ user }}"})

    assert response.status_code == 400
    assert response.context["form"].errors["text"] == [
        "{{ is template syntax, which letter texts do not allow: write placeholders in "
        "single braces, like {organisation}.",
        "}} is template syntax, which letter texts do not allow: write placeholders in "
        "single braces, like {organisation}.",
    ]
    assert LetterTemplate.objects.count() == 0


def test_use_an_older_version_and_not_another_teams(client, ada, team):
    client.force_login(ada)
    first = letters.save_template(team, "dsa", "en", GOOD_DSA, ada)
    letters.activate(letters.save_template(team, "dsa", "en", GOOD_DSA + "\n\nThanks.", ada), ada)
    other = letters.save_template(TeamFactory(name="Hamburg"), "dsa", "en", GOOD_DSA, ada)

    response = client.post(_edit(team), {"action": "use_version", "version": first.pk}, follow=True)
    assert _messages(response) == ["Version 1 is now used for this team's notices."]
    assert LetterTemplate.objects.get(active=True).pk == first.pk

    stranger = client.post(_edit(team), {"action": "use_version", "version": other.pk})
    assert stranger.status_code == 404
    assert LetterTemplate.objects.get(active=True).pk == first.pk


def test_reset_asks_first(client, ada, team):
    client.force_login(ada)
    letters.activate(letters.save_template(team, "dsa", "en", GOOD_DSA, ada), ada)
    url = reverse("staff:template_reset", args=[team.pk, "dsa", "en"])

    asked = client.get(url)
    assert asked.status_code == 200
    assert "Reset to the built-in template?" in asked.content.decode()
    assert LetterTemplate.objects.filter(active=True).count() == 1

    done = client.post(url, {"confirm": "1"}, follow=True)
    assert _messages(done) == [
        "This team's notices use the built-in template again. Saved versions are kept."
    ]
    assert LetterTemplate.objects.filter(active=True).count() == 0
    assert LetterTemplate.objects.count() == 1


@pytest.mark.parametrize(
    "path", ["templates/999/dsa/en/", "templates/{team}/nothing/en/", "templates/{team}/dsa/fr/"]
)
def test_unknown_team_regime_or_language_is_404(client, ada, team, path):
    client.force_login(ada)

    assert client.get("/cases/" + path.format(team=team.pk)).status_code == 404


def test_german_page(client, ada, team):
    client.force_login(ada)
    client.post(reverse("staff:language"), {"language": "de", "next": "/"})
    letters.save_template(team, "dsa", "de", NO_GOOD_FAITH, ada)

    page = client.get(_edit(team, "dsa", "de")).content.decode()

    assert "Elementprüfung" in page
    assert "Platzhalter" in page
    assert "Meldung rechtswidriger Inhalte nach dem Digital Services Act" in page
    # The missing element in German (stored in English for the audit trail).
    assert (
        page.count("Erklärung des guten Glaubens, dass die Meldung zutreffend und vollständig ist")
        == 8 + 1 + 1
    )  # every combination, the preview, the placeholder reference
    assert GOOD_FAITH not in page


def test_notice_edit_page_names_missing_elements_in_german(client, team):
    carla = UserFactory(username="carla")
    carla.groups.add(Group.objects.get(name="caseworker"))
    team.members.add(carla)
    notice = make_notice("dsa", case=CaseFactory(team=team), created_by=carla)
    client.force_login(carla)
    client.post(reverse("staff:language"), {"language": "de", "next": "/"})
    url = reverse("staff:edit_notice", args=[notice.case.reference, notice.pk])

    page = client.post(url, {"subject": "", "body_text": "Bitte entfernen."}, follow=True)

    assert page.context["missing"][:2] == [
        "eine hinreichend begründete Erläuterung, warum die Inhalte rechtswidrig sind",
        "Erklärung des guten Glaubens, dass die Meldung zutreffend und vollständig ist",
    ]
    notice.refresh_from_db()
    assert notice.element_check["missing"][:2] == [  # stored in English
        "a substantiated explanation of why the content is illegal",
        GOOD_FAITH,
    ]


def test_edit_page_checks_the_version_in_use_again(client, ada, team):
    """A version in use that no longer passes (here its stored text is made incomplete, as a
    new release's statements could make it) is shown as such; notices then fail their own
    check."""
    version = letters.activate(letters.save_template(team, "dsa", "en", GOOD_DSA, ada), ada)
    LetterTemplate.objects.filter(pk=version.pk).update(text=NO_GOOD_FAITH)
    client.force_login(ada)

    page = client.get(_edit(team))

    assert "The version in use lacks required elements" in page.content.decode()
    assert LetterTemplate.objects.get(pk=version.pk).complete is False
    assert client.get(reverse("staff:templates")).content.decode().count("elements missing") == 1


def test_markup_in_a_letter_text_is_shown_as_text(client, ada, team):
    letters.save_template(team, "dsa", "en", "<script>alert(1)</script>\n\n" + GOOD_DSA, ada)
    client.force_login(ada)

    page = client.get(_edit(team)).content.decode()

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the editor and the preview
