"""SQL built from strings: handles, sinks, the built-vs-safe classifier, slot positions, the recognizer.

Implements rule-catalog §1.3–1.5 and Appendix A without libcst metadata providers: bindings, receiver
origins and allowlist guards are gathered per function while the batched walk passes, and judged once
at the end of the module (so helpers defined after their callers are seen). The autofix reuses
``Template``/``Hole``, ``slot_positions`` and the ``sql-drivers`` paramstyle rows.
"""

from __future__ import annotations

import codecs
import dataclasses
import itertools
import re
import string
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Union

import libcst as cst

from backlint.core.imports import dotted_name
from backlint.pipeline.walk import children

if TYPE_CHECKING:
    from backlint.core.catalog import Knowledge
    from backlint.core.rule import FileContext

# ---------------------------------------------------------------------------------------------
# Knowledge tables
# ---------------------------------------------------------------------------------------------

UNKNOWN_HANDLE = "unknown"


@dataclasses.dataclass(frozen=True)
class SinkRow:
    """One row of ``sql-sinks``: a call that executes (or composes) SQL."""

    rule: str
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


class SqlKnowledge:
    """The SQL tables indexed for lookups; built once per ``Knowledge`` object."""

    def __init__(self, knowledge: Knowledge) -> None:
        self.function_sinks: dict[str, list[SinkRow]] = {}
        self.method_sinks: dict[tuple[str, str], list[SinkRow]] = {}
        for row in knowledge.rows("sql-sinks"):
            sink = SinkRow(
                rule=row["rule"],
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
                row["driver"], row["label"], row["paramstyle"], row["example"], row.get("identifier-fix")
            )
            for row in knowledge.rows("sql-drivers")
        }
        self.handles: dict[str, dict[str, str]] = {}
        for row in knowledge.rows("sql-handles"):
            self.handles.setdefault(row["how"], {})[row["source"]] = row["handle"]
        self.safe: dict[str, frozenset[str]] = {}
        grouped: dict[str, set[str]] = {}
        for row in knowledge.rows("sql-safe-values"):
            grouped.setdefault(row["how"], set()).add(row["name"])
        self.safe = {how: frozenset(names) for how, names in grouped.items()}
        self.safe_attribute_suffixes = tuple(sorted(self.safe.get("attribute", ())))
        self.sink_methods = frozenset(method for _, method in self.method_sinks)

    def names(self, how: str) -> frozenset[str]:
        return self.safe.get(how, frozenset())

    def handle(self, how: str, source: str) -> str | None:
        return self.handles.get(how, {}).get(source)

    def trigger_tokens(self, rules: Iterable[str]) -> set[str]:
        """Raw-text tokens without which no sink of ``rules`` can occur (the parse pre-filter)."""
        wanted = set(rules)
        tokens: set[str] = set()
        for name, rows in self.function_sinks.items():
            if any(r.rule in wanted for r in rows):
                tokens.add(name.rpartition(".")[2])
        for (_, method), rows in self.method_sinks.items():
            if any(r.rule in wanted for r in rows):
                tokens.add(method)
        return tokens


_knowledge_cache: dict[int, tuple[Knowledge, SqlKnowledge]] = {}


def sql_knowledge(knowledge: Knowledge) -> SqlKnowledge:
    cached = _knowledge_cache.get(id(knowledge))
    if cached is not None and cached[0] is knowledge:
        return cached[1]
    built = SqlKnowledge(knowledge)
    if len(_knowledge_cache) > 8:
        _knowledge_cache.clear()
    _knowledge_cache[id(knowledge)] = (knowledge, built)
    return built


# ---------------------------------------------------------------------------------------------
# Templates: the text of a string expression, with holes where values are interpolated
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(eq=False)
class Hole:
    """A value joined into SQL text. ``how`` is the string operation that joined it ("" = none yet)."""

    node: cst.CSTNode
    safe: bool
    how: str = ""
    names: frozenset[str] = frozenset()
    # `{x!r}` / `{x:>5}` / `%5s`: formatting the autofix cannot move into a parameter.
    formatted: bool = False


Part = Union[str, Hole]
Template = tuple[Part, ...]
Value = list[Template]  # alternatives: the text may be any one of them

MAX_ALTERNATIVES = 8
SENTINEL = "\u27e8x\u27e9"  # ⟨x⟩ stands for a hole in folded text

HOW_FSTRING = "an f-string"
HOW_PERCENT = "%-formatting"
HOW_FORMAT = "str.format()"
HOW_PLUS = "+ concatenation"
HOW_AUGMENTED = "+= concatenation"
HOW_JOIN = "str.join()"
HOW_REPLACE = "str.replace()"
HOW_TEMPLATE = "string.Template"


def holes(template: Template) -> list[Hole]:
    return [p for p in template if isinstance(p, Hole)]


def unsafe_holes(template: Template) -> list[Hole]:
    """Holes that put unvetted text into the SQL (the value itself, not yet joined, does not count)."""
    return [p for p in template if isinstance(p, Hole) and not p.safe and p.how]


def fold(template: Template) -> str:
    """The literal text with a sentinel for every hole: what the recognizer and the lexer read."""
    return "".join(p if isinstance(p, str) else SENTINEL for p in template)


def is_built(template: Template) -> bool:
    """Text with at least one unvetted joined value and at least one literal word around it."""
    return bool(unsafe_holes(template)) and any(isinstance(p, str) and re.search(r"[A-Za-z]", p) for p in template)


def _opaque(node: cst.CSTNode, safe: bool = False) -> Value:
    return [(Hole(node, safe),)]


def _const(text: str) -> Value:
    return [(text,)]


def _merge(template: Template) -> Template:
    out: list[Part] = []
    for part in template:
        if isinstance(part, str):
            if not part:
                continue
            if out and isinstance(out[-1], str):
                out[-1] = out[-1] + part
                continue
        out.append(part)
    return tuple(out)


def _cap(alternatives: Iterable[Template]) -> Value:
    """At most MAX_ALTERNATIVES, keeping those that carry unvetted values first."""
    seen: set[tuple[Any, ...]] = set()
    unique: list[Template] = []
    for template in alternatives:
        key = tuple(p if isinstance(p, str) else id(p) for p in template)
        if key not in seen:
            seen.add(key)
            unique.append(template)
    if len(unique) > MAX_ALTERNATIVES:
        unique.sort(key=lambda t: 0 if unsafe_holes(t) else 1)
        unique = unique[:MAX_ALTERNATIVES]
    return unique or [("",)]


def _concat(*values: Value) -> Value:
    result: Value = [()]
    for value in values:
        if len(result) * len(value) <= MAX_ALTERNATIVES:
            result = [_merge(a + b) for a, b in itertools.product(result, value)]
        else:  # every alternative of both sides still appears once
            first_b, first_a = value[0], result[0]
            result = [_merge(a + first_b) for a in result] + [_merge(first_a + b) for b in value[1:]]
        result = _cap(result)
    return result


def _renode(value: Value, node: cst.CSTNode, how: str, formatted: bool = False) -> Value:
    """Put ``value`` into text at ``node`` by ``how``: a value not yet joined becomes a hole there."""
    out: Value = []
    for template in value:
        parts: list[Part] = []
        for part in template:
            if isinstance(part, Hole) and not part.how:
                parts.append(Hole(node, part.safe, how, part.names, formatted))
            else:
                parts.append(part)
        out.append(tuple(parts))
    return out


def _all_safe(value: Value) -> bool:
    return all(not isinstance(p, Hole) or p.safe for t in value for p in t)


def _has_literal(value: Value) -> bool:
    return any(isinstance(p, str) for t in value for p in t)


# ---------------------------------------------------------------------------------------------
# Slot positions (a tiny SQL lexer) and the anchored recognizer
# ---------------------------------------------------------------------------------------------

VALUE = "value"
QUOTED_VALUE = "quoted_value"
IDENTIFIER = "identifier"
FRAGMENT = "fragment"

_COMPARISONS = frozenset(
    {"=", "==", "<>", "!=", "<", ">", "<=", ">=", "like", "ilike", "in", "is", "between", "regexp", "glob", "similar"}
)
_VALUE_AFTER = frozenset(
    {"=", "==", "<>", "!=", "<", ">", "<=", ">=", "+", "-", "*", "/", "||", "like", "ilike", "in", "values", "limit",
     "offset", "between", "is", "then", "else", "escape", "interval", "regexp", "glob", "fetch", "top"}
)  # fmt: skip
_IDENTIFIER_AFTER = frozenset(
    {"from", "join", "into", "update", "table", "by", "as", "select", "distinct", "exists", "using", "truncate", "view",
     "index", "schema", "returning", "column", "references", "asc", "desc", "database", "sequence", "trigger", "user",
     "role", "extension", "to", "owner", "template", "tablespace", "savepoint", "pragma", "copy"}
)  # fmt: skip
_FRAGMENT_AFTER = frozenset({"where", "and", "or", "not", "having", "on", "when", "set", "case", "with"})
_CLAUSES = frozenset(
    {"select", "from", "where", "set", "values", "by", "having", "into", "update", "join", "on", "limit", "returning"}
)
_OPERATOR_CHARS = "=<>!+-*/|&^~"


def _next_token(template: Template, index: int) -> str:
    """The first SQL token after the hole at ``index`` (lowercased), or "" if none is literal."""
    if index + 1 >= len(template) or not isinstance(template[index + 1], str):
        return ""
    text = str(template[index + 1]).lstrip()
    if not text:
        return ""
    match = re.match(r"[A-Za-z_]\w*|[=<>!]+|\S", text)
    return match.group(0).lower() if match else ""


