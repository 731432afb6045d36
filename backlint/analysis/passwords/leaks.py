"""What a frame compares and writes to the logs: plaintext password comparisons, and passwords,
secrets, request bodies and model dumps passed to log or output calls."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from backlint.analysis.passwords.facts import (
    COMPARED,
    LOGGED_DOCUMENT,
    LOGGED_HEADER,
    LOGGED_MODEL,
    LOGGED_PASSWORD,
    LOGGED_REQUEST,
    LOGGED_SECRET,
    Compared,
    Logged,
)
from backlint.analysis.passwords.hashing import Hashing
from backlint.analysis.passwords.index import Interpreter
from backlint.analysis.passwords.sources import Sources
from backlint.analysis.passwords.values import (
    DATA,
    DICT,
    HASHED,
    HEADER_DATA,
    INPUT,
    INSTANCE,
    MODEL,
    NUMBER,
    ORM,
    PW,
    REQUEST,
    STORED,
    WEAK,
    Val,
    call_tail,
    is_slice,
    string_key,
)
from backlint.analysis.strings import SECRET, is_string, name_tokens

# What a secret-named value holding one of these is: a hash, or an object (a token model: its repr is no secret).
_NOT_STRINGS = frozenset({HASHED, WEAK, ORM, MODEL, INSTANCE, REQUEST, NUMBER})

# Keyword arguments of log and print calls that say how, not what, to write.
_LOG_OPTIONS = frozenset({"exc_info", "stack_info", "stacklevel", "level", "file", "end", "sep", "flush"})


class Leaks:
    """Comparisons and log calls of one frame."""

    def __init__(self, frame: Interpreter, hashing: Hashing, sources: Sources) -> None:
        self.frame = frame
        self.hashing = hashing
        self.sources = sources
        self.k = frame.k
        self.lex = frame.lex

    def comparison(self, node: cst.Comparison) -> None:
        left = self.frame.eval(node.left)
        for target in node.comparisons:
            right = self.frame.eval(target.comparator)
            if isinstance(target.operator, (cst.Equal, cst.NotEqual)):
                self.compare(node, node.left, left, target.comparator, right)

    def compare(self, node: cst.CSTNode, a: cst.BaseExpression, va: Val, b: cst.BaseExpression, vb: Val) -> None:
        for value in (va, vb):
            if value.kind == WEAK:
                self.hashing.weak_used(value, COMPARED)
        if va.kind != PW or vb.kind != PW or va.derived or vb.derived:
            return
        if {va.origin, vb.origin} == {INPUT, STORED}:
            self.frame.emit(Compared(node, a, b))

    def check_log(self, node: cst.Call) -> None:
        """What the arguments of a log or output call write (its options aside)."""
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value in _LOG_OPTIONS:
                continue
            for fact in self._leaks(arg.value):
                self.frame.emit(fact)

    def _leaks(self, expr: cst.BaseExpression, depth: int = 0) -> Iterator[Logged]:
        if depth > 6:
            return
        if isinstance(expr, cst.FormattedString):
            for part in expr.parts:
                if isinstance(part, cst.FormattedStringExpression):
                    yield from self._leaks(part.expression, depth + 1)
            return
        if isinstance(expr, cst.BinaryOperation):
            yield from self._leaks(expr.left, depth + 1)
            yield from self._leaks(expr.right, depth + 1)
            return
        if isinstance(expr, (cst.Tuple, cst.List, cst.Set)):
            for element in expr.elements:
                yield from self._leaks(element.value, depth + 1)
            return
        if isinstance(expr, cst.Dict):
            for entry in expr.elements:
                yield from self._leaks(entry.value, depth + 1)
            return
        if isinstance(expr, cst.Await):
            yield from self._leaks(expr.expression, depth + 1)
            return
        if isinstance(expr, cst.Call):
            tail = call_tail(expr)
            if any(t in self.k.masking_words for t in name_tokens(tail)) or tail in self.k.masking_words:
                return
            if tail == "format" and isinstance(expr.func, cst.Attribute) and is_string(expr.func.value):
                for arg in expr.args:
                    yield from self._leaks(arg.value, depth + 1)
                return
            dumped = self.sources.dumped_model(expr)
            if dumped is not None and dumped[1]:
                yield Logged(expr, LOGGED_MODEL, dumped[0])
                return
        if isinstance(expr, (cst.Name, cst.Attribute, cst.Subscript, cst.Call)):
            if isinstance(expr, cst.Subscript) and is_slice(expr):
                for inner in self._leaks(expr.value, depth + 1):
                    yield Logged(expr, inner.what, inner.detail, inner.part + 1)
                    break
                return
            value = self.frame.eval(expr)
            if value.kind == PW and not value.derived:
                yield Logged(expr, LOGGED_PASSWORD)
            elif value.kind == DATA and value.origin in ("body", "headers", "cookies"):
                handler, credentials = self.frame.handler_context()
                yield Logged(expr, LOGGED_REQUEST, value.origin, handler=handler, credentials=credentials)
            elif value.kind == DICT:
                yield Logged(expr, LOGGED_DOCUMENT)
            elif value.taint == HEADER_DATA:
                yield Logged(expr, LOGGED_HEADER)
            elif isinstance(expr, (cst.Name, cst.Attribute)):
                name = expr.value if isinstance(expr, cst.Name) else expr.attr.value
                if self.lex.sensitivity(name) != SECRET or value.kind in _NOT_STRINGS:
                    return
                if isinstance(expr, cst.Name) and self.frame.holds_object(name):
                    return  # `token.expires_at` read: an ORM row or a token object, whose str() is no secret
                yield Logged(expr, LOGGED_SECRET)
            elif isinstance(expr, cst.Subscript):
                key = string_key(expr)
                if key is not None and self.lex.sensitivity(key) == SECRET:
                    yield Logged(expr, LOGGED_SECRET)
