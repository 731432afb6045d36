"""BL201–BL205: the name lexicon, the value filters, the known formats, and the rules through the CLI."""

from __future__ import annotations

import base64
import json
import random
import string
import textwrap
import time

import pytest
from annotations import expected_findings

from backlint.analysis import strings
from backlint.core.catalog import load_catalog

KNOWLEDGE = load_catalog().knowledge
LEXICON = strings.lexicon(KNOWLEDGE)
WORDS = strings.value_words(KNOWLEDGE)
PATTERNS = strings.secret_patterns(KNOWLEDGE)


# --- the name lexicon -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("clientSecret", "secret"),
        ("PG_PASS", "password"),
        ("userPassword", "password"),
        ("sentry_dsn", "secret"),
        ("APIKey", "secret"),
        ("SECURITY_PASSWORD_SALT", "password"),
        ("confirm_password", "password"),
        ("new_password", "password"),
        ("token_type", None),
        ("tokenUrl", None),
        ("ACCESS_TOKEN_EXPIRE_MINUTES", None),
        ("password_reset_url", None),
        ("private_key_path", None),
        ("password_hash", None),
        ("hashed_password", None),
        ("secret_name", None),
        ("api_key_header", None),
        ("split_token", None),
        ("PASSWORD_MIN_LENGTH", None),
        ("passed", None),
        ("bypass", None),
        ("change_password", None),
        ("WTF_CSRF_SECRET_KEY", None),
    ],
)
def test_lexicon(name: str, expected: str | None) -> None:
    assert LEXICON.sensitivity(name) == expected


def test_strongly_credential_like_names() -> None:
    assert LEXICON.is_credential_name(strings.name_tokens("DB_PASSWORD"))
    assert LEXICON.is_credential_name(strings.name_tokens("SECRET_KEY"))
    assert LEXICON.is_credential_name(strings.name_tokens("stripeApiKey"))
    assert not LEXICON.is_credential_name(strings.name_tokens("access_token"))
    assert not LEXICON.is_credential_name(strings.name_tokens("SESSION_KEY"))


# --- value filters and tiering ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "name", "sink", "expected"),
    [
        ("09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7", "SECRET_KEY", False, "strong"),
        ("Pr0dPassw0rd", "db_password", False, "strong"),
        ("admin123", "DB_PASSWORD", False, "weak"),
        ("changeme", "SECRET_KEY", False, "placeholder"),
        ("admin123", "token", False, None),  # weak under a name that is not clearly a credential
        ("", "password", False, None),
        ("   ", "password", True, None),
        ("password", "PASSWORD", False, None),
        ("passwd", "password", False, None),
        ("no-api-key", "api_key", False, None),
        ("refresh_token", "grant", False, None),
        ("mail_settings", "smtp_password", False, None),
        ("bearer", "token", False, None),
        ("HS256", "jwt_secret", True, None),
        ("<your-key>", "api_key", False, None),
        ("${API_KEY}", "api_key", False, None),
        ("%(password)s", "password", False, None),
        ("{password}", "password", True, None),
        ("Invalid password, try again", "password_error_message", False, None),
        ("https://example.com/reset", "password", False, None),
        ("/run/secrets/db", "password", False, None),
        ("pbkdf2_sha256$600000$abc$def", "password", False, None),
        ("app.auth.TokenBackend", "token", False, None),
        ("xxxxxxxx", "password", True, None),
        ("postgres", "password", True, "weak"),  # a sink keeps dictionary words
        ("s3cr3t!", "password", True, "weak"),
    ],
)
def test_credential_tier(value: str, name: str, sink: bool, expected: str | None) -> None:
    tokens = strings.name_tokens(name)
    kind = LEXICON.sensitivity_of(tokens) or "secret"
    tier = strings.credential_tier(
        value,
        tokens,
        WORDS,
        sink=sink,
        credential_like=LEXICON.is_credential_name(tokens),
        labels=LEXICON.label_words(kind),
    )
    assert tier == expected


def test_credential_urls() -> None:
    url = strings.credential_url("postgresql://app:Pr0dPassw0rd@db.prod.internal:5432/app", WORDS)
    assert url is not None and url.password == "Pr0dPassw0rd" and not url.local
    assert strings.credential_url("redis://:s3cret@localhost:6379/0", WORDS).local  # type: ignore[union-attr]
    assert strings.credential_url("postgresql://user:password@localhost/db", WORDS) is None
    assert strings.credential_url(f"postgresql://u:{strings.HOLE}@host/db", WORDS) is None
    assert strings.credential_url("https://example.com/path?a=b@c", WORDS) is None
    assert strings.credential_url("https://a1b2c3@o1.ingest.sentry.io/1", WORDS) is None  # no password
    # No host: the local socket (libpq's default), as for localhost.
    assert strings.credential_url("postgresql://app:Pr0dPassw0rd@/app?host=/tmp/pg", WORDS).local  # type: ignore[union-attr]


