"""A cheap import-alias table, instead of libcst's QualifiedNameProvider (10x the parse)."""

from __future__ import annotations

import libcst as cst


def dotted_name(node: cst.CSTNode) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    # ``type() is``: libcst's node classes have ABCMeta as metaclass, and a failing isinstance()
    # against one costs ~0.4 µs (a Python-level __instancecheck__), ten times this; neither class
    # has subclasses. The walks call this for most names and calls of a file.
    parts: list[str] = []
    while type(node) is cst.Attribute:
        parts.append(node.attr.value)
        node = node.value
    if type(node) is not cst.Name:
        return None
    parts.append(node.value)
    return ".".join(reversed(parts))


class ImportTable:
    """Maps names bound by imports to the qualified names they stand for."""

    def __init__(self, module_name: str = "", is_package: bool = False) -> None:
        self.aliases: dict[str, str] = {}
        # id(node) -> (node, its dotted name): rules ask about the same callee many times per file;
        # holding the node keeps its id from being reused while the table lives.
        self._dotted: dict[int, tuple[cst.CSTNode, str | None]] = {}
        self._package = module_name if is_package else module_name.rpartition(".")[0]

    def add(self, node: cst.Import | cst.ImportFrom) -> None:
        if isinstance(node, cst.Import):
            for alias in node.names:
                full = dotted_name(alias.name) or ""
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    self.aliases[alias.asname.name.value] = full
                else:
                    head = full.split(".")[0]
                    self.aliases[head] = head
            return
        base = self._absolute_module(node)
        if isinstance(node.names, cst.ImportStar):
            return
        for alias in node.names:
            name = dotted_name(alias.name) or ""
            local = name
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            self.aliases[local] = f"{base}.{name}" if base else name

    def _absolute_module(self, node: cst.ImportFrom) -> str:
        module = dotted_name(node.module) if node.module is not None else ""
        level = len(node.relative)
        if not level:
            return module or ""
        package_parts = self._package.split(".") if self._package else []
        if level > 1:
            package_parts = package_parts[: len(package_parts) - (level - 1)]
        return ".".join([*package_parts, *([module] if module else [])])

    def qualify(self, node: cst.CSTNode) -> str | None:
        """Resolve the head of a dotted name through the imports; unimported names stay as written."""
        known = self._dotted.get(id(node))
        if known is not None and known[0] is node:
            name = known[1]
        else:
            name = dotted_name(node)
            self._dotted[id(node)] = (node, name)
        if name is None:
            return None
        head, dot, rest = name.partition(".")
        target = self.aliases.get(head)
        if target is None:
            return name
        return f"{target}{dot}{rest}"

    def imports_module(self, prefix: str) -> bool:
        """True if any import binds something from ``prefix`` (a module or package)."""
        return any(t == prefix or t.startswith(prefix + ".") for t in self.aliases.values())
