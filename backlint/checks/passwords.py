"""BL3xx: plaintext passwords — hashed with a slow KDF before storage; never compared, logged,
returned or sent in a URL in clear.

The six rules read one analysis per file, ``PasswordFlow`` (backlint/analysis/passwords/): an
abstract interpreter that tracks what every local holds and records where passwords end up, as
facts. Each rule decides which facts it reports, and how; BL301 is judged over the project, so
that a model defined elsewhere whose ``password`` is a hashing property clears the stores through it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from typing import Any

import libcst as cst

from backlint.analysis.lazy import lazy_fix, steps_locator
from backlint.analysis.passwords.classes import column_type, encrypts_on_write
from backlint.analysis.passwords.facts import (
    ASSIGNED,
    COMPARED,
    LOGGED_DOCUMENT,
    LOGGED_HEADER,
    LOGGED_MODEL,
    LOGGED_PASSWORD,
    LOGGED_REQUEST,
    PASSES_CONSTANT,
    PASSES_HASH,
    PASSES_OTHER,
    PATH_PARAMETER,
    PERSISTED,
    QUERY_READ,
    RETURNED,
    RETURNED_TO_CLIENT,
    ROUTE_PATH,
    SENT,
    STORED_BY,
    Compared,
    CopiedIntoModel,
    DigestUsedAsHash,
    EncodedUsedAsHash,
    HashCost,
    InToken,
    InUrl,
    Logged,
    LookedUp,
    NotAHash,
    PasswordFact,
    ResponseModelField,
    Returned,
    SecretDigest,
    SerializedPassword,
    Stored,
    TextAddedStoredAsHash,
    ThroughCall,
)
from backlint.analysis.passwords.fixes import create_user_fix, write_only_fix
from backlint.analysis.passwords.flow import PasswordFlow
from backlint.analysis.passwords.tables import password_tables
from backlint.analysis.passwords.values import STORED, code_text
from backlint.analysis.strings import PASSWORD, Lexicon, lexicon, name_tokens, name_triggers
from backlint.core.catalog import Knowledge
from backlint.core.facts import FactCollector, ProjectFinding, ProjectRule
from backlint.core.results import FileKind, ModuleFacts, RelatedLocation
from backlint.core.rule import FileContext, PendingFix, Rule

_HASH_ADVICE = (
    "use a slow password hash (bcrypt, argon2 or scrypt via passlib/pwdlib, "
    "werkzeug's generate_password_hash, Django's make_password)"
)
_STORE_ADVICE = (
    "hash it with a slow password hash (bcrypt/argon2 via passlib or pwdlib, "
    "Django's set_password/create_user) and store only the hash"
)
_URL_ADVICE = "URLs end up in access logs, browser history and Referer headers; send the password in the request body"
_COMPARE_ADVICE = (
    "the stored password is kept in clear and `==` leaks timing; store a slow hash and check it with its verify "
    "function (pwd_context.verify, check_password_hash, bcrypt.checkpw)"
)


@dataclasses.dataclass(frozen=True)
class Verdict:
    """A fact a rule reports: where, what it says, and what the project pass and the fix need."""

    rule_id: str
    node: cst.CSTNode
    message: str
    level: str | None = None
    related: tuple[tuple[cst.CSTNode, str], ...] = ()
    model: tuple[str, str] | None = None  # BL301: (qualified class, field) the store goes through
    fix: PendingFix | None = None
    # BL301: the stored value is this parameter of the function (name, parameter, index, a method?).
    parameter: tuple[str, str, int, bool] | None = None
    constructor: bool = False  # BL301: written by calling the model class, whose __init__ may hash


# Which rule reports each kind of fact. A flow through a call into a module function is reported by
# the rule of what happens there, for stores, hashes and logs only (_THROUGH_CALLS).
_RULE_OF: dict[type[PasswordFact], str] = {
    Stored: "BL301",
    CopiedIntoModel: "BL301",
    TextAddedStoredAsHash: "BL302",
    DigestUsedAsHash: "BL302",
    EncodedUsedAsHash: "BL302",
    NotAHash: "BL302",
    HashCost: "BL302",
    Compared: "BL303",
    LookedUp: "BL303",
    Logged: "BL304",
    Returned: "BL305",
    ResponseModelField: "BL305",
    SerializedPassword: "BL305",
    InToken: "BL305",
    InUrl: "BL306",
    SecretDigest: "BL307",
}
_THROUGH_CALLS = frozenset({"BL301", "BL302", "BL304"})


def rule_of(fact: PasswordFact) -> str | None:
    if isinstance(fact, ThroughCall):
        inner = rule_of(fact.inner)
        return inner if inner in _THROUGH_CALLS else None
    return _RULE_OF.get(type(fact))


def verdicts(flow: PasswordFlow, rule_id: str, context: FileContext) -> Iterator[Verdict]:
    """``rule_id``'s findings among the flow's facts, one per node (the first fact found there)."""
    seen: set[int] = set()
    for fact in flow.facts:
        if rule_of(fact) != rule_id or id(fact.node) in seen:
            continue
        verdict = judge(fact, rule_id, flow, context)
        if verdict is not None:
            seen.add(id(fact.node))
            yield verdict


def judge(fact: PasswordFact, rule_id: str, flow: PasswordFlow, context: FileContext) -> Verdict | None:
    """The finding ``rule_id`` makes of ``fact``, or None when the fact is no finding."""
    node = fact.node
    if isinstance(fact, ThroughCall):
        inner = judge(fact.inner, rule_id, flow, context)
        if inner is None:
            return None
        message = f"`{code_text(node)}` is passed to `{fact.function}()`, where {inner.message}"
        return Verdict(
            rule_id, node, message, inner.level, ((inner.node, "here, inside the called function"),), inner.model
        )
    if isinstance(fact, Stored):
        if fact.origin == STORED and fact.from_attribute:
            return None  # an object's own password field copied into a document: what the object holds
        if fact.model is not None and _service_credential(fact.model, context):
            return None  # an SMTP/LDAP/RADIUS server's password: the app must present it in the clear
        if lexicon(context.knowledge).is_service_login(fact.record):
            return None  # written beside a host or port: the login of a service the app connects to
        fix = create_user_fix(fact.user_manager_call) if fact.user_manager_call is not None else None
        message = f"`{code_text(node)}` is stored unhashed by `{fact.sink}`: {_STORE_ADVICE}"
        source = _source(fact.source)
        return Verdict(
            rule_id,
            node,
            message,
            related=source,
            model=fact.model,
            fix=fix,
            parameter=fact.parameter,
            constructor=fact.constructor,
        )
    if isinstance(fact, CopiedIntoModel):
        message = (
            f"`{code_text(node)}` copies the request's `{fact.field}` into `{fact.model}` unhashed: {_STORE_ADVICE}"
        )
        return Verdict(rule_id, node, message)
    if isinstance(fact, HashCost):
        minimum = context.options[fact.minimum_option] if fact.minimum_option else fact.minimum
        if fact.cost >= minimum or fact.data == "secret":
            return None  # enough; or deriving a key from a secret, not storing a password
        message = (
            f"`{fact.param}={fact.written}` is too low for `{fact.hasher}` (at least {minimum:,}): "
            "a cheap hash lets stolen hashes be cracked quickly"
        )
        return Verdict(rule_id, node, message, "warning")
    if isinstance(fact, (TextAddedStoredAsHash, DigestUsedAsHash, EncodedUsedAsHash, NotAHash)):
        return Verdict(rule_id, node, *_weak_hash(fact))
    if isinstance(fact, Compared):
        message = (
            f"plaintext password comparison (`{code_text(fact.left)}` vs `{code_text(fact.right)}`): {_COMPARE_ADVICE}"
        )
        return Verdict(rule_id, node, message)
    if isinstance(fact, LookedUp):
        message = (
            f"the password (`{code_text(node)}`) is a lookup key of `{fact.place}`: the database compares it with a "
            "stored password kept in clear; store a slow hash, find the user by name and check the hash with its "
            "verify function (pwd_context.verify, check_password_hash, bcrypt.checkpw)"
        )
        return Verdict(rule_id, node, message)
    if isinstance(fact, InToken):
        message = (
            f"the password (`{code_text(node)}`) is put in the payload of `{fact.place}`: a JWT payload is encoded, "
            "not encrypted, and whoever holds the token reads it; put an identifier in the token"
        )
        return Verdict(rule_id, node, message)
    if isinstance(fact, Logged):
        if fact.what == LOGGED_REQUEST and fact.detail == "body" and fact.handler and not fact.credentials:
            return None  # one endpoint's own form, and nothing in its names speaks of credentials
        what, level = _logged(fact)
        message = f"{what} (`{code_text(node)}`) is written to the logs: log an identifier or a masked value instead"
        return Verdict(rule_id, node, message, level)
    if isinstance(fact, (Returned, ResponseModelField, SerializedPassword)):
        return _response(fact, rule_id, flow)
    if isinstance(fact, InUrl):
        return Verdict(rule_id, node, f"{_in_url(fact)}: {_URL_ADVICE}")
    if isinstance(fact, SecretDigest):
        return _secret_digest(fact, rule_id, flow)
    return None


def _service_credential(model: tuple[str, str], context: FileContext) -> bool:
    """The model or its field names another service the app logs in to (``SMTPServer.password``,
    ``LdapResolver.bind_password``): a credential it presents, which it cannot keep as a hash."""
    cls, field = model
    return lexicon(context.knowledge).is_client((*name_tokens(cls.rpartition(".")[2]), *name_tokens(field)))


def _source(node: cst.CSTNode | None) -> tuple[tuple[cst.CSTNode, str], ...]:
    return () if node is None else ((node, "the password comes from here"),)


def _weak_hash(
    fact: TextAddedStoredAsHash | DigestUsedAsHash | EncodedUsedAsHash | NotAHash,
) -> tuple[str, str | None, tuple[tuple[cst.CSTNode, str], ...]]:
    """BL302's message, level and related locations for a password that is not hashed as it should be."""
    if isinstance(fact, TextAddedStoredAsHash):
        message = (
            f"`{code_text(fact.node)}` is stored as the password's hash by `{fact.sink}`, but it is the password "
            f"itself with text added; {_HASH_ADVICE}"
        )
        return message, None, _source(fact.source)
    if isinstance(fact, NotAHash):
        message = f"`{fact.function}()` does not hash: it returns a string built from the password; {_HASH_ADVICE}"
        return message, None, ()
    where = {
        ASSIGNED: f"is stored in `{fact.place}`",
        STORED_BY: f"is stored by `{fact.place}`",
        RETURNED: f"is returned by `{fact.place}()`",
        COMPARED: "is compared with a stored hash",
    }[fact.use]
    if isinstance(fact, EncodedUsedAsHash):
        return f"a password is encoded, not hashed (the result {where}); {_HASH_ADVICE}", None, ()
    call = fact.node.func if isinstance(fact.node, cst.Call) else fact.node
    message = f"`{code_text(call)}` is a fast digest, not a password hash (its result {where}): {_HASH_ADVICE}"
    return message, None, _source(fact.source)


