"""BL101–BL105: the recognizer and slot lexer where they are subtle, the rest through the real CLI."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest

from backlint.analysis.sql.slots import FRAGMENT, IDENTIFIER, QUOTED_VALUE, VALUE, looks_like_sql, slot_positions
from backlint.analysis.sql.templates import Hole, Template


def _template(*parts: str | None) -> Template:
    """Literal parts with a hole for each None."""
    return tuple(Hole(cst.Name("x"), False, "an f-string") if p is None else p for p in parts)


@pytest.mark.parametrize(
    "text",
    [
        "SELECT id FROM users WHERE id = ⟨x⟩",
        "  (SELECT ⟨x⟩\nFROM t)",
        "-- report\nselect * from ⟨x⟩",
        "/* hint */ DELETE FROM t WHERE a = 1",
        "WITH recent AS (SELECT 1) DELETE FROM t",
        "UPDATE ⟨x⟩ SET a = 1",
        "INSERT OR REPLACE INTO t VALUES (1)",
        "PRAGMA table_info(⟨x⟩)",
    ],
)
def test_recognizer_accepts_statements(text: str) -> None:
    assert looks_like_sql(text)


@pytest.mark.parametrize(
    "text",
    [
        "Please select a value from ⟨x⟩",  # ruff #8717: no FROM-clause shape after "select"
        "Role ⟨x⟩ has been delete from the guild ⟨x⟩",  # ruff #13103
        " Error: Delete from cache: ⟨x⟩",  # bandit PR #970: not anchored at a statement
        "can be updated using: ucr set ⟨x⟩",  # bandit #984
        "job ⟨x⟩ started",
    ],
)
def test_recognizer_rejects_prose(text: str) -> None:
    assert not looks_like_sql(text)


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (("SELECT * FROM t WHERE id = ", None), [VALUE]),
        (("SELECT * FROM t WHERE name = '", None, "'"), [QUOTED_VALUE]),
        (("SELECT * FROM t WHERE name LIKE '%", None, "%'"), [QUOTED_VALUE]),
        (("SELECT * FROM ", None, " WHERE id = ?"), [IDENTIFIER]),
        (("SELECT * FROM t ORDER BY ", None, " ", None), [IDENTIFIER, IDENTIFIER]),
        (("SELECT ", None, ", name FROM t"), [IDENTIFIER]),
        (("SELECT * FROM t WHERE ", None), [FRAGMENT]),
        (("SELECT * FROM t WHERE ", None, " = 1"), [IDENTIFIER]),
        (("INSERT INTO t (", None, ") VALUES (", None, ", ", None, ")"), [IDENTIFIER, VALUE, VALUE]),
        (("SELECT * FROM t WHERE id IN (1, ", None, ")"), [VALUE]),
        (("SELECT * FROM s.", None), [IDENTIFIER]),
        (('SELECT "', None, '" FROM t'), [IDENTIFIER]),
        (("DROP TABLE idx_", None, "_old"), [IDENTIFIER]),
        (("SELECT * FROM t LIMIT ", None, " OFFSET ", None), [VALUE, VALUE]),
        (("SELECT * FROM t WHERE note = 'it''s ", None, "'"), [QUOTED_VALUE]),
        (("SELECT * FROM t -- '", "\nWHERE a = ", None), [VALUE]),
    ],
)
def test_slot_positions(parts: tuple[str | None, ...], expected: list[str]) -> None:
    assert slot_positions(_template(*parts)) == expected


def _lint(project, code: str, *args: str, path: str = "app/db.py") -> set[tuple[int, str]]:  # type: ignore[no-untyped-def]
    project.write(path, textwrap.dedent(code).lstrip("\n"))
    result = project.lint(path, "--select", "BL1", "--format", "json", *args)
    assert result.exit_code in (0, 1), result.stderr
    return {(f["line"], f["rule_id"]) for f in result.json()["findings"]}


def test_message_names_driver_and_paramstyle(project) -> None:  # type: ignore[no-untyped-def]
    project.write(
        "app/users.py",
        "import sqlite3\n\ndef get(user_id):\n    cur = sqlite3.connect('a.db').cursor()\n"
        "    cur.execute(f'SELECT * FROM users WHERE id = {user_id}')\n",
    )
    findings = project.lint("app/users.py", "--format", "json").json()["findings"]
    assert [(f["rule_id"], f["line"], f["column"]) for f in findings] == [("BL101", 5, 51)]
    assert findings[0]["message"] == (
        "SQL built with an f-string reaches sqlite3 Cursor.execute(); pass values as parameters: "
        'execute("… WHERE id = ?", (user_id,))'
    )


def test_message_for_spliced_sql_syntax_does_not_suggest_a_placeholder(project) -> None:  # type: ignore[no-untyped-def]
    """A condition or clause (``WHERE {cond}``) cannot become a parameter: the message says what to do instead."""
    project.write(
        "app/users.py",
        "import sqlite3\n\ndef find(request):\n    term = request.GET['where']\n"
        "    cur = sqlite3.connect('a.db').cursor()\n"
        "    cur.execute(f'SELECT * FROM users WHERE {term}')\n",
    )
    (finding,) = project.lint("app/users.py", "--format", "json").json()["findings"]
    assert finding["rule_id"] == "BL101"
    assert finding["message"].startswith(
        "SQL built with an f-string reaches sqlite3 Cursor.execute(), with `term` spliced in as SQL syntax "
        "(a condition, a clause): compose it from fixed fragments chosen by an allowlist"
    )
    assert "WHERE ?" not in finding["message"]


def test_finding_lands_on_build_site_with_sink_as_related(project) -> None:  # type: ignore[no-untyped-def]
    project.write(
        "app/items.py",
        "import asyncpg\n\nasync def find(dsn, owner):\n    conn = await asyncpg.connect(dsn)\n"
        "    q = f\"SELECT * FROM items WHERE owner = '{owner}'\"\n    rows = await conn.fetch(q)\n    return rows\n",
    )
    findings = project.lint("app/items.py", "--format", "json").json()["findings"]
    assert [(f["rule_id"], f["line"]) for f in findings] == [("BL101", 5)]
    assert findings[0]["related"][0]["line"] == 6
    assert 'fetch("… WHERE owner = $1", owner)' in findings[0]["message"]


def test_numbered_placeholder_in_message_follows_the_ones_already_passed(project) -> None:  # type: ignore[no-untyped-def]
    """asyncpg's ``$n`` are positional: with ``$1`` already bound, the new parameter is ``$2``, after ``kind``."""
    project.write(
        "app/items.py",
        "import asyncpg\n\nasync def find(dsn, kind, name):\n    conn = await asyncpg.connect(dsn)\n"
        "    return await conn.fetch(f\"SELECT * FROM items WHERE kind = $1 AND name = '{name}'\", kind)\n",
    )
    (finding,) = project.lint("app/items.py", "--format", "json").json()["findings"]
    assert finding["rule_id"] == "BL101"
    assert 'fetch("… AND name = $2", …, name)' in finding["message"]
    assert '= $1", name' not in finding["message"]


