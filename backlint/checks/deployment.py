"""BL7xx and BL803: deployment switches that must not ship on — debuggers, open CORS, any Host, unverified JWTs.

Each value is read the way the app reads it when the environment is unset: ``DEBUG = env.bool(
"DEBUG", default=True)`` is on in a deploy that forgets the variable, ``debug=os.environ.get(
"FLASK_DEBUG") == "1"`` is off. BL702 is judged over the project (``CorsFacts``): Flask-CORS reads the
options a call leaves out from the app's configuration, which lives in another module.
"""

from __future__ import annotations

import re
from typing import Any

import libcst as cst

from backlint.analysis.config_fixes import verify_signature_fix
from backlint.analysis.literals import Literals, keyword_arg
from backlint.analysis.scopes import Scopes
from backlint.analysis.settings_chain import (
    NAMED_SETTINGS_FACT,
    SETTINGS_CHAIN_FACT,
    is_dev_settings,
    is_settings_module,
    reaches_deployment,
)
from backlint.core.facts import FactCollector, ProjectFinding, ProjectRule
from backlint.core.results import ModuleFacts
from backlint.core.rule import FileContext, PendingFix, Rule

_PROBE_ORIGIN = "https://evil.attacker.test"


def _any_origin(pattern: Any) -> bool:
    """An origin regex that admits every site (``.*``, ``https?://.*``)."""
    if not isinstance(pattern, str):
        return False
    try:
        compiled = re.compile(pattern)
    except re.error:
        return False
    return bool(compiled.match(_PROBE_ORIGIN))


def _wildcard(origins: Any) -> bool:
    if origins == "*":
        return True
    return isinstance(origins, list) and "*" in origins


CORS_GRANTS_FACT = "cors-grants"
CORS_CONFIG_FACT = "cors-config"


