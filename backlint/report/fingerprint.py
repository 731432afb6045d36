"""Fingerprints that keep an alert the same alert from one commit to the next.

``line_hashes`` reproduces GitHub's ``primaryLocationLineHash`` bit for bit, so the upload action
finds our value consistent and direct API uploads are deduplicated. ``content_key`` is backlint's
own key (``backlint/v1``): it survives moved lines, which a line hash does not.
"""

from __future__ import annotations

import ast
import hashlib
import itertools
import re
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import libcst as cst

# Port of the rolling hash in github/codeql-action src/fingerprints.ts
# (Copyright GitHub, Inc., MIT licence): the same constants, the same quirks.
_BLOCK_SIZE = 100
_MOD = 37
_MASK = (1 << 64) - 1
_FIRST_MOD = pow(_MOD, _BLOCK_SIZE, 1 << 64)
_TAB, _SPACE, _LF, _CR, _EOF = 9, 32, 10, 13, 65535
_UTF16 = "utf-16-le" if sys.byteorder == "little" else "utf-16-be"


def decode_like_github(data: bytes) -> str:
    """The file as the action's ``fs.createReadStream(path, "utf8")`` reads it: BOM kept, bad bytes → U+FFFD."""
    return data.decode("utf-8", errors="replace")


def line_hashes(text: str) -> dict[int, str]:
    """``{line: "hex:n"}``: a hash of the 100 non-blank UTF-16 code units from each line's start.

    ``n`` counts earlier lines of the file with the same hash, so repeated lines stay distinct.
    Spaces and tabs are skipped and ``\\r\\n``, ``\\r``, ``\\n`` all count as one newline.
    """
    window = [0] * _BLOCK_SIZE
    line_numbers = [-1] * _BLOCK_SIZE
    counts: dict[str, int] = {}
    out: dict[int, str] = {}
    value = index = line_number = 0
    line_start, prev_cr = True, False
    # The file, an end-of-file marker, then zeros that push the last lines' windows through.
    stream = itertools.chain(memoryview(text.encode(_UTF16)).cast("H"), (_EOF,), itertools.repeat(0, _BLOCK_SIZE))
    for unit in stream:
        if unit in (_SPACE, _TAB) or (prev_cr and unit == _LF):
            prev_cr = False
            continue
        prev_cr = unit == _CR
        if prev_cr:
            unit = _LF
        if line_numbers[index] != -1:
            digest = format(value, "x")
            counts[digest] = counts.get(digest, 0) + 1
            out[line_numbers[index]] = f"{digest}:{counts[digest]}"
            line_numbers[index] = -1
        if line_start:
            line_start = False
            line_number += 1
            line_numbers[index] = line_number
        if unit == _LF:
            line_start = True
        value = (_MOD * value + unit - _FIRST_MOD * window[index]) & _MASK
        window[index] = unit
        index = (index + 1) % _BLOCK_SIZE
    return out


def enclosing_scope(tree: ast.AST | None, line: int) -> str:
    """Dotted names of the classes and functions around ``line`` (``"Service.save"``), or ``""``."""
    names: list[str] = []
    body: Iterable[ast.AST] = getattr(tree, "body", ())
    while True:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.lineno <= line <= (
                node.end_lineno or node.lineno
            ):
                names.append(node.name)
                body = node.body
                break
            if isinstance(node, ast.stmt) and node.lineno <= line <= (node.end_lineno or node.lineno):
                body = _nested_statements(node)
                break
        else:
            return ".".join(names)


def signature_lines(tree: ast.AST | None, lines: list[str], line: int, end_line: int) -> tuple[int, int] | None:
    """The lines of the signature — decorators and ``def``/``class`` header — of the function or class
    a span is anchored on (it starts on the ``def`` line and reaches into the body: a project rule's
    finding on an endpoint), or None. Such a finding stays the same finding while its signature does:
    the body is what the rule looked at, not what the finding points to.
    """
    if tree is None:
        return None
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) or node.lineno != line:
            continue
        first_body = min((_first_line(s) for s in node.body), default=node.lineno)
        header_end = max(node.lineno, first_body - 1)
        while header_end > node.lineno:  # comment and blank lines before the body are not the signature
            text = lines[header_end - 1].strip() if header_end <= len(lines) else ""
            if text and not text.startswith("#"):
                break
            header_end -= 1
        if end_line <= header_end:
            return None  # the span is within the header: its statement identifies it
        return min((d.lineno for d in node.decorator_list), default=node.lineno), header_end
    return None


