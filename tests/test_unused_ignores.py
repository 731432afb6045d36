"""BL001 unused suppressions and honoured foreign ignores, through the CLI on a scratch git repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from conftest import run_cli

# A swallowed error (BL402), a string-built query (BL101), and code with no finding at all.
SERVICE = """\
import logging

logger = logging.getLogger(__name__)


def mark_paid(db, order_id):
    try:
        db.execute(f"UPDATE orders SET paid = 1 WHERE id = {{order_id}}"){sql}
        db.commit()
    except Exception:{swallow}
        pass


def total(rows):
    return sum(row.amount for row in rows){clean}
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "app").mkdir()
    return tmp_path


def lint(repo: Path, *args: str, sql: str = "", swallow: str = "", clean: str = "") -> list[tuple[int, str, str]]:
    (repo / "app" / "service.py").write_text(SERVICE.format(sql=sql, swallow=swallow, clean=clean), encoding="utf-8")
    result = run_cli("check", "app", "--format", "json", "--no-cache", *args, cwd=repo)
    assert result.exit_code in (0, 1), result.stderr
    return [(f["line"], f["rule_id"], f["message"]) for f in result.json()["findings"] if f["rule_id"] == "BL001"]


def test_off_unless_asked(repo: Path) -> None:
    assert lint(repo, clean="  # backlint: ignore[BL402]") == []


@pytest.mark.parametrize("ask", [("--report-unused-ignores",), ("--extend-select", "BL001")])
def test_a_comment_that_suppresses_nothing_is_reported(repo: Path, ask: tuple[str, ...]) -> None:
    comments = {"sql": "  # backlint: ignore[BL101]", "swallow": "  # noqa: BL402"}
    comments["clean"] = "  # backlint: ignore[BL402]"
    found = lint(repo, *ask, **comments)
    assert found == [(15, "BL001", "unused suppression: `# backlint: ignore[BL402]` suppresses no finding")]


def test_column_and_exit_code(repo: Path) -> None:
    (repo / "app" / "service.py").write_text(SERVICE.format(sql="", swallow="", clean="  # backlint: ignore"))
    result = run_cli("check", "app/service.py", "--select", "BL001", "--format", "concise", "--no-cache", cwd=repo)
    assert result.stdout.splitlines()[0] == (
        "app/service.py:15:45: BL001 [*] unused suppression: `# backlint: ignore` suppresses no finding"
    )  # [*]: its safe fix removes the comment
    assert result.exit_code == 1


def test_only_the_unused_ids_of_a_comment_are_named(repo: Path) -> None:
    found = lint(repo, "--report-unused-ignores", swallow="  # backlint: ignore[BL402, BL101, BL2]")
    message = "unused suppression: `BL101`, `BL2` in `# backlint: ignore[BL402, BL101, BL2]` suppresses no finding"
    assert found == [(10, "BL001", message)]


@pytest.mark.parametrize(
    "comment",
    [
        "  # noqa",  # flake8's and ruff's blanket: not ours to judge
        "  # noqa: E501",
        "  # nosec B608",
        "  # type: ignore[arg-type]",
        "  # backlint: ignore[BL001]",  # names only the rule that would report it
    ],
)
def test_other_comments_are_not_judged(repo: Path, comment: str) -> None:
    assert lint(repo, "--report-unused-ignores", clean=comment) == []


def test_used_comments_are_not_reported_whatever_is_selected(repo: Path) -> None:
    """With only BL001 selected, BL402 and BL101 still run to tell used comments from unused ones."""
    used = {"sql": "  # noqa: BL101", "swallow": "  # backlint: ignore[BL4]"}
    assert lint(repo, "--select", "BL001", **used) == []
    assert lint(repo, "--select", "BL001", **used, clean="  # backlint: ignore[BL101]") == [
        (15, "BL001", "unused suppression: `# backlint: ignore[BL101]` suppresses no finding")
    ]


def test_a_redundant_second_comment_on_one_statement_is_unused(repo: Path) -> None:
    (repo / "app" / "jobs.py").write_text(
        "def retry(queue):\n"
        "    try:\n"
        "        queue.pop()\n"
        "    except (  # backlint: ignore[BL402]\n"
        "        Exception\n"
        "    ):  # backlint: ignore[BL402]\n"
        "        pass\n"
    )
    result = run_cli("check", "app/jobs.py", "--report-unused-ignores", "--format", "json", "--no-cache", cwd=repo)
    assert [(f["line"], f["rule_id"]) for f in result.json()["findings"]] == [(6, "BL001")]


def test_ignored_rules_and_per_file_ignores_are_not_judged(repo: Path) -> None:
    comments = {"clean": "  # backlint: ignore[BL402]"}
    assert lint(repo, "--report-unused-ignores", "--ignore", "BL402", **comments) == []
    (repo / "pyproject.toml").write_text('[tool.backlint.per-file-ignores]\n"app/**" = ["BL4"]\n')
    assert lint(repo, "--report-unused-ignores", **comments) == []
    (repo / "pyproject.toml").write_text('[tool.backlint]\nextend-select = ["BL001"]\n')
    assert lint(repo, **comments) == [
        (15, "BL001", "unused suppression: `# backlint: ignore[BL402]` suppresses no finding")
    ]


