"""Recipients' answers in the caseworker's workspace: the conversation per notice of a case, the
inbox of answers that matched nothing or wait for a confirmation, and the one-click actions
(confirm, assign, dismiss). Attachments are never shown: they download, after a warning."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from takedown.models import Notice, Reply
from takedown.notices.review import ReviewError
from takedown.notices.send import SendError
from takedown.replies.inbound import (
    NEXT_STEPS,
    ReplyError,
    assign_reply,
    confirm_reply,
    dismiss_reply,
)
from takedown.replies.outbound import AnswerError, draft_answer
from takedown.web.access import audit_person_revealed, cases_for, get_case_for, staff_required
from takedown.web.portal.access import PortalError
from takedown.web.portal.actions import answer_person

INBOX_PER_PAGE = 50
WAITING = (Reply.State.UNMATCHED, Reply.State.TO_CONFIRM)


def _reply_for(request: HttpRequest, pk: int) -> Reply:
    """An answer the user may see: one of their cases', or one that matched no case (any
    caseworker may read those to assign them)."""
    reply = get_object_or_404(
        Reply.objects.select_related("notice", "notice__recipient", "case"), pk=pk
    )
    if reply.case_id is not None and not cases_for(request.user).filter(pk=reply.case_id).exists():
        raise Http404("No such answer")
    return reply


def _with_next_steps(replies: Any) -> list[Reply]:
    """The step each answer suggests, for the template (which cannot look up a dict by kind)."""
    replies = list(replies)
    for reply in replies:
        reply.next_step = NEXT_STEPS.get(reply.kind, "")
    return replies


def _back(reply: Reply) -> str:
    if reply.case is not None:
        return reverse("staff:replies", kwargs={"reference": reply.case.reference})
    return reverse("staff:inbox")


@staff_required
def inbox(request: HttpRequest) -> HttpResponse:
    waiting = (
        Reply.objects.filter(state__in=WAITING)
        .filter(Q(case__isnull=True) | Q(case__in=cases_for(request.user)))
        .select_related("case", "notice", "notice__recipient")
        .prefetch_related("attachments")
        .order_by("received_at", "pk")
    )
    page = Paginator(waiting, INBOX_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "staff/inbox.html",
        {"page": page, "replies": _with_next_steps(page.object_list), "kinds": Reply.Kind.choices},
    )


@staff_required
def case_replies(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for(request.user, reference)
    notices = list(
        case.notices.select_related("recipient")
        .exclude(kind=Notice.Kind.MESSAGE)
        .filter(Q(sent_at__isnull=False) | Q(replies__isnull=False))
        .distinct()
        .prefetch_related(
            Prefetch(
                "replies",
                queryset=Reply.objects.prefetch_related("attachments").order_by(
                    "received_at", "pk"
                ),
            ),
            Prefetch(
                "follow_ups",
                queryset=Notice.objects.filter(kind=Notice.Kind.MESSAGE).order_by("pk"),
                to_attr="messages",
            ),
        )
        .order_by("-sent_at", "-pk")
    )
    for notice in notices:
        # The conversation in the order it happened: their answers and our messages.
        answers = _with_next_steps(notice.replies.all())
        notice.conversation = sorted(  # type: ignore[attr-defined]
            [("answer", r.sent_at or r.received_at, r) for r in answers]
            + [("message", m.sent_at or m.created_at, m) for m in notice.messages],
            key=lambda item: item[1],
        )
    unassigned = _with_next_steps(
        case.replies.filter(notice__isnull=True)
        .prefetch_related("attachments")
        .order_by("received_at", "pk")
    )
    return render(
        request,
        "staff/replies.html",
        {
            "case": case,
            "tab": "replies",
            "notices": notices,
            "unassigned": unassigned,
            "kinds": Reply.Kind.choices,
        },
    )


@staff_required
def reply_detail(request: HttpRequest, pk: int) -> HttpResponse:
    reply = _reply_for(request, pk)
    _with_next_steps([reply])
    suggestions: list[Notice] = []
    if reply.notice_id is None:
        suggestions = _suggestions(request, reply)
    return render(
        request,
        "staff/reply.html",
        {
            "reply": reply,
            "case": reply.case,
            "attachments": list(reply.attachments.all()),
            "kinds": Reply.Kind.choices,
            "suggestions": suggestions,
            "back": _back(reply),
        },
    )


def _suggestions(request: HttpRequest, reply: Reply) -> list[Notice]:
    """Sent notices the answer may belong to: of its case if it named one, else to the
    sender's domain."""
    sent = Notice.objects.filter(
        case__in=cases_for(request.user), sent_at__isnull=False
    ).select_related("case", "recipient")
    if reply.case_id is not None:
        sent = sent.filter(case_id=reply.case_id)
    else:
        domain = reply.from_address.rpartition("@")[2]
        if not domain:
            return []
        sent = sent.filter(
            Q(to_address__icontains=f"@{domain}") | Q(contact__value__icontains=f"@{domain}")
        )
    return list(sent.order_by("-sent_at")[:20])


