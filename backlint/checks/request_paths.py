"""BL402's request-path form: the broad ``except`` clauses that answer silently, and whether their function is
on a request path of the module (backlint/checks/errors.py reports them; backlint/checks/errors_project.py
follows the others to endpoints of other modules)."""

from __future__ import annotations

import io
import re
import textwrap
import tokenize

import libcst as cst

from backlint.analysis.logging import LogCalls
from backlint.analysis.origins import Origins
from backlint.analysis.scopes import Scope, Scopes
from backlint.analysis.strings import name_tokens
from backlint.analysis.web.answers import OK, Answers, literal_status
from backlint.analysis.web.syntax import is_class_name
from backlint.core.rule import FileContext
from backlint.pipeline.walk import scope_descendants

# Words of a call that records the failure somewhere (``log_error``, ``capture_exception``, ``report``).
_RECORDING_WORDS = frozenset({"log", "logger", "logging", "exception", "capture", "report", "traceback", "warn"})
# Keys of an answer that reports a failure with a 2xx (BL404's case, not this rule's).
_ERROR_KEYS = frozenset({"error", "errors", "err", "detail", "message", "msg", "success", "ok", "failed"})
_MAX_CALLER_DEPTH = 4  # module functions followed from a handler's function back to an endpoint
# Methods that only process text or read and parse a body already received (``header.split(" ")``,
# ``await response.json()``): a ``try`` of these and parsers fails on the text, not on I/O.
_TEXT_METHODS = frozenset(
    {"split", "rsplit", "strip", "partition", "rpartition", "decode", "encode", "lower", "upper", "replace", "json"}
)
# First words of a function that decides whether the caller is who it claims (``_authenticate_fastapi_request``,
# ``verify_token``): its None (or False) denies the request, so a failure answered with it fails closed.
_AUTH_WORDS = frozenset({"authenticate", "authorize", "auth", "verify", "login", "identify"})
# A comment that is a tool's directive or a note of work left, not an explanation of the handler.
_NOT_PROSE = re.compile(
    r"(?i)^\s*(backlint|nosemgrep|pylint|noqa|type:|pragma|nosec|fmt:|mypy|pyright|isort|ruff|todo|fixme|xxx|hack|bug)\b"
)
_WORD = re.compile(r"[A-Za-z]{2,}")
_MIN_WORDS = 3  # "ignore errors" names no reason; "the cache may not exist yet" does
# Words of a docstring sentence about what the function answers when it fails.
_FAILURE_WORDS = frozenset({"fail", "fails", "failure", "failed", "error", "errors", "exception", "invalid"})
_STATUS_KEYWORDS = frozenset({"code", "status", "status_code"})
_CONTEXT_PROCESSORS = "context_processors"  # Django's module of template context processors (by convention)


def method_name(call: cst.Call) -> str:
    func = call.func
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return func.value if isinstance(func, cst.Name) else ""


def is_boolean(value: cst.BaseExpression) -> bool:
    """``True``, ``False``, a comparison or a negation: what a predicate returns."""
    if isinstance(value, cst.Name):
        return value.value in ("True", "False")
    return isinstance(value, cst.Comparison) or (
        isinstance(value, cst.UnaryOperation) and isinstance(value.operator, cst.Not)
    )


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


def short_code(node: cst.CSTNode) -> str:
    text = " ".join(_code(node).split())
    return text if len(text) <= 60 else text[:59] + "…"


