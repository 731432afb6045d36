"""BL101/BL102/BL104 across modules (issue 15 §1): a query helper judged with its callers in the whole
project (backlint/checks/sql_project.py), and the same verdict from partial runs (the cache,
``--stdin-filename``, one file) as from the full run."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from conftest import FIXTURES, run_cli

DB = """
import sqlite3

conn = sqlite3.connect("shop.db")


def count_rows(table, clause=""):
    return conn.execute(f"SELECT COUNT(*) FROM {table} {clause}").fetchone()[0]


def by_status(table, status):
    return conn.execute(f"SELECT * FROM {table} WHERE status = '{status}'").fetchall()
"""

JOBS = """
from shop.db import by_status, count_rows

ARCHIVED = "archived"


def nightly():
    count_rows("orders", "WHERE paid = 1")
    return by_status("orders", ARCHIVED)
"""

ROUTES = """
from flask import Flask, request

from shop import db

app = Flask(__name__)


@app.get("/orders")
def orders():
    return {"rows": db.by_status("orders", request.args["status"])}
"""


def _write(root: Path, files: dict[str, str]) -> None:
    (root / "pyproject.toml").write_text("[tool.backlint]\n", encoding="utf-8")
    (root / "shop").mkdir(exist_ok=True)
    (root / "shop" / "__init__.py").write_text("", encoding="utf-8")
    for name, text in files.items():
        (root / "shop" / name).write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


def _sql(root: Path, *args: str, stdin: str | None = None) -> list[dict]:  # type: ignore[type-arg]
    result = run_cli("--select", "BL1", "--format", "json", *args, cwd=root, input=stdin)
    assert result.exit_code in (0, 1), result.stderr
    return sorted(result.json()["findings"], key=lambda f: (f["path"], f["line"]))


def _places(findings: list[dict]) -> set[tuple[str, int, str]]:  # type: ignore[type-arg]
    return {(f["path"], f["line"], f["rule_id"]) for f in findings}


def test_every_caller_elsewhere_passes_constants(tmp_path: Path) -> None:
    """lnbits-style generic helpers in db.py whose callers, all in other modules, pass constants."""
    _write(tmp_path, {"db.py": DB, "jobs.py": JOBS})
    assert _sql(tmp_path, "--no-cache") == []


def test_a_helper_called_from_nowhere_keeps_its_value_slot(tmp_path: Path) -> None:
    _write(tmp_path, {"db.py": DB})
    assert _places(_sql(tmp_path, "--no-cache")) == {("shop/db.py", 11, "BL101")}


def test_request_data_from_another_module_is_reported_at_the_caller(tmp_path: Path) -> None:
    _write(tmp_path, {"db.py": DB, "jobs.py": JOBS, "routes.py": ROUTES})
    (finding,) = _sql(tmp_path, "--no-cache")
    assert (finding["path"], finding["line"], finding["rule_id"]) == ("shop/routes.py", 10, "BL101")
    assert "request.args" in finding["message"] and "`by_status()`'s `status` parameter" in finding["message"]
    assert [(r["path"], r["line"]) for r in finding["related"]] == [("shop/db.py", 11), ("shop/db.py", 11)]


def test_an_unknown_argument_from_an_endpoint_elsewhere_reports_a_syntax_slot(tmp_path: Path) -> None:
    """A table name of unknown origin is reported in the helper only when the code runs in an endpoint."""
    routes = """
    from flask import Flask

    from shop.db import count_rows
    from shop.settings import table_for

    app = Flask(__name__)


    @app.get("/count")
    def count():
        return {"n": count_rows(table_for())}
    """
    _write(tmp_path, {"db.py": DB, "jobs.py": JOBS, "routes.py": routes})
    assert _places(_sql(tmp_path, "--no-cache")) == {("shop/db.py", 7, "BL104")}
    _write(tmp_path, {"routes.py": routes.replace("@app.get", "@staticmethod")})  # no endpoint now
    assert _sql(tmp_path, "--no-cache") == []


def test_a_parameter_passed_on_across_modules_is_followed(tmp_path: Path) -> None:
    reports = """
    from shop.db import count_rows


    def total(table):
        return count_rows(table)
    """
    routes = """
    from fastapi import FastAPI

    from shop.reports import total

    app = FastAPI()


    @app.get("/total")
    def get_total(table: str):
        return {"n": total(table)}
    """
    _write(tmp_path, {"db.py": DB, "jobs.py": JOBS, "reports.py": reports, "routes.py": routes})
    (finding,) = _sql(tmp_path, "--no-cache")
    assert (finding["path"], finding["line"], finding["rule_id"]) == ("shop/routes.py", 10, "BL104")
    assert [(r["path"], r["line"]) for r in finding["related"]] == [
        ("shop/reports.py", 5),
        ("shop/db.py", 7),
        ("shop/db.py", 7),
    ]


@pytest.fixture
def app_copy(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURES / "sql_helpers_app", tmp_path / "app")
    (tmp_path / "app" / "pyproject.toml").write_text("[tool.backlint]\n", encoding="utf-8")
    return tmp_path / "app"


def test_partial_runs_judge_the_helper_with_every_caller(app_copy: Path) -> None:
    """The caller module alone (from the cache, by standard input, in a facts-only pass) gets the
    finding the full run places there; a caller changed since the cached run is judged as it is now."""
    full = _places(_sql(app_copy))  # with the cache
    in_routes = {f for f in full if f[0] == "shopdata/routes.py"}
    assert {rule for _, _, rule in in_routes} == {"BL101", "BL104"}
    assert _places(_sql(app_copy, "shopdata/routes.py")) == in_routes
    assert _places(_sql(app_copy, "shopdata/routes.py", "--no-cache")) == in_routes
    text = (app_copy / "shopdata" / "routes.py").read_text(encoding="utf-8")
    assert _places(_sql(app_copy, "--stdin-filename", "shopdata/routes.py", "-", stdin=text)) == in_routes
    # jobs.py now passes request data to purge(): the cached verdict on db.py is judged again.
    jobs = app_copy / "shopdata" / "jobs.py"
    changed = jobs.read_text(encoding="utf-8").replace(
        'purge("sessions", RETENTION_DAYS)', 'purge("sessions", request.args["days"])'
    )
    jobs.write_text("from flask import request\n" + changed, encoding="utf-8")
    assert ("shopdata/jobs.py", 11, "BL101") in _places(_sql(app_copy))
    assert ("shopdata/jobs.py", 11, "BL101") in _places(_sql(app_copy, "shopdata/jobs.py"))
    stdin = jobs.read_text(encoding="utf-8")
    jobs.write_text(changed.replace('request.args["days"]', "RETENTION_DAYS"), encoding="utf-8")
    found = _places(_sql(app_copy, "--stdin-filename", "shopdata/jobs.py", "-", stdin=stdin))
    assert ("shopdata/jobs.py", 11, "BL101") in found  # the buffer, not the file on disk


def test_the_fix_of_a_helper_judged_in_the_project_pass(tmp_path: Path) -> None:
    """``--fix`` parameterizes a helper's value slot reported by the project pass, as in a file."""
    _write(tmp_path, {"db.py": DB})
    result = run_cli("--select", "BL101", "--fix", "--unsafe-fixes", "--no-cache", cwd=tmp_path)
    assert result.exit_code == 0, result.stdout + result.stderr
    fixed = (tmp_path / "shop" / "db.py").read_text(encoding="utf-8")
    assert 'WHERE status = ?", (status,)' in fixed, fixed


