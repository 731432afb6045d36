"""The facts the SQL rules decide on: built SQL text, where it goes, and its unvetted slots.

``Judge.reached`` folds the SQL argument of every call the ``sql-sinks`` table names (a function,
or a method of a receiver whose handle type is known, else the ``unknown``-receiver rows, which ask
the recognizer to accept the text) and keeps the first alternative text with an unvetted slot.
``Judge.unreached`` does the same for SQL-looking text built into names, returns and keyword
arguments that no sink was seen taking.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

import libcst as cst

from backlint.analysis.origins import UNKNOWN, Origin, Origins
from backlint.analysis.scopes import FUNCTION, Binding, Scope, Site
from backlint.analysis.sql.handles import Handles
from backlint.analysis.sql.slots import (
    FRAGMENT,
    IDENTIFIER,
    LITERAL,
    QUOTED_VALUE,
    looks_like_sql,
    slot_positions,
)
from backlint.analysis.sql.tables import COMPOSITION, UNKNOWN_HANDLE, UNREACHED, Driver, SinkRow, SqlKnowledge
from backlint.analysis.sql.templates import (
    Hole,
    Template,
    Value,
    all_safe,
    code_of,
    fold,
    holes,
    is_built,
    node_tokens,
    origin_of,
    unsafe_holes,
)
from backlint.analysis.sql.values import Values
from backlint.core.rule import FileContext
from backlint.pipeline.walk import children


@dataclasses.dataclass(frozen=True, eq=False)
class OpenParam:
    """A parameter of a public module-level function (``module.function``) that the slot's value
    comes from: other modules may call the function, so its callers across the project decide
    (backlint/checks/sql_project.py). ``index``: its position; ``default``: whether its default is
    a constant ("constant"), something else ("unknown") or missing ("none"); ``chain``: the calls of
    this module passing it on to the helper building the SQL (outermost first)."""

    function: str
    name: str
    index: int
    default: str
    chain: tuple[tuple[cst.Call, cst.BaseExpression], ...]
    called_here: bool = False  # some call of this module passes it (followed here, as ``Slot.chains``)


@dataclasses.dataclass(eq=False)
class Slot:
    """An unvetted value in SQL text: where it sits and where it may come from.

    ``origin``: as folded where the text is built. Its parameters are followed to the calls of this
    module (``callers``): ``chains`` are the call paths (outermost call first, with the argument
    passed) along which a caller passes outside input; ``unresolved``: a parameter no call of this
    module passes, or an argument whose origin is not known; ``endpoint``: the code building or
    running the SQL is an endpoint, or is called (here) from one; ``open``: the parameters of
    public module-level functions it comes from, whose callers in other modules decide too (a
    parameter called nowhere in this module is then not ``unresolved`` here: the project decides).
    ``offline``: the code building or running the SQL is a command-line command (table
    ``sql-offline-commands``): an operator runs it, as a script, so it is judged as offline code; its
    own parameters are command-line input.
    """

    hole: Hole
    position: str
    origin: Origin
    chains: list[tuple[tuple[cst.Call, cst.BaseExpression], ...]] = dataclasses.field(default_factory=list)
    unresolved: bool = False
    endpoint: bool = False
    open: list[OpenParam] = dataclasses.field(default_factory=list)
    # Calls of other modules' functions that may vet the value (``Guards.foreign_checks``).
    vetters: list[Any] = dataclasses.field(default_factory=list)
    offline: bool = False

    @property
    def inputs(self) -> bool:
        """Outside input reaches the value where the text is built."""
        return self.origin.outside

    @property
    def unknown(self) -> bool:
        """Part of the value is not followed (a call's result, an import, a parameter not resolved)."""
        return self.origin.unknown or bool(self.origin.imports) or self.unresolved

    @property
    def from_constants(self) -> bool:
        """The value comes from parameters only, and every call of this module passes constants for
        them (a migration helper's ``create_table_query("comments")``); no other module may call them."""
        return bool(self.origin.params) and not (self.inputs or self.unknown or self.chains or self.open)


@dataclasses.dataclass(eq=False)
class BuiltSql:
    """SQL text built from data, where it goes, and its unvetted slots.

    ``api``: the family of the call it reaches (sql-sinks `api`: driver, orm, composition) or
    "unreached". ``hole``/``position``: the first slot that is not an identifier, else the first
    (each hole is reported once, at the first text it is found in). ``slots``: every unvetted
    value, in text order, with its origin.
    """

    api: str
    hole: Hole
    position: str
    slots: list[Slot]
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
        return [s.hole for s in self.slots]


@dataclasses.dataclass(eq=False)
class SinkCall:
    call: cst.Call
    site: Site


class Judge:
    def __init__(
        self, context: FileContext, values: Values, handles: Handles, origins: Origins, kb: SqlKnowledge
    ) -> None:
        self.context = context
        self.values = values
        self.handles = handles
        self.origins = origins
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
                if self._reports_a_reported_hole(template, reported):
                    break  # as the slots below would: one of its holes is reported already
                slots = [s for s in self.slots(template, site) if not s.from_constants]
                if not slots:
                    continue
                if any(id(s.hole.node) in reported for s in slots):
                    break
                reported.update(id(s.hole.node) for s in slots)
                found.append(BuiltSql(UNREACHED, slots[0].hole, slots[0].position, slots, template))
                break
        return found

    def _reports_a_reported_hole(self, template: Template, reported: set[int]) -> bool:
        """A hole of ``template`` already reported that ``slots`` keeps whatever its SQL position
        (its name is neither SQL nor a fragment): the answer without lexing the text, which a
        variable re-assigned N times (``q = q + ...``) would lex N times (issue 19 item 4)."""
        names = self.kb.names("fragment-name") | self.kb.names("sql-name")
        for hole in holes(template):
            if hole.safe or not hole.how or id(hole.node) not in reported:
                continue
            if not names.intersection(node_tokens(hole.node)):
                return True
        return False

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
            rows = self.kb.method_sinks.get((receiver, method))
            if rows:
                return rows, receiver
        # A receiver of unknown type, or a known one whose method the tables do not list (a wrapper's
        # own execute()): the unknown-receiver rows, which ask the recognizer to accept the text.
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
            driver = self.kb.drivers.get(row.driver)
            slots = self.slots(template, sink.site, driver.string_quotes if driver else "'", handles_of(call))
            if not slots:
                continue
            first = next((s for s in slots if s.position != IDENTIFIER), slots[0])
            hole, position = first.hole, first.position
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

    def slots(
        self, template: Template, site: Site, string_quotes: str = "'", handles: frozenset[str] = frozenset()
    ) -> list[Slot]:
        """Unvetted holes with their SQL positions and origins; a value named as SQL (``where_sql``)
        is composition. ``site``: where the text is used (a sink, or where it is built). ``handles``:
        the code of the objects the SQL is run on; their attributes (``db.timestamp_now``) are the
        dialect's fixed SQL, as a database wrapper's properties are."""
        fragment_names, sql_names = self.kb.names("fragment-name"), self.kb.names("sql-name")
        out = []
        for hole, position in zip(holes(template), slot_positions(template, string_quotes)):
            if hole.safe or not hole.how:
                continue
            tokens = node_tokens(hole.node)
            if position != QUOTED_VALUE and sql_names.intersection(tokens):
                continue
            if position in (FRAGMENT, IDENTIFIER, LITERAL) and fragment_names.intersection(tokens):
                continue
            if handles and self._dialect_sql(hole.node, handles, site):
                continue
            out.append(self._slot(hole, position, site))
        return out

    def _dialect_sql(self, node: cst.CSTNode, handles: frozenset[str], site: Site, depth: int = 0) -> bool:
        """An attribute of the object the SQL runs on (``db.timestamp_now``), or one of its methods
        that runs no SQL called with constants (``db.timestamp_placeholder("created_at")``)."""
        if isinstance(node, cst.Name):  # tsph = db.timestamp_placeholder("created_at"); … {tsph} …
            found = self.values.scopes.lookup(node.value, site) if depth < 3 else None
            if found is None or not found[1]:
                return False
            bindings = found[0]
            return bool(bindings) and all(
                b.kind == "assign"
                and b.index is None
                and b.value is not None
                and self._dialect_sql(b.value, handles, site, depth + 1)
                for b in bindings
            )
        if isinstance(node, cst.Attribute):
            return code_of(node.value) in handles
        if not isinstance(node, cst.Call) or not isinstance(node.func, cst.Attribute):
            return False
        if code_of(node.func.value) not in handles or node.func.attr.value in self.kb.sink_methods:
            return False
        return all(all_safe(self.values.value(a.value, site)) for a in node.args)

    def _slot(self, hole: Hole, position: str, site: Site) -> Slot:
        slot = Slot(hole, position, hole.origin or UNKNOWN, endpoint=self.origins.is_endpoint(site.scope))
        slot.offline = not slot.endpoint and self.command(site.scope)
        self._follow(slot, slot.origin, (), 0)
        guards = self.values.guards
        if hole.names and guards.any_in(site.scope):
            slot.vetters = guards.foreign_checks(hole.names, site, self._imported)
        return slot

    def _imported(self, func: cst.CSTNode) -> str:
        """The qualified name of an imported function (``validators.require_identifier``), or ""."""
        head = func
        while isinstance(head, cst.Attribute):
            head = head.value
        if not isinstance(head, cst.Name) or head.value not in self.context.imports.aliases:
            return ""
        qualified = (self.context.qualified_name(func) or "") if isinstance(func, cst.BaseExpression) else ""
        module, top = self.context.module_name, qualified.partition(".")[0]
        if not module or "." not in qualified:
            return ""
        # the project's, as checks/sql_project.py records calls: its package's, or not the stdlib's
        in_project = top == module.partition(".")[0] if "." in module else top not in sys.stdlib_module_names
        return qualified if in_project else ""

    def _follow(
        self, slot: Slot, origin: Origin, chain: tuple[tuple[cst.Call, cst.BaseExpression], ...], depth: int
    ) -> None:
        """Follows ``origin``'s parameters to the calls of this module passing them."""
        if chain and origin.outside:
            slot.chains.append(chain)
        if chain and (origin.unknown or origin.imports):
            slot.unresolved = True
        for binding in origin.params:
            if self.command(binding.scope, enclosing=False):
                # the operator's command-line input (also when a helper of the command receives it)
                name = binding.target.value if isinstance(binding.target, cst.Name) else "?"
                slot.origin = slot.origin | Origin(inputs=frozenset({f"the command-line parameter `{name}`"}))
                if chain:
                    slot.chains.append(chain)
                continue
            callers = self.origins.callers(binding.scope)
            exported = exported_param(binding, self.values, self.context.module_name, chain, bool(callers))
            if exported is not None:
                slot.open.append(exported)
            if not callers:
                slot.unresolved = slot.unresolved or exported is None
                continue
            for call, site in callers:
                if self.origins.is_endpoint(site.scope):
                    slot.endpoint = True
                argument = Origins.argument(call, binding)
                if argument is None:
                    slot.unresolved = True
                    continue
                value = self.values.value(argument, site)
                if all_safe(value) or self.values.collections.const_collection(argument, site):
                    continue  # a constant, or a collection of constants (a mapping the helper iterates)
                if depth >= 3 or len(chain) >= 3:
                    slot.unresolved = True
                    continue
                self._follow(slot, origin_of(value), ((call, argument), *chain), depth + 1)

    def command(self, scope: Scope, enclosing: bool = True) -> bool:
        """``scope`` runs in a command-line command: its function (or, with ``enclosing``, a function
        it is nested in) is decorated as one (table ``sql-offline-commands``)."""
        current: Scope | None = scope.frame
        while current is not None and current.kind == FUNCTION:
            node = current.node
            if isinstance(node, cst.FunctionDef) and any(self._command_decorator(d) for d in node.decorators):
                return True
            if not enclosing:
                return False
            current = current.parent.frame if current.parent is not None else None
        return False

    def _command_decorator(self, decorator: cst.Decorator) -> bool:
        target = decorator.decorator
        func = target.func if isinstance(target, cst.Call) else target
        if isinstance(func, cst.Attribute) and func.attr.value in self.kb.command_methods:
            return True
        return (self.context.qualified_name(func) or "") in self.kb.command_decorators

    def _label(self, row: SinkRow, call: cst.Call, receiver: str | None) -> str:
        if row.function:
            return f"{row.function}()"
        if row.handle == UNKNOWN_HANDLE or receiver is None:
            return f"{code_of(call.func)}() (receiver of unknown origin)"
        driver = self.kb.drivers.get(row.driver)
        kind = receiver.rpartition(".")[2]
        return f"{driver.label if driver else row.driver} {kind}.{row.method}()"


def exported_param(
    binding: Binding,
    values: Values,
    module_name: str,
    chain: tuple[tuple[cst.Call, cst.BaseExpression], ...] = (),
    called_here: bool = False,
) -> OpenParam | None:
    """``binding`` as a parameter of a public module-level function or a public method of a public
    module-level class (``module.Class.method``: called on its instances or the class), which other
    modules may call (not an endpoint: the framework calls it, with request data). A method's
    ``index`` does not count ``self``/``cls``."""
    scope = binding.scope
    if scope.kind != FUNCTION or scope.parent is not values.scopes.module or scope.name.startswith("_"):
        return None
    owner = scope.cls
    if owner is not None and (owner.name.startswith("_") or values.scopes.module_classes.get(owner.name) is not owner):
        return None
    if values.origins.is_endpoint(scope):
        return None
    if not isinstance(binding.target, cst.Name) or binding not in scope.params:
        return None
    if scope.self_name is not None and binding is scope.params[0]:
        return None
    default = "none"
    if binding.default is not None:
        site = Site(scope.parent, binding.point, ())
        default = "constant" if all_safe(values.value(binding.default, site)) else "unknown"
    index = scope.params.index(binding) - (scope.self_name is not None)
    name = f"{module_name}.{owner.name}.{scope.name}" if owner is not None else f"{module_name}.{scope.name}"
    return OpenParam(name, binding.target.value, index, default, chain, called_here)


def handles_of(call: cst.Call) -> frozenset[str]:
    """The code of the receiver a sink method is called on: ``db`` for ``db.execute(...)``, each
    alternative of ``(conn or db).execute(...)``."""
    func = call.func
    if not isinstance(func, cst.Attribute):
        return frozenset()
    pending: list[cst.BaseExpression] = [func.value]
    out = set()
    while pending:
        node = pending.pop()
        if isinstance(node, cst.BooleanOperation):
            pending += [node.left, node.right]
        elif isinstance(node, (cst.Name, cst.Attribute)):
            out.add(code_of(node))
    return frozenset(out)


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
