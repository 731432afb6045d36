"""Autofixes: apply the edits rules attach to findings, re-lint, repeat until nothing changes.

A rule describes its fix as text edits of the source it linted (``rule.Fix``). Here the fixes of one
file are applied together when they do not touch each other; the file is linted again and the next
round picks up what the first left (a fix that overlapped another, a finding a fix revealed), until
a round changes nothing. Every round must parse. Files are written atomically with their encoding,
BOM, line endings and mode kept, and only if the bytes on disk are still those that were linted.
The language server applies a single finding's fix with ``fixed_source``.
"""

from __future__ import annotations

import codecs
import dataclasses
import difflib
import io
import re
import tokenize
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from backlint.core.files import StaleFileError, atomic_write
from backlint.core.masking import mask_secret
from backlint.core.results import Finding, Fix, TextEdit
from backlint.pipeline.source import decode_source

if TYPE_CHECKING:
    pass

SAFE, UNSAFE = "safe", "unsafe"
MAX_ROUNDS = 4
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")

Lint = Callable[[str], Sequence[Finding]]  # the findings of a text, linted as the file it stands for


def fixed_path(finding: Finding) -> str:
    """The file the finding's fix edits: its own, or the one a project rule's fix names."""
    return finding.fix.path if finding.fix is not None and finding.fix.path else finding.path


def applies(fix: Fix | None, unsafe: bool) -> bool:
    """Whether ``--fix`` (with ``--unsafe-fixes`` when ``unsafe``) applies this fix."""
    return fix is not None and bool(fix.edits) and (fix.safety == SAFE or unsafe)


class FixError(Exception):
    """Edits that cannot be applied to the text they were made for."""


def apply_edits(text: str, edits: Iterable[TextEdit]) -> str:
    """``text`` with every edit made; edits must not overlap (an insertion may touch a range)."""
    ordered = sorted(edits, key=lambda e: (e.start, e.end))
    out: list[str] = []
    position = 0
    for edit in ordered:
        if edit.start < position or edit.end < edit.start or edit.end > len(text):
            raise FixError(f"overlapping or out-of-range edit at offset {edit.start}")
        out.append(text[position : edit.start])
        out.append(edit.text)
        position = edit.end
    out.append(text[position:])
    return "".join(out)


def fixed_source(text: str, fix: Fix) -> str | None:
    """The text with one fix applied, or None if it does not apply or would not parse."""
    try:
        fixed = apply_edits(text, fix.edits)
    except FixError:
        return None
    return fixed if parses(fixed) else None


def compatible(fixes: Iterable[Fix], first: Iterable[Fix] = ()) -> list[Fix]:
    """Fixes that can be applied together, in order: one whose edits touch an earlier one's waits.

    ``first`` go before the others (the project rules' fixes, which are not offered again next round).
    """
    chosen: list[Fix] = []
    taken: list[tuple[int, int]] = []

    def by_start(fix: Fix) -> int:
        return min((e.start for e in fix.edits), default=0)

    for fix in [*sorted(first, key=by_start), *sorted(fixes, key=by_start)]:
        ranges = [(e.start, e.end) for e in fix.edits]
        if any(start <= other_end and other_start <= end for start, end in ranges for other_start, other_end in taken):
            continue
        chosen.append(fix)
        taken.extend(ranges)
    return chosen


def parses(text: str) -> bool:
    from backlint.pipeline.filestage import parses as parses_safely  # imports libcst: only when fixing

    return parses_safely(text)


def finding_key(finding: Finding) -> tuple[str, str, str]:
    """What a finding is, without where: it survives the line shifts of earlier rounds."""
    return finding.rule_id, finding.message, "".join(line.strip() for line in finding.source_lines)


@dataclasses.dataclass
class TextFix:
    """The outcome of fixing one text: the new text, how many fixes went in, and what went wrong."""

    text: str
    fixed: int = 0
    unsafe: int = 0
    problem: str | None = None


def fix_text(
    text: str,
    lint: Lint,
    *,
    unsafe: bool,
    wanted: Callable[[Finding], bool],
    first_round: Callable[[Finding], bool] | None = None,
    project: Sequence[Finding] = (),
) -> TextFix:
    """Apply fixes round by round until a round changes nothing (at most ``MAX_ROUNDS``).

    ``wanted`` says which findings may be fixed at all (the rule is reported, the file not ignored
    for it, no suppression comment). ``first_round`` narrows the first round to the findings the run
    reported (a baseline or changed-lines filter); what it leaves out stays unfixed in later rounds.
    ``project``: the project rules' findings in this text, whose fixes are placed in it as it was
    read; ``lint`` does not find them again, so they go in the first round, ahead of the others.
    """
    outcome = TextFix(text)
    held_back: set[tuple[str, str, str]] = set()
    for number in range(MAX_ROUNDS):
        found = [*lint(outcome.text), *(project if number == 0 else ())]
        findings = [f for f in found if f.suppressed_by is None and applies(f.fix, unsafe) and wanted(f)]
        if number == 0 and first_round is not None:
            held_back = {finding_key(f) for f in findings if not first_round(f)}
        candidates = [f for f in findings if finding_key(f) not in held_back]
        pinned = [f.fix for f in candidates if f.fix is not None and number == 0 and f in project]
        fixes = compatible((f.fix for f in candidates if f.fix is not None and f.fix not in pinned), pinned)
        if not fixes:
            break
        new_text, applied = _apply_parsing(outcome.text, fixes)
        if not applied:
            outcome.problem = "the fixes would not parse; left unchanged"
            break
        outcome.text = new_text
        outcome.fixed += len(applied)
        outcome.unsafe += sum(1 for fix in applied if fix.safety != SAFE)
    return outcome


