#!/usr/bin/env python3
"""Benchmark backlint against bandit, ruff and semgrep on real code from the package registry.

    python benchmarks/run.py [--runs 5] [--jobs N] [--corpus django,sqlalchemy] [--scaling] [--profile]

What it does, all in one work directory (default: $TMPDIR/backlint-bench, reused between runs):

1. Snapshots ``backlint/`` and ``rules/`` as committed at HEAD (``--worktree``: as on disk), so the
   default rules of whatever is on the branch run and edits made meanwhile change nothing; runs
   them with this interpreter, bytecode cached under the work directory (even when
   PYTHONDONTWRITEBYTECODE is set, as an installed package would have it).
2. Builds the corpus: ``pip download`` Django 5.2 and SQLAlchemy, and unpacks their packages.
3. Creates a separate venv with bandit, ruff and semgrep (peers, not project dependencies).
4. Times, interleaved round by round so that load from other processes hits every tool alike:
   backlint cold (``--no-cache``), warm (unchanged tree), one file changed; ``bandit -r``,
   ``ruff check --select S --no-cache``, ``semgrep scan`` with a few local rules (``--metrics=off``).
   Reports median and min wall time, CPU time, peak RSS of the largest process (ru_maxrss of
   the children: the main process or one worker), and the ratios backlint/peer.
5. Checks that the cold findings are identical without the pre-filter, and warm == cold.

``--scaling`` adds cold runs over a quarter, half and all of the first corpus (cost per file);
``--profile`` adds one serial cold run under cProfile and splits its time by stage.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPORA = {
    # name: (requirement, package directory inside the wheel, file edited for "one file changed")
    "django": ("django>=5.2,<5.3", "django", "django/db/models/query.py"),
    "sqlalchemy": ("sqlalchemy>=2,<3", "sqlalchemy", "sqlalchemy/orm/session.py"),
}
PEERS = ("bandit", "ruff", "semgrep")
SEMGREP_RULES = """\
rules:
  - id: sql-built-from-strings
    languages: [python]
    severity: ERROR
    message: SQL text built with string formatting reaches execute()
    pattern-either:
      - pattern: $CUR.execute("..." % ...)
      - pattern: $CUR.execute("...".format(...))
      - pattern: $CUR.execute(f"...")
      - pattern: $CUR.execute("..." + $X)
  - id: hardcoded-password
    languages: [python]
    severity: WARNING
    message: a password literal is assigned
    pattern-either:
      - pattern: $NAME = "..."
    metavariable-regex:
      metavariable: $NAME
      regex: (?i).*(password|passwd|secret|api_key)$
  - id: swallowed-exception
    languages: [python]
    severity: WARNING
    message: a broad except clause swallows the error
    pattern-either:
      - pattern: |
          try:
              ...
          except Exception:
              pass
      - pattern: |
          try:
              ...
          except:
              pass
  - id: debug-true
    languages: [python]
    severity: WARNING
    message: debug mode enabled
    pattern-either:
      - pattern: $APP.run(..., debug=True, ...)
      - pattern: DEBUG = True
"""


@dataclass
class Sample:
    wall: float
    cpu: float
    max_rss_kb: int
    code: int


@dataclass
class Series:
    label: str
    samples: list[Sample] = field(default_factory=list)

    def median(self) -> float:
        return statistics.median(s.wall for s in self.samples)

    def row(self) -> str:
        walls = [s.wall for s in self.samples]
        cpu = statistics.median(s.cpu for s in self.samples)
        rss = max(s.max_rss_kb for s in self.samples) / 1024
        return (
            f"{self.label:<34} {statistics.median(walls):8.3f} {min(walls):8.3f} {cpu:8.3f} {rss:9.0f}   n={len(walls)}"
        )


# A tiny parent that runs one command and reports its wall time, CPU time and the peak RSS of the
# largest process in its tree (Linux folds each waited-for grandchild's peak into ru_maxrss).
_TIMER = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(sys.argv[2:], cwd=sys.argv[1], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss": usage.ru_maxrss, "code": code}))
"""


def measure(command: list[str], cwd: Path, env: dict[str, str]) -> Sample:
    proc = subprocess.run(
        [sys.executable, "-c", _TIMER, str(cwd), *command], env=env, capture_output=True, text=True, check=True
    )
    data = json.loads(proc.stdout)
    return Sample(data["wall"], data["cpu"], data["rss"], data["code"])


def run(
    command: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=env, check=True, text=True, capture_output=True)


