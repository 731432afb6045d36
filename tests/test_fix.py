"""Autofixes through the real CLI: --fix, --unsafe-fixes, --diff, the reports, and every fix's rewrite.

The fixture test is the one the issue asks for: copies of every fixture fixed with
``--fix --unsafe-fixes`` parse, lose exactly their fixable findings, change nowhere but inside the
edits the findings announced, keep encoding, BOM, line endings and mode, and a second run changes
nothing. The SQL rewrites are also run against sqlite in test_fix_sqlite.py.
"""

from __future__ import annotations

import ast
import difflib
import json
import os
import shutil
import stat
import textwrap
from pathlib import Path
from typing import Any

import libcst as cst
import pytest
from conftest import FIXTURES, ROOT, run_cli

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib  # type: ignore[no-redef]

from backlint.core.results import Finding, Fix, Span, TextEdit
from backlint.pipeline.fixes import FixError, apply_edits, compatible, fix_file, fix_text

# ---------------------------------------------------------------------------------------------
# The fixtures, fixed


def _lint_json(cwd: Path, *args: str) -> dict[str, Any]:
    result = run_cli("fixtures", "--select", "ALL", "--format", "json", *args, cwd=cwd)
    assert result.exit_code in (0, 1), result.stderr
    return result.json()  # type: ignore[no-any-return]


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.py"))}


def _copy_fixtures(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES, tmp_path / "fixtures")
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["backlint"]
    ignores = "\n".join(f'"{glob}" = {json.dumps(ids)}' for glob, ids in settings["per-file-ignores"].items())
    (tmp_path / "pyproject.toml").write_text(f"[tool.backlint.per-file-ignores]\n{ignores}\n", encoding="utf-8")
    # Files stored the ways real projects store them: CRLF, a BOM, a PEP 263 Latin-1 file, odd modes.
    users = tmp_path / "fixtures/sql/sqlite_users.py"
    users.write_bytes(users.read_bytes().replace(b"\n", b"\r\n"))
    os.chmod(users, 0o640)
    catalog = tmp_path / "fixtures/sql/sqlite_catalog.py"
    catalog.write_bytes(b"\xef\xbb\xbf" + catalog.read_bytes())
    os.chmod(catalog, 0o755)
    reports = tmp_path / "fixtures/sql/psycopg2_reports.py"
    header = "# -*- coding: latin-1 -*-\n# Rapports: chiffre d'affaires par région, café compris.\n"
    text = header + reports.read_text("utf-8")
    reports.write_bytes(text.encode("latin-1"))


def _allowed_lines(findings: list[dict[str, Any]]) -> dict[str, set[int]]:
    """Per file, the lines the announced fixes edit (an insertion touches its line)."""
    allowed: dict[str, set[int]] = {}
    for finding in findings:
        for edit in finding.get("fix", {}).get("edits", []):
            lines = range(edit["line"], max(edit["line"], edit["end_line"]) + 1)
            allowed.setdefault(finding["path"], set()).update(lines)
    return allowed


def _decode(data: bytes) -> str:
    from backlint.pipeline.source import decode_source

    text, _, _ = decode_source(data, "x.py")
    assert text is not None
    return text


