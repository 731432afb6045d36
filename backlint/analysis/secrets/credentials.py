"""Credential literals (BL202's detector): a literal in a credential slot of the secret-sinks table
(driver ``password=``, ``jwt.encode`` key, Flask ``SECRET_KEY``) or bound to a secret-named target
(``DB_PASSWORD = "…"``), with its tier (strong, weak, placeholder)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import libcst as cst

from backlint.analysis.scopes import Scopes
from backlint.analysis.secrets.facts import NamedCredential, SecretFact, SinkCredential
from backlint.analysis.secrets.slots import (
    ClassRoles,
    LocalClasses,
    carries_input,
    field_default,
    is_config,
    second_item,
    string_value,
    subscript_key,
    target_name,
)
from backlint.analysis.strings import (
    credential_tier,
    is_password_hash,
    is_string,
    lexicon,
    name_tokens,
    secret_patterns,
    value_words,
)
from backlint.core.catalog import Knowledge
from backlint.core.rule import Analysis, FileContext


def sink_words(knowledge: Knowledge) -> tuple[str, ...]:
    """A sink's module must be imported to be called: its name is in the file."""
    return knowledge.derived(_sink_words)


def _sink_words(knowledge: Knowledge) -> tuple[str, ...]:
    rows = knowledge.rows("secret-sinks")
    return tuple(sorted({r["argument"] if r["call"] == "<config>" else r["call"].split(".")[0] for r in rows}))


def _index_sinks(knowledge: Knowledge) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for row in knowledge.rows("secret-sinks"):
        out.setdefault(row["call"], []).append(row)
    return out