def test_builders_across_branches_and_loops(project) -> None:  # type: ignore[no-untyped-def]
    code = """
    import sqlite3
    conn = sqlite3.connect("a.db")
    FILTERS = ("status", "city")

    def constant_builder(args, ids):
        sql = "SELECT * FROM t WHERE 1=1"
        params = []
        for column in FILTERS:
            if args.get(column):
                sql += f" AND {column} = ?"
                params.append(args[column])
        clauses = []
        if ids:
            clauses.append("id IN (%s)" % ", ".join("?" for _ in ids))
        where = " AND ".join(clauses)
        return conn.execute(sql + " AND " + where if where else sql, params + list(ids)).fetchall()

    def data_builder(args):
        sql = "SELECT * FROM t WHERE 1=1"
        for column, value in args.items():
            sql += f" AND {column} = '{value}'"
        return conn.execute(sql).fetchall()

    def identifier_builder(request):
        columns = request.GET.getlist("filter")
        sql = "SELECT * FROM t WHERE 1=1"
        for column in columns:
            sql += f" AND {column} = ?"
        return conn.execute(sql, [1] * len(columns)).fetchall()
    """
    assert _lint(project, code) == {(21, "BL101"), (28, "BL104")}


def test_helper_defined_after_its_caller_and_argument_substitution(project) -> None:  # type: ignore[no-untyped-def]
    code = """
    import sqlite3
    conn = sqlite3.connect("a.db")

    def report(region):
        conn.execute(by_region(region))
        conn.execute(by_region("emea"))

    def by_region(region):
        return f"SELECT * FROM sales WHERE region = '{region}'"
    """
    assert _lint(project, code) == {(9, "BL101")}