class CorsFacts(FactCollector):
    """Records the CORS grants of a module for BL702, and the app configuration keys that Flask-CORS
    reads when a call leaves an option out (``CORS_ORIGINS``, ``CORS_SUPPORTS_CREDENTIALS``): a
    ``CORS(app)`` in one module takes its origins from a config module elsewhere."""

    REQUIRES = (Scopes,)
    TRIGGERS = ("CORS", "cors", "Cors")

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.literals = Literals(context, "framework-debug")
        rows = context.knowledge.rows("framework-cors")
        self.rows = {r["name"]: r for r in rows if r["form"] != "setting"}
        self.settings = {r["name"]: r["role"] for r in rows if r["form"] == "setting"}
        self.config_keys = {
            _config_key(r, option) for r in rows if r.get("config-prefix") for option in ("origins", "credentials")
        }
        self.functions = 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.functions += 1

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.functions -= 1

    def visit_Assign(self, node: cst.Assign) -> None:
        """``CORS_ORIGINS = [...]`` in a config module or class, ``app.config["CORS_ORIGINS"] = ...``."""
        for target in (t.target for t in node.targets):
            key: Any = None
            if isinstance(target, cst.Name) and not self.functions:
                key = target.value
            elif (
                isinstance(target, cst.Subscript)
                and isinstance(target.value, cst.Attribute)
                and target.value.attr.value == "config"
                and len(target.slice) == 1
                and isinstance(target.slice[0].slice, cst.Index)
            ):
                key = self.literals.evaluate(target.slice[0].slice.value)
            if isinstance(key, str) and key in self.config_keys:
                self._config(key, node.value)

    def leave_Module(self, node: cst.Module) -> None:
        """django-cors-headers settings, read once every module-level name is bound."""
        found: dict[str, tuple[cst.CSTNode, Any]] = {}
        for statement in node.body:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if (
                    isinstance(small, cst.Assign)
                    and len(small.targets) == 1
                    and isinstance(small.targets[0].target, cst.Name)
                ):
                    role = self.settings.get(small.targets[0].target.value)
                    if role is not None:
                        found[role] = (statement, self.literals.evaluate(small.value))
        credentials = found.get("credentials", (None, False))[1] is True
        for role in ("all", "regex"):
            if role not in found:
                continue
            where, value = found[role]
            if role == "all" and value is not True:
                continue
            if role == "regex" and not (isinstance(value, list) and any(_any_origin(v) for v in value)):
                continue
            self._grant(where, "django-cors-headers allows every origin", credentials, "CORS_ALLOW_CREDENTIALS = True")

    def visit_Call(self, node: cst.Call) -> None:
        name = self.context.qualified_name(node.func)
        func = node.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in ("update", "from_mapping")
            and isinstance(func.value, cst.Attribute)
            and func.value.attr.value == "config"
        ):
            for arg in node.args:
                if arg.keyword is not None and arg.keyword.value in self.config_keys:
                    self._config(arg.keyword.value, arg.value)
        row = self.rows.get(name or "")
        if row is None and node.args and node.args[0].keyword is None:
            candidate = self.context.qualified_name(node.args[0].value)
            if candidate and self.rows.get(candidate, {}).get("form") == "middleware":
                row = self.rows[candidate]
        if row is None:
            return
        if row["form"] == "aiohttp":
            self._aiohttp(node, row)
            return
        if any(arg.star == "**" for arg in node.args):
            return  # options come from a mapping we cannot read: origins may be set there
        credentials_node = keyword_arg(node, row.get("credentials"))
        credentials = self.literals.evaluate(credentials_node) is True
        origins_node = keyword_arg(node, row.get("origins"))
        origins = self.literals.evaluate(origins_node) if origins_node is not None else row.get("default-origins", [])
        resources = self._resources(keyword_arg(node, row.get("resources")))
        scoped = [options for options, _ in resources]
        if origins_node is None and scoped and all(isinstance(o, dict) and "origins" in o for o in scoped):
            origins = None  # every resource names its own origins: the call's default never applies
        what = None
        if _wildcard(origins):
            what = "allows every origin (`*`)" if origins_node is not None else "allows every origin (its default)"
        elif _any_origin(self.literals.evaluate(keyword_arg(node, row.get("regex")))):
            what = "accepts every origin through its origin regex"
        if what is None:
            for options in scoped:
                if isinstance(options, dict) and _wildcard(options.get("origins", origins)):
                    what = "allows every origin for some resources"
                    credentials = credentials or options.get("supports_credentials") is True
        if what is None:
            self._configured_resources(node, row, name, resources, credentials, credentials_node)
            return
        reads_config = {
            "origins": _config_key(row, "origins") if origins_node is None and what.endswith("(its default)") else None,
            "credentials": _config_key(row, "credentials") if credentials_node is None else None,
        }
        callee = name.rpartition(".")[2] if name else "CORS"
        self._grant(node, f"`{callee}` {what}", credentials, f"{row.get('credentials')}=True", reads_config)

    def _resources(self, node: cst.BaseExpression | None) -> list[tuple[Any, cst.BaseExpression | None]]:
        """Each resource's options and the expression of its origins: ``resources={f"{API_PREFIX}/*":
        {"origins": ...}}`` (the keys are path patterns, often built: they do not matter here)."""
        if isinstance(node, cst.Dict):
            out: list[tuple[Any, cst.BaseExpression | None]] = []
            for element in node.elements:
                if isinstance(element, cst.DictElement):
                    origins = None
                    if isinstance(element.value, cst.Dict):
                        origins = next(
                            (
                                e.value
                                for e in element.value.elements
                                if isinstance(e, cst.DictElement) and self.literals.evaluate(e.key) == "origins"
                            ),
                            None,
                        )
                    out.append((self.literals.evaluate(element.value), origins))
            return out
        evaluated = self.literals.evaluate(node)
        return [(options, None) for options in evaluated.values()] if isinstance(evaluated, dict) else []

    def _configured_resources(
        self,
        node: cst.Call,
        row: dict[str, Any],
        name: str | None,
        resources: list[tuple[Any, cst.BaseExpression | None]],
        credentials: bool,
        credentials_node: cst.BaseExpression | None,
    ) -> None:
        """A resource whose origins are read from the app's configuration (``app.config["CORS_ORIGINS"]``):
        a grant the project pass reports only when a module of the project sets that key to every origin."""
        for options, origins in resources:
            key = _config_read(origins, self.literals)
            if key is None:
                continue
            with_credentials = credentials or (
                isinstance(options, dict) and options.get("supports_credentials") is True
            )
            callee = name.rpartition(".")[2] if name else "CORS"
            reads_config = {
                "origins": key,
                "credentials": _config_key(row, "credentials") if credentials_node is None else None,
                "only-if-set": True,
            }
            what = f"`{callee}` allows every origin for some resources (the app's `{key}`)"
            self._grant(node, what, with_credentials, f"{row.get('credentials')}=True", reads_config)
            return

    def _aiohttp(self, node: cst.Call, row: dict[str, Any]) -> None:
        defaults = keyword_arg(node, row.get("origins"))
        if not isinstance(defaults, cst.Dict):
            return
        for element in defaults.elements:
            if not isinstance(element, cst.DictElement) or self.literals.evaluate(element.key) != "*":
                continue
            credentials = isinstance(element.value, cst.Call) and (
                self.literals.evaluate(keyword_arg(element.value, row.get("credentials"))) is True
            )
            self._grant(node, '`aiohttp_cors.setup` allows every origin (`"*"`)', credentials, "allow_credentials=True")

    def _config(self, key: str, value: cst.BaseExpression) -> None:
        evaluated = self.literals.evaluate(value)
        wildcard = _wildcard(evaluated) or (
            isinstance(evaluated, list) and any(_any_origin(v) for v in evaluated if isinstance(v, str))
        )
        self.context.add_fact(CORS_CONFIG_FACT, {"key": key, "wildcard": wildcard, "true": evaluated is True})

    def _grant(
        self, node: cst.CSTNode, what: str, credentials: bool, flag: str, reads_config: dict[str, Any] | None = None
    ) -> None:
        self.context.add_fact(
            CORS_GRANTS_FACT,
            {
                "span": self.context.locate(node),
                "what": what,
                "credentials": credentials,
                "flag": flag,
                "config": reads_config or {},
            },
        )


