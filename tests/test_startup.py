"""BL601–BL605 through the real CLI: startup probes and health routes, judged per app across files."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _literal_bl603(project: Any) -> None:
    """These tests judge which routes an app serves through BL603's literal reading (every app needs a
    health route), on behind ``require-health-endpoint`` since BL603 follows the deployment's probes."""
    project.write("pyproject.toml", "[tool.backlint]\nrequire-health-endpoint = true\n")


ENGINE = (
    "import os\n\nfrom sqlalchemy import create_engine, text\n\nengine = create_engine(os.environ['DATABASE_URL'])\n"
)


def findings(project: Any, *args: str) -> list[dict[str, Any]]:
    result = project.lint(".", "--format", "json", *args)
    assert result.exit_code in (0, 1), result.stderr
    return list(result.json()["findings"])


def ids(project: Any, select: str = "BL6") -> set[tuple[str, int, str]]:
    return {(f["path"], f["line"], f["rule_id"]) for f in findings(project, "--select", select)}


def strict(project: Any, more: str = "") -> None:
    """``require-startup-check``: BL601's literal reading (every app using a store probes it at startup), as
    notes; the tests of what counts as a probe use it, since their apps build the engine at module level."""
    project.write(
        "pyproject.toml", "[tool.backlint]\nrequire-health-endpoint = true\nrequire-startup-check = true\n" + more
    )


def fastapi_app(project: Any, lifespan_body: str, *, health: str = "") -> None:
    """db.py builds the engine, main.py the app with a lifespan; orders.py has a route doing I/O."""
    project.write("svc/__init__.py", "")
    project.write(
        "svc/db.py",
        ENGINE
        + "\n\ndef check_database():\n    with engine.connect() as conn:\n        conn.execute(text('SELECT 1'))\n",
    )
    project.write(
        "svc/orders.py",
        "from fastapi import APIRouter\nfrom sqlalchemy import text\n\nfrom .db import engine\n\n"
        "router = APIRouter(prefix='/orders')\n\n\n"
        "@router.get('/{order_id}')\ndef get_order(order_id: int):\n    with engine.connect() as conn:\n"
        "        return dict(conn.execute(text('SELECT * FROM orders WHERE id = :id'), {'id': order_id}).one())\n"
        + health,
    )
    project.write(
        "svc/main.py",
        "from contextlib import asynccontextmanager\n\nfrom fastapi import FastAPI\n\nfrom . import db\n"
        "from .orders import router\n\n\n"
        f"@asynccontextmanager\nasync def lifespan(app: FastAPI):\n{lifespan_body}    yield\n\n\n"
        "app = FastAPI(lifespan=lifespan)\napp.include_router(router)\n",
    )


def app_line(project: Any) -> int:
    """The line of ``app = FastAPI(...)`` in fastapi_app's main.py."""
    lines = project.root.joinpath("svc/main.py").read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.startswith("app = FastAPI("))


HEALTH = "\n\n@router.get('/health', include_in_schema=False)\ndef health():\n    return {'status': 'ok'}\n"


def test_probe_followed_across_modules_satisfies_bl601(project: Any) -> None:
    fastapi_app(project, "    db.check_database()\n", health=HEALTH)
    assert not {f for f in ids(project) if f[2] in ("BL601", "BL602")}


def test_missing_probe_is_reported_on_the_app_line_with_the_store(project: Any) -> None:
    strict(project)
    fastapi_app(project, "    print('starting')\n", health=HEALTH)
    found = [f for f in findings(project, "--select", "BL601")]
    assert [(f["path"], f["line"], f["level"]) for f in found] == [("svc/main.py", app_line(project), "note")]
    assert [(r["path"], r["line"]) for r in found[0]["related"]] == [("svc/db.py", 5)]


def test_probe_after_yield_runs_at_shutdown_and_does_not_count(project: Any) -> None:
    strict(project)
    fastapi_app(project, "    pass\n", health=HEALTH)
    text = project.root.joinpath("svc/main.py").read_text()
    project.write("svc/main.py", text.replace("    yield\n", "    yield\n    db.check_database()\n"))
    assert ("svc/main.py", app_line(project), "BL601") in ids(project)