def test_typed_values_and_sanitizers_are_safe(project) -> None:  # type: ignore[no-untyped-def]
    code = """
    import uuid
    from typing import Literal
    from django.db import connection

    def page(cur_id: uuid.UUID, limit: int, order: Literal["asc", "desc"], raw_limit, table):
        qn = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM t WHERE id = '{cur_id}' ORDER BY id {order} LIMIT {limit}")
            cursor.execute("SELECT * FROM t LIMIT %d" % raw_limit)
            cursor.execute("SELECT * FROM t LIMIT {:d}".format(raw_limit))
            cursor.execute(f"SELECT * FROM t LIMIT {int(raw_limit)}")
            cursor.execute("SELECT * FROM %s" % qn(table))
            cursor.execute("SELECT * FROM %s" % connection.ops.quote_name(table))
            cursor.execute(f"SELECT * FROM t LIMIT {raw_limit}")
    """
    assert _lint(project, code) == {(14, "BL101")}


def test_allowlist_guards(project) -> None:  # type: ignore[no-untyped-def]
    code = """
    import re
    import sqlite3
    conn = sqlite3.connect("a.db")
    SORTS = {"name": "name", "newest": "created_at DESC"}

    def by_mapping(key):
        return conn.execute(f"SELECT * FROM t ORDER BY {SORTS.get(key, 'name')}").fetchall()

    def by_membership(request, sort):
        if sort in ("name", "price"):
            return conn.execute(f"SELECT * FROM t ORDER BY {sort}").fetchall()
        return conn.execute(f"SELECT * FROM t ORDER BY {sort}").fetchall()

    def by_regex(table):
        if not re.fullmatch(r"[a-z_]+", table):
            raise ValueError(table)
        return conn.execute(f"SELECT * FROM {table}").fetchall()

    def by_assert(sort):
        assert sort in SORTS
        return conn.execute(f"SELECT * FROM t ORDER BY {sort}").fetchall()

    def by_fallback(sort):
        if sort not in SORTS:
            sort = "name"
        return conn.execute(f"SELECT * FROM t ORDER BY {sort}").fetchall()
    """
    assert _lint(project, code) == {(12, "BL104")}


def test_unknown_receiver_needs_sql_text(project) -> None:  # type: ignore[no-untyped-def]
    code = """
    class Jobs:
        def __init__(self, runner, db):
            self.runner = runner
            self.db = db

        def start(self, name):
            self.runner.execute(f"job {name} --now")
            self.db.execute(f"UPDATE jobs SET state = 'run' WHERE name = '{name}'")
    """
    assert _lint(project, code) == {(8, "BL101")}


def test_psycopg_composition_is_safe_and_misuse_is_bl103(project) -> None:  # type: ignore[no-untyped-def]
    code = """
    import psycopg2
    from psycopg2 import sql

    def rows(table, owner):
        conn = psycopg2.connect("")
        cur = conn.cursor()
        cur.execute(sql.SQL("SELECT * FROM {} WHERE owner = %s").format(sql.Identifier(table)), (owner,))
        template = "SELECT * FROM " + table
        cur.execute(sql.SQL(template))
    """
    assert _lint(project, code) == {(8, "BL103")}


def test_tests_are_exempt_and_suppression_applies(project) -> None:  # type: ignore[no-untyped-def]
    code = """
    import sqlite3

    def test_lookup(name):
        sqlite3.connect("a.db").execute(f"SELECT * FROM t WHERE n = '{name}'")
    """
    assert _lint(project, code, path="tests/test_db.py") == set()
    suppressed = """
    import sqlite3

    def lookup(name):
        sqlite3.connect("a.db").execute(f"SELECT * FROM t WHERE n = '{name}'")  # backlint: ignore[BL101] -- vetted
    """
    assert _lint(project, suppressed) == set()


def test_audit_is_opt_in_and_skips_prose(project) -> None:  # type: ignore[no-untyped-def]
    code = """
    import logging
    log = logging.getLogger(__name__)

    def build_query(region):
        log.info(f"select rows from {region}")
        return f"SELECT * FROM sales WHERE region = '{region}'"
    """
    project.write("app/db.py", textwrap.dedent(code).lstrip("\n"))
    default = project.lint("app/db.py", "--format", "json").json()["findings"]
    assert [f for f in default if f["rule_id"].startswith("BL1")] == []
    assert _lint(project, code, "--extend-select", "BL105") == {(6, "BL105")}


