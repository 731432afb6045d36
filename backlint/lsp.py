"""``backlint server``: a language server over stdio that lints open buffers the way ``backlint check`` would.

Diagnostics are pushed on open, change (debounced) and save, with the project's ``[tool.backlint]``
configuration and per-file ignores found from the document's path (the project root found as the
CLI finds it). The project rules are judged too, with the facts of the whole project: the open
buffers' own, the other files' from the cache (refreshed when stale, a facts-only pass when there is
none); a change to one buffer re-judges the project, and every open document whose findings changed
is published again. Findings carry code-point columns; they are converted to the client's negotiated
position encoding (UTF-16 unless the client offers another). Quick fixes: the rule's autofix where
one exists (project rules' included), and ``# backlint: ignore[ID]`` on the line where the
statement's suppression comment belongs; ``source.fixAll.backlint`` applies every safe fix.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import os
import re
import time
import tokenize
import traceback
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path
from pygls.workspace import TextDocument

from backlint import __version__
from backlint.api import display_path_of, is_excluded_path, lint_buffer, project_files, settings_for
from backlint.core.catalog import Catalog, load_catalog
from backlint.core.config import VCS_MARKERS, Config, ConfigError, cache_directory, find_project_root, load_config
from backlint.core.ids import PARSE_ERROR, UNUSED_SUPPRESSION
from backlint.core.results import FileResult, Finding, ModuleFacts, Notice, Span
from backlint.pipeline.cache import Cache, open_cache
from backlint.pipeline.discovery import SourceFile, relative_to_root
from backlint.pipeline.engine import run_buffers
from backlint.pipeline.filters import kept
from backlint.pipeline.fixes import SAFE, applies, fix_text, fixed_source
from backlint.pipeline.settings import Settings
from backlint.pipeline.source import read_source
from backlint.report.masking import disk_reader, masker_for

SOURCE = "backlint"
# Wait this long after the last keystroke before linting: typing should not queue a lint per key.
DEBOUNCE_SECONDS = 0.3
PYTHON_SUFFIXES = (".py", ".pyi")
FIX_ALL = f"{types.CodeActionKind.SourceFixAll.value}.backlint"
# The project's file list is walked again after this long (or when the client reports a file event).
FILES_TTL_SECONDS = 10.0
CONFIG_GLOBS = ("**/pyproject.toml", "**/backlint.toml")
_SEVERITY = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "note": types.DiagnosticSeverity.Information,
}
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_BRACKETED_IGNORE = re.compile(r"#\s*backlint:\s*ignore\[(?P<ids>[^\]]*)\]", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class Fix:
    """An autofix offered for one finding: a title for the editor and the whole fixed source."""

    title: str
    source: str
    preferred: bool = True  # editors may apply a preferred fix without asking: never an unsafe one


# Given the linted text and one of its findings, the fixes that apply (the autofix work plugs in here).
Fixer = Callable[[str, Finding], Sequence[Fix]]


def autofixes(text: str, finding: Finding) -> Sequence[Fix]:
    """The finding's autofix, as ``backlint check --fix`` applies it (backlint/fix.py)."""

    if finding.fix is None:
        return ()
    fixed = fixed_source(text, finding.fix)
    if fixed is None:
        return ()
    safe = finding.fix.safety == SAFE
    title = finding.fix.description + ("" if safe else " (unsafe: review the change)")
    return (Fix(title, fixed, preferred=safe),)


# ---------------------------------------------------------------------------------------------
# Positions: findings count lines from 1 and columns in code points from 1; LSP counts from 0 in
# the negotiated encoding, and only \n, \r\n and \r break lines (str.splitlines also breaks on
# form feeds and U+2028, which would shift every later line).


def split_lines(text: str) -> list[str]:
    """The lines of ``text`` without their terminators, as LSP and the Python tokenizer count them."""
    return _LINE_BREAK.split(text)