def _logged(fact: Logged) -> tuple[str, str | None]:
    """BL304: how to name what is logged, and the finding's level (None: the rule's own)."""
    if fact.what == LOGGED_PASSWORD:
        what, level = "a password", None
    elif fact.what == LOGGED_REQUEST:
        what, level = f"the whole request {fact.detail} (may carry credentials)", "warning"
    elif fact.what == LOGGED_DOCUMENT:
        what, level = "a document holding a password", None
    elif fact.what == LOGGED_MODEL:
        what, level = f"`{fact.detail}` with its password field", "warning"
    elif fact.what == LOGGED_HEADER:
        what, level = "a credential header of the request", "warning"
    else:
        what, level = "a secret", "warning"
    if fact.part:
        return "part of " * fact.part + what, "note"
    return what, level


def _response(
    fact: Returned | ResponseModelField | SerializedPassword, rule_id: str, flow: PasswordFlow
) -> Verdict | None:
    """BL305: a password (or its hash) sent to the client."""
    node = fact.node
    if isinstance(fact, Returned):
        message = f"the endpoint returns a password (`{code_text(node)}`) to the client; leave it out of the response"
        return Verdict(rule_id, node, message)
    if isinstance(fact, ResponseModelField):
        if flow.index.lex.is_client((*name_tokens(fact.field), *name_tokens(fact.model))):
            return None  # a service account's password (LDAP bind, Jupyter): configuration, no user's password
        what = (
            "the password hash is sent to every client; leave it out of the response model"
            if fact.hashed
            else "the password is sent back to the client; use a response model without it"
        )
        message = f"response model `{fact.model}` includes `{fact.field}`: {what}"
        return Verdict(rule_id, node, message, "note" if fact.hashed else None)
    if fact.verified:
        return None  # the current password checked by the serializer: a login or change form, read in
    fix = None
    if not fact.declared:
        assert isinstance(node, cst.BaseExpression)
        fix = write_only_fix(flow.index.module, fact.class_node, fact.meta, node, fact.known_bases)
    message = (
        f"serializer `{fact.serializer}` returns the model's `password` field to clients; mark it "
        'write-only: extra_kwargs = {"password": {"write_only": True}}'
    )
    return Verdict(rule_id, node, message, fix=fix)