def test_users_extend_the_sink_table(project) -> None:  # type: ignore[no-untyped-def]
    project.write(
        "pyproject.toml",
        '[tool.backlint]\n[[tool.backlint.tables.sql-sinks]]\nrule = "BL101"\ndriver = "psycopg2"\n'
        'function = "app.dbutil.run_query"\narg = 0\nkeyword = "sql"\n',
    )
    code = """
    from app.dbutil import run_query

    def lookup(email):
        return run_query(f"SELECT * FROM users WHERE email = '{email}'")
    """
    assert _lint(project, code) == {(4, "BL101")}


# -- slot judgement (issue 15 item 2): values strictly, SQL syntax by where it comes from ------------


def test_syntax_from_configuration_outside_endpoints_is_not_reported(project) -> None:  # type: ignore[no-untyped-def]
    """lnbits/db.py: a schema name from the server's settings, DDL in a startup method; the same
    setting spliced in by an endpoint is reported (its origin is not known there)."""
    code = """
    import sqlite3
    from fastapi import FastAPI

    app = FastAPI()

    class Database:
        def __init__(self, settings):
            self.schema = settings.schema
            self.conn = sqlite3.connect(settings.path)

        def create_schema(self):
            self.conn.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")

    @app.get("/tables")
    def tables(settings):
        conn = sqlite3.connect(settings.path)
        return conn.execute(f"SELECT name FROM {settings.schema}.tables").fetchall()
    """
    assert _lint(project, code) == {(17, "BL104")}


def test_generic_helper_judged_at_its_callers(project) -> None:  # type: ignore[no-untyped-def]
    """lnbits/db.py's paging helper: every caller passing a constant table is fine; a caller passing
    request data is reported there, with the helper's slot and the sink as related locations."""
    code = """
    import sqlite3
    from flask import Flask, request

    app = Flask(__name__)
    conn = sqlite3.connect("app.db")

    def count_rows(table_name, clause=""):
        return conn.execute(f"SELECT COUNT(*) FROM {table_name} {clause}").fetchone()[0]

    def dashboard():
        return {"users": count_rows("users"), "orders": count_rows("orders", "WHERE paid = 1")}

    @app.get("/count")
    def count():
        return {"n": count_rows(request.args["table"])}
    """
    project.write("app/db.py", textwrap.dedent(code).lstrip("\n"))
    (finding,) = project.lint("app/db.py", "--select", "BL1", "--format", "json").json()["findings"]
    assert (finding["rule_id"], finding["line"]) == ("BL104", 15)
    assert [r["line"] for r in finding["related"]] == [8, 8]
    code = code.replace('request.args["table"]', '"payments"')
    assert _lint(project, code) == set()


def test_value_slots_stay_strict(project) -> None:  # type: ignore[no-untyped-def]
    """A value slot is reported whatever the value's origin, unless every caller passes a constant."""
    code = """
    import sqlite3
    conn = sqlite3.connect("app.db")

    def by_status(status):
        return conn.execute(f"SELECT * FROM orders WHERE status = '{status}'").fetchall()

    def by_owner(owner):
        return conn.execute(f"SELECT * FROM orders WHERE owner = '{owner}'").fetchall()

    def open_orders():
        return by_owner("system") + by_owner("admin")
    """
    assert _lint(project, code) == {(5, "BL101")}


def test_bind_parameter_names_are_not_data(project) -> None:  # type: ignore[no-untyped-def]
    """open-webui/fides: f-strings that build only ``:name`` placeholders, values bound."""
    code = """
    from sqlalchemy import text

    def search(session, terms, columns):
        clauses = [f"lower(content) LIKE :term_{i}" for i, _ in enumerate(terms)]
        params = {f"term_{i}": f"%{t}%" for i, t in enumerate(terms)}
        placeholders = ", ".join([f":{col}" for col in columns])
        session.execute(text(f"INSERT INTO log ({', '.join(columns)}) VALUES ({placeholders})"), params)
        for key in params:
            session.execute(text(f"SELECT id FROM chat WHERE title LIKE :{key} ESCAPE '\\\\'"), params)
        return session.execute(text("SELECT id FROM chat WHERE " + " OR ".join(clauses)), params)
    """
    assert _lint(project, code) == set()


