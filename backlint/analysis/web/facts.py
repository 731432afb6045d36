"""Framework facts: what one module holds — apps, routers, routes, hooks, data stores, per-function
summaries — as plain picklable data recorded by the walk (``backlint/analysis/web/framework_file.py``)
and joined across modules by ``ProjectModel`` (``backlint/analysis/web/model.py``).

References between facts are dotted strings: ``pkg.db.engine`` for a module-level name,
``pkg.main.create_app:app`` for a name local to a function, ``pkg.main#3`` for an object that is
never bound to a name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from backlint.core.results import Span

if TYPE_CHECKING:
    from backlint.analysis.lazy import LazyFix

# A constant or a reference, as written in a call: ("str", "/health"), ("int", 503),
# ("const", True), ("ref", "pkg.db.engine"), ("list", [...]), ("dict", [(key, value), ...]),
# ("call", "fastapi.Depends", [args], {kwargs}), or ("?",) for anything else.
Value = tuple[Any, ...]
# Where a value comes from, for receivers of data-store calls: ("handle", kind) a known handle,
# ("ref", ref) a module-level name, ("call", ref) the result of calling ref, ("manager", kind, ref)
# a query manager of a model class, ("instance", ref) an instance of class ref.
Origin = tuple[str, ...]
UNKNOWN: Value = ("?",)

OBJECTS, OBJECT_CALLS, ASSIGNS, STORES = "fw.objects", "fw.object-calls", "fw.assigns", "fw.stores"
FUNCTIONS, CLASSES, BINDINGS, IMPORTS, ENVIRON = "fw.functions", "fw.classes", "fw.bindings", "fw.imports", "fw.environ"
ALIASES = "fw.aliases"  # the module's import table: local name → qualified name
STARS = "fw.stars"  # modules imported with ``from x import *``
# Module-level instances of project classes (``router = APIRouter(prefix="/api")`` with the project's own
# ``class APIRouter(fastapi.APIRouter)`` in another module), as ObjectFacts whose ctor is the class: an app
# or router when the class derives from one (backlint/analysis/web/routing.py).
INSTANCES = "fw.instances"
# ``app.debug = True``: assignments to an attribute the catalog names as a debug switch (table framework-debug).
OBJECT_ATTRS = "fw.object-attrs"
MODULE_SCOPE = "<module>"


@dataclasses.dataclass
class ObjectFact:
    """An application, router or route table constructed in the code."""

    ref: str
    ctor: str
    args: list[Value]
    kwargs: dict[str, Value]
    span: Span
    function: str | None  # qualified name of the enclosing function, None at module level
    bound: bool  # assigned to a name (or returned); False for one nested in another call
    main_guard: bool = False  # built under ``if __name__ == "__main__":`` (a script's or try-out app)
    debug_only: bool = False  # built in a branch taken only in debug mode (``if settings.DEBUG:``)


@dataclasses.dataclass
class ObjectAttrFact:
    """``<owner>.<attr> = <value>`` for an attribute the catalog names as a debug switch (``app.debug = True``)."""

    owner: str
    attr: str
    value: Value
    function: str | None
    span: Span
    debug_only: bool = False  # assigned in a branch taken only in debug mode


@dataclasses.dataclass
class ObjectCallFact:
    """``<owner>.<attr>(...)``: a registration, include or hook call on a possible app or router."""

    owner: str
    attr: str
    args: list[Value]
    kwargs: dict[str, Value]
    function: str | None
    span: Span


@dataclasses.dataclass
class AssignFact:
    """A module-level assignment the model reads: settings, URLconf lists, route lists."""

    ref: str
    value: Value
    span: Span
    augmented: bool = False


@dataclasses.dataclass
class StoreFact:
    """A data-store client created in the code (an engine, pool, client)."""

    ctor: str
    kind: str
    ref: str | None
    span: Span
    function: str | None


@dataclasses.dataclass
class Guard:
    """An ``except`` for broad or data-store errors around calls of a function."""

    span: Span | None
    reraises: bool  # raises, exits or aborts in the handler
    answer: str | None  # "ok": returns a 2xx answer; "error": a non-2xx or unknown one; None: no return
    returns_value: bool  # returns something the caller can test (``return False``)
    exits_later: bool  # a raise or exit follows the ``try`` (after a retry loop, a flag check)
    caught: list[str] | None  # qualified names caught; None for a bare ``except:``
    wraps: list[str]  # names called in the ``try`` body (``call_next``, ``handler``)
    # BL605: the handler's one 2xx answer with status 503, by framework ("" for any); empty if not fixable.
    fixes: dict[str, LazyFix] = dataclasses.field(default_factory=dict)
    # The handler leaves the app without the store by design: the ``try`` returns the client and the
    # handler ``return None`` (a client-or-None getter), or it sets a client or flag to None/False.
    degrades: bool = False

    @property
    def swallows(self) -> bool:
        return not self.reraises and not self.exits_later and self.answer != "error"


@dataclasses.dataclass
class CallSite:
    target: str
    guard: int | None = None
    after_yield: bool = False
    result_used: bool = False
    main_guard: bool = False  # under ``if __name__ == "__main__":``
    span: Span | None = None  # located only in functions that may be endpoints (BL401 points at it)
    args: list[str | None] | None = None  # references passed positionally (``register_routes(app)``)
    kwargs: dict[str, str] | None = None
    via_attribute: bool = False  # ``self.configure(app)``: the callee's first parameter is the receiver
    spawned: bool = False  # the argument of a task spawner (``asyncio.create_task(self._loop())``, table task-spawners)


@dataclasses.dataclass
class IoSite:
    """A call that may talk to a data store; ``origin`` is set while the receiver is unresolved."""

    method: str
    kind: str | None
    effect: str | None  # "io" | "connect" once resolved
    origin: Origin | None = None
    confirmed: bool = True  # False: a probe-named method on a receiver nobody knows
    guard: int | None = None
    after_yield: bool = False
    main_guard: bool = False
    span: Span | None = None  # located only in functions that may be endpoints (BL401 points at it)
    spawned: bool = False  # started as background work (table task-spawners): not part of the calling path


@dataclasses.dataclass
class FunctionFacts:
    """A function (or a module's top level, ``<module>``) summarised for the project pass."""

    qualname: str
    name: str
    cls: str | None
    span: Span | None
    params: list[str]
    decorators: list[Value]
    is_async: bool
    is_generator: bool = False
    calls: list[CallSite] = dataclasses.field(default_factory=list)
    io: list[IoSite] = dataclasses.field(default_factory=list)
    guards: list[Guard] = dataclasses.field(default_factory=list)
    returns: list[Origin] = dataclasses.field(default_factory=list)
    returned_refs: list[str] = dataclasses.field(default_factory=list)
    answers_error: bool = False  # some path answers a non-2xx status, raises or aborts
    probe_names: list[str] = dataclasses.field(default_factory=list)  # unresolved probe-like calls


@dataclasses.dataclass
class ClassFacts:
    qualname: str
    bases: list[str]
    methods: list[str]
    decorators: list[Value]
    span: Span | None
    attrs: dict[str, Value] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class BindingFact:
    """A module-level name whose value is (or derives from) a data-store handle."""

    ref: str
    origin: Origin


def value_str(value: Value | None) -> str | None:
    return value[1] if value is not None and value[0] == "str" else None


def value_items(value: Value | None) -> list[Value]:
    if value is None:
        return []
    if value[0] == "list":
        return list(value[1])
    return [value]


def value_strings(value: Value) -> Iterator[str]:
    """Every string constant inside a value (list items, dict keys and values, call arguments)."""
    if value[0] == "str":
        yield value[1]
    elif value[0] == "list":
        for item in value[1]:
            yield from value_strings(item)
    elif value[0] == "dict":
        for key, item in value[1]:
            yield from value_strings(key)
            yield from value_strings(item)
    elif value[0] == "call":
        for item in value[2]:
            yield from value_strings(item)
        for item in value[3].values():
            yield from value_strings(item)
