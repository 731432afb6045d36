"""The BL101/BL102 autofix: SQL built from strings → a placeholder query plus parameters.

The BL101/BL102 fix (rules/BL101.toml, rules/BL102.toml). The SQL argument — an f-string, ``%`` or
``.format`` on a literal, a ``+`` chain, or a local name bound once to one of those and used only
here — is taken apart into literal text and interpolated expressions. Each interpolation in a value
slot becomes the driver's placeholder (``?``, ``%s``, ``$1``, ``:name``) and its expression a
parameter; a quoted value slot loses its quotes, and text inside them (LIKE wildcards) moves into
the parameter (``'%{q}%'`` → ``f"%{q}%"``). Vetted interpolations of identifiers stay as they are.
The fix is refused, with the reason, for unvetted identifier or fragment slots, conversions and
format specs, calls that already pass parameters, and drivers whose placeholder is not known.

The literal text is re-emitted per source literal, so implicit concatenations keep their lines and
comments; the edits are plain text replacements of the argument and an insertion of the parameters.
"""

from __future__ import annotations

import dataclasses
import keyword
import re
from collections.abc import Sequence

import libcst as cst

from backlint.analysis.scopes import Binding, Scopes, Site, within
from backlint.analysis.sql.judge import BuiltSql, sql_argument
from backlint.analysis.sql.rewrite_parts import (
    Cell,
    Interpolation,
    Parts,
    Pieces,
    Refused,
    decompose,
    simple,
    source_of,
)
from backlint.analysis.sql.rewrite_text import (
    check_text,
    percent_escaped,
    quoted_parameter,
    quoted_spans,
    render,
    template_of,
    whole_list,
)
from backlint.analysis.sql.slots import (
    FRAGMENT,
    IDENTIFIER,
    PLACEHOLDER,
    QUOTED_VALUE,
    SYNTAX_SLOTS,
    VALUE,
    VALUE_SLOTS,
    slot_positions,
)
from backlint.analysis.sql.tables import SinkRow, SqlKnowledge
from backlint.analysis.sql.templates import MAX_PARTS, all_safe, has_literal, is_cut
from backlint.analysis.sql.values import Values
from backlint.core.rule import NodeEdit, PendingFix
from backlint.pipeline.walk import children

PLACEHOLDERS = {"qmark": "?", "format": "%s", "numeric": "${n}", "named": ":{name}", "pyformat": "%({name})s"}


@dataclasses.dataclass
class Param:
    code: str  # the parameter's expression
    name: str  # bind name (named styles), else ""
    number: int  # 1-based position among distinct parameters
    node: cst.BaseExpression  # the interpolated expression it comes from


def sql_fix(
    issue: BuiltSql, unvetted: set[int], values: Values, scopes: Scopes, kb: SqlKnowledge
) -> tuple[PendingFix | None, str | None]:
    """The fix for built SQL reaching a sink, or (None, why not). A sink that takes no parameters
    gets (None, None): its finding already says so."""
    if issue.sink is None or issue.row is None:
        return None, None
    if not issue.row.params:
        return None, None
    try:
        fix = Rewrite(issue, unvetted, values, scopes, kb).fix()
    except Refused as exc:
        return None, str(exc)
    if is_cut(issue.template):  # its holes past the cut were not judged (backlint/analysis/sql/templates.py)
        return None, f"the SQL text is built from more than {MAX_PARTS} pieces; pass the values as parameters by hand"
    return fix, None


