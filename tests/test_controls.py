"""The controls people expect (issue 17 item 6): --fail-level, --show-files, --show-settings, the
summary line of concise output, --statistics alone, FORCE_COLOR, help texts, BL001's autofix."""

from __future__ import annotations

import re

import pytest
from conftest import run_cli

SWALLOW = "def save(db):\n    try:\n        db.commit()\n    except Exception:\n        pass\n"


@pytest.fixture
def swallowing(project):  # type: ignore[no-untyped-def]
    project.write("app/orders.py", SWALLOW)
    return project


@pytest.mark.parametrize(
    ("level", "fail_level", "code"),
    [
        ("warning", None, 1),
        ("note", None, 1),  # by default any finding fails, as before
        ("note", "warning", 0),
        ("note", "note", 1),
        ("warning", "warning", 1),
        ("warning", "error", 0),
        ("error", "error", 1),
    ],
)
def test_fail_level(swallowing, level: str, fail_level: str | None, code: int) -> None:  # type: ignore[no-untyped-def]
    swallowing.write("pyproject.toml", f'[tool.backlint.severity]\nBL402 = "{level}"\n')
    args = ("--fail-level", fail_level) if fail_level else ()
    result = swallowing.lint("app", *args)
    assert result.exit_code == code
    assert " BL402 " in result.stdout  # reported either way: only the exit code follows the level


def test_show_files_lists_each_file_with_its_kind(project) -> None:  # type: ignore[no-untyped-def]
    project.write("app/orders.py", SWALLOW)
    project.write("tests/test_orders.py", "def test_save():\n    assert True\n")
    project.write("scripts/seed.py", "print('seeding')\n")
    project.write("build/generated.py", SWALLOW)  # excluded by default
    result = project.lint("--show-files")
    assert result.exit_code == 0
    rows = dict(line.split("\t") for line in result.stdout.splitlines())
    assert set(rows) == {"app/orders.py", "tests/test_orders.py", "scripts/seed.py"}
    assert rows["app/orders.py"] == "production"
    assert rows["tests/test_orders.py"] == "test"
    assert rows["scripts/seed.py"] != "production"


def test_show_settings_names_the_root_the_configuration_and_the_rules(project) -> None:  # type: ignore[no-untyped-def]
    project.write("pyproject.toml", '[tool.backlint]\nignore = ["BL402"]\n[tool.backlint.severity]\nBL101 = "error"\n')
    result = project.lint("--show-settings")
    assert result.exit_code == 0
    out = result.stdout
    assert f"project root: {project.root.resolve()}" in out
    assert f"configuration: {project.root / 'pyproject.toml'}" in out
    assert re.search(r"^  BL101  error ", out, re.MULTILINE)
    assert not re.search(r"^  BL402 ", out, re.MULTILINE)
    assert re.search(r"^  BL601  \w+ +no-startup-datastore-check  \(project\)$", out, re.MULTILINE)


def test_concise_output_ends_with_a_summary_line(swallowing) -> None:  # type: ignore[no-untyped-def]
    lines = swallowing.lint("app", "--format", "concise").stdout.splitlines()
    assert lines[0].startswith("app/orders.py:4:5: BL402 ")
    assert lines[-1] == "Found 1 finding in 1 file."
    assert swallowing.lint("app", "--format", "concise", "-q").stdout.splitlines() == lines[:-1]
    swallowing.write("app/orders.py", "x = 1\n")
    assert swallowing.lint("app", "--format", "concise").stdout == "All clean: 1 file checked.\n"


@pytest.mark.parametrize("output_format", ["text", "concise"])
def test_statistics_prints_only_the_table(swallowing, output_format: str) -> None:  # type: ignore[no-untyped-def]
    swallowing.write("app/more.py", SWALLOW + "\n\n" + SWALLOW.replace("save", "load"))
    result = swallowing.lint("app", "--statistics", "--format", output_format)
    assert result.exit_code == 1
    assert result.stdout == "     3  BL402  exception-swallowed\n"


def test_force_color_colours_a_report_that_is_not_on_a_terminal(swallowing, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    assert "\033[" not in swallowing.lint("app").stdout
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert "\033[" in swallowing.lint("app").stdout
    assert "\033[" not in swallowing.lint("app", "--no-color").stdout
    monkeypatch.setenv("NO_COLOR", "1")  # no-color.org: NO_COLOR wins
    assert "\033[" not in swallowing.lint("app").stdout


def test_help_texts() -> None:
    top = run_cli("--help").stdout
    assert "`backlint [PATHS]...` runs `backlint check" in " ".join(top.split())
    check = " ".join(run_cli("check", "--help").stdout.split())
    assert "--config FILE Read the settings from FILE" in check
    for option in ("--fail-level", "--show-files", "--show-settings"):
        assert option in check


STALE = """\
import logging

logger = logging.getLogger(__name__)


def save(db):
    try:
        db.commit()
    except Exception:  # backlint: ignore[BL402]
        logger.exception("save failed")
        raise


def load(db):
    try:
        db.fetch()
    except Exception:  # backlint: ignore[BL402, BL403]  # the caller retries
        pass


def total(rows):
    # backlint: ignore[BL101]
    return sum(rows)  # noqa: E501, BL101
"""

FIXED = """\
import logging

logger = logging.getLogger(__name__)


def save(db):
    try:
        db.commit()
    except Exception:
        logger.exception("save failed")
        raise


def load(db):
    try:
        db.fetch()
    except Exception:  # backlint: ignore[BL402]  # the caller retries
        pass


def total(rows):
    return sum(rows)  # noqa: E501
"""


def test_bl001_fix_removes_the_stale_suppressions(project) -> None:  # type: ignore[no-untyped-def]
    project.write("app/jobs.py", STALE)
    report = project.lint("app", "--report-unused-ignores", "--format", "concise", "--no-cache")
    stale = [line for line in report.stdout.splitlines() if " BL001 " in line]
    assert [line.split(":")[1] for line in stale] == ["9", "17", "22", "23"]
    assert all("[*]" in line for line in stale)  # safe fixes
    fixed = project.lint("app", "--report-unused-ignores", "--fix", "--no-cache")
    assert (project.root / "app" / "jobs.py").read_text(encoding="utf-8") == FIXED
    assert " BL001 " not in fixed.stdout
