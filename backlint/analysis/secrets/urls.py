"""Credentials in connection URLs and connection strings (BL203's detector)."""

from __future__ import annotations

import re

import libcst as cst

from backlint.analysis.secrets.examples import in_documentation_example
from backlint.analysis.secrets.facts import UrlCredential
from backlint.analysis.secrets.formats import top_literal
from backlint.analysis.secrets.slots import LocalClasses, env_lookup, unwrap_await
from backlint.analysis.strings import (
    HOLE,
    CredentialUrl,
    credential_url,
    is_blank_password,
    is_string,
    is_templated,
    literal_text,
    raw_text,
    value_words,
)
from backlint.core.rule import Analysis, FileContext

_CONNINFO = re.compile(r"(?:^|[\s;])(?:password|pwd)\s*=\s*'?(?P<password>[^\s;']+)", re.IGNORECASE)
_CONNINFO_CONTEXT = re.compile(
    r"(?:^|[\s;])(?:host|hostaddr|dbname|server|database|data source|user|uid)\s*=", re.IGNORECASE
)

# The regular-expression functions whose first argument (or ``pattern=``) is a pattern.
_REGEX_MODULES = frozenset(("re", "regex"))
_REGEX_FUNCTIONS = frozenset(("compile", "match", "fullmatch", "search", "findall", "finditer", "sub", "subn", "split"))


class CredentialUrls(Analysis):
    """Every literal URL or libpq/ODBC connection string of the file that carries its password."""

    REQUIRES = (LocalClasses,)

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.words = value_words(context.knowledge)
        self.local = context.get(LocalClasses)
        self.facts: list[UrlCredential] = []

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        self._check(node)

    def visit_ConcatenatedString(self, node: cst.ConcatenatedString) -> None:
        self._check(node)

    def visit_FormattedString(self, node: cst.FormattedString) -> None:
        self._check(node)

    def _check(self, node: cst.BaseExpression) -> None:
        ancestors = self.context.ancestors
        if not top_literal(ancestors):
            return
        raw = raw_text(node)
        if "@" not in raw and "=" not in raw:
            return
        text = literal_text(node)
        if text is None:
            return
        url = credential_url(text, self.words)
        if url is not None:
            if not quoted_in_text(ancestors) and not self._regex_pattern():
                self._record(node, url.password, url, url.local)
            return
        match = _CONNINFO.search(text)
        if match is None or not _CONNINFO_CONTEXT.search(text):
            return
        password = match.group("password")
        if HOLE in password or password.lower() in self.words.url_placeholders or is_templated(password):
            return
        if is_blank_password(password):
            return
        local = any(re.search(rf"(?i)(?:host|server)\s*=\s*'?{re.escape(h)}\b", text) for h in self.words.local_hosts)
        self._record(node, password, None, local)

    def _regex_pattern(self) -> bool:
        """Is the literal the pattern of a regular-expression call (``re.compile(r"mysql://(.+?)(?::(.+?))?@
        (.+?):(\\d+)")``: scrapydweb's parser of the configured URL)? It matches URLs, it is none."""
        ancestors = self.context.ancestors
        if len(ancestors) < 3:
            return False
        arg, call = ancestors[-2], ancestors[-3]
        if not isinstance(arg, cst.Arg) or not isinstance(call, cst.Call):
            return False
        first = arg.keyword is None and call.args[0] is arg
        if not first and (arg.keyword is None or arg.keyword.value != "pattern"):
            return False
        module, _, function = (self.context.qualified_name(call.func) or "").rpartition(".")
        return module in _REGEX_MODULES and function in _REGEX_FUNCTIONS

    def _record(self, node: cst.CSTNode, password: str, url: CredentialUrl | None, local: bool) -> None:
        ancestors = self.context.ancestors
        if in_documentation_example(self.context):
            return  # a sample URL of the API's documentation
        bare = isinstance(ancestors[-2], cst.Expr)
        self.facts.append(UrlCredential(node, password, tuple(ancestors), url, local, self._is_env_fallback(), bare))

    def _is_env_fallback(self) -> bool:
        """The default of ``os.getenv("DATABASE_URL", "…")`` (or after ``or``)."""
        ancestors = self.context.ancestors
        if len(ancestors) < 3:
            return False
        parent, grand = ancestors[-2], ancestors[-3]
        if isinstance(parent, cst.Arg) and isinstance(grand, cst.Call):
            found = env_lookup(grand, self.local, self.context.knowledge)
            return found is not None and found[1] is ancestors[-1]
        if isinstance(parent, cst.BooleanOperation) and parent.right is ancestors[-1]:
            left = unwrap_await(parent.left)
            return isinstance(left, cst.Call) and env_lookup(left, self.local, self.context.knowledge) is not None
        return False


# Text with words: a sentence (``"Sentry project dsn. i.e.: "``), not the start of a URL or of a value.
_WORDS = re.compile(r"[A-Za-z]{2,}[.,:;]?\s")


def quoted_in_text(ancestors: list[cst.CSTNode]) -> bool:
    """Is the literal (the walk's node) a later operand of a ``+`` concatenation whose earlier operands
    hold words: a URL quoted in a sentence, an example in a help text (thumbor's ``Config.define(
    "SENTRY_DSN_URL", "", "Sentry thumbor project dsn. i.e.: " + "http://<key>:<secret>@localhost:9000/2")``)?
    The literal is a connection URL when it starts the text (``"postgresql://app:pw@db/" + name``)."""
    child = ancestors[-1]
    for parent in reversed(ancestors[:-1]):
        if not isinstance(parent, cst.BinaryOperation) or not isinstance(parent.operator, cst.Add):
            return False
        if parent.right is child and _has_words(parent.left):
            return True
        child = parent
    return False


def _has_words(expr: cst.BaseExpression) -> bool:
    """Does a string literal among the ``+`` operands of ``expr`` hold words?"""
    stack = [expr]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.BinaryOperation) and isinstance(current.operator, cst.Add):
            stack.extend((current.left, current.right))
        elif is_string(current):
            text = literal_text(current)
            if text is not None and _WORDS.search(text):
                return True
    return False