def _config_read(node: cst.BaseExpression | None, literals: Literals) -> str | None:
    """The key of an app configuration read: ``app.config["CORS_ORIGINS"]``, ``app.config.get("CORS_ORIGINS")``."""
    mapping, key = None, None
    if isinstance(node, cst.Subscript) and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
        mapping, key = node.value, node.slice[0].slice.value
    elif (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "get"
        and node.args
        and node.args[0].keyword is None
    ):
        mapping, key = node.func.value, node.args[0].value
    if not isinstance(mapping, cst.Attribute) or mapping.attr.value != "config":
        return None
    evaluated = literals.evaluate(key)
    return evaluated if isinstance(evaluated, str) else None


def _config_key(row: dict[str, Any], option: str) -> str | None:
    """The app configuration key Flask-CORS reads for an option the call leaves out (``CORS_ORIGINS``)."""
    prefix, keyword = row.get("config-prefix"), row.get(option)
    return f"{prefix}{keyword.upper()}" if prefix and keyword else None


EXPLICIT_AUTH_FACT = "explicit-credentials"


class ExplicitCredentialFacts(FactCollector):
    """Records that a module authenticates callers by a credential the client sends explicitly — a
    key or token header read from the request, a FastAPI header scheme, DRF token authentication —
    which a page on another site cannot attach to a visitor's request (BL702's notes)."""

    TRIGGERS = ("headers", "META", "Authentication", "Bearer", "APIKey", "OAuth2")

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        rows = context.knowledge.rows("auth-evidence")
        self.headers = frozenset(r["name"].lower() for r in rows if r["form"] == "header")
        self.meta = frozenset("HTTP_" + h.upper().replace("-", "_") for h in self.headers)
        self.schemes = frozenset(r["name"] for r in rows if r["form"] == "scheme" and not r["name"].endswith("Cookie"))
        self.classes = frozenset(r["name"] for r in rows if r["form"] == "token-authentication")
        self.found = False

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if self.context.qualified_name(func) in self.schemes:
            self.found = True
        elif isinstance(func, cst.Attribute) and func.attr.value == "get" and node.args:
            self._read(func.value, node.args[0].value)

    def visit_Subscript(self, node: cst.Subscript) -> None:
        if len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
            self._read(node.value, node.slice[0].slice.value)

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        if node.evaluated_value in self.classes:
            self.found = True

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if self.context.qualified_name(node) in self.classes:
            self.found = True

    def _read(self, mapping: cst.BaseExpression, key: cst.BaseExpression) -> None:
        """``request.headers.get("X-API-Key")``, ``request.META["HTTP_AUTHORIZATION"]``."""
        if not isinstance(mapping, cst.Attribute) or not isinstance(key, cst.SimpleString):
            return
        name = key.evaluated_value
        if not isinstance(name, str):
            return
        if (mapping.attr.value == "headers" and name.lower() in self.headers) or (
            mapping.attr.value == "META" and name in self.meta
        ):
            self.found = True

    def leave_Module(self, node: cst.Module) -> None:
        if self.found:
            self.context.add_fact(EXPLICIT_AUTH_FACT, True)


