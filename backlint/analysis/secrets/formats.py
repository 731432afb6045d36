"""Known-format secrets (the secret-patterns table) in string literals and comments."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from backlint.analysis.secrets.facts import KnownFormat
from backlint.analysis.secrets.slots import slot_name
from backlint.analysis.strings import literal_text, raw_text, secret_patterns
from backlint.core.rule import Analysis, FileContext


def top_literal(ancestors: list[cst.CSTNode]) -> bool:
    """False for the parts of an implicit concatenation: the whole literal is checked once."""
    return len(ancestors) < 2 or type(ancestors[-2]) is not cst.ConcatenatedString  # isinstance(): 10x slower


class SecretFormats(Analysis):
    """Every known-format token of the file: in literals (each pattern's first match in each) and in
    comments. ``facts`` in the order found, comments first."""

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.patterns = secret_patterns(context.knowledge)
        self.facts: list[KnownFormat] = []

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        self._check_literal(node)

    def visit_ConcatenatedString(self, node: cst.ConcatenatedString) -> None:
        self._check_literal(node)

    def visit_FormattedString(self, node: cst.FormattedString) -> None:
        self._check_literal(node)

    def _check_literal(self, node: cst.BaseExpression) -> None:
        ancestors = self.context.ancestors
        if not top_literal(ancestors):
            return
        name = slot_name(ancestors)
        prefilter = self.patterns.prefilter
        if not prefilter.search(raw_text(node)) and (name is None or not prefilter.search(name)):
            return
        text = literal_text(node)
        if text is not None:
            self._record(node, text, name)

    def _record(self, node: cst.CSTNode, text: str, name: str | None) -> None:
        for match in self.patterns.search(text, name):
            self.facts.append(KnownFormat(node, match.secret, tuple(self.context.ancestors), match.pattern, name))

    def visit_Module(self, node: cst.Module) -> None:
        """Comments are not walked: find the lines whose comment holds a token, then their nodes."""
        hits = []
        for line in self.context.source.splitlines():
            start = line.find("#")
            if start < 0 or not self.patterns.prefilter.search(line, start):
                continue
            if next(iter(self.patterns.search(line[start:])), None) is not None:
                hits.append(line[start:])
        if hits:
            for comment in _comments(node):
                self._record(comment, comment.value, None)


def _comments(node: cst.CSTNode) -> Iterator[cst.Comment]:
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Comment):
            yield current
        else:
            stack.extend(current.children)
