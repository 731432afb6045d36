"""BL6xx: an app must prove its data stores reachable at startup, and expose an honest health route.

These are project rules: the app is built in one module, its engine in another, its routes in a
third. Each is judged per app object on the framework model, and reported
on the line that constructs the app.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator

from backlint.analysis.deploy_probes import Probe, probes
from backlint.analysis.web.effects import Effect, Store
from backlint.analysis.web.facts import STORES, FunctionFacts
from backlint.analysis.web.model import App, ProjectModel, build_model
from backlint.analysis.web.modules import Module, Site
from backlint.analysis.web.routing import Endpoint
from backlint.analysis.web.served import EndpointIndex, endpoint_index
from backlint.core.facts import ProjectFinding, ProjectRule
from backlint.core.patterns import compile_pattern
from backlint.core.results import Fix, ModuleFacts, RelatedLocation, Span

_KIND_NAMES = {"sql": "the SQL database", "redis": "Redis", "mongo": "MongoDB", "queue": "the task queue"}
_PROBES = {"sql": "`SELECT 1`", "redis": "`ping()`", "mongo": '`admin.command("ping")`'}
_MAX_RELATED = 4


class _AppRule(ProjectRule):
    """Shared plumbing: the model of this run, and findings on the app's construction line."""

    def model(self, modules: list[ModuleFacts]) -> ProjectModel:
        return build_model(modules, self.project, self.options)

    def finding(
        self, app: App, message: str, related: Iterable[RelatedLocation] = (), level: str | None = None
    ) -> ProjectFinding:
        return ProjectFinding(self.id, app.site.path, app.site.span, message, level, list(related)[:_MAX_RELATED])


def _stores_by_kind(app: App) -> dict[str, list[Store]]:
    kinds: dict[str, list[Store]] = defaultdict(list)
    for store in app.stores:
        kinds[store.kind].append(store)
    return kinds


def _startup_effects(model: ProjectModel, app: App, *, noted: bool = True) -> list[Effect]:
    """Data-store calls reached at startup; ``noted=False`` leaves out hooks that carry a caveat."""
    effects: list[Effect] = []
    for hook in app.hooks:
        if hook.note and not noted:
            continue
        main_ok = hook.module is app.node.module
        effects += model.effects(
            hook.module,
            hook.function,
            before_yield=hook.before_yield,
            main_ok=main_ok,
            uses_result=hook.result_used,
            nested=True,
        )
    return [e for e in effects if e.effect != "lazy"]


def _startup_hints(model: ProjectModel, app: App) -> list[str]:
    hints: list[str] = []
    for hook in app.hooks:
        hints += model.probe_hints(hook.module, hook.function)
    return hints


def _store_related(stores: list[Store]) -> list[RelatedLocation]:
    return [
        s.site.related(f"{_KIND_NAMES.get(s.kind, s.kind)} client created here (`{s.ctor.rpartition('.')[2]}`)")
        for s in stores
    ]


# Startup contexts that only build the app: module import, the factory. The other hooks are what the app
# declares to run before it serves (a lifespan, ``on_startup``, aiohttp's ``on_startup``/``cleanup_ctx``,
# Quart's ``before_serving``, Django's ``AppConfig.ready`` and system checks).
_CONSTRUCTION = frozenset({"app factory", "module level", "app module"})
_SETUP_DEPTH = 6


def _set_up_at_startup(model: ProjectModel, app: App) -> dict[str, list[tuple[str, Site]]]:
    """Store kinds whose client a startup hook the app declares creates (directly or through the project
    functions it calls), with the hook's label and where the client is created."""
    out: dict[str, list[tuple[str, Site]]] = defaultdict(list)
    for hook in app.hooks:
        if hook.label in _CONSTRUCTION:
            continue
        pending = [(hook.module, hook.function, 0)]
        seen: set[tuple[str, str]] = set()
        while pending:
            module, function, depth = pending.pop()
            if (module.path, function.qualname) in seen or depth > _SETUP_DEPTH:
                continue
            seen.add((module.path, function.qualname))
            for store in module.facts.get(STORES):
                if store.function == function.qualname:
                    out[store.kind].append((hook.label, Site(module.path, store.span)))
            for call in function.calls:
                if hook.before_yield and depth == 0 and call.after_yield:
                    continue
                found = model.store_effects.callee(call.target, module, nested=True)
                if found is not None:
                    pending.append((found[0], found[1], depth + 1))
    return out


