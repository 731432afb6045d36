"""The unsafe fixes of the secret and deployment-switch rules (BL202, BL203, BL204, BL701, BL803).

Each test goes through the CLI: ``--fix --unsafe-fixes`` rewrites the file to exactly the expected
text, a second run changes nothing, and where a precondition fails the finding is still reported,
without a fix.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path
from typing import Any

RULES = "BL202,BL203,BL204,BL701,BL803"


def _code(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def _findings(project: Any, *args: str) -> list[dict[str, Any]]:
    result = project.lint("app", "--select", RULES, "--no-cache", "--unsafe-fixes", "--format", "json", *args)
    assert result.exit_code in (0, 1), result.stderr
    return result.json()["findings"]  # type: ignore[no-any-return]


def _fix(project: Any, relative: str, before: str, fixed: int) -> str:
    """Fix the file; check the count, that it parses, and that a second run has nothing to do."""
    path: Path = project.write(relative, before)
    result = project.lint("app", "--select", RULES, "--no-cache", "--fix", "--unsafe-fixes")
    assert f"fixed {fixed} finding" in result.stderr, result.stderr
    after = path.read_text("utf-8")
    ast.parse(after)
    again = project.lint("app", "--select", RULES, "--no-cache", "--diff", "--unsafe-fixes")
    assert (again.exit_code, again.stdout) == (0, ""), again.stdout
    return after


def test_module_level_secrets_come_from_the_environment(project) -> None:  # type: ignore[no-untyped-def]
    before = _code(
        '''
        """Configuration of the billing service."""
        from __future__ import annotations

        import stripe  # payments
        from flask import Flask

        app = Flask(__name__)
        # Signing key for sessions.
        app.config["JWT_SECRET_KEY"] = "f3a9c1e77b2d4a5f9e0c"  # the dev key
        stripe.api_key = "sk_zz_9f8a7b6c5d4e3f2a1b0c"
        dbPassword: str = (
            "Xk9#mP2$"
            "qL7w"
        )
        BROKER_URL = "amqp://billing:Pr0dBr0kerPw@mq.billing.internal:5672/"
        '''
    )
    project.write("app/config.py", before)
    findings = _findings(project)
    fixes = [f["fix"] for f in findings]
    assert [f["rule_id"] for f in findings] == ["BL202", "BL202", "BL202", "BL203"]
    assert all(fix["safety"] == "unsafe" and "rotate the secret" in fix["description"] for fix in fixes)
    assert not any(secret in str(fixes) for secret in ("f3a9c1e7", "sk_zz", "Xk9#", "Pr0dBr0kerPw"))

    after = _fix(project, "app/config.py", before, 4)
    assert after == _code(
        '''
        """Configuration of the billing service."""
        from __future__ import annotations

        import stripe  # payments
        from flask import Flask
        import os

        app = Flask(__name__)
        # Signing key for sessions.
        app.config["JWT_SECRET_KEY"] = os.environ["JWT_SECRET_KEY"]  # the dev key
        stripe.api_key = os.environ["STRIPE_API_KEY"]
        dbPassword: str = (
            os.environ["DB_PASSWORD"]
        )
        BROKER_URL = os.environ["BROKER_URL"]
        '''
    )


def test_the_module_s_own_os_import_is_used(project) -> None:  # type: ignore[no-untyped-def]
    before = _code(
        """
        from os import environ
        SECRET_KEY = "09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7"
        """
    )
    after = _fix(project, "app/settings.py", before, 1)
    assert after == 'from os import environ\nSECRET_KEY = environ["SECRET_KEY"]\n'
    after = _fix(project, "app/settings.py", 'import os as _os\nAPI_SECRET = "q8Zt3vXh0Wm9Lr2Kd7Pf"\n', 1)
    assert after == 'import os as _os\nAPI_SECRET = _os.environ["API_SECRET"]\n'
    # An `import os` below the assignment has not run yet when it executes.
    after = _fix(project, "app/settings.py", 'API_SECRET = "q8Zt3vXh0Wm9Lr2Kd7Pf"\nimport os\n', 1)
    assert after == 'import os\n\nAPI_SECRET = os.environ["API_SECRET"]\nimport os\n'


def test_import_os_goes_after_the_docstring_or_the_header_comments(project) -> None:  # type: ignore[no-untyped-def]
    docstring = '"""Keys."""\r\n\r\nSECRET_KEY = "09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7"\r\n'
    path = project.write("app/keys.py", "")
    path.write_bytes(docstring.encode())
    project.write("app/header.py", '#!/usr/bin/env python\n# Deploy keys.\nAPI_SECRET = "q8Zt3vXh0Wm9Lr2Kd7Pf"\n')
    result = project.lint("app", "--select", RULES, "--no-cache", "--fix", "--unsafe-fixes")
    assert "fixed 2 findings in 2 files" in result.stderr, result.stderr
    assert path.read_bytes() == b'"""Keys."""\r\nimport os\r\n\r\nSECRET_KEY = os.environ["SECRET_KEY"]\r\n'
    assert (project.root / "app/header.py").read_text("utf-8") == (
        '#!/usr/bin/env python\n# Deploy keys.\nimport os\n\nAPI_SECRET = os.environ["API_SECRET"]\n'
    )


def test_secrets_without_an_obvious_variable_name_are_not_fixed(project) -> None:  # type: ignore[no-untyped-def]
    code = _code(
        """
        import posixpath as os

        import psycopg2

        DB_HOST = "db.internal"
        A_SECRET = B_SECRET = "q8Zt3vXh0Wm9Lr2Kd7Pf"
        SERVICE_TOKEN = "Zt3vXh0Wm9Lr2Kd7Pfq8"
        DATABASES = {"default": {"PASSWORD": "Pr0dDbPassw0rd!"}}
        engine_url = f"postgresql://app:Pr0dDbPassw0rd@{DB_HOST}/app"


        class Config:
            SECRET_KEY = "09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7"


        def connect():
            signing_key = "Lr2Kd7Pfq8Zt3vXh0Wm9"
            return psycopg2.connect(host="db", password="s3cr3t!Pw", options=signing_key)
        """
    )
    project.write("app/config.py", code)
    findings = _findings(project)
    assert [(f["rule_id"], f["line"]) for f in findings] == [
        ("BL202", 6),  # two targets
        ("BL202", 7),  # `os` is posixpath: `os.environ` is wrong, and `import os` would shadow it
        ("BL202", 8),  # a dict literal
        ("BL203", 9),  # an f-string: the URL is built from other values too
        ("BL202", 13),  # a class body
        ("BL202", 17),  # a function
        ("BL202", 18),  # a keyword argument
    ]
    assert not [f for f in findings if "fix" in f]
    result = project.lint("app", "--select", RULES, "--no-cache", "--fix", "--unsafe-fixes")
    assert result.exit_code == 1 and "fixed" not in result.stderr
    assert (project.root / "app/config.py").read_text("utf-8") == code


def test_env_fallbacks_become_required_variables(project) -> None:  # type: ignore[no-untyped-def]
    before = _code(
        """
        import os
        from os import getenv

        from pydantic import Field, SecretStr
        from pydantic_settings import BaseSettings

        JWT_SECRET = os.getenv("JWT_SECRET", "supersecretkey")
        SESSION_SECRET = os.environ.get("SESSION_SECRET") or "dev-session-secret-change-me"
        API_TOKEN = getenv("API_TOKEN", default="tok-3vXh0Wm9Lr2Kd7Pf")


        def database_url():
            return os.environ.get("DATABASE_URL", "postgresql://app:app-dev-pw@localhost/app")


        class Settings(BaseSettings):
            secret_key: str = "dev-secret-change-me"  # overridden in production
            stripe_api_key: str = Field(default="rk_1234_local_only")
            webhook_secret: SecretStr = Field("9Lr2Kd7Pfq8Zt3vXh0Wm", description="Stripe webhook signing secret")
            admin_password: str = Field(
                description="first admin",
                default="Adm1n-Passw0rd",
            )
        """
    )
    after = _fix(project, "app/config.py", before, 8)
    assert after == _code(
        """
        import os
        from os import getenv

        from pydantic import Field, SecretStr
        from pydantic_settings import BaseSettings

        JWT_SECRET = os.environ["JWT_SECRET"]
        SESSION_SECRET = os.environ["SESSION_SECRET"]
        API_TOKEN = os.environ["API_TOKEN"]


        def database_url():
            return os.environ["DATABASE_URL"]


        class Settings(BaseSettings):
            secret_key: str  # overridden in production
            stripe_api_key: str
            webhook_secret: SecretStr = Field(description="Stripe webhook signing secret")
            admin_password: str = Field(
                description="first admin",
            )
        """
    )


def test_env_fallbacks_that_are_not_fixed(project) -> None:  # type: ignore[no-untyped-def]
    code = _code(
        """
        import os

        from decouple import config
        from pydantic_settings import BaseSettings

        SECRET_KEY = config("SECRET_KEY", default="dev-secret-change-me")
        os.environ.setdefault("JWT_SECRET", "supersecretkey")
        API_TOKEN = os.getenv(
            "API_TOKEN",  # issued by the payment provider
            "tok-3vXh0Wm9Lr2Kd7Pf",
        )


        class Settings(BaseSettings):
            secret_key = "dev-secret-change-me"
        """
    )
    project.write("app/config.py", code)
    findings = _findings(project)
    assert [(f["rule_id"], f["line"], "fix" in f) for f in findings] == [
        ("BL204", 6, False),  # python-decouple: no catalog fix
        ("BL204", 7, False),  # setdefault sets the variable: not a lookup to require
        ("BL204", 10, False),  # the comment inside the call would be lost
        ("BL204", 15, False),  # not annotated: without its value it is no field
    ]


def test_debug_switches_are_turned_off(project) -> None:  # type: ignore[no-untyped-def]
    before = _code(
        """
        from fastapi import FastAPI
        from flask import Flask
        from werkzeug.debug import DebuggedApplication

        api = FastAPI(title="orders", debug=True)
        app = Flask(__name__)
        app.config.update(DEBUG=True, TESTING=False)
        debugged = DebuggedApplication(app, evalex=True)
        VERBOSE = True

        if __name__ == "__main__":
            app.run(host="0.0.0.0", debug=True)  # local runs
            app.run(debug=VERBOSE)
        """
    )
    # The image runs the module: its main guard's runs are deployed (BL701 judges them with the deployment).
    project.write("Dockerfile", 'FROM python:3.12\nCOPY . /srv\nCMD ["python", "app/main.py"]\n')
    after = _fix(project, "app/main.py", before, 4)
    assert after == _code(
        """
        from fastapi import FastAPI
        from flask import Flask
        from werkzeug.debug import DebuggedApplication

        api = FastAPI(title="orders", debug=False)
        app = Flask(__name__)
        app.config.update(DEBUG=False, TESTING=False)
        debugged = DebuggedApplication(app, evalex=False)
        VERBOSE = True

        if __name__ == "__main__":
            app.run(host="0.0.0.0", debug=False)  # local runs
            app.run(debug=VERBOSE)
        """
    )
    left = _findings(project)
    assert [(f["rule_id"], f["line"], "fix" in f) for f in left] == [("BL701", 13, False)]  # a variable


def test_django_debug_is_driven_by_the_environment(project) -> None:  # type: ignore[no-untyped-def]
    before = _code(
        """
        # Settings for production.
        from pathlib import Path

        BASE_DIR = Path(__file__).resolve().parent.parent
        DEBUG = True
        ALLOWED_HOSTS = ["shop.example.com"]
        ROOT_URLCONF = "shop.urls"
        """
    )
    after = _fix(project, "app/settings/production.py", before, 1)
    assert after == _code(
        """
        # Settings for production.
        from pathlib import Path
        import os

        BASE_DIR = Path(__file__).resolve().parent.parent
        DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
        ALLOWED_HOSTS = ["shop.example.com"]
        ROOT_URLCONF = "shop.urls"
        """
    )
    staging = 'import environ\n\nenv = environ.Env()\nDEBUG = env.bool("DEBUG", default=True)\n'
    project.write("app/settings/staging.py", staging)  # a truthy default: the right change is a design choice
    findings = _findings(project)
    assert [(f["rule_id"], f["path"], "fix" in f) for f in findings] == [("BL701", "app/settings/staging.py", False)]


def test_jwt_signature_verification_is_turned_back_on(project) -> None:  # type: ignore[no-untyped-def]
    before = _code(
        """
        import jwt

        PUBLIC_KEY = open("public.pem").read()
        OPTIONS = {"verify_signature": False}


        def current_user(token):
            claims = jwt.decode(token, PUBLIC_KEY, algorithms=["RS256"], options={"verify_signature": False})
            return claims["sub"]


        def with_keywords(token):
            return jwt.decode(
                jwt=token, key=PUBLIC_KEY, options={"verify_exp": True, "verify_signature": False}, algorithms=["RS256"]
            )["sub"]


        def without_key(token):
            return jwt.decode(token, options={"verify_signature": False})["sub"]


        def shared_options(token):
            return jwt.decode(token, PUBLIC_KEY, algorithms=["RS256"], options=OPTIONS)["sub"]
        """
    )
    after = _fix(project, "app/auth.py", before, 2)
    assert after == before.replace(
        'algorithms=["RS256"], options={"verify_signature": False})',
        'algorithms=["RS256"], options={"verify_signature": True})',
    ).replace('"verify_exp": True, "verify_signature": False}', '"verify_exp": True, "verify_signature": True}')
    left = _findings(project)
    assert [(f["rule_id"], f["line"], "fix" in f) for f in left] == [("BL803", 19, False), ("BL803", 23, False)]


def test_a_tokenizer_regex_is_no_secret_to_move(project) -> None:  # type: ignore[no-untyped-def]
    """Pygments' jsonnet lexer: ``jsonnet_token = r'[^\\W\\d]\\w*'`` was offered ``os.environ["JSONNET_TOKEN"]``."""
    project.write("app/lexer.py", "jsonnet_token = r'[^\\W\\d]\\w*'\nfunction_token = jsonnet_token + r'(?=\\()'\n")
    assert _findings(project) == []
