"""Literals an app publishes as documentation (the ``secret-examples`` table): an example value of an
API schema (drf-spectacular's ``OpenApiExample(value={...})``, pydantic's ``Field(example=...)``,
``json_schema_extra``). The generated API documentation shows them to every reader: they are samples,
not the app's credentials (BL202, BL203)."""

from __future__ import annotations

import dataclasses

import libcst as cst

from backlint.analysis.secrets.slots import string_value, target_name
from backlint.core.catalog import Knowledge
from backlint.core.rule import FileContext


@dataclasses.dataclass(frozen=True)
class ExampleSlots:
    calls: frozenset[str]
    keywords: frozenset[str]
    keys: frozenset[str]
    targets: frozenset[str]


def example_slots(knowledge: Knowledge) -> ExampleSlots:
    return knowledge.derived(_example_slots)


def _example_slots(knowledge: Knowledge) -> ExampleSlots:
    by_kind: dict[str, set[str]] = {}
    for row in knowledge.rows("secret-examples"):
        by_kind.setdefault(row["kind"], set()).add(row["name"])
    return ExampleSlots(
        *(frozenset(by_kind.get(kind, ())) for kind in ("call", "keyword", "key", "target")),
    )


def in_documentation_example(context: FileContext) -> bool:
    """Is the node being visited (the last of ``context.ancestors``) inside an API documentation
    example? The walk goes outwards through the expression and its statement, up to the enclosing
    block, class or function (a decorator's arguments are part of the expression)."""
    slots = example_slots(context.knowledge)
    ancestors = context.ancestors
    for index in range(len(ancestors) - 2, -1, -1):
        node, inner = ancestors[index], ancestors[index + 1]
        if isinstance(node, (cst.BaseSuite, cst.ClassDef, cst.FunctionDef, cst.Module)):
            return False
        if isinstance(node, cst.Call) and inner is not node.func:
            if (context.qualified_name(node.func) or "") in slots.calls:
                return True
        elif isinstance(node, cst.Arg) and node.keyword is not None and node.keyword.value in slots.keywords:
            return True
        elif isinstance(node, cst.DictElement) and inner is node.value:
            if (string_value(node.key) or "").lower() in slots.keys:
                return True
        elif isinstance(node, (cst.Assign, cst.AnnAssign)) and inner is node.value:
            targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
            if any(target_name(t) in slots.targets for t in targets):
                return True
    return False
