"""BL1xx: SQL built from strings must not reach a driver or ORM call — parameterize instead.

The five rules read the file's ``SqlAnalysis`` (backlint/analysis/sql/analysis.py), which exposes
``BuiltSql`` facts: built text, the API family of the call it reaches (sql-sinks `api`), and its
unvetted slots with their origins. Each rule decides which facts are its own: BL101 driver calls
and BL102 ORM raw APIs with a value or syntax slot, BL104 either with identifier slots only, BL103
composition APIs, BL105 (an audit) text reaching no call.

Which slots are findings (``reported_here``): a value slot (``WHERE a = {v}``) in production code
whenever its value is not proven constant — a helper whose every caller passes constants aside;
in offline code (migrations, scripts) only when outside input reaches it; a slot of SQL syntax (an
identifier, a clause, a value in a statement that takes no parameters) only when outside input
reaches it, or when its origin is not known and the code runs in an endpoint; a bind parameter's
name never. When a caller passes outside input to a helper building the SQL, the finding
is placed at the caller, with the helper's slot and the sink as related locations.

A slot whose value comes from a parameter of a public module-level function, and that is not a
finding here already (outside input, or a part of unknown origin besides that parameter), is left to
the project pass (``deferred``): other modules may call the helper (backlint/checks/sql_project.py
judges it with every caller of the project).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, ClassVar

import libcst as cst

from backlint.analysis.sql.analysis import SqlAnalysis
from backlint.analysis.sql.judge import BuiltSql, Slot
from backlint.analysis.sql.slots import (
    FRAGMENT,
    IDENTIFIER,
    LITERAL,
    PLACEHOLDER,
    QUOTED_VALUE,
    RECOGNIZER_KEYWORDS,
    VALUE_SLOTS,
)
from backlint.analysis.sql.tables import COMPOSITION, DRIVER, ORM, sql_knowledge
from backlint.analysis.sql.templates import code_of
from backlint.core.results import FileKind
from backlint.core.rule import Rule

if TYPE_CHECKING:
    from backlint.core.catalog import Knowledge


class _SqlRule(Rule):
    """Reports, at the end of the module, the analysis's facts this rule claims."""

    REQUIRES = (SqlAnalysis,)
    # The sink APIs whose calls can produce this rule's findings (the parse pre-filter's tokens).
    APIS: ClassVar[tuple[str, ...]] = (DRIVER, ORM)

    @classmethod
    def trigger_tokens(cls, knowledge: Knowledge) -> Iterable[str]:
        return sorted(sql_knowledge(knowledge).trigger_tokens(cls.APIS))

    def leave_Module(self, node: cst.Module) -> None:
        for finding, at, related in self.findings(self.context.get(SqlAnalysis).reached()):
            self.report(at, self.message(finding), related=related)

    def findings(self, facts: list[BuiltSql]) -> Iterator[tuple[BuiltSql, cst.CSTNode, list[tuple[cst.CSTNode, str]]]]:
        """(the fact seen through the slot reported, where, related locations) for this rule's findings."""
        placed: set[int] = set()
        for built in facts:
            if deferred(built, self.served):
                continue  # the project pass judges it with the helper's callers (checks/sql_project.py)
            here = [s for s in built.slots if reported_here(s, self.served)]
            if here:
                slot = next((s for s in here if s.position != IDENTIFIER), here[0])
                if self.claims(built, slot):
                    yield (
                        dataclasses.replace(built, hole=slot.hole, position=slot.position),
                        slot.hole.node,
                        built.related,
                    )
            for slot in built.slots:
                if slot in here or slot.position == PLACEHOLDER or not self.claims(built, slot):
                    continue
                for chain in slot.chains:
                    argument = chain[0][1]
                    if id(argument) in placed:
                        continue
                    placed.add(id(argument))
                    related: list[tuple[cst.CSTNode, str]] = [
                        (c, "passed on to the helper building the SQL here") for c, _ in chain[1:]
                    ]
                    related.append((slot.hole.node, "the argument is interpolated into SQL text here"))
                    if built.sink is not None:
                        related.append((built.sink, f"the SQL reaches {built.label} here"))
                    seen = dataclasses.replace(
                        built, hole=dataclasses.replace(slot.hole, node=argument), position=slot.position
                    )
                    yield seen, argument, related

    def claims(self, built: BuiltSql, slot: Slot) -> bool:
        raise NotImplementedError

    @property
    def served(self) -> bool:
        """The file is production code: it may run in a request."""
        return self.context.kind is FileKind.PRODUCTION

    def message(self, issue: BuiltSql) -> str:
        raise NotImplementedError


