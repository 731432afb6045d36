"""Per-file result cache: a re-run over unchanged files reads results instead of parsing them.

An entry holds one file's findings, notices and ModuleFacts, keyed by the file's content hash,
where it is in the project (its project path, module name) and a fingerprint of everything else
that decides the result: backlint's own code and rule catalog, the Python version, the effective
settings. The key does not depend on the working directory: an entry read from another one has its
findings' paths shown as there. A stat index (size, mtime, ctime, inode → content hash) lets a warm
run skip reading files; a file whose ctime is too recent to be trusted is always hashed again. A
last-good index (project path → the entry of its last version that had facts) lets the project pass
judge with the facts of a file that no longer parses.

The project pass is cached the same way, keyed by the entry keys of every file in the run, so a
warm run over an unchanged tree unpickles no facts, imports no rule and never imports libcst.

Safety: entries are written to a temporary file and renamed (concurrent runs never see half an
entry); each carries a digest and is discarded when it does not verify or does not unpickle; the
unpickler only builds backlint's own dataclasses, so a planted cache file cannot run code; the
directory is pruned to a size bound, least recently written first.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import os
import pickle
import re
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backlint import __version__
from backlint.core.catalog import rules_dir
from backlint.core.files import (
    DIGEST_SIZE,
    SealedDataError,
    atomic_write,
    read_limited,
    safe_loads,
    seal,
    unlink_quietly,
    unseal,
)
from backlint.core.results import Finding, ModuleFacts, Notice, Span

if TYPE_CHECKING:
    from backlint.core.results import FileResult
    from backlint.pipeline.discovery import SourceFile
    from backlint.pipeline.project import ProjectVerdict
    from backlint.pipeline.settings import Settings

FORMAT = 3  # 2: keys by project path, entries record the display path their findings carry; 3: secrets' places
MAX_BYTES = 256 * 1024 * 1024
# Files changed less than this long ago may change again within the same timestamp tick.
_RACY_NS = 2_000_000_000
_INDEX_LIMIT = 200_000
_LAST_GOOD = "last-good"
_PROJECT_ENTRIES_KEPT = 16
_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# This directory holds backlint's cache; see https://bford.info/cachedir/\n"

StatSignature = tuple[int, int, int, int, int]  # size, mtime_ns, ctime_ns, inode, device


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=DIGEST_SIZE).hexdigest()


def stat_signature(info: os.stat_result) -> StatSignature:
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev)


def code_fingerprint() -> str:
    """backlint's version, its code and catalog as installed (size + mtime), Python and libcst.

    Editing a rule in a checkout changes its mtime, so a developer never reads results of the
    code as it was; a stat of some hundred files costs about a millisecond.
    """

    parts = [__version__, sys.version, sys.implementation.cache_tag or ""]
    package = Path(__file__).resolve().parent.parent  # the whole backlint package, not this layer
    for root, suffix in ((package, ".py"), (rules_dir(), ".toml")):
        for directory, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for name in sorted(filenames):
                if name.endswith(suffix):
                    path = os.path.join(directory, name)
                    info = os.stat(path)
                    parts.append(f"{os.path.relpath(path, root)}:{info.st_size}:{info.st_mtime_ns}")
    spec = importlib.util.find_spec("libcst")  # locates the package without importing it
    if spec is not None and spec.origin:
        parts.append(f"libcst:{spec.origin}:{os.stat(spec.origin).st_mtime_ns}")
    return hashlib.blake2b("\n".join(parts).encode(), digest_size=DIGEST_SIZE).hexdigest()


def settings_fingerprint(settings: Settings) -> str:
    """Code fingerprint + the effective settings (rules, levels, options, tables, paths)."""
    text = f"{code_fingerprint()}\n{settings!r}"
    return hashlib.blake2b(text.encode(), digest_size=DIGEST_SIZE).hexdigest()


@dataclasses.dataclass
class CachedFile:
    """A file's results as read from the cache; its facts are unpickled only when asked for."""

    findings: list[Finding]
    notices: list[Notice]
    facts_digest: str | None  # hash of the pickled facts; None: the file has none
    secrets: list[Span] | None = None  # where the file's secrets are (None: not looked for)


