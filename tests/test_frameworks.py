"""The framework model: apps, routes, hooks, handlers and stores joined across the modules of a project."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path
from typing import Any

import pytest

from backlint.analysis.lazy import LazySpan
from backlint.analysis.web.model import App, ProjectModel
from backlint.api import settings_for
from backlint.core.catalog import load_catalog
from backlint.core.config import load_config
from backlint.pipeline.discovery import discover
from backlint.pipeline.engine import lint_file


@pytest.fixture(autouse=True)
def _in_project(project: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Paths in facts are relative to the working directory, as in a real run."""
    monkeypatch.chdir(project.root)


def build(root: Path) -> ProjectModel:
    """The model of the production files under ``root``, built the way the project pass builds it."""
    catalog = load_catalog()
    config = dataclasses.replace(load_config(catalog, explicit=None, start=root), select=("BL6",))
    settings = settings_for(config, catalog)
    files = discover([Path(".")], config).files
    facts = [r.facts for r in (lint_file(f, settings) for f in files) if r.facts is not None]
    return ProjectModel([m for m in facts if m.kind == "production"], settings.knowledge, dict(settings.options))


def routes(app: App) -> set[tuple[str, str | None, str]]:
    return {(",".join(e.methods), e.path, e.name) for e in app.endpoints}


def only_app(model: ProjectModel) -> App:
    assert len(model.apps) == 1, [a.site.path for a in model.apps]
    return model.apps[0]


def test_fastapi_routers_across_modules_join_their_prefixes(project: Any) -> None:
    project.write("svc/__init__.py", "")
    project.write("svc/routers/__init__.py", "from .orders import router as orders_router\n")
    project.write(
        "svc/routers/orders.py",
        "from fastapi import APIRouter\n\nrouter = APIRouter(prefix='/orders')\n\n\n"
        "@router.get('/{order_id}')\nasync def get_order(order_id: int):\n    return {}\n\n\n"
        "@router.api_route('/', methods=['post', 'put'])\nasync def upsert():\n    return {}\n",
    )
    project.write(
        "svc/main.py",
        "from fastapi import FastAPI\n\nfrom .routers import orders_router\n\napp = FastAPI()\n"
        "app.include_router(orders_router, prefix='/api/v1')\n\n\n"
        "def add_health(app: FastAPI) -> None:\n    @app.get('/health')\n    def health():\n        return {}\n\n\n"
        "add_health(app)\n",
    )
    app = only_app(build(project.root))
    assert routes(app) == {
        ("GET", "/api/v1/orders/{order_id}", "get_order"),
        ("POST,PUT", "/api/v1/orders/", "upsert"),
        ("GET", "/health", "health"),
    }
    assert app.site.path == "svc/main.py" and app.site.span.line == 5


def test_flask_factory_blueprints_and_class_views(project: Any) -> None:
    project.write("shop/__init__.py", "")
    project.write(
        "shop/views.py",
        "from flask import Blueprint\nfrom flask.views import MethodView\n\n"
        "bp = Blueprint('items', __name__, url_prefix='/items')\n\n\n"
        "@bp.route('/<int:item_id>', methods=['GET', 'DELETE'])\ndef item(item_id):\n    return {}\n\n\n"
        "class Stock(MethodView):\n    def get(self):\n        return {}\n\n    def post(self):\n        return {}\n",
    )
    project.write(
        "shop/app.py",
        "from flask import Flask\n\n\ndef create_app():\n    app = Flask(__name__)\n"
        "    from .views import Stock, bp\n    app.register_blueprint(bp, url_prefix='/api/items')\n"
        "    app.add_url_rule('/stock', view_func=Stock.as_view('stock'))\n    return app\n",
    )
    app = only_app(build(project.root))
    assert app.framework == "flask"
    assert routes(app) == {("GET,DELETE", "/api/items/<int:item_id>", "item"), ("GET,POST", "/stock", "Stock")}
    assert any(h.label == "app factory" for h in app.hooks)


