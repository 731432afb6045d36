"""The `check` command: config → discovery → engine → adoption → fixes or report → exit code."""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, TextIO

import click

from backlint.adoption.plan import Adoption, AdoptionError
from backlint.api import (
    apply_cli_selection,
    display_path_of,
    is_excluded_path,
    lint_buffer,
    project_files,
    report,
    settings_for,
    usage_error,
)
from backlint.core.catalog import load_catalog
from backlint.core.config import Config, ConfigError, cache_directory, load_config
from backlint.core.ids import EXIT_CLEAN, EXIT_ERROR
from backlint.core.options import CheckOptions
from backlint.core.results import Notice, RunResult
from backlint.pipeline.cache import open_cache
from backlint.pipeline.discovery import discover
from backlint.pipeline.engine import cpu_count, run
from backlint.pipeline.filekind import classify
from backlint.pipeline.source import decode_source, read_source
from backlint.report.text import printable


def run_check(options: CheckOptions) -> int:
    catalog = load_catalog()
    use_stdin = options.paths == [Path("-")] or (options.stdin_filename is not None and not options.paths)
    if options.stdin_filename is not None and not use_stdin:
        return usage_error("--stdin-filename lints standard input: give no PATHS, or only '-'")
    paths = options.paths or [Path(".")]
    start = Path(options.stdin_filename) if use_stdin and options.stdin_filename else paths[0]
    try:
        config = load_config(catalog, explicit=options.config_path, start=start.absolute())
        config = apply_cli_selection(config, options, catalog)
        adoption = Adoption.prepare(options, config, catalog, use_stdin=use_stdin)
    except (ConfigError, AdoptionError) as exc:
        return usage_error(str(exc))
    config = adoption.config
    if (options.fix or options.diff) and adoption.shard is not None:
        return usage_error("--fix and --diff edit files: not with --shard")

    settings = settings_for(adoption.lint_config, catalog)
    if options.show_settings:
        return show_settings(options, config, catalog, settings)
    missing_paths = False
    stdin_data: bytes | None = None
    files: list[Any] = []  # the SourceFiles linted (none for standard input)
    if use_stdin:
        stdin_data = sys.stdin.buffer.read(settings.max_file_size + 1)  # more says it is over the limit
        result = _run_stdin(options, adoption.lint_config, catalog, settings, stdin_data)
        linted = [display_path_of(Path(options.stdin_filename or "stdin.py"))]
    else:
        found = discover(paths, config, force_exclude=options.force_exclude)
        for path, problem in found.problems:
            missing = problem == "no such file or directory"
            missing_paths = missing_paths or missing
            click.echo(f"backlint: {'error' if missing else 'warning'}: {printable(str(path))}: {problem}", err=True)
        if missing_paths and not found.files:
            return EXIT_ERROR
        if options.show_files:
            return show_files(adoption.files_to_lint(found.files, settings), settings)
        cache = None
        if not options.no_cache:
            cache = open_cache(cache_directory(config, options.cache_dir), settings)
        progress = ProgressBar(sys.stderr) if not options.quiet and ProgressBar.wanted(sys.stderr) else None
        try:
            jobs = options.jobs or cpu_count()
            files = adoption.files_to_lint(found.files, settings)
            project = whole_project(paths, found.files, config) if settings.collect_facts and not adoption.shard else []
            result = run(
                files,
                settings,
                catalog,
                adoption.lint_config,
                jobs,
                cache=cache,
                progress=progress,
                facts_out=adoption.facts,
                project=project,
            )
        finally:
            if progress is not None:
                progress.close()
        if adoption.shard is not None:
            written = adoption.write_shard(result, files, settings)
            return EXIT_ERROR if missing_paths else written
        linted = [source.display for source in files]

    buffers = {linted[0]: stdin_data} if stdin_data is not None else {}
    result = adoption.finish(result, linted, settings, buffers=buffers)
    if options.after_run is not None:
        return options.after_run(result, config, catalog, linted)
    if options.fix or options.diff:
        from backlint.commands.fix import RELINT, fix_run

        done = fix_run(options, config, catalog, settings, result, files, stdin_data)
        if done == RELINT:
            return run_check(dataclasses.replace(options, fix=False))  # the files changed: report what is left
        if done is not None:
            return done
    return report(options, config, catalog, result, stdin_data=stdin_data, missing_paths=missing_paths)


