"""BL2xx false-alarm patterns read in session 7 (kinto's config generator, batch-5 holdout), each
with its hard positive: ``# expect: BL2xx`` comments are the exact findings."""

from __future__ import annotations

from annotations import check_annotated


def _check(project, files: dict[str, str], *args: str) -> None:  # type: ignore[no-untyped-def]
    check_annotated(project, files, "BL2", *args)


KINTO_CONFIG = """
import logging
import os

from kinto.core import utils as core_utils

logger = logging.getLogger(__name__)

HERE = os.path.dirname(__file__)


def render_template(template, destination, **kwargs):
    template = os.path.join(HERE, template)
    folder = os.path.dirname(destination)
    if folder and not os.path.exists(folder):
        os.makedirs(folder)
    logger.info(f"Created config {os.path.abspath(destination)}")
    with open(template, "r", encoding="utf-8") as f:
        raw_template = f.read()
        rendered = raw_template.format_map(kwargs)
        with open(destination, "w+", encoding="utf-8") as output:
            output.write(rendered)


postgresql_url = "postgresql://postgres:postgres@localhost/postgres"

backend_to_values = {
    "postgresql": {
        "storage_backend": "kinto.core.storage.postgresql",
        "storage_url": postgresql_url,
    },
    "memory": {"storage_backend": "kinto.core.storage.memory", "storage_url": ""},
}

cache_backend_to_values = {
    "postgresql": {"cache_backend": "kinto.core.cache.postgresql", "cache_url": postgresql_url},
    "redis": {"cache_backend": "kinto.core.cache.redis", "cache_url": "redis://127.0.0.1/0"},
}


def init(config_file, backend, cache_backend, host="127.0.0.1"):
    values = {}
    values["host"] = host
    values["secret"] = core_utils.random_bytes_hex(32)
    values.update(backend_to_values[backend])
    values.update(cache_backend_to_values[cache_backend])
    render_template("kinto.tpl", config_file, **values)
"""


def test_a_local_default_written_into_a_generated_config_file(project) -> None:  # type: ignore[no-untyped-def]
    """kinto's ``kinto init`` writes the user's first configuration file: a module dict of values per
    backend (a local ``postgres:postgres@localhost`` URL among them) is merged into ``values`` and
    rendered by ``raw_template.format_map(kwargs)`` into the file it writes. The URL is text of the
    generated file, which its user edits; the app never connects with it. The same URL also given to
    a connection, a rendered text that is returned instead of written, and a remote host's password in
    the generator stay reported."""
    _check(
        project,
        {
            "kinto/config/__init__.py": KINTO_CONFIG,
            "app/config.py": """
            from sqlalchemy import create_engine

            TEMPLATE = "[app]\\nsqlalchemy.url = {db_url}\\n"
            DEV_URL = "postgresql://postgres:postgres@localhost/app"  # expect: BL203
            engine = create_engine(DEV_URL)


            def write_config(path):
                with open(path, "w") as out:
                    out.write(TEMPLATE.format(db_url=DEV_URL))
            """,
            "app/scaffold.py": """
            TEMPLATE = "[app]\\nsqlalchemy.url = {db_url}\\n"
            DEFAULTS = {"db_url": "postgresql://postgres:postgres@localhost/app"}  # expect: BL203


            def config_text():
                text = TEMPLATE.format(**DEFAULTS)
                return text
            """,
            "app/generate.py": """
            from pathlib import Path

            TEMPLATE = "[app]\\nsqlalchemy.url = {db_url}\\n"
            DEFAULTS = {"db_url": "postgresql://app:Xq7-prod-2024@db.prod.example.com/app"}  # expect: BL203
            LOCAL = {"db_url": "postgresql://postgres:postgres@localhost/app"}


            def generate(path, local):
                Path(path).write_text(TEMPLATE.format(**(LOCAL if local else DEFAULTS)))
            """,
        },
    )


