"""BL3xx: plaintext passwords — hashed with a slow KDF before storage; never compared, logged,
returned or sent in a URL in clear.

The six rules share one analysis per file (``PasswordFlow``): an abstract interpreter that walks
each function's statements in order and tracks what every local holds — a plaintext password (and
whether it came from the request or from storage), a hash, an ORM instance, request data — then
records the flows each rule reports. Flows cross one call into a function of the same module.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import libcst as cst

from backlint.analysis.lazy import lazy_fix, steps_locator
from backlint.analysis.logging import LogCalls
from backlint.analysis.password_fixes import create_user_fix, write_only_fix
from backlint.analysis.strings import (
    PASSWORD,
    SECRET,
    Lexicon,
    is_string,
    lexicon,
    literal_text,
    name_tokens,
    name_triggers,
)
from backlint.core.catalog import Knowledge
from backlint.core.facts import FactCollector, ProjectFinding, ProjectRule
from backlint.core.imports import dotted_name
from backlint.core.results import FileKind, ModuleFacts, RelatedLocation
from backlint.core.rule import FileContext, PendingFix, Rule
from backlint.pipeline.walk import child_fields

# What an expression holds (``Val.kind``).
PW = "password"  # a plaintext password
HASHED = "hashed"  # the output of a slow password hash
WEAK = "weak"  # the output of a fast digest
ENCODED = "encoded"  # a password encoded reversibly (base64, hex)
ORM = "orm"  # an ORM model instance; origin: class name
MODEL = "model"  # a request/response schema instance; origin: class name
REQUEST = "request"  # the request object
DATA = "data"  # request data; origin: its role (body, query, headers, cookies, path)
DICT = "dict"  # a dict holding a plaintext password; node: the value
STR = "str"  # a string constant; origin: its text
INSTANCE = "instance"  # an object of a known class; origin: the class's qualified name
OTHER = "other"

# Where a plaintext password came from (``Val.origin`` of a PW).
INPUT, STORED, UNKNOWN = "input", "stored", "unknown"

# Python's own string and digest methods: they keep what their receiver holds.
_DIGEST_METHODS = frozenset({"hexdigest", "digest", "decode", "encode", "strip", "lower", "upper"})
_STRING_METHODS = frozenset(
    {"encode", "decode", "strip", "lstrip", "rstrip", "lower", "upper", "casefold", "replace", "get_secret_value"}
)
_FASTAPI_NOT_QUERY = frozenset({"Body", "Form", "Header", "Cookie", "Depends", "Security", "File", "Path"})
_SCALARS = frozenset({"str", "SecretStr", "bytes", "Optional", "Union", "None", "Annotated", "typing", "pydantic"})
_SQL_WRITE = re.compile(r"^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|REPLACE\s+INTO|UPDATE\s+\S+\s+SET)\b", re.IGNORECASE)
_SQL_INSERT_HEAD = re.compile(r"INTO\s+[\w.\"`\[\]]+\s*\((?P<cols>[^)]*)\)\s*VALUES\b", re.IGNORECASE)
_SQL_SET = re.compile(r"\bSET\s+(?P<body>.*?)(?:\bWHERE\b|\bRETURNING\b|$)", re.IGNORECASE | re.DOTALL)
_PLACEHOLDER = re.compile(r"\?|%s|\$\d+|:\w+|%\(\w+\)s")


@dataclasses.dataclass(frozen=True)
class Val:
    kind: str
    node: cst.CSTNode | None = None
    origin: str = ""
    derived: bool = False  # a password built into a larger string (concatenation, f-string, format)


OTHER_VAL = Val(OTHER)


@dataclasses.dataclass(frozen=True)
class Event:
    rule_id: str
    node: cst.CSTNode
    message: str
    level: str | None = None
    related: tuple[tuple[cst.CSTNode, str], ...] = ()
    # For a store through a model attribute: (qualified class, field). The project pass drops it when
    # the class (in any module) turns that field into a hashing property.
    model: tuple[str, str] | None = None
    fix: PendingFix | None = None


@dataclasses.dataclass
class ClassInfo:
    name: str
    node: cst.ClassDef
    kind: str | None  # "orm", "pydantic", "serializer", or None
    fields: dict[str, cst.CSTNode]
    excluded: set[str]
    complete: bool  # every base is known, so ``fields`` lists every field
    setters: set[str]  # fields with a custom setter (``@password.setter``, ``synonym(descriptor=...)``)


def _code(node: cst.CSTNode) -> str:
    text = cst.Module([]).code_for_node(node)
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."


def _string(node: cst.CSTNode | None) -> str | None:
    if node is None or not is_string(node):
        return None
    return literal_text(node)


def _call_name_tail(call: cst.Call) -> str:
    func = call.func
    if isinstance(func, cst.Attribute):
        return func.attr.value
    if isinstance(func, cst.Name):
        return func.value
    return ""


def _children(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    for field in child_fields(type(node)):
        value = getattr(node, field)
        if isinstance(value, cst.CSTNode):
            yield value
        elif isinstance(value, (list, tuple)):
            yield from (item for item in value if isinstance(item, cst.CSTNode))


class PasswordTables:
    """The tables the BL3xx analysis reads, indexed once per run."""

    TABLES = (
        "secret-names",
        "password-hashers",
        "password-sources",
        "password-stores",
        "password-names",
        "datastore-models",
        "framework-routes",
        "framework-objects",
    )

    def __init__(self, knowledge: Knowledge) -> None:
        self.lexicon: Lexicon = lexicon(knowledge)
        self.hashers: dict[str, dict[str, Any]] = {}
        self.hasher_prefixes: list[dict[str, Any]] = []
        self.hasher_methods: dict[str, dict[str, Any]] = {}
        for row in knowledge.rows("password-hashers"):
            match = row.get("match", "exact")
            if match == "prefix":
                self.hasher_prefixes.append(row)
            elif match == "method":
                self.hasher_methods[row["name"]] = row
            else:
                self.hashers[row["name"]] = row
        self.sources: dict[tuple[str, bool], str] = {}
        self.any_sources: dict[str, str] = {}
        for row in knowledge.rows("password-sources"):
            if row["expr"].startswith("."):
                self.any_sources[row["expr"][1:]] = row["role"]
            else:
                self.sources[(row["expr"], bool(row.get("call", False)))] = row["role"]
        roles: dict[str, set[str]] = {}
        for row in knowledge.rows("password-stores"):
            roles.setdefault(row["role"], set()).add(row["name"])
        self.stores = {role: frozenset(names) for role, names in roles.items()}
        model_bases = {row["name"] for row in knowledge.rows("datastore-models")}
        self.orm_bases = self.stores.get("orm-base", frozenset()) | model_bases
        # Bases that declare no fields of their own: a subclass's fields are all in its body.
        self.empty_bases = (model_bases | self.role("pydantic-base") | {"object"}) - self.role("user-model")
        self.route_decorators: dict[str, set[str]] = {}
        for row in knowledge.rows("framework-routes"):
            if row["form"] == "decorator":
                self.route_decorators.setdefault(row["framework"], set()).add(row["name"])
        self.router_classes = {row["name"]: row["framework"] for row in knowledge.rows("framework-objects")}
        words: dict[str, set[str]] = {}
        for row in knowledge.rows("password-names"):
            words.setdefault(row["role"], set()).add(row["word"])
        self.input_words = frozenset(words.get("input", ()))
        self.stored_words = frozenset(words.get("stored", ()))
        self.config_words = frozenset(words.get("config", ()))
        self.masking_words = frozenset(words.get("masking", ()))
        self.hashing_words = frozenset(words.get("hashing", ()))

    def role(self, role: str) -> frozenset[str]:
        return self.stores.get(role, frozenset())

    def hasher(self, qualified: str | None, method: str) -> dict[str, Any] | None:
        if qualified is not None:
            if qualified in self.hashers:
                return self.hashers[qualified]
            for row in self.hasher_prefixes:
                if qualified.startswith(row["name"] + "."):
                    return row
        return self.hasher_methods.get(method)


class PasswordFlow:
    """One file's password flows: every function (and the module body) interpreted once."""

    def __init__(self, context: FileContext, module: cst.Module) -> None:
        self.context = context
        self.module = module
        self.k = context.knowledge.derived(PasswordTables)
        self.lex = self.k.lexicon
        self.events: dict[tuple[str, int], Event] = {}
        self.instances: dict[str, str] = {}  # module-level name -> qualified class/factory it was built by
        self.strings: dict[str, str] = {}  # module-level string constants (SQL kept in a variable)
        self.classes: dict[str, ClassInfo] = {}
        self.functions: dict[str, cst.FunctionDef] = {}
        self.summaries: dict[tuple[str, int], list[Event] | None] = {}
        self.logs = LogCalls(context, self.instances.get)
        self._index(module)
        self._run(module)

    # --- module index -------------------------------------------------------------------------

    def _index(self, module: cst.Module) -> None:
        for statement in module.body:
            if isinstance(statement, cst.ClassDef):
                self.classes[statement.name.value] = self._class_info(statement)
            elif isinstance(statement, cst.FunctionDef):
                self.functions[statement.name.value] = statement
            elif isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    if isinstance(small, cst.Assign) and len(small.targets) == 1:
                        self._index_assign(small.targets[0].target, small.value)
                    elif isinstance(small, cst.AnnAssign) and small.value is not None:
                        self._index_assign(small.target, small.value)

    def _index_assign(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if not isinstance(target, cst.Name):
            return
        if isinstance(value, cst.Call):
            qualified = self.qualified(value.func)
            if qualified is not None:
                self.instances[target.value] = qualified
        text = _string(value)
        if text is not None:
            self.strings[target.value] = text

    def qualified(self, node: cst.BaseExpression) -> str | None:
        """Qualified name through imports and module-level instances (``pwd_context.hash``)."""
        name = dotted_name(node)
        if name is None:
            return None
        head, dot, rest = name.partition(".")
        if head in self.instances and dot:
            return f"{self.instances[head]}.{rest}"
        return self.context.qualified_name(node)

    def _class_info(self, node: cst.ClassDef) -> ClassInfo:
        kind: str | None = None
        fields: dict[str, cst.CSTNode] = {}
        excluded: set[str] = set()
        complete = True
        for base in node.bases:
            inherited = self._base_kind(base.value, node)
            if inherited is not None and kind is None:
                kind = inherited
            local = self.classes.get(dotted_name(base.value) or "")
            if local is not None:
                fields.update(local.fields)
                excluded |= local.excluded
                complete = complete and local.complete
            elif (self.qualified(base.value) or "") not in self.k.empty_bases:
                complete = False
        setters: set[str] = set()
        if isinstance(node.body, cst.IndentedBlock):
            for statement in node.body.body:
                if isinstance(statement, cst.FunctionDef):
                    setters |= _setter_fields(statement)
                if not isinstance(statement, cst.SimpleStatementLine):
                    continue
                for small in statement.body:
                    target, value = None, None
                    if isinstance(small, cst.AnnAssign):
                        target, value = small.target, small.value
                    elif isinstance(small, cst.Assign) and len(small.targets) == 1:
                        target, value = small.targets[0].target, small.value
                    if isinstance(target, cst.Name):
                        fields[target.value] = small
                        if _excluded_field(value):
                            excluded.add(target.value)
                        if _is_descriptor(value):
                            setters.add(target.value)
        return ClassInfo(node.name.value, node, kind, fields, excluded, complete, setters)

    def class_qualname(self, name: str) -> str:
        """``app.models.User`` for a class defined here or imported."""
        if not name:
            return name
        if name in self.classes:
            return f"{self.context.module_name}.{name}" if self.context.module_name else name
        head, *rest = name.split(".")
        node: cst.BaseExpression = cst.Name(head)
        for part in rest:
            node = cst.Attribute(node, cst.Name(part))
        return self.context.imports.qualify(node) or name

    def _base_kind(self, base: cst.BaseExpression, node: cst.ClassDef) -> str | None:
        written = dotted_name(base) or ""
        local = self.classes.get(written)
        if local is not None:
            return local.kind
        qualified = self.qualified(base) or ""
        if qualified in self.k.role("pydantic-base"):
            table = any(
                k.keyword is not None and k.keyword.value == "table" and dotted_name(k.value) == "True"
                for k in node.keywords
            )
            return "orm" if qualified.endswith("SQLModel") and table else "pydantic"
        if qualified in self.k.orm_bases or qualified in self.k.role("user-model"):
            return "orm"
        if written in self.instances and self.instances[written] in self.k.role("orm-factory"):
            return "orm"
        if qualified in self.k.role("serializer-base"):
            return "serializer"
        module, _, last = qualified.rpartition(".")
        if module and last == "Base" and _model_module(module):
            return "orm"
        head, _, last = written.rpartition(".")
        if last == "Model" and head.islower():  # Flask-SQLAlchemy's `db.Model`, whatever module made `db`
            return "orm"
        return None

    # --- what is an ORM model ------------------------------------------------------------------

    def orm_class(self, node: cst.BaseExpression) -> tuple[str, ClassInfo | None] | None:
        """(name, in-file info) when ``node`` names an ORM model class, else None."""
        if isinstance(node, cst.Call):
            if (self.qualified(node.func) or "") in self.k.role("user-model"):
                return "User", None
            return None
        written = dotted_name(node)
        if written is None:
            return None
        local = self.classes.get(written)
        if local is not None:
            return (written, local) if local.kind == "orm" else None
        if written in self.instances and self.instances[written] in self.k.role("user-model"):
            return written, None
        qualified = self.qualified(node) or ""
        if qualified in self.k.role("user-model"):
            return written, None
        module, _, last = qualified.rpartition(".")
        imported = written.split(".")[0] in self.context.imports.aliases
        if module and last[:1].isupper() and _model_module(module) and imported:
            return written, None
        return None

    def has_password_field(self, info: ClassInfo | None, *, hashes: bool = False) -> list[str]:
        if info is None:
            return []
        out = []
        for name in info.fields:
            if name in info.excluded:
                continue
            tokens = name_tokens(name)
            if self.lex.sensitivity_of(tokens) == PASSWORD or (hashes and _is_hash_name(tokens, self.lex)):
                out.append(name)
        return out

    # --- events -------------------------------------------------------------------------------

    def add(self, event: Event) -> None:
        self.events.setdefault((event.rule_id, id(event.node)), event)

    def _run(self, module: cst.Module) -> None:
        Frame(self, None, None).exec_block(module.body)
        for function, owner in _functions(module.body, None):
            frame = Frame(self, function, owner)
            frame.seed_params()
            frame.check_route()
            frame.exec_block(_body(function))
            frame.finish()
        for info in self.classes.values():
            if info.kind == "serializer":
                self._check_serializer(info)

    def summary(self, name: str, index: int) -> list[Event]:
        """Events inside module function ``name`` when its ``index``-th parameter is a request password."""
        key = (name, index)
        if key not in self.summaries:
            self.summaries[key] = None  # recursion guard
            function = self.functions[name]
            params = _params(function)
            frame = Frame(self, function, None, record=False)
            frame.seed_params()
            frame.env[params[index].name.value] = Val(PW, params[index], INPUT)
            frame.exec_block(_body(function))
            frame.finish()
            self.summaries[key] = frame.collected
        return self.summaries[key] or []

    # --- BL305 case 3: DRF serializers ---------------------------------------------------------

    def _check_serializer(self, info: ClassInfo) -> None:
        meta = _inner_class(info.node, "Meta")
        if meta is None:
            return
        values = _class_assignments(meta)
        model, fields = values.get("model"), values.get("fields")
        if model is None or fields is None:
            return
        declared = info.fields.get("password")
        if declared is not None and _write_only(declared):
            return
        extra = values.get("extra_kwargs")
        if isinstance(extra, cst.Dict) and _extra_write_only(extra):
            return
        listed = _string_items(fields)
        found = self.orm_class(model)
        model_fields = self.has_password_field(found[1]) if found else []
        is_user = found is not None and found[1] is None and "user" in found[0].lower()
        if "password" in listed or (_string(fields) == "__all__" and ("password" in model_fields or is_user)):
            known = [
                dotted_name(b.value) in self.classes or self.qualified(b.value) in self.k.role("serializer-base")
                for b in info.node.bases
            ]
            fix = write_only_fix(self.module, info.node, meta, fields, known) if declared is None else None
            self.add(
                Event(
                    "BL305",
                    fields,
                    f"serializer `{info.name}` returns the model's `password` field to clients; mark it "
                    'write-only: extra_kwargs = {"password": {"write_only": True}}',
                    fix=fix,
                )
            )


def _setter_fields(function: cst.FunctionDef) -> set[str]:
    """``@password.setter`` / ``@validates("password")`` / ``@hybrid_property``: fields set through code."""
    out = set()
    for decorator in function.decorators:
        target = decorator.decorator
        if isinstance(target, cst.Attribute) and target.attr.value == "setter":
            out.add(dotted_name(target.value) or "")
        elif isinstance(target, cst.Call) and (dotted_name(target.func) or "").endswith("validates"):
            out |= {t for a in target.args if (t := _string(a.value)) is not None}
        elif (dotted_name(target) or "").endswith("hybrid_property"):
            out.add(function.name.value)
    return out


def _is_descriptor(value: cst.BaseExpression | None) -> bool:
    """``property(get, set)``, ``synonym("_password", descriptor=property(...))``, ``hybrid_property(...)``."""
    if not isinstance(value, cst.Call):
        return False
    tail = _call_name_tail(value)
    if tail == "property":
        return len(value.args) >= 2 or any(a.keyword is not None and a.keyword.value == "fset" for a in value.args)
    return tail in ("synonym", "hybrid_property") or any(
        a.keyword is not None and a.keyword.value == "descriptor" for a in value.args
    )


def _manager_model(func: cst.BaseExpression) -> cst.BaseExpression | None:
    """``User`` in ``User.objects.create`` / ``User.objects.filter(...).update``: a Django manager call."""
    node = func.value if isinstance(func, cst.Attribute) else None
    while isinstance(node, (cst.Call, cst.Attribute)):
        if isinstance(node, cst.Attribute) and node.attr.value == "objects":
            return node.value
        node = node.func if isinstance(node, cst.Call) else node.value
    return None


def _model_module(module: str) -> bool:
    parts = set(module.split("."))
    return bool(parts & {"models", "model", "entities", "orm", "db", "database", "tables", "base"})


def _is_hash_name(tokens: Sequence[str], lex: Lexicon) -> bool:
    return any(t in lex.password for t in tokens) and any(t in ("hash", "hashed", "digest") for t in tokens)


def _excluded_field(value: cst.BaseExpression | None) -> bool:
    """``Field(exclude=True)`` / ``serializers.CharField(write_only=True)``."""
    if not isinstance(value, cst.Call):
        return False
    return any(
        a.keyword is not None and a.keyword.value in ("exclude", "write_only") and dotted_name(a.value) == "True"
        for a in value.args
    )


def _write_only(statement: cst.CSTNode) -> bool:
    if isinstance(statement, (cst.Assign, cst.AnnAssign)):
        return _excluded_field(statement.value)
    return False


def _inner_class(node: cst.ClassDef, name: str) -> cst.ClassDef | None:
    if isinstance(node.body, cst.IndentedBlock):
        for statement in node.body.body:
            if isinstance(statement, cst.ClassDef) and statement.name.value == name:
                return statement
    return None


def _class_assignments(node: cst.ClassDef) -> dict[str, cst.BaseExpression]:
    out: dict[str, cst.BaseExpression] = {}
    if isinstance(node.body, cst.IndentedBlock):
        for statement in node.body.body:
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    if isinstance(small, cst.Assign) and isinstance(small.targets[0].target, cst.Name):
                        out[small.targets[0].target.value] = small.value
    return out


def _string_items(node: cst.BaseExpression) -> set[str]:
    if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
        return {t for e in node.elements if (t := _string(e.value)) is not None}
    return set()


def _extra_write_only(node: cst.Dict) -> bool:
    for element in node.elements:
        if isinstance(element, cst.DictElement) and _string(element.key) == "password":
            inner = element.value
            if isinstance(inner, cst.Dict):
                return any(
                    isinstance(e, cst.DictElement) and _string(e.key) == "write_only" and dotted_name(e.value) == "True"
                    for e in inner.elements
                )
    return False


def _body(function: cst.FunctionDef) -> Sequence[cst.BaseStatement | cst.BaseSmallStatement]:
    return function.body.body


def _params(function: cst.FunctionDef) -> list[cst.Param]:
    p = function.params
    return [*p.posonly_params, *p.params, *p.kwonly_params]


def _functions(
    body: Sequence[cst.CSTNode], owner: cst.ClassDef | None
) -> Iterator[tuple[cst.FunctionDef, cst.ClassDef | None]]:
    """Every function of a block, with the class that directly holds it (nested ones too)."""
    for statement in body:
        if isinstance(statement, cst.FunctionDef):
            yield statement, owner
            yield from _functions(_body(statement), None)
        elif isinstance(statement, cst.ClassDef):
            if isinstance(statement.body, cst.IndentedBlock):
                yield from _functions(statement.body.body, statement)
        elif isinstance(statement, (cst.If, cst.Try, cst.With, cst.For, cst.While, cst.TryStar)):
            for child in _blocks(statement):
                yield from _functions(child, owner)


def _blocks(statement: cst.CSTNode) -> Iterator[Sequence[cst.BaseStatement]]:
    body = getattr(statement, "body", None)
    if isinstance(body, cst.IndentedBlock):
        yield body.body
    for attr in ("orelse", "finalbody"):
        extra = getattr(statement, attr, None)
        if isinstance(extra, cst.If):
            yield from _blocks(extra)
        elif extra is not None and isinstance(getattr(extra, "body", None), cst.IndentedBlock):
            yield extra.body.body
    for handler in getattr(statement, "handlers", ()):
        if isinstance(handler.body, cst.IndentedBlock):
            yield handler.body.body


class Frame:
    """The abstract interpretation of one function body (or of the module body)."""

    def __init__(
        self, flow: PasswordFlow, function: cst.FunctionDef | None, owner: cst.ClassDef | None, record: bool = True
    ) -> None:
        self.flow = flow
        self.k = flow.k
        self.lex = flow.lex
        self.function = function
        self.owner = flow.classes.get(owner.name.value) if owner is not None else None
        self.owner_node = owner
        self.env: dict[str, Val] = {}
        self.params: dict[str, cst.Param] = {}
        self.returns: list[tuple[cst.BaseExpression, Val]] = []
        self.record = record
        self.collected: list[Event] = []
        self.flagged: set[int] = set()  # fast-digest calls already reported
        self.weak_inputs: dict[int, Val] = {}  # fast-digest call -> the password it digests
        self.route: str | None = None  # framework of an endpoint, "view" for a Django-style view
        self.route_call: cst.Call | None = None  # its route decorator

    def emit(self, event: Event) -> None:
        if self.record:
            self.flow.add(event)
        else:
            self.collected.append(event)

    # --- parameters and routes ----------------------------------------------------------------

    def seed_params(self) -> None:
        assert self.function is not None
        self.route = self._route_framework()
        for param in _params(self.function):
            name = param.name.value
            self.params[name] = param
            self.env[name] = self._param_value(param)

    def _param_value(self, param: cst.Param) -> Val:
        name = param.name.value
        annotation = param.annotation.annotation if param.annotation is not None else None
        if annotation is not None:
            ann = _unwrap_annotation(annotation)
            written = dotted_name(ann) or ""
            qualified = self.flow.qualified(ann) or ""
            if qualified.rpartition(".")[2] in ("Request", "HttpRequest", "WSGIRequest", "ASGIRequest"):
                return Val(REQUEST, param)
            if self.flow.orm_class(ann) is not None:
                return Val(ORM, param, written)
            info = self.flow.classes.get(written)
            if info is not None and info.kind == "pydantic":
                return Val(MODEL, param, written)
        if name in ("request", "req"):
            return Val(REQUEST, param)
        if name == "self" and self.owner is not None and self.owner.kind == "orm":
            return Val(ORM, param, self.owner.name)
        if self.lex.sensitivity(name) == PASSWORD:
            return Val(PW, param, INPUT)
        return Val(OTHER, param, "param")

    def _route_framework(self) -> str | None:
        """The framework of the route decorator on this function, if any."""
        assert self.function is not None
        for decorator in self.function.decorators:
            target = decorator.decorator
            call = target if isinstance(target, cst.Call) else None
            func = call.func if call is not None else target
            if not isinstance(func, cst.Attribute):
                continue
            receiver = dotted_name(func.value) or ""
            framework = self.k.router_classes.get(self.flow.instances.get(receiver, ""))
            names = self.k.route_decorators
            if framework is None:
                for candidate in ("fastapi", "flask", "django", "aiohttp", "starlette"):
                    module = "ninja" if candidate == "django" else candidate
                    if func.attr.value in names.get(candidate, ()) and self.flow.context.imports.imports_module(module):
                        framework = candidate
                        break
            if framework is not None and (func.attr.value in names.get(framework, ()) or func.attr.value == "route"):
                self.route_call = call
                return framework
        params = _params(self.function)
        first = (
            params[1]
            if params and params[0].name.value == "self" and len(params) > 1
            else (params[0] if params else None)
        )
        if first is not None and first.name.value == "request":
            return "view"
        return None

    def check_route(self) -> None:
        """BL305 (response models) and BL306 (passwords in the URL) on an endpoint's signature."""
        if self.route is None or self.function is None:
            return
        call = self.route_call
        path = _string(call.args[0].value) if call is not None and call.args and call.args[0].keyword is None else None
        if self.route in ("fastapi", "django"):
            self._check_response_model(call)
            for param in _params(self.function):
                self._check_query_param(param, path or "")
        if path is not None and call is not None and self.route not in ("fastapi", "django"):
            # FastAPI/Ninja path parameters are reported on the parameter itself.
            for match in re.finditer(r"[<{](?:\w+:)?(\w+)(?::\w+)?[>}]", path):
                if self.lex.sensitivity(match.group(1)) == PASSWORD:
                    self.emit(
                        Event(
                            "BL306", call.args[0].value, f"route path puts `{match.group(1)}` in the URL: {_URL_ADVICE}"
                        )
                    )

    def _check_response_model(self, call: cst.Call | None) -> None:
        assert self.function is not None
        model: cst.BaseExpression | None = None
        anchor: cst.CSTNode | None = None
        if call is not None:
            for arg in call.args:
                if arg.keyword is not None and arg.keyword.value == "response_model":
                    model, anchor = arg.value, arg
        if model is None and self.function.returns is not None:
            model = self.function.returns.annotation
            anchor = self.function.returns
        if model is None or anchor is None:
            return
        for name in _annotation_names(model):
            info = self.flow.classes.get(name)
            if info is None or info.kind != "pydantic":
                continue
            for field in self.flow.has_password_field(info, hashes=True):
                hashed = self.lex.sensitivity(field) != PASSWORD
                self.emit(
                    Event(
                        "BL305",
                        anchor,
                        f"response model `{name}` includes `{field}`: "
                        + (
                            "the password hash is sent to every client; leave it out of the response model"
                            if hashed
                            else "the password is sent back to the client; use a response model without it"
                        ),
                        level="note" if hashed else None,
                    )
                )
                return

    def _check_query_param(self, param: cst.Param, path: str) -> None:
        name = param.name.value
        if self.lex.sensitivity(name) != PASSWORD:
            return
        default = param.default
        annotation = param.annotation.annotation if param.annotation is not None else None
        marker = _fastapi_marker(default) or (_annotated_marker(annotation) if annotation is not None else None)
        if marker is not None and marker != "Query":
            if marker == "Path":
                self.emit(Event("BL306", param, f"path parameter `{name}` puts the password in the URL: {_URL_ADVICE}"))
            return
        if marker is None and annotation is not None and any(n not in _SCALARS for n in _annotation_names(annotation)):
            return  # a body model or a dependency class
        where = "path" if "{" + name + "}" in path else "query"
        self.emit(Event("BL306", param, f"`{name}` is a URL {where} parameter: {_URL_ADVICE}"))

    def finish(self) -> None:
        """BL302 case 3: a "hash" function that only builds a string from the password."""
        if self.function is None:
            return
        tokens = name_tokens(self.function.name.value)
        if not any(t in self.k.hashing_words or t == "encode" for t in tokens):
            return
        name = self.function.name.value
        for _expr, value in self.returns:
            self._weak_used(value, f"is returned by `{name}()`", named_hash=_is_hash_name(tokens, self.lex))
        for expr, value in self.returns:
            if not isinstance(value.node, cst.Param):
                continue  # only the function's own password parameter makes it a fake hash
            if value.kind == PW and value.derived:
                self.emit(
                    Event(
                        "BL302",
                        expr,
                        f"`{self.function.name.value}()` does not hash: it returns a string built from the password; "
                        f"{_HASH_ADVICE}",
                    )
                )

    # --- statements ---------------------------------------------------------------------------

    def exec_block(self, body: Sequence[cst.CSTNode]) -> None:
        for statement in body:
            self.exec_statement(statement)

    def exec_statement(self, statement: cst.CSTNode) -> None:
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            return
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                self.exec_small(small)
            return
        if isinstance(statement, cst.SimpleStatementSuite):
            for small in statement.body:
                self.exec_small(small)
            return
        if isinstance(statement, (cst.If, cst.While)):
            self.eval(statement.test)
        elif isinstance(statement, cst.For):
            self.eval(statement.iter)
            self.bind(statement.target, OTHER_VAL, statement.iter)
        elif isinstance(statement, cst.With):
            for item in statement.items:
                value = self.eval(item.item)
                if item.asname is not None:
                    self.bind(item.asname.name, value, item.item)
        body = getattr(statement, "body", None)
        if isinstance(body, (cst.IndentedBlock, cst.SimpleStatementSuite)):
            self.exec_block(body.body)
        for handler in getattr(statement, "handlers", ()):
            self.exec_block(handler.body.body)
        for attr in ("orelse", "finalbody"):
            extra = getattr(statement, attr, None)
            if isinstance(extra, cst.If):
                self.exec_statement(extra)
            elif extra is not None:
                self.exec_block(extra.body.body)
        for case in getattr(statement, "cases", ()):
            self.exec_block(case.body.body)

    def exec_small(self, small: cst.BaseSmallStatement) -> None:
        if isinstance(small, cst.Assign):
            value = self.eval(small.value)
            for target in small.targets:
                self.assign(target.target, value, small.value)
        elif isinstance(small, cst.AnnAssign):
            if small.value is not None:
                self.assign(small.target, self.eval(small.value), small.value)
        elif isinstance(small, (cst.AugAssign, cst.Expr)):
            self.eval(small.value)
        elif isinstance(small, (cst.Import, cst.ImportFrom)):
            # The walk records function-level imports when it reaches them; this analysis runs first.
            self.flow.context.imports.add(small)
        elif isinstance(small, cst.Return):
            if small.value is not None:
                value = self.eval(small.value)
                self.returns.append((small.value, value))
                self._check_returned(small.value, value)
        else:
            for child in _children(small):
                if isinstance(child, cst.BaseExpression):
                    self.eval(child)

    def bind(self, target: cst.BaseExpression, value: Val, source: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            self.env[target.value] = value
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self.bind(element.value, OTHER_VAL, source)

    def assign(self, target: cst.BaseExpression, value: Val, source: cst.BaseExpression) -> None:
        name = (
            target.value
            if isinstance(target, cst.Name)
            else (target.attr.value if isinstance(target, cst.Attribute) else _string_key(target))
        )
        tokens = name_tokens(name) if name else ()
        named_hash = _is_hash_name(tokens, self.lex)
        # A local named `digest` is no use yet; `password_hash = ...` or `user.password = ...` is.
        stored = not isinstance(target, cst.Name) and any(t in self.lex.password for t in tokens)
        if named_hash or stored:
            self._weak_used(value, f"is stored in `{name}`", named_hash=named_hash)
        if isinstance(target, cst.Name):
            if value.kind == OTHER and self.lex.sensitivity_of(tokens) == PASSWORD and not _is_constant(source):
                value = Val(PW, source, UNKNOWN)
            self.env[target.value] = value
            return
        if isinstance(target, cst.Attribute):
            owner = self.eval(target.value)
            field = target.attr.value
            if owner.kind == ORM and self._password_slot(field) and self._is_column(owner, field):
                model = (self.flow.class_qualname(owner.origin), field)
                self._store_value(source, value, _code(target), model, field)
            return
        holder = target.value if isinstance(target, cst.Subscript) else None
        if isinstance(holder, cst.Name) and value.kind == PW and self.lex.sensitivity_of(tokens) == PASSWORD:
            self.env[holder.value] = Val(DICT, source)  # doc["password"] = pw: doc now holds one

    def _is_column(self, owner: Val, name: str) -> bool:
        """A model field: declared on the in-file class, and not a private attribute (``self._password``)."""
        if name.startswith("_"):
            return False
        info = self.flow.classes.get(owner.origin)
        return info is None or not info.complete or name in info.fields

    def _weak_used(self, value: Val, where: str, *, named_hash: bool = False) -> None:
        """BL302: a fast digest of a password used as its hash — stored, returned by a hash
        function, or compared. A digest used otherwise (a breach-list lookup, a cache key) is fine."""
        if value.node is None or id(value.node) in self.flagged:
            return
        if value.kind == WEAK and (value.origin == PASSWORD or named_hash):
            self.flagged.add(id(value.node))
            call = value.node.func if isinstance(value.node, cst.Call) else value.node
            carried = self.weak_inputs.get(id(value.node))
            self.emit(
                Event(
                    "BL302",
                    value.node,
                    f"`{_code(call)}` is a fast digest, not a password hash (its result {where}): {_HASH_ADVICE}",
                    related=_related(carried) if carried is not None else (),
                )
            )
        elif value.kind == ENCODED:
            self.flagged.add(id(value.node))
            self.emit(
                Event("BL302", value.node, f"a password is encoded, not hashed (the result {where}); {_HASH_ADVICE}")
            )

    def _check_returned(self, expr: cst.BaseExpression, value: Val) -> None:
        """BL305 case 2: an endpoint returning a password."""
        if self.route is None:
            return
        for leaked in self._response_leaks(expr, value):
            self.emit(
                Event(
                    "BL305",
                    leaked,
                    f"the endpoint returns a password (`{_code(leaked)}`) to the client; leave it out of the response",
                )
            )

    def _response_leaks(self, expr: cst.BaseExpression, value: Val) -> Iterator[cst.CSTNode]:
        if isinstance(expr, cst.Call) and _call_name_tail(expr) in (
            "jsonify",
            "JsonResponse",
            "JSONResponse",
            "Response",
        ):
            for arg in expr.args:
                yield from self._response_leaks(arg.value, self.eval(arg.value))
            return
        if isinstance(expr, cst.Dict):
            for element in expr.elements:
                if isinstance(element, cst.DictElement):
                    key = _string(element.key)
                    if (
                        key is not None
                        and self.lex.sensitivity(key) == PASSWORD
                        and self.eval(element.value).kind == PW
                    ):
                        yield element
            return
        if value.kind == DICT and value.node is not None:
            yield expr
            return
        dumped = self._dumped_model(expr)
        if dumped is not None and dumped[1]:
            yield expr

    def _dumped_model(self, expr: cst.BaseExpression) -> tuple[str, list[str]] | None:
        """``user.__dict__``, ``vars(user)``, ``model_to_dict(user)``, ``user.to_dict()``: (class, password fields)."""
        target: cst.BaseExpression | None = None
        if isinstance(expr, cst.Attribute) and expr.attr.value == "__dict__":
            target = expr.value
        elif isinstance(expr, cst.Call):
            tail = _call_name_tail(expr)
            qualified = self.flow.qualified(expr.func) or ""
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
        value = self.eval(target)
        if value.kind not in (ORM, MODEL):
            return None
        info = self.flow.classes.get(value.origin)
        return value.origin, self.flow.has_password_field(info)

    # --- expressions --------------------------------------------------------------------------

    def eval(self, node: cst.BaseExpression) -> Val:
        if isinstance(node, cst.Name):
            return self._name(node)
        if isinstance(node, cst.Attribute):
            return self._attribute(node)
        if isinstance(node, cst.Subscript):
            return self._subscript(node)
        if isinstance(node, cst.Call):
            return self._call(node)
        if isinstance(node, cst.Await):
            return self.eval(node.expression)
        if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
            text = literal_text(node)
            return Val(STR, node, text) if text is not None else OTHER_VAL
        if isinstance(node, cst.FormattedString):
            return self._combine(
                node, [self.eval(p.expression) for p in node.parts if isinstance(p, cst.FormattedStringExpression)]
            )
        if isinstance(node, cst.BinaryOperation):
            left, right = self.eval(node.left), self.eval(node.right)
            if isinstance(node.operator, (cst.Add, cst.Modulo)):
                return self._combine(node, [left, right])
            return OTHER_VAL
        if isinstance(node, cst.Comparison):
            self._comparison(node)
            return OTHER_VAL
        if isinstance(node, cst.Dict):
            return self._dict(node)
        if isinstance(node, cst.Tuple):
            values = [self.eval(e.value) for e in node.elements]
            return next((v for v in values if v.kind == PW), OTHER_VAL)
        if isinstance(node, cst.IfExp):
            self.eval(node.test)
            body, orelse = self.eval(node.body), self.eval(node.orelse)
            return body if body.kind != OTHER else orelse
        if isinstance(node, cst.BooleanOperation):
            left, right = self.eval(node.left), self.eval(node.right)
            return left if left.kind != OTHER else right
        if isinstance(node, cst.NamedExpr):
            value = self.eval(node.value)
            self.bind(node.target, value, node.value)
            return value
        self._eval_children(node)
        return OTHER_VAL

    def _eval_children(self, node: cst.CSTNode) -> None:
        for child in _children(node):
            if isinstance(child, cst.BaseExpression):
                self.eval(child)
            elif not isinstance(child, (cst.BaseSuite, cst.Param, cst.Parameters)):
                self._eval_children(child)

    def _combine(self, node: cst.BaseExpression, parts: list[Val]) -> Val:
        for part in parts:
            if part.kind == PW:
                return Val(PW, part.node, part.origin, derived=True)
        return OTHER_VAL

    def _name(self, node: cst.Name) -> Val:
        value = self.env.get(node.value)
        if value is not None:
            return value
        if node.value in self.flow.strings:
            return Val(STR, node, self.flow.strings[node.value])
        if node.value in self.flow.instances:
            return Val(INSTANCE, node, self.flow.instances[node.value])
        if node.value in ("request", "req"):
            return Val(REQUEST, node)
        if self.lex.sensitivity(node.value) == PASSWORD:
            return Val(PW, node, UNKNOWN)
        return OTHER_VAL

    def _attribute(self, node: cst.Attribute) -> Val:
        base = self.eval(node.value)
        attr = node.attr.value
        if base.kind == REQUEST:
            role = self.k.sources.get((attr, False))
            if role is not None:
                return Val(DATA, node, role)
        if attr in self.k.any_sources:
            return Val(DATA, node, self.k.any_sources[attr])
        if base.kind == PW and attr in ("data", "value"):
            return base
        if self.lex.sensitivity(attr) == PASSWORD:
            return Val(PW, node, self._origin_of_field(node.value, base))
        return OTHER_VAL

    def _origin_of_field(self, owner: cst.BaseExpression, base: Val) -> str:
        """Is ``owner.password`` / ``owner["password"]`` what the user typed, or what was stored?"""
        if base.kind in (REQUEST, MODEL) or (base.kind == DATA and base.origin in ("body", "query")):
            return INPUT
        if base.kind in (ORM, DICT):
            return STORED
        root = owner
        while isinstance(root, (cst.Attribute, cst.Subscript, cst.Call)):
            root = root.func if isinstance(root, cst.Call) else root.value
        if not isinstance(root, cst.Name):
            return UNKNOWN
        name = root.value
        if name == "self":
            return STORED if self.owner is not None and self.owner.kind == "orm" else UNKNOWN
        if name in self.k.config_words:
            return STORED
        words = set(name_tokens(name))
        if words & self.k.input_words:
            return INPUT
        value = self.env.get(name)
        if value is None:
            return UNKNOWN if name in self.params else STORED  # a module-level store (fake_users_db)
        if value.kind == ORM or value.origin == "call":
            return STORED  # a local built by a lookup: a user record, a row
        if words & self.k.stored_words:
            return STORED
        return UNKNOWN

    def _subscript(self, node: cst.Subscript) -> Val:
        base = self.eval(node.value)
        for element in node.slice:
            if isinstance(element.slice, cst.Index):
                self.eval(element.slice.value)
            else:
                self._eval_children(element.slice)
        key = _string_key(node)
        if base.kind == PW and key is None:
            if _is_reversal(node):
                return Val(ENCODED, node)  # password[::-1]: "encoding as hashing"
            return base if not _is_slice(node) else OTHER_VAL
        if key is not None and self.lex.sensitivity(key) == PASSWORD:
            if base.kind == DATA and base.origin == "query":
                self.emit(Event("BL306", node, f"password read from the URL query (`{_code(node)}`): {_URL_ADVICE}"))
            return Val(PW, node, self._origin_of_field(node.value, base))
        return OTHER_VAL  # one field of the request data, not the whole body

    def _dict(self, node: cst.Dict) -> Val:
        result = OTHER_VAL
        for element in node.elements:
            if isinstance(element, cst.DictElement):
                self.eval(element.key)
                value = self.eval(element.value)
                key = _string(element.key)
                if key is not None and self.lex.sensitivity(key) == PASSWORD and value.kind == PW:
                    result = Val(DICT, element.value, "", value.derived)
            else:
                self.eval(element.value)
        return result

    # --- calls --------------------------------------------------------------------------------

    def call_name(self, call: cst.Call) -> str | None:
        func = call.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            local = self.env.get(func.value.value)
            if local is not None and local.kind == INSTANCE:
                return f"{local.origin}.{func.attr.value}"
        return self.flow.qualified(func)

    def _call(self, node: cst.Call) -> Val:
        func = node.func
        receiver = self.eval(func.value) if isinstance(func, cst.Attribute) else None
        args = [self.eval(a.value) for a in node.args]
        qualified = self.call_name(node)
        tail = _call_name_tail(node)
        if self.flow.logs.is_log_call(node) or self.flow.logs.is_output_call(node):
            self._check_log(node)
        hasher = self.k.hasher(qualified, tail)
        if hasher is not None:
            return self._hash_call(node, hasher, args)
        if qualified in ("hmac.compare_digest", "secrets.compare_digest") and len(args) == 2:
            self._compare(node, node.args[0].value, args[0], node.args[1].value, args[1])
            return OTHER_VAL
        if receiver is not None and receiver.kind == REQUEST:
            role = self.k.sources.get((tail, True))
            if role is not None:
                return Val(DATA, node, role)
        if receiver is not None and tail == "get" and node.args:
            key = _string(node.args[0].value)
            if key is not None and self.lex.sensitivity(key) == PASSWORD:
                if receiver.kind == DATA and receiver.origin == "query":
                    self.emit(
                        Event("BL306", node, f"password read from the URL query (`{_code(node)}`): {_URL_ADVICE}")
                    )
                assert isinstance(func, cst.Attribute)
                return Val(PW, node, self._origin_of_field(func.value, receiver))
        if receiver is not None and receiver.kind == PW and tail in _STRING_METHODS:
            return receiver
        if receiver is not None and receiver.kind in (WEAK, HASHED, ENCODED) and tail in _DIGEST_METHODS:
            return receiver
        if isinstance(func, cst.Name) and func.value in ("str", "bytes", "bytearray") and args:
            return args[0] if args[0].kind == PW else OTHER_VAL
        self._persisted(node, qualified, tail, receiver, args)
        if isinstance(func, cst.Name) and func.value in self.flow.functions:
            result = self._local_call(node, func.value, args)
            if result is not None:
                return result
        found = self.flow.orm_class(func)
        if found is not None:
            return Val(ORM, node, found[0])
        if tail in self.k.role("query") or qualified in self.k.role("query"):
            orm = self._mentioned_orm(node)
            if orm is not None:
                return Val(ORM, node, orm)
        if receiver is not None and receiver.kind == DATA and tail in ("copy", "dict", "to_dict"):
            return receiver
        if any(t in self.k.hashing_words for t in name_tokens(tail)):
            return Val(HASHED, node)
        if tail[:1].isupper() and any(a.kind == DATA and a.origin == "body" for a in args):
            return Val(DATA, node, "body")  # a form bound to the request data: LoginForm(request.POST)
        local = self.flow.classes.get(dotted_name(func) or "")
        if local is not None and local.kind == "pydantic":
            return Val(MODEL, node, local.name)
        if qualified is not None and qualified.rpartition(".")[2][:1].isupper():
            return Val(INSTANCE, node, qualified)
        return Val(OTHER, node, "call")

    def _hash_call(self, node: cst.Call, row: dict[str, Any], args: list[Val]) -> Val:
        kind = row["kind"]
        if "param" in row:
            self._check_cost(node, row)
        carried = next((a for a in args if a.kind == PW), None)
        if kind == "hash":
            return Val(HASHED, node)
        if kind == "weak":
            if carried is not None:
                self.weak_inputs[id(node)] = carried
            return Val(WEAK, node, PASSWORD if carried is not None else "")
        if kind == "encoding" and carried is not None:
            return Val(ENCODED, node)
        return OTHER_VAL

    def _check_cost(self, node: cst.Call, row: dict[str, Any]) -> None:
        value: cst.BaseExpression | None = None
        for index, arg in enumerate(node.args):
            if (arg.keyword is not None and arg.keyword.value == row["param"]) or (
                arg.keyword is None and index == row.get("position")
            ):
                value = arg.value
        if not isinstance(value, cst.Integer):
            return
        minimum = self.flow.context.options[row["option"]] if "option" in row else row.get("minimum", 0)
        if int(value.value.replace("_", ""), 0) < minimum:
            self.emit(
                Event(
                    "BL302",
                    value,
                    f"`{row['param']}={value.value}` is too low for `{row['name']}` (at least {minimum:,}): "
                    "a cheap hash lets stolen hashes be cracked quickly",
                    level="warning",
                )
            )

    def _local_call(self, node: cst.Call, name: str, args: list[Val]) -> Val | None:
        """One call level: a request password passed to a module function that stores or logs it."""
        function = self.flow.functions[name]
        params = _params(function)
        positional = [(i, a) for i, a in enumerate(node.args) if a.keyword is None and not a.star]
        for index, arg in positional:
            if index >= len(params) or args[index].kind != PW or args[index].derived:
                continue
            if self.lex.sensitivity(params[index].name.value) == PASSWORD:
                continue  # the callee is checked on its own: its parameter is a password by name
            for event in self.flow.summary(name, index):
                if event.rule_id in ("BL301", "BL302", "BL304"):
                    self.emit(
                        Event(
                            event.rule_id,
                            arg.value,
                            f"`{_code(arg.value)}` is passed to `{name}()`, where {event.message}",
                            event.level,
                            ((event.node, "here, inside the called function"),),
                            event.model,
                        )
                    )
        if any(t in self.k.hashing_words for t in name_tokens(name)):
            return Val(HASHED, node)
        return None

    def _mentioned_orm(self, node: cst.CSTNode) -> str | None:
        """The ORM class a query chain names (``db.query(User).filter(...).first()``)."""
        stack: list[cst.CSTNode] = [node]
        budget = 60
        while stack and budget:
            budget -= 1
            current = stack.pop()
            if isinstance(current, (cst.Name, cst.Attribute)):
                found = self.flow.orm_class(current)
                if found is not None:
                    return found[0]
            if isinstance(current, cst.Name):
                value = self.env.get(current.value)
                if value is not None and value.kind == ORM:
                    return value.origin
            stack.extend(_children(current))
        return None

    # --- BL301: persistence ---------------------------------------------------------------------

    def _persisted(
        self, node: cst.Call, qualified: str | None, tail: str, receiver: Val | None, args: list[Val]
    ) -> None:
        func = node.func
        keywords = [(a, v) for a, v in zip(node.args, args) if a.keyword is not None]
        orm = self.flow.orm_class(func)
        manager = _manager_model(func)
        model_create = (
            isinstance(func, cst.Attribute)
            and tail in self.k.role("create")
            and self.flow.orm_class(func.value) is not None
        )
        if orm is not None or (manager is not None and tail in self.k.role("create")) or model_create:
            sink = _code(func)
            model_node = func
            if manager is not None:
                model_node = manager
            elif orm is None and isinstance(func, cst.Attribute):  # Model.create(...)
                model_node = func.value
            model_name = self.flow.class_qualname(dotted_name(model_node) or "")
            fix = create_user_fix(node) if manager is not None and self._django_user(manager) else None
            for arg, value in keywords:
                assert arg.keyword is not None
                if self._password_slot(arg.keyword.value):
                    model = (model_name, arg.keyword.value)
                    sink_text = f"{sink}({arg.keyword.value}=...)"
                    self._store_value(arg.value, value, sink_text, model, arg.keyword.value, fix)
                if arg.keyword.value == "defaults" and value.kind == DICT and value.node is not None:
                    self._stored(value.node, value, f"{sink}(defaults=...)")
            if orm is not None:
                self._splat(node, orm)
            return
        if tail in self.k.role("values") and isinstance(func, cst.Attribute) and self._inserts_model(func.value):
            for arg, value in keywords:
                assert arg.keyword is not None
                if self._password_slot(arg.keyword.value):
                    self._store_value(
                        arg.value, value, f"{_code(func)}({arg.keyword.value}=...)", None, arg.keyword.value
                    )
            for arg, value in zip(node.args, args):
                if arg.keyword is None and value.kind == DICT and value.node is not None:
                    self._stored(value.node, value, _code(func))
            return
        if tail in self.k.role("sql-execute") and node.args:
            self._sql(node, args)
            return
        if tail in self.k.role("mongo-write") and isinstance(func, cst.Attribute):
            for arg, value in zip(node.args, args):
                for stored, source in self._documents(arg.value, value):
                    self._stored(stored, source, f"{_code(func)}(...)")

    def _password_slot(self, name: str) -> bool:
        """A column for a password or for its hash (``password``, ``hashed_password``)."""
        return self.lex.sensitivity(name) == PASSWORD or _is_hash_name(name_tokens(name), self.lex)

    def _django_user(self, manager: cst.BaseExpression) -> bool:
        """``User``, ``get_user_model()`` or a name bound to it: the manager has ``create_user``."""
        users = self.k.role("user-model")
        if isinstance(manager, cst.Call):
            return (self.flow.qualified(manager.func) or "") in users
        name = dotted_name(manager) or ""
        return self.flow.instances.get(name) in users or (self.flow.qualified(manager) or "") in users

    def _store_value(
        self,
        node: cst.CSTNode,
        value: Val,
        sink: str,
        model: tuple[str, str] | None = None,
        slot: str = "",
        fix: PendingFix | None = None,
    ) -> None:
        """A value written to a password column: plaintext is BL301; the password with a suffix in a
        hash column (``user.password + "notreallyhashed"``), an encoding or a fast digest is BL302."""
        if value.kind == PW and value.derived and _is_hash_name(name_tokens(slot), self.lex):
            self.emit(
                Event(
                    "BL302",
                    node,
                    f"`{_code(node)}` is stored as the password's hash by `{sink}`, but it is the password "
                    f"itself with text added; {_HASH_ADVICE}",
                    related=_related(value),
                )
            )
        elif value.kind == PW:
            self._stored(node, value, sink, model, fix)
        else:
            self._weak_used(value, f"is stored by `{sink}`", named_hash=True)

    def _stored(
        self,
        node: cst.CSTNode,
        value: Val,
        sink: str,
        model: tuple[str, str] | None = None,
        fix: PendingFix | None = None,
    ) -> None:
        self.emit(
            Event(
                "BL301",
                node,
                f"`{_code(node)}` is stored unhashed by `{sink}`: {_STORE_ADVICE}",
                related=_related(value),
                model=model,
                fix=fix,
            )
        )

    def _inserts_model(self, node: cst.BaseExpression) -> bool:
        """``insert(User)`` / ``update(User).where(...)``: a SQLAlchemy write statement on a model."""
        while isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            node = node.func.value
        if not isinstance(node, cst.Call):
            return False
        qualified = self.flow.qualified(node.func) or ""
        return qualified.rpartition(".")[2] in ("insert", "update") and qualified.startswith("sqlalchemy")

    def _splat(self, node: cst.Call, orm: tuple[str, ClassInfo | None]) -> None:
        """``User(**body.model_dump())`` where the body model has a password field and the model a column."""
        columns = self.flow.has_password_field(orm[1])
        if not columns:
            return
        overridden = {a.keyword.value for a in node.args if a.keyword is not None}
        for arg in node.args:
            if arg.star != "**":
                continue
            source = arg.value
            excluded: set[str] = set()
            if isinstance(source, cst.Call) and isinstance(source.func, cst.Attribute):
                if source.func.attr.value not in ("dict", "model_dump"):
                    continue
                for inner in source.args:
                    if inner.keyword is not None and inner.keyword.value == "exclude":
                        excluded |= _string_items(inner.value) | {k for k in _dict_keys(inner.value)}
                source = source.func.value
            value = self.eval(source)
            if value.kind != MODEL:
                continue
            fields = [f for f in self.flow.has_password_field(self.flow.classes.get(value.origin)) if f not in excluded]
            fields = [f for f in fields if f in columns and f not in overridden]
            if fields:
                self.emit(
                    Event(
                        "BL301",
                        arg,
                        f"`{_code(arg)}` copies the request's `{fields[0]}` into `{orm[0]}` unhashed: {_STORE_ADVICE}",
                    )
                )

    def _documents(self, expr: cst.BaseExpression, value: Val) -> Iterator[tuple[cst.CSTNode, Val]]:
        """Password values written by a Mongo call: dict literals, ``$set`` sub-documents, lists of
        them, and a document built earlier (reported at the call, the password's entry as related)."""
        if value.kind == DICT and value.node is not None and not isinstance(expr, cst.Dict):
            yield expr, value
            return
        if isinstance(expr, cst.Dict):
            for element in expr.elements:
                if not isinstance(element, cst.DictElement):
                    continue
                key = _string(element.key)
                inner = self.eval(element.value)
                if key is not None and self.lex.sensitivity(key) == PASSWORD and inner.kind == PW:
                    yield element.value, inner
                elif key is not None and key.startswith("$"):
                    yield from self._documents(element.value, inner)
        elif isinstance(expr, (cst.List, cst.Tuple)):
            for item in expr.elements:
                yield from self._documents(item.value, self.eval(item.value))

    def _sql(self, node: cst.Call, args: list[Val]) -> None:
        """An INSERT/UPDATE writing a password column from a plaintext password parameter."""
        sql = args[0].origin if args[0].kind == STR else None
        if sql is None or not _SQL_WRITE.match(sql):
            return
        slots = _sql_password_slots(sql, self.lex)
        if not slots:
            return
        params = node.args[1:]
        positional: list[tuple[cst.BaseExpression, Val]] = []
        named: dict[str, tuple[cst.BaseExpression, Val]] = {}
        if len(params) == 1 and isinstance(params[0].value, (cst.Tuple, cst.List)):
            positional = [(e.value, self.eval(e.value)) for e in params[0].value.elements]
        elif len(params) == 1 and isinstance(params[0].value, cst.Dict):
            for element in params[0].value.elements:
                key = _string(element.key) if isinstance(element, cst.DictElement) else None
                if key is not None:
                    named[key] = (element.value, self.eval(element.value))
        else:
            positional = [(p.value, v) for p, v in zip(params, args[1:]) if p.keyword is None]
            named = {p.keyword.value: (p.value, v) for p, v in zip(params, args[1:]) if p.keyword is not None}
        hits = []
        sink = f'{_code(node.func)}("{_short(sql)}")'
        for slot, column in slots:
            found = named.get(slot) if isinstance(slot, str) else (positional[slot] if slot < len(positional) else None)
            if found is not None:
                self._store_value(found[0], found[1], sink, None, column)
                hits.append(found)
        if not hits and any(isinstance(slot, int) and slot >= len(positional) for slot, _ in slots):
            for expr, value in positional:  # alignment failed: any plaintext password
                if value.kind == PW and not value.derived:
                    self._stored(expr, value, sink)
                    break

    # --- BL303: comparison ----------------------------------------------------------------------

    def _comparison(self, node: cst.Comparison) -> None:
        left = self.eval(node.left)
        for target in node.comparisons:
            right = self.eval(target.comparator)
            if isinstance(target.operator, (cst.Equal, cst.NotEqual)):
                self._compare(node, node.left, left, target.comparator, right)

    def _compare(self, node: cst.CSTNode, a: cst.BaseExpression, va: Val, b: cst.BaseExpression, vb: Val) -> None:
        for value in (va, vb):
            if value.kind == WEAK:
                self._weak_used(value, "is compared with a stored hash")
        if va.kind != PW or vb.kind != PW or va.derived or vb.derived:
            return
        if {va.origin, vb.origin} == {INPUT, STORED}:
            self.emit(
                Event(
                    "BL303",
                    node,
                    f"plaintext password comparison (`{_code(a)}` vs `{_code(b)}`): the stored password is kept in "
                    "clear and `==` leaks timing; store a slow hash and check it with its verify function "
                    "(pwd_context.verify, check_password_hash, bcrypt.checkpw)",
                )
            )

    # --- BL304: logging -------------------------------------------------------------------------

    def _check_log(self, node: cst.Call) -> None:
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value in (
                "exc_info",
                "stack_info",
                "stacklevel",
                "level",
                "file",
                "end",
                "sep",
                "flush",
            ):
                continue
            for expr, level, what in self._leaks(arg.value):
                self.emit(
                    Event(
                        "BL304",
                        expr,
                        f"{what} (`{_code(expr)}`) is written to the logs: log an identifier or a masked value instead",
                        level=level,
                    )
                )

    def _leaks(self, expr: cst.BaseExpression, depth: int = 0) -> Iterator[tuple[cst.BaseExpression, str | None, str]]:
        if depth > 6:
            return
        if isinstance(expr, cst.FormattedString):
            for part in expr.parts:
                if isinstance(part, cst.FormattedStringExpression):
                    yield from self._leaks(part.expression, depth + 1)
            return
        if isinstance(expr, cst.BinaryOperation):
            yield from self._leaks(expr.left, depth + 1)
            yield from self._leaks(expr.right, depth + 1)
            return
        if isinstance(expr, (cst.Tuple, cst.List, cst.Set)):
            for element in expr.elements:
                yield from self._leaks(element.value, depth + 1)
            return
        if isinstance(expr, cst.Dict):
            for entry in expr.elements:
                yield from self._leaks(entry.value, depth + 1)
            return
        if isinstance(expr, cst.Await):
            yield from self._leaks(expr.expression, depth + 1)
            return
        if isinstance(expr, cst.Call):
            tail = _call_name_tail(expr)
            if any(t in self.k.masking_words for t in name_tokens(tail)) or tail in self.k.masking_words:
                return
            if tail == "format" and isinstance(expr.func, cst.Attribute) and is_string(expr.func.value):
                for arg in expr.args:
                    yield from self._leaks(arg.value, depth + 1)
                return
            dumped = self._dumped_model(expr)
            if dumped is not None and dumped[1]:
                yield expr, "warning", f"`{dumped[0]}` with its password field"
                return
        if isinstance(expr, (cst.Name, cst.Attribute, cst.Subscript, cst.Call)):
            if isinstance(expr, cst.Subscript) and _is_slice(expr):
                for _inner, _level, what in self._leaks(expr.value, depth + 1):
                    yield expr, "note", f"part of {what}"
                    break
                return
            value = self.eval(expr)
            if value.kind == PW and not value.derived:
                yield expr, None, "a password"
            elif value.kind == DATA and value.origin in ("body", "headers", "cookies"):
                yield expr, "warning", f"the whole request {value.origin} (may carry credentials)"
            elif value.kind == DICT:
                yield expr, None, "a document holding a password"
            elif isinstance(expr, (cst.Name, cst.Attribute)):
                name = expr.value if isinstance(expr, cst.Name) else expr.attr.value
                if self.lex.sensitivity(name) == SECRET and value.kind not in (HASHED, WEAK):
                    yield expr, "warning", "a secret"
            elif isinstance(expr, cst.Subscript):
                key = _string_key(expr)
                if key is not None and self.lex.sensitivity(key) == SECRET:
                    yield expr, "warning", "a secret"

    # --- returns ------------------------------------------------------------------------------


def _related(value: Val) -> tuple[tuple[cst.CSTNode, str], ...]:
    if value.node is None:
        return ()
    return ((value.node, "the password comes from here"),)


def _is_constant(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.Name):
        return node.value in ("None", "True", "False")
    return isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.Integer, cst.Float, cst.FormattedString))