class RequestPaths:
    """Broad ``except`` clauses that answer silently, and whether their function is on a request path of
    the module: an endpoint, or a module function an endpoint calls (through others of the module)."""

    def __init__(self, context: FileContext) -> None:
        self.context = context
        self.answers = Answers(context.knowledge, context.qualified_name)
        self.logs = LogCalls(context)
        self.noted: list[tuple[cst.ExceptHandler, cst.CSTNode, Scope]] = []
        self._frames: dict[int, Scope] = {}

    def note(self, handler: cst.ExceptHandler) -> None:
        answer = self.silent_answer(handler)
        if answer is None:
            return
        frame = self.context.get(Scopes).current.frame
        if frame.kind == "function":
            self._frames[id(handler)] = frame
            self.noted.append((handler, answer, frame))

    def frame_node(self, handler: cst.ExceptHandler) -> cst.CSTNode | None:
        frame = self._frames.get(id(handler))
        return frame.node if frame is not None else None

    def on_request_paths(self) -> list[tuple[cst.ExceptHandler, cst.CSTNode, Scope]]:
        """(handler, answer, endpoint) of each noted handler whose function an endpoint reaches."""
        origins = self.context.get(Origins)
        out = []
        processors = self.context.module_name.rpartition(".")[2] == _CONTEXT_PROCESSORS
        for handler, answer, frame in self.noted:
            endpoint = self._endpoint_reaching(origins, frame, processors)
            if endpoint is not None:
                out.append((handler, answer, endpoint))
        return out

    def unreached(self) -> list[tuple[cst.ExceptHandler, cst.CSTNode, Scope, list[tuple[Scope, int]]]]:
        """(handler, answer, function, entries) of each noted handler that no endpoint of the module reaches:
        ``entries`` are the module-level functions that run it (its own, and the module's functions calling
        it, up to the depth followed), each with the number of calls between it and the handler's function."""
        origins = self.context.get(Origins)
        processors = self.context.module_name.rpartition(".")[2] == _CONTEXT_PROCESSORS
        out = []
        for handler, answer, frame in self.noted:
            if self._endpoint_reaching(origins, frame, processors) is not None:
                continue  # reported by the file rule
            entries: list[tuple[Scope, int]] = []
            stack, seen = [(frame, 0)], set()
            while stack:
                scope, depth = stack.pop()
                if id(scope) in seen:
                    continue
                seen.add(id(scope))
                if scope.kind == "function" and scope.parent is not None and scope.parent.kind == "module":
                    entries.append((scope, depth))
                if depth < _MAX_CALLER_DEPTH:
                    stack += [(site.scope.frame, depth + 1) for _, site in origins.callers(scope)]
            if entries:
                out.append((handler, answer, frame, entries))
        return out

    def routed(self, scope: Scope) -> bool:
        """``scope`` is an endpoint (not a Django context processor: see ``_endpoint_reaching``)."""
        processors = self.context.module_name.rpartition(".")[2] == _CONTEXT_PROCESSORS
        if processors and not (isinstance(scope.node, cst.FunctionDef) and scope.node.decorators):
            return False
        return self.context.get(Origins).is_endpoint(scope)

    def helper(self, scope: Scope) -> bool:
        """An endpoint only by its first parameter (``def _authenticate_request(request)``: no route decorator,
        no view class) that the module's own code calls: a helper handling the request, not a routed view."""
        node = scope.node
        if not isinstance(node, cst.FunctionDef) or node.decorators or scope.cls is not None:
            return False
        return bool(self.context.get(Origins).callers(scope))

    @staticmethod
    def _endpoint_reaching(origins: Origins, frame: Scope, processors: bool = False) -> Scope | None:
        """The endpoint that calls ``frame`` (through module functions). In a Django ``context_processors``
        module a function taking ``request`` is a context processor that every template runs, not a view:
        it degrades to defaults by design, so only a routed (decorated) endpoint counts there."""
        stack = [(frame, 0)]
        seen: set[int] = set()
        while stack:
            scope, depth = stack.pop()
            if id(scope) in seen:
                continue
            seen.add(id(scope))
            routed = not processors or (isinstance(scope.node, cst.FunctionDef) and bool(scope.node.decorators))
            if routed and origins.is_endpoint(scope):
                return scope
            if depth < _MAX_CALLER_DEPTH:
                stack += [(site.scope.frame, depth + 1) for _, site in origins.callers(scope)]
        return None

    def silent_answer(self, handler: cst.ExceptHandler) -> cst.CSTNode | None:
        """What the handler returns when it answers without recording or handing on the error: a page, a
        value, None or False (not a 5xx response: BL403; not a 2xx error body: BL404; not a 4xx, which says
        the handler judged the client's input at fault)."""
        name = handler.name.name.value if handler.name is not None and isinstance(handler.name.name, cst.Name) else None
        answer: cst.CSTNode | None = None
        for child in scope_descendants(handler.body):
            if isinstance(child, cst.Name) and child.value == name:
                return None  # handed on (``flash(str(e))``, ``return error_page(e)``)
            if isinstance(child, cst.Raise):
                return None  # re-raised, raised as another error, or an HTTP error raised
            if isinstance(child, cst.Call) and (
                self._records(child) or self.answers.http_error(child)[0] or _gives_status(child)
            ):
                return None  # recorded; or answered with a status of its own (``ws.close(code=4001)``, ``abort(404)``)
            if isinstance(child, cst.Return) and child.value is not None and answer is None:
                if self._answered_elsewhere(child.value) or self._flag_answer(child.value):
                    return None
                function = self.context.get(Scopes).current.frame.node
                if fails_closed(function, handler) or documented_failure(handler, function):
                    return None
                if _enriched(handler, child.value, self.context.ancestors):
                    return None
                answer = child
        return answer

    def _flag_answer(self, value: cst.BaseExpression) -> bool:
        """``return False`` (or ``{"sent": False}``) where the function answers ``True`` (``{"sent": True}``)
        when it succeeds: a yes/no answer the caller reads, not a failure that vanishes."""
        failed = _false_keys(value)
        frame = self.context.get(Scopes).current.frame
        if failed is None or frame.kind != "function":
            return False
        if failed == {""} and _predicate(frame.node):
            return True  # ``verify_private_key(...) -> bool``: False is its answer for an input that fails
        for node in scope_descendants(frame.node):
            if isinstance(node, cst.Return) and node.value is not None and _true_keys(node.value) & failed:
                return True
        return False

    def _records(self, call: cst.Call) -> bool:
        if self.logs.is_log_call(call) or self.logs.is_output_call(call):
            return True
        name = method_name(call) or (self.context.qualified_name(call.func) or "").rpartition(".")[2]
        return bool(set(name_tokens(name)) & _RECORDING_WORDS)

    def _answered_elsewhere(self, value: cst.BaseExpression) -> bool:
        """A 5xx (or unknown-status) response is BL403's; a 2xx body saying it failed is BL404's."""
        kind, status = self.answers.returned(value)
        is_response = isinstance(value, cst.Call) and self.answers.response_row(value.func) is not None
        if isinstance(value, cst.Tuple) and 2 <= len(value.elements) <= 3:
            is_response = literal_status(value.elements[1].value) is not None
        if is_response and (status is None or status >= 500) and kind != OK:
            return True
        if status is not None and 400 <= status < 500:
            return True
        if kind == OK:
            body = value.elements[0].value if isinstance(value, cst.Tuple) and value.elements else value
            keys = [
                e.key.value.strip("'\"")
                for e in (body.elements if isinstance(body, cst.Dict) else ())
                if isinstance(e, cst.DictElement) and isinstance(e.key, cst.SimpleString)
            ]
            if isinstance(body, cst.Call):
                keys += [a.keyword.value for a in body.args if a.keyword is not None]
            return any(set(name_tokens(k)) & _ERROR_KEYS for k in keys)
        return False

    def parses_input(self, body: cst.BaseSuite) -> bool:
        """The ``try`` only reads and parses values (``input-parsers`` calls, or no call at all), with no
        ``await`` or ``with``: what fails there is the input, not I/O."""
        knowledge = self.context.knowledge
        calls = {r["name"] for r in knowledge.rows("input-parsers") if r["form"] == "call"}
        calls |= {r["name"] for r in knowledge.rows("jwt-decoders") if r["form"] == "decode"}
        methods = {r["name"] for r in knowledge.rows("input-parsers") if r["form"] == "method"} | _TEXT_METHODS
        for node in scope_descendants(body):
            if isinstance(node, cst.With):
                return False
            if isinstance(node, cst.Await) and not (
                isinstance(node.expression, cst.Call) and method_name(node.expression) in methods
            ):
                return False  # an awaited round trip (an awaited body parse, ``await r.json()``, is parsing)
            if not isinstance(node, cst.Call):
                continue
            if self.context.qualified_name(node.func) in calls or is_class_name(node.func):
                continue  # a parser, a token decoder, or a value object checking its arguments
            if name_tokens(method_name(node))[:1] in (("parse",), ("from",)):
                continue  # a parse (``parse_id(text)``), a conversion (``GlobalID.from_id(text)``, ``from_global_id``)
            if isinstance(node.func, cst.Attribute) and node.func.attr.value in methods:
                continue
            return False
        return True