class NoStartupDatastoreCheck(_AppRule):
    """A startup hook the app declares sets up a data store's client, and no startup path runs a round trip
    against it; with ``require-startup-check``, any app that uses a store without such a probe (a note)."""

    id = "BL601"

    def check(self, modules: list[ModuleFacts]) -> list[ProjectFinding]:
        model = self.model(modules)
        strict = bool(self.options.get("require-startup-check"))
        out: list[ProjectFinding] = []
        for app in model.apps:
            kinds = _stores_by_kind(app)
            if not kinds or app.unknown_hooks:
                continue
            effects = _startup_effects(model, app)
            if _startup_hints(model, app):
                continue
            gated = _readiness_kinds(model, endpoint_index(modules, self.project, self.options), app)
            kinds = {k: v for k, v in kinds.items() if k not in gated}
            if not kinds:
                continue
            missing = [k for k in kinds if not any(e.kind == k and e.effect == "io" for e in effects)]
            if not missing:
                plain = _startup_effects(model, app, noted=False)
                caveats = [k for k in kinds if not any(e.kind == k and e.effect == "io" for e in plain)]
                notes = [h.note for h in app.hooks if h.note]
                if caveats and notes:
                    message = (
                        f"`{app.name}` probes {_KIND_NAMES.get(caveats[0], caveats[0])} at startup only in {notes[0]}"
                    )
                    out.append(self.finding(app, message, level="note"))
                continue
            connect_only = [k for k in missing if any(e.kind == k for e in effects)]
            never = [k for k in missing if k not in connect_only]
            if never:
                set_up = _set_up_at_startup(model, app)
                prepared = [k for k in never if set_up.get(k)]
                if prepared:
                    out.append(self._prepared(app, prepared, set_up))
                elif strict:
                    out.append(self._literal(app, never, [s for k in never for s in kinds[k]]))
            else:
                stores = [s for k in missing for s in kinds[k]]
                names = " and ".join(_KIND_NAMES.get(k, k) for k in connect_only)
                message = (
                    f"`{app.name}` connects to {names} at startup but never runs a round-trip query "
                    f"({' / '.join(_PROBES.get(k, 'a test query') for k in connect_only)}): a connection can open "
                    "while queries still fail (wrong database, missing grants)"
                )
                out.append(self.finding(app, message, _store_related(stores), level="note"))
        return out

    def _prepared(self, app: App, kinds: list[str], set_up: dict[str, list[tuple[str, Site]]]) -> ProjectFinding:
        """The startup hook creates the client and leaves it untested: the app reports itself started while
        the store may be unreachable (clients connect lazily), and the hook is where one round trip belongs."""
        hook = set_up[kinds[0]][0][0]
        names = " and ".join(_KIND_NAMES.get(k, k) for k in kinds)
        probes = " / ".join(_PROBES.get(k, "a test query") for k in kinds)
        message = (
            f"`{app.name}`'s startup hook `{hook}` sets up {names} but never runs a round trip against "
            f"{'them' if len(kinds) > 1 else 'it'} "
            f"({probes}): clients connect lazily, so the app reports itself started while a wrong URL or a store "
            "that is down is found by the first request; probe it there and let a failure stop the app"
        )
        related = [
            site.related(f"{_KIND_NAMES.get(k, k)} client created at startup here")
            for k in kinds
            for _, site in set_up[k]
        ]
        return self.finding(app, message, related)

    def _literal(self, app: App, kinds: list[str], stores: list[Store]) -> ProjectFinding:
        """``require-startup-check``: the app uses the store and nothing at startup probes it (a note: the
        app's own design, lazy connection on the first request, is what it relies on)."""
        names = " and ".join(_KIND_NAMES.get(k, k) for k in kinds)
        probes = " / ".join(_PROBES.get(k, "a test query") for k in kinds)
        message = (
            f"`{app.name}` uses {names} but no startup path connects and runs a test query ({probes}): "
            "clients connect lazily, so a wrong URL or a store that is down is found by the first "
            "request instead of at deploy (`require-startup-check` asks for a probe in every app)"
        )
        return self.finding(app, message, _store_related(stores), level="note")


