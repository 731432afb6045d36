"""Small questions about syntax that the web walks share: names a target binds, literals, collections."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import libcst as cst

from backlint.pipeline.walk import scope_descendants

SHORT_TEXT = 60
# FastAPI's dependency markers, and ``Annotated[...]`` that may carry one.
DEPENDS = frozenset({"fastapi.Depends", "fastapi.Security", "fastapi.params.Depends", "fastapi.params.Security"})
ANNOTATED = frozenset({"typing.Annotated", "typing_extensions.Annotated"})


def code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node).strip()


def short(node: cst.CSTNode) -> str:
    """The node's code on one line, cut to ``SHORT_TEXT`` characters (what messages show)."""
    text = " ".join(cst.Module([]).code_for_node(node).split())
    return text if len(text) <= SHORT_TEXT else text[: SHORT_TEXT - 1] + "…"


def text(node: cst.SimpleString) -> str | None:
    value = node.evaluated_value
    return value if isinstance(value, str) else None


def unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def target_names(target: cst.BaseExpression) -> Iterator[str]:
    """The names an assignment target binds (``a``, ``a, (b, *c)``)."""
    if isinstance(target, cst.Name):
        yield target.value
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from target_names(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from target_names(target.value)


def top_statements(body: Iterable[cst.CSTNode]) -> Iterator[cst.CSTNode]:
    """Module-level statements, including those under ``if``/``try`` (optional imports, settings)."""
    for statement in body:
        yield statement
        if isinstance(statement, (cst.If, cst.Try)):
            for block in (statement.body, *(h.body for h in getattr(statement, "handlers", ()))):
                if isinstance(block, cst.IndentedBlock):
                    yield from top_statements(block.body)


def following(statements: Sequence[cst.CSTNode], child: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Every node of the statements after ``child`` in its block."""
    seen = False
    for statement in statements:
        if seen:
            yield from scope_descendants(statement)
        elif statement is child:
            seen = True


def annotation_head(annotation: cst.BaseExpression) -> cst.BaseExpression:
    return annotation.value if isinstance(annotation, cst.Subscript) else annotation


def is_none(value: cst.BaseExpression | None) -> bool:
    return value is None or (isinstance(value, cst.Name) and value.value == "None")


def is_class_name(node: cst.BaseExpression) -> bool:
    """``Model``/``mod.Model``: capitalised, not an ALL_CAPS constant."""
    name = node.attr.value if isinstance(node, cst.Attribute) else getattr(node, "value", "")
    return isinstance(name, str) and name[:1].isupper() and not name.isupper()


# Compared by type(): isinstance() against a tuple of libcst classes runs ABCMeta's Python-level
# check for each (~0.4 µs apiece when it fails); these classes have no subclasses.
_COLLECTIONS = frozenset({cst.Dict, cst.List, cst.Tuple, cst.Set, cst.ListComp, cst.DictComp, cst.SetComp})


def is_collection(node: cst.BaseExpression) -> bool:
    """A literal collection, a comprehension, or ``dict(...)``/``list(...)`` building one."""
    if type(node) in _COLLECTIONS:
        return True
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value in (
        "dict", "list", "set", "tuple", "defaultdict", "OrderedDict",
    ) and bool(node.args)  # fmt: skip


def has_elements(node: cst.BaseExpression) -> bool:
    comprehension = (cst.ListComp, cst.DictComp, cst.SetComp, cst.Call)
    return bool(getattr(node, "elements", None)) or isinstance(node, comprehension)


def is_literal(node: cst.BaseExpression) -> bool:
    """A constant: strings, numbers, True/False/None, and collections of them."""
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.Integer, cst.Float)):
        return True
    if isinstance(node, cst.FormattedString):
        return not any(isinstance(p, cst.FormattedStringExpression) for p in node.parts)
    if isinstance(node, cst.Name):
        return node.value in ("True", "False", "None")
    if isinstance(node, cst.UnaryOperation):
        return isinstance(node.operator, cst.Minus) and isinstance(node.expression, (cst.Integer, cst.Float))
    if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
        return all(not isinstance(e, cst.StarredElement) and is_literal(e.value) for e in node.elements)
    if isinstance(node, cst.Dict):
        return all(isinstance(e, cst.DictElement) and is_literal(e.key) and is_literal(e.value) for e in node.elements)
    return False


def strings(node: cst.BaseExpression) -> Iterator[str]:
    """The string constants inside ``node``."""
    for child in scope_descendants(node):
        if isinstance(child, (cst.SimpleString, cst.ConcatenatedString)):
            value = child.evaluated_value
            if isinstance(value, str):
                yield value


def int_value(node: cst.BaseExpression) -> int | None:
    return int(node.evaluated_value) if isinstance(node, cst.Integer) else None
