"""Scopes and bindings: what a name may be bound to where it is used — one model for every analysis.

``Scopes`` is an ``Analysis`` (backlint/core/rule.py): an analysis or rule that needs names resolved
lists it in ``REQUIRES`` and reads ``context.get(Scopes)``. It runs before them at every node, so
by the time their ``visit_``/``leave_`` methods see a node, the scopes and bindings up to it exist.

What is recorded while the walk passes (no libcst metadata provider):

- a ``Scope`` per module, class, function, lambda and comprehension, with its parent: a function's
  parent skips enclosing class bodies (Python's rule); a lambda's or a comprehension's parent is
  the scope it is written in;
- a ``Binding`` per name bound (assignment, augmented assignment, walrus, parameter, ``for`` and
  ``with`` target, ``except ... as``, ``def``, ``class``, comprehension target), with its value
  node, its statement, a *point* (walk order) and the ids of the blocks around it (``blocks``,
  from the body of the enclosing module/class/function inwards); ``global``/``nonlocal`` redirect
  the binding to the scope that owns the name;
- ``self.attr = value`` in a method as an instance binding of the class, class bodies as class
  bindings, methods by name: ``class_of``/``class_chain``/``class_attribute`` answer
  ``obj.attr`` for classes of the module, bases included;
- *mutations*: ``d[k] = v`` (kind "item") and ``xs.append(v)``/``add``/``insert`` (kind "assign"),
  ``extend``/``update`` (kind "aug") on a local name;
- what each function returns or yields, with the site of the ``return``.

Lookup (``lookup``) is lexical with one refinement inside the scope of the use: only bindings
made before the use count (all of them when there are none before: a loop carrying the name
round). Lambdas and comprehensions are *transparent*: a name they do not bind is looked up in the
enclosing scope as at the place they are written. ``reaching`` applies kill semantics: a binding
made before the use in a block enclosing it (the same block, or one the use is nested in: a
re-assignment in a ``with``/``if``/loop body, at later uses there) replaces every earlier one.

Constant conditions select their branch: the body of ``if False:``/``if TYPE_CHECKING:`` (and the
``else`` of ``if True:``) never runs; its blocks are *dead* (``dead``), and no binding is recorded
in them.
"""

from __future__ import annotations

import bisect
import dataclasses
from typing import Any

import libcst as cst

from backlint.core.imports import dotted_name
from backlint.core.rule import Analysis, FileContext

MODULE = "module"
CLASS = "class"
FUNCTION = "function"
LAMBDA = "lambda"
COMPREHENSION = "comprehension"
_TRANSPARENT = (LAMBDA, COMPREHENSION)

# Methods that put their argument into the named container: (kind of the mutation, which argument).
_MUTATORS = {"append": "assign", "add": "assign", "insert": "assign", "extend": "aug", "update": "aug"}
_BLOCKS = frozenset({cst.IndentedBlock, cst.SimpleStatementSuite})  # node classes without subclasses


@dataclasses.dataclass(eq=False)
class Binding:
    """One binding of a name (or, for ``ClassInfo.instance``, of ``self.<attr>``).

    ``kind``: assign | aug | param | for | with | item | star | except | def | class | comprehension.
    ``index``: position in a tuple target; ``operator``: of an augmented assignment ("+" or the
    libcst operator's class name); ``default``: a parameter's default (for "item": the key).
    """

    kind: str
    target: cst.CSTNode
    value: cst.BaseExpression | None
    scope: Scope
    point: int
    blocks: tuple[int, ...]
    index: int | None = None
    annotation: cst.BaseExpression | None = None
    default: cst.BaseExpression | None = None
    operator: str = ""
    statement: cst.CSTNode | None = None