# --- known formats -----------------------------------------------------------------------------------

_RANDOM = random.Random(7)
_ALNUM = string.ascii_letters + string.digits


def _r(n: int, alphabet: str = _ALNUM) -> str:
    return "".join(_RANDOM.choice(alphabet) for _ in range(n))


def _jwt(claims: dict[str, object]) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.{_r(43, _ALNUM + '_-')}"


_HEX = "0123456789abcdef"
_PEM_BODY = base64.b64encode(bytes(_RANDOM.getrandbits(8) for _ in range(96))).decode()
# One fake, format-valid sample per row of the secret-patterns table: (text, name of its slot).
SAMPLES: dict[str, tuple[str, str | None]] = {
    "aws-access-token": ("AKIA" + _r(16, string.ascii_uppercase + "234567"), None),
    "aws-secret-access-key": (_r(40, _ALNUM + "/+"), "AWS_SECRET_ACCESS_KEY"),
    "github-pat": ("ghp_" + _r(36), None),
    "github-fine-grained-pat": ("github_pat_" + _r(82, _ALNUM + "_"), None),
    "github-oauth": ("gho_" + _r(36), None),
    "github-app-token": ("ghs_" + _r(36), None),
    "github-refresh-token": ("ghr_" + _r(36), None),
    "gitlab-pat": ("glpat-" + _r(20), None),
    "slack-bot-token": (f"xoxb-{_r(11, string.digits)}-{_r(13, string.digits)}-{_r(24)}", None),
    "slack-user-token": (
        f"xoxp-{_r(11, string.digits)}-{_r(11, string.digits)}-{_r(12, string.digits)}-{_r(32)}",
        None,
    ),
    "slack-app-token": (f"xapp-1-A{_r(10, string.digits)}-{_r(13, string.digits)}-{_r(64, _HEX)}", None),
    "slack-legacy-token": (
        f"xoxs-{_r(10, string.digits)}-{_r(10, string.digits)}-{_r(10, string.digits)}-{_r(64, _HEX)}",
        None,
    ),
    "slack-webhook-url": ("https://hooks.slack.com/services/" + _r(44, _ALNUM + "/"), None),
    "slack-webhook-url-path": (f"https://hooks.slack.com/services/T{_r(8)}/B{_r(8)}/{_r(24)}", None),
    "stripe-live-key": ("sk_live_" + _r(24), None),
    "stripe-test-key": ("sk_test_" + _r(24), None),
    "gcp-api-key": ("AIza" + _r(35, _ALNUM + "_-"), None),
    "gcp-oauth-client-secret": ("GOCSPX-" + _r(28), None),
    "openai-api-key": ("sk-" + _r(20) + "T3BlbkFJ" + _r(20), None),
    "anthropic-api-key": ("sk-ant-api03-" + _r(93) + "AA", None),
    "anthropic-admin-api-key": ("sk-ant-admin01-" + _r(93) + "AA", None),
    "sendgrid-api-token": ("SG." + _r(22) + "." + _r(43), None),
    "twilio-api-key": ("SK" + _r(32, _HEX), None),
    "npm-access-token": ("npm_" + _r(36, string.ascii_lowercase + string.digits), None),
    "pypi-upload-token": ("pypi-AgEIcHlwaS5vcmc" + _r(70), None),
    "private-key": ("-----BEGIN RSA PRIVATE KEY-----\n" + _PEM_BODY[:64] + "\n" + _PEM_BODY[64:] + "\n", None),
    "putty-private-key": ("PuTTY-User-Key-File-2: ssh-rsa\nEncryption: none\n", None),
    "jwt": (_jwt({"sub": "svc-billing", "role": "admin"}), None),
    "huggingface-access-token": ("hf_" + _r(34, string.ascii_letters), None),
    "digitalocean-pat": ("dop_v1_" + _r(64, _HEX), None),
    "databricks-api-token": ("dapi" + _r(32, _HEX), None),
    "heroku-api-key-v2": ("HRKU-AA" + _r(58), None),
    "shopify-access-token": ("shpat_" + _r(32, _HEX), None),
    "azure-ad-client-secret": ("abc8Q~" + _r(34, _ALNUM + "_~.-"), None),
    "sentry-user-token": ("sntryu_" + _r(64, _HEX), None),
    "grafana-service-account-token": (f"glsa_{_r(32)}_{_r(8, _HEX)}", None),
    "mailgun-private-api-token": ("key-" + _r(32, _HEX), "MAILGUN_API_KEY"),
    "posthog-personal-api-key": ("phx_" + _r(43), None),
    # Public by design: recognised, never reported (tests/test_secrets_corpus5.py).
    "posthog-project-key": ("phc_" + _r(43), None),
    "stripe-publishable-key": ("pk_live_" + _r(24), None),
    "mapbox-public-token": ("pk.eyJ1IjoiYWNtZSIsImEiOiJj" + _r(12) + ".g" + _r(21), None),
    "google-analytics-tracking-id": ("UA-" + _r(9, string.digits) + "-2", None),  # tests/test_secrets_corpus6.py
    "google-analytics-measurement-id": ("G-" + _r(10, string.ascii_uppercase + string.digits), None),
}


