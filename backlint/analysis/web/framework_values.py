"""Values and origins as the framework walk reads them: constants and references as plain data
(``Value``), and where a receiver of a data-store call comes from (``Origin``)."""

from __future__ import annotations

import libcst as cst

from backlint.analysis.web.facts import UNKNOWN, Origin, Value
from backlint.analysis.web.framework_names import STDLIB, FrameworkNames
from backlint.analysis.web.syntax import ANNOTATED, DEPENDS, is_class_name

_MAX_VALUE_DEPTH = 6


class ValueReader:
    """Reads expressions at the walk's current place, with names resolved by ``FrameworkNames``."""

    def __init__(self, names: FrameworkNames) -> None:
        self.names = names
        self.tables = names.tables
        self.object_refs: dict[int, str] = {}
        self.anonymous = 0

    def object_ref(self, node: cst.Call) -> str:
        """The reference of the object a constructor call builds: its bound name, else ``module#n``."""
        ref = self.object_refs.get(id(node))
        if ref is None:
            self.anonymous += 1
            ref = f"{self.names.module}#{self.anonymous}"
            self.object_refs[id(node)] = ref
        return ref

    def arguments(self, node: cst.Call, depth: int = 0) -> tuple[list[Value], dict[str, Value]]:
        args: list[Value] = []
        kwargs: dict[str, Value] = {}
        for arg in node.args:
            if arg.keyword is not None:
                kwargs[arg.keyword.value] = self.value(arg.value, depth + 1)
            elif arg.star:
                args.append(UNKNOWN)
            else:
                args.append(self.value(arg.value, depth + 1))
        return args, kwargs

    # ----------------------------------------------------------------- values and origins

    def value(self, node: cst.BaseExpression, depth: int = 0) -> Value:
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
            ref = self.names.ref(node)
            return ("ref", ref) if ref else UNKNOWN
        if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
            items: list[Value] = []
            for element in node.elements:
                items.append(
                    UNKNOWN if isinstance(element, cst.StarredElement) else self.value(element.value, depth + 1)
                )
            return ("list", items)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
            left, right = self.value(node.left, depth + 1), self.value(node.right, depth + 1)
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
                    pairs.append((self.value(entry.key, depth + 1), self.value(entry.value, depth + 1)))
            return ("dict", pairs)
        if isinstance(node, cst.Call):
            ref = self.names.ref(node.func)
            if self.names.ctor(ref):
                return ("ref", self.object_ref(node))
            args, kwargs = self.arguments(node, depth)
            return ("call", ref or "?", args, kwargs)
        if isinstance(node, cst.Await):
            return self.value(node.expression, depth + 1)
        return UNKNOWN

    def origin(self, node: cst.BaseExpression) -> Origin | None:
        """Where the value of ``node`` comes from, as far as data-store handles are concerned."""
        if type(node) is cst.Await:  # type() tests: isinstance() on libcst classes is 10x slower
            return self.origin(node.expression)
        if type(node) is cst.Name:
            local = self.names.local_origin(node)
            if local is not None:
                return local
            ref = self.names.ref(node)
            if ref is None or ":" in ref or "." not in ref:
                return None
            if ref in self.tables.handles:
                return ("handle", self.tables.handles[ref])
            if ref.split(".")[0] in STDLIB:
                return None
            return ("ref", ref)
        if isinstance(node, cst.Attribute):
            manager = self.tables.managers.get(node.attr.value)
            if manager is not None and is_class_name(node.value):
                return ("manager", manager[0], self.names.ref(node.value) or "", node.attr.value)
            ref = self.names.ref(node)
            if ref in self.tables.handles:
                return ("handle", self.tables.handles[ref])
            inner = self.origin(node.value)
            if inner is None or inner[0] in ("handle", "manager", "call"):
                return inner  # an attribute of a handle is a handle (``db.session``, ``conn.connection``)
            if inner[0] == "ref":
                return ("ref", f"{inner[1]}.{node.attr.value}")  # resolved by the longest known prefix
            return None  # an attribute of some instance: unknown
        if isinstance(node, cst.Subscript):
            head = self.names.ref(node.value)
            if head in ANNOTATED:
                return self.annotation_origin(node)
            return self.origin(node.value)
        if isinstance(node, cst.Call):
            ref = self.names.ref(node.func)
            tables = self.tables
            if self.names.ctor(ref):
                return None
            if ref in tables.stores:
                return ("handle", tables.stores[ref]["kind"])
            if ref in tables.handles:
                return ("handle", tables.handles[ref])
            if isinstance(node.func, cst.Attribute):
                inner = self.origin(node.func.value)
                if inner is not None and inner[0] == "manager":
                    if node.func.attr.value in self.tables.managers[inner[3]][1]:
                        return inner
                    return ("instance", inner[2])
                if inner is not None:
                    return inner
                return None
            local = self.names.local_origin(node.func) if isinstance(node.func, cst.Name) else None
            if local is not None:
                return local
            if ref and "." in ref and ":" not in ref and ref.split(".")[0] not in STDLIB:
                if is_class_name(node.func):
                    return ("instance", ref)
                return ("call", ref)
        return None

    # ----------------------------------------------------------------- exception guards

    def param_origin(self, param: cst.Param) -> Origin | None:
        default = param.default
        if isinstance(default, cst.Call) and self.names.ref(default.func) in DEPENDS and default.args:
            provider = self.names.ref(default.args[0].value)
            if param.annotation is not None:
                typed = self.annotation_origin(param.annotation.annotation)
                if typed is not None:
                    return typed
            return ("call", provider) if provider else None
        if param.annotation is not None:
            return self.annotation_origin(param.annotation.annotation)
        return None

    def annotation_origin(self, annotation: cst.BaseExpression) -> Origin | None:
        if isinstance(annotation, cst.Subscript):
            head = self.names.ref(annotation.value)
            elements = [e.slice.value for e in annotation.slice if isinstance(e.slice, cst.Index)]
            if head in ANNOTATED and elements:
                typed = self.annotation_origin(elements[0])
                if typed is not None:
                    return typed
                for extra in elements[1:]:
                    if isinstance(extra, cst.Call) and self.names.ref(extra.func) in DEPENDS and extra.args:
                        provider = self.names.ref(extra.args[0].value)
                        return ("call", provider) if provider else None
                return None
            if head in ("typing.Optional", "Optional") and elements:
                return self.annotation_origin(elements[0])
            return None
        if isinstance(annotation, cst.BinaryOperation):  # X | None
            return self.annotation_origin(annotation.left) or self.annotation_origin(annotation.right)
        if isinstance(annotation, cst.SimpleString):
            return None
        ref = self.names.ref(annotation)
        if ref is None:
            return None
        if ref in self.tables.types:
            return ("handle", self.tables.types[ref])
        local = self.names.local_origin(annotation)
        if local is not None:
            return local
        if "." in ref and ":" not in ref and ref.split(".")[0] not in STDLIB:
            return ("ref", ref)
        return None

    # ----------------------------------------------------------------- statements
