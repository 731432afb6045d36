"""Workers under limits: a crash, a memory blow-up or an overrun costs its file (BL000, exit 1); a
worker lost for another reason costs its file (internal error, exit 2); signals end the run cleanly.

The hostile parses are simulated where the real ones would cost minutes (a segfault is a segfault,
whoever raises it); the memory and time limits are exercised with real files under lowered limits.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, run_cli, run_process

import backlint.pipeline.engine
import backlint.pipeline.filestage
from backlint.pipeline import limits
from backlint.pipeline.workers import Failure, Pool, classify

# No token of a fact collector occurs in it ("run" would be one of the SQL helpers' collector): a file
# that crashes then costs no project facts, and the run has no "not judged" notice to give.
SWALLOW = "def attempt(job):\n    try:\n        job()\n    except Exception:\n        pass\n"
forked = pytest.mark.skipif(
    multiprocessing.get_start_method() != "fork", reason="the patch reaches workers only when forked"
)
posix = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and resource limits")


def _tree(root: Path, files: int = 6) -> None:
    for n in range(files):
        (root / f"job_{n}.py").write_text(SWALLOW)


def _by_path(result) -> dict[str, list[tuple[str, str]]]:  # type: ignore[no-untyped-def]
    out: dict[str, list[tuple[str, str]]] = {}
    for f in result.json()["findings"]:
        out.setdefault(f["path"], []).append((f["rule_id"], f["message"]))
    return out


@pytest.fixture
def any_size_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backlint.pipeline.engine, "POOL_MIN_BYTES", 0)


def _crash_parsing(name: str, monkeypatch: pytest.MonkeyPatch, how: int = signal.SIGSEGV) -> None:
    real = backlint.pipeline.filestage._parse_unvalidated

    def parse(text: str):  # type: ignore[no-untyped-def]
        if "# crash here" in text:
            os.kill(os.getpid(), how)
        return real(text)

    monkeypatch.setattr(backlint.pipeline.filestage, "_parse_unvalidated", parse)


@posix
@forked
def test_a_parser_crash_in_a_worker_is_a_bl000_naming_the_signal(tmp_path, monkeypatch, any_size_pool) -> None:  # type: ignore[no-untyped-def]
    _tree(tmp_path)
    (tmp_path / "crash.py").write_text("# crash here\n" + SWALLOW)
    _crash_parsing("crash.py", monkeypatch)
    result = run_cli(".", "--no-cache", "-j", "2", "--format", "json", cwd=tmp_path)
    assert result.exit_code == 1, result.stderr
    found = _by_path(result)
    assert found["crash.py"] == [("BL000", "cannot parse: libcst's parser crashed (SIGSEGV)")]
    assert all(found[f"job_{n}.py"] == [("BL402", found["job_0.py"][0][1])] for n in range(6))
    # (a file that does not parse may hold BL402's project facts: only a "not judged" note may follow)
    assert [n for n in result.json()["notices"] if n["level"] == "error"] == []


@posix
@forked
def test_a_crash_outside_the_parser_is_an_internal_error_of_that_file(tmp_path, monkeypatch, any_size_pool) -> None:  # type: ignore[no-untyped-def]
    _tree(tmp_path)
    (tmp_path / "cursed.py").write_text(SWALLOW)
    real = backlint.pipeline.engine.lint_text

    def lint(source, text, settings):  # type: ignore[no-untyped-def]
        if source.display == "cursed.py":
            os.kill(os.getpid(), signal.SIGSEGV)
        return real(source, text, settings)

    monkeypatch.setattr(backlint.pipeline.engine, "lint_text", lint)
    result = run_cli(".", "--no-cache", "-j", "2", "--format", "json", cwd=tmp_path)
    assert result.exit_code == 2
    assert set(_by_path(result)) == {f"job_{n}.py" for n in range(6)}
    (notice,) = [n for n in result.json()["notices"] if n["level"] == "error"]  # (and BL402's "not judged")
    assert notice == {
        "path": "cursed.py",
        "line": None,
        "level": "error",
        "message": "internal error: the worker process was lost (killed by SIGSEGV)",
    }


@posix
@forked
def test_a_risky_file_in_a_serial_run_is_parsed_in_a_child(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """-j 1: the process that reports must survive the parser: the risky file goes to a child."""
    _tree(tmp_path, files=2)
    (tmp_path / "crash.py").write_text("# crash here\n" + SWALLOW)
    _crash_parsing("crash.py", monkeypatch)
    monkeypatch.setattr(backlint.pipeline.filestage, "_risky", lambda text: "# crash here" in text)
    result = run_cli(".", "--no-cache", "-j", "1", "--format", "json", cwd=tmp_path)
    assert result.exit_code == 1, result.stderr
    found = _by_path(result)
    assert found["crash.py"] == [("BL000", "cannot parse: libcst's parser crashed (SIGSEGV)")]
    assert set(found) == {"crash.py", "job_0.py", "job_1.py"}


@posix
@forked
def test_a_risky_file_that_parses_gets_the_same_findings_in_a_child(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "app.py").write_text(SWALLOW)
    serial = run_cli(".", "--no-cache", "-j", "1", "--format", "json", cwd=tmp_path)
    children: list[int] = []
    real = backlint.pipeline.filestage.isolated

    def spy(*args):  # type: ignore[no-untyped-def]
        children.append(1)
        return real(*args)

    monkeypatch.setattr(backlint.pipeline.filestage, "isolated", spy)
    monkeypatch.setattr(backlint.pipeline.filestage, "_risky", lambda text: True)
    isolated = run_cli(".", "--no-cache", "-j", "1", "--format", "json", cwd=tmp_path)
    assert children == [1]
    assert isolated.stdout == serial.stdout


def _big_list(items: int) -> str:
    return SWALLOW + "VALUES = [\n" + "".join(f"    {n},\n" for n in range(items)) + "]\n"


@posix
@pytest.mark.skipif(not limits.memory_limit_supported(), reason="no address-space limit on this platform")
def test_a_file_over_the_memory_limit_is_a_bl000_and_the_others_are_linted(tmp_path: Path) -> None:
    """A real file: libcst needs ~130 MB more for a 40,000-item list; the workers get 100 MB in all
    (about 50 MB are backlint itself). The native parser aborts when an allocation fails."""
    _tree(tmp_path, files=20)
    (tmp_path / "pyproject.toml").write_text("[tool.backlint]\nmemory-limit = 100\n")
    (tmp_path / "big.py").write_text(_big_list(40_000))
    result = run_process(".", "--no-cache", "-j", "2", "--format", "json", cwd=tmp_path)
    assert result.exit_code == 1, result.stderr
    assert "Traceback" not in result.stderr and "memory allocation" not in result.stderr
    found = _by_path(result)
    assert found["big.py"] == [("BL000", "cannot analyse: over the memory limit (100 MB; `memory-limit` sets it)")]
    assert len(found) == 21


@posix
def test_a_file_over_the_time_limit_is_a_bl000_in_a_worker_and_in_process(tmp_path: Path) -> None:
    """6,000 functions (400 kB) take several seconds of CPU to parse alone; the limit is 2 s (the first
    file of a process also pays for imports and tables built on first use: about 0.3 s)."""
    _tree(tmp_path, files=20)
    (tmp_path / "pyproject.toml").write_text("[tool.backlint]\ntime-limit = 2\n")
    (tmp_path / "slow.py").write_text(SWALLOW * 6_000)
    message = "cannot analyse: over the time limit (2 s of CPU time; `time-limit` sets it)"
    for jobs in ("2", "1"):
        result = run_process(".", "--no-cache", "-j", jobs, "--format", "json", cwd=tmp_path)
        assert result.exit_code == 1, result.stderr
        found = _by_path(result)
        assert found["slow.py"] == [("BL000", message)], jobs
        assert len(found) == 21


def test_limits_are_configuration_keys_with_checked_values(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(SWALLOW)
    for line, problem in (
        ("memory-limit = -1", "expected a number of megabytes (0: no limit), got -1"),
        ("memory-limit = '1GB'", "expected a number of megabytes (0: no limit), got '1GB'"),
        ("time-limit = true", "expected a number of seconds (0: no limit), got True"),
        ("time-limit = nan", "expected a number of seconds (0: no limit), got nan"),
    ):
        (tmp_path / "pyproject.toml").write_text(f"[tool.backlint]\n{line}\n")
        result = run_cli(".", cwd=tmp_path)
        assert result.exit_code == 2
        key = line.split(" =")[0]
        assert f"tool.backlint.{key}: {problem}" in result.stderr
    (tmp_path / "pyproject.toml").write_text("[tool.backlint]\nmemory-limit = 0\ntime-limit = 0\n")
    assert run_cli(".", "--no-cache", cwd=tmp_path).exit_code == 1


def test_how_a_lost_worker_is_told_apart() -> None:
    assert classify(-signal.SIGSEGV, limits.PARSING, "") == Failure("crash", "SIGSEGV")
    assert classify(-signal.SIGABRT, limits.PARSING, "memory allocation of 64 bytes failed\n").kind == "memory"
    assert classify(-signal.SIGXCPU, limits.ANALYSING, "") == Failure("time", "SIGXCPU")
    assert classify(-signal.SIGSEGV, limits.ANALYSING, "") == Failure("lost", "killed by SIGSEGV")
    assert classify(-signal.SIGKILL, limits.PARSING, "") == Failure("lost", "killed by SIGKILL")
    assert classify(3, limits.IDLE, "") == Failure("lost", "exited with code 3")
    assert classify(None, limits.PARSING, "", timed_out=True).kind == "lost"


def _double(item: int) -> int:
    if item == 13:
        os._exit(9)
    return item * 2


@posix
def test_the_pool_replaces_a_lost_worker_and_requeues_the_rest_of_its_chunk() -> None:
    chunks = [list(range(10, 20)), list(range(20, 30)), list(range(0, 10))]
    with Pool(1, _double, limits.Limits(None, None)) as pool:
        results = list(pool.run(chunks, lambda item, failure: ("lost", item, failure.detail)))
        started = pool.started
    assert sorted(r for r in results if isinstance(r, int)) == [2 * n for n in range(30) if n != 13]
    assert [r for r in results if not isinstance(r, int)] == [("lost", 13, "exited with code 9")]
    assert started == 2, "one replacement worker, for the rest of the chunk and the chunks after"


# -- signals -------------------------------------------------------------------------------------

_SCRIPT_START = """
import os, signal, sys, time
# SIGINT at its default, as a terminal starts a command in the foreground. Started with it ignored (a
# background job of a non-interactive shell: `(pytest ... &)`), Python, and so backlint, keep ignoring it.
signal.signal(signal.SIGINT, signal.default_int_handler)
import backlint.pipeline.engine as engine
marker = sys.argv[1]
"""
_SCRIPT_END = """
engine.POOL_MIN_BYTES = 0
sys.argv = ["backlint", ".", "-j", "2", "--format", "json"]
from backlint.cli import main
main()
"""


def _script(setup: str) -> str:
    """A backlint run over the current directory with ``-j 2``, after ``setup``."""
    return _SCRIPT_START + setup + _SCRIPT_END


_BLOCKING_WORKER = _script("""
real_init = engine._init_worker

