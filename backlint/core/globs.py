"""Glob patterns as ruff and .gitignore read them: ``**`` spans directories, a bare name matches anywhere."""

from __future__ import annotations

import functools
import re


class GlobError(ValueError):
    pass


@functools.cache
def compile_glob(pattern: str) -> re.Pattern[str]:
    """Compile a glob matched against a POSIX path relative to the project root."""
    if not pattern or pattern.count("[") != pattern.count("]"):
        raise GlobError(f"invalid glob {pattern!r}")
    body = pattern.strip("/") if pattern != "/" else pattern
    anchored = "/" in body
    out = []
    i = 0
    while i < len(body):
        c = body[i]
        if body.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if body.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = body.index("]", i)
            chars = body[i + 1 : end]
            if chars.startswith("!"):
                chars = "^" + chars[1:]
            out.append(f"[{chars}]")
            i = end + 1
            continue
        else:
            out.append(re.escape(c))
        i += 1
    prefix = "" if anchored else "(?:.*/)?"
    try:
        # A pattern naming a directory also matches everything under it.
        return re.compile(f"^{prefix}{''.join(out)}(?:/.*)?$")
    except re.error as exc:
        raise GlobError(f"invalid glob {pattern!r}: {exc}") from exc


def matches_any(path: str, patterns: tuple[str, ...]) -> bool:
    return any(compile_glob(p).match(path) for p in patterns)


def is_excluded(relative: str, patterns: tuple[str, ...], *, name_only: str | None = None) -> bool:
    """Patterns with a slash match the root-relative path; bare names match a path component.

    During a directory walk, ``name_only`` is the entry's own name (its parents were checked
    on the way down); for a file named on the command line every component is checked.
    """
    by_path, by_name = _combined(patterns)
    if by_path is not None and by_path.match(relative):
        return True
    if by_name is None:
        return False
    names = [name_only] if name_only is not None else relative.split("/")
    return any(by_name.match(n) for n in names)


@functools.lru_cache(maxsize=64)
def _combined(patterns: tuple[str, ...]) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
    """One regex for the path patterns and one for the bare names: a walk tests every entry."""
    by_path = [compile_glob(p).pattern for p in patterns if "/" in p.strip("/")]
    by_name = [compile_glob(p).pattern for p in patterns if "/" not in p.strip("/")]
    return _alternatives(by_path), _alternatives(by_name)


def _alternatives(regexes: list[str]) -> re.Pattern[str] | None:
    return re.compile("|".join(f"(?:{r})" for r in regexes)) if regexes else None