def test_a_rule_that_does_not_apply_to_the_file_leaves_its_comment_unused(repo: Path) -> None:
    (repo / "tests").mkdir()
    (repo / "tests" / "test_orders.py").write_text(
        'def test_query(db):\n    db.execute(f"SELECT {1}")  # backlint: ignore[BL101]\n'
    )
    result = run_cli("check", "tests", "--report-unused-ignores", "--format", "json", "--no-cache", cwd=repo)
    assert [(f["line"], f["rule_id"]) for f in result.json()["findings"]] == [(2, "BL001")]


def test_lookalikes_in_strings_and_unparsable_files_are_not_judged(repo: Path) -> None:
    (repo / "app" / "docs.py").write_text(
        'HELP = "silence it with # backlint: ignore[BL101]"\nGUIDE = """\n    # backlint: ignore-file[BL402]\n"""\n'
    )
    (repo / "app" / "broken.py").write_text("def f(:  # backlint: ignore[BL402]\n    pass\n")
    result = run_cli("check", "app", "--report-unused-ignores", "--format", "json", "--no-cache", cwd=repo)
    assert [f["rule_id"] for f in result.json()["findings"]] == ["BL000"]


def test_an_unused_file_level_ignore_and_silencing_bl001(repo: Path) -> None:
    file_level = "# backlint: ignore-file[BL2]\n"
    (repo / "app" / "service.py").write_text(file_level + SERVICE.format(sql="", swallow="", clean=""))
    result = run_cli("check", "app", "--report-unused-ignores", "--format", "json", "--no-cache", cwd=repo)
    assert [(f["line"], f["rule_id"]) for f in result.json()["findings"] if f["rule_id"] == "BL001"] == [(1, "BL001")]
    silenced = "# backlint: ignore-file[BL001]\n" + SERVICE.format(sql="", swallow="", clean="  # backlint: ignore")
    (repo / "app" / "service.py").write_text(silenced)
    result = run_cli("check", "app", "--report-unused-ignores", "--format", "json", "--no-cache", cwd=repo)
    assert [f["rule_id"] for f in result.json()["findings"]] == ["BL101", "BL402"]
    assert result.json()["summary"]["suppressed"] == 1


def test_standard_input(repo: Path) -> None:
    source = SERVICE.format(sql="", swallow="  # backlint: ignore[BL402]", clean="  # backlint: ignore[BL402]")
    result = run_cli("check", "--report-unused-ignores", "--stdin-filename", "app/service.py", "--format", "json",
                     cwd=repo, input=source)  # fmt: skip
    assert [(f["line"], f["rule_id"]) for f in result.json()["findings"]] == [(8, "BL101"), (15, "BL001")]


# -- foreign ignores -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "swallow", "remaining"),
    [
        ("  # nosec B608", "  # nosec B110", []),
        ("  # noqa: S608", "  # noqa: BLE001", []),
        ("  # nosec: B608 # reviewed in SEC-12", "  # noqa: S110, E722", []),
        ("  # nosec", "  # nosec - the job retries", []),  # bandit's blanket nosec
        ("  # nosec hardcoded_sql_expressions", "  # nosec try_except_pass", []),
        ("  # nosec B104", "  # noqa: S105", ["BL101", "BL402"]),  # codes with no backlint equivalent here
        ("  # nosemgrep", "  # nosemgrep", []),  # semgrep's blanket: every rule
        ("  # nosemgrep: python.lang.security.audit.formatted-sql-query.formatted-sql-query", "", ["BL402"]),
        ("  # nosemgrep: formatted-sql-query", "  # nosemgrep: tainted-sql-string", ["BL402"]),  # its last part
        ("  # nosemgrep: my-org.no-fstring-sql", "", ["BL101", "BL402"]),  # a rule the table does not map
    ],
)
def test_foreign_ignores_when_honoured(repo: Path, sql: str, swallow: str, remaining: list[str]) -> None:
    (repo / "app" / "service.py").write_text(SERVICE.format(sql=sql, swallow=swallow, clean=""))
    (repo / "pyproject.toml").write_text("[tool.backlint]\nhonor-foreign-ignores = false\n")
    plain = run_cli("check", "app", "--format", "json", "--no-cache", cwd=repo)
    assert [f["rule_id"] for f in plain.json()["findings"]] == ["BL101", "BL402"]
    (repo / "pyproject.toml").unlink()  # honoured by default
    honoured = run_cli("check", "app", "--format", "json", "--report-unused-ignores", "--no-cache", cwd=repo)
    assert [f["rule_id"] for f in honoured.json()["findings"]] == remaining


