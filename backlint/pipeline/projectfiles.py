"""The project's files as the project pass reads them: by their project path, from an open buffer first.

Facts name a file by its *project path*: relative to the project root (POSIX), or absolute for a file
outside it (``discovery.project_path``). So the facts of a file, cached or computed, are the same
whatever directory backlint runs from, and a finding in file A judged on facts of file B can be
placed in A from any working directory. When the project pass places a finding (``analysis/lazy.py``
re-parses the file for positions and fixes) or reads its suppression comments, it asks the
``ProjectFiles`` in effect: the root to resolve project paths against, and the texts of buffers
that are not on disk (the editor's open documents, standard input) to read instead of the disk.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import hashlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from backlint.pipeline.source import read_source


@dataclasses.dataclass(frozen=True)
class ProjectFiles:
    root: Path
    buffers: Mapping[str, str] = dataclasses.field(default_factory=dict)  # project path → text not on disk

    def absolute(self, name: str) -> str:
        return name if os.path.isabs(name) else os.path.join(self.root, name)

    def buffer(self, name: str) -> str | None:
        return self.buffers.get(name)

    def read(self, name: str, max_size: int = 1 << 62) -> str | None:
        """The file's text: its buffer if open, else the disk (None: unreadable or undecodable)."""
        text = self.buffers.get(name)
        if text is not None:
            return text
        text, _, _ = read_source(Path(self.absolute(name)), max_size)
        return text

    def version(self, name: str) -> tuple[str, ...] | None:
        """What identifies the text ``read`` returns now (a buffer's hash, a file's stat); None: no file."""
        text = self.buffers.get(name)
        if text is not None:
            return ("buffer", hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest())
        absolute = self.absolute(name)
        try:
            info = os.stat(absolute)
        except OSError:
            return None
        return ("disk", absolute, str(info.st_mtime_ns), str(info.st_size))


_CURRENT: contextvars.ContextVar[ProjectFiles | None] = contextvars.ContextVar("backlint_project_files", default=None)


@contextlib.contextmanager
def reading(files: ProjectFiles) -> Iterator[ProjectFiles]:
    """Project paths resolve against ``files`` (and its buffers) inside the block, in this thread."""
    token = _CURRENT.set(files)
    try:
        yield files
    finally:
        _CURRENT.reset(token)


def current() -> ProjectFiles | None:
    return _CURRENT.get()


def resolve(name: str) -> str:
    """The path to open for a project path: against the root in effect (else the working directory)."""
    files = _CURRENT.get()
    return files.absolute(name) if files is not None else name


def read_text(name: str, max_size: int = 1 << 62) -> str | None:
    """A project path's text as the project pass sees it (an open buffer first)."""
    files = _CURRENT.get()
    if files is None:
        text, _, _ = read_source(Path(name), max_size)
        return text
    return files.read(name, max_size)


def version(name: str) -> tuple[str, ...] | None:
    files = _CURRENT.get()
    return (files or ProjectFiles(Path.cwd())).version(name)
