"""The routing graph: apps, routers, route tables and URLconfs as nodes, what they include and mount,
the endpoints registered on them (decorators, registration calls, route lists, class views), and
the startup hooks and exception handlers registered on each — read from the framework tables."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

from backlint.analysis.web.effects import Effects
from backlint.analysis.web.facts import (
    CLASSES,
    FUNCTIONS,
    OBJECT_CALLS,
    OBJECTS,
    AssignFact,
    ClassFacts,
    FunctionFacts,
    ObjectCallFact,
    ObjectFact,
    Value,
    value_items,
    value_str,
)
from backlint.analysis.web.modules import Module, ModuleIndex, Site
from backlint.core.catalog import Knowledge

HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


@dataclasses.dataclass
class Node:
    """A routing node: an app, router, route table, URLconf or route list."""

    key: tuple[str, str]  # (module path, local ref)
    module: Module
    role: str  # app | router | route-table | url-router | resource-api | routes
    framework: str
    prefix: str = ""
    fact: ObjectFact | None = None
    children: list[tuple[str | None, Node]] = dataclasses.field(default_factory=list)  # (prefix, node)
    prefix_overrides: dict[int, str] = dataclasses.field(default_factory=dict)  # child index → replacing prefix
    mounted: bool = False

    @property
    def site(self) -> Site | None:
        return Site(self.module.path, self.fact.span) if self.fact is not None else None


@dataclasses.dataclass
class Endpoint:
    """A route: its handler function(s), HTTP methods and path (best effort)."""

    framework: str
    owner: Node | None
    path: str | None
    methods: tuple[str, ...]
    functions: list[tuple[Module, FunctionFacts]]  # the handler, or a class view's handler methods
    cls: str | None
    site: Site | None  # the handler definition, else the registration

    @property
    def name(self) -> str:
        if self.cls:
            return self.cls.rpartition(".")[2]
        return self.functions[0][1].name if self.functions else "?"


@dataclasses.dataclass
class Hook:
    """A startup context: a function run at startup (up to its first ``yield`` for lifespans)."""

    module: Module
    function: FunctionFacts
    before_yield: bool
    label: str
    note: str | None = None  # a caveat to report alongside (Django AppConfig.ready)
    result_used: bool = False  # the framework reads its return value (Django system checks)


@dataclasses.dataclass
class Handler:
    """An app-level exception handler or middleware that turns errors into responses."""

    exceptions: list[str]  # qualified names or status codes as text; empty for a middleware
    function: tuple[Module, FunctionFacts] | None
    site: Site | None
    kind: str  # "handler" | "middleware"


class Routing:
    """Builds the routing graph of the project's modules: nodes, endpoints, pending hooks and handlers."""

    def __init__(self, index: ModuleIndex, effects: Effects, knowledge: Knowledge) -> None:
        self.index = index
        self.effects = effects
        self.knowledge = knowledge
        self.modules = index.modules
        self._routes = knowledge.rows("framework-routes")
        self._hooks = knowledge.rows("framework-hooks")
        self._objects = {r["name"]: r for r in knowledge.rows("framework-objects")}
        self._views = {r["name"]: r for r in knowledge.rows("framework-view-classes")}
        self._settings = {r["name"]: r["role"] for r in knowledge.rows("framework-settings")}
        self.nodes: dict[tuple[str, str], Node] = {}
        self.aliases: dict[tuple[str, str], Node] = {}  # a function's parameter that receives an app/router
        self.endpoints: list[Endpoint] = []
        self.hooks: list[tuple[Node | None, Hook | str]] = []  # startup hooks (a str: not a project function)
        self.handlers: list[tuple[Node, Handler]] = []
        self._build()

    def node(self, ref: str, near: Module) -> Node | None:
        """The routing node ``ref`` names: an object, or a route list; ``app.router`` → ``app``."""
        for candidate in (ref, ref.rpartition(".")[0] if ref.endswith((".router", ".urls")) else None):
            if not candidate:
                continue
            found = self.index.deref(candidate, near, "objects") or self.index.deref(candidate, near, "instances")
            if found is not None:
                module, obj = found
                return self.nodes.get((module.path, module.local(obj.ref)))
            split = self.index.split(candidate, near)
            if split is not None and (split[0].path, split[1]) in self.nodes:
                return self.nodes[(split[0].path, split[1])]
            if split is not None and (split[0].path, split[1]) in self.aliases:
                return self.aliases[(split[0].path, split[1])]
            deref = self.index.deref(candidate, near, "assigns")
            if deref is not None:
                module, assigns = deref
                return self.nodes.get((module.path, module.local(assigns[0].ref)))
            built = self.index.deref(candidate, near, "bindings")  # ``api_v1 = create_api_v1()``: the factory's app
            factory = self.index.function(built[1][1], built[0]) if built and built[1][0] == "call" else None
            if factory is not None:
                owner, function = factory
                keys = [(owner.path, owner.local(returned)) for returned in function.returned_refs]
                if any(key in self.nodes for key in keys):
                    return next(self.nodes[key] for key in keys if key in self.nodes)
        return None

    def _build(self) -> None:
        constructed: dict[str, list[ObjectFact]] = {}  # by module path
        for module in self.modules:
            objects = constructed[module.path] = list(module.facts.get(OBJECTS))
            for obj in module.instances.values():
                ctor = self._framework_class(obj.ctor, module)
                if ctor is not None:  # an instance of the project's own router or app class
                    objects.append(dataclasses.replace(obj, ctor=ctor))
            for obj in objects:
                self._add_node(module, obj)
        for module in self.modules:
            for name, assigns in module.assigns.items():
                if self._settings.get(name) in (None, "urlpatterns"):
                    framework = self._list_framework(assigns) or "django"
                    self.nodes[(module.path, name)] = Node((module.path, name), module, "routes", framework)
        self._alias_parameters()
        for module in self.modules:
            for name, assigns in module.assigns.items():
                routes = self.nodes.get((module.path, name))
                if routes is not None:
                    for assign in assigns:
                        self._route_list(value_items(assign.value), routes, module, Site(module.path, assign.span))
            for obj in constructed[module.path]:
                self._constructor(self.nodes[(module.path, module.local(obj.ref))], obj)
            for call in module.facts.get(OBJECT_CALLS):
                if call.attr == "()":
                    self._decorator(("call", call.owner, [], {}), module, function=self._first_function(call, module))
                    continue
                owner = self.node(call.owner, module)
                if owner is not None:
                    self._object_call(owner, call, module)
            for function in module.facts.get(FUNCTIONS):
                for decorator in function.decorators:
                    self._decorator(decorator, module, function=function)
            for cls in module.facts.get(CLASSES):
                for decorator in cls.decorators:
                    self._decorator(decorator, module, cls=cls)

    def _add_node(self, module: Module, obj: ObjectFact) -> None:
        row = self._objects[obj.ctor]
        node = Node((module.path, module.local(obj.ref)), module, row["role"], row["framework"], fact=obj)
        prefix_kw = row.get("prefix-kw")
        if prefix_kw:
            node.prefix = value_str(obj.kwargs.get(prefix_kw)) or ""
        node.mounted = not obj.bound
        self.nodes[node.key] = node

    def _framework_class(self, ref: str, near: Module) -> str | None:
        """The app or router class (table ``framework-objects``) project class ``ref`` derives from, through
        its project bases in any module (``class APIRouter(fastapi.APIRouter)`` in ``routers/base.py``)."""
        for base in self.index.class_bases(ref, near):
            if base in self._objects:
                return base
        return None

    def _alias_parameters(self) -> None:
        """``register_routes(app)``: inside ``register_routes`` its parameter is the app (to a fixpoint)."""
        names = {key[1].rpartition(":")[2].rpartition(".")[2] for key in self.nodes}
        calls = [
            (module, call)
            for module in self.modules
            for function in module.facts.get(FUNCTIONS)
            for call in function.calls
            if any(
                r and r.rpartition(":")[2].rpartition(".")[2] in names
                for r in (*(call.args or ()), *(call.kwargs or {}).values())
            )
        ]
        for _ in range(4):
            changed = False
            for module, call in calls:
                target = self.index.function(call.target, module)
                if target is None:
                    continue
                callee_module, callee = target
                offset = 1 if call.via_attribute and callee.cls and callee.params[:1] in (["self"], ["cls"]) else 0
                passed = [
                    (callee.params[i + offset], r)
                    for i, r in enumerate(call.args or ())
                    if r and i + offset < len(callee.params)
                ]
                passed += [(k, r) for k, r in (call.kwargs or {}).items() if k in callee.params]
                for param, ref in passed:
                    node = self.node(ref, module)
                    key = (callee_module.path, f"{callee_module.local(callee.qualname)}:{param}")
                    if node is not None and key not in self.aliases:
                        self.aliases[key] = node
                        changed = True
            if not changed:
                return

    def _list_framework(self, assigns: list[AssignFact]) -> str | None:
        frameworks = {r["name"]: r["framework"] for r in self._routes if "." in r["name"]}
        for assign in assigns:
            for item in value_items(assign.value):
                if item[0] == "call" and item[1] in frameworks:
                    return str(frameworks[item[1]])
        return None

    def _first_function(self, call: ObjectCallFact, module: Module) -> FunctionFacts | None:
        value = call.args[0] if call.args else None
        found = self.index.function(value[1], module) if value is not None and value[0] == "ref" else None
        return found[1] if found is not None else None

    def _rows(self, framework: str, form: str, name: str, table: str = "routes") -> list[dict[str, Any]]:
        rows = self._routes if table == "routes" else self._hooks
        return [r for r in rows if r["framework"] == framework and r["form"] == form and r["name"] == name]

    def _constructor(self, node: Node, obj: ObjectFact) -> None:
        module = node.module
        for name, value in obj.kwargs.items():
            if name == "routes":
                self._route_list(value_items(value), node, module, node.site)
            for row in self._rows(node.framework, "kwarg", name, "hooks"):
                self._hook_value(node, row, value, module, node.site)

    def _hook_value(self, node: Node, row: dict[str, Any], value: Value, module: Module, site: Site | None) -> None:
        role = row["role"]
        if role in ("startup", "lifespan"):
            for item in value_items(value):
                self._add_hook(node, item, module, before_yield=role == "lifespan", label=row["name"])
        elif role == "handler" and value[0] == "dict":
            for key, handler in value[1]:
                self._add_handler(node, [_exception_text(key)], handler, module, site, "handler")
        elif role == "middleware":
            for item in value_items(value):
                target = item[2][0] if item[0] == "call" and item[2] else item
                self._add_handler(node, [], target, module, site, "middleware")

    def _add_hook(self, node: Node, value: Value, module: Module, *, before_yield: bool, label: str) -> None:
        if value[0] != "ref":
            self.hooks.append((node, f"{label}={_describe(value)}"))
            return
        found = self.index.function(value[1], module) or self.effects.bound_method(value[1], module)
        if found is None:
            self.hooks.append((node, value[1]))
            return
        self.hooks.append((node, Hook(found[0], found[1], before_yield, label)))

    def _add_handler(
        self, node: Node, exceptions: list[str], value: Value, module: Module, site: Site | None, kind: str
    ) -> None:
        function = self.index.function(value[1], module) if value[0] == "ref" else None
        if function is None and value[0] == "ref":
            function = self.index.request_method(value[1], module)
        if function is not None and function[1].span is not None:
            site = Site(function[0].path, function[1].span)
        self.handlers.append((node, Handler(exceptions, function, site, kind)))

    def _decorator(
        self, decorator: Value, module: Module, *, function: FunctionFacts | None = None, cls: ClassFacts | None = None
    ) -> None:
        if decorator[0] == "call":
            ref, args, kwargs = decorator[1], decorator[2], decorator[3]
        elif decorator[0] == "ref":
            ref, args, kwargs = decorator[1], [], {}
        else:
            return
        for row in self._hooks:
            if row["form"] == "function" and row["name"] == ref and function is not None:
                hook = Hook(module, function, False, ref.rpartition(".")[2], result_used=True)
                self.hooks.append((None, hook))
        owner_ref, _, attr = ref.rpartition(".")
        if not owner_ref:
            return
        owner = self.node(owner_ref, module)
        if owner is None:
            return
        target: Value = ("ref", function.qualname if function is not None else cls.qualname)  # type: ignore[union-attr]
        site = Site(module.path, function.span) if function is not None and function.span else None
        if cls is not None and cls.span is not None:
            site = Site(module.path, cls.span)
        for row in self._rows(owner.framework, "decorator", attr):
            self._endpoint(owner, row, args, kwargs, target, module, site)
        for row in self._rows(owner.framework, "decorator", attr, "hooks"):
            if row.get("event") and _arg(args, kwargs, row.get("event-arg", 0), None) != ("str", row["event"]):
                continue
            if row["role"] in ("startup", "lifespan"):
                self._add_hook(owner, target, module, before_yield=row["role"] == "lifespan", label=attr)
            elif row["role"] == "handler":
                exception = _arg(args, kwargs, row.get("exception-arg", 0), None)
                self._add_handler(owner, _exception_texts(exception), target, module, site, "handler")
            elif row["role"] == "middleware":
                self._add_handler(owner, [], target, module, site, "middleware")

    def _object_call(self, owner: Node, call: ObjectCallFact, module: Module) -> None:
        site = Site(module.path, call.span)
        args, kwargs = call.args, call.kwargs
        for row in self._rows(owner.framework, "register", call.attr):
            if owner.role == "url-router" or call.attr != "register":
                handler = _arg(args, kwargs, row.get("handler-arg"), row.get("handler-kw"))
                if handler is not None:
                    self._endpoint(owner, row, args, kwargs, handler, module, site)
        for row in self._rows(owner.framework, "include", call.attr):
            child = _arg(args, kwargs, row.get("handler-arg"), row.get("handler-kw"))
            given = value_str(_arg(args, kwargs, row.get("path-arg"), row.get("path-kw")))
            before = len(owner.children)
            self._include(owner, given or "", child, module, site)
            if row.get("replaces-prefix") and given is not None and len(owner.children) > before:
                owner.prefix_overrides[before] = given
                owner.children[before] = ("", owner.children[before][1])
        hook_attr = call.attr[: -len(".append")] if call.attr.endswith(".append") else call.attr
        form = "append" if call.attr.endswith(".append") else "register"
        for row in self._rows(owner.framework, form, hook_attr, "hooks"):
            if row.get("event") and _arg(args, [], row.get("event-arg", 0), None) != ("str", row["event"]):
                continue
            target = _arg(args, kwargs, row.get("function-arg", 0), None)
            if target is None:
                continue
            if row["role"] == "handler":
                exception = _arg(args, kwargs, row.get("exception-arg", 0), None)
                self._add_handler(owner, _exception_texts(exception), target, module, site, "handler")
            elif row["role"] == "middleware":
                self._add_handler(owner, [], target, module, site, "middleware")
            else:
                self._add_hook(owner, target, module, before_yield=row["role"] == "lifespan", label=hook_attr)

    def _include(self, owner: Node, prefix: str, child: Value | None, module: Module, site: Site | None) -> None:
        if child is None:
            return
        if child[0] == "list":
            anonymous = Node((module.path, f"{owner.key[1]}[{len(owner.children)}]"), module, "routes", owner.framework)
            self._route_list(child[1], anonymous, module, site)
            owner.children.append((prefix, anonymous))
            return
        if child[0] == "call" and child[1].endswith(".as_view"):
            return
        if child[0] == "str":  # Django include("app.urls"); django-ninja add_router("/x/", "app.api.router")
            target = self.index.find_module(child[1], module)
            found = self.nodes.get((target.path, "urlpatterns")) if target is not None else None
            if found is None and target is None and "." in child[1]:
                found = self.node(child[1], module)
            if found is not None and found is not owner:
                owner.children.append((prefix, found))
            if child[1].split(".")[0] == "health_check" or any(
                child[1].startswith(r["module"]) for r in self.knowledge.rows("framework-health")
            ):
                self.endpoints.append(Endpoint(owner.framework, owner, prefix, ("GET",), [], None, site))
            return
        if child[0] == "ref":
            node = self.node(child[1], module)
            if node is not None and node is not owner:
                if node.role == "app":
                    node.mounted = True
                owner.children.append((prefix, node))

    def _route_list(self, items: Iterable[Value], owner: Node, module: Module, site: Site | None) -> None:
        for item in items:
            if item[0] == "ref":
                node = self.node(item[1], module)
                if node is not None and node is not owner:
                    owner.children.append(("", node))
                continue
            if item[0] != "call":
                continue
            ref, args, kwargs = item[1], item[2], item[3]
            for row in self._routes:
                if row["name"] != ref:
                    continue
                if row["form"] == "route":
                    handler = _arg(args, kwargs, row.get("handler-arg"), row.get("handler-kw"))
                    if handler is not None and handler[0] == "call" and handler[1] in self._include_names():
                        prefix = value_str(_arg(args, kwargs, row.get("path-arg"), row.get("path-kw"))) or ""
                        self._include(owner, prefix, _arg(handler[2], handler[3], 0, None), module, site)
                    elif handler is not None and handler[0] == "ref" and self.node(handler[1], module) is not None:
                        prefix = value_str(_arg(args, kwargs, row.get("path-arg"), row.get("path-kw"))) or ""
                        self._include(owner, prefix, handler, module, site)
                    elif handler is not None:
                        self._endpoint(owner, row, args, kwargs, handler, module, site)
                elif row["form"] == "include":
                    prefix = value_str(_arg(args, kwargs, row.get("path-arg"), row.get("path-kw"))) or ""
                    child = _arg(args, kwargs, row.get("handler-arg"), row.get("handler-kw"))
                    routes = kwargs.get(row["routes-kw"]) if row.get("routes-kw") else None
                    self._include(owner, prefix, routes if routes is not None else child, module, site)

    def _include_names(self) -> frozenset[str]:
        return frozenset(r["name"] for r in self._routes if r["form"] == "include" and "." in r["name"])

    def _endpoint(
        self,
        owner: Node,
        row: dict[str, Any],
        args: list[Value],
        kwargs: dict[str, Value],
        handler: Value,
        module: Module,
        site: Site | None,
    ) -> None:
        path = value_str(_arg(args, kwargs, row.get("path-arg"), row.get("path-kw")))
        methods: list[str] = list(row.get("methods", ()))
        explicit = bool(row.get("methods-kw") and row["methods-kw"] in kwargs) or row.get("method-arg") is not None
        if row.get("methods-kw") and row["methods-kw"] in kwargs:
            methods = [v[1].upper() for v in value_items(kwargs[row["methods-kw"]]) if v[0] == "str"]
        if row.get("method-arg") is not None:
            method = value_str(_arg(args, kwargs, row["method-arg"], None))
            methods = [method.upper()] if method else ["*"]
        if handler[0] == "call" and handler[1].endswith((".as_view", ".as_asgi")):
            handler = ("ref", handler[1].rpartition(".")[0])
        if handler[0] != "ref":
            return
        functions: list[tuple[Module, FunctionFacts]] = []
        cls_name: str | None = None
        found = self.index.function(handler[1], module)
        if found is not None:
            functions = [found]
            if found[1].span is not None:
                site = Site(found[0].path, found[1].span)
        else:
            view = self._class_view(handler[1], module)
            if view is None:
                return
            cls_name, functions, defaults, class_site = view
            if not explicit:
                names = [f.name for _, f in functions]
                methods = [m.upper() for m in names if m.upper() in HTTP_METHODS] or defaults or ["*"]
            site = class_site or site
        self.endpoints.append(Endpoint(owner.framework, owner, path, tuple(methods), functions, cls_name, site))

    def _class_view(
        self, ref: str, near: Module
    ) -> tuple[str, list[tuple[Module, FunctionFacts]], list[str], Site | None] | None:
        found = self.index.klass(ref, near)
        if found is None:
            return None
        module, cls = found
        row = next((self._views[b] for b in self.index.class_bases(ref, near) if b in self._views), None)
        if row is None:
            return None
        functions = []
        for name in row["handlers"]:
            method = module.functions.get(module.local(f"{cls.qualname}.{name}"))
            if method is not None:
                functions.append((module, method))
        defaults = list(row.get("methods", ()))
        actions = frozenset(row.get("actions", ()))
        for name in cls.methods if actions else ():
            method = module.functions.get(module.local(f"{cls.qualname}.{name}"))
            marks = [d for d in method.decorators if d[0] in ("ref", "call") and d[1] in actions] if method else []
            if method is not None and marks and name not in row["handlers"]:
                functions.append((module, method))  # DRF's @action: an extra route of the viewset
                verbs = value_items(marks[0][3].get("methods", ("list", []))) if marks[0][0] == "call" else []
                if defaults:  # a view without a fixed method list answers any ("*") already
                    defaults += [v[1].upper() for v in verbs if v[0] == "str"] or ["GET"]
        site = Site(module.path, cls.span) if cls.span else None
        return cls.qualname, functions, list(dict.fromkeys(defaults)), site