def test_a_semgrep_rule_id_from_the_configuration(repo: Path) -> None:
    (repo / "pyproject.toml").write_text(
        '[tool.backlint.tables]\nforeign-ignores = [{ tool = "semgrep", code = "my-org.rules.no-broad-except", '
        'rules = ["BL402"] }]\n'
    )
    (repo / "app" / "service.py").write_text(SERVICE.format(sql="", swallow="  # nosemgrep: no-broad-except", clean=""))
    result = run_cli("check", "app", "--format", "json", "--no-cache", cwd=repo)
    assert [f["rule_id"] for f in result.json()["findings"]] == ["BL101"]


def test_secret_scanner_allowlists_when_honoured(repo: Path) -> None:
    (repo / "pyproject.toml").write_text("[tool.backlint]\nhonor-foreign-ignores = true\n")
    (repo / "app" / "settings.py").write_text(
        'STRIPE_KEY = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"  # pragma: allowlist secret\n'
        'GITHUB_TOKEN = "ghp_R8fAqLw0nT3xZk9Vb2Yc4Hd6Jm1Pq7Ss5Ue0"  # gitleaks:allow\n'
    )
    result = run_cli("check", "app", "--format", "json", "--no-cache", cwd=repo)
    assert result.json()["findings"] == []
    assert result.json()["summary"]["suppressed"] == 2


def test_a_foreign_table_row_from_the_configuration(repo: Path) -> None:
    (repo / "pyproject.toml").write_text(
        "[tool.backlint]\nhonor-foreign-ignores = true\n"
        '[tool.backlint.tables]\nforeign-ignores = [{ tool = "noqa", code = "SIM105", rules = ["BL402"] }]\n'
    )
    (repo / "app" / "service.py").write_text(SERVICE.format(sql="", swallow="  # noqa: SIM105", clean=""))
    result = run_cli("check", "app", "--format", "json", "--no-cache", cwd=repo)
    assert [f["rule_id"] for f in result.json()["findings"]] == ["BL101"]


def test_a_malformed_foreign_table_row_is_a_configuration_error(repo: Path) -> None:
    (repo / "pyproject.toml").write_text(
        "[tool.backlint]\nhonor-foreign-ignores = true\n"
        '[tool.backlint.tables]\nforeign-ignores = [{ tool = "pylint", code = "W0702", rules = ["BL402"] }]\n'
    )
    (repo / "app" / "service.py").write_text(SERVICE.format(sql="", swallow="", clean=""))
    result = run_cli("check", "app", "--no-cache", cwd=repo)
    assert result.exit_code == 2
    assert "foreign-ignores: tool must be 'bandit', 'noqa', 'semgrep' or 'comment', got 'pylint'" in result.stderr


def test_honor_foreign_ignores_must_be_a_boolean(repo: Path) -> None:
    (repo / "pyproject.toml").write_text('[tool.backlint]\nhonor-foreign-ignores = "yes"\n')
    result = run_cli("check", "app", "--no-cache", cwd=repo)
    assert result.exit_code == 2
    assert "tool.backlint.honor-foreign-ignores: expected true or false, got 'yes'" in result.stderr


def test_the_documented_mapping_is_the_table() -> None:
    """docs/adoption.md shows the foreign-ignores table row by row: keep the two the same."""
    from backlint.core.catalog import load_catalog

    doc = (Path(__file__).resolve().parent.parent / "docs" / "adoption.md").read_text("utf-8")
    documented: dict[str, set[str]] = {}
    for row in re.findall(r"^\| (`# .*?) \| (BL[0-9, BL]+) \|$", doc, flags=re.MULTILINE):
        pattern = (
            r"# nosec (B[0-9]+)|# noqa: ([A-Z]+[0-9]+)|# (pragma: allowlist secret|gitleaks:allow)"
            r"|# nosemgrep: ([\w.\-]+)"
        )
        codes = re.findall(pattern, row[0])
        for groups in codes:
            code = next(g for g in groups if g)
            documented[code] = set(re.findall(r"BL[0-9]+", row[1]))
    table = {str(r["code"]): set(r["rules"]) for r in load_catalog().knowledge.rows("foreign-ignores")}
    assert documented == table


def test_lookalikes_in_strings_neither_suppress_nor_warn(repo: Path) -> None:
    (repo / "app" / "users.py").write_text(
        '"""Lookups.\n\n'
        "# backlint: ignore-file\n"
        '"""\n\n'
        'HELP = "silence a finding with # backlint: ignore[BL4O2]"\n\n\n'
        "def find(db, name):\n"
        "    return db.execute(f\"SELECT * FROM users WHERE name = '{name}' -- # noqa\")\n"
    )
    result = run_cli("check", "app/users.py", "--format", "json", "--no-cache", cwd=repo)
    assert [(f["line"], f["rule_id"]) for f in result.json()["findings"]] == [(10, "BL101")]
    assert result.stderr == ""
    (repo / "app" / "users.py").write_text("X = 1  # backlint: ignore[BL4O2]\n")
    result = run_cli("check", "app/users.py", "--no-cache", cwd=repo)
    assert "unknown rule id 'BL4O2' in suppression comment `# backlint: ignore[BL4O2]`" in result.stderr
