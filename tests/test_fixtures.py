"""The fixture apps produce exactly their ``# expect:`` annotations: nothing missing, nothing extra."""

from __future__ import annotations

from annotations import expected_findings
from conftest import FIXTURES, ROOT, run_cli


def _expected() -> set[tuple[str, int, str]]:
    out = set()
    for path in sorted(FIXTURES.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        for line, rule_id in expected_findings(path.read_text("utf-8")):
            out.add((relative, line, rule_id))
    return out


def test_fixtures_give_exactly_their_annotations() -> None:
    result = run_cli("fixtures", "--format", "json", "--select", "ALL", cwd=ROOT)
    got = {(f["path"], f["line"], f["rule_id"]) for f in result.json()["findings"]}
    expected = _expected()
    assert expected, "fixtures must carry annotations"
    missing = sorted(expected - got)
    extra = sorted(got - expected)
    assert not missing and not extra, f"missing: {missing}\nextra: {extra}"