def _apply_parsing(text: str, fixes: Sequence[Fix]) -> tuple[str, list[Fix]]:
    """All fixes at once if the result parses; else each one alone, kept if it parses."""
    together = apply_edits(text, [e for fix in fixes for e in fix.edits])
    if parses(together):
        return together, list(fixes)
    for fix in fixes:
        alone = fixed_source(text, fix)
        if alone is not None:
            return alone, [fix]
    return text, []


# ---------------------------------------------------------------------------------------------
# Files


@dataclasses.dataclass
class FileFix:
    path: str
    before: str
    after: str
    fixed: int = 0
    unsafe: int = 0
    written: bool = False
    problem: str | None = None


def fix_file(
    path: Path,
    display: str,
    lint: Lint,
    *,
    unsafe: bool,
    wanted: Callable[[Finding], bool],
    first_round: Callable[[Finding], bool] | None = None,
    write: bool = True,
    project: Sequence[Finding] = (),
    root: Path | None = None,
) -> FileFix:
    """Fix one file on disk (or, with ``write=False``, only compute the fixed text for ``--diff``).

    A symlink whose target lies outside the project ``root`` is linted but never written through:
    ``--fix`` edits the project, not a file it links to elsewhere."""

    try:
        data = path.read_bytes()
    except OSError as exc:
        return FileFix(display, "", "", problem=f"cannot read: {exc.strerror or exc}")
    text, _, error = decode_source(data, display)
    if text is None:
        return FileFix(display, "", "", problem=error.message if error is not None else "cannot decode")
    outcome = fix_text(text, lint, unsafe=unsafe, wanted=wanted, first_round=first_round, project=project)
    result = FileFix(display, text, outcome.text, outcome.fixed, outcome.unsafe, problem=outcome.problem)
    if not write or outcome.text == text:
        return result
    if root is not None and path.is_symlink() and not _inside(path, root):
        result.problem = "a symbolic link to a file outside the project; not written"
        return result
    try:
        payload = encode_like(data, outcome.text)
    except UnicodeEncodeError:
        result.problem = f"the fixed text cannot be encoded as {source_encoding(data)[0]}; not written"
        return result
    problem = replace_if_unchanged(path, data, payload)
    if problem is None:
        result.written = True
    else:
        result.problem = problem
    return result


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except (ValueError, OSError, RuntimeError):
        return False
    return True


def source_encoding(data: bytes) -> tuple[str, bool]:
    """The encoding Python reads the file with (PEP 263 or BOM) and whether it starts with a BOM."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError:
        encoding = "utf-8"
    return ("utf-8" if encoding == "utf-8-sig" else encoding), data.startswith(codecs.BOM_UTF8)


def encode_like(original: bytes, text: str) -> bytes:
    """``text`` in the original file's encoding, with its BOM if it had one."""
    encoding, bom = source_encoding(original)
    return (codecs.BOM_UTF8 if bom else b"") + text.encode(encoding)


def replace_if_unchanged(path: Path, original: bytes, payload: bytes) -> str | None:
    """Write ``payload`` atomically, keeping the mode; None on success, else why not.

    The file is not written if its bytes are no longer ``original`` (edited while we fixed it).
    """
    try:
        atomic_write(path, payload, expected=original)
    except StaleFileError:
        return "changed on disk while it was being fixed; not written"
    except OSError as exc:
        return f"cannot write: {exc.strerror or exc}"
    return None


def unified_diff(display: str, before: str, after: str, secrets: Iterable[str] = ()) -> str:
    """``git diff``-style text of one file's change (line endings shown as they are).

    ``secrets``: detected secrets of the file, masked wherever the diff shows them (a diff printed
    in a CI log must not leak the key a BL202 fix moves to the environment).
    """

    old = _lines(before)
    new = _lines(after)
    out = []
    name = display.lstrip("/")
    hidden = sorted({s for s in secrets if s}, key=len, reverse=True)
    for line in difflib.unified_diff(old, new, f"a/{name}", f"b/{name}"):
        for secret in hidden:
            line = line.replace(secret, mask_secret(secret))
        out.append(line if line.endswith(("\n", "\r")) else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def _lines(text: str) -> list[str]:
    return _LINE.findall(text)


_QUOTED = re.compile(r"""^[rRbBuU]{0,2}('''|\"\"\"|'|")(.*)\1$""", re.DOTALL)


def secret_texts(findings: Iterable[Finding], text: str) -> list[str]:
    """The flagged text of each secret finding in ``text`` (a string literal's contents, unquoted)."""
    lines = _lines(text)
    found = []
    for finding in findings:
        span = finding.span
        if not finding.sensitive or not 1 <= span.line <= span.end_line <= len(lines):
            continue
        region = "".join(lines[span.line - 1 : span.end_line])
        end = len(region) - len(lines[span.end_line - 1]) + span.end_column - 1
        flagged = region[span.column - 1 : end].strip()
        quoted = _QUOTED.match(flagged)
        found.append(quoted.group(2) if quoted else flagged)
    return found


# ---------------------------------------------------------------------------------------------
# The `check --fix / --diff` step
