"""BL401, BL403–BL407 through the real CLI: options, app-level handlers, and the shapes that are not errors."""

from __future__ import annotations

import textwrap

from annotations import expected_findings

APP = """
import os

from fastapi import Depends, FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

engine = create_async_engine(os.environ["DATABASE_URL"])
SessionLocal = async_sessionmaker(engine)
app = FastAPI()


async def get_db():
    async with SessionLocal() as session:
        yield session
"""


def _lint(project, files: dict[str, str], *args: str) -> tuple[set[tuple[str, int, str]], dict]:  # type: ignore[no-untyped-def]
    for relative, text in files.items():
        project.write(relative, textwrap.dedent(text).lstrip("\n"))
    result = project.lint(*files, "--format", "json", *args)
    data = result.json()
    return {(f["path"], f["line"], f["rule_id"]) for f in data["findings"]}, data


def _expected(files: dict[str, str], rule: str) -> set[tuple[str, int, str]]:
    return {
        (path, line, rule_id)
        for path, text in files.items()
        for line, rule_id in expected_findings(textwrap.dedent(text).lstrip("\n"))
        if rule_id == rule
    }


# APP built in debug mode: Starlette's ServerErrorMiddleware answers an unhandled error with its traceback
# page, so BL401 judges the app by default (table framework-unhandled-errors, answers_tracebacks).
DEBUG_APP = APP.replace("app = FastAPI()", "app = FastAPI(debug=True)")


def test_bl401_local_try_and_app_handler_both_count(project) -> None:  # type: ignore[no-untyped-def]
    files = {
        "app/main.py": DEBUG_APP
        + """
from sqlalchemy.exc import SQLAlchemyError


@app.post("/orders")
async def create_order(db: AsyncSession = Depends(get_db)):  # expect: BL401
    await db.commit()


@app.post("/guarded")
async def guarded(db: AsyncSession = Depends(get_db)):
    try:
        await db.commit()
    except SQLAlchemyError:
        raise
""",
    }
    found, _ = _lint(project, files, "--select", "BL401")
    assert found == _expected(files, "BL401")

    files["app/errors.py"] = """
        from fastapi.responses import JSONResponse
        from sqlalchemy.exc import SQLAlchemyError

        from .main import app


        @app.exception_handler(SQLAlchemyError)
        async def database_error(request, exc):
            return JSONResponse(status_code=500, content={"detail": "database error"})
    """
    found, _ = _lint(project, files, "--select", "BL401")
    assert found == set(), "an app-level handler for database errors covers every endpoint"

    project.write("pyproject.toml", "[tool.backlint]\nrequire-local-try = true\n")
    found, _ = _lint(project, files, "--select", "BL401")
    assert found == {("app/main.py", 19, "BL401")}, "require-local-try keeps the literal reading"


def test_bl401_django_needs_require_local_try_and_is_a_note(project) -> None:  # type: ignore[no-untyped-def]
    files = {
        "shop/__init__.py": "",
        "shop/settings.py": """
            ROOT_URLCONF = "shop.urls"
            DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql"}}
        """,
        "shop/urls.py": """
            from django.urls import path

            from . import views

            urlpatterns = [path("items/", views.items)]
        """,
        "shop/views.py": """
            from django.http import JsonResponse

            from .models import Item


            def items(request):
                return JsonResponse({"items": list(Item.objects.values("id", "name"))})
        """,
        "shop/models.py": """
            from django.db import models


            class Item(models.Model):
                name = models.CharField(max_length=10)
        """,
        "shop/wsgi.py": "from django.core.wsgi import get_wsgi_application\n\napplication = get_wsgi_application()\n",
    }
    found, _ = _lint(project, files, "--select", "BL401")
    assert found == set(), "Django's own handling (django.request logging, handler500) counts"
    project.write("pyproject.toml", "[tool.backlint]\nrequire-local-try = true\n")
    found, data = _lint(project, files, "--select", "BL401")
    assert found == {("shop/views.py", 6, "BL401")}
    assert data["findings"][0]["level"] == "note"


def test_bl403_reraise_traceback_and_logger_error(project) -> None:  # type: ignore[no-untyped-def]
    files = {
        "app/views.py": """
            import logging
            import traceback

            from flask import abort, jsonify
            from werkzeug.exceptions import InternalServerError

            log = logging.getLogger(__name__)


            def a():
                try:
                    work()
                except Exception:  # expect: BL403
                    abort(500)


            def b():
                try:
                    work()
                except Exception:  # expect: BL403
                    log.error("work failed")
                    return jsonify(error="failed"), 500


            def c():
                try:
                    work()
                except Exception:
                    log.error("work failed", exc_info=True)
                    return jsonify(error="failed"), 500


            def d():
                try:
                    work()
                except Exception:
                    traceback.print_exc()
                    abort(500)


            def e():
                try:
                    work()
                except Exception as exc:
                    raise ServiceError("work failed") from exc


            def f():
                try:
                    work()
                except Exception as exc:  # expect: BL403
                    raise InternalServerError() from exc


            def readiness():
                try:
                    work()
                except Exception:
                    return jsonify(status="unavailable"), 503


            def parse_key(text):
                try:
                    return load_pem_public_key(text)
                except Exception:
                    abort(400, description="not a valid public key")
        """,
    }
    found, data = _lint(project, files, "--select", "BL403")
    assert found == _expected(files, "BL403")
    messages = {f["line"]: f["message"] for f in data["findings"]}
    assert "log.error(...)" in messages[20] and "drops the traceback" in messages[20]


