"""What the web walks share about one file: where a node is (a ``LazySpan``, its child steps from the
module), and which tokens make a file worth walking for them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import libcst as cst

from backlint.analysis.lazy import LazySpan
from backlint.core.catalog import Knowledge
from backlint.core.results import Span
from backlint.core.rule import Analysis, FileContext
from backlint.pipeline.walk import children

# Request models live in schema modules without a framework import.
_MODEL_TOKENS = frozenset({"BaseModel", "SQLModel"})


class WebFile(Analysis):
    """Places of nodes as LazySpans: positions are computed only if a finding lands on one.

    A node's steps (its child index under each ancestor, from the module) are kept per node, so
    locating siblings and descendants of a located node costs one step each.
    """

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.module = context.module_name or "__main__"
        self._children: dict[int, dict[int, int]] = {}
        self._steps: dict[int, tuple[int, ...]] = {}

    def here(self) -> LazySpan:
        """The node being visited."""
        return self.at(self.context.ancestors)

    def at(self, nodes: Sequence[cst.CSTNode]) -> LazySpan:
        """The last of ``nodes``, a path of nodes from the module down."""
        return LazySpan(self.context.path, self.steps(nodes))

    def steps(self, nodes: Sequence[cst.CSTNode]) -> tuple[int, ...]:
        known = self._steps
        start = len(nodes) - 1
        while start > 0 and id(nodes[start]) not in known:
            start -= 1
        steps = list(known[id(nodes[start])]) if start > 0 else []
        for position in range(start, len(nodes) - 1):
            parent, child = nodes[position], nodes[position + 1]
            index = self._children.get(id(parent))
            if index is None:
                index = self._children[id(parent)] = {id(c): i for i, c in enumerate(children(parent))}
            steps.append(index.get(id(child), -1))
            known[id(child)] = tuple(steps)
        return tuple(steps)

    def locate(self, node: cst.CSTNode) -> Span:
        """``node``: the node being visited, one of its ancestors, or a node below it (a LazySpan);
        anything else gets a span placed after the walk (``FileContext.locate``)."""
        ancestors = self.context.ancestors
        path: list[cst.CSTNode] | None = None
        for index in range(len(ancestors) - 1, -1, -1):
            if ancestors[index] is node:
                path = list(ancestors[: index + 1])
                break
        if path is None:
            below = path_down(ancestors[-1], node)
            if below is None:
                return self.context.locate(node)
            path = [*ancestors, *below]
        return self.at(path)


def path_down(root: cst.CSTNode, target: cst.CSTNode) -> list[cst.CSTNode] | None:
    """The nodes from a child of ``root`` down to ``target``, in the walker's child order."""
    stack: list[tuple[cst.CSTNode, list[cst.CSTNode]]] = [(root, [])]
    while stack:
        node, path = stack.pop()
        for child in children(node):
            if child is target:
                return [*path, child]
            stack.append((child, [*path, child]))
    return None


def framework_triggers(knowledge: Knowledge) -> tuple[str, ...]:
    """Names without which a module has nothing to record for the framework model: framework and
    client packages, settings names, probe methods, model managers — all from the tables."""
    return knowledge.derived(_framework_triggers)


def body_triggers(knowledge: Knowledge) -> tuple[str, ...]:
    """The framework's tokens, the fake-data words as written (``fake``, ``Fake``, ``FAKE``) and
    request-model bases: what a module needs for its function bodies to be worth summarising."""
    return knowledge.derived(_body_triggers)


def _framework_triggers(knowledge: Knowledge) -> tuple[str, ...]:
    names: set[str] = set()
    for table in (
        "framework-objects",
        "datastore-clients",
        "framework-view-classes",
        "framework-routes",
        "framework-hooks",
        "error-reporters",
    ):
        names |= _top_packages(r["name"] for r in knowledge.rows(table))
    names |= {r["name"] for r in knowledge.rows("framework-settings")}
    names |= {r["method"] for r in knowledge.rows("datastore-methods") if r.get("probe")}
    names |= {r["method"] for r in knowledge.rows("store-probes") if r.get("method")}
    names |= _top_packages(r["name"] for r in knowledge.rows("store-probes") if r.get("name"))
    names |= {r["manager"] for r in knowledge.rows("datastore-models") if "manager" in r}
    return tuple(sorted(names))


def _body_triggers(knowledge: Knowledge) -> tuple[str, ...]:
    words = {r["name"] for r in knowledge.rows("mock-data") if r["role"] == "fake-token"}
    spelled = {w for word in words for w in (word, word.capitalize(), word.upper())}
    return tuple(sorted(set(framework_triggers(knowledge)) | spelled | _MODEL_TOKENS))


def _top_packages(names: Iterable[str]) -> set[str]:
    return {n.split(".")[0] for n in names if "." in n}
