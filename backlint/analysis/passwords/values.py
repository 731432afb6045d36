"""What the password flow knows about an expression (``Val``), and the syntax helpers its parts share."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence

import libcst as cst

from backlint.analysis.strings import Lexicon, is_string, literal_text
from backlint.core.imports import dotted_name
from backlint.pipeline.walk import children

# What an expression holds (``Val.kind``).
PW = "password"  # a plaintext password
HASHED = "hashed"  # the output of a slow password hash
WEAK = "weak"  # the output of a fast digest
ENCODED = "encoded"  # a password encoded reversibly (base64, hex)
ORM = "orm"  # an ORM model instance; origin: class name
MODEL = "model"  # a request/response schema instance; origin: class name
REQUEST = "request"  # the request object
DATA = "data"  # request data; origin: its role (body, query, headers, cookies, path)
DICT = "dict"  # a dict holding a plaintext password; node: the value, origin: the password's origin
STR = "str"  # a string constant; origin: its text
INSTANCE = "instance"  # an object of a known class; origin: the class's qualified name
NUMBER = "number"  # a module-level number constant (COOKIE_SECRET_BYTES = 32): a size, not a secret
OTHER = "other"

# Where a plaintext password came from (``Val.origin`` of a PW).
INPUT, STORED, UNKNOWN = "input", "stored", "unknown"
CONFIG = "config"  # configuration (settings.ADMIN_PASSWORD): a password used in the clear by design

# What secret data a value carries besides a plaintext password (``Val.taint``).
SECRET_DATA = "secret"  # a value named like a secret (token, key), or a string built from a password or one
HEADER_DATA = "header"  # a request header that carries a credential (Authorization, Cookie)


@dataclasses.dataclass(frozen=True)
class Val:
    kind: str
    node: cst.CSTNode | None = None
    origin: str = ""
    derived: bool = False  # a password built into a larger string (concatenation, f-string, format)
    taint: str = ""  # SECRET_DATA when the value carries secret data
    algorithm: str = ""  # of a digest (WEAK): md5, sha1, sha256... ("" when unknown)
    for_security: bool = True  # a digest not made with ``usedforsecurity=False``


OTHER_VAL = Val(OTHER)


def code_text(node: cst.CSTNode) -> str:
    """The node's code on one line, cut at 60 characters: for messages and sink names."""
    text = cst.Module([]).code_for_node(node)
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."


def string_value(node: cst.CSTNode | None) -> str | None:
    if node is None or not is_string(node):
        return None
    return literal_text(node)


def call_tail(call: cst.Call) -> str:
    func = call.func
    if isinstance(func, cst.Attribute):
        return func.attr.value
    if isinstance(func, cst.Name):
        return func.value
    return ""


def is_hash_name(tokens: Sequence[str], lex: Lexicon) -> bool:
    return any(t in lex.password for t in tokens) and any(t in ("hash", "hashed", "digest") for t in tokens)


def model_module(module: str) -> bool:
    parts = set(module.split("."))
    return bool(parts & {"models", "model", "entities", "orm", "db", "database", "tables", "base"})


def is_constant(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.Name):
        return node.value in ("None", "True", "False")
    return isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.Integer, cst.Float, cst.FormattedString))


def is_reversal(node: cst.Subscript) -> bool:
    element = node.slice[0].slice if len(node.slice) == 1 else None
    if not isinstance(element, cst.Slice) or element.lower is not None or element.upper is not None:
        return False
    step = element.step
    return isinstance(step, cst.UnaryOperation) and isinstance(step.operator, cst.Minus)


def is_slice(node: cst.Subscript) -> bool:
    return any(isinstance(e.slice, cst.Slice) for e in node.slice)


def string_key(node: cst.BaseExpression) -> str | None:
    if not isinstance(node, cst.Subscript) or len(node.slice) != 1:
        return None
    element = node.slice[0].slice
    return string_value(element.value) if isinstance(element, cst.Index) else None


def dict_keys(node: cst.BaseExpression) -> Iterator[str]:
    if isinstance(node, cst.Dict):
        for element in node.elements:
            if isinstance(element, cst.DictElement):
                key = string_value(element.key)
                if key is not None:
                    yield key


def string_items(node: cst.BaseExpression) -> set[str]:
    if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
        return {t for e in node.elements if (t := string_value(e.value)) is not None}
    return set()


def body_of(function: cst.FunctionDef) -> Sequence[cst.BaseStatement | cst.BaseSmallStatement]:
    return function.body.body


def params_of(function: cst.FunctionDef) -> list[cst.Param]:
    p = function.params
    return [*p.posonly_params, *p.params, *p.kwonly_params]


def functions_of(
    body: Sequence[cst.CSTNode], owner: cst.ClassDef | None
) -> Iterator[tuple[cst.FunctionDef, cst.ClassDef | None]]:
    """Every function of a block, with the class that directly holds it (nested ones too)."""
    for statement in body:
        if isinstance(statement, cst.FunctionDef):
            yield statement, owner
            yield from functions_of(body_of(statement), None)
        elif isinstance(statement, cst.ClassDef):
            if isinstance(statement.body, cst.IndentedBlock):
                yield from functions_of(statement.body.body, statement)
        elif isinstance(statement, (cst.If, cst.Try, cst.With, cst.For, cst.While, cst.TryStar)):
            for child in _blocks(statement):
                yield from functions_of(child, owner)


def _blocks(statement: cst.CSTNode) -> Iterator[Sequence[cst.BaseStatement]]:
    """The statement's blocks; an ``elif`` ladder's in a loop (N branches cost N, not N²)."""
    branch: cst.CSTNode | None = statement
    while branch is not None:
        body = getattr(branch, "body", None)
        if isinstance(body, cst.IndentedBlock):
            yield body.body
        following: cst.CSTNode | None = None
        for attr in ("orelse", "finalbody"):
            extra = getattr(branch, attr, None)
            if isinstance(extra, cst.If):
                following = extra  # an If's only extra block: nothing of this branch comes after it
            elif extra is not None and isinstance(getattr(extra, "body", None), cst.IndentedBlock):
                yield extra.body.body
        for handler in getattr(branch, "handlers", ()):
            if isinstance(handler.body, cst.IndentedBlock):
                yield handler.body.body
        branch = following


def unwrap_annotation(node: cst.BaseExpression) -> cst.BaseExpression:
    """``Annotated[User, Depends(...)]`` / ``Optional[User]`` → ``User``."""
    if isinstance(node, cst.Subscript) and node.slice and isinstance(node.slice[0].slice, cst.Index):
        head = (dotted_name(node.value) or "").rpartition(".")[2]
        if head in ("Annotated", "Optional"):
            return node.slice[0].slice.value
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
        return node.left if not (isinstance(node.left, cst.Name) and node.left.value == "None") else node.right
    return node


def annotation_names(node: cst.BaseExpression) -> list[str]:
    """Every simple name an annotation mentions (``list[UserOut]`` → list, UserOut)."""
    out = []
    stack: list[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Name):
            out.append(current.value)
        elif isinstance(current, cst.Attribute):
            out.append(current.attr.value)
        elif is_string(current):
            continue
        else:
            stack.extend(children(current))
    return out