def _in_url(fact: InUrl) -> str:
    """BL306: how the password gets into the URL."""
    if fact.how == ROUTE_PATH:
        return f"route path puts `{fact.name}` in the URL"
    if fact.how == PATH_PARAMETER:
        return f"path parameter `{fact.name}` puts the password in the URL"
    if fact.how == QUERY_READ:
        return f"password read from the URL query (`{code_text(fact.node)}`)"
    return f"`{fact.name}` is a URL {fact.detail} parameter"


# Digests broken for security use (collisions found in practice); SHA-2, SHA-3 and BLAKE2 are not.
_BROKEN_DIGESTS = {"md5": "MD5", "sha1": "SHA-1", "sha": "SHA-1"}


def _secret_digest(fact: SecretDigest, rule_id: str, flow: PasswordFlow) -> Verdict | None:
    """BL307: a broken digest of secret data, persisted, sent or returned to the client. Not when made
    ``usedforsecurity=False``, not under a checksum, ETag or cache-key name, not when BL302 reports
    the same digest as a password hash."""
    algorithm = _BROKEN_DIGESTS.get(fact.algorithm)
    if algorithm is None or not fact.for_security:
        return None
    squashed = "".join(name_tokens(fact.name))  # ETag -> (e, tag) -> etag
    if any(word in squashed for word in flow.index.k.checksum_words):
        return None
    if any(isinstance(other, DigestUsedAsHash) and other.node is fact.node for other in flow.facts):
        return None
    call = fact.node.func if isinstance(fact.node, cst.Call) else fact.node
    where = {
        PERSISTED: f"is stored by `{fact.place}`",
        SENT: f"is sent in `{fact.place}`",
        RETURNED_TO_CLIENT: "is returned to the client",
    }[fact.use]
    message = (
        f"`{code_text(call)}` computes {algorithm}, a broken hash, over secret data and its result {where}: "
        "use SHA-256, or an HMAC (`hmac.new(key, data, 'sha256')`) for a token or a signature"
    )
    return Verdict(rule_id, fact.node, message)