def _arg(
    args: Sequence[Value], kwargs: dict[str, Value] | Sequence[Any], position: int | None, keyword: str | None
) -> Value | None:
    if keyword and isinstance(kwargs, dict) and keyword in kwargs:
        return kwargs[keyword]
    if position is not None and position < len(args):
        return args[position]
    return None


def join_route(prefix: str | None, path: str | None) -> str:
    """A route path under a mount or router prefix: ``/api`` + ``items/`` → ``/api/items/``."""
    prefix, path = prefix or "", path or ""
    if not prefix:
        return path
    if not path:
        return prefix
    return prefix.rstrip("/") + "/" + path.lstrip("/")


def _exception_texts(value: Value | None) -> list[str]:
    """What a handler is registered for; each item of a constant collection looped over."""
    if value is not None and value[0] == "list":
        return [_exception_text(item) for item in value[1]] or ["?"]
    return [_exception_text(value)]


def _exception_text(value: Value | None) -> str:
    if value is None:
        return "?"
    if value[0] == "ref":
        return str(value[1])
    if value[0] == "int":
        return str(value[1])
    return "?"


def _describe(value: Value) -> str:
    if value[0] == "call":
        return f"{value[1]}(...)"
    if value[0] in ("ref", "str"):
        return str(value[1])
    return "?"
