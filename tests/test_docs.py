"""The law pages in docs/law/ stay linked, complete and cited from inside the repository.

Code comments cite docs/law/ instead of notes kept outside the repository: a reviewer of the
templates must be able to read, from a checkout alone, the law the code implements."""

from __future__ import annotations

import re
from pathlib import Path

from takedown.notices.regimes import REGIMES

ROOT = Path(__file__).resolve().parent.parent
LAW = ROOT / "docs" / "law"
# Relative Markdown links to another page: [text](page.md) or [text](page.md#anchor).
PAGE_LINK = re.compile(r"\]\(([^)#:\s]+\.md)(?:#[^)]*)?\)")
# A citation of a law page from code: docs/law/ followed by a page name.
CODE_CITATION = re.compile(r"docs/law/([\w.-]+\.md)")
# The legal notes kept outside the checkout, however they are named.
LEGAL_NOTES = re.compile(r"NOTES-legal|shared/NOTES")
# A path outside the checkout. ../shared/data is the test and sandbox data, read from beside
# the checkout on purpose (it is never copied in); the product's code cites nothing else there.
OUTSIDE_PATH = re.compile(r"\.\./shared(?!/data\b)")
SCANNED = ("takedown", "templates", "config", "scripts", "bench", "tests", "README.md")
PRODUCT = ("takedown", "templates", "config")
SUFFIXES = {".py", ".txt", ".html", ".md", ".toml", ".cfg", ".sh", ""}
# Technical notes with no docs/ page yet: these citations may stay until one exists; no new
# file may add one.
TECH_NOTES_WITHOUT_DOCS_HOME = {
    "takedown/checks/hashing.py",
    "takedown/checks/verdict.py",
    "tests/test_checks_hashing.py",
}
# The page that lists each regime's element-check keys.
REGIME_PAGES = {
    "gdpr": "gdpr.md",
    "dsa": "dsa.md",
    "uk_gdpr": "gdpr.md",
    "uk_osa": "uk.md",
    "take_it_down": "take-it-down.md",
    "dmca": "dmca.md",
    "kug": "germany.md",
    "generic_privacy": "README.md",
    "search_delisting": "search-engines.md",
    "search_outdated": "search-engines.md",
}


def linked_pages(page: Path) -> list[str]:
    return PAGE_LINK.findall(page.read_text(encoding="utf-8"))


def repository_files(names: tuple[str, ...] = SCANNED) -> list[Path]:
    files: list[Path] = []
    for name in names:
        path = ROOT / name
        if path.is_file():
            files.append(path)
            continue
        files += [
            p
            for p in path.rglob("*")
            if p.is_file() and p.suffix in SUFFIXES and "__pycache__" not in p.parts
        ]
    return [p for p in files if p != Path(__file__).resolve()]


def test_docs_law_index_links_exist() -> None:
    links = linked_pages(LAW / "README.md")
    assert len(links) >= 11
    missing = sorted({link for link in links if not (LAW / link).is_file()})
    assert missing == []


def test_docs_law_every_page_is_in_the_index() -> None:
    pages = {p.name for p in LAW.glob("*.md")} - {"README.md"}
    assert pages - set(linked_pages(LAW / "README.md")) == set()


def test_docs_law_links_between_pages_resolve() -> None:
    broken = [
        f"{page.name} -> {link}"
        for page in sorted(LAW.glob("*.md"))
        for link in linked_pages(page)
        if not (page.parent / link).is_file()
    ]
    assert broken == []


def test_docs_law_each_page_lists_known_gaps() -> None:
    pages = sorted(p.name for p in LAW.glob("*.md") if p.name != "README.md")
    without = [
        name for name in pages if "## Known gaps" not in (LAW / name).read_text(encoding="utf-8")
    ]
    assert without == []


def test_docs_law_pages_name_every_element_key_of_their_regime() -> None:
    assert set(REGIME_PAGES) == set(REGIMES)
    unnamed = [
        f"{code}.{element.key} not in {page}"
        for code, page in REGIME_PAGES.items()
        for element in REGIMES[code].elements
        if f"`{element.key}`" not in (LAW / page).read_text(encoding="utf-8")
    ]
    assert unnamed == []


def lines_matching(pattern: re.Pattern[str], names: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in repository_files(names)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]


def test_repository_cites_no_legal_notes_outside_it() -> None:
    assert lines_matching(LEGAL_NOTES, SCANNED) == []


def test_product_cites_no_path_outside_the_repository() -> None:
    assert lines_matching(OUTSIDE_PATH, PRODUCT) == []


def test_repository_cites_technical_notes_only_where_no_docs_page_exists_yet() -> None:
    citing = {
        str(path.relative_to(ROOT))
        for path in repository_files()
        if "NOTES-tech" in path.read_text(encoding="utf-8")
    }
    assert citing <= TECH_NOTES_WITHOUT_DOCS_HOME


def test_code_citations_of_docs_law_name_existing_pages() -> None:
    cited = {
        (str(path.relative_to(ROOT)), page)
        for path in repository_files()
        for page in CODE_CITATION.findall(path.read_text(encoding="utf-8"))
    }
    assert ("takedown/notices/regimes.py", "gdpr.md") in cited
    assert sorted((where, page) for where, page in cited if not (LAW / page).is_file()) == []
