"""Discovery and writes stay in the project (issue 19 item 7), through the real CLI.

A directory symlink is not followed out of the project root, loops end with a notice, ``--fix``
never writes through a symlink to a file outside the project, and a file name that is not UTF-8 is
linted with every report still valid UTF-8 (the name escaped).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_process

SWALLOW = "try:\n    sync()\nexcept Exception:\n    pass\n"
NAME = os.fsdecode(b"caf\xe9.py")


@pytest.fixture
def linked(tmp_path: Path) -> tuple[Path, Path]:
    root, outside = tmp_path / "project", tmp_path / "outside"
    (root / "app").mkdir(parents=True)
    (outside / "lib").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "pyproject.toml").write_text("[tool.backlint]\n")
    (root / "app" / "a.py").write_text(SWALLOW)
    (outside / "lib" / "o.py").write_text(SWALLOW)
    (outside / "secret.py").write_text('password = "hunter2hunter2"\n')
    (root / "app" / "ext").symlink_to(outside / "lib")
    (root / "app" / "s.py").symlink_to(outside / "secret.py")
    (root / "app" / "loop").symlink_to(root / "app")
    (root / "app" / "up").symlink_to("..")
    with open(os.path.join(os.fsencode(root / "app"), b"caf\xe9.py"), "w") as stream:
        stream.write(SWALLOW)
    return root, outside


def test_directory_symlinks_stay_in_the_project_and_loops_end(linked: tuple[Path, Path]) -> None:
    root, _ = linked
    result = run_process(".", "--format", "json", "--no-cache", cwd=root)
    assert result.exit_code == 1 and "Traceback" not in result.stderr, result.stderr
    paths = sorted({f["path"] for f in result.json()["findings"]})
    assert paths == sorted(["app/a.py", f"app/{NAME}", "app/s.py"]), paths  # not app/ext/o.py
    assert "app/ext: directory symlink leads outside the project root, skipped" in result.stderr
    assert "symlink loop" in result.stderr


def test_fix_never_writes_through_a_symlink_out_of_the_project(linked: tuple[Path, Path]) -> None:
    root, outside = linked
    result = run_process(".", "--fix", "--unsafe-fixes", "--no-cache", cwd=root)
    assert "Traceback" not in result.stderr, result.stderr
    assert "app/s.py: not fixed: a symbolic link to a file outside the project" in result.stderr
    assert (outside / "secret.py").read_text() == 'password = "hunter2hunter2"\n'


@pytest.mark.parametrize("fmt", ["json", "sarif", "text", "github"])
def test_a_file_name_that_is_not_utf8_is_linted_and_reports_stay_utf8(linked: tuple[Path, Path], fmt: str) -> None:
    root, _ = linked
    proc = subprocess.run(
        [sys.executable, "-m", "backlint", f"app/{NAME}", "--format", fmt, "--no-cache"],
        cwd=root,
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 1 and b"Traceback" not in proc.stderr, proc.stderr
    text = proc.stdout.decode("utf-8")  # valid UTF-8
    if fmt == "json":
        assert [f["path"] for f in json.loads(text)["findings"]] == [f"app/{NAME}"]
    elif fmt == "sarif":
        result = json.loads(text)["runs"][0]["results"][0]
        assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "app/caf%E9.py"
    else:
        assert "caf\\udce9.py" in text
