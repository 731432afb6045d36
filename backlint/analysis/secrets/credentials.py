"""Credential literals (BL202's detector): a literal in a credential slot of the secret-sinks table
(driver ``password=``, ``jwt.encode`` key, Flask ``SECRET_KEY``) or bound to a secret-named target
(``DB_PASSWORD = "…"``), with its tier (strong, weak, placeholder)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable
from typing import Any

import libcst as cst

from backlint.analysis.scopes import Scopes
from backlint.analysis.secrets.branches import in_development_branch
from backlint.analysis.secrets.examples import in_documentation_example
from backlint.analysis.secrets.facts import NamedCredential, SecretFact, SinkCredential
from backlint.analysis.secrets.guards import default_setting, stops, verify_names
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
    PLACEHOLDER,
    STRONG,
    condition_names,
    credential_tier,
    is_password_hash,
    is_string,
    lexicon,
    name_tokens,
    secret_patterns,
    value_words,
)
from backlint.core.catalog import Knowledge
from backlint.core.imports import dotted_name
from backlint.core.results import FileKind
from backlint.core.rule import Analysis, FileContext
from backlint.pipeline.walk import children


def sink_words(knowledge: Knowledge) -> tuple[str, ...]:
    """A sink's module must be imported to be called: its name is in the file."""
    return knowledge.derived(_sink_words)


def _sink_words(knowledge: Knowledge) -> tuple[str, ...]:
    words = {_sink_word(r) for r in knowledge.rows("secret-sinks")}
    hashers = _password_hashers(knowledge)
    words |= {name.split(".")[0] for name in (*hashers.exact, *hashers.prefixes)} | hashers.methods
    return tuple(sorted(words))


def _sink_word(row: dict[str, Any]) -> str:
    if row["call"] == "<config>":
        return str(row["argument"])
    head, _, tail = row["call"].partition(".")
    return str(tail if head == ANY_RECEIVER else head)


# A secret-sinks row whose call is ``*.<method>`` matches that method on any receiver (``User.objects.create_user``).
ANY_RECEIVER = "*"


@dataclasses.dataclass(frozen=True)
class _Hashers:
    """The slow password hashers of the ``password-hashers`` table: their first argument is a password."""

    exact: frozenset[str]
    prefixes: tuple[str, ...]
    methods: frozenset[str]

    def hashes(self, name: str) -> bool:
        if name in self.exact:
            return True
        if any(name.startswith(p + ".") for p in self.prefixes):
            return name.rpartition(".")[2] in ("hash", "encrypt")  # not verify(secret, hash)
        return name.rpartition(".")[2] in self.methods


def _password_hashers(knowledge: Knowledge) -> _Hashers:
    return knowledge.derived(_hasher_index)


