"""Forms of the caseworker's workspace. Domain rules stay in the domain functions; a form only
checks the shape of the input and turns a domain refusal into a field error."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from takedown.checks.escalate import LADDER_STEPS, NO_DECISION_YET
from takedown.intake.readers import FORMATS
from takedown.models import Case, Notice, Organisation, Team
from takedown.notices.periods import PeriodError, normalise_region
from takedown.resolve.decisions import DECIDABLE_ROLES
from takedown.web.access import is_admin
from takedown.web.portal.forms import MultipleFileField, MultipleFileInput

# Django's label of an empty choice in a select (django.db.models.fields.BLANK_CHOICE_LABEL),
# which Django's own German catalogue does not translate yet: ours does (it comes first).
gettext_noop("- Select an option -")

# Pasted lists are read as plain text (one URL per line) unless another format is chosen.
FORMAT_CHOICES = [("", _("Detect from the file"))] + [(f, f) for f in FORMATS]


def in_letter_language(form: forms.Form, language: str, *names: str) -> forms.Form:
    """Mark the fields that hold a letter's text as being in the letter's language (not the
    page's): screen readers and spell checkers read them so."""
    for name in names:
        form.fields[name].widget.attrs["lang"] = language
    return form


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
    region = forms.CharField(
        label=_("State or region"),
        required=False,
        max_length=6,
        help_text=_("ISO 3166-2, e.g. DE-BY: decides the data-protection authority in Germany"),
    )
    language = forms.ChoiceField(
        label=_("Language"), choices=[("en", "English"), ("de", "Deutsch")], initial="en"
    )
    learned_of_act_on = forms.DateField(
        label=_("The person learned of the images on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Starts the three months for a criminal complaint in Germany (StGB §77b)."),
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

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if region := (cleaned.get("region") or "").strip():
            try:
                cleaned["region"] = normalise_region(cleaned.get("country") or "", region)
            except PeriodError as exc:
                self.add_error("region", exc.message)
            else:
                cleaned["country"] = cleaned.get("country") or cleaned["region"][:2]
        return cleaned

    def person(self) -> dict[str, str]:
        return {
            name: self.cleaned_data[name]
            for name in ("name", "email", "phone", "country", "region", "language", "notes")
        }


class KnowledgeForm(forms.Form):
    """StGB §77b: when the person learned of the act and of the offender."""

    act_on = forms.DateField(
        label=_("Learned of the images on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    offender_on = forms.DateField(
        label=_("Learned who shared them on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Leave empty if not known."),
    )


class ConsentForm(forms.Form):
    how = forms.CharField(
        label=_("How the person consented"),
        max_length=200,
        help_text=_("e.g. signed form, phone call on a date. Needed to name them in a complaint."),
    )


class AuthorityForm(forms.Form):
    authority = forms.ModelChoiceField(
        label=_("Data-protection authority"),
        queryset=Organisation.objects.filter(kind=Organisation.Kind.DPA).order_by(
            "country", "name"
        ),
    )


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
            (Notice.Outcome.PENDING, NO_DECISION_YET),
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


class SetPartyForm(forms.Form):
    """A caseworker names the responsible party of a host: a directory organisation picked from
    the search results, the domain's holder, or a new organisation."""

    role = forms.ChoiceField(label=_("Role"), choices=())
    organisation = forms.IntegerField(required=False, widget=forms.HiddenInput)
    holder = forms.BooleanField(label=_("The domain's holder"), required=False)
    new_name = forms.CharField(label=_("New organisation"), required=False, max_length=300)
    country = forms.CharField(label=_("Country (ISO code, e.g. DE)"), required=False, max_length=2)
    region = forms.CharField(
        label=_("Region (ISO 3166-2, e.g. DE-BY)"), required=False, max_length=6
    )
    email = forms.EmailField(label=_("E-mail"), required=False)
    web_form = forms.URLField(label=_("Web form"), required=False, assume_scheme="https")
    whole_domain = forms.BooleanField(
        label=_("For every host of the registered domain"), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        role = self.fields["role"]
        assert isinstance(role, forms.ChoiceField)
        role.choices = [(str(choice), choice.label) for choice in DECIDABLE_ROLES]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        chosen = [
            bool(data.get("organisation")),
            bool(data.get("holder")),
            bool(data.get("new_name")),
        ]
        if sum(chosen) != 1:
            raise forms.ValidationError(
                _("Pick one organisation from the directory, the holder, or name a new one.")
            )
        if data.get("email") and data.get("web_form"):
            raise forms.ValidationError(_("Give an e-mail address or a web form, not both."))
        return data


class ExcludeHostForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500)
    whole_domain = forms.BooleanField(
        label=_("For every host of the registered domain"), required=False
    )


class ClearDecisionForm(forms.Form):
    whole_domain = forms.BooleanField(required=False, widget=forms.HiddenInput)


class SignedMandateForm(forms.Form):
    """The signed mandate as staff received it: one PDF, or photos of the signed pages."""

    document = MultipleFileField(
        label=_("Signed mandate (a PDF, or photos of the signed pages)"),
        widget=MultipleFileInput(
            attrs={"accept": "application/pdf,.pdf,image/jpeg,image/png,image/heic,.heic"}
        ),
    )

    def clean_document(self) -> list[bytes]:
        uploads = self.cleaned_data["document"]
        cap = settings.TAKEDOWN_PORTAL_UPLOAD_MAX_BYTES
        if sum(upload.size for upload in uploads) > cap:
            raise forms.ValidationError(
                _("The upload is too large: at most %(mb)d MB."), params={"mb": cap // 2**20}
            )
        return [upload.read(cap + 1) for upload in uploads]