class CorsWildcardWithCredentials(ProjectRule):
    """CORS that lets every origin in together with credentials (cookies, Authorization).

    Judged over the project: Flask-CORS called without ``origins`` or ``supports_credentials`` reads
    them from the app's configuration (``CORS_ORIGINS = [...]`` in a config module), so the call's
    file alone does not say which origins it admits. A wildcard without credentials is a public API's
    normal setting: a note only with ``report-public-cors``, and not even then when the project
    authenticates callers by a key or token they send explicitly (an API-key or Authorization header,
    a header security scheme, DRF token authentication): another site's page cannot attach that
    credential, so it reads only what an anonymous client may.
    """

    id = "BL702"

    def check(self, modules: list[ModuleFacts]) -> list[ProjectFinding]:
        configured: dict[str, list[dict[str, Any]]] = {}
        for module in modules:
            for fact in module.get(CORS_CONFIG_FACT):
                configured.setdefault(fact["key"], []).append(fact)
        explicit = {_package(module) for module in modules if module.get(EXPLICIT_AUTH_FACT)}
        public = bool(self.options.get("report-public-cors"))
        out: list[ProjectFinding] = []
        for module in modules:
            for grant in module.get(CORS_GRANTS_FACT):
                what, credentials = grant["what"], grant["credentials"]
                origins_key = grant["config"].get("origins")
                settings = configured.get(origins_key or "", [])
                if settings and not any(s["wildcard"] for s in settings):
                    continue  # the app's configuration lists the origins
                if grant["config"].get("only-if-set") and not settings:
                    continue  # origins read from a key the project never sets: the deployment lists them
                if settings and "(its default)" in what:
                    what = what.replace("(its default)", f"(the app's `{origins_key}`)")
                credentials_key = grant["config"].get("credentials")
                if not credentials and any(s["true"] for s in configured.get(credentials_key or "", [])):
                    credentials, flag = True, f"{credentials_key} = True"
                else:
                    flag = grant["flag"]
                if credentials:
                    message = (
                        f"{what} together with `{flag}`: the browser then sends cookies and credentials on requests "
                        "from any site and lets it read the answers; list the allowed origins explicitly"
                    )
                    out.append(ProjectFinding(self.id, module.path, grant["span"], message))
                elif public and _package(module) not in explicit:
                    message = (
                        f"{what}: fine for a public read-only API, but any site can call it from a visitor's "
                        "browser; list the allowed origins if the API is not meant for every site"
                    )
                    out.append(ProjectFinding(self.id, module.path, grant["span"], message, "note"))
        return out


def _package(module: ModuleFacts) -> str:
    """The directory of the module's top-level package: the app it belongs to (``lnbits/app.py`` → ``lnbits``)."""
    parts = module.path.split("/")
    depth = len(module.module.split(".")) if module.module else 1
    if parts[-1] == "__init__.py":
        depth += 1
    top = parts[: max(len(parts) - depth + 1, 1)]
    return "/".join(top[:-1] if top[-1].endswith(".py") else top)  # a top-level module: its directory


ALLOWED_HOSTS_FACT = "allowed-hosts-wildcard"
HOST_VALIDATORS_FACT = "host-validators"
_DISALLOWED_HOST = "django.core.exceptions.DisallowedHost"


