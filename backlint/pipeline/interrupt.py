"""SIGINT and SIGTERM end a run cleanly: workers stopped, temporary files removed, exit 130 or 143.

SIGINT raises KeyboardInterrupt already (unless backlint was started with SIGINT ignored, as a
non-interactive shell starts a background job: then, as every program does, it keeps ignoring it);
``stoppable`` makes SIGTERM raise ``Terminated`` the same way, so both unwind through every
``finally``: the worker pool stops its workers, an atomic write in progress removes its temporary
file (backlint/core/files.py). The commands turn either into the shell's exit code for death by
that signal (128 + its number), never 1, the code for findings.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any, Callable

EXIT_INTERRUPTED = 128 + signal.SIGINT  # 130
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143


class Terminated(BaseException):
    """SIGTERM arrived: unwind like KeyboardInterrupt does for SIGINT."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated()


@contextlib.contextmanager
def stoppable() -> Iterator[None]:
    """SIGTERM raises Terminated in this block (main thread only: elsewhere signals cannot be set)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_stoppable(command: Callable[[], int], report: Callable[[str], None]) -> int:
    """``command()``'s exit code, or 130/143 when SIGINT/SIGTERM stopped it (``report`` says so)."""
    try:
        with stoppable():
            return command()
    except KeyboardInterrupt:
        report("interrupted")
        return EXIT_INTERRUPTED
    except Terminated:
        report("terminated")
        return EXIT_TERMINATED
