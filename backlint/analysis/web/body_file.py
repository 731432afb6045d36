"""The body walk: what each function of a module answers, leaks, fabricates and checks.

Nothing here judges: whether a function is an endpoint, a registered handler or a dependency is
known only in the project pass, so every function that answers from an ``except``, returns literal
records, reads a fake store or checks credentials gets a ``BodyFacts`` (``bodies.py``), keyed like
the framework model's ``FunctionFacts``. Its parts: the shared state (``frames.py``), failures and
leaks (``failures.py``), mock data (``records.py``) and evidence from calls (``evidence.py``).
"""

from __future__ import annotations

from typing import Any

import libcst as cst

from backlint.analysis.scopes import Scopes
from backlint.analysis.strings import name_tokens
from backlint.analysis.web.bodies import BODIES, EXTRAS, BodyFacts
from backlint.analysis.web.evidence import CallEvidence
from backlint.analysis.web.failures import FailureReader, exception_params
from backlint.analysis.web.file import WebFile
from backlint.analysis.web.frames import BodyState, Frame
from backlint.analysis.web.records import RecordReader
from backlint.analysis.web.syntax import is_collection, target_names, top_statements, unique
from backlint.core.rule import Analysis, FileContext


class BodyFile(Analysis):
    """Answers from ``except`` clauses, leaked errors, literal records, fake data and auth evidence;
    ``facts`` holds them (keys of ``bodies.py``) once the walk has left the module."""

    REQUIRES = (WebFile, Scopes)

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.state = BodyState(context, context.get(WebFile))
        self.failures = FailureReader(self.state)
        self.records = RecordReader(self.state)
        self.evidence = CallEvidence(self.state, self.failures)
        self.tables = self.state.tables
        self.facts: dict[str, Any] = {}
        self._defs_at: dict[int, int | None] = {}  # see _innermost_def

    # ----------------------------------------------------------------- module and scopes

    def visit_Module(self, node: cst.Module) -> None:
        for statement in top_statements(node.body):
            if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                self.state.module_names.add(statement.name.value)
            elif isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    self.records.module_binding(small)
        self.records.marker_comments()

    def leave_Module(self, node: cst.Module) -> None:
        if not self.state.extras.is_empty():
            self.facts.setdefault(EXTRAS, []).append(self.state.extras)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        state = self.state
        if len(state.nesting) == 1:
            bases = [state.ref(arg.value) for arg in node.bases if arg.keyword is None]
            dotted = [b for b in bases if b and "." in b]
            if dotted:
                state.extras.classes[node.name.value] = dotted
        state.nesting.append(node.name.value)
        state.frames.append(None)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        self.state.nesting.pop()
        self.state.frames.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        state = self.state
        state.nesting.append(node.name.value)
        facts = BodyFacts(".".join(state.nesting))
        params = [*node.params.posonly_params, *node.params.params, *node.params.kwonly_params]
        names = {p.name.value for p in params}
        for star in (node.params.star_arg, node.params.star_kwarg):
            if isinstance(star, cst.Param):
                names.add(star.name.value)
        frame = Frame(facts, top_level=len(state.nesting) == 2, exception_params=exception_params(names))
        frame.body = node.body
        state.frames.append(frame)
        for param in params:
            self.evidence.parameter(param, facts, bool(node.decorators))
        self.records.docstring(node, facts)

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        state = self.state
        state.nesting.pop()
        frame = state.frames.pop()
        assert frame is not None
        facts = frame.facts
        facts.depends = unique(facts.depends)
        facts.auth = unique(facts.auth)
        facts.ratelimit = unique(facts.ratelimit)
        if not facts.records:
            facts.impure = False  # only BL503 asks, and only about functions returning records
            facts.docstring_record_marker = None  # a loose marker counts only next to records
        if frame.top_level and frame.returns_literal and set(name_tokens(node.name.value)) & self.tables.fake_tokens:
            state.extras.fake_stores[node.name.value] = "function"
        if not facts.is_empty():
            facts.span = state.web.locate(node)
            self.facts.setdefault(BODIES, []).append(facts)

    # ----------------------------------------------------------------- statements

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        frame = self.state.frame()
        if frame is not None:
            self.failures.enter_except(node, frame)

    def leave_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        frame = self.state.frame()
        if frame is not None:
            frame.handlers.pop()

    def visit_Return(self, node: cst.Return) -> None:
        frame = self.state.frame()
        if frame is None or node.value is None:
            return
        value = node.value
        self.failures.returned(node, value, frame)
        extras = self.state.extras
        if is_collection(value) or (isinstance(value, cst.Name) and extras.fake_stores.get(value.value)):
            frame.returns_literal = True
        self.records.returned(node, value, frame)

    def visit_Raise(self, node: cst.Raise) -> None:
        frame = self.state.frame()
        if frame is not None:
            self.failures.raised(node, frame)

    def visit_Assign(self, node: cst.Assign) -> None:
        frame = self.state.frame()
        if frame is None:
            self.records.locate_constant(node.targets[0].target if len(node.targets) == 1 else None, node.value)
            return
        value = node.value
        for target in node.targets:
            for name in target_names(target.target):
                frame.assignments[name] = frame.assignments.get(name, 0) + 1
                frame.literal_locals.pop(name, None)
                frame.random_locals.discard(name)
                frame.random_records.pop(name, None)
                frame.clients.discard(name)
        if len(node.targets) != 1 or not isinstance(node.targets[0].target, cst.Name):
            return
        name = node.targets[0].target.value
        leaked = self.failures.leaked(value, frame)
        if leaked is not None:
            frame.tainted[name] = (leaked.handler, leaked.via_param, leaked.helpers)
        else:
            frame.tainted.pop(name, None)
        self.records.assigned(name, value, frame)
        if isinstance(value, cst.Call) and (self.context.qualified_name(value.func) or "") in self.tables.clients:
            frame.clients.add(name)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        frame = self.state.frame()
        if frame is not None:
            for name in target_names(node.target):
                frame.assignments[name] = frame.assignments.get(name, 0) + 1
                frame.literal_locals.pop(name, None)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if self.state.frame() is None and node.value is not None:
            self.records.locate_constant(node.target, node.value)

    def visit_With(self, node: cst.With) -> None:
        frame = self.state.frame()
        if frame is None:
            return
        for item in node.items:
            if item.asname is None:
                continue
            names = set(target_names(item.asname.name))
            call = item.item
            if isinstance(call, cst.Call) and (self.context.qualified_name(call.func) or "") in self.tables.clients:
                frame.clients |= names

    def visit_If(self, node: cst.If) -> None:
        frame = self.state.frame()
        if frame is not None:
            self.records.toggle(node.test, [node.body, node.orelse] if node.orelse is not None else [node.body])

    def visit_IfExp(self, node: cst.IfExp) -> None:
        frame = self.state.frame()
        if frame is not None:
            self.records.toggle(node.test, [node.body, node.orelse])

    def visit_Await(self, node: cst.Await) -> None:
        frame = self.state.frame()
        if frame is not None:
            self.evidence.awaited(node, frame)

    def visit_Yield(self, node: cst.Yield) -> None:
        frame = self.state.frame()
        if frame is not None:
            frame.facts.impure = True

    # ----------------------------------------------------------------- expressions

    def visit_Call(self, node: cst.Call) -> None:
        frame = self.state.frame()
        if frame is None:
            self.evidence.module_call(node)
        elif self._in_body(frame):  # decorators and parameter defaults run once, at definition time
            self.evidence.call(node, frame)

    def _in_body(self, frame: Frame) -> bool:
        """The node is in ``frame``'s body: the child of its innermost ``def`` on its path is it."""
        ancestors = self.context.ancestors
        index = self._innermost_def(ancestors)
        return index is not None and index + 1 < len(ancestors) and ancestors[index + 1] is frame.body

    def _innermost_def(self, ancestors: list[cst.CSTNode]) -> int | None:
        """The index in ``ancestors`` of the innermost ``def``, kept per node passed: the search
        stops at the nearest node answered before (an ``elif`` ladder N deep costs N, not N²)."""
        pending: list[int] = []
        found: int | None = None
        for index in range(len(ancestors) - 1, -1, -1):
            node = ancestors[index]
            if type(node) is cst.FunctionDef:  # not isinstance(): ABCMeta's check is ten times slower
                found = index
                break
            known = self._defs_at.get(id(node), -1)
            if known != -1:
                found = known
                break
            pending.append(id(node))
        for key in pending:
            self._defs_at[key] = found
        return found

    def visit_Attribute(self, node: cst.Attribute) -> None:
        frame = self.state.frame()
        if frame is not None:
            self.evidence.attribute(node, frame)

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        if not self.state.header_gate:
            return
        frame = self.state.frame()
        if frame is not None:
            self.evidence.string(node, frame)

    def visit_Name(self, node: cst.Name) -> None:
        frame = self.state.frame()
        if frame is None:
            return
        self.evidence.name(node, frame)
        self.records.fake_read(node, frame)