def test_connect_without_query_is_a_note(project: Any) -> None:
    fastapi_app(project, "    with db.engine.connect():\n        pass\n", health=HEALTH)
    found = findings(project, "--select", "BL601")
    assert [(f["line"], f["level"]) for f in found] == [(app_line(project), "note")]


def test_unresolvable_check_call_and_configured_probe_callables_silence_bl601(project: Any) -> None:
    strict(project)
    fastapi_app(project, "    await app.state.container.check_database()\n", health=HEALTH)
    assert not {f for f in ids(project) if f[2] == "BL601"}
    fastapi_app(project, "    db.warm_up()\n", health=HEALTH)
    project.write(
        "svc/db.py", project.root.joinpath("svc/db.py").read_text() + "\n\ndef warm_up():\n    check_database()\n"
    )
    assert not {f for f in ids(project) if f[2] == "BL601"}
    project.write("svc/db.py", ENGINE + "\n\ndef warm_up():\n    return None\n")
    assert ("svc/main.py", app_line(project), "BL601") in ids(project)
    strict(project, "startup-probe-callables = ['svc.db.warm_up']\n")
    assert not {f for f in ids(project) if f[2] == "BL601"}


SWALLOWING_CHECK = (
    "\n\ndef check_database():\n    try:\n        with engine.connect() as conn:\n"
    "            conn.execute(text('SELECT 1'))\n"
    "    except Exception:\n        print('database down, starting anyway')\n"
)


def test_swallowed_probe_in_a_helper_is_bl602_not_bl601(project: Any) -> None:
    fastapi_app(project, "    db.check_database()\n", health=HEALTH)
    project.write("svc/db.py", ENGINE + SWALLOWING_CHECK)
    found = [f for f in findings(project, "--select", "BL601,BL602")]
    assert [(f["rule_id"], f["line"]) for f in found] == [("BL602", app_line(project))]
    assert [(r["path"], r["line"]) for r in found[0]["related"]] == [("svc/db.py", 12)]


@pytest.mark.parametrize(
    "check",
    [
        # a retry loop whose else clause raises after the last attempt
        "\n\ndef check_database():\n    for _ in range(3):\n        try:\n            with engine.connect() as conn:\n"
        "                conn.execute(text('SELECT 1'))\n            break\n        except Exception:\n"
        "            pass\n"
        "    else:\n        raise RuntimeError('database unreachable')\n",
        # the handler exits
        "\nimport sys\n\n\ndef check_database():\n    try:\n        with engine.connect() as conn:\n"
        "            conn.execute(text('SELECT 1'))\n    except Exception:\n        sys.exit(1)\n",
    ],
)
def test_probe_failures_that_stop_the_app_are_not_swallowed(project: Any, check: str) -> None:
    fastapi_app(project, "    db.check_database()\n", health=HEALTH)
    project.write("svc/db.py", ENGINE + check)
    assert not {f for f in ids(project) if f[2] in ("BL601", "BL602")}


def test_caller_that_tests_the_result_handles_the_failure(project: Any) -> None:
    fastapi_app(project, "    if not db.check_database():\n        raise SystemExit(1)\n", health=HEALTH)
    project.write(
        "svc/db.py",
        ENGINE + "\n\ndef check_database():\n    try:\n        with engine.connect() as conn:\n"
        "            conn.execute(text('SELECT 1'))\n"
        "    except Exception:\n        return False\n    return True\n",
    )
    assert not {f for f in ids(project) if f[2] in ("BL601", "BL602")}