def _is_reversal(node: cst.Subscript) -> bool:
    element = node.slice[0].slice if len(node.slice) == 1 else None
    if not isinstance(element, cst.Slice) or element.lower is not None or element.upper is not None:
        return False
    step = element.step
    return isinstance(step, cst.UnaryOperation) and isinstance(step.operator, cst.Minus)


def _is_slice(node: cst.Subscript) -> bool:
    return any(isinstance(e.slice, cst.Slice) for e in node.slice)


def _string_key(node: cst.BaseExpression) -> str | None:
    if not isinstance(node, cst.Subscript) or len(node.slice) != 1:
        return None
    element = node.slice[0].slice
    return _string(element.value) if isinstance(element, cst.Index) else None


def _dict_keys(node: cst.BaseExpression) -> Iterator[str]:
    if isinstance(node, cst.Dict):
        for element in node.elements:
            if isinstance(element, cst.DictElement):
                key = _string(element.key)
                if key is not None:
                    yield key


def _unwrap_annotation(node: cst.BaseExpression) -> cst.BaseExpression:
    """``Annotated[User, Depends(...)]`` / ``Optional[User]`` → ``User``."""
    if isinstance(node, cst.Subscript) and node.slice and isinstance(node.slice[0].slice, cst.Index):
        head = (dotted_name(node.value) or "").rpartition(".")[2]
        if head in ("Annotated", "Optional"):
            return node.slice[0].slice.value
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
        return node.left if not (isinstance(node.left, cst.Name) and node.left.value == "None") else node.right
    return node


