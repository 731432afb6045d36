"""The rule registry: every Rule, ProjectRule and FactCollector class of the rule packages.

The pipeline never imports the checks: the layer above names their package in ``Settings``
(``backlint.checks``, like Fixit's ``enable = ["fixit.rules"]``), and the classes are found here by
walking that package, so adding a rule module is all it takes to register its rules.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import pkgutil

from backlint.core.facts import FactCollector, ProjectRule
from backlint.core.rule import Rule


@dataclasses.dataclass(frozen=True)
class Registry:
    file_rules: dict[str, type[Rule]]
    project_rules: dict[str, type[ProjectRule]]
    collectors: tuple[type[FactCollector], ...]


@functools.lru_cache(maxsize=4)
def load_registry(packages: tuple[str, ...]) -> Registry:
    """The rule classes defined in every module of ``packages`` (imported once per process)."""
    file_rules: dict[str, type[Rule]] = {}
    project_rules: dict[str, type[ProjectRule]] = {}
    collectors: list[type[FactCollector]] = []
    for package_name in packages:
        package = importlib.import_module(package_name)
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
            module = importlib.import_module(f"{package_name}.{info.name}")
            for value in vars(module).values():
                if not isinstance(value, type) or value.__module__ != module.__name__:
                    continue
                if issubclass(value, Rule) and hasattr(value, "id"):
                    file_rules[value.id] = value
                elif issubclass(value, ProjectRule) and hasattr(value, "id"):
                    project_rules[value.id] = value
                elif issubclass(value, FactCollector) and value is not FactCollector:
                    collectors.append(value)
    return Registry(file_rules, project_rules, tuple(collectors))


@functools.lru_cache(maxsize=4)
def load_class(name: str) -> type:
    """The class ``module:Name`` names (imported once per process)."""
    module, _, attribute = name.partition(":")
    value = getattr(importlib.import_module(module), attribute)
    assert isinstance(value, type), name
    return value
