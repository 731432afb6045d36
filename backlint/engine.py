"""Orchestration: discover → per-file stage (parse once, one walk) → project pass → filters."""

from __future__ import annotations

import dataclasses
import io
import os
import re
import stat
import tokenize
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from backlint.catalog import Catalog, Knowledge
from backlint.config import Config
from backlint.discovery import SourceFile
from backlint.facts import ModuleFacts, ProjectContext, ProjectFinding, to_finding
from backlint.filekind import classify
from backlint.rule import FileKind, Finding, Notice, Span
from backlint.suppress import Suppressions, suppressions_for

if TYPE_CHECKING:
    from backlint.cache import Cache, StatSignature

PARSE_ERROR = "BL000"
# Below this much source to lint, starting workers costs more than it saves (measured: a worker
# costs ~60 ms to fork, warm up and join; libcst parses ~150 kB of source per second per core).
POOL_MIN_BYTES = 96 * 1024
NO_PREFILTER_ENV = "BACKLINT_NO_PREFILTER"  # benchmarks and tests only: parse every file


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
    prefilter: bool = True  # parse only files where a rule's trigger token occurs
    honor_foreign_ignores: bool = False  # bandit nosec and ruff noqa comments count (the foreign-ignores table)


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
    """From the catalog's metadata alone: importing the rules (and libcst) waits until a file is parsed."""
    enabled = config.enabled_rules(catalog)
    file_rules = [i for i in enabled if i != PARSE_ERROR and not catalog.rules[i].project]
    levels = tuple((i, config.level_of(i, catalog.rules[i].level)) for i in file_rules)
    tables = {name: list(rows) for name, rows in catalog.knowledge.tables.items()}
    for name, rows in config.table_extensions:
        tables[name] = tables[name] + list(rows)
    options = dict(catalog.option_defaults)
    options.update(dict(config.options))
    return Settings(
        rule_levels=levels,
        applies_to=tuple((i, catalog.rules[i].applies_to) for i in file_rules),
        collect_facts=any(catalog.rules[i].project for i in enabled),
        options=tuple(sorted(options.items())),
        knowledge=Knowledge(tables),
        test_paths=config.test_paths,
        non_production_paths=config.non_production_paths,
        max_file_size=config.max_file_size,
        known_rules=tuple(sorted(catalog.rules)),
        prefilter=not os.environ.get(NO_PREFILTER_ENV),
        honor_foreign_ignores=config.honor_foreign_ignores,
    )


def read_source(path: Path, max_size: int) -> tuple[str | None, Notice | None, Finding | None]:
    """Decode per PEP 263 / BOM. Returns (text, notice-if-skipped, BL000-if-unreadable)."""
    display = path.as_posix()
    data, _, notice, error = _read_bytes(path, display, max_size)
    if data is None:
        return None, notice, error
    return decode_source(data, display)


def _read_bytes(
    path: Path, display: str, max_size: int
) -> tuple[bytes | None, os.stat_result | None, Notice | None, Finding | None]:
    """(bytes, their stat) of a regular file within max_size; else a notice or a BL000 finding."""
    try:
        info = path.stat()
    except OSError as exc:
        reason = "broken symbolic link" if path.is_symlink() else (exc.strerror or str(exc))
        return None, None, None, _file_error(display, f"cannot read file: {reason}")
    if not stat.S_ISREG(info.st_mode):
        return None, None, Notice(display, "not a regular file, skipped"), None
    if info.st_size > max_size:
        notice = Notice(display, f"file is {info.st_size} bytes, over max-file-size ({max_size}), skipped")
        return None, None, notice, None
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, None, None, _file_error(display, f"cannot read file: {exc.strerror or exc}")
    return data, info, None, None


_CODING_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*[-\w.]+")  # PEP 263, as tokenize reads it


def decode_source(data: bytes, display: str) -> tuple[str | None, Notice | None, Finding | None]:
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        if "unknown encoding" in str(exc):
            return None, None, _file_error(display, f"cannot decode file: {exc.msg}")
        encoding = "utf-8"  # detect_encoding also rejects a non-UTF-8 first line: report it below
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        start = getattr(exc, "start", 0)
        line = data.count(b"\n", 0, start) + 1
        column = start - (data.rfind(b"\n", 0, start) + 1) + 1
        byte = f" (byte 0x{data[start]:02x})" if isinstance(exc, UnicodeDecodeError) else ""
        declared = any(_CODING_COOKIE.match(line) for line in data.splitlines()[:2])
        hint = ", the encoding its coding declaration names" if declared else " and has no PEP 263 coding declaration"
        message = f"cannot decode file: it is not valid {encoding}{byte}{hint}"
        return None, None, _file_error(display, message, line, column)
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
    return _lint_cached(source, settings, None).result


