"""BL402's request path across modules (issue 16 §3): a project function whose broad ``except`` answers without
logging, called from an endpoint of another module (backlint/checks/errors_project.py), and the same verdict from
partial runs (the cache, one file, ``--stdin-filename``, shards) as from the full run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from annotations import expected_findings
from conftest import FIXTURES, run_cli


@pytest.fixture
def app_copy(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURES / "request_path_app", tmp_path / "app")
    (tmp_path / "app" / "pyproject.toml").write_text("[tool.backlint]\n", encoding="utf-8")
    return tmp_path / "app"


def _bl402(root: Path, *args: str, stdin: str | None = None) -> set[tuple[str, int]]:
    result = run_cli("--select", "BL402", "--format", "json", *args, cwd=root, input=stdin)
    assert result.exit_code in (0, 1), result.stdout + result.stderr
    return {(f["path"], f["line"]) for f in result.json()["findings"]}


def _annotated(root: Path) -> set[tuple[str, int]]:
    return {
        (path.relative_to(root).as_posix(), line)
        for path in sorted(root.rglob("*.py"))
        for line, rule in expected_findings(path.read_text("utf-8"))
        if rule == "BL402"
    }


def test_a_service_reached_from_an_endpoint_elsewhere(app_copy: Path) -> None:
    """The services' silent answers that the views' endpoints reach, directly (``load_book``) or through a
    function of the services (``recommended_for`` -> ``_related``), are reported with the endpoint's call; a
    logged one, a predicate's ``False`` and a function only the nightly job calls are not."""
    result = run_cli("--select", "BL402", "--format", "json", "--no-cache", cwd=app_copy)
    findings = result.json()["findings"]
    assert {(f["path"], f["line"]) for f in findings} == _annotated(app_copy)
    related = next(f for f in findings if f["line"] == 20)["related"]
    assert [(r["path"], r["message"]) for r in related] == [
        ("bookshop/services.py", "the failure is answered here"),
        ("bookshop/views.py", "the endpoint `show` calls it here"),
    ]


def test_no_endpoint_no_finding(app_copy: Path) -> None:
    """Without the views, the same services are called only by the job: nothing is on a request path."""
    (app_copy / "bookshop" / "views.py").unlink()
    assert _bl402(app_copy, "--no-cache") == set()


def test_partial_runs_judge_the_services_with_every_caller(app_copy: Path) -> None:
    """The services module alone (from the cache, without it, by standard input) gets the findings the full
    run places there; a view changed since the cached run is judged as it is now."""
    full = _bl402(app_copy)  # with the cache
    assert full == _annotated(app_copy)
    assert _bl402(app_copy, "bookshop/services.py") == full
    assert _bl402(app_copy, "bookshop/services.py", "--no-cache") == full
    text = (app_copy / "bookshop" / "services.py").read_text(encoding="utf-8")
    assert _bl402(app_copy, "--stdin-filename", "bookshop/services.py", "-", stdin=text) == full
    # The view no longer calls load_book: its handler leaves the request path, in every kind of run.
    views = app_copy / "bookshop" / "views.py"
    changed = views.read_text(encoding="utf-8").replace("services.load_book(book_id)", "book_id")
    views.write_text(changed, encoding="utf-8")
    left = {place for place in full if place[1] != 13}
    assert _bl402(app_copy) == left
    assert _bl402(app_copy, "bookshop/services.py") == left
    assert _bl402(app_copy, "bookshop/services.py", "--no-cache") == left
    assert _bl402(app_copy, "--stdin-filename", "bookshop/services.py", "-", stdin=text) == left


def test_shards_merged_report_what_one_run_reports(app_copy: Path) -> None:
    full = _bl402(app_copy, "--no-cache")
    outputs = []
    for index in (1, 2, 3):
        output = app_copy / f"shard-{index}.json"
        result = run_cli(
            "--select", "BL402", "--no-cache", "--shard", f"{index}/3", "--shard-output", str(output), cwd=app_copy
        )
        assert result.exit_code in (0, 1), result.stderr
        outputs.append(str(output))
    merged = run_cli("merge", *outputs, "--format", "json", cwd=app_copy)
    assert merged.exit_code in (0, 1), merged.stderr
    assert {(f["path"], f["line"]) for f in merged.json()["findings"]} == full
