"""The role a file plays: production, test, test configuration, migration, script, dev tooling or seed data.

Decided from the path and a few regexes over the text (the file is not parsed for it), in this order:
the user's ``[tool.backlint.roles]`` globs; the ``file-roles`` table's test-config rows; ``test-paths``,
the ``# backlint: test-file`` pragma, the table's test rows (test-support modules shipped in the
package: ``testing.py``, ``testing/``, ``testlib.py``) and test code (a test framework or test harness
import with a test function, a TestCase class or a pytest fixture; a module declaring itself for
development and testing); the table's migration, seed, dev-tooling and script rows; ``non-production-paths``
(scripts); a module run under a ``__main__`` guard that takes command-line input (or sits at the project's top)
and defines no app and no route (a script); else production. The catalog's ``applies-to`` names the
roles each rule judges (backlint/pipeline/filters.py).
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from typing import Any

from backlint.core.globs import compile_glob, matches_any
from backlint.core.patterns import UserPattern, compile_pattern
from backlint.core.results import FileKind

_PRAGMA = re.compile(r"^\s*#\s*backlint:\s*test-file\b", re.MULTILINE)
# A test framework or a web framework's test harness (Flask-Testing's TestCase, aiohttp's and Tornado's test
# utilities, Starlette's test client): a module importing one that defines a test, a TestCase class (a
# test base class shipped in the package: timesketch's ``lib/testlib.py`` ``BaseTest(TestCase)``) or a
# pytest fixture is test code, wherever it sits.
_TEST_IMPORT = re.compile(
    r"^\s*(?:import|from)\s+(?:pytest|unittest|django\.test|hypothesis|rest_framework\.test|flask_testing"
    r"|flask_unittest|flask\.testing|aiohttp\.test_utils|tornado\.testing|twisted\.trial|asynctest"
    r"|starlette\.testclient|fastapi\.testclient|webtest|django_webtest)\b",
    re.MULTILINE,
)
_TEST_DEF = re.compile(
    r"^\s*(?:async\s+)?def\s+test_\w*\s*\(|^\s*class\s+\w+\([^)]*TestCase\b|^\s*@pytest\.fixture\b", re.MULTILINE
)
_MAIN_GUARD = re.compile(
    r"^if\s+(?:__name__\s*==\s*['\"]__main__['\"]|['\"]__main__['\"]\s*==\s*__name__)\s*:", re.MULTILINE
)
# A main-guarded module is a script when it takes command-line input or sits at the project's top
# (package modules keep a __main__ block for a quick manual try-out), and does not serve: it builds or
# runs no application and declares no route.
_COMMAND_LINE = re.compile(
    r"\b(?:argparse|getopt|sys\.argv|optparse)\b|^(?:import|from) (?:click|typer)\b", re.MULTILINE
)
_SERVES = re.compile(
    r"\b(?:Flask|Quart|APIFlask|FastAPI|Starlette|Litestar|Sanic|Falcon|Bottle|APIRouter|Blueprint|RouteTableDef"
    r"|create_app|make_app|get_wsgi_application|get_asgi_application|run_simple|run_app)\s*\(|\bweb\.Application\s*\("
    r"|^\s*@[\w.]+\.(?:route|get|post|put|patch|delete|websocket|api_route)\s*\("
    r"|\b(?:add_url_rule|add_route|add_api_route)\s*\(|\b(?:app|application|server|socketio)\.run\s*\("
    r"|\b(?:uvicorn|hypercorn|waitress|gunicorn)\.\w+\s*\(|^urlpatterns\s*=",
    re.MULTILINE,
)
# The table's roles after ``test`` in the order they are tried.
_TABLE_ORDER = (FileKind.MIGRATION, FileKind.SEED, FileKind.DEV_TOOLING, FileKind.SCRIPT)


@dataclasses.dataclass(frozen=True)
class RoleRow:
    role: FileKind
    glob: re.Pattern[str]
    content: Any  # a compiled pattern (``re``, or RE2 for a row from the user's configuration), or None
    needs: str = ""  # text every match of ``content`` holds (its leading literal): a cheap test first

    def matches(self, relative_path: str, source: str) -> bool:
        return bool(self.glob.match(relative_path)) and (
            self.content is None or (self.needs in source and bool(self.content.search(source)))
        )


def role_rows(knowledge: Any) -> dict[FileKind, tuple[RoleRow, ...]]:
    """The ``file-roles`` table by role (built once per Knowledge)."""
    rows: dict[FileKind, list[RoleRow]] = {}
    for row in knowledge.rows("file-roles"):
        pattern = row.get("content")
        # ``^`` starts a line; a user's row stays a UserPattern, run by RE2 (backlint/core/patterns.py).
        content = compile_pattern(type(pattern)(f"(?m){pattern}")) if pattern else None
        needs = leading_literal(f"(?m){pattern}") if pattern and not isinstance(pattern, UserPattern) else ""
        role = FileKind(row["role"])
        rows.setdefault(role, []).append(RoleRow(role, compile_glob(row["glob"]), content, needs))
    return {role: tuple(found) for role, found in rows.items()}


def _may_define_tests(source: str) -> bool:
    return "test_" in source or "TestCase" in source or "pytest" in source


def leading_literal(pattern: str) -> str:
    """The literal characters a match of ``pattern`` (Python syntax) starts with after its anchors
    (``^class Migration\\(`` → ``class Migration(``), "" when there are none or case is ignored: the
    row's regex tries every position of the file, ``in`` skips it where that text does not occur."""
    try:
        parsed = _sre_parse(pattern)
    except Exception:  # any pattern the parser refuses simply has no guard
        return ""
    if parsed.state.flags & re.IGNORECASE:
        return ""
    out: list[str] = []
    for op, argument in parsed:
        if str(op) == "AT" and not out:
            continue
        if str(op) != "LITERAL":
            break
        out.append(chr(argument))
    return "".join(out)


def _sre_parse(pattern: str) -> Any:
    try:
        parser = importlib.import_module("re._parser")  # Python 3.11+
    except ImportError:  # pragma: no cover - Python < 3.11
        parser = importlib.import_module("sre_parse")
    return parser.parse(pattern)


@dataclasses.dataclass(frozen=True)
class RolePaths:
    """The configuration that decides roles: ``[tool.backlint.roles]``, ``test-paths``, ``non-production-paths``."""

    overrides: tuple[tuple[str, str], ...] = ()  # (glob, role), first match wins
    test_paths: tuple[str, ...] = ()
    script_paths: tuple[str, ...] = ()  # the user's non-production-paths: offline code, judged as scripts


def classify(relative_path: str, source: str, paths: RolePaths, knowledge: Any) -> FileKind:
    for glob, role in paths.overrides:
        if matches_any(relative_path, (glob,)):
            return FileKind(role)
    table = knowledge.derived(role_rows)
    if any(row.matches(relative_path, source) for row in table.get(FileKind.TEST_CONFIG, ())):
        return FileKind.TEST_CONFIG
    if matches_any(relative_path, paths.test_paths) or _PRAGMA.search(source[:2000]):
        return FileKind.TEST
    if any(row.matches(relative_path, source) for row in table.get(FileKind.TEST, ())):
        return FileKind.TEST
    # Every match of _TEST_DEF holds "test_", "TestCase" or "pytest", every main guard "__main__": a
    # substring test in C skips the regexes (each tries every position of the file) in most files.
    if _may_define_tests(source) and _TEST_IMPORT.search(source) and _TEST_DEF.search(source):
        return FileKind.TEST
    for role in _TABLE_ORDER:
        if any(row.matches(relative_path, source) for row in table.get(role, ())):
            return role
    if matches_any(relative_path, paths.script_paths):
        return FileKind.SCRIPT
    runs_as_main = (
        "__main__" in source
        and _MAIN_GUARD.search(source)
        and ("/" not in relative_path or _COMMAND_LINE.search(source))
    )
    if runs_as_main and not _SERVES.search(source):
        return FileKind.SCRIPT
    return FileKind.PRODUCTION