def test_bl404_reports_error_bodies_not_fallbacks(project) -> None:  # type: ignore[no-untyped-def]
    files = {
        "app/main.py": APP
        + """
import logging

from sqlalchemy.exc import SQLAlchemyError

logger = logging.getLogger(__name__)


@app.post("/a", status_code=201)
async def a(db: AsyncSession = Depends(get_db)):
    try:
        await db.commit()
    except SQLAlchemyError:
        logger.exception("a failed")
        return {"error": "could not save"}  # expect: BL404


@app.get("/latest")
async def latest():
    try:
        return await fetch_latest()
    except Exception:
        logger.exception("latest failed")
        return {"current": "1.0", "latest": None}


@app.post("/conflict")
async def conflict(db: AsyncSession = Depends(get_db)):
    try:
        await db.commit()
    except SQLAlchemyError:
        logger.exception("conflict")
        return JSONResponse(status_code=409, content={"error": "exists"})
""",
    }
    found, data = _lint(project, files, "--select", "BL404")
    assert found == _expected(files, "BL404")
    assert "status 201" in data["findings"][0]["message"], "the route's status_code is what the client gets"


def test_bl405_registered_handlers_and_client_messages(project) -> None:  # type: ignore[no-untyped-def]
    files = {
        "app/main.py": """
            import traceback

            from fastapi import FastAPI, HTTPException
            from fastapi.responses import JSONResponse
            from pydantic import ValidationError
            from starlette.exceptions import HTTPException as StarletteHTTPException

            app = FastAPI()


            @app.exception_handler(Exception)
            async def crash(request, exc):
                return JSONResponse(status_code=500, content={"detail": repr(exc)})  # expect: BL405


            @app.exception_handler(StarletteHTTPException)
            async def http_error(request, exc):
                return JSONResponse(status_code=exc.status_code, content={"detail": exc.detail})


            def helper(error):
                return {"error": str(error)}


            @app.post("/parse")
            async def parse(payload: dict):
                try:
                    return Model.model_validate(payload)
                except ValidationError as e:
                    raise HTTPException(status_code=400, detail=str(e))
                except KeyError as e:
                    raise HTTPException(status_code=500, detail=f"missing {e}")  # expect: BL405


            @app.get("/debug")
            async def debug_info():
                try:
                    return await collect()
                except Exception:
                    return {"trace": traceback.format_exc()}  # expect: BL405
        """,
    }
    found, _ = _lint(project, files, "--select", "BL405")
    assert found == _expected(files, "BL405")


def test_bl406_needs_the_broad_handler_first_and_a_5xx(project) -> None:  # type: ignore[no-untyped-def]
    files = {
        "app/views.py": """
            from django.http import Http404, JsonResponse
            from rest_framework.exceptions import APIException


            def a(request, pk):
                try:
                    serializer = ItemSerializer(data=request.data)
                    serializer.is_valid(raise_exception=True)
                except Exception:  # expect: BL406
                    return JsonResponse({"error": "failed"}, status=500)


            def b(request, pk):
                try:
                    raise Http404("no item")
                except Http404:
                    raise
                except Exception:
                    return JsonResponse({"error": "failed"}, status=500)


            def c(request, pk):
                try:
                    raise Http404("no item")
                except Exception as exc:
                    if isinstance(exc, Http404):
                        raise
                    return JsonResponse({"error": "failed"}, status=500)


            def d(request, pk):
                try:
                    raise Http404("no item")
                except Exception:
                    return JsonResponse({"error": "not found"}, status=404)
        """,
    }
    found, _ = _lint(project, files, "--select", "BL406")
    assert found == _expected(files, "BL406")


def test_bl407_is_opt_in_and_reads_caught_validation_errors(project) -> None:  # type: ignore[no-untyped-def]
    files = {
        "app/main.py": """
            from flask import Flask, jsonify, request
            from marshmallow import ValidationError

            app = Flask(__name__)


            @app.post("/items")
            def create_item():
                try:
                    data = schema.load(request.get_json())
                except ValidationError as err:
                    return jsonify(errors=err.messages), 422  # expect: BL407
                return jsonify(data), 201


            @app.post("/ok")
            def ok_item():
                try:
                    data = schema.load(request.get_json())
                except ValidationError as err:
                    return jsonify(errors=err.messages), 400
                return jsonify(data), 201
        """,
    }
    found, _ = _lint(project, files)
    assert not {f for f in found if f[2] == "BL407"}, "BL407 is off by default"
    found, _ = _lint(project, files, "--select", "BL407")
    assert found == _expected(files, "BL407")


