"""BL101/BL102/BL104 across modules: a query helper's parameters judged with its callers in the whole project.

A slot whose value comes from a parameter of a public module-level function (``Slot.open``,
backlint/analysis/sql/judge.py) is not judged by the file rules (backlint/checks/sql.py): other
modules may call the helper. ``SqlHelperFacts`` records such SQL with everything its findings need
(the slots, their local verdict, their messages, the fix), ``SqlCallFacts`` records every call of a
function imported from the project with what each argument is (a constant, outside input, a
parameter of the calling function passed on, names imported from other modules, or unknown), and
the module's own constants (``ARCHIVED = "archived"``: an imported name is a constant when its
module binds it once to one; a module without any import is not read for them). The project rules then judge each slot
as the file rule would, with the callers of every module:

- every caller passes constants (or trusted fragments): not a finding;
- a caller passes outside input: the finding is at that caller, with the helper's slot and the sink
  (and the calls passing it on) as related locations;
- a caller passes something not followed: the slot is judged as one of unknown origin (a value slot
  is reported in the helper; a syntax slot only when that caller is an endpoint);
- the helper is called from nowhere in the project: as today, its parameter is of unknown origin.

The call sites are read again whenever a module's facts change, so the cache, standard input, the
editor and shards re-judge a helper when one of its callers changes (backlint/pipeline/project.py).
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterable
from typing import Any

import libcst as cst

from backlint.analysis.lazy import StepsLocator, lazy_fix
from backlint.analysis.origins import Origin
from backlint.analysis.scopes import Binding, Site
from backlint.analysis.sql.analysis import SqlAnalysis
from backlint.analysis.sql.guards import checks_summary
from backlint.analysis.sql.judge import BuiltSql, OpenParam, Slot, exported_param
from backlint.analysis.sql.slots import IDENTIFIER, PLACEHOLDER, VALUE_SLOTS
from backlint.analysis.sql.tables import DRIVER, ORM, sql_knowledge
from backlint.analysis.sql.templates import all_safe, code_of, origin_of
from backlint.checks.sql import (
    SqlBuiltIntoDriverCall,
    SqlBuiltIntoOrmRawApi,
    SqlIdentifierWithoutAllowlist,
    claimant,
    deferred,
    identifier_message,
    reported_here,
    sink_message,
    slot_verdict,
)
from backlint.core.facts import FactCollector, ProjectFinding, ProjectRule
from backlint.core.results import FileKind, ModuleFacts, RelatedLocation, Span

HELPER_FACT = "sql-helper-slots"
CALLS_FACT = "sql-helper-calls"

CONSTANTS_FACT = "sql-module-constants"
INSTANCES_FACT = "sql-module-instances"  # a module's names bound to an instance of a project class
# The module's validators and predicates (backlint/analysis/sql/guards.py): {kind: {function: checks}}.
VALIDATORS_FACT = "sql-validators"
REEXPORTS_FACT = "sql-reexports"  # a package's names imported from the project: {package.name: target}

CONSTANT, OUTSIDE, PASSED_ON, IMPORTED, UNKNOWN = "constant", "outside", "param", "imported", "unknown"
_PASSED = "passed on to the helper building the SQL here"
_MAX_DEPTH = 3
# Roles where a finding on SQL syntax is kept (the catalog's applies-to-facets for BL101/BL102).
_SYNTAX_ROLES = (FileKind.PRODUCTION.value, FileKind.SCRIPT.value)


def _code(node: cst.CSTNode) -> str:
    code = code_of(node)
    return code if len(code) <= 40 and "\n" not in code else "value"


def _param_order(param: dict[str, Any]) -> tuple[str, int, str]:
    return (param["function"], param["index"], param["name"])


def _open(param: OpenParam, locate: Any) -> dict[str, Any]:
    return {
        "function": param.function,
        "name": param.name,
        "index": param.index,
        "default": param.default,
        "called_here": param.called_here,
        "related": [(locate(argument), _PASSED) for _, argument in param.chain],
    }


class SqlHelperFacts(FactCollector):
    """Records the SQL whose BL101/BL102/BL104 verdict depends on callers in other modules."""

    REQUIRES = (SqlAnalysis,)

    @classmethod
    def trigger_tokens(cls, knowledge: Any) -> Iterable[str]:
        return sorted(sql_knowledge(knowledge).trigger_tokens((DRIVER, ORM)))

    def leave_Module(self, node: cst.Module) -> None:
        analysis = self.context.get(SqlAnalysis)
        served = self.context.kind is FileKind.PRODUCTION
        locate = StepsLocator.of(self.context, node)  # placed only if the project pass reports it
        for built in analysis.reached():
            if not deferred(built, served):
                continue
            reported = {id(s.hole.node) for s in built.slots if reported_here(s, served, callers_unknown=True)}
            fix, refusal = analysis.fix(built, reported)
            slots = [self._slot(built, slot, refusal, locate) for slot in built.slots]
            self.context.add_fact(
                HELPER_FACT,
                {
                    "served": served,
                    "slots": slots,
                    "related": [(locate(n), m) for n, m in built.related],
                    "sink": (locate(built.sink), f"the SQL reaches {built.label} here") if built.sink else None,
                    "fix": lazy_fix(fix, locate),
                },
            )

    @staticmethod
    def _slot(built: BuiltSql, slot: Slot, refusal: str | None, locate: StepsLocator) -> dict[str, Any]:
        rule = claimant(built, slot)
        seen = _seen(built, slot, slot.hole.node)
        message = _message(rule, seen)
        chains = []
        for chain in slot.chains:  # local callers passing outside input, as the file rule reports them
            argument = chain[0][1]
            related = [(locate(c), _PASSED) for c, _ in chain[1:]]
            chains.append(
                {"span": locate(argument), "message": _message(rule, _seen(built, slot, argument)), "related": related}
            )
        return {
            "rule": rule,
            "position": slot.position,
            "inputs": slot.inputs,
            "unknown": slot.unknown,
            "endpoint": slot.endpoint,
            "hole": locate(slot.hole.node),
            "statement": locate.statement(slot.hole.node),
            "code": _code(slot.hole.node),
            "message": message,
            "refusal": refusal,
            "chains": chains,
            "open": [_open(p, locate) for p in slot.open],
            "vetters": slot.vetters,
            "offline": slot.offline,
        }


def _seen(built: BuiltSql, slot: Slot, node: cst.CSTNode) -> BuiltSql:
    """``built`` seen through ``slot``, the value at ``node`` (the slot's own, or a caller's argument)."""
    if node is slot.hole.node:
        return dataclasses.replace(built, hole=slot.hole, position=slot.position)
    hole = dataclasses.replace(slot.hole, node=node)
    template = tuple(hole if p is slot.hole else p for p in built.template)
    return dataclasses.replace(built, hole=hole, position=slot.position, template=template)


def _message(rule: str | None, seen: BuiltSql) -> str:
    return identifier_message(seen) if rule == SqlIdentifierWithoutAllowlist.id else sink_message(seen)


class SqlCallFacts(FactCollector):
    """Records the calls of functions imported from the project, with what each argument passes."""

    REQUIRES = (SqlAnalysis,)
    TRIGGERS = ("import",)

    def leave_Module(self, node: cst.Module) -> None:
        context = self.context
        analysis = context.get(SqlAnalysis)
        scopes, origins = analysis.scopes, analysis.origins
        module = context.module_name
        top = module.partition(".")[0]
        aliases = context.imports.aliases
        locate = StepsLocator.of(context, node)
        self._constants()
        self._validators()
        if context.path.endswith("__init__.py"):  # ``from .wallets import get_wallet`` re-exported
            reexports = {
                f"{module}.{local}": target
                for local, target in aliases.items()
                if _in_project(target, module, top) and not target.startswith(f"{module}.{local}")
            }
            if reexports:
                context.add_fact(REEXPORTS_FACT, reexports)
        for call, site in origins.calls:
            func = call.func
            if not call.args or not isinstance(func, (cst.Name, cst.Attribute)):
                continue
            head: cst.BaseExpression = func
            while isinstance(head, cst.Attribute):
                head = head.value
            if not isinstance(head, cst.Name) or scopes.is_dead(site):
                continue
            if head.value in aliases and scopes.lookup(head.value, site) is None:
                qualified = context.qualified_name(func) or ""
            else:  # a method called on an instance of a project class: ``repo.get(...)``, ``self.db.fetch(...)``
                qualified = self._instance_method(func, site)
            if not _in_project(qualified, module, top):
                continue
            arguments: dict[str, dict[str, Any]] = {}
            star, position = False, 0
            for arg in call.args:
                if arg.star:
                    star = True
                    continue
                where = arg.keyword.value if arg.keyword is not None else str(position)
                position += arg.keyword is None
                arguments[where] = self._passes(arg.value, site, locate)
            context.add_fact(
                CALLS_FACT,
                {
                    "function": qualified,
                    "arguments": arguments,
                    "star": star,
                    "endpoint": origins.is_endpoint(site.scope),
                },
            )

    def _instance_method(self, func: cst.BaseExpression, site: Site) -> str:
        """``module.Class.method`` for a call of a method on an instance of a class imported from the
        project: a name bound to ``Class(...)`` or a parameter annotated ``Class``, or ``self.attr``
        bound so in the caller's class ("" when the class is not known)."""
        if not isinstance(func, cst.Attribute):
            return ""
        scopes = self.context.get(SqlAnalysis).scopes
        receiver = func.value
        bindings: list[Binding] = []
        if isinstance(receiver, cst.Name):
            found = scopes.lookup(receiver.value, site)
            bindings = found[0] if found is not None else []
        elif isinstance(receiver, cst.Attribute) and isinstance(receiver.value, cst.Name):
            info = scopes.class_of(receiver.value, site)
            if info is not None and receiver.value.value == site.scope.frame.self_name:
                cls_bindings, instance = scopes.class_attribute(info, receiver.attr.value)
                bindings = [*cls_bindings, *instance]
        classes = {self._instance_class(b) for b in bindings}
        if len(classes) != 1 or "" in classes:
            return ""
        return f"{classes.pop()}.{func.attr.value}"

    def _instance_class(self, binding: Binding) -> str:
        """The imported class ``binding`` binds an instance of (``Class(...)``, ``x: Class``), or ""."""
        context = self.context
        if binding.kind == "assign" and binding.index is None and isinstance(binding.value, cst.Call):
            node: cst.BaseExpression | None = binding.value.func
        elif binding.kind == "param":
            node = binding.annotation
        else:
            return ""
        head = node
        while isinstance(head, cst.Attribute):
            head = head.value
        if not isinstance(head, cst.Name) or head.value not in context.imports.aliases or node is None:
            return ""
        name = context.qualified_name(node) or ""
        return name if name.rpartition(".")[2][:1].isupper() else ""  # a class, by its name

    def _passes(self, expr: cst.BaseExpression, site: Site, locate: StepsLocator) -> dict[str, Any]:
        analysis = self.context.get(SqlAnalysis)
        values = analysis.values
        value = values.value(expr, site)
        if all_safe(value) or values.collections.const_collection(expr, site):
            return {"class": CONSTANT}
        origin: Origin = origin_of(value)
        if origin.outside:
            return {
                "class": OUTSIDE,
                "what": sorted(origin.inputs)[0],
                "code": _code(expr),
                "span": locate(expr),
            }
        if origin.params and not origin.unknown and not origin.imports:
            passed = [exported_param(b, values, self.context.module_name) for b in origin.params]
            if all(p is not None for p in passed):
                # origin.params is a set of Bindings hashed by identity: its order follows memory
                # addresses, and the facts (their digest keys the project verdict's cache) must not.
                params = sorted((_open(p, locate) for p in passed if p is not None), key=_param_order)
                return {"class": PASSED_ON, "params": params, "span": locate(expr)}
        if origin.imports and not origin.params and not origin.unknown:
            return {"class": IMPORTED, "names": sorted(origin.imports)}  # constants if their modules say so
        return {"class": UNKNOWN}

    def _validators(self) -> None:
        """The public module-level functions that raise unless a parameter passes a check
        (validators) or return such a check (predicates): calls of them in other modules vet what
        they are passed (``Slot.vetters``)."""
        analysis = self.context.get(SqlAnalysis)
        guards, vetting = analysis.guards, analysis.values.collections.vetting
        found: dict[str, dict[str, Any]] = {}
        for name, function in analysis.scopes.module_functions.items():
            if name.startswith("_"):
                continue
            qualified = f"{self.context.module_name}.{name}"
            for kind, checked in (("validator", guards.checked), ("predicate", guards.tested)):
                summary = checks_summary(checked(function, vetting), function)
                if summary:
                    found.setdefault(kind, {})[qualified] = summary
        if found:
            self.context.add_fact(VALIDATORS_FACT, found)

    def _constants(self) -> None:
        """The module's names bound once, at the top, to a constant (``ARCHIVED = "archived"``):
        another module passing them to a helper passes a constant."""
        analysis = self.context.get(SqlAnalysis)
        scopes, values = analysis.scopes, analysis.values
        module = scopes.module
        names = []
        for name, bindings in module.bindings.items():
            if len(bindings) != 1 or module.mutations.get(name):
                continue
            (binding,) = bindings
            if binding.kind != "assign" or binding.index is not None or binding.value is None:
                continue
            if isinstance(binding.value, (cst.SimpleString, cst.Integer, cst.Float, cst.ConcatenatedString)):
                site = Site(module, binding.point + 1, binding.blocks)
                if all_safe(values.value(binding.value, site)):
                    names.append(f"{self.context.module_name}.{name}")
        if names:
            self.context.add_fact(CONSTANTS_FACT, sorted(names))
        instances = {}
        for name, bindings in module.bindings.items():
            if len(bindings) != 1 or bindings[0].kind != "assign" or not isinstance(bindings[0].value, cst.Call):
                continue
            func = bindings[0].value.func
            if isinstance(func, cst.Name) and func.value in scopes.module_classes:
                cls = f"{self.context.module_name}.{func.value}"
            else:
                cls = self._instance_class(bindings[0])
            if cls:
                instances[f"{self.context.module_name}.{name}"] = cls
        if instances:
            self.context.add_fact(INSTANCES_FACT, instances)


