"""Reporters format a finished run; they never compute."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Callable

from backlint.catalog import Catalog
from backlint.engine import RunResult


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


def get_reporter(name: str) -> Reporter:
    if name == "text":
        from backlint.report.text import render_text

        return render_text
    if name == "concise":
        from backlint.report.text import render_concise

        return render_concise
    if name == "json":
        from backlint.report.json import render_json

        return render_json
    if name == "github":
        from backlint.report.github import render_github

        return render_github
    if name == "sarif":
        from backlint.report.sarif import render_sarif

        return render_sarif
    raise ValueError(name)


FORMATS = ("text", "concise", "json", "sarif", "github")
