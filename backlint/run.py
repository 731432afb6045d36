"""The ``check`` command: config → discovery → engine → filters → reporter → exit code."""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, TextIO

import click

from backlint.adoption import Adoption, AdoptionError
from backlint.catalog import Catalog, load_catalog
from backlint.config import Config, ConfigError, load_config

if TYPE_CHECKING:
    from backlint.engine import RunResult, Settings

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


@dataclasses.dataclass
class CheckOptions:
    paths: list[Path]
    output_format: str = "text"
    output: Path | None = None
    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    exit_zero: bool = False
    config_path: Path | None = None
    stdin_filename: str | None = None
    force_exclude: bool = False
    quiet: bool = False
    statistics: bool = False
    sarif_category: str | None = None
    jobs: int | None = None
    no_cache: bool = False
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


def _error(message: str) -> int:
    click.echo(f"backlint: error: {message}", err=True)
    return EXIT_ERROR


def run_check(options: CheckOptions) -> int:
    catalog = load_catalog()
    use_stdin = options.paths == [Path("-")] or (options.stdin_filename is not None and not options.paths)
    if options.stdin_filename is not None and not use_stdin:
        return _error("--stdin-filename lints standard input: give no PATHS, or only '-'")
    paths = options.paths or [Path(".")]
    start = Path(options.stdin_filename) if use_stdin and options.stdin_filename else paths[0]
    try:
        config = load_config(catalog, explicit=options.config_path, start=start.absolute())
        config = _apply_cli_selection(config, options, catalog)
        adoption = Adoption.prepare(options, config, catalog, use_stdin=use_stdin)
    except (ConfigError, AdoptionError) as exc:
        return _error(str(exc))
    config = adoption.config
    if (options.fix or options.diff) and adoption.shard is not None:
        return _error("--fix and --diff edit files: not with --shard")

    from backlint.discovery import SourceFile, discover, display_path, relative_to_root
    from backlint.engine import build_settings, cpu_count, run

    settings = build_settings(adoption.lint_config, catalog)
    missing_paths = False
    stdin_data: bytes | None = None
    files: list[Any] = []  # the SourceFiles linted (none for standard input)
    if use_stdin:
        stdin_data = sys.stdin.buffer.read()
        result = _run_stdin(options, adoption.lint_config, catalog, settings, stdin_data)
        linted = [display_path_of(Path(options.stdin_filename or "stdin.py"))]
    else:
        found = discover(paths, config, force_exclude=options.force_exclude)
        for path, problem in found.problems:
            missing = problem == "no such file or directory"
            missing_paths = missing_paths or missing
            click.echo(f"backlint: {'error' if missing else 'warning'}: {path}: {problem}", err=True)
        if missing_paths and not found.files:
            return EXIT_ERROR
        cache = None
        if not options.no_cache:
            from backlint.cache import open_cache

            cache = open_cache(config.root / os.path.expanduser(config.cache_dir), settings)
        progress = ProgressBar(sys.stderr) if not options.quiet and ProgressBar.wanted(sys.stderr) else None
        try:
            jobs = options.jobs or cpu_count()
            files = adoption.files_to_lint(found.files, settings)
            result = run(
                files,
                settings,
                catalog,
                adoption.lint_config,
                jobs,
                cache=cache,
                progress=progress,
                facts_out=adoption.facts,
            )
        finally:
            if progress is not None:
                progress.close()
        if adoption.shard is not None:
            written = adoption.write_shard(result, files, settings)
            return EXIT_ERROR if missing_paths else written
        linted = [source.display for source in files]
    del SourceFile, display_path, relative_to_root

    buffers = {linted[0]: stdin_data} if stdin_data is not None else {}
    result = adoption.finish(result, linted, settings, buffers=buffers)
    if options.after_run is not None:
        return options.after_run(result, config, catalog, linted)
    if options.fix or options.diff:
        from backlint.fix import fix_run

        done = fix_run(options, config, catalog, settings, result, files, stdin_data)
        if done is not None:
            return done
    return report(options, config, catalog, result, stdin_data=stdin_data, missing_paths=missing_paths)


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
    result.findings = [f for f in result.findings if f.rule_id in enabled]
    from backlint.report import ReportInput, get_reporter

    stream = sys.stdout
    color = False
    if options.output is None and options.output_format == "text":
        from backlint.cli import use_color

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
        sources={f.path: stdin_data for f in result.findings} if stdin_data is not None else {},
        unsafe_fixes=options.unsafe_fixes,
    )
    text = get_reporter(options.output_format)(report_input)
    if options.quiet and options.output_format == "text":
        text = "".join(
            line for line in text.splitlines(keepends=True) if not line.startswith(("Found ", "All clean", "[*] "))
        )
    for notice in result.notices:
        if notice.level == "error" or not options.quiet:
            where = f"{notice.path}:{notice.line}" if notice.line else notice.path
            click.echo(f"backlint: {notice.level}: {where}: {notice.message}", err=True)
    if options.output is not None:
        try:
            options.output.write_text(text, encoding="utf-8")
        except OSError as exc:
            return _error(f"cannot write {options.output}: {exc.strerror or exc}")
    else:
        stream.write(text)
        stream.flush()
    if result.internal_errors or missing_paths:
        return EXIT_ERROR
    if result.active and not options.exit_zero:
        return EXIT_FINDINGS
    return EXIT_CLEAN


