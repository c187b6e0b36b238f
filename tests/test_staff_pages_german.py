"""Every staff and review page, as a German caseworker, reviewer and admin see it: no English
sentence on any of them.

A case with notices in every state and on every channel (drafted with elements missing, in
review, approved, sent, by web form, through Cloudflare's API, to a search engine, a complaint
to an authority, a message) and the things around them (answers, imports, jobs, portal
messages, tasks) is built once; every page of the staff and review URL configuration is then
requested for each object it can show. The visible text (no scripts or styles; no part marked
as being in another language, such as the letter's preview in the notice's own language) minus
the test's own data must contain none of the English words German never uses as whole words.
A page that shows an English string fails here with the page and the sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from takedown.directory.seed import seed_directory
from takedown.jobs import output_path, write_encrypted
from takedown.models import (
    Case,
    Contact,
    FoundLink,
    Import,
    Job,
    Notice,
    NoticeLink,
    Organisation,
    Reply,
    StaffPreferences,
)
from takedown.models.roles import RecipientRole as Role
from takedown.notices.delisting import prepare_delisting
from takedown.notices.render import store_element_check
from takedown.notices.review import submit_for_review
from takedown.web.portal.actions import request_deletion, send_message
from takedown.web.staff.selectors import MANUAL_TASK
from takedown.workflow import record_event
from tests.factories import (
    CaseFactory,
    ContactFactory,
    FoundLinkFactory,
    MandateFactory,
    NoticeFactory,
    OrganisationFactory,
    TeamFactory,
    UserFactory,
)
from tests.test_attack_access import EXPECTED, OK, REDIRECT, url_patterns
from tests.test_web_staff import resolved_host

pytestmark = pytest.mark.django_db

# English words German never uses as whole words (case-sensitive: "Not", "Was" and "Will" are
# German words when capitalised; "in", "an", "also", "so", "die" and "war" are German anyway).
ENGLISH = re.compile(
    r"\b(?:the|The|and|And|of|is|Is|are|were|be|been|with|With|this|This|that|these|those"
    r"|not|has|have|had|will|would|for|For|from|From|your|Your|you|You|yes|Yes|no|No|to|by|or"
    r"|on|at|its|if|If|which|who|what|when|where|there|their|they|we|our|can|cannot|should"
    r"|must|only|each|every|than|then|into|after|before|here|does|please|Please)\b"
)

# The test's own data, shown as it is: names, addresses, the directory's entries.
URL_OR_EMAIL = re.compile(r"\S+@\S+|\b\w+://\S+|\b[\w.-]+\.(?:de|com|org|example|jpg)\b\S*")


class VisibleText(HTMLParser):
    """The text a reader sees (and hears: titles, labels, alternatives), without scripts,
    styles and whatever an element marks as being in another language than the page's."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}
    HIDDEN = {"script", "style", "template"}
    SPOKEN = ("title", "aria-label", "placeholder", "alt")

    def __init__(self, language: str) -> None:
        super().__init__(convert_charrefs=True)
        self.language = language
        self.stack: list[tuple[str, bool]] = []
        self.parts: list[str] = []

    def _skipped(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        other = (found.get("lang") or self.language).split("-")[0] != self.language
        skip = self._skipped() or other or tag in self.HIDDEN
        if not skip:
            self.parts += [str(found[name]) for name in self.SPOKEN if found.get(name)]
            if tag == "input" and found.get("type") in ("submit", "button"):
                self.parts.append(str(found.get("value") or ""))
        if tag not in self.VOID:
            self.stack.append((tag, skip))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, -1, -1):
            if self.stack[depth][0] == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        if not self._skipped():
            self.parts.append(data)


def visible_parts(response: Any) -> list[str]:
    """The texts a German page (or a JSON answer a page shows) puts before its reader."""
    if response["Content-Type"].startswith("application/json"):
        # A job's progress: the page shows its text (the status is a code for the script).
        return [str(response.json()["text"])]
    page = response.content.decode()
    match = re.search(r'<html lang="([\w-]+)"', page)
    assert match is not None and match.group(1) == "de", "the page is not in German"
    parser = VisibleText("de")
    parser.feed(page)
    return parser.parts


