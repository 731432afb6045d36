"""Autofixes of the error-handling, health and mock-data rules.

BL403: ``logging.error(...)`` in a broad ``except`` becomes ``logging.exception(...)`` (safe: the
stdlib function, as ruff's TRY400); ``logger.error(...)`` becomes ``logger.exception(...)``, safe
when ``logger`` is the module's ``logging.getLogger(...)``, else unsafe; a handler that logs nothing
gets ``logger.exception("<function> failed")`` as its first statement when the module has such a
logger (safe). BL501: an unused test-double import is deleted (safe). The rules call these while
the walk is at the node, so ``context.ancestors`` says where it is.

The project rules' fixes (BL404 and BL605: the failure answered with an error status; BL405: a
generic message instead of the exception text) are built by the walks into the facts as LazyFixes
(``backlint/analysis/lazy.py``), placed only if the rule reports them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Iterable, Sequence
from typing import TYPE_CHECKING

import libcst as cst

from backlint.analysis.lazy import LazyFix, LazySpan, lazy_fix, steps_locator
from backlint.analysis.web.answers import argument
from backlint.core.results import Span
from backlint.core.rule import NodeEdit, PendingFix
from backlint.pipeline.walk import children

if TYPE_CHECKING:
    from backlint.analysis.logging import LogCalls
    from backlint.analysis.web.answers import Answers
    from backlint.core.rule import FileContext


def module_logger(context: FileContext, factories: Iterable[str]) -> str | None:
    """The name a module-level statement binds to ``logging.getLogger(...)``, if exactly one does."""
    module = context.ancestors[0] if context.ancestors else None
    if not isinstance(module, cst.Module):
        return None
    wanted = set(factories)
    found: set[str] = set()
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, (cst.Assign, cst.AnnAssign)) and isinstance(small.value, cst.Call):
                targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
                if (context.qualified_name(small.value.func) or "") in wanted:
                    found.update(t.value for t in targets if isinstance(t, cst.Name))
    return found.pop() if len(found) == 1 else None


def log_traceback_fix(
    handler: cst.ExceptHandler, untraced: cst.Call | None, context: FileContext, logs: LogCalls
) -> PendingFix | None:
    """BL403: log the traceback where the handler logs without it, or add the log call it lacks."""
    logger = module_logger(context, logs.table.factories)
    if untraced is not None:
        return _error_to_exception(untraced, context, logger)
    if logger is None or _shadowed(logger, context):
        return None
    return _insert_first(handler, f'{logger}.exception("{_function_name(context)} failed")', context)


def _error_to_exception(call: cst.Call, context: FileContext, logger: str | None) -> PendingFix | None:
    func = call.func
    if not isinstance(func, cst.Attribute) or func.attr.value != "error":
        return None  # another level (warning, critical): .exception() would change it
    if any(arg.keyword is not None and arg.keyword.value == "exc_info" for arg in call.args):
        return None
    receiver = func.value
    stdlib = (context.qualified_name(func) or "") == "logging.error"
    known = isinstance(receiver, cst.Name) and receiver.value == logger and not _shadowed(logger, context)
    safety = "safe" if stdlib or known else "unsafe"
    name = cst.Module([]).code_for_node(receiver)
    description = f"Log with `{name}.exception(...)`, which records the traceback"
    return PendingFix(safety, description, (NodeEdit(func.attr, "exception"),))


def _shadowed(name: str | None, context: FileContext) -> bool:
    """A parameter or local assignment of the enclosing function rebinds the module-level name."""
    for ancestor in reversed(context.ancestors):
        if isinstance(ancestor, (cst.FunctionDef, cst.Lambda)):
            params = ancestor.params
            every = [*params.posonly_params, *params.params, *params.kwonly_params]
            every += [p for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)]
            if any(p.name.value == name for p in every):
                return True
            if isinstance(ancestor, cst.FunctionDef) and _assigns(ancestor.body, name):
                return True
    return False


def _assigns(root: cst.CSTNode, name: str | None) -> bool:
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.AssignTarget) and isinstance(node.target, cst.Name) and node.target.value == name:
            return True
        if isinstance(node, (cst.Global, cst.Nonlocal)) and any(n.name.value == name for n in node.names):
            return True
        stack.extend(children(node))
    return False


def _function_name(context: FileContext) -> str:
    for ancestor in reversed(context.ancestors):
        if isinstance(ancestor, cst.FunctionDef):
            return ancestor.name.value
    return "request"


def _insert_first(handler: cst.ExceptHandler, statement: str, context: FileContext) -> PendingFix | None:
    body = handler.body
    description = f"Log the exception first: `{statement}`"
    if isinstance(body, cst.SimpleStatementSuite):
        return PendingFix("safe", description, (NodeEdit(body.body[0], statement + "; ", "before"),))
    if not isinstance(body, cst.IndentedBlock) or not body.body:
        return None
    module = context.ancestors[0]
    if not isinstance(module, cst.Module):
        return None
    indent = "".join(
        (block.indent if block.indent is not None else module.default_indent)
        for block in [*context.ancestors, body]
        if isinstance(block, cst.IndentedBlock)
    )
    return PendingFix(
        "safe", description, (NodeEdit(body.body[0], statement + module.default_newline + indent, "before"),)
    )


def unused_import_fix(place: Sequence[cst.CSTNode], flagged: Iterable[str]) -> PendingFix | None:
    """BL501: delete an import statement none of whose names the module uses.

    ``place`` is ``context.ancestors`` as the walk saw the import (module … line, import);
    ``flagged`` the local names the rule found to be test doubles: every name of the statement must be.
    """
    if len(place) < 3 or not isinstance(place[0], cst.Module):
        return None
    module, block, line, statement = place[0], place[-3], place[-2], place[-1]
    if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1:
        return None  # `import mock; x = 1`: the line holds more than the import
    if not isinstance(statement, (cst.Import, cst.ImportFrom)) or isinstance(statement.names, cst.ImportStar):
        return None
    names = {_local(alias) for alias in statement.names}
    if not names <= set(flagged) or any(_used(module, name) for name in names):
        return None
    description = "Remove the unused import"
    if isinstance(block, cst.IndentedBlock) and len(block.body) == 1:
        return PendingFix("safe", description, (NodeEdit(statement, "pass"),))  # the block keeps a statement
    return PendingFix("safe", description, (NodeEdit(line, "", "lines"),))


def _local(alias: cst.ImportAlias) -> str:
    """The name an import binds: ``import a.b`` binds ``a``; ``as x`` binds ``x``."""
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    name = alias.name
    while isinstance(name, cst.Attribute):
        name = name.value  # type: ignore[assignment]
    return name.value if isinstance(name, cst.Name) else ""


def _used(module: cst.Module, name: str) -> bool:
    """The name occurs outside import statements, or ``__all__`` exports it."""
    stack: list[cst.CSTNode] = [module]
    while stack:
        node = stack.pop()
        if isinstance(node, (cst.Import, cst.ImportFrom)):
            continue
        if isinstance(node, cst.Name) and node.value == name:
            return True
        if isinstance(node, cst.SimpleString) and re.search(rf"\b{re.escape(name)}\b", node.value):
            return True  # __all__ = ["Faker"], getattr(module, "mock"), string annotations
        stack.extend(children(node))
    return False


def reraise_http_fix(
    handler: cst.ExceptHandler, raised: Sequence[cst.CSTNode], context: FileContext
) -> PendingFix | None:
    """BL406: ``except <HTTP error class>: raise`` before the broad handler.

    ``raised`` are the client errors the ``try`` body raises. Each must be a ``raise`` of a class the
    body names (``raise HTTPException(404)``, ``raise Http404``): that class is then in scope, and no
    import is needed. ``abort(404)`` or ``get_object_or_404()`` name no class: no fix.
    """
    classes: list[str] = []
    for node in raised:
        if not isinstance(node, cst.Raise):
            return None
        exc = node.exc.func if isinstance(node.exc, cst.Call) else node.exc
        if not isinstance(exc, (cst.Name, cst.Attribute)):
            return None
        name = cst.Module([]).code_for_node(exc)
        if name not in classes:
            classes.append(name)
    module = context.ancestors[0] if context.ancestors else None
    if not classes or not isinstance(module, cst.Module):
        return None
    newline = module.default_newline
    indent = _indent(context.ancestors, module)
    inner = handler.body.indent if isinstance(handler.body, cst.IndentedBlock) else None
    caught = classes[0] if len(classes) == 1 else f"({', '.join(classes)})"
    clause = f"except {caught}:{newline}{indent}{inner if inner is not None else module.default_indent}raise"
    description = f"Let the client error through: add `except {caught}: raise` before the broad handler"
    return PendingFix("unsafe", description, (NodeEdit(handler, clause + newline + indent, "before"),))


def _indent(ancestors: Sequence[cst.CSTNode], module: cst.Module) -> str:
    """The indentation of the statement the walk is at: the indents of the blocks around it."""
    return "".join(
        (block.indent if block.indent is not None else module.default_indent)
        for block in ancestors
        if isinstance(block, cst.IndentedBlock)
    )


# ------------------------------------------------------------------ fixes of project rules (BL404, BL405, BL605)


def generic_message(status: int | None) -> str:
    """What the client reads instead of the exception text: a server error's generic words, or a
    client error's when the leak goes out with a 4xx (``raise ValidationError(str(e))``)."""
    return (
        '"The request could not be processed"'
        if status is not None and 400 <= status < 500
        else '"Internal server error"'
    )


