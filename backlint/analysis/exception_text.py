"""Whose text does an exception carry? The project's own exception classes and its message helpers.

An exception's message is a leak when a library, a driver or the runtime wrote it (driver errors
name tables and SQL, network errors name hosts). Two project facts say otherwise, across modules:

- a class defined in the project carries only text the project wrote when none of its constructions
  (``raise AppError(...)``, ``AppError(...)`` anywhere) passes a caught exception's text or a
  traceback — and the same holds for its project subclasses, which ``except AppError`` also catches;
- a helper such as ``error_message(err, fallback)`` that never returns the text of its exception
  parameter (``if isinstance(err, Exception): return fallback``) sanitises what it is given.

``ExceptionTexts`` records these facts per module (classes and their bases, carriers, helpers that
sanitise a parameter, class attributes naming a function); ``ExceptionTextIndex`` joins them in the
project pass. They are recorded in the modules whose function bodies are summarised
(``backlint/checks/endpoint_facts.py``): a class or helper defined elsewhere is not known, and its
exception text stays a leak; a construction given exception text in such a module is not seen.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import libcst as cst

from backlint.core.imports import dotted_name
from backlint.core.results import ModuleFacts
from backlint.core.rule import Analysis, FileContext
from backlint.pipeline.walk import children

CLASSES, CARRIERS, SANITIZERS, ALIASES = "exc.classes", "exc.carriers", "exc.sanitizers", "exc.aliases"

# Attributes of a caught exception that say what failed without saying how (not its text).
BENIGN_ATTRIBUTES = frozenset({"status_code", "status", "code", "__class__", "errno", "headers"})
# Calls that read an exception without passing its text on.
TEXT_FREE_CALLS = frozenset({"type", "isinstance", "len", "bool", "getattr", "hasattr", "id"})
TRACEBACK_TEXT = frozenset(
    {
        "traceback.format_exc", "traceback.format_exception", "traceback.format_exception_only",
        "traceback.format_tb", "traceback.format_stack", "sys.exc_info",
    }
)  # fmt: skip
_BROAD = frozenset({"Exception", "BaseException", "builtins.Exception", "builtins.BaseException"})


def mentions(
    value: cst.CSTNode, names: set[str] | frozenset[str], qualify: Callable[[cst.CSTNode], str | None] | None = None
) -> bool:
    """``value`` passes on the text of one of ``names`` (or a traceback, when ``qualify`` resolves calls)."""
    stack: list[cst.CSTNode] = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, (cst.Lambda, cst.FunctionDef)):
            continue
        if isinstance(node, cst.Call):
            head = dotted_name(node.func) or ""
            if head in TEXT_FREE_CALLS:
                continue
            if qualify is not None and (qualify(node.func) or "") in TRACEBACK_TEXT:
                return True
        if (
            isinstance(node, cst.Attribute)
            and isinstance(node.value, cst.Name)
            and node.attr.value in BENIGN_ATTRIBUTES
        ):
            continue
        if isinstance(node, cst.Name):
            if node.value in names:
                return True
            continue
        stack.extend(children(node))
    return False


@dataclasses.dataclass(frozen=True)
class Sanitizer:
    """A project function's parameter whose exception text never reaches the function's return value."""

    index: int | None  # position among the positional parameters (None: keyword-only)
    name: str


class ExceptionTexts(Analysis):
    """Per module: classes and their bases, classes and functions given exception text, sanitising helpers."""

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.module = context.module_name
        self.module_names: set[str] = set()
        self.functions: set[str] = set()  # module-level functions
        self.classes: dict[str, list[str]] = {}  # module-level class → base refs
        self.carriers: set[str] = set()  # refs called with a caught exception's text
        self.sanitizers: dict[str, list[Sanitizer]] = {}  # function ref → parameters it sanitises
        self.aliases: dict[str, str] = {}  # ``Class.attr`` (class attribute naming a function) → its ref
        self._nesting: list[str] = []  # enclosing classes and functions
        self._caught: list[set[str]] = [set()]  # per function: exception names and locals holding their text
        self._handlers = 0

    def ref(self, node: cst.CSTNode) -> str | None:
        """A Name/Attribute chain as a project-wide reference: module-level names get the module prefix."""
        name = dotted_name(node)
        if name is None:
            return None
        head, dot, rest = name.partition(".")
        if head in self.module_names:
            return f"{self.module}.{name}"
        target = self.context.imports.aliases.get(head)
        return f"{target}{dot}{rest}" if target is not None else name

    def facts(self) -> dict[str, list[Any]]:
        """The module's facts, as (key, value) pairs and refs: plain, picklable data."""
        out: dict[str, list[Any]] = {}
        for key, items in (
            (CLASSES, sorted(self.classes.items())),
            (CARRIERS, sorted(self.carriers)),
            (SANITIZERS, sorted(self.sanitizers.items())),
            (ALIASES, sorted(self.aliases.items())),
        ):
            if items:
                out[key] = list(items)
        return out

    def visit_Module(self, node: cst.Module) -> None:
        for statement in node.body:
            if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                self.module_names.add(statement.name.value)
            if isinstance(statement, cst.FunctionDef):
                self.functions.add(statement.name.value)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if not self._nesting:
            bases = [self.ref(arg.value) for arg in node.bases if arg.keyword is None]
            self.classes[node.name.value] = [b for b in bases if b]
            for statement in node.body.body if isinstance(node.body, cst.IndentedBlock) else ():
                if isinstance(statement, cst.SimpleStatementLine):
                    for small in statement.body:
                        self._class_attribute(node.name.value, small)
        self._nesting.append(node.name.value)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        self._nesting.pop()

    def _class_attribute(self, klass: str, small: cst.BaseSmallStatement) -> None:
        """``DEFAULT = _error_message`` in a module-level class (an enum of messages): the function it names."""
        if not (isinstance(small, cst.Assign) and len(small.targets) == 1):
            return
        target = small.targets[0].target
        if not isinstance(target, cst.Name):
            return
        if isinstance(small.value, cst.Name) and small.value.value in self.functions:
            self.aliases[f"{self.module}.{klass}.{target.value}"] = f"{self.module}.{small.value.value}"

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if not self._nesting:
            found = _function_sanitises(node)
            if found:
                self.sanitizers[f"{self.module}.{node.name.value}"] = found
        self._nesting.append(node.name.value)
        self._caught.append(set())

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._nesting.pop()
        self._caught.pop()

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        self._handlers += 1
        if node.name is not None and isinstance(node.name.name, cst.Name):
            self._caught[-1].add(node.name.name.value)

    def leave_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        self._handlers -= 1

    def visit_Assign(self, node: cst.Assign) -> None:
        caught = self._caught[-1]
        if self._handlers and caught and mentions(node.value, caught, self.context.qualified_name):
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    caught.add(target.target.value)

    def visit_Call(self, node: cst.Call) -> None:
        if not self._handlers:
            return
        ref = self.ref(node.func)
        if ref is None or ref in TEXT_FREE_CALLS:
            return
        caught = self._caught[-1]
        if any(mentions(arg.value, caught, self.context.qualified_name) for arg in node.args):
            self.carriers.add(ref)


