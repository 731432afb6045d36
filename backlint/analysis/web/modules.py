"""The project's modules as the web model sees them: each module's facts indexed by local name, and
dotted references resolved to the module (the closest file on disk) and the entry they name,
following re-exports through imports and ``from x import *``."""

from __future__ import annotations

import ast
import dataclasses
import os
import posixpath
import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from backlint.analysis.web.facts import (
    ALIASES,
    ASSIGNS,
    BINDINGS,
    CLASSES,
    FUNCTIONS,
    INSTANCES,
    OBJECTS,
    STARS,
    AssignFact,
    BindingFact,
    ClassFacts,
    FunctionFacts,
    ObjectFact,
    Origin,
)
from backlint.core.catalog import Knowledge
from backlint.core.results import ModuleFacts, RelatedLocation, Span
from backlint.pipeline import projectfiles

_LOCAL_SPLIT = re.compile(r"[:#]")


@dataclasses.dataclass
class Module:
    """One module's facts, indexed for lookups by local name."""

    facts: ModuleFacts
    stem: str  # path without ``.py`` and ``/__init__``, POSIX
    objects: dict[str, ObjectFact]
    functions: dict[str, FunctionFacts]
    classes: dict[str, ClassFacts]
    bindings: dict[str, Origin]
    assigns: dict[str, list[AssignFact]]
    aliases: dict[str, str]
    stars: list[str] = dataclasses.field(default_factory=list)  # modules star-imported here
    instances: dict[str, ObjectFact] = dataclasses.field(default_factory=dict)  # of project classes (INSTANCES)

    @property
    def name(self) -> str:
        return self.facts.module

    @property
    def path(self) -> str:
        return self.facts.path

    def local(self, ref: str) -> str:
        """``pkg.mod.create_app:app`` → ``create_app:app`` for a ref inside this module."""
        rest = ref[len(self.name) :]
        return rest[1:] if rest.startswith(".") else rest

    @classmethod
    def index(cls, facts: ModuleFacts) -> Module:
        path = PurePosixPath(facts.path)
        stem = (path.parent if path.stem == "__init__" else path.with_suffix("")).as_posix()
        dotted = facts.module.replace(".", "/")
        if facts.module and stem != dotted and not stem.endswith("/" + dotted):
            stem = dotted  # the project root is inside the package: the stem still ends with the module's name
        module = cls(facts, stem, {}, {}, {}, {}, defaultdict(list), {})
        for obj in facts.get(OBJECTS):
            module.objects[module.local(obj.ref)] = obj
        for obj in facts.get(INSTANCES):
            module.instances[module.local(obj.ref)] = obj
        for function in facts.get(FUNCTIONS):
            module.functions[module.local(function.qualname)] = function
        for klass in facts.get(CLASSES):
            module.classes[module.local(klass.qualname)] = klass
        for binding in facts.get(BINDINGS):
            module.bindings[module.local(binding.ref)] = binding.origin
        for assign in facts.get(ASSIGNS):
            module.assigns[module.local(assign.ref)].append(assign)
        aliases = facts.facts.get(ALIASES)
        module.aliases = dict(aliases) if isinstance(aliases, dict) else {}
        module.stars = list(facts.get(STARS))
        return module


@dataclasses.dataclass
class Site:
    """A place in the source: a file and a span."""

    path: str
    span: Span

    def related(self, message: str) -> RelatedLocation:
        return RelatedLocation(self.path, self.span, message)


