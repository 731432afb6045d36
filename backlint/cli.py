"""Command line: ``backlint [check] [PATHS]...``, ``backlint rule ID``, ``backlint rules``.

Exit codes: 0 clean, 1 findings, 2 usage, configuration or internal error.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Callable

import click

# Each command imports what it runs inside its function: `backlint --version`, `--help` and a config
# error answer without loading the engine, the reporters or the language server (startup cost).
from backlint import __version__
from backlint.core.ids import EXIT_ERROR
from backlint.report import FORMATS


class _DefaultCheckGroup(click.Group):
    """Runs ``check`` when the first argument is not a subcommand, like ``ruff`` did."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h", "--version")):
            args = ["check", *args]
        return super().parse_args(ctx, args)


def _split_ids(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(i.strip().upper() for v in values for i in v.split(",") if i.strip())


@click.group(cls=_DefaultCheckGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="backlint", message="%(prog)s %(version)s")
def main() -> None:
    """backlint: finds the red flags of Python backend code.

    A first argument that is not a command is a path: `backlint [PATHS]...` runs `backlint check
    [PATHS]...` (default: the current directory). `backlint check --help` lists its options.
    """
    import warnings

    # Parsing the analysed code (fingerprints, `backlint suppress`, re-reads for positions) can make
    # Python warn about *its* flaws with its source line: never ours to print (see filestage.analyse).
    warnings.simplefilter("ignore", SyntaxWarning)
    warnings.simplefilter("ignore", DeprecationWarning)


_PATH = click.Path(dir_okay=False, path_type=Path)

# Every option of the lint commands, declared once; each command lists the ones it takes.
_OPTIONS: dict[str, Callable[[Any], Any]] = {
    "paths": click.argument("paths", nargs=-1, type=click.Path(path_type=Path)),
    "format": click.option(
        "--format",
        "--output-format",
        "output_format",
        type=click.Choice(FORMATS),
        help="Report format (default: from the --output suffix, .sarif or .json; else text).",
    ),
    "output": click.option("--output", "-o", type=_PATH, help="Write the report to FILE."),
    "select": click.option(
        "--select", multiple=True, help="Rule ids or prefixes to enable (replaces the default set)."
    ),
    "extend-select": click.option("--extend-select", multiple=True, help="Rule ids or prefixes to enable in addition."),
    "ignore": click.option("--ignore", multiple=True, help="Rule ids or prefixes to disable."),
    "exit-zero": click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings."),
    "fail-level": click.option(
        "--fail-level",
        type=click.Choice(("error", "warning", "note")),
        help="Exit 1 only for findings at this level or above (default: any finding).",
    ),
    "config": click.option(
        "--config",
        "config_path",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Read the settings from FILE (a pyproject.toml with [tool.backlint], or a backlint.toml) instead "
        "of the nearest pyproject.toml; its directory is the project root.",
    ),
    "show-files": click.option(
        "--show-files", is_flag=True, help="List the files that would be linted, each with its kind, and exit."
    ),
    "show-settings": click.option(
        "--show-settings", is_flag=True, help="Print the project root, configuration and rules in effect, and exit."
    ),
    "stdin-filename": click.option("--stdin-filename", help="Lint standard input as if it were this file."),
    "force-exclude": click.option(
        "--force-exclude", is_flag=True, help="Apply excludes to files named on the command line too."
    ),
    "quiet": click.option("--quiet", "-q", is_flag=True, help="Print findings only, no summary."),
    "statistics": click.option("--statistics", is_flag=True, help="Print the number of findings per rule."),
    "sarif-category": click.option(
        "--sarif-category", help="SARIF automationDetails category, for several uploads per commit."
    ),
    "sarif-include-suppressed": click.option(
        "--sarif-include-suppressed",
        is_flag=True,
        help="Keep inline-suppressed findings in SARIF, marked as suppressed.",
    ),
    "jobs": click.option("--jobs", "-j", type=click.IntRange(min=1), help="Worker processes (default: all CPUs)."),
    "no-cache": click.option("--no-cache", is_flag=True, help="Neither read nor write the result cache (`cache-dir`)."),
    "cache-dir": click.option(
        "--cache-dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Where the result cache is (default: `cache-dir`, or BACKLINT_CACHE_DIR); any directory that is "
        "empty or already backlint's.",
    ),
    "color": click.option(
        "--color/--no-color", default=None, help="Colour the text report (default: on a TTY, unless NO_COLOR)."
    ),
    "baseline": click.option(
        "--baseline", type=_PATH, help="Report only findings not in this baseline file (`backlint baseline` writes it)."
    ),
    "changed-since": click.option(
        "--changed-since",
        "--diff-base",
        "changed_since",
        metavar="REV",
        help="Lint only files changed since git revision REV, plus untracked ones (REV... : since the merge base).",
    ),
    "changed-lines-only": click.option(
        "--changed-lines-only",
        "--diff-lines",
        is_flag=True,
        help="With --changed-since: only findings on changed lines.",
    ),
    "report-unused-ignores": click.option(
        "--report-unused-ignores", is_flag=True, help="Report suppression comments that suppress nothing (BL001)."
    ),
    "shard": click.option(
        "--shard", metavar="I/N", help="Lint shard I of N (a stable share of the files) for `backlint merge`."
    ),
    "shard-output": click.option("--shard-output", type=_PATH, help="Where --shard writes its results (JSON)."),
    "fix": click.option("--fix", is_flag=True, help="Apply the safe autofixes, then report what is left."),
    "unsafe-fixes": click.option(
        "--unsafe-fixes", is_flag=True, help="With --fix or --diff: also the fixes that need review."
    ),
    "diff": click.option(
        "--diff", is_flag=True, help="Print the autofixes as a unified diff, write nothing (exit 1 if any)."
    ),
}
# What `baseline` and `suppress` share with `check`: which files, which rules, how to run.
_LINT = ("paths", "select", "extend-select", "ignore", "config", "force-exclude", "jobs", "no-cache", "cache-dir")
# What `merge` shares with `check`: how to report.
_REPORT: tuple[str, ...] = ("output", "config", "baseline", "exit-zero", "fail-level", "quiet", "statistics")
_REPORT += ("sarif-category",)
_REPORT += ("sarif-include-suppressed", "color")


def _with(*names: str) -> Callable[[Any], Any]:
    def decorate(command: Any) -> Any:
        for name in reversed(names):
            command = _OPTIONS[name](command)
        return command

    return decorate


def _run(command: Callable[[], int]) -> None:
    """Exit with ``command()``'s code; SIGINT and SIGTERM stop it cleanly with 130 and 143."""
    from backlint.pipeline.interrupt import run_stoppable

    sys.exit(run_stoppable(command, lambda what: click.echo(f"backlint: {what}", err=True)))


def _check_options(kwargs: dict[str, Any], **overrides: Any) -> Any:
    """CheckOptions from the options a command was given (each under its parameter name)."""
    import dataclasses

    from backlint.core.options import CheckOptions

    known = {field.name for field in dataclasses.fields(CheckOptions)}
    values = {name: value for name, value in kwargs.items() if name in known}
    values["paths"] = list(kwargs.get("paths", ()))
    for name in ("extend_select", "ignore"):
        if name in values:
            values[name] = _split_ids(values[name])
    if "select" in values:
        values["select"] = _split_ids(values["select"]) or None
    values.update(overrides)
    return CheckOptions(**values)


@main.command()
@_with(*_OPTIONS)
def check(**kwargs: Any) -> None:
    """Lint PATHS (default: the current directory)."""
    from backlint.commands.check import run_check

    options = _check_options(_format_from_output(kwargs))
    _run(lambda: run_check(options))


def _format_from_output(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Without --format, the report format follows the --output suffix (.sarif, .json), else text."""
    if kwargs.get("output_format") is None:
        suffix = kwargs["output"].suffix.lower() if kwargs.get("output") is not None else ""
        kwargs["output_format"] = {".sarif": "sarif", ".json": "json"}.get(suffix, "text")
    return kwargs


@main.command()
@_with(*_LINT)
@click.option(
    "--output",
    "-o",
    type=_PATH,
    help="Baseline file (default: the `baseline` key of the configuration, else .backlint-baseline.json at the root).",
)
@click.option("--prune", is_flag=True, help="Only drop entries no longer found; add no new ones.")
def baseline(**kwargs: Any) -> None:
    """Record today's findings in PATHS so that `check --baseline` reports only new ones."""
    from backlint.adoption.baseline import record
    from backlint.commands.check import run_check

    output, prune = kwargs.pop("output"), kwargs.pop("prune")
    options = _check_options(kwargs, quiet=True, use_baseline=False, after_run=record(output, prune=prune))
    _run(lambda: run_check(options))


@main.command()
@_with(*_LINT)
def suppress(**kwargs: Any) -> None:
    """Add `# backlint: ignore[ID]` comments for every current finding in PATHS."""
    from backlint.adoption.bulk_suppress import after_run
    from backlint.commands.check import run_check

    options = _check_options(kwargs, quiet=True, use_baseline=False, after_run=after_run)
    _run(lambda: run_check(options))


@main.command()
@click.argument("shards", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "--output-format",
    "output_format",
    type=click.Choice(FORMATS),
    help="Report format (default: from the --output suffix, .sarif or .json; else text).",
)
@_with(*_REPORT)
def merge(**kwargs: Any) -> None:
    """Join the files of `check --shard I/N --shard-output FILE` runs into one report.

    The project rules run here, once, over the facts of every shard: the result is the one an
    unsharded run gives. Run it from the directory the shards ran in, with the checkout present.
    """
    from backlint.commands.merge import run_merge

    shards = list(kwargs.pop("shards"))
    options = _check_options(_format_from_output(kwargs))
    _run(lambda: run_merge(options, shards))


@main.command()
@click.argument("rule_id")
def rule(rule_id: str) -> None:
    """Print a rule's documentation with its examples."""
    from backlint.core.catalog import load_catalog

    catalog = load_catalog()
    meta = catalog.rules.get(rule_id.upper())
    if meta is None:
        click.echo(f"backlint: error: unknown rule {rule_id!r}; `backlint rules` lists them", err=True)
        sys.exit(EXIT_ERROR)
    click.echo(meta.markdown())


@main.command()
@click.option(
    "--format", "output_format", type=click.Choice(("text", "json", "markdown")), default="text", show_default=True
)
def rules(output_format: str) -> None:
    """List every rule: id, name, default level, enabled by default (markdown: the full docs/rules.md)."""
    import json

    from backlint.core.catalog import load_catalog

    catalog = load_catalog()
    if output_format == "json":
        rows = [
            {
                "id": m.id,
                "name": m.name,
                "category": m.category,
                "level": m.level,
                "enabled": m.enabled,
                "precision": m.precision,
                "cwe": list(m.cwe),
                "summary": m.summary,
                "url": m.help_uri,
            }
            for m in catalog.rules.values()
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    if output_format == "markdown":
        click.echo(catalog.rules_markdown(), nl=False)
        return
    for m in catalog.rules.values():
        flag = "" if m.enabled else "  (opt-in)"
        click.echo(f"{m.id}  {m.name:<45} {m.level:<8}{flag}")


@main.command()
@click.option("--stdio", is_flag=True, help="Talk LSP over stdin/stdout (the default; some clients pass it).")
def server(stdio: bool) -> None:
    """Run the language server (LSP over stdio) for editors."""
    try:
        from backlint.lsp import serve
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in ("pygls", "lsprotocol", "cattrs"):
            raise
        # No registry release exists yet (README.md, "Install"): the extra is installed from a checkout.
        click.echo(
            "backlint: error: `backlint server` needs the language-server extra (pygls): install backlint "
            "with its lsp extra from a checkout: pip install '/path/to/backlint[lsp]'",
            err=True,
        )
        sys.exit(EXIT_ERROR)
    serve()
