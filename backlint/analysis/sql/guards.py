"""Allowlist guards: checks that vet a name before it joins SQL text, recorded as the walk passes.

``if x not in ALLOWED: raise`` (or ``return``, ``abort()``; or a body re-assigning ``x``) and
``assert x in ALLOWED`` guard the rest of the block (kind "after"); ``if x in ALLOWED:`` guards its
body (kind "inside"). ``ALLOWED`` may be any collection outside input does not fill: constants, or
an existence lookup (``if table not in inspector.get_table_names(): raise``). A vetting call
(``re.fullmatch(pattern, x)``, ``x.isidentifier()``: the ``guard-call``/``guard-method`` rows of
sql-safe-values) counts as a check whatever the pattern, and so does a query for the value
(``if not Table.objects.filter(name=x).exists(): raise``, ``session.query(M).filter_by(key=x).first()``).

A call of a *validator* of the module (a function, or a method through ``self``/an instance) as a
statement guards the names it is passed for the rest of the block: a validator raises unless its
parameter passes such a check, made at its top level before any ``return`` (lnbits'
``_require_identifier({"table": table}, "table")``, which checks ``data.get(key)`` against an
identifier regex). Validators may call validators. A *predicate* of the module (every return that
does not answer False/None is such a check of its parameter: ``return bool(IDENTIFIER.fullmatch(name))``)
tested in an ``if``/``assert`` counts as the check it returns. Calls of other modules' functions that
may be validators or predicates are listed (``foreign_checks``) for the project pass, which knows them
(backlint/checks/sql_project.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any, Callable

import libcst as cst

from backlint.analysis.origins import Origins
from backlint.analysis.scopes import FUNCTION, Binding, Scope, Scopes, Site, within
from backlint.analysis.sql.tables import SqlKnowledge
from backlint.analysis.sql.templates import string_value
from backlint.core.imports import dotted_name

_TERMINATORS = (cst.Raise, cst.Return, cst.Continue, cst.Break)
_EXISTENCE = frozenset({"exists", "first", "one", "one_or_none", "scalar", "count", "get"})
_QUERIES = frozenset({"filter", "filter_by", "where", "get", "exclude"})
# A raw query for one row whose SQL text comes first and the bound values after (``_found_rows``).
_FETCH_ONE = frozenset({"fetchone", "fetchrow", "fetchval", "fetch_one", "fetch_val", "execute_fetchone"})


@dataclasses.dataclass(eq=False)
class Guard:
    """``if x not in ALLOWED: raise`` (kind "after") or ``if x in ALLOWED:`` (kind "inside")."""

    name: str
    kind: str
    point: int
    blocks: tuple[int, ...]
    body: int  # id of the guarded body block (kind "inside")
    collection: cst.BaseExpression | None  # None: a vetting call (re.fullmatch, str.isidentifier)
    predicate: cst.Call | None = None  # a call of the module's own, judged when asked (is_identifier(x))


@dataclasses.dataclass(eq=False)
class CallCheck:
    """A call made as a statement (``require_identifier(table)``): a guard if it calls a validator."""

    call: cst.Call
    site: Site


# What a validator checks: a parameter, or an entry of a dict parameter (``data.get(key)``), keyed
# by a constant or by another parameter.
Checked = tuple[Binding, str | Binding | None]
Allowlist = Callable[[cst.BaseExpression, Site], bool]


class Guards:
    """The guards of a file by scope; ``record_*`` is called by the walk, ``guarded`` when judging."""

    def __init__(self, scopes: Scopes, kb: SqlKnowledge) -> None:
        self.scopes = scopes
        self.kb = kb
        self.by_scope: dict[Scope, dict[str, list[Guard]]] = {}
        self.calls: dict[Scope, list[CallCheck]] = {}
        self._checked: dict[Scope, list[Checked]] = {}
        self._vetted: dict[int, frozenset[str]] = {}
        self._tested: dict[tuple[Scope, str], list[Checked]] = {}

    def record_call(self, node: cst.Expr) -> None:
        value = node.value
        if isinstance(value, cst.Await):
            value = value.expression
        if isinstance(value, cst.Call) and value.args and isinstance(value.func, (cst.Name, cst.Attribute)):
            site = self.scopes.here()
            self.calls.setdefault(site.scope.frame, []).append(CallCheck(value, site))

    def record_if(self, node: cst.If) -> None:
        tests = membership_tests(node.test, self.kb) or self._found_rows(node.test)
        if not tests:
            return
        body, orelse = node.body, node.orelse
        body_ends = terminates(body) or reassigns(body, {n for n, _, _ in tests})
        else_ends = isinstance(orelse, cst.Else) and terminates(orelse.body)
        for name, collection, positive in tests:
            if positive:
                self._add(name, "inside", collection, id(body))
                if else_ends:
                    self._add(name, "after", collection)
            elif body_ends:
                self._add(name, "after", collection)

    def _found_rows(self, test: cst.BaseExpression) -> list[tuple[str, Test, bool]]:
        """``row = await db.fetchone("SELECT … WHERE db = :id", {"id": ext_id})`` then ``if not row:
        raise``: the names the row was looked up by are found in the app's own table (lnbits'
        drop_extension_db)."""
        negated = False
        while isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            negated, test = not negated, test.expression
        if not isinstance(test, cst.Name):
            return []
        bindings = self.scopes.current.frame.bindings.get(test.value, [])
        value = bindings[-1].value if bindings and bindings[-1].kind == "assign" else None
        if isinstance(value, cst.Await):
            value = value.expression
        if not isinstance(value, cst.Call) or not isinstance(value.func, cst.Attribute):
            return []
        if value.func.attr.value not in _FETCH_ONE or not value.args:
            return []
        names: list[str] = []
        for arg in value.args[1:]:
            parts: list[cst.BaseExpression] = [arg.value]
            if isinstance(arg.value, cst.Dict):
                parts = [e.value for e in arg.value.elements if isinstance(e, cst.DictElement)]
            elif isinstance(arg.value, (cst.Tuple, cst.List)):
                parts = [e.value for e in arg.value.elements]
            names += [p.value for p in parts if isinstance(p, cst.Name)]
        return [(name, None, not negated) for name in names]

    def record_assert(self, node: cst.Assert) -> None:
        for name, collection, positive in membership_tests(node.test, self.kb):
            if positive:
                self._add(name, "after", collection)

    def _add(self, name: str, kind: str, collection: Test, body: int = 0) -> None:
        scopes = self.scopes
        predicate = collection.call if isinstance(collection, Predicate) else None
        checked = None if isinstance(collection, Predicate) else collection
        guard = Guard(name, kind, scopes.next_point(), scopes.blocks(), body, checked, predicate)
        self.by_scope.setdefault(scopes.current.frame, {}).setdefault(name, []).append(guard)

    def _holds(self, guard: Guard, scope: Scope, site: Site, allowlist: Allowlist, depth: int) -> bool:
        """The check ``guard`` records vets its name: a vetting call, an allowlist, or a predicate of
        the module that returns such a check of the parameter it is passed."""
        if guard.predicate is not None:
            at = Site(scope, guard.point, guard.blocks)
            return guard.name in self._vetted_by(CallCheck(guard.predicate, at), allowlist, depth, predicate=True)
        return guard.collection is None or allowlist(guard.collection, site)

    def covers(self, name: str, site: Site, allowlist: Allowlist) -> bool:
        """``guarded``, for a name the folder may have bound itself (``site.env``): a helper's
        parameter is vetted by the helper's own checks whatever its caller passes; a
        comprehension's variable is not the name checked before."""
        bound = site.env is not None and name in site.env
        if bound and not any(b.kind == "param" for b in site.scope.frame.bindings.get(name, ())):
            return False
        return self.any_in(site.scope) and self.guarded(name, site, allowlist)

    def any_in(self, scope: Scope) -> bool:
        return scope.frame in self.by_scope or scope.frame in self.calls

    def guarded(self, name: str, site: Site, allowlist: Allowlist) -> bool:
        """A guard of ``name`` covers ``site`` (and its collection, if any, is an ``allowlist``), or
        a validator was called on it before (in a block enclosing ``site``)."""
        for guard in self.by_scope.get(site.scope.frame, {}).get(name, ()):
            if guard.kind == "inside":
                applies = guard.body in site.blocks
            else:
                applies = guard.point < site.point and within(site.blocks, guard.blocks)
            if applies and self._holds(guard, site.scope.frame, site, allowlist, 0):
                return True
        for check in self.calls.get(site.scope.frame, ()):
            applies = check.site.point < site.point and within(site.blocks, check.site.blocks)
            if applies and name in self._vetted_by(check, allowlist, 0):
                return True
        return False

    def foreign_checks(self, names: frozenset[str], site: Site, qualify: Callable[[cst.CSTNode], str]) -> list[Any]:
        """Calls before ``site`` (in a block enclosing it) of functions this module does not define
        (``qualify``: their qualified name, "" when not the project's), as a statement or tested
        in an ``if``/``assert``, passing one of ``names``: each may be a validator or a predicate of
        another module (the project pass knows). A list of ``{"function", "kind", "arguments"}``."""
        frame = site.scope.frame
        found: list[tuple[cst.Call, Site, str]] = []
        for check in self.calls.get(frame, ()):
            if check.site.point < site.point and within(site.blocks, check.site.blocks):
                found.append((check.call, check.site, "validator"))
        for name in names:
            for guard in self.by_scope.get(frame, {}).get(name, ()):
                if guard.predicate is None:
                    continue
                if guard.kind == "inside":
                    applies = guard.body in site.blocks
                else:
                    applies = guard.point < site.point and within(site.blocks, guard.blocks)
                if applies:
                    found.append((guard.predicate, Site(frame, guard.point, guard.blocks), "predicate"))
        out = []
        for call, at, kind in found:
            if self.scopes.function(call.func, at) is not None:
                continue  # the module's own: judged here
            function = qualify(call.func)
            arguments = _passed_names(call, names) if function else {}
            if arguments:
                out.append({"function": function, "kind": kind, "arguments": arguments})
        return out

    def _vetted_by(self, check: CallCheck, allowlist: Allowlist, depth: int, predicate: bool = False) -> frozenset[str]:
        """The names of the caller that a validator call (or a ``predicate`` call, tested) vets."""
        key = id(check.call)
        found = self._vetted.get(key)
        if found is not None:
            return found
        self._vetted[key] = frozenset()  # a recursive validator vets nothing through itself
        names: set[str] = set()
        function = self.scopes.function(check.call.func, check.site) if depth < 4 else None
        if function is not None:
            summary = self.tested if predicate else self.checked
            for param, key_of in summary(function, allowlist, depth + 1):
                argument = Origins.argument(check.call, param)
                if key_of is None:
                    if isinstance(argument, cst.Name):
                        names.add(argument.value)
                    continue
                if isinstance(key_of, Binding):
                    passed = Origins.argument(check.call, key_of)
                    key_text = string_value(passed) if passed is not None else None
                else:
                    key_text = key_of
                if isinstance(argument, cst.Dict) and key_text is not None:
                    for element in argument.elements:
                        if (
                            isinstance(element, cst.DictElement)
                            and string_value(element.key) == key_text
                            and isinstance(element.value, cst.Name)
                        ):
                            names.add(element.value.value)
        found = self._vetted[key] = frozenset(names)
        return found

    def tested(self, function: Scope, allowlist: Allowlist, depth: int = 0) -> list[Checked]:
        """What a predicate ``function`` checks: the parameters every ``return`` not answering a
        constant False/None tests (``return bool(IDENTIFIER.fullmatch(name))``, ``return name in
        ALLOWED``); none if a return answers True without a check."""
        key = (function, "tested")
        found = self._tested.get(key)
        if found is not None:
            return found
        self._tested[key] = []
        common: dict[str, int] | None = None
        for expr, site in function.returns:
            if isinstance(expr, cst.Name) and expr.value in ("False", "None"):
                continue
            names: dict[str, int] = {}
            for name, collection, positive in membership_tests(_unwrapped(expr), self.kb):
                if not positive or isinstance(collection, Predicate):
                    continue
                if collection is None or allowlist(collection, site):
                    names[name] = site.point
            common = names if common is None else {n: p for n, p in common.items() if n in names}
        out: list[Checked] = []
        for name, point in (common or {}).items():
            checked = _checked_param(function, name, point)
            if checked is not None:
                out.append(checked)
        self._tested[key] = out
        return out

    def checked(self, function: Scope, allowlist: Allowlist, depth: int = 0) -> list[Checked]:
        """What ``function`` checks before it returns, raising otherwise: the parameters (or dict
        parameters' entries) that pass a guard at its top level, before any ``return``."""
        found = self._checked.get(function)
        if found is not None:
            return found
        self._checked[function] = []
        node = function.node
        if function.kind != FUNCTION or not isinstance(node, cst.FunctionDef):
            return []
        top = (id(node.body),)
        first_return = min((site.point for _, site in function.returns), default=None)
        guarded: dict[str, int] = {}  # name -> point of its check
        for name, guards in self.by_scope.get(function, {}).items():
            for guard in guards:
                if guard.kind != "after" or guard.blocks != top:
                    continue
                at = Site(function, guard.point, guard.blocks)
                if not self._holds(guard, function, at, allowlist, depth):
                    continue
                guarded[name] = min(guard.point, guarded.get(name, guard.point))
        for check in self.calls.get(function, ()):
            if check.site.blocks == top:
                for name in self._vetted_by(check, allowlist, depth):
                    guarded[name] = min(check.site.point, guarded.get(name, check.site.point))
        out: list[Checked] = []
        for name, point in guarded.items():
            if first_return is not None and first_return < point:
                continue  # a path returns before the check
            checked = _checked_param(function, name, point)
            if checked is not None:
                out.append(checked)
        self._checked[function] = out
        return out


