"""What an iterable yields into SQL text (``", ".join(columns)``), and constant collections (allowlists)."""

from __future__ import annotations

import libcst as cst

from backlint.analysis.origins import UNKNOWN
from backlint.analysis.scopes import Scopes, Site
from backlint.analysis.sql.guards import Guards
from backlint.analysis.sql.tables import SqlKnowledge
from backlint.analysis.sql.templates import (
    Folder,
    Value,
    all_safe,
    cap,
    const,
    leaf,
    opaque,
    origin_of,
    renode,
    string_value,
)
from backlint.analysis.sql.trust import Trust
from backlint.core.imports import dotted_name


class Elements:
    """Folds iterables and recognizes constant collections, asking ``values`` for single values."""

    def __init__(self, values: Folder, scopes: Scopes, trust: Trust, guards: Guards, kb: SqlKnowledge) -> None:
        self.values = values
        self.scopes = scopes
        self.trust = trust
        self.guards = guards
        self.kb = kb

    def elements(self, expr: cst.CSTNode, site: Site) -> Value:
        """The values an iterable yields (what ``sep.join(expr)`` puts into the text)."""
        if isinstance(expr, (cst.List, cst.Tuple, cst.Set)):
            out: Value = []
            for element in expr.elements:
                if isinstance(element, cst.StarredElement):
                    out += self.elements(element.value, site)
                else:
                    out += self.values.value(element.value, site)
            return cap(out) if out else const("")
        if isinstance(expr, (cst.ListComp, cst.GeneratorExp, cst.SetComp)):
            return self.comprehension(expr, site)
        if isinstance(expr, cst.BinaryOperation):
            if isinstance(expr.operator, cst.Multiply):
                sequence = (
                    expr.left
                    if isinstance(expr.left, (cst.List, cst.Tuple, cst.SimpleString, cst.Name))
                    else expr.right
                )
                return self.elements(sequence, site)
            if isinstance(expr.operator, cst.Add):
                return cap(self.elements(expr.left, site) + self.elements(expr.right, site))
        if isinstance(expr, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
            return self.values.value(expr, site)
        if isinstance(expr, cst.Call):
            name = dotted_name(expr.func) or ""
            if name in ("sorted", "list", "tuple", "set", "frozenset", "reversed", "iter") and expr.args:
                return self.elements(expr.args[0].value, site)
            if name in ("map", "filter") and len(expr.args) == 2:
                mapper_node = expr.args[0].value
                mapper = dotted_name(mapper_node) or ""
                items = self.elements(expr.args[1].value, site)
                if mapper in self.kb.names("call"):
                    return opaque(expr, safe=True)
                if name == "map" and isinstance(mapper_node, cst.Lambda):
                    return self._mapped(mapper_node, items, site)  # map(lambda _: "%s", ids)
                return items
            qualified = self.trust.context.qualified_name(expr.func) or ""
            if qualified == "itertools.repeat" and expr.args:  # ", ".join(itertools.repeat("%s", n))
                return self.values.value(expr.args[0].value, site)
            if qualified == "itertools.chain" and expr.args and not any(a.star for a in expr.args):
                return cap([t for a in expr.args for t in self.elements(a.value, site)])
            if name == "range" or (
                isinstance(expr.func, cst.Attribute) and self.trust.safe_method(expr.func.attr.value)
            ):
                return opaque(expr, safe=True)
            if isinstance(expr.func, cst.Attribute) and expr.func.attr.value in ("keys", "values", "items"):
                if self.const_collection(expr.func.value, site):
                    return opaque(expr, safe=True)
                method = expr.func.attr.value
                entries = self.dict_entries(expr.func.value, site, method == "values")
                if entries is not None and method == "items":
                    more = self.dict_entries(expr.func.value, site, True)
                    entries = cap(entries + more) if more is not None else None
                if entries is not None:
                    return entries
            return leaf(expr, self.values.leaf_origin(expr, site))
        if isinstance(expr, cst.Dict):
            keys = [self.values.value(e.key, site) for e in expr.elements if isinstance(e, cst.DictElement)]
            return cap([t for v in keys for t in v]) if keys else const("")
        if isinstance(expr, cst.DictComp):
            return self.comprehension(expr, site)
        if isinstance(expr, cst.Name):
            return self.name_elements(expr, site)
        if isinstance(expr, cst.Attribute):
            values = self.values.member_values(expr, site)
            if values is not None and self.const_collection(expr, site):
                return opaque(expr, safe=True)
        return leaf(expr, self.values.leaf_origin(expr, site))

    def _mapped(self, mapper: cst.Lambda, items: Value, site: Site) -> Value:
        """What ``map(lambda x: body, items)`` yields: the body with its parameter bound to the items."""
        params = mapper.params.params
        if len(params) != 1 or isinstance(mapper.params.star_arg, cst.Param) or mapper.params.kwonly_params:
            return leaf(mapper, UNKNOWN)
        env: dict[str, Value] = dict(site.env or {})
        env[params[0].name.value] = items
        return self.values.value(mapper.body, Site(site.scope, site.point, site.blocks, env, site.depth + 1))

    def dict_entries(self, expr: cst.BaseExpression, site: Site, values: bool) -> Value | None:
        """Keys or values of a dict a local name is built as (literal, comprehension, ``d[k] = v``)."""
        if not isinstance(expr, cst.Name):
            return None
        found = self.scopes.lookup(expr.value, site)
        if found is None:
            return None
        out: Value = []
        for binding in found[0]:
            inner = Site(binding.scope, binding.point, binding.blocks, None, site.depth + 1)
            value = binding.value
            if binding.kind != "assign" or binding.index is not None:
                return None
            if isinstance(value, cst.Dict):
                for element in value.elements:
                    if not isinstance(element, cst.DictElement):
                        return None
                    out += self.values.value(element.value if values else element.key, inner)
            elif isinstance(value, cst.DictComp):
                out += self.comprehension(value, inner, values)
            else:
                return None
            for mutation in binding.scope.mutations.get(expr.value, ()):
                if mutation.kind == "item" and mutation.value is not None and mutation.default is not None:
                    out += self.values.value(
                        mutation.value if values else mutation.default,
                        Site(mutation.scope, mutation.point, mutation.blocks),
                    )
        return cap(out) if out else None

    def name_elements(self, node: cst.Name, site: Site) -> Value:
        name = node.value
        if self.guards.covers(name, site, self.vetting):
            return opaque(node, safe=True)  # also a helper's parameter, whatever its caller passes
        if site.env is not None and name in site.env:
            bound: Value = site.env[name]
            return bound
        if self.trust.enum_class(node) is not None:
            return opaque(node, safe=True)  # iterating an enum class: its members
        found = self.scopes.lookup(name, site)
        if found is None:
            return leaf(node, self.values.unbound_origin(node))
        bindings, _ = found
        out: Value = []
        for binding in bindings:
            inner = Site(
                binding.scope,
                binding.point,
                binding.blocks,
                site.env if binding.scope is site.scope else None,
                site.depth + 1,
            )
            if binding.kind in ("assign", "aug") and binding.value is not None and binding.index is None:
                out += self.elements(binding.value, inner)
            elif binding.kind == "param":
                safe = binding.annotation is not None and self.trust.typed_annotation(
                    binding.annotation, inner, collection=True
                )
                out += opaque(node, safe=True) if safe else leaf(node, self.values.param_origin(binding))
            elif binding.kind in ("for", "comprehension") and binding.value is not None:
                out += leaf(node, origin_of(self.elements(binding.value, inner)))
            else:
                out += leaf(node, UNKNOWN)
        scopes = {id(b.scope): b.scope for b in bindings}
        scopes[id(site.scope.frame)] = site.scope.frame
        for scope in scopes.values():
            for mutation in scope.mutations.get(name, ()):
                inner = Site(mutation.scope, mutation.point, mutation.blocks, None, site.depth + 1)
                assert mutation.value is not None
                if mutation.kind == "item":
                    continue
                if mutation.kind == "aug":
                    out += self.elements(mutation.value, inner)
                else:
                    out += self.values.value(mutation.value, inner)
        return cap(out) if out else leaf(node, UNKNOWN)

    def comprehension(
        self, node: cst.ListComp | cst.GeneratorExp | cst.SetComp | cst.DictComp, site: Site, values: bool = False
    ) -> Value:
        env: dict[str, Value] = dict(site.env or {})
        comp: cst.CompFor | None = node.for_in
        while comp is not None:
            inner = Site(site.scope, site.point, site.blocks, dict(env), site.depth + 1)
            target, iterable = comp.target, comp.iter
            if isinstance(target, cst.Name):
                env[target.value] = self.elements(iterable, inner)
            elif isinstance(target, cst.Tuple):
                names = [e.value for e in target.elements]
                enumerate_call = (
                    isinstance(iterable, cst.Call) and dotted_name(iterable.func) == "enumerate" and iterable.args
                )
                for i, element in enumerate(names):
                    if not isinstance(element, cst.Name):
                        continue
                    if enumerate_call and i == 0:
                        env[element.value] = opaque(element, safe=True)
                    elif enumerate_call and i == 1 and isinstance(iterable, cst.Call):
                        env[element.value] = self.elements(iterable.args[0].value, inner)
                    elif (pairs := self.values.items_of(iterable, i, inner)) is not None:
                        env[element.value] = pairs
                    else:
                        items = self.elements(iterable, inner)
                        safe = all_safe(items) or self.const_collection(iterable, inner)
                        env[element.value] = opaque(element, safe=True) if safe else leaf(element, origin_of(items))
            comp = comp.inner_for_in
        inner = Site(site.scope, site.point, site.blocks, env, site.depth + 1)
        if isinstance(node, cst.DictComp):
            return self.values.value(node.value if values else node.key, inner)
        return self.values.value(node.elt, inner)

    def vetting(self, collection: cst.BaseExpression, site: Site) -> bool:
        """A collection that vets what is found in it: constants, or anything outside input does not
        fill (an existence lookup: the database's own table names, ids already stored)."""
        if self.const_collection(collection, site):
            return True
        return not origin_of(self.elements(collection, site)).outside

    def _constant(self, expr: cst.BaseExpression, site: Site, depth: int) -> bool:
        """An item of a constant collection: a constant, or a collection of constants (rows of pairs)."""
        if isinstance(expr, (cst.List, cst.Tuple, cst.Set, cst.Dict)):
            return self.const_collection(expr, site, depth + 1)
        return all_safe(self.values.value(expr, site))

    def const_collection(self, expr: cst.BaseExpression, site: Site, depth: int = 0) -> bool:
        """A collection literal of constants (or a name bound only to one): an allowlist."""
        if depth > 4:
            return False
        if isinstance(expr, (cst.List, cst.Tuple, cst.Set)):
            return all(
                not isinstance(e, cst.StarredElement) and self._constant(e.value, site, depth) for e in expr.elements
            )
        if isinstance(expr, cst.Dict):
            return all(
                isinstance(e, cst.DictElement)
                and all_safe(self.values.value(e.key, site))
                and self._constant(e.value, site, depth)
                for e in expr.elements
            )
        if isinstance(expr, cst.Call):
            name = dotted_name(expr.func) or ""
            short = name.rpartition(".")[2].lower()
            if len(expr.args) == 1 and any(k in short for k in ("dict", "set", "tuple", "list", "proxy")):
                return self.const_collection(expr.args[0].value, site, depth + 1)
            if isinstance(expr.func, cst.Attribute) and expr.func.attr.value in ("keys", "values"):
                return self.const_collection(expr.func.value, site, depth + 1)
            return False
        if isinstance(expr, cst.Attribute):
            if expr.attr.value in ("__members__", "_value2member_map_", "_member_map_") and self.trust.enum_class(
                expr.value
            ):
                return True
            info = self.scopes.class_of(expr.value, site)
            if info is None:
                return False
            bindings = [b for c in self.scopes.class_chain(info) for b in c.scope.bindings.get(expr.attr.value, ())]
            instance = [b for c in self.scopes.class_chain(info) for b in c.instance.get(expr.attr.value, ())]
            return (
                bool(bindings)
                and not instance
                and all(
                    b.kind == "assign" and b.value is not None and self.const_collection(b.value, site, depth + 1)
                    for b in bindings
                )
            )
        if isinstance(expr, cst.Name):
            if self.trust.enum_class(expr) is not None:
                return True
            found = self.scopes.lookup(expr.value, site)
            if found is None:
                return False
            bindings = found[0]
            return (
                bool(bindings)
                and all(
                    b.kind == "assign"
                    and b.value is not None
                    and b.index is None
                    and self.const_collection(b.value, Site(b.scope, b.point, b.blocks), depth + 1)
                    for b in bindings
                )
                and not any(
                    m
                    for s in {id(b.scope): b.scope for b in bindings}.values()
                    for m in s.mutations.get(expr.value, ())
                )
            )

        return False

    def entry_values(self, expr: cst.BaseExpression, key: str, site: Site, how: str) -> Value | None:
        """Every value a local dict (bound once to a literal, ``dict(k=v)`` or ``defaultdict(str)``,
        then changed only by ``d["key"] = v``) may hold at ``key``, each joined by ``how`` where it
        is written: ``query.format_map(safeholders)`` with fragments chosen in code."""
        if not isinstance(expr, cst.Name):
            return None
        found = self.scopes.lookup(expr.value, site)
        if found is None or len(found[0]) != 1:
            return None
        binding = found[0][0]
        value = binding.value
        if binding.kind != "assign" or binding.index is not None or value is None:
            return None
        inner = Site(binding.scope, binding.point, binding.blocks, None, site.depth + 1)
        out: Value = []
        if isinstance(value, cst.Dict):
            for element in value.elements:
                if not isinstance(element, cst.DictElement):
                    return None
                if string_value(element.key) == key:
                    out += renode(self.values.value(element.value, inner), element.value, how)
        elif isinstance(value, cst.Call) and not any(a.star for a in value.args):
            factory = self.trust.context.qualified_name(value.func)
            positional = [a.value for a in value.args if a.keyword is None]
            kind = dotted_name(positional[0]) if len(positional) == 1 else None
            if factory == "collections.defaultdict" and kind in ("str", "int", "float", "bool"):
                out += const("") if kind == "str" else opaque(value, safe=True)  # what a missing key gives
            elif factory != "dict" or positional:
                return None
            for arg in value.args:
                if arg.keyword is not None and arg.keyword.value == key:
                    out += renode(self.values.value(arg.value, inner), arg.value, how)
        else:
            return None
        for mutation in binding.scope.mutations.get(expr.value, ()):
            if mutation.kind != "item" or mutation.default is None or mutation.value is None:
                return None
            text = string_value(mutation.default)
            if text is None:
                return None
            if text == key:
                entry = self.values.value(mutation.value, Site(mutation.scope, mutation.point, mutation.blocks))
                out += renode(entry, mutation.value, how)
        return cap(out) if out else None

    def dict_literal(self, expr: cst.BaseExpression, site: Site) -> dict[str, cst.BaseExpression] | None:
        """The string-keyed entries of a dict literal that ``expr`` (a local name) is bound to once."""
        if not isinstance(expr, cst.Name):
            return None
        found = self.scopes.lookup(expr.value, site)
        if found is None or len(found[0]) != 1 or not isinstance(found[0][0].value, cst.Dict):
            return None
        entries: dict[str, cst.BaseExpression] = {}
        for element in found[0][0].value.elements:
            if isinstance(element, cst.DictElement):
                key = string_value(element.key)
                if key is not None:
                    entries[key] = element.value
        for mutation in found[0][0].scope.mutations.get(expr.value, ()):
            if mutation.kind == "item" and mutation.default is not None and mutation.value is not None:
                key = string_value(mutation.default)
                if key is not None:
                    entries[key] = mutation.value
        return entries
