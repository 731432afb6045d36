"""BL3xx false-alarm patterns of corpus batches 1-3 left at the fourth session (octoprint, jupyter-server,
privacyidea, wger), each with its hard positive: ``# expect: BL3xx`` comments are the exact findings."""

from __future__ import annotations

from annotations import check_annotated


def _check(project, files: dict[str, str], *args: str) -> None:  # type: ignore[no-untyped-def]
    check_annotated(project, files, "BL3", *args)


def test_a_legacy_digest_verified_beside_a_slow_hash(project) -> None:  # type: ignore[no-untyped-def]
    """jupyter-server's ``passwd_check``: new hashes are argon2 (``passwd``), and the check verifies an
    argon2 hash with its verify function or, for an old ``algorithm:salt:digest`` hash, compares a
    salted digest. The digest is only compared, in a function that also verifies a slow hash, in a
    module that writes slow hashes: legacy verification, not how passwords are stored. A digest
    compared in a module that writes no slow hash, or in a function that verifies nothing else, is
    the app's password check and stays reported."""
    _check(
        project,
        {
            "app/security.py": """
            import hashlib

            import argon2


            def passwd(passphrase: str) -> str:
                ph = argon2.PasswordHasher(memory_cost=10240, time_cost=10, parallelism=8)
                return f"argon2:{ph.hash(passphrase)}"


            def passwd_check(hashed_passphrase: str, passphrase: str) -> bool:
                if hashed_passphrase.startswith("argon2:"):
                    ph = argon2.PasswordHasher()
                    try:
                        return ph.verify(hashed_passphrase[7:], passphrase)
                    except argon2.exceptions.VerificationError:
                        return False
                algorithm, salt, pw_digest = hashed_passphrase.split(":", 2)
                h = hashlib.new(algorithm)
                h.update(passphrase.encode("utf-8") + salt.encode("ascii"))
                return h.hexdigest() == pw_digest


            def token_check(stored: str, password: str) -> bool:
                return hashlib.sha256(password.encode()).hexdigest() == stored  # expect: BL302
            """,
            "app/plain.py": """
            import hashlib

            import bcrypt


            def check(stored: str, password: str) -> bool:
                if stored.startswith("$2b$"):
                    return bcrypt.checkpw(password.encode(), stored.encode())
                return hashlib.sha256(password.encode()).hexdigest() == stored  # expect: BL302
            """,
        },
    )


USERS = """
import hashlib

password_hashers = []

try:
    from libpass.hash import pbkdf2_sha256

    LIBPASS = True
except ImportError:  # Python < 3.9
    from passlib.hash import pbkdf2_sha256

    LIBPASS = False

try:
    if LIBPASS:
        from libpass.hash import argon2
    else:
        from passlib.hash import argon2

    # test if we can actually hash and verify, if not we won't use this backend
    hash = argon2.hash("test")
    assert argon2.verify("test", hash)
    password_hashers.append(argon2)
except Exception:
    pass

password_hashers.append(pbkdf2_sha256)


class UserManager:
    def __init__(self, settings):
        self._settings = settings

    @staticmethod
    def create_password_hash(password, *args, **kwargs):
        return password_hashers[0].hash(password)

    @staticmethod
    def create_legacy_password_hash(password, salt):
        return hashlib.sha512((password + salt).encode("utf-8")).hexdigest()

    def check_password(self, username, password):
        user = self.find_user(username)
        if user.check_password(password):
            return True
        salt = self._settings.get("salt")
        legacy_hash = UserManager.create_legacy_password_hash(password, salt)
        if user.check_password(legacy_hash, legacy=True):
            self.change_user_password(username, password)
            return True
        return False
"""


def test_a_legacy_hash_function_whose_result_is_only_verified(project) -> None:  # type: ignore[no-untyped-def]
    """octoprint: ``create_legacy_password_hash`` returns a salted sha512, computed only by
    ``check_password`` to verify an old stored hash (and migrate it to argon2 on success); the
    module hashes with passlib's argon2/pbkdf2. Every call of the function has its result verified
    (passed to a check, compared): it is no way of storing passwords. A digest function whose result
    a caller stores stays reported, as does one in a module that writes no slow hash."""
    _check(
        project,
        {
            "app/users.py": USERS,
            "app/legacy.py": """
            import hashlib

            from passlib.hash import argon2


            def new_hash(password):
                return argon2.hash(password)


            def make_password_hash(password, salt):
                return hashlib.sha512((password + salt).encode()).hexdigest()  # expect: BL302


            def login(user, password, salt):
                if argon2.verify(password, user.password_hash):
                    return True
                return make_password_hash(password, salt) == user.password_hash


            def reset(user, password, salt):
                user.password_hash = make_password_hash(password, salt)
            """,
            "app/only_digest.py": """
            import hashlib


            def make_password_hash(password, salt):
                return hashlib.sha512((password + salt).encode()).hexdigest()  # expect: BL302


            def login(user, password, salt):
                return user.check_password(make_password_hash(password, salt))
            """,
        },
    )


def test_a_digest_used_as_an_in_memory_cache_key(project) -> None:  # type: ignore[no-untyped-def]
    """privacyidea's ``User.check_password``: a sha3 of the password keys a dict of the results the
    request already had from the resolver (``self._checked_passwords[password_hash] = True``), so the
    password is checked once per request; the digest is never persisted. A digest named as the
    password's hash and stored (an attribute, the session) stays reported."""
    _check(
        project,
        {
            "app/user.py": """
            import hashlib


            class User:
                def __init__(self, login, resolver):
                    self.login = login
                    self.resolver = resolver
                    self._checked_passwords = {}

                def check_password(self, password: str):
                    password_hash = hashlib.sha3_512(password.encode("utf-8")).hexdigest()
                    if password_hash in self._checked_passwords.keys():
                        return self._checked_passwords[password_hash]
                    valid = self.resolver.checkPass(self.login, password)
                    self._checked_passwords[password_hash] = valid
                    return valid

                def remember(self, session, password: str):
                    password_hash = hashlib.sha3_512(password.encode("utf-8")).hexdigest()  # expect: BL302
                    session[password_hash] = True

                def set_password(self, password: str):
                    password_hash = hashlib.sha256(password.encode("utf-8")).hexdigest()  # expect: BL302
                    self.password_hash = password_hash
            """,
        },
    )


def test_a_login_serializer_reads_credentials_in(project) -> None:  # type: ignore[no-untyped-def]
    """wger's ``UserApiSerializer``: a ``ModelSerializer`` of ``User`` that declares both its fields
    itself, ``username`` and ``password`` (``CharField(required=True)``); the login view reads
    ``serializer.data`` to authenticate and answers a token. A serializer whose every field is its
    own and a login field or a password is a login form. A serializer listing the model's own
    ``password`` (not declared) beside other fields stays reported."""
    _check(
        project,
        {
            "wger/core/api/serializers.py": """
            from django.contrib.auth.models import User
            from rest_framework import serializers


            class UserApiSerializer(serializers.ModelSerializer):
                \"\"\" Serializer to map to User model in relation to api user\"\"\"
                username = serializers.CharField(required=True)
                password = serializers.CharField(required=True, min_length=8)

                class Meta:
                    model = User
                    fields = ['username', 'password']


            class UserSerializer(serializers.ModelSerializer):
                class Meta:
                    model = User
                    fields = ['username', 'email', 'password']  # expect: BL305
            """,
        },
    )
