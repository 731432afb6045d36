"""A generated FastAPI project of any size, for the hook and editor timings (benchmarks/README.md).

    python benchmarks/project_gen.py DIR [--files 1000]

The project is what the hook and the language server meet in real use: a package with an app
(startup hook, health route, an app-level database handler), a database module, and route,
service and schema modules in equal parts; about one route module in ten has a finding (an
f-string query, a swallowed error), the rest are clean. A ``pyproject.toml`` with ``[tool.backlint]``
makes the directory the project root; ``git init`` is left to the caller.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

MAIN = '''\
"""The application: routers, startup, health."""

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from shop.db import engine
{imports}

logger = logging.getLogger(__name__)
app = FastAPI()
{includes}


@app.on_event("startup")
def check_database() -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


@app.get("/health")
def health() -> dict[str, str]:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return {{"status": "ok"}}


@app.exception_handler(SQLAlchemyError)
async def database_error(request: Request, exc: SQLAlchemyError) -> JSONResponse:
    logger.exception("database error on %s", request.url.path)
    return JSONResponse(status_code=503, content={{"detail": "database unavailable"}})
'''

DB = '''\
"""The database engine and a session per request."""

import os

from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

engine = create_engine(os.environ["DATABASE_URL"], pool_pre_ping=True)
SessionLocal = sessionmaker(bind=engine)


def get_session():
    session: Session = SessionLocal()
    try:
        yield session
    finally:
        session.close()
'''

ROUTES = '''\
"""Routes for {name}."""

import logging

from fastapi import APIRouter, Depends, HTTPException
from sqlalchemy import text
from sqlalchemy.orm import Session

from shop.db import get_session
from shop.services.{name} import summarise
from shop.schemas.{name} import {model}

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/{name}")


@router.get("/{{item_id}}")
def read_{name}(item_id: int, session: Session = Depends(get_session)) -> dict:
    row = session.execute(text("SELECT id, title, price FROM {name} WHERE id = :id"), {{"id": item_id}}).first()
    if row is None:
        raise HTTPException(status_code=404, detail="not found")
    return summarise(dict(row._mapping))


@router.post("/")
def create_{name}(payload: {model}, session: Session = Depends(get_session)) -> dict:
    session.execute(
        text("INSERT INTO {name} (title, price) VALUES (:title, :price)"),
        {{"title": payload.title, "price": payload.price}},
    )
    session.commit()
    return {{"created": True}}
{extra}'''

BAD_ROUTE = """

@router.get("/search/{{term}}")
def search_{name}(term: str, session: Session = Depends(get_session)) -> list:
    rows = session.execute(text(f"SELECT id, title FROM {name} WHERE title LIKE '%{{term}}%'"))
    return [dict(r._mapping) for r in rows]


@router.delete("/{{item_id}}")
def delete_{name}(item_id: int, session: Session = Depends(get_session)) -> dict:
    try:
        session.execute(text("DELETE FROM {name} WHERE id = :id"), {{"id": item_id}})
        session.commit()
    except Exception:
        pass
    return {{"deleted": item_id}}
"""

SERVICE = '''\
"""Business rules for {name}."""

from decimal import Decimal

TAX = Decimal("0.2")


def summarise(row: dict) -> dict:
    price = Decimal(str(row.get("price", 0)))
    return {{"id": row["id"], "title": row["title"].strip(), "gross": str(price * (1 + TAX))}}


def discount(price: Decimal, percent: int) -> Decimal:
    if not 0 <= percent <= 100:
        raise ValueError("percent out of range")
    return price * (100 - percent) / 100
'''

SCHEMA = '''\
"""Request and response models for {name}."""

from pydantic import BaseModel, Field


class {model}(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    price: float = Field(ge=0)
'''


def generate(root: Path, files: int) -> list[Path]:
    """Writes the project; returns the route modules (the files a hook or an editor touches)."""
    groups = max(1, (files - 6) // 3)  # main, db and four __init__.py, then routes/services/schemas
    package = root / "shop"
    for sub in ("", "routes", "services", "schemas"):
        (package / sub).mkdir(parents=True, exist_ok=True)
        (package / sub / "__init__.py").write_text("")
    names = [f"catalog{i:04d}" for i in range(groups)]
    routes = []
    for index, name in enumerate(names):
        model = name.capitalize() + "In"
        extra = BAD_ROUTE.format(name=name) if index % 10 == 0 else ""
        route = package / "routes" / f"{name}.py"
        route.write_text(ROUTES.format(name=name, model=model, extra=extra))
        routes.append(route)
        (package / "services" / f"{name}.py").write_text(SERVICE.format(name=name))
        (package / "schemas" / f"{name}.py").write_text(SCHEMA.format(name=name, model=model))
    imports = "\n".join(f"from shop.routes import {n}" for n in names)
    includes = "\n".join(f"app.include_router({n}.router)" for n in names)
    (package / "main.py").write_text(MAIN.format(imports=imports, includes=includes))
    (package / "db.py").write_text(DB)
    for extra_index in range(files - 6 - 3 * groups):  # up to the exact count: plain helper modules
        (package / f"helpers{extra_index}.py").write_text(SERVICE.format(name=f"helpers{extra_index}"))
    (root / "pyproject.toml").write_text('[project]\nname = "shop"\nversion = "1.0"\n\n[tool.backlint]\n')
    return routes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--files", type=int, default=1000)
    args = parser.parse_args()
    routes = generate(args.directory, args.files)
    count = sum(1 for _ in args.directory.rglob("*.py"))
    print(f"{count} Python files under {args.directory} ({len(routes)} route modules)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