def test_django_urlconf_through_settings_includes_and_drf_routers(project: Any) -> None:
    for package in ("config", "config/settings", "shop"):
        project.write(f"{package}/__init__.py", "")
    project.write(
        "config/settings/base.py",
        "ROOT_URLCONF = 'config.urls'\nINSTALLED_APPS = ['shop']\nMIDDLEWARE = ['shop.middleware.Errors']\n",
    )
    project.write(
        "shop/middleware.py",
        "from django.http import JsonResponse\n\n\nclass Errors:\n    def __init__(self, get_response):\n"
        "        self.get_response = get_response\n\n    def process_exception(self, request, exception):\n"
        "        return JsonResponse({}, status=500)\n",
    )
    project.write(
        "config/settings/prod.py",
        "from .base import *\n\nDATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql'}}\n",
    )
    project.write(
        "config/wsgi.py",
        "import os\n\nfrom django.core.wsgi import get_wsgi_application\n\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings.prod')\n"
        "application = get_wsgi_application()\n",
    )
    project.write(
        "config/urls.py",
        "from django.urls import include, path\n\nurlpatterns = [path('api/', include('shop.urls'))]\n"
        "handler500 = 'shop.views.server_error'\n",
    )
    project.write(
        "shop/urls.py",
        "from django.urls import include, path\nfrom rest_framework.routers import DefaultRouter\n\n"
        "from . import views\n\n"
        "router = DefaultRouter()\nrouter.register('orders', views.OrderViewSet)\n\n"
        "urlpatterns = [\n    path('', include(router.urls)),\n    path('ping/', views.ping),\n"
        "    path('report/', views.Report.as_view()),\n]\n",
    )
    project.write(
        "shop/views.py",
        "from django.http import JsonResponse\nfrom django.views import View\nfrom rest_framework import viewsets\n\n"
        "from .models import Order\n\n\nclass OrderViewSet(viewsets.ReadOnlyModelViewSet):\n"
        "    queryset = Order.objects.all()\n\n\n"
        "def ping(request):\n    return JsonResponse({})\n\n\n"
        "class Report(View):\n    def get(self, request):\n"
        "        return JsonResponse({'n': Order.objects.count()})\n\n\n"
        "def server_error(request):\n    return JsonResponse({}, status=500)\n",
    )
    app = only_app(build(project.root))
    assert app.framework == "django" and app.site.path == "config/wsgi.py"
    assert routes(app) == {
        ("GET", "api/orders", "OrderViewSet"),
        ("*", "api/ping/", "ping"),
        ("GET", "api/report/", "Report"),
    }
    assert [s.ctor for s in app.stores] == ["DATABASES"]
    handlers = {(h.kind, tuple(h.exceptions), h.function[1].name if h.function else None) for h in app.handlers}
    assert handlers == {("handler", ("500",), "server_error"), ("middleware", (), "process_exception")}


def test_starlette_mounts_and_aiohttp_route_tables(project: Any) -> None:
    project.write(
        "star/app.py",
        "from starlette.applications import Starlette\nfrom starlette.routing import Mount, Route\n\n\n"
        "async def home(request):\n    ...\n\n\nasync def note(request):\n    ...\n\n\n"
        "routes = [Route('/', home), Mount('/notes', routes=[Route('/{id:int}', note, methods=['GET', 'DELETE'])])]\n"
        "app = Starlette(routes=routes)\n",
    )
    project.write(
        "aio/app.py",
        "from aiohttp import web\n\nroutes = web.RouteTableDef()\n\n\n@routes.get('/items')\n"
        "async def items(request):\n    ...\n\n\n"
        "async def health(request):\n    ...\n\n\nasync def sub_index(request):\n    ...\n\n\n"
        "def create_app():\n    app = web.Application()\n    app.add_routes(routes)\n"
        "    app.router.add_get('/health', health)\n"
        "    admin = web.Application()\n    admin.add_routes([web.get('/', sub_index)])\n"
        "    app.add_subapp('/admin', admin)\n"
        "    return app\n",
    )
    model = build(project.root)
    by_framework = {a.framework: a for a in model.apps}
    assert set(by_framework) == {"starlette", "aiohttp"}
    assert routes(by_framework["starlette"]) == {("GET", "/", "home"), ("GET,DELETE", "/notes/{id:int}", "note")}
    assert routes(by_framework["aiohttp"]) == {
        ("GET", "/items", "items"),
        ("GET", "/health", "health"),
        ("GET", "/admin/", "sub_index"),
    }


def test_apps_in_sibling_directories_resolve_their_own_modules(project: Any) -> None:
    for name, url in (("one", "ONE_URL"), ("two", "TWO_URL")):
        project.write(
            f"{name}/db.py", f"import os\n\nimport redis\n\nclient = redis.Redis.from_url(os.environ['{url}'])\n"
        )
        project.write(f"{name}/main.py", "from flask import Flask\n\nimport db\n\napp = Flask(__name__)\n")
    model = build(project.root)
    assert len(model.apps) == 2
    for app in model.apps:
        folder = app.site.path.split("/")[0]
        assert [s.site.path for s in app.stores] == [f"{folder}/db.py"]


