"""The access matrix, generated from the URL configuration: every URL pattern of the project,
requested by an anonymous visitor, a caseworker and a reviewer of the case's team, an admin, a
caseworker and a reviewer of another team, and the affected person's portal sessions of this
case and of another case. Every answer is compared with an explicit expectation per URL name
(EXPECTED below); a URL name the table does not know fails the test, so a new view has to
state who may reach it before it can be merged, and a view that forgets its access control
shows up as a difference here.

Views that take only POST are also posted to by everyone who must not use them (posting as the
owner would act): the other team's caseworker must get 404 (the case is not confirmed to
exist), the others the sign-in page or 403.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from takedown.models import (
    Case,
    DeletionRequest,
    Import,
    Job,
    Notice,
    PortalAccess,
    Reply,
    ReplyAttachment,
)
from takedown.web.portal.access import issue_portal_link
from takedown.web.portal.views import SESSION_ACCESS, SESSION_VERIFIED
from takedown.web.staff.selectors import MANUAL_TASK
from takedown.workflow import record_event
from tests.factories import CaseFactory, FoundLinkFactory, NoticeFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

PRINCIPALS = (
    "anonymous",
    "caseworker",
    "reviewer",
    "admin",
    "other_caseworker",
    "other_reviewer",
    "portal",
    "other_portal",
)

# Outcomes: what a request gets.
OK = "200"
LOGIN = "-> login"
ADMIN_LOGIN = "-> admin login"
PORTAL_START = "-> portal start"
REDIRECT = "-> elsewhere"
FORBIDDEN = "403"
MISSING = "404"
METHOD = "405"
ANY = "any (below 500)"


def _row(**outcomes: str) -> dict[str, str]:
    assert set(outcomes) == set(PRINCIPALS), sorted(set(PRINCIPALS) ^ set(outcomes))
    return outcomes


def _staff(team: str, *, owner: str = OK, method: bool = False) -> dict[str, dict[str, str]]:
    """A caseworker screen. `team`: what the other team's caseworker gets (404 for a screen of
    this case, 200 for one of their own, like the queue). `method`: POST only."""
    get = _row(
        anonymous=LOGIN,
        caseworker=METHOD if method else owner,
        reviewer=FORBIDDEN,
        admin=METHOD if method else owner,
        other_caseworker=METHOD if method else team,
        other_reviewer=FORBIDDEN,
        portal=LOGIN,
        other_portal=LOGIN,
    )
    post = {"anonymous": LOGIN, "reviewer": FORBIDDEN, "other_caseworker": team}
    post |= {"other_reviewer": FORBIDDEN, "portal": LOGIN, "other_portal": LOGIN}
    return {"GET": get, "POST": post} if method else {"GET": get}


def _review(team: str, *, method: bool = False) -> dict[str, dict[str, str]]:
    """A reviewer screen. Those that take only POST check the method before the user (405 for
    every GET, which shows nothing); the POSTs below check the user."""
    get = (
        dict.fromkeys(PRINCIPALS, METHOD)
        if method
        else _row(
            anonymous=LOGIN,
            caseworker=FORBIDDEN,
            reviewer=OK,
            admin=OK,
            other_caseworker=FORBIDDEN,
            other_reviewer=team,
            portal=LOGIN,
            other_portal=LOGIN,
        )
    )
    post = {"anonymous": LOGIN, "caseworker": FORBIDDEN, "other_caseworker": FORBIDDEN}
    post |= {"other_reviewer": team, "portal": LOGIN, "other_portal": LOGIN}
    return {"GET": get, "POST": post} if method else {"GET": get}


def _everyone(outcome: str, **but: str) -> dict[str, dict[str, str]]:
    return {"GET": _row(**{**dict.fromkeys(PRINCIPALS, outcome), **but})}


STAFF_USERS = ("caseworker", "reviewer", "admin", "other_caseworker", "other_reviewer")
_PORTAL_PAGE = _everyone(PORTAL_START, portal=OK, other_portal=OK)
_ADMIN = _everyone(ADMIN_LOGIN, admin=ANY)
# Admin screens outside the Django admin (a team's letter texts): other staff get 403; a POST
# by anyone but an admin is refused the same way before it is read.
_NOT_ADMIN = dict.fromkeys(
    ("caseworker", "reviewer", "other_caseworker", "other_reviewer"), FORBIDDEN
)
_ADMIN_SCREEN = {
    "GET": _everyone(LOGIN, admin=OK, **_NOT_ADMIN)["GET"],
    "POST": {"anonymous": LOGIN, "portal": LOGIN, "other_portal": LOGIN} | _NOT_ADMIN,
}

EXPECTED: dict[str, dict[str, dict[str, str]]] = {
    # Signing in.
    "login": _everyone(OK, **dict.fromkeys(STAFF_USERS, REDIRECT)),
    "logout": _everyone(METHOD),
    "home": _everyone(LOGIN, **dict.fromkeys(STAFF_USERS, REDIRECT)),
    "two_factor:setup": _everyone(LOGIN, **dict.fromkeys(STAFF_USERS, OK)),
    "two_factor:verify": _everyone(LOGIN, **dict.fromkeys(STAFF_USERS, REDIRECT)),
    # The caseworker's screens.
    "staff:queue": _staff(team=OK),
    "staff:new": _staff(team=OK),
    "staff:case": _staff(team=MISSING),
    "staff:links": _staff(team=MISSING),
    "staff:hosts": _staff(team=MISSING),
    "staff:timeline": _staff(team=MISSING),
    "staff:messages": _staff(team=MISSING),
    "staff:import_links": _staff(team=MISSING),
    "staff:import": _staff(team=MISSING),
    "staff:notice": _staff(team=MISSING),
    "staff:notice_pdf": _staff(team=MISSING),
    "staff:notice_links": _staff(team=MISSING),
    "staff:portal_link": _staff(team=MISSING, method=True),
    "staff:reveal": _staff(team=MISSING, method=True),
    "staff:mandate": _staff(team=MISSING, method=True),
    "staff:resolve": _staff(team=MISSING, method=True),
    "staff:generate": _staff(team=MISSING, method=True),
    "staff:send": _staff(team=MISSING, method=True),
    "staff:delisting": _staff(team=MISSING, method=True),
    "staff:ladder": _staff(team=MISSING, method=True),
    "staff:close": _staff(team=MISSING, method=True),
    "staff:submit": _staff(team=MISSING, method=True),
    "staff:submitted": _staff(team=MISSING, method=True),
    "staff:reply": _staff(team=MISSING, method=True),
    "staff:portal_revoke": _staff(team=MISSING, method=True),
    "staff:messages_read": _staff(team=MISSING, method=True),
    "staff:deletion_handled": _staff(team=MISSING, method=True),
    "staff:link_reviewed": _staff(team=MISSING, method=True),
    "staff:task_done": _staff(team=MISSING, method=True),
    "staff:recheck": _staff(team=MISSING, method=True),
    "staff:reference_hashes": _staff(team=MISSING, method=True),
    "staff:access": _staff(team=MISSING, method=True),
    "staff:answer": _staff(team=MISSING, method=True),
    "staff:authority": _staff(team=MISSING, method=True),
    "staff:consent": _staff(team=MISSING, method=True),
    "staff:edit_notice": _staff(team=MISSING),
    "staff:entry_note": _staff(team=MISSING, method=True),
    "staff:exclude_links": _staff(team=MISSING, method=True),
    "staff:facts": _staff(team=MISSING, method=True),
    "staff:knowledge": _staff(team=MISSING, method=True),
    "staff:ladder_step": _staff(team=MISSING, method=True),
    "staff:mandate_form": _staff(team=MISSING),
    "staff:mandate_revoke": _staff(team=MISSING, method=True),
    "staff:mandate_upload": _staff(team=MISSING, method=True),
    # Not a web-form notice: back to the notice.
    "staff:notice_form": _staff(team=MISSING, owner=REDIRECT),
    "staff:notices_csv": _staff(team=MISSING),
    "staff:party": _staff(team=MISSING),
    "staff:portal_answer": _staff(team=MISSING, method=True),
    "staff:reference_picture": _staff(team=MISSING, method=True),
    "staff:regime": _staff(team=MISSING, method=True),
    "staff:reopen": _staff(team=MISSING, method=True),
    "staff:replies": _staff(team=MISSING),
    "staff:job": _staff(team=MISSING),
    "staff:job_status": _staff(team=MISSING),
    # This job made no PDF.
    "staff:job_output": _staff(team=MISSING, owner=MISSING),
    # Screens of one's own work, not of a case.
    "staff:inbox": _staff(team=OK),
    "staff:notifications": _staff(team=OK),
    "staff:notifications_digest": _staff(team=REDIRECT, method=True),
    # Any signed-in staff member keeps a language of their own (reviewers too).
    "staff:language": {
        "GET": _everyone(LOGIN, **dict.fromkeys(STAFF_USERS, METHOD))["GET"],
        "POST": {"anonymous": LOGIN, "portal": LOGIN, "other_portal": LOGIN}
        | dict.fromkeys(STAFF_USERS, REDIRECT),
    },
    # An organisation's letter texts: admins only.
    "staff:templates": _ADMIN_SCREEN,
    "staff:template_edit": _ADMIN_SCREEN,
    "staff:template_reset": _ADMIN_SCREEN,
    "staff:reply_confirm": _staff(team=MISSING, method=True),
    "staff:reply_assign": _staff(team=MISSING, method=True),
    "staff:reply_dismiss": _staff(team=MISSING, method=True),
    # Downloaded only after the warning, by POST (an answer may contain the image).
    "staff:reply_attachment": _staff(team=MISSING, method=True),
    "staff:reply_detail": _staff(team=MISSING),
    # The reviewer's screens.
    "review:index": _review(team=OK),
    "review:results_csv": _review(team=OK),
    "review:results": _review(team=OK),
    "review:notice": _review(team=MISSING),
    "review:notice_pdf": _review(team=MISSING),
    "review:notice_links": _review(team=MISSING),
    "review:approve": _review(team=MISSING, method=True),
    "review:reject": _review(team=MISSING, method=True),
    # The affected person's portal: the session says whose case it is; no URL names one.
    "portal:start": _everyone(OK, portal=REDIRECT, other_portal=REDIRECT),
    "portal:enter": _everyone(OK),
    "portal:verify": _everyone(PORTAL_START, portal=REDIRECT, other_portal=REDIRECT),
    "portal:signout": _everyone(METHOD),
    # Django's set_language: a GET only goes back (nothing is set).
    "portal:language": _everyone(REDIRECT),
    "portal:home": _PORTAL_PAGE,
    "portal:timeline": _PORTAL_PAGE,
    "portal:message": _PORTAL_PAGE,
    "portal:mandate": _PORTAL_PAGE,
    "portal:mandate_pdf": _PORTAL_PAGE,
    "portal:case": _PORTAL_PAGE,
    "portal:data": _PORTAL_PAGE,
    "portal:data_json": _PORTAL_PAGE,
    "portal:data_html": _PORTAL_PAGE,
    "portal:rights": _PORTAL_PAGE,
    "portal:mandate_revoke": _everyone(PORTAL_START, portal=METHOD, other_portal=METHOD),
    # Leaving quickly (POST) works for anyone, signed in or not: it only ends the session.
    "portal:leave": _everyone(METHOD),
    # Operators: health is open (it names no case; 503 here: no dispatcher has run); metrics
    # answer loopback (the test client).
    "health": _everyone("503"),
    "metrics": _everyone(OK),
    # The Django admin: admins only (takedown.admin_site), every page alike.
    "admin:*": _ADMIN,
    "admin:login": _everyone(OK, admin=REDIRECT),
    # The admin's own pages send everyone else to the admin's sign-in first.
    "admin:logout": _everyone(REDIRECT, admin=METHOD),
}


# --- the world ------------------------------------------------------------------------------------


@dataclass
class World:
    case: Case
    other_case: Case
    clients: dict[str, Client]
    args: dict[str, Any]


def _user(username: str, group: str | None, team: Any, **fields: Any) -> Any:
    user = UserFactory(username=username, **fields)
    if group:
        user.groups.add(Group.objects.get(name=group))
    if team is not None:
        team.members.add(user)
    return user


def _portal_client(case: Case) -> tuple[Client, str]:
    url = issue_portal_link(case, actor=None)
    client = Client(raise_request_exception=False)
    session = client.session
    session[SESSION_ACCESS] = PortalAccess.objects.get(case=case, revoked_at__isnull=True).pk
    session[SESSION_VERIFIED] = True
    session.save()
    return client, url.rstrip("/").rsplit("/", 1)[-1]


@pytest.fixture
def world(settings: Any) -> World:
    settings.TAKEDOWN_PUBLIC_URL = "https://portal.example"
    cache.clear()
    team, other_team = TeamFactory(name="Berlin"), TeamFactory(name="Hamburg")
    case = CaseFactory(reference="TD-2026-0001", team=team)
    other_case = CaseFactory(reference="TD-2026-0002", team=other_team)
    link = FoundLinkFactory(case=case)
    notice = NoticeFactory(case=case, status=Notice.Status.IN_REVIEW)
    imported = Import.objects.create(case=case, format="text")
    deletion = DeletionRequest.objects.create(case=case)
    task = record_event(case, MANUAL_TASK, message="Send by post")
    reply = Reply.objects.create(
        message_key="attack-matrix-1",
        notice=notice,
        case=case,
        raw=b"Subject: x\r\n\r\nx",
        kind=Reply.Kind.OTHER,
        state=Reply.State.TO_CONFIRM,
    )
    attachment = ReplyAttachment.objects.create(
        reply=reply, filename="a.txt", content_type="text/plain", content=b"x", size=1
    )
    job = Job.objects.create(kind=Job.Kind.GENERATE, case=case)
    users = {
        "caseworker": _user("carla", "caseworker", team),
        "reviewer": _user("rita", "reviewer", team),
        "admin": _user("ada", "admin", None, is_staff=True),
        "other_caseworker": _user("otto", "caseworker", other_team),
        "other_reviewer": _user("rolf", "reviewer", other_team),
    }
    # Errors are answers here (500 is an outcome like any other), not exceptions.
    clients = {"anonymous": Client(raise_request_exception=False)}
    for name, user in users.items():
        clients[name] = Client(raise_request_exception=False)
        clients[name].force_login(user)
    clients["portal"], token = _portal_client(case)
    clients["other_portal"], _other_token = _portal_client(other_case)
    args = {
        "reference": case.reference,
        "token": token,
        "object_id": str(case.pk),
        "content_type_id": str(ContentType.objects.get_for_model(Case).pk),
        "id": str(users["caseworker"].pk),
        "app_label": "takedown",
        "url": "nothing-here/",
        "pk": {
            "staff:import": imported.pk,
            "staff:deletion_handled": deletion.pk,
            "staff:link_reviewed": link.pk,
            "staff:task_done": task.pk,
            "staff:reply_confirm": reply.pk,
            "staff:reply_assign": reply.pk,
            "staff:reply_dismiss": reply.pk,
            "staff:reply_attachment": reply.pk,
            "staff:reply_detail": reply.pk,
            "staff:job": job.pk,
            "staff:job_status": job.pk,
            "staff:job_output": job.pk,
        },
        "attachment": attachment.pk,
        "hostname": link.host.hostname,
        "default_pk": notice.pk,
        "team": team.pk,
        "regime": "dsa",
        "language": "en",
    }
    return World(case, other_case, clients, args)


# --- the URL configuration -----------------------------------------------------------------------


def url_patterns() -> Iterator[tuple[str, str, list[str]]]:
    """(name, route, parameter names) for every pattern; unnamed ones are named by route."""

    def walk(patterns: list[Any], prefix: str, namespace: str) -> Iterator[tuple[str, str, list]]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = pattern.namespace or ""
                spaced = ":".join(part for part in (namespace, inner) if part)
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), spaced)
            elif isinstance(pattern, URLPattern):
                route = prefix + str(pattern.pattern)
                name = pattern.name or route
                full = f"{namespace}:{name}" if namespace else name
                params = re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>", route)
                yield full, route, [a or b for a, b in params]

    yield from walk(get_resolver().url_patterns, "", "")


def path_for(route: str, name: str, args: dict[str, Any]) -> str:
    def fill(match: re.Match[str]) -> str:
        param = match.group(1) or match.group(2)
        if param == "pk":
            return str(args["pk"].get(name, args["default_pk"]))
        return str(args[param])

    path = re.sub(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)", fill, route)
    return "/" + path.removeprefix("^").removesuffix("$")


def outcome(response: Any) -> str:
    if response.status_code in (301, 302):
        location = response["Location"]
        if location.startswith("/admin/login/"):
            return ADMIN_LOGIN
        if location.startswith("/login/"):
            return LOGIN
        if location in ("/p/", "/p"):
            return PORTAL_START
        return REDIRECT
    return {200: OK, 403: FORBIDDEN, 404: MISSING, 405: METHOD}.get(
        response.status_code, str(response.status_code)
    )


def expectation(name: str) -> dict[str, dict[str, str]] | None:
    if name in EXPECTED:
        return EXPECTED[name]
    if name.startswith("admin:"):
        return EXPECTED["admin:*"]
    return None


def test_every_url_pattern_is_in_the_table() -> None:
    unknown = sorted({name for name, _route, _params in url_patterns() if not expectation(name)})

    assert unknown == [], f"state who may reach these in tests/test_attack_access.py: {unknown}"


def test_access_matrix(world: World) -> None:
    differences = []
    checked = 0
    for name, route, _params in url_patterns():
        expected = expectation(name)
        assert expected is not None, name
        path = path_for(route, name, world.args)
        for method, row in expected.items():
            for principal, wanted in row.items():
                client = world.clients[principal]
                send = client.get if method == "GET" else client.post
                response = send(path)
                got = outcome(response)
                checked += 1
                ok = response.status_code < 500 if wanted == ANY else got == wanted
                if not ok:
                    differences.append(
                        f"{method} {path} ({name}) as {principal}: {got}, not {wanted}"
                    )

    assert differences == [], "\n".join(differences)
    assert checked > 500


def test_portal_session_shows_only_its_own_case(world: World) -> None:
    own = world.clients["portal"].get("/p/data/my-data.json")
    other = world.clients["other_portal"].get("/p/data/my-data.json")

    assert own.status_code == other.status_code == 200
    assert world.case.reference in own.content.decode()
    assert world.case.reference not in other.content.decode()
    assert world.other_case.reference in other.content.decode()
