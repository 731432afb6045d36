"""BL2xx: hardcoded secrets — credentials belong in the environment or a secret manager, not in code.

The detectors live in backlint/analysis/secrets/ (each an Analysis recording what it finds, also
read by the output layer's masking); the rules here decide what to report. Every finding is
``sensitive``: messages show only ``mask_secret`` of the value, and the reporters mask the flagged
literal in source snippets.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import libcst as cst

from backlint.analysis.config_fixes import env_default_fix, env_or_fix, literal_to_environ, settings_default_fix
from backlint.analysis.lazy import lazy_fix, steps_locator
from backlint.analysis.secrets.credentials import CredentialSlots, sink_words
from backlint.analysis.secrets.entropy import HighEntropyLiterals
from backlint.analysis.secrets.facts import (
    FIX_ENV_DEFAULT,
    FIX_ENV_OR,
    EnvFallback,
    NamedCredential,
    SecretFact,
    SinkCredential,
)
from backlint.analysis.secrets.fallbacks import EnvFallbacks, fallback_triggers
from backlint.analysis.secrets.formats import SecretFormats
from backlint.analysis.secrets.guards import DefaultGuards, guard_triggers
from backlint.analysis.secrets.templates import only_rendered
from backlint.analysis.secrets.urls import CredentialUrls
from backlint.analysis.strings import (
    HOLE,
    PASSWORD,
    PLACEHOLDER,
    STRONG,
    CredentialUrl,
    high_entropy,
    name_triggers,
    trigger_tokens,
)
from backlint.core.catalog import Knowledge
from backlint.core.facts import FactCollector, ProjectFinding, ProjectRule
from backlint.core.masking import mask_secret
from backlint.core.results import FileKind, ModuleFacts
from backlint.core.rule import PendingFix, Rule

_ROTATE = "rotate it, then load it from the environment or a secret manager"


class _SecretRule(Rule):
    """What the BL2xx rules share; not a rule itself (no id)."""

    def report(self, node: cst.CSTNode, message: str, **kwargs: Any) -> None:
        """Stubs (``.pyi``) are not deployed: only a known-format token in one is reported."""
        if self.context.path.endswith(".pyi") and self.id != "BL201":
            return
        super().report(node, message, **kwargs)

    def _weak_level(self) -> str:
        return "note" if self.level == "note" else "warning"

    def _fix(self, fact: SecretFact) -> PendingFix | None:
        return literal_to_environ(self.context, fact.node, fact.ancestors)


class KnownFormatSecret(_SecretRule):
    """A literal or comment holding a token in a known provider format (AWS, GitHub, Stripe, ...)."""

    id = "BL201"
    REQUIRES = (SecretFormats,)

    @classmethod
    def trigger_tokens(cls, knowledge: Knowledge) -> Iterable[str]:
        return trigger_tokens(knowledge)

    def leave_Module(self, node: cst.Module) -> None:
        reported: set[int] = set()
        for fact in self.context.get(SecretFormats).facts:
            if id(fact.node) in reported:
                continue  # the first token of a literal or comment is enough
            if fact.pattern.public:
                continue  # a publishable key (PostHog phc_, Stripe pk_live_): shipped in every client by design
            if fact.pattern.test_vector and self.context.kind is FileKind.TEST:
                continue  # a test's own key or signed token: it opens nothing outside the tests
            reported.add(id(fact.node))
            self.report(
                fact.node,
                f"{fact.pattern.description} `{mask_secret(fact.secret)}` in source "
                f"({fact.pattern.id}): {_ROTATE}; a committed secret stays in the history",
                level=fact.pattern.level or self.level,
                sensitive=True,
            )


class HardcodedCredential(_SecretRule):
    """A credential literal in a credential slot (driver ``password=``, ``jwt.encode`` key, Flask
    ``SECRET_KEY``) or bound to a secret-named target (``DB_PASSWORD = "…"``)."""

    id = "BL202"
    REQUIRES = (CredentialSlots,)

    @classmethod
    def trigger_tokens(cls, knowledge: Knowledge) -> Iterable[str]:
        return name_triggers(knowledge, ("password", "secret")) + sink_words(knowledge)

    def leave_Module(self, node: cst.Module) -> None:
        # The project pass judges a default setting's constant when the file's facts are collected
        # (the collectors ran: DefaultGuardFacts's analysis is there); a run without the project rules
        # (an editor's or standard input's fix rounds) judges it here.
        judged_over_project = DefaultGuards in self.context.analyses
        for fact, message, strong in credential_findings(self.context.get(CredentialSlots)):
            if fact.constant is not None and judged_over_project:
                continue  # a module constant: judged over the project (HardcodedCredentialConstant)
            level = self.level if strong else self._weak_level()
            self.report(fact.node, message, level=level, sensitive=True, fix=self._fix(fact))


def credential_findings(
    slots: CredentialSlots,
) -> Iterator[tuple[SinkCredential | NamedCredential, str, bool]]:
    """BL202's findings among the credential literals: (fact, message, whether it is a strong secret)."""
    for fact in slots.facts:
        if isinstance(fact, SinkCredential):
            if fact.tier == PLACEHOLDER and fact.what.endswith("API key"):
                continue  # a provider's API key slot (OpenAI, Stripe): the provider refuses a placeholder
            yield fact, *_message(fact, fact.tier, f"{fact.what} passed to `{fact.slot}`")
        elif isinstance(fact, NamedCredential):
            if fact.client and fact.tier == PLACEHOLDER:
                continue  # a placeholder for another service's password: that service refuses it
            noun = "password" if fact.kind == PASSWORD else "secret"
            if fact.compared:
                where = f"`{fact.name}` compared with a hardcoded {noun}"
            else:
                where = f"hardcoded {noun} in `{fact.name}`"
            yield fact, *_message(fact, fact.tier, where)


