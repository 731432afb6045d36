"""What the password flow reads from a class body: its fields, excluded fields and hashing setters."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import libcst as cst

from backlint.analysis.passwords.values import call_tail, string_value
from backlint.core.imports import dotted_name


@dataclasses.dataclass
class ClassInfo:
    name: str
    node: cst.ClassDef
    kind: str | None  # "orm", "pydantic", "serializer", or None
    fields: dict[str, cst.CSTNode]
    excluded: set[str]
    complete: bool  # every base is known, so ``fields`` lists every field
    setters: set[str]  # fields with a custom setter (``@password.setter``, ``synonym(descriptor=...)``)
    # Fields the constructor hashes (``def __init__(self, password): self.password = bcrypt.hash(password)``):
    # the model's constructor takes the password and stores its hash; an attribute write does not.
    init_hashed: set[str] = dataclasses.field(default_factory=set)


def setter_fields(function: cst.FunctionDef) -> set[str]:
    """``@password.setter`` / ``@validates("password")`` / ``@hybrid_property``: fields set through code."""
    out = set()
    for decorator in function.decorators:
        target = decorator.decorator
        if isinstance(target, cst.Attribute) and target.attr.value == "setter":
            out.add(dotted_name(target.value) or "")
        elif isinstance(target, cst.Call) and (dotted_name(target.func) or "").endswith("validates"):
            out |= {t for a in target.args if (t := string_value(a.value)) is not None}
        elif (dotted_name(target) or "").endswith("hybrid_property"):
            out.add(function.name.value)
    return out


def validated_fields(function: cst.FunctionDef) -> set[str]:
    """The fields a pydantic validator names (``@field_validator("password")``, ``@validator(...)``)."""
    out: set[str] = set()
    for decorator in function.decorators:
        target = decorator.decorator
        if isinstance(target, cst.Call) and (dotted_name(target.func) or "").rpartition(".")[2] in (
            "field_validator",
            "validator",
        ):
            out |= {t for a in target.args if a.keyword is None and (t := string_value(a.value)) is not None}
    return out


def calls_in(function: cst.FunctionDef) -> list[cst.Call]:
    """Every call in the function's body (nested functions included)."""
    out: list[cst.Call] = []
    stack: list[cst.CSTNode] = [function.body]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Call):
            out.append(node)
        stack.extend(node.children)
    return out


def is_descriptor(value: cst.BaseExpression | None) -> bool:
    """``property(get, set)``, ``synonym("_password", descriptor=property(...))``, ``hybrid_property(...)``."""
    if not isinstance(value, cst.Call):
        return False
    tail = call_tail(value)
    if tail == "property":
        return len(value.args) >= 2 or any(a.keyword is not None and a.keyword.value == "fset" for a in value.args)
    return tail in ("synonym", "hybrid_property") or any(
        a.keyword is not None and a.keyword.value == "descriptor" for a in value.args
    )


def excluded_field(value: cst.BaseExpression | None) -> bool:
    """``Field(exclude=True)`` / ``serializers.CharField(write_only=True)``."""
    if not isinstance(value, cst.Call):
        return False
    return any(
        a.keyword is not None and a.keyword.value in ("exclude", "write_only") and dotted_name(a.value) == "True"
        for a in value.args
    )


def write_only(statement: cst.CSTNode) -> bool:
    if isinstance(statement, (cst.Assign, cst.AnnAssign)):
        return excluded_field(statement.value)
    return False


def inner_class(node: cst.ClassDef, name: str) -> cst.ClassDef | None:
    if isinstance(node.body, cst.IndentedBlock):
        for statement in node.body.body:
            if isinstance(statement, cst.ClassDef) and statement.name.value == name:
                return statement
    return None


def class_assignments(node: cst.ClassDef) -> dict[str, cst.BaseExpression]:
    out: dict[str, cst.BaseExpression] = {}
    if isinstance(node.body, cst.IndentedBlock):
        for statement in node.body.body:
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    if isinstance(small, cst.Assign) and isinstance(small.targets[0].target, cst.Name):
                        out[small.targets[0].target.value] = small.value
    return out


def extra_write_only(node: cst.Dict) -> bool:
    for element in node.elements:
        if isinstance(element, cst.DictElement) and string_value(element.key) == "password":
            inner = element.value
            if isinstance(inner, cst.Dict):
                return any(
                    isinstance(e, cst.DictElement)
                    and string_value(e.key) == "write_only"
                    and dotted_name(e.value) == "True"
                    for e in inner.elements
                )
    return False


def manager_model(func: cst.BaseExpression) -> cst.BaseExpression | None:
    """``User`` in ``User.objects.create`` / ``User.objects.filter(...).update``: a Django manager call."""
    node = func.value if isinstance(func, cst.Attribute) else None
    while isinstance(node, (cst.Call, cst.Attribute)):
        if isinstance(node, cst.Attribute) and node.attr.value == "objects":
            return node.value
        node = node.func if isinstance(node, cst.Call) else node.value
    return None


# ORM calls declaring a column, whose first positional argument is the column's type.
_COLUMN_CALLS = frozenset({"Column", "mapped_column", "column_property"})


def column_type(statement: cst.CSTNode, qualify: Callable[[cst.BaseExpression], str | None]) -> str | None:
    """The qualified type of a field declared by ``statement``: ``Vault`` of ``password = Column(Vault)``
    or ``mapped_column(Vault(), nullable=True)``, ``EncryptedCharField`` of Django's
    ``password = EncryptedCharField(max_length=128)``; None when it declares no call."""
    value = statement.value if isinstance(statement, (cst.Assign, cst.AnnAssign)) else None
    if not isinstance(value, cst.Call):
        return None
    if call_tail(value) in _COLUMN_CALLS:
        kind = next((a.value for a in value.args if a.keyword is None and not a.star), None)
        if isinstance(kind, cst.Call):
            kind = kind.func
        return qualify(kind) if isinstance(kind, (cst.Name, cst.Attribute)) else None
    return qualify(value.func)


def encrypts_on_write(node: cst.ClassDef, qualify: Callable[[cst.BaseExpression], str | None]) -> bool:
    """A SQLAlchemy ``TypeDecorator`` whose ``process_bind_param`` encrypts what is written (lemur's
    ``Vault``: ``MultiFernet(...).encrypt(value)``): a column of that type holds ciphertext."""
    if not any((qualify(b.value) or dotted_name(b.value) or "").endswith("TypeDecorator") for b in node.bases):
        return False
    if not isinstance(node.body, cst.IndentedBlock):
        return False
    for statement in node.body.body:
        if isinstance(statement, cst.FunctionDef) and statement.name.value == "process_bind_param":
            return any("encrypt" in call_tail(call).lower() for call in calls_in(statement))
    return False
