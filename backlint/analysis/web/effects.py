"""Data-store effects: which calls a function makes, directly or through project functions, reach a
data store, what they do there (I/O, connect, a lazy query) and which ``except`` swallows their
failure. Receivers recorded as origins by the walk are resolved across modules here."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from backlint.analysis.web.facts import ClassFacts, FunctionFacts, IoSite, Origin
from backlint.analysis.web.modules import Module, ModuleIndex, Site, store_methods
from backlint.core.catalog import Knowledge
from backlint.core.results import Span

_PROBE_NAME = re.compile(r"(^|_)(check|ping|probe|verify|wait_for|ready|readiness|health|healthy|test)(_|$)")
_STORE_KINDS = ("sql", "redis", "mongo")  # what a configured ``startup-probe-callables`` entry probes


@dataclasses.dataclass
class Store:
    """A data-store client an app creates (an engine, pool, client) or configures (Django DATABASES)."""

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


@dataclasses.dataclass(frozen=True)
class StoreTables:
    """The data-store tables the effects are resolved with, indexed once per Knowledge."""

    handles: dict[str, str]
    methods: dict[str, list[dict[str, Any]]]
    models: dict[str, dict[str, Any]]

    @classmethod
    def build(cls, knowledge: Knowledge) -> StoreTables:
        methods = store_methods(knowledge)  # datastore-methods and the store-probes table's methods
        return cls(
            handles={
                r["name"]: r["kind"] for r in knowledge.rows("datastore-clients") if r["role"] in ("handle", "type")
            },
            methods=methods,
            models={r["name"]: r for r in knowledge.rows("datastore-models")},
        )


class Effects:
    """Resolves receivers and follows project calls to the data-store calls they make."""

    def __init__(self, index: ModuleIndex, knowledge: Knowledge, options: dict[str, Any]) -> None:
        self.index = index
        self.tables = knowledge.derived(StoreTables.build)
        self.probe_callables = frozenset(options.get("startup-probe-callables", ()))

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
        if ref in self.tables.handles:
            return ("handle", self.tables.handles[ref])
        if kind == "ref":
            parts = ref.split(".")
            for size in range(len(parts), 0, -1):
                prefix = ".".join(parts[:size])
                found = self.index.deref(prefix, near, "bindings")
                if found is not None:
                    return self.resolve_origin(found[1], found[0], depth + 1)
        if kind in ("ref", "instance", "call"):
            model = self._model_of(ref, near)
            if model is not None:
                return ("model", model)
            found_binding = self.index.deref(ref, near, "bindings")
            if found_binding is not None and kind != "ref":
                return self.resolve_origin(found_binding[1], found_binding[0], depth + 1)
            function = self.index.function(ref, near)
            if function is not None and kind == "call":
                for returned in function[1].returns:
                    resolved = self.resolve_origin(returned, function[0], depth + 1)
                    if resolved is not None:
                        return resolved
        return None

    def _model_of(self, ref: str, near: Module) -> str | None:
        for base in self.index.class_bases(ref, near):
            if base in self.tables.models:
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
            for row in self.tables.methods.get(site.method, ()):
                if row["kind"] == resolved[1]:
                    return row["kind"], row["effect"], True
        elif resolved is not None and resolved[0] == "model":
            row = self.tables.models[resolved[1]]
            if site.method in row.get("class-methods", ()) or site.method in row.get("instance-methods", ()):
                return row["kind"], "io", True
        probes = [r for r in self.tables.methods.get(site.method, ()) if r.get("probe")]
        if resolved is None and probes:
            return probes[0]["kind"], "io", False
        return None

    def bound_method(self, ref: str, near: Module) -> tuple[Module, FunctionFacts] | None:
        """A hook that is a store's own method (``on_startup=[database.connect]``), as a one-call function."""
        receiver, _, method = ref.rpartition(".")
        if not receiver or method not in self.tables.methods:
            return None
        resolved = self.resolve_origin(("ref", receiver), near)
        if resolved is None or resolved[0] != "handle":
            return None
        site = IoSite(method, None, None, origin=("ref", receiver))
        return near, FunctionFacts(ref, method, None, None, [], [], True, io=[site])

    def callee(self, ref: str, near: Module, *, nested: bool = False) -> tuple[Module, FunctionFacts] | None:
        """The project function a call of ``ref`` runs: a function, or a method of a project class
        called on an instance bound to a name (``db.fetchone()`` with ``db = Database(...)`` in
        another module), looked up through the class's project bases; with ``nested``, also a function
        defined inside the caller (``pkg.mod.configure_redis:ping_redis``)."""
        found = self.index.function(ref, near)
        if found is not None:
            return found
        if ":" in ref:
            return self.index.function(ref.replace(":", "."), near) if nested else None
        receiver, _, method = ref.rpartition(".")
        if not receiver or not method:
            return None
        cls = self._instance_class(receiver, near)
        if cls is None:
            return None
        owner, klass = cls
        for name in (klass.qualname, *self.index.class_bases(klass.qualname, owner)):
            found = self.index.function(f"{name}.{method}", owner)
            if found is not None:
                return found
        return None

    def _instance_class(self, ref: str, near: Module, depth: int = 0) -> tuple[Module, ClassFacts] | None:
        """The project class of the instance a name is bound to (``db = Database(...)``), if known."""
        binding = self.index.deref(ref, near, "bindings") if depth < 4 else None
        if binding is None:
            return None
        module, origin = binding
        if origin[0] == "instance":
            return self.index.klass(origin[1], module)
        if origin[0] == "ref" and origin[1] != ref:
            return self._instance_class(origin[1], module, depth + 1)
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
        nested: bool = False,
    ) -> list[Effect]:
        """Data-store calls reached from ``function`` through project calls, with swallowing guards.

        A guard that reports the failure through a return value the caller uses (``return False``)
        does not swallow it, unless ``trust_results`` is off (a health route must turn it into a status).
        ``nested``: follow functions defined inside the callers too (a startup path's retrying
        ``ping_redis()`` defined in ``configure_redis()``).
        """
        walk = _Walk(self, trust_results, nested)
        return walk.effects(module, function, before_yield, main_ok, uses_result and trust_results, top, 0, set())

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
            if call.spawned:
                continue
            target = self.callee(call.target, module, nested=True)
            if target is not None:
                hints += self.probe_hints(target[0], target[1], depth + 1, seen)
            elif _probe_name(call.target.rpartition(".")[2]) and self.index.split(call.target, module) is not None:
                hints.append(call.target)
        return hints


