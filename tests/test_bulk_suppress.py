"""``backlint suppress``: a comment for every current finding, on a line that can take one, nothing else changed."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import FIXTURES, run_cli

REPORTS = '''\
import logging

logger = logging.getLogger(__name__)


def daily_sales(db, day):
    db.execute("""
        SELECT product, SUM(total) FROM sales WHERE day = '%s' GROUP BY product
    """ % day)
    return db.fetchall()


def customer(db, name):
    db.execute("SELECT * FROM customers WHERE name = '" + \\
               name + "'")
    return db.fetchone()


def close_day(db):
    try:
        db.commit()
    except Exception:  # backlint: ignore[BL101]
        pass
'''

REPORTS_SUPPRESSED = '''\
import logging

logger = logging.getLogger(__name__)


def daily_sales(db, day):
    db.execute("""
        SELECT product, SUM(total) FROM sales WHERE day = '%s' GROUP BY product
    """ % day)  # backlint: ignore[BL101]
    return db.fetchall()


def customer(db, name):
    db.execute("SELECT * FROM customers WHERE name = '" + \\
               name + "'")  # backlint: ignore[BL101]
    return db.fetchone()


def close_day(db):
    try:
        db.commit()
    except Exception:  # backlint: ignore[BL101, BL402]
        pass
'''


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.email", "dev@example.com")
    git(tmp_path, "config", "user.name", "Dev")
    return tmp_path


def commit(repo: Path) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "code")


def test_comments_go_where_a_comment_can_end_the_statement(repo: Path) -> None:
    (repo / "reports.py").write_bytes(REPORTS.encode())
    commit(repo)
    result = run_cli("suppress", "reports.py", "--no-cache", cwd=repo)
    assert result.exit_code == 0, result.stderr
    assert "added 3 suppression comments in 1 files" in result.stderr
    assert (repo / "reports.py").read_text() == REPORTS_SUPPRESSED
    check = run_cli(
        "check", "reports.py", "--report-unused-ignores", "--format", "concise", "-q", "--no-cache", cwd=repo
    )
    # Only the comment that was there before is (partly) unused: every added id silences a finding.
    assert check.stdout == (
        "reports.py:22:24: BL001 [*] unused suppression: "
        "`BL101` in `# backlint: ignore[BL101, BL402]` suppresses no finding\n"
    )


def test_a_second_run_changes_nothing(repo: Path) -> None:
    (repo / "reports.py").write_bytes(REPORTS.encode())
    assert run_cli("suppress", "--no-cache", cwd=repo).exit_code == 0
    once = (repo / "reports.py").read_bytes()
    result = run_cli("suppress", "--no-cache", cwd=repo)
    assert result.exit_code == 0
    assert "added 0 suppression comments in 0 files" in result.stderr
    assert (repo / "reports.py").read_bytes() == once


@pytest.mark.parametrize(
    ("encoding", "prefix", "newline"),
    [
        ("utf-8", b"", "\r\n"),
        ("utf-8", b"\xef\xbb\xbf", "\n"),
        ("latin-1", b"# -*- coding: latin-1 -*-\n", "\n"),
        ("utf-8", b"", "\r"),
    ],
)
def test_bytes_are_kept_except_the_added_comments(repo: Path, encoding: str, prefix: bytes, newline: str) -> None:
    def render(text: str) -> bytes:
        text = text.replace("logger = logging", "# Umsätze pro Tag\nlogger = logging")
        return prefix + text.replace("\n", newline).encode(encoding)

    (repo / "reports.py").write_bytes(render(REPORTS))
    result = run_cli("suppress", "reports.py", "--no-cache", cwd=repo)
    assert result.exit_code == 0, result.stderr
    assert (repo / "reports.py").read_bytes() == render(REPORTS_SUPPRESSED)


def test_only_the_selected_rules_are_suppressed(repo: Path) -> None:
    (repo / "reports.py").write_text(REPORTS)
    result = run_cli("suppress", "--select", "BL4", "--no-cache", cwd=repo)
    assert result.exit_code == 0, result.stderr
    text = (repo / "reports.py").read_text()
    assert "# backlint: ignore[BL101, BL402]" in text
    assert text.count("# backlint: ignore") == 1


def test_unparsable_files_are_left_alone_and_named(repo: Path) -> None:
    (repo / "broken.py").write_text("def f(:\n    pass\n")
    (repo / "reports.py").write_text(REPORTS)
    result = run_cli("suppress", "--no-cache", cwd=repo)
    assert result.exit_code == 1
    assert "broken.py: not edited: BL000 cannot be suppressed" in result.stderr
    assert (repo / "broken.py").read_text() == "def f(:\n    pass\n"
    assert (repo / "reports.py").read_text() == REPORTS_SUPPRESSED


def test_the_fixture_apps_come_out_clean_with_only_comments_added(repo: Path) -> None:
    """Every finding of every rule on the fixture apps (file and project rules) gets a working comment."""
    shutil.copytree(FIXTURES, repo / "fixtures")
    commit(repo)
    result = run_cli("suppress", "fixtures", "--select", "ALL", "--no-cache", cwd=repo)
    assert result.exit_code in (0, 1), result.stderr
    added = int(re.search(r"added (\d+) suppression comments", result.stderr).group(1))  # type: ignore[union-attr]
    assert added > 50
    after = run_cli("check", "fixtures", "--select", "ALL", "--report-unused-ignores", "--format", "json", "--no-cache",
                    cwd=repo).json()  # fmt: skip
    unparsable = {f["path"] for f in after["findings"] if f["rule_id"] == "BL000"}
    assert [f for f in after["findings"] if f["path"] not in unparsable] == []
    assert after["summary"]["suppressed"] >= added
    diff = git(repo, "diff", "-U0", "--no-color")
    removed = [line for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    inserted = [line for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert len(removed) == len(inserted) == added
    for old, new in zip(removed, inserted):
        assert new[1:].startswith(old[1:].rstrip()) and "# backlint: ignore[" in new[len(old.rstrip()) :]
    for path in (repo / "fixtures").rglob("*.py"):
        if path.relative_to(repo).as_posix() not in unparsable:
            ast.parse(path.read_bytes())
