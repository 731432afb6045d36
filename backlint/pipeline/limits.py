"""Per-file resource limits: a CPU-time limit per file, an address-space limit per process, and the
phase marker a worker shares with its parent so that a crash can be blamed on the parser or not.

The per-file stage (backlint/pipeline/filestage.py) arms ``cpu_time_limit`` around one file: past
the limit a ``TimeLimitExceeded`` is raised in the analysing thread (a ``BaseException``: a rule's
``except Exception`` does not swallow it). Native code (libcst's parser) does not return to Python
while it runs, so a worker process also gets a kernel limit (``RLIMIT_CPU``) a little above: a parse
stuck past it is killed with SIGXCPU, and the parent (backlint/pipeline/workers.py) reports the file.
Where the platform has no ``resource`` module or no ``setitimer`` (Windows), these are no-ops.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

try:
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None  # type: ignore[assignment]

DEFAULT_MEMORY_MB = 1024
DEFAULT_TIME_SECONDS = 20.0

# What a worker is doing, shared with its parent (a byte of shared memory): a process killed by a
# signal while PARSING is a file the parser cannot handle (BL000); at any other time, a lost worker.
IDLE, PARSING, ANALYSING = 0, 1, 2


class _Cell:
    value = IDLE


phase: Any = _Cell()  # a worker replaces it with a multiprocessing.RawValue its parent reads


def set_phase(value: int) -> None:
    phase.value = value


@dataclasses.dataclass(frozen=True)
class Limits:
    """``memory``: bytes of address space per process that parses (None: no limit); ``time``: CPU
    seconds per file (None: no limit)."""

    memory: int | None = DEFAULT_MEMORY_MB * 1024 * 1024
    time: float | None = DEFAULT_TIME_SECONDS

    def describe_memory(self) -> str:
        return f"{(self.memory or 0) // (1024 * 1024)} MB"

    def describe_time(self) -> str:
        return f"{self.time:g} s of CPU time"


class TimeLimitExceeded(BaseException):
    """The file took more CPU time than ``time-limit``."""


class MemoryLimitExceeded(Exception):
    """The file needed more memory than ``memory-limit`` (a MemoryError under RLIMIT_AS)."""


# How a file the pre-checks find risky is parsed outside the process that asked (the serial path,
# standard input, the language server): a multiprocessing start method ("" for the platform's
# default), or None inside a worker, which is such a process already.
risky_files_context: str | None = ""

# Set when a MemoryError was caught: the process's heap may be left fragmented near the limit, so a
# worker retires after sending the file's result (the parent starts a fresh one).
exhausted = False


def memory_limit_supported() -> bool:
    """Whether the kernel enforces an address-space limit (Linux, the BSDs; not macOS or Windows)."""
    return resource is not None and hasattr(resource, "RLIMIT_AS") and sys.platform.startswith(("linux", "freebsd"))


def apply_memory_limit(limit: int | None) -> None:
    """Cap this process's address space (soft limit); a worker calls it once, at start."""
    if limit is None or not memory_limit_supported():
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def no_core_dumps() -> None:
    """A crashing parser must not leave a core file of the analysed code behind."""
    if resource is not None:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_CORE, (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))


def kernel_grace(seconds: float) -> float:
    """How long past the limit native code may run before the kernel stops the process."""
    return max(1.0, seconds / 4)


def arm_kernel_cpu_limit(seconds: float | None) -> None:
    """In a worker, before each file: SIGXCPU (fatal: no handler) once the file has used its time
    plus a grace. The soft limit is raised again for the next file; the hard limit is never touched."""
    if resource is None or not hasattr(resource, "RLIMIT_CPU"):
        return
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if seconds is None:
        soft = hard
    else:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        soft = math.ceil(usage.ru_utime + usage.ru_stime + seconds + kernel_grace(seconds))
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


@contextlib.contextmanager
def cpu_time_limit(seconds: float | None) -> Iterator[None]:
    """Raise TimeLimitExceeded in this block once it has used ``seconds`` of CPU time.

    Only on the main thread (signals are delivered there) and where ``setitimer`` exists; elsewhere
    (the language server's lint thread) the block runs unbounded: what could run away is sent to a
    child process with limits by the per-file stage.

    The alarm can land inside code whose cleanup then fails and replaces our exception with its own
    (libcst's position recorder raises KeyError while unwinding): once the alarm has fired, whatever
    leaves the block is reported as the time limit.
    """
    usable = (
        seconds is not None and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return
    assert seconds is not None
    fired = False

    def on_profile_alarm(signum: int, frame: Any) -> None:
        nonlocal fired
        fired = True
        raise TimeLimitExceeded()

    previous = signal.signal(signal.SIGPROF, on_profile_alarm)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    except TimeLimitExceeded:
        raise
    except BaseException as exc:
        if fired:
            raise TimeLimitExceeded() from exc
        raise
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


# libcst's own visitors (code generation for positions, ``deep_equals``) recurse once or twice per
# level of the tree. The pre-checks (backlint/pipeline/precheck.py) bound how deep a tree that
# reaches libcst can be; this much room covers it (before 3.11 each Python call also costs C stack).
RECURSION_ROOM = 16_000 if sys.version_info >= (3, 11) else 8_000


@contextlib.contextmanager
def recursion_room(frames: int = RECURSION_ROOM) -> Iterator[None]:
    """Python's recursion limit at least ``frames`` in this block."""
    previous = sys.getrecursionlimit()
    if frames > previous:
        sys.setrecursionlimit(frames)
    try:
        yield
    finally:
        if frames > previous:
            sys.setrecursionlimit(previous)


def from_recursion(exc: BaseException) -> bool:
    """Whether ``exc`` is, or was raised while unwinding from, a RecursionError (libcst's position
    recorder raises KeyError when a RecursionError leaves its ``with`` blocks)."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 20:
        if isinstance(current, RecursionError):
            return True
        current, seen = current.__context__, seen + 1
    return False


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
