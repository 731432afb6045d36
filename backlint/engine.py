"""Orchestration: discover → per-file stage (parse once, one walk) → project pass → filters."""

from __future__ import annotations

import dataclasses
import io
import os
import stat
import tokenize
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Sequence

from backlint.catalog import Catalog, Knowledge
from backlint.config import Config
from backlint.discovery import SourceFile
from backlint.facts import ModuleFacts, ProjectContext, ProjectFinding, to_finding
from backlint.filekind import classify
from backlint.rule import FileKind, Finding, Notice, Span
from backlint.suppress import Suppressions

PARSE_ERROR = "BL000"


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything the per-file stage needs, picklable so workers can receive it once."""

    rule_levels: tuple[tuple[str, str], ...]
    applies_to: tuple[tuple[str, tuple[str, ...]], ...]
    collect_facts: bool
    options: tuple[tuple[str, Any], ...]
    knowledge: Knowledge
    test_paths: tuple[str, ...]
    non_production_paths: tuple[str, ...]
    max_file_size: int
    known_rules: tuple[str, ...] = ()  # every catalog id: suppression comments naming others are warned about


@dataclasses.dataclass
class FileResult:
    path: str
    findings: list[Finding]
    facts: ModuleFacts | None
    notices: list[Notice]


@dataclasses.dataclass
class RunResult:
    findings: list[Finding]  # including suppressed ones (suppressed_by set)
    notices: list[Notice]
    files: int
    internal_errors: int

    @property
    def active(self) -> list[Finding]:
        return [f for f in self.findings if f.suppressed_by is None]


def build_settings(config: Config, catalog: Catalog) -> Settings:
    from backlint.checks import registry

    file_rules, project_rules, _ = registry()
    enabled = config.enabled_rules(catalog)
    levels = tuple((i, config.level_of(i, catalog.rules[i].level)) for i in enabled if i in file_rules)
    tables = {name: list(rows) for name, rows in catalog.knowledge.tables.items()}
    for name, rows in config.table_extensions:
        tables[name] = tables[name] + list(rows)
    options = dict(catalog.option_defaults)
    options.update(dict(config.options))
    return Settings(
        rule_levels=levels,
        applies_to=tuple((i, catalog.rules[i].applies_to) for i in enabled if i in file_rules),
        collect_facts=any(i in project_rules for i in enabled),
        options=tuple(sorted(options.items())),
        knowledge=Knowledge(tables),
        test_paths=config.test_paths,
        non_production_paths=config.non_production_paths,
        max_file_size=config.max_file_size,
        known_rules=tuple(sorted(catalog.rules)),
    )


def read_source(path: Path, max_size: int) -> tuple[str | None, Notice | None, Finding | None]:
    """Decode per PEP 263 / BOM. Returns (text, notice-if-skipped, BL000-if-unreadable)."""
    display = path.as_posix()
    try:
        info = path.stat()
    except OSError as exc:
        reason = "broken symbolic link" if path.is_symlink() else (exc.strerror or str(exc))
        return None, None, _file_error(display, f"cannot read file: {reason}")
    if not stat.S_ISREG(info.st_mode):
        return None, Notice(display, "not a regular file, skipped"), None
    if info.st_size > max_size:
        return None, Notice(display, f"file is {info.st_size} bytes, over max-file-size ({max_size}), skipped"), None
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, None, _file_error(display, f"cannot read file: {exc.strerror or exc}")
    return decode_source(data, display)


def decode_source(data: bytes, display: str) -> tuple[str | None, Notice | None, Finding | None]:
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        return None, None, _file_error(display, f"cannot decode file: {exc.msg if hasattr(exc, 'msg') else exc}")
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        line = data.count(b"\n", 0, getattr(exc, "start", 0)) + 1
        return None, None, _file_error(display, f"cannot decode file as {encoding}: {exc}", line)
    if text.startswith("\ufeff"):
        text = text[1:]
    return text, None, None


def _file_error(path: str, message: str, line: int = 1, column: int = 1) -> Finding:
    return Finding(
        rule_id=PARSE_ERROR,
        path=path,
        span=Span(line, column, line, column),
        message=message,
        level="error",
        statement_lines=(line, line),
    )


def lint_file(source: SourceFile, settings: Settings) -> FileResult:
    text, notice, error = read_source(source.path, settings.max_file_size)
    if text is None:
        return FileResult(source.display, [error] if error else [], None, [notice] if notice else [])
    return lint_text(source, text, settings)


def lint_text(source: SourceFile, text: str, settings: Settings) -> FileResult:
    from backlint.filestage import analyse

    kind = classify(source.relative, text, settings.test_paths, settings.non_production_paths)
    try:
        findings, facts = analyse(source, text, kind, settings)
    except _InternalError as exc:
        notice = Notice(source.display, f"internal error{' in ' + exc.rule if exc.rule else ''}: {exc.detail}", "error")
        return FileResult(source.display, [], None, [notice])
    suppressions = Suppressions(text)
    for finding in findings:
        hit = suppressions.find(finding.rule_id, *finding.statement_lines)
        if hit is not None:
            finding.suppressed_by = hit.text
    notices = [
        Notice(source.display, f"unknown rule id {rule_id!r} in suppression comment `{comment}`", "warning", line)
        for line, rule_id, comment in suppressions.unknown_ids(settings.known_rules)
    ]
    return FileResult(source.display, findings, facts, notices)


class _InternalError(Exception):
    def __init__(self, rule: str | None, detail: str) -> None:
        super().__init__(detail)
        self.rule = rule
        self.detail = detail


InternalError = _InternalError


def run(files: Sequence[SourceFile], settings: Settings, catalog: Catalog, config: Config, jobs: int) -> RunResult:
    results = _per_file(files, settings, jobs)
    findings: list[Finding] = []
    notices: list[Notice] = []
    facts: list[ModuleFacts] = []
    for result in results:
        findings.extend(result.findings)
        notices.extend(result.notices)
        if result.facts is not None:
            facts.append(result.facts)
    findings.extend(project_pass(facts, settings, catalog, config))
    findings = [f for f in findings if not _ignored_for_file(f, config, files)]
    findings.sort(key=lambda f: f.sort_key)
    internal = sum(1 for n in notices if n.level == "error")
    return RunResult(findings=findings, notices=notices, files=len(files), internal_errors=internal)


def _per_file(files: Sequence[SourceFile], settings: Settings, jobs: int) -> list[FileResult]:
    if jobs <= 1 or len(files) < 4 * jobs:
        return [lint_file(f, settings) for f in files]
    chunk = max(1, min(32, len(files) // (jobs * 4)))
    with ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker, initargs=(settings,)) as pool:
        return list(pool.map(_lint_in_worker, files, chunksize=chunk))


_worker_settings: Settings | None = None


def _init_worker(settings: Settings) -> None:
    global _worker_settings
    _worker_settings = settings


def _lint_in_worker(source: SourceFile) -> FileResult:
    assert _worker_settings is not None
    try:
        return lint_file(source, _worker_settings)
    except Exception as exc:  # a crash must cost one file, not the run
        return FileResult(source.display, [], None, [Notice(source.display, f"internal error: {exc!r}", "error")])


def project_pass(facts: list[ModuleFacts], settings: Settings, catalog: Catalog, config: Config) -> list[Finding]:
    from backlint.checks import registry

    _, project_rules, _ = registry()
    enabled = set(config.enabled_rules(catalog))
    options = dict(settings.options)
    project = ProjectContext(settings.knowledge)
    out: list[Finding] = []
    texts: dict[str, Suppressions | None] = {}
    for rule_id, cls in sorted(project_rules.items()):
        if rule_id not in enabled:
            continue
        level = config.level_of(rule_id, catalog.rules[rule_id].level)
        relevant = [m for m in facts if m.kind in catalog.rules[rule_id].applies_to]
        found: list[ProjectFinding] = cls(level, options, project).check(relevant)
        for item in found:
            finding = to_finding(item, level)
            if item.path not in texts:
                text, _, _ = read_source(Path(item.path), settings.max_file_size)
                texts[item.path] = Suppressions(text) if text is not None else None
            suppressions = texts[item.path]
            if suppressions is not None:
                hit = suppressions.find(rule_id, *finding.statement_lines)
                finding.suppressed_by = hit.text if hit else None
                finding.source_lines = suppressions.lines[finding.span.line - 1 : finding.span.end_line]
            out.append(finding)
    return out


def _ignored_for_file(finding: Finding, config: Config, files: Sequence[SourceFile]) -> bool:
    if not config.per_file_ignores:
        return False
    from backlint.discovery import relative_to_root
    from backlint.globs import matches_any

    relative = relative_to_root(Path(finding.path), config.root)
    return any(
        matches_any(relative, (glob,)) and any(finding.rule_id.startswith(i) or i == "ALL" for i in ids)
        for glob, ids in config.per_file_ignores
    )


def file_kind_names(kinds: Sequence[FileKind]) -> tuple[str, ...]:
    return tuple(k.value for k in kinds)


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS/Windows
        return os.cpu_count() or 1
