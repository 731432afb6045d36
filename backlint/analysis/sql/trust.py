"""Values that cannot carry SQL syntax by what they are: typed parameters, enums, sanitizing calls.

The ``sql-safe-values`` table names them: annotations (``int``, ``UUID``, ``Literal[...]``), enum
base classes, methods returning numbers, dates or quoted identifiers (``quote_name`` and its
``geo_quote_name``-style variants), and sanitizing name tokens.
"""

from __future__ import annotations

import libcst as cst

from backlint.analysis.scopes import ClassInfo, Scopes, Site
from backlint.analysis.sql.tables import SqlKnowledge
from backlint.analysis.sql.templates import is_none, name_tokens, unquote
from backlint.core.rule import FileContext

_COLLECTIONS = ("list", "set", "frozenset", "sequence", "iterable", "tuple", "collection")


class Trust:
    def __init__(self, context: FileContext, scopes: Scopes, kb: SqlKnowledge) -> None:
        self.context = context
        self.scopes = scopes
        self.kb = kb

    def safe_method(self, method: str) -> bool:
        """A method returning a number, date or quoted identifier (also ``geo_quote_name``-style variants)."""
        names = self.kb.names("method")
        if method in names or any(method.endswith("_" + name) for name in names if "_" in name):
            return True
        return bool(self.kb.names("sanitizer-token").intersection(name_tokens(method)))

    def is_prose(self, func: cst.BaseExpression) -> bool:
        """A call whose text is a message (a log line, an exception), not SQL."""
        name = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", "")
        return name in self.kb.names("prose-call") or str(name).endswith(("Error", "Exception", "Warning"))

    def enum_class(self, node: cst.BaseExpression) -> ClassInfo | None:
        """The module class ``node`` names, if it derives from an enum base."""
        scopes = self.scopes
        if not isinstance(node, cst.Name) or node.value not in scopes.module_classes:
            return None
        info = scopes.module_classes[node.value]
        bases = self.kb.names("enum-base")
        for cls in scopes.class_chain(info):
            for base in cls.bases:
                if (self.context.qualified_name(base) or "") in bases:
                    return info
        return None

    def sanitizer_alias(self, func: cst.BaseExpression, site: Site) -> bool:
        """``qn = connection.ops.quote_name`` then ``qn(x)``."""
        if not isinstance(func, cst.Name):
            return False
        found = self.scopes.lookup(func.value, site)
        if found is None or not found[0]:
            return False
        for binding in found[0]:
            value = binding.value
            if binding.kind != "assign" or value is None:
                return False
            name = (self.context.qualified_name(value) or "") if isinstance(value, (cst.Name, cst.Attribute)) else ""
            if name not in self.kb.names("call") and not self.safe_method(name.rpartition(".")[2]):
                return False
        return True

    def typed_annotation(self, annotation: cst.BaseExpression, site: Site, collection: bool = False) -> bool:
        """An annotation whose values cannot carry SQL syntax (int, UUID, Enum, Literal[...])."""
        annotation = unquote(annotation)
        if isinstance(annotation, cst.BinaryOperation) and isinstance(annotation.operator, cst.BitOr):
            return all(
                is_none(side) or self.typed_annotation(side, site, collection)
                for side in (annotation.left, annotation.right)
            )
        if isinstance(annotation, cst.Subscript):
            head = self.context.qualified_name(annotation.value) or ""
            args = [e.slice.value for e in annotation.slice if isinstance(e.slice, cst.Index)]
            short = head.rpartition(".")[2]
            if head in self.kb.names("literal") or short == "Literal":
                return not collection
            if short in ("Optional", "Union"):
                return all(is_none(a) or self.typed_annotation(a, site, collection) for a in args)
            if short == "Annotated" and args:
                return self.typed_annotation(args[0], site, collection)
            if collection and short.lower() in _COLLECTIONS:
                return bool(args) and all(isinstance(a, cst.Ellipsis) or self.typed_annotation(a, site) for a in args)
            return False
        if collection:
            return False
        qualified = self.context.qualified_name(annotation) or ""
        if qualified in self.kb.names("annotation"):
            return True
        if isinstance(annotation, cst.Name) and self.enum_class(annotation) is not None:
            return True
        if isinstance(annotation, cst.Name):
            alias = self.scopes.module.bindings.get(annotation.value, [])
            if len(alias) == 1 and alias[0].kind == "assign" and alias[0].value is not None and site.depth < 6:
                return self.typed_annotation(
                    alias[0].value, Site(site.scope, site.point, site.blocks, None, site.depth + 2)
                )
        return False
