"""What makes a string a secret: the name lexicon, known token formats, value filters, entropy.

Shared by the BL2xx (hardcoded secrets) and BL3xx (plaintext passwords) families. Knowledge lives
in ``rules/tables/secret-*.toml``; this module only interprets it.
"""

from __future__ import annotations

import ast
import base64
import binascii
import dataclasses
import functools
import json
import math
import re
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import libcst as cst

from backlint.core.patterns import compile_pattern

if TYPE_CHECKING:
    from backlint.core.catalog import Knowledge


PASSWORD = "password"
SECRET = "secret"

# ---------------------------------------------------------------------------------------------
# Name lexicon
# ---------------------------------------------------------------------------------------------

_NAME_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


@functools.lru_cache(maxsize=1 << 16)  # the same few thousand names recur across a project's files
def name_tokens(name: str) -> tuple[str, ...]:
    """``clientSecret`` → (client, secret); ``ACCESS_TOKEN_EXPIRE`` → (access, token, expire)."""
    return tuple(word.lower() for word in _NAME_WORD.findall(name))


@dataclasses.dataclass(frozen=True)
class Lexicon:
    """The sensitive-name vocabulary, from the ``secret-names`` table."""

    password: frozenset[str]
    secret: frozenset[str]
    pairs: frozenset[tuple[str, str]]
    modifiers: frozenset[str]
    credential_tails: frozenset[str]  # last word(s) of strongly credential-like names
    # Words that mark a value as a checksum, revision or test vector: never a BL205 candidate.
    entropy_exempt: frozenset[str]
    # Words naming another service the app logs in to (db, smtp, ldap): its secrets are the app's client credentials.
    client: frozenset[str] = frozenset()
    # Password words with another sense (``pwd``: a working directory) -> the words of that sense's context.
    homonyms: dict[str, frozenset[str]] = dataclasses.field(default_factory=dict, compare=False)
    # Words of a field naming where a service is (host, port): a record holding a password beside one
    # is the login of a service the app connects to.
    address: frozenset[str] = frozenset()
    # Keyword arguments whose value is public by design (``salt=``, ``nonce=``, ``iv=`` of a key
    # derivation or a cipher): a constant passed only there is no secret, whatever its name says.
    public_arguments: frozenset[str] = frozenset()

    def sensitivity(self, name: str) -> str | None:
        """``"password"``, ``"secret"`` or None for an identifier, dict key or keyword name."""
        return self.sensitivity_of(name_tokens(name))

    def sensitivity_of(self, tokens: Sequence[str]) -> str | None:
        if not tokens or any(t in self.modifiers for t in tokens):
            return None
        if any(t in self.password for t in tokens):
            return PASSWORD
        if any(t in self.secret for t in tokens) or any(p in self.pairs for p in zip(tokens, tokens[1:])):
            return SECRET
        return None

    def other_sense(self, tokens: Sequence[str], context: Iterable[str]) -> bool:
        """Is every password word of a name a homonym whose other sense its context names (``pwd``
        beside ``cmd``/``env``/``pid``: a working directory)? ``context``: the words of the names around."""
        words = [t for t in tokens if t in self.password]
        if not words or any(w not in self.homonyms for w in words):
            return False
        around = set(context)
        return all(around & self.homonyms[w] for w in words)

    def is_service_login(self, record: Iterable[str]) -> bool:
        """Do the words of a record's fields (beside its password) say where a service is (host, port)?"""
        return any(t in self.address for t in record)

    def label_words(self, kind: str) -> frozenset[str]:
        """Words that, as a whole value, name a slot of this kind instead of filling it (``"passwd"``)."""
        if kind == PASSWORD:
            return self.password
        return self.secret | {w for pair in self.pairs for w in pair}

    def is_client(self, tokens: Iterable[str]) -> bool:
        """Does a name (or the name of the class holding it) say the secret is for another service?"""
        return any(t in self.client for t in tokens)

    def is_credential_name(self, tokens: Sequence[str]) -> bool:
        """Strongly credential-like: ``*_password``, ``*_secret``, ``secret_key``, ``api_key``."""
        if self.sensitivity_of(tokens) is None:
            return False
        last = tokens[-1]
        return last in self.password or last in self.credential_tails or " ".join(tokens[-2:]) in self.credential_tails


