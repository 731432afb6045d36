"""Autofixes of the password rules, all unsafe: they change what the code does.

BL305: a DRF ``ModelSerializer`` whose ``Meta`` exposes ``password`` gets
``extra_kwargs = {"password": {"write_only": True}}`` in its ``Meta``. BL301: Django's
``User.objects.create(username=..., password=raw)``, which stores ``raw`` as it is, becomes
``User.objects.create_user(...)``, which hashes it. Each is offered only where the catalog's
preconditions make the rewrite right; otherwise the finding has no fix.
"""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst

from backlint.core.rule import NodeEdit, PendingFix

WRITE_ONLY = 'extra_kwargs = {"password": {"write_only": True}}'


def write_only_fix(
    module: cst.Module,
    serializer: cst.ClassDef,
    meta: cst.ClassDef,
    fields: cst.BaseExpression,
    known_bases: Iterable[bool],
) -> PendingFix | None:
    """BL305: ``extra_kwargs`` marking ``password`` write-only, added under ``Meta.fields``.

    Only for a module-level serializer whose ``Meta`` has no ``extra_kwargs`` and no base of its own
    (an inherited ``Meta`` may define them, and ours would replace them), that declares no
    ``password`` field (DRF ignores ``extra_kwargs`` for declared fields), and whose bases are all
    known (``known_bases``: DRF's own serializers or classes of this module, which were read).
    """
    if meta.bases or not all(known_bases):
        return None
    if not isinstance(serializer.body, cst.IndentedBlock) or not isinstance(meta.body, cst.IndentedBlock):
        return None
    line = None
    for statement in meta.body.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, (cst.Assign, cst.AnnAssign)):
                targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
                if any(isinstance(t, cst.Name) and t.value == "extra_kwargs" for t in targets):
                    return None
                if small.value is fields:
                    line = statement
    if line is None:
        return None
    indent = _indent(module, serializer.body) + _indent(module, meta.body)
    description = 'Mark the password write-only: `extra_kwargs = {"password": {"write_only": True}}` in `Meta`'
    return PendingFix("unsafe", description, (NodeEdit(line, indent + WRITE_ONLY + module.default_newline, "below"),))


def _indent(module: cst.Module, block: cst.IndentedBlock) -> str:
    return block.indent if block.indent is not None else module.default_indent


def create_user_fix(call: cst.Call) -> PendingFix | None:
    """BL301: ``User.objects.create(...)`` → ``User.objects.create_user(...)``, which hashes the password.

    Only when every argument is a keyword and ``username`` is one: Django's
    ``UserManager.create_user(username, email=None, password=None, **extra_fields)`` takes them all.
    The caller checks that the manager is the Django user model's.
    """
    func = call.func
    if not isinstance(func, cst.Attribute) or func.attr.value != "create":
        return None
    if any(arg.keyword is None or arg.star for arg in call.args):
        return None
    if not any(arg.keyword is not None and arg.keyword.value == "username" for arg in call.args):
        return None
    description = "Create the user with `create_user(...)`, which hashes the password"
    return PendingFix("unsafe", description, (NodeEdit(func.attr, "create_user"),))
