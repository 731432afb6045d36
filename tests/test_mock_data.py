"""BL501–BL506 through the real CLI: test files are never reported, and the data that is not mock."""

from __future__ import annotations

import textwrap

from annotations import expected_findings

FASTAPI = """
from fastapi import FastAPI

app = FastAPI()
"""


def _lint(project, files: dict[str, str], *args: str) -> tuple[set[tuple[str, int, str]], dict]:  # type: ignore[no-untyped-def]
    for relative, text in files.items():
        project.write(relative, textwrap.dedent(text).lstrip("\n"))
    data = project.lint(*files, "--format", "json", *args).json()
    return {(f["path"], f["line"], f["rule_id"]) for f in data["findings"]}, data


def _expected(files: dict[str, str], prefix: str) -> set[tuple[str, int, str]]:
    return {
        (path, line, rule_id)
        for path, text in files.items()
        for line, rule_id in expected_findings(textwrap.dedent(text).lstrip("\n"))
        if rule_id.startswith(prefix)
    }


def test_test_files_never_get_mock_data_findings(project) -> None:  # type: ignore[no-untyped-def]
    body = """
        from unittest.mock import MagicMock

        from faker import Faker
        from fastapi import FastAPI

        app = FastAPI()
        fake_users_db = {"alice": {"name": "Alice"}}


        @app.get("/users")
        def users():
            # mock data for now
            return [{"id": 1, "name": "John Doe"}, {"id": 2, "name": "Jane Doe"}]


        @app.get("/users/{name}")
        def user(name: str):
            return fake_users_db[name]
    """
    files = {"tests/test_users.py": body, "app/conftest.py": body, "app/users_test.py": body}
    found, _ = _lint(project, files, "--select", "BL5")
    assert found == set()
    found, _ = _lint(project, {"app/users.py": body}, "--select", "BL5")
    assert {rule for _, _, rule in found} == {"BL501", "BL502", "BL503", "BL505"}


def test_bl501_type_checking_support_modules_and_allowed_libraries(project) -> None:  # type: ignore[no-untyped-def]
    files = {
        "app/clients.py": """
            from typing import TYPE_CHECKING

            import freezegun  # expect: BL501
            from faker import Faker  # expect: BL501

            if TYPE_CHECKING:
                from unittest import mock


            def now():
                return freezegun.api.FakeDatetime.now()
        """,
        "app/testing/helpers.py": "from unittest.mock import patch\n",
        "app/management/commands/test.py": "from django.test.utils import get_runner\n",
        "app/mockingbird.py": "import mockingbird\nfrom stubborn import retry\n",
    }
    found, data = _lint(project, files, "--select", "BL501")
    assert found == _expected(files, "BL501")
    assert any("`now` uses it" in f["message"] for f in data["findings"])
    project.write("pyproject.toml", '[tool.backlint]\nallowed-in-production = ["faker"]\n')
    found, _ = _lint(project, files, "--select", "BL501")
    assert found == {("app/clients.py", 3, "BL501")}


def test_bl501_development_fallbacks_and_real_request_clients(project) -> None:  # type: ignore[no-untyped-def]
    files = {
        # zou: fakeredis only when the job queue's Redis is down in a debug run; production re-raises
        "app/stores/queue_store.py": """
            import redis

            from app import config

            queue_store = redis.StrictRedis(host=config.REDIS_HOST)
            try:
                queue_store.ping()
            except redis.ConnectionError:
                if config.DEBUG:
                    import fakeredis

                    queue_store = fakeredis.FakeStrictRedis()
                else:
                    raise
        """,
        "app/stores/cache_store.py": """
            from app import config

            if not config.DEBUG:
                import fakeredis  # expect: BL501
            else:
                from mongomock import MongoClient  # expect-not: BL501
        """,
        # pretalx: the static schedule export renders the real views through Django's test client
        "app/agenda/html_export.py": """
            import contextlib


            @contextlib.contextmanager
            def export_client(event):
                from django.test import Client

                yield Client()
        """,
        "app/agenda/fakes.py": "from django.test import Client, override_settings  # expect: BL501\n",
    }
    found, _ = _lint(project, files, "--select", "BL501")
    assert found == _expected(files, "BL501")


