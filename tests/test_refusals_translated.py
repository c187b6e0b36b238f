"""Every refusal (takedown.errors.NotPossible and its subclasses) speaks the language of the
person who asked: its message is a gettext/ngettext call made when it is raised, with named
placeholders, so a German caseworker reads German and a command's output stays English.

The check reads takedown/ with ast: every call of a NotPossible class (in a raise, or in a
helper that returns the exception) must get its message from gettext or ngettext, directly, as
`gettext(...) % {...}`, or through a local name bound only to such expressions."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from tests.test_web_portal import assert_all_translated, extracted_catalogue

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "takedown"
TRANSLATING = {"gettext", "ngettext", "pgettext", "npgettext"}
# Which argument is the message, where it is not the first.
MESSAGE_ARGUMENT = {"MandateRefused": 1}  # MandateRefused(code, message, page=...)
# Calls whose message is something else on purpose (module, class): keep this short.
ALLOWED = {
    # The problems' own messages are translated one by one (notices/placeholders.py); the
    # exception joins them and keeps the list for the editor's field errors.
    ("takedown/notices/letters.py", "TemplateRefused"),
    # Codes ("empty", "too_long", "changed"...), not messages: the portal's views and the
    # staff's answer form turn each code into their own translated sentence.
    ("takedown/web/portal/actions.py", "PortalError"),
}
# A printf placeholder without a name: %s, %d, %5.2f ... (but not %% or %(name)s).
POSITIONAL = re.compile(r"%(?!%|\()[-#0 +]*\d*(?:\.\d+)?[sdifr]")


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    refusal: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.refusal}: {self.problem}"


def _trees() -> dict[str, ast.Module]:
    return {
        str(path.relative_to(ROOT)): ast.parse(path.read_text(), str(path))
        for path in sorted(PACKAGE.rglob("*.py"))
        if "migrations" not in path.parts
    }


def refusal_classes(trees: dict[str, ast.Module]) -> set[str]:
    """NotPossible and every class deriving from it, at any depth, by name."""
    names = {"NotPossible"}
    grown = True
    while grown:
        grown = False
        for tree in trees.values():
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.ClassDef)
                    and node.name not in names
                    and any(_name(base) in names for base in node.bases)
                ):
                    names.add(node.name)
                    grown = True

    return names


def _name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _translators(tree: ast.Module) -> set[str]:
    """The names this module binds to gettext and friends (e.g. `gettext as _`)."""
    return {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "django.utils.translation"
        for alias in node.names
        if alias.name in TRANSLATING
    }


def _problem(node: ast.expr, translators: set[str], scope: ast.AST | None) -> str | None:
    """None if `node` is a translated message, else what is wrong with it."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return _problem(node.left, translators, scope)
    if isinstance(node, ast.Call) and _name(node.func) in translators:
        texts = [arg for arg in node.args if isinstance(arg, ast.Constant)]
        if not texts or not all(isinstance(arg.value, str) for arg in texts):
            return "gettext needs a literal string (no f-string, no variable)"
        for text in texts:
            if POSITIONAL.search(text.value):
                return f"positional placeholder in {text.value!r}: name it, %(name)s"
        return None
    if isinstance(node, ast.Name) and scope is not None:
        bound = [
            assign.value
            for assign in ast.walk(scope)
            if isinstance(assign, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == node.id for t in assign.targets)
        ]
        if not bound:
            return f"{node.id} is not bound in this function"
        for value in bound:
            if (problem := _problem(value, translators, None)) is not None:
                return problem
        return None
    return f"the message {ast.unparse(node)[:60]!r} is not a gettext/ngettext call"


def wordings(trees: dict[str, ast.Module]) -> set[str]:
    """The project's functions that word a message for a refusal: every value they return
    is a translated message (e.g. attachments.too_large, which several raises share). By
    name: a name that some function does not live up to is not one."""
    names, others = set(), set()
    for tree in trees.values():
        translators = _translators(tree)
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef):
                continue
            returned = [
                node.value
                for node in ast.walk(function)
                if isinstance(node, ast.Return) and node.value is not None
            ]
            if returned and all(
                _problem(value, translators, function) is None for value in returned
            ):
                names.add(function.name)
            else:
                others.add(function.name)
    return names - others


