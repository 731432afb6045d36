"""The package's layers, checked over its import graph (every import, function-local and
``TYPE_CHECKING`` ones included): each module imports only its own layer and those below, and no
modules import each other in a cycle. docs/architecture.md describes the layers."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

import backlint.core.rule as rule_api

PACKAGE = Path(__file__).resolve().parent.parent / "backlint"

# Lowest first. A module belongs to the longest prefix listed here.
LAYERS: dict[str, int] = {
    "backlint.core": 0,
    "backlint": 0,  # backlint/__init__.py: the version only
    "backlint.pipeline": 1,
    "backlint.analysis": 2,
    "backlint.checks": 3,
    "backlint.report": 4,
    "backlint.adoption": 5,
    "backlint.api": 5,
    "backlint.commands": 6,
    "backlint.cli": 7,
    "backlint.lsp": 7,
    "backlint.__main__": 8,
}


def layer_of(module: str) -> int:
    best = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return LAYERS[best]


def module_of(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, module: str, known: set[str]) -> Iterator[str]:
    """The backlint modules ``path`` imports (``from a import b`` counts b when b is a module)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        yield from (n for n in names if n == "backlint" or n.startswith("backlint."))


def import_graph(root: Path) -> dict[str, set[str]]:
    files = {module_of(p, root): p for p in root.rglob("*.py")}
    known = set(files)
    return {m: {i for i in imports_of(p, m, known) if i != m} for m, p in files.items()}


def violations(graph: Mapping[str, set[str]]) -> list[str]:
    """Imports that run up a layer, and import cycles (each named once)."""
    found = [
        f"{a} (layer {layer_of(a)}) imports {b} (layer {layer_of(b)})"
        for a, targets in sorted(graph.items())
        for b in sorted(targets)
        if layer_of(b) > layer_of(a)
    ]
    found += [f"import cycle: {' -> '.join(cycle)}" for cycle in cycles(graph)]
    return found


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in graph:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def test_the_package_keeps_its_layers_and_has_no_import_cycles() -> None:
    graph = import_graph(PACKAGE)
    assert len(graph) > 50
    assert violations(graph) == []


def test_the_check_fails_on_an_import_that_runs_up_and_on_a_cycle(tmp_path: Path) -> None:
    root = tmp_path / "backlint"
    for name, text in {
        "__init__.py": "",
        "core/__init__.py": "",
        "core/rule.py": "from backlint.checks import sql\n",  # core reaching up to the rules
        "checks/__init__.py": "",
        "checks/sql.py": "def f():\n    from backlint.checks.web import g\n",
        "checks/web.py": "from backlint.checks import sql\n",  # sql <-> web, one of them function-local
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    found = violations(import_graph(root))
    assert "backlint.core.rule (layer 0) imports backlint.checks.sql (layer 3)" in found
    assert "import cycle: backlint.checks.sql -> backlint.checks.web" in found
    assert len(found) == 2


def test_every_module_belongs_to_a_layer() -> None:
    for module in import_graph(PACKAGE):
        assert any(module == p or module.startswith(p + ".") for p in LAYERS if p != "backlint") or module == "backlint"


MAX_CLASS_LINES = 400
MAX_MODULE_LINES = 800


def sizes(root: Path) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """The line counts of every class (its ``class`` line to its last, decorators included) and of
    every module under ``root``, largest first."""
    classes, modules = [], []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(root.parent).as_posix()
        modules.append((len(text.splitlines()), name))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef) and node.end_lineno is not None:
                start = min([node.lineno] + [d.lineno for d in node.decorator_list])
                classes.append((node.end_lineno - start + 1, f"{name}:{node.name}"))
    return sorted(classes, reverse=True), sorted(modules, reverse=True)


def test_no_class_and_no_module_is_too_large() -> None:
    classes, modules = sizes(PACKAGE)
    assert [c for c in classes if c[0] > MAX_CLASS_LINES] == [], f"largest classes: {classes[:3]}"
    assert [m for m in modules if m[0] > MAX_MODULE_LINES] == [], f"largest modules: {modules[:3]}"


def test_the_size_check_counts_a_class_and_a_module(tmp_path: Path) -> None:
    root = tmp_path / "backlint"
    root.mkdir()
    (root / "big.py").write_text("@decorated\nclass Big:\n" + "    x = 1\n" * (MAX_CLASS_LINES - 1))
    classes, modules = sizes(root)
    assert classes == [(MAX_CLASS_LINES + 1, "backlint/big.py:Big")]
    assert modules == [(MAX_CLASS_LINES + 1, "backlint/big.py")]


class _Tokens(rule_api.Analysis):
    pass


class _Scopes(rule_api.Analysis):
    REQUIRES = (_Tokens,)


class _Flow(rule_api.Analysis):
    REQUIRES = (_Scopes, _Tokens)


def test_required_analyses_come_once_each_after_what_they_need() -> None:
    class Rule(rule_api.Rule):
        id = "BL999"
        REQUIRES = (_Flow,)

    class Other(rule_api.Rule):
        id = "BL998"
        REQUIRES = (_Tokens,)

    assert rule_api.required_analyses([Rule, Other]) == [_Tokens, _Scopes, _Flow]
    assert rule_api.required_analyses([Other]) == [_Tokens]


def test_analyses_that_require_each_other_are_refused() -> None:
    class A(rule_api.Analysis):
        pass

    class B(rule_api.Analysis):
        REQUIRES = (A,)

    A.REQUIRES = (B,)

    class Rule(rule_api.Rule):
        id = "BL999"
        REQUIRES = (A,)

    with pytest.raises(TypeError, match="analyses require each other"):
        rule_api.required_analyses([Rule])
