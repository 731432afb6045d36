"""BL501–BL506: production endpoints must serve real data; mocks and fakes belong in test files.

BL501 reads imports and is a file rule. The others judge endpoints (which functions are served is
known only across modules), so they are project rules over the framework model and the facts of
``endpoint_facts.py``. None of them looks at test files: the catalog's ``applies-to`` keeps those
out of both the walk and the project pass.
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from backlint.analysis.exceptions import caught_names
from backlint.analysis.literals import conditions_held
from backlint.analysis.strings import name_tokens
from backlint.analysis.web.bodies import BodyFacts, Flagged, ModuleExtras, Records
from backlint.analysis.web.fixes import unused_import_fix
from backlint.analysis.web.served import EndpointIndex, Served, endpoint_index
from backlint.core.catalog import Knowledge
from backlint.core.facts import ProjectFinding, ProjectRule
from backlint.core.imports import dotted_name
from backlint.core.patterns import compile_pattern
from backlint.core.results import ModuleFacts, RelatedLocation, Span
from backlint.core.rule import FileContext, Rule
from backlint.pipeline.walk import scope_descendants

_TYPE_CHECKING = frozenset({"TYPE_CHECKING", "typing.TYPE_CHECKING", "typing_extensions.TYPE_CHECKING"})


def _finding(rule: ProjectRule, path: str, span: Span, message: str, related: list[RelatedLocation] | None = None,
             level: str | None = None) -> ProjectFinding:  # fmt: skip
    return ProjectFinding(rule.id, path, span, message, level, related or [])


# --------------------------------------------------------------------------- BL501


def _libraries(knowledge: Knowledge) -> frozenset[str]:
    return frozenset(r["name"] for r in knowledge.rows("test-doubles") if r["role"] == "library")


class MockLibraryInProduction(Rule):
    """A production module imports a test or mock library."""

    id = "BL501"

    @classmethod
    def trigger_tokens(cls, knowledge: Knowledge) -> tuple[str, ...]:
        return tuple(sorted({name.rpartition(".")[2] for name in _libraries(knowledge)}))

    def __init__(self, context: FileContext, level: str) -> None:
        super().__init__(context, level)
        self.modules = _libraries(context.knowledge)
        support = {r["name"] for r in context.knowledge.rows("test-doubles") if r["role"] == "support-module"}
        parts = set(context.module_name.split(".")) | {p.rpartition(".")[0] or p for p in context.path.split("/")}
        if parts & support:
            self.modules = frozenset()  # a testing package or test command: importing test tools is its job
        self.allowed = tuple(context.options.get("allowed-in-production", ()))
        rows = context.knowledge.rows("test-doubles")
        self.real_clients = frozenset(r["name"] for r in rows if r["role"] == "real-client")
        self.dev_flags = frozenset(r["name"] for r in rows if r["role"] == "dev-flag")
        self.overrides = frozenset(r["name"] for r in rows if r["role"] == "scoped-override")
        self.mock_classes = frozenset(r["name"] for r in rows if r["role"] == "mock-class")
        self.synthetic_requests = frozenset(r["name"] for r in rows if r["role"] == "synthetic-request")
        # local name → per use, what it does (_OVERRIDE, _RAISING, _NULL or _OTHER) and in which function
        self.uses: dict[str, list[tuple[str, int]]] = {}
        self.overriding: set[int] = set()  # the functions (by id; 0: the module) calling a scoped override
        self.built_requests: dict[int, set[str]] = {}  # function id → its locals bound to a request it builds
        self.function_nodes: list[cst.FunctionDef] = []
        self.imported: dict[str, tuple[cst.CSTNode, str]] = {}  # local name → (import statement, library)
        self.places: dict[int, tuple[cst.CSTNode, ...]] = {}  # id(import statement) → its ancestors, for the fix
        self.used_in: dict[str, str] = {}
        self.functions: list[str] = []

    def visit_Import(self, node: cst.Import) -> None:
        if self._dev_only() or self._import_fallback():
            return
        for alias in node.names:
            name = dotted_name(alias.name) or ""
            library = self._library(name)
            if library is not None and not self._type_checking_only():
                local = (
                    alias.asname.name.value
                    if alias.asname and isinstance(alias.asname.name, cst.Name)
                    else name.split(".")[0]
                )
                self._record(node, library, local)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if node.relative or node.module is None or self._type_checking_only() or self._dev_only():
            return
        if self._import_fallback():
            return
        module = dotted_name(node.module) or ""
        names = [] if isinstance(node.names, cst.ImportStar) else list(node.names)
        library = self._library(module)
        for alias in names:
            full = f"{module}.{dotted_name(alias.name)}"
            if full in self.real_clients:
                continue  # a request through the app's real views (a static export), not a double
            found = library or self._library(full)
            if found is not None:
                local = (
                    alias.asname.name.value
                    if alias.asname and isinstance(alias.asname.name, cst.Name)
                    else dotted_name(alias.name) or ""
                )
                self._record(node, found, local)
        if not names and library is not None:
            self._record(node, library, "*")

    def _library(self, name: str) -> str | None:
        for module in self.modules:
            if name == module or name.startswith(module + "."):
                if any(name == a or name.startswith(a + ".") for a in self.allowed):
                    return None
                return module
        return None

    def _record(self, node: cst.CSTNode, library: str, local: str) -> None:
        if local not in self.imported:
            self.imported[local] = (node, library)
        self.places.setdefault(id(node), tuple(self.context.ancestors))

    def _names_of(self, statement: cst.CSTNode) -> list[str]:
        return [local for local, (recorded, _) in self.imported.items() if recorded is statement]

    def _type_checking_only(self) -> bool:
        for ancestor in self.context.ancestors:
            if isinstance(ancestor, cst.If):
                test = self.context.qualified_name(ancestor.test) or ""
                if test in _TYPE_CHECKING:
                    return True
        return False

    def _dev_only(self) -> bool:
        """In the branch of an ``if`` that runs only in development: ``if config.DEBUG:`` (a fallback
        such as fakeredis), or the ``else`` of ``if not config.DEBUG:``."""
        for test in conditions_held(self.context.ancestors):
            if isinstance(test, (cst.Name, cst.Attribute)):
                name = dotted_name(test) or ""
                if self.dev_flags & set(name_tokens(name.rpartition(".")[2])):
                    return True
        return False

    def _import_fallback(self) -> bool:
        """In the ``except ImportError:`` of a ``try`` that imports: a stand-in for an optional dependency
        that is not installed (``get_app_dir = Mock(return_value=".")`` when click is missing), not data."""
        ancestors = self.context.ancestors
        for index in range(len(ancestors) - 1, 0, -1):
            handler, block = ancestors[index], ancestors[index - 1]
            if not isinstance(handler, cst.ExceptHandler) or not isinstance(block, (cst.Try, cst.TryStar)):
                continue
            caught = caught_names(handler, self.context) or []
            if not any(n.rpartition(".")[2] in ("ImportError", "ModuleNotFoundError") for n in caught):
                return False
            return any(isinstance(n, (cst.Import, cst.ImportFrom)) for n in scope_descendants(block.body))
        return False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.functions.append(node.name.value)
        self.function_nodes.append(node)

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.functions.pop()
        self.function_nodes.pop()

    def visit_Assign(self, node: cst.Assign) -> None:
        """``request = HttpRequest()`` in a function: a synthetic request it builds (role
        ``synthetic-request``), to run a view of the app in-process."""
        if not self.function_nodes or not isinstance(node.value, cst.Call):
            return
        if (self.context.qualified_name(node.value.func) or "") not in self.synthetic_requests:
            return
        for target in node.targets:
            if isinstance(target.target, cst.Name):
                self.built_requests.setdefault(id(self.function_nodes[-1]), set()).add(target.target.value)

    def visit_Name(self, node: cst.Name) -> None:
        if node.value not in self.imported or not self._reference(node):
            return
        if self.functions and node.value not in self.used_in:
            self.used_in[node.value] = self.functions[-1]
        function = id(self.function_nodes[-1]) if self.function_nodes else 0
        use = self._use()
        if use == _OVERRIDE:
            self.overriding.add(function)
        self.uses.setdefault(node.value, []).append((use, function))

    def _use(self) -> str:
        """What the use of an imported name being visited does: call a scoped override; make a mock
        that only raises (fault injection); make a null object (a bare mock) for a subclass's body or
        for a request the function builds; or anything else."""
        head, call = self._headed_call()
        if call is None:
            return _OTHER
        qualified = self.context.qualified_name(head) or ""
        if qualified in self.overrides:
            return _OVERRIDE
        if qualified not in self.mock_classes or (call.args and call.args[0].keyword is None):
            return _OTHER
        keywords = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
        if set(keywords) - _INERT_MOCK_KEYWORDS - {"side_effect"}:
            return _OTHER  # configured: return_value, wraps, attributes … are data
        if "side_effect" in keywords:
            return _RAISING if _raises(keywords["side_effect"]) else _OTHER
        return _NULL if self._null_object_slot(call) else _OTHER

    def _headed_call(self) -> tuple[cst.CSTNode, cst.Call | None]:
        """The name being visited, with the attributes it heads (``mock.patch.dict``), and the call
        of which that is the function, if any."""
        ancestors = self.context.ancestors
        index = len(ancestors) - 1
        while index > 0:
            outer = ancestors[index - 1]
            if not isinstance(outer, cst.Attribute) or outer.value is not ancestors[index]:
                break
            index -= 1
        head, parent = ancestors[index], ancestors[index - 1] if index > 0 else None
        if isinstance(parent, cst.Call) and parent.func is head:
            return head, parent
        return head, None

    def _null_object_slot(self, call: cst.Call) -> bool:
        """The bare mock ``call`` is assigned as a class attribute in the body of a subclass (a null
        variant of its base: ``objects = MagicMock()``, a manager that stores and returns nothing), or
        to an internal attribute of a request the same function built (``request._messages = MagicMock()``,
        the framework's plumbing; ``request.user`` is the request's data)."""
        ancestors = self.context.ancestors
        position = next((i for i in range(len(ancestors) - 1, -1, -1) if ancestors[i] is call), -1)
        assign = ancestors[position - 1] if position > 0 else None
        if not isinstance(assign, cst.Assign) or assign.value is not call or len(assign.targets) != 1:
            return False
        target = assign.targets[0].target
        if isinstance(target, cst.Name):
            owner = ancestors[position - 4] if position >= 4 else None  # ClassDef > IndentedBlock > line > Assign
            return isinstance(owner, cst.ClassDef) and bool(owner.bases)
        if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and self.function_nodes:
            if not target.attr.value.startswith("_"):
                return False  # the request's data (``request.user``), not the framework's plumbing
            return target.value.value in self.built_requests.get(id(self.function_nodes[-1]), set())
        return False

    def _reference(self, node: cst.Name) -> bool:
        """``node`` reads a name (not an attribute's name, a keyword, or a name in an import)."""
        ancestors = self.context.ancestors
        parent = ancestors[-2] if len(ancestors) > 1 else None
        if isinstance(parent, cst.Attribute) and parent.attr is node:
            return False
        if isinstance(parent, cst.Arg) and parent.keyword is node:
            return False
        return not any(isinstance(a, (cst.Import, cst.ImportFrom)) for a in ancestors)

    def _harmless_only(self, statement: cst.CSTNode) -> bool:
        """Every name the import binds is used, and no use makes data: each calls a scoped override
        (``patch``: a setting overridden for a block), makes a mock that only raises installed by a
        scoped override in the same function (a fault-injection hook), or makes a null object in a
        subclass's body or on a request the function builds."""
        names = self._names_of(statement)
        if not names:
            return False
        for name in names:
            uses = self.uses.get(name)
            if not uses:
                return False
            for use, function in uses:
                if use == _OTHER or (use == _RAISING and function not in self.overriding):
                    return False
        return True

    def leave_Module(self, node: cst.Module) -> None:
        reported: set[int] = set()
        for local, (statement, library) in self.imported.items():
            if id(statement) in reported:
                continue
            reported.add(id(statement))
            if self._harmless_only(statement):
                continue
            used = self.used_in.get(local)
            where = f", and `{used}` uses it" if used else ""
            self.report(
                statement,
                f"production code imports the test/mock library `{library}`{where}: mocks, fakes and generated data "
                "belong in test files; production must not depend on them",
                fix=unused_import_fix(self.places[id(statement)], self._names_of(statement)),
            )


_OVERRIDE, _RAISING, _NULL, _OTHER = "override", "raising", "null", "other"
# Keywords of a mock class that configure no data: what it imitates and what it is called.
_INERT_MOCK_KEYWORDS = frozenset({"spec", "spec_set", "name", "unsafe"})


def _raises(value: cst.BaseExpression) -> bool:
    """A ``side_effect`` that raises: an exception class or instance (``ValueError("oops")``)."""
    if isinstance(value, cst.Call):
        value = value.func
    name = (dotted_name(value) or "").rpartition(".")[2]
    return name.endswith(("Error", "Exception", "Exit", "Interrupt")) or name in ("Exception", "BaseException")


# --------------------------------------------------------------------------- BL502


class FakeDataStoreUsedByEndpoint(ProjectRule):
    """An endpoint reads a ``fake_*``/``mock_*``/``dummy_*`` store defined in code."""

    id = "BL502"

    def check(self, modules: list[ModuleFacts]) -> list[ProjectFinding]:
        index = endpoint_index(modules, self.project, self.options)
        fake_tokens = frozenset(r["name"] for r in index.model.knowledge.rows("mock-data") if r["role"] == "fake-token")
        out: list[ProjectFinding] = []
        seen: set[int] = set()  # reads reached from several endpoints are reported once
        for served in index.served:
            for path, body in _bodies(index, served):
                for read in body.fake_reads:
                    store = self._store(index, read, fake_tokens)
                    if store is None or id(read) in seen:
                        continue
                    seen.add(id(read))
                    where, kind = store
                    message = (
                        f"endpoint `{served.name}` serves data from `{read.text}`, a {kind} defined in code "
                        f"({where}): production endpoints must read the real data store; keep fakes in tests "
                        "(dependency overrides, fixtures)"
                    )
                    out.append(_finding(self, path, read.span, message))
        return out

    @staticmethod
    def _store(index: EndpointIndex, read: Flagged, fake_tokens: frozenset[str]) -> tuple[str, str] | None:
        """Where the store read by ``read`` is defined, and what it is; None if it is not a fake store."""
        found = index.extra(read.detail)
        if found is None:
            return _unread_module(read.detail, fake_tokens)
        facts, extras, local = found
        kind = extras.fake_stores.get(local) or extras.fake_stores.get(local.partition(".")[0])
        if kind is None:
            return None
        return f"`{facts.path}`", "function returning fake records" if kind == "function" else "fake data store"


def _unread_module(ref: str, fake_tokens: frozenset[str]) -> tuple[str, str] | None:
    """``fake_db.PLANS`` where nothing was collected from ``fake_db`` (no fake word in its text): the
    module's name says what it holds; a class (``fake_db.Client``) is not a data store."""
    parts = ref.split(".")
    for index, part in enumerate(parts[:-1]):
        following = parts[index + 1]
        if set(name_tokens(part)) & fake_tokens and not (following[:1].isupper() and not following.isupper()):
            return f"module `{'.'.join(parts[: index + 1])}`", "fake data module"
    return None


def _bodies(index: EndpointIndex, served: Served) -> Iterator[tuple[str, BodyFacts]]:
    """The endpoint's BodyFacts and those of the project functions it calls or depends on (one level)."""
    if served.body is not None:
        yield served.module.path, served.body
    yield from index.callee_bodies(served.module, served.function)


# --------------------------------------------------------------------------- BL503


class EndpointReturnsHardcodedRecords(ProjectRule):
    """An endpoint that reads nothing returns a literal list of records."""

    id = "BL503"

    def check(self, modules: list[ModuleFacts]) -> list[ProjectFinding]:
        index = endpoint_index(modules, self.project, self.options)
        model = index.model
        rows = model.knowledge.rows("mock-data")
        static = [compile_pattern(r["pattern"]) for r in rows if r["role"] == "static-path"]
        out: list[ProjectFinding] = []
        for served in index.served:
            body = served.body
            if body is None or not body.records or body.impure or body.network:
                continue
            path = served.endpoint.path or ""
            if model.is_health(served.endpoint) or any(p.search(path) for p in static):
                continue
            if model.effects(served.module, served.function) or any(
                c for c in index.callees(served.module, served.function)
            ):
                continue
            markers = _markers(index, served) + [m for _, m in _record_markers(index, served)]
            for records in body.records:
                resolved, related = self._resolve(index, records)
                if resolved is None or resolved.reference:
                    continue
                signs = list(resolved.signs)
                if markers:
                    signs.append(f"a comment saying `{markers[0].text}`")
                if served.app is not None and served.app.stores:
                    signs.append("the app has a data store it could read")
                keys = ", ".join(resolved.keys[:4]) + (" …" if len(resolved.keys) > 4 else "")
                message = (
                    f"`{served.name}` returns {resolved.count} hardcoded records ({keys}) and reads no data store"
                    + (f" ({'; '.join(signs)})" if signs else "")
                    + ": an endpoint must serve real data; move fixtures to tests and query the store"
                )
                level = None if signs else "note"
                out.append(_finding(self, served.module.path, records.span, message, related, level))
        return out

    @staticmethod
    def _resolve(index: EndpointIndex, records: Records) -> tuple[Records | None, list[RelatedLocation]]:
        if records.constant is None:
            return records, []
        found = index.extra(records.constant)
        if found is None:
            return None, []
        facts, extras, local = found
        constant = extras.constants.get(local)
        if constant is None or local in extras.fake_stores:
            return None, []  # a fake-named store is BL502's
        return constant, [RelatedLocation(facts.path, constant.span, f"the records are defined here (`{local}`)")]


def _markers(index: EndpointIndex, served: Served) -> list[Flagged]:
    """BL505 markers inside the endpoint: its docstring, and comments within its lines."""
    found: list[Flagged] = []
    body = served.body
    if body is not None and body.docstring_marker is not None:
        found.append(body.docstring_marker)
    span = served.function.span or (body.span if body is not None else None)
    extras = index.extras.get(served.module.name)
    if span is None or extras is None or extras[0].path != served.module.path:
        return found
    found += [m for m in extras[1].markers if span.line <= m.span.line <= span.end_line]
    return found


_ABOVE = 3  # lines above literal records where a comment still speaks about them


def _record_markers(index: EndpointIndex, served: Served) -> list[tuple[str, Flagged]]:
    """Looser BL505 markers ("stub", "placeholder", "TODO: load from …") that speak about the literal
    records the endpoint returns: its docstring, and comments on or just above the records, in the
    endpoint or at the module constant it returns."""
    body = served.body
    if body is None or not body.records:
        return []
    found: list[tuple[str, Flagged]] = []
    if body.docstring_record_marker is not None:
        found.append((served.module.path, body.docstring_record_marker))
    for records in body.records:
        where: tuple[ModuleFacts, ModuleExtras] | None
        if records.constant is None:
            where, span = index.extras.get(served.module.name), records.span
        else:
            resolved = index.extra(records.constant)
            constant = resolved[1].constants.get(resolved[2]) if resolved is not None else None
            if resolved is None or constant is None:
                continue
            where, span = (resolved[0], resolved[1]), constant.span
        if where is None or not span.line:
            continue
        facts, extras = where
        found += [(facts.path, m) for m in extras.record_markers if span.line - _ABOVE <= m.span.line <= span.end_line]
    return found


# --------------------------------------------------------------------------- BL504


class EndpointFabricatesRandomValues(ProjectRule):
    """An endpoint puts a random value into a response field."""

    id = "BL504"

    def check(self, modules: list[ModuleFacts]) -> list[ProjectFinding]:
        index = endpoint_index(modules, self.project, self.options)
        out: list[ProjectFinding] = []
        for served in index.served:
            for value in served.body.random_values if served.body is not None else ():
                message = (
                    f"`{served.name}` fills the response field `{value.detail}` with a random value (`{value.text}`): "
                    "a fabricated value in production; read it from its real source"
                )
                out.append(_finding(self, served.module.path, value.span, message))
        return out


# --------------------------------------------------------------------------- BL505


class MockMarkerCommentInEndpoint(ProjectRule):
    """A comment or docstring in an endpoint says its data is mock or a placeholder."""

    id = "BL505"

    def check(self, modules: list[ModuleFacts]) -> list[ProjectFinding]:
        index = endpoint_index(modules, self.project, self.options)
        out: list[ProjectFinding] = []
        seen: set[tuple[str, int]] = set()
        for served in index.served:
            found = [(served.module.path, m) for m in _markers(index, served)] + _record_markers(index, served)
            for path, marker in found:
                key = (path, marker.span.line)
                if key in seen:
                    continue
                seen.add(key)
                message = (
                    f'`{served.name}` is marked as serving mock data ("{marker.text}"): finish the real implementation '
                    "before it ships, or keep the stub out of production routes"
                )
                out.append(_finding(self, path, marker.span, message))
        return out


# --------------------------------------------------------------------------- BL506


class MockModeToggleInProduction(ProjectRule):
    """An endpoint (or a function it calls) switches to mock data on a configuration flag."""

    id = "BL506"

    def check(self, modules: list[ModuleFacts]) -> list[ProjectFinding]:
        index = endpoint_index(modules, self.project, self.options)
        out: list[ProjectFinding] = []
        seen: set[int] = set()
        for served in index.served:
            for path, body in _bodies(index, served):
                for toggle in body.toggles:
                    if id(toggle) in seen:
                        continue
                    seen.add(id(toggle))
                    message = (
                        f"`{toggle.text}` switches `{served.name}` to mock data ({toggle.detail}): the mock path "
                        "ships to production and a mis-set flag serves fake data; inject fakes only in tests"
                    )
                    out.append(_finding(self, path, toggle.span, message))
        return out
