"""BL401, BL404–BL407: endpoints must turn failures into logged errors with honest status codes.

BL406 reads one ``try`` statement and is a file rule (so is BL403, in ``broad_except.py``). The others
depend on which functions are served as endpoints and which handlers the app registers, so they are
project rules over the framework model and the facts of ``endpoint_facts.py``.
"""

from __future__ import annotations

import libcst as cst

from backlint.analysis.exception_text import ExceptionTextIndex, exception_text_index
from backlint.analysis.exceptions import caught_names
from backlint.analysis.web.answers import ERROR, Answers
from backlint.analysis.web.bodies import Leak, NetworkCall
from backlint.analysis.web.effects import Effect
from backlint.analysis.web.facts import value_items, value_str
from backlint.analysis.web.fixes import reraise_http_fix
from backlint.analysis.web.model import App, ProjectModel
from backlint.analysis.web.served import EndpointIndex, Served, endpoint_index
from backlint.core.facts import ProjectFinding, ProjectRule
from backlint.core.results import ModuleFacts, RelatedLocation, Span
from backlint.core.rule import FileContext, Rule
from backlint.pipeline.walk import scope_descendants

_MAX_RELATED = 4
# Opens the related location of BL401's app; the text report groups findings by it (report/text.py).
APP_NOTE = "the app"
_MAX_SETUP_DEPTH = 3  # project calls followed from an app's factory to an SDK's initialisation
# Names a middleware calls the rest of the app by, besides its own parameters (``await self.app(...)``).
_DOWNSTREAM = frozenset({"app", "call_next", "get_response", "handler"})
# Frameworks that log unhandled errors with the request (Django, Flask) are judged only by
# ``require-local-try``, whose message asks for a ``try``: no app-level advice for them.
_HANDLER_ADVICE = {
    "fastapi": "`@app.exception_handler(SQLAlchemyError)`",
    "starlette": "`exception_handlers={SQLAlchemyError: handler}`",
    "aiohttp": "an error middleware",
}


def _code(node: cst.CSTNode) -> str:
    text = " ".join(cst.Module([]).code_for_node(node).split())
    return text if len(text) <= 60 else text[:59] + "…"


def _finding(rule: ProjectRule, path: str, span: Span, message: str, related: list[RelatedLocation] | None = None,
             level: str | None = None) -> ProjectFinding:  # fmt: skip
    return ProjectFinding(rule.id, path, span, message, level, (related or [])[:_MAX_RELATED])


# --------------------------------------------------------------------------- BL401