# The catalog's applies-to-facets name for findings on SQL syntax (not a value): kept in production and scripts.
SQL_SYNTAX = "sql-syntax"


def reported_here(slot: Slot, served: bool = True, callers_unknown: bool = False) -> bool:
    """Whether ``slot`` is a finding where the SQL is built (see the module docstring). Code that is
    not ``served`` (a migration, a script: run offline by an operator over the app's own data), or a
    command-line command of a production module (``Slot.offline``), is held to the syntax slots'
    reading for values too: outside input must reach them.
    ``callers_unknown``: take the parameters other modules may pass (``Slot.open``) as unknown."""
    return slot_verdict(
        slot.position,
        served and not slot.offline,
        slot.inputs,
        slot.unknown or (callers_unknown and bool(slot.open)),
        slot.endpoint,
    )


def slot_verdict(position: str, served: bool, inputs: bool, unknown: bool, endpoint: bool) -> bool:
    """``reported_here`` on the slot's pieces (the project pass has them from the facts)."""
    if position == PLACEHOLDER:
        return False
    if position in VALUE_SLOTS and served:
        return inputs or unknown
    return inputs or (unknown and endpoint)


def deferred(built: BuiltSql, served: bool) -> bool:
    """BL101/BL102/BL104's verdict on ``built`` depends on other modules: a slot not reported here
    whatever they pass takes its value from a parameter of a public module-level function
    (``Slot.open``), or a slot reported here was passed before to a function of another module that
    may be a validator (``Slot.vetters``)."""
    return built.api in (DRIVER, ORM) and any(
        (s.open and not reported_here(s, served)) or (s.vetters and reported_here(s, served)) for s in built.slots
    )


def claimant(built: BuiltSql, slot: Slot) -> str | None:
    """The rule a finding on ``slot`` of ``built`` belongs to."""
    if built.api not in (DRIVER, ORM):
        return None
    if slot.position == IDENTIFIER:
        return SqlIdentifierWithoutAllowlist.id
    return SqlBuiltIntoDriverCall.id if built.api == DRIVER else SqlBuiltIntoOrmRawApi.id


def _expression(issue: BuiltSql) -> str:
    code = code_of(issue.hole.node)
    return code if len(code) <= 40 and "\n" not in code else "value"


def _parameter_name(node: cst.CSTNode) -> str:
    """A name for the bind parameter: ``user.id`` → id, ``form["email"]`` → email."""
    while True:
        if isinstance(node, cst.Name):
            return node.value
        if isinstance(node, cst.Attribute):
            return node.attr.value
        if isinstance(node, cst.Subscript) and node.slice:
            index = node.slice[0].slice
            if isinstance(index, cst.Index) and isinstance(index.value, cst.SimpleString):
                text = index.value.raw_value
                return text if re.fullmatch(r"[A-Za-z_]\w*", text) else "value"
            node = node.value
            continue
        if isinstance(node, cst.Call):
            node = node.args[0].value if node.args else node.func
            continue
        return "value"


def _around(issue: BuiltSql) -> tuple[str, str]:
    """The literal text just before and just after the interpolation."""
    parts = issue.template
    index = next(i for i, part in enumerate(parts) if part is issue.hole)
    before = parts[index - 1] if index > 0 else ""
    after = parts[index + 1] if index + 1 < len(parts) else ""
    return (before if isinstance(before, str) else ""), (after if isinstance(after, str) else "")