def test_endpoint_io_through_services_dependencies_and_managers(project: Any) -> None:
    project.write("api/__init__.py", "")
    project.write(
        "api/db.py",
        "import os\n\nfrom sqlalchemy import create_engine\nfrom sqlalchemy.orm import sessionmaker\n\n"
        "engine = create_engine(os.environ['DATABASE_URL'])\nSessionLocal = sessionmaker(bind=engine)\n\n\n"
        "def get_db():\n    db = SessionLocal()\n    try:\n        yield db\n    finally:\n        db.close()\n",
    )
    project.write(
        "api/services.py", "def total(db, customer_id):\n    return db.execute('SELECT sum(total) FROM orders')\n"
    )
    project.write(
        "api/main.py",
        "from fastapi import Depends, FastAPI\n\nfrom . import services\nfrom .db import get_db\n\napp = FastAPI()\n"
        "\n\n"
        "@app.get('/total/{customer_id}')\ndef total(customer_id: int, db=Depends(get_db)):\n"
        "    return services.total(db, customer_id)\n\n\n"
        "@app.get('/orders')\ndef orders(db=Depends(get_db)):\n    return db.query('Order').all()\n\n\n"
        "@app.get('/version')\ndef version():\n    return {'version': '1.0'}\n",
    )
    model = build(project.root)
    app = only_app(model)
    io = {e.name: {(x.kind, x.effect) for x in model.endpoint_io(e)} for e in app.endpoints}
    assert io["orders"] == {("sql", "io")}
    assert io["version"] == set()
    assert io["total"] == set(), "a parameter without a known origin is not a handle"


def test_handlers_and_middleware_are_recorded_per_app(project: Any) -> None:
    project.write(
        "app.py",
        "from fastapi import FastAPI, Request\nfrom fastapi.responses import JSONResponse\n"
        "from sqlalchemy.exc import SQLAlchemyError\n\napp = FastAPI()\n\n\n"
        "@app.exception_handler(SQLAlchemyError)\nasync def db_error(request: Request, exc: SQLAlchemyError):\n"
        "    return JSONResponse(status_code=500, content={})\n\n\n"
        "@app.middleware('http')\nasync def timing(request, call_next):\n    return await call_next(request)\n",
    )
    model = build(project.root)
    app = only_app(model)
    assert {(h.kind, tuple(h.exceptions)) for h in app.handlers} == {
        ("handler", ("sqlalchemy.exc.SQLAlchemyError",)),
        ("middleware", ()),
    }
    assert [h.function[1].name for h in model.covers(app) if h.function] == ["db_error"]


def test_objects_built_inside_helpers_are_not_apps(project: Any) -> None:
    project.write(
        "tools.py",
        "from flask import Flask\n\n\ndef render_docs():\n    app = Flask('docs')\n"
        "    with app.test_request_context():\n        pass\n",
    )
    project.write(
        "lib.py",
        "from django.core.wsgi import get_wsgi_application\n\n\ndef internal():\n    return get_wsgi_application()\n",
    )
    assert build(project.root).apps == []


@pytest.mark.parametrize("steps", [(0,), (1,)])
def test_lazy_span_pickles_and_resolves_on_first_use(project: Any, steps: tuple[int, ...]) -> None:
    project.write("m.py", "x = 1\n\n\ndef f():\n    return x\n")
    span = pickle.loads(pickle.dumps(LazySpan(str(project.root / "m.py"), steps)))
    assert span.resolved is None
    assert (span.line, span.column) == ((1, 1) if steps == (0,) else (4, 1))


