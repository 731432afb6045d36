"""BL4xx: error handling — failures must become logged errors and proper responses."""

from __future__ import annotations

import libcst as cst

from backlint.analysis.exceptions import caught_names, is_broad
from backlint.core.rule import Rule

_OPTIONAL_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError"})
_TEARDOWN_FUNCTIONS = frozenset({"__del__", "__exit__", "__aexit__"})


def _discards(statement: cst.BaseSmallStatement) -> bool:
    """``pass``, ``...``, a string, ``continue`` or a bare ``return``: the error and the outcome vanish.

    ``return None``/``return False`` hand the failure to the caller as a sentinel (the
    ``parse_date_safe`` idiom), so they are not counted as swallowing.
    """
    if isinstance(statement, (cst.Pass, cst.Continue)):
        return True
    if isinstance(statement, cst.Expr):
        return isinstance(statement.value, (cst.Ellipsis, cst.SimpleString, cst.ConcatenatedString))
    return isinstance(statement, cst.Return) and statement.value is None


def _small_statements(suite: cst.BaseSuite) -> list[cst.BaseSmallStatement] | None:
    """The simple statements of a block, or None if it holds a compound statement."""
    if isinstance(suite, cst.SimpleStatementSuite):
        return list(suite.body)
    out: list[cst.BaseSmallStatement] = []
    for line in suite.body:
        if not isinstance(line, cst.SimpleStatementLine):
            return None
        out.extend(line.body)
    return out


class ExceptionSwallowed(Rule):
    """An ``except`` for broad or data-store errors whose body does nothing with the error."""

    id = "BL402"
    TRIGGERS = ("except",)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        body = _small_statements(node.body)
        if not body or not all(_discards(s) for s in body):
            return
        names = caught_names(node, self.context)
        if names is not None and any(n.rpartition(".")[2] in _OPTIONAL_IMPORT_ERRORS for n in names):
            return
        if not is_broad(node, self.context) and not self.context.options["check-typed-exceptions"]:
            return
        if self._in_teardown() or self._guards_only_cleanup():
            return
        caught = "except:" if node.type is None else f"except {cst.Module([]).code_for_node(node.type)}:"
        self.report(
            node,
            f"`{caught}` swallows the error: it is neither logged, re-raised nor answered; "
            "log it with logger.exception() and re-raise or return an error response",
        )

    def _in_teardown(self) -> bool:
        """In ``finally``, ``__del__``/``__exit__``, or a method named like cleanup (``close``)."""
        cleanup = self.context.knowledge.values("cleanup-methods", "name")
        for ancestor in self.context.ancestors:
            if isinstance(ancestor, cst.Finally):
                return True
            if isinstance(ancestor, cst.FunctionDef) and (
                ancestor.name.value in _TEARDOWN_FUNCTIONS or ancestor.name.value in cleanup
            ):
                return True
        return False

    def _guards_only_cleanup(self) -> bool:
        """A best-effort teardown: every statement of the try body calls a cleanup method."""
        try_node = self.context.ancestors[-2]
        if not isinstance(try_node, (cst.Try, cst.TryStar)):
            return False
        body = _small_statements(try_node.body)
        if not body:
            return False
        cleanup = self.context.knowledge.values("cleanup-methods", "name")
        for statement in body:
            call = statement.value if isinstance(statement, cst.Expr) else None
            if isinstance(call, cst.Await):
                call = call.expression
            if not isinstance(call, cst.Call):
                return False
            func = call.func
            name = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", "")
            if name not in cleanup:
                return False
        return True
