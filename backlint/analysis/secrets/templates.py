"""Values that only fill a generated file: the defaults of a configuration-file generator.

A project's ``init`` command often writes the user's first configuration file from a template, with
local-development defaults (kinto's ``kinto/config/__init__.py``: a module dict of values per
backend, ``postgresql://postgres:postgres@localhost/postgres`` among them, merged into ``values``
and rendered by ``raw_template.format_map(kwargs)`` into the file it writes). Such a value is text
of the generated file, which its user edits; the app never connects with it.

``only_rendered`` follows a literal through the module, syntactically and conservatively: through
dict and list literals holding it, subscripts of them, module and local names bound to it, a dict's
``update(...)`` into another name, and ``**values``/keyword arguments into a function of the module
(its ``**kwargs`` or named parameter). It ends at a template's rendering (``template.format_map(v)``,
``template.format(**v)``/``(key=v)``, ``Template(...).substitute(v)``, ``template.render(**v)``)
whose text is only written to a file (``out.write(text)``, ``path.write_text(text)``). Any other use
(a connection, a return, an argument to anything else) and the answer is no.
"""

from __future__ import annotations

import libcst as cst

# A template's rendering methods: the argument fills the template, the call's value is the text.
_RENDERERS = frozenset(("format", "format_map", "substitute", "safe_substitute", "render"))
# Writing the rendered text to a file.
_WRITERS = frozenset(("write", "write_text", "writelines"))
# Uses of a container that only put values into it or read it into the flow already followed.
_FILLERS = frozenset(("update", "setdefault"))
_MAX_STEPS = 200


