"""Who may see what: roles, object-level access to cases, login throttling, audit of access.

Roles are Django groups created by migration 0005_web: "caseworker" (works the cases of their
teams), "reviewer" (has takedown.review_notice: four-eyes approval of their teams' notices) and
"admin" (everything, and the Django admin; takedown.web.roles keeps its permissions complete).
A superuser counts as admin. Every staff view looks a case up through `get_case_for`, so a
caseworker of another team gets the same 404 as for a case that does not exist: the reference
itself is not confirmed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from takedown.models import Case, Team
from takedown.workflow import record_event

CASEWORKER = "caseworker"
REVIEWER = "reviewer"
ADMIN = "admin"
ROLES = (CASEWORKER, REVIEWER, ADMIN)
REVIEW_PERMISSION = "takedown.review_notice"


# --- roles ----------------------------------------------------------------------------------


def _groups(user: Any) -> set[str]:
    # Cached on the user object: the nav and the decorator ask on every request.
    cached = getattr(user, "_takedown_groups", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True)) if user.pk else set()
        user._takedown_groups = cached
    return cached


def _active(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def is_admin(user: Any) -> bool:
    return _active(user) and (user.is_superuser or ADMIN in _groups(user))


def is_caseworker(user: Any) -> bool:
    return _active(user) and (is_admin(user) or CASEWORKER in _groups(user))


def is_reviewer(user: Any) -> bool:
    return _active(user) and user.has_perm(REVIEW_PERMISSION)


def roles(request: HttpRequest) -> dict[str, Any]:
    """Context processor: which parts of the navigation this user may see."""
    user = getattr(request, "user", None)
    return {
        "roles": {
            "caseworker": is_caseworker(user),
            "reviewer": is_reviewer(user),
            "admin": is_admin(user),
        }
    }


# --- object-level access ----------------------------------------------------------------------


def cases_for(user: Any) -> QuerySet[Case]:
    """The cases this user may see: all for admins, their teams' for caseworkers and
    reviewers, else none. Which screens a user reaches is the role decorators' business: a
    reviewer gets their teams' notices in the review dashboard, not the caseworker screens."""
    if is_admin(user):
        return Case.objects.all()
    if is_caseworker(user) or is_reviewer(user):
        # A subquery, not a join on team members: a join would repeat rows per member.
        return Case.objects.filter(team__in=Team.objects.filter(members=user).values("pk"))
    return Case.objects.none()


def get_case_for(user: Any, reference: str) -> Case:
    """The case with this reference if the user may open it; Http404 otherwise (also for
    cases of other teams, so the answer does not confirm that the reference exists)."""
    case = cases_for(user).select_related("team", "assigned_to").filter(reference=reference).first()
    if case is None:
        raise Http404("No such case")
    return case


