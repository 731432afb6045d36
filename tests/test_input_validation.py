"""Every input file backlint reads is validated where it is read (issue 19 item 6).

A configuration, baseline or shard file of the wrong shape ends the run at once with exit 2, the file,
the key and the reason, never a traceback; a damaged cache file is a warning and the file is linted
again; a device given as any of them is refused, never read without end. Each case through the CLI.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest
from conftest import run_cli, run_process

SWALLOW = "def sync(db):\n    try:\n        db.commit()\n    except Exception:\n        pass\n"


def _write_project(root: Path, config: str) -> None:
    (root / "pyproject.toml").write_text(config, encoding="utf-8")
    (root / "app.py").write_text(SWALLOW, encoding="utf-8")


def _usage_error(result, *words: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in result.stderr, (word, result.stderr)


CONFIGS = [
    pytest.param(
        "[tool.backlint]\nx = " + "[" * 100_000 + "]" * 100_000 + "\n", ["nested too deeply"], id="deep-array"
    ),
    pytest.param("[tool]\nbacklint = [1]\n", ["tool.backlint:", "expected a table"], id="section-a-list"),
    pytest.param("tool = 5\n[backlint]\n", [], id="tool-not-a-table"),
    pytest.param(
        "[tool.backlint]\nhealth-path-regex = '('\n", ["health-path-regex", "invalid regular expression"], id="regex"
    ),
    pytest.param("[tool.backlint]\npublic-paths = ['^/ok$', '[']\n", ["public-paths", "'['"], id="regex-in-list"),
    pytest.param(
        "[tool.backlint]\nselect = [['BL1']]\n", ["tool.backlint.select", "list of strings"], id="nested-select"
    ),
    pytest.param(
        "[tool.backlint]\nallowed-in-production = [['faker']]\n", ["allowed-in-production"], id="nested-option"
    ),
    pytest.param(
        "[tool.backlint]\nselect = ['']\n", ["tool.backlint.select", "empty rule selector"], id="empty-selector"
    ),
    pytest.param(
        "[tool.backlint]\nignore = [' ']\n", ["tool.backlint.ignore", "empty rule selector"], id="blank-ignore"
    ),
    pytest.param(
        "[tool.backlint]\ndebug-in-main-guard = 'loud'\n", ["debug-in-main-guard", "'loud'"], id="level-option"
    ),
    pytest.param("[tool.backlint]\ndev-settings-globs = ['a[']\n", ["dev-settings-globs"], id="glob-option"),
    pytest.param(
        "[tool.backlint.tables]\nsql-sinks = [{driver = 'sqlite3', arg = 'zero', function = 'app.run'}]\n",
        ["tool.backlint.tables.sql-sinks", "sql-sinks.arg", "expected an integer", "'zero'"],
        id="table-row-field-type",
    ),
    pytest.param(
        "[tool.backlint.tables]\ndatastore-models = [{name = 'm.M', kind = 'orm', lazy-methods = 'all'}]\n",
        ["datastore-models.lazy-methods", "a list of strings"],
        id="table-row-list-field",
    ),
    pytest.param(
        "[tool.backlint.tables]\nloggers = [5]\n",
        ["tool.backlint.tables.loggers", "must be a table"],
        id="row-not-a-table",
    ),
    pytest.param(
        "[tool.backlint]\nmax-file-size = [" + ", ".join(["1"] * 5000) + "]\n",
        ["max-file-size", "…"],
        id="huge-value-cut",
    ),
]


@pytest.mark.parametrize(("config", "words"), CONFIGS)
def test_a_bad_configuration_fails_at_load_naming_file_key_and_reason(
    tmp_path: Path, config: str, words: list[str]
) -> None:
    _write_project(tmp_path, config)
    result = run_cli("check", ".", cwd=tmp_path)
    if not words:  # not backlint's configuration at all: no [tool.backlint], linted with the defaults
        assert result.exit_code == 1, result.stderr
        return
    _usage_error(result, "pyproject.toml", *words)
    assert len(result.stderr) < 2000  # the value is named, never pages of it


def test_a_valid_user_table_row_still_loads(tmp_path: Path) -> None:
    _write_project(
        tmp_path, "[tool.backlint.tables]\nsql-sinks = [{driver = 'sqlite3', arg = 0, function = 'app.run'}]\n"
    )
    assert run_cli("check", ".", cwd=tmp_path).exit_code == 1


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/full"])
@pytest.mark.parametrize("flag", ["--config", "--baseline"])
def test_a_device_as_config_or_baseline_is_refused(tmp_path: Path, device: str, flag: str) -> None:
    _write_project(tmp_path, "[tool.backlint]\n")
    _usage_error(run_process("check", ".", flag, device, cwd=tmp_path), device, "a device, not a file")


@pytest.mark.parametrize("findings", ["5", "null", '"x"', "[5]", '[{"rule": "BL402"}]'])
def test_a_malformed_baseline_fails_naming_the_file(tmp_path: Path, findings: str) -> None:
    _write_project(tmp_path, "[tool.backlint]\n")
    (tmp_path / "base.json").write_text(f'{{"format": "backlint-baseline", "version": 2, "findings": {findings}}}')
    _usage_error(run_cli("check", ".", "--baseline", "base.json", cwd=tmp_path), "base.json")
    _usage_error(run_cli("baseline", ".", "-o", "base.json", cwd=tmp_path), "base.json")


def test_a_deeply_nested_baseline_fails_naming_the_file(tmp_path: Path) -> None:
    _write_project(tmp_path, "[tool.backlint]\n")
    (tmp_path / "base.json").write_text("[" * 100_000 + "]" * 100_000)
    _usage_error(run_cli("check", ".", "--baseline", "base.json", cwd=tmp_path), "base.json")


@pytest.fixture
def shard(tmp_path: Path) -> Path:
    _write_project(tmp_path, "[tool.backlint]\n")
    result = run_cli("check", ".", "--shard", "1/1", "--shard-output", "s.json", cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    return tmp_path


def _span(document: dict) -> dict:  # type: ignore[type-arg]
    return document["findings"][0]["f"]["span"]["f"]  # type: ignore[no-any-return]


DAMAGE = [
    pytest.param(lambda d: _span(d).update(line="x"), "Span.line", id="field-type"),
    pytest.param(lambda d: d["findings"][0]["f"].pop("message"), "expected the fields", id="missing-field"),
    pytest.param(lambda d: d.update(findings=5), "malformed shard file", id="findings-not-a-list"),
    pytest.param(lambda d: d.update(findings=[5]), "expected Finding entries", id="finding-not-a-finding"),
    pytest.param(lambda d: d.update(facts=[[0, "x"]]), "expected ModuleFacts", id="facts"),
    pytest.param(lambda d: d["selection"].update(select=[1]), "selection.select", id="selection"),
    pytest.param(lambda d: d.update(shard=[0, 0]), "shard 0/0", id="shard-index"),
    pytest.param(lambda d: d.update(files=5), "malformed shard file", id="files"),
]


@pytest.mark.parametrize(("damage", "words"), DAMAGE)
def test_a_malformed_shard_file_fails_the_merge_naming_it(shard: Path, damage, words: str) -> None:  # type: ignore[no-untyped-def]
    document = json.loads((shard / "s.json").read_text("utf-8"))
    damage(document)
    (shard / "bad.json").write_text(json.dumps(document), encoding="utf-8")
    _usage_error(run_cli("merge", "bad.json", cwd=shard), "bad.json", words)


def test_shard_files_that_are_not_shards_fail_the_merge(shard: Path) -> None:
    (shard / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    _usage_error(run_cli("merge", "deep.json", cwd=shard), "deep.json")
    (shard / "bomb.json.gz").write_bytes(gzip.compress(b" " * (4 << 20)))
    _usage_error(run_cli("merge", "bomb.json.gz", cwd=shard), "bomb.json.gz")
    _usage_error(run_process("merge", "/dev/zero", cwd=shard), "/dev/zero", "a device")


def test_a_damaged_cache_file_is_a_warning_and_a_relint(tmp_path: Path) -> None:
    _write_project(tmp_path, "[tool.backlint]\n")
    first = run_cli("check", ".", "--format", "json", cwd=tmp_path)
    entries = list((tmp_path / ".backlint_cache").rglob("files/*"))
    assert entries
    entries[0].write_bytes(b"garbage")
    index = entries[0].parent.parent / "stat-index"  # .backlint_cache/v<cache format>/stat-index
    index.unlink(missing_ok=True)
    index.symlink_to("/dev/zero")
    second = run_cli("check", ".", "--format", "json", cwd=tmp_path)
    assert second.exit_code == first.exit_code == 1
    assert second.json()["findings"] == first.json()["findings"]
    assert "damaged cache file" in second.stderr and "linted again" in second.stderr
    third = run_cli("check", ".", "--format", "json", cwd=tmp_path)  # rewritten: quiet again
    assert "damaged" not in third.stderr or "stat-index" in third.stderr


def test_a_report_that_cannot_be_written_is_exit_2_and_no_traceback(tmp_path: Path) -> None:
    _write_project(tmp_path, "[tool.backlint]\n")
    for args in ((), ("--format", "sarif"), ("--format", "json")):
        _usage_error(run_process("check", ".", "-o", "/dev/full", *args, cwd=tmp_path), "/dev/full")
    with open("/dev/full", "wb") as full:
        import subprocess
        import sys

        proc = subprocess.run(
            [sys.executable, "-m", "backlint", "check", ".", "--format", "sarif"],
            cwd=tmp_path,
            stdout=full,
            stderr=subprocess.PIPE,
            check=False,
        )
    assert proc.returncode == 2 and b"Traceback" not in proc.stderr, proc.stderr
    assert b"cannot write the report to standard output" in proc.stderr


def test_a_sarif_report_is_replaced_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``-o`` goes through backlint/core/files.py's atomic_write: a write that fails leaves the old report."""
    _write_project(tmp_path, "[tool.backlint]\n")
    out = tmp_path / "report.sarif"
    assert run_cli("check", ".", "--format", "sarif", "-o", str(out), "--no-cache", cwd=tmp_path).exit_code == 1
    before = out.read_bytes()
    json.loads(before)

    def interrupted(source: object, target: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", interrupted)
    result = run_cli("check", ".", "--format", "sarif", "--select", "ALL", "-o", str(out), "--no-cache", cwd=tmp_path)
    _usage_error(result, "cannot write", "report.sarif")
    assert out.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