def test_an_orm_helper_and_a_fastapi_caller(tmp_path: Path) -> None:
    """BL102: a repository function running ``text()`` with an ORDER BY fragment and a value; the
    endpoint module passes its query parameters (outside input), the admin module constants."""
    repository = """
    from sqlalchemy import text


    def list_items(session, order, owner):
        return session.execute(text(f"SELECT * FROM items WHERE owner = '{owner}' ORDER BY {order}")).all()
    """
    admin = """
    from shop.repository import list_items


    def report(session):
        return list_items(session, "created_at DESC", "admin")
    """
    api = """
    from fastapi import FastAPI

    from shop import repository

    app = FastAPI()


    @app.get("/items")
    def items(owner: str, session=None):
        return repository.list_items(session, "name", owner)
    """
    _write(tmp_path, {"repository.py": repository, "admin.py": admin})
    assert _sql(tmp_path, "--no-cache") == []
    _write(tmp_path, {"api.py": api})
    (finding,) = _sql(tmp_path, "--no-cache")
    assert (finding["path"], finding["line"], finding["rule_id"]) == ("shop/api.py", 10, "BL102")
    assert "the endpoint parameter `owner`" in finding["message"]


def test_shards_merged_report_what_one_run_reports(app_copy: Path) -> None:
    """Each shard records its modules' facts; the merge judges every helper with every caller."""
    full = _places(_sql(app_copy, "--no-cache"))
    outputs = []
    for index in (1, 2, 3):
        output = app_copy / f"shard-{index}.json"
        result = run_cli(
            "--select", "BL1", "--no-cache", "--shard", f"{index}/3", "--shard-output", str(output), cwd=app_copy
        )
        assert result.exit_code in (0, 1), result.stderr
        outputs.append(str(output))
    merged = run_cli("merge", *outputs, "--format", "json", cwd=app_copy)
    assert merged.exit_code in (0, 1), merged.stderr
    assert _places(merged.json()["findings"]) == full