def test_a_logged_authorization_header_in_every_spelling(project) -> None:  # type: ignore[no-untyped-def]
    """A logged Authorization header is BL304 (issue 15), however the framework spells it: werkzeug
    parses it into ``request.authorization`` (its text is the header, with a Basic password or a
    bearer token), Django keeps it in ``request.META["HTTP_AUTHORIZATION"]`` (the ``headers`` role,
    keyed by the CGI name). A whole body logged by an endpoint is reported when the endpoint's names
    speak of credentials (a login) or, now, when it reads a password field of it (a profile form with
    ``new_password``); a webhook's payload, another form, the user name of the parsed header, another
    META key and the uploaded files are no credential."""
    check_annotated(
        project,
        {
            "app/views.py": """
            import logging

            from flask import Flask, request

            app = Flask(__name__)
            logger = logging.getLogger(__name__)


            @app.route("/api/login", methods=["POST"])
            def login():
                logger.debug("auth: %s", request.authorization)  # expect: BL304
                logger.info("login attempt by %s", request.authorization.username)
                logger.debug("form: %s", request.form)  # expect: BL304
                logger.debug("json: %s", request.get_json())  # expect: BL304
                logger.debug("files: %s", request.files)
                return "ok"
            """,
            "shop/views.py": """
            import logging

            from django.http import JsonResponse

            logger = logging.getLogger(__name__)


            def webhook(request):
                logger.warning("bad signature, auth=%s", request.META.get("HTTP_AUTHORIZATION"))  # expect: BL304
                logger.info("token header %s", request.META["HTTP_X_API_KEY"])  # expect: BL304
                logger.info("from %s", request.META.get("REMOTE_ADDR"))
                logger.info("post %s", request.POST)
                return JsonResponse({})
            """,
            "app/profile.py": """
            import logging

            from flask import Blueprint, request
            from flask_login import current_user

            bp = Blueprint("profile", __name__)
            logger = logging.getLogger(__name__)


            @bp.route("/profile", methods=["POST"])
            def update_profile():
                logger.debug("profile form: %s", request.form)  # expect: BL304
                new = request.form.get("new_password")
                if new:
                    current_user.set_password(new)
                return "ok"


            @bp.route("/avatar", methods=["POST"])
            def update_avatar():
                logger.debug("avatar form: %s", request.form)
                current_user.avatar = request.form.get("url")
                return "ok"
            """,
        },
        "BL304",
    )


def test_the_alphabet_of_a_secret_generator(project) -> None:  # type: ignore[no-untyped-def]
    """byro writes its SECRET_KEY on first start with ``get_random_string(SECRET_LENGTH, SECRET_CHARS)``:
    ``SECRET_CHARS`` is the generator's character set (a ``not-secret`` word of secret-names, as
    ``length`` is), not a key. A literal key under a secret name stays reported."""
    _check(
        project,
        {
            "byro/common/settings/secret.py": """
            from django.utils.crypto import get_random_string

            SECRET_LENGTH = 50
            SECRET_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789!@#$%^&*(-_=+)"
            PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


            def generate_secret():
                return get_random_string(SECRET_LENGTH, SECRET_CHARS)
            """,
            "byro/settings.py": """
            SECRET_KEY = "k9#Xr2vQ7pLm4Tz8wq!Hb6"  # expect: BL202
            """,
        },
    )


def test_a_digest_put_into_the_callers_dict_for_a_remote_login(project) -> None:  # type: ignore[no-untyped-def]
    """pyload's account plugins log in to file hosters whose APIs want a digest of the password: the
    plugin's ``signin(self, user, password, data)`` puts ``md5(password)`` into ``data``, the caller's
    account data, and sends it. Nothing in the function stores it: a parameter dict that the function
    neither passes on whole nor returns. The same digest put into a parameter dict that is then
    inserted, or returned by a hash function (supysonic's ``__encrypt_password``), stays reported."""
    check_annotated(
        project,
        {
            "pyload/plugins/accounts/RapideoPl.py": """
            import hashlib
            import json

            from ..base.multi_account import MultiAccount


            class RapideoPl(MultiAccount):
                API_URL = "https://enc.rapideo.pl"

                def signin(self, user, password, data):
                    data["usr"] = user
                    data["pwd"] = hashlib.md5(password.encode()).hexdigest()
                    response = json.loads(self.load(self.API_URL, post={"login": user, "password": data["pwd"]}))
                    if "errno" in response:
                        self.fail_login()


            class TwojlimitPl(MultiAccount):
                def signin(self, user, password, data):
                    data["hash_password"] = hashlib.md5(password.encode()).hexdigest()
                    self.run_auth_query()
            """,
            "app/users.py": """
            import hashlib
            import random
            import string

            from app.db import db


            def register(data, password):
                data["password"] = hashlib.md5(password.encode()).hexdigest()  # expect: BL302
                db.users.insert_one(data)


            class UserManager:
                @staticmethod
                def __encrypt_password(password, salt=None):
                    if salt is None:
                        salt = "".join(random.choice(string.ascii_letters) for _ in range(6))
                    return (hashlib.sha1(salt.encode() + password.encode()).hexdigest(), salt)  # expect: BL302
            """,
        },
        "BL302",
    )