def _in_project(qualified: str, module: str, top: str) -> bool:
    """A name imported from the project: its package's, or (a module at the top) not the stdlib's."""
    head = qualified.partition(".")[0]
    if not head or "." not in qualified:
        return False
    if "." in module:
        return head == top
    return head not in sys.stdlib_module_names


class _Resolution:
    """What the callers across the project pass for one slot's open parameters."""

    def __init__(self) -> None:
        self.unresolved = False
        self.endpoint = False
        # (caller's path, span of the argument, what it reads, its code, related locations)
        self.outside: list[tuple[str, Span, str, str, str, list[tuple[str, Span, str]]]] = []


@dataclasses.dataclass
class _Calls:
    """The project's calls of its own functions, by function, and its modules' constants."""

    sites: dict[str, list[tuple[str, dict[str, Any]]]]
    constants: set[str]
    validators: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)


def _call_index(modules: list[ModuleFacts]) -> _Calls:
    calls = _Calls({}, set())
    instances: dict[str, str] = {}
    reexports: dict[str, str] = {}
    for module in modules:
        for site in module.get(CALLS_FACT):
            calls.sites.setdefault(site["function"], []).append((module.path, site))
        for names in module.get(CONSTANTS_FACT):
            calls.constants.update(names)
        for found in module.get(INSTANCES_FACT):
            instances.update(found)
        for found in module.get(VALIDATORS_FACT):
            for kind, functions in found.items():
                calls.validators.setdefault(kind, {}).update(functions)
        for found in module.get(REEXPORTS_FACT):
            reexports.update(found)
    # ``from app.core.crud import get_wallet``, re-exported by the package from ``.wallets``: a call
    # of ``app.core.crud.get_wallet`` runs ``app.core.crud.wallets.get_wallet`` (a package may
    # re-export another package's names: followed a few times).
    for function, sites in list(calls.sites.items()):
        target = function
        for _ in range(3):
            receiver, _, method = target.rpartition(".")
            if target in reexports:
                target = reexports[target]
            elif receiver in reexports:
                target = f"{reexports[receiver]}.{method}"
            else:
                break
        if target != function:
            calls.sites.setdefault(target, []).extend(sites)
    # ``from app.db import db`` then ``db.fetch(...)``: a call of ``app.db.db.fetch`` runs the method
    # of the class ``db`` is an instance of.
    for function, sites in list(calls.sites.items()):
        receiver, _, method = function.rpartition(".")
        cls = instances.get(receiver)
        if cls is not None:
            calls.sites.setdefault(f"{cls}.{method}", []).extend(sites)
    return calls


