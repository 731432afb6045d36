#!/usr/bin/env python3
"""Mutation battery: randomly damaged Django and SQLAlchemy modules, each linted twice.

    python benchmarks/mutate.py [--files 2000] [--seed 0] [--jobs 2] [--serial] [--select-all]
        [--from-registry] [--workdir DIR] [--keep DIR] [--minimize] [--json FILE]

Run it niced and alone: ``nice -n 10 python benchmarks/mutate.py`` (2,000 files: a few minutes per
lint on 2 cores).

1. Takes the ``.py`` files of the Django and SQLAlchemy installed in this interpreter (found with
   ``importlib.util.find_spec``), or with ``--from-registry`` the wheels ``benchmarks/run.py``
   downloads into its work directory (``--workdir``, default ``$TMPDIR/backlint-bench``, shared
   with run.py so that the download is reused).
2. Picks ``--files`` of them in a seeded order (more files than the packages hold: each is used
   again, with other mutations) and damages each with 1 to 3 random edits: single bytes deleted, a
   run of bytes deleted, single lines deleted, a block of lines deleted. For a share of them
   (``--parsable``, default half) the damage is redrawn until the file still parses, so that it
   reaches the rules and the project pass (a deleted import, definition or branch) instead of
   stopping at BL000. The same ``--seed`` gives the same tree. The files keep their package paths
   under ``v0/``, ``v1/``, … in a temporary tree.
3. Lints the tree twice with ``python -m backlint TREE --format json --no-cache -j JOBS`` (plus once
   with ``-j 1`` with ``--serial``; ``--select-all`` adds ``--select ALL``).
4. Reports: internal errors (notices with level error, exit code 2), tracebacks on stderr, crashes
   (a negative exit code), unparsable output, and every difference between the runs
   (nondeterminism: findings or notices that differ). BL000 findings (cannot decode / parse) are
   the expected answer to most mutants and only counted.

Prints a summary; exits 1 if there was any problem, 0 otherwise. ``--keep DIR`` copies every file
with a problem there (with ``manifest.json``: the original file and the mutations applied);
``--minimize`` also shrinks each of them, line by line, to a small file that still gives the same
internal error (``<name>.min.py``). ``--json FILE`` writes the whole report.
"""

from __future__ import annotations

import argparse
import ast
import collections
import dataclasses
import importlib.util
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("django", "sqlalchemy")


# --------------------------------------------------------------------------------------------------
# The corpus


def installed_sources() -> list[tuple[Path, str]]:
    """(file, path relative to the package's parent) of the installed Django and SQLAlchemy."""
    out: list[tuple[Path, str]] = []
    for package in PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            sys.exit(f"mutate.py: {package} is not installed in {sys.executable} (or use --from-registry)")
        for location in spec.submodule_search_locations:
            root = Path(location).parent
            out += [(path, path.relative_to(root).as_posix()) for path in sorted(Path(location).rglob("*.py"))]
    return out