def test_every_pattern_row_has_a_sample() -> None:
    assert {row["id"] for row in KNOWLEDGE.rows("secret-patterns")} == set(SAMPLES)


@pytest.mark.parametrize("pattern_id", sorted(SAMPLES))
def test_each_known_format_is_found(pattern_id: str) -> None:
    text, name = SAMPLES[pattern_id]
    found = [m.pattern.id for m in PATTERNS.search(text, name)]
    assert found and found[0].startswith(pattern_id.split("-url")[0]), found


@pytest.mark.parametrize(
    "text",
    [
        "AKIAIOSFODNN7EXAMPLE",  # the AWS documentation sample
        "ghp_" + "x" * 36,
        "sk_live_" + "abcdefghijklmnopqrstuvwx",  # an alphabet run
        "sk_live_<your-key-goes-here-12345>",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        _jwt({"sub": "docs", "exp": int(time.time()) - 3600}),  # expired: cannot authenticate
        "eyJub3QiOiAianNvbiJ.eyJhbHNvIjogIm5vdCJ.abcdefghijklmnop",  # does not decode to JSON
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEow...\n-----END RSA PRIVATE KEY-----",
        _r(40, _ALNUM + "/+"),  # an AWS-secret-shaped value without an AWS name
    ],
)
def test_samples_and_placeholders_are_not_secrets(text: str) -> None:
    assert list(PATTERNS.search(text)) == []


def test_trigger_tokens_cover_every_row() -> None:
    triggers = strings.trigger_tokens(KNOWLEDGE)
    for pattern_id, (text, name) in SAMPLES.items():
        subject = text + (name or "")
        assert any(t in subject for t in triggers), pattern_id


# --- the rules through the CLI ----------------------------------------------------------------------


def _check(project, path: str, code: str, select: str = "BL2") -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    text = textwrap.dedent(code).lstrip("\n")
    project.write(path, text)
    result = project.lint(path, "--select", select, "--format", "json", "--no-cache")
    findings = result.json()["findings"]
    assert {(f["line"], f["rule_id"]) for f in findings} == {
        e for e in expected_findings(text) if e[1].startswith("BL2")
    }
    return findings  # type: ignore[no-any-return]


def test_levels_follow_the_value(project) -> None:  # type: ignore[no-untyped-def]
    findings = _check(
        project,
        "app/settings.py",
        """
        import psycopg2

        SECRET_KEY = "k9#Lm2$qW8vZ!pR4"  # expect: BL202
        DB_PASSWORD = "postgres"  # expect: BL202
        LOCAL_URL = "postgresql://app:app-pass@localhost/app"  # expect: BL203
        REMOTE_URL = "postgresql://app:app-pass@db.example.com/app"  # expect: BL203
        conn = psycopg2.connect(host="db", password="admin")  # expect: BL202
        """,
    )
    levels = {f["line"]: f["level"] for f in findings}
    assert levels == {3: "error", 4: "warning", 5: "warning", 6: "error", 7: "warning"}


def test_credential_slots(project) -> None:  # type: ignore[no-untyped-def]
    _check(
        project,
        "app/slots.py",
        """
        import smtplib

        from cryptography.fernet import Fernet
        from fastapi import FastAPI
        from itsdangerous import URLSafeTimedSerializer
        from starlette.middleware.sessions import SessionMiddleware

        app = FastAPI()
        app.add_middleware(SessionMiddleware, secret_key="starlette-session-k3y!")  # expect: BL202
        serializer = URLSafeTimedSerializer("itsdangerous-s1gning")  # expect: BL202
        fernet = Fernet(b"ZmFrZS1mZXJuZXQta2V5LWZvci10ZXN0cy0wMDAwMDA=")  # expect: BL202


        def send(report):
            with smtplib.SMTP("smtp.example.com", 587) as server:
                server.login("reports", "Sm7p-Passw0rd")  # expect: BL202
                server.send_message(report)
        """,
    )