def _message(fact: SecretFact, tier: str, where: str) -> tuple[str, bool]:
    masked = mask_secret(fact.secret)
    if tier == STRONG:
        return f"{where} (`{masked}`): {_ROTATE}", True
    if tier == PLACEHOLDER:
        message = (
            f"{where} is a placeholder (`{masked}`): a deployment that forgets to override it runs "
            "with a public value; load it from the environment and fail when it is missing"
        )
        return message, False
    return f"{where} (`{masked}`, a guessable value): {_ROTATE}", False


CONSTANTS_FACT = "bl202-constants"
GUARDS_FACT = "bl202-default-guards"


class CredentialConstantFacts(FactCollector):
    """Records BL202's findings on module constants (``SECRET_KEY = "tralala"``) for the project pass,
    which drops those another module checks a setting or an account against (DefaultGuards)."""

    REQUIRES = (CredentialSlots,)

    @classmethod
    def trigger_tokens(cls, knowledge: Knowledge) -> Iterable[str]:
        return guard_triggers(knowledge)

    def leave_Module(self, node: cst.Module) -> None:
        if self.context.path.endswith(".pyi"):
            return  # stubs are not deployed
        locate = self.context.locate
        for fact, message, strong in credential_findings(self.context.get(CredentialSlots)):
            if fact.constant is None:
                continue
            fix = literal_to_environ(self.context, fact.node, fact.ancestors)
            self.context.add_fact(
                CONSTANTS_FACT,
                {
                    "span": locate(fact.node),
                    "message": message,
                    "strong": strong,
                    "constant": fact.constant,
                    "fix": lazy_fix(fix, steps_locator(node, self.context.path)),
                },
            )


class DefaultGuardFacts(FactCollector):
    """Records the constants each module checks a setting or an account against (DefaultGuards)."""

    REQUIRES = (DefaultGuards,)

    @classmethod
    def trigger_tokens(cls, knowledge: Knowledge) -> Iterable[str]:
        return guard_triggers(knowledge)

    def leave_Module(self, node: cst.Module) -> None:
        names = self.context.get(DefaultGuards).names
        if names:
            self.context.add_fact(GUARDS_FACT, {"names": sorted(names)})


class HardcodedCredentialConstant(ProjectRule):
    """BL202 on a module constant, judged over the project: a default the app ships knowingly and
    checks for (``if app.config["SECRET_KEY"] == default_settings.SECRET_KEY: warnings.warn(...)``,
    ``verify_password(DEFAULT_PASSWORD, user.password_hash)``) is not reported."""

    id = "BL202"

    def check(self, modules: list[ModuleFacts]) -> list[ProjectFinding]:
        guarded = {name for module in modules for fact in module.get(GUARDS_FACT) for name in fact["names"]}
        # A name the checking module could not resolve to the defining module's (a src/ layout, a
        # relative import): the defining module's last name and the constant's are enough.
        tails = {".".join(name.split(".")[-2:]) for name in guarded}
        weak = "note" if self.level == "note" else "warning"
        out = []
        for module in modules:
            for fact in module.get(CONSTANTS_FACT):
                constant = fact["constant"]
                if constant in guarded or ".".join(constant.split(".")[-2:]) in tails:
                    continue
                level = None if fact["strong"] else weak
                fix = fact["fix"].resolve() if fact.get("fix") is not None else None
                out.append(
                    ProjectFinding(
                        self.id,
                        module.path,
                        fact["span"],
                        fact["message"],
                        level,
                        fix=fix,
                        depends_on=None,
                        sensitive=True,
                    )
                )
        return out


