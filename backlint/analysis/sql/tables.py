"""The SQL knowledge tables (rules/tables/sql-*.toml) indexed for lookups, built once per ``Knowledge``."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backlint.core.catalog import Knowledge

UNKNOWN_HANDLE = "unknown"

# The API family of a sink (sql-sinks `api`): a DB-API driver call, an ORM's raw-SQL API, or a
# composition API that trusts its text (psycopg's sql.SQL). Text reaching none of them is UNREACHED.
DRIVER = "driver"
ORM = "orm"
COMPOSITION = "composition"
UNREACHED = "unreached"
APIS = (DRIVER, ORM, COMPOSITION)

# Rows written for earlier versions name the rule reporting the sink instead of its API.
_API_OF_RULE_COLUMN = {"BL101": DRIVER, "BL102": ORM, "BL103": COMPOSITION}


@dataclasses.dataclass(frozen=True)
class SinkRow:
    """One row of ``sql-sinks``: a call that executes (or composes) SQL."""

    api: str
    driver: str
    function: str | None
    handle: str | None
    method: str | None
    arg: int
    keyword: str | None
    shape: str
    params: bool
    example: str | None


@dataclasses.dataclass(frozen=True)
class Driver:
    """One row of ``sql-drivers``: how to name a driver and write its parameterized fix."""

    driver: str
    label: str
    paramstyle: str
    example: str
    identifier_fix: str | None
    string_quotes: str = "'"  # MySQL also reads "..." as a string


class SqlKnowledge:
    """The SQL tables indexed for lookups; built once per ``Knowledge`` object (``sql_knowledge``)."""

    def __init__(self, knowledge: Knowledge) -> None:
        self.function_sinks: dict[str, list[SinkRow]] = {}
        self.method_sinks: dict[tuple[str, str], list[SinkRow]] = {}
        for row in knowledge.rows("sql-sinks"):
            sink = SinkRow(
                api=row.get("api") or _API_OF_RULE_COLUMN.get(row.get("rule", ""), DRIVER),
                driver=row["driver"],
                function=row.get("function"),
                handle=row.get("handle"),
                method=row.get("method"),
                arg=int(row["arg"]),
                keyword=row.get("keyword") or None,
                shape=row.get("shape", "string"),
                params=bool(row.get("params", True)),
                example=row.get("example"),
            )
            if sink.function:
                self.function_sinks.setdefault(sink.function, []).append(sink)
            elif sink.handle and sink.method:
                self.method_sinks.setdefault((sink.handle, sink.method), []).append(sink)
        self.drivers = {
            row["driver"]: Driver(
                row["driver"],
                row["label"],
                row["paramstyle"],
                row["example"],
                row.get("identifier-fix"),
                row.get("string-quotes", "'"),
            )
            for row in knowledge.rows("sql-drivers")
        }
        self.handles: dict[str, dict[str, str]] = {}
        for row in knowledge.rows("sql-handles"):
            self.handles.setdefault(row["how"], {})[row["source"]] = row["handle"]
        grouped: dict[str, set[str]] = {}
        for row in knowledge.rows("sql-safe-values"):
            grouped.setdefault(row["how"], set()).add(row["name"])
        self.safe: dict[str, frozenset[str]] = {how: frozenset(names) for how, names in grouped.items()}
        self.safe_attribute_suffixes = tuple(sorted(self.safe.get("attribute", ())))
        self.sink_methods = frozenset(method for _, method in self.method_sinks)
        self.fix_params = list(knowledge.rows("sql-fix-params"))
        commands = knowledge.rows("sql-offline-commands")
        self.command_decorators = frozenset(r["name"] for r in commands if r["form"] == "decorator")
        self.command_methods = frozenset(r["name"] for r in commands if r["form"] == "method")

    def names(self, how: str) -> frozenset[str]:
        return self.safe.get(how, frozenset())

    def handle(self, how: str, source: str) -> str | None:
        return self.handles.get(how, {}).get(source)

    def trigger_tokens(self, apis: Iterable[str]) -> set[str]:
        """Raw-text tokens without which no sink of these APIs can occur (the parse pre-filter)."""
        wanted = set(apis)
        tokens: set[str] = set()
        for name, rows in self.function_sinks.items():
            if any(r.api in wanted for r in rows):
                tokens.add(name.rpartition(".")[2])
        for (_, method), rows in self.method_sinks.items():
            if any(r.api in wanted for r in rows):
                tokens.add(method)
        return tokens


def sql_knowledge(knowledge: Knowledge) -> SqlKnowledge:
    return knowledge.derived(SqlKnowledge)
