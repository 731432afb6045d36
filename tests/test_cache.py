"""The result cache: warm runs give the same report without parsing, and never trust a bad entry."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_startup_imports import modules_after

import backlint.core.catalog
import backlint.pipeline.cache
import backlint.pipeline.engine
from backlint.core.files import seal
from backlint.core.results import FileResult, Finding, Span
from backlint.pipeline.cache import Cache

SWALLOW = "def run(job):\n    try:\n        job()\n    except Exception:\n        pass\n"
CLEAN = "def run(job):\n    try:\n        job()\n    except KeyError:\n        raise\n"
MAIN = """\
from fastapi import FastAPI

from app.health import router

app = FastAPI()
app.include_router(router)


@app.get("/orders")
async def list_orders():
    return []
"""
HEALTH = """\
from fastapi import APIRouter

router = APIRouter()


@router.get("/health")
async def health():
    return {"status": "ok"}
"""


def _app(project) -> None:  # type: ignore[no-untyped-def]
    project.write("app/__init__.py", "")
    project.write("app/main.py", MAIN)
    project.write("app/health.py", HEALTH)
    project.write("app/jobs.py", SWALLOW)


def _entries(root: Path) -> list[Path]:
    return sorted((root / ".backlint_cache" / f"v{backlint.pipeline.cache.FORMAT}" / "files").glob("[0-9a-f]*"))


def _no_reads(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def fail(path, *args):  # type: ignore[no-untyped-def]
        raise AssertionError(f"{path} was read: the stat index should have answered")

    monkeypatch.setattr(backlint.pipeline.engine, "read_file_bytes", fail)


@pytest.fixture(autouse=True)
def pinned_code_fingerprint(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """In a shared checkout another developer's edit between two runs would (rightly) miss the cache."""
    monkeypatch.setattr(backlint.pipeline.cache, "code_fingerprint", lambda: "pinned")


