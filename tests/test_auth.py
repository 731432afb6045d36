"""BL801/BL802 through the real CLI: opt-in, the evidence each framework offers, and the options."""

from __future__ import annotations

import textwrap

from annotations import expected_findings


def _lint(project, files: dict[str, str], *args: str) -> tuple[set[tuple[str, int, str]], dict]:  # type: ignore[no-untyped-def]
    for relative, text in files.items():
        project.write(relative, textwrap.dedent(text).lstrip("\n"))
    data = project.lint(*files, "--format", "json", *args).json()
    return {(f["path"], f["line"], f["rule_id"]) for f in data["findings"]}, data


def _expected(files: dict[str, str], rule: str) -> set[tuple[str, int, str]]:
    return {
        (path, line, rule_id)
        for path, text in files.items()
        for line, rule_id in expected_findings(textwrap.dedent(text).lstrip("\n"))
        if rule_id == rule
    }


FASTAPI = {
    "api/__init__.py": "",
    "api/security.py": """
        from fastapi import Depends
        from fastapi.security import OAuth2PasswordBearer

        oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/token")


        async def load_account(token: str = Depends(oauth2_scheme)):
            return await accounts.by_token(token)


        async def gateway_user(request):
            return request.headers.get("x-forwarded-user")
    """,
    "api/admin.py": """
        from fastapi import APIRouter, Depends

        from .security import load_account

        router = APIRouter(prefix="/admin", dependencies=[Depends(load_account)])


        @router.delete("/cache")
        async def clear_cache():
            await cache.clear()
    """,
    "api/billing.py": """
        from fastapi import APIRouter

        router = APIRouter(prefix="/billing")


        @router.post("/refunds")
        async def refund(order_id: int):
            await payments.refund(order_id)
    """,
    "api/main.py": """
        from typing import Annotated

        from fastapi import Depends, FastAPI

        from . import admin, billing
        from .security import gateway_user, load_account, oauth2_scheme

        app = FastAPI()
        app.include_router(admin.router)
        app.include_router(billing.router, dependencies=[Depends(oauth2_scheme)])


        @app.post("/notes")
        async def create_note(text: str, account=Depends(load_account)):
            return await notes.create(account, text)


        @app.put("/notes/{note_id}")
        async def edit_note(note_id: int, text: str, token: Annotated[str, Depends(oauth2_scheme)]):
            return await notes.edit(note_id, text)


        @app.delete("/notes/{note_id}")
        async def delete_note(note_id: int):  # expect: BL801
            return await notes.delete(note_id)


        @app.patch("/profile")
        async def patch_profile(user=Depends(gateway_user)):  # expect: BL801
            return await profiles.touch(user)


        @app.post("/webhooks/stripe")
        async def stripe_webhook(payload: dict):
            return await payments.handle(payload)


        @app.get("/notes")
        async def list_notes():
            return await notes.all()
    """,
}


def test_bl801_fastapi_evidence_and_options(project) -> None:  # type: ignore[no-untyped-def]
    found, _ = _lint(project, FASTAPI)
    assert not [f for f in found if f[2] == "BL801"], "BL801 is opt-in"
    found, data = _lint(project, FASTAPI, "--select", "BL801")
    assert found == _expected(FASTAPI, "BL801")
    assert all("looked for" in f["message"] for f in data["findings"])
    project.write(
        "pyproject.toml",
        '[tool.backlint]\nauth-dependencies = ["api.security.gateway_user"]\npublic-paths = ["^/notes/"]\n',
    )
    found, _ = _lint(project, FASTAPI, "--select", "BL801")
    assert found == set()


def test_bl801_flask_and_django(project) -> None:  # type: ignore[no-untyped-def]
    files = {
        "shop/__init__.py": """
            from flask import Flask


            def create_app():
                app = Flask(__name__)
                from .views import bp

                app.register_blueprint(bp, url_prefix="/api")
                return app
        """,
        "shop/views.py": """
            import functools

            from flask import Blueprint, abort, g
            from flask_jwt_extended import jwt_required

            bp = Blueprint("shop", __name__)


            def staff_only(view):
                @functools.wraps(view)
                def wrapper(*args, **kwargs):
                    if not g.user.is_staff:
                        abort(403)
                    return view(*args, **kwargs)

                return wrapper


            @bp.post("/orders")
            @jwt_required()
            def create_order():
                return {"ok": True}, 201


            @bp.delete("/orders/<int:oid>")
            @staff_only
            def delete_order(oid):
                return "", 204


            @bp.route("/orders/<int:oid>", methods=["PUT"])
            def replace_order(oid):  # expect: BL801
                return {"ok": True}
        """,
        "portal/__init__.py": "",
        "portal/settings.py": """
            ROOT_URLCONF = "portal.urls"
            MIDDLEWARE = ["django.contrib.auth.middleware.LoginRequiredMiddleware"]
        """,
        "portal/urls.py": """
            from django.urls import path

            from . import views

            urlpatterns = [path("items/<int:pk>/delete/", views.delete_item)]
        """,
        "portal/views.py": """
            from django.views.decorators.http import require_POST


            @require_POST
            def delete_item(request, pk):
                return items.delete(pk)
        """,
        "portal/wsgi.py": "from django.core.wsgi import get_wsgi_application\n\napplication = get_wsgi_application()\n",
    }
    found, _ = _lint(project, files, "--select", "BL801")
    assert found == _expected(files, "BL801")


