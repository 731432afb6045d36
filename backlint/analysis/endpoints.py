"""What endpoint bodies do with errors, data and callers: facts for the BL4xx, BL5xx and BL8xx rules.

The collector (``backlint/checks/endpoint_facts.py``) summarises every function that answers,
leaks, fabricates or checks something into a ``BodyFacts``, keyed by the same qualified name as
the framework model's ``FunctionFacts``; the project rules ask ``EndpointIndex`` which of those
functions are served as endpoints (``ProjectModel``), and judge them there. HTTP-answer reading
(``Answers``) is shared with the file rules BL403 and BL406.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Callable

import libcst as cst

from backlint.analysis.frameworks import Endpoint, FunctionFacts, Module, ProjectModel, build_model, join_route
from backlint.core.imports import dotted_name
from backlint.core.results import Span

if TYPE_CHECKING:
    from backlint.analysis.frameworks import App
    from backlint.analysis.lazy import LazyFix
    from backlint.core.catalog import Knowledge
    from backlint.core.results import ModuleFacts

BODIES, EXTRAS = "ep.bodies", "ep.module"

# --------------------------------------------------------------------------- facts


@dataclasses.dataclass
class Flagged:
    """Something found at a place: ``text`` is the code or comment, ``detail`` what it means."""

    span: Span
    text: str
    detail: str = ""


@dataclasses.dataclass
class Answer:
    """A response given by an ``except`` clause; ``status`` None means the framework's default (200)."""

    span: Span
    text: str
    status: int | None
    # BL404's fixes by framework ("" for any): a bare body is answered differently in Flask and FastAPI.
    fixes: dict[str, LazyFix] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Leak:
    """Exception text reaching a response (BL405)."""

    span: Span
    text: str
    sink: str  # "return" (a plain value) | "response" (a response object) | "http-error" (raise/abort)
    status: int | None  # None: implicit (200) or not known
    via_param: bool  # the exception is a parameter (a registered handler's ``exc``), not an ``except`` name
    fix: LazyFix | None = None


@dataclasses.dataclass
class Records:
    """A literal list of records returned by a function (BL503)."""

    span: Span
    count: int
    keys: list[str]
    signs: list[str]  # corroboration seen in the values: made-up names, sequential ids, entity keys
    reference: bool  # shaped like an enum/choices listing
    constant: str | None = None  # a module-level constant returned by reference, resolved in the project pass


@dataclasses.dataclass
class NetworkCall:
    span: Span
    text: str
    guarded: bool  # inside a ``try`` whose handler covers broad or request errors


@dataclasses.dataclass
class BodyFacts:
    """One function's answers, leaks, fabricated data and caller checks."""

    qualname: str
    span: Span | None = None
    depends: list[str] = dataclasses.field(default_factory=list)  # FastAPI Depends/Security providers
    dependency_calls: list[str] = dataclasses.field(default_factory=list)  # Depends(RateLimiter(...)) classes
    annotations: list[str] = dataclasses.field(default_factory=list)  # parameter annotations (qualified)
    ok_answers: list[Answer] = dataclasses.field(default_factory=list)  # BL404
    leaks: list[Leak] = dataclasses.field(default_factory=list)  # BL405
    validation_answers: list[Answer] = dataclasses.field(default_factory=list)  # BL407
    network: list[NetworkCall] = dataclasses.field(default_factory=list)  # BL401
    state_io: list[NetworkCall] = dataclasses.field(default_factory=list)  # BL401: stores kept in app state
    records: list[Records] = dataclasses.field(default_factory=list)  # BL503
    impure: bool = False  # calls or awaits something that may do I/O (BL503 asks for none)
    random_values: list[Flagged] = dataclasses.field(default_factory=list)  # BL504; detail: the field
    fake_reads: list[Flagged] = dataclasses.field(default_factory=list)  # BL502; detail: the reference
    toggles: list[Flagged] = dataclasses.field(default_factory=list)  # BL506; detail: the mock branch
    docstring_marker: Flagged | None = None  # BL505
    auth: list[str] = dataclasses.field(default_factory=list)  # BL801: evidence in the body
    ratelimit: list[str] = dataclasses.field(default_factory=list)  # BL802: evidence in the body

    def is_empty(self) -> bool:
        return not any(getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("qualname", "span"))


