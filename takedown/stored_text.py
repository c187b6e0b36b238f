"""Sentences stored in English, shown in the reader's language.

Some texts are worded once, in English, when they are stored (an element check's findings in
Notice.element_check, the resolver's jurisdiction reasons on a host's resolution): the record,
the commands and the logs read them so, and every reader of one stored result sees the same
sentence. A page shows such a sentence in the reader's language at display time: a `StoredText`
holds the English templates (marked with gettext_noop where they are defined) and, for the ones
with details ("%(name)s"), how to read each detail back and how to show it. A sentence the
catalogue knows as it stands is translated; one that matches a template is re-worded with its
details; an English reader reads it as stored, and a sentence no template knows stays as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from django.utils.translation import gettext


@dataclass(frozen=True)
class Detail:
    """One "%(name)s" of a template: how to show it, and what it may match when read back."""

    show: Callable[[str], str] = str
    pattern: str = ".+?"


def _pattern(template: str, details: Mapping[str, Detail]) -> re.Pattern[str]:
    pieces = re.split(r"%\((\w+)\)s", template)
    return re.compile(
        "".join(
            re.escape(piece)
            if i % 2 == 0
            else f"(?P<{piece}>{details.get(piece, Detail()).pattern})"
            for i, piece in enumerate(pieces)
        )
    )


class StoredText:
    """Shows stored English sentences in the active language (see the module docstring)."""

    def __init__(self, templates: Mapping[str, Mapping[str, Detail]]) -> None:
        self.templates = dict(templates)
        self._patterns = [
            (template, details, _pattern(template, details))
            for template, details in self.templates.items()
        ]

    def __call__(self, stored: str) -> str:
        translated = gettext(stored)
        if translated != stored:
            return translated
        for template, details, pattern in self._patterns:
            if match := pattern.fullmatch(stored):
                wording = gettext(template)
                if wording == template:
                    return stored  # an English reader reads it as stored
                return wording % {
                    key: details.get(key, Detail()).show(value)
                    for key, value in match.groupdict().items()
                }
        return stored