def test_bl402_best_effort_idioms_are_not_swallowed_errors(project) -> None:  # type: ignore[no-untyped-def]
    """Patterns of real apps (open-webui, changedetection.io, zou, misago, lnbits, maubot, calibre-web):
    the failures these handlers tolerate are designed (also a password check run only for its time, a
    note saved while an upstream error is being reported, an optional use of parsed model output), the
    ones in ``lost`` are data that vanishes."""
    files = {
        "app/lost.py": """
            async def update_chat(self, id, chat):
                try:
                    async with self._chat_transaction(id) as (session, item):
                        item.chat = chat
                        await session.commit()
                        return item
                except Exception:  # expect: BL402
                    return


            def reset(self):
                try:
                    for name in self.client.collections.list_all().keys():
                        self.client.collections.delete(name)
                except Exception:  # expect: BL402
                    pass


            async def get_group_by_id(self, id, db=None):
                try:
                    async with get_async_db_context(db) as session:
                        result = await session.execute(select(Group).filter_by(id=id))
                        group = result.scalars().first()
                        return GroupModel.model_validate(group) if group else None
                except Exception:  # expect: BL402
                    return None


            async def get_file(self, id, db):
                try:
                    file = await db.get(File, id)
                    result = await db.execute(select(File).filter_by(id=id))
                    return result.scalars().first()
                except Exception:  # expect: BL402
                    return None


            def has_collection(self, name):
                try:
                    with self._connect() as conn:
                        cur = conn.cursor()
                        cur.execute("SELECT 1 FROM chunk WHERE collection_name = ? LIMIT 1", (name,))
                        return cur.fetchone() is not None
                except Exception:
                    return False


            async def delete_event_by_id(self, id, db=None):
                try:
                    async with get_async_db_context(db) as session:
                        await session.execute(delete(CalendarEvent).filter(CalendarEvent.id == id))
                        await session.commit()
                        return True
                except Exception:  # expect: BL402
                    return False


            def is_usable(connection):
                try:
                    connection.execute("SELECT 1")
                except Exception:
                    return False
                return True


            async def remove_files(knowledge_id, file_ids):
                for file_id in file_ids:
                    try:
                        await VECTOR_DB.delete(collection_name=knowledge_id, filter={"file_id": file_id})
                    except Exception:  # expect: BL402
                        pass


            async def save_reply(chat_id, message_id, reply, errors):
                if not errors:
                    try:
                        await Chats.upsert_message(chat_id, message_id, {"content": reply})
                    except Exception:  # expect: BL402
                        pass


            async def import_tags(chat_id, text, user):
                try:
                    await Chats.update_chat_tags_by_id(chat_id, [], user)
                    tags = json.loads(text).get("tags", [])
                except Exception:  # expect: BL402
                    pass


            def write_config(path, text):
                try:
                    with open(path, "w") as file:
                        file.write(text)
                except Exception:  # expect: BL402
                    pass


            def check_credentials(user, password):
                try:
                    user.set_password(password)
                except Exception:  # expect: BL402
                    pass
        """,
        "app/tolerated.py": """
            import ctypes
            import faulthandler
            import json
            from urllib.parse import urlparse

            from sqlalchemy.exc import IntegrityError, OperationalError

            enabled = False
            try:
                with open(".dev-open-cfg.yaml") as file:
                    config = file.read()
                enabled = True
            except Exception:
                pass

            try:
                import torch
                DEVICE = "mps" if torch.backends.mps.is_available() else "cpu"
            except Exception:
                pass


            def trim_memory():
                try:
                    ctypes.CDLL("libc.so.6").malloc_trim(0)
                except Exception:
                    pass


            def hostnames(url):
                found = set()
                try:
                    host = urlparse(url).hostname
                    if host:
                        found.add(host)
                except Exception:
                    pass
                return found


            def guess_headers(body, headers):
                try:
                    json.loads(body)
                    headers["Content-Type"] = "application/json"
                except Exception:
                    pass


            def tags(rows):
                names = set()
                for row in rows:
                    try:
                        data = json.loads(row)
                    except Exception:
                        continue
                    names.add(data["name"])
                return names


            async def priority(function_id):
                try:
                    module = await load_module(function_id)
                    return module.Valves().priority
                except Exception:
                    pass
                return 0


            def save(self, *args, **kwargs):
                try:
                    super().save(*args, **kwargs)
                except IntegrityError:
                    pass  # first come is first serve


            async def m004_add_column(db):
                try:
                    await db.execute("ALTER TABLE wallets ADD COLUMN currency TEXT")
                except OperationalError:
                    pass  # the column is already there


            def teardown(exception=None):
                try:
                    if exception is not None and db.session.is_active:
                        db.session.rollback()
                except Exception:
                    pass


            async def cancel(note_id):
                try:
                    await stop_item_tasks(REDIS, f"note:{note_id}")
                except Exception:
                    pass


            def count(inflight, method):
                try:
                    inflight.labels(method=method).inc()
                except Exception:
                    pass


            async def relay(ws, upstream):
                try:
                    while True:
                        message = await ws.receive()
                        await upstream.send_str(message["text"])
                except Exception:
                    pass


            def validate_upload(upload):
                try:
                    check_size(upload)
                except ValueError as error:
                    try:
                        upload.temporary_path().unlink()
                        notify_admins(upload)
                    except Exception:
                        pass
                    raise error


            def _spend_password_check_time(password):
                # A bcrypt round that cannot succeed: an unknown address costs what a known one does.
                try:
                    auth.check_password(DUMMY_HASH, password or "")
                except Exception:
                    pass


            async def stream_error(metadata, data, save_to_chat, event_emitter):
                error = data.get("error", {})
                if error:
                    log.error("Provider returned error (streaming): %s", error)
                    if save_to_chat:
                        try:
                            await Chats.upsert_message_to_chat_by_id_and_message_id(
                                metadata["chat_id"], metadata["message_id"], {"error": {"content": error}}
                            )
                        except Exception:
                            pass
                    await event_emitter({"type": "chat:completion", "data": {"error": error}})


            async def generate_tags(metadata, tags_string, user, event_emitter):
                try:
                    tags = JSONCodec.loads(tags_string).get("tags", [])
                    await Chats.update_chat_tags_by_id(metadata["chat_id"], tags, user)
                    await event_emitter({"type": "chat:tags", "data": tags})
                except Exception as e:
                    pass


            def tmp_dir(candidates):
                for candidate in candidates:
                    try:
                        create_and_chown_dir(candidate)
                    except Exception:
                        pass
                    if check_tmp_dir(candidate, must_exist=True):
                        return candidate
                return None


            def in_docker():
                found = False
                try:
                    with open("/proc/self/cgroup") as procfile:
                        for line in procfile:
                            if "docker" in line:
                                found = True
                except Exception:
                    pass
                return found


            def tail(self, lines):
                try:
                    content = self.stdout_file.read_text()
                    for line in content.splitlines()[-lines:]:
                        yield line
                except Exception:
                    return


            def enable_crash_traces():
                try:
                    faulthandler.enable()
                except Exception:
                    pass


            async def follow_ups(metadata, text, event_emitter):
                try:
                    found = parse_follow_ups(text)
                    await event_emitter({"type": "chat:message:follow_ups", "data": {"follow_ups": found}})
                except Exception:
                    pass
        """,
    }
    found, _ = _lint(project, files, "--select", "BL402")
    assert found == _expected(files, "BL402")