def snapshot_backlint(work: Path, worktree: bool) -> dict[str, str]:
    """backlint/ and rules/ as committed (or as in the working tree): edits made meanwhile change nothing."""
    target = work / "snapshot"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    if worktree or not (REPO / ".git").exists():
        for name in ("backlint", "rules"):
            shutil.copytree(REPO / name, target / name, ignore=shutil.ignore_patterns("__pycache__"))
    else:
        archive = subprocess.run(
            ["git", "archive", "HEAD", "backlint", "rules"], cwd=REPO, capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")}
    env["PYTHONPATH"] = str(target)
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    return env


def describe_checkout(worktree: bool) -> str:
    try:
        head = run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO).stdout.strip()
        dirty = run(["git", "status", "--porcelain", "backlint", "rules"], cwd=REPO).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "(not a git checkout)"
    return head + (" + working-tree changes" if worktree and dirty else "")


def build_corpus(work: Path, names: list[str]) -> dict[str, tuple[Path, str, str]]:
    """name -> (project dir holding the package, package dir name, version), from registry wheels."""
    downloads = work / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    out = {}
    for name in names:
        requirement, package, _ = CORPORA[name]
        wheels = sorted(downloads.glob(f"{name}-*.whl"), key=lambda p: p.stat().st_mtime)
        if not wheels:
            run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    "--only-binary",
                    ":all:",
                    "-d",
                    str(downloads),
                    requirement,
                ]
            )
            wheels = sorted(downloads.glob(f"{name}-*.whl"), key=lambda p: p.stat().st_mtime)
        wheel = wheels[-1]
        version = wheel.name.split("-")[1]
        project = work / "corpus" / f"{name}-{version}"
        if not (project / package).is_dir():
            shutil.rmtree(project, ignore_errors=True)
            with zipfile.ZipFile(wheel) as archive:
                members = [m for m in archive.namelist() if m.startswith(f"{package}/")]
                archive.extractall(project, members)
        out[name] = (project, package, version)
    return out


def install_peers(work: Path) -> tuple[Path, dict[str, str]]:
    venv = work / "peers"
    if not (venv / "bin" / "semgrep").exists():
        run([sys.executable, "-m", "venv", str(venv)])
        run([str(venv / "bin" / "pip"), "install", "-q", *PEERS])
    versions = {
        "bandit": run([str(venv / "bin" / "bandit"), "--version"]).stdout.splitlines()[0],
        "ruff": run([str(venv / "bin" / "ruff"), "--version"]).stdout.strip(),
        "semgrep": "semgrep " + run([str(venv / "bin" / "semgrep"), "--version"]).stdout.strip(),
    }
    return venv / "bin", versions


def count_source(directory: Path) -> tuple[int, int]:
    files = [p for p in directory.rglob("*.py")]
    lines = sum(p.read_bytes().count(b"\n") for p in files)
    return len(files), lines


def findings_of(path: Path) -> list[tuple[str, int, int, str, str]]:
    data = json.loads(path.read_text())
    return sorted((f["path"], f["line"], f["column"], f["rule_id"], f["message"]) for f in data["findings"])


def _edit(source: bytes, number: int) -> bytes:
    """A line inserted before the first top-level def/class past the middle: every later line moves,
    so the file's facts change too (a trailing comment would leave them, and the project pass, as
    they were)."""
    lines = source.split(b"\n")
    middle = len(lines) // 2
    at = next((i for i in range(middle, len(lines)) if lines[i].startswith((b"def ", b"class "))), middle)
    return b"\n".join([*lines[:at], f"# benchmark edit {number}".encode(), *lines[at:]])


def backlint_command(paths: list[str], jobs: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "backlint", *paths, "--exit-zero", "--quiet", "-j", str(jobs), *extra]