def test_not_secrets(project) -> None:  # type: ignore[no-untyped-def]
    _check(
        project,
        "app/labels.py",
        """
        import enum
        import os

        from pydantic import BaseModel


        class TokenKind(str, enum.Enum):
            ACCESS = "access"
            API_KEY = "api-key-7f3a9c"


        class Login(BaseModel):
            username: str
            password: str = ""
            grant_type: str = "password"


        SECRET_KEY = os.environ["SECRET_KEY"]
        PASSWORD_FIELD = "password"
        API_KEY_HEADER = "X-API-Key"
        token_url = "/auth/token"


        def login(password: str = "", token: str = None):
            if password == "":
                raise ValueError("Password is required")
            return {"error": "Invalid password"}
        """,
    )


def test_test_files_get_bl201_only(project) -> None:  # type: ignore[no-untyped-def]
    stripe_key = SAMPLES["stripe-live-key"][0]
    project.write(
        "app/test_billing.py",
        f'import pytest\n\nKEY = "{stripe_key}"\nPASSWORD = "s3cr3t-Passw0rd!"\n\n\ndef test_x():\n    assert KEY\n',
    )
    result = project.lint("app/test_billing.py", "--select", "BL2", "--format", "json", "--no-cache")
    assert [(f["line"], f["rule_id"]) for f in result.json()["findings"]] == [(3, "BL201")]


def test_comments_and_docstrings_are_scanned(project) -> None:  # type: ignore[no-untyped-def]
    token = SAMPLES["github-pat"][0]
    project.write("app/deploy.py", f'"""Deploys with {token}."""\n\nx = 1  # old token {token}\n')
    result = project.lint("app/deploy.py", "--select", "BL201", "--format", "json", "--no-cache")
    assert [(f["line"], f["column"]) for f in result.json()["findings"]] == [(1, 1), (3, 8)]


def test_grafana_service_account_token(project) -> None:  # type: ignore[no-untyped-def]
    """A Grafana service account token in an alerting client's settings; the same prefix with a
    checksum that is not hex, and the docs' run of x's, are not tokens."""
    token = SAMPLES["grafana-service-account-token"][0]
    project.write(
        "app/alerts.py",
        "import httpx\n\n"
        f'GRAFANA_TOKEN = "{token}"\n'
        f'NOT_A_CHECKSUM = "glsa_{token[5:37]}_zzzzzzzz"\n'
        f'PLACEHOLDER = "glsa_{"x" * 32}_{"0" * 8}"\n\n\n'
        "def annotate(text):\n"
        '    headers = {"Authorization": f"Bearer {GRAFANA_TOKEN}"}\n'
        '    return httpx.post("https://grafana.example.com/api/annotations", json={"text": text}, headers=headers)\n',
    )
    for output in ("json", "text", "sarif"):
        result = project.lint("app/alerts.py", "--select", "BL201", "--format", output, "--no-cache")
        assert token not in result.stdout
        assert token[5:37] not in result.stdout
    findings = project.lint("app/alerts.py", "--select", "BL201", "--format", "json", "--no-cache").json()["findings"]
    assert [(f["line"], f["rule_id"]) for f in findings] == [(3, "BL201")]
    assert "Grafana service account token" in findings[0]["message"]


def test_inline_suppression(project) -> None:  # type: ignore[no-untyped-def]
    project.write("app/conf.py", 'SECRET_KEY = "k9#Lm2$qW8vZ!pR4"  # backlint: ignore[BL202]\n')
    assert project.lint("app/conf.py", "--select", "BL2", "--no-cache").exit_code == 0


def test_user_tables_extend_formats_and_names(project) -> None:  # type: ignore[no-untyped-def]
    project.write(
        "pyproject.toml",
        textwrap.dedent(
            """
            [tool.backlint]
            [[tool.backlint.tables.secret-patterns]]
            id = "acme-token"
            description = "Acme API token"
            regex = 'acme_[a-z0-9]{32}'
            keywords = ["acme_"]

            [[tool.backlint.tables.secret-names]]
            words = "vaultcode"
            role = "password"
            """
        ),
    )
    token = "acme_" + _r(32, string.ascii_lowercase + string.digits)
    project.write("app/acme.py", f'ACME = "{token}"\nVAULTCODE = "Vx8#kL2mQ9!z"\n')
    result = project.lint("app/acme.py", "--select", "BL2", "--format", "json", "--no-cache")
    assert [(f["line"], f["rule_id"]) for f in result.json()["findings"]] == [(1, "BL201"), (2, "BL202")]
    assert "Acme API token" in result.json()["findings"][0]["message"]


