"""Templates: the text of a string expression with holes where values are interpolated.

A ``Value`` is the list of texts an expression may evaluate to (at most ``MAX_ALTERNATIVES``); each
text is a ``Template`` of literal parts and ``Hole``s. A hole is *safe* when the value cannot carry
SQL syntax (a number, a constant, a vetted name) and records ``how`` it was joined into the text.

A template holds at most ``MAX_PARTS`` parts: text built longer (a variable re-assigned ``q = q + ...``
thousands of times) is cut there and ends with the ``CUT`` hole, and adding to a cut template leaves
it as it is. So each fold step costs at most ``MAX_PARTS``, not the length of all the text before it
(issue 19 item 4). The holes kept are judged as before: a hole's SQL position reads only the text
before it and the part after it (backlint/analysis/sql/slots.py), and the cut keeps that part;
holes past the cut are not judged, and the autofix refuses a cut text.
"""

from __future__ import annotations

import codecs
import dataclasses
import functools
import itertools
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol, Union

import libcst as cst

from backlint.analysis.origins import UNKNOWN, Origin, union

if TYPE_CHECKING:
    from backlint.analysis.scopes import Binding, Site


@dataclasses.dataclass(eq=False)
class Hole:
    """A value joined into SQL text. ``how`` is the string operation that joined it ("" = none yet)."""

    node: cst.CSTNode
    safe: bool
    how: str = ""
    names: frozenset[str] = frozenset()
    # `{x!r}` / `{x:>5}` / `%5s`: formatting the autofix cannot move into a parameter.
    formatted: bool = False
    # Where an unvetted value may come from (backlint/analysis/origins.py); None: not followed.
    origin: Origin | None = None


Part = Union[str, Hole]
Template = tuple[Part, ...]
Value = list[Template]  # alternatives: the text may be any one of them

MAX_ALTERNATIVES = 8
# Parts (literal pieces and holes) of one template (see the module docstring); the longest the
# corpus apps fold has 16 (benchmarks/corpus/README.md).
MAX_PARTS = 128
SENTINEL = "\u27e8x\u27e9"  # ⟨x⟩ stands for a hole in folded text

HOW_FSTRING = "an f-string"
HOW_PERCENT = "%-formatting"
HOW_FORMAT = "str.format()"
HOW_PLUS = "+ concatenation"
HOW_AUGMENTED = "+= concatenation"
HOW_JOIN = "str.join()"
HOW_REPLACE = "str.replace()"
HOW_TEMPLATE = "string.Template"
HOW_CUT = "text past the folding limit"

# The last part of a template cut at MAX_PARTS: a safe hole (no slot), the same object in every cut.
CUT = Hole(cst.Ellipsis(), True, HOW_CUT)

PERCENT_SPEC = re.compile(
    r"%(?:\((?P<key>[^)]*)\))?(?P<flags>[#0\- +]*)(?P<width>\*|\d+)?"
    r"(?:\.(?:\*|\d+))?[hlL]?(?P<type>[diouxXeEfFgGcrsa%])"
)
NUMERIC_TYPES = frozenset("diouxXeEfFgGn%bc")
TEMPLATE_FIELD = re.compile(r"\$(?:(?P<name>[_a-zA-Z]\w*)|\{(?P<braced>[_a-zA-Z]\w*)\})")


class Folder(Protocol):
    """What the folding helpers ask of the value folder (backlint/analysis/sql/values.py)."""

    def value(self, expr: cst.CSTNode, site: Site) -> Value: ...

    def member_values(self, node: cst.Attribute, site: Site) -> Value | None: ...

    def leaf_origin(self, expr: cst.CSTNode, site: Site) -> Origin: ...

    def unbound_origin(self, node: cst.Name) -> Origin: ...

    def items_of(self, iterable: cst.BaseExpression, index: int, site: Site) -> Value | None: ...

    def param_origin(self, binding: Binding) -> Origin: ...


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


def opaque(node: cst.CSTNode, safe: bool = False) -> Value:
    """A value whose text is not known: one hole."""
    return [(Hole(node, safe),)]


def leaf(node: cst.CSTNode, origin: Origin | None) -> Value:
    """A value not proven constant, and where it may come from."""
    return [(Hole(node, False, origin=origin),)]


def origin_of(value: Value) -> Origin:
    """Where the unvetted parts of ``value`` may come from."""
    return union(p.origin or UNKNOWN for t in value for p in t if isinstance(p, Hole) and not p.safe)


def const(text: str) -> Value:
    return [(text,)]


def merge(template: Template) -> Template:
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


def is_cut(template: Template) -> bool:
    """The template was cut at MAX_PARTS: the text goes on past its last part."""
    return bool(template) and template[-1] is CUT


