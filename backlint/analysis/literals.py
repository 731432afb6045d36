"""Literal values as the app reads them with its environment variables unset, for the deployment
rules (backlint/checks/deployment.py): ``DEBUG = env.bool("DEBUG", default=True)`` is on,
``debug=os.environ.get("FLASK_DEBUG") == "1"`` is off; a name stands for the last assignment to it
that reaches the place being walked (``Scopes``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import libcst as cst

from backlint.analysis.scopes import Scopes
from backlint.analysis.strings import name_tokens
from backlint.core.imports import dotted_name
from backlint.core.rule import FileContext

UNKNOWN = object()
TRUE_STRINGS = frozenset({"1", "true", "yes", "on", "y", "t"})
FALSE_STRINGS = frozenset({"0", "false", "no", "off", "n", "f", ""})
MAX_DEPTH = 8


class Literals:
    """An evaluator that reads an expression as the app would with its environment variables unset;
    a name stands for the last assignment to it that reaches the place being walked (``Scopes``)."""

    def __init__(self, context: FileContext, table: str) -> None:
        self.context = context
        self.scopes = context.get(Scopes)
        self.env_rows = {r["name"]: r for r in context.knowledge.rows(table) if r["form"] == "env"}

    def binding(self, name: str) -> cst.BaseExpression | None:
        found = self.scopes.lookup(name, self.scopes.site_at(self.context.ancestors[-1]))
        if found is None:
            return None
        values = [
            b.value
            for b in found[0]
            if b.kind == "assign" and b.index is None and isinstance(b.target, cst.Name) and b.value is not None
        ]
        return values[-1] if values else None

    def qualified(self, node: cst.BaseExpression) -> str | None:
        """Qualified name of a callee; a method of a tracked instance is ``<class>.<method>``."""
        if isinstance(node, cst.Name):
            bound = self.binding(node.value)
            if isinstance(bound, cst.Call):
                ctor = self.context.qualified_name(bound.func)
                return ctor
        if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name):
            bound = self.binding(node.value.value)
            if isinstance(bound, cst.Call):
                ctor = self.context.qualified_name(bound.func)
                if ctor:
                    return f"{ctor}.{node.attr.value}"
        return self.context.qualified_name(node)

    def evaluate(self, node: cst.BaseExpression | None, depth: int = 0) -> Any:
        if node is None or depth > MAX_DEPTH:
            return UNKNOWN
        if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
            value = node.evaluated_value
            return value if isinstance(value, str) else UNKNOWN
        if isinstance(node, cst.Integer):
            return int(node.evaluated_value)
        if isinstance(node, cst.Name):
            if node.value in ("True", "False", "None"):
                return {"True": True, "False": False, "None": None}[node.value]
            bound = self.binding(node.value)
            return self.evaluate(bound, depth + 1) if bound is not None else UNKNOWN
        if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
            return [
                UNKNOWN if isinstance(e, cst.StarredElement) else self.evaluate(e.value, depth + 1)
                for e in node.elements
            ]
        if isinstance(node, cst.Dict):
            out: dict[Any, Any] = {}
            for element in node.elements:
                if isinstance(element, cst.DictElement):
                    key = self.evaluate(element.key, depth + 1)
                    if isinstance(key, (str, int)):
                        out[key] = self.evaluate(element.value, depth + 1)
            return out
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Not):
            inner = self.evaluate(node.expression, depth + 1)
            return UNKNOWN if inner is UNKNOWN else not truthy(inner)
        if isinstance(node, cst.Comparison) and len(node.comparisons) == 1:
            return self._compare(node, depth)
        if isinstance(node, cst.BooleanOperation):
            left = self.evaluate(node.left, depth + 1)
            if left is UNKNOWN:
                return UNKNOWN
            if isinstance(node.operator, cst.And):
                return self.evaluate(node.right, depth + 1) if truthy(left) else left
            return left if truthy(left) else self.evaluate(node.right, depth + 1)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
            left, right = self.evaluate(node.left, depth + 1), self.evaluate(node.right, depth + 1)
            if isinstance(left, list) and isinstance(right, list):
                return left + right
            if isinstance(left, str) and isinstance(right, str):
                return left + right
            return UNKNOWN
        if isinstance(node, cst.Call):
            return self._call(node, depth)
        return UNKNOWN

    def _compare(self, node: cst.Comparison, depth: int) -> Any:
        target = node.comparisons[0]
        left = self.evaluate(node.left, depth + 1)
        right = self.evaluate(target.comparator, depth + 1)
        if left is UNKNOWN or right is UNKNOWN:
            return UNKNOWN
        operator = target.operator
        try:
            if isinstance(operator, cst.Equal):
                return left == right
            if isinstance(operator, cst.NotEqual):
                return left != right
            if isinstance(operator, cst.In):
                return left in right
            if isinstance(operator, cst.NotIn):
                return left not in right
        except TypeError:
            return UNKNOWN
        return UNKNOWN

    def _call(self, node: cst.Call, depth: int) -> Any:
        name = self.qualified(node.func)
        row = self.env_rows.get(name or "")
        if row is not None:
            default = self._argument(node, row.get("default"), row.get("default-keyword"))
            value = None if default is None else self.evaluate(default, depth + 1)
            if (value is not UNKNOWN and row.get("boolean")) or keyword_name(node, "cast") == "bool":
                return UNKNOWN if value is UNKNOWN else as_bool(value)
            return value
        if isinstance(node.func, cst.Attribute):
            receiver = self.evaluate(node.func.value, depth + 1)
            method = node.func.attr.value
            if isinstance(receiver, str):
                if method in ("lower", "upper", "strip", "casefold"):
                    return getattr(receiver, method)()
                if method == "split":
                    separator = self.evaluate(node.args[0].value, depth + 1) if node.args else None
                    if separator is None or isinstance(separator, str):
                        return receiver.split(separator) if receiver else [""] if separator else []
            return UNKNOWN
        callee = dotted_name(node.func) or ""
        arguments = [self.evaluate(a.value, depth + 1) for a in node.args if a.keyword is None]
        if callee == "dict" and not arguments:
            return {a.keyword.value: self.evaluate(a.value, depth + 1) for a in node.args if a.keyword is not None}
        if len(arguments) != 1 or arguments[0] is UNKNOWN:
            return UNKNOWN
        value = arguments[0]
        if callee == "bool":
            return truthy(value)
        if callee.rpartition(".")[2] in ("strtobool", "str2bool", "to_bool", "as_bool"):
            return as_bool(value)
        if callee == "int":
            try:
                return int(value)
            except (TypeError, ValueError):
                return UNKNOWN
        if callee in ("list", "tuple") and isinstance(value, list):
            return value
        return UNKNOWN

    @staticmethod
    def _argument(node: cst.Call, position: int | None, keyword: str | None) -> cst.BaseExpression | None:
        for arg in node.args:
            if keyword and arg.keyword is not None and arg.keyword.value == keyword:
                return arg.value
        positional = [a for a in node.args if a.keyword is None and not a.star]
        if position is not None and position < len(positional):
            return positional[position].value
        return None


def keyword_name(node: cst.Call, name: str) -> str | None:
    for arg in node.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return dotted_name(arg.value)
    return None


def truthy(value: Any) -> bool:
    return bool(value)


def as_bool(value: Any) -> Any:
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in TRUE_STRINGS:
            return True
        if lowered in FALSE_STRINGS:
            return False
        return UNKNOWN
    return bool(value)


def keyword_arg(node: cst.Call, name: str | None) -> cst.BaseExpression | None:
    if not name:
        return None
    for arg in node.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg.value
    return None


def conditions_held(ancestors: Sequence[cst.CSTNode]) -> Iterator[cst.BaseExpression]:
    """The test of each enclosing ``if`` whose taken branch holds the node: ``if DEBUG:``'s body
    yields ``DEBUG``, and ``if not DEBUG: ... else:``'s ``else`` yields ``DEBUG`` too (the
    negation removed). ``ancestors``: from the module down to the node (``FileContext.ancestors``)."""
    for index, ancestor in enumerate(ancestors[:-1]):
        if not isinstance(ancestor, cst.If):
            continue
        test = ancestor.test
        branch: cst.CSTNode | None = ancestor.body
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            test, branch = test.expression, ancestor.orelse
        if ancestors[index + 1] is branch:
            yield test


def in_debug_branch(ancestors: Sequence[cst.CSTNode]) -> bool:
    """In the branch an ``if`` takes only when the app runs in debug mode: ``if in_debug_mode():``,
    ``if args.debug:``, ``if settings.DEBUG:`` (or the ``else`` of ``if not ...debug:``). A literal
    ``True`` chosen by a debug condition is that condition, not debug mode switched on for good (BL701's
    switches, BL401's app built with ``debug=True``)."""
    return any(reads_debug_flag(test) for test in conditions_held(ancestors))


def reads_debug_flag(test: cst.BaseExpression) -> bool:
    """The condition is a debug flag: a name, attribute, call or environment key with a ``debug`` word."""
    if isinstance(test, cst.Call):
        test = test.func
    if isinstance(test, cst.Name):
        words = name_tokens(test.value)
    elif isinstance(test, cst.Attribute):
        words = name_tokens(test.attr.value)
    elif isinstance(test, cst.Comparison):
        return reads_debug_flag(test.left)
    else:
        return False
    return "debug" in words
