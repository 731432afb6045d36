"""BL2xx: hardcoded secrets — credentials belong in the environment or a secret manager, not in code.

Every finding here is ``sensitive``: messages show only ``mask_secret`` of the value, and the
reporters mask the flagged literal in source snippets.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Optional

import libcst as cst

from backlint.analysis.config_fixes import env_default_fix, env_or_fix, literal_to_environ, settings_default_fix
from backlint.analysis.strings import (
    HOLE,
    PASSWORD,
    PLACEHOLDER,
    STRONG,
    CredentialUrl,
    credential_tier,
    credential_url,
    high_entropy,
    is_password_hash,
    is_sequential,
    is_string,
    is_templated,
    lexicon,
    literal_text,
    name_tokens,
    name_triggers,
    raw_text,
    secret_patterns,
    trigger_tokens,
    value_words,
)
from backlint.core.catalog import Knowledge
from backlint.core.masking import mask_secret
from backlint.core.rule import FileContext, PendingFix, Rule

_ROTATE = "rotate it, then load it from the environment or a secret manager"


def _string_value(node: cst.CSTNode | None) -> str | None:
    """The value of a plain string literal (no interpolation), else None."""
    if node is None or not is_string(node):
        return None
    text = literal_text(node)
    return None if text is None or HOLE in text else text


def _subscript_key(node: cst.Subscript) -> str | None:
    if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
        return None
    return _string_value(node.slice[0].slice.value)


def target_name(node: cst.CSTNode) -> str | None:
    """The name a value is stored under: ``x``, ``obj.x``, ``d["x"]``."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value
    if isinstance(node, cst.Subscript):
        return _subscript_key(node)
    return None


def slot_name(ancestors: list[cst.CSTNode]) -> str | None:
    """The name the literal at ``ancestors[-1]`` is bound to, if any (assignment, keyword, key)."""
    node, parent = ancestors[-1], ancestors[-2] if len(ancestors) > 1 else None
    if isinstance(parent, cst.Assign) and parent.value is node:
        return next(filter(None, (target_name(t.target) for t in parent.targets)), None)
    if isinstance(parent, cst.AnnAssign) and parent.value is node:
        return target_name(parent.target)
    if isinstance(parent, cst.Arg) and parent.keyword is not None:
        return parent.keyword.value
    if isinstance(parent, cst.DictElement) and parent.value is node:
        return _string_value(parent.key)
    if isinstance(parent, cst.Param) and parent.default is node:
        return parent.name.value
    return None


def _unwrap_await(node: cst.BaseExpression) -> cst.BaseExpression:
    return node.expression if isinstance(node, cst.Await) else node


def _positional(call: cst.Call, index: int) -> cst.BaseExpression | None:
    positional = [a for a in call.args if a.keyword is None and not a.star]
    return positional[index].value if index < len(positional) else None


def _keyword(call: cst.Call, name: str) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg.value
    return None


class Origins:
    """Which class a local name holds (``server = smtplib.SMTP(...)``), to resolve its methods.

    A cheap stand-in for dataflow: the last assignment of a name in the file wins.
    """

    def __init__(self, context: FileContext) -> None:
        self.context = context
        self.classes: dict[str, str] = {}

    def record_assign(self, node: cst.Assign) -> None:
        value = _unwrap_await(node.value)
        if not isinstance(value, cst.Call) or len(node.targets) != 1:
            return
        target = node.targets[0].target
        if isinstance(target, cst.Name):
            name = self.call_name(value)
            if name is not None:
                self.classes[target.value] = name

    def record_with(self, node: cst.WithItem) -> None:
        value = _unwrap_await(node.item)
        if isinstance(value, cst.Call) and node.asname is not None and isinstance(node.asname.name, cst.Name):
            name = self.call_name(value)
            if name is not None:
                self.classes[node.asname.name.value] = name

    def call_name(self, call: cst.Call) -> str | None:
        """``smtplib.SMTP.login`` for ``server.login(...)`` when ``server = smtplib.SMTP(...)``."""
        func = call.func
        if isinstance(func, cst.Name) and func.value in self.classes:
            return self.classes[func.value] + ".__call__"
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value in self.classes:
            return f"{self.classes[func.value.value]}.{func.attr.value}"
        return self.context.qualified_name(func)


_Lookup = tuple[Optional[cst.BaseExpression], Optional[cst.BaseExpression]]


