"""The one place that decides which findings a run keeps: enabled rules and per-file ignores.

Inline suppressions and baselines do not remove findings: they mark them (``suppressed_by``),
so SARIF can list them as suppressed and BL001 can tell which comments were used.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from backlint.core.catalog import Catalog
from backlint.core.config import Config
from backlint.core.globs import matches_any
from backlint.core.results import Finding
from backlint.pipeline.discovery import relative_to_root


def ignored_for_file(finding: Finding, config: Config) -> bool:
    """Whether ``per-file-ignores`` silences the finding in its file."""
    if not config.per_file_ignores:
        return False
    relative = relative_to_root(Path(finding.path), config.root)
    return any(
        matches_any(relative, (glob,)) and any(finding.rule_id.startswith(i) or i == "ALL" for i in ids)
        for glob, ids in config.per_file_ignores
    )


def enabled_only(findings: Iterable[Finding], config: Config, catalog: Catalog) -> list[Finding]:
    """The findings of the rules the configuration (and the command line) selects."""
    enabled = set(config.enabled_rules(catalog))
    return [f for f in findings if f.rule_id in enabled]


def kept(findings: Iterable[Finding], config: Config, catalog: Catalog) -> list[Finding]:
    """Enabled and not ignored for their file: what a run over files reports."""
    return [f for f in enabled_only(findings, config, catalog) if not ignored_for_file(f, config)]
