"""Where a hole sits in SQL text (a tiny SQL lexer) and whether text starts as SQL (the anchored recognizer).

A hole is a *value* (``WHERE a = {v}``, ``LIMIT {n}``), a *quoted value* (``'{v}'``), an *identifier*
(a table, a column, a sort direction: ``ORDER BY {col}``) or a *fragment* of SQL syntax (a condition,
a clause: ``WHERE {cond}``). Only values can be parameters.
"""

from __future__ import annotations

import re

from backlint.analysis.sql.templates import Hole, Template

VALUE = "value"
QUOTED_VALUE = "quoted_value"
IDENTIFIER = "identifier"
FRAGMENT = "fragment"
# A bind parameter's name or number (``:{key}``, ``:tag_{i}``, ``%({name})s``, ``${n}``): SQL syntax the
# program composes, never data.
PLACEHOLDER = "placeholder"
# A value in a statement that takes no parameters (PRAGMA, SET, DDL, a column DEFAULT): no placeholder
# works there, so it is judged like SQL syntax.
LITERAL = "literal"
VALUE_SLOTS = (VALUE, QUOTED_VALUE)
SYNTAX_SLOTS = (IDENTIFIER, FRAGMENT, LITERAL)

_COMPARISONS = frozenset(
    {"=", "==", "<>", "!=", "<", ">", "<=", ">=", "like", "ilike", "in", "is", "between", "regexp", "glob", "similar"}
)
_VALUE_AFTER = frozenset(
    {"=", "==", "<>", "!=", "<", ">", "<=", ">=", "+", "-", "*", "/", "||", "like", "ilike", "in", "values", "limit",
     "offset", "between", "is", "then", "else", "escape", "interval", "regexp", "glob", "fetch", "top"}
)  # fmt: skip
_IDENTIFIER_AFTER = frozenset(
    {"from", "join", "into", "update", "table", "by", "as", "select", "distinct", "exists", "using", "truncate", "view",
     "index", "schema", "returning", "column", "references", "asc", "desc", "database", "sequence", "trigger", "user",
     "role", "extension", "to", "owner", "template", "tablespace", "savepoint", "pragma", "copy"}
)  # fmt: skip
_FRAGMENT_AFTER = frozenset({"where", "and", "or", "not", "having", "on", "when", "set", "case", "with"})
_CLAUSES = frozenset(
    {"select", "from", "where", "set", "values", "by", "having", "into", "update", "join", "on", "limit", "returning"}
)
_OPERATOR_CHARS = "=<>!+-*/|&^~"


_FIRST_TOKEN = re.compile(r"[A-Za-z_]\w*|[=<>!]+|\S")
_WORD = re.compile(r"\w+")
_NUMBER = re.compile(r"[\d.]+")
_PARAM = re.compile(r"\?|\$\d+|:\w+|%s|%\(\w+\)s")
_OPERATOR = re.compile(r"[=<>!+\-*/|&^~]+")


def _next_token(template: Template, index: int) -> str:
    """The first SQL token after the hole at ``index`` (lowercased), or "" if none is literal."""
    if index + 1 >= len(template) or not isinstance(template[index + 1], str):
        return ""
    text = str(template[index + 1]).lstrip()
    if not text:
        return ""
    match = _FIRST_TOKEN.match(text)
    return match.group(0).lower() if match else ""


def slot_positions(template: Template, string_quotes: str = "'") -> list[str]:
    """For each hole of ``template`` in order: value, quoted_value, identifier, fragment,
    placeholder or literal (see the module docstring)."""
    positions: list[str] = []
    tokens: list[str] = []
    quote: str | None = None
    comment: str | None = None
    clause = ""
    stack: list[str] = []
    statement = 0  # the index in ``tokens`` of the current statement's first token
    for index, part in enumerate(template):
        if isinstance(part, Hole):
            # Inside a comment (an optimizer hint ``/*+ FIRST_ROWS({n}) */``) no placeholder works.
            position = FRAGMENT if comment else _position(template, index, tokens, quote, clause, string_quotes)
            if position in VALUE_SLOTS and _takes_no_parameters(tokens, statement):
                position = LITERAL
            positions.append(position)
            tokens.append("<hole>")
            continue
        text, i = part, 0
        while i < len(text):
            char = text[i]
            if comment == "--":
                if char == "\n":
                    comment = None
                i += 1
                continue
            if comment == "/*":
                if text.startswith("*/", i):
                    comment = None
                    i += 2
                else:
                    i += 1
                continue
            if quote is not None:
                if quote == "[" and char == "]":
                    quote = None
                    tokens.append("<ident>")
                elif char == quote:
                    if text.startswith(quote * 2, i):
                        i += 2
                        continue
                    quote = None
                    tokens.append("<str>" if char in string_quotes else "<ident>")
                i += 1
                continue
            if char in "'\"`":
                quote = char
            elif char == "[" and (not tokens or tokens[-1] not in ("<ident>", "<str>", ")")):
                quote = "["
            elif text.startswith("--", i) or text.startswith("/*", i):
                comment = text[i : i + 2]
                i += 1
            elif char.isalpha() or char == "_":
                match = _WORD.match(text, i)
                assert match is not None
                word = match.group(0).lower()
                tokens.append(word)
                if word in _CLAUSES:
                    clause = word
                i += len(match.group(0))
                continue
            elif char.isdigit():
                match = _NUMBER.match(text, i)
                assert match is not None
                tokens.append("<num>")
                i += len(match.group(0))
                continue
            elif char == "(":
                prev = tokens[-1] if tokens else ""
                stack.append(clause)
                if prev in ("values", "in"):
                    clause = "values"
                elif len(tokens) >= 2 and tokens[-2] in ("into", "table"):
                    clause = "columns"
                tokens.append("(")
            elif char == ")":
                clause = stack.pop() if stack else clause
                tokens.append(")")
            elif char in "?$:%" and (match := _PARAM.match(text, i)):
                tokens.append("<param>")
                i += len(match.group(0))
                continue
            elif char in _OPERATOR_CHARS:
                match = _OPERATOR.match(text, i)
                assert match is not None
                tokens.append(match.group(0))
                i += len(match.group(0))
                continue
            elif char in ",.;":
                tokens.append(char)
                if char == ";":
                    statement = len(tokens)
            i += 1
    return positions