def bench_corpus(
    name: str, project: Path, package: str, bin_dir: Path, env: dict[str, str], args: argparse.Namespace, work: Path
) -> dict[str, object]:
    jobs = args.jobs
    cache = project / ".backlint_cache"
    shutil.rmtree(cache, ignore_errors=True)
    outputs = work / "outputs" / name
    outputs.mkdir(parents=True, exist_ok=True)
    semgrep_rules = work / "semgrep-rules.yaml"
    semgrep_rules.write_text(SEMGREP_RULES)
    edited = project / CORPORA[name][2]
    original = edited.read_bytes()

    # Correctness first: the reference reports.
    cold_json, plain_json, warm_json = outputs / "cold.json", outputs / "no-prefilter.json", outputs / "warm.json"
    run(backlint_command([package], jobs, "--no-cache", "--format", "json", "-o", str(cold_json)), cwd=project, env=env)
    no_prefilter_env = {**env, "BACKLINT_NO_PREFILTER": "1"}
    no_prefilter = measure(
        backlint_command([package], jobs, "--no-cache", "--format", "json", "-o", str(plain_json)),
        project,
        no_prefilter_env,
    )
    populate = measure(backlint_command([package], jobs), project, env)
    run(backlint_command([package], jobs, "--format", "json", "-o", str(warm_json)), cwd=project, env=env)
    cold_findings = findings_of(cold_json)
    identical_without_prefilter = findings_of(plain_json) == cold_findings
    warm_identical = findings_of(warm_json) == cold_findings

    series = {
        key: Series(label)
        for key, label in (
            ("cold", f"backlint cold (-j{jobs}, --no-cache)"),
            ("warm", "backlint warm (unchanged tree)"),
            ("one", "backlint, one file changed"),
            ("bandit", "bandit -r"),
            ("ruff", "ruff check --select S --no-cache"),
            ("semgrep", "semgrep scan (4 local rules)"),
        )
    }
    peers = {
        "bandit": [str(bin_dir / "bandit"), "-r", package, "-q", "-f", "json", "-o", str(outputs / "bandit.json")],
        "ruff": [str(bin_dir / "ruff"), "check", "--select", "S", "--no-cache", "--exit-zero", "-q", package],
        "semgrep": [
            str(bin_dir / "semgrep"), "scan", "--config", str(semgrep_rules), "--metrics=off",
            "--disable-version-check", "--quiet", "--json", "-o", str(outputs / "semgrep.json"), package,
        ],
    }  # fmt: skip
    semgrep_env = {**env, "SEMGREP_ENABLE_VERSION_CHECK": "0", "SEMGREP_SEND_METRICS": "off"}
    try:
        for round_number in range(args.runs):
            print(f"  {name}: round {round_number + 1}/{args.runs}", file=sys.stderr, flush=True)
            series["cold"].samples.append(measure(backlint_command([package], jobs, "--no-cache"), project, env))
            series["warm"].samples.append(measure(backlint_command([package], jobs), project, env))
            edited.write_bytes(_edit(original, round_number))
            series["one"].samples.append(measure(backlint_command([package], jobs), project, env))
            edited.write_bytes(original)
            run(backlint_command([package], jobs), cwd=project, env=env)  # back to a warm tree
            if not args.skip_peers:
                series["bandit"].samples.append(measure(peers["bandit"], project, env))
                series["ruff"].samples.append(measure(peers["ruff"], project, env))
                if round_number < args.semgrep_runs:
                    series["semgrep"].samples.append(measure(peers["semgrep"], project, semgrep_env))
    finally:
        edited.write_bytes(original)

    files, lines = count_source(project / package)
    print(f"\n{name}: {files} files, {lines} lines; {len(cold_findings)} backlint findings (default rules)")
    print(f"{'':<34} {'median':>8} {'min':>8} {'cpu':>8} {'peak MB':>9}   (seconds; cpu = user+sys, median)")
    for item in series.values():
        if item.samples:
            print(item.row())
    print(Series("backlint cold, writing the cache", [populate]).row())
    print(Series("backlint cold, no pre-filter", [no_prefilter]).row())
    print(f"identical findings without the pre-filter: {identical_without_prefilter}; warm == cold: {warm_identical}")
    ratios = {}
    if not args.skip_peers and series["bandit"].samples:
        medians = {key: s.median() for key, s in series.items() if s.samples}
        ratios = {
            "cold/bandit": medians["cold"] / medians["bandit"],
            "cold/ruff": medians["cold"] / medians["ruff"],
            "warm/ruff": medians["warm"] / medians["ruff"],
            "one-changed/ruff": medians["one"] / medians["ruff"],
        }
        if "semgrep" in medians:
            ratios["cold/semgrep"] = medians["cold"] / medians["semgrep"]
        print("ratios: " + ", ".join(f"{k} {v:.2f}x" for k, v in ratios.items()))
        if name == "django":
            checks = [
                ("cold <= 0.5x bandit", medians["cold"] <= 0.5 * medians["bandit"]),
                ("warm <= 3x ruff and < 0.5 s", medians["warm"] <= 3 * medians["ruff"] and medians["warm"] < 0.5),
                ("one file changed < 1 s", medians["one"] < 1.0),
                ("peak memory < 500 MB per process", max(s.max_rss_kb for s in series["cold"].samples) < 500 * 1024),
                ("identical without the pre-filter", identical_without_prefilter),
            ]
            print("targets: " + "; ".join(f"{label}: {'met' if ok else 'MISSED'}" for label, ok in checks))
    return {
        "files": files,
        "lines": lines,
        "findings": len(cold_findings),
        "identical_without_prefilter": identical_without_prefilter,
        "warm_identical": warm_identical,
        "populate": populate.__dict__,
        "no_prefilter": no_prefilter.__dict__,
        "series": {key: [s.__dict__ for s in item.samples] for key, item in series.items()},
        "ratios": ratios,
    }