def _do(request: HttpRequest, reply: Reply, step: Any, done: str) -> HttpResponse:
    try:
        step()
    except ReplyError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done)
    reply.refresh_from_db()
    return redirect(_back(reply))


@staff_required
@require_POST
def confirm(request: HttpRequest, pk: int) -> HttpResponse:
    reply = _reply_for(request, pk)
    kind = request.POST.get("kind") or None
    return _do(
        request,
        reply,
        lambda: confirm_reply(reply, actor=request.user, kind=kind),
        _("Answer recorded."),
    )


@staff_required
@require_POST
def assign(request: HttpRequest, pk: int) -> HttpResponse:
    reply = _reply_for(request, pk)
    try:
        notice_id = int(request.POST.get("notice", ""))
    except ValueError:
        messages.error(request, _("Give the number of the notice this answer belongs to."))
        return redirect("staff:reply_detail", pk=reply.pk)
    notice = (
        Notice.objects.filter(pk=notice_id, case__in=cases_for(request.user))
        .select_related("case")
        .first()
    )
    if notice is None:
        messages.error(request, _("No notice %(id)s in your cases.") % {"id": notice_id})
        return redirect("staff:reply_detail", pk=reply.pk)
    try:
        assign_reply(reply, notice, actor=request.user)
    except ReplyError as exc:
        messages.error(request, str(exc))
        return redirect("staff:reply_detail", pk=reply.pk)
    messages.success(request, _("Answer assigned to notice %(id)s.") % {"id": notice.pk})
    return redirect("staff:replies", reference=notice.case.reference)


@staff_required
@require_POST
def answer(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    """The caseworker's answer to the recipient: drafted and submitted for review."""
    case = get_case_for(request.user, reference)
    notice = get_object_or_404(Notice.objects.select_related("case", "recipient"), pk=pk, case=case)
    try:
        message = draft_answer(notice, actor=request.user, text=request.POST.get("text", ""))
    except (AnswerError, ReviewError, SendError) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("Answer %(id)s drafted: it goes out once a reviewer approves it.")
            % {"id": message.pk},
        )
    return redirect("staff:replies", reference=case.reference)


@staff_required
@require_POST
def portal_answer(request: HttpRequest, reference: str) -> HttpResponse:
    """The caseworker answers the person's portal messages."""
    case = get_case_for(request.user, reference)
    try:
        answer_person(case, actor=request.user, body=request.POST.get("body", ""))
    except PortalError as exc:
        messages.error(
            request,
            _("Write the answer first.")
            if str(exc) == "empty"
            else _("The answer is too long (at most 5000 characters)."),
        )
    else:
        messages.success(request, _("Answer sent to the person's portal."))
    return redirect("staff:messages", reference=case.reference)


@staff_required
@require_POST
def dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    reply = _reply_for(request, pk)
    return _do(
        request,
        reply,
        lambda: dismiss_reply(reply, actor=request.user),
        _("Answer dismissed."),
    )


@staff_required
@require_POST
def download_attachment(request: HttpRequest, pk: int, attachment: int) -> HttpResponse:
    """Only as a download (POST, after the warning on the page): an answer may carry the very
    image the case is about, and a browser must never render it on its own."""
    reply = _reply_for(request, pk)
    item = get_object_or_404(reply.attachments, pk=attachment)
    if reply.case is not None:
        audit_person_revealed(request, reply.case, [f"reply attachment {item.pk}"])
    response = HttpResponse(bytes(item.content), content_type="application/octet-stream")
    response["Content-Disposition"] = (
        f'attachment; filename="reply-{reply.pk}-attachment-{item.pk}.bin"'
    )
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    return response