class EndpointIoWithoutErrorHandling(ProjectRule):
    """An endpoint talks to a data store or the network with neither local handling nor an app-level handler."""

    id = "BL401"

    def check(self, modules: list[ModuleFacts]) -> list[ProjectFinding]:
        index = endpoint_index(modules, self.project, self.options)
        model = index.model
        literal = bool(self.options.get("require-local-try"))
        out: list[ProjectFinding] = []
        handled: dict[int, bool] = {}
        judged: dict[int, tuple[bool, bool]] = {}
        for served in index.served:
            app = served.app
            site = served.site
            if app is None or site is None or model.is_health(served.endpoint):
                continue  # without the app, its handlers are unknown
            if id(app) not in judged:
                judged[id(app)] = (model.logs_unhandled_errors(app), model.answers_tracebacks(app))
            logged, leaks = judged[id(app)]
            if logged and not literal:
                continue  # the framework logs the error with its request and answers a generic 500 itself
            effects = [e for e in model.effects(served.module, served.function) if e.confirmed and not e.guarded]
            calls = self._unguarded_requests(index, served)
            state = [c for c in served.body.state_io if not c.guarded] if served.body is not None else []
            if not effects and not calls and not state:
                continue
            if not literal:
                if id(app) not in handled:
                    handled[id(app)] = self._app_handles(model, app, leaks)
                if handled[id(app)] or self._decorator_handles(model, served) or self._router_handles(model, served):
                    continue
            out.append(self._report(served, app, effects, state, calls, literal, site, logged, leaks))
        return out

    @staticmethod
    def _unguarded_requests(index: EndpointIndex, served: Served) -> list[tuple[str, Span, str]]:
        """(path, span, text) of HTTP-client calls outside a ``try``, here or one project call away."""
        found = []
        if served.body is not None:
            found += [(served.module.path, c.span, c.text) for c in served.body.network if not c.guarded]
        for call in served.function.calls:
            if call.guard is not None:
                continue
            target = index.model.function(call.target, served.module)
            body = index.body(*target) if target is not None else None
            if body is not None and any(not c.guarded for c in body.network) and call.span is not None:
                found.append((served.module.path, call.span, call.target.rpartition(".")[2]))
        return found

    @classmethod
    def _app_handles(cls, model: ProjectModel, app: App, leaks: bool = False) -> bool:
        """An app-level handler that receives unhandled or database errors, a middleware that catches
        around the call of the next handler, or an error-reporting SDK set up while the app is built.

        ``leaks``: the app answers unhandled errors with their traceback (``FastAPI(debug=True)``). Then
        Starlette's ``ServerErrorMiddleware`` answers the traceback before the handler for ``Exception`` or
        500 it holds is called, and an SDK only reports: a handler for a data-store error (run by the inner
        ``ExceptionMiddleware``), an error middleware or a local ``try`` answer before it."""
        if cls._catch_all(model, app, leaks) or (not leaks and cls._reports_errors(model, app)):
            return True
        for handler in app.handlers:
            if handler.kind == "middleware" and handler.function is not None:
                module, function = handler.function
                downstream = {*function.params, *_DOWNSTREAM}
                if function.name == "process_exception" or any(set(g.wraps) & downstream for g in function.guards):
                    return True
        if app.framework != "django":
            return False
        for module in app.modules:
            for name, assigns in module.assigns.items():
                value = assigns[-1].value
                if name == "handler500":
                    return True
                if name in ("MIDDLEWARE", "MIDDLEWARE_CLASSES"):
                    for item in value_items(value):
                        found = model.klass(value_str(item) or "", module) if value_str(item) else None
                        if found is not None and "process_exception" in found[1].methods:
                            return True
                if (
                    name == "REST_FRAMEWORK"
                    and value[0] == "dict"
                    and any(value_str(key) == "EXCEPTION_HANDLER" for key, _ in value[1])
                ):
                    return True
        return False

    @staticmethod
    def _catch_all(model: ProjectModel, app: App, leaks: bool = False) -> bool:
        """A handler for ``Exception``, a data-store base error, or what the framework hands an unhandled
        error to (500; Flask's ``InternalServerError`` and ``HTTPException``): not one for 4xx codes alone.
        ``leaks``: only a data-store base error's handler answers before the traceback page."""
        table = model.knowledge.rows("error-handler-catchalls")
        catchalls = {r["name"] for r in table if r["framework"] == app.framework and r.get("form") != "router"}
        rows = {r["name"]: r for r in model.knowledge.rows("exception-classes")}
        roles = ("database",) if leaks else ("broad", "database")
        for handler in app.handlers:
            if handler.kind != "handler":
                continue
            for caught in handler.exceptions:
                row = rows.get(caught)
                if (caught in catchalls and not leaks) or (
                    row is not None and row["role"] in roles and not row.get("specific")
                ):
                    return True
        return False

    @staticmethod
    def _router_handles(model: ProjectModel, served: Served) -> bool:
        """The endpoint's router logs and answers its errors itself (Flask-RESTful's ``Api``)."""
        owner = served.endpoint.owner
        routers = {r["name"] for r in model.knowledge.rows("error-handler-catchalls") if r.get("form") == "router"}
        return owner is not None and owner.fact is not None and owner.fact.ctor in routers

    @staticmethod
    def _reports_errors(model: ProjectModel, app: App) -> bool:
        """An error-reporting SDK (table ``error-reporters``) initialised on the app's construction path: at
        the top of a module the app is built from or imports, in its factory, or a project function they call."""
        reporters = model.knowledge.values("error-reporters", "name")
        stack = [
            (h.module, h.function, 0) for h in app.hooks if h.label in ("app factory", "app module", "module level")
        ]
        seen: set[int] = set()
        while stack:
            module, function, depth = stack.pop()
            if id(function) in seen:
                continue
            seen.add(id(function))
            for call in function.calls:
                if call.target in reporters:
                    return True
                found = model.function(call.target, module) if depth < _MAX_SETUP_DEPTH else None
                if found is not None:
                    stack.append((found[0], found[1], depth + 1))
        return False

    @staticmethod
    def _decorator_handles(model: ProjectModel, served: Served) -> bool:
        """A project decorator on the endpoint whose wrapper catches around the call."""
        for decorator in served.function.decorators:
            ref = decorator[1] if decorator[0] in ("ref", "call") else None
            found = model.function(ref, served.module) if isinstance(ref, str) else None
            if found is None:
                continue
            module, function = found
            prefix = function.qualname + "."
            if function.guards or any(f.guards for f in module.functions.values() if f.qualname.startswith(prefix)):
                return True
        return False

    def _report(
        self,
        served: Served,
        app: App,
        effects: list[Effect],
        state: list[NetworkCall],
        calls: list[tuple[str, Span, str]],
        literal: bool,
        site: tuple[str, Span],
        logged: bool,
        leaks: bool = False,
    ) -> ProjectFinding:
        related: list[RelatedLocation] = []
        labels: list[str] = []
        for effect in effects:
            label = f"`{effect.label}()`" if effect.label else "a data-store call"
            if label not in labels:
                labels.append(label)
            if effect.at is not None and effect.at.line:
                related.append(RelatedLocation(served.module.path, effect.at, f"{label} is not inside a try/except"))
        for call in state:
            label = f"`{call.text}()`"
            if label not in labels:
                labels.append(label)
            related.append(RelatedLocation(served.module.path, call.span, f"{label} is not inside a try/except"))
        stores = bool(effects or state)
        for path, span, text in calls:
            labels.append(f"`{text}()`")
            related.append(RelatedLocation(path, span, f"`{text}()` sends a request outside a try/except"))
        what = "data-store" if stores and not calls else ("network" if not stores else "data-store and network")
        shown = ", ".join(labels[:3]) + (" …" if len(labels) > 3 else "")
        if literal:
            reason = "no try/except around it (`require-local-try` asks for one in every endpoint)"
        elif stores:
            advice = _HANDLER_ADVICE.get(app.framework, "an app-level exception handler")
            reason = f"no try/except around it and no app-level handler for database errors (e.g. {advice})"
        else:
            reason = "no try/except around it and no app-level exception handler"
        if leaks:
            outcome = (
                f"`{app.name}` is built in debug mode, so a failure reaches the client as a traceback page "
                "(source lines, local values, file paths)"
            )
        elif logged:
            outcome = "a failure reaches the client as the framework's generic 500, without your message"
        else:
            outcome = (
                "a failure reaches the client as the framework's bare 500, without your message or the "
                "request's context in the log"
            )
        message = f"`{served.name}` does {what} I/O ({shown}) with {reason}: {outcome}"
        level = "note" if logged else None  # only `require-local-try` judges these apps: the framework logs
        seen: set[tuple[str, int]] = set()
        if not literal:
            seen.add((app.site.path, app.site.span.line))  # the app's own location comes last, once
        unique = []
        for location in related:
            if (location.path, location.span.line) not in seen:
                seen.add((location.path, location.span.line))
                unique.append(location)
        if not literal:  # the text report groups an app's findings by this location (report/text.py)
            note = f"{APP_NOTE} `{app.name}`: {_app_fix(leaks)} fixes every endpoint of it"
            unique = [*unique[: _MAX_RELATED - 1], RelatedLocation(app.site.path, app.site.span, note)]
        return ProjectFinding(self.id, site[0], site[1], message, level, unique)