def cut(template: Template) -> Template:
    """``template`` if it has at most MAX_PARTS parts, else its first parts and ``CUT``. The cut is
    before a hole, so a literal part is kept whole: each hole kept reads the same part after it
    (a literal, or a hole where ``CUT`` now stands) as before."""
    if len(template) <= MAX_PARTS:
        return template
    end = MAX_PARTS - 1
    while end > 0 and not isinstance(template[end], Hole):
        end -= 1
    return (*template[:end], CUT)


def cap(alternatives: Iterable[Template]) -> Value:
    """At most MAX_ALTERNATIVES, keeping those that carry unvetted values first."""
    seen: set[Template] = set()  # texts compare as text, holes by identity (Hole is eq=False)
    unique: list[Template] = []
    for template in alternatives:
        if template not in seen:
            seen.add(template)
            unique.append(template)
    if len(unique) > MAX_ALTERNATIVES:
        unique.sort(key=lambda t: 0 if unsafe_holes(t) else 1)
        unique = unique[:MAX_ALTERNATIVES]
    return unique or [("",)]


def concat(*values: Value) -> Value:
    result: Value = [()]
    for value in values:
        if len(result) * len(value) <= MAX_ALTERNATIVES:
            result = [_joined(a, b) for a, b in itertools.product(result, value)]
        else:  # every alternative of both sides still appears once
            first_b, first_a = value[0], result[0]
            result = [_joined(a, first_b) for a in result] + [_joined(first_a, b) for b in value[1:]]
        result = cap(result)
    return result


def _joined(a: Template, b: Template) -> Template:
    """``a`` then ``b``, merged and cut; text added to a cut template is not read."""
    if is_cut(a):
        return a
    return cut(merge(a + b))


def renode(value: Value, node: cst.CSTNode, how: str, formatted: bool = False) -> Value:
    """Put ``value`` into text at ``node`` by ``how``: a value not yet joined becomes a hole there."""
    out: Value = []
    for template in value:
        parts: list[Part] = []
        for part in template:
            if isinstance(part, Hole) and not part.how:
                parts.append(Hole(node, part.safe, how, part.names, formatted, part.origin))
            else:
                parts.append(part)
        out.append(tuple(parts))
    return out


def all_safe(value: Value) -> bool:
    return all(not isinstance(p, Hole) or p.safe for t in value for p in t)


def has_literal(value: Value) -> bool:
    return any(isinstance(p, str) for t in value for p in t)


def const_text_of(value: Value) -> str | None:
    """The text of a value known exactly (one alternative, no hole)."""
    if len(value) == 1 and all(isinstance(p, str) for p in value[0]):
        return "".join(str(p) for p in value[0])
    return None


# -- names and source text ---------------------------------------------------------------------

_SQL_NAME_TOKENS = frozenset({"sql", "query", "stmt", "statement", "q", "cmd", "qs", "querystring"})


def name_tokens(name: str) -> list[str]:
    """``buildSqlQuery`` / ``BUILD_SQL`` / ``build_sql`` → ["build", "sql", ...]."""
    return list(_name_tokens(name))


@functools.lru_cache(maxsize=1 << 14)  # the same names recur across a project's files (two regexes each)
def _name_tokens(name: str) -> tuple[str, ...]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return tuple(t.lower() for t in re.split(r"[_\W]+", spaced) if t)


def is_sql_name(name: str) -> bool:
    return any(t in _SQL_NAME_TOKENS for t in name_tokens(name))


def node_tokens(node: cst.CSTNode) -> list[str]:
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


def code_of(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node).strip()


def string_value(node: cst.CSTNode) -> str | None:
    """The text of a plain string literal (bytes decoded leniently), else None."""
    if isinstance(node, cst.SimpleString):
        try:
            value = node.evaluated_value
        except Exception:  # malformed escapes in odd code must not stop the walk
            return None
        return value.decode("latin-1") if isinstance(value, bytes) else value
    if isinstance(node, cst.ConcatenatedString):
        left, right = string_value(node.left), string_value(node.right)
        return None if left is None or right is None else left + right
    return None


def fstring_text(node: cst.FormattedString, raw: str) -> str:
    """A text part of an f-string as Python evaluates it (leniently: odd escapes stay as written)."""
    text = raw.replace("{{", "{").replace("}}", "}")
    if "r" in node.prefix.lower() or "\\" not in text:
        return text
    try:
        return codecs.decode(text, "unicode_escape")
    except (UnicodeDecodeError, ValueError):
        return text


def unquote(annotation: cst.BaseExpression) -> cst.BaseExpression:
    """A string annotation (``"Session"``) as the expression it holds."""
    text = string_value(annotation)
    if text is None:
        return annotation
    try:
        return cst.parse_expression(text)
    except Exception:  # a string annotation that is not an expression
        return annotation


def is_none(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"
