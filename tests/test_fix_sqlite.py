"""The BL101/BL102 rewrite run for real: the SQL fixtures, fixed by `backlint --fix --unsafe-fixes`, against sqlite.

Each test writes a small program that imports a fixture module twice (as written, and as fixed),
calls its functions on a fresh sqlite3 database with an ordinary value and with injection strings,
and prints what came back. The fixed code must return exactly what the intended parameterized
query returns (written by hand in the program), where the original shows the injection working.
Programs run in their own process: the fixtures connect at import and Django configures once.
FastAPI is replaced by a stand-in whose decorators return the function: the endpoints are called
directly, and only their SQL matters.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, run_cli

INJECTION = "x' OR '1'='1"
COMMENT_OUT = "' OR 1=1 --"


@pytest.fixture(scope="module")
def copies(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(original, fixed): two copies of fixtures/sql; the second fixed with every BL1xx fix."""
    root = tmp_path_factory.mktemp("sqlfix")
    original, fixed = root / "original", root / "fixed"
    shutil.copytree(FIXTURES / "sql", original)
    shutil.copytree(FIXTURES / "sql", fixed)
    result = run_cli(".", "--fix", "--unsafe-fixes", "--select", "BL1", "--no-cache", cwd=fixed)
    assert "fixed" in result.stderr, result.stderr
    return original, fixed


def _paths(copies: tuple[Path, Path], name: str) -> list[tuple[str, str]]:
    return [("original", str(copies[0] / name)), ("fixed", str(copies[1] / name))]


FASTAPI_STAND_IN = {
    "__init__.py": """
        class HTTPException(Exception):
            def __init__(self, status_code, detail=None):
                super().__init__(detail)
                self.status_code = status_code

        class Request:
            pass

        def Depends(dependency=None):
            return dependency

        class FastAPI:
            def route(self, *args, **kwargs):
                return lambda function: function

            get = post = put = patch = delete = exception_handler = route
        """,
    "responses.py": """
        class JSONResponse:
            def __init__(self, status_code=200, content=None):
                self.status_code, self.content = status_code, content
        """,
}


