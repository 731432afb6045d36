"""BL403: a broad or data-store ``except`` that answers the client must log the traceback.

A file rule: it reads one ``except`` clause, its ``try`` and the function around it.
"""

from __future__ import annotations

import re

import libcst as cst

from backlint.analysis.exceptions import caught_names
from backlint.analysis.logging import LogCalls
from backlint.analysis.strings import name_tokens
from backlint.analysis.web.answers import OK, Answers, literal_status
from backlint.analysis.web.fixes import log_traceback_fix
from backlint.analysis.web.syntax import short
from backlint.checks.errors import round_trips
from backlint.core.catalog import Knowledge
from backlint.core.rule import FileContext, Rule
from backlint.pipeline.walk import scope_descendants

# Calls that turn the exception being handled into traceback text (logged as text, it is the traceback logged).
_TRACEBACK_FORMATTERS = frozenset(
    {"traceback.format_exc", "traceback.format_exception", "traceback.format_tb", "traceback.extract_tb"}
)
_GATEWAY_STATUSES = frozenset({"502", "504"})  # Bad Gateway, Gateway Timeout: another service failed
_UNAVAILABLE = 503  # a readiness answer: a dependency is down
_STATEMENT_RUNNERS = frozenset({"execute", "exec_driver_sql", "fetchval", "scalar"})
_SELECT_ONE = re.compile(r"(?i)^\s*select\s+1\s*;?\s*$")
# Readiness and liveness probes answer 503 on a failed dependency by design and run every few seconds:
# their unlogged broad handlers are BL605's concern, not a lost error (BL403).
_PROBE_FUNCTION = re.compile(
    r"^_*(health\w*|\w*_health(check)?|healthz|readiness\w*|liveness\w*|ready|live|ping|heartbeat)$"
)
# A route on a health blueprint or path (``@healthz_blueprint.route("/resolversz")``) is a probe too.
_PROBE_ROUTE = re.compile(r"(?i)health|readiness|liveness|livez|readyz|startupz|heartbeat")


def _server_side(is_answer: bool, status: int | None, blames: bool = False) -> bool:
    """An answer that reports a server failure: a 5xx, or a status not written as a constant. A 4xx says
    the handler judged the input at fault (``except: raise ValidationError("not a valid key")``), unless
    ``blames``: the handler catches every error around a data-store round trip, whose failure it blames on
    the client."""
    return is_answer and (status is None or status >= 500 or (blames and status >= 400))