def test_fixture_copies_fixed_with_unsafe_fixes(tmp_path: Path) -> None:
    _copy_fixtures(tmp_path)
    before = _lint_json(tmp_path, "--unsafe-fixes")["findings"]
    fixable = [f for f in before if "fix" in f]
    assert {f["rule_id"] for f in fixable} >= {"BL101", "BL102", "BL403"}
    snapshot = _snapshot(tmp_path)
    modes = {p: stat.S_IMODE((tmp_path / p).stat().st_mode) for p in snapshot}

    result = run_cli("fixtures", "--select", "ALL", "--fix", "--unsafe-fixes", cwd=tmp_path)
    assert f"fixed {len(fixable)} findings" in result.stderr, result.stderr
    assert "not fixed" not in result.stderr
    fixed = _snapshot(tmp_path)
    changed = {p for p in snapshot if fixed[p] != snapshot[p]}
    assert changed == {f["path"] for f in fixable}

    allowed = _allowed_lines(fixable)
    for path in changed:
        old_text, new_text = _decode(snapshot[path]), _decode(fixed[path])
        ast.parse(new_text)
        cst.parse_module(new_text)
        old_lines, new_lines = old_text.splitlines(keepends=True), new_text.splitlines(keepends=True)
        for tag, i1, i2, _, _ in difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False).get_opcodes():
            if tag == "equal":
                continue
            touched = set(range(i1 + 1, i2 + 1)) or {i1, i1 + 1}  # an insertion sits between two lines
            assert touched & allowed[path] == touched or (i1 == i2 and touched & allowed[path]), (path, tag, i1, i2)
        assert stat.S_IMODE((tmp_path / path).stat().st_mode) == modes[path]

    users = fixed["fixtures/sql/sqlite_users.py"]
    assert users.count(b"\r\n") == users.count(b"\n")  # still CRLF throughout
    assert fixed["fixtures/sql/sqlite_catalog.py"].startswith(b"\xef\xbb\xbf")
    assert "café compris" in fixed["fixtures/sql/psycopg2_reports.py"].decode("latin-1")

    after = _lint_json(tmp_path, "--unsafe-fixes")["findings"]
    assert not [f for f in after if "fix" in f]  # every fixable finding is gone ...
    assert len(after) == len(before) - len(fixable)  # ... and nothing new appeared

    again = run_cli("fixtures", "--select", "ALL", "--fix", "--unsafe-fixes", cwd=tmp_path)
    assert _snapshot(tmp_path) == fixed, again.stderr  # a second run changes nothing
    diff = run_cli("fixtures", "--select", "ALL", "--diff", "--unsafe-fixes", cwd=tmp_path)
    assert (diff.exit_code, diff.stdout) == (0, "")


# ---------------------------------------------------------------------------------------------
# The command line

MIXED = """\
import logging
import sqlite3

from fastapi import FastAPI, HTTPException

logger = logging.getLogger(__name__)
app = FastAPI()
conn = sqlite3.connect("app.db")


@app.get("/orders/{order_id}")
def get_order(order_id: str):
    try:
        return conn.execute(f"SELECT * FROM orders WHERE id = '{order_id}'").fetchone()
    except sqlite3.Error:
        logger.error("order lookup failed")
        raise HTTPException(status_code=500, detail="internal error")
"""


def test_fix_applies_safe_fixes_and_reports_what_is_left(project) -> None:  # type: ignore[no-untyped-def]
    path = project.write("app/orders.py", MIXED)
    project.write("pyproject.toml", '[tool.backlint]\nselect = ["BL101", "BL403"]\n')
    report = project.lint("app", "--no-cache")
    assert "BL403 [*] " in report.stdout and "BL101 SQL" in report.stdout  # the unsafe fix is not offered
    assert report.stdout.splitlines()[-1] == "[*] 1 fixable with `--fix` (1 more with `--fix --unsafe-fixes`)."
    result = project.lint("app", "--no-cache", "--fix")
    assert result.exit_code == 1  # BL101 is left
    assert "fixed 1 finding in 1 file" in result.stderr
    assert "(1 more fix with --unsafe-fixes)" not in result.stderr
    text = path.read_text("utf-8")
    assert 'logger.exception("order lookup failed")' in text
    assert "WHERE id = '{order_id}'" in text
    assert "BL101" in result.stdout and "BL403" not in result.stdout
    assert result.stdout.splitlines()[-1] == "[*] 1 fixable with `--fix --unsafe-fixes`."
    result = project.lint("app", "--no-cache", "--fix", "--unsafe-fixes")
    assert result.exit_code == 0 and "fixed 1 finding in 1 file, 1 of them with unsafe fixes" in result.stderr
    assert 'conn.execute("SELECT * FROM orders WHERE id = ?", (order_id,))' in path.read_text("utf-8")
    assert result.stdout == "All clean: 1 file checked.\n"


def test_diff_prints_without_writing(project) -> None:  # type: ignore[no-untyped-def]
    path = project.write("app/orders.py", MIXED)
    result = project.lint("app/orders.py", "--no-cache", "--diff")
    assert result.exit_code == 1
    assert result.stdout.startswith("--- a/app/orders.py\n+++ b/app/orders.py\n@@ ")
    assert '-        logger.error("order lookup failed")\n' in result.stdout
    assert '+        logger.exception("order lookup failed")\n' in result.stdout
    assert "?" not in result.stdout  # the unsafe SQL rewrite needs --unsafe-fixes
    assert "would fix 1 finding in 1 file (1 more fix with --unsafe-fixes)" in result.stderr
    assert path.read_text("utf-8") == MIXED
    assert "(order_id,)" in project.lint("app/orders.py", "--no-cache", "--diff", "--unsafe-fixes").stdout
    clean = project.write("app/clean.py", "x = 1\n")
    assert project.lint(str(clean), "--no-cache", "--diff").exit_code == 0


