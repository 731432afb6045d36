"""What the password flow found: where a password (or its weak stand-in for a hash) ends up.

Each fact names the node a finding would be placed at and what the flow knows there; the BL3xx
rules in backlint/checks/passwords.py decide which facts they report and how. No fact names a rule.
"""

from __future__ import annotations

import dataclasses

import libcst as cst

# How a fast digest or an encoding of a password is used as if it were its hash (``DigestUsedAsHash.use``).
ASSIGNED = "assigned"  # bound to a password-hash name or a password attribute (``place``: the name)
STORED_BY = "stored"  # written to a password column (``place``: the sink)
RETURNED = "returned"  # returned by a function named like a hasher (``place``: the function)
COMPARED = "compared"  # compared with a stored hash

# What a log or output call writes (``Logged.what``).
LOGGED_PASSWORD = "password"
LOGGED_REQUEST = "request"  # the whole request body, headers or cookies (``detail``: which)
LOGGED_DOCUMENT = "document"  # a dict holding a password
LOGGED_SECRET = "secret"  # a value named like a secret
LOGGED_MODEL = "model"  # a model dumped whole with its password field (``detail``: the class)
LOGGED_HEADER = "header"  # a credential header of the request (``detail``: which)

# How a password reaches a URL (``InUrl.how``).
ROUTE_PATH = "route-path"  # a placeholder of the route decorator's path
PATH_PARAMETER = "path-parameter"  # an endpoint parameter marked ``Path()``
URL_PARAMETER = "url-parameter"  # an endpoint parameter taken from the URL (``detail``: path or query)
QUERY_READ = "query-read"  # read from the request's query string


@dataclasses.dataclass(frozen=True)
class PasswordFact:
    node: cst.CSTNode  # where a finding about it is placed


@dataclasses.dataclass(frozen=True)
class Stored(PasswordFact):
    """A plaintext password written by ``sink`` (an ORM constructor or attribute, a manager call,
    an INSERT/UPDATE, a Mongo write). ``model``: (qualified class, field) when the write goes
    through a model field, which may hash in a setter defined elsewhere; ``user_manager_call``:
    the Django user manager's ``create(...)`` call, which ``create_user`` would hash."""

    sink: str
    source: cst.CSTNode | None = None
    model: tuple[str, str] | None = None
    user_manager_call: cst.Call | None = None
    # Where the password came from: INPUT, STORED or UNKNOWN (``backlint/analysis/passwords/values.py``),
    # and whether it was read as an attribute of an object (``user.password``: the object's own field).
    origin: str = ""
    from_attribute: bool = False
    # The stored value is this parameter of the function: (function, parameter, its index, a method?).
    # The project pass asks the function's callers what they pass (a hash, a constant?).
    parameter: tuple[str, str, int, bool] | None = None
    # The words of the other fields of the record written (the call's keywords, the dict's keys, the
    # model's declared fields): a record with an address (host, port) is another service's login.
    record: frozenset[str] = frozenset()
    # Written by calling the model class (``User(password=pw)``): its constructor may hash the field.
    constructor: bool = False


@dataclasses.dataclass(frozen=True)
class CopiedIntoModel(PasswordFact):
    """``Model(**body.model_dump())``: a request schema's password field copied into a model column."""

    field: str
    model: str


@dataclasses.dataclass(frozen=True)
class TextAddedStoredAsHash(PasswordFact):
    """The password with text added, written to a password-hash column by ``sink``."""

    sink: str
    source: cst.CSTNode | None


@dataclasses.dataclass(frozen=True)
class DigestUsedAsHash(PasswordFact):
    """A fast digest of a password (``node``: the digest call) used as its hash: ``use``, ``place``."""

    use: str
    place: str
    source: cst.CSTNode | None


@dataclasses.dataclass(frozen=True)
class EncodedUsedAsHash(PasswordFact):
    """A reversible encoding of a password (base64, hex, reversal) used as its hash."""

    use: str
    place: str


@dataclasses.dataclass(frozen=True)
class NotAHash(PasswordFact):
    """A function named like a hasher that returns a string built from its password parameter."""

    function: str


