"""SqlAnalysis: SQL built from strings, as facts for the BL1xx rules (backlint/checks/sql.py).

Walks with the rules, after ``Scopes`` and ``Origins`` (which records every call: a possible sink):
records the allowlist guards and the places where SQL-named text is built without being seen
executed. Values carry their origins (backlint/analysis/origins.py). Nothing is judged during
the walk: ``reached()`` and ``unreached()`` fold and judge once, at the end of the module, so
helpers defined after their callers are seen. The analysis never reports; the rules decide which
``BuiltSql`` facts are theirs.

The seams, each an object of its own module: the tables (tables.py), templates and slots
(templates.py, slots.py), values (values.py with elements.py, formatting.py, trust.py, guards.py),
receivers' handle types (handles.py), the judgement (judge.py), the autofix (rewrite.py).
"""

from __future__ import annotations

import libcst as cst

from backlint.analysis.origins import Origins
from backlint.analysis.scopes import FUNCTION, Scopes, Site
from backlint.analysis.sql.guards import Guards
from backlint.analysis.sql.handles import Handles
from backlint.analysis.sql.judge import BuiltSql, Judge, SinkCall
from backlint.analysis.sql.rewrite import sql_fix
from backlint.analysis.sql.tables import sql_knowledge
from backlint.analysis.sql.templates import is_sql_name
from backlint.analysis.sql.values import Values
from backlint.core.rule import Analysis, FileContext, PendingFix


class SqlAnalysis(Analysis):
    REQUIRES = (Scopes, Origins)

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.scopes = context.get(Scopes)
        self.origins = context.get(Origins)
        self.kb = sql_knowledge(context.knowledge)
        self.guards = Guards(self.scopes, self.kb)
        self.values = Values(context, self.scopes, self.origins, self.kb, self.guards)
        self.handles = Handles(context, self.scopes, self.kb)
        self.judge = Judge(context, self.values, self.handles, self.origins, self.kb)
        # Text that may be SQL built and kept for later: (expression or bound name, site, kind).
        self.candidates: list[tuple[cst.CSTNode, Site, str]] = []
        self._reached: list[BuiltSql] | None = None
        self._unreached: list[BuiltSql] | None = None

    # -- the walk --------------------------------------------------------------------------

    def visit_If(self, node: cst.If) -> None:
        self.guards.record_if(node)

    def visit_Assert(self, node: cst.Assert) -> None:
        self.guards.record_assert(node)

    def visit_Expr(self, node: cst.Expr) -> None:
        self.guards.record_call(node)

    def visit_Return(self, node: cst.Return) -> None:
        scope = self.scopes.current
        if node.value is not None and scope.kind == FUNCTION and is_sql_name(scope.name):
            self.candidates.append((node.value, self.scopes.site_at(node), "return"))

    def visit_Call(self, node: cst.Call) -> None:
        trust = self.values.trust
        for arg in node.args:
            keyword = arg.keyword.value if arg.keyword is not None else None
            if keyword and is_sql_name(keyword) and not trust.is_prose(node.func):
                self.candidates.append((arg.value, self.scopes.site_at(node), "keyword"))

    # -- the facts -------------------------------------------------------------------------

    def reached(self) -> list[BuiltSql]:
        """SQL text built from data reaching a call of the sql-sinks table (each hole once)."""
        if self._reached is None:
            scopes = self.scopes
            calls = [SinkCall(call, site) for call, site in self.origins.calls if not scopes.is_dead(site)]
            self._reached = self.judge.reached(calls)
        return self._reached

    def unreached(self) -> list[BuiltSql]:
        """SQL-looking text built from data into a SQL-named variable, return or keyword argument,
        whose holes reach no sink seen in this file."""
        if self._unreached is None:
            self._unreached = self.judge.unreached(self._all_candidates(), self.reached())
        return self._unreached

    def _all_candidates(self) -> list[tuple[cst.CSTNode, Site, str]]:
        """The walk's candidates and the SQL-named bindings, in walk order."""
        found = list(self.candidates)
        for scope in self.scopes.all:
            for name, bindings in scope.bindings.items():
                if not is_sql_name(name):
                    continue
                for binding in bindings:
                    if binding.kind in ("assign", "aug") and binding.value is not None:
                        at = Site(binding.scope, binding.point + 1, binding.blocks)
                        found.append((binding.target, at, "binding"))
        found.sort(key=lambda candidate: candidate[1].point)
        return found

    def fix(self, built: BuiltSql, unvetted: set[int]) -> tuple[PendingFix | None, str | None]:
        """The parameterizing fix for ``built`` (reaching a sink), or (None, why there is none).
        ``unvetted``: ids of the hole nodes that must not stay in the SQL text."""
        return sql_fix(built, unvetted, self.values, self.scopes, self.kb)