@dataclasses.dataclass
class ModuleExtras:
    """Module-level facts: fake stores, record constants, auth schemes, global limits, marker comments."""

    fake_stores: dict[str, str] = dataclasses.field(default_factory=dict)  # name → "data" | "function"
    constants: dict[str, Records] = dataclasses.field(default_factory=dict)
    schemes: list[str] = dataclasses.field(default_factory=list)  # names bound to security schemes
    limiters: list[str] = dataclasses.field(default_factory=list)  # global rate-limit evidence
    markers: list[Flagged] = dataclasses.field(default_factory=list)  # BL505 comments
    classes: dict[str, list[str]] = dataclasses.field(default_factory=dict)  # module-level class → base refs

    def is_empty(self) -> bool:
        return not (self.fake_stores or self.constants or self.schemes or self.limiters or self.markers or self.classes)


# --------------------------------------------------------------------------- reading HTTP answers

OK, ERROR, UNKNOWN = "ok", "error", "unknown"
_STATUS_DIGITS = re.compile(r"(?<!\d)([1-5]\d\d)(?!\d)")
_SERVER_ERROR_NAME = re.compile(
    r"Internal|ServerError|Unavailable|BadGateway|GatewayTimeout|NotImplemented|InsufficientStorage"
)


def literal_status(node: cst.BaseExpression | None) -> int | None:
    """A status written as a constant: ``503``, ``status.HTTP_503_SERVICE_UNAVAILABLE``, ``HTTPStatus.OK``."""
    if node is None:
        return None
    if isinstance(node, cst.Integer):
        return int(node.evaluated_value)
    name = dotted_name(node)
    if name is None:
        return None
    last = name.rpartition(".")[2]
    match = _STATUS_DIGITS.search(last)
    if match:
        return int(match.group(1))
    if name.startswith(("HTTPStatus.", "http.HTTPStatus.")):
        import http

        member = getattr(http.HTTPStatus, last, None)
        return int(member) if member is not None else None
    return None


def argument(call: cst.Call, position: int | None, keyword: str | None) -> cst.BaseExpression | None:
    for arg in call.args:
        if keyword is not None and arg.keyword is not None and arg.keyword.value == keyword:
            return arg.value
    if position is None:
        return None
    positional = [a for a in call.args if a.keyword is None and not a.star]
    return positional[position].value if position < len(positional) else None


@dataclasses.dataclass(frozen=True)
class _AnswerTables:
    responses: dict[str, dict[str, Any]]
    classes: dict[str, dict[str, Any]]
    modules: tuple[tuple[str, str, dict[str, Any]], ...]
    calls: dict[str, dict[str, Any]]
    methods: dict[str, dict[str, Any]]
    validation: frozenset[str]
    exception_roles: dict[str, str]


_ANSWER_TABLES: dict[int, tuple[Any, _AnswerTables]] = {}


def _answer_tables(knowledge: Any) -> _AnswerTables:
    cached = _ANSWER_TABLES.get(id(knowledge))
    if cached is not None and cached[0] is knowledge:
        return cached[1]
    tables = _build_answer_tables(knowledge)
    _ANSWER_TABLES[id(knowledge)] = (knowledge, tables)
    return tables


def _build_answer_tables(knowledge: Any) -> _AnswerTables:
    rows = knowledge.rows("http-errors")
    errors = [r for r in rows if r["role"] == "http-error"]
    return _AnswerTables(
        responses={r["name"]: r for r in knowledge.rows("framework-responses")},
        classes={r["name"]: r for r in errors if r["form"] == "class"},
        modules=tuple((r["name"], r.get("prefix", ""), r) for r in errors if r["form"] == "module"),
        calls={r["name"]: r for r in errors if r["form"] == "call"},
        methods={r["name"]: r for r in errors if r["form"] == "method"},
        validation=frozenset(r["name"] for r in rows if r["role"] == "validation"),
        exception_roles={r["name"]: r["role"] for r in knowledge.rows("exception-classes")},
    )


