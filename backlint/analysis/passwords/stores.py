"""Where a frame writes passwords: ORM constructors, attributes and manager calls, SQLAlchemy
``insert``/``update`` values, SQL INSERT/UPDATE text with its parameters, and Mongo writes."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import libcst as cst

from backlint.analysis.passwords.classes import ClassInfo, manager_model
from backlint.analysis.passwords.facts import (
    PERSISTED,
    SENT,
    STORED_BY,
    CopiedIntoModel,
    InToken,
    LookedUp,
    Stored,
    TextAddedStoredAsHash,
)
from backlint.analysis.passwords.hashing import Hashing
from backlint.analysis.passwords.index import Interpreter
from backlint.analysis.passwords.sqltext import SQL_WRITE, is_password_column, short_sql, sql_table, sql_write_slots
from backlint.analysis.passwords.values import (
    DICT,
    INPUT,
    MODEL,
    OTHER_VAL,
    PW,
    STR,
    Val,
    code_text,
    dict_keys,
    is_hash_name,
    params_of,
    string_items,
    string_value,
)
from backlint.analysis.strings import PASSWORD, name_tokens
from backlint.core.imports import dotted_name


class Stores:
    """The writes of one frame that store a password (or its weak stand-in for a hash)."""

    def __init__(self, frame: Interpreter, hashing: Hashing) -> None:
        self.frame = frame
        self.hashing = hashing
        self.index = frame.index
        self.k = frame.k
        self.lex = frame.lex

    def persisted(
        self, node: cst.Call, qualified: str | None, tail: str, receiver: Val | None, args: list[Val]
    ) -> None:
        func = node.func
        keywords = [(a, v) for a, v in zip(node.args, args) if a.keyword is not None]
        orm = self.index.orm_class(func)
        manager = manager_model(func)
        model_create = (
            isinstance(func, cst.Attribute)
            and tail in self.k.role("create")
            and self.index.orm_class(func.value) is not None
        )
        if orm is not None or (manager is not None and tail in self.k.role("create")) or model_create:
            sink = code_text(func)
            model_node = func
            if manager is not None:
                model_node = manager
            elif orm is None and isinstance(func, cst.Attribute):  # Model.create(...)
                model_node = func.value
            model_name = self.index.class_qualname(dotted_name(model_node) or "")
            user_call = node if manager is not None and self._django_user(manager) else None
            around = {w for a, _ in keywords if a.keyword is not None for w in name_tokens(a.keyword.value)}
            around |= self.index.class_words((dotted_name(model_node) or "").rpartition(".")[2])
            for arg, value in keywords:
                assert arg.keyword is not None
                sink_text = f"{sink}({arg.keyword.value}=...)"
                if self.password_slot(arg.keyword.value, around):
                    model = (model_name, arg.keyword.value)
                    self.store_value(
                        arg.value, value, sink_text, model, arg.keyword.value, user_call, around, orm is not None
                    )
                else:
                    self.hashing.digest_used(value, PERSISTED, sink_text, arg.keyword.value)
                if arg.keyword.value == "defaults" and value.kind == DICT and value.node is not None:
                    self.stored(value.node, value, f"{sink}(defaults=...)")
            if orm is not None:
                self._splat(node, orm)
            return
        values = tail in self.k.role("values") and isinstance(func, cst.Attribute)
        written = self._inserts_model(func.value) if values and isinstance(func, cst.Attribute) else None
        if written is not None:
            model_name = self.index.class_qualname(dotted_name(written) or "")
            around = {w for a, _ in keywords if a.keyword is not None for w in name_tokens(a.keyword.value)}
            around |= self.index.class_words((dotted_name(written) or "").rpartition(".")[2])
            for arg, value in keywords:
                assert arg.keyword is not None
                sink_text = f"{code_text(func)}({arg.keyword.value}=...)"
                if self.password_slot(arg.keyword.value, around):
                    column = (model_name, arg.keyword.value) if model_name else None
                    self.store_value(arg.value, value, sink_text, column, arg.keyword.value, record=around)
                else:
                    self.hashing.digest_used(value, PERSISTED, sink_text, arg.keyword.value)
            for arg, value in zip(node.args, args):
                if arg.keyword is None and value.kind == DICT and value.node is not None:
                    keys = {w for key in dict_keys(arg.value) for w in name_tokens(key)}
                    field = next((k for k in dict_keys(arg.value) if self.lex.sensitivity(k) == PASSWORD), "password")
                    column = (model_name, field) if model_name else None
                    self.stored(value.node, value, code_text(func), column, record=frozenset(around | keys))
            return
        if tail in self.k.role("sql-execute") and node.args:
            if args[0].kind == PW and args[0].derived:
                self._sql_text(node, args[0])
            self._sql(node, args)
            return
        if tail in self.k.role("mongo-write") and isinstance(func, cst.Attribute):
            for arg, value in zip(node.args, args):
                for stored, source in self._documents(arg.value, value):
                    self.stored(stored, source, f"{code_text(func)}(...)")
                for key, digest in self._digests(arg.value, value):
                    self.hashing.digest_used(digest, PERSISTED, f"{code_text(func)}(...)", key)
            return
        if tail == "set_cookie" and len(args) > 1:
            value_arg = next((v for a, v in keywords if a.keyword is not None and a.keyword.value == "value"), None)
            cookie = string_value(node.args[0].value) or ""
            self.hashing.digest_used(value_arg or args[1], SENT, code_text(func), cookie)

    def lookups(self, node: cst.Call, qualified: str | None, tail: str, args: list[Val]) -> None:
        """A password from the request used as a lookup key of a query, or put in a token's payload."""
        func = node.func
        if tail in self.k.role("lookup"):
            for arg, value in zip(node.args, args):
                if value.kind != PW or value.derived or value.origin != INPUT:
                    continue
                if arg.keyword is not None and self.password_slot(arg.keyword.value):
                    self.frame.emit(LookedUp(arg.value, code_text(func)))
            for arg, value in zip(node.args, args):
                for stored, source in self._documents(arg.value, value) if arg.keyword is None else ():
                    if source.origin == INPUT:
                        self.frame.emit(LookedUp(stored, code_text(func)))
        if (qualified or "") in self.k.role("token-encode") and node.args:
            first = node.args[0].value
            for stored, _source in self._documents(first, args[0]):
                self.frame.emit(InToken(stored, code_text(func)))

    def _sql_text(self, node: cst.Call, text: Val) -> None:
        """SQL text built with a password in it: an INSERT/UPDATE stores it as written, a query compares it."""
        expr = node.args[0].value
        skeleton = _literal_skeleton(expr)
        if SQL_WRITE.match(skeleton):
            self.stored(expr, text, f"{code_text(node.func)}(...)")
        elif text.origin == INPUT and _SQL_READ.search(skeleton):
            self.frame.emit(LookedUp(expr, code_text(node.func)))

    def item_set(self, holder: cst.BaseExpression, key: str, value: Val) -> None:
        """``session[key] = value`` (persisted with the session) or ``response.headers[key] = value`` (sent)."""
        if isinstance(holder, cst.Attribute) and holder.attr.value == "headers":
            self.hashing.digest_used(value, SENT, f"{code_text(holder)}[...]", key)
        elif (isinstance(holder, cst.Attribute) and holder.attr.value == "session") or (
            self.index.qualified(holder) or ""
        ) in self.k.role("session"):
            self.hashing.digest_used(value, PERSISTED, f"{code_text(holder)}[...]", key)

    def _digests(self, expr: cst.BaseExpression, value: Val) -> Iterator[tuple[str, Val]]:
        """Digests written by a Mongo call: the values of dict literals (and ``$set`` sub-documents)."""
        if isinstance(expr, cst.Dict):
            for element in expr.elements:
                if isinstance(element, cst.DictElement):
                    key = string_value(element.key) or ""
                    if key.startswith("$"):
                        yield from self._digests(element.value, OTHER_VAL)
                    else:
                        yield key, self.frame.eval(element.value)

    def password_slot(self, name: str, around: Iterable[str] = ()) -> bool:
        """A column for a password or for its hash (``password``, ``hashed_password``); ``around``: the
        words of the other columns written or declared with it (``pwd`` beside ``cmd`` is no password)."""
        return self.frame.password_name(name, around) or is_hash_name(name_tokens(name), self.lex)

    def _django_user(self, manager: cst.BaseExpression) -> bool:
        """``User``, ``get_user_model()`` or a name bound to it: the manager has ``create_user``."""
        users = self.k.role("user-model")
        if isinstance(manager, cst.Call):
            return (self.index.qualified(manager.func) or "") in users
        name = dotted_name(manager) or ""
        return self.index.instances.get(name) in users or (self.index.qualified(manager) or "") in users

    def store_value(
        self,
        node: cst.CSTNode,
        value: Val,
        sink: str,
        model: tuple[str, str] | None = None,
        slot: str = "",
        user_call: cst.Call | None = None,
        record: Iterable[str] = (),
        constructor: bool = False,
    ) -> None:
        """A value written to a password column: plaintext, the password with a suffix in a hash column
        (``user.password + "notreallyhashed"``), an encoding or a fast digest."""
        if value.kind == PW and value.derived and is_hash_name(name_tokens(slot), self.lex):
            self.frame.emit(TextAddedStoredAsHash(node, sink, value.node))
        elif value.kind == PW:
            self.stored(node, value, sink, model, user_call, frozenset(record), constructor)
        else:
            self.hashing.weak_used(value, STORED_BY, sink, named_hash=True)

    def stored(
        self,
        node: cst.CSTNode,
        value: Val,
        sink: str,
        model: tuple[str, str] | None = None,
        user_call: cst.Call | None = None,
        record: frozenset[str] = frozenset(),
        constructor: bool = False,
    ) -> None:
        parameter = None
        function = self.frame.function
        if isinstance(value.node, cst.Param) and function is not None:
            params = params_of(function)
            index = next((i for i, p in enumerate(params) if p is value.node), -1)
            method = bool(params) and params[0].name.value in ("self", "cls")
            parameter = (function.name.value, value.node.name.value, index, method)
        attribute = isinstance(value.node, cst.Attribute)
        self.frame.emit(
            Stored(node, sink, value.node, model, user_call, value.origin, attribute, parameter, record, constructor)
        )

    def _inserts_model(self, node: cst.BaseExpression) -> cst.BaseExpression | None:
        """``User`` of ``insert(User)`` / ``update(User).where(...)``: a SQLAlchemy write statement on a model."""
        while isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            node = node.func.value
        if not isinstance(node, cst.Call):
            return None
        qualified = self.index.qualified(node.func) or ""
        if qualified.rpartition(".")[2] in ("insert", "update") and qualified.startswith("sqlalchemy"):
            return node.args[0].value if node.args else node
        return None

    def _splat(self, node: cst.Call, orm: tuple[str, ClassInfo | None]) -> None:
        """``User(**body.model_dump())`` where the body model has a password field and the model a column."""
        columns = self.index.has_password_field(orm[1])
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
                        excluded |= string_items(inner.value) | {k for k in dict_keys(inner.value)}
                source = source.func.value
            value = self.frame.eval(source)
            if value.kind != MODEL:
                continue
            fields = [
                f for f in self.index.has_password_field(self.index.classes.get(value.origin)) if f not in excluded
            ]
            fields = [f for f in fields if f in columns and f not in overridden]
            if fields:
                self.frame.emit(CopiedIntoModel(arg, fields[0], orm[0]))

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
                key = string_value(element.key)
                inner = self.frame.eval(element.value)
                if key is not None and self.lex.sensitivity(key) == PASSWORD and inner.kind == PW:
                    yield element.value, inner
                elif key is not None and key.startswith("$"):
                    yield from self._documents(element.value, inner)
        elif isinstance(expr, (cst.List, cst.Tuple)):
            for item in expr.elements:
                yield from self._documents(item.value, self.frame.eval(item.value))

    def _sql(self, node: cst.Call, args: list[Val]) -> None:
        """An INSERT/UPDATE writing a password column from a plaintext password parameter (or any
        column from a digest of secret data)."""
        sql = args[0].origin if args[0].kind == STR else None
        if sql is None or not SQL_WRITE.match(sql):
            return
        slots = sql_write_slots(sql)
        passwords = [(slot, column) for slot, column in slots if is_password_column(column, self.lex)]
        params = node.args[1:]
        positional: list[tuple[cst.BaseExpression, Val]] = []
        named: dict[str, tuple[cst.BaseExpression, Val]] = {}
        if len(params) == 1 and isinstance(params[0].value, (cst.Tuple, cst.List)):
            positional = [(e.value, self.frame.eval(e.value)) for e in params[0].value.elements]
        elif len(params) == 1 and isinstance(params[0].value, cst.Dict):
            for element in params[0].value.elements:
                key = string_value(element.key) if isinstance(element, cst.DictElement) else None
                if key is not None:
                    named[key] = (element.value, self.frame.eval(element.value))
        else:
            positional = [(p.value, v) for p, v in zip(params, args[1:]) if p.keyword is None]
            named = {p.keyword.value: (p.value, v) for p, v in zip(params, args[1:]) if p.keyword is not None}
        sink = f'{code_text(node.func)}("{short_sql(sql)}")'
        for slot, column in slots:
            found = named.get(slot) if isinstance(slot, str) else (positional[slot] if slot < len(positional) else None)
            if found is not None and (slot, column) not in passwords:
                self.hashing.digest_used(found[1], PERSISTED, sink, column)
        if not passwords or not self._account_record(sql, slots, passwords):
            return
        hits = []
        for slot, column in passwords:
            found = named.get(slot) if isinstance(slot, str) else (positional[slot] if slot < len(positional) else None)
            if found is not None:
                self.store_value(found[0], found[1], sink, None, column)
                hits.append(found)
        if not hits and any(isinstance(slot, int) and slot >= len(positional) for slot, _ in passwords):
            for expr, value in positional:  # alignment failed: any plaintext password
                if value.kind == PW and not value.derived:
                    self.stored(expr, value, sink)
                    break

    def _account_record(
        self, sql: str, slots: list[tuple[int | str, str]], passwords: list[tuple[int | str, str]]
    ) -> bool:
        """Does the statement write an account: its table or another column it writes names one
        (``users``, ``member``, ``email``, ``login``)? pyload's ``UPDATE packages SET name=?,folder=?,
        site=?,password=?,queue=?`` writes a download package's archive password, which the app must
        read back to extract the files: a secret kept for use, no one's login. A statement whose table
        is not read stays an account's."""
        table = sql_table(sql)
        if table is None:
            return True
        columns = [column for slot, column in slots if (slot, column) not in passwords]
        words = {w for name in (table, *columns) for w in name_tokens(name)}
        words |= {w[:-1] for w in words if w.endswith("s")}  # members -> member
        return bool(words & self.k.account_words)


_SQL_READ = re.compile(r"\b(?:SELECT|WHERE)\b", re.IGNORECASE)


def _literal_skeleton(expr: cst.BaseExpression) -> str:
    """The literal text of an f-string, a concatenation or a ``%``/``.format`` template, holes left out."""
    if isinstance(expr, cst.FormattedString):
        return "".join(p.value for p in expr.parts if isinstance(p, cst.FormattedStringText))
    if isinstance(expr, cst.BinaryOperation):
        return _literal_skeleton(expr.left) + " " + _literal_skeleton(expr.right)
    if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value == "format":
        return _literal_skeleton(expr.func.value)
    return string_value(expr) or ""