def test_a_constant_imported_by_the_caller_is_a_constant(tmp_path: Path) -> None:
    """A caller passing a constant of another module of the project (a settings or constants module)
    passes a constant; a name of that module bound to something else does not."""
    consts = """
    import os

    ARCHIVED = "archived"
    ORDERS = "orders"
    STATUS = os.environ.get("DEFAULT_STATUS", "open")
    """
    jobs = """
    from shop import consts
    from shop.consts import ARCHIVED
    from shop.db import by_status, count_rows


    def nightly():
        count_rows(consts.ORDERS)
        return by_status("orders", ARCHIVED)
    """
    _write(tmp_path, {"db.py": DB, "consts.py": consts, "jobs.py": jobs})
    assert _sql(tmp_path, "--no-cache") == []
    _write(tmp_path, {"jobs.py": jobs.replace("ARCHIVED)", "consts.STATUS)")})
    assert _places(_sql(tmp_path, "--no-cache")) == {("shop/db.py", 11, "BL101")}


REPOSITORY = """
import sqlite3


class Repository:
    def __init__(self, path):
        self.conn = sqlite3.connect(path)

    def count(self, table):
        return self.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]

    def by_status(self, table, status):
        return self.conn.execute(f"SELECT * FROM {table} WHERE status = '{status}'").fetchall()


repo = Repository("shop.db")
"""

REPOSITORY_JOBS = """
from shop.repository import Repository, repo


class Nightly:
    def __init__(self):
        self.repo = Repository("shop.db")

    def run(self):
        self.repo.count("orders")
        return self.repo.by_status("orders", "archived")


def purge(store: Repository):
    store.count("sessions")
    return repo.by_status("orders", "archived")


def weekly():
    store = Repository("shop.db")
    return store.by_status("invoices", "paid")
"""

REPOSITORY_ROUTES = """
from flask import Flask, request

from shop.repository import repo

app = Flask(__name__)


@app.get("/orders")
def orders():
    return {"rows": repo.by_status("orders", request.args["status"])}
"""


def test_methods_called_on_instances_of_project_classes(tmp_path: Path) -> None:
    """lnbits-style: the SQL is built in a method of a repository class; other modules call it on an
    instance (a local ``Repository(...)``, ``self.repo``, a parameter annotated with the class, the
    module's own ``repo = Repository(...)`` imported). Constants everywhere: nothing; request data
    passed in a route: the finding at that route, also from a partial run."""
    _write(tmp_path, {"repository.py": REPOSITORY, "jobs.py": REPOSITORY_JOBS})
    assert _sql(tmp_path, "--no-cache") == []
    _write(tmp_path, {"routes.py": REPOSITORY_ROUTES})
    expected = {("shop/routes.py", 10, "BL101")}
    assert _places(_sql(tmp_path, "--no-cache")) == expected
    assert _places(_sql(tmp_path)) == expected
    assert _places(_sql(tmp_path, "shop/routes.py")) == expected
    stdin = (tmp_path / "shop" / "routes.py").read_text(encoding="utf-8")
    assert _places(_sql(tmp_path, "--stdin-filename", "shop/routes.py", "-", stdin=stdin)) == expected
    assert _sql(tmp_path, "shop/repository.py", "--no-cache") == []