class Rewrite:
    def __init__(self, issue: BuiltSql, unvetted: set[int], values: Values, scopes: Scopes, kb: SqlKnowledge) -> None:
        assert issue.sink is not None and issue.row is not None
        self.issue = issue
        self.unvetted = unvetted
        self.values = values
        self.scopes = scopes
        self.kb = kb
        self.call: cst.Call = issue.sink
        self.row: SinkRow = issue.row
        module = scopes.module.node
        self.module = module if isinstance(module, cst.Module) else cst.Module([])
        self.site: Site | None = issue.site

    # -- the whole fix ---------------------------------------------------------------------

    def fix(self) -> PendingFix:
        driver = self.issue.driver
        style = PLACEHOLDERS.get(driver.paramstyle) if driver is not None else None
        if driver is None or driver.paramstyle == "unknown":
            raise Refused("the receiver's driver is not known, so neither is its placeholder style")
        if style is None:
            raise Refused(f"the placeholder style of {driver.label} depends on the configured database")
        passing = self._passing()
        if passing is None:
            raise Refused(f"no automatic fix for {self.issue.label}; pass the values as parameters by hand")
        if self.row.shape != "string":
            raise Refused(f"`{self.issue.method}()` takes SQL pieces; rewrite it with the ORM or params= by hand")
        argument = sql_argument(self.call, self.row)
        if argument is None or self.site is None:
            raise Refused("the SQL argument could not be located")
        keyword_sql = any(arg.value is argument and arg.keyword is not None for arg in self.call.args)
        existing = self._existing_params(argument, passing)
        built, site, binding = argument, self.site, None
        if isinstance(argument, cst.Name) and not argument.lpar:
            binding = self._single_use_binding(argument)
            built = binding.value  # type: ignore[assignment]
            site = Site(binding.scope, binding.point, binding.blocks)
        parts = decompose(built, self.module)
        sql, multiline, params = self._rewrite(parts, site, driver.paramstyle, style)
        if binding is not None:
            self._unchanged_until_call(params, binding)
        if binding is not None and multiline and not built.lpar:
            sql = ("(", *sql, ")")
        edits = [NodeEdit(built, sql)]
        container = _container(passing[0], params)
        if passing[0] == "bindparams":
            edits.append(NodeEdit(self.call, container, "after"))
        elif existing is not None:
            holder = next(arg for arg in self.call.args if arg.value is existing)
            named = f"{holder.keyword.value}=" if holder.keyword is not None else ""
            edits.append(NodeEdit(holder, named + container))
        elif keyword_sql and passing[0] not in ("values",):
            raise Refused("the SQL is passed by keyword; add the parameters by hand")
        else:
            holder = next(arg for arg in self.call.args if arg.value is argument)
            edits.append(NodeEdit(holder, ", " + container, "after"))
        names = ", ".join(f"`{p.code}`" for p in params)
        where = "the SQL" if binding is None else f"`{binding.target.value}`"  # type: ignore[attr-defined]
        placeholder = style.replace("{n}", "1").replace("{name}", params[0].name)
        description = (
            f"Pass {names} as {'a parameter' if len(params) == 1 else 'parameters'} with "
            f"`{placeholder}` placeholders in {where} ({driver.label})"
        )
        return PendingFix("unsafe", description, tuple(edits))

    def _passing(self) -> tuple[str, tuple[str, ...]] | None:
        """(how parameters are passed, keyword names of existing parameters) from ``sql-fix-params``."""
        method = self.row.method
        function = self.row.function
        for row in self.kb.fix_params:
            if row["driver"] != self.row.driver:
                continue
            methods, functions = row.get("methods"), row.get("functions")
            if function is not None and ((functions is None and methods is None) or function in (functions or ())):
                return row["pass"], tuple(row.get("keywords", ()))
            if function is None and ((methods is None and functions is None) or method in (methods or ())):
                return row["pass"], tuple(row.get("keywords", ()))
        return None

    def _existing_params(
        self, argument: cst.BaseExpression, passing: tuple[str, tuple[str, ...]]
    ) -> cst.BaseExpression | None:
        """An empty literal parameters argument to fill (``RawSQL(sql, ())``); refused if the call passes any."""
        how, keywords = passing
        if how == "bindparams":
            return None
        empty: cst.BaseExpression | None = None
        after_sql = False
        for arg in self.call.args:
            if arg.value is argument:
                after_sql = True
                continue
            if arg.star:
                raise Refused("the call already passes parameters (`*`/`**` arguments); merge the new ones by hand")
            if (arg.keyword is not None and arg.keyword.value not in keywords) or (
                arg.keyword is None and not after_sql
            ):
                continue  # another keyword (timeout=), or an argument before the SQL (execute_values(cur, ...))
            if how in ("tuple", "list", "dict") and empty is None and _empty_literal(arg.value):
                empty = arg.value
                continue
            raise Refused("the call already passes parameters; merge the new ones by hand")
        return empty

    def _bound_to_sequence(self, node: cst.BaseExpression, site: Site) -> bool:
        """``"… %s" % args`` where ``args`` is a tuple: the fields take its items."""
        if not isinstance(node, cst.Name):
            return isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "tuple"
        found = self.scopes.lookup(node.value, site)
        return found is not None and any(isinstance(b.value, cst.Tuple) for b in found[0])

    def _unchanged_until_call(self, params: Sequence[Param], binding: Binding) -> None:
        """The parameters are now evaluated at the call: no name they read may change on the way there."""
        assert self.site is not None
        scope = binding.scope
        for param in params:
            for name in _names(param.node):
                changes = [*scope.bindings.get(name, ()), *scope.mutations.get(name, ())]
                if any(binding.point < b.point < self.site.point for b in changes):
                    raise Refused(f"`{name}` changes between the SQL and the call; parameterize where the SQL is built")

    def _single_use_binding(self, name: cst.Name) -> Binding:
        """The one assignment of a local name used only by this call, whose value the fix rewrites."""
        assert self.site is not None
        scope = self.site.scope.frame
        bindings = scope.bindings.get(name.value, [])
        why = f"`{name.value}` is built elsewhere or used more than once; parameterize where it is built"
        if scope.kind != "function" or len(bindings) != 1 or scope.mutations.get(name.value):
            raise Refused(why)
        binding = bindings[0]
        value = binding.value
        if (
            binding.kind != "assign"
            or binding.index is not None
            or value is None
            or not isinstance(binding.target, cst.Name)
        ):
            raise Refused(why)
        if binding.point > self.site.point or not within(self.site.blocks, binding.blocks):
            raise Refused(why)
        shared = [b for other in scope.bindings.values() for b in other if b.value is value and b is not binding]
        if shared or _name_count(scope.node, name.value) != 2:
            raise Refused(why)
        return binding

    # -- the SQL text --------------------------------------------------------------------

    def _rewrite(self, parts: Parts, site: Site, paramstyle: str, style: str) -> tuple[Pieces, bool, list[Param]]:
        cells = parts.cells
        holes = [cell for cell in cells if cell.value is not None]
        template = template_of(cells)
        quotes = self.issue.driver.string_quotes if self.issue.driver is not None else "'"
        positions = slot_positions(template, quotes)
        if len(positions) != len(holes):
            raise Refused("the SQL text could not be read")
        quoted, commented = quoted_spans(cells, quotes)
        params: list[Param] = []
        by_code: dict[str, Param] = {}
        replacements: dict[int, list[Cell]] = {}  # id(hole cell) → cells replacing it
        dropped: set[int] = set()  # ids of quote and moved-text cells
        for cell, position in zip(holes, positions):
            value = cell.value
            assert value is not None
            folded = self.values.value(value.node, site)
            # A value the finding is about must leave the text; others (constants, syntax from a trusted
            # origin, a bind parameter's name) stay as they are.
            safe = id(value.node) not in self.unvetted and (position not in VALUE_SLOTS or all_safe(folded))
            code = source_of(value.node, self.module)
            if position == PLACEHOLDER:
                continue
            if position in SYNTAX_SLOTS:
                if not safe:
                    what = {IDENTIFIER: "an identifier", FRAGMENT: "a piece of SQL syntax"}.get(
                        position, "a value in a statement that takes no parameters"
                    )
                    raise Refused(
                        f"`{_short(code)}` is {what}, which cannot be a parameter; check it against an allowlist"
                    )
                continue  # vetted: it stays interpolated
            if value.conversion is not None or value.spec or value.kind not in "sdiu":
                if not safe:
                    raise Refused(
                        f"`{_short(code)}` is formatted (a conversion or format spec) before it joins the SQL"
                    )
                continue
            if id(cell) in commented:
                raise Refused(f"`{_short(code)}` sits in an SQL comment")
            if position == VALUE and whole_list(cells, cells.index(cell)):
                listed = _listed(value.node, self.module) if paramstyle in ("qmark", "format") else None
                if listed is None:
                    raise Refused(f"`{_short(code)}` fills a whole IN/VALUES list; give each item its own placeholder")
                # One placeholder per item, the items passed as parameters: IN ({", ".join(["?"] * len(ids))})
                separator, items = listed
                quote = '"' if parts.segments[cell.segment].quote[0] == "'" else "'"
                if quote in separator or "\\" in separator:
                    raise Refused(f"`{_short(code)}` fills a whole IN/VALUES list; give each item its own placeholder")
                field = f"{quote}{separator}{quote}.join([{quote}{style}{quote}] * len({items}))"
                replacements[id(cell)] = [
                    Cell(cell.segment, value=Interpolation(cst.parse_expression(field), "fstring"))
                ]
                number = len(params) + 1
                params.append(Param(f"*{items}", "", number, value.node))
                continue
            if value.spread and self._bound_to_sequence(value.node, site):
                raise Refused(f"`{_short(code)}` is a sequence of %-arguments")
            if not safe and (has_literal(folded) or _joins_literals(value.node)):
                raise Refused(f"`{_short(code)}` is itself built from SQL text; parameterize where it is built")
            if parts.uses.get(id(value.node), 1) > 1 and not simple(value.node):
                raise Refused(f"`{_short(code)}` is used twice; its parameters would evaluate it twice")
            span = quoted.get(id(cell))
            if position == QUOTED_VALUE:
                if span is None:
                    raise Refused("two values share one quoted SQL literal")
                open_index, close_index = span
                before = cells[open_index + 1 : cells.index(cell)]
                after = cells[cells.index(cell) + 1 : close_index]
                dropped.update(id(c) for c in (cells[open_index], *before, *after, cells[close_index]))
                code = quoted_parameter(
                    code,
                    "".join(c.char for c in before),
                    "".join(c.char for c in after),
                    cells[open_index].char,
                )
            elif span is not None:
                raise Refused("the SQL text could not be read")
            elif value.how == "plus":
                code = _unwrap_str(value.node, self.module) or code
            param = by_code.get(code) if paramstyle in ("numeric", "named", "pyformat") else None
            if param is None:
                number = len(params) + 1
                param = Param(code, _bind_name(value.node, {p.name for p in params}), number, value.node)
                params.append(param)
                by_code[code] = param
            text = style.replace("{n}", str(param.number)).replace("{name}", param.name)
            replacements[id(cell)] = [Cell(cell.segment, ch, placeholder=True) for ch in text]
        if not params:
            raise Refused("no value slot to parameterize")
        out: list[Cell] = []
        for cell in cells:
            if id(cell) in dropped:
                continue
            out.extend(replacements.get(id(cell), [cell]))
        check_text(out, paramstyle)
        if paramstyle in ("format", "pyformat"):
            out = [doubled for cell in out for doubled in percent_escaped(cell)]
        pieces, multiline = render(out, parts, self.module)
        return pieces, multiline, params