def terminates(body: cst.BaseSuite) -> bool:
    statements: list[cst.CSTNode] = []
    if isinstance(body, cst.SimpleStatementSuite):
        statements = list(body.body)
    else:
        for line in body.body:
            statements.extend(line.body if isinstance(line, cst.SimpleStatementLine) else [line])
    for statement in statements:
        if isinstance(statement, _TERMINATORS):
            return True
        if isinstance(statement, cst.Expr) and isinstance(statement.value, cst.Call):
            name = dotted_name(statement.value.func) or ""
            if name.rpartition(".")[2] in ("abort", "fail", "exit", "error") or name.startswith("sys.exit"):
                return True
    return False


def reassigns(body: cst.BaseSuite, names: set[str]) -> bool:
    if isinstance(body, cst.SimpleStatementSuite):
        lines: Iterable[Any] = [body]
    else:
        lines = [line for line in body.body if isinstance(line, cst.SimpleStatementLine)]
    for line in lines:
        for statement in line.body:
            if isinstance(statement, cst.Assign) and any(
                isinstance(t.target, cst.Name) and t.target.value in names for t in statement.targets
            ):
                return True
    return False


@dataclasses.dataclass(frozen=True, eq=False)
class Predicate:
    """A call of a function that may be the module's own predicate (``is_identifier(x)``)."""

    call: cst.Call


