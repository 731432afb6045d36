"""The facts the SQL rules decide on: built SQL text, where it goes, and its unvetted slots.

``Judge.reached`` folds the SQL argument of every call the ``sql-sinks`` table names (a function,
or a method of a receiver whose handle type is known, else the ``unknown``-receiver rows, which ask
the recognizer to accept the text) and keeps the first alternative text with an unvetted slot.
``Judge.unreached`` does the same for SQL-looking text built into names, returns and keyword
arguments that no sink was seen taking.
"""

from __future__ import annotations

import dataclasses

import libcst as cst

from backlint.analysis.scopes import Site
from backlint.analysis.sql.handles import Handles
from backlint.analysis.sql.slots import FRAGMENT, IDENTIFIER, QUOTED_VALUE, looks_like_sql, slot_positions
from backlint.analysis.sql.tables import COMPOSITION, UNKNOWN_HANDLE, UNREACHED, Driver, SinkRow, SqlKnowledge
from backlint.analysis.sql.templates import (
    Hole,
    Template,
    Value,
    code_of,
    fold,
    holes,
    is_built,
    node_tokens,
    unsafe_holes,
)
from backlint.analysis.sql.values import Values
from backlint.core.rule import FileContext
from backlint.pipeline.walk import children


@dataclasses.dataclass(eq=False)
class BuiltSql:
    """SQL text built from data, where it goes, and its unvetted slots.

    ``api``: the family of the call it reaches (sql-sinks `api`: driver, orm, composition) or
    "unreached". ``hole``/``position``: the slot a finding is placed at — the first one that is not
    an identifier, else the first; so ``position == IDENTIFIER`` means only identifiers are
    interpolated. ``slots``: every unvetted hole with its position, in text order.
    """

    api: str
    hole: Hole
    position: str
    slots: list[tuple[Hole, str]]
    template: Template
    sink: cst.Call | None = None
    site: Site | None = None  # of the sink call
    row: SinkRow | None = None
    label: str = ""
    driver: Driver | None = None
    confirmed: bool = False  # the receiver's handle type is known
    method: str = ""
    related: list[tuple[cst.CSTNode, str]] = dataclasses.field(default_factory=list)

    @property
    def holes(self) -> list[Hole]:
        return [h for h, _ in self.slots]


@dataclasses.dataclass(eq=False)
class SinkCall:
    call: cst.Call
    site: Site


