"""Forms of the caseworker's workspace. Domain rules stay in the domain functions; a form only
checks the shape of the input and turns a domain refusal into a field error."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from takedown.checks.escalate import LADDER_STEPS
from takedown.intake.readers import FORMATS
from takedown.models import Case, Notice, Team
from takedown.web.access import is_admin

# Pasted lists are read as plain text (one URL per line) unless another format is chosen.
FORMAT_CHOICES = [("", _("Detect from the file"))] + [(f, f) for f in FORMATS]


class QueueFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=2000,
        help_text=_("Reference, image URL or host name"),
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Open, or the person waits")), ("all", _("Any")), *Case.Status.choices],
    )
    category = forms.ChoiceField(
        label=_("Category"), required=False, choices=[("", _("Any")), *Case.Category.choices]
    )


class ImportForm(forms.Form):
    """Found URLs for a case: pasted, or a file in any format import_links reads."""

    urls = forms.CharField(
        label=_("Paste URLs"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        help_text=_("One URL per line (or CSV/JSON Lines text with the format chosen below)."),
    )
    file = forms.FileField(
        label=_("Or upload a file"),
        required=False,
        help_text=_("Plain text, CSV, TSV, JSON Lines or LAION Parquet."),
    )
    format = forms.ChoiceField(label=_("Format"), required=False, choices=FORMAT_CHOICES)
    dataset = forms.CharField(
        label=_("Dataset"),
        required=False,
        max_length=100,
        help_text=_("Where the rows came from, e.g. laion-5b (leave empty for web finds)."),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None  # Form.clean returns cleaned_data
        has_text = bool((cleaned.get("urls") or "").strip())
        # A file refused by clean_file (too large) was still chosen.
        has_file = cleaned.get("file") is not None or "file" in self.errors
        if has_text and has_file:
            raise forms.ValidationError(_("Paste URLs or upload a file, not both."))
        if not has_text and not has_file:
            raise forms.ValidationError(_("Paste at least one URL or choose a file."))
        return cleaned

    def clean_file(self) -> Any:
        # The import runs in the request: the cap bounds its time and the temporary file.
        upload = self.cleaned_data.get("file")
        cap = settings.TAKEDOWN_IMPORT_MAX_BYTES
        if upload is not None and upload.size > cap:
            raise forms.ValidationError(
                _("The file is too large: at most %(size)s."),
                code="too_large",
                params={"size": filesizeformat(cap)},
            )
        return upload

    @property
    def has_input(self) -> bool:
        return bool(self.data.get(self.add_prefix("urls"), "").strip()) or bool(
            self.files.get(self.add_prefix("file"))
        )


class NewCaseForm(forms.Form):
    category = forms.ChoiceField(label=_("Category"), choices=Case.Category.choices)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none())
    assign_to_me = forms.BooleanField(label=_("Assign to me"), required=False, initial=True)
    owns_copyright = forms.BooleanField(
        label=_("The person owns the copyright (e.g. a selfie)"), required=False
    )
    is_minor = forms.BooleanField(label=_("The person is a minor"), required=False)
    name = forms.CharField(label=_("Name"), required=False, max_length=300)
    email = forms.EmailField(label=_("E-mail"), required=False)
    phone = forms.CharField(label=_("Phone"), required=False, max_length=50)
    country = forms.CharField(
        label=_("Country"),
        required=False,
        max_length=2,
        min_length=2,
        help_text=_("Two letters, e.g. DE"),
    )
    language = forms.ChoiceField(
        label=_("Language"), choices=[("en", "English"), ("de", "Deutsch")], initial="en"
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        teams = Team.objects.all() if is_admin(user) else Team.objects.filter(members=user)
        team = self.fields["team"]
        assert isinstance(team, forms.ModelChoiceField)
        team.queryset = teams.order_by("name")
        if teams.count() == 1:
            team.initial = teams.first()

    def clean_country(self) -> str:
        return self.cleaned_data["country"].upper()

    def person(self) -> dict[str, str]:
        return {
            name: self.cleaned_data[name]
            for name in ("name", "email", "phone", "country", "language", "notes")
        }


class ResolveForm(forms.Form):
    refresh = forms.BooleanField(
        label=_("Ask the sources again, ignoring cached answers"), required=False
    )


class MarkSubmittedForm(forms.Form):
    confirmation = forms.CharField(
        label=_("Confirmation number"),
        max_length=200,
        help_text=_("The ticket id, form receipt or registered-post number the recipient gave."),
    )


class ReplyForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        choices=[
            (Notice.Outcome.COMPLIED, Notice.Outcome.COMPLIED.label),
            (Notice.Outcome.PARTLY, Notice.Outcome.PARTLY.label),
            (Notice.Outcome.REFUSED, Notice.Outcome.REFUSED.label),
            (Notice.Outcome.NOT_RESPONSIBLE, Notice.Outcome.NOT_RESPONSIBLE.label),
            (Notice.Outcome.PENDING, _("No decision yet (e.g. asked for more time)")),
        ],
    )
    text = forms.CharField(
        label=_("Their reply"), widget=forms.Textarea(attrs={"rows": 4}), max_length=20000
    )
    extension_until = forms.DateField(
        label=_("Extension granted until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_('Only with "No decision yet", when the recipient was granted more time.'),
    )


class LadderForm(forms.Form):
    roles = forms.CharField(
        label=_("Escalation ladder"),
        max_length=500,
        help_text=format_lazy(
            _("Steps in order, separated by commas. Steps: {steps}"),
            steps=", ".join(LADDER_STEPS),
        ),
    )

    def clean_roles(self) -> list[str]:
        return [part.strip() for part in self.cleaned_data["roles"].split(",") if part.strip()]


class CloseForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for closing"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )


class ReopenForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for reopening"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )


class PortalLinkForm(forms.Form):
    days = forms.IntegerField(
        label=_("Valid for (days)"),
        min_value=1,
        max_value=365,
        required=False,
        help_text=_("Empty: the organisation's default."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["days"].widget.attrs["placeholder"] = str(settings.TAKEDOWN_PORTAL_LINK_DAYS)


class NoteForm(forms.Form):
    """What was done, for the audit trail (deletion requests, manual legal steps)."""

    note = forms.CharField(
        label=_("What was done"), widget=forms.Textarea(attrs={"rows": 2}), max_length=5000
    )


class ReviewedForm(forms.Form):
    note = forms.CharField(label=_("Note (optional)"), required=False, max_length=5000)


class ReferenceHashesForm(forms.Form):
    file = forms.FileField(
        label=_("Reference hashes (CSV)"),
        help_text=_(
            "Columns url,sha256,phash,pdq, computed from the person's own copy elsewhere: "
            "never upload the image. All rows are stored, or none."
        ),
    )