def _hasher_index(knowledge: Knowledge) -> _Hashers:
    rows = [r for r in knowledge.rows("password-hashers") if r["kind"] == "hash" and "param" not in r]
    return _Hashers(
        frozenset(r["name"] for r in rows if r.get("match") is None),
        tuple(r["name"] for r in rows if r.get("match") == "prefix"),
        frozenset(r["name"] for r in rows if r.get("match") == "method"),
    )


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
        self.hashers = _password_hashers(knowledge)
        self.config_keys = {row["argument"]: row["what"] for row in self.sinks.get("<config>", [])}
        self.facts: list[SecretFact] = []
        self._demo_script: bool | None = None
        # name -> (its uses, those as a public keyword argument): computed when a literal is bound.
        self._public_uses: dict[str, tuple[int, int, int]] | None = None
        self._demo_records: dict[int, bool] = {}  # id of a dict literal -> does it hold a demo login?

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
        if name is None:
            return False
        if isinstance(target, cst.Name) and self.lexicon.sensitivity(name) and self._passed_only_as_public(name):
            return True  # a KDF's salt, a cipher's nonce: public by design
        return self._named(literal, value, name)

    def _passed_only_as_public(self, name: str) -> bool:
        """Is every use of ``name`` in the module (its bindings aside) a public keyword argument of a
        call (``PBKDF2HMAC(salt=NAME)``, the lexicon's public-argument words)?"""
        loads, public, _ = self._uses(name)
        return public > 0 and public == loads

    def _uses(self, name: str) -> tuple[int, int, int]:
        if self._public_uses is None:
            module = self.context.ancestors[0]
            self._public_uses = _public_uses(module, self.lexicon.public_arguments, verify_names(self.context))
        return self._public_uses.get(name, (0, 0, 0))

    # --- calls --------------------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        handled: set[str] = set()
        name = self.local.call_name(node)
        if name is None and isinstance(node.func, cst.Attribute):
            name = node.func.attr.value  # a method of a receiver not followed: the `*.<method>` rows
        if name is not None:
            self._hashed_literal(node, name)
            handled |= self._call_sinks(node, name, node.args)
            wrapped = self._middleware(node, name)
            if wrapped is not None:
                handled |= self._call_sinks(node, wrapped, node.args[1:])
            handled |= self._config_update(node)
        for arg in node.args:
            if arg.keyword is None or arg.keyword.value in handled:
                continue
            value = string_value(arg.value)
            if value is None or not self.lexicon.sensitivity(arg.keyword.value):
                continue
            if not self._demo_login((a.keyword.value, a.value) for a in node.args if a.keyword):
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

    def _hashed_literal(self, node: cst.Call, name: str) -> None:
        """``bcrypt.hash("admin123")``, ``user.set_password("admin")``: a literal password hashed."""
        if not node.args or node.args[0].keyword is not None or node.args[0].star:
            return
        if not self.hashers.hashes(name) or name in self.sinks:
            return  # a call the secret-sinks table names (keyring.set_password): its rows say where the password is
        if self._names_a_dummy_hash():
            return  # PLACEHOLDER_HASH = bcrypt.hashpw(b"placeholder", ...): verified to even out timing
        expr = node.args[0].value
        value = string_value(expr)
        if value is not None and not self._self_test(value):
            self._sink(expr, value, "a password", f"{name}()")

    def _self_test(self, value: str) -> bool:
        """Is the hashed literal checked against its own hash in the same block (``hash =
        argon2.hash("test")`` then ``assert argon2.verify("test", hash)``)? A self-test of the hashing
        backend (octoprint picks its hasher so), not an account's password."""
        verifiers = verify_names(self.context)
        block = next((a for a in reversed(self.context.ancestors) if isinstance(a, cst.IndentedBlock)), None)
        stack: list[cst.CSTNode] = [block if block is not None else self.context.ancestors[0]]
        while stack:
            current = stack.pop()
            if isinstance(current, cst.Call):
                func = current.func
                tail = func.attr.value if isinstance(func, cst.Attribute) else dotted_name(func) or ""
                if tail in verifiers and any(string_value(a.value) == value for a in current.args):
                    return True
            if not isinstance(current, (cst.FunctionDef, cst.ClassDef)):  # nested defs run elsewhere
                stack.extend(current.children)
        return False

    def _names_a_dummy_hash(self) -> bool:
        """The hash is bound to a name saying it is a placeholder (``PLACEHOLDER_HASH``, ``DUMMY_HASH``),
        or to a module constant only ever given to a password check (ralph's ``UNUSED_PASSWORD``, checked
        for unknown users so that a failed login costs a hash check too): a timing dummy."""
        ancestors = self.context.ancestors
        for parent in reversed(ancestors):
            if isinstance(parent, (cst.Assign, cst.AnnAssign)):
                targets = [t.target for t in parent.targets] if isinstance(parent, cst.Assign) else [parent.target]
                names = "".join((target_name(t) or "").lower() for t in targets)
                if any(p in names for p in self.words.placeholders):
                    return True
                if parent is not ancestors[2] or len(targets) != 1 or not isinstance(targets[0], cst.Name):
                    return False
                loads, _, verified = self._uses(targets[0].value)
                return verified > 0 and verified == loads
            if isinstance(parent, (cst.BaseSuite, cst.FunctionDef)):
                return False
        return False

    def _call_sinks(self, node: cst.Call, name: str, args: Iterable[cst.Arg]) -> set[str]:
        handled: set[str] = set()
        rows = self.sinks.get(name) or self.sinks.get(f"{ANY_RECEIVER}.{name.rpartition('.')[2]}", [])
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
        if name is not None and value is not None and not self._schema(value):
            parent = self.context.ancestors[-2] if len(self.context.ancestors) >= 2 else None
            if not self.lexicon.sensitivity(name):
                return
            if isinstance(parent, cst.Dict) and self._demo_record(parent):
                return  # {"username": test_username, "password": "test"}: a test account's sample password
            self._named(node.value, value, name)

    def _demo_record(self, record: cst.Dict) -> bool:
        """``_demo_login`` of a dict's items, once per dict (a table of thousands of items stays linear)."""
        known = self._demo_records.get(id(record))
        if known is None:
            items = ((string_value(e.key) or "", e.value) for e in record.elements if isinstance(e, cst.DictElement))
            known = self._demo_records[id(record)] = self._demo_login(items)
        return known

    def _demo_login(self, fields: Iterable[tuple[str, cst.BaseExpression]]) -> bool:
        """Does the record's login field (a demo noun: ``username``, ``user``, ``login``) hold a demo
        account: a name of demo data (``test_username``) or a demo word (``"test"``, ``"demo"``)?"""
        words = self.words
        for key, expr in fields:
            if not set(name_tokens(key)) & words.demo_nouns:
                continue
            value = string_value(expr)
            if value is not None and value.strip().lower() in words.demo:
                return True
            held = target_name(expr) if isinstance(expr, (cst.Name, cst.Attribute)) else None
            if held is not None and words.builds_demo_data(held):
                return True
        return False

    def _schema(self, value: str) -> bool:
        """``{"api_key": "password", "host": "string"}``: a schema naming each field's type or
        widget; every string value of the dict is a type word."""
        types = self.words.schema_types
        if value.lower() not in types:
            return False
        parent = self.context.ancestors[-2] if len(self.context.ancestors) >= 2 else None
        if not isinstance(parent, cst.Dict):
            return False
        values = [string_value(e.value) for e in parent.elements if isinstance(e, cst.DictElement)]
        strings = [v.lower() for v in values if v is not None]
        return len(strings) >= 2 and all(v in types for v in strings)

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
        # password); compared with what a caller or the request passes, it is a hardcoded credential,
        # unless the comparison refuses it (``if settings.secret == "change-me": raise ...``).
        if value is None or name is None or self._refuses(node):
            return
        if carries_input(other, self.scopes, self.scopes.site_at(node)):
            self._named(literal, value, name, compared=True)

    def _refuses(self, node: cst.Comparison) -> bool:
        """Is ``node`` the test of an ``assert``, or of an ``if`` whose body raises or exits?"""
        ancestors = self.context.ancestors
        for parent in reversed(ancestors[:-1]):
            if isinstance(parent, cst.Assert):
                return True
            if isinstance(parent, cst.If):
                return stops(parent.body)
            if isinstance(parent, (cst.BaseSuite, cst.FunctionDef, cst.ClassDef, cst.SimpleStatementLine)):
                return False
        return False

    # --- verdicts -----------------------------------------------------------------------------

    def _builds_demo_data(self) -> bool:
        """Inside a function or class named for creating test or demo data (``CreateTestData``), or
        a settings class for tests or development (``TestingConfig``); or in a script or seed file
        whose file name says so: an operator runs it by that name (Django's management command
        ``load_initial_data``: the default accounts an install starts with)."""
        if self._demo_script is None:
            stem = self.context.module_name.rpartition(".")[2]
            role = self.context.kind in (FileKind.SCRIPT, FileKind.SEED)
            self._demo_script = role and self.words.loads_seed_data(stem)
        if self._demo_script:
            return True
        return any(
            isinstance(a, (cst.FunctionDef, cst.ClassDef))
            and (
                self.words.builds_demo_data(a.name.value)
                or (isinstance(a, cst.ClassDef) and self.words.configures_tests(a.name.value))
            )
            for a in self.context.ancestors
        )

    def _presented_to_client(self, node: cst.CSTNode, name: str) -> bool:
        """Does the literal go to a library's client as an argument: directly (``AsyncOpenAI(api_key=
        "ollama")``), or through the name it is assigned to in a function (``if not api_key: api_key =
        "sk-placeholder"`` then ``AsyncOpenAI(api_key=api_key)``)? A credential the app presents to
        another service; a placeholder there is refused or ignored by that service (a keyless
        OpenAI-compatible endpoint), it opens nothing of the app's."""
        ancestors = self.context.ancestors
        parent = ancestors[-1] if ancestors else None
        if isinstance(parent, cst.Call):  # visit_Call: the literal is one of its keyword arguments
            return self._library_client(parent)
        outer = next((a for a in ancestors if isinstance(a, cst.FunctionDef)), None)
        if outer is None or not isinstance(parent, (cst.Assign, cst.AnnAssign)):
            return False
        stack: list[cst.CSTNode] = [outer.body]
        while stack:
            current = stack.pop()
            passed = isinstance(current, cst.Call) and any(
                isinstance(a.value, cst.Name) and a.value.value == name for a in current.args
            )
            if passed and isinstance(current, cst.Call) and self._library_client(current):
                return True
            stack.extend(current.children)
        return False

    def _library_client(self, call: cst.Call) -> bool:
        """A call of a class or function imported from a library (not this module's, not a signing
        or encryption slot of the secret-sinks table): ``openai.AsyncOpenAI``."""
        qualified = self.context.qualified_name(call.func)
        if qualified is None or qualified == dotted_name(call.func):
            return False  # defined here (or a method of a local object): not known to be a client
        rows = self.sinks.get(qualified, [])
        return not any(r.get("what", "").endswith(("signing key", "encryption key", "HMAC key")) for r in rows)

    def _constant(self, node: cst.CSTNode) -> str | None:
        """``pkg.default_settings.SECRET_KEY`` when the literal is the value of a module-level
        assignment to a default setting's name (``SECRET_KEY``, ``DEFAULT_PASSWORD``): a constant other
        modules may import, and check their settings or accounts against (analysis/secrets/guards.py)."""
        ancestors = self.context.ancestors  # the walk is at the assignment (visit_Assign, visit_AnnAssign)
        if len(ancestors) != 3 or not isinstance(ancestors[1], cst.SimpleStatementLine):
            return None
        statement = ancestors[2]
        if getattr(statement, "value", None) is not node:
            return None
        if isinstance(statement, cst.Assign) and len(statement.targets) == 1:
            target: cst.BaseExpression = statement.targets[0].target
        elif isinstance(statement, cst.AnnAssign):
            target = statement.target
        else:
            return None
        if not isinstance(target, cst.Name) or not default_setting(target.value, self.context.knowledge):
            return None
        module = self.context.module_name
        return f"{module}.{target.value}" if module else target.value

    def _documented_or_tried_out(self, tier: str) -> bool:
        """An example value of the API's documentation (``OpenApiExample(value={...})``): published as a
        sample. Or a guessable value in the ``if __name__ == "__main__":`` block of a package module
        (the file's role is production: not a script): a manual try-out of the module, run by a
        developer against a local device or service; a random-looking value there may be a real key
        and stays reported."""
        if in_documentation_example(self.context):
            return True
        return tier != STRONG and self.context.kind is FileKind.PRODUCTION and in_main_guard(self.context.ancestors)

    def _sink(self, node: cst.CSTNode, value: str, what: str, slot: str, name: str | None = None) -> bool:
        if self.patterns.recognizes(value, name) or is_password_hash(value.strip()):
            return True
        if self._builds_demo_data() or in_development_branch(self.context, self.local, self.words.test_configs):
            return True
        tier = credential_tier(value, (), self.words, sink=True, credential_like=True)
        if tier is None or self._documented_or_tried_out(tier):
            return True
        ancestors = tuple(self.context.ancestors)
        self.facts.append(SinkCredential(node, value, ancestors, tier, what, slot, self._constant(node)))
        return True

    def _named(self, node: cst.CSTNode, value: str, name: str, compared: bool = False) -> bool:
        tokens = name_tokens(name)
        kind = self.lexicon.sensitivity_of(tokens)
        if kind is None or self.patterns.recognizes(value, name) or self._builds_demo_data():
            return False
        if in_development_branch(self.context, self.local, self.words.test_configs):
            return False  # ``if os.getenv("DEVELOPMENT"): DATABASES[...]["PASSWORD"] = "byro"``
        tested = condition_names(value)
        if tested is not None and not any(self.lexicon.sensitivity(n) for n in tested):
            return False  # "sms_provider=ovh": a condition on settings that are no secrets (a visibility rule)
        credential_like = self.lexicon.is_credential_name(tokens)
        labels = self.lexicon.label_words(kind)
        tier = credential_tier(value, tokens, self.words, sink=False, credential_like=credential_like, labels=labels)
        if tier is None or self._documented_or_tried_out(tier):
            return False
        client = self.lexicon.is_client((*tokens, *self.roles.class_words()))
        client = client or (tier == PLACEHOLDER and self._presented_to_client(node, name))
        ancestors = tuple(self.context.ancestors)
        constant = self._constant(node)
        self.facts.append(NamedCredential(node, value, ancestors, tier, name, kind, compared, client, constant))
        return True