class AllowedHostsFacts(FactCollector):
    """Records, for BL703, a top-level ``ALLOWED_HOSTS`` containing ``"*"`` in Django settings that are
    not dev-only (with the settings' ``MIDDLEWARE``), and the project's classes and functions that
    reject a request's host by raising Django's ``DisallowedHost`` (a host-validating middleware)."""

    REQUIRES = (Scopes,)
    TRIGGERS = ("ALLOWED_HOSTS", "DisallowedHost")

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.scopes: list[str] = []  # enclosing top-level class or function

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.scopes.append(node.name.value)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        self.scopes.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.scopes.append(node.name.value)

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.scopes.pop()

    def visit_Raise(self, node: cst.Raise) -> None:
        raised = node.exc.func if isinstance(node.exc, cst.Call) else node.exc
        if self.scopes and raised is not None and self.context.qualified_name(raised) == _DISALLOWED_HOST:
            self.context.add_fact(HOST_VALIDATORS_FACT, f"{self.context.module_name}.{self.scopes[0]}")

    def leave_Module(self, node: cst.Module) -> None:
        """Read once every module-level name is bound."""
        if not is_settings_module(self.context, node) or is_dev_settings(self.context, node):
            return
        literals = Literals(self.context, "framework-debug")
        wildcard: cst.CSTNode | None = None
        index = -1
        middleware: list[str] = []
        for position, statement in enumerate(node.body):
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if not isinstance(small, (cst.Assign, cst.AugAssign)):
                    continue
                targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
                names = {t.value for t in targets if isinstance(t, cst.Name)}
                value = literals.evaluate(small.value)
                if "MIDDLEWARE" in names and isinstance(value, list):
                    middleware += [v for v in value if isinstance(v, str)]
                if (
                    "ALLOWED_HOSTS" in names
                    and isinstance(value, list)
                    and "*" in value
                    and _literal_list(small.value)
                    and wildcard is None
                ):
                    wildcard, index = statement, position
        if wildcard is not None:
            fact = {"span": self.context.locate(wildcard), "middleware": middleware, "index": index}
            self.context.add_fact(ALLOWED_HOSTS_FACT, {**fact, "module": self.context.module_name})


class DjangoAllowedHostsWildcard(ProjectRule):
    """``ALLOWED_HOSTS`` accepting any Host header in Django settings that are not dev-only.

    Judged over the project: a middleware of the settings' ``MIDDLEWARE`` that rejects unknown hosts
    itself (raises ``DisallowedHost``, as pretalx's ``MultiDomainMiddleware`` does for its events'
    custom domains) does what ``ALLOWED_HOSTS`` would; it lives in another module, or its package's. A
    wildcard is judged where it is deployed (``analysis/settings_chain.py``): in a base module, only if
    it survives in a settings module importing it; a value the deployment's own settings overlay (a
    star import of local settings in a ``try``, dynaconf's ``DjangoDynaconf``: table
    ``settings-overlays``) is a default, as a value read from the environment is.
    """

    id = "BL703"

    def check(self, modules: list[ModuleFacts]) -> list[ProjectFinding]:
        validators = {name for module in modules for name in module.get(HOST_VALIDATORS_FACT)}
        validators |= {f"{v.rpartition('.')[0].rpartition('.')[0]}.{v.rpartition('.')[2]}" for v in validators}
        records = [r for m in modules for r in m.get(SETTINGS_CHAIN_FACT)]
        named = {n for m in modules for n in m.get(NAMED_SETTINGS_FACT)}
        out: list[ProjectFinding] = []
        for module in modules:
            for fact in module.get(ALLOWED_HOSTS_FACT):
                if validators & set(fact["middleware"]):
                    continue  # the app validates the Host header in its own middleware
                if "module" in fact and not reaches_deployment(
                    records, named, fact["module"], fact["index"], "ALLOWED_HOSTS", overlays=True
                ):
                    continue  # overridden or overlaid in every settings module deployed with it
                message = (
                    '`ALLOWED_HOSTS` contains "*": Django then trusts any Host header, which poisons '
                    "password-reset links and absolute URLs built from the request; list the real host names "
                    "(unless a proxy in front already rejects unknown hosts)"
                )
                out.append(ProjectFinding(self.id, module.path, fact["span"], message))
        return out


def _literal_list(node: cst.BaseExpression) -> bool:
    return isinstance(node, (cst.List, cst.Tuple)) or (
        isinstance(node, cst.BinaryOperation) and (_literal_list(node.left) or _literal_list(node.right))
    )