def registry_sources(workdir: Path) -> list[tuple[Path, str]]:
    """The same packages from the registry wheels, fetched the way benchmarks/run.py fetches them."""
    spec = importlib.util.spec_from_file_location("backlint_bench_run", REPO / "benchmarks" / "run.py")
    if spec is None or spec.loader is None:
        sys.exit("mutate.py: cannot load benchmarks/run.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    corpus = bench.build_corpus(workdir.resolve(), list(PACKAGES))
    out: list[tuple[Path, str]] = []
    for project, package, _version in corpus.values():
        out += [(path, path.relative_to(project).as_posix()) for path in sorted((project / package).rglob("*.py"))]
    return out


# --------------------------------------------------------------------------------------------------
# Mutations


def mutate(data: bytes, rng: random.Random) -> tuple[bytes, list[str]]:
    """1 to 3 random deletions; returns the damaged bytes and what was done (reproducible from the seed)."""
    done: list[str] = []
    for _ in range(rng.randint(1, 3)):
        if not data:
            break
        kind = rng.choice(("bytes", "span", "lines", "block"))
        if kind == "bytes":
            count = rng.randint(1, 8)
            offsets = sorted(rng.sample(range(len(data)), min(count, len(data))), reverse=True)
            for offset in offsets:
                data = data[:offset] + data[offset + 1 :]
            done.append(f"deleted bytes at {sorted(offsets)}")
        elif kind == "span":
            start = rng.randrange(len(data))
            length = rng.randint(2, 64)
            data = data[:start] + data[start + length :]
            done.append(f"deleted {length} bytes at {start}")
        else:
            lines = data.splitlines(keepends=True)
            if len(lines) < 2:
                continue
            if kind == "lines":
                picked = sorted(rng.sample(range(len(lines)), min(rng.randint(1, 4), len(lines) - 1)))
                done.append(f"deleted lines {[i + 1 for i in picked]}")
                drop = set(picked)
                lines = [line for i, line in enumerate(lines) if i not in drop]
            else:
                start = rng.randrange(len(lines))
                length = min(rng.randint(2, 30), len(lines) - start)
                done.append(f"deleted lines {start + 1}-{start + length}")
                del lines[start : start + length]
            data = b"".join(lines)
    return data, done


@dataclasses.dataclass
class Mutant:
    path: str  # relative to the tree
    original: str  # package-relative path of the file it was made from
    mutations: list[str]


def _parses(data: bytes) -> bool:
    try:
        ast.parse(data)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def build_tree(sources: list[tuple[Path, str]], count: int, seed: int, tree: Path, parsable: float) -> list[Mutant]:
    """``parsable``: the share of mutants whose damage is redrawn (up to 30 times) until it still parses:
    they reach the rules and the project pass; the others mostly exercise the BL000 paths."""
    order = list(sources)
    random.Random(seed).shuffle(order)
    mutants = []
    for number in range(count):
        source, relative = order[number % len(order)]
        rng = random.Random(f"{seed}:{number}")
        original = source.read_bytes()
        data, done = mutate(original, rng)
        if rng.random() < parsable:
            for _ in range(30):
                if _parses(data):
                    break
                data, done = mutate(original, rng)
        path = f"v{number // len(order)}/{relative}"
        target = tree / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        mutants.append(Mutant(path, relative, done))
    return mutants


# --------------------------------------------------------------------------------------------------
# Lint runs


@dataclasses.dataclass
class Run:
    label: str
    command: list[str]
    code: int
    seconds: float
    stdout: str
    stderr: str
    report: dict[str, Any] | None

    def problems(self) -> list[str]:
        out = []
        if self.code < 0:
            out.append(f"{self.label}: crashed (exit {self.code})")
        elif self.code == 124 and self.report is None:
            out.append(f"{self.label}: timed out")
        elif self.code not in (0, 1):
            out.append(f"{self.label}: exit {self.code}")
        if self.report is None and self.code != 124:
            out.append(f"{self.label}: output is not a JSON report ({self.stdout[:80]!r})")
        if "Traceback" in self.stderr:
            out.append(f"{self.label}: traceback on stderr: {_last_line(self.stderr)}")
        for notice in self.internal_errors():
            out.append(f"{self.label}: {notice['path']}: {notice['message'][:200]}")
        return out

    def internal_errors(self) -> list[dict[str, Any]]:
        if self.report is None:
            return []
        return [n for n in self.report.get("notices", []) if n.get("level") == "error"]

    def items(self) -> set[str]:
        """Every finding and notice as one comparable line."""
        if self.report is None:
            return set()
        out = {json.dumps(f, sort_keys=True) for f in self.report.get("findings", [])}
        out |= {"notice " + json.dumps(n, sort_keys=True) for n in self.report.get("notices", [])}
        return out


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


def lint(tree: Path, jobs: int, select_all: bool, label: str, timeout: float) -> Run:
    command = [sys.executable, "-m", "backlint", ".", "--format", "json", "--no-cache", "-j", str(jobs)]
    if select_all:
        command += ["--select", "ALL"]
    started = time.perf_counter()
    try:
        proc = subprocess.run(command, cwd=tree, capture_output=True, text=True, timeout=timeout, env=_env())
        code, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        code = 124
        stdout = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
    seconds = time.perf_counter() - started
    try:
        report = json.loads(stdout)
    except json.JSONDecodeError:
        report = None
    return Run(label, command, code, seconds, stdout, stderr, report)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env["PYTHONPATH"] = str(REPO)  # this checkout's backlint, whatever the tree contains
    return env


# --------------------------------------------------------------------------------------------------
# Reproducers


def _signature(message: str) -> str:
    """An internal error's message without the parts that change with the file (numbers, names)."""
    return re.sub(r"\d+", "N", message.split("\n")[0])[:120]


def lint_one(path: Path, select_all: bool) -> list[str]:
    """The internal-error signatures of linting one file alone (-j 1)."""
    command = [sys.executable, "-m", "backlint", path.name, "--format", "json", "--no-cache", "-j", "1"]
    if select_all:
        command += ["--select", "ALL"]
    proc = subprocess.run(command, cwd=path.parent, capture_output=True, text=True, timeout=120, env=_env())
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return [f"no report (exit {proc.returncode}): {_last_line(proc.stderr)}"]
    out = [_signature(n["message"]) for n in report.get("notices", []) if n.get("level") == "error"]
    if "Traceback" in proc.stderr:
        out.append("traceback: " + _signature(_last_line(proc.stderr)))
    return out


def minimize(path: Path, select_all: bool, budget: int = 400) -> tuple[bytes, int]:
    """Delete chunks of lines (halves, quarters, … single lines) while the same internal error stays."""
    wanted = lint_one(path, select_all)
    if not wanted:
        return path.read_bytes(), 1
    lines = path.read_bytes().splitlines(keepends=True)
    work = path.with_name("minimizing_" + path.name)
    tries = 1
    chunk = max(1, len(lines) // 2)
    while chunk >= 1 and tries < budget:
        start, removed = 0, False
        while start < len(lines) and tries < budget:
            candidate = lines[:start] + lines[start + chunk :]
            work.write_bytes(b"".join(candidate))
            tries += 1
            if candidate and any(sig in lint_one(work, select_all) for sig in wanted[:1]):
                lines, removed = candidate, True
            else:
                start += chunk
        if not removed:
            chunk //= 2
    work.unlink(missing_ok=True)
    return b"".join(lines), tries


# --------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--files", type=int, default=2000, help="mutated files (default 2000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2, help="-j of the two parallel runs (default 2)")
    parser.add_argument("--serial", action="store_true", help="also lint once with -j 1 and compare")
    parser.add_argument("--select-all", action="store_true", help="lint with --select ALL (every rule)")
    parser.add_argument(
        "--parsable", type=float, default=0.5, help="share of mutants redrawn until they still parse (default 0.5)"
    )
    parser.add_argument("--from-registry", action="store_true", help="use registry wheels, as benchmarks/run.py")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "backlint-bench")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per lint run (default 3600)")
    parser.add_argument("--keep", type=Path, help="copy the files with problems (and a manifest) here")
    parser.add_argument("--minimize", action="store_true", help="with --keep: shrink each file with an error")
    parser.add_argument("--json", type=Path, help="write the report here")
    args = parser.parse_args()

    sources = registry_sources(args.workdir) if args.from_registry else installed_sources()
    print(f"{len(sources)} source files; {args.files} mutants, seed {args.seed}", flush=True)
    with tempfile.TemporaryDirectory(prefix="backlint-mutants-") as tmp:
        tree = Path(tmp) / "tree"
        mutants = build_tree(sources, args.files, args.seed, tree, args.parsable)
        by_path = {m.path: m for m in mutants}
        runs = []
        plan = [(args.jobs, "run 1"), (args.jobs, "run 2")] + ([(1, "serial")] if args.serial else [])
        for jobs, label in plan:
            label = f"{label} (-j {jobs})"
            run = lint(tree, jobs, args.select_all, label, args.timeout)
            print(f"{label}: exit {run.code}, {run.seconds:.1f} s", flush=True)
            runs.append(run)
        problems = [line for run in runs for line in run.problems()]
        bad_paths = {n["path"] for run in runs for n in run.internal_errors()}
        reference = runs[0].items()
        for run in runs[1:]:
            for label, items in ((runs[0].label, reference - run.items()), (run.label, run.items() - reference)):
                for number, item in enumerate(sorted(items)):
                    bad_paths.add(json.loads(item.removeprefix("notice "))["path"])
                    if number < 20:
                        problems.append(f"nondeterminism: only in {label}: {item[:300]}")
                if len(items) > 20:
                    problems.append(f"nondeterminism: … {len(items)} items only in {label}")
        report = summary(runs, mutants, problems)
        if args.keep and bad_paths:
            keep(tree, sorted(bad_paths), by_path, args.keep, args.minimize, args.select_all)
    print(report["text"])
    if args.json:
        args.json.write_text(json.dumps({k: v for k, v in report.items() if k != "text"}, indent=1) + "\n")
    return 1 if problems else 0


def summary(runs: list[Run], mutants: list[Mutant], problems: list[str]) -> dict[str, Any]:
    first = runs[0].report or {}
    findings = first.get("findings", [])
    bl000 = collections.Counter(_bl000_kind(f["message"]) for f in findings if f["rule_id"] == "BL000")
    errors = collections.Counter(_signature(n["message"]) for run in runs for n in run.internal_errors())
    lines = [
        "",
        f"mutants: {len(mutants)}; files linted: {first.get('summary', {}).get('files', '?')}",
        *(f"{run.label}: exit {run.code}, {run.seconds:.1f} s, {len((run.report or {}).get('findings', []))} findings"
          for run in runs),
        f"BL000 (not analysable, expected for most mutants): {sum(bl000.values())}",
        *(f"  {count:5} {kind}" for kind, count in bl000.most_common(8)),
        f"other findings: {len(findings) - sum(bl000.values())}",
        f"internal errors: {sum(errors.values())}",
        *(f"  {count:5} {sig}" for sig, count in errors.most_common()),
        f"problems: {len(problems)}",
        *(f"  {line}" for line in problems[:60]),
        "RESULT: " + ("PROBLEMS FOUND" if problems else "no internal error, no crash, no traceback, deterministic"),
    ]  # fmt: skip
    return {
        "text": "\n".join(lines),
        "mutants": len(mutants),
        "runs": [
            {"label": r.label, "command": r.command[2:], "exit": r.code, "seconds": round(r.seconds, 1)} for r in runs
        ],
        "bl000": dict(bl000),
        "internal_errors": dict(errors),
        "problems": problems,
    }


def _bl000_kind(message: str) -> str:
    """`cannot parse: unexpected indent (line 12)` -> `cannot parse: unexpected indent (line N)`."""
    return re.sub(r"'[^']*'|\"[^\"]*\"|\d+", "N", message).strip()[:80]


def keep(tree: Path, paths: list[str], by_path: dict[str, Mutant], out: Path, shrink: bool, select_all: bool) -> None:
    out.mkdir(parents=True, exist_ok=True)
    manifest = []
    for number, path in enumerate(paths):
        source = tree / path
        if not source.is_file():
            continue
        name = f"{number:03d}_{Path(path).name}"
        shutil.copyfile(source, out / name)
        entry: dict[str, Any] = {"file": name, "tree_path": path}
        mutant = by_path.get(path)
        if mutant:
            entry.update(original=mutant.original, mutations=mutant.mutations)
        entry["errors"] = lint_one(out / name, select_all)
        if shrink and entry["errors"]:
            small, tries = minimize(out / name, select_all)
            (out / name).with_suffix(".min.py").write_bytes(small)
            entry["minimized"] = {"file": name[:-3] + ".min.py", "lines": small.count(b"\n"), "tries": tries}
        manifest.append(entry)
        print(f"kept {name}: {entry.get('errors')}", flush=True)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