def _shown(url: CredentialUrl) -> str:
    """The URL with its password masked, and its user too when it would give the password away
    (``postgres:postgres``)."""
    user, password = url.user, url.password
    if password.lower() in user.lower() or user.lower() in password.lower():
        user = "…"
    return f"{url.scheme}://{user}:{mask_secret(password)}@{url.host.replace(HOLE, '{…}')}"


class CredentialsInUrl(_SecretRule):
    """A connection URL or connection string whose password is written in the literal."""

    id = "BL203"
    TRIGGERS = ("://", "password=", "Password=", "PASSWORD=", "PWD=", "Pwd=")
    REQUIRES = (CredentialUrls,)

    def leave_Module(self, node: cst.Module) -> None:
        for fact in self.context.get(CredentialUrls).facts:
            if fact.bare or fact.env_default:
                continue  # a docstring's example; a fallback of an environment lookup is BL204's
            if fact.local and only_rendered(node, fact.node):
                continue  # a local development default of a generated configuration file (kinto init)
            if fact.url is not None:
                what = f"connection URL `{_shown(fact.url)}` carries its password"
            else:
                what = f"connection string carries its password (`password={mask_secret(fact.secret)}`)"
            level = self._weak_level() if fact.local else self.level
            where = "a local development host" if fact.local else "a remote host"
            self.report(
                fact.node,
                f"{what} for {where}: build the URL from the environment (the whole URL, or the password alone); "
                f"{_ROTATE}",
                level=level,
                sensitive=True,
                fix=self._fix(fact),
                facet=LOCAL_HOST if fact.local else None,
            )


# BL203's findings on a local development host: kept in production code only (the catalog's
# applies-to-facets); a migration, a script or dev tooling runs against the developer's own database.
LOCAL_HOST = "local-host"


class SecretEnvFallback(_SecretRule):
    """A secret read from the environment with a hardcoded fallback (``os.getenv("SECRET_KEY", "dev")``)."""

    id = "BL204"
    REQUIRES = (EnvFallbacks,)

    @classmethod
    def trigger_tokens(cls, knowledge: Knowledge) -> Iterable[str]:
        return fallback_triggers(knowledge)

    def leave_Module(self, node: cst.Module) -> None:
        fallbacks = self.context.get(EnvFallbacks)
        for fact in fallbacks.facts:
            if fallbacks.guarded(fact):
                continue  # the module checks for the default: it refuses it or handles it, not silently
            if fact.client and fact.url is None and fact.tier != STRONG:
                continue  # a development default for another service's password: without the variable it fails
            where = f"settings field `{fact.name}` defaults to" if fact.settings else f"`{fact.name}` falls back to"
            if fact.url is not None:
                message = (
                    f"{where} a URL with a hardcoded password (`{_shown(fact.url)}`): a deployment without the "
                    "variable silently uses it; require the variable and fail loudly when it is missing"
                )
            else:
                kind = "placeholder" if fact.tier == PLACEHOLDER else "hardcoded"
                message = (
                    f"{where} a {kind} secret (`{mask_secret(fact.secret)}`): a deployment without the variable "
                    "silently runs with it; require the variable (os.environ[...], a settings field without "
                    "default) and fail loudly"
                )
            self.report(fact.node, message, sensitive=True, fix=self._fallback_fix(fact))

    def _fallback_fix(self, fact: EnvFallback) -> PendingFix | None:
        if fact.fix is None:
            return None
        recipe, node = fact.fix
        if recipe == FIX_ENV_DEFAULT and isinstance(node, cst.Call):
            return env_default_fix(node, self.context, fact.ancestors)
        if recipe == FIX_ENV_OR and isinstance(node, cst.BooleanOperation):
            return env_or_fix(node, self.context, fact.ancestors)
        if isinstance(node, cst.AnnAssign):
            return settings_default_fix(node, self.context)
        return None


class HighEntropyLiteral(_SecretRule):
    """A long random-looking literal bound to a name (opt-in; entropy alone is a noisy signal)."""

    id = "BL205"
    REQUIRES = (HighEntropyLiterals,)

    def leave_Module(self, node: cst.Module) -> None:
        options = self.context.options
        for fact in self.context.get(HighEntropyLiterals).facts:
            if not high_entropy(fact.secret, options["entropy-base64-limit"], options["entropy-hex-limit"]):
                continue
            self.report(
                fact.node,
                f"`{fact.name}` holds a high-entropy literal (`{mask_secret(fact.secret)}`) that looks like a key; "
                f"if it is one, {_ROTATE}",
                sensitive=True,
            )