def test_stdin_fix_prints_the_fixed_buffer(project) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("--fix", "--unsafe-fixes", "--stdin-filename", "app/orders.py", "-", cwd=project.root, input=MIXED)
    assert result.exit_code == 0
    assert 'logger.exception("order lookup failed")' in result.stdout
    assert "(order_id,)" in result.stdout
    assert result.stdout.startswith("import logging\n") and "Found" not in result.stdout


def test_json_and_sarif_carry_the_fix(project) -> None:  # type: ignore[no-untyped-def]
    project.write("app/orders.py", MIXED)
    project.write("pyproject.toml", '[tool.backlint]\nselect = ["BL101", "BL403"]\n')
    findings = {f["rule_id"]: f for f in project.lint("app", "--no-cache", "--format", "json").json()["findings"]}
    assert findings["BL403"]["fix"] == {
        "safety": "safe",
        "description": "Log with `logger.exception(...)`, which records the traceback",
        "edits": [{"line": 16, "column": 16, "end_line": 16, "end_column": 21, "content": "exception"}],
    }
    sql = findings["BL101"]["fix"]
    assert sql["safety"] == "unsafe"
    assert [e["content"] for e in sql["edits"]] == ['"SELECT * FROM orders WHERE id = ?"', ", (order_id,)"]
    assert sql["edits"][1]["column"] == sql["edits"][1]["end_column"]  # an insertion
    log = project.lint("app", "--no-cache", "--format", "sarif").json()
    results = {r["ruleId"]: r for r in log["runs"][0]["results"]}
    (change,) = results["BL101"]["fixes"][0]["artifactChanges"]
    assert change["artifactLocation"]["uri"] == "app/orders.py"
    after_sql = MIXED.splitlines()[13].index(").fetchone()") + 1  # 1-based column just after the SQL
    assert change["replacements"][1] == {
        "deletedRegion": {"startLine": 14, "startColumn": after_sql, "endLine": 14, "endColumn": after_sql},
        "insertedContent": {"text": ", (order_id,)"},
    }
    assert results["BL101"]["properties"]["backlint/fix-safety"] == "unsafe"
    assert results["BL403"]["properties"]["backlint/fix-safety"] == "safe"


def test_a_file_changed_while_being_fixed_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "orders.py"
    path.write_text("x = 1\n", encoding="utf-8")
    edit = TextEdit(4, 5, "2", Span(1, 5, 1, 6))
    finding = Finding("BL403", "orders.py", Span(1, 1, 1, 2), "m", "warning", fix=Fix("safe", "two", (edit,)))

    def lint_while_someone_saves(text: str) -> list[Finding]:
        path.write_text("x = 1  # edited meanwhile\n", encoding="utf-8")
        return [finding] if text == "x = 1\n" else []

    outcome = fix_file(path, "orders.py", lint_while_someone_saves, unsafe=False, wanted=lambda f: True)
    assert outcome.after == "x = 2\n" and not outcome.written
    assert outcome.problem == "changed on disk while it was being fixed; not written"
    assert path.read_text("utf-8") == "x = 1  # edited meanwhile\n"
    assert not list(tmp_path.glob(".*.tmp"))


# ---------------------------------------------------------------------------------------------
# The machinery


def _fix(start: int, end: int, text: str, safety: str = "safe") -> Fix:
    return Fix(safety, "d", (TextEdit(start, end, text, Span()),))


def test_apply_edits_and_conflicts() -> None:
    edits = [TextEdit(4, 6, "X", Span()), TextEdit(0, 1, "", Span()), TextEdit(2, 2, "-", Span())]
    assert apply_edits("abcdef", edits) == "b-cdX"
    with pytest.raises(FixError):
        apply_edits("abcdef", [TextEdit(0, 3, "", Span()), TextEdit(2, 4, "", Span())])
    first, touching, apart = _fix(0, 2, "x"), _fix(2, 3, "y"), _fix(4, 5, "z")
    assert compatible([touching, apart, first]) == [first, apart]  # `touching` waits for the next round