@dataclasses.dataclass(frozen=True)
class HashCost(PasswordFact):
    """A slow hash configured with a literal cost (``node``: the literal, ``written`` as in the source):
    the table's ``minimum``, or the rule option ``minimum_option`` when the table names one."""

    param: str
    written: str
    cost: int
    hasher: str
    minimum: int
    minimum_option: str | None
    data: str = ""  # what is hashed: "password", "secret" (a key, a token: no password), "" unknown


@dataclasses.dataclass(frozen=True)
class Compared(PasswordFact):
    """A password from the request compared with ``==``/``!=`` to a stored plaintext password."""

    left: cst.BaseExpression
    right: cst.BaseExpression


@dataclasses.dataclass(frozen=True)
class Logged(PasswordFact):
    """A log or output call writes ``what`` (``part``: a slice of it, of a slice of it...)."""

    what: str
    detail: str = ""
    part: int = 0
    # For a whole request body: logged by one endpoint's handler (not a hook or helper that sees every
    # request), and do the handler's names (function, class, module, route) speak of credentials?
    handler: bool = False
    credentials: bool = False


@dataclasses.dataclass(frozen=True)
class Returned(PasswordFact):
    """An endpoint returns a password in its response."""


@dataclasses.dataclass(frozen=True)
class ResponseModelField(PasswordFact):
    """An endpoint's response model declares a password (or password-hash, ``hashed``) field."""

    model: str
    field: str
    hashed: bool


@dataclasses.dataclass(frozen=True)
class SerializedPassword(PasswordFact):
    """A DRF serializer whose ``Meta.fields`` (``node``) includes the model's password, readable.
    ``declared``: the serializer declares its own ``password`` field; ``known_bases``: per base,
    whether it was read (DRF's own or a class of this module); ``verified``: a method of the serializer
    checks the password against the account's (``validate_password`` calling ``authenticate``): it is
    the current password typed to confirm a login or a change, what the serializer reads in."""

    serializer: str
    class_node: cst.ClassDef
    meta: cst.ClassDef
    declared: bool
    known_bases: tuple[bool, ...]
    verified: bool = False


@dataclasses.dataclass(frozen=True)
class InUrl(PasswordFact):
    """A password carried in a URL: ``how`` (ROUTE_PATH, ...), the parameter's ``name``, ``detail``."""

    how: str
    name: str = ""
    detail: str = ""


@dataclasses.dataclass(frozen=True)
class ThroughCall(PasswordFact):
    """A request password passed (``node``: the argument) to a module function where ``inner`` happens."""

    function: str
    inner: PasswordFact


# Where a digest of secret data ends up (``SecretDigest.use``).
PERSISTED = "persisted"  # written to a model, a table, a document or the session (``place``: the sink)
SENT = "sent"  # put in a response header or cookie (``place``: where)
RETURNED_TO_CLIENT = "returned"  # returned by an endpoint


@dataclasses.dataclass(frozen=True)
class SecretDigest(PasswordFact):
    """A digest (``node``: the hash call) of secret data, persisted, sent or returned to the client.

    ``algorithm``: md5, sha1, sha256... ("" when unknown); ``for_security``: False when made with
    ``usedforsecurity=False``; ``name``: the field, key or header it is stored under ("" if none)."""

    algorithm: str
    for_security: bool
    use: str
    place: str
    name: str


# What a call passes (``CallSite.arguments``), for the callers of a function that stores its parameter.
PASSES_HASH = "hash"  # a hash (or digest) of a password
PASSES_PLAINTEXT = "plaintext"  # a plaintext password
PASSES_CONSTANT = "constant"  # a literal, None, or a method of a literal (``"x".encode()``): a marker
PASSES_OTHER = "other"


@dataclasses.dataclass(frozen=True)
class CallSite:
    """A call passing a password, a hash or a password-named value: what each argument passes, by
    position (``"0"``) or keyword. ``callee``: the called name's last part; ``qualified`` if known."""

    callee: str
    qualified: str | None
    arguments: tuple[tuple[str, str], ...]


@dataclasses.dataclass(frozen=True)
class LookedUp(PasswordFact):
    """A password from the request used as a lookup key (``filter_by(password=pw)``, a WHERE clause
    built with it): the stored password is compared in plaintext, by the database."""

    place: str


@dataclasses.dataclass(frozen=True)
class InToken(PasswordFact):
    """A password put in a token's payload (``jwt.encode({"password": pw}, key)``): readable by
    anyone holding the token."""

    place: str