def _resolve(
    param: dict[str, Any],
    helper_path: str,
    related: list[tuple[str, Span, str]],
    calls: _Calls,
    out: _Resolution,
    depth: int = 0,
) -> None:
    """Follows ``param`` to the calls of its function across the project (``depth`` calls up)."""
    sites = calls.sites.get(param["function"], [])
    if not sites and not param["called_here"]:
        out.unresolved = True  # called from nowhere: as a parameter of unknown origin
        return
    for path, site in sites:
        arguments = site["arguments"]
        passed = arguments.get(param["name"]) or arguments.get(str(param["index"]))
        if site["endpoint"]:
            out.endpoint = True
        if passed is None:
            if site["star"] or param["default"] != CONSTANT:
                out.unresolved = True
            continue
        kind = passed["class"]
        if kind == CONSTANT or (kind == IMPORTED and all(n in calls.constants for n in passed["names"])):
            continue
        if kind == OUTSIDE:
            helper = f"{param['function'].rpartition('.')[2]}()`'s `{param['name']}"
            out.outside.append((path, passed["span"], passed["what"], passed["code"], helper, list(related)))
        elif kind == PASSED_ON and depth < _MAX_DEPTH:
            for forwarded in passed["params"]:
                chain = [(path, passed["span"], _PASSED), *[(path, s, m) for s, m in forwarded["related"]], *related]
                _resolve(forwarded, path, chain, calls, out, depth + 1)
        else:
            out.unresolved = True


