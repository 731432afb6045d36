"""BL001: suppression comments that suppress nothing, found after the run from what it suppressed.

Only backlint's own comments are judged (``# backlint: ignore[...]``, ``# backlint: ignore-file[...]``,
the ``BL`` codes of a ``# noqa: ...``): a bare ``# noqa`` or another tool's comment may be there for
that tool. An id is judged only where its rules ran: every rule not in ``ignore`` runs while BL001
is on (``lint_config``), and ids a ``per-file-ignores`` entry turns off for the file are left alone.
Suppressions are real comments (``backlint.suppress`` checks with ``tokenize``), so text that only
looks like one inside a string (documentation, a test's input) is not judged.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from backlint.core.catalog import Catalog
from backlint.core.config import Config
from backlint.core.ids import PARSE_ERROR, UNUSED_SUPPRESSION
from backlint.core.results import Finding, Fix, Span, TextEdit
from backlint.pipeline.filters import ignored_for_file
from backlint.pipeline.source import decode_source, read_source
from backlint.pipeline.suppress import Suppression, Suppressions, suppressions_for


def lint_config(config: Config, catalog: Catalog) -> Config:
    """The configuration to lint with when BL001 is on: every rule not ignored runs, so a comment
    naming a rule outside ``select`` is judged by that rule's real findings (they are not reported)."""
    if UNUSED_SUPPRESSION not in config.enabled_rules(catalog):
        return config
    return dataclasses.replace(config, extend_select=(*config.extend_select, "ALL"))


def judged_rules(config: Config, catalog: Catalog) -> frozenset[str]:
    return frozenset(lint_config(config, catalog).enabled_rules(catalog))


def unused_suppressions(
    findings: Sequence[Finding],
    paths: Iterable[str],
    *,
    config: Config,
    catalog: Catalog,
    knowledge: object,
    max_file_size: int,
    buffers: Mapping[str, bytes] | None = None,
    unjudged: frozenset[str] = frozenset(),
) -> list[Finding]:
    """BL001 findings for the files at ``paths`` (display paths), given every finding of the run.

    ``unjudged``: rules whose findings could not all be judged (project rules missing some facts,
    ``RunResult.unjudged_rules``): their silence proves nothing, so comments naming them are left alone.
    """

    judged = judged_rules(config, catalog) - unjudged
    level = config.level_of(UNUSED_SUPPRESSION, catalog.rules[UNUSED_SUPPRESSION].level)
    by_path: dict[str, list[Finding]] = {}
    for finding in findings:
        by_path.setdefault(finding.path, []).append(finding)
    out: list[Finding] = []
    for path in paths:
        mine = by_path.get(path, [])
        if any(f.rule_id == PARSE_ERROR for f in mine):
            continue  # no rule looked at this file
        if buffers and path in buffers:
            text, _, _ = decode_source(buffers[path], path)
        else:
            text, _, _ = read_source(Path(path), max_file_size)
        if text is None or ("backlint" not in text.lower() and "noqa" not in text.lower()):
            continue
        suppressions = suppressions_for(text, knowledge, config.honor_foreign_ignores)
        candidates = [s for s in suppressions.all_inline() if not s.foreign and not _bare_noqa(s)]
        if not candidates:
            continue
        used = _used(mine, suppressions)
        starts = _line_starts(text)
        for suppression in candidates:
            column = suppression.column + 1
            did = used.get((suppression.line, suppression.text), set())
            unused = _unused_ids(suppression, did, path, judged, config)
            if unused is None:
                continue
            message = _message(suppression, unused)
            line_text = suppressions.lines[suppression.line - 1]
            finding = Finding(
                rule_id=UNUSED_SUPPRESSION,
                path=path,
                span=Span(suppression.line, column, suppression.line, column + len(suppression.text)),
                message=message,
                level=level,
                statement_lines=(suppression.line, suppression.line),
                source_lines=[line_text],
            )
            finding.fix = stale_code_fix(suppressions.lines, starts, suppression, unused)
            hit = _silencer(suppressions, suppression)
            finding.suppressed_by = hit.text if hit is not None else None
            if not ignored_for_file(finding, config):
                out.append(finding)
    return out


def _silencer(suppressions: Suppressions, reported: Suppression) -> Suppression | None:
    """Another comment that silences BL001 here: one naming it, or a bare ``ignore-file``. A bare
    ``# backlint: ignore`` cannot silence the report that it is itself unused."""
    for other in [*suppressions.file_level, *suppressions.on_line(reported.line)]:
        if other == reported or other.foreign or not other.covers(UNUSED_SUPPRESSION):
            continue
        if other.ids is not None or other in suppressions.file_level:
            return other
    return None


def _bare_noqa(suppression: Suppression) -> bool:
    """A ``# noqa`` without codes serves flake8 and ruff too: never ours to call unused."""
    return suppression.ids is None and "noqa" in suppression.text.lower()