class StartupCheckFailureSwallowed(_AppRule):
    """The startup probe's failure is caught and the app starts anyway."""

    id = "BL602"

    def check(self, modules: list[ModuleFacts]) -> list[ProjectFinding]:
        model = self.model(modules)
        out: list[ProjectFinding] = []
        for app in model.apps:
            kinds = _stores_by_kind(app)
            if not kinds:
                continue
            effects = _startup_effects(model, app)
            swallowed: list[Effect] = []
            for kind in kinds:
                probes = [e for e in effects if e.kind == kind]
                if any(e.swallowed is None and e.effect == "io" for e in probes):
                    continue
                swallowed += [e for e in probes if e.swallowed is not None]
            if not swallowed:
                continue
            names = " and ".join(sorted({_KIND_NAMES.get(e.kind, e.kind) for e in swallowed}))
            sites: list[Site] = []
            for effect in swallowed:
                if effect.swallowed is not None and effect.swallowed not in sites and effect.swallowed.span.line:
                    sites.append(effect.swallowed)
            message = (
                f"`{app.name}` probes {names} at startup but swallows the failure: the except clause neither "
                "re-raises nor exits, so the app starts without its database and fails on every request; "
                "log the error and re-raise (or `sys.exit(1)`)"
            )
            out.append(self.finding(app, message, [s.related("the probe's failure is swallowed here") for s in sites]))
        return out


class MissingHealthEndpoint(_AppRule):
    """The project's own deployment files probe an HTTP path that no route of the app serves.

    A Dockerfile ``HEALTHCHECK``, a Kubernetes/Helm ``httpGet`` probe, a compose health check, a
    platform's health-check path (``analysis/deploy_probes.py``): the orchestrator then marks every
    instance unhealthy. A probe applies to the apps under the nearest directory above its file that
    holds project modules. Whether an app needs a health route at all is a deployment choice: with
    ``require-health-endpoint`` every app that serves routes and has none is reported too.

    Absence is claimed only when the app's routes are all seen: a router of its framework that is
    attached to no app and has no route the walk saw (registered through code it cannot follow, such
    as ``importlib`` over a list of blueprint modules) may hold the route.
    """

    id = "BL603"

    def check(self, modules: list[ModuleFacts]) -> list[ProjectFinding]:
        model = self.model(modules)
        literal = bool(self.options.get("require-health-endpoint"))
        judged = [a for a in model.apps if a.scope_endpoints and not a.health_packages and not a.routes_unseen]
        out: list[ProjectFinding] = []
        unserved: dict[int, list[Probe]] = defaultdict(list)
        for probe in probes(self.project.deployment):
            apps = [a for a in model.apps if _under(a.site.path, probe.scope)]
            if not apps or any(_serves(model, a, probe) for a in apps):
                continue
            for app in apps:
                if app in judged:
                    unserved[id(app)].append(probe)
        for app in judged:
            found = unserved.get(id(app))
            if found:
                paths = ", ".join(dict.fromkeys(f"`{p.path}`" for p in found))
                first = found[0]
                message = (
                    f"`{app.name}` serves no route for {paths}, which the project's {first.source} probes: the "
                    "orchestrator will mark every instance unhealthy (restart it, keep traffic away); add the "
                    "route or point the probe at a health route the app serves"
                )
                related = [
                    RelatedLocation(p.file, Span(p.line, 1, p.line, 1), f"{p.source} probes `{p.path}` here")
                    for p in found
                ]
                out.append(self.finding(app, message, related))
            elif literal and not model.health_endpoints(app, scope=True):
                message = (
                    f"`{app.name}` has no health endpoint (no route matches `health-path-regex`): load balancers "
                    "and orchestrators cannot tell a live instance from a broken one; add `GET /health` (and a "
                    "readiness route that probes the database)"
                )
                out.append(self.finding(app, message))
        return out


