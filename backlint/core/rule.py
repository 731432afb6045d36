"""The rule API: what a check sees (FileContext), the per-file analyses it asks (Analysis), what it
reports (``Rule.report``, a Finding once placed).

An analysis answers, a rule decides: an ``Analysis`` walks the file with the rules (``visit_*`` /
``leave_*`` methods) and exposes facts; it never reports and never names a rule id. A rule lists
the analyses it needs in ``REQUIRES`` and reads them with ``context.get(SqlAnalysis)``; the
pipeline runs an analysis only for files where a rule (or collector) needing it is active, once,
before the rules that asked (like Fixit's ``METADATA_DEPENDENCIES``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from backlint.core.results import FileKind, Span

if TYPE_CHECKING:
    import libcst as cst

    from backlint.core.catalog import Knowledge
    from backlint.core.imports import ImportTable


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
    facet: str | None = None


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
        # The file's analyses, by class (backlint/pipeline/filestage.py creates them before the walk):
        # they live and die with the file, never in a module-level registry.
        self.analyses: dict[type[Analysis], Analysis] = {}
        # Per-file state several rules share that is not (yet) an Analysis, keyed by its owner's name.
        self.shared: dict[str, Any] = {}

    def get(self, analysis: type[AnalysisT]) -> AnalysisT:
        """The file's instance of ``analysis``: the asking rule must list it in ``REQUIRES``."""
        try:
            found = self.analyses[analysis]
        except KeyError:
            raise LookupError(f"{analysis.__name__} is not in the REQUIRES of the rule asking for it") from None
        return found  # type: ignore[return-value]

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


class Analysis:
    """Per-file understanding several rules share: walks the file like a rule, answers questions,
    never reports. Subclasses define ``visit_<Node>``/``leave_<Node>`` and their own query methods."""

    # Analyses this one asks in turn: created (and walked) before it.
    REQUIRES: ClassVar[tuple[type[Analysis], ...]] = ()

    def __init__(self, context: FileContext) -> None:
        self.context = context


AnalysisT = TypeVar("AnalysisT", bound=Analysis)


def required_analyses(owners: Iterable[type]) -> list[type[Analysis]]:
    """Every analysis the owners (rules, collectors, analyses) need, each after those it needs."""
    ordered: list[type[Analysis]] = []
    seen: set[type[Analysis]] = set()

    def add(analysis: type[Analysis], path: tuple[type[Analysis], ...]) -> None:
        if analysis in seen:
            return
        if analysis in path:
            raise TypeError(f"analyses require each other: {' -> '.join(a.__name__ for a in (*path, analysis))}")
        for needed in analysis.REQUIRES:
            add(needed, (*path, analysis))
        seen.add(analysis)
        ordered.append(analysis)

    for owner in owners:
        for analysis in getattr(owner, "REQUIRES", ()):
            add(analysis, ())
    return ordered


class Rule:
    """A file rule: define ``visit_<Node>``/``leave_<Node>`` methods and call ``report``.

    All enabled rules run in one traversal; a rule never opens files or prints.
    Its words and examples live in ``rules/<ID>.toml``.
    """

    id: ClassVar[str]
    # The file is parsed for this rule only if one of these occurs in its raw text.
    TRIGGERS: ClassVar[tuple[str, ...]] = ()
    # The per-file analyses the rule reads with ``self.context.get(...)``.
    REQUIRES: ClassVar[tuple[type[Analysis], ...]] = ()

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
        facet: str | None = None,
    ) -> None:
        """``facet``: the kind of finding, when the catalog keeps that kind in fewer roles (``applies-to-facets``)."""
        self.context.reports.append(
            PendingReport(
                rule_id=self.id,
                node=node,
                message=message,
                level=level or self.level,
                sensitive=sensitive,
                related=list(related),
                fix=fix,
                facet=facet,
            )
        )
