"""Evidence the body walk collects from calls and names: whether a function only computes (no I/O),
authentication and rate-limit checks, HTTP-client calls and stores kept in app state, FastAPI
dependencies, and global limits set at module level."""

from __future__ import annotations

import functools
import re

import libcst as cst

from backlint.analysis.strings import name_tokens
from backlint.analysis.web.answers import argument
from backlint.analysis.web.bodies import BodyFacts, NetworkCall
from backlint.analysis.web.failures import FailureReader
from backlint.analysis.web.frames import BodyState, Frame
from backlint.analysis.web.syntax import ANNOTATED, DEPENDS, short
from backlint.core.imports import dotted_name

# Builtins and modules whose calls compute, and never reach a store or the network.
_PURE_BUILTINS = frozenset(
    {
        "len", "str", "int", "float", "bool", "list", "dict", "tuple", "set", "frozenset", "sorted", "reversed",
        "min", "max", "sum", "any", "all", "range", "enumerate", "zip", "map", "filter", "round", "abs",
        "isinstance", "issubclass", "getattr", "hasattr", "format", "repr", "iter", "next", "divmod", "print",
        "type", "id", "hash", "slice", "chr", "ord", "bytes",
    }
)  # fmt: skip
_PURE_MODULES = frozenset(
    {
        "datetime", "time", "math", "decimal", "json", "re", "uuid", "random", "itertools", "functools",
        "operator", "string", "enum", "typing", "dataclasses", "collections", "statistics", "textwrap",
        "html", "secrets", "hashlib", "base64", "fractions", "calendar", "zoneinfo",
    }
)  # fmt: skip
# By type(): isinstance() against a tuple of libcst classes runs ABCMeta's Python-level check for
# each (~0.4 µs apiece when it fails); these classes have no subclasses.
_LITERAL_RECEIVERS = frozenset({cst.SimpleString, cst.ConcatenatedString, cst.List, cst.Dict})
_REQUEST_NAMES = frozenset({"request", "req"})  # reading the request is not I/O
# Where apps keep their pools and clients: ``request.app["db"]``, ``request.app.state.pool``, ``app.state.redis``.
_APP_STATE = re.compile(r"^(request|req|self\.request)\.(app|state)\b|^app\.state\b")