def _quoted_parameter(issue: BuiltSql) -> str:
    """``'%{term}%'`` → ``f"%{term}%"``: text inside the quotes moves into the parameter."""
    before, after = _around(issue)
    inner_before = before[before.rfind("'") + 1 :] if "'" in before else ""
    inner_after = after[: after.find("'")] if "'" in after else ""
    value = _expression(issue)
    if not inner_before and not inner_after:
        return value
    for quote in ('"', "'"):
        if quote not in inner_before + inner_after + value:
            return "f" + quote + inner_before + "{" + value + "}" + inner_after + quote
    return repr(inner_before + "{}" + inner_after) + f".format({value})"


def _sql_before(issue: BuiltSql) -> str:
    """The last few SQL words before the interpolation, e.g. ``WHERE id = ``."""
    text, _ = _around(issue)
    if issue.position == QUOTED_VALUE and "'" in text:
        text = text[: text.rfind("'")]
    spaced = text[-1:].isspace()
    words = text.split()[-3:]
    return " ".join(words) + (" " if spaced and words else "")


def fix_example(issue: BuiltSql, method: str | None = None) -> str:
    """The call rewritten in the driver's own paramstyle, for the message."""
    template = (issue.row.example if issue.row and issue.row.example else None) or (
        issue.driver.example if issue.driver else '{method}("… {sql}%s", ({value},))'
    )
    value = _quoted_parameter(issue) if issue.position == QUOTED_VALUE else _expression(issue)
    numeric = issue.driver is not None and issue.driver.paramstyle == "numeric"
    taken = _numbered_placeholders(issue) if numeric else 0
    if taken:  # the text already has $1…$n: the new parameter is the next one, after the ones passed
        template = template.replace("$1", f"${taken + 1}")
        value = f"…, {value}"
    replacements = {
        "{method}": method or issue.method or "execute",
        "{sql}": _sql_before(issue),
        "{value}": value,
        "{name}": _parameter_name(issue.hole.node),
    }
    return re.sub(r"\{(method|sql|value|name)\}", lambda m: replacements[m.group(0)], template)


def _numbered_placeholders(issue: BuiltSql) -> int:
    """The highest ``$n`` placeholder already in the SQL text's literal parts (0 if none)."""
    numbers = [int(n) for part in issue.template if isinstance(part, str) for n in re.findall(r"\$(\d+)", part)]
    return max(numbers, default=0)


class _SinkRule(_SqlRule):
    """BL101/BL102: a value or a piece of SQL syntax interpolated into text reaching ``API``."""

    API: ClassVar[str]

    def claims(self, built: BuiltSql, slot: Slot) -> bool:
        return built.api == self.API and slot.position != IDENTIFIER

    def leave_Module(self, node: cst.Module) -> None:
        """Each finding carries the parameterizing fix, or says why there is none."""
        analysis = self.context.get(SqlAnalysis)
        for built, at, related in self.findings(analysis.reached()):
            fix, refusal = (None, None)
            if at is built.hole.node:  # not at a caller: the fix rewrites the SQL text
                reported = {id(s.hole.node) for s in built.slots if reported_here(s, self.served)}
                fix, refusal = analysis.fix(built, reported)
            message = self.message(built) + (f" (no autofix: {refusal})" if refusal else "")
            facet = None if built.position in VALUE_SLOTS else SQL_SYNTAX
            self.report(at, message, related=related, fix=fix, facet=facet)

    def message(self, issue: BuiltSql) -> str:
        return sink_message(issue)


