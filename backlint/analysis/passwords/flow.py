"""The password flow of one file (an ``Analysis``): every function (and the module body) interpreted
once, in statement order, tracking what each local holds — a plaintext password (and whether it
came from the request or from storage), a hash, an ORM instance, request data — and recording where
passwords end up as facts (backlint/analysis/passwords/facts.py). Flows cross one call into a
function of the same module. The BL3xx rules (backlint/checks/passwords.py) decide what to report.
"""

from __future__ import annotations

import libcst as cst

from backlint.analysis.passwords.classes import (
    ClassInfo,
    calls_in,
    class_assignments,
    extra_write_only,
    inner_class,
    write_only,
)
from backlint.analysis.passwords.facts import PasswordFact, SerializedPassword
from backlint.analysis.passwords.frame import Frame
from backlint.analysis.passwords.index import ModuleIndex
from backlint.analysis.passwords.legacy import stores_nothing
from backlint.analysis.passwords.values import (
    body_of,
    call_tail,
    functions_of,
    params_of,
    string_items,
    string_key,
    string_value,
)
from backlint.analysis.scopes import Scopes
from backlint.analysis.strings import name_tokens
from backlint.core.imports import dotted_name
from backlint.core.rule import Analysis, FileContext


class PasswordFlow(Analysis):
    """One file's password flows, computed when the walk leaves the module: the scopes
    (backlint/analysis/scopes.py) then know every binding, ``self.<attr>`` ones included."""

    REQUIRES = (Scopes,)

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.index = ModuleIndex(context)
        self.index.scopes = context.get(Scopes)

    @property
    def facts(self) -> list[PasswordFact]:
        """Where passwords end up, in the order the flow found them (a node may have several)."""
        return self.index.facts

    def leave_Module(self, node: cst.Module) -> None:
        self.index.index(node)
        module = Frame(self.index, None, None)
        module.exec_block(node.body)
        module.finish()
        for function, owner in functions_of(node.body, None):
            frame = Frame(self.index, function, owner)
            frame.seed_params()
            frame.endpoint.check_route()
            frame.exec_block(body_of(function))
            frame.finish()
        for info in self.index.classes.values():
            if info.kind == "serializer":
                self._check_serializer(info)
        index = self.index
        sessions = [name.rpartition(".")[2] for name in index.k.role("session")]
        for deferred in index.deferred:
            if not stores_nothing(deferred, node, index.slow_hashing, index.k.role("verify"), sessions):
                index.add(deferred.fact)

    def _check_serializer(self, info: ClassInfo) -> None:
        """A DRF ``ModelSerializer`` whose ``Meta.fields`` lists the model's password, readable."""
        index = self.index
        meta = inner_class(info.node, "Meta")
        if meta is None:
            return
        values = class_assignments(meta)
        model, fields = values.get("model"), values.get("fields")
        if model is None or fields is None:
            return
        declared = info.fields.get("password")
        if declared is not None and write_only(declared):
            return
        extra = values.get("extra_kwargs")
        if isinstance(extra, cst.Dict) and extra_write_only(extra):
            return
        listed = string_items(fields)
        if declared is not None and _login_form(info, listed, index):
            return  # username and password declared for input: a login form, it sends nothing back
        found = index.orm_class(model)
        model_fields = index.has_password_field(found[1]) if found else []
        is_user = found is not None and found[1] is None and "user" in found[0].lower()
        if "password" in listed or (string_value(fields) == "__all__" and ("password" in model_fields or is_user)):
            known = tuple(
                dotted_name(b.value) in index.classes or index.qualified(b.value) in index.k.role("serializer-base")
                for b in info.node.bases
            )
            verified = _verifies(info.node, "password", index.k.role("verify"))
            index.add(SerializedPassword(fields, info.name, info.node, meta, declared is not None, known, verified))


def _login_form(info: ClassInfo, listed: set[str], index: ModuleIndex) -> bool:
    """Does the serializer declare every field it lists itself (none taken from the model), each a login
    field or a password (``username = CharField()``, ``password = CharField()``)?"""
    words = index.k.login_fields | index.lex.password
    return bool(listed) and all(
        field in info.fields and set(name_tokens(field)) <= words and name_tokens(field) for field in listed
    )


def _verifies(node: cst.ClassDef, field: str, verifiers: frozenset[str]) -> bool:
    """Does a method of the class pass the field's value to a password check (a verify-role call:
    ``authenticate(username=..., password=value)`` in ``validate_password(self, value)``,
    ``user.check_password(attrs["password"])`` in ``validate``)?"""
    for function, _owner in functions_of(node.body.body if isinstance(node.body, cst.IndentedBlock) else [], node):
        params = [p.name.value for p in params_of(function)]
        value = params[1] if function.name.value == f"validate_{field}" and len(params) > 1 else None
        for call in calls_in(function):
            if call_tail(call) not in verifiers:
                continue
            for arg in call.args:
                if (isinstance(arg.value, cst.Name) and arg.value.value == value) or string_key(arg.value) == field:
                    return True
    return False
