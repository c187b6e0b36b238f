"""The caseworker's notifications: what waits in their cases (takedown/notifications.py), and
the choice of a daily e-mail digest."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from takedown.models import NotificationPreference
from takedown.notifications import notifications_for
from takedown.web.access import staff_required


@staff_required
def notifications(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert user.is_authenticated  # staff_required
    preference = NotificationPreference.objects.filter(user=user).first()
    return render(
        request,
        "staff/notifications.html",
        {
            "items": notifications_for(request.user),
            "digest": preference is not None and preference.email_digest,
        },
    )


@staff_required
@require_POST
def digest(request: HttpRequest) -> HttpResponse:
    wanted = request.POST.get("email_digest") == "1"
    user = request.user
    assert user.is_authenticated  # staff_required
    NotificationPreference.objects.update_or_create(user=user, defaults={"email_digest": wanted})
    if wanted and not request.user.email:  # type: ignore[union-attr]
        messages.warning(request, _("Your account has no e-mail address: no digest can be sent."))
    else:
        messages.success(
            request, _("Daily digest switched on.") if wanted else _("Daily digest switched off.")
        )
    return redirect("staff:notifications")