def _first_line(node: ast.stmt) -> int:
    decorators: list[ast.expr] = getattr(node, "decorator_list", None) or []
    return min([node.lineno, *(d.lineno for d in decorators)])


def _nested_statements(node: ast.stmt) -> list[ast.AST]:
    """Statements inside a compound statement: if/for/while/with/try bodies, handlers, match cases."""
    out: list[ast.AST] = []
    for field in ("body", "orelse", "finalbody", "handlers", "cases"):
        for child in getattr(node, field, None) or ():
            out.extend([child] if isinstance(child, ast.stmt) else getattr(child, "body", []))
    return out


def parse_quietly(text: str) -> ast.AST | None:
    """The module's AST, or None when it does not parse (a BL000 file has no scopes).

    A file the running interpreter's ``ast`` rejects but libcst parses (newer syntax: a 3.12
    f-string or type parameters on 3.11) gets a skeleton built from libcst's tree, so its findings'
    fingerprints do not depend on the interpreter that reported them.
    """
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        pass
    # libcst only here: a warm run, whose findings come from the cache, never imports it (test_cache.py).
    import libcst
    from libcst.metadata import MetadataWrapper, PositionProvider

    try:
        wrapper = MetadataWrapper(libcst.parse_module(text), unsafe_skip_copy=True)
        positions = wrapper.resolve(PositionProvider)
        return ast.Module(body=_skeleton(wrapper.module.body, positions), type_ignores=[])
    except (libcst.ParserSyntaxError, ValueError, RecursionError, MemoryError):
        return None


_NO_ARGUMENTS = ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[])


def _skeleton(statements: Sequence[cst.CSTNode], positions: Any) -> list[ast.stmt]:
    """The ``ast`` statements ``enclosing_scope`` and ``signature_lines`` read, from libcst's: functions
    and classes with their name, lines, decorators and body; a compound statement as one node whose
    body holds every clause's statements; a simple statement line as ``pass`` over its lines."""
    import libcst as cst

    from backlint.pipeline.positions import clauses

    out: list[ast.stmt] = []
    for statement in statements:
        where = positions[statement]
        node: ast.stmt
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            decorators: list[ast.expr] = [
                ast.Name(id="_", lineno=positions[d].start.line, col_offset=0) for d in statement.decorators
            ]
            body = _body(statement.body, positions)
            if isinstance(statement, cst.ClassDef):
                node = ast.ClassDef(
                    name=statement.name.value, bases=[], keywords=[], body=body, decorator_list=decorators
                )
            else:
                node = ast.FunctionDef(
                    name=statement.name.value, args=_NO_ARGUMENTS, body=body, decorator_list=decorators
                )
        elif isinstance(statement, cst.BaseCompoundStatement):
            nested = [s for clause in clauses(statement) for s in _body(getattr(clause, "body", None), positions)]
            node = ast.If(test=ast.Constant(True), body=nested, orelse=[])
        else:
            node = ast.Pass()
        node.lineno, node.end_lineno = where.start.line, where.end.line
        out.append(node)
    return out


def _body(body: Any, positions: Any) -> list[ast.stmt]:
    """A block's statements; a one-line body (``def f(): ...``) as its small statements."""
    import libcst as cst

    from backlint.pipeline.positions import block

    if isinstance(body, cst.SimpleStatementSuite):
        out: list[ast.stmt] = []
        for small in body.body:
            node = ast.Pass()
            node.lineno, node.end_lineno = positions[small].start.line, positions[small].end.line
            out.append(node)
        return out
    return _skeleton(block(body), positions)


_BLANKS = re.compile(r"\s+")


def content_key(rule_id: str, scope: str, flagged: str) -> str:
    """A hash of what was flagged and where it lives, blind to line numbers and indentation."""
    normalized = _BLANKS.sub(" ", flagged).strip()
    digest = hashlib.sha256(f"{rule_id}\0{scope}\0{normalized}".encode()).hexdigest()
    return digest[:16]


def flagged_text(source_lines: list[str], line: int, column: int, end_line: int, end_column: int) -> str:
    """The text under a span, cut from the finding's own (possibly masked) source lines."""
    if not source_lines:
        return ""
    if end_line <= line:
        return source_lines[0][column - 1 : max(column - 1, end_column - 1)]
    head = source_lines[0][column - 1 :]
    middle = source_lines[1 : end_line - line]
    tail = source_lines[end_line - line][: end_column - 1] if end_line - line < len(source_lines) else ""
    return "\n".join([head, *middle, tail])
