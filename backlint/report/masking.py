"""The output boundary: every string of a finished run is masked with every secret of the files it
shows, before any reporter, the editor or a notice on stderr sees it (issue 20).

The per-file stage already masks what it caches (backlint/pipeline/filestage.py); this is the last
guard, and the only one for findings made elsewhere (a merge of shard files, the unused-suppression
check, a run whose cache predates a secret format): the places of each file's secrets come with the
run (``RunResult.secrets``), or are found here by the secret tables for a file the run did not parse.
Secret values are read back from the files only to mask them, and are never kept.
"""

from __future__ import annotations

import bisect
import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from backlint.core.catalog import Knowledge
from backlint.core.ids import PARSE_ERROR
from backlint.core.masking import SecretText, is_word, mask_spans, secret_values
from backlint.core.results import Finding, Fix, Notice, RelatedLocation, RunResult, Span
from backlint.pipeline.source import decode_source

_LINE_BREAK = re.compile(r"\r\n?|\n")
Reader = Callable[[str], "str | None"]


def disk_reader(sources: Mapping[str, bytes] | None = None, root: Path | None = None) -> Reader:
    """Reads a shown path's text: a buffer of ``sources`` (standard input), else the file on disk."""
    buffers = dict(sources or {})

    def read(path: str) -> str | None:
        data = buffers.get(path)
        if data is None:
            candidate = Path(path)
            if not candidate.is_absolute() and root is not None and not candidate.exists():
                candidate = root / path
            try:
                data = candidate.read_bytes()
            except OSError:
                return None
        text, _, _ = decode_source(data, path)
        return text

    return read


class RunMasker:
    """Knows every secret of the files a run shows, and masks any string with them.

    A secret that is a plain word ("password" as a fallback) masks only the strings about its own
    file (a finding there, its related locations, its fix); every other secret masks every string.
    """

    def __init__(self, known: Mapping[str, list[Span]], read: Reader, knowledge: Knowledge | None) -> None:
        self.known = dict(known)
        self.read = read
        self.knowledge = knowledge
        self.values: set[str] = set()
        self.words: dict[str, set[str]] = {}
        self.looked: set[str] = set()
        self.text = SecretText(())
        self._scoped: dict[frozenset[str], SecretText] = {}

    def learn(self, paths: Iterable[str]) -> None:
        """Read the secrets of ``paths`` (their places from the run, or found now), once each."""
        grew = False
        for path in paths:
            if path in self.looked:
                continue
            self.looked.add(path)
            spans = self.known.get(path)
            if spans is not None and not spans:
                continue
            text = self.read(path)
            if text is None:
                continue
            if spans is None:
                spans = self.known[path] = self._find(text, path)
            found = secret_values(text, spans)
            words = {value for value in found if is_word(value)}
            if words:
                self.words[path] = words
            grew = grew or not (found - words) <= self.values
            self.values |= found - words
        if grew:
            self.text = SecretText(self.values)

    def _find(self, text: str, path: str) -> list[Span]:
        if self.knowledge is None:
            return []
        from backlint.analysis.secrets.spans import find_secret_spans  # imports libcst: only for unparsed files

        starts = _line_starts(text)
        return [_span(starts, found.start, found.end) for found in find_secret_spans(text, self.knowledge, path)]

    def string(self, value: str, about: Iterable[str] = ()) -> str:
        """``value`` masked; ``about``: the files it speaks of (their plain-word secrets count too)."""
        scope = frozenset(path for path in about if path in self.words)
        if scope:
            scoped = self._scoped.get(scope)
            if scoped is None:
                scoped = self._scoped[scope] = SecretText(set().union(*(self.words[p] for p in scope)))
            value = scoped.mask(value)
        return self.text.mask(value)

    def finding(self, finding: Finding, *, keep_edits: bool = False) -> Finding:
        """The finding as it may be shown; ``keep_edits``: its fix's edits stay as they are (the
        editor applies them to the user's own buffer, and they are not shown)."""
        about = [
            finding.path,
            *(r.path for r in finding.related),
            *([finding.fix.path] if finding.fix and finding.fix.path else []),
        ]
        spans = self.known.get(finding.path) or ()
        lines = mask_spans(finding.source_lines, finding.span.line, spans) if spans else finding.source_lines
        return dataclasses.replace(
            finding,
            message=self.string(finding.message, about),
            related=[RelatedLocation(r.path, r.span, self.string(r.message, about)) for r in finding.related],
            source_lines=[self.string(line, about) for line in lines],
            fix=self.fix(finding.fix, about, keep_edits) if finding.fix is not None else None,
        )

    def fix(self, fix: Fix, about: Iterable[str], keep_edits: bool = False) -> Fix:
        about = list(about)
        edits = fix.edits
        if not keep_edits:
            edits = tuple(dataclasses.replace(e, text=self.string(e.text, about)) for e in fix.edits)
        return dataclasses.replace(fix, description=self.string(fix.description, about), edits=edits)

    def notice(self, notice: Notice) -> Notice:
        return dataclasses.replace(notice, message=self.string(notice.message, [notice.path]))


def shown_paths(result: RunResult) -> list[str]:
    """Every file whose text a run's output may quote: the findings', their related locations' and
    fixes'. A file whose only finding is that it cannot be parsed (BL000) is not searched: it was not
    parsed, and parsing it here could cost what the per-file stage's limits guard against."""
    paths: dict[str, None] = {}
    for finding in result.findings:
        if finding.rule_id == PARSE_ERROR:
            continue
        paths[finding.path] = None
        for related in finding.related:
            paths[related.path] = None
        if finding.fix is not None and finding.fix.path:
            paths[finding.fix.path] = None
    return list(paths)


def masker_for(result: RunResult, read: Reader, knowledge: Knowledge | None) -> RunMasker:
    masker = RunMasker(result.secrets, read, knowledge)
    # Files with secrets first (few), then those with findings: their values mask every string.
    masker.learn(path for path, spans in result.secrets.items() if spans)
    masker.learn(shown_paths(result))
    return masker


def mask_run(result: RunResult, read: Reader, knowledge: Knowledge | None) -> RunResult:
    """A copy of ``result`` with every secret of the files it shows masked in every string."""
    masker = masker_for(result, read, knowledge)
    return dataclasses.replace(
        result,
        findings=[masker.finding(f) for f in result.findings],
        notices=[masker.notice(n) for n in result.notices],
    )


def _line_starts(text: str) -> list[int]:
    return [0] + [match.end() for match in _LINE_BREAK.finditer(text)]


def _span(starts: list[int], start: int, end: int) -> Span:
    first = bisect.bisect_right(starts, start)
    last = bisect.bisect_right(starts, end)
    return Span(first, start - starts[first - 1] + 1, last, end - starts[last - 1] + 1)