def test_bl501_null_objects_and_fault_injection_hooks_make_no_data(project) -> None:  # type: ignore[no-untyped-def]
    files = {
        # kiwitcms tcms/rpc/utils.py: the RPC API reuses the attachment view with a request it builds;
        # the view calls messages.success(), so the request's message storage is a null object
        "tcms/rpc/utils.py": """
            import io

            from attachments import views as attachment_views
            from django.http import HttpRequest
            from mock import MagicMock


            def request_for_upload(user, data):
                request = HttpRequest()
                request.user = user
                request.method = "POST"
                # because attachment.views.add_attachment() calls messages.success()
                request._messages = MagicMock()
                request._stream = io.BytesIO(data.encode())
                return request


            def add_attachment(obj_id, user, data):
                return attachment_views.add_attachment(request_for_upload(user, data), obj_id)
        """,
        # doccano backend/data_import/models.py: a dataset kind without labels gets a label type whose
        # manager stores and returns nothing
        "data_import/models.py": """
            from unittest.mock import MagicMock

            from label_types.models import CategoryType


            class DummyLabelType(CategoryType):
                objects = MagicMock()

                class Meta:
                    proxy = True
        """,
        # prefect server/utilities/messaging/memory.py: the broker protocol's test hook, which makes
        # publishing fail for a block
        "prefect/messaging/memory.py": """
            from contextlib import asynccontextmanager


            @asynccontextmanager
            async def break_topic():
                from unittest import mock

                publishing_mock = mock.AsyncMock(side_effect=ValueError("oops"))

                with mock.patch("prefect.messaging.memory.Topic.publish", publishing_mock):
                    yield
        """,
        # the same library making data, or standing in for a service, is still reported
        "app/clients.py": """
            from unittest.mock import MagicMock  # expect: BL501

            from app.base import Client

            failing = MagicMock(side_effect=ConnectionError("down"))


            class Gateway:
                session = MagicMock()


            class Payments(Client):
                session = MagicMock(return_value={"status": "paid"})


            def attach(app):
                app.state.payments = MagicMock()
        """,
        "app/views.py": """
            from django.http import HttpRequest
            from mock import Mock  # expect: BL501


            def preview(user):
                request = HttpRequest()
                request.user = Mock(is_staff=True)
                return request


            def as_anyone():
                request = HttpRequest()
                request.user = Mock()
                return request
        """,
    }
    found, _ = _lint(project, files, "--select", "BL501")
    assert found == _expected(files, "BL501")
    for clause in ("failing = ", "class Gateway:", "class Payments", "def attach"):
        only = {"app/clients.py": _only(files["app/clients.py"], clause)}
        assert _lint(project, only, "--select", "BL501")[0] == {("app/clients.py", 1, "BL501")}, clause
    only = {"app/views.py": _only(files["app/views.py"], "def as_anyone")}
    assert _lint(project, only, "--select", "BL501")[0] == {("app/views.py", 2, "BL501")}


def _only(code: str, clause: str) -> str:
    """The module's imports and the one block starting with ``clause``."""
    blocks = textwrap.dedent(code).lstrip("\n").split("\n\n\n")
    head = textwrap.dedent(code).lstrip("\n").split("\n\n")[0]
    return head + "\n\n\n" + next(b.strip("\n") for b in blocks if clause in b) + "\n"


def test_bl502_stores_by_token_through_helpers_and_fake_modules(project) -> None:  # type: ignore[no-untyped-def]
    files = {
        "app/main.py": FASTAPI
        + """
from . import fake_db
from .store import get_user

mockingbird_sightings = [{"id": 1, "place": "park"}]
dummy_inventory = {"A-1": 3}


@app.get("/users/{name}")
async def read_user(name: str):
    return get_user(name)


@app.get("/stock/{sku}")
async def stock(sku: str):
    return {"sku": sku, "count": dummy_inventory[sku]}  # expect: BL502


@app.get("/plans")
async def plans():
    return fake_db.PLANS  # expect: BL502


@app.get("/sightings")
async def sightings():
    return mockingbird_sightings
""",
        "app/store.py": """
            fake_users = {"alice": {"name": "Alice", "plan": "pro"}}


            def get_user(name):
                return fake_users.get(name)  # expect: BL502
        """,
        "app/fake_db.py": 'PLANS = [{"name": "basic", "price": 0}, {"name": "pro", "price": 9}]\n',
    }
    found, _ = _lint(project, files, "--select", "BL502")
    assert found == _expected(files, "BL502")