class Cache:
    """One cache directory seen with one settings fingerprint; picklable for worker processes.

    Workers load and store entries; the stat index and pruning belong to the main process.
    """

    def __init__(self, directory: Path, fingerprint: str, *, max_bytes: int = MAX_BYTES) -> None:
        self.directory = directory
        self.fingerprint = fingerprint
        self.max_bytes = max_bytes
        self.root = directory / f"v{FORMAT}"
        self.files = self.root / "files"
        self.writable = True
        self.problem: str | None = None  # why writing failed, reported once
        self._index: dict[str, tuple[StatSignature, str]] | None = None
        self._new_records: dict[str, tuple[StatSignature, str]] = {}
        self._last_good: dict[str, str] | None = None
        self._new_last_good: dict[str, str] = {}
        self.bytes_written = 0

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_index"], state["_new_records"] = None, {}
        state["_last_good"], state["_new_last_good"] = None, {}
        return state

    # -- entries ---------------------------------------------------------------------------------

    def entry_key(self, source: SourceFile, module: tuple[str, bool], digest: str) -> str:
        """Independent of the working directory: the file's project path, module, content and settings."""
        parts = (self.fingerprint, source.project_path, module[0], str(module[1]), digest)
        return hashlib.blake2b("\0".join(parts).encode(), digest_size=DIGEST_SIZE).hexdigest()

    def load(self, key: str, display: str) -> CachedFile | None:
        """The entry's findings and notices, with paths shown as ``display``; None when absent or corrupt."""
        try:
            main, _ = self._unseal(self.files / key, 2)
            findings, notices, facts_digest, stored, secrets = safe_loads(main)
        except (OSError, SealedDataError, ValueError, TypeError) as exc:
            self._damaged(self.files / key, exc)
            return None
        if not (
            isinstance(stored, str)
            and isinstance(findings, list)
            and isinstance(notices, list)
            and (facts_digest is None or isinstance(facts_digest, str))
            and all(isinstance(f, Finding) and f.path == stored for f in findings)
            and all(isinstance(n, Notice) for n in notices)
            and (secrets is None or (isinstance(secrets, list) and all(isinstance(s, Span) for s in secrets)))
        ):
            self._damaged(self.files / key, ValueError("unexpected contents"))
            return None
        if stored != display:  # stored by a run from another working directory
            for finding in findings:
                finding.path = display
                for related in finding.related:
                    related.path = display if related.path == stored else related.path
            for notice in notices:
                notice.path = display if notice.path == stored else notice.path
        return CachedFile(findings, notices, facts_digest, secrets)

    def load_facts(self, key: str, project_path: str) -> ModuleFacts | None:
        try:
            _, blob = self._unseal(self.files / key, 2)
            facts = safe_loads(blob)
        except (OSError, SealedDataError, ValueError, TypeError) as exc:
            self._damaged(self.files / key, exc)
            return None
        return facts if isinstance(facts, ModuleFacts) and facts.path == project_path else None

    def _unseal(self, path: Path, count: int) -> list[bytes]:
        """A sealed file's blobs, read only if it is a regular file no larger than the cache's budget."""
        return unseal(read_limited(path, self.max_bytes, regular_only=True), count)

    def _damaged(self, path: Path, exc: BaseException) -> None:
        """A cache file that is missing (pruned by a concurrent run) is a miss; one that is damaged is a
        miss with a warning, once per run: the files are linted again and the entries rewritten."""
        if not isinstance(exc, FileNotFoundError) and self.problem is None:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.problem = f"damaged cache file {path.name} ignored ({reason}); linted again"
        return None

    def store(self, key: str, result: FileResult) -> str | None:
        """Write an entry and return the digest of its facts (None: no facts).

        The caller does not store results with internal errors: they may be transient.
        """
        facts = pickle.dumps(result.facts, pickle.HIGHEST_PROTOCOL) if result.facts is not None else None
        digest = content_hash(facts) if facts is not None else None
        if self.writable:
            entry = (result.findings, result.notices, digest, result.path, result.secrets)
            main = pickle.dumps(entry, pickle.HIGHEST_PROTOCOL)
            self._write(self.files, key, seal(main, facts or b""))
        return digest

    def _write(self, directory: Path, name: str, data: bytes) -> None:
        try:
            try:
                atomic_write(directory / name, data)
            except FileNotFoundError:
                self._create()
                atomic_write(directory / name, data)
        except OSError as exc:
            self.writable = False
            self.problem = f"cache disabled: cannot write {directory}: {exc.strerror or exc}"
            return
        self.bytes_written += len(data)

    def sweep(self, pid: int) -> None:
        """Remove what a worker process ``pid``, killed mid-write, left: its temporary files
        (named by backlint/core/files.py's atomic_write)."""
        for directory in (self.files, self.root / "project", self.root):
            for path in directory.glob(f".*.{pid}.*.tmp"):
                unlink_quietly(path)

    def _create(self) -> None:
        """Make the cache's directories, in a directory that is empty or already ours (its tag file
        says so): a cache directory pointed at a home or a project is never filled or hidden."""
        if not is_ours_or_empty(self.directory):
            raise PermissionError(0, f"{self.directory} is not empty and has no backlint CACHEDIR.TAG")
        self.directory.mkdir(parents=True, exist_ok=True)
        # The tag first and whole (atomic_write renames it into place): another run or worker that
        # creates the cache at the same moment sees the directory empty (but for the tag's
        # temporary file) or tagged, never half made and so foreign (pre-commit runs several
        # backlint processes at once).
        for name, text in (("CACHEDIR.TAG", _TAG), (".gitignore", "# Created by backlint\n*\n")):
            path = self.directory / name
            if not path.exists():
                atomic_write(path, text.encode("utf-8"))
        self.files.mkdir(parents=True, exist_ok=True)
        (self.root / "project").mkdir(exist_ok=True)

    # -- project pass ----------------------------------------------------------------------------

    def project_key(self, levels: Iterable[tuple[str, str]], facts: Sequence[tuple[str, str | None]]) -> str:
        """Key of the project pass: the project rules' levels and every file's (path, facts digest).

        Editing a file whose facts stay the same (a test, a function body) keeps the key; the
        texts the findings quote are checked by ``load_project``.
        """
        digest = hashlib.blake2b(self.fingerprint.encode(), digest_size=DIGEST_SIZE)
        digest.update(repr(sorted(levels)).encode())
        for display, facts_digest in facts:
            digest.update(f"\0{display}\0{facts_digest or '-'}".encode())
        return digest.hexdigest()

    def load_project(self, key: str, entries: dict[str, str]) -> ProjectVerdict | None:
        """The cached verdict, if each file with a finding still has the same entry (text).

        Findings and ``entries`` name files by project path (``pipeline/projectfiles.py``)."""
        from backlint.pipeline.project import ProjectVerdict

        try:
            (blob,) = self._unseal(self.root / "project" / key, 1)
            findings, withheld, unjudged, sources = safe_loads(blob)
        except (OSError, SealedDataError, ValueError, TypeError):
            return None
        everything = [*findings, *withheld] if isinstance(findings, list) and isinstance(withheld, list) else None
        if everything is None or not all(isinstance(f, Finding) for f in everything):
            return None
        if not isinstance(unjudged, frozenset) or not all(isinstance(i, str) for i in unjudged):
            return None
        if not isinstance(sources, dict) or any(entries.get(path) != entry for path, entry in sources.items()):
            return None  # a file with findings changed: its suppressions and quoted lines may have
        if any(f.path not in sources for f in everything):
            return None
        return ProjectVerdict(findings, withheld, unjudged)

    def store_project(self, key: str, verdict: ProjectVerdict, entries: dict[str, str]) -> None:
        if self.writable:
            everything = [*verdict.findings, *verdict.withheld]
            sources = {f.path: entries[f.path] for f in everything if f.path in entries}
            data = (verdict.findings, verdict.withheld, verdict.unjudged, sources)
            blob = pickle.dumps(data, pickle.HIGHEST_PROTOCOL)
            self._write(self.root / "project", key, seal(blob))

    # -- stat index (main process) ---------------------------------------------------------------

    def _index_path(self) -> Path:
        return self.root / "stat-index"

    def _read_index(self) -> dict[str, tuple[StatSignature, str]]:
        try:
            (blob,) = self._unseal(self._index_path(), 1)
            index = safe_loads(blob)
        except (OSError, SealedDataError, ValueError, TypeError) as exc:
            self._damaged(self._index_path(), exc)
            return {}
        return index if isinstance(index, dict) else {}

    def known_hash(self, path: str, signature: StatSignature) -> str | None:
        """The content hash recorded for ``path`` if its stat signature is unchanged."""
        if self._index is None:
            self._index = self._read_index()
        record = self._index.get(path)
        if isinstance(record, tuple) and len(record) == 2 and record[0] == signature and isinstance(record[1], str):
            return record[1]
        return None

    def last_good(self, project_path: str) -> str | None:
        """The entry of the file's last version that had facts (it may since have been pruned)."""
        if self._last_good is None:
            self._last_good = self._read_last_good()
        key = self._new_last_good.get(project_path) or self._last_good.get(project_path)
        return key if isinstance(key, str) else None

    def remember_facts(self, project_path: str, key: str) -> None:
        """``key``'s entry holds facts of ``project_path``: its last good version so far."""
        if self._last_good is None:
            self._last_good = self._read_last_good()
        if self._last_good.get(project_path) != key:
            self._new_last_good[project_path] = key

    def _read_last_good(self) -> dict[str, str]:
        try:
            (blob,) = self._unseal(self.root / _LAST_GOOD, 1)
            index = safe_loads(blob)
        except (OSError, SealedDataError, ValueError, TypeError) as exc:
            self._damaged(self.root / _LAST_GOOD, exc)
            return {}
        return index if isinstance(index, dict) else {}

    def remember(self, path: str, signature: StatSignature, digest: str) -> None:
        """Record path → hash, unless the file changed so recently that its stat could lie."""
        if time.time_ns() - signature[2] > _RACY_NS:
            self._new_records[path] = (signature, digest)

    def close(self, used: Iterable[str] = ()) -> None:
        """Save the stat index (merged with what concurrent runs saved); prune now and then."""
        if not self.writable:
            return
        if self._new_records:
            index = self._read_index()  # re-read: another run may have saved meanwhile
            if len(index) + len(self._new_records) > _INDEX_LIMIT:
                index = {}
            index.update(self._new_records)
            self._write(self.root, "stat-index", seal(pickle.dumps(index, pickle.HIGHEST_PROTOCOL)))
            self._new_records = {}
        if self._new_last_good:
            last_good = self._read_last_good()  # merged with what concurrent runs saved
            if len(last_good) + len(self._new_last_good) > _INDEX_LIMIT:
                last_good = {}
            last_good.update(self._new_last_good)
            self._write(self.root, _LAST_GOOD, seal(pickle.dumps(last_good, pickle.HIGHEST_PROTOCOL)))
            self._last_good, self._new_last_good = last_good, {}
        if self.bytes_written:
            # Scanning the directory costs a stat per entry: do it once per max_bytes/8 written.
            pending = self._read_counter() + self.bytes_written
            if pending > self.max_bytes // 8:
                self.prune(set(used))
                pending = 0
            self._write(self.root, "unpruned-bytes", str(pending).encode())

    def _read_counter(self) -> int:
        try:
            return int((self.root / "unpruned-bytes").read_text("ascii"))
        except (OSError, ValueError):
            return 0

    def prune(self, keep: set[str]) -> None:
        """Bound the directory: drop stale temporaries, old project entries, then the oldest entries."""
        now = time.time()
        entries: list[tuple[float, int, str, str]] = []
        project_entries: list[tuple[float, str]] = []
        for directory in (self.files, self.root / "project"):
            try:
                scanned = list(os.scandir(directory))
            except OSError:
                continue
            for entry in scanned:
                try:
                    info = entry.stat()
                except OSError:
                    continue
                if entry.name.endswith(".tmp"):
                    if now - info.st_mtime > 3600:
                        unlink_quietly(entry.path)
                elif directory == self.files:
                    entries.append((info.st_mtime, info.st_size, entry.name, entry.path))
                else:
                    project_entries.append((info.st_mtime, entry.path))
        for _, path in sorted(project_entries, reverse=True)[_PROJECT_ENTRIES_KEPT:]:
            unlink_quietly(path)
        total = sum(size for _, size, _, _ in entries)
        if total > self.max_bytes:
            target = self.max_bytes * 3 // 4
            for _, size, name, path in sorted(entries):
                if total <= target:
                    break
                if name not in keep:
                    unlink_quietly(path)
                    total -= size


def is_ours_or_empty(directory: Path) -> bool:
    """Whether backlint may write its cache in ``directory``: absent, empty (but for the temporary
    file of a tag being written), or tagged by backlint."""
    try:
        if not directory.exists():
            return True
        if (directory / "CACHEDIR.TAG").read_text("utf-8", "replace") == _TAG:
            return True
    except OSError:
        pass
    try:
        return directory.is_dir() and all(_TAG_BEING_WRITTEN.fullmatch(entry.name) for entry in directory.iterdir())
    except OSError:
        return False


# The temporary file atomic_write (backlint/core/files.py) writes the tag through, in a cache another
# process is creating right now.
_TAG_BEING_WRITTEN = re.compile(r"\.CACHEDIR\.TAG\.\d+\.\d+\.tmp")


def open_cache(directory: Path, settings: Settings) -> Cache:
    """The cache in ``directory`` for this run's settings (nothing is read or created yet)."""
    return Cache(directory, settings_fingerprint(settings))