def name_triggers(knowledge: Knowledge, roles: tuple[str, ...]) -> tuple[str, ...]:
    """Raw-text spellings of the lexicon's words, for the file pre-filter: ``api_key``, ``apiKey``,
    ``API_KEY``, ``api-key``... A bare ``pass`` is left out: it would match the ``pass`` statement."""
    return knowledge.derived(_name_triggers, roles)


def _name_triggers(knowledge: Knowledge, roles: tuple[str, ...]) -> tuple[str, ...]:
    out: set[str] = set()
    for row in knowledge.rows("secret-names"):
        if row["role"] not in roles:
            continue
        words = row["words"].lower().split()
        if words == ["pass"]:
            out |= {"_pass", "pass_", "Pass", "PASS"}
            continue
        first, rest = words[0], words[1:]
        out |= {
            "_".join(words),
            "_".join(words).upper(),
            "-".join(words),
            first + "".join(w.capitalize() for w in rest),
            "".join(w.capitalize() for w in words),
        }
    return tuple(sorted(out))


def lexicon(knowledge: Knowledge) -> Lexicon:
    return knowledge.derived(_lexicon)


def _lexicon(knowledge: Knowledge) -> Lexicon:
    sets: dict[str, set[str]] = {
        "password": set(),
        "secret": set(),
        "not-secret": set(),
        "not-entropy": set(),
        "client": set(),
    }
    tails: set[str] = set()
    pairs: set[tuple[str, str]] = set()
    senses: dict[str, set[str]] = {}  # a homonym's other sense -> its context words
    homonyms: dict[str, str] = {}
    for row in knowledge.rows("secret-names"):
        words = tuple(row["words"].lower().split())
        if row.get("homonym"):
            homonyms[words[0]] = row["homonym"]
        if len(words) == 2 and row["role"] == "secret":
            pairs.add((words[0], words[1]))
        elif len(words) == 1 and row["role"] in sets:
            sets[row["role"]].add(words[0])
        elif len(words) == 1:
            senses.setdefault(row["role"], set()).add(words[0])
        if row.get("credential-tail"):
            tails.add(" ".join(words))
    return Lexicon(
        password=frozenset(sets["password"]),
        secret=frozenset(sets["secret"]),
        pairs=frozenset(pairs),
        modifiers=frozenset(sets["not-secret"]),
        credential_tails=frozenset(tails),
        entropy_exempt=frozenset(sets["not-entropy"] | sets["not-secret"]),
        client=frozenset(sets["client"]),
        homonyms={word: frozenset(senses.get(sense, ())) for word, sense in homonyms.items()},
        address=frozenset(senses.get("address", ())),
        public_arguments=frozenset(senses.get("public-argument", ())),
    )


# ---------------------------------------------------------------------------------------------
# String literals
# ---------------------------------------------------------------------------------------------

# Stands for an interpolated expression inside an f-string's text; never part of a match.
HOLE = "\x00"
_STRING_NODES = (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)
_STRING_TYPES = frozenset(_STRING_NODES)


def is_string(node: cst.CSTNode) -> bool:
    # By type(): a failing isinstance() against libcst's classes runs ABCMeta's Python-level check
    # (~0.4 µs per class of the tuple); these classes have no subclasses.
    return type(node) in _STRING_TYPES


def literal_text(node: cst.CSTNode) -> str | None:
    """The evaluated text of a string literal; f-string holes become ``HOLE``; bytes as latin-1."""
    if isinstance(node, cst.SimpleString):
        plain = plain_string_value(node.value)
        if plain is not None:
            return plain
        try:
            value = node.evaluated_value
        except (SyntaxError, ValueError):  # pragma: no cover - libcst parsed it
            return None
        return value.decode("latin-1") if isinstance(value, bytes) else value
    if isinstance(node, cst.ConcatenatedString):
        left, right = literal_text(node.left), literal_text(node.right)
        return None if left is None or right is None else left + right
    if isinstance(node, cst.FormattedString):
        raw = "r" in node.prefix.lower()
        out = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                out.append(_fstring_text(part.value, raw))
            else:
                out.append(HOLE)
        return "".join(out)
    return None


