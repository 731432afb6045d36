"""BL601's premise through the real CLI: a startup hook the app declares sets up a store's client and never
tests it (reported by default); an app that builds its clients at import or in its factory and connects on
the first request by design (Django, Flask-SQLAlchemy, a module-level engine) is judged only with
``require-startup-check``, as a note. Corpus: privacyidea, ihatemoney, pretalx, kiwitcms, khoj, opal-server
were 0 true out of 8 under the literal reading."""

from __future__ import annotations

import textwrap
from typing import Any

from annotations import expected_findings

STRICT = "[tool.backlint]\nrequire-startup-check = true\n"

# A FastAPI service whose lifespan sets up its clients through a helper of another module.
LIFESPAN_SERVICE = {
    "catalog/__init__.py": "",
    "catalog/stores.py": """
        import os

        from redis.asyncio import Redis
        from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine


        async def open_stores(app):
            app.state.engine = create_async_engine(os.environ["DATABASE_URL"])
            app.state.sessions = async_sessionmaker(app.state.engine, expire_on_commit=False)
            app.state.cache = Redis.from_url(os.environ["REDIS_URL"])
    """,
    "catalog/main.py": """
        from contextlib import asynccontextmanager

        from fastapi import FastAPI, Request
        from sqlalchemy import text

        from .stores import open_stores


        @asynccontextmanager
        async def lifespan(app: FastAPI):
            await open_stores(app)
            yield
            await app.state.engine.dispose()


        app = FastAPI(title="catalog", lifespan=lifespan)  # expect: BL601


        @app.get("/health")
        async def health():
            return {"status": "ok"}


        @app.get("/products/{sku}")
        async def product(sku: str, request: Request):
            if (cached := await request.app.state.cache.get(sku)) is not None:
                return {"sku": sku, "name": cached}
            async with request.app.state.sessions() as session:
                row = (await session.execute(text("SELECT name FROM products WHERE sku = :sku"), {"sku": sku})).one()
            return {"sku": sku, "name": row.name}
    """,
}


def _write(project: Any, files: dict[str, str]) -> None:
    for path, text in files.items():
        project.write(path, textwrap.dedent(text).lstrip("\n"))


def _findings(project: Any, files: dict[str, str]) -> list[dict[str, Any]]:
    _write(project, files)
    result = project.lint(".", "--select", "BL601", "--format", "json")
    assert result.exit_code in (0, 1), result.stderr
    return list(result.json()["findings"])


def _expected(files: dict[str, str]) -> set[tuple[str, int]]:
    return {
        (path, line)
        for path, text in files.items()
        for line, rule in expected_findings(textwrap.dedent(text).lstrip("\n"))
        if rule == "BL601"
    }


def test_a_lifespan_that_sets_up_its_stores_and_tests_neither(project: Any) -> None:
    found = _findings(project, LIFESPAN_SERVICE)
    assert {(f["path"], f["line"]) for f in found} == _expected(LIFESPAN_SERVICE)
    assert [f["level"] for f in found] == ["warning"]
    assert "startup hook `lifespan` sets up the SQL database and Redis" in found[0]["message"]
    assert [(r["path"], r["line"]) for r in found[0]["related"]] == [
        ("catalog/stores.py", 8),
        ("catalog/stores.py", 10),
    ]


def test_the_hook_that_probes_what_it_sets_up(project: Any) -> None:
    files = dict(LIFESPAN_SERVICE)
    files["catalog/stores.py"] += """
            async with app.state.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            await app.state.cache.ping()
    """
    files["catalog/stores.py"] = files["catalog/stores.py"].replace(
        "from sqlalchemy.ext.asyncio", "from sqlalchemy import text\n        from sqlalchemy.ext.asyncio"
    )
    assert _findings(project, files) == []
    files["catalog/stores.py"] = files["catalog/stores.py"].replace("            await app.state.cache.ping()\n", "")
    found = _findings(project, files)
    assert "sets up Redis but never runs a round trip against it (`ping()`)" in found[0]["message"]


def test_a_module_level_engine_relies_on_lazy_connection(project: Any) -> None:
    """khoj, opal-server: the engine is built at import, the lifespan does other work; the first request
    connects. Only the literal reading reports it, as a note."""
    files = {
        "svc/__init__.py": "",
        "svc/main.py": """
            import logging
            import os
            from contextlib import asynccontextmanager

            from fastapi import FastAPI
            from sqlalchemy import create_engine, text

            engine = create_engine(os.environ["DATABASE_URL"], pool_pre_ping=True)
            log = logging.getLogger(__name__)


            @asynccontextmanager
            async def lifespan(app: FastAPI):
                log.info("starting the scheduler")
                yield


            app = FastAPI(lifespan=lifespan)  # expect: BL601


            @app.get("/orders/{order_id}")
            def order(order_id: int):
                with engine.connect() as conn:
                    return dict(conn.execute(text("SELECT * FROM orders WHERE id = :id"), {"id": order_id}).one())
        """,
    }
    assert _findings(project, files) == []
    project.write("pyproject.toml", STRICT)
    found = _findings(project, files)
    assert {(f["path"], f["line"]) for f in found} == _expected(files)
    assert [f["level"] for f in found] == ["note"] and "require-startup-check" in found[0]["message"]


def test_django_and_flask_sqlalchemy_connect_on_the_first_request(project: Any) -> None:
    """pretalx, kiwitcms (Django), privacyidea, ihatemoney (Flask-SQLAlchemy's ``db.init_app``)."""
    files = {
        "site_/__init__.py": "",
        "site_/settings.py": """
            ROOT_URLCONF = "site_.urls"
            DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "tcms"}}
        """,
        "site_/urls.py": "urlpatterns = []\n",
        "site_/wsgi.py": """
            import os

            from django.core.wsgi import get_wsgi_application

            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_.settings")
            application = get_wsgi_application()  # expect: BL601
        """,
        "money/__init__.py": "",
        "money/run.py": """
            import os

            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()


            def create_app():
                app = Flask(__name__)  # expect: BL601
                app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
                db.init_app(app)
                return app
        """,
    }
    assert _findings(project, files) == []
    project.write("pyproject.toml", STRICT)
    found = _findings(project, files)
    assert {(f["path"], f["line"]) for f in found} == _expected(files)
    assert {f["level"] for f in found} == {"note"}


def test_an_aiohttp_startup_handler_that_opens_a_mongo_client(project: Any) -> None:
    files = {
        "bridge/__init__.py": "",
        "bridge/app.py": """
            import os

            from aiohttp import web
            from motor.motor_asyncio import AsyncIOMotorClient


            async def open_mongo(app):
                app["mongo"] = AsyncIOMotorClient(os.environ["MONGO_URL"])


            async def rooms(request):
                return web.json_response(await request.app["mongo"].bridge.rooms.find().to_list(100))


            def make_app():
                app = web.Application()  # expect: BL601
                app.on_startup.append(open_mongo)
                app.router.add_get("/rooms", rooms)
                return app
        """,
    }
    found = _findings(project, files)
    assert {(f["path"], f["line"]) for f in found} == _expected(files)
    assert "startup hook `on_startup` sets up MongoDB" in found[0]["message"]
