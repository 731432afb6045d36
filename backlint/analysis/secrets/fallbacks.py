"""Secrets read from the environment or a settings class with a hardcoded fallback (BL204's detector):
``os.getenv("SECRET_KEY", "dev")``, ``os.environ.get("K") or "dev"``, ``secret_key: str = "dev"``."""

from __future__ import annotations

import libcst as cst

from backlint.analysis.secrets.facts import FIX_ENV_DEFAULT, FIX_ENV_OR, FIX_SETTINGS_DEFAULT, EnvFallback
from backlint.analysis.secrets.slots import (
    ClassRoles,
    LocalClasses,
    Lookup,
    env_lookup,
    field_default,
    keyword,
    positional,
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
    settings = (row["name"] for row in knowledge.rows("secret-classes") if row["role"] == "settings")
    words |= {name.rpartition(".")[2].lstrip("*") for name in settings}
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
        # Module functions that return an environment lookup of their parameters (``def env(key,
        # default=None): return os.environ.get(key, default)``): name -> (key, default) parameters.
        self.helpers: dict[str, tuple[tuple[int, str], tuple[int, str]]] = {}
        # String literals the module compares something with: a fallback it checks for is guarded.
        self.compared: set[str] = set()

    def guarded(self, fact: EnvFallback) -> bool:
        """Does the module compare a value with this fallback (``if SECRET_KEY == "dev": raise ...``)?
        Then it refuses or handles the default; it does not silently run with it."""
        return string_value(fact.node) in self.compared

    def visit_Comparison(self, node: cst.Comparison) -> None:
        for operand in (node.left, *(c.comparator for c in node.comparisons)):
            items = operand.elements if isinstance(operand, (cst.Tuple, cst.List, cst.Set)) else (operand,)
            for item in items:
                value = string_value(item.value if isinstance(item, cst.BaseElement) else item)
                if value is not None:
                    self.compared.add(value)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        """Register a module function returning an environment lookup of its parameters."""
        if len(self.context.ancestors) != 2 or not isinstance(node.body, cst.IndentedBlock):
            return
        params = [*node.params.posonly_params, *node.params.params]
        where = {p.name.value: (i, p.name.value) for i, p in enumerate(params)}
        for statement in node.body.body:
            small = statement.body[0] if isinstance(statement, cst.SimpleStatementLine) else None
            if not isinstance(small, cst.Return) or small.value is None:
                continue
            returned = unwrap_await(small.value)
            call, default = returned, None
            if isinstance(returned, cst.BooleanOperation) and isinstance(returned.operator, cst.Or):
                call, default = unwrap_await(returned.left), returned.right
            if not isinstance(call, cst.Call):
                continue
            found = env_lookup(call, self.local, self.context.knowledge)
            if found is None:
                continue
            key, default = found[0], found[1] or default
            if (
                isinstance(key, cst.Name)
                and isinstance(default, cst.Name)
                and key.value in where
                and default.value in where
            ):
                self.helpers[node.name.value] = (where[key.value], where[default.value])

    def _lookup(self, call: cst.Call) -> Lookup | None:
        """(key, default) of an environment lookup, or of a call of a module helper doing one."""
        found = env_lookup(call, self.local, self.context.knowledge)
        helper = self.helpers.get(call.func.value) if isinstance(call.func, cst.Name) else None
        if found is None and helper is not None:
            (key_index, key_name), (default_index, default_name) = helper
            key = keyword(call, key_name) or positional(call, key_index)
            return key, keyword(call, default_name) or positional(call, default_index)
        return found

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
        found = self._lookup(node)
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
        found = self._lookup(left)
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
        if any(isinstance(a, cst.ClassDef) and self.words.configures_tests(a.name.value) for a in ancestors):
            return  # class TestingConfig: a test run's settings
        tokens = name_tokens(name)
        client = self.lexicon.is_client((*tokens, *(self.roles.class_words() if settings else ())))
        url = credential_url(value, self.words)
        if url is not None:
            self.facts.append(EnvFallback(node, url.password, ancestors, name, settings, url, None, fix, client))
            return
        kind = self.lexicon.sensitivity_of(tokens)
        if kind is None or self.patterns.recognizes(value, name):
            return
        credential_like = self.lexicon.is_credential_name(tokens) or tokens[-1] in _CONFIGURED_CREDENTIAL_TAILS
        labels = self.lexicon.label_words(kind)
        tier = credential_tier(
            value, tokens, self.words, sink=False, credential_like=credential_like, labels=labels, value_context=True
        )
        if tier is not None:
            self.facts.append(EnvFallback(node, value, ancestors, name, settings, None, tier, fix, client))
