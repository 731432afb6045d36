"""BL2xx false-alarm patterns of corpus batches 1-3 left at the fourth session (lemur, superdesk-core,
kinto, arize-phoenix, privacyidea, octoprint), each with its hard positive: ``# expect: BL2xx``
comments are the exact findings."""

from __future__ import annotations

from annotations import check_annotated


def _check(project, files: dict[str, str], *args: str) -> None:  # type: ignore[no-untyped-def]
    check_annotated(project, files, "BL2", *args)


def test_a_local_database_url_outside_production_code(project) -> None:  # type: ignore[no-untyped-def]
    """lemur's Alembic ``migrations/env.py`` falls back to ``postgresql://lemur:lemur@localhost:5432/lemur``
    when the app's configuration has no URL: a migration (or a script, dev tooling, seed data) runs
    on a developer's or operator's machine, where a local database's password opens nothing else.
    BL203 keeps local hosts in production code only (``applies-to-facets``); a remote host's
    password is reported in every role, and a local one in production code."""
    _check(
        project,
        {
            "lemur/migrations/env.py": """
            from alembic import context
            from flask import current_app

            config = context.config
            db_url_escaped = current_app.config.get(
                "SQLALCHEMY_DATABASE_URI", "postgresql://lemur:lemur@localhost:5432/lemur"
            ).replace("%", "%%")
            config.set_main_option("sqlalchemy.url", db_url_escaped)
            REPLICA = "postgresql://lemur:Xq7-lemur-2024@db.prod.example.com:5432/lemur"  # expect: BL203
            """,
            "scripts/reset_db.py": """
            import sys

            from sqlalchemy import create_engine

            engine = create_engine("postgresql://postgres:postgres@localhost/lemur")
            if __name__ == "__main__":
                engine.connect().execute(sys.argv[1])
            """,
            "lemur/database.py": """
            from sqlalchemy import create_engine

            engine = create_engine("postgresql://lemur:lemur@localhost:5432/lemur")  # expect: BL203
            """,
        },
    )


def test_a_connection_string_with_placeholder_credentials(project) -> None:  # type: ignore[no-untyped-def]
    """superdesk-core's settings: the default ODBC test connection string is
    ``DRIVER=FreeTDS;DSN=NEWSDB;UID=???;PWD=???;DATABASE=News``: question marks stand where the
    operator fills in the values, as ``***`` or ``<password>`` do. A written password is reported."""
    _check(
        project,
        {
            "superdesk/default_settings.py": """
            import os


            def env(variable, fallback_value=None):
                value = os.environ.get(variable)
                return fallback_value if value is None else value


            ODBC_TEST_CONNECTION_STRING = env(
                "ODBC_TEST_CONNECTION_STRING", "DRIVER=FreeTDS;DSN=NEWSDB;UID=???;PWD=???;DATABASE=News"
            )
            BROKER_URL = "amqp://guest:???@rabbit.internal:5672//"
            ARCHIVE = "DRIVER=FreeTDS;SERVER=sql.example.com;UID=news;PWD=N3ws-Pr0d!;DATABASE=News"  # expect: BL203
            """,
        },
    )


def test_a_salt_passed_to_a_key_derivation_is_public(project) -> None:  # type: ignore[no-untyped-def]
    """arize-phoenix derives its database encryption key from ``PHOENIX_SECRET`` with PBKDF2 and a
    fixed, documented salt (``_ENCRYPTION_KEY_DERIVATION_SALT``): the secret is the environment's
    value; a salt is public by design (domain separation), whatever words its name holds. A constant
    used only as the ``salt=`` (``nonce=``, ``iv=``) argument of a call is not reported; one also
    used as a key is."""
    _check(
        project,
        {
            "phoenix/server/encryption.py": """
            import base64

            from cryptography.hazmat.primitives import hashes
            from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

            # Salt for key derivation (public, hardcoded)
            _ENCRYPTION_KEY_DERIVATION_SALT = b"phoenix-database-encryption-a5d354120d50240ac80b74f56d09b363"
            SIGNING_KEY_SALT = "Zk4-signing-salt-7Qp2"  # expect: BL202


            def fernet_key(secret: str) -> bytes:
                kdf = PBKDF2HMAC(
                    algorithm=hashes.SHA256(),
                    length=32,
                    salt=_ENCRYPTION_KEY_DERIVATION_SALT,
                    iterations=600_000,
                )
                return base64.urlsafe_b64encode(kdf.derive(secret.encode("utf-8")))


            def signing_key(secret: str) -> bytes:
                kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=SIGNING_KEY_SALT, iterations=600_000)
                return kdf.derive(SIGNING_KEY_SALT.encode() + secret.encode())
            """,
        },
    )


def test_the_password_of_a_test_login(project) -> None:  # type: ignore[no-untyped-def]
    """privacyidea's HTTP resolver validates its request templates with a test user's name and the
    password ``"test"`` (``{"username": test_username, "password": "test"}``): a record whose login
    is a test or demo account holds that account's sample password. An admin's or a named user's
    password stays reported."""
    _check(
        project,
        {
            "privacyidea/lib/resolvers/HTTPResolver.py": """
            class RequestConfig:
                def __init__(self, config, headers, tags=None):
                    self.config = config
                    self.tags = tags or {}


            class HTTPResolver:
                @classmethod
                def testconnection(cls, param: dict):
                    test_username = param.get("test_username")
                    RequestConfig(param.get("user_auth"), {}, {"username": test_username, "password": "test"})
                    admin = {"username": "admin", "password": "Adm1n-2024!"}  # expect: BL202
                    RequestConfig(param.get("user_auth"), {}, admin)
                    return True, "ok"
            """,
        },
    )


def test_a_default_password_the_app_refuses(project) -> None:  # type: ignore[no-untyped-def]
    """mlflow's auth server keeps the admin password older versions shipped
    (``_LEGACY_DEFAULT_ADMIN_PASSWORD``) only to refuse it: ``if password == _LEGACY_...: raise``
    when bootstrapping the admin. A default constant the app raises on when it is given is a
    deny-list entry, not a credential. A constant whose mismatch raises (``if key != API_KEY: raise``)
    is the credential an authentication checks, and stays reported. (Its value also shares
    ``-default-`` with the name of the guards' fact, which the file's secret masking once cut.)"""
    _check(
        project,
        {
            "mlflow/server/auth/__init__.py": """
            from mlflow.exceptions import MlflowException

            # The admin credentials that earlier versions shipped in basic_auth.ini.
            _LEGACY_DEFAULT_ADMIN_USERNAME = "admin"
            _LEGACY_DEFAULT_ADMIN_PASSWORD = "password1234"
            DEFAULT_API_KEY = "k3y-Default-2024"  # expect: BL202


            def _validate_bootstrap_admin_password(username: str, password: str | None) -> None:
                if not password:
                    raise MlflowException(f"MLflow Authentication needs a password for '{username}'")
                if password == _LEGACY_DEFAULT_ADMIN_PASSWORD:
                    raise MlflowException("Refusing to use the insecure default password of older versions")


            def check_key(key: str) -> None:
                if key != DEFAULT_API_KEY:
                    raise MlflowException("invalid key")
            """,
        },
    )
