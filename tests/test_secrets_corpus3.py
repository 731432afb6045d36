"""BL2xx false-alarm patterns of the corpus holdout batches 1 and 2 (read since: benchmarks/corpus/
triage/holdout.toml), each with its hard positive: ``# expect: BL2xx`` comments are the exact findings."""

from __future__ import annotations

from annotations import check_annotated

from backlint.core.catalog import load_catalog
from backlint.core.config import DEFAULT_TEST_PATHS
from backlint.core.results import FileKind
from backlint.pipeline.filekind import RolePaths, classify


def test_an_api_documentation_example_is_no_credential(project) -> None:  # type: ignore[no-untyped-def]
    """label-studio: drf-spectacular's ``OpenApiExample(value={...})`` in an ``extend_schema``
    decorator is the sample response the generated API documentation shows (with the project's
    ``task_data_password``); pydantic's ``Field(example=...)`` and ``json_schema_extra`` too. The same
    dict as the view's own data is reported."""
    check_annotated(
        project,
        {
            "app/projects/api.py": """
            from django.utils.decorators import method_decorator
            from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
            from rest_framework import generics

            from app.projects.serializers import ProjectSerializer


            @method_decorator(
                name="get",
                decorator=extend_schema(
                    tags=["Projects"],
                    responses={
                        "200": OpenApiResponse(
                            response=ProjectSerializer,
                            examples=[
                                OpenApiExample(
                                    name="response",
                                    value={
                                        "id": 1,
                                        "title": "My project",
                                        "task_data_login": "user",
                                        "task_data_password": "secret",
                                    },
                                )
                            ],
                        )
                    },
                ),
            )
            class ProjectAPI(generics.RetrieveUpdateDestroyAPIView):
                serializer_class = ProjectSerializer

                def get_defaults(self):
                    return {"task_data_login": "user", "task_data_password": "s3cr3t-Pa55"}  # expect: BL202
            """,
            "app/schemas.py": """
            from pydantic import BaseModel, ConfigDict, Field


            class StorageIn(BaseModel):
                url: str = Field(example="postgresql://reader:Xq7r2LmP@db.example.org/sales")
                password: str = Field(..., example="hunter2-Xq7r")

                model_config = ConfigDict(
                    json_schema_extra={"examples": [{"url": "s3://bucket", "password": "Xq7r2LmP9z"}]}
                )


            class LegacyStorageIn(BaseModel):
                password: str

                class Config:
                    schema_extra = {"example": {"password": "Xq7r2LmP9z"}}


            DEFAULT_STORAGE = {"url": "s3://bucket", "password": "Xq7r2LmP9z"}  # expect: BL202
            """,
        },
        "BL20",
    )


HSM_TRY_OUT = """
import logging

log = logging.getLogger(__name__)


class AESHardwareSecurityModule:
    def __init__(self, config):
        self.password = config.get("password")

    def setup_module(self, params):
        self.password = params["password"]


if __name__ == "__main__":  # pragma: no cover
    logging.basicConfig()
    module = "/usr/local/opt/pkcs11/lib/pkcs11-token.so"
    p = AESHardwareSecurityModule({"module": module, "slot": 2, "password": "12345678"}){weak}
    p.setup_module({{"password": "12345678"}}){weak}
    p.setup_module({{"api_key": "9f8Kq2LmZx7Rt4VbN1cYw3Ps6Hd0Ju5E"}})  # expect: BL202
"""


def test_a_package_modules_main_block_is_a_manual_try_out(project) -> None:  # type: ignore[no-untyped-def]
    """privacyidea: an HSM module's ``if __name__ == "__main__":`` self-test passes the device PIN
    "12345678" (its nosec comments sit on other lines). In a package module (role production) the
    block is a developer's manual try-out; a random-looking key there may be real and stays reported,
    and a script (a module at the project's top, run by an operator) keeps every finding."""
    check_annotated(
        project,
        {
            "app/security/aeshsm.py": HSM_TRY_OUT.replace("{weak}", "").replace("{{", "{").replace("}}", "}"),
            "hsm_setup.py": HSM_TRY_OUT.replace("{weak}", "  # expect: BL202").replace("{{", "{").replace("}}", "}"),
        },
        "BL202",
    )


