"""Failures as the body walk reads them: what an ``except`` clause answers (a 2xx for a failure, a
status other than 400 for invalid input), exception text that reaches an answer, and the statuses
that are authentication (401/403) or rate-limit (429) evidence."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Container, Iterable

import libcst as cst

from backlint.analysis.exception_text import BENIGN_ATTRIBUTES, TEXT_FREE_CALLS, TRACEBACK_TEXT
from backlint.analysis.exceptions import caught_names
from backlint.analysis.lazy import lazy_fix
from backlint.analysis.strings import name_tokens
from backlint.analysis.web.answers import ERROR, OK, UNKNOWN, argument, literal_status
from backlint.analysis.web.bodies import Answer, BodyFacts, Leak
from backlint.analysis.web.fixes import generic_fix_description, generic_message, generic_message_fix, lazy_status_fixes
from backlint.analysis.web.frames import BodyState, Catch, Frame
from backlint.analysis.web.syntax import is_class_name, short, strings
from backlint.core.imports import dotted_name
from backlint.core.rule import NodeEdit, PendingFix
from backlint.pipeline.walk import children, scope_descendants

_EXCEPTION_PARAMS = frozenset({"exc", "exception", "error", "err", "e", "ex"})
_SERVER_ERROR = 500
_MAX_LEAKS = 8  # pieces of exception text one answer's fix replaces
_TOO_MANY_REQUESTS = 429
# Keys and words of a response body that reports a failure (an error answer, not a fallback value).
_ERROR_KEYS = frozenset(
    {"error", "errors", "err", "detail", "message", "msg", "status", "success", "ok", "reason", "failed"}
)
_FAILURE_TEXT = re.compile(r"(?i)error|fail|unavailable|could not|couldn't|unable|cannot|went wrong|problem")


@dataclasses.dataclass(frozen=True)
class Leaked:
    """Exception text found in a value: what shows it, the ``except`` it comes from, whether it is a
    handler's exception parameter, and the callees it passes through (empty: it leaks as such)."""

    text: str
    handler: Catch | None
    via_param: bool
    helpers: tuple[tuple[str, int | None, str | None], ...] = ()


def exception_params(names: set[str]) -> set[str]:
    """Parameters named like an exception (a registered handler's ``exc``)."""
    return names & _EXCEPTION_PARAMS


