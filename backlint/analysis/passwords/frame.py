"""The abstract interpretation of one function body (or of the module body): statements in order,
what each expression holds (``Val``), and the frame's parts that record where passwords end up."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import libcst as cst

from backlint.analysis.passwords.calls import Calls
from backlint.analysis.passwords.endpoint import Endpoint
from backlint.analysis.passwords.facts import (
    ASSIGNED,
    PERSISTED,
    QUERY_READ,
    InUrl,
    PasswordFact,
)
from backlint.analysis.passwords.hashing import Hashing
from backlint.analysis.passwords.index import ModuleIndex
from backlint.analysis.passwords.leaks import Leaks
from backlint.analysis.passwords.sources import Sources
from backlint.analysis.passwords.stores import Stores
from backlint.analysis.passwords.values import (
    DATA,
    DICT,
    ENCODED,
    HASHED,
    HEADER_DATA,
    INPUT,
    INSTANCE,
    NUMBER,
    ORM,
    OTHER,
    OTHER_VAL,
    PW,
    REQUEST,
    SECRET_DATA,
    STR,
    UNKNOWN,
    WEAK,
    Val,
    body_of,
    call_tail,
    code_text,
    is_constant,
    is_hash_name,
    is_reversal,
    is_slice,
    params_of,
    string_key,
    string_value,
)
from backlint.analysis.strings import PASSWORD, SECRET, literal_text, name_tokens
from backlint.pipeline.walk import children, scope_descendants

# What a string (or bytes) has: reading any other attribute of a value says it is an object.
_STRING_ATTRIBUTES = frozenset(a for a in (*dir(str), *dir(bytes)) if not a.startswith("_")) | {"data", "value"}


def summary(index: ModuleIndex, name: str, position: int) -> list[PasswordFact]:
    """Facts inside module function ``name`` when its ``position``-th parameter is a request password."""
    key = (name, position)
    if key not in index.summaries:
        index.summaries[key] = None  # recursion guard
        function = index.functions[name]
        params = params_of(function)
        frame = Frame(index, function, None, record=False)
        frame.seed_params()
        frame.env[params[position].name.value] = Val(PW, params[position], INPUT)
        frame.exec_block(body_of(function))
        frame.finish()
        index.summaries[key] = frame.collected
    return index.summaries[key] or []


class Frame:
    """The abstract interpretation of one function body (or of the module body)."""

    def __init__(
        self, index: ModuleIndex, function: cst.FunctionDef | None, owner: cst.ClassDef | None, record: bool = True
    ) -> None:
        self.index = index
        self.k = index.k
        self.lex = index.lex
        self.function = function
        self.owner = index.classes.get(owner.name.value) if owner is not None else None
        self.owner_node = owner
        self.env: dict[str, Val] = {}
        self.params: dict[str, cst.Param] = {}
        self.returns: list[tuple[cst.BaseExpression, Val]] = []
        self.record = record
        self.collected: list[PasswordFact] = []
        self._around: set[str] | None = None
        self._objects: set[str] | None = None
        self._password_field: bool | None = None
        # The frame's parts, each asking the frame to evaluate what it needs.
        self.sources = Sources(self)
        self.hashing = Hashing(self)
        self.stores = Stores(self, self.hashing)
        self.leaks = Leaks(self, self.hashing, self.sources)
        self.endpoint = Endpoint(self, self.sources, self.hashing)
        self.calls = Calls(self, self.sources, self.hashing, self.stores, self.leaks, ModuleCallees(index), record)

    def emit(self, fact: PasswordFact) -> None:
        if self.record:
            self.index.add(fact)
        else:
            self.collected.append(fact)

    def is_endpoint(self) -> bool:
        return self.endpoint.route is not None

    def handler_context(self) -> tuple[bool, bool]:
        """Is this function one endpoint's handler (a route, a view class's handler method), and do its
        names — function, class, module, route path — speak of credentials?"""
        function = self.function
        if function is None:
            return False, False
        handler = self.is_endpoint()
        owner = self.owner_node
        if not handler and owner is not None:
            views = self.k.view_handlers
            handler = any(
                function.name.value in views.get(self.index.qualified(b.value) or "", ()) for b in owner.bases
            )
        names = [
            function.name.value,
            owner.name.value if owner is not None else "",
            *self.index.context.module_name.split("."),
        ]
        call = self.endpoint.route_call
        if call is not None and call.args:
            names.append(string_value(call.args[0].value) or "")
        words = {w for name in names for w in name_tokens(name)}
        if self._password_field is None:
            self._password_field = reads_password_field(self)
        return handler, bool(words & self.k.credential_context) or self._password_field

    def password_name(self, name: str, around: Iterable[str] = ()) -> bool:
        """Is ``name`` a password's name here? Not when its only password word has another sense that the
        names around it speak of (``pwd`` beside ``cmd``/``env``: a working directory): ``around`` (a
        call's other keywords, a model's fields) and the frame's own (its parameters, its class's fields)."""
        tokens = name_tokens(name)
        if self.lex.sensitivity_of(tokens) != PASSWORD:
            return False
        if not any(t in self.lex.homonyms for t in tokens):
            return True
        return not self.lex.other_sense(tokens, {*around, *self._frame_words()})

    def holds_object(self, name: str) -> bool:
        """Does the function read or write a data attribute of local ``name`` (``token.expires_at``,
        ``orm_token.user``)? Then it holds an object, not a string: its str() is its class's."""
        if self._objects is None:
            self._objects = set()
            if self.function is not None:
                for node in scope_descendants(self.function):
                    if (
                        type(node) is cst.Attribute
                        and type(node.value) is cst.Name
                        and node.attr.value not in _STRING_ATTRIBUTES
                    ):
                        self._objects.add(node.value.value)
        return name in self._objects

    def _frame_words(self) -> set[str]:
        if self._around is None:
            words: set[str] = set()
            if self.function is not None:
                words |= {w for p in params_of(self.function) for w in name_tokens(p.name.value)}
            if self.owner is not None:
                words |= self.index.class_words(self.owner.name)
            self._around = words
        return self._around

    def seed_params(self) -> None:
        assert self.function is not None
        self.endpoint.route = self.endpoint.route_framework()
        for param in params_of(self.function):
            name = param.name.value
            self.params[name] = param
            self.env[name] = self.sources.param_value(param)

    def finish(self) -> None:
        """At the end of the function: is it a "hash" function that only builds a string from the password?"""
        self.hashing.finish()

    # --- statements ---------------------------------------------------------------------------

    def exec_block(self, body: Sequence[cst.CSTNode]) -> None:
        for statement in body:
            self.exec_statement(statement)

    def exec_statement(self, statement: cst.CSTNode) -> None:
        if type(statement) is cst.FunctionDef or type(statement) is cst.ClassDef:  # isinstance(): 10x slower
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
            self.index.context.imports.add(small)
        elif isinstance(small, cst.Return):
            if small.value is not None:
                value = self.eval(small.value)
                self.returns.append((small.value, value))
                self.endpoint.check_returned(small.value, value)
        else:
            for child in children(small):
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
            else (target.attr.value if isinstance(target, cst.Attribute) else string_key(target))
        )
        tokens = name_tokens(name) if name else ()
        named_hash = is_hash_name(tokens, self.lex)
        # A local named `digest` is no use yet; `password_hash = ...` or `user.password = ...` is.
        stored = not isinstance(target, cst.Name) and any(t in self.lex.password for t in tokens)
        if (named_hash or stored) and not callers_dict(self.function, self.params, target):
            self.hashing.weak_used(
                value, ASSIGNED, name or "", named_hash=named_hash, local=isinstance(target, cst.Name)
            )
        if isinstance(target, cst.Name):
            if value.kind == OTHER and self.password_name(name or "") and not is_constant(source):
                value = Val(PW, source, UNKNOWN)
            self.env[target.value] = value
            return
        if isinstance(target, cst.Attribute):
            owner = self.eval(target.value)
            field = target.attr.value
            around = self.index.class_words(owner.origin) if owner.kind == ORM else ()
            if owner.kind == ORM and self.stores.password_slot(field, around) and self._is_column(owner, field):
                model = (self.index.class_qualname(owner.origin), field)
                self.stores.store_value(source, value, code_text(target), model, field, record=around)
            elif owner.kind == ORM and self._is_column(owner, field):
                self.hashing.digest_used(value, PERSISTED, code_text(target), field)
            return
        holder = target.value if isinstance(target, cst.Subscript) else None
        if holder is not None:
            self.stores.item_set(holder, name or "", value)
        if isinstance(holder, cst.Name) and value.kind == PW and self.lex.sensitivity_of(tokens) == PASSWORD:
            self.env[holder.value] = Val(DICT, source, value.origin)  # doc["password"] = pw: doc now holds one

    def _is_column(self, owner: Val, name: str) -> bool:
        """A model field: declared on the in-file class, and not a private attribute (``self._password``)."""
        if name.startswith("_"):
            return False
        info = self.index.classes.get(owner.origin)
        return info is None or not info.complete or name in info.fields

    # --- expressions --------------------------------------------------------------------------

    def eval(self, node: cst.BaseExpression) -> Val:
        # The commonest first, by type(): a failing isinstance() against a libcst class costs ~0.4 µs
        # (ABCMeta's Python-level __instancecheck__); these classes have no subclasses.
        if type(node) is cst.Name:
            return self._name(node)
        if type(node) is cst.Attribute:
            return self._attribute(node)
        if type(node) is cst.Subscript:
            return self._subscript(node)
        if type(node) is cst.Call:
            return self.calls.evaluate(node)
        if type(node) is cst.Await:
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
            self.leaks.comparison(node)
            return OTHER_VAL
        if isinstance(node, cst.Dict):
            return self._dict(node)
        if isinstance(node, cst.Tuple):
            values = [self.eval(e.value) for e in node.elements]
            return next((v for v in values if v.kind == PW), None) or next((v for v in values if v.taint), OTHER_VAL)
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
        for child in children(node):
            if isinstance(child, cst.BaseExpression):
                self.eval(child)
            elif not isinstance(child, (cst.BaseSuite, cst.Param, cst.Parameters)):
                self._eval_children(child)

    def _combine(self, node: cst.BaseExpression, parts: list[Val]) -> Val:
        for part in parts:
            if part.kind == PW:
                return Val(PW, part.node, part.origin, derived=True)
        if any(part.kind == HASHED for part in parts):
            return Val(HASHED, node)  # salt + dk.hex(): a hash record, the salt beside the derived key
        return _carried(node, parts)

    def _name(self, node: cst.Name) -> Val:
        value = self.env.get(node.value)
        if value is not None:
            return value
        if node.value in self.index.strings:
            return Val(STR, node, self.index.strings[node.value])
        if node.value in self.index.numbers:
            return Val(NUMBER, node)
        if node.value in self.index.instances:
            return Val(INSTANCE, node, self.index.instances[node.value])
        if node.value in ("request", "req"):
            return Val(REQUEST, node)
        sensitivity = self.lex.sensitivity(node.value)
        if sensitivity == PASSWORD and self.password_name(node.value):
            return Val(PW, node, UNKNOWN)
        return Val(OTHER, node, taint=SECRET_DATA) if sensitivity == SECRET else OTHER_VAL

    def _attribute(self, node: cst.Attribute) -> Val:
        base = self.eval(node.value)
        attr = node.attr.value
        if base.kind == REQUEST:
            role = self.k.sources.get((attr, False))
            if role == "credential-header":
                return Val(OTHER, node, taint=HEADER_DATA)  # request.authorization: the parsed Authorization header
            if role is not None:
                return Val(DATA, node, role)
        if attr in self.k.any_sources:
            return Val(DATA, node, self.k.any_sources[attr])
        if base.kind == PW and attr in ("data", "value"):
            return base
        sensitivity = self.lex.sensitivity(attr)
        around = self.index.class_words(base.origin) if base.kind == ORM else ()
        if sensitivity == PASSWORD and self.password_name(attr, around):
            return Val(PW, node, self.sources.origin_of_field(node.value, base))
        if (
            sensitivity == SECRET
            and isinstance(node.value, cst.Name)
            and node.value.value == "self"
            and self.owner_node
        ):
            held = self.index.instance_kind(self.owner_node.name.value, attr)
            if held is not None:
                return Val(INSTANCE, node, held)  # self.token: PersonalToken = ...: an object, no secret string
        return Val(OTHER, node, taint=SECRET_DATA) if sensitivity == SECRET else OTHER_VAL

    def _subscript(self, node: cst.Subscript) -> Val:
        base = self.eval(node.value)
        for element in node.slice:
            if isinstance(element.slice, cst.Index):
                self.eval(element.slice.value)
            else:
                self._eval_children(element.slice)
        key = string_key(node)
        if base.kind == PW and key is None:
            if is_reversal(node):
                return Val(ENCODED, node)  # password[::-1]: "encoding as hashing"
            return base if not is_slice(node) else OTHER_VAL
        sensitivity = self.lex.sensitivity(key) if key is not None else None
        if sensitivity == PASSWORD:
            if base.kind == DATA and base.origin == "query":
                self.emit(InUrl(node, QUERY_READ))
            return Val(PW, node, self.sources.origin_of_field(node.value, base))
        if base.kind == DATA and base.origin == "headers" and (key or "").lower() in self.k.credential_headers:
            return Val(OTHER, node, taint=HEADER_DATA)
        # One field of the request data, not the whole body.
        return Val(OTHER, node, taint=SECRET_DATA) if sensitivity == SECRET else OTHER_VAL

    def _dict(self, node: cst.Dict) -> Val:
        result = OTHER_VAL
        for element in node.elements:
            if isinstance(element, cst.DictElement):
                self.eval(element.key)
                value = self.eval(element.value)
                key = string_value(element.key)
                if key is not None and self.lex.sensitivity(key) == PASSWORD and value.kind == PW:
                    result = Val(DICT, element.value, value.origin, value.derived)
            else:
                self.eval(element.value)
        return result