AUTH_HELPER = """
def get_user_headers(user: str, password: str = "secret") -> dict:
    credentials = f"{user}:{password}"
    return {"Authorization": f"Basic {credentials}"}
"""

TESTING_HELPER = (
    """
import unittest

import webtest
"""
    + AUTH_HELPER
    + """

class BaseWebTest(unittest.TestCase):
    def setUp(self):
        self.app = webtest.TestApp(self.make_app())
        self.headers = get_user_headers("mat")
"""
)

DOCKER_FIXTURE = """
import docker


def postgres_container(socket_dir):
    client = docker.from_env()
    client.containers.run("postgres:16", detach=True)
    yield f"postgresql://postgres:postgres@/test?host={socket_dir}"
"""


def test_test_support_modules_shipped_in_the_package_are_test_code() -> None:
    """kinto's ``kinto/core/testing.py`` (its test base class and a Basic Auth helper whose default
    password is "secret") and indico's ``indico/testing/fixtures/database_docker.py`` (the URL of a
    throwaway Docker database): Python names test support ``testing`` (django.test, flask.testing,
    pyramid.testing). A module named for something else stays production."""
    knowledge = load_catalog().knowledge
    paths = RolePaths(test_paths=DEFAULT_TEST_PATHS)
    assert classify("kinto/core/testing.py", TESTING_HELPER, paths, knowledge) is FileKind.TEST
    assert classify("indico/testing/fixtures/database_docker.py", DOCKER_FIXTURE, paths, knowledge) is FileKind.TEST
    assert classify("app/pytest_plugin.py", "import pytest\n", paths, knowledge) is FileKind.TEST
    assert classify("kinto/core/authentication.py", AUTH_HELPER, paths, knowledge) is FileKind.PRODUCTION


def test_no_secret_finding_in_test_support_modules(project) -> None:  # type: ignore[no-untyped-def]
    check_annotated(
        project,
        {
            "app/core/testing.py": TESTING_HELPER,
            "app/testing/fixtures/database_docker.py": DOCKER_FIXTURE,
            "app/core/helpers.py": AUTH_HELPER.replace(
                'password: str = "secret") -> dict:', 'password: str = "secret") -> dict:  # expect: BL202'
            ),
        },
        "BL20",
    )


def test_a_demo_project_builder_creates_the_documented_demo_account(project) -> None:  # type: ignore[no-untyped-def]
    """ihatemoney: ``Project.create_demo_project`` builds the public demo project whose documented
    password is "demo" (a demo word and the app's unit of data, a project). A project created with a
    literal password anywhere else is reported."""
    check_annotated(
        project,
        {
            "app/models.py": """
            from werkzeug.security import generate_password_hash

            from app.db import db


            class Project(db.Model):
                @staticmethod
                def create_demo_project():
                    project = Project(id="demo", name="demonstration", password=generate_password_hash("demo"))
                    db.session.add(project)
                    db.session.commit()

                @staticmethod
                def create_default_project():
                    hashed = generate_password_hash("main-Pa55")  # expect: BL202
                    project = Project(id="main", name="main", password=hashed)
                    db.session.add(project)
            """,
        },
        "BL202",
    )


