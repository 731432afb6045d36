"""``--format sarif`` through Microsoft's SARIF Multitool with GitHub's ingestion rules.

The Multitool is the npm package ``@microsoft/sarif-multitool`` (a self-contained binary; ``.ci/run``
installs it). Its exit code is 0 even when it reports errors, so the verdict is read from its output
log. A file it cannot deserialize is reported clean, which is why test_sarif.py checks the schema
first; here a deliberately broken log proves the Multitool is really judging.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, ROOT, run_cli

from backlint.core.catalog import load_catalog
from backlint.core.results import Finding, RunResult, Span
from backlint.report import sarif
from backlint.report.model import ReportInput
from backlint.report.sarif import within_result_limit

MULTITOOL_VERSION = "5.7.0"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# SARIF2006 fetches every URI in the log over the network: off (the machine has no internet).
VALIDATION_CONFIG = """\
<?xml version="1.0" encoding="utf-8"?>
<Properties>
  <Properties Key="SARIF2006.UrisShouldBeReachable.Options">
    <Property Key="RuleEnabled" Value="Disabled" Type="Driver.RuleEnabledState" />
  </Properties>
</Properties>
"""
# SARIF2002 asks for message ids with arguments, which GitHub rejects (GH1007): not ours to follow.
CONTRADICTS_GITHUB = {"SARIF2002"}

SWALLOW = "def save(db):\n    try:\n        db.commit()\n    except Exception:\n        pass\n"


def multitool_home() -> Path:
    """Where ``.ci/run`` installs the Multitool (``SARIF_MULTITOOL_HOME`` overrides it)."""
    if os.environ.get("SARIF_MULTITOOL_HOME"):
        return Path(os.environ["SARIF_MULTITOOL_HOME"])
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "backlint" / f"sarif-multitool-{MULTITOOL_VERSION}"


def _require(ok: bool, reason: str) -> None:
    """Skip on a developer machine that cannot have the Multitool; in CI that is a failure."""
    if not ok:
        if IN_CI:
            pytest.fail(f"{reason} (CI must run this test; .ci/run installs the Multitool)")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def multitool() -> Path:
    """The Multitool binary, installed from npm into ``multitool_home()`` if it is not there yet."""
    package = {"linux": "sarif-multitool-linux", "darwin": "sarif-multitool-darwin"}.get(sys.platform)
    _require(package is not None and platform.machine() in ("x86_64", "AMD64"), "no Multitool build for this OS")
    home = multitool_home()
    binary = home / "node_modules" / "@microsoft" / str(package) / "Sarif.Multitool"
    if not binary.exists():
        npm = shutil.which("npm")
        _require(npm is not None, "npm is not installed")
        command = [str(npm), "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(home)]
        proc = subprocess.run(
            [*command, f"@microsoft/sarif-multitool@{MULTITOOL_VERSION}"],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
    assert binary.exists(), f"{binary} missing after npm install"
    return binary


def multitool_verdict(multitool: Path, logs: list[Path], workdir: Path) -> dict[str, list[str]]:
    """Errors and warnings the Multitool (SARIF and GitHub rules) reports, per validated file name."""
    config = workdir / "sarif-validate.xml"
    config.write_text(VALIDATION_CONFIG, encoding="utf-8")
    output = workdir / "validation.sarif"
    command = [str(multitool), "validate", "--log", "ForceOverwrite", "--config", str(config)]
    # Called directly: npm's shim goes through a shell, which would split "Sarif;Gh" at the ';'.
    command += ["--rule-kind", "Sarif;Gh", "--output", str(output), *map(str, logs)]
    # Invariant globalization: the binary then runs without ICU installed (tested, same verdicts).
    env = {**os.environ, "DOTNET_CLI_TELEMETRY_OPTOUT": "1", "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT": "1"}
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, check=False)
    assert output.exists(), proc.stdout + proc.stderr
    verdict: dict[str, list[str]] = {log.name: [] for log in logs}
    for run in json.loads(output.read_text(encoding="utf-8"))["runs"]:
        for result in run.get("results", []):
            level = result.get("level", "warning")
            if level not in ("error", "warning") or result["ruleId"] in CONTRADICTS_GITHUB:
                continue
            uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            where = ", ".join(result["message"].get("arguments", [])[:1])
            verdict[Path(uri).name].append(f"{level} {result['ruleId']} {where}")
    return verdict


def _sarif(out: Path, *args: str, cwd: Path) -> Path:
    result = run_cli(*args, "--format", "sarif", "--output", str(out), cwd=cwd)
    assert result.exit_code in (0, 1), result.stderr
    return out


def test_fixtures_and_edge_cases_pass_github_ingestion_rules(multitool: Path, tmp_path: Path) -> None:
    project = tmp_path / "shop"
    (project / "app").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[tool.backlint]\n", encoding="utf-8")
    (project / "app" / "café orders.py").write_bytes(SWALLOW.replace("\n", "\r\n").encode("utf-8"))
    (project / "app" / "views.py").write_text(SWALLOW + "# backlint: ignore-file[BL402]\n", encoding="utf-8")
    (project / "app" / "broken.py").write_text("def checkout(:\n", encoding="utf-8")

    logs = [
        _sarif(tmp_path / "fixtures.sarif", FIXTURES.name, "--select", "ALL", cwd=ROOT),
        _sarif(
            tmp_path / "fixtures-suppressed.sarif",
            *(FIXTURES.name, "--select", "ALL", "--sarif-include-suppressed", "--sarif-category", "backend"),
            cwd=ROOT,
        ),
        _sarif(tmp_path / "edge-cases.sarif", ".", "--sarif-include-suppressed", cwd=project),
    ]
    edge = json.loads(logs[2].read_text(encoding="utf-8"))
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in edge["runs"][0]["results"]}
    assert uris == {"app/caf%C3%A9%20orders.py", "app/views.py", "app/broken.py"}
    notifications = edge["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert [n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for n in notifications] == [
        "app/broken.py"
    ]

    # the control: GitHub requires help.text on every rule, so this one must be rejected
    broken: dict[str, Any] = json.loads(logs[2].read_text(encoding="utf-8"))
    del broken["runs"][0]["tool"]["driver"]["rules"][0]["help"]
    control = tmp_path / "control.sarif"
    control.write_text(json.dumps(broken), encoding="utf-8")

    verdict = multitool_verdict(multitool, [*logs, control], tmp_path)
    assert [v for v in verdict["control.sarif"] if "GH2012" in v], verdict
    del verdict["control.sarif"]
    assert verdict == {log.name: [] for log in logs}


def _finding(number: int, level: str) -> Finding:
    line = number % 20 + 1
    return Finding("BL402", f"app/module_{number // 20}.py", Span(line, 5, line, 9), "swallowed", level)


def test_results_past_githubs_limit_keep_the_most_severe() -> None:
    findings = [_finding(n, "note") for n in range(4)] + [_finding(n, "error") for n in range(4, 6)]
    kept, dropped = within_result_limit(findings, limit=3)
    assert dropped == 3
    assert [f.level for f in kept] == ["error", "error", "note"]
    assert within_result_limit(findings) == (findings, 0)


def test_sarif_past_githubs_limit_is_cut_with_a_notification(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The 25,000 of GitHub's limit, scaled down to 50 so the test stays fast."""
    monkeypatch.setattr(sarif, "MAX_RESULTS", 50)
    monkeypatch.chdir(tmp_path)  # the findings' files do not exist: no line hashes to read
    findings = [_finding(n, "warning") for n in range(50)] + [_finding(n, "error") for n in range(7)]
    data = ReportInput(
        result=RunResult(findings=findings, notices=[], files=1, internal_errors=0),
        catalog=load_catalog(),
        enabled_rules=["BL402"],
        color=False,
        statistics=False,
        sarif_category=None,
    )
    (run,) = json.loads(sarif.render_sarif(data))["runs"]
    assert len(run["results"]) == 50
    assert sum(r["level"] == "error" for r in run["results"]) == 7
    assert run["invocations"][0]["executionSuccessful"] is True
    (note,) = run["invocations"][0]["toolExecutionNotifications"]
    assert note["level"] == "warning"
    assert note["message"]["text"].startswith("7 lower-severity results were left out: GitHub code scanning rejects")
