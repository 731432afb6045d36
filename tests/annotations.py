"""Reads ``# expect: BL101`` annotations (semgrep-rules' ``# ruleid:`` shape) from source text."""

from __future__ import annotations

import re
import textwrap
from typing import Any

EXPECT = re.compile(r"#\s*expect:\s*(?P<ids>BL\d{3}(?:\s*,\s*BL\d{3})*)")


def expected_findings(text: str) -> set[tuple[int, str]]:
    """(line, rule id) pairs a file must produce: each ``# expect:`` names rules on its own line."""
    found = set()
    for number, line in enumerate(text.splitlines(), start=1):
        match = EXPECT.search(line)
        if match:
            for rule_id in re.split(r"\s*,\s*", match.group("ids")):
                found.add((number, rule_id))
    return found


def check_annotated(project: Any, files: dict[str, str], select: str, *args: str) -> None:
    """Writes ``files`` (dedented) into ``project`` and lints them with ``--select select``: the findings
    are exactly the ``# expect:`` annotations of the selected rules."""
    expected = set()
    for path, code in files.items():
        text = textwrap.dedent(code).lstrip("\n")
        project.write(path, text)
        expected |= {(path, line, rule) for line, rule in expected_findings(text) if rule.startswith(select)}
    result = project.lint(*files, "--select", select, "--format", "json", "--no-cache", *args)
    assert result.exit_code in (0, 1), result.stderr
    got = {(f["path"], f["line"], f["rule_id"]) for f in result.json()["findings"]}
    assert got == expected
