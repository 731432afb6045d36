"""BL701–BL703 and BL803 through the real CLI: switches read as the app reads them with its environment unset."""

from __future__ import annotations

from typing import Any

import pytest


def lint(project: Any, path: str, code: str, select: str) -> set[tuple[int, str]]:
    project.write(path, code)
    result = project.lint(path, "--select", select, "--format", "json")
    assert result.exit_code in (0, 1), result.stderr
    return {(f["line"], f["level"]) for f in result.json()["findings"]}


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("from flask import Flask\n\napp = Flask(__name__)\napp.run(debug=True)\n", {(4, "error")}),
        (
            "from flask import Flask\n\napp = Flask(__name__)\napp.debug = True\napp.config['DEBUG'] = True\n",
            {(4, "error"), (5, "error")},
        ),
        (
            "from flask import Flask\n\napp = Flask(__name__)\napp.config.update(DEBUG=True, TESTING=False)\n",
            {(4, "error")},
        ),
        (
            "from werkzeug.serving import run_simple\n\nrun_simple('0.0.0.0', 80, app, use_debugger=True)\n",
            {(3, "error")},
        ),
        (
            "from werkzeug.debug import DebuggedApplication\n\napplication = DebuggedApplication(app, evalex=True)\n",
            {(3, "error")},
        ),
        ("from fastapi import FastAPI\n\napp = FastAPI(debug=True)\n", {(3, "warning")}),
        ("from starlette.applications import Starlette\n\napp = Starlette(debug=True, routes=[])\n", {(3, "warning")}),
        # a factory's app in a module that uses Flask
        (
            "from flask import Flask\n\nfrom .factory import create_app\n\napp = create_app()\napp.run(debug=True)\n",
            {(6, "error")},
        ),
    ],
)
def test_debug_switches_on(project: Any, code: str, expected: set[tuple[int, str]]) -> None:
    assert lint(project, "app/main.py", code, "BL701") == expected


@pytest.mark.parametrize(
    "code",
    [
        "import os\n\nfrom flask import Flask\n\napp = Flask(__name__)\n"
        "app.run(debug=os.environ.get('FLASK_DEBUG') == '1')\n",
        "import os\n\nfrom fastapi import FastAPI\n\n"
        "app = FastAPI(debug=os.getenv('API_DEBUG', 'false').lower() == 'true')\n",
        "from flask import Flask\n\napp = Flask(__name__)\napp.run(debug=False)\n",
        # a literal True chosen by a debug condition (khoj's src/khoj/main.py, a `--debug` flag)
        "from fastapi import FastAPI\n\nfrom app.utils import in_debug_mode\n\nif in_debug_mode():\n"
        "    app = FastAPI(debug=True)\nelse:\n    app = FastAPI(docs_url=None)\n",
        "from flask import Flask\n\napp = Flask(__name__)\n\n\ndef main(args):\n    if not args.debug:\n"
        "        app.run(host='0.0.0.0')\n    else:\n        app.run(debug=True)\n",
        # not a Flask app: a thread, a process, a test client
        "import threading\n\nworker = threading.Thread(target=print)\nworker.run()\nresult = runner.run(debug=True)\n",
    ],
)
def test_debug_switches_off_or_unrelated(project: Any, code: str) -> None:
    assert lint(project, "app/main.py", code, "BL701") == set()


def test_debug_in_main_guard_level_is_configurable(project: Any) -> None:
    """Reported when the deployment runs the module (debug_mode.py's project part); its level is an option."""
    code = "from flask import Flask\n\napp = Flask(__name__)\n\nif __name__ == '__main__':\n    app.run(debug=True)\n"
    assert lint(project, "app/main.py", code, "BL701") == set(), "a developer's `python app/main.py`"
    project.write("Dockerfile", 'FROM python:3.12\nCOPY . /srv\nCMD ["python", "/srv/app/main.py"]\n')
    assert lint(project, "app/main.py", code, "BL701") == {(6, "error")}
    project.write("pyproject.toml", "[tool.backlint]\ndebug-in-main-guard = 'note'\n")
    assert lint(project, "app/main.py", code, "BL701") == {(6, "note")}