_BIND_NAME_BEFORE = re.compile(r"(?<![:\w]):\w*$|(?<![\w$])\$$|(?<![\w@])@\w*$")
# Statements that take no parameters, by their first word; and a column DEFAULT anywhere.
_NO_PARAMETERS = frozenset(
    {"pragma", "create", "alter", "drop", "truncate", "comment", "grant", "revoke", "vacuum", "reindex", "set",
     "reset", "show", "desc", "describe", "listen", "notify", "use"}
)  # fmt: skip


def _takes_no_parameters(tokens: list[str], statement: int) -> bool:
    """``statement``: the index of the current statement's first token (after the last ``;``)."""
    if tokens and tokens[-1] == "default":
        return True
    first = tokens[statement] if statement < len(tokens) else ""
    return first in _NO_PARAMETERS


def _position(
    template: Template, index: int, tokens: list[str], quote: str | None, clause: str, string_quotes: str = "'"
) -> str:
    if quote is not None and quote in string_quotes:
        return QUOTED_VALUE
    if quote is not None:
        return IDENTIFIER
    before = template[index - 1] if index > 0 and isinstance(template[index - 1], str) else ""
    after = template[index + 1] if index + 1 < len(template) and isinstance(template[index + 1], str) else ""
    if _BIND_NAME_BEFORE.search(str(before)) or (str(before).endswith("%(") and str(after).startswith(")s")):
        return PLACEHOLDER
    if str(before).endswith(".") or str(after).startswith("."):
        return IDENTIFIER
    if re.search(r"\w$", str(before)) or re.match(r"\w", str(after)):
        return IDENTIFIER  # part of a name: idx_{table}_{column}
    prev = tokens[-1] if tokens else ""
    following = _next_token(template, index)
    if prev in _VALUE_AFTER:
        return VALUE
    if prev == "(":
        if clause == "values":
            return VALUE
        if clause == "columns" or following in _COMPARISONS:
            return IDENTIFIER
        if len(tokens) >= 2 and re.fullmatch(r"[a-z_]\w*", tokens[-2]) and tokens[-2] not in _FRAGMENT_AFTER:
            return IDENTIFIER  # count({col}), lower({col})
        return FRAGMENT
    if prev == ",":
        if clause == "values":
            return VALUE
        if clause in ("select", "columns", "by", "from", "into", "returning") or following in _COMPARISONS:
            return IDENTIFIER
        return FRAGMENT
    if prev in _IDENTIFIER_AFTER:
        return IDENTIFIER
    if prev == "<hole>" and clause in ("by", "select"):
        return IDENTIFIER  # ORDER BY {column} {direction}
    if prev in _FRAGMENT_AFTER or prev in ("", "<hole>", ";"):
        return IDENTIFIER if following in _COMPARISONS else FRAGMENT
    if re.fullmatch(r"[a-z_]\w*", prev) and clause in ("by", "select"):
        return IDENTIFIER  # ORDER BY name {direction}
    return FRAGMENT


_SQL_START = re.compile(
    r"""^(WITH\s+(RECURSIVE\s+)?\w+\s*(\([^)]*\))?\s+AS\s*\(
     |SELECT\s[\s\S]*?\sFROM\s
     |INSERT\s+(OR\s+\w+\s+)?INTO\s
     |REPLACE\s+INTO\s
     |UPDATE\s+\S+\s+SET\s
     |DELETE\s+FROM\s
     |MERGE\s+INTO\s
     |(CREATE|ALTER|DROP|TRUNCATE)\s+(TEMP\w*\s+)?(TABLE|INDEX|VIEW|SCHEMA|DATABASE|SEQUENCE)\b
     |(GRANT|REVOKE|CALL|EXEC(UTE)?|COPY|PRAGMA|VACUUM|ANALYZE|EXPLAIN)\b)""",
    re.IGNORECASE | re.DOTALL | re.VERBOSE,
)
_LEADING_NOISE = re.compile(r"^(\s+|\(|--[^\n]*(\n|$)|/\*[\s\S]*?\*/)")
RECOGNIZER_KEYWORDS = (
    "select",
    "insert",
    "replace",
    "update",
    "delete",
    "merge",
    "create",
    "alter",
    "drop",
    "truncate",
    "with",
)


def looks_like_sql(text: str) -> bool:
    """The anchored recognizer: the text starts as a SQL statement (prose with SQL words does not)."""
    while True:
        match = _LEADING_NOISE.match(text)
        if not match or not match.group(0):
            break
        text = text[match.end() :]
    return bool(_SQL_START.match(text))