def sink_message(issue: BuiltSql) -> str:
    """BL101/BL102's message for ``issue`` seen through the slot reported."""
    if issue.position == LITERAL:  # PRAGMA, SET, DDL: the statement takes no parameters
        return (
            f"SQL built with {issue.hole.how} reaches {issue.label}, with `{_expression(issue)}` spliced into a "
            "statement that takes no parameters (PRAGMA, SET, DDL): convert it to a number (int()) or check it "
            "against an allowlist before it joins the SQL"
        )
    if issue.position == FRAGMENT:  # a condition or clause: no placeholder can stand for it
        return (
            f"SQL built with {issue.hole.how} reaches {issue.label}, with `{_expression(issue)}` spliced in as "
            "SQL syntax (a condition, a clause): compose it from fixed fragments chosen by an allowlist, and "
            "pass the values as parameters"
        )
    if issue.row is not None and not issue.row.params:
        return (
            f"SQL built with {issue.hole.how} reaches {issue.label}, which takes no parameters; run the "
            f"statement with execute() and pass values as parameters: {fix_example(issue, 'execute')}"
        )
    return f"SQL built with {issue.hole.how} reaches {issue.label}; pass values as parameters: {fix_example(issue)}"


class SqlBuiltIntoDriverCall(_SinkRule):
    """A string built from data (f-string, %, format, +, join) reaches a DB-API driver call."""

    id = "BL101"
    API = DRIVER


class SqlBuiltIntoOrmRawApi(_SinkRule):
    """A string built from data reaches an ORM's raw-SQL API (text(), raw(), extra(), RawSQL, …)."""

    id = "BL102"
    API = ORM


class PsycopgSqlCompositionMisuse(_SqlRule):
    """``psycopg.sql.SQL()`` wraps text built from data, defeating the composition API."""

    id = "BL103"
    APIS = (COMPOSITION,)

    def claims(self, built: BuiltSql, slot: Slot) -> bool:
        return built.api == COMPOSITION

    def findings(self, facts: list[BuiltSql]) -> Iterator[tuple[BuiltSql, cst.CSTNode, list[tuple[cst.CSTNode, str]]]]:
        """sql.SQL() trusts all of its text: any unvetted value in it is a finding."""
        for built in facts:
            if built.api == COMPOSITION:
                yield built, built.hole.node, built.related

    def message(self, issue: BuiltSql) -> str:
        return (
            f"sql.SQL() trusts its text, and this text is built with {issue.hole.how} from `{_expression(issue)}`; "
            'keep the template constant and compose: sql.SQL("… {} … WHERE x = %s").format(sql.Identifier(…)), '
            "passing values as parameters"
        )


class SqlIdentifierWithoutAllowlist(_SqlRule):
    """Only identifiers (table, column, ORDER BY) are interpolated, and no allowlist check is visible."""

    id = "BL104"

    def claims(self, built: BuiltSql, slot: Slot) -> bool:
        return built.api in (DRIVER, ORM) and slot.position == IDENTIFIER

    def message(self, issue: BuiltSql) -> str:
        return identifier_message(issue)


def identifier_message(issue: BuiltSql) -> str:
    """BL104's message for ``issue`` seen through the identifier slot reported."""
    expression = _expression(issue)
    quoting = (issue.driver.identifier_fix if issue.driver else None) or "your driver's identifier quoting"
    return (
        f"`{expression}` is interpolated into SQL reaching {issue.label} as an identifier (table, column or "
        f"sort order); identifiers cannot be parameters: check it against an allowlist "
        f"(`if {expression} not in ALLOWED: raise …`) or quote it with {quoting}"
    )


class SqlStringBuiltAudit(_SqlRule):
    """Audit: SQL text built from data that is not seen reaching any call (off by default)."""

    id = "BL105"

    @classmethod
    def trigger_tokens(cls, knowledge: Knowledge) -> Iterable[str]:
        return sorted({w for k in RECOGNIZER_KEYWORDS for w in (k, k.upper(), k.capitalize())})

    def leave_Module(self, node: cst.Module) -> None:
        for built in self.context.get(SqlAnalysis).unreached():
            self.report(built.hole.node, self.message(built), related=built.related)

    def message(self, issue: BuiltSql) -> str:
        where = "an identifier" if issue.position == IDENTIFIER else "a value"
        return (
            f"SQL text is built with {issue.hole.how} from `{_expression(issue)}` ({where}) and not seen reaching a "
            "driver call; build it with placeholders and pass values as parameters where it is executed"
        )