def test_bl802_credentials_words_and_limits(project) -> None:  # type: ignore[no-untyped-def]
    files = {
        "api/main.py": """
            from fastapi import Depends, FastAPI, HTTPException, Request
            from fastapi_limiter.depends import RateLimiter
            from slowapi import Limiter
            from slowapi.util import get_remote_address

            limiter = Limiter(key_func=get_remote_address)
            app = FastAPI()


            @app.post("/auth/login")
            @limiter.limit("5/minute")
            async def login(request: Request, form: dict):
                return await auth.login(form)


            @app.post("/auth/otp", dependencies=[Depends(RateLimiter(times=3, seconds=60))])
            async def check_otp(form: dict):
                return await auth.otp(form)


            @app.post("/password/reset")
            async def reset_password(form: dict):  # expect: BL802
                return await auth.reset(form)


            @app.post("/connections/verify")
            async def verify_connection(url: str):
                return await probe(url)


            @app.post("/hooks/{token}")
            async def incoming_hook(token: str, payload: dict):
                return await hooks.handle(token, payload)


            @app.post("/db/reset")
            async def reset_vector_db():
                return await vectors.reset()


            @app.post("/register")
            async def register(form: dict):  # expect: BL802
                return await accounts.create(form)


            @app.post("/clients/register")
            async def register_oauth_client(form: dict):
                return await oauth.register(form)


            @app.post("/tokens/{serial}/revoke")
            async def revoke_token(serial: str):
                return await hardware_tokens.revoke(serial)


            @app.post("/machine/token")
            async def attach_token(serial: str, machine: str):
                return await hardware_tokens.attach(serial, machine)


            @app.post("/api/v1/token")
            async def token(form: dict):  # expect: BL802
                return await auth.issue(form)


            def throttle_signin(request):
                rate_limit("signin", request.client.host, max_num=10, expire_time=600)


            @app.post("/signin")
            async def signin(request: Request, form: dict):
                throttle_signin(request)
                return await auth.login(form)


            @app.post("/v2/login")
            async def login_v2(request: Request, form: dict):
                if await login_rate_limiter.is_limited(request.client.host):
                    return {"error": "try later"}
                return await auth.login(form)


            async def check_attempts(code_id):
                if await attempts.count(code_id) > 5:
                    raise HTTPException(status_code=429, detail="too many attempts")


            async def verify_code(code_id, code):
                await check_attempts(code_id)
                return await codes.verify(code_id, code)


            @app.post("/otp/verify")
            async def verify_otp(form: dict):
                return await verify_code(form["id"], form["code"])
        """,
    }
    found, data = _lint(project, files, "--select", "BL802")
    assert found == _expected(files, "BL802")
    assert all(f["level"] == "note" and "looked for" in f["message"] for f in data["findings"])


def test_bl802_global_limits_and_exemptions(project) -> None:  # type: ignore[no-untyped-def]
    files = {
        "shop/__init__.py": """
            from flask import Flask
            from flask_limiter import Limiter
            from flask_limiter.util import get_remote_address

            app = Flask(__name__)
            limiter = Limiter(get_remote_address, app=app, default_limits=["200 per day", "50 per hour"])


            @app.post("/login")
            def login():
                return {"ok": True}


            @app.post("/token")
            @limiter.exempt
            def token():  # expect: BL802
                return {"ok": True}
        """,
    }
    found, data = _lint(project, files, "--select", "BL802")
    assert found == _expected(files, "BL802")
    assert "exempt" in data["findings"][0]["message"]


def test_bl801_django_urlconf_decorated_as_a_whole(project) -> None:  # type: ignore[no-untyped-def]
    files = {
        "site_/__init__.py": "",
        "site_/settings.py": 'ROOT_URLCONF = "site_.urls"\n',
        "site_/wsgi.py": "from django.core.wsgi import get_wsgi_application\n\napplication = get_wsgi_application()\n",
        "site_/urls.py": """
            from django.urls import include, path

            from . import views

            urlpatterns = [
                path("items/<int:pk>/delete/", views.delete_item),
                path("admin/", include("backoffice.urls")),
            ]
        """,
        "site_/views.py": """
            from django.views.decorators.http import require_POST


            @require_POST
            def delete_item(request, pk):  # expect: BL801
                return items.delete(pk)
        """,
        "backoffice/__init__.py": "",
        "backoffice/urls.py": """
            from django.urls import path
            from wagtail.utils.urlpatterns import decorate_urlpatterns

            from .views import purge

            urlpatterns = [path("purge/", purge)]
            urlpatterns = decorate_urlpatterns(urlpatterns, require_admin_access)
        """,
        "backoffice/views.py": """
            from django.views.decorators.http import require_POST


            @require_POST
            def purge(request):
                return cache.purge()
        """,
    }
    found, _ = _lint(project, files, "--select", "BL801")
    assert found == _expected(files, "BL801")


