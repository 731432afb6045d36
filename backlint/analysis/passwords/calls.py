"""What a call evaluates to inside a frame (backlint/analysis/passwords/frame.py): a hash, a request
field, a password read by key, a string method keeping its receiver's password, an ORM instance, a
form bound to the request data; and what the call does with the passwords passed to it (a log, a
comparison, a store, a lookup, a module function it flows into)."""

from __future__ import annotations

from typing import Protocol

import libcst as cst

from backlint.analysis.passwords.facts import (
    PASSES_CONSTANT,
    PASSES_HASH,
    PASSES_OTHER,
    PASSES_PLAINTEXT,
    QUERY_READ,
    CallSite,
    InUrl,
    PasswordFact,
    ThroughCall,
)
from backlint.analysis.passwords.hashing import Hashing
from backlint.analysis.passwords.index import Interpreter
from backlint.analysis.passwords.leaks import Leaks
from backlint.analysis.passwords.sources import Sources
from backlint.analysis.passwords.stores import Stores
from backlint.analysis.passwords.values import (
    DATA,
    ENCODED,
    HASHED,
    HEADER_DATA,
    INSTANCE,
    MODEL,
    ORM,
    OTHER,
    OTHER_VAL,
    PW,
    REQUEST,
    SECRET_DATA,
    STR,
    WEAK,
    Val,
    call_tail,
    is_constant,
    params_of,
    string_value,
)
from backlint.analysis.strings import PASSWORD, SECRET, name_tokens
from backlint.core.imports import dotted_name
from backlint.pipeline.walk import children

# Python's own string and digest methods: they keep what their receiver holds.
_DIGEST_METHODS = frozenset({"hexdigest", "digest", "finalize", "decode", "encode", "strip", "lower", "upper", "hex"})
_STRING_METHODS = frozenset(
    {"encode", "decode", "strip", "lstrip", "rstrip", "lower", "upper", "casefold", "replace", "get_secret_value"}
)


class Callees(Protocol):
    """What a call asks about the module function it calls, each answered by interpreting that function."""

    def summary(self, name: str, position: int) -> list[PasswordFact]:
        """The facts inside ``name`` when its ``position``-th parameter is a request password."""
        ...

    def returned_digest(self, name: str) -> Val | None:
        """The digest of secret data ``name`` returns, if any."""
        ...

    def returns_hash(self, name: str) -> bool:
        """Does ``name`` return a slow password hash on every path?"""
        ...