def findings(trees: dict[str, ast.Module]) -> tuple[list[Finding], int]:
    """The untranslated refusals, and how many refusal calls were read."""
    refusals = refusal_classes(trees)
    worded = wordings(trees)
    found: list[Finding] = []
    calls = 0
    for path, tree in trees.items():
        translators = _translators(tree)
        functions = [
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        ]
        for node in ast.walk(tree):
            refusal = _name(node.func) if isinstance(node, ast.Call) else None
            if refusal not in refusals:
                continue
            assert isinstance(node, ast.Call) and refusal is not None
            calls += 1
            if (path, refusal) in ALLOWED:
                continue
            at = MESSAGE_ARGUMENT.get(refusal, 0)
            keyword = [k.value for k in node.keywords if k.arg == "message"]
            message = node.args[at] if len(node.args) > at else (keyword or [None])[0]
            if message is None:
                continue  # NotPossible's own default sentence, which is translated
            if isinstance(message, ast.Call) and _name(message.func) in worded:
                continue
            # The innermost function holding the call: where a message name is bound.
            scope = min(
                (f for f in functions if f.lineno <= node.lineno <= (f.end_lineno or f.lineno)),
                key=lambda f: (f.end_lineno or f.lineno) - f.lineno,
                default=None,
            )
            if (problem := _problem(message, translators, scope)) is not None:
                found.append(Finding(path, node.lineno, refusal, problem))
    return found, calls


def test_every_refusal_message_is_translated_when_raised() -> None:
    trees = _trees()
    found, calls = findings(trees)

    # The scan read the refusals (about 25 classes, some 170 calls).
    assert len(refusal_classes(trees)) >= 25
    assert calls >= 150
    assert [str(f) for f in found] == []


def refusal_modules(trees: dict[str, ast.Module]) -> tuple[str, ...]:
    """The modules that refuse something: each calls a NotPossible class."""
    refusals = refusal_classes(trees)
    return tuple(
        path
        for path, tree in trees.items()
        if any(
            isinstance(node, ast.Call) and _name(node.func) in refusals for node in ast.walk(tree)
        )
    )


def test_german_catalogue_translates_every_refusal(tmp_path) -> None:
    modules = refusal_modules(_trees())
    entries = extracted_catalogue(tmp_path, modules)
    msgids = {str(e["strings"]["msgid"]) for e in entries}  # type: ignore[index]

    # The extraction found the refusals of the domain, the workflow and the importers.
    assert {
        "takedown/workflow.py",
        "takedown/notices/review.py",
        "takedown/intake/readers.py",
        "takedown/web/portal/access.py",
    } <= set(modules)
    assert {
        "Notice %(name)s is “%(status)s”: it cannot be set to “%(to)s”.",
        "a notice must be approved by someone other than its author",
        "line %(line)d: not UTF-8 text",
    } <= msgids
    assert len(entries) >= 150
    assert_all_translated(entries)


def test_the_check_finds_an_untranslated_refusal() -> None:

    source = """
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from takedown.errors import NotPossible

class Refused(NotPossible):
    pass

def fine(n, case):
    if n:
        raise Refused(_("Case %(ref)s is closed.") % {"ref": case})
    message = ngettext("%(n)d link", "%(n)d links", n) % {"n": n}
    raise Refused(message)

def english(case):
    raise Refused(f"case {case} is closed")

def positional(case):
    raise Refused(_("case %s is closed") % case)

def built(case):
    raise Refused(_("Case ") + case)
"""
    found, calls = findings({"takedown/example.py": ast.parse(source)})

    assert calls == 5
    assert [(f.line, f.problem.split(" ")[0]) for f in found] == [
        (16, "the"),
        (19, "positional"),
        (22, "the"),
    ]
