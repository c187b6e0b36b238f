"""Issue 12, the letters: the mandate as the basis of representation, offences named only
under their conditions, KUG within reach, minors, Art. 15, dataset entry ids, the DMCA agent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import Permission

from takedown import models as m
from takedown.notices.render import check_elements, render_notice, template_body
from takedown.notices.review import ReviewError, approve, edit, submit_for_review
from tests import factories as f
from tests.test_notices_render import NOW, ORG, make_notice

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen(settings: Any) -> Iterator[None]:
    settings.TAKEDOWN_ORGANISATION = ORG
    settings.DEFAULT_FROM_EMAIL = "cases@bildschutz.example"
    with time_machine.travel(NOW, tick=False):
        yield


# --- representation rests on the power of attorney ---------------------------------------------


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("role", ["hosting", "site_operator", "dataset_maintainer"])
def test_gdpr_request_rests_on_power_of_attorney_not_art_80(language: str, role: str) -> None:
    notice = make_notice("gdpr", role=role, language=language)
    text = render_notice(notice, with_pdf=False).text
    assert "Art. 80" not in text
    expected = {
        "en": "We act for the person depicted in it under a written power of attorney to"
        " exercise their rights as a data subject on their behalf, dated 6 March 2026, which"
        " we will present to you on request.",
        "de": "Wir vertreten die darauf abgebildete Person aufgrund schriftlicher Vollmacht,"
        " ihre Rechte als betroffene Person in ihrem Namen geltend zu machen; die Vollmacht vom"
        " 6. März 2026 legen wir Ihnen auf Verlangen vor.",
    }[language]
    assert expected in " ".join(text.split())
    assert check_elements(notice) == []


# --- the four-eyes review --------------------------------------------------------------------


def _reviewer(username: str = "rita") -> Any:
    user = f.UserFactory(username=username)
    user.user_permissions.add(Permission.objects.get(codename="review_notice"))
    return user


def test_submit_for_review_refuses_a_draft_missing_an_element() -> None:
    notice = make_notice("gdpr", mandate=False)
    with pytest.raises(
        ReviewError,
        match="cannot submit for review: missing a signed mandate from the affected person on file",
    ):
        submit_for_review(notice, notice.created_by)
    notice.refresh_from_db()
    assert notice.status == "draft"
    assert notice.element_check == {
        "missing": ["a signed mandate from the affected person on file"],
        "complete": False,
    }


def test_dmca_edited_after_disclosure_confirmed_stays_approvable() -> None:
    notice = make_notice("dmca", role="hosting", category="personal", owns_copyright=True)
    agent = f.ContactFactory(organisation=notice.recipient, purpose="copyright")
    m.Notice.objects.filter(pk=notice.pk).update(contact=agent, to_address=agent.value)
    notice.refresh_from_db()
    author, rita = notice.created_by, _reviewer()
    submit_for_review(notice, author)
    approve(notice, rita, confirm_disclosure=True)
    notice.refresh_from_db()
    body = template_body(notice)
    assert "Alex Example" in body

    edit(notice, author, body_text=body.replace("Please remove", "Please remove at once"))
    notice.refresh_from_db()
    assert "Please remove at once" in notice.body_text
    assert notice.element_check["missing"] == [
        "the affected person's name, with the disclosure confirmed by a reviewer"
    ]
    submit_for_review(notice, author)
    approve(notice, rita, confirm_disclosure=True)

    notice.refresh_from_db()
    assert (notice.status, notice.disclosure_confirmed_by) == ("approved", rita)
