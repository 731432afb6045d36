"""Records what function bodies answer, leak, fabricate and check (``backlint/analysis/endpoints.py``).

Nothing here judges: whether a function is an endpoint, a registered handler or a dependency is
known only in the project pass, so every function that answers from an ``except``, returns literal
records, reads a fake store or checks credentials gets a ``BodyFacts``, keyed like the framework
model's ``FunctionFacts``.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import re
import tokenize
from collections.abc import Container, Iterable, Iterator
from typing import Any

import libcst as cst

from backlint.analysis.autofix import error_status_fixes, generic_fix_description, generic_message, generic_message_fix
from backlint.analysis.endpoints import (
    BODIES,
    ERROR,
    EXTRAS,
    OK,
    UNKNOWN,
    Answer,
    Answers,
    BodyFacts,
    Flagged,
    Leak,
    ModuleExtras,
    NetworkCall,
    Records,
    argument,
    literal_status,
)
from backlint.analysis.exceptions import caught_names
from backlint.analysis.lazy import LazySpan, lazy_fix
from backlint.analysis.logging import LogCalls
from backlint.analysis.strings import name_tokens
from backlint.checks.framework_facts import FrameworkFacts
from backlint.core.catalog import Knowledge
from backlint.core.facts import FactCollector
from backlint.core.imports import dotted_name
from backlint.core.results import Span
from backlint.core.rule import NodeEdit, PendingFix
from backlint.pipeline.walk import children, scope_descendants

_DEPENDS = frozenset({"fastapi.Depends", "fastapi.Security", "fastapi.params.Depends", "fastapi.params.Security"})
_ANNOTATED = frozenset({"typing.Annotated", "typing_extensions.Annotated"})
_FINAL = frozenset({"typing.Final", "typing_extensions.Final", "Final"})
_EXCEPTION_PARAMS = frozenset({"exc", "exception", "error", "err", "e", "ex"})
_TRACEBACK_TEXT = frozenset(
    {
        "traceback.format_exc", "traceback.format_exception", "traceback.format_exception_only",
        "traceback.format_tb", "traceback.format_stack", "sys.exc_info",
    }
)  # fmt: skip
# Attributes of a caught exception that say what failed without saying how (not a leak).
_BENIGN_ATTRIBUTES = frozenset({"status_code", "status", "code", "__class__", "errno", "headers"})
# Builtins and modules whose calls compute, and never reach a store or the network.
_PURE_BUILTINS = frozenset(
    {
        "len", "str", "int", "float", "bool", "list", "dict", "tuple", "set", "frozenset", "sorted", "reversed",
        "min", "max", "sum", "any", "all", "range", "enumerate", "zip", "map", "filter", "round", "abs",
        "isinstance", "issubclass", "getattr", "hasattr", "format", "repr", "iter", "next", "divmod", "print",
        "type", "id", "hash", "slice", "chr", "ord", "bytes",
    }
)  # fmt: skip
_PURE_MODULES = frozenset(
    {
        "datetime", "time", "math", "decimal", "json", "re", "uuid", "random", "itertools", "functools",
        "operator", "string", "enum", "typing", "dataclasses", "collections", "statistics", "textwrap",
        "html", "secrets", "hashlib", "base64", "fractions", "calendar", "zoneinfo",
    }
)  # fmt: skip
_REQUEST_NAMES = frozenset({"request", "req"})  # reading the request is not I/O
_PICKS = frozenset({"choice", "choices", "sample"})  # random picks: fabricated only from literal options
_SHORT_TEXT = 60
_SERVER_ERROR = 500
_MAX_LEAKS = 8  # pieces of exception text one answer's fix replaces
_TOO_MANY_REQUESTS = 429
# Keys and words of a response body that reports a failure (BL404 asks for one, not a fallback value).
_ERROR_KEYS = frozenset(
    {"error", "errors", "err", "detail", "message", "msg", "status", "success", "ok", "reason", "failed"}
)
_FAILURE_TEXT = re.compile(r"(?i)error|fail|unavailable|could not|couldn't|unable|cannot|went wrong|problem")
# Data-store methods that a settings dict kept in app state has too: not evidence of I/O there.
_MAPPING_METHODS = frozenset({"get", "set", "delete", "add", "exists", "update", "pop", "keys", "values", "items"})
# Where apps keep their pools and clients: ``request.app["db"]``, ``request.app.state.pool``, ``app.state.redis``.
_APP_STATE = re.compile(r"^(request|req|self\.request)\.(app|state)\b|^app\.state\b")


@dataclasses.dataclass(frozen=True)
class _Tables:
    fake_tokens: frozenset[str]
    toggle_tokens: frozenset[str]
    config_tokens: frozenset[str]
    markers: tuple[re.Pattern[str], ...]
    fabricated: tuple[re.Pattern[str], ...]
    entity_keys: frozenset[str]
    reference_keys: frozenset[str]
    reference_tokens: frozenset[str]
    random_prefixes: tuple[str, ...]
    random_names: frozenset[str]
    random_factories: frozenset[str]
    random_exempt: frozenset[str]
    network_calls: frozenset[str]
    clients: dict[str, frozenset[str]]
    network_errors: frozenset[str]
    auth_calls: frozenset[str]
    auth_call_names: frozenset[str]
    auth_attributes: frozenset[str]
    auth_headers: frozenset[str]
    auth_statuses: frozenset[int]
    schemes: frozenset[str]
    limiters: dict[str, str]
    ratelimit_calls: tuple[frozenset[str], ...]
    store_methods: frozenset[str]


_TABLES: dict[int, tuple[Knowledge, _Tables]] = {}


def _tables(knowledge: Knowledge) -> _Tables:
    cached = _TABLES.get(id(knowledge))
    if cached is not None and cached[0] is knowledge:
        return cached[1]

    def mock(role: str) -> frozenset[str]:
        return frozenset(r["name"] for r in knowledge.rows("mock-data") if r["role"] == role and "name" in r)

    def patterns(role: str) -> tuple[re.Pattern[str], ...]:
        return tuple(
            re.compile(r["pattern"]) for r in knowledge.rows("mock-data") if r["role"] == role and "pattern" in r
        )

    def auth(form: str) -> frozenset[str]:
        return frozenset(r["name"] for r in knowledge.rows("auth-evidence") if r["form"] == form)

    network = knowledge.rows("network-clients")
    sources = mock("random-source")
    limits = knowledge.rows("rate-limit-evidence")
    tables = _Tables(
        fake_tokens=mock("fake-token"),
        toggle_tokens=mock("toggle-token"),
        config_tokens=mock("config-token"),
        markers=patterns("marker"),
        fabricated=patterns("fabricated"),
        entity_keys=mock("entity-key"),
        reference_keys=mock("reference-key"),
        reference_tokens=mock("reference-token"),
        random_prefixes=tuple(s for s in sources if s.endswith(".")),
        random_names=frozenset(s for s in sources if not s.endswith(".")),
        random_factories=mock("random-factory"),
        random_exempt=mock("random-exempt"),
        network_calls=frozenset(r["name"] for r in network if r["role"] == "call"),
        clients={r["name"]: frozenset(r.get("methods", ())) for r in network if r["role"] == "client"},
        network_errors=frozenset(r["name"] for r in network if r["role"] == "error"),
        auth_calls=auth("call"),
        auth_call_names=auth("call-name"),
        auth_attributes=auth("attribute"),
        auth_headers=frozenset(h.lower() for h in auth("header")),
        auth_statuses=frozenset(int(s) for s in auth("status")),
        schemes=auth("scheme"),
        limiters={r["name"]: r.get("default-kw", "") for r in limits if r["form"] == "limiter"},
        ratelimit_calls=tuple(frozenset(r["name"].split()) for r in limits if r["form"] == "call-tokens"),
        store_methods=frozenset(r["method"] for r in knowledge.rows("datastore-methods") if r["effect"] == "io")
        - _MAPPING_METHODS,
    )
    _TABLES[id(knowledge)] = (knowledge, tables)
    return tables


@dataclasses.dataclass
class _Handler:
    """An enclosing ``except`` clause: what it catches (a role), its ``as`` name, and whether it sets a status."""

    role: str
    name: str | None
    sets_status: bool
    validation: bool  # catches a ``*ValidationError`` class (BL407)


@dataclasses.dataclass
class _Frame:
    facts: BodyFacts
    top_level: bool
    names: set[str]  # parameters and assigned names: local, not module-level
    exception_params: set[str]
    handlers: list[_Handler] = dataclasses.field(default_factory=list)
    tainted: dict[str, tuple[_Handler | None, bool]] = dataclasses.field(default_factory=dict)
    random_locals: set[str] = dataclasses.field(default_factory=set)
    random_records: dict[str, list[tuple[cst.CSTNode, str]]] = dataclasses.field(default_factory=dict)
    literal_locals: dict[str, cst.BaseExpression] = dataclasses.field(default_factory=dict)
    assignments: dict[str, int] = dataclasses.field(default_factory=dict)
    exempt: set[int] = dataclasses.field(default_factory=set)
    clients: set[str] = dataclasses.field(default_factory=set)
    returns_literal: bool = False
    fake_seen: set[str] = dataclasses.field(default_factory=set)
    body: cst.CSTNode | None = None


class EndpointFacts(FactCollector):
    """Answers from ``except`` clauses, leaked errors, literal records, fake data and auth evidence."""

    @classmethod
    def trigger_tokens(cls, knowledge: Knowledge) -> Iterable[str]:
        words = {r["name"] for r in knowledge.rows("mock-data") if r["role"] == "fake-token"}
        spelled = {w for word in words for w in (word, word.capitalize(), word.upper())}
        models = {"BaseModel", "SQLModel"}  # request models live in schema modules without a framework import
        return sorted(set(FrameworkFacts.trigger_tokens(knowledge)) | spelled | models)

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.tables = _tables(context.knowledge)
        self.answers = Answers(context.knowledge, context.qualified_name)
        self.logs = LogCalls(context)
        self.module = context.module_name or "__main__"
        self.scopes: list[str] = [self.module]
        self.frames: list[_Frame | None] = []
        self.extras = ModuleExtras()
        self.module_names: set[str] = set()
        self.random_instances: set[str] = set()
        lower = context.source.lower()
        self.fake_gate = any(t in lower for t in self.tables.fake_tokens)
        self.header_gate = any(h in lower for h in self.tables.auth_headers)
        self.fake_module = bool(set(name_tokens(self.module.rpartition(".")[2])) & self.tables.fake_tokens)
        self.child_index: dict[int, dict[int, int]] = {}

    # ----------------------------------------------------------------- module and scopes

    def visit_Module(self, node: cst.Module) -> None:
        for statement in _top_statements(node.body):
            if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                self.module_names.add(statement.name.value)
            elif isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    self._module_binding(small)
        self._marker_comments()

    def leave_Module(self, node: cst.Module) -> None:
        if not self.extras.is_empty():
            self.context.add_fact(EXTRAS, self.extras)

    def _module_binding(self, small: cst.BaseSmallStatement) -> None:
        annotation: cst.BaseExpression | None = None
        if isinstance(small, cst.Assign):
            targets = [t.target for t in small.targets]
            value: cst.BaseExpression | None = small.value
        elif isinstance(small, cst.AnnAssign):
            targets, value, annotation = [small.target], small.value, small.annotation.annotation
        elif isinstance(small, cst.AugAssign):
            targets, value = [small.target], None
        else:
            return
        for target in targets:
            self.module_names.update(_target_names(target))
        target = targets[0]
        if value is None or len(targets) != 1 or not isinstance(target, cst.Name):
            return
        name = target.value
        self.module_names.add(name)
        tokens = set(name_tokens(name))
        tables = self.tables
        if _is_collection(value) and (tokens & tables.fake_tokens or self.fake_module):
            self.extras.fake_stores[name] = "data"
        if isinstance(value, cst.Call):
            ref = self.context.qualified_name(value.func) or ""
            if ref in tables.schemes:
                self.extras.schemes.append(name)
            if ref in tables.random_factories:
                self.random_instances.add(name)
        final = annotation is not None and (self.context.qualified_name(_annotation_head(annotation)) or "") in _FINAL
        if not final and not tokens & tables.reference_tokens:
            records = self._records(value, None)
            if records is not None and not records.reference:
                self.extras.constants[name] = records

    def _marker_comments(self) -> None:
        """BL505: comments matching a marker pattern; ``tokenize`` runs only when a pattern matched."""
        source = self.context.source
        if not any(p.search(source) for p in self.tables.markers):
            return
        try:
            tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
        except (tokenize.TokenError, SyntaxError, IndentationError):
            return
        for token in tokens:
            if token.type == tokenize.COMMENT and any(p.search(token.string) for p in self.tables.markers):
                (line, column), (end_line, end_column) = token.start, token.end
                span = Span(line, column + 1, end_line, end_column + 1)
                text = token.string.lstrip("# ").split("  #")[0].strip()
                self.extras.markers.append(Flagged(span, text[:120]))

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if len(self.scopes) == 1:
            bases = [self._ref(arg.value) for arg in node.bases if arg.keyword is None]
            dotted = [b for b in bases if b and "." in b]
            if dotted:
                self.extras.classes[node.name.value] = dotted
        self.scopes.append(node.name.value)
        self.frames.append(None)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        self.scopes.pop()
        self.frames.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.scopes.append(node.name.value)
        facts = BodyFacts(".".join(self.scopes))
        params = [*node.params.posonly_params, *node.params.params, *node.params.kwonly_params]
        names = {p.name.value for p in params}
        for star in (node.params.star_arg, node.params.star_kwarg):
            if isinstance(star, cst.Param):
                names.add(star.name.value)
        frame = _Frame(facts, top_level=len(self.scopes) == 2, names=names, exception_params=names & _EXCEPTION_PARAMS)
        frame.body = node.body
        self.frames.append(frame)
        for param in params:
            self._parameter(param, facts, bool(node.decorators))
        docstring = node.get_docstring()
        if docstring and any(p.search(docstring) for p in self.tables.markers):
            first = node.body.body[0] if isinstance(node.body, cst.IndentedBlock) and node.body.body else node
            facts.docstring_marker = Flagged(self._locate(first), docstring.strip().splitlines()[0][:120])

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.scopes.pop()
        frame = self.frames.pop()
        assert frame is not None
        facts = frame.facts
        facts.depends = _unique(facts.depends)
        facts.auth = _unique(facts.auth)
        facts.ratelimit = _unique(facts.ratelimit)
        if not facts.records:
            facts.impure = False  # only BL503 asks, and only about functions returning records
        if frame.top_level and frame.returns_literal and set(name_tokens(node.name.value)) & self.tables.fake_tokens:
            self.extras.fake_stores[node.name.value] = "function"
        if not facts.is_empty():
            facts.span = self._locate(node)
            self.context.add_fact(BODIES, facts)

    def _frame(self) -> _Frame | None:
        return self.frames[-1] if self.frames else None

    def _parameter(self, param: cst.Param, facts: BodyFacts, decorated: bool) -> None:
        annotation = param.annotation.annotation if param.annotation is not None else None
        dependency = param.default if isinstance(param.default, cst.Call) else None
        if isinstance(annotation, cst.Subscript) and self._ref(annotation.value) in _ANNOTATED:
            elements = [e.slice.value for e in annotation.slice if isinstance(e.slice, cst.Index)]
            annotation = elements[0] if elements else None
            for extra in elements[1:]:
                if isinstance(extra, cst.Call) and self._ref(extra.func) in _DEPENDS:
                    dependency = extra
        if annotation is not None and decorated:
            ref = self._ref(annotation)
            if ref and "." in ref:
                facts.annotations.append(ref)
        if dependency is None or self._ref(dependency.func) not in _DEPENDS:
            return
        provider = argument(dependency, 0, "dependency")
        if provider is None and annotation is not None:
            provider = annotation  # Depends() with the class in the annotation
        if isinstance(provider, cst.Call):
            ref = self._ref(provider.func)
            if ref:
                facts.dependency_calls.append(ref)
        elif provider is not None:
            ref = self._ref(provider)
            if ref:
                facts.depends.append(ref)

    def _ref(self, node: cst.CSTNode) -> str | None:
        """A Name/Attribute chain as a project-wide reference: module-level names get the module prefix."""
        name = dotted_name(node)
        if name is None:
            return None
        head, dot, rest = name.partition(".")
        frame = self._frame()
        if frame is not None and head in frame.names:
            return None
        if head in self.module_names:
            return f"{self.module}.{name}"
        target = self.context.imports.aliases.get(head)
        if target is not None:
            return f"{target}{dot}{rest}"
        return name

    # ----------------------------------------------------------------- except clauses

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        frame = self._frame()
        if frame is None:
            return
        names = caught_names(node, self.context)
        name = node.name.name.value if node.name is not None and isinstance(node.name.name, cst.Name) else None
        sets_status = any(
            isinstance(t, cst.Attribute) and t.attr.value in ("status_code", "status")
            for n in scope_descendants(node.body)
            if isinstance(n, (cst.Assign, cst.AugAssign))
            for t in ([a.target for a in n.targets] if isinstance(n, cst.Assign) else [n.target])
        )
        validation = names is not None and any(n.rpartition(".")[2].endswith("ValidationError") for n in names)
        frame.handlers.append(_Handler(self.answers.caught_role(names), name, sets_status, validation))
        if name is not None:
            frame.names.add(name)

    def leave_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        frame = self._frame()
        if frame is not None:
            frame.handlers.pop()

    # ----------------------------------------------------------------- statements

    def visit_Return(self, node: cst.Return) -> None:
        frame = self._frame()
        if frame is None or node.value is None:
            return
        value = node.value
        facts = frame.facts
        kind, status = self.answers.returned(value)
        if frame.handlers:
            handler = frame.handlers[-1]
            ok_error = kind == OK and self._signals_error(value)
            if handler.role in ("broad", "database") and not handler.sets_status and ok_error:
                fixes = error_status_fixes(value, _SERVER_ERROR, self.answers, self.context)
                lazy = {key: lazy_fix(fix, self._locate) for key, fix in fixes.items()}
                placed = {key: fix for key, fix in lazy.items() if fix is not None}
                facts.ok_answers.append(Answer(self._locate(node), _short(value), status, placed))
            if handler.validation and kind != UNKNOWN and status != 400 and (status is None or status < 500):
                facts.validation_answers.append(Answer(self._locate(node), _short(value), status))
        self._answered(facts, kind, status)
        body = value.elements[0].value if isinstance(value, cst.Tuple) and value.elements else value
        if not (isinstance(body, cst.Call) and self.answers.response_row(body.func) is not None):
            self._leak(body, "return", status, node)
        if _is_collection(value) or (isinstance(value, cst.Name) and self.extras.fake_stores.get(value.value)):
            frame.returns_literal = True
        records = self._records(value, frame)
        if records is not None:
            frame.exempt.update(id(n) for n in scope_descendants(value) if isinstance(n, cst.Call))
            facts.records.append(records)
        else:
            name = self._returned_name(value)
            constant = self._constant_ref(name) if name is not None and name not in frame.names else None
            if constant is not None:
                facts.records.append(Records(self._locate(node), 0, [], [], False, constant))
        for found, field in self._random_fields(value, frame, None):
            if field and not set(name_tokens(field)) & self.tables.random_exempt:
                facts.random_values.append(Flagged(self._locate(found), _short(found), field))

    def _signals_error(self, value: cst.BaseExpression) -> bool:
        """The body says something failed (``{"error": ...}``, ``jsonify(ok=False)``, ``"could not save"``):
        an answer, not a graceful fallback such as ``{"latest": None}`` or an empty list."""
        if isinstance(value, cst.Tuple) and value.elements:
            value = value.elements[0].value
        keys: list[str] = []
        if isinstance(value, cst.Call):
            keys += [a.keyword.value for a in value.args if a.keyword is not None]
            inner = argument(value, 0, "content") or argument(value, None, "data") or argument(value, None, "body")
            if inner is not None and not keys:
                value = inner
        if isinstance(value, cst.Dict):
            keys += [k for e in value.elements if isinstance(e, cst.DictElement) for k in _strings(e.key)]
        elif isinstance(value, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
            return bool(_FAILURE_TEXT.search(_short(value)))
        return any(set(name_tokens(k)) & _ERROR_KEYS for k in keys)

    def _returned_name(self, value: cst.BaseExpression) -> str | None:
        """The name returned, bare or wrapped in a response (``jsonify(BESTSELLERS)``)."""
        if isinstance(value, cst.Call) and self.answers.response_row(value.func) is not None:
            inner = argument(value, 0, "content")
            value = inner if inner is not None else value
        return value.value if isinstance(value, cst.Name) else None

    def _constant_ref(self, name: str) -> str | None:
        """A returned module-level record list: defined here, or an imported UPPER_CASE constant."""
        if name in self.extras.constants:
            return f"{self.module}.{name}"
        target = self.context.imports.aliases.get(name)
        if target is not None and name.isupper() and not set(name_tokens(name)) & self.tables.reference_tokens:
            return str(target)
        return None

    def visit_Raise(self, node: cst.Raise) -> None:
        frame = self._frame()
        if frame is None or node.exc is None or isinstance(node.exc, cst.Call):
            return  # raised calls are read in visit_Call
        is_error, status = self.answers.raised_http_error(node.exc)
        if is_error and status in self.tables.auth_statuses:
            frame.facts.auth.append(f"answers {status}")

    def visit_Assign(self, node: cst.Assign) -> None:
        frame = self._frame()
        if frame is None:
            self._locate_constant(node.targets[0].target if len(node.targets) == 1 else None, node.value)
            return
        value = node.value
        for target in node.targets:
            for name in _target_names(target.target):
                frame.names.add(name)
                frame.assignments[name] = frame.assignments.get(name, 0) + 1
                frame.literal_locals.pop(name, None)
                frame.random_locals.discard(name)
                frame.random_records.pop(name, None)
                frame.clients.discard(name)
        if len(node.targets) != 1 or not isinstance(node.targets[0].target, cst.Name):
            return
        name = node.targets[0].target.value
        leaked = self._leaked(value, frame)
        if leaked is not None:
            frame.tainted[name] = (leaked[1], leaked[2])
        else:
            frame.tainted.pop(name, None)
        if frame.assignments[name] == 1 and self._records(value, frame) is not None:
            frame.literal_locals[name] = value
            frame.exempt.update(id(n) for n in scope_descendants(value) if isinstance(n, cst.Call))
        if self._contains_random(value, frame):
            frame.random_locals.add(name)
        else:
            fields = [(n, f) for n, f in self._random_fields(value, frame, None) if f]
            if fields:
                frame.random_records[name] = fields
        if isinstance(value, cst.Call) and (self.context.qualified_name(value.func) or "") in self.tables.clients:
            frame.clients.add(name)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        frame = self._frame()
        if frame is not None:
            for name in _target_names(node.target):
                frame.names.add(name)
                frame.assignments[name] = frame.assignments.get(name, 0) + 1
                frame.literal_locals.pop(name, None)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        frame = self._frame()
        if frame is not None:
            frame.names.update(_target_names(node.target))
        elif node.value is not None:
            self._locate_constant(node.target, node.value)

    def _locate_constant(self, target: cst.BaseExpression | None, value: cst.BaseExpression) -> None:
        """A module constant of records found by the prescan gets its place when the walk reaches it."""
        if isinstance(target, cst.Name) and target.value in self.extras.constants:
            records = self.extras.constants[target.value]
            if not isinstance(records.span, LazySpan):
                records.span = self._locate(value)

    def _locate(self, node: cst.CSTNode) -> Span:
        """A lazily resolved span (``frameworks.LazySpan``) for ``node``: the node being visited, one of its
        ancestors, or a node below it. Positions are computed only if a finding lands on it."""
        ancestors = self.context.ancestors
        path: list[cst.CSTNode] | None = None
        for index in range(len(ancestors) - 1, -1, -1):
            if ancestors[index] is node:
                path = list(ancestors[: index + 1])
                break
        if path is None:
            below = _path_down(ancestors[-1], node)
            if below is None:
                span: Span = self.context.locate(node)
                return span
            path = [*ancestors, *below]
        steps = []
        for parent, child in zip(path, path[1:]):
            index_of = self.child_index.get(id(parent))
            if index_of is None:
                index_of = self.child_index[id(parent)] = {id(c): i for i, c in enumerate(children(parent))}
            steps.append(index_of.get(id(child), -1))
        return LazySpan(self.context.path, tuple(steps))

    def visit_For(self, node: cst.For) -> None:
        frame = self._frame()
        if frame is not None:
            frame.names.update(_target_names(node.target))

    def visit_With(self, node: cst.With) -> None:
        frame = self._frame()
        if frame is None:
            return
        for item in node.items:
            if item.asname is None:
                continue
            names = set(_target_names(item.asname.name))
            frame.names |= names
            call = item.item
            if isinstance(call, cst.Call) and (self.context.qualified_name(call.func) or "") in self.tables.clients:
                frame.clients |= names

    def visit_If(self, node: cst.If) -> None:
        self._toggle(node.test, [node.body, node.orelse] if node.orelse is not None else [node.body])

    def visit_IfExp(self, node: cst.IfExp) -> None:
        self._toggle(node.test, [node.body, node.orelse])

    def visit_Await(self, node: cst.Await) -> None:
        frame = self._frame()
        if frame is None:
            return
        call = node.expression
        head = (dotted_name(call.func) or "").partition(".")[0] if isinstance(call, cst.Call) else ""
        if head not in _REQUEST_NAMES:
            frame.facts.impure = True

    def visit_Yield(self, node: cst.Yield) -> None:
        frame = self._frame()
        if frame is not None:
            frame.facts.impure = True

    # ----------------------------------------------------------------- expressions

    def visit_Call(self, node: cst.Call) -> None:
        frame = self._frame()
        if frame is None:
            self._module_call(node)
            return
        if not self._in_body(frame):
            return  # decorators and parameter defaults run once, at definition time
        facts = frame.facts
        func = node.func
        ref = self.context.qualified_name(func) or ""
        tables = self.tables
        last = (
            func.attr.value if isinstance(func, cst.Attribute) else (func.value if isinstance(func, cst.Name) else "")
        )
        if id(node) not in frame.exempt and not self._pure_call(node, ref, frame):
            facts.impure = True
        if ref in tables.auth_calls:
            facts.auth.append(f"calls `{ref}`")
        elif last in tables.auth_call_names:
            facts.auth.append(f"calls `{last}()`")
        written = dotted_name(func) or last
        if any(t <= _stems(written) for t in tables.ratelimit_calls):
            facts.ratelimit.append(f"calls `{written}()`")
        row = self.answers.response_row(func)
        if row is not None:
            kind, status = self.answers.response_status(node, row)
            status = self._tuple_status(status)
            self._answered(facts, kind, status)
            self._leak_arguments(node, "response", status)
            return
        is_error, status = self.answers.http_error(node)
        if is_error:
            self._answered(facts, ERROR, status)
            if frame.handlers and frame.handlers[-1].validation and status != 400 and (status is None or status < 500):
                facts.validation_answers.append(Answer(self._locate(node), _short(node), status))
            self._leak_arguments(node, "http-error", status)
            return
        if ref in tables.network_calls or self._client_call(func, frame):
            facts.network.append(NetworkCall(self._locate(node), _short(node.func), self._request_guarded()))
        elif (
            isinstance(func, cst.Attribute) and func.attr.value in tables.store_methods and self._app_state(func.value)
        ):
            facts.state_io.append(NetworkCall(self._locate(node), f"{func.attr.value}", self._request_guarded()))

    @staticmethod
    def _app_state(receiver: cst.BaseExpression) -> bool:
        """A receiver kept in application state (the model cannot follow values stored there)."""
        while isinstance(receiver, cst.Subscript):
            receiver = receiver.value
        text = dotted_name(receiver)
        if text is not None:
            return bool(_APP_STATE.match(text))
        return isinstance(receiver, cst.Attribute) and _app_state_subscript(receiver)

    def _in_body(self, frame: _Frame) -> bool:
        for ancestor in reversed(self.context.ancestors):
            if ancestor is frame.body:
                return True
            if isinstance(ancestor, cst.FunctionDef):
                return False
        return False

    def _module_call(self, node: cst.Call) -> None:
        """Module level: a limiter with default limits (``Limiter(app, default_limits=[...])``)."""
        ref = self.context.qualified_name(node.func) or ""
        keyword = self.tables.limiters.get(ref)
        if keyword and argument(node, None, keyword) is not None:
            self.extras.limiters.append(f"`{ref.rpartition('.')[2]}({keyword}=...)`")

    def visit_Attribute(self, node: cst.Attribute) -> None:
        frame = self._frame()
        if frame is not None and node.attr.value in self.tables.auth_attributes:
            frame.facts.auth.append(f"checks `.{node.attr.value}`")

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        if not self.header_gate:
            return
        frame = self._frame()
        if frame is None:
            return
        value = node.evaluated_value
        if isinstance(value, str) and value.lower() in self.tables.auth_headers:
            frame.facts.auth.append(f"reads the `{value}` header")

    def visit_Name(self, node: cst.Name) -> None:
        frame = self._frame()
        if frame is None:
            return
        if node.value in self.tables.auth_attributes:
            frame.facts.auth.append(f"uses `{node.value}`")
        if not self.fake_gate or node.value in frame.fake_seen or node.value in frame.names:
            return
        if not set(name_tokens(node.value)) & self.tables.fake_tokens:
            return
        ancestors = self.context.ancestors
        parent = ancestors[-2]
        if _is_binding_position(node, parent):
            return
        reference: cst.CSTNode = node
        index = len(ancestors) - 2
        while index > 0 and isinstance(ancestors[index], cst.Attribute) and ancestors[index].value is reference:
            reference = ancestors[index]
            index -= 1
        ref = self._ref(reference)
        if ref is None or (node.value not in self.module_names and node.value not in self.context.imports.aliases):
            return  # a builtin or an unknown global, not a module-level store
        frame.fake_seen.add(node.value)
        frame.facts.fake_reads.append(Flagged(self._locate(reference), dotted_name(reference) or node.value, ref))

    # ----------------------------------------------------------------- helpers: answers and leaks

    def _answered(self, facts: BodyFacts, kind: str, status: int | None) -> None:
        """401/403 answers are authentication evidence (BL801); 429 answers are rate-limit evidence (BL802)."""
        if kind != ERROR or status is None:
            return
        if status in self.tables.auth_statuses:
            facts.auth.append(f"answers {status}")
        elif status == _TOO_MANY_REQUESTS:
            facts.ratelimit.append(f"answers {status}")

    def _tuple_status(self, status: int | None) -> int | None:
        """A response inside ``return body, 500``: the tuple's status wins."""
        ancestors = self.context.ancestors
        if len(ancestors) >= 3 and isinstance(ancestors[-2], cst.Element) and isinstance(ancestors[-3], cst.Tuple):
            elements = ancestors[-3].elements
            if len(elements) >= 2 and elements[0] is ancestors[-2]:
                return literal_status(elements[1].value) or status
        return status

    def _leak_arguments(self, call: cst.Call, sink: str, status: int | None) -> None:
        """Exception text in a response's or HTTP error's arguments (the status argument aside)."""
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value in ("status_code", "status", "code"):
                continue
            if arg.keyword is None and literal_status(arg.value) is not None:
                continue
            if self._leak(arg.value, sink, status, call, [a.value for a in call.args if a is not arg]):
                return

    def _leak(
        self,
        value: cst.BaseExpression,
        sink: str,
        status: int | None,
        at: cst.CSTNode,
        others: Iterable[cst.BaseExpression] = (),
    ) -> bool:
        frame = self._frame()
        if frame is None or self._debug_only():
            return False
        found = self._leaked(value, frame)
        if found is None:
            return False
        text, handler, via_param = found
        if not via_param:
            role = handler.role if handler is not None else "broad"
            if role == "http":
                return False  # an HTTP error's detail is written for the client
            if role in ("narrow", "validation") and (status is None or status < 500):
                return False  # a specific error answered as a client error: its message is meant for the client
        fix = lazy_fix(self._leak_fix([value, *others], frame, generic_message(status)), self._locate)
        frame.facts.leaks.append(Leak(self._locate(at), text, sink, status, via_param, fix))
        return True

    def _leak_fix(self, values: list[cst.BaseExpression], frame: _Frame, message: str) -> PendingFix | None:
        """BL405: every piece of exception text in the answer replaced by ``message``, in one fix."""
        edits: list[NodeEdit] = []
        done: set[int] = set()
        for value in values:
            for _ in range(_MAX_LEAKS):
                found = self._leaked(value, frame, done)
                if found is None:
                    break
                fix = generic_message_fix(value, found[0], _short, done, message)
                if fix is None:
                    return None
                edits.extend(fix.edits)
                done.update(id(edit.node) for edit in fix.edits)
        return PendingFix("unsafe", generic_fix_description(message), tuple(edits)) if edits else None

    def _leaked(
        self, value: cst.BaseExpression, frame: _Frame, skip: Container[int] = ()
    ) -> tuple[str, _Handler | None, bool] | None:
        """Exception text inside ``value``: the caught name, a tainted local, a traceback call, an ``exc`` parameter."""
        handlers = {h.name: h for h in frame.handlers if h.name}
        # Each node travels with the innermost call or string built around it, which the message shows.
        stack: list[tuple[cst.CSTNode, cst.CSTNode | None]] = [(value, None)]
        while stack:
            node, carrier = stack.pop()
            if isinstance(node, (cst.Lambda, cst.FunctionDef)) or id(node) in skip:
                continue
            if isinstance(node, cst.IfExp) and _mentions_debug(node.test):
                continue  # ``traceback.format_exc() if settings.DEBUG else "Internal Server Error"``
            if isinstance(node, cst.Call):
                ref = self.context.qualified_name(node.func) or ""
                if ref in _TRACEBACK_TEXT:
                    return _short(node), frame.handlers[-1] if frame.handlers else None, False
                if ref in ("type", "isinstance", "len", "bool", "getattr", "hasattr"):
                    continue
            if (
                isinstance(node, cst.Attribute)
                and isinstance(node.value, cst.Name)
                and node.attr.value in _BENIGN_ATTRIBUTES
            ):
                continue
            if isinstance(node, cst.Name):
                if node.value in handlers:
                    return _short(carrier or node), handlers[node.value], False
                if node.value in frame.tainted:
                    handler, via_param = frame.tainted[node.value]
                    return _short(carrier or node), handler, via_param
                if node.value in frame.exception_params:
                    return _short(carrier or node), None, True
                continue
            if isinstance(node, (cst.Call, cst.FormattedString, cst.BinaryOperation)):
                carrier = node
            stack.extend((child, carrier) for child in children(node))
        return None

    def _debug_only(self) -> bool:
        """Inside ``if settings.DEBUG:`` (its body): a debug page, not a production answer."""
        ancestors = self.context.ancestors
        for index in range(len(ancestors) - 2, -1, -1):
            node = ancestors[index]
            if isinstance(node, cst.FunctionDef):
                return False
            if isinstance(node, cst.If) and ancestors[index + 1] is node.body and _mentions_debug(node.test):
                return True
        return False

    def _request_guarded(self) -> bool:
        """Inside a ``try`` body whose handler catches broad, data-store or request errors (in this function)."""
        ancestors = self.context.ancestors
        for index in range(len(ancestors) - 2, -1, -1):
            node = ancestors[index]
            if isinstance(node, (cst.FunctionDef, cst.Lambda)):
                return False
            if isinstance(node, (cst.Try, cst.TryStar)) and ancestors[index + 1] is node.body:
                for handler in node.handlers:
                    if not isinstance(handler, cst.ExceptHandler):
                        continue
                    names = caught_names(handler, self.context)
                    if names is None or self.answers.caught_role(names) in ("broad", "database"):
                        return True
                    if any(n in self.tables.network_errors for n in names):
                        return True
        return False

    def _client_call(self, func: cst.BaseExpression, frame: _Frame) -> bool:
        if not isinstance(func, cst.Attribute):
            return False
        method = func.attr.value
        receiver = func.value
        if isinstance(receiver, cst.Name) and receiver.value in frame.clients:
            return True
        if isinstance(receiver, cst.Call):
            methods = self.tables.clients.get(self.context.qualified_name(receiver.func) or "")
            return methods is not None and method in methods
        return False

    def _pure_call(self, call: cst.Call, ref: str, frame: _Frame) -> bool:
        """A call that only computes: builtins, pure stdlib, response helpers, logging, request accessors."""
        func = call.func
        if isinstance(func, cst.Name) and func.value in _PURE_BUILTINS and func.value not in frame.names:
            return True
        if ref.partition(".")[0] in _PURE_MODULES or self.answers.response_row(func) is not None:
            return True
        if self.answers.http_error(call)[0] or self.logs.is_log_call(call):
            return True
        if isinstance(func, cst.Attribute):
            receiver = func.value
            head = (dotted_name(receiver) or "").partition(".")[0]
            if isinstance(receiver, (cst.SimpleString, cst.ConcatenatedString, cst.List, cst.Dict)):
                return True
            if head in _REQUEST_NAMES or head in frame.literal_locals:
                return True
        return False

    # ----------------------------------------------------------------- helpers: records and randomness

    def _records(self, value: cst.BaseExpression, frame: _Frame | None) -> Records | None:
        """``[{...}, {...}]`` (or constructor calls with literal arguments), unwrapped from a response or a dict."""
        if isinstance(value, cst.Name) and frame is not None and value.value in frame.literal_locals:
            value = frame.literal_locals[value.value]
        if isinstance(value, cst.Call) and self.answers.response_row(value.func) is not None:
            inner = argument(value, 0, "content") or argument(value, None, "data") or argument(value, None, "body")
            return self._records(inner, frame) if inner is not None else None
        if isinstance(value, cst.Tuple) and 2 <= len(value.elements) <= 3 and literal_status(value.elements[1].value):
            return self._records(value.elements[0].value, frame)
        if isinstance(value, cst.Dict):
            for element in value.elements:
                if isinstance(element, cst.DictElement) and isinstance(element.value, (cst.List, cst.Tuple)):
                    found = self._records(element.value, frame)
                    if found is not None:
                        return found
            return None
        if not isinstance(value, (cst.List, cst.Tuple)) or len(value.elements) < 2:
            return None
        rows: list[list[tuple[str, cst.BaseExpression]]] = []
        for item in value.elements:
            if isinstance(item, cst.StarredElement):
                return None
            row = self._record(item.value)
            if row is None or len(row) < 2:
                return None
            rows.append(row)
        return self._summary(value, rows)

    def _record(self, node: cst.BaseExpression) -> list[tuple[str, cst.BaseExpression]] | None:
        if isinstance(node, cst.Dict):
            pairs = []
            for element in node.elements:
                if not isinstance(element, cst.DictElement) or not isinstance(element.key, cst.SimpleString):
                    return None
                key = element.key.evaluated_value
                if not isinstance(key, str) or not _is_literal(element.value):
                    return None
                pairs.append((key, element.value))
            return pairs
        if isinstance(node, cst.Call) and _is_class_name(node.func):
            if self.answers.response_row(node.func) is not None:
                return None
            pairs = []
            for arg in node.args:
                if arg.keyword is None or arg.star or not _is_literal(arg.value):
                    return None
                pairs.append((arg.keyword.value, arg.value))
            return pairs
        return None

    def _summary(self, node: cst.BaseExpression, rows: list[list[tuple[str, cst.BaseExpression]]]) -> Records:
        """Keys, corroborating signs and shape of literal records; a module constant is placed later."""
        tables = self.tables
        keys = sorted({k for row in rows for k, _ in row})
        signs: list[str] = []
        for key in keys:
            if key == "id" or key.endswith("_id"):
                numbers = [_int_value(v) for row in rows for k, v in row if k == key]
                if (
                    len(numbers) == len(rows)
                    and all(n is not None for n in numbers)
                    and numbers == list(range(1, len(rows) + 1))
                ):
                    signs.append(f"sequential `{key}` values")
        made_up = [
            s for row in rows for _, v in row for s in _strings(v) if any(p.search(s) for p in tables.fabricated)
        ]
        if made_up:
            signs.append(f"made-up values such as `{made_up[0]}`")
        entities = [k for k in keys if k in tables.entity_keys]
        if entities:
            signs.append(f"entity fields ({', '.join(entities[:3])})")
        reference = set(keys) <= tables.reference_keys and not made_up
        span = self._locate(node) if self.frames else Span()
        return Records(span, len(rows), keys, signs, reference)

    def _contains_random(self, value: cst.BaseExpression, frame: _Frame) -> bool:
        for node in scope_descendants(value):
            if isinstance(node, cst.Name) and node.value in frame.random_locals:
                return True
            if not isinstance(node, cst.Call):
                continue
            func = node.func
            ref = self.context.qualified_name(func) or ""
            last = ref.rpartition(".")[2]
            if ref in self.tables.random_names or ref.startswith(self.tables.random_prefixes):
                if last in _PICKS:
                    options = argument(node, 0, "population") or argument(node, 0, "seq")
                    if not isinstance(options, (cst.List, cst.Tuple)):
                        continue
                return True
            if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
                receiver = func.value.value
                if receiver in self.random_instances and receiver not in frame.names:
                    return True
        return False

    def _random_fields(
        self, value: cst.BaseExpression, frame: _Frame, field: str | None
    ) -> Iterator[tuple[cst.CSTNode, str | None]]:
        """(random value, the field it fills) inside a returned dict/list/model/response."""
        if isinstance(value, cst.Dict):
            for element in value.elements:
                if not isinstance(element, cst.DictElement):
                    continue
                key = element.key.evaluated_value if isinstance(element.key, cst.SimpleString) else None
                name = key if isinstance(key, str) else None
                yield from self._random_fields(element.value, frame, name)
        elif isinstance(value, (cst.List, cst.Tuple, cst.Set)):
            for item in value.elements:
                yield from self._random_fields(item.value, frame, field)
        elif isinstance(value, (cst.ListComp, cst.GeneratorExp, cst.SetComp)):
            yield from self._random_fields(value.elt, frame, field)
        elif isinstance(value, cst.Name) and value.value in frame.random_records:
            yield from frame.random_records[value.value]
        elif isinstance(value, cst.Call) and (
            self.answers.response_row(value.func) is not None or _is_class_name(value.func)
        ):
            for arg in value.args:
                yield from self._random_fields(
                    arg.value, frame, arg.keyword.value if arg.keyword is not None else field
                )
        elif self._contains_random(value, frame):
            yield value, field

    # ----------------------------------------------------------------- helpers: mock toggles

    def _toggle(self, test: cst.BaseExpression, branches: list[cst.CSTNode]) -> None:
        frame = self._frame()
        if frame is None:
            return
        flag = self._toggle_flag(test, frame)
        if flag is None:
            return
        for branch in branches:
            mock = self._mock_branch(branch)
            if mock is not None:
                frame.facts.toggles.append(Flagged(self._locate(test), flag, mock))
                return

    def _toggle_flag(self, test: cst.BaseExpression, frame: _Frame) -> str | None:
        tables = self.tables
        for node in scope_descendants(test):
            key: str | None = None
            holder: cst.BaseExpression | None = None
            if isinstance(node, cst.Call):
                first = argument(node, 0, None)
                if isinstance(first, cst.SimpleString) and isinstance(node.func, cst.Attribute):
                    key, holder = _text(first), node.func.value
                elif (
                    isinstance(first, cst.SimpleString)
                    and (self.context.qualified_name(node.func) or "") == "os.getenv"
                ):
                    key, holder = _text(first), node.func
            elif isinstance(node, cst.Subscript) and len(node.slice) == 1:
                index = node.slice[0].slice
                if isinstance(index, cst.Index) and isinstance(index.value, cst.SimpleString):
                    key, holder = _text(index.value), node.value
            elif isinstance(node, cst.Attribute):
                key, holder = node.attr.value, node.value
            elif (
                isinstance(node, cst.Name)
                and node.value not in frame.names
                and set(name_tokens(node.value)) & tables.toggle_tokens
                and (node.value in self.module_names or node.value in self.context.imports.aliases)
            ):
                return node.value
            if not key or holder is None or not set(name_tokens(key)) & tables.toggle_tokens:
                continue
            written = dotted_name(holder) or ""
            qualified = self.context.qualified_name(holder) or ""
            configured = any(set(name_tokens(part)) & tables.config_tokens for part in written.split("."))
            if qualified == "os" or qualified.startswith("os.") or configured:
                return _short(node)
        return None

    def _mock_branch(self, branch: cst.CSTNode) -> str | None:
        """What a branch serves if it is mock data: a literal collection, or a fake-named store or function."""
        values: list[cst.BaseExpression] = []
        if isinstance(branch, cst.BaseExpression):
            values.append(branch)
        else:
            values += [n.value for n in scope_descendants(branch) if isinstance(n, cst.Return) and n.value is not None]
        for value in values:
            if isinstance(value, cst.Call) and self.answers.response_row(value.func) is not None:
                value = argument(value, 0, "content") or value
            if _is_collection(value) and _has_elements(value):
                return "a literal collection"
            target = value.func if isinstance(value, cst.Call) else value
            name = dotted_name(target)
            if name and set(name_tokens(name.rpartition(".")[2])) & self.tables.fake_tokens:
                return f"`{name}`"
        return None