Test = cst.BaseExpression | Predicate | None


def _unwrapped(expr: cst.BaseExpression) -> cst.BaseExpression:
    """``bool(check)`` and ``check is not None`` are the check."""
    if isinstance(expr, cst.Call) and dotted_name(expr.func) == "bool" and len(expr.args) == 1:
        return _unwrapped(expr.args[0].value)
    if isinstance(expr, cst.Comparison) and len(expr.comparisons) == 1:
        target = expr.comparisons[0]
        none = isinstance(target.comparator, cst.Name) and target.comparator.value == "None"
        if isinstance(target.operator, cst.IsNot) and none:
            return _unwrapped(expr.left)
    return expr


def membership_tests(test: cst.BaseExpression, kb: SqlKnowledge) -> list[tuple[str, Test, bool]]:
    """(name, allowlist, None for a vetting call or a ``Predicate``, positive?) for each check in an
    ``if``/``assert`` test."""
    if isinstance(test, cst.BooleanOperation):
        return membership_tests(test.left, kb) + membership_tests(test.right, kb)
    negated = False
    while isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        negated = not negated
        test = test.expression
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1 and isinstance(test.left, cst.Name):
        target = test.comparisons[0]
        if isinstance(target.operator, cst.In):
            return [(test.left.value, target.comparator, not negated)]
        if isinstance(target.operator, cst.NotIn):
            return [(test.left.value, target.comparator, negated)]
        return []
    if isinstance(test, cst.Call):
        looked_up = _looked_up(test)
        if looked_up:
            return [(n, None, not negated) for n in looked_up]
        func = test.func
        name = dotted_name(func) or ""
        if name in kb.names("guard-call") and len(test.args) >= 2 and isinstance(test.args[1].value, cst.Name):
            return [(test.args[1].value.value, None, not negated)]
        if isinstance(func, cst.Attribute) and func.attr.value in kb.names("guard-method"):
            if isinstance(func.value, cst.Name) and not test.args:
                return [(func.value.value, None, not negated)]
            if test.args and isinstance(test.args[0].value, cst.Name) and func.attr.value in ("match", "fullmatch"):
                return [(test.args[0].value.value, None, not negated)]
        if isinstance(func, cst.Name) or (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name)):
            predicate = Predicate(test)
            return [(a.value.value, predicate, not negated) for a in test.args if isinstance(a.value, cst.Name)]
    return []


