"""BL301–BL306: password flows through the real CLI. Each scenario is a small app module whose
``# expect: BL3xx`` comments are the exact findings; the hard negatives carry none."""

from __future__ import annotations

import textwrap

import pytest
from annotations import check_annotated


def _check(project, files: dict[str, str], *args: str) -> None:  # type: ignore[no-untyped-def]
    check_annotated(project, files, "BL3", *args)


SCENARIOS = {
    "orm-attribute-from-query": """
        from app.models import User

        def change_password(db, user_id, password):
            user = db.query(User).filter(User.id == user_id).first()
            user.password = password  # expect: BL301
            db.commit()
    """,
    "django-objects-create-and-update": """
        from django.contrib.auth import get_user_model

        def import_user(row):
            get_user_model().objects.create(username=row["name"], password=row["password"])  # expect: BL301

        def reset(request, uid):
            User = get_user_model()
            User.objects.filter(pk=uid).update(password=request.POST["password"])  # expect: BL301

        def safe(request):
            get_user_model().objects.create_user(username="x", password=request.POST["password"])
            user = get_user_model().objects.get(pk=1)
            user.set_password(request.POST["password"])
    """,
    "sql-insert-and-update-alignment": """
        def save(cur, email, password):
            cur.execute(
                "INSERT INTO users (email, created_at, password) VALUES (%s, NOW(), %s)",
                (email, password),  # expect: BL301
            )

        async def save_pg(conn, email, password):
            await conn.execute("INSERT INTO users (email, password) VALUES ($1, $2)", email, password)  # expect: BL301

        def save_named(session, text, email, password):
            session.execute(
                "UPDATE users SET password = :pw WHERE email = :email",
                {"email": email, "pw": password},  # expect: BL301
            )

        def save_hashed(cur, email, password, hasher):
            cur.execute("INSERT INTO users (email, password_hash) VALUES (?, ?)", (email, hasher.hash(password)))
            cur.execute("INSERT INTO users (email, password) VALUES (?, ?)", (email, hasher.hash(password)))
    """,
    "mongo-documents": """
        def register(db, email, password):
            db.users.insert_one({"email": email, "password": password})  # expect: BL301
            db.users.update_one({"email": email}, {"$set": {"password": password}})  # expect: BL301
            doc = {"email": email}
            doc["password"] = password
            db.users.insert_one(doc)  # expect: BL301
    """,
    "sqlalchemy-insert-values-and-splat": """
        from pydantic import BaseModel
        from sqlalchemy import Column, Integer, String, insert
        from sqlalchemy.orm import DeclarativeBase

        class Base(DeclarativeBase):
            pass

        class User(Base):
            __tablename__ = "users"
            id = Column(Integer, primary_key=True)
            password = Column(String)

        class UserIn(BaseModel):
            email: str
            password: str

        def create(session, body: UserIn):
            session.execute(insert(User).values(password=body.password))  # expect: BL301
            session.add(User(**body.model_dump()))  # expect: BL301
            session.add(User(**body.model_dump(exclude={"password"})))
    """,
    "connections-and-settings-are-not-storage": """
        import psycopg2

        class Settings:
            def __init__(self, db_password):
                self.db_password = db_password

        def connect(host, password):
            return psycopg2.connect(host=host, password=password)

        def build(password):
            return Settings(db_password=password)
    """,
    "hash-objects-fed-through-update": """
        import hashlib

        from cryptography.hazmat.primitives import hashes

        def set_password(user, password, salt):
            h = hashlib.sha256()  # expect: BL302
            h.update(salt)
            h.update(password.encode())
            user.password_hash = h.hexdigest()

        def set_password_cryptography(user, password):
            digest = hashes.Hash(hashes.SHA256())  # expect: BL302
            digest.update(password.encode())
            user.password_hash = digest.finalize()

        def file_checksum(upload):
            h = hashlib.sha256()
            h.update(upload.read())
            return h.hexdigest()
    """,
    "broken-hashes-of-secret-data": """
        import hashlib

        from django.conf import settings
        from django.http import JsonResponse

        def make_user_admin_token(user):
            formula = (str(user.pk), user.email, user.password, settings.SECRET_KEY)
            return hashlib.md5(":".join(formula).encode()).hexdigest()  # expect: BL307

        def authorize_admin(request):
            request.session["admin-token"] = make_user_admin_token(request.user)

        def store_api_key(db, account_id, api_key):
            key_hash = hashlib.sha1(api_key.encode()).hexdigest()  # expect: BL307
            db.execute("INSERT INTO api_keys (account_id, key_hash) VALUES (?, ?)", (account_id, key_hash))
            db.keys.insert_one(
                {"account": account_id, "digest": hashlib.md5(api_key.encode()).hexdigest()}  # expect: BL307
            )

        def remember(request, response, session_token):
            response.set_cookie("remember", hashlib.md5(session_token.encode()).hexdigest())  # expect: BL307
            response.headers["ETag"] = hashlib.md5(session_token.encode()).hexdigest()
            response.headers["X-Token-Id"] = hashlib.sha256(session_token.encode()).hexdigest()

        def view(request, token):
            return JsonResponse({"id": hashlib.md5(token.encode(), usedforsecurity=False).hexdigest()})

        def gravatar(request, user):
            request.session["avatar"] = hashlib.md5(user.email.encode()).hexdigest()
            request.session["cache_key"] = hashlib.md5(settings.SECRET_KEY.encode()).hexdigest()
            request.session["short"] = hashlib.md5(settings.SECRET_KEY.encode()).hexdigest()[:8]
    """,
    "legacy-hash-verified-to-upgrade-it": """
        from hashlib import pbkdf2_hmac, sha1

        from passlib.hash import pbkdf2_sha512

        class User:
            def _set_password(self, password):
                self._password = str(pbkdf2_sha512.hash(password))

            def _verify_and_upgrade_from_sha1(self, password):
                hashed_pass = sha1((password + self.password[:40]).encode())
                if hashed_pass.hexdigest() == self.password[40:]:
                    self._set_password(password)
                    self.save()
                    return True
                return False

            def check_legacy(self, password):
                return sha1(password.encode()).hexdigest() == self.password_hash  # expect: BL302

        def fake_privkey(secret):
            return pbkdf2_hmac("sha256", secret.encode(), b"FakeWallet", 2048, 32).hex()
    """,
    "passwords-as-lookup-keys-in-sql-and-in-tokens": """
        import jwt
        from flask import request

        from app.models import User

        def login(db, cursor):
            password = request.form["password"]
            user = User.query.filter_by(email=request.form["email"], password=password).first()  # expect: BL303
            doc = db.users.find_one({"email": request.form["email"], "password": password})  # expect: BL303
            cursor.execute(f"SELECT id FROM users WHERE password = '{password}'")  # expect: BL303
            return jwt.encode({"sub": user.id, "password": password}, "key", algorithm="HS256")  # expect: BL305

        def register(cursor):
            password = request.form["password"]
            cursor.execute(f"INSERT INTO users (email, password) VALUES ('a@b.c', '{password}')")  # expect: BL301
    """,
    "configured-and-database-model-passwords-are-not-compared-with-stored-ones": """
        from pydantic import BaseModel
        from sqlalchemy import update

        from app.config import config
        from app.models import Auth

        class AuthModel(BaseModel):
            id: str
            password: str

        async def login(user_data):
            if config.security.root_password == user_data.password:
                return "root"

        async def update_mfa(db, auth: AuthModel):
            await db.execute(update(Auth).where(Auth.id == auth.id, Auth.password == auth.password))
    """,
    "logged-objects-named-like-secrets-are-not-secrets": """
        import logging

        from flask.views import MethodView

        from app.db import db
        from app.models import PersonalToken

        logger = logging.getLogger(__name__)

        class RHPersonalToken:
            def _process_args(self):
                self.token: PersonalToken = PersonalToken.query.filter_by(id=1).first_or_404()

            def _process(self):
                logger.info("Updated token %r", self.token)
                token = PersonalToken(user=self.user)
                logger.info("Created token %r", token)

        def revoke_token(token, request):
            db.session.delete(token)
            logger.info("Token %s was revoked", token)

        def issuer(token_issuer):
            logger.warning(f"token issuer {token_issuer} is not trusted")

        def leak(api_token):
            logger.info("token %s", api_token)  # expect: BL304
    """,
    "request-bodies-and-credential-headers-in-logs": """
        import logging

        from flask import Flask, request
        from flask.views import MethodView

        app = Flask(__name__)
        log = logging.getLogger(__name__)

        class EditView(MethodView):
            def post(self, id):
                log.debug("Package save request name: %s POST: %r", id, request.form)

        class LoginView(MethodView):
            def post(self):
                log.debug("Login POST: %r", request.form)  # expect: BL304

        def get_request_data():
            request_data = request.get_json()
            log.debug("Request data extracted: %r", request_data)  # expect: BL304
            return request_data

        @app.before_request
        def before_request():
            log.info("Request %s %s", request.url, request.headers)  # expect: BL304

        @app.get("/items")
        def items():
            log.debug("auth %s", request.headers.get("Authorization"))  # expect: BL304
            auth = request.headers["Authorization"]
            log.info(f"caller {auth}")  # expect: BL304
            return []
    """,
    "service-account-passwords-in-admin-settings-responses": """
        from fastapi import APIRouter
        from pydantic import BaseModel

        router = APIRouter()

        class LdapServerConfig(BaseModel):
            label: str
            app_dn: str
            app_dn_password: str

        class AccountOut(BaseModel):
            email: str
            password: str

        @router.get("/admin/config/ldap/server", response_model=LdapServerConfig)
        async def get_ldap_server():
            return load_ldap_config()

        @router.get("/accounts/me", response_model=AccountOut)  # expect: BL305
        async def me():
            return current_account()
    """,
    "weak-hashes": """
        import base64
        import hashlib

        import bcrypt

        def hash_password(password):
            return hashlib.md5(password.encode()).hexdigest()  # expect: BL302

        def store(user, password):
            user.password_hash = base64.b64encode(password.encode())  # expect: BL302

        def checksum_token(token):
            return hashlib.sha256(token.encode()).hexdigest()

        def slow(password):
            return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=8))  # expect: BL302

        def weak_local_hash(password):
            password_hash = hashlib.sha512(password.encode()).hexdigest()  # expect: BL302
            return password_hash

        def tutorial_fake_hash(db, user):
            from app import models

            fake_hashed_password = user.password + "notreallyhashed"
            db.add(models.User(email=user.email, hashed_password=fake_hashed_password))  # expect: BL302
    """,
    "plaintext-comparisons": """
        import hmac

        fake_users_db = {"alice": {"password": "wonderland"}}

        def authenticate(username, password):
            user = fake_users_db.get(username)
            if user and user["password"] == password:  # expect: BL303
                return user
            return None

        def check(user, password):
            return hmac.compare_digest(user.password, password)  # expect: BL303

        def confirm(password, confirm_password):
            return password == confirm_password
    """,
    "logging": """
        import logging

        logger = logging.getLogger(__name__)

        def login(request, username, password, token):
            logger.info("login %s with %s", username, password)  # expect: BL304
            print(f"debug: {password}")  # expect: BL304
            logger.debug("token %s", token)  # expect: BL304
            logger.debug("token prefix %s", token[:6])  # expect: BL304
            logger.debug("headers %s", request.headers)  # expect: BL304
            logger.info("password length %d, token set %s", len(password), bool(token))
            logger.warning("Invalid password for %s", username)
    """,
    "responses": """
        from fastapi import APIRouter
        from pydantic import BaseModel, Field

        router = APIRouter()

        class UserOut(BaseModel):
            id: int
            password: str

        class UserHashOut(BaseModel):
            id: int
            hashed_password: str

        class UserSafe(BaseModel):
            id: int
            password: str = Field(exclude=True)

        @router.get("/users")
        def list_users() -> list[UserOut]:  # expect: BL305
            return []

        @router.get("/hashes", response_model=UserHashOut)  # expect: BL305
        def hashes():
            return {}

        @router.get("/safe", response_model=UserSafe)
        def safe():
            return {}

        @router.post("/echo")
        def echo(body: UserOut):
            return {"id": body.id, "password": body.password}  # expect: BL305
    """,
    "url-queries": """
        from typing import Annotated

        from fastapi import APIRouter, Body, Form, Query
        from pydantic import BaseModel

        router = APIRouter()

        class Login(BaseModel):
            username: str
            password: str

        @router.get("/a")
        def a(password: str):  # expect: BL306
            return password

        @router.get("/b")
        def b(pwd: str = Query(...)):  # expect: BL306
            return pwd

        @router.get("/c")
        def c(password: Annotated[str, Query()]):  # expect: BL306
            return password

        @router.get("/d/{password}")
        def d(password: str):  # expect: BL306
            return password

        @router.post("/e")
        def e(password: str = Form(...), passphrase: Annotated[str, Body()] = "", login: Login | None = None):
            return password
    """,
    "flask-and-django-queries": """
        from flask import Blueprint, request

        bp = Blueprint("auth", __name__)

        @bp.route("/reset/<password>")  # expect: BL306
        def reset(password):
            return "ok"

        @bp.get("/check")
        def check():
            return request.args.get("password", "")  # expect: BL306

        def django_view(request):
            return request.GET["passwd"]  # expect: BL306
    """,
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario(name: str, project) -> None:  # type: ignore[no-untyped-def]
    _check(project, {"app/module.py": SCENARIOS[name]})


def test_drf_serializers(project) -> None:  # type: ignore[no-untyped-def]
    _check(
        project,
        {
            "app/serializers.py": """
                from django.contrib.auth.models import User
                from rest_framework import serializers

                class Everything(serializers.ModelSerializer):
                    class Meta:
                        model = User
                        fields = "__all__"  # expect: BL305

                class Listed(serializers.ModelSerializer):
                    class Meta:
                        model = User
                        fields = ("id", "password")  # expect: BL305

                class WriteOnly(serializers.ModelSerializer):
                    class Meta:
                        model = User
                        fields = ("id", "password")
                        extra_kwargs = {"password": {"write_only": True}}

                class Declared(serializers.ModelSerializer):
                    password = serializers.CharField(write_only=True)

                    class Meta:
                        model = User
                        fields = "__all__"
            """
        },
    )


def test_a_hashing_setter_in_another_module_clears_the_store(project) -> None:  # type: ignore[no-untyped-def]
    """BL301 is judged over the project: `member.password = pw` hashes when the model says so."""
    _check(
        project,
        {
            "app/models.py": """
                from werkzeug.security import generate_password_hash

                from app.extensions import db

                class Member(db.Model):
                    password_hash = db.Column(db.String(255))

                    @property
                    def password(self):
                        raise AttributeError("write-only")

                    @password.setter
                    def password(self, value):
                        self.password_hash = generate_password_hash(value)

                class Client(db.Model):
                    password = db.Column(db.String(255))
            """,
            "app/views.py": """
                from flask import request

                from app.models import Client, Member

                def register(db):
                    member = Member()
                    member.password = request.form["password"]
                    client = Client(password=request.form["password"])  # expect: BL301
                    db.session.add_all([member, client])
            """,
        },
    )


def test_a_password_crosses_one_call_in_the_module(project) -> None:  # type: ignore[no-untyped-def]
    _check(
        project,
        {
            "app/routes.py": """
                import logging

                logger = logging.getLogger(__name__)

                def store(cur, email, secret):
                    cur.execute("INSERT INTO users (email, password) VALUES (%s, %s)", (email, secret))

                def audit(value):
                    logger.info("value %s", value)

                def signup(cur, form):
                    store(cur, form.email, form.password)  # expect: BL301
                    audit(form.password)  # expect: BL304
                    audit(form.email)
            """
        },
    )


def test_related_location_points_at_the_source(project) -> None:  # type: ignore[no-untyped-def]
    project.write(
        "app/users.py",
        "from app.models import User\n\n\ndef create(db, body):\n    db.add(User(password=body.password))\n",
    )
    result = project.lint("app/users.py", "--select", "BL301", "--format", "json", "--no-cache")
    (finding,) = result.json()["findings"]
    assert finding["line"] == 5
    assert finding["related"] and finding["related"][0]["line"] == 5


def test_test_files_and_tooling_are_not_checked(project) -> None:  # type: ignore[no-untyped-def]
    code = "def test_store(cur, password):\n    cur.execute('INSERT INTO users (password) VALUES (?)', (password,))\n"
    project.write("tests/test_users.py", code)
    project.write("scripts/seed_users.py", code.replace("test_store", "seed"))
    result = project.lint("tests/test_users.py", "scripts/seed_users.py", "--select", "BL3", "--no-cache")
    assert result.exit_code == 0, result.stdout


def test_pbkdf2_floor_is_an_option(project) -> None:  # type: ignore[no-untyped-def]
    project.write("pyproject.toml", "[tool.backlint]\nmin-pbkdf2-iterations = 600000\n")
    project.write(
        "app/kdf.py",
        "import hashlib\n\n\ndef derive(pw, salt):\n    return hashlib.pbkdf2_hmac('sha256', pw, salt, 310_000)\n",
    )
    result = project.lint("app/kdf.py", "--select", "BL302", "--format", "json", "--no-cache")
    (finding,) = result.json()["findings"]
    assert finding["level"] == "warning" and "600,000" in finding["message"]


def test_a_user_table_row_teaches_a_new_weak_hash(project) -> None:  # type: ignore[no-untyped-def]
    project.write(
        "app/security.py",
        "from acme.legacy import quickhash\n\n\ndef hash_password(password):\n    return quickhash(password)\n",
    )
    before = project.lint("app/security.py", "--select", "BL302", "--no-cache")
    assert before.exit_code == 0, before.stdout
    project.write(
        "pyproject.toml",
        '[tool.backlint]\n[[tool.backlint.tables.password-hashers]]\nname = "acme.legacy.quickhash"\nkind = "weak"\n',
    )
    after = project.lint("app/security.py", "--select", "BL302", "--format", "json", "--no-cache")
    assert [(f["line"], f["rule_id"]) for f in after.json()["findings"]] == [(5, "BL302")]


def test_insecure_hash_comments_of_bandit_and_ruff_suppress_bl307_when_honoured(project) -> None:  # type: ignore[no-untyped-def]
    code = textwrap.dedent(
        """
        import hashlib

        def store_api_key(db, account_id, api_key):
            key_hash = hashlib.sha1(api_key.encode()).hexdigest(){comment}
            db.execute("INSERT INTO api_keys (account_id, key_hash) VALUES (?, ?)", (account_id, key_hash))
        """
    ).lstrip("\n")
    for comment in ("  # nosec B324", "  # noqa: S324", "  # nosec B303"):
        project.write("app/keys.py", code.format(comment=comment))
        project.write("pyproject.toml", "[tool.backlint]\nhonor-foreign-ignores = false\n")
        plain = project.lint("app/keys.py", "--select", "BL307", "--format", "json", "--no-cache")
        assert [f["rule_id"] for f in plain.json()["findings"]] == ["BL307"]
        project.write("pyproject.toml", "[tool.backlint]\n")  # honoured by default
        honoured = project.lint("app/keys.py", "--select", "BL307", "--format", "json", "--no-cache")
        assert honoured.json()["findings"] == []


def test_a_store_whose_callers_all_pass_hashes_is_cleared(project) -> None:  # type: ignore[no-untyped-def]
    """zou's create_person(email, password, ...) stores what its callers pass: a bcrypt hash, or a
    marker for accounts that log in through LDAP. One caller passing the plaintext keeps the finding."""
    files = {
        "app/persons_service.py": """
            from app.models import Person

            def create_person(email, password, first_name, role="user"):
                return Person.create(email=email, password=password, first_name=first_name, role=role)

            def rename_person(person_id, password):
                person = Person.get(person_id)
                person.password = password  # expect: BL301
        """,
        "app/cli.py": """
            from app import auth, persons_service

            def create_admin(email, password):
                password = auth.encrypt_password(password)
                persons_service.create_person(email, password, "Super", role="admin")
        """,
        "app/ldap_sync.py": """
            from app import persons_service

            def import_users(users):
                for user in users:
                    persons_service.create_person(user["email"], "default".encode("utf-8"), user["first_name"])
        """,
        "app/bots.py": """
            from app import persons_service

            def create_bot(name):
                return persons_service.create_person(f"{name}@bots", password=None, first_name=name)
        """,
    }
    _check(project, files)
    files["app/signup.py"] = """
        from flask import request

        from app import persons_service

        def signup():
            persons_service.create_person(request.form["email"], request.form["password"], "New")
    """
    stored = "return Person.create(email=email, password=password,"
    files["app/persons_service.py"] = files["app/persons_service.py"].replace(
        stored, stored + "  # expect: BL301\n               "
    )
    _check(project, files)


def test_an_objects_own_password_copied_into_a_document_is_not_a_plaintext_store(project) -> None:  # type: ignore[no-untyped-def]
    """alerta's MongoDB backend writes the User model (which holds the hash) field by field."""
    _check(
        project,
        {
            "app/backend.py": """
                class Backend:
                    def create_user(self, user):
                        data = {"_id": user.id, "login": user.login, "password": user.password, "email": user.email}
                        if self.get_db().users.insert_one(data).inserted_id == user.id:
                            return data

                    def import_rows(self, rows):
                        for row in rows:
                            document = {"login": row["login"], "password": row["password"]}
                            self.get_db().users.insert_one(document)  # expect: BL301
            """
        },
    )


def test_a_command_line_tool_prints_the_token_it_created_to_its_operator(project) -> None:  # type: ignore[no-untyped-def]
    _check(
        project,
        {
            "app/commands.py": """
                import logging

                import click

                from app import persons_service

                logger = logging.getLogger(__name__)

                @click.command()
                def create_bot(name):
                    bot = persons_service.create_person(name, is_bot=True)
                    print(bot["access_token"])
                    click.echo(f"token: {bot['access_token']}")
                    logger.info("bot token %s", bot["access_token"])  # expect: BL304
            """
        },
    )


def test_a_model_that_hashes_in_save_or_a_validator_clears_the_store(project) -> None:  # type: ignore[no-untyped-def]
    """A Django model whose ``save()`` hashes ``self.password``, and a SQLModel-style class whose
    pydantic validator hashes the field, store hashes; a model whose save() only logs does not."""
    _check(
        project,
        {
            "app/models.py": """
                from django.contrib.auth.hashers import make_password
                from django.db import models
                from passlib.hash import bcrypt
                from pydantic import field_validator
                from sqlmodel import Field, SQLModel


                class Member(models.Model):
                    password = models.CharField(max_length=128)

                    def save(self, *args, **kwargs):
                        if not self.password.startswith("pbkdf2_"):
                            self.password = make_password(self.password)
                        super().save(*args, **kwargs)


                class Account(SQLModel, table=True):
                    id: int = Field(primary_key=True)
                    password: str

                    @field_validator("password")
                    @classmethod
                    def hash_password(cls, value):
                        return bcrypt.hash(value)


                class Guest(models.Model):
                    password = models.CharField(max_length=128)

                    def save(self, *args, **kwargs):
                        print("saving", self.pk)
                        super().save(*args, **kwargs)
            """,
            "app/views.py": """
                from app.models import Account, Guest, Member


                def register(request, session):
                    Member.objects.create(username=request.POST["username"], password=request.POST["password"])
                    session.add(Account(password=request.POST["password"]))
                    Guest.objects.create(password=request.POST["password"])  # expect: BL301
            """,
        },
    )


def test_a_token_object_or_a_secrets_name_logged_is_no_secret(project) -> None:  # type: ignore[no-untyped-def]
    """A parameter annotated with a class holds an object (a token row: its repr is an id), an ARN
    names a secret in a vault; a token string logged is reported."""
    _check(
        project,
        {
            "app/tokens.py": """
                import logging

                from app.models import Token

                log = logging.getLogger(__name__)


                def revoke(token: Token, secret_arn, access_token: str):
                    log.info("revoking %s", token)
                    log.info("reading %s", secret_arn)
                    log.info("revoked %s", access_token)  # expect: BL304
            """,
        },
    )


def test_a_service_accounts_password_kept_for_use_is_no_plaintext_store(project) -> None:  # type: ignore[no-untyped-def]
    """privacyIDEA-style server definitions: an SMTP or RADIUS server's password is presented to that
    server, so the app keeps it (encrypted or not), never as a hash; a user's password is hashed."""
    _check(
        project,
        {
            "app/models.py": """
                from flask_sqlalchemy import SQLAlchemy

                db = SQLAlchemy()


                class SMTPServer(db.Model):
                    id = db.Column(db.Integer, primary_key=True)
                    password = db.Column(db.Unicode(255))


                class RadiusServer(db.Model):
                    id = db.Column(db.Integer, primary_key=True)
                    password = db.Column(db.Unicode(255))


                class User(db.Model):
                    id = db.Column(db.Integer, primary_key=True)
                    password = db.Column(db.Unicode(255))
            """,
            "app/servers.py": """
                from flask import request

                from app.models import RadiusServer, SMTPServer, User, db


                def add_smtp_server(username, password):
                    db.session.add(SMTPServer(username=username, password=password))


                def add_radius_server():
                    db.session.add(RadiusServer(password=request.json["password"]))


                def add_user():
                    db.session.add(User(password=request.json["password"]))  # expect: BL301
            """,
        },
    )


def test_token_counts_limits_and_token_records_logged_are_no_secrets(project) -> None:  # type: ignore[no-untyped-def]
    """An LLM app's token budget and usage, an MFA server's token serial and owner: words next to
    `token` that make it a number or a record's attribute; the token itself is reported."""
    _check(
        project,
        {
            "app/chat.py": """
                import logging

                logger = logging.getLogger(__name__)


                def complete(prompt, token_limit, token_usage, context_token_budget, refresh_token):
                    logger.debug("limit %s, usage %s, budget %s", token_limit, token_usage, context_token_budget)
                    logger.debug("refreshing with %s", refresh_token)  # expect: BL304


                def enroll(token_serial, token_owner, token_state):
                    logger.info("enrolled %s for %s (%s)", token_serial, token_owner, token_state)
            """,
        },
    )


def test_a_model_hashed_by_an_orm_event_listener_clears_the_store(project) -> None:  # type: ignore[no-untyped-def]
    """A model whose password an SQLAlchemy ``before_insert`` listener (or an attribute ``set``
    event) hashes, defined in another module, stores hashes; a model without one does not."""
    _check(
        project,
        {
            "app/models.py": """
                from flask_bcrypt import generate_password_hash
                from sqlalchemy import Column, Integer, String, event
                from sqlalchemy.event import listen
                from sqlalchemy.orm import declarative_base

                Base = declarative_base()


                class User(Base):
                    __tablename__ = "users"
                    id = Column(Integer, primary_key=True)
                    password = Column(String(128))

                    def hash_password(self):
                        self.password = generate_password_hash(self.password).decode("utf-8")


                class Operator(Base):
                    __tablename__ = "operators"
                    id = Column(Integer, primary_key=True)
                    password = Column(String(128))


                class Guest(Base):
                    __tablename__ = "guests"
                    id = Column(Integer, primary_key=True)
                    password = Column(String(128))


                def hash_password(mapper, connect, target):
                    target.hash_password()


                listen(User, "before_insert", hash_password)


                @event.listens_for(Operator.password, "set", retval=True)
                def hash_operator_password(target, value, oldvalue, initiator):
                    return generate_password_hash(value)
            """,
            "app/service.py": """
                from app.models import Guest, Operator, User


                def create(session, username, password):
                    session.add(User(username=username, password=password))
                    session.add(Operator(password=password))
                    session.add(Guest(password=password))  # expect: BL301
            """,
        },
    )
