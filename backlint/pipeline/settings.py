"""Settings: everything the per-file stage needs from the configuration and the catalog, picklable for workers."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from backlint.core.catalog import Catalog, Knowledge
from backlint.core.config import Config
from backlint.core.ids import PARSE_ERROR
from backlint.pipeline.filekind import RolePaths
from backlint.pipeline.limits import Limits

NO_PREFILTER_ENV = "BACKLINT_NO_PREFILTER"  # benchmarks and tests only: parse every file


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything the per-file stage needs, picklable so workers can receive it once."""

    rule_levels: tuple[tuple[str, str], ...]
    applies_to: tuple[tuple[str, tuple[str, ...]], ...]  # rule id → the roles it judges
    collect_facts: bool
    options: tuple[tuple[str, Any], ...]
    knowledge: Knowledge
    roles: RolePaths  # what decides each file's role, with the knowledge's file-roles table
    max_file_size: int
    limits: Limits = dataclasses.field(default_factory=Limits)  # memory per parsing process, CPU time per file
    known_rules: tuple[str, ...] = ()  # every catalog id: suppression comments naming others are warned about
    prefilter: bool = True  # parse only files where a rule's trigger token occurs
    honor_foreign_ignores: bool = True  # bandit nosec, ruff noqa, nosemgrep comments count (the foreign-ignores table)
    # (rule id, facet, roles): a kind of a rule's findings kept in fewer roles (``applies-to-facets``).
    facet_roles: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    rule_packages: tuple[str, ...] = ()  # where the rule classes live (backlint/pipeline/registry.py)
    # ``module:Class`` of the analysis that finds every secret of a file, run whatever rules are
    # selected: findings and facts are masked with what it finds (backlint/pipeline/filestage.py).
    secret_finder: str = ""


def build_settings(
    config: Config, catalog: Catalog, rule_packages: tuple[str, ...], secret_finder: str = ""
) -> Settings:
    """From the catalog's metadata alone: importing the rules (and libcst) waits until a file is parsed."""
    enabled = config.enabled_rules(catalog)
    file_rules = [i for i in enabled if i != PARSE_ERROR and not catalog.rules[i].project]
    levels = tuple((i, config.level_of(i, catalog.rules[i].level)) for i in file_rules)
    tables = {name: list(rows) for name, rows in catalog.knowledge.tables.items()}
    for name, rows in config.table_extensions:
        tables[name] = tables[name] + list(rows)
    options = dict(catalog.option_defaults)
    options.update(dict(config.options))
    return Settings(
        rule_levels=levels,
        applies_to=tuple((i, catalog.rules[i].applies_to) for i in file_rules),
        collect_facts=any(catalog.rules[i].project or catalog.rules[i].cross_module for i in enabled),
        options=tuple(sorted(options.items())),
        knowledge=Knowledge(tables),
        roles=RolePaths(config.roles, config.test_paths, config.non_production_paths),
        max_file_size=config.max_file_size,
        limits=Limits(
            memory=config.memory_limit_mb * 1024 * 1024 or None,
            time=config.time_limit or None,
        ),
        known_rules=tuple(sorted(catalog.rules)),
        prefilter=not os.environ.get(NO_PREFILTER_ENV),
        honor_foreign_ignores=config.honor_foreign_ignores,
        facet_roles=tuple((i, facet, roles) for i in file_rules for facet, roles in catalog.rules[i].facet_roles),
        rule_packages=rule_packages,
        secret_finder=secret_finder,
    )


def facts_only(settings: Settings) -> Settings:
    """The settings of a facts-only pass: the collectors run (and the analyses they need), no file rule.

    Files outside a partial run give the project pass their facts this way; the facts are the ones
    a full run records, and are cached under these settings' own fingerprint.
    """
    return dataclasses.replace(settings, rule_levels=(), applies_to=())