def test_a_default_the_app_checks_for_at_startup_is_no_hardcoded_secret(project) -> None:  # type: ignore[no-untyped-def]
    """ihatemoney: ``default_settings.SECRET_KEY = "tralala"`` and ``run.py`` warns when the configured
    key still equals ``default_settings.SECRET_KEY``. argilla: ``constants.DEFAULT_PASSWORD`` is the
    opt-in default account's password, and startup warns while ``verify_password(DEFAULT_PASSWORD,
    user.password_hash)`` holds. A constant compared with what a request sends, or checked nowhere,
    is reported."""
    check_annotated(
        project,
        {
            "app/__init__.py": "",
            "app/default_settings.py": """
            DEBUG = False
            SQLALCHEMY_DATABASE_URI = "sqlite:////tmp/app.db"
            SECRET_KEY = "tralala"
            ADMIN_PASSWORD = "Adm1n-2024"  # expect: BL202
            """,
            "app/run.py": """
            import warnings

            from flask import Flask

            from app import default_settings


            def validate_configuration(app):
                if app.config["SECRET_KEY"] == default_settings.SECRET_KEY:
                    warnings.warn(
                        "Running a server without changing the SECRET_KEY can lead to user impersonation.",
                        UserWarning,
                    )


            def create_app():
                app = Flask(__name__)
                app.config.from_object("app.default_settings")
                validate_configuration(app)
                return app
            """,
            "app/constants.py": """
            API_KEY_HEADER_NAME = "X-App-Api-Key"
            DEFAULT_USERNAME = "admin"
            DEFAULT_PASSWORD = "1234"
            SERVICE_API_KEY = "k3y-9f8Kq2LmZ"  # expect: BL202
            """,
            "app/startup.py": """
            import logging

            from flask import abort, request

            from app.accounts import verify_password
            from app.constants import DEFAULT_PASSWORD, DEFAULT_USERNAME, SERVICE_API_KEY
            from app.models import User

            log = logging.getLogger(__name__)


            def warn_default_credentials(db):
                user = User.get_by(db, username=DEFAULT_USERNAME)
                if user and verify_password(DEFAULT_PASSWORD, user.password_hash):
                    log.warning("User %r still has the default credentials: change them", DEFAULT_USERNAME)


            def require_service_key():
                if request.headers["X-App-Api-Key"] != SERVICE_API_KEY:
                    abort(401)
            """,
        },
        "BL202",
    )


def test_a_placeholder_key_presented_to_a_library_client(project) -> None:  # type: ignore[no-untyped-def]
    """arize-phoenix: with no configured key and a custom base URL, the playground gives the OpenAI
    client ``"sk-placeholder"`` (OpenAI-compatible servers that need no key), and Ollama's documented
    dummy key ``"ollama"``: a placeholder presented to another service, which refuses or ignores it.
    The same placeholder as the app's own signing key, or given to a function of the module, is
    reported."""
    check_annotated(
        project,
        {
            "app/playground.py": """
            from os import getenv

            import jwt
            from openai import AsyncOpenAI

            from app.errors import BadRequest


            def openai_client(api_key, base_url, headers):
                base_url = base_url or getenv("OPENAI_BASE_URL")
                if not api_key:
                    if not base_url:
                        raise BadRequest("An API key is required for OpenAI models.")
                    api_key = "sk-placeholder"  # Some OpenAI-compatible APIs don't need a key

                def create_openai_client() -> AsyncOpenAI:
                    return AsyncOpenAI(api_key=api_key, base_url=base_url, default_headers=headers, timeout=30)

                return create_openai_client


            def ollama_client(base_url, headers):
                return AsyncOpenAI(api_key="ollama", base_url=base_url, default_headers=headers)


            def session_token(payload, secret_key=None):
                if not secret_key:
                    secret_key = "changeme"  # expect: BL202
                return jwt.encode(payload, secret_key, algorithm="HS256")


            def check_key(api_key):
                if not api_key:
                    api_key = "sk-placeholder"  # expect: BL202
                return _known(api_key)


            def _known(api_key):
                return api_key in {"k1", "k2"}
            """,
        },
        "BL202",
    )


def test_a_hashing_backend_checked_at_import_is_no_password(project) -> None:  # type: ignore[no-untyped-def]
    """octoprint: at import, ``argon2.hash("test")`` then ``assert argon2.verify("test", hash)`` checks
    that the backend works before it is used. A literal hashed and never checked is reported."""
    check_annotated(
        project,
        {
            "app/access/users.py": """
            import logging

            from passlib.hash import pbkdf2_sha256

            password_hashers = []

            try:
                from passlib.hash import argon2

                # test if we can actually hash and verify, if not we won't use this backend
                hash = argon2.hash("test")
                assert argon2.verify("test", hash)
                password_hashers.append(argon2)
            except Exception:
                logging.getLogger(__name__).warning("Argon2 passlib backend is not available")

            password_hashers.append(pbkdf2_sha256)


            def create_admin(store):
                store.add_user("admin", pbkdf2_sha256.hash("Adm1n-2024"), roles=["admin"])  # expect: BL202
            """,
        },
        "BL202",
    )