def _annotation_names(node: cst.BaseExpression) -> list[str]:
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
            stack.extend(_children(current))
    return out


def _fastapi_marker(default: cst.BaseExpression | None) -> str | None:
    if isinstance(default, cst.Call):
        tail = _call_name_tail(default)
        if tail in _FASTAPI_NOT_QUERY or tail == "Query":
            return tail
    return None


def _annotated_marker(annotation: cst.BaseExpression) -> str | None:
    if isinstance(annotation, cst.Subscript) and (dotted_name(annotation.value) or "").endswith("Annotated"):
        for element in annotation.slice[1:]:
            if isinstance(element.slice, cst.Index):
                marker = _fastapi_marker(element.slice.value)
                if marker is not None:
                    return marker
    return None


def _short(sql: str) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= 40 else text[:37] + "..."


def _sql_password_slots(sql: str, lex: Lexicon) -> list[tuple[int | str, str]]:
    """For each password (or password-hash) column an INSERT/UPDATE writes: (its positional parameter
    index or bind name, the column)."""
    pairs: list[tuple[str, str]] = []
    insert = _SQL_INSERT_HEAD.search(sql)
    if insert is not None:
        columns = [c.strip().strip('"`[]') for c in _split_top(insert.group("cols"))]
        values = _split_top(_parenthesized(sql, insert.end()))
        pairs = list(zip(columns, values))
    else:
        update = _SQL_SET.search(sql)
        if update is not None:
            for assignment in _split_top(update.group("body")):
                column, _, value = assignment.partition("=")
                pairs.append((column.strip().strip('"`[]').rpartition(".")[2], value))
    slots: list[tuple[int | str, str]] = []
    before = 0
    for column, value in pairs:
        marks = _PLACEHOLDER.findall(value)
        tokens = name_tokens(column)
        if (lex.sensitivity_of(tokens) == PASSWORD or _is_hash_name(tokens, lex)) and len(marks) == 1:
            mark = marks[0]
            if mark.startswith("$"):
                slots.append((int(mark[1:]) - 1, column))
            elif mark.startswith(":") or mark.startswith("%("):
                slots.append((mark.strip(":%()s") if mark.startswith("%(") else mark[1:], column))
            else:
                slots.append((before, column))
        before += len(marks)
    return slots


