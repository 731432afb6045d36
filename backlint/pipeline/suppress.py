"""Inline suppressions: ``# backlint: ignore[BL101,BL2]``, ``# noqa: BL101``, and file-level ignores.

With ``honor-foreign-ignores`` (the default), other tools' comments (``# nosec B608``, ``# noqa: S608``,
``# nosemgrep: <rule id>``) count too, mapped to backlint rules by the ``foreign-ignores`` table: a
line another tool's review already accepted is not raised again.
"""

from __future__ import annotations

import dataclasses
import io
import re
import tokenize
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

_IGNORE = re.compile(r"#\s*backlint:\s*ignore(?!-)(?:\[(?P<ids>[^\]]*)\])?", re.IGNORECASE)
_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<ids>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)
_OUR_CODE = re.compile(r"BL[0-9]+")
_MARKER_WORDS = ("backlint", "noqa")
_MARKERS = re.compile("|".join(_MARKER_WORDS), re.IGNORECASE)
_IGNORE_FILE = re.compile(r"^\s*#\s*backlint:\s*ignore-file(?:\[(?P<ids>[^\]]*)\])?", re.IGNORECASE | re.MULTILINE)
_NOSEC = re.compile(r"#\s*nosec\b:?(?P<tests>[^#]*)", re.IGNORECASE)
_BANDIT_ID = re.compile(r"B[0-9]+")
_BANDIT_NAME = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+")  # a test name such as hardcoded_sql_expressions
_NOSEMGREP = re.compile(r"#\s*nosemgrep\b(?:\s*:\s*(?P<ids>[\w.\-/]+(?:\s*,\s*[\w.\-/]+)*))?", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class Suppression:
    line: int
    ids: tuple[str, ...] | None  # None: every rule
    text: str
    foreign: bool = False  # another tool's comment, honoured through the foreign-ignores table
    column: int = 0  # 0-based, where the comment text starts on its line

    def covers(self, rule_id: str) -> bool:
        return self.ids is None or any(i == "ALL" or rule_id.startswith(i) for i in self.ids)


_NEWLINE = re.compile(r"\r\n|\r|\n")


def physical_lines(source: str) -> list[str]:
    """Lines as the parser numbers them: ``str.splitlines`` also breaks at form feeds and U+2028.
    Without a carriage return, ``str.split`` gives the same lines ten times cheaper than the regex."""
    lines = source.split("\n") if "\r" not in source else _NEWLINE.split(source)
    if lines and not lines[-1]:
        lines.pop()
    return lines


def _ids(raw: str | None) -> tuple[str, ...] | None:
    if raw is None:
        return None
    ids = tuple(i.strip().upper() for i in re.split(r"[\s,]+", raw) if i.strip())
    return ids or None


@dataclasses.dataclass(frozen=True)
class ForeignIgnores:
    """Other tools' codes and markers → backlint rule ids (the ``foreign-ignores`` table)."""

    bandit: Mapping[str, tuple[str, ...]]  # test id (B608) or test name → rule ids
    noqa: Mapping[str, tuple[str, ...]]  # ruff/flake8 code (S608) → rule ids
    markers: tuple[tuple[str, tuple[str, ...]], ...]  # lower-cased comment marker → rule ids
    semgrep: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)  # lower-cased rule id → ids

    @property
    def bandit_blanket(self) -> tuple[str, ...]:
        """What a bare ``# nosec`` covers: every rule some bandit test maps to."""
        return tuple(sorted({i for ids in self.bandit.values() for i in ids}))

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]]) -> ForeignIgnores:
        """Build the mapping; a row with an unknown tool or a malformed rule list is an error."""
        bandit: dict[str, set[str]] = {}
        noqa: dict[str, set[str]] = {}
        markers: dict[str, set[str]] = {}
        semgrep: dict[str, set[str]] = {}
        for row in rows:
            rules = row.get("rules")
            if not isinstance(rules, list) or not all(isinstance(r, str) and _OUR_CODE.fullmatch(r) for r in rules):
                raise ValueError(f"foreign-ignores: rules must be a list of backlint rule ids, got {rules!r}")
            code = str(row.get("code", "")).strip()
            if not code:
                raise ValueError(f"foreign-ignores: empty code in {dict(row)!r}")
            tool = row.get("tool")
            if tool == "bandit":
                for key in (code.upper(), str(row.get("name", "")).lower()):
                    if key:
                        bandit.setdefault(key, set()).update(rules)
            elif tool == "noqa":
                noqa.setdefault(code.upper(), set()).update(rules)
            elif tool == "comment":
                markers.setdefault(code.lower(), set()).update(rules)
            elif tool == "semgrep":
                semgrep.setdefault(code.lower(), set()).update(rules)
            else:
                raise ValueError(
                    f"foreign-ignores: tool must be 'bandit', 'noqa', 'semgrep' or 'comment', got {tool!r}"
                )

        def frozen(table: dict[str, set[str]]) -> dict[str, tuple[str, ...]]:
            return {key: tuple(sorted(ids)) for key, ids in table.items()}

        return cls(frozen(bandit), frozen(noqa), tuple(sorted(frozen(markers).items())), frozen(semgrep))

    def semgrep_rules(self, rule_id: str) -> set[str]:
        """The backlint rules a ``# nosemgrep: <rule id>`` names: the rows whose semgrep id is the one
        written, or ends with it after a dot (semgrep accepts a registry id without its path)."""
        wanted = rule_id.lower()
        return {i for code, ids in self.semgrep.items() if code == wanted or code.endswith("." + wanted) for i in ids}

    def marker_pattern(self) -> re.Pattern[str]:
        """Text whose presence means the file may hold a foreign comment (a cheap pre-check)."""
        words = ["nosec", "noqa", "nosemgrep", *(re.escape(marker) for marker, _ in self.markers)]
        return re.compile("|".join(words), re.IGNORECASE)

    def marker_words(self) -> tuple[str, ...]:
        """``marker_pattern``'s words, for ``_mentions``."""
        return ("nosec", "noqa", "nosemgrep", *(marker for marker, _ in self.markers))

    def on_line(self, line: int, text: str) -> list[Suppression]:
        found = []
        for m in _NOSEC.finditer(text):
            tests = [t for t in re.split(r"[\s,]+", m.group("tests")) if t]
            named = [t for t in tests if _BANDIT_ID.fullmatch(t.upper()) or _BANDIT_NAME.fullmatch(t)]
            if named:  # bandit ignores words that name no test; naming none at all is its blanket nosec
                ids = {i for t in named for i in self.bandit.get(t.upper(), self.bandit.get(t, ()))}
            else:
                ids = set(self.bandit_blanket)
            if ids:
                found.append(Suppression(line, tuple(sorted(ids)), m.group(0).rstrip(), True, m.start()))
        for m in _NOQA.finditer(text):
            codes = _ids(m.group("ids")) or ()
            ids = {i for code in codes for i in self.noqa.get(code, ())}
            if ids:
                found.append(Suppression(line, tuple(sorted(ids)), m.group(0), True, m.start()))
        for m in _NOSEMGREP.finditer(text):
            if m.group("ids") is None:  # a bare nosemgrep: semgrep's review of the whole line
                found.append(Suppression(line, None, m.group(0), True, m.start()))
                continue
            ids = {i for rule_id in re.split(r"\s*,\s*", m.group("ids")) for i in self.semgrep_rules(rule_id)}
            if ids:
                found.append(Suppression(line, tuple(sorted(ids)), m.group(0), True, m.start()))
        lowered = text.lower()
        start = lowered.find("#")
        for marker, rule_ids in self.markers:
            at = lowered.find(marker, start) if start >= 0 else -1
            if at >= 0:
                found.append(Suppression(line, rule_ids, marker, True, at))
        return found