def slot_positions(template: Template) -> list[str]:
    """For each hole of ``template`` in order: value, quoted_value, identifier or fragment (§1.4)."""
    positions: list[str] = []
    tokens: list[str] = []
    quote: str | None = None
    comment: str | None = None
    clause = ""
    stack: list[str] = []
    for index, part in enumerate(template):
        if isinstance(part, Hole):
            # Inside a comment (an optimizer hint ``/*+ FIRST_ROWS({n}) */``) no placeholder works.
            positions.append(FRAGMENT if comment else _position(template, index, tokens, quote, clause))
            tokens.append("<hole>")
            continue
        text, i = part, 0
        while i < len(text):
            char = text[i]
            if comment == "--":
                if char == "\n":
                    comment = None
                i += 1
                continue
            if comment == "/*":
                if text.startswith("*/", i):
                    comment = None
                    i += 2
                else:
                    i += 1
                continue
            if quote is not None:
                if quote == "[" and char == "]":
                    quote = None
                    tokens.append("<ident>")
                elif char == quote:
                    if text.startswith(quote * 2, i):
                        i += 2
                        continue
                    quote = None
                    tokens.append("<str>" if char == "'" else "<ident>")
                i += 1
                continue
            if char in "'\"`":
                quote = char
            elif char == "[" and (not tokens or tokens[-1] not in ("<ident>", "<str>", ")")):
                quote = "["
            elif text.startswith("--", i) or text.startswith("/*", i):
                comment = text[i : i + 2]
                i += 1
            elif char.isalpha() or char == "_":
                match = re.match(r"\w+", text[i:])
                assert match is not None
                word = match.group(0).lower()
                tokens.append(word)
                if word in _CLAUSES:
                    clause = word
                i += len(match.group(0))
                continue
            elif char.isdigit():
                match = re.match(r"[\d.]+", text[i:])
                assert match is not None
                tokens.append("<num>")
                i += len(match.group(0))
                continue
            elif char == "(":
                prev = tokens[-1] if tokens else ""
                stack.append(clause)
                if prev in ("values", "in"):
                    clause = "values"
                elif len(tokens) >= 2 and tokens[-2] in ("into", "table"):
                    clause = "columns"
                tokens.append("(")
            elif char == ")":
                clause = stack.pop() if stack else clause
                tokens.append(")")
            elif char in "?$:%" and re.match(r"\?|\$\d+|:\w+|%s|%\(\w+\)s", text[i:]):
                match = re.match(r"\?|\$\d+|:\w+|%s|%\(\w+\)s", text[i:])
                assert match is not None
                tokens.append("<param>")
                i += len(match.group(0))
                continue
            elif char in _OPERATOR_CHARS:
                match = re.match(r"[=<>!+\-*/|&^~]+", text[i:])
                assert match is not None
                tokens.append(match.group(0))
                i += len(match.group(0))
                continue
            elif char in ",.;":
                tokens.append(char)
            i += 1
    return positions


def _position(template: Template, index: int, tokens: list[str], quote: str | None, clause: str) -> str:
    if quote == "'":
        return QUOTED_VALUE
    if quote is not None:
        return IDENTIFIER
    before = template[index - 1] if index > 0 and isinstance(template[index - 1], str) else ""
    after = template[index + 1] if index + 1 < len(template) and isinstance(template[index + 1], str) else ""
    if str(before).endswith(".") or str(after).startswith("."):
        return IDENTIFIER
    if re.search(r"\w$", str(before)) or re.match(r"\w", str(after)):
        return IDENTIFIER  # part of a name: idx_{table}_{column}
    prev = tokens[-1] if tokens else ""
    following = _next_token(template, index)
    if prev in _VALUE_AFTER:
        return VALUE
    if prev == "(":
        if clause == "values":
            return VALUE
        if clause == "columns" or following in _COMPARISONS:
            return IDENTIFIER
        if len(tokens) >= 2 and re.fullmatch(r"[a-z_]\w*", tokens[-2]) and tokens[-2] not in _FRAGMENT_AFTER:
            return IDENTIFIER  # count({col}), lower({col})
        return FRAGMENT
    if prev == ",":
        if clause == "values":
            return VALUE
        if clause in ("select", "columns", "by", "from", "into", "returning") or following in _COMPARISONS:
            return IDENTIFIER
        return FRAGMENT
    if prev in _IDENTIFIER_AFTER:
        return IDENTIFIER
    if prev == "<hole>" and clause in ("by", "select"):
        return IDENTIFIER  # ORDER BY {column} {direction}
    if prev in _FRAGMENT_AFTER or prev in ("", "<hole>", ";"):
        return IDENTIFIER if following in _COMPARISONS else FRAGMENT
    if re.fullmatch(r"[a-z_]\w*", prev) and clause in ("by", "select"):
        return IDENTIFIER  # ORDER BY name {direction}
    return FRAGMENT


_SQL_START = re.compile(
    r"""^(WITH\s+(RECURSIVE\s+)?\w+\s*(\([^)]*\))?\s+AS\s*\(
     |SELECT\s[\s\S]*?\sFROM\s
     |INSERT\s+(OR\s+\w+\s+)?INTO\s
     |REPLACE\s+INTO\s
     |UPDATE\s+\S+\s+SET\s
     |DELETE\s+FROM\s
     |MERGE\s+INTO\s
     |(CREATE|ALTER|DROP|TRUNCATE)\s+(TEMP\w*\s+)?(TABLE|INDEX|VIEW|SCHEMA|DATABASE|SEQUENCE)\b
     |(GRANT|REVOKE|CALL|EXEC(UTE)?|COPY|PRAGMA|VACUUM|ANALYZE|EXPLAIN)\b)""",
    re.IGNORECASE | re.DOTALL | re.VERBOSE,
)
_LEADING_NOISE = re.compile(r"^(\s+|\(|--[^\n]*(\n|$)|/\*[\s\S]*?\*/)")
RECOGNIZER_KEYWORDS = (
    "select",
    "insert",
    "replace",
    "update",
    "delete",
    "merge",
    "create",
    "alter",
    "drop",
    "truncate",
    "with",
)


def looks_like_sql(text: str) -> bool:
    """The anchored recognizer: the text starts as a SQL statement (prose with SQL words does not)."""
    while True:
        match = _LEADING_NOISE.match(text)
        if not match or not match.group(0):
            break
        text = text[match.end() :]
    return bool(_SQL_START.match(text))


# ---------------------------------------------------------------------------------------------
# Scopes, bindings, guards: gathered during the walk
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(eq=False)
class Binding:
    kind: str  # assign | aug | param | for | with | unknown
    target: cst.CSTNode
    value: cst.BaseExpression | None
    scope: Scope
    point: int
    blocks: tuple[int, ...]
    index: int | None = None  # position in a tuple target
    annotation: cst.BaseExpression | None = None
    default: cst.BaseExpression | None = None
    operator: str = ""


@dataclasses.dataclass(eq=False)
class Guard:
    """``if x not in ALLOWED: raise`` (kind "after") or ``if x in ALLOWED:`` (kind "inside")."""

    name: str
    kind: str
    point: int
    blocks: tuple[int, ...]
    body: int  # id of the guarded body block (kind "inside")
    collection: cst.BaseExpression | None  # None: a vetting call (re.fullmatch, str.isidentifier)


@dataclasses.dataclass(eq=False)
class Scope:
    kind: str  # module | class | function
    node: cst.CSTNode
    parent: Scope | None
    name: str = ""
    cls: ClassInfo | None = None
    self_name: str | None = None
    bindings: dict[str, list[Binding]] = dataclasses.field(default_factory=dict)
    mutations: dict[str, list[Binding]] = dataclasses.field(default_factory=dict)
    guards: dict[str, list[Guard]] = dataclasses.field(default_factory=dict)
    globals: set[str] = dataclasses.field(default_factory=set)
    params: list[Binding] = dataclasses.field(default_factory=list)
    returns: list[tuple[cst.BaseExpression, Site]] = dataclasses.field(default_factory=list)

    def bind(self, name: str, binding: Binding) -> None:
        self.bindings.setdefault(name, []).append(binding)


@dataclasses.dataclass(eq=False)
class ClassInfo:
    name: str
    bases: list[cst.BaseExpression]
    scope: Scope
    methods: dict[str, Scope] = dataclasses.field(default_factory=dict)
    # self.<attr> = value, in any method
    instance: dict[str, list[Binding]] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, eq=False)
class Site:
    """Where an expression is judged: its scope, its place in the walk, its enclosing blocks."""

    scope: Scope
    point: int
    blocks: tuple[int, ...]
    env: dict[str, Value] | None = None
    depth: int = 0


@dataclasses.dataclass(eq=False)
class SinkCall:
    call: cst.Call
    site: Site


@dataclasses.dataclass(eq=False)
class Issue:
    """A built SQL string reaching a sink (or, for BL105, reaching nothing we can see)."""

    rule: str
    hole: Hole
    holes: list[Hole]  # every unvetted hole of the text, in order
    position: str
    template: Template
    sink: cst.Call | None
    row: SinkRow | None
    label: str
    driver: Driver | None
    confirmed: bool
    method: str
    related: list[tuple[cst.CSTNode, str]]


_SQL_NAME_TOKENS = frozenset({"sql", "query", "stmt", "statement", "q", "cmd", "qs", "querystring"})
_TERMINATORS = (cst.Raise, cst.Return, cst.Continue, cst.Break)