def test_development_entry_points_and_evalex(project: Any) -> None:
    """zou's ``debug.py`` runs the dev server under a main guard; ckan's ``ckan run`` passes
    ``use_evalex=True`` (Werkzeug's default) with ``use_debugger`` from a command-line flag."""
    code = (
        "from flask_socketio import SocketIO\n\nfrom app import create_app\n\napp = create_app()\n"
        "socketio = SocketIO(app)\n\nif __name__ == '__main__':\n    socketio.run(app, port=5000, debug=True)\n"
    )
    project.write("Procfile", "web: python zou/server.py\nworker: python zou/debug.py\n")
    assert lint(project, "zou/debug.py", code, "BL701") == set()
    assert lint(project, "zou/server.py", code, "BL701") == {(9, "error")}
    serve = (
        "from werkzeug.serving import run_simple\n\n\ndef run(app, use_debugger):\n"
        "    run_simple('localhost', 5000, app, use_debugger=use_debugger, use_evalex=True)\n"
    )
    assert lint(project, "ckan/cli/server.py", serve, "BL701") == set()


SETTINGS = "INSTALLED_APPS = ['shop']\nROOT_URLCONF = 'config.urls'\n"


@pytest.mark.parametrize(
    ("path", "debug", "expected"),
    [
        ("config/settings/production.py", "DEBUG = True\n", {(3, "warning")}),
        (
            "config/settings.py",
            "import environ\n\nenv = environ.Env()\nDEBUG = env.bool('DJANGO_DEBUG', default=True)\n",
            {(6, "warning")},
        ),
        ("config/settings.py", "import os\n\nDEBUG = os.getenv('DEBUG', 'True') == 'True'\n", {(5, "warning")}),
        (
            "config/settings.py",
            "from decouple import config\n\nDEBUG = config('DEBUG', default=True, cast=bool)\n",
            {(5, "warning")},
        ),
        ("config/settings.py", "import os\n\nDEBUG = int(os.environ.get('DJANGO_DEBUG', 0))\n", set()),
        (
            "config/settings.py",
            "import environ\n\nenv = environ.Env()\nDEBUG = env.bool('DJANGO_DEBUG', default=False)\n",
            set(),
        ),
        ("config/settings/dev.py", "DEBUG = True\n", set()),
        ("config/settings_local.py", "DEBUG = True\n", set()),
        ("app/constants.py", "DEBUG = True\n", set()),  # not a settings module
    ],
)
def test_django_debug(project: Any, path: str, debug: str, expected: set[tuple[int, str]]) -> None:
    code = SETTINGS + debug if path != "app/constants.py" else debug
    assert lint(project, path, code, "BL701") == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (
            "from fastapi.middleware.cors import CORSMiddleware\n\n"
            "app.add_middleware(CORSMiddleware, allow_origins=['*'], allow_credentials=True)\n",
            {(3, "error")},
        ),
        (
            "from starlette.middleware import Middleware\nfrom starlette.middleware.cors import CORSMiddleware\n\n"
            "ORIGINS = ['*']\n"
            "middleware = [Middleware(CORSMiddleware, allow_origins=ORIGINS, allow_credentials=True)]\n",
            {(5, "error")},
        ),
        (
            "from fastapi.middleware.cors import CORSMiddleware\n\n"
            "app.add_middleware(CORSMiddleware, allow_origin_regex='https?://.*', allow_credentials=True)\n",
            {(3, "error")},
        ),
        (
            "import os\n\nfrom fastapi.middleware.cors import CORSMiddleware\n\n"
            "app.add_middleware(CORSMiddleware, allow_origins=os.getenv('ORIGINS', "
            "'*').split(','), allow_credentials=True)\n",
            {(5, "error")},
        ),
        (
            "from fastapi.middleware.cors import CORSMiddleware\n\n"
            "app.add_middleware(CORSMiddleware, allow_origins=['*'])\n",
            {(3, "note")},
        ),
        ("from flask_cors import CORS\n\nCORS(app)\n", {(3, "note")}),
        ("from flask_cors import CORS\n\nCORS(app, supports_credentials=True)\n", {(3, "error")}),
        (
            "from flask_cors import CORS\n\n"
            "CORS(app, resources={r'/api/*': {'origins': '*'}}, supports_credentials=True)\n",
            {(3, "error")},
        ),
        (
            "import aiohttp_cors\n\n"
            "cors = aiohttp_cors.setup(app, defaults={'*': aiohttp_cors.ResourceOptions(allow_credentials=True)})\n",
            {(3, "error")},
        ),
        # explicit origins, or a regex pinned to one site, or options we cannot read
        (
            "from fastapi.middleware.cors import CORSMiddleware\n\n"
            "app.add_middleware(CORSMiddleware, allow_origins=['https://shop.example.com'], allow_credentials=True)\n",
            set(),
        ),
        (
            "from fastapi.middleware.cors import CORSMiddleware\n\n"
            "app.add_middleware(CORSMiddleware, "
            "allow_origin_regex=r'https://.*\\.example\\.com', allow_credentials=True)\n",
            set(),
        ),
        ("from flask_cors import CORS\n\nCORS(app, **settings.CORS_OPTIONS)\n", set()),
    ],
)
def test_cors(project: Any, code: str, expected: set[tuple[int, str]]) -> None:
    public_cors(project)
    assert lint(project, "app/main.py", code, "BL702") == expected