_FOREIGN_MEMO: list[tuple[Any, ForeignIgnores]] = []


def foreign_ignores(rows: list[dict[str, Any]]) -> ForeignIgnores:
    """The mapping for a table's rows, built once per process for the same rows object."""
    if not _FOREIGN_MEMO or _FOREIGN_MEMO[0][0] is not rows:
        _FOREIGN_MEMO[:] = [(rows, ForeignIgnores.from_rows(rows))]
    return _FOREIGN_MEMO[0][1]


def _mentions(source: str, lowered: str | None, words: tuple[str, ...], pattern: Callable[[], re.Pattern[str]]) -> bool:
    """Whether ``pattern`` (``words`` in any case) occurs in ``source``. An ASCII text (nearly every
    file; ``lowered``, else None) is searched with ``in``: a case-insensitive regex search of the
    whole file cost ~0.4 ms a file (0.7 s of a cold run on django/); other text keeps the regex,
    whose Unicode case rules (the Kelvin sign is a ``k``) ``str.lower`` does not follow."""
    if lowered is not None and all(word.isascii() for word in words):
        return any(word.lower() in lowered for word in words)
    return pattern().search(source) is not None


class Suppressions:
    """The suppression comments of one file, looked up by line."""

    def __init__(self, source: str, foreign: ForeignIgnores | None = None) -> None:
        self.lines = physical_lines(source)
        self.foreign = foreign
        lowered = source.lower() if source.isascii() else None
        self._may_have_comments = _mentions(source, lowered, _MARKER_WORDS, lambda: _MARKERS)
        self._may_have_foreign = foreign is not None and _mentions(
            source, lowered, foreign.marker_words(), foreign.marker_pattern
        )
        self._comments: dict[int, list[tuple[int, int]]] | None = None
        self._tokenized = False
        self._file_level = [
            Suppression(line, _ids(m.group("ids")), m.group(0).strip(), column=m.group(0).index("#"))
            for m in (_IGNORE_FILE.finditer(source) if self._may_have_comments else ())  # it says "backlint"
            for line in (source.count("\n", 0, m.start()) + 1,)
        ]

    @property
    def file_level(self) -> list[Suppression]:
        """``# backlint: ignore-file[...]`` comments (text that only looks like one in a string is not)."""
        return [s for s in self._file_level if self._in_comment(s)] if self._file_level else []

    def on_line(self, line: int) -> list[Suppression]:
        """The suppression comments of a line: real comments only, not look-alikes inside strings."""
        found = self._candidates(line)
        return [s for s in found if self._in_comment(s)] if found else found

    def _candidates(self, line: int) -> list[Suppression]:
        if not 0 < line <= len(self.lines):
            return []
        text = self.lines[line - 1]
        if "#" not in text:
            return []
        found = []
        for m in _IGNORE.finditer(text):
            found.append(Suppression(line, _ids(m.group("ids")), m.group(0), column=m.start()))
        for m in _NOQA.finditer(text):
            ids = _ids(m.group("ids"))
            if ids is not None:
                ids = tuple(i for i in ids if _OUR_CODE.fullmatch(i))  # not flake8-blind-except's BLE001
                if not ids:
                    continue  # a noqa for other tools' codes only
            found.append(Suppression(line, ids, m.group(0), column=m.start()))
        if self._may_have_foreign:
            assert self.foreign is not None
            found.extend(self.foreign.on_line(line, text))
        return found

    def _in_comment(self, suppression: Suppression) -> bool:
        """Whether the suppression starts inside a comment token. The file is tokenized once, and only
        when a candidate matters; a file that does not tokenize keeps every candidate."""
        if not self._tokenized:
            self._comments = comment_columns("\n".join(self.lines))
            self._tokenized = True
        if self._comments is None:
            return True
        spans = self._comments.get(suppression.line, ())
        return any(start <= suppression.column < end for start, end in spans)

    def find(self, rule_id: str, first_line: int, last_line: int) -> Suppression | None:
        for suppression in self.file_level:
            if suppression.covers(rule_id):
                return suppression
        for line in range(first_line, last_line + 1):
            for suppression in self.on_line(line):
                if suppression.covers(rule_id):
                    return suppression
        return None

    def all_inline(self) -> list[Suppression]:
        return [s for n in range(1, len(self.lines) + 1) for s in self.on_line(n)] + self.file_level

    def unknown_ids(self, known: Collection[str]) -> list[tuple[int, str, str]]:
        """``(line, id, comment)`` for ids in suppression comments that name no rule and prefix none.

        A typo such as ``ignore[BL4O2]`` would otherwise silently suppress nothing.
        """
        if not self._may_have_comments:
            return []
        out: list[tuple[int, str, str]] = []
        candidates = [s for n in range(1, len(self.lines) + 1) for s in self._candidates(n)] + self._file_level
        for suppression in candidates:  # checked to be comments only when one names an unknown id
            if suppression.foreign:
                continue
            unknown = [i for i in suppression.ids or () if i != "ALL" and not any(k.startswith(i) for k in known)]
            if unknown and self._in_comment(suppression):
                out.extend((suppression.line, rule_id, suppression.text) for rule_id in unknown)
        return sorted(set(out))


def comment_columns(text: str) -> dict[int, list[tuple[int, int]]] | None:
    """Line → (start, end) 0-based columns of its comments; None when the text does not tokenize."""
    comments: dict[int, list[tuple[int, int]]] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(text, newline=None).readline):
            if token.type == tokenize.COMMENT:
                comments.setdefault(token.start[0], []).append((token.start[1], token.end[1]))
    except (tokenize.TokenError, SyntaxError):
        return None
    return comments


def suppressions_for(text: str, knowledge: Any, honor_foreign: bool) -> Suppressions:
    """A file's suppressions as the run sees them: with the foreign-ignores table when honoured."""
    foreign = foreign_ignores(knowledge.rows("foreign-ignores")) if honor_foreign else None
    return Suppressions(text, foreign)