def test_bl503_levels_and_what_is_not_mock(project) -> None:  # type: ignore[no-untyped-def]
    files = {
        "app/main.py": FASTAPI
        + """
from .repo import load_rates

LANGUAGES = [{"code": "en", "label": "English", "rtl": False}, {"code": "ar", "label": "Arabic", "rtl": True}]


@app.get("/team")
async def team():
    return [{"role": "lead", "since": 2019}, {"role": "ops", "since": 2021}]  # expect: BL503


@app.get("/customers")
async def customers():
    return [{"id": 1, "email": "a@example.com"}, {"id": 2, "email": "b@example.com"}]  # expect: BL503


@app.get("/languages")
async def languages():
    return LANGUAGES


@app.get("/rates")
async def rates():
    base = load_rates()
    return [{"ccy": "EUR", "rate": 1.0}, {"ccy": "USD", "rate": base}]


@app.get("/healthz")
async def healthz():
    return [{"check": "db", "ok": True}, {"check": "cache", "ok": True}]


@app.get("/api/v1/version")
async def version():
    return [{"component": "api", "version": "1.2"}, {"component": "ui", "version": "1.3"}]
""",
        "app/repo.py": "def load_rates():\n    return 1.1\n",
    }
    found, data = _lint(project, files, "--select", "BL503")
    assert found == _expected(files, "BL503")
    levels = {f["line"]: f["level"] for f in data["findings"]}
    assert levels == {12: "note", 17: "warning"}, "corroboration (sequential ids, example.com) makes it a warning"


def test_bl504_bl505_bl506(project) -> None:  # type: ignore[no-untyped-def]
    files = {
        "app/main.py": FASTAPI
        + """
import os
import random
import uuid

from .prices import price_list


@app.get("/dice")
async def dice():
    value = random.randint(1, 6)
    return {"value": value, "request_id": str(uuid.uuid4()), "tip": random.choice(TIPS)}  # expect: BL504


@app.get("/banner")
async def banner():
    label = "this is a placeholder value for now"  # a string, not a comment
    return {"label": label}


# placeholder data for now: outside any endpoint
@app.get("/prices")
async def prices():
    return await price_list()


@app.get("/quotes")
async def quotes():
    data = FAKE_QUOTES if os.getenv("USE_FAKE_QUOTES") else await load_quotes()  # expect: BL506
    return data
""",
        "app/prices.py": """
            from .config import settings


            async def price_list():
                if settings.MOCK_PRICES:  # expect: BL506
                    return [{"sku": "A", "price": 1.0}]
                return await fetch_prices()
        """,
    }
    found, _ = _lint(project, files, "--select", "BL504,BL505,BL506")
    assert found == _expected(files, "BL504") | _expected(files, "BL506")


def test_bl503_bl504_records_made_in_loops_reach_the_response(project) -> None:  # type: ignore[no-untyped-def]
    """Issue 16 item 6: records built by a comprehension or a generator of literals and random values,
    returned directly, through a local, ``sorted()`` or ``list()``."""
    files = {
        "app/main.py": FASTAPI
        + """
import random

SENSORS = load_sensor_names()


@app.get("/products")
def list_products():
    return [{"id": i, "name": f"Product {i}", "price": 9.99} for i in range(1, 11)]  # expect: BL503


@app.get("/leaderboard")
def leaderboard():
    players = [{"name": n, "score": random.randint(0, 100)} for n in ["ana", "ben", "cleo"]]  # expect: BL503, BL504
    return sorted(players, key=lambda p: p["score"], reverse=True)


@app.get("/sensors")
def sensors():
    readings = ({"sensor": s, "celsius": round(random.uniform(18, 24), 1)} for s in SENSORS)  # expect: BL504
    return list(readings)


@app.get("/pages")
def pages(count: int):
    return [{"page": n, "size": 50} for n in range(count)]


@app.get("/colors")
def colors():
    return [{"id": i, "name": name} for i, name in enumerate(["red", "green"])]
""",
    }
    found, data = _lint(project, files, "--select", "BL503,BL504")
    assert found == _expected(files, "BL503") | _expected(files, "BL504")
    products = next(f for f in data["findings"] if "`list_products`" in f["message"])
    assert "10 hardcoded records" in products["message"] and "sequential `id`" in products["message"]