def test_statements_without_parameters(project) -> None:  # type: ignore[no-untyped-def]
    """open-webui/datasette: PRAGMA and SET take no parameters; a setting there is not a finding,
    request data is (and the message says why no placeholder helps)."""
    code = """
    import os
    import sqlite3
    from flask import Flask, request

    app = Flask(__name__)
    CACHE_SIZE = os.environ.get("SQLITE_CACHE_SIZE", "2000")

    def connect():
        conn = sqlite3.connect("app.db")
        conn.execute(f"PRAGMA cache_size=-{CACHE_SIZE}")
        conn.execute(f"PRAGMA key = '{os.environ['DATABASE_PASSWORD']}'")
        return conn

    @app.post("/tune")
    def tune():
        connect().execute(f"PRAGMA cache_size={request.form['size']}")
    """
    project.write("app/db.py", textwrap.dedent(code).lstrip("\n"))
    (finding,) = project.lint("app/db.py", "--select", "BL1", "--format", "json").json()["findings"]
    assert (finding["rule_id"], finding["line"]) == ("BL101", 16)
    assert "statement that takes no parameters" in finding["message"]


def test_constants_through_loops_enums_and_pure_calls(project) -> None:  # type: ignore[no-untyped-def]
    """indico's migrations: values from a module constant mapping through .items() and
    json.dumps(), a CASE built from an enum's members."""
    code = """
    import enum
    import json
    from alembic import op

    mapping = {0: "first_last", 1: "last_first"}

    class PersonalDataType(int, enum.Enum):
        email = 1
        first_name = 2

    def upgrade():
        for value, name in mapping.items():
            op.execute(f"UPDATE users.settings SET value = '{json.dumps(name)}' WHERE value = '{value}'")
        case = " ".join(f"WHEN {e.value} THEN '{e.name.replace('_', '-')}'" for e in PersonalDataType)
        op.execute(f"UPDATE form_items SET internal_name = CASE data_type {case} END")
    """
    assert _lint(project, code) == set()


def test_a_reassignment_in_a_block_replaces_the_earlier_value_there(project) -> None:  # type: ignore[no-untyped-def]
    """Kill semantics: the query built from the argument is replaced inside the ``with`` body before
    it runs there; after an ``if`` that may not run, both values reach the call."""
    code = """
    import sqlite3

    def purge(owner, everyone):
        sql = f"DELETE FROM notes WHERE owner = '{owner}'"
        with sqlite3.connect("app.db") as conn:
            sql = "DELETE FROM notes WHERE expired = 1"
            conn.execute(sql)
        query = f"SELECT * FROM notes WHERE owner = '{owner}'"
        if everyone:
            query = "SELECT * FROM notes"
        return sqlite3.connect("app.db").execute(query)
    """
    # The first text never runs (BL105, the audit, says so); the second may.
    assert _lint(project, code) == {(4, "BL105"), (8, "BL101")}


def test_constant_conditions_select_their_branch(project) -> None:  # type: ignore[no-untyped-def]
    code = """
    import sqlite3
    from typing import TYPE_CHECKING

    def report(region):
        sql = "SELECT * FROM sales WHERE region = ?"
        if TYPE_CHECKING:
            sql = f"SELECT * FROM sales WHERE region = '{region}'"
        if False:
            sqlite3.connect("app.db").execute(f"DELETE FROM sales WHERE region = '{region}'")
        return sqlite3.connect("app.db").execute(sql, (region,))
    """
    assert _lint(project, code) == set()


def test_existence_lookups_vet_identifiers(project) -> None:  # type: ignore[no-untyped-def]
    """An identifier from the request, checked against the database's own catalog or looked up
    first, is not a finding; unchecked, it is."""
    code = """
    from django.db import connection
    from django.http import Http404
    from app.models import Report

    def table_rows(request):
        table = request.GET["table"]
        if table not in connection.introspection.table_names():
            raise Http404(table)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {table}")

    def saved_report(request):
        name = request.GET["report"]
        if not Report.objects.filter(view_name=name).exists():
            raise Http404(name)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {name}")

    def unchecked(request):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {request.GET['table']}")
    """
    assert _lint(project, code) == {(21, "BL104")}


