"""Adopting backlint in an existing codebase: what baselines, changed-files mode, unused-suppression
reports and CI shards add to a ``check`` run. ``run.py`` calls ``prepare``, ``files_to_lint`` and
``finish`` at fixed points; ``backlint baseline``, ``suppress`` and ``merge`` are built on them.

Order of the filters after the engine (DESIGN.md, data flow): changed files → BL001 (which needs the
findings of every rule that ran) → changed lines → rule selection → baseline.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from backlint.adoption import shard
from backlint.adoption.changed import GitError, changes_since
from backlint.adoption.shard import ShardError, parse_shard, shard_of
from backlint.adoption.unused_ignores import lint_config, unused_suppressions
from backlint.core.catalog import Catalog
from backlint.core.config import Config, ConfigError
from backlint.core.ids import UNUSED_SUPPRESSION
from backlint.pipeline.filters import enabled_only
from backlint.pipeline.suppress import ForeignIgnores

if TYPE_CHECKING:
    from backlint.adoption.baseline import Baseline
    from backlint.adoption.changed import Changes
    from backlint.core.options import CheckOptions
    from backlint.core.results import ModuleFacts, RunResult
    from backlint.pipeline.discovery import SourceFile
    from backlint.pipeline.settings import Settings


class AdoptionError(Exception):
    """A usage problem of these options (exit code 2)."""


@dataclasses.dataclass
class Adoption:
    config: Config  # what is reported
    lint_config: Config  # what the engine runs (with BL001: every rule not ignored)
    catalog: Catalog
    baseline: Baseline | None = None
    changes: Changes | None = None
    changed_lines_only: bool = False
    shard: tuple[int, int] | None = None
    shard_output: Path | None = None
    facts: list[ModuleFacts] | None = None  # the engine's facts, in a shard run
    positions: dict[str, int] = dataclasses.field(default_factory=dict)  # display path → discovery position
    reported: list[str] | None = None  # display paths whose findings are reported (None: all linted)
    selection: dict[str, Any] = dataclasses.field(default_factory=dict)  # stored in a shard file

    # -- before the run ------------------------------------------------------------------------------

    @classmethod
    def prepare(cls, options: CheckOptions, config: Config, catalog: Catalog, *, use_stdin: bool) -> Adoption:

        if options.report_unused_ignores:
            config = dataclasses.replace(config, extend_select=(*config.extend_select, UNUSED_SUPPRESSION))
        adoption = cls(config=config, lint_config=lint_config(config, catalog), catalog=catalog)
        adoption.selection = selection_of(options)
        if config.honor_foreign_ignores:
            _check_foreign_table(config, catalog)
        if options.changed_lines_only and options.changed_since is None:
            raise AdoptionError("--changed-lines-only needs --changed-since REV")
        if options.shard is not None:
            if use_stdin or options.changed_since is not None:
                raise AdoptionError("--shard lints a share of the whole tree: not standard input, not --changed-since")
            if options.shard_output is None:
                raise AdoptionError("--shard needs --shard-output FILE (the input of `backlint merge`)")
            try:
                adoption.shard = parse_shard(options.shard)
            except ShardError as exc:
                raise AdoptionError(str(exc)) from exc
            adoption.shard_output = options.shard_output
            adoption.facts = []
            return adoption  # findings are judged (baseline, BL001) by the merge
        if options.changed_since is not None:
            if use_stdin:
                raise AdoptionError("--changed-since reads git: not with standard input")

            where = options.paths[0] if options.paths else Path(".")
            where = where if where.is_dir() else where.parent if where.parent.is_dir() else Path(".")
            try:
                adoption.changes = changes_since(
                    options.changed_since, where.absolute(), with_lines=options.changed_lines_only
                )
            except GitError as exc:
                raise AdoptionError(f"--changed-since: {exc}") from exc
            adoption.changed_lines_only = options.changed_lines_only
        baseline_path = options.baseline
        if baseline_path is None and config.baseline is not None:
            baseline_path = config.root / config.baseline
        if baseline_path is not None and options.use_baseline:
            from backlint.adoption.baseline import VERSION, BaselineError, load

            try:
                adoption.baseline = load(baseline_path)
            except BaselineError as exc:
                raise AdoptionError(str(exc)) from exc
            if adoption.baseline.version != VERSION:
                click.echo(
                    f"backlint: warning: {baseline_path}: baseline version {adoption.baseline.version}, read as "
                    f"it is; `backlint baseline` rewrites it as version {VERSION} (fingerprints that survive "
                    "edits inside a function)",
                    err=True,
                )
        return adoption

    def files_to_lint(self, found: Sequence[SourceFile], settings: Settings) -> list[SourceFile]:
        """A shard's share; the changed files (the project rules get the other files' facts from the engine)."""
        self.positions = {source.display: position for position, source in enumerate(found)}
        if self.shard is not None:
            index, count = self.shard
            return [source for source in found if shard_of(source.relative, count) == index]
        if self.changes is not None:
            changes = self.changes
            self.reported = [source.display for source in found if changes.touches(source.path)]
            reported = set(self.reported)
            return [source for source in found if source.display in reported]
        return list(found)

    # -- after the run -------------------------------------------------------------------------------

    def finish(
        self,
        result: RunResult,
        linted: Sequence[str],
        settings: Settings,
        *,
        buffers: Mapping[str, bytes] | None = None,
    ) -> RunResult:
        """Changed files, BL001, changed lines, rule selection, baseline: the result as reported.

        ``buffers`` holds the text of files that are not on disk (standard input)."""
        paths = list(linted) if self.reported is None else self.reported
        if self.reported is not None:
            keep = set(paths)
            everything = set(linted)
            result.findings = [f for f in result.findings if f.path in keep]
            result.notices = [n for n in result.notices if n.path in keep or n.path not in everything]
            result.not_judged_files = tuple(p for p in result.not_judged_files if p in keep)
            result.files = len(paths)
            result.internal_errors = sum(1 for n in result.notices if n.level == "error")
        enabled = set(self.config.enabled_rules(self.catalog))
        if UNUSED_SUPPRESSION in enabled:
            result.findings.extend(
                unused_suppressions(
                    result.findings,
                    paths,
                    config=self.config,
                    catalog=self.catalog,
                    knowledge=settings.knowledge,
                    max_file_size=settings.max_file_size,
                    buffers=buffers,
                    unjudged=result.unjudged_rules,
                )
            )
        if self.changed_lines_only and self.changes is not None:
            from backlint.adoption.baseline import Fingerprinter

            printer = Fingerprinter(self.config.root, buffers)
            result.findings = [f for f in result.findings if self._on_changed_line(f.path, f, printer)]
        result.findings = enabled_only(result.findings, self.config, self.catalog)
        if self.baseline is not None:
            from backlint.adoption.baseline import apply

            apply(result.findings, self.baseline, self.config.root, buffers)
        result.findings.sort(key=lambda f: f.sort_key)
        return result

    def _on_changed_line(self, path: str, finding: Any, printer: Any) -> bool:
        """Whether the change touched the finding: its statement's lines; for a finding anchored on a
        whole function or class (``Fingerprinter.signature``), its signature or a line it names."""
        assert self.changes is not None
        lines = self.changes.lines(Path(path))
        if lines is None:
            return True
        signature = printer.signature(finding)
        if signature is not None:
            named = [signature, *((r.span.line, r.span.end_line) for r in finding.related if r.path == path)]
            return any(line in lines for first, last in named for line in range(first, last + 1))
        first = min(finding.span.line, finding.statement_lines[0] or finding.span.line)
        last = max(finding.span.end_line, finding.statement_lines[1])
        return any(line in lines for line in range(first, last + 1))

    def write_shard(self, result: RunResult, files: Sequence[SourceFile], settings: Settings) -> int:
        """Save this shard's results and facts for ``backlint merge``; the report is the merge's."""

        assert self.shard is not None and self.shard_output is not None
        index, count = self.shard
        data = shard.ShardData(
            index=index,
            count=count,
            settings_key=shard.settings_key(settings, self.lint_config),
            selection=self.selection,
            files=[(self.positions[source.display], source.display) for source in files],
            findings=result.findings,
            notices=result.notices,
            facts=[(self.positions[f.path], f) for f in self.facts or []],
            internal_errors=result.internal_errors,
        )
        try:
            shard.write(self.shard_output, data)
        except OSError as exc:
            click.echo(f"backlint: error: cannot write {self.shard_output}: {exc.strerror or exc}", err=True)
            return 2
        click.echo(
            f"backlint: shard {index}/{count}: {len(files)} of {len(self.positions)} files, "
            f"{len(result.findings)} file findings; project rules and the report come from `backlint merge` "
            f"-> {self.shard_output}",
            err=True,
        )
        return 2 if result.internal_errors else 0


def _check_foreign_table(config: Config, catalog: Catalog) -> None:
    """The foreign-ignores rows a user added must name a known tool and backlint rule ids."""

    rows = list(catalog.knowledge.rows("foreign-ignores"))
    rows += [row for name, extra in config.table_extensions if name == "foreign-ignores" for row in extra]
    try:
        ForeignIgnores.from_rows(rows)
    except ValueError as exc:
        raise ConfigError(f"{config.source}: tool.backlint.tables.{exc}") from exc


def selection_of(options: CheckOptions) -> dict[str, Any]:
    """The command line's rule selection, stored in a shard so the merge applies the same."""
    return {
        "select": list(options.select) if options.select is not None else None,
        "extend_select": list(options.extend_select),
        "ignore": list(options.ignore),
        "report_unused_ignores": options.report_unused_ignores,
    }


# -- backlint merge ----------------------------------------------------------------------------------