def env_lookup(call: cst.Call, origins: Origins, knowledge: Knowledge) -> _Lookup | None:
    """(key, default) of an environment/config lookup such as ``os.getenv(K, "x")``, else None."""
    name = origins.call_name(call)
    lookups = knowledge.derived(_env_lookups)
    row = lookups.get(name) if name is not None else None
    if row is not None:
        key = _positional(call, row["key"])
        default = _positional(call, row["default"]) if "default" in row else None
        if default is None and "default-keyword" in row:
            default = _keyword(call, row["default-keyword"])
        return key, default
    return None


def _env_lookups(knowledge: Knowledge) -> dict[str, dict[str, Any]]:
    return {row["call"]: row for row in knowledge.rows("secret-env-lookups")}


class _SecretRule(Rule):
    """Knowledge shared by the BL2xx rules; not a rule itself (no id)."""

    def __init__(self, context: FileContext, level: str) -> None:
        super().__init__(context, level)
        knowledge = context.knowledge
        self.lexicon = lexicon(knowledge)
        self.words = value_words(knowledge)
        self.patterns = secret_patterns(knowledge)

    def report(self, node: cst.CSTNode, message: str, **kwargs: Any) -> None:
        """Stubs (``.pyi``) are not deployed: only a known-format token in one is reported."""
        if self.context.path.endswith(".pyi") and self.id != "BL201":
            return
        super().report(node, message, **kwargs)

    def _known_format(self, value: str, name: str | None) -> bool:
        return self.patterns.recognizes(value, name)

    def _weak_level(self) -> str:
        return "note" if self.level == "note" else "warning"

    def _top_literal(self) -> bool:
        """False for the parts of an implicit concatenation: the whole literal is checked once."""
        ancestors = self.context.ancestors
        return len(ancestors) < 2 or not isinstance(ancestors[-2], cst.ConcatenatedString)


class KnownFormatSecret(_SecretRule):
    """A literal or comment holding a token in a known provider format (AWS, GitHub, Stripe, ...)."""

    id = "BL201"

    @classmethod
    def trigger_tokens(cls, knowledge: Knowledge) -> Iterable[str]:
        return trigger_tokens(knowledge)

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        self._check_literal(node)

    def visit_ConcatenatedString(self, node: cst.ConcatenatedString) -> None:
        self._check_literal(node)

    def visit_FormattedString(self, node: cst.FormattedString) -> None:
        self._check_literal(node)

    def _check_literal(self, node: cst.BaseExpression) -> None:
        if not self._top_literal():
            return
        name = slot_name(self.context.ancestors)
        prefilter = self.patterns.prefilter
        if not prefilter.search(raw_text(node)) and (name is None or not prefilter.search(name)):
            return
        text = literal_text(node)
        if text is not None:
            self._report_first(node, text, name)

    def _report_first(self, node: cst.CSTNode, text: str, name: str | None) -> None:
        for match in self.patterns.search(text, name):
            self.report(
                node,
                f"{match.pattern.description} `{mask_secret(match.secret)}` in source "
                f"({match.pattern.id}): {_ROTATE}; a committed secret stays in the history",
                level=match.pattern.level or self.level,
                sensitive=True,
            )
            return

    def visit_Module(self, node: cst.Module) -> None:
        """Comments are not walked: find the lines whose comment holds a token, then their nodes."""
        hits = []
        for line in self.context.source.splitlines():
            start = line.find("#")
            if start < 0 or not self.patterns.prefilter.search(line, start):
                continue
            if next(iter(self.patterns.search(line[start:])), None) is not None:
                hits.append(line[start:])
        if hits:
            for comment in _comments(node):
                self._report_first(comment, comment.value, None)


def _comments(node: cst.CSTNode) -> Iterator[cst.Comment]:
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Comment):
            yield current
        else:
            stack.extend(current.children)


def _class_roles(knowledge: Knowledge) -> dict[str, str]:
    return {row["name"]: row["role"] for row in knowledge.rows("secret-classes")}