def test_query_objects_and_known_receivers_with_unlisted_methods(project) -> None:  # type: ignore[no-untyped-def]
    """Flask-SQLAlchemy's ``Model.query`` is a Query; a psycopg2 connection's ``execute`` (not in the
    tables: a wrapper's method) is judged like an unknown receiver's, on SQL-looking text."""
    code = """
    import psycopg2
    from flask import request
    from app.models import User

    def search():
        return User.query.filter(f"name LIKE '%{request.args['q']}%'").all()

    def purge(table):
        conn = psycopg2.connect("")
        conn.execute(f"DELETE FROM audit WHERE actor = '{table}'")
    """
    assert _lint(project, code) == {(6, "BL102"), (10, "BL101")}


def test_properties_returning_fixed_sql_per_backend(project) -> None:  # type: ignore[no-untyped-def]
    """lnbits' Compat: a property returning the dialect's fixed SQL, inherited by the wrapper."""
    code = """
    import sqlite3

    class Compat:
        type = "sqlite"

        @property
        def timestamp_now(self):
            if self.type == "postgres":
                return "now()"
            return "(strftime('%s', 'now'))"

    class Database(Compat):
        def __init__(self, path):
            self.conn = sqlite3.connect(path)

        def purge(self):
            self.conn.execute(f"DELETE FROM audit WHERE delete_at < {self.timestamp_now}")
    """
    assert _lint(project, code) == set()


def test_mysql_double_quotes_hold_a_string_value(project) -> None:  # type: ignore[no-untyped-def]
    """In MySQL ``"..."`` is a string literal: the slot is a value (BL101, parameterized), not an identifier."""
    code = """
    import pymysql
    from flask import request

    def find():
        cur = pymysql.connect().cursor()
        cur.execute(f'SELECT id FROM users WHERE name = "{request.args["name"]}"')
    """
    project.write("app/db.py", textwrap.dedent(code).lstrip("\n"))
    (finding,) = project.lint("app/db.py", "--select", "BL1", "--format", "json").json()["findings"]
    assert finding["rule_id"] == "BL101"
    result = project.lint("app/db.py", "--select", "BL1", "--fix", "--unsafe-fixes")
    assert result.exit_code == 0, result.stderr
    fixed = (project.root / "app/db.py").read_text()
    assert """cur.execute('SELECT id FROM users WHERE name = %s', (request.args["name"],))""" in fixed


def test_attributes_of_the_database_wrapper_are_its_dialects_sql(project) -> None:  # type: ignore[no-untyped-def]
    """lnbits: ``db`` imported from another module, whose class returns fixed SQL per backend from
    properties (``db.timestamp_now``); an attribute of another object is still a value."""
    code = """
    from app.core.db import db
    from app.settings import settings

    async def delete_expired(conn=None):
        await (conn or db).execute(f"DELETE FROM audit WHERE delete_at < {db.timestamp_now}")

    async def precompute(db):
        await db.execute(f"SELECT id FROM payments WHERE time < {db.timestamp_now} AND amount > 0")

    async def by_owner(db):
        await db.execute(f"SELECT id FROM payments WHERE owner = '{settings.owner}'")

    async def backfill(db, payment):
        tsph = db.timestamp_placeholder("created_at")
        await db.execute(f"UPDATE payments SET created_at = {tsph} WHERE id = :id", {"id": payment.id})
        name = await db.fetchone("SELECT name FROM settings")
        await db.execute(f"UPDATE payments SET owner = '{name}' WHERE id = :id", {"id": payment.id})
    """
    assert _lint(project, code) == {(11, "BL101"), (17, "BL101")}


def test_values_in_offline_code_need_outside_input(project) -> None:  # type: ignore[no-untyped-def]
    """A migration writes back values it read from the app's own tables or the clock: no outside
    input reaches them. The same statement in served code is reported; a script's argv is input."""
    migration = """
    import sys

    from alembic import op
    from app.utils import http_date, now_utc

    def upgrade():
        conn = op.get_bind()
        for row in conn.execute("SELECT service_type, id FROM messagingconfig").fetchall():
            conn.execute(f"UPDATE messagingconfig SET service_type = '{row[0].lower()}' WHERE id = '{row[1]}'")
        conn.execute("UPDATE users SET picture_updated = '%s'" % http_date(now_utc()))
        conn.execute(f"DELETE FROM users WHERE name = '{sys.argv[1]}'")
    """
    assert _lint(project, migration, path="app/migrations/versions/0042_service_type.py") == {(11, "BL101")}
    assert _lint(project, migration, path="app/service.py") == {(9, "BL101"), (10, "BL101"), (11, "BL101")}