def plain_string_value(literal: str) -> str | None:
    """The value of a str literal's source text (``'abc'``, ``r"a\\b"``, ``u'''x'''``) when it is
    its text between the quotes — no escape to evaluate, no carriage return to translate — else None.

    ``SimpleString.evaluated_value`` compiles the literal with ``ast.literal_eval`` (~10 µs): a
    generated module of 23k dict literals (calibreweb's iso_language_names.py) evaluated each about
    three times. Bytes literals are left to it.
    """
    quote = literal.find("'") if literal[-1] == "'" else literal.find('"')
    if quote < 0:
        return None
    prefix = literal[:quote]
    width = 3 if len(literal) - quote >= 6 and literal[quote] * 3 == literal[quote : quote + 3] else 1
    body = literal[quote + width : len(literal) - width]
    if prefix and prefix not in _PLAIN_PREFIXES:
        return None
    if "\r" in body or ("\\" in body and prefix not in _RAW_PREFIXES):
        return None
    return body


_RAW_PREFIXES = frozenset({"r", "R"})
_PLAIN_PREFIXES = frozenset({"r", "R", "u", "U"})


def _fstring_text(text: str, raw: bool) -> str:
    text = text.replace("{{", "{").replace("}}", "}")
    if raw or "\\" not in text:
        return text
    try:
        return str(ast.literal_eval('"""' + text.replace('"', '\\"') + '"""'))
    except (SyntaxError, ValueError):
        return text


def raw_text(node: cst.CSTNode) -> str:
    """The source text of a literal, escapes and all: a cheap pre-filter before evaluating it."""
    if isinstance(node, cst.SimpleString):
        return node.value
    if isinstance(node, cst.ConcatenatedString):
        return raw_text(node.left) + raw_text(node.right)
    if isinstance(node, cst.FormattedString):
        return "".join(p.value if isinstance(p, cst.FormattedStringText) else HOLE for p in node.parts)
    return ""


# ---------------------------------------------------------------------------------------------
# Entropy
# ---------------------------------------------------------------------------------------------


def shannon_entropy(text: str) -> float:
    """Bits per character over the string's own alphabet."""
    if not text:
        return 0.0
    length = len(text)
    return -sum(c / length * math.log2(c / length) for c in Counter(text).values())


_HEX = re.compile(r"[0-9a-fA-F]+")
_BASE64 = re.compile(r"[A-Za-z0-9+/=_-]+")


def high_entropy(value: str, base64_limit: float, hex_limit: float) -> bool:
    """detect-secrets' Base64/Hex high-entropy tests, with its penalty for all-digit strings."""
    if _HEX.fullmatch(value):
        entropy = shannon_entropy(value)
        if value.isdigit() and len(value) > 1:
            entropy -= 1.2 / math.log2(len(value))
        return entropy > hex_limit
    if _BASE64.fullmatch(value):
        return shannon_entropy(value) > base64_limit
    return False


_KEYBOARD = "qwertyuiopasdfghjklzxcvbnmqwertyuiop"


def is_sequential(value: str) -> bool:
    """``abcdef``, ``123456``, ``0123…XYZabc…``, ``qwerty``: an alphabet or keyboard run, not a secret."""
    if len(value) < 4:
        return False
    folded = value.lower()
    if folded in _KEYBOARD:
        return True
    steps = sum(abs(ord(b) - ord(a)) == 1 for a, b in zip(folded, folded[1:]))
    return steps >= 0.75 * (len(folded) - 1)


# ---------------------------------------------------------------------------------------------
# Known token formats (BL201)
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SecretPattern:
    id: str
    description: str
    regex: re.Pattern[str]
    keywords: tuple[str, ...]
    entropy: float
    allowlist: re.Pattern[str] | None
    level: str | None
    validate: str | None
    needs_name: bool  # matched against ``<name> = '<value>'``: the format needs its context
    test_vector: bool = False  # key material a test file holds as a test vector (the table's description)
    public: bool = False  # a key public by design (a publishable key): recognised, never reported


# Formats recognised by their name are short tokens: a longer value is not one of them.
_MAX_NAMED_VALUE = 256


@dataclasses.dataclass(frozen=True)
class SecretMatch:
    pattern: SecretPattern
    secret: str


