"""The framework model: apps, routers, endpoints, startup paths, handlers and data stores of a project.

The walk (``backlint/analysis/web/framework_file.py``) records plain facts per module;
``ProjectModel`` joins them across modules once per run, so the project rules (BL4xx, BL5xx,
BL6xx, BL8xx) can ask "which endpoints does this app serve, does this one do data-store I/O, what
runs at startup, which handlers cover database errors". It is made of cooperating parts: the module
index (``modules.py``), the routing graph (``routing.py``), the data-store effects (``effects.py``)
and Django's specifics (``django.py``); this module assembles the apps and answers the rules.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from backlint.analysis.web.django import DjangoProject
from backlint.analysis.web.effects import Effect, Effects, Store
from backlint.analysis.web.facts import (
    IMPORTS,
    MODULE_SCOPE,
    OBJECT_ATTRS,
    OBJECTS,
    STORES,
    ClassFacts,
    FunctionFacts,
    IoSite,
    Origin,
    Value,
    value_strings,
)
from backlint.analysis.web.modules import Module, ModuleIndex, Site
from backlint.analysis.web.routing import Endpoint, Handler, Hook, Node, Routing, join_route
from backlint.core.catalog import Knowledge
from backlint.core.patterns import compile_pattern
from backlint.core.results import ModuleFacts


@dataclasses.dataclass
class App:
    node: Node
    framework: str
    site: Site
    modules: list[Module]
    endpoints: list[Endpoint]
    scope_endpoints: list[Endpoint]  # also routes of the app's modules not proven attached
    hooks: list[Hook]
    unknown_hooks: list[str]  # startup hooks that are not project functions
    handlers: list[Handler]
    stores: list[Store]
    health_packages: list[tuple[str, bool]]
    routes_unseen: list[Node] = dataclasses.field(default_factory=list)  # routers whose routes and mount are unseen

    @property
    def name(self) -> str:
        local = self.node.key[1]
        if self.framework == "django":
            return "the Django project"
        return local.rpartition(":")[2] if ":" in local else local


class ProjectModel:
    """Apps → routers → endpoints, hooks, handlers and stores, joined across all modules."""

    def __init__(self, modules: Sequence[ModuleFacts], knowledge: Knowledge, options: dict[str, Any]) -> None:
        self.knowledge = knowledge
        self.options = options
        self.index = ModuleIndex(modules)
        self.modules: list[Module] = self.index.modules
        self.store_effects = Effects(self.index, knowledge, options)
        self.routing = Routing(self.index, self.store_effects, knowledge)
        self.django = DjangoProject(self.index, self.routing, knowledge)
        self.nodes: dict[tuple[str, str], Node] = self.routing.nodes
        self.endpoints: list[Endpoint] = self.routing.endpoints
        self.apps: list[App] = self._apps()

    # ----------------------------------------------------------------- resolution (ModuleIndex, Routing)

    def find_module(self, dotted: str, near: Module) -> Module | None:
        return self.index.find_module(dotted, near)

    def split(self, ref: str, near: Module) -> tuple[Module, str] | None:
        return self.index.split(ref, near)

    def function(self, ref: str, near: Module) -> tuple[Module, FunctionFacts] | None:
        return self.index.function(ref, near)

    def klass(self, ref: str, near: Module) -> tuple[Module, ClassFacts] | None:
        return self.index.klass(ref, near)

    def class_bases(self, ref: str, near: Module) -> Iterator[str]:
        return self.index.class_bases(ref, near)

    def node(self, ref: str, near: Module) -> Node | None:
        return self.routing.node(ref, near)

    # ----------------------------------------------------------------- data-store effects (Effects)

    def resolve_origin(self, origin: Origin, near: Module) -> tuple[str, str] | None:
        return self.store_effects.resolve_origin(origin, near)

    def io_of(self, site: IoSite, near: Module) -> tuple[str, str, bool] | None:
        return self.store_effects.io_of(site, near)

    def effects(
        self,
        module: Module,
        function: FunctionFacts,
        *,
        before_yield: bool = False,
        top: bool = True,
        main_ok: bool = False,
        uses_result: bool = False,
        trust_results: bool = True,
        nested: bool = False,
    ) -> list[Effect]:
        """Data-store calls reached from ``function`` through project calls (``Effects.effects``)."""
        return self.store_effects.effects(
            module, function, before_yield=before_yield, top=top, main_ok=main_ok, uses_result=uses_result,
            trust_results=trust_results, nested=nested,
        )  # fmt: skip

    def probe_hints(self, module: Module, function: FunctionFacts) -> list[str]:
        """Calls that may probe a store but cannot be resolved (``await container.check_db()``)."""
        return self.store_effects.probe_hints(module, function)

    def endpoint_io(self, endpoint: Endpoint) -> list[Effect]:
        """Data-store calls an endpoint makes, directly or through project functions (confirmed only)."""
        out: list[Effect] = []
        for module, function in endpoint.functions:
            out += [e for e in self.effects(module, function) if e.confirmed]
        return out

    # ----------------------------------------------------------------- apps

    def _apps(self) -> list[App]:
        roots: list[Node] = []
        django_seen: set[str] = set()
        for node in self.nodes.values():
            if node.role != "app" or node.mounted or node.fact is None:
                continue
            fact = node.fact
            if fact.function is not None and (node.framework == "django" or not self._is_factory(node)):
                continue
            if node.framework == "django":
                settings = self.django.settings(node.module)
                key = settings.path if settings is not None else node.module.stem.rpartition("/")[0]
                if key in django_seen:
                    continue
                django_seen.add(key)
            roots.append(node)
        if any(root.fact is not None and not root.fact.main_guard for root in roots):
            # An app built under ``if __name__ == "__main__":`` next to an app built outside any guard is a
            # try-out (a router module serving itself by hand, a script's own server): the deployed app is
            # the other one. Alone, it is the app ``python -m pkg.server`` runs, and is judged.
            roots = [root for root in roots if root.fact is None or not root.fact.main_guard]
        reach = {root.key: self._reachable(root) for root in roots}
        owned = {e.owner.key for e in self.endpoints if e.owner is not None}
        unseen = [
            n
            for n in self.nodes.values()
            if n.role in _ROUTER_ROLES
            and not n.children
            and n.key not in owned
            and not any(n.key in r for r in reach.values())
        ]
        apps = []
        for root in roots:
            elsewhere = {k for key, r in reach.items() if key != root.key for k in r if k not in reach[root.key]}
            app = self._app(root, reach[root.key], elsewhere)
            app.routes_unseen = [n for n in unseen if n.framework == root.framework]
            apps.append(app)
        return apps

    def _is_factory(self, node: Node) -> bool:
        fact = node.fact
        assert fact is not None and fact.function is not None
        function = node.module.functions.get(node.module.local(fact.function))
        return function is not None and fact.ref in function.returned_refs

    def _app(self, node: Node, reachable: dict[tuple[str, str], str | None], elsewhere: set[tuple[str, str]]) -> App:
        """The app rooted at ``node``; ``elsewhere``: routing nodes attached to the project's other apps."""
        module = node.module
        endpoints: list[Endpoint] = []
        for endpoint in self.endpoints:
            if endpoint.owner is not None and endpoint.owner.key in reachable:
                prefix = reachable[endpoint.owner.key]
                full = None if endpoint.path is None or prefix is None else join_route(prefix, endpoint.path)
                endpoints.append(dataclasses.replace(endpoint, path=full))
        hooks, unknown = self._hooks_of(node, reachable)
        handlers = [h for owner, h in self.routing.handlers if owner is not None and owner.key in reachable]
        modules = self._closure(node, reachable, hooks, endpoints)
        keys = {m.path for m in modules}
        if node.framework == "django":
            hooks += self.django.hooks(modules)
            handlers += self.django.handlers(modules)
        else:
            factory = (
                module.functions.get(module.local(node.fact.function)) if node.fact and node.fact.function else None
            )
            if factory is not None:
                hooks.append(Hook(module, factory, False, "app factory"))
        for m in modules:
            top = m.functions.get(MODULE_SCOPE)
            if top is not None:
                hooks.append(Hook(m, top, False, "module level" if m is not module else "app module"))
        attached = {id(e.functions[0][1]) for e in endpoints if e.functions}
        scope_endpoints = list(endpoints)
        for endpoint in self.endpoints:
            owner = endpoint.owner
            if owner is None or owner.module.path not in keys or owner.role == "app" or owner.key in elsewhere:
                continue
            if not endpoint.functions or id(endpoint.functions[0][1]) not in attached:
                path = join_route(owner.prefix, endpoint.path) if endpoint.path else None
                scope_endpoints.append(dataclasses.replace(endpoint, path=path))
        stores = [Store(s.kind, s.ctor, Site(m.path, s.span)) for m in modules for s in m.facts.get(STORES)]
        if node.framework == "django":
            stores += self.django.stores(modules)
        health = [
            (r["module"], bool(r.get("checks-dependencies")))
            for r in self.knowledge.rows("framework-health")
            if any(
                name == r["module"] or name.startswith(r["module"] + ".")
                for m in modules
                for name in m.facts.get(IMPORTS)
            )
            or any(_mentions(a.value, r["module"]) for m in modules for assigns in m.assigns.values() for a in assigns)
        ]
        assert node.site is not None
        return App(
            node,
            node.framework,
            node.site,
            modules,
            endpoints,
            scope_endpoints,
            hooks,
            unknown,
            handlers,
            stores,
            health,
        )

    def _reachable(self, root: Node) -> dict[tuple[str, str], str | None]:
        """Routing nodes under ``root`` with the path prefix leading to each (None if unknown)."""
        out: dict[tuple[str, str], str | None] = {}
        stack: list[tuple[Node, str | None]] = [(root, "")]
        if root.framework == "django":
            settings = self.django.settings(root.module)
            urlconf = self.django.urlconf(settings) if settings is not None else None
            if urlconf is not None:
                stack.append((urlconf, ""))
        while stack:
            node, prefix = stack.pop()
            if node.key in out:
                continue
            own = join_route(prefix, node.prefix) if prefix is not None else None
            out[node.key] = own
            for index, (child_prefix, child) in enumerate(node.children):
                if index in node.prefix_overrides:  # the child's own prefix is replaced: skip it
                    base = join_route(own, node.prefix_overrides[index]) if own is not None else None
                    if child.key not in out:
                        out[child.key] = base
                        for grand_prefix, grand in child.children:
                            stack.append((grand, join_route(base, grand_prefix) if base is not None else None))
                    continue
                stack.append((child, join_route(own, child_prefix) if own is not None else None))
        return out

    def _hooks_of(self, app: Node, reachable: dict[tuple[str, str], str | None]) -> tuple[list[Hook], list[str]]:
        hooks: list[Hook] = []
        unknown: list[str] = []
        for owner, hook in self.routing.hooks:
            if owner is None or owner.key not in reachable:
                continue
            if isinstance(hook, Hook):
                hooks.append(hook)
            else:
                unknown.append(hook)
        return hooks, unknown

    def _closure(
        self, app: Node, reachable: dict[tuple[str, str], str | None], hooks: list[Hook], endpoints: list[Endpoint]
    ) -> list[Module]:
        """The app's modules: what its module imports, transitively, plus its routes' and hooks' modules."""
        start: list[Module] = [app.module]
        start += [self.nodes[k].module for k in reachable if k in self.nodes]
        start += [h.module for h in hooks]
        start += [m for e in endpoints for m, _ in e.functions]
        if app.framework == "django":
            top = app.module.stem.rpartition("/")[0].rpartition("/")[0]
            start += [m for m in self.modules if top == "" or m.stem.startswith(top + "/")]
        seen: dict[str, Module] = {}
        while start:
            module = start.pop()
            if module.path in seen:
                continue
            seen[module.path] = module
            for name in module.facts.get(IMPORTS):
                found = self.split(name, module)
                if found is not None and found[0].path not in seen:
                    start.append(found[0])
        return list(seen.values())

    # ----------------------------------------------------------------- questions for rules

    def health_endpoints(self, app: App, *, scope: bool = False) -> list[Endpoint]:
        return [e for e in (app.scope_endpoints if scope else app.endpoints) if self.is_health(e)]

    def is_health(self, endpoint: Endpoint) -> bool:
        """A health route: its path matches ``health-path-regex``, or (path unknown) its name looks like one."""
        if endpoint.path is not None:
            pattern = compile_pattern(self.options.get("health-path-regex", _HEALTH_PATH), ignore_case=True)
            return bool(pattern.search("/" + endpoint.path.lstrip("/^").rstrip("$")))
        return bool(_HEALTH_NAME.match(endpoint.name.lower()))

    def logs_unhandled_errors(self, app: App) -> bool:
        """The app's framework logs an error nobody caught with its traceback and the request and answers
        a generic 500 that leaks nothing (table ``framework-unhandled-errors``: Django, Flask, FastAPI,
        Starlette, aiohttp), and the app does not switch that answer to a traceback page (``answers_tracebacks``)."""
        if app.framework not in self.knowledge.values("framework-unhandled-errors", "framework"):
            return False
        return not self.answers_tracebacks(app)

    def answers_tracebacks(self, app: App) -> bool:
        """The app answers an unhandled error with its traceback: built with a debug switch on (the
        ``kwarg`` rows of table ``framework-debug`` whose level is ``warning``, traceback pages:
        ``FastAPI(debug=True)``) or assigned it (``app.debug = True``), as a constant ``True`` outside a
        branch taken only in debug mode (``if settings.DEBUG: app = FastAPI(debug=True)``)."""
        fact = app.node.fact
        if fact is None:
            return False
        rows = [r for r in self.knowledge.rows("framework-debug") if r["form"] == "kwarg" and r["level"] == "warning"]
        module = app.node.module
        built = [o for o in module.facts.get(OBJECTS) if o.ref == fact.ref and o.ctor == fact.ctor] or [fact]
        for row in rows:
            if row["name"] != fact.ctor:
                continue
            if any(o.kwargs.get(row["keyword"]) == _ON and not o.debug_only for o in built):
                return True
            for holder in app.modules:
                for attr in holder.facts.get(OBJECT_ATTRS):
                    if (
                        attr.attr == row["keyword"]
                        and attr.value == _ON
                        and not attr.debug_only
                        and self.node(attr.owner, holder) is app.node
                    ):
                        return True
        return False

    def covers(self, app: App, roles: Iterable[str] = ("broad", "database")) -> list[Handler]:
        """App-level handlers whose exception classes have one of ``roles`` (or status 500)."""
        table = {row["name"]: row["role"] for row in self.knowledge.rows("exception-classes")}
        wanted = set(roles)
        out = []
        for handler in app.handlers:
            if handler.kind == "handler" and any(
                e in ("500", "Exception") or table.get(e) in wanted for e in handler.exceptions
            ):
                out.append(handler)
        return out


_ON: Value = ("const", True)
_ROUTER_ROLES = frozenset({"router", "route-table", "url-router", "resource-api"})
_HEALTH_PATH = (
    r"^/(?:[^/]+/)*_*(?:health(?:z|check|[-_]check|[-_]?status)?|livez|readyz|readiness|liveness|heartbeat)_*(?:/.*)?$"
    r"|^/(?:api/(?:v\d+/)?)?(?:ping|ready|live|status)/?$"
)
_HEALTH_NAME = re.compile(
    r"^_*(health\w*|\w*_health(check)?|healthz|readiness\w*|liveness\w*|heartbeat|ping|ready|live)$"
)


def build_model(modules: Sequence[ModuleFacts], project: Any, options: dict[str, Any]) -> ProjectModel:
    """The model for this run, built once and shared by every project rule (``ProjectContext.cache``)."""
    key = ("framework-model", tuple(m.path for m in modules))
    model: ProjectModel | None = project.cache.get(key)
    if model is None:
        model = ProjectModel(modules, project.knowledge, options)
        project.cache[key] = model
    return model


def _mentions(value: Value, module: str) -> bool:
    return any(s == module or s.startswith(module + ".") for s in value_strings(value))