def test_bl801_follows_a_dependency_factory_into_the_function_it_returns(project) -> None:  # type: ignore[no-untyped-def]
    """gns3-server: ``dependencies=[Depends(has_privilege("Node.Allocate"))]``; the factory returns an inner
    function whose parameter depends on the current user. A factory whose inner function depends on
    nothing that authenticates is no evidence."""
    files = {
        "gns/__init__.py": "",
        "gns/dependencies.py": """
            from fastapi import Depends, HTTPException, Request
            from fastapi.security import OAuth2PasswordBearer

            oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/v3/access/users/login")


            async def get_user_from_token(token: str = Depends(oauth2_scheme)):
                return await users.by_token(token)


            def has_privilege(privilege_name: str):
                async def get_user_and_check_privilege(request: Request, current_user=Depends(get_user_from_token)):
                    if not await rbac.check(current_user, request.url.path, privilege_name):
                        raise HTTPException(status_code=403, detail="Permission denied")
                    return current_user

                return get_user_and_check_privilege


            def with_pagination(size: int):
                async def paginate(page: int = 1):
                    return (page - 1) * size, size

                return paginate
        """,
        "gns/nodes.py": """
            from fastapi import APIRouter, Depends, FastAPI

            from .dependencies import has_privilege, with_pagination

            app = FastAPI()
            router = APIRouter()


            @router.post("/nodes", dependencies=[Depends(has_privilege("Node.Allocate"))])
            async def create_node(node: dict):
                return await nodes.create(node)


            @router.delete("/nodes/{node_id}", dependencies=[Depends(with_pagination(10))])
            async def delete_node(node_id: str):  # expect: BL801
                await nodes.delete(node_id)


            app.include_router(router)
        """,
    }
    found, _ = _lint(project, files, "--select", "BL801")
    assert found == _expected(files, "BL801")


def test_bl801_django_ninja_api_wide_auth_and_opt_outs(project) -> None:  # type: ignore[no-untyped-def]
    """archivebox: ``NinjaAPI(auth=API_AUTH_METHODS)`` (a project subclass) covers every router added with
    ``add_router`` (by dotted string); a route or router with ``auth=None`` opts out; a router's own
    ``auth=`` covers it."""
    files = {
        "box/__init__.py": "",
        "box/settings.py": 'ROOT_URLCONF = "box.urls"\n',
        "box/wsgi.py": "from django.core.wsgi import get_wsgi_application\n\napplication = get_wsgi_application()\n",
        "box/urls.py": """
            from django.urls import path

            from .api import urls as api_urls

            urlpatterns = [path("api/v1/", api_urls)]
        """,
        "box/auth.py": """
            from ninja.security import HttpBearer


            class BearerTokenAuth(HttpBearer):
                def authenticate(self, request, token):
                    return tokens.check(token)


            API_AUTH_METHODS = [BearerTokenAuth()]
        """,
        "box/api.py": """
            from ninja import NinjaAPI

            from .auth import API_AUTH_METHODS


            def register_urls(api: NinjaAPI) -> NinjaAPI:
                api.add_router("/core/", "box.core.router")
                api.add_router("/public/", "box.public.router")
                return api


            class NinjaAPIWithIOCapture(NinjaAPI):
                pass


            api = NinjaAPIWithIOCapture(title="Box API", auth=API_AUTH_METHODS)
            api = register_urls(api)
            urls = api.urls
        """,
        "box/core.py": """
            from ninja import Router

            router = Router(tags=["Core"])


            @router.post("/snapshots")
            def create_snapshot(request, url: str):
                return snapshots.create(url)


            @router.delete("/snapshots/{snapshot_id}", auth=None)
            def delete_snapshot(request, snapshot_id: str):  # expect: BL801
                return snapshots.delete(snapshot_id)
        """,
        "box/public.py": """
            from ninja import Router

            from .auth import BearerTokenAuth

            router = Router(tags=["Public"], auth=None)


            @router.post("/tags")
            def create_tag(request, name: str):  # expect: BL801
                return tags.create(name)


            @router.post("/notes", auth=[BearerTokenAuth()])
            def create_note(request, text: str):
                return notes.create(text)
        """,
    }
    found, _ = _lint(project, files, "--select", "BL801")
    assert found == _expected(files, "BL801")