def _under(path: str, directory: str) -> bool:
    return not directory or path.startswith(directory.rstrip("/") + "/")


def _serves(model: ProjectModel, app: App, probe: Probe) -> bool:
    """Does a route of the app serve the probed path? Route parameters match a segment (a ``path``
    converter any rest); a route whose path is unknown serves it when its name says health; the
    probe may reach the app under a prefix the app does not know (a mount, ``SCRIPT_NAME``)."""
    if app.health_packages or app.routes_unseen:
        return True
    probed = probe.path.rstrip("/") or "/"
    for endpoint in app.scope_endpoints:
        if endpoint.path is None:
            if model.is_health(endpoint):
                return True
            continue
        pattern = _route_regex(endpoint.path)
        if pattern is not None and pattern.search(probed):
            return True
    return False


_PARAMETER = re.compile(r"\{(\w+)(?::(\w+))?\}|<(?:(\w+):)?\w+>")


@functools.lru_cache(maxsize=4096)
def _route_regex(path: str) -> re.Pattern[str] | None:
    """The route as a regex searched at the end of a probed path (a prefix before it may be a mount's)."""
    text = "/" + path.lstrip("^").lstrip("/")
    text = text.rstrip("$").rstrip("/") or "/"
    if text == "/":
        return re.compile(r"^/$")
    if any(token in text for token in ("(?P<", "\\d", "\\w", "[", "+", "*", "(?:")):
        body = text.replace("/^", "/").replace("$/", "/")  # a Django ``re_path`` joined to its include
    else:
        parts: list[str] = []
        last = 0
        for match in _PARAMETER.finditer(text):
            parts.append(re.escape(text[last : match.start()]))
            converter = match.group(2) or match.group(3)
            parts.append(".+" if converter == "path" else "[^/]+")
            last = match.end()
        parts.append(re.escape(text[last:]))
        body = "".join(parts)
    try:
        return re.compile(f"{body}/?$")
    except re.error:
        return None


def _endpoint_related(endpoints: list[Endpoint], message: str) -> list[RelatedLocation]:
    return [e.site.related(message) for e in endpoints if e.site is not None and e.site.span.line]


class HealthEndpointChecksNoDependency(_AppRule):
    """Health routes exist, the app uses a data store, and no health route touches it."""

    id = "BL604"

    def check(self, modules: list[ModuleFacts]) -> list[ProjectFinding]:
        model = self.model(modules)
        out: list[ProjectFinding] = []
        readiness = compile_pattern(self.options.get("readiness-path-regex", _READINESS_PATH), ignore_case=True)
        for app in model.apps:
            if not app.stores or any(checks for _, checks in app.health_packages):
                continue
            health = model.health_endpoints(app, scope=True)
            if not health or any(not e.functions for e in health):
                continue
            ready = [e for e in health if readiness.search("/" + (e.path or e.name).lstrip("/^").rstrip("$"))]
            if not ready:
                continue  # liveness routes only: shallow by design (a liveness probe must not test the database)
            index = endpoint_index(modules, self.project, self.options)
            if any(_probes(model, index, app, e) for e in health) or _probe_routes(model, index, app):
                continue
            paths = ", ".join(sorted({f"`{e.path or e.name}`" for e in ready}))
            plural = len(ready) > 1
            message = (
                f"`{app.name}`'s readiness endpoint{'s' if plural else ''} {paths} check{'' if plural else 's'} "
                "no dependency: it answers 200 while the database is down, so traffic keeps flowing to a broken "
                "instance; run `SELECT 1` (or `ping()`) there and answer 503 on failure"
            )
            out.append(self.finding(app, message, _endpoint_related(ready, "readiness endpoint")))
        return out