def documented_failure(handler: cst.ExceptHandler, function: cst.CSTNode | None) -> bool:
    """The handler's choice is documented where it is made: a comment in its body that says why (``# Optional
    planner maintenance must not prevent queued captures.``, ``pass  # malloc_trim not available on all
    systems``; not a linter directive or a TODO), or the function's docstring that names the failure and the
    very answer the handler returns (``Returns {} on any failure``; ``In case any error occurs, return
    "<error when censoring connect string>"``). The comment on the ``except`` line itself names what is
    caught (``except Exception:  # connection / integrity error``), not why it is dropped."""
    if _explains(handler):
        return True
    if not isinstance(function, cst.FunctionDef):
        return False
    docstring = function.get_docstring()
    if not docstring or not set(name_tokens(docstring)) & _FAILURE_WORDS:
        return False
    answers = [n.value for n in scope_descendants(handler.body) if isinstance(n, cst.Return) and n.value is not None]
    if not answers:
        return False
    for value in answers:
        if isinstance(value, cst.SimpleString):
            text = value.raw_value
        elif isinstance(value, (cst.Dict, cst.List, cst.Tuple, cst.Name, cst.Integer)):
            text = " ".join(_code(value).split())
        else:
            return False
        if len(text) < 2 or text not in " ".join(docstring.split()):
            return False
    return True


def _explains(handler: cst.ExceptHandler) -> bool:
    lines = _code(handler.body).split("\n")[1:]  # the first line ends the ``except`` header
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(textwrap.dedent("\n".join(lines))).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return False
    for token in tokens:
        if token.type != tokenize.COMMENT:
            continue
        text = token.string.lstrip("#")
        if not _NOT_PROSE.match(text) and len(_WORD.findall(text)) >= _MIN_WORDS:
            return True
    return False


