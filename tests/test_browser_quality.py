"""Issue 14's quality gates in a real browser, over the pages of all three audiences:

- axe-core (tests/js, from the npm registry) finds no serious or critical violation on any page
  of the caseworker, the reviewer or the affected person;
- keyboard-only journeys: the caseworker's main path and the portal, with Tab and Enter only;
- long unbroken input (a 5,000-character name, URL and message) wraps everywhere: at 360 px no
  page is wider than the viewport;
- the portal's new pages: links by website, the case's state, photos of the signed
  authorisation, data as a page, and "Leave quickly" (button and Esc three times).

Screenshots under test-output/screenshots/.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from takedown.models import (
    Case,
    FoundLink,
    HostResolution,
    LinkCheck,
    Mandate,
    Notice,
    NoticeLink,
    PortalMessage,
    Verdict,
)
from takedown.web.portal import access as portal_access
from takedown.web.portal.actions import send_message
from tests.browser import (
    BROWSER_DB,
    PASSWORD,
    assert_accessible,
    assert_no_sideways_scroll,
    log_in,
    shoot,
    staff_user,
    tab_to,
)
from tests.factories import (
    FoundLinkFactory,
    HostFactory,
    NoticeFactory,
    OrganisationFactory,
    TeamFactory,
)
from tests.test_web_review import submitted_notice

pytestmark = [pytest.mark.browser, BROWSER_DB]
expect = pytest.importorskip("playwright.sync_api", reason="needs the playwright package").expect

NEUTRAL = "https://neutral.example/"
LONG = 5000


def build_world(*, long_input: bool = False) -> dict[str, Any]:
    """A team with a caseworker and a reviewer, a case with links on three sites in several
    states (one notice sent, one refused, one in review), evidence, a portal message, and a
    portal link. With long_input, the person's name, one URL and the message are 5,000
    characters without a break."""
    team = TeamFactory(name="Berlin")
    carla = staff_user("carla", "caseworker", team)
    staff_user("rita", "reviewer", team)
    in_review = submitted_notice(team, carla, links=2)
    case = in_review.case
    case.person.name = "N" * LONG if long_input else "Alex Example"
    case.person.email = "alex@example.org"
    case.person.save()
    host = in_review.links.first().host
    HostResolution.objects.filter(pk=host.current_id).update(
        ips=["192.0.2.10"], cname_chain=[host.hostname, "edge.cdn.example"]
    )
    LinkCheck.objects.create(
        link=in_review.links.first(), verdict=Verdict.ONLINE_SAME, status_code=200
    )
    picshare = HostFactory(hostname="picshare-demo.com")
    hoster = OrganisationFactory(name="Picshare Ltd", country="IE")
    sent = NoticeFactory(
        case=case,
        recipient=hoster,
        status=Notice.Status.SENT,
        sent_at=timezone.now() - timedelta(days=2),
        due_at=timezone.now() + timedelta(days=5),
    )
    for n in range(3):
        link = FoundLinkFactory(
            case=case,
            host=picshare,
            url=f"https://picshare-demo.com/p/{n}.jpg",
            status=FoundLink.Status.NOTIFIED,
        )
        NoticeLink.objects.create(notice=sent, link=link)
    refused_host = HostFactory(hostname="refuser.example")
    refused = NoticeFactory(
        case=case,
        recipient=OrganisationFactory(name="Refuser Inc", country="US"),
        status=Notice.Status.SENT,
        sent_at=timezone.now() - timedelta(days=20),
        due_at=timezone.now() - timedelta(days=6),
        outcome=Notice.Outcome.REFUSED,
        replied_at=timezone.now() - timedelta(days=5),
    )
    url = "https://refuser.example/" + ("u" * LONG if long_input else "photo.jpg")
    NoticeLink.objects.create(
        notice=refused, link=FoundLinkFactory(case=case, host=refused_host, url=url)
    )
    send_message(case, "M" * LONG if long_input else "Please also look at my other photos.")
    link_url = portal_access.issue_portal_link(case, actor=None)
    access = portal_access.live_access(
        case.portal_accesses.filter(revoked_at__isnull=True).values_list("pk", flat=True).first()
    )
    return {
        "case": case,
        "in_review": in_review,
        "portal_path": urlsplit(link_url).path,
        "device": portal_access.remember_device(access),
    }


def enter_portal(page: Any, world: dict[str, Any], live_server: Any) -> None:
    """Into the portal as the person on a device that already entered the code once."""
    page.context.add_cookies(
        [
            {
                "name": portal_access.DEVICE_COOKIE,
                "value": world["device"],
                "url": live_server.url + "/p/",
            }
        ]
    )
    page.goto(world["portal_path"])
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("h1")).to_contain_text("Your case")


def staff_pages(case: Case, notice: Notice) -> list[tuple[str, str]]:
    ref = case.reference
    return [
        ("staff-queue", "/cases/"),
        ("staff-new", "/cases/new/"),
        ("staff-case", f"/cases/{ref}/"),
        ("staff-links", f"/cases/{ref}/links/"),
        ("staff-hosts", f"/cases/{ref}/hosts/"),
        ("staff-timeline", f"/cases/{ref}/timeline/"),
        ("staff-messages", f"/cases/{ref}/messages/"),
        ("staff-notice", f"/cases/{ref}/notices/{notice.pk}/"),
    ]


def review_pages(notice: Notice) -> list[tuple[str, str]]:
    return [
        ("review-queue", "/review/"),
        ("review-notice", f"/review/notices/{notice.pk}/"),
        ("review-results", "/review/results/"),
    ]


PORTAL_PAGES = [
    ("portal-status", "/p/status/"),
    ("portal-timeline", "/p/timeline/"),
    ("portal-message", "/p/message/"),
    ("portal-mandate", "/p/mandate/"),
    ("portal-case", "/p/case/"),
    ("portal-data", "/p/data/"),
]


@pytest.fixture
def neutral_site(new_page: Any) -> Any:
    """Pages whose requests to the neutral site are answered locally (no internet here)."""

    def open_page(**kwargs: Any) -> Any:
        page = new_page(**kwargs)
        page.route(
            NEUTRAL + "**",
            lambda route: route.fulfill(
                status=200, content_type="text/html", body="<title>Weather</title><p>Sunny</p>"
            ),
        )
        return page

    return open_page


def test_every_page_of_the_three_audiences_has_no_serious_axe_violation(
    new_page, live_server
) -> None:
    world = build_world()
    case, notice = world["case"], world["in_review"]
    failures = []

    def check(page: Any, name: str, path: str, status: int = 200) -> None:
        response = page.goto(path)
        assert response is not None and response.status == status, (name, path)
        try:
            assert_accessible(page, name)
        except AssertionError as failure:
            failures.append(str(failure))

    anonymous = new_page()
    check(anonymous, "login", "/login/")
    check(anonymous, "portal-start", "/p/")
    check(anonymous, "portal-enter", world["portal_path"])
    check(anonymous, "portal-link-invalid", "/p/" + "x" * 43 + "/", 404)
    # A browser the portal does not know yet: the page asking for the e-mailed code.
    anonymous.goto(world["portal_path"])
    anonymous.get_by_role("button", name="Continue").click()
    expect(anonymous.get_by_label("Code from the e-mail")).to_be_visible()
    try:
        assert_accessible(anonymous, "portal-code")
    except AssertionError as failure:
        failures.append(str(failure))

    carla = new_page()
    log_in(carla, "carla", PASSWORD)
    for name, path in staff_pages(case, notice):
        check(carla, name, path)

    rita = new_page()
    log_in(rita, "rita", PASSWORD)
    for name, path in review_pages(notice):
        check(rita, name, path)

    alex = new_page()
    enter_portal(alex, world, live_server)
    for name, path in PORTAL_PAGES:
        check(alex, name, path)
    # The German pages too (lang attributes, longer words).
    alex.get_by_role("button", name="Deutsch").click()
    expect(alex.locator("html")).to_have_attribute("lang", "de")
    for name, path in PORTAL_PAGES:
        check(alex, f"{name}-de", path)

    assert not failures, "\n".join(failures)


def test_no_page_is_wider_than_a_phone_with_long_unbroken_input(new_page, live_server) -> None:
    world = build_world(long_input=True)
    case, notice = world["case"], world["in_review"]
    carla = new_page(width=360, height=740)
    log_in(carla, "carla", PASSWORD)
    for name, path in staff_pages(case, notice):
        carla.goto(path)
        assert_no_sideways_scroll(carla, name)
    # The person's name, revealed, and the message, on the case page.
    carla.goto(f"/cases/{case.reference}/messages/")
    expect(carla.get_by_text("M" * 100, exact=False).first).to_be_visible()
    assert_no_sideways_scroll(carla, "staff-messages-long")
    shoot(carla, "quality-360-staff-messages-long")

    rita = new_page(width=360, height=740)
    log_in(rita, "rita", PASSWORD)
    for name, path in review_pages(notice):
        rita.goto(path)
        assert_no_sideways_scroll(rita, name)
    shoot(rita, "quality-360-review-notice")

    alex = new_page(width=360, height=740)
    enter_portal(alex, world, live_server)
    for name, path in PORTAL_PAGES:
        alex.goto(path)
        assert_no_sideways_scroll(alex, name)
    refused = FoundLink.objects.get(host__hostname="refuser.example")
    alex.goto(f"/p/status/?show={refused.pk}")
    expect(alex.locator(".full code")).to_contain_text("u" * 100)
    assert_no_sideways_scroll(alex, "portal-status-long-address")
    shoot(alex, "quality-360-portal-long-address")
    alex.goto("/p/message/")
    alex.get_by_label("Your message").fill("W" * 4999)
    alex.get_by_role("button", name="Send message").click()
    assert_no_sideways_scroll(alex, "portal-message-sent")


def test_caseworker_main_path_by_keyboard_only(new_page) -> None:
    world = build_world()
    case = world["case"]
    page = new_page()
    page.goto("/login/")
    tab_to(page, "input[name=username]")
    page.keyboard.type("carla")
    tab_to(page, "input[name=password]")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/cases/$"))
    # From the queue to the case, and from the case to its notice, with Tab and Enter only.
    tab_to(page, f'a[href="/cases/{case.reference}/"]')
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text(case.reference)
    tab_to(page, f'a[href="/cases/{case.reference}/notices/{world["in_review"].pk}/"]', limit=200)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/notices/{world['in_review'].pk}/$"))
    shoot(page, "quality-keyboard-caseworker-notice")


def test_reviewer_decides_by_keyboard_only(new_page) -> None:
    world = build_world()
    notice = world["in_review"]
    page = new_page()
    log_in(page, "rita", PASSWORD)
    page.goto("/review/")
    tab_to(page, f'a[href="/review/notices/{notice.pk}/#decision-h"]')
    page.keyboard.press("Enter")
    expect(page.locator("#notice-text")).to_be_visible()
    tab_to(page, "#decision button[type=submit]", limit=200)
    page.keyboard.press("Enter")
    expect(page.get_by_text(f"Notice {notice.pk} to Hetzner Online GmbH approved.")).to_be_visible()
    notice.refresh_from_db()
    assert notice.status == Notice.Status.APPROVED


def test_portal_by_keyboard_only(new_page, live_server) -> None:
    world = build_world()
    page = new_page(width=390, height=844)
    page.context.add_cookies(
        [
            {
                "name": portal_access.DEVICE_COOKIE,
                "value": world["device"],
                "url": live_server.url + "/p/",
            }
        ]
    )
    page.goto(world["portal_path"])
    tab_to(page, "main button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text("Your case")
    # Open a site's links with the keyboard: the summary of its <details>.
    tab_to(page, ".site summary")
    page.keyboard.press("Enter")
    expect(page.locator(".site details").first).to_have_attribute("open", "")
    # Write to the caseworker.
    tab_to(page, 'a[href="/p/message/"]')
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/p/message/$"))
    tab_to(page, "textarea")
    page.keyboard.type("Written with the keyboard only.")
    tab_to(page, "main button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Your message was sent to your caseworker.")).to_be_visible()
    bodies = [m.body for m in PortalMessage.objects.filter(case=world["case"])]
    assert "Written with the keyboard only." in bodies
    shoot(page, "quality-keyboard-portal-message")


def test_portal_links_by_site_and_state_after_refusal(new_page, live_server) -> None:
    world = build_world()
    page = new_page(width=390, height=844)
    enter_portal(page, world, live_server)
    sentences = page.locator(".site-sentence").all_inner_texts()
    sent = timezone.localtime(timezone.now() - timedelta(days=2))
    assert any(
        s.startswith("3 pictures on picshare-demo.com: removal requested on ")
        and f"{sent.day} {sent:%B %Y}" in s
        and ", they must answer by " in s
        for s in sentences
    ), sentences
    expect(page.locator("#case-state")).to_contain_text(
        "Refuser Inc refused to remove the pictures"
    )
    expect(page.locator("#case-state")).to_contain_text("This is not the end")
    # The links of a site are one tap away.
    site = page.locator(".site", has_text="picshare-demo.com")
    expect(site.locator(".link")).to_have_count(3)
    expect(site.locator(".link").first).to_be_hidden()
    site.locator("summary").click()
    expect(site.locator(".link").first).to_be_visible()
    shoot(page, "quality-portal-sites")


def _photo(image_format: str, size: tuple[int, int]) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, "white").save(out, image_format)
    return out.getvalue()


def test_portal_mandate_photos_and_data_page(new_page, live_server) -> None:
    world = build_world()
    page = new_page(width=390, height=844)
    enter_portal(page, world, live_server)
    page.goto("/p/mandate/")
    assert page.locator("#id_camera").get_attribute("capture") == "environment"
    assert page.locator("#id_document").get_attribute("multiple") == ""
    page.locator("#id_document").set_input_files(
        [
            {"name": "page1.jpg", "mimeType": "image/jpeg", "buffer": _photo("JPEG", (600, 800))},
            {"name": "page2.png", "mimeType": "image/png", "buffer": _photo("PNG", (600, 800))},
        ]
    )
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_text("Thank you. We received your signed authorisation.")).to_be_visible()
    from pypdf import PdfReader

    stored = bytes(Mandate.objects.get(case=world["case"]).signed_document)
    assert len(PdfReader(io.BytesIO(stored)).pages) == 2
    shoot(page, "quality-portal-mandate-photos")

    page.goto("/p/data/")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download my data as a page to read or print").click()
    assert download.value.suggested_filename == f"{world['case'].reference}-my-data.html"
    html = Path(download.value.path()).read_text()
    reader = new_page(width=390, height=844)
    reader.set_content(html)
    expect(reader.locator("h1")).to_have_text(f"Your data, case {world['case'].reference}")
    expect(reader.get_by_text("https://picshare-demo.com/p/0.jpg")).to_be_visible()
    shoot(reader, "quality-portal-data-page")


def test_portal_leave_quickly_button_and_escape(neutral_site, live_server, settings) -> None:
    settings.TAKEDOWN_PORTAL_LEAVE_URL = NEUTRAL
    world = build_world()
    page = neutral_site(width=390, height=844)
    enter_portal(page, world, live_server)
    shoot(page, "quality-portal-leave-button")
    page.get_by_role("button", name="Leave quickly").click()
    expect(page).to_have_url(NEUTRAL)
    expect(page.get_by_text("Sunny")).to_be_visible()
    # The visit is over: the portal asks for the link again, and Back does not bring it back.
    page.goto("/p/status/")
    expect(page).to_have_url(re.compile(r"/p/$"))

    # Esc three times does the same, from any page of the portal.
    other = neutral_site(width=390, height=844)
    enter_portal(other, world, live_server)
    other.goto("/p/timeline/")
    for _ in range(3):
        other.keyboard.press("Escape")
    expect(other).to_have_url(NEUTRAL)
    other.goto("/p/timeline/")
    expect(other).to_have_url(re.compile(r"/p/$"))


def test_portal_leave_quickly_without_javascript(browser, live_server, roles, settings) -> None:
    settings.TAKEDOWN_PORTAL_LEAVE_URL = NEUTRAL
    world = build_world()
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        page.route(
            NEUTRAL + "**",
            lambda route: route.fulfill(status=200, content_type="text/html", body="<p>Sunny</p>"),
        )
        enter_portal(page, world, live_server)
        page.get_by_role("button", name="Leave quickly").click()
        expect(page).to_have_url(NEUTRAL)
        page.goto("/p/status/")
        expect(page).to_have_url(re.compile(r"/p/$"))
    finally:
        context.close()


def test_portal_pause_says_what_happens_next_and_mandate_follows_language(
    new_page, live_server
) -> None:
    world = build_world()
    page = new_page(width=390, height=844)
    enter_portal(page, world, live_server)
    page.get_by_role("link", name="Pause or withdraw").click()
    page.get_by_role("button", name="Pause my case").click()
    expect(page.locator("#case-state")).to_contain_text("You paused your case on ")
    page.get_by_role("link", name="Status").click()
    expect(page.locator("#case-state")).to_contain_text(
        "While it is paused we send no new requests and no reminders."
    )
    shoot(page, "quality-portal-paused")

    # In German, the authorisation to sign is German too, whatever language is on file.
    page.get_by_role("button", name="Deutsch").click()
    page.get_by_role("link", name="Vollmacht").click()
    with page.expect_download() as download:
        page.locator("#mandate-pdf").click()
    from pypdf import PdfReader

    text = PdfReader(download.value.path()).pages[0].extract_text()
    assert "Vollmacht und Beauftragung" in text
    shoot(page, "quality-portal-mandate-de")
