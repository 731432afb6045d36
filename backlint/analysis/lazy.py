"""Spans and fixes recorded in the facts and placed only when a project rule reports them (the file re-read then)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any, Callable, Union

import libcst as cst

from backlint.core.results import Fix, Span
from backlint.core.rule import FileContext, NodeEdit, PendingFix
from backlint.pipeline.walk import children


@dataclasses.dataclass
class LazyEdit:
    """A ``NodeEdit`` whose nodes are LazySpans (file and child steps): plain data for the facts."""

    node: LazySpan
    text: tuple[str | tuple[LazySpan, LazySpan], ...]
    where: str = "replace"


@dataclasses.dataclass
class LazyFix:
    """A project rule's fix, recorded in the facts by the walk and placed only if the rule reports it.

    Like a LazySpan, it is placed in the file as it is on disk (parsed once for both); None when the
    file changed so that a node is no longer where the walk saw it.
    """

    safety: str
    description: str
    edits: tuple[LazyEdit, ...]

    def resolve(self) -> Fix | None:
        from backlint.pipeline.filestage import line_starts, place_fix

        module, positions = parsed_file(self.edits[0].node.path)
        if module is None:
            return None
        nodes: dict[tuple[int, ...], cst.CSTNode] = {}

        def node(span: LazySpan) -> cst.CSTNode:
            if span.steps not in nodes:
                found = node_at(module, span.steps)
                if not isinstance(found, cst.CSTNode):
                    raise LookupError(span.steps)
                nodes[span.steps] = found
            return nodes[span.steps]

        try:
            edits = tuple(NodeEdit(node(e.node), tuple(_nodes(e.text, node)), e.where) for e in self.edits)
        except LookupError:
            return None
        text = module.code
        return place_fix(PendingFix(self.safety, self.description, edits), module, positions, text, line_starts(text))


def _nodes(
    text: tuple[str | tuple[LazySpan, LazySpan], ...], node: Callable[[LazySpan], cst.CSTNode]
) -> Iterable[str | tuple[cst.CSTNode, cst.CSTNode]]:
    return (p if isinstance(p, str) else (node(p[0]), node(p[1])) for p in text)


def lazy_fix(fix: PendingFix | None, locate: Callable[[cst.CSTNode], Span]) -> LazyFix | None:
    """``fix`` with its nodes located by ``locate`` (a collector's LazySpan maker); None if one is not."""
    if fix is None:
        return None

    def span(node: cst.CSTNode) -> LazySpan:
        found = locate(node)
        if not isinstance(found, LazySpan):
            raise LookupError(node)
        return found

    try:
        edits = tuple(
            LazyEdit(
                span(e.node),
                tuple(p if isinstance(p, str) else (span(p[0]), span(p[1])) for p in _pieces(e.text)),
                e.where,
            )
            for e in fix.edits
        )
    except LookupError:
        return None
    return LazyFix(fix.safety, fix.description, edits)


def _pieces(text: str | Pieces) -> Pieces:
    return (text,) if isinstance(text, str) else text


def steps_locator(root: cst.CSTNode, path: str, at: tuple[int, ...] = ()) -> Callable[[cst.CSTNode], Span]:
    """A LazySpan maker for collectors that are not at the node (one search of ``root`` per node);
    ``at``: the steps from the module to ``root``, when it is not the module."""

    def locate(target: cst.CSTNode) -> Span:
        stack: list[tuple[cst.CSTNode, tuple[int, ...]]] = [(root, at)]
        while stack:
            node, steps = stack.pop()
            if node is target:
                return LazySpan(path, steps)
            stack.extend((child, (*steps, index)) for index, child in enumerate(children(node)))
        return Span()

    return locate


class StepsLocator:
    """A LazySpan maker for collectors that locate many nodes of one module (``root``).

    The module is searched in the walker's order only as far as the nodes asked for, and each node
    met keeps a link to its parent and its index there (a tuple of steps per node cost as much as
    the parse's tenth on Django); a node's steps are read back along the links. ``of`` shares one
    per file between the collectors.
    """

    def __init__(self, root: cst.CSTNode, path: str) -> None:
        self.root = root
        self.path = path
        # id(node) -> (id(parent), index among the parent's children); the root's is None.
        self._links: dict[int, tuple[int, int] | None] = {id(root): None}
        self._pending: list[cst.CSTNode] = [root]  # met, children not yet linked: the search's stack

    @classmethod
    def of(cls, context: FileContext, module: cst.Module) -> StepsLocator:
        """The file's locator for ``module``, made on first use."""
        found = context.shared.get(_LOCATOR)
        if not isinstance(found, StepsLocator) or found.root is not module:
            found = context.shared[_LOCATOR] = cls(module, context.path)
        return found

    def __call__(self, target: cst.CSTNode) -> Span:
        found = self.steps(target)
        return Span() if found is None else LazySpan(self.path, found)

    def steps(self, target: cst.CSTNode) -> tuple[int, ...] | None:
        """``target``'s child indices from the root, None when it is not under the root."""
        key = id(target)
        links = self._links
        pending = self._pending
        while key not in links and pending:
            node = pending.pop()
            found = children(node)
            parent = id(node)
            for index, child in enumerate(found):
                links[id(child)] = (parent, index)
            pending.extend(reversed(found))
        if key not in links:
            return None
        steps: list[int] = []
        link = links[key]
        while link is not None:
            key, index = link
            steps.append(index)
            link = links[key]
        steps.reverse()
        return tuple(steps)

    def statement(self, target: cst.CSTNode) -> Span:
        """The span of the simple statement holding ``target`` (itself when there is none)."""
        steps = self.steps(target)
        if steps is None:
            return Span()
        node: cst.CSTNode = self.root
        best: tuple[int, ...] | None = None
        for depth, index in enumerate(steps):
            node = children(node)[index]
            if isinstance(node, cst.SimpleStatementLine):
                best = steps[: depth + 1]
        return LazySpan(self.path, best if best is not None else steps)


_LOCATOR = "analysis.lazy.StepsLocator"


class LazySpan(Span):
    """A Span resolved on first use. The walk records where the node is — its child indices from the
    module — instead of computing positions (PositionProvider costs twice the parse); the file is
    parsed again for positions only when a finding or a related location is placed on the node."""

    def __init__(self, path: str, steps: tuple[int, ...]) -> None:
        self.path = path
        self.steps = steps
        self.resolved: tuple[int, int, int, int] | None = None

    def _get(self) -> tuple[int, int, int, int]:
        if self.resolved is None:
            self.resolved = _resolve_position(self.path, self.steps)
        return self.resolved

    @property
    def line(self) -> int:  # type: ignore[override]
        return self._get()[0]

    @property
    def column(self) -> int:  # type: ignore[override]
        return self._get()[1]

    @property
    def end_line(self) -> int:  # type: ignore[override]
        return self._get()[2]

    @property
    def end_column(self) -> int:  # type: ignore[override]
        return self._get()[3]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Span):
            return NotImplemented
        return (self.line, self.column, self.end_line, self.end_column) == (
            other.line, other.column, other.end_line, other.end_column,
        )  # fmt: skip

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"LazySpan({self.path!r}, {self.steps!r})"


