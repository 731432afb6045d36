"""Orchestration: discover → per-file stage (parse once, one walk) → project pass → filters.

The project pass judges with the facts of the whole project, however few files a run lints: the
run's own files give theirs, the other files of the project (``project``) give theirs from the
cache when unchanged, else from a facts-only pass (collectors only, no rule judges) that caches them.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from backlint.core.catalog import Catalog
from backlint.core.config import Config
from backlint.core.ids import PARSE_ERROR
from backlint.core.masking import SecretText, secret_values
from backlint.core.results import FileKind, FileResult, ModuleFacts, Notice, RunResult
from backlint.pipeline.cache import Cache, content_hash, settings_fingerprint, stat_signature
from backlint.pipeline.deployfiles import versions
from backlint.pipeline.discovery import SourceFile, display_path
from backlint.pipeline.filekind import classify
from backlint.pipeline.filters import facet_roles, ignored_for_file, kept_in_role
from backlint.pipeline.project import (
    ProjectVerdict,
    deployment_files_of,
    project_pass,
    reads_deployment,
    relocate,
)
from backlint.pipeline.projectfiles import ProjectFiles
from backlint.pipeline.settings import Settings, facts_only
from backlint.pipeline.source import decode_source, file_error, module_name, read_file_bytes
from backlint.pipeline.suppress import suppressions_for

if TYPE_CHECKING:
    from backlint.pipeline.cache import StatSignature
    from backlint.pipeline.workers import Failure

# Below this much source to lint, starting workers costs more than it saves (measured: a worker
# costs ~60 ms to fork, warm up and join; libcst parses ~150 kB of source per second per core).
POOL_MIN_BYTES = 96 * 1024


def lint_file(source: SourceFile, settings: Settings) -> FileResult:
    return _lint_cached(source, settings, None).result


def lint_text(source: SourceFile, text: str, settings: Settings) -> FileResult:
    from backlint.pipeline.filestage import InternalError, analyse  # imports libcst: only when a file is linted

    kind = classify(source.relative, text, settings.roles, settings.knowledge)
    try:
        findings, facts, secrets = analyse(source, text, kind, settings)
        findings = kept_in_role(findings, kind, facet_roles(settings.facet_roles))
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
    if notices and secrets:  # a comment may hold a secret: results are cached as they are
        hidden = SecretText(secret_values(text, secrets))
        notices = [dataclasses.replace(n, message=hidden.mask(n.message)) for n in notices]
    return FileResult(source.display, findings, facts, notices, secrets)


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
    project: Sequence[SourceFile] = (),
) -> RunResult:
    """Lint ``files``: cached results first, the rest in-process or over ``jobs`` workers.

    ``project``: the project's files (``files`` may be some of them); the project pass judges with
    the facts of all and reports the findings in ``files``. With ``facts_out`` the project pass is
    left to the caller (a sharded run): every file's ModuleFacts are appended there instead.
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
    verdict = ProjectVerdict([])
    if settings.collect_facts and facts_out is not None:
        facts_out.extend(_gather_facts(done, files, settings, cache))
    elif settings.collect_facts:
        whole = _Project(config, settings, cache, jobs, progress)
        verdict = whole.judge(list(zip(files, done)), project, catalog)
        findings.extend(verdict.findings)
        notices.extend(whole.notices)
        done += whole.outcomes
        if cache is not None and whole.facts_cache is not None:  # one directory: one prune counter
            cache.bytes_written += whole.facts_cache.bytes_written
            cache.problem = cache.problem or whole.facts_cache.problem
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
    withheld = [f for f in verdict.withheld if not ignored_for_file(f, config) and f.suppressed_by is None]
    return RunResult(
        findings=findings,
        notices=notices,
        files=len(files),
        internal_errors=internal,
        not_judged_files=verdict.unjudged_files,
        not_judged=len(withheld),
        unjudged_rules=verdict.unjudged,
        secrets={o.result.path: o.result.secrets for o in done if o.result.secrets is not None},
    )