class _Walk:
    """One ``Effects.effects`` question: whether results returned to callers are trusted."""

    def __init__(self, effects: Effects, trust: bool, nested: bool = False) -> None:
        self.owner = effects
        self.trust = trust
        self.nested = nested

    def effects(
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
            if not swallows or (guard.returns_value and caller_uses) or (guard.degrades and self.trust):
                return None, False
            site = Site(module.path, guard.span) if guard.span is not None else Site(module.path, Span())
            return site, guard.answer == "ok"

        for site in function.io:
            if (before_yield and site.after_yield) or (site.main_guard and not main_ok) or site.spawned:
                continue
            found = self.owner.io_of(site, module)
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
            if (before_yield and call.after_yield) or (call.main_guard and not main_ok) or call.spawned:
                continue  # background work started here (task-spawners) is not part of this path
            if call.target in self.owner.probe_callables:
                swallowed, answered = swallowed_by(call.guard, uses_result)
                for kind in _STORE_KINDS:
                    out.append(Effect(kind, "io", True, swallowed, function.qualname, answered and top))
                continue
            target = self.owner.callee(call.target, module, nested=self.nested)
            if target is None:
                continue
            uses = call.result_used and self.trust
            inner = self.effects(target[0], target[1], False, False, uses, False, depth + 1, seen)
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


def _probe_name(name: str) -> bool:
    return bool(_PROBE_NAME.search(name.lower()))
