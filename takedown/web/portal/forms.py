"""Forms of the portal. Labels and errors are translatable; field names stay English."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from takedown.web.portal import scans
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
    """Several files in one field (the pages of a document), as Django's docs build it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


SCAN_ERRORS = {
    "not_photo": _("Page %(page)s is not a photo we can read. Please use JPEG, PNG or HEIC."),
    "damaged": _("Page %(page)s could not be read. Please take that photo again."),
    "too_many_pixels": _("Page %(page)s is too large an image. Please take that photo again."),
    "too_many_pages": _("Please upload at most %(max)s pages."),
    "no_pages": _("Please choose the signed PDF file or photos of its pages."),
}


class MandateForm(forms.Form):
    """The signed authorisation: one PDF, or photos of its pages (converted to one PDF). Two
    inputs feed the same field: `document` opens the file picker (PDF or photos), `camera`
    opens the phone's camera directly (the capture attribute), a page per photo."""

    document = MultipleFileField(
        label=_("Signed authorisation: a PDF, or photos of the pages"),
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
        cap = settings.TAKEDOWN_PORTAL_UPLOAD_MAX_BYTES
        uploads = [*cleaned.get("document", []), *cleaned.get("camera", [])]
        if not uploads:
            self.add_error("document", SCAN_ERRORS["no_pages"])
            return cleaned
        if sum(upload.size for upload in uploads) > cap:
            self.add_error("document", too_large_error())
            return cleaned
        files = [upload.read(cap + 1) for upload in uploads]
        if len(files) == 1 and files[0].startswith(b"%PDF"):
            cleaned["pdf"] = files[0]
            return cleaned
        if not all(scans.is_photo(data) for data in files):
            message = (
                _("Please upload either one PDF file or photos of the pages, not both.")
                if any(data.startswith(b"%PDF") for data in files)
                else _(
                    "This is not a PDF file or a photo. Please upload the signed PDF, or "
                    "photos of its pages (JPEG, PNG or HEIC)."
                )
            )
            self.add_error("document", message)
            return cleaned
        try:
            pdf = scans.pages_to_pdf(files)
        except scans.ScanError as refused:
            self.add_error(
                "document",
                SCAN_ERRORS[refused.reason] % {"page": refused.page, "max": scans.MAX_PAGES},
            )
            return cleaned
        if len(pdf) > cap:
            self.add_error("document", too_large_error())
            return cleaned
        cleaned["pdf"] = pdf
        return cleaned

    def refuse_too_large(self) -> None:
        """The error for a request refused by its Content-Length: the form was never bound to
        its body, so there is no cleaned data yet for add_error to update."""
        self.cleaned_data = {}
        self.add_error("document", too_large_error())


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