def name_tokens(name: str) -> list[str]:
    """``buildSqlQuery`` / ``BUILD_SQL`` / ``build_sql`` → ["build", "sql", ...]."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return [t.lower() for t in re.split(r"[_\W]+", spaced) if t]


def is_sql_name(name: str) -> bool:
    return any(t in _SQL_NAME_TOKENS for t in name_tokens(name))


def code_of(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node).strip()


def _string_value(node: cst.CSTNode) -> str | None:
    """The text of a plain string literal (bytes decoded leniently), else None."""
    if isinstance(node, cst.SimpleString):
        try:
            value = node.evaluated_value
        except Exception:  # malformed escapes in odd code must not stop the walk
            return None
        return value.decode("latin-1") if isinstance(value, bytes) else value
    if isinstance(node, cst.ConcatenatedString):
        left, right = _string_value(node.left), _string_value(node.right)
        return None if left is None or right is None else left + right
    return None


def _fstring_text(node: cst.FormattedString, raw: str) -> str:
    text = raw.replace("{{", "{").replace("}}", "}")
    if "r" in node.prefix.lower() or "\\" not in text:
        return text
    try:
        return codecs.decode(text, "unicode_escape")
    except (UnicodeDecodeError, ValueError):
        return text


_PERCENT_SPEC = re.compile(
    r"%(?:\((?P<key>[^)]*)\))?(?P<flags>[#0\- +]*)(?P<width>\*|\d+)?"
    r"(?:\.(?:\*|\d+))?[hlL]?(?P<type>[diouxXeEfFgGcrsa%])"
)
_NUMERIC_TYPES = set("diouxXeEfFgGn%bc")
_TEMPLATE_FIELD = re.compile(r"\$(?:(?P<name>[_a-zA-Z]\w*)|\{(?P<braced>[_a-zA-Z]\w*)\})")


class SqlAnalysis:
    """Per-file tracker and judge; one instance shared by the BL1xx rules of a file."""

    def __init__(self, context: FileContext) -> None:
        self.context = context
        self.kb = sql_knowledge(context.knowledge)
        self.point = 0
        self.module_scope: Scope | None = None
        self.scopes: list[Scope] = []
        self.classes: list[ClassInfo] = []
        self.module_classes: dict[str, ClassInfo] = {}
        self.module_functions: dict[str, Scope] = {}
        self.sinks: list[SinkCall] = []
        self.audit: list[tuple[cst.CSTNode, Site, str]] = []  # BL105 candidates: (expression or target, site, kind)
        self.driver: Any = None
        self.rules: set[str] = set()
        self.issues: list[Issue] | None = None
        self._values: dict[tuple[int, int, int, int], Value] = {}
        self._origins: dict[tuple[int, int, int], str | None] = {}
        self._busy: set[tuple[int, int, int, int]] = set()

    # -- walk ------------------------------------------------------------------------------

    def _next_point(self) -> int:
        self.point += 2
        return self.point

    @property
    def scope(self) -> Scope:
        return self.scopes[-1]

    def _blocks(self) -> tuple[int, ...]:
        """ids of the blocks enclosing the current node, from the current scope's body inwards."""
        out: list[int] = []
        scope_node = self.scope.node
        for ancestor in reversed(self.context.ancestors):
            if ancestor is scope_node:
                break
            if isinstance(ancestor, (cst.IndentedBlock, cst.SimpleStatementSuite)):
                out.append(id(ancestor))
        out.reverse()
        return tuple(out)

    def site(self) -> Site:
        return Site(self.scope, self._next_point(), self._blocks())

    def visit_Module(self, node: cst.Module) -> None:
        scope = Scope("module", node, None)
        self.module_scope = scope
        self.scopes = [scope]

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        parent = self.scope
        scope = Scope("class", node, parent, name=node.name.value)
        info = ClassInfo(node.name.value, [b.value for b in node.bases], scope)
        scope.cls = info
        self.classes.append(info)
        if parent.kind == "module":
            self.module_classes[info.name] = info
        self._bind_name(node.name.value, node.name, None, "unknown", parent)
        self.scopes.append(scope)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        self.scopes.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        parent = self.scope
        self._bind_name(node.name.value, node.name, None, "unknown", parent)
        owner = parent.cls if parent.kind == "class" else None
        enclosing = parent
        while enclosing.kind == "class" and enclosing.parent is not None:
            enclosing = enclosing.parent
        scope = Scope("function", node, enclosing, name=node.name.value, cls=owner)
        if owner is not None:
            owner.methods.setdefault(node.name.value, scope)
            static = any(dotted_name(d.decorator) == "staticmethod" for d in node.decorators)
            positional = [*node.params.posonly_params, *node.params.params]
            if positional and not static:
                scope.self_name = positional[0].name.value
        elif parent.kind == "module":
            self.module_functions[node.name.value] = scope
        self.scopes.append(scope)
        point = self._next_point()
        body = (id(node.body),)  # parameters are bound where the body starts: its assignments replace them
        params = node.params
        for param in [*params.posonly_params, *params.params, *params.kwonly_params]:
            binding = Binding(
                "param", param.name, None, scope, point, body, annotation=_annotation(param), default=param.default
            )
            scope.bind(param.name.value, binding)
            scope.params.append(binding)
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                scope.bind(star.name.value, Binding("unknown", star.name, None, scope, point, body))

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.scopes.pop()

    def visit_Global(self, node: cst.Global) -> None:
        self.scope.globals.update(n.name.value for n in node.names)

    def _bind_name(
        self,
        name: str,
        target: cst.CSTNode,
        value: cst.BaseExpression | None,
        kind: str,
        scope: Scope | None = None,
        **extra: Any,
    ) -> Binding:
        scope = scope or self.scope
        if name in scope.globals and self.module_scope is not None:
            scope = self.module_scope
        binding = Binding(kind, target, value, scope, self._next_point(), self._blocks(), **extra)
        scope.bind(name, binding)
        return binding

    def _bind_target(
        self, target: cst.BaseExpression, value: cst.BaseExpression | None, kind: str, index: int | None = None
    ) -> None:
        if isinstance(target, cst.Name):
            binding = self._bind_name(target.value, target, value, kind, index=index)
            if kind in ("assign", "aug") and is_sql_name(target.value) and value is not None:
                self.audit.append((target, Site(binding.scope, binding.point + 1, binding.blocks), "binding"))
        elif isinstance(target, (cst.Tuple, cst.List)):
            for i, element in enumerate(target.elements):
                inner = element.value
                if isinstance(element, cst.StarredElement):
                    self._bind_target(inner, None, "unknown")
                else:
                    self._bind_target(inner, value, kind if kind != "aug" else "unknown", i)
        elif isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name):
            scope = self.scope
            if scope.cls is not None and target.value.value == scope.self_name:
                binding = Binding(kind, target, value, scope, self._next_point(), self._blocks(), index=index)
                scope.cls.instance.setdefault(target.attr.value, []).append(binding)

    def leave_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._bind_target(target.target, node.value, "assign")
            self._record_item(target.target, node.value)

    def _record_item(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        """``mapping[key] = value``: an entry of a dict built in this function."""
        if isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name) and len(target.slice) == 1:
            index = target.slice[0].slice
            if isinstance(index, cst.Index):
                scope = self.scope
                binding = Binding(
                    "item", target.value, value, scope, self._next_point(), self._blocks(), default=index.value
                )
                scope.mutations.setdefault(target.value.value, []).append(binding)

    def leave_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._bind_target(node.target, node.value, "assign")

    def leave_AugAssign(self, node: cst.AugAssign) -> None:
        operator = "+" if isinstance(node.operator, cst.AddAssign) else "other"
        if isinstance(node.target, cst.Name):
            binding = self._bind_name(node.target.value, node.target, node.value, "aug", operator=operator)
            if is_sql_name(node.target.value):
                self.audit.append((node.target, Site(binding.scope, binding.point + 1, binding.blocks), "binding"))
        elif isinstance(node.target, cst.Attribute):
            numeric = isinstance(node.value, (cst.Integer, cst.Float)) or operator != "+"
            self._bind_target(node.target, node.value, "numeric" if numeric else "unknown")

    def leave_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._bind_target(node.target, node.value, "assign")

    def visit_For(self, node: cst.For) -> None:
        self._bind_target(node.target, node.iter, "for")

    def leave_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None and isinstance(node.asname.name, (cst.Name, cst.Tuple, cst.List)):
            self._bind_target(node.asname.name, node.item, "with")

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if node.name is not None and isinstance(node.name.name, cst.Name):
            self._bind_name(node.name.name.value, node.name.name, None, "unknown")

    def visit_If(self, node: cst.If) -> None:
        self._record_guards(node.test, node.body, node.orelse)

    def visit_Assert(self, node: cst.Assert) -> None:
        for name, collection, positive in _membership_tests(node.test, self.kb):
            if positive:
                self._add_guard(name, "after", collection)

    def visit_Return(self, node: cst.Return) -> None:
        scope = self.scope
        if node.value is not None and scope.kind == "function":
            site = self.site()
            scope.returns.append((node.value, site))
            if is_sql_name(scope.name):
                self.audit.append((node.value, site, "return"))

    def visit_Yield(self, node: cst.Yield) -> None:
        scope = self.scope
        if isinstance(node.value, cst.BaseExpression) and scope.kind == "function":
            scope.returns.append((node.value, self.site()))

    def visit_Call(self, node: cst.Call) -> None:
        site = self.site()
        self.sinks.append(SinkCall(node, site))
        func = node.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and node.args:
            method = func.attr.value
            if method in ("append", "add", "insert", "extend", "update"):
                added = node.args[-1].value if method == "insert" else node.args[0].value
                kind = "aug" if method in ("extend", "update") else "assign"
                binding = Binding(kind, func.value, added, site.scope, site.point, site.blocks)
                site.scope.mutations.setdefault(func.value.value, []).append(binding)
        for arg in node.args:
            keyword = arg.keyword.value if arg.keyword is not None else None
            if keyword and is_sql_name(keyword) and not self._is_prose(func):
                self.audit.append((arg.value, site, "keyword"))

    def _is_prose(self, func: cst.BaseExpression) -> bool:
        name = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", "")
        return name in self.kb.names("prose-call") or str(name).endswith(("Error", "Exception", "Warning"))

    # -- guards ----------------------------------------------------------------------------

    def _add_guard(self, name: str, kind: str, collection: cst.BaseExpression | None, body: int = 0) -> None:
        scope = self.scope
        scope.guards.setdefault(name, []).append(
            Guard(name, kind, self._next_point(), self._blocks(), body, collection)
        )

    def _record_guards(self, test: cst.BaseExpression, body: cst.BaseSuite, orelse: Any) -> None:
        tests = _membership_tests(test, self.kb)
        if not tests:
            return
        body_ends = _terminates(body) or _reassigns(body, {n for n, _, _ in tests})
        else_ends = isinstance(orelse, cst.Else) and _terminates(orelse.body)
        for name, collection, positive in tests:
            if positive:
                self._add_guard(name, "inside", collection, id(body))
                if else_ends:
                    self._add_guard(name, "after", collection)
            elif body_ends:
                self._add_guard(name, "after", collection)

    def _guarded(self, name: str, site: Site) -> bool:
        for guard in site.scope.guards.get(name, ()):
            if guard.kind == "inside":
                applies = guard.body in site.blocks
            else:
                applies = guard.point < site.point and site.blocks[: len(guard.blocks)] == guard.blocks
            if applies and (guard.collection is None or self._const_collection(guard.collection, site)):
                return True
        return False

    # -- values ----------------------------------------------------------------------------

    def value(self, expr: cst.CSTNode, site: Site) -> Value:
        key = (id(expr), site.point, id(site.env), id(site.scope))
        cached = self._values.get(key)
        if cached is not None:
            return cached
        if key in self._busy or site.depth > 40:
            return _opaque(expr)
        self._busy.add(key)
        try:
            result = _cap(self._value(expr, site))
        finally:
            self._busy.discard(key)
        self._values[key] = result
        return result

    def _value(self, expr: cst.CSTNode, site: Site) -> Value:
        text = _string_value(expr)
        if text is not None:
            return _const(text)
        if isinstance(expr, (cst.Integer, cst.Float, cst.Imaginary)):
            return _const(expr.value)
        if isinstance(expr, cst.ConcatenatedString):
            return _concat(self.value(expr.left, site), self.value(expr.right, site))
        if isinstance(expr, cst.FormattedString):
            return self._fstring(expr, site)
        if isinstance(expr, cst.Name):
            return self._name_value(expr, site)
        if isinstance(expr, cst.BinaryOperation):
            return self._binary(expr, site)
        if isinstance(expr, cst.Call):
            return self._call_value(expr, site)
        if isinstance(expr, cst.Attribute):
            return self._attribute_value(expr, site)
        if isinstance(expr, cst.Subscript):
            if self._const_collection(expr.value, site) or self._enum_class(expr.value) is not None:
                return _opaque(expr, safe=True)
            return _opaque(expr)
        if isinstance(expr, cst.IfExp):
            return self.value(expr.body, site) + self.value(expr.orelse, site)
        if isinstance(expr, cst.BooleanOperation):
            return self.value(expr.left, site) + self.value(expr.right, site)
        if isinstance(expr, cst.NamedExpr):
            return self.value(expr.value, site)
        if isinstance(expr, cst.UnaryOperation) and isinstance(expr.expression, (cst.Integer, cst.Float)):
            return _opaque(expr, safe=True)
        return _opaque(expr)

    def _fstring(self, node: cst.FormattedString, site: Site) -> Value:
        pieces: list[Value] = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                pieces.append(_const(_fstring_text(node, part.value)))
                continue
            assert isinstance(part, cst.FormattedStringExpression)
            spec = "".join(
                p.value if isinstance(p, cst.FormattedStringText) else "{}" for p in (part.format_spec or ())
            )
            if spec and spec[-1] in _NUMERIC_TYPES:
                pieces.append([(Hole(part.expression, True, HOW_FSTRING),)])
                continue
            formatted = bool(spec) or part.conversion is not None
            pieces.append(_renode(self.value(part.expression, site), part.expression, HOW_FSTRING, formatted))
        return _concat(*pieces) if pieces else _const("")

    def _binary(self, node: cst.BinaryOperation, site: Site) -> Value:
        op = node.operator
        if isinstance(op, cst.Add):
            if isinstance(node.left, (cst.Integer, cst.Float)) or isinstance(node.right, (cst.Integer, cst.Float)):
                return _opaque(node, safe=True)  # arithmetic: page_size + 1
            left, right = self.value(node.left, site), self.value(node.right, site)
            if not _has_literal(left) and not _has_literal(right):
                if _all_safe(left) and _all_safe(right):
                    return _opaque(node, safe=True)
                return _opaque(node)
            return _concat(_renode(left, node.left, HOW_PLUS), _renode(right, node.right, HOW_PLUS))
        if isinstance(op, cst.Modulo):
            left = self.value(node.left, site)
            if _has_literal(left):
                return self._percent(left, node.right, site)
            return _opaque(node, safe=_all_safe(left) and _all_safe(self.value(node.right, site)))
        if isinstance(op, cst.Multiply):
            left, right = self.value(node.left, site), self.value(node.right, site)
            if _has_literal(left) or isinstance(node.left, (cst.List, cst.Tuple)):
                return left if _has_literal(left) else _opaque(node, safe=_all_safe(self.elements(node.left, site)))
            if _has_literal(right):
                return right
            return _opaque(node, safe=_all_safe(left) and _all_safe(right))
        # -, /, //, **, bit operations: numbers only
        return _opaque(node, safe=True)

    def _percent(self, left: Value, right: cst.BaseExpression, site: Site) -> Value:
        if isinstance(right, cst.Tuple):
            positional: list[cst.BaseExpression] = [e.value for e in right.elements]
            keyed: dict[str, cst.BaseExpression] = {}
        elif isinstance(right, cst.Dict):
            positional = []
            keyed = {}
            for element in right.elements:
                if isinstance(element, cst.DictElement):
                    key = _string_value(element.key)
                    if key is not None:
                        keyed[key] = element.value
        else:
            positional, keyed = [right], {}
            mapping = self._dict_literal(right, site)
            if mapping is not None:
                positional, keyed = [], mapping
        counter = itertools.count()
        out: Value = []
        for template in left:
            pieces: list[Value] = []
            for part in template:
                if isinstance(part, Hole):
                    pieces.append([(part,)])
                    continue
                last = 0
                for match in _PERCENT_SPEC.finditer(part):
                    pieces.append(_const(part[last : match.start()]))
                    last = match.end()
                    kind = match.group("type")
                    if kind == "%":
                        pieces.append(_const("%"))
                        continue
                    key = match.group("key")
                    arg: cst.BaseExpression | None
                    if key is not None:
                        arg = keyed.get(key)
                        if arg is None:
                            arg = right
                    else:
                        index = next(counter)
                        arg = positional[index] if index < len(positional) else right
                    if kind in _NUMERIC_TYPES:
                        pieces.append([(Hole(arg, True, HOW_PERCENT),)])
                    else:
                        formatted = bool(match.group("flags") or match.group("width")) or kind != "s"
                        value = self.value(arg, site) if arg is not right or positional == [right] else _opaque(arg)
                        pieces.append(_renode(value, arg, HOW_PERCENT, formatted))
                pieces.append(_const(part[last:]))
            out.extend(_concat(*pieces))
        return out

    def _name_value(self, node: cst.Name, site: Site) -> Value:
        name = node.value
        if name in ("True", "False", "None"):
            return _const(name)
        if site.env is not None and name in site.env:
            return site.env[name]
        if site.scope.guards and self._guarded(name, site):
            return _opaque(node, safe=True)
        found = self._bindings(name, site)
        if found is None:
            if self._enum_class(node) is not None:
                return _opaque(node, safe=True)
            return [(Hole(node, False, names=frozenset({name})),)]
        bindings, _ = found
        live: list[tuple[tuple[int, ...], Value]] = []
        for binding in bindings:
            inner = Site(
                binding.scope,
                binding.point,
                binding.blocks,
                site.env if binding.scope is site.scope else None,
                site.depth + 1,
            )
            if binding.kind == "aug":
                if binding.operator != "+":
                    live = [(binding.blocks, _opaque(node, safe=True))]
                    continue
                assert binding.value is not None
                right = _renode(self.value(binding.value, inner), binding.value, HOW_AUGMENTED)
                if not live:
                    live = [(binding.blocks, _concat([(Hole(node, False),)], right))]
                else:
                    live = [(blocks, _concat(value, right)) for blocks, value in live]
                continue
            value = self._binding_value(binding, inner)
            live = [(blocks, v) for blocks, v in live if blocks[: len(binding.blocks)] != binding.blocks]
            live.append((binding.blocks, value))
        result = [t for _, value in live for t in value]
        named = frozenset({name})
        return [
            tuple(
                Hole(p.node, p.safe, p.how, p.names | named, p.formatted) if isinstance(p, Hole) and not p.how else p
                for p in t
            )
            for t in result
        ] or _opaque(node)

    def _bindings(self, name: str, site: Site) -> tuple[list[Binding], bool] | None:
        scope: Scope | None = site.scope
        assert scope is not None
        if scope.kind == "function" and name in scope.globals and self.module_scope is not None:
            scope = self.module_scope
        if name in scope.bindings:
            found = scope.bindings[name]
            if scope is site.scope:
                before = [b for b in found if b.point < site.point]
                return (before or found), True
            return found, False
        scope = scope.parent
        while scope is not None:
            if name in scope.bindings:
                return scope.bindings[name], False
            scope = scope.parent
        return None

    def _binding_value(self, binding: Binding, site: Site) -> Value:
        target = binding.target
        if binding.kind == "numeric":
            return _opaque(target, safe=True)
        if binding.kind == "param":
            if binding.annotation is not None and self._typed_annotation(binding.annotation, site):
                return _opaque(target, safe=True)
            return _opaque(target)
        if binding.kind == "assign" and binding.value is not None:
            if binding.index is None:
                return self.value(binding.value, site)
            if isinstance(binding.value, (cst.Tuple, cst.List)) and binding.index < len(binding.value.elements):
                element = binding.value.elements[binding.index]
                if not isinstance(element, cst.StarredElement):
                    return self.value(element.value, site)
            return _opaque(target)
        if binding.kind == "for" and binding.value is not None:
            iterable = binding.value
            if binding.index is None:
                return self.elements(iterable, site)
            if isinstance(iterable, cst.Call) and dotted_name(iterable.func) == "enumerate" and iterable.args:
                return _opaque(target, safe=True) if binding.index == 0 else self.elements(iterable.args[0].value, site)
            return _opaque(target, safe=_all_safe(self.elements(iterable, site)))
        return _opaque(target)

    def _attribute_value(self, node: cst.Attribute, site: Site) -> Value:
        dotted = dotted_name(node)
        if dotted is not None and any(dotted == s or dotted.endswith("." + s) for s in self.kb.safe_attribute_suffixes):
            return _opaque(node, safe=True)
        base = node.value
        if self._enum_class(base) is not None:
            return _opaque(node, safe=True)
        if (
            isinstance(base, cst.Attribute)
            and node.attr.value in ("value", "name")
            and self._enum_class(base.value) is not None
        ):
            return _opaque(node, safe=True)
        values = self._member_values(node, site)
        if values is not None:
            return values
        if isinstance(base, cst.Name):
            owner = self.value(base, site)
            if not _has_literal(owner) and _all_safe(owner):
                return _opaque(node, safe=True)  # status.value of an Enum parameter, day.year of a date
        return _opaque(node)

    def _class_of(self, base: cst.BaseExpression, site: Site) -> ClassInfo | None:
        """The module class that ``base`` names: ``self``/``cls`` in a method, or a class name."""
        if not isinstance(base, cst.Name):
            return None
        scope: Scope | None = site.scope
        if scope is not None and scope.cls is not None and base.value == scope.self_name:
            return scope.cls
        found = self._bindings(base.value, site)
        if found is None:
            return None
        if base.value in self.module_classes:
            return self.module_classes[base.value]
        # an instance of a module class: `catalogue = Catalogue(...)`
        classes = set()
        for binding in found[0]:
            value = binding.value
            if binding.kind == "assign" and isinstance(value, cst.Call) and isinstance(value.func, cst.Name):
                classes.add(value.func.value)
            else:
                return None
        if len(classes) == 1:
            return self.module_classes.get(classes.pop())
        return None

    def _class_chain(self, info: ClassInfo) -> list[ClassInfo]:
        chain: list[ClassInfo] = []
        todo = [info]
        while todo and len(chain) < 8:
            current = todo.pop(0)
            if current in chain:
                continue
            chain.append(current)
            todo += [
                self.module_classes[b.value]
                for b in current.bases
                if isinstance(b, cst.Name) and b.value in self.module_classes
            ]
        return chain

    def _member_values(self, node: cst.Attribute, site: Site) -> Value | None:
        info = self._class_of(node.value, site)
        if info is None:
            return None
        attr = node.attr.value
        out: Value = []
        for cls in self._class_chain(info):
            for binding in cls.instance.get(attr, ()):
                inner = Site(binding.scope, binding.point, binding.blocks, None, site.depth + 1)
                out += self._binding_value(binding, inner) if binding.kind != "aug" else _opaque(node)
            for binding in cls.scope.bindings.get(attr, ()):
                inner = Site(binding.scope, binding.point, binding.blocks, None, site.depth + 1)
                out += self._binding_value(binding, inner)
            if out:
                break
        return [tuple(Hole(node, p.safe) if isinstance(p, Hole) and not p.how else p for p in t) for t in out] or None

    def _call_value(self, node: cst.Call, site: Site) -> Value:
        func = node.func
        args = node.args
        qualified = self.context.qualified_name(func) or ""
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            receiver = func.value
            if method in ("format", "format_map"):
                base = self.value(receiver, site)
                if _has_literal(base):
                    return self._format(base, node, site)
            elif method == "join" and args:
                separator = self.value(receiver, site)
                if _has_literal(separator) and _all_safe(separator):
                    elements = self.elements(args[0].value, site)
                    return _renode(elements, args[0].value, HOW_JOIN)
            elif method == "replace" and len(args) >= 2:
                quote = self._const_text(args[0].value, site)
                if quote in ("'", '"', "`") and self._const_text(args[1].value, site) == quote * 2:
                    return _opaque(node, safe=True)  # SQL quote escaping
                base = self.value(receiver, site)
                if _has_literal(base):
                    return self._replace(base, args[0].value, args[1].value, site)
            elif method in ("substitute", "safe_substitute") and isinstance(receiver, cst.Call):
                if self.context.qualified_name(receiver.func) == "string.Template" and receiver.args:
                    return self._template_substitute(self.value(receiver.args[0].value, site), node, site)
            elif method in self.kb.names("passthrough-method"):
                return self.value(receiver, site)
            elif method == "get" and args and self._const_collection(receiver, site):
                default = args[1].value if len(args) > 1 else None
                if default is None or _all_safe(self.value(default, site)):
                    return _opaque(node, safe=True)
            if self._safe_method(method):
                return _opaque(node, safe=True)
        if qualified in self.kb.names("call") or (isinstance(func, cst.Name) and self._safe_method(func.value)):
            return _opaque(node, safe=True)
        if qualified in self.kb.names("passthrough-call") and args:
            return self.value(args[0].value, site)
        if self._enum_class(func) is not None or self._sanitizer_alias(func, site):
            return _opaque(node, safe=True)
        helper = self._helper(func, site)
        if helper is not None and site.depth < 12:
            return self._helper_value(helper, node, site)
        return _opaque(node)

    def _const_text(self, expr: cst.BaseExpression, site: Site) -> str | None:
        value = self.value(expr, site)
        if len(value) == 1 and all(isinstance(p, str) for p in value[0]):
            return "".join(str(p) for p in value[0])
        return None

    def _safe_method(self, method: str) -> bool:
        """A method returning a number, date or quoted identifier (also ``geo_quote_name``-style variants)."""
        names = self.kb.names("method")
        if method in names or any(method.endswith("_" + name) for name in names if "_" in name):
            return True
        return bool(self.kb.names("sanitizer-token").intersection(name_tokens(method)))

    def _dict_literal(self, expr: cst.BaseExpression, site: Site) -> dict[str, cst.BaseExpression] | None:
        """The string-keyed entries of a dict literal that ``expr`` (a local name) is bound to once."""
        if not isinstance(expr, cst.Name):
            return None
        found = self._bindings(expr.value, site)
        if found is None or len(found[0]) != 1 or not isinstance(found[0][0].value, cst.Dict):
            return None
        entries: dict[str, cst.BaseExpression] = {}
        for element in found[0][0].value.elements:
            if isinstance(element, cst.DictElement):
                key = _string_value(element.key)
                if key is not None:
                    entries[key] = element.value
        for mutation in found[0][0].scope.mutations.get(expr.value, ()):
            if mutation.kind == "item" and mutation.default is not None and mutation.value is not None:
                key = _string_value(mutation.default)
                if key is not None:
                    entries[key] = mutation.value
        return entries

    def _sanitizer_alias(self, func: cst.BaseExpression, site: Site) -> bool:
        """``qn = connection.ops.quote_name`` then ``qn(x)``."""
        if not isinstance(func, cst.Name):
            return False
        found = self._bindings(func.value, site)
        if found is None or not found[0]:
            return False
        for binding in found[0]:
            value = binding.value
            if binding.kind != "assign" or value is None:
                return False
            name = (self.context.qualified_name(value) or "") if isinstance(value, (cst.Name, cst.Attribute)) else ""
            if name not in self.kb.names("call") and not self._safe_method(name.rpartition(".")[2]):
                return False
        return True

    def _format(self, base: Value, node: cst.Call, site: Site) -> Value:
        positional = [a.value for a in node.args if a.keyword is None and not a.star]
        keyed = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
        splat = next((a.value for a in node.args if a.star == "**"), None)
        if splat is not None and not keyed:
            mapping = self._dict_literal(splat, site)
            if mapping is not None:
                keyed, splat = mapping, None
        if isinstance(node.func, cst.Attribute) and node.func.attr.value == "format_map" and node.args:
            splat, positional = node.args[0].value, []
        counter = itertools.count()
        out: Value = []
        for template in base:
            pieces: list[Value] = []
            for part in template:
                if isinstance(part, Hole):
                    pieces.append([(part,)])
                    continue
                try:
                    fields = list(string.Formatter().parse(part))
                except ValueError:
                    pieces.append(_const(part))
                    continue
                for literal, field, spec, conversion in fields:
                    pieces.append(_const(literal))
                    if field is None:
                        continue
                    head = re.split(r"[.\[]", field, maxsplit=1)[0]
                    arg: cst.BaseExpression | None
                    if head == "":
                        index = next(counter)
                        arg = positional[index] if index < len(positional) else None
                    elif head.isdigit():
                        arg = positional[int(head)] if int(head) < len(positional) else None
                    else:
                        arg = keyed.get(head)
                    if arg is None:
                        arg = splat
                    if arg is None:
                        pieces.append(_const("{" + field + "}"))
                        continue
                    if spec and spec[-1] in _NUMERIC_TYPES:
                        pieces.append([(Hole(arg, True, HOW_FORMAT),)])
                        continue
                    value = self.value(arg, site) if arg is not splat and field == head else _opaque(arg)
                    if arg is splat and self._const_collection(arg, site):
                        value = _opaque(arg, safe=True)
                    pieces.append(_renode(value, arg, HOW_FORMAT, bool(spec or conversion)))
            out.extend(_concat(*pieces) if pieces else _const(""))
        return out

    def _replace(self, base: Value, old: cst.BaseExpression, new: cst.BaseExpression, site: Site) -> Value:
        token = _string_value(old)
        replacement = _renode(self.value(new, site), new, HOW_REPLACE)
        if token is None or not token:
            return _concat(base, replacement)
        out: Value = []
        for template in base:
            pieces: list[Value] = []
            for part in template:
                if isinstance(part, Hole) or token not in part:
                    pieces.append([(part,)])
                    continue
                chunks = part.split(token)
                for i, chunk in enumerate(chunks):
                    if i:
                        pieces.append(replacement)
                    pieces.append(_const(chunk))
            out.extend(_concat(*pieces))
        return out

    def _template_substitute(self, base: Value, node: cst.Call, site: Site) -> Value:
        keyed = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
        mapping = next((a.value for a in node.args if a.keyword is None), None)
        out: Value = []
        for template in base:
            pieces: list[Value] = []
            for part in template:
                if isinstance(part, Hole):
                    pieces.append([(part,)])
                    continue
                last = 0
                for match in _TEMPLATE_FIELD.finditer(part):
                    pieces.append(_const(part[last : match.start()]))
                    last = match.end()
                    arg = keyed.get(match.group("name") or match.group("braced") or "", mapping)
                    if arg is None:
                        pieces.append(_const(match.group(0)))
                    else:
                        value = self.value(arg, site) if arg is not mapping else _opaque(arg)
                        pieces.append(_renode(value, arg, HOW_TEMPLATE))
                pieces.append(_const(part[last:]))
            out.extend(_concat(*pieces))
        return out

    def elements(self, expr: cst.CSTNode, site: Site) -> Value:
        """The values an iterable yields (what ``sep.join(expr)`` puts into the text)."""
        if isinstance(expr, (cst.List, cst.Tuple, cst.Set)):
            out: Value = []
            for element in expr.elements:
                if isinstance(element, cst.StarredElement):
                    out += self.elements(element.value, site)
                else:
                    out += self.value(element.value, site)
            return _cap(out) if out else _const("")
        if isinstance(expr, (cst.ListComp, cst.GeneratorExp, cst.SetComp)):
            return self._comprehension(expr, site)
        if isinstance(expr, cst.BinaryOperation):
            if isinstance(expr.operator, cst.Multiply):
                sequence = (
                    expr.left
                    if isinstance(expr.left, (cst.List, cst.Tuple, cst.SimpleString, cst.Name))
                    else expr.right
                )
                return self.elements(sequence, site)
            if isinstance(expr.operator, cst.Add):
                return _cap(self.elements(expr.left, site) + self.elements(expr.right, site))
        if isinstance(expr, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
            return self.value(expr, site)
        if isinstance(expr, cst.Call):
            name = dotted_name(expr.func) or ""
            if name in ("sorted", "list", "tuple", "set", "frozenset", "reversed", "iter") and expr.args:
                return self.elements(expr.args[0].value, site)
            if name in ("map", "filter") and len(expr.args) == 2:
                mapper = dotted_name(expr.args[0].value) or ""
                items = self.elements(expr.args[1].value, site)
                if mapper in self.kb.names("call"):
                    return _opaque(expr, safe=True)
                return items
            if name == "range" or (isinstance(expr.func, cst.Attribute) and self._safe_method(expr.func.attr.value)):
                return _opaque(expr, safe=True)
            if isinstance(expr.func, cst.Attribute) and expr.func.attr.value in ("keys", "values"):
                if self._const_collection(expr.func.value, site):
                    return _opaque(expr, safe=True)
                entries = self._dict_entries(expr.func.value, site, expr.func.attr.value == "values")
                if entries is not None:
                    return entries
            return _opaque(expr)
        if isinstance(expr, cst.Dict):
            keys = [self.value(e.key, site) for e in expr.elements if isinstance(e, cst.DictElement)]
            return _cap([t for v in keys for t in v]) if keys else _const("")
        if isinstance(expr, cst.DictComp):
            return self._comprehension(expr, site)
        if isinstance(expr, cst.Name):
            return self._name_elements(expr, site)
        if isinstance(expr, cst.Attribute):
            values = self._member_values(expr, site)
            if values is not None and self._const_collection(expr, site):
                return _opaque(expr, safe=True)
        return _opaque(expr)

    def _dict_entries(self, expr: cst.BaseExpression, site: Site, values: bool) -> Value | None:
        """Keys or values of a dict a local name is built as (literal, comprehension, ``d[k] = v``)."""
        if not isinstance(expr, cst.Name):
            return None
        found = self._bindings(expr.value, site)
        if found is None:
            return None
        out: Value = []
        for binding in found[0]:
            inner = Site(binding.scope, binding.point, binding.blocks, None, site.depth + 1)
            value = binding.value
            if binding.kind != "assign" or binding.index is not None:
                return None
            if isinstance(value, cst.Dict):
                for element in value.elements:
                    if not isinstance(element, cst.DictElement):
                        return None
                    out += self.value(element.value if values else element.key, inner)
            elif isinstance(value, cst.DictComp):
                out += self._comprehension(value, inner, values)
            else:
                return None
            for mutation in binding.scope.mutations.get(expr.value, ()):
                if mutation.kind == "item" and mutation.value is not None and mutation.default is not None:
                    out += self.value(
                        mutation.value if values else mutation.default,
                        Site(mutation.scope, mutation.point, mutation.blocks),
                    )
        return _cap(out) if out else None

    def _name_elements(self, node: cst.Name, site: Site) -> Value:
        name = node.value
        if site.env is not None and name in site.env:
            return site.env[name]
        if site.scope.guards and self._guarded(name, site):
            return _opaque(node, safe=True)
        found = self._bindings(name, site)
        if found is None:
            return _opaque(node)
        bindings, _ = found
        out: Value = []
        for binding in bindings:
            inner = Site(
                binding.scope,
                binding.point,
                binding.blocks,
                site.env if binding.scope is site.scope else None,
                site.depth + 1,
            )
            if binding.kind in ("assign", "aug") and binding.value is not None and binding.index is None:
                out += self.elements(binding.value, inner)
            elif binding.kind == "param":
                safe = binding.annotation is not None and self._typed_annotation(
                    binding.annotation, inner, collection=True
                )
                out += _opaque(node, safe=safe)
            else:
                out += _opaque(node)
        scopes = {id(b.scope): b.scope for b in bindings}
        scopes[id(site.scope)] = site.scope
        for scope in scopes.values():
            for mutation in scope.mutations.get(name, ()):
                inner = Site(mutation.scope, mutation.point, mutation.blocks, None, site.depth + 1)
                assert mutation.value is not None
                if mutation.kind == "item":
                    continue
                if mutation.kind == "aug":
                    out += self.elements(mutation.value, inner)
                else:
                    out += self.value(mutation.value, inner)
        return _cap(out) if out else _opaque(node)

    def _comprehension(
        self, node: cst.ListComp | cst.GeneratorExp | cst.SetComp | cst.DictComp, site: Site, values: bool = False
    ) -> Value:
        env: dict[str, Value] = dict(site.env or {})
        comp: cst.CompFor | None = node.for_in
        while comp is not None:
            inner = Site(site.scope, site.point, site.blocks, dict(env), site.depth + 1)
            target, iterable = comp.target, comp.iter
            if isinstance(target, cst.Name):
                env[target.value] = self.elements(iterable, inner)
            elif isinstance(target, cst.Tuple):
                names = [e.value for e in target.elements]
                enumerate_call = (
                    isinstance(iterable, cst.Call) and dotted_name(iterable.func) == "enumerate" and iterable.args
                )
                for i, element in enumerate(names):
                    if not isinstance(element, cst.Name):
                        continue
                    if enumerate_call and i == 0:
                        env[element.value] = _opaque(element, safe=True)
                    elif enumerate_call and i == 1 and isinstance(iterable, cst.Call):
                        env[element.value] = self.elements(iterable.args[0].value, inner)
                    else:
                        env[element.value] = _opaque(element, safe=_all_safe(self.elements(iterable, inner)))
            comp = comp.inner_for_in
        inner = Site(site.scope, site.point, site.blocks, env, site.depth + 1)
        if isinstance(node, cst.DictComp):
            return self.value(node.value if values else node.key, inner)
        return self.value(node.elt, inner)

    # -- helpers, classes, annotations -----------------------------------------------------------

    def _helper(self, func: cst.BaseExpression, site: Site) -> Scope | None:
        """A function of this module called here: a top-level ``def`` or a method via self/cls."""
        if isinstance(func, cst.Name):
            found = self._bindings(func.value, site)
            if found is not None and all(b.scope is self.module_scope for b in found[0]):
                return self.module_functions.get(func.value)
            return None
        if isinstance(func, cst.Attribute):
            info = self._class_of(func.value, site)
            if info is not None:
                for cls in self._class_chain(info):
                    if func.attr.value in cls.methods:
                        return cls.methods[func.attr.value]
        return None

    def _helper_value(self, helper: Scope, call: cst.Call, site: Site) -> Value:
        params = (
            helper.params[1:]
            if helper.self_name is not None and isinstance(call.func, cst.Attribute)
            else helper.params
        )
        env: dict[str, Value] = {}
        positional = [a.value for a in call.args if a.keyword is None and not a.star]
        keyed = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
        for i, param in enumerate(params):
            name = param.target.value if isinstance(param.target, cst.Name) else ""
            arg = keyed.get(name) or (positional[i] if i < len(positional) else param.default)
            if arg is None:
                continue
            value = self.value(arg, site)
            env[name] = value if _has_literal(value) else [(Hole(param.target, _all_safe(value)),)]
        out: Value = []
        for expr, return_site in helper.returns:
            out += self.value(expr, Site(helper, return_site.point, return_site.blocks, env, site.depth + 3))
        return out or _opaque(call)

    def _enum_class(self, node: cst.BaseExpression) -> ClassInfo | None:
        if not isinstance(node, cst.Name) or node.value not in self.module_classes:
            return None
        info = self.module_classes[node.value]
        bases = self.kb.names("enum-base")
        for cls in self._class_chain(info):
            for base in cls.bases:
                if (self.context.qualified_name(base) or "") in bases:
                    return info
        return None

    def _const_collection(self, expr: cst.BaseExpression, site: Site, depth: int = 0) -> bool:
        """A collection literal of constants (or a name bound only to one): an allowlist."""
        if depth > 4:
            return False
        if isinstance(expr, (cst.List, cst.Tuple, cst.Set)):
            return all(
                not isinstance(e, cst.StarredElement) and _all_safe(self.value(e.value, site)) for e in expr.elements
            )
        if isinstance(expr, cst.Dict):
            return all(
                isinstance(e, cst.DictElement)
                and _all_safe(self.value(e.key, site))
                and _all_safe(self.value(e.value, site))
                for e in expr.elements
            )
        if isinstance(expr, cst.Call):
            name = dotted_name(expr.func) or ""
            short = name.rpartition(".")[2].lower()
            if len(expr.args) == 1 and any(k in short for k in ("dict", "set", "tuple", "list", "proxy")):
                return self._const_collection(expr.args[0].value, site, depth + 1)
            if isinstance(expr.func, cst.Attribute) and expr.func.attr.value in ("keys", "values"):
                return self._const_collection(expr.func.value, site, depth + 1)
            return False
        if isinstance(expr, cst.Attribute):
            if expr.attr.value in ("__members__", "_value2member_map_", "_member_map_") and self._enum_class(
                expr.value
            ):
                return True
            info = self._class_of(expr.value, site)
            if info is None:
                return False
            bindings = [b for c in self._class_chain(info) for b in c.scope.bindings.get(expr.attr.value, ())]
            instance = [b for c in self._class_chain(info) for b in c.instance.get(expr.attr.value, ())]
            return (
                bool(bindings)
                and not instance
                and all(
                    b.kind == "assign" and b.value is not None and self._const_collection(b.value, site, depth + 1)
                    for b in bindings
                )
            )
        if isinstance(expr, cst.Name):
            if self._enum_class(expr) is not None:
                return True
            found = self._bindings(expr.value, site)
            if found is None:
                return False
            bindings = found[0]
            return (
                bool(bindings)
                and all(
                    b.kind == "assign"
                    and b.value is not None
                    and b.index is None
                    and self._const_collection(b.value, Site(b.scope, b.point, b.blocks), depth + 1)
                    for b in bindings
                )
                and not any(
                    m
                    for s in {id(b.scope): b.scope for b in bindings}.values()
                    for m in s.mutations.get(expr.value, ())
                )
            )

        return False

    def _typed_annotation(self, annotation: cst.BaseExpression, site: Site, collection: bool = False) -> bool:
        """An annotation whose values cannot carry SQL syntax (int, UUID, Enum, Literal[...])."""
        annotation = _unquote(annotation)
        if isinstance(annotation, cst.BinaryOperation) and isinstance(annotation.operator, cst.BitOr):
            return all(
                _is_none(side) or self._typed_annotation(side, site, collection)
                for side in (annotation.left, annotation.right)
            )
        if isinstance(annotation, cst.Subscript):
            head = self.context.qualified_name(annotation.value) or ""
            args = [e.slice.value for e in annotation.slice if isinstance(e.slice, cst.Index)]
            short = head.rpartition(".")[2]
            if head in self.kb.names("literal") or short == "Literal":
                return not collection
            if short in ("Optional", "Union"):
                return all(_is_none(a) or self._typed_annotation(a, site, collection) for a in args)
            if short == "Annotated" and args:
                return self._typed_annotation(args[0], site, collection)
            if collection and short.lower() in (
                "list",
                "set",
                "frozenset",
                "sequence",
                "iterable",
                "tuple",
                "collection",
            ):
                return bool(args) and all(isinstance(a, cst.Ellipsis) or self._typed_annotation(a, site) for a in args)
            return False
        if collection:
            return False
        qualified = self.context.qualified_name(annotation) or ""
        if qualified in self.kb.names("annotation"):
            return True
        if isinstance(annotation, cst.Name) and self._enum_class(annotation) is not None:
            return True
        if isinstance(annotation, cst.Name) and self.module_scope is not None:
            alias = self.module_scope.bindings.get(annotation.value, [])
            if len(alias) == 1 and alias[0].kind == "assign" and alias[0].value is not None and site.depth < 6:
                return self._typed_annotation(
                    alias[0].value, Site(site.scope, site.point, site.blocks, None, site.depth + 2)
                )
        return False

    # -- origins ---------------------------------------------------------------------------

    def origin(self, expr: cst.BaseExpression, site: Site) -> str | None:
        """The handle type ``expr`` evaluates to (``sqlite3.Cursor``, ``sqlalchemy.Session``…), if known."""
        key = (id(expr), site.point, id(site.scope))
        if key in self._origins:
            return self._origins[key]
        self._origins[key] = None  # cycles resolve to "unknown"
        result = self._origin(expr, site) if site.depth < 30 else None
        self._origins[key] = result
        return result

    def _origin(self, expr: cst.BaseExpression, site: Site) -> str | None:
        kb = self.kb
        if isinstance(expr, cst.Await):
            return self.origin(expr.expression, site)
        if isinstance(expr, cst.Call):
            func = expr.func
            qualified = self.context.qualified_name(func) or ""
            found = kb.handle("call", qualified)
            if found:
                return found
            if kb.handle("wrapper", qualified) and expr.args:
                return self.origin(expr.args[0].value, site)
            if isinstance(func, cst.Attribute):
                receiver = self.origin(func.value, site)
                if receiver:
                    return kb.handle("method", f"{receiver}.{func.attr.value}") or kb.handle("method", f"{receiver}.*")
            elif isinstance(func, cst.Name):
                factory = self.origin(func, site)
                if factory:
                    return kb.handle("method", f"{factory}.__call__")
            helper = self._helper(func, site)
            if helper is not None:
                return self._returned_origin(helper, site)
            return None
        qualified = self.context.qualified_name(expr) or ""
        if qualified:
            found = kb.handle("value", qualified)
            if found:
                return found
        if isinstance(expr, cst.Name):
            info = self.module_classes.get(expr.value)
            if info is not None:
                for cls in self._class_chain(info):
                    for base in cls.bases:
                        found = kb.handle("subclass", self.context.qualified_name(base) or "")
                        if found:
                            return found
                return None
            found_bindings = self._bindings(expr.value, site)
            if found_bindings is None:
                return None
            origins = {self._binding_origin(b, site) for b in found_bindings[0]}
            origins.discard(None)
            return origins.pop() if len(origins) == 1 else None
        if isinstance(expr, cst.Attribute):
            info = self._class_of(expr.value, site)
            if info is not None:
                origins = set()
                for cls in self._class_chain(info):
                    for binding in [
                        *cls.instance.get(expr.attr.value, ()),
                        *cls.scope.bindings.get(expr.attr.value, ()),
                    ]:
                        origins.add(self._binding_origin(binding, site))
                origins.discard(None)
                if len(origins) == 1:
                    return origins.pop()
            receiver = self.origin(expr.value, site)
            if receiver:
                found = kb.handle("attribute", f"{receiver}.{expr.attr.value}")
                if found:
                    return found
            return kb.handle("attribute", f"*.{expr.attr.value}")
        if isinstance(expr, cst.Subscript):
            return kb.handle("subscript", self.context.qualified_name(expr.value) or "")
        return None

    def _binding_origin(self, binding: Binding, site: Site) -> str | None:
        inner = Site(binding.scope, binding.point, binding.blocks, None, site.depth + 1)
        if binding.kind == "param":
            found = self._annotation_origin(binding.annotation, inner) if binding.annotation is not None else None
            if found is None and binding.default is not None:
                found = self._depends_origin(binding.default, inner)
            return found
        if binding.kind in ("assign", "with") and binding.value is not None and binding.index is None:
            return self.origin(binding.value, inner)
        return None

    def _annotation_origin(self, annotation: cst.BaseExpression, site: Site) -> str | None:
        annotation = _unquote(annotation)
        if isinstance(annotation, cst.BinaryOperation) and isinstance(annotation.operator, cst.BitOr):
            return self._annotation_origin(annotation.left, site) or self._annotation_origin(annotation.right, site)
        if isinstance(annotation, cst.Subscript):
            head = (self.context.qualified_name(annotation.value) or "").rpartition(".")[2]
            args = [e.slice.value for e in annotation.slice if isinstance(e.slice, cst.Index)]
            if head in ("Optional", "Union") and args:
                return next((o for o in (self._annotation_origin(a, site) for a in args) if o), None)
            if head == "Annotated" and args:
                found = self._annotation_origin(args[0], site)
                if found is None:
                    found = next((o for o in (self._depends_origin(a, site) for a in args[1:]) if o), None)
                return found
            return None
        qualified = self.context.qualified_name(annotation) or ""
        found = self.kb.handle("annotation", qualified)
        if found is None and isinstance(annotation, cst.Name) and self.module_scope is not None and site.depth < 8:
            alias = self.module_scope.bindings.get(annotation.value, [])
            if len(alias) == 1 and alias[0].kind == "assign" and alias[0].value is not None:
                return self._annotation_origin(
                    alias[0].value, Site(site.scope, site.point, site.blocks, None, site.depth + 2)
                )
        return found

    def _depends_origin(self, default: cst.BaseExpression, site: Site) -> str | None:
        """``Depends(get_db)``: what the dependency function returns or yields."""
        if not isinstance(default, cst.Call) or not default.args:
            return None
        if (self.context.qualified_name(default.func) or "").rpartition(".")[2] not in ("Depends", "Security"):
            return None
        provider = default.args[0].value
        helper = self._helper(provider, site)
        if helper is None:
            return None
        return self._returned_origin(helper, site)

    def _returned_origin(self, helper: Scope, site: Site) -> str | None:
        origins = {
            self.origin(expr, Site(helper, s.point, s.blocks, None, site.depth + 3)) for expr, s in helper.returns
        }
        origins.discard(None)
        return origins.pop() if len(origins) == 1 else None

    # -- judging ---------------------------------------------------------------------------

    def finish(self) -> list[Issue]:
        """Judge every recorded call and BL105 candidate once, at the end of the module."""
        if self.issues is not None:
            return self.issues
        issues: list[Issue] = []
        reported: set[int] = set()
        for sink in self.sinks:
            for issue in self._judge_call(sink):
                key = id(issue.hole.node)
                if key in reported:
                    continue
                reported.add(key)
                issues.append(issue)
        if "BL105" in self.rules:
            for issue in self._judge_audit(reported):
                issues.append(issue)
        self.issues = issues
        return issues

    def _sink_rows(self, call: cst.Call, site: Site) -> tuple[list[SinkRow], str | None]:
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
        receiver = self.origin(func.value, site)
        if receiver is not None:
            return self.kb.method_sinks.get((receiver, method), []), receiver
        return self.kb.method_sinks.get((UNKNOWN_HANDLE, method), []), None

    def _judge_call(self, sink: SinkCall) -> list[Issue]:
        call, site = sink.call, sink.site
        rows, receiver = self._sink_rows(call, site)
        issues: list[Issue] = []
        for row in rows:
            argument = _argument(call, row)
            if argument is None:
                continue
            if row.shape == "list":
                pieces = self._list_pieces(argument, site)
            elif row.shape == "dict":
                pieces = self._dict_pieces(argument, site)
            else:
                pieces = [(argument, self.value(argument, site))]
            for expr, value in pieces:
                issue = self._issue_for(value, row, call, receiver, site, expr)
                if issue is not None:
                    issues.append(issue)
                    break
        return issues

    def _list_pieces(self, argument: cst.BaseExpression, site: Site) -> list[tuple[cst.BaseExpression, Value]]:
        if isinstance(argument, (cst.List, cst.Tuple)):
            return [
                (e.value, self.value(e.value, site)) for e in argument.elements if not isinstance(e, cst.StarredElement)
            ]
        return [(argument, self.elements(argument, site))]

    def _dict_pieces(self, argument: cst.BaseExpression, site: Site) -> list[tuple[cst.BaseExpression, Value]]:
        if not isinstance(argument, cst.Dict):
            return []
        out = []
        for element in argument.elements:
            if isinstance(element, cst.DictElement):
                out.append((element.value, self.value(element.value, site)))
        return out

    def _issue_for(
        self, value: Value, row: SinkRow, call: cst.Call, receiver: str | None, site: Site, argument: cst.BaseExpression
    ) -> Issue | None:
        confirmed = row.handle != UNKNOWN_HANDLE
        for template in value:
            if row.rule == "BL103":
                if not unsafe_holes(template):
                    continue
            elif not is_built(template) or (not confirmed and not looks_like_sql(fold(template))):
                continue
            slots = self._slots(template)
            if not slots:
                continue
            rule = row.rule
            chosen = next(((h, p) for h, p in slots if p != IDENTIFIER), None)
            if chosen is None and rule in ("BL101", "BL102"):
                rule = "BL104"
            if chosen is None:
                chosen = slots[0]
            hole, position = chosen
            inside = _contains(argument, hole.node)
            related: list[tuple[cst.CSTNode, str]] = (
                [] if inside else [(call, f"the SQL reaches {self._label(row, call, receiver)} here")]
            )
            return Issue(
                rule=rule,
                hole=hole,
                holes=[h for h, _ in slots],
                position=position,
                template=template,
                sink=call,
                row=row,
                label=self._label(row, call, receiver),
                driver=self.kb.drivers.get(row.driver),
                confirmed=confirmed,
                method=row.method or (row.function or "").rpartition(".")[2],
                related=related,
            )
        return None

    def _slots(self, template: Template) -> list[tuple[Hole, str]]:
        """Unvetted holes with their SQL positions; a value named as SQL (``where_sql``) is composition."""
        fragment_names, sql_names = self.kb.names("fragment-name"), self.kb.names("sql-name")
        out = []
        for hole, position in zip(holes(template), slot_positions(template)):
            if hole.safe or not hole.how:
                continue
            tokens = _node_tokens(hole.node)
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

    def _judge_audit(self, reported: set[int]) -> list[Issue]:
        issues: list[Issue] = []
        for node, site, kind in self.audit:
            value = (
                self._name_value(node, site)
                if kind == "binding" and isinstance(node, cst.Name)
                else self.value(node, site)
            )
            for template in value:
                if not is_built(template) or not looks_like_sql(fold(template)):
                    continue
                slots = self._slots(template)
                if not slots:
                    continue
                hole, position = slots[0]
                if any(id(h.node) in reported for h, _ in slots):
                    break
                reported.update(id(h.node) for h, _ in slots)
                issues.append(
                    Issue("BL105", hole, [h for h, _ in slots], position, template, None, None, "", None, False, "", [])
                )
                break
        return issues


# ---------------------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------------------


def _node_tokens(node: cst.CSTNode) -> list[str]:
    """Name tokens of what a value is called: ``where_sql`` → where, sql; ``self._get_sql()`` → get, sql."""
    while True:
        if isinstance(node, cst.Subscript):
            node = node.value
        elif isinstance(node, cst.Call):
            node = node.func
        elif isinstance(node, cst.Attribute):
            return name_tokens(node.attr.value)
        elif isinstance(node, cst.Name):
            return name_tokens(node.value)
        else:
            return []


def _annotation(param: cst.Param) -> cst.BaseExpression | None:
    return param.annotation.annotation if param.annotation is not None else None


def _unquote(annotation: cst.BaseExpression) -> cst.BaseExpression:
    text = _string_value(annotation)
    if text is None:
        return annotation
    try:
        return cst.parse_expression(text)
    except Exception:  # a string annotation that is not an expression
        return annotation


def _is_none(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def _argument(call: cst.Call, row: SinkRow) -> cst.BaseExpression | None:
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


def _contains(root: cst.CSTNode, target: cst.CSTNode) -> bool:
    if root is target:
        return True
    stack = [root]
    while stack:
        node = stack.pop()
        if node is target:
            return True
        stack.extend(children(node))
    return False


def _terminates(body: cst.BaseSuite) -> bool:
    statements: list[cst.CSTNode] = []
    if isinstance(body, cst.SimpleStatementSuite):
        statements = list(body.body)
    else:
        for line in body.body:
            statements.extend(line.body if isinstance(line, cst.SimpleStatementLine) else [line])
    for statement in statements:
        if isinstance(statement, _TERMINATORS):
            return True
        if isinstance(statement, cst.Expr) and isinstance(statement.value, cst.Call):
            name = dotted_name(statement.value.func) or ""
            if name.rpartition(".")[2] in ("abort", "fail", "exit", "error") or name.startswith("sys.exit"):
                return True
    return False


def _reassigns(body: cst.BaseSuite, names: set[str]) -> bool:
    if isinstance(body, cst.SimpleStatementSuite):
        lines: Iterable[Any] = [body]
    else:
        lines = [line for line in body.body if isinstance(line, cst.SimpleStatementLine)]
    for line in lines:
        for statement in line.body:
            if isinstance(statement, cst.Assign) and any(
                isinstance(t.target, cst.Name) and t.target.value in names for t in statement.targets
            ):
                return True
    return False


def _membership_tests(test: cst.BaseExpression, kb: SqlKnowledge) -> list[tuple[str, cst.BaseExpression | None, bool]]:
    """(name, allowlist or None for a vetting call, positive?) for each check in an ``if``/``assert`` test."""
    if isinstance(test, cst.BooleanOperation):
        return _membership_tests(test.left, kb) + _membership_tests(test.right, kb)
    negated = False
    while isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        negated = not negated
        test = test.expression
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1 and isinstance(test.left, cst.Name):
        target = test.comparisons[0]
        if isinstance(target.operator, cst.In):
            return [(test.left.value, target.comparator, not negated)]
        if isinstance(target.operator, cst.NotIn):
            return [(test.left.value, target.comparator, negated)]
        return []
    if isinstance(test, cst.Call):
        func = test.func
        name = dotted_name(func) or ""
        if name in kb.names("guard-call") and len(test.args) >= 2 and isinstance(test.args[1].value, cst.Name):
            return [(test.args[1].value.value, None, not negated)]
        if isinstance(func, cst.Attribute) and func.attr.value in kb.names("guard-method"):
            if isinstance(func.value, cst.Name) and not test.args:
                return [(func.value.value, None, not negated)]
            if test.args and isinstance(test.args[0].value, cst.Name) and func.attr.value in ("match", "fullmatch"):
                return [(test.args[0].value.value, None, not negated)]
    return []


def analysis_for(context: FileContext) -> SqlAnalysis:
    """The one SqlAnalysis of a file, shared by every BL1xx rule instance linting it."""
    analysis = context.shared.get("sql")
    if analysis is None:
        analysis = context.shared["sql"] = SqlAnalysis(context)
    return analysis
