"""The batched walker and ``children`` visit nodes in libcst's own (lexical) order.

Lazy spans name a node by its child indices and rules rely on seeing statements in source order,
so the order read from ``co_names`` must be the one libcst's visitor uses, for every node type.
"""

from __future__ import annotations

from pathlib import Path

import libcst as cst

from backlint.pipeline import walk
from backlint.pipeline.walk import _SKIPPED_FIELDS, BatchedWalker, children, scope_descendants

ROOT = Path(__file__).resolve().parent.parent
# Nodes the walker never enters: whitespace, comments, punctuation and operators' tokens.
_NOT_WALKED = (
    cst.BaseParenthesizableWhitespace,
    cst.EmptyLine,
    cst.TrailingWhitespace,
    cst.Comment,
    cst.Newline,
    cst.LeftParen,
    cst.RightParen,
    cst.LeftSquareBracket,
    cst.RightSquareBracket,
    cst.LeftCurlyBrace,
    cst.RightCurlyBrace,
    cst.Comma,
    cst.Semicolon,
    cst.Colon,
    cst.AssignEqual,
    cst.Dot,
    cst.ImportStar,
)


class _Order(cst.CSTVisitor):
    def __init__(self) -> None:
        self.seen: list[cst.CSTNode] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, _NOT_WALKED):
            return False
        self.seen.append(node)
        return True


def _preorder(node: cst.CSTNode) -> list[cst.CSTNode]:
    out = [node]
    for child in children(node):
        out.extend(_preorder(child))
    return out


def _walked_types_only(nodes: list[cst.CSTNode]) -> list[int]:
    return [id(n) for n in nodes if not isinstance(n, _NOT_WALKED)]


def test_children_follow_libcsts_visit_order_on_real_code() -> None:
    # The fixtures (app code of every framework) and modules of ours that use most of the grammar.
    ours = ["pipeline/walk.py", "pipeline/fixes.py", "analysis/sql/rewrite.py", "checks/passwords.py"]
    ours += ["report/sarif.py"]
    sources = sorted((ROOT / "fixtures").rglob("*.py")) + [ROOT / "backlint" / name for name in ours]
    assert len(sources) > 50
    for path in sources:
        module = cst.parse_module(path.read_bytes())
        visitor = _Order()
        module.visit(visitor)
        libcst_order = [id(n) for n in visitor.seen]
        ours = _walked_types_only(_preorder(module))
        assert ours == libcst_order, path


def test_whitespace_fields_are_skipped() -> None:
    call = cst.parse_expression("f( a , b )")
    assert all(not isinstance(c, _NOT_WALKED) for c in children(call))
    assert "lpar" in _SKIPPED_FIELDS and "whitespace" in _SKIPPED_FIELDS


class _Searcher:
    """A rule that searches below the node it visits (as analyses do with scope_descendants)."""

    def __init__(self) -> None:
        self.during: dict[int, list[int]] = {}
        self.nodes: list[cst.CSTNode] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        for below in scope_descendants(node):
            self.during[id(below)] = [id(c) for c in children(below)]
            self.nodes.append(below)


def test_children_during_a_walk_are_the_same_lists_and_forgotten_after() -> None:
    from backlint.core.imports import ImportTable
    from backlint.core.results import FileKind
    from backlint.core.rule import FileContext

    source = "def f(a, b=1):\n    x = g(a)[b].c\n    return {x: [y for y in a]}\n\n"
    source += "class C:\n    def m(self):\n        pass\n"
    module = cst.parse_module(source)
    context = FileContext(
        path="m.py", module_name="m", kind=FileKind.PRODUCTION, source=source,
        imports=ImportTable("m", False), knowledge=None, options={},
    )  # fmt: skip
    searcher = _Searcher()
    BatchedWalker([searcher], context).walk(module)  # type: ignore[list-item]
    assert searcher.nodes
    for node in searcher.nodes:  # the walk's table (kept during the walk) gave what a fresh look gives
        assert searcher.during[id(node)] == [id(c) for c in children(node)]
    assert not walk._walked  # nothing is kept once the walk ends: a freed node's id may be reused
    temporary = cst.parse_expression("h(1)")
    assert children(temporary) == [temporary.func, temporary.args[0]] and not walk._walked
