"""Which files a run lints: directories walked, default and configured excludes, .gitignore, named files."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from backlint.core.config import DEFAULT_EXCLUDES

SWALLOW = "def save(db):\n    try:\n        db.commit()\n    except Exception:\n        pass\n"


def linted(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [f["path"] for f in result.json()["findings"]]


def git(cwd, *args: str) -> None:  # type: ignore[no-untyped-def]
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def test_walks_py_and_pyi_files_only(project) -> None:  # type: ignore[no-untyped-def]
    project.write("pkg/a.py", SWALLOW)
    project.write("pkg/sub/b.pyi", SWALLOW)
    project.write("pkg/notes.txt", SWALLOW)
    project.write("pkg/script", SWALLOW)
    project.write("pkg/c.pyc", SWALLOW)
    assert linted(project.lint(".", "--format", "json")) == ["pkg/a.py", "pkg/sub/b.pyi"]


@pytest.mark.parametrize(
    "directory",
    [".git", ".venv", "venv", "node_modules", "__pycache__", "build", "dist", ".tox", ".nox", ".mypy_cache",
     "site-packages", "pkg.egg-info", ".eggs"],
)  # fmt: skip
def test_default_excludes(project, directory: str) -> None:  # type: ignore[no-untyped-def]
    project.write(f"app/{directory}/lib/mod.py", SWALLOW)
    project.write("app/views.py", SWALLOW)
    assert linted(project.lint(".", "--format", "json")) == ["app/views.py"]


def test_default_excludes_cover_the_issue_list() -> None:
    for name in (".git", ".venv", "venv", "node_modules", "__pycache__", "build", "dist", ".tox"):
        assert name in DEFAULT_EXCLUDES


def test_exclude_globs(project) -> None:  # type: ignore[no-untyped-def]
    project.write(
        "pyproject.toml",
        '[tool.backlint]\nextend-exclude = ["generated", "app/legacy/*.py", "**/*_pb2.py"]\n',
    )
    for path in ("app/generated/x.py", "lib/generated/y.py", "app/legacy/old.py", "app/legacy/keep/ok.py",
                 "lib/app/legacy/kept.py", "proto/user_pb2.py", "app/views.py"):  # fmt: skip
        project.write(path, SWALLOW)
    assert linted(project.lint(".", "--format", "json")) == [
        "app/legacy/keep/ok.py",  # `*` stops at a slash
        "app/views.py",
        "lib/app/legacy/kept.py",  # a pattern with a slash is anchored at the project root
    ]


def test_excludes_are_relative_to_the_config_not_the_cwd(project) -> None:  # type: ignore[no-untyped-def]
    from conftest import run_cli

    project.write("pyproject.toml", '[tool.backlint]\nextend-exclude = ["app/legacy"]\n')
    project.write("app/legacy/old.py", SWALLOW)
    project.write("app/views.py", SWALLOW)
    assert linted(run_cli(".", "--format", "json", cwd=project.root / "app")) == ["views.py"]


def test_named_files_are_linted_even_if_excluded_unless_force_exclude(project) -> None:  # type: ignore[no-untyped-def]
    project.write("pyproject.toml", '[tool.backlint]\nextend-exclude = ["generated"]\n')
    project.write("generated/models.py", SWALLOW)
    project.write("build/setup_helpers.py", SWALLOW)
    project.write("app/views.py", SWALLOW)
    named = ("generated/models.py", "build/setup_helpers.py", "app/views.py")
    assert linted(project.lint(*named, "--format", "json")) == sorted(named)
    forced = project.lint(*named, "--format", "json", "--force-exclude")
    assert linted(forced) == ["app/views.py"]
    # what pre-commit does: every file excluded -> nothing to do, exit 0
    only_excluded = project.lint("generated/models.py", "--force-exclude", "--format", "json")
    assert (linted(only_excluded), only_excluded.exit_code) == ([], 0)


def test_named_file_need_not_end_in_py(project) -> None:  # type: ignore[no-untyped-def]
    project.write("services/worker", SWALLOW)  # not under bin/: that is a script's place (BL402 judges production)
    assert linted(project.lint("services/worker", "--format", "json")) == ["services/worker"]


@needs_git
def test_gitignored_files_are_skipped_in_a_checkout(project) -> None:  # type: ignore[no-untyped-def]
    git(project.root, "init", "-q")
    project.write(".gitignore", "local_settings.py\n/scratch/\n")
    project.write("app/.gitignore", "*_generated.py\n")
    for path in ("app/views.py", "app/local_settings.py", "scratch/try.py", "app/api_generated.py", "app/scratch/x.py"):
        project.write(path, SWALLOW)
    assert linted(project.lint(".", "--format", "json")) == ["app/scratch/x.py", "app/views.py"]
    # named explicitly: linted all the same, unless --force-exclude
    assert linted(project.lint("app/local_settings.py", "--format", "json")) == ["app/local_settings.py"]
    assert linted(project.lint("app/local_settings.py", "--format", "json", "--force-exclude")) == []


@needs_git
def test_gitignore_can_be_turned_off(project) -> None:  # type: ignore[no-untyped-def]
    git(project.root, "init", "-q")
    project.write(".gitignore", "local_settings.py\n")
    project.write("pyproject.toml", "[tool.backlint]\nrespect-gitignore = false\n")
    project.write("local_settings.py", SWALLOW)
    assert linted(project.lint(".", "--format", "json")) == ["local_settings.py"]


def test_gitignore_outside_a_checkout_is_ignored(project) -> None:  # type: ignore[no-untyped-def]
    if any((d / ".git").exists() for d in project.root.parents):
        pytest.skip("the temporary directory is inside a git checkout")
    project.write(".gitignore", "local_settings.py\n")
    project.write("local_settings.py", SWALLOW)
    assert linted(project.lint(".", "--format", "json")) == ["local_settings.py"]


def test_directory_symlink_loops_end(project) -> None:  # type: ignore[no-untyped-def]
    project.write("pkg/a.py", SWALLOW)
    os.symlink(project.root / "pkg", project.root / "pkg" / "again")
    result = project.lint(".", "--format", "json")
    assert linted(result) == ["pkg/a.py"]
    assert "directory symlink loop" in result.stderr


def test_broken_symlink_named_on_the_command_line(project) -> None:  # type: ignore[no-untyped-def]
    os.symlink(project.root / "gone.py", project.root / "dangling.py")
    result = project.lint("dangling.py", "--format", "json")
    (finding,) = result.json()["findings"]
    assert (finding["rule_id"], finding["message"]) == ("BL000", "cannot read file: broken symbolic link")
    assert result.exit_code == 1


def test_the_same_file_named_twice_is_linted_once(project) -> None:  # type: ignore[no-untyped-def]
    project.write("app/views.py", SWALLOW)
    result = project.lint("app", "app/views.py", "./app/views.py", "--format", "json")
    assert linted(result) == ["app/views.py"]
    assert result.json()["summary"]["files"] == 1


def test_absolute_paths_display_relative_to_the_cwd(project) -> None:  # type: ignore[no-untyped-def]
    path = project.write("app/views.py", SWALLOW)
    assert linted(project.lint(str(path), "--format", "json")) == ["app/views.py"]
    assert linted(project.lint(str(project.root), "--format", "json")) == ["app/views.py"]