def to_position(lines: Sequence[str], line: int, column: int, codec: Any) -> types.Position:
    """A 1-based line and 1-based code-point column as an LSP position in the client's units."""
    if line < 1:
        return types.Position(line=0, character=0)
    if line > len(lines):
        return types.Position(line=len(lines) - 1, character=codec.client_num_units(lines[-1]))
    text = lines[line - 1]
    return types.Position(line=line - 1, character=codec.client_num_units(text[: max(0, column - 1)]))


def to_range(lines: Sequence[str], span: Span, codec: Any) -> types.Range:
    """The span as an LSP range; an empty span (a parse error's point) widens to the rest of its line."""
    line = max(1, span.line)
    column = max(1, span.column)
    end_line, end_column = span.end_line, span.end_column
    if (end_line, end_column) <= (line, column):
        end_line = line
        length = len(lines[line - 1]) if line <= len(lines) else 0
        end_column = length + 1 if column <= length else column
    start = to_position(lines, line, column, codec)
    return types.Range(start=start, end=to_position(lines, end_line, end_column, codec))


def _offset_to_position(lines: Sequence[str], text: str, offset: int, codec: Any) -> types.Position:
    number, line_start = 1, 0
    for match in _LINE_BREAK.finditer(text, 0, offset):
        number, line_start = number + 1, match.end()
    return to_position(lines, number, offset - line_start + 1, codec)


# ---------------------------------------------------------------------------------------------
# Diagnostics and code actions, as plain functions of the text and the findings.


def to_diagnostic(
    finding: Finding,
    lines: Sequence[str],
    uri: str,
    catalog: Catalog,
    codec: Any,
    elsewhere: Callable[[str], tuple[str, Sequence[str]]] | None = None,
) -> types.Diagnostic:
    """``elsewhere``: a related location's file (display path) → its URI and lines (a project
    finding names places in other files)."""
    meta = catalog.rules.get(finding.rule_id)
    related = []
    for r in finding.related:
        where, where_lines = (uri, lines) if r.path == finding.path or elsewhere is None else elsewhere(r.path)
        related.append(
            types.DiagnosticRelatedInformation(
                location=types.Location(uri=where, range=to_range(where_lines, r.span, codec)), message=r.message
            )
        )
    return types.Diagnostic(
        range=to_range(lines, finding.span, codec),
        message=finding.message,
        severity=_SEVERITY.get(finding.level, types.DiagnosticSeverity.Warning),
        code=finding.rule_id,
        code_description=types.CodeDescription(href=meta.help_uri) if meta else None,
        source=SOURCE,
        related_information=related or None,
    )


def suppression_line(text: str, finding: Finding) -> int:
    """The 1-based line where ``# backlint: ignore[ID]`` silences ``finding``.

    It is the line that ends the logical line holding the finding (for a compound statement, the
    header's colon line): a comment there is inside the statement's lines, which the engine reads,
    and never inside a multi-line string or before a line continuation.
    """
    first, last = finding.statement_lines
    if first < 1:
        first = last = finding.span.line
    start = max(first, finding.span.line)
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.NEWLINE and token.start[0] >= start:
                return token.start[0] if token.start[0] <= last else last
    except (tokenize.TokenError, SyntaxError):
        pass
    return last


def suppression_edit(text: str, lines: Sequence[str], finding: Finding, codec: Any) -> types.TextEdit:
    """Add the finding's id to the line's ``# backlint: ignore[...]``, or append that comment."""
    number = suppression_line(text, finding)
    line = lines[number - 1]
    existing = _BRACKETED_IGNORE.search(line)
    if existing is not None:
        ids = [i.strip() for i in re.split(r"[\s,]+", existing.group("ids")) if i.strip()]
        start, end = existing.span("ids")
        new_text = ", ".join([*ids, finding.rule_id])
    else:
        start, end = len(line.rstrip()), len(line)
        new_text = f"  # backlint: ignore[{finding.rule_id}]"
    return types.TextEdit(
        range=types.Range(
            start=to_position(lines, number, start + 1, codec), end=to_position(lines, number, end + 1, codec)
        ),
        new_text=new_text,
    )