def test_rounds_until_stable_and_never_to_a_broken_file() -> None:
    def lint(text: str) -> list[Finding]:
        """Each `a` can become `b`; two adjacent fixes touch, so they take two rounds."""
        found = []
        for index, char in enumerate(text):
            if char == "a":
                found.append(Finding("BL403", "f.py", Span(1, index + 1, 1, index + 2), f"a{index}", "warning",
                                     fix=_fix(index, index + 1, "b")))  # fmt: skip
        return found

    outcome = fix_text("x = 'aa'\n", lint, unsafe=False, wanted=lambda f: True)
    assert (outcome.text, outcome.fixed) == ("x = 'bb'\n", 2)
    breaking = Finding("BL101", "f.py", Span(1, 1, 1, 2), "m", "error", fix=_fix(0, 1, "(", "unsafe"))
    outcome = fix_text("x = 1\n", lambda text: [breaking], unsafe=True, wanted=lambda f: True)
    assert (outcome.text, outcome.fixed) == ("x = 1\n", 0)
    assert outcome.problem == "the fixes would not parse; left unchanged"
    assert fix_text("x = 1\n", lambda text: [breaking], unsafe=False, wanted=lambda f: True).fixed == 0


# ---------------------------------------------------------------------------------------------
# BL101/BL102: each shape, each driver, each refusal


def _fixed(project, code: str, path: str = "app/db.py") -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    """The file after --fix --unsafe-fixes, and the messages of the findings left."""
    target = project.write(path, textwrap.dedent(code).lstrip("\n"))
    project.lint(path, "--select", "BL1", "--no-cache", "--fix", "--unsafe-fixes")
    left = project.lint(path, "--select", "BL1", "--no-cache", "--format", "json").json()["findings"]
    return target.read_text("utf-8"), [f["message"] for f in left]


