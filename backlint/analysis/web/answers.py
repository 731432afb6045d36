"""Reading HTTP answers: the status a returned value, a response, a raised HTTP error or an ``abort``
call gives, and the role of the exceptions an ``except`` catches. Shared by the file rules (BL403,
BL406) and the per-file walks of the web analyses."""

from __future__ import annotations

import dataclasses
import http
import re
from typing import TYPE_CHECKING, Any, Callable

import libcst as cst

from backlint.analysis.strings import name_tokens
from backlint.core.imports import dotted_name

if TYPE_CHECKING:
    from backlint.core.catalog import Knowledge

OK, ERROR, UNKNOWN = "ok", "error", "unknown"
_STATUS_DIGITS = re.compile(r"(?<!\d)([1-5]\d\d)(?!\d)")
# Words that may precede a status's name in a constant naming it (``HTTP_STATUS_CODE_CONFLICT``, ``codes.ok``).
_STATUS_NAME_PREFIX = frozenset({"HTTP", "STATUS", "CODE", "CODES", "RESPONSE", "RESP"})
_SERVER_ERROR_NAME = re.compile(
    r"Internal|ServerError|Unavailable|BadGateway|GatewayTimeout|NotImplemented|InsufficientStorage"
)


def literal_status(node: cst.BaseExpression | None) -> int | None:
    """A status written as a constant: ``503``, ``status.HTTP_503_SERVICE_UNAVAILABLE``, ``HTTPStatus.OK``."""
    if node is None:
        return None
    if isinstance(node, cst.Integer):
        return int(node.evaluated_value)
    name = dotted_name(node)
    if name is None:
        return None
    last = name.rpartition(".")[2]
    match = _STATUS_DIGITS.search(last)
    if match:
        return int(match.group(1))
    if name.startswith(("HTTPStatus.", "http.HTTPStatus.")):
        member = getattr(http.HTTPStatus, last, None)
        return int(member) if member is not None else None
    return _named_status(name)


def _named_status(name: str) -> int | None:
    """A constant named after the HTTP status it holds: ``HTTP_STATUS_CODE_CONFLICT`` (timesketch's
    definitions module), ``STATUS_NOT_FOUND``, ``codes.conflict`` (requests'): the words before the status's
    name (in the last part, else the part before it) are all words of "HTTP status code"."""
    parts = name.split(".")
    words = [w.upper() for w in name_tokens(parts[-1])]
    for start in range(1, len(words) + 1):
        member = http.HTTPStatus.__members__.get("_".join(words[start - 1 :]))
        if member is None:
            continue
        before = set(words[: start - 1])
        if not before and len(parts) > 1:
            before = {w.upper() for w in name_tokens(parts[-2])}
        return int(member) if before and before <= _STATUS_NAME_PREFIX else None
    return None


def argument(call: cst.Call, position: int | None, keyword: str | None) -> cst.BaseExpression | None:
    for arg in call.args:
        if keyword is not None and arg.keyword is not None and arg.keyword.value == keyword:
            return arg.value
    if position is None:
        return None
    positional = [a for a in call.args if a.keyword is None and not a.star]
    return positional[position].value if position < len(positional) else None


@dataclasses.dataclass(frozen=True)
class AnswerTables:
    """The tables answers are read with, indexed once per Knowledge (``Knowledge.derived``)."""

    responses: dict[str, dict[str, Any]]
    classes: dict[str, dict[str, Any]]
    modules: tuple[tuple[str, str, dict[str, Any]], ...]
    calls: dict[str, dict[str, Any]]
    methods: dict[str, dict[str, Any]]
    validation: frozenset[str]
    exception_roles: dict[str, str]

    @classmethod
    def build(cls, knowledge: Knowledge) -> AnswerTables:
        rows = knowledge.rows("http-errors")
        errors = [r for r in rows if r["role"] == "http-error"]
        return cls(
            responses={r["name"]: r for r in knowledge.rows("framework-responses")},
            classes={r["name"]: r for r in errors if r["form"] == "class"},
            modules=tuple((r["name"], r.get("prefix", ""), r) for r in errors if r["form"] == "module"),
            calls={r["name"]: r for r in errors if r["form"] == "call"},
            methods={r["name"]: r for r in errors if r["form"] == "method"},
            validation=frozenset(r["name"] for r in rows if r["role"] == "validation"),
            exception_roles={r["name"]: r["role"] for r in knowledge.rows("exception-classes")},
        )


