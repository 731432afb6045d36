"""Is this call a log call? (after ruff's ``is_logger_candidate``.)

Shared by the rules that care what reaches the logs (BL304) and whether an error was logged
(BL4xx). The names live in ``rules/tables/loggers.toml``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import libcst as cst

from backlint.core.imports import dotted_name

if TYPE_CHECKING:
    from backlint.core.catalog import Knowledge
    from backlint.core.rule import FileContext

# What a local name was bound to: the qualified name of the call that created it, if known.
OriginOf = Callable[[str], "str | None"]


@dataclasses.dataclass(frozen=True)
class LoggerTable:
    functions: frozenset[str]
    factories: frozenset[str]
    objects: frozenset[str]
    levels: frozenset[str]
    callables: frozenset[str]
    outputs: frozenset[str]


def logger_table(knowledge: Knowledge) -> LoggerTable:
    return knowledge.derived(_table)


def _table(knowledge: Knowledge) -> LoggerTable:
    rows = knowledge.rows("loggers")

    def names(role: str) -> frozenset[str]:
        return frozenset(row["name"] for row in rows if row["role"] == role)

    return LoggerTable(
        functions=names("function"),
        factories=names("factory"),
        objects=names("object"),
        levels=names("level"),
        callables=names("callable"),
        outputs=names("output"),
    )


def looks_like_logger(name: str) -> bool:
    """``logger``, ``log``, ``_LOG``, ``self.logger``, ``audit_logger``, ``app.logger``."""
    last = name.rpartition(".")[2].lstrip("_").lower()
    return last.startswith("log") or last.endswith(("logger", "logging"))


class LogCalls:
    """Classifies calls of one file; ``origin_of`` tells what a bare local name was assigned from."""

    def __init__(self, context: FileContext, origin_of: OriginOf | None = None) -> None:
        self.context = context
        self.table = logger_table(context.knowledge)
        self.origin_of = origin_of

    def is_log_call(self, call: cst.Call) -> bool:
        """A logging call: ``logging.info(...)``, ``logger.error(...)``, ``sentry_sdk.capture_exception(...)``."""
        qualified = self.context.qualified_name(call.func) or ""
        if qualified in self.table.functions or qualified in self.table.callables:
            return True
        func = call.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in self.table.levels:
            return False
        return self.is_logger(func.value)

    def is_logger(self, node: cst.BaseExpression) -> bool:
        if isinstance(node, cst.Call):  # logging.getLogger(__name__).info(...)
            return (self.context.qualified_name(node.func) or "") in self.table.factories
        written = dotted_name(node)
        if written is None:
            return False
        qualified = self.context.qualified_name(node) or written
        if qualified in self.table.objects:
            return True
        if self.origin_of is not None and "." not in written:
            origin = self.origin_of(written)
            if origin is not None:
                return origin in self.table.factories or origin in self.table.objects
        return looks_like_logger(written)

    def is_output_call(self, call: cst.Call) -> bool:
        """``print(...)``, ``pprint.pprint(...)``, ``sys.stderr.write(...)``: console output."""
        return (self.context.qualified_name(call.func) or "") in self.table.outputs

    @staticmethod
    def logs_traceback(call: cst.Call) -> bool:
        """``.exception(...)`` or a truthy ``exc_info=``."""
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value == "exception":
            return True
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value == "exc_info":
                value: Any = arg.value
                return not (isinstance(value, cst.Name) and value.value in ("False", "None"))
        return False