class Answers:
    """Reads HTTP answers: the status a returned value, a raised HTTP error or an ``abort`` call gives."""

    def __init__(self, knowledge: Knowledge, qualify: Callable[[cst.CSTNode], str | None]) -> None:
        self.tables = _answer_tables(knowledge)
        self.qualify = qualify

    def response_row(self, func: cst.BaseExpression) -> dict[str, Any] | None:
        """The framework-responses row of a response constructor (``JSONResponse``, ``jsonify``)."""
        ref = self.qualify(func)
        if not ref:
            return None
        responses = self.tables.responses
        return responses.get(ref) or responses.get(ref.rpartition(".")[2])

    def response_status(self, call: cst.Call, row: dict[str, Any]) -> tuple[str, int | None]:
        given = argument(call, row.get("status-arg"), row.get("status-kw"))
        if given is None:
            default = int(row["status"])
            return (ERROR if default >= 400 else OK), (default if default != 200 else None)
        status = literal_status(given)
        if status is None:
            return UNKNOWN, None
        return (ERROR if status >= 400 else OK), status

    def returned(self, value: cst.BaseExpression) -> tuple[str, int | None]:
        """(ok | error | unknown, status) of ``return value``: a literal body is a 200, a tuple carries its status."""
        if isinstance(value, cst.Tuple) and 2 <= len(value.elements) <= 3:
            status = literal_status(value.elements[1].value)
            if status is None:
                return UNKNOWN, None
            return (ERROR if status >= 400 else OK), status
        if isinstance(value, (cst.Dict, cst.List, cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
            return OK, None
        if isinstance(value, cst.Call):
            row = self.response_row(value.func)
            if row is not None:
                return self.response_status(value, row)
        return UNKNOWN, None

    def http_error(self, call: cst.Call) -> tuple[bool, int | None]:
        """(is an HTTP error, its status if known): ``HTTPException(404)``, ``abort(403)``, ``get_object_or_404()``."""
        func = call.func
        if isinstance(func, cst.Attribute):
            row = self.tables.methods.get(func.attr.value)
            if row is not None:
                flag = argument(call, None, row.get("keyword"))
                if isinstance(flag, cst.Name) and flag.value == "True":
                    return True, row.get("status")
        ref = self.qualify(func) or ""
        row = self.tables.classes.get(ref) or self.tables.calls.get(ref)
        if row is None:
            module, _, last = ref.rpartition(".")
            for name, prefix, candidate in self.tables.modules:
                if module == name and last[:1].isupper() and last.startswith(prefix):
                    row = candidate
                    break
            if row is None:
                return False, None
            if _SERVER_ERROR_NAME.search(last):
                return True, 500
            if last in ("HTTPException", "APIException"):
                return True, None
            return True, 400
        if "status" in row:
            return True, int(row["status"])
        status = literal_status(argument(call, row.get("status-arg"), row.get("status-kw")))
        return True, status

    def raised_http_error(self, raised: cst.BaseExpression | None) -> tuple[bool, int | None]:
        """``raise NotFound()``/``raise Http404``: the class may be raised without a call."""
        if isinstance(raised, cst.Call):
            return self.http_error(raised)
        if raised is None:
            return False, None
        return self.http_error(cst.Call(func=raised))

    def caught_role(self, names: list[str] | None) -> str:
        """broad | database | http | validation | narrow, for the classes an ``except`` names (None: bare)."""
        if names is None:
            return "broad"
        roles = {self.tables.exception_roles.get(n) for n in names}
        if "broad" in roles:
            return "broad"
        if "database" in roles:
            return "database"
        if names and all(n in self.tables.validation for n in names):
            return "validation"
        if any(self._is_http_class(n) for n in names):
            return "http"
        return "narrow"

    def _is_http_class(self, name: str) -> bool:
        if self.tables.exception_roles.get(name) == "http-error" or name in self.tables.classes:
            return True
        module, _, last = name.rpartition(".")
        return any(module == m and last[:1].isupper() and last.startswith(p) for m, p, _ in self.tables.modules)


# --------------------------------------------------------------------------- the project side


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