def _looked_up(test: cst.Call) -> list[str]:
    """Names a query looks up when ``test`` asks whether it found anything:
    ``M.objects.filter(name=x).exists()``, ``session.query(M).filter_by(key=x).first()``."""
    if not isinstance(test.func, cst.Attribute) or test.func.attr.value not in _EXISTENCE:
        return []
    names: list[str] = []
    queried = False
    node: cst.BaseExpression = test.func.value
    while isinstance(node, (cst.Call, cst.Attribute)):
        if isinstance(node, cst.Call):
            if isinstance(node.func, cst.Attribute) and node.func.attr.value in _QUERIES:
                queried = True
                names += [a.value.value for a in node.args if isinstance(a.value, cst.Name)]
            node = node.func
        else:
            node = node.value
    return names if queried else []


def _checked_param(function: Scope, name: str, point: int) -> Checked | None:
    """The parameter ``name`` stands for where it is checked: itself, or ``param.get(key)`` /
    ``param[key]`` bound to it once before."""
    bindings = [b for b in function.bindings.get(name, ()) if b.point < point]
    if len(bindings) != 1:
        return None
    binding = bindings[0]
    if binding.kind == "param":
        return (binding, None) if binding in function.params else None
    value = binding.value
    if binding.kind != "assign" or binding.index is not None or value is None:
        return None
    container: cst.BaseExpression | None = None
    key: cst.BaseExpression | None = None
    if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value == "get":
        if value.args and not value.args[0].star:
            container, key = value.func.value, value.args[0].value
    elif isinstance(value, cst.Subscript) and len(value.slice) == 1 and isinstance(value.slice[0].slice, cst.Index):
        container, key = value.value, value.slice[0].slice.value
    if not isinstance(container, cst.Name) or key is None:
        return None
    params = {p.target.value: p for p in function.params if isinstance(p.target, cst.Name)}
    param = params.get(container.value)
    if param is None or len(function.bindings.get(container.value, ())) != 1:
        return None
    text = string_value(key)
    if text is not None:
        return (param, text)
    if isinstance(key, cst.Name) and key.value in params and len(function.bindings.get(key.value, ())) == 1:
        return (param, params[key.value])
    return None