def show_files(files: list[Any], settings: Any) -> int:
    """``--show-files``: each file a run would lint, with its role (pipeline/filekind.py), tab-separated."""
    for source in files:
        text, _, _ = read_source(source.path, settings.max_file_size)
        role = classify(source.relative, text or "", settings.roles, settings.knowledge)
        click.echo(f"{printable(source.display)}\t{role.value}")
    return EXIT_CLEAN


def show_settings(options: CheckOptions, config: Config, catalog: Any, settings: Any) -> int:
    """``--show-settings``: where the project is, what configures it, and the rules and options in effect."""
    enabled = config.enabled_rules(catalog)
    cache = "disabled (--no-cache)" if options.no_cache else cache_directory(config, options.cache_dir)
    rows: list[tuple[str, Any]] = [
        ("project root", config.root),
        ("configuration", config.source or "none (defaults)"),
        ("cache", cache),
        ("baseline", options.baseline or config.baseline or "none"),
        ("exclude", list(config.exclude)),
        ("extend-exclude", list(config.extend_exclude)),
        ("per-file-ignores", {glob: list(ids) for glob, ids in config.per_file_ignores}),
        ("test-paths", list(config.test_paths)),
        ("non-production-paths", list(config.non_production_paths)),
        ("roles", {glob: role for glob, role in config.roles} or "none"),
        ("max-file-size", config.max_file_size),
        ("respect-gitignore", config.respect_gitignore),
        ("honor-foreign-ignores", config.honor_foreign_ignores),
        ("sarif-category", options.sarif_category or config.sarif_category or "none"),
        ("tables extended", [name for name, _ in config.table_extensions] or "none"),
    ]
    for name, value in rows:
        click.echo(f"{name}: {value}")
    click.echo(f"rules ({len(enabled)} enabled):")
    for rule_id in enabled:
        meta = catalog.rules[rule_id]
        scope = "  (project)" if meta.project else ""
        click.echo(f"  {rule_id}  {config.level_of(rule_id, meta.level):<8} {meta.name}{scope}")
    click.echo("options:")
    for name, value in settings.options:
        click.echo(f"  {name} = {value!r}")
    return EXIT_CLEAN


def whole_project(paths: list[Path], found: list[Any], config: Config) -> list[Any]:
    """The files of the project (the project rules judge with the facts of all): those found when a
    path given is the root itself, else the root's files as the configuration selects them."""
    if any(path.is_dir() and path.resolve() == config.root for path in paths):
        return found
    return project_files(config)


def _run_stdin(options, config, catalog, settings, data: bytes):  # type: ignore[no-untyped-def]

    name = Path(options.stdin_filename or "stdin.py")
    if options.force_exclude and is_excluded_path(name, config):
        return RunResult(findings=[], notices=[], files=0, internal_errors=0)
    if len(data) > settings.max_file_size:  # only max-file-size + 1 bytes were read
        message = f"standard input is longer than max-file-size ({settings.max_file_size} bytes), skipped"
        return RunResult(findings=[], notices=[Notice(display_path_of(name), message)], files=1, internal_errors=0)
    text, notice, error = decode_source(data, display_path_of(name))
    if text is None:
        return RunResult(
            findings=[error] if error else [], notices=[notice] if notice else [], files=1, internal_errors=0
        )
    cache = None if options.no_cache else open_cache(cache_directory(config, options.cache_dir), settings)
    return lint_buffer(text, name, config, catalog, settings, cache=cache, jobs=options.jobs or cpu_count())


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
