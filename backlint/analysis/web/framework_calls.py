"""Calls as the framework walk records them: app, router and store constructors, registrations and
hook calls on possible apps, data-store I/O sites and calls of project functions, each with the
guard around it."""

from __future__ import annotations

import re
from typing import Any, Callable

import libcst as cst

from backlint.analysis.literals import in_debug_branch
from backlint.analysis.web.facts import (
    ENVIRON,
    INSTANCES,
    OBJECT_CALLS,
    OBJECTS,
    STORES,
    CallSite,
    IoSite,
    ObjectCallFact,
    ObjectFact,
    Origin,
    StoreFact,
    Value,
)
from backlint.analysis.web.file import WebFile
from backlint.analysis.web.framework_guards import GuardReader
from backlint.analysis.web.framework_names import STDLIB, FrameworkNames, Scope
from backlint.analysis.web.framework_values import ValueReader
from backlint.analysis.web.syntax import is_class_name
from backlint.core.results import Span

# The error statuses a library's collection of every HTTP error (werkzeug's ``default_exceptions``) holds.
_ERROR_STATUSES = (*range(400, 418), 422, 429, *range(500, 506))
_MAX_RANGE = 1000
_PROBE_WORDS = re.compile(r"(^|_)(check|ping|probe|verify|wait_for|ready|readiness|health|healthy|test)(_|$)")

# Where the recorder puts module facts: ``add(key, value)`` appends to the list under ``key``.
AddFact = Callable[[str, Any], None]


