"""The one place that decides which findings a run keeps: enabled rules, file roles and per-file ignores.

A rule judges the files whose role its catalog entry names (``applies-to``): the per-file stage does
not run it on other files, and the project pass does not give it their facts (an app, its endpoints
and hooks come from production modules only for a production rule). A kind of finding the catalog
keeps in fewer roles (``applies-to-facets``: SQL syntax slots in production and scripts) is dropped
from files of the other roles.

Inline suppressions and baselines do not remove findings: they mark them (``suppressed_by``),
so SARIF can list them as suppressed and BL001 can tell which comments were used.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from pathlib import Path

from backlint.core.catalog import Catalog
from backlint.core.config import Config
from backlint.core.globs import matches_any
from backlint.core.results import FileKind, Finding
from backlint.pipeline.discovery import relative_to_root


def rule_applies(roles: Collection[str], role: FileKind | str) -> bool:
    """Whether a rule whose ``applies-to`` is ``roles`` judges a file of ``role``."""
    return (role.value if isinstance(role, FileKind) else role) in roles


FacetRoles = Mapping[tuple[str, str], Collection[str]]  # (rule id, facet) → the roles keeping it


def facet_roles(entries: Iterable[tuple[str, str, Collection[str]]]) -> dict[tuple[str, str], Collection[str]]:
    return {(rule_id, facet): roles for rule_id, facet, roles in entries}


def kept_in_role(findings: Iterable[Finding], role: FileKind | str, facets: FacetRoles) -> list[Finding]:
    """The findings of a file of ``role`` whose facet, if the catalog narrows it, is judged in that role."""
    return [
        f
        for f in findings
        if f.facet is None or (f.rule_id, f.facet) not in facets or rule_applies(facets[f.rule_id, f.facet], role)
    ]


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