def test_env_fallbacks(project) -> None:  # type: ignore[no-untyped-def]
    _check(
        project,
        "app/config.py",
        """
        import environ
        from decouple import config
        from starlette.config import Config

        env = environ.Env()
        starlette_config = Config(".env")

        SECRET_KEY = env("DJANGO_SECRET_KEY", default="dj-dev-9f8e7d6c5b4a")  # expect: BL204
        API_TOKEN = config("API_TOKEN", default="local-token-123")  # expect: BL204
        JWT_KEY = starlette_config("JWT_KEY", default="jwt-dev-key-42")  # expect: BL204
        REDIS_URL = config("REDIS_URL", default="redis://localhost:6379/0")
        DEBUG = config("DEBUG", default="false")
        """,
        select="BL204",
    )


def test_conninfo_strings(project) -> None:  # type: ignore[no-untyped-def]
    _check(
        project,
        "app/db.py",
        """
        import psycopg2

        conn = psycopg2.connect("host=db.example.com dbname=app user=app password=Pg-Pr0d-2024")  # expect: BL203
        odbc = "Driver={ODBC Driver 18};Server=sql.example.com;Database=app;Uid=app;Pwd=Sql-Pr0d-2024;"  # expect: BL203
        template = "host={host} dbname=app user=app password={password}"
        """,
    )


def test_high_entropy_is_opt_in(project) -> None:  # type: ignore[no-untyped-def]
    code = 'WEBHOOK_SIGNING = "q8Zt3vXh0Wm9Lr2Kd7Pf5Ns1Bc4Yg6Ja"\nBUNDLE_SHA256 = "' + _r(64, _HEX) + '"\n'
    project.write("app/hooks.py", code)
    assert project.lint("app/hooks.py", "--no-cache").exit_code == 0
    result = project.lint("app/hooks.py", "--select", "BL205", "--format", "json", "--no-cache")
    assert [(f["line"], f["level"]) for f in result.json()["findings"]] == [(1, "note")]


def test_find_secret_spans_covers_every_secret_of_a_file_and_nothing_else() -> None:
    """The output layer masks what ``find_secret_spans`` finds, whatever rules are selected."""
    from backlint.analysis.secrets.spans import find_secret_spans

    github = "ghp_" + "R8x2kQ7mZp4Lw9Tn3Vb6Yc1Hd5Fj0Gs2Ke8M"
    keys = 'aws_access_key_id="AKIAQX7PLM4NR2TZ6WKD", aws_secret_access_key="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"'
    source = textwrap.dedent(
        f"""
        import os
        import boto3

        client = boto3.client("s3", {keys})
        DB_PASSWORD = "Tr0ub4dor&3xyz"
        SECRET_KEY = os.getenv("SECRET_KEY", "dev-Kq8#zLm2Pw9x")
        DATABASE_URL = "postgresql://app:S3cretPass99@db.prod.internal/app"
        # token for the bot: {github}
        cursor.execute("CREATE USER reporter WITH PASSWORD 'R3p0rt!ng2024'")
        title = "not a secret at all"
        """
    )
    spans = find_secret_spans(source, KNOWLEDGE)
    masked = "".join(source[i] if not any(a <= i < b for a, b, _ in spans) else "*" for i in range(len(source)))
    for secret in (
        "AKIAQX7PLM4NR2TZ6WKD",
        "wJalrXUtnFEMIK7MDENGbPxRfiCYzQ3kL9vT2sHq",
        "Tr0ub4dor&3xyz",
        "dev-Kq8#zLm2Pw9x",
        "S3cretPass99",
        github,
        "R3p0rt!ng2024",
    ):
        assert secret in source and secret not in masked, secret
    for kept in ("aws_secret_access_key=", "DB_PASSWORD", "postgresql://app:", "@db.prod.internal", "not a secret"):
        assert kept in masked, kept
    kinds = {source[a:b]: kind for a, b, kind in spans}
    assert kinds["AKIAQX7PLM4NR2TZ6WKD"] == "aws-access-token"
    assert kinds["S3cretPass99"] == "url-password"
    assert kinds["R3p0rt!ng2024"] == "sql-password"
    assert kinds["Tr0ub4dor&3xyz"] == "credential-slot"
    assert find_secret_spans("def broken(:\n", KNOWLEDGE) == []


