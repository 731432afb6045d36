"""Findings anchored on a whole function (a project rule's finding on an endpoint) keep their identity
across edits inside the function: in a baseline, and under ``--changed-lines-only`` (issue 17 item 5)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import FIXTURES, debug_shop, run_cli

from backlint.adoption import baseline
from backlint.core.options import CheckOptions

ORDERS = "shopapi/routers/orders.py"


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, timeout=60)


@pytest.fixture
def app(tmp_path: Path) -> Path:
    """The FastAPI fixture app built in debug mode, committed: BL401 is reported on `list_orders`'s def line
    (orders.py:23)."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    root = tmp_path / "app"
    debug_shop(shutil.copytree(FIXTURES / "endpoints_fastapi", root))
    (root / "pyproject.toml").write_text('[tool.backlint]\nselect = ["BL401", "BL402"]\n', encoding="utf-8")
    git(root, "init", "-q")
    git(root, "-c", "user.email=dev@example.com", "-c", "user.name=dev", "add", "-A")
    git(root, "-c", "user.email=dev@example.com", "-c", "user.name=dev", "commit", "-q", "-m", "app")
    return root


def edit(root: Path, old: str, new: str) -> None:
    path = root / ORDERS
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


BODY_LINE = "    result = await session.scalars(select(Order).where(Order.status == status))\n"
BODY_EDIT = BODY_LINE + '    logger.info("listed orders with status %s", status)\n'


def reported(root: Path, *args: str) -> list[tuple[str, int, str]]:
    result = run_cli("check", "--format", "json", "--no-cache", *args, cwd=root)
    assert result.exit_code in (0, 1), result.stderr
    return [(f["path"], f["line"], f["rule_id"]) for f in result.json()["findings"]]


def test_a_baselined_endpoint_finding_survives_edits_inside_the_function(app: Path) -> None:
    assert (ORDERS, 23, "BL401") in reported(app, ".")
    assert run_cli("baseline", ".", "--no-cache", cwd=app).exit_code == 0
    assert reported(app, ".", "--baseline", ".backlint-baseline.json") == []
    edit(app, BODY_LINE, BODY_EDIT)  # an unrelated edit in the body: the same finding
    assert reported(app, ".", "--baseline", ".backlint-baseline.json") == []
    edit(app, '@router.get("/")\nasync def list_orders', '@router.get("/all")\nasync def list_orders')
    assert reported(app, ".", "--baseline", ".backlint-baseline.json") == [(ORDERS, 23, "BL401")]  # a new route


def test_changed_lines_only_counts_the_signature_and_the_lines_it_names(app: Path) -> None:
    changed = ("--changed-since", "HEAD", "--changed-lines-only")
    edit(app, BODY_LINE, BODY_EDIT.replace(BODY_LINE, "") + BODY_LINE)  # a new line in the body, not named
    assert (ORDERS, 23, "BL401") not in reported(app, ".", *changed)
    git(app, "checkout", "--", ORDERS)
    edit(app, BODY_LINE, BODY_LINE.replace("Order.status == status", "Order.status == status.lower()"))
    assert (ORDERS, 23, "BL401") in reported(app, ".", *changed)  # the unprotected call it names changed
    git(app, "checkout", "--", ORDERS)
    edit(app, "async def list_orders(status: str,", "async def list_orders(status: str = 'open',")
    assert (ORDERS, 23, "BL401") in reported(app, ".", *changed)  # the signature changed


def test_a_version_1_baseline_is_read_and_converted(app: Path) -> None:
    """A version 1 file (fingerprints of the flagged code) still hides today's findings, with a warning;
    `backlint baseline` rewrites it as version 2, entry for entry."""
    from backlint.commands.check import run_check

    captured = []

    def keep(result, config, catalog, linted):  # type: ignore[no-untyped-def]
        captured.append(result)
        return 0

    old = os.getcwd()
    os.chdir(app)  # findings name files relative to the working directory, as a run from the root does
    try:
        assert run_check(CheckOptions(paths=[Path(".")], no_cache=True, use_baseline=False, after_run=keep)) == 0
        (result,) = captured
        active = [f for f in result.findings if f.suppressed_by is None]
        printer = baseline.Fingerprinter(app)
        version_1 = [
            {"rule": f.rule_id, "path": printer.relative(f), "fingerprint": fp}
            for f, fp in zip(active, printer.of(active, 1))
        ]
    finally:
        os.chdir(old)
    assert version_1
    path = app / ".backlint-baseline.json"
    path.write_text(json.dumps({"format": "backlint-baseline", "version": 1, "findings": version_1}), "utf-8")
    check = run_cli("check", ".", "--no-cache", "--baseline", str(path), cwd=app)
    assert check.exit_code == 0, check.stdout
    assert "baseline version 1" in check.stderr and "`backlint baseline` rewrites it" in check.stderr
    rewrite = run_cli("baseline", ".", "--no-cache", cwd=app)
    assert rewrite.exit_code == 0 and "converted from baseline version 1" in rewrite.stderr
    data = json.loads(path.read_text("utf-8"))
    assert data["version"] == baseline.VERSION and len(data["findings"]) == len(version_1)
    assert reported(app, ".", "--baseline", str(path)) == []


def test_a_baseline_of_an_unknown_version_says_how_to_regenerate_it(app: Path) -> None:
    path = app / "old.json"
    path.write_text(json.dumps({"format": "backlint-baseline", "version": 0, "findings": []}), "utf-8")
    result = run_cli("check", ".", "--no-cache", "--baseline", str(path), cwd=app)
    assert result.exit_code == 2
    assert "regenerate it with `backlint baseline --output" in result.stderr
