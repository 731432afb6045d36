"""Exception guards as the framework walk records them: the innermost ``try`` around a call whose
handler catches broad or data-store errors, and what that handler does — re-raise, answer 2xx or an
error, return a value the caller can test — so the model can tell whether a failure is swallowed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import libcst as cst

from backlint.analysis.exceptions import caught_names, is_broad
from backlint.analysis.lazy import LazyFix
from backlint.analysis.web.answers import Answers, literal_status
from backlint.analysis.web.facts import Guard
from backlint.analysis.web.file import WebFile
from backlint.analysis.web.fixes import handler_status_fixes
from backlint.analysis.web.framework_names import FrameworkNames, Scope
from backlint.analysis.web.syntax import following, is_none
from backlint.pipeline.walk import scope_descendants

_MAX_WRAPS = 24
_UNAVAILABLE = 503  # a failed health probe is answered "503 Service Unavailable"

# Compared by type(): isinstance() against a tuple of libcst classes runs ABCMeta's Python-level
# check for each (~0.4 µs apiece when it fails); these classes have no subclasses.
_LITERAL_BODIES = frozenset({cst.Dict, cst.List, cst.SimpleString, cst.ConcatenatedString, cst.FormattedString})


class GuardReader:
    """Finds and summarises the guards around the calls of the function being walked."""

    def __init__(self, names: FrameworkNames, web: WebFile) -> None:
        self.names = names
        self.web = web
        self.context = names.context
        self.tables = names.tables
        self._answers: Answers | None = None  # made when a guard's answer is to be fixed
        self._above: dict[int, int | None] = {}  # id(node) -> guard_index for the nodes under it

    def guard_index(self, scope: Scope) -> int | None:
        """The innermost enclosing ``try`` (in this function) whose handler catches broad/DB errors."""
        ancestors = self.context.ancestors
        # The answer is kept per node passed (``_above``: for the nodes under it): the search stops at
        # the nearest node answered before, so an ``elif`` ladder N deep costs N, not N² (issue 19).
        pending: list[int] = []
        found: int | None = None
        for index in range(len(ancestors) - 2, -1, -1):
            below = id(ancestors[index + 1])
            if below in self._above:
                found = self._above[below]
                break
            pending.append(below)
            node = ancestors[index]
            kind = type(node)  # not isinstance(): ABCMeta's check costs ten times more when it fails
            if kind is cst.FunctionDef or kind is cst.ClassDef or kind is cst.Lambda:
                break
            if (type(node) is cst.Try or type(node) is cst.TryStar) and ancestors[index + 1] is node.body:
                key = id(node)
                if key not in scope.guards:
                    scope.guards[key] = self.make_guard(node, ancestors[: index + 1], scope)
                found = scope.guards[key]
                if found is not None:
                    break
        for below in pending:
            self._above[below] = found
        return found

    def make_guard(self, node: cst.Try | cst.TryStar, ancestors: list[cst.CSTNode], scope: Scope) -> int | None:
        for handler in node.handlers:
            if not isinstance(handler, cst.ExceptHandler) or not is_broad(handler, self.context):
                continue
            body = list(scope_descendants(handler.body))
            returns = [n for n in body if isinstance(n, cst.Return) and n.value is not None]
            statuses = {self.status_class(r.value) for r in returns if r.value is not None}
            sets_status = False
            for n in body:
                if isinstance(n, cst.Assign) and any(
                    isinstance(t.target, cst.Attribute) and t.target.attr.value in ("status_code", "status")
                    for t in n.targets
                ):
                    status = literal_status(n.value)
                    statuses.add("ok" if status is not None and status < 400 else "error")
                    sets_status = True
            answer = None
            if statuses:
                answer = "ok" if statuses == {"ok"} else "error"
            span = self.web.at([*ancestors, handler])
            fixes: dict[str, LazyFix] = {}
            if answer == "ok" and not sets_status:
                fixes = self._unavailable_fixes(body, handler, span)
            guard = Guard(
                span=span,
                reraises=self.exits(body),
                answer=answer,
                returns_value=any(not is_none(r.value) for r in returns) or self._returns_later(node, ancestors),
                exits_later=self._exits_later(node, ancestors),
                caught=caught_names(handler, self.context),
                wraps=self._called_names(node.body),
                fixes=fixes,
                degrades=_degrades(node, body),
            )
            assert scope.facts is not None
            scope.facts.guards.append(guard)
            return len(scope.facts.guards) - 1
        return None

    def _unavailable_fixes(self, body: list[cst.CSTNode], handler: cst.ExceptHandler, span: Any) -> dict[str, LazyFix]:
        if self._answers is None:
            self._answers = Answers(self.context.knowledge, self.names.ref)
        return handler_status_fixes(body, handler, span, _UNAVAILABLE, self._answers, self.context)

    def exits(self, nodes: Iterable[cst.CSTNode]) -> bool:
        for node in nodes:
            if isinstance(node, cst.Raise):
                return True
            if isinstance(node, cst.Call) and self.names.ref(node.func) in self.tables.aborts:
                return True
        return False

    def _exits_later(self, node: cst.CSTNode, ancestors: list[cst.CSTNode]) -> bool:
        """Whether a raise or exit follows ``node`` in its function: after it, or in a loop's else."""
        child = node
        for parent in reversed(ancestors[:-1]):
            if isinstance(parent, (cst.FunctionDef, cst.Module)):
                if isinstance(parent, cst.Module):
                    return self.exits(following(parent.body, child))
                return False
            if (
                isinstance(parent, (cst.For, cst.While))
                and child is parent.body
                and parent.orelse is not None
                and self.exits(scope_descendants(parent.orelse))
            ):
                return True
            if isinstance(parent, cst.IndentedBlock) and self.exits(following(parent.body, child)):
                return True
            child = parent
        return False

    def _returns_later(self, node: cst.CSTNode, ancestors: list[cst.CSTNode]) -> bool:
        """Whether the function returns a value after ``node`` (a status the caller can test)."""
        child = node
        for parent in reversed(ancestors[:-1]):
            if isinstance(parent, (cst.FunctionDef, cst.Module)):
                return False
            if isinstance(parent, cst.IndentedBlock):
                for later in following(parent.body, child):
                    if isinstance(later, cst.Return) and not is_none(later.value):
                        return True
            child = parent
        return False

    def _called_names(self, block: cst.CSTNode) -> list[str]:
        names: list[str] = []
        for node in scope_descendants(block):
            if isinstance(node, cst.Call):
                func = node.func
                name = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", None)
                if isinstance(name, str) and name not in names:
                    names.append(name)
                    if len(names) >= _MAX_WRAPS:
                        break
        return names

    def response_row(self, ref: str | None) -> dict[str, Any] | None:
        if not ref:
            return None
        responses = self.tables.responses
        return responses.get(ref) or responses.get(ref.rpartition(".")[2])

    def status_class(self, value: cst.BaseExpression) -> str:
        """ "ok" if ``value`` answers a 2xx/3xx (a literal body, a response without status); "error" for
        4xx/5xx; "unknown" when the status is computed or the value is not a recognisable answer."""
        if type(value) is cst.Tuple and len(value.elements) >= 2:  # type(): isinstance() is 10x slower
            status = literal_status(value.elements[1].value)
            return "unknown" if status is None else ("error" if status >= 400 else "ok")
        if type(value) in _LITERAL_BODIES:
            return "ok"
        if type(value) is cst.Call:
            row = self.response_row(self.names.ref(value.func))
            if row is None:
                return "unknown"
            given: cst.BaseExpression | None = None
            for arg in value.args:
                if arg.keyword is not None and arg.keyword.value == row.get("status-kw"):
                    given = arg.value
            position = row.get("status-arg")
            positional = [a for a in value.args if a.keyword is None and not a.star]
            if given is None and position is not None and len(positional) > position:
                given = positional[position].value
            if given is None:
                return "error" if row["status"] >= 400 else "ok"
            status = literal_status(given)
            return "unknown" if status is None else ("error" if status >= 400 else "ok")
        return "unknown"


def _degrades(node: cst.Try | cst.TryStar, handler_body: list[cst.CSTNode]) -> bool:
    """The handler switches the feature off rather than hiding a failure: a getter whose ``try`` returns
    the client and whose handler returns None (privacyidea's ``get_redis()``: "a connected Redis
    client ..., else None", "falling back to DB only"), or a handler that sets a client or flag to
    None/False (``self.cache = None``, ``app.state.redis_enabled = False``) for later uses to test."""
    for current in handler_body:
        if (
            type(current) is cst.Assign
            and _off(current.value)
            and any(type(t.target) in (cst.Name, cst.Attribute, cst.Subscript) for t in current.targets)
        ):
            return True
    if not any(type(n) is cst.Return and n.value is not None and is_none(n.value) for n in handler_body):
        return False
    returned = (n for n in scope_descendants(node.body) if type(n) is cst.Return)
    return any(n.value is not None and not is_none(n.value) for n in returned)


def _off(value: cst.BaseExpression) -> bool:
    return type(value) is cst.Name and value.value in ("None", "False")