def run_buffers(
    buffers: Sequence[tuple[SourceFile, str]],
    settings: Settings,
    catalog: Catalog,
    config: Config,
    jobs: int,
    *,
    cache: Cache | None = None,
    project: Sequence[SourceFile] = (),
    known: Mapping[str, tuple[str, ModuleFacts]] | None = None,
    reuse: Mapping[str, tuple[str, FileResult]] | None = None,
) -> tuple[RunResult, dict[str, FileResult]]:
    """Lint texts that are not on disk (standard input, the editor's open buffers) as the files they
    stand for, judging the project rules with the facts of the whole project, as ``run`` does.

    ``known``: facts of buffers linted before (project path → (text, facts)): a buffer that does not
    parse now judges with its last good facts. ``reuse``: earlier results (project path → (text,
    result)), taken again for a buffer whose text is the same. Returns the result and each buffer's
    own result (its file rules' findings and its facts), by project path.
    """
    results: list[tuple[SourceFile, _Outcome]] = []
    linted: dict[str, FileResult] = {}
    for source, text in buffers:
        earlier = (reuse or {}).get(source.project_path)
        if earlier is not None and earlier[0] == text and earlier[1].path == source.display:
            own = earlier[1]
        else:
            own = lint_text(source, text, settings)
        linted[source.project_path] = own
        results.append((source, _Outcome(dataclasses.replace(own))))  # a stale module's facts go on the copy
    findings = [f for _, o in results for f in o.result.findings]
    notices = [n for _, o in results for n in o.result.notices]
    verdict = ProjectVerdict([])
    if settings.collect_facts:
        files = ProjectFiles(config.root, {source.project_path: text for source, text in buffers})
        whole = _Project(config, settings, cache, jobs, None, files=files, known=known)
        verdict = whole.judge(results, project, catalog)
        findings.extend(verdict.findings)
        notices.extend(whole.notices)
        if cache is not None:
            for outcome in whole.outcomes:
                if outcome.record is not None:
                    cache.remember(*outcome.record)
            if whole.facts_cache is not None:
                cache.bytes_written += whole.facts_cache.bytes_written
            cache.close(o.key for o in whole.outcomes if o.key is not None)
    findings = [f for f in findings if not ignored_for_file(f, config)]
    findings.sort(key=lambda f: f.sort_key)
    withheld = [f for f in verdict.withheld if not ignored_for_file(f, config) and f.suppressed_by is None]
    result = RunResult(
        findings=findings,
        notices=notices,
        files=len(buffers),
        internal_errors=sum(1 for n in notices if n.level == "error"),
        not_judged_files=verdict.unjudged_files,
        not_judged=len(withheld),
        unjudged_rules=verdict.unjudged,
        secrets={o.result.path: o.result.secrets for _, o in results if o.result.secrets is not None},
    )
    return result, linted


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
    result = FileResult(source.display, hit.findings, None, hit.notices, hit.secrets)
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
        result = FileResult(source.display, hit.findings, None, hit.notices, hit.secrets)
        return _Outcome(result, key, hit.facts_digest, record)
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


def _gather_facts(
    outcomes: list[_Outcome], files: Sequence[SourceFile], settings: Settings, cache: Cache | None
) -> list[ModuleFacts]:
    """Every file's ModuleFacts, unpickled from the cache for cached files."""
    facts: list[ModuleFacts] = []
    for source, outcome in zip(files, outcomes):
        loaded = _facts_of(source, outcome, settings, cache)
        if loaded is not None:
            facts.append(loaded)
    return facts


def _facts_of(source: SourceFile, outcome: _Outcome, settings: Settings, cache: Cache | None) -> ModuleFacts | None:
    """The file's facts: computed in this run, else unpickled from its cache entry (else computed again)."""
    if outcome.result.facts is None and outcome.facts_digest is not None:
        assert cache is not None and outcome.key is not None
        outcome.result.facts = cache.load_facts(outcome.key, source.project_path)
        if outcome.result.facts is None:  # unreadable facts: lint the file again for them
            outcome.result.facts = lint_file(source, settings).facts
    return outcome.result.facts