def test_drf_actions_are_endpoints_of_their_viewset(project: Any) -> None:
    """Issue 16 item 5: a viewset's ``@action`` methods are handlers too, so the endpoint rules judge them."""
    for package in ("config", "shop"):
        project.write(f"{package}/__init__.py", "")
    project.write("config/settings.py", "ROOT_URLCONF = 'config.urls'\nINSTALLED_APPS = ['shop']\n")
    project.write(
        "config/wsgi.py",
        "import os\n\nfrom django.core.wsgi import get_wsgi_application\n\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings')\napplication = get_wsgi_application()\n",
    )
    project.write(
        "config/urls.py",
        "from django.urls import include, path\nfrom rest_framework.routers import DefaultRouter\n\n"
        "from shop.views import OrderViewSet\n\nrouter = DefaultRouter()\nrouter.register('orders', OrderViewSet)\n\n"
        "urlpatterns = [path('api/', include(router.urls))]\n",
    )
    project.write(
        "shop/views.py",
        "import stripe\nfrom rest_framework import viewsets\nfrom rest_framework.decorators import action\n"
        "from rest_framework.response import Response\n\nfrom .models import Order\n\n\n"
        "class OrderViewSet(viewsets.ModelViewSet):\n    queryset = Order.objects.all()\n\n"
        "    @action(detail=True, methods=['post'])\n    def refund(self, request, pk=None):\n"
        "        try:\n            stripe.Refund.create(charge=self.get_object().charge_id)\n"
        "        except Exception as exc:\n"
        "            return Response({'error': str(exc)}, status=502)  # expect: BL405\n"
        "        return Response({'refunded': True})\n\n"
        "    def summary(self, request):\n        return Response({})\n",
    )
    app = only_app(build(project.root))
    [endpoint] = app.endpoints
    assert [f.name for _, f in endpoint.functions] == ["refund"]
    assert "POST" in endpoint.methods
    result = project.lint(".", "--select", "BL405", "--format", "json")
    assert {(f["path"], f["line"]) for f in result.json()["findings"]} == {("shop/views.py", 17)}


def test_project_subclasses_of_router_and_app_classes_across_modules(project: Any) -> None:
    """ethyca-fides: ``class APIRouter(fastapi.APIRouter)`` in one module, its instances in others (through a
    subclass of the subclass too); Flask: a project ``Blueprint`` subclass; Starlette: a ``Router`` subclass
    with a route list. Their routes are the app's (BL603 sees the health routes, BL401 the DB ones)."""
    project.write("svc/__init__.py", "")
    project.write(
        "svc/routing.py",
        "from fastapi import APIRouter as FastAPIRouter\n\n\nclass APIRouter(FastAPIRouter):\n"
        "    def api_route(self, path, **kwargs):\n        return super().api_route(path.rstrip('/'), **kwargs)\n\n\n"
        "class TaggedRouter(APIRouter):\n    pass\n",
    )
    project.write(
        "svc/health.py",
        "from svc.routing import APIRouter\n\nrouter = APIRouter(prefix='/api/v1')\n\n\n"
        "@router.get('/health')\ndef health():\n    return {'status': 'ok'}\n",
    )
    project.write(
        "svc/orders.py",
        "from svc import routing\n\nrouter = routing.TaggedRouter(prefix='/api/v1/orders', tags=['orders'])\n\n\n"
        "@router.post('/')\ndef create_order():\n    return {}\n",
    )
    project.write(
        "svc/main.py",
        "from fastapi import FastAPI\n\nfrom svc import health, orders\n\napp = FastAPI()\n"
        "app.include_router(health.router)\napp.include_router(orders.router)\n",
    )
    assert routes(only_app(build(project.root))) == {
        ("GET", "/api/v1/health", "health"),
        ("POST", "/api/v1/orders/", "create_order"),
    }


def test_project_subclasses_of_flask_and_starlette_routers(project: Any) -> None:
    project.write("web/__init__.py", "")
    project.write("web/base.py", "from flask import Blueprint\n\n\nclass ApiBlueprint(Blueprint):\n    pass\n")
    project.write(
        "web/status.py",
        "from web.base import ApiBlueprint\n\nbp = ApiBlueprint('status', __name__, url_prefix='/status')\n\n\n"
        "@bp.get('/healthz')\ndef healthz():\n    return 'ok'\n",
    )
    project.write(
        "web/app.py",
        "from flask import Flask\n\nfrom web.status import bp\n\napp = Flask(__name__)\napp.register_blueprint(bp)\n",
    )
    assert routes(only_app(build(project.root))) == {("GET", "/status/healthz", "healthz")}


def test_project_subclass_of_a_starlette_router_with_a_route_list(project: Any) -> None:
    project.write("asgi/__init__.py", "")
    project.write("asgi/base.py", "from starlette.routing import Router\n\n\nclass AppRouter(Router):\n    pass\n")
    project.write(
        "asgi/ops.py",
        "from starlette.responses import PlainTextResponse\nfrom starlette.routing import Route\n\n"
        "from asgi.base import AppRouter\n\n\nasync def ready(request):\n    return PlainTextResponse('ok')\n\n\n"
        "router = AppRouter(routes=[Route('/ready', ready)])\n",
    )
    project.write(
        "asgi/app.py",
        "from starlette.applications import Starlette\nfrom starlette.routing import Mount\n\n"
        "from asgi.ops import router\n\napp = Starlette(routes=[Mount('/ops', app=router)])\n",
    )
    assert routes(only_app(build(project.root))) == {("GET", "/ops/ready", "ready")}