# --------------------------------------------------------------------------- small syntax helpers


def _short(node: cst.CSTNode) -> str:
    text = " ".join(cst.Module([]).code_for_node(node).split())
    return text if len(text) <= _SHORT_TEXT else text[: _SHORT_TEXT - 1] + "…"


def _text(node: cst.SimpleString) -> str | None:
    value = node.evaluated_value
    return value if isinstance(value, str) else None


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _top_statements(body: Iterable[cst.CSTNode]) -> Iterator[cst.CSTNode]:
    """Module-level statements, including those under ``if``/``try`` (optional imports, settings)."""
    for statement in body:
        yield statement
        if isinstance(statement, (cst.If, cst.Try)):
            for block in (statement.body, *(h.body for h in getattr(statement, "handlers", ()))):
                if isinstance(block, cst.IndentedBlock):
                    yield from _top_statements(block.body)


def _annotation_head(annotation: cst.BaseExpression) -> cst.BaseExpression:
    return annotation.value if isinstance(annotation, cst.Subscript) else annotation


def _target_names(target: cst.BaseExpression) -> Iterator[str]:
    if isinstance(target, cst.Name):
        yield target.value
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from _target_names(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from _target_names(target.value)


def _is_collection(node: cst.BaseExpression) -> bool:
    """A literal collection, a comprehension, or ``dict(...)``/``list(...)`` building one."""
    if isinstance(node, (cst.Dict, cst.List, cst.Tuple, cst.Set, cst.ListComp, cst.DictComp, cst.SetComp)):
        return True
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value in (
        "dict", "list", "set", "tuple", "defaultdict", "OrderedDict",
    ) and bool(node.args)  # fmt: skip


def _has_elements(node: cst.BaseExpression) -> bool:
    comprehension = (cst.ListComp, cst.DictComp, cst.SetComp, cst.Call)
    return bool(getattr(node, "elements", None)) or isinstance(node, comprehension)


def _is_literal(node: cst.BaseExpression) -> bool:
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.Integer, cst.Float)):
        return True
    if isinstance(node, cst.FormattedString):
        return not any(isinstance(p, cst.FormattedStringExpression) for p in node.parts)
    if isinstance(node, cst.Name):
        return node.value in ("True", "False", "None")
    if isinstance(node, cst.UnaryOperation):
        return isinstance(node.operator, cst.Minus) and isinstance(node.expression, (cst.Integer, cst.Float))
    if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
        return all(not isinstance(e, cst.StarredElement) and _is_literal(e.value) for e in node.elements)
    if isinstance(node, cst.Dict):
        return all(
            isinstance(e, cst.DictElement) and _is_literal(e.key) and _is_literal(e.value) for e in node.elements
        )
    return False


