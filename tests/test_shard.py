"""CI sharding: ``check --shard i/n`` + ``backlint merge`` give exactly the unsharded run."""

from __future__ import annotations

import dataclasses
import enum
import gzip
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import FIXTURES, run_cli

from backlint.adoption import shard
from backlint.core.results import FileKind, Finding, Span

SUPPRESSIONS = """\
def sync(db):
    try:
        db.commit()
    except Exception:  # backlint: ignore[BL402] -- retried by the scheduler
        pass


def total(rows):
    return sum(r.amount for r in rows)  # backlint: ignore[BL101]
"""

UNSUPPRESSED = SUPPRESSIONS.replace("  # backlint: ignore[BL402] -- retried by the scheduler", "")


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture apps (file and project rules, unparsable files) plus suppressions, committed."""
    root = tmp_path_factory.mktemp("sharded")
    shutil.copytree(FIXTURES, root / "fixtures")
    (root / "fixtures" / "jobs").mkdir()
    (root / "fixtures" / "jobs" / "sync.py").write_text(SUPPRESSIONS)
    (root / "fixtures" / "jobs" / "legacy.py").write_text("print 'still Python 2'\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "-c", "user.email=dev@example.com", "-c", "user.name=Dev", "commit", "-q", "-m", "apps")
    return root


def sharded(root: Path, count: int, *args: str, suffix: str = ".json") -> list[str]:
    outputs = []
    for index in range(1, count + 1):
        output = f"shard-{index}-of-{count}{suffix}"
        result = run_cli("check", "fixtures", *args, "--shard", f"{index}/{count}", "--shard-output", output, cwd=root)
        assert result.exit_code == 0, result.stderr
        assert f"backlint: shard {index}/{count}: " in result.stderr
        outputs.append(output)
    return outputs


SELECTION = ("--select", "ALL", "--report-unused-ignores")


def test_merged_shards_equal_one_unsharded_run(repo: Path) -> None:
    whole_json = run_cli("check", "fixtures", *SELECTION, "--format", "json", cwd=repo)
    whole_sarif = run_cli("check", "fixtures", *SELECTION, "--format", "sarif", cwd=repo)
    assert whole_json.exit_code == 1
    document = whole_json.json()
    rules = {f["rule_id"] for f in document["findings"]}
    assert {"BL000", "BL001", "BL101", "BL402", "BL601", "BL603"} <= rules  # file, project and post-run rules
    outputs = sharded(repo, 3, *SELECTION)
    merged_json = run_cli("merge", *outputs, "--format", "json", cwd=repo)
    assert merged_json.exit_code == 1, merged_json.stderr
    assert merged_json.json() == document
    merged_sarif = run_cli("merge", *outputs, "--output", "merged.sarif", cwd=repo)
    assert merged_sarif.exit_code == 1, merged_sarif.stderr
    assert json.loads((repo / "merged.sarif").read_text("utf-8")) == json.loads(whole_sarif.stdout)
    assert merged_sarif.stderr == whole_sarif.stderr


def test_each_file_is_in_exactly_one_shard(repo: Path) -> None:
    outputs = sharded(repo, 4, "--select", "BL4")
    files = [shard.read(repo / output).files for output in outputs]
    assert all(files)  # each shard got some files
    everything = sorted(item for part in files for item in part)
    assert [position for position, _ in everything] == list(range(len(everything)))
    merged = run_cli("merge", *outputs, "--format", "concise", cwd=repo)
    whole = run_cli("check", "fixtures", "--select", "BL4", "--format", "concise", cwd=repo)
    assert merged.stdout == whole.stdout  # the shards' selection is applied by the merge


def test_shard_of_is_stable_across_machines_and_runs() -> None:
    # Fixed values: a change here would move files between the runners (and caches) of CI setups.
    paths = ("app/main.py", "app/db.py", "app/routes/orders.py", "manage.py")
    assert [shard.shard_of(p, 4) for p in paths] == [2, 2, 1, 3]
    assert [shard.shard_of(p, 3) for p in paths] == [1, 2, 2, 3]
    assert {shard.shard_of(f"pkg/module_{i}.py", 3) for i in range(60)} == {1, 2, 3}
    assert all(shard.shard_of(f"m{i}.py", 1) == 1 for i in range(10))


def test_shard_files_are_plain_json_or_gzip(repo: Path) -> None:
    outputs = sharded(repo, 2, "--select", "BL6", suffix=".json.gz")
    payload = gzip.decompress((repo / outputs[0]).read_bytes())
    document = json.loads(payload)
    assert document["format"] == "backlint-shard"
    assert document["shard"] == [1, 2]
    assert all(isinstance(item, list) and len(item) == 2 for item in document["facts"])
    merged = run_cli("merge", *outputs, "--format", "concise", cwd=repo)
    whole = run_cli("check", "fixtures", "--select", "BL6", "--format", "concise", cwd=repo)
    assert merged.stdout == whole.stdout
    assert merged.exit_code == whole.exit_code == 1
    assert run_cli("merge", *outputs, "--exit-zero", "--quiet", cwd=repo).exit_code == 0


def test_merge_refuses_incomplete_or_mixed_shards(repo: Path) -> None:
    two = sharded(repo, 2, "--select", "BL4")
    three = sharded(repo, 3, "--select", "BL4")
    cases = [
        ([two[0]], "missing shard file(s) for 2/2"),
        ([two[0], two[0], two[1]], "shard 1/2 given twice"),
        ([two[0], three[1]], "shard files come from different splits"),
    ]
    for files, message in cases:
        result = run_cli("merge", *files, cwd=repo)
        assert result.exit_code == 2
        assert message in result.stderr
    other = run_cli("check", "fixtures", "--select", "BL1", "--shard", "2/2", "--shard-output", "other.json", cwd=repo)
    assert other.exit_code == 0
    result = run_cli("merge", two[0], "other.json", cwd=repo)
    assert result.exit_code == 2
    assert "different configurations or rule selections" in result.stderr
    document = json.loads((repo / two[1]).read_text())
    document["backlint"] = "0.0.1"
    (repo / "old.json").write_text(json.dumps(document))
    result = run_cli("merge", two[0], "old.json", cwd=repo)
    assert result.exit_code == 2
    assert "written by backlint 0.0.1" in result.stderr
    (repo / "junk.json").write_text("[]")
    result = run_cli("merge", "junk.json", cwd=repo)
    assert result.exit_code == 2
    assert "not a backlint shard file" in result.stderr


def test_merge_checks_the_configuration_is_the_shards_one(repo: Path) -> None:
    outputs = sharded(repo, 2, "--select", "BL4")
    elsewhere = repo / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    (elsewhere / "pyproject.toml").write_text('[tool.backlint]\nextend-exclude = ["legacy"]\n')
    result = run_cli("merge", *[str(repo / o) for o in outputs], cwd=elsewhere)
    assert result.exit_code == 2
    assert "made with another configuration" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--shard", "1/4"), "--shard needs --shard-output FILE"),
        (("--shard", "5/4", "--shard-output", "x.json"), "--shard: the index must be between 1 and 4"),
        (("--shard", "two", "--shard-output", "x.json"), "--shard: expected INDEX/COUNT such as 1/4"),
        (("--shard", "1/2", "--shard-output", "x.json", "--changed-since", "HEAD"), "not --changed-since"),
    ],
)
def test_shard_usage_errors(repo: Path, args: tuple[str, ...], message: str) -> None:
    result = run_cli("check", "fixtures", *args, cwd=repo)
    assert result.exit_code == 2
    assert message in result.stderr


def test_merge_with_a_baseline(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    for name in ("a", "b", "c", "d"):
        (tmp_path / f"{name}.py").write_text(UNSUPPRESSED)
    assert run_cli("baseline", "--no-cache", cwd=tmp_path).exit_code == 0
    (tmp_path / "e.py").write_text(UNSUPPRESSED)
    outputs = []
    for index in (1, 2):
        output = f"s{index}.json"
        assert run_cli("check", "--shard", f"{index}/2", "--shard-output", output, cwd=tmp_path).exit_code == 0
        outputs.append(output)
    merged = run_cli("merge", *outputs, "--baseline", ".backlint-baseline.json", "--format", "concise", cwd=tmp_path)
    whole = run_cli("check", "--baseline", ".backlint-baseline.json", "--format", "concise", cwd=tmp_path)
    assert merged.stdout == whole.stdout == "e.py:4:5: BL402 " + whole.stdout.split(" BL402 ", 1)[1]


# -- the JSON codec ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Frozen:
    """Stands in for a frozen fact; defined here, so the codec must refuse it (not a backlint type)."""

    name: str


def test_codec_keeps_every_type_facts_use() -> None:
    value = {
        "tuples": ("str", "/health", ("call", "fastapi.Depends", [("ref", "app.db.get_session")], {})),
        "sets": {"a", "b"},
        "frozen": frozenset({1, 2}),
        "int keys": {1: "one", (2, "x"): "two"},
        "dollar keys": {"$t": 1},
        "floats": [0.5, float("inf"), float("-inf")],
        "bytes": b"\x00\xff",
        "enum": FileKind.TEST,
        "finding": Finding("BL101", "app/db.py", Span(1, 2, 3, 4), "msg", "error", statement_lines=(1, 3)),
        "none": None,
    }
    text = json.dumps(shard.encode(value))
    assert shard.decode(json.loads(text)) == value
    assert isinstance(shard.decode(json.loads(text))["tuples"], tuple)


def test_codec_builds_only_backlint_types() -> None:
    with pytest.raises(TypeError):
        shard.encode(_Frozen("x"))
    with pytest.raises(TypeError):
        shard.encode(enum.Enum("Color", "RED").RED)  # type: ignore[attr-defined]
    evils = [{"$dc": "os:system", "f": {}}, {"$o": "subprocess:Popen", "state": {}}]
    evils += [{"$e": "backlint.core.results:Span", "v": 1}, {"$dc": "backlint.core.results:Span", "f": {"evil": 1}}]
    for evil in evils:
        with pytest.raises(shard.ShardError):
            shard.decode(evil)
