"""Secrets never leave backlint in full: a short prefix and the length, everywhere we print or write."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from typing import Any

from backlint.core.results import Span

VISIBLE_PREFIX = 4
# Below this length nothing of a secret is shown; above it, at most a sixth of it.
MIN_LENGTH_FOR_PREFIX = 12


def _visible(length: int) -> int:
    return 0 if length < MIN_LENGTH_FOR_PREFIX else min(VISIBLE_PREFIX, length // 6)


def mask_secret(secret: str) -> str:
    """``'sk_live_abc…'`` → ``'sk_l…(32 chars)'``; a 12-character password shows 2, short ones none."""
    return f"{secret[: _visible(len(secret))]}…({len(secret)} chars)"


def mask_lines(lines: list[str], span: Span) -> list[str]:
    """Replace the flagged region of source lines with asterisks (keeping the same short prefix)."""
    return mask_spans(lines, span.line, [span], keep_prefix=True)


def mask_spans(lines: list[str], first_line: int, spans: Iterable[Span], keep_prefix: bool = False) -> list[str]:
    """Asterisks over every part of ``lines`` (numbered from ``first_line``) that a span covers.

    Used for a secret finding's own snippet, and for any other finding whose snippet shows a line
    holding a detected secret.
    """
    masked = list(lines)
    for span in spans:
        for offset, line in enumerate(masked):
            number = first_line + offset
            if not span.line <= number <= span.end_line:
                continue
            start = span.column - 1 if number == span.line else 0
            end = span.end_column - 1 if number == span.end_line else len(line.rstrip("\r\n"))
            start, end = max(0, start), max(0, min(end, len(line)))
            if end <= start:
                continue
            keep = 0
            if keep_prefix and number == span.line:
                # The opening quote (or ``#``) and a few characters, as in mask_secret.
                keep = 1 + _visible(end - start - 2) if end - start > 2 else 0
            masked[offset] = line[: start + keep] + "*" * (end - start - keep) + line[end:]
    return masked


# A secret shows in other text when 8 characters of it in a row do (a message quoting part of a
# line, a snippet cut at a column); shorter secrets are masked where they stand alone.
GRAM = 8
_LINE_BREAK = re.compile(r"\r\n?|\n")
_WORD = re.compile(r"^[a-z]{1,15}$")
_LETTERS = re.compile(r"^[a-z]+$")
_QUOTED_WORD = re.compile(r"""(["'`])([a-z]{1,15})\1""")
MIN_SECRET = 4
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


class SecretText:
    """Masks, in any text, every run of characters that some secret of ``secrets`` also holds.

    The output layer's guard for strings that are not source lines (messages, fix descriptions,
    notices): a run of ``GRAM`` or more characters shared with a secret, in any letter case (a
    message may upper-case what it quotes), becomes asterisks, however it was cut; a secret shorter
    than ``GRAM`` is masked only as a whole word.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        values = {_folded(s) for s in secrets if len(s) >= MIN_SECRET}
        # A secret that is a plain word ("password", "changeme") would mask that word in every
        # message: it is masked where it stands as a quoted literal, or as the whole text.
        self.words = frozenset(s for s in values if is_word(s))
        values -= self.words
        # A run of letters alone ("password" inside "mysecretpassword") is a word of every message:
        # it counts only where the run around it, or the whole secret, occurs.
        grams = (s[i : i + GRAM] for s in values if len(s) >= GRAM for i in range(len(s) - GRAM + 1))
        self.grams = frozenset(g for g in grams if not _LETTERS.match(g))
        self.whole = sorted((s for s in values if len(s) >= GRAM), key=len, reverse=True)
        self.short = sorted((s for s in values if len(s) < GRAM), key=len, reverse=True)
        self.firsts = frozenset(g[0] for g in self.grams)

    def __bool__(self) -> bool:
        return bool(self.grams or self.short or self.words)

    def mask(self, text: str) -> str:
        if not text or not self:
            return text
        folded = _folded(text)
        if folded in self.words:
            return "*" * len(text)
        covered = bytearray(len(text))
        if self.words:
            for match in _QUOTED_WORD.finditer(folded):
                if match.group(2) in self.words:
                    covered[match.start(2) : match.end(2)] = b"\1" * len(match.group(2))
        if self.grams:
            grams, firsts = self.grams, self.firsts
            for i in range(len(folded) - GRAM + 1):
                if folded[i] in firsts and folded[i : i + GRAM] in grams:
                    covered[i : i + GRAM] = b"\1" * GRAM
        for secret in self.whole:
            start = folded.find(secret)
            while start >= 0:
                covered[start : start + len(secret)] = b"\1" * len(secret)
                start = folded.find(secret, start + 1)
        for secret in self.short:
            start = folded.find(secret)
            while start >= 0:
                end = start + len(secret)
                alone = (start == 0 or folded[start - 1] not in _WORD_CHARS) and (
                    end == len(folded) or folded[end] not in _WORD_CHARS
                )
                if alone:
                    covered[start:end] = b"\1" * len(secret)
                start = folded.find(secret, end)
        if not any(covered):
            return text
        return "".join("*" if hit else char for char, hit in zip(text, covered))


def is_word(secret: str) -> bool:
    """A secret that is a plain word (``password``, ``changeme``): masked only where it stands alone."""
    return bool(_WORD.match(_folded(secret)))


def _folded(text: str) -> str:
    """``text`` in lower case, one character for one (``str.lower`` lengthens a few, such as İ)."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(low if len(low := char.lower()) == 1 else char for char in text)


def secret_values(text: str, spans: Iterable[Span]) -> set[str]:
    """The text under each span of ``text`` (1-based lines and columns, end exclusive)."""
    starts = [0] + [match.end() for match in _LINE_BREAK.finditer(text)]
    values = set()
    for span in spans:
        if not 1 <= span.line <= span.end_line <= len(starts):
            continue
        start = starts[span.line - 1] + span.column - 1
        end = starts[span.end_line - 1] + span.end_column - 1
        if end > start:
            values.add(text[start:end])
    return values


def scrub(value: Any, text: SecretText, depth: int = 0) -> Any:
    """``value`` (plain data: strings, containers, dataclasses) with every secret masked in its strings.

    What a file's facts keep of a secret it holds, in the cache and in shard files: its length, and
    that it is not a placeholder (a placeholder is not found as a secret, so it stays as written).
    """
    if isinstance(value, str):
        return text.mask(value)
    if depth > 64 or value is None or isinstance(value, (int, float, bool, bytes, Span)):
        return value
    if isinstance(value, list):
        return [scrub(item, text, depth + 1) for item in value]
    if isinstance(value, tuple):
        items = tuple(scrub(item, text, depth + 1) for item in value)
        return type(value)(*items) if hasattr(value, "_fields") else items
    if isinstance(value, dict):
        return {scrub(k, text, depth + 1): scrub(v, text, depth + 1) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return type(value)(scrub(item, text, depth + 1) for item in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            old = getattr(value, field.name)
            new = scrub(old, text, depth + 1)
            if new is not old:
                object.__setattr__(value, field.name, new)  # frozen dataclasses too: the facts are ours
        return value
    return value
