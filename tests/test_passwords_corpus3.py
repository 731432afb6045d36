"""BL3xx false-alarm patterns of the corpus holdout batches 1 and 2 (read since: benchmarks/corpus/
triage/holdout.toml), each with its hard positive: ``# expect: BL3xx`` comments are the exact findings."""

from __future__ import annotations

from annotations import check_annotated


def _check(project, files: dict[str, str], *args: str) -> None:  # type: ignore[no-untyped-def]
    check_annotated(project, files, "BL3", *args)


USER_MODEL = """
from flask import current_app
from sqlalchemy.orm import Mapped, mapped_column

from app import BaseModel, bcrypt, db


class User(BaseModel):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(db.String(255), unique=True, nullable=False)
    email: Mapped[str] = mapped_column(db.String(255), unique=True, nullable=False)
    password: Mapped[str] = mapped_column(db.String(255), nullable=False)

    def __init__(self, username: str, email: str, password: str) -> None:
        self.username = username
        self.email = email
        self.password = bcrypt.generate_password_hash(password, current_app.config.get("BCRYPT_LOG_ROUNDS")).decode()

    def check_password(self, password: str) -> bool:
        return bcrypt.check_password_hash(self.password, password)
"""


def test_a_model_whose_constructor_hashes_the_password(project) -> None:  # type: ignore[no-untyped-def]
    """fittrackee: ``User.__init__`` stores ``bcrypt.generate_password_hash(password)``, so the
    service's ``User(username=..., email=..., password=password)`` (another module) stores a hash. An
    attribute write after construction bypasses the constructor and is reported, as is a constructor
    call of a model whose ``__init__`` does not hash."""
    _check(
        project,
        {
            "app/users/models.py": USER_MODEL,
            "app/users/service.py": """
            from app import db
            from app.models import Account
            from app.users.models import User


            def create_user(username: str, email: str, password: str) -> User:
                new_user = User(username=username, email=email, password=password)
                db.session.add(new_user)
                db.session.commit()
                return new_user


            def reset_password(user: User, new_password: str) -> None:
                user.password = new_password  # expect: BL301
                db.session.commit()


            def create_account(name: str, password: str) -> Account:
                account = Account(name=name, password=password)  # expect: BL301
                db.session.add(account)
                return account
            """,
            "app/models.py": """
            from sqlalchemy.orm import Mapped, mapped_column

            from app import db


            class Account(db.Model):
                id: Mapped[int] = mapped_column(primary_key=True)
                name: Mapped[str] = mapped_column(db.String(64))
                password: Mapped[str] = mapped_column(db.String(255))
            """,
        },
    )


def test_a_password_stored_in_an_encrypting_column_type(project) -> None:  # type: ignore[no-untyped-def]
    """lemur: a role's service credential goes into ``password = Column(Vault)``, where ``Vault`` (in
    another module) is a ``TypeDecorator`` whose ``process_bind_param`` Fernet-encrypts: ciphertext,
    for a credential the app must present again. sqlalchemy-utils' ``StringEncryptedType`` is one by
    the table. A plain ``String`` column of the same model is reported."""
    _check(
        project,
        {
            "app/utils.py": """
            from cryptography.fernet import Fernet, MultiFernet
            from flask import current_app
            from sqlalchemy import types


            def get_keys():
                return current_app.config.get("LEMUR_ENCRYPTION_KEYS")


            class Vault(types.TypeDecorator):
                impl = types.LargeBinary

                def process_bind_param(self, value, dialect):
                    if not value:
                        return None
                    keys = [Fernet(key) for key in get_keys()]
                    return MultiFernet(keys).encrypt(value.encode("utf8"))

                def process_result_value(self, value, dialect):
                    if not value:
                        return None
                    keys = [Fernet(key) for key in get_keys()]
                    return MultiFernet(keys).decrypt(value).decode("utf8")
            """,
            "app/roles/models.py": """
            from sqlalchemy import Column, Integer, String
            from sqlalchemy_utils import StringEncryptedType

            from app.database import BaseModel
            from app.utils import Vault


            class Role(BaseModel):
                __tablename__ = "roles"
                id = Column(Integer, primary_key=True)
                name = Column(String(128), unique=True)
                username = Column(String(128))
                password = Column(Vault)
                backup_password = Column(StringEncryptedType(String, "key"))
                legacy_password = Column(String(128))
            """,
            "app/roles/service.py": """
            from app import database
            from app.roles.models import Role


            def create(name, password=None, username=None):
                role = Role(name=name, username=username, password=password)
                return database.create(role)


            def create_with_backup(name, password):
                return database.create(Role(name=name, backup_password=password))


            def create_legacy(name, password):
                return database.create(Role(name=name, legacy_password=password))  # expect: BL301
            """,
        },
    )