def _app_fix(leaks: bool) -> str:
    """What fixes all of an app's BL401 findings at once. An app built with debug on answers its traceback page
    before a handler for ``Exception`` or 500 runs: debug off (or a handler for its data store's errors) fixes it."""
    if leaks:
        return "building it with debug off where it is deployed (or one handler for its data store's errors)"
    return "one app-level exception handler that logs and answers 500"


# --------------------------------------------------------------------------- BL404


class ErrorAnsweredWithSuccess(ProjectRule):
    """An endpoint's broad or database ``except`` answers with a 2xx status."""

    id = "BL404"

    def check(self, modules: list[ModuleFacts]) -> list[ProjectFinding]:
        index = endpoint_index(modules, self.project, self.options)
        out: list[ProjectFinding] = []
        for served in index.served:
            if served.body is None or not served.body.ok_answers or index.model.is_health(served.endpoint):
                continue  # health routes: BL605
            for answer in served.body.ok_answers:
                status = answer.status or _route_status(served) or 200
                message = (
                    f"`{served.name}` answers a failure with status {status}: this `except` returns `{answer.text}`, "
                    "so clients, monitoring and retries see a success; answer 500 (or 503) with an error message"
                )
                finding = _finding(self, served.module.path, answer.span, message)
                lazy = answer.fixes.get("") or (answer.fixes.get(served.app.framework) if served.app else None)
                finding.fix = lazy.resolve() if lazy is not None else None
                out.append(finding)
        return out