@dataclasses.dataclass(frozen=True)
class PatternSet:
    patterns: tuple[SecretPattern, ...]
    prefilter: KeywordFilter
    global_allowlist: tuple[re.Pattern[str], ...]

    def search(self, text: str, name: str | None = None) -> Iterator[SecretMatch]:
        """Known-format secrets in ``text`` (an evaluated literal or a comment)."""
        context = None
        if not self.prefilter.search(text) and (name is None or not self.prefilter.search(name)):
            return
        lowered = text.lower()
        for pattern in self.patterns:
            if pattern.needs_name:
                if name is None or len(text) > _MAX_NAMED_VALUE:
                    continue
                if context is None:
                    context = f"{name} = '{text}'"
                subject, folded = context, context.lower()
            else:
                subject, folded = text, lowered
            if not any(k in folded for k in pattern.keywords):
                continue
            for match in pattern.regex.finditer(subject):
                secret = match.group(1) if pattern.regex.groups else match.group(0)
                if HOLE in secret or not self._credible(pattern, secret):
                    continue
                yield SecretMatch(pattern, secret)
                break

    def recognizes(self, text: str, name: str | None = None) -> bool:
        """True if ``text`` has a known format, even one rejected as a sample: BL201 decides it."""
        if name is not None and next(iter(self.search(text, name)), None) is not None:
            return True
        if not self.prefilter.search(text):
            return False
        folded = text.lower()
        return any(
            not p.needs_name and any(k in folded for k in p.keywords) and p.regex.search(text) for p in self.patterns
        )

    def _credible(self, pattern: SecretPattern, secret: str) -> bool:
        if pattern.entropy and shannon_entropy(secret) < pattern.entropy:
            return False
        if pattern.allowlist is not None and pattern.allowlist.search(secret):
            return False
        if any(allow.search(secret) for allow in self.global_allowlist):
            return False
        if pattern.validate == "jwt" and not _valid_jwt(secret):
            return False
        return not _is_sequential_body(secret)


def _is_sequential_body(secret: str) -> bool:
    """A token whose random part is an alphabet run (``ghp_abcdefgh…``) is a documentation sample."""
    body = re.split(r"[_\-.]", secret)[-1]
    return len(body) >= 8 and is_sequential(body)


def _valid_jwt(token: str) -> bool:
    """detect-secrets' formal check (header and payload base64url-decode to JSON objects), and not
    expired: a token whose ``exp`` has passed cannot authenticate (documentation samples)."""
    parts = token.split(".")
    if len(parts) < 2:
        return False
    claims: list[Any] = []
    for part in parts[:2]:
        try:
            decoded = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
            claims.append(json.loads(decoded.decode("utf-8")))
        except (binascii.Error, ValueError, UnicodeDecodeError):
            return False
    if not all(isinstance(c, dict) for c in claims):
        return False
    expiry = claims[1].get("exp")
    return not (isinstance(expiry, (int, float)) and expiry < time.time())


def secret_patterns(knowledge: Knowledge) -> PatternSet:
    return knowledge.derived(_pattern_set)


def _pattern_set(knowledge: Knowledge) -> PatternSet:
    patterns = []
    keywords: set[str] = set()
    for row in knowledge.rows("secret-patterns"):
        words = tuple(k.lower() for k in row["keywords"])
        keywords.update(words)
        patterns.append(
            SecretPattern(
                id=row["id"],
                description=row["description"],
                regex=compile_pattern(row["regex"]),
                keywords=words,
                entropy=float(row.get("entropy", 0)),
                allowlist=compile_pattern(row["allowlist"]) if row.get("allowlist") else None,
                level=row.get("level"),
                validate=row.get("validate"),
                needs_name=bool(row.get("needs-name", False)),
                test_vector=bool(row.get("test-vector", False)),
                public=bool(row.get("public", False)),
            )
        )
    allow = tuple(compile_pattern(r["regex"]) for r in knowledge.rows("secret-allowlist"))
    return PatternSet(tuple(patterns), KeywordFilter(keywords), allow)