def test_prose_about_a_password_holds_no_sql_password() -> None:
    """A docstring that says "a password's name ... its class's fields" is no `PASSWORD '...'` SQL
    text: before, the apostrophes were taken for a quoted password, and the output masker then
    starred " around it " in every message of a run over this repository."""
    from backlint.analysis.secrets.spans import find_secret_spans

    source = textwrap.dedent(
        '''
        def password_name(self, name, around=()):
            """Is ``name`` a password's name here? Not when its only password word has another sense
            that the names around it speak of: ``around`` and the frame's own (its class's fields)."""
            return name in around


        cursor.execute("ALTER ROLE reporter PASSWORD 'R3p0rt!ng2024'")
        cursor.execute("SET PASSWORD = PASSWORD('Wh1sk3y-Tang0')")
        '''
    )
    found = [source[a:b] for a, b, _ in find_secret_spans(source, KNOWLEDGE)]
    assert found == ["R3p0rt!ng2024", "Wh1sk3y-Tang0"]


def test_names_that_look_secret_but_are_not(project) -> None:  # type: ignore[no-untyped-def]
    """Environment-variable names in a config mapping, a redaction marker, an emoji table entry, a
    fake funding source's stand-in secret, a token issuer: no credential among them."""
    _check(
        project,
        "app/mapping.py",
        """
        from pydantic import BaseModel, Field

        CONFIG_FROM_ENV_VARS = {
            "solr_password": "CKAN_SOLR_PASSWORD",
            "smtp.password": "CKAN_SMTP_PASSWORD",
            "image_generation.openai.api_key": "IMAGES_OPENAI_API_KEY",
        }
        PG_ENV = {"user": "PGUSER", "password": "PGPASSWORD", "host": "PGHOST"}
        EMOJIS = {"sunny": "☀", "secret": "㊙", "congratulations": "㊗"}


        def audit(data):
            if "password" in data:
                data["password"] = "[REDACTED]"
            return data


        class FakeWalletFundingSource(BaseModel):
            fake_wallet_secret: str = Field(default="ToTheMoon1")


        def log_issuer(log, token_issuer):
            log.warning(f"token issuer {token_issuer} is not trusted")
        """,
        select="BL2",
    )


def test_a_guard_refusing_a_placeholder_is_no_hardcoded_secret(project) -> None:  # type: ignore[no-untyped-def]
    """zou's guard against its own default key, fides skipping AUTH for the test Redis password,
    maubot generating a secret when told to: configuration compared with a literal. A parameter
    compared with one is a hardcoded credential."""
    _check(
        project,
        "app/config.py",
        """
        import os
        import secrets

        from app.settings import CONFIG

        DEBUG = os.getenv("DEBUG") == "1"
        SECRET_KEY = os.getenv("SECRET_KEY", "mysecretkey")
        if SECRET_KEY == "mysecretkey" and not DEBUG:
            raise RuntimeError("SECRET_KEY is set to the insecure default")


        def redis_kwargs():
            kwargs = {}
            if CONFIG.redis.password and not (CONFIG.test_mode and CONFIG.redis.password == "testpassword"):
                kwargs["password"] = CONFIG.redis.password
            return kwargs


        def shared_secret(config):
            secret = config["server.unshared_secret"]
            return secrets.token_urlsafe(32) if secret is None or secret == "generate" else secret


        def check_admin(password):
            return password == "Adm1n-2024!"  # expect: BL202
        """,
        select="BL2",
    )


def test_development_defaults_of_another_service_are_not_the_apps_secrets(project) -> None:  # type: ignore[no-untyped-def]
    """A database or Redis password's development default fails against the real service; the app's
    own signing key or admin password falling back to a default is used silently."""
    project.write(
        "app/fides_settings.py",
        "from pydantic_settings import BaseSettings\n\n\nclass FidesSettings(BaseSettings):\n    pass\n",
    )
    _check(
        project,
        "app/config.py",
        """
        import os

        from pydantic import Field
        from pydantic_settings import BaseSettings

        from .fides_settings import FidesSettings

        DATABASE = {
            "host": os.getenv("DB_HOST", "localhost"),
            "password": os.getenv("DB_PASSWORD", "mysecretpassword"),
        }


        class DatabaseSettings(FidesSettings):
            user: str = Field(default="postgres")
            password: str = Field(default="defaultpassword")


        class RedisSettings(FidesSettings):
            password: str = Field(default="testpassword")


        class AppSettings(BaseSettings):
            admin_password: str = "admin"  # expect: BL204
            jwt_secret: str = Field(default="changeme")  # expect: BL204


        def env(key, default=None):
            return os.environ.get(key, default)


        SIGNING_KEY = env("SIGNING_KEY", "insecure-signing-key")  # expect: BL204
        """,
        select="BL2",
    )


