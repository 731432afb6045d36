"""File roles (backlint/pipeline/filekind.py) from realistic snippets, the catalog's applies-to per role,
the user's role overrides, and the one filter that applies them (backlint/pipeline/filters.py)."""

from __future__ import annotations

import pytest

from backlint.core.catalog import load_catalog
from backlint.core.results import FileKind, Finding, Span
from backlint.pipeline.filekind import RolePaths, classify
from backlint.pipeline.filters import kept_in_role, rule_applies

ALEMBIC_REVISION = '''"""add api keys

Revision ID: 3f2a9c1d7b4e
Revises: 1b9e0f6a2c3d
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "3f2a9c1d7b4e"
down_revision: Union[str, None] = "1b9e0f6a2c3d"


def upgrade() -> None:
    op.add_column("user", sa.Column("api_key", sa.String(64)))
'''

DJANGO_MIGRATION = """from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("orders", "0011_order_note")]
    operations = [migrations.AddField("order", "paid_at", models.DateTimeField(null=True))]
"""

MANAGEMENT_COMMAND = """from django.core.management.base import BaseCommand
from django.db import connection


class Command(BaseCommand):
    help = "Rebuild the search index table"

    def handle(self, *args, **options):
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE search_index")
"""

MAIN_GUARDED_SCRIPT = """import argparse
import sqlite3


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database")
    args = parser.parse_args()
    sqlite3.connect(args.database).execute("VACUUM")


if __name__ == "__main__":
    main()
"""

SPHINX_CONF = """project = "shop"
extensions = ["sphinx.ext.autodoc"]
html_theme = "furo"
"""

SEED_SCRIPT = """from app import create_app
from app.models import Product, db

with create_app().app_context():
    db.session.add_all([Product(name=f"Demo product {n}") for n in range(20)])
    db.session.commit()
"""

TEST_SETTINGS = """from .settings import *  # noqa: F403

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
SECRET_KEY = "tests-only"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
"""

# A package module with a __main__ block to try it by hand: still production.
TRY_OUT_BLOCK = """import httpx


def search(query: str) -> list[dict]:
    return httpx.get("https://search.example.org", params={"q": query}).json()["results"]


if __name__ == "__main__":
    print(search("flask"))
"""

# A launcher that serves the app: production (its debug flag matters).
LAUNCHER = """import argparse

from app import create_app

app = create_app()

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8000)
    app.run(port=parser.parse_args().port)
"""

CLASSIFIED = [
    ("app/db/versions/3f2a9c1d7b4e_add_api_keys.py", ALEMBIC_REVISION, FileKind.MIGRATION),
    ("alembic/env.py", "from alembic import context\n", FileKind.MIGRATION),
    ("orders/migrations/0012_order_paid_at.py", DJANGO_MIGRATION, FileKind.MIGRATION),
    ("legacy/schema_0012.py", DJANGO_MIGRATION, FileKind.MIGRATION),
    ("search/management/commands/rebuild_index.py", MANAGEMENT_COMMAND, FileKind.SCRIPT),
    ("search/jobs/rebuild_index.py", MANAGEMENT_COMMAND, FileKind.SCRIPT),
    ("vacuum.py", MAIN_GUARDED_SCRIPT, FileKind.SCRIPT),
    ("shop/maintenance/vacuum.py", MAIN_GUARDED_SCRIPT, FileKind.SCRIPT),
    ("scripts/vacuum.py", "import sqlite3\n", FileKind.SCRIPT),
    ("bin/backfill.py", "import sqlite3\n", FileKind.SCRIPT),
    ("tools/vacuum.py", MAIN_GUARDED_SCRIPT, FileKind.SCRIPT),
    ("shop/tools/pricing.py", "def price(cents: int) -> str:\n    return f'{cents / 100:.2f}'\n", FileKind.PRODUCTION),
    ("docs/conf.py", SPHINX_CONF, FileKind.DEV_TOOLING),
    ("doc/source/conf.py", SPHINX_CONF, FileKind.DEV_TOOLING),
    ("shop/conf.py", "TIMEOUT = 10\n", FileKind.PRODUCTION),
    ("noxfile.py", "import nox\n", FileKind.DEV_TOOLING),
    ("setup.py", "from setuptools import setup\n\nsetup()\n", FileKind.DEV_TOOLING),
    ("fabfile.py", "from fabric import task\n", FileKind.DEV_TOOLING),
    ("seed_db.py", SEED_SCRIPT, FileKind.SEED),
    ("shop/management/commands/populate_demo.py", SEED_SCRIPT, FileKind.SEED),
    ("db/seeds/products.py", SEED_SCRIPT, FileKind.SEED),
    ("shop/settings_test.py", TEST_SETTINGS, FileKind.TEST_CONFIG),
    ("tests/settings.py", TEST_SETTINGS, FileKind.TEST_CONFIG),
    ("shop/settings/ci.py", TEST_SETTINGS, FileKind.TEST_CONFIG),
    ("conftest.py", "import pytest\n", FileKind.TEST_CONFIG),
    ("tests/test_orders.py", "def test_total():\n    assert 1\n", FileKind.TEST),
    ("shop/search/engine.py", TRY_OUT_BLOCK, FileKind.PRODUCTION),
    ("run.py", LAUNCHER, FileKind.PRODUCTION),
    ("shop/views.py", "from flask import Blueprint\n", FileKind.PRODUCTION),
]


