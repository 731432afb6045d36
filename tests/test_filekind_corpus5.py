"""File roles of test-support modules shipped in the package (corpus batch 4: timesketch's lib/testlib.py,
octoprint's virtual printer plugin), decided from the file itself, with their production look-alikes."""

from __future__ import annotations

import pytest

from backlint.core.catalog import load_catalog
from backlint.core.config import DEFAULT_TEST_PATHS
from backlint.core.results import FileKind
from backlint.pipeline.filekind import RolePaths, classify

FLASK_TESTING_BASE = """from flask_testing import TestCase

from app import create_app


class BaseTest(TestCase):
    def create_app(self):
        return create_app("testing")
"""

AIOHTTP_FIXTURES = """import pytest
from aiohttp.test_utils import TestClient


@pytest.fixture
async def client(aiohttp_client):
    return await aiohttp_client(make_app())
"""

SERVICE = """from flask import Blueprint

bp = Blueprint("users", __name__)


class UserService:
    def create(self, name):
        return name
"""

PLUGIN = """import octoprint.plugin


class VirtualPrinterPlugin(octoprint.plugin.SettingsPlugin):
    pass


__plugin_name__ = "Virtual Printer"
__plugin_description__ = "Provides a virtual printer via a virtual serial port for development and testing purposes"
"""

DOCSTRING = '''# Copyright the authors
"""An in-memory message broker for development and testing."""

QUEUE: list[str] = []
'''

ROUTE = '''"""Contains the `hello` route for testing and healthcheck purposes."""

from fastapi import APIRouter

router = APIRouter()
'''


@pytest.mark.parametrize(
    ("path", "source", "role"),
    [
        ("timesketch/lib/testlib.py", SERVICE, FileKind.TEST),  # by its conventional name
        ("app/testutils.py", SERVICE, FileKind.TEST),
        ("app/lib/base.py", FLASK_TESTING_BASE, FileKind.TEST),  # by its content: a test harness's TestCase
        ("app/fixtures.py", AIOHTTP_FIXTURES, FileKind.TEST),  # pytest fixtures
        ("app/lib/base.py", SERVICE, FileKind.PRODUCTION),
        ("octoprint/plugins/virtual_printer/__init__.py", PLUGIN, FileKind.TEST),
        ("app/broker/memory.py", DOCSTRING, FileKind.TEST),
        ("app/api/root.py", ROUTE, FileKind.PRODUCTION),  # a route "for testing and healthcheck": production
    ],
)
def test_test_support_by_name_or_content(path: str, source: str, role: FileKind) -> None:
    knowledge = load_catalog().knowledge
    assert classify(path, source, RolePaths(test_paths=DEFAULT_TEST_PATHS), knowledge) is role
