"""Shared helpers: run the real CLI, in-process (fast) or as a subprocess (exact)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from backlint.cli import main

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# A swallowed error (BL402) and the same function handled: the smallest change of answer, for the
# tests that drive pre-commit, the GitHub action and the language server.
SWALLOWED = """\
def mark_paid(db, order):
    try:
        db.commit()
    except Exception:
        pass
"""
HANDLED = """\
import logging

logger = logging.getLogger(__name__)


def mark_paid(db, order):
    try:
        db.commit()
    except Exception:
        logger.exception("could not mark order %s paid", order.id)
        raise
"""


@dataclasses.dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def _runner() -> CliRunner:
    """A runner that keeps stderr apart: click 8.1 (the last for Python 3.9) mixes it in by default."""
    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:  # click >= 8.2: always separate, no such argument
        return CliRunner()


def debug_shop(root: Path) -> Path:
    """The copy of fixtures/endpoints_fastapi at ``root``, its app built with ``debug=True``: FastAPI answers
    an unhandled error with its traceback then, so BL401 judges its endpoints by default (orders.py:23,
    reports.py:58) — the project finding the tests of partial runs, caches, baselines and editors follow."""
    main = root / "shopapi" / "main.py"
    text = main.read_text(encoding="utf-8")
    built = 'app = FastAPI(title="shop", lifespan=lifespan)'
    assert built in text
    main.write_text(text.replace(built, 'app = FastAPI(title="shop", lifespan=lifespan, debug=True)'), encoding="utf-8")
    return root


def run_cli(*args: str, cwd: Path | None = None, input: str | None = None) -> CliResult:
    """Invoke ``backlint`` in-process through click, from ``cwd``."""
    old = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        result = _runner().invoke(main, list(args), input=input, catch_exceptions=False)
    finally:
        os.chdir(old)
    return CliResult(result.exit_code, result.stdout, result.stderr)


def run_process(
    *args: str, cwd: Path | None = None, input: bytes | None = None, env: dict[str, str] | None = None
) -> CliResult:
    """Invoke ``python -m backlint`` as a real process."""
    proc = subprocess.run(
        [sys.executable, "-m", "backlint", *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        env={**os.environ, **(env or {})},
        timeout=300,
        check=False,
    )
    return CliResult(proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"))


@pytest.fixture
def project(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A scratch project directory; ``project.write(rel, text)`` adds files.

    Its ``pyproject.toml`` holds an empty ``[tool.backlint]``: the directory is the project root
    (core/config.py ``find_project_root``), so files are named relative to it as in a real project.
    A test may overwrite it with its own configuration.
    """
    (tmp_path / "pyproject.toml").write_text("[tool.backlint]\n", encoding="utf-8")

    class Project:
        root = tmp_path

        def write(self, relative: str, text: str) -> Path:
            path = tmp_path / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return path

        def lint(self, *args: str) -> CliResult:
            return run_cli(*args, cwd=tmp_path)

    return Project()