@pytest.mark.parametrize(("path", "source", "role"), CLASSIFIED, ids=[c[0] for c in CLASSIFIED])
def test_role_from_path_and_content(path: str, source: str, role: FileKind) -> None:
    from backlint.core.config import DEFAULT_TEST_PATHS

    knowledge = load_catalog().knowledge
    assert classify(path, source, RolePaths(test_paths=DEFAULT_TEST_PATHS), knowledge) is role


def test_overrides_come_first_and_non_production_paths_are_scripts() -> None:
    knowledge = load_catalog().knowledge
    paths = RolePaths(overrides=(("tools/*.py", "production"),), script_paths=("**/ops/**",))
    assert classify("tools/vacuum.py", MAIN_GUARDED_SCRIPT, paths, knowledge) is FileKind.PRODUCTION
    assert classify("shop/ops/rotate.py", "x = 1\n", paths, knowledge) is FileKind.SCRIPT


def test_catalog_policy_per_role() -> None:
    rules = load_catalog().rules
    everywhere = set(FileKind)
    assert {r for r in FileKind if rule_applies(rules["BL201"].applies_to, r)} == everywhere
    for secret_rule in ("BL202", "BL203", "BL204"):
        judged = {r for r in FileKind if rule_applies(rules[secret_rule].applies_to, r)}
        assert judged == everywhere - {FileKind.TEST, FileKind.TEST_CONFIG}
    assert rules["BL104"].applies_to == ("production", "script")
    assert dict(rules["BL101"].facet_roles) == {"sql-syntax": ("production", "script")}
    for production_only in ("BL402", "BL403", "BL501", "BL503", "BL601", "BL603"):
        assert rules[production_only].applies_to == ("production",)


def _finding(facet: str | None) -> Finding:
    return Finding("BL101", "x.py", Span(1, 1, 1, 2), "m", "error", facet=facet)


def test_sql_syntax_findings_stay_in_production_and_scripts_only() -> None:
    facets = {("BL101", "sql-syntax"): ("production", "script")}
    syntax, value = _finding("sql-syntax"), _finding(None)
    assert kept_in_role([syntax, value], FileKind.SCRIPT, facets) == [syntax, value]
    assert kept_in_role([syntax, value], FileKind.MIGRATION, facets) == [value]
    assert kept_in_role([syntax, value], FileKind.SEED, facets) == [value]


SCRIPT_SQL = """import sqlite3
import sys


def main() -> None:
    table = sys.argv[1]
    conn = sqlite3.connect("app.db")
    print(conn.execute(f"SELECT count(*) FROM {table}").fetchone())


if __name__ == "__main__":
    main()
"""