def run_program(code: str, cwd: Path, env: dict[str, str] | None = None) -> Any:
    """Run ``code`` with ``load(name, path)`` and ``dump(value)`` defined; return what it dumped."""
    (cwd / "fastapi").mkdir(exist_ok=True)
    for name, text in FASTAPI_STAND_IN.items():
        (cwd / "fastapi" / name).write_text(textwrap.dedent(text), encoding="utf-8")
    prelude = textwrap.dedent(
        """
        import importlib.util, json, sqlite3, sys

        def load(name, path):
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module

        def attempt(function, *args):
            try:
                value = function(*args)
            except Exception as exc:  # the original code breaks on quotes: part of what is compared
                return f"error: {type(exc).__name__}"
            return [list(row) for row in value] if isinstance(value, list) else value

        def dump(value):
            print(json.dumps(value, default=str))
        """
    )
    program = cwd / "program.py"
    program.write_text(prelude + textwrap.dedent(code), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(program)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_sqlite_users_lookups(copies: tuple[Path, Path], tmp_path: Path) -> None:
    code = f"""
    from fastapi import HTTPException

    def fresh():
        db = sqlite3.connect("users.db")
        db.executescript("DROP TABLE IF EXISTS users; CREATE TABLE users (id INTEGER, name TEXT, email TEXT);")
        rows = [(1, "alice", "a@example.com"), (2, "bob", "b@example.com"), (3, {INJECTION!r}, "c@example.com")]
        db.executemany("INSERT INTO users VALUES (?, ?, ?)", rows)
        db.commit()
        return db

    def call(function, value):
        try:
            return function(value)
        except HTTPException as exc:
            return exc.status_code

    out = {{}}
    for label, path in {_paths(copies, "sqlite_users.py")!r}:
        db = fresh()
        module = load("users_" + label, path)
        out[label] = {{
            value: [call(module.get_user, value), attempt(module.get_user_by_email, value)]
            for value in ("bob", {INJECTION!r}, "nobody", "b@example.com", {COMMENT_OUT!r})
        }}
    db = fresh()
    def intended_user(value):
        row = db.execute("SELECT id, email FROM users WHERE name = ?", (value,)).fetchone()
        return 404 if row is None else {{"id": row[0], "email": row[1]}}
    def intended_by_email(value):
        row = db.execute("SELECT id, name FROM users WHERE email = ?", (value,)).fetchone()
        return list(row) if row else None
    out["intended"] = {{v: [intended_user(v), intended_by_email(v)] for v in out["fixed"]}}
    dump(out)
    """
    out = run_program(code, tmp_path, {"USERS_DB": "users.db"})
    assert out["fixed"] == out["intended"]
    assert out["original"][INJECTION] != out["intended"][INJECTION]  # the fixture was injectable
    assert out["intended"][INJECTION][0] == {"id": 3, "email": "c@example.com"}  # the injection string is a name


def test_sqlite_in_list_gets_one_placeholder_per_item(copies: tuple[Path, Path], tmp_path: Path) -> None:
    """``name IN ('a', 'b')`` built by joining quoted items becomes ``IN (?, ?)`` with the items as parameters."""
    code = f"""
    db = sqlite3.connect("users.db")
    db.executescript("DROP TABLE IF EXISTS users; CREATE TABLE users (id INTEGER, name TEXT, email TEXT);")
    db.executemany("INSERT INTO users VALUES (?, ?, ?)", [(1, "alice", ""), (2, "bob", ""), (3, {INJECTION!r}, "")])
    db.commit()
    out = {{}}
    for label, path in {_paths(copies, "sqlite_users.py")!r}:
        module = load("users_in_" + label, path)
        out[label] = {{
            repr(names): attempt(module.users_by_names, names)
            for names in (["bob"], ["alice", "bob"], [{INJECTION!r}], ["nobody"], ["x') OR ('1'='1"])
        }}
    dump(out)
    """
    out = run_program(code, tmp_path, {"USERS_DB": "users.db"})
    assert out["fixed"] == {
        "['bob']": [[2, "bob"]],
        "['alice', 'bob']": [[1, "alice"], [2, "bob"]],
        f"[{INJECTION!r}]": [[3, INJECTION]],
        "['nobody']": [],
        "[\"x') OR ('1'='1\"]": [],
    }
    assert out["original"]["[\"x') OR ('1'='1\"]"] != []  # the fixture was injectable


def test_sqlite_catalog_like_wildcards_updates_and_inserts(copies: tuple[Path, Path], tmp_path: Path) -> None:
    code = f"""
    SCHEMA = '''
    DROP TABLE IF EXISTS products; DROP TABLE IF EXISTS notes;
    CREATE TABLE products (sku TEXT PRIMARY KEY, title TEXT, category TEXT, price REAL, discount INTEGER);
    CREATE TABLE notes (sku TEXT, body TEXT);
    '''
    ROWS = [("LMP-1", "Desk lamp", "lighting", 30.0, 10), ("LMP-2", "Floor lamp 100%", "lighting", 80.0, 25),
            ("CHR-1", "Chair", "seating", 50.0, 5), ("zz' OR 1=1 --", "Odd sku", "misc", 1.0, 50)]

    def fresh():
        db = sqlite3.connect("catalog.db")
        db.executescript(SCHEMA)
        db.executemany("INSERT INTO products VALUES (?, ?, ?, ?, ?)", ROWS)
        db.commit()
        return db

    def exercise(module, db):
        result = {{}}
        for term in ("lamp", "100%", "%", {COMMENT_OUT!r}):
            result["search " + term] = attempt(module.search_products, db, term, 2)
        for prefix in ("LMP", "zz' OR 1=1 --", "_"):
            result["prefix " + prefix] = attempt(module.products_with_prefix, db, prefix)
        for category in ("lighting", {COMMENT_OUT!r}):
            found = attempt(module.discounted, db, category, 10)
            result["discounted " + category] = sorted(found) if isinstance(found, list) else found
        result["rename"] = attempt(module.rename_product, db, "CHR-1", "Chair' --")
        result["notes"] = attempt(module.add_note, db, "CHR-1", "it's sturdy")
        result["after"] = [list(r) for r in db.execute("SELECT sku, title FROM products ORDER BY sku")]
        result["notes after"] = [list(r) for r in db.execute("SELECT sku, body FROM notes")]
        return result

    out = {{}}
    for label, path in {_paths(copies, "sqlite_catalog.py")!r}:
        out[label] = exercise(load("catalog_" + label, path), fresh())

    class Intended:
        @staticmethod
        def search_products(db, term, limit):
            sql = "SELECT sku, title FROM products WHERE title LIKE ? ORDER BY sku LIMIT ?"
            return db.execute(sql, (f"%{{term}}%", limit)).fetchall()
        @staticmethod
        def products_with_prefix(db, prefix):
            return db.execute("SELECT sku FROM products WHERE sku LIKE ? ORDER BY sku", (prefix + "%",)).fetchall()
        @staticmethod
        def discounted(db, category, percent):
            sql = "SELECT sku, price FROM products WHERE category = ? AND discount >= ?"
            return db.execute(sql, (category, percent)).fetchall()
        @staticmethod
        def rename_product(db, sku, title):
            db.execute("UPDATE products SET title = ? WHERE sku = ?", (title, sku))
        @staticmethod
        def add_note(db, sku, note):
            db.execute("INSERT INTO notes (sku, body) VALUES (?, ?)", (sku, "note: " + note))

    out["intended"] = exercise(Intended, fresh())
    dump(out)
    """
    out = run_program(code, tmp_path)
    assert out["fixed"] == out["intended"]
    for case in ("search ' OR 1=1 --", "discounted ' OR 1=1 --", "after", "notes after"):
        assert out["original"][case] != out["intended"][case], case
    assert out["intended"]["search ' OR 1=1 --"] == []
    assert ["CHR-1", "Chair' --"] in out["intended"]["after"]  # the quote is part of the title


def test_repository_keeps_the_vetted_table_name(copies: tuple[Path, Path], tmp_path: Path) -> None:
    fixed = copies[1]
    assert "{self.table!s}" in (fixed / "repository.py").read_text("utf-8")
    code = f"""
    db = sqlite3.connect("sales.db")
    db.executescript("CREATE TABLE sales (product TEXT, region TEXT, qty INTEGER);")
    db.executemany("INSERT INTO sales VALUES (?, ?, ?)", [("widget", "north", 3), ("gadget", "south", 5)])
    db.commit()
    out = {{}}
    for label, path in {_paths(copies, "repository.py")!r}:
        repository = load("repository_" + label, path).SalesRepository("sales.db")
        out[label] = {{p: attempt(repository.by_product, p) for p in ("widget", {INJECTION!r})}}
    out["intended"] = {{
        p: [list(r) for r in db.execute("SELECT * FROM sales WHERE product = ?", (p,))] for p in out["fixed"]
    }}
    dump(out)
    """
    out = run_program(code, tmp_path)
    assert out["fixed"] == out["intended"]
    assert out["original"][INJECTION] != out["intended"][INJECTION] == []


def test_sqlalchemy_text_gets_bound_parameters(copies: tuple[Path, Path], tmp_path: Path) -> None:
    pytest.importorskip("sqlalchemy")
    fixed = copies[1]
    assert ".bindparams(email=email)" in (fixed / "sqlalchemy_accounts.py").read_text("utf-8")
    code = f"""
    from sqlalchemy.orm import Session

    db = sqlite3.connect("accounts.db")
    db.executescript("CREATE TABLE accounts (id TEXT, email TEXT, balance INTEGER);")
    rows = [("a1", "ann@example.com", 10), ("a2", "bo@example.com", 20)]
    db.executemany("INSERT INTO accounts VALUES (?, ?, ?)", rows)
    db.commit()
    out = {{}}
    for label, path in {_paths(copies, "sqlalchemy_accounts.py")!r}:
        module = load("accounts_" + label, path)
        with Session(module.engine) as session:
            out[label] = {{
                e: (lambda row: list(row) if row is not None else None)(module.by_email(e, db=session))
                for e in ("bo@example.com", {INJECTION!r})
            }}
    def intended(email):
        row = db.execute("SELECT * FROM accounts WHERE email = ?", (email,)).fetchone()
        return list(row) if row else None
    out["intended"] = {{e: intended(e) for e in out["fixed"]}}
    dump(out)
    """
    out = run_program(code, tmp_path, {"DATABASE_URL": "sqlite:///accounts.db"})
    assert out["fixed"] == out["intended"]
    assert out["original"][INJECTION] != out["intended"][INJECTION] is None


DJANGO_PROGRAM = """
import sys
import django
from django.conf import settings

sys.path.insert(0, {root!r})
database = {{"ENGINE": "django.db.backends.sqlite3", "NAME": "shop.db"}}
settings.configure(
    DATABASES={{"default": database, "replica": database}},
    INSTALLED_APPS=["shop"],
    DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    ALLOWED_HOSTS=["*"],
)
django.setup()
from django.core.management import call_command
from django.test import RequestFactory
from shop import views
from shop.models import Person, Product

call_command("migrate", run_syncdb=True, verbosity=0)
Person.objects.all().delete(); Product.objects.all().delete()
Person.objects.create(id=1, first_name="Ada", last_name="Lovelace")
Person.objects.create(id=2, first_name="Alan", last_name="Turing")
Product.objects.create(id=1, name="Notebook", price="4.50", category="books")
Product.objects.create(id=2, name="Pen", price="1.25", category="office")

def view(function, **query):
    try:
        response = function(RequestFactory().get("/", query))
    except Exception as exc:
        return f"error: {{type(exc).__name__}}"
    return json.loads(response.content)

dump({{
    "people": {{name: view(views.people_named, last_name=name) for name in ("Turing", {injection!r})}},
    "ranked": {{boost: view(views.ranked_products, boost=boost) for boost in ("2", "abc")}},
    "totals": {{category: view(views.category_totals, category=category) for category in ("books", {injection!r})}},
}})
"""


def test_django_raw_rawsql_and_cursor_with_percent_placeholders(copies: tuple[Path, Path], tmp_path: Path) -> None:
    """Django's sqlite backend turns `%s` into `?` (and `%%` into `%`) as psycopg2 and pymysql do."""
    pytest.importorskip("django")
    original, fixed = copies
    out = {}
    for label, root in (("original", original), ("fixed", fixed)):
        workdir = tmp_path / label
        workdir.mkdir()
        out[label] = run_program(DJANGO_PROGRAM.format(root=str(root), injection=INJECTION), workdir)
    intended = {
        "people": {"Turing": {"ids": [2]}, INJECTION: {"ids": []}},
        "ranked": {"2": {"ids": [1, 2]}, "abc": {"ids": [1, 2]}},  # a value, even one that is not a number
        "totals": {"books": {"total": 4.5, "count": 1}, INJECTION: {"total": None, "count": 0}},
    }
    assert out["fixed"] == intended
    assert out["original"]["people"][INJECTION] == {"ids": [1, 2]}  # the original returns everyone
    assert out["original"]["ranked"]["abc"].startswith("error")  # `price * abc` is SQL, not a value
