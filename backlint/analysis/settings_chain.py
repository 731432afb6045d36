"""Which Django settings module a value reaches: base modules, the modules that star-import them, overlays.

Django runs one settings module, the one ``DJANGO_SETTINGS_MODULE`` names. Projects split settings: a
base module (``settings/common.py``) holds defaults, and the deployed module (``settings/product.py``)
does ``from .common import *`` and then re-assigns what production needs (``DEBUG = False``), or hands
its names to the deployment's own settings (``try: from .local_settings import *``, dynaconf's
``DjangoDynaconf(__name__)``: an overlay). A value in a base module is deployed only if it survives in a
settings module that is deployed. When the project names its settings module — the
``os.environ.setdefault("DJANGO_SETTINGS_MODULE", ...)`` of its entry points (``wsgi.py``, ``asgi.py``,
``celery.py``, a CLI), or ``DJANGO_SETTINGS_MODULE``/``--settings`` in its deployment files — and one
of the modules named is a settings module of the project that is not dev-only, the deployed modules
are the ones named: a sibling that no entry point names (``settings/heroku.py`` next to the
``settings/production.py`` that ``wsgi.py`` names) is an alternative an operator picks by setting the
variable, not what the project deploys. Otherwise, every settings module no other (non-dev) settings
module star-imports is deployed.

The file walk records, per settings module (``SettingsRecorder``), its statements that matter in order:
star imports, the assignments of the watched names with a verdict ("bad" or "ok"), overlays; and, in
any module, the settings modules that ``os.environ.setdefault("DJANGO_SETTINGS_MODULE", ...)`` names.
``reaches_deployment`` judges over every module's record (the project pass).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import libcst as cst

from backlint.core.facts import SideFile
from backlint.core.globs import matches_any
from backlint.core.rule import FileContext

SETTINGS_CHAIN_FACT = "settings-chain"
NAMED_SETTINGS_FACT = "settings-named"
_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})
_SETTINGS_MODULE_VARIABLE = "DJANGO_SETTINGS_MODULE"
# DJANGO_SETTINGS_MODULE=config.settings.production (Dockerfile ENV, compose, .env, Procfile),
# ``DJANGO_SETTINGS_MODULE: "…"``, Kubernetes' ``- name: DJANGO_SETTINGS_MODULE`` then ``value: …``, or
# ``--settings=config.settings.production`` in a command.
_NAMED_IN_FILES = re.compile(
    r"""\bDJANGO_SETTINGS_MODULE["']?[ \t]*(?:\n\s*value:|[=:]|[ \t])\s*["']?([A-Za-z_][\w.]*)"""
    r"""|--settings[= ]["']?([A-Za-z_][\w.]*)"""
)


def is_settings_module(context: FileContext, module: cst.Module) -> bool:
    """A Django settings module: named settings, or assigning Django's own settings."""
    path = context.path.replace("\\", "/")
    if "settings" in path.rpartition("/")[2] or "/settings/" in f"/{path}":
        return True
    markers = {r["name"] for r in context.knowledge.rows("framework-settings")} - {"urlpatterns", "handler500"}
    names: set[str] = set()
    for statement in module.body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign):
                    names.update(t.target.value for t in small.targets if isinstance(t.target, cst.Name))
    return len(names & markers) >= 2


def is_dev_settings(context: FileContext, module: cst.Module) -> bool:
    """A settings module for developer machines, or a template to copy (``dev-settings-globs``) — unless
    it switches debug off itself (a top-level ``DEBUG = False``): a module written for deployment, whatever
    its name (a project template's ``settings/local.py`` that its ``wsgi.py`` names, in
    tests/test_debug_deployed.py)."""
    globs = tuple(context.options.get("dev-settings-globs", ()))
    if not globs or not matches_any(context.path.replace("\\", "/"), globs):
        return False
    return not any(
        isinstance(small, cst.Assign)
        and isinstance(small.value, cst.Name)
        and small.value.value == "False"
        and any(isinstance(t.target, cst.Name) and t.target.value == "DEBUG" for t in small.targets)
        for statement in module.body
        if isinstance(statement, cst.SimpleStatementLine)
        for small in statement.body
    )


def star_import_target(context: FileContext, node: cst.ImportFrom) -> str | None:
    """The absolute module name of ``from X import *`` (relative names resolved against the module's package)."""
    if not isinstance(node.names, cst.ImportStar):
        return None
    name = cst.Module([]).code_for_node(node.module) if node.module is not None else ""
    dots = len(node.relative)
    if not dots:
        return name or None
    package = context.module_name
    if not context.path.replace("\\", "/").endswith("/__init__.py"):
        package = package.rpartition(".")[0]
    for _ in range(dots - 1):
        package = package.rpartition(".")[0]
    return ".".join(p for p in (package, name) if p) or None