def _apply_cli_selection(config, options: CheckOptions, catalog):  # type: ignore[no-untyped-def]
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


def _run_stdin(options, config, catalog, settings, data: bytes):  # type: ignore[no-untyped-def]
    from backlint.engine import RunResult, decode_source

    name = Path(options.stdin_filename or "stdin.py")
    if options.force_exclude and is_excluded_path(name, config):
        return RunResult(findings=[], notices=[], files=0, internal_errors=0)
    text, notice, error = decode_source(data, display_path_of(name))
    if text is None:
        return RunResult(
            findings=[error] if error else [], notices=[notice] if notice else [], files=1, internal_errors=0
        )
    return lint_buffer(text, name, config, catalog, settings)


def display_path_of(path: Path) -> str:
    from backlint.discovery import display_path

    return display_path(path, Path.cwd().resolve())


def is_excluded_path(path: Path, config: Config) -> bool:
    """Whether ``exclude``/``extend-exclude`` cover ``path`` (what ``--force-exclude`` applies to named files)."""
    from backlint.discovery import relative_to_root
    from backlint.globs import is_excluded

    return is_excluded(relative_to_root(path, config.root), config.exclude + config.extend_exclude)


def lint_buffer(
    text: str, path: Path, config: Config, catalog: Catalog, settings: Settings, *, project_rules: bool = True
) -> RunResult:
    """Lint an in-memory buffer as if it were the file ``path``: stdin and the language server share this.

    Applies the same filters as a run over files: per-file ignores and the enabled rule set
    (inline suppressions are marked by the engine).
    """
    from backlint.discovery import SourceFile, relative_to_root
    from backlint.engine import RunResult, _ignored_for_file, lint_text, project_pass

    source = SourceFile(path=path, display=display_path_of(path), relative=relative_to_root(path, config.root))
    file_result = lint_text(source, text, settings)
    findings = file_result.findings
    if project_rules and file_result.facts is not None:
        project = project_pass([file_result.facts], settings, catalog, config)
        findings += [f for f in project if f.path == source.display]
    enabled = set(config.enabled_rules(catalog))
    findings = [f for f in findings if f.rule_id in enabled and not _ignored_for_file(f, config, [source])]
    internal = sum(1 for n in file_result.notices if n.level == "error")
    findings.sort(key=lambda f: f.sort_key)
    return RunResult(findings=findings, notices=file_result.notices, files=1, internal_errors=internal)


class ProgressBar:
    """``backlint: [=====>    ] 412/885 files`` on stderr, redrawn in place, for runs that take a while.

    Shown only on a terminal, only after ``delay`` seconds (pre-commit's few files never see it),
    at most ten redraws a second, and erased when the run ends so the report starts clean.
    """

    WIDTH = 30

    def __init__(self, stream: TextIO, *, delay: float = 0.5, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.delay = delay
        self.clock = clock
        self.start = clock()
        self.last = 0.0
        self.shown = False

    @staticmethod
    def wanted(stream: TextIO) -> bool:
        isatty = getattr(stream, "isatty", None)
        return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"

    def __call__(self, done: int, total: int) -> None:
        now = self.clock()
        if now - self.start < self.delay or (now - self.last < 0.1 and done < total) or total <= 0:
            return
        self.last = now
        self.shown = True
        filled = self.WIDTH * done // total
        bar = "=" * filled + (">" if filled < self.WIDTH else "") + " " * max(0, self.WIDTH - filled - 1)
        self.stream.write(f"\r\033[Kbacklint: [{bar}] {done}/{total} files")
        self.stream.flush()

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False