class BroadExceptNotLogged(Rule):
    """A broad or database ``except`` answers the client but never logs the traceback."""

    id = "BL403"
    TRIGGERS = ("except",)

    def __init__(self, context: FileContext, level: str) -> None:
        super().__init__(context, level)
        self.answers = Answers(context.knowledge, context.qualified_name)
        self.logs = LogCalls(context)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        names = caught_names(node, self.context)
        role = self.answers.caught_role(names)
        if role not in ("broad", "database") or self._in_probe():
            return
        # A 4xx says the input was at fault, unless everything is caught around a data-store round trip
        # (``db_session.commit()``): then a database failure is answered as the client's fault.
        blames = role == "broad" and self._round_trips(self.context.ancestors[-2])
        answer: cst.CSTNode | None = None
        untraced: cst.Call | None = None
        name = node.name.name.value if node.name is not None and isinstance(node.name.name, cst.Name) else None
        texts = self._traceback_texts(node)
        carriers = _carriers(node, name)
        for child in scope_descendants(node.body):
            if isinstance(child, cst.Raise):
                if self._reraises(child, name):
                    return
                if answer is None and _server_side(*self.answers.raised_http_error(child.exc), blames):
                    answer = child
            elif isinstance(child, cst.Call):
                if self._logs_traceback(child) or self._logs_traceback_text(child, texts):
                    return
                if self.logs.is_log_call(child) and untraced is None:
                    untraced = child
                if answer is None and _server_side(*self.answers.http_error(child), blames):
                    answer = child
            elif (
                isinstance(child, cst.Return)
                and child.value is not None
                and answer is None
                and self._is_response(child.value)
                and self._answers_failure(child.value, carriers, blames)
            ):
                answer = child
        # ``if "ECONNREFUSED" in str(e): return ..., 502`` then ``return str(e), 502``: another answer hands it
        handed = name is not None and any(
            isinstance(c, (cst.Return, cst.Raise)) and _names(c, name) for c in scope_descendants(node.body)
        )
        if answer is None or self._relays_upstream(answer, name, handed) or _passes_status_on(node, answer):
            return
        if self._status(answer)[1] == _UNAVAILABLE and self._probes_only(self.context.ancestors[-2]):
            return  # a readiness answer: the try only probes a store, and 503 says it is down
        if _carries(answer, carriers) and self._one_request(self.context.ancestors[-2]):
            return  # the try sends one outbound request: its transport error, relayed, is the whole story
        if untraced is not None and _drops_cause(answer) and _carries(untraced, carriers):
            return  # the message is logged and the cause dropped on purpose (``raise ... from None``)
        caught = "except:" if node.type is None else f"except {short(node.type)}:"
        if untraced is not None:
            message = (
                f"`{caught}` answers the client and logs with `{short(untraced.func)}(...)`, which drops the "
                "traceback: use `logger.exception(...)` (or `exc_info=True`) so the failure can be diagnosed"
            )
        else:
            message = (
                f"`{caught}` answers the client but never logs the error: the cause of the failure is lost; "
                "call `logger.exception(...)` with the request's context before answering"
            )
        note = "the error is answered here"
        if blames and not _server_side(*self._status(answer)):
            note = "a data-store failure is answered here with a 4xx, as if the client's request were at fault"
        fix = log_traceback_fix(node, untraced, self.context, self.logs)
        self.report(node, message, related=[(answer, note)], fix=fix)

    def _one_request(self, try_node: cst.CSTNode) -> bool:
        """The ``try`` sends one outbound HTTP request and does nothing else: its one call is a request
        function (``requests.get``; table ``network-clients``), a request method of an HTTP client bound in
        the function (``with httpx.Client() as client``, ``client = requests.Session()``, a parameter
        annotated with the client class), or a call given such a client (``method(client, **kwargs)``).
        What can fail there is the other service or the way to it, and its error names it."""
        if not isinstance(try_node, (cst.Try, cst.TryStar)):
            return False
        calls = [n for n in scope_descendants(try_node.body) if isinstance(n, cst.Call)]
        if len(calls) != 1:
            return False
        call = calls[0]
        requests, clients = self.context.knowledge.derived(_network_clients)
        if (self.context.qualified_name(call.func) or "") in requests:
            return True
        bound = self._clients(clients)
        func = call.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            methods = bound.get(func.value.value)
            if methods is not None and func.attr.value in methods:
                return True
        return any(isinstance(a.value, cst.Name) and a.value.value in bound for a in call.args)

    def _clients(self, clients: dict[str, frozenset[str]]) -> dict[str, frozenset[str]]:
        """The names the enclosing function binds to an HTTP client, with the client's request methods."""
        function = next((a for a in reversed(self.context.ancestors) if isinstance(a, cst.FunctionDef)), None)
        if function is None:
            return {}
        out: dict[str, frozenset[str]] = {}

        def bind(target: cst.BaseExpression | None, made: cst.BaseExpression | None) -> None:
            if isinstance(target, cst.Name) and made is not None:
                func = made.func if isinstance(made, cst.Call) else made
                methods = clients.get(self.context.qualified_name(func) or "")
                if methods is not None:
                    out[target.value] = methods

        for param in [*function.params.params, *function.params.kwonly_params]:
            bind(param.name, param.annotation.annotation if param.annotation is not None else None)
        for node in scope_descendants(function.body):
            if isinstance(node, cst.With):
                for item in node.items:
                    bind(item.asname.name if item.asname is not None else None, item.item)
            elif isinstance(node, cst.Assign) and isinstance(node.value, cst.Call):
                for target in node.targets:
                    bind(target.target, node.value)
        return out

    def _probes_only(self, try_node: cst.CSTNode) -> bool:
        """Every call of the ``try`` probes a data store (table ``store-probes``: ``connection.ensure_connection()``,
        ``redis.ping()``) or runs ``SELECT 1`` (``execute(text("SELECT 1"))``): a readiness check."""
        if not isinstance(try_node, (cst.Try, cst.TryStar)):
            return False
        names, methods = self.context.knowledge.derived(_store_probes)
        calls = [n for n in scope_descendants(try_node.body) if isinstance(n, cst.Call)]
        inner = {id(n) for c in calls for a in c.args for n in scope_descendants(a.value) if isinstance(n, cst.Call)}
        outer = [c for c in calls if id(c) not in inner]
        for call in outer:
            func = call.func
            method = func.attr.value if isinstance(func, cst.Attribute) else ""
            if method in methods or (self.context.qualified_name(func) or "") in names:
                continue
            if method in _STATEMENT_RUNNERS and call.args and _selects_one(call.args[0].value):
                continue
            return False
        return bool(outer)

    def _status(self, answer: cst.CSTNode) -> tuple[bool, int | None]:
        if isinstance(answer, cst.Raise):
            return self.answers.raised_http_error(answer.exc)
        if isinstance(answer, cst.Return) and answer.value is not None:
            return True, self.answers.returned(answer.value)[1]
        return self.answers.http_error(answer) if isinstance(answer, cst.Call) else (True, None)

    def _round_trips(self, try_node: cst.CSTNode) -> bool:
        """The ``try`` calls a data-store method (``commit``, ``execute``; table ``datastore-methods`` without
        the names other objects share, ``get``, ``add``)."""
        return isinstance(try_node, (cst.Try, cst.TryStar)) and round_trips(self.context, try_node.body)

    def _in_probe(self) -> bool:
        for ancestor in reversed(self.context.ancestors):
            if isinstance(ancestor, cst.FunctionDef):
                if _PROBE_FUNCTION.match(ancestor.name.value.lower()):
                    return True
                return any(_PROBE_ROUTE.search(short(d.decorator)) for d in ancestor.decorators)
        return False

    def _reraises(self, node: cst.Raise, name: str | None) -> bool:
        """``raise``, ``raise e``, ``raise Other(...) from e`` (not an HTTP error: those are answered unlogged)."""
        if node.exc is None:
            return True
        if name is not None and isinstance(node.exc, cst.Name) and node.exc.value == name:
            return True
        return node.cause is not None and not self.answers.raised_http_error(node.exc)[0]

    def _logs_traceback(self, call: cst.Call) -> bool:
        qualified = self.context.qualified_name(call.func) or ""
        if qualified in ("traceback.print_exc", "traceback.print_exception"):
            return True
        if qualified in self.logs.table.callables:
            return True
        func = call.func
        if (
            isinstance(func, cst.Attribute)
            and "exception" in name_tokens(func.attr.value)
            and self.logs.is_logger(func.value)
        ):
            return True  # the project's logger method for exceptions (``log.error_or_exception(e)``)
        return self.logs.is_log_call(call) and self.logs.logs_traceback(call)

    def _traceback_texts(self, handler: cst.ExceptHandler) -> set[str]:
        """The locals of the handler bound to a formatted traceback (``tb = traceback.format_exc()``)."""
        out: set[str] = set()
        for node in scope_descendants(handler.body):
            if isinstance(node, cst.Assign) and self._formats_traceback(node.value, out):
                out.update(t.target.value for t in node.targets if isinstance(t.target, cst.Name))
        return out

    def _formats_traceback(self, value: cst.CSTNode, texts: set[str]) -> bool:
        """``value`` holds a formatted traceback: ``traceback.format_exc()``, ``"".join(traceback.format_exception(
        e))``, or a local bound to one."""
        for node in scope_descendants(value):
            if isinstance(node, cst.Call) and self.context.qualified_name(node.func) in _TRACEBACK_FORMATTERS:
                return True
            if isinstance(node, cst.Name) and node.value in texts:
                return True
        return False

    def _logs_traceback_text(self, call: cst.Call, texts: set[str]) -> bool:
        """A log or console call given the traceback as text (``logger.warning(traceback.format_exc())``) or
        asked for the stack (``stack_info=True``): the failure's record is kept, only not by ``exc_info``."""
        if not (self.logs.is_log_call(call) or self.logs.is_output_call(call)):
            return False
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value == "stack_info":
                if not (isinstance(arg.value, cst.Name) and arg.value.value in ("False", "None")):
                    return True
            elif self._formats_traceback(arg.value, texts):
                return True
        return False

    @staticmethod
    def _relays_upstream(answer: cst.CSTNode, name: str | None, handed_elsewhere: bool = False) -> bool:
        """The answer is about another service: a gateway status (502, 504: the upstream failed or timed out)
        that hands the upstream's error to the client (in this answer or in another of the handler's) or
        deliberately drops it (``raise ... from None``), or the status of the upstream's own response passed
        through (``HTTPException(status_code=r.status)``)."""
        nodes = list(scope_descendants(answer))
        dropped = _drops_cause(answer)
        handed = handed_elsewhere or (
            name is not None and any(isinstance(n, cst.Name) and n.value == name for n in nodes)
        )
        for node in nodes:
            if isinstance(node, cst.Integer) and node.value in _GATEWAY_STATUSES and (dropped or handed):
                return True
            if (
                isinstance(node, cst.Attribute)
                and node.attr.value in ("status", "status_code")
                and isinstance(node.value, cst.Name)
                and node.value.value not in ("status", "HTTPStatus")
            ):
                return True
        return False

    def _answers_failure(self, value: cst.BaseExpression, carriers: set[str], blames: bool = False) -> bool:
        """A response with a 5xx or a computed status; or one built without a status (a 200) whose body carries
        the exception (``HttpResponse(json.dumps({"message": str(e), "success": 0}))``): the failure answered to
        the client and lost to the log. A 200 whose body the handler chose without the exception (mlflow's
        telemetry endpoint answering ``{"status": "disabled"}``) is an answer, not a server error."""
        kind, status = self.answers.returned(value)
        if not _server_side(True, status, blames):
            return False
        return kind != OK or any(isinstance(n, cst.Name) and n.value in carriers for n in scope_descendants(value))

    def _is_response(self, value: cst.BaseExpression) -> bool:
        """A response object, or a Flask ``(body, status)`` tuple."""
        if isinstance(value, cst.Call):
            return self.answers.response_row(value.func) is not None
        if isinstance(value, cst.Tuple) and 2 <= len(value.elements) <= 3:
            return literal_status(value.elements[1].value) is not None
        return False