def test_a_helper_that_returns_a_slow_hash_whatever_its_name(project) -> None:  # type: ignore[no-untyped-def]
    """pyload's user database stores ``salt_pw = _salted_password(password, _gensalt())``: the helper
    derives with ``PBKDF2HMAC(..., iterations=100000).derive(...)`` and returns ``salt + dk.hex()``.
    A module function whose every return is a slow hash (a salt beside it included) yields a hash,
    whatever its name or the caller's local say. A helper that returns the password with a salt
    prepended, stored the same way, stays reported."""
    check_annotated(
        project,
        {
            "pyload/core/database/user_database.py": """
            import os

            from cryptography.hazmat.primitives import hashes
            from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC


            def _salted_password(password, salt):
                kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=bytes.fromhex(salt), iterations=100000)
                dk = kdf.derive(password.encode())
                return salt + dk.hex()


            def _gensalt():
                return os.urandom(16).hex()


            def _peppered_password(password, salt):
                return salt + password


            class UserDatabaseMethods:
                def add_user(self, username, password, role=0, perms=0):
                    salt_pw = _salted_password(password, _gensalt())
                    self.c.execute(
                        "INSERT INTO users (name, password, role, permission) VALUES (?, ?, ?, ?)",
                        (username, salt_pw, role, perms),
                    )

                def add_legacy_user(self, username, password):
                    salt_pw = _peppered_password(password, _gensalt())
                    self.c.execute(
                        "INSERT INTO users (name, password) VALUES (?, ?)",
                        (username, salt_pw),  # expect: BL301
                    )
            """,
        },
        "BL301",
    )


def test_analytics_tracking_ids_are_public(project) -> None:  # type: ignore[no-untyped-def]
    """allianceauth's data migrations seed (and look up) the row of its team's usage analytics:
    ``Tokens.objects.get(token="UA-…")``, ``token.token = "G-…"``. A Google Analytics tracking ID
    (``UA-<account>-<n>``) or measurement ID (``G-`` and ten characters) is in every tracked page: a
    ``public`` row of secret-patterns, so no rule takes it for a credential by its name. A real token
    under the same name stays reported."""
    _check(
        project,
        {
            "allianceauth/analytics/migrations/0002_add_team_token.py": """
            from django.db import migrations


            def add_aa_team_token(apps, schema_editor):
                Tokens = apps.get_model("analytics", "AnalyticsTokens")
                token = Tokens()
                token.type = "Google Analytics"
                token.token = "UA-186249766-2"
                token.save()
                ga4 = Tokens()
                ga4.token = "G-6LYSMYK8DE"
                ga4.save()


            def remove_aa_team_token(apps, schema_editor):
                Tokens = apps.get_model("analytics", "AnalyticsTokens")
                Tokens.objects.filter(token="UA-186249766-2").delete()


            class Migration(migrations.Migration):
                dependencies = [("analytics", "0001_initial")]
                operations = [migrations.RunPython(add_aa_team_token, remove_aa_team_token)]
            """,
            "allianceauth/services/bot.py": """
            BOT_TOKEN = "Xq7pLm4Tz8wKr2vB9nHc"  # expect: BL202
            """,
        },
    )


