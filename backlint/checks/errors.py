"""BL4xx: error handling — failures must become logged errors and proper responses."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from backlint.analysis.exceptions import catches_every_error, caught_names
from backlint.analysis.logging import LogCalls
from backlint.analysis.origins import Origins
from backlint.analysis.strings import name_tokens
from backlint.checks.request_paths import (
    RequestPaths,
    documented_failure,
    fails_closed,
    is_boolean,
    method_name,
    short_code,
)
from backlint.core.catalog import Knowledge
from backlint.core.rule import FileContext, Rule
from backlint.pipeline.walk import scope_descendants

_OPTIONAL_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError"})
_TEARDOWN_FUNCTIONS = frozenset({"__del__", "__exit__", "__aexit__"})
# Methods that add to a collection the function builds (``hostnames.add(h)``): computing a value.
# Data-store method names that mappings, sets and other objects have too (``cache.get``, ``os.path.exists``).
_COMMON_METHODS = frozenset(
    {
        "get", "set", "delete", "add", "exists", "find", "iterate", "eval", "exec", "incr", "publish", "merge",
        "expire", "command", "query", "create_all", "generate_schemas", "run_sync", "ping", "server_info",
        "ensure_connection", "list_collection_names",
    }
)  # fmt: skip
_WRITES = frozenset({"commit", "flush"})  # a write was made: its failure is more than a "no" answer
_COLLECTION_UPDATES = frozenset({"append", "add", "extend", "insert", "setdefault", "appendleft"})
# Words of a test that reads an error value (``if error:``, ``if data.get("error"):``): its branch handles
# a failure that is already being reported, as an ``except`` does.
_ERROR_WORDS = frozenset({"error", "errors", "err", "failure", "failed", "exception"})
# Words of a class, function or module that ships records (``ContextLog.send_job``, ``telemetry.ping``): its
# own outbound call failing cannot be recorded through itself, and the work it observes goes on.
_SHIPPING_WORDS = frozenset(
    {"log", "logs", "logger", "logging", "telemetry", "analytics", "tracking", "tracker", "metrics", "beacon"}
)
# First words of a deletion, and words naming a container that is dropped to be rebuilt (a collection, an
# index): ``delete_collection(name)`` before the function fills ``name`` again fails when it is not there yet.
_DELETIONS = frozenset({"delete", "drop"})
_CONTAINERS = frozenset({"collection", "index", "table", "bucket", "queue", "namespace", "schema", "cache"})
# First words of a call that fills a container again (``save_docs_to_vector_db``, ``create_index``).
_FILLS = frozenset(
    (w,) for w in ("save", "insert", "add", "create", "upsert", "index", "reindex", "write", "store", "put", "build")
)
_CONSOLE_STREAMS = frozenset({"sys.stderr.fileno", "sys.stdout.fileno", "sys.__stderr__.fileno"})


def _discards(statement: cst.BaseSmallStatement) -> bool:
    """``pass``, ``...``, a string, ``continue`` or a bare ``return``: the error and the outcome vanish.

    ``return None``/``return False`` hand the failure to the caller as a sentinel (the
    ``parse_date_safe`` idiom), so they are not counted as swallowing.
    """
    if isinstance(statement, (cst.Pass, cst.Continue)):
        return True
    if isinstance(statement, cst.Expr):
        return isinstance(statement.value, (cst.Ellipsis, cst.SimpleString, cst.ConcatenatedString))
    return isinstance(statement, cst.Return) and statement.value is None


def _small_statements(suite: cst.BaseSuite) -> list[cst.BaseSmallStatement] | None:
    """The simple statements of a block, or None if it holds a compound statement."""
    if isinstance(suite, cst.SimpleStatementSuite):
        return list(suite.body)
    out: list[cst.BaseSmallStatement] = []
    for line in suite.body:
        if not isinstance(line, cst.SimpleStatementLine):
            return None
        out.extend(line.body)
    return out


def _statements(suite: cst.BaseSuite) -> list[cst.BaseStatement | cst.BaseSmallStatement]:
    if isinstance(suite, cst.SimpleStatementSuite):
        return list(suite.body)
    return list(suite.body)


def _sole_call(try_node: cst.Try | cst.TryStar) -> cst.Call | None:
    """The call a ``try`` body consists of (``try: await client.drop(name)``), if it is just one."""
    statements = _statements(try_node.body)
    if len(statements) != 1 or not isinstance(statements[0], cst.SimpleStatementLine):
        return None
    line = statements[0].body
    call = line[0].value if len(line) == 1 and isinstance(line[0], cst.Expr) else None
    call = call.expression if isinstance(call, cst.Await) else call
    return call if isinstance(call, cst.Call) else None


def _assigned(statement: cst.BaseSmallStatement) -> list[cst.Name]:
    """The plain names a statement assigns."""
    if isinstance(statement, cst.Assign):
        return [t.target for t in statement.targets if isinstance(t.target, cst.Name)]
    if isinstance(statement, (cst.AnnAssign, cst.AugAssign)) and isinstance(statement.target, cst.Name):
        return [statement.target]
    return []


def _serves_until_closed(statement: cst.CSTNode) -> bool:
    """``while True:`` or ``async for msg in upstream:``: a relay loop that a closed connection ends by
    raising, so the ``except`` is how the loop stops."""
    if isinstance(statement, cst.For):
        return statement.asynchronous is not None
    return isinstance(statement, cst.While) and isinstance(statement.test, cst.Name) and statement.test.value == "True"


def _store_round_trips(knowledge: Knowledge) -> frozenset[str]:
    """Data-store methods (table ``datastore-methods``) whose name is no common method of other objects."""
    methods = {r["method"] for r in knowledge.rows("datastore-methods") if r["effect"] == "io"}
    return frozenset(methods - _COMMON_METHODS)


def round_trips(context: FileContext, body: cst.CSTNode) -> bool:
    """``body`` calls a data-store method (``commit``, ``execute``; table ``datastore-methods``)."""
    methods = context.knowledge.derived(_store_round_trips)
    return any(isinstance(n, cst.Call) and method_name(n) in methods for n in scope_descendants(body))


def _lookups(knowledge: Knowledge) -> frozenset[str]:
    """Calls that resolve a name (form ``lookup`` of ``best-effort-calls``)."""
    return frozenset(r["name"] for r in knowledge.rows("best-effort-calls") if r["form"] == "lookup")


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


def _reads_error(test: cst.BaseExpression) -> bool:
    """``if error:``, ``if raw_error and save:``, ``if response.get("error"):``: the branch runs when a
    failure was reported (a negation or a comparison, ``if not errors``, ``if error is None``, is not this)."""
    if isinstance(test, cst.BooleanOperation):
        return _reads_error(test.left) or _reads_error(test.right)
    if not isinstance(test, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)):
        return False
    words: set[str] = set()
    for node in scope_descendants(test):
        if isinstance(node, (cst.Name, cst.SimpleString)):
            words.update(name_tokens(node.value))
    return bool(words & _ERROR_WORDS)


class ExceptionSwallowed(Rule):
    """An ``except`` for every error or a data-store base error whose body does nothing with the error."""

    id = "BL402"
    TRIGGERS = ("except",)

    REQUIRES = (Origins,)

    def __init__(self, context: FileContext, level: str) -> None:
        super().__init__(context, level)
        self.paths = RequestPaths(context)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        body = _small_statements(node.body)
        masked = False
        if body is None or not all(_discards(s) for s in body):
            masked = body is not None and self._masks_store_failure(body)
            if not masked:
                self._note_answer(node)
                return
        assert body is not None
        names = caught_names(node, self.context)
        if names is not None and any(n.rpartition(".")[2] in _OPTIONAL_IMPORT_ERRORS for n in names):
            return
        if not catches_every_error(node, self.context) and not self.context.options["check-typed-exceptions"]:
            return
        if (
            self._in_teardown()
            or self._best_effort(masked)
            or documented_failure(node, _function(self.context.ancestors))
        ):
            return
        caught = "except:" if node.type is None else f"except {cst.Module([]).code_for_node(node.type)}:"
        if masked:
            message = (
                f"`{caught}` turns a failed data-store call into the `{_code(body[0])}` of an empty result: callers "
                "answer 'not found' or 'failed' and nothing is logged; log it with logger.exception() and re-raise"
            )
        else:
            message = (
                f"`{caught}` swallows the error: it is neither logged, re-raised nor answered; "
                "log it with logger.exception() and re-raise or return an error response"
            )
        self.report(node, message)

    def note_answer(self, node: cst.ExceptHandler) -> None:
        """Notes ``node`` as ``visit_ExceptHandler`` does, reporting nothing: the handlers that answer silently,
        for the project pass (backlint/checks/errors_project.py) to follow to endpoints of other modules."""
        body = _small_statements(node.body)
        if body is not None and (all(_discards(s) for s in body) or self._masks_store_failure(body)):
            return
        self._note_answer(node)

    def _note_answer(self, node: cst.ExceptHandler) -> None:
        """A broad ``except`` that answers (a page, None, False, a 2xx or 4xx) without logging, re-raising or
        handing the error on: reported at the end of the module if its function is on a request path."""
        if not catches_every_error(node, self.context) or self._in_teardown():
            return
        try_node = self.context.ancestors[-2]
        if not isinstance(try_node, (cst.Try, cst.TryStar)):
            return
        statements = _statements(try_node.body)
        if (
            self.paths.parses_input(try_node.body)
            or self._parses_first(statements)
            or _on_error_path(self.context.ancestors)
            or (len(statements) == 1 and _serves_until_closed(statements[0]))
        ):
            return  # the failure is of a computation or of the client's input, not of I/O
        if _looks_up(self.context, try_node.body):
            return  # a name that does not resolve: the failure is the answer (``resolvable = len(...) > 0``)
        self.paths.note(node)

    def leave_Module(self, node: cst.Module) -> None:
        for handler, answer, endpoint in self.paths.on_request_paths():
            caught = "except:" if handler.type is None else f"except {_code(handler.type)}:"
            if endpoint.node is not self.paths.frame_node(handler):
                where = "a function called by"
            elif self.paths.helper(endpoint):
                where = "the request handler"  # given the request by the module's own code, not routed
            else:
                where = "the endpoint"
            message = (
                f"`{caught}` answers `{short_code(answer)}` in {where} `{endpoint.name}` without logging or re-raising "
                "the error: the failure vanishes from the request path; log it with logger.exception() (or let "
                "it reach the app's error handler)"
            )
            self.report(handler, message, related=[(answer, "the failure is answered here")])

    def _masks_store_failure(self, body: list[cst.BaseSmallStatement]) -> bool:
        """``return None``/``return False`` after a ``try`` that returns a data-store call's result: a lost
        connection reads as "not found" (a sentinel of its own, ``is_usable() -> False``, is not this)."""
        if len(body) != 1 or not isinstance(body[0], cst.Return) or not isinstance(body[0].value, cst.Name):
            return False
        if body[0].value.value not in ("None", "False"):
            return False
        try_node = self.context.ancestors[-2]
        if not isinstance(try_node, (cst.Try, cst.TryStar)):
            return False
        handler = self.context.ancestors[-1]
        if isinstance(handler, cst.ExceptHandler) and fails_closed(_function(self.context.ancestors), handler):
            return False  # an authentication check denying the caller: failing closed is its answer
        nodes = list(scope_descendants(try_node.body))
        returned = [n.value for n in nodes if isinstance(n, cst.Return) and n.value is not None]
        if not returned:
            return False
        calls = [method_name(n) for n in nodes if isinstance(n, cst.Call)]
        if all(is_boolean(v) for v in returned) and not any(c in _WRITES for c in calls):
            return False  # a probe that reads (``has_collection``, ``detect_json1``): False is its answer
        methods = self.context.knowledge.derived(_store_round_trips)
        return any(c in methods for c in calls)

    def _in_teardown(self) -> bool:
        """In ``finally``, ``__del__``/``__exit__``, a method named like cleanup (``close``), or another
        ``except`` (a secondary failure while the first error is already being handled)."""
        cleanup = self.context.knowledge.values("cleanup-methods", "name")
        ancestors = self.context.ancestors
        for ancestor in ancestors:
            if isinstance(ancestor, cst.Finally):
                return True
            if isinstance(ancestor, cst.FunctionDef) and (
                ancestor.name.value in _TEARDOWN_FUNCTIONS or ancestor.name.value in cleanup
            ):
                return True
        for ancestor in reversed(ancestors[:-2]):
            if isinstance(ancestor, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
                return False
            if isinstance(ancestor, cst.ExceptHandler):
                return True
        return False

    def _best_effort(self, masked: bool = False) -> bool:
        """The ``try`` is a best-effort idiom: optional imports and feature probes, cleanup calls, work that
        only computes values (with a fallback set before the ``try`` or after it), or a ``try`` that returns
        a value when it succeeds with a fallback ``return`` after it."""
        try_node = self.context.ancestors[-2]
        if not isinstance(try_node, (cst.Try, cst.TryStar)):
            return False
        statements = _statements(try_node.body)
        imports = (cst.Import, cst.ImportFrom)
        if any(
            isinstance(line, cst.SimpleStatementLine) and any(isinstance(s, imports) for s in line.body)
            for line in statements
        ):
            return True  # an optional import (``try: import torch``)
        if len(statements) == 1 and _serves_until_closed(statements[0]):
            return True
        if not masked and self._computes(try_node.body) and not _only_logs(self.paths.logs, statements):
            return True  # not for a store call's result: that is the failure being masked
        if not masked and (self._parses_first(statements) or _on_error_path(self.context.ancestors)):
            return True
        if not masked and self._drops_before_reuse(try_node):
            return True
        if not masked and (_selects_branch(self.context.ancestors, try_node) or _records_success(try_node)):
            return True
        return self._falls_back(try_node) or self._keeps_default(try_node) or self._checked_after(try_node)

    def _computes(self, suite: cst.BaseSuite) -> bool:
        """Every statement assigns, updates a collection, probes an optional feature, updates a metric,
        cleans up, or controls the flow: nothing whose failure loses the caller's data."""
        for statement in _statements(suite):
            if isinstance(statement, cst.SimpleStatementLine):
                if not all(self._computes_small(s) for s in statement.body):
                    return False
            elif isinstance(statement, cst.BaseSmallStatement):
                if not self._computes_small(statement):
                    return False
            elif isinstance(statement, (cst.If, cst.For, cst.While)):
                if not self._computes(statement.body):
                    return False
                orelse = statement.orelse
                while isinstance(orelse, cst.If):
                    if not self._computes(orelse.body):
                        return False
                    orelse = orelse.orelse
                if orelse is not None and not self._computes(orelse.body):
                    return False
            elif isinstance(statement, cst.With):
                opened = all(self._reads_file(item.item) or _opens_cursor(item.item) for item in statement.items)
                if not opened or not self._computes(statement.body):
                    return False
            elif isinstance(statement, (cst.Try, cst.TryStar)):
                blocks = [statement.body, *(h.body for h in statement.handlers)]
                blocks += [b.body for b in (statement.orelse, statement.finalbody) if b is not None]
                if not all(self._computes(b) for b in blocks):
                    return False
            elif not isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                return False
        return True

    def _reads_file(self, item: cst.BaseExpression) -> bool:
        """``open(path)`` for reading (no mode, or a literal mode without ``w``, ``a``, ``x`` or ``+``)."""
        if not isinstance(item, cst.Call) or self.context.qualified_name(item.func) not in ("open", "io.open"):
            return False
        mode = next((a.value for a in item.args[1:2] if a.keyword is None), None)
        mode = next((a.value for a in item.args if a.keyword is not None and a.keyword.value == "mode"), mode)
        if mode is None:
            return True
        return isinstance(mode, cst.SimpleString) and not set(mode.raw_value) & set("wax+")

    def _computes_small(self, statement: cst.BaseSmallStatement) -> bool:
        if not isinstance(statement, cst.Expr):
            return True  # assignments, del, return, raise, pass, continue, break, import
        value = statement.value
        if isinstance(value, cst.Yield):
            return True  # a value handed to the consumer (a generator reading an optional file)
        if isinstance(value, cst.Await):
            value = value.expression
        if not isinstance(value, cst.Call):
            return isinstance(value, (cst.Ellipsis, cst.SimpleString, cst.ConcatenatedString))
        name = method_name(value)
        knowledge = self.context.knowledge
        cleanup = knowledge.values("cleanup-methods", "name")
        if name in _COLLECTION_UPDATES or name in cleanup or name.partition("_")[0] in cleanup:
            return True
        methods = {r["name"] for r in knowledge.rows("best-effort-calls") if r["form"] in ("method", "answer")}
        if name in methods:
            return True  # a metric update, or a check whose answer the statement discards
        if self._best_effort_step(value) or _reads_store(value) or self._writes_console(value):
            return True
        if self._parses(value):
            return True  # a validation whose result is discarded (``Model.model_validate(item)``): it checks by raising
        words = name_tokens(name)
        if words[:1] == ("parse",) or (words[:1] in (("verify",), ("check",)) and "password" in words):
            return True  # a parse into a default (``parse_body_arguments(..., arguments, files)``), a dummy bind
        if name == "sendto" or _on_datagram_socket(self.context, value):
            return True  # a datagram (UDP: lost datagrams are the protocol's, retried or re-announced)
        if self.paths.logs.is_log_call(value):
            return True  # a record of the work: it loses no data of the caller's
        if self._ships_record(value):
            return True
        calls = {r["name"] for r in knowledge.rows("best-effort-calls") if r["form"] == "call"}
        # ``ctypes.CDLL("libc.so.6").malloc_trim(0)``: a call on a probed feature
        return any(self.context.qualified_name(call.func) in calls for call in _chain_calls(value))

    def _best_effort_step(self, call: cst.Call) -> bool:
        """A call whose failure loses nothing by what it does (table ``best-effort-calls``): form ``step`` by
        its name (``redact``: hiding a message already shown; ``exception``: a future's outcome retrieved so
        that asyncio does not warn; ``wait`` given ``timeout=``: reaping a child that exited), form ``verb``
        by its first word (``_mirror_file_to_machine_config``, ``recalc_sort_value``: derived state whose
        source stands), form ``signal`` given keyword arguments only (``update.send(watch_uuid=uuid)``: a
        signal to its receivers, blinker's and Django's)."""
        name = method_name(call)
        words = name_tokens(name)
        keywords = {a.keyword.value for a in call.args if a.keyword is not None}
        for row in self.context.knowledge.rows("best-effort-calls"):
            form = row["form"]
            if form == "step" and name == row["name"] and row.get("keyword", "") in keywords | {""}:
                return True
            if form == "verb" and words[:1] == (row["name"],):
                return True
            if form == "signal" and name == row["name"] and call.args and len(keywords) == len(call.args):
                return isinstance(call.func, cst.Attribute)
        return False

    def _writes_console(self, call: cst.Call) -> bool:
        """A message written to the console (``os.write(sys.stderr.fileno(), msg)`` in a signal handler,
        ``print``): where a failure would be shown, so its own failure has nowhere to go."""
        if self.paths.logs.is_output_call(call):
            return True
        if self.context.qualified_name(call.func) != "os.write" or not call.args:
            return False
        stream = call.args[0].value
        if isinstance(stream, cst.Integer):
            return stream.value in ("1", "2")
        return isinstance(stream, cst.Call) and self.context.qualified_name(stream.func) in _CONSOLE_STREAMS

    def _ships_record(self, call: cst.Call) -> bool:
        """An HTTP request (table ``network-clients``) sent by a class, function or module that ships records
        (``ContextLog.send_job`` posting anonymous usage data): the work it observes goes on without it."""
        rows = self.context.knowledge.rows("network-clients")
        if self.context.qualified_name(call.func) not in {r["name"] for r in rows if r["role"] == "call"}:
            return False
        names = [self.context.module_name.rpartition(".")[2]]
        names += [a.name.value for a in self.context.ancestors if isinstance(a, (cst.FunctionDef, cst.ClassDef))]
        return any(set(name_tokens(n)) & _SHIPPING_WORDS for n in names)

    def _drops_before_reuse(self, try_node: cst.Try | cst.TryStar) -> bool:
        """``try: await client.delete_collection(collection_name=name) except: pass`` and a later call of the
        function fills a container given the same way (``save_docs(docs, collection_name=...)``, or the same
        name): a container dropped to be rebuilt, whose failure is that it was not there yet."""
        call = _sole_call(try_node)
        if call is None:
            return False
        words = name_tokens(method_name(call))
        if words[:1] not in {(w,) for w in _DELETIONS} or not set(words[1:]) & _CONTAINERS:
            return False
        given = {a.value.value for a in call.args if isinstance(a.value, cst.Name)}
        keywords = {a.keyword.value for a in call.args if a.keyword is not None}
        for later in self._siblings(try_node, after=True):
            for node in scope_descendants(later):
                if not isinstance(node, cst.Call) or not any(name_tokens(n)[:1] in _FILLS for n in _callees(node)):
                    continue
                if any(
                    (a.keyword is not None and a.keyword.value in keywords)
                    or (isinstance(a.value, cst.Name) and a.value.value in given)
                    for a in node.args
                ):
                    return True  # ``save_docs_to_vector_db(docs, collection_name=name)``: filled again
        return False

    def _parses_first(self, statements: list[cst.BaseStatement | cst.BaseSmallStatement]) -> bool:
        """The ``try`` starts by parsing text (``tags = json.loads(text).get("tags")``, ``parse_follow_ups(s)``)
        and the rest of it uses what was parsed: its failure is the text that did not parse, and what
        follows is an optional use of the parsed value (the default stands)."""
        if len(statements) < 2 or not isinstance(statements[0], cst.SimpleStatementLine):
            return False
        first = statements[0].body
        if len(first) != 1 or not isinstance(first[0], (cst.Assign, cst.AnnAssign)) or first[0].value is None:
            return False
        targets = {t.value for t in _assigned(first[0])}
        if not targets or not self._parses(first[0].value):
            return False
        return any(
            isinstance(node, cst.Name) and node.value in targets
            for statement in statements[1:]
            for node in scope_descendants(statement)
        )

    def _parses(self, value: cst.BaseExpression) -> bool:
        """A call chain rooted in a parse: an ``input-parsers`` call or method, or a function named ``parse_*``."""
        knowledge = self.context.knowledge
        calls = {r["name"] for r in knowledge.rows("input-parsers") if r["form"] == "call"}
        methods = {r["name"] for r in knowledge.rows("input-parsers") if r["form"] == "method"}
        return any(
            self.context.qualified_name(call.func) in calls
            or (isinstance(call.func, cst.Attribute) and method_name(call) in methods)
            or name_tokens(method_name(call))[:1] == ("parse",)
            for call in _chain_calls(value.expression if isinstance(value, cst.Await) else value)
        )

    def _falls_back(self, try_node: cst.Try | cst.TryStar) -> bool:
        """The ``try`` returns a value and the function returns another one, or gives up with an error,
        after it (try this, else that)."""
        if not any(isinstance(n, cst.Return) and n.value is not None for n in scope_descendants(try_node.body)):
            return False
        for later in self._siblings(try_node, after=True):
            if any(
                isinstance(n, cst.Raise) or (isinstance(n, cst.Return) and n.value is not None)
                for n in scope_descendants(later)
            ):
                return True
        return False

    def _checked_after(self, try_node: cst.Try | cst.TryStar) -> bool:
        """``try: create_dir(candidate) except: pass`` then ``if check_dir(candidate): ...``: the statement
        after the ``try`` checks what the call was given, so a failure is seen there."""
        call = _sole_call(try_node)
        if call is None:
            return False
        given = {a.value.value for a in call.args if isinstance(a.value, cst.Name)}
        later = self._siblings(try_node, after=True)[:1]
        if not given or not later or not isinstance(later[0], cst.If):
            return False
        return any(
            isinstance(node, cst.Call)
            and any(isinstance(a.value, cst.Name) and a.value.value in given for a in node.args)
            for node in scope_descendants(later[0].test)
        )

    def _keeps_default(self, try_node: cst.Try | cst.TryStar) -> bool:
        """The ``try`` assigns a name that holds a default set before it (``enabled = False`` ...
        ``try: ...; enabled = True``): on failure the default stands."""
        assigned = {
            target.value
            for line in _statements(try_node.body)
            if isinstance(line, cst.SimpleStatementLine)
            for statement in line.body
            for target in _assigned(statement)
        }
        if not assigned:
            return False
        return any(
            target.value in assigned
            for earlier in self._siblings(try_node, after=False)
            if isinstance(earlier, cst.SimpleStatementLine)
            for statement in earlier.body
            for target in _assigned(statement)
        )

    def _siblings(self, try_node: cst.CSTNode, *, after: bool) -> list[cst.CSTNode]:
        """The statements before (or after) the ``try`` in its block and the enclosing blocks of its function."""
        out: list[cst.CSTNode] = []
        child: cst.CSTNode = try_node
        for parent in reversed(self.context.ancestors[:-2]):
            if isinstance(parent, (cst.IndentedBlock, cst.Module)):
                body = list(parent.body)
                index = next((i for i, s in enumerate(body) if s is child), None)
                if index is not None:
                    out += body[index + 1 :] if after else body[:index]
            if isinstance(parent, (cst.FunctionDef, cst.Lambda, cst.Module, cst.ClassDef)):
                break
            child = parent
        return out


