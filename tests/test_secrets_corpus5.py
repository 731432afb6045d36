"""BL2xx false-alarm patterns of corpus batch 4 (fief-server, mautrix-googlechat, timesketch, thumbor,
octoprint), each with its hard positive: ``# expect: BL2xx`` comments are the exact findings."""

from __future__ import annotations

import json

from annotations import check_annotated
from conftest import run_cli


def _check(project, files: dict[str, str], *args: str) -> None:  # type: ignore[no-untyped-def]
    check_annotated(project, files, "BL2", *args)


def test_keys_public_by_design(project) -> None:  # type: ignore[no-untyped-def]
    """fief's telemetry module holds PostHog's project key (``phc_``): a write-only ingestion key that
    PostHog tells its users to ship in their web pages, as Stripe's publishable ``pk_live_`` keys. The
    ``public`` rows of the secret-patterns table recognise them as known formats (no rule takes them
    for a credential by their name) and BL201 does not report them; their secret counterparts, a
    PostHog personal API key (``phx_``) and a Stripe secret key, stay reported."""
    _check(
        project,
        {
            "fief/services/posthog.py": """
            from posthog import Posthog

            from fief.settings import settings

            POSTHOG_API_KEY = "phc_t2JtOiVM5CJCGSPKSHzovBvDXsNdRU4EP9GAmfixxew"
            STRIPE_PUBLISHABLE_KEY = "pk_live_tkzXDidfYmweH7fMESVcDlkr"

            posthog = Posthog(POSTHOG_API_KEY, host="https://eu.posthog.com", disabled=not settings.telemetry_enabled)
            """,
            "fief/services/admin.py": """
            import stripe

            POSTHOG_PERSONAL_API_KEY = "phx_v4KgLJEP73OC6YmdAAIDXU8z2IoCAztUJUybCN4N"  # expect: BL201
            stripe.api_key = "sk_live_ptt0Azn0DNRUQxA71p2Td8VK"  # expect: BL201
            """,
        },
    )


def test_the_api_key_of_a_providers_own_web_client(project) -> None:  # type: ignore[no-untyped-def]
    """mautrix-googlechat (a fork of hangups) sends the API key of Google's own Chat web client, the
    ``key`` parameter every browser on chat.google.com sends: the provider publishes it in its page,
    it opens no account (the secret-allowlist table lists it). Another Google API key stays reported,
    in a test file too."""
    _check(
        project,
        {
            "maugclib/client.py": """
            UPLOAD_URL = "https://chat.google.com/uploads"
            # API key for `key` parameter (from Hangouts web client)
            API_KEY = "AIzaSyD7InnYR3VKdb4j2rMUEbTCIr2VyEazl6k"
            GC_BASE_URL = "https://chat.google.com/u/0"
            """,
            "tests/test_maps.py": """
            MAPS_KEY = "AIzaSyBx3q9Vd7LwPk2mZr8TfYc4Ns6Hj1Ug5Qe"  # expect: BL201


            def test_geocode():
                assert MAPS_KEY
            """,
        },
    )


TESTLIB = '''
"""This module contains common test utilities for Timesketch."""

import os

from flask_testing import TestCase

from timesketch.app import create_app
from timesketch.models import db_session
from timesketch.models.user import User

os.environ.setdefault("TIMESKETCH_SETTINGS", "timesketch.lib.testlib.TestConfig")


class BaseTest(TestCase):
    """Base class for tests."""

    def create_app(self):
        return create_app(TestConfig)

    def _create_user(self, username, set_password=False, set_admin=False, password="test"):
        user = User.get_or_create(username=username, name=username)
        if set_password:
            user.set_password(plaintext=password, rounds=4)
        db_session.add(user)
        db_session.commit()
        return user

    def login(self, username="test1", password="test"):
        return self.client.post("/login/", data={"username": username, "password": password})

    def login_admin(self):
        return self.client.post("/login/", data={"username": "testadmin", "password": "test"})
'''


def test_a_test_support_library_in_the_package(project) -> None:  # type: ignore[no-untyped-def]
    """timesketch's ``lib/testlib.py`` (not under tests/) holds its BaseTest class, a Flask-Testing
    TestCase that creates and logs in the test users: test code by its content (a test harness import
    with a TestCase class) and by its conventional name, whatever the run (the project, the file
    alone, standard input). A production module's default password stays reported."""
    _check(
        project,
        {
            "timesketch/lib/testlib.py": TESTLIB,
            "timesketch/lib/accounts.py": """
            from timesketch.models import db_session
            from timesketch.models.user import User


            def create_admin(username, password="admin123"):  # expect: BL202
                user = User.get_or_create(username=username, name=username, admin=True)
                user.set_password(plaintext=password)
                db_session.add(user)
                db_session.commit()
                return user
            """,
        },
    )
    for args in (("timesketch/lib/testlib.py",), ("--stdin-filename", "timesketch/lib/testsupport.py")):
        result = run_cli(
            "check", "--select", "BL202", "--format", "json", "--no-cache", *args, cwd=project.root, input=TESTLIB
        )
        assert result.exit_code == 0 and json.loads(result.stdout)["findings"] == [], result.stdout


