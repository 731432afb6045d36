"""The endpoint a frame interprets: its route, what its signature puts in the URL or the response
model, and what it returns to the client."""

from __future__ import annotations

import re
from collections.abc import Iterator

import libcst as cst

from backlint.analysis.passwords.facts import (
    PATH_PARAMETER,
    RETURNED_TO_CLIENT,
    ROUTE_PATH,
    URL_PARAMETER,
    InUrl,
    ResponseModelField,
    Returned,
)
from backlint.analysis.passwords.hashing import Hashing
from backlint.analysis.passwords.index import Interpreter
from backlint.analysis.passwords.sources import Sources
from backlint.analysis.passwords.values import DICT, PW, WEAK, Val, annotation_names, call_tail, params_of, string_value
from backlint.analysis.strings import PASSWORD
from backlint.core.imports import dotted_name

_FASTAPI_NOT_QUERY = frozenset({"Body", "Form", "Header", "Cookie", "Depends", "Security", "File", "Path"})
_RESPONSE_CALLS = frozenset({"jsonify", "JsonResponse", "JSONResponse", "Response"})
_SCALARS = frozenset({"str", "SecretStr", "bytes", "Optional", "Union", "None", "Annotated", "typing", "pydantic"})


class Endpoint:
    """Route detection and the endpoint's signature and responses, for one frame."""

    def __init__(self, frame: Interpreter, sources: Sources, hashing: Hashing) -> None:
        self.frame = frame
        self.sources = sources
        self.hashing = hashing
        self.k = frame.k
        self.lex = frame.lex
        self.route: str | None = None  # framework of an endpoint, "view" for a Django-style view
        self.route_call: cst.Call | None = None  # its route decorator

    def route_framework(self) -> str | None:
        """The framework of the route decorator on this function, if any."""
        assert self.frame.function is not None
        imports = self.frame.index.context.imports
        for decorator in self.frame.function.decorators:
            target = decorator.decorator
            call = target if isinstance(target, cst.Call) else None
            func = call.func if call is not None else target
            if not isinstance(func, cst.Attribute):
                continue
            receiver = dotted_name(func.value) or ""
            framework = self.k.router_classes.get(self.frame.index.instances.get(receiver, ""))
            names = self.k.route_decorators
            if framework is None:
                for candidate in ("fastapi", "flask", "django", "aiohttp", "starlette"):
                    module = "ninja" if candidate == "django" else candidate
                    if func.attr.value in names.get(candidate, ()) and imports.imports_module(module):
                        framework = candidate
                        break
            if framework is not None and (func.attr.value in names.get(framework, ()) or func.attr.value == "route"):
                self.route_call = call
                return framework
        params = params_of(self.frame.function)
        first = (
            params[1]
            if params and params[0].name.value == "self" and len(params) > 1
            else (params[0] if params else None)
        )
        if first is not None and first.name.value == "request":
            return "view"
        return None

    def check_route(self) -> None:
        """Passwords in the response model and in the URL (path template, parameters) of an endpoint's signature."""
        if self.route is None or self.frame.function is None:
            return
        call = self.route_call
        path = (
            string_value(call.args[0].value)
            if call is not None and call.args and call.args[0].keyword is None
            else None
        )
        if self.route in ("fastapi", "django"):
            self._check_response_model(call)
            for param in params_of(self.frame.function):
                self._check_query_param(param, path or "")
        if path is not None and call is not None and self.route not in ("fastapi", "django"):
            # FastAPI/Ninja path parameters are reported on the parameter itself.
            for match in re.finditer(r"[<{](?:\w+:)?(\w+)(?::\w+)?[>}]", path):
                if self.lex.sensitivity(match.group(1)) == PASSWORD:
                    self.frame.emit(InUrl(call.args[0].value, ROUTE_PATH, match.group(1)))

    def _check_response_model(self, call: cst.Call | None) -> None:
        assert self.frame.function is not None
        model: cst.BaseExpression | None = None
        anchor: cst.CSTNode | None = None
        if call is not None:
            for arg in call.args:
                if arg.keyword is not None and arg.keyword.value == "response_model":
                    model, anchor = arg.value, arg
        if model is None and self.frame.function.returns is not None:
            model = self.frame.function.returns.annotation
            anchor = self.frame.function.returns
        if model is None or anchor is None:
            return
        for name in annotation_names(model):
            info = self.frame.index.classes.get(name)
            if info is None or info.kind != "pydantic":
                continue
            for field in self.frame.index.has_password_field(info, hashes=True):
                hashed = self.lex.sensitivity(field) != PASSWORD
                self.frame.emit(ResponseModelField(anchor, name, field, hashed))

    def _check_query_param(self, param: cst.Param, path: str) -> None:
        name = param.name.value
        if self.lex.sensitivity(name) != PASSWORD:
            return
        default = param.default
        annotation = param.annotation.annotation if param.annotation is not None else None
        marker = fastapi_marker(default) or (annotated_marker(annotation) if annotation is not None else None)
        if marker is not None and marker != "Query":
            if marker == "Path":
                self.frame.emit(InUrl(param, PATH_PARAMETER, name))
            return
        if marker is None and annotation is not None and any(n not in _SCALARS for n in annotation_names(annotation)):
            return  # a body model or a dependency class
        where = "path" if "{" + name + "}" in path else "query"
        self.frame.emit(InUrl(param, URL_PARAMETER, name, where))

    def check_returned(self, expr: cst.BaseExpression, value: Val) -> None:
        """An endpoint returning a password, or a digest of secret data."""
        if self.route is None:
            return
        for leaked in self._response_leaks(expr, value):
            self.frame.emit(Returned(leaked))
        for name, digest in self._returned_digests(expr, value, "", 0):
            self.hashing.digest_used(digest, RETURNED_TO_CLIENT, "the response", name)

    def _returned_digests(
        self, expr: cst.BaseExpression, value: Val, name: str, depth: int
    ) -> Iterator[tuple[str, Val]]:
        """Digests in a response, with the key they are under: the value itself, a dict's values, a
        tuple's items, a response call's arguments."""
        if depth > 4:
            return
        if value.kind == WEAK:
            yield name, value
        elif isinstance(expr, cst.Dict):
            for element in expr.elements:
                if isinstance(element, cst.DictElement):
                    key = string_value(element.key) or ""
                    yield from self._returned_digests(element.value, self.frame.eval(element.value), key, depth + 1)
        elif isinstance(expr, (cst.Tuple, cst.List)):
            for item in expr.elements:
                yield from self._returned_digests(item.value, self.frame.eval(item.value), name, depth + 1)
        elif isinstance(expr, cst.Call) and call_tail(expr) in _RESPONSE_CALLS:
            for arg in expr.args:
                yield from self._returned_digests(arg.value, self.frame.eval(arg.value), name, depth + 1)

    def _response_leaks(self, expr: cst.BaseExpression, value: Val) -> Iterator[cst.CSTNode]:
        if isinstance(expr, cst.Call) and call_tail(expr) in _RESPONSE_CALLS:
            for arg in expr.args:
                yield from self._response_leaks(arg.value, self.frame.eval(arg.value))
            return
        if isinstance(expr, cst.Dict):
            for element in expr.elements:
                if isinstance(element, cst.DictElement):
                    key = string_value(element.key)
                    if (
                        key is not None
                        and self.lex.sensitivity(key) == PASSWORD
                        and self.frame.eval(element.value).kind == PW
                    ):
                        yield element
            return
        if value.kind == DICT and value.node is not None:
            yield expr
            return
        dumped = self.sources.dumped_model(expr)
        if dumped is not None and dumped[1]:
            yield expr


def fastapi_marker(default: cst.BaseExpression | None) -> str | None:
    if isinstance(default, cst.Call):
        tail = call_tail(default)
        if tail in _FASTAPI_NOT_QUERY or tail == "Query":
            return tail
    return None


def annotated_marker(annotation: cst.BaseExpression) -> str | None:
    if isinstance(annotation, cst.Subscript) and (dotted_name(annotation.value) or "").endswith("Annotated"):
        for element in annotation.slice[1:]:
            if isinstance(element.slice, cst.Index):
                marker = fastapi_marker(element.slice.value)
                if marker is not None:
                    return marker
    return None
