"""Inline suppressions: ``# backlint: ignore[BL101,BL2]``, ``# noqa: BL101``, and file-level ignores."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection

_IGNORE = re.compile(r"#\s*backlint:\s*ignore(?!-)(?:\[(?P<ids>[^\]]*)\])?", re.IGNORECASE)
_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<ids>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)
_OUR_CODE = re.compile(r"BL[0-9]+")
_MARKERS = re.compile(r"backlint|noqa", re.IGNORECASE)
_IGNORE_FILE = re.compile(r"^\s*#\s*backlint:\s*ignore-file(?:\[(?P<ids>[^\]]*)\])?", re.IGNORECASE | re.MULTILINE)


@dataclasses.dataclass(frozen=True)
class Suppression:
    line: int
    ids: tuple[str, ...] | None  # None: every rule
    text: str

    def covers(self, rule_id: str) -> bool:
        return self.ids is None or any(i == "ALL" or rule_id.startswith(i) for i in self.ids)


_NEWLINE = re.compile(r"\r\n|\r|\n")


def physical_lines(source: str) -> list[str]:
    """Lines as the parser numbers them: ``str.splitlines`` also breaks at form feeds and U+2028."""
    lines = _NEWLINE.split(source)
    if lines and not lines[-1]:
        lines.pop()
    return lines


def _ids(raw: str | None) -> tuple[str, ...] | None:
    if raw is None:
        return None
    ids = tuple(i.strip().upper() for i in re.split(r"[\s,]+", raw) if i.strip())
    return ids or None


class Suppressions:
    """The suppression comments of one file, looked up by line."""

    def __init__(self, source: str) -> None:
        self.lines = physical_lines(source)
        self._may_have_comments = _MARKERS.search(source) is not None
        self.file_level: list[Suppression] = [
            Suppression(source.count("\n", 0, m.start()) + 1, _ids(m.group("ids")), m.group(0))
            for m in _IGNORE_FILE.finditer(source)
        ]

    def on_line(self, line: int) -> list[Suppression]:
        if not 0 < line <= len(self.lines):
            return []
        text = self.lines[line - 1]
        if "#" not in text:
            return []
        found = []
        for m in _IGNORE.finditer(text):
            found.append(Suppression(line, _ids(m.group("ids")), m.group(0)))
        for m in _NOQA.finditer(text):
            ids = _ids(m.group("ids"))
            if ids is not None:
                ids = tuple(i for i in ids if _OUR_CODE.fullmatch(i))  # not flake8-blind-except's BLE001
                if not ids:
                    continue  # a noqa for other tools' codes only
            found.append(Suppression(line, ids, m.group(0)))
        return found

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
        out = []
        for suppression in self.all_inline():
            for rule_id in suppression.ids or ():
                if rule_id != "ALL" and not any(k.startswith(rule_id) for k in known):
                    out.append((suppression.line, rule_id, suppression.text))
        return sorted(set(out))
