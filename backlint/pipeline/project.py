"""The project pass: project rules judged over the facts of every module of the project.

A project finding in file A may depend on the facts of file B (``ProjectFinding.depends_on``). So a
run that lints only some files (pre-commit's, standard input, the editor's buffer) still judges
with the facts of the whole project (``engine.run``'s ``project``), and reports the findings in its
files. Modules whose facts are missing (a file that does not parse, with no earlier facts in the
cache) make the findings that may depend on them unjudgeable: they are withheld and counted, never
reported as if the project were complete, and the rules' silence is not taken as a verdict (BL001).

Facts and the findings made here name files by project path (``pipeline/projectfiles.py``); the
caller shows them as display paths (``relocate``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterable, Mapping

from backlint.core.catalog import Catalog
from backlint.core.config import Config
from backlint.core.facts import ProjectContext, ProjectFinding, SideFile, to_finding
from backlint.core.masking import mask_spans
from backlint.core.results import Finding, ModuleFacts, RelatedLocation, Span
from backlint.pipeline.deployfiles import deployment_paths, read_deployment_files
from backlint.pipeline.filters import rule_applies
from backlint.pipeline.projectfiles import ProjectFiles, reading
from backlint.pipeline.settings import Settings
from backlint.pipeline.suppress import Suppressions, suppressions_for


@dataclasses.dataclass
class ProjectVerdict:
    """What the project pass found, in project paths."""

    findings: list[Finding]
    # Judged on incomplete facts (they may depend on a module whose facts are missing): not reported.
    withheld: list[Finding] = dataclasses.field(default_factory=list)
    # Project rules whose silence means nothing in this run (facts were missing).
    unjudged: frozenset[str] = frozenset()
    # The run's files whose project findings could not be judged fully (display paths; set by the engine).
    unjudged_files: tuple[str, ...] = ()


def project_pass(
    facts: list[ModuleFacts],
    settings: Settings,
    catalog: Catalog,
    config: Config,
    *,
    files: ProjectFiles | None = None,
    missing: Collection[str] = (),
    secrets: Mapping[str, list[Span]] | None = None,
    deployment: list[tuple[str, str]] | None = None,
) -> ProjectVerdict:
    """Judge the enabled project rules over ``facts`` (in project-path order, so that the verdict
    does not depend on the working directory); ``missing``: project paths of modules without facts;
    ``secrets``: where each file's secrets are (project path → places), masked in the snippets;
    ``deployment``: the deployment files, (project path, scope) (None: found here when a rule reads them)."""
    from backlint.pipeline.registry import load_registry  # imports the rules: only when a project rule runs

    files = files if files is not None else ProjectFiles(config.root)
    project_rules = load_registry(settings.rule_packages).project_rules
    enabled = set(config.enabled_rules(catalog))
    options = dict(settings.options)
    side: tuple[SideFile, ...] = ()
    if reads_deployment(catalog, config):
        paths = deployment if deployment is not None else deployment_files_of(files, config, [m.path for m in facts])
        side = read_deployment_files(files, paths)
    project = ProjectContext(settings.knowledge, deployment=side)
    ordered = sorted(facts, key=lambda m: m.path)
    out: list[Finding] = []
    texts: dict[str, Suppressions | None] = {}
    with reading(files):
        for rule_id, cls in sorted(project_rules.items()):
            if rule_id not in enabled:
                continue
            level = config.level_of(rule_id, catalog.rules[rule_id].level)
            relevant = [m for m in ordered if rule_applies(catalog.rules[rule_id].applies_to, m.kind)]
            found: list[ProjectFinding] = cls(level, options, project).check(relevant)
            for item in found:
                finding = to_finding(item, level)
                _settle(finding)
                if item.path not in texts:
                    text = files.read(item.path, settings.max_file_size)
                    texts[item.path] = (
                        suppressions_for(text, settings.knowledge, settings.honor_foreign_ignores)
                        if text is not None
                        else None
                    )
                suppressions = texts[item.path]
                if suppressions is not None:
                    hit = suppressions.find(rule_id, *finding.statement_lines)
                    finding.suppressed_by = hit.text if hit else None
                    lines = suppressions.lines[finding.span.line - 1 : finding.span.end_line]
                    finding.source_lines = mask_spans(lines, finding.span.line, (secrets or {}).get(item.path, ()))
                out.append(finding)
    if not missing:
        return ProjectVerdict(out)
    absent = set(missing)
    kept = [f for f in out if not depends_on_any(f, absent)]
    withheld = [f for f in out if depends_on_any(f, absent)]
    unjudged = frozenset(i for i in enabled if i in project_rules)
    return ProjectVerdict(kept, withheld, unjudged)


def deployment_files_of(files: ProjectFiles, config: Config, modules: Iterable[str]) -> list[tuple[str, str]]:
    """The project's deployment files (``pipeline/deployfiles.py``), as the configuration excludes them;
    ``modules``: the project paths of the pass's modules."""
    return deployment_paths(files, config.exclude + config.extend_exclude, modules)


def reads_deployment(catalog: Catalog, config: Config) -> bool:
    """Whether an enabled rule reads the deployment files (then their versions key the cached verdict)."""
    return any(catalog.rules[i].deployment_files for i in config.enabled_rules(catalog))


def depends_on_any(finding: Finding, paths: Collection[str]) -> bool:
    """Whether the finding may depend on the facts of one of ``paths`` (project paths)."""
    if finding.depends_on is None:
        return bool(paths)
    return any(path in paths for path in finding.depends_on)


def affected_by(findings: Iterable[Finding], changed: Collection[str]) -> list[Finding]:
    """The project findings a change to the facts of ``changed`` can alter (the editor re-judges these)."""
    return [f for f in findings if depends_on_any(f, changed)]


def _settle(finding: Finding) -> None:
    """Positions become plain numbers while the project's files are readable as the pass read them:
    a span recorded in the facts (``analysis/lazy.py``) is resolved on first use, by re-reading."""
    finding.span = _plain(finding.span)
    finding.related = [RelatedLocation(r.path, _plain(r.span), r.message) for r in finding.related]


def _plain(span: Span) -> Span:
    return Span(span.line, span.column, span.end_line, span.end_column)


def relocate(findings: Iterable[Finding], display: Callable[[str], str]) -> list[Finding]:
    """The findings with project paths turned into display paths (theirs, their related locations' and fixes')."""
    out = []
    for finding in findings:
        related = [RelatedLocation(display(r.path), r.span, r.message) for r in finding.related]
        fix = finding.fix
        if fix is not None and fix.path is not None:
            fix = dataclasses.replace(fix, path=display(fix.path))
        out.append(dataclasses.replace(finding, path=display(finding.path), related=related, fix=fix))
    return out
