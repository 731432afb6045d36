"""Constants the app checks its configuration or its accounts against (BL202's project part): a
default it ships knowingly and detects when still in use.

- ``if app.config["SECRET_KEY"] == default_settings.SECRET_KEY: warnings.warn(...)`` (ihatemoney):
  the configured value of a setting compared with the constant of the same name;
- ``verify_password(DEFAULT_PASSWORD, user.password_hash)`` (argilla): the constant given as the
  plain text to a password check against a stored hash: "does the account still have the default
  password?" (an authentication checks what a caller sends, not a constant);
- ``if password == _LEGACY_DEFAULT_ADMIN_PASSWORD: raise ...`` (mlflow): a value the app refuses
  when it is given, whatever its origin (a deny-list entry; ``if key != API_KEY: raise`` is an
  authentication, and is no such check).

A credential literal bound to such a constant is a documented default the app warns about or
refuses, not a secret it relies on. A comparison with what a request sends (``request.headers[
"X-Api-Key"] != API_KEY``) or with a local name is no such check.
"""

from __future__ import annotations

import libcst as cst

from backlint.analysis.secrets.slots import root_name, target_name
from backlint.analysis.strings import name_tokens
from backlint.core.catalog import Knowledge
from backlint.core.imports import dotted_name
from backlint.core.rule import Analysis, FileContext

# Words a constant's name adds to the setting's own name (``DEFAULT_SECRET_KEY`` for ``secret_key``).
_DEFAULT_WORDS = frozenset({"default", "initial", "builtin", "shipped", "placeholder", "dummy", "insecure"})
_REQUEST_NAMES = frozenset({"request", "req"})


def verify_names(context: FileContext) -> frozenset[str]:
    return context.knowledge.derived(_verify_index)


def _verify_index(knowledge: Knowledge) -> frozenset[str]:
    """The last names of the password checks (the password-stores table's verify rows)."""
    return frozenset(r["name"].rpartition(".")[2] for r in knowledge.rows("password-stores") if r["role"] == "verify")


def guard_triggers(knowledge: Knowledge) -> tuple[str, ...]:
    """Words without which a module defines no default setting and checks none: a constant named as a
    default (``DEFAULT_PASSWORD``) or a framework's secret setting (``SECRET_KEY``, the secret-sinks
    table's configuration keys)."""
    return knowledge.derived(_guard_triggers)


def _guard_triggers(knowledge: Knowledge) -> tuple[str, ...]:
    keys = {r["argument"] for r in knowledge.rows("secret-sinks") if r["call"] == "<config>"}
    return ("DEFAULT_", "_DEFAULT", *sorted(keys))


def default_setting(name: str, knowledge: Knowledge) -> bool:
    """Is ``name`` a constant that may hold a default the app checks for: ``DEFAULT_PASSWORD``,
    ``SECRET_KEY`` (a configuration key of the secret-sinks table)? Other constants are judged in
    their file alone."""
    if not name.isupper():
        return False
    return "default" in name_tokens(name) or name in knowledge.derived(_guard_triggers)


def same_setting(constant: str, setting: str) -> bool:
    """Does the constant ``constant`` hold the default of the setting ``setting`` (``SECRET_KEY`` and
    ``config["SECRET_KEY"]``, ``DEFAULT_API_KEY`` and ``user.api_key``)?"""
    words = [w for w in name_tokens(constant) if w not in _DEFAULT_WORDS]
    return bool(words) and words == [w for w in name_tokens(setting) if w not in _DEFAULT_WORDS]


class DefaultGuards(Analysis):
    """The qualified names of the constants this module checks a setting or an account against."""

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.names: set[str] = set()
        self.verifiers = verify_names(context)

    def _qualified(self, node: cst.BaseExpression) -> str | None:
        """``pkg.default_settings.SECRET_KEY`` for ``default_settings.SECRET_KEY`` (imported) or for
        a constant of this module; None unless the last name is a constant's (upper case)."""
        name = target_name(node)
        if not isinstance(node, (cst.Name, cst.Attribute)) or name is None or not name.isupper():
            return None
        qualified = self.context.qualified_name(node) or ""
        if qualified == name and isinstance(node, cst.Name):  # not imported: this module's own
            module = self.context.module_name
            return f"{module}.{name}" if module else name
        return qualified or None

    def visit_Comparison(self, node: cst.Comparison) -> None:
        if len(node.comparisons) != 1:
            return
        if not isinstance(node.comparisons[0].operator, (cst.Equal, cst.NotEqual, cst.Is, cst.IsNot)):
            return
        left, right = node.left, node.comparisons[0].comparator
        refused = isinstance(node.comparisons[0].operator, (cst.Equal, cst.Is)) and self._raises_if_true(node)
        for constant, setting in ((left, right), (right, left)):
            qualified = self._qualified(constant)
            if qualified is not None and refused:
                self.names.add(qualified)  # if password == DEFAULT_PASSWORD: raise ...: a value refused
                continue
            if qualified is None or not _stored(setting):
                continue
            name = target_name(setting)
            if name is not None and same_setting(qualified.rpartition(".")[2], name):
                self.names.add(qualified)

    def _raises_if_true(self, node: cst.Comparison) -> bool:
        """Is ``node`` the test of an ``if`` whose body raises or exits?"""
        ancestors = self.context.ancestors
        parent = ancestors[-2] if len(ancestors) >= 2 else None
        return isinstance(parent, cst.If) and parent.test is node and stops(parent.body)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        tail = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
        if tail not in self.verifiers:
            return
        positional = [a.value for a in node.args if a.keyword is None and not a.star]
        if len(positional) != 2:
            return
        for constant, stored in ((positional[0], positional[1]), (positional[1], positional[0])):
            qualified = self._qualified(constant)
            if qualified is not None and _stored(stored):
                self.names.add(qualified)


def _stored(node: cst.BaseExpression) -> bool:
    """A configured or stored value (``app.config["K"]``, ``user.password_hash``), not the request's."""
    return isinstance(node, (cst.Attribute, cst.Subscript)) and root_name(node) not in _REQUEST_NAMES


def stops(body: cst.BaseSuite) -> bool:
    """Does the block raise, exit or abort (``raise``, ``sys.exit()``, ``abort(...)``)?"""
    statements = body.body if isinstance(body, cst.IndentedBlock) else [body]
    for statement in statements:
        smalls = statement.body if isinstance(statement, (cst.SimpleStatementLine, cst.SimpleStatementSuite)) else []
        for small in smalls:
            if isinstance(small, cst.Raise):
                return True
            if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
                tail = (dotted_name(small.value.func) or "").rpartition(".")[2]
                if tail in ("exit", "_exit", "abort", "fail"):
                    return True
    return False
