"""BL801, BL802 (opt-in): mutating endpoints need authentication, login endpoints need rate limits.

Both are judged per endpoint with the evidence each framework offers — decorators, dependencies,
class-view bases and attributes, router- and app-level settings, middleware, checks in the body —
and both say in their message what they looked for, so a team can tell a gap from a convention the
rule does not know (then: `auth-dependencies`, `public-paths`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from typing import Any

from backlint.analysis.strings import name_tokens
from backlint.analysis.web.bodies import BodyFacts
from backlint.analysis.web.facts import OBJECT_CALLS, ClassFacts, FunctionFacts, Value, value_items, value_str
from backlint.analysis.web.model import App, ProjectModel
from backlint.analysis.web.modules import Module
from backlint.analysis.web.routing import Node
from backlint.analysis.web.served import EndpointIndex, Served, endpoint_index
from backlint.analysis.web.syntax import DEPENDS
from backlint.core.facts import ProjectFinding, ProjectRule
from backlint.core.patterns import compile_pattern
from backlint.core.results import ModuleFacts

_MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
_MIDDLEWARE_METHODS = ("__call__", "process_request", "process_view", "dispatch", "__acall__")
# Helpers that wrap every view of a URLconf in a decorator (Wagtail's admin, django-decorator-include).
_URLCONF_DECORATORS = frozenset({"decorate_urlpatterns", "decorator_include"})
_VIEW_GUARDS = ("dispatch", "initial", "check_permissions", "get_permissions", "has_permission")
_LOOKED_FOR_AUTH = {
    "fastapi": "a `Depends`/`Security` on an auth dependency (a security scheme, a `get_current_user`-like "
    "provider, `auth-dependencies`), route, router or app `dependencies=[...]`, an auth middleware, "
    "or a credential check in the body",
    "starlette": "`@requires(...)`, an authentication middleware, or a credential check in the body",
    "flask": "`@login_required`/`@jwt_required`-style decorators, a `before_request` hook that checks "
    "credentials, or a credential check in the body",
    "django": "`@login_required`/`@permission_required`, auth mixins, DRF `permission_classes` or "
    "`DEFAULT_PERMISSION_CLASSES` other than `AllowAny`, `LoginRequiredMiddleware`, or a check in the body",
    "aiohttp": "`aiohttp_security` checks, an auth middleware, or a credential check in the body",
}
_LOOKED_FOR_LIMITS = (
    "`@limiter.limit(...)` (slowapi, flask-limiter), `Depends(RateLimiter(...))`, a global "
    "`Limiter(default_limits=...)`, DRF `throttle_classes`/`DEFAULT_THROTTLE_CLASSES`, `@ratelimit(...)`, "
    "django-axes, or a rate-limiting middleware"
)


@dataclasses.dataclass(frozen=True)
class _Vocabulary:
    """The ``credential-endpoints`` and ``http-methods`` tables, by role."""

    words: dict[str, frozenset[str]]
    public_paths: tuple[str, ...]
    method_decorators: dict[str, frozenset[str]]
    method_lists: frozenset[str]
    actions: dict[str, frozenset[str]]

    @classmethod
    def load(cls, knowledge: Any) -> _Vocabulary:
        rows = knowledge.rows("credential-endpoints")
        words: dict[str, set[str]] = {}
        for row in rows:
            if "name" in row:
                words.setdefault(row["role"], set()).add(row["name"])
        methods = knowledge.rows("http-methods")
        return cls(
            words={role: frozenset(names) for role, names in words.items()},
            public_paths=tuple(r["pattern"] for r in rows if r["role"] == "public-path"),
            method_decorators={r["name"]: frozenset(r["methods"]) for r in methods if r["form"] == "decorator"},
            method_lists=frozenset(r["name"] for r in methods if r["form"] == "decorator-list"),
            actions={r["name"]: frozenset(r["methods"]) for r in methods if r["form"] == "action"},
        )

    def __getitem__(self, role: str) -> frozenset[str]:
        return self.words.get(role, frozenset())


def _credential_words(served: Served, vocabulary: _Vocabulary) -> set[str]:
    """What says the endpoint takes credentials: its function or class-view name, or its last path segment.

    ``token`` counts in the last segment under an auth-ish path (``/auth/token``, ``/oauth2/v1/token``) or
    in a name that issues one (``get_auth_token``, ``refresh_token``), not in routes that manage token
    objects (``/token/<serial>/revoke``, ``/machine/token``).
    """
    credential, partner = vocabulary["credential"], vocabulary["partner"]
    objects = vocabulary["object"] | credential
    names = [served.function.name]
    if served.function.cls is not None:
        names.append(served.function.cls.rpartition(".")[2])
    segments = [p.strip("^$") for p in (served.endpoint.path or "").split("/")]
    literal = [p for p in segments if p and not p.startswith(("{", "<", "(", ":", "?"))]
    last = _words(literal[-1]) if literal else set()
    found: set[str] = set()
    every: set[str] = set(last)
    for words in [_words(n) for n in names] + [last]:
        every |= words
        found |= words & credential
        if words & partner and words & objects:
            found |= words & (partner | objects)
        if "token" in words and words is not last:
            verbs = words - vocabulary["token-plain"]
            if verbs and not verbs - vocabulary["token-verb"]:
                found.add("token")
    others = {w for p in literal[:-1] for w in _words(p)}
    if "token" in last and (not others or others & vocabulary["token-place"]):
        found.add("token")
    if last and last <= vocabulary["auth-segment"]:
        found |= last
    register = vocabulary["register"]
    if every & register and not every - register - vocabulary["register-noise"]:
        found |= every & register
    return found


def _ref(value: Value) -> str | None:
    return value[1] if value[0] in ("ref", "call") and isinstance(value[1], str) else None


def _refs(value: Value) -> Iterator[str]:
    """Every reference inside a value (a decorator's arguments, a list of classes)."""
    if value[0] in ("ref", "str"):
        yield value[1]
    elif value[0] == "call":
        yield value[1]
        for item in (*value[2], *value[3].values()):
            yield from _refs(item)
    elif value[0] == "list":
        for item in value[1]:
            yield from _refs(item)


def _last(ref: str) -> str:
    return ref.rpartition(".")[2]


def _words(name: str) -> set[str]:
    """Name tokens with the two-word spellings joined (``sign_in`` → signin, ``log-in`` → login)."""
    tokens = list(name_tokens(name))
    words = set(tokens)
    for first, second in zip(tokens, tokens[1:]):
        if second in ("in", "up"):
            words.add(first + second)
    return words


def _returned_bodies(index: EndpointIndex, module: Module, function: FunctionFacts) -> list[BodyFacts]:
    """The functions defined inside ``function`` that it returns: ``Depends(has_privilege("Node.Allocate"))``
    runs the inner function the factory returns, whose parameters name its own dependencies."""
    names = {ref.rpartition(":")[2].rpartition(".")[2] for ref in function.returned_refs}
    prefix = function.qualname + "."
    return [
        body
        for body in index.nested(module, function)
        if body.qualname.startswith(prefix) and body.qualname[len(prefix) :] in names
    ]


class _Evidence:
    """Looks for authentication and rate-limit evidence around one served endpoint."""

    def __init__(self, index: EndpointIndex, options: dict[str, Any]) -> None:
        self.index = index
        self.model: ProjectModel = index.model
        knowledge = self.model.knowledge
        auth = knowledge.rows("auth-evidence")
        self.auth_forms: dict[str, frozenset[str]] = {
            form: frozenset(r["name"] for r in auth if r["form"] == form) for form in {r["form"] for r in auth}
        }
        self.dependency_tokens = [frozenset(n.split()) for n in self.auth_forms.get("dependency-tokens", ())]
        keywords: dict[str, set[str]] = {}  # framework → keywords of routers and routes that set their auth
        for row in auth:
            if row["form"] == "auth-keyword":
                keywords.setdefault(row.get("framework", ""), set()).add(row["name"])
        self.auth_keywords = {framework: frozenset(names) for framework, names in keywords.items()}
        limits = knowledge.rows("rate-limit-evidence")
        self.limit_forms: dict[str, frozenset[str]] = {
            form: frozenset(r["name"] for r in limits if r["form"] == form) for form in {r["form"] for r in limits}
        }
        self.auth_dependencies = frozenset(options.get("auth-dependencies", ()))
        self._protected: dict[int, set[int]] = {}
        self._parents: dict[int, list[Node]] | None = None

    # ----------------------------------------------------------------- shared

    def decorators(self, served: Served) -> list[Value]:
        found = list(served.function.decorators)
        cls = self.view_class(served)
        if cls is not None:
            found += cls[1].decorators
        return found

    def view_class(self, served: Served) -> tuple[Module, ClassFacts] | None:
        if served.function.cls is None:
            return None
        return self.model.klass(served.function.cls, served.module)

    def class_bases(self, served: Served) -> list[str]:
        cls = served.function.cls
        return list(self.model.class_bases(cls, served.module)) if cls else []

    def settings(self, app: App, role: str) -> list[Value]:
        """Values of a Django setting (``MIDDLEWARE``, ``REST_FRAMEWORK``…) in the app's modules."""
        roles = {r["name"]: r["role"] for r in self.model.knowledge.rows("framework-settings")}
        return [a[-1].value for m in app.modules for name, a in m.assigns.items() if roles.get(name) == role]

    def drf_setting(self, app: App, key: str) -> list[str]:
        out: list[str] = []
        for value in self.settings(app, "rest-framework"):
            if value[0] == "dict":
                for k, v in value[1]:
                    if value_str(k) == key:
                        out += [s for s in _refs(v)]
        return out

    def is_drf(self, served: Served) -> bool:
        if any(b.startswith("rest_framework.") for b in self.class_bases(served)):
            return True
        return any(_last(_ref(d) or "") == "api_view" for d in served.function.decorators)

    def middleware_names(self, app: App) -> list[str]:
        names: list[str] = []
        for module in app.modules:
            for call in module.facts.get(OBJECT_CALLS):
                if call.attr == "add_middleware" and call.args:
                    names += [r for r in _refs(call.args[0])][:1]
            for obj in module.objects.values():
                if "middleware" in obj.kwargs:
                    names += [r for item in value_items(obj.kwargs["middleware"]) for r in list(_refs(item))[:2]]
        for value in self.settings(app, "middleware"):
            names += [s for s in _refs(value)]
        return names

    def middleware_checks(self, app: App, evidence: str) -> list[str]:
        """Project middleware classes (Django ``MIDDLEWARE`` entries, ``add_middleware`` classes) whose
        request methods check credentials (``evidence`` 'auth') or limit requests ('ratelimit')."""
        found: list[str] = []
        for name in self.middleware_names(app):
            cls = self.model.klass(name, app.node.module)
            if cls is None:
                continue
            module, facts = cls
            for method in _MIDDLEWARE_METHODS:
                target = self.model.function(f"{facts.qualname}.{method}", module)
                body = self.index.body(*target) if target is not None else None
                if body is not None and getattr(body, evidence):
                    found.append(f"`{_last(name)}` checks requests")
                    break
        return found

    def hook_bodies(
        self, app: App, served: Served, suffixes: tuple[str, ...]
    ) -> Iterator[tuple[str, list[str], list[str]]]:
        """(name, auth evidence, rate-limit evidence) of the middleware functions and before-request hooks
        that run for ``served``: app-wide ones, and a blueprint's own for the blueprint's routes."""
        for handler in app.handlers:
            if handler.kind == "middleware" and handler.function is not None:
                body = self.index.body(*handler.function)
                if body is not None:
                    yield handler.function[1].name, body.auth, body.ratelimit
        for module in app.modules:
            for function in module.functions.values():
                hooks = [d for d in function.decorators if _last(_ref(d) or "") in suffixes]
                if not hooks or not self._hook_applies(_ref(hooks[0]) or "", module, served):
                    continue
                body = self.index.body(module, function)
                if body is not None:
                    yield function.name, body.auth, body.ratelimit

    def _hook_applies(self, ref: str, module: Module, served: Served) -> bool:
        owner = self.model.node(ref.rpartition(".")[0], module)
        if owner is None or owner.role == "app" or _last(ref) == "before_app_request":
            return True
        stack, seen = [owner], set()
        while stack:
            node = stack.pop()
            if node is served.endpoint.owner:
                return True
            if id(node) not in seen:
                seen.add(id(node))
                stack += [child for _, child in node.children]
        return False

    # ----------------------------------------------------------------- authentication

    def keyword_auth(self, framework: str, kwargs: dict[str, Value]) -> bool | None:
        """What a router's or route's auth keyword says: True when it names an authentication
        (django-ninja ``Router(auth=...)``), False for ``auth=None`` (open), None when it is absent."""
        for keyword in self.auth_keywords.get(framework, frozenset()) | self.auth_keywords.get("", frozenset()):
            if keyword in kwargs:
                return kwargs[keyword] != ("const", None)
        return None

    def _route_keyword(self, served: Served) -> bool | None:
        """The auth keyword of the route decorator (``@router.post("/x", auth=None)``)."""
        framework = served.endpoint.framework
        for decorator in served.function.decorators:
            if decorator[0] == "call":
                said = self.keyword_auth(framework, decorator[3])
                if said is not None:
                    return said
        return None

    def auth(self, served: Served, app: App) -> list[str]:
        forms = self.auth_forms
        found: list[str] = list(served.body.auth[:2]) if served.body is not None else []
        route_keyword = self._route_keyword(served)
        if route_keyword:
            found.append("the route's `auth=`")
        for decorator in self.decorators(served):
            for inner in _refs(decorator):
                if inner in forms.get("decorator", ()) or _last(inner) in forms.get("decorator-name", ()):
                    found.append(f"`@{_last(inner)}`")
            ref = _ref(decorator)
            if ref and _last(ref) == "permission_classes" and decorator[0] == "call":
                classes = [r for item in decorator[2] for r in _refs(item)]
                if classes and not all(_last(c) in forms.get("open-permission", ()) for c in classes):
                    found.append("`@permission_classes(...)`")
            if ref:
                found += self._project_decorator(ref, served.module)
        found += [f"`{_last(b)}`" for b in self.class_bases(served) if _last(b) in forms.get("base", ())]
        cls = self.view_class(served)
        if cls is not None:
            module, facts = cls
            for inner in _refs(facts.attrs.get("decorators", ("?",))):  # Flask MethodView.decorators
                if inner in forms.get("decorator", ()) or _last(inner) in forms.get("decorator-name", ()):
                    found.append(f"`{_last(inner)}` in `decorators`")
            permissions = facts.attrs.get("permission_classes")
            if permissions is not None:
                classes = [r for r in _refs(permissions)]
                if classes and not all(_last(c) in forms.get("open-permission", ()) for c in classes):
                    found.append("`permission_classes`")
            for method in _VIEW_GUARDS:
                guard = self.model.function(f"{facts.qualname}.{method}", module)
                body = self.index.body(*guard) if guard is not None else None
                if body is not None and body.auth:
                    found.append(f"a check in `{method}`")
        found += self._dependency_evidence(served)
        found += self._app_evidence(served, app, routers=route_keyword is not False)
        return found

    def is_open(self, served: Served) -> bool:
        """Declared public: DRF ``permission_classes = [AllowAny]``, Django ``@login_not_required``."""
        forms = self.auth_forms
        cls = self.view_class(served)
        if cls is not None and "permission_classes" in cls[1].attrs:
            classes = list(_refs(cls[1].attrs["permission_classes"]))
            return bool(classes) and all(_last(c) in forms.get("open-permission", ()) for c in classes)
        for decorator in self.decorators(served):
            ref = _ref(decorator) or ""
            if _last(ref) in forms.get("public-decorator", ()):
                return True
            if _last(ref) == "permission_classes" and decorator[0] == "call":
                classes = [r for item in decorator[2] for r in _refs(item)]
                return bool(classes) and all(_last(c) in forms.get("open-permission", ()) for c in classes)
        return False

    def _project_decorator(self, ref: str, module: Module) -> list[str]:
        found = self.model.function(ref, module)
        if found is None:
            return []
        bodies = [self.index.body(*found), *self.index.nested(*found)]
        if any(b is not None and b.auth for b in bodies):
            return [f"`@{found[1].name}` checks credentials"]
        return []

    def _dependency_evidence(self, served: Served) -> list[str]:
        providers: list[tuple[str, Module]] = []
        if served.body is not None:
            providers += [(p, served.module) for p in served.body.depends + served.body.dependency_calls]
        for decorator in served.function.decorators:
            if decorator[0] == "call" and "dependencies" in decorator[3]:
                providers += [(p, served.module) for p in self._dependency_refs(decorator[3]["dependencies"])]
        return [f"`Depends({_last(p)})`" for p, module in providers if self._auth_provider(p, module, 0)]

    @staticmethod
    def _dependency_refs(value: Value) -> list[str]:
        refs = []
        for item in value_items(value):
            if item[0] == "call" and item[1] in DEPENDS and item[2]:
                ref = _ref(item[2][0])
                if ref:
                    refs.append(ref)
        return refs

    def _auth_decorator(self, ref: str, module: Module) -> bool:
        forms = self.auth_forms
        if ref in forms.get("decorator", ()) or _last(ref) in forms.get("decorator-name", ()):
            return True
        return bool(self._project_decorator(ref, module)) or self._auth_provider(ref, module, 0)

    def _configured(self, ref: str) -> bool:
        """Listed in ``auth-dependencies``; a dotted suffix matches too (layouts without packages)."""
        return any(ref == c or ref.endswith("." + c) or c.endswith("." + ref) for c in self.auth_dependencies)

    def _auth_provider(self, ref: str, module: Module, depth: int) -> bool:
        if self._configured(ref) or ref in self.auth_forms.get("scheme", ()):
            return True
        words = set(name_tokens(_last(ref)))
        if any(tokens <= words for tokens in self.dependency_tokens):
            return True
        extra = self.index.extra(ref)
        if extra is not None and extra[2] in extra[1].schemes:
            return True
        if depth >= 2:
            return False
        found = self.model.function(ref, module)
        if found is None:
            return False
        body = self.index.body(*found)
        bodies = ([body] if body is not None else []) + _returned_bodies(self.index, *found)
        if any(b.auth for b in bodies):
            return True
        return any(self._auth_provider(p, found[0], depth + 1) for b in bodies for p in b.depends + b.dependency_calls)

    def _app_evidence(self, served: Served, app: App, *, routers: bool = True) -> list[str]:
        """App- and router-wide evidence: dependencies, middleware, before-request hooks, Django settings;
        ``routers`` False: the route opts out of its routers' authentication (django-ninja ``auth=None``)."""
        found: list[str] = []
        forms = self.auth_forms
        if routers and id(served.endpoint.owner) in self.protected_nodes(app):
            found.append("router or app `dependencies=[...]` or `auth=`")
        tokens = forms.get("middleware-token", frozenset())
        for name in self.middleware_names(app):
            if _words(_last(name)) & tokens:
                found.append(f"`{_last(name)}`")
            if name in forms.get("login-middleware", ()):
                found.append("`LoginRequiredMiddleware`")
        found += self.middleware_checks(app, "auth")
        for name, auth, _ in self.hook_bodies(app, served, ("before_request", "before_app_request")):
            if auth:
                found.append(f"`{name}` checks credentials")
        if app.framework == "django" and self.is_drf(served):
            defaults = self.drf_setting(app, "DEFAULT_PERMISSION_CLASSES")
            if defaults and not all(_last(c) in forms.get("open-permission", ()) for c in defaults):
                found.append("`DEFAULT_PERMISSION_CLASSES`")
        return found

    def protected_nodes(self, app: App) -> set[int]:
        """Routing nodes (by id) whose routes all depend on an auth dependency, through app, router or include."""
        cached = self._protected.get(id(app))
        if cached is not None:
            return cached
        roots: list[Node] = []
        for node in self.model.nodes.values():
            fact = node.fact
            if fact is not None and self.keyword_auth(node.framework, fact.kwargs):
                roots.append(node)  # django-ninja: NinjaAPI(auth=...), Router(auth=...)
            if fact is not None and "dependencies" in fact.kwargs:
                refs = self._dependency_refs(fact.kwargs["dependencies"])
                if any(self._auth_provider(r, node.module, 0) for r in refs):
                    roots.append(node)
        for module in self.model.modules:
            for call in module.facts.get(OBJECT_CALLS):
                if call.attr == "include_router" and "dependencies" in call.kwargs and call.args:
                    refs = self._dependency_refs(call.kwargs["dependencies"])
                    child = self.model.node(_ref(call.args[0]) or "", module)
                    if child is not None and any(self._auth_provider(r, module, 0) for r in refs):
                        roots.append(child)
            for assign in module.assigns.get("urlpatterns", ()):
                value = assign.value  # Django: urlpatterns = decorate_urlpatterns(urlpatterns, require_admin)
                if value[0] == "call" and _last(value[1]) in _URLCONF_DECORATORS and len(value[2]) >= 2:
                    decorator = _ref(value[2][1])
                    urlconf = self.model.nodes.get((module.path, "urlpatterns"))
                    if decorator and urlconf is not None and self._auth_decorator(decorator, module):
                        roots.append(urlconf)
        protected: set[int] = set()
        stack = list(roots)
        while stack:
            node = stack.pop()
            if id(node) in protected:
                continue
            protected.add(id(node))
            stack += [
                child
                for _, child in node.children
                if child.fact is None or self.keyword_auth(child.framework, child.fact.kwargs) is not False
            ]  # a router with ``auth=None`` opts out of its parent's authentication
        self._protected[id(app)] = protected
        return protected

    # ----------------------------------------------------------------- rate limits

    def _helper_limits(self, served: Served) -> list[str]:
        """A limit checked in the project functions the endpoint calls (two calls deep: a service and the
        helper it uses), or in a method of a class it instantiates or names as its form
        (``LoginForm.clean()`` calling ``rate_limit(...)``)."""
        found = [f"`{b.qualname.rpartition('.')[2]}` limits requests" for _, b in self.index.callee_bodies(
            served.module, served.function) if b.ratelimit]  # fmt: skip
        for module, function in self.index.callees(served.module, served.function):
            deeper = self.index.callee_bodies(module, function)
            found += [f"`{b.qualname.rpartition('.')[2]}` limits requests" for _, b in deeper if b.ratelimit]
        classes = [c.target for c in served.function.calls]
        cls = self.view_class(served)
        if cls is not None:
            classes += [r for r in _refs(cls[1].attrs.get("form_class", ("?",)))]
        for ref in dict.fromkeys(classes):
            found_class = self.model.klass(ref, served.module)
            if found_class is None:
                continue
            module, facts = found_class
            for method in facts.methods:
                target = self.model.function(f"{facts.qualname}.{method}", module)
                body = self.index.body(*target) if target is not None else None
                if body is not None and body.ratelimit:
                    found.append(f"`{_last(ref)}.{method}` limits requests")
                    break
        return found

    def ratelimit(self, served: Served, app: App) -> tuple[list[str], bool]:
        """Rate-limit evidence, and whether the endpoint is explicitly exempt from global limits."""
        forms = self.limit_forms
        found: list[str] = list(served.body.ratelimit[:2]) if served.body is not None else []
        exempt = False
        for decorator in self.decorators(served):
            ref = _ref(decorator) or ""
            if _last(ref) in forms.get("decorator-name", ()):
                found.append(f"`@{'.'.join(ref.split('.')[-2:])}`")
            if _last(ref) in forms.get("exempt-name", ()):
                exempt = True
            if decorator[0] == "call" and "dependencies" in decorator[3]:
                calls = [r for r in _refs(decorator[3]["dependencies"]) if _last(r) in forms.get("dependency", ())]
                found += [f"`Depends({_last(c)}(...))`" for c in calls]
        if served.body is not None:
            found += [
                f"`Depends({_last(c)}(...))`"
                for c in served.body.dependency_calls
                if _last(c) in forms.get("dependency", ())
            ]
        cls = self.view_class(served)
        if cls is not None:
            found += [f"`{a}`" for a in forms.get("attribute", ()) if a in cls[1].attrs]
        found += self._helper_limits(served)
        if exempt:
            return found, True
        for module in app.modules:
            extras = self.index.extras.get(module.name)
            if extras is not None and extras[0].path == module.path:
                found += extras[1].limiters
        tokens = forms.get("middleware-token", frozenset())
        found += [f"`{_last(n)}`" for n in self.middleware_names(app) if _words(_last(n)) & tokens]
        found += self.middleware_checks(app, "ratelimit")
        hooks = self.hook_bodies(app, served, ("before_request", "before_app_request"))
        found += [f"`{name}` limits requests" for name, _, limit in hooks if limit]
        if app.framework == "django":
            if self.is_drf(served) and self.drf_setting(app, "DEFAULT_THROTTLE_CLASSES"):
                found.append("`DEFAULT_THROTTLE_CLASSES`")
            apps = {s.partition(".")[0] for v in self.settings(app, "installed-apps") for s in _refs(v)}
            found += [f"`{a}` in INSTALLED_APPS" for a in sorted(apps & forms.get("installed-app", frozenset()))]
        return found, False


def _methods(served: Served, vocabulary: _Vocabulary) -> set[str]:
    """The HTTP methods this handler answers: a class view's method by its name (``post``, DRF's
    ``create``), a function's from its route, or for Django's catch-all routes from method decorators."""
    if served.function.cls is not None:
        name = served.function.name
        if name.upper() in _HTTP_METHODS:
            return {name.upper()}
        if name in vocabulary.actions:
            return set(vocabulary.actions[name])
    methods = set(served.endpoint.methods)
    if "*" not in methods:
        return methods
    for decorator in served.function.decorators:
        last = _last(_ref(decorator) or "")
        if last in vocabulary.method_decorators:
            return set(vocabulary.method_decorators[last])
        if last in vocabulary.method_lists and decorator[0] == "call" and decorator[2]:
            return {s.upper() for s in _refs(decorator[2][0])}
    return {"*"}


def _label(served: Served, methods: Iterable[str]) -> str:
    path = served.endpoint.path
    return f"{'/'.join(sorted(methods))} {path}" if path else "/".join(sorted(methods))


class MutatingEndpointWithoutAuth(ProjectRule):
    """A POST/PUT/PATCH/DELETE endpoint shows no authentication evidence for its framework."""

    id = "BL801"

    def check(self, modules: list[ModuleFacts]) -> list[ProjectFinding]:
        index = endpoint_index(modules, self.project, self.options)
        evidence = _Evidence(index, self.options)
        vocabulary = _Vocabulary.load(index.model.knowledge)
        public = [compile_pattern(p) for p in self.options.get("public-paths") or vocabulary.public_paths]
        out: list[ProjectFinding] = []
        for served in index.served:
            app, site = served.app, served.site
            if app is None or site is None:
                continue  # app-wide evidence (middleware, dependencies) is unknown without the app
            mutating = _methods(served, vocabulary) & _MUTATING
            if not mutating or index.model.is_health(served.endpoint):
                continue
            path = served.endpoint.path or ""
            if any(p.search(path) for p in public) or _words(served.function.name) & vocabulary["public-name"]:
                continue
            if evidence.is_open(served) or evidence.auth(served, app):
                continue
            looked = _LOOKED_FOR_AUTH.get(app.framework, "an authentication check")
            message = (
                f"`{served.name}` ({_label(served, mutating)}) changes data and shows no authentication; looked for "
                f"{looked}. If a gateway authenticates, list the route in `public-paths` or the dependency in "
                "`auth-dependencies`"
            )
            out.append(ProjectFinding(self.id, site[0], site[1], message))
        return out


class AuthEndpointWithoutRateLimit(ProjectRule):
    """A login, token or password endpoint has no rate limiting."""

    id = "BL802"

    def check(self, modules: list[ModuleFacts]) -> list[ProjectFinding]:
        index = endpoint_index(modules, self.project, self.options)
        evidence = _Evidence(index, self.options)
        vocabulary = _Vocabulary.load(index.model.knowledge)
        out: list[ProjectFinding] = []
        for served in index.served:
            app, site = served.app, served.site
            if app is None or site is None:
                continue
            methods = _methods(served, vocabulary)
            if not methods & {"POST", "*"}:
                continue
            words = _credential_words(served, vocabulary)
            if not words:
                continue
            found, exempt = evidence.ratelimit(served, app)
            if found and not exempt:
                continue
            reason = "is exempt from the global limit" if exempt else "has no rate limiting"
            message = (
                f"`{served.name}` ({_label(served, methods & {'POST', '*'})}) handles credentials "
                f"({', '.join(sorted(words))}) and {reason}, so passwords and tokens can be guessed at full speed; "
                f"looked for {_LOOKED_FOR_LIMITS}"
            )
            out.append(ProjectFinding(self.id, site[0], site[1], message))
        return out
