"""The value folder: the texts an expression may evaluate to, with holes for what is not known.

Names are resolved through the file's scopes (backlint/analysis/scopes.py) at the place of use;
helpers of the module are entered with their arguments' values; class attributes, enum members,
typed parameters and allowlist-guarded names fold to safe holes.
"""

from __future__ import annotations

import dataclasses

import libcst as cst

from backlint.analysis.chains import warm_up
from backlint.analysis.origins import UNKNOWN, Origin, Origins, union
from backlint.analysis.scopes import Binding, Scope, Scopes, Site, reaching
from backlint.analysis.sql.elements import Elements
from backlint.analysis.sql.formatting import Formats
from backlint.analysis.sql.guards import Guards
from backlint.analysis.sql.tables import SqlKnowledge
from backlint.analysis.sql.templates import (
    HOW_AUGMENTED,
    HOW_JOIN,
    HOW_PLUS,
    Hole,
    Value,
    all_safe,
    cap,
    concat,
    const,
    const_text_of,
    has_literal,
    leaf,
    opaque,
    origin_of,
    renode,
    string_value,
)
from backlint.analysis.sql.trust import Trust
from backlint.core.imports import dotted_name
from backlint.core.rule import FileContext


class Values:
    """Folds expressions at a site; results are cached per (expression, site)."""

    def __init__(
        self, context: FileContext, scopes: Scopes, origins: Origins, kb: SqlKnowledge, guards: Guards
    ) -> None:
        self.context = context
        self.scopes = scopes
        self.origins = origins
        self.kb = kb
        self.guards = guards
        self.trust = Trust(context, scopes, kb)
        self.collections = Elements(self, scopes, self.trust, guards, kb)
        self.formats = Formats(self, self.collections)
        self._values: dict[tuple[int, int, int, int], Value] = {}
        self._busy: set[tuple[int, int, int, int]] = set()
        self._walked: dict[tuple[int, int, int], set[int]] = {}

    def value(self, expr: cst.CSTNode, site: Site) -> Value:
        key = (id(expr), site.point, id(site.env), id(site.scope))
        cached = self._values.get(key)
        if cached is not None:
            return cached
        if key in self._busy or site.depth > 40:
            return opaque(expr)
        # A long chain is folded from its bottom up (backlint/analysis/chains.py): no deep recursion.
        warm_up(expr, lambda link: self.value(link, site), self._walked.setdefault(key[1:], set()))
        self._busy.add(key)
        try:
            result = cap(self._value(expr, site))
        finally:
            self._busy.discard(key)
        self._values[key] = result
        return result

    def _value(self, expr: cst.CSTNode, site: Site) -> Value:
        text = string_value(expr)
        if text is not None:
            return const(text)
        if isinstance(expr, (cst.Integer, cst.Float, cst.Imaginary)):
            return const(expr.value)
        if isinstance(expr, cst.ConcatenatedString):
            return concat(self.value(expr.left, site), self.value(expr.right, site))
        if isinstance(expr, cst.FormattedString):
            return self.formats.fstring(expr, site)
        if isinstance(expr, cst.Name):
            return self.name_value(expr, site)
        if isinstance(expr, cst.BinaryOperation):
            return self._binary(expr, site)
        if isinstance(expr, cst.Call):
            return self._call_value(expr, site)
        if isinstance(expr, cst.Attribute):
            return self._attribute_value(expr, site)
        if isinstance(expr, cst.Subscript):
            if self.collections.const_collection(expr.value, site) or self.trust.enum_class(expr.value) is not None:
                return opaque(expr, safe=True)
            if any(isinstance(e.slice, cst.Slice) for e in expr.slice) and all_safe(self.value(expr.value, site)):
                return opaque(expr, safe=True)  # ("%s, " * len(ids))[:-2]: a cut of code-chosen text
            return leaf(expr, self.leaf_origin(expr, site))
        if isinstance(expr, cst.IfExp):
            return self.value(expr.body, site) + self.value(expr.orelse, site)
        if isinstance(expr, cst.BooleanOperation):
            return self.value(expr.left, site) + self.value(expr.right, site)
        if isinstance(expr, cst.NamedExpr):
            return self.value(expr.value, site)
        if isinstance(expr, cst.UnaryOperation) and isinstance(expr.expression, (cst.Integer, cst.Float)):
            return opaque(expr, safe=True)
        return leaf(expr, self.leaf_origin(expr, site))

    def _binary(self, node: cst.BinaryOperation, site: Site) -> Value:
        op = node.operator
        if isinstance(op, cst.Add):
            if isinstance(node.left, (cst.Integer, cst.Float)) or isinstance(node.right, (cst.Integer, cst.Float)):
                return opaque(node, safe=True)  # arithmetic: page_size + 1
            left, right = self.value(node.left, site), self.value(node.right, site)
            if not has_literal(left) and not has_literal(right):
                if all_safe(left) and all_safe(right):
                    return opaque(node, safe=True)
                return leaf(node, origin_of(left) | origin_of(right))
            return concat(renode(left, node.left, HOW_PLUS), renode(right, node.right, HOW_PLUS))
        if isinstance(op, cst.Modulo):
            left = self.value(node.left, site)
            if has_literal(left):
                return self.formats.percent(left, node.right, site)
            right = self.value(node.right, site)
            if all_safe(left) and all_safe(right):
                return opaque(node, safe=True)
            return leaf(node, origin_of(left) | origin_of(right))
        if isinstance(op, cst.Multiply):
            left, right = self.value(node.left, site), self.value(node.right, site)
            if has_literal(left) or isinstance(node.left, (cst.List, cst.Tuple)):
                return (
                    left
                    if has_literal(left)
                    else opaque(node, safe=all_safe(self.collections.elements(node.left, site)))
                )
            if has_literal(right):
                return right
            if all_safe(left) and all_safe(right):
                return opaque(node, safe=True)
            return leaf(node, origin_of(left) | origin_of(right))
        # -, /, //, **, bit operations: numbers only
        return opaque(node, safe=True)

    def name_value(self, node: cst.Name, site: Site) -> Value:
        name = node.value
        if name in ("True", "False", "None"):
            return const(name)
        if self.guards.covers(name, site, self.collections.vetting):
            return opaque(node, safe=True)  # also a helper's parameter, whatever its caller passes
        if site.env is not None and name in site.env:
            bound: Value = site.env[name]
            return bound
        found = self.scopes.lookup(name, site)
        if found is None:
            if self.trust.enum_class(node) is not None:
                return opaque(node, safe=True)
            return [(Hole(node, False, names=frozenset({name}), origin=self.unbound_origin(node)),)]
        bindings, local = found
        if local:
            bindings = reaching(bindings, site)
        live: list[tuple[tuple[int, ...], Value]] = []
        for binding in bindings:
            inner = Site(
                binding.scope,
                binding.point,
                binding.blocks,
                site.env if binding.scope is site.scope else None,
                site.depth + 1,
            )
            if binding.kind == "aug":
                if binding.operator != "+":
                    live = [(binding.blocks, opaque(node, safe=True))]
                    continue
                assert binding.value is not None
                right = renode(self.value(binding.value, inner), binding.value, HOW_AUGMENTED)
                if not live:
                    live = [(binding.blocks, concat([(Hole(node, False),)], right))]
                else:
                    live = [(blocks, concat(value, right)) for blocks, value in live]
                continue
            value = self._binding_value(binding, inner)
            live = [(blocks, v) for blocks, v in live if blocks[: len(binding.blocks)] != binding.blocks]
            live.append((binding.blocks, value))
        result = [t for _, value in live for t in value]
        named = frozenset({name})
        return [
            tuple(dataclasses.replace(p, names=p.names | named) if isinstance(p, Hole) and not p.how else p for p in t)
            for t in result
        ] or opaque(node)

    def _binding_value(self, binding: Binding, site: Site) -> Value:
        target = binding.target
        if binding.kind == "numeric":
            return opaque(target, safe=True)
        if binding.kind == "param":
            if binding.annotation is not None and self.trust.typed_annotation(binding.annotation, site):
                return opaque(target, safe=True)
            return leaf(target, self.param_origin(binding))
        if binding.kind == "assign" and binding.value is not None:
            if binding.index is None:
                return self.value(binding.value, site)
            if isinstance(binding.value, (cst.Tuple, cst.List)) and binding.index < len(binding.value.elements):
                element = binding.value.elements[binding.index]
                if not isinstance(element, cst.StarredElement):
                    return self.value(element.value, site)
            return leaf(target, self.leaf_origin(binding.value, site))
        if binding.kind in ("for", "comprehension") and binding.value is not None:
            iterable = binding.value
            if binding.index is None:
                return self.collections.elements(iterable, site)
            pairs = self.items_of(iterable, binding.index, site)
            if pairs is not None:
                return pairs
            if isinstance(iterable, cst.Call) and dotted_name(iterable.func) == "enumerate" and iterable.args:
                return (
                    opaque(target, safe=True)
                    if binding.index == 0
                    else self.collections.elements(iterable.args[0].value, site)
                )
            elements = self.collections.elements(iterable, site)
            if all_safe(elements) or self.collections.const_collection(iterable, site):
                return opaque(target, safe=True)  # for key, label in CHOICES: rows of constants
            return leaf(target, origin_of(elements))
        return leaf(target, UNKNOWN)

    def _attribute_value(self, node: cst.Attribute, site: Site) -> Value:
        dotted = dotted_name(node)
        if dotted is not None and any(dotted == s or dotted.endswith("." + s) for s in self.kb.safe_attribute_suffixes):
            return opaque(node, safe=True)
        base = node.value
        if self.trust.enum_class(base) is not None:
            return opaque(node, safe=True)
        if (
            isinstance(base, cst.Attribute)
            and node.attr.value in ("value", "name")
            and self.trust.enum_class(base.value) is not None
        ):
            return opaque(node, safe=True)
        values = self.member_values(node, site)
        if values is not None:
            return values
        if isinstance(base, cst.Name):
            owner = self.value(base, site)
            if not has_literal(owner) and all_safe(owner):
                return opaque(node, safe=True)  # status.value of an Enum parameter, day.year of a date
        return leaf(node, self.leaf_origin(node, site))

    def items_of(self, iterable: cst.BaseExpression, index: int, site: Site) -> Value | None:
        """``for key, value in mapping.items()``: the keys (index 0) or values (1) of a known dict."""
        if not (
            isinstance(iterable, cst.Call)
            and isinstance(iterable.func, cst.Attribute)
            and iterable.func.attr.value == "items"
            and not iterable.args
            and index in (0, 1)
        ):
            return None
        mapping = iterable.func.value
        if self.collections.const_collection(mapping, site):
            return opaque(iterable, safe=True)
        return self.collections.dict_entries(mapping, site, index == 1)

    def member_values(self, node: cst.Attribute, site: Site) -> Value | None:
        info = self.scopes.class_of(node.value, site)
        if info is None:
            return None
        attr = node.attr.value
        out: Value = []
        for cls in self.scopes.class_chain(info):
            for binding in cls.instance.get(attr, ()):
                inner = Site(binding.scope, binding.point, binding.blocks, None, site.depth + 1)
                if binding.kind == "aug":  # self.count += 1: a number unless text is added
                    numeric = isinstance(binding.value, (cst.Integer, cst.Float)) or binding.operator != "+"
                    out += opaque(binding.target, safe=numeric)
                else:
                    out += self._binding_value(binding, inner)
            for binding in cls.scope.bindings.get(attr, ()):
                inner = Site(binding.scope, binding.point, binding.blocks, None, site.depth + 1)
                method = cls.methods.get(attr)
                if binding.kind == "def" and method is not None and _is_property(binding.statement):
                    if site.depth < 12:  # a property: what its body returns (a dialect's fixed SQL)
                        out += self._returns(method, {}, site)
                    continue
                out += self._binding_value(binding, inner)
            if out:
                break
        return [
            tuple(Hole(node, p.safe, origin=p.origin) if isinstance(p, Hole) and not p.how else p for p in t)
            for t in out
        ] or None

    def _call_value(self, node: cst.Call, site: Site) -> Value:
        func = node.func
        args = node.args
        qualified = self.context.qualified_name(func) or ""
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            receiver = func.value
            if method in ("format", "format_map"):
                base = self.value(receiver, site)
                if has_literal(base):
                    return self.formats.format(base, node, site)
            elif method == "join" and args:
                separator = self.value(receiver, site)
                if has_literal(separator) and all_safe(separator):
                    elements = self.collections.elements(args[0].value, site)
                    return renode(elements, args[0].value, HOW_JOIN)
            elif method == "replace" and len(args) >= 2:
                quote = self.const_text(args[0].value, site)
                if quote in ("'", '"', "`") and self.const_text(args[1].value, site) == quote * 2:
                    return opaque(node, safe=True)  # SQL quote escaping
                base = self.value(receiver, site)
                if has_literal(base):
                    return self.formats.replace(base, args[0].value, args[1].value, site)
            elif method in ("substitute", "safe_substitute") and isinstance(receiver, cst.Call):
                if self.context.qualified_name(receiver.func) == "string.Template" and receiver.args:
                    return self.formats.template_substitute(self.value(receiver.args[0].value, site), node, site)
            elif method in self.kb.names("passthrough-method"):
                return self.value(receiver, site)
            elif method == "get" and args and self.collections.const_collection(receiver, site):
                default = args[1].value if len(args) > 1 else None
                if default is None or all_safe(self.value(default, site)):
                    return opaque(node, safe=True)
            if self.trust.safe_method(method):
                return opaque(node, safe=True)
        if qualified in self.kb.names("call") or (isinstance(func, cst.Name) and self.trust.safe_method(func.value)):
            return opaque(node, safe=True)
        if qualified in self.kb.names("passthrough-call") and args:
            return self.value(args[0].value, site)
        if self.trust.enum_class(func) is not None or self.trust.sanitizer_alias(func, site):
            return opaque(node, safe=True)
        pure = self._pure(node, qualified, site)
        if pure is not None:
            return pure
        helper = self.scopes.function(func, site)
        if helper is not None and site.depth < 12:
            return self._helper_value(helper, node, site)
        return leaf(node, self.leaf_origin(node, site))

    # -- origins of what is not followed -----------------------------------------------------

    def leaf_origin(self, expr: cst.CSTNode, site: Site) -> Origin:
        """Where a value this folder does not follow may come from: the outside input it visibly
        reads, else what its receiver and arguments come from (and a result not followed)."""
        if not isinstance(expr, cst.BaseExpression):
            return UNKNOWN
        read = self.origins.reads(expr, site)
        if read is not None:
            return Origin(inputs=frozenset({read}))
        imported = self._imported(expr, site)
        if imported is not None:
            return Origin(imports=frozenset({imported}))
        parts: list[cst.BaseExpression] = []
        if isinstance(expr, (cst.Attribute, cst.Subscript)):
            parts.append(expr.value)
        elif isinstance(expr, cst.Call):
            if isinstance(expr.func, cst.Attribute):
                parts.append(expr.func.value)
            parts += [a.value for a in expr.args]
        out = UNKNOWN
        for part in parts:
            value = self.value(part, site)
            if not all_safe(value):
                out = out | origin_of(value)
        return out

    def _imported(self, expr: cst.BaseExpression, site: Site) -> str | None:
        """The qualified name of ``pkg.settings.TABLE``-like chains whose head is an import."""
        head: cst.BaseExpression = expr
        while isinstance(head, cst.Attribute):
            head = head.value
        if not isinstance(head, cst.Name) or head.value not in self.context.imports.aliases:
            return None
        if self.scopes.lookup(head.value, site) is not None:
            return None
        return self.context.qualified_name(expr)

    def unbound_origin(self, node: cst.Name) -> Origin:
        """A name this module does not bind: an import (its module decides) or a builtin/unknown."""
        qualified = self.context.qualified_name(node) if node.value in self.context.imports.aliases else None
        return Origin(imports=frozenset({qualified})) if qualified else UNKNOWN

    def param_origin(self, binding: Binding) -> Origin:
        if isinstance(binding.target, cst.Name) and binding.target.value == binding.scope.self_name:
            return UNKNOWN  # a method's own object
        return self.origins.param(binding)

    def _pure(self, node: cst.Call, qualified: str, site: Site) -> Value | None:
        """A call whose result is built from its receiver and arguments only (``json.dumps(x)``,
        ``name.replace("_", "-")``): constant when they are, else from where they come from."""
        func = node.func
        parts = [a.value for a in node.args]
        if isinstance(func, cst.Attribute) and func.attr.value in self.kb.names("pure-method"):
            parts.append(func.value)
        elif qualified not in self.kb.names("pure-call"):
            return None
        values = [self.value(part, site) for part in parts]
        if all(all_safe(v) for v in values):
            return opaque(node, safe=True)
        return leaf(node, union(origin_of(v) for v in values if not all_safe(v)))

    def const_text(self, expr: cst.BaseExpression, site: Site) -> str | None:
        return const_text_of(self.value(expr, site))

    def _helper_value(self, helper: Scope, call: cst.Call, site: Site) -> Value:
        params = (
            helper.params[1:]
            if helper.self_name is not None and isinstance(call.func, cst.Attribute)
            else helper.params
        )
        env: dict[str, Value] = {}
        positional = [a.value for a in call.args if a.keyword is None and not a.star]
        keyed = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
        for i, param in enumerate(params):
            name = param.target.value if isinstance(param.target, cst.Name) else ""
            arg = keyed.get(name) or (positional[i] if i < len(positional) else param.default)
            if arg is None:
                continue
            value = self.value(arg, site)
            safe = all_safe(value)
            env[name] = value if has_literal(value) else [(Hole(param.target, safe, origin=origin_of(value)),)]
        return self._returns(helper, env, site) or leaf(call, UNKNOWN)

    def _returns(self, helper: Scope, env: dict[str, Value], site: Site) -> Value:
        """What ``helper`` returns (or yields), its parameters bound as in ``env``."""
        out: Value = []
        for expr, return_site in helper.returns:
            out += self.value(expr, Site(helper, return_site.point, return_site.blocks, env, site.depth + 3))
        return out


_PROPERTIES = frozenset(
    {"property", "cached_property", "functools.cached_property", "django.utils.functional.cached_property"}
)


def _is_property(statement: cst.CSTNode | None) -> bool:
    return isinstance(statement, cst.FunctionDef) and any(
        (dotted_name(d.decorator) or "") in _PROPERTIES for d in statement.decorators
    )
