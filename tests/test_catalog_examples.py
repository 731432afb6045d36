"""Every example in the rule catalog runs: bad examples report their rule where annotated, good ones don't."""

from __future__ import annotations

import pytest
from annotations import expected_findings

from backlint.core.catalog import load_catalog

CATALOG = load_catalog()
CASES = [
    pytest.param(meta.id, example, id=f"{meta.id}-{example.kind}-{index}")
    for meta in CATALOG.rules.values()
    for index, example in enumerate(meta.examples)
]


def test_every_rule_has_bad_and_good_examples() -> None:
    for meta in CATALOG.rules.values():
        kinds = {e.kind for e in meta.examples}
        assert kinds == {"bad", "good"}, f"{meta.id} needs both bad and good examples"


@pytest.mark.parametrize(("rule_id", "example"), CASES)
def test_example(rule_id: str, example, project) -> None:  # type: ignore[no-untyped-def]
    project.write(example.path, example.code.lstrip("\n"))
    for name, text in example.files:
        project.write(name, text.lstrip("\n"))
    result = project.lint(example.path, "--select", rule_id, "--format", "json")
    got = {(f["line"], f["rule_id"]) for f in result.json()["findings"]}
    if example.kind == "bad":
        expected = {e for e in expected_findings(example.code.lstrip("\n")) if e[1] == rule_id}
        assert expected, "a bad example must mark its finding with `# expect: <id>`"
        assert got == expected
        assert result.exit_code == 1
    else:
        assert got == set()
        assert result.exit_code == 0
