"""docs/rules.md is the page every SARIF helpUri and LSP codeDescription links to: keep it generated."""

from __future__ import annotations

from conftest import ROOT, run_cli


def test_rules_doc_is_up_to_date() -> None:
    result = run_cli("rules", "--format", "markdown")
    assert result.exit_code == 0
    assert (ROOT / "docs" / "rules.md").read_text("utf-8") == result.stdout, (
        "regenerate with: backlint rules --format markdown > docs/rules.md"
    )


def test_every_help_uri_anchor_exists() -> None:
    from backlint.core.catalog import load_catalog

    text = (ROOT / "docs" / "rules.md").read_text("utf-8")
    for meta in load_catalog().rules.values():
        anchor = meta.help_uri.rpartition("#")[2]
        assert f"## {meta.id} {meta.name}" in text and anchor == f"{meta.id.lower()}-{meta.name}"