def lint_text(source: SourceFile, text: str, settings: Settings) -> FileResult:
    from backlint.filestage import analyse

    kind = classify(source.relative, text, settings.test_paths, settings.non_production_paths)
    try:
        findings, facts = analyse(source, text, kind, settings)
    except _InternalError as exc:
        notice = Notice(source.display, f"internal error{' in ' + exc.rule if exc.rule else ''}: {exc.detail}", "error")
        return FileResult(source.display, [], None, [notice])
    suppressions = suppressions_for(text, settings.knowledge, settings.honor_foreign_ignores)
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


Progress = Callable[[int, int], None]  # (files done, files to lint)


@dataclasses.dataclass
class _Outcome:
    """One file's result and what the cache learnt about it (picklable, crosses from workers)."""

    result: FileResult
    key: str | None = None  # cache entry holding this result, if stored or read
    facts_digest: str | None = None  # the facts' hash if the file has facts (None until loaded if cached)
    record: tuple[str, StatSignature, str] | None = None  # (absolute path, stat, content hash)
    cache_problem: str | None = None


def run(
    files: Sequence[SourceFile],
    settings: Settings,
    catalog: Catalog,
    config: Config,
    jobs: int,
    *,
    cache: Cache | None = None,
    progress: Progress | None = None,
    facts_out: list[ModuleFacts] | None = None,
) -> RunResult:
    """Lint ``files``: cached results first, the rest in-process or over ``jobs`` workers.

    With ``facts_out`` the project pass is left to the caller (a sharded run): every file's
    ModuleFacts are appended there instead.
    """
    outcomes: list[_Outcome | None] = [None] * len(files)
    todo: Todo = []
    memo: dict[str, tuple[str, ...]] = {}
    for position, source in enumerate(files):
        hit, size = _cached(source, settings, cache, memo)
        if hit is not None:
            outcomes[position] = hit
        else:
            todo.append((position, source, size))
    for position, outcome in _per_file(todo, settings, jobs, cache, progress):
        outcomes[position] = outcome
    done = [o for o in outcomes if o is not None]
    findings = [f for o in done for f in o.result.findings]
    notices = [n for o in done for n in o.result.notices]
    if settings.collect_facts and facts_out is not None:
        facts_out.extend(_gather_facts(done, files, settings, cache))
    elif settings.collect_facts:
        findings.extend(_project_findings(done, files, settings, catalog, config, cache))
    if cache is not None:
        for outcome in done:
            if outcome.record is not None:
                cache.remember(*outcome.record)
        cache.close(o.key for o in done if o.key is not None)
        problem = cache.problem or next((o.cache_problem for o in done if o.cache_problem), None)
        if problem:
            notices.append(Notice(cache.directory.as_posix(), problem))
    findings = [f for f in findings if not _ignored_for_file(f, config, files)]
    findings.sort(key=lambda f: f.sort_key)
    internal = sum(1 for n in notices if n.level == "error")
    return RunResult(findings=findings, notices=notices, files=len(files), internal_errors=internal)


def _cached(
    source: SourceFile, settings: Settings, cache: Cache | None, memo: dict[str, tuple[str, ...]]
) -> tuple[_Outcome | None, int]:
    """A cached result, found by the stat index or else by hashing the file here, and the file's size.

    Hashing in this process is cheap next to starting workers and importing libcst: after a
    checkout or a cache restored in CI (every stat changed), a run still parses nothing.
    """
    try:
        info = source.path.stat()
    except OSError:
        return None, 0
    if cache is None or not stat.S_ISREG(info.st_mode) or info.st_size > settings.max_file_size:
        return None, info.st_size
    from backlint.cache import content_hash, stat_signature

    absolute = os.path.abspath(source.path)
    signature = stat_signature(info)
    digest = cache.known_hash(absolute, signature)
    record = None
    if digest is None:
        try:
            digest = content_hash(source.path.read_bytes())
        except OSError:
            return None, info.st_size
        record = (absolute, signature, digest)
    key = cache.entry_key(source, module_name(source.path, memo), digest)
    hit = cache.load(key, source.display)
    if hit is None:
        return None, info.st_size
    result = FileResult(source.display, hit.findings, None, hit.notices)
    return _Outcome(result, key, hit.facts_digest, record), info.st_size


