"""The framework model: apps, routers, endpoints, startup paths, handlers and data stores of a project.

The collector (``backlint/checks/framework_facts.py``) records plain facts per module during the
shared traversal; ``ProjectModel.build`` joins them across modules once per run, so the project
rules (BL4xx, BL5xx, BL6xx) can ask "which endpoints does this app serve, does this one do
data-store I/O, what runs at startup, which handlers cover database errors".

Facts are picklable dataclasses. References between them are dotted strings: ``pkg.db.engine`` for
a module-level name, ``pkg.main.create_app:app`` for a name local to a function, ``pkg.main#3`` for
an object that is never bound to a name.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from backlint.core.results import ModuleFacts, RelatedLocation, Span

if TYPE_CHECKING:
    from backlint.analysis.lazy import LazyFix

# A constant or a reference, as written in a call: ("str", "/health"), ("int", 503),
# ("const", True), ("ref", "pkg.db.engine"), ("list", [...]), ("dict", [(key, value), ...]),
# ("call", "fastapi.Depends", [args], {kwargs}), or ("?",) for anything else.
Value = tuple[Any, ...]
# Where a value comes from, for receivers of data-store calls: ("handle", kind) a known handle,
# ("ref", ref) a module-level name, ("call", ref) the result of calling ref, ("manager", kind, ref)
# a query manager of a model class, ("instance", ref) an instance of class ref.
Origin = tuple[str, ...]
UNKNOWN: Value = ("?",)

OBJECTS, OBJECT_CALLS, ASSIGNS, STORES = "fw.objects", "fw.object-calls", "fw.assigns", "fw.stores"
FUNCTIONS, CLASSES, BINDINGS, IMPORTS, ENVIRON = "fw.functions", "fw.classes", "fw.bindings", "fw.imports", "fw.environ"
ALIASES = "fw.aliases"  # the module's import table: local name → qualified name
STARS = "fw.stars"  # modules imported with ``from x import *``
MODULE_SCOPE = "<module>"


@dataclasses.dataclass
class ObjectFact:
    """An application, router or route table constructed in the code."""

    ref: str
    ctor: str
    args: list[Value]
    kwargs: dict[str, Value]
    span: Span
    function: str | None  # qualified name of the enclosing function, None at module level
    bound: bool  # assigned to a name (or returned); False for one nested in another call


@dataclasses.dataclass
class ObjectCallFact:
    """``<owner>.<attr>(...)``: a registration, include or hook call on a possible app or router."""

    owner: str
    attr: str
    args: list[Value]
    kwargs: dict[str, Value]
    function: str | None
    span: Span


@dataclasses.dataclass
class AssignFact:
    """A module-level assignment the model reads: settings, URLconf lists, route lists."""

    ref: str
    value: Value
    span: Span
    augmented: bool = False


@dataclasses.dataclass
class StoreFact:
    """A data-store client created in the code (an engine, pool, client)."""

    ctor: str
    kind: str
    ref: str | None
    span: Span
    function: str | None


@dataclasses.dataclass
class Guard:
    """An ``except`` for broad or data-store errors around calls of a function."""

    span: Span | None
    reraises: bool  # raises, exits or aborts in the handler
    answer: str | None  # "ok": returns a 2xx answer; "error": a non-2xx or unknown one; None: no return
    returns_value: bool  # returns something the caller can test (``return False``)
    exits_later: bool  # a raise or exit follows the ``try`` (after a retry loop, a flag check)
    caught: list[str] | None  # qualified names caught; None for a bare ``except:``
    wraps: list[str]  # names called in the ``try`` body (``call_next``, ``handler``)
    # BL605: the handler's one 2xx answer with status 503, by framework ("" for any); empty if not fixable.
    fixes: dict[str, LazyFix] = dataclasses.field(default_factory=dict)

    @property
    def swallows(self) -> bool:
        return not self.reraises and not self.exits_later and self.answer != "error"


@dataclasses.dataclass
class CallSite:
    target: str
    guard: int | None = None
    after_yield: bool = False
    result_used: bool = False
    main_guard: bool = False  # under ``if __name__ == "__main__":``
    span: Span | None = None  # located only in functions that may be endpoints (BL401 points at it)
    args: list[str | None] | None = None  # references passed positionally (``register_routes(app)``)
    kwargs: dict[str, str] | None = None
    via_attribute: bool = False  # ``self.configure(app)``: the callee's first parameter is the receiver


@dataclasses.dataclass
class IoSite:
    """A call that may talk to a data store; ``origin`` is set while the receiver is unresolved."""

    method: str
    kind: str | None
    effect: str | None  # "io" | "connect" once resolved
    origin: Origin | None = None
    confirmed: bool = True  # False: a probe-named method on a receiver nobody knows
    guard: int | None = None
    after_yield: bool = False
    main_guard: bool = False
    span: Span | None = None  # located only in functions that may be endpoints (BL401 points at it)


@dataclasses.dataclass
class FunctionFacts:
    """A function (or a module's top level, ``<module>``) summarised for the project pass."""

    qualname: str
    name: str
    cls: str | None
    span: Span | None
    params: list[str]
    decorators: list[Value]
    is_async: bool
    is_generator: bool = False
    calls: list[CallSite] = dataclasses.field(default_factory=list)
    io: list[IoSite] = dataclasses.field(default_factory=list)
    guards: list[Guard] = dataclasses.field(default_factory=list)
    returns: list[Origin] = dataclasses.field(default_factory=list)
    returned_refs: list[str] = dataclasses.field(default_factory=list)
    answers_error: bool = False  # some path answers a non-2xx status, raises or aborts
    probe_names: list[str] = dataclasses.field(default_factory=list)  # unresolved probe-like calls


@dataclasses.dataclass
class ClassFacts:
    qualname: str
    bases: list[str]
    methods: list[str]
    decorators: list[Value]
    span: Span | None
    attrs: dict[str, Value] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class BindingFact:
    """A module-level name whose value is (or derives from) a data-store handle."""

    ref: str
    origin: Origin


def _read_imports(path: str, module: str, is_package: bool) -> tuple[dict[str, str], list[str]]:
    """The import table and star imports of a file, read with ``ast`` (no rule needed to parse it)."""
    import ast

    try:
        tree = ast.parse(Path(path).read_text("utf-8", errors="replace"))
    except (SyntaxError, ValueError, OSError):
        return {}, []
    package = module.split(".") if is_package else module.split(".")[:-1]
    aliases: dict[str, str] = {}
    stars: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            base_parts = package[: len(package) - (node.level - 1)] if node.level else []
            base = ".".join([*base_parts, *([node.module] if node.module else [])])
            for alias in node.names:
                if alias.name == "*":
                    stars.append(base)
                else:
                    aliases[alias.asname or alias.name] = f"{base}.{alias.name}" if base else alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                aliases[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
    return aliases, stars


def value_str(value: Value | None) -> str | None:
    return value[1] if value is not None and value[0] == "str" else None


def value_items(value: Value | None) -> list[Value]:
    if value is None:
        return []
    if value[0] == "list":
        return list(value[1])
    return [value]


# --------------------------------------------------------------------------- the project model


@dataclasses.dataclass
class Module:
    """One module's facts, indexed for lookups by local name."""

    facts: ModuleFacts
    stem: str  # path without ``.py`` and ``/__init__``, POSIX
    objects: dict[str, ObjectFact]
    functions: dict[str, FunctionFacts]
    classes: dict[str, ClassFacts]
    bindings: dict[str, Origin]
    assigns: dict[str, list[AssignFact]]
    aliases: dict[str, str]
    stars: list[str] = dataclasses.field(default_factory=list)  # modules star-imported here

    @property
    def name(self) -> str:
        return self.facts.module

    @property
    def path(self) -> str:
        return self.facts.path

    def local(self, ref: str) -> str:
        """``pkg.mod.create_app:app`` → ``create_app:app`` for a ref inside this module."""
        rest = ref[len(self.name) :]
        return rest[1:] if rest.startswith(".") else rest


@dataclasses.dataclass
class Site:
    """A place in the source: a file and a span."""

    path: str
    span: Span

    def related(self, message: str) -> RelatedLocation:
        return RelatedLocation(self.path, self.span, message)


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


@dataclasses.dataclass
class Store:
    kind: str
    ctor: str
    site: Site


@dataclasses.dataclass
class Effect:
    """A data-store call reached from a startup context or endpoint."""

    kind: str
    effect: str  # "io" | "connect" | "lazy" (a query built here, run later)
    confirmed: bool
    swallowed: Site | None  # the except clause that swallows its failure
    function: str
    answered_ok: bool = False  # swallowed by an except that answers 2xx in the endpoint itself
    guarded: bool = False  # inside a ``try`` with a broad or data-store handler, at some call level
    at: Span | None = None  # the call in the top function that leads here (same file as the top function)
    label: str = ""  # the data-store method, or the project function called from the top function


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

    @property
    def name(self) -> str:
        local = self.node.key[1]
        if self.framework == "django":
            return "the Django project"
        return local.rpartition(":")[2] if ":" in local else local


_LOCAL_SPLIT = re.compile(r"[:#]")


class ProjectModel:
    """Apps → routers → endpoints, hooks, handlers and stores, joined across all modules."""

    def __init__(self, modules: Sequence[ModuleFacts], knowledge: Any, options: dict[str, Any]) -> None:
        self.knowledge = knowledge
        self.options = options
        self.modules: list[Module] = [self._index(m) for m in modules if FUNCTIONS in m.facts]
        self._by_last: dict[str, list[Module]] = defaultdict(list)
        for module in self.modules:
            self._by_last[module.stem.rpartition("/")[2]].append(module)
        self._find_cache: dict[tuple[str, str], Module | None] = {}
        self._routes = knowledge.rows("framework-routes")
        self._hooks = knowledge.rows("framework-hooks")
        self._objects = {r["name"]: r for r in knowledge.rows("framework-objects")}
        self._views = {r["name"]: r for r in knowledge.rows("framework-view-classes")}
        self._settings = {r["name"]: r["role"] for r in knowledge.rows("framework-settings")}
        self._stores = {r["name"]: r for r in knowledge.rows("datastore-clients") if r["role"] == "store"}
        self._handles = {
            r["name"]: r["kind"] for r in knowledge.rows("datastore-clients") if r["role"] in ("handle", "type")
        }
        self._methods: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in knowledge.rows("datastore-methods"):
            self._methods[row["method"]].append(row)
        self._models = {r["name"]: r for r in knowledge.rows("datastore-models")}
        self._probe_callables = frozenset(options.get("startup-probe-callables", ()))
        self.nodes: dict[tuple[str, str], Node] = {}
        self.aliases: dict[tuple[str, str], Node] = {}  # a function's parameter that receives an app/router
        self.endpoints: list[Endpoint] = []
        self._pending_hooks: list[tuple[Node | None, Hook | str]] = []
        self._pending_handlers: list[tuple[Node, Handler]] = []
        self._function_effects: dict[tuple[str, str, bool], list[Effect]] = {}
        self._trust = True
        self._build()
        self.apps: list[App] = self._apps()

    # ----------------------------------------------------------------- indexing and resolution

    @staticmethod
    def _index(facts: ModuleFacts) -> Module:
        path = PurePosixPath(facts.path)
        stem = (path.parent if path.stem == "__init__" else path.with_suffix("")).as_posix()
        module = Module(facts, stem, {}, {}, {}, {}, defaultdict(list), {})
        for obj in facts.get(OBJECTS):
            module.objects[module.local(obj.ref)] = obj
        for function in facts.get(FUNCTIONS):
            module.functions[module.local(function.qualname)] = function
        for cls in facts.get(CLASSES):
            module.classes[module.local(cls.qualname)] = cls
        for binding in facts.get(BINDINGS):
            module.bindings[module.local(binding.ref)] = binding.origin
        for assign in facts.get(ASSIGNS):
            module.assigns[module.local(assign.ref)].append(assign)
        aliases = facts.facts.get(ALIASES)
        module.aliases = dict(aliases) if isinstance(aliases, dict) else {}
        module.stars = list(facts.get(STARS))
        return module

    def find_module(self, dotted: str, near: Module) -> Module | None:
        """The module a dotted name stands for, seen from ``near``: the closest file on disk."""
        if dotted == near.name:
            return near
        key = (near.stem, dotted)
        if key in self._find_cache:
            return self._find_cache[key]
        suffix = dotted.replace(".", "/")
        best: Module | None = None
        best_score = -1
        for candidate in self._by_last.get(suffix.rpartition("/")[2], ()):
            if candidate.stem != suffix and not candidate.stem.endswith("/" + suffix):
                continue
            score = _common_prefix(candidate.stem, near.stem)
            if score > best_score:
                best, best_score = candidate, score
        if best is None:
            best = self._disk_module(dotted, near)
        self._find_cache[key] = best
        return best

    def _disk_module(self, dotted: str, near: Module) -> Module | None:
        """A module that had nothing to record (a re-exporting ``__init__.py``): read its imports only."""
        parts = near.stem.split("/")
        root = "/".join(parts[: max(0, len(parts) - len(near.name.split(".")))])
        base = f"{root}/{dotted.replace('.', '/')}" if root else dotted.replace(".", "/")
        for candidate in (f"{base}/__init__.py", f"{base}.py"):
            if not os.path.isfile(candidate):
                continue
            aliases, stars = _read_imports(candidate, dotted, candidate.endswith("__init__.py"))
            if not aliases and not stars:
                return None
            facts = ModuleFacts(candidate, dotted, "production", {ALIASES: aliases, STARS: stars})  # type: ignore[dict-item]
            return self._index(facts)
        return None

    def split(self, ref: str, near: Module) -> tuple[Module, str] | None:
        """``pkg.db.engine`` seen from ``near`` → (module pkg.db, "engine")."""
        base = _LOCAL_SPLIT.split(ref, 1)[0]
        parts = base.split(".")
        for size in range(len(parts), 0, -1):
            dotted = ".".join(parts[:size])
            module = self.find_module(dotted, near)
            if module is not None:
                rest = ref[len(dotted) :]
                return module, rest[1:] if rest.startswith(".") else rest
        return None

    def _deref(self, ref: str, near: Module, table: str, depth: int = 0) -> tuple[Module, Any] | None:
        """Follow ``ref`` (and re-exports through imports) to an entry of a module table."""
        found = self.split(ref, near)
        if found is None or depth > 6:
            return None
        module, local = found
        entries = getattr(module, table)
        if local in entries:
            return module, entries[local]
        head, dot, rest = local.partition(".")
        target = module.aliases.get(head)
        if target is not None and target != ref and module.facts.module != target:
            return self._deref(target + dot + rest, module, table, depth + 1)
        for star in module.stars:
            found = self._deref(f"{star}.{local}", module, table, depth + 1)
            if found is not None:
                return found
        return None

    def function(self, ref: str, near: Module) -> tuple[Module, FunctionFacts] | None:
        return self._deref(ref, near, "functions")

    def klass(self, ref: str, near: Module) -> tuple[Module, ClassFacts] | None:
        return self._deref(ref, near, "classes")

    def node(self, ref: str, near: Module) -> Node | None:
        """The routing node ``ref`` names: an object, or a route list; ``app.router`` → ``app``."""
        for candidate in (ref, ref.rpartition(".")[0] if ref.endswith((".router", ".urls")) else None):
            if not candidate:
                continue
            found = self._deref(candidate, near, "objects")
            if found is not None:
                module, obj = found
                return self.nodes.get((module.path, module.local(obj.ref)))
            split = self.split(candidate, near)
            if split is not None and (split[0].path, split[1]) in self.nodes:
                return self.nodes[(split[0].path, split[1])]
            if split is not None and (split[0].path, split[1]) in self.aliases:
                return self.aliases[(split[0].path, split[1])]
            deref = self._deref(candidate, near, "assigns")
            if deref is not None:
                module, assigns = deref
                return self.nodes.get((module.path, module.local(assigns[0].ref)))
        return None

    def class_bases(self, ref: str, near: Module, depth: int = 0) -> Iterator[str]:
        """Qualified names of the bases of class ``ref``, through project classes, transitively."""
        if depth > 8:
            return
        found = self.klass(ref, near)
        if found is None:
            return
        module, cls = found
        for base in cls.bases:
            yield base
            yield from self.class_bases(base, module, depth + 1)

    # ----------------------------------------------------------------- building the routing graph

    def _build(self) -> None:
        for module in self.modules:
            for obj in module.facts.get(OBJECTS):
                row = self._objects[obj.ctor]
                node = Node((module.path, module.local(obj.ref)), module, row["role"], row["framework"], fact=obj)
                prefix_kw = row.get("prefix-kw")
                if prefix_kw:
                    node.prefix = value_str(obj.kwargs.get(prefix_kw)) or ""
                node.mounted = not obj.bound
                self.nodes[node.key] = node
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
            for obj in module.facts.get(OBJECTS):
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
                target = self.function(call.target, module)
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
        found = self.function(value[1], module) if value is not None and value[0] == "ref" else None
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
            self._pending_hooks.append((node, f"{label}={_describe(value)}"))
            return
        found = self.function(value[1], module) or self._bound_method(value[1], module)
        if found is None:
            self._pending_hooks.append((node, value[1]))
            return
        self._pending_hooks.append((node, Hook(found[0], found[1], before_yield, label)))

    def _bound_method(self, ref: str, near: Module) -> tuple[Module, FunctionFacts] | None:
        """A hook that is a store's own method (``on_startup=[database.connect]``), as a one-call function."""
        receiver, _, method = ref.rpartition(".")
        if not receiver or method not in self._methods:
            return None
        resolved = self.resolve_origin(("ref", receiver), near)
        if resolved is None or resolved[0] != "handle":
            return None
        site = IoSite(method, None, None, origin=("ref", receiver))
        return near, FunctionFacts(ref, method, None, None, [], [], True, io=[site])

    def _add_handler(
        self, node: Node, exceptions: list[str], value: Value, module: Module, site: Site | None, kind: str
    ) -> None:
        function = self.function(value[1], module) if value[0] == "ref" else None
        if function is None and value[0] == "ref":
            found = self.klass(value[1], module)
            if found is not None:
                for method in ("dispatch", "__call__", "process_exception"):
                    function = self.function(f"{found[1].qualname}.{method}", found[0])
                    if function:
                        break
        if function is not None and function[1].span is not None:
            site = Site(function[0].path, function[1].span)
        self._pending_handlers.append((node, Handler(exceptions, function, site, kind)))

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
                self._pending_hooks.append((None, hook))
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
                self._add_handler(owner, [_exception_text(exception)], target, module, site, "handler")
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
                self._add_handler(owner, [_exception_text(exception)], target, module, site, "handler")
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
        if child[0] == "str":  # Django include("app.urls")
            target = self.find_module(child[1], module)
            if target is not None:
                node = self.nodes.get((target.path, "urlpatterns"))
                if node is not None:
                    owner.children.append((prefix, node))
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
        found = self.function(handler[1], module)
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
                methods = [m.upper() for m in names if m.upper() in _HTTP_METHODS] or defaults or ["*"]
            site = class_site or site
        self.endpoints.append(Endpoint(owner.framework, owner, path, tuple(methods), functions, cls_name, site))

    def _class_view(
        self, ref: str, near: Module
    ) -> tuple[str, list[tuple[Module, FunctionFacts]], list[str], Site | None] | None:
        found = self.klass(ref, near)
        if found is None:
            return None
        module, cls = found
        row = next((self._views[b] for b in self.class_bases(ref, near) if b in self._views), None)
        if row is None:
            return None
        functions = []
        for name in row["handlers"]:
            method = module.functions.get(module.local(f"{cls.qualname}.{name}"))
            if method is not None:
                functions.append((module, method))
        site = Site(module.path, cls.span) if cls.span else None
        return cls.qualname, functions, list(row.get("methods", ())), site

    # ----------------------------------------------------------------- apps

    def _apps(self) -> list[App]:
        apps: list[App] = []
        django_seen: set[str] = set()
        for node in self.nodes.values():
            if node.role != "app" or node.mounted or node.fact is None:
                continue
            fact = node.fact
            if fact.function is not None and (node.framework == "django" or not self._is_factory(node)):
                continue
            if node.framework == "django":
                settings = self._django_settings(node.module)
                key = settings.path if settings is not None else node.module.stem.rpartition("/")[0]
                if key in django_seen:
                    continue
                django_seen.add(key)
            apps.append(self._app(node))
        return apps

    def _is_factory(self, node: Node) -> bool:
        fact = node.fact
        assert fact is not None and fact.function is not None
        function = node.module.functions.get(node.module.local(fact.function))
        return function is not None and fact.ref in function.returned_refs

    def _app(self, node: Node) -> App:
        module = node.module
        endpoints: list[Endpoint] = []
        reachable = self._reachable(node)
        for endpoint in self.endpoints:
            if endpoint.owner is not None and endpoint.owner.key in reachable:
                prefix = reachable[endpoint.owner.key]
                full = None if endpoint.path is None or prefix is None else join_route(prefix, endpoint.path)
                endpoints.append(dataclasses.replace(endpoint, path=full))
        hooks, unknown = self._hooks_of(node, reachable)
        handlers = [h for owner, h in self._pending_handlers if owner is not None and owner.key in reachable]
        modules = self._closure(node, reachable, hooks, endpoints)
        keys = {m.path for m in modules}
        if node.framework == "django":
            hooks += self._django_hooks(modules)
            handlers += self._django_handlers(modules)
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
            if owner is None or owner.module.path not in keys or owner.role == "app":
                continue
            if not endpoint.functions or id(endpoint.functions[0][1]) not in attached:
                path = join_route(owner.prefix, endpoint.path) if endpoint.path else None
                scope_endpoints.append(dataclasses.replace(endpoint, path=path))
        stores = [Store(s.kind, s.ctor, Site(m.path, s.span)) for m in modules for s in m.facts.get(STORES)]
        if node.framework == "django":
            stores += self._django_stores(modules)
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
            settings = self._django_settings(root.module)
            urlconf = self._django_urlconf(settings) if settings is not None else None
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
        for owner, hook in self._pending_hooks:
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

    # ----------------------------------------------------------------- Django

    def _django_settings(self, near: Module) -> Module | None:
        for key, value in near.facts.get(ENVIRON):
            if self._settings.get(key) == "settings-module" and value_str(value):
                found = self.find_module(value_str(value) or "", near)
                if found is not None:
                    return found
        candidates = [m for m in self.modules if any(self._settings.get(n) == "root-urlconf" for n in m.assigns)]
        if not candidates:
            return None
        return max(candidates, key=lambda m: _common_prefix(m.stem, near.stem))

    def _django_urlconf(self, settings: Module) -> Node | None:
        """The root URLconf named by ROOT_URLCONF in the settings (or the settings it star-imports)."""
        candidates = [settings] + [m for m in self.modules if m is not settings]
        candidates.sort(key=lambda m: -_common_prefix(m.stem, settings.stem))
        for module in candidates:
            for name, assigns in module.assigns.items():
                if self._settings.get(name) == "root-urlconf":
                    dotted = value_str(assigns[-1].value)
                    target = self.find_module(dotted, module) if dotted else None
                    if target is not None:
                        return self.nodes.get((target.path, "urlpatterns"))
        return None

    def _django_stores(self, modules: list[Module]) -> list[Store]:
        stores = []
        for module in modules:
            for name, assigns in module.assigns.items():
                if self._settings.get(name) != "databases":
                    continue
                assign = assigns[-1]
                engines = [v for v in _strings(assign.value) if ".backends." in v]
                if engines and all(e.endswith(".dummy") for e in engines):
                    continue
                stores.append(Store("sql", "DATABASES", Site(module.path, assign.span)))
        return stores

    def _django_handlers(self, modules: list[Module]) -> list[Handler]:
        """``handler500`` in a URLconf, and ``MIDDLEWARE`` classes defining ``process_exception``."""
        handlers: list[Handler] = []
        for module in modules:
            for name, assigns in module.assigns.items():
                role = self._settings.get(name)
                assign = assigns[-1]
                site = Site(module.path, assign.span)
                if role == "handler" and name == "handler500":
                    dotted = value_str(assign.value) or (assign.value[1] if assign.value[0] == "ref" else "")
                    function = self.function(dotted, module) if dotted else None
                    handlers.append(Handler(["500"], function, site, "handler"))
                elif role == "middleware":
                    for item in value_items(assign.value):
                        found = self.klass(value_str(item) or "", module) if value_str(item) else None
                        if found is None or "process_exception" not in found[1].methods:
                            continue
                        method = self.function(f"{found[1].qualname}.process_exception", found[0])
                        handlers.append(Handler([], method, site, "middleware"))
        return handlers

    def _django_hooks(self, modules: list[Module]) -> list[Hook]:
        hooks: list[Hook] = []
        keys = {m.path for m in modules}
        for owner, hook in self._pending_hooks:
            if owner is None and isinstance(hook, Hook) and hook.module.path in keys:
                hooks.append(hook)
        method_rows = [r for r in self._hooks if r["form"] == "method"]
        for module in modules:
            for cls in module.facts.get(CLASSES):
                bases = set(self.class_bases(cls.qualname, module))
                for row in method_rows:
                    base, _, method = row["name"].rpartition(".")
                    if base in bases and method in cls.methods:
                        function = module.functions.get(module.local(f"{cls.qualname}.{method}"))
                        if function is not None:
                            note = (
                                "`AppConfig.ready()`: it runs before the app serves, but Django warns against "
                                "database access there; prefer a check registered with "
                                "`django.core.checks.register(Tags.database)` run by "
                                "`manage.py check --database default`"
                            )
                            hooks.append(
                                Hook(module, function, False, f"{cls.qualname.rpartition('.')[2]}.{method}", note)
                            )
        return hooks

    # ----------------------------------------------------------------- data-store effects

    def resolve_origin(self, origin: Origin, near: Module, depth: int = 0) -> tuple[str, str] | None:
        """What an origin is: ("handle", kind), ("model", ref of an ORM class) or None."""
        if depth > 6:
            return None
        kind = origin[0]
        if kind == "handle":
            return ("handle", origin[1])
        if kind == "manager":
            return ("handle", origin[1])
        ref = origin[1]
        if not ref:
            return None
        if ref in self._handles:
            return ("handle", self._handles[ref])
        if kind == "ref":
            parts = ref.split(".")
            for size in range(len(parts), 0, -1):
                prefix = ".".join(parts[:size])
                found = self._deref(prefix, near, "bindings")
                if found is not None:
                    return self.resolve_origin(found[1], found[0], depth + 1)
        if kind in ("ref", "instance", "call"):
            model = self._model_of(ref, near)
            if model is not None:
                return ("model", model)
            found_binding = self._deref(ref, near, "bindings")
            if found_binding is not None and kind != "ref":
                return self.resolve_origin(found_binding[1], found_binding[0], depth + 1)
            function = self.function(ref, near)
            if function is not None and kind == "call":
                for returned in function[1].returns:
                    resolved = self.resolve_origin(returned, function[0], depth + 1)
                    if resolved is not None:
                        return resolved
        return None

    def _model_of(self, ref: str, near: Module) -> str | None:
        for base in self.class_bases(ref, near):
            if base in self._models:
                return base
        return None

    def io_of(self, site: IoSite, near: Module) -> tuple[str, str, bool] | None:
        """(kind, effect, confirmed) of an I/O site, resolving its receiver; None if it is not I/O."""
        if site.origin is None:
            if site.kind is None or site.effect is None:
                return None
            return site.kind, site.effect, site.confirmed
        resolved = self.resolve_origin(site.origin, near)
        if resolved is not None and resolved[0] == "handle":
            for row in self._methods.get(site.method, ()):
                if row["kind"] == resolved[1]:
                    return row["kind"], row["effect"], True
        elif resolved is not None and resolved[0] == "model":
            row = self._models[resolved[1]]
            if site.method in row.get("class-methods", ()) or site.method in row.get("instance-methods", ()):
                return row["kind"], "io", True
        probes = [r for r in self._methods.get(site.method, ()) if r.get("probe")]
        if resolved is None and probes:
            return probes[0]["kind"], "io", False
        return None

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
    ) -> list[Effect]:
        """Data-store calls reached from ``function`` through project calls, with swallowing guards.

        A guard that reports the failure through a return value the caller uses (``return False``)
        does not swallow it, unless ``trust_results`` is off (a health route must turn it into a status).
        """
        self._trust = trust_results
        return self._effects(module, function, before_yield, main_ok, uses_result and trust_results, top, 0, set())

    def _effects(
        self,
        module: Module,
        function: FunctionFacts,
        before_yield: bool,
        main_ok: bool,
        uses_result: bool,
        top: bool,
        depth: int,
        seen: set[tuple[str, str]],
    ) -> list[Effect]:
        key = (module.path, function.qualname)
        if key in seen or depth > 8:
            return []
        seen = seen | {key}
        out: list[Effect] = []

        def swallowed_by(index: int | None, caller_uses: bool) -> tuple[Site | None, bool]:
            if index is None:
                return None, False
            guard = function.guards[index]
            # An error status answered by a helper is only a return value: the route decides the status.
            swallows = not guard.reraises and not guard.exits_later and (not top or guard.answer != "error")
            if not swallows or (guard.returns_value and caller_uses):
                return None, False
            site = Site(module.path, guard.span) if guard.span is not None else Site(module.path, Span())
            return site, guard.answer == "ok"

        for site in function.io:
            if (before_yield and site.after_yield) or (site.main_guard and not main_ok):
                continue
            found = self.io_of(site, module)
            if found is None:
                continue
            swallowed, answered = swallowed_by(site.guard, uses_result)
            out.append(
                Effect(
                    found[0],
                    found[1],
                    found[2],
                    swallowed,
                    function.qualname,
                    answered and top,
                    guarded=site.guard is not None,
                    at=site.span,
                    label=site.method,
                )
            )
        for call in function.calls:
            if (before_yield and call.after_yield) or (call.main_guard and not main_ok):
                continue
            if call.target in self._probe_callables:
                swallowed, answered = swallowed_by(call.guard, uses_result)
                for kind in ("sql", "redis", "mongo"):
                    out.append(Effect(kind, "io", True, swallowed, function.qualname, answered and top))
                continue
            target = self.function(call.target, module)
            if target is None:
                continue
            uses = call.result_used and self._trust
            inner = self._effects(target[0], target[1], False, False, uses, False, depth + 1, seen)
            swallowed, answered = swallowed_by(call.guard, uses_result)
            for effect in inner:
                if effect.swallowed is None and swallowed is not None:
                    effect = dataclasses.replace(effect, swallowed=swallowed, answered_ok=answered and top)
                effect = dataclasses.replace(
                    effect,
                    guarded=effect.guarded or call.guard is not None,
                    at=call.span,
                    label=call.target.rpartition(".")[2],
                )
                out.append(effect)
        return out

    def probe_hints(
        self, module: Module, function: FunctionFacts, depth: int = 0, seen: set[str] | None = None
    ) -> list[str]:
        """Calls that may probe a store but cannot be resolved (``await container.check_db()``)."""
        seen = seen if seen is not None else set()
        if function.qualname in seen or depth > 6:
            return []
        seen.add(function.qualname)
        hints = list(function.probe_names)
        for call in function.calls:
            target = self.function(call.target, module)
            if target is not None:
                hints += self.probe_hints(target[0], target[1], depth + 1, seen)
            elif _probe_name(call.target.rpartition(".")[2]) and self.split(call.target, module) is not None:
                hints.append(call.target)
        return hints

    def endpoint_io(self, endpoint: Endpoint) -> list[Effect]:
        """Data-store calls an endpoint makes, directly or through project functions (confirmed only)."""
        out: list[Effect] = []
        for module, function in endpoint.functions:
            out += [e for e in self.effects(module, function) if e.confirmed]
        return out

    # ----------------------------------------------------------------- questions for rules

    def health_endpoints(self, app: App, *, scope: bool = False) -> list[Endpoint]:
        return [e for e in (app.scope_endpoints if scope else app.endpoints) if self.is_health(e)]

    def is_health(self, endpoint: Endpoint) -> bool:
        """A health route: its path matches ``health-path-regex``, or (path unknown) its name looks like one."""
        if endpoint.path is not None:
            pattern = re.compile(self.options.get("health-path-regex", _HEALTH_PATH), re.IGNORECASE)
            return bool(pattern.search("/" + endpoint.path.lstrip("/^").rstrip("$")))
        return bool(_HEALTH_NAME.match(endpoint.name.lower()))

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


_HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
_HEALTH_PATH = (
    r"^/(?:[^/]+/)*_*(?:health(?:z|check|[-_]check|[-_]?status)?|livez|readyz|readiness|liveness|heartbeat)_*(?:/.*)?$"
    r"|^/(?:api/(?:v\d+/)?)?(?:ping|ready|live|status)/?$"
)
_HEALTH_NAME = re.compile(
    r"^_*(health\w*|\w*_health(check)?|healthz|readiness\w*|liveness\w*|heartbeat|ping|ready|live)$"
)
_PROBE_NAME = re.compile(r"(^|_)(check|ping|probe|verify|wait_for|ready|readiness|health|healthy|test)(_|$)")


def _probe_name(name: str) -> bool:
    return bool(_PROBE_NAME.search(name.lower()))


def build_model(modules: Sequence[ModuleFacts], project: Any, options: dict[str, Any]) -> ProjectModel:
    """The model for this run, built once and shared by every project rule (``ProjectContext.cache``)."""
    key = ("framework-model", tuple(m.path for m in modules))
    model: ProjectModel | None = project.cache.get(key)
    if model is None:
        model = ProjectModel(modules, project.knowledge, options)
        project.cache[key] = model
    return model


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


def _common_prefix(a: str, b: str) -> int:
    parts_a, parts_b = a.split("/"), b.split("/")
    count = 0
    for x, y in zip(parts_a, parts_b):
        if x != y:
            break
        count += 1
    return count


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


def _strings(value: Value) -> Iterator[str]:
    if value[0] == "str":
        yield value[1]
    elif value[0] == "list":
        for item in value[1]:
            yield from _strings(item)
    elif value[0] == "dict":
        for key, item in value[1]:
            yield from _strings(key)
            yield from _strings(item)
    elif value[0] == "call":
        for item in value[2]:
            yield from _strings(item)
        for item in value[3].values():
            yield from _strings(item)


def _mentions(value: Value, module: str) -> bool:
    return any(s == module or s.startswith(module + ".") for s in _strings(value))
