"""The command line as users and editors drive it: exit codes, selection, stdin, colour, subcommands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_cli, run_process

from backlint import __version__
from backlint.core.catalog import load_catalog

SWALLOW = """\
def save(db):
    try:
        db.commit()
    except Exception:
        pass
"""
BROKEN = "def handler(request)\n    return {}\n"


def rule_ids(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [f["rule_id"] for f in result.json()["findings"]]


# --- exit codes


def test_exit_codes_as_a_real_process(project) -> None:  # type: ignore[no-untyped-def]
    project.write("clean.py", "x = 1\n")
    project.write("dirty.py", SWALLOW)
    assert run_process("clean.py", cwd=project.root).exit_code == 0
    assert run_process("dirty.py", cwd=project.root).exit_code == 1
    assert run_process("dirty.py", "--exit-zero", cwd=project.root).exit_code == 0
    usage = run_process("--no-such-flag", cwd=project.root)
    assert usage.exit_code == 2 and "No such option" in usage.stderr
    project.write("pyproject.toml", "[tool.backlint]\nselect = 'BL4'\n")
    config = run_process("dirty.py", cwd=project.root)
    assert config.exit_code == 2
    assert config.stderr.startswith("backlint: error: ") and "Traceback" not in config.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--select", "BL999", "."), "backlint: error: --select: unknown rule id or prefix 'BL999'"),
        (("--ignore", "XY1", "."), "backlint: error: --ignore: unknown rule id or prefix 'XY1'"),
        (("--extend-select", "BL4,BL99", "."), "backlint: error: --extend-select: unknown rule id or prefix 'BL99'"),
        (("missing.py",), "backlint: error: missing.py: no such file or directory"),
        (("--stdin-filename", "x.py", "clean.py"), "backlint: error: --stdin-filename lints standard input"),
        (("clean.py", "--output", "no/such/dir/out.txt"), "backlint: error: cannot write no/such/dir/out.txt"),
        (("clean.py", "--config", "nowhere.toml"), "does not exist"),
        (("clean.py", "--format", "xml"), "'xml' is not one of"),
        (("rule", "BL999"), "backlint: error: unknown rule 'BL999'"),
    ],
)
def test_user_errors_exit_2_without_traceback(project, args, message) -> None:  # type: ignore[no-untyped-def]
    project.write("clean.py", "x = 1\n")
    result = run_cli(*args, cwd=project.root)  # in-process: an exception would fail the test
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_missing_path_next_to_real_ones_still_reports_and_exits_2(project) -> None:  # type: ignore[no-untyped-def]
    project.write("dirty.py", SWALLOW)
    result = project.lint("dirty.py", "gone.py", "--format", "concise")
    assert result.exit_code == 2
    assert result.stdout.startswith("dirty.py:4:5: BL402")
    assert "backlint: error: gone.py: no such file or directory" in result.stderr


def test_unparsable_files_give_bl000_and_the_run_goes_on(project) -> None:  # type: ignore[no-untyped-def]
    project.write("a_broken.py", BROKEN)
    (project.root / "b_latin1.py").write_bytes(b"x = 1\nname = '\xe9t\xe9'\n")
    project.write("c_dirty.py", SWALLOW)
    result = project.lint(".", "--format", "json")
    assert result.exit_code == 1
    found = [(f["path"], f["line"], f["column"], f["rule_id"]) for f in result.json()["findings"]]
    assert found == [
        ("a_broken.py", 1, 21, "BL000"),
        ("b_latin1.py", 2, 9, "BL000"),  # at the first byte that is not UTF-8
        ("c_dirty.py", 4, 5, "BL402"),
    ]
    messages = [f["message"] for f in result.json()["findings"]]
    assert messages[0].startswith("cannot parse")
    assert messages[1].startswith("cannot decode file")


def test_bl000_is_reported_whatever_is_selected(project) -> None:  # type: ignore[no-untyped-def]
    project.write("broken.py", BROKEN)
    assert rule_ids(project.lint("broken.py", "--select", "BL402", "--format", "json")) == ["BL000"]
    result = project.lint("broken.py", "--select", "BL402", "--ignore", "BL000", "--format", "json")
    assert (rule_ids(result), result.exit_code) == ([], 0)


# --- selection


def test_select_ignore_extend_select(project) -> None:  # type: ignore[no-untyped-def]
    project.write("dirty.py", SWALLOW)
    project.write("broken.py", BROKEN)

    def ids(*args: str) -> set[str]:
        return set(rule_ids(project.lint(".", "--format", "json", *args)))

    assert ids() == {"BL000", "BL402"}
    assert ids("--ignore", "BL402") == {"BL000"}
    assert ids("--ignore", "BL4") == {"BL000"}  # a prefix
    assert ids("--ignore", "bl402,BL000") == set()  # a comma list, any case
    assert ids("--ignore", "BL402", "--ignore", "BL000") == set()  # repeated
    assert ids("--select", "BL4") == {"BL000", "BL402"}
    assert ids("--select", "BL000") == {"BL000"}
    assert ids("--select", "BL000", "--extend-select", "BL402") == {"BL000", "BL402"}
    assert ids("--select", "ALL", "--ignore", "BL0") == {"BL402"}


def test_cli_selection_refines_the_config(project) -> None:  # type: ignore[no-untyped-def]
    project.write("pyproject.toml", '[tool.backlint]\nignore = ["BL402"]\n')
    project.write("dirty.py", SWALLOW)
    assert rule_ids(project.lint("dirty.py", "--format", "json")) == []
    # --select replaces the config's select, but the config's ignore still applies (as in ruff)
    assert rule_ids(project.lint("dirty.py", "--format", "json", "--select", "BL402")) == []
    assert rule_ids(project.lint("dirty.py", "--format", "json", "--extend-select", "BL402")) == []


def test_opt_in_rules_need_extend_select() -> None:
    opt_in = [m.id for m in load_catalog().rules.values() if not m.enabled]
    listed = {r["id"]: r["enabled"] for r in run_cli("rules", "--format", "json").json()}
    assert all(listed[i] is False for i in opt_in)


# --- stdin


def test_stdin_filename_lints_stdin_under_that_name(project) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("--stdin-filename", "app/views.py", "--format", "concise", cwd=project.root, input=SWALLOW)
    assert result.exit_code == 1
    assert result.stdout.startswith("app/views.py:4:5: BL402")
    dash = run_cli("-", "--stdin-filename", "app/views.py", "--format", "concise", cwd=project.root, input=SWALLOW)
    assert dash.stdout == result.stdout
    clean = run_cli("--stdin-filename", "app/views.py", cwd=project.root, input="x = 1\n")
    assert clean.exit_code == 0


def test_dash_alone_reads_stdin(project) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("-", "--format", "json", cwd=project.root, input=SWALLOW)
    assert result.exit_code == 1
    assert rule_ids(result) == ["BL402"]


def test_stdin_uses_the_config_and_per_file_ignores_of_its_name(project) -> None:  # type: ignore[no-untyped-def]
    project.write("svc/pyproject.toml", '[tool.backlint.per-file-ignores]\n"legacy/**" = ["BL4"]\n')
    project.write("svc/other/pyproject.toml", "[project]\nname = 'x'\n")  # no [tool.backlint]: skipped

    def lint(name: str) -> list[str]:
        return rule_ids(run_cli("--stdin-filename", name, "--format", "json", cwd=project.root, input=SWALLOW))

    assert lint("svc/legacy/old.py") == []
    assert lint("svc/other/legacy/old.py") == ["BL402"]  # the glob is anchored at svc/
    assert lint("svc/app/new.py") == ["BL402"]
    assert lint("svc/tests/test_new.py") == []  # a test file by its name: BL402 is for production code


def test_stdin_with_force_exclude(project) -> None:  # type: ignore[no-untyped-def]
    project.write("pyproject.toml", '[tool.backlint]\nextend-exclude = ["generated"]\n')
    args = ("--stdin-filename", "generated/models.py", "--format", "json")
    assert rule_ids(run_cli(*args, cwd=project.root, input=SWALLOW)) == ["BL402"]
    excluded = run_cli(*args, "--force-exclude", cwd=project.root, input=SWALLOW)
    assert (rule_ids(excluded), excluded.exit_code) == ([], 0)


def test_stdin_decodes_like_a_file(project) -> None:  # type: ignore[no-untyped-def]
    result = run_process("--stdin-filename", "x.py", "--format", "concise", cwd=project.root, input=b"name = '\xff'\n")
    assert result.exit_code == 1
    assert result.stdout.startswith("x.py:1:9: BL000 cannot decode file")


# --- colour


def _run_on_tty(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    """Run backlint with stdout on a pseudo-terminal, as a user's shell would."""
    import pty

    master, slave = pty.openpty()
    command = [sys.executable, "-m", "backlint", *args]
    proc = subprocess.Popen(command, cwd=cwd, stdout=slave, stderr=subprocess.DEVNULL, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=120)
    os.close(master)
    return b"".join(chunks).decode()


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_colour_only_on_a_terminal_and_never_with_no_color(project) -> None:  # type: ignore[no-untyped-def]
    project.write("dirty.py", SWALLOW)
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    assert "\033[33mBL402\033[0m" in _run_on_tty(["dirty.py"], project.root, env)
    assert "\033[" not in _run_on_tty(["dirty.py"], project.root, {**env, "NO_COLOR": "1"})
    assert "\033[" not in _run_on_tty(["dirty.py", "--no-color"], project.root, env)
    assert "\033[" not in _run_on_tty(["dirty.py", "--format", "concise"], project.root, env)
    piped = run_process("dirty.py", cwd=project.root)
    assert "\033[" not in piped.stdout