def english_in(parts: list[str], data: list[str]) -> list[str]:
    """The lines of `parts` that contain an English word, without the test's data."""
    found = []
    for part in parts:
        text = URL_OR_EMAIL.sub(" ", part)
        for value in data:
            text = text.replace(value, " ")
        for line in re.split(r"\s*\n\s*", text):
            if ENGLISH.search(line):
                found.append(" ".join(line.split()))
    return found


@dataclass
class World:
    case: Case
    clients: dict[str, Client]
    # URL name -> the keyword arguments of each page to request.
    pages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    data: list[str] = field(default_factory=list)


def _staff(username: str, group: str, team: Any = None, **fields: Any) -> Any:
    user = UserFactory(username=username, **fields)
    user.groups.add(Group.objects.get(name=group))
    if team is not None:
        team.members.add(user)
    StaffPreferences.objects.create(user=user, language="de")
    return user


def _german_client(user: Any) -> Client:
    # An English browser: the user's own choice of German must win.
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


@pytest.fixture
def world(settings: Any) -> World:
    settings.TAKEDOWN_ORGANISATION = "Demo Takedown e.V."
    settings.TAKEDOWN_PUBLIC_URL = "https://portal.example"
    seed_directory()
    team = TeamFactory(name="Berlin")
    carla = _staff("carla", "caseworker", team, email="carla@org.example")
    rita = _staff("rita", "reviewer", team)
    ada = _staff("ada", "admin", is_staff=True)
    # Enrolled: her sign-in asks for a code (two_factor:verify).
    TOTPDevice.objects.create(user=ada, name="authenticator", confirmed=True)
    case = CaseFactory(
        reference="TD-2026-0100", team=team, assigned_to=carla, category=Case.Category.INTIMATE
    )
    MandateFactory(case=case)
    hoster = OrganisationFactory(name="Hoster Eins GmbH", country="DE")
    ContactFactory(organisation=hoster, value="abuse@hoster.example")
    host = resolved_host("img.hoster-eins.de", hoster)
    # As the resolver words them: stored in English, shown in German (reason_label).
    host.current.data["jurisdiction"]["reasons"] = [
        "Hosting provider Hoster Eins GmbH is in DE (rdap): GDPR, DSA, KUG."
    ]
    host.current.save()
    L = FoundLink.Status
    links = [
        FoundLinkFactory(case=case, host=host, url=f"https://img.hoster-eins.de/{n}.jpg", status=s)
        for n, s in enumerate((L.REMOVED, L.NOTIFIED, L.NOTIFIED, L.FOUND))
    ]
    FoundLink.objects.filter(pk=links[3].pk).update(needs_review=True)
    N = Notice.Status
    notices: dict[str, Notice] = {}

    def notice(name: str, links_of: list[FoundLink], **fields: Any) -> Notice:
        made = NoticeFactory(case=case, created_by=carla, **{"recipient": hoster, **fields})
        for link in links_of:
            NoticeLink.objects.create(notice=made, link=link)
        store_element_check(made)
        notices[name] = made
        return made

    # Drafts that lack elements: of the regime, of the letter to an authority, a wrong role,
    # a regime that does not exist.
    notice("draft", links[:2], regime="dsa")
    notice("wrong_role", links[:1], regime="dmca", recipient_role=Role.REGISTRAR)
    notice("unknown_regime", links[:1], regime="nope")
    dpa = OrganisationFactory(name="Datenschutzbehörde", kind=Organisation.Kind.DPA)
    notice(
        "complaint",
        links[:1],
        regime="gdpr",
        kind=Notice.Kind.COMPLAINT,
        recipient=dpa,
        recipient_role=Role.DPA,
        authority_basis=Notice.AuthorityBasis.PENDING,
    )
    notice("message", [], kind=Notice.Kind.MESSAGE, regime="dsa")
    review = notice("in_review", links[1:3], regime="dsa")
    submit_for_review(review, carla)
    notice("approved", links[1:2], regime="dsa", status=N.APPROVED, approved_by=rita)
    notice(
        "sent",
        links[:3],
        regime="gdpr",
        status=N.SENT,
        sent_at=timezone.now(),
        due_at=timezone.now(),
        reply_outcome=Notice.Outcome.REFUSED,
    )
    cloudflare = OrganisationFactory(
        name="Cloudflare, Inc.", kind=Organisation.Kind.CDN, country="US"
    )
    form = ContactFactory(
        organisation=cloudflare,
        channel=Contact.Channel.WEBFORM,
        value="https://abuse.cloudflare.com/",
        form_fields=[
            {"label": "Feld A", "source": "subject", "max_length": 10},
            {"label": "Feld B", "source": "by_hand"},
            {"label": "Feld C", "source": "nothing"},
            {"label": "Feld D", "source": "person_name"},
        ],
    )
    ContactFactory(organisation=cloudflare, channel=Contact.Channel.API, value="cloudflare")
    notice(
        "webform",
        links[1:3],
        regime="dsa",
        recipient=cloudflare,
        recipient_role=Role.CDN,
        status=N.AWAITING_MANUAL,
        channel=Contact.Channel.WEBFORM,
        contact=form,
        to_address=form.value,
    )
    notice(
        "cloudflare",
        links[1:3],
        regime="dsa",
        recipient=cloudflare,
        recipient_role=Role.CDN,
        status=N.SENT,
        channel=Contact.Channel.API,
        sent_at=timezone.now(),
    )
    prepare_delisting(case, actor=carla)
    # One request per situation on the notice pages (the engines' requests read alike); the
    # form page of each (the engines' forms differ).
    delistings = list(Notice.objects.filter(case=case, recipient_role=Role.SEARCH_ENGINE))
    for delisting in delistings:
        notices.setdefault(delisting.regime, delisting)

    # What the portal, the rechecks and the answers leave for the caseworker.
    send_message(case, "Gibt es Neuigkeiten?")
    request_deletion(case)
    record_event(case, MANUAL_TASK, message="Per Post senden", notice=notices["sent"])
    reply = Reply.objects.create(
        message_key="german-pages-1",
        notice=notices["sent"],
        case=case,
        raw=b"Subject: Ihre Meldung\r\n\r\nWir pruefen.",
        kind=Reply.Kind.OTHER,
        state=Reply.State.TO_CONFIRM,
    )
    imported = Import.objects.create(case=case, format="text", report={"rows": 4})
    jobs = [
        Job.objects.create(kind=kind, case=case, notice=notices["draft"], status=status)
        for kind, status in (
            (Job.Kind.GENERATE, Job.Status.DONE),
            (Job.Kind.RENDER, Job.Status.DONE),
            (Job.Kind.GENERATE, Job.Status.FAILED),
        )
    ]
    write_encrypted(output_path(jobs[1]), [b"%PDF-1.7 rendered by a worker"])

    ref = {"reference": case.reference}
    every_notice = [{**ref, "pk": n.pk} for n in notices.values()]
    world = World(
        case,
        {name: _german_client(user) for name, user in (("carla", carla), ("rita", rita))}
        | {"ada": _german_client(ada)},
    )
    world.pages = {
        "staff:queue": [{}],
        "staff:new": [{}],
        "staff:inbox": [{}],
        "staff:notifications": [{}],
        "staff:reply_detail": [{"pk": reply.pk}],
        "staff:case": [ref],
        "staff:links": [ref],
        "staff:hosts": [ref],
        "staff:party": [{**ref, "hostname": host.hostname}],
        "staff:timeline": [ref],
        "staff:messages": [ref],
        "staff:replies": [ref],
        "staff:import_links": [ref],
        "staff:import": [{**ref, "pk": imported.pk}],
        "staff:notice": every_notice,
        "staff:edit_notice": [{**ref, "pk": notices[name].pk} for name in ("draft", "in_review")],
        "staff:notice_form": [
            {**ref, "pk": n.pk}
            for n in {*notices.values(), *delistings}
            if n.channel == Contact.Channel.WEBFORM
        ],
        "staff:job": [{**ref, "pk": job.pk} for job in jobs],
        "staff:job_status": [{**ref, "pk": job.pk} for job in jobs],
        "staff:templates": [{}],
        "staff:template_edit": [
            {"team": team.pk, "regime": "dsa", "language": "en"},
            {"team": team.pk, "regime": "gdpr", "language": "de"},
        ],
        "staff:template_reset": [{"team": team.pk, "regime": "dsa", "language": "en"}],
        "review:index": [{}],
        "review:results": [{}],
        "review:notice": [{"pk": n.pk} for n in notices.values()],
        "two_factor:setup": [{}],
        "two_factor:verify": [{}],
    }
    world.data = [
        case.reference,
        "Demo Takedown e.V.",
        "Hoster Eins GmbH",
        "Cloudflare, Inc.",
        "Alex Example",
        *Organisation.objects.values_list("name", flat=True),
        # The labels of the search engines' forms, as the forms (in English) word them.
        *(
            str(item[key])
            for fields in Contact.objects.values_list("form_fields", flat=True)
            for item in fields
            for key in ("label", "value")
            if item.get(key)
        ),
    ]
    return world


