"""The options of one run as the user gave them (command line, or a caller of backlint.api)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

from backlint.core.catalog import Catalog
from backlint.core.config import Config
from backlint.core.results import RunResult


@dataclasses.dataclass
class CheckOptions:
    paths: list[Path]
    output_format: str = "text"
    output: Path | None = None
    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    exit_zero: bool = False
    fail_level: str | None = None  # exit 1 only for findings at this level or above (None: any finding)
    show_files: bool = False  # list the files that would be linted, with their kind, and stop
    show_settings: bool = False  # print the settings the run would use, and stop
    config_path: Path | None = None
    stdin_filename: str | None = None
    force_exclude: bool = False
    quiet: bool = False
    statistics: bool = False
    sarif_category: str | None = None
    jobs: int | None = None
    no_cache: bool = False
    cache_dir: Path | None = None  # --cache-dir: anywhere (core/config.py cache_directory)
    color: bool | None = None
    sarif_include_suppressed: bool = False
    # Adoption (backlint/adoption.py): baseline, changed files, unused suppressions, CI shards.
    baseline: Path | None = None
    use_baseline: bool = True  # False for `backlint baseline`, which records what the baseline would hide
    changed_since: str | None = None
    changed_lines_only: bool = False
    report_unused_ignores: bool = False
    shard: str | None = None
    shard_output: Path | None = None
    # Autofix (backlint/fix.py): apply the fixes (safe ones; unsafe too if asked), or print them as a diff.
    fix: bool = False
    unsafe_fixes: bool = False
    diff: bool = False
    # `backlint baseline` and `suppress` take the finished run instead of the reporter.
    after_run: Callable[[RunResult, Config, Catalog, list[str]], int] | None = None