def _function_sanitises(node: cst.FunctionDef) -> list[Sanitizer]:
    statements = _block(node.body)
    returns = list(_returns(statements, frozenset()))
    if not any(narrowed for _, narrowed in returns):
        return []  # without an ``isinstance(p, Exception)`` test, a parameter any return reads leaks
    params = node.params
    return _sanitised(
        [*params.posonly_params, *params.params],
        params.kwonly_params,
        [value for value, _ in returns],
        [a for s in statements for a in _assignments(s)],
        [narrowed for _, narrowed in returns],
    )


def _sanitised(
    positional: Sequence[cst.Param],
    keyword_only: Sequence[cst.Param],
    returns: Sequence[cst.CSTNode],
    assigns: Sequence[tuple[str, cst.BaseExpression]],
    narrowing: Sequence[frozenset[str]] = (),
) -> list[Sanitizer]:
    """The parameters read by the returned values whose exception text reaches none of them.

    ``narrowing[i]``: the parameters known not to be exceptions where ``returns[i]`` is returned."""
    params = [(i, p.name.value) for i, p in enumerate(positional)] + [(None, p.name.value) for p in keyword_only]
    out: list[Sanitizer] = []
    for index, name in params:
        derived = {name}
        for _ in range(2):  # locals built from the parameter, and from those
            for target, value in assigns:
                if mentions(value, derived):
                    derived.add(target)
        reads = [mentions(value, derived) for value in returns]
        narrowed = [i < len(narrowing) and name in narrowing[i] for i in range(len(returns))]
        if any(reads) and all(n for r, n in zip(reads, narrowed) if r):
            out.append(Sanitizer(index, name))
    return out


def _assignments(statement: cst.CSTNode) -> Iterator[tuple[str, cst.BaseExpression]]:
    stack = [statement]
    while stack:
        node = stack.pop()
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        if isinstance(node, cst.Assign):
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    yield target.target.value, node.value
        stack.extend(children(node))


def _returns(
    statements: Sequence[cst.CSTNode], narrowed: frozenset[str]
) -> Iterator[tuple[cst.CSTNode, frozenset[str]]]:
    """The returned values of a block, each with the parameters known there not to be exceptions: after
    ``if isinstance(err, Exception): return ...`` (and in its ``else``), ``err`` is not one."""
    current = narrowed
    for statement in statements:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Return) and small.value is not None:
                    yield small.value, current
        elif isinstance(statement, cst.If):
            guarded = _exception_test(statement.test)
            yield from _returns(_block(statement.body), current)
            if statement.orelse is not None:
                orelse = statement.orelse
                inner = [orelse] if isinstance(orelse, cst.If) else _block(orelse.body)
                yield from _returns(inner, current | guarded)
            if guarded and _leaves(statement.body):
                current = current | guarded
        elif isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            continue
        else:
            for child in children(statement):
                if isinstance(child, cst.BaseSuite):
                    yield from _returns(_block(child), current)
                elif isinstance(child, (cst.ExceptHandler, cst.Else, cst.Finally)):
                    yield from _returns(_block(child.body), current)