class _Parents(cst.CSTVisitor):
    def __init__(self) -> None:
        self.parent: dict[int, cst.CSTNode] = {}
        self.stack: list[cst.CSTNode] = []
        self.names: dict[str, list[cst.Name]] = {}

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self.stack:
            self.parent[id(node)] = self.stack[-1]
        self.stack.append(node)
        if isinstance(node, cst.Name):
            self.names.setdefault(node.value, []).append(node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.stack.pop()


class _Flow:
    def __init__(self, module: cst.Module) -> None:
        self.module = module
        self.tree = _Parents()
        module.visit(self.tree)
        self.functions = {
            statement.name.value: statement for statement in module.body if isinstance(statement, cst.FunctionDef)
        }
        self.steps = 0
        self.seen: set[tuple[str, int]] = set()
        self.rendered = False

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self.tree.parent.get(id(node))

    def within(self, node: cst.CSTNode, owner: cst.CSTNode) -> bool:
        current: cst.CSTNode | None = node
        while current is not None:
            if current is owner:
                return True
            current = self.parent(current)
        return False

    def enclosing_function(self, node: cst.CSTNode) -> cst.FunctionDef | None:
        current = self.parent(node)
        while current is not None:
            if isinstance(current, (cst.FunctionDef, cst.Lambda)):
                return current if isinstance(current, cst.FunctionDef) else None
            current = self.parent(current)
        return None

    def value(self, expr: cst.CSTNode) -> bool:
        """Does the value of ``expr`` only fill templates written to files?"""
        self.steps += 1
        if self.steps > _MAX_STEPS:
            return False
        # Climb through the containers and subscripts that carry the value.
        while True:
            parent = self.parent(expr)
            if isinstance(parent, (cst.DictElement, cst.Element)) and parent.value is expr:
                container = self.parent(parent)
                if not isinstance(container, (cst.Dict, cst.List, cst.Tuple, cst.Set)):
                    return False
                expr = container
            elif isinstance(parent, cst.IfExp) and parent.test is not expr:
                expr = parent  # ``LOCAL if local else DEFAULTS``: either fills the template
            elif isinstance(parent, cst.Subscript) and parent.value is expr:
                if self._stored_into(parent):
                    return True  # ``values["host"] = host``: a store into the container, not a use of it
                expr = parent
            else:
                break
        parent = self.parent(expr)
        if isinstance(parent, cst.Assign) and parent.value is expr:
            target = _single_name(parent)
            return target is not None and self.name(target.value, self.enclosing_function(parent))
        if isinstance(parent, cst.Arg):
            return self.argument(parent)
        return False

    def _stored_into(self, subscript: cst.Subscript) -> bool:
        parent = self.parent(subscript)
        if isinstance(parent, cst.AssignTarget):
            return True
        return isinstance(parent, cst.Assign) and any(t.target is subscript for t in parent.targets)

    def name(self, name: str, function: cst.FunctionDef | None) -> bool:
        """Do the uses of ``name`` (a module name, or a local of ``function``) only fill rendered files?"""
        key = (name, id(function))
        if key in self.seen:
            return True
        self.seen.add(key)
        owner: cst.CSTNode = function if function is not None else self.module
        found = False
        for node in self.tree.names.get(name, ()):
            if not self.within(node, owner):
                continue
            parent = self.parent(node)
            if isinstance(parent, cst.AssignTarget) and parent.target is node:
                continue  # the binding itself
            if isinstance(parent, cst.Param) and parent.name is node:
                continue  # a parameter's name
            if isinstance(parent, cst.Attribute) and parent.attr is node:
                continue  # ``x.name``: another name spelled the same
            if isinstance(parent, cst.Arg) and parent.keyword is node:
                continue  # ``f(name=...)``: a keyword
            if isinstance(parent, cst.Attribute) and parent.value is node:
                if self._filled(parent):
                    continue  # ``values.update(...)``: filled, not read
                return False
            if function is None and self._shadowed(node):
                continue  # a local of a function that binds the same name
            found = True
            if not self.value(node):
                return False
        return found

    def _shadowed(self, node: cst.Name) -> bool:
        """Is ``node`` in a function that binds its name itself (a parameter, an assignment)?"""
        function = self.enclosing_function(node)
        while function is not None:
            for param in (*function.params.params, *function.params.kwonly_params, *function.params.posonly_params):
                if param.name.value == node.value:
                    return True
            star = function.params.star_kwarg
            if star is not None and star.name.value == node.value:
                return True
            for other in self.tree.names.get(node.value, ()):
                parent = self.parent(other)
                if (
                    isinstance(parent, cst.AssignTarget)
                    and parent.target is other
                    and self.enclosing_function(other) is function
                ):
                    return True
            function = self.enclosing_function(function)
        return False

    def _filled(self, attribute: cst.Attribute) -> bool:
        """``values.update(other)``: the container is filled, not read."""
        call = self.parent(attribute)
        return isinstance(call, cst.Call) and call.func is attribute and attribute.attr.value in _FILLERS

    def argument(self, arg: cst.Arg) -> bool:
        call = self.parent(arg)
        if not isinstance(call, cst.Call):
            return False
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value in _FILLERS and isinstance(func.value, cst.Name):
            # ``values.update(backend_to_values[backend])``: the values join ``values``
            return self.name(func.value.value, self.enclosing_function(call))
        if isinstance(func, cst.Attribute) and func.attr.value in _RENDERERS:
            if func.value is arg.value:
                return False
            return self.written(call)
        if isinstance(func, cst.Name) and func.value in self.functions:
            return self.parameter(self.functions[func.value], call, arg)
        return False

    def parameter(self, function: cst.FunctionDef, call: cst.Call, arg: cst.Arg) -> bool:
        """The value enters ``function`` through ``arg``: follow the parameter it binds."""
        params = function.params
        star = params.star_kwarg
        if arg.star == "**":
            return star is not None and self.name(star.name.value, function)
        if arg.star:
            return False
        if arg.keyword is not None:
            for param in (*params.params, *params.kwonly_params):
                if param.name.value == arg.keyword.value:
                    return self.name(param.name.value, function)
            return star is not None and self.name(star.name.value, function)
        positional = [a for a in call.args if a.keyword is None and not a.star]
        index = next(i for i, a in enumerate(positional) if a is arg)
        ordered = (*params.posonly_params, *params.params)
        if index >= len(ordered):
            return False
        return self.name(ordered[index].name.value, function)

    def written(self, call: cst.Call) -> bool:
        """Is the rendered text (``call``'s value) only written to files?"""
        parent = self.parent(call)
        if isinstance(parent, cst.Arg):
            return self._writes(parent)
        target = _single_name(parent)
        if target is not None and parent is not None:
            function = self.enclosing_function(parent)
            owner: cst.CSTNode = function if function is not None else self.module
            name = target.value
            uses = [
                n
                for n in self.tree.names.get(name, ())
                if self.within(n, owner) and not isinstance(self.parent(n), cst.AssignTarget)
            ]
            if not uses or not all(isinstance(self.parent(n), cst.Arg) and self._writes(self.parent(n)) for n in uses):
                return False
            self.rendered = True
            return True
        return False

    def _writes(self, arg: cst.CSTNode | None) -> bool:
        call = self.parent(arg) if arg is not None else None
        if not isinstance(call, cst.Call) or not isinstance(call.func, cst.Attribute):
            return False
        if call.func.attr.value not in _WRITERS:
            return False
        self.rendered = True
        return True


def _single_name(node: cst.CSTNode | None) -> cst.Name | None:
    """The one name an assignment binds (``rendered = ...``), or None."""
    if not isinstance(node, cst.Assign) or len(node.targets) != 1:
        return None
    target = node.targets[0].target
    return target if isinstance(target, cst.Name) else None


def only_rendered(module: cst.Module, literal: cst.CSTNode) -> bool:
    """Does ``literal`` (a node of ``module``) only fill templates rendered into written files?"""
    flow = _Flow(module)
    return flow.value(literal) and flow.rendered