def _selects_branch(ancestors: list[cst.CSTNode], try_node: cst.Try | cst.TryStar) -> bool:
    """``try: builtin(); continue`` / ``except Exception: pass`` then ``registered.add(name)``: the ``try``
    ends by leaving its block (``continue``, ``break``, ``return``) and the handler falls through to the
    statements after it, which run only when the ``try`` failed. The exception is the test's "no"."""
    handler = ancestors[-1]
    body = _small_statements(handler.body) if isinstance(handler, cst.ExceptHandler) else None
    if not body or any(isinstance(s, (cst.Continue, cst.Return)) for s in body):
        return False  # the handler leaves too: nothing runs on failure
    statements = _statements(try_node.body)
    last = statements[-1] if statements else None
    if not isinstance(last, cst.SimpleStatementLine) or not isinstance(
        last.body[-1], (cst.Continue, cst.Break, cst.Return)
    ):
        return False
    leaves_loop = not isinstance(last.body[-1], cst.Return)
    child: cst.CSTNode = try_node
    for parent in reversed(ancestors[:-2]):
        if isinstance(parent, (cst.FunctionDef, cst.Lambda, cst.ClassDef, cst.Module)):
            return False
        if leaves_loop and isinstance(parent, (cst.For, cst.While)):
            # The end of the loop's body: the next iteration, as after ``continue``; a loop that ``break``s on the
            # first candidate that works answers "none worked" in its ``else:`` (``else: self.fail("No working
            # link found")``), the failure of each one being the test's "no".
            orelse = parent.orelse
            if not isinstance(last.body[-1], cst.Break) or orelse is None:
                return False
            small = _small_statements(orelse.body)
            return small is None or not all(isinstance(s, cst.Pass) for s in small)
        if isinstance(parent, cst.IndentedBlock):
            siblings: list[cst.CSTNode] = list(parent.body)
            index = next((i for i, statement in enumerate(siblings) if statement is child), None)
            if index is not None and index + 1 < len(siblings):
                return True  # statements that run only when the ``try`` failed
        child = parent
    return False


