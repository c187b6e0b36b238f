"""Forms of the portal. Labels and errors are translatable; field names stay English."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from takedown.web.portal.actions import MESSAGE_MAX


def too_large_error() -> forms.ValidationError:
    cap = settings.TAKEDOWN_PORTAL_UPLOAD_MAX_BYTES
    return forms.ValidationError(
        _("The file is too large: at most %(size)s."),
        code="too_large",
        params={"size": filesizeformat(cap)},
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the e-mail"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class MessageForm(forms.Form):
    body = forms.CharField(
        label=_("Your message"),
        max_length=MESSAGE_MAX,
        widget=forms.Textarea(attrs={"rows": 8}),
        error_messages={
            "required": _("Please write a message."),
            "max_length": _("Please keep your message under %(limit_value)s characters."),
        },
    )


class MandateForm(forms.Form):
    document = forms.FileField(
        label=_("Signed authorisation (PDF)"),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,.pdf"}),
        error_messages={"required": _("Please choose the signed PDF file.")},
    )

    def clean_document(self) -> bytes:
        upload = self.cleaned_data["document"]
        if upload.size > settings.TAKEDOWN_PORTAL_UPLOAD_MAX_BYTES:
            raise too_large_error()
        data = upload.read(settings.TAKEDOWN_PORTAL_UPLOAD_MAX_BYTES + 1)
        if not data.startswith(b"%PDF"):
            raise forms.ValidationError(
                _("This is not a PDF file. Please scan or save the signed page as a PDF.")
            )
        return data

    def refuse_too_large(self) -> None:
        """The error for a request refused by its Content-Length: the form was never bound to
        its body, so there is no cleaned data yet for add_error to update."""
        self.cleaned_data = {}
        self.add_error("document", too_large_error())


class KnowledgeForm(forms.Form):
    act_on = forms.DateField(
        label=_("The day you first learned that your images had been shared"),
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"required": _("Please give the day.")},
    )
    offender_on = forms.DateField(
        label=_("The day you learned who shared them (leave empty if you do not know)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class ComplaintConsentForm(forms.Form):
    agree = forms.BooleanField(
        label=_(
            "I agree that my name is given in a complaint to a data-protection authority "
            "about my images."
        ),
        error_messages={"required": _("Please tick the box to agree.")},
    )


class WithdrawForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("I understand that withdrawing stops all work on my case."),
        error_messages={"required": _("Please tick the box to confirm.")},
    )


class DeletionForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("I want my data to be deleted."),
        error_messages={"required": _("Please tick the box to confirm.")},
    )