def _password_triggers(knowledge: Knowledge, extra: Iterable[str] = ()) -> tuple[str, ...]:
    return name_triggers(knowledge, (PASSWORD,)) + tuple(extra)


class _PasswordRule(Rule):
    """Reports this rule's share of the file's ``PasswordFlow``; not a rule itself (no id)."""

    REQUIRES = (PasswordFlow,)

    @classmethod
    def trigger_tokens(cls, knowledge: Knowledge) -> Iterable[str]:
        return _password_triggers(knowledge)

    def leave_Module(self, node: cst.Module) -> None:
        flow = self.context.get(PasswordFlow)
        for verdict in verdicts(flow, self.id, self.context):
            self.report(verdict.node, verdict.message, level=verdict.level, related=verdict.related, fix=verdict.fix)


class PasswordFacts(FactCollector):
    """Records BL301's candidate stores and every ORM class's setter fields for the project pass:
    a model imported from another module may hash in a property setter (``user.password = pw``)."""

    REQUIRES = (PasswordFlow,)

    @classmethod
    def trigger_tokens(cls, knowledge: Any) -> Iterable[str]:
        return _password_triggers(knowledge)

    def leave_Module(self, node: cst.Module) -> None:
        flow = self.context.get(PasswordFlow)
        for site in flow.index.call_sites:
            self.context.add_fact(
                CALLS_FACT, {"callee": site.callee, "qualified": site.qualified, "arguments": dict(site.arguments)}
            )
        if self.context.kind is not FileKind.PRODUCTION:
            return
        locate = self.context.locate
        for verdict in verdicts(flow, "BL301", self.context):
            fix = lazy_fix(verdict.fix, steps_locator(node, self.context.path))
            self.context.add_fact(
                STORES_FACT,
                {
                    "span": locate(verdict.node),
                    "message": verdict.message,
                    "level": verdict.level,
                    "related": [(locate(n), m) for n, m in verdict.related],
                    "model": verdict.model,
                    "fix": fix,
                    "parameter": verdict.parameter,
                    "constructor": verdict.constructor,
                },
            )
        index = flow.index
        for info in index.classes.values():
            if _is_service_login(info.fields, index.lex):
                self.context.add_fact(SERVICE_LOGINS_FACT, {"class": index.class_qualname(info.name)})
            fields = index.has_password_field(info)
            types = {f: t for f in fields if (t := column_type(info.fields[f], index.qualified)) is not None}
            if info.kind == "orm" or info.setters or info.init_hashed or types:
                bases = [index.qualified(b.value) or "" for b in info.node.bases]
                qualname = index.class_qualname(info.name)
                self.context.add_fact(
                    SETTERS_FACT,
                    {
                        "class": qualname,
                        "bases": bases,
                        "setters": sorted(info.setters),
                        "init-hashed": sorted(info.init_hashed),
                        "column-types": types,
                    },
                )


