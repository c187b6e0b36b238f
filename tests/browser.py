"""Real-browser tests: Playwright for Python driving Debian's chromium against a live server.

Playwright's own browser download cannot reach its CDN here, so the browser is the system's
(`scripts/system-deps.sh` installs the `chromium` package; TAKEDOWN_CHROMIUM points elsewhere).
Without it, or without the playwright package, every test using these fixtures is skipped
with the reason, except where CI or TAKEDOWN_REQUIRE_BROWSER is set: there it fails.

Mark such tests `@pytest.mark.browser` and use BROWSER_DB (below) instead of plain django_db:
the live server answers from another thread, so the test's data must be committed, and the
rows that migrations create (the role groups) are restored for the tests that follow.

Screenshots go to test-output/screenshots/ (gitignored), one PNG per `shoot(page, name)`, for a
person to look at after a run.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest
from django.contrib.auth.models import Group

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT_DIR = Path(
    os.environ.get("TAKEDOWN_SCREENSHOT_DIR", ROOT / "test-output" / "screenshots")
)
# Every browser test: committed data for the live server's thread, and the groups of migration
# 0005 brought back afterwards (a flush would otherwise leave later tests without roles).
BROWSER_DB = pytest.mark.django_db(transaction=True, serialized_rollback=True)
# Generous for a 2-core machine shared with other test runs, short enough to fail fast.
TIMEOUT_MS = 15_000


def chromium_path() -> str | None:
    configured = os.environ.get("TAKEDOWN_CHROMIUM")
    if configured:
        return configured if Path(configured).exists() else None
    for candidate in (
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def _missing(reason: str) -> NoReturn:
    # CI installs chromium and playwright, so there a missing browser is a broken setup, not a
    # reason to pass without the browser tests.
    if os.environ.get("CI") or os.environ.get("TAKEDOWN_REQUIRE_BROWSER"):
        pytest.fail(f"browser tests are required here (CI / TAKEDOWN_REQUIRE_BROWSER): {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One chromium per test module (starting it costs about a second)."""
    path = chromium_path()
    if path is None:
        _missing(
            "needs chromium: `sudo bash scripts/system-deps.sh install` (Debian's package), "
            "or TAKEDOWN_CHROMIUM=/path/to/chromium"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing(
            "needs the playwright package: .venv/bin/pip install -c constraints.txt playwright"
        )
    # Playwright's sync API keeps an asyncio loop running in this thread, and Django refuses
    # ORM calls from a thread with a running loop. The test code is plain synchronous code that
    # only waits on the browser, so the check is lifted for exactly as long as the browser runs.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    manager = sync_playwright().start()
    try:
        chromium = manager.chromium.launch(executable_path=path, args=["--disable-gpu"])
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        manager.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def new_page(browser: Browser, live_server: Any, roles: None) -> Iterator[Any]:
    """`new_page()` opens a page in a fresh context (own cookies: one per person in a test),
    with relative URLs resolved against the live server. All are closed after the test."""
    contexts = []

    def open_page(*, locale: str = "en-GB", width: int = 1280, height: int = 900) -> Page:
        context = browser.new_context(
            base_url=live_server.url,
            locale=locale,
            viewport={"width": width, "height": height},
            # The browser never reaches the internet: only the live server and the sandbox.
            service_workers="block",
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Any) -> Page:
    return new_page()


def shoot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as test-output/screenshots/<name>.png."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in(page: Page, username: str, password: str) -> None:
    """Sign in through the login form, as a person would."""
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name=re.compile("sign in|log in", re.IGNORECASE)).click()
    page.wait_for_load_state()


# --- accessibility: axe-core, injected into the page under test --------------------------------

AXE_JS = ROOT / "tests" / "js" / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.1 A and AA, the level the three audiences' pages are held to.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING_IMPACTS = ("serious", "critical")


# Every browser test signs staff in with this one password.
PASSWORD = "a long test passphrase 7"


def staff_user(username: str, role: str, team: Any, **fields: Any) -> Any:
    """A staff member of `role`'s group and `team` who signs in with PASSWORD."""
    from tests.factories import UserFactory

    user = UserFactory(username=username, **fields)
    user.set_password(PASSWORD)
    user.save()
    user.groups.add(Group.objects.get(name=role))
    team.members.add(user)
    return user


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now. axe comes from the npm registry
    (tests/js/package-lock.json, installed by scripts/bootstrap); it is evaluated through the
    DevTools protocol, which the page's Content-Security-Policy does not restrict, so the
    product needs no exception for it."""
    if not AXE_JS.exists():
        _missing(f"needs axe-core: `npm ci --prefix tests/js` ({AXE_JS} is missing)")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_JS.read_text(encoding="utf-8") + "\n;undefined")
    result = page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations']})).violations",
        AXE_TAGS,
    )
    return list(result)


def assert_accessible(page: Page, name: str) -> None:
    """No serious or critical axe violation on the page; the message lists each with the
    elements it found, so a failure says what to fix."""
    blocking = [v for v in axe_violations(page) if v.get("impact") in BLOCKING_IMPACTS]
    details = [
        f"{v['id']} ({v['impact']}): {v['help']} -> "
        + "; ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        for v in blocking
    ]
    assert not blocking, f"{name} ({page.url}): " + " | ".join(details)


def assert_no_sideways_scroll(page: Page, name: str) -> None:
    """The page is no wider than the viewport: nothing forces the reader to scroll sideways."""
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.body.scrollWidth, innerWidth]"
    )
    if max(widths[0], widths[1]) <= widths[2]:
        return
    # Name the outermost elements that stick out (not their children), so a failure says what
    # to fix.
    culprits = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter((e) => e.getBoundingClientRect().right > innerWidth + 1
                && !(e.parentElement
                     && e.parentElement.getBoundingClientRect().right > innerWidth + 1))
            .slice(0, 8)
            .map((e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                 + (e.className && typeof e.className === 'string' ? '.' + e.className : '')
                 + ' ' + Math.round(e.getBoundingClientRect().right))"""
    )
    raise AssertionError(f"{name} ({page.url}) is {widths} wide: {culprits}")


def tab_to(page: Page, selector: str, *, limit: int = 60) -> None:
    """Press Tab until the element matching `selector` has the focus, as a keyboard user
    would; fails when it is not reachable within `limit` presses."""
    page.wait_for_load_state()
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            return
    raise AssertionError(f"{selector} is not reachable by Tab on {page.url}")
