"""Every secret of a file, whatever rules are selected: what the output layer masks (issue 20).

``SecretSpans`` (an Analysis) gathers the detectors' facts — known-format tokens in literals and
comments, credential literals in slots, passwords of connection URLs and strings, hardcoded
fallbacks of secret variables — and adds passwords written in SQL text (rules/tables/secret-sql.toml).
``find_secret_spans`` does the same for a source text outside a lint run, as ``FoundSecret`` offsets;
in a lint run, locate each fact's node (``context.locate``) and take ``secret_offsets`` inside it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import NamedTuple

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from backlint.analysis.secrets.credentials import CredentialSlots, sink_words
from backlint.analysis.secrets.facts import EnvFallback, KnownFormat, SecretFact, SqlPassword, UrlCredential
from backlint.analysis.secrets.fallbacks import EnvFallbacks, fallback_triggers
from backlint.analysis.secrets.formats import SecretFormats, top_literal
from backlint.analysis.secrets.urls import CredentialUrls
from backlint.analysis.strings import HOLE, is_templated, literal_text, name_triggers, raw_text, trigger_tokens
from backlint.core.catalog import Knowledge
from backlint.core.imports import ImportTable
from backlint.core.patterns import compile_pattern
from backlint.core.results import FileKind
from backlint.core.rule import Analysis, FileContext, required_analyses
from backlint.pipeline.walk import BatchedWalker, children

_SQL_WORDS = re.compile(r"(?i)password|identified")


def _sql_patterns(knowledge: Knowledge) -> tuple[re.Pattern[str], ...]:
    return tuple(compile_pattern(row["regex"]) for row in knowledge.rows("secret-sql"))


class SecretSpans(Analysis):
    """All the file's secrets (``facts()``), found by the secret tables whatever rules are selected."""

    REQUIRES = (SecretFormats, CredentialSlots, CredentialUrls, EnvFallbacks)
    # What a connection URL or string with a password holds (BL203's triggers, backlint/checks/secrets.py),
    # and the words of a password in SQL text.
    URL_TRIGGERS = ("://", "password=", "Password=", "PASSWORD=", "PWD=", "Pwd=")
    SQL_TRIGGERS = ("PASSWORD", "password", "Password", "IDENTIFIED", "identified", "Identified")

    @classmethod
    def trigger_tokens(cls, knowledge: Knowledge) -> tuple[str, ...]:
        """Tokens without which no detector finds a secret in a file: the per-file stage runs this
        analysis only where one occurs (the secret rules' own triggers, from the same tables)."""
        return knowledge.derived(_triggers)

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.sql = context.knowledge.derived(_sql_patterns)
        self.in_sql: list[SqlPassword] = []

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        self._check(node)

    def visit_ConcatenatedString(self, node: cst.ConcatenatedString) -> None:
        self._check(node)

    def visit_FormattedString(self, node: cst.FormattedString) -> None:
        self._check(node)

    def _check(self, node: cst.BaseExpression) -> None:
        if not top_literal(self.context.ancestors) or not _SQL_WORDS.search(raw_text(node)):
            return
        text = literal_text(node)
        if text is None:
            return
        for pattern in self.sql:
            for match in pattern.finditer(text):
                secret = match.group(1)
                if HOLE not in secret and not is_templated(secret):
                    self.in_sql.append(SqlPassword(node, secret, tuple(self.context.ancestors)))

    def facts(self) -> Iterator[SecretFact]:
        """Every secret found, detector by detector (a literal may be found by several)."""
        get = self.context.get
        yield from get(SecretFormats).facts
        yield from get(CredentialSlots).facts
        yield from get(CredentialUrls).facts
        yield from get(EnvFallbacks).facts
        yield from self.in_sql

    def found(self, positions: Mapping[cst.CSTNode, CodeRange], line_starts: Sequence[int]) -> list[FoundSecret]:
        """Every secret as offsets into the file's text, given the walk's positions and where lines start."""
        source = self.context.source
        found = []
        for fact in self.facts():
            where = positions[fact.node]
            start = line_starts[where.start.line - 1] + where.start.column
            end = line_starts[where.end.line - 1] + where.end.column
            found.append(FoundSecret(*secret_offsets(source, start, end, fact.secret), kind_of(fact)))
        return sorted(set(found))


def _triggers(knowledge: Knowledge) -> tuple[str, ...]:
    tokens = (
        *trigger_tokens(knowledge),
        *name_triggers(knowledge, ("password", "secret")),
        *sink_words(knowledge),
        *fallback_triggers(knowledge),
        *SecretSpans.URL_TRIGGERS,
        *SecretSpans.SQL_TRIGGERS,
    )
    return tuple(dict.fromkeys(tokens))


class FoundSecret(NamedTuple):
    """A secret in a text: code-point offsets of the secret itself (not its quotes or URL), and its
    ``kind``: a secret-patterns id, "credential-slot", "url-password" or "sql-password"."""

    start: int
    end: int
    kind: str


def kind_of(fact: SecretFact) -> str:
    if isinstance(fact, KnownFormat):
        return fact.pattern.id
    if isinstance(fact, UrlCredential) or (isinstance(fact, EnvFallback) and fact.url is not None):
        return "url-password"
    if isinstance(fact, SqlPassword):
        return "sql-password"
    return "credential-slot"


def secret_offsets(source: str, start: int, end: int, secret: str) -> tuple[int, int]:
    """Where ``secret`` is in ``source[start:end]`` (a node's text), as written; the whole node when
    it is not there as written (its literal spells it with escapes)."""
    inside = source.find(secret, start, end) if secret else -1
    return (inside, inside + len(secret)) if inside >= 0 else (start, end)


def find_secret_spans(source: str, knowledge: Knowledge, path: str = "<source>.py") -> list[FoundSecret]:
    """Every secret ``source`` holds (overlaps possible: a literal found by two detectors), in order.

    Source that does not parse has none: mask it otherwise.
    """
    try:
        module = cst.parse_module(source)
    except (cst.ParserSyntaxError, RecursionError, ValueError, IndexError):
        return []
    imports = ImportTable("", False)
    for node in _imports(module):
        imports.add(node)
    context = FileContext(
        path=path,
        module_name="",
        kind=FileKind.PRODUCTION,
        source=source,
        imports=imports,
        knowledge=knowledge,
        options={},
    )
    for analysis in required_analyses([_Masker]):
        context.analyses[analysis] = analysis(context)
    BatchedWalker(list(context.analyses.values()), context).walk(module)  # type: ignore[arg-type]
    spans = context.get(SecretSpans)
    if not any(True for _ in spans.facts()):
        return []
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    return spans.found(positions, [0] + [m.end() for m in re.finditer(r"\r\n?|\n", source)])


class _Masker:
    """What ``find_secret_spans`` runs: the analyses SecretSpans needs, then SecretSpans."""

    REQUIRES = (SecretSpans,)


def _imports(module: cst.Module) -> Iterator[cst.Import | cst.ImportFrom]:
    """Every import of the module, in order (the detectors resolve call names through them)."""
    stack: list[cst.CSTNode] = [module]
    while stack:
        current = stack.pop()
        if isinstance(current, (cst.Import, cst.ImportFrom)):
            yield current
        elif not isinstance(current, cst.BaseExpression):
            stack.extend(reversed(children(current)))