@pytest.fixture
def trust_fresh_stats(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Files written a moment ago are normally hashed again (their mtime may not have ticked yet)."""
    monkeypatch.setattr(backlint.pipeline.cache, "_RACY_NS", -(10**12))


@pytest.fixture(scope="module")
def frozen_backlint(tmp_path_factory) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """A copy of backlint and its catalog: edits made meanwhile in a shared checkout change no fingerprint."""
    root = tmp_path_factory.mktemp("frozen")
    package = Path(backlint.pipeline.cache.__file__).parent.parent
    shutil.copytree(package, root / "backlint", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(backlint.core.catalog.rules_dir(), root / "rules")
    return {"PYTHONPATH": str(root)}


def test_warm_run_reports_the_same_and_never_imports_libcst(project, frozen_backlint) -> None:  # type: ignore[no-untyped-def]
    _app(project)
    code, cold, modules = modules_after(".", "--format", "json", cwd=project.root, env=frozen_backlint)
    assert code == 1 and "libcst" in modules
    assert {f["rule_id"] for f in json.loads(cold)["findings"]} == {"BL402"}
    assert _entries(project.root), "the cold run writes entries"
    code, warm, modules = modules_after(".", "--format", "json", cwd=project.root, env=frozen_backlint)
    assert code == 1
    assert warm == cold
    assert modules == [], "a warm run reads results: no rule module, no libcst"


def test_cache_dir_holds_a_tag_and_ignores_itself(project) -> None:  # type: ignore[no-untyped-def]
    project.write("jobs.py", SWALLOW)
    project.lint(".")
    cache = project.root / ".backlint_cache"
    assert (cache / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    assert (cache / ".gitignore").read_text().splitlines()[-1] == "*"
    assert not list(cache.rglob("*.tmp"))


def test_a_changed_file_is_linted_again_and_the_others_are_not(project, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _app(project)
    project.lint(".")
    linted: list[str] = []
    real = backlint.pipeline.engine.lint_text

    def spy(source, text, settings):  # type: ignore[no-untyped-def]
        linted.append(source.display)
        return real(source, text, settings)

    monkeypatch.setattr(backlint.pipeline.engine, "lint_text", spy)
    project.write("app/jobs.py", CLEAN)
    result = project.lint(".", "--format", "concise")
    assert linted == ["app/jobs.py"]
    assert result.exit_code == 0, result.stdout


def test_project_rules_rerun_from_cached_facts(project) -> None:  # type: ignore[no-untyped-def]
    """BL603 judges main.py by a route in health.py: either file may come from the cache."""
    project.write("pyproject.toml", "[tool.backlint]\nrequire-health-endpoint = true\n")
    _app(project)
    assert "BL603" not in project.lint(".").stdout
    project.write("app/health.py", HEALTH.replace('"/health"', '"/orders/export"'))
    changed = project.lint(".", "--format", "concise")  # main.py's facts come from the cache
    assert "app/main.py:5:7: BL603" in changed.stdout
    project.write("app/main.py", MAIN + "\n# touched\n")
    again = project.lint(".", "--format", "concise")  # health.py's facts come from the cache
    assert "app/main.py:5:7: BL603" in again.stdout
    project.write("app/health.py", HEALTH)
    assert "BL603" not in project.lint(".").stdout


def test_editing_a_file_without_facts_keeps_the_project_pass_cached(project, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    project.write("pyproject.toml", "[tool.backlint]\nrequire-health-endpoint = true\n")
    _app(project)
    project.write("app/health.py", HEALTH.replace('"/health"', '"/orders/export"'))
    project.write("tests/test_jobs.py", "def test_run():\n    assert True\n")
    assert "app/main.py:5:7: BL603" in project.lint(".", "--format", "concise").stdout
    passes: list[int] = []
    real = backlint.pipeline.engine.project_pass

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        passes.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(backlint.pipeline.engine, "project_pass", spy)
    project.write("tests/test_jobs.py", "def test_run():\n    assert 1 + 1 == 2\n")
    assert "app/main.py:5:7: BL603" in project.lint(".", "--format", "concise").stdout
    assert passes == [], "a test file has no facts: the project findings still hold"
    main = (
        (project.root / "app/main.py")
        .read_text()
        .replace("app = FastAPI()", "app = FastAPI()  # backlint: ignore[BL603]")
    )
    project.write("app/main.py", main)
    result = project.lint(".", "--format", "concise")
    assert "BL603" not in result.stdout, "the file a project finding is in changed: its suppressions are read again"
    assert passes == [1]


def test_stat_index_answers_without_reading_files(project, monkeypatch, trust_fresh_stats) -> None:  # type: ignore[no-untyped-def]
    _app(project)
    cold = project.lint(".", "--format", "json")
    _no_reads(monkeypatch)
    warm = project.lint(".", "--format", "json")
    assert warm.stdout == cold.stdout


def test_same_size_same_mtime_edit_is_still_seen(project, trust_fresh_stats) -> None:  # type: ignore[no-untyped-def]
    """An editor or tool may restore mtime; the ctime (and inode) in the stat signature still change."""
    jobs = project.write("jobs.py", CLEAN)
    assert project.lint(".").exit_code == 0
    before = jobs.stat()
    assert len(SWALLOW) == len(CLEAN)
    time.sleep(0.01)
    jobs.write_text(SWALLOW)
    os.utime(jobs, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert jobs.stat().st_size == before.st_size and jobs.stat().st_mtime_ns == before.st_mtime_ns
    result = project.lint(".", "--format", "concise")
    assert result.stdout.startswith("jobs.py:4:5: BL402")


def test_settings_changes_are_part_of_the_key(project) -> None:  # type: ignore[no-untyped-def]
    project.write("jobs.py", SWALLOW)
    assert project.lint(".").exit_code == 1
    assert project.lint(".", "--ignore", "BL402").exit_code == 0
    project.write("pyproject.toml", '[tool.backlint]\nseverity = { BL402 = "note" }\n')
    result = project.lint(".", "--format", "json")
    assert [f["level"] for f in result.json()["findings"]] == ["note"]


def test_a_moved_file_is_reported_at_its_new_path(project) -> None:  # type: ignore[no-untyped-def]
    project.write("a/jobs.py", SWALLOW)
    project.lint(".")
    (project.root / "a" / "jobs.py").rename(project.root / "a" / "tasks.py")
    assert project.lint(".", "--format", "concise").stdout.startswith("a/tasks.py:4:5: BL402")


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: b"",
        lambda data: data[: len(data) // 2],
        lambda data: data[:-1] + bytes([data[-1] ^ 0xFF]),
        lambda data: b"garbage" * 10,
        lambda data: seal(b"\x80\x05not a pickle", b""),
        lambda data: seal(pickle.dumps(({"not": "findings"}, [], False)), b""),
    ],
    ids=["empty", "truncated", "bit-flip", "garbage", "bad-pickle", "wrong-shape"],
)
def test_corrupt_entries_are_never_trusted(project, damage) -> None:  # type: ignore[no-untyped-def]
    _app(project)
    cold = project.lint(".", "--format", "json")
    entries = _entries(project.root)
    for entry in entries:
        entry.write_bytes(damage(entry.read_bytes()))
    warm = project.lint(".", "--format", "json")
    assert warm.json()["findings"] == cold.json()["findings"]
    assert "damaged cache file" in warm.stderr and "linted again" in warm.stderr  # issue 19 item 6
    assert all(backlint.pipeline.cache.unseal(entry.read_bytes(), 2) for entry in _entries(project.root))


def test_editing_backlint_or_its_catalog_changes_the_fingerprint(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.undo()  # the real fingerprint
    import backlint.core.catalog

    rules = tmp_path / "rules"
    shutil.copytree(backlint.core.catalog.rules_dir(), rules)
    monkeypatch.setattr(backlint.pipeline.cache, "rules_dir", lambda: rules)
    before = backlint.pipeline.cache.code_fingerprint()
    assert backlint.pipeline.cache.code_fingerprint() == before
    rule = sorted(rules.glob("BL*.toml"))[0]
    rule.write_text(rule.read_text() + "\n")
    assert backlint.pipeline.cache.code_fingerprint() != before


class _Exploit:
    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, ("touch pwned",))


def test_a_planted_entry_cannot_run_code(project) -> None:  # type: ignore[no-untyped-def]
    """A cache directory is data from disk (maybe from a checkout): unpickling builds backlint types only."""
    project.write("jobs.py", SWALLOW)
    cold = project.lint(".", "--format", "json")
    for entry in _entries(project.root):
        entry.write_bytes(seal(pickle.dumps(([_Exploit()], [], False)), b""))
    warm = project.lint(".", "--format", "json")
    assert not (project.root / "pwned").exists()
    assert warm.json()["findings"] == cold.json()["findings"]
    assert "damaged cache file" in warm.stderr


def test_no_cache_writes_nothing(project) -> None:  # type: ignore[no-untyped-def]
    project.write("jobs.py", SWALLOW)
    assert project.lint(".", "--no-cache").exit_code == 1
    assert not (project.root / ".backlint_cache").exists()


def test_cache_dir_is_configurable_relative_to_the_project_root(project) -> None:  # type: ignore[no-untyped-def]
    project.write("pyproject.toml", '[tool.backlint]\ncache-dir = "build/lint-cache"\n')
    project.write("src/jobs.py", SWALLOW)
    result = project.lint("src")
    assert result.exit_code == 1
    assert (project.root / "build" / "lint-cache" / "CACHEDIR.TAG").exists()
    assert not (project.root / ".backlint_cache").exists()


def test_bad_cache_dir_value_is_a_config_error(project) -> None:  # type: ignore[no-untyped-def]
    project.write("pyproject.toml", "[tool.backlint]\ncache-dir = 3\n")
    project.write("jobs.py", SWALLOW)
    result = project.lint(".")
    assert result.exit_code == 2
    assert "tool.backlint.cache-dir: expected a directory path" in result.stderr


def test_an_unwritable_cache_warns_once_and_the_run_goes_on(project) -> None:  # type: ignore[no-untyped-def]
    project.write("pyproject.toml", '[tool.backlint]\ncache-dir = "occupied/cache"\n')
    project.write("occupied", "a file where the cache directory's parent should be\n")
    project.write("jobs.py", SWALLOW)
    project.write("tasks.py", SWALLOW)
    result = project.lint(".", "--format", "concise")
    assert result.exit_code == 1
    assert result.stdout.count("BL402") == 2
    assert result.stderr.count("cache disabled") == 1


def test_concurrent_runs_share_the_cache_safely(project, frozen_backlint) -> None:  # type: ignore[no-untyped-def]
    _app(project)
    for n in range(10):
        project.write(f"app/job_{n}.py", SWALLOW.replace("run", f"run_{n}"))
    command = [sys.executable, "-m", "backlint", ".", "--format", "json", "-j", "1"]
    env = {**os.environ, **frozen_backlint}
    expected = subprocess.run(
        [*command, "--no-cache"], cwd=project.root, env=env, capture_output=True, check=False
    ).stdout
    assert b"BL402" in expected
    runs = [
        subprocess.Popen(command, cwd=project.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [out for out, _ in outputs] == [expected] * 3
    assert [err for _, err in outputs] == [b""] * 3
    warm = subprocess.run(command, cwd=project.root, env=env, capture_output=True, check=False)
    assert warm.stdout == expected
    assert not list((project.root / ".backlint_cache").rglob("*.tmp"))


def _result(path: str, n: int) -> FileResult:
    finding = Finding("BL402", path, Span(n, 1, n, 2), "x" * 200, "warning", (n, n))
    return FileResult(path, [finding], None, [])


def test_the_directory_is_pruned_to_its_bound_keeping_this_runs_entries(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache", "fingerprint", max_bytes=20_000)
    keys = [f"{n:032x}" for n in range(200)]
    for n, key in enumerate(keys):
        cache.store(key, _result("a.py", n + 1))
        os.utime(cache.files / key, (1_000_000 + n, 1_000_000 + n))  # entry n was written at time n
    cache.close(used=keys[:5])
    remaining = {p.name for p in cache.files.iterdir()}
    assert sum(p.stat().st_size for p in cache.files.iterdir()) <= 20_000
    assert set(keys[:5]) <= remaining, "entries of the current run survive even when oldest"
    assert keys[-1] in remaining and keys[10] not in remaining, "the oldest others go first"
    assert cache.load(keys[-1], "a.py") is not None


def test_an_entry_read_from_another_directory_shows_its_paths_as_there(tmp_path: Path) -> None:
    """Keys do not depend on the working directory (``entry_key``): a run from ``app/`` reads the
    entry a run from the root wrote, and its findings name the file as the run from ``app/`` does."""
    cache = Cache(tmp_path / "cache", "fingerprint")
    cache.store("k", _result("app/a.py", 1))
    assert [f.path for f in cache.load("k", "app/a.py").findings] == ["app/a.py"]  # type: ignore[union-attr]
    assert [f.path for f in cache.load("k", "a.py").findings] == ["a.py"]  # type: ignore[union-attr]


def test_the_catalog_is_read_back_from_the_user_cache_until_a_rule_file_changes(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import backlint.core.catalog

    rules = tmp_path / "rules"
    shutil.copytree(backlint.core.catalog.rules_dir(), rules)
    monkeypatch.setattr(backlint.core.catalog, "rules_dir", lambda: rules)
    monkeypatch.setenv("BACKLINT_CACHE_HOME", str(tmp_path / "user-cache"))
    parsed: list[int] = []

    def parse():  # type: ignore[no-untyped-def]
        parsed.append(1)
        return backlint.core.catalog._parse_catalog()

    first = backlint.core.catalog.cached_catalog(parse, rules)
    second = backlint.core.catalog.cached_catalog(parse, rules)
    assert len(parsed) == 1
    assert second == first and second.rules["BL402"].summary == first.rules["BL402"].summary
    table = sorted((rules / "tables").glob("*.toml"))[0]
    table.write_text(table.read_text() + "\n# edited\n")
    backlint.core.catalog.cached_catalog(parse, rules)
    assert len(parsed) == 2, "an edited table is parsed again"
    (entry,) = sorted((tmp_path / "user-cache").glob("catalog-*"), key=lambda p: p.stat().st_mtime)[-1:]
    entry.write_bytes(b"corrupt")
    assert backlint.core.catalog.cached_catalog(parse, rules) == first
    assert len(parsed) == 3


def test_a_cache_another_process_is_creating_is_never_taken_for_a_foreign_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pre-commit starts several backlint processes at once, and each worker writes the cache: one of
    them creating the directory must never show the others a half-made cache (a directory with
    files but no tag yet, or a tag half written), which they would refuse as foreign and run
    uncached with a "has no CACHEDIR.TAG" notice."""
    directory = tmp_path / "cache"
    directory.mkdir()
    (directory / f".CACHEDIR.TAG.{os.getpid() + 1}.123456789.tmp").write_bytes(b"Signature: 8a47")
    assert backlint.pipeline.cache.is_ours_or_empty(directory)  # the tag being written by another run

    real_write = backlint.pipeline.cache.atomic_write
    written: list[str] = []

    def watched(path: Path, data: bytes, **kwargs: object) -> None:
        assert backlint.pipeline.cache.is_ours_or_empty(directory), f"foreign while writing {path.name}"
        real_write(path, data, **kwargs)  # type: ignore[arg-type]
        assert backlint.pipeline.cache.is_ours_or_empty(directory), f"foreign after writing {path.name}"
        written.append(path.name)

    monkeypatch.setattr(backlint.pipeline.cache, "atomic_write", watched)
    shutil.rmtree(directory)
    cache = Cache(directory, "fingerprint")
    cache.store("0" * 32, _result("a.py", 1))
    assert cache.writable, cache.problem
    assert written[0] == "CACHEDIR.TAG"

    foreign = tmp_path / "home"
    foreign.mkdir()
    (foreign / ".gitignore").write_text("*\n")
    assert not backlint.pipeline.cache.is_ours_or_empty(foreign)