def _container(how: str, params: Sequence[Param]) -> str:
    codes = [p.code for p in params]
    if how == "tuple":
        return "(" + ", ".join(codes) + ("," if len(codes) == 1 else "") + ")"
    if how == "list":
        return "[" + ", ".join(codes) + "]"
    if how == "varargs":
        return ", ".join(codes)
    mapping = "{" + ", ".join(f'"{p.name}": {p.code}' for p in params) + "}"
    if how == "dict":
        return mapping
    if how == "values":
        return f"values={mapping}"
    return ".bindparams(" + ", ".join(f"{p.name}={p.code}" for p in params) + ")"


def _listed(node: cst.BaseExpression, module: cst.Module) -> tuple[str, str] | None:
    """(separator, items) of a list joined into SQL text: ``", ".join(ids)``, ``",".join(map(str, ids))``,
    ``", ".join(str(i) for i in ids)``, ``",".join(f"'{i}'" for i in ids)``; None for anything else."""
    if not (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "join"
        and isinstance(node.func.value, cst.SimpleString)
        and len(node.args) == 1
        and not node.args[0].star
    ):
        return None
    separator = node.func.value.evaluated_value
    if not isinstance(separator, str) or set(separator) - set(", "):
        return None  # a separator with SQL in it (`"', '"`): the items are not bare values
    items = node.args[0].value
    if isinstance(items, (cst.Name, cst.Attribute)):
        return separator, source_of(items, module)
    if (
        isinstance(items, cst.Call)
        and isinstance(items.func, cst.Name)
        and items.func.value == "map"
        and len(items.args) == 2
        and isinstance(items.args[0].value, cst.Name)
        and items.args[0].value.value in ("str", "int")
        and isinstance(items.args[1].value, (cst.Name, cst.Attribute))
    ):
        return separator, source_of(items.args[1].value, module)
    if isinstance(items, (cst.GeneratorExp, cst.ListComp)) and items.for_in.inner_for_in is None:
        comp = items.for_in
        if comp.ifs or not isinstance(comp.target, cst.Name) or not isinstance(comp.iter, (cst.Name, cst.Attribute)):
            return None
        if _item_itself(items.elt, comp.target.value):
            return separator, source_of(comp.iter, module)
    return None