def _looks_up(context: FileContext, body: cst.BaseSuite) -> bool:
    """The ``try`` resolves a name (form ``lookup`` of ``best-effort-calls``: ``socket.getaddrinfo``,
    ``socket.gethostbyname``) and makes no data-store round trip: a host that does not resolve is the answer
    the handler gives (an empty list of addresses, ``None``), as an exception used as a yes/no test."""
    if round_trips(context, body):
        return False
    lookups = context.knowledge.derived(_lookups)
    return any(isinstance(n, cst.Call) and context.qualified_name(n.func) in lookups for n in scope_descendants(body))


def _function(ancestors: list[cst.CSTNode]) -> cst.CSTNode | None:
    return next((a for a in reversed(ancestors) if isinstance(a, (cst.FunctionDef, cst.Lambda))), None)


def _on_datagram_socket(context: FileContext, call: cst.Call) -> bool:
    """``sock.setsockopt(...)``, ``sock.bind(...)`` on a local bound in the function to a UDP socket
    (``socket.socket(socket.AF_INET, socket.SOCK_DGRAM)``): a multicast announcement or probe, whose
    losses the protocol already expects (octoprint's SSDP discovery)."""
    func = call.func
    if not isinstance(func, cst.Attribute) or not isinstance(func.value, cst.Name):
        return False
    receiver = func.value.value
    function = _function(context.ancestors)
    if function is None:
        return False
    for node in scope_descendants(function):
        if not isinstance(node, cst.Assign) or not isinstance(node.value, cst.Call):
            continue
        if not any(isinstance(t.target, cst.Name) and t.target.value == receiver for t in node.targets):
            continue
        if context.qualified_name(node.value.func) != "socket.socket":
            continue
        if any(
            isinstance(n, (cst.Name, cst.Attribute)) and _code(n).rpartition(".")[2] == "SOCK_DGRAM"
            for a in node.value.args
            for n in scope_descendants(a.value)
        ):
            return True
    return False


