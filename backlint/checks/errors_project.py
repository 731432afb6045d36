"""BL402 across modules (issue 16 §3): a project function whose broad ``except`` answers silently, called from an
endpoint of another module (directly or through other project functions).

The file rule (backlint/checks/errors.py) reports such a handler when an endpoint of its own module reaches
its function. For the others, ``SilentAnswerFacts`` records the handler with the module-level functions that
run it (its own, and the module's functions calling it), and ``RequestCallFacts`` records every call of a
project function (imported, or of the module) with the calling function and whether it is an endpoint. The
project rule follows the calls back from each handler's functions, up to ``_MAX_CALLS`` calls in all, and
reports the handler when an endpoint reaches it, with the endpoint's call as a related location.

The facts are read again whenever a module's facts change, so the cache, standard input, the editor and
shards judge a handler with every caller as one full run does (backlint/pipeline/project.py).
"""

from __future__ import annotations

import sys
from typing import Any

import libcst as cst

from backlint.analysis.lazy import StepsLocator
from backlint.analysis.origins import Origins
from backlint.analysis.scopes import Scope, Scopes
from backlint.checks.errors import ExceptionSwallowed
from backlint.checks.request_paths import RequestPaths, short_code
from backlint.core.facts import FactCollector, ProjectFinding, ProjectRule
from backlint.core.results import FileKind, ModuleFacts, RelatedLocation

SILENT_FACT = "silent-answer-handlers"
CALLS_FACT = "request-path-calls"
_MAX_CALLS = 4  # calls followed from the handler's function to an endpoint, as within a module


def _qualified(module: str, scope: Scope) -> str | None:
    """``pkg.mod.function`` for a module-level function, ``pkg.mod.Class.method`` for a method."""
    parent = scope.parent
    if scope.kind != "function" or parent is None:
        return None
    if parent.kind == "module":
        return f"{module}.{scope.name}"
    if parent.kind == "class" and parent.parent is not None and parent.parent.kind == "module":
        return f"{module}.{parent.name}.{scope.name}"
    return None


def _in_project(qualified: str, module: str) -> bool:
    """A name imported from the project: its package's, or (a module at the top) not the stdlib's."""
    head = qualified.partition(".")[0]
    if not head or "." not in qualified:
        return False
    if "." in module:
        return head == module.partition(".")[0]
    return head not in sys.stdlib_module_names


class SilentAnswerFacts(FactCollector):
    """Records the broad handlers that answer silently and that no endpoint of their module reaches."""

    TRIGGERS = ("except",)
    REQUIRES = (Origins, Scopes)

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.judge = ExceptionSwallowed(context, "warning")  # only its notes are read: it reports nothing here

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        self.judge.note_answer(node)

    def leave_Module(self, node: cst.Module) -> None:
        context = self.context
        locate = StepsLocator.of(context, node)  # placed only if the project pass reports the handler
        for handler, answer, frame, entries in self.judge.paths.unreached():
            named = [(_qualified(context.module_name, scope), depth) for scope, depth in entries]
            context.add_fact(
                SILENT_FACT,
                {
                    "entries": sorted((name, depth) for name, depth in named if name is not None),
                    "span": locate(handler),
                    "answer": locate(answer),
                    "caught": "except:" if handler.type is None else f"except {short_code(handler.type)}:",
                    "code": short_code(answer),
                    "function": frame.name,
                    "production": context.kind is FileKind.PRODUCTION,
                },
            )


class RequestCallFacts(FactCollector):
    """Records the calls of project functions: the calling function, and whether it is an endpoint."""

    TRIGGERS = ("import",)
    REQUIRES = (Origins, Scopes)

    def leave_Module(self, node: cst.Module) -> None:
        context = self.context
        module = context.module_name
        origins = context.get(Origins)
        scopes = context.get(Scopes)
        paths = RequestPaths(context)
        aliases = context.imports.aliases
        recorded: set[tuple[str, str]] = set()
        locate = StepsLocator.of(context, node)
        for call, site in origins.calls:
            caller = _qualified(module, site.scope.frame)
            if caller is None or scopes.is_dead(site):
                continue
            callee = self._callee(call, site, aliases)
            if callee is None or (caller, callee) in recorded:
                continue
            recorded.add((caller, callee))
            endpoint = paths.routed(site.scope.frame)
            context.add_fact(
                CALLS_FACT,
                {
                    "caller": caller,
                    "callee": callee,
                    "endpoint": endpoint,
                    # Only an endpoint's call is shown (ExceptionSwallowedAcrossModules' related location),
                    # placed only if the project pass reports it: a span of ``context.locate`` makes the
                    # file stage resolve every position of the module (libcst's PositionProvider, twice
                    # the parse).
                    "span": locate(call) if endpoint else None,
                },
            )

    def _callee(self, call: cst.Call, site: Any, aliases: dict[str, str]) -> str | None:
        context = self.context
        func = call.func
        head: cst.BaseExpression = func
        while isinstance(head, cst.Attribute):
            head = head.value
        if isinstance(head, cst.Name) and head.value in aliases:
            qualified = context.qualified_name(func) or ""
            return qualified if _in_project(qualified, context.module_name) else None
        target = context.get(Scopes).function(func, site)
        return _qualified(context.module_name, target) if target is not None else None


class ExceptionSwallowedAcrossModules(ProjectRule):
    """BL402's request-path form for handlers that endpoints of other modules reach."""

    id = ExceptionSwallowed.id

    def check(self, modules: list[ModuleFacts]) -> list[ProjectFinding]:
        callers: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for module in modules:
            for site in module.get(CALLS_FACT):
                callers.setdefault(site["callee"], []).append((module.path, site))
        out = []
        for module in modules:
            for fact in module.get(SILENT_FACT):
                if not fact["production"]:
                    continue
                reached = self._endpoint(fact["entries"], callers)
                if reached is None:
                    continue
                path, site = reached
                endpoint = site["caller"].rpartition(".")[2]
                message = (
                    f"`{fact['caught']}` answers `{fact['code']}` in `{fact['function']}`, which the endpoint "
                    f"`{endpoint}` ({path}) calls, without logging or re-raising the error: the failure vanishes "
                    "from the request path; log it with logger.exception() (or let it reach the app's error handler)"
                )
                related = [
                    RelatedLocation(module.path, fact["answer"], "the failure is answered here"),
                    RelatedLocation(path, site["span"], f"the endpoint `{endpoint}` calls it here"),
                ]
                out.append(ProjectFinding(self.id, module.path, fact["span"], message, None, related))
        return out

    @staticmethod
    def _endpoint(
        entries: list[tuple[str, int]], callers: dict[str, list[tuple[str, dict[str, Any]]]]
    ) -> tuple[str, dict[str, Any]] | None:
        """The first endpoint's call (path, call fact) found going up from ``entries``, breadth first."""
        queue = [(name, depth) for name, depth in entries]
        seen = {name for name, _ in entries}
        while queue:
            name, depth = queue.pop(0)
            if depth >= _MAX_CALLS:
                continue
            for path, site in sorted(callers.get(name, []), key=lambda c: (c[0], c[1]["caller"])):
                if site["endpoint"]:
                    return path, site
                if site["caller"] not in seen:
                    seen.add(site["caller"])
                    queue.append((site["caller"], depth + 1))
        return None