def _split_top(text: str) -> list[str]:
    """Split on commas outside parentheses: ``?, NOW(), ?`` → three values."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        depth += (char == "(") - (char == ")")
        current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts]


def _parenthesized(text: str, start: int) -> str:
    """The text inside the parentheses that open at or after ``start``."""
    opening = text.find("(", start)
    if opening < 0:
        return ""
    depth = 0
    for index in range(opening, len(text)):
        depth += (text[index] == "(") - (text[index] == ")")
        if depth == 0:
            return text[opening + 1 : index]
    return text[opening + 1 :]


_HASH_ADVICE = (
    "use a slow password hash (bcrypt, argon2 or scrypt via passlib/pwdlib, "
    "werkzeug's generate_password_hash, Django's make_password)"
)
_STORE_ADVICE = (
    "hash it with a slow password hash (bcrypt/argon2 via passlib or pwdlib, "
    "Django's set_password/create_user) and store only the hash"
)
_URL_ADVICE = "URLs end up in access logs, browser history and Referer headers; send the password in the request body"


def password_flow(context: FileContext, module: cst.Module) -> PasswordFlow:
    """The file's analysis, computed by the first BL3xx rule that asks and shared by the others."""
    flow = context.shared.get("passwords")
    if flow is None:
        flow = context.shared["passwords"] = PasswordFlow(context, module)
    return flow


