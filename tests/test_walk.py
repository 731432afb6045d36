"""The batched walker and ``children`` visit nodes in libcst's own (lexical) order.

Lazy spans name a node by its child indices and rules rely on seeing statements in source order,
so the order read from ``co_names`` must be the one libcst's visitor uses, for every node type.
"""

from __future__ import annotations

from pathlib import Path

import libcst as cst

from backlint.pipeline.walk import _SKIPPED_FIELDS, children

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
