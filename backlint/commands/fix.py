"""The `check --fix / --diff` step: fix the files with reported fixable findings, or print the diff."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Callable

import click

from backlint.api import display_path_of, lint_buffer
from backlint.core.catalog import Catalog
from backlint.core.config import Config
from backlint.core.ids import UNUSED_SUPPRESSION
from backlint.core.options import CheckOptions
from backlint.core.results import Finding, RunResult
from backlint.pipeline.discovery import SourceFile
from backlint.pipeline.engine import lint_text
from backlint.pipeline.filters import kept
from backlint.pipeline.fixes import (
    SAFE,
    FileFix,
    applies,
    encode_like,
    fix_file,
    fix_text,
    fixed_path,
    secret_texts,
    unified_diff,
)
from backlint.pipeline.settings import Settings
from backlint.pipeline.source import decode_source
from backlint.report.masking import RunMasker, disk_reader
from backlint.report.text import printable

RELINT = -1  # fix_run's answer when files were written: lint them again and report what is left


def fix_run(
    options: CheckOptions,
    config: Config,
    catalog: Catalog,
    settings: Settings,
    result: RunResult,
    sources: Sequence[SourceFile],
    stdin_data: bytes | None,
) -> int | None:
    """Fix (or diff) the files with reported fixable findings.

    Returns the exit code when done: ``--diff`` (1 if anything would change) or standard input (the
    fixed source is the output); RELINT when files were written (the caller reports what is left);
    None when nothing was written (report this run as it is).
    """

    unsafe = options.unsafe_fixes

    def wanted(finding: Finding) -> bool:
        return bool(kept([finding], config, catalog))

    reported = {(fixed_path(f), f.rule_id, f.span.line, f.span.column) for f in result.active if applies(f.fix, unsafe)}
    if stdin_data is not None:
        return _fix_stdin(options, config, catalog, settings, result, stdin_data, wanted)
    by_display = {source.display: source for source in sources}
    # Fixes placed in the file as it was read, not found again by ``lint``: the project rules', BL001's.
    # (also the cross-module rules': their findings in helpers are the project pass's)
    project_rules = {i for i, rule in catalog.rules.items() if rule.project or rule.cross_module} | {UNUSED_SUPPRESSION}
    outcomes: list[FileFix] = []
    for path in sorted({path for path, *_ in reported}):
        source = by_display.get(path)
        if source is None:
            continue

        def lint(text: str, source: SourceFile = source) -> list[Finding]:
            return lint_text(source, text, settings).findings

        def first_round(finding: Finding, path: str = path) -> bool:
            return (path, finding.rule_id, finding.span.line, finding.span.column) in reported

        project = [f for f in result.active if fixed_path(f) == path and f.rule_id in project_rules and f.fix]
        outcomes.append(
            fix_file(
                source.path,
                path,
                lint,
                unsafe=unsafe,
                wanted=wanted,
                first_round=first_round,
                write=not options.diff,
                project=project,
                root=config.root,
            )
        )
    masker = _masker(result, {o.path: o.before for o in outcomes}, settings)
    for outcome in outcomes:
        if outcome.problem:
            problem = printable(masker.string(outcome.problem, [outcome.path]))
            click.echo(f"backlint: warning: {printable(outcome.path)}: not fixed: {problem}", err=True)
    changed = [o for o in outcomes if o.after != o.before]
    count = sum(o.fixed for o in changed)
    hidden = _hidden_unsafe(result, unsafe)
    if options.diff:
        for outcome in changed:
            secrets = secret_texts((f for f in result.findings if f.path == outcome.path), outcome.before)
            diff = unified_diff(outcome.path, outcome.before, outcome.after, secrets)
            click.echo(masker.string(diff, [outcome.path]), nl=False)
        click.echo(
            f"backlint: would fix {_plural(count, 'finding')} in {_plural(len(changed), 'file')}{hidden}", err=True
        )
        return 1 if changed else (2 if result.internal_errors else 0)
    written = [o for o in changed if o.written]
    if not written:
        if hidden and not options.quiet:
            click.echo(f"backlint: nothing fixed{hidden}", err=True)
        return None
    if not options.quiet:
        fixed = sum(o.fixed for o in written)
        unsafe_count = sum(o.unsafe for o in written)
        extra = f", {unsafe_count} of them with unsafe fixes" if unsafe_count else ""
        click.echo(f"backlint: fixed {_plural(fixed, 'finding')} in {_plural(len(written), 'file')}{extra}", err=True)
    return RELINT


def _fix_stdin(
    options: CheckOptions,
    config: Config,
    catalog: Catalog,
    settings: Settings,
    result: RunResult,
    data: bytes,
    wanted: Callable[[Finding], bool],
) -> int:
    """``--stdin-filename F --fix``: the fixed buffer on stdout (what editors replace the buffer with)."""

    name = Path(options.stdin_filename or "stdin.py")
    if len(data) > settings.max_file_size:  # not linted: the buffer goes back as it came, all of it
        sys.stdout.buffer.write(data)
        shutil.copyfileobj(sys.stdin.buffer, sys.stdout.buffer)
        sys.stdout.flush()
        return 0
    text, _, _ = decode_source(data, display_path_of(name))
    if text is None:
        sys.stdout.buffer.write(data)
        return 2
    reported = {(f.rule_id, f.span.line, f.span.column) for f in result.active}

    def lint(buffer: str) -> Sequence[Finding]:
        return lint_buffer(buffer, name, config, catalog, settings, project_rules=False).findings

    outcome = fix_text(
        text,
        lint,
        unsafe=options.unsafe_fixes,
        wanted=wanted,
        first_round=lambda f: (f.rule_id, f.span.line, f.span.column) in reported,
    )
    masker = _masker(result, {display_path_of(name): text}, settings)
    if outcome.problem:
        problem = printable(masker.string(outcome.problem, [display_path_of(name)]))
        click.echo(f"backlint: warning: {printable(display_path_of(name))}: not fixed: {problem}", err=True)
    if options.diff:
        secrets = secret_texts(result.findings, text)
        diff = unified_diff(display_path_of(name), text, outcome.text, secrets)
        sys.stdout.write(masker.string(diff, [display_path_of(name)]))
        sys.stdout.flush()
        return 1 if outcome.text != text else 0
    try:
        payload = encode_like(data, outcome.text)
    except UnicodeEncodeError:
        payload = data
    sys.stdout.buffer.write(payload)
    sys.stdout.flush()
    return 0


def _masker(result: RunResult, texts: dict[str, str], settings: Settings) -> RunMasker:
    """The output masker of a diff: every secret of the files it shows, found in their text before the fix."""

    def read(path: str) -> str | None:
        return texts[path] if path in texts else disk_reader()(path)

    masker = RunMasker(result.secrets, read, settings.knowledge)
    masker.learn(path for path, spans in result.secrets.items() if spans)
    masker.learn(texts)
    return masker


def _hidden_unsafe(result: RunResult, unsafe: bool) -> str:
    """The hint that unsafe fixes were left out, like ruff's."""
    if unsafe:
        return ""
    count = sum(1 for f in result.active if f.fix is not None and f.fix.safety != SAFE)
    if not count:
        return ""
    return f" ({_plural(count, 'more fix', 'more fixes')} with --unsafe-fixes)"


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"