class ModuleIndex:
    """The modules with framework facts, and reference resolution across them."""

    def __init__(self, modules: Sequence[ModuleFacts]) -> None:
        self.modules: list[Module] = [Module.index(m) for m in modules if FUNCTIONS in m.facts]
        self._by_last: dict[str, list[Module]] = defaultdict(list)
        for module in self.modules:
            self._by_last[module.stem.rpartition("/")[2]].append(module)
        self._find_cache: dict[tuple[str, str], Module | None] = {}
        self._read_cache: dict[tuple[str, str, bool], tuple[dict[str, str], list[str], dict[str, Origin]]] = {}

    def find_module(self, dotted: str, near: Module) -> Module | None:
        """The module a dotted name stands for, seen from ``near``: the closest file on disk."""
        if dotted == near.name:
            return near
        key = (near.stem, dotted)
        if key in self._find_cache:
            return self._find_cache[key]
        suffix = dotted.replace(".", "/")
        best: Module | None = None
        best_score = -1
        for candidate in self._by_last.get(suffix.rpartition("/")[2], ()):
            if candidate.stem != suffix and not candidate.stem.endswith("/" + suffix):
                continue
            score = common_prefix(candidate.stem, near.stem)
            if score > best_score:
                best, best_score = candidate, score
        if best is None:
            best = self._disk_module(dotted, near)
        self._find_cache[key] = best
        return best

    def _disk_module(self, dotted: str, near: Module) -> Module | None:
        """A module that had nothing to record (a re-exporting ``__init__.py``, a module that only binds
        ``db = Database(...)``): read its imports and the instances it binds at module level."""
        # The directory holding near's top package, from near's file (its project path may start inside
        # the package: a project root found inside it), then the dotted name's file below it.
        up = len(near.name.split(".")) - (0 if near.path.endswith("__init__.py") else 1)
        top = posixpath.normpath(posixpath.join(posixpath.dirname(near.path) or ".", *[".."] * up))
        base = posixpath.normpath(posixpath.join(top, dotted.replace(".", "/")))
        for candidate in (f"{base}/__init__.py", f"{base}.py"):
            if not os.path.isfile(projectfiles.resolve(candidate)):  # a project path (pipeline/projectfiles.py)
                continue
            is_package = candidate.endswith("__init__.py")
            # One read per file: modules in other directories reach it by other relative paths.
            key = (os.path.normpath(os.path.abspath(projectfiles.resolve(candidate))), dotted, is_package)
            if key not in self._read_cache:
                self._read_cache[key] = _read_imports(candidate, dotted, is_package)
            aliases, stars, bindings = self._read_cache[key]
            if not aliases and not stars:
                return None
            recorded = {
                ALIASES: aliases,
                STARS: stars,
                BINDINGS: [BindingFact(f"{dotted}.{name}", origin) for name, origin in bindings.items()],
            }
            facts = ModuleFacts(candidate, dotted, "production", recorded)  # type: ignore[arg-type]
            return Module.index(facts)
        return None

    def split(self, ref: str, near: Module) -> tuple[Module, str] | None:
        """``pkg.db.engine`` seen from ``near`` → (module pkg.db, "engine")."""
        base = _LOCAL_SPLIT.split(ref, 1)[0]
        parts = base.split(".")
        for size in range(len(parts), 0, -1):
            dotted = ".".join(parts[:size])
            module = self.find_module(dotted, near)
            if module is not None:
                rest = ref[len(dotted) :]
                return module, rest[1:] if rest.startswith(".") else rest
        return None

    def deref(self, ref: str, near: Module, table: str, depth: int = 0) -> tuple[Module, Any] | None:
        """Follow ``ref`` (and re-exports through imports) to an entry of a module table."""
        found = self.split(ref, near)
        if found is None or depth > 6:
            return None
        module, local = found
        entries = getattr(module, table)
        if local in entries:
            return module, entries[local]
        head, dot, rest = local.partition(".")
        target = module.aliases.get(head)
        if target is not None and target != ref and module.facts.module != target:
            return self.deref(target + dot + rest, module, table, depth + 1)
        for star in module.stars:
            found = self.deref(f"{star}.{local}", module, table, depth + 1)
            if found is not None:
                return found
        return None

    def function(self, ref: str, near: Module) -> tuple[Module, FunctionFacts] | None:
        return self.deref(ref, near, "functions")

    def klass(self, ref: str, near: Module) -> tuple[Module, ClassFacts] | None:
        return self.deref(ref, near, "classes")

    def class_bases(self, ref: str, near: Module, depth: int = 0) -> Iterator[str]:
        """Qualified names of the bases of class ``ref``, through project classes, transitively."""
        if depth > 8:
            return
        found = self.klass(ref, near)
        if found is None:
            return
        module, cls = found
        for base in cls.bases:
            yield base
            yield from self.class_bases(base, module, depth + 1)

    def request_method(self, ref: str, near: Module) -> tuple[Module, FunctionFacts] | None:
        """The method of a middleware class ``ref`` that handles a request: ``dispatch``, ``__call__`` or
        ``process_exception``; else one of its own methods with a ``try`` (a pure ASGI middleware's base
        class defines ``__call__`` and calls the subclass's ``handle_http``: ethyca-fides); else the named
        methods of its project bases."""
        found = self.klass(ref, near)
        if found is None:
            return None
        module, klass = found
        names = ("dispatch", "__call__", "process_exception")
        for method in names:
            found_method = self.function(f"{klass.qualname}.{method}", module)
            if found_method is not None:
                return found_method
        for function in module.functions.values():
            if function.cls == klass.qualname and function.guards:
                return module, function
        for base in self.class_bases(klass.qualname, module):
            for method in names:
                found_method = self.function(f"{base}.{method}", module)
                if found_method is not None:
                    return found_method
        return None