VALIDATION = """
import re
from typing import Any

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


def require_identifier(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not IDENTIFIER.match(value):
        raise ValueError(f"invalid SQL identifier for {key!r}")
    return value


def check_column(name):
    if not IDENTIFIER.fullmatch(name):
        raise ValueError(name)


def is_identifier(name: str) -> bool:
    return bool(IDENTIFIER.fullmatch(name))


def log_name(name):
    print(name)
"""

VALIDATED_ROUTES = """
from fastapi import FastAPI, HTTPException

from shop import validation
from shop.db import db
from shop.validation import check_column, is_identifier, log_name, require_identifier

app = FastAPI()


@app.get("/storage/{table}")
async def rows(table: str, column: str, sort: str, other: str):
    require_identifier({"table": table}, "table")
    check_column(column)
    if not is_identifier(sort):
        raise HTTPException(400, "bad sort")
    log_name(other)
    await db.execute(f"SELECT {column} FROM {table} ORDER BY {sort}")
    await db.execute(f"SELECT * FROM {other}")


@app.get("/archive/{table}")
async def archive(table: str):
    validation.check_column(table)
    await db.execute(f"SELECT * FROM {table}")
"""


def test_validators_of_another_module_vet_what_they_are_passed(tmp_path: Path) -> None:
    """lnbits' ``_require_identifier`` moved to a validation module: a validator or a predicate
    imported from the project vets the name it is passed before the SQL (also from a partial run);
    a function that checks nothing does not, and a validator changed into one is seen at once."""
    _write(tmp_path, {"validation.py": VALIDATION, "routes.py": VALIDATED_ROUTES})
    expected = {("shop/routes.py", 18, "BL104")}
    assert _places(_sql(tmp_path, "--no-cache")) == expected
    assert _places(_sql(tmp_path)) == expected
    assert _places(_sql(tmp_path, "shop/routes.py")) == expected
    stdin = (tmp_path / "shop" / "routes.py").read_text(encoding="utf-8")
    assert _places(_sql(tmp_path, "--stdin-filename", "shop/routes.py", "-", stdin=stdin)) == expected
    _write(tmp_path, {"validation.py": VALIDATION.replace("raise ValueError(name)", "print(name)")})
    unchecked = {("shop/routes.py", 17, "BL104"), ("shop/routes.py", 24, "BL104")}
    assert _places(_sql(tmp_path, "shop/routes.py")) == expected | unchecked


def test_helpers_re_exported_by_their_package(tmp_path: Path) -> None:
    """lnbits: ``from lnbits.core.crud import get_wallet``, re-exported by ``crud/__init__.py`` from
    ``.wallets``: the callers through the package are the helper's callers."""
    wallets = """
    from shop.database import db


    async def get_rows(table, status):
        return await db.execute(f"SELECT * FROM {table} WHERE status = '{status}'")
    """
    jobs = """
    from shop.crud import get_rows


    async def nightly():
        return await get_rows("wallets", "archived")
    """
    routes = """
    from fastapi import FastAPI

    from shop import crud

    app = FastAPI()


    @app.get("/rows")
    async def rows(status: str):
        return await crud.get_rows("wallets", status)
    """
    _write(tmp_path, {"jobs.py": jobs})
    (tmp_path / "shop" / "crud").mkdir()
    (tmp_path / "shop" / "crud" / "__init__.py").write_text("from .wallets import get_rows\n", encoding="utf-8")
    (tmp_path / "shop" / "crud" / "wallets.py").write_text(textwrap.dedent(wallets).lstrip("\n"), encoding="utf-8")
    assert _sql(tmp_path, "--no-cache") == []
    _write(tmp_path, {"routes.py": routes})
    assert _places(_sql(tmp_path, "--no-cache")) == {("shop/routes.py", 10, "BL101")}
    assert _places(_sql(tmp_path, "shop/routes.py")) == {("shop/routes.py", 10, "BL101")}