def _lint_cached(source: SourceFile, settings: Settings, cache: Cache | None) -> _Outcome:
    """Read once, hash, and lint unless the cache has this content at this place."""
    data, info, notice, error = _read_bytes(source.path, source.display, settings.max_file_size)
    if data is None or info is None:
        return _Outcome(FileResult(source.display, [error] if error else [], None, [notice] if notice else []))
    if cache is None:
        return _Outcome(_lint_bytes(source, data, settings))
    from backlint.cache import content_hash, stat_signature

    digest = content_hash(data)
    key = cache.entry_key(source, module_name(source.path), digest)
    record = (os.path.abspath(source.path), stat_signature(info), digest)
    hit = cache.load(key, source.display)
    if hit is not None:
        return _Outcome(FileResult(source.display, hit.findings, None, hit.notices), key, hit.facts_digest, record)
    result = _lint_bytes(source, data, settings)
    if any(n.level == "error" for n in result.notices):
        return _Outcome(result, record=record)  # internal errors are not cached: they may be transient
    facts_digest = cache.store(key, result)
    return _Outcome(result, key, facts_digest, record, cache.problem)


def _lint_bytes(source: SourceFile, data: bytes, settings: Settings) -> FileResult:
    text, notice, error = decode_source(data, source.display)
    if text is None:
        return FileResult(source.display, [error] if error else [], None, [notice] if notice else [])
    return lint_text(source, text, settings)


Todo = list[tuple[int, SourceFile, int]]  # (position in the run, file, size in bytes)


def _per_file(
    todo: Todo, settings: Settings, jobs: int, cache: Cache | None, progress: Progress | None
) -> list[tuple[int, _Outcome]]:
    """Serial for small runs (pre-commit's few files); a process pool when there is enough source."""
    if jobs <= 1 or len(todo) < 2 or sum(size for _, _, size in todo) < POOL_MIN_BYTES:
        out = []
        for done, (position, source, _) in enumerate(todo, 1):
            out.append((position, _lint_guarded(source, settings, cache)))
            if progress is not None:
                progress(done, len(todo))
        return out
    return _in_pool(todo, settings, jobs, cache, progress)