@dataclasses.dataclass(eq=False)
class Scope:
    kind: str  # module | class | function | lambda | comprehension
    node: cst.CSTNode
    parent: Scope | None
    name: str = ""
    cls: ClassInfo | None = None  # a method's class; a class body's own class
    self_name: str | None = None  # a method's first parameter (self, cls)
    bindings: dict[str, list[Binding]] = dataclasses.field(default_factory=dict)
    mutations: dict[str, list[Binding]] = dataclasses.field(default_factory=dict)
    globals: set[str] = dataclasses.field(default_factory=set)
    nonlocals: set[str] = dataclasses.field(default_factory=set)
    params: list[Binding] = dataclasses.field(default_factory=list)
    returns: list[tuple[cst.BaseExpression, Site]] = dataclasses.field(default_factory=list)

    @property
    def frame(self) -> Scope:
        """The module, class or function this scope runs in (itself unless a lambda/comprehension)."""
        scope = self
        while scope.kind in _TRANSPARENT and scope.parent is not None:
            scope = scope.parent
        return scope

    def bind(self, name: str, binding: Binding) -> None:
        self.bindings.setdefault(name, []).append(binding)


@dataclasses.dataclass(eq=False)
class ClassInfo:
    name: str
    bases: list[cst.BaseExpression]
    scope: Scope
    methods: dict[str, Scope] = dataclasses.field(default_factory=dict)
    instance: dict[str, list[Binding]] = dataclasses.field(default_factory=dict)  # self.<attr> = value


@dataclasses.dataclass(frozen=True, eq=False)
class Site:
    """A place in the walk: its scope, its point, its enclosing blocks. ``env`` and ``depth`` are
    for evaluators: names they bind themselves (a helper's arguments, comprehension variables) and
    how deep the evaluation has gone."""

    scope: Scope
    point: int
    blocks: tuple[int, ...]
    env: dict[str, Any] | None = None
    depth: int = 0


def block_of(binding: Binding | Site) -> tuple[int, ...]:
    return binding.blocks


def reaching(bindings: list[Binding], site: Site) -> list[Binding]:
    """The bindings of a name (in ``site``'s own scope, as ``lookup`` gives them) that may reach
    ``site``: the last one made before it in a block enclosing it ran last on every path there,
    and replaces the earlier ones (an augmented assignment only adds to them). A name's bindings
    are in walk order (``point``): the search starts at ``site`` and goes back only to that last one,
    so a name re-assigned N times costs N, not N² (issue 19 item 4)."""
    last: int | None = None
    for i in range(bisect.bisect_left(bindings, site.point, key=_point) - 1, -1, -1):
        binding = bindings[i]
        if last is not None and binding.point < bindings[last].point:
            break
        if binding.kind != "aug" and within(site.blocks, binding.blocks):
            last = i  # the first of equal points, as a forward search finds it
    if last is None:
        return bindings
    return bindings[bisect.bisect_left(bindings, bindings[last].point, key=_point) :]


def _point(binding: Binding) -> int:
    return binding.point


def within(inner: tuple[int, ...], outer: tuple[int, ...]) -> bool:
    """``inner`` blocks are ``outer`` or nested in it."""
    return inner[: len(outer)] == outer


def enclosing_blocks(
    ancestors: list[cst.CSTNode], frame: cst.CSTNode, known: dict[int, tuple[cst.CSTNode, tuple[int, ...]]]
) -> tuple[int, ...]:
    """ids of the blocks around ``ancestors[-1]``, from ``frame``'s body inwards. ``known`` keeps the
    answer for every node passed (with its frame): the search goes up only to the nearest node
    answered before, so an ``elif`` ladder N deep (each ``elif`` an ``If`` in the one before) costs
    N, not N² (issue 19)."""
    blocks: tuple[int, ...] = ()
    start = len(ancestors)
    while start > 0:
        ancestor = ancestors[start - 1]
        if ancestor is frame:
            break
        seen = known.get(id(ancestor))
        if seen is not None and seen[0] is frame:
            blocks = seen[1]
            break
        start -= 1
    for ancestor in ancestors[start:]:
        if type(ancestor) in _BLOCKS:  # not isinstance(): ABCMeta's check is ten times slower
            blocks = (*blocks, id(ancestor))
        known[id(ancestor)] = (frame, blocks)
    return blocks


