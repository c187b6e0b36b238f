"""The one parent of every refusal: a step that is not possible now, for a reason the person who
asked can act on (no address on file, the notice is no longer in review, a file that cannot be
read).

The message is translated when the refusal is raised (`gettext("Notice %(id)s is ...") % {...}`,
named placeholders, whole sentences; tests/test_refusals_translated.py checks every raise): a
web request has the caseworker's language active, a background job the language of the page
that started it (jobs.run_job), a command LANGUAGE_CODE (English). The active language is
per thread: a refusal raised in a thread of its own (e.g. intake/store.py's writer) is in
LANGUAGE_CODE unless that thread activates the job's language.

A refusal that a page wraps in a sentence of its own ("Not approved: %(reason)s.") is a
lowercase fragment without a closing full stop; a refusal shown on its own is a whole sentence.

Views, the admin and the commands catch NotPossible and show its message; they catch nothing
broader. A ValueError, KeyError or TypeError is a programming error and must reach the error
page and the log instead of turning into a flash message that hides it.
"""

from __future__ import annotations

from django.utils.translation import gettext


class NotPossible(Exception):
    """The step is refused; str(exc) and `message` say why, in words for the person who asked."""

    @property
    def message(self) -> str:
        return str(self) or gettext("That is not possible right now.")
