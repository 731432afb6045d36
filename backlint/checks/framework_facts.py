"""Records the facts of the framework model (``backlint/analysis/frameworks.py``) in the shared walk.

Nothing here judges: it notes which apps, routers, routes, hooks, data stores and calls a module
has, as plain data, and leaves joining them across modules to ``ProjectModel``.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import libcst as cst

from backlint.analysis.autofix import error_status_fixes
from backlint.analysis.endpoints import Answers, literal_status
from backlint.analysis.exceptions import caught_names, is_broad
from backlint.analysis.frameworks import (
    ALIASES,
    ASSIGNS,
    BINDINGS,
    CLASSES,
    ENVIRON,
    FUNCTIONS,
    IMPORTS,
    MODULE_SCOPE,
    OBJECT_CALLS,
    OBJECTS,
    STARS,
    STORES,
    UNKNOWN,
    AssignFact,
    BindingFact,
    CallSite,
    ClassFacts,
    FunctionFacts,
    Guard,
    IoSite,
    ObjectCallFact,
    ObjectFact,
    Origin,
    StoreFact,
    Value,
)
from backlint.analysis.lazy import LazyFix, LazySpan, lazy_fix, steps_locator
from backlint.core.catalog import Knowledge
from backlint.core.facts import FactCollector
from backlint.core.imports import dotted_name
from backlint.core.results import Span
from backlint.pipeline.walk import children, scope_descendants

_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ())) | {
    "os", "sys", "re", "json", "logging", "typing", "datetime", "time", "asyncio", "collections",
    "functools", "itertools", "pathlib", "subprocess", "uuid", "random", "math", "enum", "dataclasses",
}  # fmt: skip
_DEPENDS = frozenset({"fastapi.Depends", "fastapi.Security", "fastapi.params.Depends", "fastapi.params.Security"})
_ANNOTATED = frozenset({"typing.Annotated", "typing_extensions.Annotated"})
_MAIN_TEST = re.compile(r"""^__name__\s*==\s*['"]__main__['"]$|^['"]__main__['"]\s*==\s*__name__$""")
_MAX_VALUE_DEPTH = 6
_MAX_WRAPS = 24
_UNAVAILABLE = 503  # BL605's fix: a failed health probe is answered "503 Service Unavailable"


@dataclasses.dataclass
class _Tables:
    """The catalog tables the collector reads, indexed once per run."""

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
    triggers: tuple[str, ...]


_TABLES: dict[int, tuple[Knowledge, _Tables]] = {}


def _tables(knowledge: Knowledge) -> _Tables:
    cached = _TABLES.get(id(knowledge))
    if cached is not None and cached[0] is knowledge:
        return cached[1]
    routes = knowledge.rows("framework-routes")
    hooks = knowledge.rows("framework-hooks")
    clients = knowledge.rows("datastore-clients")
    methods: dict[str, list[dict[str, Any]]] = {}
    for row in knowledge.rows("datastore-methods"):
        methods.setdefault(row["method"], []).append(row)
    model_methods: set[str] = set()
    for row in knowledge.rows("datastore-models"):
        model_methods.update(row.get("class-methods", ()))
        model_methods.update(row.get("instance-methods", ()))
    call_attrs = {r["name"] for r in routes if r["form"] in ("register", "include") and "." not in r["name"]}
    call_attrs |= {r["name"] for r in hooks if r["form"] == "register"}
    tables = _Tables(
        objects={r["name"]: r for r in knowledge.rows("framework-objects")},
        call_attrs=frozenset(call_attrs),
        append_attrs=frozenset(r["name"] for r in hooks if r["form"] == "append"),
        stores={r["name"]: r for r in clients if r["role"] == "store"},
        handles={r["name"]: r["kind"] for r in clients if r["role"] == "handle"},
        types={r["name"]: r["kind"] for r in clients if r["role"] == "type"},
        io_calls={r["name"]: r["kind"] for r in clients if r["role"] == "io"},
        methods=methods,
        any_receiver={
            m: rows[0]["kind"] for m, rows in methods.items() if any(r.get("receiver") == "any" for r in rows)
        },
        probe_methods={m: rows[0]["kind"] for m, rows in methods.items() if any(r.get("probe") for r in rows)},
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
        triggers=_triggers(knowledge),
    )
    _TABLES[id(knowledge)] = (knowledge, tables)
    return tables


def _top_packages(names: Iterable[str]) -> set[str]:
    return {n.split(".")[0] for n in names if "." in n}


@dataclasses.dataclass
class _Scope:
    kind: str  # "module" | "class" | "function"
    qualname: str
    facts: FunctionFacts | None = None
    class_facts: ClassFacts | None = None
    names: set[str] = dataclasses.field(default_factory=set)
    origins: dict[str, Origin] = dataclasses.field(default_factory=dict)
    self_name: str | None = None
    cls: str | None = None
    yielded: bool = False
    guards: dict[int, int | None] = dataclasses.field(default_factory=dict)


def _triggers(knowledge: Knowledge) -> tuple[str, ...]:
    """Names without which a module has nothing to record: framework and client packages, settings
    names, probe methods, model managers — all from the tables."""
    names: set[str] = set()
    for table in (
        "framework-objects",
        "datastore-clients",
        "framework-view-classes",
        "framework-routes",
        "framework-hooks",
    ):
        names |= _top_packages(r["name"] for r in knowledge.rows(table))
    names |= {r["name"] for r in knowledge.rows("framework-settings")}
    names |= {r["method"] for r in knowledge.rows("datastore-methods") if r.get("probe")}
    names |= {r["manager"] for r in knowledge.rows("datastore-models") if "manager" in r}
    return tuple(sorted(names))


class FrameworkFacts(FactCollector):
    """Apps, routers, routes, hooks, handlers, data stores and per-function summaries of a module."""

    @classmethod
    def trigger_tokens(cls, knowledge: Knowledge) -> Iterable[str]:
        return _tables(knowledge).triggers

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.tables = _tables(context.knowledge)
        self.module = context.module_name or "__main__"
        self.scopes: list[_Scope] = []
        self.module_names: set[str] = set()
        self.main_guards: set[int] = set()
        self.object_refs: dict[int, str] = {}
        self.anonymous = 0
        self.imported: set[str] = set()
        self.child_index: dict[int, dict[int, int]] = {}
        self.local_ctors: dict[str, str] = {}  # classes of this module deriving from an app or router class
        self.answers: Answers | None = None  # made when a guard's answer is to be fixed

    # ----------------------------------------------------------------- scopes and names

    def visit_Module(self, node: cst.Module) -> None:
        self._prescan(node.body)
        facts = FunctionFacts(
            qualname=f"{self.module}.{MODULE_SCOPE}", name=MODULE_SCOPE, cls=None, span=None,
            params=[], decorators=[], is_async=False,
        )  # fmt: skip
        self.scopes.append(_Scope("module", self.module, facts=facts))
        classes = [s for s in node.body if isinstance(s, cst.ClassDef)]
        for _ in range(3):  # subclasses of subclasses, defined in any order
            for statement in classes:
                qualname = f"{self.module}.{statement.name.value}"
                for arg in statement.bases:
                    ctor = self._ctor(self._ref(arg.value)) if arg.keyword is None else None
                    if ctor is not None:
                        self.local_ctors[qualname] = ctor

    def leave_Module(self, node: cst.Module) -> None:
        scope = self.scopes.pop()
        assert scope.facts is not None
        self.context.add_fact(FUNCTIONS, scope.facts)
        for name, origin in scope.origins.items():
            self.context.add_fact(BINDINGS, BindingFact(f"{self.module}.{name}", origin))
        self.context.facts[IMPORTS] = sorted(self.imported)
        self.context.facts[ALIASES] = dict(self.context.imports.aliases)

    def _prescan(self, body: Sequence[cst.CSTNode]) -> None:
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
                        for name in _target_names(target):
                            self.module_names.add(name)
            elif isinstance(statement, cst.If):
                if _MAIN_TEST.match(_code(statement.test)):
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
                self._prescan(inner.body)
            elif isinstance(block, cst.IndentedBlock):
                self._prescan(block.body)
        for handler in getattr(statement, "handlers", ()):
            if isinstance(handler.body, cst.IndentedBlock):
                self._prescan(handler.body.body)

    def _ctor(self, ref: str | None) -> str | None:
        """The app/router constructor ``ref`` stands for (a project subclass counts as its base)."""
        if ref is None:
            return None
        ref = self.local_ctors.get(ref, ref)
        return ref if ref in self.tables.objects else None

    def _function_scope(self) -> _Scope:
        for scope in reversed(self.scopes):
            if scope.facts is not None:
                return scope
        return self.scopes[0]

    def _function_name(self) -> str | None:
        scope = self._function_scope()
        return None if scope.kind == "module" else scope.qualname

    def _ref(self, node: cst.CSTNode) -> str | None:
        """The dotted reference a Name/Attribute chain stands for, resolved through scopes and imports."""
        name = dotted_name(node)
        if name is None:
            return None
        head, dot, rest = name.partition(".")
        innermost = True
        for scope in reversed(self.scopes):
            if scope.kind == "class":
                if innermost and head in scope.names:
                    return f"{scope.qualname}.{name}"
                innermost = False
                continue
            innermost = False
            if scope.kind == "function":
                if head == scope.self_name and scope.cls is not None:
                    return f"{scope.cls}{dot}{rest}"
                if head in scope.names:
                    return f"{scope.qualname}:{name}"
                continue
            if head in self.module_names:
                return f"{self.module}.{name}"
            target = self.context.imports.aliases.get(head)
            if target is not None:
                return f"{target}{dot}{rest}"
        return name

    # ----------------------------------------------------------------- functions and classes

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        parent = self.scopes[-1]
        qualname = f"{parent.qualname}.{node.name.value}"
        params = [p.name.value for p in (*node.params.posonly_params, *node.params.params)]
        kwonly = [p.name.value for p in node.params.kwonly_params]
        decorators = [self._value(d.decorator) for d in node.decorators]
        is_method = parent.kind == "class"
        is_static = any(_code(d.decorator) == "staticmethod" for d in node.decorators)
        span = None
        if node.decorators or is_method or any(p in ("request", "req", "websocket") for p in params[:2]):
            span = self._locate()
        facts = FunctionFacts(
            qualname=qualname,
            name=node.name.value,
            cls=parent.qualname if is_method else None,
            span=span,
            params=params + kwonly,
            decorators=decorators,
            is_async=node.asynchronous is not None,
        )
        scope = _Scope("function", qualname, facts=facts, names=set(params + kwonly))
        if node.params.star_arg is not None and isinstance(node.params.star_arg, cst.Param):
            scope.names.add(node.params.star_arg.name.value)
        if node.params.star_kwarg is not None:
            scope.names.add(node.params.star_kwarg.name.value)
        if is_method and params and not is_static:
            scope.self_name = params[0]
            scope.cls = parent.qualname
        self.scopes.append(scope)
        for param in (*node.params.posonly_params, *node.params.params, *node.params.kwonly_params):
            origin = self._param_origin(param)
            if origin is not None:
                scope.origins[param.name.value] = origin
        if is_method and parent.class_facts is not None:
            parent.class_facts.methods.append(node.name.value)
        if parent.kind != "class":
            parent.names.add(node.name.value)

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        scope = self.scopes.pop()
        assert scope.facts is not None
        self.context.add_fact(FUNCTIONS, scope.facts)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        parent = self.scopes[-1]
        qualname = f"{parent.qualname}.{node.name.value}"
        bases = [ref for ref in (self._ref(arg.value) for arg in node.bases if arg.keyword is None) if ref]
        for base in bases:  # class SupersetApp(Flask): calling it builds an app
            ctor = self.local_ctors.get(base, base if base in self.tables.objects else None)
            if ctor is not None:
                self.local_ctors[qualname] = ctor
        facts = ClassFacts(
            qualname=qualname,
            bases=bases,
            methods=[],
            decorators=[self._value(d.decorator) for d in node.decorators],
            span=self._locate() if bases or node.decorators else None,
        )
        self.scopes.append(_Scope("class", qualname, class_facts=facts))

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        scope = self.scopes.pop()
        assert scope.class_facts is not None
        self.context.add_fact(CLASSES, scope.class_facts)

    def _param_origin(self, param: cst.Param) -> Origin | None:
        default = param.default
        if isinstance(default, cst.Call) and self._ref(default.func) in _DEPENDS and default.args:
            provider = self._ref(default.args[0].value)
            if param.annotation is not None:
                typed = self._annotation_origin(param.annotation.annotation)
                if typed is not None:
                    return typed
            return ("call", provider) if provider else None
        if param.annotation is not None:
            return self._annotation_origin(param.annotation.annotation)
        return None

    def _annotation_origin(self, annotation: cst.BaseExpression) -> Origin | None:
        if isinstance(annotation, cst.Subscript):
            head = self._ref(annotation.value)
            elements = [e.slice.value for e in annotation.slice if isinstance(e.slice, cst.Index)]
            if head in _ANNOTATED and elements:
                typed = self._annotation_origin(elements[0])
                if typed is not None:
                    return typed
                for extra in elements[1:]:
                    if isinstance(extra, cst.Call) and self._ref(extra.func) in _DEPENDS and extra.args:
                        provider = self._ref(extra.args[0].value)
                        return ("call", provider) if provider else None
                return None
            if head in ("typing.Optional", "Optional") and elements:
                return self._annotation_origin(elements[0])
            return None
        if isinstance(annotation, cst.BinaryOperation):  # X | None
            return self._annotation_origin(annotation.left) or self._annotation_origin(annotation.right)
        if isinstance(annotation, cst.SimpleString):
            return None
        ref = self._ref(annotation)
        if ref is None:
            return None
        if ref in self.tables.types:
            return ("handle", self.tables.types[ref])
        local = self._local_origin(annotation)
        if local is not None:
            return local
        if "." in ref and ":" not in ref and ref.split(".")[0] not in _STDLIB:
            return ("ref", ref)
        return None

    # ----------------------------------------------------------------- statements

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            name = dotted_name(alias.name)
            if name:
                self.imported.add(name)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar):
            self.imported.add(self._from_module(node))
            if self.scopes and self.scopes[-1].kind == "module":
                self.context.add_fact(STARS, self._from_module(node))
            return
        aliases = self.context.imports.aliases
        for alias in node.names:
            local = alias.asname.name.value if alias.asname and isinstance(alias.asname.name, cst.Name) else None
            local = local or dotted_name(alias.name) or ""
            if local in aliases:
                self.imported.add(aliases[local])

    def _from_module(self, node: cst.ImportFrom) -> str:
        module = dotted_name(node.module) if node.module is not None else ""
        level = len(node.relative)
        if not level:
            return module or ""
        parts = self.module.split(".")
        if not self.context.path.endswith("__init__.py"):
            parts = parts[:-1]
        if level > 1:
            parts = parts[: len(parts) - (level - 1)]
        return ".".join([*parts, *([module] if module else [])])

    def visit_Assign(self, node: cst.Assign) -> None:
        scope = self.scopes[-1]
        for target in node.targets:
            self._bind(target.target, node.value, scope)
            if isinstance(target.target, cst.Attribute) and target.target.attr.value in ("status_code", "status"):
                status = literal_status(node.value)
                if status is None or status >= 400:
                    self._function_scope().facts.answers_error = True  # type: ignore[union-attr]
        if scope.kind == "module" and len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            self._module_assign(node.targets[0].target.value, node.value, node, augmented=False)
        if scope.kind == "class" and scope.class_facts is not None:
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    scope.class_facts.attrs[target.target.value] = self._value(node.value)
                    scope.names.add(target.target.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        scope = self.scopes[-1]
        if node.value is not None:
            self._bind(node.target, node.value, scope)
            if scope.kind == "module" and isinstance(node.target, cst.Name):
                self._module_assign(node.target.value, node.value, node, augmented=False)
        elif isinstance(node.target, cst.Name) and scope.kind == "function":
            scope.names.add(node.target.value)
            origin = self._annotation_origin(node.annotation.annotation)
            if origin is not None:
                scope.origins[node.target.value] = origin

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        scope = self.scopes[-1]
        if scope.kind == "module" and isinstance(node.target, cst.Name):
            self._module_assign(node.target.value, node.value, node, augmented=True)
        elif scope.kind == "function" and isinstance(node.target, cst.Name):
            scope.names.add(node.target.value)

    def visit_With(self, node: cst.With) -> None:
        scope = self.scopes[-1]
        for item in node.items:
            if item.asname is not None:
                self._bind(item.asname.name, item.item, scope)

    def visit_For(self, node: cst.For) -> None:
        scope = self.scopes[-1]
        if scope.kind == "function":
            for name in _target_names(node.target):
                scope.names.add(name)
                scope.origins.pop(name, None)

    def _bind(self, target: cst.BaseExpression, value: cst.BaseExpression, scope: _Scope) -> None:
        if scope.kind == "class":
            return
        if not isinstance(target, cst.Name):
            if scope.kind == "function":
                for name in _target_names(target):
                    scope.names.add(name)
                    scope.origins.pop(name, None)
            return
        name = target.value
        origin = self._origin(value)
        if scope.kind == "function":
            scope.names.add(name)
        if origin is not None:
            scope.origins[name] = origin
        else:
            scope.origins.pop(name, None)

    def _module_assign(self, name: str, value: cst.BaseExpression, node: cst.CSTNode, *, augmented: bool) -> None:
        role = self.tables.settings.get(name)
        routes = role is None and self._holds_routes(value)
        if role is None and not routes:
            return
        self.context.add_fact(
            ASSIGNS,
            AssignFact(f"{self.module}.{name}", self._value(value), self._locate(), augmented),
        )

    def _holds_routes(self, value: cst.BaseExpression) -> bool:
        if isinstance(value, cst.BinaryOperation):
            return self._holds_routes(value.left) or self._holds_routes(value.right)
        if not isinstance(value, (cst.List, cst.Tuple)):
            return False
        for element in value.elements:
            item = element.value
            if isinstance(item, cst.Call) and self._ref(item.func) in self.tables.route_ctors:
                return True
        return False

    def visit_Return(self, node: cst.Return) -> None:
        facts = self._function_scope().facts
        if facts is None or node.value is None or self._function_scope().kind == "module":
            return
        origin = self._origin(node.value)
        if origin is not None:
            facts.returns.append(origin)
        if isinstance(node.value, (cst.Name, cst.Attribute)) and _code(node.value) not in ("True", "False", "None"):
            ref = self._ref(node.value)
            if ref:
                facts.returned_refs.append(ref)
        elif isinstance(node.value, cst.Call) and self._ctor(self._ref(node.value.func)):
            facts.returned_refs.append(self._object_ref(node.value))
        if _status_class(node.value, self) != "ok":
            facts.answers_error = True

    def visit_Yield(self, node: cst.Yield) -> None:
        scope = self._function_scope()
        if scope.kind == "module" or scope.facts is None:
            return
        scope.yielded = True
        scope.facts.is_generator = True
        value = node.value
        if isinstance(value, cst.BaseExpression):
            origin = self._origin(value)
            if origin is not None:
                scope.facts.returns.append(origin)

    def visit_Raise(self, node: cst.Raise) -> None:
        facts = self._function_scope().facts
        if facts is not None:
            facts.answers_error = True

    # ----------------------------------------------------------------- calls

    def visit_Call(self, node: cst.Call) -> None:
        if any(isinstance(a, cst.Decorator) for a in self.context.ancestors[-5:-1]):
            return  # decorators are recorded on the function they decorate
        func = node.func
        ref = self._ref(func)
        if ref in self.local_ctors:
            ref = self.local_ctors[ref]
        scope = self._function_scope()
        facts = scope.facts
        assert facts is not None
        tables = self.tables
        if ref in tables.objects:
            self._record_object(node, ref)
        if ref in tables.stores:
            self._record_store(node, ref, scope)
        if ref in tables.io_calls:
            facts.io.append(self._site(IoSite(ref.rpartition(".")[2], tables.io_calls[ref], "io"), scope))
        if ref in tables.aborts:
            facts.answers_error = True
        if ref in tables.hook_functions and node.args and not isinstance(self.context.ancestors[-2], cst.Decorator):
            self._record_object_call(node, ref, "()")
        if ref == "os.environ.setdefault" and len(node.args) >= 2:
            key = self._value(node.args[0].value)
            if key[0] == "str" and tables.settings.get(key[1]) == "settings-module":
                self.context.add_fact(ENVIRON, (key[1], self._value(node.args[1].value)))
        if isinstance(func, cst.Attribute):
            self._attribute_call(node, func, ref, scope)
        elif (
            isinstance(func, cst.Name)
            and ref
            and "." in ref
            and ref.split(".")[0] not in _STDLIB
            and ref not in tables.objects
            and ref not in tables.stores
        ):
            facts.calls.append(self._call_site(node, ref, scope))

    def _attribute_call(self, node: cst.Call, func: cst.Attribute, ref: str | None, scope: _Scope) -> None:
        facts = scope.facts
        assert facts is not None
        attr = func.attr.value
        tables = self.tables
        if attr in tables.call_attrs:
            owner = self._ref(func.value)
            if owner:
                self._record_object_call(node, owner, attr)
        elif (
            attr == "append" and isinstance(func.value, cst.Attribute) and func.value.attr.value in tables.append_attrs
        ):
            owner = self._ref(func.value.value)
            if owner:
                self._record_object_call(node, owner, f"{func.value.attr.value}.append")
        origin = self._origin(func.value)
        if attr in tables.any_receiver:
            facts.io.append(self._site(IoSite(attr, tables.any_receiver[attr], "io"), scope))
        elif origin is not None:
            site = self._io_for(attr, origin)
            if site is not None:
                facts.io.append(self._site(site, scope))
        elif attr in tables.probe_methods and not isinstance(func.value, (cst.SimpleString, cst.ConcatenatedString)):
            site = IoSite(attr, tables.probe_methods[attr], "io", confirmed=False)
            facts.io.append(self._site(site, scope))
        target = None
        if origin is not None and origin[0] == "instance":
            target = f"{origin[1]}.{attr}"
        elif ref and ":" not in ref and "." in ref and ref.split(".")[0] not in _STDLIB:
            target = ref
        if target is not None and ref not in tables.objects and ref not in tables.stores:
            facts.calls.append(self._call_site(node, target, scope))
        stdlib = ref is not None and ":" not in ref and ref.split(".")[0] in _STDLIB
        if target is None and attr not in tables.probe_methods and _probe_like(attr) and not stdlib:
            facts.probe_names.append(attr)

    def _io_for(self, method: str, origin: Origin) -> IoSite | None:
        kind = origin[0]
        if kind == "handle":
            for row in self.tables.methods.get(method, ()):
                if row["kind"] == origin[1]:
                    return IoSite(method, row["kind"], row["effect"])
            return None
        if kind == "manager":
            lazy = method in self.tables.managers[origin[3]][1]
            return IoSite(method, origin[1], "lazy" if lazy else "io")
        if method in self.tables.methods or method in self.tables.model_methods:
            return IoSite(method, None, None, origin=origin)
        return None

    def _site(self, site: IoSite, scope: _Scope) -> IoSite:
        site.guard = self._guard_index(scope)
        site.after_yield = scope.yielded
        site.main_guard = self._in_main_guard()
        site.span = self._call_span(scope)
        return site

    def _call_site(self, node: cst.Call, target: str, scope: _Scope) -> CallSite:
        parent = self.context.ancestors[-2] if len(self.context.ancestors) > 1 else None
        if isinstance(parent, cst.Await):
            parent = self.context.ancestors[-3]
        return CallSite(
            target=target,
            guard=self._guard_index(scope),
            after_yield=scope.yielded,
            result_used=not isinstance(parent, cst.Expr),
            main_guard=self._in_main_guard(),
            span=self._call_span(scope),
            args=[
                self._ref(a.value)
                if isinstance(a.value, (cst.Name, cst.Attribute)) and a.keyword is None and not a.star
                else None
                for a in node.args
            ]
            if node.args
            else None,
            kwargs={
                a.keyword.value: ref
                for a in node.args
                if a.keyword is not None
                and isinstance(a.value, (cst.Name, cst.Attribute))
                and (ref := self._ref(a.value))
            }
            or None,
            via_attribute=isinstance(node.func, cst.Attribute),
        )

    def _call_span(self, scope: _Scope) -> Span | None:
        """The span of the call being visited, in functions that may be endpoints (located ones)."""
        if scope.facts is None or scope.facts.span is None:
            return None
        return self._locate()

    def _locate(self, path: Sequence[cst.CSTNode] | None = None, extra: cst.CSTNode | None = None) -> LazySpan:
        """Where the node being visited (or ``extra``, a child of the last node of ``path``) is."""
        nodes = list(self.context.ancestors if path is None else path)
        if extra is not None:
            nodes.append(extra)
        steps = []
        for parent, child in zip(nodes, nodes[1:]):
            index = self.child_index.get(id(parent))
            if index is None:
                index = self.child_index[id(parent)] = {id(c): i for i, c in enumerate(children(parent))}
            steps.append(index.get(id(child), -1))
        return LazySpan(self.context.path, tuple(steps))

    def _in_main_guard(self) -> bool:
        return bool(self.main_guards) and any(id(a) in self.main_guards for a in self.context.ancestors)

    def _binding_ref(self) -> str | None:
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
            function = self._function_name()
            return f"{function}:<return>" if function else None
        if isinstance(target, cst.Name):
            function = self._function_name()
            return f"{function}:{target.value}" if function else f"{self.module}.{target.value}"
        if isinstance(target, cst.Attribute):  # self.app = FastAPI()
            ref = self._ref(target)
            return ref if ref and ":" not in ref and ref.startswith(self.module + ".") else None
        return None

    def _object_ref(self, node: cst.Call) -> str:
        ref = self.object_refs.get(id(node))
        if ref is None:
            self.anonymous += 1
            ref = f"{self.module}#{self.anonymous}"
            self.object_refs[id(node)] = ref
        return ref

    def _record_object(self, node: cst.Call, ctor: str) -> None:
        bound = self._binding_ref()
        if bound is not None and id(node) not in self.object_refs:
            self.object_refs[id(node)] = bound
        args, kwargs = self._arguments(node)
        self.context.add_fact(
            OBJECTS,
            ObjectFact(
                ref=self._object_ref(node),
                ctor=ctor,
                args=args,
                kwargs=kwargs,
                span=self._locate(),
                function=self._function_name(),
                bound=bound is not None,
            ),
        )

    def _record_store(self, node: cst.Call, ctor: str, scope: _Scope) -> None:
        row = self.tables.stores[ctor]
        self.context.add_fact(
            STORES,
            StoreFact(ctor, row["kind"], self._binding_ref(), self._locate(), self._function_name()),
        )
        if row.get("effect") == "connect":
            assert scope.facts is not None
            scope.facts.io.append(self._site(IoSite(ctor.rpartition(".")[2], row["kind"], "connect"), scope))

    def _record_object_call(self, node: cst.Call, owner: str, attr: str) -> None:
        args, kwargs = self._arguments(node)
        self.context.add_fact(
            OBJECT_CALLS,
            ObjectCallFact(owner, attr, args, kwargs, self._function_name(), self._locate()),
        )

    def _arguments(self, node: cst.Call, depth: int = 0) -> tuple[list[Value], dict[str, Value]]:
        args: list[Value] = []
        kwargs: dict[str, Value] = {}
        for arg in node.args:
            if arg.keyword is not None:
                kwargs[arg.keyword.value] = self._value(arg.value, depth + 1)
            elif arg.star:
                args.append(UNKNOWN)
            else:
                args.append(self._value(arg.value, depth + 1))
        return args, kwargs

    # ----------------------------------------------------------------- values and origins

    def _value(self, node: cst.BaseExpression, depth: int = 0) -> Value:
        """A constant or reference as plain data (see ``Value`` in frameworks.py)."""
        if depth > _MAX_VALUE_DEPTH:
            return UNKNOWN
        if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
            text = node.evaluated_value
            return ("str", text) if isinstance(text, str) else UNKNOWN
        if isinstance(node, cst.Integer):
            return ("int", int(node.evaluated_value))
        if isinstance(node, cst.Name) and node.value in ("True", "False", "None"):
            return ("const", {"True": True, "False": False, "None": None}[node.value])
        if isinstance(node, (cst.Name, cst.Attribute)):
            ref = self._ref(node)
            return ("ref", ref) if ref else UNKNOWN
        if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
            items: list[Value] = []
            for element in node.elements:
                items.append(
                    UNKNOWN if isinstance(element, cst.StarredElement) else self._value(element.value, depth + 1)
                )
            return ("list", items)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
            left, right = self._value(node.left, depth + 1), self._value(node.right, depth + 1)
            if left[0] == "list" and right[0] == "list":
                return ("list", left[1] + right[1])
            if left[0] == "list" or right[0] == "list":
                return (
                    "list",
                    (left[1] if left[0] == "list" else []) + (right[1] if right[0] == "list" else []) + [UNKNOWN],
                )
            return UNKNOWN
        if isinstance(node, cst.Dict):
            pairs: list[tuple[Value, Value]] = []
            for entry in node.elements:
                if isinstance(entry, cst.DictElement):
                    pairs.append((self._value(entry.key, depth + 1), self._value(entry.value, depth + 1)))
            return ("dict", pairs)
        if isinstance(node, cst.Call):
            ref = self._ref(node.func)
            if self._ctor(ref):
                return ("ref", self._object_ref(node))
            args, kwargs = self._arguments(node, depth)
            return ("call", ref or "?", args, kwargs)
        if isinstance(node, cst.Await):
            return self._value(node.expression, depth + 1)
        return UNKNOWN

    def _local_origin(self, node: cst.BaseExpression) -> Origin | None:
        if not isinstance(node, cst.Name):
            return None
        for scope in reversed(self.scopes):
            if scope.kind == "class":
                continue
            if node.value in scope.origins:
                return scope.origins[node.value]
            if scope.kind == "function" and node.value in scope.names:
                return None
        return None

    def _origin(self, node: cst.BaseExpression) -> Origin | None:
        """Where the value of ``node`` comes from, as far as data-store handles are concerned."""
        if isinstance(node, cst.Await):
            return self._origin(node.expression)
        if isinstance(node, cst.Name):
            local = self._local_origin(node)
            if local is not None:
                return local
            ref = self._ref(node)
            if ref is None or ":" in ref or "." not in ref:
                return None
            if ref in self.tables.handles:
                return ("handle", self.tables.handles[ref])
            if ref.split(".")[0] in _STDLIB:
                return None
            return ("ref", ref)
        if isinstance(node, cst.Attribute):
            manager = self.tables.managers.get(node.attr.value)
            if manager is not None and _is_class_name(node.value):
                return ("manager", manager[0], self._ref(node.value) or "", node.attr.value)
            ref = self._ref(node)
            if ref in self.tables.handles:
                return ("handle", self.tables.handles[ref])
            inner = self._origin(node.value)
            if inner is None or inner[0] in ("handle", "manager", "call"):
                return inner  # an attribute of a handle is a handle (``db.session``, ``conn.connection``)
            if inner[0] == "ref":
                return ("ref", f"{inner[1]}.{node.attr.value}")  # resolved by the longest known prefix
            return None  # an attribute of some instance: unknown
        if isinstance(node, cst.Subscript):
            head = self._ref(node.value)
            if head in _ANNOTATED:
                return self._annotation_origin(node)
            return self._origin(node.value)
        if isinstance(node, cst.Call):
            ref = self._ref(node.func)
            tables = self.tables
            if self._ctor(ref):
                return None
            if ref in tables.stores:
                return ("handle", tables.stores[ref]["kind"])
            if ref in tables.handles:
                return ("handle", tables.handles[ref])
            if isinstance(node.func, cst.Attribute):
                inner = self._origin(node.func.value)
                if inner is not None and inner[0] == "manager":
                    if node.func.attr.value in self.tables.managers[inner[3]][1]:
                        return inner
                    return ("instance", inner[2])
                if inner is not None:
                    return inner
                return None
            local = self._local_origin(node.func) if isinstance(node.func, cst.Name) else None
            if local is not None:
                return local
            if ref and "." in ref and ":" not in ref and ref.split(".")[0] not in _STDLIB:
                if _is_class_name(node.func):
                    return ("instance", ref)
                return ("call", ref)
        return None

    # ----------------------------------------------------------------- exception guards

    def _guard_index(self, scope: _Scope) -> int | None:
        """The innermost enclosing ``try`` (in this function) whose handler catches broad/DB errors."""
        ancestors = self.context.ancestors
        for index in range(len(ancestors) - 2, -1, -1):
            node = ancestors[index]
            if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                return None
            if isinstance(node, (cst.Try, cst.TryStar)) and ancestors[index + 1] is node.body:
                key = id(node)
                if key not in scope.guards:
                    scope.guards[key] = self._make_guard(node, ancestors[: index + 1], scope)
                found = scope.guards[key]
                if found is not None:
                    return found
        return None

    def _make_guard(self, node: cst.Try | cst.TryStar, ancestors: list[cst.CSTNode], scope: _Scope) -> int | None:
        for handler in node.handlers:
            if not isinstance(handler, cst.ExceptHandler) or not is_broad(handler, self.context):
                continue
            body = list(scope_descendants(handler.body))
            returns = [n for n in body if isinstance(n, cst.Return) and n.value is not None]
            statuses = {_status_class(r.value, self) for r in returns if r.value is not None}
            sets_status = False
            for n in body:
                if isinstance(n, cst.Assign) and any(
                    isinstance(t.target, cst.Attribute) and t.target.attr.value in ("status_code", "status")
                    for t in n.targets
                ):
                    status = literal_status(n.value)
                    statuses.add("ok" if status is not None and status < 400 else "error")
                    sets_status = True
            answer = None
            if statuses:
                answer = "ok" if statuses == {"ok"} else "error"
            span = self._locate(ancestors, handler)
            fixes: dict[str, LazyFix] = {}
            if answer == "ok" and not sets_status:
                fixes = self._unavailable_fixes(body, handler, span)
            guard = Guard(
                span=span,
                reraises=self._exits(body),
                answer=answer,
                returns_value=any(not _is_none(r.value) for r in returns) or self._returns_later(node, ancestors),
                exits_later=self._exits_later(node, ancestors),
                caught=caught_names(handler, self.context),
                wraps=self._called_names(node.body),
                fixes=fixes,
            )
            assert scope.facts is not None
            scope.facts.guards.append(guard)
            return len(scope.facts.guards) - 1
        return None

    def _unavailable_fixes(
        self, body: list[cst.CSTNode], handler: cst.ExceptHandler, span: LazySpan
    ) -> dict[str, LazyFix]:
        """BL605: the handler's 2xx answer with status 503, when it is its only ``return``: with two, one
        edit would leave the other answering 2xx."""
        returns = [n for n in body if isinstance(n, cst.Return)]
        if len(returns) != 1 or returns[0].value is None:
            return {}
        if self.answers is None:
            self.answers = Answers(self.context.knowledge, self._ref)
        fixes = error_status_fixes(returns[0].value, _UNAVAILABLE, self.answers, self.context)
        if not fixes:
            return {}
        locate = steps_locator(handler, self.context.path, span.steps)
        lazy = {key: lazy_fix(fix, locate) for key, fix in fixes.items()}
        return {key: fix for key, fix in lazy.items() if fix is not None}

    def _exits(self, nodes: Iterable[cst.CSTNode]) -> bool:
        for node in nodes:
            if isinstance(node, cst.Raise):
                return True
            if isinstance(node, cst.Call) and self._ref(node.func) in self.tables.aborts:
                return True
        return False

    def _exits_later(self, node: cst.CSTNode, ancestors: list[cst.CSTNode]) -> bool:
        """Whether a raise or exit follows ``node`` in its function: after it, or in a loop's else."""
        child = node
        for parent in reversed(ancestors[:-1]):
            if isinstance(parent, (cst.FunctionDef, cst.Module)):
                if isinstance(parent, cst.Module):
                    return self._exits(_following(parent.body, child))
                return False
            if (
                isinstance(parent, (cst.For, cst.While))
                and child is parent.body
                and parent.orelse is not None
                and self._exits(scope_descendants(parent.orelse))
            ):
                return True
            if isinstance(parent, cst.IndentedBlock) and self._exits(_following(parent.body, child)):
                return True
            child = parent
        return False

    def _returns_later(self, node: cst.CSTNode, ancestors: list[cst.CSTNode]) -> bool:
        """Whether the function returns a value after ``node`` (a status the caller can test)."""
        child = node
        for parent in reversed(ancestors[:-1]):
            if isinstance(parent, (cst.FunctionDef, cst.Module)):
                return False
            if isinstance(parent, cst.IndentedBlock):
                for later in _following(parent.body, child):
                    if isinstance(later, cst.Return) and not _is_none(later.value):
                        return True
            child = parent
        return False

    def _called_names(self, block: cst.CSTNode) -> list[str]:
        names: list[str] = []
        for node in scope_descendants(block):
            if isinstance(node, cst.Call):
                func = node.func
                name = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", None)
                if isinstance(name, str) and name not in names:
                    names.append(name)
                    if len(names) >= _MAX_WRAPS:
                        break
        return names

    def response_row(self, ref: str | None) -> dict[str, Any] | None:
        if not ref:
            return None
        responses = self.tables.responses
        return responses.get(ref) or responses.get(ref.rpartition(".")[2])


def _status_class(value: cst.BaseExpression, collector: FrameworkFacts) -> str:
    """ "ok" if ``value`` answers a 2xx/3xx (a literal body, a response without status); "error" for
    4xx/5xx; "unknown" when the status is computed or the value is not a recognisable answer."""
    if isinstance(value, cst.Tuple) and len(value.elements) >= 2:
        status = literal_status(value.elements[1].value)
        return "unknown" if status is None else ("error" if status >= 400 else "ok")
    if isinstance(value, (cst.Dict, cst.List, cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
        return "ok"
    if isinstance(value, cst.Call):
        row = collector.response_row(collector._ref(value.func))
        if row is None:
            return "unknown"
        given: cst.BaseExpression | None = None
        for arg in value.args:
            if arg.keyword is not None and arg.keyword.value == row.get("status-kw"):
                given = arg.value
        position = row.get("status-arg")
        positional = [a for a in value.args if a.keyword is None and not a.star]
        if given is None and position is not None and len(positional) > position:
            given = positional[position].value
        if given is None:
            return "error" if row["status"] >= 400 else "ok"
        status = literal_status(given)
        return "unknown" if status is None else ("error" if status >= 400 else "ok")
    return "unknown"


def _is_none(value: cst.BaseExpression | None) -> bool:
    return value is None or (isinstance(value, cst.Name) and value.value == "None")


def _is_class_name(node: cst.BaseExpression) -> bool:
    name = node.attr.value if isinstance(node, cst.Attribute) else getattr(node, "value", "")
    return isinstance(name, str) and name[:1].isupper() and not name.isupper()


_PROBE_WORDS = re.compile(r"(^|_)(check|ping|probe|verify|wait_for|ready|readiness|health|healthy|test)(_|$)")


def _probe_like(name: str) -> bool:
    return bool(_PROBE_WORDS.search(name.lower()))


def _target_names(target: cst.BaseExpression) -> Iterator[str]:
    if isinstance(target, cst.Name):
        yield target.value
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from _target_names(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from _target_names(target.value)


def _following(statements: Sequence[cst.CSTNode], child: cst.CSTNode) -> Iterator[cst.CSTNode]:
    seen = False
    for statement in statements:
        if seen:
            yield from scope_descendants(statement)
        elif statement is child:
            seen = True


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node).strip()
