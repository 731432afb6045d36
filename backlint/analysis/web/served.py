"""Endpoints as served: each handler function with its endpoint (full path when known), its app and
its ``BodyFacts``, and the module-level facts of the run, for the endpoint rules."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from typing import Any

from backlint.analysis.web.bodies import BODIES, EXTRAS, BodyFacts, ModuleExtras
from backlint.analysis.web.facts import FunctionFacts
from backlint.analysis.web.model import App, ProjectModel, build_model
from backlint.analysis.web.modules import Module
from backlint.analysis.web.routing import Endpoint, join_route
from backlint.core.results import ModuleFacts, Span


@dataclasses.dataclass
class Served:
    """An endpoint handler function as served: its endpoint (full path when known) and app, if any."""

    endpoint: Endpoint
    app: App | None
    module: Module
    function: FunctionFacts
    body: BodyFacts | None

    @property
    def name(self) -> str:
        cls = self.function.cls
        return f"{cls.rpartition('.')[2]}.{self.function.name}" if cls else self.function.name

    @property
    def site(self) -> tuple[str, Span] | None:
        span = self.function.span or (self.body.span if self.body else None)
        return (self.module.path, span) if span is not None else None  # not resolved: spans are lazy


class EndpointIndex:
    """BodyFacts and ModuleExtras of a run, joined with the framework model's endpoints."""

    def __init__(self, modules: Sequence[ModuleFacts], model: ProjectModel) -> None:
        self.model = model
        self.bodies: dict[tuple[str, str], BodyFacts] = {}
        self.extras: dict[str, tuple[ModuleFacts, ModuleExtras]] = {}
        for facts in modules:
            for body in facts.get(BODIES):
                self.bodies[(facts.path, body.qualname)] = body
            for extras in facts.get(EXTRAS):
                self.extras[facts.module] = (facts, extras)
        self._by_qualname: dict[str, list[tuple[str, BodyFacts]]] = {}
        for (path, qualname), body in self.bodies.items():
            self._by_qualname.setdefault(qualname, []).append((path, body))
        self.served = self._served()

    def body(self, module: Module, function: FunctionFacts) -> BodyFacts | None:
        return self.bodies.get((module.path, function.qualname))

    def _served(self) -> list[Served]:
        out: list[Served] = []
        seen: set[tuple[str, str]] = set()

        def add(endpoint: Endpoint, app: App | None) -> None:
            for module, function in endpoint.functions:
                key = (module.path, function.qualname)
                if key not in seen:
                    seen.add(key)
                    out.append(Served(endpoint, app, module, function, self.body(module, function)))

        apps = self.model.apps
        for app in apps:  # routes proven attached to an app first: in a repo with several apps
            for endpoint in app.endpoints:  # (a Django project's scope is every module) they win
                add(endpoint, app)
        for app in apps:
            for endpoint in app.scope_endpoints:
                if endpoint.framework == app.framework:
                    add(endpoint, app)
        for endpoint in self.model.endpoints:
            prefix = endpoint.owner.prefix if endpoint.owner is not None else ""
            path = join_route(prefix, endpoint.path) if endpoint.path is not None else None
            add(dataclasses.replace(endpoint, path=path), None)
        return out

    def extra(self, ref: str) -> tuple[ModuleFacts, ModuleExtras, str] | None:
        """The module-level facts holding ``ref`` (``pkg.fake_db.fake_users``) and the local name."""
        module, _, name = ref.rpartition(".")
        while module:
            found = self.extras.get(module)
            if found is not None:
                return found[0], found[1], name
            module, _, head = module.rpartition(".")
            name = f"{head}.{name}"
        return None

    def bases(self, ref: str, depth: int = 0) -> Iterator[str]:
        """Base classes of a module-level class, transitively, from the collector's module facts."""
        found = self.extra(ref) if depth < 8 else None
        if found is None:
            return
        for base in found[1].classes.get(found[2], ()):
            yield base
            yield from self.bases(base, depth + 1)

    def callees(self, module: Module, function: FunctionFacts) -> Iterator[tuple[Module, FunctionFacts]]:
        """Project functions ``function`` calls or depends on (FastAPI ``Depends``), one level."""
        body = self.body(module, function)
        targets = [c.target for c in function.calls] + (body.depends if body is not None else [])
        seen: set[str] = set()
        for target in targets:
            found = self.model.function(target, module)
            if found is not None and found[1].qualname not in seen and found[1] is not function:
                seen.add(found[1].qualname)
                yield found

    def callee_bodies(self, module: Module, function: FunctionFacts) -> Iterator[tuple[str, BodyFacts]]:
        """(path, BodyFacts) of the functions ``function`` calls or depends on, one level; also those in
        modules the framework collector skipped (a plain service module), found by qualified name."""
        body = self.body(module, function)
        targets = [c.target for c in function.calls] + (body.depends if body is not None else [])
        found_in_model = {f.qualname for _, f in self.callees(module, function)}
        for callee_module, callee in self.callees(module, function):
            callee_body = self.body(callee_module, callee)
            if callee_body is not None:
                yield callee_module.path, callee_body
        for target in dict.fromkeys(targets):
            if target not in found_in_model:
                yield from self._by_qualname.get(target, ())

    def nested(self, module: Module, function: FunctionFacts) -> Iterator[BodyFacts]:
        """BodyFacts of functions defined inside ``function`` (a decorator's wrapper)."""
        prefix = function.qualname + "."
        for (path, qualname), body in self.bodies.items():
            if path == module.path and qualname.startswith(prefix):
                yield body


def endpoint_index(modules: Sequence[ModuleFacts], project: Any, options: dict[str, Any]) -> EndpointIndex:
    """The index for this run, built once and shared by every endpoint rule."""
    model = build_model(modules, project, options)
    key = ("endpoint-index", id(model))
    index = project.cache.get(key)
    if index is None:
        index = EndpointIndex(modules, model)
        project.cache[key] = index
    return index  # type: ignore[no-any-return]