def test_color_flag_forces_colour(project) -> None:  # type: ignore[no-untyped-def]
    project.write("dirty.py", SWALLOW)
    assert "\033[33mBL402\033[0m" in project.lint("dirty.py", "--color").stdout
    out = project.root / "report.txt"
    project.lint("dirty.py", "--color", "--output", str(out))
    assert "\033[" not in out.read_text()  # a file never gets escape codes


# --- subcommands and entry points


def test_version_everywhere(project) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("--version").stdout == f"backlint {__version__}\n"
    module = run_process("--version", cwd=project.root)
    assert (module.exit_code, module.stdout) == (0, f"backlint {__version__}\n")
    script = Path(sys.executable).with_name("backlint")
    if script.exists():  # the console script of an installed backlint
        proc = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=False)
        assert proc.stdout == f"backlint {__version__}\n"


def test_check_subcommand_is_the_default(project) -> None:  # type: ignore[no-untyped-def]
    project.write("dirty.py", SWALLOW)
    explicit = project.lint("check", "dirty.py", "--format", "json")
    implicit = project.lint("dirty.py", "--format", "json")
    assert explicit.stdout == implicit.stdout
    assert rule_ids(explicit) == ["BL402"]


def test_default_path_is_the_current_directory(project) -> None:  # type: ignore[no-untyped-def]
    project.write("pkg/dirty.py", SWALLOW)
    assert rule_ids(project.lint("--format", "json")) == ["BL402"]


