"""``backlint suppress``: add ``# backlint: ignore[ID]`` for every current finding, in place.

The comment goes on a line the engine reads for the finding (``Finding.statement_lines``): the
statement's first line when a comment may end it, else its last line (a line that ends inside a
triple-quoted string or with a backslash cannot take a comment). An existing
``# backlint: ignore[...]`` there gets the new ids; nothing else in the file changes: encoding, BOM
and line endings are kept byte for byte. A second run finds nothing to add.
"""

from __future__ import annotations

import ast
import dataclasses
import io
import re
import tokenize
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from backlint.core.files import atomic_write
from backlint.core.ids import PARSE_ERROR
from backlint.core.results import Finding
from backlint.pipeline.source import decode_source
from backlint.report.text import printable

if TYPE_CHECKING:
    from backlint.core.catalog import Catalog
    from backlint.core.config import Config
    from backlint.core.results import RunResult

_BRACKETED_IGNORE = re.compile(r"#\s*backlint:\s*ignore(?!-)\[(?P<ids>[^\]]*)\]", re.IGNORECASE)
_LINE_END = re.compile(r"\r\n|\r|\n")
_UNSUPPRESSIBLE = frozenset({PARSE_ERROR})  # a file no rule could read: fix it or exclude it


@dataclasses.dataclass
class Outcome:
    comments: int = 0  # lines that got a new comment or new ids
    files: int = 0
    skipped: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (path, why)


def suppress_all(findings: Iterable[Finding]) -> Outcome:
    """Edit every file with active findings; files that cannot be edited safely are reported, untouched."""
    by_path: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.suppressed_by is None and finding.rule_id not in _UNSUPPRESSIBLE:
            by_path.setdefault(finding.path, []).append(finding)
    outcome = Outcome()
    for path, mine in sorted(by_path.items()):
        try:
            added = suppress_file(Path(path), mine)
        except SuppressError as exc:
            outcome.skipped.append((path, str(exc)))
            continue
        if added:
            outcome.comments += added
            outcome.files += 1
    return outcome


class SuppressError(Exception):
    """This file cannot be edited safely (unreadable, untokenizable, or the edit would break it)."""


def suppress_file(path: Path, findings: Sequence[Finding]) -> int:
    """Add the comments for ``findings`` to the file; returns how many lines changed."""

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SuppressError(f"cannot read: {exc.strerror or exc}") from exc
    text, _, error = decode_source(data, str(path))
    if text is None:
        raise SuppressError(error.message if error is not None else "cannot decode")
    encoding, bom = _encoding(data)
    legal = comment_lines(text)
    if legal is None:
        raise SuppressError("cannot tokenize the file")
    wanted: dict[int, set[str]] = {}
    for finding in findings:
        line = placement(finding, legal)
        if line is None:
            raise SuppressError(f"no line of the statement at line {finding.span.line} can take a comment")
        wanted.setdefault(line, set()).add(finding.rule_id)
    pieces = _LINE_END.split(text)
    endings = _LINE_END.findall(text)
    for line, ids in wanted.items():
        pieces[line - 1] = with_ids(pieces[line - 1], ids)
    new_text = "".join(piece + ending for piece, ending in zip(pieces, [*endings, ""]))
    if new_text == text:
        return 0
    _check_still_parses(text, new_text)
    try:
        payload = (("\ufeff" if bom else "") + new_text).encode(encoding)
    except UnicodeEncodeError as exc:
        raise SuppressError(f"cannot encode the edit as {encoding}") from exc
    _replace(path, payload)
    return len(wanted)


def comment_lines(text: str) -> frozenset[int] | None:
    """Lines that may end with a comment: those ending outside any string and without a backslash
    continuation, i.e. where the tokenizer ends a line (NEWLINE, NL) or already found a comment."""
    lines: set[int] = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(text, newline=None).readline):
            if token.type in (tokenize.NEWLINE, tokenize.NL, tokenize.COMMENT):
                lines.add(token.start[0])
    except (tokenize.TokenError, SyntaxError):
        return None
    return frozenset(lines)


def placement(finding: Finding, legal: frozenset[int]) -> int | None:
    """The statement's first line if a comment can end it, else its last, else any line between."""
    first, last = finding.statement_lines
    if first < 1:
        first = last = finding.span.line
    candidates: list[int] = [first, last, *range(first + 1, last)]
    for line in candidates:
        if line in legal:
            return line
    return None


def with_ids(line: str, ids: Iterable[str]) -> str:
    """The line with its ``# backlint: ignore[...]`` extended by ``ids``, or with that comment appended."""
    existing = _BRACKETED_IGNORE.search(line)
    if existing is not None:
        current = [i.strip() for i in re.split(r"[\s,]+", existing.group("ids")) if i.strip()]
        missing = sorted(set(ids) - {i.upper() for i in current})
        if not missing:
            return line
        start, end = existing.span("ids")
        return line[:start] + ", ".join([*current, *missing]) + line[end:]
    body = line.rstrip(" \t")
    return f"{body}  # backlint: ignore[{', '.join(sorted(set(ids)))}]"


def _encoding(data: bytes) -> tuple[str, bool]:
    """The file's encoding as Python reads it (PEP 263 or BOM) and whether it starts with a BOM."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError:
        encoding = "utf-8"
    bom = data.startswith(b"\xef\xbb\xbf")
    if encoding == "utf-8-sig":
        encoding = "utf-8"
    return encoding, bom


def _check_still_parses(before: str, after: str) -> None:
    """A last guard: an edit must never turn a parsing file into a broken one."""

    try:
        ast.parse(before)
    except (SyntaxError, ValueError):
        return  # the engine parsed it with libcst; the stdlib parser may be of an older Python
    try:
        ast.parse(after)
    except (SyntaxError, ValueError) as exc:
        raise SuppressError(f"the edit would not parse ({exc}); left unchanged") from exc


def _replace(path: Path, payload: bytes) -> None:
    """Write atomically (a symlink's target), keeping its permissions."""
    try:
        atomic_write(path, payload)
    except OSError as exc:
        raise SuppressError(f"cannot write: {exc.strerror or exc}") from exc


def after_run(result: RunResult, config: Config, catalog: Catalog, linted: list[str]) -> int:
    """The ``backlint suppress`` step: edit the files, say what changed; exit 1 if findings remain."""
    outcome = suppress_all(result.findings)
    for finding in result.active:
        if finding.rule_id in _UNSUPPRESSIBLE:
            outcome.skipped.append((finding.path, f"{finding.rule_id} cannot be suppressed: {finding.message}"))
    for path, why in outcome.skipped:
        click.echo(printable(f"backlint: warning: {path}: not edited: {why}"), err=True)
    for notice in result.notices:
        if notice.level == "error":
            click.echo(printable(f"backlint: error: {notice.path}: {notice.message}"), err=True)
    plural = "s" * (outcome.comments != 1)
    click.echo(f"backlint: added {outcome.comments} suppression comment{plural} in {outcome.files} files", err=True)
    if result.internal_errors:
        return 2
    return 1 if outcome.skipped else 0
