#!/usr/bin/env python3
"""Where a cold run's CPU time goes, stage by stage, and how well the pre-filter works.

    python benchmarks/stages.py PATH [--select ...]

Runs the real pipeline serially in this process (no cache) with timers wrapped around each
stage: discovery, libcst parse, the batched walk (all rules' visit methods), positions for files
with findings, the ``ast`` syntax check of pre-filtered files, and the project pass. Unlike
cProfile it does not inflate Python-level work, so the shares are the real ones. It also counts,
per rule, the files its trigger tokens let through: a rule whose tokens occur everywhere makes
every file pay for a libcst parse.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

_clock = time.process_time
spent: collections.defaultdict[str, float] = collections.defaultdict(float)
triggered: collections.Counter[str] = collections.Counter()
per_rule: collections.defaultdict[str, float] = collections.defaultdict(float)


def timed(label: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = _clock()
        try:
            return function(*args, **kwargs)
        finally:
            spent[label] += _clock() - start

    return wrapper


class _TimedGc:
    """The stage's ``gc`` module with ``collect`` timed: the one young collection after each file."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def collect(self, generation: int = 2) -> int:
        start = _clock()
        try:
            return self._real.collect(generation)
        finally:
            spent["gc after each file"] += _clock() - start

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--select", action="append", default=[])
    args = parser.parse_args()

    start = _clock()
    import libcst
    from libcst.metadata import MetadataWrapper

    import backlint.pipeline.engine
    import backlint.pipeline.filestage
    import backlint.pipeline.walk
    from backlint.api import RULE_PACKAGES
    from backlint.core.catalog import load_catalog
    from backlint.core.config import load_config
    from backlint.pipeline.discovery import discover
    from backlint.pipeline.registry import load_registry

    load_registry(RULE_PACKAGES)
    spent["imports (libcst, rules)"] += _clock() - start

    libcst.parse_module = timed("libcst parse", libcst.parse_module)
    backlint.pipeline.walk.BatchedWalker.walk = timed("walk + rule visits", backlint.pipeline.walk.BatchedWalker.walk)  # type: ignore[method-assign]
    real_init = backlint.pipeline.walk.BatchedWalker.__init__

    def init(self: Any, rules: Any, context: Any) -> None:
        """Each visit_/leave_ handler timed and charged to its rule or collector."""
        real_init(self, rules, context)
        for table in (self.visitors, self.leavers):
            for name, handlers in table.items():
                table[name] = [timed_handler(h) for h in handlers]

    def timed_handler(handler: Any) -> Any:
        owner = type(handler.__self__)
        label = getattr(owner, "id", owner.__name__)

        def run(node: Any) -> Any:
            start = _clock()
            try:
                return handler(node)
            finally:
                per_rule[label] += _clock() - start

        return run

    backlint.pipeline.walk.BatchedWalker.__init__ = init  # type: ignore[method-assign]
    MetadataWrapper.resolve = timed("positions (files with findings)", MetadataWrapper.resolve)  # type: ignore[method-assign]
    backlint.pipeline.filestage._syntax_check = timed(
        "ast check (files no rule needed)", backlint.pipeline.filestage._syntax_check
    )
    backlint.pipeline.engine.project_pass = timed("project pass", backlint.pipeline.engine.project_pass)  # type: ignore[assignment]
    real_active = backlint.pipeline.filestage.active_rules

    def active_rules(kind: Any, text: str, settings: Any) -> Any:
        start = _clock()
        rules, collectors = real_active(kind, text, settings)
        spent["pre-filter (trigger tokens)"] += _clock() - start
        triggered["files"] += 1
        triggered["parsed"] += bool(rules or collectors)
        for cls, _ in rules:
            triggered[cls.id] += 1
        for collector in collectors:
            triggered[collector.__name__] += 1
        return rules, collectors

    backlint.pipeline.filestage.active_rules = active_rules

    # The per-file work around the parse and the walk ("other" before these were timed).
    import backlint.pipeline.engine as engine
    import backlint.pipeline.filestage as filestage

    engine.read_file_bytes = timed("read file", engine.read_file_bytes)
    engine.decode_source = timed("decode (PEP 263)", engine.decode_source)
    engine.classify = timed("file kind", engine.classify)
    engine.suppressions_for = timed("suppressions", engine.suppressions_for)
    import backlint.pipeline.precheck as precheck  # filestage calls precheck.too_complex through the module

    precheck.too_complex = timed("pre-checks (nesting, long lines)", precheck.too_complex)
    filestage._risky = timed("pre-checks (nesting, long lines)", filestage._risky)
    filestage._prescan_imports = timed("module-level imports", filestage._prescan_imports)
    filestage.gc = _TimedGc(filestage.gc)

    catalog = load_catalog()
    config = load_config(catalog, explicit=None, start=args.paths[0].absolute())
    if args.select:
        import dataclasses

        config = dataclasses.replace(config, select=tuple(args.select))
    from backlint.api import settings_for

    settings = settings_for(config, catalog)
    start = _clock()
    found = discover(args.paths, config)
    spent["discovery"] += _clock() - start
    total_start = _clock()
    result = backlint.pipeline.engine.run(found.files, settings, catalog, config, jobs=1)
    total = _clock() - total_start + spent["discovery"] + spent["imports (libcst, rules)"]
    lines = sum(f.path.read_bytes().count(b"\n") for f in found.files)

    print(f"{len(found.files)} files, {lines} lines, {len(result.findings)} findings; CPU {total:.2f} s (one process)")
    accounted = 0.0
    for label, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        accounted += seconds if label != "project pass" else 0.0
        per_kline = 1e6 * seconds / lines
        print(f"  {label:<36} {seconds:7.2f} s  {100 * seconds / total:5.1f} %  {per_kline:6.1f} ms/kline")
    rest = total - accounted
    print(f"  {'other (read, decode, suppressions...)':<36} {rest:7.2f} s  {100 * rest / total:5.1f} %")
    walking = spent["walk + rule visits"] - sum(per_rule.values())
    print(f"\nwithin the walk: the traversal itself {walking:.2f} s; the rules' and collectors' handlers:")
    print(f"  {'rule / collector':<24} {'handlers':>9} {'files let through by its triggers':>36}")
    for name in sorted(set(per_rule) | set(triggered) - {"files", "parsed"}, key=lambda n: -per_rule[n]):
        count = triggered[name]
        share = 100 * count / max(1, triggered["files"])
        print(f"  {name:<24} {per_rule[name]:8.2f} s {count:26} ({share:3.0f} %)")
    print(f"pre-filter: {triggered['parsed']} of {triggered['files']} files parsed with libcst")
    return 0


if __name__ == "__main__":
    sys.exit(main())