def reads_password_field(frame: Frame) -> bool:
    """Does the frame's function read a password field (``request.form.get("new_password")``,
    ``data["password"]``, ``form.password.data``)? Then the body it logs whole carries one."""
    if frame.function is None:
        return False
    for node in scope_descendants(frame.function):
        if type(node) is cst.Subscript:
            key = string_key(node)
        elif type(node) is cst.Call and call_tail(node) == "get" and node.args:
            key = string_value(node.args[0].value)
        elif type(node) is cst.Attribute:
            key = node.attr.value
        else:
            continue
        if key is not None and frame.password_name(key):
            return True
    return False


def callers_dict(function: cst.FunctionDef | None, params: dict[str, cst.Param], target: cst.BaseExpression) -> bool:
    """``data["pwd"] = md5(password)`` on a parameter dict the function neither passes on whole nor
    returns (pyload's account plugins: ``signin(self, user, password, data)`` puts the digest a remote
    login API asks for into the caller's account data): nothing here stores it. A dict passed whole
    (``db.users.insert_one(data)``) or returned stays a store."""
    if not isinstance(target, cst.Subscript) or not isinstance(target.value, cst.Name):
        return False
    name = target.value.value
    if name not in params or name in ("self", "cls") or function is None:
        return False
    for node in scope_descendants(function):
        if type(node) is cst.Arg and type(node.value) is cst.Name and node.value.value == name:
            return False
        if type(node) is cst.Return and type(node.value) is cst.Name and node.value.value == name:
            return False
    return True


