"""Autofixes of the secret and deployment-switch rules; every one is unsafe.

BL202/BL203: a credential literal assigned at module level (``SECRET_KEY = "…"``,
``app.config["SECRET_KEY"] = "…"``, ``DATABASE_URL = "postgresql://u:pw@…"``) becomes
``os.environ["SECRET_KEY"]``. Unsafe: importing the module now fails when the variable is unset, and
the old value stays in the git history, so the description always says to rotate it. Literals in
functions, classes, keyword arguments and dict literals have no obvious variable name: no fix.

BL204: ``os.getenv(K, "…")``, ``os.environ.get(K, "…")`` and ``os.environ.get(K) or "…"`` become
``os.environ[K]``; a pydantic settings field ``secret_key: str = "…"`` loses its default. Unsafe for
the same reason: a deployment without the variable stops at startup instead of running with a
public value.

BL701: ``debug=True`` (FastAPI, Starlette, Flask's ``run``, Werkzeug's debugger switches) becomes
``False``; Django's ``DEBUG = True`` becomes ``os.environ.get("DJANGO_DEBUG") == "1"``. Unsafe: a
developer who relied on the debugger must now ask for it.

BL803: ``options={"verify_signature": False}`` becomes ``True``, only when the call also passes a key
and ``algorithms`` (PyJWT refuses to verify without them). Unsafe: tokens the app accepted so far
may now be rejected.

A fix that needs ``os`` uses the module's own ``import os``, or adds one after the module's leading
imports (after its docstring if it has none), keeping every other byte.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import libcst as cst

from backlint.core.imports import dotted_name
from backlint.core.rule import NodeEdit, PendingFix

if TYPE_CHECKING:
    from backlint.core.rule import FileContext

UNSAFE = "unsafe"
_ROTATE = "rotate the secret as well: the old value stays in the git history"
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_ENV_LOOKUPS = ("os.getenv", "os.environ.get")

# --- BL202 / BL203 ---------------------------------------------------------------------------------


def literal_to_environ(
    context: FileContext, literal: cst.CSTNode, ancestors: Sequence[cst.CSTNode] | None = None
) -> PendingFix | None:
    """``NAME = "<secret>"`` at module level → ``NAME = os.environ["NAME"]``.

    ``ancestors`` (the walk's, by default): from the module to the literal or to the assignment holding it.
    """
    ancestors = context.ancestors if ancestors is None else ancestors
    path = ancestors[:-1] if ancestors and ancestors[-1] is literal else ancestors
    if not path or not isinstance(literal, (cst.SimpleString, cst.ConcatenatedString)):
        return None
    statement = path[-1]
    if not isinstance(statement, (cst.Assign, cst.AnnAssign)) or statement.value is not literal:
        return None
    if not isinstance(literal.evaluated_value, str) or not _module_level(path):
        return None
    if isinstance(statement, cst.Assign):
        if len(statement.targets) != 1:
            return None
        target = statement.targets[0].target
    else:
        target = statement.target
    name = _variable_name(target, context)
    environ = environ_access(context, ancestors)
    if name is None or environ is None:
        return None
    expression, imports = environ
    replacement = f'{expression}["{name}"]'
    description = f"Read it from the environment: `{replacement}`; {_ROTATE}"
    return PendingFix(UNSAFE, description, (NodeEdit(literal, replacement), *imports))


def _variable_name(target: cst.BaseExpression, context: FileContext) -> str | None:
    """The environment variable a target names: ``SECRET_KEY``, ``app.secret_key`` → ``SECRET_KEY``,
    ``stripe.api_key`` (a module) → ``STRIPE_API_KEY``, ``app.config["JWT_SECRET_KEY"]`` → its key."""
    if isinstance(target, cst.Name):
        name = target.value
    elif isinstance(target, cst.Attribute):
        name = target.attr.value
        receiver = target.value
        if isinstance(receiver, cst.Name) and context.imports.aliases.get(receiver.value) == receiver.value:
            name = f"{receiver.value}_{name}"  # `import stripe; stripe.api_key = …`
    elif isinstance(target, cst.Subscript) and _is_config(target.value):
        key = target.slice[0].slice if len(target.slice) == 1 else None
        if not isinstance(key, cst.Index) or not isinstance(key.value, cst.SimpleString):
            return None
        value = key.value.evaluated_value
        if not isinstance(value, str):
            return None
        name = value
    else:
        return None
    name = _CAMEL.sub("_", name.strip("_")).upper()
    return name if _ENV_NAME.match(name) else None


def _is_config(node: cst.BaseExpression) -> bool:
    """``app.config`` / ``config``: a Flask-style configuration mapping, whose keys are setting names."""
    if isinstance(node, cst.Attribute):
        return node.attr.value == "config"
    return isinstance(node, cst.Name) and node.value == "config"


def _module_level(path: Sequence[cst.CSTNode]) -> bool:
    return not any(isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)) for node in path)


# --- BL204 -------------------------------------------------------------------------------------------


def env_default_fix(
    call: cst.Call, context: FileContext, ancestors: Sequence[cst.CSTNode] | None = None
) -> PendingFix | None:
    """``os.getenv(K, "x")`` / ``os.environ.get(K, "x")`` → ``os.environ[K]``; ``ancestors``: the
    walk's (by default) at the call."""
    if context.qualified_name(call.func) not in _ENV_LOOKUPS or any(arg.star for arg in call.args):
        return None
    if len(call.args) != 2:
        return None
    key_arg = call.args[0]
    if key_arg.keyword is not None and key_arg.keyword.value != "key":
        return None
    if call.args[1].keyword is not None and call.args[1].keyword.value != "default":
        return None
    return _required_lookup(call, call, key_arg.value, context, ancestors)


def env_or_fix(
    operation: cst.BooleanOperation, context: FileContext, ancestors: Sequence[cst.CSTNode] | None = None
) -> PendingFix | None:
    """``os.environ.get(K) or "x"`` → ``os.environ[K]``; ``ancestors``: the walk's (by default) at the operation."""
    call = operation.left
    if not isinstance(call, cst.Call) or context.qualified_name(call.func) not in _ENV_LOOKUPS:
        return None
    if len(call.args) != 1 or call.args[0].star or call.args[0].keyword is not None:
        return None
    return _required_lookup(operation, call, call.args[0].value, context, ancestors)


def _required_lookup(
    replaced: cst.BaseExpression,
    call: cst.Call,
    key: cst.BaseExpression,
    context: FileContext,
    ancestors: Sequence[cst.CSTNode] | None,
) -> PendingFix | None:
    if _has_comment(replaced):
        return None  # the comment would go with the replaced text
    module = _module(context.ancestors if ancestors is None else ancestors)
    if module is None:
        return None
    environ = _environ_of(call.func, context)
    imports: tuple[NodeEdit, ...] = ()
    if environ is None:
        found = environ_access(context, ancestors)
        if found is None:
            return None
        environ, imports = found
    key_code = module.code_for_node(key)
    if "\n" in key_code or "\r" in key_code:
        return None
    replacement = f"{environ}[{key_code}]"
    description = f"Require the variable: `{replacement}` fails at startup when it is missing"
    return PendingFix(UNSAFE, description, (NodeEdit(replaced, replacement), *imports))


def _environ_of(func: cst.BaseExpression, context: FileContext) -> str | None:
    """How the call reaches ``os.environ`` already: ``os.environ.get`` → ``os.environ``, ``os.getenv``
    → ``os.environ``; None for a bare ``getenv`` imported from ``os``."""
    if not isinstance(func, cst.Attribute):
        return None
    receiver = dotted_name(func.value)
    if receiver is None:
        return None
    if func.attr.value == "get":
        return receiver
    return f"{receiver}.environ"


def settings_default_fix(field: cst.AnnAssign, context: FileContext) -> PendingFix | None:
    """``secret_key: str = "x"`` (or ``= Field(default="x")``) in a settings class → ``secret_key: str``;
    ``Field("x", description=…)`` keeps its other arguments. The text is cut, never regenerated, so
    the field keeps its indentation and line breaks."""
    value, equal = field.value, field.equal
    if value is None or not isinstance(equal, cst.AssignEqual) or _has_comment(value):
        return None
    description = f"Make `{dotted_name(field.target) or 'the field'}` required: drop its hardcoded default"
    if isinstance(value, cst.Call):
        default = _field_default_arg(value)
        if default is None:
            return None
        if len(value.args) > 1:
            edits = _without_argument(value.args, default)
            return PendingFix(UNSAFE, description, edits) if edits else None
    if value.lpar:
        return None
    cut = (equal.whitespace_before, equal, equal.whitespace_after, value)
    return PendingFix(UNSAFE, description, tuple(NodeEdit(node, "") for node in cut))


def _field_default_arg(call: cst.Call) -> cst.Arg | None:
    """The argument of ``Field(...)`` giving its default: ``default=`` or the first positional one."""
    if any(arg.star for arg in call.args):
        return None
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "default":
            return arg
    first = call.args[0] if call.args else None
    return first if first is not None and first.keyword is None else None


def _without_argument(args: Sequence[cst.Arg], dropped: cst.Arg) -> tuple[NodeEdit, ...] | None:
    """Cut an argument with the comma after it, or the last one with the comma before it."""
    index = next(i for i, arg in enumerate(args) if arg is dropped)
    last = index == len(args) - 1
    comma = args[index - 1].comma if last else dropped.comma
    if not isinstance(comma, cst.Comma):
        return None
    spaced = (comma.whitespace_before, comma, comma.whitespace_after)
    cut = (*spaced, dropped) if last else (dropped, *spaced)
    return tuple(NodeEdit(node, "") for node in cut)


# --- BL701 -------------------------------------------------------------------------------------------


def debug_off_fix(value: cst.BaseExpression | None) -> PendingFix | None:
    """``debug=True`` → ``debug=False`` (also ``app.debug = True``); only for the literal ``True``."""
    if not isinstance(value, cst.Name) or value.value != "True":
        return None
    return PendingFix(UNSAFE, "Turn debugging off: `False`", (NodeEdit(value, "False"),))


def django_debug_fix(assign: cst.Assign, context: FileContext) -> PendingFix | None:
    """Django's ``DEBUG = True`` → ``DEBUG = os.environ.get("DJANGO_DEBUG") == "1"``."""
    value = assign.value
    if not isinstance(value, cst.Name) or value.value != "True":
        return None
    found = environ_access(context)
    if found is None:
        return None
    environ, imports = found
    replacement = f'{environ}.get("DJANGO_DEBUG") == "1"'
    description = f"Drive it from the environment: `DEBUG = {replacement}`"
    return PendingFix(UNSAFE, description, (NodeEdit(value, replacement), *imports))


# --- BL803 -------------------------------------------------------------------------------------------


def verify_signature_fix(call: cst.Call, options: str | None, algorithms: str | None) -> PendingFix | None:
    """``options={"verify_signature": False}`` → ``True`` when the call passes a key and ``algorithms``.

    ``options``/``algorithms`` are the decoder's keyword names (the ``jwt-decoders`` table).
    """
    if not options or not algorithms or any(arg.star for arg in call.args):
        return None
    positional = [arg.value for arg in call.args if arg.keyword is None]
    keywords = {arg.keyword.value: arg.value for arg in call.args if arg.keyword is not None}
    key = keywords.get("key", positional[1] if len(positional) > 1 else None)
    listed = keywords.get(algorithms, positional[2] if len(positional) > 2 else None)
    if key is None or listed is None or (isinstance(key, cst.Name) and key.value == "None"):
        return None
    if isinstance(listed, cst.Name) and listed.value == "None":
        return None
    mapping = keywords.get(options)
    if not isinstance(mapping, cst.Dict):
        return None  # a shared options variable: changing it may change other calls
    for element in mapping.elements:
        if (
            isinstance(element, cst.DictElement)
            and isinstance(element.key, cst.SimpleString)
            and element.key.evaluated_value == "verify_signature"
            and isinstance(element.value, cst.Name)
            and element.value.value == "False"
        ):
            description = 'Verify the signature: `"verify_signature": True`'
            return PendingFix(UNSAFE, description, (NodeEdit(element.value, "True"),))
    return None


# --- `os` ---------------------------------------------------------------------------------------------


def environ_access(
    context: FileContext, ancestors: Sequence[cst.CSTNode] | None = None
) -> tuple[str, tuple[NodeEdit, ...]] | None:
    """How the code at ``ancestors`` (the walk's, by default) reaches ``os.environ``: through an ``import
    os`` (or ``from os import environ``) above it, or through an ``import os`` the fix adds. None when
    the name it would use is bound to something else somewhere in the module."""
    path = context.ancestors if ancestors is None else ancestors
    module = _module(path)
    if module is None:
        return None
    statement = path[1] if len(path) > 1 else None
    imports = _imports_of(module)
    index = imports.position.get(id(statement), len(module.body))
    everywhere = imports.everywhere
    above = dict((local, target) for at, local, target in imports.placed if at < index)
    for wanted, suffix in (("os", ".environ"), ("os.environ", "")):
        for local, target in above.items():
            if target == wanted and everywhere[local] == {wanted}:
                return f"{local}{suffix}", ()
    if everywhere.get("os", {"os"}) != {"os"}:
        return None
    insertion = _import_os(module)
    return ("os.environ", (insertion,)) if insertion is not None else None


def _module(ancestors: Sequence[cst.CSTNode]) -> cst.Module | None:
    module = ancestors[0] if ancestors else None
    return module if isinstance(module, cst.Module) else None


@dataclasses.dataclass
class _ModuleImports:
    """A module's top-level imports, indexed once per module (a file with thousands of fixes)."""

    module: cst.Module
    position: dict[int, int]  # id(top-level statement) -> its index in the body
    placed: list[tuple[int, str, str]]  # (statement index, local name, module)
    everywhere: dict[str, set[str]]


_last_imports: list[_ModuleImports] = []  # the last module's only: the walk asks about one file at a time


def _imports_of(module: cst.Module) -> _ModuleImports:
    cached = _last_imports[0] if _last_imports else None  # read once: another thread may replace it
    if cached is not None and cached.module is module:
        return cached
    placed = [(i, local, target) for i, s in enumerate(module.body) for local, target in _module_imports([s])]
    everywhere: dict[str, set[str]] = {}
    for _, local, target in placed:
        everywhere.setdefault(local, set()).add(target)
    found = _ModuleImports(module, {id(s): i for i, s in enumerate(module.body)}, placed, everywhere)
    _last_imports[:] = [found]
    return found


def _module_imports(body: Sequence[cst.BaseStatement]) -> Iterator[tuple[str, str]]:
    """(local name, module) of the top-level imports of ``body``, with those in its ``try`` blocks
    (not under ``if``: ``if TYPE_CHECKING:`` imports do not run)."""
    for statement in body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                yield from _bound(small)
        elif isinstance(statement, cst.Try) and isinstance(statement.body, cst.IndentedBlock):
            yield from _module_imports(statement.body.body)


def _bound(statement: cst.BaseSmallStatement) -> Iterator[tuple[str, str]]:
    if isinstance(statement, cst.Import):
        for alias in statement.names:
            full = dotted_name(alias.name) or ""
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                yield alias.asname.name.value, full
            else:
                yield full.split(".")[0], full.split(".")[0]
    elif isinstance(statement, cst.ImportFrom) and not isinstance(statement.names, cst.ImportStar):
        for alias in statement.names:
            local = alias.asname.name if alias.asname is not None else alias.name
            if isinstance(local, cst.Name):
                yield local.value, f"{dotted_name(statement.module) if statement.module else ''}.{alias.name.value}"


def _import_os(module: cst.Module) -> NodeEdit | None:
    """An edit adding ``import os`` after the leading docstring and imports (``__future__`` stays first)."""
    anchor: cst.SimpleStatementLine | None = None
    for index, statement in enumerate(module.body):
        if not isinstance(statement, cst.SimpleStatementLine):
            break
        docstring = index == 0 and len(statement.body) == 1 and _is_docstring(statement.body[0])
        if not docstring and not all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in statement.body):
            break
        anchor = statement
    newline = module.default_newline
    if anchor is None:
        return NodeEdit(module.body[0], f"import os{newline}{newline}", "before") if module.body else None
    line = module.code_for_node(anchor.with_changes(leading_lines=()))
    if not line.endswith(("\n", "\r")):
        return None  # the last line of a file without a final line break
    return NodeEdit(anchor, f"{line}import os{newline}", "lines")


def _is_docstring(statement: cst.BaseSmallStatement) -> bool:
    return isinstance(statement, cst.Expr) and isinstance(statement.value, (cst.SimpleString, cst.ConcatenatedString))


def _has_comment(node: cst.CSTNode) -> bool:
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Comment):
            return True
        stack.extend(current.children)
    return False
