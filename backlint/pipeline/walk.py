"""One read-only traversal running every enabled rule (Fixit's batched visit, without its cost).

libcst's ``visit()`` rebuilds every node even for read-only visitors; walking the dataclass
fields in lexical order with a dispatch table by node type is about six times faster.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any, Callable

import libcst as cst

from backlint.core.rule import FileContext, Rule

# Fields that only hold whitespace, comments or punctuation: no rule looks inside them.
_SKIPPED_FIELDS = frozenset(
    {
        "leading_lines",
        "lines_after_decorators",
        "header",
        "footer",
        "lpar",
        "rpar",
        "comma",
        "semicolon",
        "trailing_whitespace",
        "lbracket",
        "rbracket",
        "lbrace",
        "rbrace",
        "colon",
        "first_colon",
        "relative",  # ImportFrom's leading dots
        "second_colon",
        "equal",
        "dot",
        "star",
        "whitespace",
    }
)
_field_order: dict[type, tuple[str, ...]] = {}
# Node classes without subclasses, compared by type: isinstance() against a libcst class goes
# through ABCMeta's Python-level __instancecheck__ (~0.4 µs when it fails, ten times a type test).
_NEW_SCOPES = frozenset({cst.FunctionDef, cst.ClassDef, cst.Lambda})


def child_fields(cls: type) -> tuple[str, ...]:
    """A node class's child fields in the order its _visit_and_replace_children visits them.

    That method rebuilds the node with one keyword argument per field, visiting each as the
    argument is evaluated: the keyword names, a constant tuple of its code object, give the
    lexical order without reading its source (``inspect.getsource`` cost 0.15 s a process).
    """
    try:
        return _field_order[cls]
    except KeyError:
        pass
    fields = [f.name for f in dataclasses.fields(cls)]
    code = getattr(getattr(cls, "_visit_and_replace_children", None), "__code__", None)
    keyword_tuples = [
        c for c in (code.co_consts if code is not None else ()) if isinstance(c, tuple) and set(c) <= set(fields)
    ]
    keywords = max(keyword_tuples, key=len, default=())
    used = code.co_names if code is not None else ()
    ordered = [*keywords, *(n for n in used if n in fields), *fields]
    walked = (n for n in dict.fromkeys(ordered) if n not in _SKIPPED_FIELDS and not n.startswith("whitespace"))
    _field_order[cls] = tuple(walked)
    return _field_order[cls]


Handler = Callable[[Any], Any]


_handler_names: dict[type, tuple[tuple[str, ...], tuple[str, ...]]] = {}
_is_node: dict[type, bool] = {}  # isinstance() against the CSTNode ABC costs ~1 µs per call


def _handlers(cls: type) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A rule class's visit_/leave_ method names (dir() on every file cost ~1 ms per file)."""
    try:
        return _handler_names[cls]
    except KeyError:
        names = dir(cls)
        found = (tuple(a for a in names if a.startswith("visit_")), tuple(a for a in names if a.startswith("leave_")))
        _handler_names[cls] = found
        return found


def _node_class(kind: type) -> bool:
    try:
        return _is_node[kind]
    except KeyError:
        _is_node[kind] = issubclass(kind, cst.CSTNode)
        return _is_node[kind]


# id(node) -> (node, its children) while a walk runs: the searches of a subtree that rules and
# analyses run during the walk (scope_descendants, the steps of a LazySpan, ...) and the walk itself
# build each node's list once. The entry holds the node, so no other object can take its id before
# the walk ends and empties the table. Callers must not change the lists.
_walked: dict[int, tuple[cst.CSTNode, list[cst.CSTNode]]] = {}
_walking = [0]  # walks running (the table is kept only meanwhile)


def children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """A node's child nodes in lexical order, without whitespace and punctuation (not to be changed).

    libcst's ``node.children`` runs a visitor over the node (about 60 µs); the walker and the rules
    that search a subtree (``stack.extend(children(node))``) use this instead.
    """
    found = _walked.get(id(node))
    if found is not None:
        return found[1]
    out = _children(node)
    if _walking[0]:
        _walked[id(node)] = (node, out)
    return out


def _children(node: cst.CSTNode) -> list[cst.CSTNode]:
    out: list[cst.CSTNode] = []
    is_node = _is_node
    for field in _field_order.get(type(node)) or child_fields(type(node)):
        value = getattr(node, field)
        value_kind = type(value)
        if is_node.get(value_kind) or (value_kind not in is_node and _node_class(value_kind)):
            out.append(value)
        elif value_kind is list or value_kind is tuple:
            for item in value:
                item_kind = type(item)
                if is_node.get(item_kind) or (item_kind not in is_node and _node_class(item_kind)):
                    out.append(item)
    return out


def scope_descendants(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Every node under ``node`` (itself included) in lexical order, not entering nested
    functions, classes or lambdas: what runs when ``node`` runs."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        for child in reversed(children(current)):
            if type(child) not in _NEW_SCOPES:
                stack.append(child)


class BatchedWalker:
    """Dispatches each node to the ``visit_<Type>`` / ``leave_<Type>`` methods of all rules."""

    def __init__(self, rules: Sequence[Rule], context: FileContext) -> None:
        self.context = context
        self.visitors: dict[str, list[Handler]] = defaultdict(list)
        self.leavers: dict[str, list[Handler]] = defaultdict(list)
        for rule in rules:
            visits, leaves = _handlers(type(rule))
            for attr in visits:
                self.visitors[attr[6:]].append(getattr(rule, attr))
            for attr in leaves:
                self.leavers[attr[6:]].append(getattr(rule, attr))
        # Per node type: (visit handlers, leave handlers), built on first sight.
        self._plans: dict[type, tuple[tuple[Handler, ...], tuple[Handler, ...]]] = {}

    def walk(self, module: cst.Module) -> None:
        self._walk(module)

    def _plan(self, kind: type) -> tuple[tuple[Handler, ...], tuple[Handler, ...]]:
        name = kind.__name__
        plan = (tuple(self.visitors.get(name, ())), tuple(self.leavers.get(name, ())))
        self._plans[kind] = plan
        return plan

    def _walk(self, root: cst.CSTNode) -> None:
        """Depth-first with a stack of its own: a tree thousands of levels deep (an operator chain
        over as many lines) costs memory, not Python's recursion limit."""
        ancestors = self.context.ancestors
        plans = self._plans
        stack: list[tuple[cst.CSTNode, tuple[Handler, ...] | None]] = [(root, None)]
        _walking[0] += 1
        try:
            while stack:
                node, leaving = stack.pop()
                if leaving is not None:
                    for leave in leaving:
                        leave(node)
                    ancestors.pop()
                    continue
                kind = type(node)
                visits, leaves = plans.get(kind) or self._plan(kind)
                ancestors.append(node)
                for visit in visits:
                    visit(node)
                stack.append((node, leaves))
                stack.extend((child, None) for child in reversed(children(node)))
        finally:
            _walking[0] -= 1
            if not _walking[0]:
                _walked.clear()