class KeywordFilter:
    """``search(text)``: whether any of the (lower-case) keywords occurs in ``text``, case ignored.

    One case-insensitive alternation of ~50 keywords costs ~7 µs on a short literal; an ASCII text
    (nearly all) is lower-cased and searched with the case-sensitive alternation, six times cheaper
    and the same answer (no ASCII letter folds to anything but its other case). Other text keeps the
    case-insensitive pattern (Unicode folds, e.g. the Kelvin sign to ``k``).
    """

    def __init__(self, keywords: Iterable[str]) -> None:
        words = sorted(keywords)
        alternation = "|".join(map(re.escape, words)) or "(?!)"
        self.pattern = alternation
        self._lowered = re.compile(alternation)
        self._folded = re.compile(alternation, re.IGNORECASE)
        self._ascii = all(w.isascii() and w == w.lower() for w in words)

    def search(self, text: str, pos: int = 0) -> bool:
        if self._ascii and text.isascii():
            return self._lowered.search(text.lower(), pos) is not None
        return self._folded.search(text, pos) is not None


def trigger_tokens(knowledge: Knowledge) -> tuple[str, ...]:
    """Exact-case substrings without which no known format can occur in a file."""
    return knowledge.derived(_format_triggers)


def _format_triggers(knowledge: Knowledge) -> tuple[str, ...]:
    rows = knowledge.rows("secret-patterns")
    return tuple(dict.fromkeys(t for row in rows for t in row.get("triggers", row["keywords"])))


# ---------------------------------------------------------------------------------------------
# Is this literal value a credential? (BL202/BL204 value filters and tiering)
# ---------------------------------------------------------------------------------------------

STRONG = "strong"
WEAK = "weak"
PLACEHOLDER = "placeholder"

_TEMPLATED = re.compile(
    r"""\{[^{}]*\}|\$\{[^{}$]*\}|%\(\w+\)[sd]|%[sdr]\b|<[^<>]+>|\{\{|\*{3,}|^x{3,}$|^X{3,}$|\.\.\.|…|^\$\w+$|^%\w+%$|^@\w+@$""",
    re.IGNORECASE,
)
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://")
_PATH = re.compile(r"^(?:/|\./|\.\./|~/|[A-Za-z]:\\)")
_SNAKE_LABEL = re.compile(r"^_*[a-z]+(?:_[a-z]+)+$")  # mail_settings, refresh_token: a field or key name
_DOTTED = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$")
# One test of a condition or a query string: `sms_provider=ovh`, `mode == "dev"`, `enabled!=false`.
# The value tested is a word or a small number, not a random string (``k9=Xr2vQ7pLm4Tz8`` is a secret).
# Starts only where a name starts and never gives back what it consumed: linear under search() too
# (tests/test_secret_masking.py runs every pattern of this module over a megabyte).
_TEST = re.compile(r"""(?<![\w.])([A-Za-z_][\w.]*+)\s*+(?:==|!=|=)\s*+["']?(?:[A-Za-z][a-z_.-]*+|[0-9]{1,4})["']?""")
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$")  # PGPASSWORD, CKAN_SOLR_PASSWORD: a variable's name
_ALNUM = re.compile(r"[A-Za-z0-9]")
# Regular-expression syntax (a tokenizer's ``name_token = r"[^\W\d]\w*"``): two such pieces are no password.
_REGEX_PIECE = re.compile(r"\\[dDwWsSbB]|\(\?[=!:<P]|\[\^")
_WORDISH = re.compile(r"^_*(?:[A-Za-z]+(?:[\s_.\-:=]+[A-Za-z]+)*)_*[0-9]{0,6}[!@#$%^&*?.]{0,2}$")
_PASSWORD_HASH = re.compile(
    r"^(?:\$(?:2[abxy]?|argon2(?:id|i|d)|pbkdf2(?:-sha\d+)?|scrypt|[156]|y|gy)\$"
    r"|(?:pbkdf2_sha\d+|argon2|bcrypt(?:_sha256)?|scrypt|sha1|md5|unsalted_md5|unsalted_sha1|crypt)\$)"
)