FLASK_SHOP = {
    "shop/__init__.py": """
        from flask import Flask
        from flask_sqlalchemy import SQLAlchemy

        db = SQLAlchemy()


        def not_found(error):
            return {"error": "not found"}, 404


        def create_app():
            app = Flask(__name__)
            db.init_app(app)
            app.register_error_handler(404, not_found)
            from .views import bp

            app.register_blueprint(bp)
            return app
    """,
    "shop/views.py": """
        from flask import Blueprint

        from . import db
        from .models import Item

        bp = Blueprint("items", __name__)


        @bp.post("/items")
        def create_item():  # expect: BL401
            db.session.add(Item(name="x"))
            db.session.commit()
            return {"status": "created"}, 201
    """,
    "shop/models.py": """
        from . import db


        class Item(db.Model):
            id = db.Column(db.Integer, primary_key=True)
    """,
}

# The same shop on FastAPI, built with debug=True: Starlette answers an unhandled error with its traceback
# page (table framework-unhandled-errors judges FastAPI only then), so BL401 judges its app-level handling.
API_SHOP = {
    "shop/__init__.py": """
        from fastapi import FastAPI
        from fastapi.responses import JSONResponse


        async def not_found(request, exc):
            return JSONResponse({"error": "not found"}, status_code=404)


        def create_app():
            app = FastAPI(debug=True)
            app.add_exception_handler(404, not_found)
            from .views import router

            app.include_router(router)
            return app
    """,
    "shop/db.py": """
        import os

        from sqlalchemy import create_engine
        from sqlalchemy.orm import Session, sessionmaker

        engine = create_engine(os.environ["DATABASE_URL"])
        SessionLocal = sessionmaker(engine)


        def get_db():
            with SessionLocal() as session:
                yield session
    """,
    "shop/views.py": """
        from fastapi import APIRouter, Depends
        from sqlalchemy.orm import Session

        from .db import get_db
        from .models import Item

        router = APIRouter()


        @router.post("/items", status_code=201)
        def create_item(db: Session = Depends(get_db)):  # expect: BL401
            db.add(Item(name="x"))
            db.commit()
            return {"status": "created"}
    """,
    "shop/models.py": """
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


        class Base(DeclarativeBase):
            pass


        class Item(Base):
            __tablename__ = "items"
            id: Mapped[int] = mapped_column(primary_key=True)
            name: Mapped[str]
    """,
}


def test_bl401_flask_logs_unhandled_errors_with_the_request(project) -> None:  # type: ignore[no-untyped-def]
    """fittrackee, ihatemoney: ``Flask.handle_exception`` logs ``Exception on <path> [<method>]`` with the
    traceback and answers an InternalServerError, so a Flask app is judged only with ``require-local-try``."""
    files = dict(FLASK_SHOP)
    found, _ = _lint(project, files, "--select", "BL401")
    assert found == set(), "Flask logs the error with its request and answers a generic 500 itself"
    project.write("pyproject.toml", "[tool.backlint]\nrequire-local-try = true\n")
    found, data = _lint(project, files, "--select", "BL401")
    assert found == _expected(files, "BL401"), "require-local-try keeps the literal reading"
    assert [f["level"] for f in data["findings"]] == ["note"]
    assert "require-local-try" in data["findings"][0]["message"]


def test_bl401_quart_is_flask(project) -> None:  # type: ignore[no-untyped-def]
    """Quart's ``handle_exception`` logs ``Exception on request <method> <path>`` the same way."""
    files = {
        "board/app.py": """
            import os

            from quart import Quart, jsonify
            from sqlalchemy import create_engine, text

            engine = create_engine(os.environ["DATABASE_URL"])
            app = Quart(__name__)


            @app.get("/posts")
            async def posts():  # expect: BL401
                with engine.connect() as conn:
                    rows = conn.execute(text("SELECT id, title FROM posts ORDER BY id DESC LIMIT 20")).all()
                return jsonify([{"id": r.id, "title": r.title} for r in rows])
        """,
    }
    found, _ = _lint(project, files, "--select", "BL401")
    assert found == set()
    project.write("pyproject.toml", "[tool.backlint]\nrequire-local-try = true\n")
    found, data = _lint(project, files, "--select", "BL401")
    assert found == _expected(files, "BL401") and data["findings"][0]["level"] == "note"


def test_bl401_tornado_handlers_are_not_judged(project) -> None:  # type: ignore[no-untyped-def]
    """jupyterhub: Tornado's ``RequestHandler.log_exception`` logs ``Uncaught exception GET /path (ip)`` with
    the traceback and sends a 500 (table framework-unhandled-errors)."""
    files = {
        "hub/handlers.py": """
            import tornado.web
            from sqlalchemy.orm import Session

            from .orm import User


            class UserHandler(tornado.web.RequestHandler):
                def initialize(self, db: Session):
                    self.db = db

                def get(self, name):
                    user = self.db.query(User).filter_by(name=name).one()
                    self.write({"name": user.name, "admin": user.admin})


            def make_app(db):
                return tornado.web.Application([(r"/users/([^/]+)", UserHandler, {"db": db})])
        """,
    }
    for options in ("", "require-local-try = true\n"):
        project.write("pyproject.toml", "[tool.backlint]\n" + options)
        found, _ = _lint(project, files, "--select", "BL401")
        assert found == set()