def public_cors(project: Any) -> None:
    """``report-public-cors``: a wildcard without credentials is reported too (as a note)."""
    project.write("pyproject.toml", "[tool.backlint]\nreport-public-cors = true\n")


def test_wildcard_without_credentials_is_a_public_apis_setting_by_default(project: Any) -> None:
    """aegra-api: ``*`` without credentials is the documented default when the config lists no origins."""
    code = (
        "from fastapi.middleware.cors import CORSMiddleware\n\n\n"
        "def add_cors(app, cors_config):\n    if cors_config:\n"
        "        app.add_middleware(CORSMiddleware, allow_origins=cors_config['origins'], allow_credentials=True)\n"
        "    else:\n        app.add_middleware(CORSMiddleware, allow_origins=['*'], allow_credentials=False)\n"
    )
    assert lint(project, "app/main.py", code, "BL702") == set()
    assert lint(project, "app/main.py", code.replace("allow_credentials=False", "allow_credentials=True"), "BL702") == {
        (8, "error")
    }
    public_cors(project)
    assert lint(project, "app/main.py", code, "BL702") == {(8, "note")}


@pytest.mark.parametrize(
    ("path", "auth"),
    [
        # changedetection.io: the API checks an x-api-key header
        (
            "app/api_auth.py",
            "from flask import request\n\n\ndef check_token():\n    return request.headers.get('x-api-key') == TOKEN\n",
        ),
        # lnbits: FastAPI header schemes
        (
            "app/decorators.py",
            "from fastapi.security import APIKeyHeader\n\napi_key_header = APIKeyHeader(name='X-API-KEY')\n",
        ),
        # wger: DRF token authentication
        (
            "app/settings.py",
            "REST_FRAMEWORK = {'DEFAULT_AUTHENTICATION_CLASSES': "
            "('rest_framework.authentication.TokenAuthentication',)}\n",
        ),
    ],
)
def test_wildcard_without_credentials_on_an_api_authenticated_by_key(project: Any, path: str, auth: str) -> None:
    """Another site's page cannot attach the visitor's key: a wildcard without credentials exposes nothing."""
    public_cors(project)
    code = "from flask_cors import CORS\n\nCORS(app)\n"
    assert lint(project, "app/main.py", code, "BL702") == {(3, "note")}
    project.write(path, auth)
    assert lint(project, "app/main.py", code, "BL702") == set()
    project.write("app/main.py", "from flask_cors import CORS\n\nCORS(app, supports_credentials=True)\n")
    assert lint(project, "app/main.py", code.replace("(app)", "(app, supports_credentials=True)"), "BL702") == {
        (3, "error")
    }


def test_flask_cors_reads_origins_from_app_config(project: Any) -> None:
    """alerta: ``CORS_ORIGINS`` listed in the settings module, ``@cross_origin(supports_credentials=True)``
    on the routes and ``CORS()`` with ``init_app`` in the factory: Flask-CORS takes the origins from the
    app's configuration, not its ``*`` default."""
    project.write(
        "alerta/settings.py",
        "CORS_ALLOW_HEADERS = ['Content-Type', 'Authorization']\n"
        "CORS_ORIGINS = [\n    'http://localhost',\n    r'https?://\\w*\\.?local\\.alerta\\.io:?\\d*/?.*',\n]\n",
    )
    project.write(
        "alerta/app.py",
        "from flask import Flask\nfrom flask_cors import CORS\n\ncors = CORS()\n\n\n"
        "def create_app():\n    app = Flask(__name__)\n    app.config.from_object('alerta.settings')\n"
        "    cors.init_app(app)\n    return app\n",
    )
    routes = (
        "from flask_cors import cross_origin\n\nfrom . import api\n\n\n"
        "@api.route('/alerts', methods=['GET'])\n@cross_origin(supports_credentials=True)\n"
        "def list_alerts():\n    return {'alerts': []}\n"
    )
    assert lint(project, "alerta/views.py", routes, "BL702") == set()
    project.write("alerta/settings.py", "CORS_ORIGINS = ['*']\n")
    assert lint(project, "alerta/views.py", routes, "BL702") == {(7, "error")}


