"""Pre-checks before libcst: the shapes of code its native parser cannot take, measured cheaply.

libcst's parser segfaults on an ``and`` chain of 8,000 operands or 10,000 ``elif`` branches, and
takes seconds and gigabytes on a conditional expression or an operator chain a few thousand lines
long (benchmarks/parser_limits.md). A file past one of ``LIMITS`` never reaches it: it gets a BL000
naming the limit. The limits are the measured thresholds with a margin (the lower of the largest
size parsed within 2.5 s of CPU time and half the size that crashed), far above real code.

Cost: ``screen`` bounds each measure from above with ``str.count`` and a few regexes over the whole
file; for a file whose bound passes a limit, ``statement_bounds`` bounds the per-statement measures
from a scan of its comments, strings, brackets and newlines; only a file still past a limit pays for
the exact measure, one ``tokenize`` pass (pure Python before 3.12: 1 s over Django's sources when
every screened file took it, 0.3 s for the pre-checks now). A file with a syntax error that the
statement scan clears goes on to the parser, whose syntax check names it as for any other file.
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


# \b(?:and|or|in|is)\b, \bif\b, \belif\b, each led by a character (class) so that the regex
# engine skips ahead to it instead of trying every position: 2.5 times faster.
_WORD_OPERATORS = re.compile(r"[aoi](?<!\w[aoi])(?:(?<=a)nd|(?<=o)r|(?<=i)[ns])\b")
_IF = re.compile(r"i(?<!\wi)f\b")
_ELIF = re.compile(r"e(?<!\we)lif\b")
_TOKENISH = re.compile(r"\w+|\S")


def _only(text: str, keep: str, table: bytes = b"") -> bytes:
    """The characters of ``keep`` (ASCII) in ``text``, in order, as bytes (mapped by ``table``).

    ``bytes.translate`` deletes in one C loop over a 256-entry table, five times cheaper than a
    regex substitution of the other characters; UTF-8 encodes every other character with bytes
    over 127 only, so none of them is kept.
    """
    data = text.encode("utf-8", "surrogatepass")
    return data.translate(table or None, _DELETE_BUT[keep])


_OPERATOR_CHARS = "+-*/%@<>&|^"
_DELETE_BUT = {keep: bytes(c for c in range(256) if chr(c) not in keep) for keep in ("{}", "()[]{}", _OPERATOR_CHARS)}


def _brace_depth(text: str) -> int:
    """Deepest nesting of ``{`` anywhere (strings included): a bound for f-string nesting."""
    return _nesting_bound(_only(text, "{}"), LIMITS["fstring_depth"][0])


def _nesting_bound(pairs: bytes, limit: int) -> int:
    """A bound for how deep the ``{``/``}`` of ``pairs`` (only those two characters) nest, exact up
    to ``limit``: each pass of ``bytes.replace`` (in C) removes the innermost pairs, so the passes
    count the nesting of the matched pairs; the openers left unmatched are added."""
    passes = 0
    while b"{}" in pairs and passes <= limit:
        pairs = pairs.replace(b"{}", b"")
        passes += 1
    return passes + pairs.count(b"{")


def _unary_bound(text: str, limit: int) -> int:
    if sum(map(text.count, ("-", "+", "~", "not"))) <= limit:
        return 0  # too few unary operators in the whole file for one run past the limit
    found = re.search(r"(?:[-+~]|\bnot\b)(?:\s*(?:[-+~]|\bnot\b)){%d}" % limit, text)  # noqa: UP031
    return limit + 1 if found else 0


def _operator_chars(text: str) -> int:
    """A bound for the binary operators: each one holds one of these characters or is ``==``/``!=``."""
    return len(_only(text, _OPERATOR_CHARS)) + text.count("==") + text.count("!=")


def _operators_bound(text: str, limit: int) -> int:
    chars = _operator_chars(text)
    return chars if chars > limit else chars + _words(text, _WORD_OPERATORS, ("and", "or", "in", "is"), limit - chars)


def _words(text: str, pattern: re.Pattern[str], words: tuple[str, ...], limit: int) -> int:
    """``pattern``'s whole-word matches, or their substring count when that stays within ``limit``
    (``str.count`` runs in C; a ``\b`` regex scans every position)."""
    found = sum(map(text.count, words))
    return found if found <= limit else len(pattern.findall(text))


def screen(text: str) -> list[str]:
    """The measures whose cheap whole-file upper bound passes its limit ([]: the file is safe)."""
    limit = {measure: value for measure, (value, _) in LIMITS.items()}
    bounds: dict[str, Callable[[], int]] = {
        "operators": lambda: _operators_bound(text, limit["operators"]),
        "conditionals": lambda: _words(text, _IF, ("if",), limit["conditionals"]),
        "dots": lambda: text.count("."),
        "unary_run": lambda: _unary_bound(text, limit["unary_run"]),
        "elifs": lambda: _words(text, _ELIF, ("elif",), limit["elifs"]),
        "string_run": lambda: (text.count('"') + text.count("'")) // 2,
        "statement_tokens": lambda: len(_TOKENISH.findall(text)) if len(text) > limit["statement_tokens"] else 0,
        "fstring_depth": lambda: _brace_depth(text),
    }
    return [measure for measure, bound in bounds.items() if bound() > limit[measure]]


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


# What the statement scan reads (``statement_bounds``): comments, string starts, brackets,
# backslash continuations and newlines; then the end of each string (escapes skipped).
_LEXEMES = re.compile(r"""(#[^\n]*)|('''|\"\"\"|'|")|([(\[{])|([)\]}])|(\\\r?\n)|(\n)""")
_STRING_ENDS = {
    "'''": re.compile(r"[^'\\]*(?:(?:\\.|'(?!''))[^'\\]*)*'''", re.DOTALL),
    '"""': re.compile(r'[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*"""', re.DOTALL),
    "'": re.compile(r"[^'\\\n]*(?:\\.[^'\\\n]*)*'", re.DOTALL),
    '"': re.compile(r'[^"\\\n]*(?:\\.[^"\\\n]*)*"', re.DOTALL),
}
# The measures one statement's text bounds.
_PER_STATEMENT = ("operators", "conditionals", "dots", "statement_tokens", "string_run")


def statement_bounds(text: str, measures: list[str]) -> dict[str, int] | None:
    """Upper bounds of ``measures`` (those of ``_PER_STATEMENT``) over the file's statements, from
    a scan that reads only comments, strings, brackets and newlines: its statements are the logical
    lines ``tokenize`` makes, or longer. None where the scan does not apply: Python 3.12+ (there
    ``tokenize`` runs in C, and reads inside f-strings), or text it cannot follow (an unclosed string).

    A statement's code (its text without strings and comments) of n characters and s strings holds
    at most n operators or links and n + s tokens: only the statements longer than the smallest
    limit are counted, with ``str.count`` over their code.
    """
    if _FSTRING_START is not None:
        return None
    wanted = [m for m in measures if m in _PER_STATEMENT]
    out = dict.fromkeys(wanted, 0)
    shortest = min((LIMITS[m][0] for m in wanted), default=0)
    depth = start = position = 0
    skipped: list[tuple[int, int]] = []  # the strings and comments of the statement
    while True:
        lexeme = _LEXEMES.search(text, position)
        if lexeme is None:
            end = len(text)
        else:
            kind, position = lexeme.lastindex, lexeme.end()
            if kind == 1:
                skipped.append((lexeme.start(), position))
            elif kind == 2:
                closing = _STRING_ENDS[lexeme.group(2)].match(text, position)
                if closing is None:
                    return None
                position = closing.end()
                skipped.append((lexeme.start(), position))
            elif kind == 3:
                depth += 1
            elif kind == 4:
                depth = max(0, depth - 1)  # tokenize's count may go below 0: its lines end no later
            if kind != 6 or depth:
                continue
            end = position
        if end - start - sum(b - a for a, b in skipped) + len(skipped) > shortest:
            _count(text, start, end, skipped, out)
        if lexeme is None:
            return out
        start = end
        skipped = []


def _count(text: str, start: int, end: int, skipped: list[tuple[int, int]], out: dict[str, int]) -> None:
    """Raises ``out``'s bounds to those of the statement ``text[start:end]``."""
    edges = [start, *(edge for span in skipped for edge in span), end]
    code = "".join(text[edges[i] : edges[i + 1]] for i in range(0, len(edges), 2))
    counts: dict[str, Callable[[], int]] = {
        "operators": lambda: _operator_chars(code) + sum(map(code.count, ("and", "or", "in", "is"))),
        "conditionals": lambda: code.count("if"),
        "dots": lambda: code.count("."),
        "statement_tokens": lambda: len(code) + len(skipped),
        "string_run": lambda: len(skipped),
    }
    for measure in out:
        out[measure] = max(out[measure], counts[measure]())


UNTOKENIZABLE = Overrun("", 0, 0)  # past a bound, and not Python: the syntax check says why


def overrun(text: str) -> Overrun | None:
    """The first limit ``text`` passes, ``UNTOKENIZABLE``, or None."""
    flagged = screen(text)
    if flagged and set(flagged) <= set(_PER_STATEMENT):  # bounded per statement before tokenizing
        bounds = statement_bounds(text, flagged)
        if bounds is not None:
            flagged = [measure for measure in flagged if bounds[measure] > LIMITS[measure][0]]
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


MAX_BRACKET_DEPTH = 200  # CPython's own tokenizer limit
MAX_EXPRESSION_DEPTH = 500
_LONG_LINE = re.compile(r"^.{8000,}$", re.MULTILINE)


def bracket_depth(text: str) -> int:
    """Deepest nesting of brackets anywhere (strings and comments included: an upper bound, exact
    up to MAX_BRACKET_DEPTH; see _nesting_bound). The last text's answer is kept: the per-file stage
    asks it twice of each file (whether to isolate it, then whether to parse it)."""
    global _last_depth
    if _last_depth[0] is not text:
        _last_depth = (text, _nesting_bound(_only(text, "()[]{}", _ONE_BRACKET), MAX_BRACKET_DEPTH))
    return _last_depth[1]


_ONE_BRACKET = bytes.maketrans(b"([)]", b"{{}}")
_last_depth: tuple[str | None, int] = (None, 0)


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