def fix_edit(text: str, lines: Sequence[str], fixed: str, codec: Any) -> types.TextEdit:
    """The smallest single edit turning ``text`` into ``fixed`` (common prefix and suffix kept)."""
    prefix = 0
    limit = min(len(text), len(fixed))
    while prefix < limit and text[prefix] == fixed[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and text[len(text) - 1 - suffix] == fixed[len(fixed) - 1 - suffix]:
        suffix += 1
    # Never split a \r\n pair: positions inside it do not exist for the client.
    if 0 < prefix < len(text) and text[prefix - 1] == "\r" and text[prefix] == "\n":
        prefix -= 1
    end = len(text) - suffix
    if 0 < end < len(text) and text[end - 1] == "\r" and text[end] == "\n":
        end += 1
        suffix -= 1
    return types.TextEdit(
        range=types.Range(
            start=_offset_to_position(lines, text, prefix, codec), end=_offset_to_position(lines, text, end, codec)
        ),
        new_text=fixed[prefix : len(fixed) - suffix],
    )


def code_actions(
    uri: str, text: str, pairs: Sequence[tuple[types.Diagnostic, Finding]], fixer: Fixer, codec: Any
) -> list[types.CodeAction]:
    """Quick fixes for the given (published diagnostic, finding) pairs: autofixes first, then suppression."""
    lines = split_lines(text)
    fixes: list[types.CodeAction] = []
    suppressions: list[types.CodeAction] = []
    for diagnostic, finding in pairs:
        for fix in fixer(text, finding):
            fixes.append(
                types.CodeAction(
                    title=fix.title,
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[diagnostic],
                    is_preferred=fix.preferred,
                    edit=types.WorkspaceEdit(changes={uri: [fix_edit(text, lines, fix.source, codec)]}),
                )
            )
        if finding.rule_id == PARSE_ERROR:
            continue  # a file that does not parse is fixed, not silenced
        suppressions.append(
            types.CodeAction(
                title=f"Suppress {finding.rule_id} with `# backlint: ignore[{finding.rule_id}]`",
                kind=types.CodeActionKind.QuickFix,
                diagnostics=[diagnostic],
                edit=types.WorkspaceEdit(changes={uri: [suppression_edit(text, lines, finding, codec)]}),
            )
        )
    return fixes + suppressions


# ---------------------------------------------------------------------------------------------
# Configuration per document path.


@dataclasses.dataclass
class Project:
    """One project as the server sees it: its configuration, its cache, its files, and what it knows
    of its open buffers (their last lint, and their last good facts for when one does not parse)."""

    stamp: tuple[int, int] | None
    config: Config
    settings: Settings
    cache: Cache | None
    files: list[SourceFile] | None = None
    files_at: float = 0.0
    last_good: dict[str, tuple[str, ModuleFacts]] = dataclasses.field(default_factory=dict)
    linted: dict[str, tuple[str, FileResult]] = dataclasses.field(default_factory=dict)

    def project_files(self) -> list[SourceFile]:
        """The project's files (what the project rules see), walked again now and then."""
        if self.files is None or time.monotonic() - self.files_at > FILES_TTL_SECONDS:
            self.files, self.files_at = project_files(self.config), time.monotonic()
        return self.files


class ConfigCache:
    """The project governing each path, reloaded when its pyproject changes on disk."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._loaded: dict[Path, Project] = {}

    def for_path(self, path: Path, default_root: Path) -> Project:
        """The project root found as the CLI finds it (``find_project_root``); without a configuration
        or a checkout, the workspace folder holding the file (as ``backlint .`` run there).

        Raises ConfigError for a broken configuration file."""
        root, config_file = find_project_root(path)
        if config_file is None and not any(os.path.lexists(root / marker) for marker in VCS_MARKERS):
            root = default_root
        key = config_file if config_file is not None else root
        stamp = None
        if config_file is not None:
            stat = config_file.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
        loaded = self._loaded.get(key)
        if loaded is None or loaded.stamp != stamp:
            if config_file is None:
                config = Config(root=root.resolve(), source=None)
            else:
                config = load_config(self.catalog, explicit=config_file, start=path)
            settings = settings_for(config, self.catalog)
            cache = open_cache(cache_directory(config), settings)
            loaded = Project(stamp, config, settings, cache)
            self._loaded[key] = loaded
        return loaded

    def forget_files(self) -> None:
        """Files were created or deleted: walk each project again on its next lint."""
        for project in self._loaded.values():
            project.files = None


@dataclasses.dataclass(frozen=True)
class _Open:
    """An open document, as it was when a lint started."""

    uri: str
    path: Path
    version: int | None
    text: str


@dataclasses.dataclass
class _Judged:
    """What one lint found: each open document's findings (those it re-judged), and its notices."""

    catalog: Catalog
    findings: dict[str, list[Finding]]
    notices: list[Notice]
    documents: dict[str, _Open] = dataclasses.field(default_factory=dict)


class _Elsewhere:
    """A related location's URI and lines, for a file other than the finding's (an open buffer or the disk)."""

    def __init__(self, texts: dict[Path, str]) -> None:
        self.texts = {os.path.abspath(p): t for p, t in texts.items()}

    def __call__(self, display: str) -> tuple[str, Sequence[str]]:
        absolute = os.path.abspath(display)
        text = self.texts.get(absolute)
        if text is None:
            text, _, _ = read_source(Path(absolute), 1 << 62)
        return Path(absolute).as_uri(), split_lines(text or "")


def _same(old: Sequence[tuple[types.Diagnostic, Finding]], new: Sequence[tuple[types.Diagnostic, Finding]]) -> bool:
    def key(pairs: Sequence[tuple[types.Diagnostic, Finding]]) -> list[tuple[Any, ...]]:
        return [(d.code, _range_key(d.range), d.message, d.severity) for d, _ in pairs]

    return key(old) == key(new)


@dataclasses.dataclass
class _Linted:
    """What was published for a document: the code actions answer from it."""

    version: int | None
    text: str
    pairs: list[tuple[types.Diagnostic, Finding]]


class BacklintServer(LanguageServer):
    """Lints one buffer at a time on a worker thread, so the protocol stays responsive."""

    def __init__(self, fixer: Fixer = autofixes) -> None:
        super().__init__(SOURCE, __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.fixer = fixer
        self._catalog: Catalog | None = None
        self._configs: ConfigCache | None = None
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="backlint-lint")
        self._pending: dict[str, asyncio.Task[None]] = {}
        self._linted: dict[str, _Linted] = {}
        self._reported: set[str] = set()

    # -- linting ------------------------------------------------------------------------------

    def _configs_for(self) -> ConfigCache:
        if self._configs is None:
            self._catalog = load_catalog()
            self._configs = ConfigCache(self._catalog)
        return self._configs

    def _default_root(self, path: Path) -> Path:
        """Without a config file, the workspace folder holding the file is the project root."""
        roots = [Path(p) for p in (to_fs_path(f.uri) for f in self.workspace.folders.values()) if p]
        if self.workspace.root_path:
            roots.append(Path(self.workspace.root_path))
        holders = [r for r in roots if path == r or r in path.parents]
        return max(holders, key=lambda r: len(r.parts)) if holders else path.parent

    def _lint(self, uri: str, path: Path, open_documents: list[_Open]) -> _Judged:
        """Runs on the worker thread: the document and the other open documents of its project, their
        file rules (each buffer analysed again only when its text changed) and the project rules over
        the facts of the whole project."""
        configs = self._configs_for()
        project = configs.for_path(path, self._default_root(path))
        config, catalog = project.config, configs.catalog
        if is_excluded_path(path, config):
            return _Judged(catalog, {uri: []}, [])
        buffers: list[tuple[SourceFile, str]] = []
        uris: dict[str, _Open] = {}
        for document in open_documents:
            if document.uri != uri:
                try:
                    if configs.for_path(document.path, self._default_root(document.path)) is not project:
                        continue  # another project's document: its own lint judges it
                except (ConfigError, OSError):
                    continue
                if is_excluded_path(document.path, config):
                    continue
            display = display_path_of(document.path)
            source = SourceFile(document.path, display, relative_to_root(document.path, config.root))
            if source.display in uris:
                continue
            buffers.append((source, document.text))
            uris[source.display] = document
        result, linted = run_buffers(
            buffers,
            project.settings,
            catalog,
            config,
            1,
            cache=project.cache,
            project=project.project_files() if project.settings.collect_facts else [],
            known=project.last_good,
            reuse=project.linted,
        )
        texts = {source.project_path: text for source, text in buffers}
        for name in [n for n in project.linted if n not in texts]:  # closed: the disk speaks for it again
            project.linted.pop(name, None)
            project.last_good.pop(name, None)
        for name, file_result in linted.items():
            project.linted[name] = (texts[name], file_result)
            if file_result.facts is not None:
                project.last_good[name] = (texts[name], file_result.facts)
        shown = {source.display: text for source, text in buffers}
        knowledge = project.settings.knowledge
        masker = masker_for(result, lambda name: shown[name] if name in shown else disk_reader()(name), knowledge)
        kept_findings = [f for f in kept(result.findings, config, catalog) if f.suppressed_by is None]
        findings = [masker.finding(f, keep_edits=True) for f in kept_findings]
        notices = [masker.notice(n) for n in result.notices]
        by_uri: dict[str, list[Finding]] = {document.uri: [] for document in uris.values()}
        for finding in findings:
            owner = uris.get(finding.path)
            if owner is not None:
                by_uri[owner.uri].append(finding)
        return _Judged(catalog, by_uri, notices, {d.uri: d for d in uris.values()})

    def _open_documents(self) -> list[_Open]:
        """A snapshot of the open Python documents (taken on the protocol's thread)."""
        out = []
        for uri, document in list(self.workspace.text_documents.items()):
            path = _document_path(document)
            if path is not None:
                out.append(_Open(uri, path, document.version, document.source))
        return out

    async def lint_now(self, uri: str) -> None:
        document = self.workspace.text_documents.get(uri)
        path = _document_path(document) if document is not None else None
        if document is None or path is None:
            return
        documents = self._open_documents()
        loop = asyncio.get_running_loop()
        try:
            judged = await loop.run_in_executor(self._worker, self._lint, uri, path, documents)
        except ConfigError as exc:
            self._tell_once(str(exc), types.MessageType.Error)
            judged = _Judged(self._configs_for().catalog, {uri: []}, [])
        except Exception:  # the server must outlive any bug in a rule or the engine
            self._log(f"backlint: internal error linting {path}:\n{traceback.format_exc()}", types.MessageType.Error)
            return
        for notice in judged.notices:
            self._log(f"backlint: {notice.path}: {notice.level}: {notice.message}", types.MessageType.Warning)
            if notice.level == "error":
                self._tell_once(f"backlint: {notice.message} ({path.name})", types.MessageType.Error)
        for target, findings in judged.findings.items():
            self._publish(target, findings, judged, force=target == uri)

    def _publish(self, uri: str, findings: list[Finding], judged: _Judged, *, force: bool) -> None:
        """Publish a document's diagnostics if they are for its current version and changed (or ``force``)."""
        current = self.workspace.text_documents.get(uri)
        linted = judged.documents.get(uri)
        if current is None:
            return
        version, text = (linted.version, linted.text) if linted is not None else (current.version, current.source)
        if current.version != version:
            return  # edited meanwhile: a newer lint will publish
        lines = split_lines(text)
        codec = current.position_codec
        texts = {d.path: d.text for d in judged.documents.values()}
        pairs = [(to_diagnostic(f, lines, uri, judged.catalog, codec, _Elsewhere(texts)), f) for f in findings]
        previous = self._linted.get(uri)
        if not force and previous is not None and previous.version == version and _same(previous.pairs, pairs):
            return
        self._linted[uri] = _Linted(version, text, pairs)
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, version=version, diagnostics=[d for d, _ in pairs])
        )

    def schedule(self, uri: str, delay: float) -> None:
        """Lint ``uri`` after ``delay`` seconds, replacing any lint still waiting for it."""
        pending = self._pending.pop(uri, None)
        if pending is not None:
            pending.cancel()
        self._pending[uri] = asyncio.ensure_future(self._lint_after(uri, delay))

    async def _lint_after(self, uri: str, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        try:
            await self.lint_now(uri)
        finally:
            if self._pending.get(uri) is asyncio.current_task():
                del self._pending[uri]

    def forget(self, uri: str) -> None:
        pending = self._pending.pop(uri, None)
        if pending is not None:
            pending.cancel()
        self._linted.pop(uri, None)
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    def relint_open_documents(self) -> None:
        """After a configuration change, every open Python buffer may read differently."""
        for uri, document in list(self.workspace.text_documents.items()):
            if _document_path(document) is not None:
                self.schedule(uri, 0)

    def watch_config_files(self) -> None:
        """Ask the client to report pyproject.toml/backlint.toml changes, if it can watch files."""
        workspace = self.client_capabilities.workspace
        watched = workspace.did_change_watched_files if workspace else None
        if not (watched and watched.dynamic_registration):
            return
        options = types.DidChangeWatchedFilesRegistrationOptions(
            watchers=[types.FileSystemWatcher(glob_pattern=g) for g in CONFIG_GLOBS]
        )
        registration = types.Registration(
            id="backlint-config-files", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES, register_options=options
        )
        self.client_register_capability(types.RegistrationParams(registrations=[registration]))

    # -- code actions -------------------------------------------------------------------------

    def actions_for(self, params: types.CodeActionParams) -> list[types.CodeAction]:
        uri = params.text_document.uri
        linted = self._linted.get(uri)
        document = self.workspace.text_documents.get(uri)
        if linted is None or document is None or document.version != linted.version:
            return []  # the buffer changed since the lint: its positions are stale, a new lint is coming
        kinds = params.context.only
        if kinds and not any(types.CodeActionKind.QuickFix.value.startswith(k) for k in kinds):
            return []
        wanted = {(d.code, _range_key(d.range)) for d in params.context.diagnostics if d.source == SOURCE}
        pairs = [(d, f) for d, f in linted.pairs if (d.code, _range_key(d.range)) in wanted]
        return code_actions(uri, linted.text, pairs, self.fixer, document.position_codec)

    def wants_fix_all(self, params: types.CodeActionParams) -> bool:
        """Whether the client asks for source actions: ``source``, ``source.fixAll``, or ours."""
        kinds = params.context.only or []
        return any(FIX_ALL.startswith(k) for k in kinds)

    def fix_all(self, uri: str) -> types.CodeAction | None:
        """``source.fixAll.backlint``: every safe fix of the document, as ``backlint check --fix`` makes
        them (rounds until nothing changes; the project rules' fixes in the first). Worker thread."""
        linted = self._linted.get(uri)
        document = self.workspace.text_documents.get(uri)
        path = _document_path(document) if document is not None else None
        if linted is None or document is None or path is None or document.version != linted.version:
            return None
        configs = self._configs_for()
        project = configs.for_path(path, self._default_root(path))
        config, catalog = project.config, configs.catalog
        placed = {i for i, meta in catalog.rules.items() if meta.project or meta.cross_module} | {UNUSED_SUPPRESSION}
        pinned = [f for _, f in linted.pairs if f.rule_id in placed and applies(f.fix, False)]

        def lint(text: str) -> Sequence[Finding]:
            return lint_buffer(text, path, config, catalog, project.settings, project_rules=False).findings

        def wanted(finding: Finding) -> bool:
            return bool(kept([finding], config, catalog))

        outcome = fix_text(linted.text, lint, unsafe=False, wanted=wanted, project=pinned)
        if outcome.text == linted.text:
            return None
        edit = fix_edit(linted.text, split_lines(linted.text), outcome.text, document.position_codec)
        return types.CodeAction(
            title=f"backlint: apply {outcome.fixed} safe fix{'es' if outcome.fixed != 1 else ''}",
            kind=FIX_ALL,
            edit=types.WorkspaceEdit(changes={uri: [edit]}),
        )

    # -- messages -----------------------------------------------------------------------------

    def _log(self, message: str, kind: types.MessageType) -> None:
        self.window_log_message(types.LogMessageParams(type=kind, message=message))

    def _tell_once(self, message: str, kind: types.MessageType) -> None:
        self._log(message, kind)
        if message not in self._reported:
            self._reported.add(message)
            self.window_show_message(types.ShowMessageParams(type=kind, message=message))


def _range_key(r: types.Range) -> tuple[int, int, int, int]:
    return (r.start.line, r.start.character, r.end.line, r.end.character)


def _document_path(document: TextDocument) -> Path | None:
    """The file a buffer stands for; None for buffers backlint does not lint (other languages)."""
    path = to_fs_path(document.uri) if document.uri.startswith("file:") else None
    if path is None:
        # An unsaved buffer: lint it as a module in the working directory.
        if document.language_id not in (None, "python"):
            return None
        return Path.cwd() / "untitled.py"
    resolved = Path(path)
    if resolved.suffix not in PYTHON_SUFFIXES and document.language_id != "python":
        return None
    return resolved


def create_server(fixer: Fixer = autofixes) -> BacklintServer:
    server = BacklintServer(fixer)

    @server.feature(types.INITIALIZED)
    def initialized(ls: BacklintServer, params: types.InitializedParams) -> None:
        ls.watch_config_files()

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def config_changed(ls: BacklintServer, params: types.DidChangeWatchedFilesParams) -> None:
        if any(c.type != types.FileChangeType.Changed for c in params.changes):
            ls._configs_for().forget_files()  # files came or went: the projects' file lists are stale
        ls.relint_open_documents()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: BacklintServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: BacklintServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, DEBOUNCE_SECONDS)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: BacklintServer, params: types.DidSaveTextDocumentParams) -> None:
        if params.text_document.uri.endswith(("/pyproject.toml", "/backlint.toml")):
            ls.relint_open_documents()  # the configuration changed
        elif params.text_document.uri in ls.workspace.text_documents:
            ls.schedule(params.text_document.uri, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: BacklintServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.forget(params.text_document.uri)

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL], resolve_provider=False),
    )
    async def code_action(ls: BacklintServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        actions = ls.actions_for(params)
        if ls.wants_fix_all(params):
            loop = asyncio.get_running_loop()
            fix_all = await loop.run_in_executor(ls._worker, ls.fix_all, params.text_document.uri)
            actions += [fix_all] if fix_all is not None else []
        return actions

    return server


def serve() -> None:
    """Run the language server on stdin/stdout until the client says exit.

    A buffer the pre-checks find risky is linted in a child process (backlint/pipeline/filestage.py),
    so that no buffer can take the server down; spawned, not forked: the server runs threads.
    """
    from backlint.pipeline import limits

    limits.risky_files_context = "spawn"
    create_server().start_io()


if __name__ == "__main__":
    serve()