def test_a_password_set_only_for_docker_compose_development(project) -> None:  # type: ignore[no-untyped-def]
    """byro's settings read the database password from the config file; for docker-compose development
    ``if os.getenv("DEVELOPMENT"):`` overrides it with the compose file's. A credential assigned in the
    body of an ``if`` that tests a development or CI variable (a test-config word of secret-values) is
    the development setup's. The ``else`` of such a test, a negated test and a test of another variable
    are the deployment's and stay reported."""
    _check(
        project,
        {
            "byro/settings.py": """
            import os
            from configparser import RawConfigParser

            config = RawConfigParser()
            config.read(["/etc/byro/byro.cfg", os.path.expanduser("~/.byro.cfg"), "byro.cfg"], encoding="utf-8")

            DATABASES = {
                "default": {
                    "ENGINE": "django.db.backends.postgresql",
                    "NAME": config.get("database", "name"),
                    "USER": config.get("database", "user"),
                    "PASSWORD": config.get("database", "password"),
                    "HOST": config.get("database", "host"),
                }
            }

            # for docker-compose development
            if os.getenv("DEVELOPMENT"):
                DATABASES["default"]["USER"] = "byro"
                DATABASES["default"]["HOST"] = "db"
                DATABASES["default"]["PASSWORD"] = "byro"

            if "CI" in os.environ:
                SECRET_KEY = "ci-only-Xq7pLm4Tz8wK"
            else:
                SECRET_KEY = "k9#Xr2vQ7pLm4Tz8wq!Hb6"  # expect: BL202

            if not os.getenv("DEVELOPMENT"):
                EMAIL_HOST_PASSWORD = "Xq7-mail-2024!"  # expect: BL202

            if os.getenv("USE_SENTRY"):
                SENTRY_SECRET = "Xq7pLm4Tz8wKr2vB9nHc"  # expect: BL202
            """,
        },
    )


def test_a_hash_only_checked_against_to_even_out_timing(project) -> None:  # type: ignore[no-untyped-def]
    """ralph hashes a literal once, ``UNUSED_PASSWORD = bcrypt.hashpw(b"ralph", bcrypt.gensalt())``, and
    checks the given password against it when the user is unknown, so that a failed login costs a
    bcrypt check too. A hash whose name is only ever given to a password check (the verify rows of
    password-stores) and never stored authenticates nobody. A literal hashed for an account that is
    also stored stays reported."""
    _check(
        project,
        {
            "ralph/api/auth/basic.py": """
            import bcrypt
            from fastapi import HTTPException, status

            # Unused password used to avoid timing attacks.
            UNUSED_PASSWORD = bcrypt.hashpw(b"ralph", bcrypt.gensalt())


            def get_basic_auth_user(credentials, users):
                hashed_password = users.get(credentials.username)
                if not hashed_password:
                    bcrypt.checkpw(credentials.password.encode("utf-8"), UNUSED_PASSWORD)
                    raise HTTPException(status_code=status.HTTP_401_UNAUTHORIZED)
                if not bcrypt.checkpw(credentials.password.encode("utf-8"), hashed_password.encode("utf-8")):
                    raise HTTPException(status_code=status.HTTP_401_UNAUTHORIZED)
                return credentials.username
            """,
            "ralph/setup_admin.py": """
            import bcrypt

            ADMIN_HASH = bcrypt.hashpw(b"Adm1n-2024!", bcrypt.gensalt())  # expect: BL202


            def ensure_admin(db, given):
                db.execute("INSERT INTO users (name, hash) VALUES (?, ?)", ("admin", ADMIN_HASH))
                return bcrypt.checkpw(given, ADMIN_HASH)
            """,
        },
    )


def test_an_archive_password_kept_for_use_is_no_account(project) -> None:  # type: ignore[no-untyped-def]
    """pyload stores each download package's archive password (``UPDATE packages SET name=?,folder=?,
    site=?,password=?,queue=?``): the extractor reads it back to unpack the files, so it must be kept
    usable, and the record is no account. An INSERT/UPDATE whose table and other columns name no
    account (credential-context, login-field and account-noun words of password-names) writes a secret
    kept for use. The same plaintext password written into ``users`` or ``members`` stays reported."""
    check_annotated(
        project,
        {
            "pyload/core/database/file_database.py": """
            class FileMethods:
                def update_package(self, p):
                    self.c.execute(
                        "UPDATE packages SET name=?,folder=?,site=?,password=?,queue=? WHERE id=?",
                        (p.name, p.folder, p.site, p.password, p.queue, str(p.id)),
                    )

                def add_package(self, name, folder, queue, password):
                    self.c.execute(
                        "INSERT INTO packages(name, folder, queue, password) VALUES(?,?,?,?)",
                        (name, folder, queue, password),
                    )
            """,
            "pyload/core/database/user_database.py": """
            class UserMethods:
                def set_password(self, name, password):
                    self.c.execute("UPDATE users SET password=? WHERE name=?", (password, name))  # expect: BL301

                def add_member(self, name, password):
                    self.c.execute(
                        "INSERT INTO members (name, pw) VALUES (?, ?)", (name, password)  # expect: BL301
                    )
            """,
        },
        "BL301",
    )
