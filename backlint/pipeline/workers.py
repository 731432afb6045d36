"""Worker processes under limits: one dying or overrunning worker costs the file it was on, nothing more.

``Pool`` runs a job over chunks of items in worker processes. Each worker has an address-space
limit and a per-item CPU-time limit (backlint/pipeline/limits.py), answers after every item, and
marks in shared memory whether it is parsing. When a worker dies (a crash in native code, the
kernel's CPU limit, a kill from outside) or overruns the wall-clock backstop, the parent reads how it
ended, reports the item in flight through ``on_failure``, puts the rest of its chunk back in the
queue and starts a new worker. ``isolated`` runs one call in a fresh child the same way: the serial
path, standard input and the language server use it for a file the pre-checks find risky.

Workers ignore SIGINT (the parent decides) and turn SIGTERM into a clean exit; both wait (blocked)
while a worker starts, so that one arriving then never runs the parent's handlers in the worker. The
parent stops them on its way out, even when interrupted, and ``sweep`` removes what a killed worker
left behind. A worker also exits when its parent goes away (its end of the pipe reads end-of-file).
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import faulthandler
import multiprocessing
import os
import signal
import tempfile
import time
from collections.abc import Iterator, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any, Callable

from backlint.pipeline import limits as _limits
from backlint.pipeline.limits import Limits

# A worker that uses no CPU but does not answer (blocked) is stopped after this many times the
# time limit, plus a constant: on a loaded machine wall-clock time runs far ahead of CPU time.
BACKSTOP_FACTOR = 5
BACKSTOP_EXTRA = 30.0
STOP_WAIT = 2.0  # seconds a worker gets to exit cleanly before it is killed
_CRASH_SIGNALS = {"SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE", "SIGABRT"}
_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


@dataclasses.dataclass(frozen=True)
class Failure:
    """How a worker ended while on an item.

    ``kind``: "crash" (a fatal signal while parsing), "memory" (an allocation failed under the
    address-space limit), "time" (the CPU-time limit), or "lost" (anything else: a kill from outside,
    an exit, a crash outside the parser): the first three are the file's, the last is backlint's.
    """

    kind: str
    detail: str  # the signal or exit code, for messages


def classify(exitcode: int | None, phase: int, stderr_tail: str, *, timed_out: bool = False) -> Failure:
    if timed_out:
        return Failure("lost", "stopped: it did not answer within the wall-clock backstop")
    if exitcode is None:
        return Failure("lost", "stopped answering")
    if exitcode >= 0:
        return Failure("lost", f"exited with code {exitcode}")
    name = _limits.signal_name(-exitcode)
    if name == "SIGXCPU":
        return Failure("time", name)
    if "memory allocation of" in stderr_tail or ("MemoryError" in stderr_tail and phase != _limits.IDLE):
        return Failure("memory", name)
    if name in _CRASH_SIGNALS and phase == _limits.PARSING:
        return Failure("crash", name)
    return Failure("lost", f"killed by {name}")


def _worker_main(
    conn: Connection,
    job: Callable[[Any], Any],
    limits: Limits,
    cell: Any,
    stderr_fd: int | None,
    inherited: Sequence[int],
    initializer: Callable[..., None] | None,
    initargs: tuple[Any, ...],
) -> None:
    for fd in inherited:  # the parent's ends of every pipe: else a worker never sees its parent go
        with contextlib.suppress(OSError):
            os.close(fd)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_on_term)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)  # held while the parent started us
    if hasattr(signal, "SIGXCPU"):
        signal.signal(signal.SIGXCPU, signal.SIG_DFL)
    if faulthandler.is_enabled():
        faulthandler.disable()  # the parent reports a crash; a dump would reach the user's terminal
    if stderr_fd is not None:
        os.dup2(stderr_fd, 2)  # a native abort's last words, for ``classify``; not the user's terminal
        os.close(stderr_fd)
    _limits.phase = cell
    _limits.no_core_dumps()
    _limits.apply_memory_limit(limits.memory)
    if initializer is not None:
        initializer(*initargs)
    while True:
        try:
            chunk = conn.recv()
        except (EOFError, OSError):
            return
        if chunk is None:
            return
        for item in chunk:
            _limits.arm_kernel_cpu_limit(limits.time)
            result = job(item)
            _limits.set_phase(_limits.IDLE)
            try:
                conn.send(result)
            except (OSError, ValueError):
                return
            if _limits.exhausted:
                return  # after a MemoryError: the parent starts a fresh worker for the rest


def _exit_on_term(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds: an atomic write in progress removes its temporary file


@contextlib.contextmanager
def _stop_signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM wait in this block: a worker started here inherits them blocked and takes
    them once its own handlers are in place; the parent takes them once the worker is in its list."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@dataclasses.dataclass
class _Worker:
    process: Any
    conn: Connection
    cell: Any
    stderr: Any
    chunk: list[Any] = dataclasses.field(default_factory=list)
    answered: int = 0
    since: float = 0.0  # wall clock when the item in flight started


class Pool:
    """``size`` worker processes running ``job`` on items; see the module docstring."""

    def __init__(
        self,
        size: int,
        job: Callable[[Any], Any],
        limits: Limits,
        *,
        initializer: Callable[..., None] | None = None,
        initargs: tuple[Any, ...] = (),
        context: Any = None,
        sweep: Callable[[int], None] | None = None,
    ) -> None:
        self.size = max(1, size)
        self.job = job
        self.limits = limits
        self.initializer = initializer
        self.initargs = initargs
        self.context = context if context is not None else multiprocessing.get_context()
        self.forked = self.context.get_start_method() == "fork"
        self.sweep = sweep
        self.workers: list[_Worker] = []
        self.started = 0  # workers started, replacements included

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(graceful=exc[0] is None)

    # -- workers ---------------------------------------------------------------------------------

    def _start(self) -> _Worker:
        parent_end, child_end = self.context.Pipe(duplex=True)
        cell = self.context.RawValue("b", _limits.IDLE)
        # Unlinked already: nothing to clean up; closed in _retire.
        stderr = tempfile.TemporaryFile() if self.forked else None  # noqa: SIM115
        inherited = [w.conn.fileno() for w in self.workers] + [parent_end.fileno()] if self.forked else []
        if stderr is not None:
            inherited += [w.stderr.fileno() for w in self.workers if w.stderr is not None]
        process = self.context.Process(
            target=_worker_main,
            args=(
                child_end,
                self.job,
                self.limits,
                cell,
                stderr.fileno() if stderr is not None else None,
                inherited,
                self.initializer,
                self.initargs,
            ),
            daemon=True,
        )
        with _stop_signals_held():
            process.start()
            child_end.close()
            worker = _Worker(process, parent_end, cell, stderr)
            self.workers.append(worker)
            self.started += 1
        return worker

    def _retire(self, worker: _Worker, *, kill: bool) -> tuple[int | None, str]:
        """Stop (if ``kill``) and reap a worker; its exit code and the end of what it wrote to stderr."""
        if kill and worker.process.is_alive():
            worker.process.kill()
        worker.process.join(STOP_WAIT)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join()
        tail = ""
        if worker.stderr is not None:
            with contextlib.suppress(OSError):
                size = os.fstat(worker.stderr.fileno()).st_size
                tail = os.pread(worker.stderr.fileno(), 2048, max(0, size - 2048)).decode("utf-8", "replace")
            worker.stderr.close()
        worker.conn.close()
        self.workers.remove(worker)
        if self.sweep is not None and worker.process.pid is not None:
            self.sweep(worker.process.pid)
        return worker.process.exitcode, tail

    def close(self, *, graceful: bool = True) -> None:
        """Stop every worker: asked to finish when all went well, else told to stop (SIGTERM), then killed."""
        for worker in list(self.workers):
            if graceful:
                with contextlib.suppress(OSError, ValueError):
                    worker.conn.send(None)
            else:
                with contextlib.suppress(OSError):
                    worker.process.terminate()
        deadline = time.monotonic() + STOP_WAIT
        for worker in list(self.workers):
            worker.process.join(max(0.0, deadline - time.monotonic()))
            self._retire(worker, kill=True)

    # -- running ---------------------------------------------------------------------------------

    def run(self, chunks: Sequence[list[Any]], on_failure: Callable[[Any, Failure], Any]) -> Iterator[Any]:
        """Each item's result (or ``on_failure(item, failure)``), in the order they finish."""
        queue = collections.deque(chunk for chunk in chunks if chunk)
        busy: dict[Connection, _Worker] = {}
        idle: list[_Worker] = list(self.workers)
        while queue or busy:
            while queue and (idle or len(self.workers) < self.size):
                worker = idle.pop() if idle else self._start()
                worker.chunk, worker.answered, worker.since = queue.popleft(), 0, time.monotonic()
                with contextlib.suppress(OSError, ValueError):  # dead already: found below as end-of-file
                    worker.conn.send(worker.chunk)
                busy[worker.conn] = worker
            for conn in wait(list(busy), timeout=self._next_timeout(busy.values())):
                worker = busy[conn]  # type: ignore[index]
                try:
                    result = worker.conn.recv()
                except (EOFError, OSError):
                    del busy[worker.conn]
                    yield from self._lost(worker, queue, on_failure, timed_out=False)
                    continue
                yield result
                worker.answered += 1
                worker.since = time.monotonic()
                if worker.answered == len(worker.chunk):
                    del busy[worker.conn]
                    idle.append(worker)
            for worker in [w for w in busy.values() if self._overdue(w)]:
                del busy[worker.conn]
                yield from self._lost(worker, queue, on_failure, timed_out=True)
            for worker in [w for w in idle if not w.process.is_alive()]:
                idle.remove(worker)  # retired itself (after a MemoryError)
                self._retire(worker, kill=False)

    def _backstop(self) -> float | None:
        if self.limits.time is None:
            return None
        return self.limits.time * BACKSTOP_FACTOR + BACKSTOP_EXTRA

    def _overdue(self, worker: _Worker) -> bool:
        backstop = self._backstop()
        return backstop is not None and time.monotonic() - worker.since > backstop

    def _next_timeout(self, busy: Any) -> float | None:
        backstop = self._backstop()
        if backstop is None:
            return None
        soonest = min((w.since + backstop for w in busy), default=time.monotonic() + backstop)
        return max(0.0, soonest - time.monotonic()) + 0.01

    def _lost(
        self,
        worker: _Worker,
        queue: collections.deque[list[Any]],
        on_failure: Callable[[Any, Failure], Any],
        *,
        timed_out: bool,
    ) -> Iterator[Any]:
        phase = worker.cell.value
        exitcode, tail = self._retire(worker, kill=True)
        remaining = worker.chunk[worker.answered :]
        if not remaining:
            return
        if exitcode == 0 and worker.answered and not timed_out:
            queue.appendleft(remaining)  # it retired itself after a MemoryError: the rest goes on elsewhere
            return
        failure = classify(None if timed_out else exitcode, phase, tail, timed_out=timed_out)
        if remaining[1:]:
            queue.appendleft(remaining[1:])
        yield on_failure(remaining[0], failure)


# -- one call in a child process --------------------------------------------------------------------


_isolated_function: Callable[..., Any] | None = None


def _call(arguments: tuple[Any, ...]) -> Any:
    assert _isolated_function is not None
    return _isolated_function(*arguments)


def _set_function(function: Callable[..., Any]) -> None:
    global _isolated_function
    _isolated_function = function


def isolated(function: Callable[..., Any], arguments: tuple[Any, ...], limits: Limits, context: str | None) -> Any:
    """``function(*arguments)`` in a fresh child process under ``limits``: its result, or the Failure."""
    ctx = multiprocessing.get_context(context)
    outcome: list[Any] = []
    with Pool(1, _call, limits, initializer=_set_function, initargs=(function,), context=ctx) as pool:
        outcome.extend(pool.run([[arguments]], lambda item, failure: failure))
    return outcome[0]
