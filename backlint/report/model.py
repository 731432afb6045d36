"""What every reporter receives: the finished run and how the user asked to see it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Callable

from backlint.core.catalog import Catalog
from backlint.core.results import RunResult


@dataclasses.dataclass(frozen=True)
class ReportInput:
    result: RunResult
    catalog: Catalog
    enabled_rules: list[str]
    color: bool
    statistics: bool
    sarif_category: str | None
    include_suppressed: bool = False
    root: Path | None = None  # the project root (config directory): SARIF URIs are relative to it or the cwd
    rule_levels: Mapping[str, str] = dataclasses.field(default_factory=dict)  # after `severity` overrides
    sources: Mapping[str, bytes] = dataclasses.field(default_factory=dict)  # buffers not on disk (stdin)
    unsafe_fixes: bool = False  # `--unsafe-fixes`: unsafe fixes count as applicable


Reporter = Callable[[ReportInput], str]
