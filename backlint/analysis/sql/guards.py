"""Allowlist guards: checks that vet a name before it joins SQL text, recorded as the walk passes.

``if x not in ALLOWED: raise`` (or ``return``, ``abort()``; or a body re-assigning ``x``) and
``assert x in ALLOWED`` guard the rest of the block (kind "after"); ``if x in ALLOWED:`` guards its
body (kind "inside"). ``ALLOWED`` may be any collection outside input does not fill: constants, or
an existence lookup (``if table not in inspector.get_table_names(): raise``). A vetting call
(``re.fullmatch(pattern, x)``, ``x.isidentifier()``: the ``guard-call``/``guard-method`` rows of
sql-safe-values) counts as a check whatever the pattern, and so does a query for the value
(``if not Table.objects.filter(name=x).exists(): raise``, ``session.query(M).filter_by(key=x).first()``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any, Callable

import libcst as cst

from backlint.analysis.scopes import Scope, Scopes, Site, within
from backlint.analysis.sql.tables import SqlKnowledge
from backlint.core.imports import dotted_name

_TERMINATORS = (cst.Raise, cst.Return, cst.Continue, cst.Break)
_EXISTENCE = frozenset({"exists", "first", "one", "one_or_none", "scalar", "count", "get"})
_QUERIES = frozenset({"filter", "filter_by", "where", "get", "exclude"})


@dataclasses.dataclass(eq=False)
class Guard:
    """``if x not in ALLOWED: raise`` (kind "after") or ``if x in ALLOWED:`` (kind "inside")."""

    name: str
    kind: str
    point: int
    blocks: tuple[int, ...]
    body: int  # id of the guarded body block (kind "inside")
    collection: cst.BaseExpression | None  # None: a vetting call (re.fullmatch, str.isidentifier)


class Guards:
    """The guards of a file by scope; ``record_*`` is called by the walk, ``guarded`` when judging."""

    def __init__(self, scopes: Scopes, kb: SqlKnowledge) -> None:
        self.scopes = scopes
        self.kb = kb
        self.by_scope: dict[Scope, dict[str, list[Guard]]] = {}

    def record_if(self, node: cst.If) -> None:
        tests = membership_tests(node.test, self.kb)
        if not tests:
            return
        body, orelse = node.body, node.orelse
        body_ends = terminates(body) or reassigns(body, {n for n, _, _ in tests})
        else_ends = isinstance(orelse, cst.Else) and terminates(orelse.body)
        for name, collection, positive in tests:
            if positive:
                self._add(name, "inside", collection, id(body))
                if else_ends:
                    self._add(name, "after", collection)
            elif body_ends:
                self._add(name, "after", collection)

    def record_assert(self, node: cst.Assert) -> None:
        for name, collection, positive in membership_tests(node.test, self.kb):
            if positive:
                self._add(name, "after", collection)

    def _add(self, name: str, kind: str, collection: cst.BaseExpression | None, body: int = 0) -> None:
        scopes = self.scopes
        guard = Guard(name, kind, scopes.next_point(), scopes.blocks(), body, collection)
        self.by_scope.setdefault(scopes.current.frame, {}).setdefault(name, []).append(guard)

    def any_in(self, scope: Scope) -> bool:
        return scope.frame in self.by_scope

    def guarded(self, name: str, site: Site, allowlist: Callable[[cst.BaseExpression, Site], bool]) -> bool:
        """A guard of ``name`` covers ``site`` (and its collection, if any, is an ``allowlist``)."""
        for guard in self.by_scope.get(site.scope.frame, {}).get(name, ()):
            if guard.kind == "inside":
                applies = guard.body in site.blocks
            else:
                applies = guard.point < site.point and within(site.blocks, guard.blocks)
            if applies and (guard.collection is None or allowlist(guard.collection, site)):
                return True
        return False


def terminates(body: cst.BaseSuite) -> bool:
    statements: list[cst.CSTNode] = []
    if isinstance(body, cst.SimpleStatementSuite):
        statements = list(body.body)
    else:
        for line in body.body:
            statements.extend(line.body if isinstance(line, cst.SimpleStatementLine) else [line])
    for statement in statements:
        if isinstance(statement, _TERMINATORS):
            return True
        if isinstance(statement, cst.Expr) and isinstance(statement.value, cst.Call):
            name = dotted_name(statement.value.func) or ""
            if name.rpartition(".")[2] in ("abort", "fail", "exit", "error") or name.startswith("sys.exit"):
                return True
    return False


def reassigns(body: cst.BaseSuite, names: set[str]) -> bool:
    if isinstance(body, cst.SimpleStatementSuite):
        lines: Iterable[Any] = [body]
    else:
        lines = [line for line in body.body if isinstance(line, cst.SimpleStatementLine)]
    for line in lines:
        for statement in line.body:
            if isinstance(statement, cst.Assign) and any(
                isinstance(t.target, cst.Name) and t.target.value in names for t in statement.targets
            ):
                return True
    return False


def membership_tests(test: cst.BaseExpression, kb: SqlKnowledge) -> list[tuple[str, cst.BaseExpression | None, bool]]:
    """(name, allowlist or None for a vetting call, positive?) for each check in an ``if``/``assert`` test."""
    if isinstance(test, cst.BooleanOperation):
        return membership_tests(test.left, kb) + membership_tests(test.right, kb)
    negated = False
    while isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        negated = not negated
        test = test.expression
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1 and isinstance(test.left, cst.Name):
        target = test.comparisons[0]
        if isinstance(target.operator, cst.In):
            return [(test.left.value, target.comparator, not negated)]
        if isinstance(target.operator, cst.NotIn):
            return [(test.left.value, target.comparator, negated)]
        return []
    if isinstance(test, cst.Call):
        looked_up = _looked_up(test)
        if looked_up:
            return [(n, None, not negated) for n in looked_up]
        func = test.func
        name = dotted_name(func) or ""
        if name in kb.names("guard-call") and len(test.args) >= 2 and isinstance(test.args[1].value, cst.Name):
            return [(test.args[1].value.value, None, not negated)]
        if isinstance(func, cst.Attribute) and func.attr.value in kb.names("guard-method"):
            if isinstance(func.value, cst.Name) and not test.args:
                return [(func.value.value, None, not negated)]
            if test.args and isinstance(test.args[0].value, cst.Name) and func.attr.value in ("match", "fullmatch"):
                return [(test.args[0].value.value, None, not negated)]
    return []


def _looked_up(test: cst.Call) -> list[str]:
    """Names a query looks up when ``test`` asks whether it found anything:
    ``M.objects.filter(name=x).exists()``, ``session.query(M).filter_by(key=x).first()``."""
    if not isinstance(test.func, cst.Attribute) or test.func.attr.value not in _EXISTENCE:
        return []
    names: list[str] = []
    queried = False
    node: cst.BaseExpression = test.func.value
    while isinstance(node, (cst.Call, cst.Attribute)):
        if isinstance(node, cst.Call):
            if isinstance(node.func, cst.Attribute) and node.func.attr.value in _QUERIES:
                queried = True
                names += [a.value.value for a in node.args if isinstance(a.value, cst.Name)]
            node = node.func
        else:
            node = node.value
    return names if queried else []
