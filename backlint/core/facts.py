"""ModuleFacts: what the project pass needs to know about one module, as plain picklable data."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any, ClassVar

from backlint.core.results import Finding, Fix, ModuleFacts, RelatedLocation, Span
from backlint.core.rule import Analysis


@dataclasses.dataclass
class ProjectFinding:
    """A project rule's finding, placed in a file by a span recorded in that file's facts.

    A finding in one file may depend on the facts of others (the app built in one module, its routes
    in another): ``depends_on`` names the modules (project paths, ``ModuleFacts.path``) whose facts
    decided it, or None for "any of the modules the rule was given". The pipeline uses it to know
    which findings a file's change or missing facts can affect (``pipeline/project.py``).
    """

    rule_id: str
    path: str
    span: Span
    message: str
    level: str | None = None
    related: list[RelatedLocation] = dataclasses.field(default_factory=list)
    fix: Fix | None = None  # placed in the file as it is on disk (``autofix.LazyFix.resolve``)
    depends_on: tuple[str, ...] | None = None
    # The statement holding the finding (its lines: baselines match findings by their statement's
    # text, as for file rules' findings); None: the span's own lines.
    statement: Span | None = None
    # The finding quotes a secret (BL2xx): reporters and baselines mask its flagged text.
    sensitive: bool = False


@dataclasses.dataclass(frozen=True)
class SideFile:
    """A project file that is not a module, as text: a deployment file (``pipeline/deployfiles.py``)."""

    path: str  # project path
    text: str
    scope: str = ""  # the directory whose code it deploys (``pipeline/deployfiles.py``); "": the project root


@dataclasses.dataclass
class ProjectContext:
    """What every project rule of one run shares: the knowledge tables, and a cache so that
    structures derived from all ModuleFacts (the framework model) are built once per run.
    ``deployment``: the project's deployment files, read when an enabled rule's catalog entry asks for
    them (``deployment-files = true``)."""

    knowledge: Any
    cache: dict[Any, Any] = dataclasses.field(default_factory=dict)
    deployment: tuple[SideFile, ...] = ()


class ProjectRule:
    """A rule judged over the facts of every module (startup checks, health routes, ...)."""

    id: ClassVar[str]

    def __init__(self, level: str, options: dict[str, Any], project: ProjectContext) -> None:
        self.level = level
        self.options = options
        self.project = project

    def check(self, modules: list[ModuleFacts]) -> list[ProjectFinding]:
        raise NotImplementedError


def to_finding(found: ProjectFinding, default_level: str) -> Finding:
    return Finding(
        rule_id=found.rule_id,
        path=found.path,
        span=found.span,
        message=found.message,
        level=found.level or default_level,
        statement_lines=(
            (found.statement.line, found.statement.end_line)
            if found.statement is not None
            else (found.span.line, found.span.end_line)
        ),
        related=list(found.related),
        fix=found.fix,
        depends_on=found.depends_on,
        sensitive=found.sensitive,
    )


class FactCollector:
    """Gathers ModuleFacts during the shared traversal; runs when any project rule is enabled.

    Like a Rule, it defines ``visit_<Node>`` methods; it records with ``context.add_fact`` and
    ``context.locate`` instead of reporting.
    """

    TRIGGERS: ClassVar[tuple[str, ...]] = ()
    REQUIRES: ClassVar[tuple[type[Analysis], ...]] = ()  # per-file analyses it reads (core/rule.py)

    def __init__(self, context: Any) -> None:
        self.context = context

    @classmethod
    def trigger_tokens(cls, knowledge: Any) -> Iterable[str]:
        """Tokens without which the collector has nothing to record; may be derived from tables."""
        return cls.TRIGGERS
