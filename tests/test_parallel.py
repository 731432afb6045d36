"""Parallel runs give exactly the serial report; small runs never start workers; the pre-filter loses nothing."""

from __future__ import annotations

import io
import multiprocessing
import os
import shutil
from pathlib import Path

import click
import pytest
from conftest import FIXTURES

import backlint.pipeline.cache
import backlint.pipeline.engine
import backlint.pipeline.settings
from backlint.commands.check import ProgressBar
from backlint.pipeline.discovery import SourceFile
from backlint.pipeline.engine import POOL_MIN_BYTES, _chunks

_NOT_SOURCE = shutil.ignore_patterns("__pycache__", "*.pyc")
SWALLOW = "def run(job):\n    try:\n        job()\n    except Exception:\n        pass\n"


@pytest.fixture
def corpus(project):  # type: ignore[no-untyped-def]
    """The fixture apps and Flask's own sources in a scratch project: real code, enough for a pool."""
    shutil.copytree(FIXTURES, project.root / "fixtures")
    shutil.copytree(Path(click.__file__).parent, project.root / "fixtures" / "click", ignore=_NOT_SOURCE)
    size = sum(p.stat().st_size for p in (project.root / "fixtures").rglob("*.py"))
    assert size > 2 * POOL_MIN_BYTES, "the corpus must be big enough to be linted by workers"
    return project


@pytest.fixture
def pool_calls(monkeypatch):  # type: ignore[no-untyped-def]
    calls: list[int] = []
    real = backlint.pipeline.engine._in_pool

    def spy(todo, *args):  # type: ignore[no-untyped-def]
        calls.append(len(todo))
        return real(todo, *args)

    monkeypatch.setattr(backlint.pipeline.engine, "_in_pool", spy)
    return calls


def test_parallel_report_is_identical_to_serial(corpus, pool_calls) -> None:  # type: ignore[no-untyped-def]
    args = ("fixtures", "--select", "ALL", "--no-cache", "--format", "json")
    serial = corpus.lint(*args, "-j", "1")
    assert pool_calls == []
    parallel = corpus.lint(*args, "-j", "2")
    assert pool_calls and pool_calls[0] > 1
    assert serial.json()["findings"], "the fixtures are full of findings"
    assert parallel.stdout == serial.stdout
    assert parallel.stderr == serial.stderr
    assert parallel.exit_code == serial.exit_code