def _joins_literals(node: cst.BaseExpression) -> bool:
    """``"', '".join(names)``: the separator quotes, so the result is several SQL literals, not a value."""
    if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "join"):
        return False
    separator = node.func.value
    text = separator.evaluated_value if isinstance(separator, cst.SimpleString) else None
    return isinstance(text, str) and any(q in text for q in "'\"")


def _item_itself(elt: cst.BaseExpression, name: str) -> bool:
    """``i``, ``str(i)``, ``int(i)``, ``f"{i}"``, ``f"'{i}'"``: the item, as text (quoted or not)."""
    if isinstance(elt, cst.Name):
        return elt.value == name
    if isinstance(elt, cst.Call) and isinstance(elt.func, cst.Name) and elt.func.value in ("str", "int"):
        return len(elt.args) == 1 and _item_itself(elt.args[0].value, name)
    if isinstance(elt, cst.FormattedString):
        fields = [p for p in elt.parts if isinstance(p, cst.FormattedStringExpression)]
        texts = "".join(p.value for p in elt.parts if isinstance(p, cst.FormattedStringText))
        return (
            len(fields) == 1
            and fields[0].format_spec is None
            and fields[0].conversion is None
            and _item_itself(fields[0].expression, name)
            and texts in ("", "''")
        )
    return False