def _role_required(check: Callable[[Any], bool]) -> Callable[[Callable], Callable]:
    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not check(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        # Anonymous users go to the login page; signed-in users without the role get 403.
        return login_required(wrapped)

    return decorator


staff_required = _role_required(is_caseworker)
"""For caseworker screens: caseworkers and admins."""

reviewer_required = _role_required(is_reviewer)
"""For reviewer screens: users with takedown.review_notice."""

admin_required = _role_required(is_admin)


# --- audit of access ------------------------------------------------------------------------

VIEW_AUDIT_INTERVAL = timedelta(minutes=10)


def audit_case_viewed(request: HttpRequest, case: Case) -> bool:
    """Record "case.viewed" when staff open a case. Repeated opens by the same session within
    VIEW_AUDIT_INTERVAL (paging through links, returning after an action) are one visit."""
    key = f"takedown:viewed:{case.pk}"
    now = timezone.now()
    last = request.session.get(key)
    if last is not None and now.timestamp() - float(last) < VIEW_AUDIT_INTERVAL.total_seconds():
        return False
    record_event(case, "case.viewed", actor=request.user, message="Case opened by staff")
    request.session[key] = now.timestamp()
    return True


# The affected person's details: masked until revealed, each reveal audited (case page, admin).
PERSON_FIELDS = ("name", "email", "phone", "notes")


def audit_person_revealed(request: HttpRequest, case: Case, fields: list[str]) -> None:
    """Record "person.revealed": who saw which of the affected person's details (the field
    names only, never the values)."""
    record_event(
        case,
        "person.revealed",
        actor=request.user,
        message="Personal details revealed to staff",
        data={"fields": sorted(fields)},
    )


# --- rate limiting (login here; the portal uses the same counters) ---------------------------


def _counter_key(scope: str, ident: str) -> str:
    # Hashed so the cache holds no usernames, addresses or tokens.
    digest = hashlib.sha256(f"{scope}\0{ident}".encode()).hexdigest()[:32]
    return f"takedown:rl:{scope}:{digest}"


def attempts(scope: str, ident: str) -> int:
    return int(cache.get(_counter_key(scope, ident), 0))


def add_attempt(scope: str, ident: str, *, window: int) -> int:
    """Count one attempt; the counter expires `window` seconds after the first attempt."""
    key = _counter_key(scope, ident)
    cache.add(key, 0, timeout=window)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        return 1


def clear_attempts(scope: str, ident: str) -> None:
    cache.delete(_counter_key(scope, ident))


def client_ip(request: HttpRequest) -> str:
    """The address rate limits count by. REMOTE_ADDR, unless it is one of
    TAKEDOWN_TRUSTED_PROXIES: then the right-most X-Forwarded-For address that is not itself a
    trusted proxy. Addresses further left were written by the client, and believing them would
    let anyone pick a fresh address per attempt; for the same reason X-Forwarded-For from
    anyone but a trusted proxy is ignored."""
    import ipaddress

    remote = request.META.get("REMOTE_ADDR", "")
    trusted = [ipaddress.ip_network(net) for net in settings.TAKEDOWN_TRUSTED_PROXIES]

    def parse(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
        try:
            return ipaddress.ip_address(value.strip())
        except ValueError:
            return None

    def is_trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return any(address in net for net in trusted)

    address = parse(remote)
    if address is None or not trusted or not is_trusted(address):
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    for hop in reversed(forwarded):
        previous = parse(hop)
        if previous is None:
            # Not an address: no proxy of ours wrote it. Stop at the last hop we trust.
            break
        address = previous
        if not is_trusted(address):
            break
    return str(address)


THROTTLED_MESSAGE = _(
    "Too many failed sign-in attempts. Wait %(minutes)s minutes and try again, "
    "or ask an administrator to reset your password."
)


class ThrottleMixin:
    """For an AuthenticationForm: refuses further attempts after too many failures for one
    username from one address, from one address across usernames (ten times the limit), and
    for one username across addresses (four times: one account guessed from many addresses).
    The staff login and the Django admin's use the same counters, so neither is a way around
    the other."""

    request: HttpRequest | None
    data: Any

    def _idents(self) -> list[tuple[str, str, int]]:
        ip = client_ip(self.request) if self.request else ""
        username = (self.data.get("username") or "").strip().lower()
        limit = settings.TAKEDOWN_LOGIN_FAILURE_LIMIT
        return [
            ("login-user", f"{username}\0{ip}", limit),
            ("login-ip", ip, limit * 10),
            ("login-name", username, limit * 4),
        ]

    def clean(self) -> dict[str, Any]:
        idents = self._idents()
        window = settings.TAKEDOWN_LOGIN_LOCKOUT_SECONDS
        if any(attempts(scope, ident) >= limit for scope, ident, limit in idents):
            raise forms.ValidationError(
                THROTTLED_MESSAGE, code="throttled", params={"minutes": max(1, window // 60)}
            )
        try:
            cleaned = super().clean()  # type: ignore[misc]
        except forms.ValidationError:
            for scope, ident, _limit in idents:
                add_attempt(scope, ident, window=window)
            raise
        # Only this address's count for the user: a success must not reset the count of
        # guesses made at the account from elsewhere.
        clear_attempts(*idents[0][:2])
        return cleaned


class ThrottledAuthenticationForm(ThrottleMixin, AuthenticationForm):
    """The staff login form."""


class ThrottledAdminAuthenticationForm(ThrottleMixin, AdminAuthenticationForm):
    """The Django admin's login form (takedown.admin_site)."""


class ThrottledLoginView(LoginView):
    form_class = ThrottledAuthenticationForm
    redirect_authenticated_user = True