class JwtVerificationDisabled(Rule):
    """A JWT decoded without checking its signature, or accepting the ``none`` algorithm."""

    id = "BL803"
    REQUIRES = (Scopes,)
    TRIGGERS = ("jwt", "jose")

    def __init__(self, context: FileContext, level: str) -> None:
        super().__init__(context, level)
        self.literals = Literals(context, "framework-debug")
        rows = context.knowledge.rows("jwt-decoders")
        self.rows = {r["name"]: r for r in rows if r["form"] in ("decode", "unverified")}
        self.peek_claims = frozenset(r["name"] for r in rows if r["form"] == "peek-claim")
        self.issuer_checks = frozenset(r["name"] for r in rows if r["form"] == "issuer-check")
        # Per function: unverified decodes waiting for the end of the function, and whether it verifies one.
        self.pending: list[tuple[list[tuple[cst.Call, str, str, PendingFix | None]], list[bool]]] = [([], [False])]

    def leave_Module(self, node: cst.Module) -> None:
        self._flush()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.pending.append(([], [False]))

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._flush()

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Attribute) and node.func.attr.value in self.issuer_checks:
            self.pending[-1][1][0] = True  # the issuer checked the token (userinfo, introspection)
            return
        name = self.literals.qualified(node.func) or ""
        row = self.rows.get(name)
        if row is None:
            return
        short = name.rpartition(".")[0].rpartition(".")[2] + "." + name.rpartition(".")[2]
        if row["form"] == "unverified":
            if self._decides():
                self.report(
                    node,
                    f"`{short}()` returns claims without checking the signature, and they decide the answer here: "
                    "anyone can forge them; use `jwt.decode(token, key, algorithms=[...])`",
                    level="warning",
                )
            return
        how = self._disabled(node, row)
        pending, verifies = self.pending[-1]
        if how is None:
            verifies[0] = True
        elif how == "the `none` algorithm" or not self._peeks():
            fix = verify_signature_fix(node, row.get("options"), row.get("algorithms")) if "options" in how else None
            pending.append((node, short, how, fix))

    def _disabled(self, node: cst.Call, row: dict[str, Any]) -> str | None:
        options = self.literals.evaluate(keyword_arg(node, row.get("options")))
        if isinstance(options, dict) and options.get("verify_signature") is False:
            return '`options={"verify_signature": False}`'
        if self.literals.evaluate(keyword_arg(node, row.get("verify"))) is False:
            return "`verify=False`"
        algorithms = self.literals.evaluate(keyword_arg(node, row.get("algorithms")))
        if isinstance(algorithms, str):
            algorithms = [algorithms]
        if isinstance(algorithms, list) and any(isinstance(a, str) and a.lower() == "none" for a in algorithms):
            return "the `none` algorithm"
        return None

    def _flush(self) -> None:
        """Report the unverified decodes of a function that never verifies a token itself."""
        pending, verifies = self.pending.pop() if len(self.pending) > 1 else (self.pending[0][0], self.pending[0][1])
        for node, name, how, fix in pending:
            if verifies[0] and how != "the `none` algorithm":
                continue  # peek (issuer, key id) then verify: the usual way to pick the key
            self.report(
                node,
                f"`{name}()` with {how} accepts tokens nobody signed: anyone can forge the claims (user id, roles); "
                "pass the key and an explicit `algorithms=[...]` list",
                fix=fix,
            )
        pending.clear()

    def _peeks(self) -> bool:
        """The decoded claims are read only for routing/scheduling: ``jwt.decode(...).get("exp")``."""
        parent = self.context.ancestors[-2] if len(self.context.ancestors) > 1 else None
        grand = self.context.ancestors[-3] if len(self.context.ancestors) > 2 else None
        claim: Any = None
        if (
            isinstance(parent, cst.Attribute)
            and parent.attr.value == "get"
            and isinstance(grand, cst.Call)
            and grand.args
        ):
            claim = self.literals.evaluate(grand.args[0].value)
        elif (
            isinstance(parent, cst.Subscript)
            and len(parent.slice) == 1
            and isinstance(parent.slice[0].slice, cst.Index)
        ):
            claim = self.literals.evaluate(parent.slice[0].slice.value)
        return isinstance(claim, str) and claim in self.peek_claims

    def _decides(self) -> bool:
        """The call's result reaches a return, a comparison or a condition without being re-verified."""
        ancestors = self.context.ancestors
        for ancestor in reversed(ancestors[:-1]):
            if isinstance(ancestor, (cst.Return, cst.Comparison, cst.If)):
                return True
            if not isinstance(
                ancestor, (cst.Subscript, cst.SubscriptElement, cst.Index, cst.Attribute, cst.Call, cst.Arg)
            ):
                return False
        return False
