"""Secrets never leave backlint in full: a short prefix and the length, everywhere we print or write."""

from __future__ import annotations

from collections.abc import Iterable

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