def test_health_rules(project: Any) -> None:
    fastapi_app(project, "    db.check_database()\n")
    assert ("svc/main.py", app_line(project), "BL603") in ids(project)
    fastapi_app(project, "    db.check_database()\n", health=HEALTH)
    assert ids(project) == set(), "a static liveness route is shallow by design"
    fastapi_app(project, "    db.check_database()\n", health=HEALTH + HEALTH.replace("health", "readyz"))
    assert {f[2] for f in ids(project)} == {"BL604"}, "a readiness route must probe"
    probing = (
        "\n\n@router.get('/health')\ndef health():\n    try:\n        with engine.connect() as conn:\n"
        "            conn.execute(text('SELECT 1'))\n    except Exception:\n        return {'status': 'down'}\n"
        "    return {'status': 'ok'}\n"
    )
    fastapi_app(project, "    db.check_database()\n", health=probing)
    found = findings(project, "--select", "BL6")
    assert [(f["rule_id"], f["line"], [r["line"] for r in f["related"]]) for f in found] == [
        ("BL605", app_line(project), [20])
    ]
    fastapi_app(
        project,
        "    db.check_database()\n",
        health=probing.replace("return {'status': 'down'}", "return JSONResponse({'status': 'down'}, status_code=503)"),
    )
    assert ids(project) == set()


def test_health_route_through_a_helper_that_swallows(project: Any) -> None:
    health = (
        "\n\ndef database_ok():\n    try:\n        with engine.connect() as conn:\n"
        "            conn.execute(text('SELECT 1'))\n"
        "        return True\n    except Exception:\n        return False\n\n\n"
        "@router.get('/healthz')\ndef healthz():\n    return {'database': database_ok()}\n"
    )
    fastapi_app(project, "    db.check_database()\n", health=health)
    assert {f[2] for f in ids(project)} == {"BL605"}
    fastapi_app(
        project,
        "    db.check_database()\n",
        health=health.replace(
            "return {'database': database_ok()}",
            "if not database_ok():\n        raise HTTPException(503)\n    return {}",
        ),
    )
    assert ids(project) == set()


def test_django_project_with_a_database_check(project: Any) -> None:
    strict(project)
    for package in ("site_", "shop"):
        project.write(f"{package}/__init__.py", "")
    project.write(
        "site_/settings.py",
        "ROOT_URLCONF = 'site_.urls'\nINSTALLED_APPS = ['shop']\n"
        "DATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql'}}\n",
    )
    project.write(
        "site_/wsgi.py",
        "import os\n\nfrom django.core.wsgi import get_wsgi_application\n\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'site_.settings')\napplication = get_wsgi_application()\n",
    )
    project.write(
        "site_/urls.py",
        "from django.urls import include, path\n\nurlpatterns = [path('ht/', include('health_check.urls'))]\n",
    )
    project.write(
        "shop/checks.py",
        "from django.core.checks import Error, Tags, register\nfrom django.db import connection\n\n\n"
        "@register(Tags.database)\n"
        "def database_ok(app_configs, **kwargs):\n    try:\n        connection.ensure_connection()\n"
        "    except Exception as exc:\n"
        "        return [Error(str(exc))]\n    return []\n",
    )
    project.write(
        "shop/apps.py",
        "from django.apps import AppConfig\n\n\nclass ShopConfig(AppConfig):\n    name = 'shop'\n\n"
        "    def ready(self):\n        from . import checks\n",
    )
    assert ids(project) == set()
    project.write("shop/checks.py", "")
    assert {(f[0], f[2]) for f in ids(project)} == {("site_/wsgi.py", "BL601")}


def test_apps_in_tests_and_scripts_are_not_judged_and_suppression_works(project: Any) -> None:
    project.write("tests/app.py", ENGINE + "from fastapi import FastAPI\n\napp = FastAPI()\n")
    project.write("scripts/tool.py", ENGINE + "from fastapi import FastAPI\n\napp = FastAPI()\n")
    assert ids(project) == set()
    project.write(
        "main.py",
        ENGINE
        + "from fastapi import FastAPI\n\napp = FastAPI()  # backlint: ignore[BL601]\n\n\n@app.get('/x')\ndef x():\n"
        "    return 1\n",
    )
    assert {f[2] for f in ids(project)} == {"BL603"}


