"""Baselines: freeze today's findings so that only new ones are reported.

A finding is remembered by a fingerprint of what it is, not where it is: the rule, the file's path
relative to the project root, the dotted names of the classes and functions around it, the code of
the flagged node and of the statement holding it with layout and comments normalised away, and its
occurrence index among findings that share all of these. Inserting lines above it, re-indenting,
reflowing or commenting the code keeps the fingerprint; editing the flagged statement changes it.
A finding anchored on a whole function or class (a project rule's finding on an endpoint: its span
starts on the ``def`` line and covers the body) is remembered by the signature instead — decorators
(the route) and the ``def`` header — so an unrelated edit inside the body keeps it (version 2).
Version 1 files are still read: their entries are matched with version 1 fingerprints, and
``backlint baseline`` rewrites them as version 2.
The file stores these hashes only, never source text, and secrets are masked before hashing, so a
baselined secret is not written down a second time, not even as its own hash.

The baseline is read by ``check --baseline FILE`` (or ``baseline = "..."`` in ``[tool.backlint]``)
and written only by ``backlint baseline``; ``--prune`` keeps just the entries still found.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import re
import tokenize
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import click

from backlint.core.files import atomic_write, read_limited
from backlint.core.masking import mask_spans
from backlint.core.results import Finding, Span
from backlint.pipeline.discovery import relative_to_root
from backlint.pipeline.source import decode_source
from backlint.pipeline.suppress import physical_lines
from backlint.report.fingerprint import enclosing_scope, flagged_text, parse_quietly, signature_lines
from backlint.report.text import printable

if TYPE_CHECKING:
    from backlint.core.catalog import Catalog
    from backlint.core.config import Config
    from backlint.core.results import RunResult

FORMAT = "backlint-baseline"
VERSION = 2
READABLE = (1, 2)  # version 1: fingerprints of the flagged code even for a finding on a whole function
MAX_BASELINE_BYTES = 512 * 1024 * 1024  # a baseline file read past this is not one
BASELINED = "baseline"  # Finding.suppressed_by of a finding the baseline accepts
NEW, UNCHANGED = "new", "unchanged"  # SARIF baselineState values

_BLANKS = re.compile(r"\\\r?\n|\\\r|\s+")  # whitespace, and backslash line continuations
_TRAILING_COMMA = re.compile(r",(?=[)\]}])")


class BaselineError(Exception):
    """An unreadable or malformed baseline file: the run stops (exit 2) rather than report everything."""


def normalise_code(text: str) -> str:
    """Code without layout: what black, a re-indent or a new comment changes is not part of it.

    Comments and whitespace go (indentation, line breaks, spacing, also inside strings: this is a
    hash input, never shown), quote style and magic trailing commas are unified, and parentheses
    wrapped around the whole text are dropped. The result is the same on every Python version.
    """
    code = _BLANKS.sub("", _without_comments(text)).replace("'", '"')
    code = _TRAILING_COMMA.sub("", code)
    while code.startswith("(") and code.endswith(")") and _closing_paren(code) == len(code) - 1:
        code = code[1:-1]
    return code


def _without_comments(text: str) -> str:
    """The text with its comments cut out, by the tokenizer (a ``#`` inside a string stays)."""
    comments: list[tuple[int, int, int]] = []  # (line, start, end), 0-based columns
    try:
        for token in tokenize.generate_tokens(io.StringIO(text, newline=None).readline):
            if token.type == tokenize.COMMENT:
                comments.append((token.start[0], token.start[1], token.end[1]))
    except (tokenize.TokenError, SyntaxError):
        pass  # a fragment that does not tokenize to its end: the comments met so far go
    if not comments:
        return text
    lines = physical_lines(text)
    for line, start, end in reversed(comments):
        if 0 < line <= len(lines):
            lines[line - 1] = lines[line - 1][:start] + lines[line - 1][end:]
    return "\n".join(lines)


def _closing_paren(code: str) -> int:
    """Index of the parenthesis closing the one at index 0 (brackets in strings count too: a hash input)."""
    depth = 0
    for index, char in enumerate(code):
        depth += (char == "(") - (char == ")")
        if depth == 0:
            return index
    return -1


def flagged_code(finding: Finding) -> str:
    """The source text under the finding's span, cut from its (masked, if secret) snippet."""

    span = finding.span
    return flagged_text(finding.source_lines, span.line, span.column, span.end_line, span.end_column)


class Fingerprinter:
    """Fingerprints for the findings of one run, in a stable order (by position) per file.

    A fingerprint hashes the rule, the project-relative path, the enclosing scope's dotted names,
    the flagged code and the code of the statement holding it (both normalised; secrets masked),
    and the occurrence index among findings alike in all of these.
    """

    def __init__(self, root: Path, buffers: Mapping[str, bytes] | None = None) -> None:
        self.root = root
        self.buffers = buffers or {}  # files not on disk (standard input)
        self._lines: dict[str, list[str] | None] = {}
        self._trees: dict[str, Any] = {}

    def relative(self, finding: Finding) -> str:

        return relative_to_root(Path(finding.path), self.root)

    def _file_lines(self, path: str) -> list[str] | None:
        if path not in self._lines:
            try:
                data = self.buffers[path] if path in self.buffers else Path(path).read_bytes()
                text, _, _ = decode_source(data, path)
            except OSError:
                text = None
            self._lines[path] = physical_lines(text) if text is not None else None
        return self._lines[path]

    def _tree(self, path: str) -> Any:
        if path not in self._trees:
            lines = self._file_lines(path)
            self._trees[path] = parse_quietly("\n".join(lines)) if lines is not None else None
        return self._trees[path]

    def scope(self, finding: Finding) -> str:
        """The finding's own scope, or (project findings) the one read from the file's ``ast``."""
        if finding.scope is not None:
            return finding.scope
        return enclosing_scope(self._tree(finding.path), finding.span.line)

    def signature(self, finding: Finding) -> tuple[int, int] | None:
        """The signature lines of the function or class the finding is anchored on (``signature_lines``)."""
        lines = self._file_lines(finding.path)
        if lines is None or finding.span.end_line <= finding.span.line:
            return None
        return signature_lines(self._tree(finding.path), lines, finding.span.line, finding.span.end_line)

    def statement(self, finding: Finding, secrets: list[Span]) -> str:
        """The statement's code (a compound statement's header), with every secret of the file masked."""
        return self.lines(finding, *finding.statement_lines, secrets)

    def lines(self, finding: Finding, first: int, last: int, secrets: list[Span]) -> str:
        """Lines ``first``..``last`` of the finding's file, with every secret of the file masked."""
        lines = self._file_lines(finding.path)
        if lines is None or first < 1:
            return ""
        return "\n".join(mask_spans(lines[first - 1 : last], first, secrets))

    def of(self, findings: Sequence[Finding], version: int = VERSION) -> list[str]:
        """One fingerprint per finding, in the given order (``version`` 1: as version 1 files hold them)."""
        secrets: dict[str, list[Span]] = {}
        for finding in findings:
            if finding.sensitive:
                secrets.setdefault(finding.path, []).append(finding.span)
        keyed = []
        for finding in findings:
            masked = secrets.get(finding.path, [])
            signature = self.signature(finding) if version >= 2 else None
            if signature is not None:  # anchored on a function or class: its signature, not its body
                code = "signature:" + normalise_code(self.lines(finding, *signature, masked))
                statement = ""
            else:
                code = normalise_code(flagged_code(finding)) or finding.message
                statement = normalise_code(self.statement(finding, masked))
            parts = (finding.rule_id, self.relative(finding), self.scope(finding), code, statement)
            keyed.append(hashlib.sha256("\0".join(parts).encode("utf-8", "surrogateescape")).hexdigest())
        seen: dict[str, int] = {}
        out = [""] * len(findings)
        for position in sorted(range(len(findings)), key=lambda i: findings[i].sort_key):
            key = keyed[position]
            seen[key] = seen.get(key, 0) + 1
            out[position] = hashlib.sha256(f"{key}:{seen[key]}".encode()).hexdigest()[:32]
        return out


@dataclasses.dataclass(frozen=True)
class Entry:
    rule: str
    path: str  # relative to the project root, POSIX
    fingerprint: str
    legacy: str | None = dataclasses.field(default=None, compare=False)  # its version 1 fingerprint (not written)


@dataclasses.dataclass
class Baseline:
    path: Path
    entries: list[Entry]
    version: int = VERSION

    @property
    def fingerprints(self) -> frozenset[str]:
        return frozenset(e.fingerprint for e in self.entries)


def load(path: Path) -> Baseline:
    try:
        data = json.loads(read_limited(path, MAX_BASELINE_BYTES).decode("utf-8"))
    except FileNotFoundError as exc:
        raise BaselineError(f"{path}: no such baseline file (create it with `backlint baseline`)") from exc
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BaselineError(f"{path}: cannot read baseline: {exc}") from exc
    except RecursionError as exc:
        raise BaselineError(f"{path}: cannot read baseline: nested too deeply") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BaselineError(f'{path}: not a backlint baseline (expected "format": "{FORMAT}")')
    if data.get("version") not in READABLE:
        raise BaselineError(
            f"{path}: baseline version {data.get('version')!r} is not one this backlint reads ({READABLE}); "
            f"regenerate it with `backlint baseline --output {path}`"
        )
    findings = data.get("findings", [])
    if not isinstance(findings, list):
        raise BaselineError(f"{path}: findings: expected a list of entries, got {_cut(findings)}")
    entries = []
    for item in findings:
        if not (isinstance(item, dict) and all(isinstance(item.get(k), str) for k in ("rule", "path", "fingerprint"))):
            raise BaselineError(f"{path}: malformed entry {_cut(item)} (expected rule, path and fingerprint strings)")
        entries.append(Entry(item["rule"], item["path"], item["fingerprint"]))
    return Baseline(path, entries, data["version"])


def _cut(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def dump(entries: Iterable[Entry]) -> str:
    """Sorted by path, rule and hash, one entry a line: stable, reviewable diffs."""
    rows = sorted(set(entries), key=lambda e: (e.path, e.rule, e.fingerprint))
    lines = [json.dumps({"rule": e.rule, "path": e.path, "fingerprint": e.fingerprint}) for e in rows]
    body = ",\n    ".join(lines)
    findings = f"[\n    {body}\n  ]" if lines else "[]"
    return f'{{\n  "format": "{FORMAT}",\n  "version": {VERSION},\n  "findings": {findings}\n}}\n'


def write(path: Path, entries: Iterable[Entry]) -> None:
    """Atomically: a concurrent reader sees the old file or the new one."""
    atomic_write(path, dump(entries).encode("utf-8"))


def apply(
    findings: Sequence[Finding], baseline: Baseline, root: Path, buffers: Mapping[str, bytes] | None = None
) -> None:
    """Mark every finding new or unchanged; unchanged ones stop being reported (``suppressed_by``)."""
    known = baseline.fingerprints
    for finding, fingerprint in zip(findings, Fingerprinter(root, buffers).of(findings, baseline.version)):
        finding.baseline_state = UNCHANGED if fingerprint in known else NEW
        if finding.baseline_state == UNCHANGED and finding.suppressed_by is None:
            finding.suppressed_by = BASELINED


def entries_for(findings: Sequence[Finding], root: Path, *, legacy: bool = False) -> list[Entry]:
    """Entries for the findings a run reports (inline-suppressed ones need none); with ``legacy``, each
    knows its version 1 fingerprint too (to convert an old baseline)."""
    printer = Fingerprinter(root)
    fingerprints = printer.of(findings)
    old = printer.of(findings, 1) if legacy else [None] * len(findings)
    return [
        Entry(f.rule_id, printer.relative(f), fp, was)
        for f, fp, was in zip(findings, fingerprints, old)
        if f.suppressed_by is None
    ]


@dataclasses.dataclass
class Update:
    entries: list[Entry]
    added: int
    kept: int
    dropped: int


def update(
    old: Baseline | None, current: list[Entry], linted: set[str], rules: set[str], root: Path, *, prune: bool
) -> Update:
    """The new baseline: entries outside this run's files or rules are kept as they were; inside,
    today's findings replace them (or, with ``prune``, only the old ones still found stay). Entries
    of files that no longer exist go."""
    previous = [e for e in old.entries if (root / e.path).is_file()] if old is not None else []
    gone = len(old.entries) - len(previous) if old is not None else 0
    outside = [e for e in previous if e.path not in linted or e.rule not in rules]
    inside = {e.fingerprint for e in previous if e.path in linted and e.rule in rules}
    found = {e.fingerprint for e in current}
    if prune:
        kept = [e for e in current if e.fingerprint in inside]
        added = 0
    else:
        kept = current
        added = len(found - inside)
    dropped = len(inside - found) + gone
    return Update(outside + kept, added, len(outside) + len(kept) - added, dropped)


def convert(old: Baseline, current: list[Entry], linted: set[str]) -> tuple[Baseline, int]:
    """An older baseline in this version's fingerprints: each entry a finding of today matches by its
    old fingerprint (``Entry.legacy``) takes the finding's new one; an unmatched entry of a linted file
    stays (and is dropped as no longer found); one of a file not linted cannot be converted and goes.
    Returns the baseline and how many entries went that way."""
    by_legacy = {e.legacy: e for e in current if e.legacy}
    entries, lost = [], 0
    for entry in old.entries:
        if entry.fingerprint in by_legacy:
            entries.append(dataclasses.replace(by_legacy[entry.fingerprint], legacy=None))
        elif entry.path in linted:
            entries.append(entry)
        else:
            lost += 1
    return Baseline(old.path, entries, VERSION), lost


DEFAULT_NAME = ".backlint-baseline.json"


def record(output: Path | None, *, prune: bool) -> Callable[[RunResult, Config, Catalog, list[str]], int]:
    """The ``backlint baseline`` step after a run: merge today's findings into the file."""

    def write_baseline(result: RunResult, config: Config, catalog: Catalog, linted: list[str]) -> int:

        path = output if output is not None else config.root / (config.baseline or DEFAULT_NAME)
        try:
            old = load(path) if path.exists() else None
        except BaselineError as exc:
            click.echo(printable(f"backlint: error: {exc}"), err=True)
            return 2
        if prune and old is None:
            click.echo(printable(f"backlint: error: {path}: no baseline to prune"), err=True)
            return 2
        converting = old is not None and old.version != VERSION
        current = entries_for(result.findings, config.root, legacy=converting)
        files = {relative_to_root(Path(p), config.root) for p in linted}
        if old is not None and converting:
            old, lost = convert(old, current, files)
            click.echo(printable(f"backlint: {path}: converted from baseline version 1 to {VERSION}"), err=True)
            if lost:
                click.echo(
                    f"backlint: warning: {lost} entries of files not linted in this run could not be converted "
                    "and were dropped: run `backlint baseline` over the whole project",
                    err=True,
                )
        change = update(old, current, files, set(config.enabled_rules(catalog)), config.root, prune=prune)
        try:
            write(path, change.entries)
        except OSError as exc:
            click.echo(printable(f"backlint: error: cannot write {path}: {exc.strerror or exc}"), err=True)
            return 2
        click.echo(
            printable(
                f"backlint: wrote {path}: {len(change.entries)} findings "
                f"({change.added} added, {change.dropped} no longer found and dropped)"
            ),
            err=True,
        )
        for notice in result.notices:
            if notice.level == "error":
                click.echo(printable(f"backlint: error: {notice.path}: {notice.message}"), err=True)
        return 2 if result.internal_errors else 0

    return write_baseline
