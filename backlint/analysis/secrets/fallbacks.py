"""Secrets read from the environment or a settings class with a hardcoded fallback (BL204's detector):
``os.getenv("SECRET_KEY", "dev")``, ``os.environ.get("K") or "dev"``, ``secret_key: str = "dev"``."""

from __future__ import annotations

import libcst as cst

from backlint.analysis.secrets.facts import FIX_ENV_DEFAULT, FIX_ENV_OR, FIX_SETTINGS_DEFAULT, EnvFallback
from backlint.analysis.secrets.slots import (
    ClassRoles,
    LocalClasses,
    env_lookup,
    field_default,
    string_value,
    target_name,
    unwrap_await,
)
from backlint.analysis.strings import (
    credential_tier,
    credential_url,
    lexicon,
    name_tokens,
    secret_patterns,
    value_words,
)
from backlint.core.catalog import Knowledge
from backlint.core.rule import Analysis, FileContext

# An environment variable named ``*_TOKEN`` or ``*_DSN`` is a configured credential, even if a
# variable named ``token`` in code is not necessarily one.
_CONFIGURED_CREDENTIAL_TAILS = frozenset({"token", "tokens", "dsn", "credentials", "creds", "key"})


def fallback_triggers(knowledge: Knowledge) -> tuple[str, ...]:
    """Words without which no environment lookup and no settings class occurs in a file."""
    return knowledge.derived(_fallback_triggers)


def _fallback_triggers(knowledge: Knowledge) -> tuple[str, ...]:
    words = {row["trigger"] for row in knowledge.rows("secret-env-lookups")}
    words |= {row["name"].rpartition(".")[2] for row in knowledge.rows("secret-classes") if row["role"] == "settings"}
    return tuple(sorted(words))


class EnvFallbacks(Analysis):
    """Every hardcoded fallback of a secret-named variable or settings field, ``facts`` in walk order."""

    REQUIRES = (LocalClasses, ClassRoles)

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        knowledge = context.knowledge
        self.lexicon = lexicon(knowledge)
        self.words = value_words(knowledge)
        self.patterns = secret_patterns(knowledge)
        self.local = context.get(LocalClasses)
        self.roles = context.get(ClassRoles)
        self.facts: list[EnvFallback] = []

    def visit_Assign(self, node: cst.Assign) -> None:
        if self.roles.body_role() == "settings" and len(node.targets) == 1:
            self._field(node.targets[0].target, node.value, None)  # unannotated: not a pydantic field

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if self.roles.body_role() == "settings":
            self._field(node.target, field_default(node.value, self.context), (FIX_SETTINGS_DEFAULT, node))

    def _field(
        self, target: cst.BaseExpression, literal: cst.BaseExpression | None, fix: tuple[str, cst.CSTNode] | None
    ) -> None:
        name = target_name(target)
        value = string_value(literal)
        if name is not None and value is not None and literal is not None:
            self._check(literal, value, name, True, fix)

    def visit_Call(self, node: cst.Call) -> None:
        found = env_lookup(node, self.local, self.context.knowledge)
        if found is None or found[1] is None:
            return
        key, default = found
        name = string_value(key)
        value = string_value(default)
        if name is not None and value is not None and default is not None:
            self._check(default, value, name, False, (FIX_ENV_DEFAULT, node))

    def visit_BooleanOperation(self, node: cst.BooleanOperation) -> None:
        """``os.environ.get("SECRET_KEY") or "dev-secret"``."""
        left = unwrap_await(node.left)
        if not isinstance(node.operator, cst.Or) or not isinstance(left, cst.Call):
            return
        found = env_lookup(left, self.local, self.context.knowledge)
        value = string_value(node.right)
        if found is None or value is None:
            return
        name = string_value(found[0])
        if name is not None:
            self._check(node.right, value, name, False, (FIX_ENV_OR, node))

    def _check(
        self, node: cst.CSTNode, value: str, name: str, settings: bool, fix: tuple[str, cst.CSTNode] | None
    ) -> None:
        ancestors = tuple(self.context.ancestors)
        url = credential_url(value, self.words)
        if url is not None:
            self.facts.append(EnvFallback(node, url.password, ancestors, name, settings, url, None, fix))
            return
        tokens = name_tokens(name)
        kind = self.lexicon.sensitivity_of(tokens)
        if kind is None or self.patterns.recognizes(value, name):
            return
        credential_like = self.lexicon.is_credential_name(tokens) or tokens[-1] in _CONFIGURED_CREDENTIAL_TAILS
        labels = self.lexicon.label_words(kind)
        tier = credential_tier(value, tokens, self.words, sink=False, credential_like=credential_like, labels=labels)
        if tier is not None:
            self.facts.append(EnvFallback(node, value, ancestors, name, settings, None, tier, fix))