class _ClassRoles:
    """The roles (enum, settings) of the classes enclosing the walk, from the secret-classes table."""

    def __init__(self, context: FileContext) -> None:
        self.context = context
        self.table = context.knowledge.derived(_class_roles)
        self.local: dict[str, str] = {}  # classes of this file with a role, for subclasses
        self.stack: list[str | None] = []  # per enclosing ClassDef/FunctionDef: the class role, None for functions

    def enter_class(self, node: cst.ClassDef) -> None:
        role = None
        for base in node.bases:
            name = self.context.qualified_name(base.value) or ""
            role = self.table.get(name) or self.local.get(name)
            if role is None and name.endswith("Enum") and "enum" in self.context.imports.aliases:
                role = "enum"
            if role:
                break
        if role:
            self.local[node.name.value] = role
        self.stack.append(role or "class")

    def enter_function(self) -> None:
        self.stack.append(None)

    def leave(self) -> None:
        self.stack.pop()

    def body_role(self) -> str | None:
        """The role of the class whose body holds the current statement (``class`` if plain)."""
        return self.stack[-1] if self.stack else None


class HardcodedCredential(_SecretRule):
    """A credential literal in a credential slot (driver ``password=``, ``jwt.encode`` key, Flask
    ``SECRET_KEY``) or bound to a secret-named target (``DB_PASSWORD = "…"``)."""

    id = "BL202"

    @classmethod
    def trigger_tokens(cls, knowledge: Knowledge) -> Iterable[str]:
        return name_triggers(knowledge, ("password", "secret")) + knowledge.derived(_sink_words)

    def __init__(self, context: FileContext, level: str) -> None:
        super().__init__(context, level)
        self.origins = Origins(context)
        self.classes = _ClassRoles(context)
        self.sinks = context.knowledge.derived(_index_sinks)
        self.config_keys = {row["argument"]: row["what"] for row in self.sinks.get("<config>", [])}

    # --- scopes -------------------------------------------------------------------------------

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes.enter_class(node)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes.leave()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.classes.enter_function()

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.classes.leave()

    def visit_WithItem(self, node: cst.WithItem) -> None:
        self.origins.record_with(node)

    # --- assignments --------------------------------------------------------------------------

    def visit_Assign(self, node: cst.Assign) -> None:
        self.origins.record_assign(node)
        value = _string_value(node.value)
        if value is None or self.classes.body_role() in ("enum", "settings"):
            return
        for target in node.targets:
            if self._store(target.target, node.value, value):
                return

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        literal = _field_default(node.value, self.context)
        value = _string_value(literal)
        if value is None or literal is None or self.classes.body_role() in ("enum", "settings"):
            return
        self._store(node.target, literal, value)

    def _store(self, target: cst.BaseExpression, literal: cst.BaseExpression, value: str) -> bool:
        if isinstance(target, cst.Subscript) and _is_config(target.value):
            key = _subscript_key(target)
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
        name = self.origins.call_name(node)
        if name is not None:
            handled |= self._call_sinks(node, name, node.args)
            wrapped = self._middleware(node, name)
            if wrapped is not None:
                handled |= self._call_sinks(node, wrapped, node.args[1:])
            handled |= self._config_update(node)
        for arg in node.args:
            if arg.keyword is None or arg.keyword.value in handled:
                continue
            value = _string_value(arg.value)
            if value is not None:
                self._named(arg.value, value, arg.keyword.value)

    def _config_update(self, node: cst.Call) -> set[str]:
        """``app.config.update(SECRET_KEY="…")`` / ``from_mapping(...)``."""
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in ("update", "from_mapping"):
            return set()
        if not _is_config(func.value):
            return set()
        handled = set()
        for arg in node.args:
            value = _string_value(arg.value)
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
                expr = _second_item(expr)
                if expr is None:
                    continue
            value = _string_value(expr)
            if value is not None:
                self._sink(expr, value, row["what"], slot, argument)
        return handled

    # --- other slots --------------------------------------------------------------------------

    def visit_DictElement(self, node: cst.DictElement) -> None:
        name = _string_value(node.key)
        value = _string_value(node.value)
        if name is not None and value is not None:
            self._named(node.value, value, name)

    def visit_Param(self, node: cst.Param) -> None:
        value = _string_value(node.default)
        if value is not None and node.default is not None:
            self._named(node.default, value, node.name.value)

    def visit_Comparison(self, node: cst.Comparison) -> None:
        if len(node.comparisons) != 1 or not isinstance(node.comparisons[0].operator, (cst.Equal, cst.NotEqual)):
            return
        left, right = node.left, node.comparisons[0].comparator
        literal, other = (right, left) if is_string(right) else (left, right)
        value = _string_value(literal)
        name = target_name(other)
        if value is not None and name is not None:
            self._named(literal, value, name, compared=True)

    # --- verdicts -----------------------------------------------------------------------------

    def _sink(self, node: cst.CSTNode, value: str, what: str, slot: str, name: str | None = None) -> bool:
        if self._known_format(value, name) or is_password_hash(value.strip()):
            return True
        tier = credential_tier(value, (), self.words, sink=True, credential_like=True)
        if tier is None:
            return True
        self._report(node, value, tier, f"{what} passed to `{slot}`")
        return True

    def _named(self, node: cst.CSTNode, value: str, name: str, compared: bool = False) -> bool:
        tokens = name_tokens(name)
        kind = self.lexicon.sensitivity_of(tokens)
        if kind is None or self._known_format(value, name):
            return False
        credential_like = self.lexicon.is_credential_name(tokens)
        labels = self.lexicon.label_words(kind)
        tier = credential_tier(value, tokens, self.words, sink=False, credential_like=credential_like, labels=labels)
        if tier is None:
            return False
        noun = "password" if kind == PASSWORD else "secret"
        where = f"`{name}` compared with a hardcoded {noun}" if compared else f"hardcoded {noun} in `{name}`"
        self._report(node, value, tier, where)
        return True

    def _report(self, node: cst.CSTNode, value: str, tier: str, where: str) -> None:
        masked = mask_secret(value)
        if tier == STRONG:
            message, level = f"{where} (`{masked}`): {_ROTATE}", self.level
        elif tier == PLACEHOLDER:
            message = (
                f"{where} is a placeholder (`{masked}`): a deployment that forgets to override it runs "
                "with a public value; load it from the environment and fail when it is missing"
            )
            level = self._weak_level()
        else:
            message, level = f"{where} (`{masked}`, a guessable value): {_ROTATE}", self._weak_level()
        self.report(node, message, level=level, sensitive=True, fix=literal_to_environ(self.context, node))