class Scopes(Analysis):
    """The file's scopes and bindings, built during the walk; lookups answer at any later time."""

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.point = 0
        self.module: Scope = Scope(MODULE, cst.Module([]), None)
        self.stack: list[Scope] = []
        self.all: list[Scope] = []  # every scope of the file, in the order the walk entered them
        self.classes: list[ClassInfo] = []
        self.module_classes: dict[str, ClassInfo] = {}
        self.module_functions: dict[str, Scope] = {}
        self._site_node: cst.CSTNode | None = None
        self._site: Site | None = None
        self.dead: set[int] = set()  # ids of blocks that never run (a constant condition's other branch)
        self._blocks_at: dict[int, tuple[cst.CSTNode, tuple[int, ...]]] = {}  # see enclosing_blocks

    # -- where the walk is ------------------------------------------------------------------

    @property
    def current(self) -> Scope:
        return self.stack[-1]

    def next_point(self) -> int:
        self.point += 2
        return self.point

    def blocks(self) -> tuple[int, ...]:
        """ids of the blocks around the node being visited, from its frame's body inwards."""
        return enclosing_blocks(self.context.ancestors, self.current.frame.node, self._blocks_at)

    def here(self) -> Site:
        """A new site at the node being visited."""
        return Site(self.current, self.next_point(), self.blocks())

    def site_at(self, node: cst.CSTNode) -> Site:
        """The site of ``node``, the node being visited: the same one for every analysis asking."""
        if self._site_node is not node or self._site is None:
            self._site_node, self._site = node, self.here()
        return self._site

    # -- scopes ----------------------------------------------------------------------------

    def _enter(self, scope: Scope) -> None:
        self.stack.append(scope)
        self.all.append(scope)

    def visit_Module(self, node: cst.Module) -> None:
        self.module = Scope(MODULE, node, None)
        self.stack = [self.module]
        self.all = [self.module]

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        parent = self.current
        scope = Scope(CLASS, node, parent, name=node.name.value)
        info = ClassInfo(node.name.value, [b.value for b in node.bases], scope)
        scope.cls = info
        self.classes.append(info)
        if parent.kind == MODULE:
            self.module_classes[info.name] = info
        self.bind_name(node.name.value, node.name, None, "class", parent, statement=node)
        self._enter(scope)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        self.stack.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        parent = self.current
        self.bind_name(node.name.value, node.name, None, "def", parent, statement=node)
        owner = parent.cls if parent.kind == CLASS else None
        enclosing = parent
        while enclosing.kind == CLASS and enclosing.parent is not None:
            enclosing = enclosing.parent
        scope = Scope(FUNCTION, node, enclosing, name=node.name.value, cls=owner)
        if owner is not None:
            owner.methods.setdefault(node.name.value, scope)
            static = any(dotted_name(d.decorator) == "staticmethod" for d in node.decorators)
            positional = [*node.params.posonly_params, *node.params.params]
            if positional and not static:
                scope.self_name = positional[0].name.value
        elif parent.kind == MODULE:
            self.module_functions[node.name.value] = scope
        self._enter(scope)
        # Parameters are bound where the body starts: assignments in the body replace them.
        self._bind_params(scope, node.params, (id(node.body),), node)

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.stack.pop()

    def visit_Lambda(self, node: cst.Lambda) -> None:
        parent = self.current
        scope = Scope(LAMBDA, node, parent, name="<lambda>", cls=parent.frame.cls, self_name=parent.frame.self_name)
        self._enter(scope)
        self._bind_params(scope, node.params, self.blocks(), node)

    def leave_Lambda(self, node: cst.Lambda) -> None:
        self.stack.pop()

    def _bind_params(self, scope: Scope, params: cst.Parameters, blocks: tuple[int, ...], owner: cst.CSTNode) -> None:
        point = self.next_point()
        for param in [*params.posonly_params, *params.params, *params.kwonly_params]:
            annotation = param.annotation.annotation if param.annotation is not None else None
            binding = Binding(
                "param", param.name, None, scope, point, blocks, annotation=annotation, default=param.default,
                statement=owner,
            )  # fmt: skip
            scope.bind(param.name.value, binding)
            scope.params.append(binding)
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                scope.bind(star.name.value, Binding("star", star.name, None, scope, point, blocks, statement=owner))

    def _enter_comprehension(self, node: cst.ListComp | cst.SetComp | cst.GeneratorExp | cst.DictComp) -> None:
        parent = self.current
        frame = parent.frame
        scope = Scope(COMPREHENSION, node, parent, name="<comprehension>", cls=frame.cls, self_name=frame.self_name)
        self._enter(scope)
        point, blocks = self.next_point(), self.blocks()
        comp: cst.CompFor | None = node.for_in
        while comp is not None:  # bound before the element expression, which the walk visits first
            for index, name in _target_names(comp.target):
                binding = Binding("comprehension", name, comp.iter, scope, point, blocks, index=index, statement=comp)
                scope.bind(name.value, binding)
            comp = comp.inner_for_in

    def _leave_comprehension(self, node: cst.CSTNode) -> None:
        self.stack.pop()

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _enter_comprehension
    leave_ListComp = leave_SetComp = leave_GeneratorExp = leave_DictComp = _leave_comprehension

    def visit_If(self, node: cst.If) -> None:
        if self.dead_here():
            return
        constant = self._constant_condition(node.test)
        if constant is False:
            self.dead.add(id(node.body))
        elif constant is True and node.orelse is not None:
            self._kill_branch(node.orelse)

    def _kill_branch(self, branch: cst.If | cst.Else) -> None:
        self.dead.add(id(branch.body))
        if isinstance(branch, cst.If) and branch.orelse is not None:
            self._kill_branch(branch.orelse)

    def _constant_condition(self, test: cst.BaseExpression) -> bool | None:
        """The value of a test known without running anything: literals, ``TYPE_CHECKING``, ``not``."""
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            inner = self._constant_condition(test.expression)
            return None if inner is None else not inner
        if isinstance(test, cst.Name) and test.value in ("True", "False", "None"):
            return test.value == "True"
        if isinstance(test, cst.Integer):
            return test.value not in ("0", "0x0", "0o0", "0b0")
        if (self.context.qualified_name(test) or "") in ("typing.TYPE_CHECKING", "typing_extensions.TYPE_CHECKING"):
            return False
        return None

    def dead_here(self) -> bool:
        """The node being visited is in a block that never runs."""
        return bool(self.dead) and any(id(a) in self.dead for a in self.context.ancestors)

    def is_dead(self, site: Site | Binding) -> bool:
        """``site`` (or a binding) is in a block that never runs."""
        return bool(self.dead) and any(block in self.dead for block in site.blocks)

    def visit_Global(self, node: cst.Global) -> None:
        self.current.globals.update(n.name.value for n in node.names)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self.current.nonlocals.update(n.name.value for n in node.names)

    # -- bindings --------------------------------------------------------------------------

    def owner_of(self, name: str, scope: Scope) -> Scope:
        """The scope a binding of ``name`` made in ``scope`` lands in (``global``/``nonlocal``;
        a walrus in a comprehension binds in the scope around it)."""
        while scope.kind == COMPREHENSION and scope.parent is not None:
            scope = scope.parent
        if name in scope.globals:
            return self.module
        if name in scope.nonlocals:
            outer = scope.parent
            while outer is not None and outer.kind != MODULE:
                if outer.kind == FUNCTION and name in outer.bindings:
                    return outer
                outer = outer.parent
        return scope

    def bind_name(
        self,
        name: str,
        target: cst.CSTNode,
        value: cst.BaseExpression | None,
        kind: str,
        scope: Scope | None = None,
        **extra: Any,
    ) -> Binding:
        scope = self.owner_of(name, scope or self.current)
        binding = Binding(kind, target, value, scope, self.next_point(), self.blocks(), **extra)
        if not self.is_dead(binding):  # dead code binds nothing
            scope.bind(name, binding)
        return binding

    def bind_target(
        self,
        target: cst.BaseExpression,
        value: cst.BaseExpression | None,
        kind: str,
        statement: cst.CSTNode,
        index: int | None = None,
    ) -> None:
        if isinstance(target, cst.Name):
            self.bind_name(target.value, target, value, kind, index=index, statement=statement)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for i, element in enumerate(target.elements):
                inner = element.value
                if isinstance(element, cst.StarredElement):
                    self.bind_target(inner, None, "star", statement)
                else:
                    self.bind_target(inner, value, kind if kind != "aug" else "star", statement, i)
        elif isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name):
            self._bind_attribute(target, value, kind, statement, index)

    def _bind_attribute(
        self, target: cst.Attribute, value: cst.BaseExpression | None, kind: str, statement: cst.CSTNode,
        index: int | None = None, operator: str = "",
    ) -> None:  # fmt: skip
        scope = self.current
        if scope.cls is not None and isinstance(target.value, cst.Name) and target.value.value == scope.self_name:
            binding = Binding(
                kind, target, value, scope, self.next_point(), self.blocks(), index=index, operator=operator,
                statement=statement,
            )  # fmt: skip
            scope.cls.instance.setdefault(target.attr.value, []).append(binding)

    def leave_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self.bind_target(target.target, node.value, "assign", node)
            self._record_item(target.target, node.value, node)

    def _record_item(self, target: cst.BaseExpression, value: cst.BaseExpression, statement: cst.CSTNode) -> None:
        """``mapping[key] = value``: an entry of a dict built in this scope."""
        if isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name) and len(target.slice) == 1:
            index = target.slice[0].slice
            if isinstance(index, cst.Index):
                scope = self.current.frame
                binding = Binding(
                    "item", target.value, value, scope, self.next_point(), self.blocks(), default=index.value,
                    statement=statement,
                )  # fmt: skip
                scope.mutations.setdefault(target.value.value, []).append(binding)

    def leave_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self.bind_target(node.target, node.value, "assign", node)

    def leave_AugAssign(self, node: cst.AugAssign) -> None:
        operator = "+" if isinstance(node.operator, cst.AddAssign) else type(node.operator).__name__
        if isinstance(node.target, cst.Name):
            self.bind_name(node.target.value, node.target, node.value, "aug", operator=operator, statement=node)
        elif isinstance(node.target, cst.Attribute):
            self._bind_attribute(node.target, node.value, "aug", node, operator=operator)

    def leave_NamedExpr(self, node: cst.NamedExpr) -> None:
        self.bind_target(node.target, node.value, "assign", node)

    def visit_For(self, node: cst.For) -> None:
        self.bind_target(node.target, node.iter, "for", node)

    def leave_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None and isinstance(node.asname.name, (cst.Name, cst.Tuple, cst.List)):
            ancestors = self.context.ancestors
            statement = ancestors[-2] if len(ancestors) > 1 else node  # the With holding the item
            self.bind_target(node.asname.name, node.item, "with", statement)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if node.name is not None and isinstance(node.name.name, cst.Name):
            self.bind_name(node.name.name.value, node.name.name, None, "except", statement=node)

    def visit_Return(self, node: cst.Return) -> None:
        scope = self.current
        if node.value is not None and scope.kind == FUNCTION:
            scope.returns.append((node.value, self.site_at(node)))

    def visit_Yield(self, node: cst.Yield) -> None:
        scope = self.current.frame
        if isinstance(node.value, cst.BaseExpression) and scope.kind == FUNCTION:
            scope.returns.append((node.value, self.site_at(node)))

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and node.args:
            method = func.attr.value
            kind = _MUTATORS.get(method)
            if kind is not None:
                site = self.site_at(node)
                added = node.args[-1].value if method == "insert" else node.args[0].value
                binding = Binding(kind, func.value, added, site.scope.frame, site.point, site.blocks, statement=node)
                site.scope.frame.mutations.setdefault(func.value.value, []).append(binding)

    # -- lookups ---------------------------------------------------------------------------

    def lookup(self, name: str, site: Site) -> tuple[list[Binding], bool] | None:
        """The bindings of ``name`` visible at ``site``, and whether they are local to its frame.

        In the frame of the use only bindings made before it count (all of them if none is: a loop
        brings a later one round); in an enclosing scope, all of them. None: not bound in this
        module (an import, a builtin, or unknown).
        """
        scope: Scope | None = site.scope
        assert scope is not None
        while scope.kind in _TRANSPARENT and name not in scope.bindings and scope.parent is not None:
            scope = scope.parent
        same_frame = scope is site.scope or scope is site.scope.frame
        if scope.kind == FUNCTION and name in scope.globals:
            scope, same_frame = self.module, self.module is site.scope.frame
        if name in scope.bindings:
            found = scope.bindings[name]
            if same_frame:
                before = found[: bisect.bisect_left(found, site.point, key=_point)]  # in walk order
                return (before or found), True
            return found, False
        scope = scope.parent
        while scope is not None:
            if name in scope.bindings:
                return scope.bindings[name], False
            scope = scope.parent
        return None

    def class_of(self, base: cst.BaseExpression, site: Site) -> ClassInfo | None:
        """The module class that ``base`` names: ``self``/``cls`` in a method, a class name, or a
        name bound only to instances of one module class (``catalogue = Catalogue(...)``)."""
        if not isinstance(base, cst.Name):
            return None
        scope = site.scope
        if scope.cls is not None and base.value == scope.self_name:
            return scope.cls
        found = self.lookup(base.value, site)
        if found is None:
            return None
        if base.value in self.module_classes:
            return self.module_classes[base.value]
        classes = set()
        for binding in found[0]:
            value = binding.value
            if binding.kind == "assign" and isinstance(value, cst.Call) and isinstance(value.func, cst.Name):
                classes.add(value.func.value)
            else:
                return None
        if len(classes) == 1:
            return self.module_classes.get(classes.pop())
        return None

    def class_chain(self, info: ClassInfo) -> list[ClassInfo]:
        """The class and its bases defined in this module, nearest first (at most 8)."""
        chain: list[ClassInfo] = []
        todo = [info]
        while todo and len(chain) < 8:
            current = todo.pop(0)
            if current in chain:
                continue
            chain.append(current)
            todo += [
                self.module_classes[b.value]
                for b in current.bases
                if isinstance(b, cst.Name) and b.value in self.module_classes
            ]
        return chain

    def class_attribute(self, info: ClassInfo, attr: str) -> tuple[list[Binding], list[Binding]]:
        """(class-body bindings, ``self.<attr>`` bindings) of ``attr`` over the class and its bases."""
        chain = self.class_chain(info)
        return (
            [b for c in chain for b in c.scope.bindings.get(attr, ())],
            [b for c in chain for b in c.instance.get(attr, ())],
        )

    def function(self, func: cst.BaseExpression, site: Site) -> Scope | None:
        """The function of this module that ``func`` calls: a top-level ``def`` or a method via self/cls."""
        if isinstance(func, cst.Name):
            found = self.lookup(func.value, site)
            if found is not None and all(b.scope is self.module for b in found[0]):
                return self.module_functions.get(func.value)
            return None
        if isinstance(func, cst.Attribute):
            info = self.class_of(func.value, site)
            if info is not None:
                for cls in self.class_chain(info):
                    if func.attr.value in cls.methods:
                        return cls.methods[func.attr.value]
        return None


def _target_names(target: cst.BaseExpression, index: int | None = None) -> list[tuple[int | None, cst.Name]]:
    if isinstance(target, cst.Name):
        return [(index, target)]
    if isinstance(target, (cst.Tuple, cst.List)):
        out: list[tuple[int | None, cst.Name]] = []
        for i, element in enumerate(target.elements):
            out += _target_names(element.value, None if isinstance(element, cst.StarredElement) else i)
        return out
    return []
