"""Paths on the command line → the files to lint, in a stable order."""

from __future__ import annotations

import dataclasses
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from backlint.core.config import Config
from backlint.core.globs import is_excluded

PYTHON_SUFFIXES = (".py", ".pyi")


@dataclasses.dataclass(frozen=True)
class SourceFile:
    path: Path  # as given or found, for reading
    display: str  # relative to the working directory when possible, POSIX separators
    relative: str  # relative to the project root, for globs

    @property
    def project_path(self) -> str:
        """How facts and the project pass name the file, the same from any working directory: its
        root-relative path, or its absolute path outside the root (``relative`` is lossy there)."""
        absolute = Path(os.path.abspath(self.path)).as_posix()
        return absolute if absolute.lstrip("/") == self.relative else self.relative


@dataclasses.dataclass
class Discovery:
    files: list[SourceFile]
    problems: list[tuple[str, str]]  # (path, message) for paths that could not be walked


def display_path(path: Path, cwd: Path) -> str:
    try:
        return path.resolve().relative_to(cwd).as_posix() if path.is_absolute() else path.as_posix()
    except ValueError:
        return path.as_posix()


def relative_to_root(path: Path, root: Path) -> str:
    if os.sep == "/":  # string operations: a warm run asks this for every entry it walks
        absolute_text, root_text = os.path.abspath(path), str(root)
        if absolute_text == root_text:
            return "."
        prefix = root_text if root_text.endswith("/") else root_text + "/"
        if absolute_text.startswith(prefix):
            return absolute_text[len(prefix) :]
        return absolute_text.lstrip("/")
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(root).as_posix()
    except ValueError:
        return absolute.as_posix().lstrip("/")


def project_path_of(path: Path, root: Path) -> str:
    """``SourceFile.project_path`` of ``path`` in the project at ``root``."""
    relative = relative_to_root(path, root)
    absolute = Path(os.path.abspath(path)).as_posix()
    return absolute if absolute.lstrip("/") == relative else relative


def discover(paths: list[Path], config: Config, *, force_exclude: bool = False) -> Discovery:
    excludes = config.exclude + config.extend_exclude
    cwd = Path.cwd().resolve()
    found: dict[str, SourceFile] = {}
    problems: list[tuple[str, str]] = []
    walked: list[SourceFile] = []
    for given in paths:
        if given.is_dir():
            for path, relative in _walk(given, config.root, excludes, problems):
                # The walk knows each file's root-relative path; a relative argument's files
                # display as found. Only an absolute argument needs resolving against cwd.
                display = display_path(path, cwd) if given.is_absolute() else path.as_posix()
                walked.append(SourceFile(path=path, display=display, relative=relative))
        elif given.exists() or given.is_symlink():
            source = _source(given, cwd, config.root)
            if force_exclude and is_excluded(source.relative, excludes):
                continue
            found.setdefault(source.display, source)
        else:
            problems.append((given.as_posix(), "no such file or directory"))
    candidates = walked + ([] if not force_exclude else list(found.values()))
    ignored = _git_ignored(candidates, config) if config.respect_gitignore else set()
    for source in walked:
        if source.display not in ignored:
            found.setdefault(source.display, source)
    for display in ignored:
        found.pop(display, None)
    return Discovery(files=sorted(found.values(), key=lambda s: s.display), problems=problems)


def _source(path: Path, cwd: Path, root: Path) -> SourceFile:
    return SourceFile(path=path, display=display_path(path, cwd), relative=relative_to_root(path, root))


def _walk(
    directory: Path, root: Path, excludes: tuple[str, ...], problems: list[tuple[str, str]]
) -> Iterator[tuple[Path, str]]:
    """The Python files under ``directory``, each with its path relative to the project root."""
    seen_dirs: set[tuple[int, int]] = set()
    inside = root.resolve()
    stack = [directory]
    while stack:
        current = stack.pop()
        try:
            stat = current.stat()
            if (stat.st_dev, stat.st_ino) in seen_dirs:
                problems.append((current.as_posix(), "directory symlink loop, skipped"))
                continue
            seen_dirs.add((stat.st_dev, stat.st_ino))
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError as exc:
            problems.append((current.as_posix(), f"cannot read directory: {exc.strerror or exc}"))
            continue
        subdirs = []
        current_relative = relative_to_root(current, root)
        parent = "" if current_relative == "." else current_relative + "/"
        for entry in entries:
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if not is_dir and not entry.name.endswith(PYTHON_SUFFIXES):
                continue  # most entries (data, locale, assets): no need to match excludes
            if is_excluded(parent + entry.name, excludes, name_only=entry.name):
                continue
            path = Path(entry.path)
            if is_dir and entry.is_symlink() and not _within(path, inside):
                # Like ruff: a directory symlink is not followed out of the project (a vendored
                # tree, the whole disk); its files are linted when named on the command line.
                problems.append((path.as_posix(), "directory symlink leads outside the project root, skipped"))
                continue
            if is_dir:
                subdirs.append(path)
            else:
                yield path, parent + entry.name
        stack.extend(reversed(subdirs))


def _within(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root)
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13)
        return False
    return True


def _git_ignored(files: list[SourceFile], config: Config) -> set[str]:
    """Display paths of files a git checkout ignores (one ``git check-ignore`` call)."""
    if not files or not any((d / ".git").exists() for d in [config.root, *config.root.parents]):
        return set()
    by_abs = {os.path.abspath(f.path): f.display for f in files}
    try:
        proc = subprocess.run(
            ["git", "check-ignore", "--stdin", "-z", "--no-index"],
            input=b"\0".join(map(os.fsencode, by_abs)) + b"\0",  # names that are not UTF-8 stay bytes
            capture_output=True,
            cwd=config.root,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return set()
    if proc.returncode not in (0, 1):
        return set()
    return {by_abs[os.fsdecode(p)] for p in proc.stdout.split(b"\0") if os.fsdecode(p) in by_abs}
