"""The autofix's reading of the SQL argument: literal text, character by character, and the values
interpolated into it, with the source literal each piece comes from (backlint/analysis/sql/rewrite.py)."""

from __future__ import annotations

import ast
import dataclasses
import re
import string
from typing import Union

import libcst as cst

from backlint.analysis.sql.templates import PERCENT_SPEC


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


def decompose(expr: cst.BaseExpression, module: cst.Module) -> Parts:
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
        match = PERCENT_SPEC.match(chars)
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
    if order != sorted(order) and not all(simple(a) for a in positional):
        raise Refused("the .format() fields take their arguments out of order")


def source_of(node: cst.CSTNode, module: cst.Module) -> str:
    return module.code_for_node(node).strip()


def simple(node: cst.CSTNode) -> bool:
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