def test_markers_for_accounts_that_log_in_elsewhere_are_no_passwords(project) -> None:  # type: ignore[no-untyped-def]
    """An LDAP/SSO account's password column holds a marker (Django's unusable ``!`` prefix, a word
    saying where the account logs in); a real default password in the same place is reported."""
    _check(
        project,
        "app/accounts.py",
        """
        from app.models import User

        LDAP_PASSWORD_MARKER = "!ldap-managed"


        def import_ldap_user(name):
            return User(name=name, password="!ldap-managed")


        def create_sso_user(name):
            user = User(username=name)
            user.password = "external-auth"
            return user


        def create_default_admin():
            return User(name="admin", password="Adm1n-2024!")  # expect: BL202
        """,
    )


def test_a_comparison_that_refuses_a_value_is_a_guard(project) -> None:  # type: ignore[no-untyped-def]
    """A check that raises, exits or asserts when a setting still holds the shipped placeholder
    refuses it, whatever object the setting is read from; a login check comparing with a literal does not."""
    _check(
        project,
        "app/checks.py",
        """
        import sys


        def check_settings(settings):
            if settings.SECRET_KEY == "change-me-in-production":
                raise RuntimeError("set SECRET_KEY")
            if settings.jwt_secret == "s3cr3t-Jwt-2024":
                sys.exit("refusing the sample JWT secret")
            assert settings.api_token != "your-api-token-here", "configure the token"


        def login(password):
            if password == "Sup3r-S3cret!":  # expect: BL202
                return True
            return False
        """,
    )


def test_test_data_builders_create_sample_accounts(project) -> None:  # type: ignore[no-untyped-def]
    """ckan's CreateTestData and flaskbb's create_test_data create demo users with known passwords;
    the same literal in a function that creates a real account is reported."""
    _check(
        project,
        "app/lib/create_test_data.py",
        """
        from app import model


        class CreateTestData:
            @classmethod
            def create_test_user(cls):
                tester = model.User(name="tester", password="tester")
                model.Session.add(tester)


        def create_test_data(users=5):
            for u in range(users):
                model.User(username=f"test{u}", password="test", email=f"test{u}@example.org").save()


        def create_admin():
            model.User(name="admin", password="tester1234")  # expect: BL202
        """,
    )


def test_a_literal_password_given_to_a_hasher_or_user_creation_is_reported(project) -> None:  # type: ignore[no-untyped-def]
    """A default account's password hashed at startup, or passed positionally to ``create_user``."""
    _check(
        project,
        "app/bootstrap.py",
        """
        from django.contrib.auth.hashers import make_password
        from passlib.hash import bcrypt

        from app.models import User


        def bootstrap(request):
            admin_hash = bcrypt.hash("admin123")  # expect: BL202
            User.objects.create_user("admin", "admin@example.com", "admin123")  # expect: BL202
            User.objects.create_superuser("root", "root@example.com", "Root-2024!")  # expect: BL202
            other = make_password(request.POST["password"])
            bcrypt.verify("probe", admin_hash)
            return other


        # open-webui: verified on sign-in paths without an account, so that timing reveals nothing.
        PLACEHOLDER_HASH = bcrypt.hash("placeholder")
        """,
    )


def test_padded_tokens_and_documented_keys_are_samples() -> None:
    """A token whose random part is one character repeated, and keys a provider's documentation
    publishes, are samples; a random token of the same format is not."""
    assert not list(PATTERNS.search("sk_test_7neL" + "0" * 20))
    assert not list(PATTERNS.search("npm_fd4mx82mux4b" + "A" * 24))
    assert not list(PATTERNS.search("sk_test_4eC39HqLyjWDarjtT1zdp7dc"))
    assert [m.pattern.id for m in PATTERNS.search("sk_live_" + _r(24))] == ["stripe-live-key"]


def test_test_vectors_in_tests_are_not_leaks(project) -> None:  # type: ignore[no-untyped-def]
    """lemur-style test vectors: a private key or a signed token in a test file opens nothing outside
    the tests; a provider's token there is a leak all the same."""
    body = _PEM_BODY[:64] + "\\n" + _PEM_BODY[64:]
    pem = "-----BEGIN RSA PRIVATE KEY-----\\n" + body + "\\n-----END RSA PRIVATE KEY-----"
    token = _jwt({"sub": "svc-billing", "role": "admin"})
    aws = "AKIA" + _r(16, string.ascii_uppercase + "234567")
    text = f'INTERMEDIATE_KEY = "{pem}"\nADMIN_TOKEN = "{token}"\nAWS_KEY = "{aws}"\n'
    project.write("app/tests/vectors.py", text)
    project.write("app/keys.py", text)
    found = project.lint("app", "--select", "BL201", "--format", "json", "--no-cache").json()["findings"]
    got = {(f["path"], f["line"]) for f in found}
    assert got == {("app/tests/vectors.py", 3), ("app/keys.py", 1), ("app/keys.py", 2), ("app/keys.py", 3)}