class EncryptedColumnTypes(FactCollector):
    """Records the project's SQLAlchemy column types that encrypt what is written (a ``TypeDecorator``
    whose ``process_bind_param`` encrypts, lemur's ``Vault``): BL301 does not report a password
    stored in a column of such a type, which keeps ciphertext, in any module."""

    TRIGGERS = ("process_bind_param",)

    def leave_Module(self, node: cst.Module) -> None:
        module = self.context.module_name
        for statement in node.body:
            if isinstance(statement, cst.ClassDef) and encrypts_on_write(statement, self.context.qualified_name):
                name = f"{module}.{statement.name.value}" if module else statement.name.value
                self.context.add_fact(ENCRYPTED_TYPES_FACT, {"class": name})


def _is_service_login(fields: Iterable[str], lex: Lexicon) -> bool:
    """A class declaring a password field beside an address field (host, port): another service's login."""
    words = [name_tokens(f) for f in fields]
    return any(lex.sensitivity_of(w) == PASSWORD for w in words) and lex.is_service_login(t for w in words for t in w)


STORES_FACT = "password-stores"
SERVICE_LOGINS_FACT = "password-service-logins"
SETTERS_FACT = "password-model-setters"
CALLS_FACT = "password-call-sites"
ENCRYPTED_TYPES_FACT = "password-encrypted-column-types"


class PlaintextPasswordPersisted(ProjectRule):
    """A password stored unhashed: ORM constructor or attribute, Django ``objects.create``, SQL INSERT/UPDATE, Mongo.

    Judged over the project so that a model whose ``password`` is a hashing property, defined in
    another module, clears the stores that go through it.
    """

    id = "BL301"

    def check(self, modules: list[ModuleFacts]) -> list[ProjectFinding]:
        setters: dict[str, tuple[list[str], set[str]]] = {}
        by_name: dict[str, set[str]] = {}
        # The same for the fields each class's constructor hashes (a store by calling the class).
        init_setters: dict[str, tuple[list[str], set[str]]] = {}
        init_by_name: dict[str, set[str]] = {}
        for module in modules:
            for fact in module.get(SETTERS_FACT):
                setters[fact["class"]] = (fact["bases"], set(fact["setters"]))
                by_name.setdefault(fact["class"].rpartition(".")[2], set()).update(fact["setters"])
                init = set(fact.get("init-hashed", ())) | set(fact["setters"])
                init_setters[fact["class"]] = (fact["bases"], init)
                init_by_name.setdefault(fact["class"].rpartition(".")[2], set()).update(init)
        # Password columns whose type encrypts (the table's types and the project's TypeDecorators).
        encrypting = set(password_tables(self.project.knowledge).role("encrypted-type"))
        # The project's own types, by qualified name or, failing resolution, by class name.
        project_types = {fact["class"] for module in modules for fact in module.get(ENCRYPTED_TYPES_FACT)}
        encrypting |= project_types
        short_names = {name.rpartition(".")[2] for name in project_types}
        encrypted: dict[str, tuple[list[str], set[str]]] = {}
        encrypted_by_name: dict[str, set[str]] = {}
        for module in modules:
            for fact in module.get(SETTERS_FACT):
                types = fact.get("column-types", {}).items()
                fields = {f for f, kind in types if kind in encrypting or kind.rpartition(".")[2] in short_names}
                encrypted[fact["class"]] = (fact["bases"], fields)
                encrypted_by_name.setdefault(fact["class"].rpartition(".")[2], set()).update(fields)
        logins = {fact["class"] for module in modules for fact in module.get(SERVICE_LOGINS_FACT)}
        login_names = {name.rpartition(".")[2] for name in logins}
        calls: dict[str, list[dict[str, str]]] = {}
        for module in modules:
            for site in module.get(CALLS_FACT):
                calls.setdefault(site["callee"], []).append(site["arguments"])
        out = []
        for module in modules:
            for fact in module.get(STORES_FACT):
                model = fact["model"]
                if model is not None and _has_setter(model[0], model[1], setters, by_name):
                    continue
                if model is not None and _has_setter(model[0], model[1], encrypted, encrypted_by_name):
                    continue  # an encrypted column: it keeps ciphertext, for a credential the app must recover
                constructed = model is not None and fact.get("constructor")
                if constructed and _has_setter(model[0], model[1], init_setters, init_by_name):
                    continue  # the model's constructor hashes the field it is given
                if model is not None and _service_login(model[0], logins, login_names, setters):
                    continue  # a model declared elsewhere with a host or port: another service's login
                if fact.get("parameter") is not None and _callers_pass_hashes(fact["parameter"], calls):
                    continue
                related = [RelatedLocation(module.path, span, message) for span, message in fact["related"]]
                fix = fact["fix"].resolve() if fact.get("fix") is not None else None
                out.append(
                    ProjectFinding(self.id, module.path, fact["span"], fact["message"], fact["level"], related, fix)
                )
        return out