def _password_triggers(knowledge: Knowledge, extra: Iterable[str] = ()) -> tuple[str, ...]:
    return name_triggers(knowledge, (PASSWORD,)) + tuple(extra)


class _PasswordRule(Rule):
    """Reports this rule's share of the file's ``PasswordFlow``; not a rule itself (no id)."""

    @classmethod
    def trigger_tokens(cls, knowledge: Knowledge) -> Iterable[str]:
        return _password_triggers(knowledge)

    def visit_Module(self, node: cst.Module) -> None:
        flow = password_flow(self.context, node)
        for event in flow.events.values():
            if event.rule_id == self.id:
                self.report(event.node, event.message, level=event.level, related=event.related, fix=event.fix)


class PasswordFacts(FactCollector):
    """Records BL301's candidate stores and every ORM class's setter fields for the project pass:
    a model imported from another module may hash in a property setter (``user.password = pw``)."""

    @classmethod
    def trigger_tokens(cls, knowledge: Any) -> Iterable[str]:
        return _password_triggers(knowledge)

    def visit_Module(self, node: cst.Module) -> None:
        if self.context.kind is not FileKind.PRODUCTION:
            return
        flow = password_flow(self.context, node)
        locate = self.context.locate
        for event in flow.events.values():
            if event.rule_id == "BL301":
                fix = lazy_fix(event.fix, steps_locator(node, self.context.path))
                self.context.add_fact(
                    STORES_FACT,
                    {
                        "span": locate(event.node),
                        "message": event.message,
                        "level": event.level,
                        "related": [(locate(n), m) for n, m in event.related],
                        "model": event.model,
                        "fix": fix,
                    },
                )
        for info in flow.classes.values():
            if info.kind == "orm" or info.setters:
                bases = [flow.qualified(b.value) or "" for b in info.node.bases]
                qualname = flow.class_qualname(info.name)
                self.context.add_fact(
                    SETTERS_FACT, {"class": qualname, "bases": bases, "setters": sorted(info.setters)}
                )