def _on_error_path(ancestors: list[cst.CSTNode]) -> bool:
    """The ``try`` runs in the branch of an ``if`` that reads an error value (``if error: try: save the error
    note; except: pass``): a second failure while a reported one is being handled, as in an ``except``."""
    for index in range(len(ancestors) - 3, 0, -1):
        node = ancestors[index]
        if isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            return False
        if isinstance(node, cst.If) and ancestors[index + 1] is node.body and _reads_error(node.test):
            return True
    return False


def _only_logs(logs: LogCalls, statements: list[cst.BaseStatement | cst.BaseSmallStatement]) -> bool:
    """The ``try`` only logs (``try: logger.info(...)``): the record itself is what the handler drops."""
    return all(
        isinstance(line, cst.SimpleStatementLine)
        and all(
            isinstance(s, cst.Expr) and isinstance(s.value, cst.Call) and logs.is_log_call(s.value) for s in line.body
        )
        for line in statements
    )


def _records_success(try_node: cst.Try | cst.TryStar) -> bool:
    """``try: init() / except: pass / else: READY = True``: the ``else`` records that the work succeeded
    (a flag, an attribute), so a failure leaves it unset and the work is tried again, or seen as not done."""
    if try_node.orelse is None:
        return False
    return any(
        isinstance(node, (cst.Assign, cst.AugAssign, cst.AnnAssign)) for node in scope_descendants(try_node.orelse)
    )


