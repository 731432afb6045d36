"""Is a file production code, tooling, or a test? (rule-catalog §1.1)"""

from __future__ import annotations

import re

from backlint.core.globs import matches_any
from backlint.core.results import FileKind

_PRAGMA = re.compile(r"^\s*#\s*backlint:\s*test-file\b", re.MULTILINE)
_TEST_IMPORT = re.compile(
    r"^\s*(?:import|from)\s+(?:pytest|unittest|django\.test|hypothesis|rest_framework\.test)\b", re.MULTILINE
)
_TEST_DEF = re.compile(r"^\s*(?:async\s+)?def\s+test_\w*\s*\(|^\s*class\s+\w+\([^)]*TestCase\b", re.MULTILINE)


def classify(
    relative_path: str, source: str, test_paths: tuple[str, ...], non_production_paths: tuple[str, ...]
) -> FileKind:
    if matches_any(relative_path, test_paths):
        return FileKind.TEST
    if _PRAGMA.search(source[:2000]):
        return FileKind.TEST
    if _TEST_IMPORT.search(source) and _TEST_DEF.search(source):
        return FileKind.TEST
    if matches_any(relative_path, non_production_paths):
        return FileKind.NON_PRODUCTION
    return FileKind.PRODUCTION
