"""backlint's pre-commit hooks, run by the real pre-commit from this repository on scratch git repos.

pre-commit builds the hook's virtualenv with pip from the hook repository (PyPI must be reachable).
``try-repo`` always builds into a throw-away store; installed hooks build once per session into a
shared ``PRE_COMMIT_HOME``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import HANDLED, IN_CI, SWALLOWED

ROOT = Path(__file__).resolve().parent.parent

PYPROJECT = """\
[project]
name = "shop"
version = "1.0"

[tool.backlint]
extend-exclude = ["vendor"]
per-file-ignores = { "shop/legacy.py" = ["BL402"] }
"""


def _require(ok: bool, reason: str) -> None:
    """Skip on a developer machine that lacks the tool; in CI a missing tool is a failure."""
    if not ok:
        if IN_CI:
            pytest.fail(f"{reason} (CI must run this test)")
        pytest.skip(reason)


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def _git(cwd: Path, env: dict[str, str], *args: str) -> str:
    proc = _run(["git", *args], cwd, env, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout.strip()


@pytest.fixture(scope="session")
def base_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Git isolated from the user's config (a global core.hooksPath would stop `pre-commit install`)."""
    _require(shutil.which("git") is not None, "git is not installed")
    try:
        import pre_commit  # noqa: F401
    except ImportError:
        _require(False, "pre-commit is not installed (it is in the `test` extra)")
    home = tmp_path_factory.mktemp("git-home")
    (home / "gitconfig").write_text("[init]\n\tdefaultBranch = main\n", encoding="utf-8")
    return {
        **os.environ,
        "GIT_CONFIG_GLOBAL": str(home / "gitconfig"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "dev",
        "GIT_AUTHOR_EMAIL": "dev@example.com",
        "GIT_COMMITTER_NAME": "dev",
        "GIT_COMMITTER_EMAIL": "dev@example.com",
        "PRE_COMMIT_COLOR": "never",
        "PRE_COMMIT_HOME": str(tmp_path_factory.mktemp("pre-commit-home")),
    }


@pytest.fixture(scope="session")
def hook_repo(base_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """(path, rev) of this repository for pre-commit: HEAD of a clean checkout (CI's fresh clone);
    with uncommitted work, a commit of the working tree in a scratch copy, so the hooks run the code
    being tested."""
    _require((ROOT / ".git").exists(), f"{ROOT} is not a git checkout")
    if not _git(ROOT, base_env, "status", "--porcelain"):
        return ROOT, _git(ROOT, base_env, "rev-parse", "HEAD")
    snapshot = tmp_path_factory.mktemp("backlint-hook-repo")
    listed = _git(ROOT, base_env, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, snapshot / name)
    _git(snapshot, base_env, "init", "-q")
    _git(snapshot, base_env, "add", "-A")
    _git(snapshot, base_env, "commit", "-q", "-m", "working tree of backlint under test")
    return snapshot, _git(snapshot, base_env, "rev-parse", "HEAD")


def _scratch_repo(path: Path, env: dict[str, str], files: dict[str, str]) -> Path:
    path.mkdir()
    _git(path, env, "init", "-q")
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text, encoding="utf-8")
    _git(path, env, "add", "-A")
    return path


def _pre_commit(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return _run([sys.executable, "-m", "pre_commit", *args], cwd, env)


def test_hook_manifest_is_valid(base_env: dict[str, str]) -> None:
    proc = _pre_commit(ROOT, base_env, "validate-manifest", ".pre-commit-hooks.yaml")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_try_repo_blocks_on_a_finding_and_honours_the_projects_config(
    base_env: dict[str, str], hook_repo: tuple[Path, str], tmp_path: Path
) -> None:
    repo = _scratch_repo(
        tmp_path / "shop",
        base_env,
        {
            "pyproject.toml": PYPROJECT,
            "shop/orders.py": SWALLOWED,
            "shop/payments.py": HANDLED,
            "shop/legacy.py": SWALLOWED,  # per-file-ignores
            "vendor/client.py": SWALLOWED,  # excluded: pre-commit passes it, --force-exclude drops it
            "notes.txt": SWALLOWED,  # not Python: types_or keeps it away from the hook
        },
    )
    path, rev = hook_repo
    proc = _pre_commit(repo, base_env, "try-repo", str(path), "backlint", "--ref", rev, "--all-files")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    assert "backlint" in output and "Failed" in output
    assert "shop/orders.py:4:5: BL402 " in output
    for quiet in ("shop/payments.py", "shop/legacy.py", "vendor/client.py", "notes.txt"):
        assert quiet not in output, output


def test_installed_hook_blocks_the_commit_then_lets_the_fix_through(
    base_env: dict[str, str], hook_repo: tuple[Path, str], tmp_path: Path
) -> None:
    path, rev = hook_repo
    config = f"repos:\n- repo: {path}\n  rev: {rev}\n  hooks:\n  - id: backlint\n  - id: backlint-sarif\n"
    repo = _scratch_repo(
        tmp_path / "shop",
        base_env,
        {
            ".pre-commit-config.yaml": config,
            ".gitignore": "backlint.sarif\n",
            "pyproject.toml": PYPROJECT,
            "shop/legacy.py": SWALLOWED,
            "vendor/client.py": SWALLOWED,
        },
    )
    installed = _pre_commit(repo, base_env, "install")
    assert installed.returncode == 0, installed.stdout + installed.stderr

    # the project's config lets these through: per-file-ignores and an excluded directory
    commit = _run(["git", "commit", "-q", "-m", "vendor and legacy code"], repo, base_env)
    assert commit.returncode == 0, commit.stdout + commit.stderr

    (repo / "shop" / "orders.py").write_text(SWALLOWED, encoding="utf-8")
    _git(repo, base_env, "add", "shop/orders.py")
    blocked = _run(["git", "commit", "-q", "-m", "mark orders paid"], repo, base_env)
    assert blocked.returncode == 1, blocked.stdout + blocked.stderr
    assert "shop/orders.py:4:5: BL402 " in blocked.stdout + blocked.stderr
    assert _git(repo, base_env, "rev-list", "--count", "HEAD") == "1"

    (repo / "shop" / "orders.py").write_text(HANDLED, encoding="utf-8")
    _git(repo, base_env, "add", "shop/orders.py")
    passed = _run(["git", "commit", "-q", "-m", "mark orders paid, loudly"], repo, base_env)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert _git(repo, base_env, "rev-list", "--count", "HEAD") == "2"

    # the SARIF hook runs only when asked, reports the whole project as configured, and does not fail
    (repo / "shop" / "orders.py").write_text(SWALLOWED, encoding="utf-8")
    _git(repo, base_env, "add", "shop/orders.py")
    report = _pre_commit(repo, base_env, "run", "--hook-stage", "manual", "backlint-sarif")
    assert report.returncode == 0, report.stdout + report.stderr
    sarif = json.loads((repo / "backlint.sarif").read_text(encoding="utf-8"))
    (run,) = sarif["runs"]
    located = [(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]) for r in run["results"]]
    assert located == [("BL402", "shop/orders.py")]


# A FastAPI app in three modules: the hook gets the files a commit changes, and the project rules judge
# them with the facts of the whole project (issue 17: BL401 on a new endpoint needs main.py's app).
APP_CONFIG = '[project]\nname = "shop"\nversion = "1.0"\n\n[tool.backlint]\nselect = ["BL401"]\n'
APP_DB = """\
import os

from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

engine = create_async_engine(os.environ["DATABASE_URL"])
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


async def get_session():
    async with SessionLocal() as session:
        yield session
"""
APP_MAIN = """\
import logging

from fastapi import FastAPI

from .orders import router

logger = logging.getLogger(__name__)
app = FastAPI(title="shop", debug=True)  # a traceback answer: BL401 judges the app by default
app.include_router(router)
"""
APP_HANDLER = """

from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError


@app.exception_handler(SQLAlchemyError)
async def database_error(request, exc):
    logger.exception("database error on %s", request.url.path)
    return JSONResponse(status_code=500, content={"detail": "database unavailable"})
"""
APP_ORDERS = """\
from fastapi import APIRouter, Depends
from sqlalchemy import text

from .db import get_session

router = APIRouter(prefix="/orders")


@router.get("/health")
async def health():
    return {"status": "ok"}
"""
NEW_ENDPOINT = """

@router.get("/")
async def list_orders(session=Depends(get_session)):
    rows = await session.execute(text("SELECT id FROM orders"))
    return [row.id for row in rows]
"""


def test_the_hook_blocks_a_project_finding_and_another_files_edit_changes_its_answer(
    base_env: dict[str, str], hook_repo: tuple[Path, str], tmp_path: Path
) -> None:
    path, rev = hook_repo
    repo = _scratch_repo(
        tmp_path / "shop",
        base_env,
        {
            ".pre-commit-config.yaml": f"repos:\n- repo: {path}\n  rev: {rev}\n  hooks:\n  - id: backlint\n",
            "pyproject.toml": APP_CONFIG,
            "shop/__init__.py": "",
            "shop/db.py": APP_DB,
            "shop/main.py": APP_MAIN,
            "shop/orders.py": APP_ORDERS,
        },
    )
    assert _pre_commit(repo, base_env, "install").returncode == 0
    first = _run(["git", "commit", "-q", "-m", "shop"], repo, base_env)
    assert first.returncode == 0, first.stdout + first.stderr

    # the commit changes orders.py alone; its new endpoint's verdict needs the app in main.py
    (repo / "shop" / "orders.py").write_text(APP_ORDERS + NEW_ENDPOINT, encoding="utf-8")
    _git(repo, base_env, "add", "shop/orders.py")
    blocked = _run(["git", "commit", "-q", "-m", "list orders"], repo, base_env)
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode == 1, output
    assert "shop/orders.py:15:1: BL401 " in output
    assert "- exit code: 1" in output
    full = _run([sys.executable, "-m", "backlint", "--format", "concise", "--no-cache", "."], repo, base_env)
    assert "shop/orders.py:15:1: BL401 " in full.stdout  # what a full run reports on the file

    # an app-level handler for database errors in main.py changes the answer for orders.py
    (repo / "shop" / "main.py").write_text(APP_MAIN + APP_HANDLER, encoding="utf-8")
    _git(repo, base_env, "add", "shop/main.py")
    passed = _run(["git", "commit", "-q", "-m", "list orders, with a database error handler"], repo, base_env)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert _git(repo, base_env, "rev-list", "--count", "HEAD") == "2"