_POSITIONS: dict[tuple[str, ...], Any] = {}


def walked_children(node: Any) -> list[Any]:
    """A node's children in the walker's order (the steps of a LazySpan)."""
    from backlint.pipeline.walk import children

    return children(node)


def _resolve_position(path: str, steps: tuple[int, ...]) -> tuple[int, int, int, int]:
    """Re-parse ``path`` (once per file version) and return the position of the node at ``steps``."""
    module, positions = parsed_file(path)
    node = node_at(module, steps)
    try:
        where = positions[node]
    except (KeyError, TypeError):  # no module, or steps that lead nowhere
        return (1, 1, 1, 1)
    return (where.start.line, where.start.column + 1, where.end.line, where.end.column + 1)


def parsed_file(path: str) -> tuple[Any, Any]:
    """The module of ``path`` (a project path: ``pipeline/projectfiles.py``) as it is now — its open
    buffer, else the disk — and its positions, parsed once per version; (None, None) when it cannot
    be read or parsed (it changed since the walk)."""
    from backlint.pipeline import projectfiles

    stamp = projectfiles.version(path)
    if stamp is None:
        return None, None
    key = (path, *stamp)
    entry = _POSITIONS.get(key)
    if entry is None:
        import libcst as cst
        from libcst.metadata import MetadataWrapper, PositionProvider

        from backlint.pipeline.limits import recursion_room
        from backlint.pipeline.precheck import too_complex

        text = projectfiles.read_text(path)
        module = positions = None
        # The room a deep tree's positions need (backlint/pipeline/limits.py); a file the pre-checks
        # let through never hurts libcst, and one that changed since the walk gets no position.
        with recursion_room():
            try:
                module = cst.parse_module(text) if text is not None and not too_complex(text) else None
                positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider) if module else None
            except Exception:
                module = positions = None
        if len(_POSITIONS) > 64:
            _POSITIONS.clear()
        entry = _POSITIONS[key] = (module, positions)
    return entry


def node_at(module: Any, steps: tuple[int, ...]) -> Any:
    """The node a LazySpan's ``steps`` lead to from ``module``, or None."""
    node: Any = module
    if module is None:
        return None
    try:
        for step in steps:
            node = walked_children(node)[step]
    except (AttributeError, IndexError, TypeError):
        return None
    return node


Pieces = tuple[Union[str, tuple[cst.CSTNode, cst.CSTNode]], ...]
