"""The layout stays true: imports point one way and each file stays small.

DESIGN.md's map: ``leaderboard`` -> ``runners`` -> ``tasks``, ``kernels``; nothing
imports anything above it, no two files import each other (directly or around a
longer loop), ``runners/``, ``tasks/`` and ``kernels/`` never import Django, and
inside the Django project the catalogue does not depend on submissions or the
leaderboard. Every import counts, including the ones inside functions: a lazy import
is still a dependency (imports for type annotations only, under ``TYPE_CHECKING``,
are not). Modules stay under 500 lines and functions under about 80,
unless the docstring says why (STYLE.md).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("leaderboard", "runners", "tasks", "kernels", "glew_cli")
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
LONG_REASON = "long because"
"""A function over MAX_FUNCTION_LINES says why in its docstring with these words."""

DJANGO_SIDE = ("django", "rest_framework", "celery", "leaderboard", "drf_spectacular")
FORBIDDEN: dict[str, tuple[str, ...]] = {
    # Plain Python a researcher can use alone: no Django, no database, no broker.
    "runners": DJANGO_SIDE,
    "tasks": (*DJANGO_SIDE, "runners", "kernels"),
    "kernels": (*DJANGO_SIDE, "runners", "tasks"),
    # The catalogue is below submissions and the leaderboard.
    "leaderboard.catalogue": (
        "leaderboard.submissions",
        "leaderboard.standings",
        "leaderboard.curation",
        "leaderboard.pages",
        "leaderboard.api",
    ),
    # Curation is used by the pages, the API and the admin; it uses none of them.
    "leaderboard.curation": ("leaderboard.pages", "leaderboard.api"),
    "leaderboard.accounts": (
        "leaderboard.submissions",
        "leaderboard.standings",
        "leaderboard.catalogue",
    ),
    "glew_cli": ("django", "leaderboard", "runners", "tasks", "kernels"),
}


def _source_files() -> list[Path]:
    files = []
    for package in PACKAGES:
        files += [
            p for p in (REPO / package).rglob("*.py") if "migrations" not in p.parts
        ]
    return sorted(files)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(p): p for p in _source_files()}


def _imported_names(path: Path) -> list[tuple[str, int]]:
    """Every module name ``path`` imports (absolute), with the line, anywhere in it."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    names = []
    typing_only = {
        id(inner)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for inner in ast.walk(block)
    }
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue  # annotations only: not a dependency at run time
        if isinstance(node, ast.Import):
            names += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            for alias in node.names:
                # "from a.b import c" imports module a.b.c when that is a module.
                candidate = f"{base}.{alias.name}"
                names.append((candidate if candidate in MODULES else base, node.lineno))
    return names


def _project_module(name: str) -> str | None:
    """The project module a dotted import name lands in (its longest known prefix)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in MODULES:
            return candidate
    return None


GRAPH: dict[str, set[str]] = defaultdict(set)
IMPORTS: dict[str, list[tuple[str, int]]] = {}
for _name, _path in MODULES.items():
    IMPORTS[_name] = _imported_names(_path)
    for _imported, _line in IMPORTS[_name]:
        _target = _project_module(_imported)
        if _target and _target != _name and not _name.startswith(_target + "."):
            # A module importing its own package's __init__ is how packages work.
            GRAPH[_name].add(_target)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one file (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    nodes = set(graph) | {n for targets in graph.values() for n in targets}
    for node in sorted(nodes):
        if node not in index:
            visit(node)
    return found


def test_no_two_files_import_each_other_even_around_a_loop() -> None:
    assert _cycles(GRAPH) == []


def _owner_rules(module: str) -> tuple[str, ...]:
    rules: tuple[str, ...] = ()
    for owner, banned in FORBIDDEN.items():
        if module == owner or module.startswith(owner + "."):
            rules += banned
    return rules


def test_imports_point_one_way() -> None:
    wrong = []
    for module, imported in IMPORTS.items():
        banned = _owner_rules(module)
        for name, line in imported:
            if any(name == b or name.startswith(b + ".") for b in banned):
                wrong.append(f"{MODULES[module].relative_to(REPO)}:{line} {name}")
    assert wrong == []


def test_the_checker_sees_a_cycle_and_a_wrong_way_import() -> None:
    """The rules above can fail: fed a loop and a Django import, they say so."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [
        ["a", "b", "c"]
    ]
    assert "django" in _owner_rules("runners.execute")
    assert "leaderboard.submissions" in _owner_rules("leaderboard.catalogue.services")
    assert _owner_rules("leaderboard.pages.views") == ()


@pytest.mark.parametrize(
    "path", _source_files(), ids=lambda p: str(p.relative_to(REPO))
)
def test_modules_stay_small(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{lines} lines: split it by topic"


def test_long_functions_say_why() -> None:
    long = []
    for path in MODULES.values():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            length = node.end_lineno - node.lineno + 1
            doc = (ast.get_docstring(node) or "").lower()
            if length > MAX_FUNCTION_LINES and LONG_REASON not in doc:
                long.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name}")
    assert long == []