class Judge:
    def __init__(self, context: FileContext, values: Values, handles: Handles, kb: SqlKnowledge) -> None:
        self.context = context
        self.values = values
        self.handles = handles
        self.kb = kb

    def reached(self, calls: list[SinkCall]) -> list[BuiltSql]:
        """Built SQL reaching the sinks among ``calls``; each hole once (the first call it reaches)."""
        found: list[BuiltSql] = []
        reported: set[int] = set()
        for sink in calls:
            for built in self._judge_call(sink):
                key = id(built.hole.node)
                if key in reported:
                    continue
                reported.add(key)
                found.append(built)
        return found

    def unreached(self, candidates: list[tuple[cst.CSTNode, Site, str]], reached: list[BuiltSql]) -> list[BuiltSql]:
        """SQL-looking built text in ``candidates`` (expression or bound name, site, kind) whose
        holes reach no sink; each hole once."""
        reported = {id(b.hole.node) for b in reached}
        found: list[BuiltSql] = []
        for node, site, kind in candidates:
            value = (
                self.values.name_value(node, site)
                if kind == "binding" and isinstance(node, cst.Name)
                else self.values.value(node, site)
            )
            for template in value:
                if not is_built(template) or not looks_like_sql(fold(template)):
                    continue
                slots = self.slots(template)
                if not slots:
                    continue
                hole, position = slots[0]
                if any(id(h.node) in reported for h, _ in slots):
                    break
                reported.update(id(h.node) for h, _ in slots)
                found.append(BuiltSql(UNREACHED, hole, position, slots, template))
                break
        return found

    def sink_rows(self, call: cst.Call, site: Site) -> tuple[list[SinkRow], str | None]:
        """The sql-sinks rows for ``call``, and its receiver's handle type if known."""
        func = call.func
        qualified = self.context.qualified_name(func) or ""
        rows = self.kb.function_sinks.get(qualified)
        if rows:
            return rows, None
        if not isinstance(func, cst.Attribute):
            return [], None
        method = func.attr.value
        if method not in self.kb.sink_methods:
            return [], None
        receiver = self.handles.origin(func.value, site)
        if receiver is not None:
            return self.kb.method_sinks.get((receiver, method), []), receiver
        return self.kb.method_sinks.get((UNKNOWN_HANDLE, method), []), None

    def _judge_call(self, sink: SinkCall) -> list[BuiltSql]:
        call, site = sink.call, sink.site
        rows, receiver = self.sink_rows(call, site)
        found: list[BuiltSql] = []
        for row in rows:
            argument = sql_argument(call, row)
            if argument is None:
                continue
            if row.shape == "list":
                pieces = self._list_pieces(argument, site)
            elif row.shape == "dict":
                pieces = self._dict_pieces(argument, site)
            else:
                pieces = [(argument, self.values.value(argument, site))]
            for expr, value in pieces:
                built = self._built(value, row, sink, receiver, expr)
                if built is not None:
                    found.append(built)
                    break
        return found

    def _list_pieces(self, argument: cst.BaseExpression, site: Site) -> list[tuple[cst.BaseExpression, Value]]:
        if isinstance(argument, (cst.List, cst.Tuple)):
            return [
                (e.value, self.values.value(e.value, site))
                for e in argument.elements
                if not isinstance(e, cst.StarredElement)
            ]
        return [(argument, self.values.collections.elements(argument, site))]

    def _dict_pieces(self, argument: cst.BaseExpression, site: Site) -> list[tuple[cst.BaseExpression, Value]]:
        if not isinstance(argument, cst.Dict):
            return []
        out = []
        for element in argument.elements:
            if isinstance(element, cst.DictElement):
                out.append((element.value, self.values.value(element.value, site)))
        return out

    def _built(
        self, value: Value, row: SinkRow, sink: SinkCall, receiver: str | None, argument: cst.BaseExpression
    ) -> BuiltSql | None:
        call = sink.call
        confirmed = row.handle != UNKNOWN_HANDLE
        for template in value:
            if row.api == COMPOSITION:  # trusts any text: built without SQL words counts too
                if not unsafe_holes(template):
                    continue
            elif not is_built(template) or (not confirmed and not looks_like_sql(fold(template))):
                continue
            slots = self.slots(template)
            if not slots:
                continue
            hole, position = next(((h, p) for h, p in slots if p != IDENTIFIER), slots[0])
            label = self._label(row, call, receiver)
            inside = contains(argument, hole.node)
            return BuiltSql(
                api=row.api,
                hole=hole,
                position=position,
                slots=slots,
                template=template,
                sink=call,
                site=sink.site,
                row=row,
                label=label,
                driver=self.kb.drivers.get(row.driver),
                confirmed=confirmed,
                method=row.method or (row.function or "").rpartition(".")[2],
                related=[] if inside else [(call, f"the SQL reaches {label} here")],
            )
        return None

    def slots(self, template: Template) -> list[tuple[Hole, str]]:
        """Unvetted holes with their SQL positions; a value named as SQL (``where_sql``) is composition."""
        fragment_names, sql_names = self.kb.names("fragment-name"), self.kb.names("sql-name")
        out = []
        for hole, position in zip(holes(template), slot_positions(template)):
            if hole.safe or not hole.how:
                continue
            tokens = node_tokens(hole.node)
            if position != QUOTED_VALUE and sql_names.intersection(tokens):
                continue
            if position in (FRAGMENT, IDENTIFIER) and fragment_names.intersection(tokens):
                continue
            out.append((hole, position))
        return out

    def _label(self, row: SinkRow, call: cst.Call, receiver: str | None) -> str:
        if row.function:
            return f"{row.function}()"
        if row.handle == UNKNOWN_HANDLE or receiver is None:
            return f"{code_of(call.func)}() (receiver of unknown origin)"
        driver = self.kb.drivers.get(row.driver)
        kind = receiver.rpartition(".")[2]
        return f"{driver.label if driver else row.driver} {kind}.{row.method}()"


def sql_argument(call: cst.Call, row: SinkRow) -> cst.BaseExpression | None:
    """The call's SQL argument per the sink row: by keyword, else by position (not past a ``*args``)."""
    position = 0
    for arg in call.args:
        if arg.keyword is not None:
            if row.keyword and arg.keyword.value == row.keyword:
                return arg.value
            continue
        if arg.star:
            return None
        if position == row.arg:
            return arg.value
        position += 1
    return None


def contains(root: cst.CSTNode, target: cst.CSTNode) -> bool:
    if root is target:
        return True
    stack = [root]
    while stack:
        node = stack.pop()
        if node is target:
            return True
        stack.extend(children(node))
    return False
