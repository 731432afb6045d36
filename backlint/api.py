"""What the commands and the language server share: settings for a run, the command line's rule
selection, linting one buffer as a file, and reporting a finished run with its exit code."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from backlint.core.catalog import Catalog
from backlint.core.config import Config, ConfigError
from backlint.core.files import atomic_write
from backlint.core.globs import is_excluded
from backlint.core.ids import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS
from backlint.core.options import CheckOptions
from backlint.core.results import Notice, RunResult
from backlint.pipeline.discovery import SourceFile, discover, display_path, relative_to_root
from backlint.pipeline.engine import run_buffers
from backlint.pipeline.filters import enabled_only, kept
from backlint.pipeline.settings import build_settings
from backlint.pipeline.source import over_max_file_size
from backlint.report import get_reporter
from backlint.report.masking import disk_reader, mask_run
from backlint.report.model import ReportInput
from backlint.report.text import printable, use_color

if TYPE_CHECKING:
    from backlint.pipeline.cache import Cache
    from backlint.pipeline.settings import Settings


# What --quiet leaves out of the text report (backlint/report/text.py writes these lines).
SUMMARY_LINES = ("Found ", "All clean", "Project rules not judged", "[*] ")


def usage_error(message: str) -> int:
    click.echo(f"backlint: error: {printable(message)}", err=True)
    return EXIT_ERROR


def report(
    options: CheckOptions,
    config: Config,
    catalog: Catalog,
    result: RunResult,
    *,
    stdin_data: bytes | None = None,
    missing_paths: bool = False,
) -> int:
    """Filter to the enabled rules, render, print notices, and choose the exit code."""

    enabled = set(config.enabled_rules(catalog))
    result.findings = enabled_only(result.findings, config, catalog)
    sources = {f.path: stdin_data for f in result.findings} if stdin_data is not None else {}
    result = mask_run(result, disk_reader(sources, config.root), settings_for(config, catalog).knowledge)

    stream = sys.stdout
    color = False
    if options.output is None and options.output_format == "text":
        color = use_color(options.color, stream)
    report_input = ReportInput(
        result=result,
        catalog=catalog,
        enabled_rules=sorted(enabled),
        color=color,
        statistics=options.statistics,
        sarif_category=options.sarif_category or config.sarif_category,
        include_suppressed=options.sarif_include_suppressed,
        root=config.root,
        rule_levels={i: config.level_of(i, catalog.rules[i].level) for i in enabled},
        sources=sources,
        unsafe_fixes=options.unsafe_fixes,
    )
    text = get_reporter(options.output_format)(report_input)
    if options.quiet and options.output_format in ("text", "concise"):
        text = "".join(line for line in text.splitlines(keepends=True) if not line.startswith(SUMMARY_LINES))
    for notice in result.notices:
        if notice.level == "error" or not options.quiet:
            where = f"{notice.path}:{notice.line}" if notice.line else notice.path
            click.echo(f"backlint: {notice.level}: {printable(where)}: {printable(notice.message)}", err=True)
    if options.output is not None:
        try:
            atomic_write(options.output, text.encode("utf-8", _UNDECODABLE))
        except OSError as exc:
            return usage_error(f"cannot write {options.output}: {exc.strerror or exc}")
    else:
        try:
            buffer = getattr(stream, "buffer", None)
            if buffer is not None and getattr(stream, "encoding", "").lower().replace("-", "") == "utf8":
                stream.flush()
                buffer.write(text.encode("utf-8", _UNDECODABLE))
                buffer.flush()
            else:
                stream.write(text)
                stream.flush()
        except OSError as exc:  # a full disk, a closed pipe: say so, never a traceback
            silence_stdout()
            if not isinstance(exc, BrokenPipeError):  # `backlint | head`: the reader has what it wanted
                return usage_error(f"cannot write the report to standard output: {exc.strerror or exc}")
    if result.internal_errors or missing_paths:
        return EXIT_ERROR
    if not options.exit_zero and any(fails(f.level, options.fail_level) for f in result.active):
        return EXIT_FINDINGS
    return EXIT_CLEAN


# A file name that is not UTF-8 (decoded with surrogate escapes) is written as ``\udce9``: the
# report stays valid UTF-8, and in JSON and SARIF that is a string escape a reader decodes back.
_UNDECODABLE = "backslashreplace"


def silence_stdout() -> None:
    """Point standard output at the null device: the interpreter's last flush must not fail again."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


_LEVEL_RANK = {"error": 0, "warning": 1, "note": 2}


def fails(level: str, fail_level: str | None) -> bool:
    """Whether a finding at ``level`` fails the run with ``--fail-level`` (None: every finding does)."""
    if fail_level is None:
        return True
    return _LEVEL_RANK.get(level, 0) <= _LEVEL_RANK[fail_level]


RULE_PACKAGES = ("backlint.checks",)  # where backlint/pipeline/registry.py finds the rule classes
SECRET_FINDER = "backlint.analysis.secrets.spans:SecretSpans"  # run on every parsed file, for masking


def settings_for(config: Config, catalog: Catalog) -> Settings:
    """The per-file stage's settings for this configuration, with backlint's own rules."""

    return build_settings(config, catalog, RULE_PACKAGES, SECRET_FINDER)


def apply_cli_selection(config, options: CheckOptions, catalog):  # type: ignore[no-untyped-def]
    for flag, values in (
        ("--select", options.select or ()),
        ("--extend-select", options.extend_select),
        ("--ignore", options.ignore),
    ):
        for selector in values:
            if selector != "ALL" and not any(i.startswith(selector) for i in catalog.rules):
                raise ConfigError(f"{flag}: unknown rule id or prefix {selector!r}")
    changes = {}
    if options.select is not None:
        changes["select"] = options.select
    if options.extend_select:
        changes["extend_select"] = config.extend_select + options.extend_select
    if options.ignore:
        changes["ignore"] = config.ignore + options.ignore
    return dataclasses.replace(config, **changes)


def display_path_of(path: Path) -> str:

    return display_path(path, Path.cwd().resolve())


def is_excluded_path(path: Path, config: Config) -> bool:
    """Whether ``exclude``/``extend-exclude`` cover ``path`` (what ``--force-exclude`` applies to named files)."""

    return is_excluded(relative_to_root(path, config.root), config.exclude + config.extend_exclude)


def lint_buffer(
    text: str,
    path: Path,
    config: Config,
    catalog: Catalog,
    settings: Settings,
    *,
    cache: Cache | None = None,
    jobs: int = 1,
    project_rules: bool = True,
) -> RunResult:
    """Lint an in-memory buffer as if it were the file ``path``: standard input uses this.

    The project rules judge with the facts of the whole project (the other files' from the cache, or
    a facts-only pass), like a run over files; the same filters apply: per-file ignores and the
    enabled rule set (inline suppressions are marked by the engine).
    """

    source = SourceFile(path=path, display=display_path_of(path), relative=relative_to_root(path, config.root))
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > settings.max_file_size:
        notice = Notice(source.display, over_max_file_size(size, settings.max_file_size))
        return RunResult(findings=[], notices=[notice], files=1, internal_errors=0)
    if not project_rules:
        settings = dataclasses.replace(settings, collect_facts=False)
    project = project_files(config) if settings.collect_facts else []
    result, _ = run_buffers([(source, text)], settings, catalog, config, jobs, cache=cache, project=project)
    result.findings = kept(result.findings, config, catalog)
    return result


def project_files(config: Config) -> list[SourceFile]:
    """Every file of the project, as the configuration selects them: what the project rules see."""
    return discover([config.root], config).files