def _catches_import_error(node: cst.Try) -> bool:
    for handler in node.handlers:
        if handler.type is None:
            return True
        types = handler.type.elements if isinstance(handler.type, cst.Tuple) else [handler.type]
        for item in types:
            value = item.value if isinstance(item, cst.Element) else item
            if isinstance(value, (cst.Name, cst.Attribute)):
                last = value.value if isinstance(value, cst.Name) else value.attr.value
                if last in _IMPORT_ERRORS:
                    return True
    return False


def record_settings(
    context: FileContext,
    module: cst.Module,
    verdicts: Mapping[str, Any],
    overlay_calls: frozenset[str],
) -> None:
    """Record the module's settings chain: ``verdicts`` maps a watched name to a function of an
    assignment's value node returning "bad" or "ok"; ``overlay_calls``: qualified names of calls that
    overlay the module's names with the deployment's (table ``settings-overlays``)."""
    steps: list[tuple[int, str, str]] = []  # (statement index, kind, detail)
    for index, statement in enumerate(module.body):
        smalls: list[cst.CSTNode] = []
        in_try = False
        if isinstance(statement, cst.SimpleStatementLine):
            smalls = list(statement.body)
        elif isinstance(statement, cst.Try) and _catches_import_error(statement):
            in_try = True
            for inner in statement.body.body:
                if isinstance(inner, cst.SimpleStatementLine):
                    smalls += list(inner.body)
        for small in smalls:
            if isinstance(small, cst.ImportFrom):
                target = star_import_target(context, small)
                if target is not None:
                    steps.append((index, "overlay" if in_try else "import", target))
                continue
            if in_try:
                continue
            if isinstance(small, cst.Assign):
                for target_node in (t.target for t in small.targets):
                    if isinstance(target_node, cst.Name) and target_node.value in verdicts:
                        steps.append(
                            (index, "assign", f"{target_node.value}={verdicts[target_node.value](small.value)}")
                        )
            call = small.value if isinstance(small, (cst.Assign, cst.Expr)) else None
            if isinstance(call, cst.Call) and context.qualified_name(call.func) in overlay_calls:
                steps.append((index, "overlay", ""))
    context.add_fact(
        SETTINGS_CHAIN_FACT,
        {"module": context.module_name, "dev": is_dev_settings(context, module), "steps": steps},
    )


def named_settings_module(context: FileContext, node: cst.Call) -> str | None:
    """``os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")``: the module named."""
    if context.qualified_name(node.func) not in ("os.environ.setdefault", "os.putenv"):
        return None
    args = [a.value for a in node.args]
    if len(args) != 2 or not all(isinstance(a, cst.SimpleString) for a in args):
        return None
    key, value = (a.evaluated_value for a in args if isinstance(a, cst.SimpleString))
    return value if key == _SETTINGS_MODULE_VARIABLE and isinstance(value, str) else None


def named_in_deployment(files: Iterable[SideFile]) -> set[str]:
    """The settings modules the project's deployment files name (``ENV DJANGO_SETTINGS_MODULE=…``)."""
    return {a or b for side in files for a, b in _NAMED_IN_FILES.findall(side.text)}


def reaches_deployment(
    records: Iterable[dict[str, Any]],
    named: set[str],
    module: str,
    index: int,
    name: str,
    *,
    overlays: bool,
) -> bool:
    """Whether the bad value assigned to ``name`` at statement ``index`` of settings module ``module``
    survives in a deployed settings module: not re-assigned with a good value (nor overlaid, when
    ``overlays``) after it there, or after the star import that brings it into a module importing it.
    ``named``: the settings modules the project names (see the module docstring)."""
    chains = {r["module"]: r for r in records}
    # The project names the settings module it deploys: only the named ones are deployed.
    names_deployed = any(not r["dev"] and any(same_module(n, m) for n in named) for m, r in chains.items())
    imports: list[tuple[str, str, int]] = []  # (imported module, importer, statement index)
    for record in chains.values():
        if not record["dev"]:
            imports += [(detail, record["module"], at) for at, kind, detail in record["steps"] if kind == "import"]
    seen: set[tuple[str, int]] = set()
    pending = [(module, index)]
    while pending:
        current, start = pending.pop()
        if (current, start) in seen:
            continue
        seen.add((current, start))
        found = chains.get(current)
        if found is not None and not _survives(found["steps"], start, name, overlays=overlays):
            continue
        if any(same_module(n, current) for n in named):
            return True
        following = [(by, at) for target, by, at in imports if by != current and same_module(target, current)]
        if not following and not names_deployed:
            return True  # a settings module nothing builds on: deployed
        pending += following
    return False


def same_module(a: str, b: str) -> bool:
    """Two names of one module: equal, or one the other's tail (a module's name depends on where its
    package's root is, ``config.settings.common`` or ``settings.common``)."""
    return a == b or a.endswith("." + b) or b.endswith("." + a)


def _survives(steps: list[tuple[int, str, str]], start: int, name: str, *, overlays: bool) -> bool:
    for index, kind, detail in steps:
        if index <= start:
            continue
        if kind == "assign" and detail.startswith(name + "="):
            return False  # re-assigned: a good value, or a bad one reported where it is
        if kind == "overlay" and overlays:
            return False
    return True
