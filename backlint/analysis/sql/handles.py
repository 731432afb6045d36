"""The handle type a receiver evaluates to (``sqlite3.Cursor``, ``sqlalchemy.Session``…), from the
``sql-handles`` table: constructors, factories' methods, annotations, ``Depends(get_db)`` providers,
class attributes and module subclasses."""

from __future__ import annotations

import libcst as cst

from backlint.analysis.scopes import Binding, Scope, Scopes, Site
from backlint.analysis.sql.tables import SqlKnowledge
from backlint.analysis.sql.templates import unquote
from backlint.core.rule import FileContext


class Handles:
    def __init__(self, context: FileContext, scopes: Scopes, kb: SqlKnowledge) -> None:
        self.context = context
        self.scopes = scopes
        self.kb = kb
        self._origins: dict[tuple[int, int, int], str | None] = {}

    def origin(self, expr: cst.BaseExpression, site: Site) -> str | None:
        """The handle type ``expr`` evaluates to (``sqlite3.Cursor``, ``sqlalchemy.Session``…), if known."""
        key = (id(expr), site.point, id(site.scope))
        if key in self._origins:
            return self._origins[key]
        self._origins[key] = None  # cycles resolve to "unknown"
        result = self._origin(expr, site) if site.depth < 30 else None
        self._origins[key] = result
        return result

    def _origin(self, expr: cst.BaseExpression, site: Site) -> str | None:
        kb = self.kb
        if isinstance(expr, cst.Await):
            return self.origin(expr.expression, site)
        if isinstance(expr, cst.Call):
            func = expr.func
            qualified = self.context.qualified_name(func) or ""
            found = kb.handle("call", qualified)
            if found:
                return found
            if kb.handle("wrapper", qualified) and expr.args:
                return self.origin(expr.args[0].value, site)
            if isinstance(func, cst.Attribute):
                receiver = self.origin(func.value, site)
                if receiver:
                    return kb.handle("method", f"{receiver}.{func.attr.value}") or kb.handle("method", f"{receiver}.*")
            elif isinstance(func, cst.Name):
                factory = self.origin(func, site)
                if factory:
                    return kb.handle("method", f"{factory}.__call__")
            helper = self.scopes.function(func, site)
            if helper is not None:
                return self._returned_origin(helper, site)
            return None
        qualified = self.context.qualified_name(expr) or ""
        if qualified:
            found = kb.handle("value", qualified)
            if found:
                return found
        if isinstance(expr, cst.Name):
            info = self.scopes.module_classes.get(expr.value)
            if info is not None:
                for cls in self.scopes.class_chain(info):
                    for base in cls.bases:
                        found = kb.handle("subclass", self.context.qualified_name(base) or "")
                        if found:
                            return found
                return None
            found_bindings = self.scopes.lookup(expr.value, site)
            if found_bindings is None:
                return None
            origins = {self._binding_origin(b, site) for b in found_bindings[0]}
            origins.discard(None)
            return origins.pop() if len(origins) == 1 else None
        if isinstance(expr, cst.Attribute):
            info = self.scopes.class_of(expr.value, site)
            if info is not None:
                origins = set()
                for cls in self.scopes.class_chain(info):
                    for binding in [
                        *cls.instance.get(expr.attr.value, ()),
                        *cls.scope.bindings.get(expr.attr.value, ()),
                    ]:
                        origins.add(self._binding_origin(binding, site))
                origins.discard(None)
                if len(origins) == 1:
                    return origins.pop()
            receiver = self.origin(expr.value, site)
            if receiver:
                found = kb.handle("attribute", f"{receiver}.{expr.attr.value}")
                if found:
                    return found
            found = kb.handle("model-attribute", expr.attr.value)
            if found and self._model_class(expr.value, site):
                return found
            return kb.handle("attribute", f"*.{expr.attr.value}")
        if isinstance(expr, cst.Subscript):
            return kb.handle("subscript", self.context.qualified_name(expr.value) or "")
        return None

    def _model_class(self, node: cst.BaseExpression, site: Site) -> bool:
        """``node`` names an ORM model class: a class of this module deriving (through its bases here)
        from a ``...Model`` base, or a class imported under a capitalized name (``User.query``)."""
        if not isinstance(node, cst.Name):
            return False
        info = self.scopes.module_classes.get(node.value)
        if info is not None and self.scopes.lookup(node.value, site) is not None:
            for cls in self.scopes.class_chain(info):
                for base in cls.bases:
                    name = self.context.qualified_name(base) or ""
                    if name.rpartition(".")[2].endswith("Model"):
                        return True
            return False
        return node.value[:1].isupper() and node.value in self.context.imports.aliases

    def _binding_origin(self, binding: Binding, site: Site) -> str | None:
        inner = Site(binding.scope, binding.point, binding.blocks, None, site.depth + 1)
        if binding.kind == "param":
            found = self._annotation_origin(binding.annotation, inner) if binding.annotation is not None else None
            if found is None and binding.default is not None:
                found = self._depends_origin(binding.default, inner)
            return found
        if binding.kind in ("assign", "with") and binding.value is not None and binding.index is None:
            return self.origin(binding.value, inner)
        return None

    def _annotation_origin(self, annotation: cst.BaseExpression, site: Site) -> str | None:
        annotation = unquote(annotation)
        if isinstance(annotation, cst.BinaryOperation) and isinstance(annotation.operator, cst.BitOr):
            return self._annotation_origin(annotation.left, site) or self._annotation_origin(annotation.right, site)
        if isinstance(annotation, cst.Subscript):
            head = (self.context.qualified_name(annotation.value) or "").rpartition(".")[2]
            args = [e.slice.value for e in annotation.slice if isinstance(e.slice, cst.Index)]
            if head in ("Optional", "Union") and args:
                return next((o for o in (self._annotation_origin(a, site) for a in args) if o), None)
            if head == "Annotated" and args:
                found = self._annotation_origin(args[0], site)
                if found is None:
                    found = next((o for o in (self._depends_origin(a, site) for a in args[1:]) if o), None)
                return found
            return None
        qualified = self.context.qualified_name(annotation) or ""
        found = self.kb.handle("annotation", qualified)
        if found is None and isinstance(annotation, cst.Name) and self.scopes.module is not None and site.depth < 8:
            alias = self.scopes.module.bindings.get(annotation.value, [])
            if len(alias) == 1 and alias[0].kind == "assign" and alias[0].value is not None:
                return self._annotation_origin(
                    alias[0].value, Site(site.scope, site.point, site.blocks, None, site.depth + 2)
                )
        return found

    def _depends_origin(self, default: cst.BaseExpression, site: Site) -> str | None:
        """``Depends(get_db)``: what the dependency function returns or yields."""
        if not isinstance(default, cst.Call) or not default.args:
            return None
        if (self.context.qualified_name(default.func) or "").rpartition(".")[2] not in ("Depends", "Security"):
            return None
        provider = default.args[0].value
        helper = self.scopes.function(provider, site)
        if helper is None:
            return None
        return self._returned_origin(helper, site)

    def _returned_origin(self, helper: Scope, site: Site) -> str | None:
        origins = {
            self.origin(expr, Site(helper, s.point, s.blocks, None, site.depth + 3)) for expr, s in helper.returns
        }
        origins.discard(None)
        return origins.pop() if len(origins) == 1 else None
