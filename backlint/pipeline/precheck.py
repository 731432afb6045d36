"""Pre-checks before libcst: the shapes of code its native parser cannot take, measured cheaply.

libcst's parser segfaults on an ``and`` chain of 8,000 operands or 10,000 ``elif`` branches, and
takes seconds and gigabytes on a conditional expression or an operator chain a few thousand lines
long (benchmarks/parser_limits.md). A file past one of ``LIMITS`` never reaches it: it gets a BL000
naming the limit. The limits are the measured thresholds with a margin (the lower of the largest
size parsed within 2.5 s of CPU time and half the size that crashed), far above real code.

Cost: ``screen`` bounds each measure from above with ``str.count`` and a few regexes over the whole
file; only a file whose bound passes a limit pays for the exact measure, one ``tokenize`` pass.
"""

from __future__ import annotations

import ast
import dataclasses
import io
import re
import tokenize
from typing import Callable

# Measure -> (limit, what it counts): thresholds from benchmarks/parser_limits.md with a margin.
LIMITS: dict[str, tuple[int, str]] = {
    "operators": (1000, "binary, boolean and comparison operators in one statement"),
    "conditionals": (500, "conditional expressions (`a if b else c`) in one statement"),
    "dots": (500, "attribute and method-call links (`.`) in one chain"),
    "unary_run": (1000, "consecutive unary operators (`-`, `+`, `~`, `not`)"),
    "elifs": (2000, "`elif` branches of one `if` statement"),
    "string_run": (1000, "adjacent string literals concatenated implicitly"),
    "statement_tokens": (100_000, "tokens in one statement (a literal's elements)"),
    "fstring_depth": (50, "f-strings nested in f-strings"),
}


@dataclasses.dataclass(frozen=True)
class Overrun:
    measure: str
    value: int
    limit: int

    def message(self) -> str:
        what = LIMITS[self.measure][1]
        return (
            f"cannot parse: {self.value:,} {what}, over backlint's limit of {self.limit:,} "
            "(libcst's parser would crash or exhaust memory)"
        )


_WORD_OPERATORS = re.compile(r"\b(?:and|or|in|is)\b")
_IF = re.compile(r"\bif\b")
_ELIF = re.compile(r"\belif\b")
_TOKENISH = re.compile(r"\w+|\S")


_NOT_BRACES = re.compile(r"[^{}]+")


def _brace_depth(text: str) -> int:
    """Deepest nesting of ``{`` anywhere (strings included): a bound for f-string nesting."""
    depth = deepest = 0
    for char in _NOT_BRACES.sub("", text):
        depth = depth + 1 if char == "{" else max(0, depth - 1)
        deepest = max(deepest, depth)
    return deepest


def _unary_bound(text: str, limit: int) -> int:
    found = re.search(r"(?:[-+~]|\bnot\b)(?:\s*(?:[-+~]|\bnot\b)){%d}" % limit, text)  # noqa: UP031
    return limit + 1 if found else 0


def screen(text: str) -> list[str]:
    """The measures whose cheap whole-file upper bound passes its limit ([]: the file is safe)."""
    bounds: dict[str, Callable[[], int]] = {
        "operators": lambda: sum(map(text.count, "+-*/%@<>&|^=!")) + len(_WORD_OPERATORS.findall(text)),
        "conditionals": lambda: len(_IF.findall(text)),
        "dots": lambda: text.count("."),
        "unary_run": lambda: _unary_bound(text, LIMITS["unary_run"][0]),
        "elifs": lambda: len(_ELIF.findall(text)),
        "string_run": lambda: (text.count('"') + text.count("'")) // 2,
        "statement_tokens": lambda: len(_TOKENISH.findall(text)) if len(text) > LIMITS["statement_tokens"][0] else 0,
        "fstring_depth": lambda: _brace_depth(text),
    }
    return [measure for measure, bound in bounds.items() if bound() > LIMITS[measure][0]]


_BINARY = {"+", "-", "*", "/", "//", "%", "**", "@", "<<", ">>", "&", "|", "^", "<", ">", "==", "!=", "<=", ">="}
_BINARY_WORDS = {"and", "or", "in", "is"}
_UNARY = {"-", "+", "~"}
_CLOSE = {")", "]", "}"}
_VALUE_WORDS = {"True", "False", "None"}
_KEYWORDS = {
    "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif", "else",
    "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal", "not",
    "or", "pass", "raise", "return", "try", "while", "with", "yield",
}  # fmt: skip
_FSTRING_START = getattr(tokenize, "FSTRING_START", None)  # Python 3.12+
_FSTRING_END = getattr(tokenize, "FSTRING_END", None)
_SKIP = {tokenize.NL, tokenize.COMMENT, tokenize.ENCODING}


