"""The rule API: what a check sees (FileContext), what it reports (Finding)."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import libcst as cst

    from backlint.catalog import Knowledge
    from backlint.imports import ImportTable


class Level(str, enum.Enum):
    """SARIF result levels, in decreasing severity."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


class FileKind(str, enum.Enum):
    """Whether a file is served code, tooling, or a test (rule-catalog §1.1)."""

    PRODUCTION = "production"
    NON_PRODUCTION = "non-production"
    TEST = "test"


@dataclasses.dataclass
class Span:
    """A source range: 1-based lines, 1-based columns, end column exclusive."""

    line: int = 0
    column: int = 0
    end_line: int = 0
    end_column: int = 0


@dataclasses.dataclass
class RelatedLocation:
    path: str
    span: Span
    message: str


@dataclasses.dataclass(frozen=True)
class TextEdit:
    """Replace ``source[start:end]`` (code-point offsets into the linted text, BOM excluded) with ``text``."""

    start: int
    end: int
    text: str
    span: Span  # the same range as lines and columns, for reporters (SARIF ``deletedRegion``)


@dataclasses.dataclass(frozen=True)
class Fix:
    """An autofix: edits that remove the finding. ``safe`` fixes keep behaviour; ``unsafe`` ones need review."""

    safety: str  # "safe" or "unsafe"
    description: str
    edits: tuple[TextEdit, ...]
    path: str | None = None  # the file edited, when not the finding's (a project rule reports on the app)


@dataclasses.dataclass
class Finding:
    """One problem found in one file; plain data so it can cross process boundaries."""

    rule_id: str
    path: str
    span: Span
    message: str
    level: str
    # Physical lines of the statement holding the finding: a suppression on any of them applies.
    statement_lines: tuple[int, int] = (0, 0)
    related: list[RelatedLocation] = dataclasses.field(default_factory=list)
    # The flagged source text is a secret: reporters never show it unmasked.
    sensitive: bool = False
    # Filled by the engine: the source lines of the finding, for reporters (masked if sensitive).
    source_lines: list[str] = dataclasses.field(default_factory=list)
    suppressed_by: str | None = None
    # Dotted names of the classes and functions around the finding ("Service.save", "" at module
    # level), for fingerprints that survive moved lines; None when not known (project findings).
    scope: str | None = None
    # Set when a baseline is in use: "unchanged" (in the baseline, not reported) or "new".
    baseline_state: str | None = None
    fix: Fix | None = None

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.span.line, self.span.column, self.rule_id)


@dataclasses.dataclass
class Notice:
    """A file that could not be linted fully (too large, unreadable, internal error)."""

    path: str
    message: str
    level: str = "warning"
    line: int = 0  # when the notice is about one line (e.g. a suppression comment); 0: the whole file


@dataclasses.dataclass(frozen=True)
class NodeEdit:
    """A fix's edit named by a node of the walked tree; offsets are resolved with the positions.

    ``where``: "replace" the node's text, insert "before" or "after" it, replace its "lines"
    (from the start of its first line through the line break ending its last: deleting a statement),
    or insert "below" it (at the start of the line after its last: a statement after a statement,
    past its trailing comment).
    ``text`` may be pieces: strings, and ``(a, b)`` pairs standing for the source between the end of
    node ``a`` and the start of node ``b`` (kept byte for byte: comments, line breaks, indentation).
    """

    node: cst.CSTNode
    text: str | tuple[str | tuple[cst.CSTNode, cst.CSTNode], ...]
    where: str = "replace"


@dataclasses.dataclass(frozen=True)
class PendingFix:
    safety: str
    description: str
    edits: tuple[NodeEdit, ...]


@dataclasses.dataclass
class PendingReport:
    """A report whose position is resolved after the walk, only if the file has any."""

    rule_id: str
    node: cst.CSTNode
    message: str
    level: str
    sensitive: bool
    related: list[tuple[cst.CSTNode, str]]
    fix: PendingFix | None = None


class FileContext:
    """Everything a rule may know about the file being linted, built once per file."""

    def __init__(
        self,
        *,
        path: str,
        module_name: str,
        kind: FileKind,
        source: str,
        imports: ImportTable,
        knowledge: Knowledge,
        options: dict[str, Any],
    ) -> None:
        self.path = path
        self.module_name = module_name
        self.kind = kind
        self.source = source
        self.imports = imports
        self.knowledge = knowledge
        self.options = options
        # Nodes from the module down to the node being visited (the last item), kept by the walker.
        self.ancestors: list[cst.CSTNode] = []
        self.reports: list[PendingReport] = []
        self.facts: dict[str, list[Any]] = {}
        self.locations: list[tuple[cst.CSTNode, Span]] = []
        # Per-file state several rules share (the SQL analysis, the password flow), keyed by its
        # owner's name: it lives and dies with the file, never in a module-level registry.
        self.shared: dict[str, Any] = {}

    def qualified_name(self, node: cst.CSTNode) -> str | None:
        """Dotted name of a Name/Attribute chain with its head resolved through the imports."""
        return self.imports.qualify(node)

    def locate(self, node: cst.CSTNode) -> Span:
        """A span for ``node``, filled in after the walk (positions are resolved once, lazily)."""
        span = Span()
        self.locations.append((node, span))
        return span

    def add_fact(self, key: str, value: Any) -> None:
        """Record plain, picklable data for the project pass."""
        self.facts.setdefault(key, []).append(value)


class Rule:
    """A file rule: define ``visit_<Node>``/``leave_<Node>`` methods and call ``report``.

    All enabled rules run in one traversal; a rule never opens files or prints.
    Its words and examples live in ``rules/<ID>.toml``.
    """

    id: ClassVar[str]
    # The file is parsed for this rule only if one of these occurs in its raw text.
    TRIGGERS: ClassVar[tuple[str, ...]] = ()
    APPLIES_TO: ClassVar[frozenset[FileKind]] = frozenset({FileKind.PRODUCTION})

    def __init__(self, context: FileContext, level: str) -> None:
        self.context = context
        self.level = level

    @classmethod
    def trigger_tokens(cls, knowledge: Knowledge) -> Iterable[str]:
        """Tokens without which the rule cannot fire; rules may derive them from tables."""
        return cls.TRIGGERS

    def report(
        self,
        node: cst.CSTNode,
        message: str,
        *,
        level: str | None = None,
        sensitive: bool = False,
        related: Iterable[tuple[cst.CSTNode, str]] = (),
        fix: PendingFix | None = None,
    ) -> None:
        self.context.reports.append(
            PendingReport(
                rule_id=self.id,
                node=node,
                message=message,
                level=level or self.level,
                sensitive=sensitive,
                related=list(related),
                fix=fix,
            )
        )