# Downloads, not pages: CSV files and PDFs (the letters' own, in the notice's language).
NOT_PAGES = {"staff:notices_csv", "staff:notice_pdf", "staff:job_output", "staff:mandate_form"}
NOT_PAGES |= {
    "review:notice_pdf",
    "review:results_csv",
    "staff:notice_links",
    "review:notice_links",
}


# The pages the walk requests (the world fixture says with which objects).
PAGES = (
    "staff:queue", "staff:new", "staff:inbox", "staff:notifications", "staff:reply_detail",
    "staff:case", "staff:links", "staff:hosts", "staff:party", "staff:timeline",
    "staff:messages", "staff:replies", "staff:import_links", "staff:import", "staff:notice",
    "staff:edit_notice", "staff:notice_form", "staff:job", "staff:job_status",
    "staff:templates", "staff:template_edit", "staff:template_reset",
    "review:index", "review:results", "review:notice", "two_factor:setup", "two_factor:verify",
)  # fmt: skip


def staff_pages() -> set[str]:
    """Every URL name a caseworker, reviewer or admin can open (GET) outside the Django admin
    and the portal, as the access matrix states it (the web form of a notice that has none
    sends back to the notice)."""
    return {
        name
        for name, rows in EXPECTED.items()
        if name.split(":")[0] in ("staff", "review", "two_factor")
        and {OK, REDIRECT} & {rows["GET"].get(who) for who in ("caseworker", "reviewer", "admin")}
    }


def test_the_walk_covers_every_staff_and_review_page() -> None:
    # A new page must join the world below (with objects that show what it can show).
    assert staff_pages() - NOT_PAGES == set(PAGES)


def _who(name: str) -> str:
    if name.startswith("review:"):
        return "rita"
    if name.startswith("staff:template") or name == "two_factor:verify":
        return "ada"
    return "carla"


def test_every_staff_and_review_page_reads_german(world: World) -> None:
    offenders: dict[str, list[str]] = {}
    requested = set()
    for name, _route, _params in url_patterns():
        if name not in world.pages:
            continue
        for kwargs in world.pages[name]:
            url = reverse(name, kwargs=kwargs)
            response = world.clients[_who(name)].get(url, follow=True)
            assert response.status_code == 200, url
            requested.add(name)
            if found := english_in(visible_parts(response), world.data):
                offenders[url] = sorted(set(found))

    report = "\n".join(f"{url}:\n  " + "\n  ".join(lines) for url, lines in offenders.items())
    assert offenders == {}, report
    assert requested == set(world.pages) == set(PAGES)
