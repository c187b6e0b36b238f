"""Forms of the portal. Labels and errors are translatable; field names stay English."""

from __future__ import annotations

from typing import Any

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


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (photos of each signed page), as Django's docs build it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


# Why takedown.mandates refused an upload, in the person's words.
MANDATE_REFUSALS = {
    "not_pdf": _(
        "This is neither a PDF nor a photo. Please upload the signed page as a PDF, or photos of"
        " the signed pages (JPEG, PNG or HEIC)."
    ),
    "too_many": _("Please upload at most 10 photos, one for each page."),
    "damaged": _(
        "The photo could not be read: it may be damaged or was cut off while uploading. Please"
        " take it again."
    ),
    "too_big_photo": _(
        "The photo is too large. Please take it again with a lower resolution, or send a PDF."
    ),
    "unsigned": _(
        "This is the form as we sent it, without your signature. Please print it, sign it, and"
        " upload the signed copy."
    ),
}


# The same, for one file of several: which one to take again.
PER_PHOTO = {
    "not_pdf": _(
        "File %(page)s is neither a PDF nor a photo. Please upload photos of the signed pages"
        " (JPEG, PNG or HEIC), or the signed page as one PDF."
    ),
    "damaged": _(
        "Photo %(page)s could not be read: it may be damaged or was cut off while uploading."
        " Please take that photo again and upload all pages once more."
    ),
    "too_big_photo": _(
        "Photo %(page)s is too large. Please take it again with a lower resolution, or send a PDF."
    ),
}


class MandateForm(forms.Form):
    """The signed authorisation: one PDF, or photos of its pages (takedown.mandates makes them
    one PDF). Two inputs feed the same upload: `document` opens the file picker, `camera` the
    phone's camera directly (the capture attribute), a page per photo."""

    document = MultipleFileField(
        label=_("Signed authorisation (a PDF, or photos of the signed pages)"),
        required=False,
        widget=MultipleFileInput(
            attrs={"accept": "image/*,application/pdf,.pdf,.heic,.heif,.jpg,.jpeg,.png"}
        ),
    )
    camera = MultipleFileField(
        label=_("Or take photos of the signed pages"),
        required=False,
        widget=MultipleFileInput(attrs={"accept": "image/*", "capture": "environment"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        uploads = [*cleaned.get("document", []), *cleaned.get("camera", [])]
        if not uploads:
            self.add_error("document", _("Please choose the signed PDF or the photos."))
            return cleaned
        cap = settings.TAKEDOWN_PORTAL_UPLOAD_MAX_BYTES
        if sum(upload.size for upload in uploads) > cap:
            self.add_error("document", too_large_error())
            return cleaned
        cleaned["files"] = [upload.read(cap + 1) for upload in uploads]
        return cleaned

    def refuse(self, code: str, page: int | None = None) -> None:
        """Show why takedown.mandates refused the upload, naming the photo at fault."""
        if code == "too_large":
            self.add_error("document", too_large_error())
            return
        if page is not None and code in PER_PHOTO:
            self.add_error("document", PER_PHOTO[code] % {"page": page})
        else:
            self.add_error("document", MANDATE_REFUSALS.get(code, MANDATE_REFUSALS["not_pdf"]))

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


class RevokeMandateForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("I revoke my authorisation. Requests that need it will no longer be sent."),
        error_messages={"required": _("Please tick the box to confirm.")},
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