def _route_status(served: Served) -> int | None:
    """FastAPI's ``status_code=`` on the route decorator (``@router.post("/", status_code=201)``)."""
    for decorator in served.function.decorators:
        if decorator[0] == "call" and "status_code" in decorator[3]:
            value = decorator[3]["status_code"]
            if value[0] == "int":
                return int(value[1])
    return None


# --------------------------------------------------------------------------- BL405


class ExceptionDetailLeaked(ProjectRule):
    """Exception text or a traceback is sent to the client."""

    id = "BL405"

    def check(self, modules: list[ModuleFacts]) -> list[ProjectFinding]:
        index = endpoint_index(modules, self.project, self.options)
        model = index.model
        endpoints = {(s.module.path, s.function.qualname) for s in index.served}
        # Registered handlers that receive the errors nobody caught → "" (the exception itself), or the
        # attribute holding it when the framework wraps it in an HTTP error (a Flask 500 handler).
        handlers: dict[tuple[str, str], str] = {}
        table = {row["name"]: row["role"] for row in model.knowledge.rows("exception-classes")}
        wrapped = {row["framework"]: row["original"] for row in model.knowledge.rows("wrapped-errors")}
        for app in model.apps:
            for handler in app.handlers:
                if handler.function is None:
                    continue
                key = (handler.function[0].path, handler.function[1].qualname)
                if any(e == "Exception" or table.get(e) in ("broad", "database") for e in handler.exceptions):
                    handlers[key] = ""
                elif "500" in handler.exceptions:
                    # A renderer of every HTTP error (registered for 4xx statuses too, as in a loop over
                    # werkzeug's statuses) is given the wrapped error; one for 500 alone is the app's crash page.
                    generic = any(e.isdigit() and 400 <= int(e) < 500 for e in handler.exceptions)
                    handlers[key] = handlers.get(key, wrapped.get(app.framework, "") if generic else "")
        texts = exception_text_index(modules, self.project)
        out: list[ProjectFinding] = []
        for key, body in index.bodies.items():
            for leak in body.leaks:
                if leak.via_param:  # a wrapped error's own text is its generic description
                    reported = key in handlers and handlers[key] in leak.text
                else:
                    reported = leak.sink != "return" or key in endpoints
                if not reported or _project_text(leak, texts):
                    continue
                status = f" with status {leak.status}" if leak.status else ""
                where = "an exception handler" if leak.via_param else "an error response"
                message = (
                    f"exception text `{leak.text}` is sent to the client in {where}{status}: exception messages expose "
                    "internals (driver errors name tables, constraints and SQL; others show paths, hosts and upstream "
                    "URLs); log the exception and answer a generic message"
                )
                finding = _finding(self, key[0], leak.span, message)
                finding.fix = leak.fix.resolve() if leak.fix is not None else None
                out.append(finding)
        return out


def _project_text(leak: Leak, texts: ExceptionTextIndex) -> bool:
    """The text is the project's own: the ``except`` catches only project classes whose messages the
    project wrote, or the exception reaches the answer only through helpers that never return its text."""
    if leak.helpers and all(texts.sanitizes(*helper) for helper in leak.helpers):
        return True
    return not leak.via_param and bool(leak.caught) and all(texts.own_text(ref) for ref in leak.caught)


# --------------------------------------------------------------------------- BL406