def test_placeholder_lists_in_every_spelling(project) -> None:  # type: ignore[no-untyped-def]
    """label-studio's bulk update: an IN list of ``%s`` repeated once per key (values bound), spelled
    with itertools.repeat, map(lambda …), itertools.chain or a cut of ``"%s, " * n``; a list of
    request values joined in is still a finding."""
    code = """
    import itertools
    from itertools import repeat

    from django.db import connection

    def bulk_update(pks):
        in_clause = '"id" in ({pks})'.format(pks=", ".join(itertools.repeat("%s", len(pks))))
        sql = "UPDATE {dbtable} SET done = true WHERE {in_clause}".format(dbtable='"task"', in_clause=in_clause)
        connection.cursor().execute(sql, pks)

    def by_ids(ids, names):
        marks = ",".join(repeat("%s", len(ids)))
        more = ", ".join(map(lambda _: "%s", names))
        both = ", ".join(itertools.chain(["%s"] * len(ids), ("%s" for _ in names)))
        cut = ("%s, " * len(ids))[:-2]
        connection.cursor().execute(f"SELECT * FROM t WHERE id IN ({marks}) OR name IN ({more})", [*ids, *names])
        connection.cursor().execute(f"SELECT * FROM t WHERE id IN ({both}) OR id IN ({cut})", [*ids, *names, *ids])

    def by_request(request):
        ids = ", ".join(map(lambda x: x.strip(), request.GET.getlist("id")))
        connection.cursor().execute(f"SELECT * FROM t WHERE id IN ({ids})")
    """
    assert _lint(project, code) == {(20, "BL101")}


def test_validator_functions_guard_what_they_are_called_on(project) -> None:  # type: ignore[no-untyped-def]
    """lnbits: ``_require_identifier({"table": table}, "table")`` raises unless ``data.get(key)``
    matches an identifier regex; called as a statement before the SQL is built, it vets ``table``
    (also inside a helper whose caller passes request data, and through a validator calling it, or
    one checking an allowlist). A function that may return before its check vets nothing."""
    code = """
    import re
    from typing import Any

    from fastapi import FastAPI

    from app.core.db import db

    app = FastAPI()
    _SQL_IDENTIFIER_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
    SORTS = ("name", "created_at")

    def _require_identifier(data: dict[str, Any], key: str) -> str:
        value = data.get(key)
        if not isinstance(value, str) or not _SQL_IDENTIFIER_RE.match(value):
            raise ValueError(f"Invalid storage SQL identifier for '{key}': {value}")
        return value

    def _check_column(name):
        _require_identifier({"name": name}, "name")

    def _check_sort(sort):
        if sort not in SORTS:
            raise ValueError(sort)

    def _table_ref_for_schema(ext_id: str, table: str) -> str:
        _require_identifier({"schema": ext_id}, "schema")
        _require_identifier({"table": table}, "table")
        return f"{ext_id}.{table}"

    def _maybe_check(table):
        if table.startswith("tmp_"):
            return table
        if not _SQL_IDENTIFIER_RE.match(table):
            raise ValueError(table)

    @app.get("/storage/{ext_id}/{table}")
    async def rows(ext_id: str, table: str, sort: str, column: str):
        ref = _table_ref_for_schema(ext_id, table)
        _check_column(column)
        _check_sort(sort)
        await db.execute(f"SELECT {column} FROM {ref} ORDER BY {sort}")
        _maybe_check(table)
        await db.execute(f"SELECT * FROM t ORDER BY {table}")
    """
    assert _lint(project, code) == {(43, "BL104")}