def generic_fix_description(message: str) -> str:
    return f"Answer a generic message ({message}) instead of the exception text"


_JSON_RESPONSES = ("fastapi.responses.JSONResponse", "starlette.responses.JSONResponse", "fastapi.JSONResponse")
_RESPONSE_KINDS = (cst.Dict, cst.List, cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)


def error_status_fixes(
    value: cst.BaseExpression, code: int, answers: Answers, context: FileContext
) -> dict[str, PendingFix]:
    """BL404: the returned answer with status ``code``, keyed by the framework it is right for ("" for any).

    A response call gets its status argument (``JSONResponse(..., status_code=500)``,
    ``JsonResponse(..., status=500)``, ``make_response(body, 500)``); a Flask tuple its status
    element; a bare body ``return body, 500`` in Flask and ``JSONResponse(status_code=500,
    content=body)`` in FastAPI/Starlette when the module imports ``JSONResponse``.
    """
    status = str(code)
    description = f"Answer the failure with status {code}"
    if isinstance(value, cst.Tuple):  # only Flask reads a status from it: FastAPI answers ``[body, 500]``
        if 2 <= len(value.elements) <= 3:
            return {"flask": PendingFix("unsafe", description, (NodeEdit(value.elements[1].value, status),))}
        return {}
    if isinstance(value, cst.Call):
        row = answers.response_row(value.func)
        if row is None or any(arg.star for arg in value.args):
            return {}
        given = argument(value, row.get("status-arg"), row.get("status-kw"))
        if given is not None:
            return {"": PendingFix("unsafe", description, (NodeEdit(given, status),))}
        keyword, position = row.get("status-kw"), row.get("status-arg")
        positional = [arg for arg in value.args if arg.keyword is None]
        if keyword:
            added = f"{keyword}={status}"
        elif position is not None and len(positional) == len(value.args) == position:
            added = status
        else:  # ``jsonify(...)``: Flask reads the status from a returned tuple
            return {"flask": PendingFix("unsafe", description, (NodeEdit(value, f", {status}", "after"),))}
        if value.args:
            return {"": PendingFix("unsafe", description, (NodeEdit(value.args[-1].value, f", {added}", "after"),))}
        return {}
    if not isinstance(value, _RESPONSE_KINDS):
        return {}
    fixes = {"flask": PendingFix("unsafe", description, (NodeEdit(value, f", {status}", "after"),))}
    response = next((name for name, target in context.imports.aliases.items() if target in _JSON_RESPONSES), None)
    if response is not None and not _shadowed(response, context):
        edits = (
            NodeEdit(value, f"{response}(status_code={status}, content=", "before"),
            NodeEdit(value, ")", "after"),
        )
        fixes["fastapi"] = fixes["starlette"] = PendingFix("unsafe", description, edits)
    return fixes


