"""The files a user installs and links to: LICENSE, the project URLs, the sdist's include list, the
pre-commit manifest against README.md, and action.yml, whose steps' shell commands are run here the
way a GitHub runner runs them (bash -eo pipefail, $GITHUB_OUTPUT, expressions substituted)."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import HANDLED, IN_CI, SWALLOWED

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11
    import tomli as tomllib

yaml = pytest.importorskip("yaml")  # PyYAML, installed with pre-commit (the `test` extra)

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))


def canonical_base() -> str:
    """The repository every link of backlint derives from (REPOSITORY_URL), read from the package's
    source text (wherever the module defining it lives), so this test does not depend on the layout."""
    found, docs = [], []
    for path in sorted((ROOT / "backlint").rglob("*.py")):
        text = path.read_text("utf-8")
        found += re.findall(r'^REPOSITORY_URL\s*(?::\s*\w+\s*)?=\s*"([^"]+)"', text, re.MULTILINE)
        docs += re.findall(r"^DOCS_URL\s*(?::\s*\w+\s*)?=\s*(.+)$", text, re.MULTILINE)
    assert len(found) == 1, f"expected one REPOSITORY_URL definition in backlint/, found {found}"
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", found[0]), found[0]
    assert docs == ['REPOSITORY_URL + "/blob/main/docs/rules.md#{anchor}"'], f"DOCS_URL is not derived from it: {docs}"
    return found[0]


# --- LICENSE, project URLs, sdist -------------------------------------------------------------------


def test_license_file_is_the_mit_license_pyproject_declares() -> None:
    project = PYPROJECT["project"]
    assert project["license"] == "MIT"
    assert project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text("utf-8")
    assert text.startswith("MIT License\n")
    assert "Permission is hereby granted, free of charge, to any person obtaining a copy" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND' in text
    holder = re.search(r"^Copyright \(c\) (\d{4}) (.+)$", text, re.MULTILINE)
    assert holder, "LICENSE has no copyright line"
    assert holder.group(2) == project["authors"][0]["name"]


def test_project_urls_point_at_the_repository_docs_url_links_into() -> None:
    base = canonical_base()
    urls = PYPROJECT["project"]["urls"]
    assert {"Homepage", "Documentation", "Repository", "Issues", "Changelog"} <= set(urls)
    for name, url in urls.items():
        assert url == base or url.startswith(base + "/"), f"[project.urls] {name} = {url} is not under {base}"
    assert urls["Changelog"].endswith("/CHANGELOG.md")


def test_sdist_include_list_names_only_files_that_exist() -> None:
    include = PYPROJECT["tool"]["hatch"]["build"]["targets"]["sdist"]["include"]
    missing = [name for name in include if not (ROOT / name).exists()]
    assert not missing, f"the sdist include list names files that do not exist: {missing}"
    # What the tests read must travel with them.
    assert {"tests", "fixtures", "docs", "rules", "LICENSE", "CHANGELOG.md", ".pre-commit-hooks.yaml"} <= set(include)


def test_changelog_has_unreleased_and_the_current_version() -> None:
    text = (ROOT / "CHANGELOG.md").read_text("utf-8")
    version = PYPROJECT["project"]["version"]
    assert "## [Unreleased]" in text
    assert re.search(rf"^## \[{re.escape(version)}\]", text, re.MULTILINE), f"no section for {version}"
    for link in re.findall(r"^\[[^\]]+\]: (\S+)$", text, re.MULTILINE):
        assert link.startswith(canonical_base() + "/"), link


# --- pre-commit manifest and the documented snippets ------------------------------------------------


def _precommit_snippets() -> list[tuple[str, dict[str, Any]]]:
    """Every `.pre-commit-config.yaml` repo entry shown in README.md and docs/*.md that uses backlint."""
    found = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for block in re.findall(r"^( *)```yaml\n(.*?)^\1```", doc.read_text("utf-8"), re.MULTILINE | re.DOTALL):
            body = "\n".join(line[len(block[0]) :] for line in block[1].splitlines())
            data = yaml.safe_load(body)
            if isinstance(data, dict) and isinstance(data.get("repos"), list):
                found += [(doc.name, repo) for repo in data["repos"] if "backlint" in str(repo.get("repo", ""))]
    return found


def test_readme_and_docs_hook_snippets_match_the_manifest() -> None:
    base = canonical_base()
    manifest = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text("utf-8"))
    ids = {hook["id"] for hook in manifest}
    snippets = _precommit_snippets()
    assert "README.md" in {doc for doc, _ in snippets}, "README.md shows no pre-commit snippet"
    tag = "v" + PYPROJECT["project"]["version"]
    for doc, repo in snippets:
        assert repo["repo"] == base, f"{doc}: repo {repo['repo']} is not {base}"
        assert repo["rev"] == tag, f"{doc}: rev {repo['rev']} is not the tag of this version ({tag})"
        shown = {hook["id"] for hook in repo["hooks"]}
        assert shown <= ids, f"{doc} shows hook ids the manifest lacks: {shown - ids}"
    readme_ids = {hook["id"] for doc, repo in snippets if doc == "README.md" for hook in repo["hooks"]}
    assert readme_ids == ids, "README.md should show every hook of .pre-commit-hooks.yaml"


def test_manifest_comment_names_the_canonical_repository_and_the_tag_convention() -> None:
    text = (ROOT / ".pre-commit-hooks.yaml").read_text("utf-8")
    comments = "\n".join(line for line in text.splitlines() if line.lstrip().startswith("#"))
    assert re.findall(r"https://github\.com/\S+", comments) == [canonical_base()] * 2
    assert f"rev: v{PYPROJECT['project']['version']}" in comments
    assert "try-repo" in comments


# --- GitHub workflow snippets in the docs -----------------------------------------------------------


def _action() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "action.yml").read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def test_workflow_docs_grant_what_upload_sarif_needs_and_use_one_version_of_each_action() -> None:
    """Every workflow job in the docs that uploads SARIF has the permissions upload-sarif needs (actions:
    read for private repositories); every action is used at one version across the docs, the version
    action.yml uses where it uses it."""
    versions: dict[str, set[str]] = {}
    for step in _action()["runs"]["steps"]:
        if "uses" in step:
            action, version = step["uses"].split("@", 1)
            versions.setdefault(action, set()).add(version)
    jobs_seen = 0
    for name in ("github-code-scanning.md", "adoption.md"):
        text = (ROOT / "docs" / name).read_text("utf-8")
        for block in re.findall(r"^```yaml\n(.*?)^```", text, re.MULTILINE | re.DOTALL):
            workflow = yaml.safe_load(block)
            if not isinstance(workflow, dict) or "jobs" not in workflow:
                continue
            for job_name, job in workflow["jobs"].items():
                jobs_seen += 1
                uses = [step["uses"] for step in job.get("steps", []) if "uses" in step]
                for use in uses:
                    action, version = use.split("@", 1)
                    versions.setdefault(action, set()).add(version)
                if any(use.startswith(("github/codeql-action/upload-sarif@", "backlint/backlint@")) for use in uses):
                    assert job.get("permissions") == {
                        "actions": "read",
                        "contents": "read",
                        "security-events": "write",
                    }, f"{name} {job_name}: permissions"
    assert jobs_seen >= 4
    mixed = {action: found for action, found in versions.items() if len(found) > 1}
    assert not mixed, f"actions used at more than one version: {mixed}"


# --- action.yml, run step by step -------------------------------------------------------------------

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
CONDITION = re.compile(r"^([\w.-]+)\s*(==|!=)\s*'([^']*)'$")


@dataclasses.dataclass
class ActionRun:
    """One invocation of the composite action: step outputs, the upload it asked for, the result."""

    inputs: dict[str, str]
    action_path: Path
    workspace: Path
    runner_temp: Path
    python: str | None = None  # preset: the install step is not run again
    outputs: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)
    uploads: list[dict[str, str]] = dataclasses.field(default_factory=list)
    logs: list[str] = dataclasses.field(default_factory=list)
    failed_step: str | None = None
    exit_code: int = 0

    def value(self, expression: str) -> str:
        parts = expression.split(".")
        if parts[0] == "inputs" and len(parts) == 2:
            return self.inputs[parts[1]]
        if parts == ["github", "action_path"]:
            return str(self.action_path)
        if parts[0] == "steps" and len(parts) == 4 and parts[2] == "outputs":
            return self.outputs.get(parts[1], {}).get(parts[3], "")
        raise AssertionError(f"action.yml uses an expression this test does not know: {expression}")

    def substitute(self, text: str) -> str:
        return EXPRESSION.sub(lambda m: self.value(m.group(1)), text)

    def condition(self, expression: str) -> bool:
        result = True
        for term in expression.split("&&"):
            match = CONDITION.match(term.strip())
            assert match, f"action.yml condition this test cannot evaluate: {expression}"
            left, operator, right = match.groups()
            result &= (self.value(left) == right) == (operator == "==")
        return result


def _inputs(**given: str) -> dict[str, str]:
    declared = _action()["inputs"]
    unknown = set(given) - set(declared)
    assert not unknown, f"not inputs of action.yml: {unknown}"
    return {name: given.get(name, str(spec.get("default", ""))) for name, spec in declared.items()}


def _run_action(run: ActionRun) -> ActionRun:
    for index, step in enumerate(_action()["runs"]["steps"]):
        step_id = step.get("id", f"step{index}")
        if "if" in step and not run.condition(step["if"]):
            continue
        if "uses" in step:
            with_ = {key: run.substitute(str(value)) for key, value in step.get("with", {}).items()}
            if step["uses"].startswith("actions/setup-python@"):
                assert with_ == {"python-version": run.inputs["python-version"]}
            elif step["uses"].startswith("github/codeql-action/upload-sarif@"):
                sarif = run.workspace / with_["sarif_file"]
                log = json.loads(sarif.read_text("utf-8"))  # what would be uploaded exists and is SARIF
                assert log["version"] == "2.1.0"
                run.uploads.append(with_)
            else:
                raise AssertionError(f"action.yml uses {step['uses']}, which this test does not stand in for")
            continue
        if step_id == "install" and run.python is not None:
            run.outputs["install"] = {"python": run.python}
            continue
        assert step["shell"] == "bash", "composite steps name their shell; bash runs on every runner"
        assert not EXPRESSION.search(step["run"]), f"{step['name']}: pass inputs through env:, not into the script"
        script = run.runner_temp / f"step{index}.sh"
        script.write_text(step["run"], encoding="utf-8")
        output = run.runner_temp / f"output{index}"
        output.write_text("", encoding="utf-8")
        env = {
            **os.environ,
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
            "RUNNER_TEMP": str(run.runner_temp),
            "GITHUB_OUTPUT": str(output),
            "GITHUB_ACTION_PATH": str(run.action_path),
            "GITHUB_WORKSPACE": str(run.workspace),
            **{key: run.substitute(str(value)) for key, value in step.get("env", {}).items()},
        }
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],  # GitHub's `shell: bash`
            cwd=run.workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        run.logs.append(proc.stdout + proc.stderr)
        lines = output.read_text("utf-8").splitlines()
        assert all("=" in line and "<<" not in line for line in lines), lines
        run.outputs[step_id] = dict(line.split("=", 1) for line in lines)
        if proc.returncode != 0:
            run.failed_step, run.exit_code = step["name"], proc.returncode
            return run
    return run


@pytest.fixture(scope="module")
def action_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The action as GitHub fetches it: the repository's files at a ref, without .git."""
    copy = tmp_path_factory.mktemp("action") / "backlint"
    ignored = shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.pyc", ".*_cache", "build", "dist")
    shutil.copytree(ROOT, copy, ignore=ignored, symlinks=True)
    return copy


@pytest.fixture(scope="module")
def installed_python(action_copy: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The install step, run for real: a virtualenv in $RUNNER_TEMP and `pip install <action path>`
    (about 15 s). Off CI, a machine without package-index access uses this interpreter's backlint."""
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    workspace = tmp_path_factory.mktemp("workspace")
    run = _run_action(ActionRun(_inputs(), action_copy, workspace, tmp_path_factory.mktemp("runner-temp"), python=None))
    # The whole action ran on an empty workspace: nothing to find, exit 0.
    if run.failed_step == "Install backlint" and not IN_CI:
        return sys.executable
    assert run.failed_step is None, "\n".join(run.logs)
    python = run.outputs["install"]["python"]
    assert Path(python).parent.parent == run.runner_temp / "backlint-venv"
    version = subprocess.run([python, "-m", "backlint", "--version"], capture_output=True, text=True, check=True)
    assert PYPROJECT["project"]["version"] in version.stdout
    assert run.outputs["lint"]["exit-code"] == "0" and run.exit_code == 0
    return python


def _project(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / "repo" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "repo" / name).write_text(text, encoding="utf-8")
    (tmp_path / "temp").mkdir(parents=True)
    return tmp_path / "repo"


def _act(python: str, action_copy: Path, tmp_path: Path, files: dict[str, str], **inputs: str) -> ActionRun:
    workspace = _project(tmp_path, files)
    return _run_action(ActionRun(_inputs(**inputs), action_copy, workspace, tmp_path / "temp", python=python))


def test_action_uploads_the_findings_then_fails_with_backlints_exit_code(
    installed_python: str, action_copy: Path, tmp_path: Path
) -> None:
    run = _act(installed_python, action_copy, tmp_path, {"shop/orders.py": SWALLOWED, "shop/ok.py": HANDLED})
    assert run.outputs["lint"] == {"exit-code": "1", "sarif-written": "true"}, run.logs
    assert run.uploads == [{"sarif_file": "backlint.sarif"}]
    assert (run.failed_step, run.exit_code) == ("Exit with backlint's status", 1)
    log = json.loads((run.workspace / "backlint.sarif").read_text("utf-8"))
    [result] = log["runs"][0]["results"]
    assert result["ruleId"] == "BL402"
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "shop/orders.py"
    assert "automationDetails" not in log["runs"][0]  # no category given: the configuration's, here none
    # The links code scanning shows lead to the canonical repository.
    driver = log["runs"][0]["tool"]["driver"]
    assert driver["informationUri"] == canonical_base()
    assert all(rule["helpUri"].startswith(canonical_base() + "/") for rule in driver["rules"])


def test_action_with_fail_on_findings_false_uploads_and_passes(
    installed_python: str, action_copy: Path, tmp_path: Path
) -> None:
    run = _act(
        installed_python,
        action_copy,
        tmp_path,
        {"my app/orders.py": SWALLOWED, "other/orders.py": SWALLOWED, "skipped/orders.py": SWALLOWED},
        paths="'my app' other",
        args="--select BL4 --jobs 1",
        category="backlint-orders",
        **{"sarif-file": "reports/out.sarif", "fail-on-findings": "false"},
    )
    assert run.outputs["lint"]["exit-code"] == "1", run.logs
    assert (run.failed_step, run.exit_code) == (None, 0)
    assert run.uploads == [{"sarif_file": "reports/out.sarif"}]
    log = json.loads((run.workspace / "reports" / "out.sarif").read_text("utf-8"))
    uris = sorted(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"])
    assert uris == ["my%20app/orders.py", "other/orders.py"]
    assert log["runs"][0]["automationDetails"]["id"] == "backlint-orders/"


def test_action_on_clean_code_uploads_an_empty_log_and_passes(
    installed_python: str, action_copy: Path, tmp_path: Path
) -> None:
    run = _act(installed_python, action_copy, tmp_path, {"shop/orders.py": HANDLED}, upload="false")
    assert run.outputs["lint"] == {"exit-code": "0", "sarif-written": "true"}, run.logs
    assert run.uploads == []  # upload: false
    assert (run.failed_step, run.exit_code) == (None, 0)
    assert json.loads((run.workspace / "backlint.sarif").read_text("utf-8"))["runs"][0]["results"] == []


def test_action_usage_error_fails_without_uploading_even_when_findings_may_pass(
    installed_python: str, action_copy: Path, tmp_path: Path
) -> None:
    files = {"shop/orders.py": SWALLOWED}
    run = _act(installed_python, action_copy, tmp_path, files, args="--select NOPE", **{"fail-on-findings": "false"})
    assert run.outputs["lint"] == {"exit-code": "2", "sarif-written": "false"}, run.logs
    assert run.uploads == []
    assert (run.failed_step, run.exit_code) == ("Exit with backlint's status", 2)
    assert "unknown rule id or prefix 'NOPE'" in "".join(run.logs)

    run = _act(installed_python, action_copy, tmp_path / "quote", files, args="--select 'BL4")
    assert (run.failed_step, run.exit_code) == ("Run backlint", 2)
    assert "cannot split the args input: No closing quotation" in run.logs[-1]
    assert run.uploads == []