def test_bl401_app_level_handling_as_the_framework_resolves_it(project) -> None:  # type: ignore[no-untyped-def]
    files = dict(API_SHOP)
    found, _ = _lint(project, files, "--select", "BL401")
    assert found == _expected(files, "BL401"), "a handler for 404 alone receives no database error"

    files["shop/monitoring.py"] = "import sentry_sdk\n\nSDK = sentry_sdk\n"
    found, _ = _lint(project, files, "--select", "BL401")
    assert found == _expected(files, "BL401"), "importing an error-reporting SDK does not initialise it"

    files["shop/monitoring.py"] = """
        import os

        import sentry_sdk


        def init_monitoring(app):
            if os.environ.get("SENTRY_DSN"):
                sentry_sdk.init(dsn=os.environ["SENTRY_DSN"], send_default_pii=False)
    """
    files["shop/__init__.py"] = files["shop/__init__.py"].replace(
        "        app = FastAPI(debug=True)\n", "        app = FastAPI(debug=True)\n            init_monitoring(app)\n"
    )
    files["shop/__init__.py"] = files["shop/__init__.py"].replace(
        "from fastapi.responses import JSONResponse\n",
        "from fastapi.responses import JSONResponse\n\n        from .monitoring import init_monitoring\n",
    )
    found, _ = _lint(project, files, "--select", "BL401")
    assert "init_monitoring(app)" in files["shop/__init__.py"]
    assert found == _expected(files, "BL401"), "an SDK reports the error, the debug page still answers it"

    files = dict(API_SHOP)
    files["shop/__init__.py"] = files["shop/__init__.py"].replace(
        "app.add_exception_handler(404, not_found)",
        "for code, page in {404: not_found, 500: not_found}.items():\n"
        "                app.add_exception_handler(code, page)",
    )
    found, _ = _lint(project, files, "--select", "BL401")
    assert found == _expected(files, "BL401"), "in debug mode the traceback page answers before the 500 handler"

    files["shop/__init__.py"] = (
        files["shop/__init__.py"]
        .replace("{404: not_found, 500: not_found}", "{404: not_found, SQLAlchemyError: not_found}")
        .replace(
            "from fastapi.responses import JSONResponse\n",
            "from fastapi.responses import JSONResponse\n        from sqlalchemy.exc import SQLAlchemyError\n",
        )
    )
    found, _ = _lint(project, files, "--select", "BL401")
    assert found == set(), "a database error's handler registered in a loop over a dict answers before it"


def test_bl401_a_pure_asgi_middleware_that_catches_in_its_subclass_hook(project) -> None:  # type: ignore[no-untyped-def]
    """ethyca-fides: the base class's ``__call__`` calls ``handle_http``, whose ``try`` around
    ``await self.app(...)`` logs every unhandled error with the request and answers 500."""
    files = dict(API_SHOP)
    files["shop/middleware.py"] = """
        import logging
        from abc import ABC, abstractmethod

        log = logging.getLogger(__name__)


        class BaseASGIMiddleware(ABC):
            def __init__(self, app):
                self.app = app

            async def __call__(self, scope, receive, send):
                if scope["type"] != "http":
                    await self.app(scope, receive, send)
                    return
                await self.handle_http(scope, receive, send)

            @abstractmethod
            async def handle_http(self, scope, receive, send): ...


        class LogRequestMiddleware(BaseASGIMiddleware):
            async def handle_http(self, scope, receive, send):
                try:
                    await self.app(scope, receive, send)
                except Exception:
                    log.exception("unhandled error on %s %s", scope["method"], scope["path"])
                    await send({"type": "http.response.start", "status": 500, "headers": []})
                    await send({"type": "http.response.body", "body": b"Internal Server Error"})
    """
    files["shop/__init__.py"] = (
        files["shop/__init__.py"]
        .replace(
            "        app.add_exception_handler(404, not_found)\n",
            "        app.add_exception_handler(404, not_found)\n            app.add_middleware(LogRequestMiddleware)\n",
        )
        .replace(
            "from fastapi.responses import JSONResponse\n",
            "from fastapi.responses import JSONResponse\n\n        from .middleware import LogRequestMiddleware\n",
        )
    )
    found, _ = _lint(project, files, "--select", "BL401")
    assert found == set()


def test_bl401_text_report_groups_an_apps_findings(project) -> None:  # type: ignore[no-untyped-def]
    files = dict(API_SHOP)
    files["shop/views.py"] += """

        @router.get("/items/{item_id}")
        def get_item(item_id: int, db: Session = Depends(get_db)):  # expect: BL401
            item = db.get(Item, item_id)
            db.refresh(item)
            return {"id": item.id, "again": db.get(Item, item_id).id}
    """
    found, data = _lint(project, files, "--select", "BL401")
    assert found == _expected(files, "BL401")
    for finding in data["findings"]:
        lines = [(r["path"], r["line"]) for r in finding["related"]]
        assert len(lines) == len(set(lines)), "a related location is never repeated"
        assert finding["related"][-1]["path"] == "shop/__init__.py", "the app is the last related location"
    text = project.lint("--select", "BL401").stdout
    headers = [line for line in text.splitlines() if line.startswith("shop/__init__.py:")]
    # The app is built with debug on: its traceback page answers before a handler for Exception or 500 runs,
    # so the header names what fixes it (issue 16 item 2), not "one handler that answers 500".
    assert headers == [
        "shop/__init__.py:10:11: BL401 app `app`: 2 endpoints below do data-store or network I/O without error "
        "handling; building it with debug off where it is deployed (or one handler for its data store's errors) "
        "fixes every endpoint of it"
    ]
    assert text.count("  shop/views.py:") == 2, "the endpoints' findings are listed under their app"


