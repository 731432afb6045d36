"""One module per rule family, one class per rule; discovered, never listed by hand."""

from __future__ import annotations

import functools
import importlib
import pkgutil

from backlint.facts import FactCollector, ProjectRule
from backlint.rule import Rule


@functools.lru_cache(maxsize=1)
def registry() -> tuple[dict[str, type[Rule]], dict[str, type[ProjectRule]], tuple[type[FactCollector], ...]]:
    """(file rules by id, project rules by id, fact collectors) from every module in this package."""
    file_rules: dict[str, type[Rule]] = {}
    project_rules: dict[str, type[ProjectRule]] = {}
    collectors: list[type[FactCollector]] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if not isinstance(value, type) or value.__module__ != module.__name__:
                continue
            if issubclass(value, Rule) and hasattr(value, "id"):
                file_rules[value.id] = value
            elif issubclass(value, ProjectRule) and hasattr(value, "id"):
                project_rules[value.id] = value
            elif issubclass(value, FactCollector) and value is not FactCollector:
                collectors.append(value)
    return file_rules, project_rules, tuple(collectors)