STORES_FACT = "password-stores"
SETTERS_FACT = "password-model-setters"


class PlaintextPasswordPersisted(ProjectRule):
    """A password stored unhashed: ORM constructor or attribute, Django ``objects.create``, SQL INSERT/UPDATE, Mongo.

    Judged over the project so that a model whose ``password`` is a hashing property, defined in
    another module, clears the stores that go through it.
    """

    id = "BL301"

    def check(self, modules: list[ModuleFacts]) -> list[ProjectFinding]:
        setters: dict[str, tuple[list[str], set[str]]] = {}
        by_name: dict[str, set[str]] = {}
        for module in modules:
            for fact in module.get(SETTERS_FACT):
                setters[fact["class"]] = (fact["bases"], set(fact["setters"]))
                by_name.setdefault(fact["class"].rpartition(".")[2], set()).update(fact["setters"])
        out = []
        for module in modules:
            for fact in module.get(STORES_FACT):
                model = fact["model"]
                if model is not None and _has_setter(model[0], model[1], setters, by_name):
                    continue
                related = [RelatedLocation(module.path, span, message) for span, message in fact["related"]]
                fix = fact["fix"].resolve() if fact.get("fix") is not None else None
                out.append(
                    ProjectFinding(self.id, module.path, fact["span"], fact["message"], fact["level"], related, fix)
                )
        return out