class ClientErrorSwallowedInto500(Rule):
    """A broad ``except`` after a ``try`` that raises an HTTP error (a 4xx, or another 5xx such as 502)
    answers it as a 500: the intended status is lost."""

    id = "BL406"
    TRIGGERS = ("except",)

    def __init__(self, context: FileContext, level: str) -> None:
        super().__init__(context, level)
        self.answers = Answers(context.knowledge, context.qualified_name)

    def visit_Try(self, node: cst.Try) -> None:
        http_errors = self._http_errors(node.body)
        if not http_errors:
            return
        for handler in node.handlers:
            role = self.answers.caught_role(caught_names(handler, self.context))
            if role == "http":
                return
            if role != "broad":
                continue
            if any(
                isinstance(n, cst.Raise) and (n.exc is None or isinstance(n.exc, cst.Name))
                for n in scope_descendants(handler.body)
            ):
                return  # re-raises (typically after ``isinstance(e, HTTPException)``)
            found = self._server_error(handler.body)
            if found is None:
                return
            answer, answered = found
            # A client error, or a server error whose own status (a 502, a 503) the answer replaces.
            lost = [n for n, status in http_errors if status is None or status < 500 or status != answered]
            if not lost:
                return
            raised = lost[0]
            status = dict((id(n), s) for n, s in http_errors)[id(raised)]
            caught = "except:" if handler.type is None else f"except {_code(handler.type)}:"
            what = "client error" if status is None or status < 500 else f"{status}"
            self.report(
                handler,
                f"`{caught}` also catches the `{_code(raised)}` raised in the `try`, and answers it with "
                f"{answered}: the intended {what} becomes a generic server error; add "
                "`except <HTTP error class>: raise` first",
                related=[
                    (raised, "the HTTP error is raised here"),
                    (answer, f"and answered with {answered} here"),
                ],
                fix=reraise_http_fix(handler, lost, self.context),
            )
            return

    def _http_errors(self, body: cst.CSTNode) -> list[tuple[cst.CSTNode, int | None]]:
        """The ``raise``s of HTTP errors and the calls that raise one (``abort(404)``), with their status."""
        found: list[tuple[cst.CSTNode, int | None]] = []
        raised_calls: set[int] = set()
        for child in scope_descendants(body):
            if isinstance(child, cst.Raise) and child.exc is not None:
                is_error, status = self.answers.raised_http_error(child.exc)
                raised_calls.add(id(child.exc))
            elif isinstance(child, cst.Call) and id(child) not in raised_calls:
                is_error, status = self.answers.http_error(child)
            else:
                continue
            if is_error:
                found.append((child, status))
        return found

    def _server_error(self, body: cst.CSTNode) -> tuple[cst.CSTNode, int] | None:
        for child in scope_descendants(body):
            status: int | None = None
            if isinstance(child, cst.Call):
                is_error, status = self.answers.http_error(child)
                if not is_error:
                    row = self.answers.response_row(child.func)
                    status = self.answers.response_status(child, row)[1] if row is not None else None
            elif isinstance(child, cst.Return) and child.value is not None:
                kind, status = self.answers.returned(child.value)
                status = status if kind == ERROR else None
            if status is not None and status >= 500:
                return child, status
        return None


# --------------------------------------------------------------------------- BL407


class ValidationErrorNot400(ProjectRule):
    """Invalid input is answered with another status than 400."""

    id = "BL407"

    def check(self, modules: list[ModuleFacts]) -> list[ProjectFinding]:
        index = endpoint_index(modules, self.project, self.options)
        model = index.model
        out: list[ProjectFinding] = []
        for app in model.apps:
            if app.framework != "fastapi" or any(
                e.rpartition(".")[2] == "RequestValidationError" for h in app.handlers for e in h.exceptions
            ):
                continue
            models = [s for s in index.served if s.app is app and self._takes_model(index, s)]
            if models:
                first = models[0]
                related = (
                    [RelatedLocation(first.site[0], first.site[1], f"`{first.name}` validates its input")]
                    if first.site
                    else []
                )
                message = (
                    f"`{app.name}` answers invalid requests with FastAPI's default 422; the standard asks for 400: "
                    "register `@app.exception_handler(RequestValidationError)` that answers 400 with the errors"
                )
                out.append(_finding(self, app.site.path, app.site.span, message, related))
        for served in index.served:
            for answer in served.body.validation_answers if served.body is not None else ():
                status = answer.status or _route_status(served) or 200
                message = (
                    f"`{served.name}` answers a validation error with status {status} (`{answer.text}`): invalid input "
                    "is a client error, answer 400 with what was wrong"
                )
                out.append(_finding(self, served.module.path, answer.span, message))
        return out

    @staticmethod
    def _takes_model(index: EndpointIndex, served: Served) -> bool:
        """A parameter typed with a pydantic model (through project classes): FastAPI validates it."""
        if served.body is None:
            return False
        for annotation in served.body.annotations:
            if annotation in _MODEL_BASES:
                return True
            bases = [*index.model.class_bases(annotation, served.module), *index.bases(annotation)]
            if any(base in _MODEL_BASES for base in bases):
                return True
        return False


_MODEL_BASES = frozenset({"pydantic.BaseModel", "pydantic.main.BaseModel", "sqlmodel.SQLModel"})