def _carried(node: cst.BaseExpression, parts: list[Val]) -> Val:
    """A string built from ``parts`` (none a password alone): it carries secret data if one part does."""
    if any(p.kind == PW or p.taint for p in parts):
        return Val(OTHER, node, taint=SECRET_DATA)
    return OTHER_VAL


def returned_digest(index: ModuleIndex, name: str) -> Val | None:
    """The digest of secret data module function ``name`` returns (``return md5(secret).hexdigest()``),
    if any: a caller storing the result stores it."""
    if name not in index.digests:
        index.digests[name] = None  # recursion guard
        function = index.functions[name]
        if _mentions_digest(function, index):
            frame = Frame(index, function, None, record=False)
            frame.seed_params()
            frame.exec_block(body_of(function))
            index.digests[name] = next((v for _, v in frame.returns if v.kind == WEAK and v.taint), None)
    return index.digests[name]


def returns_hash(index: ModuleIndex, name: str) -> bool:
    """Does module function ``name`` return a slow hash on every path (pyload's ``_salted_password``:
    ``return salt + kdf.derive(password.encode()).hex()`` with ``PBKDF2HMAC``)? Then its value is a
    hash whatever its name says, and a caller storing it stores a hash."""
    if name not in index.hashes:
        index.hashes[name] = False  # recursion guard
        function = index.functions[name]
        tails = index.k.hash_tails
        if any(isinstance(node, cst.Call) and call_tail(node) in tails for node in scope_descendants(function)):
            frame = Frame(index, function, None, record=False)
            frame.seed_params()
            frame.exec_block(body_of(function))
            index.hashes[name] = bool(frame.returns) and all(v.kind == HASHED for _, v in frame.returns)
    return index.hashes[name]


class ModuleCallees:
    """Answers, for the calls of a frame, what a module function does with a request password passed to
    it and which digest it returns: each worked out once per file (cached on the index)."""

    def __init__(self, index: ModuleIndex) -> None:
        self.index = index

    def summary(self, name: str, position: int) -> list[PasswordFact]:
        return summary(self.index, name, position)

    def returned_digest(self, name: str) -> Val | None:
        return returned_digest(self.index, name)

    def returns_hash(self, name: str) -> bool:
        return returns_hash(self.index, name)


def _mentions_digest(function: cst.FunctionDef, index: ModuleIndex) -> bool:
    """Does the function call a digest of the password-hashers table (by the called name's last part)?"""
    tails = index.k.digest_tails
    return any(isinstance(node, cst.Call) and call_tail(node) in tails for node in scope_descendants(function))