class FailureReader:
    """Reads answers and leaks in the function being walked."""

    def __init__(self, state: BodyState) -> None:
        self.state = state
        self.context = state.context
        self.answers = state.answers
        self.tables = state.tables

    def enter_except(self, node: cst.ExceptHandler, frame: Frame) -> None:
        names = caught_names(node, self.context)
        name = node.name.name.value if node.name is not None and isinstance(node.name.name, cst.Name) else None
        sets_status = any(
            isinstance(t, cst.Attribute) and t.attr.value in ("status_code", "status")
            for n in scope_descendants(node.body)
            if isinstance(n, (cst.Assign, cst.AugAssign))
            for t in ([a.target for a in n.targets] if isinstance(n, cst.Assign) else [n.target])
        )
        validation = names is not None and any(n.rpartition(".")[2].endswith("ValidationError") for n in names)
        role = self.answers.caught_role(names)
        ancestors = self.context.ancestors
        block = ancestors[-2] if len(ancestors) >= 2 and isinstance(ancestors[-2], cst.Try) else None
        parses = block is not None and self._parses_only(block.body)
        frame.handlers.append(Catch(role, name, sets_status, validation, self._caught_refs(node), parses))

    def _parses_only(self, body: cst.BaseSuite) -> bool:
        """The ``try`` body only parses or constructs values: every call is an input parser or a class
        construction (not a client), with no ``await`` or ``with``. What fails there is the input."""
        calls = 0
        for node in scope_descendants(body):
            if isinstance(node, (cst.Await, cst.With, cst.Yield)):
                return False
            if not isinstance(node, cst.Call):
                continue
            calls += 1
            ref = self.context.qualified_name(node.func) or ""
            if ref in self.tables.parsers or _dotted_suffix(ref) in self.tables.parsers:
                continue  # also a module re-exported by a compatibility shim (``from compat import json``)
            if isinstance(node.func, cst.Attribute) and node.func.attr.value in self.tables.parser_methods:
                continue
            if is_class_name(node.func) and ref not in self.tables.clients and ref not in self.tables.store_clients:
                continue
            return False
        return calls > 0

    def _caught_refs(self, node: cst.ExceptHandler) -> tuple[str, ...]:
        """The caught classes as project-wide references (``pkg.errors.AppError``); empty if one is not a name."""
        if node.type is None:
            return ()
        elements = node.type.elements if isinstance(node.type, cst.Tuple) else [node.type]
        refs = [self.state.ref(e.value if isinstance(e, cst.Element) else e) for e in elements]
        return tuple(r for r in refs if r) if all(refs) else ()

    def returned(self, node: cst.Return, value: cst.BaseExpression, frame: Frame) -> int | None:
        """A ``return`` in the function: a 2xx answer of an ``except``, an answer to invalid input,
        auth or rate-limit statuses, exception text; its status (None: implicit or unknown)."""
        facts = frame.facts
        kind, status = self.answers.returned(value)
        if frame.handlers:
            handler = frame.handlers[-1]
            ok_error = kind == OK and self.signals_error(value) and not _flag_protocol(value, frame)
            if handler.role in ("broad", "database") and not handler.sets_status and ok_error:
                placed = lazy_status_fixes(value, _SERVER_ERROR, self.answers, self.context, self.state.web.locate)
                facts.ok_answers.append(Answer(self.state.web.locate(node), short(value), status, placed))
            if handler.validation and kind != UNKNOWN and status != 400 and (status is None or status < 500):
                facts.validation_answers.append(Answer(self.state.web.locate(node), short(value), status))
        self.answered(facts, kind, status)
        body = value.elements[0].value if isinstance(value, cst.Tuple) and value.elements else value
        if not (isinstance(body, cst.Call) and self.answers.response_row(body.func) is not None):
            self._leak(body, "return", status, node)
        return status

    def raised(self, node: cst.Raise, frame: Frame) -> None:
        if node.exc is None or isinstance(node.exc, cst.Call):
            return  # raised calls are read with the calls
        is_error, status = self.answers.raised_http_error(node.exc)
        if is_error and status in self.tables.auth_statuses:
            frame.facts.auth.append(f"answers {status}")

    def call(self, node: cst.Call, frame: Frame) -> bool:
        """A response or an HTTP error built by the call being visited (True: it is one)."""
        facts = frame.facts
        row = self.answers.response_row(node.func)
        if row is not None:
            kind, status = self.answers.response_status(node, row)
            status = self._tuple_status(status)
            self.answered(facts, kind, status)
            self._leak_arguments(node, "response", status)
            return True
        is_error, status = self.answers.http_error(node)
        if is_error:
            self.answered(facts, ERROR, status)
            if frame.handlers and frame.handlers[-1].validation and status != 400 and (status is None or status < 500):
                facts.validation_answers.append(Answer(self.state.web.locate(node), short(node), status))
            self._leak_arguments(node, "http-error", status)
            return True
        return False

    def signals_error(self, value: cst.BaseExpression) -> bool:
        """The body says something failed (``{"error": ...}``, ``jsonify(ok=False)``, ``"could not save"``):
        an answer, not a graceful fallback such as ``{"latest": None}`` or an empty list."""
        if isinstance(value, cst.Tuple) and value.elements:
            value = value.elements[0].value
        keys: list[str] = []
        if isinstance(value, cst.Call):
            keys += [a.keyword.value for a in value.args if a.keyword is not None]
            inner = argument(value, 0, "content") or argument(value, None, "data") or argument(value, None, "body")
            if inner is not None and not keys:
                value = inner
        if isinstance(value, cst.Dict):
            keys += [k for e in value.elements if isinstance(e, cst.DictElement) for k in strings(e.key)]
        elif isinstance(value, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
            return bool(_FAILURE_TEXT.search(short(value)))
        return any(set(name_tokens(k)) & _ERROR_KEYS for k in keys)

    def answered(self, facts: BodyFacts, kind: str, status: int | None) -> None:
        """401/403 answers are authentication evidence (BL801); 429 answers are rate-limit evidence (BL802)."""
        if kind != ERROR or status is None:
            return
        if status in self.tables.auth_statuses:
            facts.auth.append(f"answers {status}")
        elif status == _TOO_MANY_REQUESTS:
            facts.ratelimit.append(f"answers {status}")

    def _tuple_status(self, status: int | None) -> int | None:
        """A response inside ``return body, 500``: the tuple's status wins."""
        ancestors = self.context.ancestors
        if len(ancestors) >= 3 and isinstance(ancestors[-2], cst.Element) and isinstance(ancestors[-3], cst.Tuple):
            elements = ancestors[-3].elements
            if len(elements) >= 2 and elements[0] is ancestors[-2]:
                return literal_status(elements[1].value) or status
        return status

    def _leak_arguments(self, call: cst.Call, sink: str, status: int | None) -> None:
        """Exception text in a response's or HTTP error's arguments (the status argument aside)."""
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value in ("status_code", "status", "code"):
                continue
            if arg.keyword is None and literal_status(arg.value) is not None:
                continue
            if self._leak(arg.value, sink, status, call, [a.value for a in call.args if a is not arg]):
                return

    def _leak(
        self,
        value: cst.BaseExpression,
        sink: str,
        status: int | None,
        at: cst.CSTNode,
        others: Iterable[cst.BaseExpression] = (),
    ) -> bool:
        frame = self.state.frame()
        if frame is None or self._debug_only() or self._http_error_returned(value):
            return False
        found = self.leaked(value, frame)
        if found is None:
            return False
        text, handler, via_param = found.text, found.handler, found.via_param
        if not via_param:
            role = handler.role if handler is not None else "broad"
            if role == "http":
                return False  # an HTTP error's detail is written for the client
            if role in ("narrow", "validation") and (status is None or status < 500):
                return False  # a specific error answered as a client error: its message is meant for the client
            if role == "broad" and handler is not None and handler.parses_input and status and 400 <= status < 500:
                return False  # the client's malformed input, answered as such
        fix = lazy_fix(self._leak_fix([value, *others], frame, generic_message(status)), self.state.web.locate)
        caught = handler.caught if handler is not None else ()
        leak = Leak(self.state.web.locate(at), text, sink, status, via_param, fix, caught, found.helpers)
        frame.facts.leaks.append(leak)
        return True

    def _leak_fix(self, values: list[cst.BaseExpression], frame: Frame, message: str) -> PendingFix | None:
        """BL405: every piece of exception text in the answer replaced by ``message``, in one fix."""
        edits: list[NodeEdit] = []
        done: set[int] = set()
        for value in values:
            for _ in range(_MAX_LEAKS):
                found = self.leaked(value, frame, done)
                if found is None:
                    break
                fix = generic_message_fix(value, found.text, short, done, message)
                if fix is None:
                    return None
                edits.extend(fix.edits)
                done.update(id(edit.node) for edit in fix.edits)
        return PendingFix("unsafe", generic_fix_description(message), tuple(edits)) if edits else None

    def leaked(self, value: cst.BaseExpression, frame: Frame, skip: Container[int] = ()) -> Leaked | None:
        """Exception text inside ``value``: the caught name, a tainted local, a traceback call, an ``exc``
        parameter. A caught exception passed as such to a call the project may define
        (``error_message(e, "Could not save")``) is text only if that function returns it: such pieces
        are found with their callees (``Leaked.helpers``), and count only when nothing else leaks."""
        handlers = {h.name: h for h in frame.handlers if h.name}
        if not handlers and not frame.tainted and not frame.exception_params and not self.state.traceback_gate:
            return None  # nothing in this function can hold exception text
        conditional: Leaked | None = None
        helpers: list[tuple[str, int | None, str | None]] = []
        # Each node travels with the innermost call or string built around it, which the message shows.
        stack: list[tuple[cst.CSTNode, cst.CSTNode | None]] = [(value, None)]
        while stack:
            node, carrier = stack.pop()
            if isinstance(node, (cst.Lambda, cst.FunctionDef)) or id(node) in skip:
                continue
            if isinstance(node, cst.IfExp) and _mentions_debug(node.test):
                continue  # ``traceback.format_exc() if settings.DEBUG else "Internal Server Error"``
            if isinstance(node, cst.Call):
                ref = self.context.qualified_name(node.func) or ""
                if ref in TRACEBACK_TEXT:
                    return Leaked(short(node), frame.handlers[-1] if frame.handlers else None, False)
                if ref in TEXT_FREE_CALLS:
                    continue
                helper = self.state.ref(node.func)
                if helper is not None and "." in helper:
                    position = 0
                    for arg in node.args:
                        index = None if arg.keyword is not None or arg.star else position
                        position += index is not None
                        caught = self._caught_exception(arg.value, handlers, frame) if not arg.star else None
                        if caught is None:
                            stack.append((arg.value, node))
                            continue
                        keyword = arg.keyword.value if arg.keyword is not None else None
                        helpers.append((helper, index, keyword))
                        conditional = conditional or Leaked(short(node), caught[0], caught[1])
                    continue
            if (
                isinstance(node, cst.Attribute)
                and isinstance(node.value, cst.Name)
                and node.attr.value in BENIGN_ATTRIBUTES
            ):
                continue
            if isinstance(node, cst.Name):
                if node.value in handlers:
                    return Leaked(short(carrier or node), handlers[node.value], False)
                if node.value in frame.tainted:
                    handler, via_param, through = frame.tainted[node.value]
                    if not through:
                        return Leaked(short(carrier or node), handler, via_param)
                    helpers.extend(through)
                    conditional = conditional or Leaked(short(carrier or node), handler, via_param)
                    continue
                if node.value in frame.exception_params:
                    return Leaked(short(carrier or node), None, True)
                continue
            if isinstance(node, (cst.Call, cst.FormattedString, cst.BinaryOperation)):
                carrier = node
            stack.extend((child, carrier) for child in children(node))
        if conditional is None:
            return None
        return dataclasses.replace(conditional, helpers=tuple(dict.fromkeys(helpers)))

    @staticmethod
    def _caught_exception(
        value: cst.BaseExpression, handlers: dict[str, Catch], frame: Frame
    ) -> tuple[Catch | None, bool] | None:
        """``value`` is the caught exception object itself: an ``except`` name or an ``exc`` parameter."""
        if not isinstance(value, cst.Name):
            return None
        if value.value in handlers:
            return handlers[value.value], False
        if value.value in frame.exception_params:
            return None, True
        return None

    def _http_error_returned(self, value: cst.BaseExpression) -> bool:
        """``if isinstance(error, HTTPException): return error`` in a handler: the framework renders the HTTP
        error (or performs the routing redirect) it stands for, with its own description."""
        if not isinstance(value, cst.Name):
            return False
        ancestors = self.context.ancestors
        for index in range(len(ancestors) - 2, -1, -1):
            node = ancestors[index]
            if isinstance(node, cst.FunctionDef):
                return False
            if not (isinstance(node, cst.If) and ancestors[index + 1] is node.body):
                continue
            test = node.test
            if not (isinstance(test, cst.Call) and dotted_name(test.func) == "isinstance" and len(test.args) == 2):
                continue
            subject, classes = test.args[0].value, test.args[1].value
            names = [e.value for e in classes.elements] if isinstance(classes, cst.Tuple) else [classes]
            refs = [self.context.qualified_name(n) or "" for n in names]
            if (
                isinstance(subject, cst.Name)
                and subject.value == value.value
                and self.answers.caught_role(refs) == "http"
            ):
                return True
        return False

    def _debug_only(self) -> bool:
        """Inside ``if settings.DEBUG:`` (its body): a debug page, not a production answer."""
        ancestors = self.context.ancestors
        for index in range(len(ancestors) - 2, -1, -1):
            node = ancestors[index]
            if isinstance(node, cst.FunctionDef):
                return False
            if isinstance(node, cst.If) and ancestors[index + 1] is node.body and _mentions_debug(node.test):
                return True
        return False

    def request_guarded(self) -> bool:
        """Inside a ``try`` body whose handler catches broad, data-store or request errors (in this function)."""
        ancestors = self.context.ancestors
        for index in range(len(ancestors) - 2, -1, -1):
            node = ancestors[index]
            if isinstance(node, (cst.FunctionDef, cst.Lambda)):
                return False
            if isinstance(node, (cst.Try, cst.TryStar)) and ancestors[index + 1] is node.body:
                for handler in node.handlers:
                    if not isinstance(handler, cst.ExceptHandler):
                        continue
                    names = caught_names(handler, self.context)
                    if names is None or self.answers.caught_role(names) in ("broad", "database"):
                        return True
                    if any(n in self.tables.network_errors for n in names):
                        return True
        return False


def _dotted_suffix(ref: str) -> str:
    """``pkg.seven.json.loads`` → ``json.loads``: a module and its function, wherever it is imported from."""
    parts = ref.split(".")
    return ".".join(parts[-2:]) if len(parts) > 2 else ""


def _flag_protocol(value: cst.BaseExpression, frame: Frame) -> bool:
    """``return {"status": False}`` where the function's success answer is just ``{"status": True}``: an
    action whose whole result is a boolean flag its client reads. (A success answer carrying data,
    ``{"ok": True, "count": n}``, makes ``{"ok": False}`` a failure answered 200: still reported.)"""
    failed = _dict_items(value)
    if not failed or not all(_is_name(v, "False") for v in failed.values()):
        return False
    if frame.body is None:
        return False
    for node in scope_descendants(frame.body):
        if isinstance(node, cst.Return) and node.value is not None and node.value is not value:
            items = _dict_items(node.value)
            if items.keys() == failed.keys() and all(_is_name(v, "True") for v in items.values()):
                return True
    return False


def _is_name(node: cst.BaseExpression | None, name: str) -> bool:
    return isinstance(node, cst.Name) and node.value == name


def _dict_items(value: cst.BaseExpression) -> dict[str, cst.BaseExpression]:
    """The string-keyed items of a returned dict (in a tuple, or given to a response call)."""
    if isinstance(value, cst.Tuple) and value.elements:
        value = value.elements[0].value
    if isinstance(value, cst.Call):
        inner = argument(value, 0, "content")
        if inner is None:
            return {a.keyword.value: a.value for a in value.args if a.keyword is not None}
        value = inner
    if not isinstance(value, cst.Dict):
        return {}
    out: dict[str, cst.BaseExpression] = {}
    for element in value.elements:
        if isinstance(element, cst.DictElement):
            keys = list(strings(element.key))
            if len(keys) == 1:
                out[keys[0]] = element.value
    return out


def _mentions_debug(test: cst.BaseExpression) -> bool:
    """A test on a debug flag (``settings.DEBUG``, ``app.debug``), not its negation."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return False
    return any(isinstance(n, cst.Name) and "debug" in name_tokens(n.value) for n in scope_descendants(test))