def test_bl505_markers_next_to_literal_records(project) -> None:  # type: ignore[no-untyped-def]
    """Issue 16 item 6: "stub", "placeholder", "TODO: load from …" beside the records an endpoint returns,
    in a comment above a module constant or in the endpoint's docstring; not beside anything else."""
    files = {
        "app/main.py": FASTAPI
        + """
# Placeholder until the facilities service exposes offices  # expect: BL505
OFFICES = [{"city": "Lyon", "desks": 40}, {"city": "Porto", "desks": 25}]

# TODO: load from the products table  # expect: BL505
PRODUCTS = [
    {"sku": "A-100", "price": 5.0},
    {"sku": "B-200", "price": 20.0},
]


@app.get("/offices")
def offices():
    return OFFICES  # expect: BL503


@app.get("/products")
def products():
    return PRODUCTS  # expect: BL503


@app.get("/staff")
def staff():
    \"\"\"Stub: the directory sync is not wired yet.\"\"\"  # expect: BL505
    return [{"name": "Ana Lima", "desk": "B2"}, {"name": "Ben Ode", "desk": "C4"}]  # expect: BL503


@app.get("/regions")
def regions(db=Depends(get_db)):
    \"\"\"Regions of the map.\"\"\"
    # placeholder: swap for the geo index later
    return db.query(Region).all()
""",
    }
    found, _ = _lint(project, files, "--select", "BL503,BL505")
    assert found == _expected(files, "BL503") | _expected(files, "BL505")


def test_bl504_a_random_file_name_passed_to_a_function_is_not_its_result(project) -> None:  # type: ignore[no-untyped-def]
    """khoj's /transcribe writes the upload to a file with a uuid4 name and answers the transcription
    of that file: the function called with the random name computes another value (as phoenix's
    compaction message built with a new ``message_id=str(uuid4())``, stored and returned). A random value
    converted (``round()``, ``str()``, a constructor) still is one."""
    files = {
        "app/main.py": FASTAPI
        + """
import json
import random
import uuid

from fastapi import Response, UploadFile

from .speech import transcribe_audio


@app.post("/transcribe")
async def transcribe(file: UploadFile):
    audio_filename = f"{uuid.uuid4()}.webm"
    with open(audio_filename, "wb") as writer:
        writer.write(await file.read())
    user_message = await transcribe_audio(audio_filename)
    content = json.dumps({"text": user_message})
    return Response(content=content, media_type="application/json", status_code=200)


@app.post("/sessions/{session_id}/compact")
async def compact(session_id: int, summary: str):
    compaction_message = build_compaction_message(message_id=str(uuid.uuid4()), summary=summary)
    await save_message(session_id, compaction_message)
    return CompactResponse(data=compaction_message)


@app.get("/weather")
async def weather():
    reading = round(random.uniform(18, 25), 1)
    return {"celsius": str(reading)}  # expect: BL504
""",
    }
    found, _ = _lint(project, files, "--select", "BL504")
    assert found == _expected(files, "BL504")


def test_bl505_a_documented_fallback_that_answers_nothing(project) -> None:  # type: ignore[no-untyped-def]
    """opal-server's default data route: its docstring calls it "a fake data source", it answers an
    empty dataset and logs that the data sources are not configured. A stub that answers data keeps
    its finding."""
    files = {
        "app/main.py": FASTAPI
        + """
import logging

logger = logging.getLogger(__name__)


@app.get("/policy-data")
async def default_all_data():
    \"\"\"A fake data source configured to be fetched by the default data source config.

    If DATA_CONFIG_SOURCES is not set, clients hit this route, which returns an empty dataset.
    \"\"\"
    logger.warning("Serving the default all-data route: DATA_CONFIG_SOURCES is not configured")
    return {}


@app.get("/stats")
async def stats():
    \"\"\"Fake data for now, until the reporting service exists.\"\"\"  # expect: BL505
    logger.warning("stats are not implemented")
    return {"users": 1234, "revenue": 56789}
""",
    }
    found, _ = _lint(project, files, "--select", "BL505")
    assert found == _expected(files, "BL505")