def _shown(url: CredentialUrl) -> str:
    """The URL with its password masked, and its user too when it would give the password away
    (``postgres:postgres``)."""
    user, password = url.user, url.password
    if password.lower() in user.lower() or user.lower() in password.lower():
        user = "…"
    return f"{url.scheme}://{user}:{mask_secret(password)}@{url.host.replace(HOLE, '{…}')}"


def _sink_words(knowledge: Knowledge) -> tuple[str, ...]:
    # A sink's module must be imported to be called: its name is in the file.
    rows = knowledge.rows("secret-sinks")
    return tuple(sorted({r["argument"] if r["call"] == "<config>" else r["call"].split(".")[0] for r in rows}))


def _index_sinks(knowledge: Knowledge) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for row in knowledge.rows("secret-sinks"):
        out.setdefault(row["call"], []).append(row)
    return out


def _is_config(node: cst.BaseExpression) -> bool:
    """``app.config`` / ``current_app.config`` / ``config`` — a Flask-style config mapping."""
    if isinstance(node, cst.Attribute):
        return node.attr.value == "config"
    return isinstance(node, cst.Name) and node.value == "config"


def _second_item(node: cst.BaseExpression) -> cst.BaseExpression | None:
    if isinstance(node, (cst.Tuple, cst.List)) and len(node.elements) == 2:
        element = node.elements[1]
        return element.value if isinstance(element, cst.Element) else None
    return None


def _field_default(value: cst.BaseExpression | None, context: FileContext) -> cst.BaseExpression | None:
    """The default of an annotated field: the literal itself, or ``Field("x")``/``Field(default="x")``."""
    if isinstance(value, cst.Call) and (context.qualified_name(value.func) or "").rpartition(".")[2] == "Field":
        return _keyword(value, "default") or _positional(value, 0)
    return value