def test_roles_through_the_cli(project) -> None:  # type: ignore[no-untyped-def]
    project.write("scripts/count_rows.py", SCRIPT_SQL)
    project.write("benchmarks/count_rows.py", SCRIPT_SQL)
    project.write("shop/migrations/0012_order_paid_at.py", DJANGO_MIGRATION)
    project.write(
        "tests/test_payments.py", 'STRIPE = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"\nPASSWORD = "hunter2hunter2"\n'
    )
    shown = project.lint(".", "--show-files").stdout.splitlines()
    assert shown == [
        "benchmarks/count_rows.py\tdev-tooling",
        "scripts/count_rows.py\tscript",
        "shop/migrations/0012_order_paid_at.py\tmigration",
        "tests/test_payments.py\ttest",
    ]
    found = {(f["path"], f["rule_id"]) for f in project.lint(".", "--format", "json", "--no-cache").json()["findings"]}
    # SQL syntax from the command line: a script's finding, not a benchmark's; a known-format secret in a
    # test is reported, a guessable password there is not.
    assert found == {("scripts/count_rows.py", "BL104"), ("tests/test_payments.py", "BL201")}


def test_role_overrides_from_the_configuration(project) -> None:  # type: ignore[no-untyped-def]
    project.write("pyproject.toml", '[tool.backlint.roles]\n"scripts/*.py" = "dev-tooling"\n')
    project.write("scripts/count_rows.py", SCRIPT_SQL)
    assert project.lint(".", "--show-files").stdout == "scripts/count_rows.py\tdev-tooling\n"
    assert project.lint(".", "--format", "json", "--no-cache").json()["findings"] == []


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('"tools/*.py" = "prod"', "tool.backlint.roles.'tools/*.py': unknown role 'prod'; expected one of"),
        ('"tools/[a.py" = "script"', "tool.backlint.roles.'tools/[a.py': invalid glob"),
        ('"tools/*.py" = 1', "unknown role 1"),
    ],
)
def test_a_bad_role_override_is_a_configuration_error(project, table: str, message: str) -> None:  # type: ignore[no-untyped-def]
    project.write("pyproject.toml", f"[tool.backlint.roles]\n{table}\n")
    project.write("app.py", "x = 1\n")
    result = project.lint(".")
    assert result.exit_code == 2
    assert message in result.stderr


def test_the_catalog_reads_the_kinds_it_had_before_the_roles() -> None:
    from backlint.core.catalog import role_names

    assert role_names(["production", "non-production"]) == ("production", "script", "migration", "dev-tooling", "seed")
    assert role_names(["test", "seed", "non-production"]) == ("test", "seed", "script", "migration", "dev-tooling")


def test_a_role_row_from_the_configuration(project) -> None:  # type: ignore[no-untyped-def]
    project.write(
        "pyproject.toml",
        '[tool.backlint.tables]\nfile-roles = [{ role = "seed", glob = "**", content = "^from faker import" }]\n',
    )
    project.write("demo_data.py", "from faker import Faker\n\nFAKE = Faker()\n")
    assert project.lint(".", "--show-files").stdout == "demo_data.py\tseed\n"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ('{ role = "production", glob = "**" }', "file-roles.role: expected one of ['test-config', 'migration'"),
        ('{ role = "seed", glob = "**", content = "(?=faker)" }', "cannot be run in linear time by RE2"),
    ],
)
def test_a_bad_role_row_is_a_configuration_error(project, row: str, message: str) -> None:  # type: ignore[no-untyped-def]
    project.write("pyproject.toml", f"[tool.backlint.tables]\nfile-roles = [{row}]\n")
    project.write("app.py", "x = 1\n")
    result = project.lint(".")
    assert result.exit_code == 2
    assert message in result.stderr


def test_a_role_rows_regex_runs_only_where_its_leading_text_occurs() -> None:
    from backlint.pipeline.filekind import leading_literal

    assert leading_literal(r"(?m)^class Migration\((?:migrations\.)?Migration\)") == "class Migration("
    assert leading_literal(r"(?m)^down_revision\s*=") == "down_revision"
    assert leading_literal(r"(?m)^ab*c") == "a"  # an optional character ends the text every match holds
    assert leading_literal(r"(?m)^if\s+__name__|\bargparse\b") == ""  # alternatives: no common text
    assert leading_literal(r"(?mi)^class Command") == ""  # case ignored: `in` would miss
    assert leading_literal(r"(?m)^(unclosed") == ""