def test_bl403_gateway_answers_relayed_statuses_and_project_exception_loggers(project) -> None:  # type: ignore[no-untyped-def]
    """open-webui's proxies and remote apps, changedetection.io's fetcher, calibre-web's logger."""
    files = {
        "app/proxy.py": """
            import logging

            from fastapi import APIRouter, HTTPException

            log = logging.getLogger(__name__)
            router = APIRouter()


            @router.get("/models")
            async def models(session):
                r = None
                try:
                    r = await session.get("http://ollama:11434/api/tags")
                    return await r.json()
                except Exception as e:
                    raise HTTPException(status_code=r.status if r else 500, detail="Ollama: unavailable")


            @router.post("/apps/{app_id}/events")
            async def send_event(app_id, peer, payload):
                try:
                    return await peer.call("app:event", payload, timeout=10)
                except Exception:
                    raise HTTPException(504, "App connection lost or timed out") from None


            @router.post("/orders")
            async def create_order(db, order):
                try:
                    await db.commit()
                except Exception:  # expect: BL403
                    raise HTTPException(503, "Database unavailable")
        """,
        "app/books.py": """
            from flask import jsonify, make_response

            from . import calibre_db, logger

            log = logger.create()


            def save_cover(book):
                try:
                    calibre_db.session.commit()
                except Exception as e:
                    calibre_db.session.rollback()
                    log.error_or_exception("Database error: {}".format(e))
                    return make_response(jsonify(success=False), 500)
        """,
    }
    found, _ = _lint(project, files, "--select", "BL403")
    assert found == _expected(files, "BL403")


def test_bl401_handlers_registered_by_hand_in_range_loops(project) -> None:  # type: ignore[no-untyped-def]
    files = dict(API_SHOP)
    files["shop/__init__.py"] = API_SHOP["shop/__init__.py"].replace(
        "app.add_exception_handler(404, not_found)",
        "for code in range(400, 500):\n                app.add_exception_handler(code, not_found)",
    )
    found, _ = _lint(project, files, "--select", "BL401")
    assert found == _expected(files, "BL401"), "handlers for the 4xx statuses alone receive no database error"
    files["shop/__init__.py"] = files["shop/__init__.py"].replace("range(400, 500)", "range(400, 600)")
    found, _ = _lint(project, files, "--select", "BL401")
    assert found == _expected(files, "BL401"), "in debug mode the traceback page answers before the 500 handler"


def test_bl401_flask_restful_resources_under_require_local_try(project) -> None:  # type: ignore[no-untyped-def]
    """Flask (and Flask-RESTful's ``Api.handle_error`` for its resources) log every unhandled error with its
    traceback: by default nothing is reported; the literal reading asks for a ``try`` in the resource too."""
    files = dict(FLASK_SHOP)
    files["shop/resources.py"] = """
        from flask import Blueprint
        from flask_restful import Api, Resource

        from . import db
        from .models import Item

        mod = Blueprint("resources", __name__)
        api = Api(mod)


        class ItemList(Resource):
            def post(self):  # expect: BL401
                db.session.add(Item(name="x"))
                db.session.commit()
                return {"status": "created"}, 201


        api.add_resource(ItemList, "/items", endpoint="items")
    """
    files["shop/__init__.py"] = FLASK_SHOP["shop/__init__.py"].replace(
        "            app.register_blueprint(bp)\n",
        "            app.register_blueprint(bp)\n            from .resources import mod\n\n"
        "            app.register_blueprint(mod)\n",
    )
    found, _ = _lint(project, files, "--select", "BL401")
    assert found == set()
    project.write("pyproject.toml", "[tool.backlint]\nrequire-local-try = true\n")
    found, _ = _lint(project, files, "--select", "BL401")
    assert found == _expected(files, "BL401"), "the blueprint's plain view and the resource"