def fails_closed(function: cst.CSTNode | None, handler: cst.ExceptHandler) -> bool:
    """The handler answers ``None`` (or ``False``) in a function named as an authentication check
    (``_authenticate_internal_gateway_token``, ``verify_delegation``) that gives the same answer elsewhere for
    a caller it does not recognise (``if not credentials: return None``), or is annotated to (``-> User |
    None``): the failure denies the request as a wrong credential does, which is how an authentication
    check must fail (closed); its callers answer 401 or try the next scheme."""
    if not isinstance(function, cst.FunctionDef) or not set(name_tokens(function.name.value)) & _AUTH_WORDS:
        return False
    answers = [n for n in scope_descendants(handler.body) if isinstance(n, cst.Return)]
    if not answers or not all(_denial(a.value) for a in answers):
        return False
    inside = {id(n) for n in answers}
    elsewhere = [n for n in scope_descendants(function.body) if isinstance(n, cst.Return) and id(n) not in inside]
    if any(_denial(n.value) for n in elsewhere):
        return True
    returns = function.returns.annotation if function.returns is not None else None
    return returns is not None and _optional(returns)


def _denial(value: cst.BaseExpression | None) -> bool:
    return value is None or (isinstance(value, cst.Name) and value.value in ("None", "False"))


def _optional(annotation: cst.BaseExpression) -> bool:
    """``X | None``, ``Optional[X]``, ``"X | None"``."""
    if isinstance(annotation, cst.SimpleString):
        text = annotation.raw_value
        return text.startswith("Optional[") or "None" in text.replace(" ", "").split("|")
    if isinstance(annotation, cst.BinaryOperation) and isinstance(annotation.operator, cst.BitOr):
        return _optional(annotation.left) or _optional(annotation.right)
    if isinstance(annotation, cst.Subscript):
        head = annotation.value
        return isinstance(head, (cst.Name, cst.Attribute)) and _code(head).rpartition(".")[2] == "Optional"
    return isinstance(annotation, cst.Name) and annotation.value == "None"


def _enriched(handler: cst.ExceptHandler, value: cst.BaseExpression, ancestors: list[cst.CSTNode]) -> bool:
    """``return {**userinfo, **id_token_claims}`` in the ``try``, ``return id_token_claims`` in the ``except``: the
    answer the function already held, which an optional call would have completed (a documented fallback)."""
    if not isinstance(value, cst.Name):
        return False
    try_node = next(
        (a for a in reversed(ancestors) if isinstance(a, (cst.Try, cst.TryStar)) and handler in a.handlers), None
    )
    if try_node is None:
        return False
    return any(
        isinstance(node, cst.Return)
        and node.value is not None
        and not (isinstance(node.value, cst.Name))
        and any(isinstance(n, cst.Name) and n.value == value.value for n in scope_descendants(node.value))
        for node in scope_descendants(try_node.body)
    )


def _predicate(function: cst.CSTNode) -> bool:
    """A function annotated ``-> bool``, or whose every other answer is a comparison or a negation
    (``return key is not None``): a yes/no check whose ``False`` its callers read."""
    if not isinstance(function, cst.FunctionDef):
        return False
    returns = function.returns.annotation if function.returns is not None else None
    if isinstance(returns, cst.Name):
        return returns.value == "bool"
    answers = [n.value for n in scope_descendants(function.body) if isinstance(n, cst.Return) and n.value is not None]
    return bool(answers) and all(is_boolean(a) for a in answers)


def _gives_status(call: cst.Call) -> bool:
    """A call given a literal status or close code (``ws.close(code=4001)``, ``Response(status=409)``)."""
    return any(
        a.keyword is not None and a.keyword.value in _STATUS_KEYWORDS and isinstance(a.value, cst.Integer)
        for a in call.args
    )


def _flags(value: cst.BaseExpression, flag: str) -> set[str] | None:
    """The keys set to ``flag`` (``True``/``False``) in a returned value: "" for the value itself."""
    if isinstance(value, cst.Name):
        return {""} if value.value == flag else None
    items: list[tuple[str, cst.BaseExpression]] = []
    if isinstance(value, cst.Dict):
        items = [
            (e.key.value.strip("'\""), e.value)
            for e in value.elements
            if isinstance(e, cst.DictElement) and isinstance(e.key, cst.SimpleString)
        ]
    elif isinstance(value, cst.Call):
        items = [(a.keyword.value, a.value) for a in value.args if a.keyword is not None]
    found = {k for k, v in items if isinstance(v, cst.Name) and v.value == flag}
    return found or None


def _false_keys(value: cst.BaseExpression) -> set[str] | None:
    return _flags(value, "False")


def _true_keys(value: cst.BaseExpression) -> set[str]:
    return _flags(value, "True") or set()