def _vets(vetter: dict[str, Any], calls: _Calls) -> bool:
    """The call ``vetter`` (``Guards.foreign_checks``) passes a name to a parameter its function
    checks (``checks_summary``: a validator's, or a predicate's when the call is tested)."""
    arguments = vetter["arguments"]
    for index, name, key in calls.validators.get(vetter["kind"], {}).get(vetter["function"], ()):
        passed = arguments.get(str(index)) or arguments.get(name) or {}
        if key is None:
            if "name" in passed:
                return True
            continue
        if isinstance(key, list):  # the key is another argument: a constant string there
            named = arguments.get(str(key[1])) or arguments.get(key[2]) or {}
            key = named.get("const")
        if key is not None and key in passed.get("entries", {}):
            return True
    return False


class _HelperSqlRule(ProjectRule):
    """The project part of a BL1xx rule: the SQL ``SqlHelperFacts`` deferred, judged with the callers."""

    def check(self, modules: list[ModuleFacts]) -> list[ProjectFinding]:
        key = (CALLS_FACT, tuple(m.path for m in modules))
        calls = self.project.cache.get(key)
        if calls is None:
            calls = self.project.cache[key] = _call_index(modules)
        kinds = {m.path: m.kind for m in modules}
        out: list[ProjectFinding] = []
        placed: set[tuple[str, int, int]] = set()
        for module in modules:
            for fact in module.get(HELPER_FACT):
                out += self._judge(module, fact, calls, kinds, placed)
        return out

    def _judge(
        self,
        module: ModuleFacts,
        fact: dict[str, Any],
        calls: _Calls,
        kinds: dict[str, str],
        placed: set[tuple[str, int, int]],
    ) -> list[ProjectFinding]:
        served = fact["served"]
        judged: list[tuple[dict[str, Any], bool, _Resolution]] = []
        for slot in fact["slots"]:
            if any(_vets(vetter, calls) for vetter in slot.get("vetters", ())):
                continue  # passed before to a validator of another module
            resolution = _Resolution()
            for param in slot["open"]:
                related = [(module.path, s, m) for s, m in param["related"]]
                _resolve(param, module.path, related, calls, resolution)
            unknown = slot["unknown"] or resolution.unresolved
            reported = slot_verdict(
                slot["position"],
                served and not slot.get("offline", False),
                slot["inputs"],
                unknown,
                slot["endpoint"] or resolution.endpoint,
            )
            judged.append((slot, reported, resolution))
        out = []
        here = [slot for slot, reported, _ in judged if reported]
        if here:
            chosen = next((s for s in here if s["position"] != IDENTIFIER), here[0])
            if chosen["rule"] == self.id and self._kept(chosen, kinds.get(module.path)):
                out.append(self._at_hole(module, fact, chosen))
        for slot, reported, resolution in judged:
            if reported or slot["position"] == PLACEHOLDER or slot["rule"] != self.id:
                continue
            sink = [(module.path, *fact["sink"])] if fact["sink"] else []
            tail = [(module.path, slot["hole"], "the argument is interpolated into SQL text here"), *sink]
            for chain in slot["chains"]:
                related = [(module.path, s, m) for s, m in chain["related"]]
                finding = self._finding(module.path, chain["span"], chain["message"], [*related, *tail], placed)
                if finding is not None and self._kept(slot, kinds.get(module.path)):
                    out.append(finding)
            for path, span, what, code, helper, related in resolution.outside:
                message = f"{what} (`{code}`) reaches SQL through `{helper}` parameter: {slot['message']}"
                finding = self._finding(path, span, message, [*related, *tail], placed)
                if finding is not None and self._kept(slot, kinds.get(path)):
                    out.append(finding)
        return out

    def _kept(self, slot: dict[str, Any], kind: str | None) -> bool:
        """SQL syntax (not a value) is judged in production code and scripts only (applies-to-facets)."""
        return slot["position"] in VALUE_SLOTS or kind in _SYNTAX_ROLES or self.id == SqlIdentifierWithoutAllowlist.id

    def _at_hole(self, module: ModuleFacts, fact: dict[str, Any], slot: dict[str, Any]) -> ProjectFinding:
        message, fix = slot["message"], None
        if self.id != SqlIdentifierWithoutAllowlist.id:
            fix = fact["fix"].resolve() if fact["fix"] is not None else None
            if slot["refusal"]:
                message += f" (no autofix: {slot['refusal']})"
        related = [RelatedLocation(module.path, s, m) for s, m in fact["related"]]
        return ProjectFinding(
            self.id, module.path, slot["hole"], message, None, related, fix, statement=slot.get("statement")
        )

    def _finding(
        self,
        path: str,
        span: Span,
        message: str,
        related: list[tuple[str, Span, str]],
        placed: set[tuple[str, int, int]],
    ) -> ProjectFinding | None:
        key = (path, span.line, span.column)
        if key in placed:
            return None
        placed.add(key)
        return ProjectFinding(self.id, path, span, message, None, [RelatedLocation(p, s, m) for p, s, m in related])


class SqlBuiltIntoDriverCallAcrossModules(_HelperSqlRule):
    id = SqlBuiltIntoDriverCall.id


class SqlBuiltIntoOrmRawApiAcrossModules(_HelperSqlRule):
    id = SqlBuiltIntoOrmRawApi.id


class SqlIdentifierWithoutAllowlistAcrossModules(_HelperSqlRule):
    id = SqlIdentifierWithoutAllowlist.id