def generic_message_fix(
    value: cst.BaseExpression,
    leaked: str,
    short: Callable[[cst.CSTNode], str],
    skip: Container[int] = (),
    message: str = generic_message(None),
) -> PendingFix | None:
    """BL405: the exception text in ``value`` (shown as ``leaked``) replaced by a constant message.

    The replaced node is the one the leak was found as (``str(e)``, ``f"failed: {e}"``,
    ``traceback.format_exc()``, a local holding it), widened over attribute reads, subscripts and
    calls on it (``e.args[0]``, ``str(e).lower()``).
    """
    if leaked.endswith("…"):
        return None  # shortened: the node cannot be told apart by its text
    stack: list[tuple[cst.CSTNode, tuple[cst.CSTNode, ...]]] = [(value, ())]
    while stack:
        node, above = stack.pop()
        if id(node) in skip:
            continue
        if isinstance(node, cst.BaseExpression) and short(node) == leaked:
            target: cst.CSTNode = node
            for parent in reversed(above):
                inner = parent.func if isinstance(parent, cst.Call) else getattr(parent, "value", None)
                if not isinstance(parent, (cst.Attribute, cst.Subscript, cst.Call)) or inner is not target:
                    break
                target = parent
            if isinstance(target, cst.SimpleString):
                return None
            return PendingFix("unsafe", generic_fix_description(message), (NodeEdit(target, message),))
        stack.extend((child, (*above, node)) for child in reversed(children(node)))
    return None


def lazy_status_fixes(
    value: cst.BaseExpression, code: int, answers: Answers, context: FileContext, locate: Callable[[cst.CSTNode], Span]
) -> dict[str, LazyFix]:
    """``error_status_fixes`` recorded for the project pass: nodes placed by ``locate``."""
    fixes = error_status_fixes(value, code, answers, context)
    lazy = {key: lazy_fix(fix, locate) for key, fix in fixes.items()}
    return {key: fix for key, fix in lazy.items() if fix is not None}


def handler_status_fixes(
    body: Sequence[cst.CSTNode], handler: cst.ExceptHandler, span: LazySpan, code: int, answers: Answers,
    context: FileContext,
) -> dict[str, LazyFix]:  # fmt: skip
    """The handler's 2xx answer with status ``code``, when it is its only ``return``: with two, one
    edit would leave the other answering 2xx. ``span`` is where the walk placed the handler."""
    returns = [n for n in body if isinstance(n, cst.Return)]
    if len(returns) != 1 or returns[0].value is None:
        return {}
    return lazy_status_fixes(returns[0].value, code, answers, context, steps_locator(handler, context.path, span.steps))