def test_blueprints_registered_through_code_the_walk_cannot_follow_leave_bl603_silent(project: Any) -> None:
    """zou: blueprint modules imported with ``importlib`` over a list, their routes added by a helper
    over ``(path, view)`` tuples; ``/api/status`` is among them, unseen. Without that, BL603 stays."""
    project.write("zou/__init__.py", "")
    project.write(
        "zou/app.py",
        "from flask import Flask\n\nfrom . import api\n\n\n"
        "def create_app():\n    app = Flask(__name__)\n    api.configure(app)\n\n"
        "    @app.route('/openapi.json')\n    def openapi():\n        return {}\n\n    return app\n",
    )
    project.write(
        "zou/api.py",
        "import importlib\n\nBLUEPRINT_MODULES = ['index', 'tasks']\n\n\n"
        "def configure(app):\n    for name in BLUEPRINT_MODULES:\n"
        "        module = importlib.import_module(f'zou.blueprints.{name}')\n"
        "        app.register_blueprint(module.blueprint)\n",
    )
    project.write(
        "zou/blueprints/index.py",
        "from flask import Blueprint\n\nfrom .views import IndexResource, StatusResource\n"
        "from ..routes import configure_api_from_blueprint\n\n"
        "routes = [('/', IndexResource), ('/status', StatusResource)]\n\n"
        "blueprint = Blueprint('index', 'index', url_prefix='/api')\n"
        "api = configure_api_from_blueprint(blueprint, routes)\n",
    )
    project.write(
        "zou/routes.py",
        "def configure_api_from_blueprint(blueprint, route_tuples):\n"
        "    for path, resource in route_tuples:\n"
        "        blueprint.add_url_rule(path, view_func=resource.as_view(resource.__name__))\n"
        "    return blueprint\n",
    )
    assert ids(project, "BL603") == set()
    project.write("zou/blueprints/index.py", "")
    assert ids(project, "BL603") == {("zou/app.py", 7, "BL603")}


def test_routes_of_another_app_are_not_this_apps(project: Any) -> None:
    """maubot: the management API's route table belongs to the app its factory builds; the standalone
    mode's appservice listener, a second app in a module importing it, serves none of those routes."""
    project.write("bot/__init__.py", "")
    project.write(
        "bot/management.py",
        "from aiohttp import web\n\nroutes = web.RouteTableDef()\n\n\n"
        "@routes.get('/instances')\nasync def instances(request):\n    return web.json_response([])\n\n\n"
        "def init():\n    app = web.Application()\n    app.add_routes(routes)\n    app.router.add_get('/health', ok)\n"
        "    return app\n\n\nasync def ok(request):\n    return web.Response(text='ok')\n",
    )
    project.write(
        "bot/standalone.py",
        "from aiohttp import web\n\nfrom . import management\n\nlistener = web.Application()\n"
        "runner = web.AppRunner(listener)\n",
    )
    assert ids(project, "BL603") == set()


@pytest.mark.parametrize(
    "health",
    [
        # lnbits: the status route's Depends provider looks the account up in the database
        "\n\nfrom fastapi import Depends, Header\n\n\nasync def account_exists(account_id: str = Header(...)):\n"
        "    with engine.connect() as conn:\n"
        "        return conn.execute(text('SELECT 1 FROM accounts WHERE id = :i'), {'i': account_id}).one()\n\n\n"
        "@router.get('/api/v1/status')\nasync def status(account=Depends(account_exists)):\n"
        "    return {'up': True}\n",
        # a Depends chain two providers deep
        "\n\nfrom fastapi import Depends\n\n\n"
        "def database():\n    with engine.connect() as conn:\n        yield conn\n\n\n"
        "def ready(conn=Depends(database)):\n    return conn.execute(text('SELECT 1')).scalar()\n\n\n"
        "@router.get('/readyz')\ndef readyz(ok=Depends(ready)):\n    return {'ok': ok}\n",
        # a project decorator whose wrapper probes before the route runs
        "\n\ndef with_database(view):\n    def wrapper(*args, **kwargs):\n"
        "        with engine.connect() as conn:\n            conn.execute(text('SELECT 1'))\n"
        "        return view(*args, **kwargs)\n    return wrapper\n\n\n"
        "@router.get('/health')\n@with_database\ndef health():\n    return {'status': 'ok'}\n",
        # library calls that probe a store (table store-probes)
        "\n\nfrom sqlalchemy_utils import database_exists\n\n\n"
        "@router.get('/health')\ndef health():\n    return {'database': database_exists(DATABASE_URL)}\n",
        "\n\nfrom sqlalchemy import inspect\n\n\n"
        "@router.get('/health')\ndef health():\n    return {'schema': inspect(engine).has_table('alembic_version')}\n",
        # a task-queue worker query (Celery's control API)
        "\n\n@router.get('/health')\ndef health():\n"
        "    return {'workers': bool(celery_app.control.inspect().ping())}\n",
    ],
)
def test_health_routes_probing_through_dependencies_decorators_and_library_probes(project: Any, health: str) -> None:
    fastapi_app(project, "    db.check_database()\n", health=health)
    assert ids(project, "BL604") == set()


