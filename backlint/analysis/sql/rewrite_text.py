"""The autofix's SQL text: where the values sit in it (quotes, comments, whole lists) and how the
rewritten text is written back as Python string literals, one per source literal."""

from __future__ import annotations

import re
from collections.abc import Sequence

import libcst as cst

from backlint.analysis.sql.rewrite_parts import Cell, Gap, Interpolation, Parts, Pieces, Refused, Segment, source_of
from backlint.analysis.sql.templates import Hole

_BIND = re.compile(r"(?<![:\w\\]):\w")


def template_of(cells: Sequence[Cell]) -> tuple[str | Hole, ...]:
    out: list[str | Hole] = []
    for cell in cells:
        if cell.value is not None:
            out.append(Hole(cell.value.node, False, "x"))
        elif out and isinstance(out[-1], str):
            out[-1] = out[-1] + cell.char
        else:
            out.append(cell.char)
    return tuple(out)


def quoted_spans(cells: Sequence[Cell], string_quotes: str = "'") -> tuple[dict[int, tuple[int, int]], set[int]]:
    """For each interpolation alone inside a '...' SQL literal (or "..." where the driver reads it as a
    string): (index of its opening, closing quote); and the interpolations inside SQL comments."""
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
            if quote is not None and quote in string_quotes:
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
                if quote in string_quotes and len(inside) == 1:
                    spans[id(inside[0])] = (opened, index)
                quote, inside = None, []
        elif char in "'\"":
            quote, opened, inside = char, index, []
        elif (char == "-" and following == "-") or (char == "/" and following == "*"):
            comment = char + following
            index += 1
        index += 1
    return spans, commented


def whole_list(cells: Sequence[Cell], index: int) -> bool:
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


def percent_escaped(cell: Cell) -> list[Cell]:
    """A literal ``%`` written as ``%%``: drivers with %-placeholders format the SQL once parameters are given."""
    if cell.char == "%" and not cell.placeholder:
        return [cell, Cell(cell.segment, "%")]
    return [cell]


_QUOTED_OR_COMMENT = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/", re.DOTALL)


def check_text(cells: Sequence[Cell], paramstyle: str) -> None:
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


def render(cells: Sequence[Cell], parts: Parts, module: cst.Module) -> tuple[Pieces, bool]:
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
    code = source_of(value.node, module)
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


def quoted_parameter(code: str, before: str, after: str, quote: str = "'") -> str:
    """``'%{q}%'`` → ``f"%{q}%"``: text inside the SQL quotes moves into the value."""
    if "\\" in before + after:
        raise Refused("the quoted SQL literal has backslashes, which databases read differently")
    before, after = before.replace(quote * 2, quote), after.replace(quote * 2, quote)
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
