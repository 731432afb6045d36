"""What the secret detectors found: a literal (or comment) holding a secret, and what the detector
knows about it. The BL2xx rules (backlint/checks/secrets.py) decide what to report; the output layer
masks every ``secret`` found, whatever is selected (``SecretSpans``)."""

from __future__ import annotations

import dataclasses

import libcst as cst

from backlint.analysis.strings import CredentialUrl, SecretPattern

# How an environment fallback or a settings default may be fixed (``EnvFallback.fix``).
FIX_ENV_DEFAULT = "env-default"  # drop the default of ``os.getenv(K, "x")`` (node: the call)
FIX_ENV_OR = "env-or"  # drop ``or "x"`` after the lookup (node: the boolean operation)
FIX_SETTINGS_DEFAULT = "settings-default"  # drop the default of an annotated settings field (node: the AnnAssign)


@dataclasses.dataclass(frozen=True)
class SecretFact:
    node: cst.CSTNode  # the literal or comment holding the secret
    secret: str  # the secret itself, as it appears in the node's text
    # Where the walk was when the detector found it (from the module down): a fix's place.
    ancestors: tuple[cst.CSTNode, ...]


@dataclasses.dataclass(frozen=True)
class KnownFormat(SecretFact):
    """A token of a known provider format (the secret-patterns table); ``name``: the literal's slot."""

    pattern: SecretPattern
    name: str | None = None


@dataclasses.dataclass(frozen=True)
class SinkCredential(SecretFact):
    """A literal given to a credential slot of the secret-sinks table: ``what`` it is, the ``slot``."""

    tier: str
    what: str
    slot: str
    constant: str | None = None  # the module constant it is bound to (``pkg.settings.SECRET_KEY``), if any


@dataclasses.dataclass(frozen=True)
class NamedCredential(SecretFact):
    """A literal bound to (or ``compared`` with) a secret-named target; ``kind``: password or secret;
    ``client``: the name (or the enclosing class's) says the secret is for another service."""

    tier: str
    name: str
    kind: str
    compared: bool = False
    client: bool = False
    constant: str | None = None  # the module constant it is bound to (``pkg.settings.SECRET_KEY``), if any


@dataclasses.dataclass(frozen=True)
class UrlCredential(SecretFact):
    """A connection URL (``url``) or connection string (``url`` None) carrying its password.
    ``env_default``: the literal is the fallback of an environment lookup; ``bare``: a statement of
    its own (a docstring or a string left in the code)."""

    url: CredentialUrl | None
    local: bool
    env_default: bool = False
    bare: bool = False


@dataclasses.dataclass(frozen=True)
class EnvFallback(SecretFact):
    """A secret-named environment variable or settings field (``settings``) whose fallback is this
    literal. ``url``: the literal is a credential URL; else its ``tier``. ``fix``: FIX_* and the node
    it rewrites, or None. ``client``: a secret the app presents to another service (its name, or its
    settings class's, says so: ``DB_PASSWORD``, ``password`` in ``RedisSettings``)."""

    name: str
    settings: bool
    url: CredentialUrl | None
    tier: str | None
    fix: tuple[str, cst.CSTNode] | None
    client: bool = False


@dataclasses.dataclass(frozen=True)
class HighEntropy(SecretFact):
    """A long random-looking literal bound to ``name``, which does not name a secret."""

    name: str


@dataclasses.dataclass(frozen=True)
class SqlPassword(SecretFact):
    """A password written in SQL text (``CREATE USER … PASSWORD '…'``, ``IDENTIFIED BY '…'``)."""