def _reads_store(call: cst.Call) -> bool:
    """``cursor.execute("SELECT ...")``: a read whose rows the ``try`` fetches next (an assignment)."""
    if method_name(call) != "execute" or not call.args:
        return False
    query = call.args[0].value
    if isinstance(query, cst.SimpleString):
        text = query.raw_value
    elif isinstance(query, cst.FormattedString):
        text = "".join(p.value for p in query.parts if isinstance(p, cst.FormattedStringText))
    else:
        return False
    return text.lstrip().split(" ", 1)[0].upper() == "SELECT"


def _callees(call: cst.Call) -> list[str]:
    """The name of what a call runs: its function, and a function it is handed to run
    (``asyncio.to_thread(save_docs, ...)``, ``run_in_threadpool(save_docs, ...)``)."""
    names = [method_name(call)]
    first = call.args[0].value if call.args and call.args[0].keyword is None else None
    if isinstance(first, cst.Name):
        names.append(first.value)
    elif isinstance(first, cst.Attribute):
        names.append(first.attr.value)
    return names


def _opens_cursor(item: cst.BaseExpression) -> bool:
    """``connection.cursor()``: what the block does with it decides (a read, or a write)."""
    return isinstance(item, cst.Call) and method_name(item) == "cursor" and not item.args


def _chain_calls(node: cst.BaseExpression) -> Iterator[cst.Call]:
    """The calls of a chain, outermost first: ``a.b(x).c(y)`` → ``….c(y)``, ``a.b(x)``."""
    while True:
        if isinstance(node, cst.Call):
            yield node
            node = node.func
        elif isinstance(node, cst.Attribute):
            node = node.value
        else:
            return