def test_flask_cors_origins_per_resource(project: Any) -> None:
    """zou: every resource names its origins (from configuration); the call's ``*`` default never applies."""
    code = (
        "from flask import Flask\nfrom flask_cors import CORS\n\nfrom . import config\n\n"
        "app = Flask(__name__)\nif config.CORS_ALLOWED_ORIGINS:\n"
        "    CORS(app, resources={r'/*': {'origins': config.CORS_ALLOWED_ORIGINS}}, supports_credentials=True)\n"
    )
    assert lint(project, "zou/app/__init__.py", code, "BL702") == set()


def test_flask_cors_origins_per_resource_read_from_app_config(project: Any) -> None:
    """gramps-webapi: a resource pattern built by an f-string, its origins read from ``app.config``: judged
    by what the project sets that key to (nothing here: the deployment's config file lists them)."""
    code = (
        "from flask import Flask\nfrom flask_cors import CORS\n\nAPI_PREFIX = '/api'\n\n\n"
        "def create_app(config):\n    app = Flask(__name__)\n    app.config.from_mapping(config)\n"
        "    if app.config.get('CORS_ORIGINS'):\n        CORS(\n            app,\n            resources={\n"
        "                f'{API_PREFIX}/*': {\n                    'origins': app.config['CORS_ORIGINS'],\n"
        "                    'supports_credentials': False,\n                }\n            },\n        )\n"
        "    return app\n"
    )
    assert lint(project, "gramps/app.py", code, "BL702") == set()
    public_cors(project)
    project.write("gramps/config.py", "CORS_ORIGINS = '*'\n")
    assert lint(project, "gramps/app.py", code, "BL702") == {(11, "note")}
    with_credentials = code.replace("'supports_credentials': False", "'supports_credentials': True")
    assert lint(project, "gramps/app.py", with_credentials, "BL702") == {(11, "error")}
    project.write("gramps/config.py", "CORS_ORIGINS = ['https://family.example.org']\n")
    assert lint(project, "gramps/app.py", with_credentials, "BL702") == set()


def test_django_cors_settings(project: Any) -> None:
    public_cors(project)
    allow_all = SETTINGS + "CORS_ALLOW_ALL_ORIGINS = True\nCORS_ALLOW_METHODS = ['GET']\n"
    assert lint(project, "config/settings.py", allow_all, "BL702") == {(3, "note")}
    assert lint(project, "config/settings.py", allow_all + "CORS_ALLOW_CREDENTIALS = True\n", "BL702") == {(3, "error")}
    regex = (
        SETTINGS + "CORS_ALLOWED_ORIGIN_REGEXES = [r'^https://\\w+\\.example\\.com$']\nCORS_ALLOW_CREDENTIALS = True\n"
    )
    assert lint(project, "config/settings.py", regex, "BL702") == set()


