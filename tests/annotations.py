"""Reads ``# expect: BL101`` annotations (semgrep-rules' ``# ruleid:`` shape) from source text."""

from __future__ import annotations

import re

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
