"""Where can a value come from? Outside input, a parameter, an import, or something not followed.

An ``Origin`` is what an analysis folding a value (backlint/analysis/sql/values.py) attaches to each
part it cannot prove constant: the outside input it reads (request data, an endpoint's parameter;
in scripts, ``sys.argv``, ``input()``, stdin, parsed command-line arguments), the parameters whose
arguments decide (``params``: resolved at the call sites), the imported names it stands for
(``imports``: constant or not, their modules decide), and ``unknown`` for results not followed (a
call's return value, an object's attribute).

``Origins`` is the per-file part: which functions are endpoints (route decorators and class-based
views from the ``framework-routes``/``framework-view-classes`` tables, Django-style views taking
``request``), what reads request data (the ``password-sources`` table: ``request.args``,
``request.get_json()``, ``form.cleaned_data``…), and the calls of the module, by the function they
call (``callers``), for call-site summaries.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import libcst as cst

from backlint.analysis.scopes import FUNCTION, Binding, Scope, Scopes, Site
from backlint.core.catalog import Knowledge
from backlint.core.imports import dotted_name
from backlint.core.rule import Analysis, FileContext

_REQUEST_NAMES = frozenset({"request", "req"})
_REQUEST_OBJECTS = frozenset(
    {"flask.request", "quart.request", "bottle.request", "sanic.request", "pyramid.threadlocal.get_current_request"}
)
_REQUEST_CLASSES = ("Request", "HttpRequest", "WSGIRequest", "ASGIRequest", "HTTPConnection", "WebSocket")
_DEPENDENCY_MARKERS = ("Depends", "Security")
_SCRIPT_INPUTS = {"sys.argv": "command-line arguments", "input": "input()", "sys.stdin": "standard input"}


@dataclasses.dataclass(frozen=True)
class Origin:
    """Where a value not proven constant may come from (see the module docstring)."""

    inputs: frozenset[str] = frozenset()
    params: frozenset[Binding] = frozenset()
    imports: frozenset[str] = frozenset()
    unknown: bool = False

    def __or__(self, other: Origin) -> Origin:
        if other is NOTHING or other is self:
            return self
        if self is NOTHING:
            return other
        return Origin(
            self.inputs | other.inputs,
            self.params | other.params,
            self.imports | other.imports,
            self.unknown or other.unknown,
        )

    @property
    def outside(self) -> bool:
        """Reads outside input."""
        return bool(self.inputs)


NOTHING = Origin()
UNKNOWN = Origin(unknown=True)


def union(origins: Iterable[Origin]) -> Origin:
    out = NOTHING
    for origin in origins:
        out = out | origin
    return out


class _Tables:
    def __init__(self, knowledge: Knowledge) -> None:
        self.request_attributes: set[str] = set()
        self.request_methods: set[str] = set()
        self.any_attributes: set[str] = set()
        for row in knowledge.rows("password-sources"):
            expr = row["expr"]
            if expr.startswith("."):
                self.any_attributes.add(expr[1:])
            elif row.get("call"):
                self.request_methods.add(expr)
            else:
                self.request_attributes.add(expr)
        self.route_decorators = frozenset(
            r["name"] for r in knowledge.rows("framework-routes") if r["form"] == "decorator"
        )
        self.view_classes: dict[str, frozenset[str]] = {
            r["name"]: frozenset(r["handlers"]) for r in knowledge.rows("framework-view-classes")
        }


def _tables(knowledge: Knowledge) -> _Tables:
    return knowledge.derived(_Tables)


class Origins(Analysis):
    """Per-file answers about origins; walks after ``Scopes`` to record the module's calls."""

    REQUIRES = (Scopes,)

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.scopes = context.get(Scopes)
        self.tables = _tables(context.knowledge)
        self.calls: list[tuple[cst.Call, Site]] = []
        self._endpoints: dict[Scope, bool] = {}
        self._callers: dict[Scope, list[tuple[cst.Call, Site]]] | None = None

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append((node, self.scopes.site_at(node)))

    # -- endpoints -------------------------------------------------------------------------

    def is_endpoint(self, scope: Scope) -> bool:
        """``scope`` is a function served as an endpoint (or a Django-style view taking ``request``)."""
        scope = scope.frame
        if scope.kind != FUNCTION:
            return False
        found = self._endpoints.get(scope)
        if found is None:
            found = self._endpoints[scope] = self._endpoint(scope)
        return found

    def _endpoint(self, scope: Scope) -> bool:
        node = scope.node
        assert isinstance(node, cst.FunctionDef)
        for decorator in node.decorators:
            target = decorator.decorator
            func = target.func if isinstance(target, cst.Call) else target
            if isinstance(func, cst.Attribute) and func.attr.value in self.tables.route_decorators:
                return True
            if (dotted_name(func) or "").rpartition(".")[2] in ("api_view", "view_config", "route"):
                return True
        if scope.cls is not None and scope.name in self._view_handlers(scope):
            return True
        positional = [*node.params.posonly_params, *node.params.params]
        if scope.self_name is not None:
            positional = positional[1:]
        return bool(positional) and positional[0].name.value in _REQUEST_NAMES

    def _view_handlers(self, scope: Scope) -> frozenset[str]:
        assert scope.cls is not None
        handlers: set[str] = set()
        for cls in self.scopes.class_chain(scope.cls):
            for base in cls.bases:
                handlers |= self.tables.view_classes.get(self.context.qualified_name(base) or "", frozenset())
        return frozenset(handlers)

    # -- what reads outside input ----------------------------------------------------------

    def param(self, binding: Binding) -> Origin:
        """A parameter: decided by its callers; an endpoint's own parameters are request data."""
        name = binding.target.value if isinstance(binding.target, cst.Name) else ""
        scope = binding.scope
        if scope.kind != FUNCTION:
            return UNKNOWN  # a lambda's parameter: called from where it is passed
        if self.is_endpoint(scope) and not self._not_request_data(binding, name):
            return Origin(inputs=frozenset({f"the endpoint parameter `{name}`"}), params=frozenset({binding}))
        return Origin(params=frozenset({binding}))

    def _not_request_data(self, binding: Binding, name: str) -> bool:
        """The request object itself, ``self``, or a dependency (``Depends(...)``)."""
        if name in _REQUEST_NAMES or name == binding.scope.self_name or binding.kind != "param":
            return True
        for marker in (binding.default, binding.annotation):
            if marker is not None and self._mentions_dependency(marker):
                return True
        annotation = binding.annotation
        qualified = (self.context.qualified_name(annotation) or "") if annotation is not None else ""
        return qualified.rpartition(".")[2] in _REQUEST_CLASSES

    def _mentions_dependency(self, node: cst.BaseExpression) -> bool:
        stack: list[cst.CSTNode] = [node]
        while stack:
            current = stack.pop()
            if isinstance(current, cst.Call):
                if (dotted_name(current.func) or "").rpartition(".")[2] in _DEPENDENCY_MARKERS:
                    return True
            elif isinstance(current, cst.Subscript):
                stack.append(current.value)
                stack.extend(e.slice.value for e in current.slice if isinstance(e.slice, cst.Index))
        return False

    def reads(self, expr: cst.BaseExpression, site: Site) -> str | None:
        """What outside input ``expr`` reads (``request.args``, ``sys.argv``…), if it visibly does."""
        qualified = self.context.qualified_name(expr) or ""
        for prefix, what in _SCRIPT_INPUTS.items():
            if qualified == prefix or qualified.startswith(prefix + "."):
                return what
        node: cst.CSTNode = expr
        while True:
            if isinstance(node, cst.Call):
                if isinstance(node.func, cst.Name) and node.func.value == "input" and self._unbound("input", site):
                    return "input()"
                func = node.func
                if isinstance(func, cst.Attribute):
                    if func.attr.value in self.tables.request_methods and self._is_request(func.value, site):
                        return f"request.{func.attr.value}()"
                    if func.attr.value == "parse_args":
                        return "command-line arguments"
                node = func.value if isinstance(func, cst.Attribute) else func
            elif isinstance(node, cst.Subscript):
                node = node.value
            elif isinstance(node, cst.Attribute):
                attr = node.attr.value
                if attr in self.tables.any_attributes:
                    return f".{attr}"
                if attr in self.tables.request_attributes and self._is_request(node.value, site):
                    return f"request.{attr}"
                node = node.value
            elif isinstance(node, cst.Await):
                node = node.expression
            else:
                return None

    def _unbound(self, name: str, site: Site) -> bool:
        return self.scopes.lookup(name, site) is None and name not in self.context.imports.aliases

    def _is_request(self, node: cst.BaseExpression, site: Site) -> bool:
        """A request object: ``flask.request``, ``self.request``, a ``request`` parameter or one
        annotated with a request class."""
        qualified = self.context.qualified_name(node) or ""
        if qualified in _REQUEST_OBJECTS:
            return True
        if isinstance(node, cst.Attribute):
            return node.attr.value == "request" and isinstance(node.value, cst.Name)
        if not isinstance(node, cst.Name):
            return False
        found = self.scopes.lookup(node.value, site)
        if found is None:
            return False
        for binding in found[0]:
            if binding.kind != "param":
                continue
            if node.value in _REQUEST_NAMES:
                return True
            annotation = binding.annotation
            if annotation is not None:
                name = (self.context.qualified_name(annotation) or "").rpartition(".")[2]
                if name in _REQUEST_CLASSES:
                    return True
        return False

    # -- call sites ------------------------------------------------------------------------

    def callers(self, function: Scope) -> list[tuple[cst.Call, Site]]:
        """The calls of this module to ``function`` (a module function, or a method via self/cls)."""
        if self._callers is None:
            self._callers = {}
            for call, site in self.calls:
                target = self.scopes.function(call.func, site)
                if target is not None:
                    self._callers.setdefault(target, []).append((call, site))
        return self._callers.get(function, [])

    @staticmethod
    def argument(call: cst.Call, binding: Binding) -> cst.BaseExpression | None:
        """What ``call`` passes for the parameter ``binding`` (its default when nothing), or None
        when it cannot be told (``*args``, ``**kwargs``)."""
        scope = binding.scope
        params = scope.params
        if scope.self_name is not None and isinstance(call.func, cst.Attribute):
            params = params[1:]
        name = binding.target.value if isinstance(binding.target, cst.Name) else ""
        positional = []
        for arg in call.args:
            if arg.star:
                return None
            if arg.keyword is not None:
                if arg.keyword.value == name:
                    return arg.value
            else:
                positional.append(arg.value)
        for index, param in enumerate(params):
            if param is binding:
                if index < len(positional):
                    return positional[index]
                return binding.default
        return None
