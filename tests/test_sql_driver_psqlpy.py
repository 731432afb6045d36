"""psqlpy, added by following CONTRIBUTING.md's database-driver recipe: its calls execute SQL (BL101,
fixtures/sql/psqlpy_accounts.py), its methods are data-store I/O in endpoints (BL401), its errors are
database errors for handlers, and a literal password given to its pool is a hardcoded credential (BL202)."""

from __future__ import annotations

APP = """\
import os

from fastapi import FastAPI
from psqlpy import ConnectionPool

app = FastAPI(debug=True)  # answers an unhandled error with its traceback: BL401 judges it by default
pool = ConnectionPool(dsn=os.environ["DATABASE_URL"])
{handler}

@app.get("/accounts/{{account_id}}")
async def get_account(account_id: int):
    connection = await pool.connection()
    try:
        row = await connection.fetch_row("SELECT id, name FROM accounts WHERE id = $1", [account_id])
    except ConnectionError:
        return {{"detail": "try again"}}
    return row.result()


@app.post("/accounts/import")
async def import_accounts(names: list[str]):
    async with pool.acquire() as connection:
        await connection.execute_many("INSERT INTO accounts (name) VALUES ($1)", [[n] for n in names])
    return {{"imported": len(names)}}
"""

HANDLER = """
from fastapi.responses import JSONResponse
from psqlpy.exceptions import DatabaseError


@app.exception_handler(DatabaseError)
async def database_error(request, exc):
    return JSONResponse({"detail": "database error"}, status_code=503)
"""


def test_driver_methods_are_endpoint_io(project) -> None:  # type: ignore[no-untyped-def]
    project.write("app/main.py", APP.format(handler=""))
    findings = project.lint("app/main.py", "--select", "BL401", "--format", "json").json()["findings"]
    messages = {f["line"]: f["message"] for f in findings}
    assert sorted(messages) == [11, 21]
    assert "`fetch_row()`" in messages[11]
    assert "`execute_many()`" in messages[21]


def test_an_app_level_handler_for_its_database_error_clears_the_endpoints(project) -> None:  # type: ignore[no-untyped-def]
    project.write("app/main.py", APP.format(handler=HANDLER))
    assert project.lint("app/main.py", "--select", "BL401", "--format", "json").json()["findings"] == []


def test_a_literal_pool_password_is_a_hardcoded_credential(project) -> None:  # type: ignore[no-untyped-def]
    password = "Zq8v!rT4#pLm2x"
    project.write(
        "app/db.py",
        "from psqlpy import ConnectionPool\n\n"
        f'replica = ConnectionPool(host="replica.internal", username="reporting", password="{password}")\n',
    )
    result = project.lint("app/db.py", "--select", "BL202", "--format", "json")
    (finding,) = result.json()["findings"]
    assert (finding["rule_id"], finding["line"]) == ("BL202", 3)
    assert "psqlpy.ConnectionPool(password=)" in finding["message"]
    assert password not in result.stdout