class Calls:
    """Answers what a call holds in one frame, and records what it does with the passwords passed to it.

    Its collaborators are explicit: the frame evaluates the receiver and arguments and holds the
    locals; sources, hashing, stores and leaks judge the call in their own terms; ``callees`` answers
    for module functions; ``record`` says whether call sites are recorded (not in a callee's summary).
    """

    def __init__(
        self,
        frame: Interpreter,
        sources: Sources,
        hashing: Hashing,
        stores: Stores,
        leaks: Leaks,
        callees: Callees,
        record: bool,
    ) -> None:
        self.frame = frame
        self.sources = sources
        self.hashing = hashing
        self.stores = stores
        self.leaks = leaks
        self.callees = callees
        self.record = record
        self.index = frame.index
        self.k = frame.k
        self.lex = frame.lex

    def call_name(self, call: cst.Call) -> str | None:
        """The called name, qualified (a method of a local instance by the instance's class)."""
        func = call.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            local = self.frame.env.get(func.value.value)
            if local is not None and local.kind == INSTANCE:
                return f"{local.origin}.{func.attr.value}"
        return self.index.qualified(func)

    def evaluate(self, node: cst.Call) -> Val:
        """What the call evaluates to, recording what it does with the passwords passed to it."""
        func = node.func
        receiver = self.frame.eval(func.value) if isinstance(func, cst.Attribute) else None
        args = [self.frame.eval(a.value) for a in node.args]
        qualified = self.call_name(node)
        tail = call_tail(node)
        if self.record and any(self._password_like(a.value, v) for a, v in zip(node.args, args)):
            self.index.call_sites.append(_call_site(node, args, qualified, tail))
        if self.index.logs.is_log_call(node) or (self.index.logs.is_output_call(node) and not self.index.cli):
            self.leaks.check_log(node)
        if tail in self.k.role("verify") and any(a.kind == PW for a in args):
            self.hashing.verifies = True  # ph.verify(stored, password): checked against a hash
        hasher = self.k.hasher(qualified, tail)
        if hasher is not None:
            return self.hashing.hash_call(node, hasher, args)
        if qualified in ("hmac.compare_digest", "secrets.compare_digest") and len(args) == 2:
            self.leaks.compare(node, node.args[0].value, args[0], node.args[1].value, args[1])
            return OTHER_VAL
        if receiver is not None and receiver.kind == REQUEST:
            role = self.k.sources.get((tail, True))
            if role is not None:
                return Val(DATA, node, role)
        if receiver is not None and tail == "get" and node.args:
            key = string_value(node.args[0].value)
            sensitivity = self.lex.sensitivity(key) if key is not None else None
            if sensitivity == PASSWORD:
                if receiver.kind == DATA and receiver.origin == "query":
                    self.frame.emit(InUrl(node, QUERY_READ))
                assert isinstance(func, cst.Attribute)
                return Val(PW, node, self.sources.origin_of_field(func.value, receiver))
            if sensitivity == SECRET:
                return Val(OTHER, node, taint=SECRET_DATA)
            if (
                receiver.kind == DATA
                and receiver.origin == "headers"
                and (key or "").lower() in self.k.credential_headers
            ):
                return Val(OTHER, node, taint=HEADER_DATA)
        if tail in self.k.session_methods and isinstance(func, cst.Attribute) and node.args:
            holder, first = dotted_name(func.value) or "", node.args[0].value
            if holder.rpartition(".")[2] == "session" and isinstance(first, cst.Name):
                self.frame.env[first.value] = Val(ORM, first, "")  # db.session.delete(token): token is a model instance
        if receiver is not None and (receiver.kind == PW or receiver.taint) and tail in _STRING_METHODS:
            return receiver
        if receiver is not None and receiver.kind == WEAK and tail == "update" and isinstance(func, cst.Attribute):
            if isinstance(func.value, cst.Name) and func.value.value in self.frame.env:
                self.frame.env[func.value.value] = self.hashing.updated(receiver, args)
            return OTHER_VAL
        if receiver is not None and receiver.kind in (WEAK, HASHED, ENCODED) and tail in _DIGEST_METHODS:
            return receiver
        if isinstance(func, cst.Name) and func.value in ("str", "bytes", "bytearray") and args:
            return args[0] if args[0].kind == PW or args[0].taint else OTHER_VAL
        if (
            receiver is not None
            and receiver.kind == STR
            and tail in ("join", "format")
            and any(a.kind == PW or a.taint for a in args)
        ):
            return Val(OTHER, node, "call", taint=SECRET_DATA)  # ":".join((user.id, secret_key))
        self.stores.persisted(node, qualified, tail, receiver, args)
        self.stores.lookups(node, qualified, tail, args)
        if isinstance(func, cst.Name) and func.value in self.index.functions:
            result = self._local_call(node, func.value, args)
            if result is not None:
                return result
            returned = self.callees.returned_digest(func.value)
            if returned is not None:
                return returned
            if self.callees.returns_hash(func.value):
                return Val(HASHED, node)
        found = self.index.orm_class(func)
        if found is not None:
            return Val(ORM, node, found[0])
        if tail in self.k.role("query") or qualified in self.k.role("query"):
            orm = self._mentioned_orm(node)
            if orm is not None:
                return Val(ORM, node, orm)
        looked_up = self._class_lookup(func, tail)
        if looked_up is not None:
            return Val(INSTANCE, node, looked_up)  # APIToken.find(db, token): a token row, not the token
        if receiver is not None and receiver.kind == DATA and tail in ("copy", "dict", "to_dict"):
            return receiver
        if any(t in self.k.hashing_words for t in name_tokens(tail)):
            return Val(HASHED, node)
        if tail[:1].isupper() and any(a.kind == DATA and a.origin == "body" for a in args):
            return Val(DATA, node, "body")  # a form bound to the request data: LoginForm(request.POST)
        local = self.index.classes.get(dotted_name(func) or "")
        if local is not None and local.kind == "pydantic":
            return Val(MODEL, node, local.name)
        if qualified is not None and qualified.rpartition(".")[2][:1].isupper():
            return Val(INSTANCE, node, qualified)
        return Val(OTHER, node, "call")

    def _password_like(self, expr: cst.BaseExpression, value: Val) -> bool:
        """A password, a hash of one, or a value named like either (``password=None``)."""
        if value.kind in (PW, HASHED):
            return True
        name = expr.value if isinstance(expr, cst.Name) else None
        return name is not None and self.stores.password_slot(name)

    def _local_call(self, node: cst.Call, name: str, args: list[Val]) -> Val | None:
        """One call level: a request password passed to a module function, and what happens to it there."""
        function = self.index.functions[name]
        params = params_of(function)
        positional = [(i, a) for i, a in enumerate(node.args) if a.keyword is None and not a.star]
        for index, arg in positional:
            if index >= len(params) or args[index].kind != PW or args[index].derived:
                continue
            if self.lex.sensitivity(params[index].name.value) == PASSWORD:
                continue  # the callee is checked on its own: its parameter is a password by name
            for fact in self.callees.summary(name, index):
                self.frame.emit(ThroughCall(arg.value, name, fact))
        if any(t in self.k.hashing_words for t in name_tokens(name)):
            return Val(HASHED, node)
        return None

    def _class_lookup(self, func: cst.BaseExpression, tail: str) -> str | None:
        """The class whose lookup method is called on it (``APIToken.find(db, token)``,
        ``Token.first()``): what it returns is an instance, named by the class."""
        lookups = self.k.role("query") | self.k.role("lookup")
        if not isinstance(func, cst.Attribute) or tail not in lookups or tail in ("get", "aget"):
            return None  # `Config.get("api_token")` may read a setting: only a lookup by its own name
        written = dotted_name(func.value) or ""
        if not written.rpartition(".")[2][:1].isupper():
            return None
        return self.index.qualified(func.value) or written

    def _mentioned_orm(self, node: cst.CSTNode) -> str | None:
        """The ORM class a query chain names (``db.query(User).filter(...).first()``)."""
        stack: list[cst.CSTNode] = [node]
        budget = 60
        while stack and budget:
            budget -= 1
            current = stack.pop()
            if isinstance(current, (cst.Name, cst.Attribute)):
                found = self.index.orm_class(current)
                if found is not None:
                    return found[0]
            if isinstance(current, cst.Name):
                value = self.frame.env.get(current.value)
                if value is not None and value.kind == ORM:
                    return value.origin
            stack.extend(children(current))
        return None


def _call_site(node: cst.Call, args: list[Val], qualified: str | None, tail: str) -> CallSite:
    passed = []
    position = 0
    for arg, value in zip(node.args, args):
        if arg.star:
            continue
        where = arg.keyword.value if arg.keyword is not None else str(position)
        position += arg.keyword is None
        passed.append((where, _passes(arg.value, value)))
    return CallSite(tail, qualified, tuple(passed))


def _passes(expr: cst.BaseExpression, value: Val) -> str:
    if value.kind == PW:
        return PASSES_PLAINTEXT
    if value.kind in (HASHED, WEAK):
        return PASSES_HASH
    while isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute):
        expr = expr.func.value  # "default".encode("utf-8")
    if is_constant(expr) or isinstance(expr, (cst.Integer, cst.Float)):
        return PASSES_CONSTANT
    return PASSES_OTHER
