"""The Django admin, for admins (takedown.admin_site decides who enters). Status columns are
read-only here: status changes go through takedown.workflow.transition (admin actions below
call it), so every change leaves an event."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext, gettext_lazy, ngettext
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from takedown import models as m
from takedown.errors import NotPossible
from takedown.notices.review import approve, edit, submit_for_review
from takedown.notices.send import queue_notice
from takedown.retention import set_legal_hold
from takedown.web.access import PERSON_FIELDS, audit_case_viewed, audit_person_revealed
from takedown.workflow import record_event, status_label, transition


def _move_all(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet, to: str
) -> None:
    moved, refused = 0, []
    for obj in queryset:
        try:
            # "by": the portal lets the person undo only a pause of their own.
            transition(
                obj,
                to,
                actor=request.user,
                message=f"Changed in the admin to {to}.",
                data={"by": "staff"},
            )
            moved += 1
        except NotPossible as exc:
            refused.append(exc.message)
    if moved:
        model = queryset.model
        modeladmin.message_user(
            request,
            ngettext("%(count)d item set to “%(to)s”.", "%(count)d items set to “%(to)s”.", moved)
            % {"count": moved, "to": status_label(model, to)},
        )
    for reason in refused[:10]:
        modeladmin.message_user(request, reason, level=messages.WARNING)


class ReadOnlyStatusAdmin(admin.ModelAdmin):
    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [*super().get_readonly_fields(request, obj), "status"]


class CaseAdminForm(forms.ModelForm):
    class Meta:
        model = m.Case
        # The admin adds the rest of the case's fields (ModelAdmin.get_form).
        fields = ["legal_hold", "legal_hold_reason"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("legal_hold") and not (cleaned.get("legal_hold_reason") or "").strip():
            self.add_error("legal_hold_reason", "A legal hold needs a reason.")
        return cleaned


class AffectedPersonInline(admin.StackedInline):
    model = m.AffectedPerson
    can_delete = False
    extra = 0


@admin.register(m.Case)
class CaseAdmin(ReadOnlyStatusAdmin):
    list_display = ["reference", "category", "status", "team", "assigned_to", "created_at"]
    list_filter = ["status", "category", "team", "owns_copyright", "is_minor"]
    search_fields = ["reference"]
    date_hierarchy = "created_at"
    inlines = [AffectedPersonInline]
    actions = ["pause_cases", "close_cases", "reopen_cases"]
    form = CaseAdminForm

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [*super().get_readonly_fields(request, obj), "erased_at"]

    def save_model(self, request: HttpRequest, obj: m.Case, form: Any, change: bool) -> None:
        # The hold goes through takedown.retention (an audit event for placing and lifting it).
        hold_changed = change and {"legal_hold", "legal_hold_reason"} & set(form.changed_data)
        if hold_changed:
            hold, reason = obj.legal_hold, obj.legal_hold_reason
            original = m.Case.objects.get(pk=obj.pk)
            obj.legal_hold, obj.legal_hold_reason = original.legal_hold, original.legal_hold_reason
        super().save_model(request, obj, form, change)
        if hold_changed:
            set_legal_hold(obj, hold=hold, reason=reason, actor=request.user)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        # Only a rendered form shows the case (a saved one redirects; a refusal shows nothing).
        # The admin sees the person's details in full, so this is an opening and a reveal, the
        # same audit events the staff case page and its reveal button record.
        if response.status_code == 200:
            case = self.get_object(request, unquote(object_id))
            if case is not None:
                audit_case_viewed(request, case)
                shown = self._person_fields_shown(request, case)
                if shown:
                    audit_person_revealed(request, case, shown)
        return response

    def _person_fields_shown(self, request: HttpRequest, case: m.Case) -> list[str]:
        person = m.AffectedPerson.objects.filter(case=case).first()
        if person is None:
            return []
        shown: set[str] = set()
        for inline in self.get_inline_instances(request, case):
            if isinstance(inline, AffectedPersonInline):
                shown.update(flatten_fieldsets(inline.get_fieldsets(request, case)))
        return [name for name in PERSON_FIELDS if name in shown and getattr(person, name)]

    @admin.action(description=gettext_lazy("Pause the selected cases"))
    def pause_cases(self, request: HttpRequest, queryset: QuerySet) -> None:
        _move_all(self, request, queryset, m.Case.Status.PAUSED)

    @admin.action(description=gettext_lazy("Close the selected cases"))
    def close_cases(self, request: HttpRequest, queryset: QuerySet) -> None:
        _move_all(self, request, queryset, m.Case.Status.CLOSED)

    @admin.action(description=gettext_lazy("Reopen the selected cases"))
    def reopen_cases(self, request: HttpRequest, queryset: QuerySet) -> None:
        _move_all(self, request, queryset, m.Case.Status.OPEN)


# django-otp's device pages would let an admin delete someone's second factor without an
# audit event; `manage.py reset_two_factor USER --as ADMIN` does it with one.
for device_model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(device_model):
        admin.site.unregister(device_model)


@admin.register(m.Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "require_two_factor", "retention_months"]
    search_fields = ["name"]
    filter_horizontal = ["members"]
    # A secret: set with `manage.py cloudflare_credentials`, never shown in a form.
    exclude = ["cloudflare_api_token"]


@admin.register(m.Mandate)
class MandateAdmin(admin.ModelAdmin):
    list_display = ["case", "uploaded_at", "uploaded_by", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["case__reference"]
    exclude = ["signed_document"]


@admin.register(m.FoundLink)
class FoundLinkAdmin(ReadOnlyStatusAdmin):
    list_display = ["id", "case", "host", "status", "last_verdict", "dataset", "in_other_case"]
    list_filter = ["status", "last_verdict", "dataset", "in_other_case"]
    search_fields = ["case__reference", "url", "host__hostname", "entry_id"]
    list_select_related = ["case", "host"]
    raw_id_fields = ["case", "host", "evidence"]
    show_full_result_count = False


@admin.register(m.LinkCheck)
class LinkCheckAdmin(admin.ModelAdmin):
    list_display = ["id", "link", "checked_at", "verdict", "status_code", "resolved_ip"]
    list_filter = ["verdict"]
    search_fields = ["link__case__reference", "sha256"]
    raw_id_fields = ["link"]


@admin.register(m.Import)
class ImportAdmin(admin.ModelAdmin):
    list_display = ["id", "case", "created_at", "format", "dataset", "source_name"]
    list_filter = ["format", "dataset"]
    search_fields = ["case__reference", "source_name"]
    raw_id_fields = ["case"]


@admin.register(m.Host)
class HostAdmin(ReadOnlyStatusAdmin):
    list_display = ["hostname", "registered_domain", "platform_suffix", "status", "resolved_at"]
    list_filter = ["status", "needs_decision", "is_ip"]
    search_fields = ["hostname", "registered_domain"]
    raw_id_fields = ["current"]
    actions = ["resolve_again"]

    @admin.action(description=gettext_lazy("Resolve the selected hosts again"))
    def resolve_again(self, request: HttpRequest, queryset: QuerySet) -> None:
        _move_all(self, request, queryset, m.Host.Status.PENDING)


@admin.register(m.HostResolution)
class HostResolutionAdmin(admin.ModelAdmin):
    list_display = ["host", "created_at", "hosting", "registrar", "platform"]
    search_fields = ["host__hostname"]
    raw_id_fields = ["host", "hosting", "registrar", "platform", "cdn", "operator"]


@admin.register(m.NetworkRecord)
class NetworkRecordAdmin(admin.ModelAdmin):
    list_display = ["__str__", "start_key", "end_key", "fetched_at", "expires_at"]
    search_fields = ["start_key"]


@admin.register(m.ServerThrottle)
class ServerThrottleAdmin(admin.ModelAdmin):
    list_display = ["server", "next_slot_at", "blocked_until"]
    search_fields = ["server"]


@admin.register(m.DomainRecord)
class DomainRecordAdmin(admin.ModelAdmin):
    list_display = ["registered_domain", "source", "fetched_at", "expires_at"]
    list_filter = ["source"]
    search_fields = ["registered_domain"]


class ContactInline(admin.TabularInline):
    model = m.Contact
    extra = 0


class OperatorRuleInline(admin.TabularInline):
    model = m.OperatorRule
    extra = 0


@admin.register(m.Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "country", "source", "trusted_flagger"]
    list_filter = ["kind", "country", "trusted_flagger"]
    search_fields = ["name", "external_key", "website"]
    inlines = [ContactInline, OperatorRuleInline]


@admin.register(m.Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["organisation", "purpose", "channel", "value", "quality", "is_override"]
    list_filter = ["purpose", "channel", "quality", "is_override"]
    search_fields = ["organisation__name", "value"]
    raw_id_fields = ["organisation"]
    readonly_fields = ["created_by", "created_at"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # An override wins over every other contact of its purpose: record who made it.
        if obj.is_override or obj.quality == m.Contact.Quality.OVERRIDE:
            obj.is_override, obj.quality, obj.created_by = (
                True,
                m.Contact.Quality.OVERRIDE,
                request.user,
            )
            super().save_model(request, obj, form, change)
            record_event(
                None,
                "directory.override",
                actor=request.user,
                data={
                    "organisation": obj.organisation_id,
                    "contact": obj.pk,
                    "purpose": obj.purpose,
                },
            )
            return
        super().save_model(request, obj, form, change)


@admin.register(m.OperatorRule)
class OperatorRuleAdmin(admin.ModelAdmin):
    list_display = ["match", "pattern", "organisation", "role"]
    list_filter = ["match", "role"]
    search_fields = ["pattern", "organisation__name"]
    raw_id_fields = ["organisation"]


class NoticeLinkInline(admin.TabularInline):
    model = m.NoticeLink
    extra = 0
    raw_id_fields = ["link"]


@admin.register(m.Notice)
class NoticeAdmin(ReadOnlyStatusAdmin):
    list_display = ["id", "case", "kind", "recipient", "recipient_role", "regime", "status"]
    list_filter = ["status", "kind", "recipient_role", "regime", "outcome", "needs_reroute"]
    search_fields = ["case__reference", "recipient__name", "message_id"]
    list_select_related = ["case", "recipient"]
    raw_id_fields = ["case", "recipient", "contact", "parent"]
    readonly_fields = [
        "element_check", "approved_by", "approved_at", "disclosure_confirmed_by", "message_id",
        "attempts", "sent_at", "claimed_at", "last_error", "due_at",
    ]  # fmt: skip
    inlines = [NoticeLinkInline]
    actions = ["submit_for_review", "approve", "queue_for_sending"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # Editing the text goes through review.edit, which withdraws an approval.
        if change and {"subject", "body_text"} & set(form.changed_data):
            edit(obj, request.user, subject=obj.subject, body_text=obj.body_text)
            return
        super().save_model(request, obj, form, change)

    @admin.action(description=gettext_lazy("Submit the selected drafts for review"))
    def submit_for_review(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, lambda notice: submit_for_review(notice, request.user))

    @admin.action(
        description=gettext_lazy("Approve the selected notices (four eyes: not your own)")
    )
    def approve(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, lambda notice: approve(notice, request.user))

    @admin.action(description=gettext_lazy("Queue the selected approved notices for sending"))
    def queue_for_sending(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, lambda notice: queue_notice(notice, actor=request.user))

    def _each(self, request: HttpRequest, queryset: QuerySet, step: Any) -> None:
        done = 0
        for notice in queryset:
            try:
                step(notice)
                done += 1
            except NotPossible as exc:
                self.message_user(
                    request,
                    gettext("Notice %(id)s: %(reason)s") % {"id": notice.pk, "reason": exc.message},
                    level=messages.WARNING,
                )
        if done:
            self.message_user(
                request,
                ngettext("%(count)d notice done.", "%(count)d notices done.", done)
                % {"count": done},
            )


@admin.register(m.CaseEvent)
class CaseEventAdmin(admin.ModelAdmin):
    list_display = ["at", "case", "kind", "actor", "visible_to_person"]
    list_filter = ["kind", "visible_to_person"]
    search_fields = ["case__reference", "kind"]
    raw_id_fields = ["case", "link", "notice", "host"]

    # The audit trail is append-only, even for admins.
    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
