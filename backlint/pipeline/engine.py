"""Orchestration: discover → per-file stage (parse once, one walk) → project pass → filters."""

from __future__ import annotations

import dataclasses
import functools
import gc
import os
import stat
from collections.abc import Sequence
from typing import TYPE_CHECKING, Callable

from backlint.core.catalog import Catalog
from backlint.core.config import Config
from backlint.core.results import FileKind, FileResult, Finding, ModuleFacts, Notice, RunResult
from backlint.pipeline.cache import content_hash, stat_signature
from backlint.pipeline.discovery import SourceFile
from backlint.pipeline.filekind import classify
from backlint.pipeline.filters import ignored_for_file
from backlint.pipeline.project import project_pass
from backlint.pipeline.settings import Settings
from backlint.pipeline.source import decode_source, file_error, module_name, read_file_bytes
from backlint.pipeline.suppress import suppressions_for

if TYPE_CHECKING:
    from backlint.pipeline.cache import Cache, StatSignature
    from backlint.pipeline.workers import Failure

# Below this much source to lint, starting workers costs more than it saves (measured: a worker
# costs ~60 ms to fork, warm up and join; libcst parses ~150 kB of source per second per core).
POOL_MIN_BYTES = 96 * 1024


def lint_file(source: SourceFile, settings: Settings) -> FileResult:
    return _lint_cached(source, settings, None).result


def lint_text(source: SourceFile, text: str, settings: Settings) -> FileResult:
    from backlint.pipeline.filestage import InternalError, analyse  # imports libcst: only when a file is linted

    kind = classify(source.relative, text, settings.test_paths, settings.non_production_paths)
    try:
        findings, facts = analyse(source, text, kind, settings)
    except InternalError as exc:
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
    findings = [f for f in findings if not ignored_for_file(f, config)]
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
    data, info, notice, error = read_file_bytes(source.path, source.display, settings.max_file_size)
    if data is None or info is None:
        return _Outcome(FileResult(source.display, [error] if error else [], None, [notice] if notice else []))
    if cache is None:
        return _Outcome(_lint_bytes(source, data, settings))

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
    """The files over worker processes under the limits; a lost worker costs the file it was on."""
    from backlint.pipeline.registry import load_registry  # imports the rules and libcst: only for a pool
    from backlint.pipeline.workers import Pool

    load_registry(settings.rule_packages)  # imported once here: forked workers inherit the rules and libcst
    chunks = _chunks(todo, jobs)
    gc.collect()
    gc.freeze()  # workers never scan (or copy-on-write) what they inherit
    out: list[tuple[int, _Outcome]] = []
    try:
        with Pool(
            min(jobs, len(chunks)),
            _lint_item,
            settings.limits,
            initializer=_init_worker,
            initargs=(settings, cache),
            sweep=cache.sweep if cache is not None else None,
        ) as pool:
            for position, outcome in pool.run(chunks, functools.partial(_lost_file, settings)):
                out.append((position, outcome))
                if progress is not None:
                    progress(len(out), len(todo))
    finally:
        gc.unfreeze()
    return out


def _lost_file(settings: Settings, item: tuple[int, SourceFile], failure: Failure) -> tuple[int, _Outcome]:
    """The outcome of a file whose worker was lost: BL000 when the file was the cause, else an error."""
    from backlint.pipeline.filestage import failure_message

    position, source = item
    is_finding, message = failure_message(failure, settings.limits)
    if is_finding:
        return position, _Outcome(FileResult(source.display, [file_error(source.display, message)], None, []))
    notice = Notice(source.display, message, "error")
    return position, _Outcome(FileResult(source.display, [], None, [notice]))


_worker_settings: Settings | None = None
_worker_cache: Cache | None = None


def _init_worker(settings: Settings, cache: Cache | None) -> None:
    global _worker_settings, _worker_cache
    _worker_settings, _worker_cache = settings, cache
    from backlint.pipeline import limits
    from backlint.pipeline.registry import load_registry

    limits.risky_files_context = None  # a worker is the isolated process: it parses every file itself
    load_registry(settings.rule_packages)  # a no-op when forked; spawned workers import the rules once
    gc.freeze()


def _lint_item(item: tuple[int, SourceFile]) -> tuple[int, _Outcome]:
    assert _worker_settings is not None
    position, source = item
    return position, _lint_guarded(source, _worker_settings, _worker_cache)


def _lint_guarded(source: SourceFile, settings: Settings, cache: Cache | None) -> _Outcome:
    try:
        return _lint_cached(source, settings, cache)
    except Exception as exc:  # a crash must cost one file, not the run
        notice = Notice(source.display, f"internal error: {exc!r}", "error")
        return _Outcome(FileResult(source.display, [], None, [notice]))


def file_kind_names(kinds: Sequence[FileKind]) -> tuple[str, ...]:
    return tuple(k.value for k in kinds)


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS/Windows
        return os.cpu_count() or 1


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