# -- the project pass over the facts of the whole project ------------------------------------------------


@dataclasses.dataclass
class _Module:
    """A file of the project as the project pass sees it."""

    source: SourceFile
    outcome: _Outcome
    target: bool  # one of the run's files: its project findings are reported
    cache: Cache | None  # where its entry is (the run's cache, or the facts-only one)
    state: str = "ok"  # "ok", "stale" (broken: its last good facts), "missing" (broken, no facts)
    stale_key: str | None = None


class _Project:
    """Gathers the facts of every file of the project and judges the project rules over them."""

    def __init__(
        self,
        config: Config,
        settings: Settings,
        cache: Cache | None,
        jobs: int,
        progress: Progress | None,
        *,
        files: ProjectFiles | None = None,
        known: Mapping[str, tuple[str, ModuleFacts]] | None = None,
    ) -> None:
        self.files = files if files is not None else ProjectFiles(config.root)
        self.known = known or {}
        self.config = config
        self.settings = settings
        self.cache = cache
        self.jobs = jobs
        self.progress = progress
        self.facts_settings = facts_only(settings)
        self.facts_cache = (
            Cache(cache.directory, settings_fingerprint(self.facts_settings), max_bytes=cache.max_bytes)
            if cache is not None
            else None
        )
        self.notices: list[Notice] = []
        self.outcomes: list[_Outcome] = []  # of the other files, for the stat index

    def judge(
        self, targets: list[tuple[SourceFile, _Outcome]], project: Sequence[SourceFile], catalog: Catalog
    ) -> ProjectVerdict:
        modules = {source.project_path: _Module(source, outcome, True, self.cache) for source, outcome in targets}
        others = [source for source in project if source.project_path not in modules]
        for module in self._facts_of_others(others):
            modules.setdefault(module.source.project_path, module)
        ordered = [modules[name] for name in sorted(modules)]
        for module in ordered:
            self._check_broken(module)
        missing = [m.source.project_path for m in ordered if m.state == "missing"]
        verdict = self._verdict(ordered, missing, catalog)
        shown = {m.source.project_path: m.source.display for m in ordered}
        reported = {m.source.project_path for m in ordered if m.target and m.state == "ok"}
        cwd = Path.cwd().resolve()

        def display(name: str) -> str:
            found = shown.get(name)
            return found if found is not None else display_path(Path(self.files.absolute(name)), cwd)

        in_run = {m.source.project_path for m in ordered if m.target}
        # A project finding is placed by its file's facts: only files with facts can miss one.
        unjudged_files = tuple(
            m.source.display
            for m in ordered
            if missing and m.target and m.state != "missing" and _facts_of(m.source, m.outcome, self.settings, m.cache)
        )
        return ProjectVerdict(
            relocate([f for f in verdict.findings if f.path in reported], display),
            relocate([f for f in verdict.withheld if f.path in in_run], display),
            verdict.unjudged,
            unjudged_files,
        )

    def _facts_of_others(self, others: list[SourceFile]) -> list[_Module]:
        """Cached entries of the run's settings, else facts-only ones, else a facts-only pass (cached)."""
        modules: list[_Module] = []
        todo: Todo = []
        memo: dict[str, tuple[str, ...]] = {}
        for position, source in enumerate(others):
            hit, size = _cached(source, self.settings, self.cache, memo)
            cache = self.cache
            if hit is None and self.facts_cache is not None:
                hit, size = _cached(source, self.facts_settings, self.facts_cache, memo)
                cache = self.facts_cache
            if hit is not None:
                modules.append(_Module(source, hit, False, cache))
                self.outcomes.append(hit)
            else:
                todo.append((position, source, size))
        for position, outcome in _per_file(todo, self.facts_settings, self.jobs, self.facts_cache, self.progress):
            modules.append(_Module(others[position], outcome, False, self.facts_cache))
            self.outcomes.append(outcome)
        return modules

    def _check_broken(self, module: _Module) -> None:
        """A file that could not be analysed judges with its last good facts, or its facts are missing."""
        outcome = module.outcome
        if outcome.result.facts is not None or outcome.facts_digest is not None:
            if self.cache is not None and outcome.key is not None:
                self.cache.remember_facts(module.source.project_path, outcome.key)
            return
        broken = any(f.rule_id == PARSE_ERROR for f in outcome.result.findings) or any(
            n.level == "error" for n in outcome.result.notices
        )
        if not broken or not self._would_have_facts(module.source):
            return
        key = self.cache.last_good(module.source.project_path) if self.cache is not None else None
        last = self.cache.load_facts(key, module.source.project_path) if self.cache is not None and key else None
        earlier = self.known.get(module.source.project_path)
        if earlier is not None:  # an open buffer's facts, from its last good text
            key, last = None, earlier[1]
        if last is not None:
            module.state, module.stale_key = "stale", key
            outcome.result.facts = last
            self.notices.append(
                Notice(
                    module.source.display,
                    "could not be analysed: the project rules judged with the facts of its last good version; "
                    "its own project findings are not reported",
                )
            )
        else:
            module.state = "missing"
            self.notices.append(
                Notice(
                    module.source.display,
                    "could not be analysed and the cache has no facts of an earlier version: the project "
                    "findings that may depend on it are not judged",
                )
            )

    def _would_have_facts(self, source: SourceFile) -> bool:
        """Whether a collector would have recorded facts for the file (a test file, or a file without
        any collector's trigger token, has none to miss)."""
        from backlint.pipeline.filestage import active_rules  # imports libcst: only for a broken file

        text = self.files.read(source.project_path, self.settings.max_file_size)
        kind = classify(source.relative, text or "", self.settings.roles, self.settings.knowledge)
        if text is None:
            return kind is not FileKind.TEST
        _, collectors = active_rules(kind, text, self.facts_settings)
        return bool(collectors)

    def _verdict(self, ordered: list[_Module], missing: list[str], catalog: Catalog) -> ProjectVerdict:
        """The project pass over every module's facts, or its verdict read back from the cache."""
        config, cache = self.config, self.cache
        key = None
        entries = {m.source.project_path: m.outcome.key for m in ordered if m.outcome.key is not None}
        deployment = (
            deployment_files_of(self.files, config, [m.source.project_path for m in ordered])
            if reads_deployment(catalog, config)
            else []
        )
        if cache is not None and len(entries) == len(ordered):
            enabled = config.enabled_rules(catalog)
            levels = [
                (i, config.level_of(i, catalog.rules[i].level))
                for i in enabled
                if catalog.rules[i].project or catalog.rules[i].cross_module
            ]
            states = [
                (m.source.project_path, f"{m.state}:{m.stale_key or ''}:{m.outcome.facts_digest or ''}")
                for m in ordered
            ]
            states += [(f"deployment:{path}", version) for path, version in versions(self.files, deployment)]
            key = cache.project_key(levels, states)
            cached = cache.load_project(key, entries)
            if cached is not None:
                return cached
        facts = []
        for module in ordered:
            found = _facts_of(module.source, module.outcome, self.settings, module.cache)
            if found is not None:
                facts.append(found)
        secrets = {m.source.project_path: m.outcome.result.secrets or [] for m in ordered}
        verdict = project_pass(
            facts,
            self.settings,
            catalog,
            config,
            files=self.files,
            missing=missing,
            secrets=secrets,
            deployment=deployment,
        )
        stale = {m.source.project_path for m in ordered if m.state == "stale"}
        if stale:  # a file that does not parse cannot be pointed into
            verdict.findings = [f for f in verdict.findings if f.path not in stale]
            verdict.withheld = [f for f in verdict.withheld if f.path not in stale]
        if key is not None and cache is not None:
            cache.store_project(key, verdict, entries)
        return verdict