_CHAIN_DEPTH = 4
# A readiness route: the orchestrator routes traffic only while it answers 2xx (Kubernetes readinessProbe).
_READINESS_PATH = r"(?:^|/)_*(?:readyz?|readiness)_*(?:/|$)"
# A route whose name or last path segment says it probes the instance's dependencies.
_PROBE_ROUTE = re.compile(r"(?:^|[-_])(?:check|ping|probe|ready|readiness|health|healthy|alive)(?:[-_]|$)")
_BEFORE_REQUEST = ("before_request", "before_app_request")


def _probes(model: ProjectModel, index: EndpointIndex, app: App, endpoint: Endpoint) -> bool:
    """Does the health route touch a store (or call something that may probe one)?"""
    return any(effects or hints for effects, hints in _chain(model, index, app, endpoint))


def _readiness_kinds(model: ProjectModel, index: EndpointIndex, app: App) -> set[str]:
    """Store kinds a health route (or a probe route, ``_probe_routes``) runs a round trip against with
    its failure not swallowed: the orchestrator's readiness probe gates traffic on it, so a store that
    is down at deploy is found before any request (BL601's intent)."""
    kinds: set[str] = set()
    for endpoint in model.health_endpoints(app, scope=True):
        kinds |= _unswallowed_kinds(model, index, app, endpoint)
    for _, probed in _probe_routes(model, index, app):
        kinds |= probed
    return kinds


def _unswallowed_kinds(model: ProjectModel, index: EndpointIndex, app: App, endpoint: Endpoint) -> set[str]:
    kinds: set[str] = set()
    for effects, _ in _chain(model, index, app, endpoint):
        kinds |= {e.kind for e in effects if e.effect == "io" and e.swallowed is None}
    return kinds


def _probe_routes(model: ProjectModel, index: EndpointIndex, app: App) -> list[tuple[Endpoint, set[str]]]:
    """Routes outside ``health-path-regex`` that are readiness probes all the same: the route's name or
    its path's last segment says it checks (``/api/check-db``, ``db_health_check``, ``ping_redis``) and
    it runs a store round trip whose failure is not answered 2xx (fittrackee's ``/api/check-db``:
    ``SELECT 1``, 500 "db unavailable"). With the stores they probe."""
    out: list[tuple[Endpoint, set[str]]] = []
    for endpoint in app.scope_endpoints:
        if not endpoint.functions or model.is_health(endpoint):
            continue
        last = (endpoint.path or "").rstrip("/$").rpartition("/")[2]
        if "{" in last or "<" in last:
            continue  # a route on one resource (`/orders/{id}/check`), not on the instance
        if not (_PROBE_ROUTE.search(endpoint.name.lower()) or _PROBE_ROUTE.search(last.lower())):
            continue
        kinds = _unswallowed_kinds(model, index, app, endpoint)
        if kinds:
            out.append((endpoint, kinds))
    return out


def _chain(
    model: ProjectModel, index: EndpointIndex, app: App, endpoint: Endpoint
) -> Iterator[tuple[list[Effect], list[str]]]:
    """The store effects and unresolved probe-like calls of a health route, function by function: its
    body, the project functions it calls (``effects``), its ``Depends``/``Security`` providers and
    theirs, the wrappers of its project decorators, and app-wide ``before_request`` hooks."""
    pending = [(m, f, 0) for m, f in endpoint.functions]
    pending += [(m, f, 0) for m, f in _before_request_hooks(model, app)]
    seen: set[tuple[str, str]] = set()
    while pending:
        module, function, depth = pending.pop()
        if (module.path, function.qualname) in seen or depth > _CHAIN_DEPTH:
            continue
        seen.add((module.path, function.qualname))
        yield model.effects(module, function), model.probe_hints(module, function)
        following = list(index.callees(module, function)) + _decorator_wrappers(model, module, function)
        pending += [(m, f, depth + 1) for m, f in following]