class Answers:
    """Reads HTTP answers: the status a returned value, a raised HTTP error or an ``abort`` call gives."""

    def __init__(self, knowledge: Knowledge, qualify: Callable[[cst.CSTNode], str | None]) -> None:
        self.tables = knowledge.derived(AnswerTables.build)
        self.qualify = qualify

    def response_row(self, func: cst.BaseExpression) -> dict[str, Any] | None:
        """The framework-responses row of a response constructor (``JSONResponse``, ``jsonify``)."""
        ref = self.qualify(func)
        if not ref:
            return None
        responses = self.tables.responses
        return responses.get(ref) or responses.get(ref.rpartition(".")[2])

    def response_status(self, call: cst.Call, row: dict[str, Any]) -> tuple[str, int | None]:
        given = argument(call, row.get("status-arg"), row.get("status-kw"))
        if given is None:
            default = int(row["status"])
            return (ERROR if default >= 400 else OK), (default if default != 200 else None)
        status = literal_status(given)
        if status is None:
            return UNKNOWN, None
        return (ERROR if status >= 400 else OK), status

    def returned(self, value: cst.BaseExpression) -> tuple[str, int | None]:
        """(ok | error | unknown, status) of ``return value``: a literal body is a 200, a tuple carries its status."""
        if isinstance(value, cst.Tuple) and 2 <= len(value.elements) <= 3:
            status = literal_status(value.elements[1].value)
            if status is None:
                return UNKNOWN, None
            return (ERROR if status >= 400 else OK), status
        if isinstance(value, (cst.Dict, cst.List, cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
            return OK, None
        if isinstance(value, cst.Call):
            row = self.response_row(value.func)
            if row is not None:
                return self.response_status(value, row)
        return UNKNOWN, None

    def http_error(self, call: cst.Call) -> tuple[bool, int | None]:
        """(is an HTTP error, its status if known): ``HTTPException(404)``, ``abort(403)``, ``get_object_or_404()``."""
        func = call.func
        if isinstance(func, cst.Attribute):
            row = self.tables.methods.get(func.attr.value)
            if row is not None:
                flag = argument(call, None, row.get("keyword"))
                if isinstance(flag, cst.Name) and flag.value == "True":
                    return True, row.get("status")
        ref = self.qualify(func) or ""
        row = self.tables.classes.get(ref) or self.tables.calls.get(ref)
        if row is None:
            module, _, last = ref.rpartition(".")
            for name, prefix, candidate in self.tables.modules:
                if module == name and last[:1].isupper() and last.startswith(prefix):
                    row = candidate
                    break
            if row is None:
                return False, None
            if _SERVER_ERROR_NAME.search(last):
                return True, 500
            if last in ("HTTPException", "APIException"):
                return True, None
            return True, 400
        if "status" in row:
            return True, int(row["status"])
        status = literal_status(argument(call, row.get("status-arg"), row.get("status-kw")))
        return True, status

    def raised_http_error(self, raised: cst.BaseExpression | None) -> tuple[bool, int | None]:
        """``raise NotFound()``/``raise Http404``: the class may be raised without a call."""
        if isinstance(raised, cst.Call):
            return self.http_error(raised)
        if raised is None:
            return False, None
        return self.http_error(cst.Call(func=raised))

    def caught_role(self, names: list[str] | None) -> str:
        """broad | database | http | validation | narrow, for the classes an ``except`` names (None: bare)."""
        if names is None:
            return "broad"
        roles = {self.tables.exception_roles.get(n) for n in names}
        if "broad" in roles:
            return "broad"
        if "database" in roles:
            return "database"
        if names and all(n in self.tables.validation for n in names):
            return "validation"
        if any(self._is_http_class(n) for n in names):
            return "http"
        return "narrow"

    def _is_http_class(self, name: str) -> bool:
        if self.tables.exception_roles.get(name) == "http-error" or name in self.tables.classes:
            return True
        module, _, last = name.rpartition(".")
        return any(module == m and last[:1].isupper() and last.startswith(p) for m, p, _ in self.tables.modules)
