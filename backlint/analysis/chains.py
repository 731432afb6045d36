"""Long expression chains evaluated from the bottom up, so that recursive evaluators stay shallow.

An operator chain over a thousand lines (``'select ' + a + a …``, ``x.f().g()…``, ``a if b else a
if b else …``) is a tree as deep as it is long. An evaluator that recurses into the link below and
memoises its answers (the SQL value folder, backlint/analysis/sql/values.py) is first run on every
``STEP``-th link from the deepest up: each of those calls stops at the answer memoised ``STEP``
links below it, and the call on the whole chain recurses ``STEP`` links deep, whatever its length.
"""

from __future__ import annotations

from typing import Callable

import libcst as cst

STEP = 48


def chain_link(node: cst.CSTNode) -> cst.CSTNode | None:
    """The node an evaluator of ``node`` recurses into first, where chains grow, or None."""
    if isinstance(node, (cst.BinaryOperation, cst.BooleanOperation, cst.Comparison)):
        return node.left
    if isinstance(node, cst.IfExp):
        return node.orelse
    if isinstance(node, cst.ConcatenatedString):
        return node.right
    if isinstance(node, cst.Call):
        return node.func
    if isinstance(node, (cst.Attribute, cst.Subscript)):
        return node.value
    if isinstance(node, cst.UnaryOperation):
        return node.expression
    return None


def warm_up(expr: cst.CSTNode, evaluate: Callable[[cst.CSTNode], object], walked: set[int]) -> None:
    """Call ``evaluate`` on every STEP-th link of ``expr``'s chain, deepest first.

    ``walked`` (ids of the links seen, kept by the caller per site) makes it linear: a link inside
    a chain already walked is not walked again. A chain shorter than STEP costs one short walk.
    """
    if id(expr) in walked:
        return
    links: list[cst.CSTNode] = []
    node = chain_link(expr)
    while node is not None and id(node) not in walked:
        links.append(node)
        node = chain_link(node)
    walked.update(map(id, links))
    if len(links) < STEP:
        return
    for link in reversed(links[STEP - 1 :: STEP]):
        evaluate(link)