def measure(text: str) -> dict[str, int]:
    """One tokenize pass: each measure's largest value in the file (raises tokenize.TokenError or
    SyntaxError on text Python cannot tokenize: the parser then says what is wrong)."""
    out = dict.fromkeys(LIMITS, 0)
    line = {"operators": 0, "dots": 0, "statement_tokens": 0, "conditionals": 0}
    # the links of the chain being read at each bracket depth: `a.b(x).c[0].d` is one chain of 3
    # links, while a statement's separate chains (a dict of `Scope.ADMIN: _("…")` rows) are not
    # one: libcst's parser suffers from the length of one chain (benchmarks/parser_limits.md)
    chains = [0]
    run = strings = fdepth = indent = 0
    previous: tokenize.TokenInfo | None = None  # previous significant token of the logical line
    elifs: dict[int, int] = {}
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        kind, string = token.type, token.string
        if kind == tokenize.INDENT:
            indent += 1
            continue
        if kind == tokenize.DEDENT:
            elifs.pop(indent, None)
            indent -= 1
            continue
        if kind in _SKIP:
            continue
        if kind in (tokenize.NEWLINE, tokenize.ENDMARKER):
            for key, value in line.items():
                out[key] = max(out[key], value)
                line[key] = 0
            previous, run, strings, chains = None, 0, 0, [0]
            continue
        if previous is None:  # the first token of a logical line
            if kind == tokenize.NAME and string == "elif":
                elifs[indent] = elifs.get(indent, 0) + 1
                out["elifs"] = max(out["elifs"], elifs[indent])
            elif not (kind == tokenize.NAME and string == "else"):
                elifs[indent] = 0
        line["statement_tokens"] += 1
        if fdepth == 0 and kind in (tokenize.STRING, _FSTRING_START):
            strings += 1
            out["string_run"] = max(out["string_run"], strings)
        elif fdepth == 0:
            strings = 0
        if kind == tokenize.STRING and _FSTRING_START is None and "f" in string[:3].lower():
            out["fstring_depth"] = max(out["fstring_depth"], _replacement_field_depth(string))
        if kind == _FSTRING_START:
            fdepth += 1
            out["fstring_depth"] = max(out["fstring_depth"], fdepth)
        elif kind == _FSTRING_END:
            fdepth -= 1
        after_value = previous is not None and (
            previous.type in (tokenize.NUMBER, tokenize.STRING)
            or (
                previous.type == tokenize.NAME and (previous.string not in _KEYWORDS or previous.string in _VALUE_WORDS)
            )
            or (previous.type == tokenize.OP and previous.string in _CLOSE)
            or previous.type == _FSTRING_END
        )
        if (kind == tokenize.OP and string in _UNARY and not after_value) or (
            kind == tokenize.NAME and string == "not" and not after_value
        ):
            run += 1
            out["unary_run"] = max(out["unary_run"], run)
        else:
            run = 0
            if (kind == tokenize.OP and string in _BINARY) or (kind == tokenize.NAME and string in _BINARY_WORDS):
                line["operators"] += 1
            elif kind == tokenize.NAME and string == "if" and previous is not None:
                line["conditionals"] += 1
        if kind == tokenize.OP and string in "([{":
            chains.append(0)
        elif kind == tokenize.OP and string in ")]}":
            if len(chains) > 1:
                chains.pop()
        elif kind == tokenize.OP and string == ".":
            chains[-1] += 1
            line["dots"] = max(line["dots"], chains[-1])
        elif not (kind == tokenize.NAME and previous is not None and previous.string == "."):
            chains[-1] = 0  # anything but the attribute's name ends the chain at this depth
        previous = token
    return out


def _replacement_field_depth(literal: str) -> int:
    """Before Python 3.12 an f-string is one STRING token: how deep its ``{…}`` fields nest."""
    depth = deepest = i = 0
    while i < len(literal):
        if literal[i : i + 2] in ("{{", "}}") and depth == 0:
            i += 2
            continue
        if literal[i] == "{":
            depth += 1
            deepest = max(deepest, depth)
        elif literal[i] == "}":
            depth = max(0, depth - 1)
        i += 1
    return deepest


UNTOKENIZABLE = Overrun("", 0, 0)  # past a bound, and not Python: the syntax check says why


def overrun(text: str) -> Overrun | None:
    """The first limit ``text`` passes, ``UNTOKENIZABLE``, or None."""
    flagged = screen(text)
    if not flagged:
        return None
    try:
        measured = measure(text)
    except (tokenize.TokenError, SyntaxError, RecursionError, MemoryError):
        return UNTOKENIZABLE
    for name in flagged:
        limit = LIMITS[name][0]
        if measured[name] > limit:
            return Overrun(name, measured[name], limit)
    return None


_BRACKETS = re.compile(r"[^()\[\]{}]+")
MAX_BRACKET_DEPTH = 200  # CPython's own tokenizer limit
MAX_EXPRESSION_DEPTH = 500
_LONG_LINE = re.compile(r"^.{8000,}$", re.MULTILINE)


def bracket_depth(text: str) -> int:
    """Deepest nesting of brackets anywhere (strings and comments included: an upper bound)."""
    depth = deepest = 0
    for char in _BRACKETS.sub("", text):
        depth = depth + 1 if char in "([{" else max(0, depth - 1)
        deepest = max(deepest, depth)
    return deepest


def has_long_line(text: str) -> bool:
    return bool(_LONG_LINE.search(text))


def too_complex(text: str) -> str | None:
    """Why the file must not reach libcst's native parser (a BL000 message), or None.

    The limits of ``LIMITS`` first; then brackets nested past CPython's limit and very long lines,
    which only pay for an ``ast`` check of how deep the expressions nest.
    """
    found = overrun(text)
    if found is UNTOKENIZABLE:
        return _syntax_message(text) or "cannot parse: the code cannot be tokenized"
    if found is not None:
        return found.message()
    if bracket_depth(text) <= MAX_BRACKET_DEPTH and not has_long_line(text):
        return None
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        return f"cannot parse: {exc.msg} (line {exc.lineno})"
    except (RecursionError, MemoryError, ValueError):
        return "cannot parse: the code is nested too deeply"
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, level = stack.pop()
        if level > MAX_EXPRESSION_DEPTH:
            return f"cannot analyse: expressions nested more than {MAX_EXPRESSION_DEPTH} levels deep"
        stack.extend((child, level + 1) for child in ast.iter_child_nodes(node))
    return None


def _syntax_message(text: str) -> str | None:
    try:
        ast.parse(text)
    except SyntaxError as exc:
        return f"cannot parse: {exc.msg} (line {exc.lineno})"
    except (RecursionError, MemoryError, ValueError):
        return "cannot parse: the code is nested too deeply"
    return None
