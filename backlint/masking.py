"""Secrets never leave backlint in full: a short prefix and the length, everywhere we print or write."""

from __future__ import annotations

from backlint.rule import Span

VISIBLE_PREFIX = 4


def mask_secret(secret: str) -> str:
    """``'sk_live_abc…'`` → ``'sk_l…(24 chars)'``; short secrets show no prefix at all."""
    prefix = secret[:VISIBLE_PREFIX] if len(secret) >= 12 else ""
    return f"{prefix}…({len(secret)} chars)"


def mask_lines(lines: list[str], span: Span) -> list[str]:
    """Replace the flagged region of source lines with asterisks."""
    masked = []
    for offset, line in enumerate(lines):
        number = span.line + offset
        start = span.column - 1 if number == span.line else 0
        end = span.end_column - 1 if number == span.end_line else len(line)
        keep = min(VISIBLE_PREFIX + 1, max(0, end - start)) if number == span.line else 0
        masked.append(line[: start + keep] + "*" * max(0, end - start - keep) + line[end:])
    return masked