def test_health_route_probing_only_through_an_app_wide_before_request_hook(project: Any) -> None:
    """Flask: a ``before_request`` hook that loads the session's user runs before the health route too."""
    project.write(
        "site/app.py",
        "from flask import Flask, g, session\nfrom flask_sqlalchemy import SQLAlchemy\nfrom sqlalchemy import text\n\n"
        "app = Flask(__name__)\ndb = SQLAlchemy(app)\n\n\n"
        "@app.before_request\ndef load_user():\n"
        "    uid = session.get('uid')\n"
        "    g.user = db.session.execute(text('SELECT * FROM users WHERE id = :i'), {'i': uid}).first()\n"
        "\n\n@app.route('/readyz')\ndef ready():\n    return {'status': 'ok'}\n",
    )
    assert ids(project, "BL604") == set()
    text = project.root.joinpath("site/app.py").read_text()
    project.write("site/app.py", text.replace("@app.before_request\n", ""))
    assert {f[2] for f in ids(project, "BL604")} == {"BL604"}


READYZ = (
    "\n\nfrom fastapi import Response\n\n\n@router.get('/readyz')\ndef readyz(response: Response):\n"
    "    try:\n        with engine.connect() as conn:\n            conn.execute(text('SELECT 1'))\n"
    "    except Exception:\n        response.status_code = 503\n        return {'status': 'down'}\n"
    "    return {'status': 'up'}\n"
)


def test_readiness_route_probing_the_store_counts_as_the_startup_check(project: Any) -> None:
    """The orchestrator's readiness probe runs the route before any traffic: a store that is down at
    deploy keeps the instance out of rotation, as a failing startup probe would (BL601's intent)."""
    strict(project)
    fastapi_app(project, "    print('starting')\n", health=READYZ)
    assert ids(project, "BL601") == set()
    # a readiness route that answers 200 when the probe fails gates nothing (that is BL605's finding)
    fastapi_app(project, "    print('starting')\n", health=READYZ.replace("        response.status_code = 503\n", ""))
    assert ("svc/main.py", app_line(project), "BL601") in ids(project, "BL601")


DATABASE_CLASS = (
    "import os\nfrom contextlib import contextmanager\n\nfrom sqlalchemy import create_engine, text\n\n\n"
    "class Database:\n    def __init__(self, url):\n        self.engine = create_engine(url)\n\n"
    "    @contextmanager\n    def connect(self):\n        with self.engine.connect() as conn:\n"
    "            yield conn\n\n"
    "    def fetchone(self, query, values=None):\n        with self.connect() as conn:\n"
    "            return conn.execute(text(query), values or {}).first()\n"
)


