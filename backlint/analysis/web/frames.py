"""The state the body walk's parts share: the tables they read, the frame of each function being
walked (its names, the ``except`` clauses around the walk, what its locals hold), the module-level
facts, and references as the body walk resolves them."""

from __future__ import annotations

import dataclasses
import re

import libcst as cst

from backlint.analysis.logging import LogCalls
from backlint.analysis.scopes import Scopes
from backlint.analysis.strings import name_tokens
from backlint.analysis.web.answers import Answers
from backlint.analysis.web.bodies import BodyFacts, ModuleExtras
from backlint.analysis.web.file import WebFile
from backlint.core.catalog import Knowledge
from backlint.core.imports import dotted_name
from backlint.core.patterns import compile_pattern
from backlint.core.rule import FileContext

# Data-store methods that a settings dict kept in app state has too: not evidence of I/O there.
_MAPPING_METHODS = frozenset({"get", "set", "delete", "add", "exists", "update", "pop", "keys", "values", "items"})


@dataclasses.dataclass(frozen=True)
class BodyTables:
    """The tables the body walk reads, indexed once per Knowledge."""

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
    random_heads: frozenset[str]  # first parts of the random sources and factories
    parsers: frozenset[str]  # input-parsers: functions that only parse or validate a value
    parser_methods: frozenset[str]
    store_clients: frozenset[str]  # data-store client constructors (not value objects)

    @classmethod
    def build(cls, knowledge: Knowledge) -> BodyTables:
        def mock(role: str) -> frozenset[str]:
            return frozenset(r["name"] for r in knowledge.rows("mock-data") if r["role"] == role and "name" in r)

        def patterns(role: str) -> tuple[re.Pattern[str], ...]:
            rows = knowledge.rows("mock-data")
            return tuple(compile_pattern(r["pattern"]) for r in rows if r["role"] == role and "pattern" in r)

        def auth(form: str) -> frozenset[str]:
            return frozenset(r["name"] for r in knowledge.rows("auth-evidence") if r["form"] == form)

        network = knowledge.rows("network-clients")
        sources = mock("random-source")
        limits = knowledge.rows("rate-limit-evidence")
        return cls(
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
            random_heads=frozenset(s.split(".")[0] for s in (*sources, *mock("random-factory"))),
            parsers=frozenset(r["name"] for r in knowledge.rows("input-parsers") if r["form"] == "call"),
            parser_methods=frozenset(r["name"] for r in knowledge.rows("input-parsers") if r["form"] == "method"),
            store_clients=frozenset(r["name"] for r in knowledge.rows("datastore-clients")),
        )


@dataclasses.dataclass
class Catch:
    """An enclosing ``except`` clause: what it catches (a role), its ``as`` name, and whether it sets a status."""

    role: str
    name: str | None
    sets_status: bool
    validation: bool  # catches a ``*ValidationError`` class
    caught: tuple[str, ...] = ()  # the caught classes as project-wide references (empty: bare ``except:``)
    parses_input: bool = False  # its ``try`` only parses or constructs values (the input-parsers table)


@dataclasses.dataclass
class Frame:
    """A function being walked."""

    facts: BodyFacts
    top_level: bool
    exception_params: set[str]  # parameters named like an exception (``exc``, ``error``)
    handlers: list[Catch] = dataclasses.field(default_factory=list)
    # Locals holding exception text: the ``except`` it comes from, whether from a handler's parameter,
    # and the callees it went through (empty: the text itself).
    tainted: dict[str, tuple[Catch | None, bool, tuple[tuple[str, int | None, str | None], ...]]] = dataclasses.field(
        default_factory=dict
    )
    random_locals: set[str] = dataclasses.field(default_factory=set)
    random_records: dict[str, list[tuple[cst.CSTNode, str]]] = dataclasses.field(default_factory=dict)
    literal_locals: dict[str, cst.BaseExpression] = dataclasses.field(default_factory=dict)
    assignments: dict[str, int] = dataclasses.field(default_factory=dict)
    exempt: set[int] = dataclasses.field(default_factory=set)
    clients: set[str] = dataclasses.field(default_factory=set)
    returns_literal: bool = False
    fake_seen: set[str] = dataclasses.field(default_factory=set)
    body: cst.CSTNode | None = None


class BodyState:
    """What the body walk knows at the current node, shared by its readers."""

    def __init__(self, context: FileContext, web: WebFile) -> None:
        self.context = context
        self.web = web
        self.scopes = context.get(Scopes)
        self.tables = context.knowledge.derived(BodyTables.build)
        self.answers = Answers(context.knowledge, context.qualified_name)
        self.logs = LogCalls(context)
        self.module = web.module
        self.nesting: list[str] = [self.module]  # the module, classes and functions the walk is in
        self.frames: list[Frame | None] = []
        self.extras = ModuleExtras()
        self.module_names: set[str] = set()
        self.random_instances: set[str] = set()
        lower = context.source.lower()
        self.fake_gate = any(t in lower for t in self.tables.fake_tokens)
        self.header_gate = any(h in lower for h in self.tables.auth_headers)
        self.fake_module = bool(set(name_tokens(self.module.rpartition(".")[2])) & self.tables.fake_tokens)
        # Gates on the text: what a file never mentions, its walk need not look for. A qualified name
        # comes from the file's text or, through a relative import, from its module's name.
        text = f"{context.source}\n{context.module_name}"
        self.random_gate = any(head in text for head in self.tables.random_heads)
        self.toggle_gate = any(token in lower for token in self.tables.toggle_tokens)
        self.traceback_gate = "traceback" in text or "exc_info" in text

    def frame(self) -> Frame | None:
        return self.frames[-1] if self.frames else None

    def is_local(self, name: str) -> bool:
        """``name`` is bound in the function being walked (a parameter, an assigned name), where it is
        read: not a module-level name."""
        if self.frame() is None:
            return False
        found = self.scopes.lookup(name, self.scopes.site_at(self.context.ancestors[-1]))
        return found is not None and found[1]

    def ref(self, node: cst.CSTNode) -> str | None:
        """A Name/Attribute chain as a project-wide reference: module-level names get the module prefix."""
        name = dotted_name(node)
        if name is None:
            return None
        head, dot, rest = name.partition(".")
        if self.is_local(head):
            return None
        if head in self.module_names:
            return f"{self.module}.{name}"
        target = self.context.imports.aliases.get(head)
        if target is not None:
            return f"{target}{dot}{rest}"
        return name
