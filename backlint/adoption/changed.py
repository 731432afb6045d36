"""What a change touched, from git: files changed since a revision plus untracked ones, and their lines.

``REV`` is anything ``git diff REV`` accepts (``main``, ``origin/main``, ``HEAD~3``, a commit); ``REV...``
compares against the merge base of ``REV`` and ``HEAD``, as a pull request sees it. Uncommitted edits
count as changes: the comparison is with the working tree.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(?P<start>\d+)(?:,(?P<count>\d+))? @@", re.MULTILINE)
ALL_LINES = None  # an untracked (or newly added) file: every line is new


class GitError(Exception):
    """git is missing, this is not a repository, or the revision does not exist."""


@dataclasses.dataclass
class Changes:
    top: Path  # the repository's top directory, resolved
    base: str  # the commit compared with
    # Absolute resolved path → changed lines of the working-tree file (None: all of them).
    files: dict[str, frozenset[int] | None]

    def touches(self, path: Path) -> bool:
        return os.path.realpath(path) in self.files

    def lines(self, path: Path) -> frozenset[int] | None:
        return self.files.get(os.path.realpath(path), frozenset())


def _git(top: Path | None, *args: str, cwd: Path | None = None) -> str:
    command = ["git", *(("-C", str(top)) if top is not None else ()), *args]
    try:
        proc = subprocess.run(command, cwd=cwd, capture_output=True, check=False, timeout=300)
    except FileNotFoundError as exc:
        raise GitError("git is not installed (needed for --changed-since)") from exc
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(message[-1] if message else f"`{' '.join(command)}` failed")
    return proc.stdout.decode("utf-8", "surrogateescape")


def changes_since(revision: str, where: Path, *, with_lines: bool) -> Changes:
    """Files changed between ``revision`` and the working tree (renames count as their new name),
    plus untracked files that are not ignored; with ``with_lines``, each file's changed lines."""
    top = Path(_git(None, "rev-parse", "--show-toplevel", cwd=where).strip()).resolve()
    if revision.endswith("...") and len(revision) > 3:
        base = _git(top, "merge-base", revision[:-3], "HEAD").strip()
    else:
        try:
            base = _git(top, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}").strip()
        except GitError as exc:
            raise GitError(f"unknown revision {revision!r}") from exc
    names = _git(top, "diff", "--name-only", "-z", "--no-ext-diff", "-M", "--diff-filter=ACMRTU", base, "--")
    untracked = _git(top, "ls-files", "--others", "--exclude-standard", "-z")
    files: dict[str, frozenset[int] | None] = {}
    changed = [n for n in names.split("\0") if n]
    if with_lines and changed:
        files.update(_changed_lines(top, base, changed))
    else:
        files.update((os.path.realpath(top / n), ALL_LINES) for n in changed)
    files.update((os.path.realpath(top / n), ALL_LINES) for n in untracked.split("\0") if n)
    return Changes(top, base, files)


def _changed_lines(top: Path, base: str, names: Iterable[str]) -> dict[str, frozenset[int] | None]:
    """Lines of each working-tree file that a ``-U0`` diff adds or rewrites. A pure deletion marks
    the lines on both sides of it: a finding there (an except clause whose logging was deleted)
    is the change's doing."""
    diff = _git(
        top,
        "diff",
        "-U0",
        "--no-color",
        "--no-ext-diff",
        "-M",
        "--src-prefix=a/",
        "--dst-prefix=b/",
        "--diff-filter=ACMRTU",
        base,
    )
    out: dict[str, frozenset[int] | None] = {os.path.realpath(top / n): frozenset() for n in names}
    current: str | None = None
    lines: set[int] = set()
    in_header = False  # between ``diff --git`` and the first hunk: where ``+++ b/name`` belongs
    for line in diff.splitlines():
        if line.startswith("diff --git "):
            if current is not None:
                out[current] = frozenset(lines)
            in_header, current = True, None
        elif in_header and line.startswith("+++ "):
            target = line[4:]
            current = os.path.realpath(top / _unquote(target)[2:]) if target != "/dev/null" else None
            current = current if current in out else None
            lines = set()
        elif line.startswith("@@"):
            in_header = False
            match = _HUNK.match(line)
            if match is None or current is None:
                continue
            start, count = int(match.group("start")), int(match.group("count") or 1)
            lines.update(range(start, start + count) if count else (start, start + 1))
    if current is not None:
        out[current] = frozenset(lines)
    return out


def _unquote(name: str) -> str:
    """git quotes paths with unusual characters as C strings: ``"b/caf\\303\\251.py"``."""
    if not (name.startswith('"') and name.endswith('"')):
        return name
    raw = name[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")
    return raw.encode("latin-1").decode("utf-8", "surrogateescape")