def test_bl402_a_silent_answer_in_a_request_path(project) -> None:  # type: ignore[no-untyped-def]
    """Issue 16 §3: in an endpoint and the module functions it calls, a broad ``except`` that answers (a
    page, None, a redirect) without logging, re-raising or handing the error on loses the failure; the
    same helper called only outside requests, a parse of the client's input (a token, a header), a yes/no
    answer (``{"sent": False}`` where success is ``{"sent": True}``), a 4xx (the input judged at fault), a
    logged or 5xx answer (BL403) and a 2xx error body (BL404) are not this."""
    files = {
        "shop/views.py": """
            import logging

            import jwt
            from flask import Blueprint, abort, jsonify, redirect, render_template, request

            from .models import Item, db

            bp = Blueprint("items", __name__)
            log = logging.getLogger(__name__)


            def load_item(item_id):
                try:
                    return db.session.get(Item, item_id)
                except Exception:  # expect: BL402
                    return None


            def load_for_export(item_id):
                try:
                    return db.session.get(Item, item_id)
                except Exception:
                    return None


            @bp.route("/items/<int:item_id>")
            def show(item_id):
                item = load_item(item_id)
                try:
                    related = db.session.query(Item).filter_by(parent=item_id).all()
                except Exception:  # expect: BL402
                    return render_template("item.html", item=item, related=[])
                return render_template("item.html", item=item, related=related)


            @bp.post("/items/<int:item_id>/delete")
            def delete(item_id):
                try:
                    db.session.delete(db.session.get(Item, item_id))
                    db.session.commit()
                except Exception:  # expect: BL402
                    return redirect("/items")
                try:
                    db.session.delete(db.session.get(Item, item_id))
                    db.session.commit()
                except Exception:
                    abort(404)
                return redirect("/items")


            @bp.post("/items/<int:item_id>/notify")
            def notify(item_id):
                try:
                    hub.send(item_id, "changed")
                    return {"sent": True}
                except Exception:
                    return {"sent": False}


            def decode_token(token):
                try:
                    return jwt.decode(token, SECRET, algorithms=["HS256"])
                except Exception:
                    return None


            def credentials(header):
                try:
                    scheme, value = header.split(" ")
                    return Credentials(scheme=scheme, credentials=value)
                except Exception:
                    return None


            @bp.get("/me")
            def me():
                return {"token": decode_token(request.headers["Authorization"]), "cred": credentials("x")}


            @bp.post("/items/<int:item_id>/save")
            def save(item_id):
                try:
                    db.session.commit()
                except Exception:
                    log.exception("could not save item %s", item_id)
                    return jsonify(saved=False), 409
                try:
                    db.session.commit()
                except Exception:
                    return jsonify(detail="try again later"), 503
                try:
                    db.session.commit()
                except Exception:
                    return {"error": "not saved"}
                try:
                    db.session.commit()
                except Exception as error:
                    return render_template("error.html", reason=str(error)), 409
                return jsonify(saved=True)


            @bp.get("/items/page")
            def page():
                try:
                    number = int(request.args["page"])
                except Exception:
                    return jsonify(detail="page must be a number"), 400
                return jsonify(page=number)
        """,
        "shop/cli.py": """
            from .views import load_for_export


            def export(ids):
                return [load_for_export(i) for i in ids]
        """,
    }
    found, _ = _lint(project, files, "--select", "BL402")
    assert found == _expected(files, "BL402")


def test_bl403_a_traceback_logged_as_text_is_logged(project) -> None:  # type: ignore[no-untyped-def]
    """appdaemon's HTTP API: ``self.logger.warning(traceback.format_exc())`` before answering 500 keeps the
    traceback; a message without it (or the traceback sent to the client only) does not."""
    files = {
        "app/http.py": """
            import logging
            import traceback

            from aiohttp import web

            log = logging.getLogger(__name__)


            class HTTP:
                def __init__(self, logger):
                    self.logger = logger

                async def call_service(self, request):
                    try:
                        res = await self.services.call_service(request.match_info["service"])
                        return web.json_response({"response": res}, status=200)
                    except Exception:
                        self.logger.warning("-" * 60)
                        self.logger.warning("Unexpected error in call_service()")
                        self.logger.warning(traceback.format_exc())
                        return web.Response(status=500)

                async def fire_event(self, request):
                    try:
                        await self.events.fire_event(request.match_info["event"])
                        return web.Response(status=200)
                    except Exception as e:
                        tb = "".join(traceback.format_exception(e))
                        log.error("fire_event failed:\\n%s", tb)
                        return web.Response(status=500)

                async def get_state(self, request):
                    try:
                        return web.json_response(await self.state.get_state())
                    except Exception:
                        log.error("get_state failed", stack_info=True)
                        return web.Response(status=500)

                async def get_logs(self, request):
                    try:
                        return web.json_response(await self.logging.get_logs())
                    except Exception:  # expect: BL403
                        self.logger.warning("Unexpected error in get_logs()")
                        return web.Response(status=500)

                async def get_apps(self, request):
                    try:
                        return web.json_response(await self.apps.get_apps())
                    except Exception:  # expect: BL403
                        return web.Response(status=500, text=traceback.format_exc())


            app = web.Application()
            http = HTTP(log)
            app.router.add_post("/api/services/{service}", http.call_service)
            app.router.add_post("/api/events/{event}", http.fire_event)
            app.router.add_get("/api/state", http.get_state)
            app.router.add_get("/api/logs", http.get_logs)
            app.router.add_get("/api/apps", http.get_apps)
        """,
    }
    found, _ = _lint(project, files, "--select", "BL403")
    assert found == _expected(files, "BL403")


# khoj, arize-phoenix: a FastAPI app's unhandled error is logged by the ASGI server with its traceback
# ("Exception in ASGI application"), its access log writes the request line with the 500, and Starlette's
# ServerErrorMiddleware answers a plain "Internal Server Error": judged only with require-local-try.
PLAIN_API_SHOP = {
    **API_SHOP,
    "shop/__init__.py": API_SHOP["shop/__init__.py"].replace("FastAPI(debug=True)", "FastAPI()"),
}


def test_bl401_fastapi_logs_unhandled_errors_and_answers_a_generic_500(project) -> None:  # type: ignore[no-untyped-def]
    files = dict(PLAIN_API_SHOP)
    found, _ = _lint(project, files, "--select", "BL401")
    assert found == set(), "uvicorn logs the traceback, the access log the request, Starlette answers a bare 500"
    project.write("pyproject.toml", "[tool.backlint]\nrequire-local-try = true\n")
    found, data = _lint(project, files, "--select", "BL401")
    assert found == _expected(files, "BL401"), "require-local-try keeps the literal reading"
    assert [f["level"] for f in data["findings"]] == ["note"]
    assert "require-local-try" in data["findings"][0]["message"]