class CredentialsInUrl(_SecretRule):
    """A connection URL or connection string whose password is written in the literal."""

    id = "BL203"
    TRIGGERS = ("://", "password=", "Password=", "PASSWORD=", "PWD=", "Pwd=")

    _CONNINFO = re.compile(r"(?:^|[\s;])(?:password|pwd)\s*=\s*'?(?P<password>[^\s;']+)", re.IGNORECASE)
    _CONNINFO_CONTEXT = re.compile(
        r"(?:^|[\s;])(?:host|hostaddr|dbname|server|database|data source|user|uid)\s*=", re.IGNORECASE
    )

    def __init__(self, context: FileContext, level: str) -> None:
        super().__init__(context, level)
        self.origins = Origins(context)

    def visit_Assign(self, node: cst.Assign) -> None:
        self.origins.record_assign(node)

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        self._check(node)

    def visit_ConcatenatedString(self, node: cst.ConcatenatedString) -> None:
        self._check(node)

    def visit_FormattedString(self, node: cst.FormattedString) -> None:
        self._check(node)

    def _check(self, node: cst.BaseExpression) -> None:
        if not self._top_literal():
            return
        raw = raw_text(node)
        if "@" not in raw and "=" not in raw:
            return
        if isinstance(self.context.ancestors[-2], cst.Expr) or self._is_env_fallback():
            return
        text = literal_text(node)
        if text is None:
            return
        url = credential_url(text, self.words)
        if url is not None:
            self._report(node, url.password, url.local, f"connection URL `{_shown(url)}` carries its password")
            return
        self._check_conninfo(node, text)

    def _check_conninfo(self, node: cst.CSTNode, text: str) -> None:
        """libpq ``host=… password=…`` and ODBC ``Server=…;Pwd=…;`` connection strings."""
        match = self._CONNINFO.search(text)
        if match is None or not self._CONNINFO_CONTEXT.search(text):
            return
        password = match.group("password")
        if HOLE in password or password.lower() in self.words.url_placeholders or is_templated(password):
            return
        local = any(re.search(rf"(?i)(?:host|server)\s*=\s*'?{re.escape(h)}\b", text) for h in self.words.local_hosts)
        what = f"connection string carries its password (`password={mask_secret(password)}`)"
        self._report(node, password, local, what)

    def _report(self, node: cst.CSTNode, password: str, local: bool, what: str) -> None:
        level = self._weak_level() if local else self.level
        where = "a local development host" if local else "a remote host"
        self.report(
            node,
            f"{what} for {where}: build the URL from the environment (the whole URL, or the password alone); {_ROTATE}",
            level=level,
            sensitive=True,
            fix=literal_to_environ(self.context, node),
        )

    def _is_env_fallback(self) -> bool:
        """The default of ``os.getenv("DATABASE_URL", "…")``: BL204 reports it."""
        ancestors = self.context.ancestors
        if len(ancestors) < 3:
            return False
        parent, grand = ancestors[-2], ancestors[-3]
        if isinstance(parent, cst.Arg) and isinstance(grand, cst.Call):
            found = env_lookup(grand, self.origins, self.context.knowledge)
            return found is not None and found[1] is ancestors[-1]
        if isinstance(parent, cst.BooleanOperation) and parent.right is ancestors[-1]:
            left = _unwrap_await(parent.left)
            return isinstance(left, cst.Call) and env_lookup(left, self.origins, self.context.knowledge) is not None
        return False


_FixFor = Callable[[], Optional[PendingFix]]  # builds a finding's fix, only when it is reported


def _no_fix() -> PendingFix | None:
    return None


# An environment variable named ``*_TOKEN`` or ``*_DSN`` is a configured credential, even if a
# variable named ``token`` in code is not necessarily one.
_CONFIGURED_CREDENTIAL_TAILS = frozenset({"token", "tokens", "dsn", "credentials", "creds", "key"})