def test_settings_classes_for_tests_and_development_hold_test_values(project) -> None:  # type: ignore[no-untyped-def]
    """A Flask-style config module's TestingConfig and DevelopmentConfig hold throwaway keys; the
    production class's literal key, and its fallback, are reported."""
    _check(
        project,
        "app/config.py",
        """
        import os


        class Config:
            SECRET_KEY = os.environ.get("SECRET_KEY", "k3y-Pr0d-2024")  # expect: BL204


        class TestingConfig(Config):
            TESTING = True
            SECRET_KEY = "t3st-s3cret-K3y"
            PI_PEPPER = os.environ.get("PI_PEPPER", "t3st-p3pper-2024")


        class DevelopmentConfig(Config):
            SECRET_KEY = "d3v-s3cret-K3y"


        class ProductionConfig(Config):
            SECRET_KEY = "Pr0d-s3cret-K3y!"  # expect: BL202
        """,
    )


def test_schema_dicts_naming_field_types_are_no_secrets(project) -> None:  # type: ignore[no-untyped-def]
    """A form or connector schema maps each field to its type or widget (`"api_key": "password"`);
    a dict mapping a secret name to a value is reported."""
    _check(
        project,
        "app/schema.py",
        """
        FIELD_TYPES = {"api_key": "password", "secret": "textarea", "host": "string", "port": "integer"}
        CONNECTOR = {"token": "secret", "url": "string"}
        SMTP = {"host": "smtp.example.com", "password": "Sm7p-Pa55word"}  # expect: BL202
        """,
    )


def test_one_character_and_no_password_markers(project) -> None:  # type: ignore[no-untyped-def]
    """``password="x"`` and ``password="nopassword"`` mark an account without a usable password."""
    _check(
        project,
        "app/accounts.py",
        """
        from app.models import User


        def service_accounts():
            User(name="robot", password="x")
            User(name="ci", password="nopassword")
            User(name="admin", password="admin-2024")  # expect: BL202
        """,
    )


def test_words_joined_by_an_equals_sign_are_a_label(project) -> None:  # type: ignore[no-untyped-def]
    """calibre-web's Google Drive watch channel token is a fixed ``key=value`` marker of words."""
    _check(
        project,
        "app/gdrive.py",
        """
        gdrive_watch_callback_token = "target=calibreweb-watch_files"
        webhook_token = "k9=Xr2vQ7pLm4Tz8"  # expect: BL202
        """,
    )


def test_literal_text_reads_plain_literals_without_evaluating_them_and_agrees_with_python() -> None:
    import ast

    import libcst as cst

    from backlint.analysis.strings import literal_text, plain_string_value

    literals = [
        "''", '""', "''''''", "'abc'", '"a\'b"', "'\"'", "u'x'", "U'x'", "r'a\\b'", "R'a\\'b'", "'''a'b\n'''",
        '"""x"y"""', "'\\n'", "'\\x41'", "b'x'", "rb'\\x'", "'''\r\n'''", "r'''\r'''", "'é\\u00e9'", "'é'",
    ]  # fmt: skip
    for literal in literals:
        expected = ast.literal_eval(literal)
        if isinstance(expected, bytes):
            expected = expected.decode("latin-1")
        assert literal_text(cst.SimpleString(literal)) == expected, literal
    assert plain_string_value("'abc'") == "abc" and plain_string_value("'\\n'") is None
    assert plain_string_value("b'x'") is None and plain_string_value("'''\r\n'''") is None


def test_keyword_prefilter_ignores_case_as_the_case_insensitive_regex_does() -> None:
    import re

    from backlint.analysis.strings import KeywordFilter

    words = ["sk_live", "ghp_", "akia", "-----begin"]
    keyword_filter = KeywordFilter(words)
    reference = re.compile("|".join(map(re.escape, words)), re.IGNORECASE)
    texts = ["AKIA123", "x = 'Sk_LiVe_1'", "nothing here", "GHP_", "\u212aey sk_live", "ſk_live", "é akia"]
    texts += ["-----BEGIN", "\u212a"]
    for text in texts:
        assert keyword_filter.search(text) == bool(reference.search(text)), text
        assert keyword_filter.search(text, 3) == bool(reference.search(text, 3)), text