def _used(findings: Iterable[Finding], suppressions: Suppressions) -> dict[tuple[int, str], set[str]]:
    """For each comment (line, text): its ids that silenced a finding ("*" for a bare ignore)."""
    used: dict[tuple[int, str], set[str]] = {}
    for finding in findings:
        if finding.suppressed_by is None or finding.rule_id == UNUSED_SUPPRESSION:
            continue
        hit = suppressions.find(finding.rule_id, *finding.statement_lines)
        if hit is None or hit.foreign:
            continue
        ids = {"*"} if hit.ids is None else {i for i in hit.ids if i == "ALL" or finding.rule_id.startswith(i)}
        used.setdefault((hit.line, hit.text), set()).update(ids)
    return used


def _unused_ids(
    suppression: Suppression, used: set[str], path: str, judged: frozenset[str], config: Config
) -> list[str] | None:
    """The ids of a comment that did nothing (``[]``: a bare comment that did nothing), or None when it
    did its work or cannot be judged."""
    if suppression.ids is None:
        return None if used else []
    unused = [i for i in suppression.ids if i not in used and _judged(i, path, judged, config)]
    return unused or None


def _message(suppression: Suppression, unused: list[str]) -> str:
    if not unused or len(unused) == len(suppression.ids or ()):
        return f"unused suppression: `{suppression.text}` suppresses no finding"
    names = ", ".join(f"`{i}`" for i in unused)
    return f"unused suppression: {names} in `{suppression.text}` suppresses no finding"


_BREAK = re.compile(r"\r\n|\r|\n")


def _line_starts(text: str) -> list[int]:
    """Offsets of the physical lines' starts (as ``physical_lines`` numbers them), and of the end."""
    return [0, *(m.end() for m in _BREAK.finditer(text)), len(text)]


def stale_code_fix(lines: list[str], starts: list[int], suppression: Suppression, unused: list[str]) -> Fix | None:
    """BL001's fix: the stale ids taken out of the comment, or the suppression removed when all are.

    What else the comment says stays a comment (``# backlint: ignore[BL101]  # reviewed`` becomes
    ``# reviewed``); a line holding only the suppression goes. Safe: no finding is suppressed by it.
    """
    number = suppression.line
    if not 0 < number <= len(lines) or number >= len(starts):
        return None
    line = lines[number - 1]
    start, end = suppression.column, suppression.column + len(suppression.text)
    if line[start:end] != suppression.text:
        return None
    replacement = _without_ids(suppression.text, unused) if suppression.ids is not None else None
    if replacement is not None:  # other ids (``# noqa``: other tools' codes too) stay
        description = f"Remove {', '.join(unused)} from the suppression"
        cut = (start, end, replacement)
    else:
        description = "Remove the unused suppression"
        rest = line[end:]
        if line[:start].strip() == "" and rest.strip() == "":  # the line is only the comment: it goes
            offset = starts[number - 1]
            following = starts[number] if number < len(starts) - 1 else len(line) + offset
            span = Span(number, 1, number + 1, 1)
            return Fix("safe", description, (TextEdit(offset, following, "", span),))
        if rest.strip() == "":  # code, then the comment: the comment and the blanks before it go
            cut = (len(line[:start].rstrip()), len(line), "")
        elif rest.lstrip().startswith("#"):  # another comment follows: it stays
            cut = (start, end + len(rest) - len(rest.lstrip()), "")
        else:  # the comment goes on in words: they stay a comment
            cut = (start, end + len(rest) - len(rest.lstrip()), "# ")
    first, last, replacement_text = cut
    offset = starts[number - 1]
    span = Span(number, first + 1, number, last + 1)
    return Fix("safe", description, (TextEdit(offset + first, offset + last, replacement_text, span),))


_BRACKETED = re.compile(r"\[(?P<ids>[^\]]*)\]")
_NOQA_CODES = re.compile(r"noqa\s*:\s*(?P<ids>[A-Za-z]+[0-9]+(?:[\s,]+[A-Za-z]+[0-9]+)*)", re.IGNORECASE)


def _without_ids(text: str, unused: list[str]) -> str | None:
    """``# backlint: ignore[BL101, BL402]`` without BL101; ``# noqa: E501, BL101`` without BL101."""
    match = (_BRACKETED if "[" in text else _NOQA_CODES).search(text)
    if match is None:
        return None
    ids = [i for i in re.split(r"[\s,]+", match.group("ids")) if i]
    kept = [i for i in ids if i.upper() not in unused]
    if not kept or len(kept) == len(ids):
        return None
    return text[: match.start("ids")] + ", ".join(kept) + text[match.end("ids") :]


def _judged(selector: str, path: str, judged: frozenset[str], config: Config) -> bool:
    """Whether some rule the selector names ran on this file (so its silence means something)."""

    if selector == UNUSED_SUPPRESSION:
        return False
    rules = [r for r in judged if selector == "ALL" or r.startswith(selector)]
    probe = Finding(rule_id="", path=path, span=Span(), message="", level="note")
    return any(not ignored_for_file(dataclasses.replace(probe, rule_id=r), config) for r in rules)
