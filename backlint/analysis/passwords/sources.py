"""Where a value comes from: a parameter (by annotation and name), a field of an object (what the
user typed, or what was stored), a model dumped whole."""

from __future__ import annotations

import libcst as cst

from backlint.analysis.passwords.index import Interpreter
from backlint.analysis.passwords.values import (
    CONFIG,
    DATA,
    DICT,
    INPUT,
    INSTANCE,
    MODEL,
    ORM,
    OTHER,
    PW,
    REQUEST,
    SECRET_DATA,
    STORED,
    UNKNOWN,
    Val,
    call_tail,
    unwrap_annotation,
)
from backlint.analysis.strings import PASSWORD, SECRET, name_tokens
from backlint.core.imports import dotted_name

# Annotations of a value that is the secret itself, not an object holding one.
_STRING_TYPES = frozenset({"SecretStr", "SecretBytes", "Text", "AnyStr", "Any", "Optional", "Union", "Annotated"})


class Sources:
    """The origins of parameters, fields and model dumps, for one frame."""

    def __init__(self, frame: Interpreter) -> None:
        self.frame = frame
        self.k = frame.k
        self.lex = frame.lex

    def param_value(self, param: cst.Param) -> Val:
        name = param.name.value
        annotation = param.annotation.annotation if param.annotation is not None else None
        if annotation is not None:
            ann = unwrap_annotation(annotation)
            written = dotted_name(ann) or ""
            qualified = self.frame.index.qualified(ann) or ""
            if qualified.rpartition(".")[2] in ("Request", "HttpRequest", "WSGIRequest", "ASGIRequest"):
                return Val(REQUEST, param)
            if self.frame.index.orm_class(ann) is not None:
                return Val(ORM, param, written)
            info = self.frame.index.classes.get(written)
            if info is not None and info.kind == "pydantic":
                return Val(MODEL, param, written)
            tail = written.rpartition(".")[2]
            if tail[:1].isupper() and tail not in _STRING_TYPES and self.lex.sensitivity(name) == SECRET:
                return Val(INSTANCE, param, written)  # token: Token: an object, its repr no secret string
        if name in ("request", "req"):
            return Val(REQUEST, param)
        if name == "self" and self.frame.owner is not None and self.frame.owner.kind == "orm":
            return Val(ORM, param, self.frame.owner.name)
        sensitivity = self.lex.sensitivity(name)
        if sensitivity == PASSWORD and self.frame.password_name(name):
            return Val(PW, param, INPUT)
        return Val(OTHER, param, "param", taint=SECRET_DATA if sensitivity == SECRET else "")

    def origin_of_field(self, owner: cst.BaseExpression, base: Val) -> str:
        """Is ``owner.password`` / ``owner["password"]`` what the user typed, or what was stored?"""
        if base.kind == REQUEST or (base.kind == DATA and base.origin in ("body", "query")):
            return INPUT
        if base.kind == MODEL:
            # A schema instance is the request's in an endpoint or when its names say so (UserCreate,
            # user_in); elsewhere it may be a row's (AuthModel in a database layer).
            named = {*name_tokens(base.origin), *name_tokens(root_name(owner) or "")}
            return INPUT if self.frame.is_endpoint() or named & self.k.input_words else UNKNOWN
        if base.kind in (ORM, DICT):
            return STORED
        root = owner
        while isinstance(root, (cst.Attribute, cst.Subscript, cst.Call)):
            root = root.func if isinstance(root, cst.Call) else root.value
        if not isinstance(root, cst.Name):
            return UNKNOWN
        name = root.value
        if name == "self":
            return STORED if self.frame.owner is not None and self.frame.owner.kind == "orm" else UNKNOWN
        if name.lower() in self.k.config_words:
            return CONFIG  # a configured password (a service account's, a root login): no stored hash to check
        words = set(name_tokens(name))
        if words & self.k.input_words:
            return INPUT
        value = self.frame.env.get(name)
        if value is None:
            return UNKNOWN if name in self.frame.params else STORED  # a module-level store (fake_users_db)
        if value.kind == ORM or value.origin == "call":
            return STORED  # a local built by a lookup: a user record, a row
        if words & self.k.stored_words:
            return STORED
        return UNKNOWN

    def dumped_model(self, expr: cst.BaseExpression) -> tuple[str, list[str]] | None:
        """``user.__dict__``, ``vars(user)``, ``model_to_dict(user)``, ``user.to_dict()``: (class, password fields)."""
        target: cst.BaseExpression | None = None
        if isinstance(expr, cst.Attribute) and expr.attr.value == "__dict__":
            target = expr.value
        elif isinstance(expr, cst.Call):
            tail = call_tail(expr)
            qualified = self.frame.index.qualified(expr.func) or ""
            to_dict = self.k.role("to-dict")
            if (qualified in to_dict or tail in ("vars", "model_to_dict")) and expr.args:
                target = expr.args[0].value
            elif isinstance(expr.func, cst.Attribute) and tail in to_dict | {
                "dict",
                "model_dump",
                "json",
                "model_dump_json",
            }:
                target = expr.func.value
        if target is None:
            return None
        value = self.frame.eval(target)
        if value.kind not in (ORM, MODEL):
            return None
        info = self.frame.index.classes.get(value.origin)
        return value.origin, self.frame.index.has_password_field(info)


def root_name(node: cst.BaseExpression) -> str | None:
    """``form`` in ``form.data["password"]``."""
    while isinstance(node, (cst.Attribute, cst.Subscript, cst.Call)):
        node = node.func if isinstance(node, cst.Call) else node.value
    return node.value if isinstance(node, cst.Name) else None