def store_methods(knowledge: Knowledge) -> dict[str, list[dict[str, Any]]]:
    """The ``datastore-methods`` rows by method name, with the methods of ``store-probes`` added as
    probes (a round trip whatever the receiver) where that table has no row of its own."""
    methods: dict[str, list[dict[str, Any]]] = {}
    for row in knowledge.rows("datastore-methods"):
        methods.setdefault(row["method"], []).append(row)
    for row in knowledge.rows("store-probes"):
        method = row.get("method")
        if method and method not in methods:
            methods[method] = [{"kind": row["kind"], "method": method, "effect": "io", "probe": True}]
    return methods


def common_prefix(a: str, b: str) -> int:
    """How many leading path parts two module stems share."""
    parts_a, parts_b = a.split("/"), b.split("/")
    count = 0
    for x, y in zip(parts_a, parts_b):
        if x != y:
            break
        count += 1
    return count


def _read_imports(path: str, module: str, is_package: bool) -> tuple[dict[str, str], list[str], dict[str, Origin]]:
    """The import table, star imports and module-level instances (``db = Database("main")``: an
    ``("instance", ref)`` origin when the callee is class-named) of a file, read with ``ast`` (no rule
    needed to parse it)."""
    try:
        tree = ast.parse(Path(projectfiles.resolve(path)).read_text("utf-8", errors="replace"))
    except (SyntaxError, ValueError, OSError):
        return {}, [], {}
    package = module.split(".") if is_package else module.split(".")[:-1]
    aliases: dict[str, str] = {}
    stars: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            base_parts = package[: len(package) - (node.level - 1)] if node.level else []
            base = ".".join([*base_parts, *([node.module] if node.module else [])])
            for alias in node.names:
                if alias.name == "*":
                    stars.append(base)
                else:
                    aliases[alias.asname or alias.name] = f"{base}.{alias.name}" if base else alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                aliases[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
    bindings: dict[str, Origin] = {}
    for node in tree.body:
        if not isinstance(node, (ast.Assign, ast.AnnAssign)):
            continue
        value = node.value
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        callee = _dotted(value.func) if isinstance(value, ast.Call) else None
        if callee is None or len(targets) != 1 or not isinstance(targets[0], ast.Name):
            continue
        head, dot, rest = callee.partition(".")
        ref = aliases[head] + dot + rest if head in aliases else f"{module}.{callee}"
        last = callee.rpartition(".")[2]
        if last[:1].isupper() and not last.isupper():  # class-named, as syntax.is_class_name
            bindings[targets[0].id] = ("instance", ref)
    return aliases, stars, bindings


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner is not None else None
    return None