def _passed_names(call: cst.Call, names: frozenset[str]) -> dict[str, Any]:
    """What ``call`` passes by position (``"0"``) or keyword: one of ``names``, a dict literal's
    string-keyed entries that are among them, or a constant string (a key another argument names)."""
    out: dict[str, Any] = {}
    position = 0
    named = False
    for arg in call.args:
        if arg.star:
            break
        where = arg.keyword.value if arg.keyword is not None else str(position)
        position += arg.keyword is None
        value = arg.value
        if isinstance(value, cst.Name) and value.value in names:
            out[where] = {"name": value.value}
            named = True
        elif isinstance(value, cst.Dict):
            entries = {}
            for element in value.elements:
                if isinstance(element, cst.DictElement) and isinstance(element.value, cst.Name):
                    key = string_value(element.key)
                    if key is not None and element.value.value in names:
                        entries[key] = element.value.value
            if entries:
                out[where] = {"entries": entries}
                named = True
        elif (text := string_value(value)) is not None:
            out[where] = {"const": text}
    return out if named else {}


def checks_summary(checked: list[Checked], function: Scope) -> list[Any]:
    """``Guards.checked``/``tested`` of a function as facts: ``[index, name, key]`` where key is None,
    a constant string, or ``["param", index, name]`` (the parameters counted without ``self``)."""
    params = function.params[1:] if function.self_name is not None else function.params
    out: list[Any] = []
    for param, key in checked:
        if param not in params or not isinstance(param.target, cst.Name):
            continue
        where = [params.index(param), param.target.value]
        if isinstance(key, Binding):
            if key in params and isinstance(key.target, cst.Name):
                out.append([*where, ["param", params.index(key), key.target.value]])
        else:
            out.append([*where, key])
    return out