def test_a_module_that_declares_itself_for_development_and_testing(project) -> None:  # type: ignore[no-untyped-def]
    """octoprint's virtual printer plugin "provides a virtual printer via a virtual serial port for
    development and testing purposes" (its ``__plugin_description__``): a simulator, test support;
    the default passcode of its simulated lock feature is no account's credential. A plugin serving
    users keeps its default password reported."""
    plugin = """
        import octoprint.plugin


        class {name}Plugin(octoprint.plugin.SettingsPlugin):
            def get_settings_defaults(self):
                return {{"enabled": False, "locked": False, "{key}": "1234"}}{expect}


        __plugin_name__ = "{title}"
        __plugin_description__ = "{description}"
        """
    _check(
        project,
        {
            "octoprint/plugins/virtual_printer/__init__.py": plugin.format(
                name="VirtualPrinter",
                key="passcode",
                expect="",
                title="Virtual Printer",
                description="Provides a virtual printer via a virtual serial port for development and testing purposes",
            ),
            "octoprint/plugins/remote_access/__init__.py": plugin.format(
                name="RemoteAccess",
                key="password",
                expect="  # expect: BL202",
                title="Remote Access",
                description="Lets you reach your printer from anywhere, for development and production",
            ),
        },
    )


def test_an_example_url_in_a_help_text(project) -> None:  # type: ignore[no-untyped-def]
    """thumbor defines its SENTRY_DSN_URL option (empty by default) with a help text quoting an
    example DSN, the sentence and the URL joined by ``+``: a URL quoted in a sentence is an example,
    not a connection URL. A URL that starts the concatenation is one."""
    _check(
        project,
        {
            "thumbor/config.py": """
            from derpconf.config import Config

            Config.define(
                "SENTRY_DSN_URL",
                "",
                "Sentry thumbor project dsn. i.e.: "
                + "http://5a63d58ae7b94f1dab3dee740b301d6a:73eea45d3e8649239a973087e8f21f98@localhost:9000/2",
                "Errors - Sentry",
            )
            REPLICA = "postgresql://app:Xq7-thumbor-2024@db.prod.example.com:5432/" + "thumbor"  # expect: BL203
            """,
        },
    )


# --- corpus batch 5 (tuning: pantalaimon, ephios, scrapydweb) ---------------------------------------


def test_the_service_name_given_to_the_os_keyring(project) -> None:  # type: ignore[no-untyped-def]
    """pantalaimon keeps a client's access token in the OS keyring: ``keyring.set_password(service_name,
    username, password)``. The password-hashers' ``set_password`` method row (a setter's first argument
    is a password: ``user.set_password("admin")``) does not apply to a call the secret-sinks table names:
    there the password is the third argument. A literal there is a hardcoded password."""
    _check(
        project,
        {
            "pantalaimon/daemon.py": """
            import keyring


            class ProxyDaemon:
                def save_token(self, user_id, pan_client):
                    keyring.set_password(
                        "pantalaimon",
                        f"{user_id}-{pan_client.device_id}-token",
                        pan_client.access_token,
                    )

                def save_bot(self):
                    keyring.set_password("pantalaimon", "bot", "Xq7-bot-pass-2024")  # expect: BL202

                def reset(self, user):
                    user.set_password("admin123")  # expect: BL202
            """,
        },
    )


def test_a_command_that_loads_development_data(project) -> None:  # type: ignore[no-untyped-def]
    """ephios's ``manage.py devdata`` ("Load some data for development") creates a local admin and a user
    with passwords "admin" and "user": a script named for development data (``devdata``: dev and data
    glued) creates sample accounts. A command that creates the production admin stays reported."""
    command = """
        from django.contrib.auth.hashers import make_password
        from django.core.management.base import BaseCommand

        from ephios.core.models import UserProfile


        class Command(BaseCommand):
            help = "{help}"

            def handle(self, *args, **options):
                admin_user = UserProfile(email="admin@localhost", display_name="Admin")
                admin_user.is_superuser = True
                admin_user.password = make_password("admin"){expect}
                admin_user.save()
        """
    _check(
        project,
        {
            "ephios/core/management/commands/devdata.py": command.format(
                help="Load some data for development", expect=""
            ),
            "ephios/core/management/commands/createadmin.py": command.format(
                help="Create the administrator", expect="  # expect: BL202"
            ),
        },
    )


def test_a_regular_expression_that_parses_database_urls(project) -> None:  # type: ignore[no-untyped-def]
    """scrapydweb parses its configured DATABASE_URL with ``re.compile(r"mysql://(.+?)(?::(.+?))?@(.+?):(\\d+)")``:
    the pattern of a regular-expression call matches URLs, it holds no password. A URL stays reported."""
    _check(
        project,
        {
            "scrapydweb/utils/setup_database.py": r"""
            import re

            PATTERN_MYSQL = re.compile(r"mysql://(.+?)(?::(.+?))?@(.+?):(\d+)")
            FALLBACK = "mysql://scrapydweb:Xq7-scrapy-2024@db.prod.example.com:3306"  # expect: BL203


            def parse(database_url):
                return re.match(r"postgres://(.+?):(.+?)@(.+?):(\d+)", database_url)
            """,
        },
    )