def _carriers(handler: cst.ExceptHandler, name: str | None) -> set[str]:
    """The exception's name and the locals the handler derives from it (``message = str(e)``, ``data =
    {"message": message}``)."""
    if name is None:
        return set()
    out = {name}
    assigns = [n for n in scope_descendants(handler.body) if isinstance(n, (cst.Assign, cst.AnnAssign))]
    changed = True
    while changed:
        changed = False
        for assign in assigns:
            if assign.value is None or not any(
                isinstance(n, cst.Name) and n.value in out for n in scope_descendants(assign.value)
            ):
                continue
            targets = [t.target for t in assign.targets] if isinstance(assign, cst.Assign) else [assign.target]
            for target in targets:
                if isinstance(target, cst.Name) and target.value not in out:
                    out.add(target.value)
                    changed = True
    return out


def _network_clients(knowledge: Knowledge) -> tuple[frozenset[str], dict[str, frozenset[str]]]:
    """Request functions, and HTTP client classes with their request methods (table ``network-clients``)."""
    rows = knowledge.rows("network-clients")
    calls = frozenset(r["name"] for r in rows if r["role"] == "call")
    return calls, {r["name"]: frozenset(r.get("methods", ())) for r in rows if r["role"] == "client"}


def _store_probes(knowledge: Knowledge) -> tuple[frozenset[str], frozenset[str]]:
    """Functions (by qualified name) and methods that probe a data store (table ``store-probes``)."""
    rows = knowledge.rows("store-probes")
    return frozenset(r["name"] for r in rows if r.get("name")), frozenset(r["method"] for r in rows if r.get("method"))