def test_fragments_chosen_in_code_through_format_map(project) -> None:  # type: ignore[no-untyped-def]
    """kinto: ``query.format_map(safeholders)``, each entry a fragment with ``:placeholders`` chosen in
    code (``defaultdict(str)`` for the absent ones, SQL composed by helpers named so); a private
    migration helper whose every caller passes a constant table name (isso's shape). An entry holding
    request data is the finding, at the entry."""
    code = """
    from collections import defaultdict

    import sqlalchemy as sa
    from flask import request

    class Storage:
        def delete_all(self, parent_id, sorting=None):
            query = "DELETE FROM objects WHERE {parent_id_filter} {resource_name_filter} {sorting}"
            placeholders = {"parent_id": parent_id.replace("*", "%")}
            safeholders = defaultdict(str)
            if "*" in parent_id:
                safeholders["parent_id_filter"] = "parent_id LIKE :parent_id"
            else:
                safeholders["parent_id_filter"] = "parent_id = :parent_id"
            if sorting:
                sql, holders = self._format_sorting(sorting)
                safeholders["sorting"] = sql
                placeholders.update(**holders)
            query = query.format_map(safeholders)
            with self.client.connect() as conn:
                return conn.execute(sa.text(query), placeholders).fetchall()

        def search(self):
            holders = dict(order="name")
            holders["term"] = request.args["q"]
            query = "SELECT * FROM objects WHERE data = '{term}' ORDER BY {order}".format_map(holders)
            return query

        def __init__(self, db):
            self.db = db
            self.db.execute(_create_table_query("comments"))

    def _create_table_query(table_name):
        return f"CREATE TABLE IF NOT EXISTS {table_name} (id INTEGER PRIMARY KEY, text VARCHAR)"
    """
    assert _lint(project, code, "--select", "BL105") == {(25, "BL105")}


def test_predicates_of_the_module_guard_the_if_they_are_tested_in(project) -> None:  # type: ignore[no-untyped-def]
    """``if not is_identifier(table): raise HTTPException(...)``: a function of the module whose every
    return tests its parameter (a full-match regex, an allowlist; ``return False`` aside) vets the name
    it is passed; one with a path answering True unchecked vets nothing."""
    code = """
    import re

    from fastapi import FastAPI, HTTPException

    from app.core.db import db

    app = FastAPI()
    IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
    SORTS = {"name", "created_at"}

    def is_identifier(name: str) -> bool:
        return bool(IDENTIFIER.fullmatch(name))

    def is_sort(key):
        if not key:
            return False
        return key in SORTS

    def looks_ok(name):
        if name.startswith("x"):
            return True
        return IDENTIFIER.fullmatch(name) is not None

    @app.get("/tables/{table}")
    async def rows(table: str, sort: str, column: str):
        if not is_identifier(table):
            raise HTTPException(400, "bad table")
        if not is_sort(sort):
            raise HTTPException(400, "bad sort")
        if not looks_ok(column):
            raise HTTPException(400, "bad column")
        await db.execute(f"SELECT {column} FROM {table} ORDER BY {sort}")
        if is_identifier(column):
            await db.execute(f"SELECT {column} FROM t")
    """
    assert _lint(project, code) == {(32, "BL104")}


def test_a_check_does_not_vet_a_comprehension_variable_of_the_same_name(project) -> None:  # type: ignore[no-untyped-def]
    code = """
    from django.db import connection

    ALLOWED = ("name", "email")

    def update(request, pk):
        col = request.GET["sort"]
        if col not in ALLOWED:
            raise ValueError(col)
        sets = ", ".join(f"{col} = %s" for col in request.GET.getlist("columns"))
        connection.cursor().execute(f"UPDATE users SET {sets} WHERE id = %s ORDER BY {col}", [pk])
    """
    assert _lint(project, code) == {(9, "BL104")}


def test_a_row_looked_up_by_the_value_vets_it(project) -> None:  # type: ignore[no-untyped-def]
    """lnbits' drop_extension_db: the schema name is looked up in the app's own table first and the
    helper raises when no row is found; a row looked up by something else vets nothing."""
    code = """
    from fastapi import FastAPI

    from app.core.db import db

    app = FastAPI()

    @app.delete("/{ext_id}/db")
    async def drop_extension_db(ext_id: str, other: str):
        row = await db.fetchone("SELECT * FROM dbversions WHERE db = :id", {"id": ext_id})
        if not row:
            raise Exception(f"Extension '{ext_id}' db version cannot be found")
        await db.execute(f"DROP SCHEMA IF EXISTS {ext_id} CASCADE")
        await db.execute(f"DROP SCHEMA IF EXISTS {other} CASCADE")
    """
    assert _lint(project, code) == {(13, "BL104")}