class CallEvidence:
    """Reads what the calls and names of the function being walked say about it."""

    def __init__(self, state: BodyState, failures: FailureReader) -> None:
        self.state = state
        self.failures = failures
        self.context = state.context
        self.answers = state.answers
        self.tables = state.tables
        self.logs = state.logs

    def call(self, node: cst.Call, frame: Frame) -> None:
        """The call being visited, in the body of the function of ``frame``."""
        facts = frame.facts
        func = node.func
        ref = self.context.qualified_name(func) or ""
        tables = self.tables
        last = (
            func.attr.value if isinstance(func, cst.Attribute) else (func.value if isinstance(func, cst.Name) else "")
        )
        if id(node) not in frame.exempt and not self._pure_call(node, ref, frame):
            facts.impure = True
        if ref in tables.auth_calls:
            facts.auth.append(f"calls `{ref}`")
        elif last in tables.auth_call_names:
            facts.auth.append(f"calls `{last}()`")
        written = dotted_name(func) or last
        if any(t <= _stems(written) for t in tables.ratelimit_calls):
            facts.ratelimit.append(f"calls `{written}()`")
        if self.failures.call(node, frame):
            return
        web = self.state.web
        if ref in tables.network_calls or self._client_call(func, frame):
            facts.network.append(NetworkCall(web.locate(node), short(node.func), self.failures.request_guarded()))
        elif isinstance(func, cst.Attribute) and func.attr.value in tables.store_methods and _app_state(func.value):
            facts.state_io.append(NetworkCall(web.locate(node), f"{func.attr.value}", self.failures.request_guarded()))

    def module_call(self, node: cst.Call) -> None:
        """Module level: a limiter with default limits (``Limiter(app, default_limits=[...])``)."""
        ref = self.context.qualified_name(node.func) or ""
        keyword = self.tables.limiters.get(ref)
        if keyword and argument(node, None, keyword) is not None:
            self.state.extras.limiters.append(f"`{ref.rpartition('.')[2]}({keyword}=...)`")

    def awaited(self, node: cst.Await, frame: Frame) -> None:
        """An ``await``: I/O unless it reads the request (``await request.json()``)."""
        call = node.expression
        head = (dotted_name(call.func) or "").partition(".")[0] if isinstance(call, cst.Call) else ""
        if head not in _REQUEST_NAMES:
            frame.facts.impure = True

    def attribute(self, node: cst.Attribute, frame: Frame) -> None:
        if node.attr.value in self.tables.auth_attributes:
            frame.facts.auth.append(f"checks `.{node.attr.value}`")

    def string(self, node: cst.SimpleString, frame: Frame) -> None:
        value = node.evaluated_value
        if isinstance(value, str) and value.lower() in self.tables.auth_headers:
            frame.facts.auth.append(f"reads the `{value}` header")

    def name(self, node: cst.Name, frame: Frame) -> None:
        if node.value in self.tables.auth_attributes:
            frame.facts.auth.append(f"uses `{node.value}`")

    def parameter(self, param: cst.Param, facts: BodyFacts, decorated: bool) -> None:
        annotation = param.annotation.annotation if param.annotation is not None else None
        dependency = param.default if isinstance(param.default, cst.Call) else None
        if isinstance(annotation, cst.Subscript) and self.state.ref(annotation.value) in ANNOTATED:
            elements = [e.slice.value for e in annotation.slice if isinstance(e.slice, cst.Index)]
            annotation = elements[0] if elements else None
            for extra in elements[1:]:
                if isinstance(extra, cst.Call) and self.state.ref(extra.func) in DEPENDS:
                    dependency = extra
        if annotation is not None and decorated:
            ref = self.state.ref(annotation)
            if ref and "." in ref:
                facts.annotations.append(ref)
        if dependency is None or self.state.ref(dependency.func) not in DEPENDS:
            return
        provider = argument(dependency, 0, "dependency")
        if provider is None and annotation is not None:
            provider = annotation  # Depends() with the class in the annotation
        if isinstance(provider, cst.Call):
            ref = self.state.ref(provider.func)
            if ref:
                facts.dependency_calls.append(ref)
        elif provider is not None:
            ref = self.state.ref(provider)
            if ref:
                facts.depends.append(ref)

    def _client_call(self, func: cst.BaseExpression, frame: Frame) -> bool:
        if not isinstance(func, cst.Attribute):
            return False
        method = func.attr.value
        receiver = func.value
        if isinstance(receiver, cst.Name) and receiver.value in frame.clients:
            return True
        if isinstance(receiver, cst.Call):
            methods = self.tables.clients.get(self.context.qualified_name(receiver.func) or "")
            return methods is not None and method in methods
        return False

    def _pure_call(self, call: cst.Call, ref: str, frame: Frame) -> bool:
        """A call that only computes: builtins, pure stdlib, response helpers, logging, request accessors."""
        func = call.func
        if isinstance(func, cst.Name) and func.value in _PURE_BUILTINS and not self.state.is_local(func.value):
            return True
        if ref.partition(".")[0] in _PURE_MODULES or self.answers.response_row(func) is not None:
            return True
        if self.answers.http_error(call)[0] or self.logs.is_log_call(call):
            return True
        if isinstance(func, cst.Attribute):
            receiver = func.value
            head = (dotted_name(receiver) or "").partition(".")[0]
            if type(receiver) in _LITERAL_RECEIVERS:
                return True
            if head in _REQUEST_NAMES or head in frame.literal_locals:
                return True
        return False


def _app_state(receiver: cst.BaseExpression) -> bool:
    """A receiver kept in application state (the model cannot follow values stored there)."""
    while isinstance(receiver, cst.Subscript):
        receiver = receiver.value
    text = dotted_name(receiver)
    if text is not None:
        return bool(_APP_STATE.match(text))
    return isinstance(receiver, cst.Attribute) and _app_state_subscript(receiver)


def _app_state_subscript(node: cst.Attribute) -> bool:
    """``request.app["db"].pool``: an attribute of a value kept in app state."""
    inner: cst.BaseExpression = node
    while isinstance(inner, (cst.Attribute, cst.Subscript)):
        inner = inner.value
        if isinstance(inner, cst.Subscript) and bool(_APP_STATE.match(dotted_name(inner.value) or "")):
            return True
    return False


@functools.lru_cache(maxsize=1 << 14)  # called for every call expression: the same callees recur
def _stems(name: str) -> frozenset[str]:
    """Name tokens with their plain stems (``signin_rate_limiter.is_limited`` → … limit, limited, limiter)."""
    tokens = set(name_tokens(name))
    for token in list(tokens):
        for suffix in ("ing", "er", "ed", "s"):
            if token.endswith(suffix) and len(token) > len(suffix) + 3:
                tokens.add(token[: -len(suffix)])
    return frozenset(tokens)
