"""The ``check`` command: config → discovery → engine → filters → reporter → exit code."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import click

from backlint.catalog import load_catalog
from backlint.config import ConfigError, load_config

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
    color: bool | None = None


def _error(message: str) -> int:
    click.echo(f"backlint: error: {message}", err=True)
    return EXIT_ERROR


def run_check(options: CheckOptions) -> int:
    catalog = load_catalog()
    use_stdin = options.stdin_filename is not None and options.paths in ([], [Path("-")])
    paths = options.paths or [Path(".")]
    start = Path(options.stdin_filename) if use_stdin and options.stdin_filename else paths[0]
    try:
        config = load_config(catalog, explicit=options.config_path, start=start.absolute())
        config = _apply_cli_selection(config, options, catalog)
    except ConfigError as exc:
        return _error(str(exc))

    from backlint.discovery import SourceFile, discover, display_path, relative_to_root
    from backlint.engine import build_settings, cpu_count, run

    settings = build_settings(config, catalog)
    if use_stdin:
        result = _run_stdin(options, config, catalog, settings)
    else:
        found = discover(paths, config, force_exclude=options.force_exclude)
        for path, problem in found.problems:
            click.echo(f"backlint: warning: {path}: {problem}", err=True)
        if any(p == "no such file or directory" for _, p in found.problems) and not found.files:
            return EXIT_ERROR
        result = run(found.files, settings, catalog, config, options.jobs or cpu_count())
    del SourceFile, display_path, relative_to_root

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
    )
    text = get_reporter(options.output_format)(report_input)
    if options.quiet and options.output_format == "text":
        text = "".join(line for line in text.splitlines(keepends=True) if not line.startswith(("Found ", "All clean")))
    if options.output is not None:
        try:
            options.output.write_text(text, encoding="utf-8")
        except OSError as exc:
            return _error(f"cannot write {options.output}: {exc.strerror or exc}")
        if options.output_format != "text" and not options.quiet:
            for notice in result.notices:
                click.echo(f"backlint: {notice.level}: {notice.path}: {notice.message}", err=True)
    else:
        stream.write(text)
        stream.flush()
    if result.internal_errors:
        return EXIT_ERROR
    if result.active and not options.exit_zero:
        return EXIT_FINDINGS
    return EXIT_CLEAN


def _apply_cli_selection(config, options: CheckOptions, catalog):  # type: ignore[no-untyped-def]
    for flag, values in (("--select", options.select or ()), ("--extend-select", options.extend_select), ("--ignore", options.ignore)):
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


def _run_stdin(options, config, catalog, settings):  # type: ignore[no-untyped-def]
    from backlint.discovery import SourceFile, display_path, relative_to_root
    from backlint.engine import RunResult, decode_source, lint_text, project_pass

    name = Path(options.stdin_filename or "stdin.py")
    source = SourceFile(path=name, display=display_path(name, Path.cwd().resolve()), relative=relative_to_root(name, config.root))
    text, notice, error = decode_source(sys.stdin.buffer.read(), source.display)
    if text is None:
        return RunResult(findings=[error] if error else [], notices=[notice] if notice else [], files=1, internal_errors=0)
    file_result = lint_text(source, text, settings)
    findings = file_result.findings
    if file_result.facts is not None:
        findings += [f for f in project_pass([file_result.facts], settings, catalog, config) if f.path == source.display]
    internal = sum(1 for n in file_result.notices if n.level == "error")
    return RunResult(findings=sorted(findings, key=lambda f: f.sort_key), notices=file_result.notices, files=1, internal_errors=internal)
