"""Names as the framework walk resolves them: the scopes it is in, the names bound at module level,
the ``__main__`` guards, and project classes that stand for an app or router class.

A reference is a dotted string (``backlint/analysis/web/facts.py``): ``pkg.mod.name`` at module
level, ``pkg.mod.func:name`` for a function's local, ``pkg.mod.Cls.attr`` for ``self.attr``.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Sequence
from typing import Any

import libcst as cst

from backlint.analysis.scopes import CLASS, FUNCTION, MODULE, Scopes
from backlint.analysis.web.facts import ClassFacts, FunctionFacts, Origin
from backlint.analysis.web.modules import store_methods
from backlint.analysis.web.syntax import code, target_names
from backlint.core.catalog import Knowledge
from backlint.core.imports import dotted_name
from backlint.core.rule import FileContext

STDLIB = frozenset(getattr(sys, "stdlib_module_names", ())) | {
    "os", "sys", "re", "json", "logging", "typing", "datetime", "time", "asyncio", "collections",
    "functools", "itertools", "pathlib", "subprocess", "uuid", "random", "math", "enum", "dataclasses",
}  # fmt: skip
_MAIN_TEST = re.compile(r"""^__name__\s*==\s*['"]__main__['"]$|^['"]__main__['"]\s*==\s*__name__$""")


@dataclasses.dataclass(frozen=True)
class FrameworkTables:
    """The catalog tables the framework walk reads, indexed once per Knowledge."""

    objects: dict[str, dict[str, Any]]
    call_attrs: frozenset[str]
    append_attrs: frozenset[str]
    stores: dict[str, dict[str, Any]]
    handles: dict[str, str]
    types: dict[str, str]
    io_calls: dict[str, str]
    methods: dict[str, list[dict[str, Any]]]
    any_receiver: dict[str, str]
    probe_methods: dict[str, str]
    managers: dict[str, tuple[str, frozenset[str]]]
    model_methods: frozenset[str]
    settings: dict[str, str]
    responses: dict[str, dict[str, Any]]
    aborts: frozenset[str]
    route_ctors: frozenset[str]
    hook_functions: frozenset[str]
    status_collections: frozenset[str]  # a library's collection of every HTTP error status (a loop over it)
    debug_attrs: frozenset[str]  # keywords of debug switches (``debug``): ``app.debug = True`` is recorded
    spawners: frozenset[str]  # functions that start their argument as background work (task-spawners)
    spawner_methods: frozenset[str]  # methods that do, on any receiver (``loop.create_task``)

    @classmethod
    def build(cls, knowledge: Knowledge) -> FrameworkTables:
        routes = knowledge.rows("framework-routes")
        hooks = knowledge.rows("framework-hooks")
        clients = knowledge.rows("datastore-clients")
        methods = store_methods(knowledge)  # datastore-methods and the store-probes table's methods
        model_methods: set[str] = set()
        for row in knowledge.rows("datastore-models"):
            model_methods.update(row.get("class-methods", ()))
            model_methods.update(row.get("instance-methods", ()))
        probes = knowledge.rows("store-probes")  # library calls that probe a store, as io calls and probe methods
        io_calls = {r["name"]: r["kind"] for r in clients if r["role"] == "io"}
        io_calls.update({r["name"]: r["kind"] for r in probes if r.get("name") and r["name"] not in io_calls})
        probe_methods = {m: rows[0]["kind"] for m, rows in methods.items() if any(r.get("probe") for r in rows)}
        call_attrs = {r["name"] for r in routes if r["form"] in ("register", "include") and "." not in r["name"]}
        call_attrs |= {r["name"] for r in hooks if r["form"] == "register"}
        return cls(
            objects={r["name"]: r for r in knowledge.rows("framework-objects")},
            call_attrs=frozenset(call_attrs),
            append_attrs=frozenset(r["name"] for r in hooks if r["form"] == "append"),
            stores={r["name"]: r for r in clients if r["role"] == "store"},
            handles={r["name"]: r["kind"] for r in clients if r["role"] == "handle"},
            types={r["name"]: r["kind"] for r in clients if r["role"] == "type"},
            io_calls=io_calls,
            methods=methods,
            any_receiver={
                m: rows[0]["kind"] for m, rows in methods.items() if any(r.get("receiver") == "any" for r in rows)
            },
            probe_methods=probe_methods,
            managers={
                r["manager"]: (r["kind"], frozenset(r.get("lazy-methods", ())))
                for r in reversed(knowledge.rows("datastore-models"))
                if "manager" in r
            },
            model_methods=frozenset(model_methods),
            settings={r["name"]: r["role"] for r in knowledge.rows("framework-settings")},
            responses={r["name"]: r for r in knowledge.rows("framework-responses")},
            aborts=knowledge.values("framework-aborts", "name"),
            route_ctors=frozenset(r["name"] for r in routes if r["form"] in ("route", "include") and "." in r["name"]),
            hook_functions=frozenset(r["name"] for r in hooks if r["form"] == "function"),
            status_collections=knowledge.values("http-status-collections", "name"),
            debug_attrs=frozenset(r["keyword"] for r in knowledge.rows("framework-debug") if r["form"] == "kwarg"),
            spawners=frozenset(r["name"] for r in knowledge.rows("task-spawners") if r.get("name")),
            spawner_methods=frozenset(r["method"] for r in knowledge.rows("task-spawners") if r.get("method")),
        )


@dataclasses.dataclass
class Scope:
    """A module, class or function the walk is in, with the facts it builds for it."""

    kind: str  # "module" | "class" | "function"
    qualname: str
    node: cst.CSTNode | None = None  # the def or class statement (None for the module)
    facts: FunctionFacts | None = None
    class_facts: ClassFacts | None = None
    origins: dict[str, Origin] = dataclasses.field(default_factory=dict)
    self_name: str | None = None
    cls: str | None = None
    yielded: bool = False
    guards: dict[int, int | None] = dataclasses.field(default_factory=dict)


class FrameworkNames:
    """The scopes of the framework walk and the references names stand for in them."""

    def __init__(self, context: FileContext, module: str, tables: FrameworkTables) -> None:
        self.context = context
        self.bindings = context.get(Scopes)
        self.module = module
        self.tables = tables
        self.scopes: list[Scope] = []
        self.module_names: set[str] = set()
        self.main_guards: set[int] = set()
        self.local_ctors: dict[str, str] = {}  # classes of this module deriving from an app or router class

    def prescan(self, body: Sequence[cst.CSTNode]) -> None:
        """Names bound at module level (also under if/try/with), and ``__main__`` guards."""
        for statement in body:
            if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                self.module_names.add(statement.name.value)
            elif isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    targets: list[cst.BaseExpression] = []
                    if isinstance(small, cst.Assign):
                        targets = [t.target for t in small.targets]
                    elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                        targets = [small.target]
                    for target in targets:
                        for name in target_names(target):
                            self.module_names.add(name)
            elif isinstance(statement, cst.If):
                if _MAIN_TEST.match(code(statement.test)):
                    self.main_guards.add(id(statement))
                self._prescan_blocks(statement)
            elif isinstance(statement, (cst.Try, cst.TryStar, cst.With, cst.For, cst.While)):
                self._prescan_blocks(statement)

    def _prescan_blocks(self, statement: cst.CSTNode) -> None:
        for attr in ("body", "orelse", "finalbody"):
            block = getattr(statement, attr, None)
            if isinstance(block, cst.If):
                self._prescan_blocks(block)
                continue
            inner = getattr(block, "body", None)
            if isinstance(inner, cst.IndentedBlock):
                self.prescan(inner.body)
            elif isinstance(block, cst.IndentedBlock):
                self.prescan(block.body)
        for handler in getattr(statement, "handlers", ()):
            if isinstance(handler.body, cst.IndentedBlock):
                self.prescan(handler.body.body)

    def find_local_ctors(self, body: Sequence[cst.CSTNode]) -> None:
        """Module classes deriving from an app or router class (subclasses of subclasses, in any order)."""
        classes = [s for s in body if isinstance(s, cst.ClassDef)]
        for _ in range(3):
            for statement in classes:
                qualname = f"{self.module}.{statement.name.value}"
                for arg in statement.bases:
                    ctor = self.ctor(self.ref(arg.value)) if arg.keyword is None else None
                    if ctor is not None:
                        self.local_ctors[qualname] = ctor

    def ctor(self, ref: str | None) -> str | None:
        """The app/router constructor ``ref`` stands for (a project subclass counts as its base)."""
        if ref is None:
            return None
        ref = self.local_ctors.get(ref, ref)
        return ref if ref in self.tables.objects else None

    def function_scope(self) -> Scope:
        for scope in reversed(self.scopes):
            if scope.facts is not None:
                return scope
        return self.scopes[0]

    def function_name(self) -> str | None:
        scope = self.function_scope()
        return None if scope.kind == "module" else scope.qualname

    def ref(self, node: cst.CSTNode) -> str | None:
        """The dotted reference a Name/Attribute chain stands for, resolved through scopes and imports."""
        name = dotted_name(node)
        if name is None:
            return None
        head, dot, rest = name.partition(".")
        owner = self.owner(head)
        innermost = True
        for scope in reversed(self.scopes):
            if scope.kind == "class":
                if innermost and owner is not None and owner is scope.node:
                    return f"{scope.qualname}.{name}"
                innermost = False
                continue
            innermost = False
            if scope.kind == "function":
                if head == scope.self_name and scope.cls is not None:
                    return f"{scope.cls}{dot}{rest}"
                if owner is not None and owner is scope.node:
                    return f"{scope.qualname}:{name}"
                continue
            if head in self.module_names or owner is self.bindings.module.node:
                return f"{self.module}.{name}"
            target = self.context.imports.aliases.get(head)
            if target is not None:
                return f"{target}{dot}{rest}"
        return name

    def local_origin(self, node: cst.BaseExpression) -> Origin | None:
        """The origin recorded for a local name of the enclosing functions (None if shadowed)."""
        if not isinstance(node, cst.Name):
            return None
        owner = self.owner(node.value)
        for scope in reversed(self.scopes):
            if scope.kind == "class":
                continue
            if node.value in scope.origins:
                return scope.origins[node.value]
            if scope.kind == "function" and owner is not None and owner is scope.node:
                return None
        return None

    def owner(self, name: str) -> cst.CSTNode | None:
        """The def or class statement whose body binds ``name`` as seen where the walk is, or the module
        (``global`` names too) (``Scopes``); None for a comprehension variable or an unbound name."""
        found = self.bindings.lookup(name, self.bindings.site_at(self.context.ancestors[-1]))
        if found is None or not found[0]:
            return None
        scope = found[0][0].scope
        return scope.node if scope.kind in (FUNCTION, CLASS, MODULE) else None

    def in_main_guard(self) -> bool:
        return bool(self.main_guards) and any(id(a) in self.main_guards for a in self.context.ancestors)

    def binding_ref(self) -> str | None:
        """The name the call being visited is assigned to (``app = FastAPI()``), if any."""
        ancestors = self.context.ancestors
        index = len(ancestors) - 2
        if index >= 0 and isinstance(ancestors[index], cst.Await):
            index -= 1
        parent = ancestors[index] if index >= 0 else None
        target: cst.BaseExpression | None = None
        if isinstance(parent, cst.Assign) and len(parent.targets) == 1:
            target = parent.targets[0].target
        elif isinstance(parent, cst.AnnAssign):
            target = parent.target
        elif isinstance(parent, cst.Return):
            function = self.function_name()
            return f"{function}:<return>" if function else None
        if isinstance(target, cst.Name):
            function = self.function_name()
            if function and target.value not in self.bindings.current.frame.globals:
                return f"{function}:{target.value}"
            return f"{self.module}.{target.value}"  # module level, or ``global app`` in a factory
        if isinstance(target, cst.Attribute):  # self.app = FastAPI()
            ref = self.ref(target)
            return ref if ref and ":" not in ref and ref.startswith(self.module + ".") else None
        return None

    @staticmethod
    def project_ref(ref: str | None) -> bool:
        """A reference to a module-level name of some package outside the standard library."""
        return ref is not None and "." in ref and ":" not in ref and ref.split(".")[0] not in STDLIB