def _callers_pass_hashes(parameter: list[Any] | tuple[Any, ...], calls: dict[str, list[dict[str, str]]]) -> bool:
    """Does every call of the function, in the whole project, pass a hash or a constant (a marker
    such as ``"!"`` for accounts that log in elsewhere) for the stored parameter? Calls are matched by
    the called name; a function called nowhere keeps its finding."""
    function, name, index, method = parameter
    sites = calls.get(function, [])
    position = str(index - 1 if method else index)
    passed = [site.get(name) or site.get(position) or PASSES_OTHER for site in sites]
    return bool(passed) and all(p in (PASSES_HASH, PASSES_CONSTANT) for p in passed)


def _service_login(cls: str, logins: set[str], names: set[str], known: dict[str, Any]) -> bool:
    """Is ``cls`` a service's login record (or, failing resolution, a class of that name is one)?"""
    return cls in logins or (cls not in known and cls.rpartition(".")[2] in names)


def _has_setter(
    cls: str, field: str, setters: dict[str, tuple[list[str], set[str]]], by_name: dict[str, set[str]]
) -> bool:
    """Does ``cls`` (or a base, or failing resolution any class of that name) set ``field`` through code?"""
    seen: set[str] = set()
    pending = [cls]
    while pending:
        current = pending.pop()
        if current in seen or len(seen) > 20:
            continue
        seen.add(current)
        if current in setters:
            bases, fields = setters[current]
            if field in fields:
                return True
            pending.extend(bases)
    if cls not in setters:
        return field in by_name.get(cls.rpartition(".")[2], set())
    return False


class WeakPasswordHash(_PasswordRule):
    """A password "hashed" with a fast digest, an encoding or a home-made helper, or with too low a cost."""

    id = "BL302"

    @classmethod
    def trigger_tokens(cls, knowledge: Knowledge) -> Iterable[str]:
        return _password_triggers(knowledge, ("pbkdf2_hmac", "gensalt"))


class PlaintextPasswordComparison(_PasswordRule):
    """A password from the request compared with ``==`` to a stored password."""

    id = "BL303"


class CredentialLogged(_PasswordRule):
    """A password, a secret or a whole request body written to the logs or the console."""

    id = "BL304"

    @classmethod
    def trigger_tokens(cls, knowledge: Knowledge) -> Iterable[str]:
        return ("log", "Log", "LOG", "print", "write", "capture_")


class PasswordInApiResponse(_PasswordRule):
    """An endpoint whose response carries a password: response model field, returned dict, DRF serializer."""

    id = "BL305"


class BrokenHashOfSecret(_PasswordRule):
    """A secret (a token, a key, a string built from a password) digested with MD5 or SHA-1, and the
    digest persisted, sent or returned to the client."""

    id = "BL307"

    @classmethod
    def trigger_tokens(cls, knowledge: Knowledge) -> Iterable[str]:
        return ("md5", "MD5", "Md5", "sha1", "SHA1", "Sha1", "SHA.")


class PasswordInUrlQuery(_PasswordRule):
    """A password read from the URL: query parameter, ``request.args``, route path template."""

    id = "BL306"
