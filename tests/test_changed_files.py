"""``--changed-since REV`` and ``--changed-lines-only`` on scratch git repositories."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import run_cli

SWALLOW = "\n\ndef {name}(db):\n    try:\n        db.commit()\n    except Exception:\n        pass\n"
LOGGED = SWALLOW.replace("        pass\n", "        logger.exception('commit failed')\n        raise\n")
HEADER = "import logging\n\nlogger = logging.getLogger(__name__)\n"
QUERY = "def find(db, name):\n    return db.execute(f\"SELECT * FROM users WHERE name = '{name}'\")\n"


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def commit(root: Path, message: str = "change") -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """Committed: ``app/old.py`` with a swallowed error, ``app/jobs.py`` with one, ``app/clean.py`` with none."""
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "config", "user.email", "dev@example.com")
    git(tmp_path, "config", "user.name", "Dev")
    write(tmp_path, "app/old.py", HEADER + SWALLOW.format(name="legacy"))
    write(tmp_path, "app/jobs.py", HEADER + SWALLOW.format(name="nightly"))
    write(tmp_path, "app/clean.py", HEADER + LOGGED.format(name="save"))
    commit(tmp_path, "base")
    return tmp_path


def lint(root: Path, *args: str) -> list[tuple[str, int, str]]:
    result = run_cli("check", "--format", "json", "--no-cache", *args, cwd=root)
    assert result.exit_code in (0, 1), result.stderr
    return [(f["path"], f["line"], f["rule_id"]) for f in result.json()["findings"]]


def test_only_changed_and_untracked_files_are_reported(repo: Path) -> None:
    write(repo, "app/jobs.py", HEADER + SWALLOW.format(name="nightly") + SWALLOW.format(name="hourly"))
    write(repo, "app/search.py", QUERY)  # untracked
    assert lint(repo, "--changed-since", "HEAD") == [
        ("app/jobs.py", 9, "BL402"),
        ("app/jobs.py", 16, "BL402"),
        ("app/search.py", 2, "BL101"),
    ]
    result = run_cli("check", "--changed-since", "HEAD", "--no-cache", cwd=repo)
    assert "in 2 files" in result.stdout


def test_staged_and_committed_changes_count_against_an_older_revision(repo: Path) -> None:
    write(repo, "app/clean.py", HEADER + SWALLOW.format(name="save"))
    commit(repo)
    write(repo, "app/search.py", QUERY)
    git(repo, "add", "app/search.py")
    assert lint(repo, "--changed-since", "HEAD~1") == [("app/clean.py", 9, "BL402"), ("app/search.py", 2, "BL101")]
    assert lint(repo, "--diff-base", "HEAD") == [("app/search.py", 2, "BL101")]


def test_changed_lines_only(repo: Path) -> None:
    write(repo, "app/jobs.py", HEADER + SWALLOW.format(name="nightly") + SWALLOW.format(name="hourly"))
    write(repo, "app/search.py", QUERY)
    expected = [("app/jobs.py", 16, "BL402"), ("app/search.py", 2, "BL101")]
    assert lint(repo, "--changed-since", "HEAD", "--changed-lines-only") == expected
    assert lint(repo, "--changed-since", "HEAD", "--diff-lines") == expected


def test_a_deleted_line_counts_for_the_lines_around_it(repo: Path) -> None:
    """Deleting the logging from a handler makes it swallow: the handler's lines did not change, but it is new."""
    handled = "        logger.exception('commit failed')\n        raise\n"
    write(repo, "app/clean.py", (HEADER + LOGGED.format(name="save")).replace(handled, "        pass\n"))
    assert lint(repo, "--changed-since", "HEAD", "--changed-lines-only") == [("app/clean.py", 9, "BL402")]
    write(repo, "app/clean.py", HEADER + LOGGED.format(name="save") + "\n\nTIMEOUT = 30\n")
    assert lint(repo, "--changed-since", "HEAD", "--changed-lines-only") == []


def test_three_dots_compare_with_the_merge_base(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "feature")
    write(repo, "app/search.py", QUERY)
    commit(repo, "feature")
    git(repo, "checkout", "-q", "main")
    write(repo, "app/jobs.py", HEADER + LOGGED.format(name="nightly"))
    commit(repo, "main fixes jobs.py")
    git(repo, "checkout", "-q", "feature")
    # Against main's tip, main's own new commit looks like a change (the branch's jobs.py differs
    # from main's); since the merge base, only what the branch did counts, as a pull request shows.
    assert lint(repo, "--changed-since", "main") == [("app/jobs.py", 9, "BL402"), ("app/search.py", 2, "BL101")]
    assert lint(repo, "--changed-since", "main...") == [("app/search.py", 2, "BL101")]


