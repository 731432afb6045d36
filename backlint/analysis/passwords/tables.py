"""The knowledge the password flow reads, from ``rules/tables/password-*.toml`` and the shared tables."""

from __future__ import annotations

from typing import Any

from backlint.analysis.strings import Lexicon, lexicon
from backlint.core.catalog import Knowledge


def password_tables(knowledge: Knowledge) -> PasswordTables:
    return knowledge.derived(PasswordTables)


class PasswordTables:
    """The tables the password flow reads, indexed once per Knowledge (``knowledge.derived``):
    secret-names, password-hashers, password-sources, password-stores, password-names,
    datastore-models, framework-routes, framework-objects, framework-view-classes."""

    def __init__(self, knowledge: Knowledge) -> None:
        self.lexicon: Lexicon = lexicon(knowledge)
        self.hashers: dict[str, dict[str, Any]] = {}
        self.hasher_prefixes: list[dict[str, Any]] = []
        self.hasher_methods: dict[str, dict[str, Any]] = {}
        # The called names of digests (``md5`` of ``hashlib.md5``): a function calling none returns no digest.
        self.digest_tails = frozenset(
            row["name"].rpartition(".")[2] for row in knowledge.rows("password-hashers") if row["kind"] == "weak"
        )
        # The called names of slow password hashes (``hashpw``, ``derive``): a function calling none returns no hash.
        self.hash_tails = frozenset(
            row["name"].rpartition(".")[2] for row in knowledge.rows("password-hashers") if row["kind"] == "hash"
        )
        for row in knowledge.rows("password-hashers"):
            match = row.get("match", "exact")
            if match == "prefix":
                self.hasher_prefixes.append(row)
            elif match == "method":
                self.hasher_methods[row["name"]] = row
            else:
                self.hashers[row["name"]] = row
        self.sources: dict[tuple[str, bool], str] = {}
        self.any_sources: dict[str, str] = {}
        for row in knowledge.rows("password-sources"):
            if row["expr"].startswith("."):
                self.any_sources[row["expr"][1:]] = row["role"]
            else:
                self.sources[(row["expr"], bool(row.get("call", False)))] = row["role"]
        roles: dict[str, set[str]] = {}
        for row in knowledge.rows("password-stores"):
            roles.setdefault(row["role"], set()).add(row["name"])
        self.stores = {role: frozenset(names) for role, names in roles.items()}
        model_bases = {row["name"] for row in knowledge.rows("datastore-models")}
        self.orm_bases = self.stores.get("orm-base", frozenset()) | model_bases
        # Bases that declare no fields of their own: a subclass's fields are all in its body.
        self.empty_bases = (model_bases | self.role("pydantic-base") | {"object"}) - self.role("user-model")
        self.route_decorators: dict[str, set[str]] = {}
        for row in knowledge.rows("framework-routes"):
            if row["form"] == "decorator":
                self.route_decorators.setdefault(row["framework"], set()).add(row["name"])
        self.router_classes = {row["name"]: row["framework"] for row in knowledge.rows("framework-objects")}
        words: dict[str, set[str]] = {}
        for row in knowledge.rows("password-names"):
            words.setdefault(row["role"], set()).add(row["word"])
        self.input_words = frozenset(words.get("input", ()))
        self.stored_words = frozenset(words.get("stored", ()))
        self.config_words = frozenset(words.get("config", ()))
        self.masking_words = frozenset(words.get("masking", ()))
        self.hashing_words = frozenset(words.get("hashing", ()))
        self.checksum_words = frozenset(words.get("checksum", ()))
        self.cli_frameworks = frozenset(words.get("cli-framework", ()))
        self.credential_context = frozenset(words.get("credential-context", ()))
        self.session_methods = frozenset(words.get("session-method", ()))
        self.credential_headers = frozenset(words.get("credential-header", ()))
        self.login_fields = frozenset(words.get("login-field", ()))
        # Words of a record that is an account: its table or its other columns (users, member, email).
        self.account_words = self.credential_context | self.login_fields | frozenset(words.get("account-noun", ()))
        self.view_handlers: dict[str, frozenset[str]] = {
            row["name"]: frozenset(row["handlers"]) for row in knowledge.rows("framework-view-classes")
        }

    def role(self, role: str) -> frozenset[str]:
        return self.stores.get(role, frozenset())

    def hasher(self, qualified: str | None, method: str) -> dict[str, Any] | None:
        if qualified is not None:
            if qualified in self.hashers:
                return self.hashers[qualified]
            for row in self.hasher_prefixes:
                if qualified.startswith(row["name"] + "."):
                    return row
        # A private setter is a setter (``self._set_password(pw)``).
        return self.hasher_methods.get(method) or self.hasher_methods.get(method.lstrip("_"))