def _has_setter(
    cls: str, field: str, setters: dict[str, tuple[list[str], set[str]]], by_name: dict[str, set[str]]
) -> bool:
    """Does ``cls`` (or a base, or failing resolution any class of that name) set ``field`` through code?"""
    seen: set[str] = set()
    pending = [cls]
    while pending:
        current = pending.pop()
        if current in seen or len(seen) > 20:
            continue
        seen.add(current)
        if current in setters:
            bases, fields = setters[current]
            if field in fields:
                return True
            pending.extend(bases)
    if cls not in setters:
        return field in by_name.get(cls.rpartition(".")[2], set())
    return False


class WeakPasswordHash(_PasswordRule):
    """A password "hashed" with a fast digest, an encoding or a home-made helper, or with too low a cost."""

    id = "BL302"

    @classmethod
    def trigger_tokens(cls, knowledge: Knowledge) -> Iterable[str]:
        return _password_triggers(knowledge, ("pbkdf2_hmac", "gensalt"))


class PlaintextPasswordComparison(_PasswordRule):
    """A password from the request compared with ``==`` to a stored password."""

    id = "BL303"


class CredentialLogged(_PasswordRule):
    """A password, a secret or a whole request body written to the logs or the console."""

    id = "BL304"

    @classmethod
    def trigger_tokens(cls, knowledge: Knowledge) -> Iterable[str]:
        return ("log", "Log", "LOG", "print", "write", "capture_")


class PasswordInApiResponse(_PasswordRule):
    """An endpoint whose response carries a password: response model field, returned dict, DRF serializer."""

    id = "BL305"


class PasswordInUrlQuery(_PasswordRule):
    """A password read from the URL: query parameter, ``request.args``, route path template."""

    id = "BL306"
