"""BL701: debug mode switched on in code that is deployed — the Werkzeug debugger, traceback pages, Django DEBUG.

Each value is read the way the app reads it when the environment is unset: ``DEBUG = env.bool(
"DEBUG", default=True)`` is on in a deploy that forgets the variable, ``debug=os.environ.get(
"FLASK_DEBUG") == "1"`` is off. Two cases are judged over the project (BL701 is ``cross-module``):

- a Werkzeug debug run reached only from ``if __name__ == "__main__":`` (there, or in a module function
  called only there) is the development server a developer starts by hand (``python run.py``): it is
  reported when the project's deployment runs that module (a Dockerfile ``CMD``, a compose or
  Kubernetes command, a Procfile: ``analysis/deploy_probes.py``);
- Django's ``DEBUG = True`` in a settings module is reported when it reaches a deployed settings module
  (``analysis/settings_chain.py``): a base module whose every importer re-assigns ``DEBUG`` is not, nor
  one whose value survives only in settings modules the project does not deploy when it names the one it
  deploys (``DJANGO_SETTINGS_MODULE`` set by its entry points or deployment files).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import libcst as cst

from backlint.analysis.config_fixes import debug_off_fix, django_debug_fix
from backlint.analysis.deploy_probes import commands, runs_module
from backlint.analysis.lazy import lazy_fix, steps_locator
from backlint.analysis.literals import UNKNOWN, Literals, as_bool, in_debug_branch, keyword_arg
from backlint.analysis.scopes import Scopes
from backlint.analysis.settings_chain import (
    NAMED_SETTINGS_FACT,
    SETTINGS_CHAIN_FACT,
    is_dev_settings,
    is_settings_module,
    named_in_deployment,
    named_settings_module,
    reaches_deployment,
    record_settings,
)
from backlint.core.catalog import Knowledge
from backlint.core.facts import FactCollector, ProjectFinding, ProjectRule
from backlint.core.globs import matches_any
from backlint.core.results import ModuleFacts, RelatedLocation, Span
from backlint.core.rule import FileContext, PendingFix, Rule

MAIN_RUN_FACT = "debug-main-run"
DJANGO_DEBUG_FACT = "django-debug"
_TRIGGERS = ("debug", "DEBUG", "evalex", "use_debugger")


def is_main_guard(test: cst.BaseExpression) -> bool:
    code = cst.Module([]).code_for_node(test).replace("'", '"').replace(" ", "")
    return code in ('__name__=="__main__"', '"__main__"==__name__')


def _in_main_guard(context: FileContext) -> bool:
    return any(isinstance(a, cst.If) and is_main_guard(a.test) for a in context.ancestors)


class _Names(cst.CSTVisitor):
    def __init__(self, into: dict[str, int]) -> None:
        self.into = into

    def visit_Name(self, node: cst.Name) -> None:
        self.into[node.value] = self.into.get(node.value, 0) + 1

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)  # ``web.main`` names another module's ``main``
        return False

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False  # ``from .web import main as web_interface`` binds another name


def main_only_functions(module: cst.Module) -> frozenset[str]:
    """Module functions named only inside the module's ``if __name__ == "__main__":`` blocks
    (ihatemoney's ``def main(): app.run(debug=True)`` called from the guard)."""
    defined = {s.name.value for s in module.body if isinstance(s, cst.FunctionDef)}
    guards = [s for s in module.body if isinstance(s, cst.If) and is_main_guard(s.test)]
    if not defined or not guards:
        return frozenset()
    inside: dict[str, int] = {}
    outside: dict[str, int] = {}
    for statement in module.body:
        if statement in guards:
            statement.visit(_Names(inside))
        elif isinstance(statement, cst.FunctionDef):
            for part in (statement.params, statement.body, *statement.decorators):
                part.visit(_Names(outside))
        else:
            statement.visit(_Names(outside))
    return frozenset(name for name in defined if inside.get(name) and not outside.get(name))


class DebugSwitches:
    """Finds the debug switches of a file; ``found(kind, node, message, fix, level)`` decides.

    kind: "werkzeug" (the interactive debugger), "traceback" (FastAPI/Starlette ``debug=True``),
    "django" (a module-level ``DEBUG`` of a settings module that is not dev-only).
    """

    def __init__(self, context: FileContext, found: Callable[[str, cst.CSTNode, str, PendingFix | None], None]):
        self.context = context
        self.found = found
        self.literals = Literals(context, "framework-debug")
        rows = context.knowledge.rows("framework-debug")
        self.kwarg_rows = [r for r in rows if r["form"] == "kwarg"]
        self.apps = frozenset(r["name"] for r in rows if r["form"] == "app")
        self.flask_module = any(context.imports.imports_module(a.split(".")[0]) for a in self.apps)
        self.settings = False
        self.module: cst.Module | None = None
        self.main_only: frozenset[str] = frozenset()

    def visit_Module(self, node: cst.Module) -> None:
        self.module = node
        self.settings = is_settings_module(self.context, node) and not is_dev_settings(self.context, node)
        self.main_only = main_only_functions(node)

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in (t.target for t in node.targets):
            if isinstance(target, cst.Name) and target.value == "DEBUG" and self.settings and self._module_level():
                self._django_debug(node)
            elif isinstance(target, cst.Attribute) and target.attr.value == "debug" and self._flask_app(target.value):
                if self.literals.evaluate(node.value) is True:
                    self._werkzeug(node, f"`{_code(target)} = True`", debug_off_fix(node.value))
            elif isinstance(target, cst.Subscript) and isinstance(target.value, cst.Attribute):
                config = target.value
                key = target.slice[0].slice if len(target.slice) == 1 else None
                if (
                    config.attr.value == "config"
                    and isinstance(key, cst.Index)
                    and self.literals.evaluate(key.value) == "DEBUG"
                    and self._flask_app(config.value)
                    and self.literals.evaluate(node.value) is True
                ):
                    self._werkzeug(node, f'`{_code(config)}["DEBUG"] = True`', debug_off_fix(node.value))

    def visit_Call(self, node: cst.Call) -> None:
        name = self.context.qualified_name(node.func) or ""
        for row in self.kwarg_rows:
            if row["name"] != name:
                continue
            value = keyword_arg(node, row["keyword"])
            on = value is not None and truthy_value(self.literals.evaluate(value))
            if on and not in_debug_branch(self.context.ancestors):
                call = f"`{name.rpartition('.')[2]}({row['keyword']}=True)`"
                if row["level"] == "error":
                    self._werkzeug(node, call, debug_off_fix(value))
                else:
                    message = (
                        f"{call} sends tracebacks, with source lines and local values, to any client that triggers "
                        "an error; drive it from the environment so deployments run without it"
                    )
                    self.found("traceback", node, message, debug_off_fix(value))
        func = node.func
        if not isinstance(func, cst.Attribute):
            return
        if func.attr.value == "run" and self._flask_app(func.value):
            value = keyword_arg(node, "debug")
            if value is not None and truthy_value(self.literals.evaluate(value)):
                self._werkzeug(node, f"`{_code(func.value)}.run(debug=True)`", debug_off_fix(value))
        elif (
            func.attr.value in ("update", "from_mapping")
            and isinstance(func.value, cst.Attribute)
            and func.value.attr.value == "config"
            and self._flask_app(func.value.value)
        ):
            value = keyword_arg(node, "DEBUG")
            if value is not None and self.literals.evaluate(value) is True:
                self._werkzeug(node, f"`{_code(func.value)}.{func.attr.value}(DEBUG=True)`", debug_off_fix(value))

    def main_guard_only(self) -> bool:
        """Reached only from the module's main guard: inside it, or in a function only it calls."""
        if _in_main_guard(self.context):
            return True
        top = self.context.ancestors[1] if len(self.context.ancestors) > 1 else None
        return isinstance(top, cst.FunctionDef) and top.name.value in self.main_only

    def _module_level(self) -> bool:
        return not any(isinstance(a, (cst.FunctionDef, cst.ClassDef)) for a in self.context.ancestors)

    def _flask_app(self, node: cst.BaseExpression) -> bool:
        """An object built by a Flask-like constructor, or an app-ish name in a module using Flask."""
        if not isinstance(node, cst.Name):
            return False
        bound = self.literals.binding(node.value)
        if isinstance(bound, cst.Call):
            if self.context.qualified_name(bound.func) in self.apps:
                return True
            return self.flask_module
        return self.flask_module and node.value in ("app", "application")

    def _werkzeug(self, node: cst.CSTNode, what: str, fix: PendingFix | None) -> None:
        if in_debug_branch(self.context.ancestors):
            return  # `if args.debug: app.run(debug=True)`: on only when the deployment asks for debug mode
        entries = tuple(self.context.options.get("dev-entry-globs", ()))
        if entries and matches_any(self.context.path.replace("\\", "/"), entries) and self.main_guard_only():
            return  # `python debug.py` on a developer's machine: no deployment runs it
        message = (
            f"{what} turns on the Werkzeug interactive debugger: anyone who can reach the server and trigger an "
            "error can run Python code on it; read the flag from the environment (e.g. "
            '`debug=os.environ.get("FLASK_DEBUG") == "1"`) and never enable it in a deployed app'
        )
        self.found("werkzeug", node, message, fix)

    def _django_debug(self, node: cst.Assign) -> None:
        value = self.literals.evaluate(node.value)
        if not truthy_value(value):
            return
        literal = isinstance(node.value, cst.Name) and node.value.value == "True"
        how = "`DEBUG = True`" if literal else "`DEBUG` is true when its environment variable is unset, so"
        message = (
            f"{how} in settings that are not dev-only: Django then serves tracebacks with settings and SQL to "
            "anyone who triggers an error (deploy check security.W018); use "
            '`DEBUG = os.environ.get("DJANGO_DEBUG") == "1"` or put it in a dev settings module'
        )
        self.found("django", node, message, django_debug_fix(node, self.context))


class DebugModeEnabled(Rule):
    """Debug mode switched on in code that is deployed: the Werkzeug debugger, traceback pages.

    Django's ``DEBUG`` and a debugger run only a main guard reaches are judged over the project
    (``DebugModeDeployed``)."""

    id = "BL701"
    REQUIRES = (Scopes,)
    TRIGGERS = _TRIGGERS

    @classmethod
    def trigger_tokens(cls, knowledge: Knowledge) -> Iterable[str]:
        return cls.TRIGGERS

    def __init__(self, context: FileContext, level: str) -> None:
        super().__init__(context, level)
        self.switches = DebugSwitches(context, self._found)

    def visit_Module(self, node: cst.Module) -> None:
        self.switches.visit_Module(node)

    def visit_Assign(self, node: cst.Assign) -> None:
        self.switches.visit_Assign(node)

    def visit_Call(self, node: cst.Call) -> None:
        self.switches.visit_Call(node)

    def _found(self, kind: str, node: cst.CSTNode, message: str, fix: PendingFix | None) -> None:
        if kind == "django" or (kind == "werkzeug" and self.switches.main_guard_only()):
            return  # judged over the project (DebugModeDeployed)
        level = self.level if kind == "werkzeug" else ("warning" if self.level == "error" else self.level)
        self.report(node, message, level=level, fix=fix)


class DebugSwitchFacts(FactCollector):
    """Records, for BL701's project pass, a Werkzeug debug run only a main guard reaches and a truthy
    Django ``DEBUG`` (with its statement's place in the settings module)."""

    REQUIRES = (Scopes,)
    TRIGGERS = _TRIGGERS

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.switches = DebugSwitches(context, self._found)

    def visit_Module(self, node: cst.Module) -> None:
        self.switches.visit_Module(node)

    def visit_Assign(self, node: cst.Assign) -> None:
        self.switches.visit_Assign(node)

    def visit_Call(self, node: cst.Call) -> None:
        self.switches.visit_Call(node)

    def _found(self, kind: str, node: cst.CSTNode, message: str, fix: PendingFix | None) -> None:
        module = self.switches.module
        if module is None:
            return
        lazy = lazy_fix(fix, steps_locator(module, self.context.path))
        if kind == "werkzeug" and self.switches.main_guard_only():
            fact = {"span": self.context.locate(node), "message": message, "fix": lazy}
            self.context.add_fact(MAIN_RUN_FACT, {**fact, "module": self.context.module_name})
        elif kind == "django":
            top = self.context.ancestors[1] if len(self.context.ancestors) > 1 else None
            index = next((i for i, s in enumerate(module.body) if s is top), -1)
            fact = {"span": self.context.locate(node), "message": message, "fix": lazy, "index": index}
            self.context.add_fact(DJANGO_DEBUG_FACT, {**fact, "module": self.context.module_name})


class SettingsChainFacts(FactCollector):
    """Records each Django settings module's chain (``analysis/settings_chain.py``) for BL701 and BL703,
    and the settings modules named by ``DJANGO_SETTINGS_MODULE`` defaults."""

    TRIGGERS = ("DEBUG", "ALLOWED_HOSTS", "import *", "DJANGO_SETTINGS_MODULE")

    def visit_Call(self, node: cst.Call) -> None:
        named = named_settings_module(self.context, node)
        if named is not None:
            self.context.add_fact(NAMED_SETTINGS_FACT, named)

    def leave_Module(self, node: cst.Module) -> None:
        if not is_settings_module(self.context, node):
            return
        literals = Literals(self.context, "framework-debug")
        verdicts = {
            "DEBUG": lambda value: "bad" if truthy_value(literals.evaluate(value)) else "ok",
            "ALLOWED_HOSTS": lambda value: "bad" if wildcard_hosts(value, literals) else "ok",
        }
        overlays = self.context.knowledge.values("settings-overlays", "name")
        record_settings(self.context, node, verdicts, overlays)


class DebugModeDeployed(ProjectRule):
    """BL701 over the project: a main-guard debug run the deployment starts, a Django ``DEBUG = True``
    that reaches a deployed settings module."""

    id = "BL701"

    def check(self, modules: list[ModuleFacts]) -> list[ProjectFinding]:
        runs = commands(self.project.deployment)
        records = [r for m in modules for r in m.get(SETTINGS_CHAIN_FACT)]
        named = {n for m in modules for n in m.get(NAMED_SETTINGS_FACT)} | named_in_deployment(self.project.deployment)
        guard_level = self.options.get("debug-in-main-guard", "error")
        out: list[ProjectFinding] = []
        for module in modules:
            for fact in module.get(MAIN_RUN_FACT):
                started = [
                    c for c in runs if _under(module.path, c.scope) and runs_module(c.text, fact["module"], module.path)
                ]
                if not started:
                    continue  # the development server a developer starts by hand
                message = f"{fact['message']} (the project's {started[0].source} runs this module)"
                level = guard_level if guard_level != "error" else None
                related = [
                    RelatedLocation(
                        c.file, Span(c.line, 1, c.line, 1), f"the deployment runs the module here ({c.source})"
                    )
                    for c in started[:4]
                ]
                found = ProjectFinding(self.id, module.path, fact["span"], message, level, related)
                found.fix = fact["fix"].resolve() if fact["fix"] is not None else None
                out.append(found)
            for fact in module.get(DJANGO_DEBUG_FACT):
                if not reaches_deployment(records, named, fact["module"], fact["index"], "DEBUG", overlays=False):
                    continue  # every settings module importing it sets DEBUG again
                level = "warning" if self.level == "error" else self.level
                found = ProjectFinding(self.id, module.path, fact["span"], fact["message"], level)
                found.fix = fact["fix"].resolve() if fact["fix"] is not None else None
                out.append(found)
        return out


def _under(path: str, directory: str) -> bool:
    return not directory or path.startswith(directory.rstrip("/") + "/")


def truthy_value(value: Any) -> bool:
    if value is UNKNOWN or value is None:
        return False
    if isinstance(value, str):
        return as_bool(value) is True
    return bool(value) and not isinstance(value, (list, dict))


def wildcard_hosts(node: cst.BaseExpression, literals: Literals) -> bool:
    """A literal list of hosts that holds ``"*"`` (a value read from the environment is not judged)."""
    value = literals.evaluate(node)
    return isinstance(value, list) and "*" in value and _literal_list(node)


def _literal_list(node: cst.BaseExpression) -> bool:
    return isinstance(node, (cst.List, cst.Tuple)) or (
        isinstance(node, cst.BinaryOperation) and (_literal_list(node.left) or _literal_list(node.right))
    )


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)
