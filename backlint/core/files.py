"""Files backlint writes: atomic replacement, and sealed pickles that build nothing but backlint's own data.

Every file backlint writes (cache entries, the parsed catalog, ``--fix`` edits, baselines, shards,
bulk suppressions, ``-o`` reports) goes through ``atomic_write``: a reader, a concurrent run or a
crash sees the old file or the new one, never part of either.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import hashlib
import io
import os
import pickle
import stat
import sys
import time
from pathlib import Path
from typing import Any

_SEAL_MAGIC = b"BLC\x01"
DIGEST_SIZE = 16


_STREAMS = ("/dev/", "/proc/")  # /dev/stdout may lead to a regular file: the caller's redirection


class StaleFileError(OSError):
    """The file no longer holds the bytes it was read with: it changed on disk meanwhile."""


def atomic_write(path: Path, data: bytes, *, expected: bytes | None = None) -> None:
    """Replace ``path`` (a symlink's target) with ``data`` through a temporary file beside it.

    An existing file keeps its permission bits; a device or pipe is written to directly. With
    ``expected``, the file is written only if it still holds those bytes (``StaleFileError``
    otherwise). On any failure the temporary file is removed and the ``OSError`` raised; the
    target is untouched.
    """
    target = path.resolve() if path.is_symlink() else path
    try:
        info: os.stat_result | None = target.stat()
    except FileNotFoundError:
        info = None
    if (info is not None and not stat.S_ISREG(info.st_mode)) or path.as_posix().startswith(_STREAMS):
        with open(path, "wb") as stream:  # a device, a pipe, /dev/stdout: written to, never replaced
            stream.write(data)
        return
    mode = info.st_mode & 0o7777 if info is not None else None
    temporary = target.with_name(f".{target.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    try:
        with open(temporary, "xb") as stream:
            stream.write(data)
        if mode is not None:
            os.chmod(temporary, mode)
        if expected is not None and target.read_bytes() != expected:
            raise StaleFileError(f"{path}: changed on disk")
        os.replace(temporary, target)
    except BaseException:
        unlink_quietly(temporary)
        raise


class InputTooLargeError(OSError):
    """An input file (configuration, baseline, shard, cache entry) over the size backlint reads."""


def read_limited(path: str | Path, limit: int, *, regular_only: bool = False) -> bytes:
    """The bytes of ``path``, at most ``limit`` of them (``InputTooLargeError`` past it).

    A device such as ``/dev/zero`` is refused (it would be read without end); a pipe is read up to
    the limit; with ``regular_only`` anything but a regular file (a FIFO would block on open) is
    refused before it is opened.
    """
    if regular_only and not stat.S_ISREG(os.stat(path).st_mode):
        raise OSError(f"{path}: not a regular file")
    with open(path, "rb") as stream:
        info = os.fstat(stream.fileno())
        if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode):
            raise OSError(f"{path}: a device, not a file")
        if stat.S_ISREG(info.st_mode) and info.st_size > limit:
            raise InputTooLargeError(f"{path}: {info.st_size} bytes, more than the {limit} backlint reads")
        chunks, size = [], 0
        while size <= limit:  # in chunks: a device's read is never sized by the limit
            chunk = stream.read(min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        data = b"".join(chunks)
    if len(data) > limit:
        raise InputTooLargeError(f"{path}: more than the {limit} bytes backlint reads")
    return data


def unlink_quietly(path: str | Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


class SealedDataError(Exception):
    """Sealed data that does not verify or does not unpickle: treated as absent."""


class _SafeUnpickler(pickle.Unpickler):
    """Builds containers, scalars and backlint's dataclasses and enums, nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "builtins" and name in ("set", "frozenset"):
            return super().find_class(module, name)
        if module == "backlint" or module.startswith("backlint."):
            value = super().find_class(module, name)
            if isinstance(value, type) and (dataclasses.is_dataclass(value) or issubclass(value, enum.Enum)):
                return value
        raise SealedDataError(f"refusing to load {module}.{name}")


def safe_loads(data: bytes) -> Any:
    try:
        return _SafeUnpickler(io.BytesIO(data)).load()
    except SealedDataError:
        raise
    except Exception as exc:  # any malformed pickle: the entry is corrupt
        raise SealedDataError(f"corrupt entry: {exc!r}") from exc


def seal(*blobs: bytes) -> bytes:
    """Magic, digest, then length-prefixed blobs: every byte after the digest is verified."""
    body = b"".join(len(b).to_bytes(8, "little") + b for b in blobs)
    return _SEAL_MAGIC + hashlib.blake2b(body, digest_size=DIGEST_SIZE).digest() + body


def unseal(data: bytes, count: int) -> list[bytes]:
    head = len(_SEAL_MAGIC) + DIGEST_SIZE
    if data[: len(_SEAL_MAGIC)] != _SEAL_MAGIC or len(data) < head:
        raise SealedDataError("not a cache entry of this format")
    body = data[head:]
    if hashlib.blake2b(body, digest_size=DIGEST_SIZE).digest() != data[len(_SEAL_MAGIC) : head]:
        raise SealedDataError("digest mismatch")
    blobs, offset = [], 0
    for _ in range(count):
        size = int.from_bytes(body[offset : offset + 8], "little")
        blobs.append(body[offset + 8 : offset + 8 + size])
        offset += 8 + size
    if offset != len(body):
        raise SealedDataError("trailing or missing data")
    return blobs


def user_cache_dir() -> Path | None:
    """``$BACKLINT_CACHE_HOME``, else the platform's per-user cache directory (as black and pip use)."""
    explicit = os.environ.get("BACKLINT_CACHE_HOME")
    if explicit:
        return Path(explicit)
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA")
        return Path(base) / "backlint" / "Cache" if base else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "backlint" if os.path.isabs(base) else None