def _strings(node: cst.BaseExpression) -> Iterator[str]:
    for child in scope_descendants(node):
        if isinstance(child, (cst.SimpleString, cst.ConcatenatedString)):
            value = child.evaluated_value
            if isinstance(value, str):
                yield value


def _int_value(node: cst.BaseExpression) -> int | None:
    return int(node.evaluated_value) if isinstance(node, cst.Integer) else None


def _app_state_subscript(node: cst.Attribute) -> bool:
    """``request.app["db"].pool``: an attribute of a value kept in app state."""
    inner: cst.BaseExpression = node
    while isinstance(inner, (cst.Attribute, cst.Subscript)):
        inner = inner.value
        if isinstance(inner, cst.Subscript) and bool(_APP_STATE.match(dotted_name(inner.value) or "")):
            return True
    return False


def _path_down(root: cst.CSTNode, target: cst.CSTNode) -> list[cst.CSTNode] | None:
    """The nodes from a child of ``root`` down to ``target``, in the walker's child order."""
    stack: list[tuple[cst.CSTNode, list[cst.CSTNode]]] = [(root, [])]
    while stack:
        node, path = stack.pop()
        for child in children(node):
            if child is target:
                return [*path, child]
            stack.append((child, [*path, child]))
    return None


@functools.lru_cache(maxsize=1 << 14)  # called for every call expression: the same callees recur
def _stems(name: str) -> frozenset[str]:
    """Name tokens with their plain stems (``signin_rate_limiter.is_limited`` → … limit, limited, limiter)."""
    tokens = set(name_tokens(name))
    for token in list(tokens):
        for suffix in ("ing", "er", "ed", "s"):
            if token.endswith(suffix) and len(token) > len(suffix) + 3:
                tokens.add(token[: -len(suffix)])
    return frozenset(tokens)


def _mentions_debug(test: cst.BaseExpression) -> bool:
    """A test on a debug flag (``settings.DEBUG``, ``app.debug``), not its negation."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return False
    return any(isinstance(n, cst.Name) and "debug" in name_tokens(n.value) for n in scope_descendants(test))


def _is_class_name(node: cst.BaseExpression) -> bool:
    name = node.attr.value if isinstance(node, cst.Attribute) else getattr(node, "value", "")
    return isinstance(name, str) and name[:1].isupper() and not name.isupper()


def _is_binding_position(node: cst.Name, parent: cst.CSTNode) -> bool:
    """The name is being bound or is a label (a keyword, an attribute name), not read."""
    if isinstance(parent, cst.Attribute) and parent.attr is node:
        return True
    if isinstance(parent, (cst.AssignTarget, cst.Param, cst.ImportAlias, cst.AsName, cst.FunctionDef, cst.ClassDef)):
        return True
    if isinstance(parent, cst.Arg) and parent.keyword is node:
        return True
    return isinstance(parent, (cst.AnnAssign, cst.AugAssign)) and parent.target is node
