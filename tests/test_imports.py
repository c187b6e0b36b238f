"""The import structure of takedown/ and config/: no two modules need each other, and project
modules are imported at the top of a module, where a reader sees what it depends on.

Every import statement counts for cycles, also one inside a function or under TYPE_CHECKING: an
import moved into a function only hides a cycle (notices/pdf.py and render.py needed each other
that way), and a type annotation that needs the other module is a dependency all the same.
Read from the source with `ast`, so nothing is imported and the test needs no database.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("takedown", "config")

# Known cycles, each a sorted tuple of module names.
ALLOWED_CYCLES: set[tuple[str, ...]] = set()

# Project imports inside functions, as (file, function): "*" for every function of the file.
ALLOWED_LOCAL_IMPORTS: set[tuple[str, str]] = {
    # Django imports the app configurations before any model; receivers are wired in ready().
    ("takedown/apps.py", "ready"),
}


def module_files(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the project's packages under `root`."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _imports(tree: ast.Module) -> Iterator[tuple[ast.Import | ast.ImportFrom, str]]:
    """Every import statement with the function it sits in ("" at module level)."""

    def walk(node: ast.AST, function: str) -> Iterator[tuple[ast.Import | ast.ImportFrom, str]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield child, function
            inner = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else ""
            yield from walk(child, inner or function)

    return walk(tree, "")


def _targets(
    node: ast.Import | ast.ImportFrom, importer: str, is_package: bool, modules: dict[str, Path]
) -> set[str]:
    """The project modules an import statement runs: the module named, a submodule imported by
    name from a package, and the packages around them (the importer's own excepted: those are
    running already)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = importer.split(".") if is_package else importer.split(".")[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join([*package, base] if base else package)
        names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
    ancestors = {".".join(importer.split(".")[:i]) for i in range(1, importer.count(".") + 1)}
    found = set()
    for name in names:
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            prefix = ".".join(parts[:i])
            if prefix in modules and prefix != importer and prefix not in ancestors:
                found.add(prefix)
    return found


def import_graph(root: Path) -> tuple[dict[str, set[str]], set[tuple[str, str]]]:
    """Module -> the project modules it imports anywhere, and the (file, function) pairs that
    import a project module inside a function."""
    modules = module_files(root)
    graph: dict[str, set[str]] = {}
    local: set[tuple[str, str]] = set()
    for name, path in modules.items():
        graph[name] = set()
        for node, function in _imports(ast.parse(path.read_text(), filename=str(path))):
            targets = _targets(node, name, path.name == "__init__.py", modules)
            graph[name] |= targets
            if targets and function:
                local.add((path.relative_to(root).as_posix(), function))
    return graph, local


def cycles(graph: dict[str, set[str]]) -> set[tuple[str, ...]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[tuple[str, ...]] = set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.add(tuple(sorted(component)))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_imports_project_has_no_import_cycle() -> None:
    graph, _ = import_graph(ROOT)

    assert cycles(graph) - ALLOWED_CYCLES == set()
    # An allowed cycle that is gone must leave the list, or the list hides the next one.
    assert ALLOWED_CYCLES - cycles(graph) == set()


def test_imports_project_modules_are_imported_at_module_level() -> None:
    _, local = import_graph(ROOT)

    unexpected = {
        (path, function)
        for path, function in local
        if (path, function) not in ALLOWED_LOCAL_IMPORTS
        and (path, "*") not in ALLOWED_LOCAL_IMPORTS
    }
    assert unexpected == set()


def test_imports_cycle_hidden_in_a_function_or_type_check_is_found(tmp_path: Path) -> None:
    package = tmp_path / "takedown"
    (package / "notices").mkdir(parents=True)
    (tmp_path / "config").mkdir()
    (package / "__init__.py").write_text("")
    (package / "notices" / "__init__.py").write_text("")
    (package / "notices" / "pdf.py").write_text(
        "def render():\n    from takedown.notices.render import LABELS\n"
    )
    (package / "notices" / "render.py").write_text("from . import pdf\n")
    (package / "a.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from takedown import b\n"
    )
    (package / "b.py").write_text("import takedown.a\n")
    (package / "c.py").write_text("from takedown.notices import pdf\n")

    graph, local = import_graph(tmp_path)

    assert cycles(graph) == {
        ("takedown.a", "takedown.b"),
        ("takedown.notices.pdf", "takedown.notices.render"),
    }
    assert graph["takedown.c"] == {"takedown.notices", "takedown.notices.pdf"}
    assert local == {("takedown/notices/pdf.py", "render")}
