"""Where a string literal sits: the name it is bound to (``slot_name``), the class whose body holds
it (``ClassRoles``), the class a local name holds (``LocalClasses``), environment lookups."""

from __future__ import annotations

from typing import Any, Optional

import libcst as cst

from backlint.analysis.scopes import Scopes, Site
from backlint.analysis.strings import HOLE, is_string, literal_text, name_tokens
from backlint.core.catalog import Knowledge
from backlint.core.rule import Analysis, FileContext


def string_value(node: cst.CSTNode | None) -> str | None:
    """The value of a plain string literal (no interpolation), else None."""
    if node is None or not is_string(node):
        return None
    text = literal_text(node)
    return None if text is None or HOLE in text else text


def subscript_key(node: cst.Subscript) -> str | None:
    if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
        return None
    return string_value(node.slice[0].slice.value)


def target_name(node: cst.CSTNode) -> str | None:
    """The name a value is stored under: ``x``, ``obj.x``, ``d["x"]``."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value
    if isinstance(node, cst.Subscript):
        return subscript_key(node)
    return None


def slot_name(ancestors: list[cst.CSTNode]) -> str | None:
    """The name the literal at ``ancestors[-1]`` is bound to, if any (assignment, keyword, key)."""
    node, parent = ancestors[-1], ancestors[-2] if len(ancestors) > 1 else None
    if isinstance(parent, cst.Assign) and parent.value is node:
        return next(filter(None, (target_name(t.target) for t in parent.targets)), None)
    if isinstance(parent, cst.AnnAssign) and parent.value is node:
        return target_name(parent.target)
    if isinstance(parent, cst.Arg) and parent.keyword is not None:
        return parent.keyword.value
    if isinstance(parent, cst.DictElement) and parent.value is node:
        return string_value(parent.key)
    if isinstance(parent, cst.Param) and parent.default is node:
        return parent.name.value
    return None


def unwrap_await(node: cst.BaseExpression) -> cst.BaseExpression:
    return node.expression if isinstance(node, cst.Await) else node


def positional(call: cst.Call, index: int) -> cst.BaseExpression | None:
    values = [a for a in call.args if a.keyword is None and not a.star]
    return values[index].value if index < len(values) else None


def keyword(call: cst.Call, name: str) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg.value
    return None


def is_config(node: cst.BaseExpression) -> bool:
    """``app.config`` / ``current_app.config`` / ``config`` — a Flask-style config mapping."""
    if isinstance(node, cst.Attribute):
        return node.attr.value == "config"
    return isinstance(node, cst.Name) and node.value == "config"


def second_item(node: cst.BaseExpression) -> cst.BaseExpression | None:
    if isinstance(node, (cst.Tuple, cst.List)) and len(node.elements) == 2:
        element = node.elements[1]
        return element.value if isinstance(element, cst.Element) else None
    return None


def field_default(value: cst.BaseExpression | None, context: FileContext) -> cst.BaseExpression | None:
    """The default of an annotated field: the literal itself, or ``Field("x")``/``Field(default="x")``."""
    if isinstance(value, cst.Call) and (context.qualified_name(value.func) or "").rpartition(".")[2] == "Field":
        return keyword(value, "default") or positional(value, 0)
    return value


def root_name(node: cst.BaseExpression) -> str | None:
    """``request`` in ``request.form["password"].strip()``."""
    while isinstance(node, (cst.Attribute, cst.Subscript, cst.Call, cst.Await)):
        node = (
            node.func
            if isinstance(node, cst.Call)
            else (node.expression if isinstance(node, cst.Await) else node.value)
        )
    return node.value if isinstance(node, cst.Name) else None


_REQUEST_NAMES = frozenset({"request", "req"})


def carries_input(expr: cst.BaseExpression, scopes: Scopes, site: Site) -> bool:
    """Can ``expr`` hold what a caller or the request passes: is it (part of) a parameter of the
    function it is in (not ``self``), the request, or a name bound from the request?"""
    root = root_name(expr)
    if root is None or root in ("self", "cls"):
        return False
    if root in _REQUEST_NAMES:
        return True
    found = scopes.lookup(root, site)
    if found is None:
        return False  # an import, a builtin: configuration or a library, not input
    for binding in found[0]:
        if binding.kind == "param":
            return True
        if binding.value is not None and root_name(binding.value) in _REQUEST_NAMES:
            return True
    return False


class LocalClasses(Analysis):
    """Which class a local name holds (``server = smtplib.SMTP(...)``), to resolve its methods.

    A cheap stand-in for dataflow: the last assignment of a name met so far in the walk wins.
    """

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.classes: dict[str, str] = {}

    def visit_Assign(self, node: cst.Assign) -> None:
        value = unwrap_await(node.value)
        if not isinstance(value, cst.Call) or len(node.targets) != 1:
            return
        target = node.targets[0].target
        if isinstance(target, cst.Name):
            name = self.call_name(value)
            if name is not None:
                self.classes[target.value] = name

    def visit_WithItem(self, node: cst.WithItem) -> None:
        value = unwrap_await(node.item)
        if isinstance(value, cst.Call) and node.asname is not None and isinstance(node.asname.name, cst.Name):
            name = self.call_name(value)
            if name is not None:
                self.classes[node.asname.name.value] = name

    def call_name(self, call: cst.Call) -> str | None:
        """``smtplib.SMTP.login`` for ``server.login(...)`` when ``server = smtplib.SMTP(...)``."""
        func = call.func
        if type(func) is cst.Name and func.value in self.classes:  # type(): isinstance() is 10x slower
            return self.classes[func.value] + ".__call__"
        if type(func) is cst.Attribute and type(func.value) is cst.Name and func.value.value in self.classes:
            return f"{self.classes[func.value.value]}.{func.attr.value}"
        return self.context.qualified_name(func)


Lookup = tuple[Optional[cst.BaseExpression], Optional[cst.BaseExpression]]


def env_lookup(call: cst.Call, classes: LocalClasses, knowledge: Knowledge) -> Lookup | None:
    """(key, default) of an environment/config lookup such as ``os.getenv(K, "x")``, else None."""
    name = classes.call_name(call)
    row = knowledge.derived(_env_lookups).get(name) if name is not None else None
    if row is not None:
        key = positional(call, row["key"])
        default = positional(call, row["default"]) if "default" in row else None
        if default is None and "default-keyword" in row:
            default = keyword(call, row["default-keyword"])
        return key, default
    return None


def _env_lookups(knowledge: Knowledge) -> dict[str, dict[str, Any]]:
    return {row["call"]: row for row in knowledge.rows("secret-env-lookups")}


def _class_roles(knowledge: Knowledge) -> dict[str, str]:
    return {row["name"]: row["role"] for row in knowledge.rows("secret-classes") if not row["name"].startswith("*")}


def _class_suffixes(knowledge: Knowledge) -> tuple[tuple[str, str], ...]:
    """Rows naming a base by the end of its name (``*Settings``): a naming convention of a library."""
    return tuple((r["name"][1:], r["role"]) for r in knowledge.rows("secret-classes") if r["name"].startswith("*"))


class ClassRoles(Analysis):
    """The roles (enum, settings) of the classes enclosing the walk, from the secret-classes table."""

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.table = context.knowledge.derived(_class_roles)
        self.suffixes = context.knowledge.derived(_class_suffixes)
        self.local: dict[str, str] = {}  # classes of this file with a role, for subclasses
        self.stack: list[str | None] = []  # per enclosing ClassDef/FunctionDef: the class role, None for functions
        self.names: list[str] = []  # the enclosing classes' names, innermost last

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        role = None
        for base in node.bases:
            name = self.context.qualified_name(base.value) or ""
            role = self.table.get(name) or self.local.get(name)
            if role is None and name.endswith("Enum") and "enum" in self.context.imports.aliases:
                role = "enum"
            if role is None and name not in self.local:
                last = name.rpartition(".")[2]
                role = next((r for suffix, r in self.suffixes if last.endswith(suffix)), None)
            if role:
                break
        if role:
            self.local[node.name.value] = role
        self.stack.append(role or "class")
        self.names.append(node.name.value)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        self.stack.pop()
        self.names.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.stack.append(None)

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.stack.pop()

    def class_words(self) -> tuple[str, ...]:
        """The words of the enclosing classes' names (``RedisSettings`` → redis, settings)."""
        return tuple(word for name in self.names for word in name_tokens(name))

    def body_role(self) -> str | None:
        """The role of the class whose body holds the current statement (``class`` if plain)."""
        return self.stack[-1] if self.stack else None