def _decorator_wrappers(
    model: ProjectModel, module: Module, function: FunctionFacts
) -> list[tuple[Module, FunctionFacts]]:
    """The functions defined inside the project decorators of ``function`` (the wrapper that runs)."""
    out: list[tuple[Module, FunctionFacts]] = []
    for decorator in function.decorators:
        ref = decorator[1] if decorator[0] in ("ref", "call") else None
        found = model.function(ref, module) if isinstance(ref, str) else None
        if found is None:
            continue
        owner, decorating = found
        prefix = owner.local(decorating.qualname) + "."
        out += [(owner, f) for name, f in owner.functions.items() if name.startswith(prefix)]
    return out


def _before_request_hooks(model: ProjectModel, app: App) -> list[tuple[Module, FunctionFacts]]:
    """App-wide Flask ``before_request`` hooks: they run before every route, the health route too."""
    out = []
    for module in app.modules:
        for function in module.functions.values():
            for decorator in function.decorators:
                ref = decorator[1] if decorator[0] in ("ref", "call") else ""
                owner, _, hook = str(ref).rpartition(".")
                if hook in _BEFORE_REQUEST and (hook == "before_app_request" or model.node(owner, module) is app.node):
                    out.append((module, function))
    return out


class HealthFailureReturns200(_AppRule):
    """A health route catches its probe's failure and still answers 2xx."""

    id = "BL605"

    def check(self, modules: list[ModuleFacts]) -> list[ProjectFinding]:
        model = self.model(modules)
        out: list[ProjectFinding] = []
        seen: set[tuple[str, int]] = set()
        for app in model.apps:
            for endpoint in model.health_endpoints(app, scope=True):
                for module, function in endpoint.functions:
                    for effect in model.effects(module, function, trust_results=False):
                        if effect.swallowed is None:
                            continue
                        in_endpoint = effect.function == function.qualname
                        if not (
                            effect.answered_ok
                            or (not function.answers_error and not in_endpoint)
                            or (in_endpoint and not function.answers_error)
                        ):
                            continue
                        key = (effect.swallowed.path, effect.swallowed.span.line)
                        if key in seen:
                            continue
                        seen.add(key)
                        probe = _KIND_NAMES.get(effect.kind, effect.kind).removeprefix("the ")
                        message = (
                            f"`{app.name}`'s health endpoint `{endpoint.path or endpoint.name}` answers 200 when its "
                            f"{probe} probe fails: load balancers and "
                            "orchestrators read the status code, not the body; answer 503 (e.g. "
                            "`JSONResponse(status_code=503, ...)`, `return body, 503`)"
                        )
                        related = [effect.swallowed.related("the failure is answered with a 2xx status here")]
                        finding = self.finding(app, message, related)
                        if effect.answered_ok:
                            finding.fix = _unavailable_fix(app, endpoint, module, function, effect.swallowed)
                        out.append(finding)
        return out


def _unavailable_fix(
    app: App, endpoint: Endpoint, module: Module, function: FunctionFacts, swallowed: Site
) -> Fix | None:
    """The 503 answer recorded for the endpoint's own ``except`` (``swallowed``), in the framework's form.

    The finding is on the app's line; the fix names the route's file when that is another one.
    """
    guard = next((g for g in function.guards if g.span is swallowed.span), None)
    lazy = (guard.fixes.get("") or guard.fixes.get(endpoint.framework)) if guard is not None else None
    fix = lazy.resolve() if lazy is not None else None
    if fix is None or module.path == app.site.path:
        return fix
    return dataclasses.replace(fix, path=module.path)
