"""BL3xx false-alarm patterns of the second corpus batch (benchmarks/corpus/triage/tuning.toml), each
with its hard positive: ``# expect: BL3xx`` comments are the exact findings."""

from __future__ import annotations

from annotations import check_annotated


def _check(project, files: dict[str, str], *args: str) -> None:  # type: ignore[no-untyped-def]
    check_annotated(project, files, "BL3", *args)


def test_pwd_beside_a_command_and_an_environment_is_a_working_directory(project) -> None:  # type: ignore[no-untyped-def]
    """``pwd`` is a password's name, and also a process's working directory: beside ``cmd``, ``env`` or
    ``pid`` (the call's other keywords, the model's fields, the parameters beside it) it is the latter."""
    _check(
        project,
        {
            "app/models.py": """
                from pathlib import Path

                from django.db import models


                class Process(models.Model):
                    cmd = models.JSONField(default=list)
                    pwd = models.CharField(max_length=512, help_text="Working directory")
                    env = models.JSONField(default=dict)
                    pid = models.IntegerField(null=True)

                    def mark_running(self, pwd: str | Path | None = None) -> None:
                        if pwd is not None and self.pwd != str(pwd):
                            self.pwd = str(pwd)
                        self.save()


                class Account(models.Model):
                    username = models.CharField(max_length=150)
                    pwd = models.CharField(max_length=128)

                    def change(self, pwd: str) -> None:
                        self.pwd = pwd  # expect: BL301
                        self.save()
            """,
            "app/hooks.py": """
                from app.models import Account, Process


                def record(result_data, machine):
                    cmd = result_data.get("cmd") or []
                    pwd = result_data.get("pwd") or ""
                    Process.objects.create(machine=machine, cmd=cmd, pwd=pwd, status="exited")


                def signup(request):
                    Account.objects.create(username=request.POST["username"], pwd=request.POST["pwd"])  # expect: BL301
            """,
        },
    )


def test_a_record_with_a_host_and_port_holds_another_services_login(project) -> None:  # type: ignore[no-untyped-def]
    """A remote compute node's password, kept to log in to it: its record has a host and a port, in the
    create call's keywords or in the model declared in another module (the update path)."""
    _check(
        project,
        {
            "app/db/models/computes.py": """
                from sqlalchemy import Column, Integer, String

                from app.db.models.base import BaseTable


                class Compute(BaseTable):
                    __tablename__ = "computes"
                    compute_id = Column(String, primary_key=True)
                    host = Column(String)
                    port = Column(Integer)
                    user = Column(String)
                    password = Column(String)


                class Member(BaseTable):
                    __tablename__ = "members"
                    id = Column(Integer, primary_key=True)
                    email = Column(String)
                    password = Column(String)
            """,
            "app/db/repositories/computes.py": """
                from sqlalchemy import update

                import app.db.models as models
                from app import schemas


                class ComputesRepository:
                    async def create_compute(self, compute_create: schemas.ComputeCreate):
                        db_compute = models.Compute(
                            compute_id=compute_create.compute_id,
                            host=compute_create.host,
                            port=compute_create.port,
                            user=compute_create.user,
                            password=compute_create.password.get_secret_value(),
                        )
                        self._db_session.add(db_compute)

                    async def update_compute(self, compute_id, compute_update: schemas.ComputeUpdate):
                        update_values = compute_update.model_dump(exclude_unset=True)
                        password = compute_update.password
                        if password:
                            update_values["password"] = password.get_secret_value()
                        where = models.Compute.compute_id == compute_id
                        query = update(models.Compute).where(where).values(update_values)
                        await self._db_session.execute(query)

                    async def update_member(self, member_id, member_update: schemas.MemberUpdate):
                        update_values = member_update.model_dump(exclude_unset=True)
                        password = member_update.password
                        if password:
                            update_values["password"] = password.get_secret_value()  # expect: BL301
                        query = update(models.Member).where(models.Member.id == member_id).values(update_values)
                        await self._db_session.execute(query)
            """,
        },
    )


def test_a_token_row_read_by_attribute_and_a_size_constant_logged_are_no_secrets(project) -> None:  # type: ignore[no-untyped-def]
    """jupyterhub: a token row whose attributes the handler reads (``token.expires_at``) or that a
    class's lookup returned (``APIToken.find(db, token)``) is an object, its str() its class's;
    ``len(secret)`` and a module constant ``COOKIE_SECRET_BYTES = 32`` are numbers. A token string
    logged, even one whose string methods are called, is reported."""
    _check(
        project,
        {
            "app/handlers.py": """
                import logging

                from app import orm

                log = logging.getLogger(__name__)

                COOKIE_SECRET_BYTES = (
                    32  # the number of bytes to use when generating new cookie secrets
                )


                def prune(db, user, now):
                    for token in user.api_tokens:
                        if token.expires_at and token.expires_at < now:
                            log.warning(f"Deleting expired token {token}")
                            db.delete(token)


                async def add_tokens(db, token_dict):
                    for token, name in token_dict.items():
                        orm_token = orm.APIToken.find(db, token)
                        if orm_token is not None:
                            log.debug("Not duplicating token %s", orm_token)


                def check_secret(secret):
                    if len(secret) > COOKIE_SECRET_BYTES:
                        log.warning("Cookie secret is %i bytes.  It should be %i.", len(secret), COOKIE_SECRET_BYTES)


                def login(api_token):
                    if api_token.startswith("Bearer "):
                        log.info("token %s", api_token)  # expect: BL304
            """,
        },
    )


def test_a_serializer_that_checks_the_current_password_reads_it_in(project) -> None:  # type: ignore[no-untyped-def]
    """modoboa: a password-change serializer lists the model's ``password`` to receive the current one,
    which its ``validate_password`` checks with ``authenticate``; a serializer listing the password
    and checking nothing sends the hash back."""
    _check(
        project,
        {
            "app/serializers.py": """
                from django.contrib.auth import authenticate, password_validation
                from rest_framework import serializers

                from app import models


                class AccountPasswordSerializer(serializers.ModelSerializer):
                    new_password = serializers.CharField()

                    class Meta:
                        model = models.User
                        fields = (
                            "password",
                            "new_password",
                        )

                    def validate_password(self, value):
                        if not authenticate(username=self.instance.username, password=value):
                            raise serializers.ValidationError("Password not correct")
                        return value

                    def validate_new_password(self, value):
                        password_validation.validate_password(value, self.instance)
                        return value

                    def update(self, instance, validated_data):
                        instance.set_password(validated_data["new_password"])
                        instance.save()
                        return instance


                class AccountSerializer(serializers.ModelSerializer):
                    class Meta:
                        model = models.User
                        fields = ("username", "password")  # expect: BL305

                    def validate_password(self, value):
                        password_validation.validate_password(value)
                        return value
            """,
        },
    )
