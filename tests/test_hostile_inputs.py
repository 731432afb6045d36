"""Hostile files: each gives a finding or a notice with a clear message, the rest is linted, no traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import run_process

SWALLOW = "try:\n    sync()\nexcept Exception:\n    pass\n"


def _lint(root: Path, *args: str):  # type: ignore[no-untyped-def]
    result = run_process(".", "--format", "json", "--jobs", "1", *args, cwd=root)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.exit_code in (0, 1), (result.exit_code, result.stderr)
    return result


def _findings(result) -> dict[str, list[tuple[str, int, str]]]:  # type: ignore[no-untyped-def]
    out: dict[str, list[tuple[str, int, str]]] = {}
    for f in result.json()["findings"]:
        out.setdefault(f["path"], []).append((f["rule_id"], f["line"], f["message"]))
    return out


@pytest.fixture
def hostile_tree(tmp_path: Path) -> Path:
    (tmp_path / "latin.py").write_bytes(b'name = "caf\xe9"\n')
    (tmp_path / "badcookie.py").write_bytes(b"# -*- coding: no-such-codec -*-\nx = 1\n")
    (tmp_path / "wrongcookie.py").write_bytes(b"# -*- coding: utf-8 -*-\nname = 'caf\xe9'\n")
    (tmp_path / "bom.py").write_bytes(b"\xef\xbb\xbf" + SWALLOW.encode())
    (tmp_path / "nul.py").write_bytes(b"x = 1\x00\n")
    (tmp_path / "cr_only.py").write_bytes(SWALLOW.replace("\n", "\r").encode())
    (tmp_path / "mixed.py").write_bytes(b"try:\r\n    sync()\nexcept Exception:\r    pass\n")
    (tmp_path / "empty.py").write_bytes(b"")
    (tmp_path / "py2.py").write_bytes(b'print "hello"\nexcept Exception:\n')
    (tmp_path / "deep_parens.py").write_text("x = " + "(" * 10_000 + "1" + ")" * 10_000 + "\n" + SWALLOW)
    (tmp_path / "deep_unary.py").write_text("x = " + "-" * 10_000 + "1\n" + SWALLOW)
    (tmp_path / "dir.py").mkdir()
    (tmp_path / "sp ace").mkdir()
    (tmp_path / "sp ace" / "ünïcode.py").write_text(SWALLOW, encoding="utf-8")
    (tmp_path / "broken.py").symlink_to(tmp_path / "nowhere.py")
    (tmp_path / "loop").symlink_to(tmp_path)
    os.mkfifo(tmp_path / "fifo.py")
    (tmp_path / "healthy.py").write_text(SWALLOW)
    return tmp_path


def test_every_hostile_file_is_reported_and_the_rest_is_linted(hostile_tree: Path) -> None:
    result = _lint(hostile_tree)
    found = _findings(result)
    assert found["latin.py"] == [
        ("BL000", 1, "cannot decode file: it is not valid utf-8 (byte 0xe9) and has no PEP 263 coding declaration")
    ]
    assert found["wrongcookie.py"] == [
        ("BL000", 2, "cannot decode file: it is not valid utf-8 (byte 0xe9), the encoding its coding declaration names")
    ]
    assert found["badcookie.py"][0][:2] == ("BL000", 1) and "no-such-codec" in found["badcookie.py"][0][2]
    assert found["nul.py"][0][0] == "BL000" and "null" in found["nul.py"][0][2]
    assert found["py2.py"][0][0] == "BL000" and "parse" in found["py2.py"][0][2]
    assert found["deep_parens.py"][0][0] == "BL000" and "nested" in found["deep_parens.py"][0][2]
    assert found["deep_unary.py"][0][0] == "BL000" and "consecutive unary operators" in found["deep_unary.py"][0][2]
    assert found["broken.py"] == [("BL000", 1, "cannot read file: broken symbolic link")]
    # Decoding honours the BOM; CR-only and mixed line endings keep line numbers right.
    for name in ("bom.py", "cr_only.py", "mixed.py", "healthy.py", "sp ace/ünïcode.py"):
        assert [(r, line) for r, line, _ in found[name]] == [("BL402", 3)], name
    assert "empty.py" not in found
    notices = {n["path"]: n["message"] for n in result.json()["notices"]}
    assert notices["fifo.py"] == "not a regular file, skipped"
    assert "symlink loop" in result.stderr


def test_file_over_max_file_size_is_skipped_with_a_notice(tmp_path: Path) -> None:
    (tmp_path / "big.py").write_text(SWALLOW + "# padding\n" * 300)
    (tmp_path / "small.py").write_text(SWALLOW)
    (tmp_path / "pyproject.toml").write_text("[tool.backlint]\nmax-file-size = 1000\n")
    result = _lint(tmp_path)
    assert set(_findings(result)) == {"small.py"}
    assert "over max-file-size (1000)" in result.json()["notices"][0]["message"]


def test_unreadable_file_is_a_finding_not_a_crash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import run_cli

    (tmp_path / "secret.py").write_text(SWALLOW)
    (tmp_path / "open.py").write_text(SWALLOW)
    real = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == "secret.py":
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    result = run_cli(".", "--format", "json", "--jobs", "1", "--no-cache", cwd=tmp_path)
    found = _findings(result)
    assert found["secret.py"] == [("BL000", 1, "cannot read file: Permission denied")]
    assert [r for r, _, _ in found["open.py"]] == ["BL402"]


def test_file_outside_the_project_root_is_linted(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("[tool.backlint]\nignore = []\n")
    outside = tmp_path / "elsewhere.py"
    outside.write_text(SWALLOW)
    result = run_process(str(outside), "--format", "json", cwd=project)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert [f["rule_id"] for f in result.json()["findings"]] == ["BL402"]


def test_linting_never_imports_or_runs_the_code(tmp_path: Path) -> None:
    marker = tmp_path / "ran.txt"
    payload = f"open({str(marker)!r}, 'w').write('imported')\n"
    (tmp_path / "sitecustomize.py").write_text(payload)
    (tmp_path / "conftest.py").write_text(payload)
    (tmp_path / "app.py").write_text("import sitecustomize\n" + payload + SWALLOW)
    (tmp_path / "__main__.py").write_text(payload)
    result = _lint(tmp_path)
    assert result.exit_code == 1
    assert not marker.exists()


def test_a_rule_bug_costs_one_file_names_the_rule_and_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import run_cli

    from backlint.api import RULE_PACKAGES
    from backlint.pipeline.registry import load_registry

    rule = load_registry(RULE_PACKAGES).file_rules["BL402"]
    real = rule.visit_ExceptHandler

    def crash_on_one_file(self, node):  # type: ignore[no-untyped-def]
        if self.context.path.endswith("cursed.py"):
            raise RuntimeError("boom")
        return real(self, node)

    monkeypatch.setattr(rule, "visit_ExceptHandler", crash_on_one_file)
    (tmp_path / "cursed.py").write_text(SWALLOW)
    (tmp_path / "fine.py").write_text(SWALLOW)
    result = run_cli(".", "--format", "json", "--jobs", "1", "--no-cache", cwd=tmp_path)
    assert result.exit_code == 2
    assert [f["path"] for f in result.json()["findings"]] == ["fine.py"]
    # The crashed file may hold BL402's project facts (its handlers): the run also says what it could not judge.
    (notice,) = [n for n in result.json()["notices"] if n["path"] == "cursed.py" and n["level"] == "error"]
    assert "BL402" in notice["message"] and "boom" in notice["message"]
    text = run_cli(".", "--jobs", "1", "--no-cache", cwd=tmp_path)
    assert text.exit_code == 2
    assert "Found 1 finding in 2 files; 1 file could not be analysed (see the errors above)." in text.stdout
    (tmp_path / "fine.py").write_text("x = 1\n")
    text = run_cli(".", "--jobs", "1", "--no-cache", cwd=tmp_path)
    assert "All clean" not in text.stdout and "1 file could not be analysed" in text.stdout


def test_warnings_about_the_analysed_code_are_not_printed(tmp_path: Path) -> None:
    """Compiling the analysed code warns about its flaws, with its source line: never on our stderr."""
    from conftest import run_process

    (tmp_path / "hexy.py").write_text("x = 0x1for\n")  # SyntaxWarning from the syntax check
    # An invalid escape in a literal libcst evaluates (SyntaxWarning from Python 3.12 on).
    (tmp_path / "escape.py").write_text(
        'def find(conn, name):\n    return conn.execute("SELECT \\d FROM t WHERE b = " + name)\n'
    )
    result = run_process(".", "--no-cache", cwd=tmp_path)
    assert result.exit_code == 1, result.stderr
    assert "hexy.py:1:" in result.stdout and "escape.py:2:" in result.stdout
    assert "Warning" not in result.stderr, result.stderr


def test_max_file_size_holds_for_standard_input_and_editor_buffers(tmp_path: Path) -> None:
    """Every way in applies max-file-size: a 50 MB buffer on stdin once ended in an out-of-memory abort."""
    from backlint.api import lint_buffer, settings_for
    from backlint.core.catalog import load_catalog
    from backlint.core.config import load_config

    (tmp_path / "pyproject.toml").write_text("[tool.backlint]\nmax-file-size = 1000\n")
    big = SWALLOW + "# padding\n" * 300
    result = run_process("-", "--stdin-filename", "app.py", "--format", "json", cwd=tmp_path, input=big.encode())
    assert result.exit_code == 0 and result.json()["findings"] == []
    assert [n["message"] for n in result.json()["notices"]] == [
        "standard input is longer than max-file-size (1000 bytes), skipped"
    ]
    fixed = run_process("-", "--stdin-filename", "app.py", "--fix", cwd=tmp_path, input=big.encode())
    assert fixed.exit_code == 0 and fixed.stdout == big, "--fix gives an editor its whole buffer back"
    small = run_process("-", "--stdin-filename", "app.py", "--format", "json", cwd=tmp_path, input=SWALLOW.encode())
    assert [f["rule_id"] for f in small.json()["findings"]] == ["BL402"]

    catalog = load_catalog()
    config = load_config(catalog, explicit=None, start=tmp_path)
    settings = settings_for(config, catalog)
    buffer = lint_buffer(big, tmp_path / "app.py", config, catalog, settings)  # the language server's way in
    assert buffer.findings == []
    assert [n.message for n in buffer.notices] == [f"file is {len(big)} bytes, over max-file-size (1000), skipped"]
    assert [f.rule_id for f in lint_buffer(SWALLOW, tmp_path / "app.py", config, catalog, settings).findings] == [
        "BL402"
    ]


def test_newer_syntax_than_the_interpreter_is_not_a_parse_error_where_no_rule_runs(tmp_path: Path) -> None:
    """indico's tests/fixtures: a 3.12 f-string (same quotes nested) in a test-support module, where no
    rule runs and only the syntax is checked: libcst reads it, so it is no BL000 on 3.11 either; a real
    syntax error in such a file still is."""
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_fixtures.py").write_text(
        "def check(missing):\n    raise AssertionError(f'Missing extensions: {', '.join(missing)}')\n"
    )
    (tests / "test_broken.py").write_text("def check(:\n    pass\n")
    found = _findings(_lint(tmp_path))
    assert "tests/test_fixtures.py" not in found
    assert [rule for rule, _, _ in found["tests/test_broken.py"]] == ["BL000"]
