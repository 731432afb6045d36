"""What a frame hashes: slow password hashes, fast digests, encodings, their configured cost, and
functions named like hashers that only build a string from the password."""

from __future__ import annotations

import dataclasses
from typing import Any

import libcst as cst

from backlint.analysis.passwords.facts import (
    COMPARED,
    RETURNED,
    DigestUsedAsHash,
    EncodedUsedAsHash,
    HashCost,
    NotAHash,
    SecretDigest,
)
from backlint.analysis.passwords.index import Interpreter
from backlint.analysis.passwords.legacy import Deferred
from backlint.analysis.passwords.values import (
    ENCODED,
    HASHED,
    OTHER_VAL,
    PW,
    SECRET_DATA,
    WEAK,
    Val,
    is_hash_name,
    string_value,
)
from backlint.analysis.strings import PASSWORD, name_tokens
from backlint.core.imports import dotted_name


class Hashing:
    """Hash calls of one frame, and where a fast digest or an encoding stands in for a hash."""

    def __init__(self, frame: Interpreter) -> None:
        self.frame = frame
        self.flagged: set[int] = set()  # fast-digest calls already recorded
        self.weak_inputs: dict[int, Val] = {}  # fast-digest call -> the password it digests
        # A digest only compared, or named like a hash, waits for the end of the function: one that
        # also hashes the password with a slow hash migrates a legacy hash (verify, then upgrade).
        self.pending: list[DigestUsedAsHash] = []
        self.upgrades = False
        # The function checks the password with a verify function (``ph.verify(stored, pw)``): a digest
        # it only compares may check a legacy hash (backlint/analysis/passwords/legacy.py).
        self.verifies = False

    def hash_call(self, node: cst.Call, row: dict[str, Any], args: list[Val]) -> Val:
        """The value of a call of the password-hashers table (``row``)."""
        kind = row["kind"]
        if "param" in row:
            self._cost(node, row, args)
        carried = next((a for a in args if a.kind == PW), None)
        if kind == "hash":
            self.upgrades = self.upgrades or carried is not None
            self.frame.index.slow_hashing = True
            return Val(HASHED, node)
        if kind == "weak":
            if carried is not None:
                self.weak_inputs[id(node)] = carried
            return Val(
                WEAK,
                node,
                PASSWORD if carried is not None else "",
                taint=SECRET_DATA if carried is not None or any(a.taint for a in args) else "",
                algorithm=self._algorithm(node, row.get("algorithm", "")),
                for_security=not any(
                    a.keyword is not None and a.keyword.value == "usedforsecurity" and dotted_name(a.value) == "False"
                    for a in node.args
                ),
            )
        if kind == "encoding" and carried is not None:
            return Val(ENCODED, node)
        return OTHER_VAL

    def updated(self, digest: Val, args: list[Val]) -> Val:
        """A hash object after ``h.update(data)``: it now carries what ``data`` carries."""
        carried = next((a for a in args if a.kind == PW), None)
        if carried is not None and digest.node is not None:
            self.weak_inputs.setdefault(id(digest.node), carried)
        secret = carried is not None or any(a.taint for a in args)
        return dataclasses.replace(
            digest,
            origin=PASSWORD if carried is not None else digest.origin,
            taint=SECRET_DATA if secret else digest.taint,
        )

    def digest_used(self, value: Val, use: str, place: str, name: str = "") -> None:
        """A digest persisted, sent or returned to the client: recorded when it digests secret data."""
        if value.kind == WEAK and value.taint and value.node is not None:
            self.frame.emit(SecretDigest(value.node, value.algorithm, value.for_security, use, place, name))

    @staticmethod
    def _algorithm(node: cst.Call, algorithm: str) -> str:
        """``md5`` for ``hashlib.new("md5")`` and ``hashes.Hash(hashes.MD5())``: the row's, or its first argument's."""
        if algorithm != "argument":
            return algorithm
        first = node.args[0].value if node.args and node.args[0].keyword is None else None
        named = string_value(first) if first is not None else None
        if named is None and isinstance(first, cst.Call):
            named = (dotted_name(first.func) or "").rpartition(".")[2]
        return (named or "").lower().replace("-", "").replace("_", "")

    def _cost(self, node: cst.Call, row: dict[str, Any], args: list[Val]) -> None:
        value: cst.BaseExpression | None = None
        for index, arg in enumerate(node.args):
            if (arg.keyword is not None and arg.keyword.value == row["param"]) or (
                arg.keyword is None and index == row.get("position")
            ):
                value = arg.value
        if not isinstance(value, cst.Integer):
            return
        cost = int(value.value.replace("_", ""), 0)
        minimum = row.get("minimum", 0)
        data = "password" if any(a.kind == PW for a in args) else ("secret" if any(a.taint for a in args) else "")
        self.frame.emit(HashCost(value, row["param"], value.value, cost, row["name"], minimum, row.get("option"), data))

    def weak_used(
        self, value: Val, use: str, place: str = "", *, named_hash: bool = False, local: bool = False
    ) -> None:
        """A fast digest of a password used as its hash — stored, returned by a hash function, or
        compared. A digest used otherwise (a breach-list lookup, a cache key) is fine. ``local``:
        bound to a local name, not stored yet."""
        if value.node is None or id(value.node) in self.flagged:
            return
        if value.kind == WEAK and (value.origin == PASSWORD or named_hash):
            self.flagged.add(id(value.node))
            carried = self.weak_inputs.get(id(value.node))
            source = carried.node if carried is not None else None
            fact = DigestUsedAsHash(value.node, use, place, source)
            if use in (COMPARED, RETURNED) or local:
                self.pending.append(fact)
            else:
                self.frame.emit(fact)
        elif value.kind == ENCODED:
            self.flagged.add(id(value.node))
            self.frame.emit(EncodedUsedAsHash(value.node, use, place))

    def finish(self) -> None:
        """A "hash" function that only builds a string from the password, or returns a fast digest;
        the digests only compared, named or returned wait for the end of the module (legacy.py),
        unless the function upgrades the password's hash."""
        function = self.frame.function
        tokens = name_tokens(function.name.value) if function is not None else ()
        if function is not None and any(t in self.frame.k.hashing_words or t == "encode" for t in tokens):
            name = function.name.value
            for _expr, value in self.frame.returns:
                self.weak_used(value, RETURNED, name, named_hash=is_hash_name(tokens, self.frame.lex))
            for expr, value in self.frame.returns:
                if not isinstance(value.node, cst.Param):
                    continue  # only the function's own password parameter makes it a fake hash
                if value.kind == PW and value.derived:
                    self.frame.emit(NotAHash(expr, name))
        for fact in self.pending:
            if self.upgrades and fact.use != RETURNED:
                continue  # verified, then hashed again with a slow hash: a legacy hash migrated
            if self.frame.record:
                self.frame.index.deferred.append(Deferred(fact, function, self.verifies or self.upgrades))
            else:
                self.frame.emit(fact)
        self.pending = []
