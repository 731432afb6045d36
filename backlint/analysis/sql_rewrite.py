"""The BL101/BL102 autofix: SQL built from strings → a placeholder query plus parameters.

Rule-catalog §2 (BL101/BL102 "Autofix") and Appendix D. The SQL argument — an f-string, ``%`` or
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

import ast
import dataclasses
import keyword
import re
import string
from collections.abc import Sequence
from typing import TYPE_CHECKING, Union

import libcst as cst

from backlint.analysis.sql import (
    FRAGMENT,
    IDENTIFIER,
    QUOTED_VALUE,
    VALUE,
    Hole,
    Issue,
    Site,
    SqlAnalysis,
    _all_safe,
    _argument,
    _has_literal,
    slot_positions,
)
from backlint.core.rule import NodeEdit, PendingFix
from backlint.pipeline.walk import children

if TYPE_CHECKING:
    from backlint.analysis.sql import Binding, SinkRow

_PLACEHOLDERS = {"qmark": "?", "format": "%s", "numeric": "${n}", "named": ":{name}", "pyformat": "%({name})s"}
_PERCENT_SPEC = re.compile(
    r"%(?:\((?P<key>[^)]*)\))?(?P<flags>[#0\- +]*)(?P<width>\*|\d+)?"
    r"(?:\.(?:\*|\d+))?[hlL]?(?P<type>[diouxXeEfFgGcrsa%])"
)
_BIND = re.compile(r"(?<![:\w\\]):\w")


class Refused(Exception):
    """The fix is not offered; the message says why (shown in the finding)."""


@dataclasses.dataclass(eq=False)
class Interpolation:
    """A value put into the SQL text: its expression and how it was formatted."""

    node: cst.BaseExpression
    how: str  # fstring | percent | format | plus
    conversion: str | None = None  # s, r, a
    spec: str = ""  # a format spec, or a %-spec's flags/width/precision
    kind: str = "s"  # the %-type (d, s, ...), "s" otherwise
    spread: bool = False  # the whole right operand of `%`: a tuple there would spread over the fields


@dataclasses.dataclass(eq=False)
class Cell:
    """One character of the SQL text, or one interpolation, and the source literal it belongs to."""

    segment: int
    char: str = ""
    value: Interpolation | None = None
    placeholder: bool = False  # a character of a placeholder the fix wrote (never %-escaped)


@dataclasses.dataclass
class Segment:
    """A source string literal: its prefix letters and quotes are reused when it is written again."""

    prefix: str
    quote: str
    node: cst.CSTNode


@dataclasses.dataclass(frozen=True)
class Gap:
    between: tuple[cst.CSTNode, cst.CSTNode]
    breaks_line: bool


Pieces = tuple[Union[str, tuple[cst.CSTNode, cst.CSTNode]], ...]  # NodeEdit text: strings and source gaps


@dataclasses.dataclass
class Parts:
    cells: list[Cell]
    segments: list[Segment]
    # Adjacent literals of an implicit concatenation: the source between them is kept (comments, line breaks).
    gaps: dict[tuple[int, int], Gap]
    uses: dict[int, int]  # id(argument node) → fields using it (".format('{0} {0}', x)")


@dataclasses.dataclass
class Param:
    code: str  # the parameter's expression
    name: str  # bind name (named styles), else ""
    number: int  # 1-based position among distinct parameters
    node: cst.BaseExpression  # the interpolated expression it comes from


def sql_fix(issue: Issue, analysis: SqlAnalysis) -> tuple[PendingFix | None, str | None]:
    """The fix for a BL101/BL102 issue, or (None, why not). A sink that takes no parameters gets
    (None, None): its message already says so."""
    if issue.sink is None or issue.row is None:
        return None, None
    if not issue.row.params:
        return None, None
    try:
        return _Rewrite(issue, analysis).fix(), None
    except Refused as exc:
        return None, str(exc)


class _Rewrite:
    def __init__(self, issue: Issue, analysis: SqlAnalysis) -> None:
        assert issue.sink is not None and issue.row is not None
        self.issue = issue
        self.analysis = analysis
        self.call: cst.Call = issue.sink
        self.row: SinkRow = issue.row
        module = analysis.module_scope.node if analysis.module_scope is not None else None
        self.module = module if isinstance(module, cst.Module) else cst.Module([])
        self.site = next((s.site for s in analysis.sinks if s.call is self.call), None)

    # -- the whole fix ---------------------------------------------------------------------

    def fix(self) -> PendingFix:
        driver = self.issue.driver
        style = _PLACEHOLDERS.get(driver.paramstyle) if driver is not None else None
        if driver is None or driver.paramstyle == "unknown":
            raise Refused("the receiver's driver is not known, so neither is its placeholder style")
        if style is None:
            raise Refused(f"the placeholder style of {driver.label} depends on the configured database")
        passing = self._passing()
        if passing is None:
            raise Refused(f"no automatic fix for {self.issue.label}; pass the values as parameters by hand")
        if self.row.shape != "string":
            raise Refused(f"`{self.issue.method}()` takes SQL pieces; rewrite it with the ORM or params= by hand")
        argument = _argument(self.call, self.row)
        if argument is None or self.site is None:
            raise Refused("the SQL argument could not be located")
        keyword_sql = any(arg.value is argument and arg.keyword is not None for arg in self.call.args)
        existing = self._existing_params(argument, passing)
        built, site, binding = argument, self.site, None
        if isinstance(argument, cst.Name) and not argument.lpar:
            binding = self._single_use_binding(argument)
            built = binding.value  # type: ignore[assignment]
            site = Site(binding.scope, binding.point, binding.blocks)
        parts = _decompose(built, self.module)
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
        for row in self.analysis.context.knowledge.rows("sql-fix-params"):
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
        found = self.analysis._bindings(node.value, site)
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
        scope = self.site.scope
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
        if binding.point > self.site.point or self.site.blocks[: len(binding.blocks)] != binding.blocks:
            raise Refused(why)
        shared = [b for other in scope.bindings.values() for b in other if b.value is value and b is not binding]
        if shared or _name_count(scope.node, name.value) != 2:
            raise Refused(why)
        return binding

    # -- the SQL text --------------------------------------------------------------------

    def _rewrite(self, parts: Parts, site: Site, paramstyle: str, style: str) -> tuple[Pieces, bool, list[Param]]:
        cells = parts.cells
        holes = [cell for cell in cells if cell.value is not None]
        template = _template(cells)
        positions = slot_positions(template)
        if len(positions) != len(holes):
            raise Refused("the SQL text could not be read")
        quoted, commented = _quoted_spans(cells)
        params: list[Param] = []
        by_code: dict[str, Param] = {}
        replacements: dict[int, list[Cell]] = {}  # id(hole cell) → cells replacing it
        dropped: set[int] = set()  # ids of quote and moved-text cells
        unsafe_nodes = {id(h.node) for h in self.issue.holes}
        for cell, position in zip(holes, positions):
            value = cell.value
            assert value is not None
            folded = self.analysis.value(value.node, site)
            safe = id(value.node) not in unsafe_nodes and _all_safe(folded)
            code = _code(value.node, self.module)
            if position in (IDENTIFIER, FRAGMENT):
                if not safe:
                    what = "an identifier" if position == IDENTIFIER else "a piece of SQL syntax"
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
            if position == VALUE and _whole_list(cells, cells.index(cell)):
                raise Refused(f"`{_short(code)}` fills a whole IN/VALUES list; give each item its own placeholder")
            if value.spread and self._bound_to_sequence(value.node, site):
                raise Refused(f"`{_short(code)}` is a sequence of %-arguments")
            if not safe and _has_literal(folded):
                raise Refused(f"`{_short(code)}` is itself built from SQL text; parameterize where it is built")
            if parts.uses.get(id(value.node), 1) > 1 and not _simple(value.node):
                raise Refused(f"`{_short(code)}` is used twice; its parameters would evaluate it twice")
            span = quoted.get(id(cell))
            if position == QUOTED_VALUE:
                if span is None:
                    raise Refused("two values share one quoted SQL literal")
                open_index, close_index = span
                before = cells[open_index + 1 : cells.index(cell)]
                after = cells[cells.index(cell) + 1 : close_index]
                dropped.update(id(c) for c in (cells[open_index], *before, *after, cells[close_index]))
                code = _quoted_parameter(code, "".join(c.char for c in before), "".join(c.char for c in after))
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
        _check_text(out, paramstyle)
        if paramstyle in ("format", "pyformat"):
            out = [doubled for cell in out for doubled in _percent_escaped(cell)]
        pieces, multiline = _render(out, parts, self.module)
        return pieces, multiline, params


# ---------------------------------------------------------------------------------------------
# Taking the argument apart


def _decompose(expr: cst.BaseExpression, module: cst.Module) -> Parts:
    parts = Parts([], [], {}, {})
    _walk(expr, parts, module, top=True)
    if not any(cell.value is not None for cell in parts.cells):
        raise Refused("the SQL is not built in this call")
    return parts


def _walk(expr: cst.BaseExpression, parts: Parts, module: cst.Module, top: bool = False) -> None:
    if isinstance(expr, cst.SimpleString):
        _literal(expr, expr.prefix, expr.quote, _evaluate(expr), parts)
    elif isinstance(expr, cst.FormattedString):
        _fstring(expr, parts)
    elif isinstance(expr, cst.ConcatenatedString):
        _walk(expr.left, parts, module)
        left_end = len(parts.segments) - 1
        _walk(expr.right, parts, module)
        space = expr.whitespace_between
        breaks = isinstance(space, cst.ParenthesizedWhitespace) or "\n" in getattr(space, "value", "")
        pair = (parts.segments[left_end].node, parts.segments[left_end + 1].node)
        parts.gaps[(left_end, left_end + 1)] = Gap(pair, breaks)
    elif isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Add):
        for side in (expr.left, expr.right):
            if _is_text(side):
                _walk(side, parts, module)
            else:
                _interpolate(parts, Interpolation(side, "plus"))
    elif isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Modulo) and _is_literal(expr.left):
        _percent(expr, parts, module)
    elif (
        isinstance(expr, cst.Call)
        and isinstance(expr.func, cst.Attribute)
        and expr.func.attr.value == "format"
        and _is_literal(expr.func.value)
    ):
        _format(expr, parts, module)
    else:
        raise Refused("the SQL is not built in this call" if top else "the SQL is built in more than one way")


def _is_text(expr: cst.BaseExpression) -> bool:
    """An operand of a ``+`` chain that is itself text to take apart (not a value joined in)."""
    if isinstance(expr, (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString)):
        return True
    if isinstance(expr, cst.BinaryOperation):
        return isinstance(expr.operator, cst.Add) or (isinstance(expr.operator, cst.Modulo) and _is_literal(expr.left))
    return (
        isinstance(expr, cst.Call)
        and isinstance(expr.func, cst.Attribute)
        and expr.func.attr.value == "format"
        and _is_literal(expr.func.value)
    )


def _is_literal(expr: cst.BaseExpression) -> bool:
    """A plain string literal (implicit concatenations included), no f-string."""
    if isinstance(expr, cst.ConcatenatedString):
        return _is_literal(expr.left) and _is_literal(expr.right)
    return isinstance(expr, cst.SimpleString)


def _evaluate(node: cst.SimpleString) -> str:
    if "b" in node.prefix.lower():
        raise Refused("the SQL is a bytes literal")
    value = node.evaluated_value
    if not isinstance(value, str):
        raise Refused("the SQL is a bytes literal")
    return value


def _literal(node: cst.CSTNode, prefix: str, quote: str, text: str, parts: Parts) -> int:
    index = len(parts.segments)
    parts.segments.append(Segment(prefix.lower().replace("f", ""), quote, node))
    parts.cells.extend(Cell(index, ch) for ch in text)
    return index


def _interpolate(parts: Parts, value: Interpolation) -> None:
    segment = max(0, len(parts.segments) - 1)
    parts.cells.append(Cell(segment, value=value))
    parts.uses[id(value.node)] = parts.uses.get(id(value.node), 0) + 1


def _fstring(node: cst.FormattedString, parts: Parts) -> None:
    index = _literal(node, node.prefix, node.quote, "", parts)
    raw = "r" in node.prefix.lower()
    for part in node.parts:
        if isinstance(part, cst.FormattedStringText):
            parts.cells.extend(Cell(index, ch) for ch in _fstring_text(part.value, raw, node.quote))
            continue
        assert isinstance(part, cst.FormattedStringExpression)
        if part.equal is not None:
            raise Refused("a self-documenting `{x=}` field is in the SQL")
        spec = ""
        for piece in part.format_spec or ():
            if not isinstance(piece, cst.FormattedStringText):
                raise Refused("a format spec with a nested field is in the SQL")
            spec += piece.value
        value = Interpolation(part.expression, "fstring", part.conversion, spec)
        parts.cells.append(Cell(index, value=value))
        parts.uses[id(part.expression)] = parts.uses.get(id(part.expression), 0) + 1


def _fstring_text(value: str, raw: bool, quote: str) -> str:
    """A text part of an f-string as Python evaluates it (escapes, ``{{``)."""
    text = value.replace("{{", "{").replace("}}", "}")
    if raw or "\\" not in text:
        return text
    try:
        evaluated = ast.literal_eval(quote + text + "x" + quote)
    except (SyntaxError, ValueError) as exc:
        raise Refused("the SQL literal could not be read") from exc
    return str(evaluated)[:-1]


def _percent(node: cst.BinaryOperation, parts: Parts, module: cst.Module) -> None:
    right = node.right
    positional: list[cst.BaseExpression]
    keyed: dict[str, cst.BaseExpression] = {}
    if isinstance(right, cst.Tuple):
        if any(isinstance(e, cst.StarredElement) for e in right.elements):
            raise Refused("the %-arguments are unpacked from a sequence")
        positional = [e.value for e in right.elements]
    elif isinstance(right, cst.Dict):
        positional = []
        for element in right.elements:
            name = element.key if isinstance(element, cst.DictElement) else None
            if not isinstance(name, cst.SimpleString):
                raise Refused("the %-arguments are not a literal mapping")
            keyed[str(name.evaluated_value)] = element.value
    else:
        positional = [right]
    start = len(parts.cells)
    _walk(node.left, parts, module)
    literal = parts.cells[start:]
    del parts.cells[start:]
    counter = 0
    index = 0
    while index < len(literal):
        cell = literal[index]
        if cell.char != "%":
            parts.cells.append(cell)
            index += 1
            continue
        chars = "".join(c.char for c in literal[index : index + 40])
        match = _PERCENT_SPEC.match(chars)
        if match is None or any(c.segment != cell.segment for c in literal[index : index + len(match.group(0))]):
            raise Refused("a %-format spec could not be read")
        index += len(match.group(0))
        kind = match.group("type")
        if kind == "%":
            parts.cells.append(Cell(cell.segment, "%"))
            continue
        key = match.group("key")
        if key is not None:
            argument = keyed.get(key)
        else:
            argument = positional[counter] if counter < len(positional) else None
            counter += 1
        if argument is None or match.group("width") == "*":
            raise Refused("the %-arguments do not match the format")
        spec = match.group(0)[1:-1] if key is None else match.group(0)[len(key) + 3 : -1]
        value = Interpolation(argument, "percent", None, spec, kind, spread=argument is right)
        parts.cells.append(Cell(cell.segment, value=value))
        parts.uses[id(argument)] = parts.uses.get(id(argument), 0) + 1
    if counter != len(positional) and not keyed:
        raise Refused("the %-arguments do not match the format")


def _format(node: cst.Call, parts: Parts, module: cst.Module) -> None:
    positional = [a.value for a in node.args if a.keyword is None]
    keyed = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
    if any(a.star for a in node.args):
        raise Refused("the .format() arguments are unpacked")
    receiver = node.func.value  # type: ignore[attr-defined]
    start = len(parts.cells)
    _walk(receiver, parts, module)
    literal = parts.cells[start:]
    del parts.cells[start:]
    by_segment: dict[int, list[Cell]] = {}
    for cell in literal:
        by_segment.setdefault(cell.segment, []).append(cell)
    counter = 0
    order: list[int] = []
    for segment, cells in by_segment.items():
        text = "".join(c.char for c in cells)
        try:
            fields = list(string.Formatter().parse(text))
        except ValueError as exc:
            raise Refused("a .format() field could not be read") from exc
        for text_part, field, spec, conversion in fields:
            parts.cells.extend(Cell(segment, ch) for ch in text_part)
            if field is None:
                continue
            if field == "":
                position = counter
                counter += 1
                argument = positional[position] if position < len(positional) else None
                order.append(position)
            elif field.isdigit():
                argument = positional[int(field)] if int(field) < len(positional) else None
                order.append(int(field))
            elif re.fullmatch(r"[A-Za-z_]\w*", field):
                argument = keyed.get(field)
            else:
                raise Refused("a .format() field reads an attribute or an item")
            if argument is None:
                raise Refused("the .format() arguments do not match the fields")
            if spec and "{" in spec:
                raise Refused("a format spec with a nested field is in the SQL")
            value = Interpolation(argument, "format", conversion, spec or "")
            parts.cells.append(Cell(segment, value=value))
            parts.uses[id(argument)] = parts.uses.get(id(argument), 0) + 1
    if order != sorted(order) and not all(_simple(a) for a in positional):
        raise Refused("the .format() fields take their arguments out of order")


# ---------------------------------------------------------------------------------------------
# Reading the SQL text


def _template(cells: Sequence[Cell]) -> tuple[str | Hole, ...]:
    out: list[str | Hole] = []
    for cell in cells:
        if cell.value is not None:
            out.append(Hole(cell.value.node, False, "x"))
        elif out and isinstance(out[-1], str):
            out[-1] = out[-1] + cell.char
        else:
            out.append(cell.char)
    return tuple(out)


def _quoted_spans(cells: Sequence[Cell]) -> tuple[dict[int, tuple[int, int]], set[int]]:
    """For each interpolation alone inside a '...' SQL literal: (index of its opening, closing quote);
    and the interpolations inside SQL comments."""
    spans: dict[int, tuple[int, int]] = {}
    commented: set[int] = set()
    quote: str | None = None
    opened = -1
    inside: list[Cell] = []
    comment: str | None = None
    index = 0
    while index < len(cells):
        cell = cells[index]
        char = cell.char
        following = cells[index + 1].char if index + 1 < len(cells) else ""
        if cell.value is not None:
            if quote == "'":
                inside.append(cell)
            if comment is not None:
                commented.add(id(cell))
            index += 1
            continue
        if comment == "--":
            comment = None if char == "\n" else comment
        elif comment == "/*":
            if char == "*" and following == "/":
                comment = None
                index += 1
        elif quote is not None:
            if char == quote and following == quote:
                index += 1
            elif char == quote:
                if quote == "'" and len(inside) == 1:
                    spans[id(inside[0])] = (opened, index)
                quote, inside = None, []
        elif char in "'\"":
            quote, opened, inside = char, index, []
        elif (char == "-" and following == "-") or (char == "/" and following == "*"):
            comment = char + following
            index += 1
        index += 1
    return spans, commented


def _whole_list(cells: Sequence[Cell], index: int) -> bool:
    """The interpolation is all of an ``IN (...)`` or ``VALUES (...)`` list: it may hold several items."""
    before, after = [], []
    for cell in reversed(cells[:index]):
        if cell.value is not None:
            break
        before.append(cell.char)
    for cell in cells[index + 1 :]:
        if cell.value is not None:
            break
        after.append(cell.char)
    head, tail = "".join(reversed(before)), "".join(after)
    if re.search(r"\bin\s*$", head, re.IGNORECASE):
        return True
    return bool(re.search(r"\b(in|values)\s*\(\s*$", head, re.IGNORECASE) and re.match(r"\s*\)", tail))


def _percent_escaped(cell: Cell) -> list[Cell]:
    """A literal ``%`` written as ``%%``: drivers with %-placeholders format the SQL once parameters are given."""
    if cell.char == "%" and not cell.placeholder:
        return [cell, Cell(cell.segment, "%")]
    return [cell]


_QUOTED_OR_COMMENT = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/", re.DOTALL)


def _check_text(cells: Sequence[Cell], paramstyle: str) -> None:
    """Placeholders the driver would also find in the literal text (outside SQL strings and comments)."""
    text = "".join("\0" if c.placeholder else c.char for c in cells if c.value is None)
    bare = _QUOTED_OR_COMMENT.sub("", text)
    if paramstyle == "qmark" and "?" in bare:
        raise Refused("the SQL text has a `?`, which the driver would read as a placeholder")
    if paramstyle == "numeric" and re.search(r"\$\d", bare):
        raise Refused("the SQL text already has `$n` placeholders; merge the new parameters by hand")
    if paramstyle == "named":
        if _BIND.search(text):
            raise Refused("the SQL text has a `:word`, which would be read as a bind parameter")
        full = "".join(c.char for c in cells if c.value is None)
        for match in re.finditer(r":\w+", full):
            if match.end() < len(full) and full[match.end()] == ":":
                raise Refused("a placeholder would be followed by `::`; add the parameter by hand")


# ---------------------------------------------------------------------------------------------
# Writing it back


def _render(cells: Sequence[Cell], parts: Parts, module: cst.Module) -> tuple[Pieces, bool]:
    """The new SQL expression: one literal per remaining source literal, joined as in the source;
    and whether a kept gap breaks the line."""
    order: list[int] = []
    groups: dict[int, list[Cell]] = {}
    for cell in cells:
        if cell.segment not in groups:
            order.append(cell.segment)
            groups[cell.segment] = []
        groups[cell.segment].append(cell)
    merged: list[tuple[int, list[Cell], Gap | None]] = []  # (style segment, cells, gap before)
    previous: int | None = None
    for segment in order:
        gap = parts.gaps.get((previous, segment)) if previous is not None else None
        if previous is not None and gap is None:
            merged[-1][1].extend(groups[segment])
        else:
            merged.append((segment, list(groups[segment]), gap))
        previous = segment
    pieces: list[str | tuple[cst.CSTNode, cst.CSTNode]] = []
    for segment, group, gap in merged:
        if gap is not None:
            pieces.append(gap.between)
        pieces.append(_string(parts.segments[segment], group, module))
    return tuple(pieces), any(gap is not None and gap.breaks_line for _, _, gap in merged)


def _string(segment: Segment, cells: Sequence[Cell], module: cst.Module) -> str:
    fields = [c for c in cells if c.value is not None]
    quote = segment.quote
    codes = [_field(c.value, module) for c in fields if c.value is not None]
    if any(quote[0] in code for code in codes):
        quote = quote.replace(quote[0], "'" if quote[0] == '"' else '"')
        if any(quote[0] in code for code in codes):
            raise Refused("a value kept in the SQL cannot be written into an f-string")
    text = "".join(c.char for c in cells if c.value is None)
    raw = "r" in segment.prefix and _raw_ok(text, quote)
    prefix = ("r" if raw else "") + ("f" if fields else "")
    if not fields and "u" in segment.prefix and not raw:
        prefix = "u"
    out: list[str] = []
    field_codes = iter(codes)
    for cell in cells:
        if cell.value is not None:
            out.append(next(field_codes))
        else:
            out.append(_escape(cell.char, quote, raw, bool(fields), module.default_newline))
    return prefix + quote + "".join(out) + quote


def _field(value: Interpolation | None, module: cst.Module) -> str:
    """A vetted interpolation kept in the text, as an f-string field with the same formatting."""
    assert value is not None
    code = _code(value.node, module)
    if "\\" in code or "\n" in code or "#" in code:
        raise Refused("a value kept in the SQL cannot be written into an f-string")
    if re.search(r"[:!={}]", code) or code.startswith("{"):
        code = f"({code})"
    if value.how == "percent":
        if value.kind not in "sra" or value.spec:
            raise Refused(f"`%{value.spec}{value.kind}` would have to become an f-string field")
        return "{" + code + "!" + value.kind + "}"
    conversion = f"!{value.conversion}" if value.conversion else ""
    spec = f":{value.spec}" if value.spec else ""
    return "{" + code + conversion + spec + "}"


def _raw_ok(text: str, quote: str) -> bool:
    if quote[0] in text or text.endswith("\\") or "\r" in text:
        return False
    return "\n" not in text or len(quote) == 3


_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(char: str, quote: str, raw: bool, fstring: bool, newline: str) -> str:
    if fstring and char in "{}":
        return char * 2
    if raw:
        return newline if char == "\n" else char
    if char == quote[0]:
        return "\\" + char
    if char == "\n" and len(quote) == 3:
        return newline
    if char in _ESCAPES:
        return _ESCAPES[char]
    if ord(char) < 0x20 or ord(char) == 0x7F:
        return f"\\x{ord(char):02x}"
    return char


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


def _quoted_parameter(code: str, before: str, after: str) -> str:
    """``'%{q}%'`` → ``f"%{q}%"``: text inside the SQL quotes moves into the value."""
    if "\\" in before + after:
        raise Refused("the quoted SQL literal has backslashes, which databases read differently")
    before, after = before.replace("''", "'"), after.replace("''", "'")
    if not before and not after:
        return code
    for quote in ('"', "'"):
        if quote not in code + before + after and not re.search(r"[\\\n#]", code):
            inner = f"({code})" if re.search(r"[:!={}]", code) else code
            return f"f{quote}{_plain(_brace(before))}{{{inner}}}{_plain(_brace(after))}{quote}"
    return repr(_brace(before) + "{}" + _brace(after)) + f".format({code})"


def _brace(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def _plain(text: str) -> str:
    return "".join(_ESCAPES.get(ch, ch) for ch in text)


# ---------------------------------------------------------------------------------------------
# small helpers


def _code(node: cst.CSTNode, module: cst.Module) -> str:
    return module.code_for_node(node).strip()


def _short(code: str) -> str:
    return code if len(code) <= 40 and "\n" not in code else code.split("\n", 1)[0][:37] + "…"


def _simple(node: cst.CSTNode) -> bool:
    """An expression that evaluates the same, without side effects, however often it is evaluated."""
    while isinstance(node, (cst.Attribute, cst.Subscript)):
        if isinstance(node, cst.Subscript):
            if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
                return False
            index = node.slice[0].slice.value
            if not isinstance(index, (cst.SimpleString, cst.Integer, cst.Name)):
                return False
        node = node.value
    return isinstance(node, (cst.Name, cst.SimpleString, cst.Integer, cst.Float))


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
        return _code(node.args[0].value, module)
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