@dataclasses.dataclass(frozen=True)
class ValueWords:
    """Word lists of the ``secret-values`` table."""

    null: frozenset[str]
    filler: frozenset[str]
    generic: frozenset[str]
    algorithms: frozenset[str]
    placeholders: tuple[str, ...]
    local_hosts: frozenset[str]
    url_placeholders: frozenset[str]
    redactions: frozenset[str] = frozenset()
    markers: frozenset[str] = frozenset()
    demo: frozenset[str] = frozenset()
    demo_nouns: frozenset[str] = frozenset()
    test_configs: frozenset[str] = frozenset()
    config_nouns: frozenset[str] = frozenset()
    schema_types: frozenset[str] = frozenset()
    initial: frozenset[str] = frozenset()  # words of a script's name that loads an install's initial data

    def is_marker(self, value: str) -> bool:
        """A password column's marker for an account that logs in elsewhere (``"!ldap-managed"``,
        ``"__external__"``, ``"sso"``): its words are marker and filler words, one a marker."""
        words = set(name_tokens(value))
        return bool(words & self.markers) and words <= self.markers | self.filler

    def builds_demo_data(self, name: str) -> bool:
        """A function or class named for creating test or demo data (``create_test_data``,
        ``CreateTestData``, ``populate_demo_users``, ``devdata``): its credentials are sample accounts."""
        words = self._words(name)
        return bool(words & self.demo) and bool(words & self.demo_nouns)

    def loads_seed_data(self, name: str) -> bool:
        """A script or seed file named for loading demo or initial data (``load_initial_data``,
        ``populate_demo_users``, ephios's management command ``devdata``): the accounts it creates are
        sample or documented default ones."""
        words = self._words(name)
        return bool(words & (self.demo | self.initial)) and bool(words & self.demo_nouns)

    def _words(self, name: str) -> set[str]:
        """The name's words, a word glued to a demo noun counted as both (``devdata``: dev, data;
        ``testusers``: test, users)."""
        words = set(name_tokens(name))
        for token in tuple(words):
            for noun in self.demo_nouns:
                head = token[: -len(noun)]
                if token.endswith(noun) and head in self.demo | self.initial:
                    words |= {head, noun}
        return words

    def configures_tests(self, name: str) -> bool:
        """A settings class for tests or development (``TestingConfig``, ``DevelopmentSettings``)."""
        words = set(name_tokens(name))
        return bool(words & self.test_configs) and bool(words & self.config_nouns)


def value_words(knowledge: Knowledge) -> ValueWords:
    return knowledge.derived(_value_words)


def _value_words(knowledge: Knowledge) -> ValueWords:
    by_role: dict[str, list[str]] = {}
    for row in knowledge.rows("secret-values"):
        by_role.setdefault(row["role"], []).append(row["value"])

    def lower(role: str) -> frozenset[str]:
        return frozenset(v.lower() for v in by_role.get(role, ()))

    return ValueWords(
        null=lower("null"),
        filler=lower("filler"),
        generic=lower("generic"),
        algorithms=lower("algorithm"),
        placeholders=tuple(v.lower() for v in by_role.get("placeholder", ())),
        local_hosts=lower("local-host"),
        url_placeholders=lower("url-placeholder"),
        redactions=lower("redaction"),
        markers=lower("marker"),
        demo=lower("demo"),
        demo_nouns=lower("demo-noun"),
        test_configs=lower("test-config"),
        config_nouns=lower("config-noun"),
        schema_types=lower("schema-type"),
        initial=lower("initial"),
    )


def condition_names(value: str) -> list[str] | None:
    """The names a value tests when it is shaped as a condition, ``name=value`` joined by ``&``, ``|``,
    ``,`` or ``and``/``or`` (``"sms_password_recovery=true&sms_provider=ovh"``, a form's visibility
    rule); None for any other value."""
    parts = re.split(r"&&?|\|\|?|,|\s+(?:and|or)\s+", value)
    names = []
    for part in parts:
        match = _TEST.fullmatch(part.strip())
        if match is None:
            return None
        names.append(match.group(1))
    return names


# A password written as a run of one filler character (``***``, ``xxx``, ``???``): a blank to fill in.
_BLANK_PASSWORD = re.compile(r"\*+|x+|X+|\?+")


def is_blank_password(password: str) -> bool:
    """``***``, ``xxx``, ``???`` in a URL or a connection string: where the operator writes the password."""
    return bool(_BLANK_PASSWORD.fullmatch(password))


def is_templated(value: str) -> bool:
    """``{x}``, ``${X}``, ``%(x)s``, ``<your-key>``, ``***``, ``xxxx``: a template, not a value."""
    return bool(_TEMPLATED.search(value))


def is_password_hash(value: str) -> bool:
    """A stored password hash (``$2b$12$…``, ``pbkdf2_sha256$…``): a hash constant, not a secret."""
    return bool(_PASSWORD_HASH.match(value))


