"""The framework walk: what one module holds for the framework model, as plain facts.

It notes which apps, routers, routes, hooks, data stores and calls the module has, and summarises
each function (``FunctionFacts``); nothing here judges, and joining the facts across modules is
``ProjectModel``'s (``backlint/analysis/web/model.py``). Its parts: names and scopes
(``framework_names.py``), values and origins (``framework_values.py``), exception guards
(``framework_guards.py``) and calls (``framework_calls.py``).
"""

from __future__ import annotations

from typing import Any

import libcst as cst

from backlint.analysis.literals import in_debug_branch
from backlint.analysis.scopes import Scopes
from backlint.analysis.web.answers import literal_status
from backlint.analysis.web.facts import (
    ALIASES,
    ASSIGNS,
    BINDINGS,
    CLASSES,
    FUNCTIONS,
    IMPORTS,
    MODULE_SCOPE,
    OBJECT_ATTRS,
    STARS,
    AssignFact,
    BindingFact,
    ClassFacts,
    FunctionFacts,
    ObjectAttrFact,
)
from backlint.analysis.web.file import WebFile
from backlint.analysis.web.framework_calls import CallRecorder
from backlint.analysis.web.framework_guards import GuardReader
from backlint.analysis.web.framework_names import FrameworkNames, FrameworkTables, Scope
from backlint.analysis.web.framework_values import ValueReader
from backlint.analysis.web.syntax import code, target_names
from backlint.core.imports import dotted_name
from backlint.core.rule import Analysis, FileContext


