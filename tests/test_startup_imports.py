"""Startup cost: what each path imports. `import libcst` alone costs ~140 ms, the rules more.

Measured in fresh interpreters (subprocesses), since this pytest process has imported everything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from backlint.api import RULE_PACKAGES
from backlint.core.catalog import load_catalog
from backlint.pipeline.registry import load_registry

# Runs the real CLI, then reports which heavy modules the process ended up importing.
_PROBE = """
import json, sys
from backlint.cli import main
code = 0
try:
    main(sys.argv[1:], prog_name="backlint")
except SystemExit as exc:
    code = exc.code
heavy = sorted(m for m in sys.modules if m.split(".")[0] == "libcst" or m.startswith("backlint.checks"))
sys.stderr.write("\\n@@modules " + json.dumps(heavy) + "\\n")
sys.exit(code)
"""


def modules_after(*args: str, cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str, list[str]]:
    """(exit code, stdout, heavy modules imported) of ``backlint ARGS`` in a fresh interpreter."""
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
        check=False,
    )
    marker = proc.stderr.rindex("@@modules ")
    modules = json.loads(proc.stderr[marker + len("@@modules ") :].splitlines()[0])
    return proc.returncode, proc.stdout, modules


def _imports_of(statement: str) -> list[str]:
    code = f"import sys\n{statement}\nprint(sorted(m for m in sys.modules if m.split('.')[0] == 'libcst'))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return list(eval(proc.stdout))


def test_version_imports_neither_libcst_nor_the_rules(tmp_path: Path) -> None:
    code, out, modules = modules_after("--version", cwd=tmp_path)
    assert code == 0 and out.startswith("backlint ")
    assert modules == []


def test_a_config_error_exits_before_importing_libcst(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.backlint]\nselect = ['BL9999']\n")
    (tmp_path / "app.py").write_text("x = 1\n")
    code, _, modules = modules_after("app.py", cwd=tmp_path)
    assert code == 2
    assert modules == []


def test_only_files_where_a_trigger_token_occurs_are_parsed_with_libcst(project, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The pre-filter: a file no enabled rule can fire on gets the ``ast`` syntax check only."""
    import libcst

    parsed: list[str] = []
    real_parse = libcst.parse_module

    def counting_parse(source, *args, **kwargs):  # type: ignore[no-untyped-def]
        parsed.append(source)
        return real_parse(source, *args, **kwargs)

    monkeypatch.setattr(libcst, "parse_module", counting_parse)
    project.write("constants.py", "ANSWER = 42\n")
    project.write("jobs.py", "def run(job):\n    try:\n        job()\n    except Exception:\n        pass\n")
    result = project.lint(".", "--select", "BL402", "--no-cache", "--format", "concise")
    assert result.stdout.startswith("jobs.py:4:5: BL402")
    assert parsed == [(project.root / "jobs.py").read_text()]


@pytest.mark.parametrize(
    "module",
    [
        "backlint.cli",
        "backlint.api",
        "backlint.commands.check",
        "backlint.pipeline.engine",
        "backlint.pipeline.cache",
        "backlint.pipeline.discovery",
        "backlint.pipeline.project",
        "backlint.adoption.plan",
        "backlint.report",
    ]
    + [f"backlint.report.{name}" for name in ("text", "json", "github", "sarif")],
)
def test_modules_on_the_warm_path_do_not_import_libcst(module: str) -> None:
    assert _imports_of(f"import {module}") == []


def test_the_catalog_says_which_rules_are_project_rules() -> None:
    """build_settings reads ``project`` from the catalog instead of importing the rules: they must agree."""
    catalog = load_catalog()
    registry = load_registry(RULE_PACKAGES)
    file_rules, project_rules = registry.file_rules, registry.project_rules
    for rule_id in project_rules:
        meta = catalog.rules[rule_id]
        if rule_id in file_rules:  # both: a file rule whose cross-module findings the project pass judges
            assert meta.cross_module and not meta.project, f"{rule_id}: its TOML needs `cross-module = true`"
        else:
            assert meta.project, f"{rule_id} is a ProjectRule: its TOML needs `project = true`"
    for rule_id in file_rules:
        assert not catalog.rules[rule_id].project, f"{rule_id} is a file Rule: its TOML must not say `project = true`"
    for rule_id, meta in catalog.rules.items():
        assert not meta.cross_module or rule_id in project_rules, f"{rule_id}: `cross-module` needs a ProjectRule"