@pytest.mark.parametrize(
    ("path", "hosts", "expected"),
    [
        ("config/settings/production.py", "ALLOWED_HOSTS = ['*']\n", {(3, "note")}),
        ("config/settings.py", "ALLOWED_HOSTS = ['api.example.com'] + ['*']\n", {(3, "note")}),
        ("config/settings/local.py", "ALLOWED_HOSTS = ['*']\n", set()),
        ("config/settings.py", "import os\n\nALLOWED_HOSTS = os.environ['ALLOWED_HOSTS'].split(',')\n", set()),
    ],
)
def test_allowed_hosts(project: Any, path: str, hosts: str, expected: set[tuple[int, str]]) -> None:
    assert lint(project, path, SETTINGS + hosts, "BL703") == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("import jwt\n\nclaims = jwt.decode(token, options={'verify_signature': False})\n", {(3, "error")}),
        (
            "import jwt\n\nNO_CHECK = {'verify_signature': False, 'verify_exp': True}\n"
            "claims = jwt.decode(token, key, options=NO_CHECK)\n",
            {(4, "error")},
        ),
        ("import jwt\n\nclaims = jwt.decode(token, verify=False)\n", {(3, "error")}),
        ("import jwt\n\nclaims = jwt.decode(token, key, algorithms=['HS256', 'none'])\n", {(3, "error")}),
        (
            "from jose import jwt\n\nclaims = jwt.decode(token, key, options=dict(verify_signature=False))\n",
            {(3, "error")},
        ),
        (
            "from jose import jwt\n\n\ndef is_admin(token):\n"
            "    return jwt.get_unverified_claims(token)['role'] == 'admin'\n",
            {(5, "warning")},
        ),
        # verified decodes; reading the key id or the expiry; peeking at the issuer before verifying
        ("import jwt\n\nclaims = jwt.decode(token, key, algorithms=['RS256'], audience='api')\n", set()),
        ("import jwt\n\nkid = jwt.get_unverified_header(token)['kid']\n", set()),
        ("import jwt\n\nexpires = jwt.decode(token, options={'verify_signature': False}).get('exp')\n", set()),
        (
            "import jwt\n\n\ndef verify(token, keys):\n"
            "    issuer = jwt.decode(token, options={'verify_signature': False})['iss']\n"
            "    return jwt.decode(token, keys[issuer], algorithms=['RS256'])\n",
            set(),
        ),
    ],
)
def test_jwt(project: Any, code: str, expected: set[tuple[int, str]]) -> None:
    assert lint(project, "app/auth.py", code, "BL803") == expected


def test_jwt_claims_read_after_the_issuer_accepted_the_token(project: Any) -> None:
    """open-webui's token exchange: the provider's userinfo endpoint validates the token first; the
    claims are then read without a second signature check. Without that call the decode is reported."""
    code = (
        "import jwt\n\n\nasync def exchange(client, token):\n"
        "    user_data = await client.userinfo(token={'access_token': token, 'token_type': 'Bearer'})\n"
        "    if not user_data:\n        raise PermissionError('invalid token')\n"
        "    claims = jwt.decode(token, options={'verify_signature': False})\n"
        "    return user_data['sub'], claims.get('groups', [])\n"
    )
    assert lint(project, "app/auth.py", code, "BL803") == set()
    unchecked = code.replace("await client.userinfo(token=", "dict(").replace("user_data['sub']", "claims['sub']")
    assert lint(project, "app/auth.py", unchecked, "BL803") == {(8, "error")}


def test_test_files_are_not_judged(project: Any) -> None:
    code = (
        "import jwt\nfrom flask import Flask\n\napp = Flask(__name__)\napp.run(debug=True)\n"
        "claims = jwt.decode(t, options={'verify_signature': False})\n"
    )
    assert lint(project, "tests/test_auth.py", code, "BL701,BL803") == set()


PRETALX_MIDDLEWARE = """from django.core.exceptions import DisallowedHost
from django.http.request import split_domain_port


class MultiDomainMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        domain, _ = split_domain_port(request.get_host())
        if domain not in known_domains():
            raise DisallowedHost(f"Unknown host: {domain}")
        return self.get_response(request)
"""


def test_allowed_hosts_wildcard_with_the_apps_own_host_validating_middleware(project: Any) -> None:
    """pretalx serves events on custom domains it knows only at run time: ``ALLOWED_HOSTS = ["*"]``
    and ``MultiDomainMiddleware`` (in another module) raises ``DisallowedHost`` for unknown hosts."""
    project.write("pretalx/__init__.py", "")
    project.write("pretalx/common/__init__.py", "")
    project.write("pretalx/common/middleware/__init__.py", "from .domains import MultiDomainMiddleware\n")
    project.write("pretalx/common/middleware/domains.py", PRETALX_MIDDLEWARE)
    settings = (
        SETTINGS + 'ALLOWED_HOSTS = ["*"]  # We have our own security middleware to allow for custom event URLs\n'
        "MIDDLEWARE = [\n    'django.middleware.security.SecurityMiddleware',\n"
        "    'pretalx.common.middleware.MultiDomainMiddleware',\n]\n"
    )
    assert lint(project, "pretalx/settings.py", settings, "BL703") == set()
    unlisted = settings.replace("    'pretalx.common.middleware.MultiDomainMiddleware',\n", "")
    assert lint(project, "pretalx/settings.py", unlisted, "BL703") == {(3, "note")}