def _chunks(todo: Todo, workers: int) -> list[list[tuple[int, SourceFile]]]:
    """Largest files first, each chunk about 1/8 of a worker's share: balanced, few round trips."""
    ordered = sorted(todo, key=lambda item: (-item[2], item[0]))
    target = max(1, sum(size for _, _, size in todo) // (workers * 8))
    chunks: list[list[tuple[int, SourceFile]]] = []
    current: list[tuple[int, SourceFile]] = []
    weight = 0
    for position, source, size in ordered:
        current.append((position, source))
        weight += size
        if weight >= target or len(current) >= 64:
            chunks.append(current)
            current, weight = [], 0
    if current:
        chunks.append(current)
    return chunks


def _in_pool(
    todo: Todo, settings: Settings, jobs: int, cache: Cache | None, progress: Progress | None
) -> list[tuple[int, _Outcome]]:
    import gc
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from backlint.checks import registry

    registry()  # imported once here: forked workers inherit the rules and libcst
    chunks = _chunks(todo, jobs)
    gc.collect()
    gc.freeze()  # workers never scan (or copy-on-write) what they inherit
    out: list[tuple[int, _Outcome]] = []
    try:
        with ProcessPoolExecutor(
            max_workers=min(jobs, len(chunks)), initializer=_init_worker, initargs=(settings, cache)
        ) as pool:
            futures = {pool.submit(_lint_chunk, chunk): chunk for chunk in chunks}
            for future in as_completed(futures):
                try:
                    out.extend(future.result())
                except Exception as exc:  # a worker died (killed, out of memory): its files are reported
                    for position, source in futures[future]:
                        notice = Notice(source.display, f"internal error: worker process failed: {exc!r}", "error")
                        out.append((position, _Outcome(FileResult(source.display, [], None, [notice]))))
                if progress is not None:
                    progress(len(out), len(todo))
    finally:
        gc.unfreeze()
    return out


_worker_settings: Settings | None = None
_worker_cache: Cache | None = None


def _init_worker(settings: Settings, cache: Cache | None) -> None:
    import gc

    global _worker_settings, _worker_cache
    _worker_settings, _worker_cache = settings, cache
    from backlint.checks import registry

    registry()  # a no-op when forked; spawned workers import the rules once, before any file
    gc.freeze()


def _lint_chunk(chunk: list[tuple[int, SourceFile]]) -> list[tuple[int, _Outcome]]:
    assert _worker_settings is not None
    return [(position, _lint_guarded(source, _worker_settings, _worker_cache)) for position, source in chunk]


def _lint_guarded(source: SourceFile, settings: Settings, cache: Cache | None) -> _Outcome:
    try:
        return _lint_cached(source, settings, cache)
    except Exception as exc:  # a crash must cost one file, not the run
        notice = Notice(source.display, f"internal error: {exc!r}", "error")
        return _Outcome(FileResult(source.display, [], None, [notice]))


def _project_findings(
    outcomes: list[_Outcome],
    files: Sequence[SourceFile],
    settings: Settings,
    catalog: Catalog,
    config: Config,
    cache: Cache | None,
) -> list[Finding]:
    """The project pass, or its cached findings when every file's facts are the same as then."""
    key = None
    entries = {o.result.path: o.key for o in outcomes if o.key is not None}
    if cache is not None and len(entries) == len(outcomes):
        enabled = config.enabled_rules(catalog)
        levels = [(i, config.level_of(i, catalog.rules[i].level)) for i in enabled if catalog.rules[i].project]
        key = cache.project_key(levels, [(o.result.path, o.facts_digest) for o in outcomes])
        cached = cache.load_project(key, entries)
        if cached is not None:
            return cached
    findings = project_pass(_gather_facts(outcomes, files, settings, cache), settings, catalog, config)
    if key is not None and cache is not None:
        cache.store_project(key, findings, entries)
    return findings


def _gather_facts(
    outcomes: list[_Outcome], files: Sequence[SourceFile], settings: Settings, cache: Cache | None
) -> list[ModuleFacts]:
    """Every file's ModuleFacts, unpickled from the cache for cached files."""
    facts: list[ModuleFacts] = []
    by_display = {source.display: source for source in files}
    for outcome in outcomes:
        if outcome.result.facts is None and outcome.facts_digest is not None:
            assert cache is not None and outcome.key is not None
            outcome.result.facts = cache.load_facts(outcome.key, outcome.result.path)
            if outcome.result.facts is None:  # unreadable facts: lint the file again for them
                outcome.result.facts = lint_file(by_display[outcome.result.path], settings).facts
        if outcome.result.facts is not None:
            facts.append(outcome.result.facts)
    return facts


def module_name(path: Path, memo: dict[str, tuple[str, ...]] | None = None) -> tuple[str, bool]:
    """Dotted module name from the package layout (``__init__.py`` files), and is-package.

    ``memo`` remembers each directory's real path and package for one run (a warm run asks
    for every file, and resolving symlinks costs a stat per path component).
    """
    memo = {} if memo is None else memo
    absolute = os.path.abspath(path)
    if os.path.islink(absolute):
        directory = os.path.dirname(os.path.realpath(absolute))
    else:
        parent = os.path.dirname(absolute)
        real = memo.get("\0" + parent)
        if real is None:
            real = memo["\0" + parent] = (os.path.realpath(parent),)
        directory = real[0]
    package = _package_parts(directory, memo)
    stem = path.stem
    return ".".join(package if stem == "__init__" else (*package, stem)), stem == "__init__"


def _package_parts(directory: str, memo: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    try:
        return memo[directory]
    except KeyError:
        pass
    parent = os.path.dirname(directory)
    if parent == directory or not os.path.exists(os.path.join(directory, "__init__.py")):
        parts: tuple[str, ...] = ()
    else:
        parts = (*_package_parts(parent, memo), os.path.basename(directory))
    memo[directory] = parts
    return parts


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
                texts[item.path] = (
                    suppressions_for(text, settings.knowledge, settings.honor_foreign_ignores)
                    if text is not None
                    else None
                )
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
