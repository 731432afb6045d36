"""String formatting folded into templates: f-strings, ``%``, ``str.format``, ``str.replace``, ``string.Template``."""

from __future__ import annotations

import itertools
import re
import string

import libcst as cst

from backlint.analysis.scopes import Site
from backlint.analysis.sql.elements import Elements
from backlint.analysis.sql.templates import (
    HOW_FORMAT,
    HOW_FSTRING,
    HOW_PERCENT,
    HOW_REPLACE,
    HOW_TEMPLATE,
    NUMERIC_TYPES,
    PERCENT_SPEC,
    TEMPLATE_FIELD,
    Folder,
    Hole,
    Value,
    concat,
    const,
    fstring_text,
    leaf,
    opaque,
    renode,
    string_value,
)


class Formats:
    """Each method puts the folded arguments into the fields of a folded format string."""

    def __init__(self, values: Folder, collections: Elements) -> None:
        self.values = values
        self.collections = collections

    def fstring(self, node: cst.FormattedString, site: Site) -> Value:
        pieces: list[Value] = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                pieces.append(const(fstring_text(node, part.value)))
                continue
            assert isinstance(part, cst.FormattedStringExpression)
            spec = "".join(
                p.value if isinstance(p, cst.FormattedStringText) else "{}" for p in (part.format_spec or ())
            )
            if spec and spec[-1] in NUMERIC_TYPES:
                pieces.append([(Hole(part.expression, True, HOW_FSTRING),)])
                continue
            formatted = bool(spec) or part.conversion is not None
            pieces.append(renode(self.values.value(part.expression, site), part.expression, HOW_FSTRING, formatted))
        return concat(*pieces) if pieces else const("")

    def percent(self, left: Value, right: cst.BaseExpression, site: Site) -> Value:
        if isinstance(right, cst.Tuple):
            positional: list[cst.BaseExpression] = [e.value for e in right.elements]
            keyed: dict[str, cst.BaseExpression] = {}
        elif isinstance(right, cst.Dict):
            positional = []
            keyed = {}
            for element in right.elements:
                if isinstance(element, cst.DictElement):
                    key = string_value(element.key)
                    if key is not None:
                        keyed[key] = element.value
        else:
            positional, keyed = [right], {}
            mapping = self.collections.dict_literal(right, site)
            if mapping is not None:
                positional, keyed = [], mapping
        counter = itertools.count()
        out: Value = []
        for template in left:
            pieces: list[Value] = []
            for part in template:
                if isinstance(part, Hole):
                    pieces.append([(part,)])
                    continue
                last = 0
                for match in PERCENT_SPEC.finditer(part):
                    pieces.append(const(part[last : match.start()]))
                    last = match.end()
                    kind = match.group("type")
                    if kind == "%":
                        pieces.append(const("%"))
                        continue
                    key = match.group("key")
                    arg: cst.BaseExpression | None
                    if key is not None:
                        arg = keyed.get(key)
                        if arg is None:
                            arg = right
                    else:
                        index = next(counter)
                        arg = positional[index] if index < len(positional) else right
                    if kind in NUMERIC_TYPES:
                        pieces.append([(Hole(arg, True, HOW_PERCENT),)])
                    else:
                        formatted = bool(match.group("flags") or match.group("width")) or kind != "s"
                        value = (
                            self.values.value(arg, site)
                            if arg is not right or positional == [right]
                            else leaf(arg, self.values.leaf_origin(arg, site))
                        )
                        pieces.append(renode(value, arg, HOW_PERCENT, formatted))
                pieces.append(const(part[last:]))
            out.extend(concat(*pieces))
        return out

    def format(self, base: Value, node: cst.Call, site: Site) -> Value:
        positional = [a.value for a in node.args if a.keyword is None and not a.star]
        keyed = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
        splat = next((a.value for a in node.args if a.star == "**"), None)
        if splat is not None and not keyed:
            mapping = self.collections.dict_literal(splat, site)
            if mapping is not None:
                keyed, splat = mapping, None
        if isinstance(node.func, cst.Attribute) and node.func.attr.value == "format_map" and node.args:
            splat, positional = node.args[0].value, []
        counter = itertools.count()
        out: Value = []
        for template in base:
            pieces: list[Value] = []
            for part in template:
                if isinstance(part, Hole):
                    pieces.append([(part,)])
                    continue
                try:
                    fields = list(string.Formatter().parse(part))
                except ValueError:
                    pieces.append(const(part))
                    continue
                for literal, field, spec, conversion in fields:
                    pieces.append(const(literal))
                    if field is None:
                        continue
                    head = re.split(r"[.\[]", field, maxsplit=1)[0]
                    arg: cst.BaseExpression | None
                    if head == "":
                        index = next(counter)
                        arg = positional[index] if index < len(positional) else None
                    elif head.isdigit():
                        arg = positional[int(head)] if int(head) < len(positional) else None
                    else:
                        arg = keyed.get(head)
                    if arg is None:
                        arg = splat
                    if arg is None:
                        pieces.append(const("{" + field + "}"))
                        continue
                    if spec and spec[-1] in NUMERIC_TYPES:
                        pieces.append([(Hole(arg, True, HOW_FORMAT),)])
                        continue
                    value = (
                        self.values.value(arg, site)
                        if arg is not splat and field == head
                        else leaf(arg, self.values.leaf_origin(arg, site))
                    )
                    if arg is splat and self.collections.const_collection(arg, site):
                        value = opaque(arg, safe=True)
                    elif arg is splat and field == head:
                        entries = self.collections.entry_values(arg, head, site, HOW_FORMAT)
                        value = value if entries is None else entries
                    pieces.append(renode(value, arg, HOW_FORMAT, bool(spec or conversion)))
            out.extend(concat(*pieces) if pieces else const(""))
        return out

    def replace(self, base: Value, old: cst.BaseExpression, new: cst.BaseExpression, site: Site) -> Value:
        token = string_value(old)
        replacement = renode(self.values.value(new, site), new, HOW_REPLACE)
        if token is None or not token:
            return concat(base, replacement)
        out: Value = []
        for template in base:
            pieces: list[Value] = []
            for part in template:
                if isinstance(part, Hole) or token not in part:
                    pieces.append([(part,)])
                    continue
                chunks = part.split(token)
                for i, chunk in enumerate(chunks):
                    if i:
                        pieces.append(replacement)
                    pieces.append(const(chunk))
            out.extend(concat(*pieces))
        return out

    def template_substitute(self, base: Value, node: cst.Call, site: Site) -> Value:
        keyed = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
        mapping = next((a.value for a in node.args if a.keyword is None), None)
        out: Value = []
        for template in base:
            pieces: list[Value] = []
            for part in template:
                if isinstance(part, Hole):
                    pieces.append([(part,)])
                    continue
                last = 0
                for match in TEMPLATE_FIELD.finditer(part):
                    pieces.append(const(part[last : match.start()]))
                    last = match.end()
                    arg = keyed.get(match.group("name") or match.group("braced") or "", mapping)
                    if arg is None:
                        pieces.append(const(match.group(0)))
                    else:
                        value = (
                            self.values.value(arg, site)
                            if arg is not mapping
                            else leaf(arg, self.values.leaf_origin(arg, site))
                        )
                        pieces.append(renode(value, arg, HOW_TEMPLATE))
                pieces.append(const(part[last:]))
            out.extend(concat(*pieces))
        return out