class FrameworkFile(Analysis):
    """Apps, routers, routes, hooks, handlers, data stores and per-function summaries of a module;
    ``facts`` holds them (keys of ``backlint/analysis/web/facts.py``) once the walk has left the module."""

    REQUIRES = (WebFile, Scopes)

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        web = context.get(WebFile)
        self.module = web.module
        self.tables = context.knowledge.derived(FrameworkTables.build)
        self.names = FrameworkNames(context, self.module, self.tables)
        self.values = ValueReader(self.names)
        self.guards = GuardReader(self.names, web)
        self.calls = CallRecorder(self.names, self.values, self.guards, web, self.add)
        self.web = web
        self.facts: dict[str, Any] = {}
        self.imported: set[str] = set()

    def add(self, key: str, value: Any) -> None:
        self.facts.setdefault(key, []).append(value)

    # ----------------------------------------------------------------- scopes and names

    def visit_Module(self, node: cst.Module) -> None:
        self.names.prescan(node.body)
        facts = FunctionFacts(
            qualname=f"{self.module}.{MODULE_SCOPE}", name=MODULE_SCOPE, cls=None, span=None,
            params=[], decorators=[], is_async=False,
        )  # fmt: skip
        self.names.scopes.append(Scope("module", self.module, facts=facts))
        self.names.find_local_ctors(node.body)

    def leave_Module(self, node: cst.Module) -> None:
        scope = self.names.scopes.pop()
        assert scope.facts is not None
        self.add(FUNCTIONS, scope.facts)
        for name, origin in scope.origins.items():
            self.add(BINDINGS, BindingFact(f"{self.module}.{name}", origin))
        self.facts[IMPORTS] = sorted(self.imported)
        self.facts[ALIASES] = dict(self.context.imports.aliases)

    # ----------------------------------------------------------------- functions and classes

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        parent = self.names.scopes[-1]
        qualname = f"{parent.qualname}.{node.name.value}"
        params = [p.name.value for p in (*node.params.posonly_params, *node.params.params)]
        kwonly = [p.name.value for p in node.params.kwonly_params]
        decorators = [self.values.value(d.decorator) for d in node.decorators]
        is_method = parent.kind == "class"
        is_static = any(code(d.decorator) == "staticmethod" for d in node.decorators)
        span = None
        if node.decorators or is_method or any(p in ("request", "req", "websocket") for p in params[:2]):
            span = self.web.here()
        facts = FunctionFacts(
            qualname=qualname,
            name=node.name.value,
            cls=parent.qualname if is_method else None,
            span=span,
            params=params + kwonly,
            decorators=decorators,
            is_async=node.asynchronous is not None,
        )
        scope = Scope("function", qualname, node, facts=facts)
        if is_method and params and not is_static:
            scope.self_name = params[0]
            scope.cls = parent.qualname
        self.names.scopes.append(scope)
        for param in (*node.params.posonly_params, *node.params.params, *node.params.kwonly_params):
            origin = self.values.param_origin(param)
            if origin is not None:
                scope.origins[param.name.value] = origin
        if is_method and parent.class_facts is not None:
            parent.class_facts.methods.append(node.name.value)

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        scope = self.names.scopes.pop()
        assert scope.facts is not None
        self.add(FUNCTIONS, scope.facts)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        parent = self.names.scopes[-1]
        qualname = f"{parent.qualname}.{node.name.value}"
        bases = [ref for ref in (self.names.ref(arg.value) for arg in node.bases if arg.keyword is None) if ref]
        for base in bases:  # class SupersetApp(Flask): calling it builds an app
            ctor = self.names.local_ctors.get(base, base if base in self.tables.objects else None)
            if ctor is not None:
                self.names.local_ctors[qualname] = ctor
        facts = ClassFacts(
            qualname=qualname,
            bases=bases,
            methods=[],
            decorators=[self.values.value(d.decorator) for d in node.decorators],
            span=self.web.here() if bases or node.decorators else None,
        )
        self.names.scopes.append(Scope("class", qualname, node, class_facts=facts))

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        scope = self.names.scopes.pop()
        assert scope.class_facts is not None
        self.add(CLASSES, scope.class_facts)

    # ----------------------------------------------------------------- statements

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            name = dotted_name(alias.name)
            if name:
                self.imported.add(name)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar):
            self.imported.add(self._from_module(node))
            if self.names.scopes and self.names.scopes[-1].kind == "module":
                self.add(STARS, self._from_module(node))
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
        scope = self.names.scopes[-1]
        for target in node.targets:
            self._bind(target.target, node.value, scope)
            if isinstance(target.target, cst.Attribute) and target.target.attr.value in self.tables.debug_attrs:
                self._debug_switch(target.target, node.value)
            if isinstance(target.target, cst.Attribute) and target.target.attr.value in ("status_code", "status"):
                status = literal_status(node.value)
                if status is None or status >= 400:
                    self.names.function_scope().facts.answers_error = True  # type: ignore[union-attr]
        if scope.kind == "module" and len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            self._module_assign(node.targets[0].target.value, node.value, node, augmented=False)
        if scope.kind == "class" and scope.class_facts is not None:
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    scope.class_facts.attrs[target.target.value] = self.values.value(node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        scope = self.names.scopes[-1]
        if node.value is not None:
            self._bind(node.target, node.value, scope)
            if scope.kind == "module" and isinstance(node.target, cst.Name):
                self._module_assign(node.target.value, node.value, node, augmented=False)
        elif isinstance(node.target, cst.Name) and scope.kind == "function":
            origin = self.values.annotation_origin(node.annotation.annotation)
            if origin is not None:
                scope.origins[node.target.value] = origin

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        scope = self.names.scopes[-1]
        if scope.kind == "module" and isinstance(node.target, cst.Name):
            self._module_assign(node.target.value, node.value, node, augmented=True)

    def visit_With(self, node: cst.With) -> None:
        scope = self.names.scopes[-1]
        for item in node.items:
            if item.asname is not None:
                self._bind(item.asname.name, item.item, scope)

    def visit_For(self, node: cst.For) -> None:
        scope = self.names.scopes[-1]
        if scope.kind == "function":
            for name in target_names(node.target):
                scope.origins.pop(name, None)

    def _debug_switch(self, target: cst.Attribute, value: cst.BaseExpression) -> None:
        """``app.debug = True``: the project pass tells whether the owner is an app (BL401)."""
        owner = self.names.ref(target.value)
        if owner is not None:
            fact = ObjectAttrFact(
                owner, target.attr.value, self.values.value(value), self.names.function_name(), self.web.here(),
                in_debug_branch(self.context.ancestors),
            )  # fmt: skip
            self.add(OBJECT_ATTRS, fact)

    def _bind(self, target: cst.BaseExpression, value: cst.BaseExpression, scope: Scope) -> None:
        if scope.kind == "class":
            return
        if not isinstance(target, cst.Name):
            if scope.kind == "function":
                for name in target_names(target):
                    scope.origins.pop(name, None)
                self._bind_attribute(target, value, scope)
            return
        name = target.value
        origin = self.values.origin(value)
        if origin is not None:
            scope.origins[name] = origin
        else:
            scope.origins.pop(name, None)

    def _bind_attribute(self, target: cst.BaseExpression, value: cst.BaseExpression, scope: Scope) -> None:
        """``self.engine = create_engine(...)`` in a method: the class's attribute ``Database.engine`` is a
        module-level binding, so ``self.engine.connect()`` in its other methods resolves to the store."""
        if not (isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name)):
            return
        if scope.cls is None or target.value.value != scope.self_name:
            return
        origin = self.values.origin(value)
        if origin is not None and origin[0] == "handle":
            local = f"{scope.cls}.{target.attr.value}"[len(self.module) + 1 :]
            self.names.scopes[0].origins[local] = origin

    def _module_assign(self, name: str, value: cst.BaseExpression, node: cst.CSTNode, *, augmented: bool) -> None:
        role = self.tables.settings.get(name)
        routes = role is None and self._holds_routes(value)
        if role is None and not routes:
            return
        self.add(
            ASSIGNS,
            AssignFact(f"{self.module}.{name}", self.values.value(value), self.web.here(), augmented),
        )

    def _holds_routes(self, value: cst.BaseExpression) -> bool:
        if isinstance(value, cst.BinaryOperation):
            return self._holds_routes(value.left) or self._holds_routes(value.right)
        if not isinstance(value, (cst.List, cst.Tuple)):
            return False
        for element in value.elements:
            item = element.value
            if isinstance(item, cst.Call) and self.names.ref(item.func) in self.tables.route_ctors:
                return True
        return False

    def visit_Return(self, node: cst.Return) -> None:
        facts = self.names.function_scope().facts
        if facts is None or node.value is None or self.names.function_scope().kind == "module":
            return
        origin = self.values.origin(node.value)
        if origin is not None:
            facts.returns.append(origin)
        if isinstance(node.value, (cst.Name, cst.Attribute)) and code(node.value) not in ("True", "False", "None"):
            ref = self.names.ref(node.value)
            if ref:
                facts.returned_refs.append(ref)
        elif isinstance(node.value, cst.Call) and self.names.ctor(self.names.ref(node.value.func)):
            facts.returned_refs.append(self.values.object_ref(node.value))
        if self.guards.status_class(node.value) != "ok":
            facts.answers_error = True

    def visit_Yield(self, node: cst.Yield) -> None:
        scope = self.names.function_scope()
        if scope.kind == "module" or scope.facts is None:
            return
        scope.yielded = True
        scope.facts.is_generator = True
        value = node.value
        if isinstance(value, cst.BaseExpression):
            origin = self.values.origin(value)
            if origin is not None:
                scope.facts.returns.append(origin)

    def visit_Raise(self, node: cst.Raise) -> None:
        facts = self.names.function_scope().facts
        if facts is not None:
            facts.answers_error = True

    # ----------------------------------------------------------------- calls

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.record(node)