def test_rule_prints_its_documentation() -> None:
    result = run_cli("rule", "bl402")
    assert result.exit_code == 0
    text = result.stdout
    meta = load_catalog().rules["BL402"]
    assert text.startswith("## BL402 exception-swallowed\n")
    for heading in ("### What it does", "### Why is this bad?", "### Example", "### Use instead", "### Fix"):
        assert heading in text
    for example in meta.examples:
        assert example.shown.strip() in text
    assert "CWE-390" in text
    # the catalog's examples carry `# expect: BL402` for the tests: not shown to people
    assert any("# expect: BL402" in example.code for example in meta.examples)
    assert "expect:" not in text
    example = next(e for e in meta.examples if "# expect: BL402" in e.code)
    marked = next(line for line in example.code.splitlines() if "# expect: BL402" in line)
    assert marked.split("# expect:")[0].rstrip() + "\n" in text  # the line itself stays, without its marker


def test_rules_lists_every_rule() -> None:
    catalog = load_catalog()
    text = run_cli("rules").stdout.splitlines()
    assert [line.split()[0] for line in text] == list(catalog.rules)
    rows = run_cli("rules", "--format", "json").json()
    assert [r["id"] for r in rows] == list(catalog.rules)
    bl402 = next(r for r in rows if r["id"] == "BL402")
    assert bl402 == {
        "id": "BL402",
        "name": "exception-swallowed",
        "category": "error-handling",
        "level": "warning",
        "enabled": True,
        "precision": "medium",
        "cwe": [390],
        "summary": catalog.rules["BL402"].summary,
        "url": catalog.rules["BL402"].help_uri,
    }


def test_help_lists_the_options() -> None:
    text = run_cli("check", "--help").stdout
    for option in ("--format", "--output", "--select", "--extend-select", "--ignore", "--exit-zero", "--config",
                   "--stdin-filename", "--force-exclude", "--quiet", "--statistics", "--sarif-category"):  # fmt: skip
        assert option in text