def blocking_replace(src, dst):
    # A worker writing a cache entry: its temporary file exists; it blocks until a signal comes.
    with open(marker, "a") as out:
        out.write(f"{os.getpid()} {src}\\n")
    time.sleep(600)

def init(*args):
    real_init(*args)
    os.replace = blocking_replace

engine._init_worker = init
""")
_STARTING_WORKER = _script("""
import multiprocessing.util

def starting(_):
    # A worker just forked, before any of backlint's code runs in it: it blocks until a signal comes.
    with open(marker, "a") as out:
        out.write(f"{os.getpid()} starting\\n")
    time.sleep(600)

class Hook:
    pass

hook = Hook()
multiprocessing.util.register_after_fork(hook, starting)
""")


def _run_until_blocked(
    tmp_path: Path, script: str = _BLOCKING_WORKER
) -> tuple[subprocess.Popen[bytes], list[tuple[int, str]]]:
    _tree(tmp_path, files=8)
    (tmp_path / "pyproject.toml").write_text("[tool.backlint]\n")  # the root: nothing above it counts
    marker = tmp_path / "blocked.txt"
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(marker)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        lines = marker.read_text().split("\n") if marker.exists() else []
        blocked = [(int(line.split()[0]), line.split(maxsplit=1)[1]) for line in lines if line.strip()]
        if len(blocked) >= 2:
            return proc, blocked
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    _stop_group(proc)
    raise AssertionError("the workers never blocked")


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill backlint and its workers if backlint is still running: a failed test leaves no process behind."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/status").exists() and "zombie" in Path(f"/proc/{pid}/status").read_text()


@posix
@pytest.mark.parametrize(
    ("sent", "code", "said"), [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")]
)
def test_a_signal_stops_the_workers_removes_temporary_files_and_exits_128_plus_its_number(
    tmp_path: Path, sent: int, code: int, said: str
) -> None:
    proc, blocked = _run_until_blocked(tmp_path)
    try:
        assert all(Path(temporary).exists() for _, temporary in blocked)
        if sent == signal.SIGINT:
            os.killpg(proc.pid, sent)  # Ctrl-C: the terminal signals the whole process group
        else:
            proc.send_signal(sent)  # a CI runner cancelling the job signals backlint itself
        _, err = proc.communicate(timeout=60)
    finally:
        _stop_group(proc)
    assert proc.returncode == code, err
    assert err.decode() == f"backlint: {said}\n"
    assert all(_gone(pid) for pid, _ in blocked)
    assert [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")] == []


@posix
@forked
@pytest.mark.parametrize(
    ("sent", "code", "said"), [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")]
)
def test_a_signal_while_the_workers_start_stops_them_without_a_traceback(
    tmp_path: Path, sent: int, code: int, said: str
) -> None:
    """Caught before a worker has its own handlers, a signal would run the parent's in it: Ctrl-C
    would print the worker's KeyboardInterrupt on the user's terminal."""
    proc, starting = _run_until_blocked(tmp_path, _STARTING_WORKER)
    try:
        os.killpg(proc.pid, sent)  # Ctrl-C, or `kill -TERM 0` in a script: the whole process group
        _, err = proc.communicate(timeout=60)
    finally:
        _stop_group(proc)
    assert proc.returncode == code, err
    assert err.decode() == f"backlint: {said}\n"
    assert all(_gone(pid) for pid, _ in starting)


@posix
@forked
def test_a_worker_killed_mid_write_leaves_no_temporary_file(tmp_path, monkeypatch, any_size_pool) -> None:  # type: ignore[no-untyped-def]
    _tree(tmp_path)
    real_init = backlint.pipeline.engine._init_worker
    real_replace = os.replace

    def die_replacing(src: str, dst: str) -> None:
        if Path(dst).parent.name == "files":  # dies writing a cache entry; the rest (the tag) is written
            os.kill(os.getpid(), signal.SIGKILL)
        real_replace(src, dst)

    def init(*args):  # type: ignore[no-untyped-def]
        real_init(*args)
        monkeypatch.setattr(os, "replace", die_replacing)

    monkeypatch.setattr(backlint.pipeline.engine, "_init_worker", init)
    result = run_cli(".", "-j", "2", "--format", "json", cwd=tmp_path)
    assert result.exit_code == 2
    assert {n["message"] for n in json.loads(result.stdout)["notices"] if n["level"] == "error"} == {
        "internal error: the worker process was lost (killed by SIGKILL)"
    }
    assert [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")] == []


@posix
def test_the_time_limit_wins_over_an_error_raised_while_unwinding_from_it() -> None:
    """The alarm can land inside a library's context manager whose cleanup then fails (libcst's
    position recorder raises KeyError while unwinding): the file is over its time limit, not a bug."""

    @contextlib.contextmanager
    def fragile_cleanup():  # type: ignore[no-untyped-def]
        table = {"node": 1}
        try:
            yield
        finally:
            del table["node"]
            del table["node"]  # KeyError, as libcst's record_syntactic_position raises

    with pytest.raises(limits.TimeLimitExceeded), limits.cpu_time_limit(0.05), fragile_cleanup():
        while True:
            pass
    # without the alarm, the cleanup's own error stays what it is
    with pytest.raises(KeyError), limits.cpu_time_limit(5), fragile_cleanup():
        pass