def _public_uses(
    module: cst.CSTNode, public: frozenset[str], verify: frozenset[str] = frozenset()
) -> dict[str, tuple[int, int, int]]:
    """Per name read in the module: how often it is read (a binding's target, a keyword's name and an
    attribute's name aside), how often as the value of a ``public`` keyword argument, and how often as
    an argument of a password check (``bcrypt.checkpw(given, NAME)``: ``verify`` last names)."""
    loads: Counter[str] = Counter()
    passed: Counter[str] = Counter()
    verified: Counter[str] = Counter()
    stack: list[cst.CSTNode] = [module]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Name):
            loads[current.value] += 1
        elif isinstance(current, cst.Arg):
            if current.keyword is not None and current.keyword.value in public and isinstance(current.value, cst.Name):
                passed[current.value.value] += 1
            stack.append(current.value)
            continue
        elif isinstance(current, cst.Attribute):
            stack.append(current.value)
            continue
        elif isinstance(current, (cst.Assign, cst.AnnAssign)):
            targets = [t.target for t in current.targets] if isinstance(current, cst.Assign) else [current.target]
            stack.extend(t for t in targets if not isinstance(t, cst.Name))
            if current.value is not None:
                stack.append(current.value)
            if isinstance(current, cst.AnnAssign):
                stack.append(current.annotation)
            continue
        elif isinstance(current, cst.Call) and verify:
            tail = (dotted_name(current.func) or "").rpartition(".")[2]
            if tail in verify:
                for arg in current.args:
                    if isinstance(arg.value, cst.Name):
                        verified[arg.value.value] += 1
        stack.extend(children(current))  # libcst's ``.children`` runs a visitor per node: 8 s on django/
    return {name: (count, passed[name], verified[name]) for name, count in loads.items()}


def in_main_guard(ancestors: Iterable[cst.CSTNode]) -> bool:
    """Is the walk inside a module-level ``if __name__ == "__main__":`` block?"""
    for node in ancestors:
        if isinstance(node, cst.If):
            return _is_main_test(node.test)
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            return False
    return False


def _is_main_test(test: cst.BaseExpression) -> bool:
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    if not isinstance(test.comparisons[0].operator, cst.Equal):
        return False
    left, right = test.left, test.comparisons[0].comparator
    return "__name__" in (dotted_name(left), dotted_name(right)) and "__main__" in (
        string_value(left),
        string_value(right),
    )
