#!/usr/bin/env python3
"""The pre-commit hook's one-file run on a generated 1,000-file project, cold and warm cache.

    python benchmarks/hook_timing.py [--files 1000] [--runs 3] [--workdir DIR]

The hook is ``backlint --force-exclude <file>`` (.pre-commit-hooks.yaml), run from the project root
with the one file a commit changes. Project rules judge with the whole project's facts, so:

- **cold**: no ``.backlint_cache``: the file is linted and a facts-only pass over the other files
  builds and caches their facts (what the first commit after a clone pays);
- **warm, file edited**: the cache holds every file's facts (a previous run), the committed file
  has changed since: it is linted again, the others' facts come from the cache;
- **warm, unchanged**: the same file again, nothing changed (a re-run of the hook).

Each is measured as a whole process (wall, and CPU of the process and its workers), ``--runs``
times; medians and minimums are printed. The project comes from benchmarks/project_gen.py.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from project_gen import generate  # a sibling script, not a package


def timed(command: list[str], cwd: Path) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of the process tree, exit code)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    code = subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, code


def row(label: str, samples: list[tuple[float, float, int]]) -> str:
    walls = [s[0] for s in samples]
    cpus = [s[1] for s in samples]
    codes = sorted({s[2] for s in samples})
    return (
        f"{label:<34} {statistics.median(walls):7.2f} {min(walls):7.2f} {statistics.median(cpus):7.2f}"
        f"   exit {','.join(map(str, codes))}  n={len(samples)}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "backlint-hook-bench")
    args = parser.parse_args()

    root = args.workdir / f"project-{args.files}"
    shutil.rmtree(root, ignore_errors=True)
    routes = generate(root, args.files)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    clean = routes[len(routes) // 2 + 1]  # a clean route module (every tenth has findings)
    flagged = routes[0]
    cache = root / ".backlint_cache"
    hook = [sys.executable, "-m", "backlint", "--force-exclude"]
    original = {path: path.read_bytes() for path in (clean, flagged)}
    print(f"project: {sum(1 for _ in root.rglob('*.py'))} Python files; backlint from {Path(__file__).parent.parent}")

    series: dict[str, list[tuple[float, float, int]]] = {}
    try:
        for round_number in range(args.runs):
            print(f"  round {round_number + 1}/{args.runs}", file=sys.stderr, flush=True)
            for label, target in (("clean file", clean), ("file with findings", flagged)):
                relative = str(target.relative_to(root))
                shutil.rmtree(cache, ignore_errors=True)
                series.setdefault(f"cold cache, {label}", []).append(timed([*hook, relative], root))
                target.write_bytes(original[target] + f"\n\nREVISION = {round_number}\n".encode())
                series.setdefault(f"warm, {label} edited", []).append(timed([*hook, relative], root))
                series.setdefault(f"warm, {label} unchanged", []).append(timed([*hook, relative], root))
                target.write_bytes(original[target])
    finally:
        for path, data in original.items():
            path.write_bytes(data)
    print(f"\n{'one-file hook run':<34} {'median':>7} {'min':>7} {'cpu':>7}   (seconds; cpu = user+sys, median)")
    for label, samples in series.items():
        print(row(label, samples))
    return 0


if __name__ == "__main__":
    sys.exit(main())
