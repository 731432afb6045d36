"""Fast digests of a password that store nothing: a legacy hash verified beside a slow one, and a
digest that only keys an in-memory mapping. Decided once the whole module has been interpreted
(backlint/analysis/passwords/flow.py), since whether the module writes slow hashes is known only then.

- **Legacy verification.** A module that hashes passwords with a slow hash (a ``hash`` row of the
  password-hashers table) and still computes a fast digest of a password only to compare it with a
  stored value, in a function that also verifies the password with a verify function (or re-hashes
  it), checks old hashes written before the switch (jupyter-server's ``passwd_check``: argon2, or an
  old ``sha1:salt:digest``). So does a function named like a hasher returning a fast digest whose
  every call in the module has its result verified (compared, or passed to a verify-role call):
  octoprint's ``create_legacy_password_hash``, called only by ``check_password``.
- **Cache key.** A digest bound to a local whose every use is a key of a mapping the function fills
  (``self._checked[digest] = valid``; ``if digest in self._checked``): an in-process memo of the
  password's checks (privacyidea's ``User.check_password``), never persisted. Not a session.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable

import libcst as cst

from backlint.analysis.passwords.facts import ASSIGNED, COMPARED, RETURNED, DigestUsedAsHash
from backlint.analysis.passwords.values import call_tail
from backlint.core.imports import dotted_name
from backlint.pipeline.walk import scope_descendants

_COMPARE_DIGEST = frozenset({"compare_digest"})


@dataclasses.dataclass(frozen=True)
class Deferred:
    """A fast digest used as a password's hash, judged at the end of the module: ``verifies`` — the
    function also checks the password with a slow hash's verify function or re-hashes it."""

    fact: DigestUsedAsHash
    function: cst.FunctionDef | None
    verifies: bool


def stores_nothing(
    deferred: Deferred, module: cst.Module, slow_hashing: bool, verifiers: frozenset[str], sessions: Iterable[str]
) -> bool:
    """Is the deferred digest legacy verification or an in-memory cache key (module docstring)?"""
    fact, function = deferred.fact, deferred.function
    if fact.use == COMPARED:
        return slow_hashing and deferred.verifies
    if fact.use == RETURNED:
        return slow_hashing and results_only_verified(module, fact.place, verifiers)
    if fact.use == ASSIGNED and function is not None:
        return only_cache_key(function, fact.place, frozenset(sessions))
    return False


def _is_verify(call: cst.Call, verifiers: frozenset[str]) -> bool:
    tail = call_tail(call)
    return tail in verifiers or tail in _COMPARE_DIGEST


def _verified_operands(node: cst.CSTNode, verifiers: frozenset[str]) -> list[cst.BaseExpression]:
    """The expressions ``node`` verifies: the arguments of a verify call, the sides of ``==``/``!=``."""
    if isinstance(node, cst.Call) and _is_verify(node, verifiers):
        return [a.value for a in node.args]
    if isinstance(node, cst.Comparison) and all(
        isinstance(c.operator, (cst.Equal, cst.NotEqual)) for c in node.comparisons
    ):
        return [node.left, *(c.comparator for c in node.comparisons)]
    return []


def results_only_verified(module: cst.Module, function: str, verifiers: frozenset[str]) -> bool:
    """Does every call of ``function`` (by its called name) in the module have its result verified:
    compared or passed to a verify call, directly or through a local used only so? None called: no."""
    calls = 0
    verified: set[int] = set()
    for scope in _scopes(module):
        loads: Counter[str] = Counter()
        checked: Counter[str] = Counter()
        assigned: list[tuple[str, int]] = []
        for node in scope_descendants(scope):
            if isinstance(node, cst.Call) and call_tail(node) == function:
                calls += 1
            if isinstance(node, cst.Name):
                loads[node.value] += 1
            for operand in _verified_operands(node, verifiers):
                if isinstance(operand, cst.Call) and call_tail(operand) == function:
                    verified.add(id(operand))
                elif isinstance(operand, cst.Name):
                    checked[operand.value] += 1
            if isinstance(node, cst.Assign) and len(node.targets) == 1 and isinstance(node.value, cst.Call):
                target = node.targets[0].target
                if isinstance(target, cst.Name) and call_tail(node.value) == function:
                    assigned.append((target.value, id(node.value)))
        for name, call in assigned:
            # Every other occurrence of the local (its binding aside) is verified.
            if checked[name] and checked[name] == loads[name] - 1:
                verified.add(call)
    return calls > 0 and calls == len(verified)


def _scopes(module: cst.Module) -> list[cst.CSTNode]:
    """The module and every function in it (methods and nested functions too)."""
    out: list[cst.CSTNode] = [module]
    stack: list[cst.CSTNode] = [module]
    while stack:
        current = stack.pop()
        for child in current.children:
            if isinstance(child, cst.FunctionDef):
                out.append(child)
            stack.append(child)
    return out


def only_cache_key(function: cst.FunctionDef, name: str, sessions: frozenset[str]) -> bool:
    """Is local ``name`` used in ``function`` only as a key of mappings, one of which the function
    fills (``memo[name] = ...``), none of them a session?"""
    loads = 0
    keys = 0
    fills = False
    for node in scope_descendants(function):
        if isinstance(node, cst.Name) and node.value == name:
            loads += 1
        elif isinstance(node, cst.Subscript) and _keyed_by(node, name):
            holder = (dotted_name(node.value) or "").rpartition(".")[2]
            if holder in sessions or holder.endswith("session"):
                return False
            keys += 1
        elif isinstance(node, cst.Comparison) and isinstance(node.left, cst.Name) and node.left.value == name:
            if all(isinstance(c.operator, (cst.In, cst.NotIn)) for c in node.comparisons):
                keys += 1
        elif isinstance(node, (cst.Assign, cst.AugAssign)):
            targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
            fills = fills or any(isinstance(t, cst.Subscript) and _keyed_by(t, name) for t in targets)
    # The binding itself is one occurrence of the name.
    return fills and keys > 0 and keys == loads - 1


def _keyed_by(node: cst.Subscript, name: str) -> bool:
    if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
        return False
    key = node.slice[0].slice.value
    return isinstance(key, cst.Name) and key.value == name