def test_parallel_cold_then_warm_is_identical(corpus, pool_calls, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Pinned: in a shared checkout another developer's edit between the two runs would change it.
    monkeypatch.setattr(backlint.pipeline.cache, "code_fingerprint", lambda: "pinned")
    args = ("fixtures", "--select", "ALL", "--format", "sarif")
    cold = corpus.lint(*args, "-j", "2")
    warm = corpus.lint(*args, "-j", "2")
    assert len(pool_calls) == 1, "the warm run finds everything in the cache"
    assert warm.stdout == cold.stdout


def test_results_are_identical_without_the_prefilter(project, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Trigger tokens only skip files no rule could fire on: parsing everything finds nothing more."""
    shutil.copytree(FIXTURES, project.root / "fixtures")
    args = ("fixtures", "--select", "ALL", "--no-cache", "--format", "json")
    with_prefilter = project.lint(*args)
    monkeypatch.setenv(backlint.pipeline.settings.NO_PREFILTER_ENV, "1")
    without = project.lint(*args)
    assert without.stdout == with_prefilter.stdout


def test_a_few_small_files_are_linted_in_process(project, pool_calls) -> None:  # type: ignore[no-untyped-def]
    for n in range(6):
        project.write(f"job_{n}.py", SWALLOW)
    result = project.lint(".", "-j", "4", "--no-cache")
    assert result.exit_code == 1
    assert pool_calls == [], "pre-commit's few files must not pay for starting workers"


@pytest.mark.skipif(multiprocessing.get_start_method() != "fork", reason="the patch reaches workers only when forked")
def test_a_dying_worker_costs_the_file_it_was_on_and_nothing_more(corpus, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The pool is rebuilt: the files of the dead worker's chunk after the one in flight, and every
    later chunk, are linted by a new worker (ProcessPoolExecutor failed every pending file)."""
    real = backlint.pipeline.engine.lint_text

    def lint_or_die(source, text, settings):  # type: ignore[no-untyped-def]
        if source.display.endswith("boom.py"):
            os._exit(3)  # as if killed by the OOM killer
        return real(source, text, settings)

    args = ("fixtures", "--no-cache", "-j", "2", "--format", "concise", "--quiet")  # the findings, no summary
    corpus.write("fixtures/boom.py", "x = 1\n")  # small: it shares a chunk with other files
    serial = corpus.lint("fixtures", "--no-cache", "-j", "1", "--format", "concise", "--quiet")
    monkeypatch.setattr(backlint.pipeline.engine, "lint_text", lint_or_die)
    result = corpus.lint(*args)
    assert result.exit_code == 2
    assert result.stderr == (
        "backlint: error: fixtures/boom.py: internal error: the worker process was lost (exited with code 3)\n"
    )
    assert result.stdout == serial.stdout, "every other file is linted"


def test_chunks_cover_every_file_once_largest_first() -> None:
    todo = [
        (n, SourceFile(Path(f"f{n}.py"), f"f{n}.py", f"f{n}.py"), size)
        for n, size in enumerate([5, 900, 40, 40, 7000, 1])
    ]
    chunks = _chunks(todo, 2)
    positions = [position for chunk in chunks for position, _ in chunk]
    assert sorted(positions) == list(range(6))
    assert positions[:2] == [4, 1]
    assert chunks[0] == [(4, todo[4][1])], "a file bigger than a chunk's share travels alone"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_waits_then_redraws_in_place_and_erases_itself(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("TERM", raising=False)
    now = [0.0]
    stream = _Terminal()
    bar = ProgressBar(stream, delay=0.5, clock=lambda: now[0])
    assert ProgressBar.wanted(stream) and not ProgressBar.wanted(io.StringIO())
    bar(1, 100)
    assert stream.getvalue() == "", "quick runs never show a bar"
    now[0] = 0.6
    bar(50, 100)
    now[0] = 0.65
    bar(51, 100)  # throttled: at most ten redraws a second
    now[0] = 0.66
    bar(100, 100)  # the last update is always drawn
    bar.close()
    frames = stream.getvalue().split("\r")
    assert frames[1] == "\033[Kbacklint: [===============>              ] 50/100 files"
    assert frames[2].endswith("] 100/100 files") and "=" * 30 in frames[2]
    assert frames[-1] == "\033[K"


def test_no_progress_bar_when_stderr_is_not_a_terminal(project) -> None:  # type: ignore[no-untyped-def]
    project.write("job.py", SWALLOW)
    result = project.lint(".")
    assert result.stderr == ""


def test_parsing_without_node_validation_builds_the_same_trees() -> None:
    """The per-file stage skips libcst's re-validation of parsed nodes (~20% of a parse)."""
    import libcst

    from backlint.pipeline.filestage import _parse_unvalidated

    click_sources = Path(click.__file__).parent
    sources = [*FIXTURES.rglob("*.py"), click_sources / "core.py", click_sources / "types.py"]
    assert len(sources) > 30
    for path in sources:
        text = path.read_text("utf-8")
        assert _parse_unvalidated(text).deep_equals(libcst.parse_module(text)), path
    with pytest.raises(libcst.CSTValidationError):  # validation is back for trees built by hand
        libcst.Name("not an identifier")


def test_a_files_tree_does_not_outlive_its_lint() -> None:
    """Per-file rule state lives on the file's context: nothing keeps a linted tree alive (memory),
    and its cycles are collected with the file instead of aging into costly full collections."""
    import gc

    import libcst as cst

    from backlint.api import settings_for
    from backlint.core.catalog import load_catalog
    from backlint.core.config import Config
    from backlint.pipeline.engine import lint_text

    settings = settings_for(Config(root=Path.cwd(), source=None, select=("ALL",)), load_catalog())
    sources = [FIXTURES / "sql" / "sqlite_users.py", FIXTURES / "passwords" / "flask_app" / "accounts" / "views.py"]
    gc.collect()
    modules_before = sum(1 for o in gc.get_objects() if isinstance(o, cst.Module))
    for path in sources:
        source = SourceFile(path=path, display=path.name, relative=path.name)
        result = lint_text(source, path.read_text("utf-8"), settings)
        assert result.findings  # the SQL and password rules ran on these files
        live = sum(1 for o in gc.get_objects() if isinstance(o, cst.Module))
        assert live == modules_before, "a linted module is still reachable (or waiting for a full collection)"