def test_health_route_probing_through_an_instance_of_a_project_class(project: Any) -> None:
    """lnbits: ``db = Database(...)`` wraps the engine; a health route calling ``db.fetchone('SELECT 1')``
    checks the store, through the method's ``self.engine``."""
    strict(project)
    project.write("svc/__init__.py", "")
    project.write("svc/db.py", DATABASE_CLASS + "\n\ndb = Database(os.environ['DATABASE_URL'])\n")
    routes = (
        "from fastapi import FastAPI\n\nfrom .db import db\n\napp = FastAPI()\n\n\n"
        "@app.get('/orders/{order_id}')\ndef order(order_id: int):\n"
        "    return db.fetchone('SELECT * FROM orders WHERE id = :id', {'id': order_id})\n\n\n"
        "@app.get('/ready')\ndef ready():\n    db.fetchone('SELECT 1')\n    return {'status': 'ok'}\n"
    )
    project.write("svc/main.py", routes)
    assert ids(project, "BL601,BL604") == set()
    project.write("svc/main.py", routes.replace("    db.fetchone('SELECT 1')\n", ""))
    assert {f[2] for f in ids(project, "BL601,BL604")} == {"BL601", "BL604"}


def test_instance_bound_in_a_module_with_nothing_else_to_record(project: Any) -> None:
    """lnbits/core/db.py holds only ``db = Database("database")`` (no framework or client name: the walk
    records nothing there); the instance is read from the file, and its methods are followed."""
    strict(project)
    project.write("svc/__init__.py", "")
    project.write("svc/db.py", DATABASE_CLASS)
    project.write("svc/core.py", "from .db import Database\n\ndb = Database('postgresql://localhost/svc')\n")
    routes = (
        "from fastapi import Depends, FastAPI\n\nfrom .core import db\nfrom .db import Database\n\n"
        "app = FastAPI()\n\n\ndef database() -> Database:\n    return db\n\n\n"
        "@app.get('/orders/{order_id}')\ndef order(order_id: int, store: Database = Depends(database)):\n"
        "    return store.fetchone('SELECT * FROM orders WHERE id = :id', {'id': order_id})\n\n\n"
        "@app.get('/readyz')\ndef ready():\n    return {'status': 'ok'}\n"
    )
    project.write("svc/main.py", routes)
    assert {f[2] for f in ids(project, "BL601,BL604")} == {"BL601", "BL604"}
    probing = routes.replace("    return {'status'", "    db.fetchone('SELECT 1')\n    return {'status'")
    project.write("svc/main.py", probing)
    assert ids(project, "BL601,BL604") == set()


OPTIONAL_REDIS = (
    "import logging\n\nimport redis\nfrom flask import current_app\n\nlog = logging.getLogger(__name__)\n\n\n"
    "def get_redis():\n"
    '    """Return a connected Redis client if REDIS_URL is configured, else None."""\n'
    "    url = current_app.config.get('REDIS_URL')\n    if not url:\n        return None\n"
    "    try:\n        client = redis.Redis.from_url(url, socket_connect_timeout=2)\n        client.ping()\n"
    "        return client\n    except redis.exceptions.RedisError as e:\n"
    "        log.warning('Redis not available: %s - falling back to DB only', e)\n        return None\n"
)


def test_optional_store_whose_failed_probe_switches_the_feature_off(project: Any) -> None:
    """privacyidea: Redis is an optional cache. The factory connects eagerly through a getter that
    returns the client or None ("a failed connect is not fatal"), and request paths test for None.
    A probe that merely logs and carries on is still BL602."""
    project.write("pi/__init__.py", "")
    project.write("pi/cache.py", OPTIONAL_REDIS)
    project.write(
        "pi/app.py",
        "from flask import Flask\n\n\ndef create_app():\n    app = Flask(__name__)\n"
        "    app.config.from_envvar('PI_SETTINGS')\n"
        "    # Eagerly connect to Redis; a failed connect is not fatal (the cache is optional).\n"
        "    if app.config.get('REDIS_URL'):\n        with app.app_context():\n"
        "            from pi.cache import get_redis\n            get_redis()\n"
        "    @app.get('/counter')\n    def counter():\n        from pi.cache import get_redis\n"
        "        client = get_redis()\n        return {'hits': client.incr('hits') if client is not None else 0}\n"
        "    return app\n",
    )
    assert ids(project, "BL602") == set()
    # the flag form: the handler clears the client the app tests later
    flag = OPTIONAL_REDIS.replace("        return client\n", "").replace(
        "falling back to DB only', e)\n        return None\n", "falling back to DB only', e)\n        client = None\n"
    )
    project.write("pi/cache.py", flag + "    return client\n")
    assert ids(project, "BL602") == set()
    swallowing = OPTIONAL_REDIS.replace("        return client\n", "").replace(
        "log.warning('Redis not available: %s - falling back to DB only', e)\n        return None\n",
        "log.error('Redis not available: %s', e)\n",
    )
    project.write("pi/cache.py", swallowing)
    assert {f[2] for f in ids(project, "BL602")} == {"BL602"}