def test_bl401_an_app_built_in_debug_mode_answers_the_traceback(project) -> None:  # type: ignore[no-untyped-def]
    files = dict(API_SHOP)
    found, data = _lint(project, files, "--select", "BL401")
    assert found == _expected(files, "BL401")
    assert [f["level"] for f in data["findings"]] == ["warning"]
    assert "debug mode" in data["findings"][0]["message"] and "traceback" in data["findings"][0]["message"]

    files["shop/__init__.py"] = API_SHOP["shop/__init__.py"].replace(
        "            app.add_exception_handler(404, not_found)\n",
        "            app.add_exception_handler(404, not_found)\n"
        "            app.add_exception_handler(Exception, not_found)\n",
    )
    found, _ = _lint(project, files, "--select", "BL401")
    assert found == _expected(files, "BL401"), "ServerErrorMiddleware answers the traceback before calling it"


def test_bl401_debug_mode_only_in_a_debug_branch_is_not_deployed(project) -> None:  # type: ignore[no-untyped-def]
    """khoj's main.py: ``if in_debug_mode(): app = FastAPI(debug=True) else: app = FastAPI(docs_url=None)``."""
    built = "if {test}:\n    app = FastAPI(debug=True)\nelse:\n    app = FastAPI(docs_url=None)\n"
    endpoint = """

@app.post("/orders")
async def create_order(db: AsyncSession = Depends(get_db)):  # expect: BL401
    await db.commit()
"""
    files = {"app/main.py": APP.replace("app = FastAPI()\n", built.format(test="os.getenv('SLOW_START')")) + endpoint}
    found, _ = _lint(project, files, "--select", "BL401")
    assert found == _expected(files, "BL401"), "a condition that is no debug flag: the debug app may be deployed"
    files = {"app/main.py": APP.replace("app = FastAPI()\n", built.format(test="in_debug_mode()")) + endpoint}
    files["app/main.py"] = files["app/main.py"].replace(
        "import os\n", "import os\n\nfrom .utils import in_debug_mode\n"
    )
    found, _ = _lint(project, files, "--select", "BL401")
    assert found == set()


def test_bl401_debug_switched_on_by_assignment(project) -> None:  # type: ignore[no-untyped-def]
    files = {
        "api/app.py": """
            import os

            from sqlalchemy import text
            from sqlalchemy.ext.asyncio import create_async_engine
            from starlette.applications import Starlette
            from starlette.responses import JSONResponse
            from starlette.routing import Route

            engine = create_async_engine(os.environ["DATABASE_URL"])


            async def list_items(request):  # expect: BL401
                async with engine.connect() as conn:
                    rows = (await conn.execute(text("SELECT id, name FROM items"))).all()
                return JSONResponse([{"id": r.id, "name": r.name} for r in rows])


            app = Starlette(routes=[Route("/items", list_items)])
            app.debug = True
        """,
    }
    found, _ = _lint(project, files, "--select", "BL401")
    assert found == _expected(files, "BL401")
    files["api/app.py"] = files["api/app.py"].replace(
        "            app.debug = True\n", "            if settings.debug:\n                app.debug = True\n"
    )
    found, _ = _lint(project, files, "--select", "BL401")
    assert found == set(), "switched on only in a debug branch"


def _fixture_copy(project, name: str) -> list[str]:  # type: ignore[no-untyped-def]
    from conftest import FIXTURES

    source = FIXTURES / name
    relative = []
    for path in sorted(source.rglob("*.py")):
        rel = path.relative_to(source).as_posix()
        project.write(rel, path.read_text(encoding="utf-8"))
        relative.append(rel)
    return relative


def test_bl401_aiohttp_logs_unhandled_errors_and_answers_a_generic_500(project) -> None:  # type: ignore[no-untyped-def]
    """aiohttp logs "Error handling request" with the traceback on ``aiohttp.server``, its access log the
    request line with the 500, and answers "500 Internal Server Error" (fixtures/endpoints_aiohttp)."""
    files = _fixture_copy(project, "endpoints_aiohttp")
    found = {
        (f["path"], f["line"]) for f in project.lint(*files, "--select", "BL401", "--format", "json").json()["findings"]
    }
    assert found == set()
    project.write("pyproject.toml", "[tool.backlint]\nrequire-local-try = true\n")
    data = project.lint(*files, "--select", "BL401", "--format", "json").json()
    assert ("inventory/handlers.py", 11, "note") in {(f["path"], f["line"], f["level"]) for f in data["findings"]}


def test_bl401_routes_of_a_project_router_subclass_under_require_local_try(project) -> None:  # type: ignore[no-untyped-def]
    """fixtures/project_router_subclass (ethyca-fides): its routes are the app's, so the literal reading
    reports the endpoint without a ``try``."""
    files = _fixture_copy(project, "project_router_subclass")
    project.write("pyproject.toml", "[tool.backlint]\nrequire-local-try = true\n")
    data = project.lint(*files, "--select", "BL401", "--format", "json").json()
    assert ("privacy/routers/requests.py", 13) in {(f["path"], f["line"]) for f in data["findings"]}


def test_bl402_a_request_helper_is_not_called_an_endpoint(project) -> None:  # type: ignore[no-untyped-def]
    """mlflow's auth middleware calls helpers given the request (``_user_for(request)``): on the request path,
    but not routed, so the message does not call them endpoints; a routed view keeps the word."""
    files = {
        "app/views.py": """
            from django.shortcuts import render


            def _profile_for(request):
                try:
                    return load_profile(request.user.id)
                except Exception:  # expect: BL402
                    return {}


            def profile(request):
                try:
                    data = load_settings(request.user.id)
                except Exception:  # expect: BL402
                    return render(request, "profile.html", {"profile": _profile_for(request)})
                return render(request, "profile.html", data)
        """,
    }
    found, data = _lint(project, files, "--select", "BL402")
    assert found == _expected(files, "BL402")
    messages = {f["line"]: f["message"] for f in data["findings"]}
    print(messages)
    assert "in the request handler `_profile_for`" in messages[7]
    assert "in the endpoint `profile`" in messages[14]