class CallRecorder:
    """Records the calls of the module being walked into its facts and its functions' summaries."""

    def __init__(self, names: FrameworkNames, values: ValueReader, guards: GuardReader, web: WebFile, add: AddFact):
        self.names = names
        self.values = values
        self.guards = guards
        self.web = web
        self.add = add
        self.context = names.context
        self.tables = names.tables

    def record(self, node: cst.Call) -> None:
        """The call being visited."""
        if any(type(a) is cst.Decorator for a in self.context.ancestors[-5:-1]):  # isinstance(): 10x slower
            return  # decorators are recorded on the function they decorate
        func = node.func
        ref = self.names.ref(func)
        if ref in self.names.local_ctors:
            ref = self.names.local_ctors[ref]
        scope = self.names.function_scope()
        facts = scope.facts
        assert facts is not None
        tables = self.tables
        if ref in tables.objects:
            self._record_object(node, ref)
        elif (
            scope.kind == "module" and ref not in tables.stores and self.names.project_ref(ref) and is_class_name(func)
        ):
            self._record_instance(node, ref)
        if ref in tables.stores:
            self._record_store(node, ref, scope)
        if ref in tables.io_calls:
            facts.io.append(self._site(IoSite(ref.rpartition(".")[2], tables.io_calls[ref], "io"), scope))
        if ref in tables.aborts:
            facts.answers_error = True
        if ref in tables.hook_functions and node.args and not isinstance(self.context.ancestors[-2], cst.Decorator):
            self._record_object_call(node, ref, "()")
        if ref == "os.environ.setdefault" and len(node.args) >= 2:
            key = self.values.value(node.args[0].value)
            if key[0] == "str" and tables.settings.get(key[1]) == "settings-module":
                self.add(ENVIRON, (key[1], self.values.value(node.args[1].value)))
        if (
            isinstance(func, cst.Call)
            and isinstance(func.func, cst.Attribute)
            and func.func.attr.value in tables.call_attrs
        ):  # ``app.errorhandler(500)(page)``: the decorator called by hand
            owner = self.names.ref(func.func.value)
            if owner:
                self._record_object_call(func, owner, func.func.attr.value, then=node)
        if isinstance(func, cst.Attribute):
            self._attribute_call(node, func, ref, scope)
        elif (
            isinstance(func, cst.Name)
            and ref
            and "." in ref
            and ref.split(".")[0] not in STDLIB
            and ref not in tables.objects
            and ref not in tables.stores
        ):
            facts.calls.append(self._call_site(node, ref, scope))

    def _attribute_call(self, node: cst.Call, func: cst.Attribute, ref: str | None, scope: Scope) -> None:
        facts = scope.facts
        assert facts is not None
        attr = func.attr.value
        tables = self.tables
        if attr in tables.call_attrs:
            owner = self.names.ref(func.value)
            if owner:
                self._record_object_call(node, owner, attr)
        elif (
            attr == "append" and isinstance(func.value, cst.Attribute) and func.value.attr.value in tables.append_attrs
        ):
            owner = self.names.ref(func.value.value)
            if owner:
                self._record_object_call(node, owner, f"{func.value.attr.value}.append")
        origin = self.values.origin(func.value)
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
        elif ref and ":" not in ref and "." in ref and ref.split(".")[0] not in STDLIB:
            target = ref
        if target is not None and ref not in tables.objects and ref not in tables.stores:
            facts.calls.append(self._call_site(node, target, scope))
        stdlib = ref is not None and ":" not in ref and ref.split(".")[0] in STDLIB
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

    def _site(self, site: IoSite, scope: Scope) -> IoSite:
        site.guard = self.guards.guard_index(scope)
        site.after_yield = scope.yielded
        site.main_guard = self.names.in_main_guard()
        site.span = self._call_span(scope)
        site.spawned = self._spawned()
        return site

    def _spawned(self) -> bool:
        """Whether the call being visited is handed to a task spawner (``asyncio.create_task(loop())``)."""
        ancestors = self.context.ancestors
        if len(ancestors) < 3 or type(ancestors[-2]) is not cst.Arg:
            return False
        outer = ancestors[-3]
        if not isinstance(outer, cst.Call):
            return False
        if isinstance(outer.func, cst.Attribute) and outer.func.attr.value in self.tables.spawner_methods:
            return True
        return self.names.ref(outer.func) in self.tables.spawners

    def _call_site(self, node: cst.Call, target: str, scope: Scope) -> CallSite:
        parent = self.context.ancestors[-2] if len(self.context.ancestors) > 1 else None
        if isinstance(parent, cst.Await):
            parent = self.context.ancestors[-3]
        return CallSite(
            target=target,
            guard=self.guards.guard_index(scope),
            after_yield=scope.yielded,
            result_used=not isinstance(parent, cst.Expr),
            main_guard=self.names.in_main_guard(),
            span=self._call_span(scope),
            args=[
                self.names.ref(a.value)
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
                and (ref := self.names.ref(a.value))
            }
            or None,
            via_attribute=isinstance(node.func, cst.Attribute),
            spawned=self._spawned(),
        )

    def _call_span(self, scope: Scope) -> Span | None:
        """The span of the call being visited, in functions that may be endpoints (located ones)."""
        if scope.facts is None or scope.facts.span is None:
            return None
        return self.web.here()

    def _record_object(self, node: cst.Call, ctor: str) -> None:
        bound = self.names.binding_ref()
        if bound is not None and id(node) not in self.values.object_refs:
            self.values.object_refs[id(node)] = bound
        args, kwargs = self.values.arguments(node)
        self.add(
            OBJECTS,
            ObjectFact(
                ref=self.values.object_ref(node),
                ctor=ctor,
                args=args,
                kwargs=kwargs,
                span=self.web.here(),
                function=self.names.function_name(),
                bound=bound is not None,
                main_guard=self.names.in_main_guard(),
                debug_only=in_debug_branch(self.names.context.ancestors),
            ),
        )

    def _record_instance(self, node: cst.Call, ctor: str | None) -> None:
        """``router = APIRouter(...)`` at module level, the class being a project class: an app or router
        if the class derives from one, which only the project pass can tell (it sees the class's module)."""
        bound = self.names.binding_ref()
        if bound is None or ctor is None:
            return
        args, kwargs = self.values.arguments(node)
        fact = ObjectFact(
            bound, ctor, args, kwargs, self.web.here(), None, True, self.names.in_main_guard(),
            in_debug_branch(self.names.context.ancestors),
        )  # fmt: skip
        self.add(INSTANCES, fact)

    def _record_store(self, node: cst.Call, ctor: str, scope: Scope) -> None:
        row = self.tables.stores[ctor]
        self.add(
            STORES,
            StoreFact(ctor, row["kind"], self.names.binding_ref(), self.web.here(), self.names.function_name()),
        )
        if row.get("effect") == "connect":
            assert scope.facts is not None
            scope.facts.io.append(self._site(IoSite(ctor.rpartition(".")[2], row["kind"], "connect"), scope))

    def _record_object_call(self, node: cst.Call, owner: str, attr: str, then: cst.Call | None = None) -> None:
        args, kwargs = self.values.arguments(node)
        if then is not None:
            args += self.values.arguments(then)[0]
        for index, arg in enumerate(node.args):
            if isinstance(arg.value, cst.Name) and not arg.star:
                items = self._loop_items(arg.value.value)
                if items is not None and arg.keyword is None and index < len(args):
                    args[index] = ("list", items)
                elif items is not None and arg.keyword is not None:
                    kwargs[arg.keyword.value] = ("list", items)
        self.add(
            OBJECT_CALLS,
            ObjectCallFact(owner, attr, args, kwargs, self.names.function_name(), self.web.here()),
        )

    def _loop_items(self, name: str) -> list[Value] | None:
        """The values ``name`` takes when it is the variable of an enclosing loop over a constant collection
        (``for code in (500, 502):``, ``for exc, handler in HANDLERS.items():``), else None."""
        ancestors = self.context.ancestors
        for ancestor in reversed(ancestors):
            if isinstance(ancestor, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                return None
            if not isinstance(ancestor, cst.For):
                continue
            target = ancestor.target
            if isinstance(target, cst.Name) and target.value == name:
                return self._constant_items(ancestor.iter, 0)
            if isinstance(target, cst.Tuple) and len(target.elements) == 2:
                names = [e.value.value if isinstance(e.value, cst.Name) else None for e in target.elements]
                if name in names and isinstance(ancestor.iter, cst.Call) and not ancestor.iter.args:
                    func = ancestor.iter.func
                    if isinstance(func, cst.Attribute) and func.attr.value == "items":
                        pairs = self._constant_pairs(func.value, 0)
                        return None if pairs is None else [p[names.index(name)] for p in pairs]
        return None

    def _constant_items(self, node: cst.BaseExpression, depth: int) -> list[Value] | None:
        func = node.func if isinstance(node, cst.Call) and not node.args else None
        if isinstance(func, cst.Attribute) and func.attr.value in ("keys", "values", "items"):
            node = func.value  # ``default_exceptions.keys()``: a collection of statuses either way
        qualified = self.names.ref(node) if isinstance(node, (cst.Name, cst.Attribute)) else None
        if qualified in self.tables.status_collections:
            return [("int", code) for code in _ERROR_STATUSES]
        if isinstance(node, cst.Call) and self.names.ref(node.func) == "range" and 1 <= len(node.args) <= 2:
            bounds = [a.value for a in node.args]
            if all(isinstance(b, cst.Integer) for b in bounds):
                low, high = (0, *bounds) if len(bounds) == 1 else bounds
                start, stop = (int(b.evaluated_value) if isinstance(b, cst.Integer) else 0 for b in (low, high))
                return [("int", code) for code in range(start, min(stop, start + _MAX_RANGE))]
        if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
            return [self.values.value(e.value) for e in node.elements if not isinstance(e, cst.StarredElement)]
        if isinstance(node, cst.Dict):
            return [k for k, _ in self._constant_pairs(node, depth) or []]
        bound = self._module_constant(node, depth)
        return self._constant_items(bound, depth + 1) if bound is not None else None

    def _constant_pairs(self, node: cst.BaseExpression, depth: int) -> list[tuple[Value, Value]] | None:
        if isinstance(node, cst.Dict):
            return [
                (self.values.value(e.key), self.values.value(e.value))
                for e in node.elements
                if isinstance(e, cst.DictElement)
            ]
        bound = self._module_constant(node, depth)
        return self._constant_pairs(bound, depth + 1) if bound is not None else None

    def _module_constant(self, node: cst.BaseExpression, depth: int) -> cst.BaseExpression | None:
        """The literal a module-level name is assigned (once, at the top of the module)."""
        if not isinstance(node, cst.Name) or depth > 2 or not self.context.ancestors:
            return None
        module = self.context.ancestors[0]
        found: list[cst.BaseExpression] = []
        for statement in module.body if isinstance(module, cst.Module) else ():
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else []
                    if isinstance(small, cst.AnnAssign):
                        targets = [small.target]
                    value = getattr(small, "value", None)
                    if value is not None and any(isinstance(t, cst.Name) and t.value == node.value for t in targets):
                        found.append(value)
        return found[0] if len(found) == 1 else None


def _probe_like(name: str) -> bool:
    return bool(_PROBE_WORDS.search(name.lower()))