class CredentialSlots(Analysis):
    """Every credential literal of the file in a slot, ``facts`` in walk order."""

    REQUIRES = (Scopes, LocalClasses, ClassRoles)

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        knowledge = context.knowledge
        self.lexicon = lexicon(knowledge)
        self.words = value_words(knowledge)
        self.patterns = secret_patterns(knowledge)
        self.local = context.get(LocalClasses)
        self.roles = context.get(ClassRoles)
        self.scopes = context.get(Scopes)
        self.sinks = knowledge.derived(_index_sinks)
        self.config_keys = {row["argument"]: row["what"] for row in self.sinks.get("<config>", [])}
        self.facts: list[SecretFact] = []

    # --- assignments --------------------------------------------------------------------------

    def visit_Assign(self, node: cst.Assign) -> None:
        value = string_value(node.value)
        if value is None or self.roles.body_role() in ("enum", "settings"):
            return
        for target in node.targets:
            if self._store(target.target, node.value, value):
                return

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        literal = field_default(node.value, self.context)
        value = string_value(literal)
        if value is None or literal is None or self.roles.body_role() in ("enum", "settings"):
            return
        self._store(node.target, literal, value)

    def _store(self, target: cst.BaseExpression, literal: cst.BaseExpression, value: str) -> bool:
        if isinstance(target, cst.Subscript) and is_config(target.value):
            key = subscript_key(target)
            if key in self.config_keys:
                return self._sink(literal, value, self.config_keys[key], f"config[{key!r}]")
        if isinstance(target, cst.Attribute):
            qualified = self.context.qualified_name(target)
            for row in self.sinks.get(qualified or "", []):
                if row.get("shape") == "attribute":
                    return self._sink(literal, value, row["what"], qualified or "")
        name = target_name(target)
        return name is not None and self._named(literal, value, name)

    # --- calls --------------------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        handled: set[str] = set()
        name = self.local.call_name(node)
        if name is not None:
            handled |= self._call_sinks(node, name, node.args)
            wrapped = self._middleware(node, name)
            if wrapped is not None:
                handled |= self._call_sinks(node, wrapped, node.args[1:])
            handled |= self._config_update(node)
        for arg in node.args:
            if arg.keyword is None or arg.keyword.value in handled:
                continue
            value = string_value(arg.value)
            if value is not None:
                self._named(arg.value, value, arg.keyword.value)

    def _config_update(self, node: cst.Call) -> set[str]:
        """``app.config.update(SECRET_KEY="…")`` / ``from_mapping(...)``."""
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in ("update", "from_mapping"):
            return set()
        if not is_config(func.value):
            return set()
        handled = set()
        for arg in node.args:
            value = string_value(arg.value)
            if arg.keyword is None or value is None or arg.keyword.value not in self.config_keys:
                continue
            key = arg.keyword.value
            self._sink(arg.value, value, self.config_keys[key], f"config.{func.attr.value}({key}=)")
            handled.add(key)
        return handled

    def _middleware(self, node: cst.Call, name: str) -> str | None:
        """``add_middleware(SessionMiddleware, secret_key=...)``: the wrapped class's name."""
        if not (name.endswith(".add_middleware") or name.endswith("Middleware")) or not node.args:
            return None
        first = node.args[0]
        if first.keyword is not None:
            return None
        return self.context.qualified_name(first.value)

    def _call_sinks(self, node: cst.Call, name: str, args: Iterable[cst.Arg]) -> set[str]:
        handled: set[str] = set()
        rows = self.sinks.get(name, [])
        if not rows:
            return handled
        positional = [a.value for a in args if a.keyword is None and not a.star]
        keywords = {a.keyword.value: a.value for a in args if a.keyword is not None}
        for row in rows:
            shape = row.get("shape", "value")
            if shape not in ("value", "auth-tuple"):
                continue
            argument = row["argument"]
            expr = keywords.get(argument)
            if expr is None and "position" in row and row["position"] < len(positional):
                expr = positional[row["position"]]
            if expr is None:
                continue
            handled.add(argument)
            slot = f"{name}({argument}=)"
            if shape == "auth-tuple":
                expr = second_item(expr)
                if expr is None:
                    continue
            value = string_value(expr)
            if value is not None:
                self._sink(expr, value, row["what"], slot, argument)
        return handled

    # --- other slots --------------------------------------------------------------------------

    def visit_DictElement(self, node: cst.DictElement) -> None:
        name = string_value(node.key)
        value = string_value(node.value)
        if name is not None and value is not None:
            self._named(node.value, value, name)

    def visit_Param(self, node: cst.Param) -> None:
        value = string_value(node.default)
        if value is not None and node.default is not None:
            self._named(node.default, value, node.name.value)

    def visit_Comparison(self, node: cst.Comparison) -> None:
        if len(node.comparisons) != 1 or not isinstance(node.comparisons[0].operator, (cst.Equal, cst.NotEqual)):
            return
        left, right = node.left, node.comparisons[0].comparator
        literal, other = (right, left) if is_string(right) else (left, right)
        value = string_value(literal)
        name = target_name(other)
        # A literal compared with configuration is a guard (refusing a placeholder, skipping a test
        # password); compared with what a caller or the request passes, it is a hardcoded credential.
        if value is not None and name is not None and carries_input(other, self.scopes, self.scopes.site_at(node)):
            self._named(literal, value, name, compared=True)

    # --- verdicts -----------------------------------------------------------------------------

    def _sink(self, node: cst.CSTNode, value: str, what: str, slot: str, name: str | None = None) -> bool:
        if self.patterns.recognizes(value, name) or is_password_hash(value.strip()):
            return True
        tier = credential_tier(value, (), self.words, sink=True, credential_like=True)
        if tier is None:
            return True
        self.facts.append(SinkCredential(node, value, tuple(self.context.ancestors), tier, what, slot))
        return True

    def _named(self, node: cst.CSTNode, value: str, name: str, compared: bool = False) -> bool:
        tokens = name_tokens(name)
        kind = self.lexicon.sensitivity_of(tokens)
        if kind is None or self.patterns.recognizes(value, name):
            return False
        credential_like = self.lexicon.is_credential_name(tokens)
        labels = self.lexicon.label_words(kind)
        tier = credential_tier(value, tokens, self.words, sink=False, credential_like=credential_like, labels=labels)
        if tier is None:
            return False
        client = self.lexicon.is_client((*tokens, *self.roles.class_words()))
        self.facts.append(
            NamedCredential(node, value, tuple(self.context.ancestors), tier, name, kind, compared, client)
        )
        return True
