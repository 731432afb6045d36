"""BL101/BL102/BL104 in a command-line command of a production module (table ``sql-offline-commands``):
an admin CLI an operator runs is offline code, judged as a script — a value is reported only when
outside input reaches it, and the command's own parameters are that input."""

from __future__ import annotations

import textwrap
from typing import Any

# timesketch's tsctl.py (import-db): after a restore, each PostgreSQL sequence is moved past the
# table's highest id; table and column names come from the ORM's metadata, the sequence name from the
# database, the id is an integer.
TSCTL = '''
import click
import sqlalchemy

from timesketch.models import BaseModel, db_session


@click.group()
def cli():
    """Timesketch admin CLI."""


@cli.command(name="import-db")
@click.argument("filepath", type=click.Path(exists=True, dir_okay=False))
def import_db(filepath):
    for table in BaseModel.metadata.sorted_tables:
        for column in table.primary_key.columns:
            query_string = (
                "SELECT pg_get_serial_sequence("
                f"'\\"{table.name}\\"', '{column.name}')"  # fix-up
            )
            seq_name = db_session.execute(sqlalchemy.text(query_string)).scalar()
            if seq_name:
                max_id_val = db_session.execute(
                    sqlalchemy.text(f'SELECT MAX("{column.name}") FROM "{table.name}"')
                ).scalar()
                max_id = max_id_val or 1
                db_session.execute(sqlalchemy.text(f"SELECT setval('{seq_name}', {max_id}, true);"))  # fix-up
    db_session.commit()


@cli.command(name="drop-sketch")
@click.argument("name")
def drop_sketch(name):
    db_session.execute(sqlalchemy.text(f"DELETE FROM sketch WHERE name = '{name}'"))  # expect: BL102


@cli.command(name="purge")
@click.option("--table")
def purge(table):
    _purge(table)


def _purge(table_name):
    db_session.execute(sqlalchemy.text(f"DELETE FROM archive WHERE kind = '{table_name}'"))  # expect: BL102
'''


def _found(project: Any, code: str, path: str) -> set[tuple[int, str]]:
    project.write(path, textwrap.dedent(code))
    result = project.lint(path, "--select", "BL101,BL102,BL104", "--format", "json")
    assert result.exit_code in (0, 1), result.stderr
    return {(f["line"], f["rule_id"]) for f in result.json()["findings"]}


def _expected(code: str) -> set[tuple[int, str]]:
    lines = textwrap.dedent(code).splitlines()
    return {(n, line.split("# expect: ")[1].strip()) for n, line in enumerate(lines, 1) if "# expect: " in line}


def test_an_admin_cli_command_is_judged_as_offline_code(project: Any) -> None:
    """The restore's sequence fix-up reads no outside input: not reported; a command's argument
    interpolated into SQL is (also through a helper it calls)."""
    assert _found(project, TSCTL, "timesketch/tsctl.py") == _expected(TSCTL)


def test_the_same_sql_in_a_plain_function_keeps_the_strict_reading(project: Any) -> None:
    plain = TSCTL.replace('@cli.command(name="import-db")\n', "").replace(
        '@click.argument("filepath", type=click.Path(exists=True, dir_okay=False))\n', ""
    )
    lines = textwrap.dedent(plain).splitlines()
    fixup = {n for n, line in enumerate(lines, 1) if "# fix-up" in line}
    assert len(fixup) == 2
    assert {line for line, _ in _found(project, plain, "timesketch/restore.py")} >= fixup
