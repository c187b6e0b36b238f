"""The placeholder language of a team's own letter text (takedown.models.LetterTemplate).

An administrator writes the letter body as plain text with placeholders in single braces:
`{intro}`, `{statements}`, `{statement:good_faith}`, `{recipient}`. It is never a Django
template: a Django template written by a user could `{% load %}` tag libraries, `{% include %}`
any template file, or walk from a context value into attributes (template injection). Here the
text is parsed by one regular expression, each placeholder is replaced by a plain string in a
single pass (a value that itself contains `{intro}`, say a recipient's name from WHOIS, is not
expanded again), and anything that looks like template syntax or an unknown placeholder is
refused when the text is saved, with the offending token named.

Paragraphs are separated by blank lines; single line breaks inside a paragraph are joined,
as in the built-in templates (render._clean).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# {name} or {statement:key}; names are lower-case words.
TOKEN = re.compile(r"\{([^{}\n]{0,60})\}")
NAME = re.compile(r"^([a-z_]+)(?::([a-z_]+))?$")
# Django template syntax, refused outright with its own message.
TEMPLATE_SYNTAX = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}")
MAX_LENGTH = 20_000

STATEMENT = "statement"

# Placeholder -> what it stands for (shown on the edit page as the reference).
VALUES: dict[str, Promise] = {
    "intro": _(
        "The built-in opening paragraph for the recipient's role (who we are, whom we act for)."
    ),
    "request": _(
        "The built-in request paragraph for the recipient's role (what to do, where to answer)."
    ),
    "statements": _(
        "Every statement the regime requires for this case and recipient that the text does "
        "not place itself with {statement:…}."
    ),
    "closing": _("The built-in closing paragraph."),
    "reminder": _(
        "The sentence a reminder or an escalation opens with, empty in a first notice; "
        "{intro} contains it already."
    ),
    "organisation": _("The name of our organisation."),
    "recipient": _("The recipient's name."),
    "role": _("The recipient's role (hosting provider, site operator, …)."),
    "case_reference": _("The case reference."),
    "regime_title": _("The title of the legal regime."),
    "citation": _("The legal citation of the regime."),
    "deadline_period": _("The response period (one month, 48 hours, …)."),
    "due_date": _("The date by which the recipient must act."),
    "notifier_email": _("The address answers go to."),
}
STATEMENT_HELP = _(
    "One required statement in the regime's wording, by its element key (see the list of "
    "statements below); empty where this case or recipient does not need it."
)


@dataclass(frozen=True)
class Problem:
    token: str
    message: str


def problems(text: str, statement_keys: Iterable[str]) -> list[Problem]:
    """What is wrong with `text` as a letter template, in order of appearance; [] means it
    can be saved. `statement_keys`: the element keys {statement:…} may name."""
    keys = set(statement_keys)
    found: list[Problem] = []
    if len(text) > MAX_LENGTH:
        found.append(Problem("", str(_("The text is longer than 20,000 characters."))))
    for match in TEMPLATE_SYNTAX.finditer(text):
        found.append(
            Problem(
                match.group(0),
                str(
                    _(
                        "%(token)s is template syntax, which letter texts do not allow: "
                        "write placeholders in single braces, like {organisation}."
                    )
                )
                % {"token": match.group(0)},
            )
        )
    if found:
        return found
    rest = TOKEN.sub("", text)
    for match in TOKEN.finditer(text):
        token, inner = match.group(0), match.group(1).strip()
        name = NAME.match(inner)
        if name and name.group(2) is None and name.group(1) in VALUES:
            continue
        if name and name.group(1) == STATEMENT and name.group(2) in keys:
            continue
        if name and name.group(1) == STATEMENT:
            message = _("%(token)s names no statement of this regime (known: %(known)s).") % {
                "token": token,
                "known": ", ".join(sorted(keys)),
            }
        else:
            message = _("%(token)s is not a known placeholder.") % {"token": token}
        found.append(Problem(token, str(message)))
    if "{" in rest or "}" in rest:
        found.append(
            Problem(
                "{" if "{" in rest else "}",
                str(_("A brace without its partner: placeholders are written {name}.")),
            )
        )
    return found


def statement_tokens(text: str) -> set[str]:
    """The statement keys the text places itself."""
    placed = set()
    for match in TOKEN.finditer(text):
        name = NAME.match(match.group(1).strip())
        if name and name.group(1) == STATEMENT and name.group(2):
            placed.add(name.group(2))
    return placed


def fill(text: str, values: Mapping[str, str], statements: Mapping[str, str]) -> str:
    """`text` with every placeholder replaced, in one pass. `values` by placeholder name
    (`statements` among them is computed here: the statements not placed one by one);
    `statements` by element key, in the order the letter states them. A placeholder that
    validation would refuse stays as written (fill never raises: a letter is rendered as
    stored, and saving is where problems are reported)."""
    placed = statement_tokens(text)
    remaining = "\n\n".join(s for key, s in statements.items() if s and key not in placed)
    every = {**values, "statements": remaining}

    def replace(match: re.Match[str]) -> str:
        name = NAME.match(match.group(1).strip())
        if name is None:
            return match.group(0)
        if name.group(1) == STATEMENT and name.group(2):
            return statements.get(name.group(2), "")
        if name.group(2) is None and name.group(1) in every:
            return every[name.group(1)]
        return match.group(0)

    return TOKEN.sub(replace, text)
