"""What a run produces, as plain picklable data: findings, notices, module facts, file and run results."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any


class Level(str, enum.Enum):
    """SARIF result levels, in decreasing severity."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


class FileKind(str, enum.Enum):
    """The role a file plays in the project (backlint/pipeline/filekind.py decides it): the catalog's
    ``applies-to`` names the roles each rule judges."""

    PRODUCTION = "production"  # served code and what it imports
    TEST = "test"
    TEST_CONFIG = "test-config"  # settings of test and CI runs (tests/settings.py, settings_test.py)
    MIGRATION = "migration"  # Alembic revisions, Django migrations
    SCRIPT = "script"  # scripts, tools, management commands, modules run only as __main__
    DEV_TOOLING = "dev-tooling"  # docs (Sphinx conf.py), noxfile.py, setup.py, fabfile.py, dev servers
    SEED = "seed"  # fixtures and seed scripts that insert demo data


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
    # A project finding's dependencies: the project paths whose facts decided it (None: every
    # module's); see ``ProjectFinding``. Always None for a file rule's finding (its own file only).
    depends_on: tuple[str, ...] | None = None
    # The kind of finding when the rule's catalog entry keeps that kind in fewer roles than the rule
    # (``applies-to-facets``, e.g. BL101's "sql-syntax"); backlint/pipeline/filters.py applies it.
    facet: str | None = None

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


@dataclasses.dataclass
class ModuleFacts:
    path: str  # display path
    module: str  # dotted module name, from the package layout
    kind: str  # FileKind value: the module's role
    facts: dict[str, list[Any]] = dataclasses.field(default_factory=dict)

    def get(self, key: str) -> list[Any]:
        return self.facts.get(key, [])


@dataclasses.dataclass
class FileResult:
    path: str
    findings: list[Finding]
    facts: ModuleFacts | None
    notices: list[Notice]
    # Where the file's secrets are (places only, never the values): every output masks them. None:
    # not looked for (the file was not parsed).
    secrets: list[Span] | None = None


@dataclasses.dataclass
class RunResult:
    findings: list[Finding]  # including suppressed ones (suppressed_by set)
    notices: list[Notice]
    files: int
    internal_errors: int
    # When facts of some file are missing (it does not parse, and the cache has no earlier facts): the
    # linted files whose project findings could not be judged fully, the project findings held back
    # (judged on incomplete facts), and the project rules concerned (BL001 does not call their
    # suppressions unused).
    not_judged_files: tuple[str, ...] = ()
    not_judged: int = 0
    unjudged_rules: frozenset[str] = frozenset()
    # Display path → where that file's secrets are, for the files linted (``FileResult.secrets``);
    # the output layer masks these, and finds those of any other file it shows (report/masking.py).
    secrets: dict[str, list[Span]] = dataclasses.field(default_factory=dict)

    @property
    def active(self) -> list[Finding]:
        return [f for f in self.findings if f.suppressed_by is None]