CHECK_DB = (
    "\n\nfrom fastapi.responses import JSONResponse\n\n\n"
    "@router.get('/health')\ndef health():\n    return {'status': 'success', 'message': 'pong!'}\n\n\n"
    "@router.get('/check-db')\ndef db_health_check():\n    try:\n        with engine.connect() as conn:\n"
    "            conn.execute(text('SELECT 1;'))\n    except Exception:\n"
    "        return JSONResponse({'status': 'error', 'message': 'db unavailable'}, status_code=500)\n"
    "    return {'status': 'success', 'message': 'db available'}\n"
)


def test_a_route_that_probes_the_store_is_a_readiness_probe_whatever_its_path(project: Any) -> None:
    """fittrackee: a static liveness route, and ``/api/check-db`` that runs ``SELECT 1`` and answers 500
    when it fails. The app has its readiness probe (BL601, BL604); a readiness route that probes
    nothing while no other route does is BL604 (zenml's ``/ready``)."""
    strict(project)
    fastapi_app(project, "    print('starting')\n", health=CHECK_DB)
    assert ids(project, "BL601,BL604") == set()
    ready = "\n\n@router.get('/readyz')\ndef ready():\n    return 'OK'\n"
    fastapi_app(project, "    print('starting')\n", health=CHECK_DB + ready)
    assert ids(project, "BL601,BL604") == set()
    # the check answers 200 when the database is down: it gates nothing
    swallowing = CHECK_DB.replace("JSONResponse({'status': 'error', 'message': 'db unavailable'}, status_code=500)",
                                  "{'status': 'error'}")  # fmt: skip
    fastapi_app(project, "    print('starting')\n", health=swallowing + ready)
    assert {f[2] for f in ids(project, "BL601,BL604")} == {"BL601", "BL604"}


ARGILLA_ROUTES = (
    "from fastapi import APIRouter, FastAPI\nfrom sqlalchemy import text\n\nfrom .db import engine\n\n"
    "router = APIRouter()\n\n\n@router.get('/datasets/{dataset_id}')\ndef dataset(dataset_id: int):\n"
    "    with engine.connect() as conn:\n"
    "        return dict(conn.execute(text('SELECT * FROM datasets WHERE id = :i'), {'i': dataset_id}).one())\n\n\n"
    "def create_api_v1():\n    api_v1 = FastAPI(title='API v1')\n    api_v1.include_router(router)\n"
    "    return api_v1\n\n\napi_v1 = create_api_v1()\n"
)
ARGILLA_APP = (
    "from contextlib import asynccontextmanager\n\nimport backoff\nfrom fastapi import FastAPI\n"
    "from sqlalchemy import text\n\nfrom .db import engine\nfrom .routes import api_v1\n\n\n"
    "@asynccontextmanager\nasync def app_lifespan(app: FastAPI):\n    configure_database()\n    yield\n\n\n"
    "def configure_database():\n    @backoff.on_exception(backoff.expo, ConnectionError, max_time=60)\n"
    "    def ping_database():\n        with engine.connect() as conn:\n            conn.execute(text('SELECT 1'))\n\n"
    "    ping_database()\n\n\n"
    "def configure_api_router(app: FastAPI):\n    app.mount('/api/v1', api_v1)\n\n\n"
    "def create_server_app() -> FastAPI:\n    app = FastAPI(lifespan=app_lifespan)\n    configure_api_router(app)\n"
    "    return app\n"
)