def _selects_one(value: cst.BaseExpression) -> bool:
    """``"SELECT 1"``, also wrapped (``text("SELECT 1")``): a query that asks the store only to answer."""
    if isinstance(value, cst.Call) and len(value.args) == 1:
        value = value.args[0].value
    text = value.evaluated_value if isinstance(value, cst.SimpleString) else None
    return isinstance(text, str) and _SELECT_ONE.match(text) is not None


def _carries(node: cst.CSTNode, carriers: set[str]) -> bool:
    """``node`` shows the exception or a local derived from it (``detail=str(ex)``, ``"...: %s", e``)."""
    return any(isinstance(n, cst.Name) and n.value in carriers for n in scope_descendants(node))


def _drops_cause(answer: cst.CSTNode) -> bool:
    """``raise HTTPException(...) from None``: the handler cut the chain to the exception on purpose."""
    cause = answer.cause.item if isinstance(answer, cst.Raise) and answer.cause is not None else None
    return isinstance(cause, cst.Name) and cause.value == "None"


def _names(node: cst.CSTNode, name: str) -> bool:
    return any(isinstance(n, cst.Name) and n.value == name for n in scope_descendants(node))


def _passes_status_on(handler: cst.ExceptHandler, answer: cst.CSTNode) -> bool:
    """The answer's status is a name the handler sets only to a 4xx or to an upstream response's status
    (``status_code = 404`` ... ``if response is not None: status_code = response.status_code``): an optional
    fetch from another service answered with that service's verdict, not a failure of this one."""
    if not isinstance(answer, cst.Return) or not isinstance(answer.value, cst.Call):
        return False
    status = next(
        (a.value for a in answer.value.args if a.keyword is not None and a.keyword.value in ("status", "status_code")),
        None,
    )
    if not isinstance(status, cst.Name):
        return False
    values = [
        statement.value
        for statement in scope_descendants(handler.body)
        if isinstance(statement, cst.Assign)
        and any(isinstance(t.target, cst.Name) and t.target.value == status.value for t in statement.targets)
    ]
    return bool(values) and all(
        (isinstance(v, cst.Integer) and 400 <= int(v.value) < 500)
        or (isinstance(v, cst.Attribute) and v.attr.value in ("status", "status_code"))
        for v in values
    )
