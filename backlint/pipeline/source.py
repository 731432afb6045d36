"""Reading a source file: type and size checks, PEP 263 / BOM decoding, module names, and BL000 for unreadable files."""

from __future__ import annotations

import io
import os
import re
import stat
import tokenize
from pathlib import Path

from backlint.core.ids import PARSE_ERROR
from backlint.core.results import Finding, Notice, Span


def read_source(path: Path, max_size: int) -> tuple[str | None, Notice | None, Finding | None]:
    """Decode per PEP 263 / BOM. Returns (text, notice-if-skipped, BL000-if-unreadable)."""
    display = path.as_posix()
    data, _, notice, error = read_file_bytes(path, display, max_size)
    if data is None:
        return None, notice, error
    return decode_source(data, display)


def read_file_bytes(
    path: Path, display: str, max_size: int
) -> tuple[bytes | None, os.stat_result | None, Notice | None, Finding | None]:
    """(bytes, their stat) of a regular file within max_size; else a notice or a BL000 finding."""
    try:
        info = path.stat()
    except OSError as exc:
        reason = "broken symbolic link" if path.is_symlink() else (exc.strerror or str(exc))
        return None, None, None, file_error(display, f"cannot read file: {reason}")
    if not stat.S_ISREG(info.st_mode):
        return None, None, Notice(display, "not a regular file, skipped"), None
    if info.st_size > max_size:
        return None, None, Notice(display, over_max_file_size(info.st_size, max_size)), None
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, None, None, file_error(display, f"cannot read file: {exc.strerror or exc}")
    return data, info, None, None


def over_max_file_size(size: int, max_size: int) -> str:
    return f"file is {size} bytes, over max-file-size ({max_size}), skipped"


_CODING_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*[-\w.]+")  # PEP 263, as tokenize reads it


def decode_source(data: bytes, display: str) -> tuple[str | None, Notice | None, Finding | None]:
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        if "unknown encoding" in str(exc):
            return None, None, file_error(display, f"cannot decode file: {exc.msg}")
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
        return None, None, file_error(display, message, line, column)
    if text.startswith("\ufeff"):
        text = text[1:]
    return text, None, None


def file_error(path: str, message: str, line: int = 1, column: int = 1) -> Finding:
    return Finding(
        rule_id=PARSE_ERROR,
        path=path,
        span=Span(line, column, line, column),
        message=message,
        level="error",
        statement_lines=(line, line),
    )


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