def credential_tier(
    value: str,
    tokens: Sequence[str],
    words: ValueWords,
    *,
    sink: bool,
    credential_like: bool,
    labels: frozenset[str] = frozenset(),
    value_context: bool = False,
) -> str | None:
    """``strong``/``weak``/``placeholder`` for a literal worth reporting in this slot, else None.

    ``tokens`` are the words of the slot's name. A ``sink`` (``password=`` of a driver) and a
    strongly credential-like name (``DB_PASSWORD``) keep weak and dictionary-word values; any other
    secret-ish name (``token``) keeps only strong ones, which drops labels such as ``"refresh_token"``.
    A value made only of the slot's own words, of ``labels`` (``password="passwd"``) and of filler
    words (``api_key="no-api-key"``) names the slot; a snake_case value is a field or key name, an
    upper-case one holding a label word an environment variable's name (``"PGPASSWORD"``). In a
    ``value_context`` (a settings default, an environment fallback) the literal is a value whatever
    its words: ``ADMIN_PASSWORD = os.getenv("ADMIN_PASSWORD", "admin")``.
    """
    stripped = value.strip()
    if not stripped or HOLE in value or not _ALNUM.search(stripped):
        return None  # nothing, a template, or only symbols ("㊙", "—")
    folded = stripped.lower()
    if folded in words.null or folded in words.algorithms:
        return None
    if is_templated(stripped) or _URL.match(stripped) or _PATH.match(stripped) or is_password_hash(stripped):
        return None
    if len(set(stripped)) == 1:
        return None  # "x", "*", "aaaa": a marker or a filler, no credential
    squashed = re.sub(r"[^a-z0-9]", "", folded)
    if squashed in words.redactions:
        return None  # "[REDACTED]" written over a secret
    if words.is_marker(stripped):
        return None  # "!ldap-managed": no password, a marker for an account that logs in elsewhere
    tier = PLACEHOLDER if any(p in squashed for p in words.placeholders) else _tier(stripped)
    if sink:
        return tier
    if value_context:
        return tier if tier == STRONG or credential_like else None
    if _DOTTED.match(stripped) or stripped.count(" ") > len(stripped) * 0.05:
        return None
    if len(_REGEX_PIECE.findall(stripped)) >= 2:
        return None
    value_tokens = name_tokens(stripped)
    if folded in words.generic or folded.startswith("x-") or _SNAKE_LABEL.match(stripped):
        return None
    if value_tokens and set(value_tokens) <= set(tokens) | labels | words.filler:
        return None
    if _ENV_NAME.match(stripped) and any(w in folded for w in (*labels, *tokens) if len(w) >= 3):
        return None
    if tier == STRONG or credential_like:
        return tier
    return None


def _tier(value: str) -> str:
    if len(value) < 8 or _WORDISH.match(value) or is_sequential(value):
        return WEAK
    classes = sum(bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]"))
    has_digit_or_symbol = bool(re.search(r"[^A-Za-z]", value))
    if shannon_entropy(value) >= 3.0 or (classes >= 2 and has_digit_or_symbol):
        return STRONG
    return WEAK


# ---------------------------------------------------------------------------------------------
# Credentials in URLs (BL203)
# ---------------------------------------------------------------------------------------------

_CREDENTIAL_URL = re.compile(
    r"^(?P<scheme>[a-z][a-z0-9+.\-]*)://(?P<user>[^\s:/@]*):(?P<password>[^\s@/]+)@(?P<host>\[[^\]\s]*\]|[^\s/:?#]*)",
    re.IGNORECASE,
)


@dataclasses.dataclass(frozen=True)
class CredentialUrl:
    scheme: str
    user: str
    password: str
    host: str
    local: bool


def credential_url(text: str, words: ValueWords) -> CredentialUrl | None:
    """A URL literal with a literal password in its userinfo (interpolated passwords are fine)."""
    if "://" not in text or "@" not in text:
        return None
    match = _CREDENTIAL_URL.match(text.strip())
    if match is None:
        return None
    password = match.group("password")
    if HOLE in password or password.lower() in words.url_placeholders or is_templated(password):
        return None
    if is_blank_password(password):
        return None
    host = match.group("host").strip("[]")
    local = not host or HOLE in host or host.lower() in words.local_hosts  # no host: a local socket
    return CredentialUrl(match.group("scheme"), match.group("user"), password, host, local)