def test_probe_in_a_nested_function_and_a_factory_built_sub_app_mounted_in_the_app(project: Any) -> None:
    """argilla-server: the lifespan calls ``configure_database()``, which defines a retrying
    ``ping_database()`` inside and calls it; the API sub-app is built by ``create_api_v1()``, bound at
    module level and mounted by a helper of the app factory: it is judged with that app."""
    strict(project)
    project.write("svc/__init__.py", "")
    project.write("svc/db.py", ENGINE)
    project.write("svc/routes.py", ARGILLA_ROUTES)
    project.write("svc/app.py", ARGILLA_APP)
    assert ids(project, "BL601") == set()
    project.write("svc/app.py", ARGILLA_APP.replace("    ping_database()\n", "    pass\n"))
    assert ids(project, "BL601") == {("svc/app.py", 31, "BL601")}, "only the app is judged, not api_v1"


IHATEMONEY = (
    "import os\n\nfrom flask import Flask\nfrom flask_migrate import Migrate, upgrade\n"
    "from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n\n\n"
    "def setup_database(app):\n    db.init_app(app)\n    Migrate(app, db)\n"
    "    migrations_path = os.path.join(app.root_path, 'migrations')\n"
    "    with app.app_context():\n        upgrade(migrations_path)\n\n\n"
    "def create_app():\n    app = Flask(__name__)\n    app.config.from_envvar('SETTINGS')\n"
    "    setup_database(app)\n\n    @app.get('/projects/<int:project_id>')\n    def project(project_id):\n"
    "        return db.session.get_or_404(Project, project_id).to_dict()\n\n    return app\n"
)


def test_migrations_run_at_startup_are_a_round_trip(project: Any) -> None:
    """ihatemoney's factory runs ``flask_migrate.upgrade()`` at startup: it reads the migration table
    and fails loudly when the database is down (table store-probes)."""
    strict(project)
    project.write("money/__init__.py", "")
    project.write("money/run.py", IHATEMONEY)
    assert ids(project, "BL601") == set()
    project.write("money/run.py", IHATEMONEY.replace("        upgrade(migrations_path)\n", "        pass\n"))
    assert {f[2] for f in ids(project, "BL601")} == {"BL601"}


# A background worker the lifespan starts (aegra-api's lease reaper and cron scheduler): its loop logs a
# failed tick and retries on the next one, which is right for a loop and says nothing about startup.
REAPER = (
    "import asyncio\nimport logging\n\nfrom sqlalchemy import text\n\nfrom .db import engine\n\n"
    "logger = logging.getLogger(__name__)\n\n\n"
    "class LeaseReaper:\n"
    "    async def start(self):\n        self._task = asyncio.create_task(self._loop())\n\n"
    "    async def _loop(self):\n        while True:\n            await asyncio.sleep(30)\n"
    "            try:\n                self._reap()\n            except Exception:\n"
    "                logger.exception('Error in lease reaper')\n\n"
    "    def _reap(self):\n        with engine.begin() as conn:\n"
    "            conn.execute(text('UPDATE runs SET lease = NULL WHERE lease < now()'))\n\n\n"
    "lease_reaper = LeaseReaper()\n"
)


def test_a_background_loop_started_at_startup_is_not_the_startup_probe(project: Any) -> None:
    fastapi_app(project, "    await reaper.lease_reaper.start()\n", health=HEALTH)
    project.write("svc/reaper.py", REAPER)
    main = project.root.joinpath("svc/main.py").read_text().replace("from . import db\n", "from . import db, reaper\n")
    project.write("svc/main.py", main)
    # The loop's queries are not a startup probe, so its except swallows no startup failure: no BL602.
    assert not {f for f in ids(project) if f[2] in ("BL601", "BL602")}
    # Nor do they stand for the probe: the strict reading of BL601 still asks for one.
    strict(project)
    assert {f[2] for f in ids(project) if f[2] in ("BL601", "BL602")} == {"BL601"}
    project.write("svc/main.py", main.replace("    await reaper", "    db.check_database()\n    await reaper"))
    assert not {f for f in ids(project) if f[2] in ("BL601", "BL602")}