def scaling(project: Path, package: str, env: dict[str, str], jobs: int) -> None:
    """Cold runs over a quarter, half and all of the files: the cost per 1,000 lines should stay flat."""
    files = sorted(str(p.relative_to(project)) for p in (project / package).rglob("*.py"))
    print(f"\nscaling on {package} (cold, -j{jobs}; files in a stable order, every 4th/2nd/all):")
    for step, label in ((4, "1/4"), (2, "1/2"), (1, "all")):
        chosen = files[::step]
        lines = sum((project / f).read_bytes().count(b"\n") for f in chosen)
        sample = measure(backlint_command(chosen, jobs, "--no-cache"), project, env)
        per_kline = 1000 * sample.wall / lines * 1000
        print(f"  {label:>3}: {len(chosen):4} files {lines:7} lines  {sample.wall:7.2f} s  {per_kline:6.1f} ms/kline")


def profile(project: Path, package: str, env: dict[str, str], work: Path) -> None:
    """One serial cold run under cProfile, its time split by stage (what bounds a cold run)."""
    stats_file = work / "cold.prof"
    command = [sys.executable, "-m", "cProfile", "-o", str(stats_file), "-m", "backlint", package]
    subprocess.run(
        [*command, "--no-cache", "-j", "1", "--exit-zero", "-q"],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        check=True,
    )
    import pstats

    stats = pstats.Stats(str(stats_file))
    total = stats.total_tt  # type: ignore[attr-defined]
    stages = {
        "libcst parse": ("libcst/_parser/entrypoints.py", "_parse"),
        "walk + rules": ("backlint/walk.py", "walk"),
        "positions (files with findings)": ("libcst/metadata/wrapper.py", "resolve"),
        "ast syntax check (pre-filtered files)": ("backlint/filestage.py", "_syntax_check"),
        "discovery": ("backlint/discovery.py", "discover"),
        "imports": ("<frozen importlib._bootstrap>", "_find_and_load"),
    }
    print(f"\nprofile of one serial cold run (cProfile inflates Python-level work; total {total:.1f} s):")
    for label, (filename, function) in stages.items():
        cumulative = max(
            (value[3] for key, value in stats.stats.items() if key[0].endswith(filename) and key[2] == function),  # type: ignore[attr-defined]
            default=0.0,
        )
        print(f"  {label:<40} {cumulative:7.2f} s  {100 * cumulative / total:5.1f} %")


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{model}, {cpus} CPUs{memory}, {platform.system()} {platform.release()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "backlint-bench")
    parser.add_argument("--runs", type=int, default=5, help="rounds per measurement (medians are reported)")
    parser.add_argument("--semgrep-runs", type=int, default=3, help="semgrep is slow to start: fewer rounds")
    parser.add_argument(
        "--jobs", type=int, default=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 2
    )
    parser.add_argument("--corpus", default="django,sqlalchemy", help=f"comma-separated, among {sorted(CORPORA)}")
    parser.add_argument("--skip-peers", action="store_true", help="time backlint only")
    parser.add_argument(
        "--scaling", action="store_true", help="cold runs on 1/4, 1/2 and all files of the first corpus"
    )
    parser.add_argument("--profile", action="store_true", help="split one serial cold run of the first corpus by stage")
    parser.add_argument("--worktree", action="store_true", help="bench uncommitted files too (default: HEAD)")
    parser.add_argument("--json", type=Path, help="also write the raw samples here")
    args = parser.parse_args()
    names = [n.strip() for n in args.corpus.split(",") if n.strip()]
    work = args.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)

    env = snapshot_backlint(work, args.worktree)
    rules = run([sys.executable, "-m", "backlint", "rules"], env=env, cwd=work).stdout.splitlines()
    default_rules = sum(1 for line in rules if "(opt-in)" not in line)
    corpus = build_corpus(work, names)
    bin_dir, versions = (work / "peers" / "bin", {}) if args.skip_peers else install_peers(work)
    load_before = os.getloadavg()
    print(f"date: {time.strftime('%Y-%m-%d %H:%M %Z')}")
    print(f"machine: {machine()}; load average at start {load_before[0]:.1f}")
    checkout = describe_checkout(args.worktree)
    print(f"python {platform.python_version()}; backlint {checkout} ({default_rules} default rules)")
    print("peers: " + ", ".join(versions.values()) if versions else "peers: skipped")
    print("corpus: " + ", ".join(f"{n} {v}" for n, (_, _, v) in corpus.items()))
    results: dict[str, object] = {"machine": machine(), "versions": versions, "default_rules": default_rules}
    for name, (project, package, _version) in corpus.items():
        results[name] = bench_corpus(name, project, package, bin_dir, env, args, work)
    first_project, first_package, _ = corpus[names[0]]
    if args.scaling:
        scaling(first_project, first_package, env, args.jobs)
    if args.profile:
        profile(first_project, first_package, env, work)
    load_after = os.getloadavg()
    print(f"\nload average at end {load_after[0]:.1f} (other processes on this machine share its {args.jobs} CPUs)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