def _short(code: str) -> str:
    return code if len(code) <= 40 and "\n" not in code else code.split("\n", 1)[0][:37] + "…"


def _unwrap_str(node: cst.BaseExpression, module: cst.Module) -> str | None:
    """``str(x)`` concatenated into an unquoted value slot: the value was meant as ``x`` itself."""
    if (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Name)
        and node.func.value == "str"
        and len(node.args) == 1
        and node.args[0].keyword is None
        and not node.args[0].star
    ):
        return source_of(node.args[0].value, module)
    return None


def _bind_name(node: cst.CSTNode, taken: set[str]) -> str:
    """A bind parameter name from the expression: ``user.email`` → email, ``form["q"]`` → q."""
    name = "p"
    current: cst.CSTNode = node
    while True:
        if isinstance(current, cst.Name):
            name = current.value
            break
        if isinstance(current, cst.Attribute):
            name = current.attr.value
            break
        if isinstance(current, cst.Subscript) and current.slice:
            index = current.slice[0].slice
            if isinstance(index, cst.Index) and isinstance(index.value, cst.SimpleString):
                text = str(index.value.evaluated_value)
                if re.fullmatch(r"[A-Za-z_]\w*", text):
                    name = text
                    break
            current = current.value
            continue
        if isinstance(current, cst.Call):
            current = current.args[0].value if current.args else current.func
            continue
        break
    name = name.lstrip("_") or "p"
    if keyword.iskeyword(name) or name in ("self", "cls"):
        name = name + "_"
    candidate, number = name, 2
    while candidate in taken:
        candidate, number = f"{name}{number}", number + 1
    return candidate


def _names(root: cst.CSTNode) -> set[str]:
    found: set[str] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Name):
            found.add(node.value)
        stack.extend(children(node))
    return found


def _empty_literal(node: cst.BaseExpression) -> bool:
    if isinstance(node, (cst.Tuple, cst.List)) and not node.elements:
        return True
    return isinstance(node, cst.Name) and node.value == "None"


def _name_count(root: cst.CSTNode, name: str) -> int:
    count = 0
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Name) and node.value == name:
            count += 1
        stack.extend(children(node))
    return count