def test_renamed_and_deleted_files(repo: Path) -> None:
    git(repo, "mv", "app/old.py", "app/legacy.py")
    (repo / "app" / "jobs.py").unlink()
    assert lint(repo, "--changed-since", "HEAD") == [("app/legacy.py", 9, "BL402")]
    assert lint(repo, "--changed-since", "HEAD", "--changed-lines-only") == []  # a pure rename changes no line


def test_paths_narrow_the_changed_files(repo: Path) -> None:
    write(repo, "app/search.py", QUERY)
    write(repo, "scripts/backfill.py", HEADER + SWALLOW.format(name="backfill"))
    assert lint(repo, "--changed-since", "HEAD", "scripts") == []  # BL402 does not apply to scripts
    assert lint(repo, "--changed-since", "HEAD", "app") == [("app/search.py", 2, "BL101")]
    assert lint(repo, "--changed-since", "HEAD", "app/jobs.py") == []


def test_nothing_changed(repo: Path) -> None:
    result = run_cli("check", "--changed-since", "HEAD", "--no-cache", cwd=repo)
    assert result.exit_code == 0
    assert "All clean: 0 files checked." in result.stdout


def test_project_rules_see_the_whole_project(tmp_path: Path) -> None:
    """BL601 judges the app in main.py by the database use in routes.py: a change to main.py alone
    still gets that verdict, and a change elsewhere does not report main.py."""
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.email", "dev@example.com")
    git(tmp_path, "config", "user.name", "Dev")
    # the literal reading of BL601: the engine is built at import, no startup hook sets it up
    write(tmp_path, "pyproject.toml", "[tool.backlint]\nrequire-startup-check = true\n")
    write(tmp_path, "shop/__init__.py", "")
    write(tmp_path, "shop/db.py", 'import os\n\nfrom sqlalchemy.ext.asyncio import create_async_engine\n\n'
                                  'engine = create_async_engine(os.environ["DATABASE_URL"])\n')  # fmt: skip
    write(tmp_path, "shop/routes.py", ROUTES)
    write(tmp_path, "shop/main.py", MAIN)
    commit(tmp_path, "shop")
    # main.py alone shows no data store, but the project rules judge with every file's facts
    assert lint(tmp_path, "--select", "BL601", "shop/main.py") == [("shop/main.py", 5, "BL601")]
    write(tmp_path, "shop/main.py", MAIN.replace("app = FastAPI()", "app = FastAPI(title='Shop')"))
    for _ in range(2):  # the second run reads the other files' facts from the cache
        result = run_cli("check", "--select", "BL601", "--changed-since", "HEAD", "--format", "json", cwd=tmp_path)
        found = [(f["path"], f["line"], f["rule_id"]) for f in result.json()["findings"]]
        assert found == [("shop/main.py", 5, "BL601")]
    git(tmp_path, "checkout", "--", "shop/main.py")
    write(tmp_path, "shop/routes.py", ROUTES + "\n\n# TODO: pagination\n")
    assert lint(tmp_path, "--select", "BL601", "--changed-since", "HEAD") == []


ROUTES = """\
from fastapi import APIRouter
from sqlalchemy import text

from .db import engine

router = APIRouter()


@router.get("/orders/{order_id}")
async def get_order(order_id: int):
    async with engine.connect() as conn:
        row = (await conn.execute(text("SELECT id, total FROM orders WHERE id = :id"), {"id": order_id})).one()
    return {"id": row.id, "total": row.total}
"""

MAIN = """\
from fastapi import FastAPI

from .routes import router

app = FastAPI()
app.include_router(router)
"""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--changed-since", "no-such-branch"), "--changed-since: unknown revision 'no-such-branch'"),
        (("--changed-lines-only",), "--changed-lines-only needs --changed-since REV"),
        (("--changed-since", "HEAD", "-"), "--changed-since reads git: not with standard input"),
    ],
)
def test_usage_errors(repo: Path, args: tuple[str, ...], message: str) -> None:
    result = run_cli("check", *args, cwd=repo, input="x = 1\n")
    assert result.exit_code == 2
    assert message in result.stderr


def test_outside_a_repository(tmp_path: Path) -> None:
    write(tmp_path, "app.py", "x = 1\n")
    result = run_cli("check", "--changed-since", "HEAD", cwd=tmp_path)
    assert result.exit_code == 2
    assert "--changed-since: " in result.stderr and "not a git repository" in result.stderr