SQLITE = "import sqlite3\nconn = sqlite3.connect('a.db')\n\n"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("conn.execute(f\"SELECT * FROM t WHERE a = '{v}' AND b = {n}\")",
         "conn.execute(\"SELECT * FROM t WHERE a = ? AND b = ?\", (v, n))"),
        ("conn.execute(\"SELECT * FROM t WHERE a = '%s' AND b LIKE 'x%%'\" % v)",
         "conn.execute(\"SELECT * FROM t WHERE a = ? AND b LIKE 'x%'\", (v,))"),
        ("conn.execute(\"SELECT * FROM t WHERE a = %(a)s\" % {'a': v})",
         "conn.execute(\"SELECT * FROM t WHERE a = ?\", (v,))"),
        ("conn.execute(\"SELECT * FROM t WHERE a = '{0}' OR b = '{0}'\".format(v))",
         "conn.execute(\"SELECT * FROM t WHERE a = ? OR b = ?\", (v, v))"),
        ("conn.execute(\"SELECT * FROM t WHERE id = \" + str(v))",
         "conn.execute(\"SELECT * FROM t WHERE id = ?\", (v,))"),
        ("conn.execute(f\"SELECT * FROM t WHERE note = 'it''s {v}' AND tag LIKE '%{v}_'\")",
         "conn.execute(\"SELECT * FROM t WHERE note = ? AND tag LIKE ?\", (f\"it's {v}\", f\"%{v}_\"))"),
        ("conn.execute(rf\"SELECT * FROM t WHERE a REGEXP '\\d+' AND b = '{v}'\")",
         "conn.execute(r\"SELECT * FROM t WHERE a REGEXP '\\d+' AND b = ?\", (v,))"),
        ("conn.execute(f\"SELECT '?' AS q, \\\"a?\\\" FROM t WHERE a = '{v}'\")",
         "conn.execute(\"SELECT '?' AS q, \\\"a?\\\" FROM t WHERE a = ?\", (v,))"),
        ("conn.execute(f\"SELECT {{}} FROM t WHERE a = '{v}'\")",
         "conn.execute(\"SELECT {} FROM t WHERE a = ?\", (v,))"),
    ],
)  # fmt: skip
def test_sqlite_rewrites(project, body: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    text, left = _fixed(project, SQLITE + f"def find(v, n):\n    return {body}\n")
    assert text == SQLITE + f"def find(v, n):\n    return {expected}\n"
    assert left == []


def test_multiline_concatenation_keeps_comments_and_layout(project) -> None:  # type: ignore[no-untyped-def]
    code = """
    import psycopg2

    def report(status, region):
        cur = psycopg2.connect("").cursor()
        cur.execute(
            "SELECT id, total FROM orders "
            "WHERE status = '%s' "  # open, paid or refunded
            "AND region = '%s' AND note LIKE '100%%'" % (status, region)
        )
        return cur.fetchall()
    """
    text, left = _fixed(project, code)
    assert text.splitlines()[5:10] == [
        '        "SELECT id, total FROM orders "',
        '        "WHERE status = %s "  # open, paid or refunded',
        "        \"AND region = %s AND note LIKE '100%%'\", (status, region)",
        "    )",
        "    return cur.fetchall()",
    ]
    assert left == []


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("import asyncpg\n\nasync def f(dsn, uid):\n    conn = await asyncpg.connect(dsn)\n"
         "    return await conn.fetch(f\"SELECT * FROM a WHERE x = {uid} OR y = {uid}\", timeout=5)\n",
         "conn.fetch(\"SELECT * FROM a WHERE x = $1 OR y = $1\", uid, timeout=5)"),
        ("import psqlpy\n\nasync def f(pool: psqlpy.ConnectionPool, email):\n    conn = await pool.connection()\n"
         "    return await conn.fetch_row(f\"SELECT id FROM accounts WHERE email = '{email}'\")\n",
         "conn.fetch_row(\"SELECT id FROM accounts WHERE email = $1\", [email])"),
        ("import pymysql\n\ndef f(code):\n    cur = pymysql.connect().cursor()\n"
         "    cur.execute(\"SELECT id FROM orders WHERE coupon = '\" + code + \"' AND pct = '50%'\")\n",
         "cur.execute(\"SELECT id FROM orders WHERE coupon = %s AND pct = '50%%'\", (code,))"),
        ("from sqlalchemy import text\n\ndef f(session, user):\n"
         "    return session.execute(text(f\"SELECT * FROM t WHERE email = '{user.email}'\")).first()\n",
         "session.execute(text(\"SELECT * FROM t WHERE email = :email\").bindparams(email=user.email)).first()"),
        ("import databases\ndatabase = databases.Database('sqlite://')\n\nasync def f(tag):\n"
         "    return await database.fetch_all(query=f\"SELECT * FROM notes WHERE tag = '{tag}'\")\n",
         "database.fetch_all(query=\"SELECT * FROM notes WHERE tag = :tag\", values={\"tag\": tag})"),
        ("from django.db import connection\n\ndef f(name):\n    with connection.cursor() as cursor:\n"
         "        cursor.execute(f\"SELECT * FROM app_person WHERE name = '{name}'\")\n",
         "cursor.execute(\"SELECT * FROM app_person WHERE name = %s\", [name])"),
    ],
)  # fmt: skip
def test_each_driver_gets_its_placeholder_and_parameters(project, code: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    text, left = _fixed(project, code)
    assert expected in text
    assert left == []


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("conn.execute(f\"SELECT * FROM t WHERE {input()} = '{v}'\")",  # an identifier from outside input
         "`input()` is an identifier, which cannot be a parameter"),
        ("conn.execute(f\"SELECT * FROM t WHERE a = {v!r}\")", "`v` is formatted"),
        ("conn.execute(f\"SELECT * FROM t WHERE a = '{v:>5}'\")", "`v` is formatted"),
        ("conn.execute(f\"SELECT * FROM t WHERE a = '{v}' AND b = ?\", (1,))", "the call already passes parameters"),
        ("conn.execute(f\"SELECT * FROM t WHERE a = '{v}{n}'\")", "two values share one quoted SQL literal"),
        ("conn.execute(f\"SELECT * FROM t WHERE a = '{v}' AND b = ?\")", "the SQL text has a `?`"),
        ("conn.execute(sql=f\"SELECT * FROM t WHERE a = '{v}'\")", "the SQL is passed by keyword"),
        ("conn.execute(f\"SELECT * FROM t WHERE id IN ({v})\")", "`v` fills a whole IN/VALUES list"),
        ("conn.execute(f\"SELECT /*+ INDEX(t {input()}) */ * FROM t WHERE a = '{n}'\")",
         "`input()` is a piece of SQL syntax, which cannot be a parameter"),  # inside a comment (an optimizer hint)
        ("conn.execute(\"SELECT * FROM t WHERE a = '%s'\" % tuple(v))", "`tuple(v)` is a sequence of %-arguments"),
        ("conn.executescript(f\"DELETE FROM t WHERE a = '{v}'\")", None),  # the message says it takes no parameters
    ],
)  # fmt: skip
def test_refusals_say_why(project, body: str, why: str | None) -> None:  # type: ignore[no-untyped-def]
    code = SQLITE + f"def find(v, n):\n    return {body}\n"
    text, left = _fixed(project, code)
    assert text == code
    (message,) = left
    if why is None:
        assert "takes no parameters" in message and "autofix" not in message
    else:
        assert f"(no autofix: {why}" in message


