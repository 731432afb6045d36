"""What the password flow knows about the module as a whole: its classes (ORM models, request
schemas, serializers), functions, module-level instances and string constants; and the facts found."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

import libcst as cst

from backlint.analysis.logging import LogCalls
from backlint.analysis.passwords.classes import (
    ClassInfo,
    calls_in,
    excluded_field,
    is_descriptor,
    setter_fields,
    validated_fields,
)
from backlint.analysis.passwords.facts import CallSite, PasswordFact
from backlint.analysis.passwords.legacy import Deferred
from backlint.analysis.passwords.tables import PasswordTables, password_tables
from backlint.analysis.passwords.values import Val, is_hash_name, model_module, string_value
from backlint.analysis.scopes import Scopes
from backlint.analysis.strings import PASSWORD, Lexicon, name_tokens
from backlint.core.imports import dotted_name
from backlint.core.rule import FileContext

# Annotations naming a string, not an object.
_SCALAR_TYPES = frozenset({"Optional", "Union", "SecretStr", "SecretBytes", "Annotated", "Any", "Literal"})


# ORM events fired when a model's fields are written (SQLAlchemy mapper and attribute events).
_WRITE_EVENTS = frozenset({"before_insert", "before_update", "set", "init"})


def _listeners(
    module: cst.Module, functions: dict[str, cst.FunctionDef]
) -> list[tuple[cst.BaseExpression, str, cst.FunctionDef]]:
    """(target, event, listener) of the module's ``listen(target, "event", fn)`` calls and
    ``@listens_for(target, "event")`` functions."""
    out = []
    for statement in module.body:
        if isinstance(statement, cst.FunctionDef):
            for decorator in statement.decorators:
                call = decorator.decorator
                if isinstance(call, cst.Call) and (dotted_name(call.func) or "").endswith("listens_for"):
                    args = [a.value for a in call.args if a.keyword is None]
                    event = string_value(args[1]) if len(args) >= 2 else None
                    if event is not None:
                        out.append((args[0], event, statement))
        elif isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                listen = small.value if isinstance(small, cst.Expr) else None
                if not isinstance(listen, cst.Call) or (dotted_name(listen.func) or "").rpartition(".")[2] != "listen":
                    continue
                args = [a.value for a in listen.args if a.keyword is None]
                if len(args) < 3:
                    continue
                event = string_value(args[1])
                function = functions.get(dotted_name(args[2]) or "")
                if event is not None and function is not None:
                    out.append((args[0], event, function))
    return out


def _is_number(node: cst.BaseExpression) -> bool:
    """A number literal, or arithmetic of them (``32``, ``(32 * 1024)``, ``-1``)."""
    if isinstance(node, (cst.Integer, cst.Float)):
        return True
    if isinstance(node, cst.UnaryOperation):
        return _is_number(node.expression)
    if isinstance(node, cst.BinaryOperation):
        return _is_number(node.left) and _is_number(node.right)
    return False


def _receiver_calls(call: cst.Call) -> Iterator[cst.Call]:
    """The call and the calls it is made on: ``hasher(pw)`` in ``hasher(pw).decode("utf-8")``."""
    node: cst.BaseExpression = call
    while isinstance(node, cst.Call):
        yield node
        func = node.func
        node = func.value if isinstance(func, cst.Attribute) else func


class ModuleIndex:
    """One file's module-level names and classes, and the flow's facts and per-function summaries."""

    def __init__(self, context: FileContext) -> None:
        self.context = context
        self.k = password_tables(context.knowledge)
        self.lex = self.k.lexicon
        self.module = cst.Module([])
        self.facts: list[PasswordFact] = []
        self.instances: dict[str, str] = {}  # module-level name -> qualified class/factory it was built by
        self.strings: dict[str, str] = {}  # module-level string constants (SQL kept in a variable)
        self.numbers: set[str] = set()  # module-level number constants (``COOKIE_SECRET_BYTES = 32``)
        self.classes: dict[str, ClassInfo] = {}
        self.functions: dict[str, cst.FunctionDef] = {}
        # (function, index of its password parameter) -> the facts inside it; None while computing.
        self.summaries: dict[tuple[str, int], list[PasswordFact] | None] = {}
        # Calls passing passwords or their hashes, for the callers of functions storing a parameter.
        self.call_sites: list[CallSite] = []
        # function -> the digest of secret data it returns, if any; None while computing.
        self.digests: dict[str, Val | None] = {}
        self.hashes: dict[str, bool] = {}  # module functions whose every return is a slow hash
        self.logs = LogCalls(context, self.instances.get)
        self.scopes: Scopes | None = None
        # The module hashes with a slow password hash somewhere (a "hash" row of password-hashers).
        self.slow_hashing = False
        # Fast digests used as a password's hash, judged when the module is done (passwords/legacy.py).
        self.deferred: list[Deferred] = []
        # The module imports a command-line framework: what it prints goes to its operator.
        self.cli = any(context.imports.imports_module(m) for m in self.k.cli_frameworks)

    def instance_kind(self, owner: str, attr: str) -> str | None:
        """The class of ``self.<attr>`` in methods of module class ``owner``, when its assignments say it
        is an object: annotated with a class (``self.token: PersonalToken = ...``) or built by one."""
        info = self.scopes.module_classes.get(owner) if self.scopes is not None else None
        if info is None:
            return None
        for binding in self.scopes.class_attribute(info, attr)[1] if self.scopes is not None else ():
            statement = binding.statement
            annotation = statement.annotation.annotation if isinstance(statement, cst.AnnAssign) else None
            for node in (annotation, binding.value):
                name = (dotted_name(node.func if isinstance(node, cst.Call) else node) or "") if node else ""
                last = name.rpartition(".")[2]
                if last[:1].isupper() and last not in _SCALAR_TYPES:
                    return name
        return None

    def class_words(self, name: str) -> set[str]:
        """The words of a module class's name and field names: the context of a name read on its instances."""
        info = self.classes.get(name)
        if info is None:
            return set(name_tokens(name))
        return {*name_tokens(name), *(w for field in info.fields for w in name_tokens(field))}

    def add(self, fact: PasswordFact) -> None:
        self.facts.append(fact)

    def index(self, module: cst.Module) -> None:
        """Module-level classes, functions, instances and string constants, before any flow."""
        self.module = module
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
        self._hashing_listeners(module)

    def _hashing_listeners(self, module: cst.Module) -> None:
        """A module class whose writes an ORM event listener hashes (``listen(User, "before_insert",
        hash_password)``, ``@event.listens_for(User.password, "set")``): its password fields are set
        through code, as with a property setter."""
        for target, event, function in _listeners(module, self.functions):
            if event not in _WRITE_EVENTS or not self._hashes(function):
                continue
            head, _, field = (dotted_name(target) or "").partition(".")
            info = self.classes.get(head)
            if info is None:
                continue
            info.setters |= {field} if field else {f for f in info.fields if self.lex.sensitivity(f) == PASSWORD}

    def _hashes(self, function: cst.FunctionDef) -> bool:
        """Does the listener hash: call a slow hasher, or a function or method named for hashing?"""
        return any(self._hashing_call(call) for call in calls_in(function))

    def _hashing_call(self, call: cst.Call) -> bool:
        """A call of a slow hasher, or of a function or method named for hashing."""
        func = call.func
        method = func.attr.value if isinstance(func, cst.Attribute) else dotted_name(func) or ""
        row = self.k.hasher(self.qualified(func), method)
        if row is not None and row["kind"] == "hash":
            return True
        return bool(set(name_tokens(method)) & (self.k.hashing_words | {"hash"}))

    def _index_assign(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if not isinstance(target, cst.Name):
            return
        if isinstance(value, cst.Call):
            qualified = self.qualified(value.func)
            if qualified is not None:
                self.instances[target.value] = qualified
        text = string_value(value)
        if text is not None:
            self.strings[target.value] = text
        if _is_number(value):
            self.numbers.add(target.value)

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
        init_hashed: set[str] = set()
        if isinstance(node.body, cst.IndentedBlock):
            for statement in node.body.body:
                if isinstance(statement, cst.FunctionDef):
                    setters |= setter_fields(statement) | self._hashing_hooks(statement, fields)
                    if statement.name.value == "__init__":
                        init_hashed |= self._constructor_hashes(statement)
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
                        if excluded_field(value):
                            excluded.add(target.value)
                        if is_descriptor(value):
                            setters.add(target.value)
        return ClassInfo(node.name.value, node, kind, fields, excluded, complete, setters, init_hashed)

    def _constructor_hashes(self, function: cst.FunctionDef) -> set[str]:
        """The fields ``__init__`` assigns a hash to (``self.password = bcrypt.generate_password_hash(
        password, rounds)``): a slow hasher of the table, or a function or method named for hashing."""
        hashed: set[str] = set()
        stack: list[cst.CSTNode] = [function.body]
        while stack:
            node = stack.pop()
            if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                continue
            if isinstance(node, (cst.Assign, cst.AnnAssign)) and isinstance(node.value, cst.Call):
                targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
                for target in targets:
                    if (
                        isinstance(target, cst.Attribute)
                        and dotted_name(target.value) == "self"
                        and any(self._hashing_call(c) for c in _receiver_calls(node.value))
                    ):
                        hashed.add(target.attr.value)
            stack.extend(node.children)
        return hashed

    def _hashing_hooks(self, function: cst.FunctionDef, fields: dict[str, cst.CSTNode]) -> set[str]:
        """Fields a model hashes itself: a pydantic validator of the field (``@field_validator("password")``)
        or a ``save()`` override that passes the field (``self.password``) to a slow hasher."""
        named = validated_fields(function)
        if function.name.value != "save" and not named:
            return set()
        hashed: set[str] = set()
        for call in calls_in(function):
            func = call.func
            method = func.attr.value if isinstance(func, cst.Attribute) else dotted_name(func) or ""
            row = self.k.hasher(self.qualified(func), method)
            if row is None or row["kind"] != "hash":
                continue
            if named:
                return named
            for arg in call.args:
                target = arg.value
                if isinstance(target, cst.Attribute) and dotted_name(target.value) == "self":
                    hashed.add(target.attr.value)
        return hashed & (set(fields) | {"password"})

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
        if module and last == "Base" and model_module(module):
            return "orm"
        head, _, last = written.rpartition(".")
        if last == "Model" and head.islower():  # Flask-SQLAlchemy's `db.Model`, whatever module made `db`
            return "orm"
        return None

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
        if module and last[:1].isupper() and model_module(module) and imported:
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
            if self.lex.sensitivity_of(tokens) == PASSWORD or (hashes and is_hash_name(tokens, self.lex)):
                out.append(name)
        return out


class Interpreter(Protocol):
    """What the parts of a frame (sources, hashing, stores, leaks, endpoint, calls) ask the frame they belong to."""

    index: ModuleIndex
    k: PasswordTables
    lex: Lexicon
    function: cst.FunctionDef | None
    owner: ClassInfo | None
    env: dict[str, Val]
    params: dict[str, cst.Param]
    returns: list[tuple[cst.BaseExpression, Val]]
    record: bool  # facts go to the index (not into a callee's summary)

    def eval(self, node: cst.BaseExpression) -> Val: ...

    def emit(self, fact: PasswordFact) -> None: ...

    def is_endpoint(self) -> bool: ...

    def handler_context(self) -> tuple[bool, bool]: ...

    def password_name(self, name: str, around: Iterable[str] = ()) -> bool: ...

    def holds_object(self, name: str) -> bool: ...
