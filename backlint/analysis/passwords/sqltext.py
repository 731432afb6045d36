"""Which parameters of an INSERT/UPDATE statement's text write a password column."""

from __future__ import annotations

import re

from backlint.analysis.passwords.values import is_hash_name
from backlint.analysis.strings import PASSWORD, Lexicon, name_tokens

SQL_WRITE = re.compile(r"^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|REPLACE\s+INTO|UPDATE\s+\S+\s+SET)\b", re.IGNORECASE)
_SQL_INSERT_HEAD = re.compile(r"INTO\s+[\w.\"`\[\]]+\s*\((?P<cols>[^)]*)\)\s*VALUES\b", re.IGNORECASE)
_SQL_SET = re.compile(r"\bSET\s+(?P<body>.*?)(?:\bWHERE\b|\bRETURNING\b|$)", re.IGNORECASE | re.DOTALL)
_PLACEHOLDER = re.compile(r"\?|%s|\$\d+|:\w+|%\(\w+\)s")


_SQL_TABLE = re.compile(
    r"^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|REPLACE\s+INTO|UPDATE)\s+(?P<table>[\w.\"`\[\]]+)", re.IGNORECASE
)


def sql_table(sql: str) -> str | None:
    """The table an INSERT/UPDATE writes (its last dotted part, unquoted), or None."""
    match = _SQL_TABLE.match(sql)
    return match.group("table").strip('"`[]').rpartition(".")[2].strip('"`[]') if match else None


def short_sql(sql: str) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= 40 else text[:37] + "..."


def sql_password_slots(sql: str, lex: Lexicon) -> list[tuple[int | str, str]]:
    """For each password (or password-hash) column an INSERT/UPDATE writes: (its positional parameter
    index or bind name, the column)."""
    return [(slot, column) for slot, column in sql_write_slots(sql) if is_password_column(column, lex)]


def is_password_column(column: str, lex: Lexicon) -> bool:
    tokens = name_tokens(column)
    return lex.sensitivity_of(tokens) == PASSWORD or is_hash_name(tokens, lex)


def sql_write_slots(sql: str) -> list[tuple[int | str, str]]:
    """For each column an INSERT/UPDATE writes from one parameter: (its positional index or bind name, the column)."""
    pairs: list[tuple[str, str]] = []
    insert = _SQL_INSERT_HEAD.search(sql)
    if insert is not None:
        columns = [c.strip().strip('"`[]') for c in _split_top(insert.group("cols"))]
        values = _split_top(_parenthesized(sql, insert.end()))
        pairs = list(zip(columns, values))
    else:
        update = _SQL_SET.search(sql)
        if update is not None:
            for assignment in _split_top(update.group("body")):
                column, _, value = assignment.partition("=")
                pairs.append((column.strip().strip('"`[]').rpartition(".")[2], value))
    slots: list[tuple[int | str, str]] = []
    before = 0
    for column, value in pairs:
        marks = _PLACEHOLDER.findall(value)
        if len(marks) == 1:
            mark = marks[0]
            if mark.startswith("$"):
                slots.append((int(mark[1:]) - 1, column))
            elif mark.startswith(":") or mark.startswith("%("):
                slots.append((mark.strip(":%()s") if mark.startswith("%(") else mark[1:], column))
            else:
                slots.append((before, column))
        before += len(marks)
    return slots


def _split_top(text: str) -> list[str]:
    """Split on commas outside parentheses: ``?, NOW(), ?`` → three values."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        depth += (char == "(") - (char == ")")
        current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts]


def _parenthesized(text: str, start: int) -> str:
    """The text inside the parentheses that open at or after ``start``."""
    opening = text.find("(", start)
    if opening < 0:
        return ""
    depth = 0
    for index in range(opening, len(text)):
        depth += (text[index] == "(") - (text[index] == ")")
        if depth == 0:
            return text[opening + 1 : index]
    return text[opening + 1 :]
