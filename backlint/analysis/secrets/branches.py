"""Branches that run only in development or CI: ``if os.getenv("DEVELOPMENT"):`` (byro's settings: the
docker-compose database password, set only when the variable is there), ``if "CI" in os.environ:``,
``if os.environ.get("TESTING"):``. A credential literal assigned in such a branch is the development
setup's, not the deployment's: deployments read theirs elsewhere (byro's from its config file two screens
above). The variable's name must hold a test-config word of the secret-values table (test, testing, dev,
development, ci, local, debug); the ``else`` of such a test is the deployment's and stays reported.
"""

from __future__ import annotations

import libcst as cst

from backlint.analysis.secrets.slots import LocalClasses, env_lookup, string_value
from backlint.analysis.strings import name_tokens
from backlint.core.catalog import Knowledge
from backlint.core.imports import dotted_name
from backlint.core.rule import FileContext
from backlint.pipeline.walk import children

_ENVIRON = frozenset(("os.environ", "environ"))


def in_development_branch(context: FileContext, local: LocalClasses, words: frozenset[str]) -> bool:
    """Is the walk inside the body of an ``if`` that tests a development or CI environment variable?"""
    ancestors, knowledge = context.ancestors, context.knowledge
    return any(
        isinstance(node, cst.If)
        and ancestors[index + 1] is node.body
        and _tests_development(node.test, local, knowledge, words)
        for index, node in enumerate(ancestors[:-1])
    )


def _tests_development(
    test: cst.BaseExpression, local: LocalClasses, knowledge: Knowledge, words: frozenset[str]
) -> bool:
    names: list[str] = []
    stack: list[cst.CSTNode] = [test]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Call):
            found = env_lookup(current, local, knowledge)
            key = string_value(found[0]) if found is not None and found[0] is not None else None
            if key is not None:
                names.append(key)
        elif isinstance(current, cst.Subscript) and dotted_name(current.value) in _ENVIRON:
            element = current.slice[0].slice if current.slice else None
            if isinstance(element, cst.Index):
                key = string_value(element.value)
                if key is not None:
                    names.append(key)
        elif isinstance(current, cst.Comparison) and any(
            isinstance(c.operator, cst.In) and dotted_name(c.comparator) in _ENVIRON for c in current.comparisons
        ):
            key = string_value(current.left)
            if key is not None:
                names.append(key)
        if isinstance(current, (cst.BooleanOperation, cst.Comparison, cst.Call, cst.Arg)):
            stack.extend(children(current))  # not into ``not …``: its body is the deployment's
    return any(set(name_tokens(name)) & words for name in names)
