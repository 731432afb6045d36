"""The project pass: project rules judged over every module's facts, or their findings read back from the cache."""

from __future__ import annotations

from pathlib import Path

from backlint.core.catalog import Catalog
from backlint.core.config import Config
from backlint.core.facts import ProjectContext, ProjectFinding, to_finding
from backlint.core.results import Finding, ModuleFacts
from backlint.pipeline.settings import Settings
from backlint.pipeline.source import read_source
from backlint.pipeline.suppress import Suppressions, suppressions_for


def project_pass(facts: list[ModuleFacts], settings: Settings, catalog: Catalog, config: Config) -> list[Finding]:
    from backlint.pipeline.registry import load_registry  # imports the rules: only when a project rule runs

    project_rules = load_registry(settings.rule_packages).project_rules
    enabled = set(config.enabled_rules(catalog))
    options = dict(settings.options)
    project = ProjectContext(settings.knowledge)
    out: list[Finding] = []
    texts: dict[str, Suppressions | None] = {}
    for rule_id, cls in sorted(project_rules.items()):
        if rule_id not in enabled:
            continue
        level = config.level_of(rule_id, catalog.rules[rule_id].level)
        relevant = [m for m in facts if m.kind in catalog.rules[rule_id].applies_to]
        found: list[ProjectFinding] = cls(level, options, project).check(relevant)
        for item in found:
            finding = to_finding(item, level)
            if item.path not in texts:
                text, _, _ = read_source(Path(item.path), settings.max_file_size)
                texts[item.path] = (
                    suppressions_for(text, settings.knowledge, settings.honor_foreign_ignores)
                    if text is not None
                    else None
                )
            suppressions = texts[item.path]
            if suppressions is not None:
                hit = suppressions.find(rule_id, *finding.statement_lines)
                finding.suppressed_by = hit.text if hit else None
                finding.source_lines = suppressions.lines[finding.span.line - 1 : finding.span.end_line]
            out.append(finding)
    return out