def _block(suite: cst.BaseSuite) -> Sequence[cst.CSTNode]:
    if isinstance(suite, cst.IndentedBlock):
        return suite.body
    if isinstance(suite, cst.SimpleStatementSuite):
        return [cst.SimpleStatementLine(body=suite.body)]
    return ()


def _leaves(suite: cst.BaseSuite) -> bool:
    """The block always returns or raises."""
    statements = _block(suite)
    if not statements:
        return False
    last = statements[-1]
    if isinstance(last, cst.SimpleStatementLine):
        return isinstance(last.body[-1], (cst.Return, cst.Raise))
    if isinstance(last, cst.If) and last.orelse is not None:
        orelse = last.orelse
        return _leaves(last.body) and (
            _leaves(orelse.body) if isinstance(orelse, cst.Else) else _leaves(cst.IndentedBlock(body=[orelse]))
        )
    return False


def _exception_test(test: cst.BaseExpression) -> frozenset[str]:
    """``isinstance(err, Exception)`` (or ``BaseException``): the name tested."""
    if not (isinstance(test, cst.Call) and dotted_name(test.func) == "isinstance" and len(test.args) == 2):
        return frozenset()
    subject, classes = test.args[0].value, test.args[1].value
    if not isinstance(subject, cst.Name):
        return frozenset()
    names = [e.value for e in classes.elements] if isinstance(classes, cst.Tuple) else [classes]
    if any((dotted_name(n) or "") in _BROAD for n in names):
        return frozenset({subject.value})
    return frozenset()


class ExceptionTextIndex:
    """The project's exception classes and sanitising helpers, joined across modules.

    A module's name depends on where the project root is (``errors`` or ``app.errors``) while imports
    are written from the package (``app.errors.AppError``): a reference finds an entry named by it or
    by a dotted suffix of it, or naming it by a suffix — when exactly one does."""

    def __init__(self, modules: Sequence[ModuleFacts]) -> None:
        self.bases: dict[str, list[str]] = {}
        self.carriers: set[str] = set()
        self.sanitizers: dict[str, list[Sanitizer]] = {}
        self.aliases: dict[str, str] = {}
        for facts in modules:
            for name, bases in facts.get(CLASSES):
                self.bases[f"{facts.module}.{name}" if facts.module else name] = list(bases)
            self.carriers.update(facts.get(CARRIERS))
            self.sanitizers.update(facts.get(SANITIZERS))
            self.aliases.update(facts.get(ALIASES))
        self._lasts: dict[int, dict[str, list[str]]] = {}
        self._carrier_lasts = {ref.rpartition(".")[2] for ref in self.carriers}
        self._subclasses: dict[str, list[str]] = {}
        for ref, bases in self.bases.items():
            for base in bases:
                found = self._find(self.bases, base)
                if found is not None:
                    self._subclasses.setdefault(found, []).append(ref)

    def _find(self, table: dict[str, Any], ref: str) -> str | None:
        """The key of ``table`` that ``ref`` names (see the class docstring)."""
        if ref in table:
            return ref
        lasts = self._lasts.get(id(table))
        if lasts is None:
            lasts = self._lasts[id(table)] = {}
            for key in table:
                lasts.setdefault(key.rpartition(".")[2], []).append(key)
        same = [k for k in lasts.get(ref.rpartition(".")[2], ()) if k.endswith("." + ref) or ref.endswith("." + k)]
        return same[0] if len(same) == 1 else None

    def own_text(self, ref: str) -> bool:
        """``ref`` is a project exception class whose instances, and its subclasses', carry only text the
        project wrote: no construction passes a caught exception's text."""
        found = self._find(self.bases, ref)
        if found is None:
            return False
        seen: set[str] = set()
        todo = [found]
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            if current.rpartition(".")[2] in self._carrier_lasts:
                return False  # given exception text somewhere (matched by name: re-exports, to be safe)
            todo.extend(self._subclasses.get(current, ()))
        return True

    def sanitizes(self, ref: str, index: int | None, keyword: str | None) -> bool:
        """The project function ``ref`` never returns the exception text passed at ``index``/``keyword``."""
        for _ in range(4):
            alias = self._find(self.aliases, ref)
            if alias is None:
                break
            ref = self.aliases[alias]
        found = self._find(self.sanitizers, ref)
        if found is None:
            return False
        return any(
            (keyword is not None and p.name == keyword) or (index is not None and p.index == index)
            for p in self.sanitizers[found]
        )


def exception_text_index(modules: Sequence[ModuleFacts], project: Any) -> ExceptionTextIndex:
    """The index for this run, built once and shared by the rules that ask."""
    key = ("exception-text-index", id(modules))
    index = project.cache.get(key)
    if index is None:
        index = project.cache[key] = ExceptionTextIndex(modules)
    return index  # type: ignore[no-any-return]