def test_refusals_for_drivers_and_builders(project) -> None:  # type: ignore[no-untyped-def]
    code = """
    import sqlite3
    from sqlalchemy import text

    conn = sqlite3.connect("a.db")

    def build(region):
        return f"SELECT * FROM sales WHERE region = '{region}'"

    class Store:
        def __init__(self, db):
            self.db = db

        def delete(self, key):
            self.db.execute(f"DELETE FROM kv WHERE key = '{key}'")

    def helper(region):
        return conn.execute(build(region)).fetchall()

    def reused(v):
        sql = f"SELECT * FROM t WHERE a = '{v}'"
        print(sql)
        return conn.execute(sql).fetchall()

    def moved(v):
        sql = f"SELECT * FROM t WHERE a = '{v}'"
        v = v.upper()
        return conn.execute(sql).fetchall()

    def colon(session, v):
        return session.execute(text(f"SELECT * FROM t WHERE a = '{v}' AND b = :other"))
    """
    text, left = _fixed(project, code)
    assert text == textwrap.dedent(code).lstrip("\n")
    reasons = sorted(message.partition("(no autofix: ")[2] for message in left)
    assert reasons == [
        "`sql` is built elsewhere or used more than once; parameterize where it is built)",
        "`v` changes between the SQL and the call; parameterize where the SQL is built)",
        "the SQL is not built in this call)",
        "the SQL text has a `:word`, which would be read as a bind parameter)",
        "the receiver's driver is not known, so neither is its placeholder style)",
    ]


# ---------------------------------------------------------------------------------------------
# BL403 and BL501


def test_bl403_fixes(project) -> None:  # type: ignore[no-untyped-def]
    code = """
    import logging

    from flask import Flask, abort, jsonify

    log = logging.getLogger("orders")
    app = Flask(__name__)


    @app.get("/a")
    def stdlib():
        try:
            return jsonify(load())
        except Exception:
            logging.error("load failed")
            abort(500)


    @app.get("/b")
    def silent():
        try:
            return jsonify(load())
        except Exception:
            # the client gets a generic answer
            return jsonify({"error": "internal"}), 500


    @app.get("/c")
    def one_line():
        try:
            return jsonify(load())
        except Exception: abort(500)


    class Service:
        def __init__(self):
            self.logger = logging.getLogger("service")

        @app.get("/d")
        def method(self):
            try:
                return jsonify(load())
            except Exception:
                self.logger.error("load failed")
                abort(500)


    def load():
        return {}
    """
    path = project.write("app/views.py", textwrap.dedent(code).lstrip("\n"))
    result = project.lint("app", "--select", "BL403", "--no-cache", "--fix")
    assert "fixed 3 findings" in result.stderr, result.stderr
    text = path.read_text("utf-8")
    assert '        logging.exception("load failed")\n        abort(500)' in text
    assert '        # the client gets a generic answer\n        log.exception("silent failed")\n        return' in text
    assert '    except Exception: log.exception("one_line failed"); abort(500)' in text
    assert 'self.logger.error("load failed")' in text  # may not be a logger: unsafe
    result = project.lint("app", "--select", "BL403", "--no-cache", "--fix", "--unsafe-fixes")
    assert 'self.logger.exception("load failed")' in path.read_text("utf-8")
    assert result.exit_code == 0


def test_bl501_removes_an_unused_test_double_import(project) -> None:  # type: ignore[no-untyped-def]
    code = """
    import os
    from unittest import mock  # left over from debugging
    from faker import Faker

    try:
        import freezegun
    except ImportError:
        pass


    def name():
        return Faker().name() + os.sep
    """
    path = project.write("app/names.py", textwrap.dedent(code).lstrip("\n"))
    result = project.lint("app", "--select", "BL501", "--no-cache", "--fix")
    assert "fixed 2 findings" in result.stderr
    assert path.read_text("utf-8") == textwrap.dedent(
        """\
        import os
        from faker import Faker

        try:
            pass
        except ImportError:
            pass


        def name():
            return Faker().name() + os.sep
        """
    )
    assert result.exit_code == 1  # Faker is used: no fix, still reported
