"""Same answer everywhere (issue 17): one project root, found one way; partial runs (a file, a
directory, standard input) judge the project rules with the facts of the whole project; a file that
does not parse keeps its last good facts, or the findings that depend on it are counted, not judged.

The fixture app is fixtures/endpoints_fastapi built with ``debug=True`` (``debug_shop``: BL401 judges
it), its ``pyproject.toml`` one level below the repository's top, as a user's service in a monorepo has it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import FIXTURES, debug_shop, run_cli

CONFIG = '[tool.backlint]\nextend-select = ["BL407", "BL801", "BL802"]\n'


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def monorepo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """repo/.git, repo/service/pyproject.toml, repo/service/shopapi/...: the project root is service/."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path_factory.mktemp("monorepo")
    debug_shop(shutil.copytree(FIXTURES / "endpoints_fastapi", repo / "service"))
    (repo / "service" / "pyproject.toml").write_text(CONFIG, encoding="utf-8")
    (repo / "README.md").write_text("a monorepo\n", encoding="utf-8")
    _git(repo, "init", "-q")
    return repo


def findings(cwd: Path, *args: str, stdin: str | None = None) -> set[tuple[str, int, str]]:
    """(path relative to the project root, line, rule) of a run from ``cwd``."""
    result = run_cli("--format", "json", *args, cwd=cwd, input=stdin)
    assert result.exit_code in (0, 1), result.stderr
    root = (cwd / "service").resolve() if (cwd / "service").is_dir() else None
    out = set()
    for f in result.json()["findings"]:
        absolute = (cwd / f["path"]).resolve()
        base = root or next(p for p in absolute.parents if (p / "pyproject.toml").is_file())
        out.add((absolute.relative_to(base).as_posix(), f["line"], f["rule_id"]))
    return out


def test_the_same_findings_from_any_directory(monorepo: Path) -> None:
    service = monorepo / "service"
    routers = service / "shopapi" / "routers"
    runs = {
        "repository top": findings(monorepo, "service", "--no-cache"),
        "project root": findings(service, "--no-cache"),
        "package below it": findings(routers, "../..", "--no-cache"),
        "absolute path": findings(routers, str(service), "--no-cache"),
    }
    full = runs["project root"]
    assert {rule for _, _, rule in full} >= {"BL401", "BL406", "BL407", "BL503", "BL801"}
    for where, found in runs.items():
        assert found == full, where


def test_a_partial_run_reports_what_the_full_run_reports_on_its_files(monorepo: Path) -> None:
    """A directory, one file, standard input: the project findings of the app come along (BL401 in
    orders.py needs main.py, which registers no handler; BL801 needs the app's auth setup)."""
    service = monorepo / "service"
    routers = service / "shopapi" / "routers"
    full = findings(service)  # with the cache: the partial runs below read the other files' facts from it
    in_routers = {f for f in full if f[0].startswith("shopapi/routers/")}
    in_orders = {f for f in full if f[0] == "shopapi/routers/orders.py"}
    assert {rule for _, _, rule in in_orders} >= {"BL401", "BL801"}
    assert findings(routers, ".") == in_routers
    assert findings(routers, "orders.py") == in_orders
    assert findings(monorepo, "service/shopapi/routers/orders.py", "--no-cache") == in_orders  # a facts-only pass
    text = (routers / "orders.py").read_text(encoding="utf-8")
    assert findings(service, "--stdin-filename", "shopapi/routers/orders.py", "-", stdin=text) == in_orders
    assert findings(routers, "--stdin-filename", "orders.py", "--no-cache", stdin=text) == in_orders


def test_the_root_without_configuration_is_the_repository_top(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    debug_shop(shutil.copytree(FIXTURES / "endpoints_fastapi", tmp_path / "repo"))
    _git(tmp_path / "repo", "init", "-q")
    routers = tmp_path / "repo" / "shopapi" / "routers"
    result = run_cli("--format", "concise", "--no-cache", "orders.py", cwd=routers)
    assert "orders.py:23:1: BL401 " in result.stdout  # the app in shopapi/main.py was seen


@pytest.fixture
def app_copy(tmp_path: Path) -> Path:
    """A private copy of the fixture app (these tests break its files), root by its pyproject."""
    debug_shop(shutil.copytree(FIXTURES / "endpoints_fastapi", tmp_path / "app"))
    (tmp_path / "app" / "pyproject.toml").write_text(CONFIG, encoding="utf-8")
    return tmp_path / "app"


BROKEN = "def broken(:\n"


def test_a_broken_file_keeps_its_last_good_facts_from_the_cache(app_copy: Path) -> None:
    before = run_cli("--format", "concise", "shopapi/routers/orders.py", cwd=app_copy)
    assert "shopapi/routers/orders.py:23:1: BL401 " in before.stdout
    main = app_copy / "shopapi" / "main.py"
    main.write_text(main.read_text(encoding="utf-8") + BROKEN, encoding="utf-8")
    after = run_cli("--format", "concise", "shopapi/routers/orders.py", cwd=app_copy)
    assert after.stdout == before.stdout  # main.py registers the app: its last good facts still judge
    assert "shopapi/main.py" in after.stderr and "last good version" in after.stderr
    whole = run_cli("--format", "concise", ".", cwd=app_copy)
    assert "shopapi/main.py:" in whole.stdout and " BL000 " in whole.stdout  # the broken file is reported
    assert "shopapi/main.py:20:" not in whole.stdout  # ... but no project finding is pointed into it


def test_without_earlier_facts_dependent_project_findings_are_not_judged(app_copy: Path) -> None:
    orders = app_copy / "shopapi" / "routers" / "orders.py"
    text = orders.read_text(encoding="utf-8")
    orders.write_text(
        text.replace("# expect-not: BL401 -- uvicorn logs", "# backlint: ignore[BL401]  # reviewed"),
        encoding="utf-8",
    )
    main = app_copy / "shopapi" / "main.py"
    main.write_text(main.read_text(encoding="utf-8") + BROKEN, encoding="utf-8")
    result = run_cli(
        "--format", "text", "--no-cache", "--report-unused-ignores", "shopapi/routers/orders.py", cwd=app_copy
    )
    assert " BL401 " not in result.stdout and " BL801 " not in result.stdout
    assert " BL001 " not in result.stdout  # the BL401 suppression may well be used: not called unused
    assert "Project rules not judged in 1 file: a file they depend on could not be analysed" in result.stdout
    assert "shopapi/main.py" in result.stderr and "not judged" in result.stderr
    assert " BL406 " in result.stdout and result.exit_code == 1  # the file rules judged the file as ever