class SecretEnvFallback(_SecretRule):
    """A secret read from the environment with a hardcoded fallback (``os.getenv("SECRET_KEY", "dev")``)."""

    id = "BL204"

    @classmethod
    def trigger_tokens(cls, knowledge: Knowledge) -> Iterable[str]:
        return knowledge.derived(_fallback_triggers)

    def __init__(self, context: FileContext, level: str) -> None:
        super().__init__(context, level)
        self.origins = Origins(context)
        self.classes = _ClassRoles(context)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes.enter_class(node)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes.leave()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.classes.enter_function()

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.classes.leave()

    def visit_WithItem(self, node: cst.WithItem) -> None:
        self.origins.record_with(node)

    def visit_Assign(self, node: cst.Assign) -> None:
        self.origins.record_assign(node)
        if self.classes.body_role() == "settings" and len(node.targets) == 1:
            self._field(node.targets[0].target, node.value, _no_fix)  # unannotated: not a pydantic field

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if self.classes.body_role() == "settings":
            literal = _field_default(node.value, self.context)
            self._field(node.target, literal, lambda: settings_default_fix(node, self.context))

    def _field(self, target: cst.BaseExpression, literal: cst.BaseExpression | None, fix: _FixFor) -> None:
        name = target_name(target)
        value = _string_value(literal)
        if name is not None and value is not None and literal is not None:
            self._check(literal, value, name, f"settings field `{name}` defaults to", fix)

    def visit_Call(self, node: cst.Call) -> None:
        found = env_lookup(node, self.origins, self.context.knowledge)
        if found is None or found[1] is None:
            return
        key, default = found
        name = _string_value(key)
        value = _string_value(default)
        if name is not None and value is not None and default is not None:
            self._check(default, value, name, f"`{name}` falls back to", lambda: env_default_fix(node, self.context))

    def visit_BooleanOperation(self, node: cst.BooleanOperation) -> None:
        """``os.environ.get("SECRET_KEY") or "dev-secret"``."""
        left = _unwrap_await(node.left)
        if not isinstance(node.operator, cst.Or) or not isinstance(left, cst.Call):
            return
        found = env_lookup(left, self.origins, self.context.knowledge)
        value = _string_value(node.right)
        if found is None or value is None:
            return
        name = _string_value(found[0])
        if name is not None:
            self._check(node.right, value, name, f"`{name}` falls back to", lambda: env_or_fix(node, self.context))

    def _check(self, node: cst.CSTNode, value: str, name: str, where: str, fix: _FixFor) -> None:
        url = credential_url(value, self.words)
        if url is not None:
            self.report(
                node,
                f"{where} a URL with a hardcoded password (`{_shown(url)}`): a deployment without the variable "
                "silently uses it; require the variable and fail loudly when it is missing",
                sensitive=True,
                fix=fix(),
            )
            return
        tokens = name_tokens(name)
        kind = self.lexicon.sensitivity_of(tokens)
        if kind is None or self._known_format(value, name):
            return
        credential_like = self.lexicon.is_credential_name(tokens) or tokens[-1] in _CONFIGURED_CREDENTIAL_TAILS
        labels = self.lexicon.label_words(kind)
        tier = credential_tier(value, tokens, self.words, sink=False, credential_like=credential_like, labels=labels)
        if tier is None:
            return
        kind = "placeholder" if tier == PLACEHOLDER else "hardcoded"
        self.report(
            node,
            f"{where} a {kind} secret (`{mask_secret(value)}`): a deployment without the variable silently "
            "runs with it; require the variable (os.environ[...], a settings field without default) and fail loudly",
            sensitive=True,
            fix=fix(),
        )


def _fallback_triggers(knowledge: Knowledge) -> tuple[str, ...]:
    words = {row["trigger"] for row in knowledge.rows("secret-env-lookups")}
    words |= {row["name"].rpartition(".")[2] for row in knowledge.rows("secret-classes") if row["role"] == "settings"}
    return tuple(sorted(words))


_UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")


class HighEntropyLiteral(_SecretRule):
    """A long random-looking literal bound to a name (opt-in; entropy alone is a noisy signal)."""

    id = "BL205"

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            name = target_name(target.target)
            if name is not None:
                self._check(node.value, name)
                return

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        name = target_name(node.target)
        if name is not None and node.value is not None:
            self._check(node.value, name)

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self._check(node.value, node.keyword.value)

    def _check(self, literal: cst.BaseExpression, name: str) -> None:
        value = _string_value(literal)
        if value is None or len(value) < 20 or " " in value:
            return
        tokens = name_tokens(name)
        if not tokens or any(t in self.lexicon.entropy_exempt for t in tokens):
            return
        if self.lexicon.sensitivity_of(tokens) is not None:  # BL202's
            return
        if _UUID.match(value) or is_sequential(value) or is_templated(value) or is_password_hash(value):
            return
        options = self.context.options
        if not high_entropy(value, options["entropy-base64-limit"], options["entropy-hex-limit"]):
            return
        if self._known_format(value, name):
            return
        self.report(
            literal,
            f"`{name}` holds a high-entropy literal (`{mask_secret(value)}`) that looks like a key; "
            f"if it is one, {_ROTATE}",
            sensitive=True,
        )
