"""The text, concise, JSON and GitHub reports, through the real CLI (SARIF has its own test file)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from conftest import ROOT, run_cli

SWALLOW = """\
def save(db):
    try:
        db.commit()
    except Exception:
        pass
"""
MESSAGE_START = "`except Exception:` swallows the error"


def test_text_report_header_snippet_caret_summary(project) -> None:  # type: ignore[no-untyped-def]
    project.write("app/db.py", SWALLOW)
    result = project.lint("app")
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"app/db\.py:4:5: BL402 `except Exception:` swallows the error: .+", lines[0])
    assert lines[1] == "  4 |     except Exception:"
    assert lines[2] == "    |     ^^^^^^^^^^^^^^^^^"  # the span runs on to the next line: caret to the end
    assert lines[3] == ""
    assert lines[-1] == "Found 1 finding in 1 file."
    assert "\033[" not in result.stdout  # not a terminal: no colour


def test_text_caret_covers_a_one_line_span(project) -> None:  # type: ignore[no-untyped-def]
    project.write("app.py", "x = 1\n\x0cdef f(:\n")  # a form feed is not a line break for Python
    result = project.lint("app.py")
    assert result.stdout.startswith("app.py:2:")
    assert "BL000 cannot parse" in result.stdout


def test_text_summary_counts_files_and_suppressed(project) -> None:  # type: ignore[no-untyped-def]
    project.write("a.py", SWALLOW)
    project.write("b.py", SWALLOW.replace("except Exception:", "except Exception:  # noqa: BL402"))
    project.write("c.py", "x = 1\n")
    assert project.lint(".").stdout.splitlines()[-1] == "Found 1 finding in 3 files (1 suppressed)."
    assert project.lint("b.py", "c.py").stdout == "All clean: 2 files checked (1 suppressed).\n"
    assert project.lint("c.py").stdout == "All clean: 1 file checked.\n"


def test_concise_is_one_line_per_finding(project) -> None:  # type: ignore[no-untyped-def]
    project.write("a.py", SWALLOW)
    project.write("b.py", "def f(:\n")
    result = project.lint(".", "--format", "concise")
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(f"a.py:4:5: BL402 {MESSAGE_START}")
    assert lines[1] == "b.py:1:7: BL000 cannot parse: invalid syntax"
    assert lines[2] == "Found 2 findings in 2 files."  # the summary line (--quiet leaves it out)
    assert result.exit_code == 1


def test_statistics(project) -> None:  # type: ignore[no-untyped-def]
    project.write("a.py", SWALLOW + SWALLOW.replace("save", "load"))
    project.write("b.py", "def f(:\n")
    for fmt in ("text", "concise"):
        result = project.lint(".", "--statistics", "--format", fmt)
        assert result.stdout.splitlines() == [  # only the table
            "     2  BL402  exception-swallowed",
            "     1  BL000  file-not-analysable",
        ]
        assert result.exit_code == 1


def test_quiet_drops_the_summary(project) -> None:  # type: ignore[no-untyped-def]
    project.write("a.py", SWALLOW)
    result = project.lint("a.py", "--quiet")
    assert result.exit_code == 1
    assert "Found" not in result.stdout and result.stdout.startswith("a.py:4:5: BL402")
    project.write("clean.py", "x = 1\n")
    clean = project.lint("clean.py", "-q")
    assert (clean.exit_code, clean.stdout) == (0, "")


def test_json_schema(project) -> None:  # type: ignore[no-untyped-def]
    project.write("pyproject.toml", "[tool.backlint]\nmax-file-size = 300\n")
    project.write("a.py", SWALLOW)
    project.write("b.py", SWALLOW.replace("except Exception:", "except Exception:  # backlint: ignore[BL402]"))
    project.write("big.py", "x = 1\n" * 60)
    document = project.lint(".", "--format", "json").json()
    assert set(document) == {"schema_version", "tool", "findings", "notices", "summary"}
    assert document["schema_version"] == 1
    assert document["tool"]["name"] == "backlint"
    (finding,) = document["findings"]
    assert finding == {
        "rule_id": "BL402",
        "rule_name": "exception-swallowed",
        "level": "warning",
        "message": finding["message"],
        "path": "a.py",
        "line": 4,
        "column": 5,
        "end_line": 5,
        "end_column": 13,
        "related": [],
    }
    assert finding["message"].startswith(MESSAGE_START)
    (notice,) = document["notices"]
    assert notice["path"] == "big.py" and notice["level"] == "warning" and notice["line"] is None
    assert "max-file-size" in notice["message"]
    assert document["summary"] == {"files": 3, "findings": 1, "suppressed": 1, "by_rule": {"BL402": 1}}


def test_json_notice_line_for_suppression_warnings(project) -> None:  # type: ignore[no-untyped-def]
    project.write("a.py", "x = 1\ny = 2  # backlint: ignore[BL4O2]\n")
    (notice,) = project.lint("a.py", "--format", "json").json()["notices"]
    assert notice["line"] == 2 and "'BL4O2'" in notice["message"]


def test_github_annotations(project) -> None:  # type: ignore[no-untyped-def]
    project.write("a,b:c%.py", SWALLOW)  # the characters workflow commands must escape in properties
    project.write("broken.py", "def f(:\n")
    result = project.lint(".", "--format", "github")
    lines = result.stdout.splitlines()
    assert lines[0].startswith(
        "::warning file=a%2Cb%3Ac%25.py,line=4,col=5,endLine=5,endColumn=13,title=BL402 exception-swallowed::"
        + MESSAGE_START
    )
    assert lines[1] == (
        "::error file=broken.py,line=1,col=7,endLine=1,endColumn=7,title=BL000 file-not-analysable::"
        "cannot parse: invalid syntax"
    )
    assert len(lines) == 2
    assert result.exit_code == 1


def test_github_notices_are_annotations_too(project) -> None:  # type: ignore[no-untyped-def]
    project.write("a.py", "x = 1  # noqa: BL999\n")
    result = project.lint("a.py", "--format", "github")
    assert result.stdout == (
        "::warning file=a.py,line=1,title=backlint::unknown rule id 'BL999' in suppression comment `# noqa: BL999`\n"
    )
    assert result.exit_code == 0


def test_output_order_is_path_line_column_rule(project) -> None:  # type: ignore[no-untyped-def]
    project.write("z.py", SWALLOW)
    project.write("a/b.py", SWALLOW + SWALLOW.replace("save", "load"))
    project.write("a.py", "def f(:\n")
    project.write("a/a.py", SWALLOW)
    for n in range(8):
        project.write(f"m/clean{n}.py", "x = 1\n")
    sequential = project.lint(".", "--format", "json", "--jobs", "1").json()["findings"]
    parallel = project.lint(".", "--format", "json", "--jobs", "2").json()["findings"]  # 13 files: worker processes
    assert parallel == sequential
    keys = [(f["path"], f["line"], f["column"], f["rule_id"]) for f in parallel]
    assert keys == sorted(keys)
    assert [k[0] for k in keys] == ["a.py", "a/a.py", "a/b.py", "a/b.py", "z.py"]


def test_every_format_writes_to_output_file(project) -> None:  # type: ignore[no-untyped-def]
    project.write("a.py", SWALLOW)
    for fmt in ("text", "concise", "json", "github", "sarif"):
        out = project.root / f"report.{fmt}"
        result = project.lint("a.py", "--format", fmt, "--output", str(out))
        assert result.stdout == ""
        assert result.exit_code == 1
        assert "BL402" in out.read_text("utf-8")
    assert run_cli("a.py", "--output-format", "concise", cwd=project.root).stdout.startswith("a.py:4:5: BL402")


JSON_DOCS = Path(__file__).resolve().parent.parent / "docs" / "json-output.md"


def _documented_schema() -> dict[str, Any]:
    blocks = re.findall(r"```json\n(.*?)```", JSON_DOCS.read_text("utf-8"), flags=re.DOTALL)
    return json.loads(blocks[-1])  # type: ignore[no-any-return]


def test_json_output_matches_the_documented_schema(project) -> None:  # type: ignore[no-untyped-def]
    from jsonschema import Draft7Validator

    validator = Draft7Validator(_documented_schema())
    project.write("pyproject.toml", "[tool.backlint]\nmax-file-size = 300\n")
    project.write("a.py", SWALLOW)
    project.write("b.py", SWALLOW.replace("except Exception:", "except Exception:  # backlint: ignore[BL402]"))
    project.write("c.py", "def f(:\n")
    project.write("d.py", "x = 1  # noqa: BL999\n")
    project.write("big.py", "x = 1\n" * 60)
    document = project.lint(".", "--format", "json").json()
    assert len(document["findings"]) == 2 and len(document["notices"]) == 2
    assert [e.message for e in validator.iter_errors(document)] == []
    example = re.findall(r"```json\n(.*?)```", JSON_DOCS.read_text("utf-8"), flags=re.DOTALL)[0]
    assert [e.message for e in validator.iter_errors(json.loads(example))] == []


def test_fixture_apps_json_matches_the_documented_schema() -> None:
    """Every rule's real findings, related locations included, fit the documented shape."""
    from jsonschema import Draft7Validator

    document = run_cli("fixtures", "--format", "json", "--select", "ALL", cwd=ROOT).json()
    assert [e.message for e in Draft7Validator(_documented_schema()).iter_errors(document)] == []
