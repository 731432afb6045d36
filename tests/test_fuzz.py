"""Property tests: no rule raises on any module hypothesmith can generate, and results are stable.

CI runs a bounded number of examples; the long run is documented in docs/robustness.md:
``BACKLINT_FUZZ_EXAMPLES=20000 python -m pytest tests/test_fuzz.py -q``.
"""

from __future__ import annotations

import os
from pathlib import Path

import hypothesmith
from hypothesis import HealthCheck, given, settings

from backlint.api import settings_for
from backlint.core.catalog import load_catalog
from backlint.core.config import Config
from backlint.pipeline.discovery import SourceFile
from backlint.pipeline.engine import lint_text

EXAMPLES = int(os.environ.get("BACKLINT_FUZZ_EXAMPLES", "50"))
CATALOG = load_catalog()
ALL_RULES = settings_for(Config(root=Path.cwd(), source=None, select=("ALL",)), CATALOG)
SOURCE = SourceFile(path=Path("app/generated.py"), display="app/generated.py", relative="app/generated.py")


def _lint(code: str) -> list[tuple[str, int, int, str]]:
    result = lint_text(SOURCE, code, ALL_RULES)
    internal = [n.message for n in result.notices if n.level == "error"]
    assert not internal, internal
    return [(f.rule_id, f.span.line, f.span.column, f.message) for f in result.findings]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(hypothesmith.from_grammar(auto_target=False))
def test_grammar_generated_modules_never_cause_internal_errors(code: str) -> None:
    assert _lint(code) == _lint(code)


@settings(max_examples=max(1, EXAMPLES // 2), deadline=None, suppress_health_check=list(HealthCheck))
@given(hypothesmith.from_node(auto_target=False))  # slower to generate: half the examples
def test_node_generated_modules_never_cause_internal_errors(code: str) -> None:
    assert _lint(code) == _lint(code)
